/* qed_check.c — the QED consistency check: every L2 table and data cluster referenced once, inside
 * the file and aligned; what qemu 10.2 repairs (offsets that point where they may not are cleared)
 * and what it only reports (duplicates, leaks) (spec/qed.md §Check). */
#include <string.h>

#include "qed.h"
#include "../common/format_io.h"
#include "../common/format_refmap.h"

/* What one check walk carries. */
typedef struct qed_check_walk {
    block_node *node;
    check_result *result;
    format_refmap map;
    uint64_t file_size;
    uint64_t next_contiguous;
    bool fix;
} qed_check_walk;

/* Counts [offset, offset+length) as referenced; the number of its clusters referenced before. */
static uint64_t qed_check_reference(qed_check_walk *walk, uint64_t offset, uint64_t length)
{
    format_refmap_tally tally;
    memset(&tally, 0, sizeof(tally));
    format_refmap_reference(&walk->map, offset, length, UINT64_MAX, &tally);
    return tally.duplicates;
}

/* Checks the data cluster entries of the L2 table at l2_offset; invalid ones are cleared when fixing. */
static int qed_check_l2_table(qed_check_walk *walk, uint64_t l2_offset, error **errp)
{
    qed_state *s = walk->node->state;
    uint64_t cluster_size = s->header.cluster_size;
    uint8_t *table = format_cache_get(&s->l2_cache, l2_offset, errp);
    if (table == NULL)
        return -1;
    uint64_t first_fixed = UINT64_MAX, last_fixed = 0, fixed = 0;
    walk->next_contiguous = 0; /* fragmentation is counted within each L2 table */
    for (uint64_t i = 0; i < s->table_entries; i++) {
        uint64_t entry = format_table_entry_load(&s->layout, table, i);
        if (entry == QED_ENTRY_UNALLOCATED || entry == QED_ENTRY_ZERO)
            continue;
        format_check_count_allocated(walk->result, &walk->next_contiguous, entry, cluster_size);
        if (!qed_cluster_offset_valid(&s->header, entry, walk->file_size)) {
            walk->result->corruptions++;
            if (walk->fix) {
                format_table_entry_store(&s->layout, table, i, QED_ENTRY_UNALLOCATED);
                first_fixed = first_fixed < i ? first_fixed : i;
                last_fixed = i;
                fixed++;
            }
            continue;
        }
        if (qed_check_reference(walk, entry, cluster_size) > 0)
            walk->result->corruptions++;
    }
    if (first_fixed == UINT64_MAX)
        return 0;
    if (format_file_write(walk->node->file, l2_offset + first_fixed * 8, (size_t)((last_fixed - first_fixed + 1) * 8),
                          table + first_fixed * 8, errp) < 0)
        return -1;
    walk->result->corruptions_fixed += (int64_t)fixed;
    return 0;
}

/* Checks one L1 entry: an invalid L2 offset is cleared when fixing, a table sharing clusters with
 * other metadata is reported and not walked, any other table is walked. */
static void qed_check_l1_entry(qed_check_walk *walk, uint64_t index)
{
    qed_state *s = walk->node->state;
    uint64_t l2_offset = s->l1_table[index];
    if (!qed_table_offset_valid(&s->header, l2_offset, walk->file_size)) {
        walk->result->corruptions++;
        if (walk->fix) {
            s->l1_table[index] = 0;
            if (format_table_write(walk->node->file, &s->layout, s->header.l1_table_offset, s->l1_table, index, 1,
                                   NULL) == 0)
                walk->result->corruptions_fixed++;
            else
                walk->result->check_errors++;
        }
        return;
    }
    uint64_t duplicates = qed_check_reference(walk, l2_offset, s->table_bytes);
    if (duplicates > 0) {
        walk->result->corruptions += (int64_t)duplicates;
        return;
    }
    if (qed_check_l2_table(walk, l2_offset, NULL) < 0)
        walk->result->check_errors++;
}

/* Counts the clusters after the header that nothing references. */
static void qed_check_leaks_count(qed_check_walk *walk)
{
    qed_state *s = walk->node->state;
    uint64_t clusters = format_file_length(walk->node->file) / s->header.cluster_size;
    for (uint64_t c = s->header.header_size; c < clusters; c++)
        if (format_refmap_get(&walk->map, c) == 0)
            walk->result->leaks++;
}

int qed_check(block_node *node, check_result *result, int fix, error **errp)
{
    qed_state *s = node->state;
    qed_check_walk walk;
    memset(&walk, 0, sizeof(walk));
    memset(result, 0, sizeof(*result));
    walk.node = node;
    walk.result = result;
    walk.file_size = qed_file_size(node);
    walk.fix = fix != 0 && s->writable;
    format_refmap_init(&walk.map, s->cluster_bits, walk.file_size);
    uint64_t cluster_size = s->header.cluster_size;
    result->total_clusters = (int64_t)((s->header.image_size / cluster_size) + (s->header.image_size % cluster_size != 0));
    qed_check_reference(&walk, s->header.l1_table_offset, s->table_bytes);
    for (uint64_t i = 0; i < s->table_entries; i++) {
        if (s->l1_table[i] == 0)
            continue;
        qed_check_l1_entry(&walk, i);
    }
    qed_check_leaks_count(&walk);
    format_refmap_free(&walk.map);
    int ret = 0;
    if (walk.fix) {
        s->header.features &= ~QED_F_NEED_CHECK;
        s->need_check_set = false;
        ret = qed_header_update(node, errp);
    }
    return ret;
}
