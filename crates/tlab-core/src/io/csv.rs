//! CSV with a header row: one column holds the label (named by the caller), every other
//! column is a numeric feature.

use std::path::Path;

use ndarray::{Array1, Array2};

use crate::domain::LabeledDomain;
use crate::error::{CoreError, Result};

/// Loads a labelled domain from CSV. Labels that are all whole numbers are used as class
/// indices (shifted so the smallest is 0 only if `label_base` says so); any other label
/// values are mapped to classes in sorted order of their text.
pub fn load_csv_domain(path: &Path, label_column: &str, name: &str) -> Result<LabeledDomain> {
    let corrupt = |reason: String| CoreError::Corrupt {
        path: path.to_path_buf(),
        format: "CSV",
        reason,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .map_err(|e| match e.into_kind() {
            csv::ErrorKind::Io(io) => CoreError::io(path, io),
            other => corrupt(format!("{other:?}")),
        })?;
    let headers = reader
        .headers()
        .map_err(|e| corrupt(e.to_string()))?
        .clone();
    let label_idx = headers
        .iter()
        .position(|h| h == label_column)
        .ok_or_else(|| CoreError::MissingVariable {
            path: path.to_path_buf(),
            name: label_column.to_string(),
            present: headers.iter().collect::<Vec<_>>().join(", "),
        })?;
    let n_features = headers.len() - 1;
    let mut values = Vec::new();
    let mut raw_labels = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let record = record.map_err(|e| corrupt(format!("data row {}: {e}", row + 1)))?;
        for (col, field) in record.iter().enumerate() {
            if col == label_idx {
                raw_labels.push(field.trim().to_string());
                continue;
            }
            let v: f64 = field.trim().parse().map_err(|_| {
                corrupt(format!(
                    "data row {}, column `{}`: `{field}` is not a number",
                    row + 1,
                    &headers[col]
                ))
            })?;
            values.push(v);
        }
    }
    let n = raw_labels.len();
    let x = Array2::from_shape_vec((n, n_features), values).map_err(|e| corrupt(e.to_string()))?;
    crate::domain::check_finite(&format!("{} features", path.display()), x.view())?;
    let (y, k) = encode_labels(&raw_labels);
    LabeledDomain::new(name, x, y, k)
}

fn encode_labels(raw: &[String]) -> (Array1<usize>, usize) {
    if let Ok(ints) = raw
        .iter()
        .map(|s| s.parse::<usize>())
        .collect::<std::result::Result<Vec<_>, _>>()
    {
        let k = ints.iter().max().map_or(0, |m| m + 1);
        return (Array1::from(ints), k);
    }
    let mut names: Vec<&String> = raw.iter().collect();
    names.sort();
    names.dedup();
    let y = raw
        .iter()
        .map(|s| names.binary_search(&s).expect("present"))
        .collect();
    (y, names.len())
}
