//! MEDA — Manifold Embedded Distribution Alignment (Wang, Feng, Chen, Yu, Huang, Yu, "Visual
//! Domain Adaptation with Manifold Embedded Distribution Alignment", ACM MM 2018; the
//! authors' MATLAB code, MEDA.m, GFK_Map.m, lapgraph.m, estimate_mu.m). It labels the target
//! itself:
//!
//! 1. Manifold feature learning: both domains through the geodesic flow kernel (GFK, `d`
//!    dimensions per subspace; [`crate::Gfk`], whose embedding has the same inner products as
//!    the authors' `X G^{1/2}`), then every sample scaled to unit length.
//! 2. A k-NN graph (`p` neighbours by cosine similarity, the sample itself included as
//!    lapgraph.m does by default, weights the cosine, symmetrised by max) and its normalised
//!    Laplacian `L = I − D^{-1/2} W D^{-1/2}`; the RBF kernel `K = exp(−‖x − y‖² / 2σ²)`, σ² =
//!    the mean sample norm (1 after the scaling), as the authors' code.
//! 3. Pseudo-labels from 1-NN, then `T` rounds of: the adaptive factor μ from A-distances
//!    (`μ = ā_c / (ā_c + a_m)`, marginal and mean per-class; see [`a_distance`]); the MMD
//!    matrix `M = (1 − μ) C e₀e₀ᵀ + μ Σ_c e_c e_cᵀ`, divided by its Frobenius norm; the
//!    coefficients `β = ((E + λM + ρL) K + ηI)⁻¹ E Y` (E selects the source rows, Y their
//!    one-hot labels); new pseudo-labels `argmax K β`.
//!
//! `L K` is formed from the sparse graph, so no n × n product beyond K itself. The matrix
//! `(E + ρL) K + ηI` does not change between rounds: it is factored once (dense LU, faer)
//! and each round's rank-(C + 1) term `λ M K` (M's rank-one terms) enters through the
//! Woodbury identity, so the T rounds cost one n × n factorisation, not T. The A-distances behind
//! μ are kept between rounds (the marginal one once, a class's until its pseudo-labelled rows
//! change; `AdaptiveFactor`), the same μ as recomputing them. Defaults are the authors'
//! Office-Caltech demo: d 20, p 10, λ 10, η 0.1, ρ 1, T 10.
//!
//! Deliberate difference: the authors' A-distance trains MATLAB's `fitclinear` SVM (hinge
//! loss, λ = 1/n, SGD — "results may vary", their comment) and measures its training error;
//! here the same training error comes from our LIBLINEAR-style linear SVM (squared hinge,
//! C = 1, which is fitclinear's λ = 1/n objective up to the loss), seeded. A target class
//! with no pseudo-labelled row is left out of the per-class mean.

use ndarray::{s, Array1, Array2, ArrayView1, ArrayView2, Axis};
use tlab_core::learners::{Classifier, KNearest, LinearSvm, TrainSet};
use tlab_core::{linalg, LabeledDomain, UnlabeledDomain};

use crate::error::{invalid, Result, TransductiveError};
use crate::{check_dims, Adapter, Gfk};

/// MEDA's parameters (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct Meda {
    pub dim: usize,
    pub neighbours: usize,
    pub lambda: f64,
    pub eta: f64,
    pub rho: f64,
    pub iterations: usize,
}

impl Default for Meda {
    fn default() -> Self {
        Self {
            dim: 20,
            neighbours: 10,
            lambda: 10.0,
            eta: 0.1,
            rho: 1.0,
            iterations: 10,
        }
    }
}

impl Meda {
    /// Checks every parameter.
    pub fn check(&self) -> Result<()> {
        if self.dim == 0 {
            return Err(invalid("dim", self.dim, "≥ 1"));
        }
        if self.neighbours == 0 {
            return Err(invalid("p", self.neighbours, "≥ 1 neighbours"));
        }
        for (name, v) in [("lambda", self.lambda), ("rho", self.rho)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(invalid(name, v, "a finite value ≥ 0"));
            }
        }
        if !(self.eta.is_finite() && self.eta > 0.0) {
            return Err(invalid("eta", self.eta, "a finite value > 0"));
        }
        if self.iterations == 0 {
            return Err(invalid("iterations", self.iterations, "≥ 1"));
        }
        Ok(())
    }

    /// One label per target row; `seed` drives the A-distance SVMs' pass order.
    pub fn label(
        &self,
        source: &LabeledDomain,
        target: &UnlabeledDomain,
        seed: u64,
    ) -> Result<Array1<usize>> {
        self.check()?;
        check_dims("MEDA", source, target, Some(self.dim))?;
        let (ns, nt) = (source.n_samples(), target.n_samples());
        let n = ns + nt;
        if self.neighbours >= n {
            return Err(invalid(
                "p",
                self.neighbours,
                format!("fewer neighbours than the {n} samples"),
            ));
        }
        let k = source.n_classes();
        let ys = source.y();
        // 1. GFK features (unscaled, for μ), then unit-length rows for everything else.
        let emb = Gfk::new(self.dim)?.adapt(source, target, seed)?;
        let (gs, gt) = (emb.source, emb.target);
        let mut x = ndarray::concatenate(Axis(0), &[gs.view(), gt.view()]).expect("same width");
        for mut r in x.rows_mut() {
            let norm = r.dot(&r).sqrt();
            if norm > 0.0 {
                r /= norm;
            }
        }
        // 2. Graph, Laplacian term and kernel.
        let gram = linalg::matmul(x.view(), false, x.view(), true)?;
        let w = knn_graph(gram.view(), self.neighbours);
        let two_sigma_sq = 2.0 * sigma_sq(x.view());
        let sq: Vec<f64> = (0..n).map(|i| gram[(i, i)]).collect();
        let mut kern = Array2::from_shape_fn((n, n), |(i, j)| {
            -(sq[i] + sq[j] - 2.0 * gram[(i, j)]).max(0.0) / two_sigma_sq
        });
        let all = kern.as_slice_mut().expect("from_shape_fn is row-major");
        tlab_core::vmath::exp_map_inplace(all, |v| v);
        let deg: Vec<f64> = w
            .iter()
            .map(|row| row.iter().map(|(_, v)| v).sum::<f64>())
            .collect();
        let dinv: Vec<f64> = deg
            .iter()
            .map(|&d| if d > 0.0 { 1.0 / d.sqrt() } else { 0.0 })
            .collect();
        // base = (E + ρL) K + ηI, with L K = K − D^{-1/2} W D^{-1/2} K.
        let mut base = Array2::<f64>::zeros((n, n));
        for i in 0..n {
            let mut row = base.row_mut(i);
            if i < ns {
                row.scaled_add(1.0, &kern.row(i));
            }
            if self.rho > 0.0 {
                row.scaled_add(self.rho, &kern.row(i));
                for &(j, wij) in &w[i] {
                    row.scaled_add(-self.rho * dinv[i] * wij * dinv[j], &kern.row(j));
                }
            }
            row[i] += self.eta;
        }
        let mut yy = Array2::<f64>::zeros((n, k));
        for (i, &c) in ys.iter().enumerate() {
            yy[(i, c)] = 1.0;
        }
        // 3. Pseudo-labels from 1-NN in the scaled GFK space, then the rounds.
        let (xs_unit, xt_unit) = (x.slice(s![..ns, ..]), x.slice(s![ns.., ..]));
        let mut pseudo = KNearest::new(1)?
            .fit(TrainSet::new(xs_unit, ys.view(), k))?
            .predict(xt_unit)?;
        let n_present = {
            let mut seen = vec![false; k];
            ys.iter().for_each(|&c| seen[c] = true);
            seen.iter().filter(|&&b| b).count()
        };
        // base is the same in every round: factor it once. A round's matrix is base plus
        // λ/‖M‖_F Σ_r w_r e_r (K e_r)ᵀ, rank C + 1 at most, solved by the Woodbury identity:
        // β = Z_Y − Z_E (I + VᵀZ_E)⁻¹ VᵀZ_Y with Z = base⁻¹[Y | E], E's columns
        // λ w_r e_r / ‖M‖_F and V's columns K e_r.
        let lu = linalg::Lu::new(base.view())?;
        let z_y = lu.solve(yy.view())?;
        let mut factor = AdaptiveFactor::new(gs.view(), ys.view(), gt.view(), k, seed);
        for _ in 0..self.iterations {
            let mu = factor.mu(pseudo.view())?;
            let terms = mmd_terms(ys.view(), pseudo.view(), k, mu, n_present);
            let fro = frobenius(&terms);
            let beta = if self.lambda > 0.0 && fro > 0.0 {
                let r = terms.len();
                let mut e = Array2::<f64>::zeros((n, r));
                let mut v = Array2::<f64>::zeros((n, r));
                for (j, (wr, er)) in terms.iter().enumerate() {
                    e.column_mut(j).assign(&(er * (self.lambda * wr / fro)));
                    v.column_mut(j).assign(&kern.dot(er));
                }
                let z_e = lu.solve(e.view())?;
                let small = Array2::<f64>::eye(r) + v.t().dot(&z_e);
                let coef = linalg::solve(small.view(), v.t().dot(&z_y).view())?;
                &z_y - &z_e.dot(&coef)
            } else {
                z_y.clone()
            };
            let f = linalg::matmul(kern.slice(s![ns.., ..]), false, beta.view(), false)?;
            let next = tlab_core::learners::argmax_rows(f.view());
            // Unchanged pseudo-labels give the same μ (same seed), the same terms and the
            // same β in every later round: stopping here returns what T rounds would.
            if next == pseudo {
                break;
            }
            pseudo = next;
        }
        Ok(pseudo)
    }
}

/// σ² = the mean row norm (the authors' σ = `sqrt(sum(sum(X.^2).^0.5)/(n + m))`; 1 after
/// the unit scaling).
fn sigma_sq(x: ArrayView2<'_, f64>) -> f64 {
    let mean_norm = x.rows().into_iter().map(|r| r.dot(&r).sqrt()).sum::<f64>() / x.nrows() as f64;
    mean_norm.max(f64::MIN_POSITIVE)
}

/// The symmetric k-NN graph of lapgraph.m (Cosine metric and weights, KNN mode, self
/// connected): each row's `p + 1` most similar rows (itself included; ties to the lower
/// index), weight = the similarity, then `W = max(W, Wᵀ)`. Adjacency lists per row.
fn knn_graph(gram: ArrayView2<'_, f64>, p: usize) -> Vec<Vec<(usize, f64)>> {
    let n = gram.nrows();
    let mut dense: Vec<std::collections::BTreeMap<usize, f64>> = vec![Default::default(); n];
    for i in 0..n {
        let row = gram.row(i);
        let mut idx: Vec<usize> = (0..n).collect();
        let cmp = |a: &usize, b: &usize| row[*b].total_cmp(&row[*a]).then(a.cmp(b));
        idx.select_nth_unstable_by(p, cmp);
        idx.truncate(p + 1);
        for j in idx {
            let v = row[j];
            for (a, b) in [(i, j), (j, i)] {
                let e = dense[a].entry(b).or_insert(v);
                *e = e.max(v);
            }
        }
    }
    dense.into_iter().map(|m| m.into_iter().collect()).collect()
}

/// MMD terms `(weight, e)`: `(1 − μ)·C` on the marginal `e₀`, μ on each class's `e_c`.
fn mmd_terms(
    ys: ArrayView1<'_, usize>,
    yt: ArrayView1<'_, usize>,
    k: usize,
    mu: f64,
    n_present: usize,
) -> Vec<(f64, Array1<f64>)> {
    let (ns, nt) = (ys.len(), yt.len());
    let mut terms = vec![(
        (1.0 - mu) * n_present as f64,
        Array1::from_shape_fn(ns + nt, |i| {
            if i < ns {
                1.0 / ns as f64
            } else {
                -1.0 / nt as f64
            }
        }),
    )];
    for c in 0..k {
        let cs = ys.iter().filter(|&&y| y == c).count();
        if cs == 0 {
            continue;
        }
        let ct = yt.iter().filter(|&&y| y == c).count();
        terms.push((
            mu,
            Array1::from_shape_fn(ns + nt, |i| {
                if i < ns {
                    if ys[i] == c {
                        1.0 / cs as f64
                    } else {
                        0.0
                    }
                } else if yt[i - ns] == c {
                    -1.0 / ct as f64
                } else {
                    0.0
                }
            }),
        ));
    }
    terms
}

/// `‖Σ w_r e_r e_rᵀ‖_F` from the terms.
fn frobenius(terms: &[(f64, Array1<f64>)]) -> f64 {
    let mut sum = 0.0;
    for (a, ea) in terms {
        for (b, eb) in terms {
            sum += a * b * ea.dot(eb).powi(2);
        }
    }
    sum.max(0.0).sqrt()
}

/// The A-distance of estimate_mu.m: `2(1 − 2ε)`, ε the training error of a linear SVM
/// separating the two samples (see the module documentation).
pub fn a_distance(xs: ArrayView2<'_, f64>, xt: ArrayView2<'_, f64>, seed: u64) -> Result<f64> {
    if xs.nrows() == 0 || xt.nrows() == 0 {
        return Err(TransductiveError::Data {
            method: "MEDA",
            detail: "an A-distance needs rows on both sides".into(),
        });
    }
    let x = ndarray::concatenate(Axis(0), &[xs.view(), xt.view()]).expect("same width");
    let y: Array1<usize> = (0..x.nrows())
        .map(|i| usize::from(i >= xs.nrows()))
        .collect();
    let fit = LinearSvm::new(1.0, 1000, seed)?.fit(TrainSet::new(x.view(), y.view(), 2))?;
    let pred = fit.predict(x.view())?;
    let err = pred.iter().zip(&y).filter(|(p, t)| p != t).count() as f64 / x.nrows() as f64;
    Ok(2.0 * (1.0 - 2.0 * err))
}

/// The adaptive factor of estimate_mu.m, `μ = ā_c / (ā_c + a_m)` clamped to [0, 1] (0 below
/// 1e-3), with its A-distances kept between rounds. The authors' code recomputes all of
/// them every round; here the marginal one, which does not depend on the pseudo-labels, is
/// computed once, and a class's is recomputed only when the set of target rows carrying
/// its pseudo-label changed. Each A-distance is a deterministic function of its rows and
/// the seed, so μ is the same, bit for bit, as recomputing everything.
struct AdaptiveFactor<'a> {
    xs: ArrayView2<'a, f64>,
    xt: ArrayView2<'a, f64>,
    /// Each class's source rows.
    source_rows: Vec<Vec<usize>>,
    seed: u64,
    marginal: Option<f64>,
    /// Per class: the target rows its last A-distance was computed on, and that distance.
    per_class: Vec<Option<(Vec<usize>, f64)>>,
}

impl<'a> AdaptiveFactor<'a> {
    fn new(
        xs: ArrayView2<'a, f64>,
        ys: ArrayView1<'a, usize>,
        xt: ArrayView2<'a, f64>,
        k: usize,
        seed: u64,
    ) -> Self {
        let source_rows = (0..k)
            .map(|c| (0..ys.len()).filter(|&i| ys[i] == c).collect())
            .collect();
        Self {
            xs,
            xt,
            source_rows,
            seed,
            marginal: None,
            per_class: vec![None; k],
        }
    }

    /// μ for the target pseudo-labels `yt`.
    fn mu(&mut self, yt: ArrayView1<'_, usize>) -> Result<f64> {
        let mut per_class = Vec::new();
        for (c, si) in self.source_rows.iter().enumerate() {
            let ti: Vec<usize> = (0..yt.len()).filter(|&i| yt[i] == c).collect();
            if si.is_empty() || ti.is_empty() {
                continue;
            }
            let a = match &self.per_class[c] {
                Some((rows, a)) if *rows == ti => *a,
                _ => {
                    let a = a_distance(
                        self.xs.select(Axis(0), si).view(),
                        self.xt.select(Axis(0), &ti).view(),
                        self.seed,
                    )?;
                    self.per_class[c] = Some((ti, a));
                    a
                }
            };
            per_class.push(a);
        }
        let marginal = match self.marginal {
            Some(a) => a,
            None => *self
                .marginal
                .insert(a_distance(self.xs, self.xt, self.seed)?),
        };
        let ac = if per_class.is_empty() {
            0.0
        } else {
            per_class.iter().sum::<f64>() / per_class.len() as f64
        };
        let mu = ac / (ac + marginal);
        Ok(if !mu.is_finite() || mu <= 1e-3 {
            0.0
        } else {
            mu.min(1.0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn the_graph_is_symmetric_self_connected_and_keeps_the_larger_weight() {
        // Four unit vectors on a circle: angles 0, 0.1, 1.5, 1.6 rad; p = 1.
        let ang = [0.0f64, 0.1, 1.5, 1.6];
        let x = Array2::from_shape_fn(
            (4, 2),
            |(i, j)| {
                if j == 0 {
                    ang[i].cos()
                } else {
                    ang[i].sin()
                }
            },
        );
        let g = x.dot(&x.t());
        let w = knn_graph(g.view(), 1);
        let as_dense = |i: usize, j: usize| w[i].iter().find(|(a, _)| *a == j).map(|(_, v)| *v);
        for i in 0..4 {
            assert!((as_dense(i, i).unwrap() - 1.0).abs() < 1e-15);
        }
        assert!((as_dense(0, 1).unwrap() - 0.1f64.cos()).abs() < 1e-15);
        assert_eq!(as_dense(0, 1), as_dense(1, 0));
        assert_eq!(as_dense(0, 2), None);
    }

    #[test]
    fn mmd_terms_and_their_norm_match_the_dense_matrix() {
        let ys = array![0usize, 0, 1];
        let yt = array![1usize, 1];
        let terms = mmd_terms(ys.view(), yt.view(), 2, 0.3, 2);
        let mut dense = Array2::<f64>::zeros((5, 5));
        for (w, e) in &terms {
            for i in 0..5 {
                for j in 0..5 {
                    dense[(i, j)] += w * e[i] * e[j];
                }
            }
        }
        // Class 0 has no target row: its term is the source part only (as the authors').
        assert_eq!(terms[1].1.to_vec(), vec![0.5, 0.5, 0.0, 0.0, 0.0]);
        let fro = dense.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!((frobenius(&terms) - fro).abs() < 1e-14);
    }

    #[test]
    fn a_distance_is_two_for_separable_samples_and_small_for_one_sample_split() {
        let xs = Array2::from_shape_fn((20, 2), |(i, j)| (i * 3 + j) as f64 * 0.01);
        let xt = xs.mapv(|v| v + 5.0);
        assert_eq!(a_distance(xs.view(), xt.view(), 0).unwrap(), 2.0);
        // The same rows on both sides: no separator does better than chance.
        assert!(a_distance(xs.view(), xs.view(), 0).unwrap() <= 0.0 + 1e-12);
    }

    #[test]
    fn kept_a_distances_give_the_recomputed_mu() {
        // Three overlapping classes in 3-D; target pseudo-labels that change, return to an
        // earlier labelling, and move one row between classes. Each round's μ from the one
        // kept factor must equal, bit for bit, a fresh computation from nothing.
        let mut next = crate::test_uniform(0x51_7cc1_b727_220a);
        let xs = Array2::from_shape_fn((30, 3), |(i, j)| (i % 3 + j) as f64 * 0.3 + next());
        let ys = Array1::from_shape_fn(30, |i| i % 3);
        let xt = Array2::from_shape_fn((24, 3), |(i, j)| (i % 3 + j) as f64 * 0.3 + next() + 0.2);
        let first = Array1::from_shape_fn(24, |i| i % 3);
        let mut moved = first.clone();
        moved[4] = 2;
        let shifted = Array1::from_shape_fn(24, |i| (i + 1) % 3);
        let one_class = Array1::from_elem(24, 1usize);
        let mut kept = AdaptiveFactor::new(xs.view(), ys.view(), xt.view(), 3, 7);
        let mut seen = Vec::new();
        for yt in [&first, &first, &moved, &shifted, &first, &one_class, &moved] {
            let fresh = AdaptiveFactor::new(xs.view(), ys.view(), xt.view(), 3, 7)
                .mu(yt.view())
                .unwrap();
            let mu = kept.mu(yt.view()).unwrap();
            assert_eq!(mu.to_bits(), fresh.to_bits(), "labels {yt}");
            seen.push(mu);
        }
        // The labellings give different μ, so a stale distance would have shown.
        seen.sort_by(f64::total_cmp);
        seen.dedup();
        assert!(seen.len() >= 3, "{seen:?}");
    }

    #[test]
    fn parameters_are_checked() {
        for bad in [
            Meda {
                dim: 0,
                ..Meda::default()
            },
            Meda {
                eta: 0.0,
                ..Meda::default()
            },
            Meda {
                lambda: f64::NAN,
                ..Meda::default()
            },
            Meda {
                iterations: 0,
                ..Meda::default()
            },
            Meda {
                neighbours: 0,
                ..Meda::default()
            },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
    }
}
