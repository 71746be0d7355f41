//! The scale check: MMD (linear-time and random-feature), CORAL and sliced
//! Wasserstein on two samples of 100,000 × 256 each. Prints seconds per metric; run under
//! `/usr/bin/time -v` for the peak memory:
//!   cargo run -p tlab-benches --example similarity_scale
//! (`scripts/compare_similarity.py` times numpy/POT on the same data shapes.)

use std::time::Instant;

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

fn main() {
    let (n, d) = (100_000, 256);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let xs = Array2::from_shape_simple_fn((n, d), || rng.sample::<f64, _>(StandardNormal));
    let xt =
        Array2::from_shape_simple_fn((n, d), || rng.sample::<f64, _>(StandardNormal) * 1.1 + 0.05);
    let time = |name: &str, f: &dyn Fn() -> f64| {
        let t = Instant::now();
        let v = f();
        println!(
            "{name:<28} {:>8.3} s   value {v:.6e}",
            t.elapsed().as_secs_f64()
        );
    };
    time("mmd-linear-time", &|| {
        tlab_similarity::mmd_linear_time(xs.view(), xt.view()).unwrap()
    });
    time("mmd-rff (256 features)", &|| {
        tlab_similarity::mmd_rff(xs.view(), xt.view(), 256, 0).unwrap()
    });
    time("mmd-rff (1024 features)", &|| {
        tlab_similarity::mmd_rff(xs.view(), xt.view(), 1024, 0).unwrap()
    });
    time("coral", &|| {
        tlab_similarity::coral_distance(xs.view(), xt.view()).unwrap()
    });
    time("sliced-wasserstein (64)", &|| {
        tlab_similarity::sliced_wasserstein(xs.view(), xt.view(), 64, 0).unwrap()
    });
    let _ = rng.gen::<u8>();
}
