//! Rank statistics for comparing metrics with outcomes.

/// Average ranks and AUROC live in tlab-core (the anomaly scores use them too).
pub use tlab_core::metrics::{auroc, average_ranks as ranks};

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    sab / (saa * sbb).sqrt()
}

/// Spearman's rank correlation (Pearson on average ranks, as scipy); NaN when either side
/// is constant or there are fewer than two points.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    if a.len() != b.len() || a.len() < 2 {
        return f64::NAN;
    }
    pearson(&ranks(a), &ranks(b))
}

/// Kendall's τ-b (ties corrected, as scipy's default); NaN when either side is constant.
pub fn kendall_tau_b(a: &[f64], b: &[f64]) -> f64 {
    if a.len() != b.len() || a.len() < 2 {
        return f64::NAN;
    }
    let (mut conc, mut disc, mut ties_a, mut ties_b) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for i in 0..a.len() {
        for j in i + 1..a.len() {
            let (da, db) = (a[i] - a[j], b[i] - b[j]);
            if da == 0.0 && db == 0.0 {
                continue;
            } else if da == 0.0 {
                ties_a += 1.0;
            } else if db == 0.0 {
                ties_b += 1.0;
            } else if (da > 0.0) == (db > 0.0) {
                conc += 1.0;
            } else {
                disc += 1.0;
            }
        }
    }
    (conc - disc) / ((conc + disc + ties_a) * (conc + disc + ties_b)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kendall_and_auroc_match_scipy_and_sklearn() {
        // scipy.stats.kendalltau([1, 2, 2, 3, 5, 4, 0.5], [2, 1, 4, 4, 9, 3, 3]).statistic
        let t = kendall_tau_b(
            &[1.0, 2.0, 2.0, 3.0, 5.0, 4.0, 0.5],
            &[2.0, 1.0, 4.0, 4.0, 9.0, 3.0, 3.0],
        );
        assert!((t - 0.4103913408340616).abs() < 1e-12, "{t}");
        // sklearn.metrics.roc_auc_score([1, 0, 1, 0, 0, 1, 1], [0.3, 0.2, 0.3, 0.9, 0.1, 0.8, 0.5])
        let a = auroc(
            &[0.3, 0.2, 0.3, 0.9, 0.1, 0.8, 0.5],
            &[true, false, true, false, false, true, true],
        );
        assert!((a - 0.6666666666666667).abs() < 1e-12, "{a}");
        assert!(auroc(&[1.0, 2.0], &[true, true]).is_nan());
    }

    #[test]
    fn spearman_matches_scipy_with_ties() {
        // scipy.stats.spearmanr([1, 2, 2, 3, 5], [2, 1, 4, 4, 9]).statistic = 0.7631578947368421
        let r = spearman(&[1.0, 2.0, 2.0, 3.0, 5.0], &[2.0, 1.0, 4.0, 4.0, 9.0]);
        assert!((r - 0.7631578947368421).abs() < 1e-12, "{r}");
        assert_eq!(ranks(&[3.0, 1.0, 3.0]), vec![2.5, 1.0, 2.5]);
        assert!(spearman(&[1.0, 1.0], &[1.0, 2.0]).is_nan());
    }
}
