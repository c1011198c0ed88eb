/* worker.c — the helper thread of worker.h over one mutex and one condition variable
 * (spec/architecture.md §Concurrency). */
#include "worker.h"

#include <string.h>

/* The thread: runs each task handed over, until stopped. */
static void *worker_main(void *opaque)
{
    worker *w = opaque;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (w->task == NULL && !w->stopping)
            pthread_cond_wait(&w->changed, &w->lock);
        if (w->task == NULL)
            break;
        worker_task_fn task = w->task;
        void *argument = w->argument;
        pthread_mutex_unlock(&w->lock);
        task(argument);
        pthread_mutex_lock(&w->lock);
        w->task = NULL;
        pthread_cond_broadcast(&w->changed);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

bool worker_start(worker *w)
{
    memset(w, 0, sizeof(*w));
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->changed, NULL);
    w->running = pthread_create(&w->thread, NULL, worker_main, w) == 0;
    return w->running;
}

void worker_run(worker *w, worker_task_fn task, void *argument)
{
    if (!w->running) {
        task(argument);
        return;
    }
    pthread_mutex_lock(&w->lock);
    w->task = task;
    w->argument = argument;
    pthread_cond_broadcast(&w->changed);
    pthread_mutex_unlock(&w->lock);
}

void worker_wait(worker *w)
{
    if (!w->running)
        return;
    pthread_mutex_lock(&w->lock);
    while (w->task != NULL)
        pthread_cond_wait(&w->changed, &w->lock);
    pthread_mutex_unlock(&w->lock);
}

void worker_stop(worker *w)
{
    if (w->running) {
        pthread_mutex_lock(&w->lock);
        w->stopping = true;
        pthread_cond_broadcast(&w->changed);
        pthread_mutex_unlock(&w->lock);
        pthread_join(w->thread, NULL);
        w->running = false;
    }
    pthread_cond_destroy(&w->changed);
    pthread_mutex_destroy(&w->lock);
}
