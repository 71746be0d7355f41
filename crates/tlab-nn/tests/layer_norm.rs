//! Layer normalisation against PyTorch: logits and gradients of a 3 → 4 (LayerNorm, ReLU)
//! → 2 network with fixed weights under mean cross-entropy, the values printed by
//! `tests/data/layer_norm_reference.py` (torch 2.15, CPU); a safetensors round trip with
//! the norm's tensors; a plain file refused by a network with layer norm.
#![allow(clippy::excessive_precision)] // torch's printed values, kept as printed

use dfdx::prelude::*;
use ndarray::{array, Array1};
use tlab_nn::train::{gradients_of, one_hot};
use tlab_nn::{flat_params, Activation, Mlp};

fn network() -> Mlp {
    let dev = Cpu::default();
    let mut m = Mlp::new(&[3, 4, 2], &[Activation::Relu, Activation::Identity], 0)
        .unwrap()
        .with_layer_norm();
    let l0 = &mut m.layers[0];
    l0.w = dev.tensor_from_vec(
        vec![
            0.5, -0.25, 0.1, 0.3, 0.2, 0.4, -0.6, 0.05, -0.3, 0.15, 0.25, -0.45,
        ],
        (3, 4),
    );
    l0.b = dev.tensor_from_vec(vec![0.1, -0.2, 0.05, 0.0], (4,));
    let n = l0.norm.as_mut().unwrap();
    n.gamma = dev.tensor_from_vec(vec![1.5, 0.5, 1.0, 2.0], (4,));
    n.beta = dev.tensor_from_vec(vec![0.1, -0.1, 0.2, 0.0], (4,));
    assert!(m.layers[1].norm.is_none(), "the output layer stays plain");
    m.layers[1].w = dev.tensor_from_vec(vec![0.3, -0.2, 0.1, 0.4, -0.5, 0.2, 0.25, -0.15], (4, 2));
    m.layers[1].b = dev.tensor_from_vec(vec![0.05, -0.05], (2,));
    m
}

fn close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() < 2e-6, "{what}[{i}]: {x} vs torch {y}");
    }
}

#[test]
fn layer_norm_matches_torch_forward_and_backward() {
    let m = network();
    let x = array![[1.0f32, 2.0, -1.0], [0.5, -1.5, 2.0]];
    let logits = m.forward(x.view()).unwrap();
    close(
        logits.as_slice().unwrap(),
        &[0.8536033, -0.56581807, -0.91109228, 0.33443692],
        "logits",
    );
    let y: Array1<usize> = array![1, 0];
    let t = one_hot(y.view(), 2);
    let out = m.forward_taped(m.tensor(x.view()).leaky_traced());
    let loss = cross_entropy_with_logits_loss(out, m.tensor(t.view()));
    let g = gradients_of(&m, &loss.backward());
    assert_eq!(
        g.len(),
        6,
        "w, b, γ, β of the hidden layer; w, b of the head"
    );
    close(
        &g[0],
        &[
            0.0032368153,
            -0.15356517,
            0.049067575,
            0.10126074,
            0.046852574,
            -0.29139456,
            0.091999799,
            0.15254205,
            -0.043615758,
            0.13782941,
            -0.042932227,
            -0.051281318,
        ],
        "dL/dW0",
    );
    close(
        &g[1],
        &[-0.0048389733, -0.15671232, 0.050294645, 0.11125663],
        "dL/db0",
    );
    close(&g[2], &[0.21242483, 0.0, 0.46806172, 0.096231014], "dL/dγ");
    close(&g[3], &[0.20131192, 0.0, 0.27178374, 0.16104954], "dL/dβ");
}

#[test]
fn layer_norm_weights_round_trip_and_a_plain_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let m = network();
    let path = dir.path().join("ln.safetensors");
    tlab_nn::safetensors::save(&m, &path).unwrap();
    let mut back = Mlp::new(&[3, 4, 2], &[Activation::Relu, Activation::Identity], 9)
        .unwrap()
        .with_layer_norm();
    tlab_nn::safetensors::load_into(&mut back, &path).unwrap();
    assert_eq!(flat_params(&back), flat_params(&m));
    let plain = Mlp::new(&[3, 4, 2], &[Activation::Relu, Activation::Identity], 0).unwrap();
    let p2 = dir.path().join("plain.safetensors");
    tlab_nn::safetensors::save(&plain, &p2).unwrap();
    let e = tlab_nn::safetensors::load_into(&mut back, &p2)
        .unwrap_err()
        .to_string();
    assert!(e.contains("6 tensors") || e.contains("norm"), "{e}");
}
