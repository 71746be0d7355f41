"""Times numpy / POT versions of the large-n similarity metrics on two 100,000 x 256
samples (the shapes of benches/examples/similarity_scale.rs), single-threaded BLAS.
Run through scripts/compare-peers' virtualenv:  .venv/bin/python scripts/compare_similarity.py
"""
import os
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
import time
import numpy as np
import ot

rng = np.random.default_rng(0)
n, d = 100_000, 256
xs = rng.standard_normal((n, d))
xt = rng.standard_normal((n, d)) * 1.1 + 0.05


def median_gamma(a, b):
    z = np.vstack([a, b])[:: max(1, (2 * n) // 2000)]
    sq = (z * z).sum(1)
    dd = sq[:, None] + sq[None, :] - 2 * z @ z.T
    iu = np.triu_indices(len(z), 1)
    return 1.0 / np.median(np.maximum(dd[iu], 0))


def mmd_linear_time(a, b):
    g = median_gamma(a, b)
    m = min(len(a), len(b)) // 2
    x1, x2, y1, y2 = a[0:2 * m:2], a[1:2 * m:2], b[0:2 * m:2], b[1:2 * m:2]
    k = lambda p, q: np.exp(-g * ((p - q) ** 2).sum(1))
    return np.mean(k(x1, x2) + k(y1, y2) - k(x1, y2) - k(x2, y1))


def mmd_rff(a, b, D):
    g = median_gamma(a, b)
    r = np.random.default_rng(0)
    w = r.standard_normal((d, D)) * np.sqrt(2 * g)
    c = r.uniform(0, 2 * np.pi, D)
    z = lambda x: np.sqrt(2 / D) * np.cos(x @ w + c)
    diff = z(a).mean(0) - z(b).mean(0)
    return diff @ diff


def coral(a, b):
    return np.sum((np.cov(a, rowvar=False) - np.cov(b, rowvar=False)) ** 2) / (4 * d * d)


for name, f in [
    ("mmd-linear-time (numpy)", lambda: mmd_linear_time(xs, xt)),
    ("mmd-rff 256 (numpy)", lambda: mmd_rff(xs, xt, 256)),
    ("mmd-rff 1024 (numpy)", lambda: mmd_rff(xs, xt, 1024)),
    ("coral (numpy)", lambda: coral(xs, xt)),
    ("sliced-wasserstein 64 (POT)", lambda: ot.sliced_wasserstein_distance(xs, xt, n_projections=64, seed=0)),
]:
    times = []
    for _ in range(3):
        t = time.perf_counter()
        v = f()
        times.append(time.perf_counter() - t)
    print(f"{name:<30} {sorted(times)[1]:8.3f} s   value {float(v):.6e}")
