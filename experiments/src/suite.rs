//! Suites: TOML files naming a dataset, its source→target pairs, the methods with their
//! parameters, the seeds and the published numbers to print beside ours. Validated on
//! load: an unknown key or a bad value is an error that names it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use tlab_core::registry;
use tlab_core::synthetic::BUILTIN_DATASETS;
use tlab_core::{LearnerSpec, Preprocess};
use tlab_transductive::{AdapterSpec, ReweighterSpec};

use crate::error::{Error, Result};
use crate::methods::MethodKind;

/// A suite as written in its TOML file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// A registry benchmark (`office-caltech-surf`, …) or a built-in dataset (`synthetic`, `digits`).
    pub dataset: String,
    /// Overrides the benchmark's preprocessing protocol.
    pub preprocess: Option<Preprocess>,
    /// Seed of the built-in generators (the same for every run seed).
    #[serde(default)]
    pub data_seed: u64,
    /// `[[source, target], …]` in table order; or omit and give `domains` for all ordered pairs.
    #[serde(default)]
    pub pairs: Vec<[String; 2]>,
    /// With no `pairs`: every ordered pair of these domains (default: all of the benchmark's).
    #[serde(default)]
    pub domains: Vec<String>,
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    /// Similarity metrics to record in every row, computed once per pair on the
    /// preprocessed features (`tlab list` names them).
    #[serde(default)]
    pub metrics: Vec<String>,
    pub methods: Vec<MethodEntry>,
    /// Published numbers: method id → pair (`source->target`) → accuracy (%).
    #[serde(default)]
    pub published: BTreeMap<String, Published>,
    /// The suite's own text, copied beside its results so `tlab table`, `report` and `merge`
    /// read exactly the suite that produced them.
    #[serde(skip)]
    pub text: String,
}

fn default_seeds() -> Vec<u64> {
    vec![0]
}

/// One column of the table: a method with its parameters and label budgets.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodEntry {
    /// Column name in tables; unique in the suite.
    pub id: String,
    pub method: MethodKind,
    pub learner: LearnerSpec,
    /// `adapt` only: the domain adapter and its parameters.
    pub adapter: Option<AdapterSpec>,
    /// `reweight` only: the source-sample reweighter and its parameters.
    pub reweighter: Option<ReweighterSpec>,
    /// Target labels per class: 0 is the unsupervised setting.
    #[serde(default = "default_budgets")]
    pub budgets: Vec<usize>,
    /// Oracle only: folds of the in-domain cross-validation.
    #[serde(default = "default_folds")]
    pub folds: usize,
}

impl MethodEntry {
    /// The learner's (and adapter's) parameters as JSON, for result rows and tables.
    pub fn params_json(&self) -> String {
        let mut v = serde_json::json!({ "learner": self.learner });
        if let Some(a) = &self.adapter {
            v["adapter"] = serde_json::to_value(a).expect("serialisable");
        }
        if let Some(r) = &self.reweighter {
            v["reweighter"] = serde_json::to_value(r).expect("serialisable");
        }
        v.to_string()
    }
}

fn default_budgets() -> Vec<usize> {
    vec![0]
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
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and validates suite text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
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
        suite.validate().map_err(|detail| Error::Suite {
            origin: origin.to_string(),
            detail,
        })?;
        Ok(suite)
    }

    fn is_builtin(&self) -> bool {
        BUILTIN_DATASETS.contains(&self.dataset.as_str())
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
            let b = registry::benchmark(&self.dataset).map_err(|_| {
                let mut known: Vec<&str> = registry::BENCHMARKS.iter().map(|b| b.name).collect();
                known.extend(BUILTIN_DATASETS);
                format!(
                    "`dataset` = {:?}: unknown; allowed: {}",
                    self.dataset,
                    known.join(", ")
                )
            })?;
            for d in self.pairs.iter().flatten().chain(&self.domains) {
                b.domain(d).map_err(|e| format!("`pairs`/`domains`: {e}"))?;
            }
        } else if self.pairs.is_empty() && self.domains.len() < 2 {
            return Err("a built-in dataset needs `pairs`, or at least two `domains`".into());
        }
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
            m.learner
                .build(0)
                .map_err(|e| format!("method {:?}: {e}", m.id))?;
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
                    if !crate::methods::uses_weights(&m.learner) {
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
            registry::benchmark(&self.dataset)
                .map(|b| b.domains.iter().map(|d| d.name.to_string()).collect())
                .unwrap_or_default()
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
            registry::benchmark(&self.dataset)
                .ok()
                .and_then(|b| b.domain(d).ok())
                .map_or_else(|| d.to_string(), |x| x.short.to_string())
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
            if !matches!(path[0].as_str(), "learner" | "adapter" | "reweighter") || path.len() != 2
            {
                return Err(format!(
                    "method {id:?}: `grid` key {key:?} must be `learner.<param>`, `adapter.<param>` or `reweighter.<param>`"
                ));
            }
            axes.push((path, values.clone()));
        }
        let combos: usize = axes.iter().map(|(_, v)| v.len()).product();
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
    fn all_ordered_pairs_of_a_benchmark() {
        let text = "name = \"s\"\ndataset = \"office-caltech-surf\"\n[[methods]]\nid = \"nn\"\nmethod = \"source-only\"\nlearner = { kind = \"knn\" }\n";
        let s = Suite::parse(text, "s").unwrap();
        assert_eq!(s.expand_pairs().len(), 12);
        assert_eq!(s.pair_label("caltech", "amazon"), "C→A");
    }
}
