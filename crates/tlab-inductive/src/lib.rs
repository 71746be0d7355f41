//! tlab-inductive: a network pretrained on a labelled source task, reused for a target task
//! with few labels. Each strategy is a value a suite names (`strategy = { kind = ... }`):
//!
//! - `scratch`: the same MLP trained on the target labels only (the reference);
//! - `feature-extraction`: the pretrained trunk (every layer but the source head) frozen,
//!   its last hidden activations fed to a new head — a softmax layer trained by the loop
//!   (`head = "softmax"`), or linfa's multinomial logistic regression (`head = "logistic"`);
//! - `fine-tune`: the trunk plus a new head trained on the target labels, every layer
//!   (`top` absent) or only the top `top` layers (the rest frozen: rate 0);
//! - `l2-sp`: fine-tune all layers with `α/2 ‖w − w⁰‖²` toward the pretrained trunk and
//!   `β/2 ‖w‖²` on the new head (Li, Grandvalet, Davoine, "Explicit Inductive Bias for
//!   Transfer Learning with Convolutional Networks", ICML 2018) instead of weight decay;
//! - `discriminative`: fine-tune all layers with the rate of layer `l` (0 = bottom, L − 1 =
//!   head) multiplied by `decay^(L − 1 − l)` (Howard & Ruder, ACL 2018).
//!
//! Pretraining uses the source labels only, with early stopping on a seeded 10% split of
//! the source (never target rows). Pretrained weights are safetensors files
//! ([`tlab_nn::safetensors`]), so a user can bring their own for the same architecture.
//! "Bring your own features" needs no network: precomputed deep features loaded as the
//! domains' features are a frozen backbone's output, and `feature-extraction` with
//! `hidden = []` trains the head on them directly.

use std::path::PathBuf;

pub mod multitask;
pub mod shallow;

use ndarray::{Array1, Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};
use tlab_core::{CoreError, LabeledDomain};
use tlab_nn::train::{stratified_split, Anchor};
use tlab_nn::{train_classifier, Activation, Mlp, OptimizerSpec, Schedule, TrainConfig};

/// Errors of tlab-inductive.
#[derive(Debug, thiserror::Error)]
pub enum InductiveError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("{strategy}: {detail}")]
    Data {
        strategy: &'static str,
        detail: String,
    },
}

pub type Result<T, E = InductiveError> = std::result::Result<T, E>;

/// The network and how it is trained; sizes of the input and output layers come from the
/// data at run time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Hidden layer widths (ReLU after each).
    #[serde(default = "default_hidden")]
    pub hidden: Vec<usize>,
    /// Pretraining on the source (early stopping on 10% of the source).
    #[serde(default = "default_pretrain")]
    pub pretrain: TrainConfig,
    /// Training on the target's labelled rows (every strategy, and `scratch`).
    #[serde(default = "default_finetune")]
    pub finetune: TrainConfig,
    /// Weights to start from instead of pretraining (a safetensors file for this
    /// architecture with the source's class count as output).
    #[serde(default)]
    pub pretrained: Option<PathBuf>,
    /// Pretrain on this fraction of the source rows (per class, drawn by seed): the
    /// source-data budget (after Huh, Agrawal, Efros, 2016).
    #[serde(default = "whole")]
    pub source_fraction: f64,
    /// Hidden-layer activation: `relu` (default) or `gelu`. (Left out of the recorded
    /// parameters when default, so earlier result rows keep matching.)
    #[serde(default, skip_serializing_if = "is_relu")]
    pub activation: Activation,
    /// Dropout after each hidden layer while training (0 = none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub dropout: f32,
    /// Normalisation of each hidden layer's pre-activations: `none` (default) or `layer`
    /// (PyTorch's `nn.LayerNorm`). Batch norm is not offered: its running statistics need
    /// a train/eval split of the forward pass that dfdx's run-time-shaped ops leave to us,
    /// and layer norm serves the same purpose here without it.
    #[serde(default, skip_serializing_if = "is_no_norm")]
    pub norm: Norm,
}

/// Hidden-layer normalisation of a [`NetworkSpec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Norm {
    #[default]
    None,
    Layer,
}

fn is_no_norm(n: &Norm) -> bool {
    *n == Norm::None
}

fn is_relu(a: &Activation) -> bool {
    *a == Activation::Relu
}
fn is_zero(v: &f32) -> bool {
    *v == 0.0
}

fn whole() -> f64 {
    1.0
}

fn default_hidden() -> Vec<usize> {
    vec![256]
}
fn default_pretrain() -> TrainConfig {
    TrainConfig {
        epochs: 100,
        batch: 64,
        optimizer: OptimizerSpec::Adam {
            lr: 1e-3,
            weight_decay: 0.0,
        },
        schedule: Schedule::Constant,
        patience: Some(5),
    }
}
fn default_finetune() -> TrainConfig {
    TrainConfig {
        epochs: 100,
        batch: 32,
        optimizer: OptimizerSpec::Adam {
            lr: 1e-3,
            weight_decay: 0.0,
        },
        schedule: Schedule::Constant,
        patience: None,
    }
}

impl Default for NetworkSpec {
    fn default() -> Self {
        Self {
            hidden: default_hidden(),
            pretrain: default_pretrain(),
            finetune: default_finetune(),
            pretrained: None,
            source_fraction: 1.0,
            activation: Activation::Relu,
            dropout: 0.0,
            norm: Norm::None,
        }
    }
}

impl NetworkSpec {
    pub fn check(&self) -> Result<()> {
        if self.hidden.contains(&0) {
            return Err(CoreError::invalid_param(
                "hidden",
                format!("{:?}", self.hidden),
                "widths ≥ 1",
            )
            .into());
        }
        if !(self.source_fraction > 0.0 && self.source_fraction <= 1.0) {
            return Err(CoreError::invalid_param(
                "source_fraction",
                self.source_fraction,
                "in (0, 1]",
            )
            .into());
        }
        self.pretrain.check()?;
        self.finetune.check()?;
        if self.finetune.patience.is_some() {
            return Err(CoreError::invalid_param(
                "finetune.patience",
                format!("{:?}", self.finetune.patience),
                "none: a few-shot target has no labelled rows to spare for validation",
            )
            .into());
        }
        Ok(())
    }

    /// A fresh network `d → hidden… → k` (seeded).
    pub fn build(&self, d: usize, k: usize, seed: u64) -> Result<Mlp> {
        let mut sizes = vec![d];
        sizes.extend(&self.hidden);
        sizes.push(k);
        let mut acts = vec![self.activation; self.hidden.len()];
        acts.push(Activation::Identity);
        let m = Mlp::new(&sizes, &acts, seed)?.with_dropout(self.dropout)?;
        Ok(match self.norm {
            Norm::None => m,
            Norm::Layer => m.with_layer_norm(),
        })
    }
}

/// Trains the source classifier (or loads `pretrained`), seeded.
pub fn pretrain(source: &LabeledDomain, net: &NetworkSpec, seed: u64) -> Result<Mlp> {
    net.check()?;
    let mut model = net.build(source.n_features(), source.n_classes(), seed)?;
    if let Some(path) = &net.pretrained {
        tlab_nn::safetensors::load_into(&mut model, path)?;
        return Ok(model);
    }
    let (mut x, mut y) = (source.x().mapv(|v| v as f32), source.y().to_owned());
    if net.source_fraction < 1.0 {
        let (keep, _) = stratified_split(y.view(), 1.0 - net.source_fraction, seed ^ 0xf4ac);
        x = x.select(Axis(0), &keep);
        y = y.select(Axis(0), &keep);
    }
    let (tr, va) = stratified_split(y.view(), 0.1, seed ^ 0x5eed);
    let (xt, yt) = (x.select(Axis(0), &tr), y.select(Axis(0), &tr));
    let (xv, yv) = (x.select(Axis(0), &va), y.select(Axis(0), &va));
    let val = (!va.is_empty() && net.pretrain.patience.is_some()).then(|| (xv.view(), yv.view()));
    let config = if val.is_none() {
        TrainConfig {
            patience: None,
            ..net.pretrain.clone()
        }
    } else {
        net.pretrain.clone()
    };
    train_classifier(
        &mut model,
        xt.view(),
        yt.view(),
        val,
        &config,
        &[],
        None,
        seed,
    )?;
    Ok(model)
}

/// The head trained on frozen features.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Head {
    /// A softmax layer trained by the loop (the network's `finetune` settings).
    #[default]
    Softmax,
    /// linfa's multinomial logistic regression (L2 α = 1, L-BFGS).
    Logistic,
}

/// A strategy for the target task; see the crate documentation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum StrategySpec {
    Scratch,
    FeatureExtraction {
        #[serde(default)]
        head: Head,
    },
    FineTune {
        /// Train only the top `top` layers (the new head is one); absent: every layer.
        #[serde(default)]
        top: Option<usize>,
    },
    L2Sp {
        #[serde(default = "centi")]
        alpha: f32,
        #[serde(default = "centi")]
        beta: f32,
    },
    Discriminative {
        #[serde(default = "half")]
        decay: f32,
    },
    /// Multi-task learning, hard parameter sharing: one trunk, a head for the source task
    /// and one for the target task — plus one for each extra labelled task handed to
    /// [`StrategySpec::fit_predict_with_tasks`] (a suite's `extra_tasks`, e.g. the other
    /// Amazon domains) — trained jointly (`source_weight` on the gradient of every task but
    /// the target's); the target head predicts. Label sets may differ.
    MultiTask {
        #[serde(default = "unit_f")]
        source_weight: f32,
        /// Passes over the larger task (the source, usually); the network's `finetune`
        /// settings give the batch, optimiser and schedule.
        #[serde(default = "ten_epochs")]
        epochs: usize,
    },
    /// Shallow: TrAdaBoost over the source and the labelled target rows (no network).
    Tradaboost {
        #[serde(default = "twenty")]
        rounds: usize,
        #[serde(default = "logistic")]
        learner: tlab_core::LearnerSpec,
    },
    /// Shallow: logistic regression on the target rows regularised toward the source
    /// model's weights (no network; same label set).
    PriorLogistic {
        #[serde(default = "centi")]
        lambda: f32,
        #[serde(default = "three_hundred")]
        epochs: usize,
    },
}

fn ten_epochs() -> usize {
    10
}
fn twenty() -> usize {
    20
}
fn three_hundred() -> usize {
    300
}
fn unit_f() -> f32 {
    1.0
}
fn logistic() -> tlab_core::LearnerSpec {
    tlab_core::LearnerSpec::Logistic {
        c: 1.0,
        max_iter: 500,
        tol: tlab_core::learners::LOGISTIC_DEFAULT_TOL,
    }
}

fn centi() -> f32 {
    0.01
}
fn half() -> f32 {
    0.5
}

/// Names and one-line descriptions of every strategy (for `tlab list`).
pub const STRATEGIES: [(&str, &str); 8] = [
    ("scratch", "the same MLP trained on the target labels only"),
    (
        "feature-extraction",
        "head = softmax | logistic: frozen pretrained trunk, new head on its features",
    ),
    (
        "fine-tune",
        "top = all: trunk + new head trained on the target labels (top k layers only if set)",
    ),
    (
        "l2-sp",
        "alpha = 0.01, beta = 0.01: fine-tune all, pulled toward the pretrained weights",
    ),
    (
        "discriminative",
        "decay = 0.5: fine-tune all, layer rate × decay^(layers above it)",
    ),
    ("multi-task", "source_weight = 1, epochs = 10: shared trunk, a head per task, source and target trained jointly"),
    ("tradaboost", "rounds = 20, learner = logistic: TrAdaBoost over source + labelled target (shallow)"),
    ("prior-logistic", "lambda = 0.01, epochs = 300: logistic regression pulled toward the source model's weights (shallow)"),
];

impl StrategySpec {
    pub fn kind(&self) -> &'static str {
        match self {
            StrategySpec::Scratch => "scratch",
            StrategySpec::FeatureExtraction { .. } => "feature-extraction",
            StrategySpec::FineTune { .. } => "fine-tune",
            StrategySpec::L2Sp { .. } => "l2-sp",
            StrategySpec::Discriminative { .. } => "discriminative",
            StrategySpec::MultiTask { .. } => "multi-task",
            StrategySpec::Tradaboost { .. } => "tradaboost",
            StrategySpec::PriorLogistic { .. } => "prior-logistic",
        }
    }

    /// Whether the strategy starts from a source-pretrained network.
    pub fn uses_source(&self) -> bool {
        !matches!(
            self,
            StrategySpec::Scratch
                | StrategySpec::MultiTask { .. }
                | StrategySpec::Tradaboost { .. }
                | StrategySpec::PriorLogistic { .. }
        )
    }

    pub fn check(&self) -> Result<()> {
        let bad = |name: &'static str, v: f32, what: &str| -> Result<()> {
            Err(CoreError::invalid_param(name, v, what).into())
        };
        match *self {
            StrategySpec::FineTune { top: Some(0) } => {
                Err(CoreError::invalid_param("top", 0, "≥ 1 layer (or absent: all)").into())
            }
            StrategySpec::L2Sp { alpha, beta } if !(alpha >= 0.0 && beta >= 0.0) => {
                bad("alpha/beta", alpha.min(beta), "finite values ≥ 0")
            }
            StrategySpec::Discriminative { decay } if !(decay > 0.0 && decay <= 1.0) => {
                bad("decay", decay, "in (0, 1]")
            }
            StrategySpec::MultiTask {
                source_weight,
                epochs,
            } if !(source_weight.is_finite() && source_weight >= 0.0) || epochs == 0 => bad(
                "source_weight/epochs",
                source_weight,
                "source_weight ≥ 0 and epochs ≥ 1",
            ),
            StrategySpec::Tradaboost { rounds: 0, .. } => {
                Err(CoreError::invalid_param("rounds", 0, "≥ 1").into())
            }
            StrategySpec::Tradaboost { ref learner, .. } => {
                learner.build(0)?;
                Ok(())
            }
            StrategySpec::PriorLogistic { lambda, epochs }
                if !(lambda.is_finite() && lambda >= 0.0) || epochs == 0 =>
            {
                bad("lambda/epochs", lambda, "lambda ≥ 0 and epochs ≥ 1")
            }
            _ => Ok(()),
        }
    }

    /// Labels for every row of `target_x`, from the target's labelled rows `labeled` and
    /// (unless `scratch`) the source-pretrained network. The new head has
    /// `labeled.n_classes()` outputs, so the target's label set may differ from the source's.
    pub fn fit_predict(
        &self,
        source: &LabeledDomain,
        pretrained: Option<&Mlp>,
        labeled: &LabeledDomain,
        target_x: ArrayView2<'_, f64>,
        net: &NetworkSpec,
        seed: u64,
    ) -> Result<Array1<usize>> {
        self.fit_predict_with_tasks(source, &[], pretrained, labeled, target_x, net, seed)
    }

    /// [`StrategySpec::fit_predict`] with extra labelled tasks for `multi-task` (each gets
    /// its own head on the shared trunk and is trained jointly with the source and target
    /// tasks). Any other strategy given extra tasks is an error, never a silent no-op.
    #[allow(clippy::too_many_arguments)]
    pub fn fit_predict_with_tasks(
        &self,
        source: &LabeledDomain,
        extra: &[LabeledDomain],
        pretrained: Option<&Mlp>,
        labeled: &LabeledDomain,
        target_x: ArrayView2<'_, f64>,
        net: &NetworkSpec,
        seed: u64,
    ) -> Result<Array1<usize>> {
        self.check()?;
        if !extra.is_empty() && !matches!(self, StrategySpec::MultiTask { .. }) {
            return Err(InductiveError::Data {
                strategy: self.kind(),
                detail: format!(
                    "{} extra task(s) given; only `multi-task` trains on extra tasks",
                    extra.len()
                ),
            });
        }
        net.check()?;
        let k = labeled.n_classes();
        let (x, y) = (labeled.x().mapv(|v| v as f32), labeled.y());
        let missing: Vec<usize> = (0..k).filter(|c| !y.iter().any(|v| v == c)).collect();
        if !missing.is_empty() {
            return Err(InductiveError::Data {
                strategy: self.kind(),
                detail: format!(
                    "the labelled target rows have no example of class(es) {missing:?} of {k}; \
                     every class needs at least one label"
                ),
            });
        }
        let xt = target_x.mapv(|v| v as f32);
        if xt.ncols() != x.ncols() {
            return Err(CoreError::Shape {
                context: "target rows".into(),
                detail: format!("{} features, the labelled rows {}", xt.ncols(), x.ncols()),
            }
            .into());
        }
        let need_source = |name: &'static str| -> Result<&Mlp> {
            let p = pretrained.ok_or(InductiveError::Data {
                strategy: name,
                detail: "needs the source-pretrained network".into(),
            })?;
            if p.n_inputs() != x.ncols() {
                return Err(InductiveError::Data {
                    strategy: name,
                    detail: format!(
                        "the pretrained network takes {} features, the target has {}",
                        p.n_inputs(),
                        x.ncols()
                    ),
                });
            }
            Ok(p)
        };
        let train = |model: &mut Mlp, rates: &[f32], anchor: Option<&Anchor>| -> Result<()> {
            train_classifier(
                model,
                x.view(),
                y.view(),
                None,
                &net.finetune,
                rates,
                anchor,
                seed,
            )?;
            Ok(())
        };
        let model = match self {
            StrategySpec::Tradaboost { rounds, learner } => {
                return shallow::tradaboost(source, labeled, target_x, learner, *rounds, seed);
            }
            StrategySpec::MultiTask {
                source_weight,
                epochs,
            } => {
                for d in std::iter::once(source).chain(extra) {
                    if d.n_features() != x.ncols() {
                        return Err(InductiveError::Data {
                            strategy: "multi-task",
                            detail: format!(
                                "task `{}` has {} features, the target {}",
                                d.name(),
                                d.n_features(),
                                x.ncols()
                            ),
                        });
                    }
                }
                let mut trunk = net.build(x.ncols(), k, seed)?;
                trunk.layers.pop();
                if trunk.layers.is_empty() {
                    return Err(InductiveError::Data {
                        strategy: "multi-task",
                        detail: "needs at least one hidden layer to share (`hidden`)".into(),
                    });
                }
                // Tasks: the source, the target (its head predicts), then the extra tasks in
                // the order given (this order fixes each task's seeded batch order and head).
                let xs = source.x().mapv(|v| v as f32);
                let xe: Vec<ndarray::Array2<f32>> =
                    extra.iter().map(|d| d.x().mapv(|v| v as f32)).collect();
                let mut tasks = vec![
                    multitask::Task {
                        x: xs.view(),
                        y: source.y().view(),
                        n_classes: source.n_classes(),
                    },
                    multitask::Task {
                        x: x.view(),
                        y: y.view(),
                        n_classes: k,
                    },
                ];
                tasks.extend(extra.iter().zip(&xe).map(|(d, xs)| multitask::Task {
                    x: xs.view(),
                    y: d.y().view(),
                    n_classes: d.n_classes(),
                }));
                let mut weights = vec![*source_weight, 1.0];
                weights.extend(std::iter::repeat_n(*source_weight, extra.len()));
                let heads = multitask::train_multi_task(
                    &mut trunk,
                    &tasks,
                    &weights,
                    &TrainConfig {
                        epochs: *epochs,
                        ..net.finetune.clone()
                    },
                    seed,
                )?;
                let mut layers = trunk.layers;
                layers.extend(heads[1].layers.iter().cloned());
                tlab_nn::Mlp::from_layers(layers)?
            }
            StrategySpec::PriorLogistic { lambda, epochs } => {
                return shallow::prior_logistic(source, labeled, target_x, *lambda, *epochs, seed);
            }
            StrategySpec::Scratch => {
                let mut m = net.build(x.ncols(), k, seed)?;
                train(&mut m, &[], None)?;
                m
            }
            StrategySpec::FeatureExtraction { head } => {
                let p = need_source("feature-extraction")?;
                let trunk = trunk_of(p);
                let (fx, ft) = match &trunk {
                    Some(t) => (t.forward(x.view())?, t.forward(xt.view())?),
                    None => (x.clone(), xt.clone()),
                };
                return match head {
                    Head::Softmax => {
                        let mut h = Mlp::new(&[fx.ncols(), k], &[Activation::Identity], seed)?;
                        train_classifier(
                            &mut h,
                            fx.view(),
                            y.view(),
                            None,
                            &net.finetune,
                            &[],
                            None,
                            seed,
                        )?;
                        Ok(argmax_rows(&h.forward(ft.view())?))
                    }
                    Head::Logistic => linfa_head(&fx, y.view(), &ft),
                };
            }
            StrategySpec::FineTune { top } => {
                let p = need_source("fine-tune")?;
                let mut m = with_new_head(p, k, seed)?;
                let l = m.layers.len();
                let rates: Vec<f32> = match top {
                    None => vec![1.0; l],
                    Some(t) => (0..l).map(|i| if i + t >= l { 1.0 } else { 0.0 }).collect(),
                };
                train(&mut m, &rates, None)?;
                m
            }
            StrategySpec::L2Sp { alpha, beta } => {
                let p = need_source("l2-sp")?;
                let mut m = with_new_head(p, k, seed)?;
                let params = tlab_nn::flat_param_list(&m);
                let n_head = m.layers.last().map_or(0, |l| l.n_param_tensors());
                let n_anchor = params.len() - n_head;
                let anchor = Anchor {
                    values: params
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| (i < n_anchor).then_some(v))
                        .collect(),
                    alpha: *alpha,
                    beta: *beta,
                };
                train(&mut m, &[], Some(&anchor))?;
                m
            }
            StrategySpec::Discriminative { decay } => {
                let p = need_source("discriminative")?;
                let mut m = with_new_head(p, k, seed)?;
                let l = m.layers.len();
                let rates: Vec<f32> = (0..l).map(|i| decay.powi((l - 1 - i) as i32)).collect();
                train(&mut m, &rates, None)?;
                m
            }
        };
        Ok(argmax_rows(&model.forward(xt.view())?))
    }
}

/// Every layer of `p` but its head (None when `p` is the head alone).
fn trunk_of(p: &Mlp) -> Option<Mlp> {
    (p.layers.len() > 1).then(|| {
        let mut t = p.clone();
        t.layers.pop();
        t
    })
}

/// `p`'s trunk with a fresh (seeded) head of `k` outputs.
fn with_new_head(p: &Mlp, k: usize, seed: u64) -> Result<Mlp> {
    let mut m = p.clone();
    let last = m.layers.pop().expect("≥ 1 layer");
    let inputs = last.inputs();
    let head = Mlp::new(&[inputs, k], &[Activation::Identity], seed ^ 0x4ead)?;
    m.layers.extend(head.layers);
    Ok(m)
}

fn argmax_rows(scores: &Array2<f32>) -> Array1<usize> {
    tlab_core::learners::argmax_rows(scores.mapv(f64::from).view())
}

/// linfa's multinomial logistic regression on frozen features.
fn linfa_head(
    fx: &Array2<f32>,
    y: ndarray::ArrayView1<'_, usize>,
    ft: &Array2<f32>,
) -> Result<Array1<usize>> {
    use linfa::prelude::*;
    let classes: std::collections::BTreeSet<usize> = y.iter().copied().collect();
    if classes.len() < 2 {
        return Err(InductiveError::Data {
            strategy: "feature-extraction",
            detail: "the logistic head needs at least two labelled classes".into(),
        });
    }
    let ds = Dataset::new(fx.mapv(f64::from), y.to_owned());
    let fitted = linfa_logistic::MultiLogisticRegression::default()
        .alpha(1.0)
        .max_iterations(200)
        .fit(&ds)
        .map_err(|e| InductiveError::Data {
            strategy: "feature-extraction",
            detail: format!("linfa logistic regression: {e}"),
        })?;
    Ok(fitted.predict(&ft.mapv(f64::from)))
}
