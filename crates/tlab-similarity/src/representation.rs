//! Representation similarity between two feature matrices of the same samples:
//! - linear and RBF CKA (Kornblith, Norouzi, Lee, Hinton, ICML 2019; the RBF bandwidth as
//!   in their notebook: `σ² = threshold² · median` of the squared distances, diagonal
//!   included);
//! - RSA (Kriegeskorte et al., 2008): Spearman correlation of the two Euclidean
//!   dissimilarity matrices' upper triangles.

use ndarray::{Array2, ArrayView2, Axis};

use crate::stats::spearman;
use crate::{Result, SimilarityError};

fn check_same_samples(metric: &str, a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> Result<()> {
    if a.nrows() != b.nrows() || a.nrows() < 2 {
        return Err(SimilarityError::BadInput {
            metric: metric.to_string(),
            detail: format!(
                "needs the same ≥ 2 samples in both: got {} and {} rows",
                a.nrows(),
                b.nrows()
            ),
        });
    }
    Ok(())
}

fn center_gram(k: &Array2<f64>) -> Array2<f64> {
    let row = k.mean_axis(Axis(0)).expect("rows");
    let all = row.mean().unwrap_or(0.0);
    let mut c = k.clone();
    for ((i, j), v) in c.indexed_iter_mut() {
        *v += all - row[i] - row[j];
    }
    c
}

fn cka_gram(kx: &Array2<f64>, ky: &Array2<f64>) -> f64 {
    let (cx, cy) = (center_gram(kx), center_gram(ky));
    let hsic = (&cx * &cy).sum();
    hsic / ((&cx * &cx).sum().sqrt() * (&cy * &cy).sum().sqrt())
}

/// Linear CKA.
pub fn cka_linear(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> Result<f64> {
    check_same_samples("cka-linear", a, b)?;
    Ok(cka_gram(
        &tlab_core::linalg::gram(a),
        &tlab_core::linalg::gram(b),
    ))
}

fn gram_rbf(x: ArrayView2<'_, f64>, threshold: f64) -> Array2<f64> {
    let d = tlab_core::linalg::sq_distances_self(x);
    let median = tlab_core::select::median_of(&d);
    d.mapv(|v| (-v / (2.0 * threshold * threshold * median)).exp())
}

/// RBF CKA with Kornblith et al.'s bandwidth (`threshold` 1.0 in their paper).
pub fn cka_rbf(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>, threshold: f64) -> Result<f64> {
    check_same_samples("cka-rbf", a, b)?;
    Ok(cka_gram(&gram_rbf(a, threshold), &gram_rbf(b, threshold)))
}

/// RSA: Spearman's ρ between the upper triangles of the Euclidean distance matrices.
pub fn rsa(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> Result<f64> {
    check_same_samples("rsa", a, b)?;
    let (da, db) = (
        tlab_core::linalg::sq_distances_self(a),
        tlab_core::linalg::sq_distances_self(b),
    );
    let n = a.nrows();
    let mut va = Vec::with_capacity(n * (n - 1) / 2);
    let mut vb = Vec::with_capacity(n * (n - 1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            va.push(da[[i, j]].sqrt());
            vb.push(db[[i, j]].sqrt());
        }
    }
    Ok(spearman(&va, &vb))
}
