/* qcow.h — the QCOW version 1 driver: on-disk constants, the parsed header, the open state and the
 * functions its files share (spec/qcow.md). */
#ifndef QIMG_FORMATS_QCOW_QCOW_H
#define QIMG_FORMATS_QCOW_QCOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../block/block.h"
#include "../common/format_cache.h"
#include "../common/format_crypt.h"
#include "../common/format_io.h"

#define QCOW_MAGIC 0x514649fbu           /* "QFI\xfb" */
#define QCOW_VERSION 1u
#define QCOW_HEADER_SIZE 48u
#define QCOW_MIN_CLUSTER_BITS 9u
#define QCOW_MAX_CLUSTER_BITS 16u
#define QCOW_MIN_L2_BITS 6u              /* L2 tables of 512 bytes */
#define QCOW_MAX_L2_BITS 13u             /* L2 tables of 64 KiB */
#define QCOW_CRYPT_NONE 0u
#define QCOW_CRYPT_AES 1u
#define QCOW_MAX_BACKING_NAME 1023u
#define QCOW_MAX_L1_ENTRIES 268435455ull /* INT_MAX / 8: qemu's "Image too large" bound */
#define QCOW_MAX_L1_READ 2147483136ull   /* the largest single read qemu issues (INT_MAX & ~511) */
#define QCOW_COMPRESSED_FLAG (1ull << 63)
#define QCOW_SECTOR_SIZE 512u

/* The 48-byte header, decoded (all fields big endian on disk). */
typedef struct qcow_header {
    uint32_t magic;
    uint32_t version;
    uint64_t backing_file_offset;
    uint32_t backing_file_size;
    uint32_t mtime;
    uint64_t size;
    uint8_t cluster_bits;
    uint8_t l2_bits;
    uint16_t padding;
    uint32_t crypt_method;
    bool crypt_active;        /* a key was given: data sectors are AES encrypted */
    uint8_t key[FORMAT_CRYPT_KEY_SIZE];
    uint64_t l1_table_offset;
} qcow_header;

/* Why a header cannot be opened (in the order qemu tests it). */
typedef enum qcow_header_fault {
    QCOW_HEADER_OK,
    QCOW_HEADER_BAD_MAGIC,
    QCOW_HEADER_BAD_VERSION,
    QCOW_HEADER_SIZE_TOO_SMALL,
    QCOW_HEADER_BAD_CLUSTER_BITS,
    QCOW_HEADER_BAD_L2_BITS,
    QCOW_HEADER_BAD_CRYPT_METHOD,
    QCOW_HEADER_TOO_LARGE,
} qcow_header_fault;

/* Decodes the header from the first size bytes of buf (missing bytes read as zero). */
void qcow_header_read_data(const uint8_t *buf, size_t size, qcow_header *header);
/* Encodes header into the first QCOW_HEADER_SIZE bytes of buf. */
void qcow_header_write_data(const qcow_header *header, uint8_t *buf);
/* The first fault of the header, in qemu's order; QCOW_HEADER_TOO_LARGE is tested last (the caller
 * runs the key check before reporting it, as qemu does). Fills *l1_size unless the size is too large. */
qcow_header_fault qcow_header_validate(const qcow_header *header, uint64_t *l1_size);
/* qemu's message for fault (version names header->version). Caller frees. */
char *qcow_header_fault_message(qcow_header_fault fault, const qcow_header *header);
/* The number of L1 entries covering size bytes with 2^(cluster_bits + l2_bits) bytes per entry. */
uint64_t qcow_l1_entries(uint64_t size, unsigned cluster_bits, unsigned l2_bits);

/* A decoded L2 entry. */
typedef enum qcow_entry_kind {
    QCOW_ENTRY_UNALLOCATED,
    QCOW_ENTRY_NORMAL,
    QCOW_ENTRY_COMPRESSED,
} qcow_entry_kind;

typedef struct qcow_entry {
    qcow_entry_kind kind;
    uint64_t offset;      /* host offset of the cluster (or of the compressed bytes) */
    uint64_t compressed_size; /* bytes of deflate data (compressed entries) */
} qcow_entry;

/* Decodes an L2 entry of an image with 2^cluster_bits-byte clusters. */
qcow_entry qcow_entry_decode(uint64_t raw, unsigned cluster_bits);
/* Encodes a compressed L2 entry. */
uint64_t qcow_entry_encode_compressed(uint64_t offset, uint64_t size, unsigned cluster_bits);

/* Open state. The L1 table is held only as far as the file holds it (entries past the end of the file
 * read as zero, as qemu reads them), so memory follows the file size, never the header. */
typedef struct qcow_state {
    unsigned cluster_bits;
    unsigned l2_bits;
    uint64_t cluster_size;
    uint64_t l2_entries;
    uint64_t l2_bytes;
    uint64_t l1_size;         /* entries the header's size implies */
    uint64_t l1_table_offset;
    uint64_t *l1_table;       /* l1_loaded entries */
    uint64_t l1_loaded;
    uint64_t *l1_extra;       /* (index, value) pairs set past l1_loaded (truncated files only) */
    size_t l1_extra_count;
    uint32_t crypt_method;
    bool crypt_active;        /* a key was given: data sectors are AES encrypted */
    uint8_t key[FORMAT_CRYPT_KEY_SIZE];
    format_cache l2_cache;    /* L2 tables, written through */
    bool writable;
} qcow_state;

/* Looks up the L2 entry of the cluster holding guest offset (unallocated when there is no L2 table). */
int qcow_cluster_lookup(block_node *node, uint64_t offset, qcow_entry *entry, error **errp);

/* Reads guest bytes: unallocated clusters from the backing file, compressed ones inflated, encrypted
 * ones decrypted. */
int qcow_read(block_node *node, uint64_t offset, size_t length, uint8_t *buf, error **errp);
/* Writes guest bytes: in place into allocated clusters, else into clusters (and L2 tables) appended at
 * the end of the file (spec/qcow.md §Allocation). */
int qcow_write(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, int flags, error **errp);
/* Writes whole clusters (the image's last one may be partial) deflated, one by one; "Invalid argument"
 * for anything else (an empty or unaligned request). */
int qcow_write_compressed(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, error **errp);
/* Allocation status of this node alone from offset: one cluster within an L2 table (as qemu answers),
 * or the whole run of empty L1 entries. */
int qcow_block_status(block_node *node, uint64_t offset, uint64_t length, block_status_result *out, error **errp);
/* Drops every cluster: zeroes the L1 table and cuts the file right after it (commit). */
int qcow_make_empty(block_node *node, error **errp);

/* The create options in qemu's order. */
extern const option_desc qcow_create_options[];
/* Creates filename as an empty qcow image (checks and layout in spec/qcow.md §Creation). */
int qcow_create(const char *filename, const option_list *options, error **errp);

/* The driver table (registered through impl/block/registry.c). */
extern const block_driver block_driver_qcow;

#endif
