/* cq_parallel.c -- see cq_parallel.h. */
#include <pthread.h>
#include <stdlib.h>
#include "core/cq_parallel.h"

typedef struct pool {
    pthread_mutex_t mu;
    size_t next, n_tasks;
    size_t fail_task;    /* lowest failing task index, n_tasks if none */
    int fail_status;
    cq_task_fn fn;
    void *ctx;
    cq_interrupt *it;
} pool;

typedef struct worker {
    pool *p;
    int thread;
} worker;

static void run_tasks(pool *p, int thread)
{
    for (;;) {
        size_t task;
        pthread_mutex_lock(&p->mu);
        int stop = p->fail_task != p->n_tasks;
        task = p->next++;
        pthread_mutex_unlock(&p->mu);
        if (stop || task >= p->n_tasks) return;
        if (thread == 0 ? cq_check_interrupt(p->it) : cq_interrupted(p->it)) {
            pthread_mutex_lock(&p->mu);
            if (task < p->fail_task) { p->fail_task = task; p->fail_status = CQ_EINTERRUPT; }
            pthread_mutex_unlock(&p->mu);
            return;
        }
        int st = p->fn(p->ctx, task, thread);
        if (st != CQ_OK) {
            pthread_mutex_lock(&p->mu);
            if (task < p->fail_task) { p->fail_task = task; p->fail_status = st; }
            pthread_mutex_unlock(&p->mu);
        }
    }
}

static void *worker_main(void *arg)
{
    worker *w = (worker *)arg;
    run_tasks(w->p, w->thread);
    return NULL;
}

int cq_parallel_for(size_t n_tasks, int n_threads, cq_task_fn fn, void *ctx, cq_interrupt *it)
{
    if (n_tasks == 0) return CQ_OK;
    if (n_threads < 1) n_threads = 1;
    if ((size_t)n_threads > n_tasks) n_threads = (int)n_tasks;
    pool p = {.next = 0, .n_tasks = n_tasks, .fail_task = n_tasks, .fail_status = CQ_OK,
              .fn = fn, .ctx = ctx, .it = it};
    if (pthread_mutex_init(&p.mu, NULL) != 0) return CQ_ENOMEM;
    pthread_t *tid = NULL;
    worker *ws = NULL;
    int started = 0;
    if (n_threads > 1) {
        tid = (pthread_t *)malloc(sizeof(pthread_t) * (size_t)(n_threads - 1));
        ws = (worker *)malloc(sizeof(worker) * (size_t)(n_threads - 1));
        if (tid == NULL || ws == NULL) {
            free(tid);
            free(ws);
            pthread_mutex_destroy(&p.mu);
            return CQ_ENOMEM;
        }
        for (int t = 1; t < n_threads; t++) {
            ws[t - 1].p = &p;
            ws[t - 1].thread = t;
            if (pthread_create(&tid[t - 1], NULL, worker_main, &ws[t - 1]) != 0) break;
            started++;
        }
    }
    run_tasks(&p, 0);
    for (int t = 0; t < started; t++) pthread_join(tid[t], NULL);
    free(tid);
    free(ws);
    pthread_mutex_destroy(&p.mu);
    return p.fail_status;
}
