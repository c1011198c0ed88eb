/* qed.h — the QED driver's shared declarations: the on-disk header, its validation, and the open
 * image's state (spec/qed.md §Header, §Tables). */
#ifndef QIMG_FORMATS_QED_QED_H
#define QIMG_FORMATS_QED_QED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../block/block.h"
#include "../common/format_cache.h"
#include "../common/format_table.h"

#define QED_MAGIC 0x00444551u            /* "QED\0" read little endian */
#define QED_HEADER_LENGTH 64u            /* bytes of the header fields, backing name fields included */
#define QED_MIN_CLUSTER_SIZE 4096u
#define QED_MAX_CLUSTER_SIZE (64u * 1024 * 1024)
#define QED_MIN_TABLE_SIZE 1u
#define QED_MAX_TABLE_SIZE 16u
#define QED_DEFAULT_CLUSTER_SIZE 65536u
#define QED_DEFAULT_TABLE_SIZE 4u

#define QED_F_BACKING_FILE 0x01ull
#define QED_F_NEED_CHECK 0x02ull
#define QED_F_BACKING_FORMAT_NO_PROBE 0x04ull
#define QED_FEATURE_MASK (QED_F_BACKING_FILE | QED_F_NEED_CHECK | QED_F_BACKING_FORMAT_NO_PROBE)

/* L2 entries with a special meaning. */
#define QED_ENTRY_UNALLOCATED 0ull
#define QED_ENTRY_ZERO 1ull

/* The header fields (spec/qed.md §Header). */
typedef struct qed_header {
    uint32_t magic;
    uint32_t cluster_size;
    uint32_t table_size;
    uint32_t header_size;
    uint64_t features;
    uint64_t compat_features;
    uint64_t autoclear_features;
    uint64_t l1_table_offset;
    uint64_t image_size;
    uint32_t backing_filename_offset;
    uint32_t backing_filename_size;
} qed_header;

/* What opening finds wrong with a header, in the order qemu 10.2 tests it. */
typedef enum qed_header_fault {
    QED_HEADER_VALID,
    QED_HEADER_BAD_MAGIC,
    QED_HEADER_UNKNOWN_FEATURES,
    QED_HEADER_BAD_CLUSTER_SIZE,
    QED_HEADER_BAD_TABLE_SIZE,
    QED_HEADER_BAD_IMAGE_SIZE,
    QED_HEADER_BAD_TABLE_OFFSET,
    QED_HEADER_BAD_BACKING_NAME,
} qed_header_fault;

/* Decodes the first QED_HEADER_LENGTH bytes of buf (missing bytes read as zero). */
void qed_header_read_data(const uint8_t *buf, size_t length, qed_header *header);
/* Encodes header into the QED_HEADER_LENGTH bytes at buf. */
void qed_header_write_data(const qed_header *header, uint8_t *buf);

/* Whether cluster_size is a power of two in [4 KiB, 64 MiB]. */
bool qed_cluster_size_valid(uint64_t cluster_size);
/* Whether table_size is a power of two in [1, 16]. */
bool qed_table_size_valid(uint64_t table_size);
/* The largest image the tables can map: entries per table squared times the cluster size, computed
 * modulo 2^64 as qemu computes it. */
uint64_t qed_max_image_size(uint64_t cluster_size, uint64_t table_size);
/* Whether image_size is a multiple of 512 no larger than qed_max_image_size. */
bool qed_image_size_valid(uint64_t image_size, uint64_t cluster_size, uint64_t table_size);
/* Whether a table at offset lies wholly inside a file of file_size bytes (qemu's file length, rounded
 * up to 512), is cluster aligned and begins after the header. A one-cluster table is never valid
 * (what 10.2 answers for every image of table_size 1). */
bool qed_table_offset_valid(const qed_header *header, uint64_t offset, uint64_t file_size);
/* Whether a data cluster offset is aligned, after the header and lies wholly inside the file. */
bool qed_cluster_offset_valid(const qed_header *header, uint64_t offset, uint64_t file_size);
/* Validates a decoded header against the file size as qemu's open does; the first fault found. */
qed_header_fault qed_header_validate(const qed_header *header, uint64_t file_size);
/* qemu's message for a fault (features: the unknown bits, printed in hex). */
int qed_header_fault_error(qed_header_fault fault, const qed_header *header, error **errp);

/* The open image. */
typedef struct qed_state {
    qed_header header;
    uint32_t cluster_bits;
    uint32_t table_bits;          /* log2 of entries per table */
    uint64_t table_entries;       /* entries per L1 or L2 table */
    uint64_t table_bytes;         /* bytes per table (table_size clusters) */
    uint64_t *l1_table;           /* decoded L1 entries */
    format_table_layout layout;   /* 8-byte little-endian entries, table_entries at most */
    format_cache l2_cache;        /* L2 tables in their on-disk form */
    uint64_t file_end;            /* where the next cluster is allocated (cluster aligned) */
    bool writable;
    bool need_check_set;          /* this session set QED_F_NEED_CHECK and clears it on flush/close */
} qed_state;

extern const block_driver block_driver_qed;
extern const option_desc qed_create_options[];

/* qemu's file size: the file length rounded up to 512. */
uint64_t qed_file_size(block_node *node);
/* Writes the header (the first QED_HEADER_LENGTH bytes). */
int qed_header_update(block_node *node, error **errp);

/* Reads guest bytes: data clusters from the file, zero clusters as zeroes, unallocated ones from the
 * backing file; an entry pointing where it may not fails with "Invalid argument" (ERROR_KIND_CORRUPT). */
int qed_read(block_node *node, uint64_t offset, size_t length, uint8_t *buf, error **errp);
/* Writes guest bytes, allocating data clusters (then a missing L2 table) at the end of the file. */
int qed_write(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, int flags, error **errp);
/* Zeroes guest bytes: whole unallocated clusters become zero clusters, the rest is written. */
int qed_write_zeroes(block_node *node, uint64_t offset, uint64_t length, int flags, error **errp);
/* The run at offset: data (with its host offset), zero, or unallocated (0: the block layer asks the
 * backing file), never past the end of one L2 table. */
int qed_block_status(block_node *node, uint64_t offset, uint64_t length, block_status_result *out, error **errp);
/* Clears the need-check mark this session set. */
int qed_flush(block_node *node, error **errp);
/* qemu's QED check (spec/qed.md §Check): fix (any CHECK_FIX_* bit) clears invalid offsets and the
 * need-check mark; leaks and duplicates are only reported. */
int qed_check(block_node *node, check_result *result, int fix, error **errp);
/* Creates filename as a QED image from the merged creation options. */
int qed_create(const char *filename, const option_list *options, error **errp);
/* Grows the image (rewrites image_size); shrinking and preallocation are refused as qemu words it. */
int qed_truncate(block_node *node, uint64_t size, bool exact, block_preallocation prealloc, bool shrink_allowed,
                 error **errp);
/* Records a new backing file name and format in the header (NULL or "": none). */
int qed_change_backing_file(block_node *node, const char *backing_file, const char *backing_format, error **errp);

#endif
