/* commit.c — `qemu-img commit`: copies the data an image holds above a base image of its backing chain down into that base, then empties the image unless told not to (spec/architecture.md §Command line). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arguments.h"
#include "common.h"
#include "../util/memory.h"

/* qemu-img commit runs qemu's active commit, a mirror job from the top image into the base.
 * Its constants: the buffer (how many dirty chunks one iteration takes), the largest data
 * request, and the dirty-chunk size (the base's cluster size within [4 KiB, 64 KiB]). */
#define COMMIT_BUFFER_SIZE (16u * 1024 * 1024)
#define COMMIT_REQUEST_MAX (1024u * 1024)
#define COMMIT_GRANULARITY_MIN 4096u
#define COMMIT_GRANULARITY_MAX 65536u
/* A base whose leading data extent is at most this long is read to see whether it is zero. */
#define COMMIT_ZERO_PROBE_MAX (128u * 1024)

/* How one run of the copy is carried out (qemu's mirror methods). */
typedef enum commit_method {
    COMMIT_METHOD_COPY,
    COMMIT_METHOD_ZERO,
    COMMIT_METHOD_DISCARD,
} commit_method;

/* What the copy needs to know about the base and the chain. */
typedef struct commit_job {
    block_node *top;
    block_node *base;
    uint64_t size;            /* top's virtual size */
    uint64_t granularity;     /* bytes per dirty chunk */
    uint64_t base_subcluster; /* base's allocation unit; 0 when it has none */
    bool base_zero;           /* the base read as zeroes before the copy: zero runs are skipped */
    uint8_t *dirty;           /* one byte per chunk */
    uint64_t chunks;
    uint8_t *buffer;
    uint64_t done;
    uint64_t total;
} commit_job;

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

/* The options of commit, in qemu-img's order. */
static void commit_arguments_build(cli_arguments *a)
{
    cli_arguments_init(a, "commit", false);
    cli_arguments_add_shared(a, CLI_SHARED_HELP, "help", 'h');
    cli_arguments_add_shared(a, CLI_SHARED_FORMAT, "format", 'f');
    cli_arguments_add_shared(a, CLI_SHARED_IMAGE_OPTS, "image-opts", 0);
    cli_arguments_add_shared(a, CLI_SHARED_CACHE, "cache", 't');
    cli_arguments_add(a, "drop", no_argument, 'd');
    cli_arguments_add(a, "base", required_argument, 'b');
    cli_arguments_add(a, "rate-limit", required_argument, 'r');
    cli_arguments_add_shared(a, CLI_SHARED_PROGRESS, "progress", 'p');
    cli_arguments_add_shared(a, CLI_SHARED_QUIET, "quiet", 'q');
    cli_arguments_add_shared(a, CLI_SHARED_OBJECT, "object", 0);
}

/* Takes commit's own option c with argument text into args; 0, or -1 (reported). */
static int commit_option_apply(commit_arguments *args, int c, const char *text)
{
    int64_t rate_limit;
    switch (c) {
    case 'd':
        args->drop = true;
        return 0;
    case 'b':
        args->base = text;
        /* Committing to a chosen base leaves the images above it as they are. */
        args->drop = true;
        return 0;
    default: /* 'r': checked as qemu does; the copy itself is not throttled. */
        return cli_size_argument("rate limit", text, 0, INT64_MAX, &rate_limit);
    }
}

/* Parses argv into args. Returns -1 to go on, or the exit code when the command is finished. */
static int commit_arguments_parse(int argc, char **argv, commit_arguments *args)
{
    cli_arguments arguments;
    cli_shared_values shared = {0};
    int c, exit_code = 0;

    commit_arguments_build(&arguments);
    while ((c = cli_arguments_next(&arguments, argc, argv, &shared, &exit_code)) != CLI_ARGUMENTS_END) {
        if (c == CLI_ARGUMENTS_EXIT)
            return exit_code;
        if (commit_option_apply(args, c, optarg) < 0)
            return 1;
    }
    args->format = shared.format;
    args->image_opts = shared.image_opts;
    if (shared.cache)
        args->cache_mode = shared.cache;
    args->quiet = shared.quiet;
    args->progress = shared.progress && !shared.quiet;
    if (optind != argc - 1)
        return cli_usage_error(argv[0], "Expecting one image file name");
    return -1;
}

/* Replaces parent's backing image (opened read-only as part of the chain) by the same image
 * opened read-write, keeping the chain below it. Returns the new node or NULL with *errp. */
static block_node *commit_base_reopen(block_node *parent, const char *cache_mode, error **errp)
{
    block_node *old = parent->backing;
    char *filename = memory_strdup(old->filename);
    block_node *below = old->backing;
    block_open_request request = {
        .filename = filename,
        .format = old->driver->format_name,
        .flags = BLOCK_OPEN_READ_WRITE | BLOCK_OPEN_NO_BACKING | BLOCK_OPEN_UNMAP,
        .cache_mode = cache_mode,
    };
    block_node *writable;

    /* The read-only node goes first: its locks keep writers out (qemu reopens it in place). */
    old->backing = NULL;
    parent->backing = NULL;
    block_node_close(old);
    writable = block_image_open(&request, errp);
    if (writable != NULL) {
        writable->backing = below;
        parent->backing = writable;
    } else if (below != NULL) {
        block_node_close(below);
    }
    free(filename);
    return writable;
}

/* Reads the base's cluster and subcluster sizes into job: the chunk size is the cluster size
 * kept within [4 KiB, 64 KiB] (64 KiB when the base has no clusters). */
static void commit_job_geometry_get(commit_job *job)
{
    image_info info = {0};
    error *err = NULL;
    block_node *base = job->base;

    job->granularity = COMMIT_GRANULARITY_MAX;
    job->base_subcluster = 0;
    if (base->driver->info_fill != NULL && base->driver->info_fill(base, &info, &err) == 0 && info.has_cluster_size &&
        info.cluster_size > 0) {
        job->granularity = info.cluster_size;
        if (job->granularity < COMMIT_GRANULARITY_MIN) {
            job->granularity = COMMIT_GRANULARITY_MIN;
        }
        if (job->granularity > COMMIT_GRANULARITY_MAX) {
            job->granularity = COMMIT_GRANULARITY_MAX;
        }
        job->base_subcluster = info.subcluster_size != 0 ? info.subcluster_size : info.cluster_size;
    }
    error_free(err);
    image_info_free(&info);
}

/* Tells whether the base (with what lies below it) reads as zeroes throughout: every extent
 * reports zero, except a short leading data extent whose bytes are all zero. */
static int commit_base_is_zero(commit_job *job, bool *zero, error **errp)
{
    int64_t length = block_node_length(job->base);
    uint64_t offset = 0;

    *zero = false;
    if (length < 0) {
        return error_set(errp, "Could not get the image size");
    }
    while (offset < (uint64_t)length) {
        block_status_result status;

        if (block_node_status_above(job->base, NULL, offset, (uint64_t)length - offset, &status, NULL, errp) < 0) {
            return -1;
        }
        if (status.length == 0) {
            break;
        }
        if (!(status.flags & BLOCK_STATUS_ZERO)) {
            if (offset != 0 || status.length > COMMIT_ZERO_PROBE_MAX) {
                return 0;
            }
            if (block_node_read(job->base, 0, (size_t)status.length, job->buffer, errp) < 0) {
                return -1;
            }
            for (uint64_t i = 0; i < status.length; i++) {
                if (job->buffer[i] != 0) {
                    return 0;
                }
            }
        }
        offset += status.length;
    }
    *zero = true;
    return 0;
}

/* Marks in job->dirty every chunk that holds data top or an image between top and base
 * decides, and counts them into job->total. Returns 0 or -1 with *errp. */
static int commit_dirty_map_build(commit_job *job, error **errp)
{
    uint64_t offset = 0;
    uint64_t granularity = job->granularity;

    while (offset < job->size) {
        uint64_t count = 0;
        bool allocated = false;

        if (block_node_is_allocated_above(job->top, job->base, offset, job->size - offset, &count, &allocated,
                                          errp) < 0) {
            return -1;
        }
        if (count == 0) {
            count = job->size - offset;
        }
        if (allocated) {
            for (uint64_t i = offset / granularity; i <= (offset + count - 1) / granularity && i < job->chunks; i++) {
                job->dirty[i] = 1;
            }
        }
        offset += count;
    }
    job->total = 0;
    for (uint64_t i = 0; i < job->chunks; i++) {
        if (job->dirty[i]) {
            job->total += granularity;
        }
    }
    return 0;
}

/* Chooses how to handle the bytes from offset (a chunk boundary) within the next chunks dirty
 * chunks, as qemu's mirror does: a data extent is copied up to the request limit; a zero (or
 * unallocated) extent of at least one whole chunk, aligned to the base's subclusters, is zeroed
 * (or discarded); anything shorter than a chunk copies one chunk. Sets *bytes. */
static int commit_method_choose(commit_job *job, uint64_t offset, uint64_t chunks, uint64_t *bytes,
                                commit_method *method, error **errp)
{
    uint64_t granularity = job->granularity;
    uint64_t span = chunks * granularity;
    block_status_result status;
    uint64_t length;

    if (span > job->size - offset) {
        span = job->size - offset;
    }
    if (block_node_status_above(job->top, NULL, offset, span, &status, NULL, errp) < 0) {
        return -1;
    }
    length = status.length;
    if ((status.flags & BLOCK_STATUS_DATA) && length > COMMIT_REQUEST_MAX) {
        length = COMMIT_REQUEST_MAX;
    }
    length -= length % granularity;
    *method = COMMIT_METHOD_COPY;
    if (length < granularity) {
        length = granularity;
    } else if (!(status.flags & BLOCK_STATUS_DATA)) {
        uint64_t unit = job->base_subcluster;
        bool aligned = unit == 0 || (offset % unit == 0 && length % unit == 0);

        if (aligned) {
            *method = (status.flags & BLOCK_STATUS_ZERO) ? COMMIT_METHOD_ZERO : COMMIT_METHOD_DISCARD;
        }
    }
    if (length > job->size - offset) {
        length = job->size - offset;
    }
    *bytes = length;
    return 0;
}

/* Carries out one run: copies [offset, offset+bytes) as top reads it into the base, or zeroes
 * or discards it there. */
static int commit_method_perform(commit_job *job, uint64_t offset, uint64_t bytes, commit_method method,
                                 error **errp)
{
    switch (method) {
    case COMMIT_METHOD_ZERO:
        if (job->base_zero) {
            return 0;
        }
        return block_node_write_zeroes(job->base, offset, bytes, BLOCK_WRITE_MAY_UNMAP, errp);
    case COMMIT_METHOD_DISCARD:
        return block_node_discard(job->base, offset, bytes, errp);
    case COMMIT_METHOD_COPY:
    default:
        if (block_node_read(job->top, offset, (size_t)bytes, job->buffer, errp) < 0) {
            return -1;
        }
        return block_node_write(job->base, offset, (size_t)bytes, job->buffer, 0, errp);
    }
}

/* One iteration of the mirror: takes the dirty chunks that follow first (as many as the buffer
 * holds), clears them and handles them run by run. */
static int commit_iteration_run(commit_job *job, uint64_t first, error **errp)
{
    uint64_t limit = COMMIT_BUFFER_SIZE / job->granularity;
    uint64_t chunks = 1;
    uint64_t offset = first * job->granularity;

    while (chunks < limit && first + chunks < job->chunks && job->dirty[first + chunks]) {
        chunks++;
    }
    memset(job->dirty + first, 0, (size_t)chunks);
    while (chunks > 0 && offset < job->size) {
        uint64_t bytes = 0;
        commit_method method;
        uint64_t handled;

        if (commit_method_choose(job, offset, chunks, &bytes, &method, errp) < 0 ||
            commit_method_perform(job, offset, bytes, method, errp) < 0) {
            return -1;
        }
        handled = (bytes + job->granularity - 1) / job->granularity;
        offset += bytes;
        chunks = handled > chunks ? 0 : chunks - handled;
        job->done += handled * job->granularity;
        cli_progress_update(job->done, job->total);
    }
    return 0;
}

/* Grows the base to size. The job reports a failure by its errno alone, as qemu's job does
 * ("Block job failed: Operation not supported"). Returns 0 or -1 with *errp. */
static int commit_base_grow(block_node *base, uint64_t size, error **errp)
{
    error *err = NULL;

    if (block_node_truncate(base, size, false, BLOCK_PREALLOCATION_OFF, false, &err) == 0) {
        return 0;
    }
    if (err != NULL && err->errnum != 0) {
        int errnum = err->errnum;

        error_free(err);
        return error_set_errnum(errp, errnum, "%s", strerror(errnum));
    }
    error_propagate(errp, err);
    return -1;
}

/* Commits top down into base: grows base to top's size when it is shorter, then copies every
 * chunk that an image above base allocates. Returns 0 or -1 with *errp. */
static int commit_data_copy(block_node *top, block_node *base, error **errp)
{
    int64_t top_length = block_node_length(top);
    int64_t base_length = block_node_length(base);
    commit_job job = {.top = top, .base = base};
    int ret = -1;

    if (top_length < 0 || base_length < 0) {
        error_set(errp, "Could not get the image size");
        goto cleanup;
    }
    job.size = (uint64_t)top_length;
    if (top_length > base_length && commit_base_grow(base, job.size, errp) < 0) {
        goto cleanup;
    }
    commit_job_geometry_get(&job);
    job.chunks = (job.size + job.granularity - 1) / job.granularity;
    job.dirty = memory_alloc_zero(job.chunks > 0 ? (size_t)job.chunks : 1);
    job.buffer = memory_alloc_aligned(COMMIT_BUFFER_SIZE);
    if (commit_base_is_zero(&job, &job.base_zero, errp) < 0 || commit_dirty_map_build(&job, errp) < 0) {
        goto cleanup;
    }
    block_node_writeback_begin(base);
    block_node_streaming_set(base); /* each chunk is written once, in ascending order */
    for (uint64_t i = 0; i < job.chunks; i++) {
        if (job.dirty[i] && commit_iteration_run(&job, i, errp) < 0) {
            goto cleanup;
        }
    }
    if (block_node_writeback_end(base, errp) < 0 || block_node_flush(base, errp) < 0) {
        goto cleanup;
    }
    ret = 0;
cleanup:
    free(job.buffer);
    free(job.dirty);
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
        /* qemu-img exits with the image still open: no close-time writes. */
        block_node_abandon(top);
        top = NULL;
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
