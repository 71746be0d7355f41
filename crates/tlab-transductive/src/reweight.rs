//! Instance reweighting: one weight per source sample, handed to a learner that takes
//! sample weights (the experiments crate refuses a learner that would ignore them).
//!
//! - KMM — Kernel Mean Matching (Huang, Smola, Gretton, Borgwardt, Schölkopf, NIPS 2006):
//!   `min ½ βᵀKβ − κᵀβ` s.t. `0 ≤ β ≤ B`, `|Σβ − n_s| ≤ n_s ε`, `κ_i = (n_s/n_t) Σ_j k(x_i, t_j)`.
//!   Solved by accelerated proximal gradient (FISTA) with adaptive restart (O'Donoghue &
//!   Candès, FoCM 2015), until the mean change of a weight in one step is below 1e-10, at
//!   most `max_iter` (10,000) steps. The RBF kernel matrix has one dominant eigenvalue
//!   (SURF C→A: λ₁ = 429 along a nearly constant vector, λ₂ = 13), which alone would set
//!   the step to 1/λ₁. So K is split as `λ₁u₁u₁ᵀ + K̃` (power iteration): the gradient
//!   step takes K̃ with step 1/λ₂, and the rank-one term goes into the proximal step with
//!   the box and the sum band, solved exactly (a bracketed Newton iteration on its one
//!   multiplier for u₁, bisection on the band's). On Office-Caltech SURF this takes about
//!   5× fewer steps than plain FISTA to the same optimum (objective equal to 11 digits).
//!   History: until 2026-12-06 the cap was 1,000 with no restart, and the six pairs with
//!   Caltech or Amazon as source stopped at the cap; then plain FISTA with restart
//!   converged in up to 2,500 steps.
//!   Differences from the paper: our own solver instead of a generic QP package; RBF
//!   bandwidth by the median heuristic unless given.
//! - Discriminative weights (as in Bickel, Brückner, Scheffer, ICML 2007, in its common
//!   two-step form): a logistic domain classifier, `w = (n_s/n_t) · p(target|x)/p(source|x)`.
//! - KLIEP (Sugiyama, Nakajima, Kashima, von Bünau, Kawanabe, NIPS 2007): `w(x) = Σ_l α_l
//!   k(x, c_l)` on ≤ 100 target centres, maximising the target log-likelihood subject to a
//!   mean source weight of 1, α ≥ 0 (the paper's projected-gradient algorithm); the RBF
//!   width is picked by the paper's likelihood cross-validation on target folds, among
//!   multiples of the median heuristic (never a fixed γ: skada's γ = 1 gives all-NaN
//!   weights on SURF, whose squared distances are ~1,500).
//! - Nearest-neighbour weighting (Loog, "Nearest neighbor-based importance weighting", MLSP
//!   2012): each source sample weighs 1 + the number of target samples whose nearest source
//!   sample it is (Laplace-smoothed Voronoi counts).
//!
//! Every method returns weights with mean 1 (the learners' C keeps its meaning).

use ndarray::{concatenate, Array1, Array2, ArrayView2, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tlab_core::learners::{KNearest, LogisticRegression};
use tlab_core::linalg::mat_vec;
use tlab_core::{Classifier, LabeledDomain, TrainSet, UnlabeledDomain};

use crate::check_dims;
use crate::error::{invalid, Result, TransductiveError};

/// A reweighter named in a suite, with its paper's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ReweighterSpec {
    Kmm {
        /// RBF `exp(−γ‖x−y‖²)`; default 1 / median squared distance.
        gamma: Option<f64>,
        /// Upper bound on each weight.
        #[serde(default = "thousand")]
        b: f64,
        /// Sum tolerance; default `(√n_s − 1)/√n_s` as in the paper.
        eps: Option<f64>,
        #[serde(default = "kmm_iter")]
        max_iter: usize,
    },
    Discriminative {
        /// C of the logistic domain classifier.
        #[serde(default = "unit")]
        c: f64,
        /// Weights are clipped to at most this (before renormalising), bounding the variance.
        #[serde(default = "clip")]
        max_weight: f64,
    },
    Kliep {
        /// Number of target centres (at most the target size).
        #[serde(default = "hundred")]
        centres: usize,
        /// Folds of the likelihood cross-validation choosing the width.
        #[serde(default = "five")]
        folds: usize,
        #[serde(default = "kliep_iter")]
        max_iter: usize,
    },
    NearestNeighbour,
}

fn hundred() -> usize {
    100
}
fn five() -> usize {
    5
}
fn kliep_iter() -> usize {
    2000
}

fn thousand() -> f64 {
    1000.0
}
fn kmm_iter() -> usize {
    10_000
}
fn unit() -> f64 {
    1.0
}
fn clip() -> f64 {
    50.0
}

/// Names and defaults (for `tlab list`).
pub const REWEIGHTERS: [(&str, &str); 4] = [
    ("kmm", "gamma = 1/median sq. distance, b = 1000, eps = (√ns−1)/√ns, max_iter = 10000: Kernel Mean Matching"),
    ("discriminative", "c = 1.0, max_weight = 50: logistic source-vs-target classifier odds"),
    ("kliep", "centres = 100, folds = 5, max_iter = 2000: KLIEP, RBF width by likelihood CV"),
    ("nearest-neighbour", "Laplace-smoothed counts of target samples nearest to each source sample"),
];

impl ReweighterSpec {
    pub fn kind(&self) -> &'static str {
        match self {
            ReweighterSpec::Kmm { .. } => "kmm",
            ReweighterSpec::Discriminative { .. } => "discriminative",
            ReweighterSpec::NearestNeighbour => "nearest-neighbour",
            ReweighterSpec::Kliep { .. } => "kliep",
        }
    }

    /// Checks the parameters.
    pub fn check(&self) -> Result<()> {
        match *self {
            ReweighterSpec::Kmm {
                gamma,
                b,
                eps,
                max_iter,
            } => {
                if let Some(g) = gamma.filter(|g| !(g.is_finite() && *g > 0.0)) {
                    return Err(invalid("gamma", g, "a finite value > 0"));
                }
                if !(b.is_finite() && b > 0.0) {
                    return Err(invalid("b", b, "a finite value > 0"));
                }
                if let Some(e) = eps.filter(|e| !(e.is_finite() && *e >= 0.0)) {
                    return Err(invalid("eps", e, "a finite value ≥ 0"));
                }
                if max_iter == 0 {
                    return Err(invalid("max_iter", max_iter, "≥ 1"));
                }
            }
            ReweighterSpec::Discriminative { c, max_weight } => {
                LogisticRegression::new(c, 100)?;
                if !(max_weight.is_finite() && max_weight > 0.0) {
                    return Err(invalid("max_weight", max_weight, "a finite value > 0"));
                }
            }
            ReweighterSpec::Kliep {
                centres,
                folds,
                max_iter,
            } => {
                if centres == 0 {
                    return Err(invalid("centres", centres, "≥ 1"));
                }
                if folds < 2 {
                    return Err(invalid("folds", folds, "≥ 2"));
                }
                if max_iter == 0 {
                    return Err(invalid("max_iter", max_iter, "≥ 1"));
                }
            }
            ReweighterSpec::NearestNeighbour => {}
        }
        Ok(())
    }

    /// One weight per source sample, mean 1.
    pub fn weights(
        &self,
        source: &LabeledDomain,
        target: &UnlabeledDomain,
        seed: u64,
    ) -> Result<Array1<f64>> {
        self.check()?;
        check_dims(self.kind(), source, target, None)?;
        let w = match *self {
            ReweighterSpec::Kmm {
                gamma,
                b,
                eps,
                max_iter,
            } => {
                let gamma = match gamma {
                    Some(g) => g,
                    None => median_gamma(source.x(), target.x(), seed),
                };
                kmm(source.x(), target.x(), gamma, b, eps, max_iter)?
            }
            ReweighterSpec::Discriminative { c, max_weight } => {
                discriminative(source, target, c, max_weight)?
            }
            ReweighterSpec::NearestNeighbour => nearest_neighbour(source, target)?,
            ReweighterSpec::Kliep {
                centres,
                folds,
                max_iter,
            } => kliep(source.x(), target.x(), centres, folds, max_iter, seed)?,
        };
        let mean = w.mean().unwrap_or(0.0);
        if !(mean.is_finite() && mean > 0.0) {
            return Err(TransductiveError::Data {
                method: "reweighting",
                detail: format!(
                    "{}: the weights sum to {mean} (no source sample resembles the target)",
                    self.kind()
                ),
            });
        }
        Ok(w / mean)
    }
}

/// Squared Euclidean distances between the rows of `a` and of `b`.
pub fn sq_distances(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> Array2<f64> {
    tlab_core::linalg::sq_distances_from(a, b, a.dot(&b.t()))
}

/// [`sq_distances`] with the cross products `a bᵀ` from faer's matrix product (several
/// times faster than ndarray's `dot` at n × m × d ≈ 1000 × 1000 × 800), whose last bits
/// differ. Taken where that cannot move a result beyond rounding: the entropic OT costs,
/// but not the exact-OT costs (ties between optimal couplings) nor the kernels whose rows are
/// committed bit for bit.
pub(crate) fn sq_distances_fast(
    a: ArrayView2<'_, f64>,
    b: ArrayView2<'_, f64>,
) -> Result<Array2<f64>> {
    Ok(tlab_core::linalg::sq_distances_from(
        a,
        b,
        tlab_core::linalg::matmul(a, false, b, true)?,
    ))
}

/// The RBF kernel `exp(−γ d)` of squared distances `d`, in place: the bits of
/// `d.mapv(|d| (-gamma * d).exp())`, through [`tlab_core::vmath`].
pub(crate) fn rbf(mut d: Array2<f64>, gamma: f64) -> Array2<f64> {
    match d.as_slice_memory_order_mut() {
        Some(all) => tlab_core::vmath::exp_map_inplace(all, |d| -gamma * d),
        None => d.mapv_inplace(|d| (-gamma * d).exp()),
    }
    d
}

/// `1 / median` of the squared distances within a seeded sample of ≤ 1000 rows of both domains.
pub fn median_gamma(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>, seed: u64) -> f64 {
    let x = concatenate(Axis(0), &[a.view(), b.view()]).expect("same width");
    let mut rows: Vec<usize> = (0..x.nrows()).collect();
    rows.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    rows.truncate(1000);
    let s = x.select(Axis(0), &rows);
    // `sq_distances(s, s)` from the symmetric product (the same bits, half the work).
    let d = tlab_core::linalg::sq_distances_self(s.view());
    // The pairs i < j, row by row; their upper median by `tlab_core::select` (the value a
    // partition of the copy gives).
    let mut v = Vec::with_capacity(d.nrows() * d.nrows().saturating_sub(1) / 2);
    for (i, row) in d.rows().into_iter().enumerate() {
        v.extend(row.iter().skip(i + 1).copied());
    }
    match tlab_core::select::nth(&v, v.len() / 2) {
        Some(m) if m > 0.0 => 1.0 / m,
        _ => 1.0,
    }
}

/// The largest eigenvalue of a symmetric PSD operator and its eigenvector, by power
/// iteration from `start` (unit length, not orthogonal to the wanted vector): at most 100
/// products, stopping once the estimate `‖A v‖` (non-decreasing for a PSD operator) rises
/// by less than `rel` of itself.
fn power_iteration(
    mv: impl Fn(&Array1<f64>) -> Array1<f64>,
    start: Array1<f64>,
    rel: f64,
) -> (f64, Array1<f64>) {
    let mut v = start;
    let mut lam = 0.0f64;
    for _ in 0..100 {
        let w = mv(&v);
        let norm = w.dot(&w).sqrt();
        if !(norm > 0.0 && norm.is_finite()) {
            return (0.0, v);
        }
        v = w / norm;
        let settled = norm - lam <= rel * norm;
        lam = norm;
        if settled {
            break;
        }
    }
    (lam, v)
}

/// `argmin_{β ∈ C} ½‖β − z‖² + (c/2)(uᵀβ)²`, C = `{0 ≤ β ≤ b, lo ≤ Σβ ≤ hi}`, u > 0 — the
/// proximal step of KMM's deflated split (see [`kmm`]). By its optimality conditions
/// `β = clip(z − θu − τ, 0, b)` with `θ = c·uᵀβ` and τ the sum band's multiplier (0 when
/// the band is slack). For a fixed τ, `φ(θ) = θ − c·uᵀβ(θ)` is increasing with slope ≥ 1,
/// piecewise linear: a bracketed Newton iteration (exact once the clipped set is right)
/// finds its root from `theta` (the previous step's root, updated in place). The band,
/// when it binds, is met by bisection on τ, Σβ being non-increasing in τ.
fn prox_deflated(
    z: &Array1<f64>,
    u: &Array1<f64>,
    c: f64,
    box_b: f64,
    (lo, hi): (f64, f64),
    theta: &mut f64,
) -> Array1<f64> {
    let mut out = Array1::<f64>::zeros(z.len());
    // β(θ, τ) into `out`; returns (uᵀβ, Σβ, Σ_free u²).
    let fill = |th: f64, tau: f64, out: &mut Array1<f64>| -> (f64, f64, f64) {
        let (mut ub, mut sum, mut slope) = (0.0, 0.0, 0.0);
        for ((o, &zi), &ui) in out.iter_mut().zip(z).zip(u) {
            let v = zi - th * ui - tau;
            let x = if v <= 0.0 {
                0.0
            } else if v >= box_b {
                box_b
            } else {
                slope += ui * ui;
                v
            };
            *o = x;
            ub += ui * x;
            sum += x;
        }
        (ub, sum, slope)
    };
    // The root θ(τ) ≥ 0 of φ, bracketed by [0, c·uᵀβ(0, τ)] (β(θ) shrinks as θ grows).
    let solve = |tau: f64, start: f64, out: &mut Array1<f64>| -> (f64, f64) {
        let (ub0, sum0, _) = fill(0.0, tau, out);
        if ub0 <= 0.0 {
            return (0.0, sum0);
        }
        let (mut a, mut z_hi) = (0.0, c * ub0);
        let mut th = start.clamp(a, z_hi);
        for _ in 0..200 {
            let (ub, _, slope) = fill(th, tau, out);
            let phi = th - c * ub;
            if phi == 0.0 {
                break;
            }
            if phi < 0.0 {
                a = th;
            } else {
                z_hi = th;
            }
            let newton = th - phi / (1.0 + c * slope);
            let next = if newton > a && newton < z_hi {
                newton
            } else {
                0.5 * (a + z_hi)
            };
            if (next - th).abs() <= 4.0 * f64::EPSILON * th.abs().max(f64::MIN_POSITIVE)
                || z_hi - a <= 4.0 * f64::EPSILON * z_hi
            {
                th = next;
                break;
            }
            th = next;
        }
        let (_, sum, _) = fill(th, tau, out);
        (th, sum)
    };
    let (th, sum) = solve(0.0, *theta, &mut out);
    *theta = th;
    if sum >= lo && sum <= hi {
        return out;
    }
    let goal = if sum > hi { hi } else { lo };
    // τ = max z empties β; at τ = min z − b − c·b·Σu every entry is at b (θ ≤ c·b·Σu).
    let (mut a, mut z_hi) = (
        z.fold(f64::INFINITY, |m, &x| m.min(x)) - box_b - c * box_b * u.sum(),
        z.fold(f64::NEG_INFINITY, |m, &x| m.max(x)),
    );
    let mut th = *theta;
    for _ in 0..100 {
        let mid = 0.5 * (a + z_hi);
        let (t, s) = solve(mid, th, &mut out);
        th = t;
        if s > goal {
            a = mid;
        } else {
            z_hi = mid;
        }
    }
    let (t, _) = solve(0.5 * (a + z_hi), th, &mut out);
    *theta = t;
    out
}

fn kmm(
    xs: ArrayView2<'_, f64>,
    xt: ArrayView2<'_, f64>,
    gamma: f64,
    b: f64,
    eps: Option<f64>,
    max_iter: usize,
) -> Result<Array1<f64>> {
    let (ns, nt) = (xs.nrows() as f64, xt.nrows() as f64);
    let n = xs.nrows();
    let eps = eps.unwrap_or((ns.sqrt() - 1.0) / ns.sqrt());
    // The kernels' cross products on faer: the solver's own tolerance is far above the
    // products' last bits.
    let k = rbf(sq_distances_fast(xs, xs)?, gamma);
    let kappa = rbf(sq_distances_fast(xs, xt)?, gamma).sum_axis(Axis(1)) * (ns / nt);
    let (lo, hi) = (ns * (1.0 - eps), ns * (1.0 + eps));
    if b * ns < lo {
        // No β in the box reaches the band: the QP has no feasible point.
        return Err(invalid(
            "b",
            b,
            format!(
                "≥ 1 − eps = {} (the weights, each ≤ b, must sum to ≥ n_s(1 − eps))",
                1.0 - eps
            ),
        ));
    }
    // K = λ₁u₁u₁ᵀ + K̃. An RBF kernel matrix has one dominant eigenvalue, along a nearly
    // constant u₁ (SURF C→A: λ₁ = 429, λ₂ = 13): the smooth part K̃ has step 1/λ₂, and the
    // rank-one term goes into the proximal step with the constraints.
    let kv = |v: &Array1<f64>| mat_vec(k.view(), v.view());
    let (lam1, u) = power_iteration(kv, Array1::from_elem(n, 1.0 / ns.sqrt()), 1e-14);
    // K is entrywise positive, so its top eigenvector is (Perron); |·| drops rounding signs.
    let u = u.mapv(f64::abs);
    let k_tilde = |v: &Array1<f64>| {
        let mut w = mat_vec(k.view(), v.view());
        w.scaled_add(-lam1 * u.dot(v), &u);
        w
    };
    // Any start with a component off u₁: alternating signs.
    let alt = Array1::from_shape_fn(n, |i| if i % 2 == 0 { 1.0 } else { -1.0 }) / ns.sqrt();
    let (lam2, _) = power_iteration(k_tilde, alt, 1e-9);
    // The step's curvature is floored at 1e-4·λ₁ (always safe: it only shortens the step).
    // Without a floor a kernel of rank one (λ₂ = 0) gets a step so long that the iterates
    // lose their last digits to cancellation.
    let step = 1.0 / (lam2 * 1.01).max(1e-4 * lam1).max(1e-300);
    let c = step * lam1;
    let mut theta = 0.0;
    let mut beta = prox_deflated(&Array1::ones(n), &u, 0.0, b, (lo, hi), &mut theta);
    let mut y = beta.clone();
    let mut t = 1.0f64;
    for _ in 0..max_iter {
        let grad = k_tilde(&y) - &kappa;
        let next = prox_deflated(&(&y - &(grad * step)), &u, c, b, (lo, hi), &mut theta);
        let delta = &next - &beta;
        let change = delta.mapv(f64::abs).sum();
        // Adaptive restart (O'Donoghue & Candès, "Adaptive restart for accelerated gradient
        // schemes", FoCM 2015, the gradient scheme with the projected gradient y − next):
        // when the step opposes the momentum, drop the momentum.
        if (&y - &next).dot(&delta) > 0.0 {
            t = 1.0;
        }
        let t_next = 0.5 * (1.0 + (1.0 + 4.0 * t * t).sqrt());
        y = &next + &(delta * ((t - 1.0) / t_next));
        beta = next;
        t = t_next;
        if change <= 1e-10 * ns {
            break;
        }
    }
    Ok(beta)
}

/// The paper's KLIEP iterations for basis matrices `a` (target × centres) and the mean
/// source basis row `b`: gradient ascent on Σ log(aα), then projection onto
/// {bᵀα = 1, α ≥ 0}.
fn kliep_alpha(a: &Array2<f64>, b: &Array1<f64>, max_iter: usize) -> Array1<f64> {
    let m = b.len();
    let bb = b.dot(b).max(1e-300);
    let mut alpha = Array1::from_elem(m, 1.0);
    alpha /= b.dot(&alpha).max(1e-300);
    let mut step = 1e-3 * m as f64;
    // Σ log(aα) from aα, which is kept between iterations (an accepted step's aα is the
    // next iteration's).
    let objective = |a_al: &Array1<f64>| a_al.iter().map(|v| v.max(1e-300).ln()).sum::<f64>();
    let mut a_alpha = mat_vec(a.view(), alpha.view());
    let mut best = objective(&a_alpha);
    for _ in 0..max_iter {
        let aa = a_alpha.mapv(|v| 1.0 / v.max(1e-300));
        // aᵀ·aa with the bits of `a.t().dot(&aa)`, row by row.
        let grad = tlab_core::linalg::xt_v(a.view(), aa.view());
        let mut next = &alpha + &(grad * step);
        next = &next + &(b * ((1.0 - b.dot(&next)) / bb));
        next.mapv_inplace(|v| v.max(0.0));
        let norm = b.dot(&next);
        if norm <= 0.0 {
            break;
        }
        next /= norm;
        let a_next = mat_vec(a.view(), next.view());
        let obj = objective(&a_next);
        if obj > best {
            let gain = obj - best;
            alpha = next;
            a_alpha = a_next;
            best = obj;
            if gain < 1e-10 * best.abs().max(1.0) {
                break;
            }
        } else {
            step *= 0.5;
            if step < 1e-12 {
                break;
            }
        }
    }
    alpha
}

fn kliep(
    xs: ArrayView2<'_, f64>,
    xt: ArrayView2<'_, f64>,
    centres: usize,
    folds: usize,
    max_iter: usize,
    seed: u64,
) -> Result<Array1<f64>> {
    let (gamma, order) = kliep_width(xs, xt, centres, folds, max_iter, seed)?;
    let c = xt.select(Axis(0), &order[..centres.min(xt.nrows())]);
    let ks = rbf(sq_distances(xs, c.view()), gamma);
    let kt = rbf(sq_distances(xt, c.view()), gamma);
    let alpha = kliep_alpha(&kt, &ks.mean_axis(Axis(0)).expect("non-empty"), max_iter);
    Ok(ks.dot(&alpha))
}

/// The paper's likelihood cross-validation (Sugiyama et al. 2007, Fig. 2): the target is
/// split into `folds` folds; for each candidate width and each fold, KLIEP is fitted on the
/// other folds, its centres drawn from those folds only, and scored by the mean log-weight
/// of the held-out fold. Returns the best width and the seeded order of the target samples
/// (the final fit's centres are its first `centres`).
///
/// A held-out sample must not be a centre: a centre's own kernel value is 1, so it would
/// score narrow widths too high (an earlier version drew the centres from the whole target,
/// and picked widths with far more uneven weights than the paper's procedure does).
fn kliep_width(
    xs: ArrayView2<'_, f64>,
    xt: ArrayView2<'_, f64>,
    centres: usize,
    folds: usize,
    max_iter: usize,
    seed: u64,
) -> Result<(f64, Vec<usize>)> {
    let nt = xt.nrows();
    if nt < folds {
        return Err(TransductiveError::Data {
            method: "KLIEP",
            detail: format!("{nt} target samples for {folds} cross-validation folds"),
        });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..nt).collect();
    order.shuffle(&mut rng);
    let base = median_gamma(xs, xt, seed);
    // Per fold: the squared distances of the source, the training folds and the held-out
    // fold to that fold's centres.
    let split: Vec<_> = kliep_folds(&order, folds, centres)
        .into_iter()
        .map(|fold| {
            let c = xt.select(Axis(0), &fold.centres);
            (
                sq_distances(xs, c.view()),
                sq_distances(xt.select(Axis(0), &fold.train).view(), c.view()),
                sq_distances(xt.select(Axis(0), &fold.test).view(), c.view()),
            )
        })
        .collect();
    let mut best = (f64::NEG_INFINITY, base);
    for factor in [0.1, 0.3, 1.0, 3.0, 10.0] {
        let gamma = base * factor;
        let kernel = |d: &Array2<f64>| rbf(d.to_owned(), gamma);
        let mut score = 0.0;
        for (d_s, d_train, d_test) in &split {
            let b = kernel(d_s).mean_axis(Axis(0)).expect("non-empty");
            let alpha = kliep_alpha(&kernel(d_train), &b, max_iter);
            let w = kernel(d_test).dot(&alpha);
            score += w.iter().map(|v| v.max(1e-300).ln()).sum::<f64>() / w.len() as f64;
        }
        if score > best.0 {
            best = (score, gamma);
        }
    }
    Ok((best.1, order))
}

/// One fold of KLIEP's likelihood cross-validation: target indices.
#[derive(Debug)]
struct KliepFold {
    train: Vec<usize>,
    test: Vec<usize>,
    /// The first `centres` training samples in the seeded order.
    centres: Vec<usize>,
}

/// The folds for the seeded order of the target samples: sample `order[p]` is held out in
/// fold `p % folds`.
fn kliep_folds(order: &[usize], folds: usize, centres: usize) -> Vec<KliepFold> {
    let mut fold_of = vec![0; order.len()];
    for (pos, &i) in order.iter().enumerate() {
        fold_of[i] = pos % folds;
    }
    (0..folds)
        .map(|f| KliepFold {
            train: (0..order.len()).filter(|&i| fold_of[i] != f).collect(),
            test: (0..order.len()).filter(|&i| fold_of[i] == f).collect(),
            centres: order
                .iter()
                .copied()
                .filter(|&i| fold_of[i] != f)
                .take(centres)
                .collect(),
        })
        .collect()
}

fn discriminative(
    source: &LabeledDomain,
    target: &UnlabeledDomain,
    c: f64,
    max_weight: f64,
) -> Result<Array1<f64>> {
    let (ns, nt) = (source.n_samples(), target.n_samples());
    let x = concatenate(Axis(0), &[source.x(), target.x()]).expect("same width");
    let d: Array1<usize> = (0..ns + nt).map(|i| usize::from(i >= ns)).collect();
    let fit = LogisticRegression::new(c, 500)?.fit(TrainSet::new(x.view(), d.view(), 2))?;
    let p = fit
        .predict_proba(source.x())
        .expect("logistic has probabilities")?;
    Ok(p.column(1)
        .iter()
        .zip(p.column(0))
        .map(|(pt, ps)| ((ns as f64 / nt as f64) * pt / ps.max(1e-12)).min(max_weight))
        .collect())
}

fn nearest_neighbour(source: &LabeledDomain, target: &UnlabeledDomain) -> Result<Array1<f64>> {
    // 1-NN over the source with every sample its own class gives each target sample's nearest source index.
    let ids: Array1<usize> = (0..source.n_samples()).collect();
    let fit = KNearest::new(1)?.fit(TrainSet::new(source.x(), ids.view(), source.n_samples()))?;
    let mut w = Array1::ones(source.n_samples());
    for i in fit.predict(target.x())? {
        w[i] += 1.0;
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn fast_squared_distances_agree_with_the_reference_ones() {
        // The same formula, only the cross products from faer: equal to rounding, and both
        // equal to the direct Σ (a − b)² (a 30 × 17 against 25 × 17, entries of mixed sign).
        let a = Array2::from_shape_fn((30, 17), |(i, j)| ((i * 7 + j * 3) as f64).sin() * 4.0);
        let b = Array2::from_shape_fn((25, 17), |(i, j)| ((i * 5 + j * 11) as f64).cos() * 3.0);
        let fast = sq_distances_fast(a.view(), b.view()).unwrap();
        let slow = sq_distances(a.view(), b.view());
        for ((i, j), &f) in fast.indexed_iter() {
            let direct: f64 = a
                .row(i)
                .iter()
                .zip(b.row(j))
                .map(|(x, y)| (x - y).powi(2))
                .sum();
            assert!((f - slow[(i, j)]).abs() <= 1e-12 * direct.max(1.0));
            assert!(
                (f - direct).abs() <= 1e-10 * direct.max(1.0),
                "({i}, {j}): {f} vs {direct}"
            );
        }
        assert!(sq_distances_fast(a.view(), a.t()).is_err());
    }

    #[test]
    fn kliep_cross_validation_holds_out_the_centres() {
        // The paper's LCV fits each fold's KLIEP on the other folds, centres included: no
        // held-out sample may be a centre. (An earlier version drew the centres from the
        // whole target; a held-out centre's kernel value of 1 with itself made narrow
        // widths score too well: on SURF A→W and W→D it picked 10 × the median heuristic
        // and weights whose spread exceeded their mean, where the paper's procedure picks
        // 0.1 × and near-uniform weights, as ADAPT's KLIEP does on C→A.)
        let mut order: Vec<usize> = (0..23).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(3));
        let folds = kliep_folds(&order, 5, 7);
        assert_eq!(folds.len(), 5);
        let mut held_out = Vec::new();
        for fold in &folds {
            assert_eq!(fold.centres.len(), 7);
            assert!(fold.centres.iter().all(|c| fold.train.contains(c)));
            assert!(fold.centres.iter().all(|c| !fold.test.contains(c)));
            assert_eq!(fold.train.len() + fold.test.len(), 23);
            held_out.extend(fold.test.iter().copied());
        }
        held_out.sort_unstable();
        assert_eq!(
            held_out,
            (0..23).collect::<Vec<_>>(),
            "each sample held out once"
        );
        // Fewer training samples than centres: all of them.
        assert!(kliep_folds(&order, 5, 100)
            .iter()
            .all(|f| f.centres.len() == f.train.len()));
    }

    #[test]
    fn kliep_on_one_distribution_does_not_pick_the_narrowest_width() {
        // Source and target uniform on [0, 1]^60: the true weights are all 1. With the
        // held-out centres of the earlier version the narrowest width (10 × the median
        // heuristic) won here; held out properly, the narrowest scores worst of the five.
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut draw =
            |n: usize| Array2::from_shape_simple_fn((n, 60), || rand::Rng::gen::<f64>(&mut rng));
        let (xs, xt) = (draw(300), draw(250));
        let base = median_gamma(xs.view(), xt.view(), 0);
        let (gamma, _) = kliep_width(xs.view(), xt.view(), 100, 5, 2000, 0).unwrap();
        assert!(gamma / base < 5.0, "picked {} × the median", gamma / base);
    }

    #[test]
    fn projection_lands_in_the_set() {
        // With c = 0 the proximal step is the Euclidean projection onto the box and band.
        let v = array![5.0, -1.0, 0.5, 2.0];
        let u = Array1::from_elem(4, 0.5);
        let p = prox_deflated(&v, &u, 0.0, 1.0, (1.5, 2.0), &mut 0.0);
        assert!(p.iter().all(|&x| (0.0..=1.0).contains(&x)));
        assert!((p.sum() - 2.0).abs() < 1e-9, "{p}");
    }

    #[test]
    fn the_deflated_proximal_step_is_the_minimiser() {
        // ½‖β − z‖² + (c/2)(uᵀβ)² over {0 ≤ β ≤ b, lo ≤ Σβ ≤ hi}, a strongly convex
        // problem: its minimiser is no worse than any other point of the set, here 200
        // points of it (projections of random vectors), and its own optimality conditions
        // hold: β = clip(z − θu − τ, 0, b) with θ = c·uᵀβ. Three cases: band slack, band
        // binding from above, from below; with the box's upper bound active in some.
        let mut next = crate::test_uniform(0x9e37_79b9_7f4a_7c15);
        for (case, (shift, lo, hi)) in [(0.0, 0.0, 100.0), (1.5, 3.0, 5.0), (-1.0, 9.0, 11.0)]
            .into_iter()
            .enumerate()
        {
            let n = 12;
            let z = Array1::from_shape_fn(n, |_| 3.0 * next() - 1.0 + shift);
            let u = Array1::from_shape_fn(n, |_| 0.2 + next());
            let (c, b) = (0.7, 1.5);
            let mut theta = 0.3;
            let beta = prox_deflated(&z, &u, c, b, (lo, hi), &mut theta);
            let f =
                |x: &Array1<f64>| 0.5 * (x - &z).mapv(|d| d * d).sum() + 0.5 * c * u.dot(x).powi(2);
            let s = beta.sum();
            assert!(
                beta.iter().all(|&x| (0.0..=b).contains(&x)),
                "case {case}: {beta}"
            );
            assert!(s >= lo - 1e-9 && s <= hi + 1e-9, "case {case}: sum {s}");
            assert!(
                (theta - c * u.dot(&beta)).abs() < 1e-9,
                "case {case}: θ {theta}"
            );
            for _ in 0..200 {
                let r = Array1::from_shape_fn(n, |_| 4.0 * next() - 1.5);
                let other = prox_deflated(&r, &u, 0.0, b, (lo, hi), &mut 0.0);
                assert!(
                    f(&beta) <= f(&other) + 1e-12,
                    "case {case}: {} > {}",
                    f(&beta),
                    f(&other)
                );
            }
        }
    }

    #[test]
    fn kmm_meets_the_optimality_conditions_at_its_default_cap() {
        // 80 source points in 4-D against a shifted target, RBF width by the median: at the
        // returned β there is one multiplier τ of the sum band (0 if the band is slack)
        // with g_i + τ = 0 on free weights, ≥ 0 at 0 and ≤ 0 at B, g = Kβ − κ (KKT). τ is
        // read off the free weights; every condition must hold to 1e-6 of max |g|.
        let mut next = crate::test_uniform(0x2545_f491_4f6c_dd1d);
        let xs = Array2::from_shape_fn((80, 4), |_| next() * 2.0);
        let xt = Array2::from_shape_fn((60, 4), |_| next() * 2.0 + 0.7);
        let gamma = median_gamma(xs.view(), xt.view(), 0);
        let (b, eps) = (5.0, 0.05);
        let beta = kmm(xs.view(), xt.view(), gamma, b, Some(eps), kmm_iter()).unwrap();
        let k = sq_distances(xs.view(), xs.view()).mapv(|d| (-gamma * d).exp());
        let kappa = sq_distances(xs.view(), xt.view())
            .mapv(|d| (-gamma * d).exp())
            .sum_axis(Axis(1))
            * (80.0 / 60.0);
        let g = k.dot(&beta) - &kappa;
        let scale = g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let tol = 1e-6 * scale;
        let free: Vec<f64> = (0..80)
            .filter(|&i| beta[i] > 1e-9 && beta[i] < b - 1e-9)
            .map(|i| -g[i])
            .collect();
        assert!(!free.is_empty());
        let tau = free.iter().sum::<f64>() / free.len() as f64;
        let total = beta.sum();
        if total > 80.0 * (1.0 - eps) + 1e-6 && total < 80.0 * (1.0 + eps) - 1e-6 {
            assert!(tau.abs() <= tol, "slack band, τ = {tau}");
        }
        for i in 0..80 {
            let r = g[i] + tau;
            if beta[i] <= 1e-9 {
                assert!(r >= -tol, "β_{i} = 0 with g + τ = {r}");
            } else if beta[i] >= b - 1e-9 {
                assert!(r <= tol, "β_{i} = B with g + τ = {r}");
            } else {
                assert!(r.abs() <= tol, "free β_{i} = {} with g + τ = {r}", beta[i]);
            }
        }
        assert!(
            beta.iter().filter(|&&v| v <= 1e-9).count() > 0,
            "the shift zeroes some"
        );
    }

    #[test]
    fn kmm_with_a_rank_one_kernel_meets_the_target_sum() {
        // Four identical source rows: K = 11ᵀ, so K̃ = 0 and λ₂ = 0 (the step falls back to
        // its floor) and the whole problem is the rank-one term: ½(Σβ)² − κ₀Σβ, minimised
        // by any β with Σβ = κ₀ clipped to the band, κ₀ = (n_s/n_t) Σ_j k(x, t_j).
        let xs = array![[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]];
        let xt: Array2<f64> = array![[1.5, 0.0], [0.5, 0.5], [1.0, 0.2]];
        let gamma = 0.5;
        let kappa0: f64 = xt
            .rows()
            .into_iter()
            .map(|t| (-gamma * ((1.0f64 - t[0]).powi(2) + t[1].powi(2))).exp())
            .sum::<f64>()
            * (4.0 / 3.0);
        for eps in [0.5, 0.01] {
            let w = kmm(xs.view(), xt.view(), gamma, 1000.0, Some(eps), kmm_iter()).unwrap();
            let want = kappa0.clamp(4.0 * (1.0 - eps), 4.0 * (1.0 + eps));
            assert!(w.iter().all(|v| v.is_finite() && *v >= 0.0), "{w}");
            assert!(
                (w.sum() - want).abs() < 1e-6,
                "eps {eps}: Σβ = {} vs {want}",
                w.sum()
            );
        }
    }

    #[test]
    fn kmm_matches_a_generic_qp_solver() {
        // scipy 1.x, SLSQP on the same QP (xs, xt 1-D, γ = 0.5, B = 1000, ε default):
        //   xs = [[0.],[0.5],[1.],[2.],[3.],[4.]]; xt = [[2.5],[3.],[3.5],[4.],[2.]]
        //   K = exp(-.5*(xs-xs.T)**2); kap = 6/5*exp(-.5*(xs-xt.T)**2).sum(1)
        //   eps = (sqrt(6)-1)/sqrt(6); cons: 6(1-eps) <= sum(b) <= 6(1+eps); 0 <= b <= 1000
        //   minimize(lambda b: .5*b@K@b - kap@b, ones(6), jac=..., method="SLSQP", tol=1e-12)
        let xs = array![[0.0], [0.5], [1.0], [2.0], [3.0], [4.0]];
        let xt = array![[2.5], [3.0], [3.5], [4.0], [2.0]];
        let w = kmm(xs.view(), xt.view(), 0.5, 1000.0, None, 100_000).unwrap();
        // r.x -> [1.9e-17, 3.4e-18, 0.0, 1.6103140267844236, 2.820256473277865, 1.6103140786583123]
        let want = [
            0.0,
            0.0,
            0.0,
            1.610_314_026_784_423_6,
            2.820_256_473_277_865,
            1.610_314_078_658_312_3,
        ];
        for (a, b) in w.iter().zip(want) {
            assert!((a - b).abs() < 1e-4, "{w} vs {want:?}");
        }
    }
}
