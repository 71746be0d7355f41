//! Representations fitted on unlabelled rows and applied to any rows of the same width.
//!
//! - PCA: the `dim` leading principal axes of the training rows (optionally of their
//!   z-scores, with the training mean and standard deviation).
//! - mSDA (Chen, Xu, Weinberger, Sha, "Marginalized Denoising Autoencoders for Domain
//!   Adaptation", ICML 2012): each layer is the linear map `W` that best reconstructs its
//!   input from copies corrupted by dropping each feature with probability `p`, in
//!   expectation over infinitely many corruptions, which has the closed form
//!   `W = P (Q + λI)⁻¹` with `S = X̄X̄ᵀ` (X̄ the input with a row of ones),
//!   `Q = S ⊙ qqᵀ` except `Qᵢᵢ = qᵢ Sᵢᵢ`, `P = S ⊙ 1qᵀ` (first d rows), `q = (1−p, …, 1−p, 1)`;
//!   the layer's output is `tanh(W X̄)`, the next layer's input. The representation is the
//!   input stacked with every layer's output (the paper's setup for the Amazon reviews).
//!   λ = 1e-5 on the feature block only (not the bias), as in the authors' `mDA.m`.

use ndarray::{concatenate, s, Array1, Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};
use tlab_core::{linalg, CoreError};

use crate::{check, invalid, Result};

/// A representation to fit, as a suite names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RepresentationSpec {
    /// The `dim` leading principal components; with `standardize`, of the z-scored features.
    Pca {
        dim: usize,
        #[serde(default)]
        standardize: bool,
    },
    /// Marginalised stacked denoising autoencoder: `layers` layers, corruption `noise`.
    Msda {
        #[serde(default = "default_layers")]
        layers: usize,
        #[serde(default = "default_noise")]
        noise: f64,
        #[serde(default = "default_lambda")]
        lambda: f64,
        /// Keep the input features beside the layers' outputs (the paper does).
        #[serde(default = "yes")]
        keep_input: bool,
    },
    /// An autoencoder trained by gradient descent (tlab-nn on dfdx): one sigmoid hidden
    /// layer of `hidden` units, a linear decoder, on the training rows' z-scores. With
    /// `noise` > 0 a denoising autoencoder (each input masked to 0 with that probability,
    /// Vincent et al., ICML 2008); with `sparsity` = ρ > 0 a sparse autoencoder (a
    /// `sparsity_weight`·Σ KL(ρ ‖ ρ̂ⱼ) penalty on the mean activations, Ng's notes).
    Autoencoder {
        hidden: usize,
        #[serde(default = "fifty")]
        epochs: usize,
        #[serde(default = "sixty_four")]
        batch: usize,
        #[serde(default = "lr")]
        lr: f64,
        #[serde(default)]
        noise: f64,
        #[serde(default)]
        sparsity: f64,
        #[serde(default = "three")]
        sparsity_weight: f64,
        #[serde(default)]
        weight_decay: f64,
    },
}

fn fifty() -> usize {
    50
}
fn sixty_four() -> usize {
    64
}
fn lr() -> f64 {
    1e-3
}
fn three() -> f64 {
    3.0
}

fn default_layers() -> usize {
    5
}
fn default_noise() -> f64 {
    0.5
}
fn default_lambda() -> f64 {
    1e-5
}
fn yes() -> bool {
    true
}

impl RepresentationSpec {
    /// mSDA with the paper's Amazon settings (5 layers, p = 0.5, λ = 1e-5, input kept).
    pub fn msda() -> Self {
        RepresentationSpec::Msda {
            layers: 5,
            noise: 0.5,
            lambda: 1e-5,
            keep_input: true,
        }
    }

    /// A short name for tables and logs, e.g. `pca(32)` or `msda(5,p=0.5)`.
    pub fn short_name(&self) -> String {
        match self {
            RepresentationSpec::Pca { dim, standardize } => {
                format!("pca({dim}{})", if *standardize { ",z" } else { "" })
            }
            RepresentationSpec::Msda { layers, noise, .. } => format!("msda({layers},p={noise})"),
            RepresentationSpec::Autoencoder {
                hidden,
                noise,
                sparsity,
                ..
            } => {
                let kind = match (*noise > 0.0, *sparsity > 0.0) {
                    (true, true) => "sparse-dae",
                    (true, false) => "dae",
                    (false, true) => "sparse-ae",
                    (false, false) => "ae",
                };
                format!("{kind}({hidden})")
            }
        }
    }

    /// Checks the parameters (before any data is seen).
    pub fn validate(&self) -> Result<()> {
        match *self {
            RepresentationSpec::Pca { dim, .. } => {
                if dim == 0 {
                    return Err(invalid("pca.dim", dim, "at least 1"));
                }
            }
            RepresentationSpec::Msda {
                layers,
                noise,
                lambda,
                ..
            } => {
                if !(1..=20).contains(&layers) {
                    return Err(invalid("msda.layers", layers, "1..=20"));
                }
                if !(0.0..1.0).contains(&noise) {
                    return Err(invalid(
                        "msda.noise",
                        noise,
                        "a corruption probability in [0, 1)",
                    ));
                }
                if !(lambda.is_finite() && lambda >= 0.0) {
                    return Err(invalid("msda.lambda", lambda, "a finite value ≥ 0"));
                }
            }
            RepresentationSpec::Autoencoder {
                hidden,
                epochs,
                batch,
                lr,
                noise,
                sparsity,
                sparsity_weight,
                weight_decay,
            } => {
                if hidden == 0 || epochs == 0 || batch == 0 {
                    return Err(invalid(
                        "autoencoder.hidden/epochs/batch",
                        format!("{hidden}/{epochs}/{batch}"),
                        "each at least 1",
                    ));
                }
                if !(lr.is_finite() && lr > 0.0) {
                    return Err(invalid("autoencoder.lr", lr, "a finite value > 0"));
                }
                if !(0.0..1.0).contains(&noise) {
                    return Err(invalid(
                        "autoencoder.noise",
                        noise,
                        "a masking probability in [0, 1)",
                    ));
                }
                if !(0.0..1.0).contains(&sparsity) {
                    return Err(invalid(
                        "autoencoder.sparsity",
                        sparsity,
                        "a target mean activation in (0, 1), or 0 for none",
                    ));
                }
                let ok = |v: f64| v.is_finite() && v >= 0.0;
                if !(ok(sparsity_weight) && ok(weight_decay)) {
                    return Err(invalid(
                        "autoencoder.sparsity_weight/weight_decay",
                        format!("{sparsity_weight}/{weight_decay}"),
                        "finite values ≥ 0",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Fits on the rows of `x` (no labels exist here), with seed 0 for what is random
    /// (only the autoencoder's initialisation, batches and masks; PCA and mSDA are exact).
    pub fn fit(&self, x: ArrayView2<'_, f64>) -> Result<FittedRepresentation> {
        self.fit_seeded(x, 0)
    }

    /// Fits on the rows of `x` with `seed` driving every random choice.
    pub fn fit_seeded(&self, x: ArrayView2<'_, f64>, seed: u64) -> Result<FittedRepresentation> {
        self.validate()?;
        check("representation training data", x)?;
        match *self {
            RepresentationSpec::Pca { dim, standardize } => {
                if dim > x.ncols() {
                    return Err(invalid(
                        "pca.dim",
                        dim,
                        &format!("at most the feature count, {}", x.ncols()),
                    ));
                }
                let mean = x.mean_axis(Axis(0)).expect("non-empty");
                let scale = if standardize {
                    x.std_axis(Axis(0), 0.0)
                        .mapv(|s| if s > 1e-12 { s } else { 1.0 })
                } else {
                    Array1::ones(x.ncols())
                };
                let z = (&x - &mean) / &scale;
                let axes = linalg::principal_axes(z.view(), dim)?;
                Ok(FittedRepresentation::Pca { mean, scale, axes })
            }
            RepresentationSpec::Msda {
                layers,
                noise,
                lambda,
                keep_input,
            } => {
                let mut weights = Vec::with_capacity(layers);
                let mut h = x.to_owned();
                for _ in 0..layers {
                    let w = mda(h.view(), noise, lambda)?;
                    h = mda_forward(&w, h.view())?;
                    weights.push(w);
                }
                Ok(FittedRepresentation::Msda {
                    weights,
                    keep_input,
                    n_features: x.ncols(),
                })
            }
            RepresentationSpec::Autoencoder { .. } => Ok(FittedRepresentation::Autoencoder(
                crate::autoencoder::train(self, x, seed)?,
            )),
        }
    }
}

/// One marginalised denoising layer: `W` (d × (d+1)) mapping `[x; 1]` to the expected
/// clean `x` under dropout corruption with probability `p` (see the module notes).
pub fn mda(x: ArrayView2<'_, f64>, p: f64, lambda: f64) -> Result<Array2<f64>> {
    let (n, d) = x.dim();
    let ones = Array2::ones((n, 1));
    let xb = concatenate(Axis(1), &[x.view(), ones.view()]).expect("same rows");
    let scatter = linalg::matmul(xb.view(), true, xb.view(), false)?; // (d+1) × (d+1)
    let mut q = Array1::from_elem(d + 1, 1.0 - p);
    q[d] = 1.0;
    let mut qm = Array2::zeros((d + 1, d + 1));
    for i in 0..=d {
        for j in 0..=d {
            qm[(i, j)] = scatter[(i, j)] * if i == j { q[i] } else { q[i] * q[j] };
        }
        if i < d {
            qm[(i, i)] += lambda;
        }
    }
    // W = P Q⁻¹ with P = S[:d, :] ⊙ 1qᵀ; Q is symmetric, so Wᵀ = Q⁻¹ Pᵀ.
    let pt = Array2::from_shape_fn((d + 1, d), |(j, i)| scatter[(i, j)] * q[j]);
    let wt = linalg::solve(qm.view(), pt.view()).map_err(|e| {
        CoreError::Linalg(format!(
            "mSDA layer ({d} features): {e}; a constant-zero feature with λ = 0 makes Q singular"
        ))
    })?;
    Ok(wt.reversed_axes().as_standard_layout().to_owned())
}

/// `W [x; 1]` for each row of `x`: the linear denoising reconstruction.
fn mda_linear(w: &Array2<f64>, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
    let d = x.ncols();
    let mut lin = linalg::matmul(x, false, w.slice(s![.., ..d]), true)?;
    let bias = w.column(d).to_owned(); // contiguous: a strided broadcast is much slower
    for mut row in lin.rows_mut() {
        row += &bias;
    }
    Ok(lin)
}

/// `tanh(W [x; 1])` for each row of `x`.
fn mda_forward(w: &Array2<f64>, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
    let mut h = mda_linear(w, x)?;
    h.mapv_inplace(tanh);
    Ok(h)
}

/// tanh through `expm1` (`tanh x = e/(e + 2)` with `e = expm1(2x)`), accurate to a few ulp
/// at every magnitude and several times faster than the C library's `tanh`, which was
/// most of mSDA's transform time.
fn tanh(x: f64) -> f64 {
    if x.abs() > 20.0 {
        return x.signum();
    }
    let e = (2.0 * x).exp_m1();
    e / (e + 2.0)
}

/// A fitted representation.
#[derive(Debug, Clone)]
pub enum FittedRepresentation {
    Pca {
        mean: Array1<f64>,
        scale: Array1<f64>,
        axes: Array2<f64>,
    },
    Msda {
        weights: Vec<Array2<f64>>,
        keep_input: bool,
        n_features: usize,
    },
    Autoencoder(crate::autoencoder::Trained),
}

impl FittedRepresentation {
    fn n_features(&self) -> usize {
        match self {
            FittedRepresentation::Pca { mean, .. } => mean.len(),
            FittedRepresentation::Msda { n_features, .. } => *n_features,
            FittedRepresentation::Autoencoder(t) => t.n_features(),
        }
    }

    fn check_width(&self, x: ArrayView2<'_, f64>) -> Result<()> {
        check("rows to transform", x)?;
        if x.ncols() != self.n_features() {
            return Err(CoreError::Shape {
                context: "representation".into(),
                detail: format!(
                    "fitted on {} features, given {}",
                    self.n_features(),
                    x.ncols()
                ),
            }
            .into());
        }
        Ok(())
    }

    /// The width of the transformed rows.
    pub fn output_dim(&self) -> usize {
        match self {
            FittedRepresentation::Pca { axes, .. } => axes.ncols(),
            FittedRepresentation::Msda {
                weights,
                keep_input,
                n_features,
            } => n_features * (weights.len() + usize::from(*keep_input)),
            FittedRepresentation::Autoencoder(t) => t.hidden(),
        }
    }

    /// Maps rows into the representation.
    pub fn transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        self.check_width(x)?;
        Ok(match self {
            FittedRepresentation::Pca { mean, scale, axes } => {
                linalg::matmul(((&x - mean) / scale).view(), false, axes.view(), false)?
            }
            FittedRepresentation::Msda {
                weights,
                keep_input,
                ..
            } => {
                // Each block is written straight into its columns of the output.
                let d = x.ncols();
                let mut out = Array2::zeros((x.nrows(), self.output_dim()));
                let mut col = 0;
                if *keep_input {
                    out.slice_mut(s![.., ..d]).assign(&x);
                    col = d;
                }
                let mut h = x.to_owned();
                for w in weights {
                    h = mda_forward(w, h.view())?;
                    out.slice_mut(s![.., col..col + d]).assign(&h);
                    col += d;
                }
                out
            }
            FittedRepresentation::Autoencoder(t) => t.encode(x)?,
        })
    }

    /// Squared reconstruction error of each row: for PCA, of its (z-scored) features from
    /// the principal subspace; for mSDA, of its features from the first layer's linear
    /// denoising map `W [x; 1]` (the expected clean input).
    pub fn reconstruction_error(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        self.check_width(x)?;
        let resid = match self {
            FittedRepresentation::Pca { mean, scale, axes } => {
                let z = (&x - mean) / scale;
                let codes = linalg::matmul(z.view(), false, axes.view(), false)?;
                let back = linalg::matmul(codes.view(), false, axes.view(), true)?;
                z - back
            }
            FittedRepresentation::Msda { weights, .. } => &x - &mda_linear(&weights[0], x)?,
            FittedRepresentation::Autoencoder(t) => return t.reconstruction_error(x),
        };
        Ok(resid.map_axis(Axis(1), |r| r.dot(&r)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn mda_matches_the_authors_closed_form_on_a_small_matrix() {
        // numpy transcription of mDA.m (Chen et al.), rows as samples:
        //   X = [[1,0,2],[0,1,1],[2,1,0],[1,1,1]]; p = 0.3; lam = 1e-5
        //   xb = np.hstack([X, np.ones((4,1))]); S = xb.T @ xb; q = np.r_[np.full(3, 0.7), 1]
        //   Q = S*np.outer(q,q); np.fill_diagonal(Q, q*np.diag(S))
        //   P = S[:3,:]*q[None,:]; reg = lam*np.eye(4); reg[3,3] = 0
        //   W = P @ np.linalg.inv(Q+reg)
        // W[0] = [0.579475487385, -0.102223650393, -0.208100231639, 0.793704737434]
        // W[2] = [-0.208100231639, -0.467310202277, 0.477251836992, 1.056931732448]
        let x = array![
            [1.0, 0.0, 2.0],
            [0.0, 1.0, 1.0],
            [2.0, 1.0, 0.0],
            [1.0, 1.0, 1.0]
        ];
        let w = mda(x.view(), 0.3, 1e-5).unwrap();
        let want = [
            [
                0.579475487385,
                -0.102223650393,
                -0.208100231639,
                0.793704737434,
            ],
            [
                -0.208100231639,
                -0.467310202277,
                0.477251836992,
                1.056931732448,
            ],
        ];
        for (r, want) in [0, 2].into_iter().zip(want) {
            for (g, w) in w.row(r).iter().zip(want) {
                assert!((g - w).abs() < 1e-10, "{g} vs {w}");
            }
        }
    }

    #[test]
    fn fast_tanh_agrees_with_the_library_tanh() {
        for i in -4000..=4000 {
            let x = i as f64 * 0.01 + 1e-3;
            let (a, b) = (tanh(x), x.tanh());
            assert!(
                (a - b).abs() <= 4.0 * f64::EPSILON * b.abs().max(1e-300),
                "{x}: {a} {b}"
            );
        }
        assert_eq!(tanh(1e-300), 1e-300);
        assert_eq!(tanh(50.0), 1.0);
        assert_eq!(tanh(-50.0), -1.0);
    }

    #[test]
    fn pca_reconstructs_rows_in_its_subspace_exactly() {
        // Rows on a line through (1, 1, 1) in 3-D: one axis explains them.
        let x = Array2::from_shape_fn((20, 3), |(i, j)| i as f64 * [1.0, 2.0, -1.0][j] + 1.0);
        let f = RepresentationSpec::Pca {
            dim: 1,
            standardize: false,
        }
        .fit(x.view())
        .unwrap();
        let e = f.reconstruction_error(x.view()).unwrap();
        assert!(e.iter().all(|&v| v < 1e-18), "{e}");
        let off = array![[0.0, 0.0, 5.0]];
        assert!(f.reconstruction_error(off.view()).unwrap()[0] > 1.0);
        assert_eq!(f.transform(x.view()).unwrap().ncols(), 1);
    }

    #[test]
    fn bad_parameters_and_shapes_are_errors() {
        let x = Array2::from_shape_fn((10, 4), |(i, j)| ((i * 7 + j * 3) % 5) as f64);
        let e = RepresentationSpec::Pca {
            dim: 9,
            standardize: false,
        }
        .fit(x.view())
        .unwrap_err()
        .to_string();
        assert!(e.contains("at most the feature count, 4"), "{e}");
        let e = RepresentationSpec::Msda {
            layers: 2,
            noise: 1.0,
            lambda: 1e-5,
            keep_input: true,
        }
        .fit(x.view())
        .unwrap_err()
        .to_string();
        assert!(e.contains("msda.noise"), "{e}");
        let f = RepresentationSpec::msda().fit(x.view()).unwrap();
        assert_eq!(f.output_dim(), 24);
        assert_eq!(f.transform(x.view()).unwrap().dim(), (10, 24));
        let e = f
            .transform(Array2::zeros((3, 5)).view())
            .unwrap_err()
            .to_string();
        assert!(e.contains("fitted on 4 features, given 5"), "{e}");
        let mut bad = x.clone();
        bad[(2, 1)] = f64::NAN;
        let e = RepresentationSpec::msda()
            .fit(bad.view())
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 2, column 1"), "{e}");
        let e = RepresentationSpec::msda()
            .fit(Array2::zeros((0, 4)).view())
            .unwrap_err()
            .to_string();
        assert!(e.contains("empty"), "{e}");
    }
}
