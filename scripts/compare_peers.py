"""Times the Python peers on the same problems as benches/benches/bench_main.rs, so the two
can be read side by side (results/perf/core.md). Needs numpy, scipy, scikit-learn:
    python3 -m venv .venv && .venv/bin/pip install numpy scipy scikit-learn
    .venv/bin/python scripts/compare_peers.py
Data are random with the same shapes (the generator differs from the Rust one; only the
timings are compared). Reports the median of repeated runs, in milliseconds."""
import time
import numpy as np
import scipy.linalg as sl
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import LinearSVC


def data(n, d, k, seed):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    x = rng.random((n, d)) + 0.5 * (np.arange(d)[None, :] % k == y[:, None])
    return x, y


def med(f, reps):
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return 1000 * float(np.median(ts))


xs, ys = data(2000, 256, 10, 0)
xt, _ = data(1800, 256, 10, 1)
knn = KNeighborsClassifier(1, algorithm="brute").fit(xs, ys)
print(f"1nn predict 2000x1800x256: {med(lambda: knn.predict(xt), 10):.1f} ms")
x, y = data(1123, 800, 10, 2)
print(f"logistic fit 1123x800: {med(lambda: LogisticRegression(C=1.0, max_iter=500).fit(x, y), 5):.1f} ms")
print(f"linear svm fit 1123x800: {med(lambda: LinearSVC(C=1.0, max_iter=1000).fit(x, y), 5):.1f} ms")
xz, _ = data(2000, 800, 10, 3)


def sum_z(a):
    a = a / a.sum(1, keepdims=True)
    s = a.std(0)
    s[s == 0] = 1
    return (a - a.mean(0)) / s


print(f"sum-then-zscore 2000x800: {med(lambda: sum_z(xz), 20):.1f} ms")
m, _ = data(800, 800, 10, 4)
sym = m.T @ m
print(f"scipy eigh 800x800: {med(lambda: sl.eigh(sym), 5):.1f} ms")
print(f"scipy cholesky 800x800: {med(lambda: sl.cholesky(sym, lower=True), 20):.1f} ms")
