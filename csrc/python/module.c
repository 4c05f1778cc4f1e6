/* module.c -- convq._core: imports the NumPy C API, adds each binding file's method table
 * and the C enums / constants that the Python layer reads (never re-types). To add a
 * binding file: declare its table (and constants function) here and list it below. */
#define CQB_MODULE_MAIN
#include "bind.h"

extern PyMethodDef cqb_rng_methods[];
extern PyMethodDef cqb_coding_methods[];
extern PyMethodDef cqb_quantize_methods[];
extern PyMethodDef cqb_objectives_methods[];
extern PyMethodDef cqb_optimize_methods[];
int cqb_objectives_constants(PyObject *m);
int cqb_optimize_constants(PyObject *m);
int cqb_quantize_constants(PyObject *m);
extern PyMethodDef cqb_sampling_methods[];
int cqb_sampling_constants(PyObject *m);
extern PyMethodDef cqb_stochastic_methods[];
int cqb_stochastic_constants(PyObject *m);
extern PyMethodDef cqb_mlp_methods[];
int cqb_mlp_constants(PyObject *m);

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT,
    "convq._core",
    "convq's C core: thin bindings over the pure-C kernels in csrc/. Private; use the "
    "documented modules of the convq package.",
    -1,
    NULL, /* m_methods: added per area in PyInit__core */
    NULL, /* m_slots */
    NULL, /* m_traverse */
    NULL, /* m_clear */
    NULL, /* m_free */
};

PyMODINIT_FUNC PyInit__core(void)
{
    import_array();
    PyObject *m = PyModule_Create(&core_module);
    if (m == NULL) return NULL;
    PyMethodDef *tables[] = {
        cqb_rng_methods,
        cqb_coding_methods,
        cqb_quantize_methods,
        cqb_objectives_methods,
        cqb_optimize_methods,
        cqb_sampling_methods,
        cqb_stochastic_methods,
        cqb_mlp_methods,
    };
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        if (PyModule_AddFunctions(m, tables[i]) < 0) {
            Py_DECREF(m);
            return NULL;
        }
    }
    if (cqb_objectives_constants(m) < 0 || cqb_optimize_constants(m) < 0 || cqb_quantize_constants(m) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    if (cqb_sampling_constants(m) < 0 || cqb_stochastic_constants(m) < 0 || cqb_mlp_constants(m) < 0) {
        Py_DECREF(m);
        return NULL;
    }
#ifdef CQ_SANITIZE
    if (PyModule_AddIntConstant(m, "SANITIZED", 1) < 0) { Py_DECREF(m); return NULL; }
#else
    if (PyModule_AddIntConstant(m, "SANITIZED", 0) < 0) { Py_DECREF(m); return NULL; }
#endif
    return m;
}
