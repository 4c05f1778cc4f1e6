/* bind_quantize.c -- bindings of the quantize kernels (filled in by the quantize work). */
#include "bind.h"

PyMethodDef cqb_quantize_methods[] = {
    {NULL, NULL, 0, NULL},
};
