"""MLPClassifier (notes section 3): backprop against finite differences, digits accuracy,
the softmax output, momentum / Nesterov / Adam against NumPy, early stopping, sample and
class weights, partial_fit, warm_start, sparse X, float32, scikit-learn conventions,
quantized training, bad input."""
import warnings

import numpy as np
import pytest

from convq import _core
from convq.models import ConvergenceWarning, MLPClassifier, NotFittedError, f1_score, project
from convq.slow import models as slow

# the notes' algorithm: sigmoid outputs, plain minibatch gradient descent, every epoch run
NOTES = dict(output="sigmoid", solver="sgd", momentum=0.0, tol=None)

ACTS = {"sigmoid": 0, "tanh": 1, "relu": 2, "leaky_relu": 3}


def _ref_cost(sizes, act, theta, X, Y, lam):
    """Slow NumPy twin of cost (14) in the notes' orientation (W[l] is n_l x n_{l-1})."""
    g = {0: lambda z: 1 / (1 + np.exp(-z)), 1: np.tanh, 2: lambda z: np.maximum(z, 0),
         3: lambda z: np.maximum(0.001 * z, z)}[act]
    A, off, pen = X.T, 0, 0.0
    for l in range(1, len(sizes)):
        n_in, n_out = sizes[l - 1], sizes[l]
        W = theta[off:off + n_in * n_out].reshape(n_in, n_out).T
        off += n_in * n_out
        b = theta[off:off + n_out]
        off += n_out
        Z = W @ A + b[:, None]
        A = 1 / (1 + np.exp(-Z)) if l == len(sizes) - 1 else g(Z)
        pen += np.sum(W * W)
    m = X.shape[0]
    return -np.sum(Y.T * np.log(A) + (1 - Y.T) * np.log(1 - A)) / m + lam / (2 * m) * pen


@pytest.mark.c_heavy
@pytest.mark.parametrize("act", list(ACTS))
def test_backprop_matches_finite_differences_and_numpy_twin(act, rng):
    sizes = [5, 6, 4, 3]
    X = rng.normal(size=(9, 5))
    Y = (rng.random((9, 3)) < 0.5).astype(float)
    theta = rng.normal(size=_core._mlp_n_params(sizes)) * 0.7
    J, g = _core._mlp_cost_grad(sizes, ACTS[act], theta, X, Y, None, 0.4)
    assert J == pytest.approx(_ref_cost(sizes, ACTS[act], theta, X, Y, 0.4), rel=1e-12)
    h = 1e-6
    fd = np.array([(_core._mlp_cost_grad(sizes, ACTS[act], theta + h * e, X, Y, None, 0.4)[0]
                    - _core._mlp_cost_grad(sizes, ACTS[act], theta - h * e, X, Y, None, 0.4)[0]) / (2 * h)
                   for e in np.eye(theta.size)])
    # Central differences have error O(h^2) ~ 1e-12 plus rounding ~1e-10 / h: 1e-6 relative is safe.
    assert np.max(np.abs(fd - g)) <= 1e-6 * np.max(np.abs(g))


@pytest.mark.c_heavy
def test_minibatch_gradient_uses_the_batch_rows(rng):
    sizes = [3, 4, 2]
    X = rng.normal(size=(10, 3))
    Y = (rng.random((10, 2)) < 0.5).astype(float)
    theta = rng.normal(size=_core._mlp_n_params(sizes))
    rows = np.array([7, 2, 2, 9])
    J1, g1 = _core._mlp_cost_grad(sizes, 2, theta, X, Y, rows, 0.0)
    J2, g2 = _core._mlp_cost_grad(sizes, 2, theta, X[rows], Y[rows], None, 0.0)
    assert J1 == J2
    np.testing.assert_array_equal(g1, g2)
    # The penalty keeps lam/(2m) with m = all rows, so minibatch costs average to the full cost.
    Jr, gr = _core._mlp_cost_grad(sizes, 2, theta, X, Y, rows, 0.7)
    pen = sum(np.sum(W ** 2) for W in MLPClassifier._unflatten(theta, sizes)[0])
    assert Jr == pytest.approx(J1 + 0.7 / 20 * pen, rel=1e-12)
    full = _core._mlp_cost_grad(sizes, 2, theta, X, Y, None, 0.7)[0]
    halves = [_core._mlp_cost_grad(sizes, 2, theta, X, Y, np.arange(5) + 5 * h, 0.7)[0] for h in (0, 1)]
    assert np.mean(halves) == pytest.approx(full, rel=1e-12)
    with pytest.raises(IndexError):
        _core._mlp_cost_grad(sizes, 2, theta, X, Y, np.array([10]), 0.1)


def _digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    sc = StandardScaler().fit(Xtr)
    return sc.transform(Xtr), sc.transform(Xte), ytr, yte


def test_digits_accuracy():
    """Stated architecture and seed: 64 -> 64 (relu) -> 10, lam = 1, lr = 0.5, batch 32,
    60 epochs, rng = 0; test accuracy >= 0.95 on a stratified 25 % split."""
    Xtr, Xte, ytr, yte = _digits()
    clf = MLPClassifier(hidden=(64,), activation="relu", lam=1.0, learning_rate=0.5, batch_size=32,
                        epochs=60, rng=0, **NOTES).fit(Xtr, ytr)
    assert clf.score(Xte, yte) >= 0.95
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    assert clf.coefs_[0].shape == (64, 64) and clf.coefs_[1].shape == (10, 64)
    assert clf.bits_ == 60 * int(np.ceil(Xtr.shape[0] / 32)) * 64 * clf.theta_.size
    P = clf.predict_proba(Xte)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    np.testing.assert_array_equal(clf.classes_[P.argmax(axis=1)], clf.predict(Xte))


def test_initialisation_follows_the_notes():
    theta = _core._mlp_init([30, 20, 5], 2, np.random.default_rng(0))
    clf = MLPClassifier()
    coefs, intercepts = clf._unflatten(theta, [30, 20, 5])
    for W in coefs:
        assert np.all(np.abs(W) <= 0.002) and W.std() > 0.0005
    for b in intercepts:
        assert np.all(b == 0)


def test_seeded_fit_is_reproducible(rng):
    X = rng.normal(size=(80, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    a = MLPClassifier(hidden=(8,), epochs=30, rng=3).fit(X, y)
    b = MLPClassifier(hidden=(8,), epochs=30, rng=3).fit(X, y)
    np.testing.assert_array_equal(a.theta_, b.theta_)


@pytest.mark.c_heavy
def test_threads_do_not_change_the_result_and_split_batches_are_exact(rng):
    X = rng.normal(size=(300, 5))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    # batch 100 >= 64: split into two halves on the threads, combined in a fixed order
    fits = [MLPClassifier(hidden=(7,), epochs=5, batch_size=100, rng=4, threads=t).fit(X, y) for t in (1, 2, 3)]
    for f in fits[1:]:
        np.testing.assert_array_equal(f.theta_, fits[0].theta_)
        np.testing.assert_array_equal(f.loss_curve_, fits[0].loss_curve_)
    # the split gradient equals the whole-batch gradient: one epoch of full-batch GD (m = 300
    # rows, one batch) from the same start matches theta - lr * grad computed in one piece
    sizes, lr, lam = [5, 7, 1], 0.3, 0.2
    theta0 = _core._mlp_init(sizes, 2, np.random.default_rng(0))
    Y = y.reshape(-1, 1).astype(float)
    th, costs, _, n_run, _ = _core._mlp_train(sizes, 2, theta0, X, Y, lam, lr, 300, 1, None, np.random.default_rng(1), 2)
    assert n_run == 1
    _, g = _core._mlp_cost_grad(sizes, 2, theta0, X, Y, None, lam)
    np.testing.assert_allclose(th, theta0 - lr * g, rtol=1e-12, atol=1e-15)
    assert costs[0] == pytest.approx(_core._mlp_cost_grad(sizes, 2, th, X, Y, None, lam)[0], rel=1e-12)


@pytest.mark.parametrize("quantized", [False, True], ids=["float64", "quantized"])
def test_check_estimator_at_default_parameters(quantized):
    from sklearn.utils.estimator_checks import check_estimator
    from convq.quantize import SimQ
    # No check is skipped, and the estimator is the default one (with a quantizer: the
    # quantized variant, every minibatch gradient through GainShape(SimQ)).
    est = MLPClassifier(quantizer=SimQ(B=1.0)) if quantized else MLPClassifier()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = check_estimator(est, on_fail=None)
    failed = [(r["check_name"], str(r["exception"])) for r in res if r["status"] == "failed"]
    assert failed == []


@pytest.mark.parametrize("loader, splits, worst", [("load_digits", 1, 0.95), ("load_iris", 5, 0.85)])
def test_defaults_learn_digits_and_iris(loader, splits, worst):
    """MLPClassifier() with no argument learns the usual data sets on raw features (stratified
    25 % test splits; the defaults are seeded, so the accuracies are fixed): on iris every one
    of five splits, not one lucky split (100 epochs gave 0.68 on one of them)."""
    import sklearn.datasets
    from sklearn.model_selection import train_test_split
    X, y = getattr(sklearn.datasets, loader)(return_X_y=True)
    scores = []
    for seed in range(splits):
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # iris: 200 epochs are not quite enough
            clf = MLPClassifier().fit(Xtr, ytr)
        scores.append(clf.score(Xte, yte))
        assert clf.loss_curve_[-1] < 0.5 * clf.loss_curve_[0]
    assert min(scores) >= worst and np.mean(scores) >= 0.9, scores


def test_init_options(rng):
    X = rng.normal(size=(40, 30))
    y = np.arange(40) % 5
    for init, bound in [("glorot", lambda a, b: np.sqrt(6 / (a + b))), ("notes", lambda a, b: 0.002),
                        ("he", lambda a, b: np.sqrt(6 / a))]:
        clf = MLPClassifier(hidden=(20,), epochs=1, learning_rate=1e-12, init=init, rng=1).fit(X, y)
        W = clf.coefs_[0]  # 20 x 30, moved by at most 1e-12 from its initial values
        r = bound(30, 20)
        assert np.all(np.abs(W) <= r + 1e-9) and W.std() > 0.4 * r
    with pytest.raises(ValueError, match="init must be one of"):
        MLPClassifier(init="xavier").fit(X, y)


def test_pipeline_and_grid_search():
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] - X[:, 2] > 0).astype(int)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden=(6,), epochs=40, rng=0))
    gs = GridSearchCV(pipe, {"mlpclassifier__lam": [0.0, 1.0]}, cv=3).fit(X, y)
    assert gs.best_score_ > 0.8


def test_bad_input():
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = np.arange(20) % 2
    with pytest.raises(NotFittedError):
        MLPClassifier().predict(X)
    with pytest.raises(ValueError, match="NaN"):
        MLPClassifier().fit(np.where(X > 1, np.nan, X), y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        MLPClassifier().fit(X, y[:-1])
    with pytest.raises(ValueError, match="continuous"):
        MLPClassifier().fit(X, X[:, 0])
    with pytest.raises(ValueError, match="one class"):
        MLPClassifier().fit(X, np.ones(20))
    clf = MLPClassifier(epochs=2, rng=0).fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features, but MLPClassifier is expecting 3"):
        clf.predict(X[:, :2])
    with pytest.raises(ValueError, match="activation"):
        MLPClassifier(activation="gelu").fit(X, y)
    with pytest.raises(ValueError, match="learning_rate"):
        MLPClassifier(learning_rate=0).fit(X, y)
    with pytest.raises(ValueError, match="diverged"):
        MLPClassifier(learning_rate=1e200, epochs=3, hidden=(4,), rng=0).fit(X * 1e100, y)


def test_f1_score_matches_sklearn(rng):
    from sklearn.metrics import f1_score as sk_f1
    for _ in range(20):
        t = rng.integers(0, 2, 50)
        p = rng.integers(0, 2, 50)
        assert f1_score(t, p) == pytest.approx(sk_f1(t, p))
    assert f1_score([0, 0], [0, 0]) == 0.0
    with pytest.raises(ValueError):
        f1_score([1, 0], [1])


def test_project():
    np.testing.assert_allclose(project([2.0, 3.0], [1.0, 0.0]), [2.0, 0.0])
    x, y = np.array([1.0, 2.0, 3.0]), np.array([1.0, -1.0, 2.0])
    p = project(x, y)
    assert np.dot(x - p, y) == pytest.approx(0.0, abs=1e-14)
    with pytest.raises(ValueError, match="zero vector"):
        project(x, np.zeros(3))


def test_running_epoch_cost(rng):
    """epoch_cost="running": the batch-size-weighted mean of the epoch's minibatch
    cross-entropies + the end-of-epoch penalty; with one batch per epoch it is the cost
    at the epoch's starting weights, i.e. the previous "full" entry."""
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] > 0).astype(int)
    kw = dict(hidden=(5,), lam=0.0, epochs=4, batch_size=120, rng=2)
    full = MLPClassifier(epoch_cost="full", **kw).fit(X, y)
    run = MLPClassifier(**kw).fit(X, y)          # the default
    assert run.epoch_cost == "running"
    np.testing.assert_array_equal(run.theta_, full.theta_)
    np.testing.assert_allclose(run.loss_curve_[1:], full.loss_curve_[:-1], rtol=1e-12)
    for bs in (16, 100):  # small batches (one piece) and split batches (two halves)
        a = MLPClassifier(hidden=(5,), lam=0.5, epochs=3, batch_size=bs, rng=2, epoch_cost="running").fit(X, y)
        assert np.all(np.isfinite(a.loss_curve_)) and a.loss_curve_[-1] < a.loss_curve_[0]
    with pytest.raises(ValueError, match="epoch_cost"):
        MLPClassifier(epoch_cost="sometimes").fit(X, y)


# ---- softmax output, update rules, stopping, weights, partial_fit, sparse, float32 --------------

SOFTMAX, SIGMOID = _core.MLP_OUT_SOFTMAX, _core.MLP_OUT_SIGMOID


def _fd_grad(f, theta, h=1e-6):
    return np.array([(f(theta + h * e) - f(theta - h * e)) / (2 * h) for e in np.eye(theta.size)])


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("act", ["tanh", "relu"])
def test_softmax_cross_entropy_gradient_matches_finite_differences(act, weighted, rng):
    sizes = [4, 5, 3]
    X = rng.normal(size=(11, 4))
    Y = np.eye(3)[rng.integers(0, 3, 11)]
    w = rng.uniform(0.0, 3.0, 11) if weighted else None
    theta = rng.normal(size=_core._mlp_n_params(sizes)) * 0.7
    rows = np.array([1, 4, 4, 9])

    def J(th, r=None):
        return _core._mlp_cost_grad(sizes, ACTS[act], th, X, Y, r, 0.3, SOFTMAX, w)[0]
    for r in (None, rows):
        Jc, g = _core._mlp_cost_grad(sizes, ACTS[act], theta, X, Y, r, 0.3, SOFTMAX, w)
        fd = _fd_grad(lambda th: J(th, r), theta)
        # central differences: error O(h^2) + rounding 1e-16 / h, far below 1e-6 of the gradient
        assert np.max(np.abs(fd - g)) <= 1e-6 * np.max(np.abs(g))
    # the cost itself, from its definition: (1/W) sum_i w_i (-ln softmax_i[y_i]) + lam/(2W) sum ||W||^2
    coefs, ints = MLPClassifier._unflatten(theta, sizes)
    H = X @ coefs[0].T + ints[0]
    H = np.tanh(H) if act == "tanh" else np.maximum(H, 0)
    Z = H @ coefs[1].T + ints[1]
    logp = Z - Z.max(axis=1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(axis=1, keepdims=True))
    ww = np.ones(11) if w is None else w
    ref = -(ww * (Y * logp).sum(axis=1)).sum() / ww.sum() + 0.3 / (2 * ww.sum()) * sum(np.sum(C ** 2) for C in coefs)
    assert J(theta) == pytest.approx(ref, rel=1e-12)


def _numpy_rule(rule, theta, grads, lr, mu=0.9, b1=0.9, b2=0.999, eps=1e-8):
    """The update rules written out from their papers, one gradient at a time."""
    theta, v, s = theta.copy(), np.zeros_like(theta), np.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        if rule == "adam":          # Kingma & Ba 2015, Algorithm 1
            v = b1 * v + (1 - b1) * g
            s = b2 * s + (1 - b2) * g ** 2
            theta = theta - lr * (v / (1 - b1 ** t)) / (np.sqrt(s / (1 - b2 ** t)) + eps)
        else:                       # momentum: v = mu v - lr g; theta += v (Nesterov: += mu v - lr g)
            v = mu * v - lr * g
            theta = theta + (mu * v - lr * g if rule == "nesterov" else v)
    return theta


@pytest.mark.parametrize("rule", ["adam", "momentum", "nesterov"])
def test_update_rules_match_numpy_reference(rule, rng):
    """Full-batch training in C for a few steps equals the rule applied in NumPy to the
    gradients of the same iterates (1e-12)."""
    sizes, m = [3, 6, 3], 40
    X = rng.normal(size=(m, 3))
    Y = np.eye(3)[rng.integers(0, 3, m)]
    theta0 = rng.normal(size=_core._mlp_n_params(sizes)) * 0.5
    kw = dict(solver=_core.MLP_SOLVER_ADAM if rule == "adam" else _core.MLP_SOLVER_SGD, momentum=0.9,
              nesterov=rule == "nesterov", output=SOFTMAX)
    lr, lam = 0.05, 0.2
    theta, grads = theta0.copy(), []
    for step in range(1, 6):
        th, costs, bits, n_run, t = _core._mlp_train(sizes, 1, theta0, X, Y, lam, lr, m, step, None,
                                                     np.random.default_rng(0), **kw)
        assert n_run == step and t == (step if rule == "adam" else 0)
        grads.append(_core._mlp_cost_grad(sizes, 1, theta, X, Y, None, lam, SOFTMAX)[1])
        theta = _numpy_rule(rule, theta0, grads, lr)
        np.testing.assert_allclose(th, theta, rtol=0, atol=1e-12 * np.abs(theta).max())
    # the state carries over: 2 + 3 steps in two calls equal 5 steps in one
    v, s = np.zeros_like(theta0), np.zeros_like(theta0)
    th2, _, _, _, t2 = _core._mlp_train(sizes, 1, theta0, X, Y, lam, lr, m, 2, None, np.random.default_rng(0),
                                        v=v, s=s, **kw)
    th5, _, _, _, _ = _core._mlp_train(sizes, 1, th2, X, Y, lam, lr, m, 3, None, np.random.default_rng(0),
                                       v=v, s=s, t=t2, **kw)
    np.testing.assert_allclose(th5, theta, rtol=0, atol=1e-12 * np.abs(theta).max())


def test_default_digits_accuracy_is_comparable_to_sklearn():
    """MLPClassifier() (softmax, Adam, lr 1e-3, batch 32, <= 200 epochs, tol 1e-4) on
    standardised digits, stratified 25 % test split: 0.9778 after 71 epochs (the tol rule).
    scikit-learn 1.9's MLPClassifier(batch_size=32, random_state=0), same size (64-100-10),
    scores 0.9756 after 68 epochs on the same split. Margin: 0.96."""
    Xtr, Xte, ytr, yte = _digits()
    clf = MLPClassifier().fit(Xtr, ytr)
    assert clf.score(Xte, yte) >= 0.96
    assert clf.out_activation_ == "softmax" and clf.n_iter_ < 200
    np.testing.assert_allclose(clf.predict_proba(Xte).sum(axis=1), 1.0, rtol=1e-12)


def test_tol_stops_and_warns_only_when_epochs_run_out(rng):
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = MLPClassifier(hidden=(8,), learning_rate=0.05, tol=1e-2, n_iter_no_change=3).fit(X, y)
    assert clf.n_iter_ < 200 and len(clf.loss_curve_) == clf.n_iter_
    # the rule: the run stopped at the first epoch whose count of non-improving epochs exceeded 3
    state = [np.inf, 0]
    stops = [slow.no_improvement(c, 1e-2, 3, state) for c in clf.loss_curve_]
    assert stops[-1] and not any(stops[:-1])
    with pytest.warns(ConvergenceWarning, match="epochs=5 ran out"):
        MLPClassifier(hidden=(8,), epochs=5).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        assert MLPClassifier(hidden=(8,), epochs=5, tol=None).fit(X, y).n_iter_ == 5


def test_early_stopping_stops_and_keeps_the_best_network(rng):
    X = rng.normal(size=(300, 4))
    y = (X[:, 0] + 0.5 * rng.normal(size=300) > 0).astype(int)   # noisy labels: validation accuracy plateaus
    clf = MLPClassifier(hidden=(16,), early_stopping=True, n_iter_no_change=5, learning_rate=0.01,
                        validation_fraction=0.2).fit(X, y)
    scores = clf.validation_scores_
    assert clf.n_iter_ < 200 and len(scores) == clf.n_iter_ == len(clf.loss_curve_)
    assert clf.best_validation_score_ == max(scores) and clf.best_loss_ is None
    # it stopped after more than 5 epochs without a gain of tol over the best score
    assert np.all(np.array(scores[-6:]) < max(scores[:-6]) + 1e-4)
    # partial_fit never stops early
    p = MLPClassifier(hidden=(4,), early_stopping=True).partial_fit(X, y, classes=[0, 1])
    assert p.n_iter_ == 1 and not hasattr(p, "validation_scores_")


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_integer_sample_weight_equals_row_duplication(solver, rng):
    """Full-batch training: weights w_i in {0, 1, 2, 3} give the network of the data with
    row i repeated w_i times (zero: removed), to 1e-10; class_weight="balanced" is
    scikit-learn's balanced sample weights."""
    X = rng.normal(size=(50, 3))
    y = rng.integers(0, 3, 50)
    w = rng.integers(0, 4, 50)
    kw = dict(hidden=(5,), epochs=8, batch_size=1000, tol=None, solver=solver, lam=0.5, learning_rate=0.05)
    a = MLPClassifier(**kw).fit(X, y, sample_weight=w)
    b = MLPClassifier(**kw).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    np.testing.assert_allclose(a.theta_, b.theta_, rtol=0, atol=1e-10)
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-10)
    assert a.cost(X, y, sample_weight=w) == pytest.approx(b.cost(np.repeat(X, w, axis=0), np.repeat(y, w)), rel=1e-10)
    from sklearn.utils.class_weight import compute_sample_weight
    c = MLPClassifier(class_weight="balanced", **kw).fit(X, y)
    d = MLPClassifier(**kw).fit(X, y, sample_weight=compute_sample_weight("balanced", y))
    np.testing.assert_array_equal(c.theta_, d.theta_)
    e = MLPClassifier(class_weight={0: 2.0}, **kw).fit(X, y)
    f = MLPClassifier(**kw).fit(X, y, sample_weight=np.where(y == 0, 2.0, 1.0))
    np.testing.assert_array_equal(e.theta_, f.theta_)


def test_partial_fit_continues_the_run(rng):
    X = rng.normal(size=(60, 3))
    y = np.array(["a", "b", "c"])[rng.integers(0, 3, 60)]
    kw = dict(hidden=(6,), batch_size=100, tol=None, learning_rate=0.01)
    with pytest.raises(ValueError, match="classes must be passed"):
        MLPClassifier(**kw).partial_fit(X, y)
    p = MLPClassifier(**kw)
    for _ in range(4):
        p.partial_fit(X, y, classes=["a", "b", "c"])
    f = MLPClassifier(epochs=4, **kw).fit(X, y)
    # full batch: the Adam state carries over, so 4 calls of one epoch are 4 epochs
    np.testing.assert_allclose(p.theta_, f.theta_, rtol=0, atol=1e-12)
    np.testing.assert_allclose(p.loss_curve_, f.loss_curve_, rtol=1e-12)
    assert p.n_iter_ == 4 and p.t_ == 240
    # a first batch may miss classes that later ones bring
    q = MLPClassifier(hidden=(4,)).partial_fit(X[y == "a"], y[y == "a"], classes=["a", "b", "c"])
    q.partial_fit(X, y)
    assert list(q.classes_) == ["a", "b", "c"] and q.predict_proba(X).shape == (60, 3)
    with pytest.raises(ValueError, match="labels not in classes"):
        q.partial_fit(X, np.where(y == "a", "z", y))


def test_warm_start_starts_from_the_previous_network(rng):
    X = rng.normal(size=(80, 3))
    y = (X[:, 1] > 0).astype(int)
    clf = MLPClassifier(hidden=(5,), epochs=20, tol=None, warm_start=True).fit(X, y)
    first = clf.theta_.copy()
    clf.set_params(learning_rate=1e-12, epochs=1).fit(X, y)
    assert np.max(np.abs(clf.theta_ - first)) < 1e-9
    cold = MLPClassifier(hidden=(5,), epochs=1, tol=None, learning_rate=1e-12).fit(X, y)
    assert np.max(np.abs(cold.theta_ - first)) > 1e-3


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_X_equals_dense(fmt, rng):
    """Sparse X trains and predicts as its dense copy (the C loop scatters one minibatch of
    rows at a time; predict works in chunks of 256 rows)."""
    import scipy.sparse
    X = rng.normal(size=(600, 20)) * (rng.random((600, 20)) < 0.1)
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
    Xs = getattr(scipy.sparse, f"{fmt}_matrix")(X)
    kw = dict(hidden=(7,), epochs=3, batch_size=100, tol=None, epoch_cost="full")
    d = MLPClassifier(**kw).fit(X, y)
    s = MLPClassifier(**kw).fit(Xs, y)
    np.testing.assert_allclose(s.theta_, d.theta_, rtol=0, atol=1e-10)
    np.testing.assert_allclose(s.loss_curve_, d.loss_curve_, rtol=1e-10)
    np.testing.assert_allclose(d.predict_proba(Xs), d.predict_proba(X), rtol=0, atol=1e-12)
    assert d.cost(Xs, y) == pytest.approx(d.cost(X, y), rel=1e-12)
    w = rng.uniform(0.5, 2.0, 600)
    np.testing.assert_allclose(MLPClassifier(early_stopping=True, **kw).fit(Xs, y, sample_weight=w).theta_,
                               MLPClassifier(early_stopping=True, **kw).fit(X, y, sample_weight=w).theta_,
                               rtol=0, atol=1e-10)
    # the cost and gradient on all 600 rows of sparse X run in chunks of 256 scattered rows
    sizes, th = d._sizes_, d.theta_
    csr = scipy.sparse.csr_matrix(X)
    trip = (csr.data, csr.indices.astype(np.int64), csr.indptr.astype(np.int64))
    Y = np.eye(3)[y]
    for rows in (None, rng.integers(0, 600, 300)):
        Jd, gd = _core._mlp_cost_grad(sizes, 2, th, X, Y, rows, 0.3, SOFTMAX, w)
        Js, gs = _core._mlp_cost_grad(sizes, 2, th, trip, Y, rows, 0.3, SOFTMAX, w)
        assert Js == pytest.approx(Jd, rel=1e-12)
        np.testing.assert_allclose(gs, gd, rtol=0, atol=1e-12 * np.abs(gd).max())
    bad = scipy.sparse.csr_matrix(X)
    bad.data[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        MLPClassifier(**kw).fit(bad, y)


def test_float32_agrees_with_float64(rng):
    """float32 end to end: the C kernels run in float32 (theta, gradients, outputs are
    float32) and agree with float64 to float32 precision on a small network."""
    sizes = [5, 8, 3]
    X = rng.normal(size=(30, 5))
    Y = np.eye(3)[rng.integers(0, 3, 30)]
    theta = rng.normal(size=_core._mlp_n_params(sizes)) * 0.5
    for out in (SOFTMAX, SIGMOID):
        J64, g64 = _core._mlp_cost_grad(sizes, 2, theta, X, Y, None, 0.1, out)
        J32, g32 = _core._mlp_cost_grad(sizes, 2, theta.astype(np.float32), X.astype(np.float32),
                                        Y.astype(np.float32), None, 0.1, out)
        assert g32.dtype == np.float32 and J32 == pytest.approx(J64, rel=1e-5)
        np.testing.assert_allclose(g32, g64, rtol=0, atol=1e-5 * np.abs(g64).max())
    with pytest.raises(TypeError, match="float32"):   # no silent rounding of float64 data
        _core._mlp_cost_grad(sizes, 2, theta.astype(np.float32), X, Y, None, 0.1)
    y = Y.argmax(axis=1)
    kw = dict(hidden=(8,), epochs=5, batch_size=10, tol=None, learning_rate=0.01)
    a = MLPClassifier(dtype="float32", **kw).fit(X, y)
    b = MLPClassifier(**kw).fit(X, y)
    assert a.theta_.dtype == np.float32 and a.predict_proba(X).dtype == np.float32
    np.testing.assert_allclose(a.theta_, b.theta_, rtol=0, atol=1e-4 * np.abs(b.theta_).max())
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=0, atol=1e-4)


def test_random_state_rng_alias_and_feature_names(rng):
    pd = pytest.importorskip("pandas")
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    kw = dict(hidden=(4,), epochs=3, tol=None)
    np.testing.assert_array_equal(MLPClassifier(random_state=5, **kw).fit(X, y).theta_,
                                  MLPClassifier(rng=5, **kw).fit(X, y).theta_)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    clf = MLPClassifier(**kw).fit(df, y)
    assert list(clf.feature_names_in_) == ["a", "b", "c"] and clf.n_features_in_ == 3
    with pytest.raises(ValueError, match="feature names should match"):
        clf.predict(df[["b", "a", "c"]])
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        clf.predict(X)


def test_lbfgs_solver(rng):
    """solver="lbfgs": full-batch L-BFGS on the cost until ||grad J|| <= tol (digits, 64-32-10:
    0.967 test accuracy after 20 iterations; scikit-learn's solver="lbfgs" at the same size:
    0.967 after 17)."""
    import scipy.sparse
    Xtr, Xte, ytr, yte = _digits()
    clf = MLPClassifier(solver="lbfgs", hidden=(32,)).fit(Xtr, ytr)
    assert clf.score(Xte, yte) >= 0.95 and clf.n_iter_ <= 200
    Y = np.eye(10)[np.searchsorted(clf.classes_, ytr)]
    _, g = _core._mlp_cost_grad(clf._sizes_, ACTS["relu"], clf.theta_, Xtr, Y, None, 0.0, SOFTMAX)
    assert np.linalg.norm(g) <= 1e-4
    X = rng.normal(size=(300, 6)) * (rng.random((300, 6)) < 0.3)
    y = (X[:, 0] > 0).astype(int)
    kw = dict(solver="lbfgs", hidden=(4,), epochs=15, tol=None)
    np.testing.assert_allclose(MLPClassifier(**kw).fit(scipy.sparse.csr_matrix(X), y).theta_,
                               MLPClassifier(**kw).fit(X, y).theta_, rtol=0, atol=1e-8)
    with pytest.warns(ConvergenceWarning, match="lbfgs"):
        MLPClassifier(solver="lbfgs", hidden=(4,), epochs=3).fit(X, y)
    with pytest.raises(ValueError, match="partial_fit needs a stochastic solver"):
        MLPClassifier(solver="lbfgs").partial_fit(X, y, classes=[0, 1])
    from convq.quantize import SimQ
    with pytest.raises(ValueError, match="quantizer"):
        MLPClassifier(solver="lbfgs", quantizer=SimQ(B=1.0)).fit(X, y)
