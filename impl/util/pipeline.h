/* pipeline.h — two stages over a ring of buffers: a second thread produces items in order while the
 * caller's thread consumes them in the same order, so reading overlaps writing
 * (spec/architecture.md §Concurrency). */
#ifndef QIMG_UTIL_PIPELINE_H
#define QIMG_UTIL_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

/* Fills item (item_size bytes, zeroed) and buffer (buffer_size bytes) with the next piece of work.
 * Returns 1 when it produced an item, 0 when there is none left. A failure is reported inside the
 * item, for the consumer to print in its turn; the producer returns 0 after it. */
typedef int (*pipeline_produce_fn)(void *context, void *item, uint8_t *buffer);

/* Handles one produced item, in production order. Returns 0 to go on, -1 to stop the pipeline
 * (nothing more is consumed). */
typedef int (*pipeline_consume_fn)(void *context, void *item, uint8_t *buffer);

typedef struct pipeline_config {
    size_t depth;       /* items in flight, each with its own buffer; 1: both stages in turn in this thread */
    size_t buffer_size; /* bytes of each item's buffer */
    size_t item_size;   /* bytes of each item's description */
    pipeline_produce_fn produce;
    pipeline_consume_fn consume;
    void *context;
} pipeline_config;

/* Runs produce and consume until the producer has no more items (0) or the consumer stops (-1).
 * The producer runs in a thread of its own when depth > 1 and the thread can be started, so it
 * must only touch what the consumer does not. Buffers are reused once their item is consumed. */
int pipeline_run(const pipeline_config *config);

#endif
