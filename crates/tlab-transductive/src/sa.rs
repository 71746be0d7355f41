//! Subspace Alignment (Fernando, Habrard, Sebban, Tuytelaars, "Unsupervised Visual Domain
//! Adaptation Using Subspace Alignment", ICCV 2013): with `Ps`, `Pt` the `dim` leading PCA
//! axes of each domain, the source is mapped by `Ps Psᵀ Pt` and the target by `Pt` (as in the
//! authors' code, the samples are projected uncentred).

use tlab_core::{LabeledDomain, UnlabeledDomain};

use crate::error::Result;
use crate::pca::principal_axes;
use crate::{check_dims, check_per_domain_dim, Adapter, Embedded};

#[derive(Debug, Clone)]
pub struct SubspaceAlignment {
    dim: usize,
}

impl SubspaceAlignment {
    pub fn new(dim: usize) -> Result<Self> {
        Ok(Self {
            dim: crate::positive_dim(dim)?,
        })
    }
}

impl Adapter for SubspaceAlignment {
    fn name(&self) -> &'static str {
        "SA"
    }
    fn adapt(
        &self,
        source: &LabeledDomain,
        target: &UnlabeledDomain,
        _seed: u64,
    ) -> Result<Embedded> {
        check_dims("SA", source, target, Some(self.dim))?;
        check_per_domain_dim("SA", source, target, self.dim)?;
        let ps = principal_axes(source.x(), self.dim)?;
        let pt = principal_axes(target.x(), self.dim)?;
        let align = ps.dot(&ps.t().dot(&pt));
        Ok(Embedded {
            source: source.x().dot(&align),
            target: target.x().dot(&pt),
        })
    }
}
