"""A multilayer perceptron classifier (the neural network of M. Lagarde, "Machine Learning
Algebra", 2022, section 3).

Hypothesis: A[l] = g[l](W[l] A[l-1] + b[l]), hidden activations sigmoid, tanh, ReLU or
leaky ReLU max(0.001 x, x), sigmoid output units; the cost is the cross-entropy of the
outputs plus a weight penalty,

    J = -(1/m) sum [Y .* ln A[L] + (1 - Y) .* ln(1 - A[L])] + lam/(2m) sum_l ||W[l]||_F^2;

its gradient comes from backpropagation (the chain rule applied layer by layer, section 3.5).
The decision rule picks the class of the largest output. Weights are initialised by Glorot &
Bengio's scaled uniform rule ("Understanding the difficulty of training deep feedforward
neural networks", AISTATS 2010, section 4.2) by default, by He et al.'s ("Delving deep into
rectifiers", ICCV 2015, section 2.2) with ``init="he"``, or by Lagarde's small
uniform rule (W in [-0.002, 0.002], b = 0, section 3.6) with ``init="notes"``.
Training is minibatch gradient descent in C, optionally with every gradient passed through a
convq quantizer (gain-shape, :class:`convq.quantize.GainShape`: see :mod:`convq.models._quantized`).
"""
from __future__ import annotations

import os
import time

import numpy as np

from .. import _core
from .._engine import resolve_engine
from .._rng import as_generator
from .._progress import fit_with_progress
from .._validation import check_int, check_positive, check_quantizer, check_threads
from ..slow import models as slow_models
from ._base import BaseEstimator, ClassifierMixin, check_classification_targets, check_fitted, check_X, check_X_y

__all__ = ["MLPClassifier"]

# the hidden activations: the C enum CQ_ACT_* (csrc/models/cq_mlp.h), exported as _core.MLP_ACT_<NAME>
_ACTIVATIONS = {name[len("MLP_ACT_"):].lower(): getattr(_core, name) for name in dir(_core) if name.startswith("MLP_ACT_")}
_INITS = ("glorot", "he", "notes")


def _init_theta(sizes, act, init, gen, c=True):
    """Initial flat parameter vector (layer by layer: W[l] transposed, then b[l] = 0).

    "glorot": W uniform in [-r, r], r = sqrt(6 / (n_{l-1} + n_l)) (Glorot & Bengio 2010,
    section 4.2); "he": r = sqrt(6 / n_{l-1}) for the hidden layers (He et al. 2015,
    section 2.2; the variance 2 / n_{l-1} suited to rectifiers) and Glorot's r for the
    sigmoid output layer; "notes": W uniform in [-0.002, 0.002] (Lagarde, "Machine
    Learning Algebra", section 3.6)."""
    if init == "notes":   # the C draw, or its NumPy twin (the same draws) for engine="python"
        return (_core._mlp_init if c else slow_models.mlp_init)(sizes, act, gen)
    parts = []
    for l in range(1, len(sizes)):
        n_in, n_out = sizes[l - 1], sizes[l]
        fan = n_in if (init == "he" and l < len(sizes) - 1) else n_in + n_out
        r = np.sqrt(6.0 / fan)
        parts.append(gen.uniform(-r, r, size=n_in * n_out))
        parts.append(np.zeros(n_out))
    return np.ascontiguousarray(np.concatenate(parts))


class MLPClassifier(ClassifierMixin, BaseEstimator):
    """Multilayer perceptron classifier (M. Lagarde, "Machine Learning Algebra", section 3).

    The defaults (one hidden layer of 100 ReLU units, Glorot initialisation, learning rate
    0.05, minibatches of 32, 200 epochs -- scikit-learn's ``max_iter`` -- seed 0) learn the
    usual small data sets: 0.97-0.98 test accuracy on scikit-learn's digits and 0.89-1.0 on
    iris (mean 0.94) over five stratified 75/25 splits of the raw features. As with any
    network trained by plain gradient descent, standardised features train most reliably;
    features of very different scales (in the thousands) need standardising or a smaller
    learning rate.

    Parameters
    ----------
    hidden : tuple of int, default (100,)
        Units of the hidden layers n_h[1..L-1].
    activation : {"relu", "tanh", "sigmoid", "leaky_relu"}, default "relu"
        Hidden-unit activation; the output units are sigmoids.
    lam : float >= 0, default 0.0
        Weight penalty lambda of the cost (biases are not penalised).
    learning_rate : float > 0, default 0.05
        Step alpha of the gradient update (section 3.6).
    batch_size : int >= 1, default 32
        Minibatch size; ``m`` (or larger) gives full-batch gradient descent.
    epochs : int >= 1, default 200
        Passes over the data.
    init : {"glorot", "he", "notes"}, default "glorot"
        Weight initialisation (biases start at 0): "glorot" draws W[l] uniform in
        [-r, r] with r = sqrt(6 / (n_{l-1} + n_l)) (Glorot & Bengio 2010, section 4.2);
        "he" uses r = sqrt(6 / n_{l-1}) for the hidden layers (He et al. 2015, section 2.2);
        "notes" is the small uniform rule of Lagarde's "Machine Learning Algebra" W in [-0.002, 0.002] (section 3.6),
        which keeps deeper or wider networks near the symmetric saddle at 0 and learns
        slowly at these defaults.
    method : {"sgd"}, default "sgd"
        Minibatch gradient descent (the algorithm of section 3.6).
    step : None
        Reserved for a step rule (the learning rate is the step of "sgd").
    quantizer : convq quantizer or None
        Pass every minibatch gradient through this quantizer (gain-shape: the l_q norm is
        sent as a float32 and the unit-norm shape through the quantizer). The bits used are
        reported in ``bits_``.
    rng : None, int, numpy.random.SeedSequence or numpy.random.Generator, default 0
        Initialisation and minibatch order. The default seed 0 makes ``fit`` reproducible
        (refitting gives the same network, as scikit-learn's estimator checks require);
        None draws fresh OS entropy on every fit; a Generator is advanced by each fit.
    epoch_cost : {"running", "full"}, default "running"
        What ``loss_curve_`` records after each epoch: "running" is step 1 of section
        3.6 -- the cost computed by each forward pass -- i.e. the mean over the epoch's
        minibatches of their cross-entropy (each at the weights that batch saw) plus the
        penalty at the epoch's end (scikit-learn's ``loss_curve_`` too), at no extra cost;
        "full" is the cost on the whole training set after the epoch (one extra forward
        pass per epoch).
    threads : None or int
        Threads of the C training loop (None: 1, measured fastest; see
        :func:`convq.default_threads`). A minibatch of >= 64 rows is split into two fixed
        halves combined in a fixed order, so the result does not
        depend on the number of threads.

    Attributes
    ----------
    classes_, n_features_in_, coefs_ (list of W[l], shape n_l x n_{l-1}, as in section 3.1),
    intercepts_ (list of b[l]), coef_ (= coefs_), intercept_ (= intercepts_),
    loss_curve_ (the cost per epoch, see epoch_cost), n_iter_ (epochs run),
    bits_ (bits of gradient communicated), result_ (a dict summary), theta_ (flat parameters).
    """

    def __init__(self, hidden=(100,), activation="relu", lam=0.0, learning_rate=0.05, batch_size=32,
                 epochs=200, init="glorot", method="sgd", step=None, quantizer=None, rng=0,
                 epoch_cost="running", threads=None):
        self.hidden = hidden
        self.activation = activation
        self.lam = lam
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.init = init
        self.method = method
        self.step = step
        self.quantizer = quantizer
        self.rng = rng
        self.epoch_cost = epoch_cost
        self.threads = threads

    # -- helpers ---------------------------------------------------------------------
    def _act(self):
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {self.activation!r}")
        return _ACTIVATIONS[self.activation]

    def _targets(self, y):
        check_classification_targets(y)
        classes, idx = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise ValueError(f"MLPClassifier needs samples of at least 2 classes in the data, but y "
                             f"contains only one class: {classes[0]!r}")
        if classes.size == 2:
            Y = idx.reshape(-1, 1).astype(np.float64)  # one sigmoid output for two classes
        else:
            Y = np.zeros((idx.size, classes.size))
            Y[np.arange(idx.size), idx] = 1.0
        return classes, Y

    def _sizes(self, n_in, n_out):
        if isinstance(self.hidden, (str, bytes)) or self.hidden is None:
            raise TypeError(f"hidden must be a tuple of layer sizes such as (100,), got {self.hidden!r}")
        try:
            hidden = (self.hidden,) if np.isscalar(self.hidden) else tuple(self.hidden)
        except TypeError:
            raise TypeError(f"hidden must be a tuple of layer sizes such as (100,), got "
                            f"{type(self.hidden).__name__}") from None
        if len(hidden) > 31:
            raise ValueError(f"hidden must have at most 31 layers, got {len(hidden)}")
        for h in hidden:
            check_int(h, "hidden layer size", minimum=1, maximum=2**31 - 1)
        sizes = [int(n_in)] + [int(h) for h in hidden] + [int(n_out)]
        n_params = sum((sizes[l - 1] + 1) * sizes[l] for l in range(1, len(sizes)))
        try:
            mem = int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
        except (AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX
            mem = 2**40
        if 8 * 4 * n_params > mem:  # theta, its gradient, the update and a copy
            raise ValueError(f"hidden = {tuple(hidden)} gives {n_params} parameters, more than this machine's "
                             f"{mem / 2**30:.3g} GiB of memory can train")
        return sizes

    # -- the estimator API ----------------------------------------------------------------
    @fit_with_progress
    def fit(self, X, y, *, engine="auto"):
        """Train by minibatch gradient descent on the cross-entropy cost; returns self.

        ``engine``: "auto" or "c" runs the C loop, "python" its NumPy twin
        (:mod:`convq.slow.models`, the same draws; equal weights up to rounding). With a
        quantizer the gain-shape loop runs in Python ("c" is then a ValueError)."""
        t0 = time.perf_counter()
        X, y = check_X_y(X, y, self)
        act = self._act()
        lam = check_positive(self.lam, "lam", allow_zero=True)
        lr = check_positive(self.learning_rate, "learning_rate")
        batch = check_int(self.batch_size, "batch_size", minimum=1)
        epochs = check_int(self.epochs, "epochs", minimum=1)
        if self.method != "sgd":
            raise ValueError(f"method must be 'sgd' (minibatch gradient descent), got {self.method!r}")
        if self.step is not None:
            raise ValueError("MLPClassifier's step is its learning_rate; leave step=None")
        if self.epoch_cost not in ("full", "running"):
            raise ValueError(f"epoch_cost must be 'full' or 'running', got {self.epoch_cost!r}")
        running = self.epoch_cost == "running"
        check_quantizer(self.quantizer, "quantizer")
        if not isinstance(self.init, str) or self.init not in _INITS:
            raise ValueError(f"init must be one of {list(_INITS)}, got {self.init!r}")
        self.classes_, Y = self._targets(y)
        sizes = self._sizes(X.shape[1], Y.shape[1])
        gen = as_generator(self.rng)
        c = resolve_engine(engine, self.quantizer is None, "a quantizer runs the gain-shape loop in Python") == "c"
        theta = _init_theta(sizes, act, self.init, gen, c)
        if self.quantizer is None:
            theta, costs, bits = (_core._mlp_train if c else slow_models.mlp_train)(
                sizes, act, theta, X, Y, lam, lr, batch, epochs, None, gen, check_threads(self.threads, "mlp"), running)
        else:
            from ._quantized import train_mlp_quantized
            theta, costs, bits = train_mlp_quantized(sizes, act, theta, X, Y, lam, lr, batch, epochs,
                                                     self.quantizer, gen, running=running)
        self._sizes_ = sizes
        self.theta_ = theta
        self.loss_curve_ = costs
        self.n_iter_ = epochs
        self.bits_ = int(bits)
        self.coefs_, self.intercepts_ = self._unflatten(theta, sizes)
        self.coef_, self.intercept_ = self.coefs_, self.intercepts_
        self.result_ = {"loss": float(costs[-1]), "epochs": epochs, "bits": int(bits),
                        "time": time.perf_counter() - t0}
        return self

    @staticmethod
    def _unflatten(theta, sizes):
        coefs, intercepts, off = [], [], 0
        for l in range(1, len(sizes)):
            n_in, n_out = sizes[l - 1], sizes[l]
            WT = theta[off:off + n_in * n_out].reshape(n_in, n_out)
            off += n_in * n_out
            coefs.append(WT.T.copy())
            intercepts.append(theta[off:off + n_out].copy())
            off += n_out
        return coefs, intercepts

    def _outputs(self, X):
        check_fitted(self, "theta_")
        X = check_X(X, self)
        return _core._mlp_forward(self._sizes_, self._act(), self.theta_, X)

    def predict_proba(self, X):
        """Class probabilities: for two classes [1 - a, a] of the single sigmoid output;
        for K > 2 the K sigmoid outputs normalised to sum to one."""
        A = self._outputs(X)
        if A.shape[1] == 1:
            return np.hstack([1.0 - A, A])
        return A / A.sum(axis=1, keepdims=True)

    def predict(self, X):
        """The decision rule: the class whose output unit is largest."""
        A = self._outputs(X)
        idx = (A[:, 0] >= 0.5).astype(int) if A.shape[1] == 1 else A.argmax(axis=1)
        return self.classes_[idx]

    def cost(self, X, y):
        """The cross-entropy cost plus weight penalty of the fitted network on (X, y)
        (labels among classes_)."""
        check_fitted(self, "theta_")
        X = check_X(X, self)
        y = np.asarray(y)
        idx = np.searchsorted(self.classes_, y)
        if np.any(idx >= self.classes_.size) or np.any(self.classes_[np.minimum(idx, self.classes_.size - 1)] != y):
            raise ValueError("y contains labels not seen in fit")
        K = self._sizes_[-1]
        Y = idx.reshape(-1, 1).astype(float) if K == 1 else np.eye(K)[idx]
        J, _ = _core._mlp_cost_grad(self._sizes_, self._act(), self.theta_, X, Y, None, float(self.lam))
        return float(J)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags
