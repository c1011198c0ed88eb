/* vmdk.h — the VMware VMDK format as qemu 10.2 reads and writes it: hosted sparse extent header,
 * grain directory/tables, stream markers, the text descriptor and the open image state
 * (spec/vmdk.md §Sparse header, §Descriptor, §Grain tables). */
#ifndef QIMG_FORMATS_VMDK_H
#define QIMG_FORMATS_VMDK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../block/block.h"
#include "../../util/error.h"

#define VMDK_SECTOR_SIZE 512u
#define VMDK_MAX_GRAIN_SECTORS 0x200000u /* qemu's bound on a grain: 1 GiB ("Invalid granularity") */
#define VMDK4_MAGIC 0x564d444bu              /* "KDMV" little endian */
#define VMDK3_MAGIC 0x44574f43u              /* "COWD" read little endian */
#define VMDK4_HEADER_BYTES 512u
#define VMDK4_FLAG_NEWLINE_TEST (1u << 0)
#define VMDK4_FLAG_REDUNDANT_GT (1u << 1)
#define VMDK4_FLAG_ZERO_GRAIN (1u << 2)
#define VMDK4_FLAG_COMPRESS (1u << 16)
#define VMDK4_FLAG_MARKER (1u << 17)
#define VMDK4_GD_AT_END 0xffffffffffffffffull
#define VMDK4_COMPRESSION_DEFLATE 1u
#define VMDK_GTE_ZEROED 1u                   /* grain table entry: the grain reads as zeroes */
#define VMDK_MARKER_EOS 0u
#define VMDK_MARKER_GT 1u
#define VMDK_MARKER_GD 2u
#define VMDK_MARKER_FOOTER 3u
#define VMDK_DEFAULT_GRAIN_SECTORS 128u      /* 64 KiB grains */
#define VMDK_DEFAULT_GTES 512u               /* grain table entries per table */
#define VMDK_DESCRIPTOR_SECTORS 20u          /* the embedded descriptor qemu reserves */
#define VMDK_DESCRIPTOR_MAX (1u << 20)       /* largest descriptor file read */
#define VMDK_SPLIT_EXTENT_BYTES (2ull << 30)    /* twoGbMax... extents hold 2 GiB each */
#define VMDK_L1_BYTES_MAX (512u << 20)       /* qemu's bound on the grain directory */
#define VMDK_MAX_EXTENTS 4096u

/* The hosted sparse extent header (spec/vmdk.md §Sparse header), decoded. */
typedef struct vmdk_sparse_header {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint64_t capacity;          /* sectors */
    uint64_t grain_size;        /* sectors */
    uint64_t desc_offset;       /* sectors */
    uint64_t desc_size;         /* sectors */
    uint32_t num_gtes_per_gt;
    uint64_t rgd_offset;        /* sectors */
    uint64_t gd_offset;         /* sectors (VMDK4_GD_AT_END: in the footer) */
    uint64_t overhead;          /* sectors */
    uint8_t unclean_shutdown;
    uint8_t newline_chars[4];   /* '\n', ' ', '\r', '\n' */
    uint16_t compress_algorithm;
} vmdk_sparse_header;

/* Decodes a sparse extent header from buf (size bytes; missing bytes read as zero). */
void vmdk_sparse_header_read_data(const uint8_t *buf, size_t size, vmdk_sparse_header *header);
/* Encodes header into buf (VMDK4_HEADER_BYTES bytes, zero padding). */
void vmdk_sparse_header_write_data(const vmdk_sparse_header *header, uint8_t *buf);

/* The VMDK3 (COWD) header fields qemu uses. */
typedef struct vmdk_cowd_header {
    uint32_t version;
    uint32_t flags;
    uint32_t disk_sectors;
    uint32_t granularity;
    uint32_t l1dir_offset;
    uint32_t l1dir_size;
} vmdk_cowd_header;

/* Decodes a COWD header (after the 4 magic bytes are checked by the caller). */
void vmdk_cowd_header_read_data(const uint8_t *buf, size_t size, vmdk_cowd_header *header);

/* One extent line of a descriptor. */
typedef enum vmdk_extent_type {
    VMDK_EXTENT_FLAT,
    VMDK_EXTENT_SPARSE,
    VMDK_EXTENT_ZERO,
    VMDK_EXTENT_VMFS,
    VMDK_EXTENT_VMFSSPARSE,
} vmdk_extent_type;

typedef struct vmdk_extent_line {
    char *access;               /* "RW", "RDONLY", "NOACCESS" */
    uint64_t sectors;
    char *type;                 /* as written: "SPARSE", "FLAT", ... */
    vmdk_extent_type kind;
    char *filename;             /* between the quotes */
    uint64_t offset;            /* flat extents: sectors into the file */
} vmdk_extent_line;

/* The descriptor, parsed (spec/vmdk.md §Descriptor). */
typedef struct vmdk_descriptor {
    bool has_cid;
    uint32_t cid;
    bool has_parent_cid;
    uint32_t parent_cid;
    char *create_type;          /* NULL: none */
    char *parent_hint;          /* parentFileNameHint; NULL: none */
    bool parent_hint_invalid;   /* parentFileNameHint= without a quoted name */
    vmdk_extent_line *extents;
    size_t extent_count;
} vmdk_descriptor;

/* Parses descriptor text (length bytes, NUL bytes end it). Extent lines are kept only when
 * want_extents. Errors carry qemu's messages; the caller frees with vmdk_descriptor_free. */
int vmdk_descriptor_parse(const char *text, size_t length, bool want_extents, vmdk_descriptor *desc, error **errp);
void vmdk_descriptor_free(vmdk_descriptor *desc);

/* What the descriptor qemu writes says (spec/vmdk.md §Descriptor as created). */
typedef struct vmdk_descriptor_layout {
    uint32_t cid;
    uint32_t parent_cid;
    const char *create_type;
    const char *parent_hint;    /* NULL: no parentFileNameHint line */
    const char *extent_lines;   /* every "RW ..." line, each with its newline */
    const char *hw_version;
    uint64_t cylinders;
    unsigned heads;
    const char *adapter_type;
    const char *tools_version;
} vmdk_descriptor_layout;

/* The descriptor text qemu writes for layout (caller frees). */
char *vmdk_descriptor_format(const vmdk_descriptor_layout *layout);

/* Replaces the value of "key=" (a top-level line such as CID or parentCID) in text with value;
 * returns a new string, or NULL when the key is absent. */
char *vmdk_descriptor_set_value(const char *text, const char *key, const char *value);

/* ---- the open image ---- */
typedef struct vmdk_extent {
    vmdk_extent_type kind;
    bool is_cowd;
    block_node *file;
    bool file_borrowed;      /* the extent does not close file: it is node->file, or a child of the node */
    char *type_name;         /* the descriptor's type word; NULL for a monolithic sparse image */
    uint64_t sectors;        /* guest sectors this extent holds */
    uint64_t end_sector;     /* guest sector where it ends */
    uint64_t flat_offset;    /* flat: byte offset in the file */
    /* sparse */
    uint32_t version;
    bool compressed;
    bool has_marker;
    bool has_zero_grain;
    uint64_t cluster_sectors;
    uint32_t gtes_per_gt;
    uint64_t l1_size;          /* grain directory entries */
    uint64_t l1_loaded;        /* entries held in l1_table (the rest lie past the end of the file: 0) */
    uint32_t *l1_table;
    uint32_t *l1_backup;       /* NULL without a redundant directory */
    uint64_t l1_offset;        /* bytes */
    uint64_t l1_backup_offset; /* bytes */
    uint64_t l2_bytes;         /* bytes of one grain table */
    uint64_t cached_l2_offset; /* sector of the cached grain table (0: none) */
    uint32_t *cached_l2;
    uint64_t next_cluster_sector; /* where the next grain goes */
    uint64_t overhead;         /* sectors */
    uint64_t capacity;         /* sectors (header) */
} vmdk_extent;

typedef struct vmdk_state {
    vmdk_extent *extents;
    size_t extent_count;
    uint32_t cid;
    uint32_t parent_cid;
    char *create_type;
    char *descriptor;          /* the descriptor text (NULL: none) */
    uint64_t desc_offset;      /* bytes in node->file where the descriptor lives (0: whole file) */
    uint64_t desc_size;        /* bytes reserved there */
    bool cid_updated;          /* written to since open */
    bool stream_writing;       /* a streamOptimized image being written (EOS at close) */
    bool single_monolithic;    /* the image file is itself the only extent */
} vmdk_state;

/* Driver parts in other files: vmdk_open.c */
int vmdk_open(block_node *node, option_list *options, int flags, error **errp);
void vmdk_close(block_node *node);

/* vmdk_io.c: the driver's I/O entry points (see block.h), and the piece of a request that one
 * extent serves (NULL past the last extent; *rel: the offset inside the extent; sparse pieces stay
 * inside one grain). */
int vmdk_read(block_node *node, uint64_t offset, size_t length, uint8_t *buf, error **errp);
int vmdk_write(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, int flags, error **errp);
int vmdk_write_compressed(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, error **errp);
int vmdk_write_zeroes(block_node *node, uint64_t offset, uint64_t length, int flags, error **errp);
vmdk_extent *vmdk_request_piece(vmdk_state *s, uint64_t offset, uint64_t length, uint64_t *rel, uint64_t *piece);
/* Writes the end-of-stream marker after the last grain of a stream image written to. */
void vmdk_stream_finish(vmdk_state *s);

/* vmdk_create.c, vmdk_check.c */
extern const option_desc vmdk_create_options[];
int vmdk_create(const char *filename, const option_list *options, error **errp);
int vmdk_check(block_node *node, check_result *result, int fix, error **errp);

/* The grain table entry of grain in sparse extent e (0: unallocated; *gt_sector: its table's
 * sector, 0 when the directory has none). */
int vmdk_grain_entry(vmdk_extent *e, uint64_t grain, uint32_t *entry, uint64_t *gt_sector, error **errp);

/* Grain directory entries of a sparse extent of capacity sectors. */
uint64_t vmdk_gd_entries(uint64_t capacity, uint64_t grain_sectors, uint32_t gtes);

/* Geometry cylinders as qemu writes them (capped by nothing: sectors / (heads * 63)). */
uint64_t vmdk_geometry_cylinders(uint64_t sectors, unsigned heads);

#endif
