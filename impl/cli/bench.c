/* bench.c — qemu-img bench: times a run of fixed-size read or write requests (spec/architecture.md §Command line). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "arguments.h"
#include "common.h"
#include "../util/memory.h"

/* bench's own long-only options. */
enum {
    BENCH_OPTION_PATTERN = CLI_ARGUMENT_FIRST_OWN,
    BENCH_OPTION_FLUSH_INTERVAL,
    BENCH_OPTION_NO_DRAIN,
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
 * "threads" is the default and leaves an earlier -n or -i native in force, as in qemu.
 * io_uring is refused, as by the 10.2 build the product follows (built without liburing). */
static int bench_aio_parse(const char *text, bool *native)
{
    if (strcmp(text, "native") == 0) {
        *native = true;
        return 0;
    }
    if (strcmp(text, "threads") == 0) {
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

/* The options of bench, in qemu-img's order; -t is bench's own (checked as it is parsed). */
static void bench_arguments_build(cli_arguments *a)
{
    cli_arguments_init(a, "bench", false);
    cli_arguments_add_shared(a, CLI_SHARED_HELP, "help", 'h');
    cli_arguments_add_shared(a, CLI_SHARED_FORMAT, "format", 'f');
    cli_arguments_add_shared(a, CLI_SHARED_IMAGE_OPTS, "image-opts", 0);
    cli_arguments_add(a, "cache", required_argument, 't');
    cli_arguments_add(a, "count", required_argument, 'c');
    cli_arguments_add(a, "depth", required_argument, 'd');
    cli_arguments_add(a, "offset", required_argument, 'o');
    cli_arguments_add(a, "buffer-size", required_argument, 's');
    cli_arguments_add(a, "step-size", required_argument, 'S');
    cli_arguments_add(a, "write", no_argument, 'w');
    cli_arguments_add_long(a, "pattern", required_argument, BENCH_OPTION_PATTERN);
    cli_arguments_add_long(a, "flush-interval", required_argument, BENCH_OPTION_FLUSH_INTERVAL);
    cli_arguments_add_long(a, "no-drain", no_argument, BENCH_OPTION_NO_DRAIN);
    cli_arguments_add(a, "aio", required_argument, 'i');
    cli_arguments_add(a, "native", no_argument, 'n');
    cli_arguments_add_shared(a, CLI_SHARED_FORCE_SHARE, "force-share", 'U');
    cli_arguments_add_shared(a, CLI_SHARED_QUIET, "quiet", 'q');
    cli_arguments_add_shared(a, CLI_SHARED_OBJECT, "object", 0);
}

/* What bench's own options set besides the plan. */
typedef struct bench_request {
    bench_plan plan;
    const char *cache; /* NULL: the default */
    int cache_flags;
    bool native;
} bench_request;

/* Takes -t CACHE; 0, or -1 after "Invalid cache mode". */
static int bench_cache_apply(bench_request *request, const char *text)
{
    error *err = NULL;
    if (block_cache_mode_parse(text, &request->cache_flags, &err) < 0) {
        error_free(err);
        cli_error("Invalid cache mode");
        return -1;
    }
    request->cache = text;
    return 0;
}

/* Takes -i AIO; 0, or -1 after "Invalid aio option". */
static int bench_aio_apply(bench_request *request, const char *text)
{
    if (bench_aio_parse(text, &request->native) < 0) {
        cli_error("Invalid aio option: %s", text);
        return -1;
    }
    return 0;
}

/* Takes bench's own option c with argument text; 0, or -1 (reported). */
static int bench_option_apply(bench_request *request, int c, const char *text)
{
    bench_plan *plan = &request->plan;
    switch (c) {
    case 't':
        return bench_cache_apply(request, text);
    case 'c':
        return cli_number_argument("request count", text, 1, INT_MAX, &plan->count);
    case 'd':
        return cli_number_argument("queue depth", text, 1, INT_MAX, &plan->depth);
    case 'n':
        request->native = true;
        return 0;
    case 'i':
        return bench_aio_apply(request, text);
    case 'o':
        return cli_size_argument("offset", text, 0, INT64_MAX, &plan->offset);
    case 's':
        return cli_size_argument("buffer size", text, 1, INT_MAX, &plan->buffer_size);
    case 'S':
        return cli_size_argument("step size", text, 0, INT_MAX, &plan->step);
    case 'w':
        plan->write = true;
        return 0;
    case BENCH_OPTION_PATTERN:
        return cli_number_argument("pattern byte", text, 0, 0xff, &plan->pattern);
    case BENCH_OPTION_FLUSH_INTERVAL:
        return cli_number_argument("flush interval", text, 0, INT_MAX, &plan->flush_interval);
    default: /* BENCH_OPTION_NO_DRAIN */
        plan->drain_on_flush = false;
        return 0;
    }
}

/* qemu-img bench [-f FMT|--image-opts] [-t CACHE] [-c COUNT] [-d DEPTH] [-o OFFSET] [-s SIZE] [-S STEP]
 * [-w [--pattern P] [--flush-interval N [--no-drain]]] [-i AIO] [-n] [-U] [-q] FILE. Returns 0 or 1. */
int cli_command_bench(int argc, char **argv)
{
    cli_arguments arguments;
    cli_shared_values shared = {0};
    bench_request request = {
        .plan = {.count = 75000, .depth = 64, .buffer_size = 4096, .drain_on_flush = true},
    };
    block_node *node = NULL;
    int ret = 1, exit_code = 0;
    int c;

    bench_arguments_build(&arguments);
    while ((c = cli_arguments_next(&arguments, argc, argv, &shared, &exit_code)) != CLI_ARGUMENTS_END) {
        if (c == CLI_ARGUMENTS_EXIT)
            return exit_code;
        if (bench_option_apply(&request, c, optarg) < 0)
            return 1;
    }
    bench_plan plan = request.plan;
    const char *format = shared.format, *cache = request.cache;
    bool image_opts = shared.image_opts, force_share = shared.force_share, quiet = shared.quiet;
    bool native = request.native;
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
    /* aio=native without O_DIRECT is refused by the file protocol as it opens, after the file
     * itself is found, as in qemu. */
    int flags = (plan.write ? BLOCK_OPEN_READ_WRITE : 0) | (force_share ? BLOCK_OPEN_FORCE_SHARE : 0) |
                (native ? BLOCK_OPEN_NATIVE_AIO : 0);
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
