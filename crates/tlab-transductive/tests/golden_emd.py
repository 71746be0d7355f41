# Golden values for tests/golden_emd.rs (numpy 2.4.6, POT 0.9.7):
#   /path/to/venv/bin/python crates/tlab-transductive/tests/golden_emd.py
import numpy as np
import ot

i, j = np.arange(40)[:, None], np.arange(6)[None, :]
xs = np.sin(0.7 * i + 1.3 * j) + 0.4 * np.cos(0.13 * i * (j + 1) ** 2)
i = np.arange(25)[:, None]
xt = np.cos(0.5 * i - 0.9 * j) + 0.3 + 0.4 * np.sin(0.17 * i * (j + 1) ** 2)
M = ot.dist(xs, xt)  # squared Euclidean
a, b = np.full(40, 1 / 40), np.full(25, 1 / 25)
print("emd2 uniform", repr(ot.emd2(a, b, M, numItermax=10**7)))
# non-uniform masses
wa = (np.arange(40) % 7 + 1.0); wa /= wa.sum()
wb = (np.arange(25) % 4 + 1.0); wb /= wb.sum()
print("emd2 weighted", repr(ot.emd2(wa, wb, M, numItermax=10**7)))
