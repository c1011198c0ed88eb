/* qcow2_check.c — qcow2 consistency check as qemu performs it: recomputes every cluster's reference count
 * from the metadata (in the same walk order, with the same messages), compares it with the refcount blocks,
 * checks the COPIED flags, counts allocation statistics and repairs leaks and simple errors
 * (spec/qcow2.md §Invariants). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "qcow2.h"
#include "../common/format_refmap.h"
#include "../../util/endian.h"
#include "../../util/memory.h"
#include "../../util/report.h"

#define QCOW2_L1_RESERVED_MASK 0x7f000000000001ffull
#define QCOW2_L2_STD_RESERVED_MASK 0x3f000000000001feull
#define QCOW2_REFTABLE_RESERVED_MASK 0x1ffull

/* The recomputed ("in-memory") reference counts. */
typedef struct qcow2_refcount_map {
    format_refmap refs;   /* the counts per host cluster */
    uint64_t file_length; /* the image file length rounded up to 512, as qemu sees it */
    int fix;              /* CHECK_FIX_* of the running check (L2 entries fixed during the walk) */
} qcow2_refcount_map;

/* qemu's qcow2_inc_refcounts_imrt: one more reference to each cluster of [offset, offset+size). */
static void qcow2_map_add(const qcow2_state *s, qcow2_refcount_map *map, check_result *result, uint64_t offset,
                          uint64_t size)
{
    if ((int64_t)size <= 0) /* qemu's sizes are signed: a "negative" one counts nothing */
        return;
    if (offset + size < offset || offset + size >= map->file_length + s->cluster_size) {
        report_text("ERROR: counting reference for region exceeding the end of the file by one cluster or more: "
                    "offset 0x%llx size 0x%llx\n",
                    (unsigned long long)offset, (unsigned long long)size);
        result->corruptions++;
        return;
    }
    uint64_t first = offset >> s->cluster_bits;
    uint64_t last = (offset + size - 1) >> s->cluster_bits;
    for (uint64_t i = first; i <= last; i++) {
        if (!format_refmap_increment(&map->refs, i, s->refcount_max, NULL)) {
            report_text("ERROR: overflow cluster offset=0x%llx\n", (unsigned long long)(i << s->cluster_bits));
            report_text("Use qemu-img amend to increase the refcount entry width or qemu-img convert to create a "
                        "clean copy if the image cannot be opened for writing\n");
            result->corruptions++;
            continue;
        }
    }
}

/* qemu's fix_l2_entry_by_zero: turns entry index of the L2 table at l2_offset (table: its bytes) into a zero
 * cluster that references no host cluster and writes it; 0 when fixed (one corruption moves to the fixed
 * count), -1 with a check error otherwise. */
static int qcow2_check_fix_l2_zero(block_node *node, check_result *result, uint8_t *table, uint64_t l2_offset,
                                   uint64_t index)
{
    qcow2_state *s = node->state;
    uint8_t *slot = table + index * s->l2_entry_size;
    if (s->extended_l2) {
        uint64_t bitmap = endian_load_be64(slot + 8);
        bitmap |= bitmap << 32;
        bitmap &= QCOW2_BITMAP_ALL_ZERO;
        endian_store_be64(slot, 0);
        endian_store_be64(slot + 8, bitmap);
    } else {
        endian_store_be64(slot, QCOW2_OFLAG_ZERO);
    }
    format_cache_drop(&s->l2_cache, l2_offset);
    error *err = NULL;
    if (format_file_write(node->file, l2_offset + index * s->l2_entry_size, s->l2_entry_size, slot, &err) < 0) {
        report_text("ERROR: Failed to update L2 table entry: %s\n", err ? error_message(err) : "I/O error");
        error_free(err);
        result->check_errors++;
        return -1;
    }
    result->corruptions--;
    result->corruptions_fixed++;
    return 0;
}

/* qemu's check_refcounts_l2: references from one L2 table and (for the active one) statistics. */
static int qcow2_check_l2(block_node *node, qcow2_refcount_map *map, check_result *result, uint64_t l2_offset,
                          bool active)
{
    qcow2_state *s = node->state;
    uint64_t next_contiguous = 0;
    uint8_t *table = memory_alloc_zero(s->cluster_size);
    int ret = -1;
    if (format_file_read(node->file, l2_offset, s->cluster_size, table, NULL) < 0) {
        report_text("ERROR: I/O error in check_refcounts_l2\n");
        result->check_errors++;
        goto out;
    }
    for (uint64_t i = 0; i < s->l2_entries; i++) {
        uint64_t entry = qcow2_l2_entry_get(s, table, i);
        uint64_t bitmap = qcow2_l2_bitmap_get(s, table, i);
        bool compressed = (entry & QCOW2_OFLAG_COMPRESSED) != 0;
        if (!compressed && (entry & QCOW2_L2_STD_RESERVED_MASK)) {
            report_text("ERROR found l2 entry with reserved bits set: %llx\n", (unsigned long long)entry);
            result->corruptions++;
        }
        if (compressed) {
            if (entry & QCOW2_OFLAG_COPIED) {
                report_text("ERROR: coffset=0x%llx: copied flag must never be set for compressed clusters\n",
                            (unsigned long long)(entry & s->cluster_offset_mask));
                entry &= ~QCOW2_OFLAG_COPIED;
                result->corruptions++;
            }
            if (qcow2_has_data_file(s)) {
                report_text("ERROR compressed cluster %llu with data file, entry=0x%llx\n", (unsigned long long)i,
                            (unsigned long long)entry);
                result->corruptions++;
                continue;
            }
            if (bitmap) {
                report_text("ERROR compressed cluster %llu with non-zero subcluster allocation bitmap, "
                            "entry=0x%llx\n",
                            (unsigned long long)i, (unsigned long long)entry);
                result->corruptions++;
                continue;
            }
            uint64_t host, size;
            qcow2_parse_compressed_entry(s, entry, &host, &size);
            qcow2_map_add(s, map, result, host, size);
            if (active) {
                result->allocated_clusters++;
                result->compressed_clusters++;
                result->fragmented_clusters++;
            }
            continue;
        }
        qcow2_type type = qcow2_entry_type(s, entry, 0, 0);
        bool zero_flag = !s->extended_l2 && (entry & QCOW2_OFLAG_ZERO);
        uint64_t host = entry & QCOW2_L2_OFFSET_MASK;
        bool allocated = host != 0 || (qcow2_has_data_file(s) && (entry & QCOW2_OFLAG_COPIED));
        if (!allocated) {
            if (!zero_flag && (bitmap & QCOW2_BITMAP_ALL_ALLOC)) {
                result->corruptions++;
                report_text("ERROR: Unallocated cluster has non-zero subcluster allocation bitmap\n");
            }
            continue;
        }
        (void)type;
        if ((bitmap >> 32) & bitmap) {
            result->corruptions++;
            report_text("ERROR offset=%llx: Allocated cluster has corrupted subcluster allocation bitmap\n",
                        (unsigned long long)host);
        }
        if (qcow2_offset_into_cluster(s, host)) {
            bool contains_data = s->extended_l2 ? (bitmap & QCOW2_BITMAP_ALL_ALLOC) != 0 : !zero_flag;
            result->corruptions++;
            if (!contains_data) {
                bool fixing = (map->fix & CHECK_FIX_ERRORS) != 0;
                report_text("%s offset=%llx: Preallocated cluster is not properly aligned; L2 entry corrupted.\n",
                            fixing ? "Repairing" : "ERROR", (unsigned long long)host);
                if (fixing && qcow2_check_fix_l2_zero(node, result, table, l2_offset, i) == 0)
                    continue;
            } else
                report_text("ERROR offset=%llx: Data cluster is not properly aligned; L2 entry corrupted.\n",
                            (unsigned long long)host);
        }
        if (active)
            format_check_count_allocated(result, &next_contiguous, host, s->cluster_size);
        if (!qcow2_has_data_file(s))
            qcow2_map_add(s, map, result, host, s->cluster_size);
    }
    ret = 0;
out:
    free(table);
    return ret;
}

/* qemu's check_refcounts_l1: the L1 table, its L2 tables and their clusters. */
static int qcow2_check_l1(block_node *node, qcow2_refcount_map *map, check_result *result, uint64_t l1_offset,
                          uint64_t l1_size, bool active)
{
    qcow2_state *s = node->state;
    if (l1_size == 0)
        return 0;
    qcow2_map_add(s, map, result, l1_offset, l1_size * 8);
    uint8_t *raw = memory_alloc_zero(l1_size * 8);
    int ret = -1;
    if (format_file_read(node->file, l1_offset, l1_size * 8, raw, NULL) < 0) {
        report_text("ERROR: I/O error in check_refcounts_l1\n");
        result->check_errors++;
        goto out;
    }
    for (uint64_t i = 0; i < l1_size; i++) {
        uint64_t entry = endian_load_be64(raw + 8 * i);
        if (entry == 0)
            continue;
        if (entry & QCOW2_L1_RESERVED_MASK) {
            report_text("ERROR found L1 entry with reserved bits set: %llx\n", (unsigned long long)entry);
            result->corruptions++;
        }
        uint64_t l2 = entry & QCOW2_L1_OFFSET_MASK;
        qcow2_map_add(s, map, result, l2, s->cluster_size);
        if (qcow2_offset_into_cluster(s, l2)) {
            report_text("ERROR l2_offset=%llx: Table is not cluster aligned; L1 entry corrupted\n",
                        (unsigned long long)l2);
            result->corruptions++;
        }
        if (qcow2_check_l2(node, map, result, l2, active) < 0)
            goto out;
    }
    ret = 0;
out:
    free(raw);
    return ret;
}

/* Walks the snapshot table: each snapshot's L1/L2 tables, then the table itself. */
static int qcow2_check_snapshots(block_node *node, qcow2_refcount_map *map, check_result *result)
{
    qcow2_state *s = node->state;
    qcow2_snapshot *table;
    size_t count;
    uint64_t size;
    if (s->nb_snapshots == 0)
        return 0;
    if (qcow2_has_data_file(s)) {
        report_text("ERROR %u snapshots in image with data file\n", s->nb_snapshots);
        result->corruptions++;
    }
    if (qcow2_snapshots_read(node, &table, &count, &size, NULL) < 0) {
        result->check_errors++;
        return 0;
    }
    for (size_t i = 0; i < count; i++) {
        const qcow2_snapshot *sn = &table[i];
        if (qcow2_offset_into_cluster(s, sn->l1_table_offset)) {
            report_text("ERROR snapshot %s (%s) l1_offset=%#llx: L1 table is not cluster aligned; snapshot table "
                        "entry corrupted\n",
                        sn->id, sn->name, (unsigned long long)sn->l1_table_offset);
            result->corruptions++;
        } else if (sn->l1_size > QCOW2_MAX_L1_BYTES / 8) {
            report_text("ERROR snapshot %s (%s) l1_size=%#x: L1 table is too large; snapshot table entry corrupted\n",
                        sn->id, sn->name, sn->l1_size);
            result->corruptions++;
        } else if (qcow2_check_l1(node, map, result, sn->l1_table_offset, sn->l1_size, false) < 0) {
            qcow2_snapshots_free(table, count);
            return -1;
        }
    }
    qcow2_snapshots_free(table, count);
    qcow2_map_add(s, map, result, s->snapshots_offset, size);
    return 0;
}

/* References of the bitmap directory, the bitmap tables and their data clusters. */
static void qcow2_check_bitmaps(block_node *node, qcow2_refcount_map *map, check_result *result)
{
    qcow2_state *s = node->state;
    if (!s->has_bitmaps_extension || s->bitmap_count == 0 || s->bitmap_directory_size > (64u << 20))
        return;
    uint8_t *dir = memory_alloc_zero(s->bitmap_directory_size + 1);
    if (format_file_read(node->file, s->bitmap_directory_offset, s->bitmap_directory_size, dir, NULL) < 0) {
        free(dir);
        return;
    }
    qcow2_map_add(s, map, result, s->bitmap_directory_offset, s->bitmap_directory_size);
    uint64_t pos = 0;
    for (uint32_t i = 0; i < s->bitmap_count && pos + 24 <= s->bitmap_directory_size; i++) {
        uint64_t table_offset = endian_load_be64(dir + pos);
        uint32_t table_size = endian_load_be32(dir + pos + 8);
        uint16_t name_size = endian_load_be16(dir + pos + 18);
        uint32_t extra = endian_load_be32(dir + pos + 20);
        if (table_size <= (1u << 24) && (uint64_t)table_size * 8 <= map->file_length) {
            uint8_t *table = memory_alloc_zero((uint64_t)table_size * 8 + 1);
            if (format_file_read(node->file, table_offset, (uint64_t)table_size * 8, table, NULL) == 0) {
                qcow2_map_add(s, map, result, table_offset, (uint64_t)table_size * 8);
                for (uint32_t j = 0; j < table_size; j++) {
                    uint64_t data = endian_load_be64(table + 8 * j) & QCOW2_L2_OFFSET_MASK;
                    if (data)
                        qcow2_map_add(s, map, result, data, s->cluster_size);
                }
            }
            free(table);
        }
        pos += (24 + (uint64_t)extra + name_size + 7) & ~7ull;
    }
    free(dir);
}

/* qemu's check_refblocks: each refcount block must be aligned, inside the file and counted once. */
static int qcow2_check_refblocks(block_node *node, qcow2_refcount_map *map, check_result *result, int fix,
                                 bool *rebuild)
{
    qcow2_state *s = node->state;
    for (uint64_t i = 0; i < s->refcount_table_entries; i++) {
        uint64_t offset = s->refcount_table[i] & QCOW2_REFTABLE_OFFSET_MASK;
        uint64_t cluster = offset >> s->cluster_bits;
        if (s->refcount_table[i] & QCOW2_REFTABLE_RESERVED_MASK) {
            report_text("ERROR refcount table entry %llu has reserved bits set\n", (unsigned long long)i);
            result->corruptions++;
            *rebuild = true;
            continue;
        }
        if (qcow2_offset_into_cluster(s, offset)) {
            report_text("ERROR refcount block %llu is not cluster aligned; refcount table entry corrupted\n",
                        (unsigned long long)i);
            result->corruptions++;
            *rebuild = true;
            continue;
        }
        if (cluster >= format_refmap_clusters(&map->refs)) {
            result->corruptions++;
            report_text("%s refcount block %llu is outside image\n", (fix & CHECK_FIX_ERRORS) ? "Repairing" : "ERROR",
                        (unsigned long long)i);
            if (fix & CHECK_FIX_ERRORS) {
                error *local = NULL;
                if (offset > (uint64_t)INT64_MAX - s->cluster_size) {
                    *rebuild = true;
                    report_text("ERROR could not resize image: Invalid argument\n");
                    continue;
                }
                if (block_node_truncate(node->file, offset + s->cluster_size, false, BLOCK_PREALLOCATION_OFF, false,
                                        &local) < 0) {
                    const char *message = error_message(local);
                    const char *reason = strrchr(message, ':');
                    *rebuild = true;
                    report_text("qemu-img: %s\n", message);
                    report_text("ERROR could not resize image: %s\n", reason ? reason + 2 : message);
                    error_free(local);
                    continue;
                }
                int64_t length = block_node_length(node->file);
                map->file_length = ((uint64_t)length + 511) & ~511ull;
                format_refmap_grow(&map->refs, qcow2_size_to_clusters(s, map->file_length));
                result->corruptions--;
                result->corruptions_fixed++;
                qcow2_map_add(s, map, result, offset, s->cluster_size);
            }
            continue;
        }
        if (offset != 0) {
            qcow2_map_add(s, map, result, offset, s->cluster_size);
            if (format_refmap_get(&map->refs, cluster) != 1) {
                report_text("ERROR refcount block %llu refcount=%llu\n", (unsigned long long)i,
                            (unsigned long long)format_refmap_get(&map->refs, cluster));
                result->corruptions++;
                *rebuild = true;
            }
        }
    }
    return 0;
}

/* qemu's calculate_refcounts: every reference the metadata makes. */
static int qcow2_refcounts_calculate(block_node *node, qcow2_refcount_map *map, check_result *result, int fix,
                                     bool *rebuild)
{
    qcow2_state *s = node->state;
    map->fix = fix;
    qcow2_map_add(s, map, result, 0, s->cluster_size);
    if (qcow2_check_l1(node, map, result, s->l1_table_offset, s->l1_size, true) < 0)
        return -1;
    if (qcow2_check_snapshots(node, map, result) < 0)
        return -1;
    qcow2_map_add(s, map, result, s->refcount_table_offset, s->refcount_table_entries * 8);
    if (s->crypto_header_length)
        qcow2_map_add(s, map, result, s->crypto_header_offset, s->crypto_header_length);
    qcow2_check_bitmaps(node, map, result);
    return qcow2_check_refblocks(node, map, result, fix, rebuild);
}

/* qemu's compare_refcounts: stored versus recomputed refcounts, fixing what fix allows. */
static void qcow2_refcounts_compare(block_node *node, qcow2_refcount_map *map, check_result *result, int fix,
                                    bool *rebuild, int64_t *highest)
{
    qcow2_state *s = node->state;
    *highest = 0;
    for (uint64_t i = 0; i < format_refmap_clusters(&map->refs); i++) {
        uint64_t stored;
        if (qcow2_refcount_get(node, i, &stored, NULL) < 0) {
            report_text("Can't get refcount for cluster %llu: Input/output error\n", (unsigned long long)i);
            result->check_errors++;
            continue;
        }
        uint64_t computed = format_refmap_get(&map->refs, i);
        if (stored > 0 || computed > 0)
            *highest = (int64_t)i;
        if (stored == computed)
            continue;
        int64_t *fixed = NULL;
        if (stored == 0)
            *rebuild = true;
        else if (stored > computed && (fix & CHECK_FIX_LEAKS))
            fixed = &result->leaks_fixed;
        else if (stored < computed && (fix & CHECK_FIX_ERRORS))
            fixed = &result->corruptions_fixed;
        report_text("%s cluster %llu refcount=%llu reference=%llu\n",
                    fixed ? "Repairing" : stored < computed ? "ERROR" : "Leaked", (unsigned long long)i,
                    (unsigned long long)stored, (unsigned long long)computed);
        if (fixed) {
            uint64_t diff = stored > computed ? stored - computed : computed - stored;
            if (qcow2_refcount_update(node, i << s->cluster_bits, 1, diff, stored > computed, NULL) == 0) {
                if (stored > computed && computed == 0)
                    block_node_discard(node->file, i << s->cluster_bits, s->cluster_size, NULL);
                (*fixed)++;
                continue;
            }
        }
        if (stored < computed)
            result->corruptions++;
        else
            result->leaks++;
    }
}

/* qemu's check_oflag_copied: the COPIED flags of active L1 and L2 entries must match refcount == 1. */
static int qcow2_check_copied_flags(block_node *node, check_result *result, int fix)
{
    qcow2_state *s = node->state;
    bool repair;
    if (fix & CHECK_FIX_ERRORS)
        repair = true;
    else if (fix & CHECK_FIX_LEAKS)
        repair = !result->check_errors && !result->corruptions && !result->leaks;
    else
        repair = false;
    uint8_t *table = memory_alloc_zero(s->cluster_size);
    int ret = -1;
    for (uint64_t i = 0; i < s->l1_size; i++) {
        uint64_t l1_entry = s->l1_table[i];
        uint64_t l2_offset = l1_entry & QCOW2_L1_OFFSET_MASK;
        uint64_t refcount;
        int dirty = 0;
        if (l2_offset == 0)
            continue;
        if (qcow2_refcount_get(node, l2_offset >> s->cluster_bits, &refcount, NULL) < 0)
            continue;
        if ((refcount == 1) != ((l1_entry & QCOW2_OFLAG_COPIED) != 0)) {
            result->corruptions++;
            report_text("%s OFLAG_COPIED L2 cluster: l1_index=%llu l1_entry=%llx refcount=%llu\n",
                        repair ? "Repairing" : "ERROR", (unsigned long long)i, (unsigned long long)l1_entry,
                        (unsigned long long)refcount);
            if (repair) {
                s->l1_table[i] = refcount == 1 ? l1_entry | QCOW2_OFLAG_COPIED : l1_entry & ~QCOW2_OFLAG_COPIED;
                if (qcow2_l1_entry_write(node, i, NULL) < 0) {
                    result->check_errors++;
                    goto out;
                }
                result->corruptions--;
                result->corruptions_fixed++;
            }
        }
        if (format_file_read(node->file, l2_offset, s->cluster_size, table, NULL) < 0) {
            report_text("ERROR: Could not read L2 table: Input/output error\n");
            result->check_errors++;
            goto out;
        }
        for (uint64_t j = 0; j < s->l2_entries; j++) {
            uint64_t entry = qcow2_l2_entry_get(s, table, j);
            if (entry & QCOW2_OFLAG_COMPRESSED)
                continue;
            uint64_t host = entry & QCOW2_L2_OFFSET_MASK;
            bool allocated = host != 0 || (qcow2_has_data_file(s) && (entry & QCOW2_OFLAG_COPIED));
            if (!allocated)
                continue;
            if (qcow2_has_data_file(s)) {
                refcount = 1;
            } else if (qcow2_refcount_get(node, host >> s->cluster_bits, &refcount, NULL) < 0) {
                continue;
            }
            if ((refcount == 1) != ((entry & QCOW2_OFLAG_COPIED) != 0)) {
                result->corruptions++;
                report_text("%s OFLAG_COPIED data cluster: l2_entry=%llx refcount=%llu\n", repair ? "Repairing" : "ERROR",
                            (unsigned long long)entry, (unsigned long long)refcount);
                if (repair) {
                    endian_store_be64(table + j * s->l2_entry_size,
                                      refcount == 1 ? entry | QCOW2_OFLAG_COPIED : entry & ~QCOW2_OFLAG_COPIED);
                    dirty++;
                }
            }
        }
        if (dirty > 0) {
            if (format_file_write(node->file, l2_offset, s->cluster_size, table, NULL) < 0) {
                report_text("ERROR: Could not write L2 table: Input/output error\n");
                result->check_errors++;
                goto out;
            }
            format_cache_drop(&s->l2_cache, l2_offset);
            result->corruptions -= dirty;
            result->corruptions_fixed += dirty;
        }
    }
    ret = 0;
out:
    free(table);
    return ret;
}


/* qemu's rebuild_refcounts_write_refblocks: writes a refcount block for every block range of
 * [first, end) holding references; returns 1 when the new table had to grow, 0, or -1. */
static int qcow2_rebuild_write_refblocks(block_node *node, qcow2_refcount_map *map, uint64_t first, uint64_t end,
                                         uint64_t **table, uint64_t *entries, error **errp)
{
    qcow2_state *s = node->state;
    uint64_t first_free = 0;
    bool grown = false;
    uint8_t *block = memory_alloc_zero(s->cluster_size);
    int ret = -1;
    for (uint64_t cluster = first; cluster < end; cluster++) {
        if (format_refmap_get(&map->refs, cluster) == 0)
            continue;
        uint64_t index = cluster >> s->refcount_block_bits;
        uint64_t start = index << s->refcount_block_bits;
        uint64_t offset;
        if (*entries > index && (*table)[index]) {
            offset = (*table)[index];
        } else {
            if (first_free < start)
                first_free = start;
            offset = format_refmap_allocate(&map->refs, 1, &first_free);
            if ((offset >> s->cluster_bits) >= end)
                end = (offset >> s->cluster_bits) + 1;
            if (*entries <= index) {
                uint64_t per_cluster = s->cluster_size / 8;
                uint64_t new_entries = ((index + 1 + per_cluster - 1) / per_cluster) * per_cluster;
                *table = memory_realloc(*table, new_entries * 8);
                memset(*table + *entries, 0, (new_entries - *entries) * 8);
                *entries = new_entries;
                grown = true;
            }
            (*table)[index] = offset;
        }
        memset(block, 0, s->cluster_size);
        for (uint64_t i = 0; i < s->refcount_block_entries; i++) {
            uint64_t c = start + i;
            if (format_refmap_get(&map->refs, c))
                qcow2_refcount_array_set(s, block, i, format_refmap_get(&map->refs, c));
        }
        const char *overlap = qcow2_metadata_overlap(node, offset, s->cluster_size, true);
        if (overlap) {
            qcow2_corruption_signal(node, true, NULL, "Preventing invalid write on metadata (overlaps with %s)", overlap);
            error_set(errp, "ERROR writing refblock: Input/output error");
            goto out;
        }
        if (format_file_write(node->file, offset, s->cluster_size, block, errp) < 0) {
            error_prepend(errp, "ERROR writing refblock: ");
            goto out;
        }
        cluster = start + s->refcount_block_entries - 1;
    }
    ret = grown ? 1 : 0;
out:
    free(block);
    return ret;
}

/* qemu's rebuild_refcount_structure: new refcount blocks and table from the recomputed refcounts. */
static int qcow2_refcounts_rebuild(block_node *node, qcow2_refcount_map *map, check_result *result, error **errp)
{
    qcow2_state *s = node->state;
    uint64_t *table = NULL, entries = 0;
    int64_t table_offset = -1;
    uint64_t table_clusters = 0;
    format_cache_clear(&s->refblock_cache);
    int changed = qcow2_rebuild_write_refblocks(node, map, 0, format_refmap_clusters(&map->refs), &table, &entries, errp);
    if (changed < 0) {
        result->check_errors++;
        goto fail;
    }
    do {
        uint64_t first_free = 0;
        table_clusters = qcow2_size_to_clusters(s, entries * 8);
        table_offset = (int64_t)format_refmap_allocate(&map->refs, table_clusters, &first_free);
        uint64_t start = (uint64_t)table_offset >> s->cluster_bits;
        changed = qcow2_rebuild_write_refblocks(node, map, start, start + table_clusters, &table, &entries, errp);
        if (changed < 0) {
            result->check_errors++;
            goto fail;
        }
    } while (changed);
    uint8_t *raw = memory_alloc_zero(entries * 8);
    for (uint64_t i = 0; i < entries; i++)
        endian_store_be64(raw + 8 * i, table[i]);
    int w = format_file_write(node->file, (uint64_t)table_offset, entries * 8, raw, errp);
    free(raw);
    if (w < 0) {
        result->check_errors++;
        goto fail;
    }
    uint8_t pointer[12];
    endian_store_be64(pointer, (uint64_t)table_offset);
    endian_store_be32(pointer + 8, (uint32_t)table_clusters);
    if (format_file_write(node->file, 48, sizeof(pointer), pointer, errp) < 0) {
        result->check_errors++;
        goto fail;
    }
    free(s->refcount_table);
    s->refcount_table = table;
    s->refcount_table_offset = (uint64_t)table_offset;
    s->refcount_table_entries = entries;
    s->free_cluster_index = 0;
    return 0;
fail:
    free(table);
    return -1;
}

/* qemu's qcow2_check_read_snapshot_table: the snapshot table pointer must be sane before anything else. */
static int qcow2_check_snapshot_table(block_node *node, check_result *result, error **errp)
{
    qcow2_state *s = node->state;
    uint64_t entries = s->nb_snapshots;
    if (entries > QCOW2_MAX_SNAPSHOTS) {
        result->check_errors++;
        report_text("qemu-img: ERROR snapshot table too large\n");
        report_text("You can force-remove all %llu overhanging snapshots with qemu-img check -r all\n",
                    (unsigned long long)(entries - QCOW2_MAX_SNAPSHOTS));
        s->nb_snapshots = 0;
        s->snapshots_offset = 0;
        return error_set_errnum(errp, EFBIG, "File too large");
    }
    if ((uint64_t)INT64_MAX - entries * QCOW2_SNAPSHOT_HEADER_SIZE < s->snapshots_offset ||
        qcow2_offset_into_cluster(s, s->snapshots_offset)) {
        result->check_errors++;
        report_text("qemu-img: ERROR snapshot table offset invalid\n");
        s->nb_snapshots = 0;
        s->snapshots_offset = 0;
        return error_set(errp, "Invalid argument");
    }
    return 0;
}

/* The rest of qemu's qcow2_check_read_snapshot_table: every v3 snapshot table entry needs at least 16 bytes of
 * extra data; returns how many entries lack them (reported, counted by the caller as corruptions). */
static int64_t qcow2_check_snapshot_entries(block_node *node, int fix)
{
    qcow2_state *s = node->state;
    qcow2_snapshot *table;
    size_t count;
    uint64_t size;
    int64_t incomplete = 0;
    if (s->version < 3 || s->nb_snapshots == 0 || qcow2_snapshots_read(node, &table, &count, &size, NULL) < 0)
        return 0;
    for (size_t i = 0; i < count; i++) {
        if (table[i].extra_data_size < 16) {
            incomplete++;
            report_text("%s snapshot table entry %zu is incomplete\n", (fix & CHECK_FIX_ERRORS) ? "Repairing" : "ERROR",
                        i);
        }
    }
    qcow2_snapshots_free(table, count);
    return incomplete;
}

/* qemu's qcow2_check_fix_snapshot_table: with errors to fix, the snapshot table is rewritten (complete entries
 * in fresh clusters). Returns 0, or -1 with a check error counted. */
static int qcow2_check_fix_snapshot_entries(block_node *node, check_result *result, int64_t incomplete, int fix)
{
    if (!incomplete)
        return 0;
    if (!(fix & CHECK_FIX_ERRORS)) {
        result->corruptions += incomplete;
        return 0;
    }
    qcow2_snapshot *table;
    size_t count;
    uint64_t size;
    error *err = NULL;
    if (qcow2_snapshots_read(node, &table, &count, &size, &err) < 0 ||
        qcow2_snapshots_write(node, table, count, size, &err) < 0) {
        if (table)
            qcow2_snapshots_free(table, count);
        report_text("ERROR failed to update snapshot table: %s\n", err ? error_message(err) : "Input/output error");
        error_free(err);
        result->check_errors++;
        result->corruptions += incomplete;
        return -1;
    }
    qcow2_snapshots_free(table, count);
    result->corruptions_fixed += incomplete;
    return 0;
}

/* Checks the image (qemu's qcow2_co_check_locked with qcow2_check_refcounts). */
int qcow2_check(block_node *node, check_result *result, int fix, error **errp)
{
    qcow2_state *s = node->state;
    qcow2_refcount_map map = {0};
    bool rebuild = false;
    int64_t highest = 0;
    int ret = -1;
    memset(result, 0, sizeof(*result));
    if (qcow2_check_snapshot_table(node, result, errp) < 0)
        return -1;
    int64_t incomplete_snapshots = qcow2_check_snapshot_entries(node, fix);
    int64_t length = block_node_length(node->file);
    if (length < 0) {
        result->check_errors++;
        return error_set(errp, "Input/output error");
    }
    map.file_length = ((uint64_t)length + 511) & ~511ull;
    format_refmap_init(&map.refs, s->cluster_bits, map.file_length);
    result->total_clusters = (int64_t)qcow2_size_to_clusters(s, node->size);
    result->has_cluster_statistics = true;
    if (qcow2_refcounts_calculate(node, &map, result, fix, &rebuild) < 0) {
        error_set(errp, "Input/output error");
        goto out;
    }
    check_result before_compare = *result;
    qcow2_refcounts_compare(node, &map, result, 0, &rebuild, &highest);
    if (rebuild && (fix & CHECK_FIX_ERRORS)) {
        check_result old = *result;
        int64_t fresh_leaks = 0;
        report_text("Rebuilding refcount structure\n");
        error *local = NULL;
        if (qcow2_refcounts_rebuild(node, &map, result, &local) < 0) {
            report_text("qemu-img: %s\n", error_message(local));
            error_free(local);
            error_set(errp, "Input/output error");
            goto out;
        }
        result->corruptions = 0;
        result->leaks = 0;
        rebuild = false;
        format_refmap_reset(&map.refs);
        map.file_length = ((uint64_t)block_node_length(node->file) + 511) & ~511ull;
        if (qcow2_refcounts_calculate(node, &map, result, 0, &rebuild) < 0) {
            error_set(errp, "Input/output error");
            goto out;
        }
        if (fix & CHECK_FIX_LEAKS) {
            check_result saved = *result;
            memset(result, 0, sizeof(*result));
            qcow2_refcounts_compare(node, &map, result, CHECK_FIX_LEAKS, &rebuild, &highest);
            if (rebuild)
                report_text("ERROR rebuilt refcount structure is still broken\n");
            fresh_leaks = result->leaks;
            *result = saved;
        }
        if (result->corruptions < old.corruptions)
            result->corruptions_fixed += old.corruptions - result->corruptions;
        if (result->leaks < old.leaks)
            result->leaks_fixed += old.leaks - result->leaks;
        result->leaks += fresh_leaks;
    } else if (fix) {
        if (rebuild) {
            report_text("ERROR need to rebuild refcount structures\n");
            result->check_errors++;
            error_set(errp, "Input/output error");
            goto out;
        }
        if (result->leaks || result->corruptions) {
            *result = before_compare;
            qcow2_refcounts_compare(node, &map, result, fix, &rebuild, &highest);
        }
    }
    if (qcow2_check_copied_flags(node, result, fix) < 0) {
        error_set(errp, "Input/output error");
        goto out;
    }
    result->image_end_offset = (highest + 1) * (int64_t)s->cluster_size;
    if (qcow2_check_fix_snapshot_entries(node, result, incomplete_snapshots, fix) < 0) {
        error_set(errp, "Input/output error");
        goto out;
    }
    if (fix && result->check_errors == 0 && result->corruptions == 0 && s->writable) {
        qcow2_mark_dirty(node, false, NULL);
        if (s->incompatible_features & QCOW2_INCOMPAT_CORRUPT) {
            s->incompatible_features &= ~QCOW2_INCOMPAT_CORRUPT;
            qcow2_header_update(node, NULL);
        }
    }
    ret = 0;
out:
    format_refmap_free(&map.refs);
    return ret;
}
