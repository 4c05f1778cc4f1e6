/* bind_stochastic.c -- bindings of the domains, the mirror step and the section-6
 * oracles (csrc/cq_domains.h, csrc/cq_oracles.h). Validation lives in convq/stochastic. */
#include "bind.h"
#include <string.h>
#include "stochastic/cq_domains.h"
#include "stochastic/cq_oracles.h"
#include "stochastic/cq_sgd.h"
#include "_objectives.h"
#include "_quantize.h"

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

/* ---- the quantized SGD / mirror-descent loop --------------------------------------- */

/* Section-6 oracles adapted to cq_oracle_cb. */
typedef struct sign_oracle {
    int kind;
    const double *alpha;
    double scale, delta;
} sign_oracle;

static int sign_oracle_sample(void *ctx, const double *x, size_t d, bitgen_t *g, double *out, cq_errinfo *err)
{
    (void)x;
    (void)err;
    sign_oracle *o = (sign_oracle *)ctx;
    if (o->kind == 0) cq_oracle_bernoulli(o->alpha, d, o->scale, o->delta, g, out);
    else cq_oracle_paninski(o->alpha, d, o->scale, o->delta, g, out);
    return CQ_OK;
}

static int minibatch_sample(void *ctx, const double *x, size_t d, bitgen_t *g, double *out, cq_errinfo *err)
{
    (void)d;
    return cq_oracle_minibatch((const cq_minibatch_oracle *)ctx, x, g, out, err);
}

static int noisy_sample(void *ctx, const double *x, size_t d, bitgen_t *g, double *out, cq_errinfo *err)
{
    (void)d;
    return cq_oracle_noisy((const cq_noisy_oracle *)ctx, x, g, out, err);
}

/* Everything an oracle adapter owns; released by oracle_release(). */
typedef struct oracle_holder {
    cq_oracle_cb cb;
    sign_oracle sign;
    cqb_obj_spec obj;
    int have_obj;
    cq_minibatch_oracle mb;
    cq_noisy_oracle noisy;
    void *buffers;
    PyArrayObject *arrays[4];
} oracle_holder;

static void oracle_release(oracle_holder *h)
{
    for (int i = 0; i < 4; i++) Py_CLEAR(h->arrays[i]);
    if (h->have_obj) cqb_obj_spec_release(&h->obj);
    h->have_obj = 0;
    PyMem_RawFree(h->buffers);
    h->buffers = NULL;
}

/* spec = ("sign", kind, alpha, scale, delta) */
static int oracle_from_spec(PyObject *spec, npy_intp d, oracle_holder *h)
{
    memset(h, 0, sizeof *h);
    if (!PyTuple_Check(spec) || PyTuple_GET_SIZE(spec) < 1 || !PyUnicode_Check(PyTuple_GET_ITEM(spec, 0))) {
        PyErr_SetString(PyExc_TypeError, "oracle spec must be a tuple starting with its kind");
        return -1;
    }
    if (PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(spec, 0), "sign") == 0) {
        PyObject *alpha;
        const char *name;
        if (!PyArg_ParseTuple(spec, "siOdd", &name, &h->sign.kind, &alpha, &h->sign.scale, &h->sign.delta))
            return -1;
        h->arrays[0] = cqb_double_array(alpha, "alpha", 1, 1);
        if (h->arrays[0] == NULL) return -1;
        if (PyArray_DIM(h->arrays[0], 0) != d) {
            PyErr_Format(PyExc_ValueError, "oracle dimension %zd does not match x0 (%zd)",
                         (Py_ssize_t)PyArray_DIM(h->arrays[0], 0), (Py_ssize_t)d);
            return -1;
        }
        h->sign.alpha = (const double *)PyArray_DATA(h->arrays[0]);
        h->cb.sample = sign_oracle_sample;
        h->cb.ctx = &h->sign;
        return 0;
    }
    int is_mb = PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(spec, 0), "minibatch") == 0;
    int is_noisy = PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(spec, 0), "noisy") == 0;
    if (is_mb || is_noisy) {
        /* ("minibatch", obj_c_args, batch) or ("noisy", obj_c_args, noise, B, q) */
        PyObject *oargs;
        const char *name;
        Py_ssize_t batch = 0;
        double noise = 0, B = 0, q = 2;
        int ok = is_mb ? PyArg_ParseTuple(spec, "sOn", &name, &oargs, &batch)
                       : PyArg_ParseTuple(spec, "sOddd", &name, &oargs, &noise, &B, &q);
        if (!ok) return -1;
        if (cqb_obj_spec_parse(oargs, &h->obj) < 0) return -1;
        h->have_obj = 1;
        /* One oracle draw is a few rows (or one pass for the noisy oracle) inside a loop of
         * thousands: starting threads per draw would cost more than the draw itself. */
        h->obj.o.n_threads = 1;
        size_t dim = cq_obj_dim(&h->obj.o);
        if ((npy_intp)dim != d) {
            PyErr_Format(PyExc_ValueError, "oracle dimension %zu does not match x0 (%zd)", dim, (Py_ssize_t)d);
            return -1;
        }
        if (is_mb) {
            if (batch < 1) {
                PyErr_SetString(PyExc_ValueError, "batch must be >= 1");
                return -1;
            }
            h->buffers = PyMem_RawMalloc(sizeof(int64_t) * (size_t)batch + sizeof(double) * dim);
            if (h->buffers == NULL) {
                PyErr_NoMemory();
                return -1;
            }
            h->mb.obj = &h->obj.o;
            h->mb.batch = (size_t)batch;
            h->mb.rows = (int64_t *)h->buffers;
            h->mb.work = (double *)((int64_t *)h->buffers + batch);
            h->cb.sample = minibatch_sample;
            h->cb.ctx = &h->mb;
        } else {
            h->noisy.obj = &h->obj.o;
            h->noisy.noise = noise;
            h->noisy.B = B;
            h->noisy.q = q;
            h->cb.sample = noisy_sample;
            h->cb.ctx = &h->noisy;
        }
        return 0;
    }
    PyErr_Format(PyExc_ValueError, "unknown oracle kind %R", PyTuple_GET_ITEM(spec, 0));
    return -1;
}

/* _oracle_draw(spec, x, gen, n) -> (n, d): n draws of any C oracle at x (the exact
 * draws the C loop makes), for the Python reference loop and for tests. */
static PyObject *py_oracle_draw(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *spec, *xo, *gen;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "OOOn", &spec, &xo, &gen, &n)) return NULL;
    PyArrayObject *x = cqb_double_array(xo, "x", 1, 1);
    if (x == NULL) return NULL;
    npy_intp d = PyArray_DIM(x, 0);
    oracle_holder h;
    memset(&h, 0, sizeof h);
    PyArrayObject *out = NULL;
    if (n < 0 || oracle_from_spec(spec, d, &h) < 0) {
        if (n < 0) PyErr_SetString(PyExc_ValueError, "n must be >= 0");
        goto done;
    }
    npy_intp dims[2] = {n, d};
    out = (PyArrayObject *)PyArray_SimpleNew(2, dims, NPY_DOUBLE);
    if (out == NULL) goto done;
    cqb_bitgen b;
    if (cqb_bitgen_acquire(gen, &b) < 0) {
        Py_CLEAR(out);
        goto done;
    }
    cq_errinfo err;
    err.msg[0] = 0;
    int st = CQ_OK;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t t = 0; t < n && st == CQ_OK; t++)
        st = h.cb.sample(h.cb.ctx, (const double *)PyArray_DATA(x), (size_t)d, b.bg, (double *)PyArray_DATA(out) + t * d, &err);
    Py_END_ALLOW_THREADS
    cqb_bitgen_release(&b);
    if (st != CQ_OK) {
        Py_CLEAR(out);
        cqb_raise(st, &err);
    }
done:
    oracle_release(&h);
    Py_DECREF(x);
    return (PyObject *)out;
}

/* A convq quantizer adapted to cq_quant_cb: resolved once for d, then the fast path
 * (bit-identical to decode(encode(y)), same draws), each message exactly par.bits long. */
typedef struct quant_holder {
    cq_qpar par;
    void *work;
} quant_holder;

static int quant_apply(void *ctx, const double *y, size_t d, bitgen_t *g, double *out, uint64_t *nbits, cq_errinfo *err)
{
    (void)d;
    quant_holder *h = (quant_holder *)ctx;
    *nbits = h->par.bits;
    return cq_q_quantize_par(&h->par, y, g, h->work, out, err);
}

/* 0 and a filled cb on success; -1 with an exception. qspec None: no quantization. */
static int quant_from_spec(PyObject *qspec, size_t d, quant_holder *h, cq_quant_cb *cb)
{
    h->work = NULL;
    cb->apply = NULL;
    cb->ctx = NULL;
    if (qspec == Py_None) return 0;
    if (cqb_qpar_resolve(qspec, (Py_ssize_t)d, &h->par) < 0) return -1;
    h->work = PyMem_RawMalloc(h->par.work ? h->par.work : 8);
    if (h->work == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    cb->apply = quant_apply;
    cb->ctx = h;
    return 0;
}

/* _sgd_run(oracle_spec, quant_spec, x0, steps, method, r, dom_kind, p, radius, lo, hi,
 *          record_every, average, gen[, T]) -> (x_T, xbar, snapshots, bits)
 * T given (> 0) with a one-entry steps: the constant step steps[0] for T iterations
 * (never expanded to T doubles); otherwise T = len(steps). */
static PyObject *py_sgd_run(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *ospec, *qspec, *x0o, *stepso, *lo, *hi, *gen;
    int method, dom_kind, average;
    double r, p, radius;
    long long record_every, n_iter = 0;
    if (!PyArg_ParseTuple(args, "OOOOididdOOLpO|L", &ospec, &qspec, &x0o, &stepso, &method, &r, &dom_kind, &p,
                          &radius, &lo, &hi, &record_every, &average, &gen, &n_iter))
        return NULL;
    PyObject *result = NULL;
    PyArrayObject *x = NULL, *steps = NULL, *xbar = NULL, *snaps = NULL, *bits = NULL, *la = NULL, *ha = NULL;
    double *work = NULL;
    oracle_holder oh;
    memset(&oh, 0, sizeof oh);
    cq_quant_cb qcb = {NULL, NULL};
    quant_holder qh;
    qh.work = NULL;
    x = (PyArrayObject *)PyArray_FROM_OTF(x0o, NPY_DOUBLE, NPY_ARRAY_IN_ARRAY | NPY_ARRAY_ENSURECOPY);
    if (x == NULL) goto done;
    steps = cqb_double_array(stepso, "steps", 1, 1);
    if (steps == NULL) goto done;
    npy_intp d = PyArray_SIZE(x), T = PyArray_DIM(steps, 0);
    int constant_step = 0;
    if (n_iter > 0 && T == 1) {
        T = (npy_intp)n_iter;
        constant_step = 1;
    } else if (n_iter > 0 && n_iter != (long long)T) {
        PyErr_Format(PyExc_ValueError, "steps must have T = %lld entries or one (a constant step), got %lld",
                     n_iter, (long long)T);
        goto done;
    }
    if (PyArray_NDIM(x) != 1 || d < 1 || T < 1 || record_every < 1) {
        PyErr_SetString(PyExc_ValueError, "need a non-empty vector x0, T >= 1 steps and record_every >= 1");
        goto done;
    }
    if (quant_from_spec(qspec, (size_t)d, &qh, &qcb) < 0) goto done;
    cq_domain dom;
    if (parse_domain(dom_kind, p, radius, lo, hi, d, &dom, &la, &ha) < 0) goto done;
    if (oracle_from_spec(ospec, d, &oh) < 0) goto done;
    cq_sgd_params P = {(size_t)d, (int64_t)T, method, r, (const double *)PyArray_DATA(steps),
                       dom_kind == CQ_DOM_NONE ? NULL : &dom, (int64_t)record_every, average, constant_step};
    npy_intp nrec = (npy_intp)cq_sgd_n_records(&P);
    npy_intp d1[1] = {d}, d2[2] = {nrec, d};
    xbar = (PyArrayObject *)PyArray_SimpleNew(1, d1, NPY_DOUBLE);
    snaps = (PyArrayObject *)PyArray_SimpleNew(2, d2, NPY_DOUBLE);
    bits = (PyArrayObject *)PyArray_SimpleNew(1, d2, NPY_UINT64);
    work = (double *)PyMem_RawMalloc(sizeof(double) * 3 * (size_t)d);
    if (xbar == NULL || snaps == NULL || bits == NULL || work == NULL) {
        if (work == NULL) PyErr_NoMemory();
        goto done;
    }
    cqb_bitgen b;
    if (cqb_bitgen_acquire(gen, &b) < 0) goto done;
    cq_errinfo err;
    err.msg[0] = 0;
    cqb_nogil ng;
    cqb_nogil_begin(&ng);
    int st = cq_sgd_run(&P, &oh.cb, &qcb, b.bg, (double *)PyArray_DATA(x), (double *)PyArray_DATA(xbar),
                        (double *)PyArray_DATA(snaps), (uint64_t *)PyArray_DATA(bits), work, &ng.it, &err);
    cqb_nogil_end(&ng);
    cqb_bitgen_release(&b);
    if (st != CQ_OK) {
        cqb_raise(st, &err);
        goto done;
    }
    result = Py_BuildValue("(OOOO)", x, xbar, snaps, bits);
done:
    PyMem_RawFree(work);
    PyMem_RawFree(qh.work);
    oracle_release(&oh);
    Py_XDECREF(x);
    Py_XDECREF(steps);
    Py_XDECREF(xbar);
    Py_XDECREF(snaps);
    Py_XDECREF(bits);
    Py_XDECREF(la);
    Py_XDECREF(ha);
    return result;
}

PyMethodDef cqb_stochastic_methods[] = {
    {"_project", py_project, METH_VARARGS, "_project(x, kind, p, radius, lo, hi): Euclidean projection."},
    {"_mirror_step", py_mirror_step, METH_VARARGS, "_mirror_step(x, g, r, eta, kind, p, radius): mirror descent step."},
    {"_oracle_sample", py_oracle_sample, METH_VARARGS, "_oracle_sample(kind, alpha, scale, delta, gen, n): section-6 oracle draws."},
    {"_oracle_draw", py_oracle_draw, METH_VARARGS, "_oracle_draw(spec, x, gen, n): draws of a C oracle."},
    {"_sgd_run", py_sgd_run, METH_VARARGS, "_sgd_run(...): the quantized SGD / mirror-descent loop in C."},
    {NULL, NULL, 0, NULL},
};
