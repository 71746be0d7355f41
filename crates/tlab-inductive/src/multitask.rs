//! Multi-task learning with hard parameter sharing (Caruana, "Multitask Learning", 1997):
//! one trunk shared by every task and one softmax head per task, trained jointly. Each step
//! takes one mini-batch of every task (each task's rows in its own seeded order, the
//! smaller tasks cycling), back-propagates each task's cross-entropy through its head and
//! the trunk, updates each head from its own gradient and the trunk from the weighted sum
//! of the tasks' gradients (weights `task_weights`). Tasks may have different label sets.

use dfdx::prelude::*;
use ndarray::{ArrayView1, ArrayView2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tlab_core::CoreError;
use tlab_nn::train::{gradients_of, one_hot};
use tlab_nn::{batches, Activation, Mlp, Optimizer, TrainConfig};

use crate::Result;

/// One task: rows, labels and class count.
pub struct Task<'a> {
    pub x: ArrayView2<'a, f32>,
    pub y: ArrayView1<'a, usize>,
    pub n_classes: usize,
}

/// Trains `trunk` and one new head per task (seeded); returns the heads in task order.
/// An epoch is one pass over the largest task.
pub fn train_multi_task(
    trunk: &mut Mlp,
    tasks: &[Task<'_>],
    task_weights: &[f32],
    config: &TrainConfig,
    seed: u64,
) -> Result<Vec<Mlp>> {
    config.check()?;
    if tasks.is_empty() || task_weights.len() != tasks.len() {
        return Err(CoreError::invalid_param(
            "tasks",
            tasks.len(),
            format!(
                "≥ 1 task and one weight each ({} weights)",
                task_weights.len()
            ),
        )
        .into());
    }
    let width = trunk.n_outputs();
    for (i, t) in tasks.iter().enumerate() {
        if t.x.nrows() == 0 || t.x.nrows() != t.y.len() || t.x.ncols() != trunk.n_inputs() {
            return Err(CoreError::Shape {
                context: format!("task {i}"),
                detail: format!(
                    "{} rows × {} features, {} labels; the trunk takes {} features",
                    t.x.nrows(),
                    t.x.ncols(),
                    t.y.len(),
                    trunk.n_inputs()
                ),
            }
            .into());
        }
        if let Some(&c) = t.y.iter().find(|&&c| c >= t.n_classes) {
            return Err(CoreError::invalid_param(
                "label",
                c,
                format!("below task {i}'s {} classes", t.n_classes),
            )
            .into());
        }
    }
    let mut heads: Vec<Mlp> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            Mlp::new(
                &[width, t.n_classes],
                &[Activation::Identity],
                seed ^ (0x7a5c + i as u64),
            )
        })
        .collect::<std::result::Result<_, _>>()?;
    let mut trunk_opt = Optimizer::new(config.optimizer)?;
    let mut head_opts: Vec<Optimizer> = tasks
        .iter()
        .map(|_| Optimizer::new(config.optimizer))
        .collect::<std::result::Result<_, _>>()?;
    let targets: Vec<_> = tasks.iter().map(|t| one_hot(t.y, t.n_classes)).collect();
    let mut rngs: Vec<ChaCha8Rng> = (0..tasks.len())
        .map(|i| ChaCha8Rng::seed_from_u64(seed.wrapping_add(1 + i as u64)))
        .collect();
    let mut queues: Vec<Vec<Vec<usize>>> = vec![Vec::new(); tasks.len()];
    let steps = tasks
        .iter()
        .map(|t| t.x.nrows().div_ceil(config.batch))
        .max()
        .expect("≥ 1 task");
    let n_trunk = trunk.n_param_tensors();
    for epoch in 0..config.epochs {
        let factor = config.schedule.factor(epoch, config.epochs);
        for _ in 0..steps {
            let mut trunk_grads: Option<Vec<Vec<f32>>> = None;
            for (i, t) in tasks.iter().enumerate() {
                if queues[i].is_empty() {
                    queues[i] = batches(t.x.nrows(), config.batch, &mut rngs[i]);
                    queues[i].reverse();
                }
                let b = queues[i].pop().expect("refilled");
                let xb = tlab_nn::gather_rows(t.x.view(), &b);
                let tb = tlab_nn::gather_rows(targets[i].view(), &b);
                let mut layers = trunk.layers.clone();
                layers.extend(heads[i].layers.iter().cloned());
                let joint = Mlp::from_layers(layers)?;
                let logits = joint.forward_batch(xb.view());
                let loss = cross_entropy_with_logits_loss(logits, joint.tensor(tb.view()));
                let g = gradients_of(&joint, &loss.backward());
                let (tg, hg) = g.split_at(n_trunk);
                match &mut trunk_grads {
                    None => {
                        trunk_grads = Some(
                            tg.iter()
                                .map(|v| v.iter().map(|x| x * task_weights[i]).collect())
                                .collect(),
                        )
                    }
                    Some(acc) => {
                        for (a, v) in acc.iter_mut().zip(tg) {
                            a.iter_mut()
                                .zip(v)
                                .for_each(|(a, x)| *a += x * task_weights[i]);
                        }
                    }
                }
                head_opts[i].update(&mut heads[i], hg, &[], factor);
            }
            trunk_opt.update(trunk, &trunk_grads.expect("≥ 1 task"), &[], factor);
        }
    }
    Ok(heads)
}
