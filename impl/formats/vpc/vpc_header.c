/* vpc_header.c — the pure parts of the VHD driver: footer and dynamic header decoding and
 * encoding, checksums, CHS geometry, the virtual size rule and open-time header checks
 * (spec/vpc.md §Footer, §Dynamic header, §Geometry, §Virtual size, §Open checks). */
#include <stdlib.h>
#include <string.h>

#include "vpc.h"
#include "../../util/endian.h"

/* Footer field offsets (spec/vpc.md §Footer). */
enum {
    VPC_FOOTER_OFF_FEATURES = 8,
    VPC_FOOTER_OFF_VERSION = 12,
    VPC_FOOTER_OFF_DATA_OFFSET = 16,
    VPC_FOOTER_OFF_TIMESTAMP = 24,
    VPC_FOOTER_OFF_CREATOR_APP = 28,
    VPC_FOOTER_OFF_CREATOR_VERSION = 32,
    VPC_FOOTER_OFF_CREATOR_OS = 36,
    VPC_FOOTER_OFF_ORIGINAL_SIZE = 40,
    VPC_FOOTER_OFF_CURRENT_SIZE = 48,
    VPC_FOOTER_OFF_CYLINDERS = 56,
    VPC_FOOTER_OFF_HEADS = 58,
    VPC_FOOTER_OFF_SECTORS = 59,
    VPC_FOOTER_OFF_DISK_TYPE = 60,
    VPC_FOOTER_OFF_CHECKSUM = 64,
    VPC_FOOTER_OFF_UUID = 68,
    VPC_FOOTER_OFF_SAVED_STATE = 84,
};

/* Dynamic header field offsets (spec/vpc.md §Dynamic header). */
enum {
    VPC_DYN_OFF_DATA_OFFSET = 8,
    VPC_DYN_OFF_TABLE_OFFSET = 16,
    VPC_DYN_OFF_VERSION = 24,
    VPC_DYN_OFF_MAX_TABLE_ENTRIES = 28,
    VPC_DYN_OFF_BLOCK_SIZE = 32,
    VPC_DYN_OFF_CHECKSUM = 36,
};

/* The one's complement byte sum of length bytes, the 4 bytes at skip counted as zero. */
static uint32_t vpc_sum_complement(const uint8_t *buf, size_t length, size_t skip)
{
    uint32_t sum = 0;
    for (size_t i = 0; i < length; i++)
        if (i < skip || i >= skip + 4)
            sum += buf[i];
    return ~sum;
}

uint32_t vpc_footer_checksum(const uint8_t *sector)
{
    return vpc_sum_complement(sector, VPC_FOOTER_SIZE, VPC_FOOTER_OFF_CHECKSUM);
}

void vpc_footer_read_data(const uint8_t *buf, size_t size, vpc_footer *footer)
{
    memset(footer, 0, sizeof(*footer));
    memcpy(footer->raw, buf, size < VPC_FOOTER_SIZE ? size : VPC_FOOTER_SIZE);
    const uint8_t *r = footer->raw;
    memcpy(footer->cookie, r, VPC_COOKIE_SIZE);
    footer->features = endian_load_be32(r + VPC_FOOTER_OFF_FEATURES);
    footer->version = endian_load_be32(r + VPC_FOOTER_OFF_VERSION);
    footer->data_offset = endian_load_be64(r + VPC_FOOTER_OFF_DATA_OFFSET);
    footer->timestamp = endian_load_be32(r + VPC_FOOTER_OFF_TIMESTAMP);
    memcpy(footer->creator_app, r + VPC_FOOTER_OFF_CREATOR_APP, 4);
    footer->creator_version = endian_load_be32(r + VPC_FOOTER_OFF_CREATOR_VERSION);
    memcpy(footer->creator_os, r + VPC_FOOTER_OFF_CREATOR_OS, 4);
    footer->original_size = endian_load_be64(r + VPC_FOOTER_OFF_ORIGINAL_SIZE);
    footer->current_size = endian_load_be64(r + VPC_FOOTER_OFF_CURRENT_SIZE);
    footer->cylinders = endian_load_be16(r + VPC_FOOTER_OFF_CYLINDERS);
    footer->heads = r[VPC_FOOTER_OFF_HEADS];
    footer->sectors_per_track = r[VPC_FOOTER_OFF_SECTORS];
    footer->disk_type = endian_load_be32(r + VPC_FOOTER_OFF_DISK_TYPE);
    footer->checksum = endian_load_be32(r + VPC_FOOTER_OFF_CHECKSUM);
    memcpy(footer->uuid, r + VPC_FOOTER_OFF_UUID, VPC_UUID_SIZE);
    footer->saved_state = r[VPC_FOOTER_OFF_SAVED_STATE];
}

void vpc_footer_write_data(vpc_footer *footer, uint8_t *buf)
{
    uint8_t *r = footer->raw;
    memcpy(r, footer->cookie, VPC_COOKIE_SIZE);
    endian_store_be32(r + VPC_FOOTER_OFF_FEATURES, footer->features);
    endian_store_be32(r + VPC_FOOTER_OFF_VERSION, footer->version);
    endian_store_be64(r + VPC_FOOTER_OFF_DATA_OFFSET, footer->data_offset);
    endian_store_be32(r + VPC_FOOTER_OFF_TIMESTAMP, footer->timestamp);
    memcpy(r + VPC_FOOTER_OFF_CREATOR_APP, footer->creator_app, 4);
    endian_store_be32(r + VPC_FOOTER_OFF_CREATOR_VERSION, footer->creator_version);
    memcpy(r + VPC_FOOTER_OFF_CREATOR_OS, footer->creator_os, 4);
    endian_store_be64(r + VPC_FOOTER_OFF_ORIGINAL_SIZE, footer->original_size);
    endian_store_be64(r + VPC_FOOTER_OFF_CURRENT_SIZE, footer->current_size);
    endian_store_be16(r + VPC_FOOTER_OFF_CYLINDERS, footer->cylinders);
    r[VPC_FOOTER_OFF_HEADS] = footer->heads;
    r[VPC_FOOTER_OFF_SECTORS] = footer->sectors_per_track;
    endian_store_be32(r + VPC_FOOTER_OFF_DISK_TYPE, footer->disk_type);
    memcpy(r + VPC_FOOTER_OFF_UUID, footer->uuid, VPC_UUID_SIZE);
    r[VPC_FOOTER_OFF_SAVED_STATE] = footer->saved_state;
    footer->checksum = vpc_footer_checksum(r);
    endian_store_be32(r + VPC_FOOTER_OFF_CHECKSUM, footer->checksum);
    memcpy(buf, r, VPC_FOOTER_SIZE);
}

bool vpc_footer_has_cookie(const vpc_footer *footer)
{
    return memcmp(footer->cookie, VPC_FOOTER_COOKIE, VPC_COOKIE_SIZE) == 0;
}

void vpc_dynamic_header_read_data(const uint8_t *buf, size_t size, vpc_dynamic_header *header)
{
    memset(header, 0, sizeof(*header));
    memcpy(header->raw, buf, size < VPC_DYNAMIC_HEADER_SIZE ? size : VPC_DYNAMIC_HEADER_SIZE);
    const uint8_t *r = header->raw;
    memcpy(header->cookie, r, VPC_COOKIE_SIZE);
    header->data_offset = endian_load_be64(r + VPC_DYN_OFF_DATA_OFFSET);
    header->table_offset = endian_load_be64(r + VPC_DYN_OFF_TABLE_OFFSET);
    header->version = endian_load_be32(r + VPC_DYN_OFF_VERSION);
    header->max_table_entries = endian_load_be32(r + VPC_DYN_OFF_MAX_TABLE_ENTRIES);
    header->block_size = endian_load_be32(r + VPC_DYN_OFF_BLOCK_SIZE);
    header->checksum = endian_load_be32(r + VPC_DYN_OFF_CHECKSUM);
}

void vpc_dynamic_header_write_data(vpc_dynamic_header *header, uint8_t *buf)
{
    uint8_t *r = header->raw;
    memcpy(r, header->cookie, VPC_COOKIE_SIZE);
    endian_store_be64(r + VPC_DYN_OFF_DATA_OFFSET, header->data_offset);
    endian_store_be64(r + VPC_DYN_OFF_TABLE_OFFSET, header->table_offset);
    endian_store_be32(r + VPC_DYN_OFF_VERSION, header->version);
    endian_store_be32(r + VPC_DYN_OFF_MAX_TABLE_ENTRIES, header->max_table_entries);
    endian_store_be32(r + VPC_DYN_OFF_BLOCK_SIZE, header->block_size);
    header->checksum = vpc_sum_complement(r, VPC_DYNAMIC_HEADER_SIZE, VPC_DYN_OFF_CHECKSUM);
    endian_store_be32(r + VPC_DYN_OFF_CHECKSUM, header->checksum);
    memcpy(buf, r, VPC_DYNAMIC_HEADER_SIZE);
}

/* The geometry of sectors_per_track spt and heads over total sectors. */
static vpc_geometry vpc_geometry_make(uint64_t total, unsigned heads, unsigned spt)
{
    vpc_geometry g = {(uint16_t)(total / spt / heads), (uint8_t)heads, (uint8_t)spt};
    return g;
}

vpc_geometry vpc_geometry_for_sectors(uint64_t total)
{
    if (total > VPC_CHS_MAX_SECTORS)
        total = VPC_CHS_MAX_SECTORS;
    if (total >= 65535ull * 16 * 63)
        return vpc_geometry_make(total, 16, 255);
    uint64_t cylinder_heads = total / 17;
    uint64_t heads = (cylinder_heads + 1023) / 1024;
    if (heads < 4)
        heads = 4;
    if (cylinder_heads >= heads * 1024 || heads > 16) {
        cylinder_heads = total / 31;
        heads = 16;
        if (cylinder_heads < heads * 1024)
            return vpc_geometry_make(total, 16, 31);
    }
    if (cylinder_heads >= heads * 1024)
        return vpc_geometry_make(total, 16, 63);
    return vpc_geometry_make(total, (unsigned)heads, 17);
}

bool vpc_geometry_is_max(vpc_geometry g)
{
    return g.cylinders == 65535 && g.heads == 16 && g.sectors_per_track == 255;
}

/* The number of sectors geometry g describes. */
static uint64_t vpc_geometry_sectors(vpc_geometry g)
{
    return (uint64_t)g.cylinders * g.heads * g.sectors_per_track;
}

uint64_t vpc_footer_total_sectors(const vpc_footer *footer)
{
    vpc_geometry g = {footer->cylinders, footer->heads, footer->sectors_per_track};
    bool chs_creator = memcmp(footer->creator_app, "vpc ", 4) == 0 || memcmp(footer->creator_app, "qemu", 4) == 0;
    /* The product decides, not the fields: 65535/255/16 also means "use the current size". */
    if (chs_creator && vpc_geometry_sectors(g) != VPC_CHS_MAX_SECTORS)
        return vpc_geometry_sectors(g);
    return footer->current_size / VPC_SECTOR_SIZE;
}

void vpc_create_size_compute(uint64_t size, bool force_size, vpc_geometry *geometry, uint64_t *total_sectors)
{
    uint64_t sectors = size / VPC_SECTOR_SIZE + (size % VPC_SECTOR_SIZE != 0);
    vpc_geometry max = {65535, 16, 255};
    *total_sectors = sectors;
    if (force_size || sectors > VPC_CHS_MAX_SECTORS) {
        *geometry = max;
        return;
    }
    vpc_geometry g = {0, 0, 0};
    for (uint64_t i = 0; sectors > vpc_geometry_sectors(g); i++)
        g = vpc_geometry_for_sectors(sectors + i);
    *geometry = g;
    if (!vpc_geometry_is_max(g))
        *total_sectors = vpc_geometry_sectors(g);
}

uint64_t vpc_bitmap_bytes(uint32_t block_size)
{
    /* One bit per sector, whole bytes only (blocks below 4 KiB have none), whole sectors. */
    uint64_t bytes = block_size / VPC_SECTOR_SIZE / 8;
    return (bytes + VPC_SECTOR_SIZE - 1) / VPC_SECTOR_SIZE * VPC_SECTOR_SIZE;
}

int vpc_dynamic_header_validate(const vpc_dynamic_header *h, uint64_t total_sectors, error **errp)
{
    if (memcmp(h->cookie, VPC_DYNAMIC_COOKIE, VPC_COOKIE_SIZE) != 0)
        return error_set(errp, "Invalid header magic");
    if (h->block_size < VPC_SECTOR_SIZE || (h->block_size & (h->block_size - 1)) != 0)
        return error_set(errp, "Invalid block size %u", h->block_size);
    if (h->max_table_entries > VPC_MAX_TABLE_ENTRIES)
        return error_set(errp, "Max Table Entries too large (%d)", (int)h->max_table_entries);
    if ((uint64_t)h->max_table_entries * h->block_size < total_sectors * VPC_SECTOR_SIZE)
        return error_set(errp, "Page table too small");
    return 0;
}

void vpc_footer_init_new(vpc_footer *f, uint32_t disk_type, bool force_size, vpc_geometry geometry,
                         uint64_t total_sectors)
{
    memset(f, 0, sizeof(*f));
    memcpy(f->cookie, VPC_FOOTER_COOKIE, VPC_COOKIE_SIZE);
    f->features = VPC_FEATURES_RESERVED;
    f->version = VPC_VERSION_1_0;
    f->data_offset = disk_type == VPC_DISK_FIXED ? VPC_NO_DATA_OFFSET : VPC_FOOTER_SIZE;
    memcpy(f->creator_app, force_size ? "qem2" : "qemu", 4);
    f->creator_version = VPC_CREATOR_VERSION;
    memcpy(f->creator_os, "Wi2k", 4);
    f->original_size = total_sectors * VPC_SECTOR_SIZE;
    f->current_size = total_sectors * VPC_SECTOR_SIZE;
    f->cylinders = geometry.cylinders;
    f->heads = geometry.heads;
    f->sectors_per_track = geometry.sectors_per_track;
    f->disk_type = disk_type;
}

void vpc_dynamic_header_init_new(vpc_dynamic_header *h, uint64_t total_sectors)
{
    memset(h, 0, sizeof(*h));
    uint64_t bytes = total_sectors * VPC_SECTOR_SIZE;
    memcpy(h->cookie, VPC_DYNAMIC_COOKIE, VPC_COOKIE_SIZE);
    h->data_offset = VPC_NO_DATA_OFFSET;
    h->table_offset = VPC_FOOTER_SIZE + VPC_DYNAMIC_HEADER_SIZE;
    h->version = VPC_VERSION_1_0;
    h->max_table_entries = (uint32_t)((bytes + VPC_DEFAULT_BLOCK_SIZE - 1) / VPC_DEFAULT_BLOCK_SIZE);
    h->block_size = VPC_DEFAULT_BLOCK_SIZE;
}

/* One allocated block's bytes in the file: [start, end). */
typedef struct vpc_extent {
    uint64_t start;
    uint64_t end;
} vpc_extent;

/* qsort order of extents by start. */
static int vpc_extent_compare(const void *a, const void *b)
{
    const vpc_extent *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* The big-endian 32-bit value at offset of image (bytes past size read as zero). */
static uint32_t vpc_image_load_be32(const uint8_t *image, size_t size, uint64_t offset)
{
    uint8_t bytes[4] = {0, 0, 0, 0};
    for (unsigned i = 0; i < 4; i++)
        if (offset + i < size)
            bytes[i] = image[offset + i];
    return endian_load_be32(bytes);
}

/* Whether the sorted extents (the block table last among them) share no byte. */
static bool vpc_extents_disjoint(vpc_extent *extents, size_t count)
{
    qsort(extents, count, sizeof(*extents), vpc_extent_compare);
    for (size_t i = 1; i < count; i++)
        if (extents[i].start < extents[i - 1].end)
            return false;
    return true;
}

/* Whether every byte of image from offset on is zero (nothing stale for a new block to show). */
static bool vpc_image_zero_from(const uint8_t *image, size_t size, uint64_t offset)
{
    for (uint64_t i = offset; i < size; i++)
        if (image[i] != 0)
            return false;
    return true;
}

bool vpc_layout_blocks_disjoint(const uint8_t *image, size_t size)
{
    vpc_footer footer;
    vpc_dynamic_header header;
    vpc_footer_read_data(image, size, &footer);
    if (!vpc_footer_has_cookie(&footer) || footer.disk_type == VPC_DISK_FIXED)
        return true;
    if (footer.data_offset >= size)
        return false;
    vpc_dynamic_header_read_data(image + footer.data_offset, size - footer.data_offset, &header);
    uint64_t entries = header.max_table_entries;
    uint64_t bitmap_bytes = vpc_bitmap_bytes(header.block_size);
    if (entries > size / 4 || header.table_offset > size || bitmap_bytes < VPC_SECTOR_SIZE)
        return false;
    vpc_extent *extents = malloc((entries + 1) * sizeof(*extents));
    if (extents == NULL)
        return false;
    size_t count = 0;
    extents[count].start = header.table_offset;
    extents[count].end = header.table_offset + 4 * entries;
    uint64_t free_offset = (extents[count++].end + VPC_SECTOR_SIZE - 1) / VPC_SECTOR_SIZE * VPC_SECTOR_SIZE;
    for (uint64_t i = 0; i < entries; i++) {
        uint32_t entry = vpc_image_load_be32(image, size, header.table_offset + 4 * i);
        if (entry == VPC_BAT_UNALLOCATED)
            continue;
        extents[count].start = (uint64_t)entry * VPC_SECTOR_SIZE;
        extents[count].end = extents[count].start + bitmap_bytes + header.block_size;
        if (extents[count].end > free_offset)
            free_offset = extents[count].end;
        count++;
    }
    bool disjoint = vpc_extents_disjoint(extents, count) && vpc_image_zero_from(image, size, free_offset + VPC_FOOTER_SIZE);
    free(extents);
    return disjoint;
}
