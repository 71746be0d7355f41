//! Golden values from numpy/scipy on deterministic inputs. The inputs are
//! `xs[i, j] = sin(0.7 i + 1.3 j)` (30 × 5) and `xt[i, j] = cos(0.5 i − 0.9 j) + 0.3` (20 × 5);
//! the expected numbers came from this snippet (numpy 2.4.6, scipy 1.17.1):
//!
//! ```python
//! import numpy as np
//! from scipy.spatial.distance import cdist, pdist
//! i, j = np.arange(30)[:, None], np.arange(5)[None, :]
//! xs = np.sin(0.7 * i + 1.3 * j)
//! i = np.arange(20)[:, None]
//! xt = np.cos(0.5 * i - 0.9 * j) + 0.3
//! lin = np.sum((xs.mean(0) - xt.mean(0)) ** 2)
//! gamma = 1 / np.median(pdist(np.vstack([xs, xt]), "sqeuclidean"))
//! k = lambda a, b: np.exp(-gamma * cdist(a, b, "sqeuclidean"))
//! rbf = k(xs, xs).mean() + k(xt, xt).mean() - 2 * k(xs, xt).mean()
//! coral = np.sum((np.cov(xs, rowvar=False) - np.cov(xt, rowvar=False)) ** 2) / (4 * 5 ** 2)
//! print(repr(lin), repr(gamma), repr(rbf), repr(coral))
//! ```

use ndarray::Array2;
use tlab_similarity::{coral_distance, median_gamma, mmd_linear, mmd_rbf};

fn inputs() -> (Array2<f64>, Array2<f64>) {
    let xs = Array2::from_shape_fn((30, 5), |(i, j)| (0.7 * i as f64 + 1.3 * j as f64).sin());
    let xt = Array2::from_shape_fn((20, 5), |(i, j)| {
        (0.5 * i as f64 - 0.9 * j as f64).cos() + 0.3
    });
    (xs, xt)
}

fn close(got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 1e-12 * want.abs().max(1.0),
        "got {got:e}, want {want:e}"
    );
}

#[test]
fn numpy_golden_values() {
    let (xs, xt) = inputs();
    close(mmd_linear(xs.view(), xt.view()).unwrap(), LIN);
    close(median_gamma(xs.view(), xt.view()), GAMMA);
    close(mmd_rbf(xs.view(), xt.view(), None).unwrap(), RBF);
    close(coral_distance(xs.view(), xt.view()).unwrap(), CORAL);
}

const LIN: f64 = 0.7368315366176602;
const GAMMA: f64 = 0.1917961600963997;
const RBF: f64 = 0.16706655594962716;
const CORAL: f64 = 0.01953339000194921;
