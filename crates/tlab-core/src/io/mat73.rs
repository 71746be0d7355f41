//! MATLAB v7.3 MAT-files: HDF5 after a 512-byte user block, read with the pure-Rust
//! `hdf5-pure` crate (gzip-chunked datasets included). MATLAB stores each array
//! transposed — HDF5 dims are MATLAB's reversed, so the row-major HDF5 buffer is MATLAB's
//! column-major one — and names its class in the `MATLAB_class` attribute; a sparse matrix
//! is a group of `data`, `ir`, `jc` with its row count in `MATLAB_sparse`. Cells, structs
//! and text are listed as skipped, as in v5 files.

use std::collections::HashMap;
use std::path::Path;

use hdf5_pure::AttrValue;

use super::mat::{MatContent, MatFile, MatVariable};
use crate::error::{CoreError, Result};

const FORMAT: &str = "MATLAB v7.3 .mat (HDF5)";

fn text(attrs: &HashMap<String, AttrValue>, key: &str) -> Option<String> {
    match attrs.get(key)? {
        AttrValue::String(s) | AttrValue::AsciiString(s) => {
            Some(s.trim_end_matches('\0').to_string())
        }
        AttrValue::StringArray(v) => v.first().cloned(),
        _ => None,
    }
}

fn number(attrs: &HashMap<String, AttrValue>, key: &str) -> Option<u64> {
    Some(match attrs.get(key)? {
        AttrValue::U64(v) => *v,
        AttrValue::I64(v) => *v as u64,
        AttrValue::U32(v) => u64::from(*v),
        AttrValue::I32(v) => *v as u64,
        AttrValue::F64(v) => *v as u64,
        _ => return None,
    })
}

fn class_name(c: &str) -> &'static str {
    match c {
        "double" => "double",
        "single" => "single",
        "int8" => "int8",
        "uint8" => "uint8",
        "int16" => "int16",
        "uint16" => "uint16",
        "int32" => "int32",
        "uint32" => "uint32",
        "int64" => "int64",
        "uint64" => "uint64",
        "logical" => "logical",
        "char" => "char",
        "cell" => "cell",
        "struct" => "struct",
        "function_handle" => "function_handle",
        _ => "opaque",
    }
}

/// Parses a v7.3 file's bytes (the whole file, user block included).
pub fn parse(path: &Path, bytes: &[u8]) -> Result<MatFile> {
    let corrupt = |reason: String| CoreError::Corrupt {
        path: path.to_path_buf(),
        format: FORMAT,
        reason,
    };
    // A third-party parser on user input: a malformed file must be an error, not a panic.
    let owned = bytes.to_vec();
    let file = std::panic::catch_unwind(move || hdf5_pure::File::from_bytes(owned))
        .map_err(|_| corrupt("the HDF5 parser failed on malformed content".into()))?
        .map_err(|e| corrupt(e.to_string()))?;
    let root = file.root();
    let mut variables = Vec::new();
    let datasets = root.datasets().map_err(|e| corrupt(e.to_string()))?;
    for name in datasets.into_iter().filter(|n| !n.starts_with('#')) {
        let ds = root
            .dataset(&name)
            .map_err(|e| corrupt(format!("`{name}`: {e}")))?;
        let attrs = ds.attrs().unwrap_or_default();
        let class = class_name(&text(&attrs, "MATLAB_class").unwrap_or_default());
        let mut dims: Vec<usize> = ds
            .shape()
            .map_err(|e| corrupt(format!("`{name}`: {e}")))?
            .iter()
            .map(|&d| d as usize)
            .collect();
        dims.reverse();
        let content = if attrs.contains_key("MATLAB_empty") {
            dims = vec![0, 0];
            MatContent::Skipped("an empty array".into())
        } else {
            match class {
                "char" => MatContent::Skipped("text (char)".into()),
                "cell" => MatContent::Skipped("a cell array".into()),
                "struct" | "opaque" | "function_handle" => {
                    MatContent::Skipped("not a numeric array".into())
                }
                _ => match ds.read_f64() {
                    Ok(v)
                        if Some(v.len())
                            == dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d)) =>
                    {
                        MatContent::Dense(v)
                    }
                    Ok(v) => {
                        return Err(corrupt(format!(
                            "`{name}` declares {dims:?} but holds {} values",
                            v.len()
                        )))
                    }
                    Err(e) => {
                        MatContent::Skipped(format!("not readable as real numbers ({e}); complex?"))
                    }
                },
            }
        };
        variables.push(MatVariable {
            name,
            class,
            dims,
            content,
        });
    }
    let groups = root.groups().map_err(|e| corrupt(e.to_string()))?;
    for name in groups.into_iter().filter(|n| !n.starts_with('#')) {
        let g = root
            .group(&name)
            .map_err(|e| corrupt(format!("`{name}`: {e}")))?;
        let attrs = g.attrs().unwrap_or_default();
        let class = class_name(&text(&attrs, "MATLAB_class").unwrap_or_default());
        let (dims, content) = match number(&attrs, "MATLAB_sparse") {
            Some(rows) => {
                let read = |k: &str| {
                    g.dataset(k)
                        .and_then(|d| d.read_f64())
                        .map_err(|e| corrupt(format!("sparse `{name}`/{k}: {e}")))
                };
                let jc: Vec<usize> = read("jc")?.iter().map(|&v| v as usize).collect();
                let nnz = jc.last().copied().unwrap_or(0);
                // An all-zero sparse matrix stores no `ir` or `data`.
                let (ir, values) = if nnz == 0 {
                    (Vec::new(), Vec::new())
                } else {
                    let ir: Vec<usize> = read("ir")?.iter().map(|&v| v as usize).collect();
                    let values = if class == "logical" && g.dataset("data").is_err() {
                        vec![1.0; nnz]
                    } else {
                        read("data")?
                    };
                    (ir, values)
                };
                let rows = rows as usize;
                let cols = jc.len().saturating_sub(1);
                if jc.windows(2).any(|w| w[0] > w[1])
                    || ir.len() < nnz
                    || values.len() < nnz
                    || ir[..nnz].iter().any(|&i| i >= rows)
                {
                    return Err(corrupt(format!("sparse `{name}`: inconsistent ir/jc/data")));
                }
                (
                    vec![rows, cols],
                    MatContent::Sparse {
                        ir: ir[..nnz].to_vec(),
                        jc,
                        values: values[..nnz].to_vec(),
                    },
                )
            }
            None => (Vec::new(), MatContent::Skipped("a struct".into())),
        };
        variables.push(MatVariable {
            name,
            class: if matches!(content, MatContent::Sparse { .. }) && class == "opaque" {
                "double"
            } else {
                class
            },
            dims,
            content,
        });
    }
    Ok(MatFile {
        path: path.to_path_buf(),
        version: "MATLAB v7.3 (HDF5)",
        variables,
    })
}
