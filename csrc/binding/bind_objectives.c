/* bind_objectives.c -- bindings of the objectives kernels (filled in by the objectives work). */
#include "bind.h"

PyMethodDef cqb_objectives_methods[] = {
    {NULL, NULL, 0, NULL},
};
