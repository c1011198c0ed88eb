/* vmdk_driver.c — the VMDK format driver: probe, open of monolithic, split, flat and stream images,
 * grain lookup, reads, writes in qemu's allocation order, block status and info (spec/vmdk.md). */
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

/* ---- extents ---- */

/* Frees what an extent holds (its file only when the extent owns it). */
static void vmdk_extent_free(vmdk_extent *e, bool close_file)
{
    free(e->l1_table);
    free(e->l1_backup);
    free(e->cached_l2);
    free(e->type_name);
    if (close_file && !e->file_borrowed)
        block_node_close(e->file);
    memset(e, 0, sizeof(*e));
}

/* The directory entries of a table at offset that lie inside a file of length bytes. */
static uint64_t vmdk_l1_entries_inside(uint64_t offset, uint64_t length, uint64_t entries)
{
    if (offset >= length)
        return 0;
    uint64_t inside = (length - offset + 3) / 4;
    return inside < entries ? inside : entries;
}

/* Reads count directory entries at offset into a new array (bytes past the end of the file read
 * as 0). */
static int vmdk_l1_read(block_node *file, uint64_t offset, uint64_t count, uint32_t **table, error **errp)
{
    uint8_t *raw = memory_alloc_zero((size_t)count * 4 + 4);
    *table = memory_alloc_zero((size_t)count * 4 + 4);
    int ret = format_file_read(file, offset, (size_t)count * 4, raw, errp);
    for (uint64_t i = 0; ret == 0 && i < count; i++)
        (*table)[i] = endian_load_le32(raw + 4 * i);
    free(raw);
    return ret;
}

/* Reads the grain directory (and its redundant copy) of a sparse extent: only the entries inside
 * the file are held (those past its end read as 0), so memory follows the file. */
static int vmdk_extent_tables_load(vmdk_extent *e, error **errp)
{
    uint64_t length = format_file_length(e->file);
    uint64_t count = vmdk_l1_entries_inside(e->l1_offset, length, e->l1_size);
    if (e->l1_backup_offset) {
        uint64_t backup = vmdk_l1_entries_inside(e->l1_backup_offset, length, e->l1_size);
        count = backup > count ? backup : count;
    }
    e->l1_loaded = count;
    e->cached_l2 = memory_alloc_zero(e->gtes_per_gt * 4u + 4);
    if (vmdk_l1_read(e->file, e->l1_offset, count, &e->l1_table, errp) < 0)
        return -1;
    if (e->l1_backup_offset && vmdk_l1_read(e->file, e->l1_backup_offset, count, &e->l1_backup, errp) < 0)
        return -1;
    return 0;
}

/* Validates the geometry of a sparse extent as qemu does and sizes its grain directory. */
static int vmdk_extent_geometry_set(vmdk_extent *e, uint64_t capacity, uint64_t grain, uint32_t gtes, error **errp)
{
    if (gtes > 512)
        return error_set(errp, "L2 table size too big");
    uint64_t entry_sectors = grain * gtes;
    if (entry_sectors == 0 || entry_sectors > UINT32_MAX || grain > UINT32_MAX)
        return error_set(errp, "L1 entry size is invalid");
    e->l1_size = capacity / entry_sectors + (capacity % entry_sectors != 0);
    if (e->l1_size > (32u << 20))
        return error_set(errp, "L1 size too big");
    e->cluster_sectors = grain;
    e->gtes_per_gt = gtes;
    e->l2_bytes = (uint64_t)gtes * 4;
    e->capacity = capacity;
    e->sectors = capacity;
    return 0;
}

/* sector rounded up to a whole grain of grain_sectors: where new grains go, the end of the file so
 * rounded (oracle-measured). */
static uint64_t vmdk_grain_round(uint64_t sector, uint64_t grain_sectors)
{
    if (grain_sectors == 0 || sector % grain_sectors == 0)
        return sector;
    return sector + (grain_sectors - sector % grain_sectors);
}

/* Reads the footer of a stream image whose grain directory is at the end: marker, header copy,
 * end-of-stream marker in the last three sectors. */
static int vmdk_footer_read(block_node *file, vmdk_sparse_header *h, error **errp)
{
    uint64_t length = format_file_length(file);
    uint8_t buf[3 * VMDK_SECTOR_SIZE];
    if (length < sizeof(buf) || format_file_read(file, length - sizeof(buf), sizeof(buf), buf, errp) < 0)
        return error_set(errp, "Invalid footer");
    vmdk_sparse_header footer;
    vmdk_sparse_header_read_data(buf + VMDK_SECTOR_SIZE, VMDK4_HEADER_BYTES, &footer);
    const uint8_t *eos = buf + 2 * VMDK_SECTOR_SIZE;
    if (footer.magic != VMDK4_MAGIC || endian_load_le32(buf + 12) != VMDK_MARKER_FOOTER ||
        endian_load_le32(eos + 12) != VMDK_MARKER_EOS || endian_load_le32(eos + 8) != 0 ||
        endian_load_le64(eos) != 0 || endian_load_le32(buf + 8) != 0)
        return error_set(errp, "Invalid footer");
    *h = footer;
    return 0;
}

/* Opens a hosted sparse (KDMV) extent in file from its header h. */
static int vmdk_extent_open_vmdk4(vmdk_extent *e, block_node *file, vmdk_sparse_header *h, error **errp)
{
    if (h->gd_offset == VMDK4_GD_AT_END && vmdk_footer_read(file, h, errp) < 0)
        return -1;
    if (h->version > 3)
        return error_set(errp, "Unsupported VMDK version %" PRIu32, h->version);
    if (vmdk_extent_geometry_set(e, h->capacity, h->grain_size, h->num_gtes_per_gt, errp) < 0)
        return -1;
    uint64_t length = format_file_length(file);
    if (h->overhead > UINT64_MAX / 512 || h->overhead * 512 > length) {
        if (!(h->flags & VMDK4_FLAG_COMPRESS) || h->overhead * 512 > length)
            return error_set(errp, "File truncated, expecting at least %" PRIu64 " bytes", h->overhead * 512);
    }
    e->kind = VMDK_EXTENT_SPARSE;
    e->file = file;
    e->version = h->version;
    e->compressed = h->compress_algorithm == VMDK4_COMPRESSION_DEFLATE;
    e->has_marker = (h->flags & VMDK4_FLAG_MARKER) != 0;
    e->has_zero_grain = (h->flags & VMDK4_FLAG_ZERO_GRAIN) != 0;
    e->l1_offset = h->gd_offset * 512;
    e->l1_backup_offset = (h->flags & VMDK4_FLAG_REDUNDANT_GT) ? h->rgd_offset * 512 : 0;
    e->overhead = h->overhead;
    e->next_cluster_sector = vmdk_grain_round((length + 511) / 512, e->cluster_sectors);
    if (e->next_cluster_sector < h->overhead)
        e->next_cluster_sector = h->overhead;
    return vmdk_extent_tables_load(e, errp);
}

/* Opens a VMDK3 (COWD) extent in file. */
static int vmdk_extent_open_cowd(vmdk_extent *e, block_node *file, const uint8_t *buf, error **errp)
{
    vmdk_cowd_header h;
    vmdk_cowd_header_read_data(buf, VMDK4_HEADER_BYTES, &h);
    e->kind = VMDK_EXTENT_SPARSE;
    e->is_cowd = true;
    e->file = file;
    if (h.granularity == 0)
        return error_set(errp, "L1 entry size is invalid");
    e->cluster_sectors = h.granularity;
    e->gtes_per_gt = 4096;
    e->l2_bytes = 4096 * 4;
    e->l1_size = h.l1dir_size;
    e->sectors = e->capacity = h.disk_sectors;
    e->l1_offset = (uint64_t)h.l1dir_offset * 512;
    e->next_cluster_sector = vmdk_grain_round((format_file_length(file) + 511) / 512, e->cluster_sectors);
    if (e->l1_size > (32u << 20))
        return error_set(errp, "L1 size too big");
    return vmdk_extent_tables_load(e, errp);
}

/* Opens the sparse extent in file (header at offset 0). */
static int vmdk_extent_open_sparse(vmdk_extent *e, block_node *file, vmdk_sparse_header *h_out, error **errp)
{
    uint8_t buf[VMDK4_HEADER_BYTES];
    if (format_file_read(file, 0, sizeof(buf), buf, errp) < 0)
        return -1;
    uint32_t magic = endian_load_le32(buf);
    if (magic == VMDK3_MAGIC)
        return vmdk_extent_open_cowd(e, file, buf, errp);
    if (magic != VMDK4_MAGIC)
        return error_set(errp, "Image not in VMDK format");
    vmdk_sparse_header h;
    vmdk_sparse_header_read_data(buf, sizeof(buf), &h);
    if (h_out)
        *h_out = h;
    return vmdk_extent_open_vmdk4(e, file, &h, errp);
}

/* Appends an empty extent to s. */
static vmdk_extent *vmdk_extent_add(vmdk_state *s)
{
    s->extents = memory_realloc(s->extents, (s->extent_count + 1) * sizeof(*s->extents));
    vmdk_extent *e = &s->extents[s->extent_count++];
    memset(e, 0, sizeof(*e));
    return e;
}

/* Sets the guest end of the last extent from the one before it. */
static void vmdk_extent_place(vmdk_state *s)
{
    vmdk_extent *e = &s->extents[s->extent_count - 1];
    uint64_t start = s->extent_count > 1 ? s->extents[s->extent_count - 2].end_sector : 0;
    e->end_sector = start + e->sectors;
}

/* ---- open ---- */

static void vmdk_close(block_node *node);

/* Takes the descriptor's fields the image shows (CID, parent CID, create type, backing hint); both
 * CIDs must be there (qemu: EINVAL, "Could not open 'F': Invalid argument"). */
static int vmdk_descriptor_adopt(block_node *node, vmdk_state *s, vmdk_descriptor *desc, error **errp)
{
    if (!desc->has_cid || !desc->has_parent_cid || desc->parent_hint_invalid)
        return error_set_errnum(errp, EINVAL, "Could not open '%s': Invalid argument", node->file->filename);
    s->cid = desc->cid;
    s->parent_cid = desc->parent_cid;
    free(s->create_type);
    s->create_type = desc->create_type;
    desc->create_type = NULL;
    if (desc->parent_hint) {
        node->backing_file = desc->parent_hint;
        node->backing_format = memory_strdup("vmdk");
        desc->parent_hint = NULL;
    }
    return 0;
}

static int vmdk_open_descriptor_text(block_node *node, vmdk_state *s, char *text, int flags, error **errp);

/* Reads the descriptor embedded in a sparse file at its header's place (bounded; NULL on error). */
static char *vmdk_embedded_descriptor_read(block_node *node, const vmdk_sparse_header *h, uint64_t *bytes,
                                           error **errp)
{
    uint64_t max_sectors = VMDK_DESCRIPTOR_MAX / 512;
    *bytes = (h->desc_size < max_sectors ? h->desc_size : max_sectors) * 512;
    char *text = memory_alloc_zero((size_t)*bytes + 1);
    if (h->desc_offset > UINT64_MAX / 512 ||
        format_file_read(node->file, h->desc_offset * 512, (size_t)*bytes, text, errp) < 0) {
        free(text);
        error_set(errp, "Could not read the embedded descriptor");
        return NULL;
    }
    return text;
}

/* A sparse file of capacity 0 with a descriptor: qemu opens the descriptor as a descriptor file. */
static int vmdk_open_embedded_descriptor(block_node *node, vmdk_state *s, const vmdk_sparse_header *h, int flags,
                                         error **errp)
{
    uint64_t bytes;
    char *text = vmdk_embedded_descriptor_read(node, h, &bytes, errp);
    if (text == NULL)
        return -1;
    return vmdk_open_descriptor_text(node, s, text, flags, errp);
}

/* Opens the image file as a single sparse extent with its embedded descriptor. */
static int vmdk_open_monolithic(block_node *node, vmdk_state *s, int flags, error **errp)
{
    uint8_t first[VMDK4_HEADER_BYTES];
    vmdk_sparse_header h;
    if (format_file_read(node->file, 0, sizeof(first), first, errp) < 0)
        return -1;
    vmdk_sparse_header_read_data(first, sizeof(first), &h);
    if (h.magic == VMDK4_MAGIC && h.capacity == 0 && h.desc_offset != 0)
        return vmdk_open_embedded_descriptor(node, s, &h, flags, errp);
    vmdk_extent *e = vmdk_extent_add(s);
    e->file_borrowed = true;
    if (vmdk_extent_open_sparse(e, node->file, &h, errp) < 0)
        return -1;
    vmdk_extent_place(s);
    s->single_monolithic = true;
    /* qemu reads the descriptor of a monolithic image from sector 1, 20 sectors, whatever the
     * header's desc_offset and desc_size say (oracle-measured). */
    vmdk_sparse_header place = h;
    place.desc_offset = 1;
    place.desc_size = VMDK_DESCRIPTOR_SECTORS;
    uint64_t bytes;
    char *text = vmdk_embedded_descriptor_read(node, &place, &bytes, errp);
    if (text == NULL)
        return -1;
    h.desc_offset = 1;
    vmdk_descriptor desc;
    vmdk_descriptor_parse(text, strlen(text), false, &desc, NULL);
    s->descriptor = text;
    int ret = vmdk_descriptor_adopt(node, s, &desc, errp);
    /* a monolithic image's create type follows its header, whatever the descriptor says */
    free(s->create_type);
    s->create_type = memory_strdup(e->is_cowd ? "" : e->compressed ? "streamOptimized" : "monolithicSparse");
    vmdk_descriptor_free(&desc);
    if (ret < 0)
        return -1;
    s->desc_offset = h.desc_offset * 512;
    s->desc_size = bytes;
    return 0;
}

/* Opens the extent described by line, its file named relative to the descriptor's. */
static int vmdk_open_extent_line(block_node *node, vmdk_state *s, const vmdk_extent_line *line, int flags,
                                 error **errp)
{
    vmdk_extent *e = vmdk_extent_add(s);
    e->type_name = memory_strdup(line->type);
    if (line->kind == VMDK_EXTENT_ZERO) {
        e->kind = VMDK_EXTENT_ZERO;
        e->sectors = line->sectors;
        vmdk_extent_place(s);
        return 0;
    }
    /* An image held in memory (fuzzing) never reaches files on disk through its extents. */
    if (node->file->memory != NULL)
        return error_set(errp, "Could not open '%s': extent files of an image in memory are not opened",
                         line->filename);
    char *path = block_path_combine(node->file->filename, line->filename);
    block_node *file = block_protocol_open(path, flags & (BLOCK_OPEN_READ_WRITE | BLOCK_OPEN_FORCE_SHARE), errp);
    free(path);
    if (file == NULL)
        return -1;
    e->file = file;
    if (line->kind == VMDK_EXTENT_FLAT || line->kind == VMDK_EXTENT_VMFS) {
        e->kind = VMDK_EXTENT_FLAT;
        e->sectors = line->sectors;
        e->flat_offset = line->offset * 512;
    } else {
        if (vmdk_extent_open_sparse(e, file, NULL, errp) < 0)
            return -1;
        e->sectors = line->sectors;
    }
    vmdk_extent_place(s);
    return 0;
}

/* Whether qemu opens descriptors of create type type. */
static bool vmdk_create_type_supported(const char *type)
{
    static const char *const supported[] = {"monolithicFlat", "vmfs", "vmfsSparse", "twoGbMaxExtentSparse",
                                            "twoGbMaxExtentFlat", NULL};
    for (size_t i = 0; supported[i]; i++)
        if (strcmp(type, supported[i]) == 0)
            return true;
    return false;
}

/* Opens the extents that descriptor text (owned by s from now on) names: the create type is
 * checked first, then the extent lines. */
static int vmdk_open_descriptor_text(block_node *node, vmdk_state *s, char *text, int flags, error **errp)
{
    free(s->descriptor);
    s->descriptor = text;
    vmdk_descriptor desc;
    vmdk_descriptor_parse(text, strlen(text), false, &desc, NULL);
    int ret = 0;
    if (desc.create_type == NULL)
        ret = error_set(errp, "invalid VMDK image descriptor");
    else if (!vmdk_create_type_supported(desc.create_type))
        ret = error_set(errp, "Unsupported image type '%s'", desc.create_type);
    vmdk_descriptor_free(&desc);
    if (ret < 0 || vmdk_descriptor_parse(text, strlen(text), true, &desc, errp) < 0)
        return -1;
    for (size_t i = 0; ret == 0 && i < desc.extent_count; i++)
        ret = vmdk_open_extent_line(node, s, &desc.extents[i], flags, errp);
    if (ret == 0)
        ret = vmdk_descriptor_adopt(node, s, &desc, errp);
    vmdk_descriptor_free(&desc);
    return ret;
}

/* Opens an image whose file is descriptor text. */
static int vmdk_open_descriptor(block_node *node, vmdk_state *s, int flags, error **errp)
{
    uint64_t length = format_file_length(node->file);
    if (length > VMDK_DESCRIPTOR_MAX)
        return error_set(errp, "File too large");
    char *text = memory_alloc_zero((size_t)length + 1);
    if (format_file_read(node->file, 0, (size_t)length, text, errp) < 0) {
        free(text);
        return -1;
    }
    return vmdk_open_descriptor_text(node, s, text, flags, errp);
}

/* Lists the extent files (other than the image file) as children, last first, as info shows them. */
static void vmdk_children_add(block_node *node, vmdk_state *s)
{
    static char names[BLOCK_NODE_CHILDREN_MAX][32]; /* "extents.N" for every index: names outlive nodes */
    for (size_t i = s->extent_count; i-- > 0;) {
        vmdk_extent *e = &s->extents[i];
        if (e->file == NULL || e->file_borrowed || i >= BLOCK_NODE_CHILDREN_MAX ||
            node->child_count >= BLOCK_NODE_CHILDREN_MAX)
            continue; /* past the node's room: the extent keeps its file and closes it itself */
        snprintf(names[i], sizeof(names[i]), "extents.%zu", i);
        block_node_add_child(node, names[i], e->file);
        e->file_borrowed = true; /* the node closes it now */
    }
}

/* Refuses runtime options: VMDK has none of its own. */
static int vmdk_options_check(const option_list *options, error **errp)
{
    if (options && options->count > 0)
        return error_set(errp, "Block format 'vmdk' does not support the option '%s'", options->entries[0].key);
    return 0;
}

/* Opens a VMDK image: a sparse file with its embedded descriptor, or a descriptor file naming
 * its extents. */
static int vmdk_open(block_node *node, option_list *options, int flags, error **errp)
{
    vmdk_state *s = memory_alloc_zero(sizeof(*s));
    node->state = s;
    uint8_t magic[4] = {0};
    if (vmdk_options_check(options, errp) < 0 || format_file_read(node->file, 0, sizeof(magic), magic, errp) < 0)
        goto fail;
    uint32_t m = endian_load_le32(magic);
    if (m == VMDK4_MAGIC || m == VMDK3_MAGIC) {
        if (vmdk_open_monolithic(node, s, flags, errp) < 0)
            goto fail;
    } else if (vmdk_open_descriptor(node, s, flags, errp) < 0) {
        goto fail;
    }
    node->size = s->extent_count ? s->extents[s->extent_count - 1].end_sector * 512 : 0;
    node->read_only = !(flags & BLOCK_OPEN_READ_WRITE);
    vmdk_children_add(node, s);
    return 0;
fail:
    vmdk_close(node);
    return -1;
}

/* Writes the end-of-stream marker after the last grain of a stream image written to. */
static void vmdk_stream_finish(vmdk_state *s)
{
    if (!s->stream_writing)
        return;
    vmdk_extent *e = &s->extents[0];
    uint8_t eos[VMDK_SECTOR_SIZE] = {0};
    format_file_write(e->file, e->next_cluster_sector * 512, sizeof(eos), eos, NULL);
    s->stream_writing = false;
}

static void vmdk_close(block_node *node)
{
    vmdk_state *s = node->state;
    if (s == NULL)
        return;
    if (!node->abandoned && s->extent_count > 0)
        vmdk_stream_finish(s);
    for (size_t i = 0; i < s->extent_count; i++)
        vmdk_extent_free(&s->extents[i], true);
    free(s->extents);
    free(s->create_type);
    free(s->descriptor);
    free(s);
    node->state = NULL;
}

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
static vmdk_extent *vmdk_request_piece(vmdk_state *s, uint64_t offset, uint64_t length, uint64_t *rel,
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

static int vmdk_read(block_node *node, uint64_t offset, size_t length, uint8_t *buf, error **errp)
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

static int vmdk_write(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, int flags, error **errp)
{
    (void)flags;
    return vmdk_write_pieces(node, offset, length, buf, false, errp);
}

static int vmdk_write_compressed(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, error **errp)
{
    return vmdk_write_pieces(node, offset, length, buf, true, errp);
}

/* Zero writes: whole grains of an extent with zeroed-grain support get the zeroed entry; the rest
 * is written as zero data. */
static int vmdk_write_zeroes(block_node *node, uint64_t offset, uint64_t length, int flags, error **errp)
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
