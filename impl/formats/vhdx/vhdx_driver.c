/* vhdx_driver.c — the VHDX format driver: probe, open (headers, log replay, region table, metadata,
 * BAT), reads and writes through the BAT, and info, as qemu 10.2 does them (spec/vhdx.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhdx.h"
#include "../common/format_io.h"
#include "../common/format_table.h"
#include "../../util/endian.h"
#include "../../util/memory.h"

/* The BAT as a table: 8-byte little-endian entries; past the file's end is refused on open. */
static const format_table_layout vhdx_bat_layout = {8, FORMAT_LITTLE_ENDIAN, 1ull << 32, false};

/* Score 100 for the file type identifier signature (qemu's probe). */
static int vhdx_probe(const uint8_t *buf, size_t buf_size, const char *filename)
{
    (void)filename;
    return vhdx_file_id_valid(buf, buf_size) ? 100 : 0;
}

/* qemu's open failure by errno: "Could not open '<file>': <strerror>". */
static int vhdx_open_error(block_node *node, error **errp, int errnum)
{
    return error_set_errnum(errp, errnum, "Could not open '%s': %s", node->file->filename, strerror(errnum));
}

/* BAT entry index of the open image. */
static uint64_t vhdx_bat_get(const vhdx_state *s, uint64_t index)
{
    return index < s->bat_entries ? format_table_entry_load(&vhdx_bat_layout, s->bat, index) : 0;
}

/* Frees what open kept (also after a failed open). */
static void vhdx_close(block_node *node)
{
    vhdx_state *s = node->state;
    if (s)
        free(s->bat);
    free(s);
    node->state = NULL;
}

/* Whether two decoded headers hold the same fields. */
static bool vhdx_headers_same(const vhdx_header *a, const vhdx_header *b)
{
    return a->checksum == b->checksum && a->sequence_number == b->sequence_number &&
           vhdx_guid_equal(&a->file_write_guid, &b->file_write_guid) &&
           vhdx_guid_equal(&a->data_write_guid, &b->data_write_guid) && vhdx_guid_equal(&a->log_guid, &b->log_guid) &&
           a->log_version == b->log_version && a->version == b->version && a->log_length == b->log_length &&
           a->log_offset == b->log_offset;
}

/* Reads both headers and makes the valid one with the larger sequence number current. */
static int vhdx_headers_load(block_node *node, vhdx_state *s, error **errp)
{
    uint8_t buf[VHDX_HEADER_SIZE];
    bool valid[2];
    for (int i = 0; i < 2; i++) {
        if (format_file_read(node->file, i == 0 ? VHDX_HEADER_OFFSET_1 : VHDX_HEADER_OFFSET_2, sizeof(buf), buf,
                             errp) < 0)
            return -1;
        valid[i] = vhdx_header_read_data(buf, sizeof(buf), &s->headers[i]);
    }
    if (!valid[0] && !valid[1])
        return error_set_errnum(errp, EINVAL, "No valid VHDX header found");
    /* Two valid headers with the same sequence number but different contents leave none current;
     * identical copies are fine (oracle-measured; disk2vhd writes such a pair). */
    if (valid[0] && valid[1] && s->headers[0].sequence_number == s->headers[1].sequence_number &&
        !vhdx_headers_same(&s->headers[0], &s->headers[1]))
        return error_set_errnum(errp, EINVAL, "No valid VHDX header found");
    if (valid[0] && valid[1])
        s->current = s->headers[1].sequence_number > s->headers[0].sequence_number ? 1 : 0;
    else
        s->current = valid[0] ? 0 : 1;
    s->headers[1 - s->current] = s->headers[s->current];
    /* The log must be version 0 and start on a MiB boundary past the first MiB (oracle-measured). */
    const vhdx_header *h = &s->headers[s->current];
    if (h->log_version != 0 || h->log_offset % VHDX_MIB != 0 || h->log_offset < VHDX_MIB)
        return vhdx_open_error(node, errp, EINVAL);
    return 0;
}


/* Whether [offset, offset + length) overlaps one of the count regions of list. */
static bool vhdx_regions_overlap(const vhdx_region *list, uint32_t count, uint64_t offset, uint64_t length)
{
    for (uint32_t i = 0; i < count; i++)
        if (format_ranges_overlap(list[i].file_offset, list[i].length, offset, length))
            return true;
    return false;
}

/* Reads the region table: each entry is refused when it overlaps the log or an earlier entry; the
 * BAT and metadata regions once each; unknown required regions are not supported. Returns 0 or a
 * negative errno. */
static int vhdx_regions_load(block_node *node, vhdx_state *s)
{
    uint8_t *buf = memory_alloc_zero(VHDX_REGION_TABLE_SIZE);
    vhdx_region *regions = memory_alloc_zero(sizeof(vhdx_region) * (VHDX_REGION_ENTRY_MAX + 1));
    const vhdx_header *h = &s->headers[s->current];
    uint32_t count = 0;
    bool have_bat = false, have_metadata = false;
    int ret = -EINVAL;
    if (format_file_read(node->file, VHDX_REGION_TABLE_OFFSET, VHDX_REGION_TABLE_SIZE, buf, NULL) < 0 ||
        vhdx_region_table_read_data(buf, VHDX_REGION_TABLE_SIZE, regions + 1, &count) < 0)
        goto out;
    regions[0].file_offset = h->log_offset; /* the log is registered first */
    regions[0].length = h->log_length;
    for (uint32_t i = 1; i <= count; i++) {
        const vhdx_region *r = &regions[i];
        bool is_bat = vhdx_guid_equal(&r->guid, &vhdx_guid_bat_region);
        bool is_metadata = vhdx_guid_equal(&r->guid, &vhdx_guid_metadata_region);
        if (vhdx_regions_overlap(regions, i, r->file_offset, r->length) || (is_bat && have_bat) ||
            (is_metadata && have_metadata))
            goto out;
        if (is_bat)
            s->bat_region = *r;
        else if (is_metadata)
            s->metadata_region = *r;
        else if (r->required & 1) {
            ret = -ENOTSUP;
            goto out;
        }
        have_bat |= is_bat;
        have_metadata |= is_metadata;
    }
    ret = have_bat && have_metadata ? 0 : -EINVAL;
out:
    free(regions);
    free(buf);
    return ret;
}

/* Reads the metadata table and items into s->params and checks them. Returns 0 or a negative errno. */
static int vhdx_metadata_load(block_node *node, vhdx_state *s)
{
    uint8_t *table = memory_alloc_zero(VHDX_METADATA_TABLE_SIZE);
    vhdx_metadata_items items;
    uint64_t base = s->metadata_region.file_offset;
    int ret = -EINVAL;
    if (format_file_read(node->file, base, VHDX_METADATA_TABLE_SIZE, table, NULL) < 0)
        goto out;
    ret = vhdx_metadata_table_read_data(table, VHDX_METADATA_TABLE_SIZE, s->metadata_region.length, &items);
    if (ret < 0)
        goto out;
    for (int k = 0; k < VHDX_ITEM_PARENT_LOCATOR; k++) {
        /* Each item is read at its fixed size, whatever length the table gives (qemu accepts 0). */
        uint8_t bytes[16] = {0};
        if (format_file_read(node->file, base + items.offset[k], sizeof(bytes), bytes, NULL) < 0) {
            ret = -EIO;
            goto out;
        }
        vhdx_metadata_item_decode(k, bytes, sizeof(bytes), &s->params);
    }
    ret = vhdx_params_validate(&s->params, items.present[VHDX_ITEM_PARENT_LOCATOR]);
out:
    free(table);
    return ret;
}

/* Reads the BAT after checking that the region holds every entry the geometry asks for. */
static int vhdx_bat_load(block_node *node, vhdx_state *s)
{
    s->chunk_ratio = vhdx_chunk_ratio(&s->params);
    s->data_blocks = vhdx_data_block_count(&s->params);
    s->bat_entries = vhdx_bat_entry_count(&s->params);
    if ((uint64_t)s->bat_region.length < s->bat_entries * 8)
        return -EINVAL;
    if (!format_file_range_inside(node->file, s->bat_region.file_offset, s->bat_entries * 8))
        return -EINVAL;
    if (format_table_read_raw(node->file, &vhdx_bat_layout, s->bat_region.file_offset, s->bat_entries, &s->bat,
                              NULL) < 0)
        return -EIO;
    return 0;
}

/* Refuses runtime options: VHDX has none of its own. */
static int vhdx_options_check(const option_list *options, error **errp)
{
    if (options && options->count > 0)
        return error_set(errp, "Block format 'vhdx' does not support the option '%s'", options->entries[0].key);
    return 0;
}

/* Opens the image in qemu's order: identifier, headers, log, region table, metadata, BAT. */
static int vhdx_open(block_node *node, option_list *options, int flags, error **errp)
{
    vhdx_state *s = memory_alloc_zero(sizeof(*s));
    uint8_t id[8];
    int ret;
    node->state = s;
    node->read_only = !(flags & BLOCK_OPEN_READ_WRITE);
    s->log_sequence = 1;
    if (vhdx_options_check(options, errp) < 0 || format_file_read(node->file, 0, sizeof(id), id, errp) < 0)
        goto fail;
    if (!vhdx_file_id_valid(id, sizeof(id))) {
        vhdx_open_error(node, errp, EINVAL);
        goto fail;
    }
    if (vhdx_headers_load(node, s, errp) < 0 || vhdx_log_replay_if_needed(node, s, &s->log_replayed_on_open, errp) < 0)
        goto fail;
    ret = vhdx_regions_load(node, s);
    if (ret == 0)
        ret = vhdx_metadata_load(node, s);
    if (ret == 0)
        ret = vhdx_bat_load(node, s);
    if (ret < 0) {
        vhdx_open_error(node, errp, -ret);
        goto fail;
    }
    /* An open for check leaves the BAT to the check itself (which reports every finding, each time). */
    if (!(flags & BLOCK_OPEN_CHECK) && vhdx_bat_validate(node, s, true) > 0) {
        vhdx_open_error(node, errp, EINVAL);
        goto fail;
    }
    node->size = s->params.virtual_size & ~511ull; /* whole sectors, as qemu counts the size */
    node->request_alignment = s->params.logical_sector_size; /* qemu's I/O unit for vhdx */
    return 0;
fail:
    vhdx_close(node);
    return -1;
}

/* The part of [offset, offset+length) inside offset's payload block. */
static size_t vhdx_piece_length(const vhdx_state *s, uint64_t offset, size_t length)
{
    uint64_t room = s->params.block_size - offset % s->params.block_size;
    return length < room ? length : (size_t)room;
}

/* Reads guest data block by block: present blocks from the file, the states that read as zeroes as
 * zeroes, partially present (and undefined states) fail as in qemu. */
static int vhdx_read(block_node *node, uint64_t offset, size_t length, uint8_t *buf, error **errp)
{
    vhdx_state *s = node->state;
    while (length > 0) {
        size_t n = vhdx_piece_length(s, offset, length);
        uint64_t entry = vhdx_bat_get(s, vhdx_bat_index(&s->params, offset / s->params.block_size));
        switch (entry & VHDX_BAT_STATE_MASK) {
        case VHDX_BLOCK_FULLY_PRESENT:
            if (format_file_read(node->file, (entry & VHDX_BAT_OFFSET_MASK) + offset % s->params.block_size, n, buf,
                                 errp) < 0)
                return -1;
            break;
        case VHDX_BLOCK_PARTIALLY_PRESENT:
        case 4:
            return error_set_errnum(errp, EIO, "Input/output error");
        default:
            memset(buf, 0, n);
            break;
        }
        offset += n;
        length -= n;
        buf += n;
    }
    return 0;
}

/* Sets BAT entry index and writes the BAT sector that holds it through the log. */
static int vhdx_bat_update(block_node *node, uint64_t index, uint64_t entry, error **errp)
{
    vhdx_state *s = node->state;
    uint8_t sector[VHDX_SECTOR_SIZE];
    uint64_t byte = index * 8, sector_start = byte & ~(uint64_t)(VHDX_SECTOR_SIZE - 1);
    format_table_entry_store(&vhdx_bat_layout, s->bat, index, entry);
    if (format_file_read(node->file, s->bat_region.file_offset + sector_start, sizeof(sector), sector, errp) < 0)
        return -1;
    endian_store_le64(sector + (byte - sector_start), entry);
    return vhdx_log_write_sectors(node, s, s->bat_region.file_offset + sector_start, sector, 1, errp);
}

/* Gives payload block a new block at the file's end rounded up to 1 MiB, the file grown over it (it
 * reads as zeroes); *file_offset receives where it lies. The BAT is updated after the data is in
 * (vhdx_block_record), as qemu orders it. */
static int vhdx_block_allocate(block_node *node, uint64_t *file_offset, error **errp)
{
    vhdx_state *s = node->state;
    uint64_t start = format_align_up(format_file_length(node->file), VHDX_MIB);
    if (start > FORMAT_MAX_REQUEST_END - s->params.block_size)
        return error_set_errnum(errp, EINVAL, "Invalid argument");
    if (block_node_truncate(node->file, start + s->params.block_size, false, BLOCK_PREALLOCATION_OFF, false, errp) < 0)
        return -1;
    *file_offset = start;
    return 0;
}

/* Records payload block as fully present at file_offset in the BAT (through the log). */
static int vhdx_block_record(block_node *node, uint64_t block, uint64_t file_offset, error **errp)
{
    vhdx_state *s = node->state;
    return vhdx_bat_update(node, vhdx_bat_index(&s->params, block), file_offset | VHDX_BLOCK_FULLY_PRESENT, errp);
}

/* Rewrites the headers once per session, before the first guest write (qemu's user-visible write). */
static int vhdx_session_start(block_node *node, vhdx_state *s, error **errp)
{
    if (s->headers_updated)
        return 0;
    s->headers_updated = true;
    vhdx_guid kept = s->headers[s->current].log_guid; /* a stale log GUID stays, as in qemu */
    return vhdx_headers_update(node, s, &kept, errp);
}

/* Writes guest data block by block: in place into present blocks, allocating the others. */
static int vhdx_write(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, int flags, error **errp)
{
    vhdx_state *s = node->state;
    (void)flags;
    if (vhdx_session_start(node, s, errp) < 0)
        return -1;
    while (length > 0) {
        size_t n = vhdx_piece_length(s, offset, length);
        uint64_t block = offset / s->params.block_size;
        uint64_t entry = vhdx_bat_get(s, vhdx_bat_index(&s->params, block));
        uint64_t start = entry & VHDX_BAT_OFFSET_MASK;
        bool allocated = false;
        switch (entry & VHDX_BAT_STATE_MASK) {
        case VHDX_BLOCK_FULLY_PRESENT:
            break;
        case VHDX_BLOCK_PARTIALLY_PRESENT:
        case 4:
            return error_set_errnum(errp, EIO, "Input/output error");
        default:
            if (vhdx_block_allocate(node, &start, errp) < 0)
                return -1;
            allocated = true;
            break;
        }
        if (format_file_write(node->file, start + offset % s->params.block_size, n, buf, errp) < 0 ||
            (allocated && vhdx_block_record(node, block, start, errp) < 0))
            return -1;
        offset += n;
        length -= n;
        buf += n;
    }
    return 0;
}

/* Flushes the file (every metadata write already went through the log). */
static int vhdx_flush(block_node *node, error **errp)
{
    return block_node_flush(node->file, errp);
}

/* Info: the block size as cluster size, no format-specific data. */
static int vhdx_info_fill(block_node *node, image_info *info, error **errp)
{
    vhdx_state *s = node->state;
    (void)errp;
    info->has_cluster_size = true;
    info->cluster_size = s->params.block_size;
    info->dirty_flag = false;
    info->has_no_alignment_limits = true;
    return 0;
}

/* A fresh dynamic image reads as zeroes; a fixed one (first block present) as its file does. */
static bool vhdx_has_zero_init(block_node *node)
{
    vhdx_state *s = node->state;
    if (s->bat_entries > 0 && (vhdx_bat_get(s, 0) & VHDX_BAT_STATE_MASK) == VHDX_BLOCK_FULLY_PRESENT)
        return block_node_has_zero_init(node->file);
    return true;
}

const block_driver block_driver_vhdx = {
    .format_name = "vhdx",
    .probe = vhdx_probe,
    .open = vhdx_open,
    .close = vhdx_close,
    .read = vhdx_read,
    .write = vhdx_write,
    .flush = vhdx_flush,
    .has_zero_init = vhdx_has_zero_init,
    .create_options = vhdx_create_options,
    .create = vhdx_create,
    .info_fill = vhdx_info_fill,
    .check = vhdx_check,
};
