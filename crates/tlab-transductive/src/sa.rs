//! Subspace Alignment (Fernando, Habrard, Sebban, Tuytelaars, "Unsupervised Visual Domain
//! Adaptation Using Subspace Alignment", ICCV 2013): with `Ps`, `Pt` the `dim` leading PCA
//! axes of each domain, the source is mapped by `Ps Psᵀ Pt` and the target by `Pt` (as in the
//! authors' code, the samples are projected uncentred).

use tlab_core::{LabeledDomain, UnlabeledDomain};

use crate::error::Result;
use crate::pca::principal_axes;
use crate::{check_dims, check_per_domain_dim, Adapter, Embedded, PcaSolver};

#[derive(Debug, Clone)]
pub struct SubspaceAlignment {
    dim: usize,
    solver: PcaSolver,
}

impl SubspaceAlignment {
    pub fn new(dim: usize) -> Result<Self> {
        Ok(Self {
            dim: crate::positive_dim(dim)?,
            solver: PcaSolver::Exact,
        })
    }

    /// The same alignment with each domain's axes from `solver`.
    pub fn with_solver(mut self, solver: PcaSolver) -> Self {
        self.solver = solver;
        self
    }

    fn axes(&self, x: ndarray::ArrayView2<'_, f64>, seed: u64) -> Result<ndarray::Array2<f64>> {
        Ok(match self.solver {
            PcaSolver::Exact => principal_axes(x, self.dim)?,
            PcaSolver::Randomized => {
                tlab_core::linalg::principal_axes_randomized(x, self.dim, 4, seed)?
            }
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
        seed: u64,
    ) -> Result<Embedded> {
        check_dims("SA", source, target, Some(self.dim))?;
        check_per_domain_dim("SA", source, target, self.dim)?;
        let ps = self.axes(source.x(), seed)?;
        let pt = self.axes(target.x(), seed ^ 0x7a)?;
        let align = ps.dot(&ps.t().dot(&pt));
        // The two n × d × dim projections on faer (twice ndarray's `dot` at these sizes).
        use tlab_core::linalg::matmul;
        Ok(Embedded {
            source: matmul(source.x(), false, align.view(), false)?,
            target: matmul(target.x(), false, pt.view(), false)?,
        })
    }
}
