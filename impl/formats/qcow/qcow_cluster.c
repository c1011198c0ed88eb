/* qcow_cluster.c — QCOW v1 cluster mapping: L1/L2 lookup, reads (backing fall-through, compressed
 * clusters), allocating writes appended at the end of the file, compressed writes, block status and
 * make_empty, as qemu 10.2 lays them out (spec/qcow.md §Allocation, §Compressed clusters). */
#include <stdlib.h>
#include <string.h>

#include "qcow.h"
#include "../common/format_compress.h"
#include "../common/format_compress_batch.h"
#include "../common/format_crypt.h"
#include "../../util/endian.h"
#include "../../util/memory.h"

/* The I/O failure qemu reports for unreadable or inconsistent clusters. */
static int qcow_io_fail(error **errp)
{
    return error_set(errp, "Input/output error");
}

/* Whether a normal cluster's host offset is usable: qemu 10.2 fails the I/O of clusters that do
 * not start on a 512-byte boundary with "Input/output error" (block status still reports them). */
static bool qcow_cluster_offset_usable(const qcow_entry *entry)
{
    return (entry->offset & (QCOW_SECTOR_SIZE - 1)) == 0;
}

/* L1 entry index: from the table the file held, else from the entries set since (else 0). */
static uint64_t qcow_l1_entry_get(const qcow_state *s, uint64_t index)
{
    if (index < s->l1_loaded)
        return s->l1_table[index];
    for (size_t i = 0; i < s->l1_extra_count; i++)
        if (s->l1_extra[2 * i] == index)
            return s->l1_extra[2 * i + 1];
    return 0;
}

/* Remembers L1 entry index set past the loaded table (a list that grows with the writes, never
 * with the header's table size). */
static void qcow_l1_extra_set(qcow_state *s, uint64_t index, uint64_t value)
{
    for (size_t i = 0; i < s->l1_extra_count; i++) {
        if (s->l1_extra[2 * i] == index) {
            s->l1_extra[2 * i + 1] = value;
            return;
        }
    }
    s->l1_extra = memory_realloc(s->l1_extra, (s->l1_extra_count + 1) * 2 * sizeof(uint64_t));
    s->l1_extra[2 * s->l1_extra_count] = index;
    s->l1_extra[2 * s->l1_extra_count + 1] = value;
    s->l1_extra_count++;
}

/* Sets L1 entry index in memory and on disk. */
static int qcow_l1_entry_set(block_node *node, uint64_t index, uint64_t value, error **errp)
{
    qcow_state *s = node->state;
    if (index < s->l1_loaded)
        s->l1_table[index] = value;
    else
        qcow_l1_extra_set(s, index, value);
    uint8_t raw[8];
    endian_store_be64(raw, value);
    return format_file_write(node->file, s->l1_table_offset + 8 * index, sizeof(raw), raw, errp);
}

/* Splits a guest offset into its L1 and L2 indexes. */
static void qcow_offset_split(const qcow_state *s, uint64_t offset, uint64_t *l1_index, uint64_t *l2_index)
{
    *l1_index = offset >> (s->cluster_bits + s->l2_bits);
    *l2_index = (offset >> s->cluster_bits) & (s->l2_entries - 1);
}

/* The cached L2 table at l2_offset (NULL with *errp set when it cannot be read). */
static uint8_t *qcow_l2_table_get(block_node *node, uint64_t l2_offset, error **errp)
{
    qcow_state *s = node->state;
    if (l2_offset > FORMAT_MAX_REQUEST_END - s->l2_bytes) {
        qcow_io_fail(errp);
        return NULL;
    }
    return format_cache_get(&s->l2_cache, l2_offset, errp);
}

int qcow_cluster_lookup(block_node *node, uint64_t offset, qcow_entry *entry, error **errp)
{
    qcow_state *s = node->state;
    uint64_t l1_index, l2_index;
    qcow_offset_split(s, offset, &l1_index, &l2_index);
    uint64_t l2_offset = qcow_l1_entry_get(s, l1_index);
    *entry = qcow_entry_decode(0, s->cluster_bits);
    if (l2_offset == 0)
        return 0;
    uint8_t *table = qcow_l2_table_get(node, l2_offset, errp);
    if (table == NULL)
        return -1;
    *entry = qcow_entry_decode(endian_load_be64(table + 8 * l2_index), s->cluster_bits);
    return 0;
}

/* The host offset where the file ends, rounded up to alignment (where qemu appends). */
static uint64_t qcow_file_end_aligned(block_node *node, uint64_t alignment)
{
    return format_align_up(format_file_length(node->file), alignment);
}

/* Extends the file with zeroes up to end (which lies past its end). */
static int qcow_file_grow(block_node *node, uint64_t end, error **errp)
{
    uint64_t length = format_file_length(node->file);
    if (block_node_truncate(node->file, end, false, BLOCK_PREALLOCATION_OFF, false, NULL) == 0)
        return 0;
    return format_file_write_zeroes(node->file, length, end - length, errp);
}

/* Makes sure the L2 table covering guest offset exists (appending a zeroed one, cluster aligned, at
 * the end of the file); *l2_offset receives it. */
static int qcow_l2_table_prepare(block_node *node, uint64_t offset, uint64_t *l2_offset, error **errp)
{
    qcow_state *s = node->state;
    uint64_t l1_index, l2_index;
    qcow_offset_split(s, offset, &l1_index, &l2_index);
    *l2_offset = qcow_l1_entry_get(s, l1_index);
    if (*l2_offset != 0)
        return 0;
    uint64_t fresh = qcow_file_end_aligned(node, s->cluster_size);
    if (fresh > FORMAT_MAX_REQUEST_END - s->l2_bytes)
        return qcow_io_fail(errp);
    if (qcow_l1_entry_set(node, l1_index, fresh, errp) < 0 ||
        format_file_write_zeroes(node->file, fresh, s->l2_bytes, errp) < 0)
        return -1;
    format_cache_drop(&s->l2_cache, fresh);
    *l2_offset = fresh;
    return 0;
}

/* Sets the L2 entry of the cluster at guest offset (its table exists), in the cache and on disk. */
static int qcow_l2_entry_set(block_node *node, uint64_t l2_offset, uint64_t offset, uint64_t value, error **errp)
{
    qcow_state *s = node->state;
    uint64_t l1_index, l2_index;
    qcow_offset_split(s, offset, &l1_index, &l2_index);
    uint8_t *table = qcow_l2_table_get(node, l2_offset, errp);
    if (table == NULL)
        return -1;
    endian_store_be64(table + 8 * l2_index, value);
    return format_file_write(node->file, l2_offset + 8 * l2_index, 8, table + 8 * l2_index, errp);
}

/* Inflates the compressed cluster entry into cluster (cluster_size bytes). */
static int qcow_compressed_cluster_read(block_node *node, const qcow_entry *entry, uint8_t *cluster, error **errp)
{
    qcow_state *s = node->state;
    if (entry->offset > FORMAT_MAX_REQUEST_END - entry->compressed_size)
        return qcow_io_fail(errp);
    uint8_t *packed = memory_alloc_zero(entry->compressed_size ? entry->compressed_size : 1);
    int ret = format_file_read(node->file, entry->offset, entry->compressed_size, packed, errp);
    if (ret == 0 && format_decompress(FORMAT_COMPRESSION_DEFLATE, cluster, s->cluster_size, packed,
                                      entry->compressed_size) < 0)
        ret = qcow_io_fail(errp);
    free(packed);
    return ret;
}

/* The sector-aligned part [*first, *end) of a cluster that covers [within, within + length). */
static void qcow_sector_span(uint64_t within, size_t length, uint64_t *first, uint64_t *end)
{
    *first = within & ~(uint64_t)(QCOW_SECTOR_SIZE - 1);
    *end = format_align_up(within + length, QCOW_SECTOR_SIZE);
}

/* Reads bytes [within, within + length) of the encrypted normal cluster at host (guest cluster
 * cluster_start): whole sectors are read and decrypted with their guest sector numbers. */
static int qcow_encrypted_read(block_node *node, uint64_t host, uint64_t cluster_start, uint64_t within,
                               size_t length, uint8_t *buf, error **errp)
{
    qcow_state *s = node->state;
    uint64_t first, end;
    qcow_sector_span(within, length, &first, &end);
    uint8_t *sectors = memory_alloc_zero(end - first);
    int ret = format_file_read(node->file, host + first, end - first, sectors, errp);
    if (ret == 0 && format_crypt_sectors(s->key, false, (cluster_start + first) / QCOW_SECTOR_SIZE, sectors,
                                         end - first) < 0)
        ret = qcow_io_fail(errp);
    if (ret == 0)
        memcpy(buf, sectors + (within - first), length);
    free(sectors);
    return ret;
}

/* Writes bytes [within, within + length) of the encrypted normal cluster at host: the covering
 * sectors are read, decrypted, changed, encrypted and written back. */
static int qcow_encrypted_write(block_node *node, uint64_t host, uint64_t cluster_start, uint64_t within,
                                size_t length, const uint8_t *buf, error **errp)
{
    qcow_state *s = node->state;
    uint64_t first, end;
    qcow_sector_span(within, length, &first, &end);
    uint8_t *sectors = memory_alloc_zero(end - first);
    uint64_t sector = (cluster_start + first) / QCOW_SECTOR_SIZE;
    int ret = 0;
    if ((first != within || end != within + length) &&
        qcow_encrypted_read(node, host, cluster_start, first, (size_t)(end - first), sectors, errp) < 0)
        ret = -1;
    if (ret == 0) {
        memcpy(sectors + (within - first), buf, length);
        if (format_crypt_sectors(s->key, true, sector, sectors, end - first) < 0)
            ret = qcow_io_fail(errp);
    }
    if (ret == 0)
        ret = format_file_write(node->file, host + first, end - first, sectors, errp);
    free(sectors);
    return ret;
}

/* Reads length bytes at guest offset, all inside the cluster whose entry is given. */
static int qcow_cluster_read(block_node *node, const qcow_entry *entry, uint64_t offset, size_t length,
                             uint8_t *buf, error **errp)
{
    qcow_state *s = node->state;
    uint64_t within = offset & (s->cluster_size - 1);
    if (entry->kind == QCOW_ENTRY_UNALLOCATED)
        return block_node_read_backing(node, offset, length, buf, errp);
    if (entry->kind == QCOW_ENTRY_NORMAL) {
        if (!qcow_cluster_offset_usable(entry) || entry->offset > FORMAT_MAX_REQUEST_END - s->cluster_size)
            return qcow_io_fail(errp);
        if (s->crypt_active)
            return qcow_encrypted_read(node, entry->offset, offset - within, within, length, buf, errp);
        return format_file_read(node->file, entry->offset + within, length, buf, errp);
    }
    uint8_t *cluster = memory_alloc_zero(s->cluster_size);
    int ret = qcow_compressed_cluster_read(node, entry, cluster, errp);
    if (ret == 0)
        memcpy(buf, cluster + within, length);
    free(cluster);
    return ret;
}

/* Bytes from guest offset to the end of its cluster, at most length. */
static size_t qcow_cluster_chunk(const qcow_state *s, uint64_t offset, size_t length)
{
    uint64_t left = s->cluster_size - (offset & (s->cluster_size - 1));
    return left < length ? (size_t)left : length;
}

int qcow_read(block_node *node, uint64_t offset, size_t length, uint8_t *buf, error **errp)
{
    qcow_state *s = node->state;
    while (length > 0) {
        size_t n = qcow_cluster_chunk(s, offset, length);
        qcow_entry entry;
        if (qcow_cluster_lookup(node, offset, &entry, errp) < 0 || qcow_cluster_read(node, &entry, offset, n, buf, errp) < 0)
            return -1;
        offset += n;
        buf += n;
        length -= n;
    }
    return 0;
}

/* Fills cluster with what the cluster at guest cluster_start reads as now (backing data or the
 * decompressed cluster), zero past the virtual size. */
static int qcow_cluster_current_read(block_node *node, const qcow_entry *entry, uint64_t cluster_start,
                                     uint8_t *cluster, error **errp)
{
    qcow_state *s = node->state;
    memset(cluster, 0, s->cluster_size);
    if (entry->kind == QCOW_ENTRY_COMPRESSED)
        return qcow_compressed_cluster_read(node, entry, cluster, errp);
    uint64_t inside = node->size > cluster_start ? node->size - cluster_start : 0;
    if (inside > s->cluster_size)
        inside = s->cluster_size;
    return inside ? block_node_read_backing(node, cluster_start, (size_t)inside, cluster, errp) : 0;
}

/* Writes length bytes at guest offset into a newly allocated cluster appended at the end of the file
 * (the rest of the cluster copied from what it read as before). */
static int qcow_cluster_allocate_write(block_node *node, const qcow_entry *entry, uint64_t offset, size_t length,
                                       const uint8_t *buf, error **errp)
{
    qcow_state *s = node->state;
    uint64_t cluster_start = offset & ~(s->cluster_size - 1);
    uint64_t l2_offset;
    uint8_t *cluster = memory_alloc_zero(s->cluster_size);
    int ret = -1;
    if (length < s->cluster_size && qcow_cluster_current_read(node, entry, cluster_start, cluster, errp) < 0)
        goto out;
    memcpy(cluster + (offset - cluster_start), buf, length);
    if (s->crypt_active &&
        format_crypt_sectors(s->key, true, cluster_start / QCOW_SECTOR_SIZE, cluster, s->cluster_size) < 0) {
        qcow_io_fail(errp);
        goto out;
    }
    if (qcow_l2_table_prepare(node, offset, &l2_offset, errp) < 0)
        goto out;
    uint64_t host = qcow_file_end_aligned(node, s->cluster_size);
    if (host > FORMAT_MAX_REQUEST_END - s->cluster_size) {
        qcow_io_fail(errp);
        goto out;
    }
    /* qemu's order: the file grows by the cluster, the L2 entry is written, then the data. */
    if (qcow_file_grow(node, host + s->cluster_size, errp) < 0 ||
        qcow_l2_entry_set(node, l2_offset, offset, host, errp) < 0 ||
        format_file_write(node->file, host, s->cluster_size, cluster, errp) < 0)
        goto out;
    ret = 0;
out:
    free(cluster);
    return ret;
}

int qcow_write(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, int flags, error **errp)
{
    qcow_state *s = node->state;
    (void)flags;
    while (length > 0) {
        size_t n = qcow_cluster_chunk(s, offset, length);
        qcow_entry entry;
        if (qcow_cluster_lookup(node, offset, &entry, errp) < 0)
            return -1;
        if (entry.kind == QCOW_ENTRY_NORMAL) {
            uint64_t within = offset & (s->cluster_size - 1);
            if (!qcow_cluster_offset_usable(&entry) || entry.offset > FORMAT_MAX_REQUEST_END - s->cluster_size)
                return qcow_io_fail(errp);
            int r = s->crypt_active
                        ? qcow_encrypted_write(node, entry.offset, offset - within, within, n, buf, errp)
                        : format_file_write(node->file, entry.offset + within, n, buf, errp);
            if (r < 0)
                return -1;
        } else if (qcow_cluster_allocate_write(node, &entry, offset, n, buf, errp) < 0) {
            return -1;
        }
        offset += n;
        buf += n;
        length -= n;
    }
    return 0;
}

/* Stores packed (packed_length bytes) as the compressed cluster at guest offset: appended 512-byte
 * aligned for a new cluster; over the old bytes, the entry unchanged, for a cluster that has one
 * (what qemu 10.2 does). */
static int qcow_compressed_store(block_node *node, uint64_t offset, const uint8_t *packed, uint64_t packed_length,
                                 error **errp)
{
    qcow_state *s = node->state;
    uint64_t l1_index, l2_index, l2_offset;
    qcow_offset_split(s, offset, &l1_index, &l2_index);
    if (qcow_l2_table_prepare(node, offset, &l2_offset, errp) < 0)
        return -1;
    uint8_t *table = qcow_l2_table_get(node, l2_offset, errp);
    if (table == NULL)
        return -1;
    uint64_t old = endian_load_be64(table + 8 * l2_index);
    if (old != 0) {
        uint64_t host = old & ((1ull << (63 - s->cluster_bits)) - 1);
        return format_file_write(node->file, host, (size_t)packed_length, packed, errp);
    }
    uint64_t host = qcow_file_end_aligned(node, QCOW_SECTOR_SIZE);
    if (host > FORMAT_MAX_REQUEST_END - packed_length || host >= (1ull << (63 - s->cluster_bits)))
        return qcow_io_fail(errp);
    if (format_file_write(node->file, host, (size_t)packed_length, packed, errp) < 0)
        return -1;
    return qcow_l2_entry_set(node, l2_offset, offset,
                             qcow_entry_encode_compressed(host, packed_length, s->cluster_bits), errp);
}

/* Stores one deflated cluster (format_compressed_store_fn); a cluster that does not shrink is
 * written normally. */
static int qcow_compressed_cluster_store(void *context, uint64_t offset, size_t length, const uint8_t *buf,
                                         const uint8_t *packed, long packed_length, error **errp)
{
    block_node *node = context;
    if (packed_length == -2)
        return qcow_write(node, offset, length, buf, 0, errp);
    return qcow_compressed_store(node, offset, packed, (uint64_t)packed_length, errp);
}

/* The guest bytes compressed together on every core. */
#define QCOW_COMPRESS_BATCH_BYTES (2u << 20)

int qcow_write_compressed(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, error **errp)
{
    qcow_state *s = node->state;
    /* Whole clusters, the image's last one possibly partial; a run of clusters (rebase -c) is
     * written cluster by cluster, as qemu-img splits it. Anything else is refused, which is why
     * qemu-img's closing empty compressed write fails. */
    if (length == 0 || (offset & (s->cluster_size - 1)))
        return error_set(errp, "Invalid argument");
    if ((length & (s->cluster_size - 1)) && offset + length != node->size)
        return error_set(errp, "Invalid argument");
    return format_compressed_write(FORMAT_COMPRESSION_DEFLATE, (size_t)s->cluster_size,
                                   QCOW_COMPRESS_BATCH_BYTES / s->cluster_size, offset, buf, length,
                                   qcow_compressed_cluster_store, node, errp);
}

/* The first L1 index at or after index whose entry is set (l1_size when none). */
static uint64_t qcow_l1_next_set(const qcow_state *s, uint64_t index)
{
    for (; index < s->l1_loaded; index++)
        if (s->l1_table[index])
            return index;
    uint64_t next = s->l1_size;
    for (size_t i = 0; i < s->l1_extra_count; i++)
        if (s->l1_extra[2 * i] >= index && s->l1_extra[2 * i] < next && s->l1_extra[2 * i + 1])
            next = s->l1_extra[2 * i];
    return next;
}

/* Bytes from offset through the L2 tables that exist-or-not alike: for an offset without L2 table,
 * up to the next L1 entry that is set (runs of empty L1 entries are one unallocated extent). */
static uint64_t qcow_unmapped_span(const qcow_state *s, uint64_t offset)
{
    unsigned shift = s->cluster_bits + s->l2_bits;
    uint64_t next = qcow_l1_next_set(s, (offset >> shift) + 1);
    if (next >= (UINT64_MAX >> shift))
        return UINT64_MAX - offset;
    return (next << shift) - offset;
}

int qcow_block_status(block_node *node, uint64_t offset, uint64_t length, block_status_result *out, error **errp)
{
    qcow_state *s = node->state;
    qcow_entry first;
    memset(out, 0, sizeof(*out));
    unsigned shift = s->cluster_bits + s->l2_bits;
    if (qcow_l1_entry_get(s, offset >> shift) == 0) {
        uint64_t span = qcow_unmapped_span(s, offset);
        out->length = span < length ? span : length;
        return 0;
    }
    /* Within an L2 table qemu's qcow answers one cluster at a time; convert's requests (and so
     * the layout of targets that allocate as they are written) follow those answers. */
    if (qcow_cluster_lookup(node, offset, &first, errp) < 0)
        return -1;
    uint64_t within = offset & (s->cluster_size - 1);
    uint64_t covered = s->cluster_size - within;
    out->length = covered < length ? covered : length;
    if (first.kind == QCOW_ENTRY_UNALLOCATED)
        return 0;
    out->flags = BLOCK_STATUS_DATA;
    if (first.kind == QCOW_ENTRY_COMPRESSED) {
        out->flags |= BLOCK_STATUS_COMPRESSED;
    } else if (s->crypt_method == QCOW_CRYPT_NONE) {
        out->flags |= BLOCK_STATUS_OFFSET_VALID;
        out->map_offset = first.offset + within;
        out->map_node = node->file;
    }
    return 0;
}

int qcow_make_empty(block_node *node, error **errp)
{
    qcow_state *s = node->state;
    uint64_t l1_bytes = s->l1_size * 8;
    if (format_file_write_zeroes(node->file, s->l1_table_offset, l1_bytes, errp) < 0)
        return -1;
    memset(s->l1_table, 0, s->l1_loaded * 8);
    free(s->l1_extra);
    s->l1_extra = NULL;
    s->l1_extra_count = 0;
    format_cache_clear(&s->l2_cache);
    return block_node_truncate(node->file, s->l1_table_offset + l1_bytes, false, BLOCK_PREALLOCATION_OFF, true,
                               errp);
}
