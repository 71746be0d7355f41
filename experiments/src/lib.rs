//! The experiments crate behind the `tlab` binary: suites (TOML), the sweep runner, the
//! results store (Parquet and CSV via polars) and paper-style tables.

pub mod data;
pub mod datacmd;
pub mod error;
pub mod methods;
pub mod plot;
pub mod report;
pub mod runner;
pub mod stats;
pub mod store;
pub mod study;
pub mod suite;
pub mod sweep;
pub mod table;

use std::path::{Path, PathBuf};

pub use error::{Error, Result};

/// The suites `tlab` runs with no arguments: built-in data only, so they work on a fresh
/// machine with no download.
pub const DEFAULT_SUITES: [(&str, &str); 2] = [
    (
        "suites/builtin-synthetic.toml",
        include_str!("../suites/builtin-synthetic.toml"),
    ),
    (
        "suites/builtin-digits.toml",
        include_str!("../suites/builtin-digits.toml"),
    ),
];

/// Runs what is missing of a suite and writes `runs.parquet`, `runs.csv`, `table.md` and
/// `suite.toml` under `out/<suite>/` (see [`sweep`] for resuming). Returns the folder and
/// the rendered table.
pub fn run_and_write(
    suite: &suite::Suite,
    data_dir: Option<&Path>,
    out: &Path,
    quiet: bool,
) -> Result<(PathBuf, String)> {
    let opts = sweep::SweepOptions {
        data_dir: data_dir.map(Path::to_path_buf),
        quiet,
        ..Default::default()
    };
    let done = sweep::sweep(suite, out, &opts)?;
    let table = done.table.expect("an unsharded sweep writes its table");
    Ok((done.dir, table))
}
