//! Data that ships with the build, so suites run on a fresh machine with no download:
//! synthetic shift generators whose shift is a parameter, and the UCI handwritten digits
//! (1797 × 64, from smartcore's `datasets`) with domains made by rotation, noise and
//! intensity changes.
//!
//! A domain is named by a spec string: `blobs:shift=2`, `moons:angle=45`,
//! `covariate:shift=1.5`, `prior:imbalance=0.8`, `subspace:angle=60` (each also takes
//! `n=` samples), and for digits `original`, `rotate=30`, `noise=4`, `intensity=0.5`.
//! Sampling is seeded from (data seed, the domain's role, its spec): the same suite always
//! sees the same samples.

use std::f64::consts::PI;

use ndarray::{Array1, Array2};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::domain::LabeledDomain;
use crate::error::{CoreError, Result};

/// The built-in datasets a suite can name.
pub const BUILTIN_DATASETS: [&str; 2] = ["synthetic", "digits"];

/// Generator families of the `synthetic` dataset, with their shift parameter.
pub const SYNTHETIC_FAMILIES: [(&str, &str, &str); 6] = [
    (
        "blobs",
        "shift",
        "3 Gaussian classes in 2-D, translated by `shift` along the diagonal",
    ),
    (
        "moons",
        "angle",
        "two moons rotated by `angle` degrees about their centre",
    ),
    (
        "covariate",
        "shift",
        "P(y|x) fixed (y = x₁ > sin 1.5x₀), P(x) centred at (`shift`, 0)",
    ),
    (
        "prior",
        "imbalance",
        "3 fixed Gaussian classes; class c has prior ∝ (1 − imbalance)^c",
    ),
    (
        "subspace",
        "angle",
        "3 classes on a 2-D plane in 10-D, the plane rotated by `angle` degrees",
    ),
    (
        "transactions",
        "shift",
        "card transactions (8 features; class 1 = fraud at rate `fraud`, default 0.02); \
         `shift` moves amounts, hours, distances, merchant mix and activity (a new market)",
    ),
];

/// Digit domain transforms.
pub const DIGIT_TRANSFORMS: [(&str, &str); 5] = [
    ("original", "the 8×8 images as they are"),
    ("rotate=DEG", "rotated by DEG degrees (bilinear)"),
    (
        "noise=STD",
        "plus Gaussian pixel noise of std STD (pixels are 0..16)",
    ),
    ("intensity=F", "pixel intensities multiplied by F"),
    (
        "T@A-B",
        "transform T on the digits A..=B only, relabelled 0..: another label set (e.g. original@0-4 → original@5-9)",
    ),
];

fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in *p {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn rng_for(data_seed: u64, role: &str, spec: &str) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(fnv1a(&[
        &data_seed.to_le_bytes(),
        role.as_bytes(),
        spec.as_bytes(),
    ]))
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

/// A parsed `family:key=value,key=value` spec.
struct Spec<'a> {
    family: &'a str,
    params: Vec<(&'a str, f64)>,
}

fn parse_spec(spec: &str) -> Result<Spec<'_>> {
    let (family, rest) = spec.split_once(':').unwrap_or((spec, ""));
    let mut params = Vec::new();
    for kv in rest.split(',').filter(|s| !s.is_empty()) {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| CoreError::invalid("domain", spec, "`family:key=value,...`"))?;
        let v: f64 = v
            .trim()
            .parse()
            .map_err(|_| CoreError::invalid("domain", spec, format!("`{k}` must be a number")))?;
        if !v.is_finite() {
            return Err(CoreError::invalid(
                "domain",
                spec,
                format!("`{k}` must be finite"),
            ));
        }
        params.push((k.trim(), v));
    }
    Ok(Spec { family, params })
}

impl Spec<'_> {
    fn get(&self, key: &str, default: f64, allowed: &[&str]) -> Result<f64> {
        if let Some((k, _)) = self.params.iter().find(|(k, _)| !allowed.contains(k)) {
            return Err(CoreError::invalid(
                "domain parameter",
                *k,
                format!("one of {allowed:?} for `{}`", self.family),
            ));
        }
        Ok(self
            .params
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(default, |(_, v)| *v))
    }
}

fn count(v: f64) -> Result<usize> {
    if !(10.0..=1e7).contains(&v) || v.fract() != 0.0 {
        return Err(CoreError::invalid(
            "n",
            v,
            "a whole number of samples in 10..=10000000",
        ));
    }
    Ok(v as usize)
}

/// Generates one synthetic domain. `role` ("source"/"target") makes the two sides of a
/// pair independent samples even when their specs are equal.
pub fn synthetic_domain(spec: &str, data_seed: u64, role: &str) -> Result<LabeledDomain> {
    let s = parse_spec(spec)?;
    let mut rng = rng_for(data_seed, role, spec);
    let (x, y, k) = match s.family {
        "blobs" => {
            let shift = s.get("shift", 0.0, &["shift", "n"])?;
            let n = count(s.get("n", 300.0, &["shift", "n"])?)?;
            let mut x = Array2::zeros((n, 2));
            let y: Array1<usize> = (0..n).map(|i| i % 3).collect();
            for i in 0..n {
                let a = 2.0 * PI * y[i] as f64 / 3.0;
                x[(i, 0)] = 3.0 * a.cos() + normal(&mut rng) + shift / 2f64.sqrt();
                x[(i, 1)] = 3.0 * a.sin() + normal(&mut rng) + shift / 2f64.sqrt();
            }
            (x, y, 3)
        }
        "moons" => {
            let angle = s.get("angle", 0.0, &["angle", "n"])?.to_radians();
            let n = count(s.get("n", 300.0, &["angle", "n"])?)?;
            let mut x = Array2::zeros((n, 2));
            let y: Array1<usize> = (0..n).map(|i| i % 2).collect();
            for i in 0..n {
                let t = PI * rng.gen::<f64>();
                let (mut a, mut b) = if y[i] == 0 {
                    (t.cos(), t.sin())
                } else {
                    (1.0 - t.cos(), 0.5 - t.sin())
                };
                a += 0.1 * normal(&mut rng) - 0.5;
                b += 0.1 * normal(&mut rng) - 0.25;
                x[(i, 0)] = a * angle.cos() - b * angle.sin();
                x[(i, 1)] = a * angle.sin() + b * angle.cos();
            }
            (x, y, 2)
        }
        "covariate" => {
            let shift = s.get("shift", 0.0, &["shift", "n"])?;
            let n = count(s.get("n", 300.0, &["shift", "n"])?)?;
            let mut x = Array2::zeros((n, 2));
            let mut y = Array1::zeros(n);
            for i in 0..n {
                x[(i, 0)] = normal(&mut rng) + shift;
                x[(i, 1)] = 1.5 * normal(&mut rng);
                y[i] = usize::from(x[(i, 1)] > (1.5 * x[(i, 0)]).sin());
            }
            (x, y, 2)
        }
        "prior" => {
            let imb = s.get("imbalance", 0.0, &["imbalance", "n"])?;
            if !(0.0..1.0).contains(&imb) {
                return Err(CoreError::invalid("imbalance", imb, "in [0, 1)"));
            }
            let n = count(s.get("n", 300.0, &["imbalance", "n"])?)?;
            let p: Vec<f64> = (0..3).map(|c| (1.0 - imb).powi(c)).collect();
            let total: f64 = p.iter().sum();
            // Exact class counts from the priors (at least 2 per class, so every class exists).
            let mut counts: Vec<usize> = p
                .iter()
                .map(|q| ((q / total) * n as f64).round().max(2.0) as usize)
                .collect();
            let excess = counts.iter().sum::<usize>() as isize - n as isize;
            counts[0] = (counts[0] as isize - excess).max(2) as usize;
            let mut y: Vec<usize> = counts
                .iter()
                .enumerate()
                .flat_map(|(c, &m)| std::iter::repeat_n(c, m))
                .collect();
            y.shuffle(&mut rng);
            let mut x = Array2::zeros((y.len(), 2));
            for (i, &c) in y.iter().enumerate() {
                let a = 2.0 * PI * c as f64 / 3.0;
                x[(i, 0)] = 1.5 * a.cos() + normal(&mut rng);
                x[(i, 1)] = 1.5 * a.sin() + normal(&mut rng);
            }
            (x, Array1::from(y), 3)
        }
        "subspace" => {
            let angle = s.get("angle", 0.0, &["angle", "n"])?.to_radians();
            let n = count(s.get("n", 300.0, &["angle", "n"])?)?;
            let mut x = Array2::zeros((n, 10));
            let y: Array1<usize> = (0..n).map(|i| i % 3).collect();
            for i in 0..n {
                let a = 2.0 * PI * y[i] as f64 / 3.0;
                let u = 3.0 * a.cos() + 0.7 * normal(&mut rng);
                let v = 3.0 * a.sin() + 0.7 * normal(&mut rng);
                // Plane basis rotated from (e0, e1) towards (e2, e3).
                x[(i, 0)] = u * angle.cos();
                x[(i, 2)] = u * angle.sin();
                x[(i, 1)] = v * angle.cos();
                x[(i, 3)] = v * angle.sin();
                for j in 0..10 {
                    x[(i, j)] += 0.3 * normal(&mut rng);
                }
            }
            (x, y, 3)
        }
        "transactions" => {
            let allowed = ["shift", "n", "fraud"];
            let shift = s.get("shift", 0.0, &allowed)?;
            let n = count(s.get("n", 2000.0, &allowed)?)?;
            let fraud = s.get("fraud", 0.02, &allowed)?;
            if !(0.0..0.5).contains(&fraud) {
                return Err(CoreError::invalid("fraud", fraud, "a rate in [0, 0.5)"));
            }
            transactions(n, shift, fraud, &mut rng)
        }
        other => {
            return Err(CoreError::Unknown {
                kind: "synthetic family",
                name: other.to_string(),
                known: SYNTHETIC_FAMILIES
                    .iter()
                    .map(|f| f.0)
                    .collect::<Vec<_>>()
                    .join(", "),
            })
        }
    };
    LabeledDomain::new(spec, x, y, k)
}

/// Card transactions, one row each: log amount, hour of day (sin, cos), log distance from
/// home, merchant risk in (0, 1), log(1 + transactions in the last 24 h), card present
/// (0/1), log account age in days. Normal rows come from three customer segments (retail,
/// travel, online); fraud rows are larger, at night, far from home, at risky merchants, in
/// bursts, card-not-present, on young accounts — overlapping the normal ones, as real fraud
/// does. `shift` models a new market: amounts and activity grow, the clock moves by three
/// hours per unit, the segment mix tilts towards online, distances and merchant risk grow.
/// Exactly round(`fraud`·n) rows (at least two) are fraud, in random order.
fn transactions(
    n: usize,
    shift: f64,
    fraud: f64,
    rng: &mut ChaCha8Rng,
) -> (Array2<f64>, Array1<usize>, usize) {
    let n_fraud = ((fraud * n as f64).round() as usize).clamp(2, n - 2);
    let mut y: Vec<usize> = (0..n).map(|i| usize::from(i < n_fraud)).collect();
    y.shuffle(rng);
    let logits = [-0.5 * shift, 0.0, 0.5 * shift];
    let z: f64 = logits.iter().map(|l: &f64| l.exp()).sum();
    let p: Vec<f64> = logits.iter().map(|l| l.exp() / z).collect();
    let sigmoid = |v: f64| 1.0 / (1.0 + (-v).exp());
    let mut x = Array2::zeros((n, 8));
    for (i, &c) in y.iter().enumerate() {
        let is_fraud = c == 1;
        let u: f64 = rng.gen();
        let seg = if u < p[0] {
            0
        } else if u < p[0] + p[1] {
            1
        } else {
            2
        };
        let (amount, hour, dist, risk, burst, present, age) = if is_fraud {
            (
                4.6 + normal(rng),
                3.0 + 5.0 * normal(rng),
                2.0 + normal(rng),
                sigmoid(-0.8 + normal(rng)),
                3.5,
                0.4,
                5.0 + 1.2 * normal(rng),
            )
        } else {
            (
                [3.0, 4.5, 3.5][seg] + 0.6 * normal(rng),
                14.0 + 4.0 * normal(rng),
                [0.8, 2.0, 1.0][seg] + 0.7 * normal(rng),
                sigmoid(-2.0 + 0.5 * shift + normal(rng)),
                2.0 + shift,
                [0.9, 0.6, 0.1][seg],
                6.0 - 0.3 * shift + normal(rng),
            )
        };
        let h = (hour + 3.0 * shift) * 2.0 * PI / 24.0;
        x[(i, 0)] = amount + 0.4 * shift;
        x[(i, 1)] = h.sin();
        x[(i, 2)] = h.cos();
        x[(i, 3)] = dist + 0.3 * shift;
        x[(i, 4)] = risk;
        x[(i, 5)] = (1.0 + poisson(burst, rng) as f64).ln();
        x[(i, 6)] = f64::from(u8::from(rng.gen::<f64>() < present));
        x[(i, 7)] = age;
    }
    (x, Array1::from(y), 2)
}

/// A Poisson draw by inversion (small means only).
fn poisson(mean: f64, rng: &mut ChaCha8Rng) -> usize {
    let (mut k, mut p, mut cdf) = (0usize, (-mean).exp(), 0.0);
    let u: f64 = rng.gen();
    loop {
        cdf += p;
        if u <= cdf || k > 1000 {
            return k;
        }
        k += 1;
        p *= mean / k as f64;
    }
}

/// The UCI digits as (1797 × 64 features in 0..16, labels 0..9).
pub fn uci_digits() -> (Array2<f64>, Array1<usize>) {
    let d = smartcore::dataset::digits::load_dataset();
    let x = Array2::from_shape_vec(
        (d.num_samples, d.num_features),
        d.data.iter().map(|&v| f64::from(v)).collect(),
    )
    .expect("smartcore digits are 1797 × 64");
    let y = d.target.iter().map(|&v| v as usize).collect();
    (x, y)
}

fn rotate_image(img: &[f64], degrees: f64) -> Vec<f64> {
    let (c, s) = (degrees.to_radians().cos(), degrees.to_radians().sin());
    let mut out = vec![0.0; 64];
    let px = |r: isize, q: isize| {
        if (0..8).contains(&r) && (0..8).contains(&q) {
            img[(r * 8 + q) as usize]
        } else {
            0.0
        }
    };
    for r in 0..8 {
        for q in 0..8 {
            // Inverse-map each output pixel about the centre (3.5, 3.5), bilinear sample.
            let (dy, dx) = (r as f64 - 3.5, q as f64 - 3.5);
            let sy = c * dy - s * dx + 3.5;
            let sx = s * dy + c * dx + 3.5;
            let (y0, x0) = (sy.floor(), sx.floor());
            let (fy, fx) = (sy - y0, sx - x0);
            let (y0, x0) = (y0 as isize, x0 as isize);
            out[r * 8 + q] = (1.0 - fy) * (1.0 - fx) * px(y0, x0)
                + (1.0 - fy) * fx * px(y0, x0 + 1)
                + fy * (1.0 - fx) * px(y0 + 1, x0)
                + fy * fx * px(y0 + 1, x0 + 1);
        }
    }
    out
}

/// A digits domain. The 1797 images are split once (fixed seed) into two disjoint halves:
/// a source draws from the first, a target from the second, so a pair never shares images.
pub fn digits_domain(spec: &str, data_seed: u64, role: &str) -> Result<LabeledDomain> {
    // `transform@A-B` keeps the digits A..=B only, relabelled 0..=B−A: a task with another
    // label set (e.g. `original@0-4` as the source task, `original@5-9` as the target).
    if let Some((base, range)) = spec.split_once('@') {
        let bad =
            || CoreError::invalid("domain", spec, "`transform@A-B` with digits 0 ≤ A < B ≤ 9");
        let (a, b) = range.split_once('-').ok_or_else(bad)?;
        let (a, b): (usize, usize) = (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        );
        if !(a < b && b <= 9) {
            return Err(bad());
        }
        let whole = digits_domain(base, data_seed, role)?;
        let rows: Vec<usize> = (0..whole.n_samples())
            .filter(|&i| (a..=b).contains(&whole.y()[i]))
            .collect();
        let x = whole.x().select(ndarray::Axis(0), &rows);
        let y = rows.iter().map(|&i| whole.y()[i] - a).collect();
        return LabeledDomain::new(spec, x, y, b - a + 1);
    }
    let (x, y) = uci_digits();
    let mut order: Vec<usize> = (0..x.nrows()).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(0x5eed));
    let half = order.len() / 2;
    let rows: Vec<usize> = if role == "source" {
        order[..half].to_vec()
    } else {
        order[half..].to_vec()
    };
    let mut rng = rng_for(data_seed, role, spec);
    let (kind, value) = match spec.split_once('=') {
        Some((k, v)) => (
            k,
            v.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| CoreError::invalid("domain", spec, "`transform=number`"))?,
        ),
        None => (spec, 0.0),
    };
    let mut out = Array2::zeros((rows.len(), 64));
    for (i, &r) in rows.iter().enumerate() {
        let img: Vec<f64> = x.row(r).to_vec();
        let img = match kind {
            "original" => img,
            "rotate" => rotate_image(&img, value),
            "noise" if value >= 0.0 => img.iter().map(|v| v + value * normal(&mut rng)).collect(),
            "intensity" if value > 0.0 => img.iter().map(|v| v * value).collect(),
            "noise" | "intensity" => {
                return Err(CoreError::invalid(
                    "domain",
                    spec,
                    "noise ≥ 0, intensity > 0",
                ))
            }
            _ => {
                return Err(CoreError::Unknown {
                    kind: "digits transform",
                    name: spec.to_string(),
                    known: DIGIT_TRANSFORMS
                        .iter()
                        .map(|t| t.0)
                        .collect::<Vec<_>>()
                        .join(", "),
                })
            }
        };
        out.row_mut(i).assign(&Array1::from(img));
    }
    let labels = rows.iter().map(|&r| y[r]).collect();
    LabeledDomain::new(spec, out, labels, 10)
}

/// Loads a built-in dataset's source and target domains.
pub fn builtin_pair(
    dataset: &str,
    source: &str,
    target: &str,
    data_seed: u64,
) -> Result<(LabeledDomain, LabeledDomain)> {
    Ok((
        builtin_domain(dataset, source, data_seed, "source")?,
        builtin_domain(dataset, target, data_seed, "target")?,
    ))
}

/// One domain of a built-in dataset in the given role (`source`, `target`, or another
/// name such as `intermediate`, which draws an independent sample).
pub fn builtin_domain(
    dataset: &str,
    spec: &str,
    data_seed: u64,
    role: &str,
) -> Result<LabeledDomain> {
    match dataset {
        "synthetic" => synthetic_domain(spec, data_seed, role),
        "digits" => digits_domain(spec, data_seed, role),
        other => Err(CoreError::Unknown {
            kind: "built-in dataset",
            name: other.to_string(),
            known: BUILTIN_DATASETS.join(", "),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generators_are_deterministic_and_shift_moves_the_mean() {
        let a = synthetic_domain("blobs:shift=0", 1, "source").unwrap();
        let b = synthetic_domain("blobs:shift=0", 1, "source").unwrap();
        assert_eq!(a.x(), b.x());
        let c = synthetic_domain("blobs:shift=4", 1, "source").unwrap();
        let mean_shift =
            c.x().mean_axis(ndarray::Axis(0)).unwrap() - a.x().mean_axis(ndarray::Axis(0)).unwrap();
        // Shift 4 along the diagonal moves each coordinate by 4/√2 ≈ 2.83, up to sampling noise.
        assert!(
            mean_shift
                .iter()
                .all(|d| (d - 4.0 / 2f64.sqrt()).abs() < 0.3),
            "{mean_shift}"
        );
    }

    #[test]
    fn transactions_have_the_stated_fraud_rate_and_shift_raises_amounts() {
        let a = synthetic_domain("transactions:n=1000,fraud=0.05", 3, "source").unwrap();
        assert_eq!(a.class_counts(), vec![950, 50]);
        let b = synthetic_domain("transactions:n=1000,fraud=0.05,shift=2", 3, "source").unwrap();
        let mean_amount = |d: &LabeledDomain| d.x().column(0).mean().unwrap();
        // Shift 2 adds 0.8 to every log amount; the segment mix it tilts (to 9% retail, 25%
        // travel, 66% online) moves the normal mean by +0.03 only: 0.83 up to sampling noise
        // (two independent samples of 1000, std of the difference ≈ 0.04).
        let gap = mean_amount(&b) - mean_amount(&a);
        assert!((0.65..1.0).contains(&gap), "{gap}");
        // Fraud is larger on average than normal spending in the same domain.
        let by = |c: usize| {
            let v: Vec<f64> = (0..1000)
                .filter(|&i| a.y()[i] == c)
                .map(|i| a.x()[(i, 0)])
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        assert!(by(1) > by(0) + 0.6);
        assert!(synthetic_domain("transactions:fraud=0.6", 0, "source").is_err());
    }

    #[test]
    fn prior_shift_changes_class_proportions() {
        let d = synthetic_domain("prior:imbalance=0.5,n=700", 0, "target").unwrap();
        assert_eq!(d.class_counts(), vec![400, 200, 100]);
    }

    #[test]
    fn rotation_by_zero_is_identity_and_halves_are_disjoint() {
        let img: Vec<f64> = (0..64).map(f64::from).collect();
        assert!(rotate_image(&img, 0.0)
            .iter()
            .zip(&img)
            .all(|(a, b)| (a - b).abs() < 1e-12));
        let r90 = rotate_image(&img, 90.0);
        let back = rotate_image(&r90, -90.0);
        assert!(back.iter().zip(&img).all(|(a, b)| (a - b).abs() < 1e-9));
        let s = digits_domain("original", 0, "source").unwrap();
        let t = digits_domain("original", 0, "target").unwrap();
        assert_eq!(s.n_samples() + t.n_samples(), 1797);
        assert_ne!(s.x().row(0), t.x().row(0));
    }

    #[test]
    fn bad_specs_are_errors() {
        assert!(synthetic_domain("blobs:shift=x", 0, "source").is_err());
        assert!(synthetic_domain("blobs:angle=3", 0, "source")
            .unwrap_err()
            .to_string()
            .contains("shift"));
        assert!(synthetic_domain("clouds", 0, "source")
            .unwrap_err()
            .to_string()
            .contains("moons"));
        assert!(synthetic_domain("prior:imbalance=1", 0, "source").is_err());
        assert!(digits_domain("blur=2", 0, "source").is_err());
        assert!(digits_domain("intensity=-1", 0, "source").is_err());
        assert!(digits_domain("original@5-3", 0, "source").is_err());
        assert!(digits_domain("original@0-10", 0, "source").is_err());
    }

    #[test]
    fn a_digit_range_is_another_label_set_relabelled_from_zero() {
        let whole = digits_domain("original", 0, "target").unwrap();
        let high = digits_domain("original@5-9", 0, "target").unwrap();
        assert_eq!(high.n_classes(), 5);
        let n_high = whole.y().iter().filter(|&&c| c >= 5).count();
        assert_eq!(high.n_samples(), n_high);
        assert!(high.y().iter().all(|&c| c < 5));
        // The first digit ≥ 5 of the whole domain is the first row, relabelled.
        let first = (0..whole.n_samples()).find(|&i| whole.y()[i] >= 5).unwrap();
        assert_eq!(high.x().row(0), whole.x().row(first));
        assert_eq!(high.y()[0], whole.y()[first] - 5);
    }
}
