//! Suites: TOML files naming a dataset, its source→target pairs, the methods with their
//! parameters, the seeds and the published numbers to print beside ours. Validated on
//! load: an unknown key or a bad value is an error that names it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tlab_core::registry;
use tlab_core::synthetic::BUILTIN_DATASETS;
use tlab_core::{Dataset, DatasetSpec, LearnerSpec, Preprocess};
use tlab_transductive::{AdapterSpec, LabellerSpec, ReweighterSpec};
use tlab_unsupervised::{ClusterSpec, DetectorSpec, RepresentationSpec};

use crate::error::{Error, Result};
use crate::methods::MethodKind;

/// A suite as written in its TOML file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// A registered benchmark (`office-caltech-surf`, …), a built-in dataset (`synthetic`,
    /// `digits`), a dataset file (`"data/office31.toml"`, relative to the suite), or an
    /// inline `[dataset]` table with one `[[dataset.domains]]` entry per domain.
    #[serde(deserialize_with = "de_dataset")]
    pub dataset: DatasetRef,
    /// Written by `tlab run` into the copy beside the results: the dataset as it was read
    /// (absolute paths, every file's sha1, the class set). When present it is the dataset.
    pub resolved_dataset: Option<DatasetSpec>,
    /// What `dataset` resolved to.
    #[serde(skip)]
    pub data: DataSource,
    /// Overrides the benchmark's preprocessing protocol.
    pub preprocess: Option<Preprocess>,
    /// Seed of the built-in generators (the same for every run seed).
    #[serde(default)]
    pub data_seed: u64,
    /// `[[source, target], …]` in table order; or omit and give `domains` for all ordered pairs.
    #[serde(default, deserialize_with = "de_pairs")]
    pub pairs: Vec<[String; 2]>,
    /// With no `pairs`: every ordered pair of these domains (default: all of the benchmark's).
    #[serde(default, deserialize_with = "de_domains")]
    pub domains: Vec<String>,
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    /// Similarity metrics to record in every row, computed once per pair on the
    /// preprocessed features (`tlab list` names them).
    #[serde(default)]
    pub metrics: Vec<String>,
    pub methods: Vec<MethodEntry>,
    /// What the runs do with the target: classify it (default), cluster it, or score its
    /// rows for anomalies. Clustering and anomaly suites hand no label to any method.
    #[serde(default)]
    pub task: Task,
    /// Anomaly suites: which class is the anomaly and at what rates (see [`AnomalyConfig`]).
    pub anomaly: Option<AnomalyConfig>,
    /// The score tables, reports and plots show: `accuracy` (classification default),
    /// `nmi` (clustering default), `ari`, `auroc` (anomaly default) or `ap`.
    pub score: Option<String>,
    /// The method id the report measures gains against: clustering and anomaly suites'
    /// no-transfer baseline (raw features, a detector fitted on the target); in a
    /// classification suite, the from-scratch reference in place of the target-only
    /// method (e.g. the same network trained on the target labels alone).
    pub reference: Option<String>,
    /// Published numbers: method id → pair (`source->target`) → accuracy (%).
    #[serde(default)]
    pub published: BTreeMap<String, Published>,
    /// The suite's own text, copied beside its results so `tlab table`, `report` and `merge`
    /// read exactly the suite that produced them.
    #[serde(skip)]
    pub text: String,
}

/// `pairs`, written: an empty list would silently mean "every pair", so it is refused.
fn de_pairs<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<[String; 2]>, D::Error> {
    let v: Vec<[String; 2]> = Vec::deserialize(d)?;
    if v.is_empty() {
        return Err(serde::de::Error::custom(
            "`pairs = []` names no pair: list `[source, target]` pairs, or leave `pairs` out to run every ordered pair of `domains`",
        ));
    }
    Ok(v)
}

/// `domains`, written: at least two.
fn de_domains<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<String>, D::Error> {
    let v: Vec<String> = Vec::deserialize(d)?;
    if v.len() < 2 {
        return Err(serde::de::Error::custom(
            "`domains` needs at least two domains (every ordered pair of them is run); leave it out for all of the dataset's",
        ));
    }
    Ok(v)
}

/// What a suite's `dataset` key says.
#[derive(Debug, Clone, PartialEq)]
pub enum DatasetRef {
    /// A benchmark, a built-in dataset, or a dataset file ending in `.toml`.
    Name(String),
    Inline(DatasetSpec),
}

impl Default for DatasetRef {
    fn default() -> Self {
        DatasetRef::Name(String::new())
    }
}

fn de_dataset<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<DatasetRef, D::Error> {
    use serde::de::Error as _;
    match toml::Value::deserialize(d)? {
        toml::Value::String(s) => Ok(DatasetRef::Name(s)),
        v @ toml::Value::Table(_) => DatasetSpec::deserialize(v)
            .map(DatasetRef::Inline)
            .map_err(|e| D::Error::custom(format!("`[dataset]`: {e}"))),
        other => Err(D::Error::custom(format!(
            "`dataset` = {other}: a benchmark or built-in name, a dataset file (\"….toml\"), or a `[dataset]` table"
        ))),
    }
}

/// Where a suite's domains come from.
#[derive(Debug, Clone, Default)]
pub enum DataSource {
    /// `synthetic` or `digits`, generated in the build.
    Builtin(String),
    /// A registered benchmark, its files under the data directory.
    Registered(tlab_core::registry::Benchmark),
    /// A user's description, its paths resolved.
    Described(Dataset),
    #[default]
    Unresolved,
}

impl DataSource {
    /// The dataset (a registered one's files under `data_dir`); `None` for built-in data.
    pub fn dataset(&self, data_dir: Option<&Path>) -> crate::Result<Option<Dataset>> {
        Ok(match self {
            DataSource::Builtin(_) | DataSource::Unresolved => None,
            DataSource::Registered(b) => {
                Some(b.dataset(&tlab_core::registry::resolve_data_dir(data_dir)?))
            }
            DataSource::Described(d) => Some(d.clone()),
        })
    }

    /// The description, if the data is described (registered or the user's).
    pub fn spec(&self) -> Option<&DatasetSpec> {
        match self {
            DataSource::Registered(b) => Some(&b.spec),
            DataSource::Described(d) => Some(&d.spec),
            _ => None,
        }
    }
}

/// The most runs (and grid entries) a suite may expand to: 1,000,000 unless `TLAB_MAX_RUNS`
/// says otherwise. A small file must not be able to ask for unbounded work.
pub fn max_runs() -> usize {
    std::env::var("TLAB_MAX_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// The line that starts the block `tlab run` appends to the suite copy beside its results.
pub const RESOLVED_MARKER: &str =
    "# ---- written by tlab run: the data these rows were computed from ----";

/// The suite text without a block a previous `tlab run` appended.
pub fn strip_resolved(text: &str) -> &str {
    match text.find(RESOLVED_MARKER) {
        Some(i) => text[..i].trim_end_matches('\n'),
        None => text,
    }
}

fn default_seeds() -> Vec<u64> {
    vec![0]
}

/// What a suite's runs do with the target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    #[default]
    Classification,
    Clustering,
    Anomaly,
}

impl Task {
    pub fn name(&self) -> &'static str {
        match self {
            Task::Classification => "classification",
            Task::Clustering => "clustering",
            Task::Anomaly => "anomaly",
        }
    }

    /// The scores a row of this task records, the first being the default.
    pub fn scores(&self) -> &'static [&'static str] {
        match self {
            Task::Classification => &["accuracy", "macro-f1"],
            Task::Clustering => &["nmi", "ari", "accuracy", "macro-f1"],
            Task::Anomaly => &["auroc", "ap", "accuracy", "macro-f1"],
        }
    }
}

/// How an anomaly suite cuts its tasks: the anomaly class (default: seed mod the number
/// of classes, so seeds hold out different classes), the anomaly rate in the target
/// (default: as the data have it) and in the source's normal training data (default 0).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnomalyConfig {
    pub class: Option<usize>,
    pub target_rate: Option<f64>,
    #[serde(default)]
    pub contamination: f64,
}

/// Which rows fit a representation: the source (self-taught learning), the target, or both
/// (as mSDA does for domain adaptation). Features only — never a label.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FitOn {
    #[default]
    Source,
    Target,
    Both,
}

/// One column of the table: a method with its parameters and label budgets.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodEntry {
    /// Column name in tables; unique in the suite.
    pub id: String,
    pub method: MethodKind,
    /// The classifier (classification suites).
    pub learner: Option<LearnerSpec>,
    /// A representation learned without labels, applied to both domains before the method
    /// (source-only, target-only, source-and-target, oracle, cluster, detect).
    pub representation: Option<RepresentationSpec>,
    /// Which unlabelled rows fit `representation` (default: the source).
    #[serde(default)]
    pub fit_on: FitOn,
    /// `cluster` only: the clustering algorithm (k = the target's class count).
    pub cluster: Option<ClusterSpec>,
    /// `detect` only: the anomaly detector.
    pub detector: Option<DetectorSpec>,
    /// `transitive` only: the intermediate domains, in order, that bridge source and
    /// target (their labels are never read).
    #[serde(default)]
    pub via: Vec<String>,
    /// `transitive` only: with a metric name, `via` lists candidates and the chain is the
    /// path source → … → target through them whose largest step (by that metric, on
    /// features only) is smallest; without, `via` is the chain, in order.
    pub via_metric: Option<String>,
    /// `inductive` with `strategy = { kind = "multi-task" }` only: more labelled domains of
    /// the dataset, each trained jointly as one more task with its own head (the pair's
    /// source and target are skipped when listed, so one list serves every pair: the four
    /// Amazon domains as four jointly learned tasks).
    #[serde(default)]
    pub extra_tasks: Vec<String>,
    /// `adapt` only: the domain adapter and its parameters.
    pub adapter: Option<AdapterSpec>,
    /// `reweight` only: the source-sample reweighter and its parameters.
    pub reweighter: Option<ReweighterSpec>,
    /// `label` only: the transductive method that labels the target itself.
    pub labeller: Option<LabellerSpec>,
    /// `inductive` only: how the source-pretrained network is reused.
    pub strategy: Option<tlab_inductive::StrategySpec>,
    /// `inductive` only: the network and its training (defaults: one hidden layer of 256).
    pub network: Option<tlab_inductive::NetworkSpec>,
    /// Target labels per class: 0 is the unsupervised setting, `"all"` every target label
    /// but a stratified fifth held out to score (stored as [`tlab_core::ALL_LABELS`]).
    #[serde(default = "default_budgets", deserialize_with = "de_budgets")]
    pub budgets: Vec<usize>,
    /// Oracle only: folds of the in-domain cross-validation.
    #[serde(default = "default_folds")]
    pub folds: usize,
}

impl MethodEntry {
    /// The learner; a classification method without one fails validation before any run.
    pub fn learner(&self) -> &LearnerSpec {
        self.learner
            .as_ref()
            .expect("validated: classification methods have a learner")
    }

    /// What names the row's model: the learner, or the clustering algorithm or detector,
    /// after the representation if any (e.g. `msda(5,p=0.5) → logistic`).
    pub fn model_name(&self) -> String {
        let base = match (&self.cluster, &self.detector, &self.learner, &self.labeller) {
            (Some(c), _, _, _) => c.short_name(),
            (_, Some(d), _, _) => d.short_name(),
            (_, _, Some(l), _) => l.short_name(),
            (_, _, _, Some(l)) => l.short_name(),
            _ => match &self.strategy {
                Some(s) => format!("mlp {}", s.kind()),
                None => String::new(),
            },
        };
        match &self.representation {
            Some(r) => format!("{} → {base}", r.short_name()),
            None => base,
        }
    }

    /// The budgets as they read in tables: numbers of labels per class, or `all`.
    pub fn budget_labels(&self) -> Vec<String> {
        self.budgets
            .iter()
            .map(|&k| tlab_core::budget_label(k as u64))
            .collect()
    }

    /// The learner's (and adapter's) parameters as JSON, for result rows and tables.
    pub fn params_json(&self) -> String {
        let mut v = serde_json::json!({});
        if let Some(l) = &self.learner {
            v["learner"] = serde_json::to_value(l).expect("serialisable");
        }
        if let Some(r) = &self.representation {
            v["representation"] = serde_json::to_value(r).expect("serialisable");
            v["fit_on"] = serde_json::to_value(self.fit_on).expect("serialisable");
        }
        if let Some(c) = &self.cluster {
            v["cluster"] = serde_json::to_value(c).expect("serialisable");
        }
        if let Some(d) = &self.detector {
            v["detector"] = serde_json::to_value(d).expect("serialisable");
        }
        if !self.via.is_empty() {
            v["via"] = serde_json::to_value(&self.via).expect("serialisable");
        }
        if let Some(m) = &self.via_metric {
            v["via_metric"] = serde_json::to_value(m).expect("serialisable");
        }
        if !self.extra_tasks.is_empty() {
            v["extra_tasks"] = serde_json::to_value(&self.extra_tasks).expect("serialisable");
        }
        if let Some(a) = &self.adapter {
            v["adapter"] = serde_json::to_value(a).expect("serialisable");
        }
        if let Some(r) = &self.reweighter {
            v["reweighter"] = serde_json::to_value(r).expect("serialisable");
        }
        if let Some(l) = &self.labeller {
            v["labeller"] = serde_json::to_value(l).expect("serialisable");
        }
        if let Some(s) = &self.strategy {
            v["strategy"] = serde_json::to_value(s).expect("serialisable");
            v["network"] = serde_json::to_value(self.network.clone().unwrap_or_default())
                .expect("serialisable");
        }
        v.to_string()
    }
}

fn default_budgets() -> Vec<usize> {
    vec![0]
}

/// `budgets = [1, 5, "all"]`: numbers of labels per class, or `"all"`.
fn de_budgets<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<usize>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum One {
        K(usize),
        Word(String),
    }
    let raw: Vec<One> = Vec::deserialize(d)?;
    raw.into_iter()
        .map(|b| match b {
            One::K(k) if k == tlab_core::ALL_LABELS => Err(serde::de::Error::custom(format!(
                "budget {k} is the code for \"all\"; write \"all\""
            ))),
            One::K(k) => Ok(k),
            One::Word(w) if w == "all" => Ok(tlab_core::ALL_LABELS),
            One::Word(w) => Err(serde::de::Error::custom(format!(
                "budget {w:?}: a number of labels per class or \"all\""
            ))),
        })
        .collect()
}
fn default_folds() -> usize {
    5
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Published {
    pub citation: String,
    pub values: BTreeMap<String, f64>,
}

impl Suite {
    /// Reads and validates a suite file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        Self::parse_in(&text, &path.display().to_string(), dir)
    }

    /// Parses and validates suite text; `origin` names it in errors; a dataset file or
    /// inline paths are relative to the current directory.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        Self::parse_in(text, origin, Path::new("."))
    }

    /// Parses and validates suite text whose relative paths start at `dir`.
    pub fn parse_in(text: &str, origin: &str, dir: &Path) -> Result<Self> {
        let err = |detail: String| Error::Suite {
            origin: origin.to_string(),
            detail,
        };
        // Without a `grid`, straight from the text (errors then carry line and column).
        let mut suite: Suite = if text.contains("grid") {
            let mut value: toml::Value = toml::from_str(text).map_err(|e| err(e.to_string()))?;
            expand_grids(&mut value).map_err(err)?;
            value
                .try_into()
                .map_err(|e: toml::de::Error| err(e.to_string()))?
        } else {
            toml::from_str(text).map_err(|e| err(e.to_string()))?
        };
        suite.text = text.to_string();
        suite.data = suite.resolve_data(dir).map_err(err)?;
        suite.validate().map_err(|detail| Error::Suite {
            origin: origin.to_string(),
            detail,
        })?;
        Ok(suite)
    }

    fn is_builtin(&self) -> bool {
        matches!(self.data, DataSource::Builtin(_))
    }

    /// What `dataset` names, resolved against `dir` (a dataset file's own paths are
    /// relative to that file, inline ones to the suite).
    fn resolve_data(&self, dir: &Path) -> std::result::Result<DataSource, String> {
        if let Some(spec) = &self.resolved_dataset {
            // A registered benchmark's block keeps paths relative to the data directory
            // (its pins already fix the bytes); a user's has absolute paths.
            if let DatasetRef::Name(n) = &self.dataset {
                if let Ok(b) = registry::benchmark(n) {
                    return Ok(DataSource::Registered(b));
                }
            }
            return Ok(DataSource::Described(Dataset {
                spec: spec.clone(),
                base: PathBuf::from("/"),
            }));
        }
        // A suite named by a bare file name has the empty path as its directory, which
        // `std::path::absolute` refuses: that is the current directory.
        let absolute = |p: &Path| {
            let p = if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            };
            std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
        };
        match &self.dataset {
            DatasetRef::Inline(spec) => {
                spec.validate().map_err(|e| format!("`[dataset]`: {e}"))?;
                Ok(DataSource::Described(Dataset {
                    spec: spec.clone(),
                    base: absolute(dir),
                }))
            }
            DatasetRef::Name(n) if BUILTIN_DATASETS.contains(&n.as_str()) => {
                Ok(DataSource::Builtin(n.clone()))
            }
            DatasetRef::Name(n) if n.ends_with(".toml") => {
                let path = absolute(&dir.join(n));
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    format!("`dataset` = {n:?}: cannot read {}: {e}", path.display())
                })?;
                let mut spec = DatasetSpec::parse(&text, &path.display().to_string())
                    .map_err(|e| e.to_string())?;
                if spec.name.is_none() {
                    spec.name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
                }
                Ok(DataSource::Described(Dataset {
                    spec,
                    base: path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf),
                }))
            }
            DatasetRef::Name(n) => registry::benchmark(n)
                .map(DataSource::Registered)
                .map_err(|_| {
                    let mut known: Vec<&str> = registry::benchmark_names();
                    known.extend(BUILTIN_DATASETS);
                    format!(
                        "`dataset` = {n:?}: unknown; allowed: {}, a dataset file (\"data/mine.toml\"), or an inline `[dataset]` table (see README, \"Your own data\")",
                        known.join(", ")
                    )
                }),
        }
    }

    /// The dataset's name as rows and tables show it.
    pub fn dataset_name(&self) -> String {
        match &self.data {
            DataSource::Builtin(n) => n.clone(),
            DataSource::Registered(b) => b.name.to_string(),
            _ => self
                .data
                .spec()
                .and_then(|s| s.name.clone())
                .unwrap_or_else(|| self.name.clone()),
        }
    }

    /// The domain names of a described dataset (`None` for built-in data).
    fn domain_names(&self) -> Option<Vec<String>> {
        self.data.spec().map(|s| s.domain_names())
    }

    fn check_domain(&self, d: &str) -> std::result::Result<(), String> {
        match self.domain_names() {
            Some(names) if !names.iter().any(|n| n == d) => Err(format!(
                "unknown domain `{d}` of dataset {}; known: {}",
                self.dataset_name(),
                names.join(", ")
            )),
            _ => Ok(()),
        }
    }

    fn validate(&self) -> std::result::Result<(), String> {
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "`name` = {:?}: use letters, digits, `-` and `_` (it names the results folder)",
                self.name
            ));
        }
        if !self.is_builtin() {
            for d in self.pairs.iter().flatten().chain(&self.domains) {
                self.check_domain(d)
                    .map_err(|e| format!("`pairs`/`domains`: {e}"))?;
            }
        } else if self.pairs.is_empty() && self.domains.len() < 2 {
            return Err("a built-in dataset needs `pairs`, or at least two `domains`".into());
        }
        self.validate_pairs()?;
        for m in &self.metrics {
            let all = || {
                tlab_similarity::METRICS
                    .iter()
                    .chain(tlab_similarity::TRANSFERABILITY)
            };
            if !all().any(|(n, _)| n == m) {
                let known: Vec<&str> = all().map(|(n, _)| *n).collect();
                return Err(format!(
                    "`metrics`: unknown metric {m:?}; allowed: {}",
                    known.join(", ")
                ));
            }
        }
        if self.seeds.is_empty() {
            return Err("`seeds` is empty: give at least one seed".into());
        }
        if self.methods.is_empty() {
            return Err("`methods` is empty: give at least one [[methods]] entry".into());
        }
        let mut ids = std::collections::HashSet::new();
        for m in &self.methods {
            if !ids.insert(m.id.as_str()) {
                return Err(format!("method id {:?} appears twice", m.id));
            }
            self.validate_task(m)?;
            if m.budgets.is_empty() {
                return Err(format!("method {:?}: `budgets` is empty", m.id));
            }
            if m.method.needs_target_labels() && m.budgets.contains(&0) {
                return Err(format!(
                    "method {:?}: `{}` needs target labels; budgets must be ≥ 1 per class",
                    m.id,
                    m.method.name()
                ));
            }
            match (&m.adapter, m.method) {
                (None, MethodKind::Adapt) => {
                    return Err(format!(
                        "method {:?}: `adapt` needs `adapter = {{ kind = ... }}`",
                        m.id
                    ))
                }
                (Some(a), MethodKind::Adapt) => {
                    a.build().map_err(|e| format!("method {:?}: {e}", m.id))?;
                }
                (Some(_), other) => {
                    return Err(format!(
                        "method {:?}: `adapter` is only for `adapt`, not `{}`",
                        m.id,
                        other.name()
                    ))
                }
                (None, _) => {}
            }
            match (&m.reweighter, m.method) {
                (None, MethodKind::Reweight) => {
                    return Err(format!(
                        "method {:?}: `reweight` needs `reweighter = {{ kind = ... }}`",
                        m.id
                    ))
                }
                (Some(r), MethodKind::Reweight) => {
                    r.check().map_err(|e| format!("method {:?}: {e}", m.id))?;
                    if !crate::methods::uses_weights(m.learner()) {
                        return Err(format!(
                            "method {:?}: 1-NN ignores sample weights, so the `{}` weights would be silently dropped; \
                             use knn with k > 1, logistic or linear-svm",
                            m.id,
                            r.kind()
                        ));
                    }
                }
                (Some(_), other) => {
                    return Err(format!(
                        "method {:?}: `reweighter` is only for `reweight`, not `{}`",
                        m.id,
                        other.name()
                    ))
                }
                (None, _) => {}
            }
            if m.method == MethodKind::Oracle && m.folds < 2 {
                return Err(format!(
                    "method {:?}: `folds` = {} must be ≥ 2",
                    m.id, m.folds
                ));
            }
        }
        self.validate_suite_task()?;
        for (id, p) in &self.published {
            if !ids.contains(id.as_str()) {
                return Err(format!("`published.{id}`: no method has id {id:?}"));
            }
            let pairs: Vec<String> = self
                .expand_pairs()
                .iter()
                .map(|(s, t)| pair_key(s, t))
                .collect();
            if let Some(k) = p.values.keys().find(|k| !pairs.contains(k)) {
                return Err(format!(
                    "`published.{id}.values`: {k:?} is not a pair of this suite (pairs: {})",
                    pairs.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// The score tables, reports and plots show for this suite.
    pub fn score_name(&self) -> &str {
        self.score.as_deref().unwrap_or(self.task.scores()[0])
    }

    /// A row's value of [`Suite::score_name`] (NaN where the row lacks it).
    pub fn score_of(&self, r: &crate::store::Row) -> f64 {
        match self.score_name() {
            "accuracy" => r.accuracy,
            "macro-f1" => r.macro_f1,
            other => r.scores.get(other).copied().unwrap_or(f64::NAN),
        }
    }

    /// The score's label in captions and axes, e.g. `accuracy (%)` or `NMI (%)`.
    pub fn score_label(&self) -> String {
        let n = self.score_name();
        let shown = match n {
            "accuracy" | "macro-f1" => n.to_string(),
            other => other.to_uppercase(),
        };
        format!("{shown} (%)")
    }

    /// Checks a method against the suite's task: which fields it needs and which it must
    /// not have, and that unsupervised tasks ask for no label.
    fn validate_task(&self, m: &MethodEntry) -> std::result::Result<(), String> {
        let id = &m.id;
        if (m.strategy.is_some() || m.network.is_some()) && m.method != MethodKind::Inductive {
            return Err(format!(
                "method {id:?}: `strategy`/`network` are only for `inductive`, not `{}`",
                m.method.name()
            ));
        }
        if m.labeller.is_some() && m.method != MethodKind::Label {
            return Err(format!(
                "method {id:?}: `labeller` is only for `label`, not `{}`",
                m.method.name()
            ));
        }
        let allowed: &[MethodKind] = match self.task {
            Task::Classification => &[
                MethodKind::SourceOnly,
                MethodKind::TargetOnly,
                MethodKind::SourceAndTarget,
                MethodKind::Oracle,
                MethodKind::Adapt,
                MethodKind::Reweight,
                MethodKind::Transitive,
                MethodKind::Label,
                MethodKind::Inductive,
            ],
            Task::Clustering => &[MethodKind::Cluster],
            Task::Anomaly => &[MethodKind::Detect],
        };
        if !allowed.contains(&m.method) {
            let names: Vec<&str> = allowed.iter().map(|k| k.name()).collect();
            return Err(format!(
                "method {id:?}: `{}` is not a {} method; allowed: {}",
                m.method.name(),
                self.task.name(),
                names.join(", ")
            ));
        }
        match self.task {
            Task::Classification if m.method == MethodKind::Inductive => {
                if m.learner.is_some() || m.representation.is_some() {
                    return Err(format!(
                        "method {id:?}: `inductive` trains its own network; it takes no `learner` or `representation`"
                    ));
                }
                let s = m.strategy.as_ref().ok_or_else(|| {
                    format!("method {id:?}: `inductive` needs `strategy = {{ kind = ... }}`")
                })?;
                s.check().map_err(|e| format!("method {id:?}: {e}"))?;
                m.network
                    .clone()
                    .unwrap_or_default()
                    .check()
                    .map_err(|e| format!("method {id:?}: {e}"))?;
            }
            Task::Classification if m.method == MethodKind::Label => {
                if m.learner.is_some() || m.representation.is_some() {
                    return Err(format!(
                        "method {id:?}: `label` labels the target itself; it takes no `learner` or `representation`"
                    ));
                }
                match &m.labeller {
                    None => {
                        return Err(format!(
                            "method {id:?}: `label` needs `labeller = {{ kind = ... }}`"
                        ))
                    }
                    Some(l) => l.check().map_err(|e| format!("method {id:?}: {e}"))?,
                }
                if m.budgets.iter().any(|&k| k != 0) {
                    return Err(format!(
                        "method {id:?}: `label` is an unsupervised-setting method; `budgets` must be [0]"
                    ));
                }
            }
            Task::Classification => {
                let l = m
                    .learner
                    .as_ref()
                    .ok_or_else(|| format!("method {id:?}: needs `learner = {{ kind = ... }}`"))?;
                l.build(0).map_err(|e| format!("method {id:?}: {e}"))?;
                if m.cluster.is_some() || m.detector.is_some() {
                    return Err(format!(
                        "method {id:?}: `cluster`/`detector` belong to clustering/anomaly suites (`task`)"
                    ));
                }
                if m.representation.is_some()
                    && matches!(m.method, MethodKind::Adapt | MethodKind::Reweight)
                {
                    return Err(format!(
                        "method {id:?}: `representation` goes with source-only, target-only, \
                         source-and-target or oracle, not `{}`",
                        m.method.name()
                    ));
                }
            }
            Task::Clustering | Task::Anomaly => {
                if m.learner.is_some() {
                    return Err(format!(
                        "method {id:?}: a {} method takes no `learner`",
                        self.task.name()
                    ));
                }
                if m.budgets.iter().any(|&k| k != 0) {
                    return Err(format!(
                        "method {id:?}: {} uses no target label; `budgets` must be [0]",
                        self.task.name()
                    ));
                }
                match (self.task, &m.cluster, &m.detector) {
                    (Task::Clustering, Some(c), None) => {
                        c.validate().map_err(|e| format!("method {id:?}: {e}"))?
                    }
                    (Task::Anomaly, None, Some(d)) => {
                        d.validate().map_err(|e| format!("method {id:?}: {e}"))?
                    }
                    _ => {
                        return Err(format!(
                            "method {id:?}: a {} method needs `{}` (and not the other)",
                            self.task.name(),
                            if self.task == Task::Clustering {
                                "cluster = { algorithm = ... }"
                            } else {
                                "detector = { kind = ... }"
                            }
                        ))
                    }
                }
            }
        }
        if let Some(r) = &m.representation {
            r.validate().map_err(|e| format!("method {id:?}: {e}"))?;
        }
        if let Some(metric) = &m.via_metric {
            if m.method != MethodKind::Transitive {
                return Err(format!(
                    "method {id:?}: `via_metric` is only for `transitive`"
                ));
            }
            if !tlab_similarity::METRICS.iter().any(|(n, _)| n == metric) {
                let known: Vec<&str> = tlab_similarity::METRICS.iter().map(|(n, _)| *n).collect();
                return Err(format!(
                    "method {id:?}: `via_metric` = {metric:?}: allowed: {}",
                    known.join(", ")
                ));
            }
        }
        if !m.extra_tasks.is_empty() {
            if !matches!(
                m.strategy,
                Some(tlab_inductive::StrategySpec::MultiTask { .. })
            ) {
                return Err(format!(
                    "method {id:?}: `extra_tasks` is only for `inductive` with `strategy = {{ kind = \"multi-task\" }}`"
                ));
            }
            for d in &m.extra_tasks {
                self.check_domain(d)
                    .map_err(|e| format!("method {id:?}: `extra_tasks`: {e}"))?;
            }
        }
        match (m.method, m.via.is_empty()) {
            (MethodKind::Transitive, true) => {
                return Err(format!(
                    "method {id:?}: `transitive` needs `via = [\"domain\", ...]`, the intermediate domains"
                ))
            }
            (MethodKind::Transitive, false) => {
                for d in &m.via {
                    self.check_domain(d)
                        .map_err(|e| format!("method {id:?}: `via`: {e}"))?;
                }
            }
            (other, false) => {
                return Err(format!(
                    "method {id:?}: `via` is only for `transitive`, not `{}`",
                    other.name()
                ))
            }
            _ => {}
        }
        Ok(())
    }

    /// Pairs that can mean what they say: a source different from its target, no pair or
    /// domain twice, and a number of runs within [`max_runs`].
    fn validate_pairs(&self) -> std::result::Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for [s, t] in &self.pairs {
            // Built-in data draws a pair's source and target separately (other seeds,
            // disjoint halves of the digits): there `[x, x]` is the no-shift control.
            if s == t && !self.is_builtin() {
                return Err(format!(
                    "`pairs`: [{s:?}, {t:?}] trains and scores on the same domain, which is not a transfer result; for an in-domain reference add `method = \"oracle\"` (cross-validation on the target) to a real pair"
                ));
            }
            if !seen.insert((s, t)) {
                return Err(format!("`pairs`: [{s:?}, {t:?}] appears twice"));
            }
        }
        let mut names = std::collections::HashSet::new();
        for d in &self.domains {
            if !names.insert(d) {
                return Err(format!("`domains`: {d:?} appears twice"));
            }
        }
        let per_pair = self
            .methods
            .iter()
            .try_fold(0usize, |a, m| a.checked_add(m.budgets.len()))
            .and_then(|c| c.checked_mul(self.seeds.len()));
        let pairs = self.expand_pairs().len();
        match per_pair.and_then(|r| r.checked_mul(pairs)) {
            Some(n) if n <= max_runs() => Ok(()),
            _ => Err(format!(
                "the suite expands to more than {} runs ({pairs} pairs × methods × budgets × seeds); split it, or raise the bound with TLAB_MAX_RUNS",
                max_runs()
            )),
        }
    }

    fn validate_suite_task(&self) -> std::result::Result<(), String> {
        if !self.task.scores().contains(&self.score_name()) {
            return Err(format!(
                "`score` = {:?}: a {} suite records {}",
                self.score_name(),
                self.task.name(),
                self.task.scores().join(", ")
            ));
        }
        match (self.task, &self.anomaly) {
            (Task::Anomaly, None) => {
                return Err(
                    "an anomaly suite needs `anomaly = { ... }` (it may be empty: `{}`)".into(),
                )
            }
            (Task::Anomaly, Some(_)) => {}
            (_, Some(_)) => return Err("`anomaly` is only for `task = \"anomaly\"`".into()),
            _ => {}
        }
        if let Some(r) = &self.reference {
            if !self.methods.iter().any(|m| &m.id == r) {
                return Err(format!("`reference` = {r:?}: no method has that id"));
            }
        }
        Ok(())
    }

    /// The suite's source→target pairs, in table order.
    pub fn expand_pairs(&self) -> Vec<(String, String)> {
        if !self.pairs.is_empty() {
            return self
                .pairs
                .iter()
                .map(|[s, t]| (s.clone(), t.clone()))
                .collect();
        }
        let domains: Vec<String> = if self.domains.is_empty() {
            self.domain_names().unwrap_or_default()
        } else {
            self.domains.clone()
        };
        let mut out = Vec::new();
        for s in &domains {
            for t in &domains {
                if s != t {
                    out.push((s.clone(), t.clone()));
                }
            }
        }
        out
    }

    /// Short pair label for tables (`C→A` for benchmarks with letters, else the names).
    pub fn pair_label(&self, source: &str, target: &str) -> String {
        let short = |d: &str| {
            self.data
                .spec()
                .and_then(|s| s.domains.iter().find(|x| x.name == d))
                .and_then(|x| x.short.clone())
                .unwrap_or_else(|| d.to_string())
        };
        format!("{}→{}", short(source), short(target))
    }
}

/// Expands every `[[methods]]` entry that has `grid = { "learner.c" = [..], "adapter.dim" = [..] }`
/// into one entry per combination (keys in sorted order, the last key varying fastest), with
/// the id `id[c=…,dim=…]`.
fn expand_grids(value: &mut toml::Value) -> std::result::Result<(), String> {
    let Some(methods) = value.get_mut("methods").and_then(|m| m.as_array_mut()) else {
        return Ok(());
    };
    let mut out = Vec::new();
    let mut total = 0usize;
    for m in methods.drain(..) {
        let Some(table) = m.as_table() else {
            out.push(m);
            continue;
        };
        let Some(grid) = table.get("grid") else {
            out.push(m);
            continue;
        };
        let id = table
            .get("id")
            .and_then(|v| v.as_str())
            .unwrap_or("?")
            .to_string();
        let grid = grid.as_table().ok_or_else(|| {
            format!("method {id:?}: `grid` must be a table of `\"path\" = [values]`")
        })?;
        let mut axes: Vec<(Vec<String>, Vec<toml::Value>)> = Vec::new();
        for (key, values) in grid {
            let values = values.as_array().filter(|v| !v.is_empty()).ok_or_else(|| {
                format!("method {id:?}: `grid.{key}` must be a non-empty list of values")
            })?;
            let path: Vec<String> = key.split('.').map(str::to_string).collect();
            if !matches!(
                path[0].as_str(),
                "learner"
                    | "adapter"
                    | "reweighter"
                    | "labeller"
                    | "strategy"
                    | "network"
                    | "representation"
                    | "cluster"
                    | "detector"
            ) || path.len() != 2
            {
                return Err(format!(
                    "method {id:?}: `grid` key {key:?} must be `learner.<param>`, `adapter.<param>`, `reweighter.<param>`, `labeller.<param>`, `representation.<param>`, `cluster.<param>` or `detector.<param>`"
                ));
            }
            axes.push((path, values.clone()));
        }
        let combos = axes
            .iter()
            .try_fold(1usize, |a, (_, v)| a.checked_mul(v.len()))
            .filter(|&n| {
                total = total.saturating_add(n);
                total <= max_runs()
            })
            .ok_or_else(|| {
                format!(
                    "method {id:?}: `grid` expands to more than {} entries (the product of its list lengths); split it into smaller grids, or raise the bound with TLAB_MAX_RUNS",
                    max_runs()
                )
            })?;
        for c in 0..combos {
            let mut entry = table.clone();
            entry.remove("grid");
            let mut rest = c;
            let mut picks = vec![0; axes.len()];
            for (a, (_, v)) in axes.iter().enumerate().rev() {
                picks[a] = rest % v.len();
                rest /= v.len();
            }
            let mut tag = Vec::new();
            for (a, (path, v)) in axes.iter().enumerate() {
                let parent = entry
                    .get_mut(&path[0])
                    .and_then(|p| p.as_table_mut())
                    .ok_or_else(|| {
                        format!(
                            "method {id:?}: `grid` sets `{}` but the entry has no `{}` table",
                            path.join("."),
                            path[0]
                        )
                    })?;
                let val = v[picks[a]].clone();
                tag.push(format!("{}={}", path[1], val));
                parent.insert(path[1].clone(), val);
            }
            entry.insert(
                "id".into(),
                toml::Value::String(format!("{id}[{}]", tag.join(","))),
            );
            out.push(toml::Value::Table(entry));
        }
    }
    *methods = out;
    Ok(())
}

/// The key a suite's `published` table uses for a pair.
pub fn pair_key(source: &str, target: &str) -> String {
    format!("{source}->{target}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"
name = "t"
dataset = "synthetic"
pairs = [["blobs:shift=0", "blobs:shift=2"]]
[[methods]]
id = "nn"
method = "source-only"
learner = { kind = "knn", k = 1 }
"#;

    #[test]
    fn parses_and_rejects_with_the_bad_key_named() {
        let s = Suite::parse(OK, "ok").unwrap();
        assert_eq!(s.expand_pairs().len(), 1);
        let e = Suite::parse(&OK.replace("dataset", "datset"), "x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("datset"), "{e}");
        let e = Suite::parse(&OK.replace("source-only", "source-ony"), "x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("source-ony") && e.contains("target-only"), "{e}");
        let e = Suite::parse(&OK.replace("k = 1", "k = 0"), "x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`k`"), "{e}");
        let e = Suite::parse(&OK.replace("\"synthetic\"", "\"office\""), "x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("office-caltech-surf"), "{e}");
        let e = Suite::parse(&OK.replace("source-only", "target-only"), "x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs target labels"), "{e}");
        let e = Suite::parse(&OK.replace("kind = \"knn\"", "kind = \"forest\""), "x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("forest") && e.contains("linear-svm"), "{e}");
    }

    #[test]
    fn a_grid_expands_into_one_method_per_combination() {
        let text = OK.replace(
            "learner = { kind = \"knn\", k = 1 }",
            "learner = { kind = \"knn\", k = 1 }\ngrid = { \"learner.k\" = [1, 3], \"adapter.dim\" = [2] }",
        );
        // `adapter.dim` with no adapter table is named.
        let e = Suite::parse(&text, "g").unwrap_err().to_string();
        assert!(
            e.contains("adapter.dim") && e.contains("no `adapter`"),
            "{e}"
        );
        let text = OK
            .replace("method = \"source-only\"", "method = \"adapt\"\nadapter = { kind = \"sa\", dim = 1 }")
            .replace(
                "learner = { kind = \"knn\", k = 1 }",
                "learner = { kind = \"knn\", k = 1 }\ngrid = { \"learner.k\" = [1, 3], \"adapter.dim\" = [2, 4] }",
            );
        let s = Suite::parse(&text, "g").unwrap();
        let ids: Vec<&str> = s.methods.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "nn[dim=2,k=1]",
                "nn[dim=2,k=3]",
                "nn[dim=4,k=1]",
                "nn[dim=4,k=3]"
            ]
        );
        assert!(s.methods[3].params_json().contains("\"k\":3"));
        assert!(s.methods[3].params_json().contains("\"dim\":4"));
        let e = Suite::parse(&text.replace("\"learner.k\"", "\"k\""), "g")
            .unwrap_err()
            .to_string();
        assert!(e.contains("learner.<param>"), "{e}");
    }

    #[test]
    fn a_default_logistic_tol_leaves_the_stored_parameters_as_they_were() {
        // Rows stored before `tol` existed carry `{"c":1.0,"kind":"logistic","max_iter":500}`:
        // with the default tol the key is unchanged (a resume finds them); another tol is
        // another run, and a bad one is refused at parse time.
        let logistic = OK.replace("{ kind = \"knn\", k = 1 }", "{ kind = \"logistic\" }");
        let s = Suite::parse(&logistic, "t").unwrap();
        assert_eq!(
            s.methods[0].params_json(),
            r#"{"learner":{"c":1.0,"kind":"logistic","max_iter":500}}"#
        );
        let loose = logistic.replace("\"logistic\" }", "\"logistic\", tol = 1e-4 }");
        let s = Suite::parse(&loose, "t").unwrap();
        assert!(s.methods[0].params_json().contains("\"tol\":0.0001"));
        let e = Suite::parse(&loose.replace("1e-4", "0.0"), "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`tol`"), "{e}");
    }

    #[test]
    fn a_labeller_takes_no_learner_and_no_target_labels() {
        let label = OK.replace(
            "method = \"source-only\"\nlearner = { kind = \"knn\", k = 1 }",
            "method = \"label\"\nlabeller = { kind = \"easytl\", intra_align = \"raw\" }",
        );
        let s = Suite::parse(&label, "l").unwrap();
        assert_eq!(s.methods[0].model_name(), "easytl(c)");
        assert!(s.methods[0]
            .params_json()
            .contains("\"intra_align\":\"raw\""));
        for (bad, why) in [
            (
                label.replace(
                    "labeller = { kind = \"easytl\", intra_align = \"raw\" }",
                    "",
                ),
                "needs `labeller",
            ),
            (
                label.replace("\"raw\" }", "\"raw\" }\nlearner = { kind = \"knn\" }"),
                "no `learner`",
            ),
            (
                label.replace("\"raw\" }", "\"raw\" }\nbudgets = [3]"),
                "budgets` must be [0]",
            ),
            (label.replace("\"raw\"", "\"pca\""), "pca"),
            (
                OK.replace("k = 1 }", "k = 1 }\nlabeller = { kind = \"easytl\" }"),
                "only for `label`",
            ),
        ] {
            let e = Suite::parse(&bad, "l").unwrap_err().to_string();
            assert!(e.contains(why), "{why}: {e}");
        }
    }

    #[test]
    fn all_ordered_pairs_of_a_benchmark() {
        let text = "name = \"s\"\ndataset = \"office-caltech-surf\"\n[[methods]]\nid = \"nn\"\nmethod = \"source-only\"\nlearner = { kind = \"knn\" }\n";
        let s = Suite::parse(text, "s").unwrap();
        assert_eq!(s.expand_pairs().len(), 12);
        assert_eq!(s.pair_label("caltech", "amazon"), "C→A");
    }
}
