/*
 * _rng.c -- bindings for convq._rng: the RNG bridge (uniform, normal, exponential and
 * bounded-integer draws from a numpy BitGenerator, parallel streams) and the thread count.
 */
#include "bind.h"
#include "core/cq_parallel.h"
#include "core/cq_rng.h"


/* ---- RNG ------------------------------------------------------------------------ */

enum { DRAW_UNIFORM, DRAW_NORMAL, DRAW_EXPONENTIAL };

static PyObject *draw(PyObject *args, int kind)
{
    PyObject *gen;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "On", &gen, &n)) return NULL;
    if (n < 0) return PyErr_Format(PyExc_ValueError, "n must be >= 0, got %zd", n);
    npy_intp dims[1] = {n};
    PyArrayObject *out = (PyArrayObject *)PyArray_SimpleNew(1, dims, NPY_DOUBLE);
    if (out == NULL) return NULL;
    cqb_bitgen b;
    if (cqb_bitgen_acquire(gen, &b) < 0) {
        Py_DECREF(out);
        return NULL;
    }
    double *o = (double *)PyArray_DATA(out);
    Py_BEGIN_ALLOW_THREADS
    switch (kind) {
    case DRAW_UNIFORM: cq_rng_uniform_fill(b.bg, (size_t)n, o); break;
    case DRAW_NORMAL: cq_rng_normal_fill(b.bg, (size_t)n, o); break;
    default:
        for (Py_ssize_t i = 0; i < n; i++) o[i] = cq_rng_exponential(b.bg);
        break;
    }
    Py_END_ALLOW_THREADS
    cqb_bitgen_release(&b);
    return (PyObject *)out;
}

static PyObject *py_rng_uniform(PyObject *self, PyObject *args) { (void)self; return draw(args, DRAW_UNIFORM); }
static PyObject *py_rng_normal(PyObject *self, PyObject *args) { (void)self; return draw(args, DRAW_NORMAL); }
static PyObject *py_rng_exponential(PyObject *self, PyObject *args) { (void)self; return draw(args, DRAW_EXPONENTIAL); }

static PyObject *py_rng_bounded(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *gen;
    unsigned long long bound;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "OKn", &gen, &bound, &n)) return NULL;
    if (n < 0 || bound == 0) return PyErr_Format(PyExc_ValueError, "need n >= 0 and bound >= 1");
    npy_intp dims[1] = {n};
    PyArrayObject *out = (PyArrayObject *)PyArray_SimpleNew(1, dims, NPY_UINT64);
    if (out == NULL) return NULL;
    cqb_bitgen b;
    if (cqb_bitgen_acquire(gen, &b) < 0) {
        Py_DECREF(out);
        return NULL;
    }
    uint64_t *o = (uint64_t *)PyArray_DATA(out);
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) o[i] = cq_rng_bounded(b.bg, (uint64_t)bound);
    Py_END_ALLOW_THREADS
    cqb_bitgen_release(&b);
    return (PyObject *)out;
}

typedef struct streams_ctx {
    cqb_bitgen *bs;
    double *out;
    size_t n;
} streams_ctx;

static int fill_stream(void *ctx, size_t task, int thread)
{
    (void)thread;
    streams_ctx *c = (streams_ctx *)ctx;
    cq_rng_uniform_fill(c->bs[task].bg, c->n, c->out + task * c->n);
    return CQ_OK;
}

/* _rng_uniform_streams(generators, n, threads) -> (len(generators), n) uniforms, one
 * row per independent stream, filled in parallel. */
static PyObject *py_rng_uniform_streams(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *seq;
    Py_ssize_t n;
    long threads;
    if (!PyArg_ParseTuple(args, "Onl", &seq, &n, &threads)) return NULL;
    if (n < 0) return PyErr_Format(PyExc_ValueError, "n must be >= 0, got %zd", n);
    Py_ssize_t m;
    cqb_bitgen *bs = cqb_bitgen_acquire_seq(seq, &m);
    if (bs == NULL) return NULL;
    npy_intp dims[2] = {m, n};
    PyArrayObject *out = (PyArrayObject *)PyArray_SimpleNew(2, dims, NPY_DOUBLE);
    if (out == NULL) {
        cqb_bitgen_release_seq(bs, m);
        return NULL;
    }
    streams_ctx c = {bs, (double *)PyArray_DATA(out), (size_t)n};
    int nt = cqb_threads(threads);
    cqb_nogil g;
    cqb_nogil_begin(&g);
    int st = cq_parallel_for((size_t)m, nt, fill_stream, &c, &g.it);
    cqb_nogil_end(&g);
    cqb_bitgen_release_seq(bs, m);
    if (st != CQ_OK) {
        Py_DECREF(out);
        return cqb_raise(st, NULL);
    }
    return (PyObject *)out;
}

static PyObject *py_num_threads(PyObject *self, PyObject *args)
{
    (void)self;
    long n = 0;
    if (!PyArg_ParseTuple(args, "|l", &n)) return NULL;
    return PyLong_FromLong(cqb_threads(n));
}

PyMethodDef cqb_rng_methods[] = {
    {"_rng_uniform", py_rng_uniform, METH_VARARGS, "_rng_uniform(gen, n): n U[0,1) draws (== Generator.random(n))."},
    {"_rng_normal", py_rng_normal, METH_VARARGS, "_rng_normal(gen, n): n standard normals (polar method)."},
    {"_rng_exponential", py_rng_exponential, METH_VARARGS, "_rng_exponential(gen, n): n standard exponentials."},
    {"_rng_bounded", py_rng_bounded, METH_VARARGS, "_rng_bounded(gen, bound, n): n uniform integers in [0, bound) (Lemire)."},
    {"_rng_uniform_streams", py_rng_uniform_streams, METH_VARARGS,
     "_rng_uniform_streams(gens, n, threads): one row of n uniforms per generator, in parallel."},
    {"num_threads", py_num_threads, METH_VARARGS, "num_threads(n=0): threads used for n (0 = all cores)."},
    {NULL, NULL, 0, NULL},
};
