//! One-vs-rest linear SVM, squared hinge loss, solved in the dual by coordinate descent
//! (Hsieh, Chang, Lin, Keerthi, Sathiya, "A Dual Coordinate Descent Method for Large-scale
//! Linear SVM", ICML 2008) — LIBLINEAR's solver behind scikit-learn's `LinearSVC`. As there,
//! the intercept is a constant feature of value 1 that is regularised with the weights.
//! Sample weights scale each sample's C.

use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{check_predict_input, Classifier, FittedClassifier, TrainSet};
use crate::error::{CoreError, Result};

#[derive(Debug, Clone)]
pub struct LinearSvm {
    c: f64,
    max_iter: usize,
    tol: f64,
    seed: u64,
}

impl LinearSvm {
    /// `c` > 0 (scikit-learn's C), `max_iter` ≥ 1 passes over the data; `seed` orders the passes.
    pub fn new(c: f64, max_iter: usize, seed: u64) -> Result<Self> {
        if !(c.is_finite() && c > 0.0) {
            return Err(CoreError::invalid("c", c, "a finite value > 0"));
        }
        if max_iter == 0 {
            return Err(CoreError::invalid("max_iter", max_iter, "≥ 1"));
        }
        Ok(Self {
            c,
            max_iter,
            tol: 1e-4,
            seed,
        })
    }

    /// Stops when the projected-gradient spread of a pass falls below `tol` (LIBLINEAR's
    /// criterion; scikit-learn's default is 1e-4).
    pub fn with_tol(mut self, tol: f64) -> Result<Self> {
        if !(tol.is_finite() && tol > 0.0) {
            return Err(CoreError::invalid("tol", tol, "a finite value > 0"));
        }
        self.tol = tol;
        Ok(self)
    }

    /// One binary problem (labels ±1); returns the weights with the bias as the last entry.
    fn binary(&self, x: ArrayView2<'_, f64>, sign: &[f64], cw: &[f64]) -> Array1<f64> {
        let (n, d) = x.dim();
        // Rows as plain slices (the inner loop is a dot and an axpy over a row: ndarray's
        // per-row slicing, and its dot's call, cost more than the arithmetic at MEDA's 20
        // features). The arithmetic is ndarray's: the dot as `dot` of two contiguous views
        // computes it (`dot_slices`, inlined), and `w += δ·x_i` as `scaled_add` does.
        let xs = x.as_standard_layout();
        let rows = xs.as_slice().expect("standard layout");
        let row = |i: usize| &rows[i * d..(i + 1) * d];
        let mut w = vec![0.0f64; d + 1];
        let mut alpha = vec![0.0; n];
        let diag: Vec<f64> = cw.iter().map(|c| 0.5 / c).collect();
        let qii: Vec<f64> = (0..n)
            .map(|i| x.row(i).dot(&x.row(i)) + 1.0 + diag[i])
            .collect();
        let mut order: Vec<usize> = (0..n).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        for _ in 0..self.max_iter {
            order.shuffle(&mut rng);
            let (mut pg_max, mut pg_min) = (f64::NEG_INFINITY, f64::INFINITY);
            for &i in &order {
                let xi = row(i);
                let wx = crate::linalg::dot_slices(xi, &w[..d]) + w[d];
                let g = sign[i] * wx - 1.0 + diag[i] * alpha[i];
                let pg = if alpha[i] == 0.0 { g.min(0.0) } else { g };
                pg_max = pg_max.max(pg);
                pg_min = pg_min.min(pg);
                if pg.abs() > 1e-15 {
                    let old = alpha[i];
                    alpha[i] = (old - g / qii[i]).max(0.0);
                    let delta = (alpha[i] - old) * sign[i];
                    for (wj, &xj) in w[..d].iter_mut().zip(xi) {
                        *wj += delta * xj;
                    }
                    w[d] += delta;
                }
            }
            if pg_max - pg_min < self.tol {
                break;
            }
        }
        Array1::from(w)
    }
}

#[derive(Debug, Clone)]
pub struct LinearSvmFit {
    /// d × k weights and k intercepts (one column per one-vs-rest problem).
    pub coef: Array2<f64>,
    pub intercept: Array1<f64>,
}

impl Classifier for LinearSvm {
    fn fit(&self, data: TrainSet<'_>) -> Result<Box<dyn FittedClassifier>> {
        data.check("linear SVM")?;
        let (n, d) = data.x.dim();
        let k = data.n_classes;
        let cw: Vec<f64> = (0..n).map(|i| self.c * data.weight(i)).collect();
        let mut coef = Array2::zeros((d, k));
        let mut intercept = Array1::zeros(k);
        // With two classes the second problem is the first negated: solve once.
        let problems = if k == 2 { 1 } else { k };
        for c in 0..problems {
            let sign: Vec<f64> = data
                .y
                .iter()
                .map(|&l| if l == c { 1.0 } else { -1.0 })
                .collect();
            let w = self.binary(data.x, &sign, &cw);
            coef.column_mut(c).assign(&w.slice(ndarray::s![..d]));
            intercept[c] = w[d];
        }
        if k == 2 {
            let neg = coef.column(0).mapv(|v| -v);
            coef.column_mut(1).assign(&neg);
            intercept[1] = -intercept[0];
        }
        Ok(Box::new(LinearSvmFit { coef, intercept }))
    }
}

/// A linear SVM whose C is picked from a grid by stratified k-fold cross-validation on the
/// training rows (ties go to the smaller C), then refitted on all of them.
#[derive(Debug, Clone)]
pub struct LinearSvmCv {
    grid: Vec<f64>,
    folds: usize,
    seed: u64,
}

impl LinearSvmCv {
    pub fn new(grid: Vec<f64>, folds: usize, seed: u64) -> Result<Self> {
        if grid.is_empty() {
            return Err(CoreError::invalid("c_grid", "[]", "at least one value"));
        }
        for &c in &grid {
            LinearSvm::new(c, 1, seed)?;
        }
        if folds < 2 {
            return Err(CoreError::invalid("folds", folds, "≥ 2"));
        }
        Ok(Self { grid, folds, seed })
    }
}

impl Classifier for LinearSvmCv {
    fn fit(&self, data: TrainSet<'_>) -> Result<Box<dyn FittedClassifier>> {
        data.check("linear SVM (CV)")?;
        let n = data.x.nrows();
        // Stratified folds: each class's rows shuffled by seed, dealt round-robin.
        let mut fold_of = vec![0; n];
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        for c in 0..data.n_classes {
            let mut rows: Vec<usize> = (0..n).filter(|&i| data.y[i] == c).collect();
            rows.shuffle(&mut rng);
            for (k, i) in rows.into_iter().enumerate() {
                fold_of[i] = k % self.folds;
            }
        }
        let mut best = (f64::NEG_INFINITY, self.grid[0]);
        for &c in &self.grid {
            let model = LinearSvm::new(c, 1000, self.seed)?;
            let mut correct = 0usize;
            for f in 0..self.folds {
                let train: Vec<usize> = (0..n).filter(|&i| fold_of[i] != f).collect();
                let test: Vec<usize> = (0..n).filter(|&i| fold_of[i] == f).collect();
                if train.is_empty() || test.is_empty() {
                    continue;
                }
                let x = data.x.select(Axis(0), &train);
                let y: Array1<usize> = train.iter().map(|&i| data.y[i]).collect();
                let w: Option<Array1<f64>> =
                    data.weights.map(|w| train.iter().map(|&i| w[i]).collect());
                let mut ts = TrainSet::new(x.view(), y.view(), data.n_classes);
                if let Some(w) = &w {
                    ts = ts.with_weights(w.view());
                }
                let fit = model.fit(ts)?;
                let p = fit.predict(data.x.select(Axis(0), &test).view())?;
                correct += test
                    .iter()
                    .zip(&p)
                    .filter(|(&i, &c)| data.y[i] == c)
                    .count();
            }
            let acc = correct as f64 / n as f64;
            if acc > best.0 {
                best = (acc, c);
            }
        }
        LinearSvm::new(best.1, 1000, self.seed)?.fit(data)
    }
}

impl LinearSvmFit {
    /// One-vs-rest decision values, n × k.
    pub fn decision_function(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        check_predict_input("linear SVM", self.coef.nrows(), x)?;
        Ok(x.dot(&self.coef) + &self.intercept)
    }
}

impl FittedClassifier for LinearSvmFit {
    fn n_classes(&self) -> usize {
        self.coef.ncols()
    }
    fn n_features(&self) -> usize {
        self.coef.nrows()
    }
    fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Array1<usize>> {
        Ok(super::argmax_rows(self.decision_function(x)?.view()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn matches_scikit_learn_linear_svc() {
        // scikit-learn 1.9.1, x/y as the logistic test's toy():
        // s = LinearSVC(C=1.0, tol=1e-10, max_iter=100000).fit(x, y); s.coef_, s.intercept_
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
        let y = array![0, 0, 1, 2, 1, 1, 2, 0, 2];
        let want_coef = [
            [-0.781_253_350_775_235_3, -0.250_986_468_229_289_5],
            [0.102_544_234_406_678_5, 0.601_605_813_732_374_1],
            [0.795_349_560_421_409_8, -0.945_038_004_444_490_2],
        ];
        let want_b = [
            0.951_239_518_775_063_7,
            -1.275_473_804_262_36,
            -0.508_323_587_440_473_3,
        ];
        let svm = LinearSvm::new(1.0, 100_000, 0)
            .unwrap()
            .with_tol(1e-9)
            .unwrap();
        let xv = x.view();
        let mut fits = Vec::new();
        for c in 0..3 {
            let sign: Vec<f64> = y.iter().map(|&l| if l == c { 1.0 } else { -1.0 }).collect();
            fits.push(svm.binary(xv, &sign, &[1.0; 9]));
        }
        for c in 0..3 {
            for j in 0..2 {
                assert!(
                    (fits[c][j] - want_coef[c][j]).abs() < 1e-4,
                    "class {c} coef {j}: {}",
                    fits[c][j]
                );
            }
            assert!(
                (fits[c][2] - want_b[c]).abs() < 1e-4,
                "class {c} bias: {}",
                fits[c][2]
            );
        }
        let fit = svm.fit(TrainSet::new(xv, y.view(), 3)).unwrap();
        assert_eq!(fit.n_classes(), 3);
    }

    #[test]
    fn cv_picks_c_from_the_training_rows_and_rejects_bad_grids() {
        // Two well-separated classes: every C separates them, so CV accuracy ties and the
        // smallest C wins; the refit must still classify both sides correctly.
        let x = array![[0.0], [0.2], [0.4], [0.6], [5.0], [5.2], [5.4], [5.6]];
        let y = array![0, 0, 0, 0, 1, 1, 1, 1];
        let m = LinearSvmCv::new(vec![0.1, 1.0, 10.0], 2, 0).unwrap();
        let fit = m.fit(TrainSet::new(x.view(), y.view(), 2)).unwrap();
        assert_eq!(
            fit.predict(array![[0.1], [5.5]].view()).unwrap(),
            array![0, 1]
        );
        assert!(LinearSvmCv::new(vec![], 5, 0).is_err());
        assert!(LinearSvmCv::new(vec![1.0, -1.0], 5, 0).is_err());
        assert!(LinearSvmCv::new(vec![1.0], 1, 0).is_err());
    }

    #[test]
    fn weights_scale_c_and_binary_is_symmetric() {
        let x = array![[0.0], [1.0], [2.0], [3.0]];
        let y = array![0, 0, 1, 1];
        let fit = LinearSvm::new(1.0, 1000, 0)
            .unwrap()
            .fit(TrainSet::new(x.view(), y.view(), 2))
            .unwrap();
        assert_eq!(
            fit.predict(array![[0.2], [2.8]].view()).unwrap(),
            array![0, 1]
        );
        // Doubling every weight equals doubling C.
        let w = array![2.0, 2.0, 2.0, 2.0];
        let a = LinearSvm::new(1.0, 5000, 0)
            .unwrap()
            .with_tol(1e-9)
            .unwrap();
        let b = LinearSvm::new(2.0, 5000, 0)
            .unwrap()
            .with_tol(1e-9)
            .unwrap();
        let pa = a.binary(x.view(), &[1.0, 1.0, -1.0, -1.0], &w.to_vec());
        let pb = b.binary(x.view(), &[1.0, 1.0, -1.0, -1.0], &[2.0; 4]);
        assert!(pa.iter().zip(&pb).all(|(p, q)| (p - q).abs() < 1e-9));
        assert!(LinearSvm::new(-1.0, 10, 0).is_err());
    }
}
