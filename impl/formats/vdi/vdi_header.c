/* vdi_header.c — the pure parts of the VDI driver: header decoding, encoding, validation and the
 * layout of a new image (spec/vdi.md §Header, §Open checks, §Creation). */
#include <stdio.h>
#include <string.h>

#include "vdi.h"
#include "../common/format_uuid.h"
#include "../../util/endian.h"

/* Field offsets inside the first sector (spec/vdi.md §Header). */
enum {
    VDI_OFF_SIGNATURE = 0x40,
    VDI_OFF_VERSION = 0x44,
    VDI_OFF_HEADER_SIZE = 0x48,
    VDI_OFF_IMAGE_TYPE = 0x4c,
    VDI_OFF_IMAGE_FLAGS = 0x50,
    VDI_OFF_OFFSET_BMAP = 0x154,
    VDI_OFF_OFFSET_DATA = 0x158,
    VDI_OFF_CYLINDERS = 0x15c,
    VDI_OFF_HEADS = 0x160,
    VDI_OFF_SECTORS = 0x164,
    VDI_OFF_SECTOR_SIZE = 0x168,
    VDI_OFF_DISK_SIZE = 0x170,
    VDI_OFF_BLOCK_SIZE = 0x178,
    VDI_OFF_BLOCK_EXTRA = 0x17c,
    VDI_OFF_BLOCKS_IN_IMAGE = 0x180,
    VDI_OFF_BLOCKS_ALLOCATED = 0x184,
    VDI_OFF_UUID_IMAGE = 0x188,
    VDI_OFF_UUID_LAST_SNAP = 0x198,
    VDI_OFF_UUID_LINK = 0x1a8,
    VDI_OFF_UUID_PARENT = 0x1b8,
};

void vdi_header_read_data(const uint8_t *buf, size_t size, vdi_header *header)
{
    memset(header, 0, sizeof(*header));
    memcpy(header->raw, buf, size < VDI_HEADER_BYTES ? size : VDI_HEADER_BYTES);
    const uint8_t *r = header->raw;
    header->signature = endian_load_le32(r + VDI_OFF_SIGNATURE);
    header->version = endian_load_le32(r + VDI_OFF_VERSION);
    header->header_size = endian_load_le32(r + VDI_OFF_HEADER_SIZE);
    header->image_type = endian_load_le32(r + VDI_OFF_IMAGE_TYPE);
    header->image_flags = endian_load_le32(r + VDI_OFF_IMAGE_FLAGS);
    header->offset_bmap = endian_load_le32(r + VDI_OFF_OFFSET_BMAP);
    header->offset_data = endian_load_le32(r + VDI_OFF_OFFSET_DATA);
    header->cylinders = endian_load_le32(r + VDI_OFF_CYLINDERS);
    header->heads = endian_load_le32(r + VDI_OFF_HEADS);
    header->sectors = endian_load_le32(r + VDI_OFF_SECTORS);
    header->sector_size = endian_load_le32(r + VDI_OFF_SECTOR_SIZE);
    header->disk_size = endian_load_le64(r + VDI_OFF_DISK_SIZE);
    header->block_size = endian_load_le32(r + VDI_OFF_BLOCK_SIZE);
    header->block_extra = endian_load_le32(r + VDI_OFF_BLOCK_EXTRA);
    header->blocks_in_image = endian_load_le32(r + VDI_OFF_BLOCKS_IN_IMAGE);
    header->blocks_allocated = endian_load_le32(r + VDI_OFF_BLOCKS_ALLOCATED);
    memcpy(header->uuid_image, r + VDI_OFF_UUID_IMAGE, VDI_UUID_SIZE);
    memcpy(header->uuid_last_snap, r + VDI_OFF_UUID_LAST_SNAP, VDI_UUID_SIZE);
    memcpy(header->uuid_link, r + VDI_OFF_UUID_LINK, VDI_UUID_SIZE);
    memcpy(header->uuid_parent, r + VDI_OFF_UUID_PARENT, VDI_UUID_SIZE);
}

void vdi_header_write_data(vdi_header *header, uint8_t *buf)
{
    uint8_t *r = header->raw;
    endian_store_le32(r + VDI_OFF_SIGNATURE, header->signature);
    endian_store_le32(r + VDI_OFF_VERSION, header->version);
    endian_store_le32(r + VDI_OFF_HEADER_SIZE, header->header_size);
    endian_store_le32(r + VDI_OFF_IMAGE_TYPE, header->image_type);
    endian_store_le32(r + VDI_OFF_IMAGE_FLAGS, header->image_flags);
    endian_store_le32(r + VDI_OFF_OFFSET_BMAP, header->offset_bmap);
    endian_store_le32(r + VDI_OFF_OFFSET_DATA, header->offset_data);
    endian_store_le32(r + VDI_OFF_CYLINDERS, header->cylinders);
    endian_store_le32(r + VDI_OFF_HEADS, header->heads);
    endian_store_le32(r + VDI_OFF_SECTORS, header->sectors);
    endian_store_le32(r + VDI_OFF_SECTOR_SIZE, header->sector_size);
    endian_store_le64(r + VDI_OFF_DISK_SIZE, header->disk_size);
    endian_store_le32(r + VDI_OFF_BLOCK_SIZE, header->block_size);
    endian_store_le32(r + VDI_OFF_BLOCK_EXTRA, header->block_extra);
    endian_store_le32(r + VDI_OFF_BLOCKS_IN_IMAGE, header->blocks_in_image);
    endian_store_le32(r + VDI_OFF_BLOCKS_ALLOCATED, header->blocks_allocated);
    memcpy(r + VDI_OFF_UUID_IMAGE, header->uuid_image, VDI_UUID_SIZE);
    memcpy(r + VDI_OFF_UUID_LAST_SNAP, header->uuid_last_snap, VDI_UUID_SIZE);
    memcpy(r + VDI_OFF_UUID_LINK, header->uuid_link, VDI_UUID_SIZE);
    memcpy(r + VDI_OFF_UUID_PARENT, header->uuid_parent, VDI_UUID_SIZE);
    memcpy(buf, r, VDI_HEADER_BYTES);
}

/* qemu's "unsupported VDI image (...)" refusal. */
static int vdi_header_unsupported(error **errp, const char *what, unsigned long long a, unsigned long long b)
{
    char detail[128];
    snprintf(detail, sizeof(detail), what, a, b);
    return error_set(errp, "unsupported VDI image (%s)", detail);
}

uint64_t vdi_size_round(uint64_t size)
{
    if (size > UINT64_MAX - (VDI_SECTOR_SIZE - 1))
        return UINT64_MAX;
    return (size + VDI_SECTOR_SIZE - 1) & ~(uint64_t)(VDI_SECTOR_SIZE - 1);
}

int vdi_size_error(error **errp, uint64_t size)
{
    return error_set(errp, "Unsupported VDI image size (size is 0x%llx, max supported is 0x%llx)",
                     (unsigned long long)size, (unsigned long long)VDI_DISK_SIZE_MAX);
}

int vdi_header_validate(vdi_header *h, error **errp)
{
    if (h->disk_size > VDI_DISK_SIZE_MAX)
        return vdi_size_error(errp, h->disk_size);
    h->disk_size = vdi_size_round(h->disk_size);
    if (h->signature != VDI_SIGNATURE)
        return error_set(errp, "Image not in VDI format (bad signature %08x)", h->signature);
    if (h->version != VDI_VERSION_1_1)
        return vdi_header_unsupported(errp, "version %llu.%llu", h->version >> 16, h->version & 0xffff);
    if (h->offset_bmap % VDI_SECTOR_SIZE != 0)
        return vdi_header_unsupported(errp, "unaligned block map offset 0x%llx", h->offset_bmap, 0);
    if (h->offset_data % VDI_SECTOR_SIZE != 0)
        return vdi_header_unsupported(errp, "unaligned data offset 0x%llx", h->offset_data, 0);
    if (h->sector_size != VDI_SECTOR_SIZE)
        return vdi_header_unsupported(errp, "sector size %llu is not 512", h->sector_size, 0);
    if (h->block_size != VDI_BLOCK_SIZE)
        return vdi_header_unsupported(errp, "block size %llu is not 1048576", h->block_size, 0);
    uint64_t room = (uint64_t)h->blocks_in_image * VDI_BLOCK_SIZE;
    if (h->disk_size > room)
        return vdi_header_unsupported(errp, "disk size %llu, image bitmap has room for %llu", h->disk_size, room);
    if (h->blocks_in_image > VDI_BLOCKS_MAX)
        return vdi_header_unsupported(errp, "too many blocks %llu, max is %llu", h->blocks_in_image, VDI_BLOCKS_MAX);
    if (!format_uuid_is_nil(h->uuid_link))
        return vdi_header_unsupported(errp, "non-NULL link UUID", 0, 0);
    if (!format_uuid_is_nil(h->uuid_parent))
        return vdi_header_unsupported(errp, "non-NULL parent UUID", 0, 0);
    return 0;
}

uint64_t vdi_bmap_bytes(uint64_t blocks)
{
    return (blocks * 4 + VDI_SECTOR_SIZE - 1) & ~(uint64_t)(VDI_SECTOR_SIZE - 1);
}

void vdi_header_init_new(vdi_header *h, uint64_t size, bool is_static)
{
    memset(h, 0, sizeof(*h));
    memcpy(h->raw, VDI_TEXT, strlen(VDI_TEXT));
    uint64_t blocks = (size + VDI_BLOCK_SIZE - 1) / VDI_BLOCK_SIZE;
    h->signature = VDI_SIGNATURE;
    h->version = VDI_VERSION_1_1;
    h->header_size = VDI_HEADER_SIZE_FIELD;
    h->image_type = is_static ? VDI_IMAGE_TYPE_STATIC : VDI_IMAGE_TYPE_DYNAMIC;
    h->offset_bmap = VDI_HEADER_BYTES;
    h->offset_data = (uint32_t)(VDI_HEADER_BYTES + vdi_bmap_bytes(blocks));
    h->sector_size = VDI_SECTOR_SIZE;
    h->disk_size = size;
    h->block_size = VDI_BLOCK_SIZE;
    h->blocks_in_image = (uint32_t)blocks;
    h->blocks_allocated = is_static ? (uint32_t)blocks : 0;
}
