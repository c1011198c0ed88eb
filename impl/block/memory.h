/* memory.h — the in-memory protocol: an image held in a buffer, with no disk I/O (fuzzing, tests)
 * (spec/architecture.md §Fuzzing). */
#ifndef QIMG_BLOCK_MEMORY_H
#define QIMG_BLOCK_MEMORY_H

#include "block.h"

extern const block_driver block_driver_memory;

/* A protocol node over a private copy of data[0..size). Writes go to the copy and may grow it up
 * to max_size bytes (writes beyond fail with "No space left on device"). */
block_node *block_memory_open(const uint8_t *data, size_t size, size_t max_size, bool writable);

/* Opens an image on an already open protocol node (probing when format is NULL), without a
 * backing chain. On failure the protocol node is closed too. */
block_node *block_image_open_on(block_node *protocol, const char *format, int flags, error **errp);

/* As block_image_open_on, with driver options (key-value pairs as --image-opts gives them, e.g.
 * "key-secret=ID"; NULL: none). */
block_node *block_image_open_on_with_options(block_node *protocol, const char *format, option_list *options,
                                             int flags, error **errp);

#endif
