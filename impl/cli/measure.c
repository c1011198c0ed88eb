/* measure.c — `qemu-img measure`: the file size an image of a format needs, from a size or from an
 * existing image (spec/architecture.md §Command line). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arguments.h"
#include "common.h"
#include "../util/json.h"
#include "../util/memory.h"

/* measure's own options. */
typedef struct measure_request {
    const char *out_format;
    cli_snapshot_spec snapshot;
    char *options;
    int64_t size; /* -1: not given */
} measure_request;

/* The options of measure, in qemu-img's order (the one its ambiguous abbreviations list); the
 * source-* and target-format-options long names are other spellings of -f, --image-opts and -o. */
static void measure_arguments_build(cli_arguments *a)
{
    cli_arguments_init(a, "measure", false);
    cli_arguments_add_shared(a, CLI_SHARED_HELP, "help", 'h');
    cli_arguments_add(a, "target-format", required_argument, 'O');
    cli_arguments_add(a, "options", required_argument, 'o');
    cli_arguments_add_alias(a, "target-format-options", 'o');
    cli_arguments_add_shared(a, CLI_SHARED_FORMAT, "format", 'f');
    cli_arguments_add_shared(a, CLI_SHARED_FORMAT, "source-format", 0);
    cli_arguments_add_shared(a, CLI_SHARED_IMAGE_OPTS, "image-opts", 0);
    cli_arguments_add_shared(a, CLI_SHARED_IMAGE_OPTS, "source-image-opts", 0);
    cli_arguments_add(a, "snapshot", required_argument, 'l');
    cli_arguments_add_shared(a, CLI_SHARED_OUTPUT, "output", 0);
    cli_arguments_add_shared(a, CLI_SHARED_OBJECT, "object", 0);
    cli_arguments_add(a, "size", required_argument, 's');
    cli_arguments_add_shared(a, CLI_SHARED_FORCE_SHARE, "force-share", 'U');
}

/* Takes measure's own option c with argument text; 0, or -1 (reported). */
static int measure_option_apply(measure_request *request, int c, const char *text)
{
    switch (c) {
    case 'O':
        request->out_format = text;
        return 0;
    case 'o':
        return cli_options_accumulate(&request->options, text);
    case 'l':
        return cli_snapshot_spec_parse(&request->snapshot, text);
    default: /* 's' */
        return cli_size_argument("image size", text, 0, INT64_MAX, &request->size);
    }
}

/* Picks the file name among the operands and checks it against --size, -f, --image-opts and -l;
 * *filename is NULL when measuring by size. Returns 0, or -1 (reported). */
static int measure_operands_check(const measure_request *request, const cli_shared_values *shared, int argc,
                                  char **argv, const char **filename)
{
    *filename = NULL;
    if (argc - optind > 1) {
        cli_error("At most one filename argument is allowed.");
        return -1;
    }
    if (argc - optind == 1)
        *filename = argv[optind];
    if (!*filename && (shared->image_opts || shared->format || cli_snapshot_spec_given(&request->snapshot))) {
        cli_error("--image-opts, -f, and -l require a filename argument.");
        return -1;
    }
    if (*filename && request->size != -1) {
        cli_error("--size N cannot be used together with a filename.");
        return -1;
    }
    if (!*filename && request->size == -1) {
        cli_error("Either --size N or one filename must be specified.");
        return -1;
    }
    return 0;
}

/* The driver of the target format, which must be able to create images; NULL (reported) otherwise. */
static const block_driver *measure_driver_find(const char *out_format)
{
    const block_driver *driver = block_driver_find(out_format);
    if (driver == NULL) {
        cli_error("Unknown file format '%s'", out_format);
        return NULL;
    }
    if (driver->create_options == NULL) {
        cli_error("Format driver '%s' does not support image creation", driver->format_name);
        return NULL;
    }
    return driver;
}

/* Parses the -o text against the creation options of driver (and the protocol's) into *opts, with
 * the --size value as "size". Returns 0, or -1 (reported; *opts is freed). */
static int measure_options_build(const block_driver *driver, const measure_request *request, option_list *opts)
{
    option_desc_list descs = {0};
    error *err = NULL;
    int ret = 0;
    option_desc_list_append(&descs, driver->create_options);
    option_desc_list_append(&descs, block_driver_find_protocol("")->create_options);
    if (request->options && (option_list_parse(opts, request->options, NULL, &err) < 0 ||
                             option_list_validate(opts, &descs, &err) < 0)) {
        cli_error_report(err, NULL);
        cli_error("Invalid options for file format '%s'", request->out_format);
        option_list_free(opts);
        ret = -1;
    } else if (request->size != -1) {
        char text[32];
        snprintf(text, sizeof(text), "%lld", (long long)request->size);
        option_list_set(opts, "size", text);
    }
    option_desc_list_free(&descs);
    return ret;
}

/* Asks driver how large an image of the options (and of the source in, or of size bytes) gets.
 * Returns 0, or -1 (reported). */
static int measure_compute(const block_driver *driver, option_list *opts, block_node *in, int64_t size,
                           measure_result *result)
{
    error *err = NULL;
    memset(result, 0, sizeof(*result));
    if (driver->measure == NULL) {
        cli_error("Block driver '%s' does not support size measurement", driver->format_name);
        return -1;
    }
    if (driver->measure(opts, in, size != -1 ? (uint64_t)size : 0, result, &err) < 0) {
        cli_error_report(err, NULL);
        return -1;
    }
    return 0;
}

/* Prints result as qemu-img does, human or JSON. */
static void measure_result_print(const measure_result *result, bool json)
{
    if (json) {
        json_value *o = json_object_new();
        json_object_set_uint(o, "required", result->required);
        json_object_set_uint(o, "fully-allocated", result->fully_allocated);
        if (result->has_bitmaps)
            json_object_set_uint(o, "bitmaps", result->bitmaps);
        char *text = json_print_pretty(o);
        printf("%s\n", text);
        free(text);
        json_free(o);
    } else {
        printf("required size: %llu\n", (unsigned long long)result->required);
        printf("fully allocated size: %llu\n", (unsigned long long)result->fully_allocated);
        if (result->has_bitmaps)
            printf("bitmaps size: %llu\n", (unsigned long long)result->bitmaps);
    }
}

/* `qemu-img measure [-O FMT] [-o OPTIONS] [--output=human|json] (--size N | [-f FMT|--image-opts] [-l SNAPSHOT]
 * [-U] FILE)`: prints the sizes an image of FMT needs. Returns 0 or 1. */
int cli_command_measure(int argc, char **argv)
{
    cli_arguments arguments;
    cli_shared_values shared = {0};
    measure_request request = {.out_format = "raw", .size = -1};
    option_list opts = {0};
    measure_result result;
    const char *filename;
    block_node *in = NULL;
    int ret = 1;
    int c;
    measure_arguments_build(&arguments);
    while ((c = cli_arguments_next(&arguments, argc, argv, &shared, &ret)) != CLI_ARGUMENTS_END) {
        if (c == CLI_ARGUMENTS_EXIT)
            goto cleanup;
        if (measure_option_apply(&request, c, optarg) < 0) {
            ret = 1;
            goto cleanup;
        }
    }
    ret = 1;
    if (measure_operands_check(&request, &shared, argc, argv, &filename) < 0)
        goto cleanup;
    if (filename) {
        int flags = shared.force_share ? BLOCK_OPEN_FORCE_SHARE : 0;
        in = cli_image_open(filename, shared.format, shared.image_opts, flags, NULL, false);
        if (in == NULL)
            goto cleanup;
        if (cli_snapshot_spec_given(&request.snapshot) && cli_snapshot_spec_load(&request.snapshot, in) < 0)
            goto cleanup;
    }
    const block_driver *driver = measure_driver_find(request.out_format);
    if (driver == NULL || measure_options_build(driver, &request, &opts) < 0)
        goto cleanup;
    if (measure_compute(driver, &opts, in, request.size, &result) < 0)
        goto cleanup;
    measure_result_print(&result, shared.json);
    ret = 0;
cleanup:
    option_list_free(&opts);
    block_node_close(in);
    free(request.options);
    cli_snapshot_spec_free(&request.snapshot);
    return ret;
}
