//! The one error type of tlab-core: every bad input names what was wrong and where.

use std::path::PathBuf;

/// Errors raised by tlab-core. Each variant carries enough context (a file, a variable, a
/// parameter name) for a user to find the bad input without reading the source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a readable {format} file: {reason}")]
    Corrupt {
        path: PathBuf,
        format: &'static str,
        reason: String,
    },
    #[error("{path}: variable `{name}` not found (present: {present}); name one of these (`tlab data inspect FILE` lists them with shapes and which look like labels)")]
    MissingVariable {
        path: PathBuf,
        name: String,
        present: String,
    },
    #[error("data problem: {path} has sha1 {actual}, but its dataset description pins {expected} — the file is not the one described (truncated, corrupt, another release, or the wrong path); fetch the described file, or, if you changed the data on purpose, update `sha1` in the description")]
    Checksum {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("dataset description, {origin}: {detail}")]
    Dataset { origin: String, detail: String },
    #[error("{context}: shape mismatch: {detail}")]
    Shape { context: String, detail: String },
    #[error("{context}: non-finite value (NaN or infinite) at row {row}, column {col} (0-based); impute or drop such rows before loading (`tlab data check` counts them per domain)")]
    NonFinite {
        context: String,
        row: usize,
        col: usize,
    },
    #[error("{context}: invalid label {detail}")]
    Label { context: String, detail: String },
    #[error("{context}: empty (no samples)")]
    Empty { context: String },
    #[error("{context}: only one class present ({class}); at least two are needed")]
    SingleClass { context: String, class: usize },
    #[error("invalid parameter `{name}` = {value}: {expected}")]
    InvalidParam {
        name: &'static str,
        value: String,
        expected: String,
    },
    #[error("label budget: {0}")]
    Budget(String),
    #[error("unknown {kind} `{name}`; known: {known}")]
    Unknown {
        kind: &'static str,
        name: String,
        known: String,
    },
    #[error("linear algebra: {0}")]
    Linalg(String),
}

/// Result alias for tlab-core.
pub type Result<T, E = CoreError> = std::result::Result<T, E>;

impl CoreError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CoreError::Io {
            path: path.into(),
            source,
        }
    }

    /// An invalid parameter: its name, the value given and what is allowed.
    pub fn invalid_param(
        name: &'static str,
        value: impl ToString,
        expected: impl Into<String>,
    ) -> Self {
        Self::invalid(name, value, expected)
    }

    pub(crate) fn invalid(
        name: &'static str,
        value: impl ToString,
        expected: impl Into<String>,
    ) -> Self {
        CoreError::InvalidParam {
            name,
            value: value.to_string(),
            expected: expected.into(),
        }
    }
}
