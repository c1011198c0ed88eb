/* commit.c — `qemu-img commit`: copies the data an image holds above a base image of its backing chain down into that base, then empties the image unless told not to (spec/architecture.md §Command line). */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "../util/memory.h"

/* Long-only options of commit. */
enum {
    COMMIT_OPTION_OBJECT = 256,
    COMMIT_OPTION_IMAGE_OPTS,
};

/* Copy unit: the largest request sent at once. */
#define COMMIT_BUFFER_SIZE (2u * 1024 * 1024)
/* The dirty-chunk size qemu's commit job uses: the base's cluster size within [4 KiB, 64 KiB]. */
#define COMMIT_GRANULARITY_MIN 4096u
#define COMMIT_GRANULARITY_MAX 65536u

/* What the command line of commit asks for. */
typedef struct commit_arguments {
    const char *format;
    const char *cache_mode;
    const char *base; /* -b */
    bool image_opts;
    bool drop;
    bool progress;
    bool quiet;
} commit_arguments;

/* Parses argv into args. Returns -1 to go on, or the exit code when the command is finished. */
static int commit_arguments_parse(int argc, char **argv, commit_arguments *args)
{
    static const struct option long_options[] = {
        {"help", no_argument, NULL, 'h'},
        {"format", required_argument, NULL, 'f'},
        {"image-opts", no_argument, NULL, COMMIT_OPTION_IMAGE_OPTS},
        {"cache", required_argument, NULL, 't'},
        {"drop", no_argument, NULL, 'd'},
        {"base", required_argument, NULL, 'b'},
        {"rate-limit", required_argument, NULL, 'r'},
        {"progress", no_argument, NULL, 'p'},
        {"quiet", no_argument, NULL, 'q'},
        {"object", required_argument, NULL, COMMIT_OPTION_OBJECT},
        {NULL, 0, NULL, 0},
    };
    int64_t rate_limit = 0;
    int ret = -1;
    int c;

    optind = 0;
    while (ret < 0 && (c = getopt_long(argc, argv, "hf:t:db:r:pq", long_options, NULL)) != -1) {
        switch (c) {
        case 'h':
            cli_help_command_print("commit");
            ret = 0;
            break;
        case 'f':
            args->format = optarg;
            break;
        case COMMIT_OPTION_IMAGE_OPTS:
            args->image_opts = true;
            break;
        case 't':
            args->cache_mode = optarg;
            break;
        case 'd':
            args->drop = true;
            break;
        case 'b':
            args->base = optarg;
            /* Committing to a chosen base leaves the images above it as they are. */
            args->drop = true;
            break;
        case 'r':
            /* Checked as qemu does; the copy itself is not throttled. */
            if (cli_size_argument("rate limit", optarg, 0, INT64_MAX, &rate_limit) < 0) {
                ret = 1;
            }
            break;
        case 'p':
            args->progress = true;
            break;
        case 'q':
            args->quiet = true;
            break;
        case COMMIT_OPTION_OBJECT:
            if (cli_object_add(optarg) < 0) {
                ret = 1;
            }
            break;
        default:
            ret = cli_usage_try(argv[0]);
            break;
        }
    }
    if (ret < 0 && args->quiet) {
        args->progress = false;
    }
    if (ret < 0 && optind != argc - 1) {
        ret = cli_usage_error(argv[0], "Expecting one image file name");
    }
    return ret;
}

/* Replaces parent's backing image (opened read-only as part of the chain) by the same image
 * opened read-write, keeping the chain below it. Returns the new node or NULL with *errp. */
static block_node *commit_base_reopen(block_node *parent, const char *cache_mode, error **errp)
{
    block_node *old = parent->backing;
    block_open_request request = {
        .filename = old->filename,
        .format = old->driver->format_name,
        .flags = BLOCK_OPEN_READ_WRITE | BLOCK_OPEN_NO_BACKING | BLOCK_OPEN_UNMAP,
        .cache_mode = cache_mode,
    };
    block_node *writable = block_image_open(&request, errp);

    if (writable != NULL) {
        writable->backing = old->backing;
        old->backing = NULL;
        parent->backing = writable;
        block_node_close(old);
    }
    return writable;
}

/* The chunk size of the copy: the base's cluster size kept within [4 KiB, 64 KiB]. */
static uint64_t commit_granularity_get(block_node *base)
{
    image_info info = {0};
    error *err = NULL;
    uint64_t granularity = COMMIT_GRANULARITY_MAX;

    if (base->driver->info_fill != NULL && base->driver->info_fill(base, &info, &err) == 0 && info.has_cluster_size &&
        info.cluster_size > 0) {
        granularity = info.cluster_size;
        if (granularity < COMMIT_GRANULARITY_MIN) {
            granularity = COMMIT_GRANULARITY_MIN;
        }
        if (granularity > COMMIT_GRANULARITY_MAX) {
            granularity = COMMIT_GRANULARITY_MAX;
        }
    }
    error_free(err);
    image_info_free(&info);
    return granularity;
}

/* Marks in dirty (one byte per chunk of granularity bytes) every chunk that holds data top or
 * an image between top and base decides. Returns the number of dirty bytes, or -1 with *errp. */
static int64_t commit_dirty_map_build(block_node *top, block_node *base, uint64_t size, uint64_t granularity,
                                      uint8_t *dirty, error **errp)
{
    uint64_t offset = 0;
    uint64_t chunks = (size + granularity - 1) / granularity;
    int64_t total = 0;

    while (offset < size) {
        uint64_t count = 0;
        bool allocated = false;

        if (block_node_is_allocated_above(top, base, offset, size - offset, &count, &allocated, errp) < 0) {
            return -1;
        }
        if (count == 0) {
            count = size - offset;
        }
        if (allocated) {
            for (uint64_t i = offset / granularity; i <= (offset + count - 1) / granularity && i < chunks; i++) {
                dirty[i] = 1;
            }
        }
        offset += count;
    }
    for (uint64_t i = 0; i < chunks; i++) {
        if (dirty[i]) {
            uint64_t end = (i + 1) * granularity;
            total += (int64_t)((end > size ? size : end) - i * granularity);
        }
    }
    return total;
}

/* Copies [offset, offset+length) as top reads it into base: ranges that read as zeroes become
 * zero writes (which may deallocate), the rest is read and written. *done grows by the bytes
 * handled, for progress against total. */
static int commit_range_copy(block_node *top, block_node *base, uint64_t offset, uint64_t length, uint8_t *buffer,
                             uint64_t *done, uint64_t total, error **errp)
{
    uint64_t end = offset + length;

    while (offset < end) {
        uint64_t piece = end - offset;
        block_status_result status;

        if (piece > COMMIT_BUFFER_SIZE) {
            piece = COMMIT_BUFFER_SIZE;
        }
        if (block_node_status_above(top, NULL, offset, piece, &status, NULL, errp) < 0) {
            return -1;
        }
        if (status.length > 0 && status.length < piece) {
            piece = status.length;
        }
        if (status.length > 0 && (status.flags & BLOCK_STATUS_ZERO)) {
            if (block_node_write_zeroes(base, offset, piece, BLOCK_WRITE_MAY_UNMAP, errp) < 0) {
                return -1;
            }
        } else {
            if (block_node_read(top, offset, (size_t)piece, buffer, errp) < 0) {
                return -1;
            }
            if (block_node_write(base, offset, (size_t)piece, buffer, 0, errp) < 0) {
                return -1;
            }
        }
        offset += piece;
        *done += piece;
        cli_progress_update(*done, total);
    }
    return 0;
}

/* Commits top down into base: grows base to top's size when it is shorter, then copies every
 * chunk that an image above base allocates. Returns 0 or -1 with *errp. */
static int commit_data_copy(block_node *top, block_node *base, error **errp)
{
    int64_t top_length = block_node_length(top);
    int64_t base_length = block_node_length(base);
    uint64_t size;
    uint64_t granularity;
    uint8_t *dirty = NULL;
    uint8_t *buffer = NULL;
    uint64_t chunks;
    uint64_t done = 0;
    int64_t total;
    int ret = -1;

    if (top_length < 0 || base_length < 0) {
        error_set(errp, "Could not get the image size");
        goto cleanup;
    }
    size = (uint64_t)top_length;
    if (top_length > base_length &&
        block_node_truncate(base, size, false, BLOCK_PREALLOCATION_OFF, false, errp) < 0) {
        goto cleanup;
    }
    granularity = commit_granularity_get(base);
    chunks = (size + granularity - 1) / granularity;
    dirty = memory_alloc_zero(chunks > 0 ? (size_t)chunks : 1);
    total = commit_dirty_map_build(top, base, size, granularity, dirty, errp);
    if (total < 0) {
        goto cleanup;
    }
    buffer = memory_alloc_aligned(COMMIT_BUFFER_SIZE);
    for (uint64_t i = 0; i < chunks;) {
        uint64_t first = i;
        uint64_t start;
        uint64_t stop;

        if (!dirty[i]) {
            i++;
            continue;
        }
        while (i < chunks && dirty[i]) {
            i++;
        }
        start = first * granularity;
        stop = i * granularity > size ? size : i * granularity;
        if (commit_range_copy(top, base, start, stop - start, buffer, &done, (uint64_t)total, errp) < 0) {
            goto cleanup;
        }
    }
    if (block_node_flush(base, errp) < 0) {
        goto cleanup;
    }
    ret = 0;
cleanup:
    free(buffer);
    free(dirty);
    return ret;
}

/* Finds the base (args->base in the chain, or the immediate backing image), reopens it
 * read-write, copies the data down and empties top unless dropping. Returns 0 or -1 with *errp. */
static int commit_run(block_node *top, const commit_arguments *args, const char *filename, error **errp)
{
    block_node *base = NULL;
    block_node *parent = NULL;
    int ret = -1;

    if (args->base != NULL) {
        base = block_chain_find(top, args->base, &parent);
        if (base == NULL) {
            error_set(errp, "Did not find '%s' in the backing chain of '%s'", args->base, filename);
            goto cleanup;
        }
    } else {
        base = top->backing;
        parent = top;
        if (base == NULL) {
            error_set(errp, "Image does not have a backing file");
            goto cleanup;
        }
    }
    base = commit_base_reopen(parent, args->cache_mode, errp);
    if (base == NULL) {
        goto cleanup;
    }
    if (commit_data_copy(top, base, errp) < 0) {
        error_prepend(errp, "Block job failed: ");
        goto cleanup;
    }
    cli_progress_update(1, 1);
    /* A format that cannot empty itself is left as it is, as qemu does. */
    if (!args->drop && top->driver->make_empty != NULL && top->driver->make_empty(top, errp) < 0) {
        goto cleanup;
    }
    if (block_node_flush(top, errp) < 0) {
        error_prepend(errp, "Error while closing the image: ");
        goto cleanup;
    }
    ret = 0;
cleanup:
    return ret;
}

/* `qemu-img commit [-f FMT|--image-opts] [-t CACHE] [-b BASE] [-d] [-r RATE] [-p] [-q] FILE`:
 * writes what FILE holds above BASE (default: its immediate backing file) into BASE, then
 * empties FILE unless -d or -b was given. Prints "Image committed." Returns the exit code. */
int cli_command_commit(int argc, char **argv)
{
    commit_arguments args = {.cache_mode = "writeback"};
    block_node *top = NULL;
    const char *filename;
    error *err = NULL;
    int flags = 0;
    int ret;

    ret = commit_arguments_parse(argc, argv, &args);
    if (ret >= 0) {
        goto cleanup;
    }
    ret = 1;
    cli_quiet = args.quiet;
    filename = argv[optind];
    if (block_cache_mode_parse(args.cache_mode, &flags, &err) < 0) {
        cli_error("Invalid cache option: %s", args.cache_mode);
        goto cleanup;
    }

    top = cli_image_open(filename, args.format, args.image_opts, BLOCK_OPEN_READ_WRITE | BLOCK_OPEN_UNMAP, args.cache_mode,
                         args.quiet);
    if (top == NULL) {
        goto cleanup;
    }
    cli_progress_begin(args.progress);
    if (commit_run(top, &args, filename, &err) < 0) {
        cli_progress_end();
        cli_error_report(err, NULL);
        err = NULL;
        goto cleanup;
    }
    cli_progress_end();
    cli_printf("Image committed.\n");
    ret = 0;

cleanup:
    if (top != NULL) {
        block_node_close(top);
    }
    error_free(err);
    return ret;
}
