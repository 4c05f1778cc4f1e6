/* cq_solver_newton_cg.c -- trust-region Newton with conjugate gradients (TRON). */
#include <math.h>

#include "optimize/cq_opt_ws.h"

/*
 * Problem: min_x f(x), f twice differentiable (LeastSquares, Logistic, Quadratic, smoothed
 * Lasso: objectives with a C Hessian-vector product).
 *
 * Iteration (Lin & More, "Newton's method for large bound-constrained optimization
 * problems", SIAM J. Optim. 1999; Lin, Weng & Keerthi, "Trust Region Newton Method for
 * Large-Scale Logistic Regression", JMLR 9, 2008, Algorithm 2 and section 2.3, the solver
 * of liblinear): the step s approximately minimises the quadratic model
 *     q(s) = g's + 1/2 s'H s   subject to ||s|| <= Delta
 * by conjugate gradients (Steihaug's truncation: stop at the boundary, on negative
 * curvature, or when the residual ||g + H s|| <= xi ||g||, xi = 0.1); each CG iteration is
 * one Hessian-vector product, one fused pass over the data. CG is preconditioned by the
 * Hessian's diagonal M = diag(H(x)) (Jacobi), and the trust region is measured in the
 * M-norm ||s||_M = sqrt(s'Ms) (Steihaug's preconditioned form; Hsia, Chiang & Lin,
 * "Preconditioned Conjugate Gradient Methods in Truncated Newton Frameworks for
 * Large-scale Linear Classification", ACML 2018, study this choice and liblinear's mix
 * (1 - a) I + a diag(H)): badly scaled columns no longer cost CG iterations. With the actual reduction
 * ared = f(x) - f(x + s), the predicted one pred = -q(s), and alpha* the minimiser of the
 * quadratic interpolating f along s (clipped below at sigma1), the radius becomes
 *     ared < eta0 pred:  Delta = min(max(alpha*, sigma1) ||s||, sigma2 Delta)
 *     ared < eta1 pred:  Delta = max(sigma1 Delta, min(alpha* ||s||, sigma2 Delta))
 *     ared < eta2 pred:  Delta = max(sigma1 Delta, min(alpha* ||s||, sigma3 Delta))
 *     otherwise:         Delta = max(Delta, min(alpha* ||s||, sigma3 Delta))
 * (eta = 1e-4, 0.25, 0.75; sigma = 0.25, 0.5, 4; Delta_0 = ||g_0||, clipped to ||s_1|| after
 * the first step), and x + s is accepted when ared > eta0 pred.
 * Stops when ||grad f(x^k)|| <= tol, |f_k - f_{k-1}| < ftol, at max_iter or by the callback;
 * a radius below 1e-14 (1 + ||x||) without an accepted step is a line-search failure.
 * Buffers: s = W.d, CG residual r = W.yv, CG direction p = W.gy, H p = W.best,
 * preconditioner M = W.xp, M^-1 r in W.xt until the trial point is formed there.
 */
#define TRON_ETA0 1e-4
#define TRON_ETA1 0.25
#define TRON_ETA2 0.75
#define TRON_SIGMA1 0.25
#define TRON_SIGMA2 0.5
#define TRON_SIGMA3 4.0
#define TRON_XI 0.1

/* Preconditioned Steihaug CG on the model at W.x (gradient W.g, preconditioner diag M in
 * W.xp), the trust region ||s||_M <= delta; s in W.d; returns the number of CG iterations
 * (>= 0) or a negative status. *gs = g's, *q = g's + s'Hs / 2, *snorm = ||s||_M. */
static int tron_cg(cq_opt_ws *W, double delta, double gnorm, double *gs, double *q, double *snorm, long *n_hessp)
{
    size_t n = W->n;
    double *s = W->d, *r = W->yv, *p = W->gy, *Hp = W->best, *M = W->xp;
    /* z = M^-1 r lives in W->xt (free until the trial point is formed) */
    double *zv = W->xt;
    for (size_t j = 0; j < n; j++) {
        s[j] = 0.0;
        r[j] = -W->g[j];
        zv[j] = r[j] / M[j];
        p[j] = zv[j];
    }
    double rz = cq_opt_dot(r, zv, n), sMs = 0.0;
    const double stop = TRON_XI * gnorm;
    int it = 0;
    while (sqrt(cq_opt_dot(r, r, n)) > stop && (size_t)it < 2 * n + 10) {
        W->passes++;
        (*n_hessp)++;
        int st = cq_obj_hessp(W->o, NULL, 0, W->x, p, Hp, W->it, W->err);
        if (st != CQ_OK) return -st;
        double pHp = cq_opt_dot(p, Hp, n), pMp = 0.0, sMp = 0.0;
        for (size_t j = 0; j < n; j++) {
            pMp += p[j] * M[j] * p[j];
            sMp += s[j] * M[j] * p[j];
        }
        double alpha = pHp > 0.0 ? rz / pHp : HUGE_VAL;
        if (!(pHp > 0.0) || sMs + 2.0 * alpha * sMp + alpha * alpha * pMp >= delta * delta) {
            /* to the boundary along p: ||s + tau p||_M = delta, tau >= 0 */
            double rad = sMp * sMp + pMp * (delta * delta - sMs);
            double tau = pMp > 0.0 ? (-sMp + sqrt(rad > 0.0 ? rad : 0.0)) / pMp : 0.0;
            for (size_t j = 0; j < n; j++) {
                s[j] += tau * p[j];
                r[j] -= tau * Hp[j];
            }
            it++;
            break;
        }
        for (size_t j = 0; j < n; j++) {
            s[j] += alpha * p[j];
            r[j] -= alpha * Hp[j];
        }
        sMs += 2.0 * alpha * sMp + alpha * alpha * pMp;
        for (size_t j = 0; j < n; j++) zv[j] = r[j] / M[j];
        double rz_new = cq_opt_dot(r, zv, n), beta = rz_new / rz;
        for (size_t j = 0; j < n; j++) p[j] = zv[j] + beta * p[j];
        rz = rz_new;
        it++;
    }
    /* r = -g - H s, so s'Hs = -s'g - s'r and q(s) = (g's - r's) / 2 */
    *gs = cq_opt_dot(W->g, s, n);
    *q = 0.5 * (*gs - cq_opt_dot(r, s, n));
    double sm = 0.0;
    for (size_t j = 0; j < n; j++) sm += s[j] * M[j] * s[j];
    *snorm = sqrt(sm);
    return it;
}

/* M = diag(H(x)) into W.xp, each entry floored at 1e-10 times the largest */
static int tron_precond(cq_opt_ws *W)
{
    int st = cq_obj_hess_diag(W->o, W->x, W->z, W->xp, W->err);
    if (st != CQ_OK) return st;
    double mx = 0.0;
    for (size_t j = 0; j < W->n; j++)
        if (isfinite(W->xp[j]) && W->xp[j] > mx) mx = W->xp[j];
    if (!(mx > 0.0)) mx = 1.0;
    for (size_t j = 0; j < W->n; j++) {
        double mj = W->xp[j];
        W->xp[j] = isfinite(mj) && mj > 1e-10 * mx ? mj : 1e-10 * mx;
    }
    return CQ_OK;
}

int cq_solver_newton_cg(const cq_obj *o, const cq_opt_params *p, double *x, cq_opt_trace *trace,
                        cq_opt_callback cb, void *cb_ctx, cq_opt_result *res, cq_interrupt *it, cq_errinfo *err)
{
    assert(o != NULL && p != NULL && x != NULL && res != NULL);
    assert(p->method == CQ_OPT_NEWTON_CG && p->max_iter >= 0);
    if (o->kind == CQ_OBJ_HINGE) return cq_fail(err, CQ_EINVAL, "newton-cg needs a twice-differentiable objective");
    cq_opt_ws W;
    cq_opt_loop L;
    int st = cq_opt_ws_init(&W, o, 0, x, it, err);
    if (st != CQ_OK) return st;
    size_t n = W.n;
    double f, F = 0.0, gnorm = 0.0, fnew, delta = 0.0, t = 0.0;
    int status = CQ_OPT_MAXITER, stop;
    long k = 0, n_hessp = 0;

    st = cq_opt_eval(&W, W.x, &f, W.g, W.z, 0);
    if (st != CQ_OK) goto done;
    F = f;
    gnorm = sqrt(cq_opt_dot(W.g, W.g, n));
    st = tron_precond(&W);
    if (st != CQ_OK) goto done;
    {   /* Delta_0 = ||g_0|| in the M-norm of the first preconditioner */
        double gm = 0.0;
        for (size_t j = 0; j < n; j++) gm += W.g[j] * W.g[j] / W.xp[j];
        delta = sqrt(gm);
    }
    st = cq_opt_loop_begin(&L, &W, p, trace, cb, cb_ctx, F, gnorm);
    if (st != CQ_OK) goto done;

    for (k = 1; k <= p->max_iter; k++) {
        if (gnorm <= p->tol) { status = CQ_OPT_CONVERGED; break; }
        st = cq_opt_loop_poll(&L, &W, k);
        if (st != CQ_OK) goto done;
        double Fold = F, gs = 0.0, q = 0.0, snorm = 0.0;
        int cg = tron_cg(&W, delta, gnorm, &gs, &q, &snorm, &n_hessp);
        if (cg < 0) { st = -cg; goto done; }
        for (size_t j = 0; j < n; j++) W.xt[j] = W.x[j] + W.d[j];
        st = cq_opt_eval(&W, W.xt, &fnew, W.gt, W.zt, 1);
        if (st != CQ_OK) goto done;
        double ared = f - fnew, pred = -q;
        if (k == 1 && snorm < delta) delta = snorm;
        double curv = fnew - f - gs, alpha;
        if (!isfinite(fnew)) {
            alpha = TRON_SIGMA1;
            ared = -HUGE_VAL;
        } else {
            alpha = curv <= 0.0 ? TRON_SIGMA3 : fmax(TRON_SIGMA1, -0.5 * gs / curv);
        }
        if (ared < TRON_ETA0 * pred) delta = fmin(fmax(alpha, TRON_SIGMA1) * snorm, TRON_SIGMA2 * delta);
        else if (ared < TRON_ETA1 * pred) delta = fmax(TRON_SIGMA1 * delta, fmin(alpha * snorm, TRON_SIGMA2 * delta));
        else if (ared < TRON_ETA2 * pred) delta = fmax(TRON_SIGMA1 * delta, fmin(alpha * snorm, TRON_SIGMA3 * delta));
        else delta = fmax(delta, fmin(alpha * snorm, TRON_SIGMA3 * delta));
        t = 0.0;
        if (ared > TRON_ETA0 * pred && isfinite(fnew)) {
            CQ_SWAP(W.x, W.xt); CQ_SWAP(W.g, W.gt); CQ_SWAP(W.z, W.zt);
            f = fnew;
            F = f;
            gnorm = sqrt(cq_opt_dot(W.g, W.g, n));
            t = snorm;
            st = tron_precond(&W);
            if (st != CQ_OK) goto done;
        } else if (delta <= 1e-14 * (1.0 + sqrt(cq_opt_dot(W.x, W.x, n)))) {
            status = CQ_OPT_LINESEARCH;
            goto finish;
        }
        st = cq_opt_loop_end(&L, &W, k, F, Fold, gnorm, t, &stop);
        if (st != CQ_OK) goto done;
        if (stop && !(stop == CQ_OPT_FTOL && t == 0.0)) { status = stop; k++; break; }
    }
finish:
    W.ngev += n_hessp; /* Hessian-vector products are counted with the gradient passes */
    cq_opt_loop_finish(&L, &W, x, k, status, F, gnorm, res);
    st = CQ_OK;
done:
    return cq_opt_loop_done(&W, st, k);
}
