//! Shared by the tests that drive the `tlab` binary.

use std::path::Path;
use std::process::Command;

/// Runs `tlab ARGS` in `cwd`: (success, standard output, standard error).
pub fn tlab(args: &[&str], cwd: &Path) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tlab"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
