/* amend.c — `qemu-img amend`: changes format-specific options of an existing image through its driver's amend operation (spec/architecture.md §Command line). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arguments.h"
#include "common.h"
#include "../util/memory.h"
#include "../util/options.h"

/* amend's own long-only option. */
enum { AMEND_OPTION_FORCE = CLI_ARGUMENT_FIRST_OWN };

/* Everything the command line of amend asks for. */
typedef struct amend_arguments {
    char *options;          /* every -o joined with ',' (owned) */
    const char *format;     /* -f */
    const char *cache_mode; /* -t */
    bool image_opts;
    bool force;
    bool progress;
    bool quiet;
} amend_arguments;

/* Prints "Amend options for 'FORMAT':" and the driver's amend options; returns the exit code
 * (1 with "Unknown file format" or "does not support option amendment"). */
static int amend_option_help_print(const char *format)
{
    const block_driver *driver = block_driver_find(format);
    int ret = 1;

    if (driver == NULL) {
        cli_error("Unknown file format '%s'", format);
        goto cleanup;
    }
    if (driver->amend == NULL) {
        cli_error("Format driver '%s' does not support option amendment", format);
        goto cleanup;
    }
    printf("Amend options for '%s':\n", format);
    option_desc_list descs = {0};
    option_desc_list_append(&descs, driver->amend_options);
    option_desc_list_print_table(&descs);
    option_desc_list_free(&descs);
    ret = 0;
cleanup:
    return ret;
}

/* Parses options_text against the driver's amend options. On failure prints qemu's message and,
 * when the text would be valid as creation options, the hint that the option only applies to
 * creation. Returns 0 or -1. */
static int amend_options_parse(const block_driver *driver, const char *options_text, option_list *out)
{
    option_desc_list amend_descs = {0};
    option_desc_list all_descs = {0};
    option_list probe = {0};
    error *err = NULL;
    int ret = -1;

    option_desc_list_append(&amend_descs, driver->amend_options);
    if (option_list_parse(out, options_text, NULL, &err) < 0 || option_list_validate(out, &amend_descs, &err) < 0) {
        bool creation_only = false;

        option_desc_list_append(&all_descs, driver->amend_options);
        option_desc_list_append(&all_descs, driver->create_options);
        if (option_list_parse(&probe, options_text, NULL, NULL) == 0 &&
            option_list_validate(&probe, &all_descs, NULL) == 0) {
            creation_only = true;
        }
        cli_error_report(err, NULL);
        err = NULL;
        if (creation_only) {
            fputs("This option is only supported for image creation\n", stderr);
        }
        goto cleanup;
    }
    ret = 0;
cleanup:
    error_free(err);
    option_list_free(&probe);
    option_desc_list_free(&amend_descs);
    option_desc_list_free(&all_descs);
    return ret;
}

/* The options of amend, in qemu-img's order. */
static void amend_arguments_build(cli_arguments *a)
{
    cli_arguments_init(a, "amend", false);
    cli_arguments_add_shared(a, CLI_SHARED_HELP, "help", 'h');
    cli_arguments_add(a, "options", required_argument, 'o');
    cli_arguments_add_shared(a, CLI_SHARED_FORMAT, "format", 'f');
    cli_arguments_add_shared(a, CLI_SHARED_IMAGE_OPTS, "image-opts", 0);
    cli_arguments_add_shared(a, CLI_SHARED_CACHE, "cache", 't');
    cli_arguments_add_long(a, "force", no_argument, AMEND_OPTION_FORCE);
    cli_arguments_add_shared(a, CLI_SHARED_PROGRESS, "progress", 'p');
    cli_arguments_add_shared(a, CLI_SHARED_QUIET, "quiet", 'q');
    cli_arguments_add_shared(a, CLI_SHARED_OBJECT, "object", 0);
}

/* Parses argv into args. Returns -1 to go on, or the exit code when the command is already
 * finished (help printed, usage error, bad -o list or --object). */
static int amend_arguments_parse(int argc, char **argv, amend_arguments *args)
{
    cli_arguments arguments;
    cli_shared_values shared = {0};
    int c, exit_code = 0;

    amend_arguments_build(&arguments);
    while ((c = cli_arguments_next(&arguments, argc, argv, &shared, &exit_code)) != CLI_ARGUMENTS_END) {
        if (c == CLI_ARGUMENTS_EXIT)
            return exit_code;
        if (c == AMEND_OPTION_FORCE)
            args->force = true;
        else if (cli_options_accumulate(&args->options, optarg) < 0) /* 'o' */
            return 1;
    }
    args->format = shared.format;
    args->image_opts = shared.image_opts;
    if (shared.cache)
        args->cache_mode = shared.cache;
    args->progress = shared.progress;
    args->quiet = shared.quiet;
    if (args->options == NULL)
        return cli_usage_error(argv[0], "Must specify options (-o)");
    return -1;
}

/* `qemu-img amend [-f FMT|--image-opts] [-t CACHE] [--force] [-p] [-q] -o OPTS FILE`: opens
 * FILE read-write and hands the parsed options to the driver's amend operation. Prints the
 * driver's option table for "-o help". Returns the exit code. */
int cli_command_amend(int argc, char **argv)
{
    amend_arguments args = {.cache_mode = "writeback"};
    option_list options = {0};
    block_node *node = NULL;
    const char *filename;
    bool progress_initialized = false;
    bool progress_started = false;
    error *err = NULL;
    int cache_flags = 0;
    int ret;

    ret = amend_arguments_parse(argc, argv, &args);
    if (ret >= 0) {
        goto cleanup;
    }
    ret = 1;
    cli_quiet = args.quiet;
    if (args.quiet) {
        args.progress = false;
    }
    progress_initialized = true;

    filename = (optind == argc - 1) ? argv[argc - 1] : NULL;
    if (args.format != NULL && option_text_has_help(args.options)) {
        ret = amend_option_help_print(args.format);
        goto cleanup;
    }
    if (optind != argc - 1) {
        cli_error("Expecting one image file name");
        goto cleanup;
    }
    if (block_cache_mode_parse(args.cache_mode, &cache_flags, &err) < 0) {
        error_free(err);
        err = NULL;
        cli_error("Invalid cache option: %s", args.cache_mode);
        goto cleanup;
    }

    node = cli_image_open(filename, args.format, args.image_opts, BLOCK_OPEN_READ_WRITE, args.cache_mode,
                          args.quiet);
    if (node == NULL) {
        goto cleanup;
    }
    if (option_text_has_help(args.options)) {
        ret = amend_option_help_print(node->driver->format_name);
        goto cleanup;
    }
    if (node->driver->amend == NULL) {
        cli_error("Format driver '%s' does not support option amendment", node->driver->format_name);
        goto cleanup;
    }
    if (amend_options_parse(node->driver, args.options, &options) < 0) {
        goto cleanup;
    }

    cli_progress_begin(args.progress);
    progress_started = true;
    ret = node->driver->amend(node, &options, args.force, &err) < 0 ? 1 : 0;
    /* qemu reports 100% whether or not the amendment worked. */
    cli_progress_update(1, 1);
    if (ret != 0) {
        cli_error_report(err, NULL);
        err = NULL;
        goto cleanup;
    }
    /* Like qemu (which drops the image without checking), a failed final flush is not reported. */
    if (block_node_flush(node, &err) < 0) {
        error_free(err);
        err = NULL;
    }

cleanup:
    if (progress_started) {
        cli_progress_end();
    } else if (progress_initialized && args.progress) {
        /* qemu ends its progress output (silent so far) with a newline. */
        fputc('\n', stdout);
    }
    if (node != NULL) {
        block_node_close(node);
    }
    error_free(err);
    option_list_free(&options);
    free(args.options);
    return ret;
}
