/* cloop.c — the read-only cloop driver: probe, open, reads of zlib-compressed blocks through the
 * offsets table, info, as qemu 10.2 does them (spec/cloop.md). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cloop.h"
#include "../common/format_io.h"
#include "../common/format_table.h"
#include "../../block/block.h"
#include "../../util/endian.h"
#include "../../util/memory.h"

enum { CLOOP_INPUT_CHUNK = 1 << 20 };

/* What an open image keeps: its header, the offsets and the last block decompressed. */
typedef struct cloop_state {
    cloop_header header;
    uint64_t *offsets;          /* the first offsets_kept entries (all later ones are 0) */
    uint64_t offsets_kept;
    uint8_t *block;             /* block_size bytes: the decompressed block current_block */
    uint64_t current_block;     /* UINT64_MAX: none */
    z_stream stream;
    bool stream_ready;
} cloop_state;

/* The offsets as a table: 8-byte big-endian entries; entries past the end of the file read as 0. */
static const format_table_layout cloop_offsets_layout = {8, FORMAT_BIG_ENDIAN, (uint64_t)CLOOP_N_BLOCKS_MAX + 1, true};

int cloop_header_probe(const uint8_t *buf, size_t length)
{
    /* qemu probes a zero-padded sector: a file shorter than the magic never matches it */
    size_t n = strlen(CLOOP_MAGIC);
    return length >= n && memcmp(buf, CLOOP_MAGIC, n) == 0 ? 2 : 0;
}

void cloop_header_read_data(const uint8_t *buf, cloop_header *h)
{
    h->block_size = endian_load_be32(buf);
    h->n_blocks = endian_load_be32(buf + 4);
}

int cloop_header_validate(const cloop_header *h, uint64_t *table_entries, error **errp)
{
    if (h->block_size % 512 != 0)
        return error_set(errp, "block_size %u must be a multiple of 512", h->block_size);
    if (h->block_size == 0)
        return error_set(errp, "block_size cannot be zero");
    if (h->block_size > CLOOP_BLOCK_SIZE_MAX)
        return error_set(errp, "block_size %u must be %u MB or less", h->block_size, CLOOP_BLOCK_SIZE_MAX / (1024 * 1024));
    if (h->n_blocks > CLOOP_N_BLOCKS_MAX)
        return error_set(errp, "n_blocks %u must be %u or less", h->n_blocks, (unsigned)CLOOP_N_BLOCKS_MAX);
    /* qemu keeps the table's byte size in 32 bits: (n_blocks + 1) * 8 can wrap to 0 */
    uint32_t bytes = (uint32_t)(((uint64_t)h->n_blocks + 1) * 8);
    if (bytes > CLOOP_OFFSETS_BYTES_MAX)
        return error_set(errp, "image requires too many offsets, try increasing block size");
    if (bytes == 0)
        return error_set(errp, "Could not allocate offsets table");
    *table_entries = bytes / 8;
    return 0;
}

int cloop_offsets_validate(const uint64_t *offsets, uint64_t count, error **errp)
{
    for (uint64_t i = 1; i < count; i++) {
        if (offsets[i] < offsets[i - 1])
            return error_set(errp, "offsets not monotonically increasing at index %" PRIu64 ", image file is corrupt",
                             i);
        if (offsets[i] - offsets[i - 1] > 2 * (uint64_t)CLOOP_BLOCK_SIZE_MAX)
            return error_set(errp, "invalid compressed block size at index %" PRIu64 ", image file is corrupt", i);
    }
    return 0;
}

/* Score 2 when the preamble matches (qemu's weak claim: a shell script could look the same). */
static int cloop_probe(const uint8_t *buf, size_t buf_size, const char *filename)
{
    (void)filename;
    return buf_size == 0 ? 0 : cloop_header_probe(buf, buf_size);
}

/* Frees what open kept (also after a failed open). */
static void cloop_close(block_node *node)
{
    cloop_state *s = node->state;
    if (s) {
        if (s->stream_ready)
            inflateEnd(&s->stream);
        free(s->offsets);
        free(s->block);
    }
    free(s);
    node->state = NULL;
}

/* Refuses writing (qemu's driver is read-only) and runtime options (cloop has none). */
static int cloop_open_mode_check(const option_list *options, int flags, error **errp)
{
    if (flags & BLOCK_OPEN_READ_WRITE)
        return error_set(errp, "Image is read-only");
    if (options && options->count > 0)
        return error_set(errp, "Block format 'cloop' does not support the option '%s'", options->entries[0].key);
    return 0;
}

/* Reads the offsets table: only the entries inside the file are read, the rest read as 0, as
 * qemu's reads past the end do; memory follows the file, never the header. */
static int cloop_offsets_load(block_node *node, cloop_state *s, uint64_t count, error **errp)
{
    uint64_t length = format_file_length(node->file), inside = 0;
    if (length > CLOOP_OFFSETS_OFFSET)
        inside = (length - CLOOP_OFFSETS_OFFSET + 7) / 8;
    if (inside > count)
        inside = count;
    uint64_t *entries = NULL;
    if (format_table_read(node->file, &cloop_offsets_layout, CLOOP_OFFSETS_OFFSET, inside, &entries, errp) < 0)
        return -1;
    /* the entries past the end are all 0: the first of them decides whether they pass */
    uint64_t checked = inside < count ? inside + 1 : count;
    s->offsets = memory_alloc_zero((checked + 1) * sizeof(uint64_t));
    if (inside > 0)
        memcpy(s->offsets, entries, inside * sizeof(uint64_t));
    s->offsets_kept = checked;
    free(entries);
    return cloop_offsets_validate(s->offsets, checked, errp);
}

/* Reads and checks the header and the offsets as qemu does; the size is n_blocks whole blocks. */
static int cloop_open(block_node *node, option_list *options, int flags, error **errp)
{
    uint8_t raw[8];
    uint64_t count = 0;
    if (cloop_open_mode_check(options, flags, errp) < 0)
        return -1;
    cloop_state *s = memory_alloc_zero(sizeof(*s));
    node->state = s;
    if (format_file_read(node->file, CLOOP_HEADER_OFFSET, sizeof(raw), raw, errp) < 0)
        goto fail;
    cloop_header_read_data(raw, &s->header);
    if (cloop_header_validate(&s->header, &count, errp) < 0 || cloop_offsets_load(node, s, count, errp) < 0)
        goto fail;
    if (inflateInit(&s->stream) != Z_OK) {
        error_set(errp, "Could not initialize zlib");
        goto fail;
    }
    s->stream_ready = true;
    s->block = memory_alloc_zero(s->header.block_size);
    s->current_block = UINT64_MAX;
    node->size = (uint64_t)s->header.n_blocks * s->header.block_size;
    node->read_only = true;
    node->request_alignment = 512;
    return 0;
fail:
    cloop_close(node);
    return -1;
}

/* The compressed start of block index (0 past the entries read from the file). */
static uint64_t cloop_offset_get(const cloop_state *s, uint64_t index)
{
    return index < s->offsets_kept ? s->offsets[index] : 0;
}

/* Inflates block index into s->block: its compressed bytes must end the zlib stream with exactly
 * block_size bytes out (qemu's test); -1 (EIO) otherwise. Input is read in bounded chunks. */
static int cloop_block_inflate(block_node *node, cloop_state *s, uint64_t index, error **errp)
{
    uint64_t start = cloop_offset_get(s, index), left = cloop_offset_get(s, index + 1) - start;
    uint8_t *chunk = memory_alloc_zero(left < CLOOP_INPUT_CHUNK ? (size_t)left + 1 : CLOOP_INPUT_CHUNK);
    int ret = inflateReset(&s->stream) == Z_OK ? Z_OK : Z_STREAM_ERROR;
    s->stream.next_out = s->block;
    s->stream.avail_out = s->header.block_size;
    while (ret == Z_OK && left > 0) {
        size_t n = left < CLOOP_INPUT_CHUNK ? (size_t)left : CLOOP_INPUT_CHUNK;
        if (format_file_read(node->file, start, n, chunk, errp) < 0) {
            free(chunk);
            return -1;
        }
        s->stream.next_in = chunk;
        s->stream.avail_in = (uInt)n;
        ret = inflate(&s->stream, left == n ? Z_FINISH : Z_NO_FLUSH);
        if (ret == Z_BUF_ERROR && left != n && s->stream.avail_out > 0)
            ret = Z_OK;
        start += n;
        left -= n;
    }
    if (ret == Z_OK && left == 0) /* an empty block: zlib sees no input at all */
        ret = inflate(&s->stream, Z_FINISH);
    free(chunk);
    if (ret != Z_STREAM_END || s->stream.total_out != s->header.block_size)
        return error_set_errnum(errp, EIO, "Input/output error");
    return 0;
}

/* Makes block index the current one (decompressing it unless it already is). */
static int cloop_block_load(block_node *node, uint64_t index, error **errp)
{
    cloop_state *s = node->state;
    if (s->current_block == index)
        return 0;
    s->current_block = UINT64_MAX;
    if (cloop_block_inflate(node, s, index, errp) < 0)
        return -1;
    s->current_block = index;
    return 0;
}

/* Reads guest data block by block from the decompressed blocks. */
static int cloop_read(block_node *node, uint64_t offset, size_t length, uint8_t *buf, error **errp)
{
    cloop_state *s = node->state;
    uint64_t block_size = s->header.block_size;
    while (length > 0) {
        uint64_t index = offset / block_size, in_block = offset % block_size;
        size_t n = block_size - in_block < length ? (size_t)(block_size - in_block) : length;
        if (cloop_block_load(node, index, errp) < 0)
            return -1;
        memcpy(buf, s->block + in_block, n);
        offset += n;
        length -= n;
        buf += n;
    }
    return 0;
}

/* qemu's cloop driver lists no image info of its own. */
static int cloop_info_fill(block_node *node, image_info *info, error **errp)
{
    (void)node;
    (void)errp;
    info->has_no_driver_info = true;
    return 0;
}

const block_driver block_driver_cloop = {
    .format_name = "cloop",
    .is_read_only_format = true,
    .probe = cloop_probe,
    .open = cloop_open,
    .close = cloop_close,
    .read = cloop_read,
    .info_fill = cloop_info_fill,
};
