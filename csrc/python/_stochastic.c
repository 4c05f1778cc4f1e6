/* _stochastic.c -- bindings of the domains, the mirror step, the oracles and the quantized
 * SGD loop (csrc/stochastic/cq_domains.h, cq_oracles.h, cq_sgd.h) for convq.stochastic.
 * Validation lives in convq/stochastic. Domains and oracles arrive as named specs read by
 * field name (convq._spec.DomainSpec, OracleSpec; objectives as ObjectiveSpec); their
 * kinds are the constants DOM_<NAME> / ORACLE_<NAME> exported below from the lists in
 * cq_domains.h / cq_oracles.h, and the loop's methods SGD_PROJECTED / SGD_MIRROR. Every
 * kernel runs through the one call helper cqb_call (csrc/python/_call.c). */
#include "bind.h"
#include <string.h>
#include "stochastic/cq_domains.h"
#include "stochastic/cq_oracles.h"
#include "stochastic/cq_sgd.h"
#include "_objectives.h"
#include "_quantize.h"

/* A DomainSpec(kind, p, radius, lo, hi) -> cq_domain for dimension d; the box bounds are
 * returned as new references in lo_arr and hi_arr (or NULL), released by the caller
 * (also on failure). */
static int parse_domain(PyObject *spec, npy_intp d, cq_domain *dom, PyArrayObject **lo_arr, PyArrayObject **hi_arr)
{
    *lo_arr = *hi_arr = NULL;
    if (cqb_spec_check(spec, "DomainSpec", "a domain's spec") < 0) return -1;
    long long kind;
    double p, radius;
    if (cqb_spec_int(spec, "DomainSpec", "kind", &kind) < 0 || cqb_spec_double(spec, "DomainSpec", "p", &p) < 0 ||
        cqb_spec_double(spec, "DomainSpec", "radius", &radius) < 0)
        return -1;
    dom->p = p;
    dom->radius = radius;
    dom->lo = dom->hi = NULL;
    if (kind == CQ_DOM_BOX) {
        PyObject *lo = cqb_spec_get(spec, "lo");
        if (lo == NULL) return -1;
        *lo_arr = cqb_double_array(lo, "lo", 1, 1);
        Py_DECREF(lo);
        if (*lo_arr == NULL) return -1;
        PyObject *hi = cqb_spec_get(spec, "hi");
        if (hi == NULL) return -1;
        *hi_arr = cqb_double_array(hi, "hi", 1, 1);
        Py_DECREF(hi);
        if (*hi_arr == NULL) return -1;
        if (PyArray_DIM(*lo_arr, 0) != d || PyArray_DIM(*hi_arr, 0) != d) {
            PyErr_Format(PyExc_ValueError, "box bounds must have length %zd", (Py_ssize_t)d);
            return -1;
        }
        dom->lo = (const double *)PyArray_DATA(*lo_arr);
        dom->hi = (const double *)PyArray_DATA(*hi_arr);
    } else if (kind != CQ_DOM_LPBALL && kind != CQ_DOM_NONE) {
        PyErr_Format(PyExc_ValueError, "unknown domain kind %lld (DomainSpec.kind must be one of _core.DOM_*)", kind);
        return -1;
    }
    dom->kind = (cq_domain_kind)kind;
    return 0;
}

/* the kernels, run through cqb_call (GIL released, Ctrl-C polled) */
typedef struct project_args {
    const cq_domain *dom;
    double *x;
    size_t d;
    double *work;
} project_args;

CQB_RUNNER(run_project, project_args)
{
    cq_project(a->dom, a->x, a->d, a->work);
    return CQ_OK;
}

/* _project(x, domain_spec) -> projection of x (a new array). */
static PyObject *py_project(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *xo, *so;
    if (!PyArg_ParseTuple(args, "OO", &xo, &so)) return NULL;
    PyArrayObject *x = (PyArrayObject *)PyArray_FROM_OTF(xo, NPY_DOUBLE, NPY_ARRAY_IN_ARRAY | NPY_ARRAY_ENSURECOPY);
    if (x == NULL) return NULL;
    if (PyArray_NDIM(x) != 1) {
        Py_DECREF(x);
        return PyErr_Format(PyExc_ValueError, "x must be 1-dimensional");
    }
    npy_intp d = PyArray_DIM(x, 0);
    cq_domain dom;
    PyArrayObject *la, *ha;
    double *work = NULL;
    if (parse_domain(so, d, &dom, &la, &ha) < 0) goto fail;
    work = (double *)PyMem_RawMalloc(sizeof(double) * (size_t)(d ? d : 1));
    if (work == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    project_args a = {&dom, (double *)PyArray_DATA(x), (size_t)d, work};
    if (cqb_call(run_project, &a, NULL) < 0) goto fail;
    PyMem_RawFree(work);
    Py_XDECREF(la);
    Py_XDECREF(ha);
    return (PyObject *)x;
fail:
    PyMem_RawFree(work);
    Py_XDECREF(la);
    Py_XDECREF(ha);
    Py_DECREF(x);
    return NULL;
}

typedef struct mirror_args {
    double *x;
    const double *g;
    size_t d;
    double r, eta;
    const cq_domain *dom;   /* NULL: unconstrained */
    double *work;
} mirror_args;

CQB_RUNNER(run_mirror, mirror_args)
{
    return cq_mirror_step(a->x, a->g, a->d, a->r, a->eta, a->dom, a->work, err);
}

/* _mirror_step(x, g, r, eta, domain_spec) -> the next iterate (a new array). */
static PyObject *py_mirror_step(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *xo, *go, *so;
    double r, eta;
    if (!PyArg_ParseTuple(args, "OOddO", &xo, &go, &r, &eta, &so)) return NULL;
    PyArrayObject *x = (PyArrayObject *)PyArray_FROM_OTF(xo, NPY_DOUBLE, NPY_ARRAY_IN_ARRAY | NPY_ARRAY_ENSURECOPY);
    if (x == NULL) return NULL;
    PyArrayObject *g = cqb_double_array(go, "g", 1, 1);
    if (g == NULL) {
        Py_DECREF(x);
        return NULL;
    }
    npy_intp d = PyArray_SIZE(x);
    PyArrayObject *la = NULL, *ha = NULL;
    double *work = NULL;
    cq_domain dom;
    if (PyArray_NDIM(x) != 1 || PyArray_DIM(g, 0) != d) {
        PyErr_Format(PyExc_ValueError, "x and g must be vectors of the same length");
        goto fail;
    }
    if (parse_domain(so, d, &dom, &la, &ha) < 0) goto fail;
    work = (double *)PyMem_RawMalloc(sizeof(double) * (size_t)(d ? d : 1));
    if (work == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    mirror_args a = {(double *)PyArray_DATA(x), (const double *)PyArray_DATA(g), (size_t)d, r, eta,
                     dom.kind == CQ_DOM_NONE ? NULL : &dom, work};
    if (cqb_call(run_mirror, &a, NULL) < 0) goto fail;
    PyMem_RawFree(work);
    Py_XDECREF(la);
    Py_XDECREF(ha);
    Py_DECREF(g);
    return (PyObject *)x;
fail:
    PyMem_RawFree(work);
    Py_XDECREF(la);
    Py_XDECREF(ha);
    Py_DECREF(g);
    Py_DECREF(x);
    return NULL;
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
    if (o->kind == CQ_ORACLE_BERNOULLI) cq_oracle_bernoulli(o->alpha, d, o->scale, o->delta, g, out);
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

/* An OracleSpec (convq._spec) for dimension d -> h (release with oracle_release, also on
 * failure). The kind says which fields are read. */
static int oracle_from_spec(PyObject *spec, npy_intp d, oracle_holder *h)
{
    static const char T[] = "OracleSpec";
    memset(h, 0, sizeof *h);
    if (cqb_spec_check(spec, T, "an oracle's spec") < 0) return -1;
    long long kind;
    if (cqb_spec_int(spec, T, "kind", &kind) < 0) return -1;
    if (kind == CQ_ORACLE_BERNOULLI || kind == CQ_ORACLE_PANINSKI) {
        h->sign.kind = (int)kind;
        if (cqb_spec_double(spec, T, "scale", &h->sign.scale) < 0 || cqb_spec_double(spec, T, "delta", &h->sign.delta) < 0)
            return -1;
        PyObject *alpha = cqb_spec_get(spec, "alpha");
        if (alpha == NULL) return -1;
        h->arrays[0] = cqb_double_array(alpha, "alpha", 1, 1);
        Py_DECREF(alpha);
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
    if (kind != CQ_ORACLE_MINIBATCH && kind != CQ_ORACLE_NOISY) {
        PyErr_Format(PyExc_ValueError, "unknown oracle kind %lld (OracleSpec.kind must be one of _core.ORACLE_*)", kind);
        return -1;
    }
    int is_mb = kind == CQ_ORACLE_MINIBATCH;
    long long batch = 0;
    double noise = 0, B = 0, q = 2;
    int ok = is_mb ? cqb_spec_int(spec, T, "batch", &batch) == 0
                   : (cqb_spec_double(spec, T, "noise", &noise) == 0 && cqb_spec_double(spec, T, "B", &B) == 0 &&
                      cqb_spec_double(spec, T, "q", &q) == 0);
    if (!ok) return -1;
    PyObject *oargs = cqb_spec_get(spec, "objective");
    if (oargs == NULL) return -1;
    int rc = cqb_obj_spec_parse(oargs, &h->obj);
    Py_DECREF(oargs);
    if (rc < 0) return -1;
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
        if (batch < 1 || (unsigned long long)batch > ((size_t)-1 - sizeof(double) * dim) / sizeof(int64_t)) {
            PyErr_Format(PyExc_ValueError, "OracleSpec.batch must be >= 1 (and fit in memory), got %lld", batch);
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

typedef struct draw_args {
    const cq_oracle_cb *cb;
    const double *x;
    size_t d, n;
    double *out;
} draw_args;

CQB_RUNNER(run_draw, draw_args)
{
    int st = CQ_OK;
    for (size_t t = 0; t < a->n && st == CQ_OK; t++) {
        if ((t & 1023) == 1023 && cq_check_interrupt(it)) return CQ_EINTERRUPT;
        st = a->cb->sample(a->cb->ctx, a->x, a->d, bg, a->out + t * a->d, err);
    }
    return st;
}

/* _oracle_draw(spec, x, gen, n) -> (n, d): n draws of any C oracle at x (the exact
 * draws the C loop makes), for the Python reference loop, the section-6 problems'
 * sample() and tests. */
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
    draw_args a = {&h.cb, (const double *)PyArray_DATA(x), (size_t)d, (size_t)n, (double *)PyArray_DATA(out)};
    if (cqb_call(run_draw, &a, gen) < 0) Py_CLEAR(out);
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

typedef struct sgd_args {
    const cq_sgd_params *P;
    const cq_oracle_cb *oracle;
    const cq_quant_cb *quant;
    double *x, *xbar, *snaps, *work;
    uint64_t *bits;
} sgd_args;

CQB_RUNNER(run_sgd, sgd_args)
{
    return cq_sgd_run(a->P, a->oracle, a->quant, bg, a->x, a->xbar, a->snaps, a->bits, a->work, it, err);
}

/* _sgd_run(oracle_spec, quant_spec, x0, steps, method, r, domain_spec, record_every,
 *          average, gen[, T]) -> (x_T, xbar, snapshots, bits); method: SGD_PROJECTED or
 * SGD_MIRROR
 * T given (> 0) with a one-entry steps: the constant step steps[0] for T iterations
 * (never expanded to T doubles); otherwise T = len(steps). */
static PyObject *py_sgd_run(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *ospec, *qspec, *x0o, *stepso, *dspec, *gen;
    int method, average;
    double r;
    long long record_every, n_iter = 0;
    if (!PyArg_ParseTuple(args, "OOOOidOLpO|L", &ospec, &qspec, &x0o, &stepso, &method, &r, &dspec, &record_every,
                          &average, &gen, &n_iter))
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
    if (parse_domain(dspec, d, &dom, &la, &ha) < 0) goto done;
    if (oracle_from_spec(ospec, d, &oh) < 0) goto done;
    cq_sgd_params P = {(size_t)d, (int64_t)T, method, r, (const double *)PyArray_DATA(steps),
                       dom.kind == CQ_DOM_NONE ? NULL : &dom, (int64_t)record_every, average, constant_step};
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
    sgd_args a = {&P, &oh.cb, &qcb, (double *)PyArray_DATA(x), (double *)PyArray_DATA(xbar),
                  (double *)PyArray_DATA(snaps), work, (uint64_t *)PyArray_DATA(bits)};
    if (cqb_call(run_sgd, &a, gen) < 0) goto done;
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
    CQB_METHOD(_project, "_project(x, domain_spec): Euclidean projection."),
    CQB_METHOD(_mirror_step, "_mirror_step(x, g, r, eta, domain_spec): mirror descent step."),
    CQB_METHOD(_oracle_draw, "_oracle_draw(spec, x, gen, n): draws of a C oracle."),
    CQB_METHOD(_sgd_run, "_sgd_run(...): the quantized SGD / mirror-descent loop in C."),
    CQB_METHODS_END,
};

/* The domain kinds DOM_<NAME>, the oracle kinds ORACLE_<NAME> (generated from the lists in
 * cq_domains.h and cq_oracles.h) and the loop's methods, for convq._spec and
 * convq.stochastic. Called from module.c. */
int cqb_stochastic_constants(PyObject *m)
{
#define CQB_DOM_(name, num) \
    if (PyModule_AddIntConstant(m, "DOM_" #name, CQ_DOM_##name) < 0) return -1;
#define CQB_ORACLE_(name, num) \
    if (PyModule_AddIntConstant(m, "ORACLE_" #name, CQ_ORACLE_##name) < 0) return -1;
    CQ_DOM_KINDS(CQB_DOM_)
    CQ_ORACLE_KINDS(CQB_ORACLE_)
#undef CQB_DOM_
#undef CQB_ORACLE_
    if (PyModule_AddIntConstant(m, "SGD_PROJECTED", CQ_SGD_PROJECTED) < 0) return -1;
    if (PyModule_AddIntConstant(m, "SGD_MIRROR", CQ_SGD_MIRROR) < 0) return -1;
    return 0;
}
