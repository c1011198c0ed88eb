/* memory.c — the in-memory protocol driver (spec/architecture.md §Fuzzing). */
#include "memory.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "open.h"
#include "../util/memory.h"

typedef struct memory_state {
    uint8_t *bytes;
    size_t length;
    size_t capacity;
    size_t max_size;
} memory_state;

/* Makes room for end bytes; -1 when that exceeds the node's limit. */
static int memory_reserve(memory_state *s, uint64_t end)
{
    if (end > s->max_size)
        return -1;
    if (end > s->capacity) {
        size_t capacity = s->capacity ? s->capacity : 4096;
        while (capacity < end)
            capacity *= 2;
        if (capacity > s->max_size)
            capacity = s->max_size;
        s->bytes = memory_realloc(s->bytes, capacity);
        memset(s->bytes + s->capacity, 0, capacity - s->capacity);
        s->capacity = capacity;
    }
    return 0;
}

static int memory_read(block_node *node, uint64_t offset, size_t length, uint8_t *buf, error **errp)
{
    memory_state *s = node->state;
    if (offset >= s->length) {
        memset(buf, 0, length);
        return 0;
    }
    size_t n = s->length - offset < length ? (size_t)(s->length - offset) : length;
    memcpy(buf, s->bytes + offset, n);
    memset(buf + n, 0, length - n);
    return 0;
}

static int memory_write(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, int flags,
                        error **errp)
{
    memory_state *s = node->state;
    if (offset + length < offset || memory_reserve(s, offset + length) < 0)
        return error_set_errno(errp, ENOSPC, "Could not write to '%s'", node->filename);
    memcpy(s->bytes + offset, buf, length);
    if (offset + length > s->length)
        s->length = (size_t)(offset + length);
    node->size = s->length;
    return 0;
}

static int memory_write_zeroes(block_node *node, uint64_t offset, uint64_t length, int flags, error **errp)
{
    memory_state *s = node->state;
    if (offset + length < offset || memory_reserve(s, offset + length) < 0)
        return error_set_errno(errp, ENOSPC, "Could not write to '%s'", node->filename);
    memset(s->bytes + offset, 0, (size_t)length);
    if (offset + length > s->length)
        s->length = (size_t)(offset + length);
    node->size = s->length;
    return 0;
}

static int memory_truncate(block_node *node, uint64_t size, bool exact, block_preallocation prealloc,
                           bool shrink_allowed, error **errp)
{
    memory_state *s = node->state;
    if (memory_reserve(s, size) < 0)
        return error_set_errno(errp, ENOSPC, "Could not resize '%s'", node->filename);
    if (size < s->length)
        memset(s->bytes + size, 0, s->length - size);
    s->length = (size_t)size;
    node->size = size;
    return 0;
}

static int64_t memory_allocated_size(block_node *node)
{
    memory_state *s = node->state;
    return (int64_t)s->length;
}

static int memory_info_fill(block_node *node, image_info *info, error **errp)
{
    info->format_specific_data = json_object_new();
    return 0;
}

static void memory_close(block_node *node)
{
    memory_state *s = node->state;
    if (s) {
        free(s->bytes);
        free(s);
        node->state = NULL;
    }
}

const block_driver block_driver_memory = {
    .format_name = "memory",
    .protocol_name = "memory",
    .is_protocol = true,
    .close = memory_close,
    .read = memory_read,
    .write = memory_write,
    .write_zeroes = memory_write_zeroes,
    .truncate = memory_truncate,
    .allocated_size = memory_allocated_size,
    .info_fill = memory_info_fill,
};

block_node *block_memory_open(const uint8_t *data, size_t size, size_t max_size, bool writable)
{
    block_node *node = block_node_new(&block_driver_memory, "memory");
    memory_state *s = memory_alloc_zero(sizeof(*s));
    s->max_size = max_size < size ? size : max_size;
    node->state = s;
    if (size > 0) {
        memory_reserve(s, size);
        memcpy(s->bytes, data, size);
    }
    s->length = size;
    node->size = size;
    node->read_only = !writable;
    node->flags = writable ? BLOCK_OPEN_READ_WRITE : 0;
    return node;
}

block_node *block_image_open_on(block_node *protocol, const char *format, int flags, error **errp)
{
    return block_image_open_on_with_options(protocol, format, NULL, flags, errp);
}

block_node *block_image_open_on_with_options(block_node *protocol, const char *format, option_list *options,
                                             int flags, error **errp)
{
    const block_driver *driver = NULL;
    if (format) {
        driver = block_driver_find(format);
        if (driver == NULL) {
            error_set(errp, "Unknown driver '%s'", format);
            block_node_close(protocol);
            return NULL;
        }
    } else {
        uint8_t probe[2048];
        size_t n = protocol->size < sizeof(probe) ? (size_t)protocol->size : sizeof(probe);
        memset(probe, 0, sizeof(probe));
        if (n > 0 && block_node_read(protocol, 0, n, probe, errp) < 0) {
            block_node_close(protocol);
            return NULL;
        }
        driver = block_driver_probe(probe, n, protocol->filename);
        if (driver == NULL) {
            error_set(errp, "Could not determine image format: No compatible driver found");
            block_node_close(protocol);
            return NULL;
        }
        if (strcmp(driver->format_name, "raw") == 0)
            flags |= BLOCK_OPEN_PROBED;
    }
    flags |= BLOCK_OPEN_NO_BACKING;
    block_node *node = block_format_open_on(driver, protocol, protocol->filename, options, flags, errp);
    if (node == NULL)
        block_node_close(protocol);
    return node;
}
