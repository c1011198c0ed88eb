/* bench.c — qemu-img bench: times a run of fixed-size read or write requests (spec/architecture.md §Command line). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "common.h"
#include "../util/memory.h"

enum {
    BENCH_OPTION_IMAGE_OPTS = 256,
    BENCH_OPTION_PATTERN,
    BENCH_OPTION_FLUSH_INTERVAL,
    BENCH_OPTION_NO_DRAIN,
    BENCH_OPTION_OBJECT,
};

/* One benchmark run as the options describe it. */
typedef struct bench_plan {
    bool write;
    int64_t count;
    int64_t depth;
    int64_t offset;
    int64_t buffer_size;
    int64_t step;
    int64_t pattern;
    int64_t flush_interval;
    bool drain_on_flush;
} bench_plan;

/* Checks the aio backend name of -i (qemu's bdrv_parse_aio); sets *native for "native".
 * io_uring is refused, as by the 10.2 build the product follows (built without liburing). */
static int bench_aio_parse(const char *text, bool *native)
{
    if (strcmp(text, "native") == 0) {
        *native = true;
        return 0;
    }
    if (strcmp(text, "threads") == 0) {
        *native = false;
        return 0;
    }
    return -1;
}

/* Seconds elapsed between two time stamps. */
static double bench_time_elapsed(const struct timeval *start, const struct timeval *end)
{
    return (double)(end->tv_sec - start->tv_sec) + (double)(end->tv_usec - start->tv_usec) / 1000000.0;
}

/* Issues the plan's requests one after another over node (image_size bytes); returns 0 or -1 after
 * printing qemu's failure message. */
static int bench_plan_run(const bench_plan *plan, block_node *node, uint64_t image_size)
{
    uint8_t *buf = memory_alloc_aligned((size_t)plan->buffer_size);
    memset(buf, (int)plan->pattern, (size_t)plan->buffer_size);
    uint64_t offset = (uint64_t)plan->offset;
    uint64_t size = (uint64_t)plan->buffer_size;
    uint64_t step = (uint64_t)plan->step;
    error *err = NULL;
    int ret = 0;
    for (int64_t done = 0; done < plan->count; done++) {
        uint64_t request_offset = offset;
        offset += step;
        if (image_size <= size)
            offset = 0;
        else
            offset %= image_size - size;
        if (request_offset > image_size || image_size - request_offset < size) {
            cli_error("Failed request: %s", strerror(EIO));
            ret = -1;
            goto cleanup;
        }
        int r = plan->write ? block_node_write(node, request_offset, (size_t)size, buf, 0, &err)
                            : block_node_read(node, request_offset, (size_t)size, buf, &err);
        if (r < 0) {
            cli_error("Failed request: %s", error_message(err));
            ret = -1;
            goto cleanup;
        }
        if (plan->flush_interval && (done + 1) % plan->flush_interval == 0 && block_node_flush(node, &err) < 0) {
            cli_error("Failed flush request: %s", error_message(err));
            ret = -1;
            goto cleanup;
        }
    }
cleanup:
    error_free(err);
    free(buf);
    return ret;
}

/* qemu-img bench [-f FMT|--image-opts] [-t CACHE] [-c COUNT] [-d DEPTH] [-o OFFSET] [-s SIZE] [-S STEP]
 * [-w [--pattern P] [--flush-interval N [--no-drain]]] [-i AIO] [-n] [-U] [-q] FILE. Returns 0 or 1. */
int cli_command_bench(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"help", no_argument, NULL, 'h'},
        {"format", required_argument, NULL, 'f'},
        {"image-opts", no_argument, NULL, BENCH_OPTION_IMAGE_OPTS},
        {"cache", required_argument, NULL, 't'},
        {"count", required_argument, NULL, 'c'},
        {"depth", required_argument, NULL, 'd'},
        {"offset", required_argument, NULL, 'o'},
        {"buffer-size", required_argument, NULL, 's'},
        {"step-size", required_argument, NULL, 'S'},
        {"write", no_argument, NULL, 'w'},
        {"pattern", required_argument, NULL, BENCH_OPTION_PATTERN},
        {"flush-interval", required_argument, NULL, BENCH_OPTION_FLUSH_INTERVAL},
        {"no-drain", no_argument, NULL, BENCH_OPTION_NO_DRAIN},
        {"aio", required_argument, NULL, 'i'},
        {"native", no_argument, NULL, 'n'},
        {"force-share", no_argument, NULL, 'U'},
        {"quiet", no_argument, NULL, 'q'},
        {"object", required_argument, NULL, BENCH_OPTION_OBJECT},
        {NULL, 0, NULL, 0},
    };
    bench_plan plan = {
        .count = 75000,
        .depth = 64,
        .buffer_size = 4096,
        .drain_on_flush = true,
    };
    const char *format = NULL, *cache = NULL;
    bool image_opts = false, force_share = false, quiet = false, native = false;
    int cache_flags = 0;
    block_node *node = NULL;
    error *err = NULL;
    int ret = 1;
    int c;

    while ((c = getopt_long(argc, argv, "hf:t:c:d:o:s:S:wi:nUq", long_options, NULL)) != -1) {
        switch (c) {
        case 'h':
            cli_help_command_print("bench");
            return 0;
        case 'f':
            format = optarg;
            break;
        case BENCH_OPTION_IMAGE_OPTS:
            image_opts = true;
            break;
        case 't':
            if (block_cache_mode_parse(optarg, &cache_flags, &err) < 0) {
                error_free(err);
                cli_error("Invalid cache mode");
                return 1;
            }
            cache = optarg;
            break;
        case 'c':
            if (cli_number_argument("request count", optarg, 1, INT_MAX, &plan.count) < 0)
                return 1;
            break;
        case 'd':
            if (cli_number_argument("queue depth", optarg, 1, INT_MAX, &plan.depth) < 0)
                return 1;
            break;
        case 'n':
            native = true;
            break;
        case 'i':
            if (bench_aio_parse(optarg, &native) < 0) {
                cli_error("Invalid aio option: %s", optarg);
                return 1;
            }
            break;
        case 'o':
            if (cli_size_argument("offset", optarg, 0, INT64_MAX, &plan.offset) < 0)
                return 1;
            break;
        case 's':
            if (cli_size_argument("buffer size", optarg, 1, INT_MAX, &plan.buffer_size) < 0)
                return 1;
            break;
        case 'S':
            if (cli_size_argument("step size", optarg, 0, INT_MAX, &plan.step) < 0)
                return 1;
            break;
        case 'w':
            plan.write = true;
            break;
        case BENCH_OPTION_PATTERN:
            if (cli_number_argument("pattern byte", optarg, 0, 0xff, &plan.pattern) < 0)
                return 1;
            break;
        case BENCH_OPTION_FLUSH_INTERVAL:
            if (cli_number_argument("flush interval", optarg, 0, INT_MAX, &plan.flush_interval) < 0)
                return 1;
            break;
        case BENCH_OPTION_NO_DRAIN:
            plan.drain_on_flush = false;
            break;
        case 'U':
            force_share = true;
            break;
        case 'q':
            quiet = true;
            break;
        case BENCH_OPTION_OBJECT:
            if (cli_object_add(optarg) < 0)
                return 1;
            break;
        default:
            return cli_usage_try(argv[0]);
        }
    }
    if (optind != argc - 1)
        return cli_usage_error(argv[0], "Expecting one image file name");
    const char *filename = argv[argc - 1];
    if (!plan.write && plan.flush_interval) {
        cli_error("--flush-interval is only available in write tests");
        goto cleanup;
    }
    if (plan.flush_interval && plan.flush_interval < plan.depth) {
        cli_error("Flush interval can't be smaller than depth");
        goto cleanup;
    }
    if (native && !(cache_flags & BLOCK_OPEN_CACHE_DIRECT)) {
        cli_error("Could not open '%s': aio=native was specified, but it requires cache.direct=on, which was not "
                  "specified.",
                  filename);
        goto cleanup;
    }
    int flags = (plan.write ? BLOCK_OPEN_READ_WRITE : 0) | (force_share ? BLOCK_OPEN_FORCE_SHARE : 0);
    node = cli_image_open(filename, format, image_opts, flags, cache, quiet);
    if (node == NULL)
        goto cleanup;
    int64_t image_size = block_node_length(node);
    if (image_size < 0)
        goto cleanup;
    if (plan.step == 0)
        plan.step = plan.buffer_size;
    printf("Sending %d %s requests, %d bytes each, %d in parallel (starting at offset %" PRId64
           ", step size %d)\n",
           (int)plan.count, plan.write ? "write" : "read", (int)plan.buffer_size, (int)plan.depth, plan.offset,
           (int)plan.step);
    if (plan.flush_interval)
        printf("Sending flush every %d requests\n", (int)plan.flush_interval);
    fflush(stdout);

    struct timeval start, end;
    gettimeofday(&start, NULL);
    if (bench_plan_run(&plan, node, (uint64_t)image_size) < 0)
        goto cleanup;
    gettimeofday(&end, NULL);
    printf("Run completed in %3.3f seconds.\n", bench_time_elapsed(&start, &end));
    ret = 0;

cleanup:
    block_node_close(node);
    return ret;
}
