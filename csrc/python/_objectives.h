/* _objectives.h -- objective specs for other binding files: every convq objective
 * describes itself by its named spec convq._spec.ObjectiveSpec(kind, X, y, intercept, lam,
 * c, threads, w), read by field name; this turns it into a cq_obj (see csrc/cq_objectives.h) holding references to the arrays. */
#ifndef CQ_BIND_OBJECTIVES_H
#define CQ_BIND_OBJECTIVES_H

#include "bind.h"
#include "optimize/cq_objectives.h"

/* With a CSR X (a convq._spec.CSRSpec in the X field), o.csr points at csr and the three
 * arrays are held here; X is then NULL. */
typedef struct cqb_obj_spec {
    cq_obj o;
    PyArrayObject *X, *y, *w;
    PyArrayObject *indptr, *indices, *data;
    cq_csr csr;
} cqb_obj_spec;

/* 0 on success (release with cqb_obj_spec_release), -1 with an exception set. */
/* A spec that is not an ObjectiveSpec (a plain tuple) is a TypeError. */
int cqb_obj_spec_parse(PyObject *spec_obj, cqb_obj_spec *s);
void cqb_obj_spec_release(cqb_obj_spec *s);

/* `obj` as a float64 vector of length n (new reference), or NULL with ValueError/TypeError
 * naming `name`. */
PyArrayObject *cqb_vec_arg(PyObject *obj, const char *name, size_t n);

#endif
