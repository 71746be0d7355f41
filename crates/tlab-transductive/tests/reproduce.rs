//! Reproductions against ../shared/data (skipped, with a note, when it is absent).
//!
//! JDA golden values: ../shared/reference/jda_reference.py (a direct numpy/scipy port of the
//! authors' JDA: λ 1.0, dim 100, 10 iterations, 1-NN pseudo-labels) run on these files:
//! `python3 jda_reference.py ../data` — the per-pair numbers below are its output, as listed
//! in ../shared/reference/published-results.md.

use std::path::PathBuf;

use tlab_core::learners::{Classifier, KNearest, TrainSet};
use tlab_core::registry::benchmark;
use tlab_core::{make_task, LabelBudget};
use tlab_transductive::AdapterSpec;

fn data_dir() -> Option<PathBuf> {
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

/// Adapter then 1-NN on the adapted source; accuracy (%) on every target sample.
fn accuracy(bench: &str, source: &str, target: &str, spec: &AdapterSpec) -> f64 {
    let dir = data_dir().expect("checked");
    let b = benchmark(bench).unwrap();
    let (task, eval) = make_task(
        b.load(&dir, source, None).unwrap(),
        b.load(&dir, target, None).unwrap(),
        LabelBudget::Unsupervised,
        0,
    )
    .unwrap();
    let emb = spec
        .build()
        .unwrap()
        .adapt(&task.source, &task.target, 0)
        .unwrap();
    let fit = KNearest::new(1)
        .unwrap()
        .fit(TrainSet::new(
            emb.source.view(),
            task.source.y().view(),
            task.source.n_classes(),
        ))
        .unwrap();
    eval.score(&fit.predict(emb.target.view()).unwrap())
        .unwrap()
        .accuracy
}

const SURF_PAIRS: [(&str, &str); 12] = [
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

#[test]
fn jda_matches_the_reference_port_on_office_caltech_surf() {
    if data_dir().is_none() {
        return;
    }
    let port = [
        44.78, 37.29, 43.31, 36.78, 37.97, 28.66, 29.74, 35.91, 85.35, 31.26, 30.17, 84.75,
    ];
    let spec: AdapterSpec =
        serde_json::from_str(r#"{"kind": "jda", "dim": 100, "lambda": 1.0, "iterations": 10}"#)
            .unwrap();
    let mut failures = Vec::new();
    let mut ours = Vec::new();
    for ((s, t), want) in SURF_PAIRS.iter().zip(port) {
        let got = accuracy("office-caltech-surf", s, t, &spec);
        eprintln!("JDA {s}→{t}: {got:.2} (port {want:.2})");
        ours.push(got);
        if (got - want).abs() > 0.5 {
            failures.push(format!("{s}→{t}: {got:.2} vs port {want:.2}"));
        }
    }
    eprintln!(
        "JDA average {:.2} (port 43.83)",
        ours.iter().sum::<f64>() / 12.0
    );
    assert!(failures.is_empty(), "{failures:?}");
}
