//! Geodesic Flow Kernel (Gong, Shi, Sha, Grauman, "Geodesic Flow Kernel for Unsupervised
//! Domain Adaptation", CVPR 2012): integrate the projections onto every subspace along the
//! Grassmann geodesic from the source PCA subspace `Ps` to the target's `Pt`, in closed form.
//!
//! With `PsᵀPt = U₁ Γ Vᵀ` (principal angles θ = arccos Γ) and the orthonormal directions
//! `B = −(I − Ps Psᵀ) Pt V Σ⁻¹` (Σ = sin θ; this is `Rs U₂` of the paper without forming the
//! D × (D − d) complement `Rs`), the kernel is `G = Q Λ Qᵀ` with `Q = [Ps U₁, B]` orthonormal
//! and `Λ = [[Λ₁, Λ₂], [Λ₂, Λ₃]]`, `λ₁ = ½(1 + sin 2θ / 2θ)`, `λ₂ = ½(cos 2θ − 1)/2θ`,
//! `λ₃ = ½(1 − sin 2θ / 2θ)` (the authors' code's scaling). Distances under G are Euclidean
//! distances of `X Q Λ^{1/2}`, so that is the embedding returned (2·dim columns); a direction
//! with θ = 0 has λ₂ = λ₃ = 0 and is dropped from `B`.

use ndarray::{Array1, Array2};
use tlab_core::{linalg, LabeledDomain, UnlabeledDomain};

use crate::error::{Result, TransductiveError};
use crate::pca::principal_axes;
use crate::{check_dims, check_per_domain_dim, Adapter, Embedded};

#[derive(Debug, Clone)]
pub struct Gfk {
    dim: usize,
}

impl Gfk {
    pub fn new(dim: usize) -> Result<Self> {
        Ok(Self {
            dim: crate::positive_dim(dim)?,
        })
    }
}

fn lambdas(theta: f64) -> (f64, f64, f64) {
    if theta < 1e-12 {
        return (1.0, 0.0, 0.0);
    }
    let s = (2.0 * theta).sin() / (2.0 * theta);
    (
        0.5 * (1.0 + s),
        0.5 * ((2.0 * theta).cos() - 1.0) / (2.0 * theta),
        0.5 * (1.0 - s),
    )
}

/// `Q` (orthonormal columns `[Ps U₁, B]`) and the block matrix `Λ` with `G = Q Λ Qᵀ`.
fn geodesic_kernel(ps: &Array2<f64>, pt: &Array2<f64>) -> Result<(Array2<f64>, Array2<f64>)> {
    let d = ps.ncols();
    let (u1, gamma, vt) = linalg::svd(ps.t().dot(pt).view())?;
    let ptv = pt.dot(&vt.t());
    let resid = &ptv - &ps.dot(&ps.t().dot(&ptv));
    let thetas: Vec<f64> = gamma.iter().map(|g| g.clamp(-1.0, 1.0).acos()).collect();
    // Directions with a zero angle have λ₂ = λ₃ = 0: no B column for them.
    let kept: Vec<usize> = (0..d).filter(|&i| thetas[i].sin() > 1e-10).collect();
    let k = kept.len();
    let mut q = Array2::zeros((ps.nrows(), d + k));
    q.slice_mut(ndarray::s![.., ..d]).assign(&ps.dot(&u1));
    let mut lam = Array2::zeros((d + k, d + k));
    for (i, &th) in thetas.iter().enumerate() {
        lam[(i, i)] = lambdas(th).0;
    }
    for (j, &i) in kept.iter().enumerate() {
        let (_, l2, l3) = lambdas(thetas[i]);
        q.column_mut(d + j)
            .assign(&resid.column(i).mapv(|x| -x / thetas[i].sin()));
        lam[(i, d + j)] = l2;
        lam[(d + j, i)] = l2;
        lam[(d + j, d + j)] = l3;
    }
    Ok((q, lam))
}

impl Adapter for Gfk {
    fn name(&self) -> &'static str {
        "GFK"
    }
    fn adapt(
        &self,
        source: &LabeledDomain,
        target: &UnlabeledDomain,
        _seed: u64,
    ) -> Result<Embedded> {
        check_dims("GFK", source, target, Some(self.dim))?;
        let d = self.dim;
        if 2 * d > source.n_features() {
            return Err(TransductiveError::Data {
                method: "GFK",
                detail: format!("dim = {d} needs at least {} features (2·dim)", 2 * d),
            });
        }
        check_per_domain_dim("GFK", source, target, d)?;
        let ps = principal_axes(source.x(), d)?;
        let pt = principal_axes(target.x(), d)?;
        let (q, lam) = geodesic_kernel(&ps, &pt)?;
        let (w, vecs) = linalg::sym_eigh(lam.view())?;
        let root: Array1<f64> = w.mapv(|x| x.max(0.0).sqrt());
        let map = q.dot(&(&vecs * &root).dot(&vecs.t()));
        Ok(Embedded {
            source: source.x().dot(&map),
            target: target.x().dot(&map),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Orthonormal `n × d` basis from a fixed matrix (QR through eigh of the Gram matrix).
    fn basis(n: usize, d: usize, shift: f64) -> Array2<f64> {
        let m = Array2::from_shape_fn((n, d), |(i, j)| {
            ((i * 7 + j * 13 + i * j * i) as f64 * 0.71 + shift).sin()
        });
        let (w, v) = linalg::sym_eigh(m.t().dot(&m).view()).unwrap();
        m.dot(&v)
            .dot(&Array2::from_diag(&w.mapv(|x| 1.0 / x.sqrt())))
    }

    #[test]
    fn closed_form_equals_the_integral_along_the_geodesic() {
        // G must equal ∫₀¹ Φ(t)Φ(t)ᵀ dt with Φ(t) = Ps U₁ cos(tΘ) − B sin(tΘ), a path of
        // orthonormal bases that starts at Ps and ends at the span of Pt.
        let (ps, pt) = (basis(12, 3, 0.0), basis(12, 3, 1.3));
        let (q, lam) = geodesic_kernel(&ps, &pt).unwrap();
        let g = q.dot(&lam).dot(&q.t());
        let (u1, gamma, vt) = linalg::svd(ps.t().dot(&pt).view()).unwrap();
        let theta: Vec<f64> = gamma.iter().map(|x| x.clamp(-1.0, 1.0).acos()).collect();
        assert_eq!(q.ncols(), 6);
        let a = ps.dot(&u1);
        let b = q.slice(ndarray::s![.., 3..]).to_owned();
        assert!(theta.iter().all(|t| t.sin() > 1e-10));
        let phi = |t: f64| {
            let c = Array1::from_iter(theta.iter().map(|th| (t * th).cos()));
            let s = Array1::from_iter(theta.iter().map(|th| (t * th).sin()));
            &a * &c - &b * &s
        };
        let steps = 4000;
        let mut integral = Array2::<f64>::zeros((12, 12));
        for k in 0..steps {
            let f = phi((k as f64 + 0.5) / steps as f64);
            integral += &(f.dot(&f.t()) / steps as f64);
        }
        assert!(g.iter().zip(&integral).all(|(x, y)| (x - y).abs() < 1e-6));
        // Φ(1) = Pt V: the geodesic ends on the target subspace.
        let end = phi(1.0);
        let ptv = pt.dot(&vt.t());
        assert!(end.iter().zip(&ptv).all(|(x, y)| (x - y).abs() < 1e-9));
        // Q has orthonormal columns.
        let qtq = q.t().dot(&q);
        assert!(qtq
            .indexed_iter()
            .all(|((i, j), v)| (v - if i == j { 1.0 } else { 0.0 }).abs() < 1e-9));
    }
}
