//! Transferability of a source model to a labelled target, from the source model's outputs
//! on the target samples. Formulas as in the Transfer-Learning-Library's
//! `tllib.ranking` (the reference the golden tests reproduce):
//! - LEEP (Nguyen, Hassner, Seeger, Archambeau, ICML 2020): `mean_i log Σ_z P̂(y_i|z) θ(x_i)_z`
//!   with `P̂(y|z)` from the empirical joint of target labels and source soft predictions.
//! - NCE (Tran, Nguyen, Hassner, ICCV 2019): `−H(Y | Z)` from hard source predictions `Z`.
//! - H-score (Bao et al., ICIP 2019): `tr(pinv(cov f) · cov(E[f | y]))` on source features.
//! - LogME (You et al., ICML 2021), below, as in the authors' code.
//! - GBC (Pándy et al., CVPR 2022), TransRate (Huang et al., ICML 2022) and the shrinkage
//!   H-score (Ibrahim, Ponomareva, Mazumder, ICLR 2023), below, each as its reference code.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

use crate::{bad, Result};

fn check_labels(metric: &str, n: usize, y: ArrayView1<'_, usize>) -> Result<usize> {
    if n == 0 || y.len() != n {
        return Err(bad(metric, format!("{n} samples but {} labels", y.len())));
    }
    Ok(y.iter().max().map_or(0, |m| m + 1))
}

/// LEEP from source class probabilities `theta` (n × C_s, rows summing to 1) and target labels.
pub fn leep(theta: ArrayView2<'_, f64>, y: ArrayView1<'_, usize>) -> Result<f64> {
    let ct = check_labels("leep", theta.nrows(), y)?;
    if theta.iter().any(|v| !v.is_finite() || *v < 0.0) {
        return Err(bad("leep", "probabilities must be finite and ≥ 0"));
    }
    let n = theta.nrows() as f64;
    let cs = theta.ncols();
    let mut joint = Array2::<f64>::zeros((ct, cs));
    for (row, &label) in theta.rows().into_iter().zip(y.iter()) {
        let mut j = joint.row_mut(label);
        j.scaled_add(1.0 / n, &row);
    }
    let pz = joint.sum_axis(Axis(0));
    // P(y | z), C_s × C_t
    let mut cond = joint.t().to_owned();
    for (mut r, p) in cond.rows_mut().into_iter().zip(pz.iter()) {
        r.mapv_inplace(|v| if *p > 0.0 { v / p } else { 0.0 });
    }
    let eep = theta.dot(&cond);
    let mut total = 0.0;
    for (i, &label) in y.iter().enumerate() {
        total += eep[[i, label]].ln();
    }
    Ok(total / n)
}

/// NCE from hard source predictions `z` and target labels `y` (natural log).
pub fn nce(z: ArrayView1<'_, usize>, y: ArrayView1<'_, usize>) -> Result<f64> {
    let ct = check_labels("nce", z.len(), y)?;
    let cs = z.iter().max().map_or(0, |m| m + 1);
    let n = z.len() as f64;
    let mut joint = Array2::<f64>::zeros((ct, cs));
    for (&s, &t) in z.iter().zip(y.iter()) {
        joint[[t, s]] += 1.0 / n;
    }
    let pz = joint.sum_axis(Axis(0));
    let mut h = 0.0;
    for (s, &p) in pz.iter().enumerate() {
        if p == 0.0 {
            continue;
        }
        let mut hs = 0.0;
        for t in 0..ct {
            let q = joint[[t, s]] / p + 1e-20;
            hs -= q * q.ln();
        }
        h += hs * p;
    }
    Ok(-h)
}

/// H-score of features `f` (n × d) for target labels `y`.
pub fn h_score(f: ArrayView2<'_, f64>, y: ArrayView1<'_, usize>) -> Result<f64> {
    let c = check_labels("h-score", f.nrows(), y)?;
    if f.nrows() < 2 {
        return Err(bad("h-score", "needs at least 2 samples"));
    }
    let fo = f.to_owned();
    let mut g = Array2::<f64>::zeros(f.raw_dim());
    for k in 0..c {
        let rows: Vec<usize> = (0..f.nrows()).filter(|&i| y[i] == k).collect();
        if rows.is_empty() {
            continue;
        }
        let mean = fo.select(Axis(0), &rows).mean_axis(Axis(0)).expect("rows");
        for &i in &rows {
            g.row_mut(i).assign(&mean);
        }
    }
    let covf = crate::mean_cov(fo.view()).1;
    let covg = crate::mean_cov(g.view()).1;
    // numpy.linalg.pinv(covf, rcond=1e-15) through the symmetric eigendecomposition.
    let (l, v) =
        tlab_core::linalg::sym_eigh(covf.view()).map_err(|e| bad("h-score", e.to_string()))?;
    let lmax = l.iter().fold(0.0f64, |a, b| a.max(b.abs()));
    let inv_l = l.mapv(|x| if x.abs() > 1e-15 * lmax { 1.0 / x } else { 0.0 });
    let pinv = (&v * &inv_l).dot(&v.t());
    Ok((&pinv * &covg.t()).sum())
}

/// LogME (You, Liu, Wang, Long, ICML 2021): the mean over classes of the maximised log
/// evidence of a Bayesian linear regression from features `f` (n × d) to the one-hot
/// label, by the paper's fixed-point iteration on α, β (≤ 11 steps, stop at 1% change of
/// α/β), as in the authors' reference code (`LogME.py`, first release).
pub fn logme(f: ArrayView2<'_, f64>, y: ArrayView1<'_, usize>) -> Result<f64> {
    let c = check_labels("logme", f.nrows(), y)?;
    if f.iter().any(|v| !v.is_finite()) {
        return Err(bad("logme", "features must be finite"));
    }
    let (n, d) = (f.nrows() as f64, f.ncols() as f64);
    // f @ fh in the reference is the d × d Gram FᵀF; its SVD is its eigendecomposition.
    let gram = f.t().dot(&f);
    let (s, v) =
        tlab_core::linalg::sym_eigh(gram.view()).map_err(|e| bad("logme", e.to_string()))?;
    let s = s.mapv(|x| x.max(0.0));
    let mut total = 0.0;
    for k in 0..c {
        let yk: ndarray::Array1<f64> = y.iter().map(|&l| f64::from(u8::from(l == k))).collect();
        let tmp = v.t().dot(&f.t().dot(&yk));
        let (mut alpha, mut beta) = (1.0f64, 1.0f64);
        let mut lam = alpha / beta;
        let (mut alpha_de, mut beta_de) = (0.0, 0.0);
        for _ in 0..11 {
            let gamma: f64 = s.iter().map(|&x| x / (x + lam)).sum();
            let m = v.dot(&(&tmp * &s.mapv(|x| beta / (alpha + beta * x))));
            alpha_de = m.dot(&m);
            alpha = gamma / (alpha_de + 1e-5);
            let r = &yk - &f.dot(&m);
            beta_de = r.dot(&r);
            beta = (n - gamma) / (beta_de + 1e-5);
            let new_lam = alpha / beta;
            if (new_lam - lam).abs() / lam < 0.01 {
                break;
            }
            lam = new_lam;
        }
        let evidence = d / 2.0 * alpha.ln() + n / 2.0 * beta.ln()
            - 0.5 * s.iter().map(|&x| (alpha + beta * x).ln()).sum::<f64>()
            - beta / 2.0 * (beta_de + 1e-5)
            - alpha / 2.0 * (alpha_de + 1e-5)
            - n / 2.0 * (2.0 * std::f64::consts::PI).ln();
        total += evidence / n;
    }
    Ok(total / c as f64)
}

/// Per-class mean and population variance (floored at 1e-4) of the rows of `f`.
fn class_gaussians(
    f: ArrayView2<'_, f64>,
    y: ArrayView1<'_, usize>,
    c: usize,
) -> Vec<(Array1<f64>, Array1<f64>)> {
    (0..c)
        .filter_map(|k| {
            let rows: Vec<usize> = (0..f.nrows()).filter(|&i| y[i] == k).collect();
            if rows.is_empty() {
                return None;
            }
            let x = f.select(Axis(0), &rows);
            let mean = x.mean_axis(Axis(0)).expect("rows");
            let var = x.var_axis(Axis(0), 0.0).mapv(|v| v.max(1e-4));
            Some((mean, var))
        })
        .collect()
}

/// GBC, the Gaussian Bhattacharyya coefficient (Pándy, Agostinelli, Uijlings, Ferrari,
/// Mensink, CVPR 2022): `−Σ_{c≠c'} exp(−D_B(c, c'))` between per-class Gaussians of the
/// features (classes present only). `spherical` (the reference's default) replaces each
/// class's diagonal variances by their mean, as `stable_transfer/transferability/gbc.py`
/// does — including its log-determinant term of a single scalar. Higher (closer to 0) =
/// better separated classes = more transferable.
pub fn gbc(f: ArrayView2<'_, f64>, y: ArrayView1<'_, usize>, spherical: bool) -> Result<f64> {
    let c = check_labels("gbc", f.nrows(), y)?;
    if f.iter().any(|v| !v.is_finite()) {
        return Err(bad("gbc", "features must be finite"));
    }
    let stats = class_gaussians(f, y, c);
    if stats.len() < 2 {
        return Err(bad("gbc", "needs at least two classes present"));
    }
    let distance = |a: &(Array1<f64>, Array1<f64>), b: &(Array1<f64>, Array1<f64>)| -> f64 {
        let diff2 = (&a.0 - &b.0).mapv(|v| v * v);
        if spherical {
            let (s1, s2) = (a.1.mean().expect("d ≥ 1"), b.1.mean().expect("d ≥ 1"));
            let avg = (s1 + s2) / 2.0;
            diff2.sum() / avg / 8.0 + 0.5 * (avg.ln() - 0.5 * s1.ln() - 0.5 * s2.ln())
        } else {
            let avg = (&a.1 + &b.1) / 2.0;
            (&diff2 / &avg).sum() / 8.0
                + 0.5
                    * (avg.mapv(f64::ln).sum()
                        - 0.5 * a.1.mapv(f64::ln).sum()
                        - 0.5 * b.1.mapv(f64::ln).sum())
        }
    };
    let mut total = 0.0;
    for (i, a) in stats.iter().enumerate() {
        for (j, b) in stats.iter().enumerate() {
            if i != j {
                total += (-distance(a, b)).exp();
            }
        }
    }
    Ok(-total)
}

/// `½ log det(I + Zᵀ Z / (n ε))`, the coding rate of the rows of `z`.
fn coding_rate(z: ArrayView2<'_, f64>, eps: f64) -> Result<f64> {
    let (n, d) = z.dim();
    let mut m = z.t().dot(&z) / (n as f64 * eps);
    for i in 0..d {
        m[(i, i)] += 1.0;
    }
    let l = tlab_core::linalg::cholesky(m.view()).map_err(|e| bad("transrate", e.to_string()))?;
    Ok(l.diag().mapv(f64::ln).sum())
}

/// TransRate (Huang, Huang, Ou, Chen, ICML 2022): the coding rate of the centred features
/// minus the mean coding rate of each class's rows, `R(Z, ε) − (1/K) Σ_k R(Z_k, ε)` with
/// K = the largest label + 1 (an absent class adds a zero rate), as in the paper's listing.
/// `eps` = 1e-4 there.
pub fn transrate(f: ArrayView2<'_, f64>, y: ArrayView1<'_, usize>, eps: f64) -> Result<f64> {
    let k = check_labels("transrate", f.nrows(), y)?;
    if !(eps.is_finite() && eps > 0.0) {
        return Err(bad("transrate", format!("eps = {eps} must be > 0")));
    }
    if f.iter().any(|v| !v.is_finite()) {
        return Err(bad("transrate", "features must be finite"));
    }
    let z = &f - &f.mean_axis(Axis(0)).expect("rows");
    let rz = coding_rate(z.view(), eps)?;
    let mut rzy = 0.0;
    for c in 0..k {
        let rows: Vec<usize> = (0..z.nrows()).filter(|&i| y[i] == c).collect();
        if !rows.is_empty() {
            rzy += coding_rate(z.select(Axis(0), &rows).view(), eps)?;
        }
    }
    Ok(rz - rzy / k as f64)
}

/// Ledoit–Wolf shrinkage of the (biased) covariance of the rows of `x`: the coefficient α
/// and `(1 − α) S + α (tr S / d) I`, as scikit-learn's `LedoitWolf` (not assuming centred).
pub fn ledoit_wolf(x: ArrayView2<'_, f64>) -> (f64, Array2<f64>) {
    let (n, p) = (x.nrows() as f64, x.ncols());
    let xc = &x - &x.mean_axis(Axis(0)).expect("rows");
    // xcᵀxc once (it was formed twice, the same bits each time).
    let scatter = tlab_core::linalg::gram_t(xc.view());
    let s = &scatter / n;
    let x2 = xc.mapv(|v| v * v);
    let trace_diag = x2.sum_axis(Axis(0)) / n;
    let mu = trace_diag.sum() / p as f64;
    let beta_ = tlab_core::linalg::gram_t(x2.view()).sum();
    let delta_ = scatter.mapv(|v| v * v).sum() / (n * n);
    let beta = (beta_ / n - delta_) / (p as f64 * n);
    let delta = (delta_ - 2.0 * mu * trace_diag.sum() + p as f64 * mu * mu) / p as f64;
    let alpha = if beta.min(delta) == 0.0 {
        0.0
    } else {
        beta.min(delta) / delta
    };
    let mut shrunk = s * (1.0 - alpha);
    for i in 0..p {
        shrunk[(i, i)] += alpha * mu;
    }
    (alpha, shrunk)
}

/// The shrinkage ("regularised") H-score (Ibrahim, Ponomareva, Mazumder, ICLR 2023):
/// `tr(pinv(Σ_α) · (1 − α) cov(E[f | y]))` with Σ_α the Ledoit–Wolf shrunk covariance of
/// the features and α its coefficient — stable where the plain H-score's covariance is
/// near singular (few samples, many dimensions).
pub fn h_score_shrinkage(f: ArrayView2<'_, f64>, y: ArrayView1<'_, usize>) -> Result<f64> {
    let c = check_labels("h-score-shrinkage", f.nrows(), y)?;
    if f.nrows() < 2 || f.iter().any(|v| !v.is_finite()) {
        return Err(bad("h-score-shrinkage", "needs at least 2 finite samples"));
    }
    let (alpha, cov_a) = ledoit_wolf(f);
    let mut g = Array2::<f64>::zeros(f.raw_dim());
    for k in 0..c {
        let rows: Vec<usize> = (0..f.nrows()).filter(|&i| y[i] == k).collect();
        if rows.is_empty() {
            continue;
        }
        let mean = f.select(Axis(0), &rows).mean_axis(Axis(0)).expect("rows");
        for &i in &rows {
            g.row_mut(i).assign(&mean);
        }
    }
    let cov_g = crate::mean_cov(g.view()).1;
    let (l, v) = tlab_core::linalg::sym_eigh(cov_a.view())
        .map_err(|e| bad("h-score-shrinkage", e.to_string()))?;
    let lmax = l.iter().fold(0.0f64, |a, b| a.max(b.abs()));
    let inv_l = l.mapv(|x| if x.abs() > 1e-15 * lmax { 1.0 / x } else { 0.0 });
    let pinv = (&v * &inv_l).dot(&v.t());
    Ok((1.0 - alpha) * (&pinv * &cov_g.t()).sum())
}
