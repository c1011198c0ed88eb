/* qcow2_compress.c — qcow2 compressed clusters: raw deflate (window 2^12) and zstd streams, and the
 * compressed write path that packs them byte-wise (spec/qcow2.md §Compressed clusters). */
#include <stdlib.h>
#include <string.h>

#include "qcow2.h"
#include "../common/format_compress.h"
#include "../../util/memory.h"

/* Writes one cluster compressed (falls back to a normal write when it does not shrink). */
static int qcow2_write_compressed_cluster(block_node *node, uint64_t offset, size_t length, const uint8_t *buf,
                                          error **errp)
{
    qcow2_state *s = node->state;
    uint8_t *plain = memory_alloc_zero(s->cluster_size);
    uint8_t *packed = memory_alloc_zero(s->cluster_size);
    uint8_t *table;
    uint64_t table_offset;
    int ret = -1;
    memcpy(plain, buf, length);
    long packed_length = format_compress((format_compression)s->compression_type, packed, s->cluster_size - 1, plain, s->cluster_size);
    if (packed_length == -2) {
        ret = qcow2_write(node, offset, length, buf, 0, errp);
        goto out;
    }
    if (packed_length < 0) {
        error_set(errp, "Invalid argument");
        goto out;
    }
    if (qcow2_l2_prepare(node, offset, &table, &table_offset, errp) < 0)
        goto out;
    uint64_t index = (offset >> s->cluster_bits) & (s->l2_entries - 1);
    if (qcow2_l2_entry_get(s, table, index) & QCOW2_L2_OFFSET_MASK) {
        error_set(errp, "Input/output error");
        goto out;
    }
    int64_t host = qcow2_bytes_alloc(node, (uint64_t)packed_length, errp);
    if (host < 0)
        goto out;
    uint64_t sectors = (((uint64_t)host + (uint64_t)packed_length - 1) >> 9) - ((uint64_t)host >> 9);
    uint64_t entry = (uint64_t)host | QCOW2_OFLAG_COMPRESSED | (sectors << s->csize_shift);
    if (qcow2_l2_lookup(node, offset, &table, &table_offset, errp) < 0 || table == NULL)
        goto out;
    if (qcow2_l2_entry_set(node, table, table_offset, index, entry, 0, errp) < 0)
        goto out;
    if (format_file_write(node->file, (uint64_t)host, (size_t)packed_length, packed, errp) < 0)
        goto out;
    ret = 0;
out:
    free(plain);
    free(packed);
    return ret;
}

/* The empty compressed write that ends a stream (convert's last request): rounds the image file up to
 * a whole sector as qemu does, so that sector-based readers see the last compressed cluster whole. */
static int qcow2_compressed_tail_align(block_node *node, error **errp)
{
    int64_t length = block_node_length(node->file);
    if (length < 0 || (length & 511) == 0)
        return 0;
    return block_node_truncate(node->file, ((uint64_t)length + 511) & ~511ull, false, BLOCK_PREALLOCATION_OFF, false,
                               errp);
}

/* Compressed write of whole clusters (the last may be short at the image end); length 0 ends the stream. */
int qcow2_write_compressed(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, error **errp)
{
    qcow2_state *s = node->state;
    if (length == 0)
        return qcow2_compressed_tail_align(node, errp);
    if (qcow2_has_data_file(s))
        return error_set(errp, "Operation not supported");
    if (qcow2_offset_into_cluster(s, offset))
        return error_set(errp, "Invalid argument");
    if (qcow2_offset_into_cluster(s, length) && offset + length != node->size)
        return error_set(errp, "Invalid argument");
    qcow2_bitmaps_mark(node, offset, length);
    while (length > 0) {
        size_t n = length < s->cluster_size ? length : (size_t)s->cluster_size;
        if (qcow2_write_compressed_cluster(node, offset, n, buf, errp) < 0)
            return -1;
        offset += n;
        buf += n;
        length -= n;
    }
    return 0;
}
