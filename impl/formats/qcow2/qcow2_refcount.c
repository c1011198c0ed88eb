/* qcow2_refcount.c — qcow2 reference counts: the refcount table and blocks, first-fit cluster allocation,
 * byte allocation for compressed data and freeing, in qemu's placement order (spec/qcow2.md §Refcounts). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "qcow2.h"
#include "../../util/endian.h"
#include "../../util/memory.h"
#include "../../util/report.h"

/* Reads entry index of a refcount block of the image's width. */
uint64_t qcow2_refcount_array_get(const qcow2_state *s, const uint8_t *block, uint64_t index)
{
    switch (s->refcount_order) {
    case 0:
        return (block[index / 8] >> (index % 8)) & 1;
    case 1:
        return (block[index / 4] >> (2 * (index % 4))) & 3;
    case 2:
        return (block[index / 2] >> (4 * (index % 2))) & 15;
    case 3:
        return block[index];
    case 4:
        return endian_load_be16(block + 2 * index);
    case 5:
        return endian_load_be32(block + 4 * index);
    default:
        return endian_load_be64(block + 8 * index);
    }
}

/* Stores value as entry index of a refcount block. */
void qcow2_refcount_array_set(const qcow2_state *s, uint8_t *block, uint64_t index, uint64_t value)
{
    switch (s->refcount_order) {
    case 0:
        block[index / 8] = (uint8_t)((block[index / 8] & ~(1u << (index % 8))) | (value << (index % 8)));
        break;
    case 1:
        block[index / 4] = (uint8_t)((block[index / 4] & ~(3u << (2 * (index % 4)))) | (value << (2 * (index % 4))));
        break;
    case 2:
        block[index / 2] = (uint8_t)((block[index / 2] & ~(15u << (4 * (index % 2)))) | (value << (4 * (index % 2))));
        break;
    case 3:
        block[index] = (uint8_t)value;
        break;
    case 4:
        endian_store_be16(block + 2 * index, (uint16_t)value);
        break;
    case 5:
        endian_store_be32(block + 4 * index, (uint32_t)value);
        break;
    default:
        endian_store_be64(block + 8 * index, value);
        break;
    }
}

/* Byte range of a refcount block that holds entries [first, last]. */
static void qcow2_refcount_byte_range(const qcow2_state *s, uint64_t first, uint64_t last, uint64_t *start,
                                      uint64_t *end)
{
    *start = (first << s->refcount_order) / 8;
    *end = ((last + 1) << s->refcount_order) / 8;
    if (*end <= *start)
        *end = *start + 1;
}

/* Reads the refcount table into memory. */
int qcow2_refcount_load(block_node *node, error **errp)
{
    qcow2_state *s = node->state;
    size_t bytes = (size_t)(s->refcount_table_entries * 8);
    uint8_t *raw = memory_alloc_zero(bytes ? bytes : 1);
    int ret = -1;
    free(s->refcount_table);
    s->refcount_table = memory_alloc_array(s->refcount_table_entries ? s->refcount_table_entries : 1, 8);
    if (bytes && format_file_read(node->file, s->refcount_table_offset, bytes, raw, errp) < 0)
        goto out;
    for (uint64_t i = 0; i < s->refcount_table_entries; i++)
        s->refcount_table[i] = endian_load_be64(raw + 8 * i);
    ret = 0;
out:
    free(raw);
    return ret;
}

/* Refcount of cluster cluster_index (0 when no refcount block covers it). */
int qcow2_refcount_get(block_node *node, uint64_t cluster_index, uint64_t *refcount, error **errp)
{
    qcow2_state *s = node->state;
    uint64_t table_index = cluster_index >> s->refcount_block_bits;
    *refcount = 0;
    if (table_index >= s->refcount_table_entries)
        return 0;
    uint64_t block_offset = s->refcount_table[table_index] & QCOW2_REFTABLE_OFFSET_MASK;
    if (block_offset == 0)
        return 0;
    if (qcow2_offset_into_cluster(s, block_offset))
        return qcow2_corruption_signal(node, true, errp, "Refblock offset %#llx unaligned (reftable index: %#llx)",
                                       (unsigned long long)block_offset, (unsigned long long)table_index);
    uint8_t *block = format_cache_get(&s->refblock_cache, block_offset, errp);
    if (block == NULL)
        return -1;
    *refcount = qcow2_refcount_array_get(s, block, cluster_index & (s->refcount_block_entries - 1));
    return 0;
}

/* Finds size bytes worth of free clusters from the free cluster index, without taking references. */
static int64_t qcow2_clusters_find_free(block_node *node, uint64_t size, error **errp)
{
    qcow2_state *s = node->state;
    uint64_t count = qcow2_size_to_clusters(s, size);
    uint64_t found = 0;
    while (found < count) {
        uint64_t refcount;
        uint64_t index = s->free_cluster_index++;
        if (qcow2_refcount_get(node, index, &refcount, errp) < 0)
            return -1;
        found = refcount ? 0 : found + 1;
        if ((s->free_cluster_index << s->cluster_bits) >> s->cluster_bits != s->free_cluster_index)
            return error_set_errnum(errp, EFBIG, "File too large");
    }
    return (int64_t)((s->free_cluster_index - count) << s->cluster_bits);
}

static int qcow2_refcount_update_inner(block_node *node, uint64_t offset, uint64_t length, uint64_t addend,
                                       bool decrease, bool *again, error **errp);

/* Writes a full refcount block to the image. */
static int qcow2_refblock_write(block_node *node, uint64_t offset, const uint8_t *block, error **errp)
{
    qcow2_state *s = node->state;
    return format_file_write(node->file, offset, s->cluster_size, block, errp);
}

/* qemu's qcow2_refcount_area: new refcount blocks and a new table at start_offset covering everything
 * below start_offset plus additional clusters; returns the end of the new structures. */
static int64_t qcow2_refcount_area_place(block_node *node, uint64_t start_offset, uint64_t additional_clusters,
                                         bool exact, uint64_t new_block_index, uint64_t new_block_offset,
                                         error **errp)
{
    qcow2_state *s = node->state;
    uint64_t total_blocks = 0;
    uint64_t *table = NULL;
    uint8_t *raw = NULL;
    int64_t ret = -1;

    qcow2_refcount_metadata_size((int64_t)(start_offset / s->cluster_size + additional_clusters), s->cluster_size,
                                 s->refcount_order, !exact, &total_blocks);
    if (total_blocks > QCOW2_MAX_REFTABLE_BYTES)
        return error_set_errnum(errp, EFBIG, "File too large");
    uint64_t area_index = (start_offset / s->cluster_size) / s->refcount_block_entries;
    uint64_t table_size = exact ? total_blocks : total_blocks + (total_blocks + 1) / 2;
    uint64_t per_cluster = s->cluster_size / 8;
    table_size = (table_size + per_cluster - 1) / per_cluster * per_cluster;
    uint64_t table_clusters = table_size * 8 / s->cluster_size;
    if (table_size > QCOW2_MAX_REFTABLE_BYTES)
        return error_set_errnum(errp, EFBIG, "File too large");

    table = memory_alloc_array(table_size, 8);
    uint64_t max_used = 0;
    for (uint64_t i = 0; i < s->refcount_table_entries; i++)
        if (s->refcount_table[i] & QCOW2_REFTABLE_OFFSET_MASK)
            max_used = i;
    uint64_t copy = table_size > max_used ? max_used + 1 : table_size;
    if (copy > s->refcount_table_entries)
        copy = s->refcount_table_entries;
    if (copy)
        memcpy(table, s->refcount_table, copy * 8);
    if (new_block_offset)
        table[new_block_index] = new_block_offset;

    uint64_t additional_blocks = 0;
    for (uint64_t i = area_index; i < total_blocks; i++)
        if (!table[i])
            additional_blocks++;
    uint64_t table_offset = start_offset + additional_blocks * s->cluster_size;
    uint64_t end_offset = table_offset + table_clusters * s->cluster_size;

    uint64_t block_offset = start_offset;
    for (uint64_t i = area_index; i < total_blocks; i++) {
        uint8_t *block;
        uint64_t this_offset;
        if (table[i]) {
            this_offset = table[i] & QCOW2_REFTABLE_OFFSET_MASK;
            block = format_cache_get(&s->refblock_cache, this_offset, errp);
            if (block == NULL)
                goto out;
        } else {
            this_offset = block_offset;
            block = format_cache_get_empty(&s->refblock_cache, block_offset, NULL);
            table[i] = block_offset;
            block_offset += s->cluster_size;
        }
        uint64_t first_covered = i * s->refcount_block_entries * s->cluster_size;
        if (first_covered < end_offset) {
            uint64_t j = first_covered < start_offset ? (start_offset - first_covered) / s->cluster_size : 0;
            uint64_t end_index = (end_offset - first_covered) / s->cluster_size;
            if (end_index > s->refcount_block_entries)
                end_index = s->refcount_block_entries;
            for (; j < end_index; j++)
                qcow2_refcount_array_set(s, block, j, 1);
        }
        if (qcow2_refblock_write(node, this_offset, block, errp) < 0)
            goto out;
    }

    raw = memory_alloc_zero(table_size * 8);
    for (uint64_t i = 0; i < table_size; i++)
        endian_store_be64(raw + 8 * i, table[i]);
    if (qcow2_metadata_barrier(node, errp) < 0)
        goto out;
    if (format_file_write(node->file, table_offset, table_size * 8, raw, errp) < 0)
        goto out;
    uint8_t pointer[12];
    endian_store_be64(pointer, table_offset);
    endian_store_be32(pointer + 8, (uint32_t)table_clusters);
    if (format_file_write(node->file, 48, sizeof(pointer), pointer, errp) < 0)
        goto out;

    uint64_t old_offset = s->refcount_table_offset;
    uint64_t old_entries = s->refcount_table_entries;
    free(s->refcount_table);
    s->refcount_table = table;
    table = NULL;
    s->refcount_table_entries = table_size;
    s->refcount_table_offset = table_offset;
    qcow2_clusters_free(node, old_offset, old_entries * 8, NULL);
    ret = (int64_t)end_offset;
out:
    free(table);
    free(raw);
    return ret;
}

/* Public entry of the refcount area placement (full preallocation). */
int64_t qcow2_refcount_area(block_node *node, uint64_t start_offset, uint64_t additional_clusters, error **errp)
{
    return qcow2_refcount_area_place(node, start_offset, additional_clusters, true, 0, 0, errp);
}

/* Returns the refcount block for cluster_index, allocating it (and growing the table) when missing.
 * *again is set when metadata was allocated so that the caller restarts its search (qemu's -EAGAIN). */
static uint8_t *qcow2_refblock_obtain(block_node *node, uint64_t cluster_index, uint64_t *block_offset_out,
                                      bool *again, error **errp)
{
    qcow2_state *s = node->state;
    uint64_t table_index = cluster_index >> s->refcount_block_bits;
    *again = false;
    if (table_index < s->refcount_table_entries) {
        uint64_t offset = s->refcount_table[table_index] & QCOW2_REFTABLE_OFFSET_MASK;
        if (offset) {
            if (qcow2_offset_into_cluster(s, offset)) {
                qcow2_corruption_signal(node, true, errp, "Refblock offset %#llx unaligned (reftable index: %#llx)",
                                        (unsigned long long)offset, (unsigned long long)table_index);
                return NULL;
            }
            *block_offset_out = offset;
            return format_cache_get(&s->refblock_cache, offset, errp);
        }
    }

    int64_t new_block = qcow2_clusters_find_free(node, s->cluster_size, errp);
    if (new_block < 0 || qcow2_metadata_write_check(node, (uint64_t)new_block, s->cluster_size, errp) < 0)
        return NULL;
    uint64_t span_bits = s->cluster_bits + s->refcount_block_bits;
    uint8_t *block;
    if (((uint64_t)new_block >> span_bits) == ((cluster_index << s->cluster_bits) >> span_bits)) {
        block = format_cache_get_empty(&s->refblock_cache, (uint64_t)new_block, NULL);
        qcow2_refcount_array_set(s, block, ((uint64_t)new_block >> s->cluster_bits) & (s->refcount_block_entries - 1),
                                 1);
    } else {
        bool inner_again = false;
        if (qcow2_refcount_update_inner(node, (uint64_t)new_block, s->cluster_size, 1, false, &inner_again, errp) < 0) {
            /* the block's own range had no refcount block either: one was hooked up, start over */
            *again = inner_again;
            return NULL;
        }
        block = format_cache_get_empty(&s->refblock_cache, (uint64_t)new_block, NULL);
    }
    if (qcow2_refblock_write(node, (uint64_t)new_block, block, errp) < 0)
        return NULL;

    if (table_index < s->refcount_table_entries) {
        uint8_t entry[8];
        endian_store_be64(entry, (uint64_t)new_block);
        if (qcow2_metadata_barrier(node, errp) < 0)
            return NULL;
        if (format_file_write(node->file, s->refcount_table_offset + table_index * 8, 8, entry, errp) < 0)
            return NULL;
        s->refcount_table[table_index] = (uint64_t)new_block;
        /* as qemu's alloc_refcount_block: the new block may be where the caller meant to put its data, so
         * the caller restarts (a free gives up: qemu's update_refcount fails with -EAGAIN) */
        *again = true;
        return NULL;
    }

    uint64_t highest = cluster_index + 1 > ((uint64_t)new_block >> s->cluster_bits) + 1
                           ? cluster_index + 1
                           : ((uint64_t)new_block >> s->cluster_bits) + 1;
    uint64_t blocks_used = (highest + s->refcount_block_entries - 1) / s->refcount_block_entries;
    if (blocks_used > QCOW2_MAX_REFTABLE_BYTES / 8) {
        error_set_errnum(errp, EFBIG, "File too large");
        return NULL;
    }
    uint64_t meta_offset = blocks_used * s->refcount_block_entries * s->cluster_size;
    if (qcow2_refcount_area_place(node, meta_offset, 0, false, table_index, (uint64_t)new_block, errp) < 0)
        return NULL;
    *again = true;
    return NULL;
}

/* Writes the dirty byte range of the current refcount block, or in write-back mode marks the cached
 * block dirty (it is written whole on flush or eviction). */
static int qcow2_refblock_flush_range(block_node *node, uint64_t block_offset, const uint8_t *block,
                                      uint64_t start, uint64_t end, error **errp)
{
    qcow2_state *s = node->state;
    if (block == NULL || end <= start)
        return 0;
    if (s->metadata_writeback) {
        format_cache_mark_dirty(&s->refblock_cache, block_offset);
        return 0;
    }
    return format_file_write(node->file, block_offset + start, end - start, block + start, errp);
}

void qcow2_metadata_writeback_begin(block_node *node, bool refcounts_first)
{
    qcow2_state *s = node->state;
    s->metadata_writeback = true;
    if (refcounts_first)
        format_cache_set_dependency(&s->l2_cache, &s->refblock_cache);
    else
        format_cache_set_dependency(&s->refblock_cache, &s->l2_cache);
}

int qcow2_metadata_writeback_end(block_node *node, error **errp)
{
    qcow2_state *s = node->state;
    int ret = 0;
    if (format_cache_flush(&s->l2_cache, errp) < 0 || format_cache_flush(&s->refblock_cache, errp) < 0)
        ret = -1;
    format_cache_set_dependency(&s->l2_cache, NULL);
    format_cache_set_dependency(&s->refblock_cache, NULL);
    s->metadata_writeback = false;
    return ret;
}

int qcow2_metadata_barrier(block_node *node, error **errp)
{
    qcow2_state *s = node->state;
    if (!s->metadata_writeback)
        return 0;
    if (format_cache_flush(&s->refblock_cache, errp) < 0 || format_cache_flush(&s->l2_cache, errp) < 0)
        return -1;
    return 0;
}

void qcow2_writeback_begin(block_node *node)
{
    qcow2_state *s = node->state;
    if (s->metadata_writeback)
        return;
    qcow2_metadata_writeback_begin(node, true);
    s->metadata_bulk = true;
}

int qcow2_writeback_end(block_node *node, error **errp)
{
    qcow2_state *s = node->state;
    if (!s->metadata_bulk)
        return 0;
    s->metadata_bulk = false;
    return qcow2_metadata_writeback_end(node, errp);
}

int qcow2_flush(block_node *node, error **errp)
{
    return qcow2_metadata_barrier(node, errp);
}

/* qemu's update_refcount: adjusts every cluster of the range; on failure the applied part is reverted. */
static int qcow2_refcount_update_inner(block_node *node, uint64_t offset, uint64_t length, uint64_t addend,
                                       bool decrease, bool *again, error **errp)
{
    qcow2_state *s = node->state;
    uint8_t *block = NULL;
    uint64_t block_offset = 0;
    uint64_t current_table_index = UINT64_MAX;
    uint64_t dirty_start = UINT64_MAX, dirty_end = 0;
    uint64_t cluster_offset;
    int ret = 0;
    *again = false;
    if (length == 0)
        return 0;
    uint64_t start = qcow2_start_of_cluster(s, offset);
    uint64_t last = qcow2_start_of_cluster(s, offset + length - 1);
    for (cluster_offset = start; cluster_offset <= last; cluster_offset += s->cluster_size) {
        uint64_t cluster_index = cluster_offset >> s->cluster_bits;
        uint64_t table_index = cluster_index >> s->refcount_block_bits;
        if (table_index != current_table_index) {
            if (qcow2_refblock_flush_range(node, block_offset, block, dirty_start, dirty_end, errp) < 0) {
                ret = -1;
                goto fail;
            }
            dirty_start = UINT64_MAX;
            dirty_end = 0;
            bool obtained_again = false;
            block = qcow2_refblock_obtain(node, cluster_index, &block_offset, &obtained_again, errp);
            if (block == NULL) {
                ret = -1;
                if (obtained_again)
                    *again = true;
                goto fail;
            }
            current_table_index = table_index;
        }
        uint64_t index = cluster_index & (s->refcount_block_entries - 1);
        uint64_t refcount = qcow2_refcount_array_get(s, block, index);
        if (decrease ? (refcount < addend) : (refcount + addend < refcount || refcount + addend > s->refcount_max)) {
            error_set(errp, "Invalid argument");
            ret = -1;
            goto fail;
        }
        refcount = decrease ? refcount - addend : refcount + addend;
        if (refcount == 0 && cluster_index < s->free_cluster_index)
            s->free_cluster_index = cluster_index;
        qcow2_refcount_array_set(s, block, index, refcount);
        uint64_t byte_start, byte_end;
        qcow2_refcount_byte_range(s, index, index, &byte_start, &byte_end);
        if (byte_start < dirty_start)
            dirty_start = byte_start;
        if (byte_end > dirty_end)
            dirty_end = byte_end;
        if (refcount == 0) {
            format_cache_drop(&s->l2_cache, cluster_offset);
            if (cluster_offset != block_offset)
                format_cache_drop(&s->refblock_cache, cluster_offset);
            if (s->discard_freed)
                block_node_discard(node->file, cluster_offset, s->cluster_size, NULL);
        }
    }
    if (qcow2_refblock_flush_range(node, block_offset, block, dirty_start, dirty_end, errp) < 0)
        ret = -1;
    return ret;
fail:
    if (cluster_offset > offset) {
        bool ignored;
        qcow2_refcount_update_inner(node, offset, cluster_offset - offset, addend, !decrease, &ignored, NULL);
    }
    return ret;
}

/* Adjusts refcounts of [offset, offset+length), retrying while refcount blocks get allocated. */
int qcow2_refcount_update(block_node *node, uint64_t offset, uint64_t length, uint64_t addend, bool decrease,
                          error **errp)
{
    qcow2_state *s = node->state;
    /* the L2 change that dropped the references reaches the disk before the lower counts do */
    if (decrease && s->metadata_bulk && qcow2_metadata_barrier(node, errp) < 0)
        return -1;
    for (;;) {
        bool again = false;
        error *local = NULL;
        int ret = qcow2_refcount_update_inner(node, offset, length, addend, decrease, &again, &local);
        if (ret == 0)
            return 0;
        if (!again) {
            error_propagate(errp, local);
            return -1;
        }
        error_free(local);
    }
}

/* qemu's qcow2_alloc_clusters: first fit from the free cluster index, then take references. */
int64_t qcow2_clusters_alloc(block_node *node, uint64_t size, error **errp)
{
    for (;;) {
        int64_t offset = qcow2_clusters_find_free(node, size, errp);
        if (offset < 0)
            return -1;
        bool again = false;
        error *local = NULL;
        if (qcow2_refcount_update_inner(node, (uint64_t)offset, size, 1, false, &again, &local) == 0)
            return offset;
        if (!again) {
            error_propagate(errp, local);
            return -1;
        }
        error_free(local);
        /* the search restarts where it found this run: its first clusters stay free when the new
         * refcount block went elsewhere (qemu then puts the data right below that block) */
        qcow2_state *s = node->state;
        if (((uint64_t)offset >> s->cluster_bits) < s->free_cluster_index)
            s->free_cluster_index = (uint64_t)offset >> s->cluster_bits;
    }
}

/* qemu's qcow2_alloc_clusters_at: takes as many of count clusters at offset as are free. */
int64_t qcow2_clusters_alloc_at(block_node *node, uint64_t offset, uint64_t count, error **errp)
{
    qcow2_state *s = node->state;
    for (;;) {
        uint64_t index = offset >> s->cluster_bits;
        uint64_t i;
        for (i = 0; i < count; i++) {
            uint64_t refcount;
            if (qcow2_refcount_get(node, index + i, &refcount, errp) < 0)
                return -1;
            if (refcount != 0)
                break;
        }
        bool again = false;
        error *local = NULL;
        if (qcow2_refcount_update_inner(node, offset, i << s->cluster_bits, 1, false, &again, &local) == 0)
            return (int64_t)i;
        if (!again) {
            error_propagate(errp, local);
            return -1;
        }
        error_free(local);
    }
}

/* qemu's qcow2_alloc_bytes: packs compressed data into partially used clusters. */
int64_t qcow2_bytes_alloc(block_node *node, uint64_t size, error **errp)
{
    qcow2_state *s = node->state;
    uint64_t offset = s->free_byte_offset;
    if (offset) {
        uint64_t refcount;
        if (qcow2_refcount_get(node, offset >> s->cluster_bits, &refcount, errp) < 0)
            return -1;
        if (refcount == s->refcount_max)
            offset = 0;
    }
    uint64_t free_in_cluster = s->cluster_size - qcow2_offset_into_cluster(s, offset);
    for (;;) {
        int64_t new_cluster = -1;
        if (!offset || free_in_cluster < size) {
            new_cluster = qcow2_clusters_find_free(node, s->cluster_size, errp);
            if (new_cluster < 0)
                return -1;
            if (new_cluster == 0)
                return error_set(errp, "Input/output error");
            if (!offset || ((offset + s->cluster_size - 1) & ~(s->cluster_size - 1)) != (uint64_t)new_cluster) {
                offset = (uint64_t)new_cluster;
                free_in_cluster = s->cluster_size;
            } else {
                free_in_cluster += s->cluster_size;
            }
        }
        bool again = false;
        error *local = NULL;
        if (qcow2_refcount_update_inner(node, offset, size, 1, false, &again, &local) == 0)
            break;
        offset = 0;
        if (!again) {
            error_propagate(errp, local);
            return -1;
        }
        error_free(local);
        /* as in qcow2_clusters_alloc: the cluster found stays the first candidate of the next search */
        if (new_cluster > 0 && ((uint64_t)new_cluster >> s->cluster_bits) < s->free_cluster_index)
            s->free_cluster_index = (uint64_t)new_cluster >> s->cluster_bits;
    }
    s->free_byte_offset = offset + size;
    if (!qcow2_offset_into_cluster(s, s->free_byte_offset))
        s->free_byte_offset = 0;
    return (int64_t)offset;
}

/* Drops one reference of every cluster in [offset, offset+size). */
int qcow2_clusters_free(block_node *node, uint64_t offset, uint64_t size, error **errp)
{
    /* qemu's qcow2_free_clusters: one attempt; a refcount block that had to be allocated first (-EAGAIN)
     * or any other failure is reported and the clusters leak */
    qcow2_state *s = node->state;
    bool again = false;
    error *local = NULL;
    /* in a bulk copy the L2 change that dropped the references reaches the disk before the lower counts do */
    if (s->metadata_bulk && qcow2_metadata_barrier(node, errp) < 0)
        return -1;
    if (qcow2_refcount_update_inner(node, offset, size, 1, true, &again, &local) == 0)
        return 0;
    report_text("qcow2_free_clusters failed: %s\n",
                again ? "Resource temporarily unavailable" : local ? error_message(local) : "Input/output error");
    if (again) {
        error_free(local);
        return error_set(errp, "Resource temporarily unavailable");
    }
    error_propagate(errp, local);
    return -1;
}

/* Frees what an L2 entry points to (nothing for unallocated/zero-plain entries and external data). */
int qcow2_entry_free(block_node *node, uint64_t l2_entry, error **errp)
{
    qcow2_state *s = node->state;
    if (l2_entry & QCOW2_OFLAG_COMPRESSED) {
        uint64_t host, size;
        qcow2_parse_compressed_entry(s, l2_entry, &host, &size);
        return qcow2_clusters_free(node, host, size, errp);
    }
    uint64_t host = l2_entry & QCOW2_L2_OFFSET_MASK;
    if (host == 0 || qcow2_has_data_file(s))
        return 0;
    return qcow2_clusters_free(node, host, s->cluster_size, errp);
}

/* Bytes of refcount table and blocks needed to count clusters (fixed point, as qemu computes it). */
int64_t qcow2_refcount_metadata_size(int64_t clusters, uint64_t cluster_size, int refcount_order,
                                     bool generous_increase, uint64_t *refblock_count)
{
    int64_t per_table_cluster = (int64_t)cluster_size / 8;
    int64_t per_block = (int64_t)(cluster_size * 8) >> refcount_order;
    int64_t table = 0, blocks = 0, last, n = 0;
    do {
        last = n;
        blocks = (clusters + table + blocks + per_block - 1) / per_block;
        table = (blocks + per_table_cluster - 1) / per_table_cluster;
        n = clusters + blocks + table;
        if (n == last && generous_increase) {
            clusters += (table + 1) / 2;
            n = 0;
            generous_increase = false;
        }
    } while (n != last);
    if (refblock_count)
        *refblock_count = (uint64_t)blocks;
    return (blocks + table) * (int64_t)cluster_size;
}
