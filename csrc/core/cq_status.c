/* cq_status.c -- messages for the status codes of cq_common.h. */
#include "core/cq_common.h"

const char *cq_strerror(int status)
{
    switch (status) {
    case CQ_OK: return "success";
    case CQ_ENOMEM: return "out of memory";
    case CQ_EINVAL: return "invalid argument";
    case CQ_EDOMAIN: return "input outside the admissible set";
    case CQ_ENONFINITE: return "non-finite value (NaN or Inf)";
    case CQ_EDECODE: return "malformed encoded message";
    case CQ_EINTERRUPT: return "interrupted";
    case CQ_EOVERFLOW: return "internal buffer overflow";
    case CQ_EINTERNAL: return "internal error";
    case CQ_ECALLBACK: return "a Python callback raised an exception";
    default: return "unknown status";
    }
}

int cq_fail(cq_errinfo *err, int status, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return status;
}
