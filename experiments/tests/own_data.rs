//! A user's own data through a suite alone: a dataset file or an inline `[dataset]`,
//! Parquet domains, the registered SURF benchmark described as a user dataset (rows
//! identical), resume / shards / merge, a failed load leaving no folder, changed data
//! refused, and `tlab data inspect` / `tlab data check` on every fixture.

mod common;
use common::tlab;

use std::path::{Path, PathBuf};

use tlab_experiments::store::Row;
use tlab_experiments::suite::Suite;
use tlab_experiments::sweep::{merge, sweep, Shard, SweepOptions};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/tlab-core/tests/fixtures/own")
}

/// What a row says about the run, without its timing.
fn essence(r: &Row) -> String {
    format!(
        "{} {} {} {} {} {} {} {} {} {:?}",
        r.source,
        r.target,
        r.method,
        r.params,
        r.seed,
        r.budget,
        r.accuracy,
        r.macro_f1,
        r.n_scored,
        r.metrics
    )
}

/// Three domains of two Gaussian classes in 4-D, the target shifted, as CSV files: a
/// deterministic stand-in for a user's feature files.
fn write_csv_domains(dir: &Path) {
    for (d, shift) in [("north", 0.0), ("south", 0.7), ("east", 1.4)] {
        let mut text = String::from("id,f0,f1,f2,f3,species\n");
        for i in 0..40 {
            let class = i % 2;
            let row: Vec<String> = (0..4)
                .map(|j| {
                    // a fixed pseudo-random pattern, not a generator: same bytes everywhere
                    let noise = (((i * 7 + j * 13) % 17) as f64 - 8.0) / 8.0;
                    format!("{}", noise + 1.5 * class as f64 + shift * (j as f64 - 1.5))
                })
                .collect();
            let name = if class == 0 { "oak" } else { "pine" };
            text.push_str(&format!("{i},{},{name}\n", row.join(",")));
        }
        std::fs::write(dir.join(format!("{d}.csv")), text).unwrap();
    }
    let mut desc = String::from("name = \"forests\"\n");
    for (d, short) in [("north", "N"), ("south", "S"), ("east", "E")] {
        desc.push_str(&format!(
            "[[domains]]\nname = \"{d}\"\nshort = \"{short}\"\nfile = \"csv/{d}.csv\"\nlabels = \"species\"\nfeature_prefix = \"f\"\n"
        ));
    }
    std::fs::write(dir.join("../forests.toml"), desc).unwrap();
}

const METHODS: &str = r#"
seeds = [0, 1]
[[methods]]
id = "NN"
method = "source-only"
learner = { kind = "knn" }
[[methods]]
id = "LR"
method = "source-only"
learner = { kind = "logistic" }
[[methods]]
id = "CORAL"
method = "adapt"
adapter = { kind = "coral" }
learner = { kind = "logistic" }
[[methods]]
id = "T"
method = "target-only"
learner = { kind = "logistic" }
budgets = [3]
"#;

fn opts() -> SweepOptions {
    SweepOptions {
        quiet: true,
        ..Default::default()
    }
}

#[test]
fn a_dataset_file_suite_runs_resumes_shards_and_merges() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::create_dir_all(root.join("data/csv")).unwrap();
    write_csv_domains(&root.join("data/csv"));
    let text = format!("name = \"forests\"\ndataset = \"data/forests.toml\"\n{METHODS}");
    std::fs::write(root.join("forests.toml"), &text).unwrap();
    let suite = Suite::load(&root.join("forests.toml")).unwrap();
    assert_eq!(suite.expand_pairs().len(), 6);
    assert_eq!(suite.pair_label("north", "east"), "N→E");
    let out = root.join("results");
    let full = sweep(&suite, &out, &opts()).unwrap();
    assert_eq!(full.ran, 6 * 4 * 2);
    let rows: Vec<String> = full.rows.iter().map(essence).collect();
    assert!(full.rows.iter().all(|r| r.dataset == "forests"));
    // Learning happened: the unshifted classes are separable.
    assert!(full.rows.iter().any(|r| r.accuracy > 80.0));

    // The copy beside the results records every file and its sha1, and reads back alone.
    let copy = std::fs::read_to_string(out.join("forests/suite.toml")).unwrap();
    let sha1 = tlab_core::io::sha1_hex(&root.join("data/csv/east.csv")).unwrap();
    assert!(
        copy.contains("[resolved_dataset]") && copy.contains(&sha1),
        "{copy}"
    );
    let (back, stored) = tlab_experiments::sweep::load_results(&out.join("forests")).unwrap();
    assert_eq!(back.expand_pairs(), suite.expand_pairs());
    assert_eq!(stored.len(), rows.len());

    // Resume: a sweep killed after half its rows (as the journal leaves them) does the rest.
    let dir = out.join("forests");
    for f in ["runs.parquet", "runs.csv", "table.md"] {
        std::fs::remove_file(dir.join(f)).unwrap();
    }
    let half: String = full.rows[..24]
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    std::fs::write(dir.join("runs.jsonl"), half).unwrap();
    let resumed = sweep(&suite, &out, &opts()).unwrap();
    assert_eq!((resumed.ran, resumed.reused), (24, 24));
    assert_eq!(resumed.rows.iter().map(essence).collect::<Vec<_>>(), rows);

    // Shards, then merge: the same rows in the same order.
    let sharded = root.join("sharded");
    for i in 1..=3 {
        let o = SweepOptions {
            shard: Some(format!("{i}/3").parse::<Shard>().unwrap()),
            ..opts()
        };
        sweep(&suite, &sharded, &o).unwrap();
    }
    let (_, merged, _) = merge(&sharded.join("forests")).unwrap();
    assert_eq!(merged.iter().map(essence).collect::<Vec<_>>(), rows);

    // Changed data under stored rows is refused, naming the file and the remedy.
    let east = root.join("data/csv/east.csv");
    let mut t = std::fs::read_to_string(&east).unwrap();
    t.push_str("40,0,0,0,0,oak\n");
    std::fs::write(&east, t).unwrap();
    let mut more = suite.clone();
    more.seeds = vec![0, 1, 2];
    let e = sweep(&more, &out, &opts()).unwrap_err().to_string();
    assert!(
        e.contains("east.csv") && e.contains("changed") && e.contains("--fresh"),
        "{e}"
    );
    // Also when every run is stored and nothing would execute: no stale table is reprinted.
    let e = sweep(&suite, &out, &opts()).unwrap_err().to_string();
    assert!(e.contains("east.csv") && e.contains("changed"), "{e}");
    // --fresh recomputes on the new data.
    let fresh = SweepOptions {
        fresh: true,
        ..opts()
    };
    assert_eq!(sweep(&suite, &out, &fresh).unwrap().ran, 48);
}

#[test]
fn an_inline_dataset_with_parquet_domains_runs_through_the_binary() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let fx = fixtures();
    let suite = format!(
        r#"
name = "inline"
[dataset]
name = "tiny"
[[dataset.domains]]
name = "src"
file = "{0}/src.parquet"
labels = "label"
feature_prefix = "feat_"
[[dataset.domains]]
name = "tgt"
file = "{0}/tgt.parquet"
labels = "label"
feature_prefix = "feat_"
[[dataset.domains]]
name = "tgt2"
file = "{0}/tgt.npz"
features = "X"
labels = "y"

[[methods]]
id = "NN"
method = "source-only"
learner = {{ kind = "knn" }}
"#,
        fx.display()
    );
    std::fs::write(d.join("s.toml"), suite).unwrap();
    let (ok, out, err) = tlab(&["run", "s.toml", "--quiet"], d);
    assert!(ok, "{err}");
    // src → tgt and src → tgt2 are the same target through Parquet and NPZ.
    let line = |p: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("| {p} ")))
            .unwrap_or_else(|| panic!("{p} in {out}"))
            .split('|')
            .nth(2)
            .unwrap()
            .trim()
            .to_string()
    };
    assert_eq!(line("src→tgt"), line("src→tgt2"), "{out}");
    let rows = std::fs::read_to_string(d.join("results/inline/runs.csv")).unwrap();
    assert!(rows.contains(",tiny,"), "{rows}");
}

#[test]
fn a_load_failure_leaves_no_results_folder_and_names_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let suite = r#"
name = "broken"
[dataset]
[[dataset.domains]]
name = "a"
file = "a.mat"
features = "X"
labels = "y"
[[dataset.domains]]
name = "b"
file = "missing.mat"
features = "X"
labels = "y"
[[methods]]
id = "NN"
method = "source-only"
learner = { kind = "knn" }
"#;
    std::fs::write(d.join("s.toml"), suite).unwrap();
    std::fs::copy(fixtures().join("mixed.mat"), d.join("a.mat")).unwrap();
    let (ok, _, err) = tlab(&["run", "s.toml", "--quiet"], d);
    assert!(!ok);
    assert!(
        err.contains("missing.mat") && !err.contains("results store"),
        "{err}"
    );
    assert!(!d.join("results/broken").exists());
    // A wrong variable: the listing of what the file holds, still no folder.
    std::fs::copy(fixtures().join("both.mat"), d.join("missing.mat")).unwrap();
    let (ok, _, err) = tlab(&["run", "s.toml", "--quiet"], d);
    assert!(!ok);
    assert!(
        err.contains("`X` not found") && err.contains("`X_src` double 6×3"),
        "{err}"
    );
    assert!(!d.join("results/broken").exists());
    // An unknown domain in `pairs` is a suite error naming the known ones.
    let bad = suite.replacen(
        "name = \"broken\"\n",
        "name = \"broken\"\npairs = [[\"a\", \"c\"]]\n",
        1,
    );
    std::fs::write(d.join("s2.toml"), bad).unwrap();
    // Data that loads but a method that cannot run on it: the error names the run and
    // the cause; no run finished, so nothing is left behind.
    let gfk = suite.replacen(
        "learner = { kind = \"knn\" }",
        "learner = { kind = \"knn\" }\n[[methods]]\nid = \"GFK\"\nmethod = \"adapt\"\nadapter = { kind = \"gfk\", dim = 2 }\nlearner = { kind = \"knn\" }",
        1,
    )
    .replace("[[methods]]\nid = \"NN\"\nmethod = \"source-only\"\nlearner = { kind = \"knn\" }\n", "")
    .replace("missing.mat", "a.mat");
    std::fs::write(d.join("s3.toml"), gfk).unwrap();
    let (ok, _, err) = tlab(&["run", "s3.toml", "--quiet"], d);
    assert!(!ok, "{err}");
    assert!(
        err.contains("run a→b GFK")
            && err.contains("needs at least 4 features")
            && err.contains("nothing was stored"),
        "{err}"
    );
    assert!(!d.join("results/broken").exists());
    let (ok, _, err) = tlab(&["run", "s2.toml", "--quiet"], d);
    assert!(
        !ok && err.contains("unknown domain `c`") && err.contains("a, b"),
        "{err}"
    );
}

#[test]
fn data_inspect_and_check_on_every_fixture() {
    let fx = fixtures();
    let cwd = fx.as_path();
    let cases: &[(&str, &[&str])] = &[
        (
            "both.mat",
            &[
                "MATLAB v5",
                "X_src",
                "double",
                "6×3",
                "Y_src",
                "looks like labels: 3 classes, ids 10…30",
                "features = \"X_src\", labels = \"Y_src\" (samples = \"rows\")",
            ],
        ),
        (
            "cols_plain.mat",
            &[
                "feat",
                "single",
                "3×6",
                "lab",
                "int64",
                "1×6",
                "samples = \"columns\"",
            ],
        ),
        ("classes.mat", &["uint64", "int8", "logical", "X_float32"]),
        (
            "sparse.mat",
            &["sparse, 11 nonzeros", "(read as dense)", "logical"],
        ),
        (
            "mixed.mat",
            &[
                "names ",
                "skipped: text (char)",
                "skipped: a cell array",
                "skipped: a struct",
            ],
        ),
        ("src_x.npy", &["float32", "[6, 3]"]),
        ("src_y.npy", &["int64", "[6]", "looks like labels"]),
        (
            "tgt.npz",
            &["NumPy .npz, 2 arrays", "X", "float64", "[5, 3]", "int32"],
        ),
        ("tgt_stored.npz", &["NumPy .npz, 2 arrays"]),
        (
            "src.csv",
            &[
                "CSV, 4 columns × 6 rows",
                "label",
                "integer",
                "looks like labels: 3 classes",
            ],
        ),
        (
            "src.parquet",
            &[
                "Parquet, 5 columns × 6 rows",
                "feat_0",
                "f64",
                "label",
                "i64",
            ],
        ),
    ];
    for (file, want) in cases {
        let (ok, out, err) = tlab(&["data", "inspect", file], cwd);
        assert!(ok, "{file}: {err}");
        for w in *want {
            assert!(out.contains(w), "{file}: no {w:?} in\n{out}");
        }
    }
    let (ok, out, err) = tlab(&["data", "inspect", "v73.mat"], cwd);
    assert!(ok, "{err}");
    assert!(
        out.contains("MATLAB v7.3 (HDF5)")
            && out.contains("6×3")
            && out.contains("looks like labels"),
        "{out}"
    );

    // check: a description over the fixtures, one domain with a class the others lack.
    let tmp = tempfile::tempdir().unwrap();
    let desc = format!(
        r#"
[[domains]]
name = "src"
file = "{0}/both.mat"
features = "X_src"
labels = "Y_src"
[[domains]]
name = "sq"
file = "{0}/square.mat"
features = "X"
labels = "y"
samples = "rows"
[[domains]]
name = "pq"
file = "{0}/tgt.parquet"
labels = "label"
feature_prefix = "feat_"
"#,
        fx.display()
    );
    std::fs::write(tmp.path().join("d.toml"), &desc).unwrap();
    let (ok, out, err) = tlab(&["data", "check", "d.toml"], tmp.path());
    assert!(ok, "{err}\n{out}");
    assert!(out.contains("3 domains, 3 classes (10, 20, 30)"), "{out}");
    assert!(
        out.contains("| src | 6 | 3 | 3/3 | 10: 2 | 0 | 0 | 0 |"),
        "{out}"
    );
    assert!(out.contains("| sq | 3 | 3 | 2/3 |"), "{out}");
    assert!(out.contains("sq has no samples of class 30"), "{out}");
    assert!(out.contains("no problems found"), "{out}");
    // Every fixture as a domain of one dataset: the same shapes and classes through each path.
    let every = [
        (
            "mat_src",
            "both.mat",
            "features = \"X_src\"\nlabels = \"Y_src\"",
        ),
        (
            "mat_tgt",
            "both.mat",
            "features = \"X_tar\"\nlabels = \"Y_tar\"",
        ),
        (
            "mat_cols",
            "cols_plain.mat",
            "features = \"feat\"\nlabels = \"lab\"",
        ),
        (
            "mat_int8",
            "classes.mat",
            "features = \"X_int8\"\nlabels = \"y\"",
        ),
        (
            "mat_sparse",
            "sparse.mat",
            "features = \"X\"\nlabels = \"y\"",
        ),
        ("mat_mixed", "mixed.mat", "features = \"X\"\nlabels = \"y\""),
        ("mat_v73", "v73.mat", "features = \"X\"\nlabels = \"y\""),
        ("npy", "src_x.npy", "labels_file = \"src_y.npy\""),
        ("npz", "tgt.npz", "features = \"X\"\nlabels = \"y\""),
        (
            "npz_stored",
            "tgt_stored.npz",
            "features = \"X\"\nlabels = \"y\"",
        ),
        ("csv", "src.csv", "labels = \"label\""),
        (
            "parquet",
            "src.parquet",
            "labels = \"label\"\nfeature_prefix = \"feat_\"",
        ),
    ];
    let mut all = String::new();
    for (name, file, keys) in every {
        all.push_str(&format!(
            "[[domains]]\nname = \"{name}\"\nfile = \"{file}\"\n{keys}\n"
        ));
    }
    let every_dir = tempfile::tempdir().unwrap();
    let moved = all.replace("file = \"", &format!("file = \"{}/", fx.display()));
    std::fs::write(every_dir.path().join("every.toml"), moved).unwrap();
    let (ok, out, err) = tlab(&["data", "check", "every.toml"], every_dir.path());
    assert!(ok, "{err}\n{out}");
    assert!(out.contains("12 domains, 3 classes (10, 20, 30)"), "{out}");
    for (name, n) in [
        ("mat_src", 6),
        ("mat_tgt", 5),
        ("mat_cols", 6),
        ("mat_int8", 6),
        ("mat_sparse", 6),
        ("mat_mixed", 6),
        ("mat_v73", 6),
        ("npy", 6),
        ("npz", 5),
        ("npz_stored", 5),
        ("csv", 6),
        ("parquet", 6),
    ] {
        assert!(
            out.contains(&format!("| {name} | {n} | 3 | 3/3 |")),
            "{name}: {out}"
        );
    }
    assert!(out.contains("mat_int8 has 1 duplicate rows"), "{out}");
    // Problems: NaN, a constant domain, a duplicate row, another feature count.
    let bad = tmp.path().join("bad.csv");
    std::fs::write(&bad, "a,b,y\n1,2,x\n1,2,x\nNaN,2,z\n").unwrap();
    let narrow = tmp.path().join("narrow.csv");
    std::fs::write(&narrow, "a,y\n1,x\n2,z\n").unwrap();
    std::fs::write(
        tmp.path().join("bad.toml"),
        "[[domains]]\nname = \"bad\"\nfile = \"bad.csv\"\nlabels = \"y\"\n[[domains]]\nname = \"narrow\"\nfile = \"narrow.csv\"\nlabels = \"y\"\n",
    )
    .unwrap();
    let (ok, out, err) = tlab(&["data", "check", "bad.toml"], tmp.path());
    assert!(!ok, "{out}");
    assert!(
        out.contains("| bad | 3 | 2 | 2/2 | z: 1 | 1 | 1 | 1 |"),
        "{out}"
    );
    assert!(out.contains("bad has 1 NaN/Inf values"), "{out}");
    assert!(
        out.contains("different feature counts (bad 2, narrow 1)"),
        "{out}"
    );
    assert!(err.contains("2 problem(s)"), "{err}");
}

#[test]
fn surf_described_as_a_user_dataset_gives_the_registered_rows() {
    let Some(data) = std::env::var_os("TLAB_DATA")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data")))
        .filter(|d| d.is_dir())
    else {
        eprintln!("SKIPPED: benchmark data not found (set TLAB_DATA)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    // The user's description: no sha1 pins, no class list, the files by absolute path,
    // the protocol named as the papers give it.
    let mut desc = String::from("name = \"my-surf\"\npreprocess = \"sum-then-zscore\"\n");
    for (d, f) in [
        ("amazon", "amazon"),
        ("caltech", "Caltech10"),
        ("dslr", "dslr"),
        ("webcam", "webcam"),
    ] {
        desc.push_str(&format!(
            "[[domains]]\nname = \"{d}\"\nfile = \"{}/office_caltech10_surf/{f}_SURF_L10.mat\"\nfeatures = \"fts\"\nlabels = \"labels\"\n",
            data.display()
        ));
    }
    std::fs::write(tmp.path().join("surf.toml"), desc).unwrap();
    let body = r#"
pairs = [["caltech", "amazon"], ["amazon", "webcam"], ["dslr", "webcam"]]
seeds = [0, 1]
[[methods]]
id = "NN"
method = "source-only"
learner = { kind = "knn" }
[[methods]]
id = "JDA"
method = "adapt"
adapter = { kind = "jda", dim = 20, lambda = 1.0, iterations = 3 }
learner = { kind = "knn" }
[[methods]]
id = "LR"
method = "target-only"
learner = { kind = "logistic" }
budgets = [3]
"#;
    let registered = Suite::parse(
        &format!("name = \"reg\"\ndataset = \"office-caltech-surf\"\n{body}"),
        "reg",
    )
    .unwrap();
    let user = Suite::parse_in(
        &format!("name = \"user\"\ndataset = \"surf.toml\"\n{body}"),
        "user",
        tmp.path(),
    )
    .unwrap();
    let o = SweepOptions {
        data_dir: Some(data.clone()),
        ..opts()
    };
    let a = sweep(&registered, &tmp.path().join("r"), &o).unwrap();
    let b = sweep(&user, &tmp.path().join("r"), &o).unwrap();
    assert_eq!(a.rows.len(), 3 * 3 * 2);
    assert_eq!(
        a.rows.iter().map(essence).collect::<Vec<_>>(),
        b.rows.iter().map(essence).collect::<Vec<_>>()
    );
    assert!(b.rows.iter().all(|r| r.dataset == "my-surf"));
    // The registered NN row C→A is the published 23.70.
    let ca = a
        .rows
        .iter()
        .find(|r| r.method == "NN" && r.source == "caltech")
        .unwrap();
    assert!((ca.accuracy - 23.70).abs() < 0.005, "{}", ca.accuracy);
}

#[test]
fn the_readme_example_runs_as_written_from_the_repository_root() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    let (ok, text, err) = tlab(&["data", "check", "examples/own-data/dataset.toml"], &root);
    assert!(
        ok && text.contains("2 domains, 3 classes (chair, lamp, mug)"),
        "{err}{text}"
    );
    let (ok, text, err) = tlab(
        &["run", "examples/own-data/suite.toml", "--quiet", "--out", o],
        &root,
    );
    assert!(ok, "{err}");
    assert!(
        text.contains("| S→P |") && text.contains("dataset `objects`"),
        "{text}"
    );
}

#[test]
fn a_target_class_the_source_lacks_is_reported_and_every_class_aware_method_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // Source: classes 0, 1, 2; target: 0, 1, 2, 3. A fixed pattern, not a generator.
    for (name, classes, shift) in [("a", 3usize, 0.0), ("b", 4, 0.4)] {
        let mut t = String::from("x1,x2,x3,x4,y\n");
        for i in 0..60 {
            let c = i % classes;
            let row: Vec<String> = (0..4)
                .map(|j| {
                    let noise = (((i * 5 + j * 11) % 13) as f64 - 6.0) / 6.0;
                    format!("{}", noise + 2.5 * f64::from(u8::from(c == j)) + shift)
                })
                .collect();
            t.push_str(&format!("{},{c}\n", row.join(",")));
        }
        std::fs::write(d.join(format!("{name}.csv")), t).unwrap();
    }
    let mut suite = String::from(
        "name = \"missing\"\npairs = [[\"a\", \"b\"]]\n[dataset]\n[[dataset.domains]]\nname = \"a\"\nfile = \"a.csv\"\nlabels = \"y\"\n[[dataset.domains]]\nname = \"b\"\nfile = \"b.csv\"\nlabels = \"y\"\n",
    );
    for (id, spec) in [
        ("JDA", "method = \"adapt\"\nadapter = { kind = \"jda\", dim = 2 }\nlearner = { kind = \"knn\" }"),
        ("BDA", "method = \"adapt\"\nadapter = { kind = \"bda\", dim = 2 }\nlearner = { kind = \"knn\" }"),
        ("OTc", "method = \"adapt\"\nadapter = { kind = \"ot-class-reg\" }\nlearner = { kind = \"knn\" }"),
        ("EasyTL", "method = \"label\"\nlabeller = { kind = \"easytl\" }"),
        ("MEDA", "method = \"label\"\nlabeller = { kind = \"meda\", dim = 1 }"),
        ("T", "method = \"target-only\"\nlearner = { kind = \"logistic\" }\nbudgets = [2]"),
    ] {
        suite.push_str(&format!("[[methods]]\nid = \"{id}\"\n{spec}\n"));
    }
    std::fs::write(d.join("s.toml"), suite).unwrap();
    let (ok, out, err) = tlab(&["run", "s.toml", "--quiet"], d);
    assert!(ok, "{err}");
    assert!(
        err.contains("target classes absent from the source: 3"),
        "{err}"
    );
    let rows = std::fs::read_to_string(d.join("results/missing/runs.csv")).unwrap();
    assert_eq!(rows.lines().count(), 7, "{rows}");
    // Every accuracy is a number; class 3 (a quarter of the target) can only be scored
    // right by the method that sees target labels, so the others stay at most 75 + rounding.
    let avg = out.lines().find(|l| l.contains("**average**")).unwrap();
    assert!(!avg.contains("NaN"), "{avg}");
}

#[test]
fn parquet_domains_read_the_fixture_numbers() {
    use tlab_core::dataset::TableReader;
    use tlab_core::io::ColumnSelection;
    let (x, y) = tlab_experiments::data::ParquetTables
        .read_table(
            &fixtures().join("tgt.parquet"),
            &ColumnSelection::Prefix("feat_".into()),
            "label",
        )
        .unwrap();
    let xt = ndarray::Array2::from_shape_fn((5, 3), |(i, j)| (3 * i + j) as f64 / 8.0 + 0.5);
    assert_eq!(x, xt);
    let ids: Vec<String> = y.iter().map(|c| c.to_string()).collect();
    assert_eq!(ids, ["20", "10", "30", "30", "10"]);
}

#[test]
fn features_at_overflowing_scales_are_refused_with_the_remedy_not_run_at_chance() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for (name, shift) in [("a", 0.0), ("b", 0.5)] {
        let mut t = String::from("x1,x2,x3,y\n");
        for i in 0..45 {
            let c = i % 3;
            let row: Vec<String> = (0..3)
                .map(|j| {
                    let noise = (((i * 7 + j * 5) % 11) as f64 - 5.0) / 5.0;
                    format!(
                        "{:e}",
                        (noise + 3.0 * f64::from(u8::from(c == j)) + shift) * 1e300
                    )
                })
                .collect();
            t.push_str(&format!("{},{c}\n", row.join(",")));
        }
        std::fs::write(d.join(format!("{name}.csv")), t).unwrap();
    }
    let suite = |pre: &str| {
        format!(
            "name = \"huge\"\n{pre}pairs = [[\"a\", \"b\"]]\n[dataset]\n[[dataset.domains]]\nname = \"a\"\nfile = \"a.csv\"\nlabels = \"y\"\n[[dataset.domains]]\nname = \"b\"\nfile = \"b.csv\"\nlabels = \"y\"\n[[methods]]\nid = \"KMM\"\nmethod = \"reweight\"\nreweighter = {{ kind = \"kmm\" }}\nlearner = {{ kind = \"logistic\" }}\n"
        )
    };
    std::fs::write(d.join("raw.toml"), suite("")).unwrap();
    let (ok, _, err) = tlab(&["run", "raw.toml", "--quiet"], d);
    assert!(!ok, "{err}");
    assert!(
        err.contains("domain `a`")
            && err.contains("e300 after preprocessing `none`")
            && err.contains("preprocess = \"zscore\""),
        "{err}"
    );
    assert!(!d.join("results/huge").exists());
    // Rescaled by the protocol, the same data is learnable: far above chance (33%).
    std::fs::write(d.join("z.toml"), suite("preprocess = \"zscore\"\n")).unwrap();
    let (ok, out, err) = tlab(&["run", "z.toml", "--quiet"], d);
    assert!(ok, "{err}");
    let line = out.lines().find(|l| l.starts_with("| a→b")).unwrap();
    let acc: f64 = line
        .split('|')
        .nth(2)
        .unwrap()
        .trim()
        .trim_matches('*')
        .parse()
        .unwrap();
    assert!(acc > 60.0, "{line}");
}

#[test]
fn a_suite_named_by_a_bare_file_name_records_absolute_files_and_refuses_changed_data() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::copy(fixtures().join("src.csv"), d.join("a.csv")).unwrap();
    std::fs::copy(fixtures().join("src.csv"), d.join("b.csv")).unwrap();
    let suite = "name = \"bare\"\n[dataset]\n[[dataset.domains]]\nname = \"a\"\nfile = \"a.csv\"\nlabels = \"label\"\n[[dataset.domains]]\nname = \"b\"\nfile = \"b.csv\"\nlabels = \"label\"\n[[methods]]\nid = \"NN\"\nmethod = \"source-only\"\nlearner = { kind = \"knn\" }\n";
    std::fs::write(d.join("s.toml"), suite).unwrap();
    let (ok, _, err) = tlab(&["run", "s.toml", "--quiet"], d);
    assert!(ok, "{err}");
    let copy = std::fs::read_to_string(d.join("results/bare/suite.toml")).unwrap();
    let b = std::path::absolute(d.join("b.csv")).unwrap();
    assert!(
        copy.contains(&format!("file = \"{}\"", b.display())),
        "{copy}"
    );
    // Every run is stored: the changed file is still caught, not reused.
    let mut t = std::fs::read_to_string(d.join("b.csv")).unwrap();
    t.push_str("9.0,9.0,9.0,10\n");
    std::fs::write(d.join("b.csv"), t).unwrap();
    let (ok, _, err) = tlab(&["run", "s.toml", "--quiet"], d);
    assert!(
        !ok && err.contains("b.csv") && err.contains("changed"),
        "{err}"
    );
}
