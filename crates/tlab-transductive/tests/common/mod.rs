//! Shared by the tests that read ../shared/data (reproduce.rs, labellers.rs).

use std::path::PathBuf;

/// The benchmark data directory: `TLAB_DATA` if set, else `../shared/data` beside the
/// workspace. `None` (with a note on stderr) when it is absent, so a user's fresh clone
/// skips these tests and still runs everything else.
pub fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("TLAB_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIPPED: benchmark data not found at {}", dir.display());
        None
    }
}

/// The 12 Office-Caltech SURF pairs in the published tables' order.
pub const SURF_PAIRS: [(&str, &str); 12] = [
    ("caltech", "amazon"),
    ("caltech", "webcam"),
    ("caltech", "dslr"),
    ("amazon", "caltech"),
    ("amazon", "webcam"),
    ("amazon", "dslr"),
    ("webcam", "caltech"),
    ("webcam", "amazon"),
    ("webcam", "dslr"),
    ("dslr", "caltech"),
    ("dslr", "amazon"),
    ("dslr", "webcam"),
];
