//! Criterion benches live in benches/; what the benches and the examples share is here.

use tlab_nn::{OptimizerSpec, Schedule, TrainConfig};

/// One epoch of Adam (lr 1e-3, no weight decay, constant rate) with mini-batches of
/// `batch`: the setting of the deep benches and of `examples/deep_throughput.rs` (and of
/// `scripts/compare_deep.py` on the PyTorch side).
pub fn one_adam_epoch(batch: usize) -> TrainConfig {
    TrainConfig {
        epochs: 1,
        batch,
        optimizer: OptimizerSpec::Adam {
            lr: 1e-3,
            weight_decay: 0.0,
        },
        schedule: Schedule::Constant,
        patience: None,
    }
}
