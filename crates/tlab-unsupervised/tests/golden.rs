//! Golden values from reference implementations; `golden.py` beside this file produced
//! every number (numpy 2.4 transcription of the authors' mSDA.m, scikit-learn 1.9 PCA).

use ndarray::Array2;
use tlab_unsupervised::RepresentationSpec;

/// The 60 × 7 matrix of golden.py: ((31 i + 17 j) mod 13) / 13, zero where (i + j) ≡ 0 mod 4.
fn x() -> Array2<f64> {
    Array2::from_shape_fn((60, 7), |(i, j)| {
        if (i + j) % 4 != 0 {
            ((i * 31 + j * 17) % 13) as f64 / 13.0
        } else {
            0.0
        }
    })
}

fn close(got: f64, want: f64, tol: f64) {
    assert!((got - want).abs() <= tol, "got {got}, want {want}");
}

#[test]
fn msda_three_layers_matches_the_numpy_transcription() {
    let f = RepresentationSpec::Msda {
        layers: 3,
        noise: 0.4,
        lambda: 1e-5,
        keep_input: true,
    }
    .fit(x().view())
    .unwrap();
    let z = f.transform(x().view()).unwrap();
    assert_eq!(z.dim(), (60, 28));
    close(z.sum(), 573.1451577274527, 1e-9);
    close(z[(5, 10)], 0.171913347749017, 1e-12);
    close(z[(59, 27)], 0.4001509074985324, 1e-12);
    let e = f.reconstruction_error(x().view()).unwrap();
    for (g, w) in e
        .iter()
        .zip([0.05142250783225769, 0.0386645188585209, 0.14595807954390794])
    {
        close(*g, w, 1e-12);
    }
}

#[test]
fn pca_reconstruction_error_matches_scikit_learn() {
    let f = RepresentationSpec::Pca {
        dim: 3,
        standardize: false,
    }
    .fit(x().view())
    .unwrap();
    let e = f.reconstruction_error(x().view()).unwrap();
    for (g, w) in e
        .iter()
        .zip([0.15997438139645162, 0.17177202334948483, 0.3020776449509786])
    {
        close(*g, w, 1e-12);
    }
    close(e.sum(), 12.672255076330616, 1e-10);
}
