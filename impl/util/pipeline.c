/* pipeline.c — the producer thread and the consumer loop of pipeline.h over one mutex and two
 * condition variables (spec/architecture.md §Concurrency). */
#include "pipeline.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "memory.h"

/* What both stages share. Items are numbered from 0; item n lives in slot n % depth. */
typedef struct pipeline {
    const pipeline_config *config;
    uint8_t *items;   /* depth * item_size */
    uint8_t **buffers;
    pthread_mutex_t lock;
    pthread_cond_t produced_signal;
    pthread_cond_t consumed_signal;
    size_t produced; /* items finished by the producer */
    size_t consumed; /* items finished by the consumer */
    bool finished;   /* the producer has no more items */
    bool stopped;    /* the consumer wants no more items */
} pipeline;

static void *pipeline_item(pipeline *p, size_t n)
{
    return p->items + (n % p->config->depth) * p->config->item_size;
}

static uint8_t *pipeline_buffer(pipeline *p, size_t n)
{
    return p->buffers[n % p->config->depth];
}

/* The producer thread: fills slots while one is free and the consumer has not stopped. */
static void *pipeline_producer(void *opaque)
{
    pipeline *p = opaque;
    const pipeline_config *c = p->config;
    for (size_t n = 0;; n++) {
        pthread_mutex_lock(&p->lock);
        while (!p->stopped && n - p->consumed >= c->depth)
            pthread_cond_wait(&p->consumed_signal, &p->lock);
        bool stop = p->stopped;
        pthread_mutex_unlock(&p->lock);
        int more = 0;
        if (!stop) {
            memset(pipeline_item(p, n), 0, c->item_size);
            more = c->produce(c->context, pipeline_item(p, n), pipeline_buffer(p, n));
        }
        pthread_mutex_lock(&p->lock);
        if (more > 0)
            p->produced = n + 1;
        else
            p->finished = true;
        pthread_cond_signal(&p->produced_signal);
        pthread_mutex_unlock(&p->lock);
        if (more <= 0)
            return NULL;
    }
}

/* The consumer loop in the caller's thread. */
static int pipeline_consumer(pipeline *p)
{
    const pipeline_config *c = p->config;
    for (size_t n = 0;; n++) {
        pthread_mutex_lock(&p->lock);
        while (!p->finished && p->produced <= n)
            pthread_cond_wait(&p->produced_signal, &p->lock);
        bool available = p->produced > n;
        pthread_mutex_unlock(&p->lock);
        if (!available)
            return 0;
        int r = c->consume(c->context, pipeline_item(p, n), pipeline_buffer(p, n));
        pthread_mutex_lock(&p->lock);
        p->consumed = n + 1;
        if (r < 0)
            p->stopped = true;
        pthread_cond_signal(&p->consumed_signal);
        pthread_mutex_unlock(&p->lock);
        if (r < 0)
            return -1;
    }
}

/* Both stages in turn in this thread (depth 1, or no thread could be started). */
static int pipeline_run_serial(pipeline *p)
{
    const pipeline_config *c = p->config;
    for (;;) {
        memset(p->items, 0, c->item_size);
        if (c->produce(c->context, p->items, p->buffers[0]) <= 0)
            return 0;
        if (c->consume(c->context, p->items, p->buffers[0]) < 0)
            return -1;
    }
}

int pipeline_run(const pipeline_config *config)
{
    pipeline p = {.config = config};
    size_t depth = config->depth ? config->depth : 1;
    pipeline_config serial = *config;
    serial.depth = depth;
    p.config = &serial;
    p.items = memory_alloc_array(depth, config->item_size ? config->item_size : 1);
    p.buffers = memory_alloc_array(depth, sizeof(*p.buffers));
    for (size_t i = 0; i < depth; i++)
        p.buffers[i] = memory_alloc_aligned_unset(config->buffer_size ? config->buffer_size : 1);
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.produced_signal, NULL);
    pthread_cond_init(&p.consumed_signal, NULL);
    int ret;
    pthread_t producer;
    if (depth > 1 && pthread_create(&producer, NULL, pipeline_producer, &p) == 0) {
        ret = pipeline_consumer(&p);
        pthread_join(producer, NULL);
    } else {
        ret = pipeline_run_serial(&p);
    }
    pthread_cond_destroy(&p.consumed_signal);
    pthread_cond_destroy(&p.produced_signal);
    pthread_mutex_destroy(&p.lock);
    for (size_t i = 0; i < depth; i++)
        free(p.buffers[i]);
    free(p.buffers);
    free(p.items);
    return ret;
}
