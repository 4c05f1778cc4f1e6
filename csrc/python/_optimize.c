/*
 * _optimize.c -- bindings of convq.optimize: the C optimisation loop (cq_optimize.h).
 * Private entry point `_minimize`; the objective is its named spec convq._spec.ObjectiveSpec (see _objectives.h).
 * The run goes through the call helper: cqb_call (GIL released, Ctrl-C polled) without a
 * callback, cqb_call_with_gil when a Python callback is called after every iteration (the
 * GIL stays held, so the callback calls Python directly and the poll runs
 * PyErr_CheckSignals).
 */
#include "bind.h"
#include <limits.h>
#include "optimize/cq_objectives.h"
#include "optimize/cq_lasso_cd.h"
#include "optimize/cq_optimize.h"
#include "optimize/cq_svm_dcd.h"
#include "_objectives.h"

/* called with the GIL held (cqb_call_with_gil) */
static int py_callback(void *vctx, long k, const double *x, size_t n, double f, double gnorm, double t)
{
    PyObject *fn = (PyObject *)vctx; /* callable(k, x, f, gnorm, t) -> truthy to stop */
    npy_intp dims[1] = {(npy_intp)n};
    PyArrayObject *xa = (PyArrayObject *)PyArray_SimpleNew(1, dims, NPY_DOUBLE);
    if (xa == NULL) return -1;
    memcpy(PyArray_DATA(xa), x, n * sizeof(double));
    PyObject *out = PyObject_CallFunction(fn, "lOddd", k, (PyObject *)xa, f, gnorm, t);
    Py_DECREF(xa);
    if (out == NULL) return -1;
    int truth = PyObject_IsTrue(out);
    Py_DECREF(out);
    return truth < 0 ? -1 : truth;
}

typedef struct minimize_args {
    const cq_obj *o;
    const cq_opt_params *p;
    double *x;             /* in: x0, out: the result */
    cq_opt_trace *trace;
    PyObject *callback;    /* NULL: none */
    cq_opt_result res;
} minimize_args;

CQB_RUNNER(run_minimize, minimize_args)
{
    return cq_optimize(a->o, a->p, a->x, a->trace, a->callback ? py_callback : NULL, a->callback, &a->res, it,
                       err);
}

/* A convq._spec.SolverSpec -> cq_opt_params, field by field by name (a plain tuple is a
 * TypeError); the integer fields must fit an int. */
static int parse_solver(PyObject *spec, cq_opt_params *p)
{
    static const char *T = "SolverSpec";
    if (cqb_spec_check(spec, T, "the solver's spec") < 0) return -1;
    struct { const char *name; int *dst; } ints[] = {
        {"method", &p->method}, {"step", &p->step}, {"bb_variant", &p->bb_variant},
        {"nonmonotone", &p->nonmonotone}, {"memory", &p->memory}, {"restart", &p->restart},
        {"cg_rule", &p->cg_rule},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        long long v;
        if (cqb_spec_int(spec, T, ints[i].name, &v) < 0) return -1;
        if (v < INT_MIN || v > INT_MAX) {
            PyErr_Format(PyExc_ValueError, "SolverSpec.%s = %lld does not fit an int", ints[i].name, v);
            return -1;
        }
        *ints[i].dst = (int)v;
    }
    struct { const char *name; double *dst; } reals[] = {
        {"t", &p->t}, {"alpha", &p->alpha}, {"beta", &p->beta}, {"eta", &p->eta}, {"t_min", &p->t_min},
        {"t_max", &p->t_max}, {"l1", &p->l1}, {"tol", &p->tol}, {"ftol", &p->ftol}, {"c2", &p->c2},
    };
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++)
        if (cqb_spec_double(spec, T, reals[i].name, reals[i].dst) < 0) return -1;
    return 0;
}

/* _minimize(objective spec, x0, solver spec, callback, max_iter) -> (x, f, gnorm, nit, nfev,
 * ngev, status, trace_f, trace_g, trace_t, trace_time): an ObjectiveSpec and a SolverSpec. */
static PyObject *py_minimize(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *so, *xo, *po, *cbo;
    long max_iter;
    if (!PyArg_ParseTuple(args, "OOOOl", &so, &xo, &po, &cbo, &max_iter)) return NULL;
    if (max_iter < 0) return PyErr_Format(PyExc_ValueError, "max_iter must be >= 0, got %ld", max_iter);
    cq_opt_params p;
    if (parse_solver(po, &p) < 0) return NULL;
    if (p.method < 0 || p.method >= CQ_OPT_N_METHODS)
        return PyErr_Format(PyExc_ValueError, "unknown method %d", p.method);
    if (p.method == CQ_OPT_LBFGS && (p.memory < 1 || !(p.alpha > 0.0 && p.alpha < p.c2 && p.c2 < 1.0)))
        return PyErr_Format(PyExc_ValueError, "L-BFGS needs memory >= 1 and 0 < c1 < c2 < 1, got memory=%d, "
                            "c1=%g, c2=%g", p.memory, p.alpha, p.c2);
    if (p.method == CQ_OPT_CG && (!(p.cg_rule == CQ_CG_FR || p.cg_rule == CQ_CG_PRPLUS || p.cg_rule == CQ_CG_HZ)
                                  || !(p.alpha > 0.0 && p.alpha < p.c2 && p.c2 < 1.0)))
        return PyErr_Format(PyExc_ValueError, "CG needs a known beta rule and 0 < c1 < c2 < 1, got rule=%d, "
                            "c1=%g, c2=%g", p.cg_rule, p.alpha, p.c2);
    p.max_iter = max_iter;
    if (p.memory < 0 || p.memory > 100000) return PyErr_Format(PyExc_ValueError, "memory out of range");
    cqb_obj_spec s;
    if (cqb_obj_spec_parse(so, &s) < 0) return NULL;
    size_t dim = cq_obj_dim(&s.o);
    PyArrayObject *x0 = cqb_vec_arg(xo, "x0", dim);
    if (x0 == NULL) {
        cqb_obj_spec_release(&s);
        return NULL;
    }
    npy_intp dims[1] = {(npy_intp)dim};
    PyArrayObject *x = (PyArrayObject *)PyArray_SimpleNew(1, dims, NPY_DOUBLE);
    PyArrayObject *tf = NULL, *tg = NULL, *tt = NULL, *ttime = NULL;
    cq_opt_trace trace = {NULL, NULL, NULL, NULL, 0};
    PyObject *result = NULL;
    if (x == NULL) goto out;
    memcpy(PyArray_DATA(x), PyArray_DATA(x0), dim * sizeof(double));
    minimize_args a = {&s.o, &p, (double *)PyArray_DATA(x), &trace, cbo == Py_None ? NULL : cbo,
                       {0, 0, 0, 0, 0.0, 0.0}};
    if ((a.callback ? cqb_call_with_gil(run_minimize, &a, NULL) : cqb_call(run_minimize, &a, NULL)) < 0) goto out;
    /* the trace of iterates 0..nit, copied out of the grown C buffers */
    npy_intp tdims[1] = {(npy_intp)a.res.nit + 1};
    if ((size_t)tdims[0] > trace.cap) tdims[0] = (npy_intp)trace.cap;
    PyArrayObject **outs[4] = {&tf, &tg, &tt, &ttime};
    double *srcs[4] = {trace.f, trace.g, trace.t, trace.time};
    for (int i = 0; i < 4; i++) {
        *outs[i] = (PyArrayObject *)PyArray_SimpleNew(1, tdims, NPY_DOUBLE);
        if (*outs[i] == NULL) goto out;
        if (tdims[0] > 0) memcpy(PyArray_DATA(*outs[i]), srcs[i], (size_t)tdims[0] * sizeof(double));
    }
    result = Py_BuildValue("OddllliOOOO", (PyObject *)x, a.res.f, a.res.gnorm, a.res.nit, a.res.nfev, a.res.ngev,
                           a.res.status, (PyObject *)tf, (PyObject *)tg, (PyObject *)tt, (PyObject *)ttime);
out:
    cq_opt_trace_free(&trace);
    Py_DECREF(x0);
    Py_XDECREF(x);
    Py_XDECREF(tf);
    Py_XDECREF(tg);
    Py_XDECREF(tt);
    Py_XDECREF(ttime);
    cqb_obj_spec_release(&s);
    return result;
}

/* ---- LASSO by working-set coordinate descent (cq_lasso_cd.h) ---------------------------- */

typedef struct {
    const double *AT, *b;
    const int64_t *indptr, *indices;  /* CSC (AT == NULL): with data */
    const double *data;
    size_t m, n;
    cq_lasso_cd_opts o;
    double *x, *work;
    size_t *iwork;
    cq_lasso_cd_info info;
} lasso_cd_args;

CQB_RUNNER(run_lasso_cd, lasso_cd_args)
{
    if (a->AT == NULL)
        return cq_lasso_cd_csc(a->indptr, a->indices, a->data, a->b, a->m, a->n, &a->o, a->x, a->work, a->iwork,
                               &a->info, it, err);
    return cq_lasso_cd(a->AT, a->b, a->m, a->n, &a->o, a->x, a->work, a->iwork, &a->info, it, err);
}

/* A sparse A for _lasso_cd: the tuple (indptr, indices, data, m) of its CSC form, int64
 * indices; sets a->indptr, indices, data, m, n and keeps the arrays in held[0..3). */
static int lasso_csc_arg(PyObject *t, lasso_cd_args *a, PyArrayObject **held)
{
    Py_ssize_t m;
    PyObject *po, *io, *dob;
    if (!PyArg_ParseTuple(t, "OOOn;A as CSC: expected (indptr, indices, data, m)", &po, &io, &dob, &m)) return -1;
    if ((held[0] = cqb_int64_array(po, "A.indptr", 1, 1)) == NULL ||
        (held[1] = cqb_int64_array(io, "A.indices", 1, 1)) == NULL ||
        (held[2] = cqb_double_array(dob, "A.data", 1, 1)) == NULL)
        return -1;
    if (m < 0 || PyArray_DIM(held[0], 0) < 1 || PyArray_DIM(held[1], 0) != PyArray_DIM(held[2], 0) ||
        ((const int64_t *)PyArray_DATA(held[0]))[PyArray_DIM(held[0], 0) - 1] != PyArray_DIM(held[1], 0)) {
        PyErr_SetString(PyExc_ValueError, "A (CSC): expected indptr of n + 1 entries ending at nnz, indices and "
                        "data of nnz entries each, m >= 0");
        return -1;
    }
    a->indptr = (const int64_t *)PyArray_DATA(held[0]);
    a->indices = (const int64_t *)PyArray_DATA(held[1]);
    a->data = (const double *)PyArray_DATA(held[2]);
    a->m = (size_t)m;
    a->n = (size_t)PyArray_DIM(held[0], 0) - 1;
    return 0;
}

/* _lasso_cd(AT, b, x0, mu, tol, max_outer, max_epochs, ws_start, anderson_k)
 *   -> (x, primal, dual, gap, n_outer, n_epochs, n_extrapolated, ws_size, converged)
 * AT: the n x m transpose of a dense A, or the tuple (indptr, indices, data, m) of a CSC A. */
static PyObject *py_lasso_cd(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *ato, *bo, *xo;
    double mu, tol;
    long max_outer, max_epochs, ws_start;
    int K;
    if (!PyArg_ParseTuple(args, "OOOddllli", &ato, &bo, &xo, &mu, &tol, &max_outer, &max_epochs, &ws_start, &K))
        return NULL;
    if (!(mu > 0.0) || !(tol >= 0.0) || max_outer < 1 || max_epochs < 1 || ws_start < 1 || K < 0 ||
        K > CQ_LASSO_MAX_K)
        return PyErr_Format(PyExc_ValueError, "invalid coordinate-descent options");
    PyArrayObject *AT = NULL, *b = NULL, *x0 = NULL, *x = NULL, *csc[3] = {NULL, NULL, NULL};
    PyObject *result = NULL;
    lasso_cd_args a;
    memset(&a, 0, sizeof a);
    if (PyTuple_Check(ato)) {
        if (lasso_csc_arg(ato, &a, csc) < 0) goto out;
    } else {
        if ((AT = cqb_double_array(ato, "A", 2, 2)) == NULL) return NULL;
        a.AT = (const double *)PyArray_DATA(AT);
        a.n = (size_t)PyArray_DIM(AT, 0);
        a.m = (size_t)PyArray_DIM(AT, 1);
    }
    size_t n = a.n, m = a.m;
    b = cqb_vec_arg(bo, "b", m);
    if (b == NULL) goto out;
    x0 = cqb_vec_arg(xo, "x0", n);
    if (x0 == NULL) goto out;
    size_t nw = cq_lasso_cd_work(m, n, K);
    if (n > PY_SSIZE_T_MAX / sizeof(size_t) || nw > PY_SSIZE_T_MAX / sizeof(double)) {
        PyErr_NoMemory();
        goto out;
    }
    npy_intp dims[1] = {(npy_intp)n};
    x = (PyArrayObject *)PyArray_SimpleNew(1, dims, NPY_DOUBLE);
    a.work = (double *)PyMem_Malloc(nw * sizeof(double));
    a.iwork = (size_t *)PyMem_Malloc((n ? n : 1) * sizeof(size_t));
    if (x == NULL || a.work == NULL || a.iwork == NULL) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        goto out;
    }
    memcpy(PyArray_DATA(x), PyArray_DATA(x0), n * sizeof(double));
    a.b = (const double *)PyArray_DATA(b);
    a.o = (cq_lasso_cd_opts){.mu = mu, .tol = tol, .max_outer = max_outer, .max_epochs = max_epochs,
                             .ws_start = (size_t)ws_start, .anderson_k = K};
    a.x = (double *)PyArray_DATA(x);
    if (cqb_call(run_lasso_cd, &a, NULL) < 0) goto out;
    result = Py_BuildValue("OdddlllnO", (PyObject *)x, a.info.primal, a.info.dual, a.info.gap, a.info.n_outer,
                           a.info.n_epochs, a.info.n_extrapolated, (Py_ssize_t)a.info.ws_size,
                           a.info.converged ? Py_True : Py_False);
out:
    PyMem_Free(a.work);
    PyMem_Free(a.iwork);
    Py_XDECREF(AT);
    for (int i = 0; i < 3; i++) Py_XDECREF(csc[i]);
    Py_XDECREF(b);
    Py_XDECREF(x0);
    Py_XDECREF(x);
    return result;
}

/* ---- linear SVM by dual coordinate descent (cq_svm_dcd.h) --------------------------------- */

typedef struct {
    const double *X, *s;
    size_t m, n;
    cq_svm_dcd_opts o;
    double *alpha, *w, *qii;
    size_t *perm;
    cq_svm_dcd_info info;
} svm_dcd_args;

CQB_RUNNER(run_svm_dcd, svm_dcd_args)
{
    return cq_svm_dcd(a->X, a->s, a->m, a->n, &a->o, a->alpha, a->w, a->qii, a->perm, bg, &a->info, it, err);
}

/* _svm_dcd(X, s, alpha0, C, k, loss, eps, max_epochs, max_outer, intercept, rho, gen)
 *   -> (alpha, w, t, pg_spread, eq_violation, n_epochs, n_outer, converged); loss is SVM_HINGE or
 *   SVM_SQUARED_HINGE */
static PyObject *py_svm_dcd(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *xo, *so, *ao, *gen;
    double C, k, eps, rho;
    long max_epochs, max_outer;
    int loss, intercept;
    if (!PyArg_ParseTuple(args, "OOOddidllidO", &xo, &so, &ao, &C, &k, &loss, &eps, &max_epochs, &max_outer,
                          &intercept, &rho, &gen))
        return NULL;
    if (!(C > 0.0) || !(k > 0.0) || !(eps > 0.0) || max_epochs < 1 || max_outer < 1 ||
        (loss != CQ_SVM_HINGE && loss != CQ_SVM_SQUARED_HINGE))
        return PyErr_Format(PyExc_ValueError, "invalid dual coordinate descent options");
    PyArrayObject *X = cqb_double_array(xo, "X", 2, 2), *sv = NULL, *a0 = NULL, *alpha = NULL, *w = NULL;
    PyObject *result = NULL;
    svm_dcd_args a;
    memset(&a, 0, sizeof a);
    if (X == NULL) return NULL;
    size_t m = (size_t)PyArray_DIM(X, 0), n = (size_t)PyArray_DIM(X, 1);
    sv = cqb_vec_arg(so, "s", m);
    if (sv == NULL) goto out;
    a0 = cqb_vec_arg(ao, "alpha0", m);
    if (a0 == NULL) goto out;
    npy_intp dm[1] = {(npy_intp)m}, dn[1] = {(npy_intp)n};
    alpha = (PyArrayObject *)PyArray_SimpleNew(1, dm, NPY_DOUBLE);
    w = (PyArrayObject *)PyArray_SimpleNew(1, dn, NPY_DOUBLE);
    a.qii = (double *)PyMem_Malloc((m ? m : 1) * sizeof(double));
    a.perm = (size_t *)PyMem_Malloc((m ? m : 1) * sizeof(size_t));
    if (alpha == NULL || w == NULL || a.qii == NULL || a.perm == NULL) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        goto out;
    }
    memcpy(PyArray_DATA(alpha), PyArray_DATA(a0), m * sizeof(double));
    a.X = (const double *)PyArray_DATA(X);
    a.s = (const double *)PyArray_DATA(sv);
    a.m = m;
    a.n = n;
    a.o = (cq_svm_dcd_opts){.loss = loss, .C = C, .k = k, .eps = eps, .max_epochs = max_epochs,
                            .max_outer = max_outer, .intercept = intercept != 0, .rho = rho};
    a.alpha = (double *)PyArray_DATA(alpha);
    a.w = (double *)PyArray_DATA(w);
    if (cqb_call(run_svm_dcd, &a, gen) < 0) goto out;
    result = Py_BuildValue("OOdddllO", (PyObject *)alpha, (PyObject *)w, a.info.intercept, a.info.pg_spread,
                           a.info.eq_violation, a.info.n_epochs, a.info.n_outer,
                           a.info.converged ? Py_True : Py_False);
out:
    PyMem_Free(a.qii);
    PyMem_Free(a.perm);
    Py_XDECREF(X);
    Py_XDECREF(sv);
    Py_XDECREF(a0);
    Py_XDECREF(alpha);
    Py_XDECREF(w);
    return result;
}

/* The C enums convq.optimize reads (never re-types): methods, step rules, nonmonotone
 * kinds and result statuses. */
static const cqb_int_constant optimize_constants[] = {
    {"OPT_GD", CQ_OPT_GD},
    {"OPT_BB", CQ_OPT_BB},
    {"OPT_NESTEROV", CQ_OPT_NESTEROV},
    {"OPT_PROXIMAL", CQ_OPT_PROXIMAL},
    {"OPT_FISTA", CQ_OPT_FISTA},
    {"OPT_SUBGRADIENT", CQ_OPT_SUBGRADIENT},
    {"OPT_LBFGS", CQ_OPT_LBFGS},
    {"OPT_NEWTON_CG", CQ_OPT_NEWTON_CG},
    {"OPT_CG", CQ_OPT_CG},
    {"CG_FR", CQ_CG_FR},
    {"CG_PRPLUS", CQ_CG_PRPLUS},
    {"CG_HZ", CQ_CG_HZ},
    {"STEP_FIXED", CQ_STEP_FIXED},
    {"STEP_ARMIJO", CQ_STEP_ARMIJO},
    {"STEP_EXACT", CQ_STEP_EXACT},
    {"NM_NONE", CQ_NM_NONE},
    {"NM_MAX", CQ_NM_MAX},
    {"NM_AVERAGE", CQ_NM_AVERAGE},
    {"OPT_CONVERGED", CQ_OPT_CONVERGED},
    {"OPT_MAXITER", CQ_OPT_MAXITER},
    {"OPT_CALLBACK", CQ_OPT_CALLBACK},
    {"OPT_LINESEARCH", CQ_OPT_LINESEARCH},
    {"OPT_FTOL", CQ_OPT_FTOL},
    {"SVM_HINGE", CQ_SVM_HINGE},
    {"SVM_SQUARED_HINGE", CQ_SVM_SQUARED_HINGE},
};
CQB_INT_CONSTANTS(cqb_optimize_constants, optimize_constants)

PyMethodDef cqb_optimize_methods[] = {
    CQB_METHOD(_minimize,
               "_minimize(ObjectiveSpec, x0, SolverSpec, callback, max_iter) -> (x, f, gnorm, nit, nfev, ngev, "
               "status, trace_f, trace_g, trace_t, trace_time)."),
    CQB_METHOD(_lasso_cd,
               "_lasso_cd(AT or (indptr, indices, data, m), b, x0, mu, tol, max_outer, max_epochs, ws_start, "
               "anderson_k) -> (x, primal, dual, gap, n_outer, n_epochs, n_extrapolated, ws_size, converged)."),
    CQB_METHOD(_svm_dcd,
               "_svm_dcd(X, s, alpha0, C, k, loss, eps, max_epochs, max_outer, intercept, rho, gen) -> (alpha, w, t, "
               "pg_spread, eq_violation, n_epochs, n_outer, converged)."),
    CQB_METHODS_END,
};
