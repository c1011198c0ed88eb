/* format_checksum.c — CRC-32C through Intel ISA-L (spec/formats-common.md §Checksums). */
#include "format_checksum.h"

#include <isa-l/crc.h>

uint32_t format_checksum_crc32c(const void *buf, size_t length)
{
    return ~crc32_iscsi((unsigned char *)buf, (int)length, 0xffffffffu);
}

uint32_t format_checksum_crc32c_without(const uint8_t *buf, size_t length, size_t field_offset)
{
    static const unsigned char zero[4];
    uint32_t crc = crc32_iscsi((unsigned char *)buf, (int)field_offset, 0xffffffffu);
    crc = crc32_iscsi((unsigned char *)zero, 4, crc);
    crc = crc32_iscsi((unsigned char *)buf + field_offset + 4, (int)(length - field_offset - 4), crc);
    return ~crc;
}
