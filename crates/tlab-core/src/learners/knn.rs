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
    /// `x` rounded to f32 (row-major) for the screen; `None` when an entry is too large.
    x32: Option<Vec<f32>>,
    sq_norms: Array1<f64>,
    y: Array1<usize>,
    weights: Array1<f64>,
    n_classes: usize,
}

impl Classifier for KNearest {
    fn fit(&self, data: TrainSet<'_>) -> Result<Box<dyn FittedClassifier>> {
        Ok(Box::new(self.fit_nearest(data)?))
    }
}

impl KNearest {
    /// The fit as its own type, for [`KNearestFit::neighbours`].
    pub fn fit_nearest(&self, data: TrainSet<'_>) -> Result<KNearestFit> {
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
        let x32 = x
            .iter()
            .all(|v| v.abs() <= F32_SCREEN_MAX)
            .then(|| x.iter().map(|&v| v as f32).collect());
        Ok(KNearestFit {
            k: self.k,
            sq_norms,
            y: keep.iter().map(|&i| data.y[i]).collect(),
            weights: keep.iter().map(|&i| data.weight(i)).collect(),
            x,
            x32,
            n_classes: data.n_classes,
        })
    }
}

fn exact_sq_dist(a: ArrayView1<'_, f64>, b: ArrayView1<'_, f64>) -> f64 {
    a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum()
}

/// Entries up to this size in magnitude are screened in single precision: their products
/// and sums of up to millions of terms stay far inside f32's range, and the bound below
/// holds. Larger data is screened in f64.
const F32_SCREEN_MAX: f64 = 1e15;

#[cfg(test)]
thread_local! {
    /// Blocks screened in f32 on this thread (tests check which screen ran).
    static F32_BLOCKS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The cross products of one block of query rows with every training row.
enum Screen {
    F64(Array2<f64>),
    F32(Vec<f32>),
}

impl KNearestFit {
    /// Indices of the `k` nearest training rows of each query row, nearest first.
    ///
    /// The screen is `‖t‖² + ‖s‖² − 2 t·s` with `t·s` from a single-precision product
    /// while the candidates stay few (double precision otherwise); every training row whose
    /// screened distance is within twice the screen's error bound of the k-th smallest is
    /// re-measured exactly, so the answer is the exact one whichever precision screened.
    /// The f32 bound per distance: `2 (d + 4) 2⁻²⁴ ‖t‖ ‖s‖` for the cross term (the inputs'
    /// rounding and the γ_d bound of any summation order), plus a term for f32's underflow,
    /// plus the f64 screen's own margin.
    pub fn neighbours(&self, x: ArrayView2<'_, f64>) -> Result<Vec<Vec<usize>>> {
        check_predict_input("k-NN", self.x.ncols(), x)?;
        let max_norm = self.sq_norms.iter().cloned().fold(0.0, f64::max);
        let (n, dim) = self.x.dim();
        let mut out = Vec::with_capacity(x.nrows());
        const BLOCK: usize = 512;
        let (mut d, mut scratch) = (Vec::<f64>::new(), Vec::<f64>::new());
        // Whether to keep screening in f32: dropped for the rest of the call once the
        // candidates average more than this many a query (wide margins relative to the
        // spread of the distances), where the f64 screen is the cheaper one.
        const MAX_MEAN_CANDIDATES: usize = 32;
        let mut use_f32 = self.x32.is_some();
        let (mut screened, mut measured) = (0usize, 0usize);
        let unit = f64::from(f32::EPSILON) / 2.0;
        let tiny = f64::from(f32::MIN_POSITIVE);
        for start in (0..x.nrows()).step_by(BLOCK) {
            let q = x.slice(s![start..(start + BLOCK).min(x.nrows()), ..]);
            let screen = match &self.x32 {
                Some(x32) if use_f32 && q.iter().all(|v| v.abs() <= F32_SCREEN_MAX) => {
                    #[cfg(test)]
                    F32_BLOCKS.with(|c| c.set(c.get() + 1));
                    let q32: Vec<f32> = q.iter().map(|&v| v as f32).collect();
                    Screen::F32(crate::linalg::matmul_nt_f32(&q32, x32, q.nrows(), n, dim)?)
                }
                _ => Screen::F64(crate::linalg::matmul(q, false, self.x.view(), true)?),
            };
            for qi in 0..q.nrows() {
                let t = q.row(qi);
                let tn = t.dot(&t);
                d.clear();
                // Distances within this margin of the k-th may be misordered by rounding.
                let mut margin = 1e-9 * (tn + max_norm) + 1e-12;
                match &screen {
                    Screen::F64(cross) => d.extend(
                        cross
                            .row(qi)
                            .iter()
                            .zip(&self.sq_norms)
                            .map(|(c, sn)| tn + sn - 2.0 * c),
                    ),
                    Screen::F32(cross) => {
                        let (tl, sl) = (tn.sqrt(), max_norm.sqrt());
                        let cross_err = (dim as f64 + 4.0) * unit * tl * sl * (1.0 + 1e-6)
                            + tiny * (dim as f64 + (dim as f64).sqrt() * (tl + sl));
                        margin += 4.0 * cross_err;
                        d.extend(
                            cross[qi * n..(qi + 1) * n]
                                .iter()
                                .zip(&self.sq_norms)
                                .map(|(&c, sn)| tn + sn - 2.0 * f64::from(c)),
                        );
                    }
                }
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
                if matches!(screen, Screen::F32(_)) {
                    screened += 1;
                    measured += cand.len();
                }
                cand.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                out.push(cand.into_iter().take(self.k).map(|(_, j)| j).collect());
            }
            if measured > MAX_MEAN_CANDIDATES * screened.max(1) {
                use_f32 = false;
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

    /// The exact k nearest by (distance, index), one pair at a time.
    fn brute_force(xs: &Array2<f64>, q: ArrayView1<'_, f64>, k: usize) -> Vec<usize> {
        let mut all: Vec<(f64, usize)> = xs
            .outer_iter()
            .enumerate()
            .map(|(j, s)| (exact_sq_dist(q, s), j))
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        all.into_iter().take(k).map(|(_, j)| j).collect()
    }

    /// The single-precision screen loses nothing: on data whose nearest neighbours differ
    /// far below f32's resolution (training rows duplicated with perturbations of 1e-9 of
    /// their size, and with exact duplicates, so the f32 products cannot order them), on
    /// offset data (large norms, small distances: wide margins) and on data beyond the f32
    /// screen's range, the neighbours are the exact ones for k = 1 and k = 3. More than
    /// 512 queries, so the screen runs over several blocks.
    #[test]
    fn the_screen_gives_the_exact_neighbours() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let (n, m, dim) = (300, 700, 64);
        for (offset, scale) in [(0.0, 1.0), (50.0, 1.0), (0.0, 1e16)] {
            let mut xs =
                Array2::from_shape_fn((n, dim), |_| offset + scale * rng.gen_range(-1.0..1.0));
            for i in 0..n / 3 {
                let (src, dst) = (3 * i, 3 * i + 1);
                let row = xs.row(src).to_owned();
                xs.row_mut(dst)
                    .assign(&row.mapv(|v| v * (1.0 + 1e-9 * rng.gen_range(-1.0..1.0))));
                if i % 2 == 0 {
                    xs.row_mut(dst + 1).assign(&row);
                }
            }
            // Queries: perturbed training rows (near-ties among the copies) and fresh ones.
            let q = Array2::from_shape_fn((m, dim), |(i, j)| {
                if i % 2 == 0 {
                    xs[((i / 2) % n, j)] * (1.0 + 1e-8 * rng.gen_range(-1.0..1.0))
                } else {
                    offset + scale * rng.gen_range(-1.0..1.0)
                }
            });
            let ys = Array1::from_shape_fn(n, |i| i % 4);
            for k in [1, 3] {
                let fit = KNearest::new(k)
                    .unwrap()
                    .fit_nearest(TrainSet::new(xs.view(), ys.view(), 4))
                    .unwrap();
                let before = F32_BLOCKS.with(|c| c.get());
                let got = fit.neighbours(q.view()).unwrap();
                let f32_blocks = F32_BLOCKS.with(|c| c.get()) - before;
                // Two blocks in f32 within range; none beyond it.
                assert_eq!(
                    f32_blocks,
                    if scale > 1.0 { 0 } else { 2 },
                    "{offset} {scale}"
                );
                for (i, nb) in got.iter().enumerate() {
                    assert_eq!(
                        nb,
                        &brute_force(&xs, q.row(i), k),
                        "offset {offset}, scale {scale}, k {k}, query {i}"
                    );
                }
            }
        }
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
