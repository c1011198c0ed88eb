/* info.c — `qemu-img info`: an image (and with --backing-chain its whole chain) in human or JSON
 * form (spec/architecture.md §Command line). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "print.h"
#include "../block/info.h"
#include "../util/memory.h"

enum { INFO_OPTION_OUTPUT = 256, INFO_OPTION_BACKING_CHAIN, INFO_OPTION_OBJECT, INFO_OPTION_IMAGE_OPTS, INFO_OPTION_LIMITS };

/* True when filename already appears among the first count names. */
static bool info_name_seen(char **names, size_t count, const char *filename)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(names[i], filename) == 0)
            return true;
    return false;
}

/* Describes the image and, with chain, every backing image; NULL after printing an error. */
static json_value *info_collect(const char *filename, const char *format, bool image_opts, bool chain,
                                bool force_share, bool limits, const char *cache)
{
    json_value *list = json_array_new();
    char **names = NULL;
    size_t name_count = 0;
    char *current = memory_strdup(filename);
    char *current_format = format ? memory_strdup(format) : NULL;
    bool ok = true;
    while (current) {
        if (info_name_seen(names, name_count, current)) {
            cli_error("Backing file '%s' creates an infinite loop.", current);
            ok = false;
            break;
        }
        names = memory_realloc(names, (name_count + 1) * sizeof(*names));
        names[name_count++] = memory_strdup(current);
        int flags = BLOCK_OPEN_NO_BACKING | BLOCK_OPEN_NO_IO | (force_share ? BLOCK_OPEN_FORCE_SHARE : 0);
        block_node *node = cli_image_open(current, current_format, image_opts, flags, cache, false);
        if (node == NULL) {
            ok = false;
            break;
        }
        error *err = NULL;
        json_value *info = block_node_info_describe_limits(node, limits, &err);
        block_node_close(node);
        if (info == NULL) {
            cli_error_report(err, NULL);
            ok = false;
            break;
        }
        json_array_append(list, info);
        free(current);
        free(current_format);
        current = NULL;
        current_format = NULL;
        image_opts = false;
        if (chain) {
            json_value *full = json_object_get(info, "full-backing-filename");
            json_value *fmt = json_object_get(info, "backing-filename-format");
            if (full)
                current = memory_strdup(full->string);
            if (fmt)
                current_format = memory_strdup(fmt->string);
        }
    }
    free(current);
    free(current_format);
    for (size_t i = 0; i < name_count; i++)
        free(names[i]);
    free(names);
    if (!ok) {
        json_free(list);
        return NULL;
    }
    return list;
}

int cli_command_info(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"help", no_argument, NULL, 'h'},
        {"format", required_argument, NULL, 'f'},
        {"image-opts", no_argument, NULL, INFO_OPTION_IMAGE_OPTS},
        {"backing-chain", no_argument, NULL, INFO_OPTION_BACKING_CHAIN},
        {"cache", required_argument, NULL, 't'},
        {"force-share", no_argument, NULL, 'U'},
        {"limits", no_argument, NULL, INFO_OPTION_LIMITS},
        {"output", required_argument, NULL, INFO_OPTION_OUTPUT},
        {"object", required_argument, NULL, INFO_OPTION_OBJECT},
        {NULL, 0, NULL, 0},
    };
    const char *format = NULL, *cache = NULL;
    bool image_opts = false, chain = false, force_share = false, json = false, limits = false;
    int c;
    while ((c = getopt_long(argc, argv, "hf:t:U", long_options, NULL)) != -1) {
        switch (c) {
        case 'h':
            cli_help_command_print("info");
            return 0;
        case 'f':
            format = optarg;
            break;
        case INFO_OPTION_IMAGE_OPTS:
            image_opts = true;
            break;
        case INFO_OPTION_BACKING_CHAIN:
            chain = true;
            break;
        case 't':
            cache = optarg;
            break;
        case 'U':
            force_share = true;
            break;
        case INFO_OPTION_LIMITS:
            limits = true;
            break;
        case INFO_OPTION_OUTPUT:
            if (cli_output_format_parse(argv[0], optarg, &json) < 0)
                return 1;
            break;
        case INFO_OPTION_OBJECT:
            if (cli_object_add(optarg) < 0)
                return 1;
            break;
        default:
            return cli_usage_try(argv[0]);
        }
    }
    if (optind != argc - 1)
        return cli_usage_error(argv[0], "Expecting one image file name");
    int cache_flags;
    if (cache && block_cache_mode_parse(cache, &cache_flags, NULL) < 0) {
        cli_error("Invalid cache option: %s", cache);
        return 1;
    }
    json_value *list = info_collect(argv[optind], format, image_opts, chain, force_share, limits, cache);
    if (list == NULL)
        return 1;
    if (json) {
        char *text = json_print_pretty(chain ? list : list->items[0]);
        printf("%s\n", text);
        free(text);
    } else {
        for (size_t i = 0; i < list->item_count; i++) {
            if (i > 0)
                printf("\n");
            print_image_info_human(list->items[i], 0, "/");
        }
    }
    json_free(list);
    return 0;
}
