//! NumPy `.npy` arrays and `.npz` archives (numpy's `savez`, stored, and
//! `savez_compressed`, deflated): f64, f32, any integer type or bool, 1-D or 2-D.

use std::path::Path;

use ndarray::{Array1, Array2, ArrayD};
use ndarray_npy::{ReadNpyError, ReadNpyExt};

use crate::error::{CoreError, Result};

/// A numeric array as read: its shape and values in row-major order.
#[derive(Debug, Clone)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    /// numpy's name of the stored type (`float32`, `int64`, …).
    pub dtype: &'static str,
    pub values: Vec<f64>,
}

fn corrupt(path: &Path, what: &str, e: impl std::fmt::Display) -> CoreError {
    CoreError::Corrupt {
        path: path.to_path_buf(),
        format: "NumPy",
        reason: format!("{what}{e}"),
    }
}

/// Parses one `.npy` payload, trying each supported element type in turn.
pub fn parse_npy(path: &Path, what: &str, bytes: &[u8]) -> Result<NpyArray> {
    macro_rules! attempt {
        ($t:ty, $name:expr) => {
            match ArrayD::<$t>::read_npy(bytes) {
                Ok(a) => {
                    return Ok(NpyArray {
                        shape: a.shape().to_vec(),
                        dtype: $name,
                        values: a.iter().map(|&v| v as f64).collect(),
                    })
                }
                Err(ReadNpyError::WrongDescriptor(_)) => {}
                Err(e) => return Err(corrupt(path, what, e)),
            }
        };
    }
    attempt!(f64, "float64");
    attempt!(f32, "float32");
    attempt!(i64, "int64");
    attempt!(i32, "int32");
    attempt!(i16, "int16");
    attempt!(i8, "int8");
    attempt!(u64, "uint64");
    attempt!(u32, "uint32");
    attempt!(u16, "uint16");
    attempt!(u8, "uint8");
    match ArrayD::<bool>::read_npy(bytes) {
        Ok(a) => Ok(NpyArray {
            shape: a.shape().to_vec(),
            dtype: "bool",
            values: a.iter().map(|&v| f64::from(u8::from(v))).collect(),
        }),
        Err(ReadNpyError::WrongDescriptor(d)) => Err(corrupt(
            path,
            what,
            format!("element type {d} is not numeric (strings and objects cannot be features or integer labels; for text labels use CSV or Parquet)"),
        )),
        Err(e) => Err(corrupt(path, what, e)),
    }
}

impl NpyArray {
    /// The array as a matrix: 2-D as stored, a 1-D array as one column.
    pub fn matrix(&self, path: &Path, what: &str) -> Result<Array2<f64>> {
        let (r, c) = match self.shape[..] {
            [r, c] => (r, c),
            [n] => (n, 1),
            _ => {
                return Err(CoreError::Shape {
                    context: format!("{}{what}", path.display()),
                    detail: format!("expected a 2-D array, found shape {:?}", self.shape),
                })
            }
        };
        Ok(Array2::from_shape_vec((r, c), self.values.clone()).expect("shape matches"))
    }

    /// The array as a vector: 1-D, or 2-D with one row or one column.
    pub fn vector(&self, path: &Path, what: &str) -> Result<Array1<f64>> {
        match self.shape[..] {
            [_] | [1, _] | [_, 1] => Ok(Array1::from(self.values.clone())),
            _ => Err(CoreError::Shape {
                context: format!("{}{what}", path.display()),
                detail: format!("labels must be a vector, found shape {:?}", self.shape),
            }),
        }
    }
}

/// Reads a `.npy` file.
pub fn read_npy(path: &Path) -> Result<NpyArray> {
    let bytes = super::read_regular_file(path)?;
    parse_npy(path, "", &bytes)
}

/// Reads a 2-D `.npy` matrix (samples as rows), checked finite.
pub fn read_npy_matrix(path: &Path) -> Result<Array2<f64>> {
    let x = read_npy(path)?.matrix(path, "")?;
    crate::domain::check_finite(&path.display().to_string(), x.view())?;
    Ok(x)
}

/// The members of a `.npz` archive, in archive order: (name without `.npy`, array).
pub fn read_npz(path: &Path) -> Result<Vec<(String, NpyArray)>> {
    read_npz_bytes(path, &super::read_regular_file(path)?)
}

/// The members of a `.npz` archive held in memory (`path` names it in errors).
pub fn read_npz_bytes(path: &Path, bytes: &[u8]) -> Result<Vec<(String, NpyArray)>> {
    let members = super::zip::members(bytes).map_err(|e| CoreError::Corrupt {
        path: path.to_path_buf(),
        format: "NumPy .npz (zip)",
        reason: e,
    })?;
    let mut out = Vec::new();
    for m in members {
        let name = m.name.strip_suffix(".npy").unwrap_or(&m.name).to_string();
        let data = m.data(bytes).map_err(|e| CoreError::Corrupt {
            path: path.to_path_buf(),
            format: "NumPy .npz (zip)",
            reason: format!("member `{}`: {e}", m.name),
        })?;
        let a = parse_npy(path, &format!(" member `{name}`: "), &data)?;
        out.push((name, a));
    }
    Ok(out)
}

/// The member `name` of an archive read by [`read_npz_bytes`]; the error lists the members.
pub fn npz_member<'a>(
    path: &Path,
    members: &'a [(String, NpyArray)],
    name: &str,
) -> Result<&'a NpyArray> {
    members
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, a)| a)
        .ok_or_else(|| CoreError::MissingVariable {
            path: path.to_path_buf(),
            name: name.to_string(),
            present: members
                .iter()
                .map(|(n, a)| format!("`{n}` {} {:?}", a.dtype, a.shape))
                .collect::<Vec<_>>()
                .join(", "),
        })
}
