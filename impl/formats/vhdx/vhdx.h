/* vhdx.h — the VHDX format ([MS-VHDX] as qemu 10.2 reads and writes it): on-disk layout constants,
 * decoded structures, the pure parsers and the driver's internal interfaces (spec/vhdx.md). */
#ifndef QIMG_FORMATS_VHDX_H
#define QIMG_FORMATS_VHDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../block/block.h"
#include "../../util/error.h"

#define VHDX_KIB 1024ull
#define VHDX_MIB (1024ull * 1024ull)
#define VHDX_GIB (1024ull * VHDX_MIB)
#define VHDX_TIB (1024ull * VHDX_GIB)

/* spec/vhdx.md §File layout */
#define VHDX_FILE_ID_SIGNATURE "vhdxfile"
#define VHDX_FILE_ID_SIZE (64 * VHDX_KIB)
#define VHDX_HEADER_OFFSET_1 (64 * VHDX_KIB)
#define VHDX_HEADER_OFFSET_2 (128 * VHDX_KIB)
#define VHDX_HEADER_SIZE 4096u
#define VHDX_REGION_TABLE_OFFSET (192 * VHDX_KIB)
#define VHDX_REGION_TABLE_OFFSET_2 (256 * VHDX_KIB)
#define VHDX_REGION_TABLE_SIZE (64 * VHDX_KIB)
#define VHDX_REGION_ENTRY_MAX 2047u
#define VHDX_METADATA_TABLE_SIZE (64 * VHDX_KIB)
#define VHDX_METADATA_ENTRY_MAX 2047u
#define VHDX_SECTOR_SIZE 4096u          /* the log's unit */
#define VHDX_MAX_IMAGE_SIZE (64 * VHDX_TIB)
#define VHDX_BLOCK_SIZE_MIN VHDX_MIB
#define VHDX_BLOCK_SIZE_MAX (256 * VHDX_MIB)
#define VHDX_CHUNK_FACTOR (1ull << 23)  /* chunk ratio = 2^23 * logical sector size / block size */

/* BAT entry states (low 3 bits) and the file offset field (bits 20..63, in MiB). */
enum {
    VHDX_BLOCK_NOT_PRESENT = 0,
    VHDX_BLOCK_UNDEFINED = 1,
    VHDX_BLOCK_ZERO = 2,
    VHDX_BLOCK_UNMAPPED = 3,
    VHDX_BLOCK_UNMAPPED_V095 = 5,
    VHDX_BLOCK_FULLY_PRESENT = 6,
    VHDX_BLOCK_PARTIALLY_PRESENT = 7,
};
#define VHDX_BAT_STATE_MASK 7ull
#define VHDX_BAT_OFFSET_MASK (~(VHDX_MIB - 1))

typedef struct vhdx_guid {
    uint8_t bytes[16];
} vhdx_guid;

/* One of the two headers (spec/vhdx.md §Header). */
typedef struct vhdx_header {
    uint32_t checksum;
    uint64_t sequence_number;
    vhdx_guid file_write_guid;
    vhdx_guid data_write_guid;
    vhdx_guid log_guid;
    uint16_t log_version;
    uint16_t version;
    uint32_t log_length;
    uint64_t log_offset;
} vhdx_header;

/* A region table entry (spec/vhdx.md §Region table). */
typedef struct vhdx_region {
    vhdx_guid guid;
    uint64_t file_offset;
    uint32_t length;
    uint32_t required;
} vhdx_region;

/* The metadata items qemu reads (spec/vhdx.md §Metadata). */
typedef struct vhdx_params {
    uint32_t block_size;
    bool leave_blocks_allocated;
    bool has_parent;
    uint64_t virtual_size;
    uint32_t logical_sector_size;
    uint32_t physical_sector_size;
    uint8_t page83[16];
} vhdx_params;

/* A log entry header (spec/vhdx.md §Log). */
typedef struct vhdx_log_entry {
    uint32_t checksum;
    uint32_t entry_length;
    uint32_t tail;
    uint64_t sequence_number;
    uint32_t descriptor_count;
    vhdx_guid log_guid;
    uint64_t flushed_file_offset;
    uint64_t last_file_offset;
} vhdx_log_entry;

/* A log descriptor: data ("desc": one 4 KiB sector) or zero ("zero": a zeroed range). */
typedef struct vhdx_log_descriptor {
    bool is_zero;
    uint32_t trailing_bytes;
    uint64_t leading_bytes;  /* data descriptors */
    uint64_t zero_length;    /* zero descriptors */
    uint64_t file_offset;
    uint64_t sequence_number;
} vhdx_log_descriptor;

extern const vhdx_guid vhdx_guid_bat_region;
extern const vhdx_guid vhdx_guid_metadata_region;
extern const vhdx_guid vhdx_guid_file_parameters;
extern const vhdx_guid vhdx_guid_virtual_disk_size;
extern const vhdx_guid vhdx_guid_page83;
extern const vhdx_guid vhdx_guid_logical_sector_size;
extern const vhdx_guid vhdx_guid_physical_sector_size;
extern const vhdx_guid vhdx_guid_parent_locator;

bool vhdx_guid_equal(const vhdx_guid *a, const vhdx_guid *b);
bool vhdx_guid_is_zero(const vhdx_guid *g);
/* A fresh random GUID (stored byte order). */
void vhdx_guid_generate(vhdx_guid *g);

/* ---- vhdx_header.c: pure parsers and encoders ---- */

/* Whether buf (size bytes) starts with the file type identifier. */
bool vhdx_file_id_valid(const uint8_t *buf, size_t size);
/* Writes the file type identifier block (VHDX_FILE_ID_SIZE bytes): signature and creator. */
void vhdx_file_id_write_data(uint8_t *buf);

/* Decodes a header sector (VHDX_HEADER_SIZE bytes); returns whether signature, checksum and version
 * make it a valid header as qemu judges one. */
bool vhdx_header_read_data(const uint8_t *buf, size_t size, vhdx_header *header);
/* Encodes header into buf (VHDX_HEADER_SIZE bytes, zeroed first) with its checksum. */
void vhdx_header_write_data(const vhdx_header *header, uint8_t *buf);

/* Decodes a region table (VHDX_REGION_TABLE_SIZE bytes): signature, checksum and count checked;
 * *count entries stored in regions (room for VHDX_REGION_ENTRY_MAX). Returns -1 when invalid. */
int vhdx_region_table_read_data(const uint8_t *buf, size_t size, vhdx_region *regions, uint32_t *count);
/* Encodes a region table of count entries (VHDX_REGION_TABLE_SIZE bytes) with its checksum. */
void vhdx_region_table_write_data(const vhdx_region *regions, uint32_t count, uint8_t *buf);

/* ---- vhdx_metadata.c ---- */

/* The metadata items qemu knows, in the order a new image lists them. */
enum {
    VHDX_ITEM_FILE_PARAMETERS,
    VHDX_ITEM_VIRTUAL_DISK_SIZE,
    VHDX_ITEM_PAGE83,
    VHDX_ITEM_LOGICAL_SECTOR_SIZE,
    VHDX_ITEM_PHYSICAL_SECTOR_SIZE,
    VHDX_ITEM_PARENT_LOCATOR,
    VHDX_ITEM_COUNT,
};

/* Where each known item lies, relative to the metadata region. */
typedef struct vhdx_metadata_items {
    bool present[VHDX_ITEM_COUNT];
    uint32_t offset[VHDX_ITEM_COUNT];
    uint32_t length[VHDX_ITEM_COUNT];
} vhdx_metadata_items;

/* Decodes the metadata table (VHDX_METADATA_TABLE_SIZE bytes at buf) of a region of region_length
 * bytes. Returns 0, -EINVAL (bad signature or count, duplicate or misplaced item) or -ENOTSUP (an
 * unknown required item, one of the five items missing), as qemu's open does. */
int vhdx_metadata_table_read_data(const uint8_t *buf, size_t size, uint32_t region_length, vhdx_metadata_items *items);
/* Decodes item kind from its bytes (length as the table says) into *params. */
void vhdx_metadata_item_decode(int kind, const uint8_t *bytes, uint32_t length, vhdx_params *params);
/* Checks decoded parameters as qemu's open does: 0, -EINVAL or -ENOTSUP. */
int vhdx_params_validate(const vhdx_params *params, bool has_parent_locator);
/* Encodes the metadata table and the five items of a new image into buf (VHDX_MIB bytes, zeroed). */
void vhdx_metadata_write_data(const vhdx_params *params, uint8_t *buf);

/* The chunk ratio (payload blocks per sector bitmap block). */
uint32_t vhdx_chunk_ratio(const vhdx_params *params);
/* Payload blocks covering the virtual size. */
uint32_t vhdx_data_block_count(const vhdx_params *params);
/* BAT entries qemu expects (32-bit arithmetic, as qemu computes it: a size of 0 asks for 2^23-1). */
uint32_t vhdx_bat_entry_count(const vhdx_params *params);
/* BAT index of payload block index. */
uint64_t vhdx_bat_index(const vhdx_params *params, uint64_t block);

/* ---- vhdx_log.c ---- */

/* Decodes a log entry header from its first sector; returns whether signature and sizes are sane
 * for a log of log_length bytes. */
bool vhdx_log_entry_read_data(const uint8_t *buf, size_t size, uint32_t log_length, vhdx_log_entry *entry);
/* Decodes descriptor index of an entry whose header sectors are buf (size bytes). Returns false on a
 * bad signature. */
bool vhdx_log_descriptor_read_data(const uint8_t *buf, size_t size, uint32_t index, vhdx_log_descriptor *desc);

/* ---- the open image ---- */
typedef struct vhdx_state {
    vhdx_header headers[2];
    int current;              /* index of the current header */
    vhdx_region bat_region;
    vhdx_region metadata_region;
    vhdx_params params;
    uint32_t chunk_ratio;
    uint64_t data_blocks;
    uint64_t bat_entries;
    uint8_t *bat;             /* bat_entries * 8 bytes, on-disk form */
    bool headers_updated;     /* this session's first write already rewrote the headers */
    bool log_replayed_on_open;
    uint32_t log_write_head;  /* where the next log entry goes, from the log's start */
    uint64_t log_sequence;    /* the next log entry's sequence number */
} vhdx_state;

/* Replays the log of the open image when the current header names one with valid entries: refuses
 * read-only nodes with qemu's message; sets *replayed. */
int vhdx_log_replay_if_needed(block_node *node, vhdx_state *s, bool *replayed, error **errp);
/* Writes count bytes of metadata at file_offset (4 KiB aligned sectors) through the log, then to
 * their place, then empties the log (qemu's write-and-flush). */
int vhdx_log_write_sectors(block_node *node, vhdx_state *s, uint64_t file_offset, const uint8_t *data,
                           uint32_t count, error **errp);
/* Rewrites both headers (the other one first), with log_guid (NULL: zero) and new write GUIDs. */
int vhdx_headers_update(block_node *node, vhdx_state *s, const vhdx_guid *log_guid, error **errp);

/* ---- vhdx_create.c ---- */
extern const option_desc vhdx_create_options[];
int vhdx_create(const char *filename, const option_list *options, error **errp);

/* ---- vhdx_check.c ---- */
/* Checks each present payload entry against the file and the log, BAT and metadata regions (qemu's
 * BAT check, at open and in check): reports each finding; returns how many were found.
 * stop_at_first: return after the first one (a normal open, which then fails). */
int64_t vhdx_bat_validate(block_node *node, vhdx_state *s, bool stop_at_first);
int vhdx_check(block_node *node, check_result *result, int fix, error **errp);

#endif
