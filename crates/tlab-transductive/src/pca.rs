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

/// The `dim` leading principal axes of the rows of `x` (now in tlab-core, shared with the
/// unsupervised crate).
pub(crate) fn principal_axes(x: ArrayView2<'_, f64>, dim: usize) -> Result<Array2<f64>> {
    Ok(linalg::principal_axes(x, dim)?)
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
