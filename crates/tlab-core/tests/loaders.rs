//! Every loader accepts good files and rejects bad ones with an error that says what and
//! where. Fixtures are written by fixtures/make_fixtures.py (scipy.io.savemat, numpy.save).

mod common;

use std::path::{Path, PathBuf};

use tlab_core::io::{read_npy_matrix, sha1_hex, MatFile};
use tlab_core::registry::benchmarks;
use tlab_core::{Dataset, DatasetSpec, LabeledDomain};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// One domain `d` of `file` (under `base`) with features `features`, labels `y`.
fn load_in(
    base: &Path,
    file: &str,
    features: &str,
    extra: &str,
) -> tlab_core::Result<LabeledDomain> {
    let spec = DatasetSpec::parse(
        &format!("[[domains]]\nname = \"d\"\nfile = \"{file}\"\nfeatures = \"{features}\"\nlabels = \"y\"\n{extra}"),
        "test",
    )?;
    let mut l = Dataset {
        spec,
        base: base.to_path_buf(),
    }
    .load(&["d"], None, None)?;
    Ok(l.domains.remove(0))
}

fn load(file: &str, features: &str) -> tlab_core::Result<LabeledDomain> {
    load_in(&fixture(""), file, features, "")
}

fn err_of<T: std::fmt::Debug>(r: tlab_core::Result<T>) -> String {
    r.expect_err("expected an error").to_string()
}

#[test]
fn mat_reads_every_numeric_type_and_orientation() {
    let d = load("ok.mat", "X").unwrap();
    assert_eq!(d.x().dim(), (4, 3));
    assert_eq!(d.x()[(1, 2)], 0.5); // x = arange(12).reshape(4, 3) / 10
    assert_eq!(d.y().to_vec(), vec![0, 1, 0, 2]);
    assert_eq!(d.n_classes(), 3);
    let cols = load("ok.mat", "Xcols").unwrap();
    assert_eq!(cols.x(), d.x());
    let mat = MatFile::read(&fixture("ok.mat")).unwrap();
    let (_, _, i64s) = mat.matrix("Xi").unwrap();
    assert_eq!(i64s[11], 10.0); // int64(1.1) * 10, last entry in column-major order
    assert!((load("ok.mat", "Xf").unwrap().x()[(1, 2)] - 0.5).abs() < 1e-7);
    assert_eq!(load("ok.mat", "Xu8").unwrap().x()[(2, 0)], 6.0);
}

#[test]
fn mat_rejects_truncated_corrupt_missing_wrong_length_and_nan() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("ok.mat")).unwrap();
    let write = |name: &str, b: &[u8]| std::fs::write(dir.path().join(name), b).unwrap();

    write("truncated.mat", &bytes[..bytes.len() * 2 / 3]);
    let e = err_of(load_in(dir.path(), "truncated.mat", "X", ""));
    assert!(
        e.contains("truncated.mat") && e.contains("truncated: the element at byte"),
        "{e}"
    );

    write("tiny.mat", &bytes[..60]);
    assert!(err_of(load_in(dir.path(), "tiny.mat", "X", ""))
        .contains("shorter than the 128-byte header"));

    let mut flipped = bytes.clone();
    for b in flipped.iter_mut().skip(140).take(200) {
        *b ^= 0x5a;
    }
    write("corrupt.mat", &flipped);
    let e = err_of(load_in(dir.path(), "corrupt.mat", "X", ""));
    assert!(e.contains("corrupt.mat"), "{e}");

    let e = err_of(load("ok.mat", "fts"));
    assert!(
        e.contains("`fts` not found") && e.contains("`X` double 4×3"),
        "{e}"
    );

    // Sparse features are read (as dense), the same numbers as the dense file.
    assert_eq!(
        load("sparse.mat", "X").unwrap().x(),
        load("ok.mat", "X").unwrap().x()
    );

    // 4×3 with 3 labels: only the column axis matches, so unstated it reads as 3 samples;
    // stated, the mismatch is an error.
    assert_eq!(load("wronglen.mat", "X").unwrap().x().dim(), (3, 4));
    let e = err_of(load_in(
        &fixture(""),
        "wronglen.mat",
        "X",
        "samples = \"rows\"\n",
    ));
    assert!(e.contains("so 4 samples, but there are 3 labels"), "{e}");

    let e = err_of(load("nan.mat", "X"));
    assert!(
        e.contains("row 2, column 1") && e.contains("nan.mat `X`"),
        "{e}"
    );

    let e = err_of(load_in(dir.path(), "absent.mat", "X", ""));
    assert!(e.contains("absent.mat"), "{e}");
}

#[test]
fn npy_loads_and_rejects_bad_files() {
    let d = load_in(&fixture(""), "ok_x.npy", "", "labels_file = \"ok_y.npy\"")
        .err()
        .map(|e| e.to_string());
    // An .npy holds one array: naming a features variable is refused with the fix.
    assert!(d.unwrap().contains("drop `features`"));
    let spec = DatasetSpec::parse(
        "[[domains]]\nname = \"d\"\nfile = \"ok_x.npy\"\nlabels_file = \"ok_y.npy\"\n",
        "t",
    )
    .unwrap();
    let d = Dataset {
        spec,
        base: fixture(""),
    }
    .load(&["d"], None, None)
    .unwrap()
    .domains
    .remove(0);
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
    assert!(err_of(read_npy_matrix(&dir.path().join("none.npy"))).contains("none.npy"));
}

#[test]
fn csv_loads_and_rejects_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        std::fs::write(dir.path().join(name), text).unwrap();
    };
    let csv = |file: &str, label: &str| -> tlab_core::Result<LabeledDomain> {
        let spec = DatasetSpec::parse(
            &format!("[[domains]]\nname = \"d\"\nfile = \"{file}\"\nlabels = \"{label}\"\n"),
            "t",
        )?;
        let mut l = Dataset {
            spec,
            base: dir.path().to_path_buf(),
        }
        .load(&["d"], None, None)?;
        Ok(l.domains.remove(0))
    };
    write("ok.csv", "a,b,label\n1,2,cat\n3,4,dog\n5,6,cat\n");
    let d = csv("ok.csv", "label").unwrap();
    assert_eq!(d.x().row(1).to_vec(), vec![3.0, 4.0]);
    assert_eq!(d.y().to_vec(), vec![0, 1, 0]);
    write("ints.csv", "label,a\n2,1\n0,2\n");
    assert_eq!(csv("ints.csv", "label").unwrap().y().to_vec(), vec![1, 0]);
    let e = err_of(csv("ok.csv", "class"));
    assert!(
        e.contains("`class` not found") && e.contains("label"),
        "{e}"
    );
    write("ragged.csv", "a,b,label\n1,2,x\n3,y\n");
    assert!(err_of(csv("ragged.csv", "label")).contains("ragged.csv"));
    write("text.csv", "a,label\nabc,x\n1,y\n");
    assert!(err_of(csv("text.csv", "label")).contains("`abc` is not a number"));
    write("nan.csv", "a,label\n1,x\nNaN,y\n");
    assert!(err_of(csv("nan.csv", "label")).contains("row 1, column 0"));
    assert!(err_of(csv("none.csv", "label")).contains("none.csv"));
}

#[test]
fn every_shared_data_file_loads_with_its_sha1() {
    let Some(dir) = common::data_dir() else {
        return;
    };
    for b in benchmarks() {
        for d in &b.spec.domains {
            let path = dir.join(&d.file);
            assert_eq!(
                Some(sha1_hex(&path).unwrap()),
                d.sha1,
                "{}",
                d.file.display()
            );
            let dom = b.load(&dir, &d.name, None).unwrap();
            assert!(dom.n_samples() > 100 && dom.n_classes() >= 2, "{}", d.name);
            assert!(dom.x().iter().all(|v| v.is_finite()));
        }
    }
    // MNIST-USPS and COIL store each domain twice (X_src of one file, X_tar of the other):
    // the copies are identical.
    for (a, b) in [
        (
            "mnist_usps/MNIST_vs_USPS.mat",
            "mnist_usps/USPS_vs_MNIST.mat",
        ),
        ("coil20/COIL_1.mat", "coil20/COIL_2.mat"),
    ] {
        let (fa, fb) = (
            MatFile::read(&dir.join(a)).unwrap(),
            MatFile::read(&dir.join(b)).unwrap(),
        );
        assert_eq!(
            fa.matrix("X_src").unwrap(),
            fb.matrix("X_tar").unwrap(),
            "{a}"
        );
        assert_eq!(
            fa.matrix("Y_src").unwrap(),
            fb.matrix("Y_tar").unwrap(),
            "{a}"
        );
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
    assert!(
        e.contains("sha1") && e.contains("COIL_1.mat") && e.starts_with("data problem"),
        "{e}"
    );
    let e = err_of(b.load(tmp.path(), "coil9", None));
    assert!(e.contains("coil1, coil2"), "{e}");
}
