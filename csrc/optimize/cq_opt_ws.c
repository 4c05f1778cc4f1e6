/* cq_opt_ws.c -- the solvers' shared workspace and loop helpers; see cq_opt_ws.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "optimize/cq_opt_ws.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double cq_opt_dot(const double *a, const double *b, size_t n)
{
    double s = 0.0;
    for (size_t j = 0; j < n; j++) s += a[j] * b[j];
    return s;
}

double cq_opt_norm1(const double *a, size_t n)
{
    double s = 0.0;
    for (size_t j = 0; j < n; j++) s += fabs(a[j]);
    return s;
}

int cq_opt_ws_init(cq_opt_ws *W, const cq_obj *o, int M, const double *x0, cq_interrupt *it, cq_errinfo *err)
{
    assert(W != NULL && o != NULL && x0 != NULL && M >= 0);
    memset(W, 0, sizeof *W);
    W->o = o;
    W->n = cq_obj_dim(o);
    W->zl = cq_obj_zlen(o);
    W->M = M;
    W->it = it;
    W->err = err;
    size_t n = W->n, nn = n ? n : 1, zz = W->zl ? W->zl : 1;
    double *buf = (double *)malloc((9 * nn + 6 * zz + (size_t)M + 1) * sizeof(double));
    if (buf == NULL) return cq_fail(err, CQ_ENOMEM, "out of memory for the optimizer workspace");
    double *q = buf;
    W->buf = buf;
    W->x = q; q += nn;  W->g = q; q += nn;  W->xt = q; q += nn;  W->gt = q; q += nn;  W->d = q; q += nn;
    W->xp = q; q += nn; W->yv = q; q += nn; W->gy = q; q += nn;  W->best = q; q += nn;
    W->z = q; q += zz;  W->zt = q; q += zz; W->w = q; q += zz;   W->zp = q; q += zz; W->zy = q; q += zz;
    q += zz; /* spare */
    W->hist = q;
    memcpy(W->x, x0, n * sizeof(double));
    return CQ_OK;
}

void cq_opt_ws_free(cq_opt_ws *W)
{
    free(W->buf);
    W->buf = NULL;
}

int cq_opt_eval(cq_opt_ws *W, const double *x, double *f, double *g, double *z, int trial)
{
    W->nfev++;
    if (g) W->ngev++;
    W->passes++;
    int st = cq_obj_value_grad(W->o, NULL, 0, x, f, g, z, W->it, W->err);
    if (st == CQ_ENONFINITE && trial) {
        *f = INFINITY;
        return CQ_OK;
    }
    return st;
}

void cq_opt_trace_free(cq_opt_trace *tr)
{
    free(tr->f);
    free(tr->g);
    free(tr->t);
    free(tr->time);
    tr->f = tr->g = tr->t = tr->time = NULL;
    tr->cap = 0;
}

/* Room for `need` entries (doubling); 0 on success, -1 if out of memory (tr unchanged). */
static int trace_reserve(cq_opt_trace *tr, size_t need)
{
    if (need <= tr->cap) return 0;
    size_t cap = tr->cap ? 2 * tr->cap : 64;
    if (cap < need) cap = need;
    double **bufs[4] = {&tr->f, &tr->g, &tr->t, &tr->time};
    for (int i = 0; i < 4; i++) {
        double *nb = (double *)realloc(*bufs[i], cap * sizeof(double));
        if (nb == NULL) return -1; /* the buffers grown so far stay valid and owned */
        *bufs[i] = nb;
    }
    tr->cap = cap;
    return 0;
}

int cq_opt_start(cq_opt_loop *L, cq_opt_ws *W, const cq_opt_params *p, cq_opt_trace *trace,
                 cq_opt_callback cb, void *cb_ctx, double *f, double *gnorm)
{
    int st = cq_opt_eval(W, W->x, f, W->g, W->z, 0);
    if (st != CQ_OK) return st;
    *gnorm = sqrt(cq_opt_dot(W->g, W->g, W->n));
    return cq_opt_loop_begin(L, W, p, trace, cb, cb_ctx, *f, *gnorm);
}

int cq_opt_next(cq_opt_loop *L, cq_opt_ws *W, long k, double fnew, double Fold, double t, double *f,
                double *gnorm, int *stop)
{
    CQ_SWAP(W->x, W->xt);
    CQ_SWAP(W->g, W->gt);
    CQ_SWAP(W->z, W->zt);
    *f = fnew;
    *gnorm = sqrt(cq_opt_dot(W->g, W->g, W->n));
    return cq_opt_loop_end(L, W, k, fnew, Fold, *gnorm, t, stop);
}

int cq_opt_loop_begin(cq_opt_loop *L, cq_opt_ws *W, const cq_opt_params *p, cq_opt_trace *trace,
                      cq_opt_callback cb, void *cb_ctx, double F, double gnorm)
{
    assert(L != NULL && W != NULL && p != NULL);
    L->p = p;
    L->trace = trace;
    L->cb = cb;
    L->cb_ctx = cb_ctx;
    L->since_poll = 0;
    L->t0_time = now_s();
    cq_progress_total(W->it, p->max_iter);
    if (trace) {
        if (trace_reserve(trace, 1)) return cq_fail(W->err, CQ_ENOMEM, "out of memory for the trace");
        trace->f[0] = F; trace->g[0] = gnorm; trace->t[0] = 0.0; trace->time[0] = now_s() - L->t0_time;
    }
    return CQ_OK;
}

int cq_opt_loop_poll(cq_opt_loop *L, cq_opt_ws *W, long k)
{
    assert(k >= 1);
    const cq_obj *o = W->o;
    if (L->trace && trace_reserve(L->trace, (size_t)k + 1))
        return cq_fail(W->err, CQ_ENOMEM, "out of memory for the trace");
    L->since_poll += (long)(W->passes ? W->passes : 1) * (long)(W->zl * (o->kind == CQ_OBJ_QUADRATIC ? 1 : o->p) + W->n);
    W->passes = 0;
    if (L->since_poll > (1L << 22)) {
        L->since_poll = 0;
        if (cq_check_progress(W->it, k)) return CQ_EINTERRUPT;
    }
    return CQ_OK;
}

int cq_opt_loop_end(cq_opt_loop *L, cq_opt_ws *W, long k, double F, double Fold, double gnorm, double t,
                    int *stop)
{
    *stop = 0;
    if (L->trace) {
        L->trace->t[k] = t;
        L->trace->f[k] = F; L->trace->g[k] = gnorm; L->trace->time[k] = now_s() - L->t0_time;
    }
    if (L->cb != NULL) {
        int r = L->cb(L->cb_ctx, k, W->x, W->n, F, gnorm, t);
        if (r < 0) return CQ_ECALLBACK;
        if (r > 0) { *stop = CQ_OPT_CALLBACK; return CQ_OK; }
    }
    if (L->p->ftol > 0 && fabs(F - Fold) < L->p->ftol) *stop = CQ_OPT_FTOL;
    return CQ_OK;
}

void cq_opt_loop_finish(cq_opt_loop *L, cq_opt_ws *W, double *x, long k, int status, double F, double gnorm,
                        cq_opt_result *res)
{
    if (k > L->p->max_iter) k = L->p->max_iter + 1;
    memcpy(x, W->x, W->n * sizeof(double));
    res->nit = k - 1;
    res->nfev = W->nfev;
    res->ngev = W->ngev;
    res->status = status;
    res->f = F;
    res->gnorm = gnorm;
}

int cq_opt_loop_done(cq_opt_ws *W, int st, long k)
{
    if (st == CQ_ENONFINITE)
        cq_fail(W->err, st, "the iteration diverged at iteration %ld: f or its gradient is not finite "
                "(is the step too large?)", k);
    cq_opt_ws_free(W);
    return st;
}

int cq_opt_first(void *ctx, cq_opt_ws *W, const cq_opt_params *p, cq_opt_state *s)
{
    (void)ctx;
    (void)p;
    int st = cq_opt_eval(W, W->x, &s->f, W->g, W->z, 0);
    if (st != CQ_OK) return st;
    s->F = s->f;
    s->gnorm = sqrt(cq_opt_dot(W->g, W->g, W->n));
    return CQ_OK;
}

void cq_opt_accept(cq_opt_ws *W, double fnew, cq_opt_state *s)
{
    CQ_SWAP(W->x, W->xt);
    CQ_SWAP(W->g, W->gt);
    CQ_SWAP(W->z, W->zt);
    s->f = fnew;
    s->F = fnew;
    s->gnorm = sqrt(cq_opt_dot(W->g, W->g, W->n));
}

double cq_opt_steepest(cq_opt_ws *W, double gnorm)
{
    for (size_t j = 0; j < W->n; j++) W->d[j] = -W->g[j];
    return -gnorm * gnorm;
}

double cq_opt_descent(cq_opt_ws *W, double gnorm, int *restarted)
{
    double gd = cq_opt_dot(W->g, W->d, W->n);
    *restarted = !(gd < 0.0);
    return *restarted ? cq_opt_steepest(W, gnorm) : gd;
}

int cq_opt_trial(cq_opt_ws *W, const double *base, double t, double *fnew)
{
    for (size_t j = 0; j < W->n; j++) W->xt[j] = base[j] + t * W->d[j];
    return cq_opt_eval(W, W->xt, fnew, W->gt, W->zt, 0);
}

int cq_opt_run(const cq_opt_rule *R, void *ctx, int M, const cq_obj *o, const cq_opt_params *p, double *x,
               cq_opt_trace *trace, cq_opt_callback cb, void *cb_ctx, cq_opt_result *res, cq_interrupt *it,
               cq_errinfo *err)
{
    assert(R != NULL && R->step != NULL);
    assert(o != NULL && p != NULL && x != NULL && res != NULL && p->max_iter >= 0);
    cq_opt_ws W;
    cq_opt_loop L;
    int st = cq_opt_ws_init(&W, o, M, x, it, err);
    if (st != CQ_OK) return st;
    cq_opt_state s = {0.0, 0.0, 0.0, p->t};
    int status = CQ_OPT_MAXITER, stop;
    long k = 0;

    st = (R->start ? R->start : cq_opt_first)(ctx, &W, p, &s);
    if (st != CQ_OK) goto done;
    st = cq_opt_loop_begin(&L, &W, p, trace, cb, cb_ctx, s.F, s.gnorm);
    if (st != CQ_OK) goto done;

    for (k = 1; k <= p->max_iter; k++) {
        if (s.gnorm <= p->tol) { status = CQ_OPT_CONVERGED; break; }
        st = cq_opt_loop_poll(&L, &W, k);
        if (st != CQ_OK) goto done;
        double Fold = s.F;
        st = R->step(ctx, &W, p, k, &s);
        if (st == CQ_OPT_STEP_FAIL) { status = CQ_OPT_LINESEARCH; goto finish; }
        if (st != CQ_OK) goto done;
        st = cq_opt_loop_end(&L, &W, k, s.F, Fold, s.gnorm, s.t, &stop);
        if (st != CQ_OK) goto done;
        if (stop) { status = stop; k++; break; }
    }
    if (R->stop) {
        st = R->stop(ctx, &W, p, &s);
        if (st != CQ_OK) goto done;
    }
finish:
    cq_opt_loop_finish(&L, &W, x, k, status, s.F, s.gnorm, res);
    st = CQ_OK;
done:
    return cq_opt_loop_done(&W, st, k);
}
