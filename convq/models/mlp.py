"""A multilayer perceptron classifier (the neural network of M. Lagarde, "Machine Learning
Algebra", 2022, section 3).

Hypothesis: A[l] = g[l](W[l] A[l-1] + b[l]), hidden activations sigmoid, tanh, ReLU or
leaky ReLU max(0.001 x, x); the output layer is a softmax with the multinomial cross-entropy
(the default; Bishop, "Pattern Recognition and Machine Learning", 2006, section 5.2) or, as in
the notes, sigmoid units with the cross-entropy of section 3.4,

    J = -(1/m) sum [Y .* ln A[L] + (1 - Y) .* ln(1 - A[L])] + lam/(2m) sum_l ||W[l]||_F^2;

two classes always use one sigmoid unit. The gradient comes from backpropagation (the chain
rule applied layer by layer, section 3.5). The decision rule picks the class of the largest
output. Weights are initialised by Glorot &
Bengio's scaled uniform rule ("Understanding the difficulty of training deep feedforward
neural networks", AISTATS 2010, section 4.2) by default, by He et al.'s ("Delving deep into
rectifiers", ICCV 2015, section 2.2) with ``init="he"``, or by Lagarde's small
uniform rule (W in [-0.002, 0.002], b = 0, section 3.6) with ``init="notes"``.
Training is minibatch Adam (Kingma & Ba, "Adam: a method for stochastic optimization", ICLR
2015, Algorithm 1) or gradient descent with (Nesterov's) momentum in C, in float64 or float32,
optionally with every gradient passed through a convq quantizer (gain-shape,
:class:`convq.quantize.GainShape`: see :mod:`convq.models._quantized`).
"""
from __future__ import annotations

import os
import time
import warnings

import numpy as np

from .. import _core
from .._engine import resolve_engine
from .._progress import fit_with_progress
from .._rng import as_generator
from .._errors import ConvergenceWarning
from .._validation import check_int, check_positive, check_quantizer, check_real, check_threads, is_sparse
from ..slow import models as slow_models
from ._base import BaseEstimator, ClassifierMixin, check_classification_targets, check_fitted, check_X, check_y

__all__ = ["MLPClassifier"]

# the hidden activations: the C enum CQ_ACT_* (csrc/models/cq_mlp.h), exported as _core.MLP_ACT_<NAME>
_ACTIVATIONS = {name[len("MLP_ACT_"):].lower(): getattr(_core, name) for name in dir(_core) if name.startswith("MLP_ACT_")}
_INITS = ("glorot", "he", "notes")
_OUTPUTS = {"softmax": _core.MLP_OUT_SOFTMAX, "sigmoid": _core.MLP_OUT_SIGMOID}
_SOLVERS = {"sgd": _core.MLP_SOLVER_SGD, "adam": _core.MLP_SOLVER_ADAM, "lbfgs": None}
_DEFAULT_LR = {"adam": 1e-3, "sgd": 1e-2, "lbfgs": 1.0}


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


def _c_data(X):
    """X for the C kernels: a dense array as it is, a CSR matrix as its triple (data,
    indices, indptr) with int64 indices (the nonzeros are not copied)."""
    if not is_sparse(X):
        return X
    return (X.data, X.indices.astype(np.int64), X.indptr.astype(np.int64))


def _split_validation(idx, fraction, gen):
    """A stratified validation split: about ``fraction`` of each class's rows (at least one
    row in all, one row left for training), drawn from gen. Returns (train, valid) rows."""
    m = idx.size
    perm = gen.permutation(m)
    labels = idx[perm]
    rank = np.empty(m)
    for c in np.unique(labels):   # position of each row among its class's rows, in (0, 1)
        where = labels == c
        rank[where] = (np.arange(where.sum()) + 0.5) / where.sum()
    valid = rank < fraction
    if not valid.any():
        valid[np.argmin(rank)] = True
    if valid.all():
        raise ValueError(f"validation_fraction={fraction} leaves no row for training out of {m}")
    return np.sort(perm[~valid]), np.sort(perm[valid])


class MLPClassifier(ClassifierMixin, BaseEstimator):
    """Multilayer perceptron classifier (M. Lagarde, "Machine Learning Algebra", section 3).

    A[l] = g(W[l] A[l-1] + b[l]) with hidden activation g, a softmax output layer
    a_k = exp(z_k) / sum_j exp(z_j) with the multinomial cross-entropy -sum_k y_k ln a_k
    (Bishop, "Pattern Recognition and Machine Learning", section 5.2) by default, or the notes'
    sigmoid output units with the cross-entropy of section 3.4 (``output="sigmoid"``); two
    classes use one sigmoid unit either way. The cost is the (weighted) mean cross-entropy
    plus lam/(2m) sum_l ||W[l]||_F^2, its gradient backpropagation (section 3.5).

    The defaults follow scikit-learn's MLPClassifier: Adam (Kingma & Ba, "Adam: a method for
    stochastic optimization", ICLR 2015, Algorithm 1) with learning rate 1e-3, minibatches of
    32, at most 200 epochs, stopping once the epoch cost has not fallen by ``tol`` = 1e-4 for
    more than ``n_iter_no_change`` = 10 epochs. On scikit-learn's digits (standardised, 75/25
    split) they reach 0.97-0.98 test accuracy, as scikit-learn's MLPClassifier does.
    **Changed defaults**: before, the defaults were the notes' algorithm -- sigmoid outputs,
    plain minibatch gradient descent with learning rate 0.05 for exactly 200 epochs; that is
    ``MLPClassifier(output="sigmoid", solver="sgd", momentum=0.0, learning_rate=0.05, tol=None)``.

    Parameters
    ----------
    hidden : tuple of int, default (100,)
        Units of the hidden layers n_h[1..L-1].
    activation : {"relu", "tanh", "sigmoid", "leaky_relu"}, default "relu"
        Hidden-unit activation.
    output : {"softmax", "sigmoid"}, default "softmax"
        Output layer for three or more classes: a softmax with the multinomial cross-entropy,
        or the notes' independent sigmoid units (section 3.4; ``predict_proba`` then
        normalises them to sum to one).
    lam : float >= 0, default 0.0
        Weight penalty lambda of the cost (biases are not penalised).
    solver : {"adam", "sgd", "lbfgs"}, default "adam"
        Adam (Kingma & Ba 2015, Algorithm 1: v <- b1 v + (1 - b1) g, s <- b2 s + (1 - b2) g^2,
        theta -= lr (v / (1 - b1^t)) / (sqrt(s / (1 - b2^t)) + eps)), or minibatch gradient
        descent (section 3.6) with ``momentum`` mu: v <- mu v - lr g, theta += v, or with
        Nesterov's momentum (Sutskever et al., "On the importance of initialization and
        momentum in deep learning", ICML 2013, section 2) theta += mu v - lr g; or full-batch
        L-BFGS (:func:`convq.optimize.minimize` with ``method="lbfgs"``, Nocedal & Wright,
        "Numerical Optimization", Algorithm 7.5) on the whole cost, for at most ``epochs``
        iterations until ||grad J|| <= ``tol`` (as scikit-learn's solver="lbfgs"; no
        quantizer, partial_fit or early stopping; the cost and gradient run in ``dtype``, the
        iteration in float64).
    learning_rate : float > 0 or None, default None
        The step lr; None: 1e-3 for "adam", 1e-2 for "sgd" (unused by "lbfgs").
    momentum : float in [0, 1), default 0.9
        SGD's momentum mu; 0 is plain gradient descent (the notes' rule).
    nesterovs_momentum : bool, default True
        Use Nesterov's momentum (SGD with momentum > 0).
    beta_1, beta_2 : float in [0, 1), default 0.9, 0.999
        Adam's decay rates of the first and second moment estimates.
    epsilon : float > 0, default 1e-8
        Adam's epsilon.
    batch_size : int >= 1, default 32
        Minibatch size; ``m`` (or larger) gives full-batch training.
    epochs : int >= 1, default 200
        Most passes over the data (scikit-learn's ``max_iter``).
    tol : float >= 0 or None, default 1e-4
        Stop once the epoch cost (with ``early_stopping``: the validation accuracy) has not
        improved by tol for more than ``n_iter_no_change`` consecutive epochs (scikit-learn's
        rule); a ConvergenceWarning says when ``epochs`` ran out first. None: run every epoch.
    n_iter_no_change : int >= 1, default 10
        See ``tol``.
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the rows (stratified), score the accuracy on them
        after each epoch, stop by the ``tol`` rule on that score and keep the best network.
    validation_fraction : float in (0, 1), default 0.1
        See ``early_stopping``.
    init : {"glorot", "he", "notes"}, default "glorot"
        Weight initialisation (biases start at 0): "glorot" draws W[l] uniform in
        [-r, r] with r = sqrt(6 / (n_{l-1} + n_l)) (Glorot & Bengio 2010, section 4.2);
        "he" uses r = sqrt(6 / n_{l-1}) for the hidden layers (He et al. 2015, section 2.2);
        "notes" is the small uniform rule of Lagarde's "Machine Learning Algebra" W in [-0.002, 0.002] (section 3.6),
        which keeps deeper or wider networks near the symmetric saddle at 0 and learns
        slowly.
    method : None or str
        Alias of ``solver`` ("sgd" or "adam"); when given it is used instead.
    step : None
        Reserved for a step rule (the learning rate is the step).
    quantizer : convq quantizer or None
        Pass every minibatch gradient through this quantizer (gain-shape: the l_q norm is
        sent as a float32 and the unit-norm shape through the quantizer) before the update
        rule. The bits used are reported in ``bits_``.
    random_state : None, int, numpy.random.SeedSequence or numpy.random.Generator, default 0
        Initialisation, validation split and minibatch order. The default seed 0 makes
        ``fit`` reproducible; None draws fresh OS entropy on every fit; a Generator is
        advanced by each fit.
    rng : None or as random_state
        Alias of ``random_state`` (convq's name); when not None it is used instead.
    class_weight : None, "balanced" or dict, default None
        Weights of the classes, multiplied into ``sample_weight``: "balanced" gives class c
        the weight m / (n_classes * m_c), as scikit-learn.
    warm_start : bool, default False
        ``fit`` starts from the previous fit's weights (same layer sizes and classes) instead
        of a fresh initialisation; the update rule's state starts afresh.
    dtype : "float64" or "float32", default "float64"
        Precision of the whole computation: data, weights, optimiser state and the C kernels
        (float32 halves memory and runs the kernels on twice as many numbers per vector).
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

    ``fit`` and ``partial_fit`` take ``sample_weight`` (the cost becomes
    (1/W) sum_i w_i CE_i + lam/(2W) ||W||^2 with W = sum_i w_i, which for integer weights is
    the cost of the data with row i repeated w_i times) and scipy.sparse X (CSR/CSC): the C
    loop scatters only the rows of the current minibatch into a dense buffer, and
    ``predict`` chunks of 256 rows; X is never densified as a whole.

    Attributes
    ----------
    classes_, n_features_in_, feature_names_in_ (fitted on a DataFrame with string column
    names), coefs_ (list of W[l], shape n_l x n_{l-1}, as in section 3.1), intercepts_ (list
    of b[l]), coef_ (= coefs_), intercept_ (= intercepts_), loss_curve_ (the cost per epoch,
    see epoch_cost), best_loss_, validation_scores_ and best_validation_score_ (early
    stopping), n_iter_ (epochs run), t_ (training rows seen), out_activation_ ("softmax" or
    "logistic"), bits_ (bits of gradient communicated), result_ (a dict summary), theta_
    (flat parameters).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from convq.models import MLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier(hidden=(64,), epochs=30).fit(X / 16, y)
    >>> clf.score(X / 16, y) > 0.95
    True
    """

    def __init__(self, hidden=(100,), activation="relu", output="softmax", lam=0.0, solver="adam",
                 learning_rate=None, momentum=0.9, nesterovs_momentum=True, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 batch_size=32, epochs=200, tol=1e-4, n_iter_no_change=10, early_stopping=False,
                 validation_fraction=0.1, init="glorot", method=None, step=None, quantizer=None, random_state=0,
                 rng=None, class_weight=None, warm_start=False, dtype="float64", epoch_cost="running", threads=None):
        self.hidden = hidden
        self.activation = activation
        self.output = output
        self.lam = lam
        self.solver = solver
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.batch_size = batch_size
        self.epochs = epochs
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.init = init
        self.method = method
        self.step = step
        self.quantizer = quantizer
        self.random_state = random_state
        self.rng = rng
        self.class_weight = class_weight
        self.warm_start = warm_start
        self.dtype = dtype
        self.epoch_cost = epoch_cost
        self.threads = threads

    # -- helpers ---------------------------------------------------------------------
    def _act(self):
        if not isinstance(self.activation, str) or self.activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {self.activation!r}")
        return _ACTIVATIONS[self.activation]

    def _out(self):
        if not isinstance(self.output, str) or self.output not in _OUTPUTS:
            raise ValueError(f"output must be one of {sorted(_OUTPUTS)}, got {self.output!r}")
        return _OUTPUTS[self.output]

    def _dtype(self):
        try:
            dt = None if self.dtype is None else np.dtype(self.dtype)
        except TypeError:
            dt = None
        if dt is None or dt.kind != "f" or dt.itemsize not in (4, 8):
            raise ValueError(f"dtype must be 'float64' or 'float32', got {self.dtype!r}")
        return dt

    @staticmethod
    def _flag(value, name):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False, got {value!r}")
        return bool(value)

    @staticmethod
    def _unit(value, name):
        value = check_real(value, name)
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {value}")
        return value

    def _config(self):
        """The checked training parameters: keyword arguments of the training loops."""
        solver = self.solver if self.method is None else self.method
        if not isinstance(solver, str) or solver not in _SOLVERS:
            what = "solver" if self.method is None else "method (the alias of solver)"
            raise ValueError(f"{what} must be one of {sorted(_SOLVERS)}, got {solver!r}")
        if self.step is not None:
            raise ValueError(f"MLPClassifier's step is its learning_rate; leave step=None, got {self.step!r}")
        if self.epoch_cost not in ("full", "running"):
            raise ValueError(f"epoch_cost must be 'full' or 'running', got {self.epoch_cost!r}")
        if not isinstance(self.init, str) or self.init not in _INITS:
            raise ValueError(f"init must be one of {list(_INITS)}, got {self.init!r}")
        check_quantizer(self.quantizer, "quantizer")
        lr = _DEFAULT_LR[solver] if self.learning_rate is None else check_positive(self.learning_rate, "learning_rate")
        tol = -np.inf if self.tol is None else check_positive(self.tol, "tol", allow_zero=True)
        return dict(lam=check_positive(self.lam, "lam", allow_zero=True), lr=lr,
                    batch=check_int(self.batch_size, "batch_size", minimum=1),
                    solver=_SOLVERS[solver], momentum=self._unit(self.momentum, "momentum"),
                    nesterov=self._flag(self.nesterovs_momentum, "nesterovs_momentum"),
                    beta1=self._unit(self.beta_1, "beta_1"), beta2=self._unit(self.beta_2, "beta_2"),
                    eps=check_positive(self.epsilon, "epsilon"), tol=tol,
                    n_iter_no_change=check_int(self.n_iter_no_change, "n_iter_no_change", minimum=1),
                    running_cost=self.epoch_cost == "running", threads=check_threads(self.threads, "mlp"))

    def _check_X(self, X, reset, dtype):
        """X as a float array of dtype or a CSR matrix of dtype (never densified)."""
        return check_X(X, self, reset=reset, dtype=dtype, accept_sparse=True)

    def _targets(self, idx, K, dtype):
        """The target matrix: one column of 0/1 for two classes, else one-hot."""
        if K == 2:
            return idx.reshape(-1, 1).astype(dtype)
        Y = np.zeros((idx.size, K), dtype=dtype)
        Y[np.arange(idx.size), idx] = 1
        return Y

    def _row_weights(self, sample_weight, idx, m, dtype):
        """sample_weight times the class weights (None when both are absent)."""
        w = None
        if sample_weight is not None:
            w = np.asarray(sample_weight)
            if w.ndim == 0:
                w = np.full(m, w)
            if w.dtype.kind not in "fiub" or w.shape != (m,):
                raise ValueError(f"sample_weight must be a 1-d array of {m} reals, got shape {w.shape} and dtype "
                                 f"{w.dtype}")
            w = w.astype(np.float64)
            if not np.all(np.isfinite(w)) or np.any(w < 0):
                raise ValueError("sample_weight must be finite and >= 0")
        cw = self.class_weight
        if cw is not None:
            K = self.classes_.size
            if isinstance(cw, str) and cw == "balanced":
                per = idx.size / (K * np.maximum(np.bincount(idx, minlength=K), 1))
            elif isinstance(cw, dict):
                per = np.array([float(check_positive(cw.get(c, 1.0), f"class_weight[{c!r}]", allow_zero=True))
                                for c in self.classes_.tolist()])
                unknown = set(cw) - set(self.classes_.tolist())
                if unknown:
                    raise ValueError(f"class_weight names classes not in y: {sorted(map(repr, unknown))}")
            else:
                raise ValueError(f"class_weight must be None, 'balanced' or a dict, got {cw!r}")
            w = per[idx] if w is None else w * per[idx]
        if w is not None and not w.sum() > 0:
            raise ValueError("sample_weight (times class_weight) is zero for every row: no row to learn from")
        return None if w is None else w.astype(dtype)

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

    def _trainer(self, engine):
        c = resolve_engine(engine, self.quantizer is None, "a quantizer runs the gain-shape loop in Python") == "c"
        if self.quantizer is not None:
            from ._quantized import train_mlp_quantized
            return lambda *a, **k: train_mlp_quantized(*a[:9], self.quantizer, *a[10:], **k), c
        return (_core._mlp_train if c else slow_models.mlp_train), c

    # -- the estimator API ----------------------------------------------------------------
    @fit_with_progress
    def fit(self, X, y, sample_weight=None, *, engine="auto"):
        """Train on (X, y) with optional row weights; returns self.

        ``engine``: "auto" or "c" runs the C loop, "python" its NumPy twin
        (:mod:`convq.slow.models`, the same draws; equal weights up to rounding). With a
        quantizer the gain-shape loop runs in Python ("c" is then a ValueError)."""
        return self._fit(X, y, sample_weight, engine, classes=None, incremental=False)

    def partial_fit(self, X, y, classes=None, sample_weight=None, *, engine="auto"):
        """One epoch over (X, y) from the current network and update-rule state (the first
        call initialises both and needs ``classes``, all the labels that will ever be seen,
        as scikit-learn's ``partial_fit``); returns self. The random stream continues from
        call to call; no stopping rule, no early stopping."""
        return self._fit(X, y, sample_weight, engine, classes=classes, incremental=True)

    def _fit(self, X, y, sample_weight, engine, classes, incremental):
        t0 = time.perf_counter()
        cfg = self._config()
        act, out, dtype = self._act(), self._out(), self._dtype()
        epochs = check_int(self.epochs, "epochs", minimum=1)
        warm_start = self._flag(self.warm_start, "warm_start")
        early = self._flag(self.early_stopping, "early_stopping") and not incremental
        first = not (incremental and hasattr(self, "theta_"))
        prev_classes = getattr(self, "classes_", None)
        X = self._check_X(X, first, dtype)
        y = check_y(y, X.shape[0], self)
        check_classification_targets(y)
        if first:
            labels = y if classes is None or not incremental else np.asarray(classes)
            if incremental and classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit (all the labels that will "
                                 "ever be seen)")
            self.classes_ = np.unique(labels)
            if self.classes_.size < 2:
                raise ValueError(f"MLPClassifier needs samples of at least 2 classes in the data, but y contains "
                                 f"only one class: {self.classes_[0]!r}")
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"classes={classes!r} differs from the classes of the first partial_fit call "
                             f"{self.classes_!r}")
        idx = np.searchsorted(self.classes_, y)
        bad = (idx >= self.classes_.size) | (self.classes_[np.minimum(idx, self.classes_.size - 1)] != y)
        if np.any(bad):
            raise ValueError(f"y contains labels not in classes: {np.unique(y[bad])[:5]!r}")
        K = self.classes_.size
        Y = self._targets(idx, K, dtype)
        w = self._row_weights(sample_weight, idx, X.shape[0], dtype)
        sizes = self._sizes(X.shape[1], Y.shape[1])
        if cfg["solver"] is None:
            return self._fit_lbfgs(X, Y, w, sizes, act, out, dtype, cfg, epochs, incremental, t0)
        train, c = self._trainer(engine)
        if first:
            gen = as_generator(self.rng if self.rng is not None else self.random_state)
            if (warm_start and hasattr(self, "theta_") and list(self._sizes_) == sizes and not incremental
                    and np.array_equal(prev_classes, self.classes_)):
                theta = self.theta_.astype(dtype)
            else:
                theta = _init_theta(sizes, act, self.init, gen, c).astype(dtype)
            state = [np.zeros_like(theta), np.zeros_like(theta), 0]
            self.loss_curve_, self.n_iter_, self.t_, self.bits_ = [], 0, 0, 0
        else:
            gen, state, theta = self._gen, self._state, self.theta_.astype(dtype)
            if state[0].dtype != dtype:
                state = [state[0].astype(dtype), state[1].astype(dtype), state[2]]
        kw = dict(cfg)
        threads, tol = kw.pop("threads"), kw.pop("tol")
        n_iter_no_change = kw.pop("n_iter_no_change")
        lam, lr, batch = kw.pop("lam"), kw.pop("lr"), kw.pop("batch")

        def run(theta, Xr, Yr, wr, n, tol_run):
            th, costs, bits, n_run, t = train(sizes, act, theta, _c_data(Xr), Yr, lam, lr, batch, n, None, gen,
                                              threads, output=out, sample_weight=wr, v=state[0], s=state[1],
                                              t=state[2], tol=tol_run, n_iter_no_change=n_iter_no_change, **kw)
            state[2] = t
            self.bits_ += int(bits)
            self.t_ += n_run * Xr.shape[0]
            return th, list(costs[:n_run]), n_run

        if incremental:
            theta, costs, n_run = run(theta, X, Y, w, 1, -np.inf)
            self.loss_curve_ = list(self.loss_curve_) + costs
        elif not early:
            theta, costs, n_run = run(theta, X, Y, w, epochs, tol)
            self.loss_curve_ = costs
        else:
            theta, costs, n_run = self._early_stopping(run, theta, X, Y, w, idx, gen, epochs, tol, n_iter_no_change,
                                                       sizes, act, out)
            self.loss_curve_ = costs
        if not incremental and np.isfinite(tol) and n_run == epochs:
            warnings.warn(f"MLPClassifier: epochs={epochs} ran out before the "
                          f"{'validation score' if early else 'epoch cost'} stopped improving by tol={tol:g} for "
                          f"{n_iter_no_change} epochs; raise epochs (or tol)", ConvergenceWarning, stacklevel=4)
        self._gen, self._state, self._sizes_ = gen, state, sizes
        self.theta_ = theta
        self.n_iter_ = (self.n_iter_ if incremental else 0) + n_run
        self.best_loss_ = float(min(self.loss_curve_)) if not early else None
        self.out_activation_ = "softmax" if out == _core.MLP_OUT_SOFTMAX and K > 2 else "logistic"
        self.coefs_, self.intercepts_ = self._unflatten(theta, sizes)
        self.coef_, self.intercept_ = self.coefs_, self.intercepts_
        self.result_ = {"loss": float(self.loss_curve_[-1]), "epochs": self.n_iter_, "bits": self.bits_,
                        "time": time.perf_counter() - t0}
        return self

    def _fit_lbfgs(self, X, Y, w, sizes, act, out, dtype, cfg, epochs, incremental, t0):
        """Full-batch L-BFGS on the cost (one C cost-and-gradient pass per evaluation)."""
        from ..objectives import Function
        from ..optimize import minimize
        if incremental:
            raise ValueError("partial_fit needs a stochastic solver ('adam' or 'sgd'), got solver='lbfgs'")
        if self.quantizer is not None:
            raise ValueError(f"solver='lbfgs' takes no quantizer (its line search needs exact gradients), got "
                             f"quantizer={self.quantizer!r}")
        gen = as_generator(self.rng if self.rng is not None else self.random_state)
        if self._flag(self.warm_start, "warm_start") and hasattr(self, "theta_") and list(self._sizes_) == sizes:
            theta = self.theta_.astype(float)
        else:
            theta = _init_theta(sizes, self._act(), self.init, gen, True)
        Xc, last = _c_data(X), {}

        def value_grad(th):
            if last.get("x") is None or not np.array_equal(last["x"], th):
                J, g = _core._mlp_cost_grad(sizes, act, th.astype(dtype), Xc, Y, None, cfg["lam"], out, w)
                last.update(x=th.copy(), J=J, g=g.astype(float))
            return last["J"], last["g"]
        obj = Function(lambda th: value_grad(th)[0], lambda th: value_grad(th)[1], dim=theta.size)
        tol = cfg["tol"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)   # one warning, ours, below
            res = minimize(obj, theta, method="lbfgs", tol=max(tol, 0.0), max_iter=epochs)
        if np.isfinite(tol) and not res.success:
            warnings.warn(f"MLPClassifier(solver='lbfgs'): {res.message} after {res.nit} iterations (epochs={epochs}, "
                          f"tol={tol:g})", ConvergenceWarning, stacklevel=5)
        theta = np.ascontiguousarray(res.x, dtype=dtype)
        trace = res.get("trace") or {}
        self.loss_curve_ = [float(f) for f in trace.get("fun", [res.fun])]
        self._gen, self._state, self._sizes_ = gen, [np.zeros_like(theta), np.zeros_like(theta), 0], sizes
        self.theta_, self.n_iter_, self.t_ = theta, int(res.nit), int(res.nit) * X.shape[0]
        self.bits_ = 8 * theta.itemsize * theta.size * int(res.ngev)
        self.best_loss_ = float(res.fun)
        self.out_activation_ = "softmax" if out == _core.MLP_OUT_SOFTMAX and self.classes_.size > 2 else "logistic"
        self.coefs_, self.intercepts_ = self._unflatten(theta, sizes)
        self.coef_, self.intercept_ = self.coefs_, self.intercepts_
        self.result_ = {"loss": float(res.fun), "epochs": self.n_iter_, "bits": self.bits_,
                        "time": time.perf_counter() - t0}
        return self

    def _early_stopping(self, run, theta, X, Y, w, idx, gen, epochs, tol, n_iter_no_change, sizes, act, out):
        """Epoch by epoch on the training rows; after each, the (weighted) accuracy on the
        held-out rows, scikit-learn's rule on it, and the best network kept."""
        frac = check_real(self.validation_fraction, "validation_fraction")
        if not 0.0 < frac < 1.0:
            raise ValueError(f"validation_fraction must be in the open interval (0, 1), got {frac}")
        tr, va = _split_validation(idx, frac, gen)
        w_tr = None if w is None else w[tr]
        if w_tr is not None and not w_tr.sum() > 0:
            raise ValueError("the training rows left after the validation split have total weight 0")
        w_va = np.ones(va.size) if w is None else w[va].astype(float)
        X_tr, Y_tr, X_va = X[tr], Y[tr], _c_data(X[va])
        costs, scores, stop, best = [], [], [np.inf, 0], (-np.inf, theta)
        for _ in range(epochs):
            theta, c, _ = run(theta, X_tr, Y_tr, w_tr, 1, -np.inf)
            costs += c
            A = _core._mlp_forward(sizes, act, theta, X_va, out)
            pred = (A[:, 0] >= 0.5).astype(int) if A.shape[1] == 1 else A.argmax(axis=1)
            score = float(w_va @ (pred == idx[va])) / w_va.sum() if w_va.sum() > 0 else 0.0
            scores.append(score)
            if score > best[0]:
                best = (score, theta.copy())
            if slow_models.no_improvement(-score, tol, n_iter_no_change, stop):
                break
        self.validation_scores_ = scores
        self.best_validation_score_ = best[0]
        return best[1], costs, len(costs)

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
        X = self._check_X(X, False, self.theta_.dtype)
        return _core._mlp_forward(self._sizes_, self._act(), self.theta_, _c_data(X), self._out())

    def predict_proba(self, X):
        """Class probabilities: for two classes [1 - a, a] of the single sigmoid output;
        for K > 2 the softmax outputs (or the K sigmoid outputs normalised to sum to one)."""
        A = self._outputs(X)
        if A.shape[1] == 1:
            return np.hstack([1.0 - A, A])
        return A / A.sum(axis=1, keepdims=True)

    def predict(self, X):
        """The decision rule: the class whose output unit is largest."""
        A = self._outputs(X)
        idx = (A[:, 0] >= 0.5).astype(int) if A.shape[1] == 1 else A.argmax(axis=1)
        return self.classes_[idx]

    def cost(self, X, y, sample_weight=None):
        """The cost (weighted cross-entropy plus weight penalty) of the fitted network on
        (X, y) (labels among classes_)."""
        check_fitted(self, "theta_")
        dtype = self.theta_.dtype
        X = self._check_X(X, False, dtype)
        y = np.asarray(y)
        idx = np.searchsorted(self.classes_, y)
        if np.any(idx >= self.classes_.size) or np.any(self.classes_[np.minimum(idx, self.classes_.size - 1)] != y):
            raise ValueError("y contains labels not seen in fit")
        Y = self._targets(idx, self.classes_.size, dtype)
        w = self._row_weights(sample_weight, idx, X.shape[0], dtype)
        J, _ = _core._mlp_cost_grad(self._sizes_, self._act(), self.theta_, _c_data(X), Y, None, float(self.lam),
                                    self._out(), w)
        return float(J)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        tags.input_tags.sparse = True
        return tags
