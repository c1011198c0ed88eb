/* block.h — the block layer: the driver table every format and protocol fills in, image nodes,
 * and the I/O entry points the commands use (spec/architecture.md §Block layer). */
#ifndef QIMG_BLOCK_BLOCK_H
#define QIMG_BLOCK_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"
#include "../util/json.h"
#include "../util/options.h"

typedef struct block_node block_node;
typedef struct block_driver block_driver;

/* ---- open flags ---- */
enum {
    BLOCK_OPEN_READ_WRITE = 1 << 0,   /* open for writing (takes the write permission and lock) */
    BLOCK_OPEN_NO_BACKING = 1 << 1,   /* do not open the backing chain */
    BLOCK_OPEN_FORCE_SHARE = 1 << 2,  /* -U: take no locks that exclude other writers */
    BLOCK_OPEN_CACHE_DIRECT = 1 << 3, /* cache=none/directsync: O_DIRECT */
    BLOCK_OPEN_NO_FLUSH = 1 << 4,     /* cache=unsafe: flushes are no-ops */
    BLOCK_OPEN_NO_IO = 1 << 5,        /* metadata only (info): encrypted images need no key */
    BLOCK_OPEN_CHECK = 1 << 6,        /* opened by check: tolerate damage the check reports */
    BLOCK_OPEN_PROBED = 1 << 7,       /* the format was guessed (raw: block 0 writes restricted) */
    BLOCK_OPEN_WRITE_THROUGH = 1 << 8,/* cache=writethrough/directsync: flush after each write */
    BLOCK_OPEN_REPAIR = 1 << 9,       /* check -r: opened read-write to repair */
    BLOCK_OPEN_NO_RESIZE_SHARE = 1 << 10, /* take (and refuse to share) the resize permission */
    BLOCK_OPEN_UNMAP = 1 << 11,       /* discard=unmap: clusters freed by the format are punched in the file */
    BLOCK_OPEN_WRITABLE_ASKED = 1 << 12, /* read-only=off given: force-share=on is refused */
    BLOCK_OPEN_NO_WRITE_SHARE = 1 << 13, /* the user lets nobody write or resize (convert sources, and their chains) */
    BLOCK_OPEN_MAY_GROW = 1 << 14,   /* writes may widen the file past its end (convert's target): no
                                      * aligned-size demand for O_DIRECT writers */
    BLOCK_OPEN_NATIVE_AIO = 1 << 15, /* aio=native asked by the command line (bench -n, -i native): the
                                      * file protocol refuses it without O_DIRECT, as for the option */
};

/* ---- write flags ---- */
enum {
    BLOCK_WRITE_MAY_UNMAP = 1 << 0,   /* write_zeroes may deallocate */
    BLOCK_WRITE_NO_FALLBACK = 1 << 1, /* write_zeroes must fail rather than write zero buffers */
    BLOCK_WRITE_FUA = 1 << 2,
};

/* ---- block status ---- */
enum {
    BLOCK_STATUS_DATA = 1 << 0,         /* reads come from this layer's data */
    BLOCK_STATUS_ZERO = 1 << 1,         /* reads return zeroes */
    BLOCK_STATUS_OFFSET_VALID = 1 << 2, /* map_offset/map_node say where the data lives */
    BLOCK_STATUS_ALLOCATED = 1 << 3,    /* set by the block layer: this layer decides the content */
    BLOCK_STATUS_RAW = 1 << 4,          /* driver is a pass-through: ask map_node at map_offset */
    BLOCK_STATUS_RECURSE = 1 << 5,      /* also ask map_node whether the data range reads as zeroes */
    BLOCK_STATUS_COMPRESSED = 1 << 6,
    BLOCK_STATUS_EOF = 1 << 7,          /* the range reaches the end of the node */
};

typedef struct block_status_result {
    uint64_t length;      /* bytes from offset sharing these flags (> 0 on success) */
    int flags;            /* BLOCK_STATUS_* */
    uint64_t map_offset;  /* with OFFSET_VALID: offset in map_node */
    block_node *map_node; /* with OFFSET_VALID: where the bytes are (usually node->file) */
} block_status_result;

/* ---- preallocation ---- */
typedef enum block_preallocation {
    BLOCK_PREALLOCATION_OFF,
    BLOCK_PREALLOCATION_METADATA,
    BLOCK_PREALLOCATION_FALLOC,
    BLOCK_PREALLOCATION_FULL,
} block_preallocation;

/* Parses "off|metadata|falloc|full"; -1 when unknown. */
int block_preallocation_parse(const char *text);
const char *block_preallocation_name(block_preallocation mode);

/* ---- check (the ImageCheck of qemu) ---- */
typedef struct check_result {
    int64_t corruptions;
    int64_t leaks;
    int64_t check_errors;
    int64_t corruptions_fixed;
    int64_t leaks_fixed;
    int64_t image_end_offset;
    int64_t total_clusters;
    int64_t allocated_clusters;
    int64_t fragmented_clusters;
    int64_t compressed_clusters;
    bool has_cluster_statistics; /* total_clusters > 0 print the statistics lines */
    bool data_aliases_metadata;  /* never printed: guest data shares bytes with the format's own
                                  * tables, damage qemu does not report either (writes then change
                                  * what other clusters read: the fuzz model does not hold) */
} check_result;

enum {
    CHECK_FIX_LEAKS = 1 << 0,
    CHECK_FIX_ERRORS = 1 << 1,
};

/* ---- measure ---- */
typedef struct measure_result {
    uint64_t required;
    uint64_t fully_allocated;
    bool has_bitmaps;
    uint64_t bitmaps;
} measure_result;

/* ---- snapshots ---- */
typedef struct snapshot_info {
    char *id;
    char *name;
    uint64_t vm_state_size;
    uint32_t date_sec;
    uint32_t date_nsec;
    uint64_t vm_clock_nsec;
    bool has_icount;
    uint64_t icount;
} snapshot_info;

void snapshot_info_list_free(snapshot_info *list, size_t count);

/* ---- persistent dirty bitmaps (as info lists them) ---- */
typedef struct bitmap_info {
    char *name;
    uint32_t granularity;
    bool in_use;
    bool auto_flag;      /* "auto": enabled, records writes */
    bool inconsistent;
} bitmap_info;

void bitmap_info_list_free(bitmap_info *list, size_t count);

/* ---- info (the ImageInfo/BlockNodeInfo of qemu) ---- */
typedef struct image_info {
    char *filename;
    char *format;
    uint64_t virtual_size;
    int64_t actual_size;          /* -1: unknown */
    bool has_cluster_size;
    uint64_t cluster_size;
    uint64_t subcluster_size;     /* allocation unit inside a cluster (extended L2); 0: unknown */
    bool encrypted;
    bool dirty_flag;
    char *backing_filename;        /* as recorded in the image */
    char *full_backing_filename;   /* resolved path */
    char *backing_filename_format;
    snapshot_info *snapshots;
    size_t snapshot_count;
    bool has_snapshots;            /* list snapshots (even an empty list) */
    json_value *format_specific_data; /* the "data" of "format-specific" (driver fills); NULL: none */
    const char *format_specific_type; /* the "type"; defaults to the format name */
    bool needs_compressed_writes;  /* every write must be compressed (vmdk streamOptimized) */
    bool has_no_driver_info;       /* the format reports no image info of its own (qemu drivers without
                                    * get_info, e.g. parallels): no "dirty-flag" is listed */
    bool has_no_discard;           /* the format never discards: --limits lists no "discard-alignment" */
    uint64_t max_write_zeroes;     /* --limits "max-write-zeroes" (the largest zero write); 0: not listed */
    bool has_no_alignment_limits;  /* the format sets no discard/zero-write alignment of its own (qemu
                                    * drivers without refresh_limits, e.g. vdi): --limits lists none */
} image_info;

void image_info_free(image_info *info);

/* ---- the driver table ---- */
struct block_driver {
    const char *format_name;   /* "qcow2", "raw", "file" ... */
    const char *protocol_name; /* protocol drivers: "file" */
    bool is_protocol;
    bool supports_backing;     /* format can have a backing file */
    bool is_read_only_format;  /* bochs, cloop, dmg */
    bool is_filter;
    bool shares_child_permissions; /* raw: the file child takes only what the image's user asks for */
    bool supports_copy_offload;    /* copies between images may go host file to host file (qemu's
                                    * copy_range: raw, qcow2); with any other format at either end
                                    * convert -C copies as without it */

    /* Probe: a score 0..100 that the first bytes (buf_size may be < 2048) are this format. */
    int (*probe)(const uint8_t *buf, size_t buf_size, const char *filename);

    /* Open node (node->file is already open for format drivers). options holds the
     * remaining driver options of --image-opts/json:. Sets node->size. */
    int (*open)(block_node *node, option_list *options, int flags, error **errp);
    void (*close)(block_node *node);

    /* Read length bytes at offset < node->size (the block layer clips to size and fills
     * past-end with zeroes). Unallocated ranges read from node->backing via block_node_read_backing. */
    int (*read)(block_node *node, uint64_t offset, size_t length, uint8_t *buf, error **errp);
    int (*write)(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, int flags, error **errp);
    /* Compressed write of whole clusters (convert -c); NULL: not supported. */
    int (*write_compressed)(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, error **errp);
    int (*write_zeroes)(block_node *node, uint64_t offset, uint64_t length, int flags, error **errp);
    int (*discard)(block_node *node, uint64_t offset, uint64_t length, error **errp);
    /* Status of [offset, offset+length) in this node only (the block layer walks the chain). */
    int (*block_status)(block_node *node, uint64_t offset, uint64_t length, block_status_result *out, error **errp);
    int (*flush)(block_node *node, error **errp);
    /* Keep the metadata changes of data writes in the format's caches, written back whole on a
     * flush, on writeback_end or when the caches are full, in the order crash consistency needs
     * (as qemu's qcow2 caches); NULL: metadata is written through. */
    void (*writeback_begin)(block_node *node);
    int (*writeback_end)(block_node *node, error **errp);
    /* Change the virtual size; exact: the file must be exactly that size (protocols). */
    int (*truncate)(block_node *node, uint64_t size, bool exact, block_preallocation prealloc, bool shrink_allowed,
                    error **errp);
    /* Whether a freshly created image reads as zeroes everywhere (qemu's has_zero_init);
     * NULL: true unless the node is a whole-disk encryption layer. */
    bool (*has_zero_init)(block_node *node);
    /* Bytes the node occupies on the host; -1 when unknown. */
    int64_t (*allocated_size)(block_node *node);

    /* Create: format options (the merged list of create_options and the protocol's). */
    const option_desc *create_options;
    int (*create)(const char *filename, const option_list *options, error **errp);

    /* Info: fill the driver's part (cluster size, format-specific data, dirty flag, ...). */
    int (*info_fill)(block_node *node, image_info *info, error **errp);

    int (*check)(block_node *node, check_result *result, int fix, error **errp);

    /* Measure: in is the source image or NULL with size_only set. */
    int (*measure)(const option_list *options, block_node *in, uint64_t size, measure_result *out, error **errp);

    const option_desc *amend_options;
    int (*amend)(block_node *node, const option_list *options, bool force, error **errp);

    /* Change the recorded backing file (rebase -u and commit). NULL name: none. */
    int (*change_backing_file)(block_node *node, const char *backing_file, const char *backing_format, error **errp);
    /* Make the image empty (commit without -d). */
    int (*make_empty)(block_node *node, error **errp);

    int (*snapshot_list)(block_node *node, snapshot_info **list, size_t *count, error **errp);
    int (*snapshot_create)(block_node *node, const snapshot_info *snapshot, error **errp);
    int (*snapshot_goto)(block_node *node, const char *id_or_name, error **errp);
    int (*snapshot_delete)(block_node *node, const char *id, const char *name, error **errp);
    /* Switch a read-only node to present a snapshot's contents (convert -l). */
    int (*snapshot_load)(block_node *node, const char *id, const char *name, error **errp);
    /* A driver without snapshots whose snapshot apply falls through to its file child: qemu
     * closes and reopens the driver around that attempt; this runs the reopen's side effects.
     * NULL: nothing happens. */
    void (*snapshot_fallback_reopen)(block_node *node);

    /* Whether this node can hold persistent bitmaps (qcow2: version 3 only); NULL: as
     * bitmap_list is set. */
    bool (*bitmaps_supported)(block_node *node);
    int (*bitmap_list)(block_node *node, bitmap_info **list, size_t *count, error **errp);
    int (*bitmap_add)(block_node *node, const char *name, uint32_t granularity, bool disabled, error **errp);
    int (*bitmap_remove)(block_node *node, const char *name, error **errp);
    int (*bitmap_clear)(block_node *node, const char *name, error **errp);
    int (*bitmap_set_enabled)(block_node *node, const char *name, bool enabled, error **errp);
    /* Reads bitmap name as a bit per granularity chunk over the virtual size (caller frees *bits). */
    int (*bitmap_read)(block_node *node, const char *name, uint8_t **bits, uint64_t *bit_count, uint32_t *granularity,
                       error **errp);
    /* ORs bits into bitmap name. */
    int (*bitmap_merge_bits)(block_node *node, const char *name, const uint8_t *bits, uint64_t bit_count,
                             uint32_t granularity, error **errp);
};

/* ---- nodes ---- */
#define BLOCK_NODE_CHILDREN_MAX 1024 /* vmdk lists each extent file (2 TiB of 2 GiB extents) */

typedef struct block_child {
    const char *name; /* "file", "data-file", ... */
    block_node *node;
} block_child;

struct block_node {
    const block_driver *driver;
    void *state;              /* driver-private */
    char *filename;           /* the name shown by info ("image:") */
    char *node_name;          /* "#blockNNN" style name, for messages that show it */
    block_node *file;         /* protocol child of a format node; NULL for protocols */
    block_node *backing;      /* opened backing image or NULL */
    block_child children[BLOCK_NODE_CHILDREN_MAX]; /* extra children shown by info (data-file) */
    size_t child_count;
    char *backing_file;       /* backing file name recorded in the image (NULL: none) */
    char *backing_format;     /* backing format recorded in the image (NULL: none) */
    char *full_backing_file;  /* backing_file resolved against the image's folder */
    uint64_t size;            /* virtual size in bytes */
    int flags;                /* BLOCK_OPEN_* the node was opened with */
    bool read_only;
    bool encrypted;
    uint32_t request_alignment; /* protocol: smallest I/O unit (512 for O_DIRECT, 1 otherwise) */
    int fd;                   /* protocol file: the descriptor, else -1 */
    const uint8_t *memory;    /* memory protocol: the bytes, else NULL */
    bool abandoned;           /* closing without the format's close-time writes (block_node_abandon) */
    bool streaming;           /* written once from start to end (convert's target): see block_node_streaming_set */
    uint64_t streamed;        /* bytes written since the host last was asked to start writing back */
    uint64_t streamed_low;    /* the range those bytes were written in */
    uint64_t streamed_high;
};

/* ---- I/O entry points (bounds-checked; they dispatch to the driver) ---- */
int block_node_read(block_node *node, uint64_t offset, size_t length, uint8_t *buf, error **errp);
int block_node_write(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, int flags, error **errp);
int block_node_write_compressed(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, error **errp);
int block_node_write_zeroes(block_node *node, uint64_t offset, uint64_t length, int flags, error **errp);
int block_node_discard(block_node *node, uint64_t offset, uint64_t length, error **errp);
int block_node_flush(block_node *node, error **errp);
/* A bulk copy into node begins: its format may keep metadata changes in its caches until
 * block_node_writeback_end (or a flush, or closing) writes them back whole. */
void block_node_writeback_begin(block_node *node);
/* Writes back what block_node_writeback_begin let the caches keep; 0, or -1 with *errp. */
int block_node_writeback_end(block_node *node, error **errp);
int block_node_truncate(block_node *node, uint64_t size, bool exact, block_preallocation prealloc, bool shrink_allowed,
                        error **errp);
/* Current length: virtual size for formats, file length for protocols (refreshed). */
int64_t block_node_length(block_node *node);
int64_t block_node_allocated_size(block_node *node);

/* Copies length bytes of src's guest data at src_offset to dst at dst_offset, offloading to the host
 * (copy_file_range) when both ends resolve to plain host files, else by reading and writing
 * (convert -C). */
int block_node_copy_range(block_node *src, uint64_t src_offset, block_node *dst, uint64_t dst_offset,
                          uint64_t length, error **errp);

/* Whether node, freshly created, reads as zeroes everywhere. */
bool block_node_has_zero_init(block_node *node);
/* Whether the node can hold persistent dirty bitmaps (qemu's bdrv_supports_persistent_dirty_bitmap). */
bool block_node_supports_persistent_bitmaps(block_node *node);
/* Whether every write to node must be a compressed write (asks the driver's info). */
bool block_node_needs_compressed_writes(block_node *node);

/* Reads from node->backing for an unallocated range of node: zeroes without a backing file
 * and past the backing file's end. */
int block_node_read_backing(block_node *node, uint64_t offset, size_t length, uint8_t *buf, error **errp);

/* Status of node alone, with ALLOCATED set and protocol refinement applied (qemu's bdrv_block_status). */
int block_node_status(block_node *node, uint64_t offset, uint64_t length, block_status_result *out, error **errp);
/* Status looked up through the backing chain from node down (exclusive of base; base NULL: whole chain).
 * *depth receives how many backing levels were descended. */
int block_node_status_above(block_node *node, block_node *base, uint64_t offset, uint64_t length,
                            block_status_result *out, int *depth, error **errp);
/* True when [offset, offset+length) is allocated in node or a layer above base (qemu's is_allocated_above);
 * *pnum receives the extent with the same answer. */
int block_node_is_allocated_above(block_node *node, block_node *base, uint64_t offset, uint64_t length,
                                  uint64_t *pnum, bool *allocated, error **errp);

/* Frees node, its children and its backing chain. */
void block_node_close(block_node *node);

/* Marks node and the protocol files under it as written once, start to end (convert's target):
 * the file protocol then asks the host to start writing back every few MiB, so the data goes to
 * the disk while the copy goes on instead of all at the end (nothing waits for it: it is no flush). */
void block_node_streaming_set(block_node *node);

/* A host file, as the kernel names it. */
typedef struct block_file_identity {
    uint64_t device;
    uint64_t inode;
} block_file_identity;

/* Appends to ids (which holds *count of at most max) the host files under node: its protocol
 * file, its other children and, when backing is set, its backing chain's. Returns false when they
 * do not fit or one cannot be identified (callers then assume files are shared). */
bool block_node_file_identities(const block_node *node, bool backing, block_file_identity *ids, size_t max,
                                size_t *count);

/* Whether a host file that writes to target reach (not its read-only backing chain) is also one
 * that reads of source (with its backing chain) reach; true when it cannot tell. Reads of source
 * may then not overlap writes to target in time. */
bool block_node_files_shared(const block_node *target, const block_node *source);
/* Frees node like block_node_close, but the format skips what it writes only when an image is
 * closed (parallels: clearing the in-use mark, trimming the file): what qemu-img leaves behind
 * when a command fails and exits with the image still open. Data already written stays. */
void block_node_abandon(block_node *node);
/* Creates an empty node bound to driver (used by open paths and drivers). */
block_node *block_node_new(const block_driver *driver, const char *filename);
/* Names node the way qemu names an image opened with options a plain file name cannot carry:
 * "json:" and the compact JSON of options (a format's own keys, in qemu's order) followed by
 * "file": {driver, filename} of its protocol child. Takes ownership of options. */
/* A {"driver": ..., "filename": ...} object naming a protocol node, as json: names list one. */
json_value *block_node_protocol_object(const block_node *protocol);

/* Names node "json:" + the compact text of options (taken and freed), keys in their given order. */
void block_node_json_name_take(block_node *node, json_value *options);

void block_node_json_name_set(block_node *node, json_value *options);
/* Names node "json:" of one option (key: value, as a secret id) and its driver and file, the name
 * qemu shows for an image opened with an option that changes how it reads. */
void block_node_json_name_set_option(block_node *node, const char *key, const char *value);
/* Adds a named child that info lists (the node keeps ownership). */
void block_node_add_child(block_node *node, const char *name, block_node *child);

/* ---- drivers ---- */
const block_driver *block_driver_find(const char *format_name);
const block_driver *block_driver_find_protocol(const char *filename);
/* Every format driver, NULL-terminated, in registration order. */
const block_driver *const *block_driver_all(void);
/* The best-scoring format for the first bytes of a file (raw when nothing else claims it). */
const block_driver *block_driver_probe(const uint8_t *buf, size_t buf_size, const char *filename);

#endif
