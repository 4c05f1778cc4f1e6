/* bind_stochastic.c -- bindings of the domains, the mirror step and the section-6
 * oracles (csrc/cq_domains.h, csrc/cq_oracles.h). Validation lives in convq/stochastic. */
#include "bind.h"
#include "../cq_domains.h"
#include "../cq_oracles.h"

/* Parse (kind, p, radius, lo, hi) into a cq_domain; lo/hi arrays are returned as new
 * references in lo_arr and hi_arr (or NULL) and must be released by the caller. */
static int parse_domain(int kind, double p, double radius, PyObject *lo, PyObject *hi, npy_intp d,
                        cq_domain *dom, PyArrayObject **lo_arr, PyArrayObject **hi_arr)
{
    *lo_arr = *hi_arr = NULL;
    dom->kind = (cq_domain_kind)kind;
    dom->p = p;
    dom->radius = radius;
    dom->lo = dom->hi = NULL;
    if (kind == CQ_DOM_BOX) {
        *lo_arr = cqb_double_array(lo, "lo", 1, 1);
        if (*lo_arr == NULL) return -1;
        *hi_arr = cqb_double_array(hi, "hi", 1, 1);
        if (*hi_arr == NULL) return -1;
        if (PyArray_DIM(*lo_arr, 0) != d || PyArray_DIM(*hi_arr, 0) != d) {
            PyErr_Format(PyExc_ValueError, "box bounds must have length %zd", (Py_ssize_t)d);
            return -1;
        }
        dom->lo = (const double *)PyArray_DATA(*lo_arr);
        dom->hi = (const double *)PyArray_DATA(*hi_arr);
    } else if (kind != CQ_DOM_LPBALL && kind != CQ_DOM_NONE) {
        PyErr_Format(PyExc_ValueError, "unknown domain kind %d", kind);
        return -1;
    }
    return 0;
}

/* _project(x, kind, p, radius, lo, hi) -> projection of x (a new array). */
static PyObject *py_project(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *xo, *lo, *hi;
    int kind;
    double p, radius;
    if (!PyArg_ParseTuple(args, "OiddOO", &xo, &kind, &p, &radius, &lo, &hi)) return NULL;
    PyArrayObject *x = (PyArrayObject *)PyArray_FROM_OTF(xo, NPY_DOUBLE, NPY_ARRAY_IN_ARRAY | NPY_ARRAY_ENSURECOPY);
    if (x == NULL) return NULL;
    if (PyArray_NDIM(x) != 1) {
        Py_DECREF(x);
        return PyErr_Format(PyExc_ValueError, "x must be 1-dimensional");
    }
    npy_intp d = PyArray_DIM(x, 0);
    cq_domain dom;
    PyArrayObject *la, *ha;
    if (parse_domain(kind, p, radius, lo, hi, d, &dom, &la, &ha) < 0) {
        Py_XDECREF(la);
        Py_XDECREF(ha);
        Py_DECREF(x);
        return NULL;
    }
    double *work = (double *)PyMem_RawMalloc(sizeof(double) * (size_t)(d ? d : 1));
    if (work == NULL) {
        Py_XDECREF(la);
        Py_XDECREF(ha);
        Py_DECREF(x);
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    cq_project(&dom, (double *)PyArray_DATA(x), (size_t)d, work);
    Py_END_ALLOW_THREADS
    PyMem_RawFree(work);
    Py_XDECREF(la);
    Py_XDECREF(ha);
    return (PyObject *)x;
}

/* _mirror_step(x, g, r, eta, kind, p, radius) -> the next iterate (a new array). */
static PyObject *py_mirror_step(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *xo, *go;
    double r, eta, p, radius;
    int kind;
    if (!PyArg_ParseTuple(args, "OOddidd", &xo, &go, &r, &eta, &kind, &p, &radius)) return NULL;
    PyArrayObject *x = (PyArrayObject *)PyArray_FROM_OTF(xo, NPY_DOUBLE, NPY_ARRAY_IN_ARRAY | NPY_ARRAY_ENSURECOPY);
    if (x == NULL) return NULL;
    PyArrayObject *g = cqb_double_array(go, "g", 1, 1);
    if (g == NULL) {
        Py_DECREF(x);
        return NULL;
    }
    npy_intp d = PyArray_SIZE(x);
    if (PyArray_NDIM(x) != 1 || PyArray_DIM(g, 0) != d) {
        Py_DECREF(x);
        Py_DECREF(g);
        return PyErr_Format(PyExc_ValueError, "x and g must be vectors of the same length");
    }
    cq_domain dom = {(cq_domain_kind)kind, NULL, NULL, p, radius};
    double *work = (double *)PyMem_RawMalloc(sizeof(double) * (size_t)(d ? d : 1));
    if (work == NULL) {
        Py_DECREF(x);
        Py_DECREF(g);
        return PyErr_NoMemory();
    }
    cq_errinfo err;
    err.msg[0] = 0;
    int st;
    Py_BEGIN_ALLOW_THREADS
    st = cq_mirror_step((double *)PyArray_DATA(x), (const double *)PyArray_DATA(g), (size_t)d, r, eta,
                        kind == CQ_DOM_NONE ? NULL : &dom, work, &err);
    Py_END_ALLOW_THREADS
    PyMem_RawFree(work);
    Py_DECREF(g);
    if (st != CQ_OK) {
        Py_DECREF(x);
        return cqb_raise(st, &err);
    }
    return (PyObject *)x;
}

/* _oracle_sample(kind, alpha, scale, delta, gen, n) -> (n, d) oracle outputs;
 * kind 0 = Bernoulli product (scale = B / d^(1/q)), 1 = Paninski (scale = B). */
static PyObject *py_oracle_sample(PyObject *self, PyObject *args)
{
    (void)self;
    int kind;
    PyObject *ao, *gen;
    double scale, delta;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "iOddOn", &kind, &ao, &scale, &delta, &gen, &n)) return NULL;
    if (n < 0 || (kind != 0 && kind != 1)) return PyErr_Format(PyExc_ValueError, "bad oracle arguments");
    PyArrayObject *a = cqb_double_array(ao, "alpha", 1, 1);
    if (a == NULL) return NULL;
    npy_intp d = PyArray_DIM(a, 0);
    npy_intp dims[2] = {n, d};
    PyArrayObject *out = (PyArrayObject *)PyArray_SimpleNew(2, dims, NPY_DOUBLE);
    if (out == NULL) {
        Py_DECREF(a);
        return NULL;
    }
    cqb_bitgen b;
    if (cqb_bitgen_acquire(gen, &b) < 0) {
        Py_DECREF(a);
        Py_DECREF(out);
        return NULL;
    }
    const double *alpha = (const double *)PyArray_DATA(a);
    double *o = (double *)PyArray_DATA(out);
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t t = 0; t < n; t++) {
        if (kind == 0) cq_oracle_bernoulli(alpha, (size_t)d, scale, delta, b.bg, o + t * d);
        else cq_oracle_paninski(alpha, (size_t)d, scale, delta, b.bg, o + t * d);
    }
    Py_END_ALLOW_THREADS
    cqb_bitgen_release(&b);
    Py_DECREF(a);
    return (PyObject *)out;
}

PyMethodDef cqb_stochastic_methods[] = {
    {"_project", py_project, METH_VARARGS, "_project(x, kind, p, radius, lo, hi): Euclidean projection."},
    {"_mirror_step", py_mirror_step, METH_VARARGS, "_mirror_step(x, g, r, eta, kind, p, radius): mirror descent step."},
    {"_oracle_sample", py_oracle_sample, METH_VARARGS, "_oracle_sample(kind, alpha, scale, delta, gen, n): section-6 oracle draws."},
    {NULL, NULL, 0, NULL},
};
