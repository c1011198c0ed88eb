/* info.c — `qemu-img info`: an image (and with --backing-chain its whole chain) in human or JSON
 * form (spec/architecture.md §Command line). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arguments.h"
#include "common.h"
#include "print.h"
#include "../block/info.h"
#include "../util/memory.h"

/* info's own long options without a letter. */
enum { INFO_OPTION_BACKING_CHAIN = CLI_ARGUMENT_FIRST_OWN, INFO_OPTION_LIMITS };

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

/* The options of info, in qemu-img's order. */
static void info_arguments_build(cli_arguments *a)
{
    cli_arguments_init(a, "info", false);
    cli_arguments_add_shared(a, CLI_SHARED_HELP, "help", 'h');
    cli_arguments_add_shared(a, CLI_SHARED_FORMAT, "format", 'f');
    cli_arguments_add_shared(a, CLI_SHARED_IMAGE_OPTS, "image-opts", 0);
    cli_arguments_add_long(a, "backing-chain", no_argument, INFO_OPTION_BACKING_CHAIN);
    cli_arguments_add_shared(a, CLI_SHARED_CACHE, "cache", 't');
    cli_arguments_add_shared(a, CLI_SHARED_FORCE_SHARE, "force-share", 'U');
    cli_arguments_add_long(a, "limits", no_argument, INFO_OPTION_LIMITS);
    cli_arguments_add_shared(a, CLI_SHARED_OUTPUT, "output", 0);
    cli_arguments_add_shared(a, CLI_SHARED_OBJECT, "object", 0);
}

/* `qemu-img info [-f FMT|--image-opts] [--backing-chain] [-t CACHE] [-U] [--limits] [--output=human|json]
 * FILE`: describes FILE (and its backing chain). Returns 0 or 1. */
int cli_command_info(int argc, char **argv)
{
    cli_arguments arguments;
    cli_shared_values shared = {0};
    bool chain = false, limits = false;
    int c, exit_code = 0;
    info_arguments_build(&arguments);
    while ((c = cli_arguments_next(&arguments, argc, argv, &shared, &exit_code)) != CLI_ARGUMENTS_END) {
        if (c == CLI_ARGUMENTS_EXIT)
            return exit_code;
        if (c == INFO_OPTION_BACKING_CHAIN)
            chain = true;
        else
            limits = true;
    }
    const char *format = shared.format, *cache = shared.cache;
    bool image_opts = shared.image_opts, force_share = shared.force_share, json = shared.json;
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
