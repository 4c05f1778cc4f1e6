/*
 * _sampling.c -- bindings of the sampling kernels (csrc/sampling/cq_sampling.c). Private
 * entry points used by convq.sampling, which validates everything user-facing and builds
 * the tuples below (their NumPy twins, taking the same tuples, are in convq/slow/sampling.py):
 *   body  = (lo|None, hi|None, centers (nb, n), radii (nb,), A (m, n), AT (n, m), b (m,), exact_cube)
 *   dens  = (kind, n, mean|None, prec|None, prec_diag|None, c, power, X|None, XT|None, y|None)
 *   walk  = (method, delta, offset|None, continuous_time, lazy, n_steps, thin, burn_in)
 * `kind` and `method` are the constants cqb_sampling_constants exports (SMP_DENS_<NAME>,
 * SMP_WALK_<NAME>), generated from the lists in cq_sampling.h.
 */
#include "bind.h"
#include "sampling/cq_sampling.h"

#define MAX_HOLD 16

typedef struct holder {
    PyArrayObject *a[MAX_HOLD];
    int n;
} holder;

static void hold_release(holder *h)
{
    for (int i = 0; i < h->n; i++) Py_XDECREF(h->a[i]);
    h->n = 0;
}

/* Optional float64 array: None -> NULL data. Returns 0 on success, -1 with an exception. */
static int opt_array(holder *h, PyObject *o, const char *name, int nd, const double **out, npy_intp *dims)
{
    *out = NULL;
    if (dims != NULL)
        for (int i = 0; i < nd; i++) dims[i] = 0;
    if (o == Py_None) return 0;
    PyArrayObject *a = cqb_double_array(o, name, nd, nd);
    if (a == NULL) return -1;
    h->a[h->n++] = a;
    *out = (const double *)PyArray_DATA(a);
    if (dims != NULL)
        for (int i = 0; i < nd; i++) dims[i] = PyArray_DIM(a, i);
    return 0;
}

static int parse_body(PyObject *t, holder *h, cq_smp_body *b, size_t n)
{
    PyObject *lo, *hi, *cen, *rad, *A, *AT, *bb;
    int exact;
    if (!PyArg_ParseTuple(t, "OOOOOOOi", &lo, &hi, &cen, &rad, &A, &AT, &bb, &exact)) return -1;
    npy_intp d1[1] = {0}, d2[2] = {0, 0}, d3[2] = {0, 0}, d4[2] = {0, 0}, d5[1] = {0}, d6[1] = {0}, d7[1] = {0};
    memset(b, 0, sizeof(*b));
    b->n = n;
    if (opt_array(h, lo, "lo", 1, &b->lo, d1) < 0 || opt_array(h, hi, "hi", 1, &b->hi, d6) < 0) return -1;
    if ((b->lo == NULL) != (b->hi == NULL) || (b->lo && ((size_t)d1[0] != n || (size_t)d6[0] != n))) {
        PyErr_SetString(PyExc_ValueError, "body box bounds: expected two arrays of the dimension");
        return -1;
    }
    if (opt_array(h, cen, "centers", 2, &b->centers, d2) < 0 || opt_array(h, rad, "radii", 1, &b->radii, d5) < 0)
        return -1;
    if (b->centers == NULL || b->radii == NULL || (d2[0] > 0 && (size_t)d2[1] != n) || d5[0] != d2[0]) {
        PyErr_SetString(PyExc_ValueError, "body balls: expected centers (nb, n) and radii (nb,)");
        return -1;
    }
    b->n_balls = (size_t)d2[0];
    if (opt_array(h, A, "A", 2, &b->A, d3) < 0 || opt_array(h, AT, "AT", 2, &b->AT, d4) < 0 ||
        opt_array(h, bb, "b", 1, &b->b, d7) < 0)
        return -1;
    if (b->A == NULL || b->AT == NULL || b->b == NULL || (d3[0] > 0 && (size_t)d3[1] != n) || d4[1] != d3[0] ||
        (d3[0] > 0 && (size_t)d4[0] != n) || d7[0] != d3[0]) {
        PyErr_SetString(PyExc_ValueError, "body polytope: expected A (m, n), AT (n, m), b (m,)");
        return -1;
    }
    b->m = (size_t)d3[0];
    b->exact_cube = exact;
    return 0;
}

static int parse_density(PyObject *t, holder *h, cq_smp_density *d, size_t *n_out)
{
    PyObject *mean, *prec, *pd, *X, *XT, *y;
    int kind, power;
    Py_ssize_t n;
    double c;
    if (!PyArg_ParseTuple(t, "inOOOdiOOO", &kind, &n, &mean, &prec, &pd, &c, &power, &X, &XT, &y)) return -1;
    if (n < 1 || kind < 0 || kind >= CQ_DENS_COUNT || (kind == CQ_DENS_EXPNORM && power != 1 && power != 2)) {
        PyErr_SetString(PyExc_ValueError, "bad density description");
        return -1;
    }
    memset(d, 0, sizeof(*d));
    d->kind = kind;
    d->n = (size_t)n;
    d->c = c;
    d->power = power;
    npy_intp dm[1] = {0}, dp[2] = {0, 0}, dd[1] = {0}, dx[2] = {0, 0}, dxt[2] = {0, 0}, dy[1] = {0};
    if (opt_array(h, mean, "mean", 1, &d->mean, dm) < 0 || opt_array(h, prec, "prec", 2, &d->prec, dp) < 0 ||
        opt_array(h, pd, "prec_diag", 1, &d->prec_diag, dd) < 0 || opt_array(h, X, "X", 2, &d->X, dx) < 0 ||
        opt_array(h, XT, "XT", 2, &d->XT, dxt) < 0 || opt_array(h, y, "y", 1, &d->y, dy) < 0)
        return -1;
    if ((d->mean && dm[0] != n) || (d->prec && (dp[0] != n || dp[1] != n)) || (d->prec_diag && dd[0] != n) ||
        (d->prec && !d->prec_diag)) {
        PyErr_SetString(PyExc_ValueError, "density: mean/precision shapes do not match the dimension");
        return -1;
    }
    if (kind == CQ_DENS_LOGISTIC) {
        if (!d->X || !d->XT || !d->y || dx[1] != n || dxt[0] != n || dxt[1] != dx[0] || dy[0] != dx[0]) {
            PyErr_SetString(PyExc_ValueError, "density: logistic data shapes do not match");
            return -1;
        }
        d->N = (size_t)dx[0];
    }
    *n_out = (size_t)n;
    return 0;
}

typedef struct {
    const cq_smp_body *body;
    const cq_smp_density *dens;
    const cq_smp_walk *walk;
    const double *x0;
    const int64_t *k0;
    int threads;
    double *samples;
    int64_t *indices;
    double *times;
    int64_t *nacc, *nprop;
} run_args;

static int run_walk(void *p, bitgen_t **streams, size_t n_streams, cq_interrupt *it, cq_errinfo *err)
{
    run_args *a = (run_args *)p;
    return cq_smp_run(a->body, a->dens, a->walk, n_streams, a->x0, a->k0, streams, a->threads, a->samples,
                      a->indices, a->times, a->nacc, a->nprop, it, err);
}

/* _smp_run(body, dens, walk, x0 (c, n), k0 (c, n) int64, generators, threads)
 *   -> (samples, indices|None, times|None, n_accept, n_prop) */
static PyObject *py_smp_run(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *bt, *dt, *wt, *x0o, *k0o, *gens;
    long threads;
    if (!PyArg_ParseTuple(args, "OOOOOOl", &bt, &dt, &wt, &x0o, &k0o, &gens, &threads)) return NULL;
    holder h = {{0}, 0};
    PyObject *result = NULL;
    cq_smp_density dens;
    cq_smp_body body;
    cq_smp_walk walk;
    size_t n;
    PyArrayObject *k0 = NULL, *samples = NULL, *indices = NULL, *times = NULL, *nacc = NULL, *nprop = NULL;
    Py_ssize_t n_chains = 0;
    if (parse_density(dt, &h, &dens, &n) < 0 || parse_body(bt, &h, &body, n) < 0) goto done;
    {
        PyObject *off;
        Py_ssize_t ns, thin, burn;
        memset(&walk, 0, sizeof(walk));
        if (!PyArg_ParseTuple(wt, "idOiinnn", &walk.method, &walk.delta, &off, &walk.continuous_time, &walk.lazy,
                              &ns, &thin, &burn))
            goto done;
        if (ns < 0 || thin < 1 || burn < 0 || walk.method < 0 || walk.method >= CQ_WALK_COUNT) {
            PyErr_SetString(PyExc_ValueError, "bad walk description");
            goto done;
        }
        walk.n_steps = (size_t)ns;
        walk.thin = (size_t)thin;
        walk.burn_in = (size_t)burn;
        npy_intp od[1] = {0};
        if (opt_array(&h, off, "offset", 1, &walk.offset, od) < 0) goto done;
        if (walk.method == CQ_WALK_GRID && (walk.offset == NULL || (size_t)od[0] != n)) {
            PyErr_SetString(PyExc_ValueError, "grid walk needs an offset of the dimension");
            goto done;
        }
    }
    npy_intp xd[2] = {0, 0};
    const double *x0;
    if (opt_array(&h, x0o, "x0", 2, &x0, xd) < 0) goto done;
    k0 = cqb_int64_array(k0o, "k0", 2, 2);
    if (k0 == NULL || x0 == NULL) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "x0 is required");
        goto done;
    }
    if ((size_t)xd[1] != n || PyArray_DIM(k0, 0) != xd[0] || (size_t)PyArray_DIM(k0, 1) != n) {
        PyErr_SetString(PyExc_ValueError, "x0 and k0 must have shape (n_chains, n)");
        goto done;
    }
    n_chains = PySequence_Size(gens);
    if (n_chains < 0) goto done;
    if (n_chains != xd[0]) {
        PyErr_Format(PyExc_ValueError, "need one generator per chain: %zd chains, %zd generators", (Py_ssize_t)xd[0],
                     n_chains);
        goto done;
    }
    npy_intp n_kept = (npy_intp)(walk.n_steps / walk.thin);
    /* convq.sampling checks sizes against the machine's memory first; this guard only
     * keeps n_chains * n_kept * n * 8 bytes from overflowing if it is called directly */
    if (n_kept > 0 && ((size_t)n_chains > (size_t)PY_SSIZE_T_MAX / (size_t)n_kept ||
                       (size_t)n_chains * (size_t)n_kept > (size_t)PY_SSIZE_T_MAX / 8 / n)) {
        PyErr_Format(PyExc_ValueError, "the output of %zd chains x %zd kept states x %zu coordinates does not fit "
                     "in memory: lower n_chains or n_steps, or raise thin", n_chains, (Py_ssize_t)n_kept, n);
        goto done;
    }
    npy_intp sd[3] = {n_chains, n_kept, (npy_intp)n};
    npy_intp td[2] = {n_chains, n_kept};
    npy_intp cd[1] = {n_chains};
    samples = (PyArrayObject *)PyArray_SimpleNew(3, sd, NPY_DOUBLE);
    if (walk.method == CQ_WALK_GRID) indices = (PyArrayObject *)PyArray_SimpleNew(3, sd, NPY_INT64);
    if (walk.continuous_time) times = (PyArrayObject *)PyArray_SimpleNew(2, td, NPY_DOUBLE);
    nacc = (PyArrayObject *)PyArray_ZEROS(1, cd, NPY_INT64, 0);
    nprop = (PyArrayObject *)PyArray_ZEROS(1, cd, NPY_INT64, 0);
    if (samples == NULL || nacc == NULL || nprop == NULL || (walk.method == CQ_WALK_GRID && indices == NULL) ||
        (walk.continuous_time && times == NULL))
        goto done;
    run_args a = {&body, &dens, &walk, x0, (const int64_t *)PyArray_DATA(k0), cqb_threads(threads),
                  (double *)PyArray_DATA(samples), indices ? (int64_t *)PyArray_DATA(indices) : NULL,
                  times ? (double *)PyArray_DATA(times) : NULL, (int64_t *)PyArray_DATA(nacc),
                  (int64_t *)PyArray_DATA(nprop)};
    if (cqb_call_streams(run_walk, &a, gens) < 0) goto done;
    result = Py_BuildValue("(OOOOO)", samples, indices ? (PyObject *)indices : Py_None,
                           times ? (PyObject *)times : Py_None, nacc, nprop);
done:
    Py_XDECREF(k0);
    Py_XDECREF(samples);
    Py_XDECREF(indices);
    Py_XDECREF(times);
    Py_XDECREF(nacc);
    Py_XDECREF(nprop);
    hold_release(&h);
    return result;
}

typedef struct {
    const cq_smp_body *body;
    const cq_smp_density *dens;
    double delta;
    const double *off;
    size_t rows;
    const int64_t *k;
    double *out;
    uint8_t *in_grid;
} moves_args;

static int run_moves(void *p, bitgen_t *bg, cq_interrupt *it, cq_errinfo *err)
{
    (void)bg;
    (void)it;
    moves_args *a = (moves_args *)p;
    return cq_smp_grid_moves(a->body, a->dens, a->delta, a->off, a->rows, a->k, a->out, a->in_grid, err);
}

/* _smp_grid_moves(body, dens, delta, offset, k (rows, n) int64) -> (probs (rows, 2n), in_grid (rows,) bool) */
static PyObject *py_smp_grid_moves(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *bt, *dt, *offo, *ko;
    double delta;
    if (!PyArg_ParseTuple(args, "OOdOO", &bt, &dt, &delta, &offo, &ko)) return NULL;
    holder h = {{0}, 0};
    PyObject *result = NULL;
    PyArrayObject *k = NULL, *out = NULL, *ing = NULL;
    cq_smp_density dens;
    cq_smp_body body;
    size_t n;
    const double *off;
    npy_intp od[1] = {0};
    if (parse_density(dt, &h, &dens, &n) < 0 || parse_body(bt, &h, &body, n) < 0) goto done;
    if (opt_array(&h, offo, "offset", 1, &off, od) < 0) goto done;
    k = cqb_int64_array(ko, "k", 2, 2);
    if (k == NULL) goto done;
    if (off == NULL || (size_t)od[0] != n || (size_t)PyArray_DIM(k, 1) != n || !(delta > 0)) {
        PyErr_SetString(PyExc_ValueError, "offset/k shapes do not match the dimension, or delta <= 0");
        goto done;
    }
    npy_intp rows = PyArray_DIM(k, 0);
    npy_intp od2[2] = {rows, (npy_intp)(2 * n)};
    npy_intp gd[1] = {rows};
    out = (PyArrayObject *)PyArray_SimpleNew(2, od2, NPY_DOUBLE);
    ing = (PyArrayObject *)PyArray_SimpleNew(1, gd, NPY_BOOL);
    if (out == NULL || ing == NULL) goto done;
    moves_args a = {&body, &dens, delta, off, (size_t)rows, (const int64_t *)PyArray_DATA(k),
                    (double *)PyArray_DATA(out), (uint8_t *)PyArray_DATA(ing)};
    if (cqb_call(run_moves, &a, NULL) < 0) goto done;
    result = Py_BuildValue("(OO)", out, ing);
done:
    Py_XDECREF(k);
    Py_XDECREF(out);
    Py_XDECREF(ing);
    hold_release(&h);
    return result;
}

typedef struct {
    const cq_smp_density *dens;
    size_t rows;
    const double *x;
    double *out;
} logf_args;

static int run_logf(void *p, bitgen_t *bg, cq_interrupt *it, cq_errinfo *err)
{
    (void)bg;
    (void)it;
    logf_args *a = (logf_args *)p;
    return cq_smp_logf(a->dens, a->rows, a->x, a->out, err);
}

/* _smp_logf(dens, x (rows, n)) -> log F at each row (C full evaluation). */
static PyObject *py_smp_logf(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *dt, *xo;
    if (!PyArg_ParseTuple(args, "OO", &dt, &xo)) return NULL;
    holder h = {{0}, 0};
    PyObject *result = NULL;
    cq_smp_density dens;
    size_t n;
    const double *x;
    npy_intp xd[2] = {0, 0};
    if (parse_density(dt, &h, &dens, &n) < 0) goto done;
    if (opt_array(&h, xo, "x", 2, &x, xd) < 0) goto done;
    if (x == NULL || (size_t)xd[1] != n) {
        PyErr_SetString(PyExc_ValueError, "x must have shape (rows, n)");
        goto done;
    }
    npy_intp od[1] = {xd[0]};
    PyArrayObject *out = (PyArrayObject *)PyArray_SimpleNew(1, od, NPY_DOUBLE);
    if (out == NULL) goto done;
    logf_args a = {&dens, (size_t)xd[0], x, (double *)PyArray_DATA(out)};
    if (cqb_call(run_logf, &a, NULL) < 0) {
        Py_DECREF(out);
        goto done;
    }
    result = (PyObject *)out;
done:
    hold_release(&h);
    return result;
}

/* The C enums convq.sampling reads (never re-types), generated from the X-macro lists of
 * cq_sampling.h: SMP_DENS_<NAME> (density kinds), SMP_WALK_<NAME> (walk methods), and
 * SMP_RESYNC (proposals between recomputations of the cached log-density and slack). */
int cqb_sampling_constants(PyObject *m)
{
#define CQB_SMP_DENS_(name) \
    if (PyModule_AddIntConstant(m, "SMP_DENS_" #name, CQ_DENS_##name) < 0) return -1;
#define CQB_SMP_WALK_(name) \
    if (PyModule_AddIntConstant(m, "SMP_WALK_" #name, CQ_WALK_##name) < 0) return -1;
    CQ_SMP_DENSITY_KINDS(CQB_SMP_DENS_)
    CQ_SMP_WALK_METHODS(CQB_SMP_WALK_)
    if (PyModule_AddIntConstant(m, "SMP_RESYNC", CQ_SMP_RESYNC) < 0) return -1;
#undef CQB_SMP_DENS_
#undef CQB_SMP_WALK_
    return 0;
}

PyMethodDef cqb_sampling_methods[] = {
    {"_smp_run", py_smp_run, METH_VARARGS,
     "_smp_run(body, dens, walk, x0, k0, generators, threads) -> (samples, indices, times, n_accept, n_prop)."},
    {"_smp_grid_moves", py_smp_grid_moves, METH_VARARGS,
     "_smp_grid_moves(body, dens, delta, offset, k) -> (move probabilities (rows, 2n), in_grid)."},
    {"_smp_logf", py_smp_logf, METH_VARARGS, "_smp_logf(dens, x) -> log F(x) per row."},
    {NULL, NULL, 0, NULL},
};
