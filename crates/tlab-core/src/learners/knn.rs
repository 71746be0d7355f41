//! Exact k-nearest neighbours (Euclidean). Squared distances come from one matrix product
//! per block of query rows, ‖t‖² + ‖s‖² − 2 t·s; the few candidates within rounding of the
//! nearest are then re-measured exactly, so ties and near-ties resolve as an exact
//! per-pair computation would (the lowest training index wins an exact tie, as MATLAB's
//! `min` and numpy's `argmin` do).

use ndarray::{s, Array1, Array2, ArrayView1, ArrayView2, Axis};

use super::{check_predict_input, Classifier, FittedClassifier, TrainSet};
use crate::error::{CoreError, Result};

#[derive(Debug, Clone)]
pub struct KNearest {
    k: usize,
}

impl KNearest {
    pub fn new(k: usize) -> Result<Self> {
        if k == 0 {
            return Err(CoreError::invalid("k", k, "k ≥ 1"));
        }
        Ok(Self { k })
    }
}

#[derive(Debug, Clone)]
pub struct KNearestFit {
    k: usize,
    x: Array2<f64>,
    sq_norms: Array1<f64>,
    y: Array1<usize>,
    weights: Array1<f64>,
    n_classes: usize,
}

impl Classifier for KNearest {
    fn fit(&self, data: TrainSet<'_>) -> Result<Box<dyn FittedClassifier>> {
        data.check("k-NN")?;
        // Rows with zero weight take no part (a reweighter may switch samples off).
        let keep: Vec<usize> = (0..data.x.nrows())
            .filter(|&i| data.weight(i) > 0.0)
            .collect();
        let x = if keep.len() == data.x.nrows() {
            data.x.to_owned()
        } else {
            data.x.select(Axis(0), &keep)
        };
        if self.k > x.nrows() {
            return Err(CoreError::invalid(
                "k",
                self.k,
                format!("at most the {} training rows", x.nrows()),
            ));
        }
        let sq_norms = x.rows().into_iter().map(|r| r.dot(&r)).collect();
        Ok(Box::new(KNearestFit {
            k: self.k,
            sq_norms,
            y: keep.iter().map(|&i| data.y[i]).collect(),
            weights: keep.iter().map(|&i| data.weight(i)).collect(),
            x,
            n_classes: data.n_classes,
        }))
    }
}

fn exact_sq_dist(a: ArrayView1<'_, f64>, b: ArrayView1<'_, f64>) -> f64 {
    a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum()
}

impl KNearestFit {
    /// Indices of the `k` nearest training rows of each query row, nearest first.
    pub fn neighbours(&self, x: ArrayView2<'_, f64>) -> Result<Vec<Vec<usize>>> {
        check_predict_input("k-NN", self.x.ncols(), x)?;
        let max_norm = self.sq_norms.iter().cloned().fold(0.0, f64::max);
        let mut out = Vec::with_capacity(x.nrows());
        const BLOCK: usize = 512;
        let (mut d, mut scratch) = (Vec::<f64>::new(), Vec::<f64>::new());
        for start in (0..x.nrows()).step_by(BLOCK) {
            let q = x.slice(s![start..(start + BLOCK).min(x.nrows()), ..]);
            // Only a screen (candidates are re-measured exactly below): faer's product.
            let cross = crate::linalg::matmul(q, false, self.x.view(), true)?;
            for (qi, row) in cross.outer_iter().enumerate() {
                let t = q.row(qi);
                let tn = t.dot(&t);
                d.clear();
                d.extend(
                    row.iter()
                        .zip(&self.sq_norms)
                        .map(|(c, sn)| tn + sn - 2.0 * c),
                );
                // Distances within this margin of the k-th may be misordered by rounding.
                let margin = 1e-9 * (tn + max_norm) + 1e-12;
                let kth = if self.k == 1 {
                    d.iter().cloned().fold(f64::INFINITY, f64::min)
                } else if self.k < d.len() {
                    scratch.clear();
                    scratch.extend_from_slice(&d);
                    scratch.select_nth_unstable_by(self.k - 1, f64::total_cmp);
                    scratch[self.k - 1]
                } else {
                    f64::INFINITY
                };
                let mut cand: Vec<(f64, usize)> = d
                    .iter()
                    .enumerate()
                    .filter(|&(_, &v)| v <= kth + margin)
                    .map(|(j, _)| (exact_sq_dist(t, self.x.row(j)), j))
                    .collect();
                cand.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                out.push(cand.into_iter().take(self.k).map(|(_, j)| j).collect());
            }
        }
        Ok(out)
    }
}

impl FittedClassifier for KNearestFit {
    fn n_classes(&self) -> usize {
        self.n_classes
    }
    fn n_features(&self) -> usize {
        self.x.ncols()
    }

    /// Weighted vote of the `k` nearest; a tied vote goes to the class of the nearer neighbour.
    fn predict(&self, x: ArrayView2<'_, f64>) -> Result<Array1<usize>> {
        let nbrs = self.neighbours(x)?;
        Ok(nbrs
            .iter()
            .map(|nb| {
                let mut votes = vec![0.0; self.n_classes];
                for &j in nb {
                    votes[self.y[j]] += self.weights[j];
                }
                let best = votes.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                nb.iter()
                    .map(|&j| self.y[j])
                    .find(|&c| votes[c] == best)
                    .expect("k ≥ 1")
            })
            .collect())
    }

    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Option<Result<Array2<f64>>> {
        Some(self.neighbours(x).map(|nbrs| {
            let mut p = Array2::zeros((nbrs.len(), self.n_classes));
            for (i, nb) in nbrs.iter().enumerate() {
                let total: f64 = nb.iter().map(|&j| self.weights[j]).sum();
                for &j in nb {
                    p[(i, self.y[j])] += self.weights[j] / total;
                }
            }
            p
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn one_nn_matches_brute_force_and_breaks_ties_by_index() {
        let xs = array![[0.0, 0.0], [1.0, 0.0], [1.0, 0.0], [5.0, 5.0]];
        let ys = array![0, 1, 2, 0];
        let fit = KNearest::new(1)
            .unwrap()
            .fit(TrainSet::new(xs.view(), ys.view(), 3))
            .unwrap();
        // (1,0) is duplicated with labels 1 and 2: the first (index 1) wins.
        let p = fit
            .predict(array![[0.9, 0.1], [4.0, 4.0], [0.1, 0.0]].view())
            .unwrap();
        assert_eq!(p, array![1, 0, 0]);
    }

    #[test]
    fn weighted_vote_and_zero_weights() {
        let xs = array![[0.0], [1.0], [2.0]];
        let ys = array![0, 1, 1];
        let w = array![5.0, 1.0, 1.0];
        let fit = KNearest::new(3)
            .unwrap()
            .fit(TrainSet::new(xs.view(), ys.view(), 2).with_weights(w.view()))
            .unwrap();
        assert_eq!(fit.predict(array![[2.0]].view()).unwrap(), array![0]);
        let w0 = array![0.0, 1.0, 1.0];
        let fit = KNearest::new(1)
            .unwrap()
            .fit(TrainSet::new(xs.view(), ys.view(), 2).with_weights(w0.view()))
            .unwrap();
        assert_eq!(fit.predict(array![[0.0]].view()).unwrap(), array![1]);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(KNearest::new(0).is_err());
        let xs = array![[0.0], [1.0]];
        let fit = KNearest::new(1)
            .unwrap()
            .fit(TrainSet::new(xs.view(), array![0, 1].view(), 2))
            .unwrap();
        let e = fit
            .predict(array![[1.0, 2.0]].view())
            .unwrap_err()
            .to_string();
        assert!(e.contains("fitted on 1 features, given 2"), "{e}");
        assert!(fit.predict(array![[f64::NAN]].view()).is_err());
        let e = KNearest::new(5)
            .unwrap()
            .fit(TrainSet::new(xs.view(), array![0, 1].view(), 2))
            .unwrap_err();
        assert!(e.to_string().contains("at most the 2"));
    }
}
