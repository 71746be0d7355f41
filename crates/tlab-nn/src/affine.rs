//! A dense layer's `x W + b` as one taped op whose matrix products run on faer.
//!
//! dfdx 0.13's matrix product is the `gemm` 0.15 crate's AVX2 kernel (dfdx pins that
//! version) and it always computes the gradient of both factors. Here the forward product
//! and the two backward products (`∂W = xᵀ g`, `∂x = g Wᵀ`) call faer's `matmul`, which
//! picks its x86 kernel at run time (AVX-512 on CPUs that have it); the bias is added in
//! the same op (`∂b` = column sums of `g`), and `∂x` is skipped when the input is a data
//! batch that needs no gradient (the first layer of a network fed from data). The op joins
//! dfdx's tape like dfdx's own ops (a backward closure over the gradients of its inputs and
//! output), so losses, layer norm, activations and optimisers are unchanged. Products run
//! on one thread (`Par::Seq`): a seed gives the same bytes whatever the thread count, and
//! at these sizes a second thread does not pay (results/perf/deep.md).
//! Checked against dfdx's `matmul` + broadcast bias, values and gradients
//! (`tests::matches_dfdx_matmul_values_and_gradients`).

use dfdx::prelude::*;
use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

use crate::{Matrix, Taped, Vector};

/// `x W + b` on `x`'s tape, or `relu(x W + b)` when `relu` (the activation in the same op:
/// its backward is the mask `x W + b > 0`, as dfdx's `relu`). `input_grad`: whether `x`
/// needs a gradient (false for a batch of data rows, whose gradient nothing reads).
pub(crate) fn affine(x: Taped, w: &Matrix, b: &Vector, input_grad: bool, relu: bool) -> Taped {
    let (n, i) = *x.shape();
    let o = w.shape().1;
    // A view when `x` is row-major (every tensor our layers and dfdx's element-wise ops
    // make), a row-major copy otherwise: the products below read raw rows.
    let x = x.reshape_like(&(n, i));
    let mut xv = vec![0.0f32; n * i];
    x.copy_into(&mut xv);
    let wv = crate::contiguous_vec(w);
    let bv = crate::contiguous_vec(b);
    let mut out = vec![0.0f32; n * o];
    matmul(
        MatMut::from_row_major_slice_mut(&mut out, n, o),
        Accum::Replace,
        MatRef::from_row_major_slice(&xv, n, i),
        MatRef::from_row_major_slice(&wv, i, o),
        1.0f32,
        Par::Seq,
    );
    // faer's kernels leave the vector registers' upper state dirty (see `zero_upper`).
    tlab_core::linalg::zero_upper();
    for row in out.chunks_exact_mut(o) {
        for (z, bj) in row.iter_mut().zip(&bv) {
            *z += bj;
            if relu {
                *z = z.max(0.0);
            }
        }
    }
    let kept = relu.then(|| out.clone());
    let (x, mut tape) = x.split_tape();
    let out = x.device().tensor_from_vec(out, (n, o));
    let (x_g, w_g, b_g, out_g) = (x.ghost(), w.ghost(), b.ghost(), out.ghost());
    tape.add_backward_op(move |grads: &mut Gradients<f32, Cpu>| {
        // The output's gradient is taken out while the inputs' are written, then put back.
        let mut g = std::mem::take(&mut **grads.get_or_alloc_mut(&out_g)?);
        let g_out = kept.as_ref().map(|y| {
            let masked: Vec<f32> = g
                .iter()
                .zip(y)
                .map(|(g, y)| if *y > 0.0 { *g } else { 0.0 })
                .collect();
            std::mem::replace(&mut g, masked)
        });
        let gm = MatRef::from_row_major_slice(&g, n, o);
        let gw = grads.get_or_alloc_mut(&w_g)?;
        matmul(
            MatMut::from_row_major_slice_mut(&mut gw[..], i, o),
            Accum::Add,
            MatRef::from_row_major_slice(&xv, n, i).transpose(),
            gm,
            1.0f32,
            Par::Seq,
        );
        tlab_core::linalg::zero_upper();
        let gb = grads.get_or_alloc_mut(&b_g)?;
        for row in g.chunks_exact(o) {
            for (s, v) in gb.iter_mut().zip(row) {
                *s += v;
            }
        }
        if input_grad {
            let gx = grads.get_or_alloc_mut(&x_g)?;
            matmul(
                MatMut::from_row_major_slice_mut(&mut gx[..], n, i),
                Accum::Add,
                gm,
                MatRef::from_row_major_slice(&wv, i, o).transpose(),
                1.0f32,
                Par::Seq,
            );
            tlab_core::linalg::zero_upper();
        }
        **grads.get_or_alloc_mut(&out_g)? = g_out.unwrap_or(g);
        Ok(())
    });
    out.put_tape(tape)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn matches_dfdx_matmul_values_and_gradients() {
        // The same loss through dfdx's own product (`matmul` + broadcast bias) and through
        // `affine` (one layer with the ReLU fused): values and the gradients of x, W and b
        // agree to float rounding. The
        // first output is used twice, and W₂ and b₂ feed two products, so gradients
        // accumulate.
        let dev = Cpu::default();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let (n, i, o) = (7, 13, 5);
        let mut draw =
            |k: usize| -> Vec<f32> { (0..k).map(|_| rng.gen_range(-1.0..1.0)).collect() };
        let x: Matrix = dev.tensor_from_vec(draw(n * i), (n, i));
        let w: Matrix = dev.tensor_from_vec(draw(i * o), (i, o));
        let b: Vector = dev.tensor_from_vec(draw(o), (o,));
        let w2: Matrix = dev.tensor_from_vec(draw(o * o), (o, o));
        let b2: Vector = dev.tensor_from_vec(draw(o), (o,));
        let run = |ours: bool| {
            let mut grads = Gradients::leaky();
            let xt = x.clone().traced(grads);
            let lin = |t: Taped, w: &Matrix, b: &Vector, relu: bool| -> Taped {
                if ours {
                    affine(t, w, b, true, relu)
                } else {
                    let s = (t.shape().0, w.shape().1);
                    let z = t.matmul(w.clone()) + b.clone().broadcast_like::<_, Axis<0>>(&s);
                    if relu {
                        z.relu()
                    } else {
                        z
                    }
                }
            };
            let h = lin(xt, &w, &b, false).tanh();
            // h feeds two ops: a second handle on the same tape node (as `grad_reverse`).
            let (h_plain, tape) = h.split_tape();
            let h = h_plain.clone().put_tape(tape);
            let z = lin(h, &w2, &b2, true) * h_plain;
            let z = lin(z, &w2, &b2, false) * 0.5;
            let value = z.retaped::<NoneTape>().as_vec();
            let loss = z.sin().sum();
            grads = loss.backward();
            let gs: Vec<Vec<f32>> = vec![
                grads.get(&x).as_vec(),
                grads.get(&w).as_vec(),
                grads.get(&b).as_vec(),
                grads.get(&w2).as_vec(),
                grads.get(&b2).as_vec(),
            ];
            (value, gs)
        };
        let (v_ours, g_ours) = run(true);
        let (v_ref, g_ref) = run(false);
        for (a, r) in v_ours.iter().zip(&v_ref) {
            assert!((a - r).abs() < 1e-5, "value {a} vs {r}");
        }
        for (ga, gr) in g_ours.iter().zip(&g_ref) {
            assert_eq!(ga.len(), gr.len());
            for (a, r) in ga.iter().zip(gr) {
                assert!((a - r).abs() < 1e-5, "gradient {a} vs {r}");
            }
        }
    }
}
