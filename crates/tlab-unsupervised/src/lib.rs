//! tlab-unsupervised: transfer without labels. A representation is learned on unlabelled
//! source data (self-taught learning, Raina et al., ICML 2007) — or on the unlabelled union
//! of source and target, as mSDA does for domain adaptation — and reused on the target for:
//!
//! - clustering (k-means and Gaussian mixtures from linfa-clustering), with the option of
//!   starting k-means from the centres found on the source (`cluster.rs`);
//! - anomaly detection, as in fraud detection: a detector fitted on normal-only source data
//!   scores target rows by reconstruction error or density (`anomaly.rs`);
//! - few-label classification on the transferred features (any tlab-core learner; the
//!   experiments crate wires it).
//!
//! Representations (`representation.rs`): PCA, marginalised stacked denoising
//! autoencoders (mSDA, Chen, Xu, Weinberger, Sha, ICML 2012 — closed form, no
//! backpropagation), and autoencoders trained by gradient descent on tlab-nn — plain,
//! denoising and sparse (`autoencoder.rs`). Every function here takes features only: the types offer no way to
//! hand a label to a method of this crate (tlab-core's [`tlab_core::UnsupervisedTask`]).

pub mod anomaly;
pub mod autoencoder;
pub mod cluster;
pub mod representation;

pub use anomaly::{DetectorSpec, FittedDetector};
pub use cluster::{ClusterInit, ClusterSpec};
pub use representation::{FittedRepresentation, RepresentationSpec};

use tlab_core::CoreError;

/// Errors of this crate: bad data or parameters (tlab-core's messages), or the clustering
/// library refusing its input.
#[derive(Debug, thiserror::Error)]
pub enum UnsupervisedError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("{algorithm}: {message}")]
    Clustering {
        algorithm: &'static str,
        message: String,
    },
    #[error(
        "the normal training data look contaminated: {found:.1}% of its rows score beyond the \
         far-out fence (Q3 + 3·IQR of the log scores), more than the stated maximum of \
         {stated:.1}% (`max_contamination`); clean the data or raise the stated rate"
    )]
    Contaminated { found: f64, stated: f64 },
}

pub type Result<T, E = UnsupervisedError> = std::result::Result<T, E>;

pub(crate) fn invalid(
    name: &'static str,
    value: impl ToString,
    expected: &str,
) -> UnsupervisedError {
    CoreError::invalid_param(name, value, expected).into()
}

/// Rejects an empty matrix or a non-finite entry, naming `context`.
pub(crate) fn check(context: &str, x: ndarray::ArrayView2<'_, f64>) -> Result<()> {
    if x.nrows() == 0 {
        return Err(CoreError::Empty {
            context: context.to_string(),
        }
        .into());
    }
    Ok(tlab_core::domain::check_finite(context, x)?)
}
