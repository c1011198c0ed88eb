/* vdi_driver.c — the VDI format driver: probe, open, reads and writes through the block map,
 * block status, info, check and creation, as qemu 10.2 does them (spec/vdi.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vdi.h"
#include "../common/format_io.h"
#include "../common/format_table.h"
#include "../common/format_uuid.h"
#include "../../block/open.h"
#include "../../util/endian.h"
#include "../../util/memory.h"
#include "../../util/report.h"

/* What an open VDI image keeps: its header and the sectors of the block map that lie inside the
 * file (entries past the end of the file read as 0, as qemu reads them). The sectors are kept whole,
 * bytes past the last entry included, because qemu rewrites the block map a sector at a time. */
typedef struct vdi_state {
    vdi_header header;
    uint8_t *bmap;          /* bmap_bytes bytes: the block map's first sectors as read */
    uint64_t bmap_bytes;    /* a multiple of VDI_SECTOR_SIZE */
} vdi_state;

/* The block map as a table: 4-byte little-endian entries, at most VDI_BLOCKS_MAX of them. */
static const format_table_layout vdi_bmap_layout = {4, FORMAT_LITTLE_ENDIAN, VDI_BLOCKS_MAX, true};

/* Score 100 when the signature sits at offset 64, whatever else the header says (qemu's probe). */
static int vdi_probe(const uint8_t *buf, size_t buf_size, const char *filename)
{
    (void)filename;
    if (buf_size < 0x44)
        return 0;
    return endian_load_le32(buf + 0x40) == VDI_SIGNATURE ? 100 : 0;
}

/* The block map entry of guest block index (0 past the entries the file holds). */
static uint32_t vdi_bmap_get(const vdi_state *s, uint64_t index)
{
    if (index >= s->header.blocks_in_image || index >= s->bmap_bytes / 4)
        return 0;
    return (uint32_t)format_table_entry_load(&vdi_bmap_layout, s->bmap, index);
}

/* Where data block entry starts in the file of an image with header h. */
static uint64_t vdi_block_file_offset(const vdi_header *h, uint32_t entry)
{
    return (uint64_t)h->offset_data + (uint64_t)entry * VDI_BLOCK_SIZE;
}

/* Reads the block map: the sectors inside the file (memory follows the file, never the header). */
static int vdi_bmap_load(block_node *node, vdi_state *s, error **errp)
{
    uint64_t file_length = format_file_length(node->file);
    uint64_t wanted = vdi_bmap_bytes(s->header.blocks_in_image);
    uint64_t inside = 0;
    if (s->header.offset_bmap < file_length)
        inside = file_length - s->header.offset_bmap < wanted ? file_length - s->header.offset_bmap : wanted;
    s->bmap_bytes = format_align_up(inside, VDI_SECTOR_SIZE);
    return format_table_read_raw(node->file, &vdi_bmap_layout, s->header.offset_bmap, s->bmap_bytes / 4, &s->bmap,
                                 errp);
}

/* Sets the block map entry of guest block index (inside the loaded sectors) and writes its sector. */
static int vdi_bmap_set(block_node *node, uint64_t index, uint32_t entry, error **errp)
{
    vdi_state *s = node->state;
    format_table_entry_store(&vdi_bmap_layout, s->bmap, index, entry);
    uint64_t sector = index * 4 / VDI_SECTOR_SIZE * VDI_SECTOR_SIZE;
    return format_file_write(node->file, s->header.offset_bmap + sector, VDI_SECTOR_SIZE, s->bmap + sector, errp);
}

/* Refuses runtime options: VDI has none of its own. */
static int vdi_options_check(const option_list *options, error **errp)
{
    if (options && options->count > 0)
        return error_set(errp, "Block format 'vdi' does not support the option '%s'", options->entries[0].key);
    return 0;
}

/* Frees what open kept (also after a failed open). */
static void vdi_close(block_node *node)
{
    vdi_state *s = node->state;
    if (s)
        free(s->bmap);
    free(s);
    node->state = NULL;
}

/* Reads and checks the header as qemu does, then the block map; the virtual size is the rounded
 * disk_size. */
static int vdi_open(block_node *node, option_list *options, int flags, error **errp)
{
    vdi_state *s = memory_alloc_zero(sizeof(*s));
    uint8_t first[VDI_HEADER_BYTES];
    node->state = s;
    if (format_file_read(node->file, 0, sizeof(first), first, errp) < 0)
        goto fail;
    vdi_header_read_data(first, sizeof(first), &s->header);
    if (vdi_header_validate(&s->header, errp) < 0 || vdi_options_check(options, errp) < 0 ||
        vdi_bmap_load(node, s, errp) < 0)
        goto fail;
    node->size = s->header.disk_size;
    node->read_only = !(flags & BLOCK_OPEN_READ_WRITE);
    return 0;
fail:
    vdi_close(node);
    return -1;
}

/* The part of [offset, offset+length) that lies in offset's block. */
static size_t vdi_piece_length(uint64_t offset, size_t length)
{
    uint64_t room = VDI_BLOCK_SIZE - offset % VDI_BLOCK_SIZE;
    return length < room ? length : (size_t)room;
}

/* Reads guest data block by block: unallocated blocks read as zeroes. */
static int vdi_read(block_node *node, uint64_t offset, size_t length, uint8_t *buf, error **errp)
{
    vdi_state *s = node->state;
    while (length > 0) {
        size_t n = vdi_piece_length(offset, length);
        uint32_t entry = vdi_bmap_get(s, offset / VDI_BLOCK_SIZE);
        if (!vdi_entry_is_allocated(entry))
            memset(buf, 0, n);
        else if (format_file_read(node->file, vdi_block_file_offset(&s->header, entry) + offset % VDI_BLOCK_SIZE, n, buf,
                                  errp) < 0)
            return -1;
        offset += n;
        length -= n;
        buf += n;
    }
    return 0;
}

/* Rewrites the header sector from the in-memory header. */
static int vdi_header_update(block_node *node, error **errp)
{
    vdi_state *s = node->state;
    uint8_t sector[VDI_HEADER_BYTES];
    vdi_header_write_data(&s->header, sector);
    return format_file_write(node->file, 0, sizeof(sector), sector, errp);
}

/* Gives guest block index the next data block, written whole: the piece at in_block, zeroes around
 * it. Then the block map entry and the header's allocation count follow (qemu's order). */
static int vdi_block_allocate(block_node *node, uint64_t index, uint64_t in_block, size_t length,
                              const uint8_t *data, error **errp)
{
    vdi_state *s = node->state;
    uint32_t entry = s->header.blocks_allocated;
    if (!vdi_entry_is_allocated(entry) || index >= s->bmap_bytes / 4)
        return error_set_errno(errp, EIO, "Could not allocate a VDI block");
    uint8_t *block = memory_alloc_zero(VDI_BLOCK_SIZE);
    memcpy(block + in_block, data, length);
    int ret = format_file_write(node->file, vdi_block_file_offset(&s->header, entry), VDI_BLOCK_SIZE, block, errp);
    free(block);
    if (ret < 0)
        return -1;
    if (vdi_bmap_set(node, index, entry, errp) < 0)
        return -1;
    s->header.blocks_allocated++;
    return vdi_header_update(node, errp);
}

/* Writes guest data block by block: in place into allocated blocks, allocating the others. */
static int vdi_write(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, int flags, error **errp)
{
    vdi_state *s = node->state;
    (void)flags;
    while (length > 0) {
        size_t n = vdi_piece_length(offset, length);
        uint64_t index = offset / VDI_BLOCK_SIZE, in_block = offset % VDI_BLOCK_SIZE;
        uint32_t entry = vdi_bmap_get(s, index);
        int ret;
        if (vdi_entry_is_allocated(entry))
            ret = format_file_write(node->file, vdi_block_file_offset(&s->header, entry) + in_block, n, buf, errp);
        else
            ret = vdi_block_allocate(node, index, in_block, n, buf, errp);
        if (ret < 0)
            return -1;
        offset += n;
        length -= n;
        buf += n;
    }
    return 0;
}

/* Whether guest block next continues the run that block index (entry) starts: both unallocated, or
 * both allocated with consecutive data blocks. */
static bool vdi_run_continues(const vdi_state *s, uint32_t entry, uint64_t index, uint64_t next)
{
    uint32_t other = vdi_bmap_get(s, next);
    if (!vdi_entry_is_allocated(entry))
        return !vdi_entry_is_allocated(other);
    return vdi_entry_is_allocated(other) && (uint64_t)other == (uint64_t)entry + (next - index);
}

/* The status of the run of blocks offset starts: unallocated ones read as zeroes (vdi has no
 * backing file), allocated ones are data at their file offset. */
static int vdi_block_status(block_node *node, uint64_t offset, uint64_t length, block_status_result *out,
                            error **errp)
{
    vdi_state *s = node->state;
    (void)errp;
    uint64_t index = offset / VDI_BLOCK_SIZE;
    uint32_t entry = vdi_bmap_get(s, index);
    uint64_t end = offset + length;
    uint64_t run_end = (index + 1) * VDI_BLOCK_SIZE;
    for (uint64_t next = index + 1; run_end < end && vdi_run_continues(s, entry, index, next); next++)
        run_end += VDI_BLOCK_SIZE;
    out->length = (run_end < end ? run_end : end) - offset;
    if (!vdi_entry_is_allocated(entry)) {
        out->flags = BLOCK_STATUS_ZERO;
        return 0;
    }
    out->flags = BLOCK_STATUS_DATA | BLOCK_STATUS_OFFSET_VALID;
    out->map_offset = vdi_block_file_offset(&s->header, entry) + offset % VDI_BLOCK_SIZE;
    out->map_node = node->file;
    /* Only a static image's blocks show the file's holes (and what lies past its end) as zeroes
     * (oracle-measured: the blocks of a dynamic image are data even over holes of the file). */
    if (s->header.image_type == VDI_IMAGE_TYPE_STATIC)
        out->flags |= BLOCK_STATUS_RECURSE;
    return 0;
}

/* Info: the block size as cluster size, no format-specific data, no I/O alignment of its own. */
static int vdi_info_fill(block_node *node, image_info *info, error **errp)
{
    vdi_state *s = node->state;
    (void)errp;
    info->has_cluster_size = true;
    info->cluster_size = s->header.block_size;
    info->dirty_flag = false;
    info->has_no_alignment_limits = true;
    return 0;
}

/* Check's findings, collected into pieces of about 64 KiB before they reach stderr (an image whose
 * block map lies past the end of its file can hold half a billion duplicate entries). */
typedef struct vdi_check_output {
    string_buffer text;
    check_result *result;
} vdi_check_output;

enum { VDI_CHECK_FLUSH_BYTES = 64 * 1024 };

/* Hands what was collected to the report sink. */
static void vdi_check_output_flush(vdi_check_output *out)
{
    char *text = string_buffer_take(&out->text);
    if (text[0] != '\0')
        report_text("%s", text);
    free(text);
}

/* Collects the finished line "ERROR: ...\n" and counts one corruption. */
static void vdi_check_line_add(vdi_check_output *out, const char *line)
{
    string_buffer_append(&out->text, line);
    out->result->corruptions++;
    if (out->text.length >= VDI_CHECK_FLUSH_BYTES)
        vdi_check_output_flush(out);
}

/* At most this many copies of one repeated finding are printed (all are counted): qemu would print
 * one per entry, up to half a billion lines, for a block map far past the end of the file. */
#define VDI_CHECK_REPEAT_PRINT_MAX (1u << 20)

/* Reports count copies of line (one corruption each) in pieces of about 1 MiB, built once. */
static void vdi_check_repeat(vdi_check_output *out, const char *line, uint64_t count)
{
    size_t length = strlen(line);
    uint64_t printed = count < VDI_CHECK_REPEAT_PRINT_MAX ? count : VDI_CHECK_REPEAT_PRINT_MAX;
    uint64_t per_piece = (1u << 20) / length;
    uint64_t lines = printed < per_piece ? printed : per_piece;
    char *piece = memory_alloc_zero((size_t)(lines * length) + 1);
    for (uint64_t i = 0; i < lines; i++)
        memcpy(piece + i * length, line, length);
    for (uint64_t done = 0; done < printed; done += lines) {
        uint64_t n = printed - done < lines ? printed - done : lines;
        report_text("%.*s", (int)(n * length), piece);
    }
    out->result->corruptions += (int64_t)count;
    free(piece);
}

/* Formats and collects one finding (fmt takes two unsigned long long values). */
static void vdi_check_report(vdi_check_output *out, const char *fmt, unsigned long long a, unsigned long long b)
{
    char body[128], line[160];
    snprintf(body, sizeof(body), fmt, a, b);
    snprintf(line, sizeof(line), "ERROR: %s\n", body);
    vdi_check_line_add(out, line);
}

/* Counts entry (of guest block index) as qemu's check does: too large, or a data block already
 * used (still counted allocated). Returns whether it counts as allocated. */
static bool vdi_check_entry(vdi_check_output *out, uint8_t *used, uint32_t blocks, uint64_t index, uint32_t entry)
{
    if (!vdi_entry_is_allocated(entry))
        return false;
    if (entry >= blocks) {
        vdi_check_report(out, "block index %llu too large, is %llu", index, entry);
        return false;
    }
    if (used[entry / 8] & (1u << (entry % 8)))
        vdi_check_report(out, "block index %llu also used by %llu", entry, entry);
    used[entry / 8] |= (uint8_t)(1u << (entry % 8));
    return true;
}

/* Whether the data area overlaps the header or the block map: qemu reports nothing, but writes
 * then change what other blocks (or the map) read. */
static bool vdi_check_aliases(const vdi_state *s)
{
    uint64_t data_start = s->header.offset_data;
    uint64_t data_end = data_start + (uint64_t)s->header.blocks_in_image * s->header.block_size;
    uint64_t map_start = s->header.offset_bmap;
    uint64_t map_end = map_start + 4ull * s->header.blocks_in_image;
    if (s->header.blocks_in_image == 0)
        return false;
    return data_start < VDI_HEADER_BYTES || (map_start < data_end && data_start < map_end);
}

/* Walks the block map as qemu's check does: entries past blocks_in_image, data blocks used twice,
 * and the header's allocation count. Repair is not supported (-ENOTSUP, which check reports). */
static int vdi_check(block_node *node, check_result *result, int fix, error **errp)
{
    vdi_state *s = node->state;
    (void)errp;
    if (fix)
        return -ENOTSUP;
    uint32_t blocks = s->header.blocks_in_image;
    uint64_t loaded = s->bmap_bytes / 4 < blocks ? s->bmap_bytes / 4 : blocks;
    vdi_check_output out = {{0}, result};
    uint8_t *used = memory_alloc_zero(blocks / 8 + 1);
    uint64_t allocated = 0, index = 0;
    for (; index < loaded; index++)
        allocated += vdi_check_entry(&out, used, blocks, index, vdi_bmap_get(s, index));
    /* The rest lie past the end of the file and read as 0: the first one may claim block 0, every
     * later one uses it again. */
    if (index < blocks)
        allocated += vdi_check_entry(&out, used, blocks, index++, 0);
    vdi_check_output_flush(&out);
    vdi_check_repeat(&out, "ERROR: block index 0 also used by 0\n", blocks - index);
    allocated += blocks - index;
    free(used);
    if (allocated != s->header.blocks_allocated)
        vdi_check_report(&out, "allocated blocks mismatch, is %llu, should be %llu", allocated,
                         s->header.blocks_allocated);
    vdi_check_output_flush(&out);
    string_buffer_free(&out.text);
    result->data_aliases_metadata = vdi_check_aliases(s);
    return 0;
}

static const option_desc vdi_create_options[] = {
    {"size", OPTION_TYPE_SIZE, "Virtual disk size", NULL},
    {"static", OPTION_TYPE_BOOL, "VDI static (pre-allocated) image", "off"},
    {NULL, 0, NULL, NULL},
};

/* Creates the empty protocol file with the protocol's own options (preallocation, nocow...), at size 0. */
static int vdi_create_file(const char *filename, const option_list *options, error **errp)
{
    option_list own = option_list_copy(options);
    option_list_remove(&own, "static");
    option_list_set(&own, "size", "0");
    int ret = block_driver_find_protocol(filename)->create(filename, &own, errp);
    option_list_free(&own);
    return ret;
}

/* Writes the block map of a new image: unallocated entries, or block i at i for static images, and
 * zero padding to the sector, in 1 MiB pieces. */
static int vdi_create_bmap_write(block_node *file, const vdi_header *h, error **errp)
{
    uint64_t bytes = vdi_bmap_bytes(h->blocks_in_image);
    uint8_t *chunk = memory_alloc_zero(VDI_BLOCK_SIZE);
    int ret = 0;
    for (uint64_t done = 0; done < bytes && ret == 0; done += VDI_BLOCK_SIZE) {
        size_t n = bytes - done < VDI_BLOCK_SIZE ? (size_t)(bytes - done) : VDI_BLOCK_SIZE;
        memset(chunk, 0, n);
        for (size_t j = 0; j < n / 4; j++) {
            uint64_t index = done / 4 + j;
            if (index < h->blocks_in_image)
                endian_store_le32(chunk + 4 * j,
                                  h->image_type == VDI_IMAGE_TYPE_STATIC ? (uint32_t)index : VDI_ENTRY_UNALLOCATED);
        }
        ret = format_file_write(file, h->offset_bmap + done, n, chunk, errp);
    }
    free(chunk);
    return ret;
}

/* Lays out a new image in the (empty) file: header sector, block map, and for static images the
 * file extended over every block. */
static int vdi_create_layout(const char *filename, uint64_t size, bool is_static, error **errp)
{
    vdi_header h;
    uint8_t sector[VDI_HEADER_BYTES];
    vdi_header_init_new(&h, size, is_static);
    format_uuid_generate(h.uuid_image);
    format_uuid_swap_fields(h.uuid_image);
    format_uuid_generate(h.uuid_last_snap);
    format_uuid_swap_fields(h.uuid_last_snap);
    vdi_header_write_data(&h, sector);
    block_node *file = block_protocol_open(filename, BLOCK_OPEN_READ_WRITE, errp);
    if (file == NULL)
        return -1;
    int ret = format_file_write(file, 0, sizeof(sector), sector, errp);
    if (ret == 0)
        ret = vdi_create_bmap_write(file, &h, errp);
    if (ret == 0 && is_static)
        ret = block_node_truncate(file, vdi_block_file_offset(&h, h.blocks_in_image), true,
                                  BLOCK_PREALLOCATION_OFF, false, errp);
    block_node_close(file);
    return ret;
}

/* Creates filename as a VDI image: options checked, the file made empty, the size checked, then
 * the layout written (spec/vdi.md §Creation gives qemu's order). */
static int vdi_create(const char *filename, const option_list *options, error **errp)
{
    uint64_t size = 0;
    bool is_static = false;
    if (option_list_get_size(options, "size", 0, &size, errp) < 0 ||
        option_list_get_bool(options, "static", false, &is_static, errp) < 0)
        return -1;
    if (vdi_create_file(filename, options, errp) < 0)
        return -1;
    size = vdi_size_round(size);
    if (size > VDI_DISK_SIZE_MAX)
        return vdi_size_error(errp, size);
    return vdi_create_layout(filename, size, is_static, errp);
}

const block_driver block_driver_vdi = {
    .format_name = "vdi",
    .probe = vdi_probe,
    .open = vdi_open,
    .close = vdi_close,
    .read = vdi_read,
    .write = vdi_write,
    .block_status = vdi_block_status,
    .create_options = vdi_create_options,
    .create = vdi_create,
    .info_fill = vdi_info_fill,
    .check = vdi_check,
};
