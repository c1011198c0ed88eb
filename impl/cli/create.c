/* create.c — `qemu-img create`: a new image of any format, with -o options, backing file and size
 * (spec/architecture.md §Command line). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arguments.h"
#include "common.h"
#include "../util/memory.h"

/* Appends one -o argument to the accumulated option text (qemu's accumulate_options). */
int cli_options_accumulate(char **options, const char *text)
{
    if (!option_text_is_valid(text)) {
        cli_error("Invalid option list: %s", text);
        return -1;
    }
    char *joined = *options ? memory_printf("%s,%s", *options, text) : memory_strdup(text);
    free(*options);
    *options = joined;
    return 0;
}

/* `-o help`: the format's option table (and the protocol's when a file name is given). */
int cli_options_help_print(const char *filename, const char *format)
{
    const block_driver *driver = block_driver_find(format);
    if (driver == NULL) {
        cli_error("Unknown file format '%s'", format);
        return 1;
    }
    if (driver->create_options == NULL) {
        cli_error("Format driver '%s' does not support image creation", driver->format_name);
        return 1;
    }
    option_desc_list descs = {0};
    option_desc_list_append(&descs, driver->create_options);
    if (filename)
        option_desc_list_append(&descs, block_driver_find_protocol(filename)->create_options);
    /* With a file name the table merges format and protocol options: no format in the caption. */
    if (filename)
        printf("Supported options:\n");
    else
        printf("Supported %s options:\n", driver->format_name);
    option_desc_list_print_table(&descs);
    if (filename == NULL)
        printf("\nThe protocol level may support further options.\n"
               "Specify the target filename to include those options.\n");
    option_desc_list_free(&descs);
    return 0;
}

/* qemu-img create words a failure caused by EFBIG as a size problem of the format, with a hint
 * when the format has a cluster size to grow (qemu's bdrv_img_create). */
static void create_size_error_reword(error *err, const block_create_plan *plan, const char *format)
{
    if (err == NULL || err->errnum != EFBIG)
        return;
    const option_desc *cluster = option_desc_list_find(&plan->descs, "cluster_size");
    bool hint = cluster && (cluster->default_value || option_list_get(&plan->options, "cluster_size"));
    free(err->message);
    err->message = memory_printf("The image size is too large for file format '%s'%s", format,
                                 hint ? " (try using a larger cluster size)" : "");
}

/* The options of create, in qemu-img's order. */
static void create_arguments_build(cli_arguments *a)
{
    cli_arguments_init(a, "create", false);
    cli_arguments_add_shared(a, CLI_SHARED_HELP, "help", 'h');
    cli_arguments_add_shared(a, CLI_SHARED_FORMAT, "format", 'f');
    cli_arguments_add(a, "options", required_argument, 'o');
    cli_arguments_add(a, "backing", required_argument, 'b');
    cli_arguments_add_short(a, 'F', required_argument);
    cli_arguments_add(a, "backing-format", required_argument, 'B');
    cli_arguments_add(a, "backing-unsafe", no_argument, 'u');
    cli_arguments_add_shared(a, CLI_SHARED_QUIET, "quiet", 'q');
    cli_arguments_add_shared(a, CLI_SHARED_OBJECT, "object", 0);
}

/* What create's own options set. */
typedef struct create_request {
    char *options;
    const char *backing_file;
    const char *backing_format;
    bool unsafe_backing;
} create_request;

/* Takes create's own option c with argument text; 0, or -1 (reported). */
static int create_option_apply(create_request *request, int c, const char *text)
{
    switch (c) {
    case 'o':
        return cli_options_accumulate(&request->options, text);
    case 'b':
        request->backing_file = text;
        return 0;
    case 'F':
    case 'B':
        request->backing_format = text;
        return 0;
    default: /* 'u' */
        request->unsafe_backing = true;
        return 0;
    }
}

/* `qemu-img create [-f FMT] [-o OPTIONS] [-b BACKING [-B BACKING_FMT] [-u]] [-q] FILE [SIZE]`: creates
 * FILE, or prints the format's options for "-o help". Returns the exit code. */
int cli_command_create(int argc, char **argv)
{
    cli_arguments arguments;
    cli_shared_values shared = {0};
    create_request request = {0};
    int ret = 1;
    int c;
    create_arguments_build(&arguments);
    while ((c = cli_arguments_next(&arguments, argc, argv, &shared, &ret)) != CLI_ARGUMENTS_END) {
        if (c == CLI_ARGUMENTS_EXIT)
            goto cleanup;
        if (create_option_apply(&request, c, optarg) < 0) {
            ret = 1;
            goto cleanup;
        }
    }
    ret = 1;
    const char *format = shared.format ? shared.format : "raw";
    const char *backing_file = request.backing_file, *backing_format = request.backing_format;
    const char *options = request.options;
    bool unsafe_backing = request.unsafe_backing;
    const char *filename = optind < argc ? argv[optind] : NULL;
    if (options && option_text_has_help(options)) {
        ret = cli_options_help_print(filename, format);
        goto cleanup;
    }
    if (optind >= argc) {
        ret = cli_usage_error(argv[0], "Expecting image file name");
        goto cleanup;
    }
    optind++;
    int64_t size = -1;
    if (optind < argc) {
        if (cli_size_argument("image size", argv[optind++], 0, INT64_MAX, &size) < 0)
            goto cleanup;
    }
    if (optind != argc) {
        ret = cli_usage_error(argv[0], "Unexpected argument: %s", argv[optind]);
        goto cleanup;
    }
    block_create_plan plan;
    error *err = NULL;
    if (block_create_prepare(&plan, filename, format, backing_file, backing_format, options,
                             size < 0 ? UINT64_MAX : (uint64_t)size, unsafe_backing, &err) < 0) {
        char *prefix = memory_printf("%s: ", filename);
        cli_error_report(err, prefix);
        free(prefix);
        block_create_plan_free(&plan);
        goto cleanup;
    }
    if (!cli_quiet) {
        printf("%s\n", plan.formatting_line);
        fflush(stdout);
    }
    if (block_create_run(&plan, &err) < 0) {
        create_size_error_reword(err, &plan, format);
        char *prefix = memory_printf("%s: ", filename);
        cli_error_report(err, prefix);
        free(prefix);
        block_create_plan_free(&plan);
        goto cleanup;
    }
    block_create_plan_free(&plan);
    ret = 0;
cleanup:
    free(request.options);
    return ret;
}
