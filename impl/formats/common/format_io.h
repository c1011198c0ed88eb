/* format_io.h — bounded access of a format driver to its image file: reads, writes, zero writes and
 * range arithmetic every table-based driver shares (spec/formats-common.md §File access). */
#ifndef QIMG_FORMATS_COMMON_FORMAT_IO_H
#define QIMG_FORMATS_COMMON_FORMAT_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../block/block.h"

/* The largest byte offset a request may reach (qemu's BDRV_MAX_LENGTH). */
#define FORMAT_MAX_REQUEST_END (((uint64_t)INT64_MAX) & ~0xfffffull)

/* Reads length bytes at offset of the protocol node file; bytes past its end read as zeroes.
 * A request reaching past FORMAT_MAX_REQUEST_END fails with "Input/output error". */
int format_file_read(block_node *file, uint64_t offset, size_t length, void *buf, error **errp);

/* Writes length bytes at offset of file, growing it when needed (nothing for length 0). */
int format_file_write(block_node *file, uint64_t offset, size_t length, const void *buf, error **errp);

/* Writes zero bytes over [offset, offset+length) of file in bounded chunks (never one huge buffer). */
int format_file_write_zeroes(block_node *file, uint64_t offset, uint64_t length, error **errp);

/* The current length of file in bytes (0 when it cannot be told). */
uint64_t format_file_length(block_node *file);

/* Whether [offset, offset+length) lies wholly inside file as it is now (no overflow, no byte past the end). */
bool format_file_range_inside(block_node *file, uint64_t offset, uint64_t length);

/* Whether [a, a+alen) and [b, b+blen) share a byte (empty ranges share none). */
bool format_ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen);

/* value rounded up to a multiple of the power of two alignment; UINT64_MAX when that overflows. */
uint64_t format_align_up(uint64_t value, uint64_t alignment);

/* Whether x is a power of two (0 is not). */
bool format_is_power_of_two(uint64_t x);

#endif
