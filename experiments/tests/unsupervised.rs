//! Clustering and anomaly suites end to end (the built-in synthetic data): what rows they
//! record, that seeds reproduce them, and that bad suites are refused with the reason.

use tlab_experiments::report;
use tlab_experiments::runner::run_suite;
use tlab_experiments::suite::Suite;

const CLUSTERING: &str = r#"
name = "clusters"
dataset = "synthetic"
pairs = [["blobs:shift=0", "blobs:shift=1"]]
seeds = [0, 1]
task = "clustering"
reference = "raw"

[[methods]]
id = "raw"
method = "cluster"
cluster = { algorithm = "k-means" }

[[methods]]
id = "source init"
method = "cluster"
cluster = { algorithm = "k-means", init = "source" }

[[methods]]
id = "gmm on pca"
method = "cluster"
cluster = { algorithm = "gmm" }
representation = { kind = "pca", dim = 2 }
fit_on = "source"
"#;

const ANOMALY: &str = r#"
name = "fraud"
dataset = "synthetic"
pairs = [["transactions:n=1500,fraud=0.05", "transactions:n=1500,fraud=0.05,shift=0.5"]]
seeds = [0, 1, 2]
task = "anomaly"
anomaly = { class = 1, target_rate = 0.03 }
reference = "target"

[[methods]]
id = "target"
method = "detect"
detector = { kind = "gaussian", max_contamination = 1.0 }
fit_on = "target"

[[methods]]
id = "source"
method = "detect"
detector = { kind = "gaussian" }

[[methods]]
id = "knn on pca"
method = "detect"
detector = { kind = "knn", k = 5, features = { kind = "pca", dim = 8, standardize = true } }
"#;

fn strip(rows: &[tlab_experiments::store::Row]) -> Vec<tlab_experiments::store::Row> {
    rows.iter().map(|r| r.without_timings()).collect()
}

#[test]
fn clustering_suites_record_nmi_ari_and_matched_accuracy() {
    let suite = Suite::parse(CLUSTERING, "test").unwrap();
    let rows = run_suite(&suite, None, true).unwrap();
    assert_eq!(rows.len(), 6);
    assert_eq!(strip(&rows), strip(&run_suite(&suite, None, true).unwrap()));
    for r in &rows {
        let (nmi, ari) = (r.scores["nmi"], r.scores["ari"]);
        // Three unit-variance blobs 3 apart: well but not perfectly separated.
        assert!((40.0..=100.0).contains(&nmi), "{}: NMI {nmi}", r.method);
        assert!(
            ari > 30.0 && r.accuracy > 60.0,
            "{}: {ari} {}",
            r.method,
            r.accuracy
        );
        assert_eq!(r.budget, 0);
        assert_eq!(suite.score_of(r), nmi);
    }
    // The report compares with the suite's reference, per seed.
    let lines = report::lines(&suite, &rows);
    assert_eq!(lines.len(), 2);
    assert!(lines
        .iter()
        .all(|l| l.vs_source_only.is_some() && l.reference == "raw"));
    assert!(report::markdown(&suite, &rows).contains("gain vs raw"));
}

#[test]
fn anomaly_suites_record_auroc_and_ap_and_differ_by_seed() {
    let suite = Suite::parse(ANOMALY, "test").unwrap();
    let rows = run_suite(&suite, None, true).unwrap();
    assert_eq!(rows.len(), 9);
    for r in &rows {
        let (auroc, ap) = (r.scores["auroc"], r.scores["ap"]);
        assert!(auroc > 70.0, "{} seed {}: AUROC {auroc}", r.method, r.seed);
        assert!((0.0..=100.0).contains(&ap));
    }
    // Seeds draw different fraud rows into the target (3% of it), so scores differ.
    let source: Vec<f64> = rows
        .iter()
        .filter(|r| r.method == "source")
        .map(|r| r.scores["auroc"])
        .collect();
    assert!(source.windows(2).any(|w| w[0] != w[1]), "{source:?}");
}

#[test]
fn bad_unsupervised_suites_are_refused_with_the_reason() {
    let bad = |text: String| Suite::parse(&text, "test").unwrap_err().to_string();
    let e = bad(CLUSTERING.replace(
        "cluster = { algorithm = \"k-means\" }\n",
        "cluster = { algorithm = \"k-means\" }\nlearner = { kind = \"logistic\" }\n",
    ));
    assert!(e.contains("takes no `learner`"), "{e}");
    let e = bad(CLUSTERING.replacen(
        "method = \"cluster\"\n",
        "method = \"cluster\"\nbudgets = [5]\n",
        1,
    ));
    assert!(e.contains("uses no target label"), "{e}");
    let e = bad(ANOMALY.replace("anomaly = { class = 1, target_rate = 0.03 }\n", ""));
    assert!(e.contains("needs `anomaly = { ... }`"), "{e}");
    let e = bad(ANOMALY.replace("task = \"anomaly\"", "task = \"clustering\""));
    assert!(e.contains("`detect` is not a clustering method"), "{e}");
    let e = bad(CLUSTERING.replace("reference = \"raw\"", "reference = \"nope\""));
    assert!(e.contains("`reference` = \"nope\""), "{e}");
    let e = bad(CLUSTERING.replace(
        "task = \"clustering\"",
        "task = \"clustering\"\nscore = \"auroc\"",
    ));
    assert!(e.contains("records nmi, ari"), "{e}");
    let e = bad(CLUSTERING.replace("dim = 2", "dim = 0"));
    assert!(e.contains("pca.dim"), "{e}");
    let e = bad(ANOMALY.replace(
        "kind = \"gaussian\" }",
        "kind = \"gaussian\", alarm_rate = 2.0 }",
    ));
    assert!(e.contains("alarm_rate"), "{e}");
}

#[test]
fn impossible_anomaly_rates_fail_the_run_with_the_counts() {
    // 5% fraud in 1500 rows is 75 anomalies; 40% contamination of 1425 normal rows needs 950.
    let text = ANOMALY.replace("target_rate = 0.03", "contamination = 0.4");
    let suite = Suite::parse(&text, "test").unwrap();
    let e = run_suite(&suite, None, true).unwrap_err().to_string();
    assert!(e.contains("at most 75 anomalies available"), "{e}");
}
