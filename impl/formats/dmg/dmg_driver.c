/* dmg_driver.c — the read-only UDIF (dmg) driver: probe, open (trailer, block tables), reads of
 * zlib, bzip2, raw and zero chunks through qemu's one-chunk buffer, info, as qemu 10.2 does them
 * (spec/dmg.md). */
#include <bzlib.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dmg.h"
#include "../common/format_io.h"
#include "../../block/block.h"
#include "../../util/memory.h"
#include "../../util/report.h"

/* What an open image keeps: the chunks, the chunk whose data the buffer holds (qemu's
 * current_chunk: count when none) and that buffer, which keeps its bytes from chunk to chunk. */
typedef struct dmg_state {
    dmg_table table;
    uint32_t current;
    uint8_t *buffer;
    uint64_t buffer_bytes;
} dmg_state;

/* qemu warns once per process about each kind of chunk it skips. */
static bool dmg_warned_unknown, dmg_warned_lzfse;

/* Score 2 for a non-empty file whose name ends in ".dmg": qemu's probe looks at nothing else. */
static int dmg_probe(const uint8_t *buf, size_t buf_size, const char *filename)
{
    (void)buf;
    size_t n = filename ? strlen(filename) : 0;
    return buf_size > 0 && n > 4 && strcmp(filename + n - 4, ".dmg") == 0 ? 2 : 0;
}

/* Warns, once per process, about chunks qemu 10.2 cannot read (told by the table parser). */
static void dmg_chunk_skipped(uint32_t type)
{
    if (type == DMG_CHUNK_LZFSE) {
        if (!dmg_warned_lzfse)
            report_warning("dmg-lzfse module is missing, accessing lzfse compressed blocks will result in I/O errors");
        dmg_warned_lzfse = true;
        return;
    }
    if (!dmg_warned_unknown)
        report_warning("Image contains chunks of unknown type %x, accessing them will result in I/O errors", type);
    dmg_warned_unknown = true;
}

/* Frees what open kept (also after a failed open). */
static void dmg_close(block_node *node)
{
    dmg_state *s = node->state;
    if (s) {
        dmg_table_free(&s->table);
        free(s->buffer);
    }
    free(s);
    node->state = NULL;
}

/* Refuses writing (qemu's driver is read-only) and runtime options (dmg has none). */
static int dmg_open_mode_check(const option_list *options, int flags, error **errp)
{
    if (flags & BLOCK_OPEN_READ_WRITE)
        return error_set(errp, "Image is read-only");
    if (options && options->count > 0)
        return error_set(errp, "Block format 'dmg' does not support the option '%s'", options->entries[0].key);
    return 0;
}

/* The failure qemu reports for a damaged image it says nothing more about. */
static int dmg_invalid(block_node *node, error **errp)
{
    return error_set_errnum(errp, EINVAL, "Could not open '%s': Invalid argument", node->filename);
}

/* Finds the trailer in the last sectors of the file (whose length qemu rounds up to whole sectors). */
static int dmg_koly_locate(block_node *node, uint64_t *koly_offset, error **errp)
{
    uint64_t length = format_align_up(format_file_length(node->file), DMG_SECTOR_SIZE);
    uint8_t window[DMG_KOLY_WINDOW];
    if (length < DMG_SECTOR_SIZE)
        return error_set(errp, "dmg file must be at least 512 bytes long");
    uint64_t start = length > 511 + 512 ? length - 511 - 512 : 0;
    size_t n = length < DMG_KOLY_WINDOW ? (size_t)length : DMG_KOLY_WINDOW;
    if (format_file_read(node->file, start, n, window, errp) < 0)
        return -1;
    int64_t found = dmg_koly_find(window, n, start);
    if (found < 0)
        return error_set(errp, "Could not locate UDIF trailer in dmg file");
    *koly_offset = (uint64_t)found;
    return 0;
}

/* Reads length bytes at offset into a new buffer (*out), zero-padded past the end of the file. */
static int dmg_bytes_read(block_node *node, uint64_t offset, uint64_t length, uint8_t **out, error **errp)
{
    *out = memory_alloc_zero(length + 1);
    if (length > 0 && format_file_read(node->file, offset, (size_t)length, *out, errp) < 0) {
        free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

/* Parses the block tables the trailer names: the resource fork when it has one, else the
 * property list (both lie before the trailer, which the trailer's checks made sure of). */
static int dmg_tables_load(block_node *node, dmg_state *s, const dmg_koly *koly, error **errp)
{
    uint8_t *bytes = NULL;
    int ret = -1;
    error *err = NULL;
    if (koly->rsrc_fork_length != 0) {
        uint64_t file_length = format_file_length(node->file);
        uint64_t available = file_length - koly->rsrc_fork_offset;
        if (dmg_bytes_read(node, koly->rsrc_fork_offset, available, &bytes, errp) < 0)
            return -1;
        ret = dmg_rsrc_parse(&s->table, bytes, (size_t)available, koly->rsrc_fork_length, &err);
    } else if (koly->plist_length != 0) {
        if (dmg_bytes_read(node, koly->plist_offset, koly->plist_length, &bytes, errp) < 0)
            return -1;
        ret = dmg_plist_parse(&s->table, bytes, (size_t)koly->plist_length, &err);
    }
    free(bytes);
    if (ret == 0)
        return 0;
    if (err && err->kind == ERROR_KIND_CORRUPT) /* qemu prints these itself before failing */
        report_text("qemu-img: %s\n", error_message(err));
    error_free(err);
    return dmg_invalid(node, errp);
}

/* The bytes of the chunk buffer: the largest chunk that is decompressed or copied into it. */
static uint64_t dmg_buffer_bytes(const dmg_table *table)
{
    uint64_t sectors = 1;
    for (uint32_t i = 0; i < table->count; i++) {
        const dmg_chunk *c = &table->chunks[i];
        uint64_t n = 0;
        if (c->type == DMG_CHUNK_ZLIB || c->type == DMG_CHUNK_BZIP2)
            n = c->sector_count;
        else if (c->type == DMG_CHUNK_RAW)
            n = (c->length + 511) / 512;
        if (n > sectors)
            sectors = n;
    }
    return sectors * DMG_SECTOR_SIZE;
}

/* Finds the trailer, checks it and loads the block tables; the size is the trailer's sector count. */
static int dmg_open(block_node *node, option_list *options, int flags, error **errp)
{
    uint64_t koly_offset = 0;
    uint8_t raw[DMG_KOLY_BYTES];
    dmg_koly koly;
    if (dmg_open_mode_check(options, flags, errp) < 0)
        return -1;
    dmg_state *s = memory_alloc_zero(sizeof(*s));
    node->state = s;
    if (dmg_koly_locate(node, &koly_offset, errp) < 0 || format_file_read(node->file, koly_offset, sizeof(raw), raw, errp) < 0)
        goto fail;
    dmg_koly_read_data(raw, &koly);
    if (dmg_koly_validate(&koly, koly_offset) < 0) {
        dmg_invalid(node, errp);
        goto fail;
    }
    s->table.data_fork_offset = koly.data_fork_offset;
    s->table.max_compressed_size = 1;
    s->table.max_sectors_per_chunk = 1;
    s->table.skipped = dmg_chunk_skipped;
    if (koly.rsrc_fork_length == 0 && koly.plist_length == 0) {
        dmg_invalid(node, errp);
        goto fail;
    }
    if (dmg_tables_load(node, s, &koly, errp) < 0)
        goto fail;
    if (koly.sector_count > DMG_MAX_LENGTH / DMG_SECTOR_SIZE) {
        error_set_errnum(errp, EFBIG, "Could not refresh total sector count: File too large");
        goto fail;
    }
    s->buffer_bytes = dmg_buffer_bytes(&s->table);
    s->buffer = memory_alloc_zero(s->buffer_bytes);
    s->current = s->table.count;
    node->size = koly.sector_count * DMG_SECTOR_SIZE;
    node->read_only = true;
    node->request_alignment = DMG_SECTOR_SIZE;
    return 0;
fail:
    dmg_close(node);
    return -1;
}

/* Whether guest sector lies in chunk index (qemu's is_sector_in_chunk, 64-bit wrap included). */
static bool dmg_chunk_holds(const dmg_table *table, uint32_t index, uint64_t sector)
{
    if (index >= table->count)
        return false;
    const dmg_chunk *c = &table->chunks[index];
    return c->sector <= sector && c->sector + c->sector_count > sector;
}

/* qemu's binary search for the chunk of sector (the table is not required to be sorted, and the
 * answer for an unsorted one is whatever this search finds); table->count when none. */
static uint32_t dmg_chunk_search(const dmg_table *table, uint64_t sector)
{
    uint32_t low = 0, high = table->count;
    while (low <= high) {
        uint32_t middle = (uint32_t)(((uint64_t)low + high) / 2);
        if (middle >= table->count)
            break; /* qemu would read past its arrays here */
        const dmg_chunk *c = &table->chunks[middle];
        if (c->sector > sector) {
            if (middle == 0)
                break;
            high = middle - 1;
        } else if (c->sector + c->sector_count > sector) {
            return middle;
        } else {
            low = middle + 1;
        }
    }
    return table->count;
}

/* Inflates chunk c (a zlib stream of c->length bytes) into the buffer: it must end with exactly
 * its sectors' bytes out. */
static int dmg_chunk_inflate(const uint8_t *in, const dmg_chunk *c, uint8_t *out)
{
    z_stream stream;
    memset(&stream, 0, sizeof(stream));
    if (inflateInit(&stream) != Z_OK)
        return -1;
    stream.next_in = (uint8_t *)in;
    stream.avail_in = (uInt)c->length;
    stream.next_out = out;
    stream.avail_out = (uInt)(c->sector_count * DMG_SECTOR_SIZE);
    int ret = inflate(&stream, Z_FINISH);
    uint64_t total = stream.total_out;
    inflateEnd(&stream);
    return ret == Z_STREAM_END && total == c->sector_count * DMG_SECTOR_SIZE ? 0 : -1;
}

/* Decompresses chunk c (one bzip2 stream) into the buffer, with qemu's single decompress call. */
static int dmg_chunk_bunzip(const uint8_t *in, const dmg_chunk *c, uint8_t *out)
{
    bz_stream stream;
    memset(&stream, 0, sizeof(stream));
    if (BZ2_bzDecompressInit(&stream, 0, 0) != BZ_OK)
        return -1;
    stream.next_in = (char *)in;
    stream.avail_in = (unsigned)c->length;
    stream.next_out = (char *)out;
    stream.avail_out = (unsigned)(c->sector_count * DMG_SECTOR_SIZE);
    int ret = BZ2_bzDecompress(&stream);
    uint64_t total = ((uint64_t)stream.total_out_hi32 << 32) | stream.total_out_lo32;
    BZ2_bzDecompressEnd(&stream);
    return ret == BZ_STREAM_END && total == c->sector_count * DMG_SECTOR_SIZE ? 0 : -1;
}

/* Fills the buffer from chunk c: stored bytes are copied, compressed ones decompressed; zero
 * chunks leave it alone. */
static int dmg_chunk_fill(block_node *node, dmg_state *s, const dmg_chunk *c)
{
    if (c->type == DMG_CHUNK_ZERO || c->type == DMG_CHUNK_IGNORE)
        return 0;
    uint8_t *in = NULL;
    if (c->type == DMG_CHUNK_RAW)
        return format_file_read(node->file, c->offset, (size_t)c->length, s->buffer, NULL);
    if (dmg_bytes_read(node, c->offset, c->length, &in, NULL) < 0)
        return -1;
    int ret = c->type == DMG_CHUNK_ZLIB ? dmg_chunk_inflate(in, c, s->buffer) : dmg_chunk_bunzip(in, c, s->buffer);
    free(in);
    return ret;
}

/* Makes the chunk of sector the current one (qemu's dmg_read_chunk). */
static int dmg_chunk_load(block_node *node, dmg_state *s, uint64_t sector, error **errp)
{
    if (dmg_chunk_holds(&s->table, s->current, sector))
        return 0;
    uint32_t index = dmg_chunk_search(&s->table, sector);
    if (index >= s->table.count)
        return error_set_errnum(errp, EIO, "Input/output error");
    s->current = s->table.count;
    if (dmg_chunk_fill(node, s, &s->table.chunks[index]) < 0)
        return error_set_errnum(errp, EIO, "Input/output error");
    s->current = index;
    return 0;
}

/* Reads guest data sector by sector from the current chunk (zero chunks read as zeroes). */
static int dmg_read(block_node *node, uint64_t offset, size_t length, uint8_t *buf, error **errp)
{
    dmg_state *s = node->state;
    while (length > 0) {
        uint64_t sector = offset / DMG_SECTOR_SIZE, in_sector = offset % DMG_SECTOR_SIZE;
        size_t n = DMG_SECTOR_SIZE - in_sector < length ? (size_t)(DMG_SECTOR_SIZE - in_sector) : length;
        if (dmg_chunk_load(node, s, sector, errp) < 0)
            return -1;
        const dmg_chunk *c = &s->table.chunks[s->current];
        uint64_t at = (sector - c->sector) * DMG_SECTOR_SIZE + in_sector;
        if (c->type == DMG_CHUNK_ZERO || c->type == DMG_CHUNK_IGNORE || at + n > s->buffer_bytes)
            memset(buf, 0, n);
        else
            memcpy(buf, s->buffer + at, n);
        offset += n;
        length -= n;
        buf += n;
    }
    return 0;
}

/* qemu's dmg driver lists no image info of its own. */
static int dmg_info_fill(block_node *node, image_info *info, error **errp)
{
    (void)node;
    (void)errp;
    info->has_no_driver_info = true;
    return 0;
}

const block_driver block_driver_dmg = {
    .format_name = "dmg",
    .is_read_only_format = true,
    .probe = dmg_probe,
    .open = dmg_open,
    .close = dmg_close,
    .read = dmg_read,
    .info_fill = dmg_info_fill,
};
