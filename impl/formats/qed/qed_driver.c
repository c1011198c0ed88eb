/* qed_driver.c — the QED driver table: probing, opening (header checks in qemu 10.2's order and
 * wording, the automatic repair of an image marked as needing a check), closing, flushing and info
 * (spec/qed.md §Header, §Opening, §Need-check). */
#include <stdlib.h>
#include <string.h>

#include "qed.h"
#include "../common/format_io.h"
#include "../../util/endian.h"
#include "../../util/memory.h"

/* Scores a buffer: 100 when it starts with the QED magic. */
static int qed_probe(const uint8_t *buf, size_t buf_size, const char *filename)
{
    (void)filename;
    return buf_size >= 4 && endian_load_le32(buf) == QED_MAGIC ? 100 : 0;
}

uint64_t qed_file_size(block_node *node)
{
    return format_align_up(format_file_length(node->file), 512);
}

int qed_header_update(block_node *node, error **errp)
{
    qed_state *s = node->state;
    uint8_t raw[QED_HEADER_LENGTH];
    qed_header_write_data(&s->header, raw);
    return format_file_write(node->file, 0, sizeof(raw), raw, errp);
}

/* Frees the state's allocations and the state. */
static void qed_state_free(block_node *node)
{
    qed_state *s = node->state;
    if (s == NULL)
        return;
    free(s->l1_table);
    format_cache_clear(&s->l2_cache);
    free(s);
    node->state = NULL;
}

/* Derives the table geometry of a validated header. */
static void qed_state_geometry_set(qed_state *s)
{
    s->cluster_bits = 0;
    while ((1ull << s->cluster_bits) < s->header.cluster_size)
        s->cluster_bits++;
    s->table_bytes = (uint64_t)s->header.table_size * s->header.cluster_size;
    s->table_entries = s->table_bytes / sizeof(uint64_t);
    s->table_bits = 0;
    while ((1ull << s->table_bits) < s->table_entries)
        s->table_bits++;
    s->layout.entry_size = 8;
    s->layout.order = FORMAT_LITTLE_ENDIAN;
    s->layout.max_entries = s->table_entries;
    s->layout.past_end_reads_zero = false;
}

/* Reads the backing file name the header records (cut at its first NUL; none when empty). The name
 * lies inside the header clusters (validated); bytes past the end of the file read as zeroes, and no
 * more than the file holds is allocated. */
static int qed_backing_name_read(block_node *node, error **errp)
{
    qed_state *s = node->state;
    if (!(s->header.features & QED_F_BACKING_FILE) || s->header.backing_filename_size == 0)
        return 0;
    uint64_t offset = s->header.backing_filename_offset, length = s->header.backing_filename_size;
    uint64_t file_length = format_file_length(node->file);
    if (offset >= file_length)
        return 0;
    if (length > file_length - offset)
        length = file_length - offset;
    char *name = memory_alloc_zero((size_t)length + 1);
    if (format_file_read(node->file, offset, (size_t)length, name, errp) < 0) {
        free(name);
        return -1;
    }
    if (name[0] != '\0') {
        free(node->backing_file);
        node->backing_file = memory_strdup(name);
        free(node->backing_format);
        node->backing_format =
            (s->header.features & QED_F_BACKING_FORMAT_NO_PROBE) ? memory_strdup("raw") : NULL;
    }
    free(name);
    return 0;
}

/* What opening read-write does to the header: unknown autoclear bits are dropped, and an image marked
 * as needing a check is checked, repaired and unmarked (whatever the check leaves unrepaired). */
static int qed_open_writable_fixup(block_node *node, int flags, error **errp)
{
    qed_state *s = node->state;
    if (s->header.autoclear_features) {
        s->header.autoclear_features = 0;
        if (qed_header_update(node, errp) < 0)
            return -1;
    }
    if ((s->header.features & QED_F_NEED_CHECK) && !(flags & BLOCK_OPEN_CHECK)) {
        check_result result;
        memset(&result, 0, sizeof(result));
        if (qed_check(node, &result, CHECK_FIX_LEAKS | CHECK_FIX_ERRORS, errp) < 0)
            return -1;
    }
    return 0;
}

/* Whether key is a runtime option qemu's block layer accepts on a QED node (QED has none of its own). */
static bool qed_runtime_option_known(const char *key)
{
    static const char *const names[] = {
        "backing", "node-name", "read-only", "auto-read-only", "force-share", "discard", "detect-zeroes",
        "cache.direct", "cache.no-flush", NULL,
    };
    for (size_t i = 0; names[i]; i++)
        if (strcmp(names[i], key) == 0)
            return true;
    return strncmp(key, "backing.", 8) == 0;
}

/* Refuses runtime options QED does not know, as qemu words it. */
static int qed_runtime_options_check(const option_list *options, error **errp)
{
    for (size_t i = 0; options && i < options->count; i++)
        if (!qed_runtime_option_known(options->entries[i].key))
            return error_set(errp, "Block format 'qed' does not support the option '%s'", options->entries[i].key);
    return 0;
}

/* Opens node (node->file is open): header checks in qemu's order, then the L1 table. */
static int qed_open(block_node *node, option_list *options, int flags, error **errp)
{
    qed_state *s = memory_alloc_zero(sizeof(*s));
    uint8_t raw[QED_HEADER_LENGTH];
    node->state = s;
    if (format_file_read(node->file, 0, sizeof(raw), raw, errp) < 0)
        goto fail;
    qed_header_read_data(raw, sizeof(raw), &s->header);
    uint64_t file_size = qed_file_size(node);
    qed_header_fault fault = qed_header_validate(&s->header, file_size);
    if (fault != QED_HEADER_VALID) {
        qed_header_fault_error(fault, &s->header, errp);
        goto fail;
    }
    qed_state_geometry_set(s);
    format_cache_init(&s->l2_cache, node->file, (size_t)s->table_bytes);
    if (format_table_read(node->file, &s->layout, s->header.l1_table_offset, s->table_entries, &s->l1_table,
                          errp) < 0)
        goto fail;
    if (qed_backing_name_read(node, errp) < 0)
        goto fail;
    /* Allocation starts at the file length rounded down to a cluster (bytes past the last whole
     * cluster are overwritten), as 10.2 allocates. */
    s->file_end = qed_file_size(node) & ~((uint64_t)s->header.cluster_size - 1);
    node->size = s->header.image_size;
    node->request_alignment = 512; /* qemu's QED works in whole sectors */
    s->writable = (flags & BLOCK_OPEN_READ_WRITE) != 0;
    node->read_only = !s->writable;
    /* qemu refuses unknown options only after the driver opened (and fixed up) the image. */
    if (s->writable && qed_open_writable_fixup(node, flags, errp) < 0)
        goto fail;
    if (qed_runtime_options_check(options, errp) < 0)
        goto fail;
    return 0;
fail:
    qed_state_free(node);
    return -1;
}

int qed_flush(block_node *node, error **errp)
{
    qed_state *s = node->state;
    if (s == NULL || !s->writable)
        return 0;
    if (format_cache_flush(&s->l2_cache, errp) < 0)
        return -1;
    if (s->need_check_set) {
        s->header.features &= ~QED_F_NEED_CHECK;
        s->need_check_set = false;
        return qed_header_update(node, errp);
    }
    return 0;
}

/* Writes what is pending, clears the need-check mark this session set, and frees the state. */
static void qed_close(block_node *node)
{
    if (node->state == NULL)
        return;
    qed_flush(node, NULL);
    qed_state_free(node);
}

/* Fills the cluster size; QED lists no format-specific data and a clear dirty flag (even when the
 * image is marked as needing a check); its limits: no discard, zero writes up to INT_MAX rounded down
 * to the cluster. */
static int qed_info_fill(block_node *node, image_info *info, error **errp)
{
    qed_state *s = node->state;
    (void)errp;
    info->has_cluster_size = true;
    info->cluster_size = s->header.cluster_size;
    info->dirty_flag = false;
    info->has_no_discard = true;
    info->max_write_zeroes = 0x7fffffffull & ~((uint64_t)s->header.cluster_size - 1);
    return 0;
}

/* A new image reads as zeroes unless it has a backing file. */
static bool qed_has_zero_init(block_node *node)
{
    return node->backing_file == NULL;
}

const block_driver block_driver_qed = {
    .format_name = "qed",
    .supports_backing = true,
    .probe = qed_probe,
    .open = qed_open,
    .close = qed_close,
    .read = qed_read,
    .write = qed_write,
    .write_zeroes = qed_write_zeroes,
    .block_status = qed_block_status,
    .flush = qed_flush,
    .truncate = qed_truncate,
    .has_zero_init = qed_has_zero_init,
    .create_options = qed_create_options,
    .create = qed_create,
    .info_fill = qed_info_fill,
    .check = qed_check,
    .change_backing_file = qed_change_backing_file,
};
