/* format_checksum.h — checksums formats store in their metadata: CRC-32C (Castagnoli), as VHDX
 * headers, region tables, metadata and log entries carry it (spec/formats-common.md §Checksums). */
#ifndef QIMG_FORMATS_COMMON_FORMAT_CHECKSUM_H
#define QIMG_FORMATS_COMMON_FORMAT_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* The CRC-32C of length bytes at buf (initial value and final xor 0xffffffff; "123456789" gives
 * 0xe3069283). */
uint32_t format_checksum_crc32c(const void *buf, size_t length);

/* The CRC-32C of length bytes at buf as if the 4 bytes at field_offset were zero (how formats
 * checksum a structure that holds its own checksum). field_offset + 4 <= length. */
uint32_t format_checksum_crc32c_without(const uint8_t *buf, size_t length, size_t field_offset);

#endif
