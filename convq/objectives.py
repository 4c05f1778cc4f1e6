"""C-backed objectives: value, gradient and Hessian-vector products in one fused pass.

Every built-in objective keeps its data as C-contiguous float64 arrays and evaluates
``value_and_grad`` with a single row-blocked pass over X in C (for a block of rows:
z = X_b theta, the loss derivative r, and X_b' r while the rows are in cache), so it
reads the data once where the textbook ``X @ theta`` then ``X.T @ r`` reads it twice.

Costs are exactly those of M. Lagarde, "Machine Learning Algebra" (2022): the regularised
least-squares cost (section 1.6), the cross-entropy cost of logistic regression (section 2.3),
the SVM hinge cost (section 4.2, with the slope-k hinge costs cost_1 and cost_0 of
section 4.3); and the smoothed LASSO of the lecture slides "Gradient method" (section
"LASSO: smoothing"):

=================  ==========================================================================
``Quadratic``      f = 1/2 x'Ax - b'x + c
``LeastSquares``   J = 1/(2m) ||X theta - y||^2 + lam/(2m) ||theta_r||^2
``Logistic``       J = -1/m sum [y ln h + (1-y) ln(1-h)] + lam/(2m) ||theta_r||^2, h = sigmoid(z)
``Hinge``          J = C sum [y cost_1(z) + (1-y) cost_0(z)] + 1/2 ||theta_r||^2
                   (``.smooth(delta)``: the Huber-smoothed ``SmoothedHinge``)
``Lasso``          f = 1/2 ||Ax - b||^2 + mu ||x||_1  (``.smooth(delta)``: Huber l_delta)
=================  ==========================================================================

``Softmax``        J = 1/m sum_i [ln sum_k e^{z_ik} - z_{i,y_i}] + lam/(2m) sum_k ||theta_{k,r}||^2
                   (multinomial logistic regression; K blocks of theta, one per class)

Every data objective also takes a scipy.sparse X (any format; converted once to CSR with
sorted, summed duplicates): every pass then costs O(nnz + m) instead of O(m p).

Sample weights (``sample_weight=w``, w_i >= 0): every row's loss is multiplied by w_i and
the m of the 1/m and lam/(2m) factors becomes W = sum_i w_i, so an integer weight is the
same cost as that many copies of the row. This is scikit-learn's convention for its
Lasso (weights rescaled to sum to the number of samples); for Ridge and
LogisticRegression, whose costs carry no 1/m, it gives the same minimiser at the same
alpha = lam or C = 1/lam. The hinge costs and ``Lasso`` carry no 1/m, so there the
weights scale each row's loss and nothing else.

With ``intercept=True`` X gets no added column: theta[0] is the intercept (z_i = theta[0]
+ X_i . theta[1:]) and theta_r = theta[1:] is what the penalty sees. With a row subset
(``rows=``, a minibatch), m is the subset size.
"""
from __future__ import annotations

import numbers
from typing import Any, Optional, Tuple

import numpy as np
from numpy.typing import ArrayLike

from . import _core
from ._spec import CSRSpec, ObjectiveSpec
from ._rng import as_generator
from ._validation import (as_matrix, as_vector, check_finite, check_int, check_positive, check_real, check_threads,
                          is_sparse)

__all__ = ["Objective", "Quadratic", "LeastSquares", "Logistic", "Softmax", "Hinge", "SmoothedHinge", "Lasso",
           "Function", "nesterov_hard", "NesterovHard"]

# objective kinds: the C enum cq_obj_kind, exported by the binding (never re-typed)
_QUAD, _LSQ, _LOGI, _HINGE, _LASSO, _HUBER_HINGE, _SOFTMAX = (
    _core.OBJ_QUADRATIC, _core.OBJ_LEASTSQ, _core.OBJ_LOGISTIC, _core.OBJ_HINGE, _core.OBJ_LASSO,
    _core.OBJ_HUBER_HINGE, _core.OBJ_SOFTMAX)


def _power_iteration(matvec, dim, rng, n_iter=200, rtol=1e-10):
    """Largest eigenvalue of a symmetric PSD operator by power iteration."""
    gen = as_generator(rng)
    v = gen.standard_normal(dim)
    v /= np.linalg.norm(v)
    lam = 0.0
    for _ in range(n_iter):
        w = matvec(v)
        nw = np.linalg.norm(w)
        if nw == 0.0:
            return 0.0
        new = float(v @ w)
        v = w / nw
        if abs(new - lam) <= rtol * abs(new):
            lam = new
            break
        lam = new
    return float(lam)


class Objective:
    """Base class: ``value``, ``grad``, ``value_and_grad``, ``hessp``, ``lipschitz``, ``dim``.

    Built-in subclasses are evaluated in C; ``_c_spec`` is their private description, a
    :class:`convq._spec.ObjectiveSpec` ``(kind, X, y, intercept, lam, c, threads)``, for
    the binding code.
    """

    dim: int
    _c_spec: ObjectiveSpec | None = None

    def _x(self, x, name="x"):
        return as_vector(x, name, size=self.dim)

    def _rows(self, rows):
        if rows is None:
            return None
        r = np.asarray(rows)
        if r.ndim != 1 or (r.size and r.dtype.kind not in "iu"):
            raise TypeError(f"rows must be a 1-D array of integer row indices, got dtype {r.dtype} "
                            f"and shape {r.shape}")
        r = np.ascontiguousarray(r, dtype=np.int64)
        m = self._c_spec.X.shape[0]
        if r.size and (r.min() < 0 or r.max() >= m):
            raise ValueError(f"rows must be indices in [0, {m}), got values in [{r.min()}, {r.max()}]")
        return r

    def value_and_grad(self, x: ArrayLike, rows: Optional[ArrayLike] = None) -> Tuple[float, np.ndarray]:
        """f(x) and grad f(x) from one fused pass over the data.

        Parameters
        ----------
        x : array_like, shape (dim,)
        rows : array_like of int, optional
            A subset of rows (a minibatch); the cost then uses m = len(rows).
        """
        f, g = _core._obj_value_grad(self._c_spec, self._x(x), self._rows(rows), True)
        return f, g

    def value(self, x: ArrayLike, rows: Optional[ArrayLike] = None) -> float:
        """f(x)."""
        return _core._obj_value_grad(self._c_spec, self._x(x), self._rows(rows), False)[0]

    def grad(self, x: ArrayLike, rows: Optional[ArrayLike] = None) -> np.ndarray:
        """grad f(x) (a subgradient for the non-smooth objectives)."""
        return self.value_and_grad(x, rows)[1]

    def hessp(self, x: ArrayLike, v: ArrayLike, rows: Optional[ArrayLike] = None) -> np.ndarray:
        """Hessian-vector product H(x) v (one pass over the data)."""
        return _core._obj_hessp(self._c_spec, self._x(x), self._x(v, "v"), self._rows(rows))

    def _matvec(self, d):
        return _core._obj_matvec(self._c_spec, self._x(d, "d"))

    def _hess_diag(self, x):
        """The diagonal of the Hessian at x (the Newton-CG preconditioner, ``cq_obj_hess_diag``)."""
        return _core._obj_hess_diag(self._c_spec, self._x(x))

    def lipschitz(self, rng: Any = None) -> float:
        """Estimate of the Lipschitz constant L of the gradient (power iteration on the
        Hessian, which is constant or bounded above as documented per class)."""
        x0 = np.zeros(self.dim)
        return _power_iteration(lambda v: self.hessp(x0, v), self.dim, rng)

    def __call__(self, x):
        return self.value(x)

    def __repr__(self):
        return f"{type(self).__name__}({self._describe()})"

    def _describe(self):
        return f"dim={self.dim}"


def _data(X, y, rows_name="X", y_name="y"):
    X = as_matrix(X, rows_name)
    y = as_vector(y, y_name)
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"{y_name} must have one entry per row of {rows_name}: expected length {X.shape[0]}, "
                         f"got {y.shape[0]}")
    return X, y


# the most columns a sparse X may have: the gradient and each parallel block's partial sum
# are dense vectors of that length
_MAX_SPARSE_COLS = 1 << 28


def _sparse_data(X, y):
    """A scipy.sparse X as canonical CSR (float64, sorted and summed duplicates) and its
    C view (a CSRSpec with int64 indices), after checking it; y checked against its rows."""
    if X.ndim != 2 or X.dtype.kind not in "biuf":
        raise TypeError(f"X must be a real 2-D sparse matrix, got {X.ndim}-D of dtype {X.dtype}")
    m, p = X.shape
    if p > _MAX_SPARSE_COLS:
        raise ValueError(f"X must have at most {_MAX_SPARSE_COLS} columns, got {p}")
    X = X.tocsr()
    ip, ix = X.indptr, X.indices
    if ip.shape != (m + 1,) or ip[0] != 0 or ip[-1] != ix.size or (m and np.any(np.diff(ip) < 0)):
        raise ValueError(f"X (CSR) has a malformed indptr: expected {m + 1} non-decreasing entries from 0 to "
                         f"nnz = {ix.size}, got {ip.size} entries from {ip[0] if ip.size else None} to "
                         f"{ip[-1] if ip.size else None}")
    if ix.size and (ix.min() < 0 or ix.max() >= p):
        raise ValueError(f"X (CSR) has column indices outside [0, {p}): got values in [{ix.min()}, {ix.max()}]")
    X = X.astype(np.float64, copy=False)
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    check_finite(X.data, "X (its stored entries)")
    y = as_vector(y, "y")
    if y.shape[0] != m:
        raise ValueError(f"y must have one entry per row of X: expected length {m}, got {y.shape[0]}")
    spec = CSRSpec(np.ascontiguousarray(X.indptr, dtype=np.int64), np.ascontiguousarray(X.indices, dtype=np.int64),
                   np.ascontiguousarray(X.data), p)
    return X, y, spec


def _design(X, y, x_name="X", y_name="y"):
    """(X, y, xspec): a dense X checked as a float64 matrix (xspec = X), or a scipy.sparse X
    as canonical CSR and its C view."""
    if is_sparse(X):
        return _sparse_data(X, y)
    X, y = _data(X, y, x_name, y_name)
    return X, y, X


def _sample_weight(w, m):
    """None, or the row weights as a float64 vector of length m: finite, >= 0, not all 0."""
    if w is None:
        return None
    w = as_vector(w, "sample_weight")
    if w.shape[0] != m:
        raise ValueError(f"sample_weight must have one entry per row of X: expected length {m}, got {w.shape[0]}")
    check_finite(w, "sample_weight")
    if np.any(w < 0):
        raise ValueError(f"sample_weight must be >= 0, got {w[w < 0][0]} at index {int(np.flatnonzero(w < 0)[0])}")
    if not w.sum() > 0:
        raise ValueError("sample_weight must have a positive sum, got all zeros")
    return np.ascontiguousarray(w)


class _RowsMixin:
    """The data part shared by the objectives with rows: X (dense or CSR), y, weights."""

    def _set_rows(self, X, y, sample_weight, threads, x_name="X", y_name="y"):
        self.X, self.y, xspec = _design(X, y, x_name, y_name)
        self.m = self.X.shape[0]
        self.sample_weight = _sample_weight(sample_weight, self.m)
        self.wsum = float(self.m if self.sample_weight is None else self.sample_weight.sum())
        work = self.X.nnz if hasattr(self.X, "nnz") else self.X.size   # entries read per pass
        self.threads = check_threads(threads, "objective", work)
        return xspec

    @property
    def sparse(self) -> bool:
        """True when X is a scipy.sparse (CSR) matrix."""
        return isinstance(self._c_spec.X, CSRSpec)

    def _gram_norm(self, rng):
        """||W^{1/2} X~||_2^2 / W (X~ = [1, X] with an intercept, W = sum of the weights): the
        Lipschitz constant of the weighted least-squares cost on the same rows."""
        lsq = LeastSquares(self.X, self.y, 0.0, self.intercept, sample_weight=self.sample_weight,
                           threads=self.threads or None)
        return lsq.lipschitz(rng)


def _bool(v, name):
    if not isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(v).__name__}")
    return bool(v)


class Quadratic(Objective):
    """f(x) = 1/2 x'Ax - b'x + c (A is symmetrised: (A + A')/2).

    The quadratic example of the gradient-method notes is ``Quadratic(diag(1, gamma),
    0)``; its exact line-search step is t = g'g / g'Ag.
    """

    def __init__(self, A, b=None, c=0.0, *, threads=None):
        if is_sparse(A):
            raise TypeError("A must be a dense array: Quadratic takes no scipy.sparse matrix (use A.toarray())")
        A = as_matrix(A, "A")
        if A.shape[0] != A.shape[1]:
            raise ValueError(f"A must be square, got shape {A.shape}")
        n = A.shape[0]
        b = np.zeros(n) if b is None else as_vector(b, "b", size=n)
        self.A = np.ascontiguousarray(0.5 * (A + A.T))
        self.b = b
        self.c = check_real(c, "c")
        self.dim = n
        self._c_spec = ObjectiveSpec(_QUAD, self.A, self.b, c=self.c,
                                     threads=check_threads(threads, "objective", self.A.size))

    def _rows(self, rows):
        if rows is not None:
            raise ValueError("Quadratic has no rows to subsample; rows must be None")
        return None

    def minimizer(self):
        """x* = A^{-1} b (least-squares solution if A is singular)."""
        return np.linalg.lstsq(self.A, self.b, rcond=None)[0]


class NesterovHard(Quadratic):
    r"""The worst function in the world for first-order methods (Nesterov, "Introductory
    Lectures on Convex Optimization", 2004, section 2.1.2, eq. (2.1.11)).

    On R^n, with the first p coordinates active,

    .. math:: f_p(x) = \frac{L}{4}\Bigl(\frac12\Bigl[x_1^2 + \sum_{i=1}^{p-1}(x_i - x_{i+1})^2
              + x_p^2\Bigr] - x_1\Bigr),

    a quadratic 1/2 x'Ax - b'x with A = (L/4) tridiag(-1, 2, -1) on the leading p x p block
    (0 elsewhere) and b = (L/4) e_1. Its gradient is L-Lipschitz (||A|| < L), its minimiser
    is x*_i = 1 - i/(p+1) for i <= p (0 beyond), f* = (L/8)(1/(p+1) - 1). From x_0 = 0 a
    first-order method's k-th iterate lies in x_0 + span{grad f(x_0), ..., grad f(x_{k-1})}
    = span{e_1, ..., e_k}, which is what makes it slow: with p = 2k + 1 (and n >= p),

        f(x_k) - f* >= 3 L ||x_0 - x*||^2 / (32 (k + 1)^2)

    (Theorem 2.1.7 there; the "Limits on convergence rate of first-order methods" page of
    the lecture slides "Gradient method"), :func:`convq.bounds.nesterov_lower_bound`.
    Attributes ``xstar``, ``fstar``, ``p``, ``L``.
    """

    def __init__(self, n, L=1.0, p=None, *, threads=None):
        n = check_int(n, "n", minimum=1, maximum=1 << 14)
        L = check_positive(L, "L")
        p = n if p is None else check_int(p, "p", minimum=1, maximum=n)
        A = np.zeros((n, n))
        idx = np.arange(p)
        A[idx, idx] = 2.0
        A[idx[:-1], idx[:-1] + 1] = -1.0
        A[idx[:-1] + 1, idx[:-1]] = -1.0
        b = np.zeros(n)
        b[0] = 1.0
        super().__init__(0.25 * L * A, 0.25 * L * b, threads=threads)
        self.n, self.L, self.p = n, L, p
        self.xstar = np.zeros(n)
        self.xstar[:p] = 1.0 - np.arange(1, p + 1) / (p + 1.0)
        self.fstar = L / 8.0 * (1.0 / (p + 1.0) - 1.0)

    def minimizer(self):
        """x*_i = 1 - i/(p+1) for i <= p, 0 beyond (closed form)."""
        return self.xstar.copy()


def nesterov_hard(n, L=1.0, k=None, *, threads=None):
    """Nesterov's worst-case quadratic on R^n for iteration budget k: :class:`NesterovHard`
    with p = 2k + 1 active coordinates (k <= (n-1)/2), or p = n when k is None."""
    n = check_int(n, "n", minimum=1, maximum=1 << 14)
    if k is None:
        return NesterovHard(n, L, threads=threads)
    k = check_int(k, "k", minimum=0)
    if 2 * k + 1 > n:
        raise ValueError(f"k must be <= (n-1)/2 = {(n - 1) // 2} for n = {n}, got k={k}")
    return NesterovHard(n, L, 2 * k + 1, threads=threads)


class LeastSquares(_RowsMixin, Objective):
    """J(theta) = 1/(2m) ||X theta - y||^2 + lam/(2m) ||theta_r||^2 (Lagarde, "Machine
    Learning Algebra", sections 1.3 and 1.6: the regularised least-squares cost; theta[0]
    unpenalised intercept when ``intercept=True``).

    X is a dense (m, p) array or a scipy.sparse matrix (any format; kept as ``X`` in CSR
    form with sorted, summed duplicates, float64 values, which must be finite). With a
    sparse X, value, gradient, ``hessp`` and the Newton-CG preconditioner cost O(nnz + m)
    per pass, and every :func:`convq.optimize.minimize` method works on it, as do the
    stochastic oracles and the distributed trainer.

    ``sample_weight`` (optional, w_i >= 0): J = 1/(2W) sum_i w_i (x_i theta - y_i)^2 +
    lam/(2W) ||theta_r||^2 with W = sum_i w_i (see the module docstring).

    Example: ``LeastSquares(X, y, lam=0.1, intercept=True, sample_weight=w).value_and_grad(theta)``."""

    _kind = _LSQ

    def __init__(self, X, y, lam=0.0, intercept=False, *, sample_weight=None, threads=None):
        xspec = self._set_rows(X, y, sample_weight, threads)
        self.lam = check_positive(lam, "lam", allow_zero=True)
        self.intercept = _bool(intercept, "intercept")
        self.dim = self.X.shape[1] + int(self.intercept)
        self._c_spec = ObjectiveSpec(self._kind, xspec, self.y, self.intercept, lam=self.lam, threads=self.threads,
                                     w=self.sample_weight)

    def _describe(self):
        return f"m={self.m}, dim={self.dim}, lam={self.lam:g}, intercept={self.intercept}"


class Logistic(LeastSquares):
    """J(theta) = 1/m sum_i [ln(1 + e^{z_i}) - y_i z_i] + lam/(2m) ||theta_r||^2, which is
    the cross-entropy cost of Lagarde's "Machine Learning Algebra" (section 2.3) written
    stably; labels y in {0, 1}. The Hessian is bounded
    by X'X/(4m) + lam/m, which ``lipschitz`` returns. X is dense or scipy.sparse, as for
    :class:`LeastSquares`."""

    _kind = _LOGI

    def __init__(self, X, y, lam=0.0, intercept=False, *, sample_weight=None, threads=None):
        super().__init__(X, y, lam, intercept, sample_weight=sample_weight, threads=threads)
        if not np.all((self.y == 0) | (self.y == 1)):
            bad = self.y[(self.y != 0) & (self.y != 1)][0]
            raise ValueError(f"Logistic labels y must be 0 or 1, got {bad}")

    def lipschitz(self, rng=None):
        return 0.25 * self._gram_norm(rng) + self.lam / self.wsum


class Softmax(_RowsMixin, Objective):
    r"""Multinomial logistic regression: the cross-entropy of the softmax (Bishop, "Pattern
    Recognition and Machine Learning", 2006, section 4.3.4),

        J(theta) = 1/m sum_i [ln sum_k e^{z_ik} - z_{i,y_i}] + lam/(2m) sum_k ||theta_{k,r}||^2,

    z_ik = theta_k . [1, x_i] (without the 1 when ``intercept=False``), labels y_i in
    {0, ..., K-1}. theta holds K blocks of p + intercept entries (``theta.reshape(K, -1)``:
    row k is class k, its first entry the unpenalised intercept). With lam > 0 the minimiser
    is unique; scikit-learn's multinomial ``LogisticRegression(C)`` minimises C sum_i loss_i
    + 1/2 ||W||^2, the same problem with lam = 1/C. The Hessian is bounded by
    ||X~||^2 / (2m) + lam/m, which ``lipschitz`` returns. Dense or scipy.sparse X, and
    ``sample_weight``, as for :class:`LeastSquares`; value, gradient, ``hessp`` and the
    line-search trials run in C, one pass over the rows (K dot products per row while it is
    in cache).

    Example: ``Softmax(X, y, n_classes=3, lam=1.0, intercept=True).value_and_grad(np.zeros(3 * (p + 1)))``.
    """

    def __init__(self, X, y, n_classes=None, lam=0.0, intercept=False, *, sample_weight=None, threads=None):
        xspec = self._set_rows(X, y, sample_weight, threads)
        if self.y.size and (np.any(self.y < 0) or np.any(self.y != np.round(self.y))):
            raise ValueError("Softmax labels y must be class indices 0, 1, ..., K-1")
        top = int(self.y.max()) + 1 if self.y.size else 2
        K = max(top, 2) if n_classes is None else check_int(n_classes, "n_classes", minimum=2)
        if top > K:
            raise ValueError(f"Softmax labels y must be < n_classes = {K}, got {top - 1}")
        self.n_classes = K
        self.lam = check_positive(lam, "lam", allow_zero=True)
        self.intercept = _bool(intercept, "intercept")
        self.dim = K * (self.X.shape[1] + int(self.intercept))
        self._c_spec = ObjectiveSpec(_SOFTMAX, xspec, self.y, self.intercept, lam=self.lam, c=float(K),
                                     threads=self.threads, w=self.sample_weight)

    def lipschitz(self, rng=None):
        return 0.5 * self._gram_norm(rng) + self.lam / self.wsum

    def _describe(self):
        return f"m={self.m}, K={self.n_classes}, dim={self.dim}, lam={self.lam:g}, intercept={self.intercept}"


def _hinge_data(obj, X, y, C, slope, intercept, threads, sample_weight):
    """The checked data and parameters of Hinge and SmoothedHinge, set on ``obj``; returns
    X's C view."""
    xspec = obj._set_rows(X, y, sample_weight, threads)
    if not np.all((obj.y == 0) | (obj.y == 1)):
        raise ValueError(f"{type(obj).__name__} labels y must be 0 or 1")
    obj.C = check_positive(C, "C")
    obj.slope = check_positive(slope, "slope")
    obj.intercept = _bool(intercept, "intercept")
    obj.dim = obj.X.shape[1] + int(obj.intercept)
    return xspec


class Hinge(LeastSquares):
    """SVM hinge cost (Lagarde, "Machine Learning Algebra", section 4.2): J = C sum_i [y_i cost_1(z_i) + (1 - y_i) cost_0(z_i)] + 1/2 ||theta_r||^2
    with cost_1(z) = k max(0, 1 - z) and cost_0(z) = k (1 + z) for z >= -1, else 0
    (section 4.3), k = ``slope``; labels y in {0, 1}. Not differentiable: ``grad`` is the
    subgradient with the case split of cost_1 and cost_0; there is no ``hessp``."""

    _kind = _HINGE

    def __init__(self, X, y, C=1.0, slope=1.0, intercept=False, *, sample_weight=None, threads=None):
        xspec = _hinge_data(self, X, y, C, slope, intercept, threads, sample_weight)
        self.lam = 0.0
        self._c_spec = ObjectiveSpec(_HINGE, xspec, self.y, self.intercept, lam=self.C, c=self.slope,
                                     threads=self.threads, w=self.sample_weight)

    def hessp(self, x, v, rows=None):
        raise ValueError("the hinge loss is not twice differentiable: Hinge has no hessp")

    def lipschitz(self, rng=None):
        """The gradient of the hinge cost is not Lipschitz: returns inf."""
        return float("inf")

    def smooth(self, delta):
        """The Huber-smoothed cost J_delta (delta > 0): a :class:`SmoothedHinge`."""
        return SmoothedHinge(self.X, self.y, self.C, self.slope, self.intercept, check_positive(delta, "delta"),
                             sample_weight=self.sample_weight, threads=self.threads or None)

    def _describe(self):
        return f"m={self.m}, dim={self.dim}, C={self.C:g}, slope={self.slope:g}, intercept={self.intercept}"


class SmoothedHinge(_RowsMixin, Objective):
    """The hinge cost of :class:`Hinge` with its kink Huber-smoothed (the smoothing of the
    lecture slides "Gradient method", section "LASSO: smoothing", applied to the hinge):

        J_delta(theta) = C k sum_i h_delta(v_i) + 1/2 ||theta_r||^2,  v_i = 1 - s_i z_i, s_i = 2 y_i - 1,

    h_delta(v) = 0 (v <= 0), v^2/(2 delta) (0 < v < delta), v - delta/2 (v >= delta). Since
    h_delta <= max(0, v) <= h_delta + delta/2, J_delta <= J <= J_delta + C k m delta/2.
    Differentiable, with the piecewise-constant Hessian C k/delta X~_Q'X~_Q + diag(0, 1, ..., 1)
    (Q: the rows with 0 < v_i < delta) evaluated in C like the other objectives."""

    def __init__(self, X, y, C=1.0, slope=1.0, intercept=False, delta=1.0, *, sample_weight=None, threads=None):
        xspec = _hinge_data(self, X, y, C, slope, intercept, threads, sample_weight)
        self.delta = check_positive(delta, "delta")
        self._c_spec = ObjectiveSpec(_HUBER_HINGE, xspec, self.y, self.intercept, lam=self.C * self.slope,
                                     c=self.delta, threads=self.threads, w=self.sample_weight)

    def lipschitz(self, rng=None):
        """C k/delta ||W^{1/2} X~||_2^2 + 1 (X~ = [1, X] with an intercept, W the row weights):
        a bound on the Hessian."""
        return self.C * self.slope / self.delta * self._gram_norm(rng) * self.wsum + 1.0

    def _describe(self):
        return (f"m={self.m}, dim={self.dim}, C={self.C:g}, slope={self.slope:g}, delta={self.delta:g}, "
                f"intercept={self.intercept}")


class Lasso(_RowsMixin, Objective):
    """f(x) = 1/2 ||Ax - b||^2 + mu ||x||_1 (the LASSO of the lecture slides "Gradient method"; scikit-learn's ``Lasso`` has
    alpha = mu / m). ``smooth(delta)`` returns the Huber-smoothed f_delta with
    l_delta(x) = x^2/(2 delta) for |x| < delta, |x| - delta/2 otherwise. A may be
    scipy.sparse (kept as CSR); ``sample_weight`` w gives 1/2 sum_i w_i (A_i x - b_i)^2."""

    def __init__(self, A, b, mu, *, delta=0.0, sample_weight=None, threads=None):
        xspec = self._set_rows(A, b, sample_weight, threads, "A", "b")
        self.A, self.b = self.X, self.y
        self.mu = check_positive(mu, "mu", allow_zero=True)
        self.delta = check_positive(delta, "delta", allow_zero=True)
        self.dim = self.A.shape[1]
        self._c_spec = ObjectiveSpec(_LASSO, xspec, self.b, lam=self.mu, c=self.delta, threads=self.threads,
                                     w=self.sample_weight)

    def smooth(self, delta):
        """The Huber-smoothed objective f_delta (delta > 0)."""
        delta = check_positive(delta, "delta")
        return Lasso(self.A, self.b, self.mu, delta=delta, sample_weight=self.sample_weight,
                     threads=self.threads or None)

    def smooth_part(self):
        """1/2 ||Ax - b||^2 alone (mu = 0), the f of proximal gradient / FISTA."""
        return Lasso(self.A, self.b, 0.0, sample_weight=self.sample_weight, threads=self.threads or None)

    def lipschitz(self, rng=None):
        """||W^{1/2} A||_2^2 (+ mu/delta when smoothed)."""
        L = Lasso(self.A, self.b, 0.0, sample_weight=self.sample_weight, threads=self.threads or None)
        base = _power_iteration(lambda v: L.hessp(np.zeros(self.dim), v), self.dim, rng)
        return base + (self.mu / self.delta if self.delta > 0 else 0.0)

    def _describe(self):
        s = f"m={self.m}, dim={self.dim}, mu={self.mu:g}"
        return s + (f", delta={self.delta:g}" if self.delta else "")


class Function(Objective):
    """An objective from Python callables: ``fun(x) -> float``, ``grad(x) -> (dim,)``
    (central finite differences if None), ``hess(x) -> (dim, dim)`` (optional).

    Outputs are checked: a non-finite value or gradient, or a gradient of the wrong
    shape, raises ``ValueError`` naming the callable. ``minimize`` iterates these in
    Python.
    """

    def __init__(self, fun, grad=None, hess=None, *, dim=None):
        if not callable(fun):
            raise TypeError(f"fun must be callable, got {type(fun).__name__}")
        for name, f in (("grad", grad), ("hess", hess)):
            if f is not None and not callable(f):
                raise TypeError(f"{name} must be callable or None, got {type(f).__name__}")
        self.fun, self._grad, self._hess = fun, grad, hess
        self.dim = None if dim is None else check_int(dim, "dim", minimum=1)
        self._c_spec = None

    def _x(self, x, name="x"):
        v = as_vector(x, name)
        if self.dim is None:
            self.dim = v.shape[0]
        elif v.shape[0] != self.dim:
            raise ValueError(f"{name} must have length {self.dim}, got {v.shape[0]}")
        return v

    def _rows(self, rows):
        if rows is not None:
            raise ValueError("Function objectives do not support row subsets")
        return None

    def value(self, x, rows=None):
        x = self._x(x)
        self._rows(rows)
        try:
            v = float(self.fun(x.copy()))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"fun must return a real scalar: {exc}") from None
        if not np.isfinite(v):
            raise ValueError(f"fun returned a non-finite value {v} at x = {x}")
        return v

    def grad(self, x, rows=None):
        x = self._x(x)
        self._rows(rows)
        if self._grad is None:
            h = 1e-6 * np.maximum(1.0, np.abs(x))
            g = np.empty_like(x)
            for i in range(x.size):
                e = np.zeros_like(x)
                e[i] = h[i]
                g[i] = (self.value(x + e) - self.value(x - e)) / (2 * h[i])
            return g
        g = np.asarray(self._grad(x.copy()), dtype=float)
        if g.shape != x.shape:
            raise ValueError(f"grad must return an array of shape {x.shape}, got shape {g.shape}")
        if not np.all(np.isfinite(g)):
            raise ValueError(f"grad returned non-finite values at x = {x}")
        return g

    def value_and_grad(self, x, rows=None):
        return self.value(x, rows), self.grad(x, rows)

    def hessp(self, x, v, rows=None):
        x = self._x(x)
        v = self._x(v, "v")
        if self._hess is not None:
            H = np.asarray(self._hess(x.copy()), dtype=float)
            if H.shape != (x.size, x.size):
                raise ValueError(f"hess must return shape {(x.size, x.size)}, got {H.shape}")
            if not np.all(np.isfinite(H)):
                raise ValueError(f"hess returned non-finite values at x = {x}")
            return H @ v
        nv = np.linalg.norm(v)
        if nv == 0:
            return np.zeros_like(v)
        h = 1e-6 * max(1.0, np.linalg.norm(x)) / nv
        return (self.grad(x + h * v) - self.grad(x - h * v)) / (2 * h)

    def lipschitz(self, rng=None, x=None):
        """Power iteration on the Hessian at x (default 0)."""
        if self.dim is None and x is None:
            raise ValueError("Function.lipschitz needs x (or dim=) to know the dimension")
        x = np.zeros(self.dim) if x is None else self._x(x)
        return abs(_power_iteration(lambda v: self.hessp(x, v), self.dim, rng))

    def _describe(self):
        return f"{getattr(self.fun, '__name__', 'fun')}, dim={self.dim}"
