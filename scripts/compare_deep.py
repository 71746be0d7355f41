"""PyTorch CPU (and skada's DANN, on torch + skorch) on the work that
benches/examples/deep_throughput.rs times in tlab (results/perf/deep.md):
  - one epoch of an MLP 256 -> 256 -> 10 (ReLU, cross-entropy from class indices, Adam 1e-3,
    batch 64, shuffled) on 2000 x 256 float32 rows;
  - one epoch of DANN: trunk 256 -> 256 (ReLU), head 256 -> 10, domain classifier
    256 -> 256 -> 2 behind gradient reversal, one source batch and one target batch of 64 a
    step over a 2000-row source (1800-row target), then predicting the target; written
    directly in torch the way tlab does it, and as skada.deep.DANN (skorch) with the same
    module, batch and optimiser.
Prints medians over repeated epochs, in milliseconds, for the thread counts given:
    .venv/bin/pip install torch skorch skada
    .venv/bin/python scripts/compare_deep.py [REPEATS] [THREADS...]
The data are random with the tlab example's shapes (only times are compared)."""
import sys
import warnings
import time

import numpy as np
import torch
from torch import nn


def median_ms(reps, f):
    f()  # warm-up
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return 1000 * float(np.median(ts))


warnings.filterwarnings("ignore")  # skada's implicit-softmax-dim warning, once per batch
rng = np.random.default_rng(7)
x = torch.tensor(rng.random((2000, 256), dtype=np.float32))
y = torch.tensor(np.arange(2000) % 10)
xs = torch.tensor(rng.random((2000, 256), dtype=np.float32))
ys = torch.tensor(np.arange(2000) % 10)
xt = torch.tensor(1.1 * rng.random((1800, 256), dtype=np.float32))


def mlp_epoch(model, opt, gen, batch=64):
    for idx in torch.randperm(2000, generator=gen).split(batch):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()


class GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, v, lam):
        ctx.lam = lam
        return v.view_as(v)

    @staticmethod
    def backward(ctx, g):
        return -ctx.lam * g, None


def dann_epoch():
    torch.manual_seed(0)
    trunk = nn.Sequential(nn.Linear(256, 256), nn.ReLU())
    head = nn.Linear(256, 10)
    dom = nn.Sequential(nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 2))
    params = [*trunk.parameters(), *head.parameters(), *dom.parameters()]
    opt = torch.optim.Adam(params, lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    qs = torch.randperm(2000, generator=gen).split(64)
    qt = torch.randperm(1800, generator=gen).split(64)
    steps = len(qs)
    for i, idx in enumerate(qs):
        jdx = qt[i % len(qt)]
        p = i / steps
        lam = 2.0 / (1.0 + np.exp(-10 * p)) - 1.0
        opt.zero_grad()
        fs, ft = trunk(xs[idx]), trunk(xt[jdx])
        loss = nn.functional.cross_entropy(head(fs), ys[idx])
        d = dom(GradReverse.apply(torch.cat([fs, ft]), lam))
        dl = torch.cat([torch.zeros(len(idx)), torch.ones(len(jdx))]).long()
        loss = loss + nn.functional.cross_entropy(d, dl)
        loss.backward()
        opt.step()
    with torch.no_grad():
        head(trunk(xt)).argmax(1)


class SkadaNet(nn.Module):
    """The same trunk and head; skada calls the module with `sample_weight`."""

    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(256, 256), nn.ReLU())
        self.head = nn.Linear(256, 10)

    def forward(self, X, sample_weight=None):
        return self.head(self.trunk(X))


def skada_dann_epoch():
    from skada.deep import DANN

    torch.manual_seed(0)
    module = SkadaNet()
    clf = DANN(
        module,
        layer_name="trunk",
        reg=1.0,
        num_features=256,  # skada's default domain classifier: 256 -> 100 -> 1, BCE
        batch_size=64,
        max_epochs=1,
        train_split=False,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        verbose=0,
    )
    X = torch.cat([xs, xt]).numpy()
    Y = np.concatenate([ys.numpy(), -np.ones(1800, dtype=np.int64)])
    sd = np.concatenate([np.ones(2000, dtype=np.int64), -2 * np.ones(1800, dtype=np.int64)])
    clf.fit(X, Y, sample_domain=sd)
    clf.predict(xt.numpy(), sample_domain=-2 * np.ones(1800, dtype=np.int64))


reps = int(sys.argv[1]) if len(sys.argv) > 1 else 9
threads = [int(t) for t in sys.argv[2:]] or [1, 2]
print(f"torch {torch.__version__}")
for n in threads:
    torch.set_num_threads(n)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    print(f"threads {n}: torch mlp epoch {median_ms(reps, lambda: mlp_epoch(model, opt, gen)):.1f} ms")
    small = nn.Sequential(
        nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10)
    )
    opt2 = torch.optim.Adam(small.parameters(), lr=1e-3)
    t = median_ms(reps, lambda: mlp_epoch(small, opt2, gen, 128))
    print(f"threads {n}: torch mlp 256-128-64-10 epoch (batch 128) {t:.1f} ms")
    print(f"threads {n}: torch dann epoch {median_ms(min(reps, 5), dann_epoch):.1f} ms")
    try:
        print(f"threads {n}: skada DANN epoch {median_ms(min(reps, 5), skada_dann_epoch):.1f} ms")
    except Exception as e:  # a skada API change is reported, not fatal
        print(f"threads {n}: skada DANN failed: {type(e).__name__}: {e}")
