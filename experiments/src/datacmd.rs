//! `tlab data inspect FILE` (what a file holds, as scipy's `whosmat` or `h5ls` would say,
//! and which variables look like labels) and `tlab data check DATASET` (per domain:
//! samples, features, classes, NaN/Inf, constant features, duplicate rows) — before a long
//! sweep, not after it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;

use tlab_core::dataset::RawDomain;
use tlab_core::io::{self, ClassId, FileFormat, MatContent, MatFile};
use tlab_core::Dataset;

use crate::error::{Error, Result};

/// Whether `distinct` values among `n` are few enough to be classes: at least two, at most
/// half the values (and at most 1000).
fn few_enough(distinct: usize, n: usize) -> bool {
    distinct >= 2 && distinct <= (n / 2).clamp(2, 1000)
}

/// One axis, or two with one of length 1 (MATLAB stores every vector as 2-D).
fn is_vector(shape: &[usize]) -> bool {
    matches!(shape, [_] | [1, _] | [_, 1])
}

/// `  ← note`, or nothing.
fn arrow(note: Option<String>) -> String {
    note.map_or(String::new(), |l| format!("  ← {l}"))
}

/// A vector looks like labels when its values are whole numbers with few distinct values.
fn label_like(values: &[f64]) -> Option<String> {
    if values.is_empty() || values.iter().any(|v| !v.is_finite() || v.fract() != 0.0) {
        return None;
    }
    let distinct: HashSet<i64> = values.iter().map(|&v| v as i64).collect();
    if !few_enough(distinct.len(), values.len()) {
        return None;
    }
    let lo = distinct.iter().min().expect("non-empty");
    let hi = distinct.iter().max().expect("non-empty");
    Some(format!(
        "looks like labels: {} classes, ids {lo}…{hi}",
        distinct.len()
    ))
}

fn text_label_like(values: &[String]) -> Option<String> {
    let distinct: HashSet<&String> = values.iter().collect();
    few_enough(distinct.len(), values.len())
        .then(|| format!("looks like labels: {} classes", distinct.len()))
}

/// What `tlab data inspect` prints for one file.
pub fn inspect(path: &Path) -> Result<String> {
    let format = FileFormat::of(path).ok_or_else(|| Error::Data {
        path: path.to_path_buf(),
        detail: "unknown extension: tlab reads .mat, .npy, .npz, .csv/.tsv and .parquet".into(),
    })?;
    let mut out = String::new();
    let sha1 = io::sha1_hex(path)?;
    match format {
        FileFormat::Mat => {
            let mat = MatFile::read(path)?;
            let _ = writeln!(
                out,
                "{}: {} MAT-file, {} variables, sha1 {sha1}",
                path.display(),
                mat.version,
                mat.variables.len()
            );
            for v in &mat.variables {
                let dims: Vec<String> = v.dims.iter().map(|d| d.to_string()).collect();
                let mut note = match &v.content {
                    MatContent::Dense(values) if is_vector(&v.dims) => arrow(label_like(values)),
                    _ => String::new(),
                };
                if matches!(v.content, MatContent::Sparse { .. }) {
                    note.push_str("  (read as dense)");
                }
                let _ = writeln!(
                    out,
                    "  {:<16} {:<8} {:<12} {}{note}",
                    v.name,
                    v.class,
                    dims.join("×"),
                    v.storage()
                );
            }
            samples_hint(&mut out, &mat);
        }
        FileFormat::Npy => {
            let a = io::read_npy(path)?;
            let _ = writeln!(out, "{}: NumPy .npy, sha1 {sha1}", path.display());
            let note = arrow(
                (a.shape.len() == 1)
                    .then(|| label_like(&a.values))
                    .flatten(),
            );
            let _ = writeln!(out, "  {:<8} {:?}{note}", a.dtype, a.shape);
        }
        FileFormat::Npz => {
            let members = io::read_npz(path)?;
            let _ = writeln!(
                out,
                "{}: NumPy .npz, {} arrays, sha1 {sha1}",
                path.display(),
                members.len()
            );
            for (name, a) in &members {
                let note = arrow(is_vector(&a.shape).then(|| label_like(&a.values)).flatten());
                let _ = writeln!(out, "  {name:<16} {:<8} {:?}{note}", a.dtype, a.shape);
            }
        }
        FileFormat::Csv => {
            let delimiter = if path.extension().is_some_and(|e| e == "tsv") {
                b'\t'
            } else {
                b','
            };
            let (headers, columns) = io::csv_columns(path, delimiter)?;
            let n = columns.first().map_or(0, Vec::len);
            let _ = writeln!(
                out,
                "{}: CSV, {} columns × {n} rows, sha1 {sha1}",
                path.display(),
                headers.len()
            );
            for (h, col) in headers.iter().zip(&columns) {
                let nums: Option<Vec<f64>> = col.iter().map(|v| v.parse().ok()).collect();
                let (kind, note) = match &nums {
                    Some(v) if v.iter().all(|x| x.fract() == 0.0) => ("integer", label_like(v)),
                    Some(_) => ("number", None),
                    None => ("text", text_label_like(col)),
                };
                let note = arrow(note);
                let _ = writeln!(out, "  {h:<16} {kind}{note}");
            }
        }
        FileFormat::Parquet => {
            let df = crate::data::read_parquet(path)?;
            let _ = writeln!(
                out,
                "{}: Parquet, {} columns × {} rows, sha1 {sha1}",
                path.display(),
                df.width(),
                df.height()
            );
            for c in df.columns() {
                let name = c.name().to_string();
                let note = arrow(
                    crate::data::parquet_labels(path, &df, &name)
                        .ok()
                        .filter(|_| !c.dtype().is_float())
                        .and_then(|ids| {
                            let text: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
                            text_label_like(&text)
                        }),
                );
                let _ = writeln!(out, "  {name:<16} {}{note}", c.dtype());
            }
        }
    }
    Ok(out)
}

/// For each label-like vector, which matrices have that many samples and on which axis.
fn samples_hint(out: &mut String, mat: &MatFile) {
    for l in &mat.variables {
        let Some((r, c)) = l.dims2() else { continue };
        if r != 1 && c != 1 {
            continue;
        }
        let MatContent::Dense(values) = &l.content else {
            continue;
        };
        if label_like(values).is_none() {
            continue;
        }
        let n = values.len();
        for v in &mat.variables {
            let Some((vr, vc)) = v.dims2() else { continue };
            if v.name == l.name || matches!(v.content, MatContent::Skipped(_)) || vr == 1 || vc == 1
            {
                continue;
            }
            let axis = match (vr == n, vc == n) {
                (true, false) => "samples = \"rows\"",
                (false, true) => "samples = \"columns\"",
                (true, true) => "square: say `samples`",
                _ => continue,
            };
            let _ = writeln!(
                out,
                "  ⇒ features = \"{}\", labels = \"{}\" ({axis})",
                v.name, l.name
            );
        }
    }
}

/// One domain's figures for `tlab data check`.
struct DomainCheck {
    name: String,
    samples: usize,
    features: usize,
    counts: BTreeMap<ClassId, usize>,
    non_finite: usize,
    constant: usize,
    duplicates: usize,
}

fn check_domain(raw: &RawDomain) -> DomainCheck {
    let x = &raw.x;
    let mut counts = BTreeMap::new();
    for l in &raw.labels {
        *counts.entry(l.clone()).or_insert(0) += 1;
    }
    let non_finite = x.iter().filter(|v| !v.is_finite()).count();
    let constant = x
        .columns()
        .into_iter()
        .filter(|c| c.iter().all(|&v| v.to_bits() == c[0].to_bits()))
        .count();
    let mut seen: HashMap<Vec<u64>, usize> = HashMap::new();
    let mut duplicates = 0;
    for r in x.rows() {
        let key: Vec<u64> = r.iter().map(|v| v.to_bits()).collect();
        let e = seen.entry(key).or_insert(0);
        if *e > 0 {
            duplicates += 1;
        }
        *e += 1;
    }
    DomainCheck {
        name: raw.name.clone(),
        samples: x.nrows(),
        features: x.ncols(),
        counts,
        non_finite,
        constant,
        duplicates,
    }
}

/// What `tlab data check` prints, and how many problems would stop a sweep.
pub fn check(dataset: &Dataset) -> Result<(String, usize)> {
    let raws = dataset.read_all(Some(&crate::data::ParquetTables))?;
    let classes = match &dataset.spec.classes {
        Some(c) => c.clone(),
        None => io::class_set(raws.iter().map(|r| r.labels.as_slice())),
    };
    let mut out = String::new();
    let mut problems = 0;
    let _ = writeln!(
        out,
        "dataset {}: {} domains, {} classes ({})",
        dataset.name(),
        raws.len(),
        classes.len(),
        io::labels::list(&classes)
    );
    let checks: Vec<DomainCheck> = raws.iter().map(check_domain).collect();
    let _ = writeln!(
        out,
        "\n| domain | samples | features | classes present | smallest class | NaN/Inf | constant features | duplicate rows |\n|---|---|---|---|---|---|---|---|"
    );
    for c in &checks {
        let smallest = c
            .counts
            .iter()
            .min_by_key(|(_, n)| **n)
            .map_or("-".to_string(), |(k, n)| format!("{k}: {n}"));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {}/{} | {smallest} | {} | {} | {} |",
            c.name,
            c.samples,
            c.features,
            c.counts.len(),
            classes.len(),
            c.non_finite,
            c.constant,
            c.duplicates
        );
    }
    let _ = writeln!(out);
    for c in &checks {
        let missing: Vec<String> = classes
            .iter()
            .filter(|k| !c.counts.contains_key(k))
            .map(|k| k.to_string())
            .collect();
        if !missing.is_empty() {
            let _ = writeln!(
                out,
                "note: {} has no samples of class {} (as a target, those rows cannot be predicted by a source model that lacks them; as a source, its model never predicts them)",
                c.name,
                missing.join(", ")
            );
        }
        if c.non_finite > 0 {
            problems += 1;
            let _ = writeln!(
                out,
                "problem: {} has {} NaN/Inf values; a run refuses it — impute or drop those rows",
                c.name, c.non_finite
            );
        }
        if c.counts.len() < 2 {
            problems += 1;
            let _ = writeln!(
                out,
                "problem: {} has fewer than two classes; it cannot be a domain of a classification task",
                c.name
            );
        }
        if c.constant == c.features {
            problems += 1;
            let _ = writeln!(out, "problem: {} has only constant features", c.name);
        }
        if c.duplicates > 0 {
            let _ = writeln!(
                out,
                "note: {} has {} duplicate rows (exact copies of earlier rows)",
                c.name, c.duplicates
            );
        }
    }
    let widths: HashSet<usize> = checks.iter().map(|c| c.features).collect();
    if widths.len() > 1 {
        problems += 1;
        let _ = writeln!(
            out,
            "problem: the domains have different feature counts ({}); every domain must share one feature space",
            checks
                .iter()
                .map(|c| format!("{} {}", c.name, c.features))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let _ = writeln!(out, "\nfiles:");
    for r in &raws {
        for f in &r.files {
            let _ = writeln!(out, "  {} {} {}", f.domain, f.sha1, f.path.display());
        }
    }
    if problems == 0 {
        let _ = writeln!(out, "\nno problems found");
    }
    Ok((out, problems))
}
