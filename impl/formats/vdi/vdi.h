/* vdi.h — the VirtualBox VDI format (version 1.1, as qemu 10.2 reads and writes it): header layout,
 * limits and the pure parsers of spec/vdi.md §Header, §Block map. */
#ifndef QIMG_FORMATS_VDI_H
#define QIMG_FORMATS_VDI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../util/error.h"

#define VDI_SIGNATURE 0xbeda107fu
#define VDI_VERSION_1_1 0x00010001u
#define VDI_HEADER_SIZE_FIELD 0x180u          /* the header_size qemu writes (bytes from offset 0x48) */
#define VDI_HEADER_BYTES 512u                 /* pre-header text and header, as one sector */
#define VDI_TEXT "<<< QEMU VM Virtual Disk Image >>>\n"
#define VDI_SECTOR_SIZE 512u
#define VDI_BLOCK_SIZE (1u << 20)
#define VDI_IMAGE_TYPE_DYNAMIC 1u
#define VDI_IMAGE_TYPE_STATIC 2u
#define VDI_ENTRY_UNALLOCATED 0xffffffffu     /* block map: never written, reads as zeroes */
#define VDI_ENTRY_ZERO 0xfffffffeu            /* block map: discarded, reads as zeroes */
#define VDI_BLOCKS_MAX 0x1fffff80u            /* qemu's limit on blocks_in_image */
#define VDI_DISK_SIZE_MAX ((uint64_t)VDI_BLOCKS_MAX * VDI_BLOCK_SIZE)
#define VDI_UUID_SIZE 16u

/* The header fields (spec/vdi.md §Header), decoded; raw keeps the whole first sector so that a
 * rewrite preserves what qemu preserves. */
typedef struct vdi_header {
    uint32_t signature;
    uint32_t version;
    uint32_t header_size;
    uint32_t image_type;
    uint32_t image_flags;
    uint32_t offset_bmap;
    uint32_t offset_data;
    uint32_t cylinders;
    uint32_t heads;
    uint32_t sectors;
    uint32_t sector_size;
    uint64_t disk_size;
    uint32_t block_size;
    uint32_t block_extra;
    uint32_t blocks_in_image;
    uint32_t blocks_allocated;
    uint8_t uuid_image[VDI_UUID_SIZE];
    uint8_t uuid_last_snap[VDI_UUID_SIZE];
    uint8_t uuid_link[VDI_UUID_SIZE];
    uint8_t uuid_parent[VDI_UUID_SIZE];
    uint8_t raw[VDI_HEADER_BYTES];
} vdi_header;

/* Decodes the first sector buf (size bytes; bytes past size read as zero) into *header. */
void vdi_header_read_data(const uint8_t *buf, size_t size, vdi_header *header);

/* Encodes *header over header->raw and copies the sector into buf (VDI_HEADER_BYTES bytes): the
 * decoded fields win, every other byte (pre-header text, description, padding) is raw's. */
void vdi_header_write_data(vdi_header *header, uint8_t *buf);

/* size rounded up to whole sectors (UINT64_MAX when that overflows). */
uint64_t vdi_size_round(uint64_t size);

/* qemu's refusal of a size above VDI_DISK_SIZE_MAX (on open and on create); returns -1. */
int vdi_size_error(error **errp, uint64_t size);

/* Checks a decoded header as qemu's open does, in its order, with its messages; on success rounds
 * disk_size up to whole sectors (what qemu then shows and rewrites). */
int vdi_header_validate(vdi_header *header, error **errp);

/* The header of a new image of size bytes (already rounded to sectors and below
 * VDI_DISK_SIZE_MAX): static images have every block allocated in order. The UUIDs are left nil
 * for the caller to fill. */
void vdi_header_init_new(vdi_header *header, uint64_t size, bool is_static);

/* The bytes of the block map of blocks entries as stored: a whole number of sectors. */
uint64_t vdi_bmap_bytes(uint64_t blocks);

/* Whether a block map entry names a data block (neither unallocated nor zero). */
static inline bool vdi_entry_is_allocated(uint32_t entry)
{
    return entry < VDI_ENTRY_ZERO;
}

#endif
