/*
 * _rng.c -- bindings for convq._rng: the RNG bridge (uniform, normal, exponential and
 * bounded-integer draws from a numpy BitGenerator, parallel streams) and the thread count.
 */
#include "bind.h"
#include "core/cq_parallel.h"
#include "core/cq_rng.h"


/* ---- RNG ------------------------------------------------------------------------ */

enum { DRAW_UNIFORM, DRAW_NORMAL, DRAW_EXPONENTIAL, DRAW_BOUNDED };

typedef struct draw_args {
    int kind;
    size_t n;
    uint64_t bound; /* DRAW_BOUNDED only */
    void *out;
} draw_args;

/* n draws of one law into `out`, in the order numpy.random.Generator draws them. */
CQB_RUNNER(run_draw, draw_args)
{
    double *o = (double *)a->out;
    switch (a->kind) {
    case DRAW_UNIFORM: cq_rng_uniform_fill(bg, a->n, o); break;
    case DRAW_NORMAL: cq_rng_normal_fill(bg, a->n, o); break;
    case DRAW_EXPONENTIAL:
        for (size_t i = 0; i < a->n; i++) o[i] = cq_rng_exponential(bg);
        break;
    default: {
        uint64_t *u = (uint64_t *)a->out;
        for (size_t i = 0; i < a->n; i++) u[i] = cq_rng_bounded(bg, a->bound);
        break;
    }
    }
    return CQ_OK;
}

static PyObject *draw_into(PyObject *gen, draw_args *a, Py_ssize_t n, int typenum)
{
    npy_intp dims[1] = {n};
    PyArrayObject *out = (PyArrayObject *)PyArray_SimpleNew(1, dims, typenum);
    if (out == NULL) return NULL;
    a->n = (size_t)n;
    a->out = PyArray_DATA(out);
    if (cqb_call(run_draw, a, gen) < 0) {
        Py_DECREF(out);
        return NULL;
    }
    return (PyObject *)out;
}

static PyObject *draw(PyObject *args, int kind)
{
    PyObject *gen;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "On", &gen, &n)) return NULL;
    if (n < 0) return PyErr_Format(PyExc_ValueError, "n must be >= 0, got %zd", n);
    draw_args a = {kind, 0, 0, NULL};
    return draw_into(gen, &a, n, NPY_DOUBLE);
}

CQB_VARIANT(py_rng_uniform, draw, DRAW_UNIFORM)
CQB_VARIANT(py_rng_normal, draw, DRAW_NORMAL)
CQB_VARIANT(py_rng_exponential, draw, DRAW_EXPONENTIAL)

static PyObject *py_rng_bounded(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *gen;
    unsigned long long bound;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "OKn", &gen, &bound, &n)) return NULL;
    if (n < 0 || bound == 0) return PyErr_Format(PyExc_ValueError, "need n >= 0 and bound >= 1");
    draw_args a = {DRAW_BOUNDED, 0, (uint64_t)bound, NULL};
    return draw_into(gen, &a, n, NPY_UINT64);
}

typedef struct streams_args {
    bitgen_t **bgs;
    double *out;
    size_t n;
    int threads;
} streams_args;

static int fill_stream(void *ctx, size_t task, int thread)
{
    (void)thread;
    streams_args *c = (streams_args *)ctx;
    cq_rng_uniform_fill(c->bgs[task], c->n, c->out + task * c->n);
    return CQ_OK;
}

CQB_RUNNER_STREAMS(run_streams, streams_args)
{
    a->bgs = bgs;
    return cq_parallel_for(n_streams, a->threads, fill_stream, a, it);
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
    Py_ssize_t m = PySequence_Size(seq);
    if (m < 0) return NULL;
    npy_intp dims[2] = {m, n};
    PyArrayObject *out = (PyArrayObject *)PyArray_SimpleNew(2, dims, NPY_DOUBLE);
    if (out == NULL) return NULL;
    streams_args a = {NULL, (double *)PyArray_DATA(out), (size_t)n, cqb_threads(threads)};
    if (cqb_call_streams(run_streams, &a, seq) < 0) {
        Py_DECREF(out);
        return NULL;
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
    CQB_METHOD(_rng_uniform, "_rng_uniform(gen, n): n U[0,1) draws (== Generator.random(n))."),
    CQB_METHOD(_rng_normal, "_rng_normal(gen, n): n standard normals (polar method)."),
    CQB_METHOD(_rng_exponential, "_rng_exponential(gen, n): n standard exponentials."),
    CQB_METHOD(_rng_bounded, "_rng_bounded(gen, bound, n): n uniform integers in [0, bound) (Lemire)."),
    CQB_METHOD(_rng_uniform_streams,
               "_rng_uniform_streams(gens, n, threads): one row of n uniforms per generator, in parallel."),
    {"num_threads", py_num_threads, METH_VARARGS, "num_threads(n=0): threads used for n (0 = all cores)."},
    CQB_METHODS_END,
};
