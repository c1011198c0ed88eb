/* vhdx_metadata.c — the pure parts of the VHDX metadata region: the metadata table, the known items,
 * their validation and the BAT geometry they imply (spec/vhdx.md §Metadata, §BAT). */
#include <errno.h>
#include <string.h>

#include "vhdx.h"
#include "../../util/endian.h"

const vhdx_guid vhdx_guid_file_parameters = {{0x37, 0x67, 0xa1, 0xca, 0x36, 0xfa, 0x43, 0x4d, 0xb3, 0xb6, 0x33, 0xf0,
                                              0xaa, 0x44, 0xe7, 0x6b}};
const vhdx_guid vhdx_guid_virtual_disk_size = {{0x24, 0x42, 0xa5, 0x2f, 0x1b, 0xcd, 0x76, 0x48, 0xb2, 0x11, 0x5d, 0xbe,
                                                0xd8, 0x3b, 0xf4, 0xb8}};
const vhdx_guid vhdx_guid_page83 = {{0xab, 0x12, 0xca, 0xbe, 0xe6, 0xb2, 0x23, 0x45, 0x93, 0xef, 0xc3, 0x09, 0xe0,
                                     0x00, 0xc7, 0x46}};
const vhdx_guid vhdx_guid_logical_sector_size = {{0x1d, 0xbf, 0x41, 0x81, 0x6f, 0xa9, 0x09, 0x47, 0xba, 0x47, 0xf2,
                                                  0x33, 0xa8, 0xfa, 0xab, 0x5f}};
const vhdx_guid vhdx_guid_physical_sector_size = {{0xc7, 0x48, 0xa3, 0xcd, 0x5d, 0x44, 0x71, 0x44, 0x9c, 0xc9, 0xe9,
                                                   0x88, 0x52, 0x51, 0xc5, 0x56}};
const vhdx_guid vhdx_guid_parent_locator = {{0x2d, 0x5f, 0xd3, 0xa8, 0x0b, 0xb3, 0x4d, 0x45, 0xab, 0xf7, 0xd3, 0xd8,
                                             0x48, 0x34, 0xab, 0x0c}};

#define VHDX_ITEM_FLAG_VIRTUAL_DISK 2u
#define VHDX_ITEM_FLAG_REQUIRED 4u
#define VHDX_ITEM_DATA_OFFSET (64 * 1024u)

/* The GUID of each known item, indexed by VHDX_ITEM_*. */
static const vhdx_guid *vhdx_item_guid(int kind)
{
    static const vhdx_guid *const guids[VHDX_ITEM_COUNT] = {
        &vhdx_guid_file_parameters,      &vhdx_guid_virtual_disk_size,    &vhdx_guid_page83,
        &vhdx_guid_logical_sector_size, &vhdx_guid_physical_sector_size, &vhdx_guid_parent_locator,
    };
    return guids[kind];
}

/* The known item kind of guid, or -1. */
static int vhdx_item_kind(const vhdx_guid *guid)
{
    for (int k = 0; k < VHDX_ITEM_COUNT; k++)
        if (vhdx_guid_equal(guid, vhdx_item_guid(k)))
            return k;
    return -1;
}

int vhdx_metadata_table_read_data(const uint8_t *buf, size_t size, uint32_t region_length, vhdx_metadata_items *items)
{
    memset(items, 0, sizeof(*items));
    if (size < VHDX_METADATA_TABLE_SIZE || memcmp(buf, "metadata", 8) != 0)
        return -EINVAL;
    uint16_t count = endian_load_le16(buf + 10);
    if (count > VHDX_METADATA_ENTRY_MAX)
        return -EINVAL;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = buf + 32 + 32 * i;
        vhdx_guid guid;
        memcpy(guid.bytes, e, 16);
        uint32_t offset = endian_load_le32(e + 16), length = endian_load_le32(e + 20);
        uint32_t flags = endian_load_le32(e + 24);
        int kind = vhdx_item_kind(&guid);
        if (kind < 0) {
            if (flags & VHDX_ITEM_FLAG_REQUIRED)
                return -ENOTSUP;
            continue;
        }
        if (items->present[kind] || (uint64_t)offset + length > region_length)
            return -EINVAL;
        items->present[kind] = true;
        items->offset[kind] = offset;
        items->length[kind] = length;
    }
    for (int k = 0; k < VHDX_ITEM_PARENT_LOCATOR; k++)
        if (!items->present[k])
            return -ENOTSUP; /* oracle-measured: a missing item is "not supported" */
    return 0;
}

void vhdx_metadata_item_decode(int kind, const uint8_t *bytes, uint32_t length, vhdx_params *p)
{
    uint8_t b[16] = {0};
    memcpy(b, bytes, length < sizeof(b) ? length : sizeof(b));
    switch (kind) {
    case VHDX_ITEM_FILE_PARAMETERS:
        p->block_size = endian_load_le32(b);
        p->leave_blocks_allocated = (b[4] & 1) != 0;
        p->has_parent = (b[4] & 2) != 0;
        break;
    case VHDX_ITEM_VIRTUAL_DISK_SIZE:
        p->virtual_size = endian_load_le64(b);
        break;
    case VHDX_ITEM_PAGE83:
        memcpy(p->page83, b, 16);
        break;
    case VHDX_ITEM_LOGICAL_SECTOR_SIZE:
        p->logical_sector_size = endian_load_le32(b);
        break;
    case VHDX_ITEM_PHYSICAL_SECTOR_SIZE:
        p->physical_sector_size = endian_load_le32(b);
        break;
    default:
        break;
    }
}

int vhdx_params_validate(const vhdx_params *p, bool has_parent_locator)
{
    if (p->has_parent)
        return has_parent_locator ? -ENOTSUP : -EINVAL;
    if (p->block_size < VHDX_BLOCK_SIZE_MIN || p->block_size > VHDX_BLOCK_SIZE_MAX ||
        (p->block_size & (p->block_size - 1)) != 0)
        return -EINVAL;
    if (p->logical_sector_size != 512)
        return -ENOTSUP;
    if (p->virtual_size > VHDX_MAX_IMAGE_SIZE)
        return -EINVAL;
    return 0;
}

void vhdx_metadata_write_data(const vhdx_params *p, uint8_t *buf)
{
    static const uint32_t lengths[5] = {8, 8, 16, 4, 4};
    memset(buf, 0, VHDX_MIB);
    memcpy(buf, "metadata", 8);
    endian_store_le16(buf + 10, 5);
    uint32_t offset = VHDX_ITEM_DATA_OFFSET;
    for (int k = 0; k < 5; k++) {
        uint8_t *e = buf + 32 + 32 * k;
        memcpy(e, vhdx_item_guid(k)->bytes, 16);
        endian_store_le32(e + 16, offset);
        endian_store_le32(e + 20, lengths[k]);
        endian_store_le32(e + 24, k == 0 ? VHDX_ITEM_FLAG_REQUIRED : VHDX_ITEM_FLAG_REQUIRED | VHDX_ITEM_FLAG_VIRTUAL_DISK);
        offset += lengths[k];
    }
    uint8_t *d = buf + VHDX_ITEM_DATA_OFFSET;
    endian_store_le32(d, p->block_size);
    endian_store_le32(d + 4, (p->leave_blocks_allocated ? 1u : 0u) | (p->has_parent ? 2u : 0u));
    endian_store_le64(d + 8, p->virtual_size);
    memcpy(d + 16, p->page83, 16);
    endian_store_le32(d + 32, p->logical_sector_size);
    endian_store_le32(d + 36, p->physical_sector_size);
}

uint32_t vhdx_chunk_ratio(const vhdx_params *p)
{
    return (uint32_t)((VHDX_CHUNK_FACTOR * p->logical_sector_size) / p->block_size);
}

uint32_t vhdx_data_block_count(const vhdx_params *p)
{
    return (uint32_t)((p->virtual_size + p->block_size - 1) / p->block_size);
}

uint32_t vhdx_bat_entry_count(const vhdx_params *p)
{
    uint32_t blocks = vhdx_data_block_count(p);
    uint32_t ratio = vhdx_chunk_ratio(p);
    return blocks + (blocks - 1) / ratio;
}

uint64_t vhdx_bat_index(const vhdx_params *p, uint64_t block)
{
    return block + block / vhdx_chunk_ratio(p);
}
