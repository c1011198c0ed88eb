/* format_table.h — bounded table I/O: N entries of 2, 4 or 8 bytes, little or big endian, read and
 * written with a fixed maximum count and a check against the file before anything is allocated
 * (L1/L2 tables, refcount tables, BATs, block maps, grain directories) (spec/formats-common.md §Tables). */
#ifndef QIMG_FORMATS_COMMON_FORMAT_TABLE_H
#define QIMG_FORMATS_COMMON_FORMAT_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../block/block.h"

typedef enum format_byte_order {
    FORMAT_LITTLE_ENDIAN,
    FORMAT_BIG_ENDIAN,
} format_byte_order;

/* How one kind of table is laid out and bounded. */
typedef struct format_table_layout {
    unsigned entry_size;        /* 2, 4 or 8 bytes */
    format_byte_order order;
    uint64_t max_entries;       /* a fixed bound no on-disk count may pass */
    bool past_end_reads_zero;   /* entries beyond the end of the file read as 0 instead of failing */
} format_table_layout;

/* Why a table does not fit. */
typedef enum format_table_fault {
    FORMAT_TABLE_FITS,
    FORMAT_TABLE_TOO_MANY_ENTRIES,  /* count > max_entries, or count * entry_size overflows */
    FORMAT_TABLE_PAST_END_OF_FILE,  /* some entry lies beyond the end of the file */
} format_table_fault;

/* Whether count entries at offset respect the layout's bound and (unless past_end_reads_zero) the file. */
format_table_fault format_table_check(block_node *file, const format_table_layout *layout, uint64_t offset,
                                      uint64_t count);

/* The size in bytes of count entries (count already checked against max_entries). */
uint64_t format_table_bytes(const format_table_layout *layout, uint64_t count);

/* Entry index of a table held in its on-disk form in buf. */
uint64_t format_table_entry_load(const format_table_layout *layout, const uint8_t *buf, uint64_t index);
/* Stores value (truncated to the entry size) as entry index of buf. */
void format_table_entry_store(const format_table_layout *layout, uint8_t *buf, uint64_t index, uint64_t value);

/* Reads count entries at offset into a new array of decoded values (*entries; the caller frees it;
 * NULL for count 0). Fails before allocating, with kind ERROR_KIND_TABLE_TOO_LARGE or
 * ERROR_KIND_PAST_END_OF_FILE, when format_table_check says the table does not fit. */
int format_table_read(block_node *file, const format_table_layout *layout, uint64_t offset, uint64_t count,
                      uint64_t **entries, error **errp);

/* As format_table_read, keeping the on-disk bytes (*bytes, format_table_bytes(count) long). */
int format_table_read_raw(block_node *file, const format_table_layout *layout, uint64_t offset, uint64_t count,
                          uint8_t **bytes, error **errp);

/* Encodes entries[first .. first+count) and writes them where they belong in the table at offset
 * (entry first lands at offset + first * entry_size). */
int format_table_write(block_node *file, const format_table_layout *layout, uint64_t offset,
                       const uint64_t *entries, uint64_t first, uint64_t count, error **errp);

#endif
