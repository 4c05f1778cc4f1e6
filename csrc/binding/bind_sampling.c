/* bind_sampling.c -- bindings of the sampling kernels (filled in by the sampling work). */
#include "bind.h"

PyMethodDef cqb_sampling_methods[] = {
    {NULL, NULL, 0, NULL},
};
