//! Exact optimal transport (the earth mover's distance) by the primal network simplex on the
//! transportation problem: `min Σ c_ij γ_ij` s.t. `γ 1 = a`, `γᵀ 1 = b`, `γ ≥ 0` (the problem
//! POT's `ot.emd` solves with LEMON's network simplex; Courty et al., TPAMI 2017 use it for
//! the exact-OT domain adaptation, followed by the barycentric mapping).
//!
//! The basis is a spanning tree on the `n_s + n_t` row and column nodes (`n_s + n_t − 1`
//! basic cells, zero-flow cells kept for degenerate vertices), started by the north-west
//! corner rule. Each pivot prices cells by their reduced cost `c_ij − u_i − v_j` with block
//! search (blocks of ≈ √(n_s n_t) cells, cyclically, most negative in the first block that
//! has one — LEMON's default rule), walks the tree path between the entering cell's two
//! nodes, moves θ = the smallest flow on its decreasing cells, drops one of those cells and
//! re-roots the potentials. Stops when no cell has a reduced cost below `−1e-12 × max c`.
//! With several optimal couplings the one returned may differ from POT's; the cost does not.

use ndarray::{Array2, ArrayView1, ArrayView2};

use crate::error::{Result, TransductiveError};

fn data_err(detail: String) -> TransductiveError {
    TransductiveError::Data {
        method: "EMD",
        detail,
    }
}

/// The optimal coupling for `cost` (n_s × n_t, finite) between masses `a` and `b` (non-
/// negative, equal totals within 1e-9 relative), and its cost.
pub fn emd(
    a: ArrayView1<'_, f64>,
    b: ArrayView1<'_, f64>,
    cost: ArrayView2<'_, f64>,
    max_pivots: usize,
) -> Result<(Array2<f64>, f64)> {
    let (ns, nt) = cost.dim();
    if ns == 0 || nt == 0 || a.len() != ns || b.len() != nt {
        return Err(data_err(format!(
            "masses of length {} and {} for a {ns} × {nt} cost",
            a.len(),
            b.len()
        )));
    }
    if a.iter()
        .chain(b.iter())
        .any(|v| !(v.is_finite() && *v >= 0.0))
    {
        return Err(data_err("masses must be finite and ≥ 0".into()));
    }
    if let Some(c) = cost.iter().find(|c| !c.is_finite()) {
        return Err(data_err(format!("a cost is {c}")));
    }
    let (sa, sb) = (a.sum(), b.sum());
    if (sa - sb).abs() > 1e-9 * sa.max(sb).max(f64::MIN_POSITIVE) || sa <= 0.0 {
        return Err(data_err(format!(
            "the masses must have the same positive total, got {sa} and {sb}"
        )));
    }
    // The cost as one row-major slice: pricing walks it row segment by row segment.
    let cost_std = cost.as_standard_layout();
    let cs = cost_std.as_slice().expect("standard layout");
    let mut tree = Tree::north_west(a, b, ns, nt, cs);
    let scale = cs.iter().fold(0.0f64, |m, c| m.max(c.abs())).max(1e-300);
    let tol = 1e-12 * scale;
    let m = ns * nt;
    let block = ((m as f64).sqrt().ceil() as usize).max(10).min(m);
    let mut next = 0usize;
    let mut pivots = 0usize;
    tree.potentials();
    loop {
        // Block search for an entering cell: the most negative reduced cost in the first
        // block that has one below −tol (the first such cell on ties). `r < threshold`, the
        // threshold being −tol until a candidate is found and then the best so far, is the
        // same test as `r < −tol && r < best`.
        let mut best = usize::MAX;
        let mut threshold = -tol;
        let mut scanned = 0usize;
        while scanned < m {
            let end = (scanned + block).min(m);
            let mut left = end - scanned;
            let (mut i, mut j) = (next / nt, next % nt);
            while left > 0 {
                let stop = (j + left).min(nt);
                let ui = tree.u[i];
                let row = &cs[i * nt + j..i * nt + stop];
                for (off, (&c, &vj)) in row.iter().zip(&tree.v[j..stop]).enumerate() {
                    let r = c - ui - vj;
                    if r < threshold {
                        threshold = r;
                        best = i * nt + j + off;
                    }
                }
                left -= stop - j;
                j = stop;
                if j == nt {
                    j = 0;
                    i += 1;
                    if i == ns {
                        i = 0;
                    }
                }
            }
            next = i * nt + j;
            scanned = end;
            if best != usize::MAX {
                break;
            }
        }
        if best == usize::MAX {
            break;
        }
        pivots += 1;
        if pivots > max_pivots {
            return Err(data_err(format!(
                "no optimum after {max_pivots} pivots (degenerate cycling?)"
            )));
        }
        tree.pivot(best / nt, best % nt, cs[best]);
    }
    let mut gamma = Array2::<f64>::zeros((ns, nt));
    let mut total = 0.0;
    for e in &tree.cells {
        gamma[(e.i, e.j)] += e.flow;
        total += e.flow * e.cost;
    }
    Ok((gamma, total))
}

#[derive(Debug, Clone, Copy)]
struct Cell {
    i: usize,
    j: usize,
    flow: f64,
    /// `c_ij`, kept with the cell: the tree walks read it without touching the n_s × n_t
    /// cost matrix.
    cost: f64,
}

/// The basis tree: cells, adjacency (node → cell ids; rows are nodes `0..ns`, columns
/// `ns..ns+nt`), and, from the last re-rooting, each node's parent cell and depth; plus
/// the pivots' scratch vectors, kept between pivots.
struct Tree {
    ns: usize,
    cells: Vec<Cell>,
    adj: Vec<Vec<usize>>,
    parent: Vec<usize>,
    depth: Vec<usize>,
    u: Vec<f64>,
    v: Vec<f64>,
    from_i: Vec<usize>,
    from_j: Vec<usize>,
    path: Vec<usize>,
    stack: Vec<(usize, usize, usize)>,
}

impl Tree {
    fn north_west(
        a: ArrayView1<'_, f64>,
        b: ArrayView1<'_, f64>,
        ns: usize,
        nt: usize,
        cost: &[f64],
    ) -> Self {
        let (mut ra, mut rb) = (a.to_vec(), b.to_vec());
        let mut cells = Vec::with_capacity(ns + nt - 1);
        let (mut i, mut j) = (0, 0);
        loop {
            let f = ra[i].min(rb[j]);
            cells.push(Cell {
                i,
                j,
                flow: f,
                cost: cost[i * nt + j],
            });
            ra[i] -= f;
            rb[j] -= f;
            if i == ns - 1 && j == nt - 1 {
                break;
            }
            // Advance exactly one index, so the cells form a spanning tree (ns + nt − 1).
            if j == nt - 1 || (i < ns - 1 && ra[i] <= rb[j]) {
                i += 1;
            } else {
                j += 1;
            }
        }
        let n = ns + nt;
        let mut adj = vec![Vec::new(); n];
        for (k, c) in cells.iter().enumerate() {
            adj[c.i].push(k);
            adj[ns + c.j].push(k);
        }
        Tree {
            ns,
            cells,
            adj,
            parent: vec![usize::MAX; n],
            depth: vec![0; n],
            u: vec![0.0; ns],
            v: vec![0.0; nt],
            from_i: Vec::new(),
            from_j: Vec::new(),
            path: Vec::new(),
            stack: Vec::new(),
        }
    }

    /// The other end of cell `k` seen from `node`.
    fn other(&self, k: usize, node: usize) -> usize {
        let c = self.cells[k];
        if node == c.i {
            self.ns + c.j
        } else {
            c.i
        }
    }

    /// Parents, depths and potentials (`u_0 = 0`, `u_i + v_j = c_ij` on basic cells) by a
    /// traversal from node 0.
    fn potentials(&mut self) {
        let n = self.adj.len();
        self.parent.iter_mut().for_each(|p| *p = usize::MAX);
        let mut stack = vec![0usize];
        let mut seen = vec![false; n];
        seen[0] = true;
        self.depth[0] = 0;
        self.u[0] = 0.0;
        while let Some(x) = stack.pop() {
            for idx in 0..self.adj[x].len() {
                let k = self.adj[x][idx];
                let y = self.other(k, x);
                if seen[y] {
                    continue;
                }
                seen[y] = true;
                self.parent[y] = k;
                self.depth[y] = self.depth[x] + 1;
                let c = self.cells[k];
                if y >= self.ns {
                    self.v[y - self.ns] = c.cost - self.u[c.i];
                } else {
                    self.u[y] = c.cost - self.v[c.j];
                }
                stack.push(y);
            }
        }
    }

    /// Brings cell (i, j), of cost `c`, into the basis.
    fn pivot(&mut self, i: usize, j: usize, c: f64) {
        // The tree path from row node i to column node ns + j, as two climbs to their
        // common ancestor. The cycle is: (i, j) +θ, then from column j back to row i the
        // path cells alternate −θ, +θ, …
        let (mut x, mut y) = (i, self.ns + j);
        self.from_i.clear();
        self.from_j.clear();
        while x != y {
            if self.depth[x] >= self.depth[y] {
                let k = self.parent[x];
                self.from_i.push(k);
                x = self.other(k, x);
            } else {
                let k = self.parent[y];
                self.from_j.push(k);
                y = self.other(k, y);
            }
        }
        // Path order from column j to row i: from_j as climbed, then from_i reversed.
        self.path.clear();
        self.path.extend_from_slice(&self.from_j);
        self.path.extend(self.from_i.iter().rev());
        // Odd positions (0, 2, …) decrease.
        let (mut theta, mut leave) = (f64::INFINITY, usize::MAX);
        for (pos, &k) in self.path.iter().enumerate() {
            if pos % 2 == 0 && self.cells[k].flow < theta {
                theta = self.cells[k].flow;
                leave = k;
            }
        }
        for (pos, &k) in self.path.iter().enumerate() {
            if pos % 2 == 0 {
                self.cells[k].flow -= theta;
            } else {
                self.cells[k].flow += theta;
            }
        }
        // Removing the leaving cell cuts off the subtree below it; the end of the entering
        // cell inside that subtree (`s`) hangs it back from the other end (`o`).
        let (s, o) = if self.from_i.contains(&leave) {
            (i, self.ns + j)
        } else {
            (self.ns + j, i)
        };
        // The entering cell replaces the leaving one in place.
        let old = self.cells[leave];
        self.adj[old.i].retain(|&k| k != leave);
        self.adj[self.ns + old.j].retain(|&k| k != leave);
        self.cells[leave] = Cell {
            i,
            j,
            flow: theta,
            cost: c,
        };
        self.adj[i].push(leave);
        self.adj[self.ns + j].push(leave);
        self.rehang(s, o, leave);
    }

    /// Parents, depths and potentials of the subtree now hanging from `o` through cell `k`
    /// at `s` (only that subtree changed). Each node's values come from its parent's, so
    /// the visiting order does not change them.
    fn rehang(&mut self, s: usize, o: usize, k: usize) {
        let mut stack = std::mem::take(&mut self.stack);
        stack.clear();
        stack.push((s, k, o));
        while let Some((x, via, from)) = stack.pop() {
            self.parent[x] = via;
            self.depth[x] = self.depth[from] + 1;
            let c = self.cells[via];
            if x >= self.ns {
                self.v[x - self.ns] = c.cost - self.u[c.i];
            } else {
                self.u[x] = c.cost - self.v[c.j];
            }
            for &e in &self.adj[x] {
                if e != via {
                    stack.push((self.other(e, x), e, x));
                }
            }
        }
        self.stack = stack;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array1};

    #[test]
    fn a_two_by_two_problem_has_the_obvious_optimum() {
        let c = array![[0.0, 1.0], [1.0, 0.0]];
        let (g, v) = emd(
            array![0.5, 0.5].view(),
            array![0.5, 0.5].view(),
            c.view(),
            100,
        )
        .unwrap();
        assert_eq!(v, 0.0);
        assert_eq!(g, array![[0.5, 0.0], [0.0, 0.5]]);
    }

    #[test]
    fn the_coupling_has_the_marginals_and_bad_masses_are_refused() {
        let c = Array2::from_shape_fn((7, 5), |(i, j)| ((i * 3 + j * 7) as f64 * 0.37).sin().abs());
        let (a, b) = (Array1::from_elem(7, 1.0 / 7.0), Array1::from_elem(5, 0.2));
        let (g, v) = emd(a.view(), b.view(), c.view(), 10_000).unwrap();
        for (r, want) in g.sum_axis(ndarray::Axis(1)).iter().zip(&a) {
            assert!((r - want).abs() < 1e-14);
        }
        for (r, want) in g.sum_axis(ndarray::Axis(0)).iter().zip(&b) {
            assert!((r - want).abs() < 1e-14);
        }
        assert!(g.iter().all(|&x| x >= -1e-15));
        assert!(((&g * &c).sum() - v).abs() < 1e-14);
        assert!(emd(a.view(), Array1::from_elem(5, 0.3).view(), c.view(), 10).is_err());
        assert!(emd(a.view(), b.view(), c.t(), 10).is_err());
    }
}
