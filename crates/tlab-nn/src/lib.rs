//! tlab-nn: dfdx 0.13 behind a small interface of ours (see DESIGN.md, "Deep learning").
//!
//! dfdx's released layer builders fix sizes at compile time and its optimisers cannot hold
//! run-time-shaped tensors, so this crate owns what the methods need:
//! - [`Mlp`]: dense layers whose sizes come from the data at run time
//!   (`Tensor<(usize, usize), f32, Cpu>` weights), each with its activation, initialised
//!   from our own seeded ChaCha8 stream as PyTorch's `nn.Linear` does
//!   (U(−1/√fan_in, 1/√fan_in) for weights and biases), so a seed gives identical weights;
//! - [`Adam`]: Adam with decoupled-free L2 weight decay (PyTorch's `Adam(weight_decay=…)`
//!   form), over the parameter list and `Gradients::get`;
//! - [`batches`]: seeded mini-batch orders.
//!
//! Every parameter enters the graph through a taped op, or its gradient would be missing:
//! a dense layer's `x W + b` (and a plain ReLU after it) is one op of ours whose products
//! run on faer (`affine.rs`; dfdx's own `gemm` 0.15 kernel is AVX2 only); layer norm and
//! the other activations are dfdx's. Methods build their losses from
//! [`Mlp::forward_taped`] (a taped input) or [`Mlp::forward_batch`] (a batch of data rows,
//! whose gradient is not computed). [`train`] has SGD with momentum, schedules, early
//! stopping, freezing and gradient reversal; [`safetensors`] saves and loads weights.

mod affine;
pub mod safetensors;
pub mod train;

pub use train::{
    grad_reverse, train_classifier, Anchor, Optimizer, OptimizerSpec, Schedule, TrainConfig,
    TrainLog,
};

use dfdx::prelude::*;
use ndarray::{Array2, ArrayView2};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tlab_core::CoreError;

/// A run-time-shaped matrix on the CPU.
pub type Matrix = Tensor<(usize, usize), f32, Cpu>;
/// A run-time-shaped vector on the CPU.
pub type Vector = Tensor<(usize,), f32, Cpu>;
/// A matrix carrying the autodiff tape.
pub type Taped = Tensor<(usize, usize), f32, Cpu, OwnedTape<f32, Cpu>>;

/// Errors: bad sizes or data (tlab-core's messages).
pub type Result<T> = std::result::Result<T, CoreError>;

/// The nonlinearity after a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    Identity,
    #[default]
    Relu,
    /// GELU, the exact (erf) form of PyTorch's `nn.GELU()`.
    Gelu,
    Sigmoid,
    Tanh,
}

/// Layer normalisation (Ba, Kiros & Hinton, 2016) of a layer's pre-activations, as
/// PyTorch's `nn.LayerNorm(outputs)`: each row normalised over its features to zero mean
/// and unit biased variance (ε = 1e-5), then scaled by `gamma` and shifted by `beta`.
#[derive(Debug, Clone)]
pub struct LayerNorm {
    pub gamma: Vector,
    pub beta: Vector,
}

/// ε of [`LayerNorm`] (PyTorch's default).
pub const LAYER_NORM_EPS: f64 = 1e-5;

impl LayerNorm {
    fn apply(&self, z: Taped) -> Taped {
        let s = *z.shape();
        z.normalize::<Axis<1>>(LAYER_NORM_EPS) * self.gamma.clone().broadcast_like::<_, Axis<0>>(&s)
            + self.beta.clone().broadcast_like::<_, Axis<0>>(&s)
    }
}

/// One dense layer: `y = act(norm(x W + b))`, `W` of shape (inputs, outputs), `norm` the
/// optional layer normalisation.
#[derive(Debug, Clone)]
pub struct Dense {
    pub w: Matrix,
    pub b: Vector,
    pub activation: Activation,
    pub norm: Option<LayerNorm>,
}

/// A parameter tensor seen as a flat slice (contiguous, row-major: see [`contiguous_vec`]).
pub(crate) trait Param {
    fn len(&self) -> usize;
    fn read(&self, out: &mut [f32]);
    fn write(&mut self, values: &[f32]);
}

impl<S: Shape> Param for Tensor<S, f32, Cpu> {
    fn len(&self) -> usize {
        self.shape().num_elements()
    }
    fn read(&self, out: &mut [f32]) {
        self.copy_into(out);
    }
    fn write(&mut self, values: &[f32]) {
        self.copy_from(values);
    }
}

impl Dense {
    /// The layer's parameter tensors in their fixed order: weight, bias, then the layer
    /// norm's γ and β when it has one.
    pub(crate) fn params_mut(&mut self) -> Vec<&mut dyn Param> {
        let mut v: Vec<&mut dyn Param> = vec![&mut self.w, &mut self.b];
        if let Some(n) = &mut self.norm {
            v.push(&mut n.gamma);
            v.push(&mut n.beta);
        }
        v
    }

    /// The layer's parameter values, in [`Dense::params_mut`]'s order.
    pub(crate) fn param_values(&self) -> Vec<Vec<f32>> {
        let mut v = vec![contiguous_vec(&self.w), contiguous_vec(&self.b)];
        if let Some(n) = &self.norm {
            v.push(contiguous_vec(&n.gamma));
            v.push(contiguous_vec(&n.beta));
        }
        v
    }

    /// `x W + b`, layer-normalised when the layer has a norm (the input of its activation;
    /// the affine map is one taped op on faer's products, see `affine.rs`). `input_grad`:
    /// whether `x` needs a gradient (not when it is a batch of data rows).
    fn pre_activation(&self, x: Taped, input_grad: bool) -> Taped {
        let z = affine::affine(x, &self.w, &self.b, input_grad, false);
        match &self.norm {
            Some(norm) => norm.apply(z),
            None => z,
        }
    }

    /// `act(norm(x W + b))`; a plain ReLU layer is one op (`affine.rs`).
    fn apply(&self, x: Taped, input_grad: bool) -> Taped {
        match (&self.norm, self.activation) {
            (None, Activation::Relu) => affine::affine(x, &self.w, &self.b, input_grad, true),
            _ => act_taped(self.pre_activation(x, input_grad), self.activation),
        }
    }

    /// How many parameter tensors the layer has (2, or 4 with a layer norm).
    pub fn n_param_tensors(&self) -> usize {
        if self.norm.is_some() {
            4
        } else {
            2
        }
    }

    /// The layer's input width.
    pub fn inputs(&self) -> usize {
        self.w.shape().0
    }
    /// The layer's output width.
    pub fn outputs(&self) -> usize {
        self.w.shape().1
    }
}

/// A stack of dense layers with sizes fixed when it is built from the data.
#[derive(Debug, Clone)]
pub struct Mlp {
    dev: Cpu,
    pub layers: Vec<Dense>,
    /// Inverted dropout after every hidden layer while training (0 = none).
    pub dropout: f32,
}

fn act_taped(x: Taped, a: Activation) -> Taped {
    match a {
        Activation::Identity => x,
        Activation::Relu => x.relu(),
        Activation::Gelu => x.accurate_gelu(),
        Activation::Sigmoid => x.sigmoid(),
        Activation::Tanh => x.tanh(),
    }
}

impl Mlp {
    /// Layers `sizes[0] → sizes[1] → …`, with `activations[i]` after layer `i`.
    pub fn new(sizes: &[usize], activations: &[Activation], seed: u64) -> Result<Self> {
        if sizes.len() < 2 || sizes.contains(&0) {
            return Err(CoreError::invalid_param(
                "layer sizes",
                format!("{sizes:?}"),
                "at least two sizes, all ≥ 1",
            ));
        }
        if activations.len() != sizes.len() - 1 {
            return Err(CoreError::invalid_param(
                "activations",
                activations.len(),
                format!("one per layer ({})", sizes.len() - 1),
            ));
        }
        let dev = Cpu::default();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let layers = sizes
            .windows(2)
            .zip(activations)
            .map(|(io, &activation)| {
                let (i, o) = (io[0], io[1]);
                let bound = 1.0 / (i as f32).sqrt();
                let mut draw = |k: usize| -> Vec<f32> {
                    (0..k).map(|_| rng.gen_range(-bound..bound)).collect()
                };
                Dense {
                    w: dev.tensor_from_vec(draw(i * o), (i, o)),
                    b: dev.tensor_from_vec(draw(o), (o,)),
                    activation,
                    norm: None,
                }
            })
            .collect();
        Ok(Mlp {
            dev,
            layers,
            dropout: 0.0,
        })
    }

    /// The same network with dropout probability `p` (in [0, 1)) after each hidden layer
    /// during training.
    pub fn with_dropout(mut self, p: f32) -> Result<Self> {
        if !(0.0..1.0).contains(&p) {
            return Err(CoreError::invalid_param("dropout", p, "in [0, 1)"));
        }
        self.dropout = p;
        Ok(self)
    }

    /// The same network with a [`LayerNorm`] (γ = 1, β = 0, as PyTorch initialises it)
    /// on every hidden layer's pre-activations; the output layer stays plain.
    pub fn with_layer_norm(mut self) -> Self {
        let last = self.layers.len() - 1;
        for l in &mut self.layers[..last] {
            let o = l.outputs();
            l.norm = Some(LayerNorm {
                gamma: self.dev.tensor_from_vec(vec![1.0; o], (o,)),
                beta: self.dev.tensor_from_vec(vec![0.0; o], (o,)),
            });
        }
        self
    }

    /// The training forward pass: as [`Mlp::forward_taped`], with inverted dropout (masks
    /// drawn from `rng`, kept units scaled by 1/(1 − p)) after every hidden layer.
    pub fn forward_train(&self, x: Taped, rng: &mut ChaCha8Rng) -> Taped {
        self.forward_from(x, true, Some(rng))
    }

    /// [`Mlp::forward_train`] on a batch of data rows (no gradient is computed for them).
    pub fn forward_train_batch(&self, x: ArrayView2<'_, f32>, rng: &mut ChaCha8Rng) -> Taped {
        self.forward_from(self.tensor(x).leaky_traced(), false, Some(rng))
    }

    /// The forward pass, with dropout when given the mask stream; `input_grad` as in
    /// [`Dense::pre_activation`], for the first layer.
    fn forward_from(
        &self,
        mut x: Taped,
        input_grad: bool,
        mut dropout_rng: Option<&mut ChaCha8Rng>,
    ) -> Taped {
        let last = self.layers.len() - 1;
        for (i, l) in self.layers.iter().enumerate() {
            let (n, o) = (x.shape().0, l.outputs());
            x = l.apply(x, input_grad || i > 0);
            let Some(rng) = dropout_rng.as_deref_mut() else {
                continue;
            };
            if self.dropout > 0.0 && i < last {
                let keep = 1.0 - self.dropout;
                let mask: Vec<f32> = (0..n * o)
                    .map(|_| {
                        if rng.gen::<f32>() < keep {
                            1.0 / keep
                        } else {
                            0.0
                        }
                    })
                    .collect();
                x = x * self.dev.tensor_from_vec(mask, (n, o));
            }
        }
        x
    }

    /// A network from existing layers (e.g. a shared trunk and a task's head), checked to
    /// chain: each layer's inputs are the previous one's outputs.
    pub fn from_layers(layers: Vec<Dense>) -> Result<Self> {
        if layers.is_empty() {
            return Err(CoreError::invalid_param("layers", 0, "at least one layer"));
        }
        for (i, w) in layers.windows(2).enumerate() {
            if w[0].outputs() != w[1].inputs() {
                return Err(CoreError::Shape {
                    context: format!("layers {i} and {}", i + 1),
                    detail: format!("{} outputs feed {} inputs", w[0].outputs(), w[1].inputs()),
                });
            }
        }
        Ok(Mlp {
            dev: Cpu::default(),
            layers,
            dropout: 0.0,
        })
    }

    /// The input width.
    pub fn n_inputs(&self) -> usize {
        self.layers[0].w.shape().0
    }

    /// The output width.
    pub fn n_outputs(&self) -> usize {
        self.layers.last().expect("≥ 1 layer").w.shape().1
    }

    /// A batch of rows as an untaped tensor.
    pub fn tensor(&self, x: ArrayView2<'_, f32>) -> Matrix {
        let (n, d) = x.dim();
        let values = match x.as_slice() {
            Some(s) => s.to_vec(),
            None => x.iter().copied().collect(),
        };
        self.dev.tensor_from_vec(values, (n, d))
    }

    /// The forward pass on a taped batch (the parameters enter the tape here).
    pub fn forward_taped(&self, x: Taped) -> Taped {
        self.forward_from(x, true, None)
    }

    /// [`Mlp::forward_taped`] on a batch of data rows (no gradient is computed for them).
    pub fn forward_batch(&self, x: ArrayView2<'_, f32>) -> Taped {
        self.forward_from(self.tensor(x).leaky_traced(), false, None)
    }

    /// The forward pass without a tape, rows in and rows out.
    pub fn forward(&self, x: ArrayView2<'_, f32>) -> Result<Array2<f32>> {
        if x.ncols() != self.n_inputs() {
            return Err(CoreError::Shape {
                context: "network input".into(),
                detail: format!("expects {} features, given {}", self.n_inputs(), x.ncols()),
            });
        }
        let out = self.forward_batch(x);
        let (n, o) = *out.shape();
        Ok(Array2::from_shape_vec((n, o), out.as_vec()).expect("n × o values"))
    }

    /// Every parameter tensor, in a fixed order (layer by layer: weight, bias, then the
    /// layer norm's γ and β where there is one).
    fn params(&self) -> Vec<Vec<f32>> {
        self.layers.iter().flat_map(Dense::param_values).collect()
    }

    /// How many parameter tensors the network has.
    pub fn n_param_tensors(&self) -> usize {
        self.layers.iter().map(Dense::n_param_tensors).sum()
    }
}

/// The values of a parameter or gradient tensor, by one memcpy. Only for tensors that are
/// laid out contiguously in row-major order (parameters built by `tensor_from_vec` and
/// updated by `copy_from`, and their gradients): dfdx's `as_vec` walks an index iterator
/// element by element, a tenth of a training step's time.
pub(crate) fn contiguous_vec<S: Shape>(t: &Tensor<S, f32, Cpu>) -> Vec<f32> {
    let mut v = vec![0.0; t.shape().num_elements()];
    t.copy_into(&mut v);
    v
}

/// Adam (Kingma & Ba, 2015) with PyTorch's defaults (β = (0.9, 0.999), ε = 1e-8) and
/// optional L2 weight decay added to the gradient, as `torch.optim.Adam(weight_decay=…)`,
/// over several models updated together (an encoder and its decoder): one
/// [`train::Optimizer`] per model, so the update rule lives in one place.
#[derive(Debug, Clone)]
pub struct Adam {
    spec: OptimizerSpec,
    per_model: Vec<Optimizer>,
}

impl Adam {
    pub fn new(lr: f32, weight_decay: f32) -> Result<Self> {
        let spec = OptimizerSpec::Adam { lr, weight_decay };
        Optimizer::new(spec)?;
        Ok(Adam {
            spec,
            per_model: Vec::new(),
        })
    }

    /// One update of every parameter of `models` (in order) from `grads`.
    pub fn step(&mut self, models: &mut [&mut Mlp], grads: &Gradients<f32, Cpu>) {
        for (i, model) in models.iter_mut().enumerate() {
            if self.per_model.len() <= i {
                self.per_model
                    .push(Optimizer::new(self.spec).expect("checked in new"));
            }
            let g = train::gradients_of(model, grads);
            self.per_model[i].update(model, &g, &[], 1.0);
        }
    }
}

/// The row indices of each mini-batch of one epoch: a seeded shuffle cut into `batch`-sized
/// pieces (the last may be smaller).
pub fn batches(n: usize, batch: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    order.chunks(batch.max(1)).map(<[usize]>::to_vec).collect()
}

/// The rows `idx` of `x` (as `x.select(Axis(0), idx)`, one slice copy a row where the
/// rows are contiguous). Panics on an index out of range, as `select` does.
pub fn gather_rows<T: Copy + Default>(x: ArrayView2<'_, T>, idx: &[usize]) -> Array2<T> {
    let d = x.ncols();
    let mut v = Vec::with_capacity(idx.len() * d);
    for &i in idx {
        let r = x.row(i);
        match r.as_slice() {
            Some(s) => v.extend_from_slice(s),
            None => v.extend(r.iter().copied()),
        }
    }
    Array2::from_shape_vec((idx.len(), d), v).expect("idx.len() × d values")
}

/// Every parameter of `model` as its own vector (layer by layer, weight then bias).
pub fn flat_param_list(model: &Mlp) -> Vec<Vec<f32>> {
    model.params()
}

/// A flat copy of every parameter of `model` (layer by layer, weight then bias): for tests
/// and for comparing two trainings byte for byte.
pub fn flat_params(model: &Mlp) -> Vec<f32> {
    model.params().into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn forward_matches_a_hand_computation_and_checks_width() {
        let mut m = Mlp::new(&[2, 2], &[Activation::Relu], 0).unwrap();
        let dev = Cpu::default();
        m.layers[0].w = dev.tensor_from_vec(vec![1.0, -1.0, 2.0, 0.5], (2, 2));
        m.layers[0].b = dev.tensor_from_vec(vec![0.5, -3.0], (2,));
        let x = Array2::from_shape_vec((1, 2), vec![1.0f32, 2.0]).unwrap();
        // [1, 2] · [[1, −1], [2, 0.5]] + [0.5, −3] = [5.5, −3] → relu → [5.5, 0]
        let y = m.forward(x.view()).unwrap();
        assert_eq!(y.as_slice().unwrap(), &[5.5, 0.0]);
        assert!(m.forward(Array2::zeros((1, 3)).view()).is_err());
    }

    #[test]
    fn two_adam_steps_match_torch_adams_update_rule() {
        // numpy transcription of torch.optim.Adam(lr=0.1, weight_decay=0.01) on
        // mean((x·w + b − y)²), w = [0.5, −0.25], b = 0.1, x = [[1, 2], [3, −1]], y = [1, 0]:
        //   g += wd·p; m = β1 m + (1−β1) g; v = β2 v + (1−β2) g²;
        //   p −= lr·(m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + ε)
        // after two steps: [0.3027821, −0.05065285, −0.09240294]
        let dev = Cpu::default();
        let mut m = Mlp::new(&[2, 1], &[Activation::Identity], 0).unwrap();
        m.layers[0].w = dev.tensor_from_vec(vec![0.5, -0.25], (2, 1));
        m.layers[0].b = dev.tensor_from_vec(vec![0.1], (1,));
        let x = Array2::from_shape_vec((2, 2), vec![1.0f32, 2.0, 3.0, -1.0]).unwrap();
        let y = Array2::from_shape_vec((2, 1), vec![1.0f32, 0.0]).unwrap();
        let mut opt = Adam::new(0.1, 0.01).unwrap();
        for _ in 0..2 {
            let pred = m.forward_taped(m.tensor(x.view()).leaky_traced());
            let g = mse_loss(pred, m.tensor(y.view())).backward();
            opt.step(&mut [&mut m], &g);
        }
        let got = flat_params(&m);
        for (g, w) in got.iter().zip([0.3027821f32, -0.05065285, -0.09240294]) {
            assert!((g - w).abs() < 1e-6, "{got:?}");
        }
    }

    #[test]
    fn adam_fits_a_linear_map_and_is_seeded() {
        // y = x · [2, −1]ᵀ + 0.5 on 64 rows; mean squared error must fall below 1e-4.
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let x = Array2::from_shape_fn((64, 2), |_| rng.gen_range(-1.0f32..1.0));
        let y = Array2::from_shape_fn((64, 1), |(i, _)| 2.0 * x[(i, 0)] - x[(i, 1)] + 0.5);
        let train = |seed: u64| {
            let mut m = Mlp::new(&[2, 1], &[Activation::Identity], seed).unwrap();
            let mut opt = Adam::new(0.05, 0.0).unwrap();
            let mut order = ChaCha8Rng::seed_from_u64(seed);
            let mut last = f32::INFINITY;
            for _ in 0..300 {
                for b in batches(64, 16, &mut order) {
                    let xb = x.select(ndarray::Axis(0), &b);
                    let yb = y.select(ndarray::Axis(0), &b);
                    let pred = m.forward_taped(m.tensor(xb.view()).leaky_traced());
                    let loss = mse_loss(pred, m.tensor(yb.view()));
                    last = loss.array();
                    let g = loss.backward();
                    opt.step(&mut [&mut m], &g);
                }
            }
            (flat_params(&m), last)
        };
        let (a, loss) = train(3);
        assert!(loss < 1e-4, "loss {loss}");
        assert!(
            (a[0] - 2.0).abs() < 0.01 && (a[1] + 1.0).abs() < 0.01 && (a[2] - 0.5).abs() < 0.01
        );
        assert_eq!(train(3).0, a);
        assert!(Mlp::new(&[3], &[], 0).is_err());
        assert!(Adam::new(0.0, 0.0).is_err());
    }
}
