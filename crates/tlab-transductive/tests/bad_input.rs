//! Bad input to the adapters: a clear error or a documented regularisation, never a panic
//! or a silent NaN.

use ndarray::{Array1, Array2};
use tlab_core::{LabeledDomain, UnlabeledDomain};
use tlab_transductive::Adapter;
use tlab_transductive::{AdapterSpec, Coral, Jda, Tca};

fn source(n: usize, d: usize) -> LabeledDomain {
    let x = Array2::from_shape_fn((n, d), |(i, j)| {
        ((i * 7 + j * 3) % 11) as f64 + (i % 2) as f64
    });
    LabeledDomain::new("s", x, Array1::from_shape_fn(n, |i| i % 2), 2).unwrap()
}

fn target(n: usize, d: usize) -> UnlabeledDomain {
    UnlabeledDomain::new(
        "t",
        Array2::from_shape_fn((n, d), |(i, j)| ((i * 5 + j) % 13) as f64),
    )
    .unwrap()
}

#[test]
fn a_target_with_another_feature_count_is_an_error() {
    for spec in [
        r#"{"kind":"tca","dim":2}"#,
        r#"{"kind":"jda","dim":2}"#,
        r#"{"kind":"coral"}"#,
        r#"{"kind":"sa","dim":2}"#,
        r#"{"kind":"pca","dim":2}"#,
    ] {
        let a: AdapterSpec = serde_json::from_str(spec).unwrap();
        let e = a
            .build()
            .unwrap()
            .adapt(&source(20, 5), &target(20, 6), 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("source has 5 features, target 6"), "{spec}: {e}");
    }
}

#[test]
fn too_few_samples_or_features_for_the_dimension_is_an_error() {
    let e = Tca::new(10, 1.0)
        .unwrap()
        .adapt(&source(4, 20), &target(3, 20), 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("dim = 10 needs more than 7 samples"), "{e}");
    let e = Jda::new(30, 1.0, 2, tlab_core::LearnerSpec::Knn { k: 1 })
        .unwrap()
        .adapt(&source(40, 20), &target(40, 20), 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("dim = 30 exceeds the 20 features"), "{e}");
    let sa: AdapterSpec = serde_json::from_str(r#"{"kind":"sa","dim":8}"#).unwrap();
    let e = sa
        .build()
        .unwrap()
        .adapt(&source(40, 20), &target(5, 20), 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("exceeds the 5 target samples"), "{e}");
}

#[test]
fn singular_covariances_are_regularised_not_nan() {
    // Constant features make both covariances singular: CORAL's ridge (r = 1, the paper's)
    // keeps the result finite. TCA/JDA stay finite where XᵀHX is singular (n < features).
    let xs = Array2::from_shape_fn((10, 4), |(i, j)| if j < 2 { 1.0 } else { (i % 3) as f64 });
    let s = LabeledDomain::new("s", xs, Array1::from_shape_fn(10, |i| i % 2), 2).unwrap();
    let t = UnlabeledDomain::new("t", Array2::from_elem((6, 4), 2.0)).unwrap();
    let e = Coral::new(1.0).unwrap().adapt(&s, &t, 0).unwrap();
    assert!(e.source.iter().all(|v| v.is_finite()));
    let e = Tca::new(3, 1.0)
        .unwrap()
        .adapt(&source(5, 30), &target(4, 30), 0)
        .unwrap();
    assert!(e
        .source
        .iter()
        .chain(e.target.iter())
        .all(|v| v.is_finite()));
}

#[test]
fn nan_and_one_class_never_reach_an_adapter() {
    let x = Array2::from_elem((4, 2), f64::NAN);
    assert!(UnlabeledDomain::new("t", x)
        .unwrap_err()
        .to_string()
        .contains("row 0, column 0"));
    let one = LabeledDomain::new("s", Array2::zeros((3, 2)), Array1::zeros(3), 2);
    assert!(one.unwrap_err().to_string().contains("only one class"));
}

#[test]
fn labellers_refuse_bad_shapes_and_parameters_with_the_reason() {
    use tlab_transductive::LabellerSpec;
    let spec = |json: &str| -> LabellerSpec { serde_json::from_str(json).unwrap() };
    for json in [r#"{"kind":"easytl"}"#, r#"{"kind":"meda","dim":2,"p":3}"#] {
        let e = spec(json)
            .label(&source(20, 5), &target(20, 6), 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("source has 5 features, target 6"), "{json}: {e}");
    }
    // EasyTL gives every source class at least one target row: one target row, two classes.
    let e = spec(r#"{"kind":"easytl","intra_align":"raw"}"#)
        .label(&source(20, 5), &target(1, 5), 0)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("2 source classes") && e.contains("1 rows"),
        "{e}"
    );
    // MEDA: GFK's dimension needs 2·dim features; the graph needs more rows than neighbours.
    let e = spec(r#"{"kind":"meda","dim":4}"#)
        .label(&source(20, 5), &target(20, 5), 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("features"), "{e}");
    let e = spec(r#"{"kind":"meda","dim":2,"p":40}"#)
        .label(&source(20, 5), &target(20, 5), 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("`p` = 40"), "{e}");
    for bad in [
        r#"{"kind":"meda","eta":0}"#,
        r#"{"kind":"meda","lambda":-1}"#,
        r#"{"kind":"meda","iterations":0}"#,
    ] {
        assert!(spec(bad).check().is_err(), "{bad}");
    }
    assert!(
        serde_json::from_str::<LabellerSpec>(r#"{"kind":"easytl","intra_align":"gfk"}"#).is_err()
    );
    // A constant target (singular covariance) is handled by CORAL's ridge: labels, no NaN.
    let flat = UnlabeledDomain::new("t", Array2::from_elem((10, 5), 1.0)).unwrap();
    let y = spec(r#"{"kind":"easytl"}"#)
        .label(&source(20, 5), &flat, 0)
        .unwrap();
    assert_eq!(y.len(), 10);
    assert!(y.iter().any(|&c| c == 0) && y.iter().any(|&c| c == 1));
}
