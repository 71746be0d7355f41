# Golden values for tests/golden_more.rs (numpy 2.4.6, scipy 1.17.1, POT 0.9.7):
#   /path/to/venv/bin/python crates/tlab-similarity/tests/golden_more.py
# LEEP, NCE and H-score follow the Transfer-Learning-Library (tllib/ranking) code;
# CKA follows Kornblith et al.'s notebook; sliced Wasserstein is POT's.
import numpy as np
import ot
from scipy.linalg import sqrtm
from scipy.spatial.distance import cdist, pdist
from scipy.stats import spearmanr

i, j = np.arange(30)[:, None], np.arange(5)[None, :]
xs = np.sin(0.7 * i + 1.3 * j) + 0.4 * np.cos(0.13 * i * (j + 1) ** 2)
i = np.arange(20)[:, None]
xt = np.cos(0.5 * i - 0.9 * j) + 0.3 + 0.4 * np.sin(0.17 * i * (j + 1) ** 2)
gamma = 1 / np.median(pdist(np.vstack([xs, xt]), "sqeuclidean"))
k = lambda a, b, g=gamma: np.exp(-g * cdist(a, b, "sqeuclidean"))
m, n = len(xs), len(xt)
kss, ktt, kst = k(xs, xs), k(xt, xt), k(xs, xt)
mmd_u = (kss.sum() - np.trace(kss)) / (m * (m - 1)) + (ktt.sum() - np.trace(ktt)) / (n * (n - 1)) - 2 * kst.mean()
L = lambda a, b: a @ b.T
lss, ltt = L(xs, xs), L(xt, xt)
mmd_lin_u = (lss.sum() - np.trace(lss)) / (m * (m - 1)) + (ltt.sum() - np.trace(ltt)) / (n * (n - 1)) - 2 * L(xs, xt).mean()
multi = sum(k(xs, xs, f * gamma).mean() + k(xt, xt, f * gamma).mean() - 2 * k(xs, xt, f * gamma).mean() for f in [0.25, 0.5, 1, 2, 4])
mm = min(m, n) // 2
h = [k(xs[2*p:2*p+1], xs[2*p+1:2*p+2])[0, 0] + k(xt[2*p:2*p+1], xt[2*p+1:2*p+2])[0, 0]
     - k(xs[2*p:2*p+1], xt[2*p+1:2*p+2])[0, 0] - k(xs[2*p+1:2*p+2], xt[2*p:2*p+1])[0, 0] for p in range(mm)]
lin_time = np.mean(h)
cs, ct = np.cov(xs, rowvar=False), np.cov(xt, rowvar=False)
ms, mt = xs.mean(0), xt.mean(0)
fre = np.sum((ms - mt) ** 2) + np.trace(cs + ct - 2 * np.real(sqrtm(sqrtm(cs) @ ct @ sqrtm(cs))))
d = 5
eps = 1e-3 * (np.trace(cs) + np.trace(ct)) / (2 * d)
cs_r, ct_r = cs + eps * np.eye(d), ct + eps * np.eye(d)
inv = np.linalg.inv(ct_r)
kl = 0.5 * (np.trace(inv @ cs_r) + (mt - ms) @ inv @ (mt - ms) - d + np.linalg.slogdet(ct_r)[1] - np.linalg.slogdet(cs_r)[1])
P = np.cos(np.arange(5)[:, None] * 1.1 + np.arange(8)[None, :] * 0.6)
P = P / np.linalg.norm(P, axis=0, keepdims=True)
sw = ot.sliced_wasserstein_distance(xs, xt, projections=P, p=2)
sw1 = ot.sliced_wasserstein_distance(xs, xt, projections=P, p=1)

# Transferability: 40 target samples, 4 source classes, 3 target classes.
r = np.arange(40)
logits = np.sin(0.3 * r[:, None] * (np.arange(4)[None, :] + 1)) * 3
theta = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
y = (r * 7) % 3
def leep(predictions, labels):
    N, C_s = predictions.shape
    C_t = int(np.max(labels) + 1)
    normalized_prob = predictions / float(N)
    joint = np.zeros((C_t, C_s), dtype=float)
    for c in range(C_t):
        joint[c] = np.sum(normalized_prob[labels == c], axis=0)
    p_target_given_source = (joint / joint.sum(axis=0, keepdims=True)).T
    empirical_prediction = predictions @ p_target_given_source
    return np.mean(np.log(np.array([p[l] for p, l in zip(empirical_prediction, labels)])))
def nce(source_labels, target_labels):
    C_t = int(np.max(target_labels) + 1); C_s = int(np.max(source_labels) + 1); N = len(source_labels)
    joint = np.zeros((C_t, C_s), dtype=float)
    for s, t in zip(source_labels, target_labels):
        joint[int(t), int(s)] += 1.0 / N
    p_z = joint.sum(axis=0, keepdims=True)
    p_target_given_source = (joint / p_z).T
    mask = p_z.reshape(-1) != 0
    p_target_given_source = p_target_given_source[mask] + 1e-20
    entropy_y_given_z = np.sum(-p_target_given_source * np.log(p_target_given_source), axis=1, keepdims=True)
    return -np.sum(entropy_y_given_z * p_z.reshape((-1, 1))[mask])
def h_score(features, labels):
    covf = np.cov(features, rowvar=False)
    g = np.zeros_like(features)
    for c in range(int(labels.max() + 1)):
        g[labels == c] = np.mean(features[labels == c, :], axis=0)
    covg = np.cov(g, rowvar=False)
    return np.trace(np.dot(np.linalg.pinv(covf, rcond=1e-15), covg))
feats = np.sin(0.37 * r[:, None] + 0.8 * np.arange(6)[None, :]) + 0.2 * y[:, None] * np.arange(6)[None, :] / 6
z = theta.argmax(1)

# Representation similarity: the same 40 samples in two representations.
fa = feats
fb = np.tanh(feats @ np.cos(np.arange(6)[:, None] - 0.5 * np.arange(3)[None, :]))
def center(g):
    n = g.shape[0]; h = np.eye(n) - 1 / n
    return h @ g @ h
def cka(gx, gy):
    gx, gy = center(gx), center(gy)
    return np.sum(gx * gy) / (np.linalg.norm(gx) * np.linalg.norm(gy))
def gram_rbf(x, threshold=1.0):
    dp = x @ x.T; sq = np.diag(dp)
    sqd = -2 * dp + sq[:, None] + sq[None, :]
    return np.exp(-sqd / (2 * threshold ** 2 * np.median(sqd)))
cka_lin = cka(fa @ fa.T, fb @ fb.T)
cka_r = cka(gram_rbf(fa), gram_rbf(fb))
rsa_v = spearmanr(pdist(fa), pdist(fb)).statistic

for name, v in [("MMD_U", mmd_u), ("MMD_LIN_U", mmd_lin_u), ("MULTI", multi), ("LIN_TIME", lin_time),
                ("FRECHET", fre), ("KL", kl), ("SW2", sw), ("SW1", sw1), ("LEEP", leep(theta, y)),
                ("NCE", nce(z, y)), ("HSCORE", h_score(feats, y)), ("CKA_LIN", cka_lin),
                ("CKA_RBF", cka_r), ("RSA", rsa_v)]:
    print(f"const {name}: f64 = {float(v)!r};")

# LogME, the authors' reference code (LogME.py, first release), on `feats` and `y` above.
def each_evidence(y_, f, fh, v, s, vh, N, D):
    alpha = 1.0; beta = 1.0
    lam = alpha / beta
    tmp = (vh @ (f @ y_))
    for _ in range(11):
        gamma = (s / (s + lam)).sum()
        m = v @ (tmp * beta / (alpha + beta * s))
        alpha_de = (m * m).sum()
        alpha = gamma / (alpha_de + 1e-5)
        beta_de = ((y_ - fh @ m) ** 2).sum()
        beta = (N - gamma) / (beta_de + 1e-5)
        new_lam = alpha / beta
        if np.abs(new_lam - lam) / lam < 0.01:
            break
        lam = new_lam
    evidence = D / 2.0 * np.log(alpha) + N / 2.0 * np.log(beta) - 0.5 * np.sum(np.log(alpha + beta * s)) \
        - beta / 2.0 * (beta_de + 1e-5) - alpha / 2.0 * (alpha_de + 1e-5) - N / 2.0 * np.log(2 * np.pi)
    return evidence / N
def logme(f, y):
    fh = f; f = f.transpose(); D, N = f.shape
    v, s, vh = np.linalg.svd(f @ fh, full_matrices=True)
    return np.mean([each_evidence((y == i).astype(np.float64), f, fh, v, s, vh, N, D) for i in range(int(y.max() + 1))])
print(f"const LOGME: f64 = {float(logme(feats, y))!r};")
