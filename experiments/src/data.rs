//! Parquet input (polars lives in this crate only): a labelled domain from a Parquet file
//! whose label column is named by the caller; every other column is a numeric feature.

use std::fs::File;
use std::path::Path;

use ndarray::{Array1, Array2};
use polars::prelude::*;
use tlab_core::LabeledDomain;

use crate::error::{Error, Result};

pub fn load_parquet_domain(path: &Path, label_column: &str, name: &str) -> Result<LabeledDomain> {
    let bad = |detail: String| Error::Data {
        path: path.to_path_buf(),
        detail,
    };
    let file = File::open(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let df = ParquetReader::new(file)
        .finish()
        .map_err(|e| bad(format!("not a readable Parquet file: {e}")))?;
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    if !names.iter().any(|n| n == label_column) {
        return Err(bad(format!(
            "label column `{label_column}` not found (columns: {})",
            names.join(", ")
        )));
    }
    let n = df.height();
    let features: Vec<&String> = names.iter().filter(|c| *c != label_column).collect();
    let mut x = Array2::<f64>::zeros((n, features.len()));
    for (j, c) in features.iter().enumerate() {
        let col = df
            .column(c)
            .and_then(|s| s.cast(&DataType::Float64))
            .map_err(|e| bad(format!("column `{c}` is not numeric: {e}")))?;
        for (i, v) in col
            .f64()
            .map_err(|e| bad(e.to_string()))?
            .iter()
            .enumerate()
        {
            x[(i, j)] =
                v.ok_or_else(|| bad(format!("column `{c}` has a missing value at row {i}")))?;
        }
    }
    tlab_core::domain::check_finite(&path.display().to_string(), x.view())?;
    let labels = df
        .column(label_column)
        .and_then(|s| s.cast(&DataType::Int64))
        .map_err(|e| {
            bad(format!(
                "label column `{label_column}` must hold integer classes: {e}"
            ))
        })?;
    let mut y = Vec::with_capacity(n);
    for (i, v) in labels
        .i64()
        .map_err(|e| bad(e.to_string()))?
        .iter()
        .enumerate()
    {
        match v {
            Some(v) if v >= 0 => y.push(v as usize),
            other => {
                return Err(bad(format!(
                    "label {other:?} at row {i}: classes must be integers ≥ 0"
                )))
            }
        }
    }
    let k = y.iter().max().map_or(0, |m| m + 1);
    Ok(LabeledDomain::new(name, x, Array1::from(y), k)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, mut df: DataFrame) -> std::path::PathBuf {
        let p = dir.join(name);
        ParquetWriter::new(File::create(&p).unwrap())
            .finish(&mut df)
            .unwrap();
        p
    }

    #[test]
    fn loads_and_rejects() {
        let dir = tempfile::tempdir().unwrap();
        let df = df!("a" => [1.0, 2.0, 3.0], "b" => [4i32, 5, 6], "label" => [0i64, 1, 0]).unwrap();
        let p = write(dir.path(), "ok.parquet", df);
        let d = load_parquet_domain(&p, "label", "pq").unwrap();
        assert_eq!(d.x().row(1).to_vec(), vec![2.0, 5.0]);
        assert_eq!(d.y().to_vec(), vec![0, 1, 0]);
        let e = load_parquet_domain(&p, "y", "pq").unwrap_err().to_string();
        assert!(e.contains("`y` not found") && e.contains("label"), "{e}");
        let nan = write(
            dir.path(),
            "nan.parquet",
            df!("a" => [1.0, f64::NAN], "label" => [0i64, 1]).unwrap(),
        );
        assert!(load_parquet_domain(&nan, "label", "pq")
            .unwrap_err()
            .to_string()
            .contains("row 1, column 0"));
        let bytes = std::fs::read(&p).unwrap();
        let cut = dir.path().join("cut.parquet");
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let e = load_parquet_domain(&cut, "label", "pq")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cut.parquet") && e.contains("not a readable Parquet"),
            "{e}"
        );
    }
}
