/* vhdx_check.c — what qemu 10.2 checks in a VHDX image: the present payload blocks against the end of
 * the file and the log, BAT and metadata regions, and a log replayed by the open (spec/vhdx.md §Check). */
#include <errno.h>
#include <stdlib.h>

#include "vhdx.h"
#include "../common/format_io.h"
#include "../common/format_table.h"
#include "../../util/endian.h"
#include "../../util/report.h"

/* The regions a payload block may not overlap, in the order qemu reports them. */
static void vhdx_check_regions(const vhdx_state *s, uint64_t starts[3], uint64_t ends[3])
{
    const vhdx_header *h = &s->headers[s->current];
    starts[0] = s->metadata_region.file_offset;
    ends[0] = starts[0] + s->metadata_region.length;
    starts[1] = s->bat_region.file_offset;
    ends[1] = starts[1] + s->bat_region.length;
    starts[2] = h->log_offset;
    ends[2] = starts[2] + h->log_length;
}

/* Checks one present block [start, start + block_size) of BAT index: reports and returns 1 when it
 * lies past the end of the file or overlaps a region, else 0. */
static int vhdx_bat_entry_validate(const vhdx_state *s, uint64_t index, uint64_t start, uint64_t file_length)
{
    uint64_t end = start + s->params.block_size;
    uint64_t starts[3], ends[3];
    if (start >= file_length) {
        report_text("qemu-img: VHDX BAT entry %llu start offset %llu points after end of file (%llu). Image has "
                    "probably been truncated.\n",
                    (unsigned long long)index, (unsigned long long)start, (unsigned long long)file_length);
        return 1;
    }
    if (end > file_length) {
        report_text("qemu-img: VHDX BAT entry %llu end offset %llu points after end of file (%llu). Image has "
                    "probably been truncated.\n",
                    (unsigned long long)index, (unsigned long long)(end - 1), (unsigned long long)file_length);
        return 1;
    }
    vhdx_check_regions(s, starts, ends);
    for (int i = 0; i < 3; i++) {
        if (format_ranges_overlap(start, end - start, starts[i], ends[i] - starts[i])) {
            report_text("qemu-img: VHDX region %llu-%llu overlaps with region %llu-%llu\n", (unsigned long long)start,
                        (unsigned long long)end, (unsigned long long)starts[i], (unsigned long long)ends[i]);
            return 1;
        }
    }
    return 0;
}

int64_t vhdx_bat_validate(block_node *node, vhdx_state *s, bool stop_at_first)
{
    uint64_t file_length = format_file_length(node->file);
    int64_t found = 0;
    for (uint64_t i = 0; i < s->bat_entries; i++) {
        uint64_t entry = endian_load_le64(s->bat + 8 * i);
        if ((entry & VHDX_BAT_STATE_MASK) != VHDX_BLOCK_FULLY_PRESENT)
            continue;
        found += vhdx_bat_entry_validate(s, i, entry & VHDX_BAT_OFFSET_MASK, file_length);
        if (found > 0 && stop_at_first)
            break;
    }
    return found;
}

/* Orders block offsets for qsort. */
static int vhdx_check_offset_compare(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Whether two present blocks share bytes, or one lies in the first MiB (identifier, headers, region
 * tables): qemu reports neither. */
static bool vhdx_check_blocks_alias(const vhdx_state *s)
{
    uint64_t *starts = malloc(sizeof(uint64_t) * (s->bat_entries ? s->bat_entries : 1));
    uint64_t count = 0;
    bool alias = false;
    for (uint64_t i = 0; i < s->bat_entries; i++) {
        uint64_t entry = endian_load_le64(s->bat + 8 * i);
        if ((entry & VHDX_BAT_STATE_MASK) == VHDX_BLOCK_FULLY_PRESENT)
            starts[count++] = entry & VHDX_BAT_OFFSET_MASK;
    }
    qsort(starts, count, sizeof(uint64_t), vhdx_check_offset_compare);
    for (uint64_t i = 0; i < count && !alias; i++)
        alias = starts[i] < VHDX_MIB || (i + 1 < count && starts[i + 1] - starts[i] < s->params.block_size);
    free(starts);
    return alias;
}

/* Whether guest writes may change bytes other guest blocks or the metadata read, damage qemu does
 * not report: blocks sharing bytes, or a region (log, BAT, metadata) reaching past the end of the
 * file, where new blocks go. */
static bool vhdx_check_aliases(block_node *node, const vhdx_state *s)
{
    uint64_t starts[3], ends[3];
    uint64_t file_length = format_file_length(node->file);
    vhdx_check_regions(s, starts, ends);
    for (int i = 0; i < 3; i++)
        if (ends[i] > starts[i] && ends[i] > file_length)
            return true;
    return vhdx_check_blocks_alias(s);
}

int vhdx_check(block_node *node, check_result *result, int fix, error **errp)
{
    vhdx_state *s = node->state;
    (void)fix;
    (void)errp;
    result->data_aliases_metadata = vhdx_check_aliases(node, s);
    if (s->log_replayed_on_open) {
        result->corruptions_fixed++;
        s->log_replayed_on_open = false;
    }
    result->corruptions += vhdx_bat_validate(node, s, false);
    return 0;
}
