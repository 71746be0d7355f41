//! Entropic optimal transport for domain adaptation (Courty, Flamary, Tuia, Rakotomamonjy,
//! "Optimal Transport for Domain Adaptation", IEEE TPAMI 2017): a coupling γ between the
//! source and target samples (uniform masses) from Sinkhorn's algorithm (Cuturi, NIPS 2013),
//! computed in the log domain so that small ε neither underflows nor returns NaN; the source
//! is then mapped to the barycentre of its coupled target samples, `x̂_i = Σ_j γ_ij t_j / Σ_j γ_ij`.
//!
//! Deliberate difference from POT's and skada's defaults: the squared-Euclidean cost is
//! divided by its median before ε applies, so one ε (default 0.1) suits features of any
//! scale — on Office-Caltech SURF the raw costs are ~1,500 and the peers' default ε returns
//! NaN there.
//!
//! Stopping: a solve stops when every column marginal is within 1e-9 · (1/n_t) of uniform,
//! or after `max_iter` sweeps (POT's `stopThr` and `numItermax`, where POT also stops and
//! warns). A solve stopped by the cap returns that unconverged coupling. On Office-Caltech
//! SURF at ε = 0.1 every solve converges: 278 sweeps for the 12 plain solves, 1,521 for the
//! 128 class-regularised ones. On Amazon reviews (2000 × 400, z-scored) every solve stops at
//! 1000, with marginals off by 2e-4 to 1.3e-3 relative. Those rows are what 1000 sweeps give
//! (results/amazon-reviews-da/NOTES.md).

use ndarray::{Array1, Array2, Axis};
use tlab_core::linalg::unrolled_sum;
use tlab_core::{LabeledDomain, UnlabeledDomain};

use crate::error::{invalid, Result, TransductiveError};
use crate::reweight::{sq_distances, sq_distances_fast};
use crate::{check_dims, Adapter, Embedded};

#[derive(Debug, Clone)]
pub struct SinkhornTransport {
    epsilon: f64,
    max_iter: usize,
}

impl SinkhornTransport {
    /// `epsilon` > 0 (relative to the median cost), `max_iter` ≥ 1 Sinkhorn sweeps.
    pub fn new(epsilon: f64, max_iter: usize) -> Result<Self> {
        if !(epsilon.is_finite() && epsilon > 0.0) {
            return Err(invalid(
                "epsilon",
                epsilon,
                "a finite value > 0 (relative to the median cost)",
            ));
        }
        if max_iter == 0 {
            return Err(invalid("max_iter", max_iter, "≥ 1"));
        }
        Ok(Self { epsilon, max_iter })
    }

    /// The coupling (n_s × n_t, uniform marginals) for a cost matrix already scaled. Plain
    /// scaling iterations (two matrix–vector products a sweep) when `exp(−C/ε)` is
    /// representable; the log-domain iterations when it would underflow.
    pub fn coupling(&self, cost: &Array2<f64>) -> Array2<f64> {
        self.coupling_warm(cost, &mut None)
    }

    /// [`SinkhornTransport::coupling`] with the plain iterations' column scaling `v` started
    /// from `warm` when it holds one of the right length (else from ones), and left there
    /// for the next solve (`None` after a log-domain solve). The stopping rule is the same,
    /// so a warm start ends at a coupling as converged as a cold one, in fewer sweeps when
    /// the cost has changed little (class-regularised OT's successive linearisations).
    pub(crate) fn coupling_warm(
        &self,
        cost: &Array2<f64>,
        warm: &mut Option<Array1<f64>>,
    ) -> Array2<f64> {
        let start = warm.take().filter(|v| v.len() == cost.ncols());
        match self.coupling_plain(cost, start) {
            Some((gamma, v)) => {
                *warm = Some(v);
                gamma
            }
            None => self.coupling_log(cost),
        }
    }

    fn coupling_plain(
        &self,
        cost: &Array2<f64>,
        start: Option<Array1<f64>>,
    ) -> Option<(Array2<f64>, Array1<f64>)> {
        let (ns, nt) = cost.dim();
        // exp(−C/ε) with the bits of `cost.mapv(|c| (-c / ε).exp())` (`tlab_core::vmath`).
        let eps = self.epsilon;
        let mut k = Array2::<f64>::zeros(cost.raw_dim());
        match (cost.as_slice(), k.as_slice_mut()) {
            (Some(c), Some(out)) => tlab_core::vmath::exp_map(c, out, |c| -c / eps),
            _ => k = cost.mapv(|c| (-c / eps).exp()),
        }
        // Every row and column needs a non-negligible entry, or the scalings overflow.
        let tiny = 1e-200;
        if k.rows().into_iter().any(|r| r.iter().all(|&v| v < tiny))
            || k.columns().into_iter().any(|c| c.iter().all(|&v| v < tiny))
        {
            return None;
        }
        let (a, b) = (1.0 / ns as f64, 1.0 / nt as f64);
        let mut u = Array1::from_elem(ns, 1.0);
        let mut v = start.unwrap_or_else(|| Array1::from_elem(nt, 1.0));
        let mut kt_u = Array1::<f64>::zeros(nt);
        for _ in 0..self.max_iter {
            // One pass over K a sweep: row i gives (Kv)_i, so u_i, whose multiple of row i
            // is added to Kᵀu while the row is in cache. `row_dots_axpy` does four rows a
            // pass with the bits of `k.dot(&v)` and `xt_v`'s row-by-row sums.
            kt_u.fill(0.0);
            tlab_core::linalg::row_dots_axpy(
                k.view(),
                v.view(),
                |d| a / d,
                u.as_slice_mut().expect("contiguous"),
                kt_u.as_slice_mut().expect("contiguous"),
            );
            let err = kt_u
                .iter()
                .zip(&v)
                .map(|(s, vj)| (s * vj - b).abs())
                .fold(0.0, f64::max);
            v = kt_u.mapv(|x| b / x);
            if u.iter().chain(v.iter()).any(|x| !x.is_finite()) {
                return None;
            }
            if err < 1e-9 * b {
                break;
            }
        }
        // γ_ij = (k_ij u_i) v_j, row by row (the bits of `&k * &u[:, None] * &v[None, :]`).
        let mut gamma = k;
        for (mut row, &ui) in gamma.outer_iter_mut().zip(&u) {
            row.zip_mut_with(&v, |g, &vj| *g = (*g * ui) * vj);
        }
        Some((gamma, v))
    }

    fn coupling_log(&self, cost: &Array2<f64>) -> Array2<f64> {
        let (ns, nt) = cost.dim();
        let (la, lb) = (-(ns as f64).ln(), -(nt as f64).ln());
        let k = cost.mapv(|c| -c / self.epsilon);
        let mut f = Array1::<f64>::zeros(ns);
        let mut g = Array1::<f64>::zeros(nt);
        let lse = |v: &mut dyn Iterator<Item = f64>| {
            let vals: Vec<f64> = v.collect();
            let m = vals.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            m + vals.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
        };
        for _ in 0..self.max_iter {
            for i in 0..ns {
                f[i] = la - lse(&mut k.row(i).iter().zip(&g).map(|(kij, gj)| kij + gj));
            }
            let mut err = 0.0f64;
            for j in 0..nt {
                let new = lb - lse(&mut k.column(j).iter().zip(&f).map(|(kij, fi)| kij + fi));
                err = err.max((new - g[j]).abs());
                g[j] = new;
            }
            if err < 1e-9 {
                break;
            }
        }
        let mut gamma = k;
        for ((i, j), v) in gamma.indexed_iter_mut() {
            *v = (*v + f[i] + g[j]).exp();
        }
        gamma
    }
}

/// Squared-Euclidean cost divided by its median (numpy's: the mean of the two middle
/// values for an even count; by 1 if the median is 0), so ε means the same as in POT/skada
/// given `reg = ε · median(M)`.
pub(crate) fn scaled_cost(
    xs: ndarray::ArrayView2<'_, f64>,
    xt: ndarray::ArrayView2<'_, f64>,
) -> Result<Array2<f64>> {
    let mut c = sq_distances_fast(xs, xt)?;
    // The median without copying the costs (`tlab_core::select`: a sampled bracket, one
    // pass, a partition of the bracket): the same value as partitioning a copy of them all.
    let m = tlab_core::select::median_of(&c);
    let m = if m > 0.0 { m } else { 1.0 };
    c.mapv_inplace(|x| x / m);
    Ok(c)
}

impl Adapter for SinkhornTransport {
    fn name(&self) -> &'static str {
        "OT (Sinkhorn)"
    }
    fn adapt(
        &self,
        source: &LabeledDomain,
        target: &UnlabeledDomain,
        _seed: u64,
    ) -> Result<Embedded> {
        check_dims("OT", source, target, None)?;
        let gamma = self.coupling(&scaled_cost(source.x(), target.x())?);
        barycentric(&gamma, target, self.epsilon)
    }
}

/// Exact OT (the earth mover's distance, [`crate::emd`]) between uniform masses on the
/// squared-Euclidean cost, then the same barycentric mapping of the source as
/// [`SinkhornTransport`] (Courty et al., TPAMI 2017). No ε: the exact coupling does not
/// depend on the cost's scale.
#[derive(Debug, Clone)]
pub struct EmdTransport {
    max_pivots: usize,
}

impl EmdTransport {
    /// `max_pivots` ≥ 1 bounds the simplex (an error, never a silent stop, past it).
    pub fn new(max_pivots: usize) -> Result<Self> {
        if max_pivots == 0 {
            return Err(invalid("max_pivots", max_pivots, "≥ 1"));
        }
        Ok(Self { max_pivots })
    }
}

impl Adapter for EmdTransport {
    fn name(&self) -> &'static str {
        "OT (exact)"
    }
    fn adapt(
        &self,
        source: &LabeledDomain,
        target: &UnlabeledDomain,
        _seed: u64,
    ) -> Result<Embedded> {
        check_dims("OT", source, target, None)?;
        let (ns, nt) = (source.n_samples(), target.n_samples());
        let cost = sq_distances(source.x(), target.x());
        let a = Array1::from_elem(ns, 1.0 / ns as f64);
        let b = Array1::from_elem(nt, 1.0 / nt as f64);
        let (gamma, _) = crate::emd(a.view(), b.view(), cost.view(), self.max_pivots)?;
        // The exact coupling has at most n_s + n_t − 1 positive cells: map sparsely.
        let mut mapped = Array2::<f64>::zeros((ns, target.n_features()));
        for ((r, c), &g) in gamma.indexed_iter() {
            if g > 0.0 {
                mapped.row_mut(r).scaled_add(g, &target.x().row(c));
            }
        }
        let mass = gamma.sum_axis(Axis(1));
        let mapped = mapped / &mass.insert_axis(Axis(1));
        Ok(Embedded {
            source: mapped,
            target: target.x().to_owned(),
        })
    }
}

/// Class-regularised OT (Courty et al., TPAMI 2017, the l1–l2 group-lasso form): entropic
/// OT plus `η Σ_j Σ_c ‖γ[I_c, j]‖₂`, which makes each target sample draw its mass from few
/// source classes. Solved by generalised conditional gradient, as POT's
/// `sinkhorn_l1l2_gl`: linearise the group term, solve the entropic problem (Sinkhorn),
/// Armijo line search on the full objective. Costs scaled by their median as above.
#[derive(Debug, Clone)]
pub struct ClassRegularisedTransport {
    sinkhorn: SinkhornTransport,
    eta: f64,
    outer: usize,
}

impl ClassRegularisedTransport {
    pub fn new(epsilon: f64, eta: f64, outer: usize) -> Result<Self> {
        if !(eta.is_finite() && eta >= 0.0) {
            return Err(invalid("eta", eta, "a finite value ≥ 0"));
        }
        if outer == 0 {
            return Err(invalid("outer_iterations", outer, "≥ 1"));
        }
        Ok(Self {
            sinkhorn: SinkhornTransport::new(epsilon, 1000)?,
            eta,
            outer,
        })
    }

    /// The coupling for `cost` (already scaled) and the source classes `ys`.
    pub fn coupling(
        &self,
        cost: &Array2<f64>,
        ys: &Array1<usize>,
        n_classes: usize,
    ) -> Array2<f64> {
        if !cost.is_standard_layout() {
            // The passes below read γ and the costs as row-major slices.
            return self.coupling(&cost.as_standard_layout().to_owned(), ys, n_classes);
        }
        let eps = self.sinkhorn.epsilon;
        let nt = cost.ncols();
        // Each target column's group norms ‖γ[I_c, j]‖₂, as a C × n_t array filled in one
        // pass over γ's rows: every norm sums its squares in ascending row order, as a
        // column-by-column pass over each group's rows would, so the same bits.
        let group_norms = |g: &Array2<f64>| -> Array2<f64> {
            let mut s = Array2::<f64>::zeros((n_classes, nt));
            for (row, &c) in g.rows().into_iter().zip(ys) {
                s.row_mut(c).zip_mut_with(&row, |a, &v| *a += v * v);
            }
            s.mapv_inplace(f64::sqrt);
            s
        };
        // The objective, with γ's group norms (the next linearisation's gradient needs them),
        // and ln γ (in `logs`; read only where γ > 0) for the next step's entropy gradient. The
        // arithmetic is that of `(cost * γ).sum() + ε Σ γ ln γ + η Σ_j Σ_c ‖γ[I_c, j]‖₂`
        // with ndarray temporaries: the first sum in ndarray's order (`unrolled_sum`),
        // the entropy left to right, the group term column by column, class by class.
        let cs = cost.as_slice().expect("standard layout");
        let n = cs.len();
        let objective = |g: &Array2<f64>, logs: &mut [f64]| -> (f64, Array2<f64>) {
            let norms = group_norms(g);
            let mut group = 0.0;
            for j in 0..nt {
                for c in 0..n_classes {
                    group += norms[(c, j)];
                }
            }
            let gs = g.as_slice().expect("standard layout");
            let linear = unrolled_sum(n, |i| cs[i] * gs[i]);
            // ln γ for every entry (`tlab_core::vmath`, the bits of `f64::ln`); entries
            // ≤ 0 get −∞ or NaN there, which nothing reads (the entropy skips them, the
            // gradient takes ln 1e-300 below 1e-300).
            tlab_core::vmath::ln_map(gs, logs);
            let entropy = gs
                .iter()
                .zip(logs.iter())
                .map(|(&v, &l)| if v > 0.0 { v * l } else { 0.0 })
                .sum::<f64>();
            (linear + eps * entropy + self.eta * group, norms)
        };
        // Each linearised solve starts from the previous one's scaling.
        let mut warm = None;
        let mut g = self.sinkhorn.coupling_warm(cost, &mut warm);
        if self.eta == 0.0 {
            return g;
        }
        let mut logs = vec![0.0; n];
        let mut cand_logs = vec![0.0; n];
        let (mut f, mut norms) = objective(&g, &mut logs);
        // `ln(max(v, 1e-300))`, the entropy gradient's logarithm, from the cached ln v.
        let floor_log = 1e-300f64.ln();
        // Buffers reused across the outer iterations: the linearised cost and the line
        // search's candidate (swapped with γ when accepted).
        let mut linear = Array2::<f64>::zeros(cost.raw_dim());
        let mut cand = Array2::<f64>::zeros(g.raw_dim());
        for _ in 0..self.outer {
            // The linearised cost: C + η ∇Ω, the group term's gradient being each group's
            // block divided by its norm (0 where the norm is 0); one pass over C and γ.
            let rows = linear.rows_mut().into_iter().zip(cost.rows()).zip(g.rows());
            for (((mut out, crow), row), &c) in rows.zip(ys) {
                let entries = out.iter_mut().zip(&crow).zip(&row).zip(norms.row(c));
                for (((o, &cij), &v), &norm) in entries {
                    let grad = if norm > 0.0 { v / norm } else { 0.0 };
                    *o = cij + grad * self.eta;
                }
            }
            // The direction (new − γ, in place) and the slope `Σ (C_lin + ε(1 + ln γ)) d`.
            let mut direction = self.sinkhorn.coupling_warm(&linear, &mut warm);
            direction.zip_mut_with(&g, |d, &v| *d -= v);
            let (ls, gs, ds) = (
                linear.as_slice().expect("standard layout"),
                g.as_slice().expect("standard layout"),
                direction.as_slice().expect("standard layout"),
            );
            let slope = unrolled_sum(n, |i| {
                let lg = if gs[i] >= 1e-300 { logs[i] } else { floor_log };
                (ls[i] + eps * (1.0 + lg)) * ds[i]
            });
            if slope >= 0.0 {
                break;
            }
            let mut alpha = 1.0;
            let (fnext, next_norms) = loop {
                ndarray::Zip::from(&mut cand)
                    .and(&g)
                    .and(&direction)
                    .for_each(|c, &v, &d| *c = v + d * alpha);
                let fc = objective(&cand, &mut cand_logs);
                if fc.0 <= f + 1e-4 * alpha * slope || alpha < 1e-6 {
                    break fc;
                }
                alpha *= 0.5;
            };
            let gain = f - fnext;
            std::mem::swap(&mut g, &mut cand);
            std::mem::swap(&mut logs, &mut cand_logs);
            f = fnext;
            norms = next_norms;
            if gain.abs() <= 1e-9 * f.abs().max(1e-12) {
                break;
            }
        }
        g
    }
}

impl Adapter for ClassRegularisedTransport {
    fn name(&self) -> &'static str {
        "OT (class-regularised)"
    }
    fn adapt(
        &self,
        source: &LabeledDomain,
        target: &UnlabeledDomain,
        _seed: u64,
    ) -> Result<Embedded> {
        check_dims("OT", source, target, None)?;
        let gamma = self.coupling(
            &scaled_cost(source.x(), target.x())?,
            source.y(),
            source.n_classes(),
        );
        barycentric(&gamma, target, self.sinkhorn.epsilon)
    }
}

/// The source mapped to the barycentres of its coupled target samples.
fn barycentric(gamma: &Array2<f64>, target: &UnlabeledDomain, epsilon: f64) -> Result<Embedded> {
    let mass = gamma.sum_axis(Axis(1));
    if mass.iter().any(|m| !(m.is_finite() && *m > 0.0)) {
        return Err(TransductiveError::Data {
            method: "OT",
            detail: format!(
                "the coupling lost mass on some source rows at epsilon = {epsilon}; raise epsilon"
            ),
        });
    }
    // γ X_t on faer (an n_s × n_t × d product: most of a Sinkhorn fit on ndarray's `dot`).
    let mapped = tlab_core::linalg::matmul(gamma.view(), false, target.x(), false)?;
    Ok(Embedded {
        source: mapped / &mass.insert_axis(Axis(1)),
        target: target.x().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn coupling_has_uniform_marginals_and_matches_plain_sinkhorn() {
        // The log-domain iterations must reach the plan of plain Sinkhorn (u, v scalings of
        // K = exp(−M/ε)), which is exact at this scale, and keep both marginals uniform.
        let cost = array![[0.0, 1.0], [1.0, 0.0], [4.0, 1.0]];
        let ot = SinkhornTransport::new(0.5, 10_000).unwrap();
        let g = ot.coupling_log(&cost);
        assert!(ot
            .coupling_plain(&cost, None)
            .unwrap()
            .0
            .iter()
            .zip(&g)
            .all(|(a, b)| (a - b).abs() < 1e-9));
        for r in g.sum_axis(Axis(1)) {
            assert!((r - 1.0 / 3.0).abs() < 1e-9);
        }
        for c in g.sum_axis(Axis(0)) {
            assert!((c - 0.5).abs() < 1e-9);
        }
        // Plain (non-log) Sinkhorn on K = exp(-M/ε) reaches the same plan.
        let k = cost.mapv(|c: f64| (-c / 0.5).exp());
        let (mut u, mut v) = (Array1::from_elem(3, 1.0), Array1::from_elem(2, 1.0));
        for _ in 0..10_000 {
            u = Array1::from_elem(3, 1.0 / 3.0) / k.dot(&v);
            v = Array1::from_elem(2, 0.5) / k.t().dot(&u);
        }
        let dense = &k * &u.view().insert_axis(Axis(1)) * v.view().insert_axis(Axis(0));
        assert!(g.iter().zip(&dense).all(|(a, b)| (a - b).abs() < 1e-9));
    }

    #[test]
    fn class_regularised_coupling_beats_pot_on_the_same_objective() {
        // POT 0.9.7 on the same problem (strictly convex objective ⟨M,G⟩ + ε Σ G log G +
        // η Σ_j Σ_c ‖G[I_c, j]‖, one minimiser):
        //   xs = [[0,0],[.3,.1],[.1,.4],[2,2],[2.2,1.7],[1.8,2.3]]; ys = [0,0,0,1,1,1]
        //   xt = [[.5,.6],[1,1.2],[2.5,2.1],[1.6,1.5]]; M = ot.dist(xs, xt); M /= median(M)
        //   G = ot.da.sinkhorn_l1l2_gl(ones(6)/6, ys, ones(4)/4, M, 0.5, 1.0,
        //         numItermax=2000, numInnerItermax=2000, stopInnerThr=1e-13)
        //   objective(G) = -0.24523468819342875 (its GCG stops early; M[0,0] = 0.3598820059)
        // Ours must reach at least as low an objective with exact marginals.
        let xs = array![
            [0.0, 0.0],
            [0.3, 0.1],
            [0.1, 0.4],
            [2.0, 2.0],
            [2.2, 1.7],
            [1.8, 2.3]
        ];
        let xt = array![[0.5, 0.6], [1.0, 1.2], [2.5, 2.1], [1.6, 1.5]];
        let ys = array![0, 0, 0, 1, 1, 1];
        let cost = scaled_cost(xs.view(), xt.view()).unwrap();
        assert!((cost[(0, 0)] - 0.359_882_005_9).abs() < 1e-9);
        let g = ClassRegularisedTransport::new(0.5, 1.0, 2000)
            .unwrap()
            .coupling(&cost, &ys, 2);
        let mut group = 0.0;
        for j in 0..4 {
            for c in 0..2 {
                group += (0..6)
                    .filter(|&i| ys[i] == c)
                    .map(|i| g[(i, j)] * g[(i, j)])
                    .sum::<f64>()
                    .sqrt();
            }
        }
        let objective =
            (&cost * &g).sum() + 0.5 * g.iter().map(|v| v * v.ln()).sum::<f64>() + group;
        assert!(
            objective <= -0.245_234_688_193_428_75 + 1e-9,
            "objective {objective}"
        );
        for r in g.sum_axis(Axis(1)) {
            assert!((r - 1.0 / 6.0).abs() < 1e-8);
        }
        for c in g.sum_axis(Axis(0)) {
            assert!((c - 0.25).abs() < 1e-8);
        }
        // With η = 0 it is plain Sinkhorn.
        let plain = SinkhornTransport::new(0.5, 1000).unwrap().coupling(&cost);
        let zero = ClassRegularisedTransport::new(0.5, 0.0, 10)
            .unwrap()
            .coupling(&cost, &ys, 2);
        assert!(plain.iter().zip(&zero).all(|(a, b)| (a - b).abs() < 1e-12));
    }

    #[test]
    fn a_warm_start_reaches_the_cold_coupling() {
        // Start the scaling from another cost's solution: the same stopping rule must end at
        // the cold start's coupling (both converged to a marginal error below 1e-9 · b).
        let cost = array![
            [0.0, 1.0, 2.0],
            [1.0, 0.0, 0.5],
            [4.0, 1.0, 0.2],
            [0.3, 2.0, 1.0]
        ];
        let other = cost.mapv(|c| (c * 1.7 + 0.3f64).sin().abs());
        let ot = SinkhornTransport::new(0.3, 10_000).unwrap();
        let cold = ot.coupling(&cost);
        let mut warm = None;
        let _ = ot.coupling_warm(&other, &mut warm);
        assert!(warm.is_some(), "the plain iterations leave their scaling");
        let hot = ot.coupling_warm(&cost, &mut warm);
        let worst = cold
            .iter()
            .zip(&hot)
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(worst < 1e-9, "warm and cold couplings differ by {worst}");
        // A scaling of the wrong length is ignored, not indexed.
        let mut wrong = Some(Array1::from_elem(7, 2.0));
        let again = ot.coupling_warm(&cost, &mut wrong);
        assert!(cold.iter().zip(&again).all(|(a, b)| (a - b).abs() < 1e-12));
    }

    #[test]
    fn tiny_epsilon_stays_finite() {
        // Every entry of exp(−C/ε) underflows (exp(−1.5e7)); the log domain still finds the
        // diagonal plan.
        let cost = array![[1500.0, 3000.0], [3000.0, 1500.0]];
        let ot = SinkhornTransport::new(1e-4, 100).unwrap();
        assert!(
            ot.coupling_plain(&cost, None).is_none(),
            "exp(-1.5e7) underflows: the log domain must take over"
        );
        let g = ot.coupling(&cost);
        assert!(g.iter().all(|v| v.is_finite()));
        assert!((g[(0, 0)] - 0.5).abs() < 1e-9);
    }

    #[test]
    fn a_column_major_cost_gives_the_same_class_regularised_coupling() {
        let cost = array![
            [0.0, 1.0, 2.0],
            [1.0, 0.0, 0.5],
            [4.0, 1.0, 0.0],
            [0.3, 2.0, 1.0]
        ];
        let ys = array![0, 1, 1, 0];
        let ot = ClassRegularisedTransport::new(0.5, 0.3, 10).unwrap();
        let want = ot.coupling(&cost, &ys, 2);
        let fortran = cost.t().as_standard_layout().reversed_axes().to_owned();
        assert!(!fortran.is_standard_layout());
        assert_eq!(ot.coupling(&fortran, &ys, 2), want);
    }
}
