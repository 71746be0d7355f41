//! The `tlab` subcommands end to end through the binary: run, describe, table (three
//! formats), report, plot (real PNG and SVG files with text), list, and one-line errors.

mod common;
use common::tlab;

const SUITE: &str = r#"
name = "cli"
dataset = "synthetic"
pairs = [["blobs:shift=0", "blobs:shift=1"], ["blobs:shift=0", "blobs:shift=3"], ["blobs:shift=0", "blobs:shift=6"]]
seeds = [0, 1, 2]
metrics = ["mmd-rbf"]

[[methods]]
id = "src"
method = "source-only"
learner = { kind = "logistic" }

[[methods]]
id = "tgt"
method = "target-only"
learner = { kind = "logistic" }
budgets = [1, 5]

[[methods]]
id = "both"
method = "source-and-target"
learner = { kind = "logistic" }
budgets = [1, 5]
"#;

#[test]
fn subcommands_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("cli.toml"), SUITE).unwrap();
    let (ok, out, _) = tlab(&["describe", "cli.toml"], d);
    assert!(ok);
    assert!(
        out.contains("45 runs = 3 pairs × (5 method/budget columns) × 3 seeds"),
        "{out}"
    );
    let (ok, out, err) = tlab(&["run", "cli.toml", "--quiet"], d);
    assert!(ok, "{err}");
    assert!(out.contains("| **average** |"), "{out}");
    let res = d.join("results/cli");
    for f in ["runs.parquet", "runs.csv", "table.md", "suite.toml"] {
        assert!(res.join(f).is_file(), "{f}");
    }
    let (ok, tex, _) = tlab(&["table", "results/cli", "--format", "latex"], d);
    assert!(
        ok && tex.contains("\\toprule") && tex.contains("\\textbf{"),
        "{tex}"
    );
    let (ok, _, _) = tlab(
        &["table", "results/cli", "--format", "csv", "-o", "t.csv"],
        d,
    );
    assert!(ok);
    let csv = std::fs::read_to_string(d.join("t.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 3 * 5 + 5);
    let (ok, report, _) = tlab(&["report", "results/cli"], d);
    assert!(ok && report.contains("## Per pair"), "{report}");
    assert!(res.join("report.md").is_file() && res.join("report.csv").is_file());
    let (ok, files, err) = tlab(&["plot", "results/cli"], d);
    assert!(ok, "{err}");
    for name in ["bars", "budget", "gain-vs-mmd-rbf"] {
        let png = std::fs::read(res.join(format!("plots/{name}.png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{name}");
        let svg = std::fs::read_to_string(res.join(format!("plots/{name}.svg"))).unwrap();
        assert!(svg.contains("<svg") && svg.contains("<text"), "{name}");
        assert!(files.contains(&format!("{name}.png")));
    }
    let svg = std::fs::read_to_string(res.join("plots/gain-vs-mmd-rbf.svg")).unwrap();
    assert!(
        svg.contains("Spearman"),
        "the rank correlation is in the title"
    );
    let (ok, study, err) = tlab(&["study", "results/cli", "--into", "study"], d);
    assert!(ok, "{err}");
    // 3 pairs × 2 budgets of source+target against target-only, one metric.
    assert!(study.contains("| 1 | mmd-rbf | 6 |"), "{study}");
    assert!(d.join("study/study.csv").is_file());
    assert!(d.join("study/plots/gain-vs-mmd-rbf.png").is_file());
    let (ok, list, _) = tlab(&["list"], d);
    assert!(ok && list.contains("mmd-rbf") && list.contains("office-caltech-surf"));
    // Errors: one line, exit code 2, naming what was wrong.
    let (ok, _, err) = tlab(&["table", "nowhere"], d);
    assert!(
        !ok && err.starts_with("error: ") && err.contains("nowhere"),
        "{err}"
    );
    let (ok, _, err) = tlab(&["run", "cli.toml", "--shard", "3/2"], d);
    assert!(!ok && err.contains("i/n"), "{err}");
}
