//! EasyTL — Easy Transfer Learning (Wang, Chen, Yu, Huang, Yang, "Easy Transfer Learning by
//! Exploiting Intra-domain Structures", ICME 2019; the authors' MATLAB code, EasyTL.m and
//! label_prop.m). Parameter-free and transductive: it labels the target itself, with no
//! classifier to train.
//!
//! 1. Intra-domain alignment: none — the paper's "EasyTL(c)" — or CORAL of the source to the
//!    target (`Cs = cov(Xs) + I`, `Ct = cov(Xt) + I`, `Xs ← Xs Cs^{-1/2} Ct^{1/2}`), the
//!    default.
//! 2. Intra-domain programming: `D_jc`, the distance from target row `j` to the centre of
//!    source class `c` (Euclidean by default), and the probabilistic annotation matrix `M`
//!    solving the linear programme
//!    `min Σ_jc D_jc M_jc  s.t.  Σ_c M_jc = 1 (each j),  Σ_j M_jc ≥ 1 (each c),  0 ≤ M ≤ 1`;
//!    row `j` gets the class of its largest `M_jc`.
//!
//! How the programme is solved here (the authors call MATLAB's `linprog`): its constraint
//! matrix is an interval/network matrix (totally unimodular), so its vertices are 0/1 — each
//! target row is assigned to one class, every class to at least one row. Write
//! `m_j = min_c D_jc` and the excess `E_jc = D_jc − m_j ≥ 0`. Any feasible assignment names
//! one distinct representative row per class and costs at least
//! `Σ_j m_j + Σ_c E_{r_c c}`; the assignment "representatives to their class, every other row
//! to its nearest centre" attains that bound. So the optimum is a minimum-cost matching of
//! classes to distinct rows on `E` (Hungarian algorithm), and only each class's `C` rows of
//! smallest excess can be in it (if a class's representative were outside them, one of them
//! would be free for a swap that costs no more). Exact, O(n·C + C⁶) at worst instead of a
//! simplex on n·C variables. Where the optimum is not unique (ties in `D`) the vertex chosen
//! may differ from linprog's.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};
use tlab_core::{LabeledDomain, UnlabeledDomain};

use crate::error::{Result, TransductiveError};
use crate::{check_dims, Adapter, Coral};

/// The intra-domain alignment step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IntraAlign {
    /// No alignment: the paper's EasyTL(c).
    Raw,
    /// CORAL (r = 1) of the source to the target: the paper's default.
    #[default]
    Coral,
}

/// The distance from a target row to a source class centre.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CentreDistance {
    /// `‖x − μ_c‖` (the paper's default).
    #[default]
    Euclidean,
    /// `‖x − μ_c‖²`.
    Sqeuclidean,
    /// `1 − cos(x, μ_c)` (a zero norm counts as 1, as the authors' `cosine_dist`).
    Cosine,
}

/// EasyTL with its two choices; see the module documentation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EasyTl {
    pub align: IntraAlign,
    pub distance: CentreDistance,
}

impl EasyTl {
    pub fn new(align: IntraAlign, distance: CentreDistance) -> Self {
        Self { align, distance }
    }

    /// One label per target row (in `0..source.n_classes()`; only classes present in the
    /// source can be given).
    pub fn label(&self, source: &LabeledDomain, target: &UnlabeledDomain) -> Result<Array1<usize>> {
        check_dims("EasyTL", source, target, None)?;
        let xs = match self.align {
            IntraAlign::Raw => source.x().to_owned(),
            IntraAlign::Coral => Coral::new(1.0)?.adapt(source, target, 0)?.source,
        };
        let (classes, d) =
            centre_distances(xs.view(), source.y().view(), target.x(), self.distance);
        let assigned = intra_domain_programming(d.view())?;
        Ok(assigned.mapv(|c| classes[c]))
    }
}

/// The source classes present (ascending) and the distance of each target row to each of
/// their centres (`n_t × C`).
pub fn centre_distances(
    xs: ArrayView2<'_, f64>,
    ys: ArrayView1<'_, usize>,
    xt: ArrayView2<'_, f64>,
    distance: CentreDistance,
) -> (Vec<usize>, Array2<f64>) {
    let mut classes: Vec<usize> = ys.to_vec();
    classes.sort_unstable();
    classes.dedup();
    let d = xs.ncols();
    let mut centres = Array2::<f64>::zeros((classes.len(), d));
    let mut counts = vec![0usize; classes.len()];
    for (row, &y) in xs.rows().into_iter().zip(ys) {
        let c = classes.binary_search(&y).expect("present");
        counts[c] += 1;
        centres.row_mut(c).scaled_add(1.0, &row);
    }
    for (mut r, &n) in centres.rows_mut().into_iter().zip(&counts) {
        r /= n as f64;
    }
    let out = Array2::from_shape_fn((xt.nrows(), classes.len()), |(j, c)| {
        let (x, mu) = (xt.row(j), centres.row(c));
        match distance {
            CentreDistance::Euclidean | CentreDistance::Sqeuclidean => {
                let s: f64 = x.iter().zip(mu).map(|(a, b)| (a - b) * (a - b)).sum();
                if distance == CentreDistance::Euclidean {
                    s.sqrt()
                } else {
                    s
                }
            }
            CentreDistance::Cosine => {
                let nonzero = |v: f64| if v == 0.0 { 1.0 } else { v };
                let (aa, bb) = (nonzero(x.dot(&x)), nonzero(mu.dot(&mu)));
                1.0 - x.dot(&mu) / (aa * bb).sqrt()
            }
        }
    });
    (classes, out)
}

/// The exact solution of EasyTL's linear programme on the cost `d` (`n × C`, finite): the
/// column assigned to each row, every column at least once. See the module documentation.
pub fn intra_domain_programming(d: ArrayView2<'_, f64>) -> Result<Array1<usize>> {
    let (n, c) = d.dim();
    if c == 0 || n < c {
        return Err(TransductiveError::Data {
            method: "EasyTL",
            detail: format!(
                "the programme gives every one of the {c} source classes at least one target \
                 row, but the target has {n} rows"
            ),
        });
    }
    if let Some(v) = d.iter().find(|v| !v.is_finite()) {
        return Err(TransductiveError::Data {
            method: "EasyTL",
            detail: format!("a distance is {v}"),
        });
    }
    // Nearest centre (first on ties) and the excess over it.
    let nearest: Vec<usize> = d
        .rows()
        .into_iter()
        .map(|r| (0..c).fold(0, |best, k| if r[k] < r[best] { k } else { best }))
        .collect();
    let excess = |j: usize, k: usize| d[[j, k]] - d[[j, nearest[j]]];
    // Each class's C rows of smallest excess (ties to the lower row) are the candidates.
    let mut candidates: Vec<usize> = Vec::with_capacity(c * c);
    for k in 0..c {
        let mut rows: Vec<usize> = (0..n).collect();
        let by = |a: &usize, b: &usize| excess(*a, k).total_cmp(&excess(*b, k)).then(a.cmp(b));
        if n > c {
            rows.select_nth_unstable_by(c - 1, by);
            rows.truncate(c);
        }
        candidates.extend(rows);
    }
    candidates.sort_unstable();
    candidates.dedup();
    // Square matching: class rows, then zero-cost dummy rows; columns are candidates.
    let u = candidates.len();
    let cost: Vec<Vec<f64>> = (0..u)
        .map(|k| {
            candidates
                .iter()
                .map(|&j| if k < c { excess(j, k) } else { 0.0 })
                .collect()
        })
        .collect();
    let col_of = tlab_core::metrics::hungarian(&cost);
    let mut labels = Array1::from(nearest);
    for (k, &q) in col_of.iter().take(c).enumerate() {
        labels[candidates[q]] = k;
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// The programme's objective of an assignment.
    fn cost(d: &Array2<f64>, a: &Array1<usize>) -> f64 {
        a.iter().enumerate().map(|(j, &k)| d[[j, k]]).sum()
    }

    #[test]
    fn forces_every_class_once_at_least_cost() {
        // Every row is nearest to class 0; class 1 must take the row where that costs least
        // (row 2: excess 0.5), class 2 the row of least excess among the others (row 0: 1).
        let d = array![
            [1.0, 3.0, 2.0],
            [1.0, 2.0, 4.0],
            [1.0, 1.5, 2.5],
            [0.0, 5.0, 5.0]
        ];
        let a = intra_domain_programming(d.view()).unwrap();
        assert_eq!(a.to_vec(), vec![2, 0, 1, 0]);
        assert_eq!(cost(&d, &a), 1.0 + 2.0 + 1.5 + 0.0);
    }

    #[test]
    fn matches_brute_force_over_all_assignments() {
        // Pseudo-random costs, 7 rows × 3 classes: compare with every one of 3^7 assignments.
        let d = Array2::from_shape_fn((7, 3), |(j, k)| {
            ((j * 7 + k * 13) as f64 * 0.37).sin().abs() + 0.1 * k as f64
        });
        let got = cost(&d, &intra_domain_programming(d.view()).unwrap());
        let mut best = f64::INFINITY;
        for code in 0..3usize.pow(7) {
            let a: Array1<usize> = (0..7).map(|j| code / 3usize.pow(j) % 3).collect();
            if (0..3).all(|k| a.iter().any(|&x| x == k)) {
                best = best.min(cost(&d, &a));
            }
        }
        assert!((got - best).abs() < 1e-12, "got {got}, best {best}");
    }

    #[test]
    fn refuses_fewer_rows_than_classes_and_non_finite_costs() {
        let d = array![[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]];
        assert!(intra_domain_programming(d.view())
            .unwrap_err()
            .to_string()
            .contains("3 source classes"));
        let d = array![[1.0, f64::NAN], [1.0, 2.0]];
        assert!(intra_domain_programming(d.view()).is_err());
    }
}
