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


def test_check_estimator_at_default_parameters():
    from sklearn.utils.estimator_checks import check_estimator
    # No check is skipped, and the estimator is the default one.
    res = check_estimator(MLPClassifier(), on_fail=None)
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
