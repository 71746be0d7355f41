//! Expands a suite into runs and executes them in parallel, one run per rayon thread
//! (on a few cores, whole runs in parallel is where the speed is).

use std::collections::HashMap;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use tlab_core::synthetic::{builtin_pair, BUILTIN_DATASETS};
use tlab_core::{make_task, registry, LabelBudget, LabeledDomain};

use crate::error::{Error, Result};
use crate::methods::run_method;
use crate::store::Row;
use crate::suite::{MethodEntry, Suite};

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

impl Run<'_> {
    pub fn label(&self) -> String {
        format!(
            "{}→{} {} k={} seed={}",
            self.source, self.target, self.method.id, self.budget, self.seed
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

/// Loads every pair's domains once (a benchmark's domains from the data directory).
fn load_pairs(suite: &Suite, data_dir: Option<&Path>) -> Result<Pairs> {
    let mut out = HashMap::new();
    if BUILTIN_DATASETS.contains(&suite.dataset.as_str()) {
        for (s, t) in suite.expand_pairs() {
            let (ds, dt) = builtin_pair(&suite.dataset, &s, &t, suite.data_seed)?;
            let pre = suite.preprocess.unwrap_or_default();
            let ds = ds.clone().with_features(pre.apply(ds.x().to_owned()))?;
            let dt = dt.clone().with_features(pre.apply(dt.x().to_owned()))?;
            out.insert((s, t), (ds, dt));
        }
        return Ok(out);
    }
    let bench = registry::benchmark(&suite.dataset)?;
    let dir = registry::resolve_data_dir(data_dir)?;
    let mut domains: HashMap<String, LabeledDomain> = HashMap::new();
    for (s, t) in suite.expand_pairs() {
        for d in [&s, &t] {
            if !domains.contains_key(d) {
                domains.insert(d.clone(), bench.load(&dir, d, suite.preprocess)?);
            }
        }
        out.insert(
            (s.clone(), t.clone()),
            (domains[&s].clone(), domains[&t].clone()),
        );
    }
    Ok(out)
}

fn execute(suite: &Suite, run: &Run<'_>, pairs: &Pairs) -> Result<Row> {
    let (s, t) = &pairs[&(run.source.clone(), run.target.clone())];
    let wrap = |e: tlab_core::CoreError| Error::Run {
        run: run.label(),
        source: e.into(),
    };
    let (task, evaluator) = make_task(
        s.clone(),
        t.clone(),
        LabelBudget::from_k(run.budget),
        run.seed,
    )
    .map_err(wrap)?;
    let m = run.method;
    let outcome = run_method(m, &task, &evaluator, run.seed).map_err(|e| Error::Run {
        run: run.label(),
        source: e,
    })?;
    let scores = evaluator.score(&outcome.predictions).map_err(wrap)?;
    Ok(Row {
        suite: suite.name.clone(),
        dataset: suite.dataset.clone(),
        source: run.source.clone(),
        target: run.target.clone(),
        method: m.id.clone(),
        method_kind: m.method.name().to_string(),
        learner: m.learner.short_name(),
        params: m.params_json(),
        seed: run.seed,
        budget: run.budget as u64,
        accuracy: scores.accuracy,
        macro_f1: scores.macro_f1,
        n_scored: scores.n_scored as u64,
        fit_seconds: outcome.fit_seconds,
        predict_seconds: outcome.predict_seconds,
    })
}

/// Runs every run of the suite in parallel; rows come back in run order.
pub fn run_suite(suite: &Suite, data_dir: Option<&Path>, quiet: bool) -> Result<Vec<Row>> {
    let pairs = load_pairs(suite, data_dir)?;
    let runs = expand(suite);
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(runs.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} runs, {elapsed} elapsed, ETA {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(suite.name.clone());
    let rows: Result<Vec<Row>> = runs
        .par_iter()
        .map(|run| {
            let row = execute(suite, run, &pairs);
            bar.inc(1);
            row
        })
        .collect();
    bar.finish_and_clear();
    rows
}
