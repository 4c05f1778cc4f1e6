r"""Error feedback for biased (or any) compressors: EF-SGD and EF21.

A compressor C that is not unbiased (TopK, ScaledSign) makes SGD stall or diverge: the part
of the gradient it drops is lost for good. Error feedback keeps that part and adds it to the
next gradient, so that nothing is lost, only delayed.

* :class:`ErrorFeedback` -- EF-SGD (Karimireddy, Rebjock, Stich and Jaggi, "Error Feedback
  Fixes SignSGD and other Gradient Compression Schemes", ICML 2019, Algorithm 2). Each worker
  keeps its error :math:`e`; for a gradient :math:`g` it sends

  .. math:: m = C(g + e), \qquad e \leftarrow (g + e) - \hat m ,

  where :math:`\hat m` is the decoded message; the server averages the :math:`\hat m`.
  The paper runs the recursion on :math:`p = \gamma g + e` (the step inside); convq keeps
  the error in gradient units, which is the same method for a constant step (and what
  PyTorch's PowerSGD hook does).
* :class:`EF21` -- EF21 (Richtárik, Sokolov and Fatkhullin, "EF21: A New, Simpler,
  Theoretically Better, and Practically Faster Error Feedback", NeurIPS 2021, Algorithm 1).
  Worker i keeps an estimate :math:`g_i` of its gradient and sends the compressed
  *difference*; the server keeps :math:`g = \frac1N\sum_i g_i`:

  .. math:: c_i = C(\nabla f_i(x) - g_i), \quad g_i \leftarrow g_i + \hat c_i, \quad
            g \leftarrow g + \frac1N \sum_i \hat c_i ,

  and steps along :math:`g`. Estimates start at 0.

Both wrap a convq quantizer and are accepted wherever one is
(:func:`convq.stochastic.sgd`, :func:`convq.distributed.train`,
:func:`convq.torch.quantized_hook`). Their state is per worker (a ``key``: the rank, a DDP
parameter, ...) and round-trips through :meth:`state_dict` / :meth:`load_state_dict`.
"""
from __future__ import annotations

import numpy as np

from ._validation import check_finite
from .quantize import Message, Quantizer, _float_vector

__all__ = ["ErrorFeedback", "EF21"]


def _checked(y):
    """A worker's vector: float32 kept (its state is then float32), anything else as
    float64; ValueError naming y and the first NaN/Inf, TypeError for a non-number."""
    y = _float_vector(y)
    check_finite(y, "y")
    return y


def _as_state_dtype(v):
    """A decoded average as an array in a state dtype: float32 stays float32, else float64."""
    v = np.asarray(v)
    return v if v.dtype == np.float32 else np.asarray(v, dtype=np.float64)


class _Feedback:
    """Common part: the wrapped quantizer, per-key state vectors, checkpoints."""

    unbiased = False

    def __init__(self, quantizer):
        if isinstance(quantizer, _Feedback):
            raise TypeError(f"{type(self).__name__} cannot wrap another error-feedback wrapper ({quantizer!r})")
        if isinstance(quantizer, type) or not isinstance(quantizer, Quantizer):
            raise TypeError(f"quantizer must be a convq.quantize quantizer instance such as TopK(10), got "
                            f"{quantizer!r}")
        self.quantizer = quantizer
        self._worker = {}   # key -> worker-side state (EF: error e; EF21: estimate g_i)
        self._server = {}   # key -> server-side state (EF21: the aggregate g)

    # -- what a quantizer offers ----------------------------------------------------------------
    _spec = None  # no C description: loops that need one fall back to their Python path

    def bits(self, d) -> int:
        """The wrapped quantizer's message length: feedback adds no bits."""
        return self.quantizer.bits(d)

    @property
    def norm_order(self):
        return self.quantizer.norm_order

    @property
    def bound(self):
        return self.quantizer.bound

    def alpha0(self, d):
        return None

    def __repr__(self):
        return f"{type(self).__name__}({self.quantizer!r})"

    # -- state ------------------------------------------------------------------------------------
    def _state(self, table, key, d, dtype=np.float64):
        """The state of ``key``, of length d, in ``dtype``: float32 for a float32 vector
        (the DDP hook's float32 buckets: no float64 round trip, as PyTorch's PowerSGD keeps
        its error in the bucket's dtype), float64 otherwise; a state of the other dtype (a
        checkpoint of a float64 run, say) is converted once."""
        v = table.get(key)
        if v is None:
            v = table[key] = np.zeros(d, dtype=dtype)
        elif v.shape != (d,):
            raise ValueError(f"{type(self).__name__}: key {key!r} holds state of length {v.shape[0]}, "
                             f"got a vector of length {d}")
        elif v.dtype != dtype:
            v = table[key] = v.astype(dtype)
        return v

    def _gather(self, table, keys, sizes, dtype=np.float64):
        """The state of a vector made of the pieces ``keys`` (of lengths ``sizes``) laid end
        to end, e.g. a DDP bucket of parameters: kept per piece, so that it survives a new
        grouping of the pieces (DDP rebuilds its buckets after the first step)."""
        return np.concatenate([self._state(table, k, n, dtype) for k, n in zip(keys, sizes)])

    def _scatter(self, table, keys, sizes, v):
        """Store :meth:`_gather`'s vector back, piece by piece."""
        for k, part in zip(keys, np.split(v, np.cumsum(sizes)[:-1])):
            table[k][:] = part

    def reset(self):
        """Forget every worker's and the server's state."""
        self._worker.clear()
        self._server.clear()

    def state_dict(self) -> dict:
        """A checkpoint: ``{"kind", "quantizer", "worker": {key: array}, "server": {...}}``
        (copies; picklable, ``torch.save``-able)."""
        return {"kind": type(self).__name__, "quantizer": repr(self.quantizer),
                "worker": {k: v.copy() for k, v in self._worker.items()},
                "server": {k: v.copy() for k, v in self._server.items()}}

    def load_state_dict(self, state):
        """Restore :meth:`state_dict`'s output (the kind and quantizer must match)."""
        if not isinstance(state, dict) or not {"kind", "quantizer", "worker", "server"} <= set(state):
            raise TypeError("state must be a dict from state_dict() with keys kind, quantizer, worker, server")
        if state["kind"] != type(self).__name__ or state["quantizer"] != repr(self.quantizer):
            raise ValueError(f"state is for {state['kind']}({state['quantizer']}), this is {self!r}")
        tables = {}
        for side in ("worker", "server"):
            tables[side] = {k: _float_vector(v, f"state[{side!r}][{k!r}]").copy()
                            for k, v in dict(state[side]).items()}
        self._worker, self._server = tables["worker"], tables["server"]

    # -- the recursion (EF-SGD and EF21 below) ----------------------------------------------------
    @staticmethod
    def _step(q, y, state, rng, engine="auto"):  # pragma: no cover - overridden
        """Worker step through the codec ``q``: the message, ``state`` updated in place."""
        raise NotImplementedError

    @staticmethod
    def _serve(g_hat, state):  # pragma: no cover - overridden
        """Server step on the averaged decoded messages, ``state`` updated in place."""
        raise NotImplementedError

    def aggregate(self, g_hat, *, key=0) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    # -- the quantizer interface (one worker, one server) -----------------------------------------
    def encode(self, y, rng=None, *, key=0, engine="auto") -> Message:
        """Worker side: compress ``y`` for worker ``key`` and update its state."""
        return self._encode(_checked(y), rng, key, engine)

    def decode(self, msg, d=None, *, key=0, engine="auto", dtype=None) -> np.ndarray:
        """Server side for ONE worker: decode and apply the server step (call once per
        message: EF21's server state advances); ``dtype`` float64 (None) or float32, as in
        :meth:`convq.quantize.Quantizer.decode`."""
        return self.aggregate(self.quantizer.decode(msg, d, engine=engine, dtype=dtype), key=key)

    def __call__(self, y, rng=None, *, key=0, engine="auto") -> np.ndarray:
        """``decode(encode(y))``: one step of the single-worker scheme (in float32 for a
        float32 ``y``, whose state is float32)."""
        y = _checked(y)
        return self.decode(self._encode(y, rng, key, engine), key=key, engine=engine, dtype=y.dtype)

    def _encode(self, y, rng, key, engine, codec=None):
        state = self._state(self._worker, key, y.shape[0], y.dtype)
        return self._step(self.quantizer if codec is None else codec, y, state, rng, engine)

    def encode_with(self, codec, y, rng=None, *, key=0):
        """Worker side through ``codec`` (the wire format, e.g. ``GainShape(self.quantizer)``)
        instead of the wrapped quantizer; returns the Message. Used by the DDP hook and
        ``distributed.train``; a float32 ``y`` keeps a float32 state."""
        return self._encode(_float_vector(y), rng, key, "auto", codec)


class ErrorFeedback(_Feedback):
    """EF-SGD error feedback around a quantizer (see the module docstring).

    Examples
    --------
    >>> from convq.quantize import TopK
    >>> ef = ErrorFeedback(TopK(1))
    >>> ef([3.0, 2.0])          # sends the 3, keeps the 2
    array([3., 0.])
    >>> ef([0.0, 0.0])          # the kept 2 goes out now
    array([0., 2.])
    """

    @staticmethod
    def _step(q, y, e, rng, engine="auto"):
        """``m = C(y + e)``, ``e <- y + e - decode(m)`` with the error e updated in place."""
        p = y + e   # in e's dtype: float32 state, float32 arithmetic
        msg = q.encode(p, rng=rng, engine=engine)
        np.subtract(p, q.decode(msg, dtype=e.dtype), out=e)
        return msg

    @staticmethod
    def _serve(g_hat, state):
        return g_hat

    def aggregate(self, g_hat, *, key=0) -> np.ndarray:
        """Server step on the (averaged) decoded messages: EF-SGD steps along them as they are."""
        return _as_state_dtype(g_hat)

    def error(self, key=0):
        """Worker ``key``'s current error vector e (None before its first message)."""
        v = self._worker.get(key)
        return None if v is None else v.copy()


class EF21(_Feedback):
    """EF21 around a quantizer (see the module docstring): workers send compressed gradient
    differences, the server steps along its running estimate.

    Examples
    --------
    >>> from convq.quantize import TopK
    >>> ef = EF21(TopK(1))
    >>> ef([3.0, 2.0])          # g = C([3, 2] - 0)
    array([3., 0.])
    >>> ef([3.0, 2.0])          # g += C([3, 2] - [3, 0])
    array([3., 2.])
    """

    @staticmethod
    def _step(q, y, gi, rng, engine="auto"):
        """``m = C(y - g_i)``, ``g_i <- g_i + decode(m)`` with g_i updated in place."""
        msg = q.encode(y - gi, rng=rng, engine=engine)
        gi += q.decode(msg, dtype=gi.dtype)
        return msg

    @staticmethod
    def _serve(g_hat, g):
        g += g_hat
        return g.copy()

    def aggregate(self, g_hat, *, key=0) -> np.ndarray:
        """Server step: ``g <- g + g_hat`` (g_hat: the average of the decoded differences);
        returns a copy of the new ``g``."""
        g_hat = _as_state_dtype(g_hat)
        return self._serve(g_hat, self._state(self._server, key, g_hat.shape[0], g_hat.dtype))

    def estimate(self, key=0):
        """Worker ``key``'s gradient estimate g_i (None before its first message)."""
        v = self._worker.get(key)
        return None if v is None else v.copy()
