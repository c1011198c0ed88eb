/* vmdk_driver.c — the VMDK format driver table: probe, block status, info, flush and the entry
 * points of vmdk_open.c, vmdk_io.c, vmdk_create.c and vmdk_check.c (spec/vmdk.md). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmdk.h"
#include "../common/format_io.h"
#include "../common/format_uuid.h"
#include "../../block/open.h"
#include "../../util/endian.h"
#include "../../util/json.h"
#include "../../util/memory.h"
#include "../../util/report.h"

/* ---- probe ---- */

/* Whether the line at p (up to end) reads "version=1|2|3" followed by a line break or the end. */
static bool vmdk_probe_version_line(const char *p, const char *end)
{
    if (end - p < 9 || memcmp(p, "version=", 8) != 0 || p[8] < '1' || p[8] > '3')
        return false;
    p += 9;
    return p == end || *p == '\n' || (*p == '\r' && (p + 1 == end || p[1] == '\n'));
}

/* Score 100 for a sparse magic, or for descriptor text with a "version=N" line before any line
 * that is not a comment (qemu's probe as measured: spec/vmdk.md §Probe). */
static int vmdk_probe(const uint8_t *buf, size_t buf_size, const char *filename)
{
    (void)filename;
    if (buf_size >= 4 && (endian_load_le32(buf) == VMDK4_MAGIC || endian_load_le32(buf) == VMDK3_MAGIC))
        return 100;
    const char *p = (const char *)buf, *end = p + buf_size;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (vmdk_probe_version_line(p, end))
            return 100;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    return 0;
}

/* ---- status and info ---- */

/* The status of one grain (or flat extent range) at guest offset. */
static int vmdk_block_status(block_node *node, uint64_t offset, uint64_t length, block_status_result *out,
                             error **errp)
{
    vmdk_state *s = node->state;
    uint64_t rel, piece;
    vmdk_extent *e = vmdk_request_piece(s, offset, length, &rel, &piece);
    out->length = e ? piece : length;
    out->flags = 0;
    if (e == NULL)
        return 0;
    if (e->kind == VMDK_EXTENT_ZERO) {
        out->flags = BLOCK_STATUS_ZERO;
        return 0;
    }
    if (e->kind == VMDK_EXTENT_FLAT) {
        out->flags = BLOCK_STATUS_DATA | BLOCK_STATUS_OFFSET_VALID | BLOCK_STATUS_RECURSE;
        out->map_offset = e->flat_offset + rel;
        out->map_node = e->file;
        return 0;
    }
    uint64_t grain_bytes = e->cluster_sectors * 512;
    uint32_t entry;
    uint64_t gt_sector;
    if (vmdk_grain_entry(e, rel / grain_bytes, &entry, &gt_sector, errp) < 0)
        return -1;
    if (entry == 0)
        return 0;
    if (entry == VMDK_GTE_ZEROED && e->has_zero_grain) {
        out->flags = BLOCK_STATUS_ZERO;
        return 0;
    }
    out->flags = BLOCK_STATUS_DATA;
    if (e->compressed) {
        out->flags |= BLOCK_STATUS_COMPRESSED;
        return 0;
    }
    out->flags |= BLOCK_STATUS_OFFSET_VALID;
    out->map_offset = (uint64_t)entry * 512 + rel % grain_bytes;
    out->map_node = e->file;
    return 0;
}

/* The info entry of one extent. */
static json_value *vmdk_extent_describe(const vmdk_extent *e)
{
    json_value *o = json_object_new();
    if (e->compressed)
        json_object_set_bool(o, "compressed", true);
    json_object_set_uint(o, "virtual-size", e->sectors * 512);
    if (e->file)
        json_object_set_string(o, "filename", e->file->filename);
    if (e->kind == VMDK_EXTENT_SPARSE)
        json_object_set_uint(o, "cluster-size", e->cluster_sectors * 512);
    json_object_set_string(o, "format", e->type_name ? e->type_name : "");
    return o;
}

static int vmdk_info_fill(block_node *node, image_info *info, error **errp)
{
    vmdk_state *s = node->state;
    (void)errp;
    static const vmdk_extent none;
    const vmdk_extent *first = s->extent_count ? &s->extents[0] : &none;
    if (first->kind == VMDK_EXTENT_SPARSE && first->cluster_sectors) {
        info->has_cluster_size = true;
        info->cluster_size = first->cluster_sectors * 512;
    }
    json_value *data = json_object_new();
    json_object_set_uint(data, "cid", s->cid);
    json_object_set_uint(data, "parent-cid", s->parent_cid);
    json_object_set_string(data, "create-type", s->create_type ? s->create_type : "monolithicSparse");
    json_value *list = json_array_new();
    for (size_t i = 0; i < s->extent_count; i++)
        json_array_append(list, vmdk_extent_describe(&s->extents[i]));
    json_object_set(data, "extents", list);
    info->format_specific_data = data;
    info->dirty_flag = false;
    info->has_no_discard = true;
    info->needs_compressed_writes = first->kind == VMDK_EXTENT_SPARSE && first->compressed;
    return 0;
}

static bool vmdk_has_zero_init(block_node *node)
{
    vmdk_state *s = node->state;
    for (size_t i = 0; i < s->extent_count; i++)
        if (s->extents[i].kind == VMDK_EXTENT_FLAT)
            return block_node_has_zero_init(s->extents[i].file);
    return true;
}

static int64_t vmdk_allocated_size(block_node *node)
{
    vmdk_state *s = node->state;
    int64_t total = block_node_allocated_size(node->file);
    if (total < 0)
        return total;
    for (size_t i = 0; i < s->extent_count; i++) {
        const vmdk_extent *e = &s->extents[i];
        if (e->file && e->file != node->file) {
            int64_t n = block_node_allocated_size(e->file);
            if (n > 0)
                total += n;
        }
    }
    return total;
}

static int vmdk_flush(block_node *node, error **errp)
{
    vmdk_state *s = node->state;
    for (size_t i = 0; i < s->extent_count; i++)
        if (s->extents[i].file && s->extents[i].file != node->file && block_node_flush(s->extents[i].file, errp) < 0)
            return -1;
    return 0;
}

const block_driver block_driver_vmdk = {
    .format_name = "vmdk",
    .supports_backing = true,
    .probe = vmdk_probe,
    .open = vmdk_open,
    .close = vmdk_close,
    .read = vmdk_read,
    .write = vmdk_write,
    .write_compressed = vmdk_write_compressed,
    .write_zeroes = vmdk_write_zeroes,
    .block_status = vmdk_block_status,
    .flush = vmdk_flush,
    .has_zero_init = vmdk_has_zero_init,
    .allocated_size = vmdk_allocated_size,
    .create_options = vmdk_create_options,
    .create = vmdk_create,
    .info_fill = vmdk_info_fill,
    .check = vmdk_check,
};
