//! End-to-end behaviour of `tlab run`: determinism, seeds, written outputs, and the
//! published NN row reproduced through the whole pipeline (suite → runner → table).

use std::path::PathBuf;

use tlab_experiments::runner::run_suite;
use tlab_experiments::store::read_parquet_rows;
use tlab_experiments::suite::Suite;
use tlab_experiments::{run_and_write, DEFAULT_SUITES};

const FEW_SHOT: &str = r#"
name = "few-shot"
dataset = "synthetic"
pairs = [["moons:angle=0", "moons:angle=40"], ["blobs:shift=0", "blobs:shift=3"]]
seeds = [SEEDS]

[[methods]]
id = "src"
method = "source-only"
learner = { kind = "linear-svm" }

[[methods]]
id = "tgt"
method = "target-only"
learner = { kind = "knn", k = 1 }
budgets = [2]

[[methods]]
id = "both"
method = "source-and-target"
learner = { kind = "logistic" }
budgets = [2]
"#;

fn suite(seeds: &str) -> Suite {
    Suite::parse(&FEW_SHOT.replace("SEEDS", seeds), "test").unwrap()
}

#[test]
fn same_seed_gives_identical_rows_and_another_seed_changes_the_draws() {
    let a = run_suite(&suite("3"), None, true).unwrap();
    let b = run_suite(&suite("3"), None, true).unwrap();
    assert_eq!(a.len(), 6);
    let strip = |rows: &[tlab_experiments::store::Row]| {
        rows.iter().map(|r| r.without_timings()).collect::<Vec<_>>()
    };
    assert_eq!(strip(&a), strip(&b));
    let c = run_suite(&suite("4"), None, true).unwrap();
    // Target-only 1-NN on 2 labels per class depends on which labels were drawn.
    let tgt = |rows: &[tlab_experiments::store::Row]| {
        rows.iter()
            .filter(|r| r.method == "tgt")
            .map(|r| r.accuracy)
            .collect::<Vec<_>>()
    };
    assert_ne!(tgt(&a), tgt(&c));
    // 2 labels per class are withheld from scoring: moons has 2 classes, blobs 3 (300 samples each).
    let scored: Vec<u64> = a
        .iter()
        .filter(|r| r.method == "tgt")
        .map(|r| r.n_scored)
        .collect();
    assert_eq!(scored, vec![296, 294]);
}

#[test]
fn writes_parquet_csv_and_table() {
    let out = tempfile::tempdir().unwrap();
    let s = suite("0, 1");
    let (dir, table) = run_and_write(&s, None, out.path(), true).unwrap();
    let rows = read_parquet_rows(&dir.join("runs.parquet")).unwrap();
    assert_eq!(rows.len(), 2 * 3 * 2);
    let csv = std::fs::read_to_string(dir.join("runs.csv")).unwrap();
    assert_eq!(csv.lines().count(), rows.len() + 1);
    assert_eq!(
        std::fs::read_to_string(dir.join("table.md")).unwrap(),
        table
    );
    assert!(table.contains("| moons:angle=0→moons:angle=40 |"));
    assert!(table.contains("**average**"));
}

#[test]
fn built_in_suites_parse_and_name_real_domains() {
    for (origin, text) in DEFAULT_SUITES {
        let s = Suite::parse(text, origin).unwrap();
        assert!(!s.expand_pairs().is_empty(), "{origin}");
    }
}

#[test]
fn committed_suites_parse() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("suites");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "toml") {
            Suite::load(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            n += 1;
        }
    }
    assert!(n >= 6);
}

#[test]
fn a_benchmark_suite_without_data_says_where_to_point() {
    let s = Suite::parse(
        "name = \"x\"\ndataset = \"coil20\"\n[[methods]]\nid = \"nn\"\nmethod = \"source-only\"\nlearner = { kind = \"knn\" }\n",
        "x",
    )
    .unwrap();
    let e = run_suite(
        &s,
        Some(std::path::Path::new("/nonexistent/tlab-data")),
        true,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("/nonexistent/tlab-data"), "{e}");
}

#[test]
fn office_caltech_nn_row_through_the_pipeline() {
    let data = std::env::var_os("TLAB_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));
    if !data.is_dir() {
        eprintln!("SKIPPED: benchmark data not found at {}", data.display());
        return;
    }
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("suites/office-caltech-surf.toml");
    let mut s = Suite::load(&path).unwrap();
    s.methods.retain(|m| m.id == "NN");
    s.seeds = vec![0];
    let out = tempfile::tempdir().unwrap();
    let (_, table) = run_and_write(&s, Some(&data), out.path(), true).unwrap();
    // Every row shows ours and the published value equal to two decimals.
    for line in table.lines().filter(|l| l.contains('→')) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        assert_eq!(cells[2].trim_matches('*'), cells[3], "{line}");
    }
    assert!(
        table.contains("| **average** | **31.37** | 31.37 | 0.00 |"),
        "{table}"
    );
}

#[test]
fn adapters_and_reweighters_run_in_both_settings() {
    let text = r#"
name = "da"
dataset = "synthetic"
pairs = [["moons:angle=0", "moons:angle=35"]]
seeds = [1]

[[methods]]
id = "sa"
method = "adapt"
adapter = { kind = "sa", dim = 2 }
learner = { kind = "knn", k = 1 }
budgets = [0, 3]

[[methods]]
id = "ot"
method = "adapt"
adapter = { kind = "ot-sinkhorn" }
learner = { kind = "knn", k = 1 }

[[methods]]
id = "kmm"
method = "reweight"
reweighter = { kind = "kmm" }
learner = { kind = "logistic" }
budgets = [0, 3]
"#;
    let s = Suite::parse(text, "da").unwrap();
    let rows = run_suite(&s, None, true).unwrap();
    assert_eq!(rows.len(), 5);
    for r in &rows {
        assert!(r.accuracy > 0.0 && r.accuracy <= 100.0, "{r:?}");
        assert!(
            r.params.contains("\"adapter\"") || r.params.contains("\"reweighter\""),
            "{}",
            r.params
        );
        // Few-shot rows are scored on the target minus 3 labels per class (2 classes).
        assert_eq!(r.n_scored, if r.budget == 3 { 294 } else { 300 });
    }
}
