//! The results store survives a kill: a sweep killed part-way (SIGKILL, plus a journal line
//! cut short as a kill mid-write leaves it) and restarted runs only what is missing, and
//! ends with exactly the rows of an uninterrupted sweep — no loss, no duplicates. Two
//! shards merged equal one unsharded sweep, row for row.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tlab_experiments::store::{read_parquet_rows, Row};
use tlab_experiments::suite::Suite;
use tlab_experiments::sweep::{merge, sweep, Journal, Shard, SweepOptions};

const SUITE: &str = r#"
name = "resume"
dataset = "digits"
preprocess = "none"
pairs = [["original", "rotate=20"], ["original", "noise=4"]]
seeds = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
metrics = ["mmd-linear"]

[[methods]]
id = "tgt"
method = "target-only"
learner = { kind = "logistic" }
budgets = [3]

[[methods]]
id = "both"
method = "source-and-target"
learner = { kind = "logistic" }
budgets = [3]
"#;

fn strip(rows: &[Row]) -> Vec<Row> {
    rows.iter().map(Row::without_timings).collect()
}

fn journal_lines(path: &Path) -> usize {
    std::fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

fn quiet() -> SweepOptions {
    SweepOptions {
        quiet: true,
        ..Default::default()
    }
}

#[test]
fn a_killed_sweep_resumes_with_nothing_lost_or_duplicated() {
    let suite = Suite::parse(SUITE, "resume").unwrap();
    let total = 2 * 2 * 10;
    let reference = tempfile::tempdir().unwrap();
    let want = sweep(&suite, reference.path(), &quiet()).unwrap().rows;
    assert_eq!(want.len(), total);

    let work = tempfile::tempdir().unwrap();
    let suite_path = work.path().join("resume.toml");
    std::fs::write(&suite_path, SUITE).unwrap();
    let out = work.path().join("out");
    let tlab = env!("CARGO_BIN_EXE_tlab");
    let args = |extra: &[&str]| {
        let mut c = Command::new(tlab);
        c.arg("run")
            .arg(&suite_path)
            .arg("--out")
            .arg(&out)
            .args(["--quiet", "--threads", "1"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        c
    };
    let journal = out.join("resume").join(Journal::FILE);
    let mut child = args(&[]).spawn().unwrap();
    let started = Instant::now();
    while journal_lines(&journal) < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no progress in the journal"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sweep finished before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let kept = journal_lines(&journal);
    assert!(
        kept >= 3 && kept < total,
        "killed after {kept} of {total} runs"
    );
    assert!(
        !out.join("resume/runs.parquet").exists(),
        "no final file from a killed sweep"
    );
    // A kill in the middle of a write leaves a line cut short: append one.
    let first_line: Vec<u8> = std::fs::read(&journal)
        .unwrap()
        .split(|&b| b == b'\n')
        .next()
        .unwrap()
        .to_vec();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap()
        .write_all(&first_line[..first_line.len() / 2])
        .unwrap();

    let done = args(&[]).output().unwrap();
    assert!(done.status.success());
    let log = String::from_utf8_lossy(&done.stderr);
    assert!(
        log.contains(&format!(
            "{} runs done now, {kept} already stored",
            total - kept
        )),
        "{log}"
    );
    let got = read_parquet_rows(&out.join("resume/runs.parquet")).unwrap();
    assert_eq!(strip(&got), strip(&want));
    assert!(got.iter().all(|r| r.metrics.contains_key("mmd-linear")));
    assert!(!journal.exists(), "the journal is removed once complete");

    // Running again does nothing; changing the suite without --fresh is refused.
    let again = args(&[]).output().unwrap();
    assert!(String::from_utf8_lossy(&again.stderr)
        .contains(&format!("0 runs done now, {total} already stored")));
    std::fs::write(
        &suite_path,
        SUITE.replace(
            "budgets = [3]\n\n[[methods]]\nid = \"both\"",
            "budgets = [2]\n\n[[methods]]\nid = \"both\"",
        ),
    )
    .unwrap();
    let changed = args(&[]).output().unwrap();
    assert_eq!(changed.status.code(), Some(2));
    let msg = String::from_utf8_lossy(&changed.stderr);
    assert!(
        msg.contains("--fresh") && msg.contains("does not define"),
        "{msg}"
    );
}

#[test]
fn two_shards_merged_equal_one_unsharded_sweep() {
    let suite = Suite::parse(SUITE, "resume").unwrap();
    let whole = tempfile::tempdir().unwrap();
    let want = sweep(&suite, whole.path(), &quiet()).unwrap().rows;
    let shards = tempfile::tempdir().unwrap();
    let dir = shards.path().join("resume");
    let one = |i| SweepOptions {
        shard: Some(Shard { index: i, count: 2 }),
        ..quiet()
    };
    let first = sweep(&suite, shards.path(), &one(1)).unwrap();
    assert_eq!(first.dir, dir.join("shard-1-of-2"));
    assert_eq!(first.rows.len(), want.len() / 2);
    // With one shard missing, merge says which.
    let e = merge(&dir).unwrap_err().to_string();
    assert!(e.contains("2/2"), "{e}");
    sweep(&suite, shards.path(), &one(2)).unwrap();
    let (_, merged, _) = merge(&dir).unwrap();
    assert_eq!(strip(&merged), strip(&want));
    let stored = read_parquet_rows(&dir.join("runs.parquet")).unwrap();
    assert_eq!(strip(&stored), strip(&want));
    assert_eq!(
        std::fs::read_to_string(dir.join("table.md")).unwrap(),
        std::fs::read_to_string(whole.path().join("resume/table.md")).unwrap()
    );
}

#[test]
fn adding_a_metric_reruns_the_rows_that_lack_it() {
    let plain = Suite::parse(&SUITE.replace("metrics = [\"mmd-linear\"]\n", ""), "m").unwrap();
    let out = tempfile::tempdir().unwrap();
    let first = sweep(&plain, out.path(), &quiet()).unwrap();
    assert!(first.rows.iter().all(|r| r.metrics.is_empty()));
    let with = Suite::parse(
        &SUITE.replace("[\"mmd-linear\"]", "[\"mmd-linear\", \"leep\", \"nce\"]"),
        "m",
    )
    .unwrap();
    let second = sweep(&with, out.path(), &quiet()).unwrap();
    assert_eq!((second.ran, second.reused), (first.rows.len(), 0));
    // Every run here has 3 labels per class: the label-aware scores are there too.
    for r in &second.rows {
        assert!(["mmd-linear", "leep", "nce"]
            .iter()
            .all(|m| r.metrics.contains_key(*m)));
        assert!(r.metrics["leep"] < 0.0 && r.metrics["nce"] <= 0.0);
    }
    assert_eq!(strip(&second.rows).len(), first.rows.len());
    let third = sweep(&with, out.path(), &quiet()).unwrap();
    assert_eq!(third.ran, 0);
}

#[test]
fn redo_reruns_only_the_named_method() {
    let suite = Suite::parse(SUITE, "resume").unwrap();
    let out = tempfile::tempdir().unwrap();
    let first = sweep(&suite, out.path(), &quiet()).unwrap();
    assert_eq!(first.ran, 40);
    let redo = SweepOptions {
        redo: vec!["both".into()],
        ..quiet()
    };
    let again = sweep(&suite, out.path(), &redo).unwrap();
    // Only "both"'s 20 runs execute; "tgt"'s stored rows are reused, and the rows come
    // back in run order, equal to the first sweep's but for the timings.
    assert_eq!((again.ran, again.reused), (20, 20));
    assert_eq!(strip(&again.rows), strip(&first.rows));
    let dir = out.path().join("resume");
    let stored = read_parquet_rows(&dir.join("runs.parquet")).unwrap();
    assert_eq!(strip(&stored), strip(&first.rows));
    // The reused rows keep their timings; the redone ones were measured again.
    for (a, b) in again.rows.iter().zip(&first.rows) {
        if a.method == "tgt" {
            assert_eq!(a.fit_seconds, b.fit_seconds);
        }
    }
    // An id the suite does not define is an error naming the ids it does, and leaves the
    // stored rows alone.
    let bad = SweepOptions {
        redo: vec!["nope".into()],
        ..quiet()
    };
    let err = sweep(&suite, out.path(), &bad).unwrap_err().to_string();
    assert!(
        err.contains("\"nope\"") && err.contains("tgt, both"),
        "{err}"
    );
    assert_eq!(
        read_parquet_rows(&dir.join("runs.parquet")).unwrap().len(),
        40
    );
}
