/* qcow2_amend.c — changing an existing qcow2 image: resize (grow, shrink, preallocation), amend (compat
 * up/down, lazy refcounts, data file flags), the backing file name and emptying (spec/qcow2.md §Resize, §Amend). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "qcow2.h"
#include "../../util/endian.h"
#include "../../util/memory.h"

/* Writes the virtual size into the header. */
static int qcow2_size_write(block_node *node, uint64_t size, error **errp)
{
    uint8_t raw[8];
    endian_store_be64(raw, size);
    if (format_file_write(node->file, 24, sizeof(raw), raw, errp) < 0) {
        error_prepend(errp, "Failed to update the image size: ");
        return -1;
    }
    return 0;
}

/* Recomputes the L2 slice size after a size change (qemu re-reads its cache options). */
static void qcow2_slice_refresh(block_node *node)
{
    qcow2_state *s = node->state;
    uint64_t max_entries = (node->size + s->cluster_size - 1) / s->cluster_size;
    uint64_t max_cache = (max_entries * s->l2_entry_size + s->cluster_size - 1) / s->cluster_size * s->cluster_size;
    uint64_t cache = max_cache < 32ull * 1024 * 1024 ? max_cache : 32ull * 1024 * 1024;
    uint64_t entry_size = s->cluster_size;
    if (cache < max_cache)
        entry_size = s->cluster_size < 4096 ? s->cluster_size : 4096;
    s->l2_slice_entries = entry_size / s->l2_entry_size;
}

/* Index of the last cluster with a nonzero refcount below file_size (-1 when none). */
static int64_t qcow2_last_used_cluster(block_node *node, uint64_t file_size)
{
    qcow2_state *s = node->state;
    for (int64_t i = (int64_t)qcow2_size_to_clusters(s, file_size) - 1; i >= 0; i--) {
        uint64_t refcount;
        if (qcow2_refcount_get(node, (uint64_t)i, &refcount, NULL) < 0)
            return -1;
        if (refcount)
            return i;
    }
    return -1;
}

/* qemu's qcow2_shrink_l1_table: zeroes the dropped L1 entries on disk and frees their L2 tables. */
static int qcow2_l1_shrink(block_node *node, uint64_t new_size, error **errp)
{
    qcow2_state *s = node->state;
    if (new_size >= s->l1_size)
        return 0;
    if (format_file_write_zeroes(node->file, s->l1_table_offset + new_size * 8, (s->l1_size - new_size) * 8, errp) < 0)
        return -1;
    for (uint64_t i = s->l1_size; i > new_size; i--) {
        uint64_t l2 = s->l1_table[i - 1] & QCOW2_L1_OFFSET_MASK;
        if (l2 == 0)
            continue;
        qcow2_clusters_free(node, l2, s->cluster_size, NULL);
        block_node_discard(node->file, l2, s->cluster_size, NULL);
        s->l1_table[i - 1] = 0;
    }
    return 0;
}

/* qemu's qcow2_shrink_reftable: drops refcount blocks that count nothing but themselves. */
static int qcow2_reftable_shrink(block_node *node, error **errp)
{
    qcow2_state *s = node->state;
    /* Freeing clusters below may grow the refcount table (a damaged image can reference clusters
     * no block covers): every loop stays within the entries counted here. */
    uint64_t count = s->refcount_table_entries;
    uint8_t *raw = memory_alloc_zero(count * 8);
    bool *drop = memory_alloc_zero(count);
    int ret = -1;
    for (uint64_t i = 0; i < count && i < s->refcount_table_entries; i++) {
        uint64_t offset = s->refcount_table[i] & QCOW2_REFTABLE_OFFSET_MASK;
        if (offset == 0)
            continue;
        uint8_t *block = format_cache_get(&s->refblock_cache, offset, errp);
        if (block == NULL)
            goto out;
        uint8_t *copy = memory_alloc_zero(s->cluster_size);
        memcpy(copy, block, s->cluster_size);
        if (((offset >> s->cluster_bits) >> s->refcount_block_bits) == i)
            qcow2_refcount_array_set(s, copy, (offset >> s->cluster_bits) & (s->refcount_block_entries - 1), 0);
        bool unused = true;
        for (uint64_t j = 0; j < s->cluster_size && unused; j++)
            unused = copy[j] == 0;
        free(copy);
        drop[i] = unused;
        if (!unused)
            endian_store_be64(raw + 8 * i, s->refcount_table[i]);
    }
    if (count != s->refcount_table_entries) {
        error_set(errp, "Input/output error");
        goto out;
    }
    if (format_file_write(node->file, s->refcount_table_offset, count * 8, raw, errp) < 0)
        goto out;
    for (uint64_t i = 0; i < count && i < s->refcount_table_entries; i++) {
        if (!drop[i] || s->refcount_table[i] == 0)
            continue;
        uint64_t offset = s->refcount_table[i] & QCOW2_REFTABLE_OFFSET_MASK;
        format_cache_drop(&s->refblock_cache, offset);
        s->refcount_table[i] = 0;
        /* the block's own reference lived in itself or in another block */
        uint64_t covering = (offset >> s->cluster_bits) >> s->refcount_block_bits;
        if (covering != i)
            qcow2_clusters_free(node, offset, s->cluster_size, NULL);
        else if (offset >> s->cluster_bits < s->free_cluster_index)
            s->free_cluster_index = offset >> s->cluster_bits;
        block_node_discard(node->file, offset, s->cluster_size, NULL);
    }
    ret = 0;
out:
    free(raw);
    free(drop);
    return ret;
}

/* Full/falloc preallocation of the grown area without an external data file (qemu's truncate path). */
static int qcow2_grow_preallocated(block_node *node, uint64_t old_length, uint64_t size, block_preallocation prealloc,
                                   error **errp)
{
    qcow2_state *s = node->state;
    int64_t file_size = block_node_length(node->file);
    if (file_size < 0)
        return error_set(errp, "Failed to inquire current file length");
    int64_t last = qcow2_last_used_cluster(node, (uint64_t)file_size);
    uint64_t old_file_size = last >= 0 ? (uint64_t)(last + 1) * s->cluster_size
                                       : ((uint64_t)file_size + s->cluster_size - 1) & ~(s->cluster_size - 1);
    uint64_t new_clusters = (((size + s->cluster_size - 1) & ~(s->cluster_size - 1)) -
                             qcow2_start_of_cluster(s, old_length)) >> s->cluster_bits;
    uint64_t per_table = s->cluster_size / s->l2_entry_size;
    uint64_t new_tables = (new_clusters + per_table - 1) / per_table + 1;
    int64_t start = qcow2_refcount_area(node, old_file_size, new_clusters + new_tables, errp);
    if (start < 0) {
        error_prepend(errp, "Failed to resize refcount structures: ");
        return -1;
    }
    int64_t got = qcow2_clusters_alloc_at(node, (uint64_t)start, new_clusters, errp);
    if (got < 0) {
        error_prepend(errp, "Failed to allocate data clusters: ");
        return -1;
    }
    uint64_t new_file_size = (uint64_t)start + new_clusters * s->cluster_size;
    if (block_node_truncate(node->file, new_file_size, false, prealloc, false, errp) < 0) {
        error_prepend(errp, "Failed to resize underlying file: ");
        return -1;
    }
    uint64_t host = (uint64_t)start, guest = old_length;
    while (new_clusters) {
        uint8_t *table;
        uint64_t table_offset;
        guest = qcow2_start_of_cluster(s, guest);
        if (qcow2_l2_prepare(node, guest, &table, &table_offset, errp) < 0) {
            error_prepend(errp, "Failed to update L2 tables: ");
            return -1;
        }
        uint64_t index = (guest >> s->cluster_bits) & (s->l2_entries - 1);
        uint64_t n = s->l2_slice_entries - (index & (s->l2_slice_entries - 1));
        if (n > new_clusters)
            n = new_clusters;
        uint64_t *old_entries = memory_alloc_array(n, 8);
        for (uint64_t i = 0; i < n; i++) {
            old_entries[i] = qcow2_l2_entry_get(s, table, index + i);
            endian_store_be64(table + (index + i) * s->l2_entry_size, (host + i * s->cluster_size) | QCOW2_OFLAG_COPIED);
        }
        int w = format_file_write(node->file, table_offset + index * s->l2_entry_size, n * s->l2_entry_size,
                                 table + index * s->l2_entry_size, errp);
        for (uint64_t i = 0; i < n && w == 0; i++)
            qcow2_entry_free(node, old_entries[i], NULL);
        free(old_entries);
        if (w < 0)
            return -1;
        guest += n * s->cluster_size;
        host += n * s->cluster_size;
        new_clusters -= n;
    }
    return 0;
}

/* Resizes the virtual disk (qemu's qcow2_co_truncate). */
int qcow2_truncate(block_node *node, uint64_t size, bool exact, block_preallocation prealloc, bool shrink_allowed,
                   error **errp)
{
    qcow2_state *s = node->state;
    qcow2_inflated_forget(s);
    (void)shrink_allowed;
    if (size % 512)
        return error_set_errnum(errp, EINVAL, "The new size must be a multiple of 512");
    if (s->nb_snapshots && s->version < 3)
        return error_set_errnum(errp, ENOTSUP, "Can't resize a v2 image which has snapshots");
    uint64_t old_length = node->size;
    uint64_t new_l1_size = qcow2_size_to_l1(s, size);
    if (size < old_length) {
        if (prealloc != BLOCK_PREALLOCATION_OFF)
            return error_set(errp, "Preallocation can't be used for shrinking an image");
        uint64_t from = (size + s->cluster_size - 1) & ~(s->cluster_size - 1);
        if (old_length > from && qcow2_cluster_discard(node, from, old_length - from, true, errp) < 0) {
            error_prepend(errp, "Failed to discard cropped clusters: ");
            return -1;
        }
        if (qcow2_l1_shrink(node, new_l1_size, errp) < 0) {
            error_prepend(errp, "Failed to reduce the number of L2 tables: ");
            return -1;
        }
        if (qcow2_reftable_shrink(node, errp) < 0) {
            error_prepend(errp, "Failed to discard unused refblocks: ");
            return -1;
        }
        int64_t file_size = block_node_length(node->file);
        int64_t last = qcow2_last_used_cluster(node, (uint64_t)file_size);
        if (last >= 0 && (uint64_t)(last + 1) * s->cluster_size < (uint64_t)file_size)
            block_node_truncate(node->file, (uint64_t)(last + 1) * s->cluster_size, false, BLOCK_PREALLOCATION_OFF,
                                true, NULL);
    } else {
        if (qcow2_l1_grow(node, new_l1_size, true, errp) < 0) {
            error_prepend(errp, "Failed to grow the L1 table: ");
            return -1;
        }
        if (qcow2_data_file_is_raw(s) && prealloc == BLOCK_PREALLOCATION_OFF)
            prealloc = BLOCK_PREALLOCATION_METADATA;
    }
    switch (prealloc) {
    case BLOCK_PREALLOCATION_OFF:
        if (qcow2_has_data_file(s) && block_node_truncate(s->data_node, size, exact, prealloc, true, errp) < 0)
            return -1;
        break;
    case BLOCK_PREALLOCATION_METADATA:
    case BLOCK_PREALLOCATION_FALLOC:
    case BLOCK_PREALLOCATION_FULL:
        if (prealloc == BLOCK_PREALLOCATION_METADATA || qcow2_has_data_file(s)) {
            uint64_t end = 0;
            node->size = size;
            if (qcow2_preallocate(node, old_length, size - old_length, &end, errp) < 0) {
                node->size = old_length;
                error_prepend(errp, "Allocating clusters failed: ");
                return -1;
            }
            int64_t file_length = block_node_length(s->data_node);
            if (end > (uint64_t)file_length) {
                block_preallocation mode = prealloc == BLOCK_PREALLOCATION_METADATA ? BLOCK_PREALLOCATION_OFF : prealloc;
                if (block_node_truncate(s->data_node, end, false, mode, false, errp) < 0) {
                    node->size = old_length;
                    return -1;
                }
            }
        } else if (qcow2_grow_preallocated(node, old_length, size, prealloc, errp) < 0) {
            return -1;
        }
        break;
    default:
        return error_set(errp, "Unsupported preallocation mode '%s'", block_preallocation_name(prealloc));
    }
    node->size = size;
    qcow2_bitmaps_resize(node, size);
    if (qcow2_size_write(node, size, errp) < 0)
        return -1;
    s->l1_vm_state_index = new_l1_size;
    qcow2_slice_refresh(node);
    return 0;
}

/* Records a new backing file name and format in the header. */
int qcow2_change_backing_file(block_node *node, const char *backing_file, const char *backing_format, error **errp)
{
    qcow2_state *s = node->state;
    if (backing_file && qcow2_data_file_is_raw(s))
        return error_set(errp, "Invalid argument");
    if (backing_file && strlen(backing_file) > QCOW2_MAX_BACKING_NAME)
        return error_set(errp, "Invalid argument");
    free(s->backing_file);
    free(s->backing_format);
    s->backing_file = backing_file ? memory_strdup(backing_file) : NULL;
    s->backing_format = backing_format ? memory_strdup(backing_format) : NULL;
    free(node->backing_file);
    free(node->backing_format);
    node->backing_file = backing_file ? memory_strdup(backing_file) : NULL;
    node->backing_format = backing_format ? memory_strdup(backing_format) : NULL;
    return qcow2_header_update(node, errp);
}

/* qemu's make_completely_empty: a fresh header, refcount table, one refcount block and a zeroed L1. */
static int qcow2_make_completely_empty(block_node *node, error **errp)
{
    qcow2_state *s = node->state;
    uint64_t per_cluster = s->cluster_size / 8;
    uint64_t l1_clusters = (s->l1_size + per_cluster - 1) / per_cluster;
    format_cache_clear(&s->l2_cache);
    format_cache_clear(&s->refblock_cache);
    if (qcow2_mark_dirty(node, true, errp) < 0)
        return -1;
    if (l1_clusters && format_file_write_zeroes(node->file, s->l1_table_offset, l1_clusters * s->cluster_size, errp) < 0)
        return -1;
    memset(s->l1_table, 0, s->l1_size * 8);
    if (format_file_write_zeroes(node->file, s->cluster_size, (2 + l1_clusters) * s->cluster_size, errp) < 0)
        return -1;
    uint8_t pointers[20];
    endian_store_be64(pointers, 3 * s->cluster_size);
    endian_store_be64(pointers + 8, s->cluster_size);
    endian_store_be32(pointers + 16, 1);
    if (format_file_write(node->file, 40, sizeof(pointers), pointers, errp) < 0)
        return -1;
    s->l1_table_offset = 3 * s->cluster_size;
    free(s->refcount_table);
    s->refcount_table_entries = per_cluster;
    s->refcount_table = memory_alloc_array(per_cluster, 8);
    s->refcount_table_offset = s->cluster_size;
    uint8_t entry[8];
    endian_store_be64(entry, 2 * s->cluster_size);
    if (format_file_write(node->file, s->cluster_size, 8, entry, errp) < 0)
        return -1;
    s->refcount_table[0] = 2 * s->cluster_size;
    s->free_cluster_index = 0;
    s->free_byte_offset = 0;
    int64_t first = qcow2_clusters_alloc(node, 3 * s->cluster_size + s->l1_size * 8, errp);
    if (first < 0)
        return -1;
    if (qcow2_mark_dirty(node, false, errp) < 0)
        return -1;
    return block_node_truncate(node->file, (3 + l1_clusters) * s->cluster_size, false, BLOCK_PREALLOCATION_OFF, true,
                               errp);
}

/* Empties the image (commit without -d). */
int qcow2_make_empty(block_node *node, error **errp)
{
    qcow2_state *s = node->state;
    qcow2_inflated_forget(s);
    uint64_t per_cluster = s->cluster_size / 8;
    uint64_t l1_clusters = (s->l1_size + per_cluster - 1) / per_cluster;
    if (s->version >= 3 && s->nb_snapshots == 0 && !(s->has_bitmaps_extension && s->bitmap_count) &&
        3 + l1_clusters <= s->refcount_block_entries && s->crypt_method != 2 && !qcow2_has_data_file(s))
        return qcow2_make_completely_empty(node, errp);
    uint64_t step = 0x7fffffffull & ~(s->cluster_size - 1);
    for (uint64_t offset = 0; offset < node->size; offset += step) {
        uint64_t n = node->size - offset < step ? node->size - offset : step;
        if (qcow2_cluster_discard(node, offset, n, true, errp) < 0)
            return -1;
    }
    return 0;
}

/* qemu's qcow2_expand_zero_clusters for the active L1 table (zero clusters become data or holes). */
static int qcow2_zero_clusters_expand(block_node *node, error **errp)
{
    qcow2_state *s = node->state;
    for (uint64_t i = 0; i < s->l1_size; i++) {
        uint64_t l2_offset = s->l1_table[i] & QCOW2_L1_OFFSET_MASK;
        if (l2_offset == 0)
            continue;
        uint8_t *table = format_cache_get(&s->l2_cache, l2_offset, errp);
        if (table == NULL)
            return -1;
        for (uint64_t j = 0; j < s->l2_entries; j++) {
            uint64_t entry = qcow2_l2_entry_get(s, table, j);
            qcow2_type type = qcow2_cluster_type(s, entry);
            if (type != QCOW2_TYPE_ZERO_PLAIN && type != QCOW2_TYPE_ZERO_ALLOC)
                continue;
            uint64_t host;
            if (type == QCOW2_TYPE_ZERO_PLAIN) {
                if (node->backing == NULL) {
                    if (qcow2_l2_entry_set(node, table, l2_offset, j, 0, 0, errp) < 0)
                        return -1;
                    continue;
                }
                int64_t allocated = qcow2_clusters_alloc(node, s->cluster_size, errp);
                if (allocated < 0)
                    return -1;
                host = (uint64_t)allocated;
                table = format_cache_get(&s->l2_cache, l2_offset, errp);
                if (table == NULL)
                    return -1;
            } else {
                host = entry & QCOW2_L2_OFFSET_MASK;
            }
            if (format_file_write_zeroes(s->data_node, host, s->cluster_size, errp) < 0)
                return -1;
            if (qcow2_l2_entry_set(node, table, l2_offset, j, host | QCOW2_OFLAG_COPIED, 0, errp) < 0)
                return -1;
        }
    }
    return 0;
}

/* Whether any compressed cluster exists in the active L1 table. */
static int qcow2_has_compressed_clusters(block_node *node, error **errp)
{
    qcow2_state *s = node->state;
    for (uint64_t i = 0; i < s->l1_size; i++) {
        uint64_t l2_offset = s->l1_table[i] & QCOW2_L1_OFFSET_MASK;
        if (l2_offset == 0)
            continue;
        uint8_t *table = format_cache_get(&s->l2_cache, l2_offset, errp);
        if (table == NULL)
            return -1;
        for (uint64_t j = 0; j < s->l2_entries; j++)
            if (qcow2_l2_entry_get(s, table, j) & QCOW2_OFLAG_COMPRESSED)
                return 1;
    }
    return 0;
}

/* Downgrade to compat 0.10 (qemu's qcow2_downgrade). */
static int qcow2_downgrade(block_node *node, error **errp)
{
    qcow2_state *s = node->state;
    if (s->refcount_order != 4)
        return error_set(errp, "compat=0.10 requires refcount_bits=16");
    if (qcow2_has_data_file(s))
        return error_set(errp, "Cannot downgrade an image with a data file");
    if (s->nb_snapshots) {
        qcow2_snapshot *table;
        size_t count;
        uint64_t size;
        bool blocked = false;
        if (qcow2_snapshots_read(node, &table, &count, &size, errp) < 0)
            return -1;
        for (size_t i = 0; i < count; i++)
            blocked = blocked || table[i].vm_state_size > 0xffffffffu || table[i].disk_size != node->size;
        qcow2_snapshots_free(table, count);
        if (blocked)
            return error_set(errp, "Internal snapshots prevent downgrade of image");
    }
    if (s->incompatible_features & QCOW2_INCOMPAT_DIRTY) {
        if (qcow2_mark_dirty(node, false, errp) < 0)
            return -1;
    }
    uint64_t blocking = s->incompatible_features & ~QCOW2_INCOMPAT_COMPRESSION;
    if (blocking)
        return error_set(errp, "Cannot downgrade an image with incompatible features 0x%llx set",
                         (unsigned long long)blocking);
    s->compatible_features = 0;
    s->autoclear_features = 0;
    if (qcow2_zero_clusters_expand(node, errp) < 0) {
        error_prepend(errp, "Failed to turn zero into data clusters: ");
        return -1;
    }
    if (s->incompatible_features & QCOW2_INCOMPAT_COMPRESSION) {
        int found = qcow2_has_compressed_clusters(node, NULL);
        if (found < 0)
            return error_set(errp, "Failed to check block status");
        if (found)
            return error_set(errp, "Cannot downgrade an image with zstd compression type and existing compressed "
                                   "clusters");
        s->incompatible_features &= ~QCOW2_INCOMPAT_COMPRESSION;
        s->compression_type = QCOW2_COMPRESSION_ZLIB;
    }
    s->version = 2;
    if (qcow2_header_update(node, errp) < 0) {
        s->version = 3;
        error_prepend(errp, "Failed to update the image header: ");
        return -1;
    }
    return 0;
}

/* Writes one refcount of the given width into a refcount block (the image's own width may differ). */
static void qcow2_refcount_width_set(int order, uint8_t *block, uint64_t index, uint64_t value)
{
    qcow2_state shape;
    memset(&shape, 0, sizeof(shape));
    shape.refcount_order = order;
    qcow2_refcount_array_set(&shape, block, index, value);
}

/* What a walk over the old refcount structures does with each completed new refcount block. */
typedef enum qcow2_walk_operation {
    QCOW2_WALK_ALLOCATE, /* allocate non-empty blocks (qemu's alloc_refblock) */
    QCOW2_WALK_WRITE,    /* write them (qemu's flush_refblock) */
} qcow2_walk_operation;

/* Hands a completed new refcount block to the walk's operation. */
static int qcow2_walk_block_done(block_node *node, qcow2_walk_operation operation, uint64_t **table,
                                 uint64_t index, uint64_t *table_size, const uint8_t *block, bool empty,
                                 bool *allocated, error **errp)
{
    qcow2_state *s = node->state;
    if (operation == QCOW2_WALK_ALLOCATE) {
        if (!empty && index >= *table_size) {
            uint64_t per_cluster = s->cluster_size / 8;
            uint64_t size = (index + 1 + per_cluster - 1) / per_cluster * per_cluster;
            if (size > QCOW2_MAX_REFTABLE_BYTES / 8)
                return error_set(errp, "This operation would make the refcount table grow beyond the maximum size "
                                       "supported by QEMU, aborting");
            *table = memory_realloc(*table, size * 8);
            memset(*table + *table_size, 0, (size - *table_size) * 8);
            *table_size = size;
        }
        if (!empty && !(*table)[index]) {
            int64_t offset = qcow2_clusters_alloc(node, s->cluster_size, errp);
            if (offset < 0) {
                error_prepend(errp, "Failed to allocate refblock: ");
                return -1;
            }
            (*table)[index] = (uint64_t)offset;
            *allocated = true;
        }
        return 0;
    }
    if (index < *table_size && (*table)[index]) {
        if (format_file_write(node->file, (*table)[index], s->cluster_size, block, errp) < 0) {
            error_prepend(errp, "Failed to write refblock: ");
            return -1;
        }
    }
    return 0;
}

/* qemu's walk_over_reftable: re-expresses every old refcount in blocks of the new width. */
static int qcow2_walk_refcounts(block_node *node, uint64_t **table, uint64_t *table_size, uint8_t *block,
                                uint64_t block_entries, int new_order, qcow2_walk_operation operation,
                                bool *allocated, error **errp)
{
    qcow2_state *s = node->state;
    uint64_t new_bits = 1ull << new_order;
    uint64_t index = 0, block_index = 0;
    bool empty = true;
    if (block)
        memset(block, 0, s->cluster_size);
    for (uint64_t t = 0; t < s->refcount_table_entries; t++) {
        uint64_t offset = s->refcount_table[t] & QCOW2_REFTABLE_OFFSET_MASK;
        if (offset && qcow2_offset_into_cluster(s, offset)) {
            qcow2_corruption_signal(node, true, NULL, "Refblock offset %#llx unaligned (reftable index: %#llx)",
                                    (unsigned long long)offset, (unsigned long long)t);
            return error_set(errp, "Image is corrupt (unaligned refblock offset)");
        }
        for (uint64_t i = 0; i < s->refcount_block_entries; i++) {
            if (block_index >= block_entries) {
                if (qcow2_walk_block_done(node, operation, table, index, table_size, block, empty, allocated,
                                          errp) < 0)
                    return -1;
                index++;
                block_index = 0;
                empty = true;
                if (block)
                    memset(block, 0, s->cluster_size);
            }
            uint64_t refcount = 0;
            if (offset) {
                uint8_t *old = format_cache_get(&s->refblock_cache, offset, errp);
                if (old == NULL) {
                    error_prepend(errp, "Failed to retrieve refblock: ");
                    return -1;
                }
                refcount = qcow2_refcount_array_get(s, old, i);
            }
            if (new_bits < 64 && (refcount >> new_bits))
                return error_set(errp, "Cannot decrease refcount entry width to %i bits: Cluster at offset %#llx has "
                                       "a refcount of %llu",
                                 (int)new_bits,
                                 (unsigned long long)(((t << s->refcount_block_bits) + i) << s->cluster_bits),
                                 (unsigned long long)refcount);
            if (block)
                qcow2_refcount_width_set(new_order, block, block_index, refcount);
            block_index++;
            empty = empty && refcount == 0;
        }
    }
    if (block_index > 0) {
        if (qcow2_walk_block_done(node, operation, table, index, table_size, block, empty, allocated, errp) < 0)
            return -1;
    }
    return 0;
}

/* Rewrites every refcount structure with a new width (qemu's qcow2_change_refcount_order). */
static int qcow2_refcount_order_change(block_node *node, int order, error **errp)
{
    qcow2_state *s = node->state;
    uint64_t block_bits = order >= 3 ? s->cluster_bits - ((uint32_t)order - 3) : s->cluster_bits + (3 - (uint32_t)order);
    uint64_t block_entries = 1ull << block_bits;
    uint8_t *block = memory_alloc_zero(s->cluster_size);
    uint64_t *table = NULL, table_size = 0;
    int64_t table_offset = 0;
    uint64_t allocated_size = 0;
    bool allocated;
    int ret = -1;
    do {
        allocated = false;
        if (qcow2_walk_refcounts(node, &table, &table_size, NULL, block_entries, order, QCOW2_WALK_ALLOCATE,
                                 &allocated, errp) < 0)
            goto done;
        if (allocated) {
            if (table_offset)
                qcow2_clusters_free(node, (uint64_t)table_offset, allocated_size * 8, NULL);
            table_offset = qcow2_clusters_alloc(node, table_size * 8, errp);
            if (table_offset < 0) {
                error_prepend(errp, "Failed to allocate the new reftable: ");
                table_offset = 0;
                goto done;
            }
            allocated_size = table_size;
        }
    } while (allocated);
    if (qcow2_walk_refcounts(node, &table, &table_size, block, block_entries, order, QCOW2_WALK_WRITE, &allocated,
                             errp) < 0)
        goto done;
    uint8_t *raw = memory_alloc_zero(table_size * 8 + 1);
    for (uint64_t i = 0; i < table_size; i++)
        endian_store_be64(raw + 8 * i, table[i]);
    int w = format_file_write(node->file, (uint64_t)table_offset, table_size * 8, raw, errp);
    free(raw);
    if (w < 0) {
        error_prepend(errp, "Failed to write the new reftable: ");
        goto done;
    }
    int old_order = s->refcount_order;
    uint64_t old_entries = s->refcount_table_entries, old_offset = s->refcount_table_offset;
    s->refcount_order = order;
    s->refcount_table_entries = table_size;
    s->refcount_table_offset = (uint64_t)table_offset;
    if (qcow2_header_update(node, errp) < 0) {
        s->refcount_order = old_order;
        s->refcount_table_entries = old_entries;
        s->refcount_table_offset = old_offset;
        error_prepend(errp, "Failed to update the qcow2 header: ");
        goto done;
    }
    uint64_t *old_table = s->refcount_table;
    s->refcount_table = table;
    s->refcount_bits = 1ull << order;
    s->refcount_max = s->refcount_bits == 64 ? UINT64_MAX : (1ull << s->refcount_bits) - 1;
    s->refcount_block_bits = (uint32_t)block_bits;
    s->refcount_block_entries = block_entries;
    format_cache_clear(&s->refblock_cache);
    table = old_table;
    table_size = old_entries;
    table_offset = (int64_t)old_offset;
    ret = 0;
done:
    if (table) {
        for (uint64_t i = 0; i < table_size; i++) {
            uint64_t offset = table[i] & QCOW2_REFTABLE_OFFSET_MASK;
            if (offset)
                qcow2_clusters_free(node, offset, s->cluster_size, NULL);
        }
        free(table);
        if (table_offset > 0)
            qcow2_clusters_free(node, (uint64_t)table_offset, table_size * 8, NULL);
    }
    free(block);
    return ret;
}

/* Amends the image's options (qemu's qcow2_amend_options). */
int qcow2_amend(block_node *node, const option_list *options, bool force, error **errp)
{
    qcow2_state *s = node->state;
    qcow2_inflated_forget(s);
    bool encryption_update = false;
    int old_version = s->version, new_version = s->version;
    uint64_t new_size = 0;
    const char *backing_file = NULL, *backing_format = NULL, *data_file = NULL;
    bool lazy = (s->compatible_features & QCOW2_COMPAT_LAZY_REFCOUNTS) != 0;
    bool data_file_raw = qcow2_data_file_is_raw(s);
    uint64_t refcount_bits = s->refcount_bits;
    for (const option_desc *desc = qcow2_amend_options; desc->name; desc++) {
        const char *value = option_list_get(options, desc->name);
        if (value == NULL)
            continue;
        if (strcmp(desc->name, "compat") == 0) {
            if (strcmp(value, "0.10") == 0 || strcmp(value, "v2") == 0)
                new_version = 2;
            else if (strcmp(value, "1.1") == 0 || strcmp(value, "v3") == 0)
                new_version = 3;
            else
                return error_set(errp, "Unknown compatibility level %s", value);
        } else if (strcmp(desc->name, "size") == 0) {
            if (option_value_parse_size("size", value, &new_size, errp) < 0)
                return -1;
        } else if (strcmp(desc->name, "backing_file") == 0) {
            backing_file = value;
        } else if (strcmp(desc->name, "backing_fmt") == 0) {
            backing_format = value;
        } else if (strncmp(desc->name, "encrypt.", 8) == 0) {
            if (s->crypt == NULL || (s->crypt_method == QCOW2_CRYPT_LUKS && !s->crypt->unlocked))
                return error_set(errp, "Can't amend encryption options - encryption not present");
            if (s->crypt_method != QCOW2_CRYPT_LUKS)
                return error_set(errp, "Only LUKS encryption options can be amended");
            encryption_update = true;
        } else if (strcmp(desc->name, "lazy_refcounts") == 0) {
            if (option_value_parse_bool("lazy_refcounts", value, &lazy, errp) < 0)
                return -1;
        } else if (strcmp(desc->name, "refcount_bits") == 0) {
            if (option_value_parse_number("refcount_bits", value, &refcount_bits, errp) < 0)
                return -1;
            if (refcount_bits == 0 || refcount_bits > 64 || (refcount_bits & (refcount_bits - 1)))
                return error_set(errp, "Refcount width must be a power of two and may not exceed 64 bits");
        } else if (strcmp(desc->name, "data_file") == 0) {
            data_file = value;
            if (!qcow2_has_data_file(s))
                return error_set(errp, "data-file can only be set for images that use an external data file");
        } else if (strcmp(desc->name, "data_file_raw") == 0) {
            if (option_value_parse_bool("data_file_raw", value, &data_file_raw, errp) < 0)
                return -1;
            if (data_file_raw && !qcow2_data_file_is_raw(s))
                return error_set(errp, "data-file-raw cannot be set on existing images");
        }
    }
    if (encryption_update && qcow2_crypt_amend(node, options, force, errp) < 0)
        return -1;
    if (new_version > old_version && s->nb_snapshots) {
        qcow2_snapshot *table;
        size_t count;
        uint64_t size;
        bool update = false;
        if (qcow2_snapshots_read(node, &table, &count, &size, errp) < 0)
            return -1;
        for (size_t i = 0; i < count; i++)
            update = update || table[i].extra_data_size < 16;
        int r = update ? qcow2_snapshots_write(node, table, count, size, errp) : 0;
        qcow2_snapshots_free(table, count);
        if (r < 0) {
            error_prepend(errp, "Failed to update the snapshot table: ");
            return -1;
        }
    }
    if (new_version > old_version) {
        s->version = new_version;
        if (qcow2_header_update(node, errp) < 0) {
            s->version = old_version;
            error_prepend(errp, "Failed to update the image header: ");
            return -1;
        }
    }
    if (refcount_bits != s->refcount_bits) {
        if (new_version < 3 && refcount_bits != 16)
            return error_set(errp, "Refcount widths other than 16 bits require compatibility level 1.1 or above (use "
                                   "compat=1.1 or greater)");
        int order = 0;
        while ((1ull << order) < refcount_bits)
            order++;
        if (qcow2_refcount_order_change(node, order, errp) < 0)
            return -1;
    }
    if (data_file_raw)
        s->autoclear_features |= QCOW2_AUTOCLEAR_DATA_FILE_RAW;
    else
        s->autoclear_features &= ~QCOW2_AUTOCLEAR_DATA_FILE_RAW;
    if (data_file) {
        free(s->data_file_name);
        s->data_file_name = data_file[0] ? memory_strdup(data_file) : NULL;
    }
    if (qcow2_header_update(node, errp) < 0) {
        error_prepend(errp, "Failed to update the image header: ");
        return -1;
    }
    if (backing_file || backing_format) {
        bool same_file = (backing_file == NULL && s->backing_file == NULL) ||
                         (backing_file && s->backing_file && strcmp(backing_file, s->backing_file) == 0);
        bool same_format = (backing_format == NULL && s->backing_format == NULL) ||
                           (backing_format && s->backing_format && strcmp(backing_format, s->backing_format) == 0);
        if (!same_file || !same_format)
            return error_set(errp, "Cannot amend the backing file\nYou can use 'qemu-img rebase' instead.");
    }
    bool current_lazy = (s->compatible_features & QCOW2_COMPAT_LAZY_REFCOUNTS) != 0;
    if (current_lazy != lazy) {
        if (lazy && new_version < 3)
            return error_set(errp, "Lazy refcounts only supported with compatibility level 1.1 and above (use "
                                   "compat=1.1 or greater)");
        if (!lazy && qcow2_mark_dirty(node, false, errp) < 0)
            return -1;
        if (lazy)
            s->compatible_features |= QCOW2_COMPAT_LAZY_REFCOUNTS;
        else
            s->compatible_features &= ~QCOW2_COMPAT_LAZY_REFCOUNTS;
        if (qcow2_header_update(node, errp) < 0) {
            error_prepend(errp, "Failed to update the image header: ");
            return -1;
        }
    }
    if (new_size && qcow2_truncate(node, new_size, true, BLOCK_PREALLOCATION_OFF, true, errp) < 0)
        return -1;
    if (new_version < old_version && qcow2_downgrade(node, errp) < 0)
        return -1;
    return 0;
}
