/*
 * bind_objectives.c -- bindings of the objective kernels (cq_objectives.h) and of the
 * C optimisation loop (cq_optimize.h). Private entry points used by convq.objectives
 * and convq.optimize; every objective is described by its `_c_args` tuple
 *     (kind, X, y, intercept, lam, c, threads)
 * (see cq_obj in cq_objectives.h for the meaning of each field). Semantic validation
 * lives in the Python layer; this layer re-checks only what memory safety needs.
 */
#include "bind.h"
#include "optimize/cq_objectives.h"
#include "optimize/cq_optimize.h"
#include "_objectives.h"

typedef cqb_obj_spec spec;

void cqb_obj_spec_release(spec *s)
{
    Py_XDECREF(s->X);
    Py_XDECREF(s->y);
    s->X = s->y = NULL;
}

int cqb_obj_spec_parse(PyObject *tup, spec *s)
{
    PyObject *xo, *yo;
    int kind, icpt, threads;
    double lam, c;
    s->X = s->y = NULL;
    if (!PyTuple_Check(tup)) {
        PyErr_SetString(PyExc_TypeError, "objective spec must be a tuple");
        return -1;
    }
    if (!PyArg_ParseTuple(tup, "iOOiddi", &kind, &xo, &yo, &icpt, &lam, &c, &threads)) return -1;
    if (kind < CQ_OBJ_QUADRATIC || kind > CQ_OBJ_LASSO) {
        PyErr_Format(PyExc_ValueError, "unknown objective kind %d", kind);
        return -1;
    }
    s->X = cqb_double_array(xo, "X", 2, 2);
    if (s->X == NULL) return -1;
    s->y = cqb_double_array(yo, "y", 1, 1);
    if (s->y == NULL) {
        cqb_obj_spec_release(s);
        return -1;
    }
    npy_intp m = PyArray_DIM(s->X, 0), p = PyArray_DIM(s->X, 1);
    npy_intp ylen = PyArray_DIM(s->y, 0);
    if ((kind == CQ_OBJ_QUADRATIC && (m != p || ylen != p)) || (kind != CQ_OBJ_QUADRATIC && ylen != m)) {
        PyErr_Format(PyExc_ValueError, "objective data shapes do not match: X %zd x %zd, y %zd", (Py_ssize_t)m,
                     (Py_ssize_t)p, (Py_ssize_t)ylen);
        cqb_obj_spec_release(s);
        return -1;
    }
    s->o.kind = kind;
    s->o.X = (const double *)PyArray_DATA(s->X);
    s->o.y = (const double *)PyArray_DATA(s->y);
    s->o.m = (size_t)m;
    s->o.p = (size_t)p;
    s->o.intercept = icpt != 0;
    s->o.lam = lam;
    s->o.c = c;
    s->o.n_threads = cqb_threads(threads);
    return 0;
}

static PyArrayObject *vec_arg(PyObject *obj, const char *name, size_t n)
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
    th = vec_arg(to, "theta", dim);
    if (th == NULL || rows_arg(ro, &rows) < 0) goto out;
    if (want_grad) {
        npy_intp dims[1] = {(npy_intp)dim};
        g = (PyArrayObject *)PyArray_SimpleNew(1, dims, NPY_DOUBLE);
        if (g == NULL) goto out;
    }
    double f = 0.0;
    cq_errinfo err = {{0}};
    cqb_nogil gil;
    cqb_nogil_begin(&gil);
    int st = cq_obj_value_grad(&s.o, rows ? (const int64_t *)PyArray_DATA(rows) : NULL,
                               rows ? (size_t)PyArray_DIM(rows, 0) : 0, (const double *)PyArray_DATA(th), &f,
                               g ? (double *)PyArray_DATA(g) : NULL, NULL, &gil.it, &err);
    cqb_nogil_end(&gil);
    if (st != CQ_OK) {
        cqb_raise(st, &err);
        goto out;
    }
    result = Py_BuildValue("dO", f, g ? (PyObject *)g : Py_None);
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
    th = vec_arg(to, "theta", dim);
    if (th == NULL) goto fail;
    v = vec_arg(vo, "v", dim);
    if (v == NULL || rows_arg(ro, &rows) < 0) goto fail;
    npy_intp dims[1] = {(npy_intp)dim};
    out = (PyArrayObject *)PyArray_SimpleNew(1, dims, NPY_DOUBLE);
    if (out == NULL) goto fail;
    cq_errinfo err = {{0}};
    cqb_nogil gil;
    cqb_nogil_begin(&gil);
    int st = cq_obj_hessp(&s.o, rows ? (const int64_t *)PyArray_DATA(rows) : NULL,
                          rows ? (size_t)PyArray_DIM(rows, 0) : 0, (const double *)PyArray_DATA(th),
                          (const double *)PyArray_DATA(v), (double *)PyArray_DATA(out), &gil.it, &err);
    cqb_nogil_end(&gil);
    if (st != CQ_OK) {
        cqb_raise(st, &err);
        goto fail;
    }
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

/* _obj_matvec(spec, d) -> X d (+ d0) */
static PyObject *py_obj_matvec(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *so, *dobj;
    if (!PyArg_ParseTuple(args, "OO", &so, &dobj)) return NULL;
    spec s;
    if (cqb_obj_spec_parse(so, &s) < 0) return NULL;
    PyArrayObject *d = vec_arg(dobj, "d", cq_obj_dim(&s.o));
    if (d == NULL) {
        cqb_obj_spec_release(&s);
        return NULL;
    }
    npy_intp dims[1] = {(npy_intp)cq_obj_zlen(&s.o)};
    PyArrayObject *out = (PyArrayObject *)PyArray_SimpleNew(1, dims, NPY_DOUBLE);
    int st = CQ_ENOMEM;
    if (out != NULL) {
        cqb_nogil gil;
        cqb_nogil_begin(&gil);
        st = cq_obj_matvec(&s.o, (const double *)PyArray_DATA(d), (double *)PyArray_DATA(out), &gil.it);
        cqb_nogil_end(&gil);
    }
    Py_DECREF(d);
    cqb_obj_spec_release(&s);
    if (st != CQ_OK) {
        Py_XDECREF(out);
        return out == NULL ? NULL : cqb_raise(st, NULL);
    }
    return (PyObject *)out;
}

/* ---- the optimisation loop -------------------------------------------------------- */

typedef struct cb_ctx {
    PyObject *fn;         /* callable(k, x, f, gnorm, t) -> truthy to stop */
    cqb_nogil *gil;
} cb_ctx;

static int py_callback(void *vctx, long k, const double *x, size_t n, double f, double gnorm, double t)
{
    cb_ctx *c = (cb_ctx *)vctx;
    PyEval_RestoreThread(c->gil->ts);
    int r = 0;
    npy_intp dims[1] = {(npy_intp)n};
    PyArrayObject *xa = (PyArrayObject *)PyArray_SimpleNew(1, dims, NPY_DOUBLE);
    if (xa == NULL) {
        r = -1;
    } else {
        memcpy(PyArray_DATA(xa), x, n * sizeof(double));
        PyObject *out = PyObject_CallFunction(c->fn, "lOddd", k, (PyObject *)xa, f, gnorm, t);
        Py_DECREF(xa);
        if (out == NULL) {
            r = -1;
        } else {
            int truth = PyObject_IsTrue(out);
            Py_DECREF(out);
            r = truth < 0 ? -1 : truth;
        }
    }
    c->gil->ts = PyEval_SaveThread();
    return r;
}

/* _minimize(spec, x0, params, callback, max_iter) -> (x, f, gnorm, nit, nfev, ngev, status,
 * trace_f, trace_g, trace_t, trace_time); params = (method, step, t, alpha, beta,
 * bb_variant, nonmonotone, memory, eta, t_min, t_max, l1, tol, ftol, restart[, c2]); c2 (the
 * L-BFGS curvature constant of the strong Wolfe conditions) defaults to 0.9 */
static PyObject *py_minimize(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *so, *xo, *po, *cbo;
    long max_iter;
    if (!PyArg_ParseTuple(args, "OOOOl", &so, &xo, &po, &cbo, &max_iter)) return NULL;
    if (max_iter < 0) return PyErr_Format(PyExc_ValueError, "max_iter must be >= 0, got %ld", max_iter);
    cq_opt_params p;
    p.c2 = 0.9;
    if (!PyTuple_Check(po)) return PyErr_Format(PyExc_TypeError, "params must be a tuple");
    if (!PyArg_ParseTuple(po, "iidddiiiddddddi|d", &p.method, &p.step, &p.t, &p.alpha, &p.beta, &p.bb_variant,
                          &p.nonmonotone, &p.memory, &p.eta, &p.t_min, &p.t_max, &p.l1, &p.tol, &p.ftol,
                          &p.restart, &p.c2))
        return NULL;
    if (p.method == CQ_OPT_LBFGS && (p.memory < 1 || !(p.alpha > 0.0 && p.alpha < p.c2 && p.c2 < 1.0)))
        return PyErr_Format(PyExc_ValueError, "L-BFGS needs memory >= 1 and 0 < c1 < c2 < 1, got memory=%d, "
                            "c1=%g, c2=%g", p.memory, p.alpha, p.c2);
    p.max_iter = max_iter;
    if (p.memory < 0 || p.memory > 100000) return PyErr_Format(PyExc_ValueError, "memory out of range");
    spec s;
    if (cqb_obj_spec_parse(so, &s) < 0) return NULL;
    size_t dim = cq_obj_dim(&s.o);
    PyArrayObject *x0 = vec_arg(xo, "x0", dim);
    if (x0 == NULL) {
        cqb_obj_spec_release(&s);
        return NULL;
    }
    npy_intp dims[1] = {(npy_intp)dim};
    PyArrayObject *x = (PyArrayObject *)PyArray_SimpleNew(1, dims, NPY_DOUBLE);
    PyArrayObject *tf = NULL, *tg = NULL, *tt = NULL, *ttime = NULL;
    cq_opt_trace trace = {NULL, NULL, NULL, NULL, 0};
    PyObject *result = NULL;
    if (x == NULL) goto out;
    memcpy(PyArray_DATA(x), PyArray_DATA(x0), dim * sizeof(double));
    cq_errinfo err = {{0}};
    cq_opt_result res = {0, 0, 0, 0, 0.0, 0.0};
    cqb_nogil gil;
    cb_ctx cc = {cbo, &gil};
    cqb_nogil_begin(&gil);
    int st = cq_optimize(&s.o, &p, (double *)PyArray_DATA(x), &trace, cbo == Py_None ? NULL : py_callback, &cc,
                         &res, &gil.it, &err);
    cqb_nogil_end(&gil);
    if (st != CQ_OK) {
        cqb_raise(st, &err);
        goto out;
    }
    /* the trace of iterates 0..nit, copied out of the grown C buffers */
    npy_intp tdims[1] = {(npy_intp)res.nit + 1};
    if ((size_t)tdims[0] > trace.cap) tdims[0] = (npy_intp)trace.cap;
    PyArrayObject **outs[4] = {&tf, &tg, &tt, &ttime};
    double *srcs[4] = {trace.f, trace.g, trace.t, trace.time};
    for (int i = 0; i < 4; i++) {
        *outs[i] = (PyArrayObject *)PyArray_SimpleNew(1, tdims, NPY_DOUBLE);
        if (*outs[i] == NULL) goto out;
        if (tdims[0] > 0) memcpy(PyArray_DATA(*outs[i]), srcs[i], (size_t)tdims[0] * sizeof(double));
    }
    result = Py_BuildValue("OddllliOOOO", (PyObject *)x, res.f, res.gnorm, res.nit, res.nfev, res.ngev,
                           res.status, (PyObject *)tf, (PyObject *)tg, (PyObject *)tt, (PyObject *)ttime);
out:
    cq_opt_trace_free(&trace);
    Py_DECREF(x0);
    Py_XDECREF(x);
    Py_XDECREF(tf);
    Py_XDECREF(tg);
    Py_XDECREF(tt);
    Py_XDECREF(ttime);
    cqb_obj_spec_release(&s);
    return result;
}

PyMethodDef cqb_objectives_methods[] = {
    {"_obj_value_grad", py_obj_value_grad, METH_VARARGS,
     "_obj_value_grad(spec, theta, rows, want_grad) -> (f, grad|None): one fused pass."},
    {"_obj_hessp", py_obj_hessp, METH_VARARGS, "_obj_hessp(spec, theta, v, rows) -> H(theta) v."},
    {"_obj_matvec", py_obj_matvec, METH_VARARGS, "_obj_matvec(spec, d) -> X d (+ d0)."},
    {"_minimize", py_minimize, METH_VARARGS,
     "_minimize(spec, x0, params, callback, max_iter) -> (x, f, gnorm, nit, nfev, ngev, status, "
     "trace_f, trace_g, trace_t, trace_time)."},
    {NULL, NULL, 0, NULL},
};
