//! Dense linear algebra on faer behind a few ndarray-facing functions. ndarray arrays in
//! standard (row-major) layout are viewed by faer without copying
//! (`MatRef::from_row_major_slice`); results come back as owned ndarray arrays.

use faer::linalg::solvers::{ShapeCore, Solve};
use faer::{Mat, MatRef, Side};
use ndarray::{Array1, Array2, ArrayView2};

use crate::error::{CoreError, Result};

/// Runs `f` on a faer view of `x`: zero-copy for a standard-layout array, one copy otherwise.
/// Then clears the vector registers' upper state ([`zero_upper`]).
pub fn with_faer<R>(x: ArrayView2<'_, f64>, f: impl FnOnce(MatRef<'_, f64>) -> R) -> R {
    let (r, c) = x.dim();
    let out = match x.as_slice() {
        Some(s) => f(MatRef::from_row_major_slice(s, r, c)),
        None => {
            let owned = x.as_standard_layout();
            f(MatRef::from_row_major_slice(
                owned.as_slice().expect("standard layout"),
                r,
                c,
            ))
        }
    };
    zero_upper();
    out
}

/// `op(A) · op(B)` where `op` transposes when asked, computed by faer on one thread (sweeps
/// parallelise whole runs) straight into a new standard-layout array. faer's kernels are
/// several times faster than ndarray's `dot` (matrixmultiply) at the sizes of the
/// unsupervised crate's scatter matrices and distance products.
pub fn matmul(
    a: ArrayView2<'_, f64>,
    transpose_a: bool,
    b: ArrayView2<'_, f64>,
    transpose_b: bool,
) -> Result<Array2<f64>> {
    let (ar, ac) = if transpose_a {
        (a.ncols(), a.nrows())
    } else {
        a.dim()
    };
    let (br, bc) = if transpose_b {
        (b.ncols(), b.nrows())
    } else {
        b.dim()
    };
    if ac != br {
        return Err(CoreError::Shape {
            context: "matmul".into(),
            detail: format!("{ar}×{ac} times {br}×{bc}"),
        });
    }
    let mut out = Array2::zeros((ar, bc));
    let slice = out
        .as_slice_mut()
        .expect("fresh arrays are standard layout");
    with_faer(a, |am| {
        with_faer(b, |bm| {
            let lhs = if transpose_a { am.transpose() } else { am };
            let rhs = if transpose_b { bm.transpose() } else { bm };
            let dst = faer::MatMut::from_row_major_slice_mut(slice, ar, bc);
            faer::linalg::matmul::matmul(dst, faer::Accum::Replace, lhs, rhs, 1.0, faer::Par::Seq);
        })
    });
    Ok(out)
}

/// `A · Bᵀ` in single precision, for screens whose candidates are re-measured exactly
/// (k-NN): `a` is `m × k` and `b` is `n × k`, both row-major; the result is `m × n`,
/// row-major. faer on one thread. Its f32 kernels move twice the lanes of the f64 ones, so
/// the product takes about half the time; each entry is within `(k + 2) · 2⁻²⁴ · Σ|a_i b_i|`
/// of the exact dot of the f32 inputs, whatever order faer sums in (the γ_k bound).
pub fn matmul_nt_f32(a: &[f32], b: &[f32], m: usize, n: usize, k: usize) -> Result<Vec<f32>> {
    if a.len() != m * k || b.len() != n * k {
        return Err(CoreError::Shape {
            context: "matmul_nt_f32".into(),
            detail: format!(
                "{} and {} entries for {m}×{k} times ({n}×{k})ᵀ",
                a.len(),
                b.len()
            ),
        });
    }
    let mut out = vec![0.0f32; m * n];
    let lhs = MatRef::from_row_major_slice(a, m, k);
    let rhs = MatRef::from_row_major_slice(b, n, k).transpose();
    let dst = faer::MatMut::from_row_major_slice_mut(&mut out, m, n);
    faer::linalg::matmul::matmul(dst, faer::Accum::Replace, lhs, rhs, 1.0f32, faer::Par::Seq);
    zero_upper();
    Ok(out)
}

/// Clears the upper halves of the vector registers (`vzeroupper`). faer's matrix products
/// run hand-written AVX-512 kernels (`private-gemm-x86`) that return with the upper state
/// dirty; until it is cleared, every legacy-SSE instruction that follows — most of our own
/// and ndarray's scalar f64 code, and libm's `exp` — runs several times slower (measured:
/// a Sinkhorn loop after a faer product took 1.4× as long). Every faer call here is
/// followed by this; it changes no value, only the time.
#[inline]
pub fn zero_upper() {
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = pulp::x86::V3::try_new() {
        simd.avx._mm256_zeroupper();
    }
}

/// Copies a faer matrix into an ndarray array.
pub fn to_ndarray(m: MatRef<'_, f64>) -> Array2<f64> {
    Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)])
}

fn square(name: &str, a: ArrayView2<'_, f64>) -> Result<()> {
    if a.nrows() != a.ncols() {
        return Err(CoreError::Shape {
            context: name.to_string(),
            detail: format!("expected a square matrix, got {}×{}", a.nrows(), a.ncols()),
        });
    }
    Ok(())
}

/// Eigen-decomposition of a symmetric matrix (its lower triangle is read): eigenvalues in
/// ascending order and the matching orthonormal eigenvectors as columns.
pub fn sym_eigh(a: ArrayView2<'_, f64>) -> Result<(Array1<f64>, Array2<f64>)> {
    square("sym_eigh", a)?;
    with_faer(a, |m| {
        let e = m.self_adjoint_eigen(Side::Lower).map_err(|e| {
            CoreError::Linalg(format!("symmetric eigensolver did not converge: {e:?}"))
        })?;
        let s = e.S().column_vector();
        let vals = Array1::from_shape_fn(a.nrows(), |i| s[i]);
        Ok((vals, to_ndarray(e.U())))
    })
}

/// The rows of `x` less their mean (for the principal-axes solvers).
fn centred_rows(x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
    let mean = x
        .mean_axis(ndarray::Axis(0))
        .ok_or_else(|| CoreError::Empty {
            context: "principal axes".into(),
        })?;
    Ok(&x - &mean)
}

/// Whether an n × n Gram matrix is the cheaper way to the spectrum of the d × d scatter
/// (or covariance) of n samples of d features. The two share their nonzero eigenvalues, and
/// `Xcᵀ u` turns a Gram eigenvector into a scatter one. Counted in multiply–adds, with an
/// eigendecomposition with vectors at about ten products of its size (faer at 800: ≈ 95 ms
/// against ≈ 9 ms for an 800³ product). The d route forms the scatter (n d²), decomposes it
/// (10 d³) and uses its vectors (≈ d³). The Gram route forms the Gram matrix and maps its
/// vectors back (2 n² d), and decomposes (10 n³).
pub fn gram_route_is_cheaper(n: usize, d: usize) -> bool {
    let (n, d) = (n as f64, d as f64);
    2.0 * n * n * d + 10.0 * n * n * n < n * d * d + 11.0 * d * d * d
}

/// The `dim` leading principal axes (features × dim, unit columns, largest variance first)
/// of the rows of `x`.
///
/// The axes come from the eigendecomposition of the centred d × d scatter `XcᵀXc`, or, when
/// [`gram_route_is_cheaper`] (fewer samples than features), from the n × n Gram matrix
/// `Xc Xcᵀ`. Its eigenvector u of eigenvalue λ > 0 gives the axis `Xcᵀu / ‖Xcᵀu‖`, which is
/// exact: the same subspace, up to rounding and each axis's sign. If the leading `dim`
/// eigenvalues are not all clearly positive (rank below `dim`), those axes are not
/// determined by the data, and the d route is taken. For `dim` ≥ 64 of d ≥ 256 the d route
/// back-transforms only the `dim` wanted eigenvectors ([`sym_eigh_top`]; the same bits as
/// the full decomposition).
pub fn principal_axes(x: ArrayView2<'_, f64>, dim: usize) -> Result<Array2<f64>> {
    let (n, d) = x.dim();
    if dim == 0 || dim > d {
        return Err(CoreError::invalid(
            "dim",
            dim,
            format!("1..={d} (the feature count)"),
        ));
    }
    let centred = centred_rows(x)?;
    if dim < n && gram_route_is_cheaper(n, d) {
        if let Some(axes) = principal_axes_gram(centred.view(), dim)? {
            return Ok(axes);
        }
    }
    let scatter = matmul(centred.view(), true, centred.view(), false)?;
    let top = with_faer(scatter.view(), |m| sym_eigh_top(m, dim));
    let (_, vecs) = top?;
    Ok(largest_first(&vecs))
}

/// The columns of [`sym_eigh_top`]'s eigenvectors (ascending) as an array, largest first.
fn largest_first(vecs: &Mat<f64>) -> Array2<f64> {
    let want = vecs.ncols();
    Array2::from_shape_fn((vecs.nrows(), want), |(i, j)| vecs[(i, want - 1 - j)])
}

/// [`principal_axes`] through the Gram matrix of the centred rows `c` (n × d, dim < n);
/// `None` when one of the leading `dim` eigenvalues is not clearly positive.
fn principal_axes_gram(c: ArrayView2<'_, f64>, dim: usize) -> Result<Option<Array2<f64>>> {
    let (n, d) = c.dim();
    let gram = matmul(c, false, c, true)?;
    let top = with_faer(gram.view(), |m| sym_eigh_top(m, dim));
    let (vals, vecs) = top?;
    let largest = vals[n - 1];
    // Below this a "positive" eigenvalue is rounding (the centring alone makes one zero).
    let floor = largest.max(0.0) * n as f64 * f64::EPSILON * 16.0;
    if !(largest.is_finite() && vals[n - dim] > floor) {
        return Ok(None);
    }
    // The leading vectors, largest first, as columns: U (n × dim), then Xcᵀ U (d × dim).
    let u = largest_first(&vecs);
    let mut axes = matmul(c, true, u.view(), false)?;
    for mut col in axes.columns_mut() {
        let norm = col.dot(&col).sqrt();
        if !(norm.is_finite() && norm > 0.0) {
            return Ok(None);
        }
        col.mapv_inplace(|v| v / norm);
    }
    debug_assert_eq!(axes.dim(), (d, dim));
    Ok(Some(axes))
}

/// The `dim` leading principal axes of the rows of `x` by randomized subspace iteration
/// (Halko, Martinsson & Tropp, SIAM Review 2011, Algorithm 4.4 — what scikit-learn's
/// `PCA(svd_solver="randomized")` does): a seeded Gaussian test matrix of `dim + 10`
/// columns, `power_iterations` rounds of `X` / `Xᵀ` products each renormalised by an LU
/// factorisation (scikit-learn's default normaliser), a thin QR of the last `X` product,
/// then the SVD of the small `(dim + 10) × d` projection. The range finder runs in f32;
/// the projection and the SVD in f64. On the centred data,
/// never forming the `d × d` scatter. The span approaches the exact leading axes as the
/// spectrum decays (the test checks the principal angles); the same seed gives the same
/// axes. Signs are arbitrary, as for the exact solver.
pub fn principal_axes_randomized(
    x: ArrayView2<'_, f64>,
    dim: usize,
    power_iterations: usize,
    seed: u64,
) -> Result<Array2<f64>> {
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    let (n, d) = x.dim();
    if dim == 0 || dim > d.min(n) {
        return Err(CoreError::invalid(
            "dim",
            dim,
            format!("1..={} (the feature count and the row count)", d.min(n)),
        ));
    }
    let centred = centred_rows(x)?;
    let l = (dim + 10).min(d).min(n);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    // The range finder in single precision: the products and factorisations of the power
    // iterations on f32 copies (twice the lanes, half the bytes). It only has to find a
    // span; its rounding (6e-8 relative) is far below the method's own approximation error
    // (the spectrum's decay over the power iterations). The projection and its SVD are f64.
    // Filled in memory order: faer's `Mat` is column-major, so X is kept as its transpose.
    let c32t = Mat::<f32>::from_fn(d, n, |j, i| centred[(i, j)] as f32);
    let c32 = c32t.transpose();
    // The Gaussian test matrix drawn row by row, as before the range finder went to f32.
    let omega = Array2::<f64>::from_shape_simple_fn((d, l), || StandardNormal.sample(&mut rng));
    let omega = Mat::<f32>::from_fn(d, l, |i, j| omega[(i, j)] as f32);
    let product = |lhs: MatRef<'_, f32>, rhs: MatRef<'_, f32>| -> Mat<f32> {
        let mut out = Mat::<f32>::zeros(lhs.nrows(), rhs.ncols());
        faer::linalg::matmul::matmul(
            out.as_mut(),
            faer::Accum::Replace,
            lhs,
            rhs,
            1.0f32,
            faer::Par::Seq,
        );
        out
    };
    let mut q = omega;
    for _ in 0..power_iterations {
        q = lu_basis(product(c32, q.as_ref()));
        q = lu_basis(product(c32t.as_ref(), q.as_ref()));
    }
    let q = product(c32, q.as_ref()).qr().compute_thin_Q();
    zero_upper();
    let q = Array2::from_shape_fn((n, l), |(i, j)| f64::from(q[(i, j)]));
    // B = Qᵀ X (l × d); its right singular vectors are the axes.
    let b = matmul(q.view(), true, centred.view(), false)?;
    let (_, _, vt) = svd(b.view())?;
    Ok(vt.slice(ndarray::s![..dim, ..]).t().to_owned())
}

/// A basis of the span of `a`'s columns from its LU factorisation with partial pivoting,
/// `Pᵀ L` (`P a = L U`; scipy's `lu(a, permute_l=True)`): scikit-learn's normaliser between
/// power iterations, a quarter of a thin QR's time here. Every entry of `L` is at most 1 in
/// magnitude, so the basis stays well scaled. A zero pivot (a column of `a` in the span of
/// the previous ones, exactly) would divide by zero: the thin QR's `Q` is taken instead.
fn lu_basis(a: Mat<f32>) -> Mat<f32> {
    let lu = a.partial_piv_lu();
    let l = lu.L();
    if !l.is_all_finite() {
        return a.qr().compute_thin_Q();
    }
    let (fwd, _) = lu.P().arrays();
    let mut out = Mat::<f32>::zeros(l.nrows(), l.ncols());
    for j in 0..l.ncols() {
        for (i, &row) in fwd.iter().enumerate() {
            out[(row, j)] = l[(i, j)];
        }
    }
    out
}

/// Lower Cholesky factor `L` of a symmetric positive-definite matrix (`A = L Lᵀ`).
pub fn cholesky(a: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
    square("cholesky", a)?;
    with_faer(a, |m| {
        let llt = m
            .llt(Side::Lower)
            .map_err(|e| CoreError::Linalg(format!("matrix is not positive definite: {e:?}")))?;
        Ok(to_ndarray(llt.L()))
    })
}

/// Thin SVD `A = U diag(s) Vᵀ`, singular values in non-increasing order.
pub fn svd(a: ArrayView2<'_, f64>) -> Result<(Array2<f64>, Array1<f64>, Array2<f64>)> {
    with_faer(a, |m| {
        let svd = m
            .thin_svd()
            .map_err(|e| CoreError::Linalg(format!("SVD did not converge: {e:?}")))?;
        let s = svd.S().column_vector();
        let k = s.nrows();
        let vals = Array1::from_shape_fn(k, |i| s[i]);
        Ok((
            to_ndarray(svd.U()),
            vals,
            to_ndarray(svd.V())
                .reversed_axes()
                .as_standard_layout()
                .to_owned(),
        ))
    })
}

/// Solves `A X = B` for square `A` (LU with partial pivoting).
pub fn solve(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
    square("solve", a)?;
    if b.nrows() != a.nrows() {
        return Err(CoreError::Shape {
            context: "solve".into(),
            detail: format!(
                "A is {}×{} but B has {} rows",
                a.nrows(),
                a.ncols(),
                b.nrows()
            ),
        });
    }
    let x = with_faer(a, |m| with_faer(b, |rhs| m.partial_piv_lu().solve(rhs)));
    if !x.as_ref().is_all_finite() {
        return Err(CoreError::Linalg("solve: matrix is singular".into()));
    }
    Ok(to_ndarray(x.as_ref()))
}

/// Generalised symmetric-definite eigenproblem `A v = λ B v` with `B` positive definite:
/// with `B = L Lᵀ`, solves the standard problem for `L⁻¹ A L⁻ᵀ` and maps back `v = L⁻ᵀ w`.
/// Eigenvalues ascending; eigenvectors as columns, B-orthonormal.
pub fn sym_gen_eigh(
    a: ArrayView2<'_, f64>,
    b: ArrayView2<'_, f64>,
) -> Result<(Array1<f64>, Array2<f64>)> {
    square("sym_gen_eigh (A)", a)?;
    square("sym_gen_eigh (B)", b)?;
    let n = a.nrows();
    let (vals, w) = with_faer(b, |bm| -> Result<(Array1<f64>, Mat<f64>)> {
        let llt = bm
            .llt(Side::Lower)
            .map_err(|e| CoreError::Linalg(format!("B is not positive definite: {e:?}")))?;
        let l = llt.L();
        with_faer(a, |am| {
            // C = L⁻¹ A L⁻ᵀ via two triangular solves.
            let mut c = am.to_owned();
            faer::linalg::triangular_solve::solve_lower_triangular_in_place(
                l,
                c.as_mut(),
                faer::Par::Seq,
            );
            let mut ct = c.transpose().to_owned();
            faer::linalg::triangular_solve::solve_lower_triangular_in_place(
                l,
                ct.as_mut(),
                faer::Par::Seq,
            );
            let sym = Mat::from_fn(n, n, |i, j| 0.5 * (ct[(i, j)] + ct[(j, i)]));
            let e = sym
                .self_adjoint_eigen(Side::Lower)
                .map_err(|e| CoreError::Linalg(format!("eigensolver did not converge: {e:?}")))?;
            let s = e.S().column_vector();
            let vals = Array1::from_shape_fn(n, |i| s[i]);
            let mut v = e.U().to_owned();
            faer::linalg::triangular_solve::solve_upper_triangular_in_place(
                l.transpose(),
                v.as_mut(),
                faer::Par::Seq,
            );
            Ok((vals, v))
        })
    })?;
    Ok((vals, to_ndarray(w.as_ref())))
}

/// The `want` largest eigenpairs of a symmetric matrix (its lower triangle read): all
/// eigenvalues in ascending order, and the eigenvectors of the last `want` of them as the
/// columns of an n × want matrix (ascending too). For n ≥ 256 and 64 ≤ want < n, by
/// [`sym_eigh_top_partial`]; there, on the development machine, the columns have the bits
/// of faer's full `self_adjoint_eigen` (checked for n in {256, 400, 800, 1024, 1500} × want
/// in {64, 100, 128, 200}). For a narrower block faer's product picks other kernels and the
/// last bits move, so smaller shapes take the full decomposition.
fn sym_eigh_top(a: MatRef<'_, f64>, want: usize) -> Result<(Vec<f64>, Mat<f64>)> {
    sym_eigh_top_with(a, want, TridiagVectors::DivideAndConquer)
}

/// How the tridiagonal matrix's eigenpairs are found in [`sym_eigh_top_partial`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TridiagVectors {
    /// All of them, by faer's divide and conquer (the bits of faer's full decomposition).
    DivideAndConquer,
    /// Only the wanted ones: their eigenvalues by bisection ([`tridiag_top_eigenvalues`]),
    /// their eigenvectors by inverse iteration ([`tridiag_eigenvectors`]). Then only the
    /// `want` largest eigenvalues are returned.
    InverseIteration,
}

/// [`sym_eigh_top`] with the tridiagonal eigenvectors found as `how` says, where the
/// partial route is taken (n ≥ 256, 64 ≤ want < n); other shapes take the full
/// decomposition either way.
fn sym_eigh_top_with(
    a: MatRef<'_, f64>,
    want: usize,
    how: TridiagVectors,
) -> Result<(Vec<f64>, Mat<f64>)> {
    let n = a.nrows();
    if n >= 256 && (64..n).contains(&want) {
        return sym_eigh_top_partial(a, want, how);
    }
    let want = want.min(n);
    let e = a
        .self_adjoint_eigen(Side::Lower)
        .map_err(|e| CoreError::Linalg(format!("eigensolver did not converge: {e:?}")))?;
    let s = e.S().column_vector();
    Ok((
        (0..n).map(|i| s[i]).collect(),
        e.U().subcols(n - want, want).to_owned(),
    ))
}

/// [`sym_eigh_top`] by the same steps as faer's `self_adjoint_evd` — Householder
/// tridiagonalisation, divide and conquer on the tridiagonal matrix, so the same
/// eigenvalues — except that the back-transformation by the Householder sequence, an
/// n × n × n product, is applied to the `want` columns only (each column's does not depend
/// on the others). Needs 2 ≤ n and 1 ≤ want < n.
fn sym_eigh_top_partial(
    a: MatRef<'_, f64>,
    want: usize,
    how: TridiagVectors,
) -> Result<(Vec<f64>, Mat<f64>)> {
    use faer::dyn_stack::{MemBuffer, MemStack};
    use faer::linalg::evd;
    let n = a.nrows();
    debug_assert!(
        n >= 2 && want < n,
        "sym_eigh_top_partial: n {n}, want {want}"
    );
    let par = faer::Par::Seq;
    let mut mem = MemBuffer::new(evd::self_adjoint_evd_scratch::<f64>(
        n,
        evd::ComputeEigenvectors::Yes,
        par,
        Default::default(),
    ));
    let stack = MemStack::new(&mut mem);
    let mut trid = Mat::<f64>::zeros(n, n);
    trid.copy_from_triangular_lower(a);
    let bs = faer::linalg::qr::no_pivoting::factor::recommended_block_size::<f64>(n, n);
    let mut householder = Mat::<f64>::zeros(bs, n - 1);
    evd::tridiag::tridiag_in_place(
        trid.as_mut(),
        householder.as_mut(),
        par,
        stack,
        Default::default(),
    );
    let diag = faer::Col::<f64>::from_fn(n, |i| trid[(i, i)]);
    let sub = faer::Col::<f64>::from_fn(n, |i| if i + 1 < n { trid[(i + 1, i)] } else { 0.0 });
    let (vals, mut u) = match how {
        TridiagVectors::DivideAndConquer => {
            let mut vals = faer::diag::Diag::<f64>::zeros(n);
            let mut u_all = Mat::<f64>::zeros(n, n);
            evd::tridiagonal_self_adjoint_evd(
                diag.as_diagonal(),
                sub.as_diagonal(),
                vals.as_mut(),
                Some(u_all.as_mut()),
                par,
                stack,
                Default::default(),
            )
            .map_err(|e| CoreError::Linalg(format!("eigensolver did not converge: {e:?}")))?;
            let vals = vals.column_vector();
            (
                (0..n).map(|i| vals[i]).collect(),
                u_all.subcols(n - want, want).to_owned(),
            )
        }
        TridiagVectors::InverseIteration => {
            let d: Vec<f64> = (0..n).map(|i| diag[i]).collect();
            let e: Vec<f64> = (0..n - 1).map(|i| sub[i]).collect();
            let top = tridiag_top_eigenvalues(&d, &e, want);
            let u = tridiag_eigenvectors(&d, &e, &top);
            (top, u)
        }
    };
    faer::linalg::householder::apply_block_householder_sequence_on_the_left_in_place_with_conj(
        trid.submatrix(1, 0, n - 1, n - 1),
        householder.as_ref(),
        faer::Conj::No,
        u.as_mut().subrows_mut(1, n - 1),
        par,
        stack,
    );
    Ok((vals, u))
}

/// The `want` largest eigenvalues (ascending) of the symmetric tridiagonal matrix with
/// diagonal `d` and subdiagonal `e`, by bisection on Sturm counts (LAPACK's `dstebz`
/// scheme: the count of eigenvalues below x is the number of negative pivots of T − xI,
/// a pivot smaller than `pivmin` taken as −pivmin), each to an interval of
/// 2ε·max(|lo|, |hi|) + 2·pivmin. Eight eigenvalues are bisected together, so that the
/// pivots' divisions, a dependent chain within one count, overlap across them.
fn tridiag_top_eigenvalues(d: &[f64], e: &[f64], want: usize) -> Vec<f64> {
    const LANES: usize = 8;
    let n = d.len();
    let want = want.min(n);
    let e2: Vec<f64> = e.iter().map(|v| v * v).collect();
    let pivmin = f64::MIN_POSITIVE * e2.iter().cloned().fold(1.0, f64::max);
    let (mut gl, mut gu) = (f64::INFINITY, f64::NEG_INFINITY);
    for i in 0..n {
        let r = if i > 0 { e[i - 1].abs() } else { 0.0 } + if i + 1 < n { e[i].abs() } else { 0.0 };
        gl = gl.min(d[i] - r);
        gu = gu.max(d[i] + r);
    }
    let spread = 2.0 * f64::EPSILON * n as f64 * gl.abs().max(gu.abs()) + 2.0 * pivmin;
    let (gl, gu) = (gl - spread, gu + spread);
    let mut out = vec![0.0; want];
    for start in (0..want).step_by(LANES) {
        let lanes = LANES.min(want - start);
        // Lane l looks for eigenvalue index n − want + start + l (0-based, ascending).
        let index: [usize; LANES] = std::array::from_fn(|l| n - want + start + l.min(lanes - 1));
        let mut lo = [gl; LANES];
        let mut hi = [gu; LANES];
        for _ in 0..200 {
            let mut x = [0.0; LANES];
            let mut done = true;
            for l in 0..LANES {
                x[l] = 0.5 * (lo[l] + hi[l]);
                let tol = 2.0 * f64::EPSILON * lo[l].abs().max(hi[l].abs()) + 2.0 * pivmin;
                done &= hi[l] - lo[l] <= tol || x[l] <= lo[l] || x[l] >= hi[l];
            }
            if done {
                break;
            }
            let mut q = [0.0; LANES];
            let mut count = [0usize; LANES];
            for i in 0..n {
                let off = if i > 0 { e2[i - 1] } else { 0.0 };
                for l in 0..LANES {
                    let mut v = d[i] - x[l] - if i > 0 { off / q[l] } else { 0.0 };
                    if v.abs() <= pivmin {
                        v = -pivmin;
                    }
                    q[l] = v;
                    count[l] += (v < 0.0) as usize;
                }
            }
            for l in 0..LANES {
                if count[l] <= index[l] {
                    lo[l] = x[l];
                } else {
                    hi[l] = x[l];
                }
            }
        }
        for l in 0..lanes {
            out[start + l] = 0.5 * (lo[l] + hi[l]);
        }
    }
    out
}

/// Eigenvectors of the symmetric tridiagonal matrix T (diagonal `d`, subdiagonal `e`,
/// `e[i] = T[i+1, i]`) for its eigenvalues `w` (ascending, accurate to rounding), as the
/// columns of an n × w.len() matrix, by inverse iteration in the manner of LAPACK's
/// `dstein`: for each eigenvalue, Gaussian elimination with partial pivoting of T − wI
/// (tiny pivots raised to ε‖T‖₁), three solves from a fixed pseudo-random start, each
/// followed by Gram–Schmidt against the earlier vectors of its cluster (eigenvalues closer
/// than 1e-3‖T‖₁, `dstein`'s test) and normalisation. Eigenvalues closer than 10ε|w| are
/// pulled apart by that much first, as `dstein` does. Each column's largest entry is made
/// positive. O(n) per vector and solve, plus the clusters' orthogonalisation.
fn tridiag_eigenvectors(d: &[f64], e: &[f64], w: &[f64]) -> Mat<f64> {
    let n = d.len();
    let k = w.len();
    let mut z = Mat::<f64>::zeros(n, k);
    if n == 0 {
        return z;
    }
    let eps = f64::EPSILON;
    let norm1 = (0..n)
        .map(|i| {
            d[i].abs()
                + if i > 0 { e[i - 1].abs() } else { 0.0 }
                + if i + 1 < n { e[i].abs() } else { 0.0 }
        })
        .fold(0.0, f64::max);
    // Work on T / ‖T‖₁ (eigenvectors unchanged), so that the raised pivots, ε, cannot
    // underflow into an overflowing solve whatever the matrix's scale (0 included).
    let scale = if norm1 > 0.0 && norm1.is_finite() {
        1.0 / norm1
    } else {
        1.0
    };
    let d: Vec<f64> = d.iter().map(|v| v * scale).collect();
    let e: Vec<f64> = e.iter().map(|v| v * scale).collect();
    let w: Vec<f64> = w.iter().map(|v| v * scale).collect();
    // `dstein`'s cluster test, 1e-3‖T‖₁, on the scaled matrix (for T = 0: one cluster).
    let ortol = 1e-3;
    let tiny = eps;
    // The elimination's factors: U's diagonal, first and second superdiagonals, the
    // multipliers and the row swaps.
    let (mut ud, mut u1, mut u2) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let (mut mult, mut swapped) = (vec![0.0; n], vec![false; n]);
    let mut y = vec![0.0; n];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let (mut prev, mut cluster) = (f64::NEG_INFINITY, 0usize);
    for j in 0..k {
        let mut x = w[j];
        if j > 0 {
            let pertol = 10.0 * eps * x.abs();
            if x - prev < pertol {
                x = prev + pertol;
            }
            if x - prev > ortol {
                cluster = j;
            }
        }
        prev = x;
        // T − xI = P L U.
        for i in 0..n {
            ud[i] = d[i] - x;
            u1[i] = if i + 1 < n { e[i] } else { 0.0 };
            u2[i] = 0.0;
        }
        for i in 0..n.saturating_sub(1) {
            let sub = e[i];
            if ud[i].abs() >= sub.abs() {
                let m = if ud[i] != 0.0 { sub / ud[i] } else { 0.0 };
                mult[i] = m;
                swapped[i] = false;
                ud[i + 1] -= m * u1[i];
            } else {
                let m = ud[i] / sub;
                mult[i] = m;
                swapped[i] = true;
                ud[i] = sub;
                let next_diag = ud[i + 1];
                ud[i + 1] = u1[i] - m * next_diag;
                if i + 2 < n {
                    u2[i] = u1[i + 1];
                    u1[i + 1] = -m * u2[i];
                }
                u1[i] = next_diag;
            }
        }
        for v in y.iter_mut() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *v = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
        }
        for _ in 0..3 {
            // Solve P L U v = y in place.
            for i in 0..n.saturating_sub(1) {
                if swapped[i] {
                    y.swap(i, i + 1);
                }
                y[i + 1] -= mult[i] * y[i];
            }
            for i in (0..n).rev() {
                let mut r = y[i];
                if i + 1 < n {
                    r -= u1[i] * y[i + 1];
                }
                if i + 2 < n {
                    r -= u2[i] * y[i + 2];
                }
                let p = if ud[i].abs() < tiny {
                    if ud[i] < 0.0 {
                        -tiny
                    } else {
                        tiny
                    }
                } else {
                    ud[i]
                };
                y[i] = r / p;
            }
            for c in cluster..j {
                let col = z.col(c);
                let dot: f64 = (0..n).map(|i| col[i] * y[i]).sum();
                for (i, v) in y.iter_mut().enumerate() {
                    *v -= dot * col[i];
                }
            }
            let norm = y.iter().map(|v| v * v).sum::<f64>().sqrt();
            if !(norm.is_finite() && norm > 0.0) {
                break;
            }
            for v in y.iter_mut() {
                *v /= norm;
            }
        }
        let big = (0..n).fold(0, |b, i| if y[i].abs() > y[b].abs() { i } else { b });
        let sign = if y[big] < 0.0 { -1.0 } else { 1.0 };
        for i in 0..n {
            z[(i, j)] = sign * y[i];
        }
    }
    z
}

/// The `want` largest eigenpairs of `B w = ν A w` where `A = λI + P Pᵀ` (λ > 0, `P` m × r
/// with r small, `B` symmetric, its lower triangle read): exact, without factoring the
/// m × m matrix A. With `P Pᵀ = U diag(θ) Uᵀ` (thin QR of P, then the r × r eigenproblem of
/// `R Rᵀ`), `A^{-1/2} = λ^{-1/2} (I + U diag(d) Uᵀ)`, `d = (1 + θ/λ)^{-1/2} − 1`, so the
/// standard problem `A^{-1/2} B A^{-1/2} y = ν y` is B plus a rank-2r correction (O(m² r) to
/// form), and `w = A^{-1/2} y`. Against [`sym_gen_eigh`] this saves the Cholesky factor of
/// A, two m × m triangular solves and the back-substitution of all m eigenvectors.
/// Eigenvalues largest first; eigenvectors as columns, scaled to unit Euclidean length.
pub fn sym_gen_eigh_low_rank(
    b: ArrayView2<'_, f64>,
    lambda: f64,
    p: ArrayView2<'_, f64>,
    want: usize,
) -> Result<(Array1<f64>, Array2<f64>)> {
    square("sym_gen_eigh_low_rank (B)", b)?;
    let m = b.nrows();
    if p.nrows() != m || want > m || !(lambda.is_finite() && lambda > 0.0) {
        return Err(CoreError::Shape {
            context: "sym_gen_eigh_low_rank".into(),
            detail: format!(
                "B is {m}×{m}, P has {} rows, {want} pairs wanted, λ = {lambda} (must be > 0)",
                p.nrows()
            ),
        });
    }
    let r = p.ncols().min(m);
    // U (m × r, orthonormal columns) and θ ≥ 0 with P Pᵀ = U diag(θ) Uᵀ.
    let (u, theta) = if r == 0 {
        (Array2::zeros((m, 0)), Array1::zeros(0))
    } else {
        let (q, rr) = with_faer(p, |pm| {
            let qr = pm.qr();
            (
                to_ndarray(qr.compute_thin_Q().as_ref()),
                to_ndarray(qr.thin_R()),
            )
        });
        let (theta, z) = sym_eigh(rr.dot(&rr.t()).view())?;
        (q.dot(&z), theta.mapv(|t| t.max(0.0)))
    };
    let d = theta.mapv(|t| (1.0 + t / lambda).powf(-0.5) - 1.0);
    // F = U diag(d); T B T with T = I + F Uᵀ is B + F Gᵀ + G Fᵀ, G = B U + ½ F (Uᵀ B U).
    let f = &u * &d;
    let bu = matmul(b, false, u.view(), false)?;
    let h = u.t().dot(&bu);
    let g = &bu + &(f.dot(&h) * 0.5);
    // C = B + [F G] [G F]ᵀ, one product of inner size 2r.
    let lhs = ndarray::concatenate(ndarray::Axis(1), &[f.view(), g.view()]).expect("m rows");
    let rhs = ndarray::concatenate(ndarray::Axis(1), &[g.view(), f.view()]).expect("m rows");
    let mut c = with_faer(b, |bm| bm.to_owned());
    with_faer(lhs.view(), |l| {
        with_faer(rhs.view(), |r| {
            faer::linalg::matmul::matmul(
                c.as_mut(),
                faer::Accum::Add,
                l,
                r.transpose(),
                1.0,
                faer::Par::Seq,
            )
        })
    });
    // All eigenvalues, and the eigenvectors of the `want` largest (columns `offset..m` of
    // the full ascending set).
    let top = sym_eigh_top_with(c.as_ref(), want, TridiagVectors::InverseIteration);
    zero_upper();
    let (s, vecs) = top?;
    // `s` holds all m eigenvalues, or only the `want` largest (the inverse-iteration
    // route); either way its last `want` are the columns of `vecs`, ascending.
    let mut vals = Array1::zeros(want);
    let mut out = Array2::zeros((m, want));
    for j in 0..want {
        vals[j] = s[s.len() - 1 - j] / lambda;
        let col = want - 1 - j;
        let y = Array1::from_shape_fn(m, |i| vecs[(i, col)]);
        let w = &y + &f.dot(&u.t().dot(&y));
        let norm = w.dot(&w).sqrt();
        if !(norm.is_finite() && norm > 0.0) {
            return Err(CoreError::Linalg(
                "generalised eigenproblem: a degenerate eigenvector".into(),
            ));
        }
        out.column_mut(j).assign(&(w / norm));
    }
    Ok((vals, out))
}

/// `Σ_i f(i)` over `0..n` in the order of ndarray's `sum()` of a contiguous array
/// (`unrolled_fold`): eight running sums over chunks of eight, finished by
/// [`finish_unrolled`]. The same bits as materialising the n values and summing them with
/// ndarray, without the temporary.
#[inline(always)]
pub fn unrolled_sum(n: usize, f: impl Fn(usize) -> f64) -> f64 {
    let whole = n / 8 * 8;
    let mut p = [0.0f64; 8];
    for base in (0..whole).step_by(8) {
        for (k, pk) in p.iter_mut().enumerate() {
            *pk += f(base + k);
        }
    }
    finish_unrolled(p, (whole..n).map(f))
}

/// `a · b` with the bits of ndarray's `dot` of two contiguous 1-D views (`unrolled_dot`,
/// the same order as [`unrolled_sum`] of the products, each a multiply then an add, never
/// fused). Its own chunked loop rather than `unrolled_sum` with an index closure: inlined
/// into MEDA's SVM passes (20 features a dot) the indexed form measured 8% slower there.
#[inline(always)]
pub fn dot_slices(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(
        a.len(),
        b.len(),
        "dot_slices: lengths {} and {}",
        a.len(),
        b.len()
    );
    let whole = a.len() / 8 * 8;
    let mut p = [0.0f64; 8];
    for (ca, cb) in a[..whole].chunks_exact(8).zip(b[..whole].chunks_exact(8)) {
        for k in 0..8 {
            p[k] += ca[k] * cb[k];
        }
    }
    finish_unrolled(p, a[whole..].iter().zip(&b[whole..]).map(|(x, y)| x * y))
}

/// ndarray's finish of an eightfold unrolled sum: `0 + (p0+p4) + (p1+p5) + (p2+p6) +
/// (p3+p7)`, then the tail (fewer than eight values) added one by one.
#[inline(always)]
fn finish_unrolled(p: [f64; 8], tail: impl Iterator<Item = f64>) -> f64 {
    let mut acc = 0.0f64;
    acc += p[0] + p[4];
    acc += p[1] + p[5];
    acc += p[2] + p[6];
    acc += p[3] + p[7];
    for v in tail {
        acc += v;
    }
    acc
}

/// `xᵀx` with the bits of ndarray's `x.t().dot(&x)`, multiplying only the blocks on and
/// above the diagonal (about half the work) and mirroring the rest. The bits hold because an
/// entry of ndarray's product does not depend on the block that computes it (each is
/// matrixmultiply's chain of fused multiply-adds over the inner index, the test
/// `ndarray_products_are_blocked_fma_chains`), and entry (j, i) is the chain of (i, j) with
/// each product's two factors swapped, which rounds the same.
///
/// The blocks come from halving recursively: the two diagonal halves, then the off-diagonal
/// rectangle in one product. Thin strips of rows would each pack the whole other operand
/// anew, which cost more than the half saved.
pub fn gram_t(x: ArrayView2<'_, f64>) -> Array2<f64> {
    let d = x.ncols();
    let mut out = Array2::<f64>::zeros((d, d));
    gram_upper(x, 0, d, &mut out);
    for i in 0..d {
        for j in 0..i {
            out[(i, j)] = out[(j, i)];
        }
    }
    out
}

/// `out[lo..hi, lo..hi]`'s upper triangle (and some of its lower) of `xᵀx`, as [`gram_t`].
fn gram_upper(x: ArrayView2<'_, f64>, lo: usize, hi: usize, out: &mut Array2<f64>) {
    use ndarray::s;
    if hi - lo <= GRAM_BLOCK {
        let c = x.slice(s![.., lo..hi]);
        out.slice_mut(s![lo..hi, lo..hi]).assign(&c.t().dot(&c));
        return;
    }
    let mid = lo + (hi - lo) / 2;
    gram_upper(x, lo, mid, out);
    gram_upper(x, mid, hi, out);
    let block = x.slice(s![.., lo..mid]).t().dot(&x.slice(s![.., mid..hi]));
    out.slice_mut(s![lo..mid, mid..hi]).assign(&block);
}

/// `x xᵀ` with the bits of ndarray's `x.dot(&x.t())`, as [`gram_t`] (of `xᵀ`).
pub fn gram(x: ArrayView2<'_, f64>) -> Array2<f64> {
    gram_t(x.t())
}

/// Squared Euclidean distances between the rows of `a` and of `b` from their products
/// `p = a bᵀ` (by whichever product the caller's results are committed with):
/// `‖a_i‖² + ‖b_j‖² − 2 p_ij`, clamped at 0, written over `p`.
pub fn sq_distances_from(
    a: ArrayView2<'_, f64>,
    b: ArrayView2<'_, f64>,
    mut p: Array2<f64>,
) -> Array2<f64> {
    let an: Array1<f64> = a.rows().into_iter().map(|r| r.dot(&r)).collect();
    let bn: Array1<f64> = b.rows().into_iter().map(|r| r.dot(&r)).collect();
    for (mut row, &ai) in p.rows_mut().into_iter().zip(&an) {
        row.zip_mut_with(&bn, |v, &bj| *v = (ai + bj - 2.0 * *v).max(0.0));
    }
    p
}

/// The squared distances between the rows of `x`, with the bits of
/// `sq_distances_from(x, x, x.dot(&x.t()))` from the products of [`gram`] (half the
/// multiplications).
pub fn sq_distances_self(x: ArrayView2<'_, f64>) -> Array2<f64> {
    sq_distances_from(x, x, gram(x))
}

/// The largest diagonal block [`gram_t`] multiplies whole.
const GRAM_BLOCK: usize = 128;

/// `Xᵀv` with the bits of ndarray's `x.t().dot(&v)` — each entry summed from row 0 upward,
/// as ndarray's strided dot does — but computed row by row (one contiguous pass over X
/// instead of one strided pass per column, several times faster). Rows whose `v_i` is 0
/// are skipped: for finite X they add exactly nothing.
pub fn xt_v(x: ArrayView2<'_, f64>, v: ndarray::ArrayView1<'_, f64>) -> Array1<f64> {
    assert_eq!(
        x.nrows(),
        v.len(),
        "xt_v: X has {} rows, v {}",
        x.nrows(),
        v.len()
    );
    if x.strides()[0] == 1 || x.nrows() <= 1 {
        // Contiguous columns: ndarray takes its unrolled dot there, so let it.
        return x.t().dot(&v);
    }
    let mut p = Array1::<f64>::zeros(x.ncols());
    if let (Some(a), Some(vs)) = (x.as_slice(), v.as_slice()) {
        // Four rows a pass over p, each entry's sum in row order: the same bits.
        struct Rows<'a> {
            a: &'a [f64],
            v: &'a [f64],
            p: &'a mut [f64],
        }
        impl pulp::WithSimd for Rows<'_> {
            type Output = ();
            #[inline(always)]
            fn with_simd<S: pulp::Simd>(self, simd: S) {
                let (m, n) = (self.v.len(), self.p.len());
                for i0 in (0..m).step_by(4) {
                    let r = (m - i0).min(4);
                    let rows = four_rows(self.a, n, i0, r);
                    let s: [f64; 4] =
                        core::array::from_fn(|j| if j < r { self.v[i0 + j] } else { 0.0 });
                    axpy_rows(simd, self.p, &rows, s, r);
                }
            }
        }
        pulp::Arch::new().dispatch(Rows {
            a,
            v: vs,
            p: p.as_slice_mut().expect("contiguous"),
        });
        return p;
    }
    for (row, &vi) in x.outer_iter().zip(v) {
        if vi != 0.0 {
            p.zip_mut_with(&row, |pj, &xij| *pj += xij * vi);
        }
    }
    p
}

/// `A·x` with the bits of ndarray's `a.dot(&x)` (no BLAS): each entry is ndarray's
/// unrolled dot of a row with x — eight running sums `p0..p7` over chunks of eight, each
/// a multiply then an add (never fused), combined as `0 + (p0+p4) + (p1+p5) + (p2+p6) +
/// (p3+p7)`, then the tail added one by one. Here the eight sums are the lanes of pulp
/// vectors (two AVX2 vectors, or eight scalars) and four rows share each load of x: at
/// 1123 × 1123 (KMM's kernel) 1.7× faster than ndarray (`cargo bench … same-bits`), with
/// the same results. A matrix whose rows are not contiguous is left to ndarray.
pub fn mat_vec(a: ArrayView2<'_, f64>, x: ndarray::ArrayView1<'_, f64>) -> Array1<f64> {
    assert_eq!(
        a.ncols(),
        x.len(),
        "mat_vec: A is {}×{}, x has {}",
        a.nrows(),
        a.ncols(),
        x.len()
    );
    let mut out = vec![0.0f64; a.nrows()];
    // The dots alone: no accumulator, each dot kept as it is.
    row_dots_axpy_dyn(a, x, &mut |d| d, &mut out, None);
    Array1::from(out)
}

/// One pass over the rows of `k` (m × n) for a scaling iteration such as Sinkhorn's: for
/// each row i in order, `u[i] = scale(k_i · v)`, the dot with the bits of ndarray's
/// `row.dot(&v)` (see [`mat_vec`]); then, where `u[i] ≠ 0`, `acc[j] += k_ij · u[i]` for
/// every j (a multiply, then an add). The same bits as doing it row by row with ndarray,
/// for any finite `k`; here four rows share each load of `v` and each pass over `acc`.
pub fn row_dots_axpy(
    k: ArrayView2<'_, f64>,
    v: ndarray::ArrayView1<'_, f64>,
    mut scale: impl FnMut(f64) -> f64,
    u: &mut [f64],
    acc: &mut [f64],
) {
    assert_eq!(
        acc.len(),
        k.ncols(),
        "row_dots_axpy: k is {}×{}, acc has {}",
        k.nrows(),
        k.ncols(),
        acc.len()
    );
    // Not generic below this point, so the kernel is compiled here (at this crate's
    // optimisation level) rather than in each caller.
    row_dots_axpy_dyn(k, v, &mut scale, u, Some(acc))
}

/// [`row_dots_axpy`] for a kernel held in single precision: `k` row-major with `u.len()`
/// rows of `v.len()`. Each entry is widened to f64 as it is read, and the dots, the scaled
/// rows and `acc` are f64, so only the kernel's storage is single precision: a sweep over
/// it moves half the bytes of an f64 kernel, which is what a memory-bound Sinkhorn sweep
/// costs. The dots are summed in eight lanes (two four-lane vectors a row, four rows a pass
/// sharing each load of `v`; scalar where the CPU lacks AVX2 + FMA), so the sums are not
/// ndarray's bits; `acc[j] += k_ij · u[i]` is fused per row, rows with `u[i] = 0` skipped.
pub fn row_dots_axpy_f32(
    k: &[f32],
    v: &[f64],
    mut scale: impl FnMut(f64) -> f64,
    u: &mut [f64],
    acc: &mut [f64],
) {
    let (m, n) = (u.len(), v.len());
    assert!(
        k.len() == m * n && acc.len() == n,
        "row_dots_axpy_f32: k has {} entries for {m}×{n}, acc has {}",
        k.len(),
        acc.len()
    );
    // Not generic below this point (see `row_dots_axpy`).
    row_dots_axpy_f32_dyn(k, v, &mut scale, u, acc)
}

fn row_dots_axpy_f32_dyn(
    k: &[f32],
    v: &[f64],
    scale: &mut dyn FnMut(f64) -> f64,
    u: &mut [f64],
    acc: &mut [f64],
) {
    let n = v.len();
    if n == 0 {
        for ui in u.iter_mut() {
            *ui = scale(0.0);
        }
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = pulp::x86::V3::try_new() {
        return simd.vectorize(DotsAxpyF32 {
            simd,
            k,
            v,
            scale,
            u,
            acc,
        });
    }
    dots_axpy_f32_scalar(k, v, scale, u, acc)
}

/// [`row_dots_axpy_f32`] without SIMD, `n = v.len()` > 0: the same operations in the same
/// order as [`DotsAxpyF32`], so the same bits.
fn dots_axpy_f32_scalar(
    k: &[f32],
    v: &[f64],
    scale: &mut dyn FnMut(f64) -> f64,
    u: &mut [f64],
    acc: &mut [f64],
) {
    for (row, ui) in k.chunks_exact(v.len()).zip(u.iter_mut()) {
        let mut lanes = [0.0f64; 8];
        for (q, (&kij, &vj)) in row.iter().zip(v).enumerate() {
            lanes[q % 8] = f64::from(kij).mul_add(vj, lanes[q % 8]);
        }
        let s = scale(eight_lanes(lanes));
        *ui = s;
        if s != 0.0 {
            for (t, &kij) in acc.iter_mut().zip(row) {
                *t = f64::from(kij).mul_add(s, *t);
            }
        }
    }
}

/// Eight lane sums added as ((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7)).
#[inline(always)]
fn eight_lanes(l: [f64; 8]) -> f64 {
    ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]))
}

/// [`row_dots_axpy_f32`] with AVX2 + FMA: entry q of a row goes to lane q mod 8, as in the
/// scalar loop, so both give the same bits.
#[cfg(target_arch = "x86_64")]
struct DotsAxpyF32<'a> {
    simd: pulp::x86::V3,
    k: &'a [f32],
    v: &'a [f64],
    scale: &'a mut dyn FnMut(f64) -> f64,
    u: &'a mut [f64],
    acc: &'a mut [f64],
}

#[cfg(target_arch = "x86_64")]
impl pulp::NullaryFnOnce for DotsAxpyF32<'_> {
    type Output = ();
    #[inline(always)]
    fn call(self) {
        use pulp::Simd;
        let simd = self.simd;
        let (n, m) = (self.v.len(), self.u.len());
        let (body, quad) = (n / 8 * 8, n / 4 * 4);
        let (vv, _) = <pulp::x86::V3 as Simd>::as_simd_f64s(&self.v[..body]);
        for i0 in (0..m).step_by(4) {
            let r = (m - i0).min(4);
            let rows = four_rows(self.k, n, i0, r);
            let rows4: [&[pulp::f32x4]; 4] =
                core::array::from_fn(|j| pulp::bytemuck::cast_slice(&rows[j][..quad]));
            let zero = simd.splat_f64x4(0.0);
            let mut lo = [zero; 4];
            let mut hi = [zero; 4];
            for (c, x) in vv.chunks_exact(2).enumerate() {
                for j in 0..4 {
                    let (a, b) = (rows4[j][2 * c], rows4[j][2 * c + 1]);
                    lo[j] = simd.mul_add_f64x4(simd.convert_f32x4_to_f64x4(a), x[0], lo[j]);
                    hi[j] = simd.mul_add_f64x4(simd.convert_f32x4_to_f64x4(b), x[1], hi[j]);
                }
            }
            let mut s = [0.0f64; 4];
            for j in 0..r {
                let (a, b): ([f64; 4], [f64; 4]) = (pulp::cast(lo[j]), pulp::cast(hi[j]));
                let mut lanes = [a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]];
                for q in body..n {
                    lanes[q % 8] = f64::from(rows[j][q]).mul_add(self.v[q], lanes[q % 8]);
                }
                s[j] = (self.scale)(eight_lanes(lanes));
                self.u[i0 + j] = s[j];
            }
            let (acc_body, acc_tail) = self.acc.split_at_mut(quad);
            let (acc4, _) = <pulp::x86::V3 as Simd>::as_mut_simd_f64s(acc_body);
            if r == 4 && s.iter().all(|&sj| sj != 0.0) {
                // The four rows in one pass over acc, row by row for each entry: the same
                // operations in the same order as the loop below.
                let sv: [pulp::f64x4; 4] = core::array::from_fn(|j| simd.splat_f64x4(s[j]));
                let [r0, r1, r2, r3] = rows4;
                let entries = acc4.iter_mut().zip(r0).zip(r1).zip(r2).zip(r3);
                for ((((t, &a0), &a1), &a2), &a3) in entries {
                    let mut x = simd.mul_add_f64x4(simd.convert_f32x4_to_f64x4(a0), sv[0], *t);
                    x = simd.mul_add_f64x4(simd.convert_f32x4_to_f64x4(a1), sv[1], x);
                    x = simd.mul_add_f64x4(simd.convert_f32x4_to_f64x4(a2), sv[2], x);
                    *t = simd.mul_add_f64x4(simd.convert_f32x4_to_f64x4(a3), sv[3], x);
                }
                for (q, t) in acc_tail.iter_mut().enumerate() {
                    for (row, &sj) in rows.iter().zip(&s) {
                        *t = f64::from(row[quad + q]).mul_add(sj, *t);
                    }
                }
                continue;
            }
            for j in 0..r {
                if s[j] == 0.0 {
                    continue;
                }
                let sj = simd.splat_f64x4(s[j]);
                for (t, &a) in acc4.iter_mut().zip(rows4[j]) {
                    *t = simd.mul_add_f64x4(simd.convert_f32x4_to_f64x4(a), sj, *t);
                }
                for (t, &kij) in acc_tail.iter_mut().zip(&rows[j][quad..]) {
                    *t = f64::from(kij).mul_add(s[j], *t);
                }
            }
        }
    }
}

/// [`row_dots_axpy`], or [`mat_vec`]'s dots alone when `acc` is `None`.
fn row_dots_axpy_dyn(
    k: ArrayView2<'_, f64>,
    v: ndarray::ArrayView1<'_, f64>,
    scale: &mut dyn FnMut(f64) -> f64,
    u: &mut [f64],
    mut acc: Option<&mut [f64]>,
) {
    let (m, n) = k.dim();
    assert!(
        v.len() == n && u.len() == m,
        "row_dots_axpy: k is {m}×{n}, v {}, u {}",
        v.len(),
        u.len()
    );
    let vectorised = match (k.as_slice(), v.as_slice()) {
        (Some(a), Some(x)) if m > 0 => pulp::Arch::new().dispatch(DotsAxpy {
            a,
            x,
            scale: &mut *scale,
            u: &mut *u,
            acc: acc.as_deref_mut(),
        }),
        _ => false,
    };
    if !vectorised {
        for (row, ui) in k.outer_iter().zip(u.iter_mut()) {
            let s = scale(row.dot(&v));
            *ui = s;
            match acc.as_deref_mut() {
                Some(acc) if s != 0.0 => {
                    for (pj, &kij) in acc.iter_mut().zip(&row) {
                        *pj += kij * s;
                    }
                }
                _ => {}
            }
        }
    }
}

/// The kernel behind [`row_dots_axpy`] and [`mat_vec`]: `a` row-major, `u.len()` rows of
/// `x.len()`. Its output says whether it ran (it does for pulp's 1, 2, 4 and 8 lanes).
struct DotsAxpy<'a> {
    a: &'a [f64],
    x: &'a [f64],
    scale: &'a mut dyn FnMut(f64) -> f64,
    u: &'a mut [f64],
    acc: Option<&'a mut [f64]>,
}

impl pulp::WithSimd for DotsAxpy<'_> {
    type Output = bool;
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) -> bool {
        match S::F64_LANES {
            1 => dots_axpy::<S, 8>(simd, self),
            2 => dots_axpy::<S, 4>(simd, self),
            4 => dots_axpy::<S, 2>(simd, self),
            8 => dots_axpy::<S, 1>(simd, self),
            _ => return false,
        }
        true
    }
}

/// Rows `i0 .. i0 + r` (r ≤ 4) of a row-major matrix with rows of `n`; the slots past the
/// last row repeat it (their results are dropped).
fn four_rows<T>(a: &[T], n: usize, i0: usize, r: usize) -> [&[T]; 4] {
    core::array::from_fn(|j| &a[(i0 + j.min(r - 1)) * n..][..n])
}

/// ndarray's eight running sums of a row's dot (`NV` vectors of `8 / NV` lanes) for four
/// rows at once, each row's finished as ndarray finishes it (see [`mat_vec`]).
#[inline(always)]
fn unrolled_dots4<S: pulp::Simd, const NV: usize>(
    simd: S,
    rows: &[&[f64]; 4],
    x: &[f64],
) -> [f64; 4] {
    let whole = x.len() / 8 * 8;
    let (xv, _) = S::as_simd_f64s(&x[..whole]);
    let rv: [&[S::f64s]; 4] = core::array::from_fn(|j| S::as_simd_f64s(&rows[j][..whole]).0);
    let mut acc = [[simd.splat_f64s(0.0); NV]; 4];
    for (c, xc) in xv.chunks_exact(NV).enumerate() {
        for (a, rvj) in acc.iter_mut().zip(&rv) {
            for ((s, &av), &xe) in a.iter_mut().zip(&rvj[c * NV..][..NV]).zip(xc) {
                *s = simd.add_f64s(*s, simd.mul_f64s(av, xe));
            }
        }
    }
    core::array::from_fn(|j| {
        let p: &[f64] = pulp::bytemuck::cast_slice(acc[j].as_slice());
        let mut s = 0.0f64;
        s += p[0] + p[4];
        s += p[1] + p[5];
        s += p[2] + p[6];
        s += p[3] + p[7];
        for (&a, &b) in rows[j][whole..].iter().zip(&x[whole..]) {
            s += a * b;
        }
        s
    })
}

/// Four rows at a time of [`row_dots_axpy`].
#[inline(always)]
fn dots_axpy<S: pulp::Simd, const NV: usize>(simd: S, mut k: DotsAxpy<'_>) {
    let (n, m) = (k.x.len(), k.u.len());
    for i0 in (0..m).step_by(4) {
        let r = (m - i0).min(4);
        let rows = four_rows(k.a, n, i0, r);
        let dots = unrolled_dots4::<S, NV>(simd, &rows, k.x);
        let mut s = [0.0f64; 4];
        for j in 0..r {
            s[j] = (k.scale)(dots[j]);
            k.u[i0 + j] = s[j];
        }
        if let Some(acc) = k.acc.as_deref_mut() {
            axpy_rows(simd, acc, &rows, s, r);
        }
    }
}

/// `acc[j] += rows[i][j] · s[i]` for the first `r` rows in order (a multiply, then an add),
/// rows whose `s` is 0 skipped — in one pass over `acc` when all four rows take part.
#[inline(always)]
fn axpy_rows<S: pulp::Simd>(simd: S, acc: &mut [f64], rows: &[&[f64]; 4], s: [f64; 4], r: usize) {
    let n = acc.len();
    if r == 4 && s.iter().all(|&sj| sj != 0.0) {
        let body = n / S::F64_LANES * S::F64_LANES;
        let sv: [S::f64s; 4] = core::array::from_fn(|j| simd.splat_f64s(s[j]));
        let rv: [&[S::f64s]; 4] = core::array::from_fn(|j| S::as_simd_f64s(&rows[j][..body]).0);
        let (accv, _) = S::as_mut_simd_f64s(&mut acc[..body]);
        let [r0, r1, r2, r3] = rv;
        let [s0, s1, s2, s3] = sv;
        for ((((t, &a0), &a1), &a2), &a3) in accv.iter_mut().zip(r0).zip(r1).zip(r2).zip(r3) {
            let mut v = simd.add_f64s(*t, simd.mul_f64s(a0, s0));
            v = simd.add_f64s(v, simd.mul_f64s(a1, s1));
            v = simd.add_f64s(v, simd.mul_f64s(a2, s2));
            *t = simd.add_f64s(v, simd.mul_f64s(a3, s3));
        }
        for (jj, t) in acc[body..].iter_mut().enumerate() {
            for j in 0..4 {
                *t += rows[j][body + jj] * s[j];
            }
        }
    } else {
        for j in 0..r {
            if s[j] != 0.0 {
                for (pj, &kij) in acc.iter_mut().zip(rows[j]) {
                    *pj += kij * s[j];
                }
            }
        }
    }
}

/// matrixmultiply's k-block for f64 (its `D_KC`): ndarray's `dot` of two f64 matrices runs
/// matrixmultiply's dgemm, which gives each entry of `A·B` as the sum, block after block
/// in k order, of fused multiply-add chains over 256 consecutive k (its FMA kernel, chosen
/// on every x86-64 CPU with FMA).
const MM_KC: usize = 256;

/// A fixed m × k design, packed for repeated thin products `x · w` and `xᵀ · z` (w k × n,
/// z m × n, n small) with the bits of ndarray's `x.dot(&w)` and `x.t().dot(&z)` on an FMA
/// machine (matrixmultiply's 256-long chains, the same block order). An iterative solver
/// over a fixed design (the logistic regression's L-BFGS) makes it once and multiplies by
/// it at every evaluation, where ndarray would pack x anew each time.
///
/// Each product's vector lanes run over consecutive output rows (rows of x for `x · w`,
/// columns of x for `xᵀ · z`), with each column of the thin factor broadcast, so every
/// lane of every fused multiply-add is used whatever n is. For that, x is held twice, in
/// panels of four rows and of four columns, each panel read in one sequential stream: 16
/// bytes per entry of x on top of x itself (a 1,000-feature design of 100,000 rows takes
/// 1.6 GB more while its fit runs). The fused multiply-add is exactly rounded wherever it
/// runs (pulp's AVX2 + FMA path, or `f64::mul_add` in the scalar fallback), so the result
/// does not depend on the CPU.
#[derive(Debug, Clone)]
pub struct ThinDesign {
    m: usize,
    k: usize,
    /// Panels of 4 rows: `by_rows[(p · k + t) · 4 + l] = x[4p + l][t]` (0 past the last row).
    by_rows: Vec<f64>,
    /// Panels of 4 columns: `by_cols[(p · m + t) · 4 + l] = x[t][4p + l]`.
    by_cols: Vec<f64>,
}

/// Rows (or columns) of x per panel: one AVX2 vector of f64.
const PANEL: usize = 4;

impl ThinDesign {
    pub fn new(x: ArrayView2<'_, f64>) -> Self {
        let (m, k) = x.dim();
        let mut by_rows = vec![0.0; m.div_ceil(PANEL) * k * PANEL];
        let mut by_cols = vec![0.0; k.div_ceil(PANEL) * m * PANEL];
        for ((i, j), &v) in x.indexed_iter() {
            by_rows[((i / PANEL) * k + j) * PANEL + i % PANEL] = v;
            by_cols[((j / PANEL) * m + i) * PANEL + j % PANEL] = v;
        }
        Self {
            m,
            k,
            by_rows,
            by_cols,
        }
    }

    /// `x · w` (m × n).
    ///
    /// # Panics
    /// When w does not have k rows (a caller's bug: both are sized from the same problem).
    pub fn dot(&self, w: ArrayView2<'_, f64>) -> Array2<f64> {
        assert_eq!(
            w.nrows(),
            self.k,
            "ThinDesign::dot: x has {} columns",
            self.k
        );
        panel_product(&self.by_rows, self.m, self.k, w)
    }

    /// `xᵀ · z` (k × n).
    ///
    /// # Panics
    /// When z does not have m rows.
    pub fn t_dot(&self, z: ArrayView2<'_, f64>) -> Array2<f64> {
        assert_eq!(
            z.nrows(),
            self.m,
            "ThinDesign::t_dot: x has {} rows",
            self.m
        );
        panel_product(&self.by_cols, self.k, self.m, z)
    }
}

/// `out[g][j] = Σ_t a(g, t) · b[t][j]` (groups × n) for `a` in panels of [`PANEL`] groups,
/// `chain` long: each entry a fused multiply-add chain from zero over each [`MM_KC`]-long
/// block of t, the blocks' chains added in order — matrixmultiply's arithmetic.
fn panel_product(a: &[f64], groups: usize, chain: usize, b: ArrayView2<'_, f64>) -> Array2<f64> {
    let n = b.ncols();
    let b = b.as_standard_layout();
    let mut out = vec![0.0f64; groups * n];
    if n > 0 && groups > 0 && chain > 0 {
        pulp::Arch::new().dispatch(Panels {
            a,
            b: b.as_slice().expect("standard layout"),
            out: &mut out,
            groups,
            chain,
            n,
        });
    }
    Array2::from_shape_vec((groups, n), out).expect("groups × n")
}

struct Panels<'a> {
    a: &'a [f64],
    b: &'a [f64],
    out: &'a mut [f64],
    groups: usize,
    chain: usize,
    n: usize,
}

/// Columns a register tile holds: 4 panels × ≤ 3 columns or 2 × ≤ 6, at most 12
/// accumulators of AVX2's 16 registers. Two panels a tile load two vectors of x for every
/// broadcast column value (one panel × 10 columns was 1.7× slower at n = 10).
const TILE_COLS: usize = 6;

impl pulp::WithSimd for Panels<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) {
        let p = TileArgs {
            a: self.a,
            b: self.b,
            chain: self.chain,
            n: self.n,
        };
        let (groups, out) = (self.groups, self.out);
        let panels = groups.div_ceil(PANEL);
        for (block, t0) in (0..p.chain).step_by(MM_KC).enumerate() {
            let t1 = (t0 + MM_KC).min(p.chain);
            // Stores a tile's chain for group g, column c, or adds it after the first block.
            let mut put = |g: usize, c: usize, v: f64| {
                if g < groups {
                    let o = &mut out[g * p.n + c];
                    *o = if block == 0 { v } else { *o + v };
                }
            };
            if S::F64_LANES != PANEL {
                // No 4-lane vectors here: scalar chains, the same arithmetic.
                for g in 0..groups {
                    for c in 0..p.n {
                        let mut s = 0.0f64;
                        for t in t0..t1 {
                            let x = p.a[((g / PANEL) * p.chain + t) * PANEL + g % PANEL];
                            s = x.mul_add(p.b[t * p.n + c], s);
                        }
                        put(g, c, s);
                    }
                }
                continue;
            }
            // Columns in equal chunks of at most TILE_COLS (10 as 5 + 5), all chunks of a
            // tile while its panels' block is in the L1 cache.
            let chunk = p.n.div_ceil(p.n.div_ceil(TILE_COLS));
            let gv = if chunk <= 3 { 4 } else { 2 };
            let mut p0 = 0;
            while p0 < panels {
                // A full tile of `gv` panels, or single panels at the end.
                let tile = if panels - p0 >= gv { gv } else { 1 };
                for c0 in (0..p.n).step_by(chunk) {
                    let nc = (p.n - c0).min(chunk);
                    let at = (p0, c0, t0, t1);
                    macro_rules! tile {
                        ($($gv:literal, $nc:literal);*) => {
                            match (tile, nc) {
                                $(($gv, $nc) => {
                                    let acc = panel_tile::<S, $gv, $nc>(simd, &p, at);
                                    let flat: &[f64] = pulp::bytemuck::cast_slice(&acc);
                                    for c in 0..$nc {
                                        for i in 0..$gv * PANEL {
                                            put(p0 * PANEL + i, c0 + c, flat[c * $gv * PANEL + i]);
                                        }
                                    }
                                })*
                                _ => unreachable!("tile {tile} × {nc}"),
                            }
                        };
                    }
                    tile!(4, 1; 4, 2; 4, 3;
                          2, 1; 2, 2; 2, 3; 2, 4; 2, 5; 2, 6;
                          1, 1; 1, 2; 1, 3; 1, 4; 1, 5; 1, 6);
                }
                p0 += tile;
            }
        }
    }
}

/// What a [`panel_tile`] reads: the panels, the thin factor, its width n.
struct TileArgs<'a> {
    a: &'a [f64],
    b: &'a [f64],
    chain: usize,
    n: usize,
}

/// `GV` panels × `NC` columns of fused multiply-add chains over `t0..t1`, from panel `p0`
/// and column `c0` (`at`), kept in registers: `acc[c][v]` holds column `c0 + c` of panel
/// `p0 + v`. Needs 4-lane vectors.
#[inline(always)]
fn panel_tile<S: pulp::Simd, const GV: usize, const NC: usize>(
    simd: S,
    p: &TileArgs<'_>,
    (p0, c0, t0, t1): (usize, usize, usize, usize),
) -> [[S::f64s; GV]; NC] {
    let mut acc = [[simd.splat_f64s(0.0); GV]; NC];
    let streams: [&[f64]; GV] =
        core::array::from_fn(|v| &p.a[(p0 + v) * p.chain * PANEL..][..p.chain * PANEL]);
    for t in t0..t1 {
        let x: [S::f64s; GV] =
            core::array::from_fn(|v| S::as_simd_f64s(&streams[v][t * PANEL..][..PANEL]).0[0]);
        let brow = &p.b[t * p.n + c0..][..NC];
        for (col, &bc) in acc.iter_mut().zip(brow) {
            let bv = simd.splat_f64s(bc);
            for (c, &xg) in col.iter_mut().zip(&x) {
                *c = simd.mul_add_f64s(xg, bv, *c);
            }
        }
    }
    acc
}

/// An LU factorisation (partial pivoting) kept for repeated solves with the same matrix.
pub struct Lu(faer::linalg::solvers::PartialPivLu<f64>);

impl Lu {
    /// Factors the square matrix `a`.
    pub fn new(a: ArrayView2<'_, f64>) -> Result<Self> {
        square("Lu::new", a)?;
        Ok(Self(with_faer(a, |m| m.partial_piv_lu())))
    }

    /// Solves `A X = B`; an error if `B` has the wrong row count or A is singular.
    pub fn solve(&self, b: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        let n = self.0.nrows();
        if b.nrows() != n {
            return Err(CoreError::Shape {
                context: "Lu::solve".into(),
                detail: format!("A is {n}×{n} but B has {} rows", b.nrows()),
            });
        }
        let x = with_faer(b, |rhs| self.0.solve(rhs));
        if !x.as_ref().is_all_finite() {
            return Err(CoreError::Linalg("solve: matrix is singular".into()));
        }
        Ok(to_ndarray(x.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn unrolled_sum_has_ndarrays_bits() {
        // Lengths 0..=40 and one of a 1123 × 958 coupling's size, values of mixed sign and
        // magnitude: the same bits as materialising them and summing with ndarray.
        let mut rnd = lcg(0x2545_f491_4f6c_dd1d);
        for n in (0..=40).chain([1123 * 958 + 5]) {
            let v: Vec<f64> = (0..n).map(|_| rnd() * 10f64.powf(6.0 * rnd())).collect();
            let want = Array1::from(v.clone()).sum();
            assert_eq!(unrolled_sum(n, |i| v[i]).to_bits(), want.to_bits(), "n {n}");
            // A left-to-right sum differs for the long one (so the test can fail).
            if n > 1000 {
                assert_ne!(v.iter().fold(0.0, |a, b| a + b).to_bits(), want.to_bits());
            }
        }
    }

    #[test]
    fn dot_slices_has_ndarrays_bits() {
        // Every length from 0 to 40 (no chunk, whole chunks, every tail length), values of
        // mixed sign and magnitude so that the summation order shows in the last bits.
        let mut rnd = lcg(11);
        for n in 0..=40 {
            for _ in 0..20 {
                let a = Array1::from_shape_fn(n, |_| rnd() * 10f64.powf(8.0 * rnd()));
                let b = Array1::from_shape_fn(n, |_| rnd() * 10f64.powf(8.0 * rnd()));
                let want = a.dot(&b);
                let got = dot_slices(a.as_slice().unwrap(), b.as_slice().unwrap());
                assert_eq!(got.to_bits(), want.to_bits(), "length {n}");
            }
        }
        // A plain left-to-right sum differs somewhere among these (so the test can fail).
        let mut rnd = lcg(11);
        let differs = (0..200).any(|_| {
            let a: Vec<f64> = (0..20).map(|_| rnd() * 10f64.powf(8.0 * rnd())).collect();
            let b: Vec<f64> = (0..20).map(|_| rnd() * 10f64.powf(8.0 * rnd())).collect();
            let plain = a.iter().zip(&b).fold(0.0, |s, (x, y)| s + x * y);
            plain.to_bits() != dot_slices(&a, &b).to_bits()
        });
        assert!(differs);
    }

    /// A seeded stream of uniform values in [−0.5, 0.5) (Knuth's MMIX LCG, top 53 bits).
    fn lcg(seed: u64) -> impl FnMut() -> f64 {
        let mut state = seed;
        move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        }
    }

    #[test]
    fn inverse_iteration_gives_the_top_eigenpairs() {
        // The inverse-iteration route against faer's full decomposition: random symmetric
        // matrices (800 × 800, want 100, as JDA on SURF; 300 × 300, want 64), and one with
        // clustered and repeated eigenvalues (Q diag(λ) Qᵀ, λ in five tight groups and an
        // exactly repeated one). Every returned pair must have a residual
        // ‖Av − λv‖ ≤ 1e-11 ‖A‖, the columns must be orthonormal to 1e-11, and where an
        // eigenvalue is separated from its neighbours by 1e-6 ‖A‖ its vector must be the
        // full decomposition's up to sign (|cos| ≥ 1 − 1e-10).
        let mut rnd = lcg(11);
        let mut cases = Vec::new();
        for n in [800, 300] {
            let g = Mat::<f64>::from_fn(n, n, |_, _| rnd());
            cases.push(Mat::<f64>::from_fn(n, n, |i, j| g[(i, j)] + g[(j, i)]));
        }
        let n = 300;
        let g = Mat::<f64>::from_fn(n, n, |_, _| rnd());
        let q = g.qr().compute_thin_Q();
        let lam: Vec<f64> = (0..n)
            .map(|i| match i % 6 {
                5 => 3.0,
                r => r as f64 + 1e-9 * (i as f64),
            })
            .collect();
        let ql = Mat::<f64>::from_fn(n, n, |i, j| q[(i, j)] * lam[j]);
        cases.push(&ql * q.transpose());
        // All eigenvalues equal: the identity, and the zero matrix.
        cases.push(Mat::<f64>::identity(n, n));
        cases.push(Mat::<f64>::zeros(n, n));
        for a in &cases {
            let n = a.nrows();
            let want = if n == 800 { 100 } else { 64 };
            let norm = (0..n)
                .map(|i| (0..n).map(|j| a[(i, j)].abs()).sum::<f64>())
                .fold(0.0, f64::max);
            let full = a.self_adjoint_eigen(Side::Lower).unwrap();
            let s = full.S().column_vector();
            let (vals, v) =
                sym_eigh_top_with(a.as_ref(), want, TridiagVectors::InverseIteration).unwrap();
            assert_eq!((v.nrows(), v.ncols(), vals.len()), (n, want, want));
            for (i, v) in vals.iter().enumerate() {
                let t = s[n - want + i];
                assert!(
                    (v - t).abs() <= 1e-12 * norm + 4.0 * f64::MIN_POSITIVE,
                    "n {n}: eigenvalue {i}: {v} vs {t}"
                );
            }
            let av = a * &v;
            for j in 0..want {
                let lam = vals[j];
                let res = (0..n)
                    .map(|i| (av[(i, j)] - lam * v[(i, j)]).powi(2))
                    .sum::<f64>()
                    .sqrt();
                assert!(
                    res <= 1e-11 * norm.max(1e-300),
                    "n {n}: residual {res} of pair {j}"
                );
                for l in 0..want {
                    let dot: f64 = (0..n).map(|i| v[(i, j)] * v[(i, l)]).sum();
                    let want_dot = if j == l { 1.0 } else { 0.0 };
                    assert!(
                        (dot - want_dot).abs() <= 1e-11,
                        "n {n}: vᵀv [{j}, {l}] = {dot}"
                    );
                }
                let col = n - want + j;
                let gap = [col.wrapping_sub(1), col + 1]
                    .iter()
                    .filter(|&&c| c < n)
                    .map(|&c| (s[c] - s[col]).abs())
                    .fold(f64::INFINITY, f64::min);
                if gap > 1e-6 * norm {
                    let cos: f64 = (0..n).map(|i| v[(i, j)] * full.U()[(i, col)]).sum();
                    assert!(cos.abs() >= 1.0 - 1e-10, "n {n}: pair {j}, cos {cos}");
                }
            }
        }
    }

    #[test]
    fn top_eigenpairs_are_the_full_decompositions_columns() {
        // Random symmetric matrices (a seeded LCG). The partial back-transformation must
        // give faer's full `self_adjoint_eigen` eigenvalues exactly (the same
        // tridiagonalisation and divide and conquer) and its last `want` eigenvectors to
        // rounding. On the development machine (AVX-512) the columns are bit for bit the
        // same wherever `sym_eigh_top` takes this path (see there); below that faer's
        // product takes other kernels for a narrow block (e.g. n 800, want ≤ 28) and the
        // last bits move. gemm's blocking follows the CPU's caches, so bits are not
        // asserted here, closeness is.
        let mut rnd = lcg(7);
        for (n, want) in [(5, 2), (40, 7), (256, 64), (300, 1), (800, 100), (801, 20)] {
            let g = Mat::<f64>::from_fn(n, n, |_, _| rnd());
            let a = Mat::<f64>::from_fn(n, n, |i, j| g[(i, j)] + g[(j, i)]);
            let full = a.self_adjoint_eigen(Side::Lower).unwrap();
            let (vals, top) =
                sym_eigh_top_partial(a.as_ref(), want, TridiagVectors::DivideAndConquer).unwrap();
            let s = full.S().column_vector();
            for (i, v) in vals.iter().enumerate() {
                assert_eq!(v.to_bits(), s[i].to_bits(), "n {n}: eigenvalue {i}");
            }
            assert_eq!((top.nrows(), top.ncols()), (n, want));
            for j in 0..want {
                for i in 0..n {
                    let d = (top[(i, j)] - full.U()[(i, n - want + j)]).abs();
                    assert!(d < 1e-12, "n {n}, want {want}: U[{i}, {j}] off by {d}");
                }
            }
        }
    }

    #[test]
    fn matmul_agrees_with_ndarray_dot_in_every_transpose() {
        let a = Array2::from_shape_fn((5, 3), |(i, j)| (i * 3 + j) as f64 - 4.0);
        let b = Array2::from_shape_fn((3, 4), |(i, j)| (i as f64 + 1.0) / (j as f64 + 2.0));
        let bt = b.t().to_owned();
        let at = a.t().to_owned();
        let want = a.dot(&b);
        for got in [
            matmul(a.view(), false, b.view(), false).unwrap(),
            matmul(a.view(), false, bt.view(), true).unwrap(),
            matmul(at.view(), true, b.view(), false).unwrap(),
            matmul(at.view(), true, bt.view(), true).unwrap(),
        ] {
            assert!((&got - &want).iter().all(|d| d.abs() < 1e-12));
        }
        assert!(matmul(a.view(), false, a.view(), false).is_err());
    }

    /// The axes of a wide matrix (n < d) through the Gram matrix against the scatter's
    /// decomposition: each axis equal up to sign (to 1e-9, the spectrum being well
    /// separated: column scales 1/(j+1)), orthonormal, and largest variance first. A rank
    /// below `dim` (rows repeated) falls back to the d route, which is taken verbatim.
    #[test]
    fn principal_axes_through_the_gram_matrix_match_the_scatter() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let (n, d, dim) = (40, 120, 12);
        let x = Array2::from_shape_fn((n, d), |(_, j)| rng.gen_range(-1.0..1.0) / (j as f64 + 1.0));
        assert!(gram_route_is_cheaper(n, d));
        let got = principal_axes(x.view(), dim).unwrap();
        let c = centred_rows(x.view()).unwrap();
        let (_, vecs) = sym_eigh(matmul(c.view(), true, c.view(), false).unwrap().view()).unwrap();
        for j in 0..dim {
            let want = vecs.column(d - 1 - j);
            let sign = got.column(j).dot(&want).signum();
            let off = got
                .column(j)
                .iter()
                .zip(want)
                .fold(0.0f64, |m, (a, b)| m.max((a - sign * b).abs()));
            assert!(off < 1e-9, "axis {j} off by {off}");
        }
        let gram = got.t().dot(&got);
        assert!((&gram - &Array2::<f64>::eye(dim))
            .iter()
            .all(|v| v.abs() < 1e-12));
        // Rank 4 (four distinct rows, repeated): 6 axes cannot all come from the data.
        let low = Array2::from_shape_fn((n, d), |(i, j)| x[(i % 4, j)]);
        let fallback = principal_axes(low.view(), 6).unwrap();
        let c = centred_rows(low.view()).unwrap();
        let (_, vecs) = sym_eigh(matmul(c.view(), true, c.view(), false).unwrap().view()).unwrap();
        for j in 0..6 {
            assert_eq!(fallback.column(j), vecs.column(d - 1 - j));
        }
    }

    /// `lu_basis` spans its input's columns, with entries at most 1 (the rows put back in
    /// the input's order: a wrong permutation would not span them), and stays finite when
    /// a column repeats another (an exact zero pivot).
    #[test]
    fn lu_basis_spans_the_columns() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let a = Mat::<f32>::from_fn(50, 5, |_, _| rng.gen_range(-1.0f32..1.0));
        let mut twice = a.clone();
        for i in 0..50 {
            twice[(i, 3)] = twice[(i, 1)];
        }
        for m in [a, twice] {
            let basis = lu_basis(m.clone());
            assert!(basis.is_all_finite());
            assert!((0..50).all(|i| (0..5).all(|j| basis[(i, j)].abs() <= 1.0)));
            let q = basis.qr().compute_thin_Q();
            let resid = &m - &q * (q.transpose() * &m);
            let worst = (0..50)
                .flat_map(|i| (0..5).map(move |j| (i, j)))
                .map(|(i, j)| resid[(i, j)].abs())
                .fold(0.0f32, f32::max);
            assert!(worst < 1e-5, "residual {worst}");
        }
    }

    /// On data with a decaying spectrum (300 × 80, column scales 1/(j+1)), the randomized
    /// axes span the exact leading 10: every cosine of the principal angles between the
    /// two subspaces (the singular values of `P_exactᵀ P_rand`) is above 1 − 1e-6 (seen: the
    /// smallest 1 − 1.0e-7, at the 10th axis where the spectrum decays slowest); the axes
    /// are orthonormal; a seed gives the same axes; bad `dim` is an error. (The f32 range
    /// finder with LU normalisers gave the same cosines to three digits as the f64 one with
    /// thin QRs, for seeds 0–7 here: 1 − 4e-8 to 1 − 2.4e-6, both; the spread is the draw of
    /// the test matrix, not the precision.)
    #[test]
    fn randomized_principal_axes_span_the_exact_ones() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let x = Array2::from_shape_fn((300, 80), |(_, j)| {
            rng.gen_range(-1.0..1.0) / (j as f64 + 1.0)
        });
        let exact = principal_axes(x.view(), 10).unwrap();
        let rand = principal_axes_randomized(x.view(), 10, 4, 0).unwrap();
        let (_, cosines, _) = svd(exact.t().dot(&rand).view()).unwrap();
        assert!(
            cosines.iter().all(|&c| c > 1.0 - 1e-6),
            "principal-angle cosines {cosines}"
        );
        let gram = rand.t().dot(&rand);
        assert!(close(&gram, &Array2::eye(10), 1e-12));
        assert_eq!(rand, principal_axes_randomized(x.view(), 10, 4, 0).unwrap());
        assert!(principal_axes_randomized(x.view(), 81, 4, 0).is_err());
        assert!(principal_axes_randomized(x.view(), 0, 4, 0).is_err());
    }

    fn close(a: &Array2<f64>, b: &Array2<f64>, tol: f64) -> bool {
        a.shape() == b.shape() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < tol)
    }

    #[test]
    fn eigh_reconstructs_and_matches_numpy() {
        // np.linalg.eigh([[2,1,0],[1,2,1],[0,1,2]])[0] -> [2-sqrt(2), 2, 2+sqrt(2)]
        let a = array![[2.0, 1.0, 0.0], [1.0, 2.0, 1.0], [0.0, 1.0, 2.0]];
        let (w, v) = sym_eigh(a.view()).unwrap();
        let s2 = 2f64.sqrt();
        assert!(
            (w[0] - (2.0 - s2)).abs() < 1e-12
                && (w[1] - 2.0).abs() < 1e-12
                && (w[2] - (2.0 + s2)).abs() < 1e-12
        );
        let rec = v.dot(&Array2::from_diag(&w)).dot(&v.t());
        assert!(close(&rec, &a, 1e-12));
    }

    #[test]
    fn cholesky_svd_solve() {
        let a = array![[4.0, 2.0], [2.0, 3.0]];
        let l = cholesky(a.view()).unwrap();
        assert!(close(&l.dot(&l.t()), &a, 1e-12));
        assert!(l[(0, 1)] == 0.0);
        let x = solve(a.view(), array![[2.0], [1.0]].view()).unwrap();
        assert!(close(&a.dot(&x), &array![[2.0], [1.0]], 1e-12));
        let m = array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]];
        let (u, s, vt) = svd(m.view()).unwrap();
        // np.linalg.svd(m)[1] -> [9.52551809, 0.51430058]
        assert!((s[0] - 9.525_518_09).abs() < 1e-7 && (s[1] - 0.514_300_58).abs() < 1e-7);
        assert!(close(&u.dot(&Array2::from_diag(&s)).dot(&vt), &m, 1e-12));
        assert!(cholesky(array![[1.0, 2.0], [2.0, 1.0]].view()).is_err());
        assert!(solve(
            array![[1.0, 2.0], [2.0, 4.0]].view(),
            array![[1.0], [1.0]].view()
        )
        .is_err());
    }

    #[test]
    fn generalised_eigh_matches_scipy() {
        // scipy.linalg.eigh([[2,1],[1,3]], [[2,0],[0,1]], eigvals_only=True) -> [0.77525513, 3.22474487]
        let a = array![[2.0, 1.0], [1.0, 3.0]];
        let b = array![[2.0, 0.0], [0.0, 1.0]];
        let (w, v) = sym_gen_eigh(a.view(), b.view()).unwrap();
        assert!((w[0] - 0.775_255_13).abs() < 1e-8 && (w[1] - 3.224_744_87).abs() < 1e-8);
        let lhs = a.dot(&v);
        let rhs = b.dot(&v).dot(&Array2::from_diag(&w));
        assert!(close(&lhs, &rhs, 1e-10));
    }

    /// The low-rank solver returns the generalised pairs the dense one does: on a random
    /// rank-deficient PSD B (60 × 60 from 40 samples) and A = 0.5 I + P Pᵀ with P 60 × 4,
    /// the 10 largest ν agree to 1e-10 relative and the unit eigenvectors up to sign to
    /// 1e-8; each pair satisfies B w = ν A w. Bad shapes and λ ≤ 0 are errors.
    #[test]
    fn low_rank_generalised_eigh_matches_the_dense_solver() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let x = Array2::from_shape_fn((40, 60), |_| rng.gen_range(-1.0..1.0));
        let b = x.t().dot(&x);
        let p = Array2::from_shape_fn((60, 4), |_| rng.gen_range(-1.0..1.0));
        let lambda = 0.5;
        let a = Array2::eye(60) * lambda + p.dot(&p.t());
        let (dense_vals, dense_vecs) = sym_gen_eigh(b.view(), a.view()).unwrap();
        let (vals, vecs) = sym_gen_eigh_low_rank(b.view(), lambda, p.view(), 10).unwrap();
        for j in 0..10 {
            let want = dense_vals[59 - j];
            assert!((vals[j] - want).abs() <= 1e-10 * want.abs(), "ν_{j}");
            let d = dense_vecs.column(59 - j);
            let d = &d / d.dot(&d).sqrt();
            let w = vecs.column(j);
            let sign = d.dot(&w).signum();
            assert!(
                d.iter().zip(&w).all(|(x, y)| (x - sign * y).abs() < 1e-8),
                "w_{j}"
            );
            let resid = &b.dot(&w) - &(a.dot(&w) * vals[j]);
            assert!(resid.iter().all(|r| r.abs() < 1e-9), "residual {j}");
        }
        assert!(sym_gen_eigh_low_rank(b.view(), 0.0, p.view(), 3).is_err());
        assert!(sym_gen_eigh_low_rank(b.view(), 1.0, p.slice(ndarray::s![..5, ..]), 3).is_err());
        assert!(sym_gen_eigh_low_rank(b.view(), 1.0, p.view(), 61).is_err());
    }

    #[test]
    fn a_kept_lu_solves_like_solve() {
        let a = array![[4.0, 1.0, 0.0], [2.0, 5.0, 1.0], [0.0, 1.0, 3.0]];
        let b = array![[1.0, 0.0], [2.0, 1.0], [3.0, -1.0]];
        let lu = Lu::new(a.view()).unwrap();
        assert!(close(
            &lu.solve(b.view()).unwrap(),
            &solve(a.view(), b.view()).unwrap(),
            1e-14
        ));
        assert!(close(&a.dot(&lu.solve(b.view()).unwrap()), &b, 1e-12));
        assert!(lu.solve(b.slice(ndarray::s![..2, ..])).is_err());
        assert!(Lu::new(array![[1.0, 2.0], [2.0, 4.0]].view())
            .unwrap()
            .solve(b.slice(ndarray::s![..2, ..]))
            .is_err());
    }

    /// Marsaglia's xorshift64 (13, 7, 17): a seeded stream of 64-bit words.
    fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }

    /// `mat_vec` gives the same bits as ndarray's `a.dot(&x)` — row lengths with and
    /// without a tail, row counts not a multiple of four, a transposed (non-contiguous)
    /// matrix and a strided x (both left to ndarray), negative zeros and large ranges.
    #[test]
    fn mat_vec_has_the_bits_of_ndarrays_dot() {
        let mut bits64 = xorshift(0x9E37_79B9_7F4A_7C15);
        let mut next = move || {
            let r = bits64();
            ((r >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 10f64.powi((r % 7) as i32 - 3)
        };
        for (m, n) in [
            (1, 1),
            (3, 7),
            (4, 8),
            (5, 9),
            (9, 16),
            (13, 100),
            (37, 803),
            (2, 0),
        ] {
            let a = Array2::from_shape_simple_fn((m, n), &mut next);
            let x = Array1::from_shape_simple_fn(n, &mut next);
            let got = mat_vec(a.view(), x.view());
            let want = a.dot(&x);
            let bits = |v: &Array1<f64>| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "{m}×{n}");
            let at = a.t().to_owned();
            assert_eq!(
                bits(&mat_vec(at.t(), x.view())),
                bits(&at.t().dot(&x)),
                "{m}×{n} transposed"
            );
        }
        let a = Array2::from_shape_simple_fn((6, 10), &mut next);
        let xs = Array1::from_shape_simple_fn(20, &mut next);
        let x = xs.slice(ndarray::s![..;2]);
        assert_eq!(mat_vec(a.view(), x), a.dot(&x));
        let z = Array2::from_elem((2, 9), -0.0);
        assert_eq!(
            mat_vec(z.view(), Array1::from_elem(9, 1.0).view()),
            z.dot(&Array1::from_elem(9, 1.0))
        );
    }

    /// Kernel shapes for the sweep tests: with and without tails of every length, row
    /// counts not a multiple of four.
    const SWEEP_SHAPES: [(usize, usize); 7] = [
        (1, 1),
        (3, 7),
        (4, 8),
        (6, 9),
        (9, 17),
        (13, 100),
        (37, 803),
    ];

    /// Uniform values in [0, 1) from `xorshift(seed)`'s top 53 bits.
    fn unit_uniform(seed: u64) -> impl FnMut() -> f64 {
        let mut bits64 = xorshift(seed);
        move || (bits64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `row_dots_axpy` gives the bits of the row-by-row ndarray loop it replaces (the
    /// Sinkhorn sweep's), with rows whose scale is zero skipped, for shapes with and
    /// without tails and row counts not a multiple of four.
    #[test]
    fn row_dots_axpy_has_the_bits_of_the_row_by_row_loop() {
        let mut next = unit_uniform(0x2545_F491_4F6C_DD1D);
        for (m, n) in SWEEP_SHAPES {
            let mut k = Array2::from_shape_simple_fn((m, n), &mut next);
            if m > 4 {
                k.row_mut(2).fill(0.0); // its scale is 0: skipped
            }
            let v = Array1::from_shape_simple_fn(n, &mut next);
            let scale = |d: f64| if d == 0.0 { 0.0 } else { 0.3 / d };
            let (mut u1, mut acc1) = (vec![0.0; m], vec![0.0; n]);
            for (row, ui) in k.outer_iter().zip(u1.iter_mut()) {
                *ui = scale(row.dot(&v));
                let s = *ui;
                if s != 0.0 {
                    for (pj, &kij) in acc1.iter_mut().zip(&row) {
                        *pj += kij * s;
                    }
                }
            }
            let (mut u2, mut acc2) = (vec![0.0; m], vec![0.0; n]);
            row_dots_axpy(k.view(), v.view(), scale, &mut u2, &mut acc2);
            let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&u1), bits(&u2), "{m}×{n} u");
            assert_eq!(bits(&acc1), bits(&acc2), "{m}×{n} acc");
            // The kernel on pulp's scalar path (eight plain sums), which a CPU with AVX2
            // never dispatches to: the same bits again.
            let (mut u3, mut acc3) = (vec![0.0; m], vec![0.0; n]);
            let ran = pulp::WithSimd::with_simd(
                DotsAxpy {
                    a: k.as_slice().unwrap(),
                    x: v.as_slice().unwrap(),
                    scale: &mut { scale },
                    u: &mut u3,
                    acc: Some(&mut acc3),
                },
                pulp::Scalar::new(),
            );
            assert!(ran);
            assert_eq!(bits(&u1), bits(&u3), "{m}×{n} u, scalar");
            assert_eq!(bits(&acc1), bits(&acc3), "{m}×{n} acc, scalar");
        }
    }

    /// `row_dots_axpy_f32`: the SIMD kernel and the scalar loop give the same bits (tails of
    /// every length, rows not a multiple of four, a row whose scale is 0), and both agree
    /// with the f64 `row_dots_axpy` on the widened kernel to rounding (other sum orders).
    #[test]
    fn row_dots_axpy_f32_matches_its_scalar_loop_and_the_f64_kernel() {
        let mut next = unit_uniform(0x9E37_79B9_7F4A_7C15);
        for (m, n) in SWEEP_SHAPES {
            let mut k: Vec<f32> = (0..m * n).map(|_| next() as f32).collect();
            if m > 4 {
                k[2 * n..3 * n].fill(0.0);
            }
            let v: Vec<f64> = (0..n).map(|_| next()).collect();
            let scale = |d: f64| if d == 0.0 { 0.0 } else { 0.3 / d };
            let (mut u1, mut acc1) = (vec![0.0; m], vec![0.0; n]);
            row_dots_axpy_f32(&k, &v, scale, &mut u1, &mut acc1);
            let (mut u2, mut acc2) = (vec![0.0; m], vec![0.0; n]);
            dots_axpy_f32_scalar(&k, &v, &mut { scale }, &mut u2, &mut acc2);
            let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&u1), bits(&u2), "{m}×{n} u");
            assert_eq!(bits(&acc1), bits(&acc2), "{m}×{n} acc");
            let wide = Array2::from_shape_fn((m, n), |(i, j)| f64::from(k[i * n + j]));
            let (mut u3, mut acc3) = (vec![0.0; m], vec![0.0; n]);
            row_dots_axpy(
                wide.view(),
                Array1::from(v.clone()).view(),
                scale,
                &mut u3,
                &mut acc3,
            );
            for (a, b) in u1.iter().zip(&u3).chain(acc1.iter().zip(&acc3)) {
                assert!((a - b).abs() <= 1e-13 * b.abs(), "{m}×{n}: {a} against {b}");
            }
        }
    }

    /// `xt_v` gives the same bits as ndarray's `x.t().dot(&v)` (not merely close), zeros in
    /// v included.
    #[test]
    fn xt_v_has_the_bits_of_ndarrays_transposed_dot() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let x = Array2::from_shape_fn((257, 19), |_| rng.gen_range(-1.0..1.0));
        let mut v = Array1::from_shape_fn(257, |_| rng.gen_range(-3.0..3.0));
        v[7] = 0.0;
        v[100] = 0.0;
        assert_eq!(xt_v(x.view(), v.view()), x.t().dot(&v));
        let col = x.slice(ndarray::s![.., ..1]).to_owned();
        assert_eq!(xt_v(col.view(), v.view()), col.t().dot(&v));
        let fortran = x.t().as_standard_layout().to_owned();
        assert_eq!(xt_v(fortran.t(), v.view()), fortran.t().t().dot(&v));
        // Bit for bit, with tails of every length and row counts not a multiple of four.
        let bits = |v: &Array1<f64>| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        for (m, n) in [(2, 1), (5, 3), (8, 5), (11, 6), (13, 7), (41, 803)] {
            let x = Array2::from_shape_fn((m, n), |_| rng.gen_range(-1.0..1.0));
            let mut v = Array1::from_shape_fn(m, |_| rng.gen_range(-3.0..3.0));
            v[m / 2] = 0.0;
            assert_eq!(
                bits(&xt_v(x.view(), v.view())),
                bits(&x.t().dot(&v)),
                "{m}×{n}"
            );
        }
    }

    /// ndarray's f64 product has the arithmetic the rest of this module (and every
    /// committed result) relies on: each entry a fused multiply-add chain from zero over
    /// each 256-long k-block ([`MM_KC`]), the blocks' sums added in k order, for any layout
    /// of the operands. Values spread over eight orders of magnitude, so a different order
    /// or an unfused step shows in the last bits. (This is what a faster kernel would have
    /// to keep: matrixmultiply's own AVX-512 kernel does, but measured slower in situ;
    /// results/perf/transductive.md, tenth session.)
    #[test]
    fn ndarray_products_are_blocked_fma_chains() {
        if !std::arch::is_x86_feature_detected!("fma") {
            eprintln!("skipped: no FMA on this CPU, matrixmultiply takes a non-fused kernel");
            return;
        }
        let mut rnd = lcg(17);
        let mut val = || rnd() * 10f64.powf(8.0 * rnd());
        for &(m, k, n) in &[
            (1, 1, 1),
            (7, 3, 5),
            (17, 513, 9),
            (33, 257, 65),
            (64, 256, 16),
            (100, 800, 100),
            (300, 1, 300),
        ] {
            let a = Array2::from_shape_fn((m, k), |_| val());
            let b = Array2::from_shape_fn((k, n), |_| val());
            let want = Array2::from_shape_fn((m, n), |(i, j)| {
                let mut c = 0.0f64;
                for (block, t0) in (0..k).step_by(MM_KC).enumerate() {
                    let mut chain = 0.0f64;
                    for t in t0..(t0 + MM_KC).min(k) {
                        chain = a[(i, t)].mul_add(b[(t, j)], chain);
                    }
                    c = if block == 0 { chain } else { c + chain };
                }
                c
            });
            let bits = |x: &Array2<f64>| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a.dot(&b)), bits(&want), "{m}×{k}·{k}×{n}");
            // Column-major operands (each the transpose of a standard-layout copy of its
            // transpose), and the product taken as (bᵀaᵀ)ᵀ.
            let (af, bf) = (
                a.t().as_standard_layout().into_owned(),
                b.t().as_standard_layout().into_owned(),
            );
            assert!(k == 1 || (!af.t().is_standard_layout() && !bf.t().is_standard_layout()));
            assert_eq!(
                bits(&af.t().dot(&bf.t())),
                bits(&want),
                "F-order {m}×{k}·{k}×{n}"
            );
            let ct = b.t().dot(&a.t());
            assert_eq!(
                bits(&ct.t().to_owned()),
                bits(&want),
                "(bᵀaᵀ)ᵀ {m}×{k}·{k}×{n}"
            );
        }
    }

    /// `gram_t` and `gram` give ndarray's bits for shapes around the block size.
    #[test]
    fn grams_have_the_bits_of_ndarrays_dot() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for &(n, d) in &[
            (1, 1),
            (5, 3),
            (40, 127),
            (300, 128),
            (129, 257),
            (77, 300),
            (9, 1000),
        ] {
            let x = Array2::from_shape_fn((n, d), |_| rng.gen_range(-1.0..1.0) * 1e3);
            assert_eq!(gram_t(x.view()), x.t().dot(&x), "xᵀx, {n}×{d}");
            assert_eq!(gram(x.view()), x.dot(&x.t()), "x xᵀ, {n}×{d}");
        }
    }

    /// `ThinDesign`'s products give ndarray's bits (equality, not closeness) over
    /// shapes that cross matrixmultiply's 256-wide k blocks and its 8 × 4 tiles, groups not
    /// a multiple of the vector width or of a tile, n from 1 to 65 (every tile shape, and
    /// several column chunks), k from 1 to 801.
    #[test]
    fn thin_design_products_have_the_bits_of_ndarrays_dot() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        for &(m, k, n) in &[
            (1, 1, 1),
            (3, 7, 2),
            (9, 255, 10),
            (13, 256, 3),
            (37, 257, 13),
            (130, 801, 10),
            (517, 300, 4),
            (1123, 64, 5),
            (40, 300, 31),
            (21, 520, 65),
            (75, 33, 6),
            (66, 17, 8),
            (19, 600, 12),
            (51, 5, 25),
        ] {
            let x = Array2::from_shape_fn((m, k), |_| rng.gen_range(-1.0..1.0));
            let w = Array2::from_shape_fn((k, n), |_| rng.gen_range(-1.0..1.0));
            let z = Array2::from_shape_fn((m, n), |_| rng.gen_range(-1.0..1.0));
            let design = ThinDesign::new(x.view());
            assert_eq!(design.dot(w.view()), x.dot(&w), "x·w, {m}×{k}·{k}×{n}");
            assert_eq!(design.t_dot(z.view()), x.t().dot(&z), "xᵀz, {m}×{k}, n {n}");
            // The scalar fallback (no 4-lane vectors) has the same arithmetic.
            let mut out = vec![0.0; m * n];
            pulp::WithSimd::with_simd(
                Panels {
                    a: &design.by_rows,
                    b: w.as_slice().unwrap(),
                    out: &mut out,
                    groups: m,
                    chain: k,
                    n,
                },
                pulp::Scalar::new(),
            );
            assert_eq!(
                Array2::from_shape_vec((m, n), out).unwrap(),
                x.dot(&w),
                "scalar x·w, {m}×{k}·{k}×{n}"
            );
        }
    }
}
