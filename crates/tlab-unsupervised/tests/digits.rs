//! linfa's k-means and GMM through our interface, on the UCI digits (1797 × 64), land where
//! scikit-learn does. Reference (scikit-learn 1.9, `load_digits`, 5 seeds):
//!   KMeans(10, n_init=10).fit_predict(X)            NMI 0.7394 … 0.7447
//!   GaussianMixture(10, reg_covar=1e-4) on PCA(16)   NMI 0.7947 … 0.8273
//! Implementations differ in their random starts, so the check is a band around those
//! ranges (±0.03), not equality.

use tlab_core::metrics::nmi;
use tlab_core::synthetic::uci_digits;
use tlab_unsupervised::{ClusterInit, ClusterSpec, RepresentationSpec};

#[test]
fn kmeans_and_gmm_on_digits_land_where_scikit_learn_does() {
    let (x, y) = uci_digits();
    let y = y.to_vec();
    for seed in 0..2 {
        let c = ClusterSpec::kmeans(ClusterInit::KMeansPlusPlus)
            .cluster(10, x.view(), None, seed)
            .unwrap();
        let v = nmi(&y, c.as_slice().unwrap());
        assert!((0.709..=0.775).contains(&v), "k-means seed {seed}: NMI {v}");
    }
    let z = RepresentationSpec::Pca {
        dim: 16,
        standardize: false,
    }
    .fit(x.view())
    .unwrap()
    .transform(x.view())
    .unwrap();
    let gmm = ClusterSpec::Gmm {
        reg_covar: 1e-4,
        n_init: 1,
        max_iter: 100,
    };
    let mut best = 0.0f64;
    for seed in 0..3 {
        let c = gmm.cluster(10, z.view(), None, seed).unwrap();
        let v = nmi(&y, c.as_slice().unwrap());
        assert!(v > 0.70, "GMM seed {seed}: NMI {v}");
        best = best.max(v);
    }
    assert!((0.765..=0.86).contains(&best), "best GMM NMI {best}");
}
