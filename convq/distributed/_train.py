"""Data-parallel quantized SGD over MPI (mpi4py): the implementation of
:func:`convq.distributed.train` (see the package docstring for the maths)."""
from __future__ import annotations

import time

import numpy as np

from .. import _core
from .._progress import progress_range
from .._result import Result
from .._rng import as_generator, spawn
from .._validation import as_vector, check_int
from ..quantize import _wire_codec
from ..stochastic.domains import Box, LpBall, mirror_step
from ..stochastic.methods import _steps

__all__ = ["train", "DistributedResult", "DistributedError"]

# objective kinds: the C enum cq_obj_kind, exported by the binding (never re-typed)
_LSQ, _LOGI, _HINGE, _LASSO = _core.OBJ_LEASTSQ, _core.OBJ_LOGISTIC, _core.OBJ_HINGE, _core.OBJ_LASSO
_MEAN_TYPE = (_LSQ, _LOGI)          # cost = (1/m) sum of losses + lam/(2m)||theta_r||^2
_SUM_TYPE = (_HINGE, _LASSO)        # cost = sum of losses + penalty independent of m

# Status byte that prefixes every rank's buffer (one Allgather per step carries it).
_OK, _EBOUND, _EVALUE, _EOTHER = 0, 1, 2, 3
_WHAT = {_EBOUND: "its gradient is inadmissible for the quantizer (a norm over the quantizer's bound, or a "
                  "non-finite value)",
         _EVALUE: "an invalid value (ValueError)", _EOTHER: "an error"}


class DistributedError(ValueError):
    """A rank failed during :func:`train`; raised on EVERY rank, naming the offending one.

    Attributes
    ----------
    rank : the (first) rank that failed;  step : the 1-based step (0 = set-up);
    detail : the failing rank's message (as far as it fitted in its buffer).
    """

    def __init__(self, message, rank=None, step=None, detail=""):
        super().__init__(message)
        self.rank = rank
        self.step = step
        self.detail = detail


class DistributedResult(Result):
    """Result of :func:`train` (identical on every rank): a dict with attribute access
    (``res.x == res["x"]``) and an ordered repr.

    Attributes
    ----------
    x : the average of x_0..x_{T-1} if ``average`` else the last iterate
    x_last : x_T
    trace : dict of equal-length arrays: ``iteration``, ``fun`` (the GLOBAL objective --
        the union of the shards -- at the recorded average/iterate, summed over the
        ranks), ``bytes`` (bytes sent by one rank so far), ``bits`` (payload bits sent
        by one rank so far)
    nit : T;  size : number of ranks;  quantizer : repr of the quantizer used
    payload_bits_per_step : the message length (the quantizer's, + 32 with ``gain_shape``)
    bytes_per_step : bytes one rank puts on the wire per step (status byte + payload)
    bytes_sent, bytes_received : int64 arrays (size,), totals per rank over the run
        (received = the other ranks' messages, (size - 1) * bytes_per_step per step)
    time_grad, time_encode, time_comm, time_decode : float arrays (size,), seconds per
        rank spent on the local gradient, encoding, the Allgather, and decoding +
        averaging + the update
    time : float array (size,), wall time of the loop per rank
    step : the step sizes used;  weights : the averaging weight of each rank
    """

    _order = ("x", "x_last", "method", "size", "nit", "quantizer", "payload_bits_per_step", "bytes_per_step",
              "bytes_sent", "bytes_received", "time", "time_grad", "time_encode", "time_comm", "time_decode",
              "step", "weights", "trace")

    def summary(self) -> dict:
        """Per-step means (max over ranks) as a plain dict, e.g. for a table."""
        T = max(self.nit, 1)
        return {"size": self.size, "quantizer": self.quantizer, "bytes_per_step": self.bytes_per_step,
                "payload_bits_per_step": self.payload_bits_per_step,
                "time_per_step": float(self.time.max()) / T,
                "encode_per_step": float(self.time_encode.max()) / T,
                "comm_per_step": float(self.time_comm.max()) / T,
                "decode_per_step": float(self.time_decode.max()) / T,
                "fun": float(self.trace["fun"][-1])}


# --------------------------------------------------------------------------------------
# local gradients: the shard's loss part plus the union's penalty
# --------------------------------------------------------------------------------------
class _Shard:
    """What a rank knows about its objective: kind, rows, the penalty replicating
    cq_obj_penalty (csrc/optimize/cq_objectives.c), and the unbiased local gradient."""

    def __init__(self, objective):
        spec = getattr(objective, "_c_spec", None)
        if not (hasattr(objective, "value_and_grad") and hasattr(objective, "dim")):
            raise TypeError("objective_shard must be a convq objective (convq.objectives.LeastSquares, Logistic, "
                            f"Hinge, Lasso, Quadratic or Function), got {type(objective).__name__}")
        self.obj = objective
        self.kind = spec.kind if spec is not None and spec.kind in (_LSQ, _LOGI, _HINGE, _LASSO) else None
        self.dim = int(objective.dim)
        self.m = int(objective.m) if self.kind is not None else None  # dense or scipy.sparse rows
        self.M = None  # rows of the union, set after the set-up exchange
        self.j0 = int(bool(getattr(objective, "intercept", False)))

    def penalty(self, x, m_used, grad=None):
        """Penalty value with m = m_used; adds its gradient into ``grad`` (if given)."""
        o, k = self.obj, self.kind
        if k in (_LSQ, _LOGI, _HINGE):
            w = 1.0 if k == _HINGE else (o.lam / m_used if m_used else 0.0)
            if w == 0.0:
                return 0.0
            xr = x[self.j0:]
            if grad is not None:
                grad[self.j0:] += w * xr
            return 0.5 * w * float(xr @ xr)
        if k == _LASSO:
            mu, delta = o.mu, o.delta
            if mu == 0.0:
                return 0.0
            a = np.abs(x)
            if delta > 0:
                small = a < delta
                val = np.where(small, x * x / (2 * delta), a - 0.5 * delta)
                gj = np.where(small, x / delta, np.sign(x))
            else:
                val, gj = a, np.sign(x)
            if grad is not None:
                grad += mu * gj
            return mu * float(val.sum())
        return 0.0

    def grad(self, x, rows):
        """Local gradient g_r: E[sum_r w_r g_r] = grad F(x), F the union objective."""
        if self.kind is None:
            return np.array(self.obj.grad(x), dtype=float)
        _, g = self.obj.value_and_grad(x, rows)
        n_used = self.m if rows is None else rows.size
        pen_b = np.zeros_like(g)
        self.penalty(x, n_used, pen_b)
        g -= pen_b                          # the loss part of the batch gradient
        if self.kind in _SUM_TYPE:
            g *= self.M / n_used
        self.penalty(x, self.M, g)          # + the union's penalty
        return g

    def value_part(self, x):
        """This rank's contribution to F(x) (without the union's penalty)."""
        if self.kind is None:
            return float(self.obj.value(x))
        loss = float(self.obj.value(x)) - self.penalty(x, self.m)
        return loss * (self.m / self.M if self.kind in _MEAN_TYPE else 1.0)


# --------------------------------------------------------------------------------------
def _get_comm(comm):
    if comm is not None:
        for attr in ("Get_rank", "Get_size", "Allgather", "allgather"):
            if not hasattr(comm, attr):
                raise TypeError(f"comm must be an mpi4py communicator (e.g. MPI.COMM_WORLD), "
                                f"got {type(comm).__name__} without {attr}()")
        return comm
    try:
        from mpi4py import MPI
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("convq.distributed.train needs mpi4py and an MPI library: "
                          "pip install 'convq[mpi]' (mpi4py + mpich), then run under mpiexec -n N") from e
    return MPI.COMM_WORLD


def _quantizer(quantizer):
    """``(quantizer, feedback)``: the quantizer that goes on the wire and the error-feedback
    wrapper around it (None without one)."""
    from ..feedback import _Feedback
    from ..quantize import Identity, Quantizer
    if quantizer is None:
        return Identity("float64"), None
    if isinstance(quantizer, _Feedback):
        return quantizer.quantizer, quantizer
    if not isinstance(quantizer, Quantizer):
        raise TypeError(f"quantizer must be a convq.quantize quantizer, an ErrorFeedback/EF21 wrapper or None, "
                        f"got {type(quantizer).__name__}")
    return quantizer, None


def _raise_collective(statuses, infos, rank, step, own_exc):
    """Every rank raises the same DistributedError naming the first failing rank."""
    bad = [r for r, s in enumerate(statuses) if s != _OK]
    r0 = bad[0]
    detail = infos[r0]
    where = "during set-up" if step == 0 else f"at step {step}"
    msg = (f"rank {r0} of {len(statuses)} failed {where}: {_WHAT[statuses[r0]]}; {detail}"
           + (f" (failed ranks: {bad})" if len(bad) > 1 else "")
           + "; every rank stops here")
    err = DistributedError(msg, rank=r0, step=step, detail=detail)
    if own_exc is not None:
        raise err from own_exc
    raise err


def train(objective_shard, x0, T, step, quantizer=None, comm=None, *, batch=None, domain=None,
          method="sgd", r=None, average=True, gain_shape=False, rng=None, record_every=None, progress=None):
    r"""Data-parallel quantized SGD: every rank computes a stochastic gradient on its shard,
    encodes it with a convq quantizer, the fixed-length payloads are exchanged with ONE
    ``Allgather`` per step, and every rank decodes all messages, averages and steps.

    Call it on every rank of ``comm`` with the same ``x0``, ``T``, ``step`` and quantizer.

    .. math::

        g_r(x) = s_r\,\big(\nabla f^{B_r}_{r}(x) - \nabla \mathrm{pen}_{|B_r|}(x)\big)
                 + \nabla \mathrm{pen}_M(x), \qquad
        x_{t+1} = \Pi_K\Big(x_t - \eta_t \sum_r w_r\, Q\big(g_r(x_t)\big)\Big),

    where B_r is the rank's minibatch (``batch`` rows drawn i.i.d. uniformly from its
    shard, or the whole shard), ``pen`` the objective's penalty, M the total number of
    rows of all shards, w_r = m_r / M and s_r = 1 for mean-type costs (LeastSquares,
    Logistic), s_r = M / |B_r| for sum-type costs (Hinge, Lasso). Then
    E[sum_r w_r Q(g_r)] = grad F, F the objective on the union of the shards (with the
    shards' common penalty parameter), so this is the quantized SGD of Mayekar & Tyagi
    (Theorem 2.3) with an oracle that averages the ranks; compression exists for the
    worker-to-server link of their section 1. With ``Identity(float64)`` it equals
    single-process minibatch SGD on the union with the union of the ranks' batches.
    For objectives without data rows (Quadratic, Function) g_r = grad f_r and w_r = 1/N,
    i.e. F = mean of the f_r.

    Parameters
    ----------
    objective_shard : convq objective on this rank's data, X dense or scipy.sparse (same dim and
        type on all ranks)
    x0 : array_like (d,), the same on every rank
    T : int >= 1, number of steps
    step : float > 0, a sequence of T floats, or a callable t -> float
    quantizer : a convq.quantize quantizer (None = ``Identity("float64")``: raw float64), or
        one wrapped in :class:`convq.feedback.ErrorFeedback` / :class:`convq.feedback.EF21`
        (each rank keeps its own worker state under key 0; EF21's server estimate is the
        same on every rank). The wrapper's state carries over between calls (``reset()``).
    comm : an mpi4py communicator (default ``MPI.COMM_WORLD``)
    batch : int >= 1 rows per rank per step, or None for the whole shard
    domain : LpBall or Box (projected SGD) or None
    method : "sgd" (projected SGD) or "mirror" (mirror descent with exponent ``r``)
    average : return the average of x_0..x_{T-1} (True) or the last iterate
    gain_shape : send ||g||_q as float32 and g/||g||_q through the quantizer
        (Mayekar & Tyagi section 7), for gradients without an a-priori bound: the
        quantizer becomes ``GainShape(quantizer, gain="float32")``; a quantizer that is
        already a GainShape (e.g. ``GainShape(q, gain=AGUQ())``) is sent as it is
    rng : None, int, SeedSequence or Generator. Rank r uses child r of
        ``SeedSequence(rng).spawn(size)`` for an int (``convq._rng.spawn`` for a
        Generator; None: entropy drawn on rank 0 and shared), for its minibatches and
        its quantizer.
    record_every : trace every this many steps (default T // 200)
    progress : None, bool or callable(done, total), shown on rank 0 only: the steps done
        (a tqdm bar, or ``progress(done, total)`` about 10 times a second; see
        :mod:`convq._progress`). The iterates do not change.

    Returns
    -------
    DistributedResult (the same on every rank)

    Raises
    ------
    DistributedError (a ValueError) on EVERY rank when any rank fails, e.g. when a
    rank's gradient is inadmissible for the quantizer (norm over its bound): each
    rank's buffer starts with a status byte, so the error travels with the step's
    Allgather and no rank is left waiting in a collective.
    """
    comm = _get_comm(comm)
    rank, size = int(comm.Get_rank()), int(comm.Get_size())
    # ---- set-up: validate locally, then ONE allgather so that all ranks agree or all raise
    own_exc, info = None, None
    try:
        shard = _Shard(objective_shard)
        x0 = as_vector(x0, "x0", size=shard.dim)
        T = check_int(T, "T", minimum=1)
        steps = _steps(step, T)
        q, feedback = _quantizer(quantizer)
        if not isinstance(gain_shape, (bool, np.bool_)):
            raise TypeError(f"gain_shape must be True or False, got {gain_shape!r}")
        codec = _wire_codec(q, gain_shape)
        if batch is not None:
            batch = check_int(batch, "batch", minimum=1)
            if shard.kind is None:
                raise ValueError(f"batch= needs an objective with data rows (LeastSquares, Logistic, Hinge, "
                                 f"Lasso), got {type(objective_shard).__name__}; use batch=None")
        if domain is not None and not isinstance(domain, (LpBall, Box)):
            raise TypeError(f"domain must be an LpBall, a Box or None, got {type(domain).__name__}")
        if method not in ("sgd", "mirror"):
            raise ValueError(f"method must be 'sgd' or 'mirror', got {method!r}")
        if method == "mirror":
            if r is None:
                raise ValueError("method='mirror' needs the mirror exponent r (convq.stochastic.mirror_exponent)")
            r = float(r)
        if domain is not None and not domain.contains(x0, **({"rtol": 1e-9} if isinstance(domain, LpBall)
                                                             else {"atol": 1e-12})):
            raise ValueError(f"x0 must lie in the domain {domain!r}")
        if record_every is None:
            record_every = max(1, T // 200)
        record_every = check_int(record_every, "record_every", minimum=1)
        if rng is not None and not isinstance(rng, (np.random.Generator, np.random.SeedSequence)):
            as_generator(rng)  # type / sign check of an int seed
        entropy = None
        if rng is None and rank == 0:
            entropy = int(np.random.SeedSequence().entropy)
        nbits = int(codec.bits(shard.dim))
        info = {"ok": True, "d": shard.dim, "T": T, "m": shard.m, "kind": shard.kind, "batch": batch,
                "quantizer": repr(feedback or q), "nbits": nbits, "gain_shape": bool(gain_shape), "entropy": entropy,
                "x0": float(np.sum(x0)), "method": method}
    except Exception as e:  # reported to every rank below
        own_exc = e
        info = {"ok": False, "error": f"{type(e).__name__}: {e}", "status": _EVALUE if isinstance(e, ValueError)
                else _EOTHER}
    infos = comm.allgather(info)
    if not all(i["ok"] for i in infos):
        _raise_collective([_OK if i["ok"] else i["status"] for i in infos],
                          [i.get("error", "") for i in infos], rank, 0, own_exc)
    for key, what in (("d", "dimension"), ("T", "T"), ("kind", "objective type"), ("batch", "batch"),
                      ("quantizer", "quantizer"), ("gain_shape", "gain_shape"), ("method", "method")):
        vals = [i[key] for i in infos]
        if any(v != vals[0] for v in vals):
            raise DistributedError(f"all ranks must use the same {what}; got {vals} on ranks 0..{size - 1}",
                                   rank=next(k for k, v in enumerate(vals) if v != vals[0]), step=0)
    if any(i["x0"] != infos[0]["x0"] for i in infos):
        raise DistributedError("all ranks must start from the same x0 (their sums differ)", step=0)

    d = shard.dim
    if shard.kind is not None:
        ms = np.array([i["m"] for i in infos], dtype=float)
        shard.M = int(ms.sum())
        weights = ms / ms.sum()
    else:
        weights = np.full(size, 1.0 / size)
    if rng is None:
        seq = np.random.SeedSequence(infos[0]["entropy"])
        gen = np.random.default_rng(seq.spawn(size)[rank])
    elif isinstance(rng, np.random.Generator):
        gen = spawn(rng, size)[rank]
    else:
        seq = rng if isinstance(rng, np.random.SeedSequence) else np.random.SeedSequence(int(rng))
        gen = np.random.default_rng(seq.spawn(size)[rank])

    # ---- the loop: gradient, encode, ONE Allgather, decode all, average, step
    nbits = infos[0]["nbits"]
    nbytes = (nbits + 7) // 8
    L = 1 + nbytes
    payload_bits = nbits
    send = np.zeros(L, dtype=np.uint8)
    recv = np.zeros((size, L), dtype=np.uint8)
    # q.decode((payload, d)) without the copy to bytes: the C decoder reads the uint8 row
    # of the receive buffer in place (and checks its length and content, DecodeError)
    x = x0.copy()
    xbar = np.zeros(d)
    n_rec = -(-T // record_every)
    snaps = np.empty((n_rec, d))
    t_grad = t_enc = t_comm = t_dec = 0.0
    k_rec = 0
    t_loop = time.perf_counter()
    for t in progress_range(T, progress if rank == 0 else False, "distributed.train"):
        xbar += (x - xbar) * (1.0 / (t + 1))
        t0 = time.perf_counter()
        own_exc = None
        status = _EVALUE
        try:
            rows = gen.integers(0, shard.m, size=batch, dtype=np.int64) if batch is not None else None
            g = shard.grad(x, rows)
            t1 = time.perf_counter()
            status = _EBOUND
            msg = codec.encode(g, rng=gen) if feedback is None else feedback.encode_with(codec, g, rng=gen)
            send[0] = _OK
            send[1:] = np.frombuffer(msg.payload, dtype=np.uint8)
        except Exception as e:  # the status byte tells every rank
            own_exc = e
            t1 = time.perf_counter()
            send[0] = status if isinstance(e, ValueError) else _EOTHER
            text = f"{type(e).__name__}: {e}".encode("utf-8", "replace")
            send[1:] = 0
            if len(text) <= L - 1:  # the error text travels in the unused payload when it fits
                send[1:1 + len(text)] = np.frombuffer(text, dtype=np.uint8)
        t2 = time.perf_counter()
        comm.Allgather(send, recv)
        t3 = time.perf_counter()
        if recv[:, 0].any():
            st = [int(s) for s in recv[:, 0]]
            texts = [bytes(recv[k, 1:]).rstrip(b"\0").decode("utf-8", "replace") if st[k] else ""
                     for k in range(size)]
            texts = [tx if tx else f"the full message is raised on rank {k}" for k, tx in enumerate(texts)]
            if own_exc is not None:
                texts[rank] = f"{type(own_exc).__name__}: {own_exc}"
            _raise_collective(st, texts, rank, t + 1, own_exc)
        acc = codec.decode_sum(recv[:, 1:], d, weights)   # a new buffer: the first message written, not added
        if feedback is not None:
            acc[:] = feedback.aggregate(acc)
        if method == "mirror":
            x = mirror_step(x, acc, r, steps[t], domain)
        else:
            x -= steps[t] * acc
            if domain is not None:
                x = domain.project(x)
        if not np.all(np.isfinite(x)):  # identical on every rank: all raise together
            raise DistributedError(f"the iterate became non-finite at step {t + 1}; lower the step size",
                                   step=t + 1)
        t4 = time.perf_counter()
        t_grad += t1 - t0
        t_enc += t2 - t1
        t_comm += t3 - t2
        t_dec += t4 - t3
        done = t + 1
        if done % record_every == 0 or done == T:
            snaps[k_rec] = xbar if average else x
            k_rec += 1
    wall = time.perf_counter() - t_loop
    # ---- traces: each rank evaluates its part of F at the recorded points; one allgather
    parts = np.array([shard.value_part(s) for s in snaps[:k_rec]])
    stats = np.array([t_grad, t_enc, t_comm, t_dec, wall])
    gathered = comm.allgather((parts, stats))
    fun = np.sum([p for p, _ in gathered], axis=0)
    fun = fun + np.array([shard.penalty(s, shard.M) if shard.kind is not None else 0.0 for s in snaps[:k_rec]])
    S = np.array([s for _, s in gathered])
    iters = np.minimum(np.arange(1, k_rec + 1) * record_every, T)
    trace = {"iteration": iters, "fun": fun, "bytes": iters.astype(np.int64) * L,
             "bits": iters.astype(np.int64) * payload_bits}
    sent = np.full(size, T * L, dtype=np.int64)
    return DistributedResult(
        x=xbar.copy() if average else x.copy(), x_last=x.copy(), trace=trace, nit=T, size=size, quantizer=repr(feedback or q),
        payload_bits_per_step=payload_bits, bytes_per_step=L, bytes_sent=sent,
        bytes_received=sent * (size - 1), time_grad=S[:, 0], time_encode=S[:, 1], time_comm=S[:, 2],
        time_decode=S[:, 3], time=S[:, 4], step=steps, weights=weights, method=method)
