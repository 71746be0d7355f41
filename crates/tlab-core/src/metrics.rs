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
