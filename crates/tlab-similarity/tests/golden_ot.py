# Golden values for tests/golden_ot.rs (numpy 2.4.6, scipy 1.17.1, POT 0.9.7):
#   /path/to/venv/bin/python crates/tlab-similarity/tests/golden_ot.py
import numpy as np
import ot
from scipy.integrate import quad
from scipy.spatial.distance import pdist
from scipy.stats import norm

i, j = np.arange(30)[:, None], np.arange(5)[None, :]
xs = np.sin(0.7 * i + 1.3 * j) + 0.4 * np.cos(0.13 * i * (j + 1) ** 2)
i = np.arange(20)[:, None]
xt = np.cos(0.5 * i - 0.9 * j) + 0.3 + 0.4 * np.sin(0.17 * i * (j + 1) ** 2)
med = np.median(pdist(np.vstack([xs, xt]), "sqeuclidean"))
reg = 0.1 * med
kw = dict(method="sinkhorn_log", numItermax=100000, stopThr=1e-13)
M = ot.dist(xs, xt)
a, b = np.full(30, 1 / 30), np.full(20, 1 / 20)
print("reg", repr(reg))
print("sinkhorn2 ab", repr(ot.sinkhorn2(a, b, M, reg, **kw)))
div = ot.sinkhorn2(a, b, M, reg, **kw) - 0.5 * (ot.sinkhorn2(a, a, ot.dist(xs, xs), reg, **kw) + ot.sinkhorn2(b, b, ot.dist(xt, xt), reg, **kw))
print("sinkhorn divergence", repr(div))
# small-ε case (log domain needed): reg = 0.01 × median
print("sinkhorn2 ab small eps", repr(ot.sinkhorn2(a, b, M, 0.01 * med, **kw)))
# JS between two 1-D Gaussians by quadrature: N(0, 1) and N(1.5, 2²)
p, q = norm(0, 1), norm(1.5, 2)
m = lambda x: 0.5 * (p.pdf(x) + q.pdf(x))
js = 0.5 * quad(lambda x: p.pdf(x) * np.log(p.pdf(x) / m(x)), -30, 30)[0] + 0.5 * quad(lambda x: q.pdf(x) * np.log(q.pdf(x) / m(x)), -30, 30)[0]
print("js 1d quad", repr(js))
# OTDD, Gaussian approximation: cost ‖x − x'‖² + W2²(N_y, N_y'), classes fitted with np.cov
# plus 1e-3 × pooled mean variance; entropic OT with ε = 0.1 × median feature cost.
from scipy.linalg import sqrtm
ys, yt = np.arange(30) % 3, (np.arange(20) * 2) % 3
eps = 1e-3 * (np.trace(np.cov(xs, rowvar=False)) + np.trace(np.cov(xt, rowvar=False))) / (2 * 5)
def gauss(x, y, c):
    z = x[y == c]
    return z.mean(0), np.cov(z, rowvar=False) + eps * np.eye(5)
def w2(a, b):
    r = sqrtm(a[1])
    return np.sum((a[0] - b[0]) ** 2) + np.trace(a[1] + b[1] - 2 * np.real(sqrtm(r @ b[1] @ r)))
W = np.array([[w2(gauss(xs, ys, a), gauss(xt, yt, b)) for b in range(3)] for a in range(3)])
F = ot.dist(xs, xt)
C = F + W[ys][:, yt]
print("otdd", repr(ot.sinkhorn2(a, b, C, 0.1 * np.median(F), **kw)))
# OTDD with diagonal class covariances (W2² = ‖μ−μ'‖² + Σ (√σ − √σ')²), same ε and ridge.
def gauss_d(x, y, c):
    z = x[y == c]
    return z.mean(0), np.var(z, axis=0, ddof=1) + eps
Wd = np.array([[np.sum((gauss_d(xs, ys, a_)[0] - gauss_d(xt, yt, b_)[0]) ** 2) + np.sum((np.sqrt(gauss_d(xs, ys, a_)[1]) - np.sqrt(gauss_d(xt, yt, b_)[1])) ** 2) for b_ in range(3)] for a_ in range(3)])
print("otdd diagonal", repr(ot.sinkhorn2(a, b, F + Wd[ys][:, yt], 0.1 * np.median(F), **kw)))
# Nyström MMD²: landmarks = the pooled rows 0, 5, 10, …; γ = 1 / median pooled squared
# distance; φ(x) = k(x, L) K_LL^{-1/2} (eigenvalues below 1e-12 × max dropped); the same
# number is the exact biased MMD² of the kernel projected on the landmarks' span.
P = np.vstack([xs, xt])
L = P[::5]
g = 1 / med
k = lambda A, B: np.exp(-g * ot.dist(A, B))
w, V = np.linalg.eigh(k(L, L))
inv = np.where(w > 1e-12 * w.max(), 1 / np.sqrt(np.abs(w)), 0.0)
proj = (V * inv) @ V.T
dphi = k(xs, L).mean(0) @ proj - k(xt, L).mean(0) @ proj
print("mmd nystrom", repr(dphi @ dphi))
# with every pooled row as a landmark the Nyström MMD² is the exact biased MMD²
Kxx, Kyy, Kxy = k(xs, xs), k(xt, xt), k(xs, xt)
print("mmd exact biased", repr(Kxx.mean() + Kyy.mean() - 2 * Kxy.mean()))
