/* qcow2_create.c — qcow2 image creation (option checks and layout exactly as qemu 10.2 writes them) and
 * size measurement (spec/qcow2.md §Creation, §Measure). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qcow2.h"
#include "../common/format_names.h"
#include "../../block/file.h"
#include "../../block/open.h"
#include "../../util/endian.h"
#include "../../util/memory.h"

block_node *qcow2_open_for_create(block_node *file, const char *filename, block_node *data_node, error **errp);

/* The options creation and amendment share, in qemu's order. */
#define QCOW2_COMMON_OPTIONS                                                                                       \
    {"size", OPTION_TYPE_SIZE, "Virtual disk size", NULL},                                                        \
    {"compat", OPTION_TYPE_STRING, "Compatibility level (v2 [0.10] or v3 [1.1])", NULL},                          \
    {"backing_file", OPTION_TYPE_STRING, "File name of a base image", NULL},                                      \
    {"backing_fmt", OPTION_TYPE_STRING, "Image format of the base image", NULL},                                  \
    {"data_file", OPTION_TYPE_STRING, "File name of an external data file", NULL},                                \
    {"data_file_raw", OPTION_TYPE_BOOL, "The external data file must stay valid as a raw image", NULL},           \
    {"lazy_refcounts", OPTION_TYPE_BOOL, "Postpone refcount updates", "off"},                                     \
    {"refcount_bits", OPTION_TYPE_NUMBER, "Width of a reference count entry in bits", "16"}

/* qemu's qcow2_create_opts, in its order (the "Formatting" line follows it). */
const option_desc qcow2_create_options[] = {
    {"encryption", OPTION_TYPE_BOOL, "Encrypt the image with format 'aes'. (Deprecated in favor of encrypt.format=aes)",
     NULL},
    {"encrypt.format", OPTION_TYPE_STRING, "Encrypt the image, format choices: 'aes', 'luks'", NULL},
    {"encrypt.key-secret", OPTION_TYPE_STRING, "ID of secret providing qcow AES key or LUKS passphrase", NULL},
    {"encrypt.cipher-alg", OPTION_TYPE_STRING, "Name of encryption cipher algorithm", NULL},
    {"encrypt.cipher-mode", OPTION_TYPE_STRING, "Name of encryption cipher mode", NULL},
    {"encrypt.ivgen-alg", OPTION_TYPE_STRING, "Name of IV generator algorithm", NULL},
    {"encrypt.ivgen-hash-alg", OPTION_TYPE_STRING, "Name of IV generator hash algorithm", NULL},
    {"encrypt.hash-alg", OPTION_TYPE_STRING, "Name of encryption hash algorithm", NULL},
    {"encrypt.iter-time", OPTION_TYPE_NUMBER, "Time to spend in PBKDF in milliseconds", NULL},
    {"cluster_size", OPTION_TYPE_SIZE, "qcow2 cluster size", "65536"},
    {"extended_l2", OPTION_TYPE_BOOL, "Extended L2 tables", "off"},
    {"preallocation", OPTION_TYPE_STRING, "Preallocation mode (allowed values: off, metadata, falloc, full)", NULL},
    {"compression_type", OPTION_TYPE_STRING, "Compression method used for image cluster compression", "zlib"},
    QCOW2_COMMON_OPTIONS,
    {NULL, 0, NULL, NULL},
};

/* qemu's qcow2_amend_opts. */
const option_desc qcow2_amend_options[] = {
    {"encrypt.state", OPTION_TYPE_STRING, "Select new state of affected keyslots (active/inactive)", NULL},
    {"encrypt.keyslot", OPTION_TYPE_NUMBER, "Select a single keyslot to modify explicitly", NULL},
    {"encrypt.old-secret", OPTION_TYPE_STRING, "Select all keyslots that match this password", NULL},
    {"encrypt.new-secret", OPTION_TYPE_STRING, "New secret to set in the matching keyslots. Empty string to erase",
     NULL},
    {"encrypt.iter-time", OPTION_TYPE_NUMBER, "Time to spend in PBKDF in milliseconds", NULL},
    QCOW2_COMMON_OPTIONS,
    {NULL, 0, NULL, NULL},
};

/* Whether x is a power of two (and not zero). */
static bool qcow2_is_power_of_two(uint64_t x)
{
    return x && !(x & (x - 1));
}

/* Validated creation parameters. */
typedef struct qcow2_create_params {
    uint64_t size;
    int version;
    uint64_t cluster_size;
    bool extended_l2;
    bool lazy_refcounts;
    uint64_t refcount_bits;
    block_preallocation prealloc;
    uint8_t compression_type;
    const char *backing_file;
    const char *backing_format;
    const char *data_file;
    bool data_file_raw;
    qcow2_crypt_create_params crypt;
} qcow2_create_params;

/* Parses and checks the options in the order qemu's QAPI visitor and qcow2_co_create check them. */
static int qcow2_create_params_parse(const option_list *options, qcow2_create_params *p, error **errp)
{
    const char *text;
    memset(p, 0, sizeof(*p));
    p->version = 3;
    p->cluster_size = QCOW2_DEFAULT_CLUSTER_SIZE;
    p->refcount_bits = 16;
    p->prealloc = BLOCK_PREALLOCATION_OFF;
    p->data_file = option_list_get(options, "data_file");
    if (option_list_get_bool(options, "data_file_raw", false, &p->data_file_raw, errp) < 0)
        return -1;
    if (option_list_get_bool(options, "extended_l2", false, &p->extended_l2, errp) < 0)
        return -1;
    if (option_list_get_size(options, "size", 0, &p->size, errp) < 0)
        return -1;
    text = option_list_get(options, "compat");
    if (text) {
        if (strcmp(text, "0.10") == 0 || strcmp(text, "v2") == 0)
            p->version = 2;
        else if (strcmp(text, "1.1") == 0 || strcmp(text, "v3") == 0)
            p->version = 3;
        else
            return error_set(errp, "Parameter 'version' does not accept value '%s'", text);
    }
    p->backing_file = option_list_get(options, "backing_file");
    p->backing_format = option_list_get(options, "backing_fmt");
    if (p->backing_format) {
        if (!format_blockdev_driver_known(p->backing_format))
            return error_set(errp, "Parameter 'backing-fmt' does not accept value '%s'", p->backing_format);
    }
    if (qcow2_crypt_create_params_parse(options, &p->crypt, errp) < 0)
        return -1;
    if (option_list_get_size(options, "cluster_size", QCOW2_DEFAULT_CLUSTER_SIZE, &p->cluster_size, errp) < 0)
        return -1;
    text = option_list_get(options, "preallocation");
    if (text) {
        int mode = block_preallocation_parse(text);
        if (mode < 0)
            return error_set(errp, "Parameter 'preallocation' does not accept value '%s'", text);
        p->prealloc = (block_preallocation)mode;
    }
    if (option_list_get_bool(options, "lazy_refcounts", false, &p->lazy_refcounts, errp) < 0)
        return -1;
    if (option_list_get_number(options, "refcount_bits", 16, &p->refcount_bits, errp) < 0)
        return -1;
    text = option_list_get(options, "compression_type");
    if (text) {
        if (strcmp(text, "zlib") == 0)
            p->compression_type = QCOW2_COMPRESSION_ZLIB;
        else if (strcmp(text, "zstd") == 0)
            p->compression_type = QCOW2_COMPRESSION_ZSTD;
        else
            return error_set(errp, "Parameter 'compression-type' does not accept value '%s'", text);
    }
    p->size = (p->size + 511) & ~511ull;

    if (p->extended_l2 && p->version < 3)
        return error_set(errp, "Extended L2 entries are only supported with compatibility level 1.1 and above (use "
                               "version=v3 or greater)");
    if (!qcow2_is_power_of_two(p->cluster_size) || p->cluster_size < 512 || p->cluster_size > 2 * 1024 * 1024)
        return error_set(errp, "Cluster size must be a power of two between 512 and 2048k");
    if (p->extended_l2 && p->cluster_size < 512 * QCOW2_SUBCLUSTERS)
        return error_set(errp, "Extended L2 entries are only supported with cluster sizes of at least %u bytes",
                         512 * QCOW2_SUBCLUSTERS);
    if (p->backing_file && p->prealloc != BLOCK_PREALLOCATION_OFF && !p->extended_l2)
        return error_set(errp, "Backing file and preallocation can only be used at the same time if extended_l2 is on");
    if (p->backing_format && !p->backing_file)
        return error_set(errp, "Backing format cannot be used without backing file");
    if (p->version < 3 && p->lazy_refcounts)
        return error_set(errp, "Lazy refcounts only supported with compatibility level 1.1 and above (use version=v3 "
                               "or greater)");
    if (p->refcount_bits > 64 || !qcow2_is_power_of_two(p->refcount_bits))
        return error_set(errp, "Refcount width must be a power of two and may not exceed 64 bits");
    if (p->version < 3 && p->refcount_bits != 16)
        return error_set(errp, "Different refcount widths than 16 bits require compatibility level 1.1 or above (use "
                               "version=v3 or greater)");
    if (p->data_file_raw && !p->data_file)
        return error_set(errp, "data-file-raw requires data-file");
    if (p->data_file_raw && p->backing_file)
        return error_set(errp, "Backing file and data-file-raw cannot be used at the same time");
    if (p->data_file_raw && p->prealloc == BLOCK_PREALLOCATION_OFF)
        p->prealloc = BLOCK_PREALLOCATION_METADATA;
    if (p->data_file && p->version < 3)
        return error_set(errp, "External data files are only supported with compatibility level 1.1 and above (use "
                               "version=v3 or greater)");
    if (p->compression_type != QCOW2_COMPRESSION_ZLIB && p->version < 3)
        return error_set(errp, "Non-zlib compression type is only supported with compatibility level 1.1 and above "
                               "(use version=v3 or greater)");
    return 0;
}

/* Writes the minimal image (header, refcount table with one empty block) that qemu starts from. */
static int qcow2_create_skeleton(block_node *file, const qcow2_create_params *p, error **errp)
{
    uint8_t *buf = memory_alloc_zero(2 * p->cluster_size);
    int ret = -1;
    uint32_t order = 0;
    while ((1ull << order) < p->refcount_bits)
        order++;
    uint32_t cluster_bits = 0;
    while ((1ull << cluster_bits) < p->cluster_size)
        cluster_bits++;
    qcow2_header header = {
        .magic = QCOW2_MAGIC,
        .version = 3,
        .cluster_bits = cluster_bits,
        .refcount_table_offset = p->cluster_size,
        .refcount_table_clusters = 1,
        .refcount_order = order,
        .header_length = QCOW2_HEADER_V3_LENGTH,
        .compression_type = p->compression_type,
    };
    if (p->lazy_refcounts)
        header.compatible_features |= QCOW2_COMPAT_LAZY_REFCOUNTS;
    if (p->data_file)
        header.incompatible_features |= QCOW2_INCOMPAT_DATA_FILE;
    if (p->data_file_raw)
        header.autoclear_features |= QCOW2_AUTOCLEAR_DATA_FILE_RAW;
    if (p->compression_type != QCOW2_COMPRESSION_ZLIB)
        header.incompatible_features |= QCOW2_INCOMPAT_COMPRESSION;
    if (p->extended_l2)
        header.incompatible_features |= QCOW2_INCOMPAT_EXTL2;
    qcow2_header_write_data(&header, buf);
    endian_store_be32(buf + 4, (uint32_t)p->version);
    if (format_file_write(file, 0, p->cluster_size, buf, errp) < 0) {
        error_prepend(errp, "Could not write qcow2 header: ");
        goto out;
    }
    memset(buf, 0, 2 * p->cluster_size);
    endian_store_be64(buf, 2 * p->cluster_size);
    if (format_file_write(file, p->cluster_size, 2 * p->cluster_size, buf, errp) < 0) {
        error_prepend(errp, "Could not write refcount table: ");
        goto out;
    }
    ret = 0;
out:
    free(buf);
    return ret;
}

/* Creates filename as a qcow2 image with options (the merged format and protocol options). */
int qcow2_create(const char *filename, const option_list *options, error **errp)
{
    qcow2_create_params p;
    block_node *file = NULL, *data = NULL, *node = NULL;
    bool created = false, data_created = false;
    int ret = -1;

    if (file_protocol_create_empty(filename, options, errp) < 0)
        return -1;
    created = true;
    const char *data_name = option_list_get(options, "data_file");
    if (data_name) {
        if (block_file_create(data_name, 0, BLOCK_PREALLOCATION_OFF, errp) < 0)
            goto out;
        data_created = true;
    }
    if (qcow2_create_params_parse(options, &p, errp) < 0)
        goto out;
    file = block_protocol_open(filename, BLOCK_OPEN_READ_WRITE, errp);
    if (file == NULL)
        goto out;
    if (p.data_file) {
        data = block_protocol_open(p.data_file, BLOCK_OPEN_READ_WRITE, errp);
        if (data == NULL)
            goto out;
    }
    if (qcow2_create_skeleton(file, &p, errp) < 0)
        goto out;
    node = qcow2_open_for_create(file, filename, data, errp);
    if (node == NULL)
        goto out;
    file = NULL;
    qcow2_state *s = node->state;
    if (data) {
        s->data_node_owned = true;
        data = NULL;
    }
    int64_t first = qcow2_clusters_alloc(node, 3 * s->cluster_size, errp);
    if (first < 0) {
        error_prepend(errp, "Could not allocate clusters for qcow2 header and refcount table: ");
        goto out;
    }
    if (p.data_file) {
        free(s->data_file_name);
        s->data_file_name = memory_strdup(p.data_file);
    }
    if (qcow2_header_update(node, errp) < 0) {
        error_prepend(errp, "Could not update qcow2 header: ");
        goto out;
    }
    if (qcow2_truncate(node, p.size, false, p.prealloc, false, errp) < 0) {
        error_prepend(errp, "Could not resize image: ");
        goto out;
    }
    if (p.backing_file && qcow2_change_backing_file(node, p.backing_file, p.backing_format, errp) < 0) {
        error_prepend(errp, "Could not assign backing file '%s' with format '%s': ", p.backing_file,
                      p.backing_format ? p.backing_format : "(null)");
        goto out;
    }
    if (qcow2_crypt_create(node, &p.crypt, errp) < 0)
        goto out;
    ret = 0;
out:
    if (node)
        block_node_close(node);
    block_node_close(file);
    block_node_close(data);
    if (ret < 0) {
        if (created)
            file_protocol_remove(filename);
        if (data_created)
            file_protocol_remove(data_name);
    }
    return ret;
}

/* qemu's qcow2_calc_prealloc_size: bytes of a fully allocated image. */
static uint64_t qcow2_prealloc_size(uint64_t total_size, uint64_t cluster_size, int refcount_order,
                                    bool extended_l2)
{
    uint64_t meta = 0;
    uint64_t aligned = (total_size + cluster_size - 1) / cluster_size * cluster_size;
    uint64_t entry_size = extended_l2 ? 16 : 8;
    meta += cluster_size;
    uint64_t l2_entries = aligned / cluster_size;
    uint64_t per_table = cluster_size / entry_size;
    l2_entries = (l2_entries + per_table - 1) / per_table * per_table;
    meta += l2_entries * entry_size;
    uint64_t l1_entries = l2_entries * entry_size / cluster_size;
    uint64_t per_l1_cluster = cluster_size / 8;
    l1_entries = (l1_entries + per_l1_cluster - 1) / per_l1_cluster * per_l1_cluster;
    meta += l1_entries * 8;
    meta += (uint64_t)qcow2_refcount_metadata_size((int64_t)((meta + aligned) / cluster_size), cluster_size,
                                                   refcount_order, false, NULL);
    return meta + aligned;
}

/* qemu's qcow2_measure: required and fully allocated sizes for a new image of the given options. */
int qcow2_measure(const option_list *options, block_node *in, uint64_t size, measure_result *out, error **errp)
{
    bool extended_l2 = false;
    uint64_t cluster_size, refcount_bits, virtual_size;
    int version = 3;
    block_preallocation prealloc = BLOCK_PREALLOCATION_OFF;
    const char *text;
    memset(out, 0, sizeof(*out));

    if (option_list_get_bool(options, "extended_l2", false, &extended_l2, errp) < 0)
        return -1;
    if (option_list_get_size(options, "cluster_size", QCOW2_DEFAULT_CLUSTER_SIZE, &cluster_size, errp) < 0)
        return -1;
    if (!qcow2_is_power_of_two(cluster_size) || cluster_size < 512 || cluster_size > 2 * 1024 * 1024)
        return error_set(errp, "Cluster size must be a power of two between 512 and 2048k");
    if (extended_l2 && cluster_size < 512 * QCOW2_SUBCLUSTERS)
        return error_set(errp, "Extended L2 entries are only supported with cluster sizes of at least %u bytes",
                         512 * QCOW2_SUBCLUSTERS);
    text = option_list_get(options, "compat");
    if (text) {
        if (strcmp(text, "0.10") == 0)
            version = 2;
        else if (strcmp(text, "1.1") == 0)
            version = 3;
        else
            return error_set(errp, "Invalid compatibility level: '%s'", text);
    }
    if (option_list_get_number(options, "refcount_bits", 16, &refcount_bits, errp) < 0)
        return -1;
    if (refcount_bits > 64 || !qcow2_is_power_of_two(refcount_bits))
        return error_set(errp, "Refcount width must be a power of two and may not exceed 64 bits");
    if (version < 3 && refcount_bits != 16)
        return error_set(errp, "Different refcount widths than 16 bits require compatibility level 1.1 or above (use "
                               "compat=1.1 or greater)");
    text = option_list_get(options, "preallocation");
    if (text) {
        int mode = block_preallocation_parse(text);
        if (mode < 0)
            return error_set(errp, "invalid parameter value: %s", text);
        prealloc = (block_preallocation)mode;
    }
    bool has_backing = option_list_get(options, "backing_file") != NULL;
    uint64_t crypt_header_bytes = 0;
    if (qcow2_crypt_measure(options, cluster_size, &crypt_header_bytes, errp) < 0)
        return -1;
    if (option_list_get_size(options, "size", size, &virtual_size, errp) < 0)
        return -1;
    virtual_size = (virtual_size + cluster_size - 1) / cluster_size * cluster_size;
    uint64_t entry_size = extended_l2 ? 16 : 8;
    uint64_t l2_tables = (virtual_size / cluster_size + cluster_size / entry_size - 1) / (cluster_size / entry_size);
    if (l2_tables * 8 > QCOW2_MAX_L1_BYTES)
        return error_set(errp, "The image size is too large (try using a larger cluster size)");
    uint64_t required = 0;
    if (in) {
        int64_t source_size = block_node_length(in);
        if (source_size < 0)
            return error_set(errp, "Unable to get image virtual_size: Input/output error");
        virtual_size = ((uint64_t)source_size + cluster_size - 1) / cluster_size * cluster_size;
        if (has_backing) {
            required = virtual_size;
        } else {
            uint64_t offset = 0;
            while (offset < (uint64_t)source_size) {
                block_status_result status;
                int depth = 0;
                if (block_node_status_above(in, NULL, offset, (uint64_t)source_size - offset, &status, &depth,
                                            errp) < 0) {
                    error_prepend(errp, "Unable to get block status: ");
                    return -1;
                }
                uint64_t length = status.length;
                if (length == 0)
                    return error_set(errp, "Unable to get block status: Input/output error");
                if (status.flags & BLOCK_STATUS_ZERO) {
                    /* zero ranges need nothing */
                } else if ((status.flags & (BLOCK_STATUS_DATA | BLOCK_STATUS_ALLOCATED)) ==
                           (BLOCK_STATUS_DATA | BLOCK_STATUS_ALLOCATED)) {
                    length = (offset + length + cluster_size - 1) / cluster_size * cluster_size - offset;
                    required += offset % cluster_size + length;
                }
                offset += length;
            }
        }
    }
    if (prealloc == BLOCK_PREALLOCATION_FULL || prealloc == BLOCK_PREALLOCATION_FALLOC)
        required = virtual_size;
    int order = 0;
    while ((1ull << order) < refcount_bits)
        order++;
    out->fully_allocated = qcow2_prealloc_size(virtual_size, cluster_size, order, extended_l2) + crypt_header_bytes;
    out->required = out->fully_allocated - virtual_size + required;
    out->has_bitmaps = version >= 3 && in != NULL && in->driver == &block_driver_qcow2 &&
                       ((qcow2_state *)in->state)->version >= 3;
    out->bitmaps = out->has_bitmaps ? qcow2_bitmaps_measure(in, cluster_size) : 0;
    return 0;
}
