//! A user's own data through dataset descriptions: the same two domains written in every
//! format tlab reads (tests/fixtures/own/make_own.py, scipy/numpy/h5py/pyarrow) load to the
//! same numbers and the same classes; bad descriptions and files fail with errors that name
//! the file, the variable and the fix. (Parquet is read by the binary: experiments/tests.)

use std::path::{Path, PathBuf};

use ndarray::Array2;
use tlab_core::io::{ClassId, MatContent, MatFile};
use tlab_core::{Dataset, DatasetSpec};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/own")
}

/// The source domain the fixtures hold: xs[i, j] = (3 i + j) / 4 - 1.
fn xs() -> Array2<f64> {
    Array2::from_shape_fn((6, 3), |(i, j)| (3 * i + j) as f64 / 4.0 - 1.0)
}

fn xt() -> Array2<f64> {
    Array2::from_shape_fn((5, 3), |(i, j)| (3 * i + j) as f64 / 8.0 + 0.5)
}

/// Class ids 10, 20, 30 -> 0, 1, 2.
const YS: [usize; 6] = [0, 1, 0, 2, 1, 2];
const YT: [usize; 5] = [1, 0, 2, 2, 0];

fn dataset(toml: &str) -> Dataset {
    Dataset {
        spec: DatasetSpec::parse(toml, "test").unwrap(),
        base: dir(),
    }
}

fn load(toml: &str) -> tlab_core::LoadedDataset {
    dataset(toml).load(&["src", "tgt"], None, None).unwrap()
}

fn err(toml: &str) -> String {
    match DatasetSpec::parse(toml, "test") {
        Err(e) => e.to_string(),
        Ok(spec) => Dataset { spec, base: dir() }
            .load(&["src"], None, None)
            .expect_err("expected an error")
            .to_string(),
    }
}

fn assert_same(l: &tlab_core::LoadedDataset) {
    assert_eq!(
        l.classes,
        vec![ClassId::Int(10), ClassId::Int(20), ClassId::Int(30)]
    );
    assert_eq!(l.domains[0].x(), xs().view());
    assert_eq!(l.domains[0].y().to_vec(), YS);
    assert_eq!(l.domains[1].x(), xt().view());
    assert_eq!(l.domains[1].y().to_vec(), YT);
    assert_eq!(l.domains[0].n_classes(), 3);
}

#[test]
fn one_mat_file_holding_both_domains_compressed_rows_and_n_by_1_labels() {
    let l = load(
        r#"
        [[domains]]
        name = "src"
        file = "both.mat"
        features = "X_src"
        labels = "Y_src"
        [[domains]]
        name = "tgt"
        file = "both.mat"
        features = "X_tar"
        labels = "Y_tar"
        samples = "rows"
        "#,
    );
    assert_same(&l);
    // Every file read is recorded with its sha1, which a pin then accepts.
    assert_eq!(l.files.len(), 2);
    let sha1 = tlab_core::io::sha1_hex(&dir().join("both.mat")).unwrap();
    assert!(l.files.iter().all(|f| f.sha1 == sha1));
}

#[test]
fn uncompressed_float32_columns_with_int64_1_by_n_labels_and_npz_both_kinds() {
    for npz in ["tgt.npz", "tgt_stored.npz"] {
        let l = load(&format!(
            r#"
            [[domains]]
            name = "src"
            file = "cols_plain.mat"
            features = "feat"
            labels = "lab"
            [[domains]]
            name = "tgt"
            file = "{npz}"
            features = "X"
            labels = "y"
            "#
        ));
        // float32 holds these quarters exactly, so the numbers are the same.
        assert_same(&l);
    }
}

#[test]
fn npy_features_with_a_labels_file_and_csv_with_integer_or_text_labels() {
    let l = load(
        r#"
        [[domains]]
        name = "src"
        file = "src_x.npy"
        labels_file = "src_y.npy"
        [[domains]]
        name = "tgt"
        file = "tgt.npz"
        features = "X"
        labels = "y"
        "#,
    );
    assert_same(&l);
    let csv = dataset(
        r#"
        [[domains]]
        name = "src"
        file = "src.csv"
        labels = "label"
        "#,
    )
    .load(&["src"], None, None)
    .unwrap();
    assert_eq!(csv.domains[0].x(), xs().view());
    assert_eq!(csv.domains[0].y().to_vec(), YS);
    // Text labels, `;` delimiter, the label column first: classes sorted by name.
    let text = dataset(
        r#"
        [[domains]]
        name = "tgt"
        file = "tgt_text.csv"
        delimiter = ";"
        labels = "kind"
        features = ["a", "b", "c"]
        "#,
    )
    .load(&["tgt"], None, None)
    .unwrap();
    assert_eq!(text.domains[0].x(), xt().view());
    assert_eq!(text.domains[0].y().to_vec(), YT);
    assert_eq!(text.classes[0], ClassId::Text("bike".into()));
}

#[test]
fn every_numeric_class_reads_the_same_integers() {
    let mat = MatFile::read(&dir().join("classes.mat")).unwrap();
    let want: Vec<f64> = (0..18).map(|v| (v % 5) as f64).collect();
    for t in [
        "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32",
        "float64",
    ] {
        let name = format!("X_{t}");
        let d = dataset(&format!(
            "[[domains]]\nname = \"src\"\nfile = \"classes.mat\"\nfeatures = \"{name}\"\nlabels = \"y\"\n"
        ))
        .load(&["src"], None, None)
        .unwrap();
        let got: Vec<f64> = d.domains[0].x().iter().copied().collect();
        assert_eq!(got, want, "{name}");
        let class = &mat.variable(&name).unwrap().class;
        let expected = match t {
            "float32" => "single",
            "float64" => "double",
            other => other,
        };
        assert_eq!(*class, expected);
    }
    let logical = mat.variable("X_logical").unwrap();
    assert_eq!(logical.class, "logical");
    let (_, _, v) = mat.matrix("X_logical").unwrap();
    let rowmajor: Vec<f64> = (0..18).map(|k| ((k % 5) > 2) as u8 as f64).collect();
    let colmajor: Vec<f64> = (0..18).map(|k| rowmajor[(k % 6) * 3 + k / 6]).collect();
    assert_eq!(v, colmajor);
}

#[test]
fn sparse_matrices_read_as_dense() {
    let mat = MatFile::read(&dir().join("sparse.mat")).unwrap();
    assert!(matches!(
        mat.variable("X").unwrap().content,
        MatContent::Sparse { .. }
    ));
    let d = dataset(
        "[[domains]]\nname = \"src\"\nfile = \"sparse.mat\"\nfeatures = \"X\"\nlabels = \"y\"\n",
    )
    .load(&["src"], None, None)
    .unwrap();
    let want = xs().mapv(|v| if v.abs() < 1.0 { 0.0 } else { v });
    assert_eq!(d.domains[0].x(), want.view());
    // A file whose every array is sparse, labels included (compressed this time).
    let all = dataset(
        "[[domains]]\nname = \"src\"\nfile = \"allsparse.mat\"\nfeatures = \"fea\"\nlabels = \"gnd\"\n",
    )
    .load(&["src"], None, None)
    .unwrap();
    assert_eq!(all.domains[0].x(), want.view());
    assert_eq!(all.domains[0].y().to_vec(), YS);
    let (_, _, b) = mat.matrix("B").unwrap();
    assert_eq!(b.iter().filter(|&&v| v == 1.0).count(), 6); // (k % 5) > 2 for k < 18
}

#[test]
fn char_cell_and_struct_variables_are_listed_as_skipped_never_read() {
    let mat = MatFile::read(&dir().join("mixed.mat")).unwrap();
    let listing = mat.listing();
    assert!(
        listing.contains("`names` char") && listing.contains("skipped: text"),
        "{listing}"
    );
    assert!(
        listing.contains("`c` cell") && listing.contains("`s` struct"),
        "{listing}"
    );
    let e = err(
        "[[domains]]\nname = \"src\"\nfile = \"mixed.mat\"\nfeatures = \"c\"\nlabels = \"y\"\n",
    );
    assert!(e.contains("mixed.mat `c`") && e.contains("cell"), "{e}");
    let e = err(
        "[[domains]]\nname = \"src\"\nfile = \"mixed.mat\"\nfeatures = \"fts\"\nlabels = \"y\"\n",
    );
    assert!(
        e.contains("`fts` not found") && e.contains("`X` double 6×3"),
        "{e}"
    );
}

#[test]
fn the_sample_axis_is_inferred_or_asked_for() {
    let e = err(
        "[[domains]]\nname = \"src\"\nfile = \"square.mat\"\nfeatures = \"X\"\nlabels = \"y\"\n",
    );
    assert!(
        e.contains("samples = \"rows\"") && e.contains("square.mat"),
        "{e}"
    );
    let ok = dataset(
        "[[domains]]\nname = \"src\"\nfile = \"square.mat\"\nfeatures = \"X\"\nlabels = \"y\"\nsamples = \"rows\"\n",
    );
    // Square and rows: 3 samples of 3 features, but only classes 10 and 20 -> 2 classes.
    let l = ok.load(&["src"], None, None).unwrap();
    assert_eq!(l.domains[0].x(), xs().slice(ndarray::s![..3, ..]));
    let e = err("[[domains]]\nname = \"src\"\nfile = \"both.mat\"\nfeatures = \"X_src\"\nlabels = \"Y_tar\"\n");
    assert!(e.contains("6×3 but there are 5 labels"), "{e}");
    let e = err("[[domains]]\nname = \"src\"\nfile = \"both.mat\"\nfeatures = \"X_src\"\nlabels = \"Y_src\"\nsamples = \"columns\"\n");
    assert!(e.contains("so 3 samples, but there are 6 labels"), "{e}");
}

#[test]
fn v73_files_hdf5_after_a_user_block_with_gzip_chunks_read_the_same_numbers() {
    let mat = MatFile::read(&dir().join("v73.mat")).unwrap();
    assert_eq!(mat.version, "MATLAB v7.3 (HDF5)");
    let x = mat.variable("X").unwrap();
    assert_eq!((x.class, x.dims.clone()), ("double", vec![6, 3]));
    let l = dataset(
        "[[domains]]\nname = \"src\"\nfile = \"v73.mat\"\nfeatures = \"X\"\nlabels = \"y\"\n",
    )
    .load(&["src"], None, None)
    .unwrap();
    assert_eq!(l.domains[0].x(), xs().view());
    assert_eq!(l.domains[0].y().to_vec(), YS);
    // A damaged HDF5 body is an error naming the file and the format, not a panic.
    let tmp = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(dir().join("v73.mat")).unwrap();
    bytes.truncate(1200);
    std::fs::write(tmp.path().join("cut73.mat"), &bytes).unwrap();
    let e = MatFile::read(&tmp.path().join("cut73.mat"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("cut73.mat") && e.contains("v7.3"), "{e}");
}

#[test]
fn pinned_sha1_is_checked_and_a_mismatch_says_it_is_a_data_problem() {
    let sha1 = tlab_core::io::sha1_hex(&dir().join("src_x.npy")).unwrap();
    let pinned = |s: &str| {
        format!("[[domains]]\nname = \"src\"\nfile = \"src_x.npy\"\nsha1 = \"{s}\"\nlabels_file = \"src_y.npy\"\n")
    };
    dataset(&pinned(&sha1)).load(&["src"], None, None).unwrap();
    let e = err(&pinned(&"0".repeat(40)));
    assert!(
        e.starts_with("data problem") && e.contains("src_x.npy"),
        "{e}"
    );
    let e = err(&pinned("abc"));
    assert!(e.contains("not 40 hex digits"), "{e}");
}

#[test]
fn bad_descriptions_and_files_name_the_fix() {
    let cases = [
        ("[[domains]]\nname = \"src\"\nfile = \"both.dat\"\n", "add `format"),
        ("[[domains]]\nname = \"src\"\nfile = \"both.mat\"\nlabels = \"Y_src\"\n", "`features` is missing"),
        ("[[domains]]\nname = \"src\"\nfile = \"both.mat\"\nfeatures = \"X_src\"\n", "`labels` is missing"),
        ("[[domains]]\nname = \"src\"\nfile = \"src_x.npy\"\n", "labels_file"),
        ("[[domains]]\nname = \"src\"\nfile = \"src.csv\"\nlabels = \"label\"\nsamples = \"rows\"\n", "drop `samples`"),
        ("[[domains]]\nname = \"src\"\nfile = \"src.csv\"\nlabels = \"y\"\n", "`y` not found"),
        ("[[domains]]\nname = \"src\"\nfile = \"absent.mat\"\nfeatures = \"X\"\nlabels = \"y\"\n", "absent.mat"),
        ("[[domains]]\nname = \"src\"\nfile = \".\"\nformat = \"mat\"\nfeatures = \"X\"\nlabels = \"y\"\n", "not a regular file"),
        ("[[domains]]\nname = \"src\"\nfile = \"both.mat\"\nfeatures = \"X_src\"\nlabels = \"Y_src\"\ncolour = 1\n", "unknown field `colour`"),
        ("domains = []\n", "no domains"),
        ("[[domains]]\nname = \"src\"\nfile = \"both.mat\"\nfeatures = \"X_src\"\nlabels = \"X_src\"\n", "labels must be a vector"),
    ];
    for (toml, want) in cases {
        let e = err(toml);
        assert!(e.contains(want), "{toml}\n→ {e}");
    }
    // A damaged file names itself and the format.
    let tmp = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(dir().join("both.mat")).unwrap();
    std::fs::write(tmp.path().join("cut.mat"), &bytes[..bytes.len() - 40]).unwrap();
    std::fs::write(tmp.path().join("x.npz"), b"PK not really").unwrap();
    for (file, want) in [("cut.mat", "cut.mat"), ("x.npz", "not a zip archive")] {
        let spec = DatasetSpec::parse(
            &format!("[[domains]]\nname = \"src\"\nfile = \"{file}\"\nfeatures = \"X_src\"\nlabels = \"Y_src\"\n"),
            "t",
        )
        .unwrap();
        let e = Dataset {
            spec,
            base: tmp.path().to_path_buf(),
        }
        .load(&["src"], None, None)
        .unwrap_err()
        .to_string();
        assert!(e.contains(want), "{e}");
    }
}

#[test]
fn a_declared_class_set_maps_the_same_and_rejects_strangers() {
    let both = r#"
        [[domains]]
        name = "src"
        file = "both.mat"
        features = "X_src"
        labels = "Y_src"
        [[domains]]
        name = "tgt"
        file = "both.mat"
        features = "X_tar"
        labels = "Y_tar"
        "#;
    let l = load(&format!("classes = [30, 10, 20, 40]\n{both}"));
    // 40 is in no domain: still a class (k = 4), the others keep their sorted places.
    assert_eq!(l.domains[0].n_classes(), 4);
    assert_eq!(l.domains[1].y().to_vec(), YT);
    let e = dataset(&format!("classes = [10, 20]\n{both}"))
        .load(&["src"], None, None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("30 at position 3") && e.contains("10, 20"),
        "{e}"
    );
}
