//! Domain divergences computed on two samples' features, for predicting negative transfer
//! and for recording beside a run's accuracy (`metrics = [...]` in a suite).
//!
//! Here (the first three); `more.rs` (unbiased, multi-kernel, linear-time and RFF MMD, the
//! MMD permutation test, Fréchet, Gaussian KL, sliced Wasserstein, proxy A-distance),
//! `transferability.rs` (LEEP, NCE, H-score, LogME), `representation.rs` (linear/RBF CKA, RSA),
//! `stats.rs` (ranks, Spearman). Not yet: JS between Gaussians, entropic Wasserstein as a
//! metric, OTDD, GBC, TransRate, shrinkage H-score.
//!
//! - `mmd-linear`: the squared MMD with the linear kernel, `‖μ_s − μ_t‖²` (Gretton et al.,
//!   JMLR 2012; biased and unbiased coincide up to the diagonal terms — this is the biased,
//!   V-statistic form).
//! - `mmd-rbf`: the biased (V-statistic) squared MMD with the Gaussian kernel
//!   `exp(−γ‖x − y‖²)`, `γ = 1 / median` of the pooled pairwise squared distances (the median
//!   heuristic; with more than 2,000 pooled rows the median is taken over every ⌈n/2000⌉-th
//!   row, deterministically). Kernel sums go block by block: memory stays O(n · 1024).
//! - `coral`: the CORAL distance of Deep CORAL (Sun & Saenko, ECCV-W 2016),
//!   `‖C_s − C_t‖²_F / (4 d²)` with unbiased covariances (numpy's `np.cov`).

use ndarray::{s, Array1, Array2, ArrayView2, Axis};

pub mod more;
pub mod representation;
pub mod stats;
pub mod transferability;

pub use more::{
    frechet, js_gaussian, kl_gaussian, mmd_linear_time, mmd_linear_unbiased, mmd_multi_kernel,
    mmd_nystrom, mmd_nystrom_with, mmd_permutation_test, mmd_rbf_unbiased, mmd_rff, otdd,
    proxy_a_distance, sinkhorn_cost, sinkhorn_divergence, sliced_wasserstein,
    sliced_wasserstein_with,
};
pub use representation::{cka_linear, cka_rbf, rsa};
pub use transferability::{
    gbc, h_score, h_score_shrinkage, ledoit_wolf, leep, logme, nce, transrate,
};

/// What went wrong, and where.
#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum SimilarityError {
    #[error("{metric}: {detail}")]
    BadInput { metric: String, detail: String },
    #[error("unknown metric {0:?}; `tlab list` names the known ones")]
    Unknown(String),
}

pub type Result<T> = std::result::Result<T, SimilarityError>;

/// The metrics a suite can name, with what each measures.
pub const METRICS: &[(&str, &str)] = &[
    (
        "mmd-linear",
        "squared linear-kernel MMD, ‖mean_s − mean_t‖²",
    ),
    (
        "mmd-rbf",
        "squared Gaussian-kernel MMD (biased), median-heuristic bandwidth",
    ),
    ("mmd-rbf-unbiased", "the same, unbiased (U-statistic)"),
    (
        "mmd-multi",
        "biased MMD², sum of Gaussian kernels at median γ × 1/4…4",
    ),
    (
        "mmd-linear-time",
        "linear-time Gaussian MMD² (Gretton 2012), for large n",
    ),
    (
        "mmd-rff",
        "Gaussian MMD² through 1024 random Fourier features (seed 0)",
    ),
    ("coral", "CORAL distance ‖C_s − C_t‖²_F / (4d²)"),
    (
        "frechet",
        "Fréchet distance between fitted Gaussians (Gaussian W2²)",
    ),
    (
        "kl-gaussian",
        "KL(source ‖ target) between fitted Gaussians, ridge 1e-3 × mean variance",
    ),
    (
        "sliced-wasserstein",
        "sliced W2 over 64 random directions (seed 0)",
    ),
    (
        "proxy-a-distance",
        "2(1 − 2ε), ε = 5-fold CV error of a logistic domain classifier (seed 0)",
    ),
    (
        "mmd-nystrom",
        "Gaussian MMD² through a Nyström map on 256 landmarks (seed 0), for large n",
    ),
    (
        "sinkhorn",
        "debiased entropic W2² (Sinkhorn divergence), ε = the median pooled squared distance",
    ),
    (
        "js-gaussian",
        "Jensen–Shannon between fitted Gaussians (ridge 1e-3), Monte Carlo 4096 draws (seed 0)",
    ),
];

pub(crate) fn check(
    metric: &str,
    xs: ArrayView2<'_, f64>,
    xt: ArrayView2<'_, f64>,
    min_rows: usize,
) -> Result<()> {
    let bad = |detail: String| SimilarityError::BadInput {
        metric: metric.to_string(),
        detail,
    };
    if xs.ncols() != xt.ncols() {
        return Err(bad(format!(
            "source has {} features, target {}",
            xs.ncols(),
            xt.ncols()
        )));
    }
    if xs.ncols() == 0 {
        return Err(bad("no features".into()));
    }
    for (name, x) in [("source", xs.view()), ("target", xt.reborrow())] {
        if x.nrows() < min_rows {
            return Err(bad(format!(
                "{name} has {} rows; needs at least {min_rows}",
                x.nrows()
            )));
        }
        if let Some(((i, j), _)) = x.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(bad(format!("{name} row {i}, column {j} is not finite")));
        }
    }
    Ok(())
}

/// Label-aware transferability scores a suite can record per run (few-shot runs only):
/// computed from a logistic regression (C = 1) fitted once per pair on the whole source,
/// applied to the run's labelled target rows — the only target labels the run may see.
pub const TRANSFERABILITY: &[(&str, &str)] = &[
    (
        "leep",
        "LEEP of the source model's probabilities on the labelled target rows",
    ),
    (
        "nce",
        "NCE of the source model's hard predictions on the labelled target rows",
    ),
    (
        "h-score",
        "H-score of the source model's probabilities (as features) on the labelled target rows",
    ),
    (
        "logme",
        "LogME of the source model's probabilities (as features) on the labelled target rows",
    ),
    (
        "gbc",
        "GBC (spherical) of the source model's probabilities (as features) on the labelled target rows",
    ),
    (
        "transrate",
        "TransRate (ε = 1e-4) of the source model's probabilities on the labelled target rows",
    ),
    (
        "otdd",
        "OTDD (diagonal-Gaussian label approximation, ε = median feature cost) between the labelled source and the labelled target rows (a distance: lower = closer)",
    ),
    (
        "h-score-shrinkage",
        "shrinkage (Ledoit–Wolf) H-score of the source model's probabilities on the labelled target rows",
    ),
];

/// The label-aware entries of [`TRANSFERABILITY`] that are distances (larger = farther),
/// unlike the scores where larger = more transferable.
pub const LABEL_AWARE_DISTANCES: &[&str] = &["otdd"];

/// Computes the named metric.
pub fn compute(name: &str, xs: ArrayView2<'_, f64>, xt: ArrayView2<'_, f64>) -> Result<f64> {
    match name {
        "mmd-linear" => mmd_linear(xs, xt),
        "mmd-rbf" => mmd_rbf(xs, xt, None),
        "coral" => coral_distance(xs, xt),
        "mmd-rbf-unbiased" => mmd_rbf_unbiased(xs, xt, None),
        "mmd-multi" => mmd_multi_kernel(xs, xt),
        "mmd-linear-time" => mmd_linear_time(xs, xt),
        "mmd-rff" => mmd_rff(xs, xt, 1024, 0),
        "frechet" => frechet(xs, xt),
        "kl-gaussian" => kl_gaussian(xs, xt, 1e-3),
        "sliced-wasserstein" => sliced_wasserstein(xs, xt, 64, 0),
        "sinkhorn" => sinkhorn_divergence(xs, xt, 1.0),
        "mmd-nystrom" => mmd_nystrom(xs, xt, 256, 0),
        "js-gaussian" => js_gaussian(xs, xt, 1e-3, 4096, 0),
        "proxy-a-distance" => proxy_a_distance(xs, xt, 5, 0),
        other => Err(SimilarityError::Unknown(other.to_string())),
    }
}

/// `‖μ_s − μ_t‖²`.
pub fn mmd_linear(xs: ArrayView2<'_, f64>, xt: ArrayView2<'_, f64>) -> Result<f64> {
    check("mmd-linear", xs, xt, 1)?;
    let d = xs.mean_axis(Axis(0)).expect("rows") - xt.mean_axis(Axis(0)).expect("rows");
    Ok(d.dot(&d))
}

fn sq_norms(x: ArrayView2<'_, f64>) -> Array1<f64> {
    x.rows().into_iter().map(|r| r.dot(&r)).collect()
}

/// `‖a_i − b_j‖²` for every pair, by one matrix product (ndarray's), rounding below 0
/// clipped. Between a matrix's own rows: `tlab_core::linalg::sq_distances_self`, the same
/// bits at half the products.
pub(crate) fn sq_dist_matrix(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> Array2<f64> {
    tlab_core::linalg::sq_distances_from(a, b, a.dot(&b.t()))
}

/// `Σ_ij exp(−γ‖a_i − b_j‖²)` in row-major order, 1024 rows of `a` at a time (the
/// exponentials through `tlab_core::vmath`, the bits of `f64::exp`).
fn kernel_sum(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>, gamma: f64) -> f64 {
    let (an, bn) = (sq_norms(a), sq_norms(b));
    let mut total = 0.0;
    let step = 1024;
    let mut start = 0;
    while start < a.nrows() {
        let end = (start + step).min(a.nrows());
        let mut g = a.slice(s![start..end, ..]).dot(&b.t());
        total = kernel_rows_sum(&mut g, an.slice(s![start..end]), bn.view(), gamma, total);
        start = end;
    }
    total
}

/// `Σ_ij exp(−γ‖a_i − a_j‖²)`, as [`kernel_sum`]`(a, a, γ)` (the same terms in the same
/// order), from the symmetric product when its n × n matrix is at most 32 MB.
fn kernel_sum_self(a: ArrayView2<'_, f64>, gamma: f64) -> f64 {
    if a.nrows() > 2048 {
        return kernel_sum(a, a, gamma);
    }
    let n = sq_norms(a);
    let mut g = tlab_core::linalg::gram(a);
    kernel_rows_sum(&mut g, n.view(), n.view(), gamma, 0.0)
}

/// `total + Σ exp(−γ max(an_i + bn_j − 2 g_ij, 0))` over `g`'s entries in row-major order
/// (one running sum), `g` overwritten.
fn kernel_rows_sum(
    g: &mut Array2<f64>,
    an: ndarray::ArrayView1<'_, f64>,
    bn: ndarray::ArrayView1<'_, f64>,
    gamma: f64,
    mut total: f64,
) -> f64 {
    for (mut row, &ai) in g.rows_mut().into_iter().zip(&an) {
        row.zip_mut_with(&bn, |v, &bj| *v = (ai + bj - 2.0 * *v).max(0.0));
        let row = row
            .as_slice_mut()
            .expect("a row of a standard-layout array");
        tlab_core::vmath::exp_map_inplace(row, |d| -gamma * d);
        for &k in row.iter() {
            total += k;
        }
    }
    total
}

/// `1 / median` of the pairwise squared distances (i < j) of the pooled rows (every
/// ⌈n/2000⌉-th row when there are more than 2,000); 1 if that median is 0.
pub fn median_gamma(xs: ArrayView2<'_, f64>, xt: ArrayView2<'_, f64>) -> f64 {
    let n = xs.nrows() + xt.nrows();
    let stride = n.div_ceil(2000).max(1);
    let pooled: Vec<_> = xs
        .rows()
        .into_iter()
        .chain(xt.rows())
        .step_by(stride)
        .collect();
    let m = pooled.len();
    let mut x = Array2::<f64>::zeros((m, xs.ncols()));
    for (i, r) in pooled.iter().enumerate() {
        x.row_mut(i).assign(r);
    }
    let dist = tlab_core::linalg::sq_distances_self(x.view());
    let mut d = Vec::with_capacity(m * m.saturating_sub(1) / 2);
    for i in 0..m {
        for j in i + 1..m {
            d.push(dist[[i, j]]);
        }
    }
    if d.is_empty() {
        return 1.0;
    }
    let med = tlab_core::select::median(&d);
    if med > 0.0 {
        1.0 / med
    } else {
        1.0
    }
}

/// An error naming the metric.
pub(crate) fn bad(metric: &str, detail: impl Into<String>) -> SimilarityError {
    SimilarityError::BadInput {
        metric: metric.to_string(),
        detail: detail.into(),
    }
}

/// A given Gaussian-kernel γ, checked, or the median heuristic's.
pub(crate) fn resolve_gamma(
    metric: &str,
    gamma: Option<f64>,
    xs: ArrayView2<'_, f64>,
    xt: ArrayView2<'_, f64>,
) -> Result<f64> {
    match gamma {
        Some(g) if !(g.is_finite() && g > 0.0) => {
            Err(bad(metric, format!("gamma = {g} must be positive")))
        }
        Some(g) => Ok(g),
        None => Ok(median_gamma(xs, xt)),
    }
}

/// Biased squared MMD with the Gaussian kernel; `gamma` defaults to [`median_gamma`].
pub fn mmd_rbf(
    xs: ArrayView2<'_, f64>,
    xt: ArrayView2<'_, f64>,
    gamma: Option<f64>,
) -> Result<f64> {
    check("mmd-rbf", xs, xt, 1)?;
    let gamma = resolve_gamma("mmd-rbf", gamma, xs, xt)?;
    let (ns, nt) = (xs.nrows() as f64, xt.nrows() as f64);
    let v = kernel_sum_self(xs, gamma) / (ns * ns) + kernel_sum_self(xt, gamma) / (nt * nt)
        - 2.0 * kernel_sum(xs, xt, gamma) / (ns * nt);
    Ok(v.max(0.0))
}

/// The mean of the rows of `x` and their sample covariance (divided by n − 1), the
/// centred rows' product through `tlab_core::linalg::gram_t` (ndarray's `cᵀc`, its bits).
pub(crate) fn mean_cov(x: ArrayView2<'_, f64>) -> (Array1<f64>, Array2<f64>) {
    let mu = x.mean_axis(Axis(0)).expect("rows");
    let c = &x - &mu;
    let cov = tlab_core::linalg::gram_t(c.view()) / (x.nrows() as f64 - 1.0);
    (mu, cov)
}

/// `‖C_s − C_t‖²_F / (4 d²)`.
pub fn coral_distance(xs: ArrayView2<'_, f64>, xt: ArrayView2<'_, f64>) -> Result<f64> {
    check("coral", xs, xt, 2)?;
    let d = xs.ncols() as f64;
    let diff = mean_cov(xs).1 - mean_cov(xt).1;
    Ok(diff.iter().map(|v| v * v).sum::<f64>() / (4.0 * d * d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn zero_on_identical_samples_and_symmetric() {
        // Samples big enough for every metric (5-fold A-distance, linear-time pairs).
        // (Full-rank covariances: a rank-deficient one makes Fréchet's square roots of
        // near-zero eigenvalues amplify rounding.)
        let x = Array2::from_shape_fn((40, 3), |(i, j)| {
            ((i * 3 + j) as f64 * 0.77).sin() + 0.3 * (0.19 * (i * (j + 1) * (j + 1)) as f64).cos()
        });
        let y = Array2::from_shape_fn((30, 3), |(i, j)| {
            ((i * 5 + j) as f64 * 0.41).cos()
                + 0.5
                + 0.3 * (0.23 * (i * (j + 1) * (j + 1)) as f64).sin()
        });
        let mut xr = x.clone();
        xr.invert_axis(Axis(0));
        for (name, _) in METRICS {
            let same = compute(name, x.view(), x.view()).unwrap();
            // Unbiased estimators are zero in expectation, not exactly: on identical
            // samples they are ≤ 0. The linear-time one pairs rows, and is exactly 0.
            if name.contains("unbiased") {
                assert!(same <= 1e-12, "{name}: {same}");
            } else {
                assert!(same.abs() < 1e-9, "{name}: {same}");
            }
            let (a, b) = (
                compute(name, x.view(), y.view()).unwrap(),
                compute(name, y.view(), x.view()).unwrap(),
            );
            // The unbiased and linear-time estimators may dip below 0 on finite samples.
            if !matches!(*name, "mmd-rbf-unbiased" | "mmd-linear-time") {
                assert!(a > 0.0, "{name}: {a}");
            }
            // Symmetric where the definition is (KL is not; the linear-time and RFF
            // estimators depend on which rows are paired / drawn).
            if !matches!(
                *name,
                "kl-gaussian" | "mmd-linear-time" | "proxy-a-distance"
            ) {
                assert!((a - b).abs() < 1e-9 * a.max(1.0), "{name}: {a} vs {b}");
            }
            // Invariant to the order of the samples, except the estimators that pair
            // or fold rows by position.
            if !matches!(*name, "mmd-linear-time" | "proxy-a-distance") {
                let c = compute(name, xr.view(), y.view()).unwrap();
                assert!((a - c).abs() < 1e-9 * a.max(1.0), "{name}: {a} vs {c}");
            }
        }
    }

    #[test]
    fn bad_input_is_named() {
        let x = array![[0.0, 1.0], [2.0, f64::NAN]];
        let y = array![[1.0, 1.0], [0.0, 0.5]];
        let e = mmd_linear(x.view(), y.view()).unwrap_err().to_string();
        assert!(e.contains("source row 1, column 1"), "{e}");
        let z = array![[1.0], [2.0]];
        let e = coral_distance(y.view(), z.view()).unwrap_err().to_string();
        assert!(e.contains("2 features, target 1"), "{e}");
        let one = array![[1.0, 2.0]];
        assert!(coral_distance(one.view(), y.view()).is_err());
        assert!(matches!(
            compute("kl", y.view(), y.view()),
            Err(SimilarityError::Unknown(_))
        ));
        assert!(mmd_rbf(y.view(), y.view(), Some(-1.0)).is_err());
        assert!(mmd_rbf_unbiased(y.view(), y.view(), Some(f64::NAN)).is_err());
    }
}
