/* cq_optimize.c -- the dispatcher: a table from enum cq_opt_method to the solver function
 * (one per file, cq_solver_<name>.c; shared helpers in cq_opt_ws.c, line searches in
 * cq_linesearch.c). See cq_optimize.h. */
#include "optimize/cq_opt_ws.h"

static const cq_solver_fn solvers[CQ_OPT_N_METHODS] = {
    [CQ_OPT_GD] = cq_solver_gd,
    [CQ_OPT_BB] = cq_solver_bb,
    [CQ_OPT_NESTEROV] = cq_solver_nesterov,
    [CQ_OPT_PROXIMAL] = cq_solver_proximal,
    [CQ_OPT_FISTA] = cq_solver_fista,
    [CQ_OPT_SUBGRADIENT] = cq_solver_subgradient,
    [CQ_OPT_LBFGS] = cq_solver_lbfgs,
    [CQ_OPT_NEWTON_CG] = cq_solver_newton_cg,
    [CQ_OPT_CG] = cq_solver_cg,
};

int cq_optimize(const cq_obj *o, const cq_opt_params *p, double *x, cq_opt_trace *trace, cq_opt_callback cb,
                void *cb_ctx, cq_opt_result *res, cq_interrupt *it, cq_errinfo *err)
{
    assert(o != NULL && p != NULL && x != NULL && res != NULL);
    if (p->method < 0 || p->method >= CQ_OPT_N_METHODS || solvers[p->method] == NULL)
        return cq_fail(err, CQ_EINVAL, "unknown method %d", p->method);
    return solvers[p->method](o, p, x, trace, cb, cb_ctx, res, it, err);
}
