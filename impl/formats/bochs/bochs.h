/* bochs.h — the Bochs growing ("Redolog"/"Growing") image: header layout, the pure header parser
 * and the open checks in qemu 10.2's order and wording (spec/bochs.md §Header, §Open checks). */
#ifndef QIMG_FORMATS_BOCHS_BOCHS_H
#define QIMG_FORMATS_BOCHS_BOCHS_H

#include <stddef.h>
#include <stdint.h>

#include "../../util/error.h"

#define BOCHS_HEADER_BYTES 512
#define BOCHS_SECTOR_SIZE 512
#define BOCHS_MAGIC "Bochs Virtual HD Image"
#define BOCHS_TYPE_REDOLOG "Redolog"
#define BOCHS_SUBTYPE_GROWING "Growing"
#define BOCHS_VERSION_CURRENT 0x00020000u
#define BOCHS_VERSION_V1 0x00010000u
#define BOCHS_CATALOG_MAX 0x100000u        /* entries: qemu's bound on the catalog */
#define BOCHS_EXTENT_MAX 0x800000u         /* bytes */
#define BOCHS_EXTENT_UNALLOCATED 0xffffffffu

/* The header fields qemu reads (offsets in spec/bochs.md §Header). */
typedef struct bochs_header {
    int signature_ok;       /* magic, type and subtype match, version is v1 or current */
    uint32_t version;
    uint32_t header_size;   /* where the catalog starts */
    uint32_t catalog_size;  /* entries */
    uint32_t bitmap_size;   /* bytes of each extent's bitmap */
    uint32_t extent_size;   /* bytes of guest data per extent */
    uint64_t disk_size;     /* bytes (v1 keeps it 4 bytes earlier) */
} bochs_header;

/* Decodes the first length bytes of the file (missing bytes read as zero) into *h. */
void bochs_header_read_data(const uint8_t *buf, size_t length, bochs_header *h);

/* Whether buf (length bytes, missing header bytes read as zero) starts with a Bochs growing header
 * (probe: 100 or 0). */
int bochs_header_probe(const uint8_t *buf, size_t length);

/* Applies qemu's open checks to h, in its order; 0 or -1 with its message. */
int bochs_header_validate(const bochs_header *h, error **errp);

/* The 512-byte units of one extent's bitmap and data (qemu rounds both up). */
uint64_t bochs_bitmap_sectors(const bochs_header *h);
uint64_t bochs_extent_sectors(const bochs_header *h);

#endif
