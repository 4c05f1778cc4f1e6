/*
 * bind.h -- the binding layer's shared helpers (the only code that includes Python.h).
 *
 * The binding layer parses arguments, converts arrays (any array-like, any order,
 * float32/float64 -> C-contiguous float64), allocates outputs, releases the GIL around
 * kernels, and maps cq_status codes to Python exceptions through cqb_raise(). It does
 * not validate user-facing semantics: the Python modules in convq/ do that and own the
 * documentation. Each Python module has its own binding file (csrc/python/_<module>.c
 * for convq.<module>) exporting a method table cqb_<module>_methods[] and, where it
 * exports C enums and constants, cqb_<module>_constants(module); module.c adds every
 * table and constant set to convq._core.
 *
 * Every entry point runs its kernel through cqb_call() / cqb_call_streams(): the one
 * place that acquires the BitGenerator(s) and their locks, releases the GIL with a
 * working Ctrl-C, runs the kernel and maps its status to an exception. An entry point
 * only converts its arguments into a small struct and defines its kernel with
 * CQB_RUNNER(run_x, x_args) { ... } (below; numpy.random's _common.pyx `cont` /
 * `double_fill` are the model).
 */
#ifndef CQ_BIND_H
#define CQ_BIND_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#define PY_ARRAY_UNIQUE_SYMBOL convq_ARRAY_API
#ifndef CQB_MODULE_MAIN
#define NO_IMPORT_ARRAY
#endif
#include <numpy/arrayobject.h>
#include <numpy/random/bitgen.h>

#include "core/cq_common.h"

/* Set the Python exception for a failing status (unless one is already set, e.g. by
 * PyErr_CheckSignals or a Python callback) and return NULL. `err` may be NULL. */
PyObject *cqb_raise(int status, const cq_errinfo *err);

/* Convert `obj` to an aligned, C-contiguous float64 array (new reference) with
 * ndim in [min_ndim, max_ndim]. TypeError for complex/object/string data, ValueError
 * for a wrong number of dimensions. `name` is used in messages. */
PyArrayObject *cqb_double_array(PyObject *obj, const char *name, int min_ndim, int max_ndim);

/* Same for integer arrays (int64) and bytes-like uint8 arrays. */
PyArrayObject *cqb_int64_array(PyObject *obj, const char *name, int min_ndim, int max_ndim);
PyArrayObject *cqb_uint8_array(PyObject *obj, const char *name, int min_ndim, int max_ndim);

/* A numpy BitGenerator held for the duration of a C call: its capsule pointer, a
 * reference to the object, and its lock acquired. */
typedef struct cqb_bitgen {
    PyObject *obj;     /* the BitGenerator (strong reference) */
    PyObject *lock;    /* its lock (strong reference), acquired */
    bitgen_t *bg;
} cqb_bitgen;

/* Accept a numpy.random.Generator or a BitGenerator; acquire its lock. 0 on success,
 * -1 with an exception set. Every successful acquire must be released. */
int cqb_bitgen_acquire(PyObject *gen_or_bitgen, cqb_bitgen *out);
void cqb_bitgen_release(cqb_bitgen *b);

/* Acquire a list/tuple of generators (one stream per chain or task). Returns a
 * PyMem-allocated array of `*n` cqb_bitgen, or NULL with an exception set. */
cqb_bitgen *cqb_bitgen_acquire_seq(PyObject *seq, Py_ssize_t *n);
void cqb_bitgen_release_seq(cqb_bitgen *bs, Py_ssize_t n);

/* A kernel as the call helper runs it: `args` is the entry point's own struct, `bg` the
 * acquired BitGenerator (NULL when the call has none), `it` the interrupt hook to poll,
 * `err` the detail record. Returns a cq_status. Runs without the GIL: it must not touch
 * Python objects (a kernel that calls back into Python uses cqb_call_with_gil below). */
typedef int (*cqb_kernel)(void *args, bitgen_t *bg, cq_interrupt *it, cq_errinfo *err);

/* A kernel over many streams (one BitGenerator per task): `bgs[i]` for i < n_streams. */
typedef int (*cqb_kernel_streams)(void *args, bitgen_t **bgs, size_t n_streams, cq_interrupt *it,
                                  cq_errinfo *err);

/* CQB_RUNNER(run_x, x_args) { ...body... } defines the cqb_kernel `run_x` from a typed body:
 * the body sees `x_args *a` (the entry point's struct) and the parameters `bg`, `it` and
 * `err` of cqb_kernel, each of which it may leave unused. It is declarations only: it
 * expands to a typed prototype, the void* trampoline `run_x` that casts and forwards, and
 * the head of the typed definition, whose body follows in braces:
 *     CQB_RUNNER(run_fwht, fwht_args)
 *     {
 *         cq_hadamard_fwht(a->x, a->n);
 *         return CQ_OK;
 *     }
 * CQB_RUNNER_STREAMS is the same for cqb_kernel_streams (parameters `bgs`, `n_streams`,
 * `it`, `err`). */
#if defined(__GNUC__) || defined(__clang__)
#define CQB_MAYBE_UNUSED __attribute__((unused))
#else
#define CQB_MAYBE_UNUSED
#endif

#define CQB_RUNNER(name, type)                                                                           \
    static int name##_typed(type *a, bitgen_t *bg, cq_interrupt *it, cq_errinfo *err);                   \
    static int name(void *args, bitgen_t *bg, cq_interrupt *it, cq_errinfo *err)                         \
    {                                                                                                    \
        return name##_typed((type *)args, bg, it, err);                                                  \
    }                                                                                                    \
    static int name##_typed(type *a, CQB_MAYBE_UNUSED bitgen_t *bg, CQB_MAYBE_UNUSED cq_interrupt *it,   \
                            CQB_MAYBE_UNUSED cq_errinfo *err)

#define CQB_RUNNER_STREAMS(name, type)                                                                   \
    static int name##_typed(type *a, bitgen_t **bgs, size_t n_streams, cq_interrupt *it,                 \
                            cq_errinfo *err);                                                            \
    static int name(void *args, bitgen_t **bgs, size_t n_streams, cq_interrupt *it, cq_errinfo *err)     \
    {                                                                                                    \
        return name##_typed((type *)args, bgs, n_streams, it, err);                                      \
    }                                                                                                    \
    static int name##_typed(type *a, CQB_MAYBE_UNUSED bitgen_t **bgs, CQB_MAYBE_UNUSED size_t n_streams, \
                            CQB_MAYBE_UNUSED cq_interrupt *it, CQB_MAYBE_UNUSED cq_errinfo *err)

/* CQB_VARIANT(py_x, impl, v) defines the METH_VARARGS entry point
 *     static PyObject *py_x(PyObject *self, PyObject *args)
 * that returns impl(args, v): several entry points served by one implementation that
 * a small integer (a flag, a kind) tells apart. */
#define CQB_VARIANT(name, impl, v)                                                                       \
    static PyObject *name(PyObject *self, PyObject *args)                                                \
    {                                                                                                    \
        (void)self;                                                                                      \
        return impl(args, v);                                                                            \
    }

/* CQB_METHOD(name, doc) is the method-table row binding the Python name `name` to the
 * METH_VARARGS function py<name> (the binding's naming rule: _q_bits -> py_q_bits) with the
 * docstring `doc`, whose first line states the call; CQB_METHODS_END closes a table:
 *     PyMethodDef cqb_coding_methods[] = {
 *         CQB_METHOD(_log2_binom, "_log2_binom(n, k): log2 C(n, k)."),
 *         CQB_METHODS_END,
 *     };
 * A function with another name or calling convention gets a row written out. */
#define CQB_METHOD(name, doc) {#name, py##name, METH_VARARGS, doc}
#define CQB_METHODS_END {NULL, NULL, 0, NULL}

/* Run `fn(args, bitgen of gen, ...)`: `gen` is a numpy Generator, a BitGenerator, or NULL
 * (no randomness). Acquires its lock, releases the GIL interruptibly, runs, re-takes
 * the GIL, releases the lock and maps a failing status to an exception (cqb_raise).
 * Returns 0 on success, -1 with an exception set. */
int cqb_call(cqb_kernel fn, void *args, PyObject *gen);

/* The same over a sequence of independent generators (one stream per chain/task). */
int cqb_call_streams(cqb_kernel_streams fn, void *args, PyObject *gens);

/* For kernels that call back into Python (objective callbacks): the GIL stays held and
 * the interrupt hook polls PyErr_CheckSignals directly; status mapping as cqb_call. */
int cqb_call_with_gil(cqb_kernel fn, void *args, PyObject *gen);

/* Named specs (convq/_spec.py): NamedTuples read by field name. cqb_spec_check: 0 if `obj`
 * is an instance of the NamedTuple called `type_name`, else -1 with a TypeError naming
 * `what`, the type expected and the type given (a positional plain tuple is refused).
 * cqb_spec_double / cqb_spec_int: the field `field` as a real number / an int (bool
 * counts), TypeError "<type_name>.<field> must be ..." otherwise. cqb_spec_get: the field
 * itself (new reference). All return 0 / an object on success, -1 / NULL with an
 * exception set. */
int cqb_spec_check(PyObject *obj, const char *type_name, const char *what);
int cqb_spec_double(PyObject *spec, const char *type_name, const char *field, double *out);
int cqb_spec_int(PyObject *spec, const char *type_name, const char *field, long long *out);
PyObject *cqb_spec_get(PyObject *spec, const char *field);

/* A table of C enum values exported to Python as module constants (the named values the
 * Python layer reads instead of mirroring the enums by hand). */
typedef struct cqb_int_constant {
    const char *name;
    int value;
} cqb_int_constant;
int cqb_add_int_constants(PyObject *m, const cqb_int_constant *c, size_t n);
/* CQB_INT_CONSTANTS(fn, table) defines `int fn(PyObject *m)`, the function module.c calls to
 * add the rows of `table` (a static array of cqb_int_constant) to the module. */
#define CQB_INT_CONSTANTS(fn, table)                                                                     \
    int fn(PyObject *m)                                                                                  \
    {                                                                                                    \
        return cqb_add_int_constants(m, table, sizeof table / sizeof table[0]);                          \
    }

/* Number of threads: n <= 0 means "all cores". */
int cqb_threads(long n);

#endif /* CQ_BIND_H */
