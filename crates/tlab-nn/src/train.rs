//! The training loop shared by the deep methods: softmax cross-entropy from class indices,
//! mini-batches in a seeded order, Adam or SGD with momentum (PyTorch's update rules), L2
//! weight decay, a learning-rate schedule, per-layer learning-rate multipliers (0 freezes a
//! layer), an optional pull toward anchor weights (L2-SP), and early stopping on a
//! validation split that the caller takes from rows the setting allows.

use dfdx::prelude::*;
use ndarray::{Array2, ArrayView1, ArrayView2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tlab_core::CoreError;

use crate::{batches, Mlp, Result};

/// Which optimiser, with PyTorch's semantics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum OptimizerSpec {
    /// `torch.optim.Adam(lr, weight_decay)` (β = 0.9, 0.999; ε = 1e-8).
    Adam {
        lr: f32,
        #[serde(default)]
        weight_decay: f32,
    },
    /// `torch.optim.SGD(lr, momentum, weight_decay)`: `buf = μ buf + g`, `p −= lr buf`.
    Sgd {
        lr: f32,
        #[serde(default)]
        momentum: f32,
        #[serde(default)]
        weight_decay: f32,
    },
}

/// The learning rate over epochs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Schedule {
    #[default]
    Constant,
    /// × `gamma` every `every` epochs (`StepLR`).
    Step { every: usize, gamma: f32 },
    /// Cosine from the base rate to 0 over the run's epochs (`CosineAnnealingLR`, η_min 0).
    Cosine,
}

impl Schedule {
    /// The factor on the base rate in epoch `e` (0-based) of `epochs`.
    pub fn factor(&self, e: usize, epochs: usize) -> f32 {
        match *self {
            Schedule::Constant => 1.0,
            Schedule::Step { every, gamma } => gamma.powi((e / every.max(1)) as i32),
            Schedule::Cosine => {
                0.5 * (1.0 + (std::f32::consts::PI * e as f32 / epochs.max(1) as f32).cos())
            }
        }
    }
}

/// One optimiser state over a model's parameter list (layer by layer, weight then bias).
#[derive(Debug, Clone)]
pub struct Optimizer {
    spec: OptimizerSpec,
    t: i32,
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    /// The parameter being updated, copied out of its tensor and back (reused: no
    /// allocation a step).
    buf: Vec<f32>,
}

impl Optimizer {
    pub fn new(spec: OptimizerSpec) -> Result<Self> {
        let (lr, wd, mom) = match spec {
            OptimizerSpec::Adam { lr, weight_decay } => (lr, weight_decay, 0.0),
            OptimizerSpec::Sgd {
                lr,
                momentum,
                weight_decay,
            } => (lr, weight_decay, momentum),
        };
        if !(lr.is_finite() && lr > 0.0) {
            return Err(CoreError::invalid_param("lr", lr, "a finite value > 0"));
        }
        if !(wd.is_finite() && wd >= 0.0) {
            return Err(CoreError::invalid_param(
                "weight_decay",
                wd,
                "a finite value ≥ 0",
            ));
        }
        if !(mom.is_finite() && (0.0..1.0).contains(&mom)) {
            return Err(CoreError::invalid_param("momentum", mom, "in [0, 1)"));
        }
        Ok(Self {
            spec,
            t: 0,
            m: Vec::new(),
            v: Vec::new(),
            buf: Vec::new(),
        })
    }

    /// One update: `grads[k]` for parameter `k`; layer `l`'s step scaled by
    /// `rates[l]` × `lr_factor` (a rate of 0 leaves the layer, and its state, untouched).
    pub fn update(&mut self, model: &mut Mlp, grads: &[Vec<f32>], rates: &[f32], lr_factor: f32) {
        self.t += 1;
        let mut k = 0;
        for (l, layer) in model.layers.iter_mut().enumerate() {
            let rate = rates.get(l).copied().unwrap_or(1.0) * lr_factor;
            for param in layer.params_mut() {
                // Parameter `k` of the flat list (the layer's weight, bias, then its layer
                // norm's γ and β).
                k += 1;
                let k = k - 1;
                if self.m.len() <= k {
                    self.m.resize(k + 1, Vec::new());
                    self.v.resize(k + 1, Vec::new());
                }
                if rate == 0.0 {
                    continue;
                }
                // Parameters are contiguous (built by `tensor_from_vec`, written back by
                // `copy_from`), so the physical copy is the logical one — and a memcpy,
                // where `as_vec` walks an index iterator.
                let p = &mut self.buf;
                p.resize(param.len(), 0.0);
                param.read(p);
                let g = &grads[k];
                let first = self.m[k].is_empty();
                if first {
                    self.m[k] = vec![0.0; p.len()];
                    self.v[k] = vec![0.0; p.len()];
                }
                let (m, v) = (&mut self.m[k], &mut self.v[k]);
                match self.spec {
                    OptimizerSpec::Adam { lr, weight_decay } => {
                        adam_step(p, g, m, v, self.t, rate * lr, weight_decay);
                    }
                    OptimizerSpec::Sgd {
                        lr,
                        momentum,
                        weight_decay,
                    } => {
                        for i in 0..p.len() {
                            let gi = g[i] + weight_decay * p[i];
                            // PyTorch: the buffer starts as the first gradient.
                            m[i] = if first || momentum == 0.0 {
                                gi
                            } else {
                                momentum * m[i] + gi
                            };
                            p[i] -= rate * lr * m[i];
                        }
                    }
                }
                param.write(p);
            }
        }
    }
}

/// One Adam step over a parameter tensor, in `torch.optim.Adam`'s arithmetic (its
/// single-tensor path): `g += wd·p; m = β₁m + (1−β₁)g; v = β₂v + (1−β₂)g²;
/// p −= (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε)`, β = (0.9, 0.999), ε = 1e-8.
/// The loop runs under `pulp`'s run-time dispatch (AVX2 where the CPU has it, baseline
/// x86-64 otherwise): the arithmetic per element is the same IEEE operations on either path
/// (no fused multiply-adds), so a seed gives the same bytes on both.
fn adam_step(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], t: i32, lr: f32, wd: f32) {
    let (b1, b2, eps) = (0.9f32, 0.999f32, 1e-8f32);
    let step = lr / (1.0 - b1.powi(t));
    let root_b2t = (1.0 - b2.powi(t)).sqrt();
    pulp::Arch::new().dispatch(
        #[inline(always)]
        || {
            for (((p, g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                let gi = g + wd * *p;
                *m = b1 * *m + (1.0 - b1) * gi;
                *v = b2 * *v + (1.0 - b2) * gi * gi;
                *p -= step * *m / (v.sqrt() / root_b2t + eps);
            }
        },
    )
}

/// Every parameter's gradient, in the model's parameter order.
pub fn gradients_of(model: &Mlp, grads: &Gradients<f32, Cpu>) -> Vec<Vec<f32>> {
    model
        .layers
        .iter()
        .flat_map(|l| {
            let mut g = vec![
                crate::contiguous_vec(&grads.get(&l.w)),
                crate::contiguous_vec(&grads.get(&l.b)),
            ];
            if let Some(n) = &l.norm {
                g.push(crate::contiguous_vec(&grads.get(&n.gamma)));
                g.push(crate::contiguous_vec(&grads.get(&n.beta)));
            }
            g
        })
        .collect()
}

/// Gradient reversal (Ganin & Lempitsky, 2015): the identity forward, `−λ ×` the gradient
/// backward — `−λ·x + (1 + λ)·x̄` with `x̄` the same values off the tape.
pub fn grad_reverse(x: crate::Taped, lambda: f32) -> crate::Taped {
    let (plain, tape) = x.split_tape();
    let taped = plain.clone().put_tape(tape);
    taped * (-lambda) + plain * (1.0 + lambda)
}

/// How to train a classifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch: usize,
    pub optimizer: OptimizerSpec,
    #[serde(default)]
    pub schedule: Schedule,
    /// Early stopping: stop after this many epochs without a better validation loss and
    /// restore the best weights (needs a validation set; `None`: train every epoch).
    #[serde(default)]
    pub patience: Option<usize>,
}

impl TrainConfig {
    pub fn check(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(CoreError::invalid_param("epochs", self.epochs, "≥ 1"));
        }
        if self.batch == 0 {
            return Err(CoreError::invalid_param("batch", self.batch, "≥ 1"));
        }
        Optimizer::new(self.optimizer).map(|_| ())
    }
}

/// A pull of every layer's parameters toward anchor values, `α/2 ‖θ − θ₀‖²` on the layers
/// that have an anchor and `β/2 ‖θ‖²` on the others (L2-SP, Li, Grandvalet, Davoine, ICML
/// 2018; the anchors are the pretrained weights).
#[derive(Debug, Clone)]
pub struct Anchor {
    /// One entry per parameter (layer by layer, weight then bias); `None`: no anchor.
    pub values: Vec<Option<Vec<f32>>>,
    pub alpha: f32,
    pub beta: f32,
}

/// What training did: the epochs run and the training and validation losses per epoch.
#[derive(Debug, Clone, Default)]
pub struct TrainLog {
    pub train_loss: Vec<f32>,
    pub val_loss: Vec<f32>,
    pub best_epoch: usize,
}

/// Mean softmax cross-entropy of `model` on rows `x` with labels `y`.
pub fn cross_entropy(model: &Mlp, x: ArrayView2<'_, f32>, y: ArrayView1<'_, usize>) -> Result<f32> {
    let logits = model.forward(x)?;
    let mut total = 0.0f64;
    for (row, &c) in logits.rows().into_iter().zip(y) {
        let mx = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        let lse = row
            .iter()
            .map(|&v| ((v - mx) as f64).exp())
            .sum::<f64>()
            .ln()
            + mx as f64;
        total += lse - row[c] as f64;
    }
    Ok((total / y.len().max(1) as f64) as f32)
}

/// One-hot rows of `y` over `k` classes.
pub fn one_hot(y: ArrayView1<'_, usize>, k: usize) -> Array2<f32> {
    let mut t = Array2::zeros((y.len(), k));
    for (i, &c) in y.iter().enumerate() {
        t[(i, c)] = 1.0;
    }
    t
}

/// Trains `model` as a `k`-class classifier on `(x, y)`; `val` (if any) drives early
/// stopping; `rates` are per-layer learning-rate multipliers (missing = 1, 0 = frozen);
/// `anchor` adds the L2-SP pull. Seeded: the same seed gives the same weights.
#[allow(clippy::too_many_arguments)]
pub fn train_classifier(
    model: &mut Mlp,
    x: ArrayView2<'_, f32>,
    y: ArrayView1<'_, usize>,
    val: Option<(ArrayView2<'_, f32>, ArrayView1<'_, usize>)>,
    config: &TrainConfig,
    rates: &[f32],
    anchor: Option<&Anchor>,
    seed: u64,
) -> Result<TrainLog> {
    config.check()?;
    let k = model.n_outputs();
    if x.nrows() == 0 || x.nrows() != y.len() {
        return Err(CoreError::Shape {
            context: "training rows".into(),
            detail: format!("{} rows, {} labels", x.nrows(), y.len()),
        });
    }
    if x.ncols() != model.n_inputs() {
        return Err(CoreError::Shape {
            context: "training rows".into(),
            detail: format!(
                "network expects {} features, given {}",
                model.n_inputs(),
                x.ncols()
            ),
        });
    }
    if let Some(&c) = y.iter().find(|&&c| c >= k) {
        return Err(CoreError::invalid_param(
            "label",
            c,
            format!("below the network's {k} outputs"),
        ));
    }
    if config.patience.is_some() && val.is_none() {
        return Err(CoreError::invalid_param(
            "patience",
            format!("{:?}", config.patience),
            "a validation split (early stopping needs one)",
        ));
    }
    let mut opt = Optimizer::new(config.optimizer)?;
    let mut order = ChaCha8Rng::seed_from_u64(seed);
    let targets = one_hot(y, k);
    let mut log = TrainLog::default();
    let mut best: Option<(f32, Mlp)> = None;
    let mut since_best = 0usize;
    for epoch in 0..config.epochs {
        let factor = config.schedule.factor(epoch, config.epochs);
        let mut sum = 0.0f32;
        let mut seen = 0usize;
        for b in batches(x.nrows(), config.batch, &mut order) {
            let xb = crate::gather_rows(x, &b);
            let tb = crate::gather_rows(targets.view(), &b);
            let logits = if model.dropout > 0.0 {
                model.forward_train_batch(xb.view(), &mut order)
            } else {
                model.forward_batch(xb.view())
            };
            let loss = cross_entropy_with_logits_loss(logits, model.tensor(tb.view()));
            sum += loss.array() * b.len() as f32;
            seen += b.len();
            let g = loss.backward();
            let mut grads = gradients_of(model, &g);
            if let Some(a) = anchor {
                let params = crate::flat_param_list(model);
                for ((gk, pk), ak) in grads.iter_mut().zip(&params).zip(&a.values) {
                    match ak {
                        Some(a0) => gk
                            .iter_mut()
                            .zip(pk.iter().zip(a0))
                            .for_each(|(g, (p, p0))| *g += a.alpha * (p - p0)),
                        None => gk.iter_mut().zip(pk).for_each(|(g, p)| *g += a.beta * p),
                    }
                }
            }
            opt.update(model, &grads, rates, factor);
        }
        log.train_loss.push(sum / seen as f32);
        // Progress of a long training: `TLAB_LOG=tlab_nn=debug tlab run …` prints one line
        // an epoch (the sweep's bar counts whole runs).
        tracing::debug!(
            epoch,
            of = config.epochs,
            train_loss = sum / seen as f32,
            "epoch"
        );
        if let Some((vx, vy)) = val {
            let vl = cross_entropy(model, vx, vy)?;
            tracing::debug!(epoch, val_loss = vl, "validation");
            log.val_loss.push(vl);
            if best.as_ref().is_none_or(|(b, _)| vl < *b) {
                best = Some((vl, model.clone()));
                log.best_epoch = epoch;
                since_best = 0;
            } else {
                since_best += 1;
                if config.patience.is_some_and(|p| since_best >= p) {
                    break;
                }
            }
        } else {
            log.best_epoch = epoch;
        }
    }
    if let (Some(_), Some((_, m))) = (config.patience, best) {
        *model = m;
    }
    Ok(log)
}

/// A seeded split of `n` rows into (train, validation), about `fraction` of each class's
/// rows held out but at least one row of every class kept for training.
pub fn stratified_split(
    y: ArrayView1<'_, usize>,
    fraction: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    use rand::seq::SliceRandom;
    let k = y.iter().copied().max().map_or(0, |m| m + 1);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for c in 0..k {
        let mut rows: Vec<usize> = (0..y.len()).filter(|&i| y[i] == c).collect();
        rows.shuffle(&mut rng);
        let hold =
            ((rows.len() as f64 * fraction).round() as usize).min(rows.len().saturating_sub(1));
        val.extend_from_slice(&rows[..hold]);
        train.extend_from_slice(&rows[hold..]);
    }
    train.sort_unstable();
    val.sort_unstable();
    (train, val)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{flat_params, Activation};
    use ndarray::Array2;
    use rand::Rng;

    #[test]
    fn two_sgd_momentum_steps_match_torch_sgds_update_rule() {
        // torch.optim.SGD(lr=0.1, momentum=0.9, weight_decay=0.01) on mean((x·w + b − y)²),
        // w = [0.5, −0.25], b = 0.1, x = [[1, 2], [3, −1]], y = [1, 0]; numpy transcription
        // of torch's rule (g += wd·p; buf = g at the first step, else 0.9·buf + g; p −= lr·buf):
        //   r = x@p[:2] + p[2] − y; g = [Σ r·x₀, Σ r·x₁, Σ r] + 0.01·p
        // after one step [0.0345, 0.11525, 0.0049], after two [−0.3094195, 0.589_194_8, −0.0069999]
        let dev = Cpu::default();
        let mut m = Mlp::new(&[2, 1], &[Activation::Identity], 0).unwrap();
        m.layers[0].w = dev.tensor_from_vec(vec![0.5, -0.25], (2, 1));
        m.layers[0].b = dev.tensor_from_vec(vec![0.1], (1,));
        let x = Array2::from_shape_vec((2, 2), vec![1.0f32, 2.0, 3.0, -1.0]).unwrap();
        let y = Array2::from_shape_vec((2, 1), vec![1.0f32, 0.0]).unwrap();
        let mut opt = Optimizer::new(OptimizerSpec::Sgd {
            lr: 0.1,
            momentum: 0.9,
            weight_decay: 0.01,
        })
        .unwrap();
        let want = [
            [0.0345f32, 0.11525, 0.0049],
            [-0.3094195, 0.589_194_8, -0.006_999_9],
        ];
        for step in want {
            let pred = m.forward_batch(x.view());
            let g = mse_loss(pred, m.tensor(y.view())).backward();
            let grads = gradients_of(&m, &g);
            opt.update(&mut m, &grads, &[], 1.0);
            let got = flat_params(&m);
            for (g, w) in got.iter().zip(step) {
                assert!((g - w).abs() < 1e-6, "{got:?} vs {step:?}");
            }
        }
    }

    #[test]
    fn a_zero_rate_freezes_a_layer_and_schedules_scale_the_rate() {
        let mut m = Mlp::new(&[3, 4, 2], &[Activation::Relu, Activation::Identity], 1).unwrap();
        let before = m.layers[0].w.as_vec();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let x = Array2::from_shape_fn((20, 3), |_| rng.gen_range(-1.0f32..1.0));
        let y = ndarray::Array1::from_shape_fn(20, |i| i % 2);
        let cfg = TrainConfig {
            epochs: 3,
            batch: 5,
            optimizer: OptimizerSpec::Adam {
                lr: 0.01,
                weight_decay: 0.0,
            },
            schedule: Schedule::Cosine,
            patience: None,
        };
        train_classifier(&mut m, x.view(), y.view(), None, &cfg, &[0.0, 1.0], None, 0).unwrap();
        assert_eq!(m.layers[0].w.as_vec(), before);
        assert_eq!(Schedule::Cosine.factor(0, 10), 1.0);
        assert!((Schedule::Cosine.factor(5, 10) - 0.5).abs() < 1e-6);
        assert!(
            (Schedule::Step {
                every: 2,
                gamma: 0.1
            }
            .factor(5, 10)
                - 0.01)
                .abs()
                < 1e-8
        );
    }

    #[test]
    fn gradient_reversal_is_the_identity_forward_and_negates_the_gradient() {
        let dev = Cpu::default();
        let w: crate::Matrix = dev.tensor_from_vec(vec![1.5f32, -2.0], (1, 2));
        let x = w.leaky_trace();
        let y = grad_reverse(x, 0.5);
        assert_eq!(y.as_vec(), vec![1.5, -2.0]);
        let g = y.sum().backward();
        assert_eq!(g.get(&w).as_vec(), vec![-0.5, -0.5]);
    }

    #[test]
    fn early_stopping_restores_the_best_epoch_and_needs_a_validation_set() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        // Labels independent of the inputs: validation loss stops improving early.
        let x = Array2::from_shape_fn((60, 5), |_| rng.gen_range(-1.0f32..1.0));
        let y = ndarray::Array1::from_shape_fn(60, |_| rng.gen_range(0..2usize));
        let (tr, va) = stratified_split(y.view(), 0.25, 0);
        assert_eq!(tr.len() + va.len(), 60);
        let (xt, yt) = (
            x.select(ndarray::Axis(0), &tr),
            y.select(ndarray::Axis(0), &tr),
        );
        let (xv, yv) = (
            x.select(ndarray::Axis(0), &va),
            y.select(ndarray::Axis(0), &va),
        );
        let cfg = TrainConfig {
            epochs: 200,
            batch: 8,
            optimizer: OptimizerSpec::Adam {
                lr: 0.05,
                weight_decay: 0.0,
            },
            schedule: Schedule::Constant,
            patience: Some(5),
        };
        let mut m = Mlp::new(&[5, 32, 2], &[Activation::Relu, Activation::Identity], 0).unwrap();
        let log = train_classifier(
            &mut m,
            xt.view(),
            yt.view(),
            Some((xv.view(), yv.view())),
            &cfg,
            &[],
            None,
            0,
        )
        .unwrap();
        assert!(log.val_loss.len() < 200, "stopped early");
        assert_eq!(log.val_loss.len(), log.best_epoch + 1 + 5);
        let best = log.val_loss[log.best_epoch];
        assert!((cross_entropy(&m, xv.view(), yv.view()).unwrap() - best).abs() < 1e-6);
        let no_val = TrainConfig {
            patience: Some(3),
            ..cfg
        };
        assert!(
            train_classifier(&mut m, xt.view(), yt.view(), None, &no_val, &[], None, 0).is_err()
        );
        // A label beyond the outputs is refused.
        let bad = ndarray::Array1::from_elem(tr.len(), 5usize);
        assert!(train_classifier(
            &mut m,
            xt.view(),
            bad.view(),
            None,
            &TrainConfig {
                patience: None,
                ..cfg
            },
            &[],
            None,
            0
        )
        .is_err());
    }
}

#[cfg(test)]
mod layer_tests {
    use crate::{flat_params, Activation, Mlp};
    use dfdx::prelude::*;
    use ndarray::array;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn gelu_is_pytorchs_exact_form_and_dropout_is_seeded_and_off_at_inference() {
        // torch.nn.GELU()(torch.tensor([1., -1., 2.])) = [0.8413447, -0.1586553, 1.9544997]
        let mut m = Mlp::new(&[1, 3], &[Activation::Gelu], 0).unwrap();
        let dev = Cpu::default();
        m.layers[0].w = dev.tensor_from_vec(vec![1.0, -1.0, 2.0], (1, 3));
        m.layers[0].b = dev.tensor_from_vec(vec![0.0; 3], (3,));
        let y = m.forward(array![[1.0f32]].view()).unwrap();
        for (g, w) in y.iter().zip([0.841_344_7f32, -0.158_655_3, 1.954_499_7]) {
            assert!((g - w).abs() < 1e-5, "{y:?}");
        }
        // Dropout: inference is untouched; training masks are seeded.
        let net = Mlp::new(&[4, 8, 2], &[Activation::Relu, Activation::Identity], 1)
            .unwrap()
            .with_dropout(0.5)
            .unwrap();
        let x = array![[1.0f32, -0.5, 0.25, 2.0]];
        let plain = Mlp {
            dropout: 0.0,
            ..net.clone()
        };
        assert_eq!(
            net.forward(x.view()).unwrap(),
            plain.forward(x.view()).unwrap()
        );
        let run = |seed: u64| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            net.forward_train_batch(x.view(), &mut rng).as_vec()
        };
        assert_eq!(run(3), run(3));
        assert!(Mlp::new(&[2, 2], &[Activation::Relu], 0)
            .unwrap()
            .with_dropout(1.0)
            .is_err());
        let _ = flat_params(&net);
    }
}
