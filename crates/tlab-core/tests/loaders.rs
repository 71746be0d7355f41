//! Every loader accepts good files and rejects bad ones with an error that says what and
//! where. Fixtures are written by fixtures/make_fixtures.py (scipy.io.savemat, numpy.save).

mod common;

use std::path::{Path, PathBuf};

use tlab_core::io::{
    load_csv_domain, load_npy_domain, read_mat_matrix, read_npy_matrix, sha1_hex, MatSpec,
    SampleAxis,
};
use tlab_core::registry::{all_files, BENCHMARKS};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn spec(features: &str, samples: SampleAxis) -> MatSpec {
    MatSpec {
        features: features.into(),
        labels: "y".into(),
        samples,
        label_base: 1,
    }
}

fn err_of<T: std::fmt::Debug>(r: tlab_core::Result<T>) -> String {
    r.expect_err("expected an error").to_string()
}

#[test]
fn mat_reads_every_numeric_type_and_orientation() {
    let ok = fixture("ok.mat");
    let d = spec("X", SampleAxis::Rows).load(&ok, "ok").unwrap();
    assert_eq!(d.x().dim(), (4, 3));
    assert_eq!(d.x()[(1, 2)], 0.5); // x = arange(12).reshape(4, 3) / 10
    assert_eq!(d.y().to_vec(), vec![0, 1, 0, 2]);
    assert_eq!(d.n_classes(), 3);
    let cols = read_mat_matrix(&ok, "Xcols", SampleAxis::Columns).unwrap();
    assert_eq!(cols, d.x());
    let i64s = read_mat_matrix(&ok, "Xi", SampleAxis::Rows).unwrap();
    assert_eq!(i64s[(3, 2)], 10.0); // int64(1.1) * 10
    let f32s = read_mat_matrix(&ok, "Xf", SampleAxis::Rows).unwrap();
    assert!((f32s[(1, 2)] - 0.5).abs() < 1e-7);
    let u8s = read_mat_matrix(&ok, "Xu8", SampleAxis::Rows).unwrap();
    assert_eq!(u8s[(2, 0)], 6.0);
}

#[test]
fn mat_rejects_truncated_corrupt_missing_wrong_length_and_nan() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("ok.mat")).unwrap();
    let s = spec("X", SampleAxis::Rows);

    let truncated = dir.path().join("truncated.mat");
    std::fs::write(&truncated, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let e = err_of(s.load(&truncated, "t"));
    assert!(
        e.contains("truncated.mat") && e.contains("truncated: the element at byte"),
        "{e}"
    );

    let tiny = dir.path().join("tiny.mat");
    std::fs::write(&tiny, &bytes[..60]).unwrap();
    assert!(err_of(s.load(&tiny, "t")).contains("shorter than the 128-byte header"));

    let mut flipped = bytes.clone();
    for b in flipped.iter_mut().skip(140).take(200) {
        *b ^= 0x5a;
    }
    let corrupt = dir.path().join("corrupt.mat");
    std::fs::write(&corrupt, &flipped).unwrap();
    let e = err_of(s.load(&corrupt, "t"));
    assert!(e.contains("corrupt.mat"), "{e}");

    let e = err_of(spec("fts", SampleAxis::Rows).load(&fixture("ok.mat"), "t"));
    assert!(
        e.contains("`fts` not found") && e.contains("`X` [4, 3]"),
        "{e}"
    );

    let e = err_of(s.load(&fixture("sparse.mat"), "t"));
    assert!(e.contains("`X` not found") && e.contains("sparse"), "{e}");

    let e = err_of(s.load(&fixture("wronglen.mat"), "t"));
    assert!(e.contains("4 samples but 3 labels"), "{e}");

    let e = err_of(s.load(&fixture("nan.mat"), "t"));
    assert!(e.contains("row 2, column 1"), "{e}");

    let e = err_of(s.load(&dir.path().join("absent.mat"), "t"));
    assert!(e.contains("absent.mat"), "{e}");
}

#[test]
fn npy_loads_and_rejects_bad_files() {
    let d = load_npy_domain(&fixture("ok_x.npy"), &fixture("ok_y.npy"), 0, "npy").unwrap();
    assert_eq!(d.x().dim(), (4, 3));
    assert_eq!(d.y().to_vec(), vec![0, 1, 0, 2]);
    let e = err_of(read_npy_matrix(&fixture("nan_x.npy")));
    assert!(e.contains("row 2, column 1"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("ok_x.npy")).unwrap();
    let cut = dir.path().join("cut.npy");
    std::fs::write(&cut, &bytes[..bytes.len() - 8]).unwrap();
    assert!(err_of(read_npy_matrix(&cut)).contains("cut.npy"));
    let garbage = dir.path().join("garbage.npy");
    std::fs::write(&garbage, b"not numpy at all").unwrap();
    assert!(err_of(read_npy_matrix(&garbage)).contains("not a readable NumPy"));
    let e = err_of(load_npy_domain(
        &fixture("ok_x.npy"),
        &fixture("ok_x.npy"),
        0,
        "npy",
    ));
    assert!(e.contains("ok_x.npy"), "{e}");
    assert!(err_of(read_npy_matrix(&dir.path().join("none.npy"))).contains("none.npy"));
}

#[test]
fn csv_loads_and_rejects_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let ok = write("ok.csv", "a,b,label\n1,2,cat\n3,4,dog\n5,6,cat\n");
    let d = load_csv_domain(&ok, "label", "csv").unwrap();
    assert_eq!(d.x().row(1).to_vec(), vec![3.0, 4.0]);
    assert_eq!(d.y().to_vec(), vec![0, 1, 0]);
    let ints = write("ints.csv", "label,a\n2,1\n0,2\n");
    assert_eq!(
        load_csv_domain(&ints, "label", "c").unwrap().y().to_vec(),
        vec![2, 0]
    );
    let e = err_of(load_csv_domain(&ok, "class", "csv"));
    assert!(
        e.contains("`class` not found") && e.contains("label"),
        "{e}"
    );
    let ragged = write("ragged.csv", "a,b,label\n1,2,x\n3,y\n");
    assert!(err_of(load_csv_domain(&ragged, "label", "c")).contains("ragged.csv"));
    let text = write("text.csv", "a,label\nabc,x\n1,y\n");
    assert!(err_of(load_csv_domain(&text, "label", "c")).contains("`abc` is not a number"));
    let nan = write("nan.csv", "a,label\n1,x\nNaN,y\n");
    assert!(err_of(load_csv_domain(&nan, "label", "c")).contains("row 1, column 0"));
    assert!(
        err_of(load_csv_domain(&dir.path().join("none.csv"), "label", "c")).contains("none.csv")
    );
}

#[test]
fn every_shared_data_file_loads_with_its_sha1() {
    let Some(dir) = common::data_dir() else {
        return;
    };
    for (file, sha1, specs) in all_files() {
        let path = dir.join(file);
        assert_eq!(sha1_hex(&path).unwrap(), sha1, "{file}");
        for s in specs {
            let d = s.load(&path, file).unwrap();
            assert!(
                d.n_samples() > 100 && d.n_classes() >= 2,
                "{file} {}",
                s.features
            );
        }
    }
    // And through the registry, with each benchmark's preprocessing applied.
    for b in BENCHMARKS {
        for d in b.domains {
            let dom = b.load(&dir, d.name, None).unwrap();
            assert!(dom.x().iter().all(|v| v.is_finite()));
        }
    }
}

#[test]
fn registry_rejects_a_file_with_the_wrong_bytes() {
    let Some(dir) = common::data_dir() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let sub = tmp.path().join("coil20");
    std::fs::create_dir(&sub).unwrap();
    let bytes = std::fs::read(dir.join("coil20/COIL_1.mat")).unwrap();
    std::fs::write(sub.join("COIL_1.mat"), &bytes[..bytes.len() / 2]).unwrap();
    let b = tlab_core::registry::benchmark("coil20").unwrap();
    let e = err_of(b.load(tmp.path(), "coil1", None));
    assert!(e.contains("sha1") && e.contains("COIL_1.mat"), "{e}");
    let e = err_of(b.load(tmp.path(), "coil9", None));
    assert!(e.contains("coil1, coil2"), "{e}");
}
