/* vmdk_open.c — opening VMDK images: sparse (KDMV) and COWD extents with their grain directories,
 * the footer of stream images, the embedded or standalone descriptor and its extent files, and
 * closing (spec/vmdk.md §Sparse header, §Descriptor). */
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
    if (grain > VMDK_MAX_GRAIN_SECTORS)
        return error_set(errp, "Invalid granularity, image may be corrupt");
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
    if (h.granularity > VMDK_MAX_GRAIN_SECTORS)
        return error_set(errp, "Invalid granularity, image may be corrupt");
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

void vmdk_close(block_node *node);

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

/* Opens an image whose file is descriptor text: as qemu, only its first VMDK_DESCRIPTOR_MAX - 1
 * bytes are read, whatever the file's length (a larger file is cut there, not refused). */
static int vmdk_open_descriptor(block_node *node, vmdk_state *s, int flags, error **errp)
{
    uint64_t length = format_file_length(node->file);
    if (length > VMDK_DESCRIPTOR_MAX - 1)
        length = VMDK_DESCRIPTOR_MAX - 1;
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
int vmdk_open(block_node *node, option_list *options, int flags, error **errp)
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


void vmdk_close(block_node *node)
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
