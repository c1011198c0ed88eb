/* qed_create.c — QED image creation (option checks in qemu 10.2's order and wording, the header
 * cluster and an empty L1 table), resizing and the recorded backing file (spec/qed.md §Creation,
 * §Resize). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "qed.h"
#include "../common/format_io.h"
#include "../common/format_names.h"
#include "../../block/file.h"
#include "../../block/open.h"
#include "../../util/memory.h"

/* qemu's qed_create_opts, in the order the "Formatting" line lists them. */
const option_desc qed_create_options[] = {
    {"size", OPTION_TYPE_SIZE, "Virtual disk size", NULL},
    {"backing_file", OPTION_TYPE_STRING, "File name of a base image", NULL},
    {"backing_fmt", OPTION_TYPE_STRING, "Image format of the base image", NULL},
    {"cluster_size", OPTION_TYPE_SIZE, "Cluster size (in bytes)", "65536"},
    {"table_size", OPTION_TYPE_SIZE, "L1/L2 table size (in clusters)", NULL},
    {NULL, 0, NULL, NULL},
};

/* Validated creation parameters. */
typedef struct qed_create_params {
    uint64_t size;
    uint64_t cluster_size;
    uint64_t cluster_size_given;   /* the option's 64-bit value: qemu writes the L1 table there */
    uint64_t table_size;
    const char *backing_file;
    const char *backing_format;
} qed_create_params;

/* The table size as qemu's QAPI reads it: a plain integer (decimal, 0x hex or 0 octal, no size
 * suffix), kept modulo 2^32 like the uint32 header field. */
static int qed_table_size_parse(const option_list *options, uint64_t *table_size, error **errp)
{
    const char *text = option_list_get(options, "table_size");
    *table_size = QED_DEFAULT_TABLE_SIZE;
    if (text == NULL)
        return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 0);
    if (end == text || *end != '\0' || errno != 0 || strchr(text, '-'))
        return error_set(errp, "Parameter 'table-size' expects integer");
    *table_size = (uint32_t)value;
    return 0;
}

/* Parses and checks the options in qemu's order (the file already exists, empty, when this fails). */
static int qed_create_params_parse(const option_list *options, qed_create_params *p, error **errp)
{
    memset(p, 0, sizeof(*p));
    if (option_list_get_size(options, "size", 0, &p->size, errp) < 0 ||
        option_list_get_size(options, "cluster_size", QED_DEFAULT_CLUSTER_SIZE, &p->cluster_size, errp) < 0 ||
        qed_table_size_parse(options, &p->table_size, errp) < 0)
        return -1;
    p->cluster_size_given = p->cluster_size;
    p->cluster_size = (uint32_t)p->cluster_size;
    p->backing_file = option_list_get(options, "backing_file");
    p->backing_format = option_list_get(options, "backing_fmt");
    if (p->backing_format && !format_blockdev_driver_known(p->backing_format))
        return error_set(errp, "Parameter 'backing-fmt' does not accept value '%s'", p->backing_format);
    p->size = (p->size + 511) & ~511ull;
    if (!qed_cluster_size_valid(p->cluster_size))
        return error_set(errp, "QED cluster size must be within range [%u, %u] and power of 2", QED_MIN_CLUSTER_SIZE,
                         QED_MAX_CLUSTER_SIZE);
    if (!qed_table_size_valid(p->table_size))
        return error_set(errp, "QED table size must be within range [%u, %u] and power of 2", QED_MIN_TABLE_SIZE,
                         QED_MAX_TABLE_SIZE);
    if (!qed_image_size_valid(p->size, p->cluster_size, p->table_size))
        return error_set(errp, "QED image size must be a non-zero multiple of cluster size and less than %llu bytes",
                         (unsigned long long)qed_max_image_size(p->cluster_size, p->table_size));
    return 0;
}

/* Writes the header fields, the backing name right after them, then the zeroed L1 table at the
 * cluster size as given (a value past 2^32, kept modulo 2^32 in the header, still places the table
 * there, as 10.2 does). Only these bytes are written, so the rest of the header cluster stays a hole;
 * a name longer than the header cluster is overwritten by the L1 table, as in 10.2. */
static int qed_create_layout_write(block_node *file, const qed_create_params *p, error **errp)
{
    qed_header header = {
        .magic = QED_MAGIC,
        .cluster_size = (uint32_t)p->cluster_size,
        .table_size = (uint32_t)p->table_size,
        .header_size = 1,
        .l1_table_offset = p->cluster_size,
        .image_size = p->size,
    };
    size_t name_length = p->backing_file ? strlen(p->backing_file) : 0;
    if (p->backing_file) {
        header.features |= QED_F_BACKING_FILE;
        if (p->backing_format && strcmp(p->backing_format, "raw") == 0)
            header.features |= QED_F_BACKING_FORMAT_NO_PROBE;
        header.backing_filename_offset = QED_HEADER_LENGTH;
        header.backing_filename_size = (uint32_t)name_length;
    }
    uint8_t raw[QED_HEADER_LENGTH];
    qed_header_write_data(&header, raw);
    if (format_file_write(file, 0, sizeof(raw), raw, errp) < 0 ||
        format_file_write(file, QED_HEADER_LENGTH, name_length, p->backing_file, errp) < 0)
        return -1;
    return format_file_write_zeroes(file, p->cluster_size_given, p->table_size * p->cluster_size, errp);
}

int qed_create(const char *filename, const option_list *options, error **errp)
{
    qed_create_params p;
    if (file_protocol_create_empty(filename, options, errp) < 0)
        return -1;
    if (qed_create_params_parse(options, &p, errp) < 0)
        return -1;
    block_node *file = block_protocol_open(filename, BLOCK_OPEN_READ_WRITE, errp);
    if (file == NULL)
        return -1;
    int ret = qed_create_layout_write(file, &p, errp);
    block_node_close(file);
    return ret;
}

int qed_truncate(block_node *node, uint64_t size, bool exact, block_preallocation prealloc, bool shrink_allowed,
                 error **errp)
{
    qed_state *s = node->state;
    (void)exact;
    (void)shrink_allowed;
    if (prealloc != BLOCK_PREALLOCATION_OFF)
        return error_set(errp, "Unsupported preallocation mode '%s'", block_preallocation_name(prealloc));
    if (!qed_image_size_valid(size, s->header.cluster_size, s->header.table_size))
        return error_set(errp, "Invalid image size specified");
    if (size < s->header.image_size)
        return error_set(errp, "Shrinking images is currently not supported");
    uint64_t old_size = s->header.image_size;
    s->header.image_size = size;
    if (qed_header_update(node, errp) < 0) {
        s->header.image_size = old_size;
        return -1;
    }
    node->size = size;
    return 0;
}

int qed_change_backing_file(block_node *node, const char *backing_file, const char *backing_format, error **errp)
{
    qed_state *s = node->state;
    qed_header header = s->header;
    size_t length = backing_file ? strlen(backing_file) : 0;
    header.features &= ~(QED_F_BACKING_FILE | QED_F_BACKING_FORMAT_NO_PROBE);
    if (backing_file && length > 0) {
        if ((uint64_t)QED_HEADER_LENGTH + length > (uint64_t)header.header_size * header.cluster_size)
            return error_set(errp, "No space left in the file header");
        header.features |= QED_F_BACKING_FILE;
        if (backing_format && strcmp(backing_format, "raw") == 0)
            header.features |= QED_F_BACKING_FORMAT_NO_PROBE;
        if (format_file_write(node->file, QED_HEADER_LENGTH, length, backing_file, errp) < 0)
            return -1;
    }
    header.backing_filename_offset = QED_HEADER_LENGTH;
    header.backing_filename_size = (uint32_t)length;
    qed_header saved = s->header;
    s->header = header;
    if (qed_header_update(node, errp) < 0) {
        s->header = saved;
        return -1;
    }
    return 0;
}
