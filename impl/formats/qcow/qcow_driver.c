/* qcow_driver.c — the QCOW v1 driver table: probing, opening (header checks in qemu's order and
 * wording), closing and the info data (spec/qcow.md §Header, §Opening). */
#include <stdlib.h>
#include <string.h>

#include "qcow.h"
#include "../../block/secret.h"
#include "../../util/endian.h"
#include "../../util/memory.h"

/* Scores a buffer: 100 for the qcow magic followed by version 1. */
static int qcow_probe(const uint8_t *buf, size_t buf_size, const char *filename)
{
    (void)filename;
    if (buf_size >= 8 && endian_load_be32(buf) == QCOW_MAGIC && endian_load_be32(buf + 4) == QCOW_VERSION)
        return 100;
    return 0;
}

/* Frees the state's allocations and the state. */
static void qcow_state_free(block_node *node)
{
    qcow_state *s = node->state;
    if (s == NULL)
        return;
    free(s->l1_table);
    free(s->l1_extra);
    memset(s->key, 0, sizeof(s->key));
    format_cache_clear(&s->l2_cache);
    free(s);
    node->state = NULL;
}

/* The error qemu gives when the driver fails with a bare errno: "Could not open 'FILE': REASON". */
static int qcow_open_errno_fail(block_node *node, const char *reason, error **errp)
{
    return error_set(errp, "Could not open '%s': %s", node->file->filename, reason);
}

/* Checks the encryption options against the header as qemu's qcow_open does (key first, unless only
 * metadata is wanted); with a key the data sectors are encrypted with it. */
static int qcow_open_crypto_check(block_node *node, const qcow_header *header, option_list *options, int flags,
                                  error **errp)
{
    const char *format = options ? option_list_get(options, "encrypt.format") : NULL;
    const char *secret = options ? option_list_get(options, "encrypt.key-secret") : NULL;
    if (header->crypt_method != QCOW_CRYPT_AES) {
        if (format)
            return error_set(errp, "No encryption in image header, but options specified format '%s'", format);
        return 0;
    }
    if (format && strcmp(format, "aes") != 0)
        return error_set(errp, "Header reported 'aes' encryption format but options specify '%s'", format);
    node->encrypted = true;
    if (flags & BLOCK_OPEN_NO_IO)
        return 0;
    if (secret == NULL)
        return error_set(errp, "Parameter 'encrypt.key-secret' is required for cipher");
    size_t length = 0;
    const uint8_t *passphrase = secret_lookup(secret, &length, errp);
    if (passphrase == NULL)
        return -1;
    qcow_state *s = node->state;
    format_crypt_legacy_key(s->key, passphrase, length);
    s->crypt_active = true;
    return 0;
}

/* Reads the part of the L1 table the file holds (the rest reads as zero, as in qemu). */
static int qcow_l1_load(block_node *node, error **errp)
{
    qcow_state *s = node->state;
    uint64_t bytes = s->l1_size * 8;
    if (bytes > QCOW_MAX_L1_READ || s->l1_table_offset > FORMAT_MAX_REQUEST_END - bytes)
        return qcow_open_errno_fail(node, "Input/output error", errp);
    uint64_t file_length = format_file_length(node->file);
    uint64_t held = 0;
    if (s->l1_table_offset < file_length)
        held = (file_length - s->l1_table_offset + 7) / 8;
    s->l1_loaded = held < s->l1_size ? held : s->l1_size;
    s->l1_table = memory_alloc_array(s->l1_loaded ? s->l1_loaded : 1, 8);
    if (s->l1_loaded == 0)
        return 0;
    uint8_t *raw = memory_alloc_zero(s->l1_loaded * 8);
    int ret = format_file_read(node->file, s->l1_table_offset, s->l1_loaded * 8, raw, errp);
    for (uint64_t i = 0; ret == 0 && i < s->l1_loaded; i++)
        s->l1_table[i] = endian_load_be64(raw + 8 * i);
    free(raw);
    return ret;
}

/* Reads the backing file name the header points to. */
static int qcow_backing_name_load(block_node *node, const qcow_header *header, error **errp)
{
    if (header->backing_file_offset == 0)
        return 0;
    uint64_t length = header->backing_file_size;
    if (length > QCOW_MAX_BACKING_NAME)
        return error_set(errp, "Backing file name too long");
    if (header->backing_file_offset > FORMAT_MAX_REQUEST_END - length)
        return qcow_open_errno_fail(node, "Input/output error", errp);
    char *name = memory_alloc_zero(length + 1);
    if (format_file_read(node->file, header->backing_file_offset, length, name, NULL) < 0) {
        free(name);
        return qcow_open_errno_fail(node, "Input/output error", errp);
    }
    free(node->backing_file);
    node->backing_file = NULL;
    if (name[0] == 0) {
        free(name); /* an empty name (or one read past the end of the file) is no backing file */
        return 0;
    }
    node->backing_file = name;
    return 0;
}

/* Refuses runtime options qemu's qcow driver does not know. */
static int qcow_runtime_options_check(option_list *options, error **errp)
{
    static const char *const known[] = {
        "encrypt.key-secret", "encrypt.format", "backing", "node-name", "read-only", "auto-read-only",
        "force-share", "discard", "detect-zeroes", "cache.direct", "cache.no-flush", NULL,
    };
    for (size_t i = 0; options && i < options->count; i++) {
        const char *key = options->entries[i].key;
        bool found = strncmp(key, "backing.", 8) == 0;
        for (size_t k = 0; !found && known[k]; k++)
            found = strcmp(known[k], key) == 0;
        if (!found)
            return error_set(errp, "Block format 'qcow' does not support the option '%s'", key);
    }
    return 0;
}

/* Opens node (node->file is open): validates the header and loads the L1 table. */
static int qcow_open(block_node *node, option_list *options, int flags, error **errp)
{
    uint8_t raw[QCOW_HEADER_SIZE];
    qcow_header header;
    uint64_t l1_size = 0;
    qcow_state *s = memory_alloc_zero(sizeof(*s));
    node->state = s;
    memset(raw, 0, sizeof(raw));
    if (format_file_read(node->file, 0, sizeof(raw), raw, errp) < 0)
        goto fail;
    qcow_header_read_data(raw, sizeof(raw), &header);
    qcow_header_fault fault = qcow_header_validate(&header, &l1_size);
    if (fault != QCOW_HEADER_OK && fault != QCOW_HEADER_TOO_LARGE) {
        char *text = qcow_header_fault_message(fault, &header);
        error_set(errp, "%s", text);
        free(text);
        goto fail;
    }
    if (qcow_open_crypto_check(node, &header, options, flags, errp) < 0)
        goto fail;
    if (fault == QCOW_HEADER_TOO_LARGE) {
        error_set(errp, "Image too large");
        goto fail;
    }
    s->cluster_bits = header.cluster_bits;
    s->l2_bits = header.l2_bits;
    s->cluster_size = 1ull << s->cluster_bits;
    s->l2_entries = 1ull << s->l2_bits;
    s->l2_bytes = s->l2_entries * 8;
    s->l1_size = l1_size;
    s->l1_table_offset = header.l1_table_offset;
    s->crypt_method = header.crypt_method;
    format_cache_init(&s->l2_cache, node->file, s->l2_bytes);
    node->size = header.size & ~(uint64_t)(QCOW_SECTOR_SIZE - 1);
    node->request_alignment = QCOW_SECTOR_SIZE; /* qemu's qcow works in whole sectors */
    if (qcow_l1_load(node, errp) < 0 || qcow_backing_name_load(node, &header, errp) < 0 ||
        qcow_runtime_options_check(options, errp) < 0)
        goto fail;
    const char *secret = options ? option_list_get(options, "encrypt.key-secret") : NULL;
    if (secret)
        block_node_json_name_set_option(node, "encrypt.key-secret", secret);
    s->writable = (flags & BLOCK_OPEN_READ_WRITE) != 0;
    node->read_only = !s->writable;
    return 0;
fail:
    qcow_state_free(node);
    return -1;
}

/* Releases the state (the block layer closes node->file). */
static void qcow_close(block_node *node)
{
    qcow_state_free(node);
}

/* Fills the cluster size and encryption flag; qcow lists no format-specific data and, like qemu's
 * qcow (no block limits of its own), no discard or zero-write alignment. */
static int qcow_info_fill(block_node *node, image_info *info, error **errp)
{
    qcow_state *s = node->state;
    (void)errp;
    info->has_cluster_size = true;
    info->cluster_size = s->cluster_size;
    info->encrypted = s->crypt_method != QCOW_CRYPT_NONE;
    info->has_no_alignment_limits = true;
    return 0;
}

const block_driver block_driver_qcow = {
    .format_name = "qcow",
    .supports_backing = true,
    .probe = qcow_probe,
    .open = qcow_open,
    .close = qcow_close,
    .read = qcow_read,
    .write = qcow_write,
    .write_compressed = qcow_write_compressed,
    .block_status = qcow_block_status,
    .create_options = qcow_create_options,
    .create = qcow_create,
    .info_fill = qcow_info_fill,
    .make_empty = qcow_make_empty,
};
