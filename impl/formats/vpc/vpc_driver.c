/* vpc_driver.c — the VHD ("vpc") format driver: probe, open, reads and writes through the block
 * allocation table, block status and info, as qemu 10.2 does them (spec/vpc.md §Open checks,
 * §Reads, §Allocation, §Block status). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vpc.h"
#include "../common/format_io.h"
#include "../common/format_table.h"
#include "../../block/block.h"
#include "../../util/endian.h"
#include "../../util/memory.h"

/* What an open VHD image keeps. Images whose footer sits at offset 0 carry a dynamic header and a
 * block table (even when the footer says fixed: qemu then reads them but maps the disk raw). */
typedef struct vpc_state {
    vpc_footer footer;             /* the footer in use, raw bytes as read */
    bool is_fixed;                 /* disk type 2: guest offset = file offset */
    bool has_table;                /* the dynamic header and block table were read */
    vpc_dynamic_header dynamic;
    uint8_t *bat;                  /* max_table_entries big-endian entries, as on disk */
    uint64_t bitmap_bytes;         /* the sector bitmap in front of each block */
    uint64_t free_offset;          /* where the next block goes (the footer moves behind it) */
    uint64_t last_bitmap_offset;   /* the bitmap the last write set to all ones (UINT64_MAX: none) */
} vpc_state;

/* The block table: 4-byte big-endian entries; bytes past the end of the file read as zero. */
static const format_table_layout vpc_bat_layout = {4, FORMAT_BIG_ENDIAN, VPC_MAX_TABLE_ENTRIES, true};

/* Score 100 when the file starts with the footer copy "conectix" (fixed images, which have none,
 * probe as raw, as in qemu). */
static int vpc_probe(const uint8_t *buf, size_t buf_size, const char *filename)
{
    (void)filename;
    if (buf_size >= VPC_COOKIE_SIZE && memcmp(buf, VPC_FOOTER_COOKIE, VPC_COOKIE_SIZE) == 0)
        return 100;
    return 0;
}

/* The file length rounded up to whole sectors (the length qemu's checks compare with). */
static uint64_t vpc_file_sectors_length(block_node *node)
{
    return format_align_up(format_file_length(node->file), VPC_SECTOR_SIZE);
}

/* Frees what open kept (also after a failed open). */
static void vpc_close(block_node *node)
{
    vpc_state *s = node->state;
    if (s)
        free(s->bat);
    free(s);
    node->state = NULL;
}

/* Finds the footer: the copy at offset 0, else the last sector, which only a fixed image may use.
 * *at_start tells which. */
static int vpc_footer_find(block_node *node, vpc_state *s, bool *at_start, error **errp)
{
    uint8_t sector[VPC_FOOTER_SIZE];
    if (format_file_read(node->file, 0, sizeof(sector), sector, errp) < 0)
        return -1;
    vpc_footer_read_data(sector, sizeof(sector), &s->footer);
    *at_start = vpc_footer_has_cookie(&s->footer);
    if (*at_start)
        return 0;
    uint64_t length = vpc_file_sectors_length(node);
    if (length < VPC_FOOTER_SIZE)
        return error_set(errp, "File too small for a VHD header");
    if (format_file_read(node->file, length - VPC_FOOTER_SIZE, sizeof(sector), sector, errp) < 0)
        return -1;
    vpc_footer_read_data(sector, sizeof(sector), &s->footer);
    if (!vpc_footer_has_cookie(&s->footer) || s->footer.disk_type != VPC_DISK_FIXED)
        return error_set(errp, "invalid VPC image");
    return 0;
}

/* qemu's refusal of a block table open cannot read or place. */
static int vpc_table_unreadable(error **errp)
{
    return error_set(errp, "Error reading pagetable");
}

/* qemu's refusal of a block table or block that ends past the end of the file. */
static int vpc_table_truncated(error **errp)
{
    return error_set(errp, "block-vpc: free_data_block_offset points after the end of file. The image has "
                           "been truncated.");
}

/* The block table entry of guest block index. */
static uint32_t vpc_bat_get(const vpc_state *s, uint64_t index)
{
    return (uint32_t)format_table_entry_load(&vpc_bat_layout, s->bat, index);
}

/* Reads the block table and finds where the next block goes: after the table, or after the last
 * block, whichever is further; both must lie inside the file. */
static int vpc_table_load(block_node *node, vpc_state *s, error **errp)
{
    const vpc_dynamic_header *h = &s->dynamic;
    uint64_t bytes = (uint64_t)h->max_table_entries * 4;
    if (bytes > VPC_MAX_TABLE_READ || h->table_offset > FORMAT_MAX_REQUEST_END - bytes)
        return vpc_table_unreadable(errp);
    uint64_t length = vpc_file_sectors_length(node);
    s->free_offset = format_align_up(h->table_offset + bytes, VPC_SECTOR_SIZE);
    if (s->free_offset > length)
        return vpc_table_truncated(errp);
    if (format_table_read_raw(node->file, &vpc_bat_layout, h->table_offset, h->max_table_entries, &s->bat, errp) < 0)
        return -1;
    s->bitmap_bytes = vpc_bitmap_bytes(h->block_size);
    for (uint64_t i = 0; i < h->max_table_entries; i++) {
        uint32_t entry = vpc_bat_get(s, i);
        if (entry == VPC_BAT_UNALLOCATED)
            continue;
        uint64_t end = (uint64_t)entry * VPC_SECTOR_SIZE + s->bitmap_bytes + h->block_size;
        if (end > s->free_offset)
            s->free_offset = end;
    }
    if (s->free_offset > length)
        return vpc_table_truncated(errp);
    return 0;
}

/* Reads and checks the dynamic header the footer points to, then the block table. */
static int vpc_dynamic_open(block_node *node, vpc_state *s, uint64_t total_sectors, error **errp)
{
    uint8_t buf[VPC_DYNAMIC_HEADER_SIZE];
    uint64_t offset = s->footer.data_offset;
    if (offset > FORMAT_MAX_REQUEST_END - sizeof(buf) ||
        format_file_read(node->file, offset, sizeof(buf), buf, NULL) < 0)
        return error_set(errp, "Error reading dynamic VHD header");
    vpc_dynamic_header_read_data(buf, sizeof(buf), &s->dynamic);
    if (vpc_dynamic_header_validate(&s->dynamic, total_sectors, errp) < 0)
        return -1;
    s->has_table = true;
    return vpc_table_load(node, s, errp);
}

/* Refuses runtime options: vpc has none of its own. */
static int vpc_options_check(const option_list *options, error **errp)
{
    if (options && options->count > 0)
        return error_set(errp, "Block format 'vpc' does not support the option '%s'", options->entries[0].key);
    return 0;
}

/* Opens an image as qemu does, in its order: footer, checksum, size, dynamic header and table. */
static int vpc_open(block_node *node, option_list *options, int flags, error **errp)
{
    vpc_state *s = memory_alloc_zero(sizeof(*s));
    bool at_start = false;
    node->state = s;
    if (vpc_options_check(options, errp) < 0 || vpc_footer_find(node, s, &at_start, errp) < 0)
        goto fail;
    if (vpc_footer_checksum(s->footer.raw) != s->footer.checksum) {
        error_set(errp, "Incorrect header checksum");
        goto fail;
    }
    uint64_t total_sectors = vpc_footer_total_sectors(&s->footer);
    if (total_sectors > VPC_MAX_SECTORS) {
        error_set_errno(errp, EFBIG, "Could not open '%s'", node->file->filename);
        goto fail;
    }
    if (at_start && vpc_dynamic_open(node, s, total_sectors, errp) < 0)
        goto fail;
    s->is_fixed = s->footer.disk_type == VPC_DISK_FIXED;
    s->last_bitmap_offset = UINT64_MAX;
    node->size = total_sectors * VPC_SECTOR_SIZE;
    node->read_only = !(flags & BLOCK_OPEN_READ_WRITE);
    return 0;
fail:
    vpc_close(node);
    return -1;
}

/* The part of [offset, offset+length) that lies in offset's block. */
static size_t vpc_piece_length(const vpc_state *s, uint64_t offset, size_t length)
{
    uint64_t room = s->dynamic.block_size - offset % s->dynamic.block_size;
    return length < room ? length : (size_t)room;
}

/* Where guest offset lies in the file inside the block of table entry entry. */
static uint64_t vpc_block_file_offset(const vpc_state *s, uint32_t entry, uint64_t offset)
{
    return (uint64_t)entry * VPC_SECTOR_SIZE + s->bitmap_bytes + offset % s->dynamic.block_size;
}

/* Reads guest data: a fixed disk straight from the file, a dynamic one block by block
 * (unallocated blocks read as zeroes; the sector bitmaps are not consulted, as in qemu). */
static int vpc_read(block_node *node, uint64_t offset, size_t length, uint8_t *buf, error **errp)
{
    vpc_state *s = node->state;
    if (s->is_fixed)
        return format_file_read(node->file, offset, length, buf, errp);
    while (length > 0) {
        size_t n = vpc_piece_length(s, offset, length);
        uint32_t entry = vpc_bat_get(s, offset / s->dynamic.block_size);
        if (entry == VPC_BAT_UNALLOCATED)
            memset(buf, 0, n);
        else if (format_file_read(node->file, vpc_block_file_offset(s, entry, offset), n, buf, errp) < 0)
            return -1;
        offset += n;
        length -= n;
        buf += n;
    }
    return 0;
}

/* Sets the sector bitmap at offset to all ones, as qemu does before writing into a block (unless
 * the previous write already did it for that bitmap). */
static int vpc_bitmap_fill(block_node *node, uint64_t offset, error **errp)
{
    vpc_state *s = node->state;
    if (offset == s->last_bitmap_offset || s->bitmap_bytes == 0)
        return 0;
    s->last_bitmap_offset = offset;
    uint8_t *bitmap = memory_alloc_zero(s->bitmap_bytes);
    memset(bitmap, 0xff, s->bitmap_bytes);
    int ret = format_file_write(node->file, offset, s->bitmap_bytes, bitmap, errp);
    free(bitmap);
    return ret;
}

/* Gives guest block index a new block where the footer was: a sector bitmap of all ones, the
 * piece of data, the footer moved behind the block, then the table entry (spec/vpc.md §Allocation). */
static int vpc_block_allocate(block_node *node, uint64_t index, uint64_t offset, size_t length, const uint8_t *data,
                              error **errp)
{
    vpc_state *s = node->state;
    uint64_t block = s->free_offset;
    uint64_t footer_at = block + s->bitmap_bytes + s->dynamic.block_size;
    if (block / VPC_SECTOR_SIZE >= VPC_BAT_UNALLOCATED)
        return error_set_errno(errp, EFBIG, "Could not allocate a VHD block");
    s->last_bitmap_offset = UINT64_MAX;
    if (vpc_bitmap_fill(node, block, errp) < 0 ||
        format_file_write(node->file, footer_at, VPC_FOOTER_SIZE, s->footer.raw, errp) < 0)
        return -1;
    uint8_t entry[4];
    endian_store_be32(entry, (uint32_t)(block / VPC_SECTOR_SIZE));
    if (format_file_write(node->file, s->dynamic.table_offset + index * 4, sizeof(entry), entry, errp) < 0)
        return -1;
    format_table_entry_store(&vpc_bat_layout, s->bat, index, block / VPC_SECTOR_SIZE);
    s->free_offset = footer_at;
    return format_file_write(node->file, vpc_block_file_offset(s, (uint32_t)(block / VPC_SECTOR_SIZE), offset), length,
                             data, errp);
}

/* Writes guest data: a fixed disk straight to the file, a dynamic one in place into allocated
 * blocks (their sector bitmap first set to all ones, as qemu does), allocating the others. */
static int vpc_write(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, int flags, error **errp)
{
    vpc_state *s = node->state;
    (void)flags;
    if (s->is_fixed)
        return format_file_write(node->file, offset, length, buf, errp);
    while (length > 0) {
        size_t n = vpc_piece_length(s, offset, length);
        uint64_t index = offset / s->dynamic.block_size;
        uint32_t entry = vpc_bat_get(s, index);
        int ret;
        if (entry == VPC_BAT_UNALLOCATED)
            ret = vpc_block_allocate(node, index, offset, n, buf, errp);
        else if (vpc_bitmap_fill(node, (uint64_t)entry * VPC_SECTOR_SIZE, errp) < 0)
            ret = -1;
        else
            ret = format_file_write(node->file, vpc_block_file_offset(s, entry, offset), n, buf, errp);
        if (ret < 0)
            return -1;
        offset += n;
        length -= n;
        buf += n;
    }
    return 0;
}

/* Status: a fixed disk is data at the same place in the file; in a dynamic one an allocated block is data at its
 * place (one block at a time), a run of unallocated blocks reads as zeroes. */
static int vpc_block_status(block_node *node, uint64_t offset, uint64_t length, block_status_result *out,
                            error **errp)
{
    vpc_state *s = node->state;
    (void)errp;
    if (s->is_fixed) {
        /* Data at the same offset of the file; the file's holes read as zeroes (oracle-measured:
         * data stays true over them). */
        out->length = length;
        out->flags = BLOCK_STATUS_DATA | BLOCK_STATUS_OFFSET_VALID | BLOCK_STATUS_RECURSE;
        out->map_offset = offset;
        out->map_node = node->file;
        return 0;
    }
    uint64_t block_size = s->dynamic.block_size;
    uint64_t index = offset / block_size;
    uint32_t entry = vpc_bat_get(s, index);
    uint64_t end = offset + length;
    uint64_t run_end = (index + 1) * block_size;
    if (entry == VPC_BAT_UNALLOCATED) {
        while (run_end < end && vpc_bat_get(s, run_end / block_size) == VPC_BAT_UNALLOCATED)
            run_end += block_size;
        out->flags = BLOCK_STATUS_ZERO;
    } else {
        out->flags = BLOCK_STATUS_DATA | BLOCK_STATUS_OFFSET_VALID;
        out->map_offset = vpc_block_file_offset(s, entry, offset);
        out->map_node = node->file;
    }
    out->length = (run_end < end ? run_end : end) - offset;
    return 0;
}

/* Info: dynamic disks show their block size as cluster size; nothing format-specific, no I/O
 * alignment of the format's own. */
static int vpc_info_fill(block_node *node, image_info *info, error **errp)
{
    vpc_state *s = node->state;
    (void)errp;
    info->has_cluster_size = !s->is_fixed;
    /* qemu keeps the block size in a C int: a 2 GiB block shows as -2147483648 (oracle-measured). */
    info->cluster_size = s->is_fixed ? 0 : (uint64_t)(int64_t)(int32_t)s->dynamic.block_size;
    info->dirty_flag = false;
    info->has_no_alignment_limits = true;
    return 0;
}

const block_driver block_driver_vpc = {
    .format_name = "vpc",
    .probe = vpc_probe,
    .open = vpc_open,
    .close = vpc_close,
    .read = vpc_read,
    .write = vpc_write,
    .block_status = vpc_block_status,
    .create_options = vpc_create_options,
    .create = vpc_create,
    .info_fill = vpc_info_fill,
};
