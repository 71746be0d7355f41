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
//! nodes, moves θ = the smallest flow on its decreasing cells, drops one of those cells,
//! re-hangs the subtree it cut off and recomputes that subtree's potentials. The tree is
//! kept in LEMON's thread (preorder) form, so a re-hang touches the path it reverses and
//! the potential update is one pass over a contiguous run of the preorder. Stops when no
//! cell has a reduced cost below `−1e-12 × max c`.
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
    let tree = network_simplex(a, b, cs, ns, nt, max_pivots)?;
    let mut gamma = Array2::<f64>::zeros((ns, nt));
    let mut total = 0.0;
    for e in &tree.cells {
        gamma[(e.i, e.j)] += e.flow;
        total += e.flow * e.cost;
    }
    Ok((gamma, total))
}

/// The optimal basis for the row-major `ns × nt` cost `cs`, masses checked by the caller.
fn network_simplex(
    a: ArrayView1<'_, f64>,
    b: ArrayView1<'_, f64>,
    cs: &[f64],
    ns: usize,
    nt: usize,
    max_pivots: usize,
) -> Result<Tree> {
    let mut tree = Tree::north_west(a, b, ns, nt, cs);
    let scale = cs.iter().fold(0.0f64, |m, c| m.max(c.abs())).max(1e-300);
    let tol = 1e-12 * scale;
    let m = ns * nt;
    let block = ((m as f64).sqrt().ceil() as usize).max(10).min(m);
    let mut next = 0usize;
    let mut pivots = 0usize;
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
        #[cfg(test)]
        tree.check();
    }
    Ok(tree)
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
    /// `c_ij`, kept with the cell: the tree updates read it without touching the n_s × n_t
    /// cost matrix.
    cost: f64,
}

const NIL: u32 = u32::MAX;

/// The basis tree, rooted at node 0, in LEMON's representation. Nodes are the rows `0..ns`
/// and the columns `ns..ns+nt`. Per node: its parent node and the basic cell joining them
/// (`pred`), its potential (`pot`: the rows' u, then the columns' v; `u_0 = 0`), and its
/// place in a circular preorder of the tree (`thread`, `rev_thread`), with its subtree's
/// size (`succ_num`) and the subtree's last node in that order (`last_succ`).
///
/// A pivot re-hangs the subtree cut off by the leaving cell. Only the parents on the path
/// between the entering cell's end and the cut (the "stem") change; the preorder is
/// spliced and the sizes updated along the stem and towards the root (LEMON's
/// `updateTreeStructure`). The moved subtree's potentials are then recomputed in preorder,
/// each from its parent's as `pot = c − pot_parent` — the same arithmetic whatever the
/// order, so the bits are those of a recursive walk.
struct Tree {
    ns: usize,
    cells: Vec<Cell>,
    parent: Vec<u32>,
    pred: Vec<u32>,
    thread: Vec<u32>,
    rev_thread: Vec<u32>,
    succ_num: Vec<u32>,
    last_succ: Vec<u32>,
    pot: Vec<f64>,
    from_i: Vec<usize>,
    from_j: Vec<usize>,
    path: Vec<usize>,
    dirty_revs: Vec<u32>,
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
            cells,
            parent: vec![NIL; n],
            pred: vec![NIL; n],
            thread: vec![0; n],
            rev_thread: vec![0; n],
            succ_num: vec![1; n],
            last_succ: vec![0; n],
            pot: vec![0.0; n],
            from_i: Vec::new(),
            from_j: Vec::new(),
            path: Vec::new(),
            dirty_revs: Vec::new(),
        };
        tree.build();
        tree
    }

    /// The two nodes of cell `k`: its row and its column.
    fn ends(&self, k: usize) -> (usize, usize) {
        let c = &self.cells[k];
        (c.i, self.ns + c.j)
    }

    /// Parents, preorder, subtree sizes and potentials of the starting basis, by a
    /// depth-first search from node 0.
    fn build(&mut self) {
        let n = self.parent.len();
        let mut adj: Vec<Vec<usize>> = vec![Vec::new(); n];
        for k in 0..self.cells.len() {
            let (r, c) = self.ends(k);
            adj[r].push(k);
            adj[c].push(k);
        }
        let mut order = Vec::with_capacity(n);
        let mut stack = vec![0usize];
        let mut seen = vec![false; n];
        seen[0] = true;
        while let Some(x) = stack.pop() {
            order.push(x);
            for &k in adj[x].iter().rev() {
                let (r, c) = self.ends(k);
                let y = if r == x { c } else { r };
                if !seen[y] {
                    seen[y] = true;
                    self.parent[y] = x as u32;
                    self.pred[y] = k as u32;
                    self.pot[y] = self.cells[k].cost - self.pot[x];
                    stack.push(y);
                }
            }
        }
        for (p, &x) in order.iter().enumerate() {
            let nx = order[(p + 1) % n];
            self.thread[x] = nx as u32;
            self.rev_thread[nx] = x as u32;
        }
        for &x in order.iter().rev() {
            if self.parent[x] != NIL {
                self.succ_num[self.parent[x] as usize] += self.succ_num[x];
            }
        }
        let pos: Vec<usize> = {
            let mut pos = vec![0; n];
            for (p, &x) in order.iter().enumerate() {
                pos[x] = p;
            }
            pos
        };
        for x in 0..n {
            self.last_succ[x] = order[pos[x] + self.succ_num[x] as usize - 1] as u32;
        }
    }

    /// Brings cell (i, j), of cost `c`, into the basis.
    fn pivot(&mut self, i: usize, j: usize, c: f64) {
        // The tree path from row node i to column node ns + j, as two climbs to their
        // common ancestor (`join`): a node's subtree is larger than any of its
        // descendants', so the smaller side climbs. The cycle is: (i, j) +θ, then from
        // column j back to row i the path cells alternate −θ, +θ, …
        let (mut x, mut y) = (i, self.ns + j);
        self.from_i.clear();
        self.from_j.clear();
        while x != y {
            if self.succ_num[x] < self.succ_num[y] {
                self.from_i.push(self.pred[x] as usize);
                x = self.parent[x] as usize;
            } else {
                self.from_j.push(self.pred[y] as usize);
                y = self.parent[y] as usize;
            }
        }
        let join = x;
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
        // Removing the leaving cell cuts off the subtree below it (rooted at `u_out`); the
        // end of the entering cell inside that subtree (`u_in`) hangs it back from the
        // other end (`v_in`).
        let (u_in, v_in) = if self.from_i.contains(&leave) {
            (i, self.ns + j)
        } else {
            (self.ns + j, i)
        };
        let (r, col) = self.ends(leave);
        let u_out = if self.pred[r] as usize == leave && self.parent[r] as usize == col {
            r
        } else {
            col
        };
        // The entering cell replaces the leaving one in place.
        self.cells[leave] = Cell {
            i,
            j,
            flow: theta,
            cost: c,
        };
        self.rehang(u_in, v_in, u_out, join, leave);
        // The moved subtree's potentials, parents before children.
        let mut u = u_in;
        for _ in 0..self.succ_num[u_in] {
            let p = self.parent[u] as usize;
            self.pot[u] = self.cells[self.pred[u] as usize].cost - self.pot[p];
            u = self.thread[u] as usize;
        }
    }

    /// LEMON's `updateTreeStructure` (network_simplex.h, LEMON 1.3): the subtree rooted at
    /// `u_out` loses its parent cell and hangs from `v_in` through cell `in_cell` at `u_in`;
    /// the stem from `u_in` up to `u_out` is reversed. `join` is the entering cycle's apex.
    fn rehang(&mut self, u_in: usize, v_in: usize, u_out: usize, join: usize, in_cell: usize) {
        let old_rev_thread = self.rev_thread[u_out] as usize;
        let old_succ_num = self.succ_num[u_out];
        let old_last_succ = self.last_succ[u_out] as usize;
        let v_out = self.parent[u_out] as usize;
        if u_in == u_out {
            self.parent[u_in] = v_in as u32;
            self.pred[u_in] = in_cell as u32;
            if self.thread[v_in] as usize != u_out {
                let mut after = self.thread[old_last_succ] as usize;
                self.thread[old_rev_thread] = after as u32;
                self.rev_thread[after] = old_rev_thread as u32;
                after = self.thread[v_in] as usize;
                self.thread[v_in] = u_out as u32;
                self.rev_thread[u_out] = v_in as u32;
                self.thread[old_last_succ] = after as u32;
                self.rev_thread[after] = old_last_succ as u32;
            }
        } else {
            // When old_rev_thread is v_in, join and v_out coincide.
            let thread_continue = if old_rev_thread == v_in {
                self.thread[old_last_succ]
            } else {
                self.thread[v_in]
            } as usize;
            // Along the stem: splice each stem node's subtree into the preorder after the
            // previous one's, and point its parent down the stem.
            let mut stem = u_in;
            let mut par_stem = v_in;
            let mut last = self.last_succ[u_in] as usize;
            let mut after = self.thread[last] as usize;
            self.thread[v_in] = u_in as u32;
            self.dirty_revs.clear();
            self.dirty_revs.push(v_in as u32);
            while stem != u_out {
                let next_stem = self.parent[stem] as usize;
                self.thread[last] = next_stem as u32;
                self.dirty_revs.push(last as u32);
                let before = self.rev_thread[stem] as usize;
                self.thread[before] = after as u32;
                self.rev_thread[after] = before as u32;
                self.parent[stem] = par_stem as u32;
                par_stem = stem;
                stem = next_stem;
                last = if self.last_succ[stem] == self.last_succ[par_stem] {
                    self.rev_thread[par_stem] as usize
                } else {
                    self.last_succ[stem] as usize
                };
                after = self.thread[last] as usize;
            }
            self.parent[u_out] = par_stem as u32;
            self.thread[last] = thread_continue as u32;
            self.rev_thread[thread_continue] = last as u32;
            self.last_succ[u_out] = last as u32;
            if old_rev_thread != v_in {
                self.thread[old_rev_thread] = after as u32;
                self.rev_thread[after] = old_rev_thread as u32;
            }
            for &u in &self.dirty_revs {
                let t = self.thread[u as usize] as usize;
                self.rev_thread[t] = u;
            }
            // Cells, sizes and last successors down the stem, from u_out to u_in.
            let mut tmp_sc: u32 = 0;
            let tmp_ls = self.last_succ[u_out];
            let mut u = u_out;
            while u != u_in {
                let p = self.parent[u] as usize;
                self.pred[u] = self.pred[p];
                tmp_sc = tmp_sc + self.succ_num[u] - self.succ_num[p];
                self.succ_num[u] = tmp_sc;
                self.last_succ[p] = tmp_ls;
                u = p;
            }
            self.pred[u_in] = in_cell as u32;
            self.succ_num[u_in] = old_succ_num;
        }
        // Last successors from v_in, then from v_out, towards the root.
        let up_limit_out = if self.last_succ[join] as usize == v_in {
            join as u32
        } else {
            NIL
        };
        let last_succ_out = self.last_succ[u_out];
        let mut u = v_in as u32;
        while u != NIL && self.last_succ[u as usize] as usize == v_in {
            self.last_succ[u as usize] = last_succ_out;
            u = self.parent[u as usize];
        }
        // Towards the root from v_out, the nodes whose last successor was u_out's old one
        // take the node now before u_out's old place, or u_out's new last successor.
        let replacement = if join != old_rev_thread && v_in != old_rev_thread {
            Some(old_rev_thread as u32)
        } else if last_succ_out as usize != old_last_succ {
            Some(last_succ_out)
        } else {
            None
        };
        if let Some(replacement) = replacement {
            let mut u = v_out as u32;
            while u != up_limit_out && self.last_succ[u as usize] as usize == old_last_succ {
                self.last_succ[u as usize] = replacement;
                u = self.parent[u as usize];
            }
        }
        // Subtree sizes from v_in and from v_out up to the join.
        let mut u = v_in;
        while u != join {
            self.succ_num[u] += old_succ_num;
            u = self.parent[u] as usize;
        }
        let mut u = v_out;
        while u != join {
            self.succ_num[u] -= old_succ_num;
            u = self.parent[u] as usize;
        }
    }

    /// Test builds only, after every pivot: the parents and cells agree, the thread is a
    /// circular preorder from node 0 whose runs of `succ_num` nodes are the subtrees ending
    /// at `last_succ`, and every potential is its cell's cost less its parent's, bit for bit.
    #[cfg(test)]
    fn check(&self) {
        let n = self.parent.len();
        let mut order = Vec::with_capacity(n);
        let mut x = 0usize;
        for _ in 0..n {
            order.push(x);
            assert_eq!(self.rev_thread[self.thread[x] as usize] as usize, x);
            x = self.thread[x] as usize;
        }
        assert_eq!(x, 0, "the thread is a cycle through all nodes");
        let mut pos = vec![usize::MAX; n];
        for (p, &x) in order.iter().enumerate() {
            assert_eq!(pos[x], usize::MAX, "node {x} twice in the thread");
            pos[x] = p;
        }
        assert_eq!(self.parent[0], NIL);
        let mut size = vec![1u32; n];
        for &x in order.iter().rev() {
            if x == 0 {
                continue;
            }
            let p = self.parent[x] as usize;
            assert!(pos[p] < pos[x], "a parent comes before its child");
            let (r, c) = self.ends(self.pred[x] as usize);
            assert!((r, c) == (x, p) || (r, c) == (p, x), "cell of node {x}");
            assert_eq!(
                self.pot[x].to_bits(),
                (self.cells[self.pred[x] as usize].cost - self.pot[p]).to_bits()
            );
            size[p] += size[x];
        }
        for x in 0..n {
            assert_eq!(self.succ_num[x], size[x], "subtree size of {x}");
            let last = order[pos[x] + size[x] as usize - 1];
            assert_eq!(self.last_succ[x] as usize, last, "last successor of {x}");
            // Every node of the run descends from x.
            for &y in &order[pos[x]..pos[x] + size[x] as usize] {
                let mut z = y;
                while z != x {
                    assert_ne!(self.parent[z], NIL, "node {y} in {x}'s run is not below it");
                    z = self.parent[z] as usize;
                }
            }
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

    #[test]
    fn random_and_degenerate_problems_keep_the_tree_and_reach_the_optimum() {
        // The tree's invariants are checked after every pivot (`Tree::check`, test builds).
        // Integer costs and masses that divide evenly make ties and degenerate pivots.
        // Optimality by duality: the final potentials price no cell below −tol.
        let mut rnd = crate::test_uniform(0x9e37_79b9_7f4a_7c15);
        for case in 0..60 {
            let ns = 1 + (rnd() * 25.0) as usize;
            let nt = 1 + (rnd() * 25.0) as usize;
            let c = Array2::from_shape_fn((ns, nt), |_| {
                if case % 2 == 0 {
                    (rnd() * 4.0).floor()
                } else {
                    rnd()
                }
            });
            let a = Array1::from_elem(ns, 1.0 / ns as f64);
            let b = if case % 3 == 0 {
                Array1::from_elem(nt, 1.0 / nt as f64)
            } else {
                // Every fifth case has zero masses too (empty columns, zero-flow cells).
                let w = Array1::from_shape_fn(nt, |j| {
                    if case % 5 == 1 && j % 3 == 1 {
                        0.0
                    } else {
                        0.05 + rnd()
                    }
                });
                &w / w.sum()
            };
            let (g, v) = emd(a.view(), b.view(), c.view(), 100_000).unwrap();
            for (r, want) in g.sum_axis(ndarray::Axis(1)).iter().zip(&a) {
                assert!((r - want).abs() < 1e-12, "case {case}");
            }
            for (r, want) in g.sum_axis(ndarray::Axis(0)).iter().zip(&b) {
                assert!((r - want).abs() < 1e-12, "case {case}");
            }
            assert!(((&g * &c).sum() - v).abs() < 1e-12);
            // Optimality by duality: the final potentials price every cell at ≥ −tol and
            // every basic cell at 0, and the basic flows are ≥ 0 — a primal feasible and a
            // dual feasible solution in complementary slackness.
            let cs = c.as_standard_layout().as_slice().unwrap().to_vec();
            let tree = network_simplex(a.view(), b.view(), &cs, ns, nt, 100_000).unwrap();
            let tol = 1e-12 * cs.iter().fold(0.0f64, |m, x| m.max(x.abs())).max(1e-300);
            for i in 0..ns {
                for j in 0..nt {
                    assert!(
                        c[(i, j)] - tree.pot[i] - tree.pot[ns + j] >= -tol,
                        "case {case}"
                    );
                }
            }
            for e in &tree.cells {
                assert!(e.flow >= 0.0);
                assert!((e.cost - tree.pot[e.i] - tree.pot[ns + e.j]).abs() < 1e-12);
            }
        }
    }
}
