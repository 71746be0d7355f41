//! The labellers against ../shared/reference/published-results.md: EasyTL (Wang et al.,
//! ICME 2019) against the public re-run's Table D (Amazon reviews, 400 features) and the
//! SURF row beside it; MEDA (Wang et al., ACM MM 2018) against Table B. Protocol as stated
//! there: rows divided by their sums, then z-scored (the registry default for both
//! benchmarks). Skipped, with a note, without data.

mod common;
use common::{data_dir, SURF_PAIRS};

use std::path::Path;

use tlab_core::registry::benchmark;
use tlab_core::{make_task, LabelBudget};
use tlab_transductive::{CentreDistance, EasyTl, IntraAlign};

fn accuracy(dir: &Path, bench: &str, s: &str, t: &str, align: IntraAlign) -> f64 {
    let b = benchmark(bench).unwrap();
    let (task, eval) = make_task(
        b.load(dir, s, None).unwrap(),
        b.load(dir, t, None).unwrap(),
        LabelBudget::Unsupervised,
        0,
    )
    .unwrap();
    let labels = EasyTl::new(align, CentreDistance::Euclidean)
        .label(&task.source, &task.target)
        .unwrap();
    eval.score(&labels).unwrap().accuracy
}

/// Per-pair accuracies, each within rounding (0.05, the table has one decimal) of the
/// published value; returns their average.
fn table(
    dir: &Path,
    bench: &str,
    pairs: &[(&str, &str)],
    align: IntraAlign,
    published: &[f64],
) -> f64 {
    let mut sum = 0.0;
    let mut off = Vec::new();
    for ((s, t), p) in pairs.iter().zip(published) {
        let a = accuracy(dir, bench, s, t, align);
        eprintln!("EasyTL {align:?} {bench} {s}→{t}: {a:.2} (published {p:.1})");
        if (a - p).abs() > 0.05 + 1e-9 {
            off.push(format!("{s}→{t}: {a:.2} vs {p:.1}"));
        }
        sum += a;
    }
    assert!(off.is_empty(), "EasyTL {align:?} on {bench}: {off:?}");
    sum / pairs.len() as f64
}

const AMAZON: [(&str, &str); 12] = [
    ("books", "dvd"),
    ("books", "elec"),
    ("books", "kitchen"),
    ("dvd", "books"),
    ("dvd", "elec"),
    ("dvd", "kitchen"),
    ("elec", "books"),
    ("elec", "dvd"),
    ("elec", "kitchen"),
    ("kitchen", "books"),
    ("kitchen", "dvd"),
    ("kitchen", "elec"),
];

#[test]
fn easytl_reproduces_table_d_on_amazon_reviews_pair_by_pair() {
    let Some(dir) = data_dir() else { return };
    let coral = table(
        &dir,
        "amazon-reviews",
        &AMAZON,
        IntraAlign::Coral,
        &[
            79.8, 79.7, 80.9, 79.9, 80.8, 82.0, 75.0, 75.3, 84.9, 76.5, 76.3, 82.5,
        ],
    );
    let raw = table(
        &dir,
        "amazon-reviews",
        &AMAZON,
        IntraAlign::Raw,
        &[
            78.4, 77.5, 79.2, 79.5, 77.4, 80.4, 73.0, 73.1, 84.6, 75.1, 73.8, 82.0,
        ],
    );
    eprintln!("Amazon averages: EasyTL {coral:.2} (published 79.5), EasyTL(c) {raw:.2} (77.8)");
    assert!((coral - 79.5).abs() <= 1.5, "EasyTL {coral:.2} vs 79.5");
    assert!((raw - 77.8).abs() <= 1.5, "EasyTL(c) {raw:.2} vs 77.8");
}

#[test]
fn easytl_reproduces_the_surf_row_of_the_rerun_pair_by_pair() {
    let Some(dir) = data_dir() else { return };
    let coral = table(
        &dir,
        "office-caltech-surf",
        &SURF_PAIRS,
        IntraAlign::Coral,
        &[
            52.6, 53.9, 51.6, 42.3, 43.1, 48.4, 35.4, 38.2, 79.6, 36.1, 38.3, 86.1,
        ],
    );
    eprintln!("SURF average: EasyTL {coral:.2} (published 50.5)");
    assert!((coral - 50.5).abs() <= 1.5, "EasyTL {coral:.2} vs 50.5");
}

/// MEDA (Wang et al., ACM MM 2018) with the authors' Office-Caltech demo settings (d 20,
/// p 10, λ 10, η 0.1, ρ 1, T 10) against Table B's MEDA row (average 52.7): 11 pairs agree
/// within 0.1 (the printed decimal); D→A is 40.29 against 41.2, the one pair where the
/// A-distance SVM (ours LIBLINEAR-style, theirs MATLAB's SGD `fitclinear`) moves μ enough
/// to matter. Every pair within 1.0, the average within 0.2.
#[test]
fn meda_reproduces_table_b_on_office_caltech_surf() {
    let Some(dir) = data_dir() else { return };
    let b = benchmark("office-caltech-surf").unwrap();
    let published = [
        56.5, 53.9, 50.3, 43.9, 53.2, 45.9, 34.0, 42.7, 88.5, 34.9, 41.2, 87.5,
    ];
    let mut sum = 0.0;
    let mut off = Vec::new();
    for ((s, t), p) in SURF_PAIRS.iter().zip(published) {
        let (task, eval) = make_task(
            b.load(&dir, s, None).unwrap(),
            b.load(&dir, t, None).unwrap(),
            LabelBudget::Unsupervised,
            0,
        )
        .unwrap();
        let labels = tlab_transductive::Meda::default()
            .label(&task.source, &task.target, 0)
            .unwrap();
        let a = eval.score(&labels).unwrap().accuracy;
        eprintln!("MEDA {s}→{t}: {a:.2} (Table B {p:.1})");
        if (a - p).abs() > 1.0 {
            off.push(format!("{s}→{t}: {a:.2} vs {p:.1}"));
        }
        sum += a;
    }
    let avg = sum / 12.0;
    eprintln!("MEDA SURF average {avg:.2} (Table B 52.7)");
    assert!(off.is_empty(), "MEDA: {off:?}");
    assert!((avg - 52.7).abs() <= 0.2, "MEDA {avg:.2} vs 52.7");
}
