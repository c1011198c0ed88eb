/* qed_io.c — QED guest I/O: cluster lookup through L1 and L2 tables, reads (backing file for
 * unallocated clusters), allocating writes (data clusters first, then a new L2 table, then the L1
 * entry), zero writes (zero clusters) and block status (spec/qed.md §Tables, §Allocation). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "qed.h"
#include "../common/format_io.h"
#include "../../util/memory.h"

/* What a run of guest clusters is. */
typedef enum qed_cluster_kind {
    QED_CLUSTER_NO_L2,        /* its L2 table is not allocated */
    QED_CLUSTER_UNALLOCATED,  /* L2 entry 0: reads from the backing file */
    QED_CLUSTER_ZERO,         /* L2 entry 1: reads as zeroes */
    QED_CLUSTER_DATA,         /* L2 entry: a data cluster in the file */
} qed_cluster_kind;

/* A run of guest bytes with one kind (contiguous on the host for data), inside one L2 table. */
typedef struct qed_run {
    qed_cluster_kind kind;
    uint64_t length;
    uint64_t host;            /* data: the host offset of the run's first byte */
    uint64_t l1_index;
    uint64_t l2_offset;       /* 0 for QED_CLUSTER_NO_L2 */
    uint64_t l2_index;        /* entry of the run's first cluster */
} qed_run;

/* The error qemu reports for metadata pointing where it may not ("Invalid argument"). */
static int qed_invalid_metadata_error(error **errp)
{
    int ret = error_set_errnum(errp, EINVAL, "Invalid argument");
    if (errp && *errp)
        (*errp)->kind = ERROR_KIND_CORRUPT;
    return ret;
}

/* The kind of one L2 entry; -1 when it is an invalid data cluster offset. */
static int qed_entry_classify(const qed_state *s, uint64_t entry, uint64_t file_size, qed_cluster_kind *kind)
{
    if (entry == QED_ENTRY_UNALLOCATED)
        *kind = QED_CLUSTER_UNALLOCATED;
    else if (entry == QED_ENTRY_ZERO)
        *kind = QED_CLUSTER_ZERO;
    else if (qed_cluster_offset_valid(&s->header, entry, file_size))
        *kind = QED_CLUSTER_DATA;
    else
        return -1;
    return 0;
}

/* The cached L2 table at l2_offset after checking the offset against the file; NULL on failure. */
static uint8_t *qed_l2_table_get(block_node *node, uint64_t l2_offset, error **errp)
{
    qed_state *s = node->state;
    if (!qed_table_offset_valid(&s->header, l2_offset, qed_file_size(node))) {
        qed_invalid_metadata_error(errp);
        return NULL;
    }
    return format_cache_get(&s->l2_cache, l2_offset, errp);
}

/* Finds the run at guest offset, at most length bytes long. */
static int qed_run_find(block_node *node, uint64_t offset, uint64_t length, qed_run *run, error **errp)
{
    qed_state *s = node->state;
    uint64_t cluster_size = s->header.cluster_size;
    uint64_t l2_span_bits = s->cluster_bits + s->table_bits;
    memset(run, 0, sizeof(*run));
    run->l1_index = offset >> l2_span_bits;
    if (run->l1_index >= s->table_entries)
        return qed_invalid_metadata_error(errp);
    uint64_t l2_end = (run->l1_index + 1) << l2_span_bits;
    uint64_t limit = length < l2_end - offset ? length : l2_end - offset;
    run->l2_index = (offset >> s->cluster_bits) & (s->table_entries - 1);
    run->l2_offset = s->l1_table[run->l1_index];
    if (run->l2_offset == 0) {
        run->kind = QED_CLUSTER_NO_L2;
        run->length = limit;
        return 0;
    }
    uint8_t *table = qed_l2_table_get(node, run->l2_offset, errp);
    if (table == NULL)
        return -1;
    uint64_t file_size = qed_file_size(node);
    uint64_t entry = format_table_entry_load(&s->layout, table, run->l2_index);
    if (qed_entry_classify(s, entry, file_size, &run->kind) < 0)
        return qed_invalid_metadata_error(errp);
    uint64_t in_cluster = offset & (cluster_size - 1);
    run->host = run->kind == QED_CLUSTER_DATA ? entry + in_cluster : 0;
    run->length = cluster_size - in_cluster;
    uint64_t index = run->l2_index + 1, expected = entry + cluster_size;
    while (run->length < limit && index < s->table_entries) {
        uint64_t next = format_table_entry_load(&s->layout, table, index);
        qed_cluster_kind kind;
        if (qed_entry_classify(s, next, file_size, &kind) < 0 || kind != run->kind)
            break;
        if (kind == QED_CLUSTER_DATA && next != expected)
            break;
        run->length += cluster_size;
        expected += cluster_size;
        index++;
    }
    if (run->length > limit)
        run->length = limit;
    return 0;
}

int qed_read(block_node *node, uint64_t offset, size_t length, uint8_t *buf, error **errp)
{
    while (length > 0) {
        qed_run run;
        if (qed_run_find(node, offset, length, &run, errp) < 0)
            return -1;
        size_t n = (size_t)run.length;
        int ret = 0;
        if (run.kind == QED_CLUSTER_DATA)
            ret = format_file_read(node->file, run.host, n, buf, errp);
        else if (run.kind == QED_CLUSTER_ZERO)
            memset(buf, 0, n);
        else
            ret = block_node_read_backing(node, offset, n, buf, errp);
        if (ret < 0)
            return -1;
        offset += n;
        buf += n;
        length -= n;
    }
    return 0;
}

/* Marks the image as needing a check before its first allocation (qemu's QED_F_NEED_CHECK), so that
 * an interrupted allocation is found on the next open. */
static int qed_need_check_mark(block_node *node, error **errp)
{
    qed_state *s = node->state;
    if (s->header.features & QED_F_NEED_CHECK)
        return 0;
    s->header.features |= QED_F_NEED_CHECK;
    s->need_check_set = true;
    return qed_header_update(node, errp);
}

/* Takes count bytes (a multiple of the cluster size) at the end of the file. */
static uint64_t qed_clusters_alloc(qed_state *s, uint64_t bytes)
{
    uint64_t offset = s->file_end;
    s->file_end += bytes;
    return offset;
}

/* Writes the guest content of [guest, guest+length) of a cluster being allocated at host: zeroes for
 * a zero cluster, the backing file's bytes otherwise (copy-on-write), in pieces of at most 1 MiB. */
static int qed_cluster_fill(block_node *node, qed_cluster_kind kind, uint64_t guest, uint64_t host, uint64_t length,
                            error **errp)
{
    if (length == 0)
        return 0;
    if (kind == QED_CLUSTER_ZERO || node->backing == NULL)
        return format_file_write_zeroes(node->file, host, length, errp);
    size_t chunk = length < (1u << 20) ? (size_t)length : (1u << 20);
    uint8_t *buf = memory_alloc_zero(chunk);
    int ret = 0;
    while (length > 0 && ret == 0) {
        size_t n = length < chunk ? (size_t)length : chunk;
        ret = block_node_read_backing(node, guest, n, buf, errp);
        if (ret == 0)
            ret = format_file_write(node->file, host, n, buf, errp);
        guest += n;
        host += n;
        length -= n;
    }
    free(buf);
    return ret;
}

/* Points count entries of run's L2 table, from run->l2_index, at values first, first + step, ...:
 * a new L2 table is allocated (after any data just allocated), written whole and linked into L1. */
static int qed_l2_entries_set(block_node *node, qed_run *run, uint64_t count, uint64_t first, uint64_t step,
                              error **errp)
{
    qed_state *s = node->state;
    bool new_table = run->l2_offset == 0;
    uint8_t *table;
    if (new_table) {
        run->l2_offset = qed_clusters_alloc(s, s->table_bytes);
        table = format_cache_get_empty(&s->l2_cache, run->l2_offset, errp);
    } else {
        table = qed_l2_table_get(node, run->l2_offset, errp);
    }
    if (table == NULL)
        return -1;
    for (uint64_t i = 0; i < count; i++)
        format_table_entry_store(&s->layout, table, run->l2_index + i, first + i * step);
    if (!new_table)
        return format_file_write(node->file, run->l2_offset + run->l2_index * 8, (size_t)(count * 8),
                                 table + run->l2_index * 8, errp);
    if (format_file_write(node->file, run->l2_offset, (size_t)s->table_bytes, table, errp) < 0)
        return -1;
    s->l1_table[run->l1_index] = run->l2_offset;
    return format_table_write(node->file, &s->layout, s->header.l1_table_offset, s->l1_table, run->l1_index, 1,
                              errp);
}

/* Allocates the clusters under run (an unallocated or zero run) and writes length bytes of buf at
 * guest offset into them, with the rest of each cluster filled as the run reads. */
static int qed_run_allocate_write(block_node *node, qed_run *run, uint64_t offset, const uint8_t *buf,
                                  error **errp)
{
    qed_state *s = node->state;
    uint64_t cluster_size = s->header.cluster_size;
    uint64_t start = offset & ~(cluster_size - 1);
    uint64_t end = format_align_up(offset + run->length, cluster_size);
    uint64_t clusters = (end - start) / cluster_size;
    if (qed_need_check_mark(node, errp) < 0)
        return -1;
    uint64_t host = qed_clusters_alloc(s, clusters * cluster_size);
    if (qed_cluster_fill(node, run->kind, start, host, offset - start, errp) < 0 ||
        format_file_write(node->file, host + (offset - start), (size_t)run->length, buf, errp) < 0 ||
        qed_cluster_fill(node, run->kind, offset + run->length, host + (offset - start) + run->length,
                         end - offset - run->length, errp) < 0)
        return -1;
    return qed_l2_entries_set(node, run, clusters, host, cluster_size, errp);
}

int qed_write(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, int flags, error **errp)
{
    (void)flags;
    while (length > 0) {
        qed_run run;
        if (qed_run_find(node, offset, length, &run, errp) < 0)
            return -1;
        int ret;
        if (run.kind == QED_CLUSTER_DATA)
            ret = format_file_write(node->file, run.host, (size_t)run.length, buf, errp);
        else
            ret = qed_run_allocate_write(node, &run, offset, buf, errp);
        if (ret < 0)
            return -1;
        offset += run.length;
        buf += run.length;
        length -= (size_t)run.length;
    }
    return 0;
}

/* Writes zero bytes through the ordinary write path (parts of clusters). */
static int qed_zero_bytes_write(block_node *node, uint64_t offset, uint64_t length, error **errp)
{
    if (length == 0)
        return 0;
    uint8_t *zeroes = memory_alloc_zero((size_t)length);
    int ret = qed_write(node, offset, (size_t)length, zeroes, 0, errp);
    free(zeroes);
    return ret;
}

/* Zeroes whole clusters: data clusters are overwritten in place, unallocated ones become zero
 * clusters (allocating their L2 table when needed), zero clusters stay. */
static int qed_clusters_zero(block_node *node, uint64_t offset, uint64_t length, error **errp)
{
    qed_state *s = node->state;
    while (length > 0) {
        qed_run run;
        if (qed_run_find(node, offset, length, &run, errp) < 0)
            return -1;
        int ret = 0;
        if (run.kind == QED_CLUSTER_DATA) {
            ret = format_file_write_zeroes(node->file, run.host, run.length, errp);
        } else if (run.kind != QED_CLUSTER_ZERO) {
            if (run.kind == QED_CLUSTER_NO_L2)
                ret = qed_need_check_mark(node, errp);
            if (ret == 0)
                ret = qed_l2_entries_set(node, &run, run.length >> s->cluster_bits, QED_ENTRY_ZERO, 0, errp);
        }
        if (ret < 0)
            return -1;
        offset += run.length;
        length -= run.length;
    }
    return 0;
}

int qed_write_zeroes(block_node *node, uint64_t offset, uint64_t length, int flags, error **errp)
{
    qed_state *s = node->state;
    (void)flags;
    uint64_t cluster_size = s->header.cluster_size;
    uint64_t head_end = format_align_up(offset, cluster_size);
    uint64_t end = offset + length;
    uint64_t tail_start = end & ~(cluster_size - 1);
    if (head_end >= tail_start)
        return qed_zero_bytes_write(node, offset, length, errp);
    if (qed_zero_bytes_write(node, offset, head_end - offset, errp) < 0 ||
        qed_clusters_zero(node, head_end, tail_start - head_end, errp) < 0 ||
        qed_zero_bytes_write(node, tail_start, end - tail_start, errp) < 0)
        return -1;
    return 0;
}

int qed_block_status(block_node *node, uint64_t offset, uint64_t length, block_status_result *out, error **errp)
{
    qed_run run;
    memset(out, 0, sizeof(*out));
    if (qed_run_find(node, offset, length, &run, errp) < 0)
        return -1;
    out->length = run.length;
    if (run.kind == QED_CLUSTER_DATA) {
        out->flags = BLOCK_STATUS_DATA | BLOCK_STATUS_OFFSET_VALID;
        out->map_offset = run.host;
        out->map_node = node->file;
    } else if (run.kind == QED_CLUSTER_ZERO) {
        out->flags = BLOCK_STATUS_ZERO;
    }
    return 0;
}
