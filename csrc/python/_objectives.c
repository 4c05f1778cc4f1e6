/*
 * _objectives.c -- bindings of convq.objectives: the objective kernels (cq_objectives.h).
 * Private entry points; every objective is described by its named spec
 *     convq._spec.ObjectiveSpec(kind, X, y, intercept, lam, c, threads),
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
    s->X = s->y = NULL;
}

int cqb_obj_spec_parse(PyObject *spec_obj, spec *s)
{
    s->X = s->y = NULL;
    if (cqb_spec_check(spec_obj, "ObjectiveSpec", "an objective's spec") < 0) return -1;
    long long kind, icpt, threads;
    double lam, c;
    if (cqb_spec_int(spec_obj, "ObjectiveSpec", "kind", &kind) < 0 ||
        cqb_spec_int(spec_obj, "ObjectiveSpec", "intercept", &icpt) < 0 ||
        cqb_spec_double(spec_obj, "ObjectiveSpec", "lam", &lam) < 0 ||
        cqb_spec_double(spec_obj, "ObjectiveSpec", "c", &c) < 0 ||
        cqb_spec_int(spec_obj, "ObjectiveSpec", "threads", &threads) < 0)
        return -1;
    if (kind < CQ_OBJ_QUADRATIC || kind > CQ_OBJ_HUBER_HINGE) {
        PyErr_Format(PyExc_ValueError, "unknown objective kind %lld (ObjectiveSpec.kind must be one of _core.OBJ_*)",
                     kind);
        return -1;
    }
    if (threads < 0 || threads > 1024) threads = threads < 0 ? 0 : 1024;
    PyObject *xo = cqb_spec_get(spec_obj, "X");
    if (xo == NULL) return -1;
    s->X = cqb_double_array(xo, "X", 2, 2);
    Py_DECREF(xo);
    if (s->X == NULL) return -1;
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
    npy_intp m = PyArray_DIM(s->X, 0), p = PyArray_DIM(s->X, 1);
    npy_intp ylen = PyArray_DIM(s->y, 0);
    if ((kind == CQ_OBJ_QUADRATIC && (m != p || ylen != p)) || (kind != CQ_OBJ_QUADRATIC && ylen != m)) {
        PyErr_Format(PyExc_ValueError, "objective data shapes do not match: X %zd x %zd, y %zd", (Py_ssize_t)m,
                     (Py_ssize_t)p, (Py_ssize_t)ylen);
        cqb_obj_spec_release(s);
        return -1;
    }
    s->o.kind = (int)kind;
    s->o.X = (const double *)PyArray_DATA(s->X);
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

/* _obj_matvec(spec, d) -> X d (+ d0) */
static PyObject *py_obj_matvec(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *so, *dobj;
    if (!PyArg_ParseTuple(args, "OO", &so, &dobj)) return NULL;
    spec s;
    if (cqb_obj_spec_parse(so, &s) < 0) return NULL;
    PyArrayObject *d = cqb_vec_arg(dobj, "d", cq_obj_dim(&s.o));
    if (d == NULL) {
        cqb_obj_spec_release(&s);
        return NULL;
    }
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

int cqb_objectives_constants(PyObject *m)
{
    static const struct { const char *name; int value; } c[] = {
        {"OBJ_QUADRATIC", CQ_OBJ_QUADRATIC},
        {"OBJ_LEASTSQ", CQ_OBJ_LEASTSQ},
        {"OBJ_LOGISTIC", CQ_OBJ_LOGISTIC},
        {"OBJ_HINGE", CQ_OBJ_HINGE},
        {"OBJ_LASSO", CQ_OBJ_LASSO},
        {"OBJ_HUBER_HINGE", CQ_OBJ_HUBER_HINGE},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        if (PyModule_AddIntConstant(m, c[i].name, c[i].value) < 0) return -1;
    return 0;
}

PyMethodDef cqb_objectives_methods[] = {
    {"_obj_value_grad", py_obj_value_grad, METH_VARARGS,
     "_obj_value_grad(spec, theta, rows, want_grad) -> (f, grad|None): one fused pass."},
    {"_obj_hessp", py_obj_hessp, METH_VARARGS, "_obj_hessp(spec, theta, v, rows) -> H(theta) v."},
    {"_obj_matvec", py_obj_matvec, METH_VARARGS, "_obj_matvec(spec, d) -> X d (+ d0)."},
    {NULL, NULL, 0, NULL},
};
