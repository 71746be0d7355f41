//! Preprocessing as values, applied to one domain at a time (the published protocols
//! normalise each domain with its own statistics).

use ndarray::{Array2, Axis};
use serde::{Deserialize, Serialize};

/// One preprocessing protocol. A suite names it; the registry gives each benchmark its
/// protocol's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Preprocess {
    /// Leave the features as stored.
    #[default]
    None,
    /// Divide each row by its sum, then z-score each feature with the population std
    /// (the Office-Caltech SURF and Amazon protocol). Zero-sum rows stay zero.
    SumThenZscore,
    /// z-score each feature (population std; constant features are only centred).
    Zscore,
    /// Scale each row to unit Euclidean length (the MNIST-USPS and COIL protocol).
    L2Rows,
    /// Scale each feature to [0, 1] (constant features become 0).
    MinMax,
}

impl Preprocess {
    pub const ALL: [Preprocess; 5] = [
        Preprocess::None,
        Preprocess::SumThenZscore,
        Preprocess::Zscore,
        Preprocess::L2Rows,
        Preprocess::MinMax,
    ];

    pub fn name(&self) -> &'static str {
        match self {
            Preprocess::None => "none",
            Preprocess::SumThenZscore => "sum-then-zscore",
            Preprocess::Zscore => "zscore",
            Preprocess::L2Rows => "l2-rows",
            Preprocess::MinMax => "min-max",
        }
    }

    /// Applies the protocol to one domain's features.
    pub fn apply(&self, mut x: Array2<f64>) -> Array2<f64> {
        match self {
            Preprocess::None => {}
            Preprocess::SumThenZscore => {
                sum_rows(&mut x);
                zscore(&mut x);
            }
            Preprocess::Zscore => zscore(&mut x),
            Preprocess::L2Rows => l2_rows(&mut x),
            Preprocess::MinMax => min_max(&mut x),
        }
        x
    }
}

/// Divides a row or column by its largest magnitude when that is outside [1e-100, 1e100],
/// where sums of squares (and, near 1e308, plain sums) overflow or underflow. Every
/// protocol here is invariant to that scale, and data of ordinary magnitude is untouched,
/// so its results keep their bits.
fn tame(mut v: ndarray::ArrayViewMut1<'_, f64>) {
    let top = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    if top.is_finite() && top > 0.0 && !(1e-100..=1e100).contains(&top) {
        v.mapv_inplace(|x| x / top);
    }
}

fn sum_rows(x: &mut Array2<f64>) {
    for mut row in x.axis_iter_mut(Axis(0)) {
        tame(row.view_mut());
        let s: f64 = row.sum();
        if s != 0.0 {
            row /= s;
        }
    }
}

/// z-score with ddof 0; a zero std is replaced by 1 (as numpy/MATLAB reference code does).
pub fn zscore(x: &mut Array2<f64>) {
    let n = x.nrows() as f64;
    for mut col in x.axis_iter_mut(Axis(1)) {
        tame(col.view_mut());
        let mean = col.sum() / n;
        let var = col.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        let std = if var > 0.0 { var.sqrt() } else { 1.0 };
        col.mapv_inplace(|v| (v - mean) / std);
    }
}

/// Each row to unit length; an all-zero row stays zero.
pub fn l2_rows(x: &mut Array2<f64>) {
    for mut row in x.axis_iter_mut(Axis(0)) {
        tame(row.view_mut());
        let norm = row.dot(&row).sqrt();
        if norm > 0.0 {
            row /= norm;
        }
    }
}

fn min_max(x: &mut Array2<f64>) {
    for mut col in x.axis_iter_mut(Axis(1)) {
        tame(col.view_mut());
        let lo = col.fold(f64::INFINITY, |a, &b| a.min(b));
        let hi = col.fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        let span = hi - lo;
        col.mapv_inplace(|v| if span > 0.0 { (v - lo) / span } else { 0.0 });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn zscore_has_zero_mean_unit_population_std() {
        let x = Preprocess::Zscore.apply(array![[1.0, 5.0], [2.0, 5.0], [6.0, 5.0]]);
        let col = x.column(0);
        assert!(col.sum().abs() < 1e-12);
        assert!((col.dot(&col) / 3.0 - 1.0).abs() < 1e-12);
        assert!(x.column(1).iter().all(|&v| v == 0.0));
    }

    #[test]
    fn sum_then_zscore_matches_numpy() {
        // x = np.array([[1.,3.],[2.,2.],[4.,0.]]); x = x/x.sum(1,keepdims=True)
        // (x-x.mean(0))/x.std(0) -> [[-1.06904497, 1.06904497], [-0.26726124, 0.26726124],
        //                            [1.33630621, -1.33630621]]
        let x = Preprocess::SumThenZscore.apply(array![[1.0, 3.0], [2.0, 2.0], [4.0, 0.0]]);
        let want = array![
            [-1.069_044_97, 1.069_044_97],
            [-0.267_261_24, 0.267_261_24],
            [1.336_306_21, -1.336_306_21]
        ];
        assert!((x - want).iter().all(|d| d.abs() < 1e-8));
    }

    #[test]
    fn every_protocol_gives_the_same_result_at_extreme_scales() {
        let x = array![
            [1.0, 3.0, -2.0],
            [2.0, 2.0, 0.5],
            [4.0, 0.5, 1.0],
            [0.5, 1.0, 3.0]
        ];
        for p in Preprocess::ALL {
            let want = p.apply(x.clone());
            for scale in [1e300, 1e-300, 1e155, 1e-155] {
                let got = p.apply(x.mapv(|v| v * scale));
                let err = (&got - &want).iter().fold(0.0f64, |m, d| m.max(d.abs()));
                // `none` keeps the scale; every other protocol removes it.
                if p == Preprocess::None {
                    assert!(got.iter().all(|v| v.is_finite()));
                } else {
                    assert!(err < 1e-12, "{} at {scale:e}: {err:e}", p.name());
                }
            }
        }
    }

    #[test]
    fn l2_rows_and_min_max() {
        let x = Preprocess::L2Rows.apply(array![[3.0, 4.0], [0.0, 0.0]]);
        assert_eq!(x, array![[0.6, 0.8], [0.0, 0.0]]);
        let x = Preprocess::MinMax.apply(array![[1.0, 2.0], [3.0, 2.0], [2.0, 2.0]]);
        assert_eq!(x, array![[0.0, 0.0], [1.0, 0.0], [0.5, 0.0]]);
    }
}
