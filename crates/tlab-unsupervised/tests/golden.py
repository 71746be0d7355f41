# Reference values for tests/golden.rs (numpy 2.4, scikit-learn 1.9; run with
# `python golden.py`). mSDA is a transcription of the authors' MATLAB mSDA.m / mDA.m
# (Chen et al., ICML 2012), rows as samples; PCA reconstruction from scikit-learn.
import numpy as np
from sklearn.decomposition import PCA

n, d = 60, 7
X = np.array([[((i * 31 + j * 17) % 13) / 13.0 if (i + j) % 4 else 0.0 for j in range(d)] for i in range(n)])

def mda(x, p, lam=1e-5):
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    S = xb.T @ xb
    q = np.r_[np.full(d, 1 - p), 1.0]
    Q = S * np.outer(q, q)
    np.fill_diagonal(Q, q * np.diag(S))
    P = S[:d, :] * q[None, :]
    reg = lam * np.eye(d + 1); reg[d, d] = 0
    W = P @ np.linalg.inv(Q + reg)
    return W, np.tanh(xb @ W.T)

def msda(x, p, layers):
    hs, h, Ws = [x], x, []
    for _ in range(layers):
        W, h = mda(h, p)
        Ws.append(W); hs.append(h)
    return Ws, np.hstack(hs)

Ws, Z = msda(X, 0.4, 3)
print("msda Z.shape", Z.shape, "sum", repr(Z.sum()), "Z[5, 10]", repr(Z[5, 10]), "Z[59, 27]", repr(Z[59, 27]))
xb = np.hstack([X, np.ones((n, 1))])
rec = ((X - xb @ Ws[0].T) ** 2).sum(axis=1)
print("msda recon err[0..3]", [repr(v) for v in rec[:3]])
pca = PCA(n_components=3).fit(X)
back = pca.inverse_transform(pca.transform(X))
err = ((X - back) ** 2).sum(axis=1)
print("pca recon err[0..3]", [repr(v) for v in err[:3]], "sum", repr(err.sum()))
