//! Classification scores, in percent as the published tables report them.

/// Accuracy and macro-F1 (both in percent) over the scored target samples.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Scores {
    pub accuracy: f64,
    pub macro_f1: f64,
    pub n_scored: usize,
}

impl Scores {
    /// Macro-F1 averages over the classes that occur in the truth or the predictions, as
    /// scikit-learn's `f1_score(average="macro")` does.
    pub fn compute(truth: &[usize], pred: &[usize], n_classes: usize) -> Self {
        let n = truth.len();
        let k = n_classes.max(truth.iter().chain(pred).map(|&c| c + 1).max().unwrap_or(0));
        let (mut tp, mut fp, mut fn_) = (vec![0usize; k], vec![0usize; k], vec![0usize; k]);
        let mut correct = 0;
        for (&t, &p) in truth.iter().zip(pred) {
            if t == p {
                correct += 1;
                tp[t] += 1;
            } else {
                fp[p] += 1;
                fn_[t] += 1;
            }
        }
        let mut f1_sum = 0.0;
        let mut present = 0;
        for c in 0..k {
            if tp[c] + fp[c] + fn_[c] == 0 {
                continue;
            }
            present += 1;
            f1_sum += 2.0 * tp[c] as f64 / (2 * tp[c] + fp[c] + fn_[c]) as f64;
        }
        Scores {
            accuracy: if n == 0 {
                0.0
            } else {
                100.0 * correct as f64 / n as f64
            },
            macro_f1: if present == 0 {
                0.0
            } else {
                100.0 * f1_sum / present as f64
            },
            n_scored: n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_scikit_learn() {
        // sklearn.metrics: accuracy_score / f1_score(average="macro") on
        // y_true=[0,0,1,1,2,2,2], y_pred=[0,1,1,1,2,0,2] -> 0.7142857142857143, 0.7000000000000001
        let s = Scores::compute(&[0, 0, 1, 1, 2, 2, 2], &[0, 1, 1, 1, 2, 0, 2], 3);
        assert!((s.accuracy - 71.428_571_428_571_43).abs() < 1e-9);
        assert!((s.macro_f1 - 70.0).abs() < 1e-9, "{}", s.macro_f1);
    }
}

/// Clustering scores against the held-back labels: normalised mutual information (the
/// arithmetic-mean normalisation, scikit-learn's default), adjusted Rand index, and the
/// accuracy and macro-F1 of the best one-to-one matching of clusters to classes
/// (Hungarian algorithm), all in percent.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClusterScores {
    pub nmi: f64,
    pub ari: f64,
    pub matched: Scores,
}

/// Contingency table `n[i][j]` = samples of class `i` put in cluster `j`.
fn contingency(truth: &[usize], clusters: &[usize]) -> Vec<Vec<f64>> {
    let r = truth.iter().max().map_or(0, |m| m + 1);
    let c = clusters.iter().max().map_or(0, |m| m + 1);
    let mut n = vec![vec![0.0; c]; r];
    for (&t, &k) in truth.iter().zip(clusters) {
        n[t][k] += 1.0;
    }
    n
}

fn entropy(counts: impl Iterator<Item = f64>, n: f64) -> f64 {
    counts
        .filter(|&c| c > 0.0)
        .map(|c| -(c / n) * (c / n).ln())
        .sum()
}

/// Normalised mutual information, `MI / mean(H(truth), H(clusters))` (scikit-learn's
/// `normalized_mutual_info_score`); 1 when both labellings have a single group.
pub fn nmi(truth: &[usize], clusters: &[usize]) -> f64 {
    let n = truth.len() as f64;
    let table = contingency(truth, clusters);
    let rows: Vec<f64> = table.iter().map(|r| r.iter().sum()).collect();
    let cols: Vec<f64> = (0..table.first().map_or(0, Vec::len))
        .map(|j| table.iter().map(|r| r[j]).sum())
        .collect();
    let (hu, hv) = (
        entropy(rows.iter().copied(), n),
        entropy(cols.iter().copied(), n),
    );
    if hu == 0.0 && hv == 0.0 {
        return 1.0;
    }
    let mut mi = 0.0;
    for (i, r) in table.iter().enumerate() {
        for (j, &nij) in r.iter().enumerate() {
            if nij > 0.0 {
                mi += nij / n * (n * nij / (rows[i] * cols[j])).ln();
            }
        }
    }
    let denom = (hu + hv) / 2.0;
    (mi / denom).clamp(0.0, 1.0)
}

/// Adjusted Rand index (Hubert & Arabie 1985), as scikit-learn's `adjusted_rand_score`.
pub fn ari(truth: &[usize], clusters: &[usize]) -> f64 {
    let n = truth.len() as f64;
    let table = contingency(truth, clusters);
    let comb2 = |x: f64| x * (x - 1.0) / 2.0;
    let sum_ij: f64 = table.iter().flatten().map(|&v| comb2(v)).sum();
    let sum_a: f64 = table.iter().map(|r| comb2(r.iter().sum())).sum();
    let ncols = table.first().map_or(0, Vec::len);
    let sum_b: f64 = (0..ncols)
        .map(|j| comb2(table.iter().map(|r| r[j]).sum()))
        .sum();
    let expected = sum_a * sum_b / comb2(n);
    let max = (sum_a + sum_b) / 2.0;
    if max == expected {
        // Both labellings are a single group, or every sample its own: perfect agreement.
        return 1.0;
    }
    (sum_ij - expected) / (max - expected)
}

/// Minimum-cost assignment of rows to columns of a square cost matrix (Hungarian algorithm,
/// the O(n³) shortest-augmenting-path form); returns the column of each row.
pub fn hungarian(cost: &[Vec<f64>]) -> Vec<usize> {
    let n = cost.len();
    let inf = f64::INFINITY;
    // 1-based potentials, as in the classic formulation.
    let (mut u, mut v) = (vec![0.0; n + 1], vec![0.0; n + 1]);
    let (mut p, mut way) = (vec![0usize; n + 1], vec![0usize; n + 1]);
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0;
        let mut minv = vec![inf; n + 1];
        let mut used = vec![false; n + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let (mut delta, mut j1) = (inf, 0);
            for j in 1..=n {
                if !used[j] {
                    let cur = cost[i0 - 1][j - 1] - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=n {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut col_of = vec![0; n];
    for j in 1..=n {
        if p[j] > 0 {
            col_of[p[j] - 1] = j - 1;
        }
    }
    col_of
}

impl ClusterScores {
    /// Scores cluster ids (any `usize`s, not class ids) against the true classes.
    pub fn compute(truth: &[usize], clusters: &[usize], n_classes: usize) -> Self {
        let table = contingency(truth, clusters);
        let k = table
            .len()
            .max(table.first().map_or(0, Vec::len))
            .max(n_classes);
        // Cost of giving cluster j the class i: minus the samples that agree.
        let mut cost = vec![vec![0.0; k]; k];
        for (i, r) in table.iter().enumerate() {
            for (j, &v) in r.iter().enumerate() {
                cost[j][i] = -v;
            }
        }
        let class_of = hungarian(&cost);
        let mapped: Vec<usize> = clusters.iter().map(|&c| class_of[c]).collect();
        ClusterScores {
            nmi: 100.0 * nmi(truth, clusters),
            ari: 100.0 * ari(truth, clusters),
            matched: Scores::compute(truth, &mapped, n_classes),
        }
    }
}

/// Area under the ROC curve of `score` for predicting `positive` (the Mann–Whitney
/// statistic, ties counting ½, computed from average ranks in O(n log n)); NaN without
/// both classes.
pub fn auroc(score: &[f64], positive: &[bool]) -> f64 {
    let n_pos = positive.iter().filter(|&&p| p).count() as f64;
    let n_neg = positive.len() as f64 - n_pos;
    if n_pos == 0.0 || n_neg == 0.0 {
        return f64::NAN;
    }
    let ranks = average_ranks(score);
    let rank_sum: f64 = ranks
        .iter()
        .zip(positive)
        .filter(|(_, &p)| p)
        .map(|(r, _)| r)
        .sum();
    (rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg)
}

/// Average ranks (1-based; ties share the mean of their ranks).
pub fn average_ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut out = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            out[k] = r;
        }
        i = j + 1;
    }
    out
}

/// Average precision of `score` for `positive` (scikit-learn's `average_precision_score`:
/// Σ (Rₙ − Rₙ₋₁) Pₙ over the distinct thresholds, highest first); NaN without a positive.
pub fn average_precision(score: &[f64], positive: &[bool]) -> f64 {
    let n_pos = positive.iter().filter(|&&p| p).count() as f64;
    if n_pos == 0.0 {
        return f64::NAN;
    }
    let mut idx: Vec<usize> = (0..score.len()).collect();
    idx.sort_by(|&a, &b| score[b].total_cmp(&score[a]));
    let (mut tp, mut fp, mut ap, mut prev_recall) = (0.0, 0.0, 0.0, 0.0);
    let mut i = 0;
    while i < idx.len() {
        // All samples tied at this threshold enter together.
        let mut j = i;
        while j < idx.len() && score[idx[j]] == score[idx[i]] {
            if positive[idx[j]] {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            j += 1;
        }
        let recall = tp / n_pos;
        ap += (recall - prev_recall) * tp / (tp + fp);
        prev_recall = recall;
        i = j;
    }
    ap
}

#[cfg(test)]
mod cluster_tests {
    use super::*;

    #[test]
    fn nmi_ari_match_scikit_learn() {
        // t = [0,0,0,1,1,1,2,2,2,2]; c = [1,1,0,0,2,2,2,2,3,3]
        // sklearn.metrics.normalized_mutual_info_score(t, c) -> 0.555960101000571
        // sklearn.metrics.adjusted_rand_score(t, c)          -> 0.19753086419753085
        let t = [0, 0, 0, 1, 1, 1, 2, 2, 2, 2];
        let c = [1, 1, 0, 0, 2, 2, 2, 2, 3, 3];
        assert!((nmi(&t, &c) - 0.555_960_101_000_571).abs() < 1e-12);
        assert!((ari(&t, &c) - 0.197_530_864_197_530_85).abs() < 1e-12);
        // Relabelling the clusters changes nothing; identical partitions score 1.
        let c2: Vec<usize> = c.iter().map(|&k| 3 - k).collect();
        assert_eq!(nmi(&t, &c), nmi(&t, &c2));
        assert_eq!(ari(&t, &t), 1.0);
        assert!((nmi(&t, &t) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn matched_accuracy_finds_the_best_matching() {
        // Clusters are the classes relabelled 0→2, 1→0, 2→1 with one mistake.
        let t = [0, 0, 0, 1, 1, 1, 2, 2, 2];
        let c = [2, 2, 2, 0, 0, 1, 1, 1, 1];
        let s = ClusterScores::compute(&t, &c, 3);
        assert!((s.matched.accuracy - 800.0 / 9.0).abs() < 1e-9);
        // More clusters than classes: the extra cluster matches no class.
        let s = ClusterScores::compute(&[0, 0, 1, 1], &[0, 3, 1, 1], 2);
        assert!((s.matched.accuracy - 75.0).abs() < 1e-9);
    }

    #[test]
    fn hungarian_is_optimal_on_a_known_matrix() {
        // scipy.optimize.linear_sum_assignment([[4,1,3],[2,0,5],[3,2,2]]) -> cols [1,0,2], cost 5
        let cost = vec![
            vec![4.0, 1.0, 3.0],
            vec![2.0, 0.0, 5.0],
            vec![3.0, 2.0, 2.0],
        ];
        assert_eq!(hungarian(&cost), vec![1, 0, 2]);
    }

    #[test]
    fn auroc_and_average_precision_match_scikit_learn() {
        // y = [1,0,1,0,0,1,1,0]; s = [0.3,0.2,0.3,0.9,0.1,0.8,0.5,0.3]
        // sklearn.metrics.roc_auc_score(y, s)           -> 0.6875
        // sklearn.metrics.average_precision_score(y, s) -> 0.625
        let y = [true, false, true, false, false, true, true, false];
        let s = [0.3, 0.2, 0.3, 0.9, 0.1, 0.8, 0.5, 0.3];
        assert!((auroc(&s, &y) - 0.6875).abs() < 1e-12, "{}", auroc(&s, &y));
        let ap = average_precision(&s, &y);
        assert!((ap - 0.625).abs() < 1e-12, "{ap}");
        assert!(auroc(&s, &[false; 8]).is_nan());
    }
}
