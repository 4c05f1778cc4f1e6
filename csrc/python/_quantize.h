/*
 * bind_quantize.h -- the quantizer spec conversion other binding files may reuse
 * (quantized SGD, the distributed trainer): every Python quantizer object has a private
 * `_spec`, a convq._spec.QuantizerSpec (a NamedTuple with the fields kind, B, M, p, k,
 * levels, s, h, flags; kind a Q_KIND_* constant exported from csrc/quantize/cq_qkinds.h);
 * this reads it field by field, by name, into a cq_qspec.
 */
#ifndef CQ_BIND_QUANTIZE_H
#define CQ_BIND_QUANTIZE_H

#include "bind.h"
#include "quantize/cq_quantize.h"

/* 0 on success, -1 with TypeError/ValueError set. Accepts the quantizer object itself
 * (anything with a `_spec` attribute) or the QuantizerSpec. Parameter ranges are checked later
 * by cq_q_resolve for a given d. */
int cqb_qspec_from_py(PyObject *obj, cq_qspec *out);

/* The spec resolved for dimension d (d >= 1): every d-dependent parameter of the
 * quantizer in *P. 0 on success, -1 with ValueError/TypeError set. */
int cqb_qpar_resolve(PyObject *spec_obj, Py_ssize_t d, cq_qpar *P);

/* Adds the Q_KIND_* and Q_FLAG_* constants to the module (module.c). */
int cqb_quantize_constants(PyObject *m);

#endif /* CQ_BIND_QUANTIZE_H */
