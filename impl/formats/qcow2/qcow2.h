/* qcow2.h — the qcow2 format driver's shared definitions: on-disk constants, the header, the open-image
 * state and the functions the driver's files share (spec/qcow2.md). */
#ifndef QIMG_FORMATS_QCOW2_H
#define QIMG_FORMATS_QCOW2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../block/block.h"
#include "../common/format_cache.h"
#include "../common/format_io.h"
#include "../common/luks_block.h"

/* The one symbol the block registry uses. */
extern const block_driver block_driver_qcow2;

/* ---- on-disk constants (spec/qcow2.md §Header, §Tables) ---- */
#define QCOW2_MAGIC 0x514649fbu                 /* "QFI\xfb" */
#define QCOW2_HEADER_V2_LENGTH 72u
#define QCOW2_HEADER_V3_MIN_LENGTH 104u
#define QCOW2_HEADER_V3_LENGTH 112u             /* with compression_type and padding */
#define QCOW2_MIN_CLUSTER_BITS 9u
#define QCOW2_MAX_CLUSTER_BITS 21u
#define QCOW2_DEFAULT_CLUSTER_SIZE 65536u
#define QCOW2_MAX_L1_BYTES (32u * 1024 * 1024)
#define QCOW2_MAX_REFTABLE_BYTES (8u * 1024 * 1024)
#define QCOW2_MAX_SNAPSHOTS 65536u
#define QCOW2_SNAPSHOT_HEADER_SIZE 40u
#define QCOW2_MAX_BACKING_NAME 1023u
#define QCOW2_SUBCLUSTERS 32u

#define QCOW2_OFLAG_COPIED (1ull << 63)
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO 1ull
#define QCOW2_L1_OFFSET_MASK 0x00fffffffffffe00ull
#define QCOW2_L2_OFFSET_MASK 0x00fffffffffffe00ull
#define QCOW2_REFTABLE_OFFSET_MASK 0xfffffffffffffe00ull
#define QCOW2_BITMAP_ALL_ALLOC 0x00000000ffffffffull
#define QCOW2_BITMAP_ALL_ZERO 0xffffffff00000000ull

#define QCOW2_INCOMPAT_DIRTY (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2 (1ull << 4)
#define QCOW2_INCOMPAT_MASK 0x1full
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ull << 0)
#define QCOW2_AUTOCLEAR_BITMAPS (1ull << 0)
#define QCOW2_AUTOCLEAR_DATA_FILE_RAW (1ull << 1)
#define QCOW2_AUTOCLEAR_MASK 0x3ull

#define QCOW2_EXT_END 0x00000000u
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau
#define QCOW2_EXT_FEATURE_TABLE 0x6803f857u
#define QCOW2_EXT_CRYPTO_HEADER 0x0537be77u

/* crypt_method values and the encryption sector (spec/qcow2.md §Encryption) */
#define QCOW2_CRYPT_NONE 0u
#define QCOW2_CRYPT_AES 1u
#define QCOW2_CRYPT_LUKS 2u
#define QCOW2_CRYPT_SECTOR 512u

/* The open image's encryption: the legacy AES key, or the LUKS block. */
typedef struct qcow2_crypt {
    bool unlocked;             /* the key is known: data can be read and written */
    uint8_t aes_key[16];
    bool has_luks;
    luks_block luks;
} qcow2_crypt;

/* The encryption a create asks for. */
typedef struct qcow2_crypt_create_params {
    uint32_t method;           /* QCOW2_CRYPT_* */
    const char *key_secret;
    luks_create_request luks;
} qcow2_crypt_create_params;
#define QCOW2_EXT_BITMAPS 0x23852875u
#define QCOW2_EXT_DATA_FILE 0x44415441u

#define QCOW2_COMPRESSION_ZLIB 0u
#define QCOW2_COMPRESSION_ZSTD 1u

/* ---- the fixed header (spec/qcow2.md §Header) ---- */
typedef struct qcow2_header {
    uint32_t magic;
    uint32_t version;
    uint64_t backing_file_offset;
    uint32_t backing_file_size;
    uint32_t cluster_bits;
    uint64_t size;
    uint32_t crypt_method;
    uint32_t l1_size;
    uint64_t l1_table_offset;
    uint64_t refcount_table_offset;
    uint32_t refcount_table_clusters;
    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    uint64_t incompatible_features;
    uint64_t compatible_features;
    uint64_t autoclear_features;
    uint32_t refcount_order;
    uint32_t header_length;
    uint8_t compression_type;
} qcow2_header;

/* One header extension kept verbatim (unknown ones are preserved on rewrite). */
typedef struct qcow2_extension {
    uint32_t magic;
    uint32_t length;
    uint8_t *data;
} qcow2_extension;

/* Parses the fixed header from buf (buf_size bytes, at least 72). Returns 0 or -1 with qemu's text. */
int qcow2_header_read_data(const uint8_t *buf, size_t buf_size, qcow2_header *out, error **errp);
/* Serialises the fixed part of header into buf (72 bytes for v2, 112 for v3); returns the length. */
size_t qcow2_header_write_data(const qcow2_header *header, uint8_t *buf);

/* The subcluster/cluster type of a guest range (qemu's QCow2SubclusterType). */
typedef enum qcow2_type {
    QCOW2_TYPE_UNALLOCATED_PLAIN,
    QCOW2_TYPE_UNALLOCATED_ALLOC,
    QCOW2_TYPE_ZERO_PLAIN,
    QCOW2_TYPE_ZERO_ALLOC,
    QCOW2_TYPE_NORMAL,
    QCOW2_TYPE_COMPRESSED,
    QCOW2_TYPE_INVALID,
} qcow2_type;


/* One entry of the snapshot table (spec/qcow2.md §Snapshots). */
typedef struct qcow2_snapshot {
    uint64_t l1_table_offset;
    uint32_t l1_size;
    char *id;
    char *name;
    uint32_t date_sec;
    uint32_t date_nsec;
    uint64_t vm_clock_nsec;
    uint64_t vm_state_size;
    uint32_t extra_data_size;
    uint64_t disk_size;
    uint64_t icount;          /* UINT64_MAX: not recorded */
    uint8_t *unknown_extra;   /* extra data beyond the fields we know, kept verbatim */
    uint32_t unknown_extra_size;
} qcow2_snapshot;

typedef struct qcow2_bitmap qcow2_bitmap;

/* ---- the open image ---- */
typedef struct qcow2_state {
    int version;
    uint32_t cluster_bits;
    uint64_t cluster_size;
    int refcount_order;
    uint64_t refcount_bits;
    uint64_t refcount_max;
    uint32_t refcount_block_bits;   /* log2 of entries per refcount block */
    uint64_t refcount_block_entries;
    bool extended_l2;
    uint64_t l2_entry_size;         /* 8, or 16 with extended L2 */
    uint32_t l2_bits;               /* log2 of entries per L2 table */
    uint64_t l2_entries;
    uint64_t l2_slice_entries;      /* allocation runs stop at slice ends as qemu's do */
    uint64_t subcluster_size;
    uint32_t subcluster_bits;
    uint32_t csize_shift;
    uint64_t csize_mask;
    uint64_t cluster_offset_mask;

    uint64_t l1_table_offset;
    uint64_t l1_size;
    uint64_t *l1_table;
    uint64_t l1_vm_state_index;

    uint64_t refcount_table_offset;
    uint64_t refcount_table_entries;
    uint64_t *refcount_table;

    uint64_t free_cluster_index;
    uint64_t free_byte_offset;

    uint64_t incompatible_features;
    uint64_t compatible_features;
    uint64_t autoclear_features;
    uint8_t compression_type;
    uint32_t crypt_method;
    uint32_t nb_snapshots;
    uint64_t snapshots_offset;

    char *backing_file;        /* as recorded */
    char *backing_format;
    char *data_file_name;      /* external data file name as recorded */
    uint8_t *unknown_header_fields;
    size_t unknown_header_fields_size;
    qcow2_extension *unknown_extensions; /* in reading order; rewritten newest first like qemu */
    size_t unknown_extension_count;
    bool has_bitmaps_extension;
    uint32_t bitmap_count;
    uint64_t bitmap_directory_size;
    uint64_t bitmap_directory_offset;
    uint64_t crypto_header_offset;
    uint64_t crypto_header_length;
    qcow2_crypt *crypt;        /* NULL without encryption (or before it is opened) */

    block_node *data_node;     /* where guest data lives: node->file or the external data file */
    bool data_node_owned;

    format_cache l2_cache;
    format_cache refblock_cache;

    bool metadata_prealloc_checked;
    bool metadata_prealloc;
    bool writable;
    bool discard_freed;        /* punch holes for clusters whose refcount drops to 0 (snapshot/shrink frees) */
    bool discard_unmap;        /* opened with discard=unmap (BLOCK_OPEN_UNMAP): guest discards and zero writes
                                * that free clusters punch them (qemu's QCOW2_DISCARD_REQUEST passthrough) */
    bool bitmaps_extension_dropped; /* a bitmaps extension without the autoclear bit was ignored */
    bool bitmaps_loaded;
    bool signaled_corruption;
    bool metadata_writeback;   /* refcount and L2 updates stay in the caches until flushed (whole tables) */
    bool metadata_bulk;        /* writeback for a bulk copy (block_node_writeback_begin): refcounts grow first */
    /* compressed clusters decompressed ahead of the reader (qcow2_read): guest cluster i of the run
     * from inflated_start holds the data of L2 entry inflated_entries[i] */
    uint8_t *inflated;
    uint64_t inflated_start;
    uint64_t *inflated_entries;
    size_t inflated_count;
    bool unusable;             /* a fatal corruption was found: all I/O fails ("No medium found") */
    qcow2_bitmap *bitmaps;     /* in-memory bitmaps, newest first as qemu lists them */
    size_t bitmap_memory_count;
} qcow2_state;

/* Compressed clusters are (de)compressed in batches of at most 2 MiB of guest data and 64 clusters
 * (at least one cluster), so that memory stays bounded for any cluster size. */
#define QCOW2_COMPRESS_BATCH_BYTES (2u << 20)
#define QCOW2_COMPRESS_BATCH_CLUSTERS 64u
static inline size_t qcow2_compress_batch_clusters(uint64_t cluster_size)
{
    uint64_t count = QCOW2_COMPRESS_BATCH_BYTES / cluster_size;
    return count == 0 ? 1 : count > QCOW2_COMPRESS_BATCH_CLUSTERS ? QCOW2_COMPRESS_BATCH_CLUSTERS : (size_t)count;
}

/* ---- small helpers ---- */
static inline uint64_t qcow2_offset_into_cluster(const qcow2_state *s, uint64_t offset)
{
    return offset & (s->cluster_size - 1);
}
static inline uint64_t qcow2_start_of_cluster(const qcow2_state *s, uint64_t offset)
{
    return offset & ~(s->cluster_size - 1);
}
static inline uint64_t qcow2_size_to_clusters(const qcow2_state *s, uint64_t size)
{
    return (size + s->cluster_size - 1) >> s->cluster_bits;
}
static inline uint64_t qcow2_size_to_l1(const qcow2_state *s, uint64_t size)
{
    uint32_t shift = s->cluster_bits + s->l2_bits;
    return (size + (1ull << shift) - 1) >> shift;
}
static inline bool qcow2_has_data_file(const qcow2_state *s)
{
    return (s->incompatible_features & QCOW2_INCOMPAT_DATA_FILE) != 0;
}
static inline bool qcow2_data_file_is_raw(const qcow2_state *s)
{
    return (s->autoclear_features & QCOW2_AUTOCLEAR_DATA_FILE_RAW) != 0;
}

/* ---- header (qcow2_header.c) ---- */
/* Rewrites cluster 0 from the state (fixed header, extensions, backing file name). */
int qcow2_header_update(block_node *node, error **errp);
/* Reads the header extensions between start and end into the state. */
int qcow2_extensions_read(block_node *node, uint64_t start, uint64_t end, error **errp);
/* Names of the incompatible features in the image's feature table for the refusal message. */
char *qcow2_unsupported_features_text(block_node *node, uint64_t start, uint64_t end, uint64_t mask);
int qcow2_mark_dirty(block_node *node, bool dirty, error **errp);

/* ---- refcounts (qcow2_refcount.c) ---- */
uint64_t qcow2_refcount_array_get(const qcow2_state *s, const uint8_t *block, uint64_t index);
void qcow2_refcount_array_set(const qcow2_state *s, uint8_t *block, uint64_t index, uint64_t value);
int qcow2_refcount_get(block_node *node, uint64_t cluster_index, uint64_t *refcount, error **errp);
/* Adds (or, with decrease, subtracts) addend to every cluster of [offset, offset+length). */
int qcow2_refcount_update(block_node *node, uint64_t offset, uint64_t length, uint64_t addend, bool decrease,
                          error **errp);
/* Allocates size bytes of whole clusters (first fit from the free cluster index); returns the offset. */
int64_t qcow2_clusters_alloc(block_node *node, uint64_t size, error **errp);
/* Allocates up to count clusters at offset while they are free; returns how many. */
int64_t qcow2_clusters_alloc_at(block_node *node, uint64_t offset, uint64_t count, error **errp);
/* Sub-cluster byte allocation for compressed data. */
int64_t qcow2_bytes_alloc(block_node *node, uint64_t size, error **errp);
int qcow2_clusters_free(block_node *node, uint64_t offset, uint64_t size, error **errp);
/* Frees whatever an L2 entry references (normal cluster or compressed bytes). */
int qcow2_entry_free(block_node *node, uint64_t l2_entry, error **errp);
/* Reads the refcount table into the state. */
int qcow2_refcount_load(block_node *node, error **errp);
/* qemu's qcow2_refcount_metadata_size: bytes of refcount table and blocks for clusters. */
int64_t qcow2_refcount_metadata_size(int64_t clusters, uint64_t cluster_size, int refcount_order,
                                     bool generous_increase, uint64_t *refblock_count);
/* Sets up refcount structures covering the file up to start_offset plus additional clusters, placing the
 * new refcount table (and blocks) at start_offset; returns the first offset after them. */
int64_t qcow2_refcount_area(block_node *node, uint64_t start_offset, uint64_t additional_clusters, error **errp);

/* ---- cluster mapping (qcow2_cluster.c) ---- */
/* The whole-cluster type of an L2 entry (qemu's qcow2_get_cluster_type): for refcount walks. */
qcow2_type qcow2_cluster_type(const qcow2_state *s, uint64_t l2_entry);
/* The type of one subcluster (the whole cluster without extended L2). */
qcow2_type qcow2_entry_type(const qcow2_state *s, uint64_t l2_entry, uint64_t l2_bitmap, unsigned subcluster);
/* Loads the L2 table covering guest offset; NULL with *table_offset 0 when not allocated. */
int qcow2_l2_lookup(block_node *node, uint64_t guest_offset, uint8_t **table, uint64_t *table_offset,
                    error **errp);
uint64_t qcow2_l2_entry_get(const qcow2_state *s, const uint8_t *table, uint64_t index);
uint64_t qcow2_l2_bitmap_get(const qcow2_state *s, const uint8_t *table, uint64_t index);
/* Sets an entry (and bitmap) in a cached table and writes it through. */
int qcow2_l2_entry_set(block_node *node, uint8_t *table, uint64_t table_offset, uint64_t index, uint64_t entry,
                       uint64_t bitmap, error **errp);
/* Ensures a writable (COPIED) L2 table covers guest offset, allocating it as qemu's l2_allocate does. */
int qcow2_l2_prepare(block_node *node, uint64_t guest_offset, uint8_t **table, uint64_t *table_offset,
                     error **errp);
/* Grows the L1 table to at least min_size entries (exact: exactly). */
int qcow2_l1_grow(block_node *node, uint64_t min_size, bool exact, error **errp);
/* Writes active L1 entry index; refuses (marking the image corrupt) when it overlaps other metadata. */
int qcow2_l1_entry_write(block_node *node, uint64_t index, error **errp);
/* Maps guest offset: type, host offset (for data) and how many bytes share them (up to length). */
int qcow2_host_offset_get(block_node *node, uint64_t offset, uint64_t length, qcow2_type *type,
                          uint64_t *host_offset, uint64_t *bytes, uint64_t *l2_entry_out, error **errp);
int qcow2_parse_compressed_entry(const qcow2_state *s, uint64_t entry, uint64_t *host_offset, uint64_t *size);
/* The metadata structure a write of [offset, offset+size) would hit (qemu's overlap check), or NULL;
 * with_snapshots adds the snapshot table, inactive L1 tables and the bitmap directory. */
const char *qcow2_metadata_overlap(block_node *node, uint64_t offset, uint64_t size, bool with_snapshots);
/* The same, not counting the active L1 table (for writes to it). */
const char *qcow2_metadata_overlap_except(block_node *node, uint64_t offset, uint64_t size, bool with_snapshots,
                                          bool skip_active_l1);
/* Refuses (marking the image corrupt, "Preventing invalid write on metadata ...") a write of new metadata
 * to [offset, offset+size) that would overwrite existing metadata; 0 when the range is free of it. */
int qcow2_metadata_write_check(block_node *node, uint64_t offset, uint64_t size, error **errp);
/* Reports metadata damage as qemu does (and marks a writable image corrupt); returns -1. */
int qcow2_corruption_signal(block_node *node, bool fatal, error **errp, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int qcow2_read(block_node *node, uint64_t offset, size_t length, uint8_t *buf, error **errp);
int qcow2_write(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, int flags, error **errp);
/* Allocates host clusters for [offset, offset+length) without writing data (metadata preallocation). */
int qcow2_preallocate(block_node *node, uint64_t offset, uint64_t length, uint64_t *end_offset, error **errp);
int qcow2_write_zeroes(block_node *node, uint64_t offset, uint64_t length, int flags, error **errp);
int qcow2_discard(block_node *node, uint64_t offset, uint64_t length, error **errp);
/* Discards clusters; full: the range falls through to the backing file afterwards. */
int qcow2_cluster_discard(block_node *node, uint64_t offset, uint64_t length, bool full, error **errp);
int qcow2_zeroize(block_node *node, uint64_t offset, uint64_t length, int flags, error **errp);
int qcow2_block_status(block_node *node, uint64_t offset, uint64_t length, block_status_result *out,
                       error **errp);

/* ---- compression (qcow2_compress.c) ---- */
/* Compresses src into dest (at most dest_size bytes); returns the length, -2 when it does not fit. */
int qcow2_write_compressed(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, error **errp);

/* ---- create, measure (qcow2_create.c) ---- */
extern const option_desc qcow2_create_options[];
extern const option_desc qcow2_amend_options[];
int qcow2_create(const char *filename, const option_list *options, error **errp);
int qcow2_measure(const option_list *options, block_node *in, uint64_t size, measure_result *out, error **errp);

/* ---- resize, amend, backing (qcow2_amend.c) ---- */
int qcow2_truncate(block_node *node, uint64_t size, bool exact, block_preallocation prealloc, bool shrink_allowed,
                   error **errp);
int qcow2_amend(block_node *node, const option_list *options, bool force, error **errp);
int qcow2_change_backing_file(block_node *node, const char *backing_file, const char *backing_format,
                              error **errp);
int qcow2_make_empty(block_node *node, error **errp);

/* ---- check (qcow2_check.c) ---- */
int qcow2_check(block_node *node, check_result *result, int fix, error **errp);

/* ---- snapshots (qcow2_snapshot.c) ---- */
int qcow2_snapshots_read(block_node *node, qcow2_snapshot **out, size_t *count, uint64_t *table_size, error **errp);
void qcow2_snapshots_free(qcow2_snapshot *list, size_t count);
/* Writes a new snapshot table to fresh clusters and frees the old one (old_size bytes). */
int qcow2_snapshots_write(block_node *node, const qcow2_snapshot *list, size_t count, uint64_t old_size,
                          error **errp);
int qcow2_snapshot_list(block_node *node, snapshot_info **list, size_t *count, error **errp);
int qcow2_snapshot_create(block_node *node, const snapshot_info *info, error **errp);
int qcow2_snapshot_goto(block_node *node, const char *id_or_name, error **errp);
int qcow2_snapshot_delete(block_node *node, const char *id, const char *name, error **errp);
int qcow2_snapshot_load(block_node *node, const char *id, const char *name, error **errp);

/* ---- persistent bitmaps (qcow2_bitmap.c) ---- */
int qcow2_bitmaps_load(block_node *node, bool writable, error **errp);
int qcow2_bitmaps_store(block_node *node, error **errp);
void qcow2_bitmaps_release(block_node *node);
void qcow2_bitmaps_mark(block_node *node, uint64_t offset, uint64_t length);
void qcow2_bitmaps_resize(block_node *node, uint64_t size);
uint64_t qcow2_bitmaps_measure(block_node *node, uint64_t cluster_size);
json_value *qcow2_bitmaps_info(block_node *node);
int qcow2_bitmap_list(block_node *node, bitmap_info **list, size_t *count, error **errp);
int qcow2_bitmap_add(block_node *node, const char *name, uint32_t granularity, bool disabled, error **errp);
int qcow2_bitmap_remove(block_node *node, const char *name, error **errp);
int qcow2_bitmap_clear(block_node *node, const char *name, error **errp);
int qcow2_bitmap_set_enabled(block_node *node, const char *name, bool enabled, error **errp);
int qcow2_bitmap_read(block_node *node, const char *name, uint8_t **bits, uint64_t *bit_count, uint32_t *granularity,
                      error **errp);
int qcow2_bitmap_merge_bits(block_node *node, const char *name, const uint8_t *bits, uint64_t bit_count,
                            uint32_t granularity, error **errp);

/* ---- open (qcow2_driver.c) ---- */
int qcow2_open(block_node *node, option_list *options, int flags, error **errp);
void qcow2_close(block_node *node);

/* Starts write-back of refcount blocks and L2 tables through their caches (a long run of single-entry
 * updates); refcounts_first orders refcount blocks before the L2 tables that need them (increments),
 * otherwise L2 tables first (decrements), as qemu's cache dependencies do. */
void qcow2_metadata_writeback_begin(block_node *node, bool refcounts_first);
/* Writes every dirty table in that order and returns to write-through. */
int qcow2_metadata_writeback_end(block_node *node, error **errp);
/* Before a write that makes metadata reachable from outside the caches (an L1 entry, a refcount
 * table entry, the header) or before refcounts drop in a bulk copy: in write-back mode, writes the
 * cached L2 tables and refcount blocks back (refcounts first). 0, or -1 with *errp. */
int qcow2_metadata_barrier(block_node *node, error **errp);
/* The driver table's writeback_begin, writeback_end and flush. */
void qcow2_writeback_begin(block_node *node);
int qcow2_writeback_end(block_node *node, error **errp);
int qcow2_flush(block_node *node, error **errp);

/* Forgets the clusters decompressed ahead (any change of guest data or of the clusters it lives in). */
void qcow2_inflated_forget(qcow2_state *s);

/* ---- encryption (qcow2_crypt.c) ---- */
/* Checks the encrypt.* runtime options against the header's method, in qemu's words. */
int qcow2_crypt_options_check(const qcow2_state *s, const option_list *options, error **errp);
/* Checks the FDE extension's offset as qemu reads it. */
int qcow2_crypt_extension_check(const qcow2_state *s, error **errp);
/* Opens the header's encryption (after the extensions are read): the key from encrypt.key-secret
 * unless flags ask for metadata only. Returns 0, or -1 with *errp set. */
int qcow2_crypt_open(block_node *node, const option_list *options, int flags, error **errp);
void qcow2_crypt_close(qcow2_state *s);
/* Encrypts or decrypts length bytes (whole sectors) stored at host_offset for guest_offset. */
int qcow2_crypt_run(block_node *node, bool encrypt, uint64_t host_offset, uint64_t guest_offset, uint8_t *buf,
                    size_t length, error **errp);
/* Reads and decrypts length bytes of guest data stored at host_offset (any alignment). */
int qcow2_crypt_read(block_node *node, uint64_t host_offset, uint64_t guest_offset, size_t length, uint8_t *buf,
                     error **errp);
/* The "encrypt" object of info. */
json_value *qcow2_crypt_info(const qcow2_state *s);
/* Reads the encryption a create's options ask for, refusing what qemu refuses, in its words. */
int qcow2_crypt_create_params_parse(const option_list *options, qcow2_crypt_create_params *out, error **errp);
/* Sets up the encryption of a newly made image (qemu's qcow2_set_up_encryption). */
int qcow2_crypt_create(block_node *node, const qcow2_crypt_create_params *params, error **errp);
/* The bytes of whole clusters a LUKS header of the options takes (0 without LUKS). */
int qcow2_crypt_measure(const option_list *options, uint64_t cluster_size, uint64_t *header_bytes, error **errp);
/* Amends the encrypt.* key-slot options of an open, unlocked LUKS-encrypted image. */
int qcow2_crypt_amend(block_node *node, const option_list *options, bool force, error **errp);

#endif
