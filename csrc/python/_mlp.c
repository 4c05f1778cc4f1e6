/* _mlp.c -- bindings of the MLP kernels (csrc/models/cq_mlp.h) for convq.models.mlp.
 * Validation and the scikit-learn-style estimators live in convq/models; every kernel
 * runs through the one call helper (cqb_call, csrc/python/_call.c).
 *
 * The precision follows theta: a float32 theta runs the float kernels (X, Y, the weights
 * and the optimiser state must then be float32 too: nothing is converted behind the
 * caller's back), anything else the double ones. X is a 2-d array or a CSR triple
 * (data, indices, indptr) of m = len(indptr) - 1 rows. */
#include "bind.h"
#include <math.h>
#include <string.h>
#include "models/cq_mlp.h"

/* sizes (sequence of ints, length L+1 >= 2), the hidden activation and the output -> cq_mlp */
static int parse_net(PyObject *sizes, int act, int output, cq_mlp *net)
{
    PyObject *fast = PySequence_Fast(sizes, "sizes must be a sequence of ints");
    if (fast == NULL) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    if (n < 2 || n > CQ_MLP_MAX_LAYERS + 1) {
        Py_DECREF(fast);
        PyErr_Format(PyExc_ValueError, "an MLP needs 2 to %d layer sizes, got %zd", CQ_MLP_MAX_LAYERS + 1, n);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        long long v = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(fast, i));
        if (v == -1 && PyErr_Occurred()) { Py_DECREF(fast); return -1; }
        if (v < 1) { Py_DECREF(fast); PyErr_Format(PyExc_ValueError, "layer sizes must be >= 1, got %lld", v); return -1; }
        net->sizes[i] = (size_t)v;
    }
    Py_DECREF(fast);
    if (act < CQ_ACT_SIGMOID || act > CQ_ACT_LEAKY_RELU) {
        PyErr_Format(PyExc_ValueError, "unknown activation code %d", act);
        return -1;
    }
    if (output != CQ_MLP_OUT_SIGMOID && output != CQ_MLP_OUT_SOFTMAX) {
        PyErr_Format(PyExc_ValueError, "unknown output code %d", output);
        return -1;
    }
    net->n_layers = (int)(n - 1);
    net->hidden_act = act;
    net->output = output;
    return 0;
}

/* `o` as an aligned C-contiguous array of `typenum` (float64 or float32) with `ndim` dimensions;
 * float32 is taken only from float32 (or integer) data, never by rounding float64 down. */
static PyArrayObject *real_array(PyObject *o, const char *name, int ndim, int typenum)
{
    if (typenum == NPY_DOUBLE) return cqb_double_array(o, name, ndim, ndim);
    PyArrayObject *a = (PyArrayObject *)PyArray_FromAny(o, PyArray_DescrFromType(NPY_FLOAT32), ndim, ndim,
                                                        NPY_ARRAY_IN_ARRAY, NULL);
    if (a == NULL && PyErr_ExceptionMatches(PyExc_TypeError)) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "%s must be a %d-dimensional float32 array (theta is float32)", name, ndim);
    }
    return a;
}

static PyArrayObject *check_theta(PyObject *o, const cq_mlp *net, int *typenum)
{
    *typenum = PyArray_Check(o) && PyArray_TYPE((PyArrayObject *)o) == NPY_FLOAT32 ? NPY_FLOAT32 : NPY_DOUBLE;
    PyArrayObject *t = real_array(o, "theta", 1, *typenum);
    if (t != NULL && (size_t)PyArray_DIM(t, 0) != cq_mlp_n_params(net)) {
        PyErr_Format(PyExc_ValueError, "theta has %zd entries, the network has %zu parameters",
                     (Py_ssize_t)PyArray_DIM(t, 0), cq_mlp_n_params(net));
        Py_CLEAR(t);
    }
    return t;
}

static PyArrayObject *check_matrix(PyObject *o, const char *name, size_t cols, npy_intp rows, int typenum)
{
    PyArrayObject *a = real_array(o, name, 2, typenum);
    if (a == NULL) return NULL;
    if ((size_t)PyArray_DIM(a, 1) != cols || (rows >= 0 && PyArray_DIM(a, 0) != rows)) {
        PyErr_Format(PyExc_ValueError, "%s has shape (%zd, %zd), expected %zu columns", name,
                     (Py_ssize_t)PyArray_DIM(a, 0), (Py_ssize_t)PyArray_DIM(a, 1), cols);
        Py_CLEAR(a);
    }
    return a;
}

/* The data of one call, in either precision, and the arrays that keep it alive. */
typedef struct {
    PyArrayObject *X, *val, *col, *ptr, *Y, *w;
    cq_mlp_data d64;
    cq_mlp_data_f32 d32;
    int f32;
} mlp_data;

static void data_clear(mlp_data *D)
{
    PyArrayObject **held[] = {&D->X, &D->val, &D->col, &D->ptr, &D->Y, &D->w};
    for (size_t i = 0; i < sizeof held / sizeof held[0]; i++) Py_CLEAR(*held[i]);
}

/* X (2-d array or CSR triple), Y (m x K or None), w (m or None). 0, or -1 with an exception set. */
static int data_parse(mlp_data *D, const cq_mlp *net, int typenum, PyObject *xo, PyObject *yo, PyObject *wo)
{
    memset(D, 0, sizeof *D);
    D->f32 = typenum == NPY_FLOAT32;
    size_t n0 = net->sizes[0];
    npy_intp m;
    if (PyTuple_Check(xo)) {
        PyObject *vo, *co, *po;
        if (!PyArg_ParseTuple(xo, "OOO;a sparse X is the CSR triple (data, indices, indptr)", &vo, &co, &po)) return -1;
        if ((D->val = real_array(vo, "X.data", 1, typenum)) == NULL) goto fail;
        if ((D->col = cqb_int64_array(co, "X.indices", 1, 1)) == NULL) goto fail;
        if ((D->ptr = cqb_int64_array(po, "X.indptr", 1, 1)) == NULL) goto fail;
        m = PyArray_DIM(D->ptr, 0) - 1;
        npy_intp nnz = PyArray_DIM(D->val, 0);
        const int64_t *c = (const int64_t *)PyArray_DATA(D->col), *p = (const int64_t *)PyArray_DATA(D->ptr);
        if (m < 0 || PyArray_DIM(D->col, 0) != nnz || p[0] != 0 || p[m] != nnz) {
            PyErr_SetString(PyExc_ValueError, "X is not a valid CSR matrix: indptr must run from 0 to len(data) "
                                              "and indices must have len(data) entries");
            goto fail;
        }
        for (npy_intp i = 0; i < m; i++)
            if (p[i + 1] < p[i]) { PyErr_SetString(PyExc_ValueError, "X is not a valid CSR matrix: indptr decreases"); goto fail; }
        for (npy_intp k = 0; k < nnz; k++)
            if (c[k] < 0 || (size_t)c[k] >= n0) {
                PyErr_Format(PyExc_ValueError, "X has a column index %lld, expected %zu columns", (long long)c[k], n0);
                goto fail;
            }
    } else {
        if ((D->X = check_matrix(xo, "X", n0, -1, typenum)) == NULL) goto fail;
        m = PyArray_DIM(D->X, 0);
    }
    if (yo != Py_None && (D->Y = check_matrix(yo, "Y", net->sizes[net->n_layers], m, typenum)) == NULL) goto fail;
    double w_total = (double)m;
    if (wo != Py_None) {
        if ((D->w = real_array(wo, "sample_weight", 1, typenum)) == NULL) goto fail;
        if (PyArray_DIM(D->w, 0) != m) {
            PyErr_Format(PyExc_ValueError, "sample_weight has %zd entries, X has %zd rows", (Py_ssize_t)PyArray_DIM(D->w, 0),
                         (Py_ssize_t)m);
            goto fail;
        }
        w_total = 0.0;
        for (npy_intp i = 0; i < m; i++) {
            double wi = D->f32 ? (double)((const float *)PyArray_DATA(D->w))[i] : ((const double *)PyArray_DATA(D->w))[i];
            if (!(wi >= 0.0) || !isfinite(wi)) { PyErr_SetString(PyExc_ValueError, "sample_weight must be finite and >= 0"); goto fail; }
            w_total += wi;
        }
        if (!(w_total > 0.0)) { PyErr_SetString(PyExc_ValueError, "sample_weight sums to 0"); goto fail; }
    }
#define CQB_MLP_FILL(dd, T)                                                              \
    do {                                                                                 \
        dd.X = D->X ? (const T *)PyArray_DATA(D->X) : NULL;                              \
        dd.val = D->val ? (const T *)PyArray_DATA(D->val) : NULL;                        \
        dd.col = D->col ? (const int64_t *)PyArray_DATA(D->col) : NULL;                  \
        dd.ptr = D->ptr ? (const int64_t *)PyArray_DATA(D->ptr) : NULL;                  \
        dd.Y = D->Y ? (const T *)PyArray_DATA(D->Y) : NULL;                              \
        dd.w = D->w ? (const T *)PyArray_DATA(D->w) : NULL;                              \
        dd.m = (size_t)m;                                                                \
        dd.w_total = w_total;                                                            \
    } while (0)
    if (D->f32) CQB_MLP_FILL(D->d32, float);
    else CQB_MLP_FILL(D->d64, double);
#undef CQB_MLP_FILL
    return 0;
fail:
    data_clear(D);
    return -1;
}

static size_t data_rows(const mlp_data *D) { return D->f32 ? D->d32.m : D->d64.m; }

static PyArrayObject *new_real(int nd, npy_intp *dims, int typenum)
{
    return (PyArrayObject *)PyArray_SimpleNew(nd, dims, typenum);
}

typedef struct { const cq_mlp *net; double *theta; } init_args;

CQB_RUNNER(run_init, init_args)
{
    cq_mlp_init(a->net, a->theta, bg);
    return CQ_OK;
}

static PyObject *py_mlp_init(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *sizes, *gen;
    int act;
    if (!PyArg_ParseTuple(args, "OiO", &sizes, &act, &gen)) return NULL;
    cq_mlp net;
    if (parse_net(sizes, act, CQ_MLP_OUT_SIGMOID, &net) < 0) return NULL;
    npy_intp dims[1] = {(npy_intp)cq_mlp_n_params(&net)};
    PyArrayObject *theta = (PyArrayObject *)PyArray_SimpleNew(1, dims, NPY_DOUBLE);
    if (theta == NULL) return NULL;
    init_args a = {&net, (double *)PyArray_DATA(theta)};
    if (cqb_call(run_init, &a, gen) < 0) { Py_DECREF(theta); return NULL; }
    return (PyObject *)theta;
}

typedef struct { const cq_mlp *net; const mlp_data *D; const void *theta; void *out, *work; } forward_args;

CQB_RUNNER(run_forward, forward_args)
{
    if (a->D->f32) cq_mlp_forward_f32(a->net, (const float *)a->theta, &a->D->d32, (float *)a->out, (float *)a->work);
    else cq_mlp_forward(a->net, (const double *)a->theta, &a->D->d64, (double *)a->out, (double *)a->work);
    return CQ_OK;
}

/* _mlp_forward(sizes, act, theta, X, output=0) -> A[L] */
static PyObject *py_mlp_forward(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *sizes, *to, *xo;
    int act, output = CQ_MLP_OUT_SIGMOID, typenum;
    if (!PyArg_ParseTuple(args, "OiOO|i", &sizes, &act, &to, &xo, &output)) return NULL;
    cq_mlp net;
    if (parse_net(sizes, act, output, &net) < 0) return NULL;
    PyArrayObject *theta = check_theta(to, &net, &typenum);
    if (theta == NULL) return NULL;
    mlp_data D;
    if (data_parse(&D, &net, typenum, xo, Py_None, Py_None) < 0) { Py_DECREF(theta); return NULL; }
    size_t m = data_rows(&D), rows = cq_mlp_forward_rows(m, D.X == NULL);
    npy_intp dims[2] = {(npy_intp)m, (npy_intp)net.sizes[net.n_layers]};
    PyArrayObject *out = new_real(2, dims, typenum);
    void *work = PyMem_RawMalloc(PyArray_ITEMSIZE(theta) * (cq_mlp_work_size(&net, rows) + 1));
    if (out != NULL && work != NULL) {
        forward_args a = {&net, &D, PyArray_DATA(theta), PyArray_DATA(out), work};
        if (cqb_call(run_forward, &a, NULL) < 0) Py_CLEAR(out);
    } else if (work == NULL) {
        Py_CLEAR(out);
        PyErr_NoMemory();
    }
    PyMem_RawFree(work);
    Py_DECREF(theta);
    data_clear(&D);
    return (PyObject *)out;
}

typedef struct {
    const cq_mlp *net;
    const mlp_data *D;
    const void *theta;
    const int64_t *rows;
    size_t nb;
    double lam;
    void *grad, *work;
    double J;
} cost_grad_args;

CQB_RUNNER(run_cost_grad, cost_grad_args)
{
    if (a->D->f32)
        a->J = cq_mlp_cost_grad_f32(a->net, (const float *)a->theta, &a->D->d32, a->rows, a->nb, a->lam,
                                    (float *)a->grad, (float *)a->work);
    else
        a->J = cq_mlp_cost_grad(a->net, (const double *)a->theta, &a->D->d64, a->rows, a->nb, a->lam,
                                (double *)a->grad, (double *)a->work);
    return CQ_OK;
}

/* _mlp_cost_grad(sizes, act, theta, X, Y, rows or None, lam, output=0, sample_weight=None) -> (J, grad):
 * the cost on the rows (all if None) with the penalty lam/(2 W), W = the total weight of all rows of X. */
static PyObject *py_mlp_cost_grad(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *sizes, *to, *xo, *yo, *ro, *wo = Py_None;
    int act, output = CQ_MLP_OUT_SIGMOID, typenum;
    double lam;
    if (!PyArg_ParseTuple(args, "OiOOOOd|iO", &sizes, &act, &to, &xo, &yo, &ro, &lam, &output, &wo)) return NULL;
    cq_mlp net;
    if (parse_net(sizes, act, output, &net) < 0) return NULL;
    if (yo == Py_None) return PyErr_Format(PyExc_TypeError, "Y must be an array, got None");
    PyObject *result = NULL;
    PyArrayObject *theta = NULL, *rows = NULL, *grad = NULL;
    void *work = NULL;
    mlp_data D;
    if ((theta = check_theta(to, &net, &typenum)) == NULL) return NULL;
    if (data_parse(&D, &net, typenum, xo, yo, wo) < 0) { Py_DECREF(theta); return NULL; }
    npy_intp m = (npy_intp)data_rows(&D), nb = m;
    if (ro != Py_None) {
        if ((rows = cqb_int64_array(ro, "rows", 1, 1)) == NULL) goto done;
        nb = PyArray_DIM(rows, 0);
        const int64_t *r = (const int64_t *)PyArray_DATA(rows);
        for (npy_intp i = 0; i < nb; i++)
            if (r[i] < 0 || r[i] >= m) { PyErr_Format(PyExc_IndexError, "row index %lld out of range", (long long)r[i]); goto done; }
    }
    if (nb < 1) { PyErr_SetString(PyExc_ValueError, "need at least one row"); goto done; }
    npy_intp dims[1] = {(npy_intp)cq_mlp_n_params(&net)};
    grad = new_real(1, dims, typenum);
    work = PyMem_RawMalloc(PyArray_ITEMSIZE(theta) * cq_mlp_cost_work_size(&net, (size_t)nb, D.X == NULL));
    if (grad == NULL || work == NULL) { if (work == NULL) PyErr_NoMemory(); goto done; }
    cost_grad_args a = {&net, &D, PyArray_DATA(theta), rows ? (const int64_t *)PyArray_DATA(rows) : NULL,
                        (size_t)nb, lam, PyArray_DATA(grad), work, 0.0};
    if (cqb_call(run_cost_grad, &a, NULL) < 0) goto done;
    result = Py_BuildValue("(dO)", a.J, grad);
done:
    PyMem_RawFree(work);
    Py_XDECREF(theta);
    data_clear(&D);
    Py_XDECREF(rows);
    Py_XDECREF(grad);
    return result;
}

typedef struct {
    const cq_mlp *net;
    const mlp_data *D;
    void *theta, *v, *s;
    cq_mlp_opt opt;
    int64_t t, epochs, n_run;
    double *costs;
    uint64_t bits;
} train_args;

CQB_RUNNER(run_train, train_args)
{
    if (a->D->f32)
        return cq_mlp_train_f32(a->net, (float *)a->theta, &a->D->d32, &a->opt, (float *)a->v, (float *)a->s, &a->t,
                                a->epochs, bg, a->costs, &a->n_run, &a->bits, it, err);
    return cq_mlp_train(a->net, (double *)a->theta, &a->D->d64, &a->opt, (double *)a->v, (double *)a->s, &a->t,
                        a->epochs, bg, a->costs, &a->n_run, &a->bits, it, err);
}

/* an optimiser-state array: writable, C-contiguous, of theta's type and length (updated in place) */
static int check_state(PyObject *o, const char *name, npy_intp P, int typenum)
{
    if (!PyArray_Check(o) || PyArray_TYPE((PyArrayObject *)o) != typenum || PyArray_NDIM((PyArrayObject *)o) != 1
        || PyArray_DIM((PyArrayObject *)o, 0) != P || !PyArray_ISCARRAY((PyArrayObject *)o)) {
        PyErr_Format(PyExc_ValueError, "%s must be a writable C-contiguous array of theta's dtype with %zd entries",
                     name, (Py_ssize_t)P);
        return -1;
    }
    return 0;
}

/* _mlp_train(sizes, act, theta, X, Y, lam, lr, batch, epochs, None, gen, threads=0, running_cost=False, output=0,
 *            sample_weight=None, solver=0, momentum=0, nesterov=False, beta1=0.9, beta2=0.999, eps=1e-8,
 *            v=None, s=None, t=0, tol=-inf, n_iter_no_change=10) -> (theta, costs, bits, n_run, t) */
static PyObject *py_mlp_train(PyObject *self, PyObject *args, PyObject *kwds)
{
    (void)self;
    static char *kw[] = {"sizes", "act", "theta", "X", "Y", "lam", "lr", "batch", "epochs", "quantizer", "gen",
                         "threads", "running_cost", "output", "sample_weight", "solver", "momentum", "nesterov",
                         "beta1", "beta2", "eps", "v", "s", "t", "tol", "n_iter_no_change", NULL};
    PyObject *sizes, *to, *xo, *yo, *qspec, *gen, *wo = Py_None, *vo = Py_None, *so = Py_None;
    int act, running = 0, output = CQ_MLP_OUT_SIGMOID, solver = CQ_MLP_SGD, nesterov = 0, typenum;
    double lam, lr, momentum = 0.0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, tol = -INFINITY;
    Py_ssize_t batch, epochs;
    long threads = 0;
    long long t = 0, n_iter_no_change = 10;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OiOOOddnnOO|lpiOidpdddOOLdL", kw, &sizes, &act, &to, &xo, &yo,
                                     &lam, &lr, &batch, &epochs, &qspec, &gen, &threads, &running, &output, &wo,
                                     &solver, &momentum, &nesterov, &beta1, &beta2, &eps, &vo, &so, &t, &tol,
                                     &n_iter_no_change))
        return NULL;
    cq_mlp net;
    if (parse_net(sizes, act, output, &net) < 0) return NULL;
    if (batch < 1 || epochs < 0) return PyErr_Format(PyExc_ValueError, "need batch >= 1 and epochs >= 0");
    if (qspec != Py_None) return PyErr_Format(PyExc_NotImplementedError, "quantizer specs are not supported by this build");
    if (solver != CQ_MLP_SGD && solver != CQ_MLP_ADAM) return PyErr_Format(PyExc_ValueError, "unknown solver code %d", solver);
    if (t < 0 || n_iter_no_change < 0) return PyErr_Format(PyExc_ValueError, "need t >= 0 and n_iter_no_change >= 0");
    PyObject *result = NULL, *vnew = NULL, *snew = NULL;
    PyArrayObject *theta = NULL, *costs = NULL;
    mlp_data D;
    PyArrayObject *t0 = check_theta(to, &net, &typenum);
    if (t0 == NULL) return NULL;
    theta = (PyArrayObject *)PyArray_NewCopy(t0, NPY_CORDER);
    Py_DECREF(t0);
    if (theta == NULL) return NULL;
    if (data_parse(&D, &net, typenum, xo, yo, wo) < 0) { Py_DECREF(theta); return NULL; }
    npy_intp m = (npy_intp)data_rows(&D), P = PyArray_DIM(theta, 0);
    if (m < 1) { PyErr_SetString(PyExc_ValueError, "need at least one row"); goto done; }
    if (D.Y == NULL) { PyErr_SetString(PyExc_TypeError, "Y must be an array, got None"); goto done; }
    /* the state: given arrays are updated in place; missing ones start at zero */
    if (vo == Py_None) vo = vnew = PyArray_ZEROS(1, &P, typenum, 0);
    if (so == Py_None) so = snew = PyArray_ZEROS(1, &P, typenum, 0);
    if (vo == NULL || so == NULL) goto done;
    if (check_state(vo, "v", P, typenum) < 0 || check_state(so, "s", P, typenum) < 0) goto done;
    npy_intp dims[1] = {epochs};
    if ((costs = (PyArrayObject *)PyArray_SimpleNew(1, dims, NPY_DOUBLE)) == NULL) goto done;
    train_args a = {&net, &D, PyArray_DATA(theta), PyArray_DATA((PyArrayObject *)vo),
                    PyArray_DATA((PyArrayObject *)so),
                    {solver, lam, lr, (size_t)batch, momentum, nesterov, beta1, beta2, eps, tol,
                     (int64_t)n_iter_no_change, running, cqb_threads(threads)},
                    (int64_t)t, (int64_t)epochs, 0, (double *)PyArray_DATA(costs), 0};
    if (cqb_call(run_train, &a, gen) < 0) goto done;
    result = Py_BuildValue("(OOKLL)", theta, costs, (unsigned long long)a.bits, (long long)a.n_run, (long long)a.t);
done:
    Py_XDECREF(theta);
    data_clear(&D);
    Py_XDECREF(costs);
    Py_XDECREF(vnew);
    Py_XDECREF(snew);
    return result;
}

static PyObject *py_mlp_n_params(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *sizes;
    if (!PyArg_ParseTuple(args, "O", &sizes)) return NULL;
    cq_mlp net;
    if (parse_net(sizes, 0, CQ_MLP_OUT_SIGMOID, &net) < 0) return NULL;
    return PyLong_FromSize_t(cq_mlp_n_params(&net));
}

/* The hidden activations MLP_ACT_<NAME> (the CQ_ACT_* enum of cq_mlp.h), the outputs
 * MLP_OUT_<NAME> and the solvers MLP_<NAME>, for convq.models.mlp and its twin. Called from module.c. */
static const cqb_int_constant mlp_constants[] = {
    {"MLP_ACT_SIGMOID", CQ_ACT_SIGMOID},
    {"MLP_ACT_TANH", CQ_ACT_TANH},
    {"MLP_ACT_RELU", CQ_ACT_RELU},
    {"MLP_ACT_LEAKY_RELU", CQ_ACT_LEAKY_RELU},
    {"MLP_OUT_SIGMOID", CQ_MLP_OUT_SIGMOID},
    {"MLP_OUT_SOFTMAX", CQ_MLP_OUT_SOFTMAX},
    {"MLP_SOLVER_SGD", CQ_MLP_SGD},
    {"MLP_SOLVER_ADAM", CQ_MLP_ADAM},
    {"MLP_MAX_LAYERS", CQ_MLP_MAX_LAYERS},
    {"MLP_CHUNK", CQ_MLP_CHUNK},
};
CQB_INT_CONSTANTS(cqb_mlp_constants, mlp_constants)

PyMethodDef cqb_mlp_methods[] = {
    CQB_METHOD(_mlp_init, "_mlp_init(sizes, act, gen): W uniform in [-0.002, 0.002], b = 0 (Lagarde, section 3.6)."),
    CQB_METHOD(_mlp_forward, "_mlp_forward(sizes, act, theta, X, output=0): output probabilities."),
    CQB_METHOD(_mlp_cost_grad,
               "_mlp_cost_grad(sizes, act, theta, X, Y, rows, lam, output=0, sample_weight=None): cross-entropy cost "
               "+ penalty, gradient."),
    {"_mlp_train", (PyCFunction)(void (*)(void))py_mlp_train, METH_VARARGS | METH_KEYWORDS, "_mlp_train(sizes, act, theta, X, Y, lam, lr, batch, epochs, None, gen, threads=0, running_cost=False, output=0, sample_weight=None, solver=0, momentum=0, nesterov=False, beta1=0.9, beta2=0.999, eps=1e-8, v=None, s=None, t=0, tol=-inf, n_iter_no_change=10) -> (theta, costs, bits, n_run, t): minibatch training in C."},
    CQB_METHOD(_mlp_n_params, "_mlp_n_params(sizes): number of parameters."),
    CQB_METHODS_END,
};
