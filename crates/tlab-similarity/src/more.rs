//! Divergences beyond the first three: unbiased, multi-kernel, linear-time and
//! random-Fourier-feature MMD and its permutation test (Gretton, Borgwardt, Rasch,
//! Schölkopf, Smola, "A Kernel Two-Sample Test", JMLR 2012); the Fréchet distance between
//! fitted Gaussians (the Gaussian W2, as in FID: Heusel et al., NeurIPS 2017); the KL
//! divergence between fitted Gaussians; the sliced Wasserstein distance (Bonneel, Rabin,
//! Peyré, Pfister, JMIV 2015; POT's `sliced_wasserstein_distance`); the proxy A-distance
//! (Ben-David, Blitzer, Crammer, Pereira, NIPS 2006: `2(1 − 2ε)` with ε the
//! cross-validated error of a domain classifier).

use ndarray::{concatenate, s, Array1, Array2, ArrayView2, Axis};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use tlab_core::learners::{Classifier, LogisticRegression, TrainSet};

use crate::{bad, check, mean_cov, median_gamma, resolve_gamma, sq_dist_matrix, Result};

/// A `rows × cols` matrix of independent `N(0, sd²)` draws.
fn gaussian_matrix(rows: usize, cols: usize, sd: f64, rng: &mut ChaCha8Rng) -> Array2<f64> {
    Array2::from_shape_simple_fn((rows, cols), || sd * rng.sample::<f64, _>(StandardNormal))
}

/// The pooled squared-distance matrix and the pooled sizes, for kernel statistics.
fn pooled(xs: ArrayView2<'_, f64>, xt: ArrayView2<'_, f64>) -> Array2<f64> {
    let z = concatenate(Axis(0), &[xs.view(), xt.reborrow()]).expect("same width");
    tlab_core::linalg::sq_distances_self(z.view())
}

/// Unbiased squared MMD (U-statistic) from a pooled kernel matrix whose first `m` rows
/// are the source, for the sample assignment `idx` (a permutation of the pooled rows).
fn mmd_u_from_kernel(k: &Array2<f64>, idx: &[usize], m: usize) -> f64 {
    let n = idx.len() - m;
    let (a, b) = idx.split_at(m);
    let mut sxx = 0.0;
    for (p, &i) in a.iter().enumerate() {
        for &j in &a[p + 1..] {
            sxx += k[[i, j]];
        }
    }
    let mut syy = 0.0;
    for (p, &i) in b.iter().enumerate() {
        for &j in &b[p + 1..] {
            syy += k[[i, j]];
        }
    }
    let mut sxy = 0.0;
    for &i in a {
        for &j in b {
            sxy += k[[i, j]];
        }
    }
    let (m, n) = (m as f64, n as f64);
    2.0 * sxx / (m * (m - 1.0)) + 2.0 * syy / (n * (n - 1.0)) - 2.0 * sxy / (m * n)
}

fn rbf_kernel(d: &Array2<f64>, gammas: &[f64]) -> Array2<f64> {
    d.mapv(|v| gammas.iter().map(|g| (-g * v).exp()).sum::<f64>())
}

/// Unbiased squared MMD with the Gaussian kernel (γ by the median heuristic when `None`);
/// may be slightly negative, as the estimator is unbiased.
pub fn mmd_rbf_unbiased(
    xs: ArrayView2<'_, f64>,
    xt: ArrayView2<'_, f64>,
    gamma: Option<f64>,
) -> Result<f64> {
    check("mmd-rbf-unbiased", xs, xt, 2)?;
    let g = resolve_gamma("mmd-rbf-unbiased", gamma, xs, xt)?;
    let k = rbf_kernel(&pooled(xs, xt), &[g]);
    let idx: Vec<usize> = (0..k.nrows()).collect();
    Ok(mmd_u_from_kernel(&k, &idx, xs.nrows()))
}

/// Unbiased squared MMD with the linear kernel.
pub fn mmd_linear_unbiased(xs: ArrayView2<'_, f64>, xt: ArrayView2<'_, f64>) -> Result<f64> {
    check("mmd-linear-unbiased", xs, xt, 2)?;
    let z = concatenate(Axis(0), &[xs.view(), xt.reborrow()]).expect("same width");
    let k = tlab_core::linalg::gram(z.view());
    let idx: Vec<usize> = (0..k.nrows()).collect();
    Ok(mmd_u_from_kernel(&k, &idx, xs.nrows()))
}

/// Biased squared MMD with a sum of Gaussian kernels at `γ_med · {1/4, 1/2, 1, 2, 4}`
/// (the multi-kernel family of Long et al., DAN, ICML 2015, with equal weights).
pub fn mmd_multi_kernel(xs: ArrayView2<'_, f64>, xt: ArrayView2<'_, f64>) -> Result<f64> {
    check("mmd-multi", xs, xt, 1)?;
    let g = median_gamma(xs, xt);
    let gammas: Vec<f64> = [0.25, 0.5, 1.0, 2.0, 4.0].iter().map(|f| f * g).collect();
    let k = rbf_kernel(&pooled(xs, xt), &gammas);
    let (m, n) = (xs.nrows(), xt.nrows());
    let kss = k.slice(s![..m, ..m]).sum() / (m * m) as f64;
    let ktt = k.slice(s![m.., m..]).sum() / (n * n) as f64;
    let kst = k.slice(s![..m, m..]).sum() / (m * n) as f64;
    Ok((kss + ktt - 2.0 * kst).max(0.0))
}

/// The MMD permutation test: the unbiased Gaussian-kernel statistic (γ by the median
/// heuristic on the pooled sample, fixed across permutations) against `permutations`
/// seeded relabellings of the pooled sample. Returns `(statistic, p-value)` with
/// `p = (1 + #{permuted ≥ observed}) / (1 + permutations)`.
pub fn mmd_permutation_test(
    xs: ArrayView2<'_, f64>,
    xt: ArrayView2<'_, f64>,
    permutations: usize,
    seed: u64,
) -> Result<(f64, f64)> {
    check("mmd-permutation", xs, xt, 2)?;
    if permutations == 0 {
        return Err(bad("mmd-permutation", "permutations must be ≥ 1"));
    }
    let g = median_gamma(xs, xt);
    let k = rbf_kernel(&pooled(xs, xt), &[g]);
    let mut idx: Vec<usize> = (0..k.nrows()).collect();
    let observed = mmd_u_from_kernel(&k, &idx, xs.nrows());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut at_least = 0usize;
    for _ in 0..permutations {
        idx.shuffle(&mut rng);
        if mmd_u_from_kernel(&k, &idx, xs.nrows()) >= observed {
            at_least += 1;
        }
    }
    Ok((observed, (1 + at_least) as f64 / (1 + permutations) as f64))
}

/// Linear-time MMD² (Gretton et al. 2012, Lemma 14): the mean over `⌊m/2⌋` disjoint pairs
/// of `h = k(x₁,x₂) + k(y₁,y₂) − k(x₁,y₂) − k(x₂,y₁)`, `m = min(n_s, n_t)`, Gaussian kernel
/// with γ by the median heuristic. O(n·d) time and memory: for very large samples.
pub fn mmd_linear_time(xs: ArrayView2<'_, f64>, xt: ArrayView2<'_, f64>) -> Result<f64> {
    check("mmd-linear-time", xs, xt, 2)?;
    let g = median_gamma(xs, xt);
    let m = xs.nrows().min(xt.nrows()) / 2;
    let k = |a: ndarray::ArrayView1<'_, f64>, b: ndarray::ArrayView1<'_, f64>| {
        let d: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
        (-g * d).exp()
    };
    let mut total = 0.0;
    for i in 0..m {
        let (x1, x2) = (xs.row(2 * i), xs.row(2 * i + 1));
        let (y1, y2) = (xt.row(2 * i), xt.row(2 * i + 1));
        total += k(x1, x2) + k(y1, y2) - k(x1, y2) - k(x2, y1);
    }
    Ok(total / m as f64)
}

/// Biased Gaussian-kernel MMD² through `features` random Fourier features (Rahimi & Recht,
/// NIPS 2007): `z(x) = √(2/D) cos(Wx + b)`, `W ~ N(0, 2γI)`, `b ~ U[0, 2π)`; then
/// `‖mean z_s − mean z_t‖²`. O(n·d·D); seeded.
pub fn mmd_rff(
    xs: ArrayView2<'_, f64>,
    xt: ArrayView2<'_, f64>,
    features: usize,
    seed: u64,
) -> Result<f64> {
    check("mmd-rff", xs, xt, 1)?;
    if features == 0 {
        return Err(bad("mmd-rff", "features must be ≥ 1"));
    }
    let g = median_gamma(xs, xt);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let sd = (2.0 * g).sqrt();
    let w = gaussian_matrix(xs.ncols(), features, sd, &mut rng);
    let b: Array1<f64> = (0..features)
        .map(|_| rng.gen::<f64>() * std::f64::consts::TAU)
        .collect();
    let scale = (2.0 / features as f64).sqrt();
    let mean_z = |x: ArrayView2<'_, f64>| {
        let mut acc = Array1::<f64>::zeros(features);
        for start in (0..x.nrows()).step_by(4096) {
            let end = (start + 4096).min(x.nrows());
            let mut p = x.slice(s![start..end, ..]).dot(&w);
            p += &b;
            p.mapv_inplace(|v| scale * v.cos());
            acc += &p.sum_axis(Axis(0));
        }
        acc / x.nrows() as f64
    };
    let d = mean_z(xs) - mean_z(xt);
    Ok(d.dot(&d))
}

fn eigh(metric: &str, a: &Array2<f64>) -> Result<(Array1<f64>, Array2<f64>)> {
    tlab_core::linalg::sym_eigh(a.view()).map_err(|e| bad(metric, e.to_string()))
}

/// `‖μ_s − μ_t‖² + tr(C_s + C_t − 2 (C_s^{1/2} C_t C_s^{1/2})^{1/2})`, covariances as
/// `np.cov`; negative eigenvalues from rounding are clipped to 0.
pub fn frechet(xs: ArrayView2<'_, f64>, xt: ArrayView2<'_, f64>) -> Result<f64> {
    check("frechet", xs, xt, 2)?;
    let (ms, cs) = mean_cov(xs);
    let (mt, ct) = mean_cov(xt);
    gaussian_w2(&ms, &cs, &mt, &ct)
}

/// `W2²` between `N(ms, cs)` and `N(mt, ct)` (the Fréchet distance's closed form).
fn gaussian_w2(
    ms: &Array1<f64>,
    cs: &Array2<f64>,
    mt: &Array1<f64>,
    ct: &Array2<f64>,
) -> Result<f64> {
    let (ls, vs) = eigh("frechet", cs)?;
    let root = {
        let d = ls.mapv(|l| l.max(0.0).sqrt());
        (&vs * &d).dot(&vs.t())
    };
    let mid = root.dot(ct).dot(&root);
    let mid = (&mid + &mid.t()) / 2.0;
    let (lm, _) = eigh("frechet", &mid)?;
    let tr_sqrt: f64 = lm.iter().map(|l| l.max(0.0).sqrt()).sum();
    let dm = ms - mt;
    Ok((dm.dot(&dm) + cs.diag().sum() + ct.diag().sum() - 2.0 * tr_sqrt).max(0.0))
}

/// `KL(N(μ_s, C_s + εI) ‖ N(μ_t, C_t + εI))`, ε = `ridge` × mean variance of the pooled
/// features (the ridge keeps it finite when d ≥ n, as on 800-dimensional SURF with 157
/// DSLR images). Not symmetric.
pub fn kl_gaussian(xs: ArrayView2<'_, f64>, xt: ArrayView2<'_, f64>, ridge: f64) -> Result<f64> {
    check("kl-gaussian", xs, xt, 2)?;
    if !(ridge.is_finite() && ridge >= 0.0) {
        return Err(bad("kl-gaussian", format!("ridge = {ridge} must be ≥ 0")));
    }
    let (ms, mut cs) = mean_cov(xs);
    let (mt, mut ct) = mean_cov(xt);
    let d = xs.ncols();
    let eps = ridge * (cs.diag().sum() + ct.diag().sum()) / (2 * d) as f64;
    for i in 0..d {
        cs[[i, i]] += eps;
        ct[[i, i]] += eps;
    }
    let (lt, vt) = eigh("kl-gaussian", &ct)?;
    let (ls, _) = eigh("kl-gaussian", &cs)?;
    if lt.iter().chain(ls.iter()).any(|&l| l <= 0.0) {
        return Err(bad(
            "kl-gaussian",
            "a covariance is singular (fewer samples than features?): use a ridge > 0",
        ));
    }
    // C_t^{-1} = V diag(1/λ) Vᵀ
    let inv = (&vt * &lt.mapv(|l| 1.0 / l)).dot(&vt.t());
    let dm = &mt - &ms;
    let tr: f64 = (&inv * &cs).sum();
    let maha = dm.dot(&inv.dot(&dm));
    let logdet_t: f64 = lt.iter().map(|l| l.ln()).sum();
    let logdet_s: f64 = ls.iter().map(|l| l.ln()).sum();
    Ok(0.5 * (tr + maha - d as f64 + logdet_t - logdet_s))
}

/// `W_p^p` between two uniform empirical measures on the line (quantile coupling; sizes
/// may differ), as POT's `wasserstein_1d`.
fn w1d_pow(mut a: Vec<f64>, mut b: Vec<f64>, p: f64) -> f64 {
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (n, m) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let (mut ca, mut cb) = (1.0 / n, 1.0 / m);
    let mut pos = 0.0;
    let mut total = 0.0;
    while i < a.len() && j < b.len() {
        let next = ca.min(cb);
        total += (next - pos) * (a[i] - b[j]).abs().powf(p);
        pos = next;
        if ca <= cb {
            i += 1;
            ca = (i as f64 + 1.0) / n;
        } else {
            j += 1;
            cb = (j as f64 + 1.0) / m;
        }
    }
    total
}

/// Sliced Wasserstein-p on the given projection directions (columns of `projections`,
/// each of unit length): `(mean over directions of W_p^p)^{1/p}`, as POT's
/// `sliced_wasserstein_distance` with uniform weights.
pub fn sliced_wasserstein_with(
    xs: ArrayView2<'_, f64>,
    xt: ArrayView2<'_, f64>,
    projections: ArrayView2<'_, f64>,
    p: f64,
) -> Result<f64> {
    check("sliced-wasserstein", xs, xt, 1)?;
    if projections.nrows() != xs.ncols() || projections.ncols() == 0 {
        return Err(bad(
            "sliced-wasserstein",
            format!(
                "projections are {}×{}; need {} rows and ≥ 1 column",
                projections.nrows(),
                projections.ncols(),
                xs.ncols()
            ),
        ));
    }
    if p.is_nan() || p < 1.0 {
        return Err(bad("sliced-wasserstein", format!("p = {p} must be ≥ 1")));
    }
    let (ps, pt) = (xs.dot(&projections), xt.dot(&projections));
    let mut total = 0.0;
    for k in 0..projections.ncols() {
        total += w1d_pow(ps.column(k).to_vec(), pt.column(k).to_vec(), p);
    }
    Ok((total / projections.ncols() as f64).powf(1.0 / p))
}

/// Sliced Wasserstein-2 on `n_projections` directions drawn uniformly on the sphere (seeded).
pub fn sliced_wasserstein(
    xs: ArrayView2<'_, f64>,
    xt: ArrayView2<'_, f64>,
    n_projections: usize,
    seed: u64,
) -> Result<f64> {
    check("sliced-wasserstein", xs, xt, 1)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut proj = gaussian_matrix(xs.ncols(), n_projections.max(1), 1.0, &mut rng);
    for mut c in proj.columns_mut() {
        let n = c.dot(&c).sqrt();
        c.mapv_inplace(|v| v / n);
    }
    sliced_wasserstein_with(xs, xt, proj.view(), 2.0)
}

/// Proxy A-distance `2(1 − 2ε)`, ε = the `folds`-fold cross-validated error of a logistic
/// domain classifier (source = 0, target = 1; folds stratified by domain and seeded; every
/// sample is scored only by a model that did not see it). Clipped to [0, 2].
pub fn proxy_a_distance(
    xs: ArrayView2<'_, f64>,
    xt: ArrayView2<'_, f64>,
    folds: usize,
    seed: u64,
) -> Result<f64> {
    check("proxy-a-distance", xs, xt, folds.max(2))?;
    if folds < 2 {
        return Err(bad("proxy-a-distance", "folds must be ≥ 2"));
    }
    let z = concatenate(Axis(0), &[xs.view(), xt.reborrow()]).expect("same width");
    let y: Array1<usize> = (0..z.nrows())
        .map(|i| usize::from(i >= xs.nrows()))
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut fold_of = vec![0usize; z.nrows()];
    for range in [0..xs.nrows(), xs.nrows()..z.nrows()] {
        let mut idx: Vec<usize> = range.collect();
        idx.shuffle(&mut rng);
        for (r, i) in idx.into_iter().enumerate() {
            fold_of[i] = r % folds;
        }
    }
    let model =
        LogisticRegression::new(1.0, 200).map_err(|e| bad("proxy-a-distance", e.to_string()))?;
    let mut errors = 0usize;
    for f in 0..folds {
        let train: Vec<usize> = (0..z.nrows()).filter(|&i| fold_of[i] != f).collect();
        let test: Vec<usize> = (0..z.nrows()).filter(|&i| fold_of[i] == f).collect();
        let (xtr, ytr) = (z.select(Axis(0), &train), y.select(Axis(0), &train));
        let fitted = model
            .fit(TrainSet::new(xtr.view(), ytr.view(), 2))
            .map_err(|e| bad("proxy-a-distance", e.to_string()))?;
        let pred = fitted
            .predict(z.select(Axis(0), &test).view())
            .map_err(|e| bad("proxy-a-distance", e.to_string()))?;
        errors += test
            .iter()
            .zip(pred.iter())
            .filter(|(&i, &p)| y[i] != p)
            .count();
    }
    let eps = errors as f64 / z.nrows() as f64;
    Ok((2.0 * (1.0 - 2.0 * eps)).clamp(0.0, 2.0))
}

/// Entropic optimal transport between uniform weights on the rows of `xs` and `xt` with
/// squared-Euclidean cost, solved in the log domain (stable for small `reg`): returns
/// `⟨P, M⟩` for the optimal entropic plan P, as POT's `empirical_sinkhorn2`. Iterates until
/// the first marginal is met to 1e-10 (L1) or `max_iter` is reached.
pub fn sinkhorn_cost(
    xs: ArrayView2<'_, f64>,
    xt: ArrayView2<'_, f64>,
    reg: f64,
    max_iter: usize,
) -> Result<f64> {
    check("sinkhorn", xs, xt, 1)?;
    sinkhorn_on_cost(&crate::sq_dist_matrix(xs, xt), reg, max_iter)
}

/// [`sinkhorn_cost`] on a given cost matrix (uniform weights on its rows and columns).
fn sinkhorn_on_cost(m: &Array2<f64>, reg: f64, max_iter: usize) -> Result<f64> {
    if !(reg.is_finite() && reg > 0.0) {
        return Err(bad("sinkhorn", format!("reg = {reg} must be > 0")));
    }
    let (n, k) = m.dim();
    let (la, lb) = (-(n as f64).ln(), -(k as f64).ln());
    // Scaled log-kernels, row-major both ways so every log-sum-exp reads contiguous memory.
    let kr = m.mapv(|v| -v / reg);
    let kc = kr.t().as_standard_layout().to_owned();
    let (mut f, mut g) = (vec![0.0f64; n], vec![0.0f64; k]);
    // u_i = log Σ_j exp(row_ij + w_j), by a max pass then a sum pass.
    fn lse_rows(kmat: &Array2<f64>, w: &[f64], out: &mut [f64]) {
        for (o, row) in out.iter_mut().zip(kmat.rows()) {
            let r = row.as_slice().expect("standard layout");
            let mx = r
                .iter()
                .zip(w)
                .fold(f64::NEG_INFINITY, |a, (x, y)| a.max(x + y));
            let sum: f64 = r.iter().zip(w).map(|(x, y)| (x + y - mx).exp()).sum();
            *o = mx + sum.ln();
        }
    }
    let (mut wf, mut wg) = (vec![0.0f64; n], vec![0.0f64; k]);
    for it in 0..max_iter {
        for i in 0..n {
            wf[i] = f[i] / reg + la;
        }
        lse_rows(&kc, &wf, &mut g);
        g.iter_mut().for_each(|v| *v *= -reg);
        for j in 0..k {
            wg[j] = g[j] / reg + lb;
        }
        lse_rows(&kr, &wg, &mut f);
        f.iter_mut().for_each(|v| *v *= -reg);
        // After the f update the rows sum to a exactly; check the columns against b.
        if it % 10 == 9 || it + 1 == max_iter {
            for i in 0..n {
                wf[i] = f[i] / reg + la;
            }
            let mut cols = vec![0.0f64; k];
            lse_rows(&kc, &wf, &mut cols);
            let err: f64 = (0..k)
                .map(|j| ((cols[j] + g[j] / reg + lb).exp() - 1.0 / k as f64).abs())
                .sum();
            if err < 1e-10 {
                break;
            }
        }
    }
    let mut cost = 0.0;
    for i in 0..n {
        for j in 0..k {
            cost += (kr[(i, j)] + (f[i] + g[j]) / reg + la + lb).exp() * m[(i, j)];
        }
    }
    Ok(cost)
}

/// The debiased entropic Wasserstein distance (Sinkhorn divergence) between the samples,
/// `max(0, W_ε(s, t) − ½ W_ε(s, s) − ½ W_ε(t, t))` with `W_ε` = [`sinkhorn_cost`], as POT's
/// `empirical_sinkhorn_divergence`. `reg_rel` sets ε relative to the median squared
/// distance of the pooled sample (scale-free across benchmarks).
pub fn sinkhorn_divergence(
    xs: ArrayView2<'_, f64>,
    xt: ArrayView2<'_, f64>,
    reg_rel: f64,
) -> Result<f64> {
    check("sinkhorn", xs, xt, 1)?;
    if !(reg_rel.is_finite() && reg_rel > 0.0) {
        return Err(bad("sinkhorn", format!("reg_rel = {reg_rel} must be > 0")));
    }
    let reg = reg_rel / crate::median_gamma(xs, xt);
    let ab = sinkhorn_cost(xs, xt, reg, 10_000)?;
    let aa = sinkhorn_cost(xs, xs, reg, 10_000)?;
    let bb = sinkhorn_cost(xt, xt, reg, 10_000)?;
    Ok((ab - 0.5 * (aa + bb)).max(0.0))
}

/// Jensen–Shannon divergence (nats, in [0, ln 2]) between Gaussians fitted to the two
/// samples (covariances as `np.cov` plus `ridge` × mean variance, as [`kl_gaussian`]). It
/// has no closed form: estimated by Monte Carlo with `n_mc` draws from each Gaussian
/// (seeded ChaCha8), `½ E_p[log 2p/(p+q)] + ½ E_q[log 2q/(p+q)]`.
pub fn js_gaussian(
    xs: ArrayView2<'_, f64>,
    xt: ArrayView2<'_, f64>,
    ridge: f64,
    n_mc: usize,
    seed: u64,
) -> Result<f64> {
    check("js-gaussian", xs, xt, 2)?;
    if !(ridge.is_finite() && ridge >= 0.0) || n_mc == 0 {
        return Err(bad("js-gaussian", "ridge must be ≥ 0 and n_mc ≥ 1"));
    }
    let d = xs.ncols();
    let (ms, mut cs) = mean_cov(xs);
    let (mt, mut ct) = mean_cov(xt);
    let eps = ridge * (cs.diag().sum() + ct.diag().sum()) / (2 * d) as f64;
    for i in 0..d {
        cs[[i, i]] += eps;
        ct[[i, i]] += eps;
    }
    let chol = |c: &Array2<f64>| {
        tlab_core::linalg::cholesky(c.view()).map_err(|_| {
            bad(
                "js-gaussian",
                "a covariance is singular (fewer samples than features?): use a ridge > 0",
            )
        })
    };
    let (ls, lt) = (chol(&cs)?, chol(&ct)?);
    let inv = |l: &Array2<f64>| {
        tlab_core::linalg::solve(l.view(), Array2::eye(d).view())
            .map_err(|e| bad("js-gaussian", e.to_string()))
    };
    let (ls_inv, lt_inv) = (inv(&ls)?, inv(&lt)?);
    let half_log_2pi = 0.5 * d as f64 * (2.0 * std::f64::consts::PI).ln();
    // log N(x; μ, LLᵀ) for every row of x at once: z = (x − μ) L⁻ᵀ.
    let logpdf = |x: &Array2<f64>, mu: &Array1<f64>, l: &Array2<f64>, l_inv: &Array2<f64>| {
        let centred = x - mu;
        let z = tlab_core::linalg::matmul(centred.view(), false, l_inv.view(), true)
            .expect("square factors of the right width");
        let logdet: f64 = l.diag().mapv(f64::ln).sum();
        z.map_axis(Axis(1), |r| -0.5 * r.dot(&r) - logdet - half_log_2pi)
    };
    // One set of standard-normal draws serves both halves, so swapping the samples swaps
    // the halves exactly: the estimate is symmetric, not only in expectation.
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let draws = Array2::from_shape_simple_fn((n_mc, d), || rng.sample::<f64, _>(StandardNormal));
    let ln2 = std::f64::consts::LN_2;
    let half = |mu: &Array1<f64>, l: &Array2<f64>, own_is_s: bool| -> f64 {
        let x = tlab_core::linalg::matmul(draws.view(), false, l.view(), true)
            .expect("square factor of the right width")
            + mu;
        let (lp, lq) = (logpdf(&x, &ms, &ls, &ls_inv), logpdf(&x, &mt, &lt, &lt_inv));
        let (own, other) = if own_is_s { (lp, lq) } else { (lq, lp) };
        // log 2p/(p+q) = ln 2 − log(1 + exp(other − own))
        let acc: f64 = own
            .iter()
            .zip(other.iter())
            .map(|(o, t)| {
                let t = t - o;
                ln2 - if t > 0.0 {
                    t + (-t).exp().ln_1p()
                } else {
                    t.exp().ln_1p()
                }
            })
            .sum();
        acc / n_mc as f64
    };
    let a = half(&ms, &ls, true);
    let b = half(&mt, &lt, false);
    Ok((0.5 * (a + b)).clamp(0.0, ln2))
}

/// OTDD, the optimal-transport dataset distance (Alvarez-Melis & Fusi, NeurIPS 2020), in its
/// Gaussian approximation: entropic OT between the labelled samples with ground cost
/// `‖x − x'‖² + W2²(N_y, N_y')`, where `N_c` is the Gaussian fitted to class c's rows of its
/// dataset (covariance as `np.cov`, plus `ridge` × the pooled mean variance, which also
/// covers a class seen once). Returns `⟨P, C⟩` with ε = `reg_rel` × the median of the
/// feature part of the cost. Labels of the two datasets need not share a meaning. With
/// `diagonal`, each class Gaussian keeps only its variances (`W2² = ‖μ − μ'‖² +
/// Σ (√σ − √σ')²`), which avoids a d × d eigendecomposition per class pair (on 800-d SURF
/// the full form costs seconds per run).
pub fn otdd(
    xs: ArrayView2<'_, f64>,
    ys: ndarray::ArrayView1<'_, usize>,
    xt: ArrayView2<'_, f64>,
    yt: ndarray::ArrayView1<'_, usize>,
    ridge: f64,
    reg_rel: f64,
    diagonal: bool,
) -> Result<f64> {
    check("otdd", xs, xt, 1)?;
    if ys.len() != xs.nrows() || yt.len() != xt.nrows() {
        return Err(bad("otdd", "one label per row is needed on both sides"));
    }
    if !(ridge.is_finite() && ridge > 0.0 && reg_rel.is_finite() && reg_rel > 0.0) {
        return Err(bad("otdd", "ridge and reg_rel must be > 0"));
    }
    let d = xs.ncols();
    let pooled_var = {
        let (_, cs) = mean_cov(xs);
        let var_t = if xt.nrows() > 1 {
            mean_cov(xt).1.diag().sum()
        } else {
            0.0
        };
        (cs.diag().sum() + var_t) / (2 * d) as f64
    };
    let eps = ridge * pooled_var.max(1e-12);
    let class_gaussians = |x: ArrayView2<'_, f64>, y: ndarray::ArrayView1<'_, usize>| {
        let k = y.iter().max().map_or(0, |m| m + 1);
        (0..k)
            .map(|c| {
                let rows: Vec<usize> = (0..x.nrows()).filter(|&i| y[i] == c).collect();
                if rows.is_empty() {
                    return None;
                }
                let xc = x.select(Axis(0), &rows);
                let mu = xc.mean_axis(Axis(0)).expect("rows");
                let mut cov = if rows.len() < 2 {
                    Array2::zeros((d, d))
                } else if diagonal {
                    Array2::from_diag(&xc.var_axis(Axis(0), 1.0))
                } else {
                    mean_cov(xc.view()).1
                };
                for i in 0..d {
                    cov[[i, i]] += eps;
                }
                Some((mu, cov))
            })
            .collect::<Vec<_>>()
    };
    let (gs, gt) = (class_gaussians(xs, ys), class_gaussians(xt, yt));
    let mut label_cost = Array2::<f64>::zeros((gs.len(), gt.len()));
    for (a, s_c) in gs.iter().enumerate() {
        for (b, t_c) in gt.iter().enumerate() {
            if let (Some((ms, cs)), Some((mt, ct))) = (s_c, t_c) {
                label_cost[[a, b]] = if diagonal {
                    let dm = ms - mt;
                    let ds = cs.diag().mapv(f64::sqrt) - ct.diag().mapv(f64::sqrt);
                    dm.dot(&dm) + ds.dot(&ds)
                } else {
                    gaussian_w2(ms, cs, mt, ct)?
                };
            }
        }
    }
    let feat = crate::sq_dist_matrix(xs, xt);
    let reg = reg_rel * tlab_core::select::median_of(&feat).max(1e-12);
    let cost = Array2::from_shape_fn(feat.raw_dim(), |(i, j)| {
        feat[[i, j]] + label_cost[[ys[i], yt[j]]]
    });
    sinkhorn_on_cost(&cost, reg, 10_000)
}

/// Biased Gaussian-kernel MMD² through the Nyström approximation (Williams & Seeger, NIPS
/// 2001) on the given landmark rows `l`: `φ(x) = k(x, L) K_LL^{-1/2}` (eigenvalues below
/// 1e-12 × the largest dropped, as a pseudo-inverse), then `‖mean φ_s − mean φ_t‖²`.
/// O(n·m·d + m³). `gamma` as [`crate::mmd_rbf`] (None: the median heuristic).
pub fn mmd_nystrom_with(
    xs: ArrayView2<'_, f64>,
    xt: ArrayView2<'_, f64>,
    l: ArrayView2<'_, f64>,
    gamma: Option<f64>,
) -> Result<f64> {
    check("mmd-nystrom", xs, xt, 1)?;
    if l.nrows() == 0 || l.ncols() != xs.ncols() {
        return Err(bad(
            "mmd-nystrom",
            format!("landmarks must be ≥ 1 rows of width {}", xs.ncols()),
        ));
    }
    let g = resolve_gamma("mmd-nystrom", gamma, xs, xt)?;
    let kll = tlab_core::linalg::sq_distances_self(l).mapv(|d| (-g * d).exp());
    let (vals, vecs) = eigh("mmd-nystrom", &kll)?;
    let top = vals.iter().fold(0.0f64, |a, &b| a.max(b));
    let inv_sqrt = vals.mapv(|v| if v > 1e-12 * top { 1.0 / v.sqrt() } else { 0.0 });
    let proj = (&vecs * &inv_sqrt).dot(&vecs.t());
    let mean_phi = |x: ArrayView2<'_, f64>| -> Array1<f64> {
        let mut acc = Array1::<f64>::zeros(l.nrows());
        for start in (0..x.nrows()).step_by(4096) {
            let end = (start + 4096).min(x.nrows());
            let k = sq_dist_matrix(x.slice(s![start..end, ..]), l).mapv(|d| (-g * d).exp());
            acc += &k.sum_axis(Axis(0));
        }
        (acc / x.nrows() as f64).dot(&proj)
    };
    let d = mean_phi(xs) - mean_phi(xt);
    Ok(d.dot(&d))
}

/// [`mmd_nystrom_with`] on `landmarks` rows drawn without replacement (seeded) from the
/// pooled sample, γ by the median heuristic.
pub fn mmd_nystrom(
    xs: ArrayView2<'_, f64>,
    xt: ArrayView2<'_, f64>,
    landmarks: usize,
    seed: u64,
) -> Result<f64> {
    check("mmd-nystrom", xs, xt, 1)?;
    let pooled = concatenate(Axis(0), &[xs.view(), xt.view()]).expect("same width, checked");
    let m = landmarks.clamp(1, pooled.nrows());
    let mut idx: Vec<usize> = (0..pooled.nrows()).collect();
    idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    idx.truncate(m);
    idx.sort_unstable();
    let l = pooled.select(Axis(0), &idx);
    mmd_nystrom_with(xs, xt, l.view(), Some(median_gamma(xs, xt)))
}
