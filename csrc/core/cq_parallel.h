/*
 * cq_parallel.h -- a minimal parallel-for over independent tasks (POSIX threads).
 *
 * Tasks are handed out dynamically, but every task must depend only on its own index
 * (its own bitgen_t, its own output slice), so results never depend on the number of
 * threads or the schedule. Thread 0 is the calling thread; only it polls the interrupt
 * hook (tasks call cq_check_interrupt when thread == 0, cq_interrupted otherwise).
 */
#ifndef CQ_PARALLEL_H
#define CQ_PARALLEL_H

#include <stddef.h>
#include "core/cq_common.h"

/* Run fn(ctx, task, thread) for task = 0..n_tasks-1 on up to n_threads threads.
 * Returns CQ_OK or the status of the first failing task (lowest task index among the
 * failures); after a failure, tasks not yet started are skipped. */
typedef int (*cq_task_fn)(void *ctx, size_t task, int thread);
int cq_parallel_for(size_t n_tasks, int n_threads, cq_task_fn fn, void *ctx, cq_interrupt *it);

#endif /* CQ_PARALLEL_H */
