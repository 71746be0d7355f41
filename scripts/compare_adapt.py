"""Side by side: tlab against ADAPT 0.4 (adapt on PyPI) on the whole 12-pair Office-Caltech
SURF table, the same way as compare_transductive.py does against skada: fit + predict of
the whole table, medians of REPEATS runs, single-threaded on both sides, average accuracy
beside each time.

ADAPT solves KMM's quadratic programme with cvxopt's interior-point solver, so its KMM row
is the like-for-like one for tlab's (skada's Frank–Wolfe KMM does not enforce the bound B).
Settings are the same on both sides, stated per row; where ADAPT's default differs from
tlab's, ADAPT is given tlab's.

Run through scripts/compare-peers (TLAB_COMPARE_ADAPT=1; ADAPT needs TensorFlow).
Usage: python3 compare_adapt.py DATA_DIR TLAB_BINARY [REPEATS]
(COMPARE_ONLY="KMM + logistic,CORAL" runs only the methods whose names start so.)

Not compared: ADAPT's NearestNeighborsWeighting gives each source sample its raw count of
target nearest neighbours (most get weight 0), where tlab's nearest-neighbour weighting is
Loog's Laplace-smoothed count (every count + 1): a different method.
"""
import os
import sys
import tempfile
import time
import warnings

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

from compare_transductive import DOMAINS, PAIRS, compare, load, median_cost, reweight_toml

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
from adapt.feature_based import CORAL, SA, TCA  # noqa: E402  (TensorFlow loads here)
from adapt.instance_based import KLIEP, KMM  # noqa: E402

# compare_transductive switches scikit-learn's metadata routing on for skada; ADAPT passes
# sample weights to the estimator directly.
sklearn.set_config(enable_metadata_routing=False)
warnings.filterwarnings("ignore")

# One RBF width for every pair on both sides: the features are z-scored, so two samples'
# expected squared distance is 2 × 800 (tlab's default, 1 / the median over a seeded
# sample, cannot be reproduced outside it).
KMM_GAMMA = 1.0 / 1600.0
WIDTHS = (0.1, 0.3, 1.0, 3.0, 10.0)


def logistic():
    return LogisticRegression(C=1.0, max_iter=500)


def kmm_logistic(xt, _):
    return KMM(logistic(), Xt=xt, kernel="rbf", gamma=KMM_GAMMA, B=1000, max_size=5000, verbose=0, random_state=0)


def kmm_toml(learner_extra):
    return (f'method = "reweight"\nreweighter = {{ kind = "kmm", gamma = {KMM_GAMMA!r} }}\n'
            f'learner = {{ kind = "logistic", c = 1.0{learner_extra} }}')


def kliep_logistic(xt, med):
    return KLIEP(logistic(), Xt=xt, kernel="rbf", gamma=[f / med for f in WIDTHS], algo="original",
                 max_centers=100, cv=5, max_iter=2000, verbose=0, random_state=0)


# (name, ADAPT factory (xt, pooled median) -> estimator, tlab method TOML)
METHODS = [
    # The whole QP (max_size above every domain's size; ADAPT's default 1000 splits
    # Caltech's 1123 samples into two QPs), B = 1000, ε = (√n − 1)/√n on both sides.
    ("KMM + logistic", kmm_logistic, kmm_toml("")),
    ("KMM + logistic (tlab tol 1e-4)", kmm_logistic, kmm_toml(", tol = 1e-4")),
    # The paper's algorithm ("original": ascent, then projection) on 100 target centres,
    # widths chosen by 5-fold likelihood cross-validation among tlab's five (relative to
    # the pooled median squared distance), at most 2000 iterations; ADAPT also tries its
    # five default learning rates per fit.
    ("KLIEP + logistic", kliep_logistic, reweight_toml("kliep", "")),
    ("KLIEP + logistic (tlab tol 1e-4)", kliep_logistic, reweight_toml("kliep", ", tol = 1e-4")),
    # CORAL with the paper's + I on both covariances (ADAPT's default λ is 1e-5).
    ("CORAL",
     lambda xt, _: CORAL(KNeighborsClassifier(1), Xt=xt, lambda_=1.0, verbose=0, random_state=0),
     'method = "adapt"\nadapter = { kind = "coral" }\nlearner = { kind = "knn", k = 1 }'),
    # ADAPT's SA is scikit-learn's PCA (randomized at this size), as tlab's randomized one.
    ("SA(100) randomized",
     lambda xt, _: SA(KNeighborsClassifier(1), Xt=xt, n_components=100, verbose=0, random_state=0),
     'method = "adapt"\nadapter = { kind = "sa", dim = 100, solver = "randomized" }\nlearner = { kind = "knn", k = 1 }'),
    # ADAPT's TCA is the kernel form ((n_s + n_t)² matrices) with a linear kernel.
    ("TCA (linear, 100)",
     lambda xt, _: TCA(KNeighborsClassifier(1), Xt=xt, kernel="linear", n_components=100, mu=1.0, verbose=0, random_state=0),
     'method = "adapt"\nadapter = { kind = "tca", dim = 100, lambda = 1.0 }\nlearner = { kind = "knn", k = 1 }'),
]


def adapt_table(make, data, pooled):
    """Average accuracy and the seconds of fit + predict over the 12 pairs."""
    accs, seconds = [], 0.0
    for p in PAIRS:
        (xs, ys), (xt, yt) = data[p[0]], data[p[1]]
        model = make(xt, pooled[p])
        t = time.perf_counter()
        model.fit(xs, ys)
        pred = model.predict(xt)
        seconds += time.perf_counter() - t
        accs.append(100 * (np.asarray(pred).ravel() == yt).mean())
    return float(np.mean(accs)), seconds


def main():
    data_dir, tlab = sys.argv[1], sys.argv[2]
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    data = {k: load(data_dir, k) for k in DOMAINS}
    pooled = {p: median_cost(np.vstack([data[p[0]][0], data[p[1]][0]]), np.vstack([data[p[0]][0], data[p[1]][0]])) for p in PAIRS}
    out = tempfile.mkdtemp()
    compare("ADAPT", METHODS, lambda name, make: adapt_table(make, data, pooled), tlab, data_dir, out, repeats)


if __name__ == "__main__":
    main()
