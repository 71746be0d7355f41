//! Properties every reweighter must have under covariate shift: weights are finite,
//! non-negative with mean 1, and move the source's weighted mean toward the target's.

use tlab_core::synthetic::synthetic_domain;
use tlab_core::UnlabeledDomain;
use tlab_transductive::ReweighterSpec;

#[test]
fn weights_pull_the_source_toward_the_target() {
    let s = synthetic_domain("covariate:shift=0,n=400", 3, "source").unwrap();
    let t = synthetic_domain("covariate:shift=1.5,n=300", 3, "target").unwrap();
    let (t, _) = t.into_unlabeled();
    let mean0 = |w: Option<&ndarray::Array1<f64>>| -> f64 {
        let x = s.x();
        match w {
            None => x.column(0).mean().unwrap(),
            Some(w) => x.column(0).iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / w.sum(),
        }
    };
    let target_mean = t.x().column(0).mean().unwrap();
    let plain = mean0(None);
    // Nearest-neighbour weighting adds 1 to every source sample (Laplace smoothing): 400
    // pseudo-counts against 300 target counts pull it toward uniform, so it must close only a
    // quarter of the gap; the others at least half.
    for (json, keep) in [
        (r#"{"kind":"kmm"}"#, 0.5),
        (r#"{"kind":"discriminative"}"#, 0.5),
        (r#"{"kind":"kliep"}"#, 0.5),
        (r#"{"kind":"nearest-neighbour"}"#, 0.75),
    ] {
        let spec: ReweighterSpec = serde_json::from_str(json).unwrap();
        let w = spec.weights(&s, &t, 0).unwrap();
        assert_eq!(w.len(), s.n_samples());
        assert!(w.iter().all(|v| v.is_finite() && *v >= 0.0), "{json}");
        assert!((w.mean().unwrap() - 1.0).abs() < 1e-9, "{json}");
        let moved = mean0(Some(&w));
        assert!(
            (target_mean - moved).abs() < keep * (target_mean - plain).abs(),
            "{json}: {plain:.3} → {moved:.3}, target {target_mean:.3}"
        );
    }
}

#[test]
fn bad_parameters_and_mismatched_domains_are_errors() {
    let s = synthetic_domain("covariate:shift=0", 0, "source").unwrap();
    let t = UnlabeledDomain::new("t", ndarray::Array2::zeros((5, 3))).unwrap();
    let kmm: ReweighterSpec = serde_json::from_str(r#"{"kind":"kmm"}"#).unwrap();
    assert!(kmm
        .weights(&s, &t, 0)
        .unwrap_err()
        .to_string()
        .contains("source has 2 features, target 3"));
    let bad: ReweighterSpec = serde_json::from_str(r#"{"kind":"kmm","gamma":-1}"#).unwrap();
    assert!(bad.check().unwrap_err().to_string().contains("gamma"));
    // b below 1 − eps: no weights in the box reach the sum band (an infeasible QP).
    let tight: ReweighterSpec =
        serde_json::from_str(r#"{"kind":"kmm","b":0.5,"eps":0.1}"#).unwrap();
    let err = tight
        .weights(&s, &s.clone().into_unlabeled().0, 0)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`b` = 0.5") && err.contains("1 − eps"),
        "{err}"
    );
    let bad: ReweighterSpec = serde_json::from_str(r#"{"kind":"discriminative","c":0}"#).unwrap();
    assert!(bad.check().is_err());
    let bad: ReweighterSpec = serde_json::from_str(r#"{"kind":"kliep","folds":1}"#).unwrap();
    assert!(bad.check().unwrap_err().to_string().contains("folds"));
}
