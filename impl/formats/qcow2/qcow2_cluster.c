/* qcow2_cluster.c — qcow2 guest-to-host mapping: L1/L2 tables, entry types, reads, allocating writes with
 * copy-on-write, zero clusters, discard and block status (spec/qcow2.md §Tables, §L2 entries). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>

#include "qcow2.h"
#include "../common/format_compress_batch.h"
#include "../common/format_compress.h"
#include "../../util/endian.h"
#include "../../util/memory.h"
#include "../../util/report.h"

/* qemu's metadata overlap check with its default "cached" template: the name of the first metadata structure
 * a write of [offset, offset+size) would overwrite, or NULL. */
const char *qcow2_metadata_overlap(block_node *node, uint64_t offset, uint64_t size, bool with_snapshots)
{
    return qcow2_metadata_overlap_except(node, offset, size, with_snapshots, false);
}

/* As qcow2_metadata_overlap; skip_active_l1: the write is to the active L1 table itself (qemu's
 * QCOW2_OL_ACTIVE_L1 ignore mask), so only the other structures count. */
const char *qcow2_metadata_overlap_except(block_node *node, uint64_t offset, uint64_t size, bool with_snapshots,
                                          bool skip_active_l1)
{
    qcow2_state *s = node->state;
    if (format_ranges_overlap(offset, size, 0, s->cluster_size))
        return "qcow2_header";
    if (!skip_active_l1 && format_ranges_overlap(offset, size, s->l1_table_offset, s->l1_size * 8))
        return "active L1 table";
    for (uint64_t i = 0; i < s->l1_size; i++) {
        uint64_t l2 = s->l1_table[i] & QCOW2_L1_OFFSET_MASK;
        if (l2 && format_ranges_overlap(offset, size, l2, s->cluster_size))
            return "active L2 table";
    }
    if (format_ranges_overlap(offset, size, s->refcount_table_offset, s->refcount_table_entries * 8))
        return "refcount table";
    for (uint64_t i = 0; i < s->refcount_table_entries; i++) {
        uint64_t block = s->refcount_table[i] & QCOW2_REFTABLE_OFFSET_MASK;
        if (block && format_ranges_overlap(offset, size, block, s->cluster_size))
            return "refcount block";
    }
    if (with_snapshots && s->nb_snapshots) {
        qcow2_snapshot *table;
        size_t count;
        uint64_t table_size;
        if (qcow2_snapshots_read(node, &table, &count, &table_size, NULL) == 0) {
            const char *hit = NULL;
            if (format_ranges_overlap(offset, size, s->snapshots_offset, table_size))
                hit = "snapshot table";
            for (size_t i = 0; i < count && !hit; i++)
                if (format_ranges_overlap(offset, size, table[i].l1_table_offset, (uint64_t)table[i].l1_size * 8))
                    hit = "inactive L1 table";
            qcow2_snapshots_free(table, count);
            if (hit)
                return hit;
        }
    }
    if (with_snapshots && s->has_bitmaps_extension && s->bitmap_count &&
        format_ranges_overlap(offset, size, s->bitmap_directory_offset, s->bitmap_directory_size))
        return "bitmap directory";
    return NULL;
}

/* qemu's qcow2_pre_write_overlap_check (nothing ignored) for a metadata write to freshly allocated clusters
 * of the image file: 0, or -1 after marking the image corrupt when the range holds metadata. */
int qcow2_metadata_write_check(block_node *node, uint64_t offset, uint64_t size, error **errp)
{
    const char *overlap = qcow2_metadata_overlap(node, offset, size, true);
    if (overlap == NULL)
        return 0;
    return qcow2_corruption_signal(node, true, errp, "Preventing invalid write on metadata (overlaps with %s)",
                                   overlap);
}

/* qemu's qcow2_pre_write_overlap_check for guest data writes to the image file. */
static int qcow2_data_write_check(block_node *node, uint64_t offset, uint64_t size, error **errp)
{
    qcow2_state *s = node->state;
    if (s->data_node != node->file)
        return 0;
    const char *overlap = qcow2_metadata_overlap(node, offset, size, true);
    if (overlap == NULL)
        return 0;
    return qcow2_corruption_signal(node, true, errp, "Preventing invalid write on metadata (overlaps with %s)",
                                   overlap);
}

/* qemu's qcow2_signal_corruption: reports the damage once; on a writable image marks it corrupt and makes
 * the node unusable. Always returns -1 with "Input/output error" in *errp. */
int qcow2_corruption_signal(block_node *node, bool fatal, error **errp, const char *fmt, ...)
{
    qcow2_state *s = node->state;
    fatal = fatal && s->writable;
    if (!s->signaled_corruption || (fatal && !(s->incompatible_features & QCOW2_INCOMPAT_CORRUPT))) {
        char *message;
        va_list ap;
        va_start(ap, fmt);
        message = memory_vprintf(fmt, ap);
        va_end(ap);
        if (fatal)
            report_text("qcow2: Marking image as corrupt: %s; further corruption events will be suppressed\n",
                        message);
        else
            report_text("qcow2: Image is corrupt: %s; further non-fatal corruption events will be suppressed\n",
                        message);
        free(message);
        if (fatal) {
            s->incompatible_features |= QCOW2_INCOMPAT_CORRUPT;
            qcow2_header_update(node, NULL);
            s->unusable = true;
        }
        s->signaled_corruption = true;
    }
    return error_set(errp, "Input/output error");
}

/* The cluster-level type of an L2 entry (qemu's QCow2ClusterType folded into qcow2_type); ignores the
 * subcluster bitmap, so a NORMAL entry of an extended-L2 image stays NORMAL. */
qcow2_type qcow2_cluster_type(const qcow2_state *s, uint64_t entry)
{
    if (entry & QCOW2_OFLAG_COMPRESSED)
        return QCOW2_TYPE_COMPRESSED;
    if ((entry & QCOW2_OFLAG_ZERO) && !s->extended_l2)
        return (entry & QCOW2_L2_OFFSET_MASK) ? QCOW2_TYPE_ZERO_ALLOC : QCOW2_TYPE_ZERO_PLAIN;
    if (!(entry & QCOW2_L2_OFFSET_MASK)) {
        if (qcow2_has_data_file(s) && (entry & QCOW2_OFLAG_COPIED))
            return QCOW2_TYPE_NORMAL;
        return QCOW2_TYPE_UNALLOCATED_PLAIN;
    }
    return QCOW2_TYPE_NORMAL;
}

/* The type of subcluster sc of an entry (whole cluster without extended L2). */
qcow2_type qcow2_entry_type(const qcow2_state *s, uint64_t entry, uint64_t bitmap, unsigned sc)
{
    qcow2_type type = qcow2_cluster_type(s, entry);
    if (!s->extended_l2)
        return type;
    switch (type) {
    case QCOW2_TYPE_COMPRESSED:
        return type;
    case QCOW2_TYPE_NORMAL:
        if ((bitmap >> 32) & bitmap)
            return QCOW2_TYPE_INVALID;
        if (bitmap & (1ull << (32 + sc)))
            return QCOW2_TYPE_ZERO_ALLOC;
        if (bitmap & (1ull << sc))
            return QCOW2_TYPE_NORMAL;
        return QCOW2_TYPE_UNALLOCATED_ALLOC;
    default:
        if (bitmap & QCOW2_BITMAP_ALL_ALLOC)
            return QCOW2_TYPE_INVALID;
        if (bitmap & (1ull << (32 + sc)))
            return QCOW2_TYPE_ZERO_PLAIN;
        return QCOW2_TYPE_UNALLOCATED_PLAIN;
    }
}

/* Host offset and byte length of a compressed cluster's data. */
int qcow2_parse_compressed_entry(const qcow2_state *s, uint64_t entry, uint64_t *host_offset, uint64_t *size)
{
    *host_offset = entry & s->cluster_offset_mask;
    uint64_t sectors = ((entry >> s->csize_shift) & s->csize_mask) + 1;
    *size = sectors * 512 - (*host_offset & 511);
    return 0;
}

uint64_t qcow2_l2_entry_get(const qcow2_state *s, const uint8_t *table, uint64_t index)
{
    return endian_load_be64(table + index * s->l2_entry_size);
}

uint64_t qcow2_l2_bitmap_get(const qcow2_state *s, const uint8_t *table, uint64_t index)
{
    if (!s->extended_l2)
        return 0;
    return endian_load_be64(table + index * s->l2_entry_size + 8);
}

/* Sets entry index of the cached table at table_offset and writes it to the image (in write-back mode:
 * marks the cached table dirty). */
int qcow2_l2_entry_set(block_node *node, uint8_t *table, uint64_t table_offset, uint64_t index, uint64_t entry,
                       uint64_t bitmap, error **errp)
{
    qcow2_state *s = node->state;
    uint8_t *slot = table + index * s->l2_entry_size;
    endian_store_be64(slot, entry);
    if (s->extended_l2)
        endian_store_be64(slot + 8, bitmap);
    if (s->metadata_writeback) {
        format_cache_mark_dirty(&s->l2_cache, table_offset);
        return 0;
    }
    return format_file_write(node->file, table_offset + index * s->l2_entry_size, s->l2_entry_size, slot, errp);
}

/* Writes L1 entry index to the image. */
int qcow2_l1_entry_write(block_node *node, uint64_t index, error **errp)
{
    qcow2_state *s = node->state;
    const char *overlap = qcow2_metadata_overlap_except(node, s->l1_table_offset + index * 8, 8, true, true);
    if (overlap)
        return qcow2_corruption_signal(node, true, errp, "Preventing invalid write on metadata (overlaps with %s)",
                                       overlap);
    uint8_t raw[8];
    endian_store_be64(raw, s->l1_table[index]);
    if (qcow2_metadata_barrier(node, errp) < 0)
        return -1;
    return format_file_write(node->file, s->l1_table_offset + index * 8, 8, raw, errp);
}

/* Index of guest offset's entry within its L2 table. */
static uint64_t qcow2_l2_index(const qcow2_state *s, uint64_t offset)
{
    return (offset >> s->cluster_bits) & (s->l2_entries - 1);
}

/* Loads the L2 table covering guest_offset; *table NULL when none is allocated. */
int qcow2_l2_lookup(block_node *node, uint64_t guest_offset, uint8_t **table, uint64_t *table_offset,
                    error **errp)
{
    qcow2_state *s = node->state;
    uint64_t l1_index = guest_offset >> (s->l2_bits + s->cluster_bits);
    *table = NULL;
    *table_offset = 0;
    if (l1_index >= s->l1_size)
        return 0;
    uint64_t l2_offset = s->l1_table[l1_index] & QCOW2_L1_OFFSET_MASK;
    if (l2_offset == 0)
        return 0;
    if (qcow2_offset_into_cluster(s, l2_offset))
        return qcow2_corruption_signal(node, true, errp, "L2 table offset %#llx unaligned (L1 index: %#llx)",
                                       (unsigned long long)l2_offset, (unsigned long long)l1_index);
    *table = format_cache_get(&s->l2_cache, l2_offset, errp);
    if (*table == NULL)
        return -1;
    *table_offset = l2_offset;
    return 0;
}

/* Grows the L1 table as qemu's qcow2_grow_l1_table does (new table in fresh clusters, old one freed). */
int qcow2_l1_grow(block_node *node, uint64_t min_size, bool exact, error **errp)
{
    qcow2_state *s = node->state;
    uint8_t *raw = NULL;
    int ret = -1;
    if (min_size <= s->l1_size)
        return 0;
    if (min_size > 0x7fffffffu / 8)
        return error_set_errnum(errp, EFBIG, "File too large");
    uint64_t new_size = min_size;
    if (!exact) {
        new_size = s->l1_size ? s->l1_size : 1;
        while (min_size > new_size)
            new_size = (new_size * 3 + 1) / 2;
    }
    if (new_size > QCOW2_MAX_L1_BYTES / 8)
        return error_set_errnum(errp, EFBIG, "File too large");
    raw = memory_alloc_zero(new_size * 8);
    for (uint64_t i = 0; i < s->l1_size; i++)
        endian_store_be64(raw + 8 * i, s->l1_table[i]);
    int64_t new_offset = qcow2_clusters_alloc(node, new_size * 8, errp);
    if (new_offset < 0)
        goto out;
    const char *overlap = qcow2_metadata_overlap(node, (uint64_t)new_offset, new_size * 8, true);
    if (overlap) {
        qcow2_corruption_signal(node, true, errp, "Preventing invalid write on metadata (overlaps with %s)", overlap);
        goto out;
    }
    if (format_file_write(node->file, (uint64_t)new_offset, new_size * 8, raw, errp) < 0)
        goto out;
    uint8_t pointer[12];
    endian_store_be32(pointer, (uint32_t)new_size);
    endian_store_be64(pointer + 4, (uint64_t)new_offset);
    if (qcow2_metadata_barrier(node, errp) < 0)
        goto out;
    if (format_file_write(node->file, 36, sizeof(pointer), pointer, errp) < 0)
        goto out;
    uint64_t *table = memory_alloc_array(new_size, 8);
    if (s->l1_size)
        memcpy(table, s->l1_table, s->l1_size * 8);
    uint64_t old_offset = s->l1_table_offset, old_size = s->l1_size;
    free(s->l1_table);
    s->l1_table = table;
    s->l1_table_offset = (uint64_t)new_offset;
    s->l1_size = new_size;
    qcow2_clusters_free(node, old_offset, old_size * 8, NULL);
    ret = 0;
out:
    free(raw);
    return ret;
}

/* Ensures the L2 table for guest_offset is allocated and exclusively owned (qemu's get_cluster_table). */
int qcow2_l2_prepare(block_node *node, uint64_t guest_offset, uint8_t **table, uint64_t *table_offset,
                     error **errp)
{
    qcow2_state *s = node->state;
    uint64_t l1_index = guest_offset >> (s->l2_bits + s->cluster_bits);
    if (l1_index >= s->l1_size && qcow2_l1_grow(node, l1_index + 1, false, errp) < 0)
        return -1;
    uint64_t l1_entry = s->l1_table[l1_index];
    uint64_t l2_offset = l1_entry & QCOW2_L1_OFFSET_MASK;
    if (l1_entry & QCOW2_OFLAG_COPIED) {
        if (qcow2_offset_into_cluster(s, l2_offset))
            return qcow2_corruption_signal(node, true, errp, "L2 table offset %#llx unaligned (L1 index: %#llx)",
                                           (unsigned long long)l2_offset, (unsigned long long)l1_index);
        *table = format_cache_get(&s->l2_cache, l2_offset, errp);
        *table_offset = l2_offset;
        return *table ? 0 : -1;
    }
    uint8_t *copy = memory_alloc_zero(s->cluster_size);
    int ret = -1;
    if (l2_offset && format_file_read(node->file, l2_offset, s->cluster_size, copy, errp) < 0)
        goto out;
    int64_t new_offset = qcow2_clusters_alloc(node, s->cluster_size, errp);
    if (new_offset < 0)
        goto out;
    /* wrong refcounts may hand out a cluster that holds metadata: never overwrite it (qemu's overlap check on
     * the L2 cache flush) */
    const char *overlap = qcow2_metadata_overlap(node, (uint64_t)new_offset, s->cluster_size, true);
    if (overlap) {
        qcow2_corruption_signal(node, true, errp, "Preventing invalid write on metadata (overlaps with %s)", overlap);
        goto out;
    }
    uint8_t *fresh = format_cache_get_empty(&s->l2_cache, (uint64_t)new_offset, NULL);
    memcpy(fresh, copy, s->cluster_size);
    if (format_file_write(node->file, (uint64_t)new_offset, s->cluster_size, fresh, errp) < 0)
        goto out;
    s->l1_table[l1_index] = (uint64_t)new_offset | QCOW2_OFLAG_COPIED;
    if (qcow2_l1_entry_write(node, l1_index, errp) < 0)
        goto out;
    if (l2_offset)
        qcow2_clusters_free(node, l2_offset, s->cluster_size, NULL);
    *table = format_cache_get(&s->l2_cache, (uint64_t)new_offset, errp);
    *table_offset = (uint64_t)new_offset;
    ret = *table ? 0 : -1;
out:
    free(copy);
    return ret;
}

/* How many subclusters from sc share the type of sc within one cluster. */
static unsigned qcow2_subcluster_run(const qcow2_state *s, uint64_t entry, uint64_t bitmap, unsigned sc,
                                     qcow2_type *type)
{
    *type = qcow2_entry_type(s, entry, bitmap, sc);
    if (!s->extended_l2)
        return 1;
    if (*type == QCOW2_TYPE_COMPRESSED || *type == QCOW2_TYPE_INVALID)
        return QCOW2_SUBCLUSTERS - sc;
    unsigned n = 1;
    while (sc + n < QCOW2_SUBCLUSTERS && qcow2_entry_type(s, entry, bitmap, sc + n) == *type)
        n++;
    return n;
}

/* qemu's qcow2_get_host_offset: type of guest offset and the run of bytes sharing it. */
int qcow2_host_offset_get(block_node *node, uint64_t offset, uint64_t length, qcow2_type *type,
                          uint64_t *host_offset, uint64_t *bytes, uint64_t *l2_entry_out, error **errp)
{
    qcow2_state *s = node->state;
    uint64_t in_cluster = qcow2_offset_into_cluster(s, offset);
    uint64_t needed = length + in_cluster;
    uint64_t slice_index = qcow2_l2_index(s, offset) & (s->l2_slice_entries - 1);
    uint64_t available = (s->l2_slice_entries - slice_index) << s->cluster_bits;
    uint8_t *table;
    uint64_t table_offset;
    if (needed > available)
        needed = available;
    *host_offset = 0;
    *type = QCOW2_TYPE_UNALLOCATED_PLAIN;
    if (l2_entry_out)
        *l2_entry_out = 0;
    if (qcow2_l2_lookup(node, offset, &table, &table_offset, errp) < 0)
        return -1;
    if (table == NULL)
        goto out;
    uint64_t index = qcow2_l2_index(s, offset);
    unsigned sc = (unsigned)(in_cluster >> s->subcluster_bits);
    uint64_t entry = qcow2_l2_entry_get(s, table, index);
    uint64_t bitmap = qcow2_l2_bitmap_get(s, table, index);
    if (l2_entry_out)
        *l2_entry_out = entry;
    uint64_t clusters = (needed + s->cluster_size - 1) >> s->cluster_bits;
    qcow2_type first;
    unsigned run = qcow2_subcluster_run(s, entry, bitmap, sc, &first);
    *type = first;
    if (first == QCOW2_TYPE_INVALID)
        return qcow2_corruption_signal(node, true, errp, "Invalid cluster entry found  (L2 offset: %#llx, L2 index: %#x)",
                                       (unsigned long long)table_offset, (unsigned)index);
    if (s->version < 3 && (first == QCOW2_TYPE_ZERO_PLAIN || first == QCOW2_TYPE_ZERO_ALLOC))
        return qcow2_corruption_signal(node, true, errp,
                                       "Zero cluster entry found in pre-v3 image (L2 offset: %#llx, L2 index: %#x)",
                                       (unsigned long long)table_offset, (unsigned)index);
    bool check_offset = false;
    uint64_t expected = entry & QCOW2_L2_OFFSET_MASK;
    switch (first) {
    case QCOW2_TYPE_COMPRESSED:
        if (qcow2_has_data_file(s))
            return qcow2_corruption_signal(node, true, errp,
                                           "Compressed cluster entry found in image with external data file (L2 "
                                           "offset: %#llx, L2 index: %#x)",
                                           (unsigned long long)table_offset, (unsigned)index);
        *host_offset = entry;
        available = (uint64_t)s->cluster_size;
        goto out;
    case QCOW2_TYPE_ZERO_ALLOC:
    case QCOW2_TYPE_NORMAL:
    case QCOW2_TYPE_UNALLOCATED_ALLOC:
        if (qcow2_offset_into_cluster(s, expected))
            return qcow2_corruption_signal(node, true, errp,
                                           "Cluster allocation offset %#llx unaligned (L2 offset: %#llx, L2 index: "
                                           "%#x)",
                                           (unsigned long long)expected, (unsigned long long)table_offset,
                                           (unsigned)index);
        if (qcow2_has_data_file(s) && expected != qcow2_start_of_cluster(s, offset))
            return qcow2_corruption_signal(node, true, errp,
                                           "External data file host cluster offset %#llx does not match guest "
                                           "cluster offset: %#llx, L2 index: %#x)",
                                           (unsigned long long)expected,
                                           (unsigned long long)qcow2_start_of_cluster(s, offset), (unsigned)index);
        *host_offset = expected + in_cluster;
        check_offset = true;
        break;
    default:
        break;
    }
    uint64_t count = run;
    if (sc + run >= (s->extended_l2 ? QCOW2_SUBCLUSTERS : 1)) {
        for (uint64_t i = 1; i < clusters; i++) {
            uint64_t e = qcow2_l2_entry_get(s, table, index + i);
            uint64_t b = qcow2_l2_bitmap_get(s, table, index + i);
            qcow2_type t;
            unsigned r = qcow2_subcluster_run(s, e, b, 0, &t);
            if (t != first)
                break;
            if (check_offset) {
                expected += s->cluster_size;
                if ((e & QCOW2_L2_OFFSET_MASK) != expected)
                    break;
            }
            count += r;
            if (r < (s->extended_l2 ? QCOW2_SUBCLUSTERS : 1))
                break;
        }
    }
    if (s->extended_l2)
        available = (count + sc) << s->subcluster_bits;
    else
        available = count << s->cluster_bits;
out:
    if (available > needed)
        available = needed;
    *bytes = available - in_cluster;
    return 0;
}

/* Reads the content a cluster had before a write (for copy-on-write) into buf: length bytes at
 * in_cluster of the guest cluster at guest_cluster, whose old L2 entry was entry. */
static int qcow2_cow_read(block_node *node, uint64_t guest_cluster, uint64_t entry, uint64_t bitmap,
                          uint64_t in_cluster, uint64_t length, uint8_t *buf, error **errp)
{
    qcow2_state *s = node->state;
    while (length > 0) {
        unsigned sc = (unsigned)(in_cluster >> s->subcluster_bits);
        qcow2_type type = qcow2_entry_type(s, entry, bitmap, sc);
        uint64_t run_end = s->extended_l2 ? ((uint64_t)(sc + 1) << s->subcluster_bits) : s->cluster_size;
        uint64_t n = run_end - in_cluster;
        if (n > length)
            n = length;
        if (type == QCOW2_TYPE_COMPRESSED) {
            uint8_t *whole = memory_alloc_zero(s->cluster_size);
            uint64_t host, csize;
            qcow2_parse_compressed_entry(s, entry, &host, &csize);
            uint8_t *packed = memory_alloc_zero(csize);
            int ret = format_file_read(node->file, host, csize, packed, errp);
            if (ret == 0 && format_decompress((format_compression)s->compression_type, whole, s->cluster_size, packed, csize) < 0)
                ret = error_set(errp, "Input/output error");
            if (ret == 0)
                memcpy(buf, whole + in_cluster, n);
            free(packed);
            free(whole);
            if (ret < 0)
                return -1;
        } else if (type == QCOW2_TYPE_NORMAL && s->crypt_method) {
            if (qcow2_crypt_read(node, (entry & QCOW2_L2_OFFSET_MASK) + in_cluster, guest_cluster + in_cluster, n, buf,
                                 errp) < 0)
                return -1;
        } else if (type == QCOW2_TYPE_NORMAL) {
            if (format_file_read(s->data_node, (entry & QCOW2_L2_OFFSET_MASK) + in_cluster, n, buf, errp) < 0)
                return -1;
        } else if (type == QCOW2_TYPE_UNALLOCATED_PLAIN || type == QCOW2_TYPE_UNALLOCATED_ALLOC) {
            uint64_t guest = guest_cluster + in_cluster;
            memset(buf, 0, n);
            if (guest < node->size) {
                uint64_t inside = node->size - guest < n ? node->size - guest : n;
                if (block_node_read_backing(node, guest, inside, buf, errp) < 0)
                    return -1;
            }
        } else {
            memset(buf, 0, n);
        }
        buf += n;
        in_cluster += n;
        length -= n;
    }
    return 0;
}

void qcow2_inflated_forget(qcow2_state *s)
{
    s->inflated_count = 0;
}

/* A compressed cluster of a run being read: where its bytes are in the file. */
typedef struct qcow2_packed_cluster {
    uint64_t host;
    uint64_t size;
} qcow2_packed_cluster;

/* Reads the packed bytes of count clusters into one buffer, one read per stretch of the file they
 * cover together (compressed clusters are stored back to back, the last sector of one often
 * holding the start of the next); jobs[i].src points at cluster i's bytes. Returns the buffer (the
 * caller frees it) or NULL with *errp set. */
static uint8_t *qcow2_packed_run_read(block_node *node, const qcow2_packed_cluster *clusters, size_t count,
                                      format_compress_job *jobs, error **errp)
{
    uint64_t total = 0;
    for (size_t i = 0; i < count; i++)
        total += clusters[i].size;
    uint8_t *packed = memory_alloc_aligned_unset((size_t)total); /* every byte is read into */
    uint64_t stretch_host = 0, stretch_end = 0, stretch_at = 0, used = 0;
    size_t first = 0; /* the first cluster of the current stretch */
    for (size_t i = 0; i <= count; i++) {
        bool joins = i < count && i > first && clusters[i].host >= stretch_host && clusters[i].host <= stretch_end;
        if (i > 0 && !joins) {
            /* the stretch [stretch_host, stretch_end) ends before cluster i */
            if (format_file_read(node->file, stretch_host, (size_t)(stretch_end - stretch_host), packed + stretch_at,
                                 errp) < 0) {
                free(packed);
                return NULL;
            }
            for (size_t j = first; j < i; j++)
                jobs[j].src = packed + stretch_at + (clusters[j].host - stretch_host);
            used = stretch_at + (stretch_end - stretch_host);
        }
        if (i == count)
            break;
        if (i == 0 || !joins) {
            first = i;
            stretch_host = clusters[i].host;
            stretch_end = clusters[i].host + clusters[i].size;
            stretch_at = used;
        } else if (clusters[i].host + clusters[i].size > stretch_end) {
            stretch_end = clusters[i].host + clusters[i].size;
        }
        jobs[i].src_size = (size_t)clusters[i].size;
    }
    return packed;
}

/* Collects the run of compressed clusters from the cluster-aligned offset (L2 entry entry): at most
 * limit, while they follow one another as compressed clusters within the image. clusters and
 * entries (when not NULL) receive where each is stored and its L2 entry; returns the count (>= 1),
 * or 0 with *errp set. */
static size_t qcow2_compressed_run_collect(block_node *node, uint64_t offset, size_t limit, uint64_t entry,
                                           qcow2_packed_cluster *clusters, uint64_t *entries, error **errp)
{
    qcow2_state *s = node->state;
    size_t count = 0;
    for (;;) {
        qcow2_parse_compressed_entry(s, entry, &clusters[count].host, &clusters[count].size);
        if (entries != NULL)
            entries[count] = entry;
        count++;
        uint64_t next = offset + count * s->cluster_size;
        if (count == limit || next >= node->size)
            return count;
        qcow2_type type;
        uint64_t host, bytes;
        if (qcow2_host_offset_get(node, next, s->cluster_size, &type, &host, &bytes, &entry, errp) < 0)
            return 0;
        if (type != QCOW2_TYPE_COMPRESSED)
            return count;
    }
}

/* Decompresses count compressed clusters on every core into count consecutive clusters at dest.
 * Returns how many from the first decompressed (count when all did), or -1 with *errp set when
 * their bytes cannot be read. */
static int64_t qcow2_compressed_run_inflate(block_node *node, const qcow2_packed_cluster *clusters, size_t count,
                                            uint8_t *dest, error **errp)
{
    qcow2_state *s = node->state;
    format_compress_job jobs[QCOW2_COMPRESS_BATCH_CLUSTERS];
    for (size_t i = 0; i < count; i++)
        jobs[i] = (format_compress_job){NULL, 0, dest + i * s->cluster_size, s->cluster_size, 0};
    uint8_t *packed = qcow2_packed_run_read(node, clusters, count, jobs, errp);
    if (packed == NULL)
        return -1;
    format_compress_batch_run((format_compression)s->compression_type, true, jobs, count);
    free(packed);
    for (size_t i = 0; i < count; i++)
        if (jobs[i].result < 0)
            return (int64_t)i;
    return (int64_t)count;
}

/* Reads whole compressed clusters from the cluster-aligned offset (L2 entry entry), as many as
 * follow one another within length and a batch, decompressing them on every core straight into
 * buf. Returns the bytes read (whole clusters), or -1 with *errp set ("Input/output error" for a
 * cluster that does not decompress). */
static int64_t qcow2_read_compressed_run(block_node *node, uint64_t offset, uint64_t length, uint64_t entry,
                                         uint8_t *buf, error **errp)
{
    qcow2_state *s = node->state;
    qcow2_packed_cluster clusters[QCOW2_COMPRESS_BATCH_CLUSTERS];
    size_t limit = qcow2_compress_batch_clusters(s->cluster_size);
    if (length / s->cluster_size < limit)
        limit = (size_t)(length / s->cluster_size);
    size_t count = qcow2_compressed_run_collect(node, offset, limit, entry, clusters, NULL, errp);
    if (count == 0)
        return -1;
    int64_t done = qcow2_compressed_run_inflate(node, clusters, count, buf, errp);
    if (done < 0)
        return -1;
    if ((size_t)done < count)
        return error_set(errp, "Input/output error");
    return (int64_t)(count * s->cluster_size);
}

/* Decompresses, on every core, the run of compressed clusters from the guest cluster at start (its L2
 * entry first_entry): as many as a batch holds, while they are compressed, read ahead of the reader.
 * Those before the first that fails stay usable. Returns 0, or -1 with *errp set. */
static int qcow2_inflated_fill(block_node *node, uint64_t start, uint64_t first_entry, error **errp)
{
    qcow2_state *s = node->state;
    size_t batch = qcow2_compress_batch_clusters(s->cluster_size);
    qcow2_packed_cluster clusters[QCOW2_COMPRESS_BATCH_CLUSTERS];
    qcow2_inflated_forget(s);
    if (s->inflated == NULL) {
        s->inflated = memory_alloc_array(batch, (size_t)s->cluster_size);
        s->inflated_entries = memory_alloc_array(batch, sizeof(uint64_t));
    }
    size_t count = qcow2_compressed_run_collect(node, start, batch, first_entry, clusters, s->inflated_entries, errp);
    if (count == 0)
        return -1;
    int64_t done = qcow2_compressed_run_inflate(node, clusters, count, s->inflated, errp);
    if (done < 0)
        return -1;
    s->inflated_start = start;
    s->inflated_count = (size_t)done;
    return 0;
}

/* Copies bytes of the compressed guest cluster at offset (L2 entry entry) from the clusters
 * decompressed ahead, filling them first when it is not among them. Returns 0, or -1 with *errp. */
static int qcow2_read_compressed(block_node *node, uint64_t offset, uint64_t bytes, uint64_t entry, uint8_t *buf,
                                 error **errp)
{
    qcow2_state *s = node->state;
    uint64_t cluster = qcow2_start_of_cluster(s, offset);
    uint64_t index = (cluster - s->inflated_start) >> s->cluster_bits;
    bool cached = s->inflated_count > 0 && cluster >= s->inflated_start && index < s->inflated_count &&
                  s->inflated_entries[index] == entry;
    if (!cached) {
        if (qcow2_inflated_fill(node, cluster, entry, errp) < 0)
            return -1;
        index = 0;
        if (s->inflated_count == 0)
            return error_set(errp, "Input/output error");
    }
    memcpy(buf, s->inflated + index * s->cluster_size + qcow2_offset_into_cluster(s, offset), bytes);
    return 0;
}

/* Reads guest data (qemu's qcow2_co_preadv_part). */
int qcow2_read(block_node *node, uint64_t offset, size_t length, uint8_t *buf, error **errp)
{
    qcow2_state *s = node->state;
    if (s->unusable)
        return error_set(errp, "No medium found");
    while (length > 0) {
        qcow2_type type;
        uint64_t host, bytes, entry;
        if (qcow2_host_offset_get(node, offset, length, &type, &host, &bytes, &entry, errp) < 0)
            return -1;
        if (bytes == 0)
            return error_set(errp, "Input/output error");
        switch (type) {
        case QCOW2_TYPE_ZERO_PLAIN:
        case QCOW2_TYPE_ZERO_ALLOC:
            memset(buf, 0, bytes);
            break;
        case QCOW2_TYPE_UNALLOCATED_PLAIN:
        case QCOW2_TYPE_UNALLOCATED_ALLOC:
            if (block_node_read_backing(node, offset, bytes, buf, errp) < 0)
                return -1;
            break;
        case QCOW2_TYPE_COMPRESSED:
            /* a request of many whole clusters is decompressed in place; single clusters come
             * from the run decompressed ahead */
            if (qcow2_offset_into_cluster(s, offset) == 0 && length >= 2 * s->cluster_size) {
                int64_t done = qcow2_read_compressed_run(node, offset, length, entry, buf, errp);
                if (done < 0)
                    return -1;
                bytes = (uint64_t)done;
            } else if (qcow2_read_compressed(node, offset, bytes, entry, buf, errp) < 0) {
                return -1;
            }
            break;
        case QCOW2_TYPE_NORMAL:
            if (s->crypt_method ? qcow2_crypt_read(node, host, offset, bytes, buf, errp) < 0
                                : format_file_read(s->data_node, host, bytes, buf, errp) < 0)
                return -1;
            break;
        default:
            return error_set(errp, "Input/output error");
        }
        offset += bytes;
        buf += bytes;
        length -= bytes;
    }
    return 0;
}

/* qemu's cluster_needs_new_alloc: whether writing to a cluster requires a fresh host cluster. */
static bool qcow2_needs_new_alloc(const qcow2_state *s, uint64_t entry)
{
    switch (qcow2_cluster_type(s, entry)) {
    case QCOW2_TYPE_NORMAL:
    case QCOW2_TYPE_ZERO_ALLOC:
        return !(entry & QCOW2_OFLAG_COPIED);
    default:
        return true;
    }
}

/* Subcluster bitmap bits [first, last] (alloc half). */
static uint64_t qcow2_alloc_range(unsigned first, unsigned last)
{
    uint64_t bits = 0;
    for (unsigned i = first; i <= last; i++)
        bits |= 1ull << i;
    return bits;
}

/* Writes [offset, offset+bytes) in place into clusters that are already owned (COPIED). */
static int qcow2_write_in_place(block_node *node, uint8_t *table, uint64_t table_offset, uint64_t index,
                                uint64_t offset, uint64_t bytes, const uint8_t *buf, error **errp)
{
    qcow2_state *s = node->state;
    while (bytes > 0) {
        uint64_t in_cluster = qcow2_offset_into_cluster(s, offset);
        uint64_t n = s->cluster_size - in_cluster;
        if (n > bytes)
            n = bytes;
        uint64_t entry = qcow2_l2_entry_get(s, table, index);
        uint64_t bitmap = qcow2_l2_bitmap_get(s, table, index);
        uint64_t host = entry & QCOW2_L2_OFFSET_MASK;
        uint64_t start = in_cluster, end = in_cluster + n;
        bool zero_alloc = !s->extended_l2 && (entry & QCOW2_OFLAG_ZERO);
        if (zero_alloc) {
            start = 0;
            end = s->cluster_size;
        } else if (s->extended_l2) {
            start = (in_cluster >> s->subcluster_bits) << s->subcluster_bits;
            end = ((in_cluster + n + s->subcluster_size - 1) >> s->subcluster_bits) << s->subcluster_bits;
        } else if (s->crypt_method) {
            /* encrypted data is written in whole sectors: the rest of a partial one is copied */
            start = start / QCOW2_CRYPT_SECTOR * QCOW2_CRYPT_SECTOR;
            end = format_align_up(end, QCOW2_CRYPT_SECTOR);
        }
        uint8_t *region = memory_alloc_zero(end - start);
        int ret = 0;
        if (start < in_cluster)
            ret = qcow2_cow_read(node, qcow2_start_of_cluster(s, offset), entry, bitmap, start, in_cluster - start,
                                 region, errp);
        if (ret == 0 && in_cluster + n < end)
            ret = qcow2_cow_read(node, qcow2_start_of_cluster(s, offset), entry, bitmap, in_cluster + n,
                                 end - in_cluster - n, region + (in_cluster + n - start), errp);
        if (ret == 0) {
            memcpy(region + (in_cluster - start), buf, n);
            ret = qcow2_data_write_check(node, host + start, end - start, errp);
            if (ret == 0 && s->crypt_method)
                ret = qcow2_crypt_run(node, true, host + start, qcow2_start_of_cluster(s, offset) + start, region,
                                      end - start, errp);
            if (ret == 0)
                ret = format_file_write(s->data_node, host + start, end - start, region, errp);
        }
        free(region);
        if (ret < 0)
            return -1;
        if (zero_alloc) {
            if (qcow2_l2_entry_set(node, table, table_offset, index, entry & ~QCOW2_OFLAG_ZERO, 0, errp) < 0)
                return -1;
        } else if (s->extended_l2) {
            unsigned first = (unsigned)(start >> s->subcluster_bits);
            unsigned last = (unsigned)((end - 1) >> s->subcluster_bits);
            uint64_t alloc = qcow2_alloc_range(first, last);
            uint64_t new_bitmap = (bitmap | alloc) & ~(alloc << 32);
            if (new_bitmap != bitmap &&
                qcow2_l2_entry_set(node, table, table_offset, index, entry, new_bitmap, errp) < 0)
                return -1;
        }
        offset += n;
        buf += n;
        bytes -= n;
        index++;
    }
    return 0;
}

/* One step of an allocating write or preallocation: handles the clusters from offset that fit one L2 slice.
 * buf NULL: preallocation (no data written, entries only). Returns bytes handled or -1. */
static int64_t qcow2_write_step(block_node *node, uint64_t offset, uint64_t length, const uint8_t *buf,
                                uint64_t *host_out, error **errp)
{
    qcow2_state *s = node->state;
    uint8_t *table;
    uint64_t table_offset;
    if (qcow2_l2_prepare(node, offset, &table, &table_offset, errp) < 0)
        return -1;
    uint64_t in_cluster = qcow2_offset_into_cluster(s, offset);
    uint64_t index = qcow2_l2_index(s, offset);
    uint64_t slice_left = s->l2_slice_entries - (index & (s->l2_slice_entries - 1));
    uint64_t clusters = (in_cluster + length + s->cluster_size - 1) >> s->cluster_bits;
    if (clusters > slice_left)
        clusters = slice_left;
    if (clusters > (0x7fffffffull >> s->cluster_bits))
        clusters = 0x7fffffffull >> s->cluster_bits;
    uint64_t first_entry = qcow2_l2_entry_get(s, table, index);

    if (!qcow2_needs_new_alloc(s, first_entry)) {
        uint64_t keep = 1;
        uint64_t expected = first_entry & QCOW2_L2_OFFSET_MASK;
        while (keep < clusters) {
            uint64_t e = qcow2_l2_entry_get(s, table, index + keep);
            expected += s->cluster_size;
            if (qcow2_needs_new_alloc(s, e) || (e & QCOW2_L2_OFFSET_MASK) != expected)
                break;
            keep++;
        }
        uint64_t bytes = keep * s->cluster_size - in_cluster;
        if (bytes > length)
            bytes = length;
        if (host_out)
            *host_out = (first_entry & QCOW2_L2_OFFSET_MASK) + in_cluster;
        if (buf && qcow2_write_in_place(node, table, table_offset, index, offset, bytes, buf, errp) < 0)
            return -1;
        return (int64_t)bytes;
    }

    uint64_t count = 1;
    while (count < clusters && qcow2_needs_new_alloc(s, qcow2_l2_entry_get(s, table, index + count)))
        count++;
    uint64_t host;
    if (qcow2_has_data_file(s)) {
        host = qcow2_start_of_cluster(s, offset);
    } else {
        int64_t allocated = qcow2_clusters_alloc(node, count * s->cluster_size, errp);
        if (allocated < 0)
            return -1;
        host = (uint64_t)allocated;
        /* the allocation may have evicted the table from the cache */
        if (qcow2_l2_lookup(node, offset, &table, &table_offset, errp) < 0 || table == NULL)
            return -1;
    }
    uint64_t bytes = count * s->cluster_size - in_cluster;
    if (bytes > length)
        bytes = length;
    if (host_out)
        *host_out = host + in_cluster;

    uint64_t *old_entries = memory_alloc_array(count, 8);
    uint64_t *old_bitmaps = memory_alloc_array(count, 8);
    for (uint64_t i = 0; i < count; i++) {
        old_entries[i] = qcow2_l2_entry_get(s, table, index + i);
        old_bitmaps[i] = qcow2_l2_bitmap_get(s, table, index + i);
    }
    uint64_t region_start = 0, region_end = count * s->cluster_size;
    int64_t ret = -1;
    if (buf) {
        if (s->extended_l2) {
            /* qemu's calculate_l2_meta: an allocated old cluster is copied from its first allocated
             * subcluster (or the write's) to its last allocated one (or the write's); a compressed one
             * whole; an unallocated one only up to the written subclusters. */
            unsigned first_sc = (unsigned)(in_cluster >> s->subcluster_bits);
            uint64_t last = in_cluster + bytes;
            uint64_t last_cluster_base = (count - 1) * s->cluster_size;
            unsigned last_sc = (unsigned)(((last - 1) - last_cluster_base) >> s->subcluster_bits);
            region_start = (uint64_t)first_sc << s->subcluster_bits;
            region_end = ((last + s->subcluster_size - 1) >> s->subcluster_bits) << s->subcluster_bits;
            qcow2_type first_type = qcow2_cluster_type(s, old_entries[0]);
            qcow2_type last_type = qcow2_cluster_type(s, old_entries[count - 1]);
            if (first_type == QCOW2_TYPE_COMPRESSED) {
                region_start = 0;
            } else if (first_type == QCOW2_TYPE_NORMAL) {
                uint32_t alloc = (uint32_t)(old_bitmaps[0] & QCOW2_BITMAP_ALL_ALLOC);
                unsigned lead = alloc ? (unsigned)__builtin_ctz(alloc) : QCOW2_SUBCLUSTERS;
                region_start = (uint64_t)(lead < first_sc ? lead : first_sc) << s->subcluster_bits;
            }
            if (last_type == QCOW2_TYPE_COMPRESSED) {
                region_end = count * s->cluster_size;
            } else if (last_type == QCOW2_TYPE_NORMAL) {
                uint32_t alloc = (uint32_t)(old_bitmaps[count - 1] & QCOW2_BITMAP_ALL_ALLOC);
                unsigned trail = alloc ? (unsigned)__builtin_clz(alloc) : QCOW2_SUBCLUSTERS;
                unsigned after = QCOW2_SUBCLUSTERS - last_sc - 1;
                region_end = count * s->cluster_size - ((uint64_t)(trail < after ? trail : after) << s->subcluster_bits);
            }
        }
        uint8_t *region = memory_alloc_zero(region_end - region_start);
        uint64_t guest_base = qcow2_start_of_cluster(s, offset);
        int r = 0;
        if (region_start < in_cluster)
            r = qcow2_cow_read(node, guest_base, old_entries[0], old_bitmaps[0], region_start, in_cluster - region_start,
                               region, errp);
        uint64_t data_end = in_cluster + bytes;
        if (r == 0 && data_end < region_end) {
            uint64_t last_cluster = (data_end - 1) >> s->cluster_bits;
            uint64_t tail_in = data_end - (last_cluster << s->cluster_bits);
            r = qcow2_cow_read(node, guest_base + (last_cluster << s->cluster_bits), old_entries[last_cluster],
                               old_bitmaps[last_cluster], tail_in, region_end - data_end,
                               region + (data_end - region_start), errp);
        }
        if (r == 0) {
            memcpy(region + (in_cluster - region_start), buf, bytes);
            r = qcow2_data_write_check(node, host + region_start, region_end - region_start, errp);
            if (r == 0 && s->crypt_method)
                r = qcow2_crypt_run(node, true, host + region_start, guest_base + region_start, region,
                                    region_end - region_start, errp);
            if (r == 0)
                r = format_file_write(s->data_node, host + region_start, region_end - region_start, region, errp);
        }
        free(region);
        if (r < 0) {
            /* qemu's qcow2_alloc_cluster_abort: the clusters taken for the failed write are given back */
            if (!qcow2_has_data_file(s))
                qcow2_clusters_free(node, host, count * s->cluster_size, NULL);
            goto out;
        }
    }
    if (qcow2_l2_lookup(node, offset, &table, &table_offset, errp) < 0 || table == NULL)
        goto out;
    if (s->compatible_features & QCOW2_COMPAT_LAZY_REFCOUNTS)
        qcow2_mark_dirty(node, true, NULL);
    for (uint64_t i = 0; i < count; i++) {
        uint64_t entry = (host + i * s->cluster_size) | QCOW2_OFLAG_COPIED;
        uint64_t bitmap = old_bitmaps[i];
        uint8_t *slot = table + (index + i) * s->l2_entry_size;
        if (s->extended_l2 && buf) {
            uint64_t from = region_start > i * s->cluster_size ? region_start - i * s->cluster_size : 0;
            uint64_t to = region_end - i * s->cluster_size;
            if (to > s->cluster_size)
                to = s->cluster_size;
            uint64_t alloc = qcow2_alloc_range((unsigned)(from >> s->subcluster_bits),
                                               (unsigned)((to - 1) >> s->subcluster_bits));
            if (qcow2_cluster_type(s, old_entries[i]) == QCOW2_TYPE_COMPRESSED)
                bitmap = 0;
            bitmap = (bitmap | alloc) & ~(alloc << 32);
        } else if (s->extended_l2 && qcow2_cluster_type(s, old_entries[i]) == QCOW2_TYPE_COMPRESSED) {
            bitmap = 0;
        }
        endian_store_be64(slot, entry);
        if (s->extended_l2)
            endian_store_be64(slot + 8, bitmap);
    }
    if (s->metadata_writeback)
        format_cache_mark_dirty(&s->l2_cache, table_offset);
    else if (format_file_write(node->file, table_offset + index * s->l2_entry_size, count * s->l2_entry_size,
                              table + index * s->l2_entry_size, errp) < 0)
        goto out;
    for (uint64_t i = 0; i < count; i++)
        qcow2_entry_free(node, old_entries[i], NULL);
    ret = (int64_t)bytes;
out:
    free(old_entries);
    free(old_bitmaps);
    return ret;
}

/* Guest write (qemu's qcow2_co_pwritev_part with qcow2_alloc_host_offset). */
int qcow2_write(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, int flags, error **errp)
{
    qcow2_state *s = node->state;
    qcow2_inflated_forget(s);
    if (s->unusable)
        return error_set(errp, "No medium found");
    qcow2_bitmaps_mark(node, offset, length);
    while (length > 0) {
        int64_t done = qcow2_write_step(node, offset, length, buf, NULL, errp);
        if (done <= 0)
            return -1;
        offset += (uint64_t)done;
        buf += done;
        length -= (size_t)done;
    }
    return 0;
}

/* Metadata preallocation of [offset, offset+length); *end_offset gets the end of the last host range,
 * rounded up to a whole subcluster (a whole cluster without extended L2) as qemu sizes the file. */
int qcow2_preallocate(block_node *node, uint64_t offset, uint64_t length, uint64_t *end_offset, error **errp)
{
    qcow2_state *s = node->state;
    *end_offset = 0;
    while (length > 0) {
        uint64_t host = 0;
        int64_t done = qcow2_write_step(node, offset, length, NULL, &host, errp);
        if (done <= 0)
            return -1;
        *end_offset = (host + (uint64_t)done + s->subcluster_size - 1) & ~(s->subcluster_size - 1);
        offset += (uint64_t)done;
        length -= (uint64_t)done;
    }
    return 0;
}

/* Marks whole clusters of [offset, offset+length) as zero (qemu's zero_in_l2_slice loop). */
static int qcow2_zero_clusters(block_node *node, uint64_t offset, uint64_t clusters, int flags, error **errp)
{
    qcow2_state *s = node->state;
    while (clusters > 0) {
        uint8_t *table;
        uint64_t table_offset;
        if (qcow2_l2_prepare(node, offset, &table, &table_offset, errp) < 0)
            return -1;
        uint64_t index = qcow2_l2_index(s, offset);
        uint64_t n = s->l2_slice_entries - (index & (s->l2_slice_entries - 1));
        if (n > clusters)
            n = clusters;
        for (uint64_t i = 0; i < n; i++) {
            uint64_t old = qcow2_l2_entry_get(s, table, index + i);
            uint64_t old_bitmap = qcow2_l2_bitmap_get(s, table, index + i);
            qcow2_type type = qcow2_cluster_type(s, old);
            bool allocated = type == QCOW2_TYPE_NORMAL || type == QCOW2_TYPE_ZERO_ALLOC;
            bool unmap = type == QCOW2_TYPE_COMPRESSED || ((flags & BLOCK_WRITE_MAY_UNMAP) && allocated);
            uint64_t entry = unmap ? 0 : old;
            uint64_t bitmap = old_bitmap;
            if (s->extended_l2)
                bitmap = QCOW2_BITMAP_ALL_ZERO;
            else
                entry |= QCOW2_OFLAG_ZERO;
            if (entry == old && bitmap == old_bitmap)
                continue;
            if (qcow2_l2_entry_set(node, table, table_offset, index + i, entry, bitmap, errp) < 0)
                return -1;
            if (unmap) {
                /* clusters freed by a zero write are punched out of the file only on an image opened with
                 * discard=unmap (qemu's QCOW2_DISCARD_REQUEST) */
                bool saved = s->discard_freed;
                s->discard_freed = saved || s->discard_unmap;
                qcow2_entry_free(node, old, NULL);
                s->discard_freed = saved;
                if (qcow2_l2_lookup(node, offset, &table, &table_offset, errp) < 0 || table == NULL)
                    return -1;
            }
        }
        offset += n << s->cluster_bits;
        clusters -= n;
    }
    return 0;
}

/* Marks subclusters [first, first+count) of the cluster at offset as zero (extended L2). */
static int qcow2_zero_subclusters(block_node *node, uint64_t offset, unsigned first, unsigned count, error **errp)
{
    qcow2_state *s = node->state;
    uint8_t *table;
    uint64_t table_offset;
    if (qcow2_l2_prepare(node, offset, &table, &table_offset, errp) < 0)
        return -1;
    uint64_t index = qcow2_l2_index(s, offset);
    uint64_t entry = qcow2_l2_entry_get(s, table, index);
    uint64_t bitmap = qcow2_l2_bitmap_get(s, table, index);
    if (qcow2_cluster_type(s, entry) == QCOW2_TYPE_COMPRESSED)
        return error_set(errp, "Operation not supported");
    uint64_t range = qcow2_alloc_range(first, first + count - 1);
    uint64_t new_bitmap = (bitmap | (range << 32)) & ~range;
    if (new_bitmap == bitmap)
        return 0;
    return qcow2_l2_entry_set(node, table, table_offset, index, entry, new_bitmap, errp);
}

/* qemu's qcow2_subcluster_zeroize over a subcluster-aligned range (or one ending at the image end). */
int qcow2_zeroize(block_node *node, uint64_t offset, uint64_t length, int flags, error **errp)
{
    qcow2_state *s = node->state;
    uint64_t end = offset + length;
    if (qcow2_data_file_is_raw(s) && block_node_write_zeroes(s->data_node, offset, length, 0, errp) < 0)
        return -1;
    if (s->version < 3) {
        /* No zero flag before version 3; without a backing file a freed cluster reads as
         * zeroes, so the clusters are discarded instead, as qemu does. */
        if (node->backing)
            return error_set(errp, "Operation not supported");
        bool saved = s->discard_freed;
        s->discard_freed = saved || s->discard_unmap;
        int ret = qcow2_cluster_discard(node, offset, length, false, errp);
        s->discard_freed = saved;
        return ret;
    }
    uint64_t cluster_up = (offset + s->cluster_size - 1) & ~(s->cluster_size - 1);
    uint64_t head = (end < cluster_up ? end : cluster_up) - offset;
    offset += head;
    uint64_t tail = 0;
    if (end < node->size) {
        uint64_t tail_start = qcow2_start_of_cluster(s, end);
        tail = end - (offset > tail_start ? offset : tail_start);
    }
    end -= tail;
    if (head) {
        uint64_t start = offset - head;
        unsigned first = (unsigned)(qcow2_offset_into_cluster(s, start) >> s->subcluster_bits);
        unsigned count = (unsigned)((head + s->subcluster_size - 1) >> s->subcluster_bits);
        if (!s->extended_l2)
            return error_set(errp, "Operation not supported");
        if (qcow2_zero_subclusters(node, start, first, count, errp) < 0)
            return -1;
    }
    if (end > offset && qcow2_zero_clusters(node, offset, qcow2_size_to_clusters(s, end - offset), flags, errp) < 0)
        return -1;
    if (tail) {
        unsigned count = (unsigned)((tail + s->subcluster_size - 1) >> s->subcluster_bits);
        if (!s->extended_l2)
            return error_set(errp, "Operation not supported");
        if (qcow2_zero_subclusters(node, end, 0, count, errp) < 0)
            return -1;
    }
    return 0;
}

/* Whether [offset, offset+length) of this node reads as zeroes without looking at data. */
static bool qcow2_range_is_zero(block_node *node, uint64_t offset, uint64_t length)
{
    while (length > 0) {
        if (offset >= node->size)
            return true;
        qcow2_type type;
        uint64_t host, bytes;
        if (qcow2_host_offset_get(node, offset, length, &type, &host, &bytes, NULL, NULL) < 0 || bytes == 0)
            return false;
        if (type == QCOW2_TYPE_UNALLOCATED_PLAIN || type == QCOW2_TYPE_UNALLOCATED_ALLOC) {
            if (node->backing)
                return false;
        } else if (type != QCOW2_TYPE_ZERO_PLAIN && type != QCOW2_TYPE_ZERO_ALLOC) {
            return false;
        }
        if (bytes > length)
            bytes = length;
        offset += bytes;
        length -= bytes;
    }
    return true;
}

/* Writes zeroes: zero clusters where aligned, explicit zero data at unaligned edges that hold data. */
int qcow2_write_zeroes(block_node *node, uint64_t offset, uint64_t length, int flags, error **errp)
{
    qcow2_state *s = node->state;
    qcow2_inflated_forget(s);
    uint64_t end = offset + length;
    uint64_t head_start = offset & ~(s->subcluster_size - 1);
    uint64_t tail_end = (end + s->subcluster_size - 1) & ~(s->subcluster_size - 1);
    if (end >= node->size)
        tail_end = end;
    bool fallback = s->version < 3 && node->backing != NULL;
    qcow2_bitmaps_mark(node, offset, length);
    if (!fallback && (head_start < offset || tail_end > end)) {
        if (tail_end - head_start <= s->subcluster_size &&
            qcow2_range_is_zero(node, head_start, offset - head_start) &&
            qcow2_range_is_zero(node, end, tail_end - end)) {
            offset = head_start;
            end = tail_end;
        } else if (tail_end - head_start <= s->subcluster_size) {
            fallback = true;
        }
    }
    if (fallback) {
        if (flags & BLOCK_WRITE_NO_FALLBACK)
            return error_set(errp, "Operation not supported");
        uint8_t *zeroes = memory_alloc_zero(length < (1u << 20) ? (size_t)length : (1u << 20));
        int ret = 0;
        while (length > 0) {
            size_t n = length < (1u << 20) ? (size_t)length : (1u << 20);
            if (qcow2_write(node, offset, n, zeroes, 0, errp) < 0) {
                ret = -1;
                break;
            }
            offset += n;
            length -= n;
        }
        free(zeroes);
        return ret;
    }
    /* unaligned edges of a longer request: explicit zeroes there, zero clusters in between */
    uint64_t aligned_start = (offset + s->subcluster_size - 1) & ~(s->subcluster_size - 1);
    uint64_t aligned_end = end >= node->size ? end : (end & ~(s->subcluster_size - 1));
    if (aligned_start >= aligned_end) {
        aligned_start = offset;
        aligned_end = offset;
    }
    if (aligned_start > offset) {
        uint8_t *zeroes = memory_alloc_zero(aligned_start - offset);
        int ret = qcow2_write(node, offset, aligned_start - offset, zeroes, 0, errp);
        free(zeroes);
        if (ret < 0)
            return -1;
    }
    if (aligned_end > aligned_start && qcow2_zeroize(node, aligned_start, aligned_end - aligned_start, flags, errp) < 0)
        return -1;
    if (end > aligned_end && aligned_end >= offset) {
        uint64_t from = aligned_end > offset ? aligned_end : offset;
        uint8_t *zeroes = memory_alloc_zero(end - from);
        int ret = qcow2_write(node, from, end - from, zeroes, 0, errp);
        free(zeroes);
        if (ret < 0)
            return -1;
    }
    return 0;
}

/* The work of qcow2_cluster_discard. */
static int qcow2_cluster_discard_run(block_node *node, uint64_t offset, uint64_t length, bool full, error **errp)
{
    qcow2_state *s = node->state;
    uint64_t end = offset + length;
    uint64_t clusters = qcow2_size_to_clusters(s, end - offset);
    while (clusters > 0) {
        uint8_t *table;
        uint64_t table_offset;
        uint64_t index = qcow2_l2_index(s, offset);
        uint64_t n = s->l2_slice_entries - (index & (s->l2_slice_entries - 1));
        if (n > clusters)
            n = clusters;
        if (qcow2_l2_prepare(node, offset, &table, &table_offset, errp) < 0)
            return -1;
        for (uint64_t i = 0; i < n; i++) {
            uint64_t old = qcow2_l2_entry_get(s, table, index + i);
            uint64_t old_bitmap = qcow2_l2_bitmap_get(s, table, index + i);
            qcow2_type type = qcow2_cluster_type(s, old);
            bool allocated = type == QCOW2_TYPE_NORMAL || type == QCOW2_TYPE_ZERO_ALLOC ||
                             type == QCOW2_TYPE_COMPRESSED;
            uint64_t entry = old, bitmap = old_bitmap;
            if (full) {
                entry = 0;
                bitmap = 0;
            } else if (node->backing || allocated) {
                if (s->extended_l2) {
                    entry = 0;
                    bitmap = QCOW2_BITMAP_ALL_ZERO;
                } else {
                    entry = s->version >= 3 ? QCOW2_OFLAG_ZERO : 0;
                }
            }
            if (entry == old && bitmap == old_bitmap)
                continue;
            if (qcow2_l2_entry_set(node, table, table_offset, index + i, entry, bitmap, errp) < 0)
                return -1;
            qcow2_entry_free(node, old, NULL);
            if (qcow2_l2_lookup(node, offset, &table, &table_offset, errp) < 0 || table == NULL)
                return -1;
        }
        offset += n << s->cluster_bits;
        clusters -= n;
    }
    return 0;
}

/* qemu's qcow2_cluster_discard over whole clusters; full discards (shrink, emptying) also punch the freed
 * clusters out of the file as qemu's "always"/"snapshot" discards do. */
int qcow2_cluster_discard(block_node *node, uint64_t offset, uint64_t length, bool full, error **errp)
{
    qcow2_state *s = node->state;
    qcow2_inflated_forget(s);
    bool saved = s->discard_freed;
    s->discard_freed = saved || full;
    int ret = qcow2_cluster_discard_run(node, offset, length, full, errp);
    s->discard_freed = saved;
    return ret;
}

/* Guest discard (qemu's qcow2_co_pdiscard): whole clusters only. */
int qcow2_discard(block_node *node, uint64_t offset, uint64_t length, error **errp)
{
    qcow2_state *s = node->state;
    if (s->version < 3 && node->backing)
        return 0;
    qcow2_bitmaps_mark(node, offset, length);
    uint64_t start = (offset + s->cluster_size - 1) & ~(s->cluster_size - 1);
    uint64_t end = offset + length;
    if (end < node->size)
        end &= ~(s->cluster_size - 1);
    if (end <= start)
        return 0;
    bool saved = s->discard_freed;
    s->discard_freed = saved || s->discard_unmap;
    int ret = qcow2_cluster_discard(node, start, end - start, false, errp);
    s->discard_freed = saved;
    return ret;
}

/* qemu's qcow2_detect_metadata_preallocation: most clusters referenced but few really allocated. */
static bool qcow2_detect_metadata_prealloc(block_node *node)
{
    qcow2_state *s = node->state;
    int64_t file_length = block_node_length(node->file);
    int64_t real_allocation = block_node_allocated_size(node->file);
    if (file_length < 0 || real_allocation < 0)
        return false;
    int64_t real_clusters = real_allocation / (int64_t)s->cluster_size;
    int64_t threshold = real_clusters * 10 / 9;
    if (threshold < real_clusters + 2)
        threshold = real_clusters + 2;
    uint64_t end_cluster = qcow2_size_to_clusters(s, (uint64_t)file_length);
    int64_t count = 0;
    for (uint64_t i = 0; i < end_cluster && count < threshold; i++) {
        uint64_t refcount;
        if (qcow2_refcount_get(node, i, &refcount, NULL) < 0)
            return false;
        count += refcount != 0;
    }
    return count >= threshold;
}

/* Block status of this node only (qemu's qcow2_co_block_status). */
int qcow2_block_status(block_node *node, uint64_t offset, uint64_t length, block_status_result *out, error **errp)
{
    qcow2_state *s = node->state;
    qcow2_type type;
    uint64_t host, bytes;
    memset(out, 0, sizeof(*out));
    if (!s->metadata_prealloc_checked) {
        s->metadata_prealloc = qcow2_detect_metadata_prealloc(node);
        s->metadata_prealloc_checked = true;
    }
    if (length > 0x7fffffff)
        length = 0x7fffffff;
    if (qcow2_host_offset_get(node, offset, length, &type, &host, &bytes, NULL, errp) < 0)
        return -1;
    out->length = bytes;
    if ((type == QCOW2_TYPE_NORMAL || type == QCOW2_TYPE_ZERO_ALLOC || type == QCOW2_TYPE_UNALLOCATED_ALLOC) &&
        !node->encrypted) {
        out->map_offset = host;
        out->map_node = s->data_node;
        out->flags |= BLOCK_STATUS_OFFSET_VALID;
    }
    if (type == QCOW2_TYPE_ZERO_PLAIN || type == QCOW2_TYPE_ZERO_ALLOC)
        out->flags |= BLOCK_STATUS_ZERO;
    else if (type != QCOW2_TYPE_UNALLOCATED_PLAIN && type != QCOW2_TYPE_UNALLOCATED_ALLOC)
        out->flags |= BLOCK_STATUS_DATA;
    if (type == QCOW2_TYPE_COMPRESSED)
        out->flags |= BLOCK_STATUS_COMPRESSED;
    if (s->metadata_prealloc && (out->flags & BLOCK_STATUS_DATA) && (out->flags & BLOCK_STATUS_OFFSET_VALID))
        out->flags |= BLOCK_STATUS_RECURSE;
    return 0;
}
