/* raw.c — the raw format: the virtual disk is the file itself (spec/architecture.md §Block layer). */
#include <stdlib.h>
#include <string.h>

#include "../block/block.h"
#include "../block/open.h"
#include "../util/memory.h"
#include "../util/report.h"

/* raw claims any file, with the lowest score, so that it is chosen last. */
static int raw_probe(const uint8_t *buf, size_t buf_size, const char *filename)
{
    return 1;
}

static int raw_open(block_node *node, option_list *options, int flags, error **errp)
{
    for (size_t i = 0; i < options->count; i++) {
        const char *key = options->entries[i].key;
        if (strcmp(key, "offset") != 0 && strcmp(key, "size") != 0)
            return error_set(errp, "Block format 'raw' does not support the option '%s'", key);
    }
    /* qemu counts a raw image in whole 512-byte sectors: a partial last sector reads as zeroes. */
    node->size = ((uint64_t)block_node_length(node->file) + 511) & ~(uint64_t)511;
    node->read_only = !(flags & BLOCK_OPEN_READ_WRITE);
    /* A probed image checks what writes put into block 0, so it takes requests in whole sectors. */
    node->request_alignment = (flags & BLOCK_OPEN_PROBED) ? 512 : 1;
    if ((flags & BLOCK_OPEN_PROBED) && (flags & BLOCK_OPEN_READ_WRITE)) {
        report_text("WARNING: Image format was not specified for '%s' and probing guessed raw.\n"
                    "         Automatically detecting the format is dangerous for raw images, write operations on "
                    "block 0 will be restricted.\n"
                    "         Specify the 'raw' format explicitly to remove the restrictions.\n",
                    node->filename);
    }
    return 0;
}

static int raw_read(block_node *node, uint64_t offset, size_t length, uint8_t *buf, error **errp)
{
    return block_node_read(node->file, offset, length, buf, errp);
}

/* A probed raw image refuses a write that would make block 0 look like another format. */
static int raw_check_block_zero(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, error **errp)
{
    if (!(node->flags & BLOCK_OPEN_PROBED) || offset >= 512)
        return 0;
    uint8_t first[512];
    if (block_node_read(node->file, 0, sizeof(first), first, errp) < 0)
        return -1;
    size_t n = length < 512 - offset ? length : (size_t)(512 - offset);
    memcpy(first + offset, buf, n);
    const block_driver *guess = block_driver_probe(first, sizeof(first), node->filename);
    if (guess && strcmp(guess->format_name, "raw") != 0)
        return error_set(errp, "Operation not permitted");
    return 0;
}

static int raw_write(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, int flags, error **errp)
{
    if (raw_check_block_zero(node, offset, length, buf, errp) < 0)
        return -1;
    return block_node_write(node->file, offset, length, buf, flags, errp);
}

static int raw_write_zeroes(block_node *node, uint64_t offset, uint64_t length, int flags, error **errp)
{
    return block_node_write_zeroes(node->file, offset, length, flags, errp);
}

static int raw_discard(block_node *node, uint64_t offset, uint64_t length, error **errp)
{
    return block_node_discard(node->file, offset, length, errp);
}

static int raw_block_status(block_node *node, uint64_t offset, uint64_t length, block_status_result *out,
                            error **errp)
{
    out->length = length;
    out->flags = BLOCK_STATUS_RAW | BLOCK_STATUS_OFFSET_VALID;
    out->map_offset = offset;
    out->map_node = node->file;
    return 0;
}

static int raw_truncate(block_node *node, uint64_t size, bool exact, block_preallocation prealloc,
                        bool shrink_allowed, error **errp)
{
    if (block_node_truncate(node->file, size, exact, prealloc, shrink_allowed, errp) < 0)
        return -1;
    node->size = size;
    return 0;
}

static int raw_measure(const option_list *options, block_node *in, uint64_t size, measure_result *out,
                       error **errp)
{
    uint64_t required = in ? (uint64_t)block_node_length(in) : size;
    required = (required + 511) & ~(uint64_t)511;
    out->required = required;
    out->fully_allocated = required;
    return 0;
}

static const option_desc raw_create_options[] = {
    {"size", OPTION_TYPE_SIZE, "Virtual disk size", NULL},
    {NULL, 0, NULL, NULL},
};

/* A raw image is created by the protocol alone: its options (size, preallocation...) say it all. */
static int raw_create(const char *filename, const option_list *options, error **errp)
{
    return block_driver_find_protocol(filename)->create(filename, options, errp);
}

const block_driver block_driver_raw = {
    .format_name = "raw",
    .shares_child_permissions = true,
    .probe = raw_probe,
    .open = raw_open,
    .read = raw_read,
    .write = raw_write,
    .write_zeroes = raw_write_zeroes,
    .discard = raw_discard,
    .block_status = raw_block_status,
    .truncate = raw_truncate,
    .measure = raw_measure,
    .create_options = raw_create_options,
    .create = raw_create,
};
