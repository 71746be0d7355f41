//! The unsupervised setting: no labels anywhere a method can reach. A method receives an
//! [`UnsupervisedTask`] — unlabelled source features and unlabelled target features, and
//! nothing else — while the labels of both sides stay with the evaluators, which only score
//! (a clustering of the target, or an anomaly score per target row).

use ndarray::{Array1, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::domain::{LabeledDomain, UnlabeledDomain};
use crate::error::{CoreError, Result};
use crate::metrics::{auroc, average_precision, ClusterScores, Scores};

/// What an unsupervised-setting method may see: features of both domains, no labels.
#[derive(Debug, Clone)]
pub struct UnsupervisedTask {
    pub source: UnlabeledDomain,
    pub target: UnlabeledDomain,
}

fn same_width(source: &LabeledDomain, target: &LabeledDomain) -> Result<()> {
    if source.n_features() != target.n_features() {
        return Err(CoreError::Shape {
            context: format!("task {} → {}", source.name(), target.name()),
            detail: format!(
                "source has {} features, target {}",
                source.n_features(),
                target.n_features()
            ),
        });
    }
    Ok(())
}

/// Holds the target's classes; scores a clustering of every target row.
#[derive(Debug)]
pub struct ClusterEvaluator {
    y: Array1<usize>,
    n_classes: usize,
}

impl ClusterEvaluator {
    /// The number of classes (the cluster count a method is told to find).
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// NMI, ARI and matched accuracy of one cluster id per target row.
    pub fn score(&self, clusters: &Array1<usize>) -> Result<ClusterScores> {
        if clusters.len() != self.y.len() {
            return Err(CoreError::Shape {
                context: "cluster assignments".into(),
                detail: format!(
                    "{} assignments for {} target samples",
                    clusters.len(),
                    self.y.len()
                ),
            });
        }
        Ok(ClusterScores::compute(
            self.y.as_slice().expect("contiguous"),
            clusters.as_slice().expect("contiguous"),
            self.n_classes,
        ))
    }
}

/// Drops the labels of both domains: the task a clustering method sees, and the evaluator
/// that keeps the target's classes (the number of classes is the only thing it tells).
pub fn make_clustering_task(
    source: LabeledDomain,
    target: LabeledDomain,
) -> Result<(UnsupervisedTask, ClusterEvaluator)> {
    same_width(&source, &target)?;
    let n_classes = target.n_classes();
    let y = target.y().clone();
    let (source, _) = source.into_unlabeled();
    let (target, _) = target.into_unlabeled();
    Ok((
        UnsupervisedTask { source, target },
        ClusterEvaluator { y, n_classes },
    ))
}

/// How an anomaly-detection task is cut from two labelled domains.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnomalySetup {
    /// The class that plays the anomaly (fraud); every other class is normal.
    pub anomaly_class: usize,
    /// Fraction of anomalies among the target rows, made by subsampling the anomaly class
    /// (seeded); `None` keeps the target as it is.
    pub target_rate: Option<f64>,
    /// Fraction of anomalies left in the source's "normal" training data (0: clean).
    pub contamination: f64,
}

/// Holds which target rows are anomalies; scores one anomaly score per target row.
#[derive(Debug)]
pub struct AnomalyEvaluator {
    is_anomaly: Vec<bool>,
}

/// AUROC and average precision (percent) of the scores, and the accuracy and macro-F1
/// (normal vs anomaly) of flagging rows whose score exceeds a threshold.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AnomalyScores {
    pub auroc: f64,
    pub average_precision: f64,
    pub flagged: Scores,
}

impl AnomalyEvaluator {
    /// The number of target rows that are anomalies (for reports).
    pub fn n_anomalies(&self) -> usize {
        self.is_anomaly.iter().filter(|&&a| a).count()
    }

    /// Scores anomaly scores (higher = more anomalous) and the flags `score > threshold`.
    pub fn score(&self, scores: &Array1<f64>, threshold: f64) -> Result<AnomalyScores> {
        if scores.len() != self.is_anomaly.len() {
            return Err(CoreError::Shape {
                context: "anomaly scores".into(),
                detail: format!(
                    "{} scores for {} target samples",
                    scores.len(),
                    self.is_anomaly.len()
                ),
            });
        }
        if let Some(i) = scores.iter().position(|v| v.is_nan()) {
            return Err(CoreError::NonFinite {
                context: "anomaly scores".into(),
                row: i,
                col: 0,
            });
        }
        let s = scores.as_slice().expect("contiguous");
        let truth: Vec<usize> = self.is_anomaly.iter().map(|&a| usize::from(a)).collect();
        let flags: Vec<usize> = s.iter().map(|&v| usize::from(v > threshold)).collect();
        Ok(AnomalyScores {
            auroc: 100.0 * auroc(s, &self.is_anomaly),
            average_precision: 100.0 * average_precision(s, &self.is_anomaly),
            flagged: Scores::compute(&truth, &flags, 2),
        })
    }
}

fn rate(name: &'static str, v: f64, max: f64) -> Result<()> {
    if !(v.is_finite() && (0.0..max).contains(&v)) {
        return Err(CoreError::invalid(
            name,
            v,
            format!("a fraction in [0, {max})"),
        ));
    }
    Ok(())
}

/// `count` rows drawn without replacement from `pool` (seeded), sorted.
fn draw(pool: &[usize], count: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut p = pool.to_vec();
    p.shuffle(rng);
    p.truncate(count);
    p.sort_unstable();
    p
}

/// Cuts an anomaly-detection task: the source keeps its normal classes (plus anomalies at
/// the `contamination` rate), the target all normal rows and anomalies at `target_rate`;
/// labels are dropped on both sides and the evaluator keeps which target rows are anomalies.
pub fn make_anomaly_task(
    source: LabeledDomain,
    target: LabeledDomain,
    setup: AnomalySetup,
    seed: u64,
) -> Result<(UnsupervisedTask, AnomalyEvaluator)> {
    same_width(&source, &target)?;
    let a = setup.anomaly_class;
    if a >= source.n_classes() || a >= target.n_classes() {
        return Err(CoreError::invalid(
            "anomaly_class",
            a,
            format!("a class of both domains (0..{})", target.n_classes()),
        ));
    }
    rate("contamination", setup.contamination, 0.5)?;
    if let Some(r) = setup.target_rate {
        rate("target_rate", r, 1.0)?;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let split = |d: &LabeledDomain| -> (Vec<usize>, Vec<usize>) {
        (0..d.n_samples()).partition(|&i| d.y()[i] != a)
    };
    // n_anom / (n_normal + n_anom) = rate  ⇒  n_anom = rate · n_normal / (1 − rate)
    let wanted = |rate: f64, n_normal: usize| (rate * n_normal as f64 / (1.0 - rate)).round();
    let (s_norm, s_anom) = split(&source);
    if s_norm.is_empty() {
        return Err(CoreError::Empty {
            context: format!("normal (non-{a}) rows of source `{}`", source.name()),
        });
    }
    let n_contam = wanted(setup.contamination, s_norm.len()) as usize;
    if n_contam > s_anom.len() {
        return Err(CoreError::invalid(
            "contamination",
            setup.contamination,
            format!(
                "at most {} anomalies available in source `{}` for {} normal rows",
                s_anom.len(),
                source.name(),
                s_norm.len()
            ),
        ));
    }
    let mut s_rows = s_norm;
    s_rows.extend(draw(&s_anom, n_contam, &mut rng));
    s_rows.sort_unstable();
    let (t_norm, t_anom) = split(&target);
    let t_anom = match setup.target_rate {
        None => t_anom,
        Some(r) => {
            let n = wanted(r, t_norm.len()) as usize;
            if n > t_anom.len() {
                return Err(CoreError::invalid(
                    "target_rate",
                    r,
                    format!(
                        "at most {} anomalies available in target `{}` for {} normal rows",
                        t_anom.len(),
                        target.name(),
                        t_norm.len()
                    ),
                ));
            }
            draw(&t_anom, n, &mut rng)
        }
    };
    if t_norm.is_empty() || t_anom.is_empty() {
        return Err(CoreError::SingleClass {
            context: format!(
                "anomaly task on target `{}` (class {a} is the anomaly)",
                target.name()
            ),
            class: usize::from(t_norm.is_empty()),
        });
    }
    let mut t_rows = t_norm;
    t_rows.extend(t_anom);
    t_rows.sort_unstable();
    let is_anomaly = t_rows.iter().map(|&i| target.y()[i] == a).collect();
    let source_x = source.x().select(Axis(0), &s_rows);
    let target_x = target.x().select(Axis(0), &t_rows);
    Ok((
        UnsupervisedTask {
            source: UnlabeledDomain::new(format!("{} (normal)", source.name()), source_x)?,
            target: UnlabeledDomain::new(target.name(), target_x)?,
        },
        AnomalyEvaluator { is_anomaly },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn toy(name: &str, n: usize) -> LabeledDomain {
        let x = Array2::from_shape_fn((n, 2), |(i, j)| (i * 2 + j) as f64);
        let y = Array1::from_shape_fn(n, |i| i % 4);
        LabeledDomain::new(name, x, y, 4).unwrap()
    }

    #[test]
    fn anomaly_tasks_hold_the_stated_rates() {
        let setup = AnomalySetup {
            anomaly_class: 3,
            target_rate: Some(0.1),
            contamination: 0.0,
        };
        let (task, ev) = make_anomaly_task(toy("s", 400), toy("t", 400), setup, 1).unwrap();
        // 300 normal target rows, 0.1 = n / (300 + n) → 33 anomalies; clean source.
        assert_eq!(task.target.n_samples(), 333);
        assert_eq!(ev.n_anomalies(), 33);
        assert_eq!(task.source.n_samples(), 300);
        let dirty = AnomalySetup {
            contamination: 0.2,
            ..setup
        };
        let (task, _) = make_anomaly_task(toy("s", 400), toy("t", 400), dirty, 1).unwrap();
        assert_eq!(task.source.n_samples(), 375);
        // Same seed, same rows; another seed, other anomalies.
        let (a, _) = make_anomaly_task(toy("s", 400), toy("t", 400), setup, 1).unwrap();
        let (b, _) = make_anomaly_task(toy("s", 400), toy("t", 400), setup, 2).unwrap();
        let (c, _) = make_anomaly_task(toy("s", 400), toy("t", 400), setup, 1).unwrap();
        assert_eq!(a.target.x(), c.target.x());
        assert_ne!(a.target.x(), b.target.x());
    }

    #[test]
    fn bad_anomaly_setups_are_refused_with_the_reason() {
        let ok = AnomalySetup {
            anomaly_class: 3,
            target_rate: None,
            contamination: 0.0,
        };
        let bad = |s: AnomalySetup| {
            make_anomaly_task(toy("s", 40), toy("t", 40), s, 0)
                .unwrap_err()
                .to_string()
        };
        let e = bad(AnomalySetup {
            anomaly_class: 9,
            ..ok
        });
        assert!(e.contains("anomaly_class"), "{e}");
        let e = bad(AnomalySetup {
            contamination: 0.7,
            ..ok
        });
        assert!(e.contains("[0, 0.5)"), "{e}");
        let e = bad(AnomalySetup {
            contamination: 0.45,
            ..ok
        });
        assert!(e.contains("at most 10 anomalies"), "{e}");
        let e = bad(AnomalySetup {
            target_rate: Some(0.9),
            ..ok
        });
        assert!(e.contains("target_rate"), "{e}");
    }

    #[test]
    fn evaluators_check_lengths_and_score() {
        let (_, ev) = make_clustering_task(toy("s", 8), toy("t", 8)).unwrap();
        assert!(ev.score(&Array1::zeros(3)).is_err());
        let perfect: Array1<usize> = (0..8).map(|i| (i + 1) % 4).collect();
        let s = ev.score(&perfect).unwrap();
        assert!((s.nmi - 100.0).abs() < 1e-9 && (s.matched.accuracy - 100.0).abs() < 1e-9);
        let setup = AnomalySetup {
            anomaly_class: 0,
            target_rate: None,
            contamination: 0.0,
        };
        let (task, ev) = make_anomaly_task(toy("s", 8), toy("t", 8), setup, 0).unwrap();
        // Target rows 0..8, class 0 at rows 0 and 4: a score that is high there is perfect.
        let scores: Array1<f64> = (0..task.target.n_samples())
            .map(|i| if i % 4 == 0 { 5.0 } else { 1.0 })
            .collect();
        let s = ev.score(&scores, 2.0).unwrap();
        assert_eq!((s.auroc, s.average_precision), (100.0, 100.0));
        assert_eq!(s.flagged.accuracy, 100.0);
        assert!(ev.score(&Array1::from_elem(8, f64::NAN), 0.0).is_err());
    }
}
