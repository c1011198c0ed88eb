/* rebase.c — `qemu-img rebase`: changes the backing file of an image, first copying into it every range where the old and the new backing data differ unless -u (spec/architecture.md §Command line). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arguments.h"
#include "common.h"
#include "../util/json.h"
#include "../util/memory.h"

/* Bytes examined per step, as qemu's I/O buffer. */
#define REBASE_BUFFER_SIZE (2u * 1024 * 1024)
/* qcow2 images with extended L2 entries split each cluster into this many subclusters. */
#define REBASE_SUBCLUSTERS_PER_CLUSTER 32u

/* What the command line of rebase asks for. */
typedef struct rebase_arguments {
    const char *format;
    const char *cache_mode;         /* -t */
    const char *backing_cache_mode; /* -T */
    const char *backing;            /* -b; "" removes the backing file */
    const char *backing_format;     /* -B (or the old -F) */
    bool image_opts;
    bool unsafe;
    bool compress;
    bool force_share;
    bool progress;
    bool quiet;
} rebase_arguments;

/* The images a safe rebase reads: the image itself, the backing data it sees now and the
 * backing data it will see afterwards (NULL: none, reads as zeroes). */
typedef struct rebase_images {
    block_node *image;
    block_node *old_backing;
    block_node *new_backing;
    block_node *new_backing_owned; /* new_backing when rebase opened it (closed at the end) */
    block_node *prefix;            /* new_backing when it is already in the image's chain */
} rebase_images;

/* The options of rebase, in qemu-img's order: -T (the backing image's cache) and -F are rebase's own. */
static void rebase_arguments_build(cli_arguments *a)
{
    cli_arguments_init(a, "rebase", false);
    cli_arguments_add_shared(a, CLI_SHARED_HELP, "help", 'h');
    cli_arguments_add_shared(a, CLI_SHARED_FORMAT, "format", 'f');
    cli_arguments_add_shared(a, CLI_SHARED_IMAGE_OPTS, "image-opts", 0);
    cli_arguments_add_shared(a, CLI_SHARED_CACHE, "cache", 't');
    cli_arguments_add(a, "compress", no_argument, 'c');
    cli_arguments_add(a, "backing", required_argument, 'b');
    cli_arguments_add_short(a, 'F', required_argument);
    cli_arguments_add(a, "backing-format", required_argument, 'B');
    cli_arguments_add(a, "backing-cache", required_argument, 'T');
    cli_arguments_add(a, "backing-unsafe", no_argument, 'u');
    cli_arguments_add_shared(a, CLI_SHARED_FORCE_SHARE, "force-share", 'U');
    cli_arguments_add_shared(a, CLI_SHARED_PROGRESS, "progress", 'p');
    cli_arguments_add_shared(a, CLI_SHARED_QUIET, "quiet", 'q');
    cli_arguments_add_shared(a, CLI_SHARED_OBJECT, "object", 0);
}

/* Takes rebase's own option c with argument text into args. */
static void rebase_option_apply(rebase_arguments *args, int c, const char *text)
{
    switch (c) {
    case 'b':
        args->backing = text;
        break;
    case 'F': /* the spelling of qemu up to 10.0 */
    case 'B':
        args->backing_format = text;
        break;
    case 'T':
        args->backing_cache_mode = text;
        break;
    case 'u':
        args->unsafe = true;
        break;
    default: /* 'c' */
        args->compress = true;
        break;
    }
}

/* Parses argv into args. Returns -1 to go on, or the exit code when the command is finished. */
static int rebase_arguments_parse(int argc, char **argv, rebase_arguments *args)
{
    cli_arguments arguments;
    cli_shared_values shared = {0};
    int c, exit_code = 0;

    rebase_arguments_build(&arguments);
    while ((c = cli_arguments_next(&arguments, argc, argv, &shared, &exit_code)) != CLI_ARGUMENTS_END) {
        if (c == CLI_ARGUMENTS_EXIT)
            return exit_code;
        rebase_option_apply(args, c, optarg);
    }
    args->format = shared.format;
    args->image_opts = shared.image_opts;
    if (shared.cache)
        args->cache_mode = shared.cache;
    args->force_share = shared.force_share;
    args->quiet = shared.quiet;
    args->progress = shared.progress && !shared.quiet;
    if (optind != argc - 1)
        return cli_usage_error(argv[0], "Expecting one image file name");
    if (!args->unsafe && args->backing == NULL)
        return cli_usage_error(argv[0], "Must specify backing file (-b) or use unsafe mode (-u)");
    return -1;
}

/* The write unit of the rebase: the image's subcluster size (its cluster size when compressing),
 * 1 when the format has no clusters. Fails with qemu's "could not get block driver info" when the
 * format reports no information of its own (qemu drivers without get_info, e.g. parallels).
 * Returns the unit, or 0 after printing the message. */
static uint64_t rebase_alignment_get(block_node *node, bool compress)
{
    image_info info = {0};
    error *err = NULL;
    uint64_t alignment = 1;

    /* Formats without info of their own are answered by the file protocol, as in qemu. */
    if (node->driver->info_fill == NULL) {
        goto cleanup;
    }
    if (node->driver->info_fill(node, &info, &err) < 0 || info.has_no_driver_info) {
        cli_error("could not get block driver info");
        alignment = 0;
        goto cleanup;
    }
    if (info.has_cluster_size && info.cluster_size > 0) {
        const json_value *extended = NULL;
        alignment = info.cluster_size;
        if (info.format_specific_data != NULL) {
            extended = json_object_get(info.format_specific_data, "extended-l2");
        }
        if (!compress && extended != NULL && extended->type == JSON_BOOL && extended->boolean &&
            info.cluster_size >= REBASE_SUBCLUSTERS_PER_CLUSTER) {
            alignment = info.cluster_size / REBASE_SUBCLUSTERS_PER_CLUSTER;
        }
    }
cleanup:
    error_free(err);
    image_info_free(&info);
    return alignment;
}

/* Opens (or finds in the image's chain) the new backing image of a safe rebase onto
 * args->backing. Returns 0, or -1 after printing qemu's message. */
static int rebase_new_backing_open(const rebase_arguments *args, rebase_images *images, int backing_flags)
{
    const char *overlay = images->image->filename; /* json: when options (a key secret) name the image */
    char *path = NULL;
    error *err = NULL;
    int ret = -1;

    if (strncmp(overlay, "json:", 5) == 0 && args->backing[0] != '/' && strncmp(args->backing, "json:", 5) != 0) {
        cli_error("Could not resolve backing filename: Cannot use relative backing file names for '%s'", overlay);
        goto cleanup;
    }
    path = block_path_combine(overlay, args->backing);
    images->prefix = block_chain_find(images->image, path, NULL);
    if (images->prefix != NULL) {
        images->new_backing = images->prefix;
    } else {
        block_open_request request = {
            .filename = path,
            .format = args->backing_format,
            .flags = backing_flags | (args->force_share ? BLOCK_OPEN_FORCE_SHARE : 0),
            .cache_mode = args->backing_cache_mode,
        };
        images->new_backing_owned = block_image_open(&request, &err);
        if (images->new_backing_owned == NULL) {
            char *prefix = memory_printf("Could not open new backing file '%s': ", args->backing);
            cli_error_report(err, prefix);
            err = NULL;
            free(prefix);
            goto cleanup;
        }
        images->new_backing = images->new_backing_owned;
    }
    ret = 0;
cleanup:
    error_free(err);
    free(path);
    return ret;
}

/* Length of the prefix of a and b (length bytes, compared in chunks of chunk bytes) whose
 * chunks all match, or all differ, like the first chunk; *differ tells which. */
static uint64_t rebase_buffers_compare(const uint8_t *a, const uint8_t *b, uint64_t length, uint64_t chunk,
                                       bool *differ)
{
    uint64_t done = length < chunk ? length : chunk;

    *differ = memcmp(a, b, (size_t)done) != 0;
    while (done < length) {
        uint64_t piece = length - done < chunk ? length - done : chunk;
        if ((memcmp(a + done, b + done, (size_t)piece) != 0) != *differ) {
            break;
        }
        done += piece;
    }
    return done;
}

/* Reads up to available bytes of node at offset into buffer and zero-fills the rest of length
 * bytes. message is printed on a read failure. Returns 0 or -1. */
static int rebase_backing_read(block_node *node, uint64_t offset, uint64_t length, int64_t node_size,
                               uint8_t *buffer, const char *message)
{
    uint64_t available = 0;
    error *err = NULL;
    int ret = -1;

    if (node != NULL && node_size > 0 && offset < (uint64_t)node_size) {
        available = (uint64_t)node_size - offset;
        if (available > length) {
            available = length;
        }
    }
    memset(buffer + available, 0, (size_t)(length - available));
    if (available > 0 && block_node_read(node, offset, (size_t)available, buffer, &err) < 0) {
        cli_error("%s", message);
        goto cleanup;
    }
    ret = 0;
cleanup:
    error_free(err);
    return ret;
}

/* Writes the parts of [offset, offset+length) where old and new backing data differ into the
 * image: the old data, or zeroes where the old backing file had ended. Returns 0 or -1. */
static int rebase_differences_write(const rebase_images *images, uint64_t offset, uint64_t length,
                                    const uint8_t *old_data, const uint8_t *new_data, uint64_t alignment,
                                    int64_t old_size, bool old_eof, bool compress)
{
    uint64_t written = 0;
    error *err = NULL;
    int ret = -1;

    while (written < length) {
        bool differ;
        uint64_t count = rebase_buffers_compare(old_data + written, new_data + written, length - written, alignment,
                                                &differ);
        if (differ) {
            int r;
            if (old_eof) {
                r = block_node_write_zeroes(images->image, offset + written, count, 0, &err);
            } else if (compress) {
                r = block_node_write_compressed(images->image, offset + written, (size_t)count, old_data + written,
                                                &err);
            } else {
                r = block_node_write(images->image, offset + written, (size_t)count, old_data + written, 0, &err);
            }
            if (r < 0) {
                cli_error("Error while writing to COW image: %s", error_message(err));
                goto cleanup;
            }
        }
        written += count;
        if (old_size >= 0 && offset + written >= (uint64_t)old_size) {
            old_eof = true;
        }
    }
    ret = 0;
cleanup:
    error_free(err);
    return ret;
}

/* Tells whether [offset, offset+*length) of the image needs examining: not when the image
 * allocates it, nor (rebasing onto an image of its own chain) when no image between decides it.
 * *length is cut to the extent with the same answer. Returns 1, 0, or -1 after a message. */
static int rebase_range_check(const rebase_images *images, uint64_t offset, uint64_t *length)
{
    block_status_result status;
    error *err = NULL;
    int ret = -1;

    if (block_node_status(images->image, offset, *length, &status, &err) < 0) {
        cli_error("error while reading image metadata: %s", error_message(err));
        goto cleanup;
    }
    if (status.length > 0 && status.length < *length) {
        *length = status.length;
    }
    if (status.flags & BLOCK_STATUS_ALLOCATED) {
        ret = 0;
        goto cleanup;
    }
    ret = 1;
    if (images->prefix != NULL && images->prefix == images->old_backing) {
        /* the new backing file is the old one: nothing can differ, not even past its end */
        ret = 0;
        goto cleanup;
    }
    if (images->prefix != NULL && images->old_backing != NULL &&
        offset < (uint64_t)block_node_length(images->old_backing)) {
        uint64_t count = 0;
        bool allocated = false;
        if (block_node_is_allocated_above(images->old_backing, images->prefix, offset, *length, &count, &allocated,
                                          &err) < 0) {
            cli_error("error while reading image metadata: %s", error_message(err));
            ret = -1;
            goto cleanup;
        }
        if (count > 0) {
            *length = count;
            ret = allocated ? 1 : 0;
        }
    }
cleanup:
    error_free(err);
    return ret;
}

/* The data-preserving part of a safe rebase: wherever the image does not allocate its data and
 * the old and new backing data differ, copies the old data into the image. Returns 0 or -1. */
static int rebase_data_copy(const rebase_images *images, uint64_t alignment, bool compress)
{
    int64_t size = block_node_length(images->image);
    int64_t old_size = images->old_backing != NULL ? block_node_length(images->old_backing) : 0;
    int64_t new_size = images->new_backing != NULL ? block_node_length(images->new_backing) : 0;
    size_t buffer_size = REBASE_BUFFER_SIZE + 2 * (size_t)alignment;
    uint8_t *old_data = NULL;
    uint8_t *new_data = NULL;
    uint64_t offset;
    uint64_t length = 0;
    int ret = -1;

    if (size < 0 || old_size < 0 || new_size < 0) {
        cli_error("Could not get size of '%s': %s", images->image->filename, "Input/output error");
        goto cleanup;
    }
    /* qemu's share of each handled chunk: 100 over the whole number of buffer-sized chunks */
    uint64_t chunk = (uint64_t)size < REBASE_BUFFER_SIZE ? (uint64_t)size : REBASE_BUFFER_SIZE;
    float chunk_progress = chunk ? 100.0f / (float)((uint64_t)size / chunk) : 100.0f;
    old_data = memory_alloc_aligned(buffer_size);
    new_data = memory_alloc_aligned(buffer_size);
    for (offset = 0; offset < (uint64_t)size; offset += length) {
        int needed;
        uint64_t aligned_offset;
        uint64_t aligned_end;
        bool old_eof;

        length = (uint64_t)size - offset;
        if (length > REBASE_BUFFER_SIZE) {
            length = REBASE_BUFFER_SIZE;
        }
        needed = rebase_range_check(images, offset, &length);
        if (needed < 0) {
            goto cleanup;
        }
        if (needed == 0) {
            continue;
        }
        /* Widen to whole write units so that no partial (sub)cluster is written. */
        aligned_offset = offset - offset % alignment;
        aligned_end = offset + length;
        if (aligned_end % alignment != 0) {
            aligned_end += alignment - aligned_end % alignment;
        }
        if (aligned_end > (uint64_t)size) {
            aligned_end = (uint64_t)size;
        }
        offset = aligned_offset;
        length = aligned_end - aligned_offset;

        old_eof = offset >= (uint64_t)old_size;
        if (rebase_backing_read(images->old_backing, offset, length, old_size, old_data,
                                "error while reading from old backing file") < 0 ||
            rebase_backing_read(images->new_backing, offset, length, new_size, new_data,
                                "error while reading from new backing file") < 0) {
            goto cleanup;
        }
        if (rebase_differences_write(images, offset, length, old_data, new_data, alignment, old_size, old_eof,
                                     compress) < 0) {
            goto cleanup;
        }
        cli_progress_advance(chunk_progress);
    }
    ret = 0;
cleanup:
    free(old_data);
    free(new_data);
    return ret;
}

/* Records the new backing file name (and format) in the image, with qemu's messages.
 * Returns 0 or -1. */
static int rebase_backing_change(block_node *image, const rebase_arguments *args)
{
    const char *name = args->backing != NULL && args->backing[0] != '\0' ? args->backing : NULL;
    const char *shown = args->backing != NULL ? args->backing : "(null)";
    error *err = NULL;
    int ret = -1;

    if (image->driver->change_backing_file == NULL) {
        cli_error("Could not change the backing file to '%s': Operation not supported", shown);
        goto cleanup;
    }
    if (image->driver->change_backing_file(image, name, name != NULL ? args->backing_format : NULL, &err) < 0) {
        char *prefix = memory_printf("Could not change the backing file to '%s': ", shown);
        cli_error_report(err, prefix);
        err = NULL;
        free(prefix);
        goto cleanup;
    }
    ret = 0;
cleanup:
    error_free(err);
    return ret;
}

/* Opens everything, copies differing data in safe mode, and rewrites the backing file name.
 * Returns 0 or -1 (messages printed). */
static int rebase_run(const rebase_arguments *args, const char *filename, rebase_images *images)
{
    int flags = 0;
    int backing_flags = 0;
    uint64_t alignment = 1;
    error *err = NULL;
    int changed;
    int ret = -1;

    if (block_cache_mode_parse(args->cache_mode, &flags, &err) < 0) {
        cli_error("Invalid cache option: %s", args->cache_mode);
        goto cleanup;
    }
    if (block_cache_mode_parse(args->backing_cache_mode, &backing_flags, &err) < 0) {
        cli_error("Invalid source cache option: %s", args->backing_cache_mode);
        goto cleanup;
    }
    /* -u ignores the old backing file: it may have been moved or renamed. */
    images->image = cli_image_open(filename, args->format, args->image_opts,
                                   BLOCK_OPEN_READ_WRITE | (args->unsafe ? BLOCK_OPEN_NO_BACKING : 0),
                                   args->cache_mode, args->quiet);
    if (images->image == NULL) {
        goto cleanup;
    }
    if (args->compress && images->image->driver->write_compressed == NULL) {
        cli_error("Compression not supported for this file format");
        goto cleanup;
    }
    if (args->backing_format != NULL && block_driver_find(args->backing_format) == NULL) {
        cli_error("Invalid format name: '%s'", args->backing_format);
        goto cleanup;
    }
    alignment = rebase_alignment_get(images->image, args->compress);
    if (alignment == 0) {
        goto cleanup;
    }
    if (!args->unsafe) {
        images->old_backing = images->image->backing;
        if (args->backing[0] != '\0' && rebase_new_backing_open(args, images, backing_flags) < 0) {
            goto cleanup;
        }
    }
    /* qemu only refuses a missing backing format when recording the name; refusing it before
     * any data is copied leaves the image untouched. */
    if (args->backing != NULL && args->backing[0] != '\0' && args->backing_format == NULL) {
        cli_error("Could not change the backing file to '%s': backing format must be specified", args->backing);
        cli_progress_update(1, 1);
        goto cleanup;
    }
    if (!args->unsafe && rebase_data_copy(images, alignment, args->compress) < 0) {
        goto cleanup;
    }
    changed = rebase_backing_change(images->image, args);
    /* qemu reports 100% whether or not the name could be changed. */
    cli_progress_update(1, 1);
    if (changed < 0) {
        goto cleanup;
    }
    if (block_node_flush(images->image, &err) < 0) {
        error_free(err);
        err = NULL;
    }
    ret = 0;
cleanup:
    error_free(err);
    return ret;
}

/* `qemu-img rebase [-f FMT|--image-opts] [-t CACHE] [-b BACKING [-B FMT] [-T CACHE]] [-u] [-c]
 * [-U] [-p] [-q] FILE`: makes BACKING the backing file of FILE ("" for none). Without -u the
 * visible content of FILE is preserved. Returns the exit code. */
int cli_command_rebase(int argc, char **argv)
{
    rebase_arguments args = {.cache_mode = "writeback", .backing_cache_mode = "writeback"};
    rebase_images images = {0};
    int ret;

    ret = rebase_arguments_parse(argc, argv, &args);
    if (ret >= 0) {
        goto cleanup;
    }
    cli_quiet = args.quiet;
    cli_progress_begin(args.progress);
    cli_progress_min_skip_set(2);
    ret = rebase_run(&args, argv[optind], &images) < 0 ? 1 : 0;
    cli_progress_end();

cleanup:
    if (images.new_backing_owned != NULL) {
        block_node_close(images.new_backing_owned);
    }
    if (images.image != NULL) {
        block_node_close(images.image);
    }
    return ret;
}
