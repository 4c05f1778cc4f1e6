/*
 * _objectives.c -- bindings of convq.objectives: the objective kernels (cq_objectives.h).
 * Private entry points; every objective is described by its named spec
 *     convq._spec.ObjectiveSpec(kind, X, y, intercept, lam, c, threads, w),
 * read by field name (see cq_obj in cq_objectives.h for the meaning of each field). Semantic validation
 * lives in the Python layer; this layer re-checks only what memory safety needs.
 */
#include "bind.h"
#include "optimize/cq_objectives.h"
#include "_objectives.h"

typedef cqb_obj_spec spec;

void cqb_obj_spec_release(spec *s)
{
    Py_XDECREF(s->X);
    Py_XDECREF(s->y);
    Py_XDECREF(s->w);
    Py_XDECREF(s->indptr);
    Py_XDECREF(s->indices);
    Py_XDECREF(s->data);
    s->X = s->y = s->w = NULL;
    s->indptr = s->indices = s->data = NULL;
}

/* X as a convq._spec.CSRSpec(indptr, indices, data, n_cols): int64 indptr and indices,
 * float64 data. Checked in full here (O(m + nnz)), since the kernels index with them:
 * indptr starts at 0, never decreases and ends at nnz; every column index is in [0, n_cols).
 * Sets *m and *p; 0 on success, -1 with ValueError/TypeError naming X. */
static int csr_arg(PyObject *xo, spec *s, npy_intp *m, npy_intp *p)
{
    static const char T[] = "CSRSpec";
    long long ncols;
    if (cqb_spec_int(xo, T, "n_cols", &ncols) < 0) return -1;
    PyObject *f[3] = {cqb_spec_get(xo, "indptr"), cqb_spec_get(xo, "indices"), cqb_spec_get(xo, "data")};
    if (f[0] && f[1] && f[2]) {
        s->indptr = cqb_int64_array(f[0], "X.indptr", 1, 1);
        if (s->indptr) s->indices = cqb_int64_array(f[1], "X.indices", 1, 1);
        if (s->indices) s->data = cqb_double_array(f[2], "X.data", 1, 1);
    }
    for (int i = 0; i < 3; i++) Py_XDECREF(f[i]);
    if (s->data == NULL) return -1;
    npy_intp np1 = PyArray_DIM(s->indptr, 0), nnz = PyArray_DIM(s->indices, 0);
    const int64_t *ip = (const int64_t *)PyArray_DATA(s->indptr), *ix = (const int64_t *)PyArray_DATA(s->indices);
    if (ncols < 0 || np1 < 1 || PyArray_DIM(s->data, 0) != nnz || ip[0] != 0 || ip[np1 - 1] != nnz) {
        PyErr_Format(PyExc_ValueError, "X (CSR): expected indptr of m + 1 entries from 0 to nnz, indices and data of "
                     "nnz entries each and n_cols >= 0, got %zd indptr entries, %zd indices, %zd values, n_cols %lld",
                     (Py_ssize_t)np1, (Py_ssize_t)nnz, (Py_ssize_t)PyArray_DIM(s->data, 0), ncols);
        return -1;
    }
    for (npy_intp i = 0; i + 1 < np1; i++)
        if (ip[i + 1] < ip[i]) {
            PyErr_Format(PyExc_ValueError, "X (CSR): indptr must be non-decreasing, got %lld after %lld at row %zd",
                         (long long)ip[i + 1], (long long)ip[i], (Py_ssize_t)i);
            return -1;
        }
    for (npy_intp k = 0; k < nnz; k++)
        if (ix[k] < 0 || ix[k] >= ncols) {
            PyErr_Format(PyExc_ValueError, "X (CSR): column indices must be in [0, %lld), got %lld at position %zd",
                         ncols, (long long)ix[k], (Py_ssize_t)k);
            return -1;
        }
    s->csr.indptr = ip;
    s->csr.indices = ix;
    s->csr.data = (const double *)PyArray_DATA(s->data);
    *m = np1 - 1;
    *p = (npy_intp)ncols;
    return 0;
}

/* Softmax: the number of classes K = c (an integer in [2, 1e6]) and labels y_i in
 * {0, ..., K-1}; 0, or -1 with ValueError naming the argument. */
static int softmax_classes(double c, const double *yv, npy_intp ylen, size_t *K)
{
    if (!(c >= 2 && c <= 1e6 && c == floor(c))) {
        PyErr_Format(PyExc_ValueError, "Softmax: the number of classes (ObjectiveSpec.c) must be an integer in "
                     "[2, 1e6], got %g", c);
        return -1;
    }
    *K = (size_t)c;
    for (npy_intp i = 0; i < ylen; i++)
        if (!(yv[i] >= 0 && yv[i] < c && yv[i] == floor(yv[i]))) {
            PyErr_Format(PyExc_ValueError, "y: Softmax labels must be integers in [0, %zu), got %g at index %zd", *K,
                         yv[i], (Py_ssize_t)i);
            return -1;
        }
    return 0;
}

/* The spec's w: None (*w = NULL) or a float64 vector of m row weights (a new reference);
 * 0, or -1 with an exception naming sample_weight. */
static int weights_arg(PyObject *spec_obj, long long kind, size_t m, PyArrayObject **w)
{
    *w = NULL;
    PyObject *wo = cqb_spec_get(spec_obj, "w");
    if (wo == NULL) return -1;
    if (wo != Py_None) {
        if (kind == CQ_OBJ_QUADRATIC)
            PyErr_SetString(PyExc_TypeError, "sample_weight: Quadratic objectives have no rows to weight");
        else
            *w = cqb_vec_arg(wo, "sample_weight", m);
    }
    int bad = wo != Py_None && *w == NULL;
    Py_DECREF(wo);
    return bad ? -1 : 0;
}

int cqb_obj_spec_parse(PyObject *spec_obj, spec *s)
{
    s->X = s->y = s->w = NULL;
    s->indptr = s->indices = s->data = NULL;
    if (cqb_spec_check(spec_obj, "ObjectiveSpec", "an objective's spec") < 0) return -1;
    long long kind, icpt, threads;
    double lam, c;
    if (cqb_spec_int(spec_obj, "ObjectiveSpec", "kind", &kind) < 0 ||
        cqb_spec_int(spec_obj, "ObjectiveSpec", "intercept", &icpt) < 0 ||
        cqb_spec_double(spec_obj, "ObjectiveSpec", "lam", &lam) < 0 ||
        cqb_spec_double(spec_obj, "ObjectiveSpec", "c", &c) < 0 ||
        cqb_spec_int(spec_obj, "ObjectiveSpec", "threads", &threads) < 0)
        return -1;
    if (kind < CQ_OBJ_QUADRATIC || kind > CQ_OBJ_SOFTMAX) {
        PyErr_Format(PyExc_ValueError, "unknown objective kind %lld (ObjectiveSpec.kind must be one of _core.OBJ_*)",
                     kind);
        return -1;
    }
    if (threads < 0 || threads > 1024) threads = threads < 0 ? 0 : 1024;
    PyObject *xo = cqb_spec_get(spec_obj, "X");
    if (xo == NULL) return -1;
    npy_intp m = 0, p = 0;
    int is_csr = cqb_spec_check(xo, "CSRSpec", "X") == 0;
    PyErr_Clear();
    if (is_csr && kind == CQ_OBJ_QUADRATIC) {
        PyErr_SetString(PyExc_TypeError, "X: a sparse (CSR) X is not implemented for Quadratic");
        Py_DECREF(xo);
        return -1;
    }
    if (is_csr) {
        int bad = csr_arg(xo, s, &m, &p);
        Py_DECREF(xo);
        if (bad) {
            cqb_obj_spec_release(s);
            return -1;
        }
    } else {
        s->X = cqb_double_array(xo, "X", 2, 2);
        Py_DECREF(xo);
        if (s->X == NULL) return -1;
        m = PyArray_DIM(s->X, 0);
        p = PyArray_DIM(s->X, 1);
    }
    PyObject *yo = cqb_spec_get(spec_obj, "y");
    if (yo == NULL) {
        cqb_obj_spec_release(s);
        return -1;
    }
    s->y = cqb_double_array(yo, "y", 1, 1);
    Py_DECREF(yo);
    if (s->y == NULL) {
        cqb_obj_spec_release(s);
        return -1;
    }
    npy_intp ylen = PyArray_DIM(s->y, 0);
    if ((kind == CQ_OBJ_QUADRATIC && (m != p || ylen != p)) || (kind != CQ_OBJ_QUADRATIC && ylen != m)) {
        PyErr_Format(PyExc_ValueError, "objective data shapes do not match: X %zd x %zd, y %zd", (Py_ssize_t)m,
                     (Py_ssize_t)p, (Py_ssize_t)ylen);
        cqb_obj_spec_release(s);
        return -1;
    }
    /* Softmax: c holds the number of classes K, and every label must index a class (the
     * kernels index with it); w: None or one weight per row (values are checked in Python) */
    size_t n_classes = 0;
    if ((kind == CQ_OBJ_SOFTMAX && softmax_classes(c, (const double *)PyArray_DATA(s->y), ylen, &n_classes) < 0) ||
        weights_arg(spec_obj, kind, (size_t)m, &s->w) < 0) {
        cqb_obj_spec_release(s);
        return -1;
    }
    s->o.kind = (int)kind;
    s->o.w = s->w ? (const double *)PyArray_DATA(s->w) : NULL;
    s->o.n_classes = n_classes;
    s->o.X = s->X ? (const double *)PyArray_DATA(s->X) : NULL;
    s->o.csr = is_csr ? &s->csr : NULL;
    s->o.y = (const double *)PyArray_DATA(s->y);
    s->o.m = (size_t)m;
    s->o.p = (size_t)p;
    s->o.intercept = icpt != 0;
    s->o.lam = lam;
    s->o.c = c;
    s->o.n_threads = cqb_threads((long)threads);
    return 0;
}

PyArrayObject *cqb_vec_arg(PyObject *obj, const char *name, size_t n)
{
    PyArrayObject *a = cqb_double_array(obj, name, 1, 1);
    if (a == NULL) return NULL;
    if ((size_t)PyArray_DIM(a, 0) != n) {
        PyErr_Format(PyExc_ValueError, "%s must have length %zu, got %zd", name, n, (Py_ssize_t)PyArray_DIM(a, 0));
        Py_DECREF(a);
        return NULL;
    }
    return a;
}

/* rows: None or an int64 vector */
static int rows_arg(PyObject *obj, PyArrayObject **out)
{
    *out = NULL;
    if (obj == Py_None) return 0;
    *out = cqb_int64_array(obj, "rows", 1, 1);
    return *out == NULL ? -1 : 0;
}

/* the kernels, run through cqb_call (GIL released, Ctrl-C polled) */
typedef struct value_grad_args {
    const cq_obj *o;
    const int64_t *rows;
    size_t n_rows;
    const double *theta;
    double f;
    double *g;            /* NULL: value only */
} value_grad_args;

CQB_RUNNER(run_value_grad, value_grad_args)
{
    return cq_obj_value_grad(a->o, a->rows, a->n_rows, a->theta, &a->f, a->g, NULL, it, err);
}

typedef struct hessp_args {
    const cq_obj *o;
    const int64_t *rows;
    size_t n_rows;
    const double *theta, *v;
    double *out;
} hessp_args;

CQB_RUNNER(run_hessp, hessp_args)
{
    return cq_obj_hessp(a->o, a->rows, a->n_rows, a->theta, a->v, a->out, it, err);
}

typedef struct matvec_args {
    const cq_obj *o;
    const double *d;
    double *out;
} matvec_args;

CQB_RUNNER(run_matvec, matvec_args)
{
    return cq_obj_matvec(a->o, a->d, a->out, it);
}

/* _obj_value_grad(spec, theta, rows, want_grad) -> (f, grad or None) */
static PyObject *py_obj_value_grad(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *so, *to, *ro;
    int want_grad;
    if (!PyArg_ParseTuple(args, "OOOp", &so, &to, &ro, &want_grad)) return NULL;
    spec s;
    if (cqb_obj_spec_parse(so, &s) < 0) return NULL;
    PyObject *result = NULL;
    PyArrayObject *th = NULL, *rows = NULL, *g = NULL;
    size_t dim = cq_obj_dim(&s.o);
    th = cqb_vec_arg(to, "theta", dim);
    if (th == NULL || rows_arg(ro, &rows) < 0) goto out;
    if (want_grad) {
        npy_intp dims[1] = {(npy_intp)dim};
        g = (PyArrayObject *)PyArray_SimpleNew(1, dims, NPY_DOUBLE);
        if (g == NULL) goto out;
    }
    value_grad_args a = {&s.o, rows ? (const int64_t *)PyArray_DATA(rows) : NULL,
                         rows ? (size_t)PyArray_DIM(rows, 0) : 0, (const double *)PyArray_DATA(th), 0.0,
                         g ? (double *)PyArray_DATA(g) : NULL};
    if (cqb_call(run_value_grad, &a, NULL) < 0) goto out;
    result = Py_BuildValue("dO", a.f, g ? (PyObject *)g : Py_None);
out:
    Py_XDECREF(th);
    Py_XDECREF(rows);
    Py_XDECREF(g);
    cqb_obj_spec_release(&s);
    return result;
}

/* _obj_hessp(spec, theta, v, rows) -> H v */
static PyObject *py_obj_hessp(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *so, *to, *vo, *ro;
    if (!PyArg_ParseTuple(args, "OOOO", &so, &to, &vo, &ro)) return NULL;
    spec s;
    if (cqb_obj_spec_parse(so, &s) < 0) return NULL;
    PyArrayObject *th = NULL, *v = NULL, *rows = NULL, *out = NULL;
    size_t dim = cq_obj_dim(&s.o);
    th = cqb_vec_arg(to, "theta", dim);
    if (th == NULL) goto fail;
    v = cqb_vec_arg(vo, "v", dim);
    if (v == NULL || rows_arg(ro, &rows) < 0) goto fail;
    npy_intp dims[1] = {(npy_intp)dim};
    out = (PyArrayObject *)PyArray_SimpleNew(1, dims, NPY_DOUBLE);
    if (out == NULL) goto fail;
    hessp_args a = {&s.o, rows ? (const int64_t *)PyArray_DATA(rows) : NULL,
                    rows ? (size_t)PyArray_DIM(rows, 0) : 0, (const double *)PyArray_DATA(th),
                    (const double *)PyArray_DATA(v), (double *)PyArray_DATA(out)};
    if (cqb_call(run_hessp, &a, NULL) < 0) goto fail;
    Py_DECREF(th);
    Py_DECREF(v);
    Py_XDECREF(rows);
    cqb_obj_spec_release(&s);
    return (PyObject *)out;
fail:
    Py_XDECREF(th);
    Py_XDECREF(v);
    Py_XDECREF(rows);
    Py_XDECREF(out);
    cqb_obj_spec_release(&s);
    return NULL;
}

/* The arguments (spec, vector of dim entries) of _obj_matvec and _obj_hess_diag: 0 with
 * *s parsed and *vec set, or -1 with an exception set and nothing held. */
static int spec_and_vec(PyObject *args, spec *s, const char *name, PyArrayObject **vec)
{
    PyObject *so, *vo;
    if (!PyArg_ParseTuple(args, "OO", &so, &vo) || cqb_obj_spec_parse(so, s) < 0) return -1;
    *vec = cqb_vec_arg(vo, name, cq_obj_dim(&s->o));
    if (*vec == NULL) {
        cqb_obj_spec_release(s);
        return -1;
    }
    return 0;
}

/* _obj_matvec(spec, d) -> X d (+ d0) */
static PyObject *py_obj_matvec(PyObject *self, PyObject *args)
{
    (void)self;
    spec s;
    PyArrayObject *d;
    if (spec_and_vec(args, &s, "d", &d) < 0) return NULL;
    npy_intp dims[1] = {(npy_intp)cq_obj_zlen(&s.o)};
    PyArrayObject *out = (PyArrayObject *)PyArray_SimpleNew(1, dims, NPY_DOUBLE);
    if (out != NULL) {
        matvec_args a = {&s.o, (const double *)PyArray_DATA(d), (double *)PyArray_DATA(out)};
        if (cqb_call(run_matvec, &a, NULL) < 0) Py_CLEAR(out);
    }
    Py_DECREF(d);
    cqb_obj_spec_release(&s);
    return (PyObject *)out;
}

typedef struct hess_diag_args {
    const cq_obj *o;
    const double *theta;
    double *z, *out;
} hess_diag_args;

static int run_hess_diag(void *va, bitgen_t *bg, cq_interrupt *it, cq_errinfo *err)
{
    (void)bg;
    hess_diag_args *a = (hess_diag_args *)va;
    int st = cq_obj_matvec(a->o, a->theta, a->z, it);
    return st != CQ_OK ? st : cq_obj_hess_diag(a->o, a->theta, a->z, a->out, err);
}

/* _obj_hess_diag(spec, theta) -> the diagonal of H(theta) (Newton-CG's preconditioner) */
static PyObject *py_obj_hess_diag(PyObject *self, PyObject *args)
{
    (void)self;
    spec s;
    PyArrayObject *th, *out = NULL;
    if (spec_and_vec(args, &s, "theta", &th) < 0) return NULL;
    double *z = (double *)PyMem_RawMalloc((cq_obj_zlen(&s.o) + 1) * sizeof(double));
    npy_intp dims[1] = {(npy_intp)cq_obj_dim(&s.o)};
    if (z == NULL) PyErr_NoMemory();
    if (z != NULL) out = (PyArrayObject *)PyArray_SimpleNew(1, dims, NPY_DOUBLE);
    if (out != NULL) {
        hess_diag_args a = {&s.o, (const double *)PyArray_DATA(th), z, (double *)PyArray_DATA(out)};
        if (cqb_call(run_hess_diag, &a, NULL) < 0) Py_CLEAR(out);
    }
    PyMem_RawFree(z);
    Py_DECREF(th);
    cqb_obj_spec_release(&s);
    return (PyObject *)out;
}

/* The objective kinds OBJ_<NAME> (enum cq_obj_kind of cq_objectives.h), for convq._spec and the
 * twins. Called from module.c. */
static const cqb_int_constant objectives_constants[] = {
    {"OBJ_QUADRATIC", CQ_OBJ_QUADRATIC},
    {"OBJ_LEASTSQ", CQ_OBJ_LEASTSQ},
    {"OBJ_LOGISTIC", CQ_OBJ_LOGISTIC},
    {"OBJ_HINGE", CQ_OBJ_HINGE},
    {"OBJ_LASSO", CQ_OBJ_LASSO},
    {"OBJ_HUBER_HINGE", CQ_OBJ_HUBER_HINGE},
    {"OBJ_SOFTMAX", CQ_OBJ_SOFTMAX},
};
CQB_INT_CONSTANTS(cqb_objectives_constants, objectives_constants)

PyMethodDef cqb_objectives_methods[] = {
    CQB_METHOD(_obj_value_grad, "_obj_value_grad(spec, theta, rows, want_grad) -> (f, grad|None): one fused pass."),
    CQB_METHOD(_obj_hessp, "_obj_hessp(spec, theta, v, rows) -> H(theta) v."),
    CQB_METHOD(_obj_matvec, "_obj_matvec(spec, d) -> X d (+ d0)."),
    CQB_METHOD(_obj_hess_diag, "_obj_hess_diag(spec, theta) -> diag H(theta) (the Newton-CG preconditioner)."),
    CQB_METHODS_END,
};
