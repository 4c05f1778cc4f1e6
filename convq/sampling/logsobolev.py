r"""The log-Sobolev toolkit of section 2 and the appendix of A. Frieze and R. Kannan,
"Log-Sobolev inequalities and sampling from log-concave distributions" (Annals of Applied
Probability 9(1), 1999), for finite reversible chains such as the grid walk, and the
numerical study of the ball-walk PROBLEM at the end of that paper.

For a chain :math:`P` on a finite set :math:`C`, reversible with respect to :math:`\pi`
(:math:`\pi(x)P(x,y) = \pi(y)P(y,x)`):

- entropy (section 2): :math:`\mathrm{Ent}_\pi(\mu) = \sum_x \mu(x)\log(\mu(x)/\pi(x))`;
- Dirichlet form, the paper's (4): :math:`\mathcal E(f,f) = \tfrac12\sum_x\sum_{y}
  (f(x)-f(y))^2\pi(x)P(x,y)`;
- :math:`\mathcal L(f) = \sum_x f(x)^2\log(f(x)^2/\|f\|_2^2)\pi(x) = \|f\|_2^2
  \mathrm{Ent}_\pi(\mu_f)` with :math:`\mu_f = \pi f^2/\|f\|_2^2`, the paper's (5);
- the log-Sobolev constant :math:`\alpha = \inf\{\mathcal E(f,f)/\mathcal L(f) : \mathcal
  L(f) \ne 0\}`;
- the continuous-time chain (one move per Exp(1) time): :math:`p_t = p_0 e^{-t(I-P)}`,
  and (6): :math:`\frac{d}{dt}\mathrm{Ent}_\pi(p_t) \le -4\mathcal E(f_t^{1/2}, f_t^{1/2})
  \le -4\alpha\,\mathrm{Ent}_\pi(p_t)` with :math:`f_t = p_t/\pi`, hence
  :math:`\mathrm{Ent}_\pi(p_t) \le e^{-4\alpha t}\mathrm{Ent}_\pi(p_0)`;
- (2): :math:`\mathrm{Ent}_\pi(\mu) \le \log(1/\pi_\#)`, :math:`\pi_\# = \min_x\pi(x)`;
- (3) (proved in the appendix): :math:`\|\mu - \pi\|_{TV}^2 \le 2\,\mathrm{Ent}_\pi(\mu)`
  with the paper's :math:`\|\cdot\|_{TV} = \sum_x|\cdot|`.

The bracket of :func:`log_sobolev_constant` comes from P. Diaconis and L. Saloff-Coste,
"Logarithmic Sobolev inequalities for finite Markov chains" (Annals of Applied
Probability 6(3), 1996): :math:`\alpha \le \lambda/2` (test :math:`f = 1 + \varepsilon
\varphi` with :math:`\varphi` an eigenfunction of the spectral gap :math:`\lambda`,
:math:`\varepsilon \to 0`), and the lower bound of their appendix (Corollary A.4),
:math:`\alpha \ge \lambda(1 - 2\pi_\#)/\log(1/\pi_\# - 1)`, which is exact for the
two-point space (computed exactly in the same appendix).
"""
from __future__ import annotations

import math

import numpy as np

from .._optional import import_optional
from .._result import Result
from .._rng import as_generator
from .._validation import as_float_array, as_vector, check_int, check_positive
from ._checks import _check_flag
from .exact import GridDistribution, _assemble, _grid_lookup, _symmetrised, exact_grid_distribution, transition_matrix
from .walks import _check_pair

__all__ = ["LogSobolevResult", "DecayCheck", "BallWalkStudy", "entropy", "dirichlet_form", "log_sobolev_constant",
           "heat_semigroup", "check_decay", "ball_walk_operator", "ball_walk_study"]

# Dense eigendecompositions and matrix exponentials beyond this many states are refused.
_MAX_STATES = 4000
# Tolerances of the input checks: probability vectors sum to 1, rows of P sum to 1, and
# pi(x)P(x,y) = pi(y)P(y,x), all up to rounding.
_SUM_TOL = 1e-9
_REV_TOL = 1e-9
# log f is kept in [-_G, _G] while optimising E/L (f spans e^{2 _G}).
_G = 30.0
# L-BFGS-B iterations per start before the best start is polished.
_SCREEN = 30


# --- checks ----------------------------------------------------------------------------
def _check_law(mu, name, m=None):
    """A probability vector (entries >= 0 summing to 1), of length m if given."""
    if isinstance(mu, GridDistribution):
        mu = mu.probs
    mu = as_vector(mu, name)
    if m is not None and mu.size != m:
        raise ValueError(f"{name} must have {m} entries (one per state of P), got {mu.size}")
    if np.any(mu < 0):
        i = int(np.flatnonzero(mu < 0)[0])
        raise ValueError(f"{name} must be a probability vector (entries >= 0), got {name}[{i}]={mu[i]}")
    total = float(mu.sum())
    if abs(total - 1.0) > _SUM_TOL:
        raise ValueError(f"{name} must be a probability vector summing to 1, got sum {total!r}")
    return mu


class _Chain:
    """A checked reversible chain: ``pi``, the symmetric ``S`` and the
    edges ``(i, j, q)``, i < j, with q = pi(i)P(i, j) (= pi(j)P(j, i))."""

    def __init__(self, P, pi):
        sparse = import_optional("scipy.sparse", "the log-Sobolev toolkit")
        pi = _check_law(pi, "pi")
        S, P, pi = _symmetrised(P, pi)
        P = sparse.csr_matrix(P, dtype=float)
        m = pi.size
        if P.nnz and P.data.min() < -1e-12:
            i = int(np.argmin(P.data))
            r = int(np.searchsorted(P.indptr, i, side="right") - 1)
            raise ValueError(f"P must be a stochastic matrix (entries >= 0), got P[{r}, {P.indices[i]}]={P.data[i]}")
        rs = np.asarray(P.sum(axis=1)).ravel()
        bad = np.abs(rs - 1.0) > _SUM_TOL
        if np.any(bad):
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"P must be a stochastic matrix (rows summing to 1), got row {i} summing to {rs[i]!r}")
        Qc = sparse.diags(pi) @ P
        Q = Qc.tocoo()
        asym = (Qc - Qc.T).tocoo()
        if asym.nnz and np.abs(asym.data).max() > _REV_TOL * max(float(np.abs(Q.data).max()), 1e-300):
            i = int(np.argmax(np.abs(asym.data)))
            x, y = int(asym.row[i]), int(asym.col[i])
            raise ValueError("P must be reversible with respect to pi (pi(x)P(x,y) = pi(y)P(y,x)); got "
                             f"pi({x})P({x},{y}) - pi({y})P({y},{x}) = {asym.data[i]:.3g}")
        keep = Q.row < Q.col
        self.pi, self.S, self.m = pi, S, m
        self.i, self.j = Q.row[keep], Q.col[keep]
        # the symmetric part of Q on each edge (exactly symmetric, whatever the rounding)
        QT = sparse.csr_matrix(Q).T.tocsr()
        self.q = 0.5 * (Q.data[keep] + np.asarray(QT[self.i, self.j]).ravel())

    def form(self, f):
        r"""The Dirichlet form :math:`\tfrac12\sum_{x,y}\pi(x)P(x,y)(f(x)-f(y))^2`."""
        d = f[self.i] - f[self.j]
        return float(np.sum(self.q * d * d))

    def eig(self):
        """Eigenvalues (ascending) and orthonormal eigenvectors of S (dense)."""
        if self.m > _MAX_STATES:
            raise ValueError(f"P has {self.m} states, more than the {_MAX_STATES} a dense eigendecomposition here "
                             "allows; use a coarser grid")
        return np.linalg.eigh(self.S.toarray())


def _check_vector(f, name, m):
    f = as_vector(f, name)
    if f.size != m:
        raise ValueError(f"{name} must have {m} entries (one per state of P), got {f.size}")
    return f


# --- entropy and the Dirichlet form ------------------------------------------------------
def _phi(eps):
    r""":math:`(1+\varepsilon)\log(1+\varepsilon) - \varepsilon \ge 0`, accurate near 0 (a series
    for :math:`|\varepsilon| < 10^{-2}`) and 1 at :math:`\varepsilon = -1`."""
    eps = np.asarray(eps, dtype=float)
    u = 1.0 + eps
    with np.errstate(divide="ignore", invalid="ignore"):
        direct = np.where(u > 0, u * np.log(np.where(u > 0, u, 1.0)), 0.0) - eps
    small = np.abs(eps) < 1e-2
    series = np.zeros_like(eps)
    for k in range(8, 1, -1):  # sum_{k=2}^{8} (-1)^k eps^k / (k (k-1)) (Horner): error < 1e-15 relative
        series = (series + (-1) ** k / (k * (k - 1))) * eps
    return np.where(small, series * eps, direct)


def _ent(eps, pi):
    r""":math:`\mathrm{Ent}_\pi(\mu)` from :math:`\varepsilon = \mu/\pi - 1`:
    :math:`\sum_x \pi(x)\phi(\varepsilon(x))` (a sum of nonnegative terms, since
    :math:`\sum\mu = \sum\pi`)."""
    return float(np.sum(pi * _phi(eps)))


def entropy(mu, pi, *, kind="law"):
    r"""The entropy :math:`\mathrm{Ent}_\pi` of section 2 of Frieze and Kannan.

    ``kind="law"`` (the paper's definition): ``mu`` is a probability vector and the result is
    :math:`\mathrm{Ent}_\pi(\mu) = \sum_x \mu(x)\log(\mu(x)/\pi(x))` (the relative entropy,
    :math:`0\log 0 = 0`). ``kind="function"``: ``mu`` is a function :math:`h \ge 0` on the states
    and the result is :math:`\mathrm{Ent}_\pi(h) = \sum_x\pi(x)h(x)\log h(x) - m\log m`,
    :math:`m = \sum_x\pi(x)h(x)`; so :math:`\mathrm{Ent}_\pi(\mu/\pi)` (function) equals
    :math:`\mathrm{Ent}_\pi(\mu)` (law), and :math:`\mathrm{Ent}_\pi(f^2)` is the paper's
    :math:`\mathcal L(f)` of (5). Both are computed as sums of nonnegative terms
    :math:`\pi(x)\phi(r(x) - 1)`, :math:`\phi(\varepsilon) = (1+\varepsilon)\log(1+\varepsilon) -
    \varepsilon`, accurate when :math:`\mu` is close to :math:`\pi`.

    Parameters
    ----------
    mu : array_like, shape (m,)
        A probability vector (``kind="law"``) or a nonnegative function (``kind="function"``).
    pi : array_like or GridDistribution, shape (m,)
        The reference law: a probability vector with every entry > 0.
    kind : {"law", "function"}

    Returns
    -------
    float (>= 0)

    Examples
    --------
    >>> from convq.sampling import entropy
    >>> round(entropy([1.0, 0.0], [0.5, 0.5]), 10)   # log 2
    0.6931471806
    >>> round(entropy([2.0, 0.0], [0.5, 0.5], kind="function"), 10)
    0.6931471806
    """
    pi = _check_law(pi, "pi")
    if np.any(pi <= 0):
        i = int(np.flatnonzero(pi <= 0)[0])
        raise ValueError(f"pi must have every entry > 0, got pi[{i}]={pi[i]}")
    if not isinstance(kind, str):
        raise TypeError(f"kind must be 'law' or 'function', got {kind!r} ({type(kind).__name__})")
    if kind == "law":
        mu = _check_law(mu, "mu", pi.size)
        return _ent(mu / pi - 1.0, pi)
    if kind == "function":
        h = _check_vector(mu, "mu", pi.size)
        if np.any(h < 0):
            i = int(np.flatnonzero(h < 0)[0])
            raise ValueError(f"mu (kind='function') must be >= 0, got mu[{i}]={h[i]}")
        mass = float(pi @ h)
        return 0.0 if mass == 0 else mass * _ent(h / mass - 1.0, pi)
    raise ValueError(f"kind must be 'law' or 'function', got {kind!r}")


def dirichlet_form(f, P, pi):
    r"""The Dirichlet form (4) of Frieze and Kannan:

    .. math:: \mathcal E(f, f) = \frac12\sum_{x\in C}\sum_{y\in G(x)}(f(x) - f(y))^2\,\pi(x)P(x, y),

    :math:`G(x) = \{y \ne x : P(x, y) > 0\}`; for a reversible chain this is
    :math:`\langle (I - P)f, f\rangle_\pi`, the normalisation of Diaconis and Saloff-Coste's
    "Logarithmic Sobolev inequalities for finite Markov chains" (section 2), in which the
    spectral gap is :math:`\lambda = \inf \mathcal E(f,f)/\mathrm{Var}_\pi(f)`.

    Parameters
    ----------
    f : array_like, shape (m,)
    P : array_like or scipy.sparse matrix, shape (m, m)
        Stochastic and reversible with respect to ``pi``.
    pi : array_like or GridDistribution, shape (m,)

    Examples
    --------
    >>> import numpy as np
    >>> from convq.sampling import dirichlet_form
    >>> P = np.array([[0.5, 0.5], [0.5, 0.5]])
    >>> dirichlet_form([1.0, 0.0], P, [0.5, 0.5])   # pi(0) P(0, 1) (1 - 0)^2
    0.25
    """
    ch = _Chain(P, pi)
    return ch.form(_check_vector(f, "f", ch.m))


# --- the log-Sobolev constant -------------------------------------------------------------
def _dsc_factor(p):
    r""":math:`(1 - 2p)/\log(1/p - 1)` for :math:`0 < p \le 1/2` (its limit 1/2 at p = 1/2),
    as :math:`x/(2\,\mathrm{artanh}\,x)` with :math:`x = 1 - 2p`."""
    x = 1.0 - 2.0 * p
    return 0.5 if x <= 0 else x / (2.0 * math.atanh(x))


class LogSobolevResult(Result):
    r"""The log-Sobolev constant of a reversible chain with a certified bracket.

    Attributes
    ----------
    estimate : float
        The smallest :math:`\mathcal E(f,f)/\mathcal L(f)` found (equal to ``upper``).
    lower : float
        Diaconis and Saloff-Coste's bound :math:`\lambda(1-2\pi_\#)/\log(1/\pi_\#-1) \le \alpha`.
    upper : float
        :math:`\min(\lambda/2, \text{the best ratio found}) \ge \alpha`.
    gap : float
        The spectral gap :math:`\lambda` (:math:`1 - \lambda_2`).
    f : ndarray
        The best function tried (:math:`\|f\|_{2,\pi} = 1`, :math:`f > 0`).
    ratio : float
        Its :math:`\mathcal E(f,f)/\mathcal L(f)` (>= ``upper``; larger when the infimum is
        the limit :math:`\lambda/2` along :math:`f = 1 + \varepsilon\varphi`).
    attained : bool
        Whether ``ratio`` is below :math:`\lambda/2` (the infimum is then approached by a
        non-constant function rather than the spectral limit).
    """

    _order = ("estimate", "lower", "upper", "gap", "ratio", "attained", "f")


def _ratio_grad(g, ch, lam):
    """E(f, f)/L(f) for f = exp(g) and its gradient with respect to g."""
    pi = ch.pi
    g = g - float(pi @ g)
    f = np.exp(g)
    # eps = f^2/||f||^2 - 1 and f(x) - f(y) from differences of g (expm1), so that both keep
    # their relative accuracy when f is close to a constant
    em = np.expm1(2.0 * g)
    mean = float(pi @ em)
    s = 1.0 + mean
    u = f * f / s
    ent = _ent((em - mean) / s, pi)
    d = f[ch.j] * np.expm1(g[ch.i] - g[ch.j])
    E = float(np.sum(ch.q * d * d))
    if ent <= 1e-300:  # f constant: the ratio's limit is at least lambda/2; stop here
        return lam, np.zeros_like(g)
    L = s * ent
    R = E / L
    gf = np.bincount(ch.i, weights=2.0 * ch.q * d, minlength=ch.m) - np.bincount(ch.j, weights=2.0 * ch.q * d,
                                                                                  minlength=ch.m)
    dE = f * gf
    with np.errstate(divide="ignore"):
        dL = 2.0 * pi * f * f * np.log(u)
    dL = np.where(u > 0, dL, 0.0)
    return R, (dE - R * dL) / L


def _starts(ch, phi, rng, random_starts):
    """Starting log-functions: the gap's eigenfunction at several strengths and signs, soft
    indicators of the lightest state and of the two sides of the eigenfunction's sign, and
    random ones."""
    m = ch.m
    out = []
    scale = float(np.max(np.abs(phi))) or 1.0
    for c in (-2.0, -0.5, 0.5, 2.0):
        out.append(c * phi / scale)
    for A in (np.arange(m) == int(np.argmin(ch.pi)), phi > 0, phi < 0):
        if 0 < A.sum() < m:
            out.append(np.log(A + 0.05))
    for c in rng.choice((-1.0, 1.0), size=random_starts):
        out.append(c * phi / scale + 0.3 * rng.normal(size=m))
    return out


def log_sobolev_constant(P, pi, *, random_starts=2, rng=0, maxiter=500):
    r"""The log-Sobolev constant :math:`\alpha` of a reversible chain, with a certified bracket.

    :math:`\alpha = \inf\{\mathcal E(f,f)/\mathcal L(f) : \mathcal L(f) \ne 0\}` (Frieze and
    Kannan, section 2; :math:`\mathcal E` is :func:`dirichlet_form`, :math:`\mathcal L(f) =
    \mathrm{Ent}_\pi(f^2)`). The infimum over :math:`f > 0` is searched by L-BFGS-B
    (scipy.optimize) on :math:`\log f` from several starts: the spectral gap's eigenfunction
    :math:`\varphi` at four strengths, soft indicators of the lightest state and of
    :math:`\{\varphi > 0\}`, :math:`\{\varphi < 0\}`, and ``random_starts`` random ones
    (restricting to :math:`f > 0` loses nothing: :math:`\mathcal E(|f|,|f|) \le \mathcal
    E(f,f)` and :math:`\mathcal L(|f|) = \mathcal L(f)`).

    Bracket (Diaconis and Saloff-Coste, "Logarithmic Sobolev inequalities for finite Markov
    chains", 1996): ``upper`` is the smallest ratio found or :math:`\lambda/2` if smaller
    (:math:`\alpha \le \lambda/2` always: the ratio of :math:`f = 1 + \varepsilon\varphi`
    tends to :math:`\lambda/2`); ``lower`` is their appendix's Corollary A.4,
    :math:`\alpha \ge \lambda(1 - 2\pi_\#)/\log(1/\pi_\# - 1)` (:math:`\lambda/2` when
    :math:`\pi_\# = 1/2`). Both hold whatever the optimiser does; ``estimate`` is
    ``upper``. Exact for the two-point space, where :math:`\alpha = \lambda(1-2\theta)/
    \log((1-\theta)/\theta)` (their appendix), and for the hypercube walk, where
    :math:`\alpha = \lambda/2`.

    Parameters
    ----------
    P : array_like or scipy.sparse matrix, shape (m, m)
        Stochastic, reversible with respect to ``pi``; at most 4000 states.
    pi : array_like or GridDistribution, shape (m,)
        The stationary law (every entry > 0).
    random_starts : int
        Random starting functions besides the structured ones.
    rng : None, int, SeedSequence or numpy.random.Generator
        Seed of the random starts (the result is deterministic for a fixed seed).
    maxiter : int
        L-BFGS-B iterations for the best start (every start first runs 30; the best is
        polished only when it beats :math:`\lambda/2`).

    Returns
    -------
    LogSobolevResult

    Examples
    --------
    >>> import math
    >>> import numpy as np
    >>> from convq.sampling import log_sobolev_constant
    >>> theta = 0.2                       # two-point space, P(x, y) = pi(y)
    >>> pi = np.array([theta, 1 - theta])
    >>> res = log_sobolev_constant(np.tile(pi, (2, 1)), pi)
    >>> round(res.estimate, 8), round((1 - 2 * theta) / math.log((1 - theta) / theta), 8)
    (0.43280851, 0.43280851)
    """
    optimize = import_optional("scipy.optimize", "log_sobolev_constant")
    random_starts = check_int(random_starts, "random_starts", minimum=0)
    maxiter = check_int(maxiter, "maxiter", minimum=1)
    gen = as_generator(rng)
    ch = _Chain(P, pi)
    w, U = ch.eig()
    lam = max(float(1.0 - w[-2]), 0.0)
    phi = U[:, -2] / np.sqrt(ch.pi)
    lower = _dsc_factor(float(ch.pi.min())) * lam
    def descend(g0, iters):
        res = optimize.minimize(_ratio_grad, g0, args=(ch, lam), jac=True, method="L-BFGS-B",
                                bounds=[(-_G, _G)] * ch.m, options={"maxiter": iters, "ftol": 1e-15, "gtol": 1e-12})
        return min((_ratio_grad(g0, ch, lam)[0], 0, g0), (_ratio_grad(res.x, ch, lam)[0], 1, res.x),
                   key=lambda c: c[:2])

    # screen every start briefly, then polish the best if it beats lambda/2 (otherwise the
    # descent only creeps towards a constant, where the ratio tends to lambda/2 from above)
    best_r, _, best_g = min((descend(g0, _SCREEN) for g0 in _starts(ch, phi, gen, random_starts)),
                            key=lambda c: c[0])
    if maxiter > _SCREEN and best_r < 0.5 * lam:
        best_r, _, best_g = descend(best_g, maxiter)
    f = np.exp(best_g - best_g.max())
    f /= math.sqrt(float(ch.pi @ (f * f)))
    upper = min(best_r, 0.5 * lam)
    return LogSobolevResult(estimate=upper, lower=lower, upper=upper, gap=lam, ratio=best_r,
                            attained=bool(best_r < 0.5 * lam), f=f)


# --- the continuous-time law and the checks of (2), (3), (6) --------------------------------
def _times(t):
    t = as_float_array(t, "t", ndim=(0, 1))
    if np.any(t < 0):
        raise ValueError(f"t must be >= 0 (times), got {float(t.min())}")
    return t


def _heat_dev(p0, ch, t):
    r""":math:`\varepsilon_t = p_t/\pi - 1` for the times ``t`` (1-D), from the eigenvectors of
    :math:`S = D^{1/2}PD^{-1/2}`: :math:`\varepsilon_t = D^{-1/2}U e^{-t(1-\Lambda)}U^T w`,
    :math:`w = p_0/\sqrt\pi - \sqrt\pi` (orthogonal to the stationary direction, whose
    component is dropped), accurate when :math:`p_t` is close to :math:`\pi`."""
    w_, U = ch.eig()
    s = np.sqrt(ch.pi)
    c = U.T @ (p0 / s - s)
    if abs(float(U[:, -1] @ s)) > 1 - 1e-8:
        c[-1] = 0.0
    decay = np.exp(-np.outer(t, 1.0 - w_))
    return (decay * c) @ U.T / s


def heat_semigroup(p0, P, t, pi=None):
    r"""The law at time t of the continuous-time chain (Frieze and Kannan, section 1: a move of
    P after each Exp(1) holding time): :math:`p_t = p_0 e^{-t(I - P)}` (the paper's (29):
    :math:`f_t = e^{-t(I-P)}f_0`).

    With ``pi`` (P reversible with respect to it) it is computed from the eigendecomposition
    of :math:`D^{1/2}PD^{-1/2}` as :math:`p_t = \pi(1 + \varepsilon_t)`, accurate when
    :math:`p_t` is close to :math:`\pi`; without, by ``scipy.linalg.expm``. Rounding-level
    negative entries are set to 0.

    Parameters
    ----------
    p0 : array_like, shape (m,)
        The initial law (a probability vector).
    P : array_like or scipy.sparse matrix, shape (m, m)
        A stochastic matrix (at most 4000 states).
    t : float or array_like of shape (k,)
        Times >= 0.
    pi : array_like or GridDistribution, optional
        The stationary law, when P is reversible with respect to it.

    Returns
    -------
    ndarray, shape (m,) for a scalar t, (k, m) for an array.

    Examples
    --------
    >>> import numpy as np
    >>> from convq.sampling import heat_semigroup
    >>> P = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> heat_semigroup([1.0, 0.0], P, np.log(2) / 2, pi=[0.5, 0.5]).round(12)  # (1 + e^{-2t})/2
    array([0.75, 0.25])
    """
    t1 = np.atleast_1d(_times(t))
    if pi is not None:
        ch = _Chain(P, pi)
        p0 = _check_law(p0, "p0", ch.m)
        out = ch.pi * (1.0 + _heat_dev(p0, ch, t1))
    else:
        sparse = import_optional("scipy.sparse", "heat_semigroup")
        linalg = import_optional("scipy.linalg", "heat_semigroup")
        P = P.toarray() if sparse.issparse(P) else P
        P = as_float_array(P, "P", ndim=2)
        m = P.shape[0]
        if P.shape != (m, m):
            raise ValueError(f"P must be square, got shape {P.shape}")
        if m > _MAX_STATES:
            raise ValueError(f"P has {m} states, more than the {_MAX_STATES} a dense matrix exponential here allows")
        if np.any(P < -1e-12) or np.any(np.abs(P.sum(axis=1) - 1.0) > _SUM_TOL):
            raise ValueError("P must be a stochastic matrix (entries >= 0, rows summing to 1)")
        p0 = _check_law(p0, "p0", m)
        L = np.eye(m) - P
        out = np.array([p0 @ linalg.expm(-ti * L) for ti in t1])
    out = np.maximum(out, 0.0)
    return out[0] if np.ndim(t) == 0 else out


class DecayCheck(Result):
    r"""Margins of Frieze and Kannan's (2), (3), (6) and the entropy decay along :math:`p_t`
    (each margin is >= 0 when the inequality holds).

    Attributes
    ----------
    t, entropy, tv : ndarray
        Times, :math:`\mathrm{Ent}_\pi(p_t)` and the paper's :math:`\|p_t-\pi\|_{TV} = \sum|p_t - \pi|`.
    alpha : float
        The log-Sobolev constant used in the decay bound.
    margin_2 : ndarray
        :math:`\log(1/\pi_\#) - \mathrm{Ent}_\pi(p_t)`.
    margin_3 : ndarray
        :math:`2\,\mathrm{Ent}_\pi(p_t) - \|p_t-\pi\|_{TV}^2`.
    margin_6 : ndarray
        :math:`-\frac{d}{dt}\mathrm{Ent}_\pi(p_t) - 4\mathcal E(f_t^{1/2}, f_t^{1/2})`, where
        :math:`-\frac{d}{dt}\mathrm{Ent}_\pi(p_t) = \mathcal E(f_t, \log f_t)` (+inf where
        :math:`p_t` has zeros).
    margin_decay : ndarray
        :math:`e^{-4\alpha t}\mathrm{Ent}_\pi(p_0) - \mathrm{Ent}_\pi(p_t)`.
    holds : bool
        Every margin >= -1e-12 (rounding).
    """

    _order = ("holds", "alpha", "t", "entropy", "tv", "margin_2", "margin_3", "margin_6", "margin_decay")


def _dissipation(eps, ch):
    r""":math:`\mathcal E(f, \log f) - 4\mathcal E(\sqrt f, \sqrt f)` for :math:`f = 1 + \varepsilon`."""
    f = 1.0 + eps
    fi, fj = f[ch.i], f[ch.j]
    d = eps[ch.i] - eps[ch.j]
    with np.errstate(divide="ignore", invalid="ignore"):
        dlog = np.log1p(eps[ch.i]) - np.log1p(eps[ch.j])
        a = np.where(d == 0, 0.0, d * dlog)
        root = np.where(d == 0, 0.0, d / (np.sqrt(fi) + np.sqrt(fj)))
    return float(np.sum(ch.q * a) - 4.0 * np.sum(ch.q * root * root))


def check_decay(p0, P, pi, t, *, alpha=None):
    r"""Check, along the continuous-time law :math:`p_t = p_0e^{-t(I-P)}`, the inequalities of
    section 2 of Frieze and Kannan: (2) :math:`\mathrm{Ent}_\pi(p_t) \le \log(1/\pi_\#)`,
    (3) :math:`\|p_t - \pi\|_{TV}^2 \le 2\,\mathrm{Ent}_\pi(p_t)` (:math:`\|\cdot\|_{TV} =
    \sum|\cdot|`, the appendix's proof), the first inequality of (6),
    :math:`\frac{d}{dt}\mathrm{Ent}_\pi(p_t) \le -4\mathcal E(f_t^{1/2}, f_t^{1/2})`, and its
    consequence :math:`\mathrm{Ent}_\pi(p_t) \le e^{-4\alpha t}\mathrm{Ent}_\pi(p_0)`.

    Parameters
    ----------
    p0 : array_like, shape (m,)
        The initial law.
    P, pi : as in :func:`log_sobolev_constant`
    t : float or array_like
        Times >= 0.
    alpha : float, optional
        The log-Sobolev constant for the decay bound; default the certified lower bound of
        :func:`log_sobolev_constant` (for which the decay provably holds). Passing its
        ``estimate`` tests the bound at the (upper) estimate instead.

    Returns
    -------
    DecayCheck

    Examples
    --------
    >>> import numpy as np
    >>> from convq.sampling import check_decay
    >>> P = np.array([[0.5, 0.5, 0.0], [0.25, 0.5, 0.25], [0.0, 0.5, 0.5]])
    >>> check_decay([1.0, 0.0, 0.0], P, [0.25, 0.5, 0.25], [0.0, 1.0, 5.0]).holds
    True
    """
    tt = np.atleast_1d(_times(t))
    ch = _Chain(P, pi)
    p0 = _check_law(p0, "p0", ch.m)
    if alpha is None:
        w, _ = ch.eig()
        alpha = _dsc_factor(float(ch.pi.min())) * max(float(1.0 - w[-2]), 0.0)
    else:
        alpha = check_positive(alpha, "alpha", allow_zero=True)
    eps = _heat_dev(p0, ch, tt)
    at0 = tt == 0
    eps[at0] = p0 / ch.pi - 1.0  # exactly p0 at t = 0
    ent = np.array([_ent(e, ch.pi) for e in eps])
    tv = np.abs(eps) @ ch.pi
    ent0 = _ent(p0 / ch.pi - 1.0, ch.pi)
    m6 = np.array([_dissipation(e, ch) for e in eps])
    m6 = np.where(np.isnan(m6), np.inf, m6)
    margins = dict(margin_2=math.log(1.0 / float(ch.pi.min())) - ent, margin_3=2.0 * ent - tv * tv, margin_6=m6,
                   margin_decay=np.exp(-4.0 * alpha * tt) * ent0 - ent)
    tol = 1e-12 * max(1.0, ent0)
    holds = all(bool(np.all(v >= -tol)) for v in margins.values())
    return DecayCheck(holds=holds, alpha=alpha, t=tt, entropy=ent, tv=tv, **margins)


# --- the ball-walk PROBLEM ---------------------------------------------------------------------
def _ball_offsets(n, R):
    """The nonzero integer vectors v with |v| <= R (R in grid steps)."""
    r = int(math.floor(R * (1 + 1e-12)))
    if (2 * r + 1) ** n > 10 ** 7:
        raise ValueError(f"radius / delta_grid = {R:.4g} in n = {n} dimensions gives about {(2 * r + 1) ** n:.3g} "
                         "candidate offsets, too many; use a larger delta_grid or a smaller radius")
    axes = np.meshgrid(*[np.arange(-r, r + 1)] * n, indexing="ij")
    v = np.stack([a.ravel() for a in axes], axis=1).astype(np.int64)
    norm2 = np.sum(v * v, axis=1)
    return v[(norm2 > 0) & (norm2 <= R * R * (1 + 1e-12))]


def ball_walk_operator(density, body, delta_grid, radius, offset=None, *, lazy=False, max_cells=10**5):
    r"""The ball walk (end of Frieze and Kannan's paper, Steps 1', 2') discretised on a grid:
    its transition matrix and stationary law.

    The states are the grid set :math:`C` of the grid walk with cube side ``delta_grid`` (the
    centres whose cube meets K, as in :func:`exact_grid_distribution`). From :math:`x` the
    walk proposes :math:`y = x + \delta_g v`, :math:`v` uniform among the :math:`N` nonzero
    integer vectors with :math:`\delta_g|v| \le r` (the grid points of the ball of radius
    ``radius`` around x); it stays if :math:`y \notin C` and otherwise moves with
    probability :math:`\min(1, F(y)/F(x))`:

    .. math:: P(x, y) = \frac1N\min\Bigl(1, \frac{F(y)}{F(x)}\Bigr),\qquad
              \pi(x) = F(x)/\textstyle\sum_{z\in C}F(z),

    reversible with respect to the grid walk's own :math:`\pi`. With ``radius =
    delta_grid`` the ball holds only the :math:`2n` axis neighbours and this is the grid
    walk's matrix (:func:`transition_matrix`); a finer grid (``radius`` a few multiples of
    ``delta_grid``) approximates the continuous ball walk of that radius.

    Parameters
    ----------
    density, body : as in :func:`grid_walk`
    delta_grid : float
        The cube side of the discretisation.
    radius : float
        The ball radius (>= delta_grid).
    offset : array_like, optional
        Grid offset; default ``body.start_point()``.
    lazy : bool
        Return :math:`(I + P)/2`.
    max_cells : int
        Refuse bounding-box grids larger than this.

    Returns
    -------
    (P, dist) : scipy.sparse.csr_matrix, GridDistribution

    Examples
    --------
    >>> from convq import sampling as S
    >>> P, dist = S.ball_walk_operator(S.Uniform(), S.Box([0.0], [1.0]), 0.25, 0.5, offset=[0.125])
    >>> P.toarray()[1].round(3)          # from the second cell: +-1 and +-2 steps, 1/4 each
    array([0.25, 0.25, 0.25, 0.25])
    """
    n = _check_pair(density, body)
    delta = check_positive(delta_grid, "delta_grid")
    radius = check_positive(radius, "radius")
    if radius < delta:
        raise ValueError(f"radius must be >= delta_grid (a smaller ball holds no other grid point), got "
                         f"radius={radius} and delta_grid={delta}")
    lazy = _check_flag(lazy, "lazy")
    offset = body.start_point() if offset is None else as_vector(offset, "offset", size=n)
    dist = exact_grid_distribution(density, body, delta, offset, max_cells=check_int(max_cells, "max_cells",
                                                                                      minimum=1))
    V = _ball_offsets(n, radius / delta)
    k, lf, m = dist.indices, dist.logf, len(dist.probs)
    if len(V) * m > 5 * 10 ** 7:
        raise ValueError(f"the operator would have {len(V) * m:.3g} proposals ({m} states x {len(V)} ball points); "
                         "use a larger delta_grid or a smaller radius")
    lookup = _grid_lookup(k)
    rows, cols, vals = [], [], []
    for v in V:
        tgt = lookup(k + v)
        src = np.flatnonzero(tgt >= 0)
        tgt = tgt[src]
        rows.append(src)
        cols.append(tgt)
        vals.append(np.exp(np.minimum(lf[tgt] - lf[src], 0.0)) / len(V))
    return _assemble(rows, cols, vals, m, lazy), dist


class BallWalkStudy(Result):
    r"""The ball walk against the grid walk (:func:`ball_walk_study`).

    Attributes
    ----------
    table : dict of ndarray
        One entry per (n, delta): ``n``, ``delta`` (the grid walk's step = the ball radius),
        ``grid_delta`` (the ball walk's discretisation), ``states_grid``, ``states_ball``,
        ``gap_grid``, ``gap_ball``, ``alpha_grid``, ``alpha_ball`` (estimates),
        ``alpha_grid_lower``, ``alpha_ball_lower`` (certified lower bounds),
        ``gap_ratio`` = gap_ball / gap_grid and ``alpha_ratio`` = alpha_ball / alpha_grid.
    refine, lazy : the run parameters.
    """

    _order = ("table", "refine", "lazy")

    def rows(self):
        """The table as a list of dicts (one per (n, delta))."""
        keys = list(self.table)
        return [{k: self.table[k][i].item() for k in keys} for i in range(len(self.table["n"]))]


def ball_walk_study(problem, dims=(1, 2, 3), deltas=(0.5, 0.25), *, refine=2, lazy=False, max_cells=10**4, rng=0):
    r"""A numerical study of the PROBLEM at the end of Frieze and Kannan's paper ("estimate the
    log-Sobolev constant for the ball walk"): for each dimension n and step :math:`\delta`,
    the spectral gap and log-Sobolev constant (:func:`log_sobolev_constant`) of the grid walk
    with step :math:`\delta` (:func:`transition_matrix`) and of the ball walk of radius
    :math:`\delta` discretised on the grid of side :math:`\delta/\text{refine}`
    (:func:`ball_walk_operator`). This is numerical evidence on small grids, not a theorem;
    ``refine=1`` gives the grid walk itself (the ratios are then 1).

    Parameters
    ----------
    problem : callable
        ``problem(n)`` returns ``(density, body)`` in dimension n.
    dims : sequence of int
        Dimensions (small: the grids have :math:`(\text{extent}/\delta)^n` cells).
    deltas : sequence of float
        Grid-walk steps = ball radii.
    refine : int
        The ball walk's grid is :math:`\delta/\text{refine}`.
    lazy : bool
        Use :math:`(I+P)/2` for both walks.
    max_cells : int
        Largest grid allowed (bounding-box cells).
    rng : int
        Seed of the random starts of :func:`log_sobolev_constant`.

    Returns
    -------
    BallWalkStudy

    Examples
    --------
    >>> from convq import sampling as S
    >>> study = S.ball_walk_study(lambda n: (S.Gaussian([0.0] * n), S.Box([-1.0] * n, [1.0] * n)),
    ...                           dims=(1, 2), deltas=(0.5,))
    >>> study.table["n"].tolist(), bool((study.table["gap_ratio"] > 0).all())
    ([1, 2], True)
    """
    if not callable(problem):
        raise TypeError(f"problem must be a callable n -> (density, body), got {type(problem).__name__}")
    if not isinstance(dims, (list, tuple, np.ndarray)):
        raise TypeError(f"dims must be a sequence of dimensions, got {type(dims).__name__}")
    dims = [check_int(n, "dims[i]", minimum=1) for n in dims]
    if not dims:
        raise ValueError("dims must list at least one dimension, got none")
    deltas = [check_positive(d, "deltas[i]") for d in as_vector(deltas, "deltas").tolist()]
    refine = check_int(refine, "refine", minimum=1)
    lazy = _check_flag(lazy, "lazy")
    cols = {k: [] for k in ("n", "delta", "grid_delta", "states_grid", "states_ball", "gap_grid", "gap_ball",
                            "alpha_grid", "alpha_ball", "alpha_grid_lower", "alpha_ball_lower")}
    for n in dims:
        pair = problem(n)
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise TypeError(f"problem({n}) must return a (density, body) pair, got {type(pair).__name__}")
        density, body = pair
        for d in deltas:
            Pg, dg = transition_matrix(density, body, d, lazy=lazy, max_cells=max_cells)
            Pb, db = ball_walk_operator(density, body, d / refine, d, lazy=lazy, max_cells=max_cells)
            lg, lb = log_sobolev_constant(Pg, dg, rng=rng), log_sobolev_constant(Pb, db, rng=rng)
            for key, val in (("n", n), ("delta", d), ("grid_delta", d / refine), ("states_grid", len(dg.probs)),
                             ("states_ball", len(db.probs)), ("gap_grid", lg.gap), ("gap_ball", lb.gap),
                             ("alpha_grid", lg.estimate), ("alpha_ball", lb.estimate),
                             ("alpha_grid_lower", lg.lower), ("alpha_ball_lower", lb.lower)):
                cols[key].append(val)
    table = {k: np.array(v) for k, v in cols.items()}
    table["gap_ratio"] = table["gap_ball"] / table["gap_grid"]
    table["alpha_ratio"] = table["alpha_ball"] / table["alpha_grid"]
    return BallWalkStudy(table=table, refine=refine, lazy=lazy)
