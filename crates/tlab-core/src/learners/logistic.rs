//! Multinomial logistic regression with an L2 penalty on the weights (not the intercept),
//! fitted by L-BFGS. The objective is scikit-learn's, `C Σᵢ wᵢ ℓᵢ + ½‖W‖²`, divided by
//! `C Σᵢ wᵢ` so that one gradient tolerance suits any sample count. A fit holds two packed
//! copies of the design ([`crate::linalg::ThinDesign`], twice the design's memory) for the
//! products of every evaluation.

use std::collections::VecDeque;

use ndarray::{Array1, Array2, ArrayView2, Axis};

use super::{check_predict_input, Classifier, FittedClassifier, TrainSet};
use crate::error::{CoreError, Result};

#[derive(Debug, Clone)]
pub struct LogisticRegression {
    c: f64,
    max_iter: usize,
    tol: f64,
}

/// The default stopping rule: the largest gradient entry of the (per-unit-weight)
/// objective below 1e-8. scikit-learn's `lbfgs` stops at 1e-4 on the same objective.
pub const LOGISTIC_DEFAULT_TOL: f64 = 1e-8;

impl LogisticRegression {
    /// `c`: inverse regularisation strength (> 0); `max_iter`: L-BFGS iterations (≥ 1).
    pub fn new(c: f64, max_iter: usize) -> Result<Self> {
        if !(c.is_finite() && c > 0.0) {
            return Err(CoreError::invalid("c", c, "a finite value > 0"));
        }
        if max_iter == 0 {
            return Err(CoreError::invalid("max_iter", max_iter, "≥ 1"));
        }
        Ok(Self {
            c,
            max_iter,
            tol: LOGISTIC_DEFAULT_TOL,
        })
    }

    /// Stops when the largest gradient entry of the objective (divided by `C Σᵢ wᵢ`, as
    /// scikit-learn's) is below `tol` (> 0): scikit-learn's `tol` means the same.
    pub fn with_tol(mut self, tol: f64) -> Result<Self> {
        if !(tol.is_finite() && tol > 0.0) {
            return Err(CoreError::invalid("tol", tol, "a finite value > 0"));
        }
        self.tol = tol;
        Ok(self)
    }
}

#[derive(Debug, Clone)]
pub struct LogisticFit {
    /// d × k weights and k intercepts.
    pub coef: Array2<f64>,
    pub intercept: Array1<f64>,
    pub iterations: usize,
}

struct Problem<'a> {
    x: ArrayView2<'a, f64>,
    /// x packed once for the two products of every evaluation.
    design: crate::linalg::ThinDesign,
    y: Vec<usize>,
    w: Array1<f64>,
    k: usize,
    l2: f64,
}

impl Problem<'_> {
    fn d(&self) -> usize {
        self.x.ncols()
    }

    /// Objective and gradient at θ = [W (d×k, row-major); b (k)].
    fn eval(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let (d, k) = (self.d(), self.k);
        let wmat = ArrayView2::from_shape((d, k), &theta[..d * k]).expect("shape");
        let b = &theta[d * k..];
        // ndarray's bits, without repacking the fixed design at every evaluation.
        let mut z = self.design.dot(wmat);
        // Per row: lse = m + ln Σ exp(v − m) with m the row's maximum, then the row becomes
        // exp(v − lse). The exponentials of all rows go through `vmath` at once (the bits of
        // `f64::exp`), each sum and each subtraction as a row-by-row pass would do them.
        let mut shifted = z.clone();
        let mut maxima = Vec::with_capacity(z.nrows());
        for (mut row, mut sh) in z.axis_iter_mut(Axis(0)).zip(shifted.axis_iter_mut(Axis(0))) {
            row.iter_mut().zip(b).for_each(|(v, bj)| *v += bj);
            let m = row.fold(f64::NEG_INFINITY, |a, &v| a.max(v));
            sh.zip_mut_with(&row, |s, &v| *s = v - m);
            maxima.push(m);
        }
        crate::vmath::exp_map_inplace(shifted.as_slice_mut().expect("row-major"), |v| v);
        let mut loss = 0.0;
        for (i, (mut row, sh)) in z
            .axis_iter_mut(Axis(0))
            .zip(shifted.axis_iter(Axis(0)))
            .enumerate()
        {
            let lse = maxima[i] + sh.iter().sum::<f64>().ln();
            loss += self.w[i] * (lse - row[self.y[i]]);
            row.mapv_inplace(|v| v - lse);
        }
        crate::vmath::exp_map_inplace(z.as_slice_mut().expect("row-major"), |v| v);
        for (i, mut row) in z.axis_iter_mut(Axis(0)).enumerate() {
            // Row becomes wᵢ (pᵢ − yᵢ), the gradient of the data term w.r.t. zᵢ.
            row[self.y[i]] -= 1.0;
            row *= self.w[i];
        }
        let gw = self.design.t_dot(z.view());
        let mut grad = Vec::with_capacity(theta.len());
        let mut reg = 0.0;
        for (g, t) in gw.iter().zip(&theta[..d * k]) {
            grad.push(g + self.l2 * t);
            reg += t * t;
        }
        grad.extend(z.sum_axis(Axis(0)).iter());
        (loss + 0.5 * self.l2 * reg, grad)
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(p, q)| p * q).sum()
}

/// L-BFGS (10 pairs) with a backtracking Armijo line search; stops when the largest
/// gradient entry is below `tol`. Returns the minimiser and the iterations used.
fn lbfgs(p: &Problem<'_>, mut theta: Vec<f64>, max_iter: usize, tol: f64) -> (Vec<f64>, usize) {
    let (mut f, mut g) = p.eval(&theta);
    let mut hist: VecDeque<(Vec<f64>, Vec<f64>, f64)> = VecDeque::new();
    for it in 0..max_iter {
        if g.iter().fold(0.0f64, |a, v| a.max(v.abs())) < tol {
            return (theta, it);
        }
        // Two-loop recursion for the direction −H g.
        let mut q = g.clone();
        let mut alphas = Vec::with_capacity(hist.len());
        for (s, y, rho) in hist.iter().rev() {
            let a = rho * dot(s, &q);
            q.iter_mut().zip(y).for_each(|(qi, yi)| *qi -= a * yi);
            alphas.push(a);
        }
        let gamma = hist
            .back()
            .map_or(1.0 / dot(&g, &g).sqrt().max(1e-12), |(s, y, _)| {
                dot(s, y) / dot(y, y)
            });
        q.iter_mut().for_each(|v| *v *= gamma);
        for ((s, y, rho), a) in hist.iter().zip(alphas.iter().rev()) {
            let bcoef = rho * dot(y, &q);
            q.iter_mut()
                .zip(s)
                .for_each(|(qi, si)| *qi += (a - bcoef) * si);
        }
        let dir: Vec<f64> = q.iter().map(|v| -v).collect();
        let slope = dot(&g, &dir);
        if slope >= 0.0 {
            hist.clear();
            continue;
        }
        let mut step = 1.0;
        let (new_theta, nf, ng) = loop {
            let cand: Vec<f64> = theta.iter().zip(&dir).map(|(t, d)| t + step * d).collect();
            let (cf, cg) = p.eval(&cand);
            if cf <= f + 1e-4 * step * slope || step < 1e-12 {
                break (cand, cf, cg);
            }
            step *= 0.5;
        };
        let s: Vec<f64> = new_theta.iter().zip(&theta).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = ng.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        let improved = f - nf;
        theta = new_theta;
        f = nf;
        g = ng;
        if sy > 1e-12 {
            if hist.len() == 10 {
                hist.pop_front();
            }
            hist.push_back((s, y, 1.0 / sy));
        }
        if improved.abs() <= 1e-14 * f.abs().max(1.0) {
            return (theta, it + 1);
        }
    }
    (theta, max_iter)
}

impl Classifier for LogisticRegression {
    fn fit(&self, data: TrainSet<'_>) -> Result<Box<dyn FittedClassifier>> {
        Ok(Box::new(self.fit_logistic(data)?))
    }
}

impl LogisticRegression {
    /// The fit with its coefficients and the iterations L-BFGS used.
    pub fn fit_logistic(&self, data: TrainSet<'_>) -> Result<LogisticFit> {
        data.check("logistic regression")?;
        let n = data.x.nrows();
        let w: Array1<f64> = (0..n).map(|i| data.weight(i)).collect();
        let total = w.sum();
        let k = data.n_classes;
        let d = data.x.ncols();
        let p = Problem {
            x: data.x,
            design: crate::linalg::ThinDesign::new(data.x),
            y: data.y.to_vec(),
            w: w / total,
            k,
            l2: 1.0 / (self.c * total),
        };
        let (theta, iterations) = lbfgs(&p, vec![0.0; d * k + k], self.max_iter, self.tol);
        let coef = Array2::from_shape_vec((d, k), theta[..d * k].to_vec()).expect("shape");
        let intercept = Array1::from(theta[d * k..].to_vec());
        Ok(LogisticFit {
            coef,
            intercept,
            iterations,
        })
    }
}

impl LogisticFit {
    fn scores(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        check_predict_input("logistic regression", self.coef.nrows(), x)?;
        Ok(x.dot(&self.coef) + &self.intercept)
    }
}

impl FittedClassifier for LogisticFit {
    fn n_classes(&self) -> usize {
        self.coef.ncols()
    }
    fn n_features(&self) -> usize {
        self.coef.nrows()
    }
    fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Array1<usize>> {
        Ok(super::argmax_rows(self.scores(x)?.view()))
    }
    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Option<Result<Array2<f64>>> {
        Some(self.scores(x).map(|mut z| {
            for mut row in z.axis_iter_mut(Axis(0)) {
                let m = row.fold(f64::NEG_INFINITY, |a, &v| a.max(v));
                row.mapv_inplace(|v| (v - m).exp());
                let s = row.sum();
                row /= s;
            }
            z
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn toy() -> (Array2<f64>, Array1<usize>) {
        let x = array![
            [0.0, 1.0],
            [1.0, 0.5],
            [2.0, 2.0],
            [3.0, 0.0],
            [0.5, 3.0],
            [2.5, 2.5],
            [1.5, 0.2],
            [0.2, 2.2],
            [3.1, 1.4]
        ];
        (x, array![0, 0, 1, 2, 1, 1, 2, 0, 2])
    }

    #[test]
    fn matches_scikit_learn_multinomial() {
        // x, y as in toy(); scikit-learn 1.9.1:
        // m = LogisticRegression(C=1.0, tol=1e-10, max_iter=10000).fit(x, y)
        // m.predict_proba(x)[0] -> [0.8440835073610864, 0.08568749358358434, 0.0702289990553293]
        let (x, y) = toy();
        let fit = LogisticRegression::new(1.0, 1000)
            .unwrap()
            .fit(TrainSet::new(x.view(), y.view(), 3))
            .unwrap();
        let p = fit.predict_proba(x.view()).unwrap().unwrap();
        let want_p0 = [
            0.844_083_507_361_086_4,
            0.085_687_493_583_584_34,
            0.070_228_999_055_329_3,
        ];
        for (c, w) in want_p0.iter().enumerate() {
            assert!(
                (p[(0, c)] - w).abs() < 1e-5,
                "class {c}: {} vs {w}",
                p[(0, c)]
            );
        }
    }

    #[test]
    fn integer_weights_equal_duplicated_rows() {
        let (x, y) = toy();
        let w = array![2.0, 1.0, 1.0, 1.0, 1.0, 3.0, 1.0, 1.0, 1.0];
        let model = LogisticRegression::new(0.7, 1000).unwrap();
        let a = model
            .fit(TrainSet::new(x.view(), y.view(), 3).with_weights(w.view()))
            .unwrap();
        let rows: Vec<usize> = vec![0, 0, 1, 2, 3, 4, 5, 5, 5, 6, 7, 8];
        let xd = x.select(Axis(0), &rows);
        let yd: Array1<usize> = rows.iter().map(|&i| y[i]).collect();
        let b = model.fit(TrainSet::new(xd.view(), yd.view(), 3)).unwrap();
        let pa = a.predict_proba(x.view()).unwrap().unwrap();
        let pb = b.predict_proba(x.view()).unwrap().unwrap();
        assert!(pa.iter().zip(&pb).all(|(p, q)| (p - q).abs() < 1e-6));
    }

    #[test]
    fn rejects_bad_params() {
        assert!(LogisticRegression::new(0.0, 10).is_err());
        assert!(LogisticRegression::new(f64::NAN, 10).is_err());
        assert!(LogisticRegression::new(1.0, 0).is_err());
        let m = LogisticRegression::new(1.0, 10).unwrap();
        assert!(m.clone().with_tol(0.0).is_err());
        assert!(m.clone().with_tol(f64::NAN).is_err());
        assert!(m.with_tol(f64::INFINITY).is_err());
    }

    #[test]
    fn tol_stops_at_that_gradient() {
        // The loose fit stops as soon as the largest gradient entry of the scaled objective
        // is below 1e-4 (scikit-learn's default), in fewer iterations than the default 1e-8.
        let (x, y) = toy();
        let n = y.len() as f64;
        let fit_for = |tol: f64, max_iter: usize| {
            LogisticRegression::new(1.0, max_iter)
                .unwrap()
                .with_tol(tol)
                .unwrap()
                .fit_logistic(TrainSet::new(x.view(), y.view(), 3))
                .unwrap()
        };
        let (loose, tight) = (fit_for(1e-4, 1000), fit_for(1e-8, 1000));
        assert!(
            loose.iterations < tight.iterations,
            "{} vs {}",
            loose.iterations,
            tight.iterations
        );
        let grad_max = |f: &LogisticFit| {
            let p = Problem {
                x: x.view(),
                design: crate::linalg::ThinDesign::new(x.view()),
                y: y.to_vec(),
                w: Array1::from_elem(y.len(), 1.0 / n),
                k: 3,
                l2: 1.0 / n,
            };
            let mut theta: Vec<f64> = f.coef.iter().copied().collect();
            theta.extend(f.intercept.iter());
            let (_, g) = p.eval(&theta);
            g.iter().fold(0.0f64, |a, v| a.max(v.abs()))
        };
        assert!(grad_max(&loose) < 1e-4);
        // One iteration fewer and the gradient is still above it: it stopped at the first
        // iterate below tol. (The tight fit may stop earlier on its relative-improvement
        // rule, so only its being further along is checked.)
        let before = fit_for(1e-4, loose.iterations - 1);
        assert!(grad_max(&before) >= 1e-4, "{}", grad_max(&before));
        assert!(grad_max(&tight) < grad_max(&loose));
    }
}
