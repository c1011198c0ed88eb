/* compare.c — qemu-img compare: do two images read the same, exit codes 0-4 (spec/architecture.md §Command line). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arguments.h"
#include "common.h"
#include "../util/memory.h"
#include "../util/worker.h"

enum {
    COMPARE_SECTOR = 512,
    COMPARE_BUFFER_SIZE = 2 * 1024 * 1024,
};

/* The status bits qemu's strict mode compares (the block layer's internal routing bits left out). */
#define COMPARE_STATUS_MASK                                                                                          \
    (BLOCK_STATUS_DATA | BLOCK_STATUS_ZERO | BLOCK_STATUS_OFFSET_VALID | BLOCK_STATUS_ALLOCATED |                  \
     BLOCK_STATUS_COMPRESSED | BLOCK_STATUS_EOF)

/* One of the two images being compared. */
typedef struct compare_image {
    const char *name;
    block_node *node;
    uint64_t size;
} compare_image;

/* True when the length bytes at buf are all zero. */
static bool compare_buffer_is_zero(const uint8_t *buf, size_t length)
{
    size_t i = 0;
    for (; i < length && (i & 7) != 0; i++)
        if (buf[i])
            return false;
    for (; i + 8 <= length; i += 8) {
        uint64_t word;
        memcpy(&word, buf + i, sizeof(word));
        if (word)
            return false;
    }
    for (; i < length; i++)
        if (buf[i])
            return false;
    return true;
}

/* Offset (a multiple of 512 within buf) of the first 512-byte piece holding a non-zero byte, or -1. */
static int64_t compare_buffer_find_nonzero(const uint8_t *buf, uint64_t length)
{
    for (uint64_t i = 0; i < length; i += COMPARE_SECTOR) {
        uint64_t piece = length - i < COMPARE_SECTOR ? length - i : COMPARE_SECTOR;
        if (!compare_buffer_is_zero(buf + i, (size_t)piece))
            return (int64_t)i;
    }
    return -1;
}

/* Compares two buffers in 512-byte pieces: returns whether the first piece differs and sets *same_run
 * to the length of the leading run of pieces that share that answer. */
static bool compare_buffer_diff(const uint8_t *a, const uint8_t *b, uint64_t length, uint64_t *same_run)
{
    uint64_t first = length < COMPARE_SECTOR ? length : COMPARE_SECTOR;
    bool differs = memcmp(a, b, (size_t)first) != 0;
    uint64_t i = first;
    while (i < length) {
        uint64_t piece = length - i < COMPARE_SECTOR ? length - i : COMPARE_SECTOR;
        if ((memcmp(a + i, b + i, (size_t)piece) != 0) != differs)
            break;
        i += piece;
    }
    *same_run = i;
    return differs;
}

/* Reads [offset, offset+length) of image into buf; on failure prints qemu's read error and returns -1. */
static int compare_image_read(compare_image *image, uint64_t offset, uint64_t length, uint8_t *buf)
{
    error *err = NULL;
    if (block_node_read(image->node, offset, (size_t)length, buf, &err) < 0) {
        cli_error("Error while reading offset %" PRIu64 " of %s: %s", offset, image->name, error_message(err));
        error_free(err);
        return -1;
    }
    return 0;
}

/* One image's read of a chunk, run on the helper thread for the second image. */
typedef struct compare_read {
    compare_image *image;
    uint64_t offset;
    uint64_t length;
    uint8_t *buf;
    int result;
    error *err;
} compare_read;

static void compare_read_run(void *argument)
{
    compare_read *r = argument;
    r->result = block_node_read(r->image->node, r->offset, (size_t)r->length, r->buf, &r->err);
}

/* Reads the same chunk of both images at once, the second on the helper thread; prints the first
 * failure as a sequential compare would (the first image's before the second's) and returns -1. */
static int compare_images_read(compare_image *a, compare_image *b, uint64_t offset, uint64_t length, uint8_t *buf_a,
                               uint8_t *buf_b, worker *helper)
{
    compare_read first = {a, offset, length, buf_a, 0, NULL};
    compare_read second = {b, offset, length, buf_b, 0, NULL};
    worker_run(helper, compare_read_run, &second);
    compare_read_run(&first);
    worker_wait(helper);
    compare_read *failed = first.result < 0 ? &first : second.result < 0 ? &second : NULL;
    if (failed)
        cli_error("Error while reading offset %" PRIu64 " of %s: %s", offset, failed->image->name,
                  error_message(failed->err));
    error_free(first.err);
    error_free(second.err);
    return failed ? -1 : 0;
}

/* Checks that a range of image reads as zeroes: 0 when it does, 1 (after "Content mismatch") when not,
 * 4 on a read error. */
static int compare_image_check_empty(compare_image *image, uint64_t offset, uint64_t length, uint8_t *buf,
                                     bool quiet)
{
    if (compare_image_read(image, offset, length, buf) < 0)
        return 4;
    int64_t index = compare_buffer_find_nonzero(buf, length);
    if (index >= 0) {
        if (!quiet)
            printf("Content mismatch at offset %" PRIu64 "!\n", offset + (uint64_t)index);
        return 1;
    }
    return 0;
}

/* Block status of image at offset to its end; on failure prints qemu's message and returns -1. */
static int compare_image_status_get(compare_image *image, uint64_t offset, block_status_result *status)
{
    error *err = NULL;
    if (block_node_status_above(image->node, NULL, offset, image->size - offset, status, NULL, &err) < 0 ||
        status->length == 0) {
        error_free(err);
        cli_error("Sector allocation test failed for %s", image->name);
        return -1;
    }
    return 0;
}

/* Offsets in whole 512-byte sectors, the unit of qemu's compare progress. */
static uint64_t compare_sectors(uint64_t bytes)
{
    return (bytes + 511) / 512;
}

/* Walks both images over their common length; returns the exit code (0 when still identical). */
static int compare_range_walk(compare_image *a, compare_image *b, bool strict, bool quiet, uint8_t *buf_a,
                               uint8_t *buf_b, uint64_t progress_total, uint64_t *offset_out, worker *helper)
{
    uint64_t common = a->size < b->size ? a->size : b->size;
    uint64_t offset = 0;
    int ret = 0;
    while (offset < common) {
        block_status_result status_a, status_b;
        if (compare_image_status_get(a, offset, &status_a) < 0 || compare_image_status_get(b, offset, &status_b) < 0) {
            ret = 3;
            goto cleanup;
        }
        bool allocated_a = status_a.flags & BLOCK_STATUS_ALLOCATED;
        bool allocated_b = status_b.flags & BLOCK_STATUS_ALLOCATED;
        uint64_t chunk = status_a.length < status_b.length ? status_a.length : status_b.length;
        if (strict && (status_a.flags & COMPARE_STATUS_MASK) != (status_b.flags & COMPARE_STATUS_MASK)) {
            if (!quiet)
                printf("Strict mode: Offset %" PRIu64 " block status mismatch!\n", offset);
            ret = 1;
            goto cleanup;
        }
        if ((status_a.flags & BLOCK_STATUS_ZERO) && (status_b.flags & BLOCK_STATUS_ZERO)) {
            /* Both read as zeroes. */
        } else if (allocated_a == allocated_b) {
            if (allocated_a) {
                if (chunk > COMPARE_BUFFER_SIZE)
                    chunk = COMPARE_BUFFER_SIZE;
                if (compare_images_read(a, b, offset, chunk, buf_a, buf_b, helper) < 0) {
                    ret = 4;
                    goto cleanup;
                }
                uint64_t run;
                bool differs = compare_buffer_diff(buf_a, buf_b, chunk, &run);
                if (differs || run != chunk) {
                    if (!quiet)
                        printf("Content mismatch at offset %" PRIu64 "!\n", offset + (differs ? 0 : run));
                    ret = 1;
                    goto cleanup;
                }
            }
        } else {
            if (chunk > COMPARE_BUFFER_SIZE)
                chunk = COMPARE_BUFFER_SIZE;
            ret = compare_image_check_empty(allocated_a ? a : b, offset, chunk, buf_a, quiet);
            if (ret)
                goto cleanup;
        }
        offset += chunk;
        cli_progress_add(compare_sectors(offset) - compare_sectors(offset - chunk), compare_sectors(progress_total));
    }
cleanup:
    *offset_out = offset;
    return ret;
}

/* Checks that the part of the longer image past the shorter one's end reads as zeroes. */
static int compare_tail_check(compare_image *longer, uint64_t offset, bool quiet, uint8_t *buf, uint64_t progress_total)
{
    int ret = 0;
    while (offset < longer->size) {
        block_status_result status;
        if (compare_image_status_get(longer, offset, &status) < 0) {
            ret = 3;
            goto cleanup;
        }
        uint64_t chunk = status.length;
        if ((status.flags & BLOCK_STATUS_ALLOCATED) && !(status.flags & BLOCK_STATUS_ZERO)) {
            if (chunk > COMPARE_BUFFER_SIZE)
                chunk = COMPARE_BUFFER_SIZE;
            ret = compare_image_check_empty(longer, offset, chunk, buf, quiet);
            if (ret)
                goto cleanup;
        }
        offset += chunk;
        cli_progress_add(compare_sectors(offset) - compare_sectors(offset - chunk), compare_sectors(progress_total));
    }
cleanup:
    return ret;
}

/* The options of compare, in qemu-img's order: -f, -F and -T name the two images' formats and their
 * cache, so they are compare's own. */
static void compare_arguments_build(cli_arguments *a)
{
    cli_arguments_init(a, "compare", false);
    cli_arguments_add_shared(a, CLI_SHARED_HELP, "help", 'h');
    cli_arguments_add(a, "a-format", required_argument, 'f');
    cli_arguments_add(a, "b-format", required_argument, 'F');
    cli_arguments_add_shared(a, CLI_SHARED_IMAGE_OPTS, "image-opts", 0);
    cli_arguments_add(a, "strict", no_argument, 's');
    cli_arguments_add(a, "cache", required_argument, 'T');
    cli_arguments_add_shared(a, CLI_SHARED_FORCE_SHARE, "force-share", 'U');
    cli_arguments_add_shared(a, CLI_SHARED_PROGRESS, "progress", 'p');
    cli_arguments_add_shared(a, CLI_SHARED_QUIET, "quiet", 'q');
    cli_arguments_add_shared(a, CLI_SHARED_OBJECT, "object", 0);
}

/* What compare's own options set. */
typedef struct compare_request {
    const char *format_a;
    const char *format_b;
    const char *cache;
    bool strict;
} compare_request;

/* Takes compare's own option c with argument text. */
static void compare_option_apply(compare_request *request, int c, const char *text)
{
    switch (c) {
    case 'f':
        request->format_a = text;
        break;
    case 'F':
        request->format_b = text;
        break;
    case 'T':
        request->cache = text;
        break;
    default: /* 's' */
        request->strict = true;
        break;
    }
}

/* Opens both images (a->name, b->name) as the options ask. Returns 0, or 2 (reported). */
static int compare_images_open(const compare_request *request, const cli_shared_values *shared, compare_image *a,
                               compare_image *b)
{
    int cache_flags;
    if (block_cache_mode_parse(request->cache, &cache_flags, NULL) < 0) {
        cli_error("Invalid source cache option: %s", request->cache);
        return 2;
    }
    int flags = shared->force_share ? BLOCK_OPEN_FORCE_SHARE : 0;
    a->node = cli_image_open(a->name, request->format_a, shared->image_opts, flags, request->cache, shared->quiet);
    if (a->node == NULL)
        return 2;
    b->node = cli_image_open(b->name, request->format_b, shared->image_opts, flags, request->cache, shared->quiet);
    if (b->node == NULL)
        return 2;
    return 0;
}

/* Compares the contents of the two open images (their common part, then the longer one's tail,
 * which must read as zeroes unless strict refuses different sizes), printing the verdict unless
 * quiet. Returns compare's exit code. */
static int compare_contents(compare_image *a, compare_image *b, bool strict, bool quiet)
{
    a->size = (uint64_t)block_node_length(a->node);
    b->size = (uint64_t)block_node_length(b->node);
    uint8_t *buf_a = memory_alloc_aligned(COMPARE_BUFFER_SIZE);
    uint8_t *buf_b = memory_alloc_aligned(COMPARE_BUFFER_SIZE);
    uint64_t progress_total = a->size > b->size ? a->size : b->size;
    uint64_t offset = 0;
    int ret = 1;
    if (strict && a->size != b->size) {
        if (!quiet)
            printf("Strict mode: Image size mismatch!\n");
        goto cleanup;
    }
    worker helper;
    worker_start(&helper); /* when it cannot start, the second read runs after the first */
    ret = compare_range_walk(a, b, strict, quiet, buf_a, buf_b, progress_total, &offset, &helper);
    worker_stop(&helper);
    if (ret)
        goto cleanup;
    if (a->size != b->size) {
        if (!quiet)
            printf("Warning: Image size mismatch!\n");
        ret = compare_tail_check(a->size > b->size ? a : b, offset, quiet, buf_a, progress_total);
        if (ret)
            goto cleanup;
    }
    if (!quiet)
        printf("Images are identical.\n");
cleanup:
    free(buf_a);
    free(buf_b);
    return ret;
}

/* qemu-img compare [-f FMT] [-F FMT] [--image-opts] [-s] [-T CACHE] [-U] [-p] [-q] FILE1 FILE2.
 * Returns 0 identical, 1 different (or usage error), 2 open failure, 3 status failure, 4 read failure. */
int cli_command_compare(int argc, char **argv)
{
    cli_arguments arguments;
    cli_shared_values shared = {0};
    compare_request request = {.cache = "writeback"};
    compare_image a = {0}, b = {0};
    int ret = 0, exit_code = 0;
    int c;

    compare_arguments_build(&arguments);
    while ((c = cli_arguments_next(&arguments, argc, argv, &shared, &exit_code)) != CLI_ARGUMENTS_END) {
        if (c == CLI_ARGUMENTS_EXIT)
            return exit_code;
        compare_option_apply(&request, c, optarg);
    }
    bool progress = shared.progress && !shared.quiet;
    if (optind != argc - 2)
        return cli_usage_error(argv[0], "Expecting two image file names");
    a.name = argv[optind];
    b.name = argv[optind + 1];

    cli_progress_arm(progress);
    ret = compare_images_open(&request, &shared, &a, &b);
    if (ret == 0) {
        cli_progress_begin(progress);
        ret = compare_contents(&a, &b, request.strict, shared.quiet);
    }
    block_node_close(b.node);
    block_node_close(a.node);
    cli_progress_end();
    return ret;
}
