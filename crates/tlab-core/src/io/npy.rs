//! NumPy `.npy` arrays (f64, f32 or integer), e.g. precomputed deep features.

use std::path::Path;

use ndarray::{Array1, Array2};
use ndarray_npy::{read_npy, ReadNpyError};

use crate::domain::LabeledDomain;
use crate::error::{CoreError, Result};

fn err(path: &Path, e: ReadNpyError) -> CoreError {
    match e {
        ReadNpyError::Io(io) => CoreError::io(path, io),
        other => CoreError::Corrupt {
            path: path.to_path_buf(),
            format: "NumPy .npy",
            reason: other.to_string(),
        },
    }
}

/// Reads a 2-D array (samples as rows) of f64, f32, i64 or i32.
pub fn read_npy_matrix(path: &Path) -> Result<Array2<f64>> {
    if !path.exists() {
        return Err(CoreError::io(
            path,
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    let x = match read_npy::<_, Array2<f64>>(path) {
        Ok(x) => x,
        Err(ReadNpyError::WrongDescriptor(_)) => match read_npy::<_, Array2<f32>>(path) {
            Ok(x) => x.mapv(f64::from),
            Err(ReadNpyError::WrongDescriptor(_)) => match read_npy::<_, Array2<i64>>(path) {
                Ok(x) => x.mapv(|v| v as f64),
                Err(ReadNpyError::WrongDescriptor(_)) => read_npy::<_, Array2<i32>>(path)
                    .map_err(|e| err(path, e))?
                    .mapv(f64::from),
                Err(e) => return Err(err(path, e)),
            },
            Err(e) => return Err(err(path, e)),
        },
        Err(e) => return Err(err(path, e)),
    };
    crate::domain::check_finite(&path.display().to_string(), x.view())?;
    Ok(x)
}

/// Reads a 1-D label vector of any integer type (or whole-valued floats), shifting by `base`.
pub fn read_npy_labels(path: &Path, base: usize) -> Result<(Array1<usize>, usize)> {
    if !path.exists() {
        return Err(CoreError::io(
            path,
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    let raw: Vec<f64> = match read_npy::<_, Array1<i64>>(path) {
        Ok(y) => y.iter().map(|&v| v as f64).collect(),
        Err(ReadNpyError::WrongDescriptor(_)) => match read_npy::<_, Array1<i32>>(path) {
            Ok(y) => y.iter().map(|&v| f64::from(v)).collect(),
            Err(ReadNpyError::WrongDescriptor(_)) => match read_npy::<_, Array1<u8>>(path) {
                Ok(y) => y.iter().map(|&v| f64::from(v)).collect(),
                Err(ReadNpyError::WrongDescriptor(_)) => read_npy::<_, Array1<f64>>(path)
                    .map_err(|e| err(path, e))?
                    .to_vec(),
                Err(e) => return Err(err(path, e)),
            },
            Err(e) => return Err(err(path, e)),
        },
        Err(e) => return Err(err(path, e)),
    };
    super::labels_from_f64(&path.display().to_string(), &raw, base)
}

/// A labelled domain from a features `.npy` and a labels `.npy`.
pub fn load_npy_domain(
    features: &Path,
    labels: &Path,
    label_base: usize,
    name: &str,
) -> Result<LabeledDomain> {
    let x = read_npy_matrix(features)?;
    let (y, k) = read_npy_labels(labels, label_base)?;
    if y.len() != x.nrows() {
        return Err(CoreError::Shape {
            context: format!("{} vs {}", features.display(), labels.display()),
            detail: format!("{} samples but {} labels", x.nrows(), y.len()),
        });
    }
    LabeledDomain::new(name, x, y, k)
}
