//! Transferability of a source model to a labelled target, from the source model's outputs
//! on the target samples. Formulas as in the Transfer-Learning-Library's
//! `tllib.ranking` (the reference the golden tests reproduce):
//! - LEEP (Nguyen, Hassner, Seeger, Archambeau, ICML 2020): `mean_i log Σ_z P̂(y_i|z) θ(x_i)_z`
//!   with `P̂(y|z)` from the empirical joint of target labels and source soft predictions.
//! - NCE (Tran, Nguyen, Hassner, ICCV 2019): `−H(Y | Z)` from hard source predictions `Z`.
//! - H-score (Bao et al., ICIP 2019): `tr(pinv(cov f) · cov(E[f | y]))` on source features.
//! - LogME (You et al., ICML 2021), below, as in the authors' code.

use ndarray::{Array2, ArrayView1, ArrayView2, Axis};

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
    let cov = |x: &Array2<f64>| {
        let mu = x.mean_axis(Axis(0)).expect("rows");
        let xc = x - &mu;
        xc.t().dot(&xc) / (x.nrows() as f64 - 1.0)
    };
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
    let covf = cov(&fo);
    let covg = cov(&g);
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
