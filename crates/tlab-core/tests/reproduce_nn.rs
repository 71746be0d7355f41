//! Must-show 1 of the foundation: source-only 1-NN under the published protocol
//! (../shared/data/README.md) reproduces the NN rows of Long et al., ICCV 2013, Tables 2–3
//! (as listed in ../shared/reference/published-results.md, Tables A and C) to 0.01.

mod common;

use tlab_core::learners::{Classifier, KNearest, TrainSet};
use tlab_core::registry::benchmark;
use tlab_core::{make_task, LabelBudget};

fn one_nn(bench: &str, source: &str, target: &str) -> f64 {
    let dir = common::data_dir().expect("checked by caller");
    let b = benchmark(bench).unwrap();
    let s = b.load(&dir, source, None).unwrap();
    let t = b.load(&dir, target, None).unwrap();
    let (task, eval) = make_task(s, t, LabelBudget::Unsupervised, 0).unwrap();
    let fit = KNearest::new(1)
        .unwrap()
        .fit(TrainSet::from_domain(&task.source))
        .unwrap();
    let pred = fit.predict(task.target.x()).unwrap();
    eval.score(&pred).unwrap().accuracy
}

/// Asserts each pair to 0.01 and returns our accuracies (empty when the data is absent).
fn check(bench: &str, rows: &[(&str, &str, f64)]) -> Vec<f64> {
    if common::data_dir().is_none() {
        return Vec::new();
    }
    let mut failures = Vec::new();
    let mut ours = Vec::new();
    for &(s, t, want) in rows {
        let got = one_nn(bench, s, t);
        ours.push(got);
        eprintln!("{bench} {s}→{t}: {got:.2} (published {want:.2})");
        if (got - want).abs() > 0.01 {
            failures.push(format!("{s}→{t}: {got:.4} vs published {want:.2}"));
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
    ours
}

#[test]
fn office_caltech_surf_nn_row() {
    let rows = [
        ("caltech", "amazon", 23.70),
        ("caltech", "webcam", 25.76),
        ("caltech", "dslr", 25.48),
        ("amazon", "caltech", 26.00),
        ("amazon", "webcam", 29.83),
        ("amazon", "dslr", 25.48),
        ("webcam", "caltech", 19.86),
        ("webcam", "amazon", 22.96),
        ("webcam", "dslr", 59.24),
        ("dslr", "caltech", 26.27),
        ("dslr", "amazon", 28.50),
        ("dslr", "webcam", 63.39),
    ];
    let ours = check("office-caltech-surf", &rows);
    if !ours.is_empty() {
        let avg = ours.iter().sum::<f64>() / 12.0;
        assert!((avg - 31.37).abs() < 0.01, "average {avg}");
    }
}

#[test]
fn mnist_usps_nn_row() {
    check(
        "mnist-usps",
        &[("usps", "mnist", 44.70), ("mnist", "usps", 65.94)],
    );
}

#[test]
fn coil20_nn_row() {
    check(
        "coil20",
        &[("coil1", "coil2", 83.61), ("coil2", "coil1", 82.78)],
    );
}
