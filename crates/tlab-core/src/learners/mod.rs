//! Base learners behind one [`Classifier`] trait, with optional per-sample weights (the
//! reweighting methods hand theirs over here).
//!
//! linfa was checked first: linfa-logistic has no sample weights and linfa-svm is a kernel
//! SMO solver (slow for the linear, 800-dimensional case), so the three learners are written
//! here — each tested against scikit-learn's numbers.

mod knn;
mod logistic;
mod svm;

pub use knn::{KNearest, KNearestFit};
pub use logistic::{LogisticFit, LogisticRegression, LOGISTIC_DEFAULT_TOL};
pub use svm::{LinearSvm, LinearSvmCv, LinearSvmFit};

/// The column of each row's largest score (the first on ties; NaN never wins): the class
/// a score matrix (n × k) predicts.
pub fn argmax_rows(z: ArrayView2<'_, f64>) -> Array1<usize> {
    z.axis_iter(ndarray::Axis(0))
        .map(|r| {
            r.iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |(bi, bv), (i, &v)| {
                    if v > bv {
                        (i, v)
                    } else {
                        (bi, bv)
                    }
                })
                .0
        })
        .collect()
}

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};

/// Labelled rows handed to a learner.
#[derive(Debug, Clone, Copy)]
pub struct TrainSet<'a> {
    pub x: ArrayView2<'a, f64>,
    pub y: ArrayView1<'a, usize>,
    pub n_classes: usize,
    /// One non-negative weight per row, or `None` for equal weights.
    pub weights: Option<ArrayView1<'a, f64>>,
}

impl<'a> TrainSet<'a> {
    pub fn new(x: ArrayView2<'a, f64>, y: ArrayView1<'a, usize>, n_classes: usize) -> Self {
        Self {
            x,
            y,
            n_classes,
            weights: None,
        }
    }

    pub fn from_domain(d: &'a crate::LabeledDomain) -> Self {
        Self::new(d.x(), d.y().view(), d.n_classes())
    }

    pub fn with_weights(mut self, w: ArrayView1<'a, f64>) -> Self {
        self.weights = Some(w);
        self
    }

    /// Shapes agree, labels are in range, weights are finite and non-negative with a positive sum.
    pub fn check(&self, who: &str) -> Result<()> {
        if self.x.nrows() == 0 {
            return Err(CoreError::Empty {
                context: format!("{who} training set"),
            });
        }
        if self.y.len() != self.x.nrows() {
            return Err(CoreError::Shape {
                context: format!("{who} training set"),
                detail: format!("{} rows but {} labels", self.x.nrows(), self.y.len()),
            });
        }
        if let Some(c) = self.y.iter().find(|&&c| c >= self.n_classes) {
            return Err(CoreError::Label {
                context: format!("{who} training set"),
                detail: format!("{c}: classes must be in 0..{}", self.n_classes),
            });
        }
        crate::domain::check_finite(&format!("{who} training features"), self.x)?;
        if let Some(w) = self.weights {
            if w.len() != self.x.nrows() {
                return Err(CoreError::Shape {
                    context: format!("{who} sample weights"),
                    detail: format!("{} weights for {} rows", w.len(), self.x.nrows()),
                });
            }
            if let Some(i) = w.iter().position(|v| !v.is_finite() || *v < 0.0) {
                return Err(CoreError::invalid(
                    "sample_weight",
                    w[i],
                    format!("finite and ≥ 0 (row {i})"),
                ));
            }
            if w.sum() <= 0.0 {
                return Err(CoreError::invalid(
                    "sample_weight",
                    "all zero",
                    "a positive total weight",
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn weight(&self, i: usize) -> f64 {
        self.weights.map_or(1.0, |w| w[i])
    }
}

/// A learner: checked parameters that fit on labelled rows.
pub trait Classifier: Send + Sync + std::fmt::Debug {
    fn fit(&self, data: TrainSet<'_>) -> Result<Box<dyn FittedClassifier>>;
}

/// A fitted model that labels new rows.
pub trait FittedClassifier: Send + Sync + std::fmt::Debug {
    fn n_classes(&self) -> usize;
    fn n_features(&self) -> usize;
    fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Array1<usize>>;
    /// Class probabilities, for the learners that have them.
    fn predict_proba(&self, _x: ArrayView2<'_, f64>) -> Option<Result<Array2<f64>>> {
        None
    }
}

pub(crate) fn check_predict_input(
    who: &str,
    n_features: usize,
    x: ArrayView2<'_, f64>,
) -> Result<()> {
    if x.ncols() != n_features {
        return Err(CoreError::Shape {
            context: format!("{who} predict"),
            detail: format!("fitted on {n_features} features, given {}", x.ncols()),
        });
    }
    crate::domain::check_finite(&format!("{who} predict input"), x)
}

/// A learner named in a suite file, with its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum LearnerSpec {
    /// k-nearest neighbours (Euclidean); `k = 1` is the 1-NN of the published tables.
    Knn {
        #[serde(default = "one")]
        k: usize,
    },
    /// Multinomial logistic regression, L2-penalised (`C` as in scikit-learn).
    Logistic {
        #[serde(default = "unit")]
        c: f64,
        #[serde(default = "default_logistic_iter")]
        max_iter: usize,
        /// Stop when the largest gradient entry is below this (scikit-learn's `tol`, whose
        /// default is 1e-4). Left out of the stored parameters when it is the default, so
        /// rows written before it existed keep their keys.
        #[serde(
            default = "default_logistic_tol",
            skip_serializing_if = "is_default_logistic_tol"
        )]
        tol: f64,
    },
    /// Linear SVM whose C is chosen by stratified k-fold cross-validation on the training
    /// rows alone (the source, in a transfer task — never the target's labels).
    LinearSvmCv {
        #[serde(default = "default_c_grid")]
        c_grid: Vec<f64>,
        #[serde(default = "default_folds")]
        folds: usize,
    },
    /// One-vs-rest linear SVM (squared hinge, as LIBLINEAR / scikit-learn's LinearSVC).
    LinearSvm {
        #[serde(default = "unit")]
        c: f64,
        #[serde(default = "default_svm_iter")]
        max_iter: usize,
        #[serde(default = "default_svm_tol")]
        tol: f64,
    },
}

fn one() -> usize {
    1
}
fn unit() -> f64 {
    1.0
}
fn default_logistic_iter() -> usize {
    500
}
fn default_logistic_tol() -> f64 {
    logistic::LOGISTIC_DEFAULT_TOL
}
fn is_default_logistic_tol(tol: &f64) -> bool {
    *tol == logistic::LOGISTIC_DEFAULT_TOL
}
fn default_svm_iter() -> usize {
    1000
}
fn default_c_grid() -> Vec<f64> {
    vec![0.001, 0.01, 0.1, 1.0, 10.0]
}
fn default_folds() -> usize {
    5
}
fn default_svm_tol() -> f64 {
    1e-4
}

impl LearnerSpec {
    /// Checks the parameters and builds the learner; `seed` drives any random order.
    pub fn build(&self, seed: u64) -> Result<Box<dyn Classifier>> {
        Ok(match *self {
            LearnerSpec::Knn { k } => Box::new(KNearest::new(k)?),
            LearnerSpec::Logistic { c, max_iter, tol } => {
                Box::new(LogisticRegression::new(c, max_iter)?.with_tol(tol)?)
            }
            LearnerSpec::LinearSvm { c, max_iter, tol } => {
                Box::new(LinearSvm::new(c, max_iter, seed)?.with_tol(tol)?)
            }
            LearnerSpec::LinearSvmCv { ref c_grid, folds } => {
                Box::new(LinearSvmCv::new(c_grid.clone(), folds, seed)?)
            }
        })
    }

    /// A short label for tables: `1nn`, `5nn`, `logistic`, `svm`.
    pub fn short_name(&self) -> String {
        match self {
            LearnerSpec::Knn { k } => format!("{k}nn"),
            LearnerSpec::Logistic { .. } => "logistic".into(),
            LearnerSpec::LinearSvm { .. } => "svm".into(),
            LearnerSpec::LinearSvmCv { .. } => "svm-cv".into(),
        }
    }
}
