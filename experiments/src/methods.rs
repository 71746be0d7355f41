//! The methods a suite can name. For now the baselines every transfer method is judged
//! against; the method crates register theirs here as they arrive.

use std::time::Instant;

use ndarray::{concatenate, Array1, ArrayView2, Axis};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tlab_core::{
    AnomalyEvaluator, ClusterEvaluator, LabeledDomain, UnlabeledDomain, UnsupervisedTask,
};
use tlab_core::{CoreError, Evaluator, LearnerSpec, TrainSet, TransferTask};
use tlab_transductive::{AdapterSpec, ReweighterSpec, TransductiveError};
use tlab_unsupervised::{FittedRepresentation, UnsupervisedError};

use crate::suite::{FitOn, MethodEntry};

/// A method failed: the data or parameters it was given, or the adapter.
#[derive(Debug, thiserror::Error)]
pub enum MethodError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error(transparent)]
    Transductive(#[from] TransductiveError),
    #[error(transparent)]
    Unsupervised(#[from] UnsupervisedError),
    #[error(transparent)]
    Inductive(#[from] tlab_inductive::InductiveError),
}

/// Source-pretrained networks already trained in this process, by (source, network,
/// seed): every strategy and budget of a run seed reuses one pretraining.
static PRETRAINED: std::sync::Mutex<Vec<(String, tlab_nn::Mlp)>> =
    std::sync::Mutex::new(Vec::new());

/// The source-pretrained network for this task and seed (trained once per process).
fn pretrained_for(
    net: &tlab_inductive::NetworkSpec,
    source: &LabeledDomain,
    seed: u64,
) -> Result<tlab_nn::Mlp, MethodError> {
    let key = format!(
        "{}|{}|{}|{}|{seed}",
        source.name(),
        source.n_samples(),
        source.n_features(),
        serde_json::to_string(net).expect("serialisable")
    );
    if let Some((_, m)) = PRETRAINED
        .lock()
        .expect("not poisoned")
        .iter()
        .find(|(k, _)| *k == key)
    {
        return Ok(m.clone());
    }
    let m = tlab_inductive::pretrain(source, net, seed)?;
    let mut cache = PRETRAINED.lock().expect("not poisoned");
    if cache.len() >= 64 {
        cache.remove(0);
    }
    cache.push((key, m.clone()));
    Ok(m)
}

/// An inductive strategy on the labelled target rows (pretraining counts as fitting time
/// for the run that computes it; later runs reuse it).
fn inductive(
    strategy: &tlab_inductive::StrategySpec,
    net: &tlab_inductive::NetworkSpec,
    task: &TransferTask,
    extra: &[LabeledDomain],
    seed: u64,
) -> Result<Outcome, MethodError> {
    let t0 = Instant::now();
    let labeled = task.target_labeled.as_ref().ok_or_else(|| {
        CoreError::Budget("`inductive` needs a few-shot task (k ≥ 1 labels per class)".into())
    })?;
    let pre = if strategy.uses_source() {
        Some(pretrained_for(net, &task.source, seed)?)
    } else {
        None
    };
    let predictions = strategy.fit_predict_with_tasks(
        &task.source,
        extra,
        pre.as_ref(),
        labeled,
        task.target.x(),
        net,
        seed,
    )?;
    Ok(Outcome {
        predictions,
        fit_seconds: t0.elapsed().as_secs_f64(),
        predict_seconds: 0.0,
    })
}

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
    /// A transductive feature adapter (tlab-transductive), then the learner on the adapted
    /// source (plus the adapted labelled target rows in the few-shot setting).
    Adapt,
    /// Instance reweighting (tlab-transductive): the learner trained on the source with one
    /// weight per sample (labelled target rows, if any, weigh 1).
    Reweight,
    /// Clustering suites: cluster the target (k = its class count), optionally in a
    /// representation learned without labels and from a source-informed start.
    Cluster,
    /// Anomaly suites: a detector fitted on the source's normal rows (or on the unlabelled
    /// target itself with `fit_on = "target"`) scores every target row.
    Detect,
    /// Transitive transfer through unlabelled intermediate domains (`via`), by gradual
    /// self-training: the learner trained on the source labels the first intermediate
    /// domain, a learner trained on those pseudo-labels labels the next, …, and the last
    /// one predicts the target (plus its labelled rows, in the few-shot setting).
    Transitive,
    /// A transductive method that labels the target itself, with no learner (EasyTL):
    /// `labeller = { kind = ... }`; unsupervised setting only.
    Label,
    /// Inductive transfer (tlab-inductive): a network pretrained on the labelled source,
    /// reused for the target's labelled rows by `strategy = { kind = ... }`, with the
    /// architecture and training in `network = { ... }`.
    Inductive,
}

/// Every method with a line on what it does (for `tlab list`).
pub const METHODS: [(MethodKind, &str); 11] = [
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
    (
        MethodKind::Adapt,
        "a feature adapter (`adapter = { kind = ... }`), then the learner on the adapted source",
    ),
    (
        MethodKind::Reweight,
        "source weights (`reweighter = { kind = ... }`), then the weighted learner",
    ),
    (
        MethodKind::Inductive,
        "pretrain an MLP on the source, reuse it for the labelled target rows (`strategy = { kind = ... }`)",
    ),
    (
        MethodKind::Label,
        "a transductive method that labels the target itself (`labeller = { kind = ... }`, no learner)",
    ),
    (
        MethodKind::Transitive,
        "gradual self-training through the unlabelled `via` domains, source → … → target",
    ),
    (
        MethodKind::Cluster,
        "clustering suites: cluster the target (`cluster = { algorithm = ... }`)",
    ),
    (
        MethodKind::Detect,
        "anomaly suites: score target rows with a detector fitted on normal data (`detector = { kind = ... }`)",
    ),
];

impl MethodKind {
    pub fn name(&self) -> &'static str {
        match self {
            MethodKind::SourceOnly => "source-only",
            MethodKind::TargetOnly => "target-only",
            MethodKind::SourceAndTarget => "source-and-target",
            MethodKind::Oracle => "oracle",
            MethodKind::Adapt => "adapt",
            MethodKind::Reweight => "reweight",
            MethodKind::Cluster => "cluster",
            MethodKind::Detect => "detect",
            MethodKind::Transitive => "transitive",
            MethodKind::Label => "label",
            MethodKind::Inductive => "inductive",
        }
    }

    pub fn needs_target_labels(&self) -> bool {
        matches!(
            self,
            MethodKind::TargetOnly | MethodKind::SourceAndTarget | MethodKind::Inductive
        )
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
    entry: &MethodEntry,
    task: &TransferTask,
    evaluator: &Evaluator,
    seed: u64,
) -> Result<Outcome, MethodError> {
    let kind = entry.method;
    if let (MethodKind::Adapt, Some(adapter)) = (kind, &entry.adapter) {
        return adapt(adapter, entry.learner(), task, seed);
    }
    if let (MethodKind::Reweight, Some(rw)) = (kind, &entry.reweighter) {
        return reweight(rw, entry.learner(), task, seed);
    }
    if let (MethodKind::Inductive, Some(s)) = (kind, &entry.strategy) {
        return inductive(
            s,
            &entry.network.clone().unwrap_or_default(),
            task,
            &[],
            seed,
        );
    }
    if let (MethodKind::Label, Some(l)) = (kind, &entry.labeller) {
        let t0 = Instant::now();
        let predictions = l.label(&task.source, &task.target, seed)?;
        return Ok(Outcome {
            predictions,
            fit_seconds: t0.elapsed().as_secs_f64(),
            predict_seconds: 0.0,
        });
    }
    if entry.representation.is_some() {
        let t0 = Instant::now();
        let mapped = represent_task(entry, task, seed)?;
        let represent_seconds = t0.elapsed().as_secs_f64();
        let plain = MethodEntry {
            representation: None,
            ..entry.clone()
        };
        let mut out = run_method(&plain, &mapped, evaluator, seed)?;
        out.fit_seconds += represent_seconds;
        return Ok(out);
    }
    let model = entry.learner().build(seed)?;
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
    Ok(match kind {
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
        MethodKind::Oracle => oracle(model.as_ref(), entry.folds, task, evaluator, seed),
        MethodKind::Reweight => Err(CoreError::invalid_param(
            "reweighter",
            "missing",
            "a `reweighter = { kind = ... }` table",
        )),
        MethodKind::Adapt => Err(CoreError::invalid_param(
            "adapter",
            "missing",
            "an `adapter = { kind = ... }` table",
        )),
        MethodKind::Transitive => Err(CoreError::invalid_param(
            "via",
            "missing",
            "the intermediate domains (run through `run_transitive`)",
        )),
        MethodKind::Inductive => Err(CoreError::invalid_param(
            "strategy",
            "missing",
            "a `strategy = { kind = ... }` table",
        )),
        MethodKind::Label => Err(CoreError::invalid_param(
            "labeller",
            "missing",
            "a `labeller = { kind = ... }` table",
        )),
        MethodKind::Cluster | MethodKind::Detect => Err(CoreError::invalid_param(
            "method",
            kind.name(),
            "a clustering or anomaly suite (`task`)",
        )),
    }?)
}

/// Fits the entry's representation on the unlabelled rows `fit_on` names.
fn fit_representation(
    entry: &MethodEntry,
    source: &UnlabeledDomain,
    target: &UnlabeledDomain,
    seed: u64,
) -> Result<FittedRepresentation, MethodError> {
    let spec = entry
        .representation
        .as_ref()
        .expect("called with a representation");
    let rows = match entry.fit_on {
        FitOn::Source => source.x().to_owned(),
        FitOn::Target => target.x().to_owned(),
        FitOn::Both => {
            concatenate(Axis(0), &[source.x(), target.x()]).map_err(|e| CoreError::Shape {
                context: "source ∪ target (representation)".into(),
                detail: e.to_string(),
            })?
        }
    };
    Ok(spec.fit_seeded(rows.view(), seed)?)
}

/// The task with both domains (and the labelled target rows) mapped through the entry's
/// representation, which sees features only.
fn represent_task(
    entry: &MethodEntry,
    task: &TransferTask,
    seed: u64,
) -> Result<TransferTask, MethodError> {
    let (source_features, _) = task.source.clone().into_unlabeled();
    let f = fit_representation(entry, &source_features, &task.target, seed)?;
    let map = |d: &LabeledDomain| -> Result<LabeledDomain, MethodError> {
        Ok(d.clone().with_features(f.transform(d.x())?)?)
    };
    Ok(TransferTask {
        source: map(&task.source)?,
        target: UnlabeledDomain::new(task.target.name(), f.transform(task.target.x())?)?,
        target_labeled: task.target_labeled.as_ref().map(map).transpose()?,
        target_labeled_rows: task.target_labeled_rows.clone(),
    })
}

/// Both domains through the entry's representation (if any): what clustering and
/// detection work on.
fn unsupervised_features(
    entry: &MethodEntry,
    task: &UnsupervisedTask,
    seed: u64,
) -> Result<(ndarray::Array2<f64>, ndarray::Array2<f64>), MethodError> {
    match &entry.representation {
        None => Ok((task.source.x().to_owned(), task.target.x().to_owned())),
        Some(_) => {
            let f = fit_representation(entry, &task.source, &task.target, seed)?;
            Ok((f.transform(task.source.x())?, f.transform(task.target.x())?))
        }
    }
}

/// Clusters the target: one cluster id per row, and the seconds it took.
pub fn run_cluster(
    entry: &MethodEntry,
    task: &UnsupervisedTask,
    evaluator: &ClusterEvaluator,
    seed: u64,
) -> Result<(Array1<usize>, f64), MethodError> {
    let spec = entry
        .cluster
        .as_ref()
        .expect("validated: cluster methods have `cluster`");
    let t0 = Instant::now();
    let (xs, xt) = unsupervised_features(entry, task, seed)?;
    let clusters = spec.cluster(evaluator.n_classes(), xt.view(), Some(xs.view()), seed)?;
    Ok((clusters, t0.elapsed().as_secs_f64()))
}

/// Anomaly scores of every target row, the alarm threshold, and fit and score seconds. The
/// detector (and its representation, if any) is fitted on the source's normal rows; with
/// `fit_on = "target"` on the unlabelled target itself, anomalies included (the
/// target-alone baseline); with `fit_on = "both"` the representation sees both domains and
/// the detector the source's normal rows.
pub fn run_detect(
    entry: &MethodEntry,
    task: &UnsupervisedTask,
    _evaluator: &AnomalyEvaluator,
    seed: u64,
) -> Result<(Array1<f64>, f64, f64, f64), MethodError> {
    let spec = entry
        .detector
        .as_ref()
        .expect("validated: detect methods have `detector`");
    let t0 = Instant::now();
    let (xs, xt) = unsupervised_features(entry, task, seed)?;
    let train = if entry.fit_on == FitOn::Target {
        xt.view()
    } else {
        xs.view()
    };
    let fitted = spec.fit(train, seed)?;
    let fit_seconds = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let scores = fitted.score(xt.view())?;
    Ok((
        scores,
        fitted.threshold(),
        fit_seconds,
        t1.elapsed().as_secs_f64(),
    ))
}

/// Whether a learner lets sample weights change its fit (1-NN does not: one neighbour's
/// vote ignores its weight). Pairing a reweighter with such a learner is refused, never a
/// silent no-op.
pub fn uses_weights(learner: &LearnerSpec) -> bool {
    !matches!(learner, LearnerSpec::Knn { k: 1 })
}

/// Source weights, then the weighted learner; the weighting counts as fitting time.
fn reweight(
    spec: &ReweighterSpec,
    learner: &LearnerSpec,
    task: &TransferTask,
    seed: u64,
) -> Result<Outcome, MethodError> {
    let t0 = Instant::now();
    let w = spec.weights(&task.source, &task.target, seed)?;
    train_and_label(
        learner,
        seed,
        task,
        task.source.x(),
        task.target.x(),
        Some(w),
        t0,
    )
}

/// Adapter, then the learner in the adapted space; the adapter's time counts as fitting.
fn adapt(
    spec: &AdapterSpec,
    learner: &LearnerSpec,
    task: &TransferTask,
    seed: u64,
) -> Result<Outcome, MethodError> {
    let t0 = Instant::now();
    let emb = spec.build()?.adapt(&task.source, &task.target, seed)?;
    train_and_label(
        learner,
        seed,
        task,
        emb.source.view(),
        emb.target.view(),
        None,
        t0,
    )
}

/// Trains the learner on the source rows `source_x` (optionally weighted) — plus, in a
/// few-shot task, the labelled target rows of `target_x` with weight 1 — and labels every
/// row of `target_x`. Fitting time runs from `t0`, so adapting or weighting counts in it.
fn train_and_label(
    learner: &LearnerSpec,
    seed: u64,
    task: &TransferTask,
    source_x: ArrayView2<'_, f64>,
    target_x: ArrayView2<'_, f64>,
    weights: Option<Array1<f64>>,
    t0: Instant,
) -> Result<Outcome, MethodError> {
    let ys = task.source.y();
    // The source rows as they are when no target row joins them (no copy).
    let (x, y, w): (ndarray::CowArray<'_, f64, ndarray::Ix2>, _, _) = match &task.target_labeled {
        None => (source_x.into(), ys.clone(), weights),
        Some(l) => {
            let xt = target_x.select(Axis(0), &task.target_labeled_rows);
            (
                concatenate(Axis(0), &[source_x.view(), xt.view()])
                    .expect("same width")
                    .into(),
                concatenate(Axis(0), &[ys.view(), l.y().view()]).expect("1-D"),
                weights.map(|w| {
                    concatenate(Axis(0), &[w.view(), Array1::ones(l.n_samples()).view()])
                        .expect("1-D")
                }),
            )
        }
    };
    let mut train = TrainSet::new(x.view(), y.view(), task.source.n_classes());
    if let Some(w) = &w {
        train = train.with_weights(w.view());
    }
    let fitted = learner.build(seed)?.fit(train)?;
    let fit_seconds = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let predictions = fitted.predict(target_x)?;
    Ok(Outcome {
        predictions,
        fit_seconds,
        predict_seconds: t1.elapsed().as_secs_f64(),
    })
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

/// Transitive transfer by gradual self-training (see [`MethodKind::Transitive`]): only the
/// intermediate domains' features are used. The fitting time covers every step.
/// A `multi-task` inductive method with its extra labelled tasks (the suite's
/// `extra_tasks` less the pair's own domains).
pub fn run_multi_task(
    entry: &MethodEntry,
    task: &TransferTask,
    extra: &[LabeledDomain],
    seed: u64,
) -> Result<Outcome, MethodError> {
    let strategy = entry.strategy.as_ref().ok_or_else(|| {
        CoreError::invalid_param("strategy", "none", "`inductive` needs `strategy`")
    })?;
    inductive(
        strategy,
        &entry.network.clone().unwrap_or_default(),
        task,
        extra,
        seed,
    )
}

pub fn run_transitive(
    entry: &MethodEntry,
    task: &TransferTask,
    via: &[UnlabeledDomain],
    seed: u64,
) -> Result<Outcome, MethodError> {
    let t0 = Instant::now();
    let chain: Vec<&UnlabeledDomain> = match &entry.via_metric {
        None => via.iter().collect(),
        Some(metric) => minimax_chain(metric, task, via)?
            .into_iter()
            .map(|i| &via[i])
            .collect(),
    };
    tracing::debug!(
        chain = ?chain.iter().map(|d| d.name()).collect::<Vec<_>>(),
        "transitive chain"
    );
    let learner = entry.learner().build(seed)?;
    let k = task.source.n_classes();
    let mut model = learner.fit(TrainSet::from_domain(&task.source))?;
    for d in &chain {
        let pseudo = model.predict(d.x())?;
        model = learner.fit(TrainSet::new(d.x(), pseudo.view(), k))?;
    }
    // The last model labels the target; in the few-shot setting the labelled target rows
    // join that last step's training set.
    if let Some(l) = &task.target_labeled {
        let last = chain.last().copied().unwrap_or(&task.target);
        let pseudo = model.predict(last.x())?;
        let x = concatenate(Axis(0), &[last.x(), l.x()]).map_err(|e| CoreError::Shape {
            context: "last intermediate ∪ labelled target".into(),
            detail: e.to_string(),
        })?;
        let y = concatenate(Axis(0), &[pseudo.view(), l.y().view()]).expect("1-D");
        model = learner.fit(TrainSet::new(x.view(), y.view(), k))?;
    }
    let fit_seconds = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let predictions = model.predict(task.target.x())?;
    Ok(Outcome {
        predictions,
        fit_seconds,
        predict_seconds: t1.elapsed().as_secs_f64(),
    })
}

/// The chain of candidate intermediates (indices into `via`) on the path source → … →
/// target whose largest step by `metric` is smallest (a minimax path: Dijkstra with
/// `max` in place of `+`); ties keep the shorter chain. Features only.
pub fn minimax_chain(
    metric: &str,
    task: &TransferTask,
    via: &[UnlabeledDomain],
) -> Result<Vec<usize>, MethodError> {
    let mut nodes: Vec<ndarray::ArrayView2<'_, f64>> = vec![task.source.x()];
    nodes.extend(via.iter().map(|d| d.x()));
    nodes.push(task.target.x());
    let n = nodes.len();
    let mut w = vec![vec![0.0f64; n]; n];
    for i in 0..n {
        for j in i + 1..n {
            let v = tlab_similarity::compute(metric, nodes[i], nodes[j]).map_err(|e| {
                CoreError::invalid_param("via_metric", metric.to_string(), e.to_string())
            })?;
            w[i][j] = v;
            w[j][i] = v;
        }
    }
    let (mut best, mut hops, mut prev, mut done) = (
        vec![f64::INFINITY; n],
        vec![usize::MAX; n],
        vec![usize::MAX; n],
        vec![false; n],
    );
    best[0] = f64::NEG_INFINITY;
    hops[0] = 0;
    for _ in 0..n {
        let Some(u) = (0..n)
            .filter(|&i| !done[i] && best[i] < f64::INFINITY)
            .min_by(|&a, &b| best[a].total_cmp(&best[b]).then(hops[a].cmp(&hops[b])))
        else {
            break;
        };
        done[u] = true;
        for v in 0..n {
            if done[v] || v == u {
                continue;
            }
            let cand = best[u].max(w[u][v]);
            if cand < best[v] || (cand == best[v] && hops[u] + 1 < hops[v]) {
                best[v] = cand;
                hops[v] = hops[u] + 1;
                prev[v] = u;
            }
        }
    }
    let mut chain = Vec::new();
    let mut at = prev[n - 1];
    while at != 0 && at != usize::MAX {
        chain.push(at - 1);
        at = prev[at];
    }
    chain.reverse();
    Ok(chain)
}
