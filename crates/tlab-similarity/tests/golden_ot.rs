//! Entropic OT and the Gaussian Jensen–Shannon divergence against references;
//! `golden_ot.py` beside this file produced every number (POT 0.9.7, scipy 1.17.1).

use ndarray::Array2;
use tlab_similarity::{js_gaussian, sinkhorn_cost, sinkhorn_divergence};

/// The samples of golden_more.py / golden_ot.py.
fn samples() -> (Array2<f64>, Array2<f64>) {
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

fn close(got: f64, want: f64, tol: f64) {
    assert!((got - want).abs() <= tol, "got {got}, want {want}");
}

#[test]
fn sinkhorn_matches_pot_in_the_log_domain() {
    let (xs, xt) = samples();
    let reg = 0.6043485790377515; // 0.1 × median pooled squared distance
    close(
        sinkhorn_cost(xs.view(), xt.view(), reg, 100_000).unwrap(),
        2.4937721617530118,
        1e-8,
    );
    close(
        sinkhorn_divergence(xs.view(), xt.view(), 0.1).unwrap(),
        2.0635352789997814,
        1e-8,
    );
    // ε ten times smaller: the plain (exp-domain) iteration would underflow here.
    close(
        sinkhorn_cost(xs.view(), xt.view(), reg / 10.0, 100_000).unwrap(),
        2.1806295199540693,
        1e-8,
    );
    assert_eq!(sinkhorn_divergence(xs.view(), xs.view(), 0.1).unwrap(), 0.0);
    assert!(sinkhorn_cost(xs.view(), xt.view(), 0.0, 10).is_err());
}

#[test]
fn js_between_gaussians_matches_quadrature_in_one_dimension() {
    // Samples whose fitted Gaussians are exactly N(0, 1) and N(1.5, 2²) (np.cov, ddof 1).
    let base: Vec<f64> = (0..50)
        .map(|i| ((i * 37 % 50) as f64 - 24.5) / 7.0)
        .collect();
    let mean = base.iter().sum::<f64>() / 50.0;
    let sd = (base.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 49.0).sqrt();
    let z: Vec<f64> = base.iter().map(|v| (v - mean) / sd).collect();
    let p = Array2::from_shape_fn((50, 1), |(i, _)| z[i]);
    let q = Array2::from_shape_fn((50, 1), |(i, _)| 1.5 + 2.0 * z[i]);
    // scipy.integrate.quad of ½KL(p‖m) + ½KL(q‖m): 0.1699900920801593
    let js = js_gaussian(p.view(), q.view(), 0.0, 200_000, 7).unwrap();
    close(js, 0.1699900920801593, 0.004);
    // Seeded, symmetric, zero on one sample, at most ln 2.
    assert_eq!(
        js,
        js_gaussian(p.view(), q.view(), 0.0, 200_000, 7).unwrap()
    );
    assert_eq!(
        js,
        js_gaussian(q.view(), p.view(), 0.0, 200_000, 7).unwrap()
    );
    assert!(js_gaussian(p.view(), p.view(), 0.0, 1000, 0).unwrap().abs() < 1e-12);
    let far = Array2::from_shape_fn((50, 1), |(i, _)| 100.0 + z[i]);
    let v = js_gaussian(p.view(), far.view(), 0.0, 1000, 0).unwrap();
    assert!((v - std::f64::consts::LN_2).abs() < 1e-9, "{v}");
}

#[test]
fn otdd_matches_a_pot_computation_of_its_gaussian_form() {
    let (xs, xt) = samples();
    let ys: ndarray::Array1<usize> = (0..30).map(|i| i % 3).collect();
    let yt: ndarray::Array1<usize> = (0..20).map(|i| i * 2 % 3).collect();
    let v = tlab_similarity::otdd(xs.view(), ys.view(), xt.view(), yt.view(), 1e-3, 0.1, false)
        .unwrap();
    close(v, 4.638649310418026, 1e-7);
    let dg =
        tlab_similarity::otdd(xs.view(), ys.view(), xt.view(), yt.view(), 1e-3, 0.1, true).unwrap();
    close(dg, 3.703531135618623, 1e-7);
    // Renaming the target's classes consistently cannot change it.
    let same: ndarray::Array1<usize> = yt.iter().map(|&c| (c + 1) % 3).collect();
    let w = tlab_similarity::otdd(
        xs.view(),
        ys.view(),
        xt.view(),
        same.view(),
        1e-3,
        0.1,
        false,
    )
    .unwrap();
    assert_eq!(v, w);
    assert!(
        tlab_similarity::otdd(xs.view(), yt.view(), xt.view(), yt.view(), 1e-3, 0.1, false)
            .is_err()
    );
}

#[test]
fn nystrom_mmd_matches_numpy_and_is_exact_with_every_row_a_landmark() {
    let (xs, xt) = samples();
    let pooled = ndarray::concatenate(ndarray::Axis(0), &[xs.view(), xt.view()]).unwrap();
    let every5: Vec<usize> = (0..50).step_by(5).collect();
    let l = pooled.select(ndarray::Axis(0), &every5);
    let g = tlab_similarity::median_gamma(xs.view(), xt.view());
    let got = tlab_similarity::mmd_nystrom_with(xs.view(), xt.view(), l.view(), Some(g)).unwrap();
    close(got, 0.14349394867996043, 1e-9);
    // All 50 pooled rows as landmarks: the projection is the identity on the data's span.
    let all =
        tlab_similarity::mmd_nystrom_with(xs.view(), xt.view(), pooled.view(), Some(g)).unwrap();
    close(all, 0.16317845669441056, 1e-8);
    close(
        tlab_similarity::mmd_rbf(xs.view(), xt.view(), Some(g)).unwrap(),
        0.16317845669441056,
        1e-12,
    );
    // The seeded sampler is deterministic, zero on identical samples, and checks landmarks.
    let a = tlab_similarity::mmd_nystrom(xs.view(), xt.view(), 16, 3).unwrap();
    assert_eq!(
        a,
        tlab_similarity::mmd_nystrom(xs.view(), xt.view(), 16, 3).unwrap()
    );
    assert!(tlab_similarity::mmd_nystrom(xs.view(), xs.view(), 16, 3).unwrap() < 1e-12);
    let narrow = Array2::<f64>::zeros((3, 4));
    assert!(tlab_similarity::mmd_nystrom_with(xs.view(), xt.view(), narrow.view(), None).is_err());
}
