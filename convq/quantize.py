r"""Unbiased fixed-length gradient quantizers of Mayekar & Tyagi, "Limits on Gradient
Compression for Stochastic Optimization", and the usual baselines.

A quantizer maps :math:`y \in \mathbb{R}^d` to a bit string of fixed length
``q.bits(d)`` (Remark 2 of the paper: memoryless, fixed length) and back:

.. code-block:: python

    q = SimQ(B=1.0)
    msg = q.encode(y, rng=0)       # Message(payload: bytes, nbits: int, d: int)
    y_hat = q.decode(msg)          # float64 array of shape (d,)
    y_hat = q(y, rng=0)            # fast path, == q.decode(q.encode(y, rng=0)) bit for bit
    Y_hat = q.sample(y, n, rng=0)  # (n, d) independent quantizations of one y

Quantizers of the paper:

============================  ==========================  ===========================================
class                         admissible input            bits(d)
============================  ==========================  ===========================================
``SimQ(B)``                   ``||y||_1 <= B``            ``ceil(log2(2d+1))`` (Theorem 4.1)
``SimQPlus(B, p=2, k=None)``  ``||y||_q <= B``            ``F + k``, ``F <= ceil(log2 C(d+k,k)) + 2``
``CUQ(M, levels)``            ``||y||_inf <= M``          ``d ceil(log2 levels)`` (eq. (7))
``RATQ(B, s, h, levels=4)``   ``||y||_2 <= B``            ``64 + ceil(d2/s) ceil(log2 h) + d2 ceil(log2 levels)``
``LpQuantizer(p, B)``         ``||y||_q <= B``            Theorem 3.1 (see the class)
============================  ==========================  ===========================================

Section 7 (gradients bounded in mean square only, Remark 1): :class:`GainShape` (shape,
gain) sends the gain ``||y||`` as a float32 or through :class:`AGUQ` (the adaptive geometric
uniform quantizer of Mayekar & Tyagi 2019, "RATQ: A Universal Fixed-Length Quantizer for
Stochastic Optimization") and the shape ``y/||y||`` through any quantizer above; any finite
y is admissible. :func:`estimate_alpha0` estimates :math:`\sqrt{E\|Q(Y)\|^2}` over a law of
inputs by Monte Carlo, with a confidence interval.

Baselines: :class:`QSGD`, :class:`TernGrad`, :class:`ScaledSign`, :class:`TopK`,
:class:`RandK`, :class:`Identity`. Every class states its bits, ``unbiased`` and, where
the paper defines it, ``alpha0(d)``: the bound on :math:`\sqrt{E\|Q(Y)\|^2}` in the norm
that matters for p (section 2.2).
Every class also states ``norm_order``, the norm its admissible set is stated in (1 for
SimQ, q for SimQ+ and the l_p quantizer, inf for CUQ, 2 for RATQ); the gain-shape schemes
(section 7) normalise gradients in it.

Sizes: d is at most ``2**48`` (``ValueError`` naming d beyond; SimQ+ and the l_p
quantizer for p in [2, inf) need ``d + k <= 2**24``). ``decode`` checks the payload
length against ``bits(d)`` before it allocates the output, and a result that cannot fit
in this machine's memory (``sample(y, n)`` with a huge n, say) raises ``MemoryError``
before anything is built. An input that another thread rewrites during a call gives a
``ValueError`` saying so.

Message format: fields least-significant-bit first, ``ceil(nbits/8)`` bytes, zero padding
(:mod:`convq.coding`). Decoders treat payloads as untrusted and raise
:class:`convq.DecodeError` for a wrong length, an out-of-range field, a non-canonical
range code or non-zero padding. Norm bounds are checked with a relative slack of 1e-9
so that vectors constructed on the boundary are admissible.

Randomness follows ``rng=None | int | numpy.random.Generator``; the C core draws from the
Generator's BitGenerator, so seeded calls are reproducible bit for bit. ``sample`` and the
batch methods use one :func:`convq._rng.spawn` child stream per row, so their result does
not depend on ``threads``.
"""
from __future__ import annotations

import math
import os
from typing import Any, Optional, Union

import numpy as np
from numpy.typing import ArrayLike

from . import _core, _threads
from ._errors import DecodeError
from ._lp import check_p as _check_p
from ._lp import conjugate as _conj
from ._lp import gain_bound as _gain_bound
from ._lp import norm_order_of as _norm_order_of
from ._rng import as_generator, spawn
from ._spec import DMAX as _DMAX
from ._spec import FLOAT32 as _FLOAT32
from ._spec import NORM_INF as _NORM_INF
from ._spec import Kind, QuantizerSpec
from ._engine import resolve_engine
from ._result import Result
from ._validation import as_float_array, check_int, check_positive, check_quantizer, check_real, check_threads

__all__ = [
    "Message",
    "Quantizer",
    "SimQ",
    "SimQPlus",
    "CUQ",
    "RATQ",
    "LpQuantizer",
    "CoordinateSampling",
    "for_geometry",
    "for_budget",
    "QSGD",
    "TernGrad",
    "ScaledSign",
    "TopK",
    "RandK",
    "Identity",
    "DecodeError",
    "AGUQ",
    "GainShape",
    "estimate_alpha0",
    "Alpha0Estimate",
]


_HEADER = 8  # bytes of the little-endian nbits header of Message.to_bytes()


def _dim(d, name="d") -> int:
    """A dimension: an int in [1, 2**48] (the C core's limit, ``convq._spec.DMAX``)."""
    return check_int(d, name, minimum=1, maximum=_DMAX)


def _physical_memory():
    """Bytes of physical memory, or None where the platform does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):  # pragma: no cover - non-POSIX
        return None


def _check_memory(nbytes, what):
    """MemoryError, before anything is built, for an output that cannot fit in memory."""
    total = _physical_memory()
    if total is not None and nbytes > total:
        raise MemoryError(f"{what} needs {nbytes / 2 ** 30:.4g} GiB, more than this machine's "
                          f"{total / 2 ** 30:.4g} GiB of memory")


_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


def _out_dtype(dtype, name="dtype"):
    """The output precision: float64 (None, the default) or float32 (TypeError otherwise)."""
    if dtype is None:
        return _DTYPES[0]
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in _DTYPES:
        raise TypeError(f"{name} must be float64 or float32, got {dtype!r}")
    return dt


def _float_vector(y, name="y"):
    """A 1-D input vector: a float32 ndarray as it is (the C encoders read it in place,
    computing in double from its exact values), anything else as float64."""
    if isinstance(y, np.ndarray) and y.dtype == np.float32 and y.ndim == 1:
        if y.shape[0] == 0:
            return as_float_array(y, name, ndim=1, finite=False)  # the usual error
        return y
    return as_float_array(y, name, ndim=1, finite=False)


def _check_out(out, d, name="out"):
    """``out`` as a writeable C-contiguous float64/float32 vector of length d (TypeError
    naming it otherwise): the buffers decode_sum adds into and decode writes into."""
    if not (isinstance(out, np.ndarray) and out.dtype in _DTYPES and out.shape == (d,) and out.flags.c_contiguous
            and out.flags.writeable):
        raise TypeError(f"{name} must be a writeable C-contiguous float64 or float32 array of shape ({d},), got "
                        f"{type(out).__name__}" + (f" {out.dtype} {out.shape}" if isinstance(out, np.ndarray) else ""))
    return out


def _twin():
    """convq.slow.quantize, the NumPy twins (imported on use: it imports this module)."""
    from .slow import quantize
    return quantize


class Message:
    """A quantizer's message: ``nbits`` bits in ``payload`` (``ceil(nbits/8)`` bytes) for a
    vector of dimension ``d``.

    ``to_bytes()`` is self-describing: an 8-byte little-endian ``nbits`` header followed by
    the payload. ``Message.from_bytes(b, d)`` inverts it (the dimension travels out of band,
    as it is fixed for a given model).
    """

    __slots__ = ("payload", "nbits", "d")

    def __init__(self, payload, nbits, d):
        if isinstance(payload, (bytearray, memoryview)):
            payload = bytes(payload)
        if not isinstance(payload, bytes):
            raise TypeError(f"payload must be bytes, got {type(payload).__name__}")
        nbits = check_int(nbits, "nbits", minimum=0)
        d = check_int(d, "d", minimum=1)
        if len(payload) != (nbits + 7) // 8:
            raise ValueError(f"a {nbits}-bit message needs {(nbits + 7) // 8} payload bytes, got {len(payload)}")
        self.payload = payload
        self.nbits = nbits
        self.d = d

    def to_bytes(self) -> bytes:
        """``nbits`` as 8 little-endian bytes, then the payload."""
        return self.nbits.to_bytes(_HEADER, "little") + self.payload

    @classmethod
    def from_bytes(cls, b, d) -> "Message":
        """Inverse of :meth:`to_bytes`; raises DecodeError if ``b`` is not such a string."""
        if isinstance(b, (bytearray, memoryview)):
            b = bytes(b)
        if not isinstance(b, bytes):
            raise TypeError(f"expected bytes, got {type(b).__name__}")
        if len(b) < _HEADER:
            raise DecodeError(f"a serialised Message has at least {_HEADER} bytes, got {len(b)}")
        nbits = int.from_bytes(b[:_HEADER], "little")
        payload = b[_HEADER:]
        if len(payload) != (nbits + 7) // 8:
            raise DecodeError(f"header says {nbits} bits ({(nbits + 7) // 8} bytes), got {len(payload)} payload bytes")
        return cls(payload, nbits, d)

    def __eq__(self, other):
        if not isinstance(other, Message):
            return NotImplemented
        return (self.payload, self.nbits, self.d) == (other.payload, other.nbits, other.d)

    def __hash__(self):
        return hash((self.payload, self.nbits, self.d))

    def __repr__(self):
        head = self.payload[:16].hex()
        more = "..." if len(self.payload) > 16 else ""
        return f"Message(nbits={self.nbits}, d={self.d}, payload=0x{head}{more})"


class Quantizer:
    """Base class: encode/decode/fast path/sample/bits over the C core's generic interface.

    Subclasses set ``unbiased`` and implement ``_spec`` (a
    :class:`convq._spec.QuantizerSpec`, which the C binding reads by field name into a
    ``cq_qspec``), ``norm_order`` and ``alpha0``.
    """

    unbiased: bool = True

    @property
    def norm_order(self) -> float:
        """The norm in which this quantizer's admissible set is stated: ``||y||_r <= bound``
        with ``r = norm_order`` (1 for SimQ, q = p/(p-1) for SimQ+ and the l_p quantizer,
        inf for CUQ, 2 for RATQ). Quantizers that admit every finite y (the baselines)
        give the norm their scale is computed in. Gain-shape schemes
        (:class:`convq.models.LogisticRegression` with ``quantizer=``,
        :func:`convq.torch.quantized_hook`, :func:`convq.distributed.train`) normalise the
        gradient in this norm."""
        raise NotImplementedError(f"{type(self).__name__} does not state its norm_order")

    @property
    def bound(self) -> float:
        """The radius of the admissible set, ``||y||_{norm_order} <= bound``: ``B`` (SimQ,
        SimQ+, RATQ, the l_p quantizer) or ``M`` (CUQ); ``math.inf`` for the baselines, which
        admit every finite y. Gain-shape schemes scale the shape g/||g|| to this radius
        (to 1 when it is infinite)."""
        for attr in ("B", "M"):
            v = getattr(self, attr, None)
            if v is not None:
                return float(v)
        return math.inf

    @property
    def _spec(self) -> QuantizerSpec:  # pragma: no cover - overridden
        raise NotImplementedError

    # -- sizes and parameters ---------------------------------------------------------
    def bits(self, d) -> int:
        """Fixed message length in bits for dimension ``d``."""
        return int(_core._q_bits(self._spec, _dim(d)))

    def params(self, d) -> dict:
        """Every parameter the C core derives for dimension ``d`` (bits, k, ranges, ...)."""
        return dict(_core._q_info(self._spec, _dim(d)))

    def alpha0(self, d):
        """The paper's bound on ``sqrt(E||Q(Y)||^2)`` (None where the paper defines none)."""
        return None

    # -- one vector ---------------------------------------------------------------------
    @staticmethod
    def _vector(y):
        return _float_vector(y)

    def encode(self, y: ArrayLike, rng: Any = None, *, engine: str = "auto", threads: Optional[int] = None) -> Message:
        """Quantize ``y`` to a :class:`Message` of exactly ``bits(len(y))`` bits.

        ``y`` may be float32 or float64 (anything else is converted to float64); a float32
        vector is read in place, without a conversion copy, and the kernels compute in
        double from its exact values, so ``encode(y32)`` sends the same message as
        ``encode(y32.astype(np.float64))`` with the same ``rng``.
        ``engine="python"`` runs the NumPy twin (:mod:`convq.slow.quantize`: the same draws,
        the same message bit for bit); "auto" and "c" the C kernel.
        ``threads``: threads of the C kernel for this one vector (None: 1 below
        ``convq._threads.CODEC_PARALLEL_MIN`` coordinates, every available CPU from there,
        :func:`convq.available_cpus`); the fixed-width codecs (CUQ, QSGD, TernGrad,
        ScaledSign, Identity) split their coordinates into fixed ranges, and the message
        does not depend on ``threads``."""
        if resolve_engine(engine, True) == "python":
            payload, nbits = _twin().encode(self, y, rng)
            return Message(payload, int(nbits), np.size(y))
        y = self._vector(y)
        payload, nbits = _core._q_encode(self._spec, y, as_generator(rng), None, _codec_threads(threads, y.shape[0]))
        return Message(payload, int(nbits), y.shape[0])

    def _encode_add(self, y, rng, out, weight=1.0, fresh=False, threads=None) -> Message:
        """``encode(y, rng)`` that also adds the message's decode into ``out`` (a writeable
        C-contiguous float32/float64 vector of y's length): ``out + weight y_hat`` per
        coordinate (``0 + weight y_hat`` with ``fresh``: out's contents are not read), in
        double, rounded once for float32 -- exactly what ``decode_sum([msg], d, [weight],
        out)`` adds, written by the encoder's own pass for a C quantizer (one C call: the
        DDP hook's own message); a composite encodes, then decodes into out. On an error
        ``out`` may be partly written."""
        if self._spec is None:
            msg = self.encode(y, rng, threads=threads)
            if fresh:
                out.fill(0.0)
            _decode_sum_into(self, [msg.payload], msg.d, np.array([float(weight)]), out, False, threads)
            return msg
        y = self._vector(y)
        d = y.shape[0]
        _check_out(out, d)
        payload, nbits = _core._q_encode(self._spec, y, as_generator(rng), out, _codec_threads(threads, d),
                                         float(weight), bool(fresh))
        return Message(payload, int(nbits), d)

    def decode(self, msg: Union[Message, bytes], d: Optional[int] = None, *, engine: str = "auto",
               dtype: Any = None, threads: Optional[int] = None, out: Optional[np.ndarray] = None) -> np.ndarray:
        """Decode a :class:`Message`, a ``(payload_bytes, d)`` pair, or ``payload, d``.

        The payload length is checked against ``bits(d)`` (a Message's own ``nbits`` is
        not trusted); malformed payloads raise :class:`convq.DecodeError`.
        ``dtype``: float64 (None, the default) or float32; a float32 decode is written
        directly by the C decoder and equals the float64 decode rounded to float32.
        ``out``: a writeable C-contiguous float64 or float32 vector of length d to decode
        into (overwritten and returned; its dtype is the output's), e.g. one buffer reused
        for every step of a loop instead of a fresh array per call, which for a large d
        costs page faults on every call. A C quantizer's decoder writes it directly; on a
        DecodeError it may be partly written.
        ``engine="python"`` decodes with the NumPy twin (the same output, the same
        rejections). ``threads`` as in :meth:`encode` (the output does not depend on it)."""
        payload, d = self._payload_and_d(msg, d)
        if out is None:
            return self._decode_payload(payload, d, engine, _out_dtype(dtype), threads)
        _check_out(out, d)
        if dtype is not None and _out_dtype(dtype) != out.dtype:
            raise ValueError(f"dtype={np.dtype(dtype)} does not match out's dtype {out.dtype}")
        if self._spec is not None and resolve_engine(engine, True) != "python":
            return _core._q_decode(self._spec, payload, d, out, None, _codec_threads(threads, d))
        np.copyto(out, self._decode_payload(payload, d, engine, out.dtype, threads))
        return out

    def _payload_and_d(self, msg, d):
        """decode's arguments as ``(payload bytes, d)``: a Message's ``nbits`` is checked
        against ``bits(d)`` (DecodeError), the payload's type (TypeError naming msg)."""
        if isinstance(msg, Message):
            if d is not None and _dim(d) != msg.d:
                raise ValueError(f"d={d} does not match the message's d={msg.d}")
            payload, d = msg.payload, msg.d
            nbits = self.bits(d)
            if msg.nbits != nbits:
                raise DecodeError(f"message has {msg.nbits} bits, {self!r} sends {nbits} bits for d={d}")
        elif isinstance(msg, tuple) and len(msg) == 2 and d is None:
            payload, d = msg
        else:
            payload = msg
        if d is None:
            raise TypeError("decode needs a Message, a (payload, d) pair, or payload and d")
        d = _dim(d)
        return _payload(payload), d

    def _decode_payload(self, payload, d, engine, dtype=_DTYPES[0], threads=None):
        """Decode ``payload`` for dimension ``d`` (the step after :meth:`decode`'s parsing):
        bytes, or a uint8 view such as a receive buffer's row, which the C decoders read in
        place (the wire paths of ``distributed.train`` and the DDP hook)."""
        if resolve_engine(engine, True) == "python":
            return _twin().decode(self, _payload(payload), d, dtype=dtype)
        # the C binding checks len(payload) against bits(d) (DecodeError) and the output's
        # size against memory before it allocates anything
        t = _codec_threads(threads, d)
        if dtype == _DTYPES[0]:
            return _core._q_decode(self._spec, payload, d, None, None, t)
        _check_memory(4 * d, f"decoding d={d} coordinates")
        return _core._q_decode(self._spec, payload, d, np.empty(d, dtype=dtype), None, t)

    def decode_sum(self, payloads: Any, d: int, weights: Optional[ArrayLike] = None,
                   out: Optional[np.ndarray] = None, *, dtype: Any = None,
                   threads: Optional[int] = None) -> np.ndarray:
        r"""Decode N messages for dimension ``d`` and add them into one buffer:

        .. math:: \text{out} \mathrel{+}= \sum_{k=1}^{N} w_k\, \hat y_k ,

        the server's aggregation step (Mayekar & Tyagi, section 1: the server averages the
        workers' decoded gradients), without keeping N decoded vectors: one C call decodes
        every message straight into ``out`` (``out[i] + w_k y_k[i]`` per message, in order,
        in double, rounded once to float32 for a float32 ``out``). The sparse messages (SimQ,
        TopK, RandK) touch only their coordinates, the dense ones are decoded and added in
        one pass. Every message is validated before ``out`` is touched: a malformed one
        raises :class:`convq.DecodeError` naming it, and ``out`` is left unchanged.
        With ``weights=None`` and a float64 ``out`` the result equals
        ``decode(p_1, d) + ... + decode(p_N, d)`` added left to right, bit for bit. For a
        :class:`GainShape` message (decode = gain times shape) a weight is folded into the
        gain first, ``(w_k gain_k) shape_k``: one multiplication per coordinate.

        Parameters
        ----------
        payloads : sequence of Messages, bytes or 1-D uint8 arrays (a receive buffer's rows
            are read in place); each is checked against ``bits(d)`` (DecodeError)
        d : the dimension of every message
        weights : None or N finite floats
        out : None (a new zero vector of ``dtype``) or a writeable C-contiguous float64 or
            float32 vector of length d, added into in place and returned
        dtype : float64 (None, the default) or float32, the dtype of a new ``out``
        threads : threads of the C kernel per message, as in :meth:`encode` (the result
            does not depend on it)

        Examples
        --------
        >>> q = SimQ(1.0)
        >>> msgs = [q.encode([0.3, -0.2], rng=s).payload for s in (1, 2)]
        >>> np.array_equal(q.decode_sum(msgs, 2), q.decode(msgs[0], 2) + q.decode(msgs[1], 2))
        True
        """
        d = _dim(d)
        if isinstance(payloads, (bytes, bytearray, memoryview, Message)) or (
                isinstance(payloads, np.ndarray) and payloads.ndim < 2):
            raise TypeError(f"payloads must be a sequence of messages, got one {type(payloads).__name__}")
        payloads = list(payloads)
        if weights is not None:
            weights = as_float_array(weights, "weights", ndim=1)
            if weights.shape[0] != len(payloads):
                raise ValueError(f"weights must have one entry per payload ({len(payloads)}), "
                                 f"got {weights.shape[0]}")
        fresh = out is None and len(payloads) > 0   # a new buffer: the first message is written, not added
        if out is None:
            dtype = _out_dtype(dtype)
            _check_memory(dtype.itemsize * d, f"decode_sum's output of d={d} coordinates")
            out = np.empty(d, dtype=dtype) if fresh else np.zeros(d, dtype=dtype)
        else:
            _check_out(out, d)
        plain = [self._payload_and_d(p, d)[0] if isinstance(p, Message) else p for p in payloads]
        return _decode_sum_into(self, plain, d, weights, out, fresh, threads)

    def __call__(self, y: ArrayLike, rng: Any = None, *, engine: str = "auto", dtype: Any = None,
                 threads: Optional[int] = None) -> np.ndarray:
        """Fast path: ``decode(encode(y, rng))`` without building the message; the same
        draws from ``rng`` in the same order, so the result is identical bit for bit
        (``engine="python"``: the NumPy twin's fast path). ``y`` float32 or float64 as in
        :meth:`encode`; ``dtype`` the output's, float64 (None) or float32, as in
        :meth:`decode`; ``threads`` as in :meth:`encode`."""
        dtype = _out_dtype(dtype)
        if resolve_engine(engine, True) == "python":
            return _twin().quantize(self, y, rng, dtype=dtype)
        y = self._vector(y)
        t = _codec_threads(threads, y.shape[0])
        return _core._q_quantize(self._spec, y, as_generator(rng), np.empty(y.shape[0], dtype=dtype), t)

    # -- many vectors -------------------------------------------------------------------
    def _batch(self, Y, n, d, rng, threads, encode):
        d = _dim(d)
        row = (self.bits(d) + 7) // 8 if encode else 8 * d
        _check_memory(n * row, f"{'encoding' if encode else 'quantizing'} n={n} rows of d={d}")
        r = _rows_per_stream(d)
        gens = spawn(rng, -(-n // r))
        return self._batch_rows(Y, n, r, gens, check_threads(threads, "rows"), encode)

    def _batch_rows(self, Y, n, r, gens, threads, encode):
        """Rows of :meth:`_batch`: row i on ``gens[i // r]`` (the C core, ``threads`` threads)."""
        return _core._q_batch(self._spec, Y, n, r, gens, threads, encode)

    def sample(self, y: ArrayLike, n: int, rng: Any = None, threads: Optional[int] = None) -> np.ndarray:
        """``n`` independent quantizations of one ``y`` as an ``(n, d)`` array.

        Rows are processed in blocks of ``r = _rows_per_stream(d)`` rows (1 for
        d >= 65536, at most 256); block b runs sequentially on the b-th child of
        ``convq._rng.spawn(rng, n_blocks)`` -- i.e. rows b r, b r + 1, ... equal
        successive calls ``q(y, rng=child_b)`` -- and blocks run in parallel on
        ``threads`` threads (None = every CPU this process may use,
        :func:`convq.available_cpus`). The result does not depend on ``threads``."""
        y = self._vector(y)
        n = check_int(n, "n", minimum=0)
        return self._batch(y, n, y.shape[0], rng, threads, False)

    def quantize_batch(self, Y: ArrayLike, rng: Any = None, threads: Optional[int] = None) -> np.ndarray:
        """Fast path on every row of an ``(n, d)`` array in one C call (streams as in
        :meth:`sample`; identical for any ``threads``)."""
        Y = as_float_array(Y, "Y", ndim=2, finite=False)
        n, d = Y.shape
        return self._batch(Y, n, d, rng, threads, False)

    def encode_batch(self, Y: ArrayLike, rng: Any = None, threads: Optional[int] = None) -> list:
        """Encode every row of an ``(n, d)`` array in one C call; a list of Messages whose
        decodings equal ``quantize_batch(Y, rng)`` for the same ``rng``."""
        Y = as_float_array(Y, "Y", ndim=2, finite=False)
        n, d = Y.shape
        P = self._batch(Y, n, d, rng, threads, True)
        nbits = self.bits(d)
        return [Message(row.tobytes(), nbits, d) for row in P]

    def __repr__(self):
        return f"{type(self).__name__}({self._repr_args()})"

    def _repr_args(self):  # pragma: no cover - overridden
        return ""

    def __eq__(self, other):
        return type(self) is type(other) and self._spec == other._spec

    def __hash__(self):
        return hash((type(self).__name__, self._spec))


def _rows_per_stream(d):
    """Rows per random stream in the batch methods: a function of d only (never of the
    thread count), so that spawning streams stays cheap for many small vectors."""
    return int(min(256, max(1, 65536 // int(d))))


def _fmt_p(p):
    return "inf" if math.isinf(p) else f"{p:g}"


class SimQ(Quantizer):
    r"""SimQ(B): the simplex quantizer (Algorithms 1 and 2, Theorem 4.1).

    .. math::

        i^* = i \text{ w.p. } |y_i|/B,\quad i^* = 0 \text{ w.p. } 1 - \|y\|_1/B,\quad
        Q(y) = B\,\mathrm{sign}(y_{i^*})\, e_{i^*}\ (0 \text{ if } i^* = 0).

    Admissible input: :math:`\|y\|_1 \le B`. The message is :math:`i^* j^* + d` in
    ``ceil(log2(2d+1))`` bits. Unbiased, :math:`\|Q(y)\|_2 \le B` surely, so
    :math:`\alpha_0(Q;\infty) \le B` (Theorem 4.1) -- the optimal quantizer for
    :math:`p = \infty` (Remark 6).

    Parameters
    ----------
    B : float > 0
        The l1 bound.
    """

    unbiased = True

    def __init__(self, B=1.0):
        self.B = check_positive(B, "B")

    @property
    def norm_order(self) -> float:
        """1: the bound is ``||y||_1 <= B``."""
        return 1.0

    @property
    def _spec(self):
        return QuantizerSpec(kind=Kind.SIMQ, B=self.B, p=math.inf)

    def alpha0(self, d):
        """Theorem 4.1: B."""
        check_int(d, "d", minimum=1)
        return self.B

    def _repr_args(self):
        return f"B={self.B:g}"


class SimQPlus(Quantizer):
    r"""SimQ+(B, p, k): the average of k independent SimQ(B') draws, B' = B d^{1/p}
    (section 4.2, eq. (5), Theorem 4.2).

    .. math::

        Q(y) = \frac1k \sum_{i=1}^k Q_{\mathrm{SimQ}}^i(y;\, B d^{1/p}),
        \qquad E\|Q(y)\|_2^2 \le \frac{B^2 d^{2/p}}{k} + B^2 .

    Admissible input: :math:`\|y\|_q \le B`, q = p/(p-1). The message is the *type*
    :math:`(n_0, \dots, n_d)` of the k draws coded exactly in a fixed
    ``ceil(log2 C(d+k, k) + 1e-6) + 2`` bits (2 or 3 above the paper's
    ``ceil(log2 C(d+k, k))``): an exact arithmetic code of the stars-and-bars string (Cover,
    "Enumerative Source Encoding", section 3) -- 16 positions per step where the string is
    dense (k comparable to d: each block's weight and colex rank with their exact
    probability), the gap before the next star elsewhere (O(k) steps for a sparse type) --
    then one sign bit per distinct non-zero index, padded to k bits. The paper's count is
    :math:`k\log e + k\log(d/k+1) + k` (Theorem 4.2; :func:`convq.bounds.simqplus_bits`).
    The k draws are sampled in O(d + k) as sorted uniforms from exponential spacings.

    Parameters
    ----------
    B : float > 0
    p : float in [2, inf], default 2
    k : int >= 1, optional
        Repetitions; default ``ceil(d**(2/p))`` (the choice that proves Theorem 3.1).
        The range coder needs ``d + k <= 2**24``.
    """

    unbiased = True

    def __init__(self, B=1.0, p=2, k=None):
        self.B = check_positive(B, "B")
        self.p = _check_p(p, "p", minimum=2.0)
        self.k = None if k is None else check_int(k, "k", minimum=1)

    @property
    def q(self):
        """The conjugate exponent q = p/(p-1) (1 for p = inf)."""
        return _conj(self.p)

    @property
    def norm_order(self) -> float:
        """q = p/(p-1): the bound is ``||y||_q <= B``."""
        return self.q

    @property
    def _spec(self):
        return QuantizerSpec(kind=Kind.SIMQPLUS, B=self.B, p=self.p, k=0 if self.k is None else self.k)

    def k_for(self, d) -> int:
        """The number of repetitions used for dimension d."""
        return int(self.params(d)["k"])

    def alpha0(self, d):
        """Theorem 4.2: sqrt(B^2 d^(2/p) / k + B^2)."""
        d = check_int(d, "d", minimum=1)
        k = self.k_for(d)
        e = 0.0 if math.isinf(self.p) else 2.0 / self.p
        return math.sqrt(self.B ** 2 * d ** e / k + self.B ** 2)

    def _repr_args(self):
        return f"B={self.B:g}, p={_fmt_p(self.p)}, k={self.k}"


class CUQ(Quantizer):
    r"""CUQ(M, levels): coordinate-wise unbiased uniform quantizer (section 5, eq. (7),
    Lemma 5.1).

    The grid :math:`-M + j\,\frac{2M}{L-1}`, j = 0..L-1 (L = ``levels``; the paper's
    :math:`\log(k+1)` bits mean L = k+1); each coordinate is rounded to one of its two
    neighbouring points with the probabilities that make the mean exact, so
    :math:`|Q(y)_i - y_i| \le 2M/(L-1)` surely. ``d * ceil(log2 L)`` bits.

    Admissible input: :math:`\|y\|_\infty \le M` (exactly; no slack).

    The rounding uses 31-bit uniforms (a counter-based SplitMix64 stream keyed by one
    draw from the generator), i.e. rounding probabilities are exact to 2^-31.

    Parameters
    ----------
    M : float > 0
    levels : int >= 2
    """

    unbiased = True

    def __init__(self, M=1.0, levels=16):
        self.M = check_positive(M, "M")
        self.levels = check_int(levels, "levels", minimum=2, maximum=2 ** 24)

    @property
    def norm_order(self) -> float:
        """inf: the bound is ``||y||_inf <= M``."""
        return math.inf

    @property
    def _spec(self):
        return QuantizerSpec(kind=Kind.CUQ, M=self.M, levels=self.levels)

    @property
    def step(self):
        """Grid spacing 2M/(L-1): the sure bound on the per-coordinate error."""
        return 2.0 * self.M / (self.levels - 1)

    def alpha0(self, d):
        """sup over ||y||_inf <= M of sqrt(E||Q(y)||_2^2) = sqrt(d) M (attained at
        y = +-M; E Q_i^2 <= M^2 for every coordinate)."""
        d = check_int(d, "d", minimum=1)
        return math.sqrt(d) * self.M

    def _repr_args(self):
        return f"M={self.M:g}, levels={self.levels}"


class RATQ(Quantizer):
    r"""RATQ(B): random rotation + adaptive tetra-iterated uniform quantization
    (Mayekar & Tyagi 2019; used in section 5 with parameters (8), Lemma 5.2).

    1. :math:`z = R y` with a random rotation R. The paper pads y to
       :math:`d_2 = 2^{\lceil\log d\rceil}` and takes :math:`R = HD/\sqrt{d_2}`; convq
       pads nothing: with :math:`n_0 = 2^{\lfloor\log d\rfloor}` it rotates the two
       overlapping windows :math:`[0, n_0)` and :math:`[d - n_0, d)` one after the other,
       :math:`R = R_2R_1`, :math:`R_k = H D_k/\sqrt{n_0}` (H Walsh--Hadamard, D_k random
       signs; one window, the paper's rotation, when d is a power of two). The signs are in
       the message: themselves when there are at most 64, else a 64-bit seed.
    2. groups of s coordinates; ranges :math:`M_j^2 = m\,e^{*j} + m_0`, j = 0..h-1,
       :math:`e^{*0} = 1, e^{*j} = \exp(e^{*(j-1)})`, :math:`m = 3B^2/n_0`,
       :math:`m_0 = 2 (B^2/n_0) \ln s` (every rotated coordinate is a Rademacher sum with
       squared weights summing to at most :math:`\|y\|_2^2/n_0`);
    3. each group sends the smallest j with :math:`\max|z_i| \le M_j` (``ceil(log2 h)`` bits)
       and CUQ(M_j, levels) of its coordinates; decode rotates back.

    Defaults (eq. (8)): :math:`\log h = \lceil\log(1 + \ln^*(n_0/3))\rceil`, s = log h (>= 1),
    levels = 4. Bits: ``min(64, signs) + ceil(d/s) ceil(log2 h) + d ceil(log2 levels)``
    (signs = d, or 2 n_0 with two windows). Unbiased;
    :math:`E\|Q(y) - y\|_2^2 \le (d/n_0)\,B^2 (9 + 3\ln s)/(k-1)^2` with k + 1 = levels:
    the paper's bound times :math:`d/n_0 < 2`, since d coordinates carry the variance
    :math:`B^2/n_0` each instead of :math:`d_2` carrying :math:`B^2/d_2` (the second-moment
    argument of :class:`LpQuantizer`). The message is at most half the padded one's when d
    is just above a power of two.
    Ranges above B are capped at B(1 + 1e-6) and the top range is always that cap (every
    group then fits a range, since :math:`|z_i| \le \|y\|_2 \le B`).
    The encoder checks :math:`\|y\|_2 \le B` (and finiteness) in the pass that loads y into
    the rotation, after its two draws (the sign seed and the rounding key), so a rejected
    encode has advanced ``rng`` by those two draws.

    Parameters
    ----------
    B : float > 0
        The l2 bound.
    s, h : int, optional
        Group size and number of ranges (defaults above).
    levels : int >= 2, default 4
    """

    unbiased = True

    def __init__(self, B=1.0, s=None, h=None, levels=4):
        self.B = check_positive(B, "B")
        self.s = None if s is None else check_int(s, "s", minimum=1)
        self.h = None if h is None else check_int(h, "h", minimum=1, maximum=64)
        self.levels = check_int(levels, "levels", minimum=2, maximum=2 ** 24)

    @property
    def norm_order(self) -> float:
        """2: the bound is ``||y||_2 <= B``."""
        return 2.0

    @property
    def _spec(self):
        return QuantizerSpec(kind=Kind.RATQ, B=self.B, p=2.0, levels=self.levels, s=self.s or 0, h=self.h or 0)

    def mse_bound(self, d):
        """The RATQ paper's bound B^2 (9 + 3 ln s)/(k-1)^2 on E||Q(y) - y||_2^2 (k = levels-1),
        times d/n0 < 2 for the windowed rotation (1 when d is a power of two)."""
        P = self.params(d)
        k = self.levels - 1
        widen = P["ratq_d2"] / P["ratq_window"]
        return math.inf if k <= 1 else widen * self.B ** 2 * (9 + 3 * math.log(P["ratq_s"])) / (k - 1) ** 2

    def alpha0(self, d):
        """sqrt(B^2 + mse_bound(d)) (unbiased: E||Q||^2 = ||y||^2 + E||Q - y||^2)."""
        return math.sqrt(self.B ** 2 + self.mse_bound(d))

    def _repr_args(self):
        return f"B={self.B:g}, s={self.s}, h={self.h}, levels={self.levels}"


class LpQuantizer(Quantizer):
    r"""The quantizer Theorem 3.1 prescribes for optimisation over :math:`\ell_p`,
    p in [1, inf]; admissible input :math:`\|y\|_q \le B`.

    * p = inf: SimQ(B) (Theorem 4.1);
    * p in [2, inf): SimQ+(B, p, k = ceil(d^{2/p})) (Theorem 4.2);
    * p in [1, 2): the composite of section 5, with its RATQ part rotated blockwise so that
      the message fits the Theorem 3.1 upper bound for every d (below).

    **The composite (p in [1, 2)).** With q = p/(p-1),
    :math:`\Delta_2 = \lceil\log(1 + \ln^*(d/3))\rceil`,
    :math:`\Delta_1 = \lceil\log(2 + \sqrt{18 + 6\ln\Delta_2}\, d^{1/2-1/q})\rceil`
    (:math:`\Delta_1 \ge 3`; for :math:`\Delta_2 = 0`, i.e. d <= 3, ln Delta2 is taken as 0)
    and :math:`c = B\Delta_1^{1/q}/d^{1/q}` (eq. (6)):

    1. the coordinates with :math:`|y_i| \le c` (Y1) go through CUQ(c, L_c),
       :math:`L_c = 2^{\lceil\log(2\sqrt2\Delta_1^{1/q}+2)\rceil}` (eq. (7), Lemma 5.1); a
       large coordinate is sent as CUQ of 0;
    2. a d-bit support bitmap of the others (Y2: fewer than :math:`d/\Delta_1` of them, so
       at most :math:`d' = \lceil d/\Delta_1\rceil - 1`; none for p = 1);
    3. RATQ of the restriction Y2', zero-padded to :math:`d'`, with
       :math:`B' = B d^{1/2-1/q} \ge \|Y_2'\|_2` and :math:`\log(k+1) = \Delta_1` (parameters
       (8), Lemma 5.2), in a windowed form: instead of padding :math:`d'` to a power of two
       (up to :math:`d'\Delta_1` more bits, which is what broke the bound), with
       :math:`n_0 = 2^{\lfloor\log d'\rfloor} > d'/2` the rotation is
       :math:`R = R_2 R_1`, :math:`R_1 = H D_1/\sqrt{n_0}` on coordinates
       :math:`[0, n_0)` and :math:`R_2 = H D_2/\sqrt{n_0}` on :math:`[d'-n_0, d')` (two
       overlapping windows, H Walsh--Hadamard, :math:`D_1, D_2` independent random signs;
       one window when :math:`d' = n_0`). The ranges and h are RATQ's for dimension
       :math:`n_0`: :math:`m = 3B'^2/n_0`, :math:`m_0 = 2(B'^2/n_0)\ln s`,
       :math:`\log h = \lceil\log(1+\ln^*(n_0/3))\rceil`, s = log h (>= 1); groups of s
       consecutive rotated coordinates send their range index (log h bits) and
       :math:`\Delta_1` bits per coordinate.

    Output Q(Y1) + Q(Y2). Message: [CUQ levels][bitmap][signs][per group: range, levels].

    **The rotation's randomness travels in the message.** The paper draws the rotation
    from randomness shared by encoder and decoder; here ``decode`` sees only the message,
    so the signs :math:`D_1, D_2` (:math:`n_0`, or :math:`2n_0` with two windows) are sent:
    as themselves when there are at most 64 of them, else as a 64-bit seed that SplitMix64
    expands (as in :class:`RATQ`; the argument below treats the expanded signs as fair
    coins). This field counts in ``bits(d)`` and the total stays within the bound.

    **Bits** (p < 2; no bitmap, signs or RATQ when d' = 0, e.g. p = 1 or d <= 3):

    .. math::

        d\lceil\log L_c\rceil + d + \min(64, \text{signs})
        + \lceil d'/s\rceil \log h + d'\Delta_1
        \;\le\; d(\lceil\log L_c\rceil + 3) + \Delta_2 \quad\text{(Theorem 3.1)}

    for every d: :math:`d'\Delta_1 \le d - 1`; :math:`\lceil d'/s\rceil\log h \le d' + s - 1
    \le d' + \Delta_2` (s = log h <= Delta2 as :math:`n_0 < d`); signs <= 2n_0 <= 2d'; and
    :math:`3d' \le d - 1` because :math:`\Delta_1 \ge 3`. So the message is always at most
    :func:`convq.bounds.precision_upper` ``(d, p)`` bits.

    **Unbiased.** Given y and the signs, CUQ is unbiased on every coordinate it receives
    (:math:`|y_i| \le c = M`, Lemma 5.1), and every RATQ group is quantized with a range
    :math:`M_{j} \ge \max|z_i|`, so CUQ(M_j) is unbiased on z = R Y2'; R is orthogonal and
    fixed given the signs, so :math:`E[R^\top\hat z] = R^\top z = Y_2'`. Hence
    :math:`E[Q(Y)\mid Y] = Y_1 + Y_2 = Y`.

    **Second moment.** Write :math:`Q(Y) = Y + e_1 + e_2` (CUQ and RATQ errors).
    (i) :math:`|e_{1,i}| \le 2c/(L_c-1) \le c/(\sqrt2\Delta_1^{1/q})`, so
    :math:`\|e_1\|_q \le d^{1/q}c/(\sqrt2\Delta_1^{1/q}) = B/\sqrt2` surely (Lemma 5.1's
    step). (ii) Every rotated coordinate is a Rademacher sum with squared weights summing
    to at most :math:`\|Y_2'\|_2^2/n_0 \le B'^2/n_0 =: \sigma^2`: window 1's outputs are
    sums over :math:`[0, n_0)`; window 2 acts, with signs :math:`D_2` independent of
    :math:`D_1`, on a vector of norm at most :math:`\|Y_2'\|_2`. By Hoeffding and a union
    bound, a group exceeds :math:`M_{j-1}` with probability at most
    :math:`2s\,e^{-M_{j-1}^2/2\sigma^2} = 2e^{-1.5e^{*(j-1)}}`, whence
    :math:`E[M_{j^*}^2] \le \sigma^2(9 + 3\ln s)` (the computation of the RATQ paper,
    Mayekar & Tyagi 2019, behind the bound quoted in Lemma 5.2's proof; the top range is
    the cap, :math:`e^{*(h-1)} \ge n_0/3`). CUQ with k + 1 = 2^Delta1 points adds variance at
    most :math:`M^2/k^2` per coordinate, so
    :math:`E\|e_2\|_2^2 \le d'\sigma^2(9+3\ln s)/k^2 < 2B'^2(9+3\ln s)/k^2 \le B^2`, using
    :math:`k \ge \sqrt{18+6\ln\Delta_2}\,d^{1/2-1/q}` and s <= Delta2: twice Lemma 5.2's
    :math:`B^2/2`, the price of windows of size :math:`n_0 > d'/2`. (iii) By Minkowski's
    inequality in :math:`L^2` and :math:`\|\cdot\|_q \le \|\cdot\|_2` (q >= 2):
    :math:`\sqrt{E\|Q(Y)\|_q^2} \le B + B/\sqrt2 + B = (2 + 1/\sqrt2)B \approx 2.71B`,
    within the paper's :math:`\alpha_0 \le \sqrt{12}B \approx 3.46B` (section 5), which
    ``alpha0`` reports.

    Coordinates with :math:`c < |y_i| \le c(1 + 2\cdot10^{-9})` are treated as small (the
    norm slack), CUQ clamping them to the end points. ``params(d)`` reports every part
    (``dmax`` = d', ``ratq_window`` = n0, ``ratq_seedbits``, ``ratq_bits``, ...).

    The composite's encoder reads y once: the q-norm is summed in the pass that writes the
    CUQ levels, so an encode that the norm check rejects (ValueError) has drawn CUQ's key
    from ``rng`` (its fast path ``q(y, rng)`` checks before it draws; :class:`RATQ` sums
    its norm as it loads the rotation, after its draws, in the same way).

    Parameters
    ----------
    p : float in [1, inf]
    B : float > 0
    """

    def __init__(self, p, B=1.0):
        self.p = _check_p(p, "p", minimum=1.0)
        self.B = check_positive(B, "B")

    @property
    def q(self):
        """The conjugate exponent q = p/(p-1) (1 for p = inf, inf for p = 1)."""
        return _conj(self.p)

    @property
    def norm_order(self) -> float:
        """q = p/(p-1): the bound is ``||y||_q <= B``."""
        return self.q

    @property
    def unbiased(self):
        return True

    @property
    def _spec(self):
        return QuantizerSpec(kind=Kind.LP, B=self.B, p=self.p)

    def alpha0(self, d):
        """p = inf: B; p in [2, inf): Theorem 4.2 with k = ceil(d^(2/p)); p < 2: sqrt(12) B."""
        d = check_int(d, "d", minimum=1)
        if math.isinf(self.p):
            return self.B
        if self.p >= 2:
            return SimQPlus(self.B, self.p).alpha0(d)
        return math.sqrt(12.0) * self.B

    def _repr_args(self):
        return f"p={_fmt_p(self.p)}, B={self.B:g}"


_RANK_MAX = 2 ** 64  # index sets with at most this many values are sent by rank, others by a seed


def _subset_rank(idx):
    """Rank of a sorted index set in the combinatorial number system: sum_i C(c_i, i)."""
    return sum(math.comb(int(c), i) for i, c in enumerate(idx, 1))


def _subset_unrank(rank, n, t):
    """The sorted t-subset of {0..n-1} with rank ``rank`` (< C(n, t)): greedily the largest
    c_t with C(c_t, t) <= rank, then c_{t-1} < c_t for what is left, and so on."""
    out = []
    for i in range(t, 0, -1):
        lo, hi = i - 1, n - 1          # C(i-1, i) = 0 <= rank
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if math.comb(mid, i) <= rank:
                lo = mid
            else:
                hi = mid - 1
        out.append(lo)
        rank -= math.comb(lo, i)
        n = lo
    return np.array(out[::-1], dtype=np.int64)


def _comb_capped(n, t, cap):
    """C(n, t), or None when it exceeds ``cap`` (at most ~log2(cap) steps for t <= n/2)."""
    c = 1
    for i in range(t):
        c = c * (n - i) // (i + 1)
        if c > cap:
            return None
    return c


class CoordinateSampling(Quantizer):
    r"""CoordinateSampling(inner, s): uniform sampling of s coordinates without
    replacement, scaled by d/s, with the sampled sub-vector quantized by ``inner``
    (Mayekar & Tyagi, section 7: the precision trade-off for p in [1, 2)).

    .. math::

        S \subset [d],\ |S| = s \text{ uniform},\qquad
        Q(y) = \frac{d}{s}\, \iota_S\big(Q_{\mathrm{in}}(y_S)\big),

    :math:`\iota_S` putting the s values back at the indices S (zeros elsewhere).

    * Unbiased when ``inner`` is: each i is in S with probability s/d, so
      :math:`E\,Q(y) = \frac{d}{s} E_S[\iota_S(y_S)] = y`.
    * :math:`\alpha_0 \le \frac{d}{s}\,\alpha_0(Q_{\mathrm{in}})` at dimension s: since
      :math:`\|y_S\| \le \|y\|` in every norm, y_S is admissible for ``inner`` and
      :math:`E\|Q(y)\|^2 = (d/s)^2\, E_S E\|Q_{\mathrm{in}}(y_S)\|^2 \le (d/s)^2 \alpha_0(Q_{\mathrm{in}})^2`.
    * Admissible input: that of ``inner`` (``norm_order`` and ``bound`` are its own).

    Message: the index set, then ``inner``'s message for dimension s. The set is sent as
    whichever of S and its complement is smaller (t = min(s, d - s) indices): by its rank
    in ``ceil(log2 C(d, t))`` bits when :math:`C(d, t) \le 2^{64}` (decoding rejects a rank
    >= C(d, t)), otherwise as a 64-bit seed from which the t indices are drawn
    (``numpy.random.Generator(PCG64(seed)).choice(d, t, replace=False)``). Bits:
    ``index_bits(d) + inner.bits(s)``. With s >= d every coordinate is kept (no index
    bits, no scaling). Encoding draws the index set first, then ``inner``'s draws.

    This class runs in Python over ``inner``'s C core; ``engine=`` is passed on to
    ``inner``; the batch methods run their rows one after another (``threads`` is checked
    and otherwise ignored).

    Parameters
    ----------
    inner : Quantizer
        The quantizer of the sampled sub-vector (section 7: :func:`for_geometry` of p, B;
        :func:`for_budget` builds it).
    s : int >= 1
        Coordinates sampled (min(s, d) at dimension d).
    """

    def __init__(self, inner, s):
        from ._validation import check_quantizer
        check_quantizer(inner, "inner", allow_none=False)
        if not isinstance(inner, Quantizer) or isinstance(inner, CoordinateSampling):
            raise TypeError(f"inner must be a convq quantizer other than CoordinateSampling, got {inner!r}")
        self.inner = inner
        self.s = check_int(s, "s", minimum=1, maximum=_DMAX)

    @property
    def unbiased(self):
        return bool(self.inner.unbiased)

    @property
    def norm_order(self) -> float:
        """``inner``'s: sampling never increases a norm."""
        return self.inner.norm_order

    @property
    def bound(self) -> float:
        """``inner``'s."""
        return self.inner.bound

    @property
    def _spec(self):
        """None: no C kernel of its own (the SGD loops then run it in Python)."""
        return None

    def _layout(self, d):
        """(s, t, index bits, rank?) at dimension d."""
        d = _dim(d)
        s = min(self.s, d)
        t = min(s, d - s)
        c = _comb_capped(d, t, _RANK_MAX)
        if c is None:
            return s, t, 64, False
        return s, t, (c - 1).bit_length(), True

    def index_bits(self, d) -> int:
        """Bits of the index field at dimension d."""
        return self._layout(d)[2]

    def bits(self, d) -> int:
        s, _, ib, _ = self._layout(d)
        return ib + self.inner.bits(s)

    def params(self, d) -> dict:
        s, t, ib, by_rank = self._layout(d)
        return {"bits": ib + self.inner.bits(s), "s": s, "index_bits": ib,
                "index_code": "rank" if by_rank else "seed", "scale": _dim(d) / s, "inner": self.inner.params(s)}

    def alpha0(self, d):
        """(d/s) ``inner.alpha0(s)`` (class docstring); None when ``inner`` defines none."""
        s = self._layout(d)[0]
        a = self.inner.alpha0(s)
        return None if a is None else _dim(d) / s * a

    # -- the index set ---------------------------------------------------------------
    def _indices(self, d, field, s, t, by_rank):
        """The sorted sampled indices S encoded by ``field`` (DecodeError if impossible)."""
        if by_rank:
            if field >= math.comb(d, t):
                raise DecodeError(f"index rank {field} is not below C({d}, {t})")
            T = _subset_unrank(field, d, t)
        else:
            T = np.sort(np.random.Generator(np.random.PCG64(field)).choice(d, t, replace=False))
        if t == s:
            return T
        keep = np.ones(d, dtype=bool)
        keep[T] = False
        return np.flatnonzero(keep)

    def _draw(self, y, gen):
        """Check y, draw the index set: (field, S, s, d)."""
        y = as_float_array(y, "y", ndim=1)
        bound = self.bound
        if math.isfinite(bound):
            nrm = float(np.linalg.norm(y, ord=self.norm_order))
            if nrm > bound * (1.0 if isinstance(self.inner, CUQ) else 1 + 1e-9):   # inner's own slack
                raise ValueError(f"y must satisfy ||y||_{self.norm_order:g} <= {bound:g} ({self!r}), got "
                                 f"||y|| = {nrm:.6g}")
        d = y.shape[0]
        s, t, _, by_rank = self._layout(d)
        if by_rank:
            T = np.sort(gen.choice(d, t, replace=False)) if t else np.zeros(0, np.int64)
            field = _subset_rank(T)
        else:
            field = int(gen.integers(0, 2 ** 64, dtype=np.uint64))
        return y, field, self._indices(d, field, s, t, by_rank), s, d

    # -- one vector ------------------------------------------------------------------
    def encode(self, y: ArrayLike, rng: Any = None, *, engine: str = "auto", threads: Optional[int] = None) -> Message:
        gen = as_generator(rng)
        y, field, S, s, d = self._draw(y, gen)
        inner = self.inner.encode(y[S], rng=gen, engine=engine, threads=threads)
        ib = self.index_bits(d)
        nbits = ib + inner.nbits
        value = field | (int.from_bytes(inner.payload, "little") << ib)
        return Message(value.to_bytes((nbits + 7) // 8, "little"), nbits, d)

    def _decode_payload(self, payload, d, engine, dtype=_DTYPES[0], threads=None):
        s, t, ib, by_rank = self._layout(d)
        nbits = ib + self.inner.bits(s)
        if len(payload) != (nbits + 7) // 8:
            raise DecodeError(f"{self!r} sends {(nbits + 7) // 8} bytes for d={d}, got {len(payload)}")
        value = int.from_bytes(payload, "little")
        if value >> nbits:
            raise DecodeError("non-zero padding bits after the message")
        S = self._indices(d, value & ((1 << ib) - 1), s, t, by_rank)
        z = self.inner.decode((value >> ib).to_bytes((nbits - ib + 7) // 8, "little"), s, engine=engine,
                              threads=threads)
        return self._place(z, S, d).astype(dtype, copy=False)

    @staticmethod
    def _place(z, S, d):
        out = np.zeros(d)
        out[S] = z if S.size == d else z * (d / S.size)
        return out

    def __call__(self, y: ArrayLike, rng: Any = None, *, engine: str = "auto", dtype: Any = None,
                 threads: Optional[int] = None) -> np.ndarray:
        dtype = _out_dtype(dtype)
        gen = as_generator(rng)
        y, _, S, _, d = self._draw(y, gen)
        return self._place(self.inner(y[S], rng=gen, engine=engine, threads=threads), S, d).astype(dtype, copy=False)

    def _batch_rows(self, Y, n, r, gens, threads, encode):
        rows = [Y if Y.ndim == 1 else Y[i] for i in range(n)]
        if encode:
            nbytes = (self.bits(Y.shape[-1]) + 7) // 8
            out = np.zeros((n, nbytes), dtype=np.uint8)
            for i, y in enumerate(rows):
                out[i] = np.frombuffer(self.encode(y, rng=gens[i // r]).payload, np.uint8)
            return out
        out = np.zeros((n, Y.shape[-1]))
        for i, y in enumerate(rows):
            out[i] = self(y, rng=gens[i // r])
        return out

    def __eq__(self, other):
        return type(self) is type(other) and (self.inner, self.s) == (other.inner, other.s)

    def __hash__(self):
        return hash((type(self).__name__, self.inner, self.s))

    def _repr_args(self):
        return f"{self.inner!r}, s={self.s}"


def for_geometry(p, B, d):
    """The quantizer Theorem 3.1 prescribes for l_p geometry in dimension d.

    p = inf -> :class:`SimQ` (B); p in [2, inf) -> :class:`SimQPlus` (B, p,
    k = ceil(d^(2/p))); p in [1, 2) -> :class:`LpQuantizer` (p, B) (CUQ + RATQ composite).
    """
    p = _check_p(p, "p", minimum=1.0)
    B = check_positive(B, "B")
    d = check_int(d, "d", minimum=1)
    if math.isinf(p):
        return SimQ(B)
    if p >= 2:
        return SimQPlus(B, p, k=math.ceil(d ** (2.0 / p)))
    return LpQuantizer(p, B)


def _largest(fits, lo, hi):
    """The largest n in [lo, hi] with fits(n), by bisection, given fits(lo)."""
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def for_budget(r, p, d, B=1.0):
    """The quantizer that meets a budget of ``r`` bits per gradient in l_p geometry
    (Mayekar & Tyagi, section 7, the precision trade-off E0*(T, r, p)):

    * p = inf: :class:`SimQ` (B) (Theorem 4.1, alpha0 = B with ceil(log2(2d+1)) bits;
      SimQ+ could only raise alpha0 to B sqrt(1 + 1/k));
    * p in [2, inf): :class:`SimQPlus` (B, p, k) with the largest k whose message fits r
      bits (k is the lever: alpha0 = sqrt(B^2 d^(2/p)/k + B^2), Theorem 4.2), at most
      2^24 - d (the range coder's limit);
    * p in [1, 2): :class:`LpQuantizer` (p, B) when its message fits r bits, else
      :class:`CoordinateSampling` (LpQuantizer(p, B), s) with the largest s that fits
      (alpha0 = (d/s) sqrt(12) B).

    The result's ``bits(d) <= r`` and its ``alpha0(d)`` is the one Theorem 2.3 turns into
    the upper bound :func:`convq.bounds.tradeoff_upper`. Raises ValueError naming r when
    no such quantizer fits r bits (and naming d when SimQ+ cannot run at that d).
    k is found by bisection (SimQ+'s bits grow with k), s by a scan down from min(d-1, r)
    (the l_p quantizer's bits are not monotone in the dimension), so both are the largest.
    """
    r = check_int(r, "r", minimum=1)
    p = _check_p(p, "p", minimum=1.0)
    B = check_positive(B, "B")
    d = _dim(d)
    if math.isinf(p) or p >= 2:
        least = SimQ(B) if math.isinf(p) else None
        if least is None:
            kmax = 2 ** 24 - d
            if kmax < 1:
                raise ValueError(f"SimQ+ needs d + k <= 2**24, so d must be < 2**24, got d={d}")
            least = SimQPlus(B, p, k=1)
        if least.bits(d) > r:
            raise ValueError(f"r={r} bits per gradient is too few: {least!r} needs {least.bits(d)} bits at d={d}")
        if math.isinf(p):
            return least
        return SimQPlus(B, p, k=_largest(lambda k: SimQPlus(B, p, k=k).bits(d) <= r, 1, kmax))
    full = LpQuantizer(p, B)
    if full.bits(d) <= r:
        return full
    least = CoordinateSampling(full, 1)
    if least.bits(d) > r:
        raise ValueError(f"r={r} bits per gradient is too few: sampling one coordinate needs {least.bits(d)} "
                         f"bits at d={d}")
    # LpQuantizer's bits are not monotone in the dimension (RATQ's padding), so scan down from
    # the most coordinates r bits could carry (every coordinate costs at least one bit)
    s = next(s for s in range(min(d - 1, r), 0, -1) if CoordinateSampling(full, s).bits(d) <= r)
    return CoordinateSampling(full, s)


# ---- baselines -------------------------------------------------------------------------


class QSGD(Quantizer):
    r"""QSGD (Alistarh, Grubic, Li, Tomioka and Vojnovic, "QSGD: Communication-Efficient SGD
    via Gradient Quantization and Encoding", NeurIPS 2017) with s = ``levels`` levels and
    buckets of ``bucket`` coordinates (their section 3.1, "bucketing").

    The vector is cut into consecutive buckets of b coordinates (the last one shorter);
    in each, :math:`Q(y)_i = n\,\mathrm{sign}(y_i)\,\xi_i` with :math:`n` the bucket's
    :math:`\|\cdot\|_2` (or :math:`\|\cdot\|_\infty` with ``norm="inf"``) and
    :math:`\xi_i \in \{0, 1/s, \dots, 1\}` the stochastic rounding of :math:`|y_i|/n`.
    Each bucket sends its norm as float32 rounded up (so the rounding stays unbiased), then
    ``ceil(log2(s+1))`` level bits and a sign bit per coordinate:
    ``32 ceil(d/b) + d (ceil(log2(s+1)) + 1)`` bits (fixed-width, no Elias coding).
    Unbiased, with :math:`E\|Q(y) - y\|_2^2 \le \min(b/s^2, \sqrt b/s)\,\|y\|_2^2`
    (their Lemma 3.1 applied per bucket): small buckets keep the variance of long vectors
    bounded (one norm for a 10^6-coordinate gradient makes the variance grow like
    :math:`\sqrt d/s`). Any finite y.

    Parameters
    ----------
    levels : s >= 1
    norm : 2 or "inf"
    bucket : coordinates per norm (default 512, the paper's choice); None for one bucket
        holding the whole vector (QSGD without bucketing)
    """

    unbiased = True

    def __init__(self, levels=1, norm=2, bucket=512):
        self.levels = check_int(levels, "levels", minimum=1, maximum=2 ** 24)
        if norm in (2, "2", "l2"):
            self.norm = 2
        elif norm in ("inf", math.inf, np.inf):
            self.norm = "inf"
        else:
            raise ValueError(f"norm must be 2 or 'inf', got {norm!r}")
        self.bucket = None if bucket is None else check_int(bucket, "bucket", minimum=1, maximum=_DMAX)

    @property
    def norm_order(self) -> float:
        """The norm QSGD scales by (2, or inf with ``norm="inf"``); any finite y is admissible."""
        return math.inf if self.norm == "inf" else 2.0

    @property
    def _spec(self):
        return QuantizerSpec(kind=Kind.QSGD, levels=self.levels, s=self.bucket or 0,
                             flags=_NORM_INF if self.norm == "inf" else 0)

    def _repr_args(self):
        return f"levels={self.levels}, norm={self.norm!r}, bucket={self.bucket!r}"


class TernGrad(Quantizer):
    r"""TernGrad (Wen et al. 2017): :math:`Q(y)_i = S\,\mathrm{sign}(y_i)\,b_i`,
    :math:`S = \|y\|_\infty` (float32, rounded up), :math:`b_i \sim
    \mathrm{Bernoulli}(|y_i|/S)`. 2-bit codes per coordinate: ``32 + 2d`` bits. Unbiased."""

    unbiased = True

    @property
    def norm_order(self) -> float:
        """inf, the norm of the scale S; any finite y is admissible."""
        return math.inf

    @property
    def _spec(self):
        return QuantizerSpec(kind=Kind.TERNGRAD)

    def _repr_args(self):
        return ""


class ScaledSign(Quantizer):
    r"""Scaled sign: :math:`Q(y) = \frac{\|y\|_1}{d}\,\mathrm{sign}(y)` (sign(0) = +1),
    float32 scale + d sign bits: ``32 + d`` bits. Deterministic and biased."""

    unbiased = False

    @property
    def norm_order(self) -> float:
        """1, the norm of the scale ||y||_1/d; any finite y is admissible."""
        return 1.0

    @property
    def _spec(self):
        return QuantizerSpec(kind=Kind.SCALEDSIGN)

    def _repr_args(self):
        return ""


class TopK(Quantizer):
    r"""Top-k sparsification: keep the k largest :math:`|y_i|` (ties to the lower index),
    sent as increasing ``ceil(log2 d)``-bit indices each with its float64 value:
    ``min(k, d) (ceil(log2 d) + 64)`` bits. Deterministic and biased."""

    unbiased = False

    def __init__(self, k):
        self.k = check_int(k, "k", minimum=1)

    @property
    def norm_order(self) -> float:
        """2 (no bound: any finite y is admissible)."""
        return 2.0

    @property
    def _spec(self):
        return QuantizerSpec(kind=Kind.TOPK, k=self.k)

    def _repr_args(self):
        return f"k={self.k}"


class RandK(Quantizer):
    r"""Random-k sparsification: k indices uniformly without replacement, values scaled by
    d/k (unbiased). The indices come from a 64-bit seed sent in the message; values as
    float64 in increasing index order: ``64 + 64 min(k, d)`` bits."""

    unbiased = True

    def __init__(self, k):
        self.k = check_int(k, "k", minimum=1)

    @property
    def norm_order(self) -> float:
        """2 (no bound: any finite y is admissible)."""
        return 2.0

    @property
    def _spec(self):
        return QuantizerSpec(kind=Kind.RANDK, k=self.k)

    def _repr_args(self):
        return f"k={self.k}"


class Identity(Quantizer):
    """No compression: raw float64 (``64 d`` bits, exact) or float32 (``32 d`` bits, round
    to nearest, hence biased; |y_i| must fit float32)."""

    def __init__(self, dtype="float64"):
        if dtype is None:
            raise TypeError("dtype must be 'float64' or 'float32', got None")
        try:
            dt = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"dtype must be 'float64' or 'float32', got {dtype!r}") from None
        if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise ValueError(f"dtype must be float64 or float32, got {dt}")
        self.dtype = dt

    @property
    def unbiased(self):
        return self.dtype == np.float64

    @property
    def norm_order(self) -> float:
        """2 (no bound: any finite y is admissible, within float32 range for float32)."""
        return 2.0

    @property
    def _spec(self):
        return QuantizerSpec(kind=Kind.IDENTITY, flags=_FLOAT32 if self.dtype == np.float32 else 0)

    def _repr_args(self):
        return f"dtype={self.dtype.name!r}"


# ---- section 7: gain-shape quantization for mean-square bounded oracles ---------------------

_DBL_MAX = float(np.finfo(np.float64).max)
_AGUQ_TOP = 0.5 * _DBL_MAX   # the largest range: CUQ's grid arithmetic on [0, M] stays finite
_DBL_MIN = float(np.finfo(np.float64).tiny)   # the smallest normal double
_AGUQ_MAX_RANGES = 2 ** 20


class AGUQ:
    r"""Adaptive Geometric Uniform Quantizer for a non-negative scalar, the gain quantizer of
    the gain-shape scheme for mean-square bounded oracles (Mayekar & Tyagi 2019, "RATQ: A
    Universal Fixed-Length Quantizer for Stochastic Optimization"; Remark 1 and section 7 of
    Mayekar & Tyagi, "Limits on Gradient Compression for Stochastic Optimization").

    What this class implements: geometric dynamic ranges

    .. math::

        M_i = \min(B\,a^i,\ \mathrm{DBL\_MAX}/2), \qquad i = 0, \dots, h-1,

    and, for an input :math:`x \ge 0`, the smallest range that contains it,
    :math:`i(x) = \min\{i : x \le M_i\}`, then unbiased stochastic rounding of x to one of
    its two neighbours on the uniform grid :math:`\{j\,\delta_i : j = 0..L-1\}`,
    :math:`\delta_i = M_i/(L-1)` (L = ``levels``). The rounding is CUQ's
    (:class:`CUQ` (M_i/2, L) applied to :math:`x - M_i/2`, then shifted back), so its
    probabilities are exact to :math:`2^{-31}`. The message is i in
    ``ceil(log2 h)`` bits, then j in ``ceil(log2 L)`` bits: ``bits()`` in all.

    * Bias: :math:`E[Q(x) \mid x] = x` for every :math:`x \le M_{h-1}`. By default h is the
      smallest number of ranges whose top range reaches DBL_MAX/2 (about 9e307), so every
      :math:`0 \le x \le` DBL_MAX/2 is admissible and Q is unbiased on it. A fixed-length quantizer
      with a finite top range must clip larger inputs, and clipping is what biases the
      quantizers for mean-square bounded oracles ("Limits on Gradient Compression", section
      7); here no input up to DBL_MAX/2 is clipped. With a smaller
      ``h`` an input above :math:`M_{h-1}` raises ValueError instead of being clipped.
    * Variance: :math:`\mathrm{Var}\,Q(x) = (x - \ell)(\ell + \delta_i - x) \le \delta_i^2/4`
      (:math:`\ell` the grid point below x), and :math:`\delta_i \le \max(B, a x)/(L-1)`
      since :math:`M_i \le a M_{i-1} < a x` when i >= 1. Hence for a random gain G with
      :math:`E G^2 \le S^2`:

      .. math::

          E(Q(G) - G)^2 \le \frac{B^2 + a^2 S^2}{4 (L-1)^2}, \qquad
          E\,Q(G)^2 \le S^2 + \frac{B^2 + a^2 S^2}{4 (L-1)^2}

      (:meth:`mse_bound`, :meth:`second_moment_bound`; S = B by default).

    With the defaults (B = 1, a = 2, 16 levels: h = 1024 ranges) the message has 10 + 4 = 14
    bits.

    Parameters
    ----------
    B : float > 0 (at least the smallest normal double)
        The first range, and the mean-square bound of the gain the bounds assume.
    a : float > 1
        Ratio of successive ranges.
    levels : int in 2..2**24
        Grid points per range (L).
    h : int >= 1, optional
        Number of ranges (default: enough to reach DBL_MAX/2; at most 2**20).
    """

    unbiased = True

    def __init__(self, B=1.0, a=2.0, levels=16, h=None):
        self.B = check_positive(B, "B")
        if self.B < _DBL_MIN:
            raise ValueError(f"B must be at least the smallest normal double {_DBL_MIN:g}, got {self.B!r}")
        self.a = check_real(a, "a")
        if not self.a > 1.0:
            raise ValueError(f"a must be > 1 (the ratio of successive ranges), got {self.a!r}")
        self.levels = check_int(levels, "levels", minimum=2, maximum=2 ** 24)
        h_all = self._ranges_to_cover()
        if h_all > _AGUQ_MAX_RANGES:
            raise ValueError(f"a = {self.a!r} is too close to 1: reaching DBL_MAX/2 from B = {self.B:g} "
                             f"takes {h_all} ranges, more than {_AGUQ_MAX_RANGES}")
        self.h = h_all if h is None else check_int(h, "h", minimum=1, maximum=h_all)
        self._cuqs = {}

    # -- the ranges --------------------------------------------------------------------
    def _half(self, i):
        """M_i / 2 (the CUQ bound of range i), computed the same way on both sides."""
        try:
            v = 0.5 * self.B * self.a ** i
        except OverflowError:
            v = math.inf
        return min(v, 0.5 * _AGUQ_TOP)

    def _ranges_to_cover(self):
        """The smallest h with M_{h-1} = DBL_MAX/2."""
        top = 0.5 * _AGUQ_TOP
        i = max(0, math.ceil((math.log(_AGUQ_TOP) - math.log(self.B)) / math.log(self.a)))
        if i > _AGUQ_MAX_RANGES:
            return i + 1
        while self._half(i) < top:
            i += 1
        while i > 0 and self._half(i - 1) >= top:
            i -= 1
        return i + 1

    @property
    def ranges(self) -> np.ndarray:
        """The ranges M_0 <= ... <= M_{h-1}."""
        return np.array([2.0 * self._half(i) for i in range(self.h)])

    def _index(self, x):
        """i(x) = min{i : x <= M_i} (ValueError naming x above the top range)."""
        top = 2.0 * self._half(self.h - 1)
        if x > top:
            raise ValueError(f"x = {x!r} is above the top range M_{self.h - 1} = {top!r} of {self!r}")
        i = 0 if x <= self.B else min(self.h - 1, math.ceil(math.log(x / self.B) / math.log(self.a)))
        while i > 0 and x <= 2.0 * self._half(i - 1):
            i -= 1
        while x > 2.0 * self._half(i):
            i += 1
        return i

    def _cuq(self, i):
        """CUQ(M_i/2, L), built once per range."""
        q = self._cuqs.get(i)
        if q is None:
            q = self._cuqs[i] = CUQ(self._half(i), self.levels)
        return q

    @staticmethod
    def _scalar(x):
        x = check_real(x, "x")
        if x < 0:
            raise ValueError(f"x must be >= 0 (a gain, e.g. a norm), got {x!r}")
        return x

    # -- sizes and bounds ----------------------------------------------------------------
    @property
    def _widths(self):
        return (self.h - 1).bit_length(), (self.levels - 1).bit_length()

    def bits(self) -> int:
        """Fixed message length: ceil(log2 h) + ceil(log2 levels)."""
        return sum(self._widths)

    def step(self, x) -> float:
        """delta_i = M_i/(L-1), the grid spacing of the range that x falls in."""
        return 2.0 * self._half(self._index(self._scalar(x))) / (self.levels - 1)

    def variance_bound(self, x) -> float:
        """delta_i^2 / 4 >= Var Q(x)."""
        h = 0.5 * self.step(x)
        return h * h

    def mse_bound(self, S=None) -> float:
        """(B^2 + a^2 S^2) / (4 (L-1)^2) >= E(Q(G) - G)^2 for E G^2 <= S^2 (S = B by default)."""
        S = self.B if S is None else check_positive(S, "S", allow_zero=True)
        return (self.B ** 2 + self.a ** 2 * S ** 2) / (4.0 * (self.levels - 1) ** 2)

    def second_moment_bound(self, S=None) -> float:
        """S^2 + mse_bound(S) >= E Q(G)^2 for E G^2 <= S^2 (unbiased: E Q^2 = E G^2 + E(Q - G)^2)."""
        S = self.B if S is None else check_positive(S, "S", allow_zero=True)
        return S ** 2 + self.mse_bound(S)

    # -- quantization ----------------------------------------------------------------------
    def encode(self, x, rng=None) -> Message:
        """Quantize a scalar x >= 0 to a :class:`Message` of ``bits()`` bits (d = 1)."""
        x = self._scalar(x)
        i = self._index(x)
        half = self._half(i)
        m = self._cuq(i).encode(np.array([x - half]), rng=rng)
        wi, wj = self._widths
        j = int.from_bytes(m.payload, "little")      # i, then j, LSB-first
        return Message((i | j << wi).to_bytes((wi + wj + 7) // 8, "little"), wi + wj, 1)

    def decode(self, msg) -> float:
        """Decode a :class:`Message` (or its payload bytes); DecodeError for a wrong length, a
        range index >= h, a level >= levels, a level its encoder cannot emit in that range
        (below the previous range) or non-zero padding."""
        if isinstance(msg, Message):
            payload, nbits = msg.payload, msg.nbits
            if msg.d != 1 or nbits != self.bits():
                raise DecodeError(f"{self!r} messages have {self.bits()} bits and d = 1, got {nbits} bits, "
                                  f"d = {msg.d}")
        else:
            payload, nbits = _payload(msg, "msg"), self.bits()
        wi, wj = self._widths
        if len(payload) != (nbits + 7) // 8:
            raise DecodeError(f"an AGUQ message has {(nbits + 7) // 8} bytes, got {len(payload)}")
        v = int.from_bytes(payload, "little")
        if v >> nbits:
            raise DecodeError("AGUQ message: non-zero padding bits")
        i, j = v & ((1 << wi) - 1), v >> wi
        if i >= self.h:
            raise DecodeError(f"AGUQ range index {i} is out of range 0..{self.h - 1}")
        half = self._half(i)
        if j >= self.levels:
            raise DecodeError(f"AGUQ level {j} is out of range 0..{self.levels - 1}")
        if i > 0 and j < self._min_level(i):
            raise DecodeError(f"AGUQ level {j} lies in range {i - 1}; range {i} never sends it")
        y = _core._q_decode(self._cuq(i)._spec, j.to_bytes((wj + 7) // 8, "little"), 1)
        return float(y[0] + half)

    def _min_level(self, i):
        """The lowest level the encoder sends in range i >= 1: the lower neighbour of
        x > M_{i-1}, through CUQ's own operations (t = (x - M/2 + M/2) / delta, floored and
        capped at L-2), each monotone in x."""
        half, L = self._half(i), self.levels
        inv = 1.0 / (2.0 * half / (L - 1))
        t = ((2.0 * self._half(i - 1) - half) + half) * inv
        return min(int(min(max(t, 0.0), L - 1.0)), L - 2)

    def __call__(self, x, rng=None) -> float:
        """Fast path, == decode(encode(x, rng)) bit for bit (the same draws)."""
        x = self._scalar(x)
        i = self._index(x)
        half = self._half(i)
        return float(self._cuq(i)(np.array([x - half]), rng=rng)[0] + half)

    def sample(self, x, n, rng=None) -> np.ndarray:
        """n independent quantizations of x (streams as in :meth:`Quantizer.sample`)."""
        x = self._scalar(x)
        i = self._index(x)
        half = self._half(i)
        return self._cuq(i).sample(np.array([x - half]), n, rng=rng)[:, 0] + half

    def __repr__(self):
        return f"AGUQ(B={self.B:g}, a={self.a:g}, levels={self.levels}, h={self.h})"

    def __eq__(self, other):
        return type(self) is type(other) and (self.B, self.a, self.levels, self.h) == (
            other.B, other.a, other.levels, other.h)

    def __hash__(self):
        return hash(("AGUQ", self.B, self.a, self.levels, self.h))


def _payload(payload, name="msg"):
    """bytes from bytes, bytearray, memoryview or a 1-D uint8 array (TypeError naming ``name``)."""
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    if isinstance(payload, np.ndarray) and payload.dtype == np.uint8 and payload.ndim == 1:
        return payload.tobytes()
    raise TypeError(f"{name} must be a Message, a (payload, d) pair or a bytes payload, got "
                    f"{type(payload).__name__}")


def _join_bits(head, hbits, tail, tbits):
    """The bits of ``head`` (hbits wide) followed by those of the payload ``tail`` (tbits
    wide), LSB-first, as ``ceil((hbits + tbits)/8)`` bytes with zero padding."""
    if hbits % 8 == 0:
        return head.to_bytes(hbits // 8, "little") + bytes(tail)
    v = head | (int.from_bytes(tail, "little") << hbits)
    return v.to_bytes((hbits + tbits + 7) // 8, "little")


def _split_bits(payload, hbits, tbits):
    """Inverse of :func:`_join_bits`: ``(head, tail)``; tail a bytes-like payload of
    ``ceil(tbits/8)`` bytes (a view where hbits is whole bytes). DecodeError for a wrong
    length; non-zero padding in the tail is left for the tail's decoder to reject."""
    need = (hbits + tbits + 7) // 8
    if len(payload) != need:
        raise DecodeError(f"expected a {hbits + tbits}-bit payload ({need} bytes), got {len(payload)} bytes")
    if hbits % 8 == 0:
        k = hbits // 8
        return int.from_bytes(bytes(payload[:k]), "little"), payload[k:]
    v = int.from_bytes(bytes(payload), "little")
    if v >> (hbits + tbits):
        raise DecodeError(f"the padding bits after the {hbits + tbits}-bit message are not zero")
    return v & ((1 << hbits) - 1), (v >> hbits).to_bytes((tbits + 7) // 8, "little")


class GainShape(Quantizer):
    r"""Gain-shape quantizer (Mayekar & Tyagi, Remark 1 and section 7): the gain
    :math:`n = \|y\|_r` (r = ``shape.norm_order``) and the shape :math:`y/n` are quantized
    separately, the shape by ``shape`` after scaling it to the shape quantizer's bound
    :math:`\beta` (``shape.bound``; 1 for a quantizer that admits every finite vector):

    .. math::

        Q(y) = \frac{\hat n}{\beta}\; Q_s\!\Big(\frac{y}{\gamma}\Big), \qquad
        \gamma \ge n/\beta \ \text{(so } \|y/\gamma\|_r \le \beta\text{)} .

    * ``gain="float32"``: :math:`\gamma` is n/beta as a float32 rounded up one step, sent as
      32 bits, and :math:`\hat n/\beta = \gamma` (the scheme the models, the DDP hook and
      ``distributed.train(gain_shape=True)`` use);
      :math:`E\,Q(y) = \gamma\,E\,Q_s(y/\gamma) = y`. Any finite y whose n/beta fits a float32.
    * ``gain=AGUQ(...)``: :math:`\hat n` = AGUQ(n), drawn first, independently of the shape's
      draws, and :math:`\gamma` = n/beta in float64 rounded up one step; then
      :math:`E\,Q(y) = (n/\beta)\, y/\gamma = y\,(1 - \epsilon)` with :math:`0 \le \epsilon
      \le 2^{-51}` (the rounding of gamma), i.e. unbiased to floating-point accuracy. For Y
      with :math:`E\|Y\|_r^2 \le B^2` (B the AGUQ's), independence gives
      :math:`E\|Q(Y)\|_2^2 \le E\hat n^2\, \alpha_0(Q_s)^2/\beta^2`, which is :meth:`alpha0`.

    The message is the gain field (32 bits, or ``gain.bits()``) followed by the shape's
    message: ``bits(d) = gain bits + shape.bits(d)``; a float32 gain must be finite and
    non-negative, an AGUQ gain is checked by :meth:`AGUQ.decode`, the shape by its own
    decoder (malformed payloads: :class:`convq.DecodeError`). A composite in Python over
    the shape quantizer's C kernels: ``engine`` is passed on to the shape; ``sample`` and
    the batch methods use the streams of :meth:`Quantizer.sample` row by row.

    Use it wherever a quantizer goes: ``convq.stochastic.sgd(quantizer=...)`` (the Python
    loop), ``convq.distributed.train``, ``convq.torch.quantized_hook`` and the models'
    ``quantizer=``.

    Parameters
    ----------
    shape : a quantizer with a bounded admissible set (any convq quantizer but a
        GainShape, or an object with encode/decode/bits that states its norm)
    gain : "float32" (default) or an :class:`AGUQ`
    """

    def __init__(self, shape, gain="float32"):
        if isinstance(shape, GainShape):
            raise TypeError("shape must be a quantizer of the shape (e.g. SimQ(1.0)), got a GainShape")
        self.shape = check_quantizer(shape, "shape", allow_none=False)
        self._order = _norm_order_of(shape, "shape")
        self._beta = _gain_bound(shape)
        if isinstance(gain, str):
            if gain != "float32":
                raise ValueError(f"gain must be 'float32' or an AGUQ(...), got {gain!r}")
        elif not isinstance(gain, AGUQ):
            raise TypeError(f"gain must be 'float32' or an AGUQ(...), got {type(gain).__name__}")
        self.gain = gain

    @property
    def norm_order(self) -> float:
        """The shape quantizer's norm: the gain is ``||y||`` in it."""
        return self._order

    @property
    def bound(self) -> float:
        """inf: every finite y is admissible."""
        return math.inf

    @property
    def unbiased(self):
        return bool(getattr(self.shape, "unbiased", False))

    @property
    def _spec(self):
        """None: a Python composite (the SGD loop then runs in Python)."""
        return None

    @property
    def _gain_bits(self):
        return 32 if isinstance(self.gain, str) else self.gain.bits()

    def bits(self, d) -> int:
        """gain bits (32 or ``gain.bits()``) + ``shape.bits(d)``."""
        return self._gain_bits + int(self.shape.bits(_dim(d)))

    def params(self, d) -> dict:
        """``bits``, ``gain_bits`` and ``shape_bits`` for dimension d."""
        s = int(self.shape.bits(_dim(d)))
        return {"bits": self._gain_bits + s, "gain_bits": self._gain_bits, "shape_bits": s}

    def alpha0(self, d):
        """With an AGUQ gain of bound B: sqrt(gain.second_moment_bound()) alpha0(shape)/beta,
        the bound on sqrt(E||Q(Y)||^2) over Y with E||Y||_r^2 <= B^2 (see the class);
        None with a float32 gain (no bound on the input) or a shape without alpha0."""
        a0 = getattr(self.shape, "alpha0", None)
        a0 = a0(_dim(d)) if callable(a0) else None
        if isinstance(self.gain, str) or a0 is None:
            return None
        return math.sqrt(self.gain.second_moment_bound()) * a0 / self._beta

    # -- the two halves --------------------------------------------------------------------
    def _shape_kw(self, engine):
        return {"engine": engine} if isinstance(self.shape, Quantizer) else {}

    @staticmethod
    def _input(y):
        """``(y as float64, whether it is a copy made here)``: a float32 (or any non-float64)
        ndarray is converted into a new array, which the shape input may then overwrite
        (one float64 vector per call instead of two). That one copy stays: the gain is
        NumPy's norm of the float64 vector (a BLAS dot product for r = 2, pairwise sums of
        a temporary ``|y|`` otherwise), whose rounding depends on how the whole vector is
        summed, so a norm taken from the float32 values in place would change the gain's
        bits (and the message) against the float64 copy's; and the shape input
        ``y / gamma`` is a float64 vector that no typed kernel takes scaled."""
        own = isinstance(y, np.ndarray) and y.dtype != np.float64
        return as_float_array(y, "y", ndim=1), own

    def _split(self, y, gen, encode, own=False):
        """(gain field if encode else the factor n_hat/beta, shape input) of one vector; the
        gain's draws first. ``own``: y is this call's copy, divided by gamma in place."""
        with np.errstate(over="ignore"):
            n = float(np.linalg.norm(y, ord=self._order))
        if not math.isfinite(n):
            raise ValueError(f"y must have a finite norm, got ||y||_{self._order:g} = {n}")
        if isinstance(self.gain, str):
            g32 = np.float32(0.0)
            if n > 0:
                with np.errstate(over="ignore"):
                    g32 = np.nextafter(np.float32(n / self._beta), np.float32(np.inf))
                if not np.isfinite(g32):
                    raise ValueError(f"y's gain ||y||/bound = {n / self._beta:g} does not fit a float32")
            gamma = float(g32)
            out = int.from_bytes(np.array(g32, dtype="<f4").tobytes(), "little") if encode else gamma
        else:
            gamma = float(np.nextafter(n / self._beta, np.inf))
            out = (int.from_bytes(self.gain.encode(n, rng=gen).payload, "little") if encode
                   else self.gain(n, rng=gen) / self._beta)
        if n == 0:
            return out, np.zeros_like(y)
        return out, (np.divide(y, gamma, out=y) if own else y / gamma)

    def _gain_factor(self, field):
        """n_hat / beta from the gain field (DecodeError for a value no encoder sends)."""
        if isinstance(self.gain, str):
            g = float(np.frombuffer(field.to_bytes(4, "little"), dtype="<f4")[0])
            if not (math.isfinite(g) and g >= 0) or field >> 31:
                raise DecodeError(f"the float32 gain must be finite and >= 0, got {g!r}")
            return g
        wb = self.gain.bits()
        return self.gain.decode(field.to_bytes((wb + 7) // 8, "little")) / self._beta

    def _decode_parts(self, payload, d, engine="auto", threads=None):
        """``(factor, Q_s)`` with decode = factor * Q_s; ``payload`` bytes or a uint8 view
        (decoded in place by a C shape quantizer, as the DDP hook and train need)."""
        d = _dim(d)
        sbits = int(self.shape.bits(d))
        field, tail = _split_bits(payload, self._gain_bits, sbits)
        factor = self._gain_factor(field)
        if isinstance(self.shape, Quantizer):
            return factor, self.shape._decode_payload(tail, d, engine, threads=threads)
        return factor, np.asarray(self.shape.decode(Message(_payload(tail, "msg"), sbits, d)), dtype=float)

    # -- the Quantizer interface -------------------------------------------------------------
    def encode(self, y: ArrayLike, rng: Any = None, *, engine: str = "auto", threads: Optional[int] = None) -> Message:
        """Quantize y: the gain field, then the shape's message (see the class); ``threads``
        those of a convq shape quantizer's kernel (:meth:`Quantizer.encode`)."""
        resolve_engine(engine, True)
        y, own = self._input(y)
        gen = as_generator(rng)
        field, s = self._split(y, gen, True, own)
        kw = dict(self._shape_kw(engine), **({"threads": threads} if isinstance(self.shape, Quantizer) else {}))
        m = self.shape.encode(s, rng=gen, **kw)
        gb = self._gain_bits
        return Message(_join_bits(field, gb, m.payload, int(m.nbits)), gb + int(m.nbits), y.shape[0])

    def _decode_payload(self, payload, d, engine, dtype=_DTYPES[0], threads=None):
        """:meth:`Quantizer.decode`'s step: factor times the shape's decode (DecodeError for
        a malformed payload: wrong length, a bad gain, or what the shape's decoder rejects),
        rounded once to ``dtype``."""
        factor, qs = self._decode_parts(payload, d, engine, threads)
        with np.errstate(over="ignore"):
            return (factor * qs).astype(dtype, copy=False)

    def __call__(self, y: ArrayLike, rng: Any = None, *, engine: str = "auto", dtype: Any = None,
                 threads: Optional[int] = None) -> np.ndarray:
        """Fast path, == decode(encode(y, rng), dtype=dtype) bit for bit (``threads`` as in
        :meth:`encode`)."""
        dtype = _out_dtype(dtype)
        resolve_engine(engine, True)
        y, own = self._input(y)
        gen = as_generator(rng)
        factor, s = self._split(y, gen, False, own)
        if isinstance(self.shape, Quantizer):
            qs = self.shape(s, rng=gen, engine=engine, threads=threads)
        else:
            qs = np.asarray(self.shape.decode(self.shape.encode(s, rng=gen)), dtype=float)
        with np.errstate(over="ignore"):
            return (factor * qs).astype(dtype, copy=False)

    def _batch(self, Y, n, d, rng, threads, encode):
        d = _dim(d)
        check_threads(threads)
        nbytes = (self.bits(d) + 7) // 8
        _check_memory(n * (nbytes if encode else 8 * d), f"{'encoding' if encode else 'quantizing'} n={n} rows "
                      f"of d={d}")
        r = _rows_per_stream(d)
        gens = spawn(rng, -(-n // r))
        out = np.empty((n, nbytes), dtype=np.uint8) if encode else np.empty((n, d))
        for k in range(n):
            y = Y[k] if Y.ndim == 2 else Y
            if encode:
                out[k] = np.frombuffer(self.encode(y, rng=gens[k // r]).payload, dtype=np.uint8)
            else:
                out[k] = self(y, rng=gens[k // r])
        return out

    def __eq__(self, other):
        return type(self) is type(other) and (self.shape, self.gain) == (other.shape, other.gain)

    def __hash__(self):
        return hash(("GainShape", repr(self.shape), repr(self.gain)))

    def _repr_args(self):
        return f"{self.shape!r}, gain={self.gain!r}"


def _wire_codec(quantizer, gain_shape):
    """What a ``gain_shape=`` caller (``distributed.train``, the DDP hook, the models) sends
    through: with True, ``GainShape(quantizer, "float32")``, or the quantizer itself when
    it is already a GainShape; with False, the quantizer itself."""
    if not gain_shape or isinstance(quantizer, GainShape):
        return quantizer
    return GainShape(quantizer, gain="float32")


def _decode_sum_into(q, payloads, d, weights, out, fresh=False, threads=None):
    """``out += sum_k w_k decode(payloads[k])`` (decode_sum's work, its arguments checked):
    one C call for a C quantizer; a GainShape over a C quantizer parses every gain first,
    folds it into the weights and hands the shape messages to the shape's C call; any other
    composite decodes message by message, all of them before ``out`` is touched.
    ``fresh``: ``out`` was just allocated and holds nothing (the result is as on zeros; the C
    call writes the first message instead of adding it and validates each message as it
    decodes it, since a failed call's ``out`` is never returned)."""
    if isinstance(q, GainShape) and isinstance(q.shape, Quantizer) and q.shape._spec is not None:
        sbits = int(q.shape.bits(d))
        factors, tails = [], []
        for k, p in enumerate(payloads):
            field, tail = _split_bits(_named_payload(p, k), q._gain_bits, sbits)
            factors.append(q._gain_factor(field))
            tails.append(tail)
        w = np.array(factors, dtype=np.float64)
        if weights is not None:
            w = np.array([f * float(x) for f, x in zip(factors, weights)], dtype=np.float64)
        return _c_decode_sum(q.shape, tails, d, w, out, fresh, threads)
    if q._spec is not None:
        return _c_decode_sum(q, payloads, d, weights, out, fresh, threads)
    parts = [_decode_scaled(q, _named_payload(p, k), d) for k, p in enumerate(payloads)]
    if fresh:
        out.fill(0.0)
    for k, (factor, y) in enumerate(parts):
        if weights is not None:
            factor *= float(weights[k])
        if factor != 1.0:
            y = factor * y
        if out.dtype == np.float64:
            out += y
        else:
            out[...] = (out + y).astype(np.float32)  # in double, rounded once, as the C path
    return out


def _named_payload(p, k):
    """Payload k of decode_sum: a 1-D uint8 array as it is (read in place), else bytes
    (TypeError naming it)."""
    if isinstance(p, np.ndarray) and p.dtype == np.uint8 and p.ndim == 1:
        return p
    return _payload(p, f"payloads[{k}]")


def _c_decode_sum(q, payloads, d, weights, out, fresh, threads=None):
    """The C decode-accumulate of quantizer q (which has a spec) over bytes-like payloads."""
    items = [_named_payload(p, k) for k, p in enumerate(payloads)]
    return _core._q_decode(q._spec, items, d, out, weights, fresh, _codec_threads(threads, d))


def _codec_threads(threads, d):
    """Threads of one vector's encode / decode: ``threads`` checked, or (None) the
    ``"codec"`` default of :func:`convq._threads.default_threads` for d coordinates (1
    below CODEC_PARALLEL_MIN without reading the affinity mask and cgroup files, which cost
    more than a small vector's encode: quantized model fits encode every gradient)."""
    if threads is None and d < _threads.CODEC_PARALLEL_MIN:
        return 1
    return check_threads(threads, "codec", d)


def _decode_scaled(q, payload, d):
    """``(factor, y)`` with ``q.decode(payload, d) == factor * y``: factor 1 for a plain
    quantizer, the gain for a GainShape. ``payload`` may be a uint8 view (a receive buffer's
    row), which the C decoders read in place; the caller folds its own weight into the
    factor before one multiplication."""
    if isinstance(q, GainShape):
        return q._decode_parts(payload, d)
    return 1.0, q._decode_payload(payload, d, "auto")


# ---- alpha0 by Monte Carlo ---------------------------------------------------------------------

class Alpha0Estimate(Result):
    """Result of :func:`estimate_alpha0`.

    Attributes
    ----------
    alpha0 : sqrt of the sample mean of ||Q(Y)||^2
    low, high : the confidence interval for sqrt(E||Q(Y)||^2)
    confidence : its nominal level
    mean_sq, se : the sample mean of ||Q(Y)||^2 and its standard error
    n : draws;  norm : the norm of Q(Y) (2, or q for p < 2);  method : how the interval is built
    """

    _order = ("alpha0", "low", "high", "confidence", "mean_sq", "se", "n", "norm", "method")


def estimate_alpha0(q, sampler, n, rng=None, confidence=0.95, norm=2.0) -> Alpha0Estimate:
    r"""Monte-Carlo estimate of :math:`\sqrt{E\|Q(Y)\|^2}` over a law of inputs Y, with a
    confidence interval: the quantity that the paper's :math:`\alpha_0(Q; p)` bounds (its
    supremum over the admissible laws; Mayekar & Tyagi, section 2.2). Evaluate it on a
    quantizer's worst-case input family to check or to replace a closed form.

    Method: :math:`Z_k = \|Q(Y_k)\|^2` for n independent pairs :math:`(Y_k, Q)`; the CLT
    interval :math:`\bar Z \pm z_{(1+c)/2}\, s/\sqrt n` for :math:`E Z` (s the sample standard
    deviation, z the normal quantile, c = ``confidence``), clipped at 0, then the square root
    of both ends (a monotone map keeps the coverage). Asymptotic: it needs :math:`E Z^2 <
    \infty` and n large enough for the mean of Z to be near normal (n >= a few hundred for
    the quantizers here; heavier-tailed Z needs more).

    Parameters
    ----------
    q : a quantizer (anything with encode, decode and bits)
    sampler : array_like (d,) -- one fixed input (then ``q.sample`` draws the n quantizations
        in one call when q is a convq quantizer) -- or a callable ``sampler(rng) -> y``
        drawing one input from ``rng`` (a numpy Generator)
    n : int >= 2, draws
    rng : None, int or numpy.random.Generator
    confidence : float in (0, 1)
    norm : the norm of Q(Y): 2 (default; alpha0 for p >= 2) or the dual norm q for p < 2

    Returns
    -------
    Alpha0Estimate
    """
    from statistics import NormalDist
    from ._validation import check_open_unit
    check_quantizer(q, "q", allow_none=False)
    n = check_int(n, "n", minimum=2, maximum=2 ** 40)
    confidence = check_open_unit(confidence, "confidence")
    norm = _check_p(norm, "norm", minimum=1.0)
    gen = as_generator(rng)
    if callable(sampler):
        def draw(g):
            y = as_float_array(sampler(g), "sampler(rng)", ndim=1)
            if isinstance(q, Quantizer):
                return q(y, rng=g)
            return np.asarray(q.decode(q.encode(y, rng=g)), dtype=float)
        Z = np.empty(n)
        with np.errstate(over="ignore"):
            for k in range(n):
                Z[k] = np.linalg.norm(draw(gen), ord=norm) ** 2
    else:
        y = as_float_array(sampler, "sampler", ndim=1)
        if isinstance(q, Quantizer):
            Qy = q.sample(y, n, rng=gen)
        else:
            Qy = np.array([q.decode(q.encode(y, rng=gen)) for _ in range(n)], dtype=float)
        with np.errstate(over="ignore"):
            Z = np.linalg.norm(Qy, ord=norm, axis=1) ** 2
    if not np.all(np.isfinite(Z)):
        raise ValueError("||Q(Y)||^2 overflowed: the sampler's inputs are too large for a finite estimate")
    m = float(Z.mean())
    se = float(Z.std(ddof=1)) / math.sqrt(n)
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    return Alpha0Estimate(alpha0=math.sqrt(m), low=math.sqrt(max(m - z * se, 0.0)), high=math.sqrt(m + z * se),
                          confidence=confidence, mean_sq=m, se=se, n=n, norm=norm,
                          method="CLT interval for the mean of ||Q(Y)||^2, then sqrt")
