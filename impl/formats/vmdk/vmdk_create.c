/* vmdk_create.c — VMDK image creation as qemu 10.2 does it: option checks in its order, sparse
 * extents with redundant grain tables, flat and split extents, the descriptor (spec/vmdk.md §Creation). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmdk.h"
#include "../common/format_io.h"
#include "../common/format_uuid.h"
#include "../../block/open.h"
#include "../../util/endian.h"
#include "../../util/memory.h"

/* qemu's vmdk create options, in the order the "Formatting" line lists them. */
const option_desc vmdk_create_options[] = {
    {"size", OPTION_TYPE_SIZE, "Virtual disk size", NULL},
    {"adapter_type", OPTION_TYPE_STRING,
     "Virtual adapter type, can be one of ide (default), lsilogic, buslogic or legacyESX", NULL},
    {"backing_file", OPTION_TYPE_STRING, "File name of a base image", NULL},
    {"backing_fmt", OPTION_TYPE_STRING, "Must be 'vmdk' if present", NULL},
    {"compat6", OPTION_TYPE_BOOL, "VMDK version 6 image", "off"},
    {"hwversion", OPTION_TYPE_STRING, "VMDK hardware version", "undefined"},
    {"toolsversion", OPTION_TYPE_STRING, "VMware guest tools version", NULL},
    {"subformat", OPTION_TYPE_STRING,
     "VMDK flat extent format, can be one of {monolithicSparse (default) | monolithicFlat | twoGbMaxExtentSparse | "
     "twoGbMaxExtentFlat | streamOptimized} ",
     NULL},
    {"zeroed_grain", OPTION_TYPE_BOOL, "Enable efficient zero writes using the zeroed-grain GTE feature", NULL},
    {NULL, 0, NULL, NULL},
};

/* The validated creation parameters. */
typedef struct vmdk_create_params {
    uint64_t sectors;
    const char *adapter_type;
    const char *backing_file;
    const char *hw_version;
    const char *tools_version;
    const char *subformat;
    bool compat6;
    bool zeroed_grain;
    bool flat;
    bool split;
    bool stream;
} vmdk_create_params;

/* Whether value is one of the NULL-terminated names. */
static bool vmdk_name_known(const char *value, const char *const *names)
{
    for (size_t i = 0; names[i]; i++)
        if (strcmp(value, names[i]) == 0)
            return true;
    return false;
}

/* Reads and checks the options in qemu's order; nothing exists on disk yet when this fails. */
static int vmdk_create_params_parse(const option_list *options, vmdk_create_params *p, error **errp)
{
    static const char *const adapters[] = {"ide", "lsilogic", "buslogic", "legacyESX", NULL};
    static const char *const subformats[] = {"monolithicSparse", "monolithicFlat", "twoGbMaxExtentSparse",
                                             "twoGbMaxExtentFlat", "streamOptimized", NULL};
    uint64_t size = 0;
    memset(p, 0, sizeof(*p));
    if (option_list_get_size(options, "size", 0, &size, errp) < 0 ||
        option_list_get_bool(options, "compat6", false, &p->compat6, errp) < 0 ||
        option_list_get_bool(options, "zeroed_grain", false, &p->zeroed_grain, errp) < 0)
        return -1;
    p->sectors = size / 512 + (size % 512 != 0);
    p->adapter_type = option_list_get(options, "adapter_type");
    p->backing_file = option_list_get(options, "backing_file");
    const char *backing_format = option_list_get(options, "backing_fmt");
    p->hw_version = option_list_get(options, "hwversion");
    if (p->hw_version && strcmp(p->hw_version, "undefined") == 0)
        p->hw_version = NULL;
    p->tools_version = option_list_get(options, "toolsversion");
    p->subformat = option_list_get(options, "subformat");
    if (p->adapter_type == NULL)
        p->adapter_type = "ide";
    if (p->subformat == NULL)
        p->subformat = "monolithicSparse";
    if (backing_format && strcmp(backing_format, "vmdk") != 0)
        return error_set(errp, "backing_file must be a vmdk image");
    if (!vmdk_name_known(p->adapter_type, adapters))
        return error_set(errp, "invalid parameter value: %s", p->adapter_type);
    if (!vmdk_name_known(p->subformat, subformats))
        return error_set(errp, "invalid parameter value: %s", p->subformat);
    if (p->compat6 && p->hw_version)
        return error_set(errp, "compat6 cannot be enabled with hwversion set");
    p->flat = strstr(p->subformat, "Flat") != NULL;
    p->split = strncmp(p->subformat, "twoGb", 5) == 0;
    p->stream = strcmp(p->subformat, "streamOptimized") == 0;
    if (p->flat && p->backing_file)
        return error_set(errp, "Flat image can't have backing file");
    if (p->flat && p->zeroed_grain)
        return error_set(errp, "Flat image can't enable zeroed grain");
    if (p->hw_version == NULL)
        p->hw_version = p->compat6 ? "6" : "4";
    if (p->tools_version == NULL)
        p->tools_version = "2147483647";
    return 0;
}

/* The header of a new sparse extent of sectors sectors. */
static void vmdk_create_header_init(vmdk_sparse_header *h, uint64_t sectors, const vmdk_create_params *p)
{
    uint64_t gd_entries = vmdk_gd_entries(sectors, VMDK_DEFAULT_GRAIN_SECTORS, VMDK_DEFAULT_GTES);
    uint64_t gd_sectors = (gd_entries * 4 + 511) / 512;
    uint64_t gt_sectors = gd_entries * VMDK_DEFAULT_GTES * 4 / 512;
    memset(h, 0, sizeof(*h));
    h->magic = VMDK4_MAGIC;
    h->version = p->stream ? 3 : p->zeroed_grain ? 2 : 1;
    h->flags = VMDK4_FLAG_NEWLINE_TEST | VMDK4_FLAG_REDUNDANT_GT | (p->zeroed_grain ? VMDK4_FLAG_ZERO_GRAIN : 0) |
               (p->stream ? VMDK4_FLAG_COMPRESS | VMDK4_FLAG_MARKER : 0);
    h->capacity = sectors;
    h->grain_size = VMDK_DEFAULT_GRAIN_SECTORS;
    h->desc_offset = 1;
    h->desc_size = VMDK_DESCRIPTOR_SECTORS;
    h->num_gtes_per_gt = VMDK_DEFAULT_GTES;
    h->rgd_offset = 1 + VMDK_DESCRIPTOR_SECTORS;
    h->gd_offset = h->rgd_offset + gd_sectors + gt_sectors;
    uint64_t end = h->gd_offset + gd_sectors + gt_sectors;
    h->overhead = (end + VMDK_DEFAULT_GRAIN_SECTORS - 1) / VMDK_DEFAULT_GRAIN_SECTORS * VMDK_DEFAULT_GRAIN_SECTORS;
    h->newline_chars[0] = '\n';
    h->newline_chars[1] = ' ';
    h->newline_chars[2] = '\r';
    h->newline_chars[3] = '\n';
    h->compress_algorithm = p->stream ? VMDK4_COMPRESSION_DEFLATE : 0;
}

/* Writes one grain directory at gd_sector whose tables follow it after gd_sectors sectors. */
static int vmdk_create_gd_write(block_node *file, uint64_t gd_sector, uint64_t entries, error **errp)
{
    uint64_t gd_sectors = (entries * 4 + 511) / 512;
    uint8_t *gd = memory_alloc_zero((size_t)(gd_sectors * 512) + 1);
    for (uint64_t i = 0; i < entries; i++)
        endian_store_le32(gd + 4 * i, (uint32_t)(gd_sector + gd_sectors + i * (VMDK_DEFAULT_GTES * 4 / 512)));
    int ret = format_file_write(file, gd_sector * 512, (size_t)(gd_sectors * 512), gd, errp);
    free(gd);
    return ret;
}

/* Creates filename as a sparse extent of sectors sectors; descriptor (may be NULL) is embedded. */
static int vmdk_create_sparse_extent(const char *filename, uint64_t sectors, const char *descriptor,
                                     const vmdk_create_params *p, error **errp)
{
    vmdk_sparse_header h;
    uint8_t sector[VMDK4_HEADER_BYTES];
    vmdk_create_header_init(&h, sectors, p);
    uint64_t entries = vmdk_gd_entries(sectors, VMDK_DEFAULT_GRAIN_SECTORS, VMDK_DEFAULT_GTES);
    if (block_file_create(filename, 0, BLOCK_PREALLOCATION_OFF, errp) < 0)
        return -1;
    block_node *file = block_protocol_open(filename, BLOCK_OPEN_READ_WRITE, errp);
    if (file == NULL)
        return -1;
    vmdk_sparse_header_write_data(&h, sector);
    int ret = format_file_write(file, 0, sizeof(sector), sector, errp);
    if (ret == 0)
        ret = block_node_truncate(file, h.overhead * 512, true, BLOCK_PREALLOCATION_OFF, false, errp);
    if (ret == 0)
        ret = vmdk_create_gd_write(file, h.rgd_offset, entries, errp);
    if (ret == 0)
        ret = vmdk_create_gd_write(file, h.gd_offset, entries, errp);
    if (ret == 0 && descriptor)
        ret = format_file_write(file, 512, strlen(descriptor), descriptor, errp);
    block_node_close(file);
    return ret;
}

/* Creates filename as a flat extent of sectors sectors. */
static int vmdk_create_flat_extent(const char *filename, uint64_t sectors, error **errp)
{
    return block_file_create(filename, sectors * 512, BLOCK_PREALLOCATION_OFF, errp);
}

/* The name of extent file number index (0: the single flat file) next to descriptor path. */
static char *vmdk_extent_name(const char *path, const vmdk_create_params *p, unsigned index)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t stem = dot ? (size_t)(dot - path) : strlen(path);
    const char *ext = dot ? dot : "";
    if (!p->split)
        return memory_printf("%.*s-flat%s", (int)stem, path, ext);
    return memory_printf("%.*s-%c%03u%s", (int)stem, path, p->flat ? 'f' : 's', index, ext);
}

/* Creates the extent files of a split or flat image and collects their descriptor lines. */
static int vmdk_create_extent_files(const char *filename, const vmdk_create_params *p, string_buffer *lines,
                                    error **errp)
{
    uint64_t per_extent = p->split ? VMDK_SPLIT_EXTENT_BYTES / 512 : p->sectors;
    uint64_t left = p->sectors;
    for (unsigned index = 1; left > 0 || (!p->split && index == 1); index++) {
        uint64_t n = left < per_extent ? left : per_extent;
        char *path = vmdk_extent_name(filename, p, index);
        const char *slash = strrchr(path, '/');
        int ret = p->flat ? vmdk_create_flat_extent(path, n, errp)
                          : vmdk_create_sparse_extent(path, n, NULL, p, errp);
        if (ret == 0)
            string_buffer_printf(lines, "RW %" PRIu64 " %s \"%s\"%s\n", n, p->flat ? "FLAT" : "SPARSE",
                                 slash ? slash + 1 : path, p->flat ? " 0" : "");
        free(path);
        if (ret < 0)
            return -1;
        left -= n;
    }
    return 0;
}

/* Reads the CID of the backing image (it must probe as vmdk) for parentCID. */
static int vmdk_create_backing_cid(const char *filename, const char *backing, uint32_t *cid, error **errp)
{
    char *path = block_path_combine(filename, backing);
    block_open_request request = {path, NULL, false, BLOCK_OPEN_NO_BACKING | BLOCK_OPEN_FORCE_SHARE, NULL};
    block_node *node = block_image_open(&request, errp);
    free(path);
    if (node == NULL)
        return -1;
    int ret = 0;
    if (strcmp(node->driver->format_name, "vmdk") != 0)
        ret = error_set(errp, "Invalid backing file format: %s. Must be vmdk", node->driver->format_name);
    else
        *cid = ((vmdk_state *)node->state)->cid;
    block_node_close(node);
    return ret;
}

/* A random CID as qemu stamps one. */
static uint32_t vmdk_cid_random(void)
{
    uint8_t bytes[FORMAT_UUID_SIZE];
    format_uuid_generate(bytes);
    return endian_load_le32(bytes);
}

/* Writes the descriptor of a split or flat image as filename's whole content. */
static int vmdk_create_descriptor_file(const char *filename, const char *text, error **errp)
{
    if (block_file_create(filename, 0, BLOCK_PREALLOCATION_OFF, errp) < 0)
        return -1;
    block_node *file = block_protocol_open(filename, BLOCK_OPEN_READ_WRITE, errp);
    if (file == NULL)
        return -1;
    int ret = format_file_write(file, 0, strlen(text), text, errp);
    block_node_close(file);
    return ret;
}

int vmdk_create(const char *filename, const option_list *options, error **errp)
{
    vmdk_create_params p;
    if (vmdk_create_params_parse(options, &p, errp) < 0)
        return -1;
    bool monolithic = !p.split && !p.flat;
    string_buffer lines = {0};
    uint32_t parent_cid = 0xffffffffu;
    int ret = 0;
    if (monolithic) {
        string_buffer_printf(&lines, "RW %" PRIu64 " SPARSE \"%s\"\n", p.sectors,
                             strrchr(filename, '/') ? strrchr(filename, '/') + 1 : filename);
        ret = vmdk_create_sparse_extent(filename, p.sectors, NULL, &p, errp);
    } else {
        /* qemu makes the descriptor file before any extent file: its failure is reported first */
        ret = block_file_create(filename, 0, BLOCK_PREALLOCATION_OFF, errp);
        if (ret == 0)
            ret = vmdk_create_extent_files(filename, &p, &lines, errp);
    }
    if (ret == 0 && p.backing_file)
        ret = vmdk_create_backing_cid(filename, p.backing_file, &parent_cid, errp);
    char *extent_lines = string_buffer_take(&lines);
    if (ret == 0) {
        vmdk_descriptor_layout layout = {vmdk_cid_random(), parent_cid, p.subformat, p.backing_file, extent_lines,
                                         p.hw_version, 0, 0, p.adapter_type, p.tools_version};
        layout.heads = strcmp(p.adapter_type, "ide") == 0 ? 16 : 255;
        layout.cylinders = vmdk_geometry_cylinders(p.sectors, layout.heads);
        char *text = vmdk_descriptor_format(&layout);
        if (monolithic) {
            block_node *file = block_protocol_open(filename, BLOCK_OPEN_READ_WRITE, errp);
            ret = file ? format_file_write(file, 512, strlen(text), text, errp) : -1;
            block_node_close(file);
        } else {
            ret = vmdk_create_descriptor_file(filename, text, errp);
        }
        free(text);
    }
    free(extent_lines);
    return ret;
}
