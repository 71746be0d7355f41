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
                let ui = tree.pot[i];
                let row = &cs[i * nt + j..i * nt + stop];
                let vs = &tree.pot[ns + j..ns + stop];
                // The segment's smallest reduced cost first (four independent lanes, which
                // the compiler turns into vector minima), then, only if it beats the
                // threshold, the first cell that attains it: the cell the one-by-one scan
                // would have kept.
                let low = segment_min(row, vs, ui);
                if low < threshold {
                    let off = row
                        .iter()
                        .zip(vs)
                        .position(|(&c, &vj)| c - ui - vj == low)
                        .expect("the minimum is attained");
                    threshold = low;
                    best = i * nt + j + off;
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

/// `min_j (c_j − u − v_j)` over a row segment, with the reduced costs computed exactly as
/// the scan computes them (`(c − u) − v`); `+∞` for an empty segment.
fn segment_min(c: &[f64], v: &[f64], u: f64) -> f64 {
    let mut lanes = [f64::INFINITY; 4];
    let (c4, v4) = (c.chunks_exact(4), v.chunks_exact(4));
    let (c_rest, v_rest) = (c4.remainder(), v4.remainder());
    for (cc, vv) in c4.zip(v4) {
        for k in 0..4 {
            let r = cc[k] - u - vv[k];
            lanes[k] = if r < lanes[k] { r } else { lanes[k] };
        }
    }
    let mut low = lanes
        .iter()
        .fold(f64::INFINITY, |m, &r| if r < m { r } else { m });
    for (&cj, &vj) in c_rest.iter().zip(v_rest) {
        let r = cj - u - vj;
        low = if r < low { r } else { low };
    }
    low
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

const NIL: u32 = u32::MAX;

/// The basis tree. Nodes are the rows `0..ns` and the columns `ns..ns+nt`. Each basic cell
/// `k` has two half-edges, `2k` at its row node and `2k + 1` at its column node, kept in
/// singly linked per-node lists (`first`, `next`): small flat arrays that stay in cache,
/// where the tree walks would otherwise chase one heap vector per node. From the last
/// re-rooting: each node's parent cell, depth and potential (`pot`: the rows' u, then the
/// columns' v). Plus the pivots' scratch vectors, kept between pivots.
struct Tree {
    ns: usize,
    cells: Vec<Cell>,
    first: Vec<u32>,
    next: Vec<u32>,
    parent: Vec<u32>,
    depth: Vec<u32>,
    pot: Vec<f64>,
    from_i: Vec<usize>,
    from_j: Vec<usize>,
    path: Vec<usize>,
    stack: Vec<(u32, u32)>,
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
        let mut tree = Tree {
            ns,
            next: vec![NIL; 2 * cells.len()],
            cells,
            first: vec![NIL; n],
            parent: vec![NIL; n],
            depth: vec![0; n],
            pot: vec![0.0; n],
            from_i: Vec::new(),
            from_j: Vec::new(),
            path: Vec::new(),
            stack: Vec::new(),
        };
        for h in 0..tree.next.len() {
            tree.link(h);
        }
        tree
    }

    /// The node half-edge `h` sits at: its cell's row for `2k`, its column for `2k + 1`.
    fn end(&self, h: usize) -> usize {
        let c = &self.cells[h / 2];
        if h % 2 == 0 {
            c.i
        } else {
            self.ns + c.j
        }
    }

    /// Puts half-edge `h` at the head of its node's list.
    fn link(&mut self, h: usize) {
        let x = self.end(h);
        self.next[h] = self.first[x];
        self.first[x] = h as u32;
    }

    /// Takes half-edge `h` out of its node's list.
    fn unlink(&mut self, h: usize) {
        let x = self.end(h);
        if self.first[x] as usize == h {
            self.first[x] = self.next[h];
            return;
        }
        let mut p = self.first[x] as usize;
        while self.next[p] as usize != h {
            p = self.next[p] as usize;
        }
        self.next[p] = self.next[h];
    }

    /// The other end of cell `k` seen from `node`.
    fn other(&self, k: usize, node: usize) -> usize {
        let a = self.end(2 * k);
        if a == node {
            self.end(2 * k + 1)
        } else {
            a
        }
    }

    /// Walks the subtree entered at node `s` through half-edge `h` (at `s`; its twin `h ^ 1`
    /// at the node already placed): parent cell, depth and potential (`u_i + v_j = c_ij` on
    /// every basic cell, so a node's potential is its cell's cost less its parent's) of
    /// every node below. Each node's values come from its parent's, so the visiting order
    /// does not change them.
    fn walk(&mut self, s: usize, h: usize) {
        let mut stack = std::mem::take(&mut self.stack);
        stack.clear();
        stack.push((s as u32, h as u32));
        while let Some((x, h)) = stack.pop() {
            let (x, h) = (x as usize, h as usize);
            let from = self.end(h ^ 1);
            let k = h / 2;
            self.parent[x] = k as u32;
            self.depth[x] = self.depth[from] + 1;
            self.pot[x] = self.cells[k].cost - self.pot[from];
            let mut e = self.first[x];
            while e != NIL {
                let e_us = e as usize;
                if e_us != h {
                    stack.push((self.end(e_us ^ 1) as u32, (e_us ^ 1) as u32));
                }
                e = self.next[e_us];
            }
        }
        self.stack = stack;
    }

    /// Parents, depths and potentials (`u_0 = 0`) of the whole tree, from node 0.
    fn potentials(&mut self) {
        self.parent[0] = NIL;
        self.depth[0] = 0;
        self.pot[0] = 0.0;
        let mut e = self.first[0];
        while e != NIL {
            let h = e as usize;
            e = self.next[h];
            self.walk(self.end(h ^ 1), h ^ 1);
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
                let k = self.parent[x] as usize;
                self.from_i.push(k);
                x = self.other(k, x);
            } else {
                let k = self.parent[y] as usize;
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
        // cell inside that subtree (`s`) hangs it back from the other end.
        let s_is_row = self.from_i.contains(&leave);
        // The entering cell replaces the leaving one in place.
        self.unlink(2 * leave);
        self.unlink(2 * leave + 1);
        self.cells[leave] = Cell {
            i,
            j,
            flow: theta,
            cost: c,
        };
        self.link(2 * leave);
        self.link(2 * leave + 1);
        if s_is_row {
            self.walk(i, 2 * leave);
        } else {
            self.walk(self.ns + j, 2 * leave + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array1};

    #[test]
    fn the_segment_minimum_is_the_one_by_one_minimum() {
        // Segments of every length 0..=11 with repeated values (ties across lanes): the
        // lane-wise minimum equals a plain left-to-right scan of the same reduced costs.
        for len in 0..=11usize {
            let c: Vec<f64> = (0..len).map(|k| ((k * 7) % 5) as f64 * 0.25).collect();
            let v: Vec<f64> = (0..len).map(|k| ((k * 3) % 4) as f64 * 0.5).collect();
            let u = 0.125;
            let naive = c
                .iter()
                .zip(&v)
                .map(|(&cj, &vj)| cj - u - vj)
                .fold(f64::INFINITY, f64::min);
            assert_eq!(
                segment_min(&c, &v, u).to_bits(),
                naive.to_bits(),
                "len {len}"
            );
        }
    }

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
