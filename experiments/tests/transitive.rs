//! Transitive transfer (gradual self-training through unlabelled intermediate domains).

use tlab_experiments::runner::run_suite;
use tlab_experiments::suite::Suite;

const SUITE: &str = r#"
name = "transitive"
dataset = "synthetic"
data_seed = 3
pairs = [["moons:angle=0,n=300", "moons:angle=90,n=300"]]
seeds = [0]

[[methods]]
id = "direct"
method = "source-only"
learner = { kind = "knn", k = 5 }

[[methods]]
id = "bridged"
method = "transitive"
learner = { kind = "knn", k = 5 }
via = ["moons:angle=18,n=300", "moons:angle=36,n=300", "moons:angle=54,n=300", "moons:angle=72,n=300"]
budgets = [0, 2]
"#;

#[test]
fn small_steps_through_intermediate_domains_beat_the_direct_jump() {
    let suite = Suite::parse(SUITE, "test").unwrap();
    let rows = run_suite(&suite, None, true).unwrap();
    let acc = |id: &str, k: u64| {
        rows.iter()
            .find(|r| r.method == id && r.budget == k)
            .unwrap()
            .accuracy
    };
    // Rotating two moons by 90° flips them for a source model: far below chance directly;
    // four 18° steps of self-training carry the labels across.
    assert!(acc("direct", 0) < 35.0, "{}", acc("direct", 0));
    assert!(acc("bridged", 0) > 75.0, "{}", acc("bridged", 0));
    assert!(acc("bridged", 2) > 75.0, "{}", acc("bridged", 2));
    assert_eq!(
        rows,
        run_suite(&suite, None, true)
            .unwrap()
            .iter()
            .zip(&rows)
            .map(|(a, b)| {
                let mut a = a.clone();
                a.fit_seconds = b.fit_seconds;
                a.predict_seconds = b.predict_seconds;
                a
            })
            .collect::<Vec<_>>()
    );
}

#[test]
fn via_is_required_by_transitive_and_refused_elsewhere() {
    let e = Suite::parse(&SUITE.replace("via = [", "# via = ["), "test")
        .unwrap_err()
        .to_string();
    assert!(e.contains("needs `via"), "{e}");
    let e = Suite::parse(
        &SUITE.replace(
            "method = \"source-only\"\n",
            "method = \"source-only\"\nvia = [\"moons:angle=45\"]\n",
        ),
        "test",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("`via` is only for `transitive`"), "{e}");
}

#[test]
fn the_metric_orders_shuffled_candidates_into_the_gentlest_chain() {
    // Candidates out of order; the minimax-MMD path must visit them as 18°, 36°, 54°, 72°.
    let text = SUITE.replace(
        r#"via = ["moons:angle=18,n=300", "moons:angle=36,n=300", "moons:angle=54,n=300", "moons:angle=72,n=300"]"#,
        r#"via = ["moons:angle=54,n=300", "moons:angle=18,n=300", "moons:angle=72,n=300", "moons:angle=36,n=300"]
via_metric = "mmd-rbf""#,
    );
    let suite = Suite::parse(&text, "test").unwrap();
    let rows = run_suite(&suite, None, true).unwrap();
    let bridged = rows
        .iter()
        .find(|r| r.method == "bridged" && r.budget == 0)
        .unwrap();
    assert!(bridged.accuracy > 75.0, "{}", bridged.accuracy);
    let e = Suite::parse(&text.replace("\"mmd-rbf\"", "\"nope\""), "test")
        .unwrap_err()
        .to_string();
    assert!(e.contains("`via_metric`"), "{e}");
}
