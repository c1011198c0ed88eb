/* open.h — opening images: plain names, json: pseudo-filenames and --image-opts strings, format
 * probing, backing chains, cache modes and locking (spec/architecture.md §Opening images). */
#ifndef QIMG_BLOCK_OPEN_H
#define QIMG_BLOCK_OPEN_H

#include "block.h"

/* How a command wants an image opened. */
typedef struct block_open_request {
    const char *filename;   /* file name, "json:{...}", or (image_opts) a key=value string */
    const char *format;     /* -f; NULL probes */
    bool image_opts;        /* --image-opts */
    int flags;              /* BLOCK_OPEN_* */
    const char *cache_mode; /* -t/-T value or NULL for writeback */
} block_open_request;

/* Opens an image (and, unless BLOCK_OPEN_NO_BACKING, its backing chain). On failure returns NULL
 * with the message as qemu words it after "Could not open 'NAME': " (the CLI adds that prefix). */
block_node *block_image_open(const block_open_request *request, error **errp);

/* Parses a cache mode ("none", "writeback", "writethrough", "directsync", "unsafe") into
 * BLOCK_OPEN_* flags; -1 with "Invalid cache option: NAME"-style error when unknown. */
int block_cache_mode_parse(const char *mode, int *flags, error **errp);

/* Opens the protocol node for filename (the "file" protocol), taking locks as flags ask. */
block_node *block_protocol_open(const char *filename, int flags, error **errp);

/* Opens filename with a known format driver on top of an already open protocol node
 * (drivers use it for external files, e.g. qcow2 data files and vmdk extents). */
block_node *block_format_open_on(const block_driver *driver, block_node *file, const char *filename,
                                 option_list *options, int flags, error **errp);

/* Opens the backing chain of node according to node->backing_file/backing_format (done by
 * block_image_open; exposed for rebase/commit). */
int block_backing_open(block_node *node, int flags, error **errp);

/* qemu's search for backing image name in the chain below top: name (taken relative to each
 * image's folder) and each image's recorded backing file compare as canonical paths. Returns the
 * matching image (and the image above it in *parent when parent is not NULL), or NULL. */
block_node *block_chain_find(block_node *top, const char *name, block_node **parent);

/* Joins a backing file name to the folder of the image that names it (qemu's path_combine). */
char *block_path_combine(const char *base_filename, const char *name);

/* ---- creating files (drivers' create callbacks use these) ---- */

/* Creates (or truncates) filename as an empty file of size bytes with the given preallocation,
 * as the file protocol's create does (size rounded up to 512; the first block allocated). */
int block_file_create(const char *filename, uint64_t size, block_preallocation prealloc, error **errp);

/* ---- the image creation flow of qemu-img create/convert/dd ---- */
typedef struct block_create_plan {
    const block_driver *driver;
    char *filename;
    option_list options;          /* every option after merging -o, -b/-B and size */
    option_desc_list descs;       /* format options then protocol options */
    char *formatting_line;        /* "Formatting 'F', fmt=X ..." without newline */
} block_create_plan;

/* Prepares a creation: parses and validates options_text against the format's options, applies
 * backing_file/backing_format and size (UINT64_MAX: none; then taken from the backing image),
 * opens the backing image unless unsafe_backing, and renders the Formatting line.
 * Errors are qemu's texts (the CLI prefixes "FILENAME: "). */
int block_create_prepare(block_create_plan *plan, const char *filename, const char *format,
                         const char *backing_file, const char *backing_format, const char *options_text,
                         uint64_t size, bool unsafe_backing, error **errp);
/* Runs the driver's create with the plan's options. */
int block_create_run(block_create_plan *plan, error **errp);
void block_create_plan_free(block_create_plan *plan);

#endif
