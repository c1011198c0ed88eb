/* resize.c — `qemu-img resize`: grow or (with --shrink) shrink the virtual disk, absolute or
 * relative, with optional preallocation (spec/architecture.md §Command line). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arguments.h"
#include "common.h"
#include "../util/memory.h"
#include "../util/report.h"

/* resize's own long options. */
enum { RESIZE_OPTION_PREALLOCATION = CLI_ARGUMENT_FIRST_OWN, RESIZE_OPTION_SHRINK };

/* Whether argv[index] reads as a negative size ("-1M"): '-' then a digit. */
static bool resize_is_negative_size(char **argv, int index)
{
    return argv[index][0] == '-' && argv[index][1] >= '0' && argv[index][1] <= '9';
}

/* The options of resize, in qemu-img's order; operands come back in place (value 1). */
static void resize_arguments_build(cli_arguments *a)
{
    cli_arguments_init(a, "resize", true);
    cli_arguments_add_shared(a, CLI_SHARED_HELP, "help", 'h');
    cli_arguments_add_shared(a, CLI_SHARED_FORMAT, "format", 'f');
    cli_arguments_add_shared(a, CLI_SHARED_IMAGE_OPTS, "image-opts", 0);
    cli_arguments_add_long(a, "preallocation", required_argument, RESIZE_OPTION_PREALLOCATION);
    cli_arguments_add_long(a, "shrink", no_argument, RESIZE_OPTION_SHRINK);
    cli_arguments_add_shared(a, CLI_SHARED_QUIET, "quiet", 'q');
    cli_arguments_add_shared(a, CLI_SHARED_OBJECT, "object", 0);
}

/* What resize's own options and its operands set. */
typedef struct resize_request {
    const char *filename;
    const char *size_text;
    bool shrink;
    block_preallocation prealloc;
} resize_request;

/* Takes the operand at optarg (whose successor a negative size may be); 0, or the usage error's exit code. */
static int resize_operand_take(resize_request *request, int argc, char **argv)
{
    if (request->filename == NULL) {
        request->filename = optarg;
        /* A negative size right after the file name is the size, not options. */
        if (optind < argc && resize_is_negative_size(argv, optind))
            request->size_text = argv[optind++];
    } else if (request->size_text == NULL) {
        request->size_text = optarg;
    } else {
        return cli_usage_error(argv[0], "Extra argument(s) in command line");
    }
    return 0;
}

/* Takes resize's own option c (or an operand, value 1); 0, or the exit code after an error. */
static int resize_option_apply(resize_request *request, int c, int argc, char **argv)
{
    if (c == 1)
        return resize_operand_take(request, argc, argv);
    if (c == RESIZE_OPTION_SHRINK) {
        request->shrink = true;
        return 0;
    }
    int mode = block_preallocation_parse(optarg);
    if (mode < 0) {
        cli_error("Invalid preallocation mode '%s'", optarg);
        return 1;
    }
    request->prealloc = (block_preallocation)mode;
    return 0;
}

/* `qemu-img resize [-f FMT|--image-opts] [--preallocation=MODE] [--shrink] [-q] FILE [+|-]SIZE`: changes
 * FILE's virtual size. Returns 0 or 1. */
int cli_command_resize(int argc, char **argv)
{
    cli_arguments arguments;
    cli_shared_values shared = {0};
    resize_request request = {.prealloc = BLOCK_PREALLOCATION_OFF};
    int c, exit_code = 0;
    resize_arguments_build(&arguments);
    while ((c = cli_arguments_next(&arguments, argc, argv, &shared, &exit_code)) != CLI_ARGUMENTS_END) {
        if (c == CLI_ARGUMENTS_EXIT)
            return exit_code;
        if ((exit_code = resize_option_apply(&request, c, argc, argv)) != 0)
            return exit_code;
    }
    const char *filename = request.filename, *size_text = request.size_text;
    const char *format = shared.format;
    bool image_opts = shared.image_opts, shrink = request.shrink;
    block_preallocation prealloc = request.prealloc;
    /* What follows "--" fills the file name and size still missing. */
    if (filename == NULL && optind < argc)
        filename = argv[optind++];
    if (size_text == NULL && optind < argc)
        size_text = argv[optind++];
    if (filename == NULL || size_text == NULL || optind != argc)
        return cli_usage_error(argv[0], "Expecting image file name and size");
    int relative = 0;
    if (size_text[0] == '+') {
        relative = 1;
        size_text++;
    } else if (size_text[0] == '-') {
        relative = -1;
        size_text++;
    }
    uint64_t n;
    error *err = NULL;
    if (option_value_parse_size("size", size_text, &n, &err) < 0) {
        cli_error_report(err, NULL);
        return 1;
    }
    block_node *node = cli_image_open(filename, format, image_opts,
                                      BLOCK_OPEN_READ_WRITE | BLOCK_OPEN_NO_RESIZE_SHARE, NULL, cli_quiet);
    if (node == NULL)
        return 1;
    int ret = 1;
    int64_t current = block_node_length(node);
    int64_t total = relative ? current + (int64_t)n * relative : (int64_t)n;
    if (total <= 0) {
        cli_error("New image size must be positive");
        goto cleanup;
    }
    if (total <= current && prealloc != BLOCK_PREALLOCATION_OFF) {
        cli_error("Preallocation can only be used for growing images");
        goto cleanup;
    }
    if (total < current && !shrink) {
        cli_error("Use the --shrink option to perform a shrink operation.");
        report_warning("Shrinking an image will delete all data beyond the shrunken image's end. Before "
                       "performing such an operation, make sure there is no important data there.");
        goto cleanup;
    }
    if (block_node_truncate(node, (uint64_t)total, true, prealloc, shrink, &err) < 0 ||
        block_node_flush(node, &err) < 0) {
        cli_error_report(err, NULL);
        goto cleanup;
    }
    cli_printf("Image resized.\n");
    ret = 0;
cleanup:
    block_node_close(node);
    return ret;
}
