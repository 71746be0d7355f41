//! CORAL — CORrelation ALignment (Sun, Feng, Saenko, "Return of Frustratingly Easy Domain
//! Adaptation", AAAI 2016): whiten the source with its own covariance and re-colour it with
//! the target's, `Xs ← Xs Cs^{-1/2} Ct^{1/2}`, `C = cov + r I` (the paper's r = 1; covariance
//! with n − 1 as MATLAB's `cov`). The target is left as it is.

use ndarray::{Array2, ArrayView2};
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

    fn covariance(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        let n = x.nrows();
        if n < 2 {
            return Err(TransductiveError::Data {
                method: "CORAL",
                detail: format!("a covariance needs at least 2 samples, got {n}"),
            });
        }
        let c = &x - &mean_rows(x);
        let mut cov = linalg::matmul(c.view(), true, c.view(), false)? / (n as f64 - 1.0);
        cov.diag_mut().mapv_inplace(|v| v + self.regularisation);
        Ok(cov)
    }
}

/// `C^p` for a symmetric positive-definite `C`, through its eigen-decomposition.
pub(crate) fn sym_power(c: &Array2<f64>, p: f64) -> Result<Array2<f64>> {
    let (w, v) = linalg::sym_eigh(c.view())?;
    if let Some(bad) = w.iter().find(|&&x| x <= 0.0 || !x.is_finite()) {
        return Err(TransductiveError::Data {
            method: "CORAL",
            detail: format!(
                "covariance is not positive definite (eigenvalue {bad}); raise `regularisation`"
            ),
        });
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
        let cs = self.covariance(source.x())?;
        let ct = self.covariance(target.x())?;
        let transform = linalg::matmul(
            sym_power(&cs, -0.5)?.view(),
            false,
            sym_power(&ct, 0.5)?.view(),
            false,
        )?;
        Ok(Embedded {
            source: linalg::matmul(source.x(), false, transform.view(), false)?,
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
}
