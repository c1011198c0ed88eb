/* dmg.h — the Apple UDIF (dmg) image: the koly trailer, the block tables (mish) found in an XML
 * property list or a resource fork, and their chunk types; pure parsers separate from I/O, checked
 * as qemu 10.2 checks them (spec/dmg.md). */
#ifndef QIMG_FORMATS_DMG_DMG_H
#define QIMG_FORMATS_DMG_DMG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../util/error.h"

#define DMG_KOLY_BYTES 512
#define DMG_KOLY_WINDOW 515               /* bytes searched for "koly": the last 511 of the second-last
                                           * sector and the first 4 of the last */
#define DMG_SECTOR_SIZE 512
#define DMG_MISH_MIN_BYTES 244            /* a mish block with at least one chunk entry */
#define DMG_MISH_CHUNKS_OFFSET 204
#define DMG_CHUNK_BYTES 40
#define DMG_LENGTHS_MAX (64u * 1024 * 1024)
#define DMG_SECTORCOUNTS_MAX (DMG_LENGTHS_MAX / 512)
#define DMG_MAX_LENGTH ((uint64_t)INT64_MAX & ~(uint64_t)((1u << 30) - 1)) /* qemu's largest image */

/* Chunk types (the entry type of a mish chunk). */
enum {
    DMG_CHUNK_ZERO = 0x00000000,      /* UDZE: zeroes */
    DMG_CHUNK_RAW = 0x00000001,       /* UDRW: stored */
    DMG_CHUNK_IGNORE = 0x00000002,    /* UDIG: reads as zeroes */
    DMG_CHUNK_ADC = 0x80000004,       /* UDCO: qemu 10.2 does not know it */
    DMG_CHUNK_ZLIB = 0x80000005,      /* UDZO */
    DMG_CHUNK_BZIP2 = 0x80000006,     /* UDBZ */
    DMG_CHUNK_LZFSE = 0x80000007,     /* ULFO: the oracle has no lzfse module */
    DMG_CHUNK_COMMENT = 0x7ffffffe,   /* UDCM */
    DMG_CHUNK_TERMINATOR = 0xffffffff,/* UDLE */
};

/* The koly fields qemu reads (offsets in spec/dmg.md §Trailer). */
typedef struct dmg_koly {
    uint64_t data_fork_offset;   /* 0x18 */
    uint64_t rsrc_fork_offset;   /* 0x28 */
    uint64_t rsrc_fork_length;   /* 0x30 */
    uint64_t plist_offset;       /* 0xd8 */
    uint64_t plist_length;       /* 0xe0 */
    uint64_t sector_count;       /* 0x1ec */
} dmg_koly;

/* One chunk of guest sectors. */
typedef struct dmg_chunk {
    uint32_t type;
    uint64_t sector;        /* first guest sector */
    uint64_t sector_count;
    uint64_t offset;        /* of its stored bytes in the file */
    uint64_t length;        /* stored bytes */
} dmg_chunk;

/* Every known chunk of the image in table order, and the buffer sizes qemu derives from them. */
typedef struct dmg_table {
    dmg_chunk *chunks;
    uint32_t count;
    uint32_t capacity;
    uint64_t data_fork_offset;
    uint32_t max_compressed_size;     /* bytes (at least 1) */
    uint32_t max_sectors_per_chunk;   /* of the chunks that use the buffer (qemu: of all chunks) */
    /* Called once for every chunk of a type qemu skips with a warning (not comments/terminators). */
    void (*skipped)(uint32_t type);
} dmg_table;

/* The offset of the first "koly" in buf (window bytes read at window_start), or -1. */
int64_t dmg_koly_find(const uint8_t *buf, size_t window, uint64_t window_start);

/* Decodes the trailer fields from the DMG_KOLY_BYTES at buf. */
void dmg_koly_read_data(const uint8_t *buf, dmg_koly *koly);

/* qemu's checks of the trailer found at koly_offset: both forks before the trailer, the sector
 * count a valid int64; -1 (nothing said: qemu fails with "Invalid argument") otherwise. */
int dmg_koly_validate(const dmg_koly *koly, uint64_t koly_offset);

/* Adds the chunks of one mish block (length bytes at buf) to table: blocks without the magic or
 * too short are skipped, chunks of unknown types are dropped (table->skipped is told). Fails with
 * kind ERROR_KIND_CORRUPT and qemu's printed text when a chunk passes a size bound. */
int dmg_mish_parse(dmg_table *table, const uint8_t *buf, size_t length, error **errp);


/* Parses every <data>...</data> element of the property list text (length bytes, ending at the
 * first NUL as qemu's string search does) as a mish block. -1 without message: malformed (an
 * element without its end); CORRUPT errors from dmg_mish_parse pass through. */
int dmg_plist_parse(dmg_table *table, const uint8_t *text, size_t length, error **errp);

/* Parses the resource fork of fork_length bytes whose file bytes from its start are buf (available
 * bytes; later bytes read as zero): its data area's length-prefixed resources are mish blocks.
 * -1 without message when an offset or length fails qemu's tests. */
int dmg_rsrc_parse(dmg_table *table, const uint8_t *buf, size_t available, uint64_t fork_length, error **errp);

/* Frees the table's chunks. */
void dmg_table_free(dmg_table *table);

#endif
