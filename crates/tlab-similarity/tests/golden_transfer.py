# Golden values for tests/golden_transfer.rs (numpy 2.4.6, scikit-learn 1.9.1):
#   /path/to/venv/bin/python crates/tlab-similarity/tests/golden_transfer.py
# GBC: numpy port of google-research stable_transfer/transferability/gbc.py;
# TransRate: the listing in Huang et al., ICML 2022; shrinkage H-score: the regularised
# H-score as published with Ibrahim et al. (scikit-learn's LedoitWolf, np.cov, pinv).
import numpy as np
from sklearn.covariance import LedoitWolf

i, j = np.arange(40)[:, None], np.arange(6)[None, :]
f = np.sin(0.37 * i + 0.9 * j) + 0.5 * np.cos(0.11 * i * (j + 1))
y = (np.arange(40) * 7 % 3)
f[y == 1] += 0.8
f[y == 2, 2] -= 1.1

def bd(m1, m2, s1, s2):
    a = (s1 + s2) / 2
    return np.sum((m1 - m2) ** 2 / a) / 8 + 0.5 * (np.sum(np.log(a)) - 0.5 * np.sum(np.log(s1)) - 0.5 * np.sum(np.log(s2)))

def gbc(f, y, kind):
    st = {c: (f[y == c].mean(0), np.maximum(f[y == c].var(0), 1e-4)) for c in np.unique(y)}
    tot = 0.0
    for a in st:
        for b in st:
            if a != b:
                s1, s2 = st[a][1], st[b][1]
                if kind == "spherical":
                    s1, s2 = s1.mean(), s2.mean()
                tot += np.exp(-bd(st[a][0], st[b][0], s1, s2))
    return -tot

def coding_rate(Z, eps=1e-4):
    n, d = Z.shape
    return 0.5 * np.linalg.slogdet(np.eye(d) + 1 / (n * eps) * Z.T @ Z)[1]

def transrate(Z, y, eps=1e-4):
    Z = Z - Z.mean(0, keepdims=True)
    K = int(y.max() + 1)
    return coding_rate(Z, eps) - sum(coding_rate(Z[y == k], eps) for k in range(K)) / K

def h_shrink(f, y):
    f = f - f.mean(0, keepdims=True)
    lw = LedoitWolf(assume_centered=False).fit(f)
    g = np.zeros_like(f)
    for c in range(int(y.max() + 1)):
        g[y == c] = f[y == c].mean(0)
    covg = np.cov(g, rowvar=False)
    return np.trace(np.linalg.pinv(lw.covariance_, rcond=1e-15) @ ((1 - lw.shrinkage_) * covg)), lw.shrinkage_

print("gbc spherical", repr(gbc(f, y, "spherical")))
print("gbc diagonal", repr(gbc(f, y, "diagonal")))
print("transrate", repr(transrate(f, y)))
print("h-score shrinkage, alpha", [repr(v) for v in h_shrink(f, y)])
