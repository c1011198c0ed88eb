/* vmdk_header.c — pure encoders and decoders of the VMDK on-disk structures: the hosted sparse
 * header, the COWD header and the text descriptor (spec/vmdk.md §Sparse header, §Descriptor). */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmdk.h"
#include "../../util/endian.h"
#include "../../util/memory.h"

/* Copies size bytes of buf into a zero-padded header-sized buffer. */
static void vmdk_header_pad(const uint8_t *buf, size_t size, uint8_t *out)
{
    memset(out, 0, VMDK4_HEADER_BYTES);
    memcpy(out, buf, size < VMDK4_HEADER_BYTES ? size : VMDK4_HEADER_BYTES);
}

void vmdk_sparse_header_read_data(const uint8_t *buf, size_t size, vmdk_sparse_header *h)
{
    uint8_t b[VMDK4_HEADER_BYTES];
    vmdk_header_pad(buf, size, b);
    h->magic = endian_load_le32(b + 0);
    h->version = endian_load_le32(b + 4);
    h->flags = endian_load_le32(b + 8);
    h->capacity = endian_load_le64(b + 12);
    h->grain_size = endian_load_le64(b + 20);
    h->desc_offset = endian_load_le64(b + 28);
    h->desc_size = endian_load_le64(b + 36);
    h->num_gtes_per_gt = endian_load_le32(b + 44);
    h->rgd_offset = endian_load_le64(b + 48);
    h->gd_offset = endian_load_le64(b + 56);
    h->overhead = endian_load_le64(b + 64);
    h->unclean_shutdown = b[72];
    memcpy(h->newline_chars, b + 73, 4);
    h->compress_algorithm = endian_load_le16(b + 77);
}

void vmdk_sparse_header_write_data(const vmdk_sparse_header *h, uint8_t *b)
{
    memset(b, 0, VMDK4_HEADER_BYTES);
    endian_store_le32(b + 0, h->magic);
    endian_store_le32(b + 4, h->version);
    endian_store_le32(b + 8, h->flags);
    endian_store_le64(b + 12, h->capacity);
    endian_store_le64(b + 20, h->grain_size);
    endian_store_le64(b + 28, h->desc_offset);
    endian_store_le64(b + 36, h->desc_size);
    endian_store_le32(b + 44, h->num_gtes_per_gt);
    endian_store_le64(b + 48, h->rgd_offset);
    endian_store_le64(b + 56, h->gd_offset);
    endian_store_le64(b + 64, h->overhead);
    b[72] = h->unclean_shutdown;
    memcpy(b + 73, h->newline_chars, 4);
    endian_store_le16(b + 77, h->compress_algorithm);
}

void vmdk_cowd_header_read_data(const uint8_t *buf, size_t size, vmdk_cowd_header *h)
{
    uint8_t b[VMDK4_HEADER_BYTES];
    vmdk_header_pad(buf, size, b);
    h->version = endian_load_le32(b + 4);
    h->flags = endian_load_le32(b + 8);
    h->disk_sectors = endian_load_le32(b + 12);
    h->granularity = endian_load_le32(b + 16);
    h->l1dir_offset = endian_load_le32(b + 20);
    h->l1dir_size = endian_load_le32(b + 24);
}

uint64_t vmdk_gd_entries(uint64_t capacity, uint64_t grain_sectors, uint32_t gtes)
{
    uint64_t per_entry = grain_sectors * gtes;
    if (per_entry == 0)
        return 0;
    return capacity / per_entry + (capacity % per_entry != 0);
}

uint64_t vmdk_geometry_cylinders(uint64_t sectors, unsigned heads)
{
    return sectors / ((uint64_t)heads * 63);
}

/* ---- descriptor ---- */

/* The line of text starting at p (up to end), without its line break, as a new string. */
static char *vmdk_line_copy(const char *p, const char *end)
{
    const char *q = p;
    while (q < end && *q != '\n' && *q != '\r')
        q++;
    return memory_strndup(p, (size_t)(q - p));
}

/* qemu's reading of a quoted descriptor value: key found anywhere in text, the value starting
 * two characters after it (past `="`) and ending at the next double quote. Returns 1 with *value
 * (caller frees), 0 when key is absent, -1 when no closing quote follows. */
static int vmdk_description_get(const char *text, const char *key, char **value)
{
    const char *at = strstr(text, key);
    *value = NULL;
    if (at == NULL)
        return 0;
    const char *start = at + strlen(key);
    for (int i = 0; i < 2 && *start; i++)
        start++;
    const char *end = strchr(start, '"');
    if (end == NULL)
        return -1;
    *value = memory_strndup(start, (size_t)(end - start));
    return 1;
}

/* Parses a hexadecimal CID value; false when it holds no hex digit. */
static bool vmdk_cid_parse(const char *value, uint32_t *cid)
{
    char *end = NULL;
    unsigned long long v = strtoull(value, &end, 16);
    if (end == value)
        return false;
    *cid = (uint32_t)v;
    return true;
}

/* Maps an extent type word to its kind; -1 when qemu does not know it. */
static int vmdk_extent_kind_parse(const char *type)
{
    static const struct { const char *name; vmdk_extent_type kind; } kinds[] = {
        {"FLAT", VMDK_EXTENT_FLAT}, {"SPARSE", VMDK_EXTENT_SPARSE}, {"ZERO", VMDK_EXTENT_ZERO},
        {"VMFS", VMDK_EXTENT_VMFS}, {"VMFSSPARSE", VMDK_EXTENT_VMFSSPARSE},
    };
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(type, kinds[i].name) == 0)
            return (int)kinds[i].kind;
    return -1;
}

/* Parses one extent line as qemu does: lines it cannot read, other access modes than RW, ZERO
 * extents and empty extents are skipped (*skip); unknown types and flat lines without an offset
 * are errors. */
static int vmdk_extent_line_parse(const char *line, vmdk_extent_line *e, bool *skip, error **errp)
{
    char access[11] = "", type[11] = "", name[512] = "";
    int64_t sectors = 0, offset = 0;
    memset(e, 0, sizeof(*e));
    *skip = true;
    int matched = sscanf(line, "%10s %" SCNd64 " %10s \"%511[^\n\r\"]\" %" SCNd64, access, &sectors, type, name,
                         &offset);
    if (matched < 4 || strcmp(access, "RW") != 0)
        return 0;
    int kind = vmdk_extent_kind_parse(type);
    if (kind < 0 || (kind == VMDK_EXTENT_FLAT && matched != 5) || offset < 0)
        return error_set(errp, "Invalid extent line: %s", line);
    if (sectors <= 0 || kind == VMDK_EXTENT_ZERO)
        return 0;
    *skip = false;
    e->access = memory_strdup(access);
    e->sectors = (uint64_t)sectors;
    e->type = memory_strdup(type);
    e->kind = (vmdk_extent_type)kind;
    e->filename = memory_strdup(name);
    e->offset = (uint64_t)offset;
    return 0;
}

/* Collects the extents of text into desc: every line is tried (qemu reads them all). */
static int vmdk_descriptor_extents_parse(const char *text, vmdk_descriptor *desc, error **errp)
{
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (desc->extent_count >= VMDK_MAX_EXTENTS)
            return error_set(errp, "Too many extents");
        char *line = vmdk_line_copy(p, p + strlen(p));
        vmdk_extent_line e;
        bool skip;
        int ret = vmdk_extent_line_parse(line, &e, &skip, errp);
        free(line);
        if (ret < 0)
            return -1;
        if (skip)
            continue;
        desc->extents = memory_realloc(desc->extents, (desc->extent_count + 1) * sizeof(*desc->extents));
        desc->extents[desc->extent_count++] = e;
    }
    return 0;
}

int vmdk_descriptor_parse(const char *text_in, size_t length, bool want_extents, vmdk_descriptor *desc, error **errp)
{
    memset(desc, 0, sizeof(*desc));
    char *text = memory_strndup(text_in, length);
    /* qemu finds "CID=" and "parentCID=" anywhere in the text (the first "CID=" may be the one
     * inside "parentCID=") and reads a hexadecimal number right after them. */
    const char *at = strstr(text, "CID=");
    desc->has_cid = at && vmdk_cid_parse(at + 4, &desc->cid);
    at = strstr(text, "parentCID=");
    desc->has_parent_cid = at && vmdk_cid_parse(at + 10, &desc->parent_cid);
    char *value = NULL;
    if (vmdk_description_get(text, "createType", &value) > 0)
        desc->create_type = value;
    int hint = vmdk_description_get(text, "parentFileNameHint", &value);
    if (hint < 0)
        desc->parent_hint_invalid = true;
    else if (hint > 0 && value[0] == '\0')
        free(value);
    else if (hint > 0)
        desc->parent_hint = value;
    int ret = want_extents ? vmdk_descriptor_extents_parse(text, desc, errp) : 0;
    free(text);
    if (ret < 0)
        vmdk_descriptor_free(desc);
    return ret;
}

void vmdk_descriptor_free(vmdk_descriptor *desc)
{
    for (size_t i = 0; i < desc->extent_count; i++) {
        free(desc->extents[i].access);
        free(desc->extents[i].type);
        free(desc->extents[i].filename);
    }
    free(desc->extents);
    free(desc->create_type);
    free(desc->parent_hint);
    memset(desc, 0, sizeof(*desc));
}

char *vmdk_descriptor_format(const vmdk_descriptor_layout *l)
{
    char *hint = l->parent_hint ? memory_printf("parentFileNameHint=\"%s\"", l->parent_hint) : memory_strdup("");
    char *text = memory_printf("# Disk DescriptorFile\n"
                               "version=1\n"
                               "CID=%" PRIx32 "\n"
                               "parentCID=%" PRIx32 "\n"
                               "createType=\"%s\"\n"
                               "%s\n"
                               "# Extent description\n"
                               "%s\n"
                               "# The Disk Data Base\n"
                               "#DDB\n"
                               "\n"
                               "ddb.virtualHWVersion = \"%s\"\n"
                               "ddb.geometry.cylinders = \"%" PRIu64 "\"\n"
                               "ddb.geometry.heads = \"%u\"\n"
                               "ddb.geometry.sectors = \"63\"\n"
                               "ddb.adapterType = \"%s\"\n"
                               "ddb.toolsVersion = \"%s\"\n",
                               l->cid, l->parent_cid, l->create_type, hint, l->extent_lines, l->hw_version,
                               l->cylinders, l->heads, l->adapter_type, l->tools_version);
    free(hint);
    return text;
}

char *vmdk_descriptor_set_value(const char *text, const char *key, const char *value)
{
    size_t key_length = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, key, key_length) != 0 || p[key_length] != '=')
            continue;
        const char *start = p + key_length + 1;
        const char *end = start;
        while (isxdigit((unsigned char)*end)) /* only the number: the rest of the line stays */
            end++;
        return memory_printf("%.*s%s%s", (int)(start - text), text, value, end);
    }
    return NULL;
}
