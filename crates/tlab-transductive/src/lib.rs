//! tlab-transductive: domain adaptation with a labelled source and an unlabelled target.
//! Every method here is a feature adapter: fitted on (labelled source, unlabelled target
//! features), it returns both domains in a new space, where the experiments crate trains
//! the suite's classifier on the source and labels the target.

mod coral;
mod deep;
mod easytl;
mod emd;
mod error;
mod gfk;
mod meda;
mod mmd;
mod ot;
mod pca;
mod reweight;
mod sa;

pub use coral::Coral;
pub use deep::{coral_grad, mmd_grad, DeepDa, DeepKind};
pub use easytl::{centre_distances, intra_domain_programming, CentreDistance, EasyTl, IntraAlign};
pub use emd::emd;
pub use error::{Result, TransductiveError};
pub use gfk::Gfk;
pub use meda::{a_distance, Meda};
pub use mmd::{Bda, Jda, Kernel, MmdEmbedding, Tca};
pub use ot::{ClassRegularisedTransport, EmdTransport, SinkhornTransport};
pub use pca::Pca;
pub use reweight::{median_gamma, sq_distances, ReweighterSpec, REWEIGHTERS};
pub use sa::SubspaceAlignment;

use ndarray::{Array2, Axis};
use serde::{Deserialize, Serialize};
use tlab_core::{LabeledDomain, LearnerSpec, UnlabeledDomain};

/// Source and target in the adapted space (rows in the input order).
#[derive(Debug, Clone)]
pub struct Embedded {
    pub source: Array2<f64>,
    pub target: Array2<f64>,
}

/// A fitted-and-applied transductive feature adapter.
pub trait Adapter: Send + Sync + std::fmt::Debug {
    fn name(&self) -> &'static str;
    fn adapt(
        &self,
        source: &LabeledDomain,
        target: &UnlabeledDomain,
        seed: u64,
    ) -> Result<Embedded>;
}

/// How principal axes are found: the exact symmetric eigendecomposition (default) or
/// seeded randomized subspace iteration (`tlab_core::linalg::principal_axes_randomized`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PcaSolver {
    #[default]
    Exact,
    Randomized,
}

impl PcaSolver {
    fn is_exact(&self) -> bool {
        *self == PcaSolver::Exact
    }
}

/// An adapter named in a suite file, with its paper's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum AdapterSpec {
    /// PCA on the stacked domains (baseline).
    Pca {
        #[serde(default = "dim100")]
        dim: usize,
    },
    /// Transfer Component Analysis (Pan et al., TNN 2011): primal for the linear kernel,
    /// kernel (exact, or Nyström with `nystrom` landmarks) otherwise.
    Tca {
        #[serde(default = "dim100")]
        dim: usize,
        #[serde(default = "unit")]
        lambda: f64,
        #[serde(default)]
        kernel: Kernel,
        nystrom: Option<usize>,
    },
    /// Joint Distribution Adaptation (Long et al., ICCV 2013).
    Jda {
        #[serde(default = "dim100")]
        dim: usize,
        #[serde(default = "unit")]
        lambda: f64,
        #[serde(default = "ten")]
        iterations: usize,
        /// The classifier that labels the target between iterations (default 1-NN).
        #[serde(default = "one_nn")]
        pseudo_labeler: LearnerSpec,
    },
    /// Balanced Distribution Adaptation, and its weighted form W-BDA (Wang et al., ICDM 2017).
    Bda {
        #[serde(default = "dim100")]
        dim: usize,
        #[serde(default = "unit")]
        lambda: f64,
        #[serde(default = "half")]
        mu: f64,
        #[serde(default = "ten")]
        iterations: usize,
        #[serde(default)]
        weighted: bool,
        #[serde(default = "one_nn")]
        pseudo_labeler: LearnerSpec,
    },
    /// CORrelation ALignment (Sun, Feng, Saenko, AAAI 2016).
    Coral {
        #[serde(default = "unit")]
        regularisation: f64,
    },
    /// Geodesic Flow Kernel (Gong et al., CVPR 2012).
    Gfk {
        #[serde(default = "dim20")]
        dim: usize,
    },
    /// Subspace Alignment (Fernando et al., ICCV 2013). `solver = "randomized"` finds each
    /// domain's axes by seeded randomized subspace iteration (4 power iterations, as
    /// scikit-learn's randomized PCA, which skada's SA uses) instead of the exact
    /// eigendecomposition of the 800 × 800 scatter.
    Sa {
        #[serde(default = "dim100")]
        dim: usize,
        #[serde(default, skip_serializing_if = "PcaSolver::is_exact")]
        solver: PcaSolver,
    },
    /// Entropic OT with barycentric mapping of the source (Courty et al., TPAMI 2017);
    /// ε is relative to the median squared distance.
    OtSinkhorn {
        #[serde(default = "tenth")]
        epsilon: f64,
        #[serde(default = "thousand_iter")]
        max_iter: usize,
    },
    /// Exact OT (network simplex on the transportation problem) with barycentric mapping
    /// of the source (Courty et al., TPAMI 2017).
    OtEmd {
        #[serde(default = "million")]
        max_pivots: usize,
    },
    /// Class-regularised (l1–l2 group-lasso) entropic OT (Courty et al., TPAMI 2017);
    /// ε and η relative to the median squared distance.
    OtClassReg {
        #[serde(default = "tenth")]
        epsilon: f64,
        #[serde(default = "tenth")]
        eta: f64,
        #[serde(default = "ten")]
        outer_iterations: usize,
    },
}

fn million() -> usize {
    10_000_000
}
fn tenth() -> f64 {
    0.1
}
fn thousand_iter() -> usize {
    1000
}

fn dim100() -> usize {
    100
}
fn dim20() -> usize {
    20
}
fn unit() -> f64 {
    1.0
}
fn half() -> f64 {
    0.5
}
fn ten() -> usize {
    10
}
fn one_nn() -> LearnerSpec {
    LearnerSpec::Knn { k: 1 }
}

/// Names and one-line descriptions of every adapter (for `tlab list`).
pub const ADAPTERS: [(&str, &str); 10] = [
    ("pca", "dim = 100: PCA of the stacked domains"),
    ("tca", "dim = 100, lambda = 1.0, kernel = linear | rbf {gamma} | poly {gamma, coef0, degree}, nystrom = none: TCA"),
    ("jda", "dim = 100, lambda = 1.0, iterations = 10, pseudo_labeler = 1-NN: Joint Distribution Adaptation"),
    ("bda", "dim = 100, lambda = 1.0, mu = 0.5, iterations = 10, weighted = false: (W-)BDA"),
    ("coral", "regularisation = 1.0: CORAL (source whitened and re-coloured with the target covariance)"),
    ("sa", "dim = 100: Subspace Alignment"),
    ("gfk", "dim = 20: Geodesic Flow Kernel (closed form; embedding whose distances are GFK's)"),
    ("ot-sinkhorn", "epsilon = 0.1 (× median cost), max_iter = 1000: entropic OT, barycentric mapping"),
    ("ot-emd", "max_pivots = 10000000: exact OT (network simplex), barycentric mapping"),
    ("ot-class-reg", "epsilon = 0.1, eta = 0.1 (× median cost), outer_iterations = 10: group-lasso OT"),
];

impl AdapterSpec {
    /// Checks the parameters and builds the adapter.
    pub fn build(&self) -> Result<Box<dyn Adapter>> {
        Ok(match self {
            AdapterSpec::Pca { dim } => Box::new(Pca::new(*dim)?),
            AdapterSpec::Tca {
                dim,
                lambda,
                kernel,
                nystrom,
            } => Box::new(Tca::with_kernel(*dim, *lambda, *kernel, *nystrom)?),
            AdapterSpec::Jda {
                dim,
                lambda,
                iterations,
                pseudo_labeler,
            } => Box::new(Jda::new(
                *dim,
                *lambda,
                *iterations,
                pseudo_labeler.clone(),
            )?),
            AdapterSpec::Bda {
                dim,
                lambda,
                mu,
                iterations,
                weighted,
                pseudo_labeler,
            } => Box::new(Bda::new(
                *dim,
                *lambda,
                *mu,
                *iterations,
                *weighted,
                pseudo_labeler.clone(),
            )?),
            AdapterSpec::Coral { regularisation } => Box::new(Coral::new(*regularisation)?),
            AdapterSpec::Sa { dim, solver } => {
                Box::new(SubspaceAlignment::new(*dim)?.with_solver(*solver))
            }
            AdapterSpec::Gfk { dim } => Box::new(Gfk::new(*dim)?),
            AdapterSpec::OtSinkhorn { epsilon, max_iter } => {
                Box::new(SinkhornTransport::new(*epsilon, *max_iter)?)
            }
            AdapterSpec::OtEmd { max_pivots } => Box::new(EmdTransport::new(*max_pivots)?),
            AdapterSpec::OtClassReg {
                epsilon,
                eta,
                outer_iterations,
            } => Box::new(ClassRegularisedTransport::new(
                *epsilon,
                *eta,
                *outer_iterations,
            )?),
        })
    }

    pub fn kind(&self) -> &'static str {
        match self {
            AdapterSpec::Pca { .. } => "pca",
            AdapterSpec::Tca { .. } => "tca",
            AdapterSpec::Jda { .. } => "jda",
            AdapterSpec::Bda {
                weighted: false, ..
            } => "bda",
            AdapterSpec::Bda { weighted: true, .. } => "w-bda",
            AdapterSpec::Coral { .. } => "coral",
            AdapterSpec::Sa { .. } => "sa",
            AdapterSpec::Gfk { .. } => "gfk",
            AdapterSpec::OtSinkhorn { .. } => "ot-sinkhorn",
            AdapterSpec::OtEmd { .. } => "ot-emd",
            AdapterSpec::OtClassReg { .. } => "ot-class-reg",
        }
    }
}

/// A transductive method that labels the target itself, with no classifier to train
/// afterwards (EasyTL), named in a suite file with its paper's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum LabellerSpec {
    /// EasyTL (Wang et al., ICME 2019): `intra_align = "coral"` (default) or `"raw"` (the
    /// paper's EasyTL(c)); `distance = "euclidean"` (default), `"sqeuclidean"`, `"cosine"`.
    #[serde(rename = "easytl")]
    EasyTl {
        #[serde(default)]
        intra_align: IntraAlign,
        #[serde(default)]
        distance: CentreDistance,
    },
    /// Deep DA on an MLP trunk (tlab-nn): `method = "source-only" | "dann" | "deep-coral" |
    /// "dan"`.
    Deep {
        method: DeepKind,
        #[serde(default = "hidden256")]
        hidden: Vec<usize>,
        #[serde(default = "unit_f32")]
        lambda: f32,
        #[serde(default = "twenty_epochs")]
        epochs: usize,
        #[serde(default = "batch64")]
        batch: usize,
        #[serde(default = "lr_adam")]
        lr: f32,
    },
    /// MEDA (Wang et al., ACM MM 2018), the authors' Office-Caltech defaults.
    Meda {
        #[serde(default = "dim20")]
        dim: usize,
        #[serde(default = "ten")]
        p: usize,
        #[serde(default = "ten_f")]
        lambda: f64,
        #[serde(default = "tenth")]
        eta: f64,
        #[serde(default = "unit")]
        rho: f64,
        #[serde(default = "ten")]
        iterations: usize,
    },
}

fn hidden256() -> Vec<usize> {
    vec![256]
}
fn unit_f32() -> f32 {
    1.0
}
fn twenty_epochs() -> usize {
    20
}
fn batch64() -> usize {
    64
}
fn lr_adam() -> f32 {
    1e-3
}
fn ten_f() -> f64 {
    10.0
}

/// Names and one-line descriptions of every labeller (for `tlab list`).
pub const LABELLERS: [(&str, &str); 3] = [
    (
        "easytl",
        "intra_align = coral | raw, distance = euclidean | sqeuclidean | cosine: EasyTL (parameter-free; class centres + exact intra-domain programme)",
    ),
    (
        "deep",
        "method = source-only | dann | deep-coral | dan, hidden = [256], lambda = 1, epochs = 20, batch = 64, lr = 0.001: deep DA on an MLP trunk",
    ),
    (
        "meda",
        "dim = 20, p = 10, lambda = 10, eta = 0.1, rho = 1, iterations = 10: MEDA (GFK manifold + adaptive distribution alignment + Laplacian, kernel least squares)",
    ),
];

impl LabellerSpec {
    pub fn kind(&self) -> &'static str {
        match self {
            LabellerSpec::EasyTl { .. } => "easytl",
            LabellerSpec::Meda { .. } => "meda",
            LabellerSpec::Deep { .. } => "deep",
        }
    }

    /// A short name for tables, e.g. `easytl(coral)`.
    pub fn short_name(&self) -> String {
        match self {
            LabellerSpec::EasyTl {
                intra_align: IntraAlign::Coral,
                ..
            } => "easytl(coral)".into(),
            LabellerSpec::EasyTl {
                intra_align: IntraAlign::Raw,
                ..
            } => "easytl(c)".into(),
            LabellerSpec::Meda { dim, .. } => format!("meda({dim})"),
            LabellerSpec::Deep { method, .. } => match method {
                DeepKind::SourceOnly => "mlp source-only",
                DeepKind::Dann => "mlp dann",
                DeepKind::DeepCoral => "mlp deep-coral",
                DeepKind::Dan => "mlp dan",
            }
            .into(),
        }
    }

    /// The method with its parameters checked.
    pub fn check(&self) -> Result<()> {
        match self {
            LabellerSpec::EasyTl { .. } => Ok(()),
            LabellerSpec::Meda { .. } => self.meda().expect("meda").check(),
            LabellerSpec::Deep { .. } => self.deep().expect("deep").check(),
        }
    }

    fn deep(&self) -> Option<DeepDa> {
        match self {
            LabellerSpec::Deep {
                method,
                hidden,
                lambda,
                epochs,
                batch,
                lr,
            } => Some(DeepDa {
                kind: *method,
                hidden: hidden.clone(),
                lambda: *lambda,
                epochs: *epochs,
                batch: *batch,
                lr: *lr,
            }),
            _ => None,
        }
    }

    fn meda(&self) -> Option<Meda> {
        match self {
            LabellerSpec::Meda {
                dim,
                p,
                lambda,
                eta,
                rho,
                iterations,
            } => Some(Meda {
                dim: *dim,
                neighbours: *p,
                lambda: *lambda,
                eta: *eta,
                rho: *rho,
                iterations: *iterations,
            }),
            _ => None,
        }
    }

    /// One label per target row, from the labelled source and the unlabelled target.
    pub fn label(
        &self,
        source: &LabeledDomain,
        target: &UnlabeledDomain,
        seed: u64,
    ) -> Result<ndarray::Array1<usize>> {
        match self {
            LabellerSpec::EasyTl {
                intra_align,
                distance,
            } => EasyTl::new(*intra_align, *distance).label(source, target),
            LabellerSpec::Meda { .. } => self.meda().expect("meda").label(source, target, seed),
            LabellerSpec::Deep { .. } => self.deep().expect("deep").label(source, target, seed),
        }
    }
}

/// Rows scaled to unit length (zero rows stay zero).
pub(crate) fn l2_rows(mut x: Array2<f64>) -> Array2<f64> {
    tlab_core::preprocess::l2_rows(&mut x);
    x
}

/// Column means.
pub(crate) fn mean_rows(x: ndarray::ArrayView2<'_, f64>) -> ndarray::Array1<f64> {
    x.mean_axis(Axis(0)).expect("non-empty")
}

/// A subspace dimension: at least 1.
pub(crate) fn positive_dim(dim: usize) -> Result<usize> {
    if dim == 0 {
        return Err(error::invalid("dim", dim, "≥ 1"));
    }
    Ok(dim)
}

/// Per-domain subspaces (SA, GFK) need `dim` ≤ each domain's sample count.
pub(crate) fn check_per_domain_dim(
    method: &'static str,
    source: &LabeledDomain,
    target: &UnlabeledDomain,
    dim: usize,
) -> Result<()> {
    for (n, which) in [
        (source.n_samples(), "source"),
        (target.n_samples(), "target"),
    ] {
        if dim > n {
            return Err(TransductiveError::Data {
                method,
                detail: format!("dim = {dim} exceeds the {n} {which} samples"),
            });
        }
    }
    Ok(())
}

/// Checks that the domains agree in width and are large enough for `dim` components.
pub(crate) fn check_dims(
    method: &'static str,
    source: &LabeledDomain,
    target: &UnlabeledDomain,
    dim: Option<usize>,
) -> Result<()> {
    if source.n_features() != target.n_features() {
        return Err(TransductiveError::Data {
            method,
            detail: format!(
                "source has {} features, target {}",
                source.n_features(),
                target.n_features()
            ),
        });
    }
    if let Some(dim) = dim {
        let m = source.n_features();
        if dim > m {
            return Err(TransductiveError::Data {
                method,
                detail: format!("dim = {dim} exceeds the {m} features"),
            });
        }
        let n = source.n_samples() + target.n_samples();
        if dim >= n {
            return Err(TransductiveError::Data {
                method,
                detail: format!("dim = {dim} needs more than {n} samples (source + target)"),
            });
        }
    }
    Ok(())
}

/// A seeded stream of uniform draws in [0, 1) for tests: Marsaglia's xorshift64 (13, 7,
/// 17), the top 53 bits of each word.
#[cfg(test)]
pub(crate) fn test_uniform(mut state: u64) -> impl FnMut() -> f64 {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_with_defaults_and_check_parameters() {
        let s: AdapterSpec = serde_json::from_str(r#"{"kind": "jda"}"#).unwrap();
        assert_eq!(
            s,
            AdapterSpec::Jda {
                dim: 100,
                lambda: 1.0,
                iterations: 10,
                pseudo_labeler: LearnerSpec::Knn { k: 1 }
            }
        );
        let tca = |dim, lambda, kernel, nystrom| {
            AdapterSpec::Tca {
                dim,
                lambda,
                kernel,
                nystrom,
            }
            .build()
        };
        assert!(tca(0, 1.0, Kernel::Linear, None).is_err());
        assert!(tca(5, -1.0, Kernel::Linear, None).is_err());
        assert!(tca(5, 1.0, Kernel::Rbf { gamma: Some(-2.0) }, None).is_err());
        assert!(tca(50, 1.0, Kernel::Rbf { gamma: None }, Some(10)).is_err());
        assert!(AdapterSpec::Coral {
            regularisation: 0.0
        }
        .build()
        .is_err());
        let bda = AdapterSpec::Bda {
            dim: 5,
            lambda: 1.0,
            mu: 1.5,
            iterations: 1,
            weighted: false,
            pseudo_labeler: LearnerSpec::Knn { k: 1 },
        };
        assert!(bda.build().is_err());
    }
}
