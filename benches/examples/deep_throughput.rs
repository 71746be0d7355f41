//! Training throughput of tlab-nn beside PyTorch CPU (`scripts/compare_deep.py` times the
//! same work in torch and skada): one epoch of an MLP 256 → 256 → 10 (ReLU, softmax
//! cross-entropy, Adam 1e-3, batch 64) on 2000 × 256 rows, and one epoch of DANN on a
//! 2000-row source and an 1800-row target of 256 features (trunk 256 → 256, head → 10,
//! domain classifier 256 → 256 → 2, one source and one target batch of 64 a step).
//! Prints the median of repeated epochs in milliseconds:
//!   RAYON_NUM_THREADS=1 cargo run -p tlab-benches --example deep_throughput
//! dfdx's CPU matmul (gemm) is the only threaded part; the thread count is rayon's.

use std::time::Instant;

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tlab_nn::{train_classifier, Activation, Mlp};

fn median_ms(reps: usize, mut f: impl FnMut()) -> f64 {
    f(); // warm-up
    let mut ts: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ts.sort_by(f64::total_cmp);
    ts[reps / 2]
}

fn main() {
    let reps = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(9usize);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let x = Array2::from_shape_simple_fn((2000, 256), || rng.gen::<f32>());
    let y = ndarray::Array1::from_shape_fn(2000, |i| i % 10);
    let cfg = tlab_benches::one_adam_epoch(64);
    let mut m = Mlp::new(
        &[256, 256, 10],
        &[Activation::Relu, Activation::Identity],
        0,
    )
    .expect("valid sizes");
    let mlp = median_ms(reps, || {
        train_classifier(&mut m, x.view(), y.view(), None, &cfg, &[], None, 0).expect("trains");
    });
    println!("mlp 256-256-10 epoch (adam, batch 64, 2000 rows): {mlp:.1} ms");
    // DESIGN.md's earlier measurement: 256 → 128 → 64 → 10, batch 128.
    let cfg128 = tlab_benches::one_adam_epoch(128);
    let mut m2 = Mlp::new(
        &[256, 128, 64, 10],
        &[Activation::Relu, Activation::Relu, Activation::Identity],
        0,
    )
    .expect("valid sizes");
    let small = median_ms(reps, || {
        train_classifier(&mut m2, x.view(), y.view(), None, &cfg128, &[], None, 0).expect("trains");
    });
    println!("mlp 256-128-64-10 epoch (adam, batch 128, 2000 rows): {small:.1} ms");

    let xs = Array2::from_shape_simple_fn((2000, 256), || rng.gen::<f64>());
    let ys = ndarray::Array1::from_shape_fn(2000, |i| i % 10);
    let xt = Array2::from_shape_simple_fn((1800, 256), || rng.gen::<f64>() * 1.1);
    let s = tlab_core::LabeledDomain::new("s", xs, ys, 10).expect("valid source");
    let t = tlab_core::UnlabeledDomain::new("t", xt).expect("valid target");
    let spec: tlab_transductive::LabellerSpec =
        serde_json::from_str(r#"{"kind":"deep","method":"dann","epochs":1}"#).expect("spec");
    let dann = median_ms(reps.min(5), || {
        spec.label(&s, &t, 0).expect("labels");
    });
    println!("dann epoch (2000 source + 1800 target rows, batch 64, incl. predicting the target): {dann:.1} ms");
}
