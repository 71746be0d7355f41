//! Loaders: MATLAB v5 `.mat`, CSV, NumPy `.npy`. Every on-disk layout (column-major
//! MATLAB, samples as columns, 1-based labels) is converted here, at the edge, into rows of
//! samples and labels `0..k`. (Parquet is read by the experiments crate, which owns polars.)

mod csv;
mod mat;
mod npy;

pub use self::csv::load_csv_domain;
pub use self::mat::{read_mat_labels, read_mat_matrix, MatSpec, SampleAxis};
pub use self::npy::{load_npy_domain, read_npy_labels, read_npy_matrix};

use std::io::Read;
use std::path::Path;

use ndarray::Array1;
use sha1::{Digest, Sha1};

use crate::error::{CoreError, Result};

/// Hex sha1 of a file's bytes.
pub fn sha1_hex(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| CoreError::io(path, e))?;
    let mut hasher = Sha1::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| CoreError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Fails unless the file's sha1 equals `expected`.
pub fn verify_sha1(path: &Path, expected: &str) -> Result<()> {
    let actual = sha1_hex(path)?;
    if actual != expected {
        return Err(CoreError::Checksum {
            path: path.to_path_buf(),
            expected: expected.to_string(),
            actual,
        });
    }
    Ok(())
}

/// Turns raw numeric labels into classes `0..k` by subtracting `base`; every value must be
/// a whole number ≥ `base`. Returns the labels and `k` (the largest class + 1).
pub fn labels_from_f64(context: &str, raw: &[f64], base: usize) -> Result<(Array1<usize>, usize)> {
    let mut out = Vec::with_capacity(raw.len());
    for (i, &v) in raw.iter().enumerate() {
        if !v.is_finite() || v.fract() != 0.0 || v < base as f64 {
            return Err(CoreError::Label {
                context: context.to_string(),
                detail: format!("{v} at position {i}: labels must be whole numbers ≥ {base}"),
            });
        }
        out.push(v as usize - base);
    }
    let k = out.iter().max().map_or(0, |m| m + 1);
    Ok((Array1::from(out), k))
}
