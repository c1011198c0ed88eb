/* format_table.c — bounded table I/O shared by the format drivers (spec/formats-common.md §Tables). */
#include <stdlib.h>
#include <string.h>

#include "format_io.h"
#include "format_table.h"
#include "../../util/endian.h"
#include "../../util/memory.h"

/* Tables are written in pieces of at most this many bytes. */
#define FORMAT_TABLE_WRITE_CHUNK (64u * 1024)

format_table_fault format_table_check(block_node *file, const format_table_layout *layout, uint64_t offset,
                                      uint64_t count)
{
    if (count > layout->max_entries || count > UINT64_MAX / layout->entry_size)
        return FORMAT_TABLE_TOO_MANY_ENTRIES;
    if (!layout->past_end_reads_zero && !format_file_range_inside(file, offset, count * layout->entry_size))
        return FORMAT_TABLE_PAST_END_OF_FILE;
    if (offset > FORMAT_MAX_REQUEST_END || count * layout->entry_size > FORMAT_MAX_REQUEST_END - offset)
        return FORMAT_TABLE_PAST_END_OF_FILE;
    return FORMAT_TABLE_FITS;
}

uint64_t format_table_bytes(const format_table_layout *layout, uint64_t count)
{
    return count * layout->entry_size;
}

uint64_t format_table_entry_load(const format_table_layout *layout, const uint8_t *buf, uint64_t index)
{
    const uint8_t *p = buf + index * layout->entry_size;
    bool big = layout->order == FORMAT_BIG_ENDIAN;
    switch (layout->entry_size) {
    case 2:
        return big ? endian_load_be16(p) : endian_load_le16(p);
    case 4:
        return big ? endian_load_be32(p) : endian_load_le32(p);
    default:
        return big ? endian_load_be64(p) : endian_load_le64(p);
    }
}

void format_table_entry_store(const format_table_layout *layout, uint8_t *buf, uint64_t index, uint64_t value)
{
    uint8_t *p = buf + index * layout->entry_size;
    bool big = layout->order == FORMAT_BIG_ENDIAN;
    switch (layout->entry_size) {
    case 2:
        big ? endian_store_be16(p, (uint16_t)value) : endian_store_le16(p, (uint16_t)value);
        break;
    case 4:
        big ? endian_store_be32(p, (uint32_t)value) : endian_store_le32(p, (uint32_t)value);
        break;
    default:
        big ? endian_store_be64(p, value) : endian_store_le64(p, value);
        break;
    }
}

/* The error for a table format_table_check refused. */
static int format_table_fault_error(format_table_fault fault, uint64_t offset, uint64_t count, error **errp)
{
    if (fault == FORMAT_TABLE_TOO_MANY_ENTRIES) {
        error_set(errp, "Table of %llu entries is too large", (unsigned long long)count);
        if (errp && *errp)
            (*errp)->kind = ERROR_KIND_TABLE_TOO_LARGE;
        return -1;
    }
    error_set(errp, "Table at offset 0x%llx reaches past the end of the file", (unsigned long long)offset);
    if (errp && *errp)
        (*errp)->kind = ERROR_KIND_PAST_END_OF_FILE;
    return -1;
}

int format_table_read_raw(block_node *file, const format_table_layout *layout, uint64_t offset, uint64_t count,
                          uint8_t **bytes, error **errp)
{
    *bytes = NULL;
    format_table_fault fault = format_table_check(file, layout, offset, count);
    if (fault != FORMAT_TABLE_FITS)
        return format_table_fault_error(fault, offset, count, errp);
    if (count == 0)
        return 0;
    size_t size = (size_t)format_table_bytes(layout, count);
    uint8_t *buf = memory_alloc_zero(size);
    if (format_file_read(file, offset, size, buf, errp) < 0) {
        free(buf);
        return -1;
    }
    *bytes = buf;
    return 0;
}

int format_table_read(block_node *file, const format_table_layout *layout, uint64_t offset, uint64_t count,
                      uint64_t **entries, error **errp)
{
    uint8_t *bytes;
    *entries = NULL;
    if (format_table_read_raw(file, layout, offset, count, &bytes, errp) < 0)
        return -1;
    if (count == 0)
        return 0;
    uint64_t *values = memory_alloc_array(count, sizeof(uint64_t));
    for (uint64_t i = 0; i < count; i++)
        values[i] = format_table_entry_load(layout, bytes, i);
    free(bytes);
    *entries = values;
    return 0;
}

int format_table_write(block_node *file, const format_table_layout *layout, uint64_t offset,
                       const uint64_t *entries, uint64_t first, uint64_t count, error **errp)
{
    uint64_t per_chunk = FORMAT_TABLE_WRITE_CHUNK / layout->entry_size;
    uint64_t chunk_entries = count < per_chunk ? count : per_chunk;
    uint8_t *buf = memory_alloc_zero(chunk_entries ? chunk_entries * layout->entry_size : 1);
    int ret = 0;
    for (uint64_t done = 0; done < count;) {
        uint64_t n = count - done < chunk_entries ? count - done : chunk_entries;
        for (uint64_t i = 0; i < n; i++)
            format_table_entry_store(layout, buf, i, entries[first + done + i]);
        uint64_t at = offset + (first + done) * layout->entry_size;
        if (format_file_write(file, at, (size_t)(n * layout->entry_size), buf, errp) < 0) {
            ret = -1;
            goto out;
        }
        done += n;
    }
out:
    free(buf);
    return ret;
}
