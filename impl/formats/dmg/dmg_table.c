/* dmg_table.c — the block tables of a UDIF image: mish blocks and their chunk entries, found as
 * base64 <data> elements of the XML property list or as resources of the resource fork, with
 * qemu 10.2's bounds and skipping rules (spec/dmg.md §Block tables). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "dmg.h"
#include "../../util/endian.h"
#include "../../util/base64.h"
#include "../../util/memory.h"

/* Whether qemu 10.2 (bzip2 built in, no lzfse) reads chunks of this type. */
static bool dmg_chunk_type_known(uint32_t type)
{
    return type == DMG_CHUNK_ZERO || type == DMG_CHUNK_RAW || type == DMG_CHUNK_IGNORE || type == DMG_CHUNK_ZLIB ||
           type == DMG_CHUNK_BZIP2;
}

/* Grows the chunk array to hold extra more entries (extra is bounded by the block's length). */
static void dmg_table_reserve(dmg_table *table, uint32_t extra)
{
    if ((uint64_t)table->count + extra <= table->capacity)
        return;
    uint64_t wanted = (uint64_t)table->count + extra;
    table->chunks = memory_realloc(table->chunks, (size_t)wanted * sizeof(dmg_chunk));
    table->capacity = (uint32_t)wanted;
}

/* Folds chunk into the buffer sizes as qemu does (32-bit, sector counts of zero chunks included). */
static void dmg_table_sizes_update(dmg_table *table, const dmg_chunk *chunk)
{
    uint32_t compressed = 0, sectors = 0;
    switch (chunk->type) {
    case DMG_CHUNK_ZLIB:
    case DMG_CHUNK_BZIP2:
        compressed = (uint32_t)chunk->length;
        sectors = (uint32_t)chunk->sector_count;
        break;
    case DMG_CHUNK_RAW:
        sectors = (uint32_t)((chunk->length + 511) / 512);
        break;
    default:
        sectors = (uint32_t)chunk->sector_count;
        break;
    }
    if (compressed > table->max_compressed_size)
        table->max_compressed_size = compressed;
    if (sectors > table->max_sectors_per_chunk)
        table->max_sectors_per_chunk = sectors;
}

/* Decodes chunk entry p relative to the block's first sector and data offset, and checks its
 * bounds (index: its place among the image's known chunks, as qemu's messages count). */
static int dmg_chunk_read(const uint8_t *p, uint64_t first_sector, uint64_t data_start, uint32_t index,
                          dmg_chunk *chunk, error **errp)
{
    chunk->type = endian_load_be32(p);
    chunk->sector = endian_load_be64(p + 8) + first_sector;
    chunk->sector_count = endian_load_be64(p + 0x10);
    if (chunk->type != DMG_CHUNK_ZERO && chunk->type != DMG_CHUNK_IGNORE && chunk->sector_count > DMG_SECTORCOUNTS_MAX) {
        error_set(errp, "sector count %" PRIu64 " for chunk %u is larger than max (%u)", chunk->sector_count, index,
                  DMG_SECTORCOUNTS_MAX);
        (*errp)->kind = ERROR_KIND_CORRUPT;
        return -1;
    }
    chunk->offset = endian_load_be64(p + 0x18) + data_start;
    chunk->length = endian_load_be64(p + 0x20);
    if (chunk->length > DMG_LENGTHS_MAX) {
        error_set(errp, "length %" PRIu64 " for chunk %u is larger than max (%u)", chunk->length, index,
                  DMG_LENGTHS_MAX);
        (*errp)->kind = ERROR_KIND_CORRUPT;
        return -1;
    }
    return 0;
}

int dmg_mish_parse(dmg_table *table, const uint8_t *buf, size_t length, error **errp)
{
    if (length < DMG_MISH_MIN_BYTES || memcmp(buf, "mish", 4) != 0)
        return 0; /* not a block table: qemu skips it */
    uint64_t first_sector = endian_load_be64(buf + 8);
    uint64_t data_start = table->data_fork_offset + endian_load_be64(buf + 0x18);
    uint32_t entries = (uint32_t)((length - DMG_MISH_CHUNKS_OFFSET) / DMG_CHUNK_BYTES);
    dmg_table_reserve(table, entries);
    for (uint32_t i = 0; i < entries; i++) {
        const uint8_t *p = buf + DMG_MISH_CHUNKS_OFFSET + (size_t)i * DMG_CHUNK_BYTES;
        uint32_t type = endian_load_be32(p);
        if (!dmg_chunk_type_known(type)) {
            if (type != DMG_CHUNK_COMMENT && type != DMG_CHUNK_TERMINATOR && table->skipped)
                table->skipped(type);
            continue;
        }
        dmg_chunk *chunk = &table->chunks[table->count];
        if (dmg_chunk_read(p, first_sector, data_start, table->count, chunk, errp) < 0)
            return -1;
        dmg_table_sizes_update(table, chunk);
        table->count++;
    }
    return 0;
}

/* The first occurrence of needle in [from, end), or NULL. */
static const uint8_t *dmg_text_find(const uint8_t *from, const uint8_t *end, const char *needle)
{
    size_t n = strlen(needle);
    for (const uint8_t *p = from; p + n <= end; p++)
        if (memcmp(p, needle, n) == 0)
            return p;
    return NULL;
}

int dmg_plist_parse(dmg_table *table, const uint8_t *text, size_t length, error **errp)
{
    const uint8_t *nul = memchr(text, '\0', length);
    const uint8_t *end = nul ? nul : text + length, *at = text;
    const uint8_t *begin;
    while ((begin = dmg_text_find(at, end, "<data>")) != NULL) {
        begin += 6;
        const uint8_t *close = dmg_text_find(begin, end, "</data>");
        if (close == NULL)
            return -1;
        uint8_t *block = NULL;
        size_t n = base64_decode((const char *)begin, (size_t)(close - begin), &block);
        int ret = dmg_mish_parse(table, block, (uint32_t)n, errp);
        free(block);
        if (ret < 0)
            return -1;
        at = close + 1; /* qemu resumes right after the '<' it cut off */
    }
    return 0;
}

/* The big-endian 32-bit value at offset of buf (available bytes; bytes past them read as zero, as
 * qemu's reads past the end of the file do). */
static uint32_t dmg_rsrc_load32(const uint8_t *buf, size_t available, uint64_t offset)
{
    uint8_t word[4] = {0};
    for (unsigned i = 0; i < 4; i++)
        if (offset + i < available)
            word[i] = buf[offset + i];
    return endian_load_be32(word);
}

/* Parses the resource of size bytes at offset of buf. A resource that passes the end of the file
 * is parsed as far as the file goes (qemu would read zeroes past it, whose entries describe empty
 * zero chunks: not kept, so that memory follows the file). */
static int dmg_rsrc_resource_parse(dmg_table *table, const uint8_t *buf, size_t available, uint64_t offset,
                                   uint32_t size, error **errp)
{
    if (offset >= available)
        return 0;
    uint64_t inside = available - offset < size ? available - offset : size;
    return dmg_mish_parse(table, buf + offset, (size_t)inside, errp);
}

int dmg_rsrc_parse(dmg_table *table, const uint8_t *buf, size_t available, uint64_t fork_length, error **errp)
{
    uint32_t data_offset = dmg_rsrc_load32(buf, available, 0), data_length = dmg_rsrc_load32(buf, available, 8);
    if (data_offset > fork_length)
        return -1;
    /* qemu adds the two in 32 bits: a sum that wraps passes its test */
    if (data_length == 0 || (uint32_t)(data_offset + data_length) > fork_length)
        return -1;
    uint64_t at = data_offset, end = (uint64_t)data_offset + data_length;
    while (at < end) {
        uint32_t size = dmg_rsrc_load32(buf, available, at);
        if (size == 0 || size > end - at)
            return -1;
        at += 4;
        if (dmg_rsrc_resource_parse(table, buf, available, at, size, errp) < 0)
            return -1;
        at += size;
    }
    return 0;
}

void dmg_table_free(dmg_table *table)
{
    free(table->chunks);
    table->chunks = NULL;
    table->count = table->capacity = 0;
}
