/* qcow2_compress.c — qcow2 compressed clusters: raw deflate (window 2^12) and zstd streams, and the
 * compressed write path that compresses a request's clusters on every core and packs them byte-wise
 * in guest order (spec/qcow2.md §Compressed clusters). */
#include <stdlib.h>
#include <string.h>

#include "qcow2.h"
#include "../common/format_compress.h"
#include "../common/format_compress_batch.h"
#include "../../util/memory.h"

/* Stores one cluster whose compression gave packed_length bytes at packed (-2: it did not shrink, and
 * the plain length bytes at buf are written normally instead), at the next free bytes. */
static int qcow2_compressed_cluster_store(void *context, uint64_t offset, size_t length, const uint8_t *buf,
                                          const uint8_t *packed, long packed_length, error **errp)
{
    block_node *node = context;
    qcow2_state *s = node->state;
    uint8_t *table;
    uint64_t table_offset;
    if (packed_length == -2)
        return qcow2_write(node, offset, length, buf, 0, errp);
    if (qcow2_l2_prepare(node, offset, &table, &table_offset, errp) < 0)
        return -1;
    uint64_t index = (offset >> s->cluster_bits) & (s->l2_entries - 1);
    if (qcow2_l2_entry_get(s, table, index) & QCOW2_L2_OFFSET_MASK)
        return error_set(errp, "Input/output error");
    int64_t host = qcow2_bytes_alloc(node, (uint64_t)packed_length, errp);
    if (host < 0)
        return -1;
    uint64_t sectors = (((uint64_t)host + (uint64_t)packed_length - 1) >> 9) - ((uint64_t)host >> 9);
    uint64_t entry = (uint64_t)host | QCOW2_OFLAG_COMPRESSED | (sectors << s->csize_shift);
    if (qcow2_l2_lookup(node, offset, &table, &table_offset, errp) < 0 || table == NULL)
        return -1;
    if (qcow2_l2_entry_set(node, table, table_offset, index, entry, 0, errp) < 0)
        return -1;
    return format_file_write(node->file, (uint64_t)host, (size_t)packed_length, packed, errp);
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
    qcow2_inflated_forget(s);
    if (length == 0)
        return qcow2_compressed_tail_align(node, errp);
    if (qcow2_has_data_file(s))
        return error_set(errp, "Operation not supported");
    if (qcow2_offset_into_cluster(s, offset))
        return error_set(errp, "Invalid argument");
    if (qcow2_offset_into_cluster(s, length) && offset + length != node->size)
        return error_set(errp, "Invalid argument");
    qcow2_bitmaps_mark(node, offset, length);
    return format_compressed_write((format_compression)s->compression_type, (size_t)s->cluster_size,
                                   qcow2_compress_batch_clusters(s->cluster_size), offset, buf, length,
                                   qcow2_compressed_cluster_store, node, errp);
}
