/* vmdk_io.c — VMDK guest I/O: grain lookup through the grain directory and tables, reads of plain,
 * zeroed and compressed grains, writes in qemu's allocation order (both table copies), stream
 * grains with markers, zero writes and the CID renewed on the first write (spec/vmdk.md §Grain
 * tables, §Stream-optimized, §Descriptor). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "vmdk.h"
#include "../common/format_io.h"
#include "../common/format_uuid.h"
#include "../../block/open.h"
#include "../../util/endian.h"
#include "../../util/json.h"
#include "../../util/memory.h"
#include "../../util/report.h"

/* ---- grain lookup ---- */

/* The extent holding guest sector (NULL past the end). */
static vmdk_extent *vmdk_extent_find(vmdk_state *s, uint64_t sector, uint64_t *start)
{
    uint64_t begin = 0;
    for (size_t i = 0; i < s->extent_count; i++) {
        if (sector < s->extents[i].end_sector) {
            *start = begin;
            return &s->extents[i];
        }
        begin = s->extents[i].end_sector;
    }
    return NULL;
}

/* Loads the grain table at sector gt_sector of extent e into its cache. */
static int vmdk_l2_load(vmdk_extent *e, uint64_t gt_sector, error **errp)
{
    if (e->cached_l2_offset == gt_sector)
        return 0;
    uint8_t *raw = memory_alloc_zero((size_t)e->l2_bytes);
    int ret = format_file_read(e->file, gt_sector * 512, (size_t)e->l2_bytes, raw, errp);
    for (uint32_t i = 0; ret == 0 && i < e->gtes_per_gt; i++)
        e->cached_l2[i] = endian_load_le32(raw + 4 * i);
    free(raw);
    e->cached_l2_offset = ret == 0 ? gt_sector : 0;
    return ret;
}

int vmdk_grain_entry(vmdk_extent *e, uint64_t grain, uint32_t *entry, uint64_t *gt_sector, error **errp)
{
    uint64_t l1_index = grain / e->gtes_per_gt;
    *entry = 0;
    *gt_sector = 0;
    if (l1_index >= e->l1_loaded || e->l1_table[l1_index] == 0)
        return 0;
    *gt_sector = e->l1_table[l1_index];
    if (vmdk_l2_load(e, *gt_sector, errp) < 0)
        return -1;
    *entry = e->cached_l2[grain % e->gtes_per_gt];
    return 0;
}

/* The part of [offset, offset+length) inside offset's grain of e (guest bytes relative to the extent). */
static uint64_t vmdk_grain_piece(const vmdk_extent *e, uint64_t offset, uint64_t length)
{
    uint64_t grain_bytes = e->cluster_sectors * 512;
    uint64_t room = grain_bytes - offset % grain_bytes;
    return length < room ? length : room;
}

/* The piece of a request that one extent serves: *rel gets the extent-relative offset. */
vmdk_extent *vmdk_request_piece(vmdk_state *s, uint64_t offset, uint64_t length, uint64_t *rel,
                                       uint64_t *piece)
{
    uint64_t start = 0;
    vmdk_extent *e = vmdk_extent_find(s, offset / 512, &start);
    if (e == NULL)
        return NULL;
    *rel = offset - start * 512;
    uint64_t left = e->end_sector * 512 - offset;
    *piece = length < left ? length : left;
    if (e->kind == VMDK_EXTENT_SPARSE)
        *piece = vmdk_grain_piece(e, *rel, *piece);
    return e;
}

/* Reads a compressed grain at sector entry of e and copies [in_grain, +n) of it to buf. */
static int vmdk_compressed_read(vmdk_extent *e, uint32_t entry, uint64_t in_grain, size_t n, uint8_t *buf,
                                error **errp)
{
    uint64_t grain_bytes = e->cluster_sectors * 512;
    uint64_t at = (uint64_t)entry * 512;
    uint8_t marker[12];
    uint64_t data_size = grain_bytes * 2 + 512;
    if (e->has_marker) {
        if (format_file_read(e->file, at, sizeof(marker), marker, errp) < 0)
            return -1;
        data_size = endian_load_le32(marker + 8);
        at += 12;
    }
    uint64_t file_length = format_file_length(e->file);
    if (data_size > grain_bytes * 2 + 512 || at > file_length)
        return error_set_errno(errp, EIO, "Could not read compressed grain");
    if (data_size > file_length - at)
        data_size = file_length - at;
    uint8_t *src = memory_alloc_zero((size_t)data_size + 1);
    uint8_t *grain = memory_alloc_zero((size_t)grain_bytes);
    int ret = format_file_read(e->file, at, (size_t)data_size, src, errp);
    uLongf out_length = (uLongf)grain_bytes;
    if (ret == 0 && uncompress(grain, &out_length, src, (uLong)data_size) != Z_OK)
        ret = error_set_errno(errp, EIO, "Could not decompress grain");
    if (ret == 0)
        memcpy(buf, grain + in_grain, n);
    free(src);
    free(grain);
    return ret;
}

/* Reads n bytes of extent e at extent-relative rel (inside one grain for sparse extents);
 * unallocated grains come from the backing file at guest offset guest. */
static int vmdk_extent_read(block_node *node, vmdk_extent *e, uint64_t rel, uint64_t guest, size_t n, uint8_t *buf,
                            error **errp)
{
    if (e->kind == VMDK_EXTENT_ZERO) {
        memset(buf, 0, n);
        return 0;
    }
    if (e->kind == VMDK_EXTENT_FLAT)
        return format_file_read(e->file, e->flat_offset + rel, n, buf, errp);
    uint64_t grain_bytes = e->cluster_sectors * 512;
    uint32_t entry;
    uint64_t gt_sector;
    if (vmdk_grain_entry(e, rel / grain_bytes, &entry, &gt_sector, errp) < 0)
        return -1;
    if (entry == 0)
        return block_node_read_backing(node, guest, n, buf, errp);
    if (entry == VMDK_GTE_ZEROED && e->has_zero_grain) {
        memset(buf, 0, n);
        return 0;
    }
    if (e->compressed)
        return vmdk_compressed_read(e, entry, rel % grain_bytes, n, buf, errp);
    return format_file_read(e->file, (uint64_t)entry * 512 + rel % grain_bytes, n, buf, errp);
}

int vmdk_read(block_node *node, uint64_t offset, size_t length, uint8_t *buf, error **errp)
{
    vmdk_state *s = node->state;
    while (length > 0) {
        uint64_t rel, piece;
        vmdk_extent *e = vmdk_request_piece(s, offset, length, &rel, &piece);
        if (e == NULL) {
            memset(buf, 0, length);
            return 0;
        }
        if (vmdk_extent_read(node, e, rel, offset, (size_t)piece, buf, errp) < 0)
            return -1;
        offset += piece;
        length -= (size_t)piece;
        buf += piece;
    }
    return 0;
}

/* ---- writes ---- */

/* A fresh random CID (qemu stamps one on the first write of each session). */
static uint32_t vmdk_cid_new(void)
{
    uint8_t bytes[FORMAT_UUID_SIZE];
    format_uuid_generate(bytes);
    return endian_load_le32(bytes);
}

/* Before the first write of a session: a new CID in the descriptor, written back padded with
 * zeroes to whole sectors (where it came from: the embedded area or the descriptor file). */
static int vmdk_cid_update(block_node *node, error **errp)
{
    vmdk_state *s = node->state;
    if (s->cid_updated || s->descriptor == NULL)
        return 0;
    s->cid_updated = true;
    uint32_t cid = vmdk_cid_new();
    char value[16];
    snprintf(value, sizeof(value), "%" PRIx32, cid);
    char *text = vmdk_descriptor_set_value(s->descriptor, "CID", value);
    if (text == NULL)
        return 0;
    size_t length = strlen(text);
    uint64_t padded = format_align_up(length, 512);
    if (s->desc_size && padded > s->desc_size)
        padded = s->desc_size;
    if (length > padded) {
        free(text);
        return 0;
    }
    char *sector = memory_alloc_zero((size_t)padded + 1);
    memcpy(sector, text, length);
    int ret = format_file_write(node->file, s->desc_offset, (size_t)padded, sector, errp);
    free(sector);
    free(s->descriptor);
    s->descriptor = text;
    s->cid = cid;
    return ret;
}

/* Stores entry for grain in the grain table at gt_sector and in its redundant copy. */
static int vmdk_l2_update(vmdk_extent *e, uint64_t grain, uint64_t gt_sector, uint32_t entry, error **errp)
{
    uint64_t l1_index = grain / e->gtes_per_gt, index = grain % e->gtes_per_gt;
    uint8_t raw[4];
    endian_store_le32(raw, entry);
    if (format_file_write(e->file, gt_sector * 512 + index * 4, 4, raw, errp) < 0)
        return -1;
    if (e->cached_l2_offset == gt_sector)
        e->cached_l2[index] = entry;
    if (e->l1_backup && l1_index < e->l1_loaded && e->l1_backup[l1_index] != 0 &&
        format_file_write(e->file, (uint64_t)e->l1_backup[l1_index] * 512 + index * 4, 4, raw, errp) < 0)
        return -1;
    return 0;
}

/* Gives grain a new grain at the end of the extent: the grain's old content (backing data, or
 * zeroes) with [in_grain, +n) replaced by data, written whole, then its table entries. */
static int vmdk_grain_allocate(block_node *node, vmdk_extent *e, uint64_t grain, uint64_t gt_sector, uint64_t guest,
                               uint64_t in_grain, size_t n, const uint8_t *data, bool from_backing, error **errp)
{
    uint64_t grain_bytes = e->cluster_sectors * 512;
    uint8_t *whole = memory_alloc_zero((size_t)grain_bytes);
    uint64_t grain_guest = guest - in_grain;
    int ret = 0;
    if (from_backing && (in_grain > 0 || n < grain_bytes)) {
        uint64_t avail = grain_guest < node->size ? node->size - grain_guest : 0;
        ret = block_node_read_backing(node, grain_guest, (size_t)(avail < grain_bytes ? avail : grain_bytes), whole,
                                      errp);
    }
    memcpy(whole + in_grain, data, n);
    uint64_t at = e->next_cluster_sector;
    if (ret == 0)
        ret = format_file_write(e->file, at * 512, (size_t)grain_bytes, whole, errp);
    free(whole);
    if (ret < 0)
        return -1;
    e->next_cluster_sector += e->cluster_sectors;
    return vmdk_l2_update(e, grain, gt_sector, (uint32_t)at, errp);
}

/* Appends grain (n bytes at in_grain of zero-filled grain data) compressed with its marker. */
static int vmdk_stream_grain_write(vmdk_state *s, vmdk_extent *e, uint64_t grain, uint64_t gt_sector,
                                   uint64_t in_grain, size_t n, const uint8_t *data, uint64_t grain_valid,
                                   error **errp)
{
    uint64_t grain_bytes = e->cluster_sectors * 512;
    uint8_t *whole = memory_alloc_zero((size_t)grain_bytes);
    memcpy(whole + in_grain, data, n);
    uLongf out_length = compressBound((uLong)grain_bytes);
    uint8_t *out = memory_alloc_zero((size_t)out_length + 12 + 512);
    int ret = 0;
    if (compress(out + 12, &out_length, whole, (uLong)grain_valid) != Z_OK)
        ret = error_set_errno(errp, EIO, "Could not compress grain");
    uint64_t at = e->next_cluster_sector;
    uint64_t total = format_align_up(out_length + 12, 512);
    /* qemu reserves the whole grain first: the file grows to its end even when the compressed
     * grain is shorter (spec/vmdk.md §Stream writes). */
    uint64_t reserve_end = (at + e->cluster_sectors) * 512;
    if (ret == 0 && format_file_length(e->file) < reserve_end)
        ret = block_node_truncate(e->file, reserve_end, true, BLOCK_PREALLOCATION_OFF, false, errp);
    if (ret == 0) {
        endian_store_le64(out, grain * e->cluster_sectors);
        endian_store_le32(out + 8, (uint32_t)out_length);
        ret = format_file_write(e->file, at * 512, (size_t)total, out, errp);
    }
    free(out);
    free(whole);
    if (ret < 0)
        return -1;
    e->next_cluster_sector += total / 512;
    s->stream_writing = true;
    return vmdk_l2_update(e, grain, gt_sector, (uint32_t)at, errp);
}

/* A plain (uncompressed) write to an unallocated grain of a stream extent: qemu reserves the grain
 * (the file grows by it) and then refuses the write with EINVAL. */
static int vmdk_stream_plain_write_refuse(vmdk_extent *e, error **errp)
{
    uint64_t at = e->next_cluster_sector;
    uint64_t reserve_end = (at + e->cluster_sectors) * 512;
    if (format_file_length(e->file) < reserve_end &&
        block_node_truncate(e->file, reserve_end, true, BLOCK_PREALLOCATION_OFF, false, errp) < 0)
        return -1;
    e->next_cluster_sector += e->cluster_sectors;
    return error_set_errnum(errp, EINVAL, "Invalid argument");
}

/* Writes n bytes into one grain (or flat range) of extent e; compressed: a compressed write (the
 * only kind a stream extent takes). */
static int vmdk_extent_write(block_node *node, vmdk_extent *e, uint64_t rel, uint64_t guest, size_t n,
                             const uint8_t *buf, bool compressed, error **errp)
{
    vmdk_state *s = node->state;
    if (e->kind == VMDK_EXTENT_ZERO)
        return 0;
    if (e->kind == VMDK_EXTENT_FLAT)
        return format_file_write(e->file, e->flat_offset + rel, n, buf, errp);
    uint64_t grain_bytes = e->cluster_sectors * 512, grain = rel / grain_bytes;
    uint32_t entry;
    uint64_t gt_sector;
    if (vmdk_grain_entry(e, grain, &entry, &gt_sector, errp) < 0)
        return -1;
    if (gt_sector == 0)
        return error_set_errno(errp, EIO, "Could not write to a grain without a grain table");
    if (e->compressed) {
        if (entry == 0 && !compressed)
            return vmdk_stream_plain_write_refuse(e, errp);
        if (entry != 0) {
            report_text("qemu-img: Could not write to allocated cluster for streamOptimized\n");
            return error_set_errnum(errp, EIO, "Input/output error");
        }
        uint64_t valid = e->sectors * 512 - grain * grain_bytes;
        return vmdk_stream_grain_write(s, e, grain, gt_sector, rel % grain_bytes, n, buf,
                                       valid < grain_bytes ? valid : grain_bytes, errp);
    }
    if (entry == 0 || (entry == VMDK_GTE_ZEROED && e->has_zero_grain))
        return vmdk_grain_allocate(node, e, grain, gt_sector, guest, rel % grain_bytes, n, buf, entry == 0, errp);
    return format_file_write(e->file, (uint64_t)entry * 512 + rel % grain_bytes, n, buf, errp);
}

/* Writes guest data extent by extent (grain by grain in sparse extents). */
static int vmdk_write_pieces(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, bool compressed,
                             error **errp)
{
    vmdk_state *s = node->state;
    if (length > 0 && vmdk_cid_update(node, errp) < 0)
        return -1;
    while (length > 0) {
        uint64_t rel, piece;
        vmdk_extent *e = vmdk_request_piece(s, offset, length, &rel, &piece);
        if (e == NULL)
            return error_set_errno(errp, EIO, "Write past the end of the image");
        if (vmdk_extent_write(node, e, rel, offset, (size_t)piece, buf, compressed, errp) < 0)
            return -1;
        offset += piece;
        length -= (size_t)piece;
        buf += piece;
    }
    return 0;
}

int vmdk_write(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, int flags, error **errp)
{
    (void)flags;
    return vmdk_write_pieces(node, offset, length, buf, false, errp);
}

int vmdk_write_compressed(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, error **errp)
{
    return vmdk_write_pieces(node, offset, length, buf, true, errp);
}

/* Zero writes: whole grains of an extent with zeroed-grain support get the zeroed entry; the rest
 * is written as zero data. */
int vmdk_write_zeroes(block_node *node, uint64_t offset, uint64_t length, int flags, error **errp)
{
    vmdk_state *s = node->state;
    static const uint8_t zeroes[65536];
    (void)flags;
    if (length > 0 && vmdk_cid_update(node, errp) < 0)
        return -1;
    while (length > 0) {
        uint64_t rel, piece;
        vmdk_extent *e = vmdk_request_piece(s, offset, length, &rel, &piece);
        if (e == NULL)
            return error_set_errno(errp, EIO, "Write past the end of the image");
        if (piece > sizeof(zeroes))
            piece = sizeof(zeroes);
        uint64_t grain_bytes = e->cluster_sectors * 512;
        int ret;
        if (e->kind == VMDK_EXTENT_SPARSE && e->has_zero_grain && !e->compressed && rel % grain_bytes == 0 &&
            piece == grain_bytes) {
            uint32_t entry;
            uint64_t gt_sector;
            ret = vmdk_grain_entry(e, rel / grain_bytes, &entry, &gt_sector, errp);
            if (ret == 0 && gt_sector == 0)
                ret = error_set_errno(errp, EIO, "Could not write to a grain without a grain table");
            if (ret == 0)
                ret = vmdk_l2_update(e, rel / grain_bytes, gt_sector, VMDK_GTE_ZEROED, errp);
        } else {
            ret = vmdk_extent_write(node, e, rel, offset, (size_t)piece, zeroes, e->compressed, errp);
        }
        if (ret < 0)
            return -1;
        offset += piece;
        length -= piece;
    }
    return 0;
}

/* Writes the end-of-stream marker after the last grain of a stream image written to. */
void vmdk_stream_finish(vmdk_state *s)
{
    if (!s->stream_writing)
        return;
    vmdk_extent *e = &s->extents[0];
    uint8_t eos[VMDK_SECTOR_SIZE] = {0};
    format_file_write(e->file, e->next_cluster_sector * 512, sizeof(eos), eos, NULL);
    s->stream_writing = false;
}
