/* qcow2_header.c — the qcow2 header and its extensions: parsing, the feature name table and rewriting
 * cluster 0 as qemu lays it out (spec/qcow2.md §Header, §Header extensions). */
#include <stdlib.h>
#include <string.h>

#include "qcow2.h"
#include "../../util/endian.h"
#include "../../util/memory.h"
#include "../../util/report.h"

/* Parses the fixed header (v2 fields always, v3 fields when version >= 3 and present). */
int qcow2_header_read_data(const uint8_t *buf, size_t buf_size, qcow2_header *out, error **errp)
{
    memset(out, 0, sizeof(*out));
    if (buf_size < QCOW2_HEADER_V2_LENGTH)
        return error_set(errp, "Could not read qcow2 header: Input/output error");
    out->magic = endian_load_be32(buf + 0);
    out->version = endian_load_be32(buf + 4);
    out->backing_file_offset = endian_load_be64(buf + 8);
    out->backing_file_size = endian_load_be32(buf + 16);
    out->cluster_bits = endian_load_be32(buf + 20);
    out->size = endian_load_be64(buf + 24);
    out->crypt_method = endian_load_be32(buf + 32);
    out->l1_size = endian_load_be32(buf + 36);
    out->l1_table_offset = endian_load_be64(buf + 40);
    out->refcount_table_offset = endian_load_be64(buf + 48);
    out->refcount_table_clusters = endian_load_be32(buf + 56);
    out->nb_snapshots = endian_load_be32(buf + 60);
    out->snapshots_offset = endian_load_be64(buf + 64);
    if (out->version <= 2 || buf_size < QCOW2_HEADER_V3_MIN_LENGTH) {
        out->refcount_order = 4;
        out->header_length = QCOW2_HEADER_V2_LENGTH;
        return 0;
    }
    out->incompatible_features = endian_load_be64(buf + 72);
    out->compatible_features = endian_load_be64(buf + 80);
    out->autoclear_features = endian_load_be64(buf + 88);
    out->refcount_order = endian_load_be32(buf + 96);
    out->header_length = endian_load_be32(buf + 100);
    if (out->header_length > 104 && buf_size > 104)
        out->compression_type = buf[104];
    return 0;
}

/* Serialises header (v2: 72 bytes; v3: 112 bytes) into buf; returns the length written. */
size_t qcow2_header_write_data(const qcow2_header *header, uint8_t *buf)
{
    size_t length = header->version >= 3 ? QCOW2_HEADER_V3_LENGTH : QCOW2_HEADER_V2_LENGTH;
    memset(buf, 0, length);
    endian_store_be32(buf + 0, header->magic);
    endian_store_be32(buf + 4, header->version);
    endian_store_be64(buf + 8, header->backing_file_offset);
    endian_store_be32(buf + 16, header->backing_file_size);
    endian_store_be32(buf + 20, header->cluster_bits);
    endian_store_be64(buf + 24, header->size);
    endian_store_be32(buf + 32, header->crypt_method);
    endian_store_be32(buf + 36, header->l1_size);
    endian_store_be64(buf + 40, header->l1_table_offset);
    endian_store_be64(buf + 48, header->refcount_table_offset);
    endian_store_be32(buf + 56, header->refcount_table_clusters);
    endian_store_be32(buf + 60, header->nb_snapshots);
    endian_store_be64(buf + 64, header->snapshots_offset);
    if (header->version >= 3) {
        endian_store_be64(buf + 72, header->incompatible_features);
        endian_store_be64(buf + 80, header->compatible_features);
        endian_store_be64(buf + 88, header->autoclear_features);
        endian_store_be32(buf + 96, header->refcount_order);
        endian_store_be32(buf + 100, header->header_length);
        buf[104] = header->compression_type;
    }
    return length;
}

/* Appends one extension (magic, length, data padded to 8) at *pos; -1 when it does not fit. */
static int qcow2_extension_append(uint8_t *buf, size_t buf_size, size_t *pos, uint32_t magic, const void *data,
                                  size_t length)
{
    size_t total = 8 + ((length + 7) & ~(size_t)7);
    if (*pos > buf_size || buf_size - *pos < total)
        return -1;
    endian_store_be32(buf + *pos, magic);
    endian_store_be32(buf + *pos + 4, (uint32_t)length);
    if (length)
        memcpy(buf + *pos + 8, data, length);
    *pos += total;
    return 0;
}

/* The feature name table qemu writes: type, bit, 46-byte name per entry. */
static const struct {
    uint8_t type;
    uint8_t bit;
    const char *name;
} qcow2_feature_names[] = {
    {0, 0, "dirty bit"},
    {0, 1, "corrupt bit"},
    {0, 2, "external data file"},
    {0, 3, "compression type"},
    {0, 4, "extended L2 entries"},
    {1, 0, "lazy refcounts"},
    {2, 0, "bitmaps"},
    {2, 1, "raw external data"},
};

/* Lays out cluster 0 in buf (size bytes, zeroed): header, extensions in qemu's order, then the backing
 * file name. Returns -1 when it does not fit. */
static int qcow2_header_build(block_node *node, uint8_t *buf, size_t size)
{
    qcow2_state *s = node->state;
    qcow2_header header = {
        .magic = QCOW2_MAGIC,
        .version = (uint32_t)s->version,
        .cluster_bits = s->cluster_bits,
        .size = node->size,
        .crypt_method = s->crypt_method,
        .l1_size = (uint32_t)s->l1_size,
        .l1_table_offset = s->l1_table_offset,
        .refcount_table_offset = s->refcount_table_offset,
        .refcount_table_clusters = (uint32_t)(s->refcount_table_entries >> (s->cluster_bits - 3)),
        .nb_snapshots = s->nb_snapshots,
        .snapshots_offset = s->snapshots_offset,
        .incompatible_features = s->incompatible_features,
        .compatible_features = s->compatible_features,
        .autoclear_features = s->autoclear_features,
        .refcount_order = (uint32_t)s->refcount_order,
        .header_length = (uint32_t)(QCOW2_HEADER_V3_LENGTH + s->unknown_header_fields_size),
        .compression_type = s->compression_type,
    };
    size_t pos = qcow2_header_write_data(&header, buf);

    if (s->version >= 3 && s->unknown_header_fields_size) {
        if (size - pos < s->unknown_header_fields_size)
            return -1;
        memcpy(buf + pos, s->unknown_header_fields, s->unknown_header_fields_size);
        pos += s->unknown_header_fields_size;
    }
    if (s->backing_format &&
        qcow2_extension_append(buf, size, &pos, QCOW2_EXT_BACKING_FORMAT, s->backing_format,
                               strlen(s->backing_format)) < 0)
        return -1;
    if (qcow2_has_data_file(s) && s->data_file_name &&
        qcow2_extension_append(buf, size, &pos, QCOW2_EXT_DATA_FILE, s->data_file_name,
                               strlen(s->data_file_name)) < 0)
        return -1;
    if (s->crypto_header_offset != 0) {
        uint8_t crypto[16];
        endian_store_be64(crypto, s->crypto_header_offset);
        endian_store_be64(crypto + 8, s->crypto_header_length);
        if (qcow2_extension_append(buf, size, &pos, QCOW2_EXT_CRYPTO_HEADER, crypto, sizeof(crypto)) < 0)
            return -1;
    }
    if (s->version >= 3 && s->cluster_size > 4096) {
        size_t count = sizeof(qcow2_feature_names) / sizeof(qcow2_feature_names[0]);
        uint8_t table[8 * 48];
        memset(table, 0, sizeof(table));
        for (size_t i = 0; i < count; i++) {
            table[i * 48] = qcow2_feature_names[i].type;
            table[i * 48 + 1] = qcow2_feature_names[i].bit;
            memcpy(table + i * 48 + 2, qcow2_feature_names[i].name, strlen(qcow2_feature_names[i].name));
        }
        if (qcow2_extension_append(buf, size, &pos, QCOW2_EXT_FEATURE_TABLE, table, count * 48) < 0)
            return -1;
    }
    if (s->has_bitmaps_extension && s->bitmap_count > 0) {
        uint8_t bitmaps[24];
        endian_store_be32(bitmaps, s->bitmap_count);
        endian_store_be32(bitmaps + 4, 0);
        endian_store_be64(bitmaps + 8, s->bitmap_directory_size);
        endian_store_be64(bitmaps + 16, s->bitmap_directory_offset);
        if (qcow2_extension_append(buf, size, &pos, QCOW2_EXT_BITMAPS, bitmaps, sizeof(bitmaps)) < 0)
            return -1;
    }
    for (size_t i = s->unknown_extension_count; i > 0; i--) {
        const qcow2_extension *ext = &s->unknown_extensions[i - 1];
        if (qcow2_extension_append(buf, size, &pos, ext->magic, ext->data, ext->length) < 0)
            return -1;
    }
    if (qcow2_extension_append(buf, size, &pos, QCOW2_EXT_END, NULL, 0) < 0)
        return -1;
    if (s->backing_file) {
        size_t length = strlen(s->backing_file);
        if (size - pos < length)
            return -1;
        memcpy(buf + pos, s->backing_file, length);
        endian_store_be64(buf + 8, pos);
        endian_store_be32(buf + 16, (uint32_t)length);
    }
    return 0;
}

/* Rewrites cluster 0 from the state (qemu's qcow2_update_header). */
int qcow2_header_update(block_node *node, error **errp)
{
    qcow2_state *s = node->state;
    uint8_t *buf = memory_alloc_zero(s->cluster_size);
    int ret = -1;
    if (qcow2_header_build(node, buf, s->cluster_size) < 0) {
        error_set(errp, "No space left on device");
        goto out;
    }
    ret = format_file_write(node->file, 0, s->cluster_size, buf, errp);
out:
    free(buf);
    return ret;
}

/* Reads the header extensions in [start, end) into the state (qemu's qcow2_read_extensions). */
int qcow2_extensions_read(block_node *node, uint64_t start, uint64_t end, error **errp)
{
    qcow2_state *s = node->state;
    uint64_t offset = start;
    uint8_t head[8];
    uint8_t *data = NULL;
    int ret = -1;

    while (offset < end) {
        if (format_file_read(node->file, offset, 8, head, errp) < 0)
            goto out;
        uint32_t magic = endian_load_be32(head);
        uint32_t length = endian_load_be32(head + 4);
        offset += 8;
        if (offset > end || length > end - offset) {
            error_set(errp, "Header extension too large");
            goto out;
        }
        if (magic == QCOW2_EXT_END)
            break;
        free(data);
        data = memory_alloc_zero((size_t)length + 1);
        if (format_file_read(node->file, offset, length, data, errp) < 0)
            goto out;
        switch (magic) {
        case QCOW2_EXT_BACKING_FORMAT:
            if (length >= 16) {
                error_set(errp, "ERROR: ext_backing_format: len=%u too large (>=16)", length);
                goto out;
            }
            free(s->backing_format);
            s->backing_format = memory_strdup((char *)data);
            break;
        case QCOW2_EXT_FEATURE_TABLE:
            break;
        case QCOW2_EXT_CRYPTO_HEADER:
            if (s->crypt_method != 2) {
                error_set(errp, "CRYPTO header extension only expected with LUKS encryption method");
                goto out;
            }
            if (length != 16) {
                error_set(errp, "CRYPTO header extension size %u, but expected size 16", length);
                goto out;
            }
            s->crypto_header_offset = endian_load_be64(data);
            s->crypto_header_length = endian_load_be64(data + 8);
            if (qcow2_crypt_extension_check(s, errp) < 0)
                goto out;
            break;
        case QCOW2_EXT_BITMAPS:
            if (length != 24) {
                error_set(errp, "bitmaps_ext: Invalid extension length");
                goto out;
            }
            if (!(s->autoclear_features & QCOW2_AUTOCLEAR_BITMAPS)) {
                if (s->version < 3)
                    report_warning("This qcow2 v2 image contains bitmaps, but they may have been modified by a "
                                   "program without persistent bitmap support; so now they must all be "
                                   "considered inconsistent");
                else
                    report_warning("a program lacking bitmap support modified this file, so all bitmaps are now "
                                   "considered inconsistent");
                report_text("Some clusters may be leaked, run 'qemu-img check -r' on the image file to fix.");
                s->bitmaps_extension_dropped = true;
                break;
            }
            s->has_bitmaps_extension = true;
            s->bitmap_count = endian_load_be32(data);
            s->bitmap_directory_size = endian_load_be64(data + 8);
            s->bitmap_directory_offset = endian_load_be64(data + 16);
            break;
        case QCOW2_EXT_DATA_FILE:
            free(s->data_file_name);
            s->data_file_name = memory_strndup((char *)data, length);
            break;
        default:
            s->unknown_extensions = memory_realloc(s->unknown_extensions,
                                                   (s->unknown_extension_count + 1) * sizeof(qcow2_extension));
            s->unknown_extensions[s->unknown_extension_count].magic = magic;
            s->unknown_extensions[s->unknown_extension_count].length = length;
            s->unknown_extensions[s->unknown_extension_count].data = data;
            s->unknown_extension_count++;
            data = NULL;
            break;
        }
        offset += ((uint64_t)length + 7) & ~7ull;
    }
    ret = 0;
out:
    free(data);
    return ret;
}

/* Builds "name, name, Unknown incompatible feature: N" for the unsupported incompatible bits in mask. */
char *qcow2_unsupported_features_text(block_node *node, uint64_t start, uint64_t end, uint64_t mask)
{
    string_buffer text = {0};
    uint64_t offset = start;
    uint8_t head[8];
    uint8_t *table = NULL;
    uint32_t table_length = 0;

    while (offset + 8 <= end) {
        if (format_file_read(node->file, offset, 8, head, NULL) < 0)
            break;
        uint32_t magic = endian_load_be32(head);
        uint32_t length = endian_load_be32(head + 4);
        offset += 8;
        if (magic == QCOW2_EXT_END || length > end - offset)
            break;
        if (magic == QCOW2_EXT_FEATURE_TABLE && table == NULL) {
            table = memory_alloc_zero((size_t)length + 1);
            table_length = length;
            if (format_file_read(node->file, offset, length, table, NULL) < 0) {
                table_length = 0;
            }
        }
        offset += ((uint64_t)length + 7) & ~7ull;
    }
    for (uint32_t i = 0; i + 48 <= table_length; i += 48) {
        if (table[i + 2] == '\0')
            break;
        if (table[i] != 0 || table[i + 1] >= 64 || !(mask & (1ull << table[i + 1])))
            continue;
        if (text.length)
            string_buffer_append(&text, ", ");
        string_buffer_append_length(&text, (const char *)table + i + 2, strnlen((const char *)table + i + 2, 46));
        mask &= ~(1ull << table[i + 1]);
    }
    if (mask) {
        if (text.length)
            string_buffer_append(&text, ", ");
        string_buffer_printf(&text, "Unknown incompatible feature: %llx", (unsigned long long)mask);
    }
    free(table);
    return string_buffer_take(&text);
}

/* Sets the dirty bit (qemu's qcow2_mark_dirty: only the feature word is written) or clears it (qemu's
 * qcow2_mark_clean: the whole header is rewritten). v3 only. */
int qcow2_mark_dirty(block_node *node, bool dirty, error **errp)
{
    qcow2_state *s = node->state;
    if (s->version < 3)
        return 0;
    if (!dirty) {
        if (!(s->incompatible_features & QCOW2_INCOMPAT_DIRTY))
            return 0;
        s->incompatible_features &= ~QCOW2_INCOMPAT_DIRTY;
        return qcow2_header_update(node, errp);
    }
    if (s->incompatible_features & QCOW2_INCOMPAT_DIRTY)
        return 0;
    uint8_t value[8];
    endian_store_be64(value, s->incompatible_features | QCOW2_INCOMPAT_DIRTY);
    if (format_file_write(node->file, 72, sizeof(value), value, errp) < 0)
        return -1;
    s->incompatible_features |= QCOW2_INCOMPAT_DIRTY;
    return 0;
}
