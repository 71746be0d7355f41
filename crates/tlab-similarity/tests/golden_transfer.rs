//! GBC, TransRate and the shrinkage H-score against their reference code; every number was
//! produced by `golden_transfer.py` beside this file.

use ndarray::{Array1, Array2};
use tlab_similarity::{gbc, h_score_shrinkage, ledoit_wolf, transrate};

/// The features and labels of golden_transfer.py.
fn data() -> (Array2<f64>, Array1<usize>) {
    let y: Array1<usize> = (0..40).map(|i| i * 7 % 3).collect();
    let mut f = Array2::from_shape_fn((40, 6), |(i, j)| {
        (0.37 * i as f64 + 0.9 * j as f64).sin() + 0.5 * (0.11 * i as f64 * (j as f64 + 1.0)).cos()
    });
    for i in 0..40 {
        if y[i] == 1 {
            f.row_mut(i).mapv_inplace(|v| v + 0.8);
        }
        if y[i] == 2 {
            f[(i, 2)] -= 1.1;
        }
    }
    (f, y)
}

fn close(got: f64, want: f64, tol: f64) {
    assert!((got - want).abs() <= tol, "got {got}, want {want}");
}

#[test]
fn gbc_matches_the_stable_transfer_reference() {
    let (f, y) = data();
    close(
        gbc(f.view(), y.view(), true).unwrap(),
        -3.2400575496778634,
        1e-12,
    );
    close(
        gbc(f.view(), y.view(), false).unwrap(),
        -3.2975434510327326,
        1e-12,
    );
}

#[test]
fn transrate_matches_the_papers_listing() {
    let (f, y) = data();
    close(
        transrate(f.view(), y.view(), 1e-4).unwrap(),
        0.40241290913587235,
        1e-10,
    );
}

#[test]
fn shrinkage_h_score_and_ledoit_wolf_match_scikit_learn() {
    let (f, y) = data();
    close(ledoit_wolf(f.view()).0, 0.12904098142667766, 1e-12);
    close(
        h_score_shrinkage(f.view(), y.view()).unwrap(),
        1.1083822033670594,
        1e-9,
    );
}

#[test]
fn better_separated_classes_score_higher_and_bad_input_is_refused() {
    let (f, y) = data();
    let mut spread = f.clone();
    for i in 0..40 {
        spread.row_mut(i).mapv_inplace(|v| v + 3.0 * y[i] as f64);
    }
    for metric in [
        |f: &Array2<f64>, y: &Array1<usize>| gbc(f.view(), y.view(), true).unwrap(),
        |f: &Array2<f64>, y: &Array1<usize>| transrate(f.view(), y.view(), 1e-4).unwrap(),
        |f: &Array2<f64>, y: &Array1<usize>| h_score_shrinkage(f.view(), y.view()).unwrap(),
    ] {
        assert!(metric(&spread, &y) > metric(&f, &y));
    }
    assert!(gbc(f.view(), Array1::zeros(40).view(), true).is_err());
    assert!(transrate(f.view(), y.view(), 0.0).is_err());
    assert!(h_score_shrinkage(f.view(), Array1::zeros(3).view()).is_err());
}
