/* vhdx_header.c — the pure parts of the VHDX driver for the file identifier, the two headers and the
 * region table: decoding, encoding and checksums (spec/vhdx.md §File identifier, §Header, §Region table). */
#include <string.h>

#include "vhdx.h"
#include "../common/format_checksum.h"
#include "../common/format_uuid.h"
#include "../../util/endian.h"

const vhdx_guid vhdx_guid_bat_region = {{0x66, 0x77, 0xc2, 0x2d, 0x23, 0xf6, 0x00, 0x42, 0x9d, 0x64, 0x11, 0x5e, 0x9b,
                                         0xfd, 0x4a, 0x08}};
const vhdx_guid vhdx_guid_metadata_region = {{0x06, 0xa2, 0x7c, 0x8b, 0x90, 0x47, 0x9a, 0x4b, 0xb8, 0xfe, 0x57, 0x5f,
                                              0x05, 0x0f, 0x88, 0x6e}};

/* The creator string qemu 10.2.2 writes, as UTF-16LE. */
static const char vhdx_creator[] = "QEMU v10.2.2";

/* Header field offsets (spec/vhdx.md §Header). */
enum {
    VHDX_HDR_CHECKSUM = 4,
    VHDX_HDR_SEQUENCE = 8,
    VHDX_HDR_FILE_WRITE_GUID = 16,
    VHDX_HDR_DATA_WRITE_GUID = 32,
    VHDX_HDR_LOG_GUID = 48,
    VHDX_HDR_LOG_VERSION = 64,
    VHDX_HDR_VERSION = 66,
    VHDX_HDR_LOG_LENGTH = 68,
    VHDX_HDR_LOG_OFFSET = 72,
};

bool vhdx_guid_equal(const vhdx_guid *a, const vhdx_guid *b)
{
    return memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}

bool vhdx_guid_is_zero(const vhdx_guid *g)
{
    static const vhdx_guid zero;
    return vhdx_guid_equal(g, &zero);
}

void vhdx_guid_generate(vhdx_guid *g)
{
    format_uuid_generate(g->bytes);
    format_uuid_swap_fields(g->bytes);
}

bool vhdx_file_id_valid(const uint8_t *buf, size_t size)
{
    return size >= 8 && memcmp(buf, VHDX_FILE_ID_SIGNATURE, 8) == 0;
}

void vhdx_file_id_write_data(uint8_t *buf)
{
    memset(buf, 0, VHDX_FILE_ID_SIZE);
    memcpy(buf, VHDX_FILE_ID_SIGNATURE, 8);
    for (size_t i = 0; vhdx_creator[i] != '\0'; i++)
        endian_store_le16(buf + 8 + 2 * i, (uint16_t)vhdx_creator[i]);
}

bool vhdx_header_read_data(const uint8_t *buf, size_t size, vhdx_header *h)
{
    memset(h, 0, sizeof(*h));
    if (size < VHDX_HEADER_SIZE || memcmp(buf, "head", 4) != 0)
        return false;
    h->checksum = endian_load_le32(buf + VHDX_HDR_CHECKSUM);
    h->sequence_number = endian_load_le64(buf + VHDX_HDR_SEQUENCE);
    memcpy(h->file_write_guid.bytes, buf + VHDX_HDR_FILE_WRITE_GUID, 16);
    memcpy(h->data_write_guid.bytes, buf + VHDX_HDR_DATA_WRITE_GUID, 16);
    memcpy(h->log_guid.bytes, buf + VHDX_HDR_LOG_GUID, 16);
    h->log_version = endian_load_le16(buf + VHDX_HDR_LOG_VERSION);
    h->version = endian_load_le16(buf + VHDX_HDR_VERSION);
    h->log_length = endian_load_le32(buf + VHDX_HDR_LOG_LENGTH);
    h->log_offset = endian_load_le64(buf + VHDX_HDR_LOG_OFFSET);
    if (format_checksum_crc32c_without(buf, VHDX_HEADER_SIZE, VHDX_HDR_CHECKSUM) != h->checksum)
        return false;
    return h->version == 1;
}

void vhdx_header_write_data(const vhdx_header *h, uint8_t *buf)
{
    memset(buf, 0, VHDX_HEADER_SIZE);
    memcpy(buf, "head", 4);
    endian_store_le64(buf + VHDX_HDR_SEQUENCE, h->sequence_number);
    memcpy(buf + VHDX_HDR_FILE_WRITE_GUID, h->file_write_guid.bytes, 16);
    memcpy(buf + VHDX_HDR_DATA_WRITE_GUID, h->data_write_guid.bytes, 16);
    memcpy(buf + VHDX_HDR_LOG_GUID, h->log_guid.bytes, 16);
    endian_store_le16(buf + VHDX_HDR_LOG_VERSION, h->log_version);
    endian_store_le16(buf + VHDX_HDR_VERSION, h->version);
    endian_store_le32(buf + VHDX_HDR_LOG_LENGTH, h->log_length);
    endian_store_le64(buf + VHDX_HDR_LOG_OFFSET, h->log_offset);
    endian_store_le32(buf + VHDX_HDR_CHECKSUM, format_checksum_crc32c(buf, VHDX_HEADER_SIZE));
}

int vhdx_region_table_read_data(const uint8_t *buf, size_t size, vhdx_region *regions, uint32_t *count)
{
    *count = 0;
    if (size < VHDX_REGION_TABLE_SIZE || memcmp(buf, "regi", 4) != 0)
        return -1;
    if (format_checksum_crc32c_without(buf, VHDX_REGION_TABLE_SIZE, 4) != endian_load_le32(buf + 4))
        return -1;
    uint32_t n = endian_load_le32(buf + 8);
    if (n > VHDX_REGION_ENTRY_MAX)
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = buf + 16 + 32 * i;
        memcpy(regions[i].guid.bytes, e, 16);
        regions[i].file_offset = endian_load_le64(e + 16);
        regions[i].length = endian_load_le32(e + 24);
        regions[i].required = endian_load_le32(e + 28);
    }
    *count = n;
    return 0;
}

void vhdx_region_table_write_data(const vhdx_region *regions, uint32_t count, uint8_t *buf)
{
    memset(buf, 0, VHDX_REGION_TABLE_SIZE);
    memcpy(buf, "regi", 4);
    endian_store_le32(buf + 8, count);
    for (uint32_t i = 0; i < count; i++) {
        uint8_t *e = buf + 16 + 32 * i;
        memcpy(e, regions[i].guid.bytes, 16);
        endian_store_le64(e + 16, regions[i].file_offset);
        endian_store_le32(e + 24, regions[i].length);
        endian_store_le32(e + 28, regions[i].required);
    }
    endian_store_le32(buf + 4, format_checksum_crc32c(buf, VHDX_REGION_TABLE_SIZE));
}
