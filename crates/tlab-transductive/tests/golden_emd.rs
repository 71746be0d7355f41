//! Exact OT (network simplex) against POT's `ot.emd2`; `golden_emd.py` beside this file
//! produced the numbers (POT 0.9.7).

use ndarray::{Array1, Array2, Axis};
use tlab_transductive::emd;

fn samples() -> (Array2<f64>, Array2<f64>) {
    let xs = Array2::from_shape_fn((40, 6), |(i, j)| {
        let (i, j) = (i as f64, j as f64);
        (0.7 * i + 1.3 * j).sin() + 0.4 * (0.13 * i * (j + 1.0).powi(2)).cos()
    });
    let xt = Array2::from_shape_fn((25, 6), |(i, j)| {
        let (i, j) = (i as f64, j as f64);
        (0.5 * i - 0.9 * j).cos() + 0.3 + 0.4 * (0.17 * i * (j + 1.0).powi(2)).sin()
    });
    (xs, xt)
}

fn sq_dist(a: &Array2<f64>, b: &Array2<f64>) -> Array2<f64> {
    Array2::from_shape_fn((a.nrows(), b.nrows()), |(i, j)| {
        a.row(i)
            .iter()
            .zip(b.row(j))
            .map(|(x, y)| (x - y) * (x - y))
            .sum()
    })
}

#[test]
fn exact_ot_cost_matches_pot_with_uniform_and_weighted_masses() {
    let (xs, xt) = samples();
    let m = sq_dist(&xs, &xt);
    let (a, b) = (
        Array1::from_elem(40, 1.0 / 40.0),
        Array1::from_elem(25, 1.0 / 25.0),
    );
    let (g, v) = emd(a.view(), b.view(), m.view(), 1_000_000).unwrap();
    assert!((v - 2.46253732933415).abs() < 1e-12, "{v}");
    // A vertex of the transportation polytope: at most n_s + n_t − 1 positive cells.
    assert!(g.iter().filter(|&&x| x > 1e-15).count() <= 64);
    let wa: Array1<f64> = (0..40).map(|i| (i % 7 + 1) as f64).collect();
    let wb: Array1<f64> = (0..25).map(|i| (i % 4 + 1) as f64).collect();
    let (wa, wb) = (&wa / wa.sum(), &wb / wb.sum());
    let (g, v) = emd(wa.view(), wb.view(), m.view(), 1_000_000).unwrap();
    assert!((v - 2.67380094045788).abs() < 1e-12, "{v}");
    for (r, w) in g.sum_axis(Axis(1)).iter().zip(&wa) {
        assert!((r - w).abs() < 1e-12);
    }
}

#[test]
fn the_optimum_is_not_beaten_by_any_permutation_on_a_square_uniform_problem() {
    // With n_s = n_t and uniform masses an optimal coupling is a permutation (Birkhoff):
    // the exact cost must equal the best of all 6! assignments.
    let (xs, xt) = samples();
    let (xs, xt) = (
        xs.slice(ndarray::s![..6, ..]).to_owned(),
        xt.slice(ndarray::s![..6, ..]).to_owned(),
    );
    let m = sq_dist(&xs, &xt);
    let u = Array1::from_elem(6, 1.0 / 6.0);
    let (_, v) = emd(u.view(), u.view(), m.view(), 100_000).unwrap();
    let mut perm: Vec<usize> = (0..6).collect();
    let mut best = f64::INFINITY;
    // Heap's algorithm over all permutations.
    fn heap(k: usize, p: &mut Vec<usize>, m: &Array2<f64>, best: &mut f64) {
        if k == 1 {
            let c: f64 = p.iter().enumerate().map(|(i, &j)| m[(i, j)]).sum::<f64>() / 6.0;
            *best = best.min(c);
            return;
        }
        for i in 0..k {
            heap(k - 1, p, m, best);
            let s = if k.is_multiple_of(2) { i } else { 0 };
            p.swap(s, k - 1);
        }
    }
    heap(6, &mut perm, &m, &mut best);
    assert!((v - best).abs() < 1e-12, "{v} vs {best}");
}
