/* create.c — `qemu-img create`: a new image of any format, with -o options, backing file and size
 * (spec/architecture.md §Command line). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "../util/memory.h"

enum { CREATE_OPTION_OBJECT = 256 };

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

int cli_command_create(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"help", no_argument, NULL, 'h'},
        {"format", required_argument, NULL, 'f'},
        {"options", required_argument, NULL, 'o'},
        {"backing", required_argument, NULL, 'b'},
        {"backing-format", required_argument, NULL, 'B'},
        {"backing-unsafe", no_argument, NULL, 'u'},
        {"quiet", no_argument, NULL, 'q'},
        {"object", required_argument, NULL, CREATE_OPTION_OBJECT},
        {NULL, 0, NULL, 0},
    };
    const char *format = "raw", *backing_format = NULL, *backing_file = NULL;
    char *options = NULL;
    bool unsafe_backing = false;
    int ret = 1;
    int c;
    while ((c = getopt_long(argc, argv, "hf:o:b:F:B:uq", long_options, NULL)) != -1) {
        switch (c) {
        case 'h':
            cli_help_command_print("create");
            free(options);
            return 0;
        case 'f':
            format = optarg;
            break;
        case 'o':
            if (cli_options_accumulate(&options, optarg) < 0)
                goto cleanup;
            break;
        case 'b':
            backing_file = optarg;
            break;
        case 'F':
        case 'B':
            backing_format = optarg;
            break;
        case 'u':
            unsafe_backing = true;
            break;
        case 'q':
            cli_quiet = true;
            break;
        case CREATE_OPTION_OBJECT:
            if (cli_object_add(optarg) < 0)
                goto cleanup;
            break;
        default:
            free(options);
            return cli_usage_try(argv[0]);
        }
    }
    const char *filename = optind < argc ? argv[optind] : NULL;
    if (options && option_text_has_help(options)) {
        ret = cli_options_help_print(filename, format);
        goto cleanup;
    }
    if (optind >= argc) {
        free(options);
        return cli_usage_error(argv[0], "Expecting image file name");
    }
    optind++;
    int64_t size = -1;
    if (optind < argc) {
        if (cli_size_argument("image size", argv[optind++], 0, INT64_MAX, &size) < 0)
            goto cleanup;
    }
    if (optind != argc) {
        free(options);
        return cli_usage_error(argv[0], "Unexpected argument: %s", argv[optind]);
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
    free(options);
    return ret;
}
