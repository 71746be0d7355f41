//! Shallow inductive baselines for few target labels.
//!
//! - [`tradaboost`]: TrAdaBoost (Dai, Yang, Xue, Yu, "Boosting for Transfer Learning", ICML
//!   2007). Source rows ("diff-distribution") and the labelled target rows ("same
//!   distribution") are pooled with weights; each round trains the weighted learner, takes
//!   ε_t, the weighted error on the target rows (capped at 0.499; a round with ε_t = 0 ends
//!   the boosting), then shrinks the weight of misclassified source rows by
//!   β = 1 / (1 + √(2 ln n_s / N)) and grows misclassified target rows by β_t⁻¹,
//!   β_t = ε_t / (1 − ε_t). The prediction is the vote of the rounds ⌈N/2⌉…N weighted by
//!   ln(1/β_t) — the paper's rule for two classes, here a weighted plurality vote so that it
//!   covers k classes (the binary rule is its two-class case).
//! - [`prior_logistic`]: multinomial logistic regression on the target rows regularised
//!   toward the source model's weights, `CE + λ/2 ‖W − W_s‖²` (the bias too), after
//!   Chelba & Acero ("Adaptation of maximum entropy capitalizer", 2006) and the "prior"
//!   regulariser of Evgeniou & Pontil: `W_s` is the same model fitted on the source with
//!   `λ/2 ‖W‖²`. Both fits are full-batch Adam through tlab-nn (a linear layer is the
//!   multinomial model); λ → 0 gives the target-only fit started from the source's weights.

use ndarray::{Array1, Array2, ArrayView2, Axis};
use tlab_core::{CoreError, LabeledDomain, LearnerSpec, TrainSet};
use tlab_nn::train::Anchor;
use tlab_nn::{train_classifier, Activation, Mlp, OptimizerSpec, Schedule, TrainConfig};

use crate::{InductiveError, Result};

/// TrAdaBoost with `rounds` rounds of `learner` (which must use sample weights).
pub fn tradaboost(
    source: &LabeledDomain,
    labeled: &LabeledDomain,
    target_x: ArrayView2<'_, f64>,
    learner: &LearnerSpec,
    rounds: usize,
    seed: u64,
) -> Result<Array1<usize>> {
    if rounds == 0 {
        return Err(CoreError::invalid_param("rounds", 0, "≥ 1").into());
    }
    if matches!(learner, LearnerSpec::Knn { k: 1 }) {
        return Err(InductiveError::Data {
            strategy: "tradaboost",
            detail: "1-NN ignores sample weights; boosting needs a learner that uses them".into(),
        });
    }
    let k = labeled.n_classes().max(source.n_classes());
    let (ns, nt) = (source.n_samples(), labeled.n_samples());
    let x = ndarray::concatenate(Axis(0), &[source.x(), labeled.x()]).map_err(|e| {
        CoreError::Shape {
            context: "source ∪ labelled target".into(),
            detail: e.to_string(),
        }
    })?;
    let y = ndarray::concatenate(Axis(0), &[source.y().view(), labeled.y().view()]).expect("1-D");
    let mut w = Array1::<f64>::ones(ns + nt);
    let beta = 1.0 / (1.0 + (2.0 * (ns as f64).ln() / rounds as f64).sqrt());
    let model = learner.build(seed)?;
    let mut votes: Vec<(f64, Array1<usize>)> = Vec::new();
    for t in 0..rounds {
        let p = &w / w.sum() * (ns + nt) as f64;
        let fit = model.fit(TrainSet::new(x.view(), y.view(), k).with_weights(p.view()))?;
        let pred = fit.predict(x.view())?;
        let wrong: Vec<bool> = pred.iter().zip(&y).map(|(a, b)| a != b).collect();
        let tw: f64 = w.slice(ndarray::s![ns..]).sum();
        let err: f64 = (ns..ns + nt)
            .filter(|&i| wrong[i])
            .map(|i| w[i])
            .sum::<f64>()
            / tw;
        let keep = t + 1 > rounds / 2 || rounds == 1;
        if err <= 0.0 {
            // A perfect round on the target rows: it decides alone among the kept rounds.
            votes.push((f64::INFINITY, fit.predict(target_x)?));
            break;
        }
        let eps = err.min(0.499);
        let beta_t = eps / (1.0 - eps);
        if keep {
            votes.push(((1.0 / beta_t).ln(), fit.predict(target_x)?));
        }
        for i in 0..ns + nt {
            if wrong[i] {
                w[i] *= if i < ns { beta } else { 1.0 / beta_t };
            }
        }
    }
    let perfect: Vec<&Array1<usize>> = votes
        .iter()
        .filter(|(a, _)| a.is_infinite())
        .map(|(_, p)| p)
        .collect();
    if let Some(p) = perfect.last() {
        return Ok((*p).clone());
    }
    let mut score = Array2::<f64>::zeros((target_x.nrows(), k));
    for (alpha, pred) in &votes {
        for (i, &c) in pred.iter().enumerate() {
            score[(i, c)] += alpha;
        }
    }
    Ok(tlab_core::learners::argmax_rows(score.view()))
}

/// Full-batch Adam for a linear softmax model (`epochs` passes).
fn linear_config(epochs: usize, n: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch: n.max(1),
        optimizer: OptimizerSpec::Adam {
            lr: 0.05,
            weight_decay: 0.0,
        },
        schedule: Schedule::Constant,
        patience: None,
    }
}

/// Logistic regression on the labelled target rows pulled toward the source model's
/// weights with strength `lambda` (see the module documentation). Same label set only.
pub fn prior_logistic(
    source: &LabeledDomain,
    labeled: &LabeledDomain,
    target_x: ArrayView2<'_, f64>,
    lambda: f32,
    epochs: usize,
    seed: u64,
) -> Result<Array1<usize>> {
    if !(lambda.is_finite() && lambda >= 0.0) {
        return Err(CoreError::invalid_param("lambda", lambda, "a finite value ≥ 0").into());
    }
    if source.n_classes() != labeled.n_classes() {
        return Err(InductiveError::Data {
            strategy: "prior-logistic",
            detail: format!(
                "the source has {} classes and the target {}: a prior on the weights needs one label set",
                source.n_classes(),
                labeled.n_classes()
            ),
        });
    }
    let d = source.n_features();
    let k = source.n_classes();
    let xs = source.x().mapv(|v| v as f32);
    let mut m = Mlp::new(&[d, k], &[Activation::Identity], seed)?;
    // The source model: L2 (λ = 1e-3 per row scale) keeps it finite on separable data.
    let plain = Anchor {
        values: vec![None, None],
        alpha: 0.0,
        beta: 1e-3,
    };
    let cfg = linear_config(epochs, xs.nrows());
    train_classifier(
        &mut m,
        xs.view(),
        source.y().view(),
        None,
        &cfg,
        &[],
        Some(&plain),
        seed,
    )?;
    let prior = Anchor {
        values: tlab_nn::flat_param_list(&m).into_iter().map(Some).collect(),
        alpha: lambda,
        beta: 0.0,
    };
    let xl = labeled.x().mapv(|v| v as f32);
    let cfg = linear_config(epochs, xl.nrows());
    train_classifier(
        &mut m,
        xl.view(),
        labeled.y().view(),
        None,
        &cfg,
        &[],
        Some(&prior),
        seed,
    )?;
    let scores = m.forward(target_x.mapv(|v| v as f32).view())?;
    Ok(tlab_core::learners::argmax_rows(
        scores.mapv(f64::from).view(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn domain(x: Array2<f64>, y: Vec<usize>) -> LabeledDomain {
        LabeledDomain::new("d", x, Array1::from(y), 2).unwrap()
    }

    #[test]
    fn tradaboost_downweights_the_source_rows_that_disagree_with_the_target() {
        // Target rule: class = x > 0. The source agrees except on (0, 1), which it labels 0
        // (its boundary sits at 1). Pooling follows the larger source; boosting shrinks the
        // disagreeing source rows and must label the test points in (0, 1) as the target.
        let xs = Array2::from_shape_fn((40, 1), |(i, _)| (i as f64 - 19.5) / 10.0);
        let ys: Vec<usize> = (0..40).map(|i| usize::from(xs[(i, 0)] > 1.0)).collect();
        let xl = array![[-1.0], [-0.5], [0.2], [0.5], [0.8], [1.5]];
        let labeled = domain(xl.clone(), vec![0, 0, 1, 1, 1, 1]);
        let xt = array![[-1.5], [-0.2], [0.3], [0.7], [1.7]];
        let learner = LearnerSpec::Logistic {
            c: 10.0,
            max_iter: 500,
            tol: tlab_core::learners::LOGISTIC_DEFAULT_TOL,
        };
        let source = domain(xs, ys);
        let x = ndarray::concatenate(Axis(0), &[source.x(), xl.view()]).unwrap();
        let y = ndarray::concatenate(Axis(0), &[source.y().view(), labeled.y().view()]).unwrap();
        let pooled = learner
            .build(0)
            .unwrap()
            .fit(TrainSet::new(x.view(), y.view(), 2))
            .unwrap()
            .predict(xt.view())
            .unwrap();
        eprintln!("pooled {pooled:?}");
        let p = tradaboost(&source, &labeled, xt.view(), &learner, 20, 0).unwrap();
        assert_eq!(p.to_vec(), vec![0, 0, 1, 1, 1]);
        assert_ne!(pooled, p, "pooling follows the source on (0, 1)");
        let one_nn = LearnerSpec::Knn { k: 1 };
        assert!(tradaboost(&labeled, &labeled, xt.view(), &one_nn, 5, 0).is_err());
    }

    #[test]
    fn the_prior_pulls_toward_the_source_model_and_lambda_zero_follows_the_target() {
        // Source rule: class = x₀ > 0. Target rows (two) follow x₁ > 0 instead. With a strong
        // prior the source rule wins on the test rows; with none the target rule does.
        let xs = Array2::from_shape_fn((40, 2), |(i, j)| {
            if j == 0 {
                (i as f64 - 19.5) / 10.0
            } else {
                ((i * 7) % 11) as f64 / 5.0 - 1.0
            }
        });
        let ys: Vec<usize> = (0..40).map(|i| usize::from(i >= 20)).collect();
        let source = domain(xs, ys);
        let labeled = domain(array![[0.5, -1.0], [-0.5, 1.0]], vec![0, 1]);
        let test = array![[1.0, -1.0], [-1.0, 1.0]];
        let strong = prior_logistic(&source, &labeled, test.view(), 100.0, 300, 0).unwrap();
        assert_eq!(strong.to_vec(), vec![1, 0]);
        let none = prior_logistic(&source, &labeled, test.view(), 0.0, 300, 0).unwrap();
        assert_eq!(none.to_vec(), vec![0, 1]);
        assert!(prior_logistic(&source, &labeled, test.view(), -1.0, 10, 0).is_err());
    }
}
