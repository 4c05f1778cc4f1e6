"""progress= on the long-running calls: reported from inside the C loop, bounded in rate,
never changing a result; library messages go through the ``convq`` logger."""
import logging
import re
from pathlib import Path

import numpy as np
import pytest

import convq
from convq import _progress
from convq.models import LogisticRegression, MLPClassifier
from convq.objectives import LeastSquares
from convq.optimize import lasso, lasso_path, minimize, svm_dual_cd
from convq.sampling import Box, Gaussian, ball_walk, grid_walk, hit_and_run
from convq.stochastic import bernoulli_product_problem, compare, compare_budgets, mirror_descent, sgd


def _problem():
    return bernoulli_product_problem(20, 2.0, rng=0)


def _sgd(progress):
    return sgd(_problem(), np.zeros(20), 400_000, "theory", rng=1, progress=progress)


def _walk(fn, progress):
    dens, body = Gaussian(np.zeros(3), np.eye(3)), Box(-np.ones(3), np.ones(3))
    args = (dens, body, 0.05) if fn is not hit_and_run else (dens, body)
    return fn(*args, n_steps=200_000, n_chains=2, rng=3, threads=1, progress=progress)


def _lsq():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 30))
    return X, X @ rng.standard_normal(30) + 0.1 * rng.standard_normal(400)


def _clf():
    X, y = _lsq()
    return X, (y > np.median(y)).astype(int)


def _train(progress):
    """One rank (SelfComm stand-in, no MPI): rank 0 shows the steps."""
    from _distributed_problem import SelfComm   # tests/ is on sys.path, as for test_distributed.py
    from convq.distributed import train
    from convq.objectives import Logistic
    X, y = _clf()
    return train(Logistic(X, y, lam=1.0), np.zeros(30), 300, 0.05, comm=SelfComm(), batch=8, rng=3,
                 progress=progress)


CALLS = {
    "sgd": (_sgd, lambda r: (r.x, r.trace["fun"])),
    "mirror_descent": (lambda p: mirror_descent(bernoulli_product_problem(20, 1.5, rng=0), np.zeros(20), 50_000,
                                                1.5, "theory", rng=1, progress=p), lambda r: (r.x,)),
    "grid_walk": (lambda p: _walk(grid_walk, p), lambda c: (c.samples, c.n_accept)),
    "ball_walk": (lambda p: _walk(ball_walk, p), lambda c: (c.samples, c.n_accept)),
    "hit_and_run": (lambda p: _walk(hit_and_run, p), lambda c: (c.samples, c.n_accept)),
    "minimize": (lambda p: minimize(LeastSquares(*_lsq()), np.zeros(30), method="gd", tol=0, max_iter=3000,
                                    progress=p), lambda r: (r.x, r.trace["fun"])),
    "lasso": (lambda p: lasso(*_lsq(), 1.0, progress=p), lambda r: (r.x,)),
    "LogisticRegression.fit": (lambda p: LogisticRegression(lam=1.0).fit(*_clf(), progress=p),
                               lambda m: (m.coef_, m.intercept_)),
    "MLPClassifier.fit": (lambda p: MLPClassifier(hidden=(16,), epochs=60, rng=0).fit(*_clf(), progress=p),
                          lambda m: (m.theta_, m.loss_curve_)),
    "svm_dual_cd": (lambda p: svm_dual_cd(*_clf(), rng=0, progress=p), lambda r: (r.x, r.alpha)),
    "lasso_path": (lambda p: lasso_path(*_lsq(), n_mus=10, progress=p), lambda r: (r.coefs,)),
    "distributed.train": (lambda p: _train(p), lambda r: (r.x, r.trace["fun"])),
    "compare_budgets": (lambda p: compare_budgets(_problem(), [8, 16], 20_000, repeats=2, rng=0, progress=p),
                        lambda c: tuple(r["subopt_mean"] for r in c.rows)),
    "compare": (lambda p: compare(_problem(), {"unquantized": None}, 20_000, repeats=2, rng=0, progress=p),
                lambda c: (c.rows[0]["finals"],)),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_progress_reports_and_changes_nothing(name):
    """progress=callable gets (done, total) ints ending at done == total; the result is
    bit-identical to the run without progress and to the run with progress=False."""
    run, key = CALLS[name]
    seen = []
    with_cb = key(run(lambda done, total: seen.append((done, total))))
    for other in (key(run(None)), key(run(False))):
        for a, b in zip(with_cb, other):
            assert np.array_equal(a, b)
    assert seen, "no progress report"
    assert all(isinstance(d, int) and isinstance(t, int) for d, t in seen)
    assert seen[-1][0] == seen[-1][1] > 0
    assert all(0 <= d <= t for d, t in seen)


def test_progress_comes_from_the_c_loop_at_a_bounded_rate():
    """A long C run reports intermediate counts (not just the end), at most ~10 per second."""
    import time
    seen = []
    t0 = time.perf_counter()
    r = sgd(bernoulli_product_problem(50, 2.0, rng=0), np.zeros(50), 1_000_000, "theory", rng=1,
            record_every=1_000_000, progress=lambda d, t: seen.append((d, t)))
    wall = time.perf_counter() - t0
    middle = [d for d, t in seen if 0 < d < t]
    assert len(seen) <= wall / _progress._MIN_INTERVAL + 2
    assert middle and middle == sorted(middle) and seen[-1] == (r.nit, r.nit)


def test_progress_true_draws_a_tqdm_bar(capsys, monkeypatch):
    pytest.importorskip("tqdm")
    monkeypatch.setenv("CONVQ_PROGRESS_DELAY", "0")     # the bar from the call's start
    r0, r1 = _sgd(None), _sgd(True)
    assert np.array_equal(r0.x, r1.x)
    err = capsys.readouterr().err
    assert "sgd" in err and "400000" in err


def test_progress_true_shows_nothing_before_its_delay(capsys, monkeypatch):
    """progress=True builds its display only once the call has run for the delay (0.5 s by
    default): a shorter call imports, builds and writes nothing (before, every call paid
    for creating and closing a tqdm bar: 6 ms on a 13 ms walk); a call that runs longer
    than the delay gets the bar from the C loop's next report."""
    built, real = [], _progress._tqdm_class

    def counted():
        built.append(1)
        return real()
    monkeypatch.setattr(_progress, "_tqdm_class", counted)
    monkeypatch.delenv("CONVQ_PROGRESS_DELAY", raising=False)
    short = sgd(_problem(), np.zeros(20), 1000, "theory", rng=1, progress=True)
    assert built == [] and capsys.readouterr().err == ""
    assert np.array_equal(short.x, sgd(_problem(), np.zeros(20), 1000, "theory", rng=1).x)
    pytest.importorskip("tqdm")
    monkeypatch.setenv("CONVQ_PROGRESS_DELAY", "0.05")   # the C loop reports every 0.1 s
    long = sgd(bernoulli_product_problem(50, 2.0, rng=0), np.zeros(50), 3_000_000, "theory", rng=1,
               record_every=3_000_000, progress=True)
    assert built == [1] and "3000000" in capsys.readouterr().err
    assert np.array_equal(long.x, sgd(bernoulli_product_problem(50, 2.0, rng=0), np.zeros(50), 3_000_000, "theory",
                                      rng=1, record_every=3_000_000).x)


@pytest.mark.parametrize("bad", ["-1", "soon", "nan"])
def test_a_bad_progress_delay_names_the_variable(monkeypatch, bad):
    monkeypatch.setenv("CONVQ_PROGRESS_DELAY", bad)
    with pytest.raises(ValueError, match="CONVQ_PROGRESS_DELAY must be a number of seconds >= 0"):
        sgd(_problem(), np.zeros(20), 10, "theory", rng=1, progress=True)


def test_progress_true_without_tqdm_logs_lines(monkeypatch, caplog):
    """Without tqdm, progress=True logs "<name>: done/total (pct%)" on convq.progress."""
    monkeypatch.setenv("CONVQ_PROGRESS_DELAY", "0")
    import builtins
    real_import = builtins.__import__

    def no_tqdm(name, *a, **k):
        if name.startswith("tqdm"):
            raise ImportError(name)
        return real_import(name, *a, **k)
    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    with caplog.at_level(logging.INFO, logger="convq.progress"):
        _sgd(True)
    lines = [r.getMessage() for r in caplog.records if r.name == "convq.progress"]
    assert lines and lines[-1] == "sgd: 400000/400000 (100%)"


def test_progress_without_logging_configured_goes_to_stderr(monkeypatch, capsys):
    log = logging.getLogger("convq.test-emit")
    monkeypatch.setattr(log, "hasHandlers", lambda: False)
    _progress.emit(log, logging.INFO, "hello")
    assert capsys.readouterr().err == "hello\n"


def test_a_raising_progress_callable_stops_the_run():
    class Stop(Exception):
        pass

    def cb(done, total):
        if 0 < done < total:
            raise Stop
    with pytest.raises(Stop):
        sgd(_problem(), np.zeros(20), 5_000_000, "theory", rng=1, progress=cb)
    assert _progress.CURRENT.get() is None   # the scope was left cleanly


def test_enclosing_scope_sees_inner_calls_and_false_hides_them():
    seen = []
    with _progress.progress_scope(lambda d, t: seen.append((d, t)), "outer"):
        _sgd(None)
    assert seen[-1] == (400_000, 400_000)   # the inner kernel's units reached the outer display
    hidden = []
    with _progress.progress_scope(lambda d, t: hidden.append((d, t)), "outer"):
        _sgd(False)
    assert hidden == [(1, 1)]   # only the outer scope's own end


@pytest.mark.parametrize("bad", [3, "x", 1.5])
def test_bad_progress_is_a_type_error(bad):
    with pytest.raises(TypeError, match="progress must be None, True, False or a callable"):
        sgd(_problem(), np.zeros(20), 10, 0.1, progress=bad)


def test_library_code_does_not_print():
    """Library messages go through logging; print() is left to the command-line front ends
    (the demo, ``python -m convq``, the distributed CLI), whose stdout IS their output."""
    front_ends = {"demo.py", "__main__.py", "_cli.py"}
    root = Path(convq.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        if path.name in front_ends:
            continue
        for i, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if re.search(r"(?<![\w.])print\(", code) and ">>>" not in line:
                offenders.append(f"{path.relative_to(root)}:{i}")
    assert offenders == []


def test_verbose_minimize_logs_on_the_convq_logger(caplog):
    with caplog.at_level(logging.INFO, logger="convq"):
        minimize(LeastSquares(*_lsq()), np.zeros(30), method="bb", verbose=True)
    assert any(r.name == "convq.optimize" and "[convq.minimize]" in r.getMessage() for r in caplog.records)


def test_stage_places_a_kernel_report_inside_its_run():
    """compare-style stages: run 1 of 4 runs of 10 units; a kernel at 500/1000 is half of it."""
    seen = []
    rep = _progress.Reporter(_progress._Callable(lambda d, t: seen.append((d, t))), 0)
    rep.stage(1, 4, 10)
    rep.sink.last = -1.0
    rep(500, 1000)
    assert seen[-1] == (15, 40)


def test_fit_warnings_still_point_at_the_caller():
    """fit's progress= wrapper adds a frame: the warnings' stacklevel accounts for it."""
    X, y = _clf()
    from convq._errors import ConvergenceWarning
    with pytest.warns(ConvergenceWarning) as rec:
        LogisticRegression(max_iter=2).fit(X, y)
    with pytest.warns(Warning) as rec2:
        LogisticRegression().fit(X, y[:, None])
    assert {Path(w.filename).name for w in list(rec) + list(rec2)} == {Path(__file__).name}


def test_a_call_too_short_to_poll_still_ends_complete():
    """The C loop polls every few milliseconds; a run that ends before its first poll still
    gives the display its final (total, total) (before, the enclosing display never saw the
    inner units when the machine was fast enough, so the test above was timing-dependent)."""
    seen = []
    with _progress.progress_scope(lambda d, t: seen.append((d, t)), "outer"):
        sgd(_problem(), np.zeros(20), 10, "theory", rng=1)
    assert (10, 10) in seen
