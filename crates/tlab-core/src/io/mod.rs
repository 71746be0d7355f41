//! Readers for the files researchers have: MATLAB v5 `.mat`, NumPy `.npy` / `.npz`, CSV
//! (Parquet is read by the experiments crate, which owns polars). Every on-disk layout
//! (column-major MATLAB, samples as columns, any class ids) is converted at this edge; what
//! a file holds becomes a domain through a dataset description (`crate::dataset`).

mod csv;
pub mod labels;
mod mat;
mod mat73;
mod npy;
mod zip;

pub use self::csv::{
    csv_columns, preview, read_csv, read_csv_column, select_columns, ColumnSelection,
};
pub use self::labels::{class_ids_from_f64, class_set, encode, ClassId};
pub use self::mat::{MatContent, MatFile, MatVariable};
pub use self::npy::{
    npz_member, parse_npy, read_npy, read_npy_matrix, read_npz, read_npz_bytes, NpyArray,
};

use std::io::Read;
use std::path::Path;

use sha1::{Digest, Sha1};

use crate::error::{CoreError, Result};

/// Opens a file for reading, refusing what is not a regular file (a FIFO would block for
/// ever, a directory is a wrong path).
pub fn open_regular_file(path: &Path) -> Result<std::fs::File> {
    let meta = std::fs::metadata(path).map_err(|e| CoreError::io(path, e))?;
    if !meta.is_file() {
        return Err(CoreError::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file (a directory, FIFO or device); name the data file itself",
            ),
        ));
    }
    std::fs::File::open(path).map_err(|e| CoreError::io(path, e))
}

/// A regular file's bytes.
pub fn read_regular_file(path: &Path) -> Result<Vec<u8>> {
    let mut f = open_regular_file(path)?;
    let mut bytes = Vec::new();
    f.read_to_end(&mut bytes)
        .map_err(|e| CoreError::io(path, e))?;
    Ok(bytes)
}

/// Hex sha1 of a file's bytes.
pub fn sha1_hex(path: &Path) -> Result<String> {
    let mut f = open_regular_file(path)?;
    let mut hasher = Sha1::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| CoreError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Hex sha1 of bytes in memory.
pub fn sha1_of(bytes: &[u8]) -> String {
    hex(&Sha1::digest(bytes))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// Fails unless `actual` equals `expected` (case-insensitive hex).
pub fn check_sha1(path: &Path, expected: &str, actual: &str) -> Result<()> {
    if !actual.eq_ignore_ascii_case(expected.trim()) {
        return Err(CoreError::Checksum {
            path: path.to_path_buf(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        });
    }
    Ok(())
}

/// The file formats a dataset description can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileFormat {
    Mat,
    Npy,
    Npz,
    Csv,
    Parquet,
}

impl FileFormat {
    /// From the file name's extension.
    pub fn of(path: &Path) -> Option<FileFormat> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "mat" => FileFormat::Mat,
            "npy" => FileFormat::Npy,
            "npz" => FileFormat::Npz,
            "csv" | "tsv" | "txt" => FileFormat::Csv,
            "parquet" | "pq" => FileFormat::Parquet,
            _ => return None,
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            FileFormat::Mat => "mat",
            FileFormat::Npy => "npy",
            FileFormat::Npz => "npz",
            FileFormat::Csv => "csv",
            FileFormat::Parquet => "parquet",
        }
    }
}
