//! The MMD-embedding family: TCA (Pan, Tsang, Kwok, Yang, "Domain Adaptation via Transfer
//! Component Analysis", IEEE TNN 2011), JDA (Long, Wang, Ding, Sun, Yu, "Transfer Feature
//! Learning with Joint Distribution Adaptation", ICCV 2013) and BDA / W-BDA (Wang, Chen, Hu,
//! Peng, Yu, "Balanced Distribution Adaptation for Transfer Learning", ICDM 2017), primal
//! with a linear kernel as in the authors' code.
//!
//! All three solve `(Xᵀ M X + λ I) a = φ (Xᵀ H X) a` for the `dim` smallest φ, X the stacked
//! samples (rows, each scaled to unit length). Deliberate differences from a direct port:
//! no n × n matrix is formed — M is a weighted sum of rank-one terms `v vᵀ`, so
//! `Xᵀ M X = Σ w (Xᵀv)(Xᵀv)ᵀ` and `‖M‖_F² = Σ w_k w_l (v_k·v_l)²`, and `Xᵀ H X` is the centred
//! scatter — and the pencil is solved as the symmetric-definite `B a = ν A a` with
//! `A = Xᵀ M X + λ I` (positive definite, so Cholesky always succeeds) and `B = Xᵀ H X`,
//! taking the `dim` largest ν = 1/φ; this stays stable where `Xᵀ H X` is singular
//! (n_s + n_t < features). A is λI plus the rank-r matrix P Pᵀ (r = the number of MMD terms,
//! C + 1 at most), so `A^{-1/2}` is I plus a rank-r term and the pencil becomes the standard
//! problem for B plus a rank-2r correction ([`linalg::sym_gen_eigh_low_rank`]): no m × m
//! Cholesky factor, triangular solves or back-substitution; one tridiagonalisation per
//! solve, then only the `dim` wanted eigenpairs (bisection and inverse iteration on the
//! tridiagonal matrix). Each eigenvector is scaled to unit length, as scipy's `eig` and
//! MATLAB's `eigs` return them: the published accuracies depend on that scaling.

use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tlab_core::{linalg, LabeledDomain, LearnerSpec, TrainSet, UnlabeledDomain};

use crate::error::{invalid, Result, TransductiveError};
use crate::reweight::{median_gamma, sq_distances};
use crate::{check_dims, l2_rows, mean_rows, Adapter, Embedded};

/// The shared solver: dimension and regularisation.
#[derive(Debug, Clone, Copy)]
pub struct MmdEmbedding {
    dim: usize,
    lambda: f64,
}

impl MmdEmbedding {
    pub fn new(dim: usize, lambda: f64) -> Result<Self> {
        let dim = crate::positive_dim(dim)?;
        if !(lambda.is_finite() && lambda > 0.0) {
            return Err(invalid("lambda", lambda, "a finite value > 0"));
        }
        Ok(Self { dim, lambda })
    }

    /// The projection (features × dim) for `x` (n × m, rows unit length) and M given as
    /// weighted rank-one terms over the n samples.
    pub fn projection(
        &self,
        x: ArrayView2<'_, f64>,
        terms: &[(f64, Array1<f64>)],
    ) -> Result<Array2<f64>> {
        self.projection_with_scatter(x, terms, &centred_scatter(x))
    }

    /// [`MmdEmbedding::projection`] given `Xᵀ H X` ([`centred_scatter`] of `x`), which does
    /// not change across JDA's iterations.
    fn projection_with_scatter(
        &self,
        x: ArrayView2<'_, f64>,
        terms: &[(f64, Array1<f64>)],
        b: &Array2<f64>,
    ) -> Result<Array2<f64>> {
        let m = x.ncols();
        let frob = frobenius(terms);
        let scale = if frob > 0.0 { 1.0 / frob } else { 0.0 };
        // Xᵀv per term, with the bits of ndarray's `x.t().dot(v)`.
        let xtv = |v: &Array1<f64>| linalg::xt_v(x, v.view());
        if terms.iter().all(|(w, _)| *w >= 0.0) {
            // A = λI + P Pᵀ with P's columns √(w·scale)·Xᵀv: the low-rank solver, exact,
            // with no m × m factorisation (JDA, BDA, W-BDA and TCA all have w ≥ 0).
            let mut p = Array2::<f64>::zeros((m, terms.len()));
            for (mut col, (w, v)) in p.columns_mut().into_iter().zip(terms) {
                col.assign(&(xtv(v) * (w * scale).sqrt()));
            }
            let (_, proj) =
                linalg::sym_gen_eigh_low_rank(b.view(), self.lambda, p.view(), self.dim)?;
            return Ok(proj);
        }
        let mut a = Array2::<f64>::eye(m) * self.lambda;
        for (w, v) in terms {
            let p = xtv(v);
            let ws = w * scale;
            for (mut a_row, &pi) in a.outer_iter_mut().zip(&p) {
                a_row.zip_mut_with(&p, |aij, &pj| *aij += ws * (pi * pj));
            }
        }
        let (_, vecs) = linalg::sym_gen_eigh(b.view(), a.view())?;
        // Largest ν first = smallest φ first; unit Euclidean length per axis.
        let mut proj = Array2::zeros((m, self.dim));
        for j in 0..self.dim {
            let col = vecs.column(m - 1 - j);
            let norm = col.dot(&col).sqrt();
            if !(norm.is_finite() && norm > 0.0) {
                return Err(TransductiveError::Data {
                    method: "MMD embedding",
                    detail: "the generalised eigenproblem returned a degenerate axis".into(),
                });
            }
            proj.column_mut(j).assign(&(&col / norm));
        }
        Ok(proj)
    }
}

/// `Xᵀ H X`, the centred scatter of the rows of `x`: `XᵀX − n·x̄x̄ᵀ`.
fn centred_scatter(x: ArrayView2<'_, f64>) -> Array2<f64> {
    let n = x.nrows();
    let mean = mean_rows(x);
    let mut b = linalg::matmul(x, true, x, false).expect("matching shapes");
    let mv = mean.view().insert_axis(Axis(1));
    b.scaled_add(-(n as f64), &mv.dot(&mv.t()));
    b
}

/// `‖Σ_k w_k v_k v_kᵀ‖_F` without forming the matrix: `√(Σ_{k,l} w_k w_l (v_k·v_l)²)`.
fn frobenius(terms: &[(f64, Array1<f64>)]) -> f64 {
    let mut sum = 0.0;
    for (wk, vk) in terms {
        for (wl, vl) in terms {
            sum += wk * wl * vk.dot(vl).powi(2);
        }
    }
    sum.max(0.0).sqrt()
}

/// Stacked, unit-length samples and the source/target split.
fn stacked(source: &LabeledDomain, target: &UnlabeledDomain) -> Array2<f64> {
    let x = ndarray::concatenate(Axis(0), &[source.x(), target.x()]).expect("same width, checked");
    l2_rows(x)
}

fn embed(x: &Array2<f64>, proj: &Array2<f64>, ns: usize) -> Embedded {
    let z = l2_rows(linalg::matmul(x.view(), false, proj.view(), false).expect("matching shapes"));
    Embedded {
        source: z.slice(ndarray::s![..ns, ..]).to_owned(),
        target: z.slice(ndarray::s![ns.., ..]).to_owned(),
    }
}

/// The marginal term `e₀`: 1/n_s on source rows, −1/n_t on target rows.
fn marginal(ns: usize, nt: usize) -> Array1<f64> {
    Array1::from_shape_fn(ns + nt, |i| {
        if i < ns {
            1.0 / ns as f64
        } else {
            -1.0 / nt as f64
        }
    })
}

/// The class terms `e_c`: `alpha_c`/n_s^c on source rows of class c, −1/n_t^c on target
/// rows pseudo-labelled c (classes absent from the pseudo-labels contribute source only,
/// as the authors' code does).
fn conditional(
    ys: &Array1<usize>,
    yt: &Array1<usize>,
    k: usize,
    weighted: bool,
) -> Vec<Array1<f64>> {
    let (ns, nt) = (ys.len(), yt.len());
    (0..k)
        .filter_map(|c| {
            let cs = ys.iter().filter(|&&y| y == c).count();
            if cs == 0 {
                return None;
            }
            let ct = yt.iter().filter(|&&y| y == c).count();
            let alpha = if weighted {
                (ct as f64 / nt as f64) / (cs as f64 / ns as f64)
            } else {
                1.0
            };
            Some(Array1::from_shape_fn(ns + nt, |i| {
                if i < ns {
                    if ys[i] == c {
                        alpha / cs as f64
                    } else {
                        0.0
                    }
                } else if yt[i - ns] == c {
                    -1.0 / ct as f64
                } else {
                    0.0
                }
            }))
        })
        .collect()
}

/// TCA's kernel. `Linear` is the primal problem (features × features); the others solve
/// the kernel problem (samples × samples), or its Nyström approximation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Kernel {
    #[default]
    Linear,
    /// `exp(−γ‖x − y‖²)`; γ defaults to 1 / the median squared distance.
    Rbf { gamma: Option<f64> },
    /// `(γ xᵀy + coef0)^degree`.
    Poly {
        #[serde(default = "one_f")]
        gamma: f64,
        #[serde(default = "one_f")]
        coef0: f64,
        #[serde(default = "two")]
        degree: i32,
    },
}

fn one_f() -> f64 {
    1.0
}
fn two() -> i32 {
    2
}

impl Kernel {
    fn check(&self) -> Result<()> {
        match *self {
            Kernel::Rbf { gamma: Some(g) } if !(g.is_finite() && g > 0.0) => {
                Err(invalid("gamma", g, "a finite value > 0"))
            }
            Kernel::Poly {
                gamma,
                coef0,
                degree,
            } if !(gamma.is_finite() && gamma > 0.0 && coef0.is_finite() && degree >= 1) => {
                Err(invalid(
                    "poly kernel",
                    format!("gamma {gamma}, coef0 {coef0}, degree {degree}"),
                    "gamma > 0, finite coef0, degree ≥ 1",
                ))
            }
            _ => Ok(()),
        }
    }

    /// The kernel matrix between the rows of `a` and `b`; `rbf_gamma` is the resolved RBF width.
    fn matrix(
        &self,
        a: ArrayView2<'_, f64>,
        b: ArrayView2<'_, f64>,
        rbf_gamma: f64,
    ) -> Array2<f64> {
        match *self {
            Kernel::Linear => a.dot(&b.t()),
            Kernel::Rbf { .. } => crate::reweight::rbf(sq_distances(a, b), rbf_gamma),
            Kernel::Poly {
                gamma,
                coef0,
                degree,
            } => a.dot(&b.t()).mapv(|v| (gamma * v + coef0).powi(degree)),
        }
    }
}

/// Transfer Component Analysis: the marginal MMD term only, one pass. Primal for the linear
/// kernel; otherwise the kernel problem — exactly (an n × n pencil, the columns of K playing
/// the features) or, with `nystrom = m`, primal TCA on the Nyström features `C W^{-1/2}` of
/// `m` landmarks drawn by seed.
#[derive(Debug, Clone)]
pub struct Tca {
    solver: MmdEmbedding,
    kernel: Kernel,
    nystrom: Option<usize>,
}

impl Tca {
    pub fn new(dim: usize, lambda: f64) -> Result<Self> {
        Self::with_kernel(dim, lambda, Kernel::Linear, None)
    }

    pub fn with_kernel(
        dim: usize,
        lambda: f64,
        kernel: Kernel,
        nystrom: Option<usize>,
    ) -> Result<Self> {
        kernel.check()?;
        if let Some(m) = nystrom {
            if m < dim {
                return Err(invalid(
                    "nystrom",
                    m,
                    format!("at least dim = {dim} landmarks"),
                ));
            }
        }
        Ok(Self {
            solver: MmdEmbedding::new(dim, lambda)?,
            kernel,
            nystrom,
        })
    }
}

impl Adapter for Tca {
    fn name(&self) -> &'static str {
        "TCA"
    }
    fn adapt(
        &self,
        source: &LabeledDomain,
        target: &UnlabeledDomain,
        seed: u64,
    ) -> Result<Embedded> {
        let (ns, nt) = (source.n_samples(), target.n_samples());
        let terms = [(1.0, marginal(ns, nt))];
        if self.kernel == Kernel::Linear {
            check_dims("TCA", source, target, Some(self.solver.dim))?;
            let x = stacked(source, target);
            let proj = self.solver.projection(x.view(), &terms)?;
            return Ok(embed(&x, &proj, ns));
        }
        check_dims("TCA", source, target, None)?;
        let n = ns + nt;
        let width = self.nystrom.map_or(n, |m| m.min(n));
        if self.solver.dim >= width {
            return Err(TransductiveError::Data {
                method: "TCA",
                detail: format!(
                    "dim = {} needs more than {width} kernel features (samples or landmarks)",
                    self.solver.dim
                ),
            });
        }
        let x = stacked(source, target);
        let gamma = match self.kernel {
            Kernel::Rbf { gamma: Some(g) } => g,
            _ => median_gamma(source.x(), target.x(), seed),
        };
        let features = match self.nystrom {
            None => self.kernel.matrix(x.view(), x.view(), gamma),
            Some(_) => {
                let mut rows: Vec<usize> = (0..n).collect();
                rows.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
                rows.truncate(width);
                let landmarks = x.select(Axis(0), &rows);
                let c = self.kernel.matrix(x.view(), landmarks.view(), gamma);
                let w = self
                    .kernel
                    .matrix(landmarks.view(), landmarks.view(), gamma);
                c.dot(&inverse_sqrt_psd(&w)?)
            }
        };
        let proj = self.solver.projection(features.view(), &terms)?;
        Ok(embed(&features, &proj, ns))
    }
}

/// `W^{-1/2}` of a symmetric PSD matrix, eigenvalues below 1e-10 × the largest dropped
/// (the Nyström pseudo-inverse).
fn inverse_sqrt_psd(w: &Array2<f64>) -> Result<Array2<f64>> {
    let (vals, vecs) = linalg::sym_eigh(w.view())?;
    let top = vals.iter().cloned().fold(0.0, f64::max);
    let scale = vals.mapv(|v| if v > 1e-10 * top { 1.0 / v.sqrt() } else { 0.0 });
    Ok((&vecs * &scale).dot(&vecs.t()))
}

/// The iterative scheme shared by JDA and BDA: solve, pseudo-label the target, re-solve.
#[derive(Debug, Clone)]
struct Iterative {
    solver: MmdEmbedding,
    iterations: usize,
    pseudo_labeler: LearnerSpec,
    /// Weight of the conditional terms (JDA: marginal C and each class 1; BDA: 1 − μ and μ).
    mu: Option<f64>,
    weighted: bool,
}

impl Iterative {
    fn new(
        dim: usize,
        lambda: f64,
        iterations: usize,
        pseudo_labeler: LearnerSpec,
        mu: Option<f64>,
        weighted: bool,
    ) -> Result<Self> {
        if iterations == 0 {
            return Err(invalid("iterations", iterations, "≥ 1"));
        }
        Ok(Self {
            solver: MmdEmbedding::new(dim, lambda)?,
            iterations,
            pseudo_labeler,
            mu,
            weighted,
        })
    }

    fn run(
        &self,
        method: &'static str,
        source: &LabeledDomain,
        target: &UnlabeledDomain,
        seed: u64,
    ) -> Result<Embedded> {
        check_dims(method, source, target, Some(self.solver.dim))?;
        let (ns, nt) = (source.n_samples(), target.n_samples());
        let k = source.n_classes();
        let x = stacked(source, target);
        let e0 = marginal(ns, nt);
        let labeler = self.pseudo_labeler.build(seed)?;
        let mut pseudo: Option<Array1<usize>> = None;
        let mut out = None;
        let scatter = centred_scatter(x.view());
        for it in 0..self.iterations {
            let mut terms = Vec::new();
            match (&pseudo, self.mu) {
                (None, _) => terms.push((1.0, e0.clone())),
                (Some(yt), None) => {
                    terms.push((k as f64, e0.clone()));
                    terms.extend(
                        conditional(source.y(), yt, k, false)
                            .into_iter()
                            .map(|v| (1.0, v)),
                    );
                }
                (Some(yt), Some(mu)) => {
                    // W-BDA uses μ = 1 once pseudo-labels exist, as the authors' code does.
                    let mu = if self.weighted { 1.0 } else { mu };
                    if mu < 1.0 {
                        terms.push(((1.0 - mu) * k as f64, e0.clone()));
                    }
                    terms.extend(
                        conditional(source.y(), yt, k, self.weighted)
                            .into_iter()
                            .map(|v| (mu, v)),
                    );
                }
            }
            let proj = self
                .solver
                .projection_with_scatter(x.view(), &terms, &scatter)?;
            let emb = embed(&x, &proj, ns);
            if it + 1 < self.iterations {
                let fit = labeler.fit(TrainSet::new(emb.source.view(), source.y().view(), k))?;
                let next = fit.predict(emb.target.view())?;
                // Pseudo-labels that did not change give the same terms, hence the same
                // projection and the same labels in every later pass: this embedding is
                // the one the remaining passes would return, bit for bit.
                if pseudo.as_ref() == Some(&next) {
                    return Ok(emb);
                }
                pseudo = Some(next);
            }
            out = Some(emb);
        }
        Ok(out.expect("iterations ≥ 1"))
    }
}

/// Joint Distribution Adaptation: marginal and class-conditional MMD, pseudo-labels refined
/// over `iterations` passes.
#[derive(Debug, Clone)]
pub struct Jda(Iterative);

impl Jda {
    pub fn new(
        dim: usize,
        lambda: f64,
        iterations: usize,
        pseudo_labeler: LearnerSpec,
    ) -> Result<Self> {
        Ok(Self(Iterative::new(
            dim,
            lambda,
            iterations,
            pseudo_labeler,
            None,
            false,
        )?))
    }
}

impl Adapter for Jda {
    fn name(&self) -> &'static str {
        "JDA"
    }
    fn adapt(
        &self,
        source: &LabeledDomain,
        target: &UnlabeledDomain,
        seed: u64,
    ) -> Result<Embedded> {
        self.0.run("JDA", source, target, seed)
    }
}

/// Balanced Distribution Adaptation: `(1 − μ) M₀ + μ Σ_c M_c`; W-BDA weights each source
/// class by the ratio of target to source class priors.
#[derive(Debug, Clone)]
pub struct Bda(Iterative);

impl Bda {
    pub fn new(
        dim: usize,
        lambda: f64,
        mu: f64,
        iterations: usize,
        weighted: bool,
        pseudo_labeler: LearnerSpec,
    ) -> Result<Self> {
        if !(0.0..=1.0).contains(&mu) {
            return Err(invalid("mu", mu, "in [0, 1]"));
        }
        Ok(Self(Iterative::new(
            dim,
            lambda,
            iterations,
            pseudo_labeler,
            Some(mu),
            weighted,
        )?))
    }
}

impl Adapter for Bda {
    fn name(&self) -> &'static str {
        if self.0.weighted {
            "W-BDA"
        } else {
            "BDA"
        }
    }
    fn adapt(
        &self,
        source: &LabeledDomain,
        target: &UnlabeledDomain,
        seed: u64,
    ) -> Result<Embedded> {
        self.0.run(self.name(), source, target, seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn frobenius_norm_of_rank_one_sum_matches_dense() {
        let v1 = array![0.5, 0.5, -1.0];
        let v2 = array![1.0, 0.0, -1.0];
        let outer = |v: &Array1<f64>| -> Array2<f64> {
            Array2::from_shape_fn((3, 3), |(i, j)| v[i] * v[j])
        };
        let dense = outer(&v1) * 3.0 + outer(&v2);
        let want = dense.iter().map(|x| x * x).sum::<f64>().sqrt();
        assert!((frobenius(&[(3.0, v1), (1.0, v2)]) - want).abs() < 1e-12);
    }
}
