/*
 * _sampling.c -- bindings of the sampling kernels (csrc/sampling/: cq_smp_walks.c,
 * cq_smp_exact.c). Private entry points used by convq.sampling, which validates everything
 * user-facing and builds the named specs of convq/_spec.py that these read by field name
 * (their NumPy twins, taking the same specs, are in convq/slow/sampling.py):
 *   body  BodySpec(lo, hi, centers, radii, A, AT, b, exact_cube)            -> cq_smp_body
 *   dens  DensitySpec(kind, n, mean, prec, prec_diag, c, power, X, XT, y)   -> cq_smp_density
 *   walk  WalkSpec(method, delta, offset, continuous_time, lazy, n_steps, thin, burn_in) -> cq_smp_walk
 * A plain tuple is refused with a TypeError naming the spec. `kind` and `method` are the
 * constants cqb_sampling_constants exports (SMP_DENS_<NAME>, SMP_WALK_<NAME>), generated
 * from the lists in cq_sampling.h.
 */
#include <assert.h>

#include "bind.h"
#include "sampling/cq_sampling.h"

/* The most arrays one entry point holds: _smp_run's 15 spec and input arrays, k0 and its 5
 * outputs. */
#define MAX_HOLD 24

/* The arrays an entry point owns (inputs it converted, outputs it allocated), released
 * together when it returns. */
typedef struct holder {
    PyArrayObject *a[MAX_HOLD];
    int n;
} holder;

/* Keep `a` (a new reference, or NULL) until hold_release; returns `a`. */
static PyArrayObject *hold(holder *h, PyArrayObject *a)
{
    assert(h->n < MAX_HOLD);
    if (a != NULL) h->a[h->n++] = a;
    return a;
}

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
    if (hold(h, a) == NULL) return -1;
    *out = (const double *)PyArray_DATA(a);
    if (dims != NULL)
        for (int i = 0; i < nd; i++) dims[i] = PyArray_DIM(a, i);
    return 0;
}

/* ---- the named specs of convq/_spec.py, read by field name ----------------------------- */

/* A spec is a named tuple (a tuple subclass with _fields); a plain tuple is refused. */
static int check_spec(PyObject *o, const char *arg, const char *spec)
{
    if (PyTuple_Check(o) && !PyTuple_CheckExact(o) && PyObject_HasAttrString(o, "_fields")) return 0;
    PyErr_Format(PyExc_TypeError, "%s: expected a convq._spec.%s, got %s", arg, spec, Py_TYPE(o)->tp_name);
    return -1;
}

/* The field `name` of a spec (a new reference), or NULL with a TypeError naming it. */
static PyObject *spec_field(PyObject *o, const char *spec, const char *name)
{
    PyObject *v = PyObject_GetAttrString(o, name);
    if (v == NULL && PyErr_ExceptionMatches(PyExc_AttributeError)) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "%s: expected a convq._spec.%s with a field '%s', got %s", spec, spec, name,
                     Py_TYPE(o)->tp_name);
    }
    return v;
}

/* A field converted by `conv` (0, or -1 with an exception set); a TypeError from it becomes
 * "<spec>.<name>: expected <what>, got <type>". */
typedef int (*field_conv)(PyObject *v, const char *spec, const char *name, void *out);

static int spec_read(PyObject *o, const char *spec, const char *name, const char *what, field_conv conv, void *out)
{
    PyObject *v = spec_field(o, spec, name);
    if (v == NULL) return -1;
    int st = conv(v, spec, name, out);
    if (st < 0 && PyErr_ExceptionMatches(PyExc_TypeError)) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "%s.%s: expected %s, got %s", spec, name, what, Py_TYPE(v)->tp_name);
    }
    Py_DECREF(v);
    return st;
}

/* An integer (operator.index); one beyond long long is a ValueError naming the field. */
static int conv_ll(PyObject *v, const char *spec, const char *name, void *out)
{
    PyObject *i = PyNumber_Index(v);
    if (i == NULL) return -1;
    int ovf = 0;
    long long x = PyLong_AsLongLongAndOverflow(i, &ovf);
    if (ovf != 0) PyErr_Format(PyExc_ValueError, "%s.%s: %R is out of range", spec, name, i);
    Py_DECREF(i);
    if (ovf != 0 || (x == -1 && PyErr_Occurred())) return -1;
    *(long long *)out = x;
    return 0;
}

static int conv_double(PyObject *v, const char *spec, const char *name, void *out)
{
    (void)spec;
    (void)name;
    double x = PyFloat_AsDouble(v);
    if (x == -1.0 && PyErr_Occurred()) return -1;
    *(double *)out = x;
    return 0;
}

static int spec_ll(PyObject *o, const char *spec, const char *name, long long *out)
{
    return spec_read(o, spec, name, "an integer", conv_ll, out);
}

static int spec_double(PyObject *o, const char *spec, const char *name, double *out)
{
    return spec_read(o, spec, name, "a real number", conv_double, out);
}

/* An optional float64 array field (None -> NULL), kept alive by the holder. */
static int spec_array(PyObject *o, const char *spec, const char *name, holder *h, int nd, const double **out,
                      npy_intp *dims)
{
    PyObject *v = spec_field(o, spec, name);
    if (v == NULL) return -1;
    int st = opt_array(h, v, name, nd, out, dims);
    Py_DECREF(v);
    return st;
}

/* BodySpec -> cq_smp_body of dimension n (the density's). */
static int parse_body(PyObject *o, holder *h, cq_smp_body *b, size_t n)
{
    static const char S[] = "BodySpec";
    long long exact;
    if (check_spec(o, "body", S) < 0) return -1;
    npy_intp d1[1] = {0}, d2[2] = {0, 0}, d3[2] = {0, 0}, d4[2] = {0, 0}, d5[1] = {0}, d6[1] = {0}, d7[1] = {0};
    memset(b, 0, sizeof(*b));
    b->n = n;
    if (spec_array(o, S, "lo", h, 1, &b->lo, d1) < 0 || spec_array(o, S, "hi", h, 1, &b->hi, d6) < 0) return -1;
    if ((b->lo == NULL) != (b->hi == NULL) || (b->lo && ((size_t)d1[0] != n || (size_t)d6[0] != n))) {
        PyErr_SetString(PyExc_ValueError, "BodySpec box bounds: expected lo and hi, two arrays of the dimension, "
                                          "or both None");
        return -1;
    }
    if (spec_array(o, S, "centers", h, 2, &b->centers, d2) < 0 || spec_array(o, S, "radii", h, 1, &b->radii, d5) < 0)
        return -1;
    if ((b->centers == NULL) != (b->radii == NULL) || (d2[0] > 0 && (size_t)d2[1] != n) || d5[0] != d2[0]) {
        PyErr_SetString(PyExc_ValueError, "BodySpec balls: expected centers (nb, n) and radii (nb,), or both None");
        return -1;
    }
    b->n_balls = (size_t)d2[0];
    if (spec_array(o, S, "A", h, 2, &b->A, d3) < 0 || spec_array(o, S, "AT", h, 2, &b->AT, d4) < 0 ||
        spec_array(o, S, "b", h, 1, &b->b, d7) < 0)
        return -1;
    if ((b->A == NULL) != (b->AT == NULL) || (b->A == NULL) != (b->b == NULL) ||
        (d3[0] > 0 && (size_t)d3[1] != n) || d4[1] != d3[0] || (d3[0] > 0 && (size_t)d4[0] != n) ||
        d7[0] != d3[0]) {
        PyErr_SetString(PyExc_ValueError, "BodySpec polytope: expected A (m, n), AT (n, m), b (m,), or all None");
        return -1;
    }
    b->m = (size_t)d3[0];
    if (spec_ll(o, S, "exact_cube", &exact) < 0) return -1;
    b->exact_cube = exact != 0;
    return 0;
}

/* DensitySpec -> cq_smp_density; its dimension into *n_out. */
static int parse_density(PyObject *o, holder *h, cq_smp_density *d, size_t *n_out)
{
    static const char S[] = "DensitySpec";
    long long kind, n, power;
    double c;
    if (check_spec(o, "dens", S) < 0) return -1;
    if (spec_ll(o, S, "kind", &kind) < 0 || spec_ll(o, S, "n", &n) < 0 || spec_double(o, S, "c", &c) < 0 ||
        spec_ll(o, S, "power", &power) < 0)
        return -1;
    if (n < 1 || n > PY_SSIZE_T_MAX || kind < 0 || kind >= CQ_DENS_COUNT ||
        (kind == CQ_DENS_EXPNORM && power != 1 && power != 2)) {
        PyErr_Format(PyExc_ValueError, "bad DensitySpec: kind %lld (expected 0..%d), n %lld (expected >= 1), "
                     "power %lld (EXPNORM: 1 or 2)", kind, CQ_DENS_COUNT - 1, n, power);
        return -1;
    }
    memset(d, 0, sizeof(*d));
    d->kind = (int)kind;
    d->n = (size_t)n;
    d->c = c;
    d->power = power == 1 || power == 2 ? (int)power : 0;
    npy_intp dm[1] = {0}, dp[2] = {0, 0}, dd[1] = {0}, dx[2] = {0, 0}, dxt[2] = {0, 0}, dy[1] = {0};
    if (spec_array(o, S, "mean", h, 1, &d->mean, dm) < 0 || spec_array(o, S, "prec", h, 2, &d->prec, dp) < 0 ||
        spec_array(o, S, "prec_diag", h, 1, &d->prec_diag, dd) < 0 || spec_array(o, S, "X", h, 2, &d->X, dx) < 0 ||
        spec_array(o, S, "XT", h, 2, &d->XT, dxt) < 0 || spec_array(o, S, "y", h, 1, &d->y, dy) < 0)
        return -1;
    if ((d->mean && dm[0] != n) || (d->prec && (dp[0] != n || dp[1] != n)) || (d->prec_diag && dd[0] != n) ||
        (d->prec && !d->prec_diag)) {
        PyErr_SetString(PyExc_ValueError, "DensitySpec: mean/precision shapes do not match the dimension");
        return -1;
    }
    if (kind == CQ_DENS_LOGISTIC) {
        if (!d->X || !d->XT || !d->y || dx[1] != n || dxt[0] != n || dxt[1] != dx[0] || dy[0] != dx[0]) {
            PyErr_SetString(PyExc_ValueError, "DensitySpec: logistic data shapes do not match");
            return -1;
        }
        d->N = (size_t)dx[0];
    }
    *n_out = (size_t)n;
    return 0;
}

/* WalkSpec -> cq_smp_walk for dimension n. */
static int parse_walk(PyObject *o, holder *h, cq_smp_walk *w, size_t n)
{
    static const char S[] = "WalkSpec";
    long long method, ct, lazy, ns, thin, burn;
    if (check_spec(o, "walk", S) < 0) return -1;
    memset(w, 0, sizeof(*w));
    if (spec_ll(o, S, "method", &method) < 0 || spec_double(o, S, "delta", &w->delta) < 0 ||
        spec_ll(o, S, "continuous_time", &ct) < 0 || spec_ll(o, S, "lazy", &lazy) < 0 ||
        spec_ll(o, S, "n_steps", &ns) < 0 || spec_ll(o, S, "thin", &thin) < 0 || spec_ll(o, S, "burn_in", &burn) < 0)
        return -1;
    if (ns < 0 || ns > PY_SSIZE_T_MAX || thin < 1 || thin > PY_SSIZE_T_MAX || burn < 0 || burn > PY_SSIZE_T_MAX ||
        method < 0 || method >= CQ_WALK_COUNT) {
        PyErr_Format(PyExc_ValueError, "bad WalkSpec: method %lld (expected 0..%d), n_steps %lld (expected >= 0), "
                     "thin %lld (expected >= 1), burn_in %lld (expected >= 0)", method, CQ_WALK_COUNT - 1, ns, thin,
                     burn);
        return -1;
    }
    w->method = (int)method;
    w->continuous_time = ct != 0;
    w->lazy = lazy != 0;
    w->n_steps = (size_t)ns;
    w->thin = (size_t)thin;
    w->burn_in = (size_t)burn;
    npy_intp od[1] = {0};
    if (spec_array(o, S, "offset", h, 1, &w->offset, od) < 0) return -1;
    if (w->method == CQ_WALK_GRID && (w->offset == NULL || (size_t)od[0] != n)) {
        PyErr_SetString(PyExc_ValueError, "WalkSpec: the grid walk needs an offset of the dimension");
        return -1;
    }
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

CQB_RUNNER_STREAMS(run_walk, run_args)
{
    return cq_smp_run(a->body, a->dens, a->walk, n_streams, a->x0, a->k0, bgs, a->threads, a->samples,
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
    if (parse_density(dt, &h, &dens, &n) < 0 || parse_body(bt, &h, &body, n) < 0 || parse_walk(wt, &h, &walk, n) < 0)
        goto done;
    npy_intp xd[2] = {0, 0};
    const double *x0;
    if (opt_array(&h, x0o, "x0", 2, &x0, xd) < 0) goto done;
    k0 = hold(&h, cqb_int64_array(k0o, "k0", 2, 2));
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
    samples = hold(&h, (PyArrayObject *)PyArray_SimpleNew(3, sd, NPY_DOUBLE));
    if (walk.method == CQ_WALK_GRID) indices = hold(&h, (PyArrayObject *)PyArray_SimpleNew(3, sd, NPY_INT64));
    if (walk.continuous_time) times = hold(&h, (PyArrayObject *)PyArray_SimpleNew(2, td, NPY_DOUBLE));
    nacc = hold(&h, (PyArrayObject *)PyArray_ZEROS(1, cd, NPY_INT64, 0));
    nprop = hold(&h, (PyArrayObject *)PyArray_ZEROS(1, cd, NPY_INT64, 0));
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

CQB_RUNNER(run_moves, moves_args)
{
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
    k = hold(&h, cqb_int64_array(ko, "k", 2, 2));
    if (k == NULL) goto done;
    if (off == NULL || (size_t)od[0] != n || (size_t)PyArray_DIM(k, 1) != n || !(delta > 0)) {
        PyErr_SetString(PyExc_ValueError, "offset/k shapes do not match the dimension, or delta <= 0");
        goto done;
    }
    npy_intp rows = PyArray_DIM(k, 0);
    npy_intp od2[2] = {rows, (npy_intp)(2 * n)};
    npy_intp gd[1] = {rows};
    out = hold(&h, (PyArrayObject *)PyArray_SimpleNew(2, od2, NPY_DOUBLE));
    ing = hold(&h, (PyArrayObject *)PyArray_SimpleNew(1, gd, NPY_BOOL));
    if (out == NULL || ing == NULL) goto done;
    moves_args a = {&body, &dens, delta, off, (size_t)rows, (const int64_t *)PyArray_DATA(k),
                    (double *)PyArray_DATA(out), (uint8_t *)PyArray_DATA(ing)};
    if (cqb_call(run_moves, &a, NULL) < 0) goto done;
    result = Py_BuildValue("(OO)", out, ing);
done:
    hold_release(&h);
    return result;
}

typedef struct {
    const cq_smp_density *dens;
    size_t rows;
    const double *x;
    double *out;
} logf_args;

CQB_RUNNER(run_logf, logf_args)
{
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
    CQB_METHOD(_smp_run,
               "_smp_run(body, dens, walk, x0, k0, generators, threads) -> (samples, indices, times, n_accept, "
               "n_prop)."),
    CQB_METHOD(_smp_grid_moves,
               "_smp_grid_moves(body, dens, delta, offset, k) -> (move probabilities (rows, 2n), in_grid)."),
    CQB_METHOD(_smp_logf, "_smp_logf(dens, x) -> log F(x) per row."),
    CQB_METHODS_END,
};
