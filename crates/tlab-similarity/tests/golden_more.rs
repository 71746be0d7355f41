//! Golden values for the second batch of metrics, produced by `tests/golden_more.py` beside
//! this file (numpy 2.4.6, scipy 1.17.1, POT 0.9.7; LEEP/NCE/H-score as in the
//! Transfer-Learning-Library, CKA as in Kornblith et al.'s notebook); plus the properties
//! that must hold (permutation-test level under the null, RFF → exact MMD, A-distance
//! extremes).

use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use tlab_similarity::*;

fn inputs() -> (Array2<f64>, Array2<f64>) {
    let xs = Array2::from_shape_fn((30, 5), |(i, j)| {
        let (i, j) = (i as f64, j as f64);
        (0.7 * i + 1.3 * j).sin() + 0.4 * (0.13 * i * (j + 1.0).powi(2)).cos()
    });
    let xt = Array2::from_shape_fn((20, 5), |(i, j)| {
        let (i, j) = (i as f64, j as f64);
        (0.5 * i - 0.9 * j).cos() + 0.3 + 0.4 * (0.17 * i * (j + 1.0).powi(2)).sin()
    });
    (xs, xt)
}

fn close(name: &str, got: f64, want: f64, rel: f64) {
    assert!(
        (got - want).abs() <= rel * want.abs().max(1.0),
        "{name}: got {got:e}, want {want:e}"
    );
}

#[test]
fn divergences_match_numpy_scipy_and_pot() {
    let (xs, xt) = inputs();
    let (s, t) = (xs.view(), xt.view());
    close("mmd_u", mmd_rbf_unbiased(s, t, None).unwrap(), MMD_U, 1e-12);
    close(
        "mmd_lin_u",
        mmd_linear_unbiased(s, t).unwrap(),
        MMD_LIN_U,
        1e-12,
    );
    close("multi", mmd_multi_kernel(s, t).unwrap(), MULTI, 1e-12);
    close("lin_time", mmd_linear_time(s, t).unwrap(), LIN_TIME, 1e-12);
    close("frechet", frechet(s, t).unwrap(), FRECHET, 1e-9);
    close("kl", kl_gaussian(s, t, 1e-3).unwrap(), KL, 1e-9);
    let p = Array2::from_shape_fn((5, 8), |(i, j)| (i as f64 * 1.1 + j as f64 * 0.6).cos());
    let norms = p.map_axis(ndarray::Axis(0), |c| c.dot(&c).sqrt());
    let p = &p / &norms;
    close(
        "sw2",
        sliced_wasserstein_with(s, t, p.view(), 2.0).unwrap(),
        SW2,
        1e-12,
    );
    close(
        "sw1",
        sliced_wasserstein_with(s, t, p.view(), 1.0).unwrap(),
        SW1,
        1e-12,
    );
}

#[test]
fn transferability_and_representation_match_the_references() {
    let r: Vec<f64> = (0..40).map(|i| i as f64).collect();
    let y: Array1<usize> = (0..40).map(|i| (i * 7) % 3).collect();
    let theta = Array2::from_shape_fn((40, 4), |(i, c)| {
        let row: Vec<f64> = (0..4)
            .map(|k| ((0.3 * r[i] * (k as f64 + 1.0)).sin() * 3.0).exp())
            .collect();
        row[c] / row.iter().sum::<f64>()
    });
    close("leep", leep(theta.view(), y.view()).unwrap(), LEEP, 1e-12);
    let z: Array1<usize> = theta
        .rows()
        .into_iter()
        .map(|row| {
            let mut best = 0;
            for c in 1..row.len() {
                if row[c] > row[best] {
                    best = c;
                }
            }
            best
        })
        .collect();
    close("nce", nce(z.view(), y.view()).unwrap(), NCE, 1e-12);
    let feats = Array2::from_shape_fn((40, 6), |(i, j)| {
        (0.37 * r[i] + 0.8 * j as f64).sin() + 0.2 * y[i] as f64 * j as f64 / 6.0
    });
    close(
        "h-score",
        h_score(feats.view(), y.view()).unwrap(),
        HSCORE,
        1e-9,
    );
    close("logme", logme(feats.view(), y.view()).unwrap(), LOGME, 1e-9);
    let mix = Array2::from_shape_fn((6, 3), |(i, j)| (i as f64 - 0.5 * j as f64).cos());
    let fb = feats.dot(&mix).mapv(f64::tanh);
    close(
        "cka-linear",
        cka_linear(feats.view(), fb.view()).unwrap(),
        CKA_LIN,
        1e-12,
    );
    close(
        "cka-rbf",
        cka_rbf(feats.view(), fb.view(), 1.0).unwrap(),
        CKA_RBF,
        1e-12,
    );
    close("rsa", rsa(feats.view(), fb.view()).unwrap(), RSA, 1e-12);
    // CKA of a representation with itself, or a rotated and scaled copy, is 1.
    let q = ndarray::array![[0.0, -2.0], [2.0, 0.0]];
    let two = feats.slice(ndarray::s![.., ..2]).to_owned();
    close(
        "cka-rot",
        cka_linear(two.view(), two.dot(&q).view()).unwrap(),
        1.0,
        1e-12,
    );
}

fn gaussian(n: usize, d: usize, shift: f64, rng: &mut ChaCha8Rng) -> Array2<f64> {
    Array2::from_shape_simple_fn((n, d), || rng.sample::<f64, _>(StandardNormal) + shift)
}

#[test]
fn the_permutation_test_rejects_at_its_level_under_the_null() {
    // 200 null experiments (both samples N(0, I), 25 + 25 points in 3-D), 99 permutations
    // each, α = 0.05: the number of rejections is Binomial(200, 0.05) — mean 10, sd 3.08;
    // accept 1..=21 (beyond ±3.5 sd: a correct test fails this with probability < 1e-3).
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut rejections = 0;
    for trial in 0..200 {
        let (a, b) = (
            gaussian(25, 3, 0.0, &mut rng),
            gaussian(25, 3, 0.0, &mut rng),
        );
        let (_, p) = mmd_permutation_test(a.view(), b.view(), 99, trial).unwrap();
        assert!(p > 0.0 && p <= 1.0);
        if p <= 0.05 {
            rejections += 1;
        }
    }
    assert!(
        (1..=21).contains(&rejections),
        "{rejections} of 200 rejected"
    );
    // And it has power: a mean shift of 1 in every coordinate is found.
    let (a, b) = (
        gaussian(25, 3, 0.0, &mut rng),
        gaussian(25, 3, 1.0, &mut rng),
    );
    let (stat, p) = mmd_permutation_test(a.view(), b.view(), 99, 0).unwrap();
    assert!(stat > 0.0 && p <= 0.01, "p = {p}");
}

#[test]
fn random_features_approach_the_exact_mmd_and_the_a_distance_spans_0_to_2() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (a, b) = (
        gaussian(300, 4, 0.0, &mut rng),
        gaussian(300, 4, 0.7, &mut rng),
    );
    let exact = tlab_similarity::mmd_rbf(a.view(), b.view(), None).unwrap();
    let approx = mmd_rff(a.view(), b.view(), 8192, 1).unwrap();
    // RFF error ~ 1/√D in the kernel; 10% of the value here.
    assert!((approx - exact).abs() < 0.1 * exact, "{approx} vs {exact}");
    let far = gaussian(300, 4, 6.0, &mut rng);
    let near = gaussian(300, 4, 0.0, &mut rng);
    let pad_far = proxy_a_distance(a.view(), far.view(), 5, 0).unwrap();
    let pad_near = proxy_a_distance(a.view(), near.view(), 5, 0).unwrap();
    assert!(pad_far > 1.9, "{pad_far}");
    assert!(pad_near < 0.4, "{pad_near}");
    // Linear-time MMD: unbiased, so near 0 under the null and clearly positive under a shift.
    let big_a = gaussian(20_000, 4, 0.0, &mut rng);
    let big_b = gaussian(20_000, 4, 0.0, &mut rng);
    let big_c = gaussian(20_000, 4, 0.7, &mut rng);
    let null = mmd_linear_time(big_a.view(), big_b.view()).unwrap();
    let alt = mmd_linear_time(big_a.view(), big_c.view()).unwrap();
    assert!(null.abs() < 0.02 && alt > 0.05, "null {null}, alt {alt}");
    let sw_same = sliced_wasserstein(a.view(), a.view(), 16, 0).unwrap();
    assert_eq!(sw_same, 0.0);
}

const MMD_U: f64 = 0.11722954231754545;
const MMD_LIN_U: f64 = 0.7016385764009747;
const MULTI: f64 = 0.7150320764479177;
const LIN_TIME: f64 = 0.6562029467285557;
const FRECHET: f64 = 1.6084523933746047;
const KL: f64 = 14.731241181833031;
const SW2: f64 = 0.36223584145384286;
const SW1: f64 = 0.29801508011060485;
const LEEP: f64 = -1.0789800538957854;
const NCE: f64 = -1.0727798133910253;
const HSCORE: f64 = 1.0005272603940845;
const CKA_LIN: f64 = 0.8594749802809111;
const CKA_RBF: f64 = 0.8507721585867117;
const RSA: f64 = 0.8614873311251839;
const LOGME: f64 = -0.7011402517841668;
