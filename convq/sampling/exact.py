r"""Exact quantities of the grid walk, for checking chains: its stationary law on the grid
(:func:`exact_grid_distribution`), transition matrix (:func:`transition_matrix`) and
spectral gap (:func:`spectral_gap`), the total-variation distance of a chain to the exact
law (:func:`tv_distance`) and the mixing bound of Theorem 1 (:func:`theorem1_bound`) of
A. Frieze and R. Kannan, "Log-Sobolev inequalities and sampling from log-concave
distributions", section 1.
"""
from __future__ import annotations

import math
from typing import Any, Union

import numpy as np
from numpy.typing import ArrayLike

from .. import _core
from .._engine import resolve_engine
from .._optional import import_optional
from .._validation import as_float_array, as_matrix, as_vector, check_int, check_positive, check_real
from ..slow import sampling as _slow
from ._checks import _INDEX_LIMIT, _check_flag, _check_grid_resolution, _memory_limit
from .densities import LogDensity
from .walks import Chain, _check_pair

__all__ = ["GridDistribution", "exact_grid_distribution", "transition_matrix", "spectral_gap", "tv_distance",
           "theorem1_bound"]


class GridDistribution(tuple):
    """``(centers, probs)`` of the exact stationary law on the grid set C, with
    ``indices`` (integer coordinates), ``offset``, ``delta`` and ``logf`` attributes."""

    centers: np.ndarray
    probs: np.ndarray
    indices: np.ndarray
    offset: np.ndarray
    delta: float
    logf: np.ndarray

    def __new__(cls, centers, probs, indices, offset, delta, logf):
        self = super().__new__(cls, (centers, probs))
        self.centers, self.probs, self.indices = centers, probs, indices
        self.offset, self.delta, self.logf = offset, delta, logf
        return self

    def __repr__(self):
        return (f"GridDistribution(cells={len(self.probs)}, delta={self.delta:.4g}, "
                f"p_min={self.probs.min():.3g}, p_max={self.probs.max():.3g})")


def _grid_candidates(body, delta, offset, max_cells):
    lo, hi = body.bounding_box()
    _check_grid_resolution(delta, offset, "exact_grid_distribution")
    # in floats first: a tiny delta gives indices beyond int64, whose cast would wrap
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        a = np.ceil((lo - 0.5 * delta - offset) / delta) - 1.0
        b = np.floor((hi + 0.5 * delta - offset) / delta) + 1.0
        counts = b - a + 1.0
        total = float(np.prod(counts))
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))) or \
            max(np.abs(a).max(), np.abs(b).max()) > _INDEX_LIMIT:
        raise ValueError(f"delta={delta:.6g} is too small for the body (bounding box extent "
                         f"{float(np.max(hi - lo)):.6g}, at distance up to "
                         f"{float(np.max(np.maximum(np.abs(lo - offset), np.abs(hi - offset)))):.6g} from the offset): "
                         f"the grid would have {total:.3g} cells with indices beyond 2^53 (max_cells={max_cells}); "
                         "use a larger delta, or an offset inside the body")
    if total > max_cells:
        raise ValueError(f"the grid's bounding box has {total:.3g} cells for delta={delta:.6g}, more than "
                         f"max_cells={max_cells}; use a larger delta or raise max_cells")
    need = total * (8 * body.dim * 5 + 64)  # index grids, stacked indices, centres, test, log F
    limit = _memory_limit()
    if need > limit:
        raise ValueError(f"the grid for delta={delta:.6g} has {total:.4g} cells (max_cells={max_cells}) and would need "
                         f"{need:.4g} bytes, more than this machine's memory ({limit:.4g} bytes); use a larger delta "
                         "or a smaller max_cells")
    kmin, kmax = a.astype(np.int64), b.astype(np.int64)
    shape = kmax - kmin + 1
    grids = np.meshgrid(*[np.arange(a, b + 1) for a, b in zip(kmin, kmax)], indexing="ij")
    k = np.stack([g.ravel() for g in grids], axis=1).astype(np.int64)
    return k, kmin, shape


def exact_grid_distribution(density, body, delta, offset=None, *, max_cells=10**6):
    r"""The grid walk's stationary law :math:`\pi(x) = F(x)/D` on :math:`C`, by
    enumeration (Frieze and Kannan, section 1: :math:`\pi(x) = F(x)/D`, :math:`D = \sum_{x\in C}F(x)`).

    Parameters
    ----------
    density, body, delta : as in :func:`grid_walk`
    offset : array_like, optional
        Grid offset; default ``body.start_point()`` (the same default as
        :func:`grid_walk` with ``x0=None``). Pass ``chain.offset`` to compare with a run.
    max_cells : int
        Refuse bounding-box grids larger than this.

    Returns
    -------
    GridDistribution
        Unpacks as ``(centers, probs)``; also has ``indices``, ``offset``, ``delta``.
    """
    n = _check_pair(density, body)
    delta = check_positive(delta, "delta")
    offset = body.start_point() if offset is None else as_vector(offset, "offset", size=n)
    k, _, _ = _grid_candidates(body, delta, offset, check_int(max_cells, "max_cells", minimum=1))
    centres = offset + k * delta
    keep = body.grid_contains(centres, delta)
    k, centres = k[keep], centres[keep]
    if len(k) == 0:
        raise ValueError("the grid set C is empty")
    lf = density.logpdf(centres)
    if not np.all(np.isfinite(lf)):
        raise ValueError("log F must be finite on every grid centre (F > 0 on C)")
    w = np.exp(lf - lf.max())
    return GridDistribution(centres, w / w.sum(), k, offset, delta, lf)


def transition_matrix(density, body, delta, offset=None, *, lazy=False, max_cells=10**5, engine="auto"):
    r"""The grid walk's transition matrix on :math:`C` (scipy.sparse CSR) and its
    stationary law, with the move probabilities computed by the C kernel's own
    incremental code path: :math:`P(x, y) = \frac1{2n}\min(1, F(y)/F(x))`,
    :math:`P(x, x) = 1 - \sum_{y\ne x}P(x, y)`; ``lazy``: :math:`(I + P)/2`.

    ``engine`` (``"auto"``, ``"c"``, ``"python"``) picks the C kernel or its NumPy twin
    (:func:`convq.slow.sampling.smp_grid_moves`, the same numbers); a :class:`LogDensity`
    is evaluated in NumPy.

    Returns
    -------
    (P, dist) : scipy.sparse.csr_matrix, GridDistribution
    """
    sparse = import_optional("scipy.sparse", "transition_matrix")
    lazy = _check_flag(lazy, "lazy")
    n = _check_pair(density, body)
    engine = resolve_engine(engine, not isinstance(density, LogDensity), "a LogDensity (a Python callable) has no "
                            "C path")
    delta = check_positive(delta, "delta")
    offset = body.start_point() if offset is None else as_vector(offset, "offset", size=n)
    dist = exact_grid_distribution(density, body, delta, offset, max_cells=max_cells)
    k = dist.indices
    kmin = k.min(axis=0) - 1
    shape = k.max(axis=0) - kmin + 2
    lookup = np.full(int(np.prod(shape)), -1, np.int64)
    lin = np.ravel_multi_index((k - kmin).T, shape)
    lookup[lin] = np.arange(len(k))
    if isinstance(density, LogDensity):
        probs = _slow.grid_moves_callable(density, body, delta, offset, k, dist.logf)
    else:
        moves = _core._smp_grid_moves if engine == "c" else _slow.smp_grid_moves
        probs, in_grid = moves(body._c_body(), density._c_dens(n), delta, offset, k)
        if not np.all(in_grid):
            raise RuntimeError("internal: the C grid test disagrees with the NumPy one")
    rows, cols, vals = [], [], []
    for j in range(n):
        for sp, sgn in enumerate((-1, 1)):
            p = probs[:, 2 * j + sp]
            nz = np.flatnonzero(p > 0)
            yk = k[nz].copy()
            yk[:, j] += sgn
            tgt = lookup[np.ravel_multi_index((yk - kmin).T, shape)]
            if np.any(tgt < 0):
                raise RuntimeError("internal: a move with positive probability leaves the enumerated grid")
            rows.append(nz)
            cols.append(tgt)
            vals.append(p[nz])
    rows, cols, vals = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    m = len(k)
    stay = 1.0 - np.bincount(rows, weights=vals, minlength=m)
    P = sparse.csr_matrix((np.concatenate([vals, stay]), (np.concatenate([rows, np.arange(m)]),
                                                           np.concatenate([cols, np.arange(m)]))), shape=(m, m))
    if lazy:
        P = 0.5 * (sparse.identity(m, format="csr") + P)
    return P.tocsr(), dist


def spectral_gap(P: Any, pi: Any) -> float:
    r"""Spectral gap :math:`1 - \lambda_2` of a reversible transition matrix ``P``
    (dense or sparse) with stationary law ``pi`` (a vector or a GridDistribution),
    from the symmetric :math:`D^{1/2} P D^{-1/2}`, :math:`D = \mathrm{diag}(\pi)`.
    This is the gap of the (relaxation) rate of reversible chains; for a periodic
    walk use ``lazy=True`` in :func:`transition_matrix` so that all eigenvalues are >= 0.
    """
    sparse = import_optional("scipy.sparse", "spectral_gap")
    pi = as_vector(pi.probs if isinstance(pi, GridDistribution) else pi, "pi")
    if np.any(pi <= 0):
        i = int(np.flatnonzero(pi <= 0)[0])
        raise ValueError(f"pi must be a stationary law with every entry > 0, got pi[{i}]={pi[i]}")
    m = pi.size
    if sparse.issparse(P):
        if P.dtype.kind not in "fiub":
            raise TypeError(f"P must be a real matrix, got dtype {P.dtype}")
        if P.ndim != 2:
            raise ValueError(f"P must be 2-dimensional, got shape {P.shape}")
        if not np.all(np.isfinite(P.data)):
            raise ValueError("P must be finite")
    else:
        P = as_matrix(P, "P")
    if P.shape != (m, m):
        raise ValueError(f"P must be ({m}, {m}) to match pi, got {P.shape}")
    if m < 2:
        raise ValueError(f"P and pi need at least two states, got {m}")
    s = np.sqrt(pi)
    S = sparse.diags(s) @ sparse.csr_matrix(P) @ sparse.diags(1.0 / s)
    S = 0.5 * (S + S.T)
    if m <= 4000:
        ev = np.linalg.eigvalsh(S.toarray())
        return float(1.0 - ev[-2])
    eigsh = import_optional("scipy.sparse.linalg", "spectral_gap").eigsh
    ev = eigsh(S, k=2, which="LA", return_eigenvectors=False)
    return float(1.0 - np.sort(ev)[0])


def tv_distance(chain, exact, *, step=None):
    r"""Total variation :math:`\tfrac12\sum_x |\hat p(x) - \pi(x)|` between a grid
    walk's empirical law and the exact law on the grid.

    Parameters
    ----------
    chain : Chain (grid walk, not refined) or array of probabilities
        With ``step=None`` every kept state of every chain counts; with ``step=i`` only
        the states ``samples[:, i]`` (one per chain: the law at time i).
    exact : GridDistribution or array of probabilities
        If both are arrays they must have equal length.

    Note: Frieze and Kannan's :math:`\|\cdot\|_{TV}` is :math:`\sum_x|\cdot|` (twice this value).
    """
    if not isinstance(chain, Chain):
        if step is not None:
            raise ValueError(f"step applies to a Chain; chain is an array of probabilities, got step={step!r}")
        p = as_vector(chain, "chain")
        q = as_vector(exact.probs if isinstance(exact, GridDistribution) else exact, "exact")
        if p.shape != q.shape:
            raise ValueError(f"chain and exact (probability vectors) must have equal lengths, got {p.shape} "
                             f"and {q.shape}")
        return float(0.5 * np.abs(p - q).sum())
    if chain.indices is None:
        raise ValueError("tv_distance needs a grid-walk Chain (one with integer grid indices)")
    if not isinstance(exact, GridDistribution):
        raise TypeError(f"exact must be the GridDistribution from exact_grid_distribution, got {type(exact).__name__}")
    if step is not None:
        n_kept = chain.indices.shape[1]
        step = check_int(step, "step", minimum=-n_kept, maximum=n_kept - 1)
    if chain.delta != exact.delta or not np.allclose(chain.offset, exact.offset, rtol=0, atol=1e-12 * chain.delta):
        raise ValueError("the chain and the exact law use different grids: pass offset=chain.offset and the same "
                         "delta to exact_grid_distribution")
    idx = chain.indices if step is None else chain.indices[:, step][:, None, :]
    idx = idx.reshape(-1, idx.shape[-1])
    emp = _empirical(idx, exact.indices)
    return float(0.5 * (np.abs(emp[:-1] - exact.probs).sum() + emp[-1]))


def _empirical(idx, support):
    """Empirical law of rows `idx` over the rows of `support` (+ a last entry for rows
    outside the support)."""
    both = np.concatenate([support, idx])
    _, inv = np.unique(both, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    sup_id, smp_id = inv[:len(support)], inv[len(support):]
    pos = np.full(inv.max() + 1, len(support), np.int64)
    pos[sup_id] = np.arange(len(support))
    counts = np.bincount(pos[smp_id], minlength=len(support) + 1)
    return counts / len(idx)


def theorem1_bound(t: ArrayLike, n: int, delta: float, diameter: float, p_min: float, *, u: float = 0.1,
                   M_pi_u: float = 0.0, gamma: float = 1.0) -> Union[float, np.ndarray]:
    r"""The right-hand side of Theorem 1 of Frieze and Kannan (section 1):

    .. math:: \|p_t - \pi\|_{TV} \le \Bigl(\exp\Bigl(-\frac{\gamma u t\delta^2}{2 n d^2}\Bigr)
              \log\frac1{p_\#} + \frac{M\pi_u\, n d^2}{\gamma\delta^2 u}\Bigr)^{1/2},

    valid for :math:`d \ge \delta n^{1/2}`, where :math:`\|\cdot\|_{TV} = \sum_x|\cdot|`
    (twice :func:`tv_distance`), :math:`p_\# = \min_x \pi(x)`, :math:`\gamma` is the
    paper's unspecified absolute constant, :math:`u \in (0, 1]` the boundary-cube
    fraction and :math:`M\pi_u` the boundary term. The constants in the displayed
    formula are reconstructed from a scan of the paper (the exponent rate is
    :math:`\beta/2`-type up to the constant :math:`\gamma`); use it for its shape
    (exponential decay in t at rate :math:`\propto\delta^2/(n d^2)`), not its constant.
    ``t`` may be an array.
    """
    t = as_float_array(t, "t")
    if np.any(t < 0):
        raise ValueError(f"t must be >= 0 (a time), got {float(t.min())}")
    n = check_int(n, "n", minimum=1)
    delta = check_positive(delta, "delta")
    d = check_positive(diameter, "diameter")
    p_min = check_real(p_min, "p_min")
    if not 0 < p_min <= 1:
        raise ValueError(f"p_min must be in (0, 1], got {p_min}")
    u = check_real(u, "u")
    if not 0 < u <= 1:
        raise ValueError(f"u must be in (0, 1], got {u}")
    M = check_positive(M_pi_u, "M_pi_u", allow_zero=True)
    gamma = check_positive(gamma, "gamma")
    val = np.exp(-gamma * u * t * delta ** 2 / (2 * n * d ** 2)) * math.log(1 / p_min) + M * n * d ** 2 / (
        gamma * delta ** 2 * u)
    out = np.sqrt(val)
    return float(out) if out.ndim == 0 else out
