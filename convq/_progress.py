"""Progress reports and library messages: ``progress=`` on every long-running call, and the
``convq`` logger.

``progress=`` takes

- ``None`` (the default) or ``False``: no progress display of this call's own (None still
  lets an enclosing call -- a model fit around ``minimize``, ``compare`` around ``sgd`` --
  show the inner work in its display; False silences it);
- ``True``: a `tqdm <https://tqdm.github.io>`_ bar on stderr when tqdm is installed
  (``pip install 'convq[progress]'``), otherwise a line ``"<name>: <done>/<total> (<pct>%)"``
  about every 2 seconds through the ``logging`` logger ``convq.progress`` at level INFO
  (written to stderr when logging is not configured). Either appears only once the call
  has run for 0.5 s (tqdm's ``delay=`` idea): a call that ends sooner shows nothing and pays
  nothing for the display -- tqdm is imported and the bar built only then. The environment
  variable ``CONVQ_PROGRESS_DELAY`` (seconds, >= 0) changes that delay; 0 shows every
  call's display from its start, also that of a call too short to poll;
- a callable ``progress(done, total)``: called with two ints, the units of work done so far
  and their total (iterations, walk steps over all chains, minibatches, solver epochs; 0 when
  unknown), at most about 10 times a second while the call runs, and once more at the end
  with ``done == total`` when the call succeeds. An exception it raises stops the call and
  propagates (use it to cancel a run).

How it reaches the C loop. Kernels publish ``done`` and ``total`` in their
``cq_interrupt`` (``cq_check_progress``), which thread 0 polls every few milliseconds of
work anyway (for Ctrl-C). The binding layer's poll (``csrc/python/_call.c``) re-takes the
GIL there; at the kernel's first poll it reads the ContextVar :data:`CURRENT` (this module
sets it for the duration of a call with ``progress=``), and from then on calls the reporter
with ``(done, total)`` at most every 0.1 s. No global mutable state (a ContextVar is per
thread and per asyncio task), nothing changes in the kernel's arithmetic or its random
draws, so results are bit-identical with and without a display.
"""
from __future__ import annotations

import contextlib
import contextvars
import logging
import math
import os
import sys
import time

__all__ = ["CURRENT", "show_progress", "progress_scope", "progress_range", "check_progress", "emit", "logger",
           "fit_with_progress"]

logger = logging.getLogger("convq")
_progress_log = logging.getLogger("convq.progress")

#: The running call's reporter ``reporter(done, total)`` (or None); read by the C poll.
CURRENT: contextvars.ContextVar = contextvars.ContextVar("convq_progress", default=None)

_MIN_INTERVAL = 0.1   # seconds between calls of a user callable
_LOG_INTERVAL = 2.0   # seconds between plain progress lines
_DELAY = 0.5          # seconds a call runs before progress=True shows anything (CONVQ_PROGRESS_DELAY)


def emit(log: logging.Logger, level: int, msg: str) -> None:
    """Send a message the user asked for (``verbose=``, ``progress=True``) through `log`.

    When logging is configured (some handler would see `log`'s records) the record goes
    there, at `level`, and the application's configuration decides; otherwise the line is
    written to stderr, as :data:`logging.lastResort` does for warnings, so that asking for
    output never yields silence."""
    if log.hasHandlers():
        log.log(level, msg)
    else:
        sys.stderr.write(msg + "\n")
        sys.stderr.flush()


def check_progress(progress, name: str = "progress"):
    """Check a ``progress=`` argument: None, a bool, or a callable(done, total)."""
    if progress is None or isinstance(progress, bool) or callable(progress):
        return progress
    raise TypeError(f"{name} must be None, True, False or a callable(done, total), got "
                    f"{type(progress).__name__}")


class _Callable:
    def __init__(self, fn):
        self.fn, self.last = fn, -1.0

    def update(self, done, total, final=False):
        now = time.monotonic()
        if final or now - self.last >= _MIN_INTERVAL:
            self.last = now
            self.fn(int(done), int(total))

    def close(self):
        pass


def _delay():
    """The seconds a call runs before ``progress=True`` shows anything: ``CONVQ_PROGRESS_DELAY``
    when set, else 0.5."""
    raw = os.environ.get("CONVQ_PROGRESS_DELAY")
    if raw is None:
        return _DELAY
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"the environment variable CONVQ_PROGRESS_DELAY must be a number of seconds >= 0, "
                         f"got {raw!r}")
    return value


def _tqdm_class():
    """tqdm.auto.tqdm, or None without tqdm (imported when the first bar is built)."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


class _Shown:
    """progress=True: nothing until the call has run for ``_delay()`` seconds, then the tqdm
    bar (or, without tqdm, log lines every ``_LOG_INTERVAL`` seconds), opened at the first
    update after the delay. A call that ends sooner builds, imports and writes nothing."""

    def __init__(self, desc):
        self.desc = desc
        self.start, self.delay = time.monotonic(), _delay()
        self.bar = self.lines_last = None

    def _open(self, done, total):
        tqdm = _tqdm_class()
        if tqdm is None:
            self.lines_last = -math.inf
        else:
            self.bar = tqdm(total=total or None, initial=int(done), desc=self.desc, leave=False,
                            mininterval=_MIN_INTERVAL)

    def update(self, done, total, final=False):
        if self.bar is None and self.lines_last is None:
            if time.monotonic() - self.start < self.delay:
                return
            self._open(done, total)
        if self.bar is not None:
            if total and self.bar.total != total:
                self.bar.total = total
            self.bar.update(int(done) - self.bar.n)  # tqdm redraws at most every mininterval
            if final:
                self.bar.refresh()
            return
        now = time.monotonic()
        if final or now - self.lines_last >= _LOG_INTERVAL:
            self.lines_last = now
            pct = f" ({100.0 * done / total:.0f}%)" if total else ""
            emit(_progress_log, logging.INFO, f"{self.desc}: {int(done)}/{int(total) if total else '?'}{pct}")

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _sink(progress, desc):
    if progress is True:
        return _Shown(desc)
    return _Callable(progress)


class Reporter:
    """The reporter a call with ``progress=`` publishes in :data:`CURRENT`.

    The C poll calls it as ``reporter(done, total)`` with the running kernel's own units.
    A call made of several kernel runs (``compare``'s repeats, one-vs-all fits) announces
    each with :meth:`stage` (``index`` of ``count`` runs of ``units`` each); the kernel's
    units are then placed at ``index * units`` in a total of ``count * units``."""

    def __init__(self, sink, total):
        self.sink, self.total, self.done = sink, int(total), 0
        self._base = None

    def __call__(self, done, total):
        if self._base is None:
            self.total = int(total) or self.total
            self.done = int(done)
        else:
            base, units = self._base
            self.done = base + (min(units, int(done) * units // int(total)) if total else 0)
        self.sink.update(self.done, self.total)

    def stage(self, index, count, units=1):
        """Enter run `index` (0-based) of `count` runs of `units` each."""
        units = max(1, int(units))
        self._base = (int(index) * units, units)
        self.total = int(count) * units
        self.done = int(index) * units
        self.sink.update(self.done, self.total)

    def finish(self):
        total = self.total or self.done or 1
        self.sink.update(total, total, final=True)


class _Quiet:
    """What :func:`progress_scope` yields when nothing is shown: the same methods, no effect."""

    def stage(self, index, count, units=1):
        pass


def progress_range(n: int, progress, desc: str):
    """``range(n)`` for a Python loop of `n` steps, showing `progress` after each step (the
    loop's own display: nothing is published for the C poll)."""
    progress = check_progress(progress)
    if not progress:
        yield from range(n)
        return
    sink = _sink(progress, desc)
    try:
        for t in range(n):
            yield t
            sink.update(t + 1, n, final=t + 1 == n)
    finally:
        sink.close()


@contextlib.contextmanager
def progress_scope(progress, desc: str, total: int = 0):
    """Run the body with `progress` (see the module docstring) published for the C poll.

    Yields an object with ``stage(index, count, units)``. None leaves an enclosing call's
    reporter in place; False hides it; True or a callable starts a display that ends (with
    ``done == total``) when the body returns normally."""
    progress = check_progress(progress)
    if progress is None:
        yield _Quiet()
        return
    if progress is False:
        token = CURRENT.set(None)
        try:
            yield _Quiet()
        finally:
            CURRENT.reset(token)
        return
    sink = _sink(progress, desc)
    rep = Reporter(sink, total)
    token = CURRENT.set(rep)
    try:
        yield rep
        rep.finish()
    finally:
        CURRENT.reset(token)
        sink.close()


def show_progress(progress=True, desc: str = "convq"):
    """Context manager: show the progress of the convq calls made inside it -- the way to
    watch a scikit-learn-style ``fit`` (whose signature is scikit-learn's), or several calls
    as one display. Each C loop inside reports its own (done, total) as it runs; a call
    inside with its own ``progress=True`` or callable shows its own display instead, one
    with ``progress=False`` stays silent.

    Parameters
    ----------
    progress : True or callable(done, total)
        As ``progress=`` of the long-running calls (module :mod:`convq._progress`).
    desc : str
        The bar's label (or the log lines' prefix).

    Example
    -------
    >>> import numpy as np, convq
    >>> from convq.models import MLPClassifier
    >>> X = np.random.default_rng(0).standard_normal((200, 4)); y = (X[:, 0] > 0).astype(int)
    >>> seen = []
    >>> with convq.show_progress(lambda done, total: seen.append((done, total)), "fit"):
    ...     _ = MLPClassifier(hidden=(8,), epochs=5).fit(X, y)
    >>> seen[-1][0] == seen[-1][1]
    True
    """
    if progress is None or progress is False:
        raise ValueError(f"progress must be True or a callable(done, total) for show_progress, got {progress!r}")
    return progress_scope(progress, desc)


def fit_with_progress(fit):
    """Decorator giving an estimator's ``fit`` a keyword ``progress=None`` (None, bool or
    callable(done, total), as on the other long-running calls): the fit runs inside
    :func:`progress_scope`, so the C loops it calls (``minimize``'s, the MLP's) report to
    it. The wrapped ``fit``'s other arguments and result are unchanged."""
    import functools
    import inspect

    @functools.wraps(fit)
    def wrapper(self, *args, progress=None, **kwargs):
        with progress_scope(progress, f"{type(self).__name__}.fit"):
            return fit(self, *args, **kwargs)
    sig = inspect.signature(fit)
    params = list(sig.parameters.values())
    params.append(inspect.Parameter("progress", inspect.Parameter.KEYWORD_ONLY, default=None))
    wrapper.__signature__ = sig.replace(parameters=params)
    wrapper.__doc__ = (fit.__doc__ or "").rstrip() + (
        "\n\n        ``progress``: None, True (a tqdm bar or log lines) or callable(done, total): the\n"
        "        training loop's progress, reported from the C loop (:mod:`convq._progress`); the\n"
        "        fitted model does not change.")
    return wrapper
