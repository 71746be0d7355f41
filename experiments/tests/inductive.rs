//! Inductive transfer through the engine: a network pretrained on the digits 0–4 reused
//! for the digits 5–9 (another label set), seeded end to end; suite validation.

use tlab_experiments::runner::run_suite;
use tlab_experiments::suite::Suite;

const SUITE: &str = r#"
name = "inductive"
dataset = "digits"
preprocess = "l2-rows"
pairs = [["original@0-4", "original@5-9"]]
seeds = [0]
reference = "scratch"

[[methods]]
id = "scratch"
method = "inductive"
strategy = { kind = "scratch" }
network = { hidden = [32], pretrain = { epochs = 30, batch = 32, optimizer = { kind = "adam", lr = 0.003 }, patience = 5 }, finetune = { epochs = 60, batch = 16, optimizer = { kind = "adam", lr = 0.003 } } }
budgets = [2]

[[methods]]
id = "features"
method = "inductive"
strategy = { kind = "feature-extraction", head = "logistic" }
network = { hidden = [32], pretrain = { epochs = 30, batch = 32, optimizer = { kind = "adam", lr = 0.003 }, patience = 5 }, finetune = { epochs = 60, batch = 16, optimizer = { kind = "adam", lr = 0.003 } } }
budgets = [2]
"#;

#[test]
fn a_pretrained_trunk_carries_over_to_another_label_set_and_runs_are_seeded() {
    let suite = Suite::parse(SUITE, "test").unwrap();
    let rows = run_suite(&suite, None, true).unwrap();
    let acc = |id: &str| rows.iter().find(|r| r.method == id).unwrap().accuracy;
    eprintln!(
        "scratch {:.2}, features {:.2}",
        acc("scratch"),
        acc("features")
    );
    // Five classes: chance is 20%. Both learn from 2 labels per class; the trunk
    // pretrained on the other five digits gives features a linear head can use.
    assert!(acc("scratch") > 40.0 && acc("features") > 40.0);
    let again = run_suite(&suite, None, true).unwrap();
    for (a, b) in rows.iter().zip(&again) {
        assert_eq!(a.accuracy, b.accuracy, "{}", a.method);
    }
}

#[test]
fn inductive_needs_a_strategy_and_target_labels_and_refuses_a_learner() {
    let bad = |from: &str, to: &str, why: &str| {
        let e = Suite::parse(&SUITE.replacen(from, to, 1), "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains(why), "{why}: {e}");
    };
    bad("strategy = { kind = \"scratch\" }", "", "needs `strategy");
    bad("budgets = [2]", "budgets = [0]", "needs target labels");
    bad(
        "strategy = { kind = \"scratch\" }",
        "strategy = { kind = \"scratch\" }\nlearner = { kind = \"knn\" }",
        "no `learner`",
    );
    bad(
        "kind = \"scratch\"",
        "kind = \"fine-tune\", top = 0",
        "`top`",
    );
    bad("hidden = [32]", "hidden = [0]", "hidden");
    bad(
        "method = \"inductive\"\nstrategy = { kind = \"scratch\" }",
        "method = \"target-only\"\nlearner = { kind = \"logistic\" }\nstrategy = { kind = \"scratch\" }",
        "only for `inductive`",
    );
}

/// `extra_tasks` (multi-task over more than two tasks) and the `"all"` budget through the
/// engine: the extra task is loaded once, the pair's own domains are skipped when listed,
/// the all-labels run scores a fifth of the target held out, tables print `all`; `extra_tasks` on another strategy is refused.
#[test]
fn multi_task_with_extra_tasks_and_an_all_labels_budget() {
    let text = SUITE
        .replacen(
            "strategy = { kind = \"scratch\" }",
            "strategy = { kind = \"multi-task\", epochs = 10 }\nextra_tasks = [\"original@0-4\", \"rotate=30@5-9\", \"original@5-9\"]",
            1,
        )
        .replacen("budgets = [2]", "budgets = [2, \"all\"]", 1);
    let suite = Suite::parse(&text, "test").unwrap();
    assert_eq!(
        suite.methods[0].budget_labels(),
        vec!["2".to_string(), "all".to_string()]
    );
    let rows = run_suite(&suite, None, true).unwrap();
    let mt: Vec<_> = rows.iter().filter(|r| r.method == "scratch").collect();
    assert_eq!(mt.len(), 2);
    let all = mt
        .iter()
        .find(|r| r.budget == tlab_core::ALL_LABELS as u64)
        .unwrap();
    let few = mt.iter().find(|r| r.budget == 2).unwrap();
    // The k = 2 run scores every target row but the 10 labelled ones; the all-labels run
    // a fifth (rounded up) of each class.
    let n = few.n_scored + 10;
    assert!(
        all.n_scored >= n / 5 && all.n_scored <= n / 5 + 5,
        "{} scored of {n}",
        all.n_scored
    );
    eprintln!("all {:.1}, k=2 {:.1}", all.accuracy, few.accuracy);
    // Every label of the target beats two a class (5 classes, chance 20%).
    assert!(
        all.accuracy > few.accuracy + 5.0,
        "all {:.1} vs k=2 {:.1}",
        all.accuracy,
        few.accuracy
    );
    assert!(all.params.contains("extra_tasks"));
    let table = tlab_experiments::table::markdown(&suite, &rows);
    assert!(table.contains("scratch (k=all)"), "{table}");
    let e = Suite::parse(
        &SUITE.replacen(
            "strategy = { kind = \"scratch\" }",
            "strategy = { kind = \"scratch\" }\nextra_tasks = [\"original@0-4\"]",
            1,
        ),
        "t",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("`extra_tasks` is only for"), "{e}");
    let e = Suite::parse(
        &SUITE.replacen("budgets = [2]", "budgets = [\"most\"]", 1),
        "t",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("\"most\""), "{e}");
}
