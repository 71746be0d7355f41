//! Parquet input (polars lives in this crate only): the [`TableReader`] through which a
//! dataset description's Parquet domains are read, and the column listing of
//! `tlab data inspect`.

use std::path::Path;

use ndarray::Array2;
use polars::prelude::*;
use tlab_core::dataset::TableReader;
use tlab_core::io::{select_columns, ClassId, ColumnSelection};
use tlab_core::CoreError;

/// Reads Parquet tables for tlab-core's dataset loader.
#[derive(Debug, Clone, Copy, Default)]
pub struct ParquetTables;

fn bad(path: &Path, reason: String) -> CoreError {
    CoreError::Dataset {
        origin: path.display().to_string(),
        detail: reason,
    }
}

/// The whole table.
pub fn read_parquet(path: &Path) -> tlab_core::Result<DataFrame> {
    let file = tlab_core::io::open_regular_file(path)?;
    ParquetReader::new(file)
        .finish()
        .map_err(|e| CoreError::Corrupt {
            path: path.to_path_buf(),
            format: "Parquet",
            reason: e.to_string(),
        })
}

/// (column, dtype) of every column, and the row count.
pub fn parquet_columns(path: &Path) -> tlab_core::Result<(Vec<(String, String)>, usize)> {
    let df = read_parquet(path)?;
    Ok((
        df.columns()
            .iter()
            .map(|c| (c.name().to_string(), c.dtype().to_string()))
            .collect(),
        df.height(),
    ))
}

/// One column's values as class ids (integers, or text).
pub fn parquet_labels(path: &Path, df: &DataFrame, name: &str) -> tlab_core::Result<Vec<ClassId>> {
    let col = df
        .column(name)
        .map_err(|e| bad(path, e.to_string()))?
        .as_materialized_series()
        .clone();
    let as_ids = |col: &Series| -> std::result::Result<Vec<ClassId>, String> {
        if col.dtype().is_integer() {
            let c = col.cast(&DataType::Int64).map_err(|e| e.to_string())?;
            c.i64()
                .map_err(|e| e.to_string())?
                .iter()
                .enumerate()
                .map(|(i, v)| v.map(ClassId::Int).ok_or(format!("row {i} has no label")))
                .collect()
        } else if col.dtype().is_float() {
            let c = col.cast(&DataType::Float64).map_err(|e| e.to_string())?;
            let v: Vec<f64> = c
                .f64()
                .map_err(|e| e.to_string())?
                .iter()
                .enumerate()
                .map(|(i, v)| v.ok_or(format!("row {i} has no label")))
                .collect::<std::result::Result<_, _>>()?;
            tlab_core::io::class_ids_from_f64(name, &v).map_err(|e| e.to_string())
        } else {
            let c = col.cast(&DataType::String).map_err(|e| e.to_string())?;
            c.str()
                .map_err(|e| e.to_string())?
                .iter()
                .enumerate()
                .map(|(i, v)| v.map(ClassId::parse).ok_or(format!("row {i} has no label")))
                .collect()
        }
    };
    as_ids(&col).map_err(|e| bad(path, format!("label column `{name}`: {e}")))
}

impl TableReader for ParquetTables {
    fn read_table(
        &self,
        path: &Path,
        features: &ColumnSelection,
        label: &str,
    ) -> tlab_core::Result<(Array2<f64>, Vec<ClassId>)> {
        let df = read_parquet(path)?;
        let names: Vec<String> = df
            .get_column_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (cols, _) = select_columns(path, &names, features, label)?;
        let n = df.height();
        let mut x = Array2::<f64>::zeros((n, cols.len()));
        for (j, &c) in cols.iter().enumerate() {
            let name = &names[c];
            let col = df
                .column(name)
                .and_then(|s| s.cast(&DataType::Float64))
                .map_err(|e| bad(path, format!("column `{name}` is not numeric: {e}")))?;
            for (i, v) in col
                .f64()
                .map_err(|e| bad(path, e.to_string()))?
                .iter()
                .enumerate()
            {
                x[(i, j)] = v.ok_or_else(|| {
                    bad(
                        path,
                        format!("column `{name}` has a missing value at row {i}"),
                    )
                })?;
            }
        }
        let labels = parquet_labels(path, &df, label)?;
        Ok((x, labels))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, mut df: DataFrame) -> std::path::PathBuf {
        let p = dir.join(name);
        ParquetWriter::new(std::fs::File::create(&p).unwrap())
            .finish(&mut df)
            .unwrap();
        p
    }

    #[test]
    fn loads_and_rejects() {
        let dir = tempfile::tempdir().unwrap();
        let df =
            df!("a" => [1.0, 2.0, 3.0], "b" => [4i32, 5, 6], "label" => ["x", "y", "x"]).unwrap();
        let p = write(dir.path(), "ok.parquet", df);
        let all = ColumnSelection::AllButLabel;
        let (x, y) = ParquetTables.read_table(&p, &all, "label").unwrap();
        assert_eq!(x.row(1).to_vec(), vec![2.0, 5.0]);
        assert_eq!(y[1], ClassId::Text("y".into()));
        let e = ParquetTables
            .read_table(&p, &all, "y")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`y` not found") && e.contains("label"), "{e}");
        let bytes = std::fs::read(&p).unwrap();
        let cut = dir.path().join("cut.parquet");
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let e = ParquetTables
            .read_table(&cut, &all, "label")
            .unwrap_err()
            .to_string();
        assert!(e.contains("cut.parquet") && e.contains("Parquet"), "{e}");
    }
}
