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

/* Whether a region (log, BAT, metadata) reaches past the end of the file: new blocks go at the end
 * of the file and then share bytes with it, as in qemu, which reports nothing before that happens. */
static bool vhdx_check_aliases(block_node *node, const vhdx_state *s)
{
    uint64_t starts[3], ends[3];
    uint64_t file_length = format_file_length(node->file);
    vhdx_check_regions(s, starts, ends);
    for (int i = 0; i < 3; i++)
        if (ends[i] > starts[i] && ends[i] > file_length)
            return true;
    return false;
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
