/* _call.c -- the binding layer's one call helper and shared conversions; see bind.h. */
#include "bind.h"
#include <string.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

static PyObject *decode_error_type(void)
{
    PyObject *mod = PyImport_ImportModule("convq._errors");
    if (mod == NULL) return NULL;
    PyObject *t = PyObject_GetAttrString(mod, "DecodeError");
    Py_DECREF(mod);
    return t;
}

PyObject *cqb_raise(int status, const cq_errinfo *err)
{
    if (PyErr_Occurred()) return NULL;
    const char *msg = (err != NULL && err->msg[0]) ? err->msg : cq_strerror(status);
    switch (status) {
    case CQ_ENOMEM:
        PyErr_NoMemory();
        break;
    case CQ_EINVAL:
    case CQ_EDOMAIN:
    case CQ_ENONFINITE:
        PyErr_SetString(PyExc_ValueError, msg);
        break;
    case CQ_EDECODE: {
        PyObject *t = decode_error_type();
        if (t != NULL) {
            PyErr_SetString(t, msg);
            Py_DECREF(t);
        }
        break;
    }
    case CQ_EINTERRUPT:
        PyErr_SetNone(PyExc_KeyboardInterrupt);
        break;
    default:
        PyErr_Format(PyExc_RuntimeError, "convq internal error (status %d): %s", status, msg);
        break;
    }
    return NULL;
}

static PyArrayObject *typed_array(PyObject *obj, int typenum, const char *name, int min_ndim,
                                  int max_ndim)
{
    PyArrayObject *probe = (PyArrayObject *)PyArray_FROM_O(obj);
    if (probe == NULL) return NULL;
    int kind = PyArray_DESCR(probe)->kind;
    if (typenum == NPY_DOUBLE && !(kind == 'f' || kind == 'i' || kind == 'u' || kind == 'b')) {
        PyErr_Format(PyExc_TypeError, "%s must be a real numeric array, got dtype %R", name,
                     (PyObject *)PyArray_DESCR(probe));
        Py_DECREF(probe);
        return NULL;
    }
    if (typenum != NPY_DOUBLE && !(kind == 'i' || kind == 'u' || kind == 'b')) {
        PyErr_Format(PyExc_TypeError, "%s must be an integer array, got dtype %R", name,
                     (PyObject *)PyArray_DESCR(probe));
        Py_DECREF(probe);
        return NULL;
    }
    int nd = PyArray_NDIM(probe);
    if (nd < min_ndim || nd > max_ndim) {
        if (min_ndim == max_ndim)
            PyErr_Format(PyExc_ValueError, "%s must be %d-dimensional, got %d dimensions", name,
                         min_ndim, nd);
        else
            PyErr_Format(PyExc_ValueError, "%s must have %d to %d dimensions, got %d", name,
                         min_ndim, max_ndim, nd);
        Py_DECREF(probe);
        return NULL;
    }
    PyArrayObject *out = (PyArrayObject *)PyArray_FromAny(
        (PyObject *)probe, PyArray_DescrFromType(typenum), 0, 0,
        NPY_ARRAY_IN_ARRAY | NPY_ARRAY_FORCECAST, NULL);
    Py_DECREF(probe);
    return out;
}

PyArrayObject *cqb_double_array(PyObject *obj, const char *name, int min_ndim, int max_ndim)
{
    return typed_array(obj, NPY_DOUBLE, name, min_ndim, max_ndim);
}

PyArrayObject *cqb_int64_array(PyObject *obj, const char *name, int min_ndim, int max_ndim)
{
    return typed_array(obj, NPY_INT64, name, min_ndim, max_ndim);
}

PyArrayObject *cqb_uint8_array(PyObject *obj, const char *name, int min_ndim, int max_ndim)
{
    if (PyBytes_Check(obj) || PyByteArray_Check(obj) || PyMemoryView_Check(obj)) {
        PyArrayObject *a = (PyArrayObject *)PyArray_FromBuffer(obj, PyArray_DescrFromType(NPY_UINT8), -1, 0);
        if (a == NULL) return NULL;
        PyArrayObject *c = (PyArrayObject *)PyArray_FromAny((PyObject *)a, PyArray_DescrFromType(NPY_UINT8),
                                                            0, 0, NPY_ARRAY_IN_ARRAY, NULL);
        Py_DECREF(a);
        return c;
    }
    return typed_array(obj, NPY_UINT8, name, min_ndim, max_ndim);
}

int cqb_bitgen_acquire(PyObject *gen, cqb_bitgen *out)
{
    out->obj = NULL;
    out->lock = NULL;
    out->bg = NULL;
    PyObject *bitgen = NULL;
    if (PyObject_HasAttrString(gen, "capsule")) {
        bitgen = gen;
        Py_INCREF(bitgen);
    } else {
        bitgen = PyObject_GetAttrString(gen, "bit_generator");
        if (bitgen == NULL) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "expected a numpy.random.Generator, got %R", (PyObject *)Py_TYPE(gen));
            return -1;
        }
    }
    PyObject *capsule = PyObject_GetAttrString(bitgen, "capsule");
    if (capsule == NULL) {
        Py_DECREF(bitgen);
        return -1;
    }
    bitgen_t *bg = (bitgen_t *)PyCapsule_GetPointer(capsule, "BitGenerator");
    Py_DECREF(capsule);
    if (bg == NULL) {
        Py_DECREF(bitgen);
        return -1;
    }
    PyObject *lock = PyObject_GetAttrString(bitgen, "lock");
    if (lock == NULL) {
        Py_DECREF(bitgen);
        return -1;
    }
    PyObject *r = PyObject_CallMethod(lock, "acquire", NULL);
    if (r == NULL) {
        Py_DECREF(lock);
        Py_DECREF(bitgen);
        return -1;
    }
    Py_DECREF(r);
    out->obj = bitgen;
    out->lock = lock;
    out->bg = bg;
    return 0;
}

void cqb_bitgen_release(cqb_bitgen *b)
{
    if (b->lock != NULL) {
        PyObject *exc_type, *exc_value, *exc_tb;
        PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
        PyObject *r = PyObject_CallMethod(b->lock, "release", NULL);
        if (r == NULL) PyErr_Clear();
        Py_XDECREF(r);
        PyErr_Restore(exc_type, exc_value, exc_tb);
        Py_DECREF(b->lock);
    }
    Py_XDECREF(b->obj);
    b->lock = NULL;
    b->obj = NULL;
    b->bg = NULL;
}

cqb_bitgen *cqb_bitgen_acquire_seq(PyObject *seq, Py_ssize_t *n)
{
    PyObject *fast = PySequence_Fast(seq, "expected a sequence of numpy Generators");
    if (fast == NULL) return NULL;
    Py_ssize_t m = PySequence_Fast_GET_SIZE(fast);
    cqb_bitgen *bs = (cqb_bitgen *)PyMem_Calloc(m > 0 ? (size_t)m : 1, sizeof(cqb_bitgen));
    if (bs == NULL) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < m; i++) {
        if (cqb_bitgen_acquire(PySequence_Fast_GET_ITEM(fast, i), &bs[i]) < 0) {
            cqb_bitgen_release_seq(bs, i);
            Py_DECREF(fast);
            return NULL;
        }
        for (Py_ssize_t j = 0; j < i; j++) {
            if (bs[j].bg == bs[i].bg) {
                PyErr_SetString(PyExc_ValueError, "the same generator was passed twice; parallel streams must be independent");
                cqb_bitgen_release_seq(bs, i + 1);
                Py_DECREF(fast);
                return NULL;
            }
        }
    }
    Py_DECREF(fast);
    *n = m;
    return bs;
}

void cqb_bitgen_release_seq(cqb_bitgen *bs, Py_ssize_t n)
{
    if (bs == NULL) return;
    for (Py_ssize_t i = 0; i < n; i++) cqb_bitgen_release(&bs[i]);
    PyMem_Free(bs);
}

/* Progress display from inside a kernel. convq._progress publishes the running call's
 * reporter -- a Python callable reporter(done, total) -- in the ContextVar
 * convq._progress.CURRENT (None when nobody asked for progress). The poller reads it once,
 * at the kernel's first poll (a short call never polls, so it never pays for the look-up),
 * and from then on calls it with the kernel's published cq_interrupt.done / .total at most
 * every CQB_PROGRESS_S seconds. The kernel's work and draws are untouched: it cannot tell
 * whether anyone is watching. An exception raised by the reporter stops the kernel (as
 * Ctrl-C does) and propagates. */
#define CQB_PROGRESS_S 0.1

typedef struct cqb_poller {
    PyThreadState *ts;   /* the saved thread state while the GIL is released, else NULL */
    cq_interrupt it;
    int looked;          /* CURRENT has been read */
    PyObject *reporter;  /* strong reference, or NULL */
    double last;         /* monotonic time of the last report (at first: of the call's start) */
} cqb_poller;

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* With the GIL held: report progress if a reporter is set and it is time. -1 with an
 * exception set when the look-up or the reporter failed. */
static int progress_poll(cqb_poller *g)
{
    if (!g->looked) {
        g->looked = 1;
        PyObject *mod = PyImport_ImportModule("convq._progress");
        if (mod == NULL) return -1;
        PyObject *var = PyObject_GetAttrString(mod, "CURRENT");
        Py_DECREF(mod);
        if (var == NULL) return -1;
        PyObject *val = NULL;
        int rc = PyContextVar_Get(var, Py_None, &val);
        Py_DECREF(var);
        if (rc < 0) return -1;
        if (val == Py_None)
            Py_DECREF(val);
        else
            g->reporter = val;
    }
    if (g->reporter == NULL) return 0;
    double now = mono_s();
    if (now - g->last < CQB_PROGRESS_S) return 0;
    g->last = now;
    PyObject *r = PyObject_CallFunction(g->reporter, "LL", (long long)g->it.done, (long long)g->it.total);
    if (r == NULL) return -1;
    Py_DECREF(r);
    return 0;
}

/* The poll of a kernel that runs with the GIL held (it calls back into Python). */
static int gil_poll(void *ctx)
{
    cqb_poller *g = (cqb_poller *)ctx;
    return PyErr_CheckSignals() != 0 || progress_poll(g) < 0;
}

/* GIL release with a working Ctrl-C, private to the call helpers below (no entry point
 * releases the GIL by itself): kernels get `&g.it` as their cq_interrupt and poll it from
 * the calling thread; the poll re-takes the GIL just long enough to run
 * PyErr_CheckSignals and the progress report. */
static int nogil_poll(void *ctx)
{
    cqb_poller *g = (cqb_poller *)ctx;
    PyEval_RestoreThread(g->ts);
    int r = gil_poll(g);
    g->ts = PyEval_SaveThread();
    return r;
}

static void poller_begin(cqb_poller *g, int release_gil)
{
    g->it.poll = release_gil ? nogil_poll : gil_poll;
    g->it.ctx = g;
    g->it.stop = 0;
    g->it.done = 0;
    g->it.total = 0;
    g->looked = 0;
    g->reporter = NULL;
    g->last = mono_s();
    g->ts = release_gil ? PyEval_SaveThread() : NULL;
}

/* Re-take the GIL; after a kernel that published its total and succeeded, one last report
 * with done == total, so that the display ends complete also when the call was too short
 * to poll (an exception from the reporter is left for finish() to raise). */
static void poller_end(cqb_poller *g, int st)
{
    if (g->ts != NULL) PyEval_RestoreThread(g->ts);
    if (st == CQ_OK && g->it.total > 0 && !PyErr_Occurred()) {
        g->it.done = g->it.total;
        g->last = mono_s() - 2.0 * CQB_PROGRESS_S;
        (void)progress_poll(g);
    }
    Py_XDECREF(g->reporter);
}

int cqb_spec_check(PyObject *obj, const char *type_name, const char *what)
{
    if (PyTuple_Check(obj) && strcmp(Py_TYPE(obj)->tp_name, type_name) == 0 && PyObject_HasAttrString(obj, "_fields"))
        return 0;
    PyErr_Format(PyExc_TypeError, "%s must be a convq._spec.%s (a named spec), got %R", what, type_name,
                 (PyObject *)Py_TYPE(obj));
    return -1;
}

PyObject *cqb_spec_get(PyObject *spec, const char *field)
{
    return PyObject_GetAttrString(spec, field);
}

int cqb_spec_double(PyObject *spec, const char *type_name, const char *field, double *out)
{
    PyObject *v = PyObject_GetAttrString(spec, field);
    if (v == NULL) return -1;
    double x = PyFloat_AsDouble(v);
    if (x == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "%s.%s must be a real number, got %R", type_name, field, (PyObject *)Py_TYPE(v));
        Py_DECREF(v);
        return -1;
    }
    Py_DECREF(v);
    *out = x;
    return 0;
}

int cqb_spec_int(PyObject *spec, const char *type_name, const char *field, long long *out)
{
    PyObject *v = PyObject_GetAttrString(spec, field);
    if (v == NULL) return -1;
    if (!PyLong_Check(v)) {
        PyErr_Format(PyExc_TypeError, "%s.%s must be an int, got %R", type_name, field, (PyObject *)Py_TYPE(v));
        Py_DECREF(v);
        return -1;
    }
    long long x = PyLong_AsLongLong(v);
    Py_DECREF(v);
    if (x == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s.%s does not fit a signed 64-bit integer", type_name, field);
        return -1;
    }
    *out = x;
    return 0;
}

int cqb_add_int_constants(PyObject *m, const cqb_int_constant *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (PyModule_AddIntConstant(m, c[i].name, c[i].value) < 0) return -1;
    return 0;
}

/* n <= 0 (a direct _core call; the Python layer always passes its resolved count,
 * convq._threads): the CPUs of the affinity mask, else the online CPUs. */
int cqb_threads(long n)
{
    if (n > 0) return n > 1024 ? 1024 : (int)n;
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
#endif
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c > 0 ? (int)c : 1;
}

static int finish(int st, const cq_errinfo *err)
{
    if (st == CQ_OK && !PyErr_Occurred()) return 0;
    cqb_raise(st == CQ_OK ? CQ_ECALLBACK : st, err);
    return -1;
}

/* cqb_call (release_gil 1) and cqb_call_with_gil (0): one generator or none. */
static int call_one(cqb_kernel fn, void *args, PyObject *gen, int release_gil)
{
    cqb_bitgen b = {NULL, NULL, NULL};
    if (gen != NULL && cqb_bitgen_acquire(gen, &b) < 0) return -1;
    cq_errinfo err;
    err.msg[0] = 0;
    cqb_poller g;
    poller_begin(&g, release_gil);
    int st = fn(args, b.bg, &g.it, &err);
    poller_end(&g, st);
    if (gen != NULL) cqb_bitgen_release(&b);
    return finish(st, &err);
}

int cqb_call(cqb_kernel fn, void *args, PyObject *gen)
{
    return call_one(fn, args, gen, 1);
}

int cqb_call_streams(cqb_kernel_streams fn, void *args, PyObject *gens)
{
    Py_ssize_t m = 0;
    cqb_bitgen *bs = cqb_bitgen_acquire_seq(gens, &m);
    if (bs == NULL) return -1;
    bitgen_t **bgs = (bitgen_t **)PyMem_Malloc((size_t)(m > 0 ? m : 1) * sizeof(bitgen_t *));
    if (bgs == NULL) {
        cqb_bitgen_release_seq(bs, m);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < m; i++) bgs[i] = bs[i].bg;
    cq_errinfo err;
    err.msg[0] = 0;
    cqb_poller g;
    poller_begin(&g, 1);
    int st = fn(args, bgs, (size_t)m, &g.it, &err);
    poller_end(&g, st);
    PyMem_Free(bgs);
    cqb_bitgen_release_seq(bs, m);
    return finish(st, &err);
}

int cqb_call_with_gil(cqb_kernel fn, void *args, PyObject *gen)
{
    return call_one(fn, args, gen, 0);
}
