/* format_uuid.h — random (version 4) UUIDs for the formats that stamp one into a new image, and the
 * mixed-endian field order some formats store them in (spec/formats-common.md §UUIDs). */
#ifndef QIMG_FORMATS_COMMON_FORMAT_UUID_H
#define QIMG_FORMATS_COMMON_FORMAT_UUID_H

#include <stdbool.h>
#include <stdint.h>

#define FORMAT_UUID_SIZE 16

/* Fills uuid with a random RFC 4122 version 4 UUID in network (big-endian) byte order. */
void format_uuid_generate(uint8_t uuid[FORMAT_UUID_SIZE]);

/* Reverses the byte order of the first three fields (4, 2 and 2 bytes) in place: network order to
 * the little-endian "GUID" order and back. */
void format_uuid_swap_fields(uint8_t uuid[FORMAT_UUID_SIZE]);

/* Whether every byte of uuid is zero (the nil UUID). */
bool format_uuid_is_nil(const uint8_t uuid[FORMAT_UUID_SIZE]);

#endif
