//! Expands a suite into runs and executes them in parallel, one run per rayon thread
//! (on a few cores, whole runs in parallel is where the speed is).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use tlab_core::synthetic::builtin_pair;
use tlab_core::{make_task, Classifier, LabelBudget, LabeledDomain};

use crate::error::{Error, Result};
use crate::methods::{
    run_cluster, run_detect, run_method, run_multi_task, run_transitive, Outcome,
};
use crate::store::Row;
use crate::suite::{DataSource, MethodEntry, Suite, Task};

/// One unit of work: a pair, a method, a label budget and a seed.
#[derive(Debug, Clone)]
pub struct Run<'a> {
    pub index: usize,
    pub source: String,
    pub target: String,
    pub method: &'a MethodEntry,
    pub budget: usize,
    pub seed: u64,
}

/// What identifies a run among stored rows: pair, method id and its parameters, budget, seed.
/// A method whose parameters changed in the suite is a different run.
pub type RunKey = (String, String, String, String, u64, u64);

impl Run<'_> {
    pub fn key(&self) -> RunKey {
        (
            self.source.clone(),
            self.target.clone(),
            self.method.id.clone(),
            self.method.params_json(),
            self.budget as u64,
            self.seed,
        )
    }

    pub fn label(&self) -> String {
        format!(
            "{}→{} {} k={} seed={}",
            self.source,
            self.target,
            self.method.id,
            tlab_core::budget_label(self.budget as u64),
            self.seed
        )
    }
}

/// pairs × methods × budgets × seeds, in a fixed order.
pub fn expand(suite: &Suite) -> Vec<Run<'_>> {
    let mut runs = Vec::new();
    for (source, target) in suite.expand_pairs() {
        for method in &suite.methods {
            for &budget in &method.budgets {
                for &seed in &suite.seeds {
                    runs.push(Run {
                        index: runs.len(),
                        source: source.clone(),
                        target: target.clone(),
                        method,
                        budget,
                        seed,
                    });
                }
            }
        }
    }
    runs
}

type Pairs = HashMap<(String, String), (LabeledDomain, LabeledDomain)>;

/// The domains the runs need: built-in ones drawn per pair, described ones (a registered
/// benchmark's or the user's) loaded once through the dataset's one class set.
struct Domains {
    pairs: Pairs,
    named: HashMap<String, LabeledDomain>,
    files: Vec<tlab_core::dataset::FileRecord>,
    base: Option<std::path::PathBuf>,
    classes: Vec<tlab_core::io::ClassId>,
}

fn load_domains(
    suite: &Suite,
    wanted: &[(String, String)],
    data_dir: Option<&Path>,
) -> Result<Domains> {
    let mut pairs = HashMap::new();
    let mut named = HashMap::new();
    let extra: Vec<&String> = suite
        .methods
        .iter()
        .flat_map(|m| m.via.iter().chain(&m.extra_tasks))
        .collect();
    if let DataSource::Builtin(name) = &suite.data {
        let pre = suite.preprocess.unwrap_or_default();
        for (s, t) in wanted.iter().cloned() {
            let (ds, dt) = builtin_pair(name, &s, &t, suite.data_seed)?;
            let ds = ds.clone().with_features(pre.apply(ds.x().to_owned()))?;
            let dt = dt.clone().with_features(pre.apply(dt.x().to_owned()))?;
            pairs.insert((s, t), (ds, dt));
        }
        for d in extra {
            if !named.contains_key(d) {
                let role = if suite.methods.iter().any(|m| m.via.contains(d)) {
                    "intermediate"
                } else {
                    "extra task"
                };
                let x = tlab_core::synthetic::builtin_domain(name, d, suite.data_seed, role)?;
                named.insert(
                    d.clone(),
                    x.clone().with_features(pre.apply(x.x().to_owned()))?,
                );
            }
        }
        for d in pairs
            .values()
            .flat_map(|(s, t)| [s, t])
            .chain(named.values())
        {
            check_scale(suite, d)?;
        }
        return Ok(Domains {
            pairs,
            named,
            files: Vec::new(),
            base: None,
            classes: Vec::new(),
        });
    }
    let dataset = suite
        .data
        .dataset(data_dir)?
        .expect("validated: a described dataset");
    let mut names: Vec<&str> = Vec::new();
    for n in wanted.iter().flat_map(|(s, t)| [s, t]).chain(extra) {
        if !names.contains(&n.as_str()) {
            names.push(n);
        }
    }
    let loaded = dataset.load(&names, suite.preprocess, Some(&crate::data::ParquetTables))?;
    for d in loaded.domains {
        check_scale(suite, &d)?;
        named.insert(d.name().to_string(), d);
    }
    for (s, t) in wanted {
        let (ds, dt) = (&named[s], &named[t]);
        let in_source: std::collections::HashSet<usize> = ds.y().iter().copied().collect();
        let mut missing: Vec<String> = dt
            .y()
            .iter()
            .filter(|c| !in_source.contains(c))
            .map(|&c| loaded.classes[c].to_string())
            .collect();
        missing.sort();
        missing.dedup();
        if !missing.is_empty() {
            tracing::warn!(
                "{s}→{t}: target classes absent from the source: {} (a model trained on the source can never predict them)",
                missing.join(", ")
            );
        }
        pairs.insert((s.clone(), t.clone()), (ds.clone(), dt.clone()));
    }
    Ok(Domains {
        pairs,
        named,
        files: loaded.files,
        base: Some(dataset.base),
        classes: loaded.classes,
    })
}

/// The range of feature magnitudes every method computes with safely: squared distances,
/// kernels and Gram matrices overflow to infinity near 1e154 and underflow to zero near
/// 1e-154, and a method fed such values falls to chance without an error.
const SAFE_SCALE: (f64, f64) = (1e-100, 1e100);

/// Refuses a domain whose largest feature magnitude (as the methods will see it, after
/// preprocessing) is outside [`SAFE_SCALE`], naming the remedy.
fn check_scale(suite: &Suite, d: &LabeledDomain) -> Result<()> {
    let top = d.x().iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if top == 0.0 || (SAFE_SCALE.0..=SAFE_SCALE.1).contains(&top) {
        return Ok(());
    }
    let pre = suite
        .preprocess
        .or(suite.data.spec().and_then(|s| s.preprocess))
        .unwrap_or_default()
        .name();
    Err(Error::Suite {
        origin: suite.name.clone(),
        detail: format!(
            "data problem: domain `{}`: its largest feature magnitude is {top:e} after preprocessing `{pre}`; distances, kernels and Gram matrices overflow or underflow at such scales and every method would silently fall to chance. Rescale the data, or set `preprocess = \"zscore\"` (or \"l2-rows\") in the suite",
            d.name()
        ),
    })
}

type PairMetrics = HashMap<(String, String), BTreeMap<String, f64>>;

/// The suite's `metrics` for each pair, on the preprocessed features (labels unused).
fn is_transferability(name: &str) -> bool {
    tlab_similarity::TRANSFERABILITY
        .iter()
        .any(|(n, _)| *n == name)
}

type SourceModels = HashMap<(String, String), Box<dyn tlab_core::FittedClassifier>>;

/// With label-aware scores requested: a logistic regression (C = 1) on each pair's source.
fn source_models(suite: &Suite, pairs: &Pairs) -> Result<SourceModels> {
    if !suite.metrics.iter().any(|m| is_transferability(m)) {
        return Ok(HashMap::new());
    }
    let model = tlab_core::learners::LogisticRegression::new(1.0, 500)?;
    pairs
        .par_iter()
        .map(|(key, (s, _))| {
            let fitted = model.fit(tlab_core::TrainSet::new(s.x(), s.y().view(), s.n_classes()))?;
            Ok((key.clone(), fitted))
        })
        .collect()
}

/// LEEP / NCE / H-score of the pair's source model on the run's labelled target rows.
fn transferability(
    suite: &Suite,
    model: Option<&dyn tlab_core::FittedClassifier>,
    task: &tlab_core::TransferTask,
) -> std::result::Result<BTreeMap<String, f64>, String> {
    let mut out = BTreeMap::new();
    let (Some(model), Some(labeled)) = (model, task.target_labeled.as_ref()) else {
        return Ok(out);
    };
    let theta = model
        .predict_proba(labeled.x())
        .ok_or("the source model gives no probabilities")?
        .map_err(|e| e.to_string())?;
    let hard: ndarray::Array1<usize> = theta
        .rows()
        .into_iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .fold((0, f64::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b })
                .0
        })
        .collect();
    for name in suite.metrics.iter().filter(|m| is_transferability(m)) {
        let v = match name.as_str() {
            "leep" => tlab_similarity::leep(theta.view(), labeled.y().view()),
            "nce" => tlab_similarity::nce(hard.view(), labeled.y().view()),
            "logme" => tlab_similarity::logme(theta.view(), labeled.y().view()),
            "h-score" => tlab_similarity::h_score(theta.view(), labeled.y().view()),
            "otdd" => tlab_similarity::otdd(
                task.source.x(),
                task.source.y().view(),
                labeled.x(),
                labeled.y().view(),
                1e-3,
                1.0,
                true,
            ),
            "gbc" => tlab_similarity::gbc(theta.view(), labeled.y().view(), true),
            "transrate" => tlab_similarity::transrate(theta.view(), labeled.y().view(), 1e-4),
            "h-score-shrinkage" => {
                tlab_similarity::h_score_shrinkage(theta.view(), labeled.y().view())
            }
            other => return Err(format!("no per-run computation for {other:?}")),
        }
        .map_err(|e| e.to_string())?;
        out.insert(name.clone(), v);
    }
    Ok(out)
}

fn pair_metrics(suite: &Suite, pairs: &Pairs) -> Result<PairMetrics> {
    if suite.metrics.iter().all(|m| is_transferability(m)) {
        return Ok(HashMap::new());
    }
    pairs
        .par_iter()
        .map(|(key, (s, t))| {
            let mut m = BTreeMap::new();
            for name in suite.metrics.iter().filter(|m| !is_transferability(m)) {
                let v = tlab_similarity::compute(name, s.x(), t.x())
                    .map_err(|e| Error::Store(format!("metric on {}→{}: {e}", key.0, key.1)))?;
                m.insert(name.clone(), v);
            }
            Ok((key.clone(), m))
        })
        .collect()
}

type Vias = HashMap<String, tlab_core::UnlabeledDomain>;
type ExtraTasks = HashMap<String, LabeledDomain>;

fn execute(
    suite: &Suite,
    run: &Run<'_>,
    pairs: &Pairs,
    vias: &Vias,
    extra_tasks: &ExtraTasks,
    metrics: &PairMetrics,
    models: &SourceModels,
) -> Result<Row> {
    let key = (run.source.clone(), run.target.clone());
    let (s, t) = &pairs[&key];
    let wrap = |e: tlab_core::CoreError| Error::Run {
        run: run.label(),
        source: e.into(),
    };
    let m = run.method;
    let method_err = |e| Error::Run {
        run: run.label(),
        source: e,
    };
    let mut row_metrics = metrics.get(&key).cloned().unwrap_or_default();
    let mut extra = BTreeMap::new();
    let (scores, outcome) = match suite.task {
        Task::Classification => {
            let (task, evaluator) = make_task(
                s.clone(),
                t.clone(),
                LabelBudget::from_k(run.budget),
                run.seed,
            )
            .map_err(wrap)?;
            let outcome = if m.method == crate::methods::MethodKind::Transitive {
                let via: Vec<tlab_core::UnlabeledDomain> =
                    m.via.iter().map(|d| vias[d].clone()).collect();
                run_transitive(m, &task, &via, run.seed).map_err(method_err)?
            } else if !m.extra_tasks.is_empty() {
                // The pair's own domains are not extra tasks.
                let extra: Vec<LabeledDomain> = m
                    .extra_tasks
                    .iter()
                    .filter(|d| **d != run.source && **d != run.target)
                    .map(|d| extra_tasks[d].clone())
                    .collect();
                run_multi_task(m, &task, &extra, run.seed).map_err(method_err)?
            } else {
                run_method(m, &task, &evaluator, run.seed).map_err(method_err)?
            };
            let scores = evaluator.score(&outcome.predictions).map_err(wrap)?;
            row_metrics.extend(
                transferability(suite, models.get(&key).map(|m| m.as_ref()), &task).map_err(
                    |e| Error::Store(format!("run {}: transferability scores: {e}", run.label())),
                )?,
            );
            (scores, outcome)
        }
        Task::Clustering => {
            let (task, evaluator) =
                tlab_core::make_clustering_task(s.clone(), t.clone()).map_err(wrap)?;
            let (clusters, secs) =
                run_cluster(m, &task, &evaluator, run.seed).map_err(method_err)?;
            let c = evaluator.score(&clusters).map_err(wrap)?;
            extra.insert("nmi".to_string(), c.nmi);
            extra.insert("ari".to_string(), c.ari);
            let outcome = Outcome {
                predictions: clusters,
                fit_seconds: secs,
                predict_seconds: 0.0,
            };
            (c.matched, outcome)
        }
        Task::Anomaly => {
            let cfg = suite
                .anomaly
                .expect("validated: anomaly suites have `anomaly`");
            let setup = tlab_core::AnomalySetup {
                anomaly_class: cfg
                    .class
                    .unwrap_or((run.seed % t.n_classes() as u64) as usize),
                target_rate: cfg.target_rate,
                contamination: cfg.contamination,
            };
            let (task, evaluator) =
                tlab_core::make_anomaly_task(s.clone(), t.clone(), setup, run.seed)
                    .map_err(wrap)?;
            let (scores, threshold, fit_seconds, predict_seconds) =
                run_detect(m, &task, &evaluator, run.seed).map_err(method_err)?;
            let a = evaluator.score(&scores, threshold).map_err(wrap)?;
            extra.insert("auroc".to_string(), a.auroc);
            extra.insert("ap".to_string(), a.average_precision);
            let outcome = Outcome {
                predictions: ndarray::Array1::zeros(0),
                fit_seconds,
                predict_seconds,
            };
            (a.flagged, outcome)
        }
    };
    Ok(Row {
        suite: suite.name.clone(),
        dataset: suite.dataset_name(),
        source: run.source.clone(),
        target: run.target.clone(),
        method: m.id.clone(),
        method_kind: m.method.name().to_string(),
        learner: m.model_name(),
        params: m.params_json(),
        seed: run.seed,
        budget: run.budget as u64,
        accuracy: scores.accuracy,
        macro_f1: scores.macro_f1,
        n_scored: scores.n_scored as u64,
        fit_seconds: outcome.fit_seconds,
        predict_seconds: outcome.predict_seconds,
        metrics: row_metrics,
        scores: extra,
    })
}

/// A progress bar for `len` runs (hidden when `quiet`), `done` of them already finished.
pub fn progress_bar(prefix: &str, len: usize, done: usize, quiet: bool) -> ProgressBar {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(len as u64)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} runs, {elapsed} elapsed, ETA {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(prefix.to_string());
    bar.set_position(done as u64);
    bar.reset_eta();
    bar
}

/// Everything the runs of a sweep share, loaded before any run starts (so a load failure
/// happens before a results folder exists): the pairs, intermediate and extra-task domains,
/// the pair metrics, the source models of label-aware scores, and the files read.
pub struct Prepared {
    pairs: Pairs,
    vias: Vias,
    extra_tasks: ExtraTasks,
    metrics: PairMetrics,
    models: SourceModels,
    /// Every data file read, with its sha1.
    pub files: Vec<tlab_core::dataset::FileRecord>,
    /// The directory the dataset's relative paths start from (described data only).
    pub base: Option<std::path::PathBuf>,
    /// The dataset's class set (described data only).
    pub classes: Vec<tlab_core::io::ClassId>,
}

/// Loads what the given runs need (only their pairs).
pub fn prepare(suite: &Suite, runs: &[&Run<'_>], data_dir: Option<&Path>) -> Result<Prepared> {
    let mut wanted: Vec<(String, String)> = Vec::new();
    for r in runs {
        let p = (r.source.clone(), r.target.clone());
        if !wanted.contains(&p) {
            wanted.push(p);
        }
    }
    let domains = load_domains(suite, &wanted, data_dir)?;
    let mut vias = HashMap::new();
    let mut extra_tasks = HashMap::new();
    for m in &suite.methods {
        for d in &m.via {
            vias.insert(d.clone(), domains.named[d].clone().into_unlabeled().0);
        }
        for d in &m.extra_tasks {
            extra_tasks.insert(d.clone(), domains.named[d].clone());
        }
    }
    let metrics = pair_metrics(suite, &domains.pairs)?;
    let models = source_models(suite, &domains.pairs)?;
    Ok(Prepared {
        pairs: domains.pairs,
        vias,
        extra_tasks,
        metrics,
        models,
        files: domains.files,
        base: domains.base,
        classes: domains.classes,
    })
}

/// Executes the given runs in parallel on prepared data, calling `on_row` as each finishes
/// (in completion order, from the worker threads); returns the rows in the order of
/// `runs`. The first error stops the sweep; rows already handed to `on_row` stay wherever
/// it put them.
pub fn execute_prepared(
    suite: &Suite,
    prepared: &Prepared,
    runs: &[&Run<'_>],
    bar: &ProgressBar,
    on_row: &(dyn Fn(&Row) -> Result<()> + Sync),
) -> Result<Vec<Row>> {
    let p = prepared;
    runs.par_iter()
        .map(|run| {
            tracing::debug!(run = %run.label(), "start");
            let row = execute(
                suite,
                run,
                &p.pairs,
                &p.vias,
                &p.extra_tasks,
                &p.metrics,
                &p.models,
            )?;
            on_row(&row)?;
            tracing::debug!(run = %run.label(), accuracy = row.accuracy, "done");
            bar.inc(1);
            Ok(row)
        })
        .collect()
}

/// [`prepare`] then [`execute_prepared`].
pub fn execute_runs(
    suite: &Suite,
    runs: &[&Run<'_>],
    data_dir: Option<&Path>,
    bar: &ProgressBar,
    on_row: &(dyn Fn(&Row) -> Result<()> + Sync),
) -> Result<Vec<Row>> {
    let prepared = prepare(suite, runs, data_dir)?;
    execute_prepared(suite, &prepared, runs, bar, on_row)
}

/// Runs every run of the suite in parallel, in memory (no results folder); rows come back
/// in run order.
pub fn run_suite(suite: &Suite, data_dir: Option<&Path>, quiet: bool) -> Result<Vec<Row>> {
    let runs = expand(suite);
    let refs: Vec<&Run<'_>> = runs.iter().collect();
    let bar = progress_bar(&suite.name, runs.len(), 0, quiet);
    let rows = execute_runs(suite, &refs, data_dir, &bar, &|_| Ok(()));
    bar.finish_and_clear();
    rows
}
