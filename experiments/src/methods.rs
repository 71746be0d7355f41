//! The methods a suite can name. For now the baselines every transfer method is judged
//! against; the method crates register theirs here as they arrive.

use std::time::Instant;

use ndarray::{concatenate, Array1, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tlab_core::{CoreError, Evaluator, LearnerSpec, TrainSet, TransferTask};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MethodKind {
    /// Train on the labelled source only; predict the target (no adaptation).
    SourceOnly,
    /// Train on the `k`-per-class labelled target subset only (the from-scratch baseline).
    TargetOnly,
    /// Train on the source and the labelled target subset pooled (naive transfer).
    SourceAndTarget,
    /// In-domain reference: cross-validation on the labelled target (reference only, never
    /// a transfer result — it reads the target's labels).
    Oracle,
}

/// Every method with a line on what it does (for `tlab list`).
pub const METHODS: [(MethodKind, &str); 4] = [
    (
        MethodKind::SourceOnly,
        "train on the labelled source, predict the target",
    ),
    (
        MethodKind::TargetOnly,
        "train on the k-per-class labelled target subset only",
    ),
    (
        MethodKind::SourceAndTarget,
        "train on source ∪ labelled target subset",
    ),
    (
        MethodKind::Oracle,
        "k-fold cross-validation on the labelled target (reference only)",
    ),
];

impl MethodKind {
    pub fn name(&self) -> &'static str {
        match self {
            MethodKind::SourceOnly => "source-only",
            MethodKind::TargetOnly => "target-only",
            MethodKind::SourceAndTarget => "source-and-target",
            MethodKind::Oracle => "oracle",
        }
    }

    pub fn needs_target_labels(&self) -> bool {
        matches!(self, MethodKind::TargetOnly | MethodKind::SourceAndTarget)
    }
}

/// Predictions for every target row, with the seconds spent fitting and predicting.
#[derive(Debug)]
pub struct Outcome {
    pub predictions: Array1<usize>,
    pub fit_seconds: f64,
    pub predict_seconds: f64,
}

/// Runs one method on one task.
pub fn run_method(
    kind: MethodKind,
    learner: &LearnerSpec,
    folds: usize,
    task: &TransferTask,
    evaluator: &Evaluator,
    seed: u64,
) -> Result<Outcome, CoreError> {
    let model = learner.build(seed)?;
    let fit_and_predict = |train: TrainSet<'_>| -> Result<Outcome, CoreError> {
        let t0 = Instant::now();
        let fitted = model.fit(train)?;
        let fit_seconds = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let predictions = fitted.predict(task.target.x())?;
        Ok(Outcome {
            predictions,
            fit_seconds,
            predict_seconds: t1.elapsed().as_secs_f64(),
        })
    };
    let labeled = || {
        task.target_labeled.as_ref().ok_or_else(|| {
            CoreError::Budget(format!(
                "`{}` needs a few-shot task (k ≥ 1 labels per class)",
                kind.name()
            ))
        })
    };
    match kind {
        MethodKind::SourceOnly => fit_and_predict(TrainSet::from_domain(&task.source)),
        MethodKind::TargetOnly => fit_and_predict(TrainSet::from_domain(labeled()?)),
        MethodKind::SourceAndTarget => {
            let l = labeled()?;
            let x =
                concatenate(Axis(0), &[task.source.x(), l.x()]).map_err(|e| CoreError::Shape {
                    context: "source ∪ labelled target".into(),
                    detail: e.to_string(),
                })?;
            let y = concatenate(Axis(0), &[task.source.y().view(), l.y().view()]).expect("1-D");
            fit_and_predict(TrainSet::new(x.view(), y.view(), task.source.n_classes()))
        }
        MethodKind::Oracle => oracle(model.as_ref(), folds, task, evaluator, seed),
    }
}

/// Each target row is predicted by a model fitted on the other folds (folds drawn by seed).
fn oracle(
    model: &dyn tlab_core::Classifier,
    folds: usize,
    task: &TransferTask,
    evaluator: &Evaluator,
    seed: u64,
) -> Result<Outcome, CoreError> {
    let target = evaluator.reveal_target_for_oracle(&task.target)?;
    let n = target.n_samples();
    if folds > n {
        return Err(CoreError::Budget(format!(
            "{folds} folds for {n} target samples"
        )));
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let mut fold_of = vec![0; n];
    for (pos, &i) in order.iter().enumerate() {
        fold_of[i] = pos % folds;
    }
    let mut predictions = Array1::zeros(n);
    let (mut fit_seconds, mut predict_seconds) = (0.0, 0.0);
    for f in 0..folds {
        let train: Vec<usize> = (0..n).filter(|&i| fold_of[i] != f).collect();
        let test: Vec<usize> = (0..n).filter(|&i| fold_of[i] == f).collect();
        let x = target.x().select(Axis(0), &train);
        let y: Array1<usize> = train.iter().map(|&i| target.y()[i]).collect();
        let t0 = Instant::now();
        let fitted = model.fit(TrainSet::new(x.view(), y.view(), target.n_classes()))?;
        fit_seconds += t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let p = fitted.predict(target.x().select(Axis(0), &test).view())?;
        predict_seconds += t1.elapsed().as_secs_f64();
        for (&i, &c) in test.iter().zip(&p) {
            predictions[i] = c;
        }
    }
    Ok(Outcome {
        predictions,
        fit_seconds,
        predict_seconds,
    })
}
