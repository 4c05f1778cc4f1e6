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

import numpy as np

from . import _core
from ._errors import DecodeError
from ._lp import check_p as _check_p
from ._lp import conjugate as _conj
from ._rng import as_generator, spawn
from ._spec import DMAX as _DMAX
from ._spec import FLOAT32 as _FLOAT32
from ._spec import NORM_INF as _NORM_INF
from ._spec import Kind, QuantizerSpec
from ._engine import resolve_engine
from ._validation import as_float_array, check_int, check_positive, check_threads

__all__ = [
    "Message",
    "Quantizer",
    "SimQ",
    "SimQPlus",
    "CUQ",
    "RATQ",
    "LpQuantizer",
    "for_geometry",
    "QSGD",
    "TernGrad",
    "ScaledSign",
    "TopK",
    "RandK",
    "Identity",
    "DecodeError",
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
        return as_float_array(y, "y", ndim=1, finite=False)

    def encode(self, y, rng=None, *, engine="auto") -> Message:
        """Quantize ``y`` to a :class:`Message` of exactly ``bits(len(y))`` bits.

        ``engine="python"`` runs the NumPy twin (:mod:`convq.slow.quantize`: the same draws,
        the same message bit for bit); "auto" and "c" the C kernel."""
        if resolve_engine(engine, True) == "python":
            payload, nbits = _twin().encode(self, y, rng)
            return Message(payload, int(nbits), np.size(y))
        y = self._vector(y)
        payload, nbits = _core._q_encode(self._spec, y, as_generator(rng))
        return Message(payload, int(nbits), y.shape[0])

    def decode(self, msg, d=None, *, engine="auto") -> np.ndarray:
        """Decode a :class:`Message`, a ``(payload_bytes, d)`` pair, or ``payload, d``.

        The payload length is checked against ``bits(d)`` (a Message's own ``nbits`` is
        not trusted); malformed payloads raise :class:`convq.DecodeError`.
        ``engine="python"`` decodes with the NumPy twin (the same output, the same
        rejections)."""
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
        if isinstance(payload, (bytearray, memoryview)):
            payload = bytes(payload)
        if not isinstance(payload, bytes):
            if isinstance(payload, np.ndarray) and payload.dtype == np.uint8 and payload.ndim == 1:
                payload = payload.tobytes()
            else:
                raise TypeError(f"msg must be a Message, a (payload, d) pair or a bytes payload, got "
                                f"{type(payload).__name__}")
        if resolve_engine(engine, True) == "python":
            return _twin().decode(self, payload, d)
        # the C binding checks len(payload) against bits(d) (DecodeError) and the output's
        # size against memory before it allocates anything
        return _core._q_decode(self._spec, payload, d)

    def __call__(self, y, rng=None, *, engine="auto") -> np.ndarray:
        """Fast path: ``decode(encode(y, rng))`` without building the message; the same
        draws from ``rng`` in the same order, so the result is identical bit for bit
        (``engine="python"``: the NumPy twin's fast path)."""
        if resolve_engine(engine, True) == "python":
            return _twin().quantize(self, y, rng)
        return _core._q_quantize(self._spec, self._vector(y), as_generator(rng))

    # -- many vectors -------------------------------------------------------------------
    def _batch(self, Y, n, d, rng, threads, encode):
        d = _dim(d)
        row = (self.bits(d) + 7) // 8 if encode else 8 * d
        _check_memory(n * row, f"{'encoding' if encode else 'quantizing'} n={n} rows of d={d}")
        r = _rows_per_stream(d)
        gens = spawn(rng, -(-n // r))
        return _core._q_batch(self._spec, Y, n, r, gens, check_threads(threads), encode)

    def sample(self, y, n, rng=None, threads=None) -> np.ndarray:
        """``n`` independent quantizations of one ``y`` as an ``(n, d)`` array.

        Rows are processed in blocks of ``r = _rows_per_stream(d)`` rows (1 for
        d >= 65536, at most 256); block b runs sequentially on the b-th child of
        ``convq._rng.spawn(rng, n_blocks)`` -- i.e. rows b r, b r + 1, ... equal
        successive calls ``q(y, rng=child_b)`` -- and blocks run in parallel on
        ``threads`` threads (None = all cores). The result does not depend on ``threads``."""
        y = self._vector(y)
        n = check_int(n, "n", minimum=0)
        return self._batch(y, n, y.shape[0], rng, threads, False)

    def quantize_batch(self, Y, rng=None, threads=None) -> np.ndarray:
        """Fast path on every row of an ``(n, d)`` array in one C call (streams as in
        :meth:`sample`; identical for any ``threads``)."""
        Y = as_float_array(Y, "Y", ndim=2, finite=False)
        n, d = Y.shape
        return self._batch(Y, n, d, rng, threads, False)

    def encode_batch(self, Y, rng=None, threads=None) -> list:
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
    :math:`(n_0, \dots, n_d)` of the k draws coded exactly (stars-and-bars string of length
    d+k with k stars, fixed-weight range coder: at most ``ceil(log2 C(d+k, k)) + 2`` bits),
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

    1. :math:`z = \frac{1}{\sqrt{d_2}} H D y` (y zero-padded to :math:`d_2 = 2^{\lceil\log d\rceil}`,
       H Walsh--Hadamard, D random signs from a 64-bit seed sent in the message);
    2. groups of s coordinates; ranges :math:`M_j^2 = m\,e^{*j} + m_0`, j = 0..h-1,
       :math:`e^{*0} = 1, e^{*j} = \exp(e^{*(j-1)})`, :math:`m = 3B^2/d_2`,
       :math:`m_0 = 2 (B^2/d_2) \ln s`;
    3. each group sends the smallest j with :math:`\max|z_i| \le M_j` (``ceil(log2 h)`` bits)
       and CUQ(M_j, levels) of its coordinates; decode rotates back.

    Defaults (eq. (8)): :math:`\log h = \lceil\log(1 + \ln^*(d_2/3))\rceil`, s = log h (>= 1),
    levels = 4. Bits: ``64 + ceil(d2/s) ceil(log2 h) + d2 ceil(log2 levels)``. Unbiased;
    :math:`E\|Q(y) - y\|_2^2 \le B^2 (9 + 3\ln s)/(k-1)^2` with k + 1 = levels.
    Ranges above B are capped at B(1 + 1e-6) and the top range is always that cap (every
    group then fits a range, since :math:`|z_i| \le \|y\|_2 \le B`).

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
        """The RATQ paper's bound B^2 (9 + 3 ln s)/(k-1)^2 on E||Q(y) - y||_2^2 (k = levels-1)."""
        s = self.params(d)["ratq_s"]
        k = self.levels - 1
        return math.inf if k <= 1 else self.B ** 2 * (9 + 3 * math.log(s)) / (k - 1) ** 2

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


# ---- baselines -------------------------------------------------------------------------


class QSGD(Quantizer):
    r"""QSGD (Alistarh et al. 2017) with s = ``levels`` levels.

    :math:`Q(y)_i = n\,\mathrm{sign}(y_i)\,\xi_i`, :math:`n = \|y\|_2` (or
    :math:`\|y\|_\infty` with ``norm="inf"``), :math:`\xi_i \in \{0, 1/s, \dots, 1\}` the
    stochastic rounding of :math:`|y_i|/n`. The norm is sent as float32 rounded up (so the
    rounding stays unbiased), then ``ceil(log2(s+1))`` level bits and a sign bit per
    coordinate: ``32 + d (ceil(log2(s+1)) + 1)`` bits (fixed-width, no Elias coding).
    Unbiased. Any finite y.
    """

    unbiased = True

    def __init__(self, levels=1, norm=2):
        self.levels = check_int(levels, "levels", minimum=1, maximum=2 ** 24)
        if norm in (2, "2", "l2"):
            self.norm = 2
        elif norm in ("inf", math.inf, np.inf):
            self.norm = "inf"
        else:
            raise ValueError(f"norm must be 2 or 'inf', got {norm!r}")

    @property
    def norm_order(self) -> float:
        """The norm QSGD scales by (2, or inf with ``norm="inf"``); any finite y is admissible."""
        return math.inf if self.norm == "inf" else 2.0

    @property
    def _spec(self):
        return QuantizerSpec(kind=Kind.QSGD, levels=self.levels, flags=_NORM_INF if self.norm == "inf" else 0)

    def _repr_args(self):
        return f"levels={self.levels}, norm={self.norm!r}"


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
