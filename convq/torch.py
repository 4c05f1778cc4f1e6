"""A PyTorch DistributedDataParallel communication hook that sends convq quantizer messages.

Gradient compression exists for the worker-to-server link (Mayekar & Tyagi, section 1).
``model.register_comm_hook(None, convq.torch.quantized_hook(q))`` replaces DDP's
all-reduce of each gradient bucket g_r (rank r) by

    [status byte | gain ||g_r||_q as float32 | payload of Q(g_r / gain)]   (gain-shape)

all-gathered as uint8 tensors, then every rank decodes the N messages and returns

    g_hat = (1/N) sum_r gain_r Q(g_r / gain_r),   E[g_hat] = (1/N) sum_r g_r

for an unbiased Q (section 7's gain-shape scheme: model gradients have no a-priori bound,
so the shape ||g/gain||_q = B is always admissible): the quantizer is wrapped in
:class:`convq.quantize.GainShape` (q, gain="float32"). Another gain quantizer is one
argument away: ``quantized_hook(GainShape(q, gain=AGUQ()))`` sends
[status byte | AGUQ gain | shape payload] (a GainShape is sent as it is). With ``gain_shape=False`` the bucket
goes to the quantizer as it is; a rank whose bucket is inadmissible (a norm over the
quantizer's bound) sends a non-zero status byte and EVERY rank raises
:class:`convq.distributed.DistributedError` naming it, instead of hanging.

Needs the optional extra: ``pip install "torch==2.13.0" && pip install -e ".[torch]"``.
Works with any backend that implements ``all_gather`` (gloo on CPU is tested).
"""
from __future__ import annotations

import time

import numpy as np

from . import _core
from ._rng import as_generator, spawn

__all__ = ["quantized_hook", "QuantizedHook"]

_OK, _EBOUND, _EOTHER = 0, 1, 3


def _torch():
    try:
        import torch
        import torch.distributed as dist
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError('convq.torch needs PyTorch: pip install "torch==2.13.0" && pip install -e ".[torch]"') from e
    return torch, dist


class QuantizedHook:
    """The callable returned by :func:`quantized_hook` (signature ``hook(state, bucket)``).

    Attributes (this rank's counters, cumulative)
    ---------------------------------------------
    calls : buckets communicated;  bytes_sent : bytes this rank put into the all-gathers;
    bytes_received : bytes of the other ranks' messages;  payload_bits : quantizer bits
    (+ 32 per message with gain-shape);  time_encode, time_decode : seconds;
    time_comm : seconds from issuing the all-gather to its completion callback.
    """

    #: add the own message's decode during its encode where that gives the same sum (the
    #: tests switch it off to compare)
    _fuse_own = True

    def __init__(self, quantizer, rng=None, gain_shape=True, group=None, mode="auto"):
        from .feedback import _Feedback
        from .quantize import Identity, Quantizer, _wire_codec
        if quantizer is None:
            quantizer = Identity("float64")
        self.feedback = quantizer if isinstance(quantizer, _Feedback) else None
        inner = quantizer.quantizer if self.feedback is not None else quantizer
        if not isinstance(inner, Quantizer):
            raise TypeError(f"quantizer must be a convq.quantize quantizer or an ErrorFeedback/EF21 wrapper, got "
                            f"{type(quantizer).__name__}")
        if rng is not None and not isinstance(rng, (np.random.SeedSequence, np.random.Generator)):
            as_generator(rng)  # the library's checks: TypeError/ValueError naming rng
            if isinstance(rng, np.random.BitGenerator):
                rng = np.random.Generator(rng)
        if not isinstance(gain_shape, (bool, np.bool_)):
            raise TypeError(f"gain_shape must be True or False, got {gain_shape!r}")
        if mode not in ("auto", "allgather", "allreduce"):
            raise ValueError(f"mode must be 'auto', 'allgather' or 'allreduce', got {mode!r}")
        if mode == "allreduce" and (self.feedback is not None or _grid(inner) is None):
            raise ValueError(f"mode='allreduce' needs a grid quantizer without feedback (QSGD or TernGrad), got "
                             f"{quantizer!r}")
        self.mode = mode
        # DDP's register_comm_hook logs hook.__name__ / __qualname__ (function attributes)
        self.__name__ = self.__qualname__ = "convq_quantized_hook"
        self.quantizer = quantizer
        self.gain_shape = bool(gain_shape)
        self.group = group
        self._seed = rng
        self._gen = None
        # what goes on the wire: GainShape(quantizer, "float32") with gain_shape
        self._codec = _wire_codec(inner, self.gain_shape)
        self._param_index = {}  # id(parameter) -> its feedback key (order of first appearance)
        self.calls = self.bytes_sent = self.bytes_received = self.payload_bits = 0
        self.time_encode = self.time_decode = self.time_comm = 0.0

    def __repr__(self):
        return (f"QuantizedHook({self.quantizer!r}, gain_shape={self.gain_shape}, calls={self.calls}, "
                f"bytes_sent={self.bytes_sent}, bytes_received={self.bytes_received})")

    def _generator(self, rank, world):
        if self._gen is None:
            if isinstance(self._seed, np.random.Generator):
                # every rank draws the same children from its own copy of the same Generator
                self._gen = spawn(self._seed, world)[rank]
            else:
                seq = (self._seed if isinstance(self._seed, np.random.SeedSequence)
                       else np.random.SeedSequence(None if self._seed is None else int(self._seed)))
                self._gen = np.random.default_rng(seq.spawn(world)[rank])
        return self._gen

    def _pieces(self, bucket, d):
        """Feedback keys and lengths of the bucket's parameters, in buffer order (one piece
        keyed by the bucket index if the bucket does not list its parameters)."""
        try:
            params = bucket.parameters()
        except (AttributeError, RuntimeError):  # pragma: no cover - older GradBucket
            params = None
        sizes = [int(p.numel()) for p in params] if params else []
        if sum(sizes) != d:
            return [("bucket", int(bucket.index()))], [d]
        keys = [self._param_index.setdefault(id(p), len(self._param_index)) for p in params]
        return keys, sizes

    def state_dict(self) -> dict:
        """The error-feedback state (per parameter, keyed by the order in which the hook first
        saw them; {} without feedback), e.g. to save with the model's checkpoint."""
        return {} if self.feedback is None else self.feedback.state_dict()

    def load_state_dict(self, state):
        """Restore :meth:`state_dict` (the same model, so the same parameter order)."""
        if self.feedback is None:
            if state:
                raise ValueError("this hook has no error feedback; state must be {}")
            return
        self.feedback.load_state_dict(state)

    def _encode(self, g, pieces=None, own=None):
        """[status | payload] for one flat bucket (with gain-shape the payload starts with
        the float32 gain); with feedback, the bucket's per-parameter state is updated.
        own = (acc, weight): the message's own decode is also written into acc as the first
        term of the average, 0 + weight decode (Quantizer._encode_add: in the encoder's pass)."""
        q, d = self._codec, g.size
        off = 1
        nbytes = (q.bits(d) + 7) // 8
        buf = np.zeros(off + nbytes, dtype=np.uint8)
        fb = self.feedback
        try:
            if fb is None and own is not None:
                msg = q._encode_add(g, self._gen, own[0], weight=own[1], fresh=True)
            elif fb is None:
                msg = q.encode(g, rng=self._gen)
            else:
                state = fb._gather(fb._worker, *pieces, g.dtype)
                msg = fb._step(q, g, state, self._gen)
                fb._scatter(fb._worker, *pieces, state)
            buf[off:] = np.frombuffer(msg.payload, dtype=np.uint8)
            err = None
        except ValueError as e:
            buf[0], err = _EBOUND, e
        except Exception as e:  # noqa: BLE001 - reported to every rank through the status byte
            buf[0], err = _EOTHER, e
        if err is not None:
            text = f"{type(err).__name__}: {err}".encode("utf-8", "replace")
            if len(text) <= buf.size - 1:
                buf[1:1 + len(text)] = np.frombuffer(text, dtype=np.uint8)
        return buf, off, err

    def _uses_allreduce(self, world):
        """The all-reduce mode: asked for, or 'auto' with more than two ranks and a grid
        quantizer (decoding N gathered messages then costs more than one all-reduce)."""
        if self.mode == "auto":
            return world > 2 and self.feedback is None and _grid(self.quantizer) is not None
        return self.mode == "allreduce"

    def _agree_scale(self, torch, dist, norms, group, world):
        """The shared scales: the maximum over the ranks of each bucket's norm, by one
        all-reduce that also carries a failure flag (world - rank of the lowest rank whose
        bucket has a NaN or Inf), so that every rank raises the same DistributedError
        instead of leaving the others blocked in the integer all-reduce."""
        rank = dist.get_rank(group)
        ok = bool(torch.isfinite(norms).all())
        flag = torch.tensor([0.0 if ok else float(world - rank)], dtype=norms.dtype, device=norms.device)
        both = torch.cat([torch.where(torch.isfinite(norms), norms, torch.zeros_like(norms)), flag])
        dist.all_reduce(both, op=dist.ReduceOp.MAX, group=group)
        bad = int(both[-1].item())
        if bad:
            from .distributed import DistributedError
            r0 = world - bad
            raise DistributedError(f"rank {r0} of {world} failed in the convq DDP hook (all-reduce mode): its gradient "
                                   "bucket has a NaN or Inf; every rank stops here", rank=r0, step=self.calls + 1,
                                   detail="a NaN or Inf in the gradient bucket")
        return both[:-1]

    def _allreduce(self, torch, dist, tensor, group, world):
        r"""Shared-scale integer all-reduce (see :func:`quantized_hook`): per bucket of b
        coordinates the ranks agree on the scale :math:`m_j = \max_r \|g_{r,j}\|` (one
        all-reduce of the bucket norms), each rank rounds :math:`s|g_i|/m_j` stochastically
        to an integer level in 0..s (its sign attached), the integers are summed exactly by
        one all-reduce of an integer tensor wide enough for N s, and every rank decodes the
        sum once: :math:`\hat g_i = m_j\,\mathrm{sum}_i / (s N)`. Unbiased, since
        :math:`E\lfloor x + U\rfloor = x`. A float32/float64 bucket on the CPU is rounded and
        decoded by the C core in one pass each way (``cq_q_grid.c``); any other bucket in
        torch operations on its own device. Returns (ints, decode), decode(summed ints) ->
        the averaged bucket."""
        s, b, norm = _grid(self.quantizer)
        d = tensor.numel()
        b = d if b is None or b > d else b
        nb = -(-d // b)
        itype = torch.int8 if world * s <= 127 else (torch.int32 if world * s < 2 ** 31 else torch.int64)
        self.payload_bits += 32 * nb + d * int(2 * s).bit_length()
        if tensor.device.type == "cpu" and tensor.dtype in (torch.float32, torch.float64):
            y = tensor.detach().reshape(-1).numpy()
            norms = _core._q_grid_norms(y, b, norm == "inf")   # one read; NaN marks a NaN/Inf
            scale = self._agree_scale(torch, dist, torch.from_numpy(norms), group, world)
            key = int(self._gen.integers(0, 2 ** 63))
            width = torch.empty(0, dtype=itype).element_size()
            ints = torch.from_numpy(_core._q_grid_round(y, b, scale.numpy(), s, key, width))

            def decode(total):
                out = np.empty(d, dtype=y.dtype)
                _core._q_grid_decode(total.numpy(), b, scale.numpy(), s, world, out)
                return torch.from_numpy(out).reshape(tensor.shape)
        else:
            work = torch.float64 if tensor.dtype == torch.float64 else torch.float32
            g = torch.zeros(nb * b, dtype=work, device=tensor.device)
            g[:d] = tensor.detach().reshape(-1)
            g = g.view(nb, b)
            local = g.abs().amax(dim=1) if norm == "inf" else torch.linalg.vector_norm(g, dim=1)
            scale = self._agree_scale(torch, dist, local, group, world)
            gen = torch.Generator(device=tensor.device)
            gen.manual_seed(int(self._gen.integers(0, 2 ** 63)))
            u = torch.rand(g.shape, generator=gen, device=tensor.device, dtype=work)
            inv = torch.where(scale > 0, s / scale, torch.zeros_like(scale))
            lev = torch.clamp(torch.floor(g.abs() * inv[:, None] + u), max=s)
            ints = (torch.sign(g) * lev).to(itype)

            def decode(total):
                out = (total.to(work) * (scale / (s * world))[:, None]).reshape(-1)[:d]
                return out.to(tensor.dtype).reshape(tensor.shape)
        self.bytes_sent += 2 * (world - 1) * ints.numel() * ints.element_size() // world + 4 * nb
        return ints, decode

    def __call__(self, state, bucket):
        torch, dist = _torch()
        group = state if isinstance(state, dist.ProcessGroup) else self.group
        rank = dist.get_rank(group)
        world = dist.get_world_size(group)
        self._generator(rank, world)
        tensor = bucket.buffer()
        if self._uses_allreduce(world):
            t0 = time.perf_counter()
            ints, decode_ints = self._allreduce(torch, dist, tensor, group, world)
            t1 = time.perf_counter()
            self.time_encode += t1 - t0
            self.calls += 1
            fut = dist.all_reduce(ints, group=group, async_op=True).get_future()

            def decode_sum(f):
                t2 = time.perf_counter()
                self.time_comm += t2 - t1
                res = decode_ints(f.value()[0])
                self.time_decode += time.perf_counter() - t2
                return res

            return fut.then(decode_sum)
        t0 = time.perf_counter()
        g, acc_dtype = _bucket_vector(torch, tensor)
        d = g.size
        pieces = self._pieces(bucket, d) if self.feedback is not None else None
        # the own message's decode fused into the encode, as the first term of the average
        # (decode_sum then adds only the other ranks' messages), where the sum stays bit for bit
        fuse = self._fuse_own and self.feedback is None and _own_term_first_is_exact(rank, world, acc_dtype)
        own = (np.empty(d, dtype=acc_dtype), 1.0 / world) if fuse else None
        send, off, own_err = self._encode(g, pieces, own)
        t1 = time.perf_counter()
        self.time_encode += t1 - t0
        # the payload travels on the bucket's device (NCCL all-gathers CUDA tensors only),
        # through a pinned host buffer; gloo on CPU sends the NumPy buffer itself
        dev = tensor.device
        send_t = torch.from_numpy(send)
        if dev.type != "cpu":
            send_t = send_t.pin_memory().to(dev, non_blocking=True)
        out = [torch.empty(send.size, dtype=torch.uint8, device=dev) for _ in range(world)]
        fut = dist.all_gather(out, send_t, group=group, async_op=True).get_future()
        self.calls += 1
        self.bytes_sent += send.size
        self.bytes_received += (world - 1) * send.size
        self.payload_bits += self._codec.bits(d)
        q = self._codec

        def decode(f):
            f.wait()
            t2 = time.perf_counter()
            self.time_comm += t2 - t1
            bufs = [o.numpy() for o in out] if dev.type == "cpu" else list(torch.stack(out).cpu().numpy())
            status = [int(b[0]) for b in bufs]
            if any(status):
                from .distributed import DistributedError
                r0 = next(k for k, s in enumerate(status) if s)
                if r0 == rank and own_err is not None:
                    detail = f"{type(own_err).__name__}: {own_err}"
                else:
                    detail = bytes(bufs[r0][1:]).rstrip(b"\0").decode("utf-8", "replace") or \
                        f"the full message is raised on rank {r0}"
                what = ("its gradient bucket is inadmissible for the quantizer (a norm over the quantizer's bound, "
                        "or a non-finite value)" if status[r0] == _EBOUND else "an error")
                raise DistributedError(f"rank {r0} of {world} failed in the convq DDP hook: {what}; {detail}; "
                                       "every rank stops here", rank=r0, step=self.calls, detail=detail)
            rows = [b[off:] for b in bufs]   # the receive rows, read in place
            fb = self.feedback
            if fb is not None:   # the feedback state is in the bucket's working dtype, as the average
                acc = q.decode_sum(rows, d, weights=np.full(world, 1.0 / world), dtype=acc_dtype)
                state = fb._gather(fb._server, *pieces, acc_dtype)
                acc = fb._serve(acc, state)
                fb._scatter(fb._server, *pieces, state)
            elif own is not None:   # the own term is in already: the others, in rank order
                others = [r for k, r in enumerate(rows) if k != rank]
                acc = q.decode_sum(others, d, weights=np.full(world - 1, 1.0 / world), out=own[0]) if others \
                    else own[0]
            else:   # one fused C call into the result's buffer, 1/world folded into the weights
                acc = q.decode_sum(rows, d, weights=np.full(world, 1.0 / world), dtype=acc_dtype)
            res = torch.from_numpy(acc)
            if res.dtype != tensor.dtype or dev.type != "cpu":
                res = res.to(device=dev, dtype=tensor.dtype)
            res = res.reshape(tensor.shape)
            self.time_decode += time.perf_counter() - t2
            return res

        return fut.then(decode)


def _bucket_vector(torch, tensor):
    """(the bucket as a flat NumPy vector, the dtype to decode into), without a float64
    round trip: a float32 or float64 CPU bucket is the bucket's own memory (no copy; the
    encoders read float32 in place), a bfloat16/float16 or non-CPU bucket one float32
    conversion; the result is decoded straight into float32 (float64 for a float64 bucket).
    Error feedback keeps its state in that same dtype."""
    flat = tensor.detach().reshape(-1)
    if flat.dtype == torch.float64:
        return flat.to("cpu").numpy(), np.float64
    if flat.dtype != torch.float32 or flat.device.type != "cpu":
        flat = flat.to("cpu", torch.float32)
    return flat.numpy(), np.float32


def _own_term_first_is_exact(rank, world, dtype):
    """Whether a rank may put its own message's term first in the average and still get
    decode_sum's sum in rank order bit for bit: on rank 0, whose term is first anyway, and
    with two ranks in float64, where (0 + a) + b = (0 + b) + a. Not with two float32 ranks:
    decode_sum rounds to float32 after each term, so (0 + a) is rounded before b is added."""
    return rank == 0 or (world == 2 and dtype == np.float64)


def _grid(q):
    """(levels s, bucket size or None, norm) of a quantizer that rounds to a grid scaled by a
    norm (QSGD, TernGrad: the all-reduce mode's quantizers); None for the others."""
    from .quantize import QSGD, TernGrad
    if isinstance(q, QSGD):
        return q.levels, q.bucket, q.norm
    if isinstance(q, TernGrad):
        return 1, None, "inf"
    return None


def quantized_hook(quantizer=None, rng=None, gain_shape=True, group=None, mode="auto") -> QuantizedHook:
    r"""A DDP communication hook that all-gathers convq quantizer messages.

    .. math::

        \hat g = \frac1N \sum_{r=1}^N \gamma_r\, Q\!\big(g_r/\gamma_r\big), \qquad
        \gamma_r = \|g_r\|_q / B \ \text{(float32, rounded up)},

    the gain-shape quantizer of Mayekar & Tyagi (section 7) averaged over the N ranks;
    unbiased when Q is (E[hat g] = the all-reduce average DDP would compute).

    Parameters
    ----------
    quantizer : a convq.quantize quantizer (None = Identity("float64"): raw float64); a
        :class:`convq.quantize.GainShape` (e.g. with an AGUQ gain) is sent as it is; a
        quantizer wrapped in :class:`convq.feedback.ErrorFeedback` or
        :class:`convq.feedback.EF21` adds error feedback with its state kept per parameter
        (so it survives DDP's bucket rebuilds; ``hook.state_dict()`` checkpoints it)
    rng : None, int, numpy.random.SeedSequence or numpy.random.Generator; rank r uses child
        r of ``SeedSequence(rng).spawn(N)`` (for a Generator: child r of
        ``convq._rng.spawn(rng, N)``, so every rank must pass an equally seeded Generator)
    gain_shape : bool, default True: the quantizer becomes GainShape(quantizer, "float32");
        False sends each bucket to the quantizer as it is
        (it must then be admissible; otherwise every rank raises DistributedError)
    group : process group (default: the ``state`` passed to ``register_comm_hook`` if it
        is a group, else the world)
    mode : "allgather" (the messages above), "allreduce" (QSGD and TernGrad only) or "auto"
        (the default: "allreduce" when there are more than two ranks and the quantizer is
        QSGD or TernGrad without feedback). In the all-reduce mode the ranks first agree on a
        shared scale per bucket (one all-reduce of the bucket norms, their maximum), round
        ``s |g_i| / scale`` stochastically to integer levels 0..s with their signs, sum the
        integers exactly with one all-reduce of an int8/int32/int64 tensor (the narrowest
        that holds N s), and decode the sum once -- so decoding does not grow with N. It is
        unbiased; it runs in torch operations on the bucket's own device and dtype
        (``gain_shape`` does not apply).

    Precision: a float32 bucket is never converted to float64: a CPU
    bucket is encoded from its own memory (``tensor.numpy()``, no copy; a bfloat16/float16 or
    CUDA bucket is converted once to float32 on the host), and the N received messages are
    decoded by one fused C call (:meth:`convq.quantize.Quantizer.decode_sum`) straight into
    the float32 buffer that becomes the result, with the factor 1/N folded into the weights
    (``out <- out + (1/N) m_r`` per rank, each step in double, rounded once to float32, so
    the result is within N float32 roundings of the float64 average). A float64 bucket stays
    float64. Where it gives the same sum bit for bit -- on rank 0, whose message is the first
    term, and with two ranks in float64, where the two terms commute -- the rank's own term
    is written by its encoder in the same pass (``Quantizer._encode_add``) and only the other
    ranks' messages are decoded. With error feedback the worker and server state are kept in
    the same working dtype (float32 for a float32, bfloat16 or float16 bucket, float64 for a
    float64 one), as PyTorch's PowerSGD hook keeps its error in the bucket's dtype: the
    recursion ``e <- (g + e) - C(g + e)`` then runs in float32 arithmetic.

    Returns
    -------
    QuantizedHook, to pass as ``ddp_model.register_comm_hook(None, hook)``; it counts the
    bytes sent/received and the encode/communication/decode time of this rank.

    Examples
    --------
    >>> hook = quantized_hook(convq.quantize.QSGD(levels=4), rng=0)   # doctest: +SKIP
    >>> ddp = torch.nn.parallel.DistributedDataParallel(model)         # doctest: +SKIP
    >>> ddp.register_comm_hook(None, hook)                              # doctest: +SKIP
    """
    return QuantizedHook(quantizer, rng=rng, gain_shape=gain_shape, group=group, mode=mode)
