/* resize.c — `qemu-img resize`: grow or (with --shrink) shrink the virtual disk, absolute or
 * relative, with optional preallocation (spec/architecture.md §Command line). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "../util/memory.h"
#include "../util/report.h"

enum { RESIZE_OPTION_OBJECT = 256, RESIZE_OPTION_IMAGE_OPTS, RESIZE_OPTION_PREALLOCATION, RESIZE_OPTION_SHRINK };

/* Whether argv[index] reads as a negative size ("-1M"): '-' then a digit. */
static bool resize_is_negative_size(char **argv, int index)
{
    return argv[index][0] == '-' && argv[index][1] >= '0' && argv[index][1] <= '9';
}

int cli_command_resize(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"help", no_argument, NULL, 'h'},
        {"format", required_argument, NULL, 'f'},
        {"image-opts", no_argument, NULL, RESIZE_OPTION_IMAGE_OPTS},
        {"preallocation", required_argument, NULL, RESIZE_OPTION_PREALLOCATION},
        {"shrink", no_argument, NULL, RESIZE_OPTION_SHRINK},
        {"quiet", no_argument, NULL, 'q'},
        {"object", required_argument, NULL, RESIZE_OPTION_OBJECT},
        {NULL, 0, NULL, 0},
    };
    const char *filename = NULL, *size_text = NULL;
    const char *format = NULL;
    bool image_opts = false, shrink = false;
    block_preallocation prealloc = BLOCK_PREALLOCATION_OFF;
    int c;
    while ((c = getopt_long(argc, argv, "-hf:q", long_options, NULL)) != -1) {
        switch (c) {
        case 1:
            if (filename == NULL) {
                filename = optarg;
                /* A negative size right after the file name is the size, not options. */
                if (optind < argc && resize_is_negative_size(argv, optind))
                    size_text = argv[optind++];
            } else if (size_text == NULL) {
                size_text = optarg;
            } else {
                return cli_usage_error(argv[0], "Extra argument(s) in command line");
            }
            break;
        case 'h':
            cli_help_command_print("resize");
            return 0;
        case 'f':
            format = optarg;
            break;
        case RESIZE_OPTION_IMAGE_OPTS:
            image_opts = true;
            break;
        case RESIZE_OPTION_PREALLOCATION: {
            int mode = block_preallocation_parse(optarg);
            if (mode < 0) {
                cli_error("Invalid preallocation mode '%s'", optarg);
                return 1;
            }
            prealloc = (block_preallocation)mode;
            break;
        }
        case RESIZE_OPTION_SHRINK:
            shrink = true;
            break;
        case 'q':
            cli_quiet = true;
            break;
        case RESIZE_OPTION_OBJECT:
            if (cli_object_add(optarg) < 0)
                return 1;
            break;
        default:
            return cli_usage_try(argv[0]);
        }
    }
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
