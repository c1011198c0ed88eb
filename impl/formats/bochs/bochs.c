/* bochs.c — the read-only Bochs growing image driver: probe, open, reads through the catalog and the
 * per-extent bitmaps, info, as qemu 10.2 does them (spec/bochs.md). */
#include <stdlib.h>
#include <string.h>

#include "bochs.h"
#include "../common/format_io.h"
#include "../common/format_table.h"
#include "../../block/block.h"
#include "../../util/endian.h"
#include "../../util/memory.h"

/* What an open image keeps: its header, the catalog and the last bitmap sector read. */
typedef struct bochs_state {
    bochs_header header;
    uint32_t *catalog;        /* catalog_size entries */
    uint32_t data_offset;     /* header_size + 4 * catalog_size, wrapping at 32 bits as qemu's does */
    uint32_t extent_stride;   /* bitmap plus data sectors of one extent (32-bit, as qemu's) */
    uint64_t cached_bitmap;   /* file offset of the bitmap sector in cached (UINT64_MAX: none) */
    uint8_t cached[BOCHS_SECTOR_SIZE];
} bochs_state;

/* The catalog as a table: 4-byte little-endian entries; entries past the end of the file read as 0. */
static const format_table_layout bochs_catalog_layout = {4, FORMAT_LITTLE_ENDIAN, BOCHS_CATALOG_MAX, true};

/* Whether the NUL-padded field of size bytes at p holds exactly text (qemu compares with strcmp). */
static int bochs_field_equals(const uint8_t *p, size_t size, const char *text)
{
    size_t n = strlen(text);
    return n < size && memcmp(p, text, n) == 0 && p[n] == '\0';
}

void bochs_header_read_data(const uint8_t *buf, size_t length, bochs_header *h)
{
    uint8_t sector[BOCHS_HEADER_BYTES] = {0};
    memcpy(sector, buf, length < sizeof(sector) ? length : sizeof(sector));
    memset(h, 0, sizeof(*h));
    h->version = endian_load_le32(sector + 64);
    h->signature_ok = bochs_field_equals(sector, 32, BOCHS_MAGIC) && bochs_field_equals(sector + 32, 16, BOCHS_TYPE_REDOLOG) &&
                      bochs_field_equals(sector + 48, 16, BOCHS_SUBTYPE_GROWING) &&
                      (h->version == BOCHS_VERSION_CURRENT || h->version == BOCHS_VERSION_V1);
    h->header_size = endian_load_le32(sector + 68);
    h->catalog_size = endian_load_le32(sector + 72);
    h->bitmap_size = endian_load_le32(sector + 76);
    h->extent_size = endian_load_le32(sector + 80);
    h->disk_size = endian_load_le64(sector + (h->version == BOCHS_VERSION_V1 ? 84 : 88));
}

int bochs_header_probe(const uint8_t *buf, size_t length)
{
    bochs_header h;
    if (length == 0) /* qemu probes a whole sector of any non-empty file, zero-padded */
        return 0;
    bochs_header_read_data(buf, length, &h);
    return h.signature_ok ? 100 : 0;
}

uint64_t bochs_bitmap_sectors(const bochs_header *h)
{
    return 1 + (uint32_t)(h->bitmap_size - 1) / BOCHS_SECTOR_SIZE;
}

uint64_t bochs_extent_sectors(const bochs_header *h)
{
    return 1 + (uint32_t)(h->extent_size - 1) / BOCHS_SECTOR_SIZE;
}

int bochs_header_validate(const bochs_header *h, error **errp)
{
    if (!h->signature_ok)
        return error_set(errp, "Image not in Bochs format");
    if (h->catalog_size > BOCHS_CATALOG_MAX)
        return error_set(errp, "Catalog size is too large");
    if (h->extent_size < BOCHS_SECTOR_SIZE)
        return error_set(errp, "Extent size must be at least 512");
    if (!format_is_power_of_two(h->extent_size))
        return error_set(errp, "Extent size %u is not a power of two", h->extent_size);
    if (h->extent_size > BOCHS_EXTENT_MAX)
        return error_set(errp, "Extent size %u is too large", h->extent_size);
    uint64_t sectors = h->disk_size / BOCHS_SECTOR_SIZE, per_extent = h->extent_size / BOCHS_SECTOR_SIZE;
    if (h->catalog_size < (sectors + per_extent - 1) / per_extent)
        return error_set(errp, "Catalog size is too small for this disk size");
    return 0;
}

/* Score 100 for a Bochs growing header of a known version. */
static int bochs_probe(const uint8_t *buf, size_t buf_size, const char *filename)
{
    (void)filename;
    return bochs_header_probe(buf, buf_size);
}

/* Frees what open kept (also after a failed open). */
static void bochs_close(block_node *node)
{
    bochs_state *s = node->state;
    if (s)
        free(s->catalog);
    free(s);
    node->state = NULL;
}

/* Reads the catalog (entries past the end of the file read as 0, as qemu's reads do). */
static int bochs_catalog_load(block_node *node, bochs_state *s, error **errp)
{
    uint64_t *entries = NULL;
    if (format_table_read(node->file, &bochs_catalog_layout, s->header.header_size, s->header.catalog_size, &entries,
                          errp) < 0)
        return -1;
    s->catalog = memory_alloc_zero((s->header.catalog_size + 1) * sizeof(uint32_t));
    for (uint32_t i = 0; i < s->header.catalog_size; i++)
        s->catalog[i] = (uint32_t)entries[i];
    free(entries);
    return 0;
}

/* Refuses writing (qemu's driver is read-only) and runtime options (Bochs has none). */
static int bochs_open_mode_check(const option_list *options, int flags, error **errp)
{
    if (flags & BLOCK_OPEN_READ_WRITE)
        return error_set(errp, "Image is read-only");
    if (options && options->count > 0)
        return error_set(errp, "Block format 'bochs' does not support the option '%s'", options->entries[0].key);
    return 0;
}

/* Reads and checks the header as qemu does, then the catalog; the size is the whole sectors of disk_size. */
static int bochs_open(block_node *node, option_list *options, int flags, error **errp)
{
    uint8_t first[BOCHS_HEADER_BYTES];
    if (bochs_open_mode_check(options, flags, errp) < 0)
        return -1;
    bochs_state *s = memory_alloc_zero(sizeof(*s));
    node->state = s;
    if (format_file_read(node->file, 0, sizeof(first), first, errp) < 0)
        goto fail;
    bochs_header_read_data(first, sizeof(first), &s->header);
    if (bochs_header_validate(&s->header, errp) < 0 || bochs_catalog_load(node, s, errp) < 0)
        goto fail;
    s->data_offset = s->header.header_size + s->header.catalog_size * 4;
    s->extent_stride = (uint32_t)(bochs_bitmap_sectors(&s->header) + bochs_extent_sectors(&s->header));
    s->cached_bitmap = UINT64_MAX;
    node->size = s->header.disk_size / BOCHS_SECTOR_SIZE * BOCHS_SECTOR_SIZE;
    node->read_only = true;
    node->request_alignment = BOCHS_SECTOR_SIZE;
    return 0;
fail:
    bochs_close(node);
    return -1;
}

/* The bitmap byte at offset of the file, through the one-sector cache. */
static int bochs_bitmap_byte(block_node *node, uint64_t offset, uint8_t *byte, error **errp)
{
    bochs_state *s = node->state;
    uint64_t sector = offset / BOCHS_SECTOR_SIZE * BOCHS_SECTOR_SIZE;
    if (sector != s->cached_bitmap) {
        s->cached_bitmap = UINT64_MAX;
        if (format_file_read(node->file, sector, BOCHS_SECTOR_SIZE, s->cached, errp) < 0)
            return -1;
        s->cached_bitmap = sector;
    }
    *byte = s->cached[offset - sector];
    return 0;
}

/* Where guest sector lives in the file (*where; 0 when it reads as zeroes), as qemu's seek_to_sector. */
static int bochs_sector_locate(block_node *node, uint64_t sector, uint64_t *where, error **errp)
{
    bochs_state *s = node->state;
    uint64_t per_extent = s->header.extent_size / BOCHS_SECTOR_SIZE;
    uint64_t index = sector / per_extent, in_extent = sector % per_extent;
    uint32_t entry = index < s->header.catalog_size ? s->catalog[index] : BOCHS_EXTENT_UNALLOCATED;
    *where = 0;
    if (entry == BOCHS_EXTENT_UNALLOCATED)
        return 0;
    uint64_t bitmap = s->data_offset + (uint64_t)BOCHS_SECTOR_SIZE * entry * s->extent_stride;
    uint8_t byte;
    if (bochs_bitmap_byte(node, bitmap + in_extent / 8, &byte, errp) < 0)
        return -1;
    if ((byte >> (in_extent % 8)) & 1)
        *where = bitmap + BOCHS_SECTOR_SIZE * (bochs_bitmap_sectors(&s->header) + in_extent);
    return 0;
}

/* Reads whole guest sectors one at a time: unallocated extents and clear bitmap bits read as zeroes. */
static int bochs_read(block_node *node, uint64_t offset, size_t length, uint8_t *buf, error **errp)
{
    while (length > 0) {
        uint64_t in_sector = offset % BOCHS_SECTOR_SIZE, where;
        size_t n = BOCHS_SECTOR_SIZE - in_sector < length ? BOCHS_SECTOR_SIZE - in_sector : length;
        if (bochs_sector_locate(node, offset / BOCHS_SECTOR_SIZE, &where, errp) < 0)
            return -1;
        if (where == 0)
            memset(buf, 0, n);
        else if (format_file_read(node->file, where + in_sector, n, buf, errp) < 0)
            return -1;
        offset += n;
        length -= n;
        buf += n;
    }
    return 0;
}

/* qemu's Bochs driver lists no image info of its own. */
static int bochs_info_fill(block_node *node, image_info *info, error **errp)
{
    (void)node;
    (void)errp;
    info->has_no_driver_info = true;
    return 0;
}

const block_driver block_driver_bochs = {
    .format_name = "bochs",
    .is_read_only_format = true,
    .probe = bochs_probe,
    .open = bochs_open,
    .close = bochs_close,
    .read = bochs_read,
    .info_fill = bochs_info_fill,
};
