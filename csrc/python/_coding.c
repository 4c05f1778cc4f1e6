/*
 * _coding.c -- bindings for convq.coding: the LSB-first bit writer/reader, the
 * fixed-weight range coder, and the streaming-read probe of the benchmark harness.
 */
#include "bind.h"
#include "core/cq_bench.h"
#include "core/cq_bitio.h"
#include "core/cq_rangecoder.h"

/* ---- bit writer / reader ----------------------------------------------------------- */

typedef struct fields_args {
    const int64_t *vals; /* put: the values (checked to fit their widths) */
    const int64_t *wid;  /* field widths, each in 1..32 */
    size_t n;
    uint64_t nbits;      /* the message length */
    cq_bitwriter *bw;    /* put */
    cq_bitreader *br;    /* get */
    int64_t *out;        /* get */
} fields_args;

CQB_RUNNER(run_fields_put, fields_args)
{
    for (size_t i = 0; i < a->n; i++) cq_bw_put(a->bw, (uint64_t)a->vals[i], (unsigned)a->wid[i]);
    return cq_bw_finish(a->bw) == a->nbits ? CQ_OK : CQ_EOVERFLOW;
}

/* The fields must use exactly nbits bits, with zero padding after them. */
CQB_RUNNER(run_fields_get, fields_args)
{
    for (size_t i = 0; i < a->n; i++) a->out[i] = cq_br_get(a->br, (unsigned)a->wid[i]);
    return cq_br_check_end(a->br, err);
}

/* _bits_write(values, widths) -> (bytes, nbits): LSB-first fields. */
static PyObject *py_bits_write(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *vo, *wo;
    if (!PyArg_ParseTuple(args, "OO", &vo, &wo)) return NULL;
    PyObject *result = NULL;
    PyArrayObject *v = cqb_int64_array(vo, "values", 1, 1);
    PyArrayObject *w = v ? cqb_int64_array(wo, "widths", 1, 1) : NULL;
    if (w == NULL) goto done;
    npy_intp n = PyArray_DIM(v, 0);
    const int64_t *vals = (const int64_t *)PyArray_DATA(v);
    const int64_t *wid = (const int64_t *)PyArray_DATA(w);
    if (PyArray_DIM(w, 0) != n) {
        PyErr_Format(PyExc_ValueError, "values and widths differ in length: %zd vs %zd", (Py_ssize_t)n,
                     (Py_ssize_t)PyArray_DIM(w, 0));
        goto done;
    }
    uint64_t total = 0;
    for (npy_intp i = 0; i < n; i++) {
        if (wid[i] < 1 || wid[i] > 32) {
            PyErr_Format(PyExc_ValueError, "widths must be in 1..32, got %lld at %zd", (long long)wid[i], (Py_ssize_t)i);
            goto done;
        }
        if (vals[i] < 0 || (uint64_t)vals[i] >> wid[i]) {
            PyErr_Format(PyExc_ValueError, "value %lld at %zd does not fit in %lld bits", (long long)vals[i],
                         (Py_ssize_t)i, (long long)wid[i]);
            goto done;
        }
        total += (uint64_t)wid[i];
    }
    PyObject *bytes = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)((total + 7) / 8));
    if (bytes == NULL) goto done;
    cq_bitwriter bw;
    cq_bw_init(&bw, (uint8_t *)PyBytes_AS_STRING(bytes), (size_t)((total + 7) / 8));
    fields_args a = {vals, wid, (size_t)n, total, &bw, NULL, NULL};
    if (cqb_call(run_fields_put, &a, NULL) < 0) {
        Py_DECREF(bytes);
        goto done;
    }
    result = Py_BuildValue("(NK)", bytes, (unsigned long long)total);
done:
    Py_XDECREF(v);
    Py_XDECREF(w);
    return result;
}

/* _bits_read(payload, nbits, widths) -> int64 values; DecodeError on a wrong payload
 * length, on reading past nbits, on unread bits, or on non-zero padding. */
static PyObject *py_bits_read(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *po, *wo;
    unsigned long long nbits;
    if (!PyArg_ParseTuple(args, "OKO", &po, &nbits, &wo)) return NULL;
    PyArrayObject *out = NULL;
    PyArrayObject *p = cqb_uint8_array(po, "payload", 1, 1);
    PyArrayObject *w = p ? cqb_int64_array(wo, "widths", 1, 1) : NULL;
    if (w == NULL) goto done;
    cq_errinfo err;
    npy_intp n = PyArray_DIM(w, 0);
    const int64_t *wid = (const int64_t *)PyArray_DATA(w);
    if ((uint64_t)PyArray_DIM(p, 0) != (nbits + 7) / 8) {
        cq_fail(&err, CQ_EDECODE, "payload has %lld bytes, a %llu-bit message needs %llu",
                (long long)PyArray_DIM(p, 0), nbits, (nbits + 7) / 8);
        cqb_raise(CQ_EDECODE, &err);
        goto done;
    }
    for (npy_intp i = 0; i < n; i++) {
        if (wid[i] < 1 || wid[i] > 32) {
            PyErr_Format(PyExc_ValueError, "widths must be in 1..32, got %lld", (long long)wid[i]);
            goto done;
        }
    }
    npy_intp dims[1] = {n};
    out = (PyArrayObject *)PyArray_SimpleNew(1, dims, NPY_INT64);
    if (out == NULL) goto done;
    cq_bitreader br;
    cq_br_init(&br, (const uint8_t *)PyArray_DATA(p), nbits);
    fields_args a = {NULL, wid, (size_t)n, (uint64_t)nbits, NULL, &br, (int64_t *)PyArray_DATA(out)};
    if (cqb_call(run_fields_get, &a, NULL) < 0) Py_CLEAR(out);
done:
    Py_XDECREF(p);
    Py_XDECREF(w);
    return (PyObject *)out;
}

/* ---- fixed-weight range coder ---------------------------------------------------- */

static PyObject *py_fwrc_field_bits(PyObject *self, PyObject *args)
{
    (void)self;
    unsigned long long n, k;
    if (!PyArg_ParseTuple(args, "KK", &n, &k)) return NULL;
    if (k > n) return PyErr_Format(PyExc_ValueError, "k=%llu exceeds n=%llu", k, n);
    return PyLong_FromUnsignedLongLong(cq_fwrc_field_bits(n, k));
}

static PyObject *py_log2_binom(PyObject *self, PyObject *args)
{
    (void)self;
    unsigned long long n, k;
    if (!PyArg_ParseTuple(args, "KK", &n, &k)) return NULL;
    return PyFloat_FromDouble(cq_log2_binom(n, k));
}

/* _fwrc_encode(string uint8 (0/1), k) -> (bytes, nbits); nbits is the field length. */
typedef struct fwrc_enc_args {
    const uint8_t *string;
    uint64_t n, k, field;
    cq_bitwriter *bw;
} fwrc_enc_args;

CQB_RUNNER(run_fwrc_encode, fwrc_enc_args)
{
    int st = cq_fwrc_encode(a->string, a->n, a->k, a->bw, err);
    if (st == CQ_OK && cq_bw_finish(a->bw) != a->field) st = CQ_EOVERFLOW;
    return st;
}

static PyObject *py_fwrc_encode(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *so;
    unsigned long long k;
    if (!PyArg_ParseTuple(args, "OK", &so, &k)) return NULL;
    PyArrayObject *s = cqb_uint8_array(so, "string", 1, 1);
    if (s == NULL) return NULL;
    uint64_t n = (uint64_t)PyArray_DIM(s, 0);
    if (k > n) {
        Py_DECREF(s);
        return PyErr_Format(PyExc_ValueError, "k=%llu exceeds the string length %llu", k, (unsigned long long)n);
    }
    uint64_t field = cq_fwrc_field_bits(n, k);
    PyObject *bytes = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)((field + 7) / 8));
    if (bytes == NULL) {
        Py_DECREF(s);
        return NULL;
    }
    cq_bitwriter bw;
    cq_bw_init(&bw, (uint8_t *)PyBytes_AS_STRING(bytes), (size_t)((field + 7) / 8));
    fwrc_enc_args a = {(const uint8_t *)PyArray_DATA(s), n, k, field, &bw};
    int rc = cqb_call(run_fwrc_encode, &a, NULL);
    Py_DECREF(s);
    if (rc < 0) {
        Py_DECREF(bytes);
        return NULL;
    }
    return Py_BuildValue("(NK)", bytes, (unsigned long long)field);
}

/* _fwrc_decode(payload, n, k) -> uint8 string; DecodeError if not canonical. */
typedef struct fwrc_dec_args {
    cq_bitreader *br;
    uint64_t n, k, field;
    uint8_t *out;
} fwrc_dec_args;

CQB_RUNNER(run_fwrc_decode, fwrc_dec_args)
{
    int st = cq_fwrc_decode(a->br, a->n, a->k, a->out, err);
    if (st == CQ_OK && !cq_br_padding_ok(a->br))
        st = cq_fail(err, CQ_EDECODE, "non-zero padding bits after the %llu-bit field", (unsigned long long)a->field);
    return st;
}

static PyObject *py_fwrc_decode(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *po;
    unsigned long long n, k;
    if (!PyArg_ParseTuple(args, "OKK", &po, &n, &k)) return NULL;
    if (k > n) return PyErr_Format(PyExc_ValueError, "k=%llu exceeds n=%llu", k, n);
    PyArrayObject *p = cqb_uint8_array(po, "payload", 1, 1);
    if (p == NULL) return NULL;
    uint64_t field = cq_fwrc_field_bits(n, k);
    cq_errinfo err;
    err.msg[0] = 0;
    if ((uint64_t)PyArray_DIM(p, 0) != (field + 7) / 8) {
        cq_fail(&err, CQ_EDECODE, "payload has %lld bytes, the field needs %llu",
                (long long)PyArray_DIM(p, 0), (unsigned long long)((field + 7) / 8));
        Py_DECREF(p);
        return cqb_raise(CQ_EDECODE, &err);
    }
    npy_intp dims[1] = {(npy_intp)n};
    PyArrayObject *out = (PyArrayObject *)PyArray_SimpleNew(1, dims, NPY_UINT8);
    if (out == NULL) {
        Py_DECREF(p);
        return NULL;
    }
    cq_bitreader br;
    cq_br_init(&br, (const uint8_t *)PyArray_DATA(p), field);
    fwrc_dec_args a = {&br, n, k, field, (uint8_t *)PyArray_DATA(out)};
    int rc = cqb_call(run_fwrc_decode, &a, NULL);
    Py_DECREF(p);
    if (rc < 0) {
        Py_DECREF(out);
        return NULL;
    }
    return (PyObject *)out;
}

/* ---- benchmark probe ---------------------------------------------------------------- */

typedef struct bench_args {
    const double *x;
    size_t n;
    int threads;
    double sum;
} bench_args;

CQB_RUNNER(run_bench_read, bench_args)
{
    a->sum = cq_bench_read_sum_threads(a->x, a->n, a->threads);
    return CQ_OK;
}

static PyObject *py_bench_read(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *xo;
    long threads;
    if (!PyArg_ParseTuple(args, "Ol", &xo, &threads)) return NULL;
    if (!PyArray_Check(xo) || PyArray_TYPE((PyArrayObject *)xo) != NPY_DOUBLE ||
        !PyArray_IS_C_CONTIGUOUS((PyArrayObject *)xo))
        return PyErr_Format(PyExc_TypeError, "expected a C-contiguous float64 array");
    PyArrayObject *x = (PyArrayObject *)xo;
    bench_args a = {(const double *)PyArray_DATA(x), (size_t)PyArray_SIZE(x), cqb_threads(threads), 0.0};
    if (cqb_call(run_bench_read, &a, NULL) < 0) return NULL;
    return PyFloat_FromDouble(a.sum);
}

PyMethodDef cqb_coding_methods[] = {
    CQB_METHOD(_bits_write, "_bits_write(values, widths) -> (bytes, nbits)."),
    CQB_METHOD(_bits_read, "_bits_read(payload, nbits, widths) -> values."),
    CQB_METHOD(_fwrc_field_bits, "_fwrc_field_bits(n, k): field length in bits."),
    CQB_METHOD(_log2_binom, "_log2_binom(n, k): log2 C(n, k)."),
    CQB_METHOD(_fwrc_encode, "_fwrc_encode(string, k) -> (bytes, nbits)."),
    CQB_METHOD(_fwrc_decode, "_fwrc_decode(payload, n, k) -> string."),
    CQB_METHOD(_bench_read, "_bench_read(x, threads): streaming sum (bandwidth probe)."),
    CQB_METHODS_END,
};
