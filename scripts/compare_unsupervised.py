"""Times the Python peers on the shapes of tlab's `unsupervised` criterion group
(benches/benches/bench_main.rs): mSDA (numpy transcription of the authors' mSDA.m),
scikit-learn PCA, KMeans, GaussianMixture and the PCA-reconstruction / k-NN detectors.
Run single-threaded (OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 taskset -c 0 ...);
prints the median of 5 runs per task in milliseconds."""
import time
import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors

rng = np.random.default_rng(5)
reviews = rng.random((4000, 400)); reviews[reviews < 0.33] = 0.0
digits = rng.random((2000, 256))


def mda(x, p, lam=1e-5):
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    S = xb.T @ xb
    q = np.r_[np.full(d, 1 - p), 1.0]
    Q = S * np.outer(q, q)
    np.fill_diagonal(Q, q * np.diag(S))
    P = S[:d, :] * q[None, :]
    reg = lam * np.eye(d + 1); reg[d, d] = 0
    W = np.linalg.solve(Q + reg, P.T).T
    return W, np.tanh(xb @ W.T)


def msda_fit(x, p=0.5, layers=5):
    h, Ws = x, []
    for _ in range(layers):
        W, h = mda(h, p)
        Ws.append(W)
    return Ws


def msda_transform(Ws, x):
    hs, h = [x], x
    for W in Ws:
        h = np.tanh(np.hstack([h, np.ones((len(h), 1))]) @ W.T)
        hs.append(h)
    return np.hstack(hs)


def pca_recon():
    p = PCA(32).fit(digits)
    back = p.inverse_transform(p.transform(digits))
    return ((digits - back) ** 2).sum(1)


def knn_detector():
    nn = NearestNeighbors(n_neighbors=11).fit(digits)
    d, _ = nn.kneighbors(digits)
    return d[:, 1:].mean(1)


Ws = msda_fit(reviews)
Z = PCA(32).fit_transform(digits)
tasks = {
    "msda 5 layers fit 4000x400": lambda: msda_fit(reviews),
    "msda 5 layers transform 4000x400": lambda: msda_transform(Ws, reviews),
    "pca 32 fit 2000x256": lambda: PCA(32).fit(digits),
    "k-means++ k=10 n_init=10 2000x256": lambda: KMeans(10, n_init=10, random_state=0).fit(digits),
    "gmm k=10 2000x32": lambda: GaussianMixture(10, reg_covar=1e-4, random_state=0).fit(Z),
    "detector pca-recon fit+score 2000x256": pca_recon,
    "detector knn10 fit+score 2000x256": knn_detector,
}
for name, f in tasks.items():
    ts = []
    for _ in range(5):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    print(f"{name}: {1000 * sorted(ts)[2]:.1f} ms")
