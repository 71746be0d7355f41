//! Anomaly detection fitted on normal data, as in fraud detection: a detector learns what
//! normal rows look like (on the source, or on the target itself for the no-transfer
//! baseline) and scores new rows — higher is more anomalous.
//!
//! Models:
//! - `reconstruction`: squared reconstruction error under a representation fitted on the
//!   normal rows (PCA subspace, or mSDA's first denoising layer);
//! - `gaussian`: squared Mahalanobis distance to the normal rows' mean, covariance plus
//!   `ridge`·(mean variance)·I (a Gaussian density, up to a monotone map);
//! - `gmm`: negative log-likelihood under a Gaussian mixture (linfa, full covariances);
//! - `knn`: mean Euclidean distance to the `k` nearest normal rows.
//!
//! `gaussian`, `gmm` and `knn` may first map rows through a representation (`features`)
//! fitted on the same normal rows — raw versus transferred features.
//!
//! Alarms: rows scoring above the (1 − `alarm_rate`) quantile of the training scores are
//! flagged. Contamination: the normal training data are expected to be (nearly) clean.
//! Before fitting, each training row gets a robust distance — the root mean square of its
//! robust z-scores (feature minus the median, over 1.4826·MAD, or over the standard
//! deviation where the MAD is 0; constant features skipped) — and the logs of those
//! distances are checked against Tukey's far-out fence (Q3 + 3·IQR). If more than
//! `max_contamination` of the rows lie beyond it, fitting fails with
//! [`UnsupervisedError::Contaminated`] rather than learning the anomalies as normal. The
//! screen is robust on purpose: a detector's own scores are not (a Gaussian fitted on 17%
//! far-away rows stretches its covariance until they look ordinary — masking). On clean
//! data almost no row passes the fence; a cluster of anomalies far from the normal rows
//! does. Anomalies that hide inside the normal cloud pass unseen: the check guards against
//! gross contamination only.

use linfa::traits::Fit;
use linfa::DatasetBase;
use linfa_clustering::{GaussianMixtureModel, GmmInitMethod};
use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;
use serde::{Deserialize, Serialize};
use tlab_core::select::median_of;
use tlab_core::{linalg, CoreError};

use crate::representation::{FittedRepresentation, RepresentationSpec};
use crate::{check, invalid, Result, UnsupervisedError};

/// What scores a row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum DetectorModel {
    Reconstruction {
        representation: RepresentationSpec,
    },
    Gaussian {
        #[serde(default = "ridge")]
        ridge: f64,
    },
    Gmm {
        components: usize,
        #[serde(default = "reg_covar")]
        reg_covar: f64,
    },
    Knn {
        #[serde(default = "five")]
        k: usize,
    },
}

fn ridge() -> f64 {
    1e-3
}
fn reg_covar() -> f64 {
    1e-3
}
fn five() -> usize {
    5
}
fn alarm_rate() -> f64 {
    0.05
}
fn max_contamination() -> f64 {
    0.05
}

/// A detector as a suite names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectorSpec {
    #[serde(flatten)]
    pub model: DetectorModel,
    /// A representation fitted on the normal rows first (not with `reconstruction`).
    #[serde(default)]
    pub features: Option<RepresentationSpec>,
    /// Fraction of normal rows the alarm threshold lets through as false alarms.
    #[serde(default = "alarm_rate")]
    pub alarm_rate: f64,
    /// The largest fraction of far-out training rows accepted as normal (see module notes).
    #[serde(default = "max_contamination")]
    pub max_contamination: f64,
}

impl DetectorSpec {
    /// A detector with the default alarm rate and contamination limit (both 5%).
    pub fn new(model: DetectorModel) -> Self {
        DetectorSpec {
            model,
            features: None,
            alarm_rate: alarm_rate(),
            max_contamination: max_contamination(),
        }
    }

    /// A short name, e.g. `recon(pca(8,z))` or `gaussian`.
    pub fn short_name(&self) -> String {
        let base = match &self.model {
            DetectorModel::Reconstruction { representation } => {
                format!("recon({})", representation.short_name())
            }
            DetectorModel::Gaussian { .. } => "gaussian".into(),
            DetectorModel::Gmm { components, .. } => format!("gmm({components})"),
            DetectorModel::Knn { k } => format!("knn({k})"),
        };
        match &self.features {
            Some(f) => format!("{base} on {}", f.short_name()),
            None => base,
        }
    }

    /// Checks the parameters (before any data is seen).
    pub fn validate(&self) -> Result<()> {
        if !(self.alarm_rate > 0.0 && self.alarm_rate < 1.0) {
            return Err(invalid("alarm_rate", self.alarm_rate, "a rate in (0, 1)"));
        }
        if !(self.max_contamination > 0.0 && self.max_contamination <= 1.0) {
            return Err(invalid(
                "max_contamination",
                self.max_contamination,
                "a rate in (0, 1] (1 turns the check off)",
            ));
        }
        match &self.model {
            DetectorModel::Reconstruction { representation } => {
                if self.features.is_some() {
                    return Err(invalid(
                        "features",
                        "given",
                        "nothing with `reconstruction` (its representation is the model)",
                    ));
                }
                representation.validate()?;
            }
            DetectorModel::Gaussian { ridge } => {
                if !(ridge.is_finite() && *ridge > 0.0) {
                    return Err(invalid("gaussian.ridge", ridge, "a finite value > 0"));
                }
            }
            DetectorModel::Gmm {
                components,
                reg_covar,
            } => {
                if *components == 0 {
                    return Err(invalid("gmm.components", components, "at least 1"));
                }
                if !(reg_covar.is_finite() && *reg_covar > 0.0) {
                    return Err(invalid("gmm.reg_covar", reg_covar, "a finite value > 0"));
                }
            }
            DetectorModel::Knn { k } => {
                if *k == 0 {
                    return Err(invalid("knn.k", k, "at least 1"));
                }
            }
        }
        if let Some(f) = &self.features {
            f.validate()?;
        }
        Ok(())
    }

    /// Fits on rows taken to be normal; fails if they look contaminated.
    pub fn fit(&self, normal: ArrayView2<'_, f64>, seed: u64) -> Result<FittedDetector> {
        self.validate()?;
        check("normal training rows", normal)?;
        let found = far_out_fraction(&robust_distances(normal));
        if found > self.max_contamination {
            return Err(UnsupervisedError::Contaminated {
                found: 100.0 * found,
                stated: 100.0 * self.max_contamination,
            });
        }
        let features = match &self.features {
            Some(f) => Some(f.fit_seeded(normal, seed)?),
            None => None,
        };
        let z = match &features {
            Some(f) => f.transform(normal)?,
            None => normal.to_owned(),
        };
        let scorer = match &self.model {
            DetectorModel::Reconstruction { representation } => {
                Scorer::Reconstruction(representation.fit_seeded(z.view(), seed)?)
            }
            DetectorModel::Gaussian { ridge } => gaussian(z.view(), *ridge)?,
            DetectorModel::Gmm {
                components,
                reg_covar,
            } => gmm(z.view(), *components, *reg_covar, seed)?,
            DetectorModel::Knn { k } => {
                if *k >= z.nrows() {
                    return Err(invalid(
                        "knn.k",
                        k,
                        &format!("fewer than the {} normal training rows", z.nrows()),
                    ));
                }
                Scorer::Knn {
                    train: z.clone(),
                    k: *k,
                }
            }
        };
        let train_scores = match &scorer {
            // Leave each training row out of its own neighbours.
            Scorer::Knn { train, k } => knn_scores(train.view(), z.view(), *k, true),
            other => other.score(z.view())?,
        };
        Ok(FittedDetector {
            features,
            threshold: quantile(&train_scores, 1.0 - self.alarm_rate),
            scorer,
        })
    }
}

/// Root mean square of each row's robust z-scores (see the module notes).
pub fn robust_distances(x: ArrayView2<'_, f64>) -> Array1<f64> {
    let n = x.nrows();
    let mut sq = Array1::<f64>::zeros(n);
    let mut used = 0usize;
    for col in x.columns() {
        let c = col.to_owned();
        let med = median_of(&c);
        let mad = median_of(&c.mapv(|v| (v - med).abs())) * 1.4826;
        let scale = if mad > 1e-12 {
            mad
        } else {
            let sd = c.std(0.0);
            if sd <= 1e-12 {
                continue;
            }
            sd
        };
        used += 1;
        sq.zip_mut_with(&c, |s, &v| *s += ((v - med) / scale).powi(2));
    }
    sq.mapv(|s| (s / used.max(1) as f64).sqrt())
}

/// Fraction of scores whose log lies beyond Q3 + 3·IQR of the logs.
fn far_out_fraction(scores: &Array1<f64>) -> f64 {
    let logs: Array1<f64> = scores.mapv(|s| s.max(1e-300).ln());
    let (q1, q3) = (quantile(&logs, 0.25), quantile(&logs, 0.75));
    let fence = q3 + 3.0 * (q3 - q1);
    logs.iter().filter(|&&l| l > fence).count() as f64 / logs.len() as f64
}

/// The `q` quantile with linear interpolation (numpy's default).
pub fn quantile(v: &Array1<f64>, q: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let pos = q * (s.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    s[lo] + (s[hi] - s[lo]) * (pos - lo as f64)
}

#[derive(Debug, Clone)]
enum Scorer {
    Reconstruction(FittedRepresentation),
    Gaussian {
        mean: Array1<f64>,
        precision: Array2<f64>,
    },
    Gmm {
        weights: Array1<f64>,
        means: Array2<f64>,
        precisions: Vec<Array2<f64>>,
        log_dets: Vec<f64>,
    },
    Knn {
        train: Array2<f64>,
        k: usize,
    },
}

fn gaussian(z: ArrayView2<'_, f64>, ridge: f64) -> Result<Scorer> {
    let (n, d) = z.dim();
    if n < 2 {
        return Err(CoreError::Empty {
            context: "Gaussian detector: needs at least 2 normal rows".into(),
        }
        .into());
    }
    let mean = z.mean_axis(Axis(0)).expect("non-empty");
    let c = &z - &mean;
    let mut cov = c.t().dot(&c) / (n - 1) as f64;
    let scale = (cov.diag().sum() / d as f64).max(1e-12);
    for i in 0..d {
        cov[(i, i)] += ridge * scale;
    }
    let precision = linalg::solve(cov.view(), Array2::eye(d).view())?;
    Ok(Scorer::Gaussian { mean, precision })
}

fn gmm(z: ArrayView2<'_, f64>, components: usize, reg: f64, seed: u64) -> Result<Scorer> {
    if components > z.nrows() {
        return Err(invalid(
            "gmm.components",
            components,
            &format!("at most the {} normal training rows", z.nrows()),
        ));
    }
    let model =
        GaussianMixtureModel::params_with_rng(components, Xoshiro256Plus::seed_from_u64(seed))
            .init_method(GmmInitMethod::KMeans)
            .reg_covariance(reg)
            .tolerance(1e-3)
            .max_n_iterations(200)
            .fit(&DatasetBase::from(z.to_owned()))
            .map_err(|e| UnsupervisedError::Clustering {
                algorithm: "GMM detector",
                message: e.to_string(),
            })?;
    let p3 = model.precisions();
    let mut precisions = Vec::with_capacity(components);
    let mut log_dets = Vec::with_capacity(components);
    for c in 0..components {
        let p = p3.index_axis(Axis(0), c).to_owned();
        let l = linalg::cholesky(p.view())?;
        log_dets.push(2.0 * l.diag().mapv(f64::ln).sum());
        precisions.push(p);
    }
    Ok(Scorer::Gmm {
        weights: model.weights().clone(),
        means: model.means().clone(),
        precisions,
        log_dets,
    })
}

/// Mean distance from each row of `x` to its `k` nearest rows of `train`; with
/// `leave_self_out`, `x` is `train` and each row's own zero distance is skipped.
fn knn_scores(
    train: ArrayView2<'_, f64>,
    x: ArrayView2<'_, f64>,
    k: usize,
    leave_self_out: bool,
) -> Array1<f64> {
    let tn: Array1<f64> = train.map_axis(Axis(1), |r| r.dot(&r));
    let xn: Array1<f64> = x.map_axis(Axis(1), |r| r.dot(&r));
    let g = linalg::matmul(x, false, train, true).expect("same width, checked");
    Array1::from_shape_fn(x.nrows(), |i| {
        let mut d: Vec<f64> = (0..train.nrows())
            .filter(|&j| !(leave_self_out && j == i))
            .map(|j| (xn[i] + tn[j] - 2.0 * g[(i, j)]).max(0.0))
            .collect();
        d.select_nth_unstable_by(k - 1, f64::total_cmp);
        d[..k].iter().map(|v| v.sqrt()).sum::<f64>() / k as f64
    })
}

impl Scorer {
    fn score(&self, z: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        Ok(match self {
            Scorer::Reconstruction(r) => r.reconstruction_error(z)?,
            Scorer::Gaussian { mean, precision } => {
                let c = &z - mean;
                (&linalg::matmul(c.view(), false, precision.view(), false)? * &c).sum_axis(Axis(1))
            }
            Scorer::Gmm {
                weights,
                means,
                precisions,
                log_dets,
            } => {
                let d = z.ncols() as f64;
                let mut logp = Array2::zeros((z.nrows(), weights.len()));
                for (c, p) in precisions.iter().enumerate() {
                    let diff = &z - &means.row(c);
                    let maha = (&linalg::matmul(diff.view(), false, p.view(), false)? * &diff)
                        .sum_axis(Axis(1));
                    let base = weights[c].ln() + 0.5 * log_dets[c]
                        - 0.5 * d * (2.0 * std::f64::consts::PI).ln();
                    logp.column_mut(c).assign(&maha.mapv(|m| base - 0.5 * m));
                }
                // −log Σ_c exp(logp_c), stably.
                logp.map_axis(Axis(1), |r| {
                    let m = r.fold(f64::NEG_INFINITY, |a, &b| a.max(b));
                    -(m + r.mapv(|v| (v - m).exp()).sum().ln())
                })
            }
            Scorer::Knn { train, k } => knn_scores(train.view(), z, *k, false),
        })
    }
}

/// A detector fitted on normal rows.
#[derive(Debug, Clone)]
pub struct FittedDetector {
    features: Option<FittedRepresentation>,
    scorer: Scorer,
    threshold: f64,
}

impl FittedDetector {
    /// Anomaly scores of `x` (higher = more anomalous).
    pub fn score(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        check("rows to score", x)?;
        match &self.features {
            Some(f) => self.scorer.score(f.transform(x)?.view()),
            None => {
                let width = match &self.scorer {
                    Scorer::Gaussian { mean, .. } => Some(mean.len()),
                    Scorer::Gmm { means, .. } => Some(means.ncols()),
                    Scorer::Knn { train, .. } => Some(train.ncols()),
                    Scorer::Reconstruction(_) => None, // checked by the representation
                };
                if let Some(w) = width.filter(|&w| w != x.ncols()) {
                    return Err(CoreError::Shape {
                        context: "anomaly detector".into(),
                        detail: format!("fitted on {w} features, given {}", x.ncols()),
                    }
                    .into());
                }
                self.scorer.score(x)
            }
        }
    }

    /// Rows scoring above this are flagged: the (1 − alarm rate) quantile of the training
    /// scores.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tlab_core::metrics::auroc;

    /// Deterministic pseudo-normal rows (sum of uniforms) around `centre`.
    fn cloud(n: usize, d: usize, centre: f64, salt: u64) -> Array2<f64> {
        let mut state = salt
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut unif = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        Array2::from_shape_fn((n, d), |_| {
            centre + (0..12).map(|_| unif()).sum::<f64>() - 6.0
        })
    }

    fn all_models() -> Vec<DetectorSpec> {
        vec![
            DetectorSpec::new(DetectorModel::Reconstruction {
                representation: RepresentationSpec::Pca {
                    dim: 2,
                    standardize: false,
                },
            }),
            DetectorSpec::new(DetectorModel::Gaussian { ridge: 1e-3 }),
            DetectorSpec::new(DetectorModel::Gmm {
                components: 2,
                reg_covar: 1e-3,
            }),
            DetectorSpec::new(DetectorModel::Knn { k: 5 }),
        ]
    }

    #[test]
    fn every_detector_ranks_far_rows_above_normal_ones() {
        let normal = cloud(300, 4, 0.0, 1);
        let test_normal = cloud(100, 4, 0.0, 2);
        let test_anom = cloud(20, 4, 6.0, 3);
        let x = ndarray::concatenate(Axis(0), &[test_normal.view(), test_anom.view()]).unwrap();
        let truth: Vec<bool> = (0..120).map(|i| i >= 100).collect();
        for spec in all_models() {
            let f = spec.fit(normal.view(), 0).unwrap();
            let s = f.score(x.view()).unwrap();
            let a = auroc(s.as_slice().unwrap(), &truth);
            assert!(a > 0.99, "{}: AUROC {a}", spec.short_name());
            // The alarm threshold lets about 5% of normal rows through.
            let alarms = s.iter().take(100).filter(|&&v| v > f.threshold()).count();
            assert!(alarms <= 15, "{}: {alarms} false alarms", spec.short_name());
        }
    }

    #[test]
    fn contaminated_training_data_are_refused_and_clean_data_pass() {
        let clean = cloud(300, 4, 0.0, 1);
        let dirty =
            ndarray::concatenate(Axis(0), &[clean.view(), cloud(60, 4, 25.0, 9).view()]).unwrap();
        let spec = DetectorSpec::new(DetectorModel::Gaussian { ridge: 1e-3 });
        assert!(spec.fit(clean.view(), 0).is_ok());
        let e = spec.fit(dirty.view(), 0).unwrap_err().to_string();
        assert!(e.contains("look contaminated") && e.contains("5.0%"), "{e}");
        // The robust screen flags the 60 far rows (16.7%), not the clean ones.
        let frac = far_out_fraction(&robust_distances(dirty.view()));
        assert!((frac - 60.0 / 360.0).abs() < 0.01, "{frac}");
        // Raising the stated rate accepts them (documented behaviour).
        let lenient = DetectorSpec {
            max_contamination: 0.5,
            ..spec
        };
        assert!(lenient.fit(dirty.view(), 0).is_ok());
    }

    #[test]
    fn bad_parameters_and_shapes_are_errors() {
        let normal = cloud(30, 3, 0.0, 1);
        let e = DetectorSpec {
            alarm_rate: 0.0,
            ..DetectorSpec::new(DetectorModel::Knn { k: 3 })
        }
        .fit(normal.view(), 0)
        .unwrap_err()
        .to_string();
        assert!(e.contains("alarm_rate"), "{e}");
        let e = DetectorSpec::new(DetectorModel::Knn { k: 30 })
            .fit(normal.view(), 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("fewer than the 30"), "{e}");
        let f = DetectorSpec::new(DetectorModel::Gaussian { ridge: 1e-3 })
            .fit(normal.view(), 0)
            .unwrap();
        let e = f
            .score(Array2::zeros((2, 5)).view())
            .unwrap_err()
            .to_string();
        assert!(e.contains("fitted on 3 features, given 5"), "{e}");
    }

    #[test]
    fn quantile_and_median_match_numpy() {
        // numpy.median([3, 1, 4, 1]) -> 2.0; numpy.median([3, 1, 4, 1, 5]) -> 3.0
        assert_eq!(tlab_core::select::median(&[3.0, 1.0, 4.0, 1.0]), 2.0);
        assert_eq!(tlab_core::select::median(&[3.0, 1.0, 4.0, 1.0, 5.0]), 3.0);
        // numpy.quantile([3, 1, 4, 1, 5], 0.9) -> 4.6
        let q = quantile(&Array1::from(vec![3.0, 1.0, 4.0, 1.0, 5.0]), 0.9);
        assert!((q - 4.6).abs() < 1e-12);
    }
}
