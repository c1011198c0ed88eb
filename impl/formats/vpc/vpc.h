/* vpc.h — the Virtual PC / Hyper-V VHD format (qemu's "vpc" driver, as qemu 10.2 reads and writes
 * it): footer and dynamic header layouts, limits and the pure parsers of spec/vpc.md §Footer,
 * §Dynamic header, §Geometry, §Virtual size. */
#ifndef QIMG_FORMATS_VPC_H
#define QIMG_FORMATS_VPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../block/block.h"
#include "../../util/error.h"

#define VPC_SECTOR_SIZE 512u
#define VPC_FOOTER_SIZE 512u
#define VPC_DYNAMIC_HEADER_SIZE 1024u
#define VPC_FOOTER_COOKIE "conectix"
#define VPC_DYNAMIC_COOKIE "cxsparse"
#define VPC_COOKIE_SIZE 8u
#define VPC_UUID_SIZE 16u

#define VPC_DISK_FIXED 2u
#define VPC_DISK_DYNAMIC 3u

#define VPC_FEATURES_RESERVED 2u            /* the "reserved" feature bit every footer carries */
#define VPC_VERSION_1_0 0x00010000u
#define VPC_CREATOR_VERSION 0x00050003u     /* what qemu writes */
#define VPC_NO_DATA_OFFSET UINT64_MAX       /* footer data offset of a fixed image */
#define VPC_BAT_UNALLOCATED 0xffffffffu
#define VPC_DEFAULT_BLOCK_SIZE (2u * 1024u * 1024u)
#define VPC_MAX_SECTORS 0xff000000ull       /* 2040 GiB: the largest disk qemu opens or creates */
#define VPC_CHS_MAX_SECTORS (65535ull * 16 * 255)
#define VPC_MAX_TABLE_ENTRIES 0x1fffffffu   /* more: "Max Table Entries too large" */
#define VPC_MAX_TABLE_READ 0x7ffffe00ull    /* a longer block table read fails: "Error reading pagetable" */
#define VPC_TIMESTAMP_EPOCH 946684800ll     /* 2000-01-01 00:00:00 UTC, the footer timestamp's origin */

/* The 512-byte footer (big endian on disk; spec/vpc.md §Footer). raw keeps the sector as read so
 * that a rewrite reproduces it byte for byte. */
typedef struct vpc_footer {
    uint8_t cookie[VPC_COOKIE_SIZE];
    uint32_t features;
    uint32_t version;
    uint64_t data_offset;
    uint32_t timestamp;
    uint8_t creator_app[4];
    uint32_t creator_version;
    uint8_t creator_os[4];
    uint64_t original_size;
    uint64_t current_size;
    uint16_t cylinders;
    uint8_t heads;
    uint8_t sectors_per_track;
    uint32_t disk_type;
    uint32_t checksum;
    uint8_t uuid[VPC_UUID_SIZE];
    uint8_t saved_state;
    uint8_t raw[VPC_FOOTER_SIZE];
} vpc_footer;

/* The 1024-byte dynamic disk header ("cxsparse"; spec/vpc.md §Dynamic header). */
typedef struct vpc_dynamic_header {
    uint8_t cookie[VPC_COOKIE_SIZE];
    uint64_t data_offset;
    uint64_t table_offset;
    uint32_t version;
    uint32_t max_table_entries;
    uint32_t block_size;
    uint32_t checksum;
    uint8_t raw[VPC_DYNAMIC_HEADER_SIZE];
} vpc_dynamic_header;

/* CHS geometry as the footer stores it. */
typedef struct vpc_geometry {
    uint16_t cylinders;
    uint8_t heads;
    uint8_t sectors_per_track;
} vpc_geometry;

/* Decodes the footer sector buf (size bytes; missing bytes read as zero). */
void vpc_footer_read_data(const uint8_t *buf, size_t size, vpc_footer *footer);
/* Encodes the decoded fields over footer->raw, recomputes the checksum and copies the sector to buf. */
void vpc_footer_write_data(vpc_footer *footer, uint8_t *buf);
/* Whether the footer starts with "conectix". */
bool vpc_footer_has_cookie(const vpc_footer *footer);
/* The one's complement of the byte sum of the sector, the checksum field counted as zero. */
uint32_t vpc_footer_checksum(const uint8_t *sector);

/* Decodes the dynamic header buf (size bytes; missing bytes read as zero). */
void vpc_dynamic_header_read_data(const uint8_t *buf, size_t size, vpc_dynamic_header *header);
/* Encodes the decoded fields over header->raw, recomputes its checksum and copies it to buf. */
void vpc_dynamic_header_write_data(vpc_dynamic_header *header, uint8_t *buf);

/* The geometry the VHD specification assigns to total_sectors (capped at 65535/16/255). */
vpc_geometry vpc_geometry_for_sectors(uint64_t total_sectors);
/* Whether g is the largest geometry (65535/16/255): the footer's current size then decides. */
bool vpc_geometry_is_max(vpc_geometry g);

/* The virtual size in sectors qemu reads from a footer: the geometry's product for images made by
 * Virtual PC ("vpc ") or an old qemu ("qemu") unless that product is the largest one's
 * (65535 x 16 x 255, whatever the fields' order); the current
 * size (whole sectors) for every other creator (Hyper-V, Disk2VHD, qemu with force_size...). */
uint64_t vpc_footer_total_sectors(const vpc_footer *footer);

/* The disk size creation gives size bytes: geometry and sectors (rounding up to a geometry unless
 * force_size or the size is beyond the largest geometry). */
void vpc_create_size_compute(uint64_t size, bool force_size, vpc_geometry *geometry, uint64_t *total_sectors);

/* The bytes of the sector bitmap in front of each data block of block_size bytes. */
uint64_t vpc_bitmap_bytes(uint32_t block_size);

/* Checks the dynamic header as qemu's open does, in its order, against a disk of total_sectors:
 * cookie, block size, table entry count, table coverage. */
int vpc_dynamic_header_validate(const vpc_dynamic_header *header, uint64_t total_sectors, error **errp);

/* The footer of a new image: creator "qemu", or "qem2" when force_size decided the size (timestamp
 * and UUID left zero for the caller). */
void vpc_footer_init_new(vpc_footer *footer, uint32_t disk_type, bool force_size, vpc_geometry geometry,
                         uint64_t total_sectors);
/* The dynamic header of a new image of total_sectors with the default block size. */
void vpc_dynamic_header_init_new(vpc_dynamic_header *header, uint64_t total_sectors);

/* Whether writes to the image (size bytes, whole) keep every block's content apart: its allocated
 * blocks (bitmap and data) overlap neither each other nor the block table, bitmaps are at least a
 * sector (so a new block's bitmap covers the footer it replaces) and nothing but zeroes follows the
 * footer (a new block is not cleared: its unwritten bytes show what the file held there). qemu
 * checks none of it; where it fails, writes change what other bytes read (the fuzz model then does
 * not hold). Fixed images and files that are no dynamic image count as disjoint. */
bool vpc_layout_blocks_disjoint(const uint8_t *image, size_t size);

/* Creation (vpc_create.c): qemu's vpc_create_opts and the create entry point. */
extern const option_desc vpc_create_options[];
int vpc_create(const char *filename, const option_list *options, error **errp);

#endif
