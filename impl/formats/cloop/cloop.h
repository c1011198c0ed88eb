/* cloop.h — the compressed loop (cloop V2.0) image: header layout, the pure parsers of the header and
 * the offsets table, and the open checks in qemu 10.2's order and wording (spec/cloop.md). */
#ifndef QIMG_FORMATS_CLOOP_CLOOP_H
#define QIMG_FORMATS_CLOOP_CLOOP_H

#include <stddef.h>
#include <stdint.h>

#include "../../util/error.h"

/* The shell preamble qemu's probe compares (the "exit $?" line that follows is not compared). */
#define CLOOP_MAGIC "#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n"
#define CLOOP_HEADER_OFFSET 128        /* block size and block count, big-endian */
#define CLOOP_OFFSETS_OFFSET 136       /* the offsets table */
#define CLOOP_BLOCK_SIZE_MAX (64u * 1024 * 1024)
#define CLOOP_OFFSETS_BYTES_MAX (512u * 1024 * 1024)
#define CLOOP_N_BLOCKS_MAX ((UINT32_MAX - 1) / 8)

typedef struct cloop_header {
    uint32_t block_size;  /* bytes of guest data per block */
    uint32_t n_blocks;
} cloop_header;

/* Probe score of the first length bytes: 2 when they start with the magic, else 0. */
int cloop_header_probe(const uint8_t *buf, size_t length);

/* Decodes the 8 header bytes at CLOOP_HEADER_OFFSET. */
void cloop_header_read_data(const uint8_t *buf, cloop_header *h);

/* qemu's checks of the header in its order; on success *table_entries is the offset count to read
 * (n_blocks + 1). */
int cloop_header_validate(const cloop_header *h, uint64_t *table_entries, error **errp);

/* Checks the decoded offsets (count = n_blocks + 1) as qemu does: monotonic, no block's compressed
 * size above twice the largest block size; 0 or -1 with its message. */
int cloop_offsets_validate(const uint64_t *offsets, uint64_t count, error **errp);

#endif
