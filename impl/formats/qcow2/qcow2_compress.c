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
static int qcow2_compressed_cluster_store(block_node *node, uint64_t offset, size_t length, const uint8_t *buf,
                                          const uint8_t *packed, long packed_length, error **errp)
{
    qcow2_state *s = node->state;
    uint8_t *table;
    uint64_t table_offset;
    if (packed_length == -2)
        return qcow2_write(node, offset, length, buf, 0, errp);
    if (packed_length < 0)
        return error_set(errp, "Invalid argument");
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

/* Compresses a batch of clusters (qcow2_compress_batch_clusters) of [offset, offset+length) on every core, then stores
 * them one by one in guest order (the allocation order, hence the file, one thread would make).
 * Returns the bytes handled, or -1 with *errp set. */
static int64_t qcow2_write_compressed_batch(block_node *node, uint64_t offset, size_t length, const uint8_t *buf,
                                            error **errp)
{
    qcow2_state *s = node->state;
    size_t cluster = (size_t)s->cluster_size;
    size_t count = (length + cluster - 1) / cluster;
    if (count > qcow2_compress_batch_clusters(s->cluster_size))
        count = qcow2_compress_batch_clusters(s->cluster_size);
    size_t bytes = count * cluster < length ? count * cluster : length;
    uint8_t *plain = memory_alloc_array(count, cluster);
    uint8_t *packed = memory_alloc_array(count, cluster);
    format_compress_job *jobs = memory_alloc_array(count, sizeof(*jobs));
    memset(plain, 0, count * cluster); /* a short last cluster is compressed padded with zeroes */
    memcpy(plain, buf, bytes);
    for (size_t i = 0; i < count; i++)
        jobs[i] = (format_compress_job){plain + i * cluster, cluster, packed + i * cluster, cluster - 1, 0};
    format_compress_batch_run((format_compression)s->compression_type, false, jobs, count);
    int64_t ret = (int64_t)bytes;
    for (size_t i = 0; i < count && ret >= 0; i++) {
        size_t n = bytes - i * cluster < cluster ? bytes - i * cluster : cluster;
        if (qcow2_compressed_cluster_store(node, offset + i * cluster, n, buf + i * cluster, packed + i * cluster,
                                           jobs[i].result, errp) < 0)
            ret = -1;
    }
    free(jobs);
    free(packed);
    free(plain);
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
        int64_t done = qcow2_write_compressed_batch(node, offset, length, buf, errp);
        if (done < 0)
            return -1;
        offset += (uint64_t)done;
        buf += done;
        length -= (size_t)done;
    }
    return 0;
}
