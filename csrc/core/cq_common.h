/*
 * cq_common.h -- what every convq C kernel shares: status codes, an error-detail
 * record, and the cooperative interrupt hook.
 *
 * Read me first:
 *  - Kernels are pure C99. They never include Python.h; they work on caller-provided
 *    buffers and draw randomness only from a caller-provided numpy `bitgen_t`.
 *  - Every kernel that can fail returns a `cq_status`; on failure it may fill a
 *    `cq_errinfo` (may be NULL) with a human-readable message for the binding layer.
 *  - Long loops poll a `cq_interrupt` (may be NULL) so that the binding layer can turn
 *    Ctrl-C into KeyboardInterrupt without the kernel knowing about Python.
 *  - No global mutable state anywhere in csrc/.
 */
#ifndef CQ_COMMON_H
#define CQ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdarg.h>

typedef enum cq_status {
    CQ_OK = 0,
    CQ_ENOMEM = 1,      /* allocation failed                              -> MemoryError */
    CQ_EINVAL = 2,      /* bad argument value (shape, parameter range)    -> ValueError  */
    CQ_EDOMAIN = 3,     /* input outside the admissible set (norm > bound) -> ValueError */
    CQ_ENONFINITE = 4,  /* NaN or Inf in the input or produced by a callback -> ValueError */
    CQ_EDECODE = 5,     /* malformed encoded message                      -> DecodeError */
    CQ_EINTERRUPT = 6,  /* the interrupt hook asked to stop               -> KeyboardInterrupt */
    CQ_EOVERFLOW = 7,   /* a fixed-size buffer would overflow (a bug)     -> RuntimeError */
    CQ_EINTERNAL = 8,   /* an invariant failed (a bug)                    -> RuntimeError */
    CQ_ECALLBACK = 9    /* a user callback raised; the binding holds the exception */
} cq_status;

/* Short, fixed description of a status code (never NULL). */
const char *cq_strerror(int status);

/* Optional detail for the caller: a formatted message. */
typedef struct cq_errinfo {
    char msg[256];
} cq_errinfo;

/* Fill `err` (if non-NULL) with a printf-style message and return `status`. */
int cq_fail(cq_errinfo *err, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/*
 * Cooperative interruption. `poll` is called only from the thread that called the
 * kernel (thread 0 of a parallel region), every few milliseconds of work; it returns
 * non-zero to ask the kernel to stop. Worker threads read `stop`, which thread 0 sets.
 */
typedef struct cq_interrupt {
    int (*poll)(void *ctx);
    void *ctx;
    volatile int stop;
    /* Progress, for the caller's progress display only (never read by a kernel): `done`
     * units of work out of `total` (0 = unknown), written by thread 0 just before it polls
     * (cq_check_progress) and by the kernel's set-up (cq_progress_total). */
    int64_t done, total;
} cq_interrupt;

/* Thread-0 check: poll the hook and publish the answer to the other threads. */
static inline int cq_check_interrupt(cq_interrupt *it)
{
    if (it == NULL) return 0;
    if (!it->stop && it->poll != NULL && it->poll(it->ctx)) it->stop = 1;
    return it->stop;
}

/* Announce the amount of work a kernel is about to do (resets `done`). */
static inline void cq_progress_total(cq_interrupt *it, int64_t total)
{
    if (it == NULL) return;
    it->total = total;
    it->done = 0;
}

/* Thread-0 check that first publishes how much work is done: the poll may show it. */
static inline int cq_check_progress(cq_interrupt *it, int64_t done)
{
    if (it == NULL) return 0;
    it->done = done;
    return cq_check_interrupt(it);
}

/* Worker-thread check: read the published answer only. */
static inline int cq_interrupted(const cq_interrupt *it)
{
    return it != NULL && it->stop;
}

#if defined(__GNUC__)
#define CQ_LIKELY(x) __builtin_expect(!!(x), 1)
#define CQ_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define CQ_LIKELY(x) (x)
#define CQ_UNLIKELY(x) (x)
#endif

#endif /* CQ_COMMON_H */
