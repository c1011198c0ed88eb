/* parallels.h — the Parallels expandable image driver's shared definitions: on-disk header, format
 * extension and the open image state (spec/parallels.md). */
#ifndef QIMG_FORMATS_PARALLELS_H
#define QIMG_FORMATS_PARALLELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../block/block.h"
#include "../common/format_refmap.h"

#define PARALLELS_HEADER_SIZE 64u
#define PARALLELS_SECTOR_SIZE 512u
#define PARALLELS_MAGIC_OLD "WithoutFreeSpace"
#define PARALLELS_MAGIC_NEW "WithouFreSpacExt"
#define PARALLELS_VERSION 2u
#define PARALLELS_INUSE_OPEN 0x746F6E59u   /* "Ynot": opened read-write and not closed */
#define PARALLELS_MAX_TRACKS 0x3fe00fu     /* larger sectors per cluster are "Too big cluster" (measured) */
#define PARALLELS_MAX_BAT_ENTRIES 0x1fffffffu /* more entries are "Catalog too large" */
#define PARALLELS_MAX_BAT_READ 0x7ffff000u /* a header+BAT read longer than this fails with an I/O error */
#define PARALLELS_MAX_SIZE 0x7fffffffc0000000ull /* the largest virtual size qemu accepts */
#define PARALLELS_DEFAULT_CLUSTER_SIZE (1024u * 1024u)
#define PARALLELS_MAX_CREATE_CLUSTER 0x7ffffe00ull
#define PARALLELS_DEFAULT_PREALLOC_SIZE (128ull * 1024 * 1024)
#define PARALLELS_EXT_MAGIC 0xAB234CEF23DCEA87ull
#define PARALLELS_EXT_DIRTY_BITMAP 0x20385FAE252CB34Aull
#define PARALLELS_EXT_HEADER_SIZE 24u    /* magic + MD5 checksum */
#define PARALLELS_EXT_FEATURE_SIZE 24u   /* magic, flags, data size, padding */
#define PARALLELS_EXT_BITMAP_SIZE 32u    /* size, id, granularity, l1 size */

/* The 64-byte header, field by field (all little endian on disk). */
typedef struct parallels_header {
    uint8_t magic[16];
    uint32_t version;
    uint32_t heads;
    uint32_t cylinders;
    uint32_t tracks;         /* sectors per cluster */
    uint32_t bat_entries;
    uint64_t nb_sectors;
    uint32_t inuse;
    uint32_t data_off;       /* sectors */
    uint32_t flags;
    uint64_t ext_off;        /* sectors */
} parallels_header;

/* Why a header cannot be opened (in the order qemu tests them). */
typedef enum parallels_header_fault {
    PARALLELS_HEADER_OK,
    PARALLELS_HEADER_NOT_PARALLELS, /* "Image not in Parallels format" */
    PARALLELS_HEADER_ZERO_TRACKS,   /* "Invalid image: Zero sectors per track" */
    PARALLELS_HEADER_BIG_CLUSTER,   /* "Invalid image: Too big cluster" */
    PARALLELS_HEADER_BIG_CATALOG,   /* "Catalog too large" */
    PARALLELS_HEADER_BIG_SIZE,      /* "Could not refresh total sector count: File too large" */
} parallels_header_fault;

/* Decodes the header from buf (size bytes; missing bytes read as zero). */
void parallels_header_read_data(const uint8_t *buf, size_t size, parallels_header *header);
/* Encodes header into the 64 bytes at buf. */
void parallels_header_write_data(const parallels_header *header, uint8_t *buf);
/* Whether the magic is the newer "WithouFreSpacExt" one (BAT entries in clusters). */
bool parallels_header_is_new(const parallels_header *header);
/* The first fault qemu reports for header, or PARALLELS_HEADER_OK. */
parallels_header_fault parallels_header_validate(const parallels_header *header);
/* The virtual size in bytes the header records (old images use the low 32 bits of nb_sectors). */
uint64_t parallels_header_virtual_size(const parallels_header *header);
/* The smallest data offset in sectors an open accepts: header and BAT in whole sectors (32-bit
 * arithmetic, as qemu), rounded up for new images with qemu's power-of-two mask on the cluster size. */
uint32_t parallels_header_min_data_off(const parallels_header *header);
/* The data offset creation writes: header and BAT in whole sectors, rounded up to a whole cluster. */
uint32_t parallels_header_create_data_off(const parallels_header *header);

/* Creation layout for size bytes with cluster_size (a multiple of 512): the header qemu writes.
 * Returns false when the BAT would need more than 32 bits of entries. */
bool parallels_create_header_build(uint64_t size, uint64_t cluster_size, parallels_header *header);

/* A parsed format extension: only the dirty bitmap is known. */
typedef struct parallels_extension {
    bool has_bitmap;
    uint64_t bitmap_sectors;
    uint32_t granularity;   /* sectors per bit */
    uint32_t l1_size;
} parallels_extension;

/* Parses the format extension cluster (cluster_size bytes at buf) against the disk size in sectors:
 * 0, or -1 with qemu's text formatted into message (message_size bytes). */
int parallels_extension_parse(const uint8_t *buf, size_t cluster_size, uint64_t disk_sectors,
                              parallels_extension *ext, char *message, size_t message_size);
/* The same for a cluster of which only the first length bytes (at least the 64-byte header) are at
 * buf, the rest reading as zeroes (an extension cluster reaching past the end of the file). */
int parallels_extension_parse_partial(const uint8_t *buf, size_t length, size_t cluster_size, uint64_t disk_sectors,
                                      parallels_extension *ext, char *message, size_t message_size);

/* Open image state. */
/* The end no request of qemu's block layer may pass: INT64_MAX rounded down to 1 GiB. */
#define PARALLELS_MAX_LENGTH 0x7fffffffc0000000ull
/* The first ext_off (sectors) qemu refuses: INT64_MAX >> 9. */
#define PARALLELS_EXT_OFF_LIMIT (INT64_MAX >> 9)

typedef struct parallels_state {
    parallels_header header;  /* as on disk (inuse aside), written back on close */
    bool new_format;
    uint64_t cluster_size;
    uint64_t data_start;      /* sectors */
    uint64_t data_end;        /* sectors: end of the highest cluster in use */
    uint32_t *bat;            /* bat_loaded decoded entries; those after read as 0 */
    uint64_t bat_loaded;
    format_refmap used;       /* host clusters in use, indexed from data_start (cluster_bits 0) */
    uint64_t used_size;       /* clusters the map covers */
    uint64_t low_entries;     /* entries pointing below the data area (damaged images): outside the map */
    bool header_unclean;      /* inuse was "Ynot" on open */
    bool data_off_bad;
    bool writable;
    uint64_t prealloc_size;   /* sectors */
    bool prealloc_truncate;
} parallels_state;

/* The image file's length as qemu's file protocol gives it to the driver: rounded up to whole sectors. */
uint64_t parallels_file_length(block_node *node);
/* The host byte offset of BAT entry index (0: unallocated). */
uint64_t parallels_bat_offset(const parallels_state *s, uint64_t index);
/* Sets BAT entry index in memory (growing the loaded part) and writes its sector of the BAT. */
int parallels_bat_store(block_node *node, uint64_t index, uint32_t value, error **errp);
/* The used-map index of the cluster at off (first and last are the same: qemu marks one index per entry,
 * truncating an offset less than a cluster before the data area to index 0); false when it starts
 * before the data area by a cluster or more, or overlaps the header and BAT. */
bool parallels_used_range(const parallels_state *s, uint64_t off, uint64_t *first, uint64_t *last);
/* Rebuilds the used map and data_end from the BAT; false when some entry could not be marked. */
bool parallels_used_map_fill(block_node *node);
/* Allocates one host cluster (first free in the used map, growing the file when needed); its byte offset. */
int parallels_cluster_allocate(block_node *node, uint64_t *host_offset, error **errp);
/* The BAT value that points at host_offset. */
uint32_t parallels_bat_value(const parallels_state *s, uint64_t host_offset);
/* Writes the header with inuse set as given. */
int parallels_header_store(block_node *node, uint32_t inuse, error **errp);

int parallels_check(block_node *node, check_result *result, int fix, error **errp);
int parallels_create(const char *filename, const option_list *options, error **errp);
extern const option_desc parallels_create_options[];

#endif
