//! Result rows, one per finished run, written as Parquet and CSV through polars. Files are
//! written to a temporary name in the same folder and renamed into place, so a reader never
//! sees a half-written file.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One finished run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub suite: String,
    pub dataset: String,
    pub source: String,
    pub target: String,
    /// The method's column id in the suite.
    pub method: String,
    pub method_kind: String,
    pub learner: String,
    /// The learner's parameters as JSON.
    pub params: String,
    pub seed: u64,
    /// Target labels per class (0: unsupervised).
    pub budget: u64,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub n_scored: u64,
    pub fit_seconds: f64,
    pub predict_seconds: f64,
    /// Similarity metrics the suite asked for, computed on the pair's features (stored as
    /// columns `metric:<name>`).
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
    /// Task scores beyond accuracy and macro-F1: `nmi` and `ari` for clustering runs,
    /// `auroc` and `ap` for anomaly runs (percent; stored as columns `score:<name>`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scores: BTreeMap<String, f64>,
}

impl Row {
    /// The run this row belongs to (see [`crate::runner::RunKey`]).
    pub fn key(&self) -> crate::runner::RunKey {
        (
            self.source.clone(),
            self.target.clone(),
            self.method.clone(),
            self.params.clone(),
            self.budget,
            self.seed,
        )
    }

    /// A row of suite `suite` on `synthetic` data with the given run identity and accuracy,
    /// every other field empty (for tests of what reads rows).
    #[doc(hidden)]
    pub fn example(
        suite: &str,
        pair: (&str, &str),
        method: &str,
        budget: u64,
        seed: u64,
        accuracy: f64,
    ) -> Row {
        Row {
            suite: suite.into(),
            dataset: "synthetic".into(),
            source: pair.0.into(),
            target: pair.1.into(),
            method: method.into(),
            method_kind: String::new(),
            learner: String::new(),
            params: String::new(),
            seed,
            budget,
            accuracy,
            macro_f1: 0.0,
            n_scored: 1,
            fit_seconds: 0.0,
            predict_seconds: 0.0,
            metrics: BTreeMap::new(),
            scores: BTreeMap::new(),
        }
    }

    /// The row without its timings: what must be identical between two runs of one seed.
    pub fn without_timings(&self) -> Row {
        Row {
            fit_seconds: 0.0,
            predict_seconds: 0.0,
            ..self.clone()
        }
    }
}

fn pstr(e: PolarsError) -> Error {
    Error::Store(e.to_string())
}

/// Rows as a polars DataFrame (one column per field).
pub fn to_frame(rows: &[Row]) -> Result<DataFrame> {
    let s = |name: &str, f: &dyn Fn(&Row) -> String| {
        Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>())
    };
    let u = |name: &str, f: &dyn Fn(&Row) -> u64| {
        Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>())
    };
    let x = |name: &str, f: &dyn Fn(&Row) -> f64| {
        Column::new(name.into(), rows.iter().map(f).collect::<Vec<_>>())
    };
    // One nullable column per key of a map field, named `<prefix>:<key>`.
    let map_columns = |prefix: &str, field: &dyn Fn(&Row) -> &BTreeMap<String, f64>| {
        let mut names: Vec<&String> = rows.iter().flat_map(|r| field(r).keys()).collect();
        names.sort();
        names.dedup();
        names
            .into_iter()
            .map(|n| {
                Column::new(
                    format!("{prefix}:{n}").into(),
                    rows.iter()
                        .map(|r| field(r).get(n).copied())
                        .collect::<Vec<Option<f64>>>(),
                )
            })
            .collect::<Vec<_>>()
    };
    let metric_columns = map_columns("metric", &|r| &r.metrics);
    let score_columns = map_columns("score", &|r| &r.scores);
    DataFrame::new(
        rows.len(),
        vec![
            s("suite", &|r| r.suite.clone()),
            s("dataset", &|r| r.dataset.clone()),
            s("source", &|r| r.source.clone()),
            s("target", &|r| r.target.clone()),
            s("method", &|r| r.method.clone()),
            s("method_kind", &|r| r.method_kind.clone()),
            s("learner", &|r| r.learner.clone()),
            s("params", &|r| r.params.clone()),
            u("seed", &|r| r.seed),
            u("budget", &|r| r.budget),
            x("accuracy", &|r| r.accuracy),
            x("macro_f1", &|r| r.macro_f1),
            u("n_scored", &|r| r.n_scored),
            x("fit_seconds", &|r| r.fit_seconds),
            x("predict_seconds", &|r| r.predict_seconds),
        ]
        .into_iter()
        .chain(score_columns)
        .chain(metric_columns)
        .collect(),
    )
    .map_err(pstr)
}

/// Reads rows back from a Parquet file written by [`write_rows`].
pub fn read_parquet_rows(path: &Path) -> Result<Vec<Row>> {
    let file = File::open(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let df = ParquetReader::new(file).finish().map_err(|e| Error::Data {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    let col = |n: &str| df.column(n).map_err(pstr);
    let strs = |n: &str| -> Result<Vec<String>> {
        Ok(col(n)?
            .str()
            .map_err(pstr)?
            .iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect())
    };
    let u64s = |n: &str| -> Result<Vec<u64>> {
        Ok(col(n)?
            .u64()
            .map_err(pstr)?
            .iter()
            .map(|v| v.unwrap_or_default())
            .collect())
    };
    let f64s = |n: &str| -> Result<Vec<f64>> {
        Ok(col(n)?
            .f64()
            .map_err(pstr)?
            .iter()
            .map(|v| v.unwrap_or(f64::NAN))
            .collect())
    };
    let (suite, dataset, source, target) = (
        strs("suite")?,
        strs("dataset")?,
        strs("source")?,
        strs("target")?,
    );
    let (method, kind, learner, params) = (
        strs("method")?,
        strs("method_kind")?,
        strs("learner")?,
        strs("params")?,
    );
    let (seed, budget, n_scored) = (u64s("seed")?, u64s("budget")?, u64s("n_scored")?);
    let (acc, f1, fit, pred) = (
        f64s("accuracy")?,
        f64s("macro_f1")?,
        f64s("fit_seconds")?,
        f64s("predict_seconds")?,
    );
    type MapColumns = Vec<(String, Vec<Option<f64>>)>;
    let (mut metrics, mut scores): (MapColumns, MapColumns) = (Vec::new(), Vec::new());
    for name in df.get_column_names() {
        let (target, key) = if let Some(m) = name.strip_prefix("metric:") {
            (&mut metrics, m)
        } else if let Some(m) = name.strip_prefix("score:") {
            (&mut scores, m)
        } else {
            continue;
        };
        target.push((
            key.to_string(),
            col(name)?.f64().map_err(pstr)?.iter().collect(),
        ));
    }
    let map_at = |cols: &MapColumns, i: usize| -> BTreeMap<String, f64> {
        cols.iter()
            .filter_map(|(n, v)| v[i].map(|x| (n.clone(), x)))
            .collect()
    };
    Ok((0..df.height())
        .map(|i| Row {
            suite: suite[i].clone(),
            dataset: dataset[i].clone(),
            source: source[i].clone(),
            target: target[i].clone(),
            method: method[i].clone(),
            method_kind: kind[i].clone(),
            learner: learner[i].clone(),
            params: params[i].clone(),
            seed: seed[i],
            budget: budget[i],
            accuracy: acc[i],
            macro_f1: f1[i],
            n_scored: n_scored[i],
            fit_seconds: fit[i],
            predict_seconds: pred[i],
            metrics: map_at(&metrics, i),
            scores: map_at(&scores, i),
        })
        .collect())
}

/// Writes `bytes_fn`'s output to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut File) -> Result<()>) -> Result<()> {
    let io = |p: &Path, e| Error::Io {
        path: p.to_path_buf(),
        source: e,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    // Unique per process and call: two writers never share a temporary file.
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let tmp: PathBuf = dir.join(format!(
        ".{}.{}-{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("out"),
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let mut f = File::create(&tmp).map_err(|e| io(&tmp, e))?;
    let result = write(&mut f).and_then(|_| f.sync_all().map_err(|e| io(&tmp, e)));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))
}

/// Writes `runs.parquet` and `runs.csv` into `dir`.
pub fn write_rows(dir: &Path, rows: &[Row]) -> Result<()> {
    let mut df = to_frame(rows)?;
    write_atomic(&dir.join("runs.parquet"), |f| {
        ParquetWriter::new(f)
            .finish(&mut df)
            .map(|_| ())
            .map_err(pstr)
    })?;
    write_atomic(&dir.join("runs.csv"), |f| {
        CsvWriter::new(f)
            .include_header(true)
            .finish(&mut df)
            .map_err(pstr)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seed: u64, acc: f64) -> Row {
        Row {
            suite: "s".into(),
            dataset: "d".into(),
            source: "a".into(),
            target: "b".into(),
            method: "nn".into(),
            method_kind: "source-only".into(),
            learner: "1nn".into(),
            params: "{}".into(),
            seed,
            budget: 0,
            accuracy: acc,
            macro_f1: acc / 2.0,
            n_scored: 10,
            fit_seconds: 0.5,
            predict_seconds: 0.25,
            metrics: BTreeMap::new(),
            scores: BTreeMap::new(),
        }
    }

    #[test]
    fn parquet_round_trip_and_csv_header() {
        let dir = tempfile::tempdir().unwrap();
        let mut rows = vec![row(0, 50.0), row(1, 62.5)];
        rows[1].metrics.insert("mmd".into(), 0.125);
        rows[0].scores.insert("nmi".into(), 61.25);
        write_rows(dir.path(), &rows).unwrap();
        assert_eq!(
            read_parquet_rows(&dir.path().join("runs.parquet")).unwrap(),
            rows
        );
        let csv = std::fs::read_to_string(dir.path().join("runs.csv")).unwrap();
        assert!(csv.starts_with(
            "suite,dataset,source,target,method,method_kind,learner,params,seed,budget,accuracy"
        ));
        assert_eq!(csv.lines().count(), 3);
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn a_failed_write_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("x.bin");
        let r = write_atomic(&target, |_| Err(Error::Store("boom".into())));
        assert!(r.is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
