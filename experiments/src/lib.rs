//! The experiments crate behind the `tlab` binary: suites (TOML), the sweep runner, the
//! results store (Parquet and CSV via polars) and paper-style tables.

pub mod data;
pub mod error;
pub mod methods;
pub mod runner;
pub mod store;
pub mod suite;
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

/// Runs a suite and writes `runs.parquet`, `runs.csv` and `table.md` under `out/<suite>/`.
/// Returns the folder and the rendered table.
pub fn run_and_write(
    suite: &suite::Suite,
    data_dir: Option<&Path>,
    out: &Path,
    quiet: bool,
) -> Result<(PathBuf, String)> {
    let rows = runner::run_suite(suite, data_dir, quiet)?;
    let dir = out.join(&suite.name);
    store::write_rows(&dir, &rows)?;
    let table = table::markdown(suite, &rows);
    store::write_atomic(&dir.join("table.md"), |f| {
        use std::io::Write;
        f.write_all(table.as_bytes()).map_err(|e| Error::Io {
            path: dir.join("table.md"),
            source: e,
        })
    })?;
    Ok((dir, table))
}
