//! CSV with a header row: the label column named by the caller, the features every other
//! column (or those listed, or those whose name starts with a prefix). Read in one pass,
//! record by record, straight into the feature matrix.

use std::path::Path;

use ndarray::Array2;

use super::labels::ClassId;
use crate::error::{CoreError, Result};

/// Which columns of a table are features.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ColumnSelection {
    /// Every column except the label column.
    #[default]
    AllButLabel,
    /// These columns, in this order.
    Named(Vec<String>),
    /// The columns whose name starts with this prefix, in file order.
    Prefix(String),
}

/// Resolves a selection against a header: (feature column indices, label column index).
pub fn select_columns(
    path: &Path,
    headers: &[String],
    features: &ColumnSelection,
    label: &str,
) -> Result<(Vec<usize>, usize)> {
    let find = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| CoreError::MissingVariable {
                path: path.to_path_buf(),
                name: name.to_string(),
                present: preview(headers),
            })
    };
    let label_idx = find(label)?;
    let cols: Vec<usize> = match features {
        ColumnSelection::AllButLabel => (0..headers.len()).filter(|&i| i != label_idx).collect(),
        ColumnSelection::Named(names) => names.iter().map(|n| find(n)).collect::<Result<_>>()?,
        ColumnSelection::Prefix(p) => (0..headers.len())
            .filter(|&i| i != label_idx && headers[i].starts_with(p.as_str()))
            .collect(),
    };
    if cols.is_empty() {
        return Err(CoreError::Shape {
            context: path.display().to_string(),
            detail: format!(
                "no feature columns selected ({features:?}; columns: {})",
                preview(headers)
            ),
        });
    }
    if cols.contains(&label_idx) {
        return Err(CoreError::Shape {
            context: path.display().to_string(),
            detail: format!("the label column `{label}` is also listed as a feature"),
        });
    }
    Ok((cols, label_idx))
}

/// The first column names, then how many more.
pub fn preview(headers: &[String]) -> String {
    let shown: Vec<&str> = headers.iter().take(12).map(String::as_str).collect();
    if headers.len() > 12 {
        format!("{} … ({} columns)", shown.join(", "), headers.len())
    } else {
        shown.join(", ")
    }
}

fn reader(path: &Path, delimiter: u8) -> Result<csv::Reader<std::fs::File>> {
    let file = super::open_regular_file(path)?;
    Ok(csv::ReaderBuilder::new()
        .has_headers(true)
        .delimiter(delimiter)
        .from_reader(file))
}

fn corrupt(path: &Path, reason: String) -> CoreError {
    CoreError::Corrupt {
        path: path.to_path_buf(),
        format: "CSV",
        reason,
    }
}

fn header_of(r: &mut csv::Reader<std::fs::File>, path: &Path) -> Result<Vec<String>> {
    Ok(r.headers()
        .map_err(|e| corrupt(path, e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect())
}

/// Reads the selected feature columns and the label column.
pub fn read_csv(
    path: &Path,
    delimiter: u8,
    features: &ColumnSelection,
    label: &str,
) -> Result<(Array2<f64>, Vec<ClassId>)> {
    let mut r = reader(path, delimiter)?;
    let headers = header_of(&mut r, path)?;
    if headers.len() == 1 && delimiter != b';' && headers[0].contains(';') {
        return Err(corrupt(
            path,
            "one column whose name holds `;`: set `delimiter = \";\"`".into(),
        ));
    }
    let (cols, label_idx) = select_columns(path, &headers, features, label)?;
    let mut values = Vec::new();
    let mut labels = Vec::new();
    for (row, record) in r.records().enumerate() {
        let record = record.map_err(|e| corrupt(path, format!("data row {}: {e}", row + 1)))?;
        for &c in &cols {
            let field = record.get(c).unwrap_or("").trim();
            let v: f64 = field.parse().map_err(|_| {
                corrupt(
                    path,
                    format!(
                        "data row {}, column `{}`: `{field}` is not a number",
                        row + 1,
                        headers[c]
                    ),
                )
            })?;
            values.push(v);
        }
        let l = record.get(label_idx).unwrap_or("").trim();
        if l.is_empty() {
            return Err(corrupt(
                path,
                format!("data row {}: the label column `{label}` is empty", row + 1),
            ));
        }
        labels.push(ClassId::parse(l));
    }
    let x = Array2::from_shape_vec((labels.len(), cols.len()), values)
        .map_err(|e| corrupt(path, e.to_string()))?;
    Ok((x, labels))
}

/// One column of a CSV file as class ids (a labels file).
pub fn read_csv_column(path: &Path, delimiter: u8, name: &str) -> Result<Vec<ClassId>> {
    let mut r = reader(path, delimiter)?;
    let headers = header_of(&mut r, path)?;
    let idx = headers
        .iter()
        .position(|h| h == name)
        .ok_or_else(|| CoreError::MissingVariable {
            path: path.to_path_buf(),
            name: name.to_string(),
            present: preview(&headers),
        })?;
    let mut out = Vec::new();
    for (row, record) in r.records().enumerate() {
        let record = record.map_err(|e| corrupt(path, format!("data row {}: {e}", row + 1)))?;
        let l = record.get(idx).unwrap_or("").trim();
        if l.is_empty() {
            return Err(corrupt(
                path,
                format!("data row {}: `{name}` is empty", row + 1),
            ));
        }
        out.push(ClassId::parse(l));
    }
    Ok(out)
}

/// Every column of a CSV file as text: (header, columns), for `tlab data inspect`.
pub fn csv_columns(path: &Path, delimiter: u8) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let mut r = reader(path, delimiter)?;
    let headers = header_of(&mut r, path)?;
    let mut columns: Vec<Vec<String>> = vec![Vec::new(); headers.len()];
    for (row, record) in r.records().enumerate() {
        let record = record.map_err(|e| corrupt(path, format!("data row {}: {e}", row + 1)))?;
        for (c, f) in record.iter().enumerate().take(headers.len()) {
            columns[c].push(f.trim().to_string());
        }
    }
    Ok((headers, columns))
}
