/* vmdk_check.c — the consistency check of VMDK images as qemu 10.2 runs it: every allocated grain
 * must start inside its extent file; the first one that does not ends the check with EINVAL
 * (spec/vmdk.md §Check). It also tells the caller when guest data shares bytes with metadata. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "vmdk.h"
#include "../common/format_io.h"
#include "../../util/memory.h"
#include "../../util/report.h"

/* A byte range of an extent file that something (header, table, grain) occupies. */
typedef struct vmdk_check_range {
    uint64_t start;
    uint64_t end;
} vmdk_check_range;

typedef struct vmdk_check_ranges {
    vmdk_check_range *items;
    size_t count;
    size_t capacity;
    uint64_t max_end; /* the furthest byte any range reaches */
} vmdk_check_ranges;

/* Records [start, start+length): whole, even past the end of the file, where new grains will go
 * (file_length is unused: kept for the callers' symmetry). */
static void vmdk_check_range_add(vmdk_check_ranges *r, uint64_t start, uint64_t length, uint64_t file_length)
{
    (void)file_length;
    if (length == 0)
        return;
    uint64_t end = start + length < start ? UINT64_MAX : start + length;
    if (end > r->max_end)
        r->max_end = end;
    if (r->count == r->capacity) {
        r->capacity = r->capacity ? r->capacity * 2 : 64;
        r->items = memory_realloc(r->items, r->capacity * sizeof(*r->items));
    }
    r->items[r->count].start = start;
    r->items[r->count].end = end;
    r->count++;
}

/* Orders ranges by start. */
static int vmdk_check_range_compare(const void *a, const void *b)
{
    const vmdk_check_range *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Whether any two recorded ranges share a byte. */
static bool vmdk_check_ranges_overlap(vmdk_check_ranges *r)
{
    qsort(r->items, r->count, sizeof(*r->items), vmdk_check_range_compare);
    for (size_t i = 1; i < r->count; i++)
        if (r->items[i].start < r->items[i - 1].end)
            return true;
    return false;
}

/* Records the header, descriptor and both grain directories of sparse extent e. */
static void vmdk_check_metadata_add(const vmdk_extent *e, vmdk_check_ranges *r, uint64_t file_length)
{
    vmdk_check_range_add(r, 0, 512, file_length);
    vmdk_check_range_add(r, e->l1_offset, e->l1_loaded * 4, file_length);
    if (e->l1_backup)
        vmdk_check_range_add(r, e->l1_backup_offset, e->l1_loaded * 4, file_length);
    for (uint64_t i = 0; i < e->l1_loaded; i++) {
        if (e->l1_table[i])
            vmdk_check_range_add(r, (uint64_t)e->l1_table[i] * 512, e->l2_bytes, file_length);
        if (e->l1_backup && e->l1_backup[i])
            vmdk_check_range_add(r, (uint64_t)e->l1_backup[i] * 512, e->l2_bytes, file_length);
    }
}

/* Walks the grains of sparse extent e (guest sectors from first_sector): the first grain past the
 * end of the file is reported and fails the check. */
static int vmdk_check_extent(vmdk_extent *e, uint64_t first_sector, vmdk_check_ranges *r, error **errp)
{
    uint64_t file_length = format_file_length(e->file);
    uint64_t grains = e->sectors / e->cluster_sectors + (e->sectors % e->cluster_sectors != 0);
    if (grains > e->l1_loaded * e->gtes_per_gt)
        grains = e->l1_loaded * e->gtes_per_gt; /* the rest have no grain table */
    vmdk_check_metadata_add(e, r, file_length);
    for (uint64_t grain = 0; grain < grains; grain++) {
        uint64_t l1_index = grain / e->gtes_per_gt;
        if (e->l1_table[l1_index] == 0) {
            grain = (l1_index + 1) * e->gtes_per_gt - 1;
            continue;
        }
        uint32_t entry;
        uint64_t gt_sector;
        if (vmdk_grain_entry(e, grain, &entry, &gt_sector, errp) < 0)
            return -1;
        if (entry == 0 || (entry == VMDK_GTE_ZEROED && e->has_zero_grain))
            continue;
        if ((uint64_t)entry * 512 >= file_length) {
            report_text("ERROR: cluster offset for sector %" PRIu64 " points after EOF\n",
                        first_sector + grain * e->cluster_sectors);
            return error_set_errnum(errp, EINVAL, "Invalid argument");
        }
        if (!e->compressed)
            vmdk_check_range_add(r, (uint64_t)entry * 512, e->cluster_sectors * 512, file_length);
    }
    return 0;
}

int vmdk_check(block_node *node, check_result *result, int fix, error **errp)
{
    vmdk_state *s = node->state;
    if (fix)
        return -ENOTSUP;
    int ret = 0;
    uint64_t first_sector = 0;
    for (size_t i = 0; i < s->extent_count && ret == 0; i++) {
        vmdk_extent *e = &s->extents[i];
        if (e->kind == VMDK_EXTENT_SPARSE && e->cluster_sectors) {
            vmdk_check_ranges ranges = {0};
            ret = vmdk_check_extent(e, first_sector, &ranges, errp);
            /* grains allocated later go from next_cluster_sector on: anything reaching there
             * would share bytes with them */
            if (ret == 0 && (vmdk_check_ranges_overlap(&ranges) || ranges.max_end > e->next_cluster_sector * 512))
                result->data_aliases_metadata = true;
            free(ranges.items);
        }
        first_sector = e->end_sector;
    }
    return ret;
}
