//! PCA of the stacked source and target (the "PCA" baseline row of the DA tables): both
//! domains projected on the `dim` leading principal axes of their union.

use ndarray::{Array2, ArrayView2, Axis};
use tlab_core::{linalg, LabeledDomain, UnlabeledDomain};

use crate::error::Result;
use crate::{check_dims, mean_rows, Adapter, Embedded};

#[derive(Debug, Clone)]
pub struct Pca {
    dim: usize,
}

impl Pca {
    pub fn new(dim: usize) -> Result<Self> {
        Ok(Self {
            dim: crate::positive_dim(dim)?,
        })
    }
}

/// The `dim` leading principal axes (features × dim, unit columns) of the rows of `x`.
pub(crate) fn principal_axes(x: ArrayView2<'_, f64>, dim: usize) -> Result<Array2<f64>> {
    let mean = mean_rows(x);
    let centred = &x - &mean;
    let scatter = centred.t().dot(&centred);
    let (_, vecs) = linalg::sym_eigh(scatter.view())?;
    let m = vecs.ncols();
    let mut axes = Array2::zeros((m, dim));
    for j in 0..dim {
        axes.column_mut(j).assign(&vecs.column(m - 1 - j));
    }
    Ok(axes)
}

impl Adapter for Pca {
    fn name(&self) -> &'static str {
        "PCA"
    }
    fn adapt(
        &self,
        source: &LabeledDomain,
        target: &UnlabeledDomain,
        _seed: u64,
    ) -> Result<Embedded> {
        check_dims("PCA", source, target, Some(self.dim))?;
        let x =
            ndarray::concatenate(Axis(0), &[source.x(), target.x()]).expect("same width, checked");
        let axes = principal_axes(x.view(), self.dim)?;
        let mean = mean_rows(x.view());
        Ok(Embedded {
            source: (&source.x() - &mean).dot(&axes),
            target: (&target.x() - &mean).dot(&axes),
        })
    }
}
