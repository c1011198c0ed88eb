/* worker.h — one helper thread that runs a task while the caller does another, then joins it
 * (spec/architecture.md §Concurrency). */
#ifndef QIMG_UTIL_WORKER_H
#define QIMG_UTIL_WORKER_H

#include <pthread.h>
#include <stdbool.h>

typedef void (*worker_task_fn)(void *argument);

/* A thread waiting for tasks, one at a time. */
typedef struct worker {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    worker_task_fn task; /* the task given and not yet finished, or NULL */
    void *argument;
    bool running;        /* the thread was started */
    bool stopping;
} worker;

/* Starts the thread. Returns false when it cannot be started: worker_run then runs tasks in the
 * caller's thread. */
bool worker_start(worker *w);

/* Hands task(argument) to the thread (the previous task must be finished: worker_wait). */
void worker_run(worker *w, worker_task_fn task, void *argument);

/* Waits until the task handed over has finished. */
void worker_wait(worker *w);

/* Stops and joins the thread (after the task in hand finishes). */
void worker_stop(worker *w);

#endif
