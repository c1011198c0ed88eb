/* measure.c — `qemu-img measure`: the file size an image of a format needs, from a size or from an
 * existing image (spec/architecture.md §Command line). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "../util/json.h"
#include "../util/memory.h"

enum { MEASURE_OPTION_OUTPUT = 256, MEASURE_OPTION_OBJECT, MEASURE_OPTION_IMAGE_OPTS };

int cli_command_measure(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"help", no_argument, NULL, 'h'},
        {"target-format", required_argument, NULL, 'O'},
        {"format", required_argument, NULL, 'f'},
        {"image-opts", no_argument, NULL, MEASURE_OPTION_IMAGE_OPTS},
        {"options", required_argument, NULL, 'o'},
        {"snapshot", required_argument, NULL, 'l'},
        {"object", required_argument, NULL, MEASURE_OPTION_OBJECT},
        {"output", required_argument, NULL, MEASURE_OPTION_OUTPUT},
        {"size", required_argument, NULL, 's'},
        {"force-share", no_argument, NULL, 'U'},
        {NULL, 0, NULL, 0},
    };
    const char *format = NULL, *out_format = "raw";
    cli_snapshot_spec snapshot = {0};
    char *options = NULL;
    bool image_opts = false, force_share = false, json = false;
    int64_t size = -1;
    int ret = 1;
    block_node *in = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "hf:O:o:l:Us:", long_options, NULL)) != -1) {
        switch (c) {
        case 'h':
            cli_help_command_print("measure");
            free(options);
            cli_snapshot_spec_free(&snapshot);
            return 0;
        case 'f':
            format = optarg;
            break;
        case 'O':
            out_format = optarg;
            break;
        case 'o':
            if (cli_options_accumulate(&options, optarg) < 0)
                goto cleanup;
            break;
        case 'l':
            if (cli_snapshot_spec_parse(&snapshot, optarg) < 0)
                goto cleanup;
            break;
        case MEASURE_OPTION_IMAGE_OPTS:
            image_opts = true;
            break;
        case MEASURE_OPTION_OBJECT:
            if (cli_object_add(optarg) < 0)
                goto cleanup;
            break;
        case MEASURE_OPTION_OUTPUT:
            if (cli_output_format_parse(argv[0], optarg, &json) < 0)
                goto cleanup;
            break;
        case 's':
            if (cli_size_argument("image size", optarg, 0, INT64_MAX, &size) < 0)
                goto cleanup;
            break;
        case 'U':
            force_share = true;
            break;
        default:
            free(options);
            cli_snapshot_spec_free(&snapshot);
            return cli_usage_try(argv[0]);
        }
    }
    const char *filename = NULL;
    if (argc - optind > 1) {
        cli_error("At most one filename argument is allowed.");
        goto cleanup;
    } else if (argc - optind == 1) {
        filename = argv[optind];
    }
    if (!filename && (image_opts || format || cli_snapshot_spec_given(&snapshot))) {
        cli_error("--image-opts, -f, and -l require a filename argument.");
        goto cleanup;
    }
    if (filename && size != -1) {
        cli_error("--size N cannot be used together with a filename.");
        goto cleanup;
    }
    if (!filename && size == -1) {
        cli_error("Either --size N or one filename must be specified.");
        goto cleanup;
    }
    if (filename) {
        in = cli_image_open(filename, format, image_opts, force_share ? BLOCK_OPEN_FORCE_SHARE : 0, NULL, false);
        if (in == NULL)
            goto cleanup;
        if (cli_snapshot_spec_given(&snapshot) && cli_snapshot_spec_load(&snapshot, in) < 0)
            goto cleanup;
    }
    const block_driver *driver = block_driver_find(out_format);
    if (driver == NULL) {
        cli_error("Unknown file format '%s'", out_format);
        goto cleanup;
    }
    if (driver->create_options == NULL) {
        cli_error("Format driver '%s' does not support image creation", driver->format_name);
        goto cleanup;
    }
    option_desc_list descs = {0};
    option_desc_list_append(&descs, driver->create_options);
    option_desc_list_append(&descs, block_driver_find_protocol("")->create_options);
    option_list opts = {0};
    error *err = NULL;
    if (options && (option_list_parse(&opts, options, NULL, &err) < 0 ||
                    option_list_validate(&opts, &descs, &err) < 0)) {
        cli_error_report(err, NULL);
        cli_error("Invalid options for file format '%s'", out_format);
        option_list_free(&opts);
        option_desc_list_free(&descs);
        goto cleanup;
    }
    option_desc_list_free(&descs);
    if (size != -1) {
        char text[32];
        snprintf(text, sizeof(text), "%lld", (long long)size);
        option_list_set(&opts, "size", text);
    }
    measure_result result;
    memset(&result, 0, sizeof(result));
    if (driver->measure == NULL) {
        cli_error("Block driver '%s' does not support size measurement", driver->format_name);
        option_list_free(&opts);
        goto cleanup;
    }
    uint64_t measure_size = 0;
    if (size != -1)
        measure_size = (uint64_t)size;
    if (driver->measure(&opts, in, measure_size, &result, &err) < 0) {
        cli_error_report(err, NULL);
        option_list_free(&opts);
        goto cleanup;
    }
    option_list_free(&opts);
    if (json) {
        json_value *o = json_object_new();
        json_object_set_uint(o, "required", result.required);
        json_object_set_uint(o, "fully-allocated", result.fully_allocated);
        if (result.has_bitmaps)
            json_object_set_uint(o, "bitmaps", result.bitmaps);
        char *text = json_print_pretty(o);
        printf("%s\n", text);
        free(text);
        json_free(o);
    } else {
        printf("required size: %llu\n", (unsigned long long)result.required);
        printf("fully allocated size: %llu\n", (unsigned long long)result.fully_allocated);
        if (result.has_bitmaps)
            printf("bitmaps size: %llu\n", (unsigned long long)result.bitmaps);
    }
    ret = 0;
cleanup:
    block_node_close(in);
    free(options);
    cli_snapshot_spec_free(&snapshot);
    return ret;
}
