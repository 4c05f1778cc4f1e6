"""Twin table: the MLP kernels (csrc/models/cq_mlp.c) against :mod:`convq.slow.models` --
the forward pass, cost (14) with its gradient, and ``MLPClassifier.fit`` with
``engine="c"`` against ``engine="python"``.

Tolerances: initialisation and the minibatch order are the same draws (equal bit for bit);
C's matrix products use fused multiply-adds in another order, so outputs, costs and
gradients agree to rtol 1e-12 and weights after training to rtol 1e-9 of the largest
weight (a few epochs on small nets: the measured gap is ~1e-15)."""
from __future__ import annotations

import numpy as np

import convq.slow.models as slow
from _twin import Twin
from convq import _core
from convq.models import MLPClassifier


def _data():
    r = np.random.default_rng(3)
    X = r.standard_normal((150, 4))
    X[7] *= 1e3                                  # one huge row: saturated units
    y2 = (X[:, 0] + X[:, 1] > 0).astype(int)
    y3 = np.digitize(X[:, 2], [-0.5, 0.5])
    return X, y2, y3


def _nets(rng):
    X, y2, y3 = _data()
    Y2 = y2.reshape(-1, 1).astype(float)
    Y3 = np.eye(3)[y3]
    for sizes, Y in (([4, 1], Y2), ([4, 6, 1], Y2), ([4, 5, 5, 3], Y3), ([4, 1, 1, 3], Y3)):
        for act in (0, 1, 2, 3):
            theta = slow.mlp_init(sizes, act, np.random.default_rng(act))
            for scale in (1.0, 300.0, 1e5):       # 1e5: every unit saturated, log(0) clipped
                yield sizes, act, theta * scale, X, Y


def _kernel_cases(rng, with_rows):
    for sizes, act, theta, X, Y in _nets(rng):
        if not with_rows:
            yield (sizes, act, theta, X)
            continue
        for rows in (None, np.array([7]), np.array([0, 0, 149]), rng.integers(0, 150, 40)):
            for lam in (0.0, 0.7):
                yield (sizes, act, theta, X, Y, rows, lam)


def _fit(engine):
    # init="notes" (weights in +-0.002): the loop is compared from the C draw and its twin.
    # Glorot's init is drawn in Python for both engines, and its larger weights put ReLU
    # inputs near their kink, where a last-bit difference of the two engines' sums can flip
    # an activation and the runs then part by more than rounding.
    # rule: the notes' plain gradient descent, Nesterov's momentum, or Adam; the softmax output
    # and row weights take part in the last ones
    rules = {"gd": dict(solver="sgd", momentum=0.0, learning_rate=0.5, output="sigmoid"),
             "nesterov": dict(solver="sgd", momentum=0.9, learning_rate=0.05),
             "adam": dict(solver="adam", learning_rate=0.01)}

    def fit(X, y, hidden, activation, batch_size, lam, epoch_cost, rng, rule="gd", weighted=False):
        m = MLPClassifier(hidden=hidden, activation=activation, batch_size=batch_size, lam=lam, epochs=4,
                          epoch_cost=epoch_cost, rng=rng, threads=1, init="notes", tol=None, **rules[rule])
        w = np.arange(len(y)) % 3 + 0.5 if weighted else None
        m.fit(X, y, sample_weight=w, engine=engine)
        return m.theta_, m.loss_curve_, m.bits_
    return fit


def _fit_cases(rng):
    X, y2, y3 = _data()
    Xs = X[np.arange(150) != 7]
    for y in (y2[np.arange(150) != 7], y3[np.arange(150) != 7]):
        for hidden, act in (((6,), "relu"), ((5, 5), "tanh"), ((3,), "sigmoid"), ((4, 2), "leaky_relu")):
            for batch, cost in ((16, "running"), (64, "full"), (149, "running"), (1000, "full"), (1, "running")):
                yield (Xs, y, hidden, act, batch, 0.1, cost, int(rng.integers(2**31)))
    yield (X[:3], np.array([0, 1, 0]), (2,), "relu", 2, 0.0, "full", 0)              # three rows
    for rule in ("nesterov", "adam"):
        for y in (y2[np.arange(150) != 7], y3[np.arange(150) != 7]):
            for batch, weighted in ((16, False), (100, True), (149, True)):
                yield (Xs, y, (5,), "tanh", batch, 0.1, "running", 7, rule, weighted)


def _fit_bad():
    X, y2, _ = _data()
    return [(X, y2, (0,), "relu", 16, 0.0, "running", 0), (X, y2, (3,), "softmax", 16, 0.0, "running", 0),
            (X, y2, (3,), "relu", 0, 0.0, "running", 0), (X, y2, (3,), "relu", 16, -1.0, "running", 0),
            (X, np.zeros(150), (3,), "relu", 16, 0.0, "running", 0), (X[:, :0], y2, (3,), "relu", 16, 0.0, "full", 0)]


def _kernel_bad():
    X, y2, _ = _data()
    Y = y2.reshape(-1, 1).astype(float)
    th = slow.mlp_init([4, 3, 1], 2, np.random.default_rng(0))
    return [([4, 3, 1], 2, th[:-1], X, Y, None, 0.0), ([4, 3, 1], 9, th, X, Y, None, 0.0),
            ([4, 3, 1], 2, th, X[:, :3], Y, None, 0.0), ([4, 3, 1], 2, th, X, Y, np.zeros(0, np.int64), 0.0),
            ([4, 0, 1], 2, th, X, Y, None, 0.0),
            ([4], 2, th, X, Y, None, 0.0)]


TWINS = [
    Twin("mlp forward", _core._mlp_forward, slow.mlp_forward, lambda rng: _kernel_cases(rng, False),
         lambda: [a[:4] for a in _kernel_bad() if a[5] is None], rtol=1e-12),
    Twin("mlp cost and gradient", _core._mlp_cost_grad, slow.mlp_cost_grad, lambda rng: _kernel_cases(rng, True),
         _kernel_bad, rtol=1e-12),
    Twin("MLPClassifier.fit", _fit("c"), _fit("python"), _fit_cases, _fit_bad, rtol=1e-9),
]
