//! Criterion benches, one entry point, a module per area (run: `cargo bench -p tlab-benches`).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tlab_core::learners::{Classifier, KNearest, LinearSvm, LogisticRegression, TrainSet};
use tlab_core::{linalg, Preprocess};

fn data(n: usize, d: usize, k: usize, seed: u64) -> (Array2<f64>, ndarray::Array1<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let y: ndarray::Array1<usize> = (0..n).map(|i| i % k).collect();
    let x = Array2::from_shape_fn((n, d), |(i, j)| {
        rng.gen::<f64>() + if j % k == y[i] { 0.5 } else { 0.0 }
    });
    (x, y)
}

/// 1-NN at the MNIST→USPS size: 2000 source × 1800 target × 256 features.
fn knn(c: &mut Criterion) {
    let (xs, ys) = data(2000, 256, 10, 0);
    let (xt, _) = data(1800, 256, 10, 1);
    let fit = KNearest::new(1)
        .unwrap()
        .fit(TrainSet::new(xs.view(), ys.view(), 10))
        .unwrap();
    c.bench_function("1nn predict 2000x1800x256", |b| {
        b.iter(|| fit.predict(black_box(xt.view())).unwrap())
    });
}

/// Logistic regression and linear SVM fits at the Office-Caltech size (1123 × 800, 10 classes).
fn learners(c: &mut Criterion) {
    let (x, y) = data(1123, 800, 10, 2);
    let mut g = c.benchmark_group("fit 1123x800 10 classes");
    g.sample_size(10);
    g.bench_function("logistic", |b| {
        let m = LogisticRegression::new(1.0, 500).unwrap();
        b.iter(|| m.fit(TrainSet::new(x.view(), y.view(), 10)).unwrap())
    });
    g.bench_function("linear svm", |b| {
        let m = LinearSvm::new(1.0, 1000, 0).unwrap();
        b.iter(|| m.fit(TrainSet::new(x.view(), y.view(), 10)).unwrap())
    });
    g.finish();
}

fn preprocess_and_linalg(c: &mut Criterion) {
    let (x, _) = data(2000, 800, 10, 3);
    c.bench_function("sum-then-zscore 2000x800", |b| {
        b.iter(|| Preprocess::SumThenZscore.apply(black_box(x.clone())))
    });
    let (m, _) = data(800, 800, 10, 4);
    let sym = m.t().dot(&m);
    let mut g = c.benchmark_group("faer 800x800");
    g.sample_size(10);
    g.bench_function("sym_eigh", |b| {
        b.iter(|| linalg::sym_eigh(black_box(sym.view())).unwrap())
    });
    g.bench_function("cholesky", |b| {
        b.iter(|| linalg::cholesky(black_box(sym.view())).unwrap())
    });
    g.finish();
    // The iterative solvers' inner products at the SURF C→A size (KMM's 1123 × 1123
    // kernel, the Sinkhorn sweep over a 1123 × 958 kernel), beside the ndarray code they
    // replace with the same bits.
    let (k, _) = data(1123, 1123, 10, 5);
    let (kc, _) = data(1123, 958, 10, 6);
    let v = k.row(0).to_owned();
    let vt = kc.row(0).to_owned();
    let mut g = c.benchmark_group("same-bits products 1123");
    g.bench_function("ndarray dot 1123x1123", |b| {
        b.iter(|| black_box(&k).dot(&v))
    });
    g.bench_function("mat_vec 1123x1123", |b| {
        b.iter(|| linalg::mat_vec(black_box(k.view()), v.view()))
    });
    g.bench_function("ndarray sweep 1123x958", |b| {
        b.iter(|| {
            let mut acc = ndarray::Array1::<f64>::zeros(958);
            for row in black_box(&kc).outer_iter() {
                let s = 1.0 / row.dot(&vt);
                acc.zip_mut_with(&row, |p, &x| *p += x * s);
            }
            acc
        })
    });
    g.bench_function("row_dots_axpy 1123x958", |b| {
        b.iter(|| {
            let (mut u, mut acc) = (vec![0.0; 1123], vec![0.0; 958]);
            linalg::row_dots_axpy(
                black_box(kc.view()),
                vt.view(),
                |d| 1.0 / d,
                &mut u,
                &mut acc,
            );
            acc
        })
    });
    g.finish();
}

/// Each adapter's fit at the SURF C→A size: 1123 source + 958 target samples × 800 features.
fn adapters(c: &mut Criterion) {
    use tlab_core::{LabeledDomain, UnlabeledDomain};
    use tlab_transductive::AdapterSpec;
    let (xs, ys) = data(1123, 800, 10, 5);
    let (xt, _) = data(958, 800, 10, 6);
    let s = LabeledDomain::new("s", xs, ys, 10).unwrap();
    let t = UnlabeledDomain::new("t", xt).unwrap();
    let mut g = c.benchmark_group("adapt 1123+958x800");
    g.sample_size(10);
    for spec in [
        r#"{"kind":"pca","dim":100}"#,
        r#"{"kind":"tca","dim":100}"#,
        r#"{"kind":"jda","dim":100,"iterations":10}"#,
        r#"{"kind":"coral"}"#,
        r#"{"kind":"sa","dim":100}"#,
        r#"{"kind":"ot-emd"}"#,
    ] {
        let a: AdapterSpec = serde_json::from_str(spec).unwrap();
        let built = a.build().unwrap();
        g.bench_function(a.kind(), |b| b.iter(|| built.adapt(&s, &t, 0).unwrap()));
    }
    // The labellers (no learner after them): EasyTL, and MEDA with the authors' settings.
    for spec in [
        r#"{"kind":"easytl"}"#,
        r#"{"kind":"easytl","intra_align":"raw"}"#,
        r#"{"kind":"meda"}"#,
    ] {
        let l: tlab_transductive::LabellerSpec = serde_json::from_str(spec).unwrap();
        g.bench_function(l.short_name(), |b| b.iter(|| l.label(&s, &t, 0).unwrap()));
    }
    g.finish();
}

/// Each transductive method's fit on the real files (issue 4): Office-Caltech SURF C→A
/// (1123 + 958 rows × 800, the published preprocessing) and MNIST→USPS (2000 + 1800 × 256),
/// read from `TLAB_DATA` (else `../shared/data`); skipped, saying so, when absent.
fn adapters_real(c: &mut Criterion) {
    use tlab_transductive::{AdapterSpec, LabellerSpec, ReweighterSpec};
    let dir = std::env::var_os("TLAB_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("../shared/data"));
    for (dataset, source, target, dim) in [
        ("office-caltech-surf", "caltech", "amazon", 100),
        ("mnist-usps", "mnist", "usps", 100),
    ] {
        let bench = tlab_core::registry::benchmark(dataset).unwrap();
        let (s, t) = match (
            bench.load(&dir, source, None),
            bench.load(&dir, target, None),
        ) {
            (Ok(s), Ok(t)) => (s, t.into_unlabeled().0),
            (Err(e), _) | (_, Err(e)) => {
                eprintln!("adapt real {dataset}: skipped, no data ({e})");
                continue;
            }
        };
        let mut g = c.benchmark_group(format!("adapt real {source}->{target}"));
        g.sample_size(10);
        for spec in [
            format!(r#"{{"kind":"pca","dim":{dim}}}"#),
            format!(r#"{{"kind":"tca","dim":{dim}}}"#),
            format!(r#"{{"kind":"jda","dim":{dim},"iterations":10}}"#),
            format!(r#"{{"kind":"bda","dim":{dim},"iterations":10}}"#),
            r#"{"kind":"coral"}"#.to_string(),
            format!(r#"{{"kind":"sa","dim":{dim}}}"#),
            r#"{"kind":"gfk","dim":20}"#.to_string(),
            r#"{"kind":"ot-sinkhorn","epsilon":0.1}"#.to_string(),
            r#"{"kind":"ot-emd"}"#.to_string(),
            r#"{"kind":"ot-class-reg","epsilon":0.1,"eta":0.1}"#.to_string(),
        ] {
            let a: AdapterSpec = serde_json::from_str(&spec).unwrap();
            let built = a.build().unwrap();
            g.bench_function(a.kind(), |b| b.iter(|| built.adapt(&s, &t, 0).unwrap()));
        }
        for spec in [
            r#"{"kind":"kmm"}"#,
            r#"{"kind":"kliep"}"#,
            r#"{"kind":"discriminative"}"#,
            r#"{"kind":"nearest-neighbour"}"#,
        ] {
            let r: ReweighterSpec = serde_json::from_str(spec).unwrap();
            g.bench_function(r.kind(), |b| b.iter(|| r.weights(&s, &t, 0).unwrap()));
        }
        for spec in [
            r#"{"kind":"easytl"}"#,
            r#"{"kind":"easytl","intra_align":"raw"}"#,
            r#"{"kind":"meda"}"#,
        ] {
            let l: LabellerSpec = serde_json::from_str(spec).unwrap();
            g.bench_function(l.short_name(), |b| b.iter(|| l.label(&s, &t, 0).unwrap()));
        }
        g.finish();
    }
}

/// A 10,000-run suite: 10 synthetic pairs × 10 method columns × 100 seeds.
fn engine_suite() -> tlab_experiments::suite::Suite {
    let pairs: Vec<String> = (1..=10)
        .map(|i| format!("[\"blobs:shift=0\", \"blobs:shift={i}\"]"))
        .collect();
    let seeds: Vec<String> = (0..100).map(|s| s.to_string()).collect();
    let text = format!(
        r#"
name = "engine"
dataset = "synthetic"
pairs = [{}]
seeds = [{}]
metrics = ["mmd-linear"]
[[methods]]
id = "src"
method = "source-only"
learner = {{ kind = "logistic" }}
[[methods]]
id = "tgt"
method = "target-only"
learner = {{ kind = "logistic" }}
budgets = [1, 3, 5, 10]
[[methods]]
id = "both"
method = "source-and-target"
learner = {{ kind = "logistic", c = 1.0 }}
grid = {{ "learner.c" = [0.1, 1.0] }}
budgets = [3, 10]
[[methods]]
id = "sa"
method = "adapt"
adapter = {{ kind = "sa", dim = 2 }}
learner = {{ kind = "logistic" }}
"#,
        pairs.join(", "),
        seeds.join(", ")
    );
    tlab_experiments::suite::Suite::parse(&text, "engine").unwrap()
}

/// Rows for every run of the suite with seeded accuracies (the engine's costs, not the methods').
fn engine_rows(suite: &tlab_experiments::suite::Suite) -> Vec<tlab_experiments::store::Row> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    tlab_experiments::runner::expand(suite)
        .iter()
        .map(|r| {
            let shift: f64 = r.target.trim_start_matches("blobs:shift=").parse().unwrap();
            tlab_experiments::store::Row {
                suite: suite.name.clone(),
                dataset: suite.dataset_name(),
                source: r.source.clone(),
                target: r.target.clone(),
                method: r.method.id.clone(),
                method_kind: r.method.method.name().to_string(),
                learner: r.method.model_name(),
                params: r.method.params_json(),
                seed: r.seed,
                budget: r.budget as u64,
                accuracy: 100.0 - 4.0 * shift + rng.gen::<f64>() * 10.0 + r.budget as f64,
                macro_f1: rng.gen::<f64>() * 100.0,
                n_scored: 300,
                fit_seconds: rng.gen::<f64>(),
                predict_seconds: rng.gen::<f64>(),
                metrics: [("mmd-linear".to_string(), shift * shift)]
                    .into_iter()
                    .collect(),
                scores: Default::default(),
            }
        })
        .collect()
}

/// The engine's own costs on a 10,000-row sweep: expanding, storing, tabling, reporting, plotting.
fn engine(c: &mut Criterion) {
    use tlab_experiments::{plot, report, store, sweep, table};
    let suite = engine_suite();
    let rows = engine_rows(&suite);
    assert_eq!(rows.len(), 10_000);
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("engine 10k rows");
    g.sample_size(10);
    g.bench_function("expand suite", |b| {
        b.iter(|| tlab_experiments::runner::expand(black_box(&suite)).len())
    });
    g.bench_function("store parquet+csv", |b| {
        b.iter(|| store::write_rows(dir.path(), black_box(&rows)).unwrap())
    });
    g.bench_function("read parquet", |b| {
        b.iter(|| store::read_parquet_rows(&dir.path().join("runs.parquet")).unwrap())
    });
    g.bench_function("journal append 10k", |b| {
        b.iter(|| {
            let _ = std::fs::remove_file(dir.path().join(sweep::Journal::FILE));
            let (j, _) = sweep::Journal::open(dir.path()).unwrap();
            for r in &rows {
                j.append(r).unwrap();
            }
        })
    });
    g.bench_function("table markdown", |b| {
        b.iter(|| table::render(&suite, black_box(&rows), table::Format::Markdown))
    });
    g.bench_function("table latex", |b| {
        b.iter(|| table::render(&suite, black_box(&rows), table::Format::Latex))
    });
    g.bench_function("report", |b| {
        b.iter(|| report::markdown(&suite, black_box(&rows)))
    });
    g.bench_function("plot png+svg", |b| {
        b.iter(|| {
            plot::plot_all(
                &suite,
                black_box(&rows),
                &dir.path().join("plots"),
                &[plot::ImageFormat::Png, plot::ImageFormat::Svg],
            )
            .unwrap()
        })
    });
    g.finish();
}

/// The large-n similarity estimators on 2 × 10,000 × 256 (the 100,000-row timings, too long
/// for criterion's sampling on 2 cores, are in benches/examples/similarity_scale.rs).
fn similarity(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let xs = Array2::from_shape_simple_fn((10_000, 256), || rng.gen::<f64>());
    let xt = Array2::from_shape_simple_fn((10_000, 256), || rng.gen::<f64>() * 1.1);
    let mut g = c.benchmark_group("similarity 2x10000x256");
    g.sample_size(10);
    g.bench_function("mmd-linear-time", |b| {
        b.iter(|| tlab_similarity::mmd_linear_time(xs.view(), xt.view()).unwrap())
    });
    g.bench_function("mmd-rff 256", |b| {
        b.iter(|| tlab_similarity::mmd_rff(xs.view(), xt.view(), 256, 0).unwrap())
    });
    g.bench_function("coral", |b| {
        b.iter(|| tlab_similarity::coral_distance(xs.view(), xt.view()).unwrap())
    });
    g.bench_function("sliced-wasserstein 64", |b| {
        b.iter(|| tlab_similarity::sliced_wasserstein(xs.view(), xt.view(), 64, 0).unwrap())
    });
    g.finish();
}

/// Unsupervised transfer at the sizes of its suites: mSDA on an Amazon-sized pair (two
/// domains of 2000 × 400 in [0, 1], a third of entries zero, as the reviews), PCA, linfa
/// k-means and GMM on MNIST-USPS-sized data, and the detectors fitted and scored there.
fn unsupervised(c: &mut Criterion) {
    use tlab_unsupervised::anomaly::DetectorModel;
    use tlab_unsupervised::{ClusterInit, ClusterSpec, DetectorSpec, RepresentationSpec};
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let reviews = Array2::from_shape_simple_fn((4000, 400), || {
        let v: f64 = rng.gen();
        if v < 0.33 {
            0.0
        } else {
            v
        }
    });
    let digits = Array2::from_shape_simple_fn((2000, 256), || rng.gen::<f64>());
    let mut g = c.benchmark_group("unsupervised");
    g.sample_size(10);
    g.bench_function("msda 5 layers fit 4000x400", |b| {
        b.iter(|| RepresentationSpec::msda().fit(reviews.view()).unwrap())
    });
    let msda = RepresentationSpec::msda().fit(reviews.view()).unwrap();
    g.bench_function("msda 5 layers transform 4000x400", |b| {
        b.iter(|| msda.transform(reviews.view()).unwrap())
    });
    let pca = RepresentationSpec::Pca {
        dim: 32,
        standardize: false,
    };
    g.bench_function("pca 32 fit 2000x256", |b| {
        b.iter(|| pca.fit(digits.view()).unwrap())
    });
    g.bench_function("k-means++ k=10 n_init=10 2000x256", |b| {
        b.iter(|| {
            ClusterSpec::kmeans(ClusterInit::KMeansPlusPlus)
                .cluster(10, digits.view(), None, 0)
                .unwrap()
        })
    });
    for (name, noise, sparsity) in [
        (
            "autoencoder 256-64-256, 1 epoch (batch 64) 2000x256",
            0.0,
            0.0,
        ),
        ("denoising autoencoder, 1 epoch 2000x256", 0.3, 0.0),
        ("sparse autoencoder, 1 epoch 2000x256", 0.0, 0.05),
    ] {
        let ae = RepresentationSpec::Autoencoder {
            hidden: 64,
            epochs: 1,
            batch: 64,
            lr: 1e-3,
            noise,
            sparsity,
            sparsity_weight: 0.1,
            weight_decay: 0.0,
        };
        g.bench_function(name, |b| b.iter(|| ae.fit(digits.view()).unwrap()));
    }
    let z = pca
        .fit(digits.view())
        .unwrap()
        .transform(digits.view())
        .unwrap();
    g.bench_function("gmm k=10 2000x32", |b| {
        b.iter(|| {
            ClusterSpec::Gmm {
                reg_covar: 1e-4,
                n_init: 1,
                max_iter: 100,
            }
            .cluster(10, z.view(), None, 0)
            .unwrap()
        })
    });
    for (name, model) in [
        (
            "detector pca-recon fit+score 2000x256",
            DetectorModel::Reconstruction {
                representation: pca.clone(),
            },
        ),
        (
            "detector knn10 fit+score 2000x256",
            DetectorModel::Knn { k: 10 },
        ),
    ] {
        let spec = DetectorSpec::new(model);
        g.bench_function(name, |b| {
            b.iter(|| {
                let f = spec.fit(digits.view(), 0).unwrap();
                black_box(f.score(digits.view()).unwrap())
            })
        });
    }
    g.finish();
}

/// The issue's scale target: two samples of 100,000 × 256 (the estimators that stay linear
/// in n; each iteration is a whole metric, so 10 samples take about a minute).
fn similarity_100k(c: &mut Criterion) {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let xs = Array2::from_shape_simple_fn((100_000, 256), || rng.gen::<f64>());
    let xt = Array2::from_shape_simple_fn((100_000, 256), || rng.gen::<f64>() * 1.1);
    let mut g = c.benchmark_group("similarity 2x100000x256");
    g.sample_size(10);
    g.bench_function("mmd-linear-time", |b| {
        b.iter(|| tlab_similarity::mmd_linear_time(xs.view(), xt.view()).unwrap())
    });
    g.bench_function("mmd-rff 256", |b| {
        b.iter(|| tlab_similarity::mmd_rff(xs.view(), xt.view(), 256, 0).unwrap())
    });
    g.bench_function("mmd-nystrom 256", |b| {
        b.iter(|| tlab_similarity::mmd_nystrom(xs.view(), xt.view(), 256, 0).unwrap())
    });
    g.bench_function("coral", |b| {
        b.iter(|| tlab_similarity::coral_distance(xs.view(), xt.view()).unwrap())
    });
    g.bench_function("sliced-wasserstein 64", |b| {
        b.iter(|| tlab_similarity::sliced_wasserstein(xs.view(), xt.view(), 64, 0).unwrap())
    });
    g.finish();
}

/// One training epoch of the MLP the inductive and deep-DA suites use (2000 × 256 →
/// 256 → 10, ReLU, batch 64, Adam), and one epoch of DANN on the same shapes.
fn deep(c: &mut Criterion) {
    use tlab_nn::{train_classifier, Activation, Mlp};
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let x = Array2::from_shape_simple_fn((2000, 256), || rng.gen::<f32>());
    let y = ndarray::Array1::from_shape_fn(2000, |i| i % 10);
    let cfg = tlab_benches::one_adam_epoch(64);
    let mut g = c.benchmark_group("deep 2000x256");
    g.sample_size(10);
    g.bench_function("mlp 256-256-10 epoch (adam, batch 64)", |b| {
        let mut m = Mlp::new(
            &[256, 256, 10],
            &[Activation::Relu, Activation::Identity],
            0,
        )
        .unwrap();
        b.iter(|| train_classifier(&mut m, x.view(), y.view(), None, &cfg, &[], None, 0).unwrap())
    });
    let (xs, ys) = data(2000, 256, 10, 8);
    let (xt, _) = data(1800, 256, 10, 9);
    let s = tlab_core::LabeledDomain::new("s", xs, ys, 10).unwrap();
    let t = tlab_core::UnlabeledDomain::new("t", xt).unwrap();
    for method in ["source-only", "dann", "deep-coral", "dan"] {
        let spec: tlab_transductive::LabellerSpec = serde_json::from_str(&format!(
            r#"{{"kind":"deep","method":"{method}","epochs":1}}"#
        ))
        .unwrap();
        g.bench_function(format!("{method} epoch"), |b| {
            b.iter(|| spec.label(&s, &t, 0).unwrap())
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    knn,
    learners,
    preprocess_and_linalg,
    adapters,
    adapters_real,
    engine,
    similarity,
    similarity_100k,
    unsupervised,
    deep
);
criterion_main!(benches);
