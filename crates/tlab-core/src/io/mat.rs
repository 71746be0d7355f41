//! MATLAB v5 `.mat` reading through the `matfile` crate (dense numeric arrays of every
//! integer and float type, zlib-compressed or not). `matfile` skips sparse, cell, struct and
//! char arrays silently, so a missing variable says that it may be stored in such a form.

use std::path::Path;

use ndarray::{Array1, Array2, ShapeBuilder};
use serde::{Deserialize, Serialize};

use crate::domain::LabeledDomain;
use crate::error::{CoreError, Result};

/// Whether a stored matrix holds one sample per row or one per column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SampleAxis {
    Rows,
    Columns,
}

/// Where a labelled domain lives in a `.mat` file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatSpec {
    pub features: String,
    pub labels: String,
    pub samples: SampleAxis,
    /// Subtracted from every stored label (1 for MATLAB's 1-based classes).
    pub label_base: usize,
}

impl MatSpec {
    /// Loads the features and labels named by the spec as one labelled domain.
    pub fn load(&self, path: &Path, name: &str) -> Result<LabeledDomain> {
        let file = parse(path)?;
        let x = matrix(&file, path, &self.features, self.samples)?;
        let (y, k) = labels(&file, path, &self.labels, self.label_base)?;
        if y.len() != x.nrows() {
            return Err(CoreError::Shape {
                context: format!(
                    "{} (`{}` vs `{}`)",
                    path.display(),
                    self.features,
                    self.labels
                ),
                detail: format!("{} samples but {} labels", x.nrows(), y.len()),
            });
        }
        crate::domain::check_finite(&format!("{} `{}`", path.display(), self.features), x.view())?;
        LabeledDomain::new(name, x, y, k)
    }
}

fn parse(path: &Path) -> Result<matfile::MatFile> {
    let bytes = std::fs::read(path).map_err(|e| CoreError::io(path, e))?;
    let corrupt = |reason: String| CoreError::Corrupt {
        path: path.to_path_buf(),
        format: "MATLAB v5 .mat",
        reason,
    };
    if bytes.len() < 128 {
        return Err(corrupt(format!(
            "{} bytes, shorter than the 128-byte header",
            bytes.len()
        )));
    }
    check_elements(&bytes).map_err(corrupt)?;
    // The parser is a third-party crate; a malformed file must be an error, not a panic.
    let parsed = std::panic::catch_unwind(|| matfile::MatFile::parse(bytes.as_slice()))
        .map_err(|_| corrupt("the parser failed on malformed content".into()))?;
    parsed.map_err(|e| corrupt(format!("{e} ({e:?})").chars().take(300).collect()))
}

/// Walks the top-level data elements after the 128-byte header: each must fit in the file,
/// and the last must end exactly at its end. `matfile` silently drops a trailing element
/// that is cut short, so a truncated file would otherwise load with variables missing.
fn check_elements(bytes: &[u8]) -> std::result::Result<(), String> {
    let big_endian = match &bytes[126..128] {
        b"IM" => false,
        b"MI" => true,
        other => {
            return Err(format!(
                "no endian indicator at byte 126 (found {other:?}); not a MATLAB v5 file"
            ))
        }
    };
    let word = |at: usize| {
        let b = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
        if big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    };
    let mut at = 128;
    while at < bytes.len() {
        if at + 8 > bytes.len() {
            return Err(format!("truncated: element tag at byte {at} is cut short"));
        }
        let (kind, size) = (word(at), word(at + 4) as usize);
        let end = if kind >> 16 != 0 {
            at + 8 // small element: data packed in the tag
        } else {
            let raw = at + 8 + size;
            if kind == 15 {
                raw
            } else {
                raw.div_ceil(8) * 8
            }
        };
        if end > bytes.len() {
            return Err(format!(
                "truncated: the element at byte {at} needs {} bytes, the file has {}",
                end - at,
                bytes.len() - at
            ));
        }
        at = end;
    }
    Ok(())
}

fn find<'a>(file: &'a matfile::MatFile, path: &Path, name: &str) -> Result<&'a matfile::Array> {
    file.find_by_name(name)
        .ok_or_else(|| CoreError::MissingVariable {
            path: path.to_path_buf(),
            name: name.to_string(),
            present: file
                .arrays()
                .iter()
                .map(|a| format!("`{}` {:?}", a.name(), a.size()))
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// The real part of any numeric array as f64, column-major.
fn as_f64(a: &matfile::Array, path: &Path) -> Result<Vec<f64>> {
    use matfile::NumericData as D;
    macro_rules! real {
        ($r:expr, $i:expr) => {{
            if $i.is_some() {
                return Err(CoreError::Corrupt {
                    path: path.to_path_buf(),
                    format: "MATLAB v5 .mat",
                    reason: format!("`{}` is complex; real features are expected", a.name()),
                });
            }
            $r.iter().map(|&v| v as f64).collect()
        }};
    }
    Ok(match a.data() {
        D::Int8 { real, imag } => real!(real, imag),
        D::UInt8 { real, imag } => real!(real, imag),
        D::Int16 { real, imag } => real!(real, imag),
        D::UInt16 { real, imag } => real!(real, imag),
        D::Int32 { real, imag } => real!(real, imag),
        D::UInt32 { real, imag } => real!(real, imag),
        D::Int64 { real, imag } => real!(real, imag),
        D::UInt64 { real, imag } => real!(real, imag),
        D::Single { real, imag } => real!(real, imag),
        D::Double { real, imag } => real!(real, imag),
    })
}

fn dims2(a: &matfile::Array, path: &Path) -> Result<(usize, usize)> {
    match a.size().as_slice() {
        [r, c] => Ok((*r, *c)),
        other => Err(CoreError::Shape {
            context: format!("{} `{}`", path.display(), a.name()),
            detail: format!("expected a 2-D matrix, found dimensions {other:?}"),
        }),
    }
}

fn matrix(
    file: &matfile::MatFile,
    path: &Path,
    name: &str,
    samples: SampleAxis,
) -> Result<Array2<f64>> {
    let a = find(file, path, name)?;
    let (r, c) = dims2(a, path)?;
    let data = as_f64(a, path)?;
    if data.len() != r * c {
        return Err(CoreError::Corrupt {
            path: path.to_path_buf(),
            format: "MATLAB v5 .mat",
            reason: format!("`{name}` declares {r}×{c} but holds {} values", data.len()),
        });
    }
    let shape_err = |e: ndarray::ShapeError| CoreError::Shape {
        context: format!("{} `{name}`", path.display()),
        detail: e.to_string(),
    };
    Ok(match samples {
        // Column-major r×c with samples as rows: an ndarray in Fortran order, made row-major.
        SampleAxis::Rows => Array2::from_shape_vec((r, c).f(), data)
            .map_err(shape_err)?
            .as_standard_layout()
            .to_owned(),
        // Samples as columns: the column-major buffer is already the row-major c×r transpose.
        SampleAxis::Columns => Array2::from_shape_vec((c, r), data).map_err(shape_err)?,
    })
}

fn labels(
    file: &matfile::MatFile,
    path: &Path,
    name: &str,
    base: usize,
) -> Result<(Array1<usize>, usize)> {
    let a = find(file, path, name)?;
    let (r, c) = dims2(a, path)?;
    if r != 1 && c != 1 {
        return Err(CoreError::Shape {
            context: format!("{} `{name}`", path.display()),
            detail: format!("labels must be a vector, found {r}×{c}"),
        });
    }
    super::labels_from_f64(
        &format!("{} `{name}`", path.display()),
        &as_f64(a, path)?,
        base,
    )
}

/// Reads one 2-D numeric variable with samples as rows.
pub fn read_mat_matrix(path: &Path, name: &str, samples: SampleAxis) -> Result<Array2<f64>> {
    matrix(&parse(path)?, path, name, samples)
}

/// Reads one label vector, shifting by `base`; returns the labels and the class count.
pub fn read_mat_labels(path: &Path, name: &str, base: usize) -> Result<(Array1<usize>, usize)> {
    labels(&parse(path)?, path, name, base)
}
