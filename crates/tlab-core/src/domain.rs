//! The data model. Leakage is a type error: a method receives a [`TransferTask`] — the
//! labelled source, the target's features, and (few-shot only) an explicit labelled target
//! subset — while the target's true labels stay inside the [`Evaluator`], which only scores.

use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::{CoreError, Result};
use crate::metrics::Scores;

/// Fails on the first NaN or infinite entry, naming its position.
pub fn check_finite(context: &str, x: ArrayView2<f64>) -> Result<()> {
    for (row, r) in x.outer_iter().enumerate() {
        if let Some(col) = r.iter().position(|v| !v.is_finite()) {
            return Err(CoreError::NonFinite {
                context: context.to_string(),
                row,
                col,
            });
        }
    }
    Ok(())
}

fn check_rows(context: &str, x: ArrayView2<f64>) -> Result<()> {
    if x.nrows() == 0 || x.ncols() == 0 {
        return Err(CoreError::Empty {
            context: format!("{context} ({}×{})", x.nrows(), x.ncols()),
        });
    }
    check_finite(context, x)
}

/// A labelled domain: rows are samples, labels are classes `0..n_classes`.
#[derive(Debug, Clone)]
pub struct LabeledDomain {
    name: String,
    x: Array2<f64>,
    y: Array1<usize>,
    n_classes: usize,
}

impl LabeledDomain {
    /// Checks: no NaN, at least one sample, one label per row, labels below `n_classes`,
    /// at least two classes present.
    pub fn new(
        name: impl Into<String>,
        x: Array2<f64>,
        y: Array1<usize>,
        n_classes: usize,
    ) -> Result<Self> {
        let name = name.into();
        check_rows(&name, x.view())?;
        if y.len() != x.nrows() {
            return Err(CoreError::Shape {
                context: name,
                detail: format!("{} feature rows but {} labels", x.nrows(), y.len()),
            });
        }
        if let Some(bad) = y.iter().find(|&&c| c >= n_classes) {
            return Err(CoreError::Label {
                context: name,
                detail: format!("{bad}: classes must be in 0..{n_classes}"),
            });
        }
        let first = y[0];
        if y.iter().all(|&c| c == first) {
            return Err(CoreError::SingleClass {
                context: name,
                class: first,
            });
        }
        Ok(Self {
            name,
            x,
            y,
            n_classes,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn x(&self) -> ArrayView2<'_, f64> {
        self.x.view()
    }
    pub fn y(&self) -> &Array1<usize> {
        &self.y
    }
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }
    pub fn n_samples(&self) -> usize {
        self.x.nrows()
    }
    pub fn n_features(&self) -> usize {
        self.x.ncols()
    }

    /// Replaces the features (e.g. after preprocessing), keeping the labels.
    pub fn with_features(self, x: Array2<f64>) -> Result<Self> {
        Self::new(self.name, x, self.y, self.n_classes)
    }

    /// Splits into what a method may see (features) and what only the evaluator may hold.
    pub fn into_unlabeled(self) -> (UnlabeledDomain, TargetTruth) {
        (
            UnlabeledDomain {
                name: self.name.clone(),
                x: self.x,
            },
            TargetTruth {
                name: self.name,
                y: self.y,
                n_classes: self.n_classes,
            },
        )
    }

    /// Count of samples per class.
    pub fn class_counts(&self) -> Vec<usize> {
        class_counts(&self.y, self.n_classes)
    }
}

pub(crate) fn class_counts(y: &Array1<usize>, n_classes: usize) -> Vec<usize> {
    let mut counts = vec![0; n_classes];
    for &c in y {
        counts[c] += 1;
    }
    counts
}

/// Target features without labels: all an unsupervised-setting method ever receives.
#[derive(Debug, Clone)]
pub struct UnlabeledDomain {
    name: String,
    x: Array2<f64>,
}

impl UnlabeledDomain {
    pub fn new(name: impl Into<String>, x: Array2<f64>) -> Result<Self> {
        let name = name.into();
        check_rows(&name, x.view())?;
        Ok(Self { name, x })
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn x(&self) -> ArrayView2<'_, f64> {
        self.x.view()
    }
    pub fn n_samples(&self) -> usize {
        self.x.nrows()
    }
    pub fn n_features(&self) -> usize {
        self.x.ncols()
    }
}

/// The target's true labels. Its fields are private and it offers no accessor: the only
/// way to use it is to build an [`Evaluator`] or, explicitly, an oracle reference.
#[derive(Debug, Clone)]
pub struct TargetTruth {
    name: String,
    y: Array1<usize>,
    n_classes: usize,
}

/// How many target labels a task hands to the method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum LabelBudget {
    /// Unsupervised (transductive) setting: no target label at all; scored on every target sample.
    Unsupervised,
    /// Few-shot: `k` labelled target samples per class, drawn by seed; scored on the rest.
    PerClass(usize),
    /// Every target label except a stratified held-out test share ([`ALL_LABELS_HOLDOUT`] of
    /// each class, at least one row), drawn by seed; scored on the held-out rows. The "all
    /// labels" end of a label-budget curve.
    All,
}

/// The budget code that stands for [`LabelBudget::All`] where budgets are stored as numbers
/// (suite files say `"all"`; tables, CSV and reports print `all`).
pub const ALL_LABELS: usize = usize::MAX;

/// The share of each target class held out for scoring under [`LabelBudget::All`].
pub const ALL_LABELS_HOLDOUT: f64 = 0.2;

impl LabelBudget {
    /// `0` is the unsupervised setting, [`ALL_LABELS`] every label, anything else `k` a class.
    pub fn from_k(k: usize) -> Self {
        match k {
            0 => LabelBudget::Unsupervised,
            ALL_LABELS => LabelBudget::All,
            k => LabelBudget::PerClass(k),
        }
    }
    /// The numeric code of the budget (the inverse of [`LabelBudget::from_k`]).
    pub fn k(&self) -> usize {
        match self {
            LabelBudget::Unsupervised => 0,
            LabelBudget::PerClass(k) => *k,
            LabelBudget::All => ALL_LABELS,
        }
    }
}

/// How a budget code reads in tables and reports: `all`, or the number of labels per class.
pub fn budget_label(k: u64) -> String {
    if k == ALL_LABELS as u64 {
        "all".to_string()
    } else {
        k.to_string()
    }
}

/// What a method may see: the labelled source, the target's features (all of them,
/// transductively), and in the few-shot setting the labelled target subset.
#[derive(Debug)]
pub struct TransferTask {
    pub source: LabeledDomain,
    pub target: UnlabeledDomain,
    /// Few-shot only: the `k`-per-class labelled target rows (a copy of those rows of `target`).
    pub target_labeled: Option<LabeledDomain>,
    /// Row indices into `target` of `target_labeled`.
    pub target_labeled_rows: Vec<usize>,
}

/// Holds the target truth and the rows to score on; turns predictions into scores.
#[derive(Debug)]
pub struct Evaluator {
    truth: TargetTruth,
    eval_rows: Vec<usize>,
}

impl Evaluator {
    /// Rows of the target that are scored (all of them, or those not handed out as labels).
    pub fn eval_rows(&self) -> &[usize] {
        &self.eval_rows
    }

    /// Scores predictions for every target row (the evaluator picks the scored ones).
    pub fn score(&self, predictions: &Array1<usize>) -> Result<Scores> {
        if predictions.len() != self.truth.y.len() {
            return Err(CoreError::Shape {
                context: format!("predictions for target `{}`", self.truth.name),
                detail: format!(
                    "{} predictions for {} target samples",
                    predictions.len(),
                    self.truth.y.len()
                ),
            });
        }
        let truth: Vec<usize> = self.eval_rows.iter().map(|&i| self.truth.y[i]).collect();
        let pred: Vec<usize> = self.eval_rows.iter().map(|&i| predictions[i]).collect();
        Ok(Scores::compute(&truth, &pred, self.truth.n_classes))
    }

    /// The labelled target, for the oracle baseline only (an in-domain reference, never a
    /// transfer method). Named loudly so a review finds every use.
    pub fn reveal_target_for_oracle(&self, target: &UnlabeledDomain) -> Result<LabeledDomain> {
        LabeledDomain::new(
            target.name(),
            target.x().to_owned(),
            self.truth.y.clone(),
            self.truth.n_classes,
        )
    }
}

/// Builds the task a method sees and the evaluator that scores it. For a few-shot budget,
/// `k` target samples of each class are drawn with `seed` (ChaCha8: same seed, same rows on
/// every platform); every class must keep at least one sample to score.
pub fn make_task(
    source: LabeledDomain,
    target: LabeledDomain,
    budget: LabelBudget,
    seed: u64,
) -> Result<(TransferTask, Evaluator)> {
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
    if source.n_classes() != target.n_classes() {
        return Err(CoreError::Shape {
            context: format!("task {} → {}", source.name(), target.name()),
            detail: format!(
                "source has {} classes, target {}",
                source.n_classes(),
                target.n_classes()
            ),
        });
    }
    let n_t = target.n_samples();
    let labeled_rows = match budget {
        LabelBudget::Unsupervised => Vec::new(),
        LabelBudget::PerClass(k) => {
            draw_per_class(target.y(), target.n_classes(), k, seed, target.name())?
        }
        LabelBudget::All => draw_all_but_holdout(
            target.y(),
            target.n_classes(),
            ALL_LABELS_HOLDOUT,
            seed,
            target.name(),
        )?,
    };
    let target_labeled = if labeled_rows.is_empty() {
        None
    } else {
        let x = target.x().select(Axis(0), &labeled_rows);
        let y = labeled_rows
            .iter()
            .map(|&i| target.y()[i])
            .collect::<Array1<_>>();
        Some(LabeledDomain::new(
            format!("{} (labelled subset)", target.name()),
            x,
            y,
            target.n_classes(),
        )?)
    };
    let mut is_labeled = vec![false; n_t];
    for &i in &labeled_rows {
        is_labeled[i] = true;
    }
    let eval_rows = (0..n_t).filter(|&i| !is_labeled[i]).collect();
    let (target, truth) = target.into_unlabeled();
    Ok((
        TransferTask {
            source,
            target,
            target_labeled,
            target_labeled_rows: labeled_rows,
        },
        Evaluator { truth, eval_rows },
    ))
}

/// Every row index except a held-out share `holdout` of each class (rounded up, at least one
/// row), chosen by a seeded shuffle, sorted. A class with a single sample cannot be both
/// trained on and scored: an error.
pub fn draw_all_but_holdout(
    y: &Array1<usize>,
    n_classes: usize,
    holdout: f64,
    seed: u64,
    context: &str,
) -> Result<Vec<usize>> {
    if !(holdout > 0.0 && holdout < 1.0) {
        return Err(CoreError::Budget(format!(
            "held-out share must be in (0, 1), got {holdout}"
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rows = Vec::with_capacity(y.len());
    for c in 0..n_classes {
        let mut members: Vec<usize> = (0..y.len()).filter(|&i| y[i] == c).collect();
        if members.is_empty() {
            continue;
        }
        if members.len() < 2 {
            return Err(CoreError::Budget(format!(
                "all labels requested but class {c} of `{context}` has {} sample: one must be \
                 labelled and one held out to score",
                members.len()
            )));
        }
        let held = ((members.len() as f64 * holdout).ceil() as usize).clamp(1, members.len() - 1);
        members.shuffle(&mut rng);
        rows.extend_from_slice(&members[held..]);
    }
    rows.sort_unstable();
    Ok(rows)
}

/// `k` row indices per class, drawn without replacement by a seeded shuffle, sorted.
pub fn draw_per_class(
    y: &Array1<usize>,
    n_classes: usize,
    k: usize,
    seed: u64,
    context: &str,
) -> Result<Vec<usize>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rows = Vec::with_capacity(k * n_classes);
    for c in 0..n_classes {
        let mut members: Vec<usize> = (0..y.len()).filter(|&i| y[i] == c).collect();
        if members.is_empty() {
            continue;
        }
        if k >= members.len() {
            return Err(CoreError::Budget(format!(
                "{k} labels per class requested but class {c} of `{context}` has {} samples; \
                 at least one must remain to score",
                members.len()
            )));
        }
        members.shuffle(&mut rng);
        rows.extend_from_slice(&members[..k]);
    }
    rows.sort_unstable();
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn toy(name: &str) -> LabeledDomain {
        let x = Array2::from_shape_fn((20, 2), |(i, j)| (i * 2 + j) as f64);
        let y = Array1::from_shape_fn(20, |i| i % 2);
        LabeledDomain::new(name, x, y, 2).unwrap()
    }

    #[test]
    fn rejects_bad_domains() {
        let x = array![[1.0, f64::NAN], [0.0, 1.0]];
        let e = LabeledDomain::new("d", x, array![0, 1], 2)
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 0, column 1"), "{e}");
        let e = LabeledDomain::new("d", array![[1.0], [2.0]], array![0], 2)
            .unwrap_err()
            .to_string();
        assert!(e.contains("2 feature rows but 1 labels"), "{e}");
        let e = LabeledDomain::new("d", array![[1.0], [2.0]], array![1, 1], 2)
            .unwrap_err()
            .to_string();
        assert!(e.contains("only one class"), "{e}");
        let e = LabeledDomain::new("d", Array2::zeros((0, 3)), Array1::zeros(0), 2)
            .unwrap_err()
            .to_string();
        assert!(e.contains("empty"), "{e}");
        let e = LabeledDomain::new("d", array![[1.0], [2.0]], array![0, 5], 2)
            .unwrap_err()
            .to_string();
        assert!(e.contains("0..2"), "{e}");
    }

    #[test]
    fn few_shot_draws_are_seeded_and_disjoint_from_scored_rows() {
        let (a, ea) = make_task(toy("s"), toy("t"), LabelBudget::PerClass(3), 7).unwrap();
        let (b, _) = make_task(toy("s"), toy("t"), LabelBudget::PerClass(3), 7).unwrap();
        let (c, _) = make_task(toy("s"), toy("t"), LabelBudget::PerClass(3), 8).unwrap();
        assert_eq!(a.target_labeled_rows, b.target_labeled_rows);
        assert_ne!(a.target_labeled_rows, c.target_labeled_rows);
        assert_eq!(a.target_labeled_rows.len(), 6);
        assert_eq!(ea.eval_rows().len(), 14);
        assert!(ea
            .eval_rows()
            .iter()
            .all(|r| !a.target_labeled_rows.contains(r)));
        let counts = a.target_labeled.unwrap().class_counts();
        assert_eq!(counts, vec![3, 3]);
    }

    #[test]
    fn all_labels_holds_out_a_fifth_of_each_class() {
        // toy: 20 rows, 10 per class → 2 held out per class (ceil 0.2 × 10), 16 labelled.
        let (task, ev) = make_task(toy("s"), toy("t"), LabelBudget::All, 3).unwrap();
        assert_eq!(task.target_labeled_rows.len(), 16);
        assert_eq!(ev.eval_rows().len(), 4);
        let held_per_class: Vec<usize> = (0..2)
            .map(|c| ev.eval_rows().iter().filter(|&&i| i % 2 == c).count())
            .collect();
        assert_eq!(held_per_class, vec![2, 2]);
        assert_eq!(LabelBudget::from_k(ALL_LABELS), LabelBudget::All);
        assert_eq!(LabelBudget::All.k(), ALL_LABELS);
        assert_eq!(budget_label(ALL_LABELS as u64), "all");
        let (b, _) = make_task(toy("s"), toy("t"), LabelBudget::All, 3).unwrap();
        assert_eq!(b.target_labeled_rows, task.target_labeled_rows);
        let single =
            LabeledDomain::new("one", array![[0.0], [1.0], [2.0]], array![0, 0, 1], 2).unwrap();
        let e = make_task(single.clone(), single, LabelBudget::All, 0).unwrap_err();
        assert!(
            e.to_string().contains("class 1 of `one` has 1 sample"),
            "{e}"
        );
    }

    #[test]
    fn budget_larger_than_a_class_is_an_error() {
        let e = make_task(toy("s"), toy("t"), LabelBudget::PerClass(10), 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("class 0") && e.contains("10 samples"), "{e}");
    }

    #[test]
    fn evaluator_scores_only_unlabelled_rows() {
        let (task, ev) = make_task(toy("s"), toy("t"), LabelBudget::Unsupervised, 0).unwrap();
        assert!(task.target_labeled.is_none());
        let perfect = Array1::from_shape_fn(20, |i| i % 2);
        assert_eq!(ev.score(&perfect).unwrap().accuracy, 100.0);
        let e = ev.score(&Array1::zeros(3)).unwrap_err().to_string();
        assert!(e.contains("3 predictions for 20"), "{e}");
    }
}
