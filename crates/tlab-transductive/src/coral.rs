//! CORAL — CORrelation ALignment (Sun, Feng, Saenko, "Return of Frustratingly Easy Domain
//! Adaptation", AAAI 2016): whiten the source with its own covariance and re-colour it with
//! the target's, `Xs ← Xs Cs^{-1/2} Ct^{1/2}`, `C = cov + r I` (the paper's r = 1; covariance
//! with n − 1 as MATLAB's `cov`). The target is left as it is.
//!
//! How the matrix powers are computed. `C^p` of a d × d covariance is an eigen-decomposition
//! away, `V diag(w^p) Vᵀ`. But a domain with fewer samples than features (Office-Caltech's
//! webcam and DSLR, COIL20, deep features of a few hundred images) has a covariance of rank
//! below n: with `Xc` the centred rows and `S = Xcᵀ Xc / (n − 1)`, the same nonzero
//! eigenvalues are those of the n × n Gram matrix `G = Xc Xcᵀ / (n − 1) = U diag(λ) Uᵀ`, and
//! exactly
//!
//! `(S + r I)^p = r^p I + Bᵀ diag(f(λ)) B`,  `B = Uᵀ Xc`,  `f(λ) = ((λ + r)^p − r^p) / (λ (n − 1))`,
//!
//! (the eigenvectors of `S` are `Xcᵀ u / √(λ(n − 1))`; the `d − n` directions outside `Xc`'s
//! row space keep eigenvalue r). `f` is computed as `r^p expm1(p ln1p(λ/r)) / λ`, which
//! stays accurate for small λ, and is its limit `p r^{p−1}` at λ = 0 (the centring makes one
//! such λ), so no eigenvalue is divided by. Whichever of the two routes costs fewer
//! operations is taken ([`linalg::gram_route_is_cheaper`]: an n³ eigen-decomposition and two
//! n²d products against a d³ one and an nd² product); the two agree to rounding (a test checks it), and the low-rank power is
//! applied to the rows it transforms without forming the d × d matrix.

use ndarray::{Array1, Array2, ArrayView2, Axis};
use tlab_core::{linalg, LabeledDomain, UnlabeledDomain};

use crate::error::{invalid, Result, TransductiveError};
use crate::{check_dims, mean_rows, Adapter, Embedded};

#[derive(Debug, Clone)]
pub struct Coral {
    regularisation: f64,
}

impl Coral {
    /// `regularisation` > 0 is added to both covariances' diagonals (keeps them invertible).
    pub fn new(regularisation: f64) -> Result<Self> {
        if !(regularisation.is_finite() && regularisation > 0.0) {
            return Err(invalid(
                "regularisation",
                regularisation,
                "a finite value > 0",
            ));
        }
        Ok(Self { regularisation })
    }

    /// `(cov(x) + r I)^p`, by the cheaper of the two routes in the module documentation.
    fn cov_power(&self, x: ArrayView2<'_, f64>, p: f64) -> Result<CovPower> {
        let (n, d) = x.dim();
        if n < 2 {
            return Err(TransductiveError::Data {
                method: "CORAL",
                detail: format!("a covariance needs at least 2 samples, got {n}"),
            });
        }
        let c = &x - &mean_rows(x);
        if linalg::gram_route_is_cheaper(n, d) {
            self.low_rank_power(c, p)
        } else {
            Ok(CovPower::Dense(sym_power(
                &self.centred_covariance(c.view())?,
                p,
            )?))
        }
    }

    /// `cov + r I` from the centred rows `c` (n − 1 in the denominator, as MATLAB's `cov`).
    fn centred_covariance(&self, c: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        let mut cov = linalg::matmul(c, true, c, false)? / (c.nrows() as f64 - 1.0);
        cov.diag_mut().mapv_inplace(|v| v + self.regularisation);
        Ok(cov)
    }

    /// The Gram-matrix route, from the centred rows `c` (n × d).
    fn low_rank_power(&self, c: Array2<f64>, p: f64) -> Result<CovPower> {
        let n = c.nrows();
        let r = self.regularisation;
        let gram = linalg::matmul(c.view(), false, c.view(), true)? / (n as f64 - 1.0);
        let (lambda, u) = linalg::sym_eigh(gram.view())?;
        if let Some(bad) = lambda.iter().find(|&&l| !(l.is_finite() && l + r > 0.0)) {
            return Err(not_positive_definite(bad + r));
        }
        let scale = r.powf(p);
        let f: Array1<f64> = lambda.mapv(|l| {
            let per_unit = if l == 0.0 {
                p * r.powf(p - 1.0)
            } else {
                scale * (p * (l / r).ln_1p()).exp_m1() / l
            };
            per_unit / (n as f64 - 1.0)
        });
        let b = linalg::matmul(u.view(), true, c.view(), false)?;
        Ok(CovPower::LowRank { scale, b, f })
    }

    #[cfg(test)]
    fn covariance(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        self.centred_covariance((&x - &mean_rows(x)).view())
    }
}

fn not_positive_definite(eigenvalue: f64) -> TransductiveError {
    TransductiveError::Data {
        method: "CORAL",
        detail: format!(
            "covariance is not positive definite (eigenvalue {eigenvalue}); raise `regularisation`"
        ),
    }
}

/// A power of a regularised covariance: a dense d × d matrix, or `scale · I + Bᵀ diag(f) B`.
enum CovPower {
    Dense(Array2<f64>),
    LowRank {
        scale: f64,
        b: Array2<f64>,
        f: Array1<f64>,
    },
}

impl CovPower {
    /// `x · P` (P is symmetric).
    fn apply(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        Ok(match self {
            CovPower::Dense(p) => linalg::matmul(x, false, p.view(), false)?,
            CovPower::LowRank { scale, b, f } => {
                let xb = linalg::matmul(x, false, b.view(), true)? * f.view().insert_axis(Axis(0));
                let mut out = linalg::matmul(xb.view(), false, b.view(), false)?;
                out.scaled_add(*scale, &x);
                out
            }
        })
    }
}

/// `C^p` for a symmetric positive-definite `C`, through its eigen-decomposition.
pub(crate) fn sym_power(c: &Array2<f64>, p: f64) -> Result<Array2<f64>> {
    let (w, v) = linalg::sym_eigh(c.view())?;
    if let Some(bad) = w.iter().find(|&&x| x <= 0.0 || !x.is_finite()) {
        return Err(not_positive_definite(*bad));
    }
    let scaled = &v * &w.mapv(|x| x.powf(p));
    Ok(linalg::matmul(scaled.view(), false, v.view(), true)?)
}

impl Adapter for Coral {
    fn name(&self) -> &'static str {
        "CORAL"
    }
    fn adapt(
        &self,
        source: &LabeledDomain,
        target: &UnlabeledDomain,
        _seed: u64,
    ) -> Result<Embedded> {
        check_dims("CORAL", source, target, None)?;
        let whiten = self.cov_power(source.x(), -0.5)?;
        let colour = self.cov_power(target.x(), 0.5)?;
        let (ns, d) = source.x().dim();
        // `Xs Cs^{-1/2} Ct^{1/2}`, associated the cheaper way: two products with the n_s
        // rows (2 n_s d²), or the d × d transform first (d³ + n_s d²) when both are dense
        // and the source has more rows than features.
        let source = match (&whiten, &colour) {
            (CovPower::Dense(w), CovPower::Dense(c)) if ns > d => {
                let transform = linalg::matmul(w.view(), false, c.view(), false)?;
                linalg::matmul(source.x(), false, transform.view(), false)?
            }
            _ => colour.apply(whiten.apply(source.x())?.view())?,
        };
        Ok(Embedded {
            source,
            target: target.x().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array1};

    #[test]
    fn aligned_source_has_the_target_covariance() {
        // After CORAL, cov(Xs') = Ct^{1/2} Cs^{-1/2} cov(Xs) Cs^{-1/2} Ct^{1/2}, which equals
        // Ct − r·(Ct^{1/2} Cs^{-1} Ct^{1/2}) · r… exactly Ct when cov(Xs) = Cs, i.e. without
        // the ridge; check with a tiny ridge.
        let xs = array![[1.0, 2.0], [2.0, 1.0], [3.0, 5.0], [0.0, 1.0], [4.0, 3.0]];
        let xt = array![[10.0, 0.0], [12.0, 1.0], [9.0, 3.0], [11.0, -2.0]];
        let s = LabeledDomain::new("s", xs, Array1::from(vec![0, 1, 0, 1, 0]), 2).unwrap();
        let t = UnlabeledDomain::new("t", xt).unwrap();
        let c = Coral::new(1e-9).unwrap();
        let e = c.adapt(&s, &t, 0).unwrap();
        let got = c.covariance(e.source.view()).unwrap();
        let want = c.covariance(t.x()).unwrap();
        assert!(
            got.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-6),
            "{got} vs {want}"
        );
    }

    /// A seeded n × d matrix with uneven column scales (so the spectrum spreads out).
    fn data(n: usize, d: usize, seed: u64) -> Array2<f64> {
        let mut next = crate::test_uniform(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        Array2::from_shape_fn((n, d), |(_, j)| (next() - 0.5) * (1.0 + j as f64 / 4.0))
    }

    #[test]
    fn the_gram_route_gives_the_eigen_route_power() {
        // Fewer samples than features: both routes, p = ±½ and another power, and
        // regularisations below and above the spectrum.
        for (n, d) in [(7, 20), (30, 45), (2, 5)] {
            let x = data(n, d, (n * d) as u64);
            for r in [1e-3, 1.0, 50.0] {
                let coral = Coral::new(r).unwrap();
                let dense = sym_power(&coral.covariance(x.view()).unwrap(), 0.0).unwrap();
                assert!(dense.iter().all(|v| v.is_finite()));
                for p in [-0.5, 0.5, 1.5] {
                    let want = sym_power(&coral.covariance(x.view()).unwrap(), p).unwrap();
                    let c = &x - &mean_rows(x.view());
                    let low = coral.low_rank_power(c, p).unwrap();
                    let eye = Array2::<f64>::eye(d);
                    let got = low.apply(eye.view()).unwrap();
                    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                    let worst = got
                        .iter()
                        .zip(&want)
                        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
                    assert!(
                        worst <= 1e-10 * scale,
                        "n {n}, d {d}, r {r}, p {p}: off by {worst} (scale {scale})"
                    );
                }
            }
        }
    }

    #[test]
    fn both_routes_align_a_wide_source_to_a_tall_target_alike() {
        // A 12 × 30 source (Gram route) onto a 60 × 30 target (eigen route), against the
        // transform built from two dense powers.
        let xs = data(12, 30, 1);
        let xt = data(60, 30, 2) + 3.0;
        assert!(linalg::gram_route_is_cheaper(12, 30) && !linalg::gram_route_is_cheaper(60, 30));
        let ys = Array1::from_shape_fn(12, |i| i % 3);
        let s = LabeledDomain::new("s", xs.clone(), ys, 3).unwrap();
        let t = UnlabeledDomain::new("t", xt.clone()).unwrap();
        let coral = Coral::new(1.0).unwrap();
        let got = coral.adapt(&s, &t, 0).unwrap().source;
        let ws = sym_power(&coral.covariance(xs.view()).unwrap(), -0.5).unwrap();
        let ct = sym_power(&coral.covariance(xt.view()).unwrap(), 0.5).unwrap();
        let want = xs.dot(&ws).dot(&ct);
        let worst = got
            .iter()
            .zip(&want)
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(worst < 1e-10, "off by {worst}");
    }

    #[test]
    fn the_route_follows_the_operation_count() {
        // SURF: webcam (295) and DSLR (157) take the Gram route, Amazon (958) and Caltech
        // (1123) the d route; COIL20's 720 × 1024 the Gram route; MNIST-USPS's 2000 × 256
        // and Amazon reviews' 2000 × 400 the d route.
        assert!(linalg::gram_route_is_cheaper(295, 800));
        assert!(linalg::gram_route_is_cheaper(157, 800));
        assert!(!linalg::gram_route_is_cheaper(958, 800));
        assert!(!linalg::gram_route_is_cheaper(1123, 800));
        assert!(linalg::gram_route_is_cheaper(720, 1024));
        assert!(!linalg::gram_route_is_cheaper(2000, 256));
        assert!(!linalg::gram_route_is_cheaper(2000, 400));
    }
}
