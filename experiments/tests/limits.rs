//! Experiments that cannot mean what they say are refused, and a small file cannot ask
//! for unbounded work (issue 29, items 4–6): same-domain and duplicated pairs, empty pair
//! lists, oversized grids and suites, empty shards, a second writer on one folder, stored
//! rows under changed suite settings, thread counts beyond the machine.

mod common;
use common::tlab;

use tlab_experiments::suite::Suite;
use tlab_experiments::sweep::{sweep, FolderLock, Shard, SweepOptions};

const HEAD: &str = "name = \"lim\"\ndataset = \"synthetic\"\n";
const METHOD: &str =
    "[[methods]]\nid = \"src\"\nmethod = \"source-only\"\nlearner = { kind = \"logistic\" }\n";

fn parse_err(text: &str) -> String {
    Suite::parse(text, "t").unwrap_err().to_string()
}

#[test]
fn pairs_that_cannot_mean_a_transfer_result_are_refused() {
    // A described dataset's domain is the same rows on both sides; built-in data draws a
    // pair's two sides separately, so there `[x, x]` is the no-shift control and allowed.
    let described = "name = \"lim\"\n[dataset]\n[[dataset.domains]]\nname = \"a\"\nfile = \"a.csv\"\nlabels = \"y\"\n[[dataset.domains]]\nname = \"b\"\nfile = \"b.csv\"\nlabels = \"y\"\n";
    let e = parse_err(&format!("pairs = [[\"a\", \"a\"]]\n{described}{METHOD}"));
    assert!(e.contains("same domain") && e.contains("oracle"), "{e}");
    Suite::parse(
        &format!("{HEAD}pairs = [[\"blobs:shift=0\", \"blobs:shift=0\"]]\n{METHOD}"),
        "t",
    )
    .unwrap();
    let e = parse_err(&format!(
        "{HEAD}pairs = [[\"blobs:shift=0\", \"blobs:shift=1\"], [\"blobs:shift=0\", \"blobs:shift=1\"]]\n{METHOD}"
    ));
    assert!(e.contains("appears twice"), "{e}");
    let e = parse_err(&format!("{HEAD}pairs = []\n{METHOD}"));
    assert!(e.contains("`pairs = []` names no pair"), "{e}");
    let e = parse_err(&format!("{HEAD}domains = [\"blobs:shift=0\"]\n{METHOD}"));
    assert!(e.contains("at least two domains"), "{e}");
    let e = parse_err(&format!(
        "{HEAD}domains = [\"blobs:shift=0\", \"blobs:shift=1\", \"blobs:shift=0\"]\n{METHOD}"
    ));
    assert!(e.contains("\"blobs:shift=0\" appears twice"), "{e}");
}

#[test]
fn a_small_file_cannot_ask_for_unbounded_work() {
    // A 10^9-entry grid: refused at parse, before anything is expanded.
    let values: Vec<String> = (0..1000).map(|i| format!("{}.0", i + 1)).collect();
    let list = values.join(", ");
    let grid = format!(
        "{HEAD}pairs = [[\"blobs:shift=0\", \"blobs:shift=1\"]]\n[[methods]]\nid = \"g\"\nmethod = \"source-only\"\nlearner = {{ kind = \"logistic\" }}\ngrid = {{ \"learner.c\" = [{list}], \"learner.max_iter\" = [{}], \"learner.tol\" = [{list}] }}\n",
        (1..=1000).map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
    );
    let e = parse_err(&grid);
    assert!(
        e.contains("more than 1000000 entries") && e.contains("TLAB_MAX_RUNS"),
        "{e}"
    );
    // Within the grid bound, but seeds × pairs × columns past the run bound.
    let seeds: Vec<String> = (0..2000).map(|s| s.to_string()).collect();
    let big = format!(
        "{HEAD}domains = [{}]\nseeds = [{}]\n[[methods]]\nid = \"g\"\nmethod = \"source-only\"\nlearner = {{ kind = \"logistic\" }}\ngrid = {{ \"learner.c\" = [{}] }}\n",
        (0..30).map(|i| format!("\"blobs:shift={i}\"")).collect::<Vec<_>>().join(", "),
        seeds.join(", "),
        values[..10].join(", ")
    );
    let e = parse_err(&big);
    assert!(
        e.contains("more than 1000000 runs") && e.contains("870 pairs"),
        "{e}"
    );
}

#[test]
fn describe_summarises_a_large_suite() {
    let tmp = tempfile::tempdir().unwrap();
    let values: Vec<String> = (0..300).map(|i| format!("{}.0", i + 1)).collect();
    let text = format!(
        "{HEAD}domains = [{}]\n[[methods]]\nid = \"g\"\nmethod = \"source-only\"\nlearner = {{ kind = \"logistic\" }}\ngrid = {{ \"learner.c\" = [{}] }}\n",
        (0..10).map(|i| format!("\"blobs:shift={i}\"")).collect::<Vec<_>>().join(", "),
        values.join(", ")
    );
    std::fs::write(tmp.path().join("big.toml"), text).unwrap();
    let (ok, out, err) = tlab(&["describe", "big.toml"], tmp.path());
    assert!(ok, "{err}");
    assert!(
        out.contains("27000 runs = 90 pairs × (300 method/budget columns)"),
        "{out}"
    );
    assert!(
        out.contains("… and 50 more") && out.contains("… and 260 more"),
        "{out}"
    );
    assert!(out.lines().count() < 120, "{}", out.lines().count());
}

#[test]
fn shards_folders_and_settings() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path();
    let text = format!(
        "{HEAD}pairs = [[\"blobs:shift=0\", \"blobs:shift=1\"]]\nseeds = [0, 1, 2]\n{METHOD}"
    );
    let suite = Suite::parse(&text, "t").unwrap();
    let opts = SweepOptions {
        quiet: true,
        ..Default::default()
    };
    // A shard beyond the run count is an error, not an empty success.
    let empty = SweepOptions {
        shard: Some("4/5".parse::<Shard>().unwrap()),
        ..opts.clone()
    };
    let e = sweep(&suite, out, &empty).unwrap_err().to_string();
    assert!(
        e.contains("shard 4/5 is empty") && e.contains("3 runs"),
        "{e}"
    );
    assert!(!out.join("lim").exists());

    // A second writer on one folder is refused while the first holds it.
    let dir = out.join("lim");
    let held = FolderLock::take(&dir).unwrap();
    let e = sweep(&suite, out, &opts).unwrap_err().to_string();
    assert!(e.contains("another tlab run is writing this folder"), "{e}");
    drop(held);
    assert_eq!(sweep(&suite, out, &opts).unwrap().ran, 3);

    // Stored rows under other suite settings are refused, naming what changed.
    let changed = Suite::parse(
        &text.replace(HEAD, &format!("{HEAD}preprocess = \"zscore\"\n")),
        "t",
    )
    .unwrap();
    let e = sweep(&changed, out, &opts).unwrap_err().to_string();
    assert!(
        e.contains("`preprocess` was (absent), now \"zscore\"") && e.contains("--fresh"),
        "{e}"
    );
    let seeded = Suite::parse(&text.replace(HEAD, &format!("{HEAD}data_seed = 7\n")), "t").unwrap();
    let e = sweep(&seeded, out, &opts).unwrap_err().to_string();
    assert!(e.contains("`data_seed` was (absent), now 7"), "{e}");
    let fresh = SweepOptions {
        fresh: true,
        ..opts.clone()
    };
    assert_eq!(sweep(&changed, out, &fresh).unwrap().ran, 3);
    // Temporary files have unique names and none is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn thread_counts_are_capped_at_the_cores() {
    let tmp = tempfile::tempdir().unwrap();
    let (ok, _, err) = tlab(&["--threads", "100000", "list"], tmp.path());
    assert!(ok && err.contains("more than this machine's"), "{err}");
    let (ok, _, err) = tlab(&["--threads", "0", "list"], tmp.path());
    assert!(!ok && err.contains("at least one thread"), "{err}");
}
