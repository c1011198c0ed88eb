/* format_io.c — bounded file access shared by the format drivers (spec/formats-common.md §File access). */
#include <stdlib.h>
#include <string.h>

#include "format_io.h"
#include "../../util/memory.h"

/* Zero writes go out in pieces of at most this many bytes. */
#define FORMAT_ZERO_CHUNK (1u << 20)

/* Whether offset+length stays at or below the request limit. */
static bool format_request_bounded(uint64_t offset, uint64_t length)
{
    return offset <= FORMAT_MAX_REQUEST_END && length <= FORMAT_MAX_REQUEST_END - offset;
}

int format_file_read(block_node *file, uint64_t offset, size_t length, void *buf, error **errp)
{
    if (!format_request_bounded(offset, length))
        return error_set(errp, "Input/output error");
    return block_node_read(file, offset, length, buf, errp);
}

int format_file_write(block_node *file, uint64_t offset, size_t length, const void *buf, error **errp)
{
    if (length == 0)
        return 0;
    if (!format_request_bounded(offset, length))
        return error_set(errp, "Input/output error");
    return block_node_write(file, offset, length, buf, 0, errp);
}

int format_file_write_zeroes(block_node *file, uint64_t offset, uint64_t length, error **errp)
{
    size_t chunk = length < FORMAT_ZERO_CHUNK ? (size_t)length : FORMAT_ZERO_CHUNK;
    uint8_t *zeroes = memory_alloc_zero(chunk ? chunk : 1);
    int ret = 0;
    while (length > 0) {
        size_t n = length < chunk ? (size_t)length : chunk;
        if (format_file_write(file, offset, n, zeroes, errp) < 0) {
            ret = -1;
            goto out;
        }
        offset += n;
        length -= n;
    }
out:
    free(zeroes);
    return ret;
}

uint64_t format_file_length(block_node *file)
{
    int64_t length = block_node_length(file);
    return length < 0 ? 0 : (uint64_t)length;
}

bool format_file_range_inside(block_node *file, uint64_t offset, uint64_t length)
{
    uint64_t file_length = format_file_length(file);
    return offset <= file_length && length <= file_length - offset;
}

bool format_ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return alen && blen && a < b + blen && b < a + alen;
}

uint64_t format_align_up(uint64_t value, uint64_t alignment)
{
    uint64_t mask = alignment - 1;
    if (value > UINT64_MAX - mask)
        return UINT64_MAX;
    return (value + mask) & ~mask;
}

bool format_is_power_of_two(uint64_t x)
{
    return x != 0 && (x & (x - 1)) == 0;
}
