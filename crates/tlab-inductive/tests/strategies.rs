//! Properties of the inductive strategies on a synthetic source/target pair where the
//! source task is informative for the target: ten Gaussian classes in 20 dimensions, the
//! target the same classes after a small rotation and shift. With 1 label per class every
//! pretrained strategy must beat the same network trained from scratch (transfer helps
//! here by construction), and everything is seeded. (Seen here: the frozen-trunk
//! strategies gain most among the network ones, 0.47 → 0.67–0.74; fine-tuning every layer
//! from a random new head gains least, the feature distortion Kumar et al., ICLR 2022
//! describe; the shallow TrAdaBoost and prior-regularised logistic regression, which see
//! the source rows themselves and suit this linear problem, reach 0.90.)

use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tlab_core::LabeledDomain;
use tlab_inductive::{pretrain, NetworkSpec, StrategySpec};

fn classes(n_per: usize, shift: f64, seed: u64) -> (Array2<f64>, Array1<usize>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut centre = ChaCha8Rng::seed_from_u64(99);
    let centres = Array2::from_shape_fn((10, 20), |_| centre.gen_range(-2.0..2.0));
    let n = 10 * n_per;
    let y = Array1::from_shape_fn(n, |i| i % 10);
    let x = Array2::from_shape_fn((n, 20), |(i, j)| {
        let c = centres[(y[i], j)];
        // A small rotation of coordinate pairs and a shift in the target.
        let (a, b) = if j % 2 == 0 {
            (c, centres[(y[i], j + 1)])
        } else {
            (centres[(y[i], j - 1)], c)
        };
        let rot = if j % 2 == 0 {
            a * shift.cos() - b * shift.sin()
        } else {
            a * shift.sin() + b * shift.cos()
        };
        rot + shift + rng.gen_range(-2.5..2.5)
    });
    (x, y)
}

fn labelled_subset(x: &Array2<f64>, y: &Array1<usize>, per: usize) -> LabeledDomain {
    let rows: Vec<usize> = (0..10)
        .flat_map(|c| (0..y.len()).filter(move |&i| y[i] == c).take(per))
        .collect();
    LabeledDomain::new(
        "target-labelled",
        x.select(ndarray::Axis(0), &rows),
        rows.iter().map(|&i| y[i]).collect(),
        10,
    )
    .unwrap()
}

fn accuracy(p: &Array1<usize>, y: &Array1<usize>) -> f64 {
    p.iter().zip(y).filter(|(a, b)| a == b).count() as f64 / y.len() as f64
}

fn net() -> NetworkSpec {
    let mut n = NetworkSpec {
        hidden: vec![64],
        ..Default::default()
    };
    n.pretrain.epochs = 40;
    n.finetune.epochs = 60;
    n
}

#[test]
fn pretrained_strategies_beat_scratch_with_one_label_per_class_and_are_seeded() {
    let (xs, ys) = classes(60, 0.0, 1);
    let source = LabeledDomain::new("source", xs, ys, 10).unwrap();
    let (xt, yt) = classes(40, 0.3, 2);
    let labelled = labelled_subset(&xt, &yt, 1);
    let net = net();
    let p = pretrain(&source, &net, 0).unwrap();
    let run = |s: &str, seed: u64| {
        let spec: StrategySpec = serde_json::from_str(s).unwrap();
        let pre = spec.uses_source().then_some(&p);
        spec.fit_predict(&source, pre, &labelled, xt.view(), &net, seed)
            .unwrap()
    };
    let scratch = accuracy(&run(r#"{"kind":"scratch"}"#, 0), &yt);
    for s in [
        r#"{"kind":"feature-extraction"}"#,
        r#"{"kind":"feature-extraction","head":"logistic"}"#,
        r#"{"kind":"fine-tune"}"#,
        r#"{"kind":"fine-tune","top":1}"#,
        r#"{"kind":"l2-sp"}"#,
        r#"{"kind":"discriminative"}"#,
        r#"{"kind":"multi-task"}"#,
        r#"{"kind":"tradaboost"}"#,
        r#"{"kind":"prior-logistic"}"#,
    ] {
        let a = accuracy(&run(s, 0), &yt);
        eprintln!("{s}: {a:.3} (scratch {scratch:.3})");
        assert!(a > scratch, "{s}: {a:.3} vs scratch {scratch:.3}");
        assert_eq!(run(s, 3), run(s, 3), "{s} is seeded");
    }
    // Pretraining is seeded too.
    assert_eq!(
        tlab_nn::flat_params(&pretrain(&source, &net, 0).unwrap()),
        tlab_nn::flat_params(&p)
    );
}

#[test]
fn bad_input_is_an_error_that_says_what() {
    let (xs, ys) = classes(10, 0.0, 1);
    let source = LabeledDomain::new("source", xs.clone(), ys.clone(), 10).unwrap();
    let mut net = net();
    net.pretrain.epochs = 2;
    let p = pretrain(&source, &net, 0).unwrap();
    // A class missing from the labelled rows.
    let rows: Vec<usize> = (0..ys.len()).filter(|&i| ys[i] != 7).collect();
    let partial = LabeledDomain::new(
        "t",
        xs.select(ndarray::Axis(0), &rows),
        rows.iter().map(|&i| ys[i]).collect(),
        10,
    )
    .unwrap();
    let e = StrategySpec::FineTune { top: None }
        .fit_predict(&source, Some(&p), &partial, xs.view(), &net, 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("[7]"), "{e}");
    // A pretrained network for another input width.
    let narrow = LabeledDomain::new(
        "t",
        xs.slice(ndarray::s![.., ..5]).to_owned(),
        ys.clone(),
        10,
    )
    .unwrap();
    let e = StrategySpec::FineTune { top: None }
        .fit_predict(&source, Some(&p), &narrow, narrow.x(), &net, 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("takes 20 features"), "{e}");
    // A weights file for another architecture.
    let dir = std::env::temp_dir().join(format!("tlab-ind-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("other.safetensors");
    let other = NetworkSpec {
        hidden: vec![32],
        ..net.clone()
    }
    .build(20, 10, 0)
    .unwrap();
    tlab_nn::safetensors::save(&other, &file).unwrap();
    let e = pretrain(
        &source,
        &NetworkSpec {
            pretrained: Some(file.clone()),
            ..net.clone()
        },
        0,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("layers.0.weight"), "{e}");
    // Its own architecture loads and is used as is.
    tlab_nn::safetensors::save(&p, &file).unwrap();
    let back = pretrain(
        &source,
        &NetworkSpec {
            pretrained: Some(file),
            ..net.clone()
        },
        5,
    )
    .unwrap();
    assert_eq!(tlab_nn::flat_params(&back), tlab_nn::flat_params(&p));
    // Parameters.
    assert!(StrategySpec::FineTune { top: Some(0) }.check().is_err());
    assert!(StrategySpec::Discriminative { decay: 0.0 }.check().is_err());
    assert!(serde_json::from_str::<StrategySpec>(r#"{"kind":"fine-tune","depth":2}"#).is_err());
}

/// Multi-task over more than two tasks (the suites' `extra_tasks`): with a source whose
/// labels are shuffled (no information) the two-task model has only the target's one label
/// per class to shape its trunk; two extra informative tasks (the same classes, shifted
/// a little) must make the jointly learned trunk better for the target. Seeded; extra
/// tasks with another feature count, or given to a strategy that cannot use them, are
/// errors. (Seen: 0.502 → 0.590 at seed 0; over seeds 1–3 the gain is 0.07–0.12.)
#[test]
fn multi_task_learns_from_extra_tasks() {
    let (xs, ys) = classes(60, 0.0, 1);
    let mut shuffled = ys.to_vec();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for i in (1..shuffled.len()).rev() {
        shuffled.swap(i, rng.gen_range(0..=i));
    }
    let noise = LabeledDomain::new("noise", xs, Array1::from(shuffled), 10).unwrap();
    let extra: Vec<LabeledDomain> = [(0.1, 11), (0.2, 12)]
        .iter()
        .map(|&(shift, seed)| {
            let (x, y) = classes(60, shift, seed);
            LabeledDomain::new(format!("extra {shift}"), x, y, 10).unwrap()
        })
        .collect();
    let (xt, yt) = classes(40, 0.3, 2);
    let labelled = labelled_subset(&xt, &yt, 1);
    let net = net();
    let spec: StrategySpec = serde_json::from_str(r#"{"kind":"multi-task"}"#).unwrap();
    let run = |extra: &[LabeledDomain], seed: u64| {
        spec.fit_predict_with_tasks(&noise, extra, None, &labelled, xt.view(), &net, seed)
            .unwrap()
    };
    let two = accuracy(&run(&[], 0), &yt);
    let four = accuracy(&run(&extra, 0), &yt);
    eprintln!("multi-task: 2 tasks {two:.3}, 4 tasks {four:.3}");
    assert!(four > two + 0.05, "4 tasks {four:.3} vs 2 tasks {two:.3}");
    assert_eq!(run(&extra, 4), run(&extra, 4));
    let narrow = LabeledDomain::new(
        "narrow",
        extra[0].x().slice(ndarray::s![.., ..5]).to_owned(),
        extra[0].y().clone(),
        10,
    )
    .unwrap();
    let e = spec
        .fit_predict_with_tasks(&noise, &[narrow], None, &labelled, xt.view(), &net, 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("task `narrow` has 5 features"), "{e}");
    let e = StrategySpec::Scratch
        .fit_predict_with_tasks(&noise, &extra, None, &labelled, xt.view(), &net, 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("only `multi-task`"), "{e}");
}

/// `norm = "layer"`: the pretrained trunk carries its layer norm (γ, β) into every
/// strategy — freezing, the L2-SP anchor and multi-task count its tensors — and the
/// pretrained strategies still beat scratch at one label per class.
#[test]
fn layer_norm_networks_transfer_too() {
    let (xs, ys) = classes(60, 0.0, 1);
    let source = LabeledDomain::new("source", xs, ys, 10).unwrap();
    let (xt, yt) = classes(40, 0.3, 2);
    let labelled = labelled_subset(&xt, &yt, 1);
    let mut net = net();
    net.norm = tlab_inductive::Norm::Layer;
    let p = pretrain(&source, &net, 0).unwrap();
    assert!(p.layers[0].norm.is_some());
    let run = |s: &str| {
        let spec: StrategySpec = serde_json::from_str(s).unwrap();
        let pre = spec.uses_source().then_some(&p);
        accuracy(
            &spec
                .fit_predict(&source, pre, &labelled, xt.view(), &net, 0)
                .unwrap(),
            &yt,
        )
    };
    let scratch = run(r#"{"kind":"scratch"}"#);
    for s in [
        r#"{"kind":"feature-extraction"}"#,
        r#"{"kind":"fine-tune","top":1}"#,
        r#"{"kind":"l2-sp"}"#,
        r#"{"kind":"multi-task"}"#,
    ] {
        let a = run(s);
        eprintln!("layer norm {s}: {a:.3} (scratch {scratch:.3})");
        assert!(a > scratch, "{s}: {a:.3} vs scratch {scratch:.3}");
    }
}
