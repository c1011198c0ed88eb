/* raw.c — the raw format: the virtual disk is the file itself, or the window of it offset and size select (spec/architecture.md §Block layer). */
#include <stdlib.h>
#include <string.h>

#include "../block/block.h"
#include "../block/open.h"
#include "../util/json.h"
#include "../util/memory.h"
#include "../util/report.h"

/* raw claims any file, with the lowest score, so that it is chosen last. */
static int raw_probe(const uint8_t *buf, size_t buf_size, const char *filename)
{
    return 1;
}

/* A raw image may be a window of its file: offset bytes in, and (has_size) exactly size bytes long. */
typedef struct raw_state {
    uint64_t offset;
    bool has_size;
} raw_state;

/* The window raw's offset and size options select, checked against the file as qemu checks it. */
static int raw_window_parse(block_node *node, const option_list *options, raw_state *state, error **errp)
{
    uint64_t size = 0;
    const char *size_text = option_list_get(options, "size");
    if (option_list_get_size(options, "offset", 0, &state->offset, errp) < 0 ||
        option_list_get_size(options, "size", 0, &size, errp) < 0)
        return -1;
    uint64_t file_length = (uint64_t)block_node_length(node->file);
    if (state->offset > file_length)
        return error_set(errp, "Offset (%llu) cannot be greater than size of the containing file (%llu)",
                         (unsigned long long)state->offset, (unsigned long long)file_length);
    state->has_size = size_text != NULL;
    if (state->has_size && size > file_length - state->offset)
        return error_set(errp, "The sum of offset (%llu) and size (%llu) has to be smaller or equal to the  actual "
                               "size of the containing file (%llu)",
                         (unsigned long long)state->offset, (unsigned long long)size, (unsigned long long)file_length);
    if (state->has_size && size % 512 != 0)
        return error_set(errp, "Specified size is not multiple of 512");
    /* qemu counts a raw image in whole 512-byte sectors: a partial last sector reads as zeroes. */
    node->size = state->has_size ? size : ((file_length - state->offset) + 511) & ~(uint64_t)511;
    return 0;
}

/* With a window the image has no plain name: qemu shows it as the json: of its options. */
static void raw_window_name(block_node *node, const option_list *options)
{
    json_value *root = json_object_new();
    const char *offset = option_list_get(options, "offset");
    const char *size = option_list_get(options, "size");
    if (offset)
        json_object_set_string(root, "offset", offset);
    json_object_set_string(root, "driver", "raw");
    if (size)
        json_object_set_string(root, "size", size);
    block_node_json_name_set(node, root);
}

/* The warning qemu prints whenever a writable raw node was reached by probing. */
static void raw_probe_warning_print(const block_node *node)
{
    report_text("WARNING: Image format was not specified for '%s' and probing guessed raw.\n"
                "         Automatically detecting the format is dangerous for raw images, write operations on "
                "block 0 will be restricted.\n"
                "         Specify the 'raw' format explicitly to remove the restrictions.\n",
                node->filename);
}

static int raw_open(block_node *node, option_list *options, int flags, error **errp)
{
    raw_state *state = memory_alloc_zero(sizeof(*state));
    node->state = state;
    if (raw_window_parse(node, options, state, errp) < 0)
        return -1;
    for (size_t i = 0; i < options->count; i++) {
        const char *key = options->entries[i].key;
        if (strcmp(key, "offset") != 0 && strcmp(key, "size") != 0)
            return error_set(errp, "Block format 'raw' does not support the option '%s'", key);
    }
    if (option_list_get(options, "offset") || option_list_get(options, "size"))
        raw_window_name(node, options);
    node->read_only = !(flags & BLOCK_OPEN_READ_WRITE);
    /* A probed image checks what writes put into block 0, so it takes requests in whole sectors. */
    node->request_alignment = (flags & BLOCK_OPEN_PROBED) ? 512 : 1;
    if ((flags & BLOCK_OPEN_PROBED) && (flags & BLOCK_OPEN_READ_WRITE))
        raw_probe_warning_print(node);
    return 0;
}

/* Snapshot apply on raw goes to the file, which has none; the reopen warns again. */
static void raw_snapshot_fallback_reopen(block_node *node)
{
    if ((node->flags & BLOCK_OPEN_PROBED) && (node->flags & BLOCK_OPEN_READ_WRITE))
        raw_probe_warning_print(node);
}

static void raw_close(block_node *node)
{
    free(node->state);
    node->state = NULL;
}

/* Where offset of the image lies in the file. */
static uint64_t raw_file_offset(const block_node *node, uint64_t offset)
{
    const raw_state *state = node->state;
    return offset + (state ? state->offset : 0);
}

static int raw_read(block_node *node, uint64_t offset, size_t length, uint8_t *buf, error **errp)
{
    return block_node_read(node->file, raw_file_offset(node, offset), length, buf, errp);
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
    return block_node_write(node->file, raw_file_offset(node, offset), length, buf, flags, errp);
}

static int raw_write_zeroes(block_node *node, uint64_t offset, uint64_t length, int flags, error **errp)
{
    return block_node_write_zeroes(node->file, raw_file_offset(node, offset), length, flags, errp);
}

static int raw_discard(block_node *node, uint64_t offset, uint64_t length, error **errp)
{
    return block_node_discard(node->file, raw_file_offset(node, offset), length, errp);
}

static int raw_block_status(block_node *node, uint64_t offset, uint64_t length, block_status_result *out,
                            error **errp)
{
    out->length = length;
    out->flags = BLOCK_STATUS_RAW | BLOCK_STATUS_OFFSET_VALID;
    out->map_offset = raw_file_offset(node, offset);
    out->map_node = node->file;
    return 0;
}

static int raw_truncate(block_node *node, uint64_t size, bool exact, block_preallocation prealloc,
                        bool shrink_allowed, error **errp)
{
    const raw_state *state = node->state;
    if (state && state->has_size)
        return error_set(errp, "Cannot resize fixed-size raw disks");
    if (block_node_truncate(node->file, raw_file_offset(node, size), exact, prealloc, shrink_allowed, errp) < 0)
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
    .supports_copy_offload = true,
    .probe = raw_probe,
    .open = raw_open,
    .snapshot_fallback_reopen = raw_snapshot_fallback_reopen,
    .close = raw_close,
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
