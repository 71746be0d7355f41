//! Deep domain adaptation on MLP trunks (tlab-nn): a feature trunk and a label head trained
//! on the labelled source, plus an alignment term on the trunk's features of a source batch
//! and a target batch (target labels never enter):
//!
//! - `source-only`: no alignment (the baseline the others are judged against);
//! - `dann`: a domain classifier on the features behind a gradient-reversal layer (Ganin
//!   et al., "Domain-Adversarial Training of Neural Networks", JMLR 2016), its weight
//!   ramped as the paper's `λ_p = 2 / (1 + exp(−10 p)) − 1` over training progress p;
//! - `deep-coral`: `λ ‖C_s − C_t‖²_F / (4 d²)` on the covariances of the batch class
//!   scores (the paper's fc8, d = the class count; Sun & Saenko, "Deep CORAL", ECCV-W 2016);
//! - `dan`: `λ` MK-MMD² (biased, Gaussian kernels at the median-heuristic bandwidth of the
//!   batch × {1/4, 1/2, 1, 2, 4}, equal weights) between the batch features (Long, Cao,
//!   Wang, Jordan, "Learning Transferable Features with Deep Adaptation Networks", ICML
//!   2015; one adapted layer, the trunk's output).
//!
//! Gradients: the classification and domain losses go through dfdx's tape. For CORAL and
//! MMD the gradient with respect to the batch features is computed in closed form and
//! pushed back through the trunk as the tape of the surrogate `Σ F ⊙ G` (G constant), so
//! each term's gradient is exact; the terms' parameter gradients are summed before one
//! optimiser step. Each step draws one source and one target mini-batch (seeded orders).

use dfdx::prelude::*;
use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tlab_core::{LabeledDomain, UnlabeledDomain};
use tlab_nn::gather_rows;
use tlab_nn::train::{gradients_of, one_hot};
use tlab_nn::{batches, grad_reverse, Activation, Mlp, Optimizer, OptimizerSpec};

use crate::check_dims;
use crate::error::{invalid, Result, TransductiveError};

/// Which alignment term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeepKind {
    SourceOnly,
    Dann,
    DeepCoral,
    Dan,
}

/// A deep DA run's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct DeepDa {
    pub kind: DeepKind,
    /// Trunk hidden widths (ReLU); the last is the adapted feature layer.
    pub hidden: Vec<usize>,
    /// The alignment weight λ (DANN: its final value).
    pub lambda: f32,
    pub epochs: usize,
    pub batch: usize,
    pub lr: f32,
}

impl DeepDa {
    pub fn check(&self) -> Result<()> {
        if self.hidden.is_empty() || self.hidden.contains(&0) {
            return Err(invalid(
                "hidden",
                format!("{:?}", self.hidden),
                "≥ 1 hidden layer, widths ≥ 1",
            ));
        }
        if !(self.lambda.is_finite() && self.lambda >= 0.0) {
            return Err(invalid("lambda", self.lambda, "a finite value ≥ 0"));
        }
        if self.epochs == 0 || self.batch < 2 {
            return Err(invalid(
                "epochs/batch",
                format!("{}/{}", self.epochs, self.batch),
                "epochs ≥ 1, batch ≥ 2",
            ));
        }
        Optimizer::new(OptimizerSpec::Adam {
            lr: self.lr,
            weight_decay: 0.0,
        })?;
        Ok(())
    }

    /// One label per target row.
    pub fn label(
        &self,
        source: &LabeledDomain,
        target: &UnlabeledDomain,
        seed: u64,
    ) -> Result<Array1<usize>> {
        self.check()?;
        check_dims("deep DA", source, target, None)?;
        let k = source.n_classes();
        let d = source.n_features();
        let mut sizes = vec![d];
        sizes.extend(&self.hidden);
        let trunk_acts = vec![Activation::Relu; self.hidden.len()];
        let width = *self.hidden.last().expect("checked");
        let mut trunk = Mlp::new(&sizes, &trunk_acts, seed)?;
        let mut head = Mlp::new(&[width, k], &[Activation::Identity], seed ^ 0x4ead)?;
        let mut dom = Mlp::new(
            &[width, width, 2],
            &[Activation::Relu, Activation::Identity],
            seed ^ 0xd0,
        )?;
        let spec = OptimizerSpec::Adam {
            lr: self.lr,
            weight_decay: 0.0,
        };
        let (mut o_trunk, mut o_head, mut o_dom) = (
            Optimizer::new(spec)?,
            Optimizer::new(spec)?,
            Optimizer::new(spec)?,
        );
        let xs = source.x().mapv(|v| v as f32);
        let xt = target.x().mapv(|v| v as f32);
        let ys = one_hot(source.y().view(), k);
        let (mut rs, mut rt) = (
            ChaCha8Rng::seed_from_u64(seed),
            ChaCha8Rng::seed_from_u64(seed ^ 0x7a),
        );
        let (mut qs, mut qt): (Vec<Vec<usize>>, Vec<Vec<usize>>) = (Vec::new(), Vec::new());
        let steps = xs.nrows().div_ceil(self.batch);
        let total = (steps * self.epochs) as f32;
        let mut step = 0usize;
        for _ in 0..self.epochs {
            for _ in 0..steps {
                if qs.is_empty() {
                    qs = batches(xs.nrows(), self.batch, &mut rs);
                    qs.reverse();
                }
                if qt.is_empty() {
                    qt = batches(xt.nrows(), self.batch, &mut rt);
                    qt.reverse();
                }
                let (bs, bt) = (qs.pop().expect("refilled"), qt.pop().expect("refilled"));
                let xbs = gather_rows(xs.view(), &bs);
                let xbt = gather_rows(xt.view(), &bt);
                let progress = step as f32 / total;
                let ysb = gather_rows(ys.view(), &bs);
                // Classification on the source batch (DANN builds it into its own graph).
                let class_grads = || {
                    let f = trunk.forward_batch(xbs.view());
                    let loss = cross_entropy_with_logits_loss(
                        head.forward_taped(f),
                        head.tensor(ysb.view()),
                    );
                    let g = loss.backward();
                    (gradients_of(&trunk, &g), gradients_of(&head, &g))
                };
                let (g_trunk, g_head) = match self.kind {
                    DeepKind::SourceOnly => class_grads(),
                    DeepKind::Dann => {
                        let lam = self.lambda * (2.0 / (1.0 + (-10.0 * progress).exp()) - 1.0);
                        let [g_trunk, g_head, g_dom] =
                            dann_gradients([&trunk, &head, &dom], &xbs, &ysb, &xbt, lam);
                        o_dom.update(&mut dom, &g_dom, &[], 1.0);
                        (g_trunk, g_head)
                    }
                    DeepKind::Dan => {
                        let (mut g_trunk, g_head) = class_grads();
                        let fs = features(&trunk, xbs.view())?;
                        let ft = features(&trunk, xbt.view())?;
                        let (gs, gt) = mmd_grad(fs.view(), ft.view());
                        for (xb, gfeat) in [(&xbs, gs), (&xbt, gt)] {
                            let f = trunk.forward_batch(xb.view());
                            let surrogate = (f * trunk.tensor(gfeat.view())).sum();
                            let g = surrogate.backward();
                            add(&mut g_trunk, &gradients_of(&trunk, &g), self.lambda);
                        }
                        (g_trunk, g_head)
                    }
                    DeepKind::DeepCoral => {
                        let (mut g_trunk, mut g_head) = class_grads();
                        // On the class scores (the paper's fc8), through head and trunk.
                        let zs = head
                            .forward(trunk.forward(xbs.view())?.view())?
                            .mapv(f64::from);
                        let zt = head
                            .forward(trunk.forward(xbt.view())?.view())?
                            .mapv(f64::from);
                        let (gs, gt) = coral_grad(zs.view(), zt.view());
                        for (xb, gz) in [(&xbs, gs), (&xbt, gt)] {
                            let f = trunk.forward_batch(xb.view());
                            let z = head.forward_taped(f);
                            let surrogate = (z * head.tensor(gz.view())).sum();
                            let g = surrogate.backward();
                            add(&mut g_trunk, &gradients_of(&trunk, &g), self.lambda);
                            add(&mut g_head, &gradients_of(&head, &g), self.lambda);
                        }
                        (g_trunk, g_head)
                    }
                };
                o_trunk.update(&mut trunk, &g_trunk, &[], 1.0);
                o_head.update(&mut head, &g_head, &[], 1.0);
                step += 1;
            }
        }
        let f = trunk.forward(xt.view())?;
        let scores = head.forward(f.view())?;
        let out: Array1<usize> = tlab_core::learners::argmax_rows(scores.mapv(f64::from).view());
        if scores.iter().any(|v| !v.is_finite()) {
            return Err(TransductiveError::Data {
                method: "deep DA",
                detail: "training diverged (non-finite outputs); lower `lr` or `lambda`".into(),
            });
        }
        Ok(out)
    }
}

/// One DANN step's gradients for (trunk, head, domain classifier), from one taped graph:
/// the source batch goes through the trunk once and its features feed both the label head
/// and, through a second handle on the same tape node (`retaped`; dfdx merges tapes and
/// runs them in creation order), the gradient-reversal layer and the domain classifier;
/// the target batch feeds the domain classifier. Loss: cross-entropy of the labels plus
/// the domain cross-entropy averaged over both batches (each half weighs ½).
fn dann_gradients(
    [trunk, head, dom]: [&Mlp; 3],
    xbs: &Array2<f32>,
    ysb: &Array2<f32>,
    xbt: &Array2<f32>,
    lam: f32,
) -> [Vec<Vec<f32>>; 3] {
    let fs = trunk.forward_batch(xbs.view());
    let fs_dom = fs.retaped::<OwnedTape<f32, Cpu>>();
    let class = cross_entropy_with_logits_loss(head.forward_taped(fs), head.tensor(ysb.view()));
    let ft = trunk.forward_batch(xbt.view());
    let domain_loss = |f, label: usize, n: usize| {
        let t = one_hot(Array1::from_elem(n, label).view(), 2);
        cross_entropy_with_logits_loss(
            dom.forward_taped(grad_reverse(f, lam)),
            dom.tensor(t.view()),
        ) * 0.5
    };
    let loss = class + domain_loss(fs_dom, 0, xbs.nrows()) + domain_loss(ft, 1, xbt.nrows());
    let g = loss.backward();
    [
        gradients_of(trunk, &g),
        gradients_of(head, &g),
        gradients_of(dom, &g),
    ]
}

fn add(acc: &mut [Vec<f32>], g: &[Vec<f32>], w: f32) {
    for (a, v) in acc.iter_mut().zip(g) {
        a.iter_mut().zip(v).for_each(|(a, x)| *a += w * x);
    }
}

fn features(trunk: &Mlp, x: ArrayView2<'_, f32>) -> Result<Array2<f64>> {
    Ok(trunk.forward(x)?.mapv(f64::from))
}

/// `∂/∂F` of `‖C_s − C_t‖²_F / (4 d²)` for each batch: `± X_c (C_s − C_t) / ((n − 1) d²)`.
pub fn coral_grad(fs: ArrayView2<'_, f64>, ft: ArrayView2<'_, f64>) -> (Array2<f32>, Array2<f32>) {
    let d = fs.ncols() as f64;
    let centred = |x: ArrayView2<'_, f64>| &x - &x.mean_axis(Axis(0)).expect("rows");
    let (cs_x, ct_x) = (centred(fs), centred(ft));
    let cov = |c: &Array2<f64>| c.t().dot(c) / (c.nrows() as f64 - 1.0).max(1.0);
    let diff = cov(&cs_x) - cov(&ct_x);
    let gs = cs_x.dot(&diff) / ((fs.nrows() as f64 - 1.0).max(1.0) * d * d);
    let gt = -(ct_x.dot(&diff)) / ((ft.nrows() as f64 - 1.0).max(1.0) * d * d);
    (gs.mapv(|v| v as f32), gt.mapv(|v| v as f32))
}

/// The multi-kernel MMD² of DAN (biased; bandwidths the batch median × {¼, ½, 1, 2, 4}) and
/// its gradient with respect to each batch's features.
pub fn mmd_grad(fs: ArrayView2<'_, f64>, ft: ArrayView2<'_, f64>) -> (Array2<f32>, Array2<f32>) {
    let (ns, nt) = (fs.nrows(), ft.nrows());
    let z = ndarray::concatenate(Axis(0), &[fs.view(), ft.view()]).expect("same width");
    let n = ns + nt;
    let sq: Vec<f64> = z.rows().into_iter().map(|r| r.dot(&r)).collect();
    let g = z.dot(&z.t());
    let dist = Array2::from_shape_fn((n, n), |(i, j)| (sq[i] + sq[j] - 2.0 * g[(i, j)]).max(0.0));
    let mut off: Vec<f64> = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .map(|(i, j)| dist[(i, j)])
        .collect();
    off.sort_by(f64::total_cmp);
    let med = off.get(off.len() / 2).copied().unwrap_or(1.0).max(1e-12);
    let a = mmd_coefficients(ns, nt);
    let mut grad = Array2::<f64>::zeros(z.dim());
    for scale in [0.25, 0.5, 1.0, 2.0, 4.0] {
        let gamma = 1.0 / (scale * med);
        // ∂/∂z_i Σ_jl a_j a_l k(z_j, z_l) = −4γ a_i Σ_j a_j k_ij (z_i − z_j), per kernel / 5:
        // with W = K·diag(a), −4γ a_i (rowsum(W)_i z_i − (W Z)_i).
        let w = Array2::from_shape_fn((n, n), |(i, j)| (-gamma * dist[(i, j)]).exp() * a[j]);
        let rows = w.sum_axis(Axis(1));
        let wz = w.dot(&z);
        for i in 0..n {
            let c = -4.0 * gamma * a[i] / 5.0;
            let mut g = grad.row_mut(i);
            g.scaled_add(c * rows[i], &z.row(i));
            g.scaled_add(-c, &wz.row(i));
        }
    }
    let gs = grad.slice(ndarray::s![..ns, ..]).mapv(|v| v as f32);
    let gt = grad.slice(ndarray::s![ns.., ..]).mapv(|v| v as f32);
    (gs, gt)
}

/// Coefficient of k(z_i, z_j) in MMD² is a_i a_j, with a = 1/ns on the source rows and
/// −1/nt on the target rows (source first).
fn mmd_coefficients(ns: usize, nt: usize) -> Array1<f64> {
    (0..ns + nt)
        .map(|i| {
            if i < ns {
                1.0 / ns as f64
            } else {
                -1.0 / nt as f64
            }
        })
        .collect()
}

/// The multi-kernel MMD² value whose gradient [`mmd_grad`] gives (for tests).
#[cfg(test)]
fn mmd_value(fs: ArrayView2<'_, f64>, ft: ArrayView2<'_, f64>, med: f64) -> f64 {
    let (ns, nt) = (fs.nrows(), ft.nrows());
    let z = ndarray::concatenate(Axis(0), &[fs.view(), ft.view()]).expect("same width");
    let n = ns + nt;
    let a = mmd_coefficients(ns, nt);
    let mut v = 0.0;
    for scale in [0.25, 0.5, 1.0, 2.0, 4.0] {
        let gamma = 1.0 / (scale * med);
        for i in 0..n {
            for j in 0..n {
                let d: f64 = z
                    .row(i)
                    .iter()
                    .zip(z.row(j))
                    .map(|(x, y)| (x - y) * (x - y))
                    .sum();
                v += a[i] * a[j] * (-gamma * d).exp() / 5.0;
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: usize, shift: f64, seed: usize) -> Array2<f64> {
        Array2::from_shape_fn((n, 3), |(i, j)| {
            (((i + seed) * 7 + j * 3) as f64 * 0.37).sin() * (1.0 + j as f64 * 0.3) + shift
        })
    }

    /// Central finite differences of `f` at `x` (row-major entries).
    fn numeric(x: &Array2<f64>, f: &dyn Fn(&Array2<f64>) -> f64) -> Array2<f64> {
        let h = 1e-6;
        Array2::from_shape_fn(x.dim(), |(i, j)| {
            let (mut a, mut b) = (x.clone(), x.clone());
            a[(i, j)] += h;
            b[(i, j)] -= h;
            (f(&a) - f(&b)) / (2.0 * h)
        })
    }

    /// The one-graph DANN step gives the gradients of the earlier three-backward step (the
    /// label loss back-propagated alone, then each half of the domain loss alone, summed):
    /// the same mathematics, so equal to float rounding.
    #[test]
    fn one_graph_dann_gradients_equal_three_separate_backward_passes() {
        let trunk = Mlp::new(&[3, 5], &[Activation::Relu], 1).unwrap();
        let head = Mlp::new(&[5, 2], &[Activation::Identity], 2).unwrap();
        let dom = Mlp::new(&[5, 5, 2], &[Activation::Relu, Activation::Identity], 3).unwrap();
        let xs = sample(6, 0.0, 0).mapv(|v| v as f32);
        let xt = sample(4, 0.4, 5).mapv(|v| v as f32);
        let ys = one_hot(Array1::from(vec![0, 1, 1, 0, 1, 0]).view(), 2);
        let lam = 0.7;
        let [gt, gh, gd] = dann_gradients([&trunk, &head, &dom], &xs, &ys, &xt, lam);
        // The earlier computation.
        let f = trunk.forward_batch(xs.view());
        let loss = cross_entropy_with_logits_loss(head.forward_taped(f), head.tensor(ys.view()));
        let g = loss.backward();
        let (mut want_t, want_h) = (gradients_of(&trunk, &g), gradients_of(&head, &g));
        let mut want_d: Option<Vec<Vec<f32>>> = None;
        for (xb, label) in [(&xs, 0usize), (&xt, 1usize)] {
            let f = trunk.forward_batch(xb.view());
            let z = dom.forward_taped(grad_reverse(f, lam));
            let t = one_hot(Array1::from_elem(xb.nrows(), label).view(), 2);
            let g = (cross_entropy_with_logits_loss(z, dom.tensor(t.view())) * 0.5).backward();
            add(&mut want_t, &gradients_of(&trunk, &g), 1.0);
            let d = gradients_of(&dom, &g);
            match &mut want_d {
                None => want_d = Some(d),
                Some(acc) => add(acc, &d, 1.0),
            }
        }
        let want_d = want_d.unwrap();
        for (got, want, what) in [
            (&gt, &want_t, "trunk"),
            (&gh, &want_h, "head"),
            (&gd, &want_d, "domain"),
        ] {
            assert_eq!(got.len(), want.len(), "{what}");
            for (a, b) in got.iter().flatten().zip(want.iter().flatten()) {
                assert!((a - b).abs() < 1e-6, "{what}: {a} vs {b}");
            }
        }
        // The reversal reaches the trunk: its gradient differs from the label loss's alone.
        assert!(gt
            .iter()
            .flatten()
            .zip(
                gradients_of(&trunk, &{
                    let f = trunk.forward_batch(xs.view());
                    cross_entropy_with_logits_loss(head.forward_taped(f), head.tensor(ys.view()))
                        .backward()
                })
                .iter()
                .flatten()
            )
            .any(|(a, b)| (a - b).abs() > 1e-4));
    }

    #[test]
    fn the_coral_gradient_matches_finite_differences() {
        let (fs, ft) = (sample(6, 0.0, 0), sample(5, 0.3, 9));
        let loss = |s: &Array2<f64>, t: &Array2<f64>| {
            let cov = |x: &Array2<f64>| {
                let c = x - &x.mean_axis(Axis(0)).unwrap();
                c.t().dot(&c) / (x.nrows() as f64 - 1.0)
            };
            (cov(s) - cov(t)).mapv(|v| v * v).sum() / (4.0 * 9.0)
        };
        let (gs, gt) = coral_grad(fs.view(), ft.view());
        let ns = numeric(&fs, &|s| loss(s, &ft));
        let nt = numeric(&ft, &|t| loss(&fs, t));
        for (a, b) in gs.iter().zip(&ns).chain(gt.iter().zip(&nt)) {
            assert!((f64::from(*a) - b).abs() < 1e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn the_mmd_gradient_matches_finite_differences_at_a_fixed_bandwidth() {
        let (fs, ft) = (sample(4, 0.0, 0), sample(5, 0.5, 3));
        // The bandwidth is the batch median, a function of the features; the gradient is
        // taken with it held fixed (as DAN does), so compare at that median.
        let z = ndarray::concatenate(Axis(0), &[fs.view(), ft.view()]).unwrap();
        let mut d: Vec<f64> = Vec::new();
        for i in 0..9 {
            for j in i + 1..9 {
                d.push(
                    z.row(i)
                        .iter()
                        .zip(z.row(j))
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum(),
                );
            }
        }
        d.sort_by(f64::total_cmp);
        let med = d[d.len() / 2];
        let (gs, gt) = mmd_grad(fs.view(), ft.view());
        let ns = numeric(&fs, &|s| mmd_value(s.view(), ft.view(), med));
        let nt = numeric(&ft, &|t| mmd_value(fs.view(), t.view(), med));
        for (a, b) in gs.iter().zip(&ns).chain(gt.iter().zip(&nt)) {
            assert!((f64::from(*a) - b).abs() < 1e-6, "{a} vs {b}");
        }
    }
}
