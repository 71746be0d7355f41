//! Clustering the target with linfa-clustering: k-means (Lloyd's algorithm, k-means++ or
//! random starts, best inertia of `n_init` runs) and Gaussian mixtures (EM, full
//! covariances, k-means start). The transfer option is the start: with `init = "source"`,
//! k-means runs first on the source rows (k-means++, `n_init` runs) and the target's k-means
//! starts from those centres — the source tells where the groups are, without a label.
//!
//! linfa asserts (panics) on a precomputed start of the wrong shape and on more clusters
//! than rows; both are checked here first and returned as errors.

use linfa::traits::{Fit, Predict};
use linfa::DatasetBase;
use linfa_clustering::{GaussianMixtureModel, GmmInitMethod, KMeans, KMeansInit};
use ndarray::{Array1, Array2, ArrayView2};
use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;
use serde::{Deserialize, Serialize};
use tlab_core::CoreError;

use crate::{check, invalid, Result, UnsupervisedError};

/// Where k-means starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClusterInit {
    /// k-means++ seeding (Arthur & Vassilvitskii, 2007).
    #[serde(rename = "k-means++")]
    KMeansPlusPlus,
    /// k distinct target rows drawn at random.
    Random,
    /// The centres of k-means on the source rows (source-informed initialisation).
    Source,
}

/// A clustering algorithm with its parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "algorithm", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ClusterSpec {
    KMeans {
        #[serde(default = "kmeanspp")]
        init: ClusterInit,
        #[serde(default = "ten")]
        n_init: usize,
        #[serde(default = "three_hundred")]
        max_iter: u64,
    },
    /// Gaussian mixture with full covariances; `reg_covar` is added to each diagonal.
    Gmm {
        #[serde(default = "reg_covar")]
        reg_covar: f64,
        #[serde(default = "one")]
        n_init: usize,
        #[serde(default = "hundred")]
        max_iter: u64,
    },
}

fn kmeanspp() -> ClusterInit {
    ClusterInit::KMeansPlusPlus
}
fn ten() -> usize {
    10
}
fn one() -> usize {
    1
}
fn three_hundred() -> u64 {
    300
}
fn hundred() -> u64 {
    100
}
fn reg_covar() -> f64 {
    1e-6
}

fn linfa_err(algorithm: &'static str, e: impl std::fmt::Display) -> UnsupervisedError {
    UnsupervisedError::Clustering {
        algorithm,
        message: e.to_string(),
    }
}

impl ClusterSpec {
    /// k-means with k-means++ starts, 10 runs (scikit-learn's defaults).
    pub fn kmeans(init: ClusterInit) -> Self {
        ClusterSpec::KMeans {
            init,
            n_init: 10,
            max_iter: 300,
        }
    }

    /// A short name, e.g. `kmeans(source)` or `gmm`.
    pub fn short_name(&self) -> String {
        match self {
            ClusterSpec::KMeans { init, .. } => format!(
                "kmeans({})",
                match init {
                    ClusterInit::KMeansPlusPlus => "k-means++",
                    ClusterInit::Random => "random",
                    ClusterInit::Source => "source",
                }
            ),
            ClusterSpec::Gmm { .. } => "gmm".into(),
        }
    }

    /// Whether the clustering reads the source rows.
    pub fn uses_source(&self) -> bool {
        matches!(
            self,
            ClusterSpec::KMeans {
                init: ClusterInit::Source,
                ..
            }
        )
    }

    /// Checks the parameters (before any data is seen).
    pub fn validate(&self) -> Result<()> {
        let (n_init, max_iter) = match *self {
            ClusterSpec::KMeans {
                n_init, max_iter, ..
            } => (n_init, max_iter),
            ClusterSpec::Gmm {
                reg_covar,
                n_init,
                max_iter,
            } => {
                if !(reg_covar.is_finite() && reg_covar > 0.0) {
                    return Err(invalid("gmm.reg_covar", reg_covar, "a finite value > 0"));
                }
                (n_init, max_iter)
            }
        };
        if n_init == 0 {
            return Err(invalid("n_init", n_init, "at least 1"));
        }
        if max_iter == 0 {
            return Err(invalid("max_iter", max_iter, "at least 1"));
        }
        Ok(())
    }

    /// One cluster id in 0..k per target row. `source` is read only with `init = "source"`.
    pub fn cluster(
        &self,
        k: usize,
        target: ArrayView2<'_, f64>,
        source: Option<ArrayView2<'_, f64>>,
        seed: u64,
    ) -> Result<Array1<usize>> {
        self.validate()?;
        check("target rows to cluster", target)?;
        let n = target.nrows();
        if k == 0 || k > n {
            return Err(invalid(
                "n_clusters",
                k,
                &format!("1..={n} (the target's sample count)"),
            ));
        }
        let rng = Xoshiro256Plus::seed_from_u64(seed);
        let data = DatasetBase::from(target.to_owned());
        match *self {
            ClusterSpec::KMeans {
                init,
                n_init,
                max_iter,
            } => {
                let (init, runs) = match init {
                    ClusterInit::KMeansPlusPlus => (KMeansInit::KMeansPlusPlus, n_init),
                    ClusterInit::Random => (KMeansInit::Random, n_init),
                    ClusterInit::Source => {
                        let src = source.ok_or_else(|| {
                            invalid("init", "source", "source rows (none were given)")
                        })?;
                        (
                            KMeansInit::Precomputed(source_centres(k, src, target, n_init, seed)?),
                            1,
                        )
                    }
                };
                let model = KMeans::params_with_rng(k, rng)
                    .init_method(init)
                    .n_runs(runs)
                    .max_n_iterations(max_iter)
                    .tolerance(1e-4)
                    .fit(&data)
                    .map_err(|e| linfa_err("k-means", e))?;
                Ok(model.predict(&target))
            }
            ClusterSpec::Gmm {
                reg_covar,
                n_init,
                max_iter,
            } => {
                let model = GaussianMixtureModel::params_with_rng(k, rng)
                    .init_method(GmmInitMethod::KMeans)
                    .reg_covariance(reg_covar)
                    .n_runs(n_init as u64)
                    .max_n_iterations(max_iter)
                    .tolerance(1e-3)
                    .fit(&data)
                    .map_err(|e| linfa_err("GMM", e))?;
                Ok(model.predict(&target))
            }
        }
    }
}

/// k-means++ k-means on the source rows; its centres start the target's k-means.
fn source_centres(
    k: usize,
    source: ArrayView2<'_, f64>,
    target: ArrayView2<'_, f64>,
    n_init: usize,
    seed: u64,
) -> Result<Array2<f64>> {
    check("source rows (k-means start)", source)?;
    if source.ncols() != target.ncols() {
        return Err(CoreError::Shape {
            context: "source-informed k-means".into(),
            detail: format!(
                "source has {} features, target {}",
                source.ncols(),
                target.ncols()
            ),
        }
        .into());
    }
    if k > source.nrows() {
        return Err(invalid(
            "n_clusters",
            k,
            &format!(
                "at most the source's {} rows for a source start",
                source.nrows()
            ),
        ));
    }
    let model = KMeans::params_with_rng(k, Xoshiro256Plus::seed_from_u64(seed ^ 0x5eed))
        .init_method(KMeansInit::KMeansPlusPlus)
        .n_runs(n_init)
        .max_n_iterations(300)
        .tolerance(1e-4)
        .fit(&DatasetBase::from(source.to_owned()))
        .map_err(|e| linfa_err("k-means (source start)", e))?;
    Ok(model.centroids().clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tlab_core::metrics::nmi;

    /// Three well-separated blobs in 2-D, `per` rows each, offset by `shift`.
    fn blobs(per: usize, shift: f64) -> (Array2<f64>, Vec<usize>) {
        let x = Array2::from_shape_fn((3 * per, 2), |(i, j)| {
            let c = (i / per) as f64;
            let jitter = (((i * 7 + j * 13) % 11) as f64 - 5.0) / 10.0;
            10.0 * c * (1.0 - j as f64) + jitter + shift
        });
        (x, (0..3 * per).map(|i| i / per).collect())
    }

    #[test]
    fn every_algorithm_recovers_separated_blobs_and_is_seeded() {
        let (t, y) = blobs(30, 0.0);
        let (s, _) = blobs(30, 0.5);
        for spec in [
            ClusterSpec::kmeans(ClusterInit::KMeansPlusPlus),
            ClusterSpec::kmeans(ClusterInit::Random),
            ClusterSpec::kmeans(ClusterInit::Source),
            ClusterSpec::Gmm {
                reg_covar: 1e-6,
                n_init: 1,
                max_iter: 100,
            },
        ] {
            let a = spec.cluster(3, t.view(), Some(s.view()), 4).unwrap();
            let b = spec.cluster(3, t.view(), Some(s.view()), 4).unwrap();
            assert_eq!(a, b, "{}", spec.short_name());
            let score = nmi(&y, a.as_slice().unwrap());
            assert!(score > 0.99, "{}: NMI {score}", spec.short_name());
        }
    }

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        let (t, _) = blobs(2, 0.0);
        let km = ClusterSpec::kmeans(ClusterInit::KMeansPlusPlus);
        let e = km.cluster(7, t.view(), None, 0).unwrap_err().to_string();
        assert!(e.contains("1..=6"), "{e}");
        let e = ClusterSpec::kmeans(ClusterInit::Source)
            .cluster(2, t.view(), None, 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("source rows"), "{e}");
        let wide = Array2::zeros((6, 3));
        let e = ClusterSpec::kmeans(ClusterInit::Source)
            .cluster(2, t.view(), Some(wide.view()), 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("source has 3 features, target 2"), "{e}");
        let e = km
            .cluster(2, Array2::zeros((0, 2)).view(), None, 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("empty"), "{e}");
        let e = ClusterSpec::Gmm {
            reg_covar: 0.0,
            n_init: 1,
            max_iter: 10,
        }
        .cluster(2, t.view(), None, 0)
        .unwrap_err()
        .to_string();
        assert!(e.contains("reg_covar"), "{e}");
    }
}
