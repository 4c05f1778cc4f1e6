r"""Convergence diagnostics: the effective sample size :func:`ess` and :func:`rhat`, after
A. Vehtari, A. Gelman, D. Simpson, B. Carpenter and P.-C. Buerkner, "Rank-normalization,
folding, and localization: an improved R-hat for assessing convergence of MCMC"
(Bayesian Analysis 16(2), 2021): split and rank-normalised R-hat, bulk and tail ESS, and
the multi-chain ESS truncated by Geyer's initial monotone sequence (Stan's estimator).
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .._optional import import_optional
from .._validation import as_float_array
from ._checks import _memory_limit
from .walks import Chain

__all__ = ["ess", "rhat"]


# ---- ESS and R-hat (Vehtari, Gelman, Simpson, Carpenter, Buerkner 2021) -------------------

_LAYOUTS = ("chain_draw", "draw_chain")


def _as_draws(samples, name="samples", layout=None):
    """Draws as a (n_chains, n_draws[, n]) float array (the ArviZ layout (chain, draw[, dim]))."""
    if layout is not None:
        if not isinstance(layout, str):
            raise TypeError(f"layout must be None, 'chain_draw' or 'draw_chain', got {type(layout).__name__}")
        if layout not in _LAYOUTS:
            raise ValueError(f"layout must be None, 'chain_draw' or 'draw_chain', got {layout!r}")
    from_chain = isinstance(samples, Chain)
    if from_chain:
        samples = samples.samples
    x = as_float_array(samples, name, ndim=(1, 2, 3))
    if x.ndim == 1:
        x = x[None, :]
    elif layout == "draw_chain":
        x = np.ascontiguousarray(np.swapaxes(x, 0, 1))
    if x.shape[1] < 4:
        raise ValueError(f"{name} needs at least 4 draws per chain, got {x.shape[1]} (shape {x.shape} read as "
                         "(n_chains, n_draws[, n]))")
    if layout is None and not from_chain and x.shape[0] > x.shape[1]:
        raise ValueError(
            f"{name} has shape {np.shape(samples)}, read as (n_chains, n_draws[, n]): {x.shape[0]} chains of only "
            f"{x.shape[1]} draws each. More chains than draws usually means the transposed layout: pass "
            f"layout='draw_chain' for (n_draws, n_chains[, n]) input, {name}[None] for (n_draws, n) draws of a "
            f"vector from one chain, or layout='chain_draw' if there really are more chains than draws")
    return x


def _warn_ess_above_draws(e, total):
    big = np.atleast_1d(np.asarray(e, float)) > total
    if np.any(big):
        worst = float(np.nanmax(np.atleast_1d(e)))
        where = f" (coordinates {np.flatnonzero(big).tolist()})" if np.ndim(e) else ""
        warnings.warn(f"ess: the estimate {worst:.6g} exceeds the number of draws {total}{where}: "
                      "the draws are anti-correlated (or independent, up to estimation noise), or the array is "
                      "not in the (n_chains, n_draws[, n]) layout", RuntimeWarning, stacklevel=3)


def _split(x):
    """(M, N) -> (2M, N//2): split every chain in halves (middle draw dropped if odd)."""
    h = x.shape[1] // 2
    return np.concatenate([x[:, :h], x[:, x.shape[1] - h:]], axis=0)


def _z_scale(x):
    """Rank normalisation: Phi^{-1}((r - 3/8) / (S + 1/4)), average ranks for ties."""
    ndtri = import_optional("scipy.special", "rank-normalised ess/rhat").ndtri
    rankdata = import_optional("scipy.stats", "rank-normalised ess/rhat").rankdata
    r = rankdata(x, method="average").reshape(x.shape)
    return ndtri((r - 0.375) / (x.size + 0.25))


def _autocov(x):
    """Biased autocovariance of each row (FFT)."""
    m, n = x.shape
    xc = x - x.mean(axis=1, keepdims=True)
    nfft = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(xc, nfft, axis=1)
    return np.fft.irfft(f * np.conj(f), nfft, axis=1)[:, :n] / n


def _ess_basic(x):
    """ESS of (M, N) draws by Geyer's initial monotone sequence on the multi-chain
    autocorrelation (Vehtari et al. 2021, eq. (10)-(11); Stan's estimator)."""
    m, n = x.shape
    if np.ptp(x) == 0:
        return float("nan")
    acov = _autocov(x)
    mean_var = acov[:, 0].mean() * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n
    if m > 1:
        var_plus += np.var(x.mean(axis=1), ddof=1)
    rho = np.zeros(n)
    rho_even, rho_odd = 1.0, 1.0 - (mean_var - acov[:, 1].mean()) / var_plus
    rho[0], rho[1] = rho_even, rho_odd
    t = 1
    while t < n - 3 and rho_even + rho_odd > 0:
        rho_even = 1.0 - (mean_var - acov[:, t + 1].mean()) / var_plus
        rho_odd = 1.0 - (mean_var - acov[:, t + 2].mean()) / var_plus
        if rho_even + rho_odd >= 0:
            rho[t + 1], rho[t + 2] = rho_even, rho_odd
        t += 2
    max_t = t - 2
    if rho_even > 0:
        rho[max_t + 1] = rho_even
    t = 1
    while t <= max_t - 2:
        if rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t]:
            rho[t + 1] = rho[t + 2] = 0.5 * (rho[t - 1] + rho[t])
        t += 2
    total = m * n
    tau = -1.0 + 2.0 * rho[:max_t + 1].sum() + rho[max_t + 1:max_t + 2].sum()
    tau = max(tau, 1.0 / math.log10(total))
    return float(total / tau)


def _rhat_basic(x):
    m, n = x.shape
    w = x.var(axis=1, ddof=1).mean()
    b = n * x.mean(axis=1).var(ddof=1)
    if w == 0:
        return float("nan")
    return float(math.sqrt(((n - 1) / n * w + b / n) / w))


def ess(samples, kind="bulk", *, layout=None):
    r"""Effective sample size (Vehtari et al. 2021, "Rank-normalization, folding, and
    localization: an improved R-hat").

    ``kind="bulk"``: ESS of the rank-normalised split chains; ``"tail"``: the minimum of
    the ESS of the indicators :math:`I(\theta \le q_{0.05})` and :math:`I(\theta \le
    q_{0.95})` on split chains; ``"mean"``: ESS of the raw split chains (for the mean).
    Autocorrelations are combined across chains and truncated by Geyer's initial
    monotone sequence.

    Parameters
    ----------
    samples : Chain or array
        Layout (chain, draw[, dim]) as in ArviZ: ``(n_chains, n_draws)`` or
        ``(n_chains, n_draws, n)``; a 1-D array is one chain. An array with more chains
        than draws (e.g. a ``(1000, 4)`` array that holds 1000 draws of 4 chains or of a
        4-vector) is refused as ambiguous unless ``layout`` is given.
    kind : {"bulk", "tail", "mean"}
    layout : None, "chain_draw" or "draw_chain"
        ``"chain_draw"``: the array is (n_chains, n_draws[, n]) even with more chains
        than draws; ``"draw_chain"``: it is (n_draws, n_chains[, n]) and is transposed.

    Returns
    -------
    float or ndarray (n,)
        At most about ``total log10(total)`` for ``total`` draws (Stan's cap). An ESS
        above the number of draws (anti-correlated draws, or independent ones up to
        estimation noise) comes with a ``RuntimeWarning``.
    """
    if not isinstance(kind, str):
        raise TypeError(f"kind must be 'bulk', 'tail' or 'mean', got {type(kind).__name__}")
    if kind not in ("bulk", "tail", "mean"):
        raise ValueError(f"kind must be 'bulk', 'tail' or 'mean', got {kind!r}")
    x = _as_draws(samples, "samples", layout)
    total = x.shape[0] * x.shape[1]
    # the FFT autocovariance holds a padded real copy and its complex transform per chain
    nfft = 1 << (2 * (x.shape[1] // 2) - 1).bit_length()
    need = 2 * x.shape[0] * nfft * 8 * 4
    if need > _memory_limit():
        raise ValueError(f"ess of samples with shape {x.shape} would need {need:.4g} bytes for the autocovariances, "
                         f"more than this machine's memory ({_memory_limit():.4g} bytes); thin the draws first")
    if x.ndim == 3:
        out = np.array([_ess_2d(x[:, :, i], kind) for i in range(x.shape[2])])
    else:
        out = _ess_2d(x, kind)
    _warn_ess_above_draws(out, total)
    return out


def _ess_2d(x, kind):
    if kind == "mean":
        return _ess_basic(_split(x))
    if kind == "bulk":
        return _ess_basic(_z_scale(_split(x)))
    out = []
    for p in (0.05, 0.95):
        q = np.quantile(x, p)
        out.append(_ess_basic(_split((x <= q).astype(float))))
    return float(min(out))


def rhat(chains, *, layout=None):
    r"""Rank-normalised split :math:`\hat R` (Vehtari et al. 2021): the maximum of the
    split-:math:`\hat R` of the rank-normalised draws and of the rank-normalised folded
    draws :math:`|\theta - \mathrm{median}|`. Values below 1.01 indicate mixing.

    Parameters
    ----------
    chains : Chain or array (n_chains, n_draws) or (n_chains, n_draws, n)
        The layout (chain, draw[, dim]) of :func:`ess`, with the same refusal of arrays
        with more chains than draws unless ``layout`` is given.
    layout : None, "chain_draw" or "draw_chain"
        As in :func:`ess`.

    Returns
    -------
    float or ndarray (n,)
    """
    x = _as_draws(chains, "chains", layout)
    if x.ndim == 3:
        return np.array([rhat(x[:, :, i], layout="chain_draw") for i in range(x.shape[2])])
    s = _split(x)
    bulk = _rhat_basic(_z_scale(s))
    tail = _rhat_basic(_z_scale(np.abs(s - np.median(s))))
    return float(max(bulk, tail))
