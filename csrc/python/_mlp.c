/* _mlp.c -- bindings of the MLP kernels (csrc/models/cq_mlp.h) for convq.models.mlp.
 * Validation and the scikit-learn-style estimators live in convq/models; every kernel
 * runs through the one call helper (cqb_call, csrc/python/_call.c). */
#include "bind.h"
#include <string.h>
#include "models/cq_mlp.h"

/* sizes (sequence of ints, length L+1 >= 2) and the hidden activation -> cq_mlp */
static int parse_net(PyObject *sizes, int act, cq_mlp *net)
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
    net->n_layers = (int)(n - 1);
    net->hidden_act = act;
    return 0;
}

static PyArrayObject *check_theta(PyObject *o, const cq_mlp *net)
{
    PyArrayObject *t = cqb_double_array(o, "theta", 1, 1);
    if (t != NULL && (size_t)PyArray_DIM(t, 0) != cq_mlp_n_params(net)) {
        PyErr_Format(PyExc_ValueError, "theta has %zd entries, the network has %zu parameters",
                     (Py_ssize_t)PyArray_DIM(t, 0), cq_mlp_n_params(net));
        Py_CLEAR(t);
    }
    return t;
}

static PyArrayObject *check_matrix(PyObject *o, const char *name, size_t cols, npy_intp rows)
{
    PyArrayObject *a = cqb_double_array(o, name, 2, 2);
    if (a == NULL) return NULL;
    if ((size_t)PyArray_DIM(a, 1) != cols || (rows >= 0 && PyArray_DIM(a, 0) != rows)) {
        PyErr_Format(PyExc_ValueError, "%s has shape (%zd, %zd), expected %zu columns", name,
                     (Py_ssize_t)PyArray_DIM(a, 0), (Py_ssize_t)PyArray_DIM(a, 1), cols);
        Py_CLEAR(a);
    }
    return a;
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
    if (parse_net(sizes, act, &net) < 0) return NULL;
    npy_intp dims[1] = {(npy_intp)cq_mlp_n_params(&net)};
    PyArrayObject *theta = (PyArrayObject *)PyArray_SimpleNew(1, dims, NPY_DOUBLE);
    if (theta == NULL) return NULL;
    init_args a = {&net, (double *)PyArray_DATA(theta)};
    if (cqb_call(run_init, &a, gen) < 0) { Py_DECREF(theta); return NULL; }
    return (PyObject *)theta;
}

typedef struct { const cq_mlp *net; const double *theta, *X; size_t m; double *out, *work; } forward_args;

CQB_RUNNER(run_forward, forward_args)
{
    cq_mlp_forward(a->net, a->theta, a->X, a->m, a->out, a->work);
    return CQ_OK;
}

static PyObject *py_mlp_forward(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *sizes, *to, *xo;
    int act;
    if (!PyArg_ParseTuple(args, "OiOO", &sizes, &act, &to, &xo)) return NULL;
    cq_mlp net;
    if (parse_net(sizes, act, &net) < 0) return NULL;
    PyArrayObject *theta = check_theta(to, &net);
    if (theta == NULL) return NULL;
    PyArrayObject *X = check_matrix(xo, "X", net.sizes[0], -1);
    if (X == NULL) { Py_DECREF(theta); return NULL; }
    npy_intp m = PyArray_DIM(X, 0);
    npy_intp dims[2] = {m, (npy_intp)net.sizes[net.n_layers]};
    PyArrayObject *out = (PyArrayObject *)PyArray_SimpleNew(2, dims, NPY_DOUBLE);
    double *work = (double *)PyMem_RawMalloc(sizeof(double) * (cq_mlp_work_size(&net, (size_t)m) + 1));
    if (out != NULL && work != NULL) {
        forward_args a = {&net, (const double *)PyArray_DATA(theta), (const double *)PyArray_DATA(X), (size_t)m,
                          (double *)PyArray_DATA(out), work};
        if (cqb_call(run_forward, &a, NULL) < 0) Py_CLEAR(out);
    } else if (work == NULL) {
        Py_CLEAR(out);
        PyErr_NoMemory();
    }
    PyMem_RawFree(work);
    Py_DECREF(theta);
    Py_DECREF(X);
    return (PyObject *)out;
}

typedef struct {
    const cq_mlp *net;
    const double *theta, *X, *Y;
    const int64_t *rows;
    size_t nb;
    double lam;
    size_t m;
    double *grad, *work, J;
} cost_grad_args;

CQB_RUNNER(run_cost_grad, cost_grad_args)
{
    a->J = cq_mlp_cost_grad(a->net, a->theta, a->X, a->Y, a->rows, a->nb, a->lam, a->m, a->grad, a->work);
    return CQ_OK;
}

/* _mlp_cost_grad(sizes, act, theta, X, Y, rows or None, lam) -> (J, grad): the cross-entropy cost on the
 * rows (all if None) with the penalty lam/(2 m), m = the number of rows of X. */
static PyObject *py_mlp_cost_grad(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *sizes, *to, *xo, *yo, *ro;
    int act;
    double lam;
    if (!PyArg_ParseTuple(args, "OiOOOOd", &sizes, &act, &to, &xo, &yo, &ro, &lam)) return NULL;
    cq_mlp net;
    if (parse_net(sizes, act, &net) < 0) return NULL;
    PyObject *result = NULL;
    PyArrayObject *theta = NULL, *X = NULL, *Y = NULL, *rows = NULL, *grad = NULL;
    double *work = NULL;
    if ((theta = check_theta(to, &net)) == NULL) goto done;
    if ((X = check_matrix(xo, "X", net.sizes[0], -1)) == NULL) goto done;
    npy_intp m = PyArray_DIM(X, 0);
    if ((Y = check_matrix(yo, "Y", net.sizes[net.n_layers], m)) == NULL) goto done;
    npy_intp nb = m;
    if (ro != Py_None) {
        if ((rows = cqb_int64_array(ro, "rows", 1, 1)) == NULL) goto done;
        nb = PyArray_DIM(rows, 0);
        const int64_t *r = (const int64_t *)PyArray_DATA(rows);
        for (npy_intp i = 0; i < nb; i++)
            if (r[i] < 0 || r[i] >= m) { PyErr_Format(PyExc_IndexError, "row index %lld out of range", (long long)r[i]); goto done; }
    }
    if (nb < 1) { PyErr_SetString(PyExc_ValueError, "need at least one row"); goto done; }
    npy_intp dims[1] = {(npy_intp)cq_mlp_n_params(&net)};
    grad = (PyArrayObject *)PyArray_SimpleNew(1, dims, NPY_DOUBLE);
    work = (double *)PyMem_RawMalloc(sizeof(double) * cq_mlp_work_size(&net, (size_t)nb));
    if (grad == NULL || work == NULL) { if (work == NULL) PyErr_NoMemory(); goto done; }
    cost_grad_args a = {&net, (const double *)PyArray_DATA(theta), (const double *)PyArray_DATA(X),
                        (const double *)PyArray_DATA(Y), rows ? (const int64_t *)PyArray_DATA(rows) : NULL,
                        (size_t)nb, lam, (size_t)m, (double *)PyArray_DATA(grad), work, 0.0};
    if (cqb_call(run_cost_grad, &a, NULL) < 0) goto done;
    result = Py_BuildValue("(dO)", a.J, grad);
done:
    PyMem_RawFree(work);
    Py_XDECREF(theta);
    Py_XDECREF(X);
    Py_XDECREF(Y);
    Py_XDECREF(rows);
    Py_XDECREF(grad);
    return result;
}

typedef struct {
    const cq_mlp *net;
    double *theta;
    const double *X, *Y;
    size_t m;
    double lam, lr;
    size_t batch;
    int64_t epochs;
    double *costs;
    uint64_t bits;
    int running, threads;
} train_args;

CQB_RUNNER(run_train, train_args)
{
    return cq_mlp_train(a->net, a->theta, a->X, a->Y, a->m, a->lam, a->lr, a->batch, a->epochs, NULL, bg, a->costs,
                        &a->bits, a->running, a->threads, it, err);
}

/* _mlp_train(sizes, act, theta, X, Y, lam, lr, batch, epochs, quant_spec, gen) -> (theta, costs, bits) */
static PyObject *py_mlp_train(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *sizes, *to, *xo, *yo, *qspec, *gen;
    int act;
    double lam, lr;
    Py_ssize_t batch, epochs;
    long threads = 0;
    int running = 0;
    if (!PyArg_ParseTuple(args, "OiOOOddnnOO|lp", &sizes, &act, &to, &xo, &yo, &lam, &lr, &batch, &epochs, &qspec, &gen,
                          &threads, &running))
        return NULL;
    cq_mlp net;
    if (parse_net(sizes, act, &net) < 0) return NULL;
    if (batch < 1 || epochs < 0) return PyErr_Format(PyExc_ValueError, "need batch >= 1 and epochs >= 0");
    if (qspec != Py_None) return PyErr_Format(PyExc_NotImplementedError, "quantizer specs are not supported by this build");
    PyObject *result = NULL;
    PyArrayObject *theta = NULL, *X = NULL, *Y = NULL, *costs = NULL;
    PyArrayObject *t0 = check_theta(to, &net);
    if (t0 == NULL) return NULL;
    theta = (PyArrayObject *)PyArray_NewCopy(t0, NPY_CORDER);
    Py_DECREF(t0);
    if (theta == NULL) return NULL;
    if ((X = check_matrix(xo, "X", net.sizes[0], -1)) == NULL) goto done;
    npy_intp m = PyArray_DIM(X, 0);
    if (m < 1) { PyErr_SetString(PyExc_ValueError, "need at least one row"); goto done; }
    if ((Y = check_matrix(yo, "Y", net.sizes[net.n_layers], m)) == NULL) goto done;
    npy_intp dims[1] = {epochs};
    if ((costs = (PyArrayObject *)PyArray_SimpleNew(1, dims, NPY_DOUBLE)) == NULL) goto done;
    train_args a = {&net, (double *)PyArray_DATA(theta), (const double *)PyArray_DATA(X),
                    (const double *)PyArray_DATA(Y), (size_t)m, lam, lr, (size_t)batch, (int64_t)epochs,
                    (double *)PyArray_DATA(costs), 0, running, cqb_threads(threads)};
    if (cqb_call(run_train, &a, gen) < 0) goto done;
    result = Py_BuildValue("(OOK)", theta, costs, (unsigned long long)a.bits);
done:
    Py_XDECREF(theta);
    Py_XDECREF(X);
    Py_XDECREF(Y);
    Py_XDECREF(costs);
    return result;
}

static PyObject *py_mlp_n_params(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *sizes;
    if (!PyArg_ParseTuple(args, "O", &sizes)) return NULL;
    cq_mlp net;
    if (parse_net(sizes, 0, &net) < 0) return NULL;
    return PyLong_FromSize_t(cq_mlp_n_params(&net));
}

/* The hidden activations MLP_ACT_<NAME> (the CQ_ACT_* enum of cq_mlp.h), for
 * convq.models.mlp and its twin. Called from module.c. */
int cqb_mlp_constants(PyObject *m)
{
    static const cqb_int_constant c[] = {
        {"MLP_ACT_SIGMOID", CQ_ACT_SIGMOID},
        {"MLP_ACT_TANH", CQ_ACT_TANH},
        {"MLP_ACT_RELU", CQ_ACT_RELU},
        {"MLP_ACT_LEAKY_RELU", CQ_ACT_LEAKY_RELU},
        {"MLP_MAX_LAYERS", CQ_MLP_MAX_LAYERS},
    };
    return cqb_add_int_constants(m, c, sizeof c / sizeof c[0]);
}

PyMethodDef cqb_mlp_methods[] = {
    {"_mlp_init", py_mlp_init, METH_VARARGS, "_mlp_init(sizes, act, gen): W uniform in [-0.002, 0.002], b = 0 (Lagarde, section 3.6)."},
    {"_mlp_forward", py_mlp_forward, METH_VARARGS, "_mlp_forward(sizes, act, theta, X): output probabilities."},
    {"_mlp_cost_grad", py_mlp_cost_grad, METH_VARARGS, "_mlp_cost_grad(sizes, act, theta, X, Y, rows, lam): cross-entropy cost + penalty, gradient."},
    {"_mlp_train", py_mlp_train, METH_VARARGS, "_mlp_train(sizes, act, theta, X, Y, lam, lr, batch, epochs, None, gen, threads=0, running_cost=False): minibatch gradient descent in C."},
    {"_mlp_n_params", py_mlp_n_params, METH_VARARGS, "_mlp_n_params(sizes): number of parameters."},
    {NULL, NULL, 0, NULL},
};
