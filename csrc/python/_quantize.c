/*
 * bind_quantize.c -- bindings of the quantizer kernels (csrc/cq_quantize.h). Private
 * entry points used by convq.quantize:
 *   _q_bits(spec, d) -> int               fixed message length
 *   _q_info(spec, d) -> dict              every resolved parameter (for repr/tests)
 *   _q_encode(spec, y, gen[, out, threads, weight, fresh]) -> (bytes, nbits)
 *                                         y: float64, or float32 read in place; out (a
 *                                         float32/float64 vector or None): the message's
 *                                         decode added in the same pass, out + weight y_hat
 *                                         (fresh: 0 + weight y_hat, out not read)
 *   _q_decode(spec, payload, d[, out, None, threads]) -> y_hat  (DecodeError on anything malformed); out:
 *                                         None (a new float64 vector) or a writeable
 *                                         C-contiguous float32/float64 vector of length d, set
 *   _q_decode(spec, payloads, d, out, weights[, fresh, threads]) -> out
 *                                         payloads a list: the fused decode-accumulate
 *                                         out += sum_k weights[k] decode(payloads[k]) in one
 *                                         call (weights None: all 1); every payload is
 *                                         validated before out is touched
 *   _q_quantize(spec, y, gen[, out, threads]) -> y_hat  fast path == decode(encode) bit for bit
 *   threads (every call above, the decoders' last argument): threads of one vector's
 *                                         kernel (cq_qpar.threads); the result is the same
 *   _q_batch(spec, Y, n, rows_per_stream, gens, threads, encode)
 *                                      -> (n, d) float64 or (n, nbytes) uint8: rows
 *                                         [b r, (b+1) r) are done in order with gens[b]
 *                                         (r = rows_per_stream), one task per stream, so
 *                                         the result is independent of the thread count;
 *                                         Y is (n, d) or one (d,) vector repeated
 *   _q_decode_many(spec, P, d) -> uint8 status per row of the (m, nbytes) array P
 *   _q_fwht(x) -> H x                     the fast Walsh-Hadamard transform (tests, bench)
 *   _q_simd_level() -> int                the typed kernels' build level a call would run
 *                                         now (0 portable, 1 AVX2, 2 AVX-512; tests, bench)
 *   _q_scratch_kept() -> int              bytes of large kernel scratch this thread keeps
 *                                         for its next call (tests)
 */
#include "_quantize.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#if defined(__linux__)
#include <pthread.h>
#endif
#include <unistd.h>
#include "core/cq_hadamard.h"
#include "core/cq_parallel.h"

/* One field of a QuantizerSpec, by name. 0 on success, -1 with TypeError naming it. */
static int spec_double(PyObject *spec, const char *name, double *out)
{
    PyObject *v = PyObject_GetAttrString(spec, name);
    if (v == NULL) return -1;
    double x = PyFloat_AsDouble(v);
    Py_DECREF(v);
    if (x == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "QuantizerSpec.%s must be a real number", name);
        return -1;
    }
    *out = x;
    return 0;
}

static int spec_int(PyObject *spec, const char *name, long long *out)
{
    PyObject *v = PyObject_GetAttrString(spec, name);
    if (v == NULL) return -1;
    if (!PyLong_Check(v)) {
        Py_DECREF(v);
        PyErr_Format(PyExc_TypeError, "QuantizerSpec.%s must be an int", name);
        return -1;
    }
    long long x = PyLong_AsLongLong(v);
    Py_DECREF(v);
    if (x == -1 && PyErr_Occurred()) {
        int overflow = PyErr_ExceptionMatches(PyExc_OverflowError);
        PyErr_Clear();
        PyErr_Format(overflow ? PyExc_ValueError : PyExc_TypeError,
                     overflow ? "QuantizerSpec.%s does not fit a signed 64-bit integer" : "QuantizerSpec.%s must be an int",
                     name);
        return -1;
    }
    *out = x;
    return 0;
}

int cqb_qspec_from_py(PyObject *obj, cq_qspec *out)
{
    /* a QuantizerSpec (convq/_spec.py) is a tuple subclass; anything else must be a
     * quantizer carrying one in `_spec` */
    PyObject *spec = obj;
    int owned = 0;
    if (!PyTuple_Check(obj)) {
        if (PyType_Check(obj)) {
            PyErr_Format(PyExc_TypeError, "expected a convq quantizer instance, got the class %R (call it: %R(...))",
                         obj, obj);
            return -1;
        }
        spec = PyObject_GetAttrString(obj, "_spec");
        if (spec == NULL) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "expected a convq quantizer or its QuantizerSpec, got %R",
                         (PyObject *)Py_TYPE(obj));
            return -1;
        }
        owned = 1;
    }
    long long kind = 0, k = 0, levels = 0, s = 0, h = 0, flags = 0;
    double B = 0, M = 0, p = 0;
    int ok = PyTuple_Check(spec) && PyObject_HasAttrString(spec, "_fields");
    if (!ok) {
        PyErr_Format(PyExc_TypeError, "a quantizer's _spec must be a convq._spec.QuantizerSpec, got %R",
                     (PyObject *)Py_TYPE(spec));
    } else {
        ok = spec_int(spec, "kind", &kind) == 0 && spec_double(spec, "B", &B) == 0 && spec_double(spec, "M", &M) == 0 &&
             spec_double(spec, "p", &p) == 0 && spec_int(spec, "k", &k) == 0 &&
             spec_int(spec, "levels", &levels) == 0 && spec_int(spec, "s", &s) == 0 && spec_int(spec, "h", &h) == 0 &&
             spec_int(spec, "flags", &flags) == 0;
    }
    if (owned) Py_DECREF(spec);
    if (!ok) return -1;
    if (kind < 0 || kind >= CQ_Q_NKINDS) {
        PyErr_Format(PyExc_ValueError, "unknown quantizer kind %lld (the kinds are 0..%d)", kind, CQ_Q_NKINDS - 1);
        return -1;
    }
    if (flags < 0 || flags > INT_MAX) {
        PyErr_Format(PyExc_ValueError, "QuantizerSpec.flags must be a small non-negative int, got %lld", flags);
        return -1;
    }
    out->kind = (cq_qkind)kind;
    out->B = B;
    out->M = M;
    out->p = p;
    out->k = k;
    out->levels = levels;
    out->s = s;
    out->h = h;
    out->flags = (int)flags;
    return 0;
}

/* The kinds (Q_KIND_<NAME>, generated from csrc/quantize/cq_qkinds.h) and the flags, for
 * convq._spec. Called from module.c. */
int cqb_quantize_constants(PyObject *m)
{
#define CQB_Q_KIND_CONST_(name, num, ops, typed, typed_avx2) \
    if (PyModule_AddIntConstant(m, "Q_KIND_" #name, (long)CQ_Q_##name) < 0) return -1;
    CQ_Q_KIND_LIST(CQB_Q_KIND_CONST_)
#undef CQB_Q_KIND_CONST_
    if (PyModule_AddIntConstant(m, "Q_FLAG_FLOAT32", CQ_QF_FLOAT32) < 0) return -1;
    if (PyModule_AddIntConstant(m, "Q_FLAG_NORM_INF", CQ_QF_NORM_INF) < 0) return -1;
    PyObject *dmax = PyLong_FromUnsignedLongLong((unsigned long long)CQ_Q_DMAX);
    if (dmax == NULL || PyModule_AddObject(m, "Q_DMAX", dmax) < 0) {
        Py_XDECREF(dmax);
        return -1;
    }
    return 0;
}

int cqb_qpar_resolve(PyObject *spec_obj, Py_ssize_t d, cq_qpar *P)
{
    cq_qspec q;
    if (cqb_qspec_from_py(spec_obj, &q) < 0) return -1;
    if (d < 1) {
        PyErr_Format(PyExc_ValueError, "dimension d must be >= 1, got %zd", d);
        return -1;
    }
    cq_errinfo err;
    err.msg[0] = 0;
    int st = cq_q_resolve(&q, (size_t)d, P, &err);
    if (st != CQ_OK) {
        cqb_raise(st, &err);
        return -1;
    }
    return 0;
}

/* (spec, d) -> P resolved for d; -1 with an exception set. */
static int parse_spec_d(PyObject *args, cq_qpar *P)
{
    PyObject *spec;
    Py_ssize_t d;
    if (!PyArg_ParseTuple(args, "On", &spec, &d)) return -1;
    return cqb_qpar_resolve(spec, d, P);
}

static PyObject *py_q_simd_level(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
    return PyLong_FromLong(cq_q_simd_level());
}

static PyObject *py_q_bits(PyObject *self, PyObject *args)
{
    (void)self;
    cq_qpar P;
    if (parse_spec_d(args, &P) < 0) return NULL;
    return PyLong_FromUnsignedLongLong(P.bits);
}

#define SETI(key, val) do { PyObject *v_ = PyLong_FromLongLong((long long)(val)); if (!v_ || PyDict_SetItemString(dict, key, v_) < 0) { Py_XDECREF(v_); goto fail; } Py_DECREF(v_); } while (0)
#define SETF(key, val) do { PyObject *v_ = PyFloat_FromDouble((double)(val)); if (!v_ || PyDict_SetItemString(dict, key, v_) < 0) { Py_XDECREF(v_); goto fail; } Py_DECREF(v_); } while (0)

/* What _q_info reports, in the dict's key order: I(field) an integer and F(field) a float
 * field of cq_qpar under its own name; when RATQ's parameters are set (P.r.d2 > 0), then
 * I(key, field) / F(key, field) of P.r under the key given, and "ratq_ranges". */
#define Q_INFO_FIELDS(I, F)                                                                            \
    I(kind) I(d) I(bits) I(work) F(B) F(p) F(q) F(Bp) I(k) I(type_bits) F(M) F(delta) I(L) I(lbits)     \
    I(ibits) F(c) I(delta1) I(delta2) I(dmax) I(bucket)
#define Q_INFO_RATQ_FIELDS(I, F)                                                                       \
    F(ratq_B, B) I(ratq_dim, dim) I(ratq_d2, d2) I(ratq_window, n0) I(ratq_seedbits, seedbits)         \
    I(ratq_s, s) I(ratq_h, h) I(ratq_groups, ngroups) I(ratq_hbits, hbits) I(ratq_lbits, lbits)        \
    I(ratq_L, L) I(ratq_bits, bits)

static PyObject *py_q_info(PyObject *self, PyObject *args)
{
    (void)self;
    cq_qpar P;
    if (parse_spec_d(args, &P) < 0) return NULL;
    PyObject *dict = PyDict_New();
    if (dict == NULL) return NULL;
#define INFO_I(f) SETI(#f, P.f);
#define INFO_F(f) SETF(#f, P.f);
#define RATQ_I(key, f) SETI(#key, P.r.f);
#define RATQ_F(key, f) SETF(#key, P.r.f);
    Q_INFO_FIELDS(INFO_I, INFO_F)
    if (P.r.d2 > 0) {
        Q_INFO_RATQ_FIELDS(RATQ_I, RATQ_F)
#undef INFO_I
#undef INFO_F
#undef RATQ_I
#undef RATQ_F
        PyObject *ranges = PyList_New((Py_ssize_t)P.r.h);
        if (ranges == NULL) goto fail;
        for (uint64_t j = 0; j < P.r.h; j++) PyList_SET_ITEM(ranges, (Py_ssize_t)j, PyFloat_FromDouble(P.r.M[j]));
        int rc = PyDict_SetItemString(dict, "ratq_ranges", ranges);
        Py_DECREF(ranges);
        if (rc < 0) goto fail;
    }
    return dict;
fail:
    Py_DECREF(dict);
    return NULL;
}

/* The kernels' scratch. A large one (>= WORK_HUGE) is 2 MiB aligned and advised to the
 * kernel as huge pages (Linux, transparent huge pages in "madvise" mode): a fresh 39 MB
 * buffer per call (RATQ at 4.93e6 coordinates) otherwise costs ~10^4 page faults, about a
 * third of the encode. NumPy advises its own large arrays the same way.
 * Each thread also keeps its last large scratch for its next call (one block per thread,
 * at most WORK_KEEP bytes, freed when the thread ends): glibc maps a block this large
 * afresh on every call, and the kernel then zeroed every page of it: for the 8 MB of RATQ
 * at d = 2^20, 6 faults and 0.2 ms of system time per encode, 3.5 -> 3.1 ms of wall time.
 * A block in use is marked busy, so a nested call on the same thread gets a fresh one.
 * Given back with free_work. The cache does not hold on to what the thread no
 * longer needs: a kept block over WORK_SHRINK bytes is freed by the first call that needs
 * less than a WORK_SLACK-th of it (a small call included), so one large call does not pin
 * its scratch for the thread's life; the DDP hook's buckets (the largest scratch, 39 MB for
 * RATQ's 25 MB bucket) stay below that size and keep their block. */
#define WORK_HUGE ((size_t)4 << 20)
#define WORK_KEEP ((size_t)512 << 20)
#define WORK_SHRINK ((size_t)64 << 20)
#define WORK_SLACK 4
#define WORK_ALIGN ((size_t)2 << 20)
#if defined(__linux__) && defined(MADV_HUGEPAGE)
#define WORK_CACHE 1
typedef struct work_block {
    void *p;  /* the kept block, or NULL */
    size_t n; /* its bytes, a multiple of WORK_ALIGN */
    int busy; /* a call of this thread is using it */
} work_block;
static pthread_key_t work_key;
static pthread_once_t work_once = PTHREAD_ONCE_INIT;
static int work_key_ok; /* written once, under work_once */

static void work_block_free(void *b)
{
    free(((work_block *)b)->p);
    free(b);
}

static void work_key_init(void) { work_key_ok = pthread_key_create(&work_key, work_block_free) == 0; }

/* This thread's cache entry where it has one, else NULL (nothing is created). */
static work_block *work_cache_peek(void)
{
    (void)pthread_once(&work_once, work_key_init);
    return work_key_ok ? (work_block *)pthread_getspecific(work_key) : NULL;
}

/* This thread's cache entry (created empty on first use), or NULL. */
static work_block *work_cache(void)
{
    work_block *b = work_cache_peek();
    if (!work_key_ok) return NULL;
    if (b == NULL && (b = (work_block *)calloc(1, sizeof *b)) != NULL && pthread_setspecific(work_key, b) != 0) {
        free(b);
        b = NULL;
    }
    return b;
}
#endif

#ifdef WORK_CACHE
/* Whether a kept block of `have` bytes is too large to keep for calls that need `need`. */
static int work_oversized(size_t have, size_t need) { return have > WORK_SHRINK && have / WORK_SLACK > need; }
#endif

static void *alloc_work(size_t n)
{
#ifdef WORK_CACHE
    size_t m = (n + WORK_ALIGN - 1) / WORK_ALIGN * WORK_ALIGN;
    work_block *b = n >= WORK_HUGE ? work_cache() : work_cache_peek();
    int idle = b != NULL && b->p != NULL && !b->busy;
    if (idle && work_oversized(b->n, m)) { /* more than this thread needs now */
        free(b->p);
        b->p = NULL;
        b->n = 0;
        idle = 0;
    }
    if (n >= WORK_HUGE) {
        if (idle && b->n >= m) {
            b->busy = 1;
            return b->p;
        }
        void *p = NULL;
        if (posix_memalign(&p, WORK_ALIGN, m) != 0) return NULL;
        (void)madvise(p, m, MADV_HUGEPAGE); /* advice only: without it the pages are small */
        return p;
    }
#endif
    return malloc(n ? n : 8);
}

/* Give back a scratch of alloc_work(n): a large one is kept for this thread's next call
 * where the cache is empty or holds a smaller one. */
static void free_work(void *p, size_t n)
{
#ifdef WORK_CACHE
    if (p != NULL && n >= WORK_HUGE) {
        work_block *b = work_cache();
        size_t m = (n + WORK_ALIGN - 1) / WORK_ALIGN * WORK_ALIGN;
        if (b != NULL && p == b->p) { /* the kept block, back from its call */
            b->busy = 0;
            return;
        }
        if (b != NULL && !b->busy && m <= WORK_KEEP && (b->p == NULL || b->n < m)) {
            free(b->p);
            b->p = p;
            b->n = m;
            return;
        }
    }
#else
    (void)n;
#endif
    free(p);
}

/* _q_scratch_kept() -> int: the bytes of kernel scratch this thread keeps for its next call
 * (tests of the cache's policy). */
static PyObject *py_q_scratch_kept(PyObject *self, PyObject *args)
{
    (void)self;
    (void)args;
#ifdef WORK_CACHE
    work_block *b = work_cache_peek();
    return PyLong_FromSize_t(b != NULL && b->p != NULL ? b->n : 0);
#else
    return PyLong_FromSize_t(0);
#endif
}

/* 0 if `nbytes` (a double: products of sizes cannot overflow it) can fit in this machine's
 * physical memory, else -1 with a MemoryError saying what needed it. Called before
 * anything of that size is allocated, so an impossible request fails at once. */
static int check_memory(double nbytes, Py_ssize_t n, Py_ssize_t d)
{
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || page <= 0) return 0; /* the platform does not say */
    double total = (double)pages * (double)page;
    if (nbytes <= total) return 0;
    char msg[200]; /* PyErr_Format has no %g */
    PyOS_snprintf(msg, sizeof msg, "the output for n=%lld rows of d=%lld coordinates needs %.4g GiB, more than this "
                  "machine's %.4g GiB of memory", (long long)n, (long long)d, nbytes / 1073741824.0,
                  total / 1073741824.0);
    PyErr_SetString(PyExc_MemoryError, msg);
    return -1;
}

/* DecodeError unless the payload has exactly the ceil(bits/8) bytes of P's message;
 * checked before the output is allocated. */
static int check_payload_length(const cq_qpar *P, npy_intp nbytes)
{
    uint64_t need = (P->bits + 7) / 8;
    if ((uint64_t)nbytes == need) return 0;
    cq_errinfo err;
    cq_fail(&err, CQ_EDECODE, "payload has %llu bytes, a %llu-bit message for d=%zu needs %llu",
            (unsigned long long)nbytes, (unsigned long long)P->bits, P->d, (unsigned long long)need);
    cqb_raise(CQ_EDECODE, &err);
    return -1;
}

/* the kernels, run through cqb_call / cqb_call_streams (GIL released, Ctrl-C polled) */
typedef struct code_args {
    const cq_qpar *P;
    cq_qin y;
    void *work;
    uint8_t *payload;     /* encode: the message */
    cq_qout out;          /* quantize: y_hat; encode: where its decode is added (p NULL: none) */
} code_args;

CQB_RUNNER(run_encode, code_args)
{
    return cq_q_encode_add_typed(a->P, &a->y, bg, a->work, a->payload, &a->out, err);
}

CQB_RUNNER(run_quantize, code_args)
{
    return cq_q_quantize_typed(a->P, &a->y, bg, a->work, &a->out, err);
}

typedef struct decode_args {
    const cq_qpar *P;
    const uint8_t *payload;
    uint64_t nbytes;
    void *work;
    cq_qout out;
} decode_args;

CQB_RUNNER(run_decode, decode_args)
{
    return cq_q_decode_typed(a->P, a->payload, a->nbytes, a->work, &a->out, err);
}

/* A 1-D input vector as float32 (a float32 ndarray, read in place when C-contiguous) or
 * float64 (anything else real, converted as before); new reference or NULL. */
static PyArrayObject *real_vector(PyObject *obj, const char *name)
{
    if (PyArray_Check(obj) && PyArray_TYPE((PyArrayObject *)obj) == NPY_FLOAT &&
        PyArray_NDIM((PyArrayObject *)obj) == 1)
        return (PyArrayObject *)PyArray_FromAny(obj, PyArray_DescrFromType(NPY_FLOAT), 1, 1, NPY_ARRAY_IN_ARRAY,
                                                NULL);
    return cqb_double_array(obj, name, 1, 1);
}

/* An optional output vector: None (*o->p stays NULL) or a writeable C-contiguous float32 or
 * float64 array of shape (d,); 0, or -1 with TypeError naming `name`. */
static int out_vector(PyObject *obj, const char *name, Py_ssize_t d, cq_qout *o)
{
    o->p = NULL;
    o->f32 = 0;
    if (obj == NULL || obj == Py_None) return 0;
    PyArrayObject *a = (PyArrayObject *)obj;
    if (!PyArray_Check(obj) || (PyArray_TYPE(a) != NPY_DOUBLE && PyArray_TYPE(a) != NPY_FLOAT) ||
        PyArray_NDIM(a) != 1 || PyArray_DIM(a, 0) != d || !PyArray_IS_C_CONTIGUOUS(a) || !PyArray_ISWRITEABLE(a) ||
        !PyArray_ISNOTSWAPPED(a)) {
        PyErr_Format(PyExc_TypeError, "%s must be a writeable C-contiguous float32 or float64 array of shape (%zd,), got %R",
                     name, d, PyArray_Check(obj) ? (PyObject *)PyArray_DESCR(a) : (PyObject *)Py_TYPE(obj));
        return -1;
    }
    o->p = PyArray_DATA(a);
    o->f32 = PyArray_TYPE(a) == NPY_FLOAT;
    return 0;
}

/* (spec, y, gen[, out]) of the encoders: y as a float32 or float64 vector (new reference),
 * P resolved for its length; NULL with an exception set. */
static PyArrayObject *parse_code_args(PyObject *args, PyObject **gen, PyObject **outo, cq_qpar *P, double *weight,
                                      int *fresh)
{
    PyObject *spec, *yo;
    int threads = 1;
    *outo = NULL;
    if (!PyArg_ParseTuple(args, "OOO|Oidp", &spec, &yo, gen, outo, &threads, weight, fresh)) return NULL;
    PyArrayObject *y = real_vector(yo, "y");
    if (y == NULL) return NULL;
    if (cqb_qpar_resolve(spec, PyArray_DIM(y, 0), P) < 0) {
        Py_DECREF(y);
        return NULL;
    }
    P->threads = cqb_threads(threads);
    return y;
}

/* (spec, payload(s), d[, out[, weights]]) of the decoders: P resolved for d, the uint8
 * payload array with ndim dimensions (new reference; one payload's length checked against
 * P), the memory for d values and the work checked; NULL with an exception set. */
static PyArrayObject *parse_decode_args(PyObject *args, const char *name, int ndim, cq_qpar *P, Py_ssize_t *d,
                                        PyObject **outo)
{
    PyObject *spec, *po, *wo = NULL;
    int threads = 1;
    *outo = NULL;
    if (!PyArg_ParseTuple(args, "OOn|OOi", &spec, &po, d, outo, &wo, &threads)) return NULL;
    if (cqb_qpar_resolve(spec, *d, P) < 0) return NULL;
    P->threads = cqb_threads(threads);
    PyArrayObject *p = cqb_uint8_array(po, name, ndim, ndim);
    if (p == NULL) return NULL;
    if ((ndim == 1 && check_payload_length(P, PyArray_DIM(p, 0)) < 0) ||
        check_memory(8.0 * (double)*d + (double)P->work, 1, *d) < 0) {
        Py_DECREF(p);
        return NULL;
    }
    return p;
}

/* Encode y (-> (bytes, bits)) or quantize it (-> the decoded vector, a new float64 one or
 * the given `out`), as `encode` says. */
static PyObject *code_call(PyObject *args, int encode)
{
    PyObject *gen, *outo, *out = NULL, *result = NULL;
    cq_qpar P;
    double weight = 1.0;
    int fresh = 0;
    PyArrayObject *y = parse_code_args(args, &gen, &outo, &P, &weight, &fresh);
    if (y == NULL) return NULL;
    void *work = NULL;
    size_t nwork = P.work;
    cq_qout o = {NULL, 0, 0, 1.0};
    if (encode) { /* no memset: the bit writer stores every byte of the message (cq_bw_finish) */
        /* out given: the message's decode is added into it (w out + weight y_hat, or the
         * first term 0 + weight y_hat when fresh), in the encoder's pass */
        if (outo != NULL && outo != Py_None) {
            if (out_vector(outo, "out", PyArray_DIM(y, 0), &o) < 0) goto done;
            o.add = fresh ? CQ_QOUT_START : CQ_QOUT_ADD;
            o.w = weight;
        }
        out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)((P.bits + 7) / 8));
    } else if (outo != NULL && outo != Py_None) {
        if (out_vector(outo, "out", PyArray_DIM(y, 0), &o) < 0) goto done;
        Py_INCREF(outo);
        out = outo;
    } else {
        npy_intp dims[1] = {PyArray_DIM(y, 0)};
        out = PyArray_SimpleNew(1, dims, NPY_DOUBLE);
        if (out != NULL) o.p = PyArray_DATA((PyArrayObject *)out);
    }
    if (out == NULL) goto done;
    work = alloc_work(nwork);
    if (work == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    code_args a = {&P, {PyArray_DATA(y), PyArray_TYPE(y) == NPY_FLOAT}, work,
                   encode ? (uint8_t *)PyBytes_AS_STRING(out) : NULL, o};
    if (cqb_call(encode ? run_encode : run_quantize, &a, gen) < 0) goto done;
    if (encode) {
        result = Py_BuildValue("(OK)", out, (unsigned long long)P.bits);
    } else {
        Py_INCREF(out);
        result = out;
    }
done:
    free_work(work, nwork);
    Py_XDECREF(out);
    Py_DECREF(y);
    return result;
}

CQB_VARIANT(py_q_encode, code_call, 1)
CQB_VARIANT(py_q_quantize, code_call, 0)

/* ---- batch: one stream per row, deterministic for any thread count ------------------ */

typedef struct batch_ctx {
    const cq_qpar *P;
    const double *Y;
    size_t row_stride;    /* 0: the same vector for every row */
    bitgen_t **bgs;       /* one stream per task */
    uint8_t *works;       /* n_threads work buffers */
    size_t work_stride;
    int encode;
    double *out;
    uint8_t *pay;
    size_t nbytes;
    size_t n_rows;
    size_t rows_per;      /* rows per stream (task) */
    cq_errinfo *errs;     /* per thread */
    size_t *err_task;     /* per thread: lowest failing task */
    size_t n_tasks;
    int n_threads;
} batch_ctx;

static int batch_task(void *ctx, size_t task, int thread)
{
    batch_ctx *c = (batch_ctx *)ctx;
    void *work = c->works + (size_t)thread * c->work_stride;
    cq_errinfo e;
    e.msg[0] = 0;
    int st = CQ_OK;
    size_t lo = task * c->rows_per, hi = lo + c->rows_per;
    if (hi > c->n_rows) hi = c->n_rows;
    for (size_t row = lo; row < hi && st == CQ_OK; row++) {
        const double *y = c->Y + row * c->row_stride;
        if (c->encode)
            st = cq_q_encode_par(c->P, y, c->bgs[task], work, c->pay + row * c->nbytes, &e);
        else
            st = cq_q_quantize_par(c->P, y, c->bgs[task], work, c->out + row * c->P->d, &e);
    }
    if (st != CQ_OK && task < c->err_task[thread]) {
        c->err_task[thread] = task;
        c->errs[thread] = e;
    }
    return st;
}

/* The batch over its streams: the lowest failing task's message is the one reported. */
CQB_RUNNER_STREAMS(run_batch, batch_ctx)
{
    a->bgs = bgs;
    int st = cq_parallel_for(a->n_tasks, a->n_threads, batch_task, a, it);
    if (st != CQ_OK) {
        int best = -1;
        for (int t = 0; t < a->n_threads; t++)
            if (a->err_task[t] != (size_t)-1 && (best < 0 || a->err_task[t] < a->err_task[best])) best = t;
        if (best >= 0) *err = a->errs[best];
    }
    return st;
}

static PyObject *py_q_batch(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *spec, *yo, *gens;
    Py_ssize_t n, rows_per;
    long threads;
    int encode;
    if (!PyArg_ParseTuple(args, "OOnnOlp", &spec, &yo, &n, &rows_per, &gens, &threads, &encode)) return NULL;
    if (n < 0 || rows_per < 1) return PyErr_Format(PyExc_ValueError, "need n >= 0 and rows_per_stream >= 1");
    PyArrayObject *Y = cqb_double_array(yo, "Y", 1, 2);
    if (Y == NULL) return NULL;
    int two_d = PyArray_NDIM(Y) == 2;
    Py_ssize_t d = two_d ? PyArray_DIM(Y, 1) : PyArray_DIM(Y, 0);
    PyObject *result = NULL, *streams = NULL;
    Py_ssize_t m = 0;
    uint8_t *works = NULL;
    cq_errinfo *errs = NULL;
    size_t *err_task = NULL;
    cq_qpar P;
    if (two_d && PyArray_DIM(Y, 0) != n) {
        PyErr_Format(PyExc_ValueError, "Y has %zd rows, expected %zd", (Py_ssize_t)PyArray_DIM(Y, 0), n);
        goto done;
    }
    if (cqb_qpar_resolve(spec, d, &P) < 0) goto done;
    size_t nbytes = (size_t)((P.bits + 7) / 8);
    /* before the generators are touched or anything of the output's size is allocated */
    if (check_memory((double)n * (encode ? (double)nbytes : 8.0 * (double)d), n, d) < 0) goto done;
    streams = PySequence_Fast(gens, "gens must be a sequence of numpy Generators");
    if (streams == NULL) goto done;
    m = PySequence_Fast_GET_SIZE(streams);
    Py_ssize_t n_tasks = (n + rows_per - 1) / rows_per;
    if (m != n_tasks) {
        PyErr_Format(PyExc_ValueError, "need one generator per %zd rows: %zd rows, %zd generators", rows_per, n, m);
        goto done;
    }
    npy_intp dims[2] = {n, encode ? (npy_intp)nbytes : d};
    result = PyArray_ZEROS(2, dims, encode ? NPY_UINT8 : NPY_DOUBLE, 0);
    if (result == NULL) goto done;
    int nt = cqb_threads(threads);
    if (nt > n_tasks) nt = n_tasks > 0 ? (int)n_tasks : 1;
    size_t ws = (P.work + 63) & ~(size_t)63;
    if (ws == 0) ws = 64;
    works = (uint8_t *)malloc(ws * (size_t)nt);
    errs = (cq_errinfo *)calloc((size_t)nt, sizeof(cq_errinfo));
    err_task = (size_t *)malloc(sizeof(size_t) * (size_t)nt);
    if (works == NULL || errs == NULL || err_task == NULL) {
        Py_CLEAR(result);
        PyErr_NoMemory();
        goto done;
    }
    for (int t = 0; t < nt; t++) err_task[t] = (size_t)-1;
    batch_ctx c;
    c.P = &P;
    c.Y = (const double *)PyArray_DATA(Y);
    c.row_stride = two_d ? (size_t)d : 0;
    c.bgs = NULL;
    c.works = works;
    c.work_stride = ws;
    c.encode = encode;
    c.out = encode ? NULL : (double *)PyArray_DATA((PyArrayObject *)result);
    c.pay = encode ? (uint8_t *)PyArray_DATA((PyArrayObject *)result) : NULL;
    c.nbytes = nbytes;
    c.n_rows = (size_t)n;
    c.rows_per = (size_t)rows_per;
    c.errs = errs;
    c.err_task = err_task;
    c.n_tasks = (size_t)n_tasks;
    c.n_threads = nt;
    if (cqb_call_streams(run_batch, &c, streams) < 0) Py_CLEAR(result);
done:
    free(works);
    free(errs);
    free(err_task);
    Py_XDECREF(streams);
    Py_DECREF(Y);
    return result;
}

typedef struct decode_many_args {
    const cq_qpar *P;
    const uint8_t *base;
    npy_intp m, nb;
    Py_ssize_t d;
    void *work;
    double *out;
    uint8_t *status;
} decode_many_args;

/* Decode every row; a decoder's CQ_EDECODE is that row's status, any other failure stops. */
CQB_RUNNER(run_decode_many, decode_many_args)
{
    for (npy_intp i = 0; i < a->m; i++) {
        if ((i & 1023) == 0 && cq_check_interrupt(it)) return CQ_EINTERRUPT;
        cq_errinfo e;
        e.msg[0] = 0;
        int st = cq_q_decode_par(a->P, a->base + i * a->nb, (uint64_t)a->nb, a->work, a->out, &e);
        a->status[i] = (uint8_t)st;
        if (st != CQ_OK && st != CQ_EDECODE) {
            *err = e;
            return st;
        }
        if (st == CQ_OK)
            for (Py_ssize_t t = 0; t < a->d; t++)
                if (!isfinite(a->out[t])) {
                    a->status[i] = 255; /* a decoder produced a non-finite value: a bug */
                    break;
                }
    }
    return CQ_OK;
}

typedef struct decode_sum_args {
    const cq_qpar *P;
    const uint8_t **payloads;
    const uint64_t *nbytes;
    size_t n;
    const double *w;
    void *work;
    cq_qout out;
    int fresh;
} decode_sum_args;

CQB_RUNNER(run_decode_sum, decode_sum_args)
{
    size_t bad = 0;
    int st = cq_q_decode_sum(a->P, a->payloads, a->nbytes, a->n, a->w, a->work, a->out.p, a->out.f32, a->fresh,
                             &bad, err);
    if (st != CQ_OK) {
        cq_errinfo inner = *err;
        cq_fail(err, st, "payloads[%zu]: %.200s", bad, inner.msg);
    }
    return st;
}

/* _q_decode(spec, payloads (a list), d, out, weights[, fresh]) -> out: the fused
 * decode-accumulate (fresh: out's contents are ignored, cq_q_decode_sum). */
static PyObject *decode_sum_call(PyObject *args)
{
    PyObject *spec, *list, *outo, *wo, *result = NULL;
    Py_ssize_t d;
    int fresh = 0, threads = 1;
    cq_qpar P;
    cq_qout o = {NULL, 0, CQ_QOUT_ADD, 1.0};
    if (!PyArg_ParseTuple(args, "OO!nOO|pi", &spec, &PyList_Type, &list, &d, &outo, &wo, &fresh, &threads)) return NULL;
    if (cqb_qpar_resolve(spec, d, &P) < 0 || out_vector(outo, "out", d, &o) < 0) return NULL;
    P.threads = cqb_threads(threads);
    if (o.p == NULL) return PyErr_Format(PyExc_TypeError, "out must be an array to add into, got None");
    Py_ssize_t n = PyList_GET_SIZE(list);
    PyArrayObject *w = NULL, **arrs = (PyArrayObject **)calloc((size_t)n + 1, sizeof *arrs);
    const uint8_t **ptrs = (const uint8_t **)malloc(((size_t)n + 1) * sizeof *ptrs);
    uint64_t *lens = (uint64_t *)malloc(((size_t)n + 1) * sizeof *lens);
    size_t nwork = P.work;
    void *work = alloc_work(nwork);
    if (arrs == NULL || ptrs == NULL || lens == NULL || work == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (wo != Py_None) {
        w = cqb_double_array(wo, "weights", 1, 1);
        if (w == NULL) goto done;
        if (PyArray_DIM(w, 0) != n) {
            PyErr_Format(PyExc_ValueError, "weights must have one entry per payload (%zd), got %zd", n,
                         (Py_ssize_t)PyArray_DIM(w, 0));
            goto done;
        }
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        arrs[k] = cqb_uint8_array(PyList_GET_ITEM(list, k), "payloads[k]", 1, 1);
        if (arrs[k] == NULL) goto done;
        ptrs[k] = (const uint8_t *)PyArray_DATA(arrs[k]);
        lens[k] = (uint64_t)PyArray_DIM(arrs[k], 0);
    }
    decode_sum_args a = {&P, ptrs, lens, (size_t)n, w != NULL ? (const double *)PyArray_DATA(w) : NULL, work, o,
                         fresh && n > 0};
    if (cqb_call(run_decode_sum, &a, NULL) < 0) goto done;
    Py_INCREF(outo);
    result = outo;
done:
    if (arrs != NULL)
        for (Py_ssize_t k = 0; k < n; k++) Py_XDECREF(arrs[k]);
    free(arrs);
    free(ptrs);
    free(lens);
    free_work(work, nwork);
    Py_XDECREF(w);
    return result;
}

/* Decode one payload (-> the decoded vector: _q_decode(spec, payload, d)) or every row of
 * a payload matrix (-> a uint8 status per row, 0 = decoded: _q_decode_many(spec, P (m,
 * nbytes) uint8, d)), as `many` says. */
static PyObject *decode_call(PyObject *args, int many)
{
    Py_ssize_t d;
    cq_qpar P;
    PyObject *outo;
    if (!many && PyTuple_GET_SIZE(args) >= 2 && PyList_Check(PyTuple_GET_ITEM(args, 1))) return decode_sum_call(args);
    PyArrayObject *p = parse_decode_args(args, many ? "payloads" : "payload", many ? 2 : 1, &P, &d, &outo);
    if (p == NULL) return NULL;
    cq_qout o = {NULL, 0, 0, 1.0};
    if (!many && out_vector(outo, "out", d, &o) < 0) {
        Py_DECREF(p);
        return NULL;
    }
    npy_intp dims[1] = {many ? PyArray_DIM(p, 0) : d};
    PyArrayObject *out;
    if (o.p != NULL) {
        Py_INCREF(outo);
        out = (PyArrayObject *)outo;
    } else {
        out = (PyArrayObject *)PyArray_SimpleNew(1, dims, many ? NPY_UINT8 : NPY_DOUBLE);
        if (out != NULL && !many) o.p = PyArray_DATA(out);
    }
    double *row = many ? (double *)malloc(sizeof(double) * (size_t)d) : NULL; /* one decoded row */
    size_t nwork = P.work;
    void *work = alloc_work(nwork);
    int rc = -1;
    if (out == NULL || (many && row == NULL) || work == NULL) {
        if (out != NULL) PyErr_NoMemory();
    } else if (many) {
        decode_many_args a = {&P, (const uint8_t *)PyArray_DATA(p), PyArray_DIM(p, 0), PyArray_DIM(p, 1), d, work, row,
                              (uint8_t *)PyArray_DATA(out)};
        rc = cqb_call(run_decode_many, &a, NULL);
    } else {
        decode_args a = {&P, (const uint8_t *)PyArray_DATA(p), (uint64_t)PyArray_DIM(p, 0), work, o};
        rc = cqb_call(run_decode, &a, NULL);
    }
    free(row);
    free_work(work, nwork);
    Py_DECREF(p);
    if (rc < 0) Py_CLEAR(out);
    return (PyObject *)out;
}

CQB_VARIANT(py_q_decode, decode_call, 0)
CQB_VARIANT(py_q_decode_many, decode_call, 1)

typedef struct fwht_args {
    double *x;
    size_t n;
} fwht_args;

CQB_RUNNER(run_fwht, fwht_args)
{
    cq_hadamard_fwht(a->x, a->n);
    return CQ_OK;
}

static PyObject *py_q_fwht(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *xo;
    if (!PyArg_ParseTuple(args, "O", &xo)) return NULL;
    PyArrayObject *x = cqb_double_array(xo, "x", 1, 1);
    if (x == NULL) return NULL;
    npy_intp n = PyArray_DIM(x, 0);
    if (!cq_hadamard_is_pow2((size_t)n)) {
        Py_DECREF(x);
        return PyErr_Format(PyExc_ValueError, "the length must be a power of two, got %zd", (Py_ssize_t)n);
    }
    PyArrayObject *out = (PyArrayObject *)PyArray_NewCopy(x, NPY_CORDER);
    Py_DECREF(x);
    if (out == NULL) return NULL;
    fwht_args a = {(double *)PyArray_DATA(out), (size_t)n};
    if (cqb_call(run_fwht, &a, NULL) < 0) Py_CLEAR(out);
    return (PyObject *)out;
}

/* _q_fwht_inplace(x): transform a C-contiguous float64 array in place (benchmark). */
static PyObject *py_q_fwht_inplace(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *xo;
    if (!PyArg_ParseTuple(args, "O", &xo)) return NULL;
    if (!PyArray_Check(xo) || PyArray_TYPE((PyArrayObject *)xo) != NPY_DOUBLE ||
        !PyArray_IS_C_CONTIGUOUS((PyArrayObject *)xo) || !PyArray_ISWRITEABLE((PyArrayObject *)xo) ||
        PyArray_NDIM((PyArrayObject *)xo) != 1)
        return PyErr_Format(PyExc_TypeError, "expected a writeable 1-D C-contiguous float64 array");
    npy_intp n = PyArray_DIM((PyArrayObject *)xo, 0);
    if (!cq_hadamard_is_pow2((size_t)n)) return PyErr_Format(PyExc_ValueError, "the length must be a power of two");
    fwht_args a = {(double *)PyArray_DATA((PyArrayObject *)xo), (size_t)n};
    if (cqb_call(run_fwht, &a, NULL) < 0) return NULL;
    Py_RETURN_NONE;
}

/* ---- the all-reduce mode's shared-grid rounding (cq_q_grid.c) ---------------------------- */

typedef struct grid_args {
    cq_qin y;
    double *norms;
    int inf_norm;
    const void *ints_in;
    void *ints;
    size_t d, b;
    const double *scale;
    uint32_t s, n;
    uint64_t key;
    int width;
    cq_qout out;
} grid_args;

CQB_RUNNER(run_grid_norms, grid_args)
{
    return cq_q_grid_norms(a->y, a->d, a->b, a->inf_norm, a->norms, err);
}

CQB_RUNNER(run_grid_round, grid_args)
{
    return cq_q_grid_round(a->y, a->d, a->b, a->scale, a->s, a->key, a->width, a->ints, err);
}

CQB_RUNNER(run_grid_decode, grid_args)
{
    return cq_q_grid_decode(a->ints_in, a->width, a->d, a->b, a->scale, a->s, a->n, &a->out, err);
}

/* The scales of ceil(d / b) buckets as a float64 vector (new reference), NULL with an error. */
static PyArrayObject *grid_scales(PyObject *obj, Py_ssize_t d, Py_ssize_t b)
{
    if (b < 1) return (PyArrayObject *)PyErr_Format(PyExc_ValueError, "b must be >= 1, got %zd", b);
    PyArrayObject *sc = cqb_double_array(obj, "scale", 1, 1);
    Py_ssize_t nb = d == 0 ? 0 : (d - 1) / b + 1;
    if (sc != NULL && PyArray_DIM(sc, 0) != nb) {
        PyErr_Format(PyExc_ValueError, "scale must have one entry per bucket (%zd), got %zd", nb,
                     (Py_ssize_t)PyArray_DIM(sc, 0));
        Py_CLEAR(sc);
    }
    return sc;
}

static int grid_width_type(int width)
{
    return width == 1 ? NPY_INT8 : width == 4 ? NPY_INT32 : width == 8 ? NPY_INT64 : -1;
}

/* _q_grid_norms(y, b, inf_norm) -> float64 norms of the buckets (cq_q_grid_norms). */
static PyObject *py_q_grid_norms(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *yo;
    Py_ssize_t b;
    int inf_norm;
    if (!PyArg_ParseTuple(args, "Onp", &yo, &b, &inf_norm)) return NULL;
    if (b < 1) return PyErr_Format(PyExc_ValueError, "b must be >= 1, got %zd", b);
    PyArrayObject *y = real_vector(yo, "y");
    if (y == NULL) return NULL;
    npy_intp d = PyArray_DIM(y, 0), nb = d == 0 ? 0 : (d - 1) / b + 1;
    PyArrayObject *norms = (PyArrayObject *)PyArray_SimpleNew(1, &nb, NPY_DOUBLE);
    if (norms != NULL) {
        grid_args a = {{PyArray_DATA(y), PyArray_TYPE(y) == NPY_FLOAT}, (double *)PyArray_DATA(norms), inf_norm,
                       NULL, NULL, (size_t)d, (size_t)b, NULL, 0, 0, 0, 0, {NULL, 0, CQ_QOUT_SET, 1.0}};
        if (cqb_call(run_grid_norms, &a, NULL) < 0) Py_CLEAR(norms);
    }
    Py_DECREF(y);
    return (PyObject *)norms;
}

/* _q_grid_round(y, b, scale, s, key, width) -> int8/int32/int64 levels (cq_q_grid_round). */
static PyObject *py_q_grid_round(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *yo, *so;
    Py_ssize_t b;
    unsigned int s;
    unsigned long long key;
    int width;
    if (!PyArg_ParseTuple(args, "OnOIKi", &yo, &b, &so, &s, &key, &width)) return NULL;
    if (grid_width_type(width) < 0) return PyErr_Format(PyExc_ValueError, "width must be 1, 4 or 8, got %d", width);
    PyArrayObject *y = real_vector(yo, "y");
    if (y == NULL) return NULL;
    PyArrayObject *sc = grid_scales(so, PyArray_DIM(y, 0), b), *ints = NULL;
    if (sc != NULL) {
        npy_intp dim = PyArray_DIM(y, 0);
        ints = (PyArrayObject *)PyArray_SimpleNew(1, &dim, grid_width_type(width));
    }
    if (ints != NULL) {
        grid_args a = {{PyArray_DATA(y), PyArray_TYPE(y) == NPY_FLOAT}, NULL, 0, NULL, PyArray_DATA(ints),
                       (size_t)PyArray_DIM(y, 0), (size_t)b, (const double *)PyArray_DATA(sc), s, 1, key, width,
                       {NULL, 0, CQ_QOUT_SET, 1.0}};
        if (cqb_call(run_grid_round, &a, NULL) < 0) Py_CLEAR(ints);
    }
    Py_DECREF(y);
    Py_XDECREF(sc);
    return (PyObject *)ints;
}

/* _q_grid_decode(ints, b, scale, s, n, out[, add]) -> out (cq_q_grid_decode; add: out +=). */
static PyObject *py_q_grid_decode(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *io, *so, *outo;
    Py_ssize_t b;
    unsigned int s, n;
    int add = 0;
    if (!PyArg_ParseTuple(args, "OnOIIO|p", &io, &b, &so, &s, &n, &outo, &add)) return NULL;
    PyArrayObject *ints = (PyArrayObject *)io;
    int width = PyArray_Check(io) ? (int)PyArray_ITEMSIZE(ints) : 0;
    if (!PyArray_Check(io) || PyArray_NDIM(ints) != 1 || grid_width_type(width) != PyArray_TYPE(ints) ||
        !PyArray_IS_C_CONTIGUOUS(ints) || !PyArray_ISNOTSWAPPED(ints))
        return PyErr_Format(PyExc_TypeError, "ints must be a C-contiguous int8, int32 or int64 vector, got %R",
                            PyArray_Check(io) ? (PyObject *)PyArray_DESCR(ints) : (PyObject *)Py_TYPE(io));
    Py_ssize_t d = PyArray_DIM(ints, 0);
    cq_qout o = {NULL, 0, add ? CQ_QOUT_ADD : CQ_QOUT_SET, 1.0};
    if (out_vector(outo, "out", d, &o) < 0) return NULL;
    if (o.p == NULL) return PyErr_Format(PyExc_TypeError, "out must be a float32 or float64 array, got None");
    PyArrayObject *sc = grid_scales(so, d, b);
    if (sc == NULL) return NULL;
    grid_args a = {{NULL, 0}, NULL, 0, PyArray_DATA(ints), NULL, (size_t)d, (size_t)b, (const double *)PyArray_DATA(sc), s, n, 0,
                   width, o};
    int st = cqb_call(run_grid_decode, &a, NULL);
    Py_DECREF(sc);
    if (st < 0) return NULL;
    Py_INCREF(outo);
    return outo;
}

PyMethodDef cqb_quantize_methods[] = {
    CQB_METHOD(_q_bits, "_q_bits(spec, d) -> message length in bits."),
    CQB_METHOD(_q_info, "_q_info(spec, d) -> dict of resolved parameters."),
    CQB_METHOD(_q_encode, "_q_encode(spec, y, gen) -> (payload, nbits)."),
    CQB_METHOD(_q_decode, "_q_decode(spec, payload, d) -> y_hat."),
    CQB_METHOD(_q_quantize, "_q_quantize(spec, y, gen) -> y_hat (fast path)."),
    CQB_METHOD(_q_batch,
               "_q_batch(spec, Y, n, rows_per_stream, gens, threads, encode) -> (n, d) y_hat or (n, nbytes) payloads."),
    CQB_METHOD(_q_decode_many, "_q_decode_many(spec, P, d) -> uint8 status per row."),
    CQB_METHOD(_q_fwht, "_q_fwht(x) -> H x (unnormalised Walsh-Hadamard)."),
    CQB_METHOD(_q_fwht_inplace, "_q_fwht_inplace(x): x <- H x."),
    CQB_METHOD(_q_grid_norms, "_q_grid_norms(y, b, inf_norm) -> float64 bucket norms (all-reduce mode)."),
    CQB_METHOD(_q_grid_round, "_q_grid_round(y, b, scale, s, key, width) -> integer levels (all-reduce mode)."),
    CQB_METHOD(_q_grid_decode, "_q_grid_decode(ints, b, scale, s, n, out[, add]) -> out (all-reduce mode)."),
    CQB_METHOD(_q_simd_level, "_q_simd_level() -> build level of the typed kernels (0 portable, 1 AVX2, 2 AVX-512)."),
    CQB_METHOD(_q_scratch_kept, "_q_scratch_kept() -> bytes of kernel scratch this thread keeps for its next call."),
    CQB_METHODS_END,
};
