//! Errors of the experiments crate.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Core(#[from] tlab_core::CoreError),
    #[error("suite {origin}: {detail}")]
    Suite { origin: String, detail: String },
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {detail}")]
    Data { path: PathBuf, detail: String },
    #[error("results store: {0}")]
    Store(String),
    /// A sweep stopped by a failed run; the message says what is kept and how to go on.
    #[error("{0}")]
    Stopped(String),
    #[error("run {run}: {source}")]
    Run {
        run: String,
        #[source]
        source: crate::methods::MethodError,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
