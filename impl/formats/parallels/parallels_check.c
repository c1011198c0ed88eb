/* parallels_check.c — `check` of a Parallels image and its repairs, in qemu 10.2's order and wording:
 * unclean close, data_off, clusters outside the file, leaked tail, duplicate BAT entries, statistics
 * (spec/parallels.md §Check). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "parallels.h"
#include "../common/format_io.h"
#include "../common/format_refmap.h"
#include "../../util/memory.h"
#include "../../util/report.h"

/* Beyond this many BAT entries outside a tiny file, further ones are counted without a line each. */
#define PARALLELS_CHECK_MAX_LINES (1u << 20)

/* "ERROR what" or, when the fix is applied, "Repairing what". */
static const char *parallels_check_prefix(bool fixing)
{
    return fixing ? "Repairing" : "ERROR";
}

/* One corruption found; fixed when fixing. */
static void parallels_check_corruption(check_result *result, bool fixing)
{
    result->corruptions++;
    if (fixing)
        result->corruptions_fixed++;
}

/* The header's inuse field says the image was not closed. */
static void parallels_check_unclean(parallels_state *s, check_result *result, int fix)
{
    if (!s->header_unclean)
        return;
    bool fixing = (fix & CHECK_FIX_ERRORS) != 0;
    report_text("%s image was not closed correctly\n", parallels_check_prefix(fixing));
    parallels_check_corruption(result, fixing);
    if (fixing)
        s->header_unclean = false;
}

/* data_off below the header and BAT or past the file, tested again each time (a fixed value can
 * still lie past a file shorter than the data area start); corrected in the header when fixing. */
static void parallels_check_data_off(block_node *node, check_result *result, int fix)
{
    parallels_state *s = node->state;
    uint64_t file_sectors = (format_file_length(node->file) + PARALLELS_SECTOR_SIZE - 1) / PARALLELS_SECTOR_SIZE;
    uint32_t data_off = s->header.data_off;
    bool valid = (data_off == 0 && !s->new_format) ||
                 (data_off >= parallels_header_min_data_off(&s->header) && data_off <= file_sectors);
    s->data_off_bad = !valid;
    if (valid)
        return;
    bool fixing = (fix & CHECK_FIX_ERRORS) != 0;
    report_text("%s data_off field has incorrect value\n", parallels_check_prefix(fixing));
    parallels_check_corruption(result, fixing);
    if (fixing) {
        s->header.data_off = parallels_header_min_data_off(&s->header);
        s->data_off_bad = false;
    }
}

/* Entries whose cluster ends past the file (qemu tests every entry, unallocated ones as offset 0);
 * *high_off receives the end of the highest cluster inside the file (the data area start when there is
 * none; it may lie before the data area start when data_off was wrong). */
static int parallels_check_outside(block_node *node, check_result *result, int fix, uint64_t *high_off,
                                   error **errp)
{
    parallels_state *s = node->state;
    uint64_t file_length = parallels_file_length(node);
    bool fixing = (fix & CHECK_FIX_ERRORS) != 0;
    uint64_t count = s->header.bat_entries, found = 0, last_fixed = 0;
    /* Unallocated entries are outside only when one cluster is larger than the file. */
    uint64_t scan = s->cluster_size > file_length ? count : s->bat_loaded;
    *high_off = 0;
    for (uint64_t i = 0; i < scan; i++) {
        if (i >= s->bat_loaded && i >= PARALLELS_CHECK_MAX_LINES) {
            /* the rest are unallocated entries, every one outside: counted, not listed */
            result->corruptions += (int64_t)(scan - i);
            found += scan - i;
            last_fixed = scan - 1;
            if (fixing)
                result->corruptions_fixed += (int64_t)(scan - i);
            break;
        }
        uint64_t off = parallels_bat_offset(s, i);
        if (off + s->cluster_size <= file_length) {
            if (off != 0 && off + s->cluster_size > *high_off)
                *high_off = off + s->cluster_size;
            continue;
        }
        if (i < PARALLELS_CHECK_MAX_LINES)
            report_text("%s cluster %llu is outside image\n", parallels_check_prefix(fixing), (unsigned long long)i);
        parallels_check_corruption(result, fixing);
        found++;
        last_fixed = i;
        if (fixing && off != 0 && parallels_bat_store(node, i, 0, errp) < 0)
            return -1;
    }
    /* qemu writes back the BAT sector of every entry it clears, unallocated ones too: a file shorter
     * than the BAT grows to the end of the last such sector (which a later data_off test sees). */
    if (fixing && found) {
        uint64_t table_end = PARALLELS_HEADER_SIZE + 4 * (last_fixed + 1);
        table_end = (table_end + PARALLELS_SECTOR_SIZE - 1) / PARALLELS_SECTOR_SIZE * PARALLELS_SECTOR_SIZE;
        if (table_end > format_file_length(node->file) &&
            block_node_truncate(node->file, table_end, false, BLOCK_PREALLOCATION_OFF, false, errp) < 0)
            return -1;
    }
    if (*high_off == 0) /* no cluster inside the file: qemu falls back to the data end */
        *high_off = s->data_end * PARALLELS_SECTOR_SIZE;
    /* qemu moves the data end to the highest cluster left inside the file, and leaves it when none is
     * (the close then cuts, or grows, the file to it). */
    if (fixing && found) {
        uint64_t data_end = s->data_end;
        parallels_used_map_fill(node);
        uint64_t in_file = 0;
        for (uint64_t i = 0; i < s->bat_loaded; i++) {
            uint64_t off = parallels_bat_offset(s, i);
            if (off != 0 && off + s->cluster_size > in_file)
                in_file = off + s->cluster_size;
        }
        s->data_end = in_file ? in_file / PARALLELS_SECTOR_SIZE : data_end;
    }
    return 0;
}

/* Bytes of the file after high_off; cut off when fixing leaks. */
static int parallels_check_leak(block_node *node, check_result *result, int fix, uint64_t high_off, error **errp)
{
    parallels_state *s = node->state;
    uint64_t file_length = parallels_file_length(node);
    if (file_length <= high_off)
        return 0;
    uint64_t bytes = file_length - high_off;
    uint64_t clusters = (bytes + s->cluster_size - 1) / s->cluster_size;
    bool fixing = (fix & CHECK_FIX_LEAKS) != 0;
    report_text("%s space leaked at the end of the image %llu\n", parallels_check_prefix(fixing),
                (unsigned long long)bytes);
    result->leaks += (int64_t)clusters;
    if (!fixing)
        return 0;
    if (block_node_truncate(node->file, high_off, false, BLOCK_PREALLOCATION_OFF, true, errp) < 0) {
        result->check_errors++;
        return -1;
    }
    result->leaks_fixed += (int64_t)clusters;
    parallels_used_map_fill(node);
    return 0;
}

/* Copies the cluster of BAT entry index to a newly allocated one and points the entry there. */
static int parallels_check_cluster_copy(block_node *node, uint64_t index, uint64_t *new_host, error **errp)
{
    parallels_state *s = node->state;
    uint64_t old_host = parallels_bat_offset(s, index);
    if (parallels_cluster_allocate(node, new_host, errp) < 0)
        return -1;
    size_t chunk = s->cluster_size < (1u << 20) ? (size_t)s->cluster_size : (1u << 20);
    uint8_t *buf = memory_alloc_zero(chunk);
    int ret = 0;
    for (uint64_t done = 0; ret == 0 && done < s->cluster_size; done += chunk) {
        size_t n = s->cluster_size - done < chunk ? (size_t)(s->cluster_size - done) : chunk;
        if (format_file_read(node->file, old_host + done, n, buf, errp) < 0 ||
            format_file_write(node->file, *new_host + done, n, buf, errp) < 0)
            ret = -1;
    }
    free(buf);
    if (ret == 0)
        ret = parallels_bat_store(node, index, parallels_bat_value(s, *new_host), errp);
    return ret;
}

/* Marks [first, last] in seen; whether any of them was already marked. */
static bool parallels_check_mark(format_refmap *seen, uint64_t first, uint64_t last)
{
    bool duplicate = false;
    for (uint64_t k = first; k <= last; k++) {
        duplicate = duplicate || format_refmap_get(seen, k) != 0;
        format_refmap_set(seen, k, 1);
    }
    return duplicate;
}

/* Entries sharing a host cluster with an earlier one; the copy gets a cluster of its own when fixing.
 * Entries before the data area (where qemu 10.2 aborts) are reported as corruption and dropped. */
/* One allocated entry as the wrapped duplicate check sorts them. */
typedef struct parallels_check_slot {
    uint32_t index;
    uint64_t entry;
} parallels_check_slot;

/* Orders slots by index, then by entry. */
static int parallels_check_slot_compare(const void *a, const void *b)
{
    const parallels_check_slot *x = a, *y = b;
    if (x->index != y->index)
        return x->index < y->index ? -1 : 1;
    return x->entry < y->entry ? -1 : (x->entry > y->entry);
}

/* The 32-bit map index qemu gives the cluster at off (a C division of the signed distance from the data
 * area start, truncated to 32 bits). */
static uint32_t parallels_check_wrapped_index(const parallels_state *s, uint64_t off)
{
    int64_t distance = (int64_t)(off - s->data_start * PARALLELS_SECTOR_SIZE);
    return (uint32_t)(distance / (int64_t)s->cluster_size);
}

/* Reports (and when fixing copies) entry i as a duplicate. */
static int parallels_check_duplicate_report(block_node *node, check_result *result, bool fixing, uint64_t i,
                                            error **errp)
{
    uint64_t new_host;
    report_text("%s duplicate offset in BAT entry %llu\n", parallels_check_prefix(fixing), (unsigned long long)i);
    parallels_check_corruption(result, fixing);
    return fixing ? parallels_check_cluster_copy(node, i, &new_host, errp) : 0;
}

/* The duplicate check when the highest cluster ends before the data area start: qemu's map size is then
 * a negative count taken as 32-bit unsigned, so every entry (those outside the file included) is
 * compared by its wrapped index. Duplicates are found by sorting, in memory that follows the BAT. */
static int parallels_check_duplicates_wrapped(block_node *node, check_result *result, int fix, uint32_t size,
                                              error **errp)
{
    parallels_state *s = node->state;
    bool fixing = (fix & CHECK_FIX_ERRORS) != 0, last_busy = false;
    parallels_check_slot *slots = memory_alloc_array(s->bat_loaded ? (size_t)s->bat_loaded : 1, sizeof(*slots));
    uint8_t *duplicate = memory_alloc_zero(s->bat_loaded ? (size_t)s->bat_loaded : 1);
    size_t count = 0;
    int ret = 0;
    for (uint64_t i = 0; i < s->bat_loaded; i++) {
        uint64_t off = parallels_bat_offset(s, i);
        uint32_t index = parallels_check_wrapped_index(s, off);
        if (off != 0 && (uint32_t)(index + 1) <= size)
            slots[count++] = (parallels_check_slot){index, i};
    }
    qsort(slots, count, sizeof(*slots), parallels_check_slot_compare);
    for (size_t k = 1; k < count; k++)
        if (slots[k].index == slots[k - 1].index)
            duplicate[slots[k].entry] = 1;
    for (uint64_t i = 0; ret == 0 && i < s->bat_loaded; i++) {
        uint64_t off = parallels_bat_offset(s, i);
        uint32_t index = parallels_check_wrapped_index(s, off);
        if (off == 0 || (uint32_t)(index + 1) > size)
            continue;
        last_busy = duplicate[i] && !fixing;
        if (duplicate[i])
            ret = parallels_check_duplicate_report(node, result, fixing, i, errp);
    }
    free(slots);
    free(duplicate);
    if (ret < 0)
        result->check_errors++;
    if (ret == 0 && last_busy)
        ret = error_set_errnum(errp, EBUSY, "Device or resource busy");
    return ret;
}

static int parallels_check_duplicates(block_node *node, check_result *result, int fix, uint64_t high_off,
                                      error **errp)
{
    parallels_state *s = node->state;
    uint64_t start = s->data_start * PARALLELS_SECTOR_SIZE;
    uint64_t file_length = parallels_file_length(node);
    bool fixing_errors = (fix & CHECK_FIX_ERRORS) != 0;
    if (high_off < start || !fixing_errors) {
        /* qemu compares every entry whose 32-bit index fits the map, outside ones included */
        int64_t wrapped = ((int64_t)high_off - (int64_t)start) / (int64_t)s->cluster_size;
        if (wrapped == 0)
            return 0;
        return parallels_check_duplicates_wrapped(node, result, fix, (uint32_t)wrapped, errp);
    }
    uint64_t size = (high_off - start) / s->cluster_size;
    bool fixing = (fix & CHECK_FIX_ERRORS) != 0;
    format_refmap seen;
    bool last_busy = false;
    int ret = 0;
    if (size == 0)
        return 0;
    /* only entries inside the file are compared: the map never needs more than the file holds */
    uint64_t in_file = file_length / s->cluster_size + 1;
    format_refmap_init(&seen, 0, size < in_file ? size : in_file);
    for (uint64_t i = 0; ret == 0 && i < s->bat_loaded; i++) {
        uint64_t off = parallels_bat_offset(s, i), first = 0, last = 0;
        if (off == 0 || off + s->cluster_size > file_length)
            continue;
        if (!parallels_used_range(s, off, &first, &last)) {
            last_busy = false;
            report_text("%s cluster %llu is outside image\n", parallels_check_prefix(fixing), (unsigned long long)i);
            parallels_check_corruption(result, fixing);
            if (fixing)
                ret = parallels_bat_store(node, i, 0, errp);
            continue;
        }
        last_busy = false;
        if (!parallels_check_mark(&seen, first, last))
            continue;
        last_busy = !fixing;
        if (parallels_check_duplicate_report(node, result, fixing, i, errp) < 0)
            ret = -1;
        else if (fixing && parallels_used_range(s, parallels_bat_offset(s, i), &first, &last))
            parallels_check_mark(&seen, first, last);
    }
    format_refmap_free(&seen);
    if (ret < 0)
        result->check_errors++;
    /* qemu 10.2 returns the status of its last cluster marking: an unrepaired duplicate that is the
     * last allocated entry fails the whole check. */
    if (ret == 0 && last_busy)
        ret = error_set_errnum(errp, EBUSY, "Device or resource busy");
    return ret;
}

/* qemu's statistics: allocated entries, and those not following the previous allocated entry (an
 * unallocated entry starts a new run). */
static void parallels_check_statistics(parallels_state *s, check_result *result)
{
    uint64_t next = 0;
    result->total_clusters = s->header.bat_entries;
    for (uint64_t i = 0; i < s->bat_loaded; i++) {
        uint64_t off = parallels_bat_offset(s, i);
        if (off == 0) {
            next = 0;
            continue;
        }
        format_check_count_allocated(result, &next, off, s->cluster_size);
    }
    result->image_end_offset = (int64_t)(s->data_end * PARALLELS_SECTOR_SIZE);
    result->has_cluster_statistics = true;
}

/* Whether an allocated entry points below the data area (into the header or BAT, or before
 * data_off): qemu reports nothing, and its check (like qimg's) cannot see such a cluster used twice. */
static bool parallels_check_aliases(const parallels_state *s)
{
    uint64_t start = s->data_start * PARALLELS_SECTOR_SIZE;
    for (uint64_t i = 0; i < s->bat_loaded; i++) {
        uint64_t off = parallels_bat_offset(s, i);
        if (off != 0 && off < start)
            return true;
    }
    return false;
}

int parallels_check(block_node *node, check_result *result, int fix, error **errp)
{
    parallels_state *s = node->state;
    uint64_t high_off = 0;
    parallels_check_unclean(s, result, fix);
    parallels_check_data_off(node, result, fix);
    if (parallels_check_outside(node, result, fix, &high_off, errp) < 0 ||
        parallels_check_leak(node, result, fix, high_off, errp) < 0 ||
        parallels_check_duplicates(node, result, fix, high_off, errp) < 0)
        return -1;
    parallels_check_statistics(s, result);
    result->data_aliases_metadata = parallels_check_aliases(s);
    if (fix && block_node_flush(node->file, errp) < 0)
        return -1;
    return 0;
}
