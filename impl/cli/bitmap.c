/* bitmap.c — `qemu-img bitmap`: adds, removes, clears, enables, disables and merges persistent dirty bitmaps through the driver's bitmap operations (spec/architecture.md §Command line). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arguments.h"
#include "common.h"
#include "../util/memory.h"

/* bitmap's own long-only options. */
enum {
    BITMAP_OPTION_ADD = CLI_ARGUMENT_FIRST_OWN,
    BITMAP_OPTION_REMOVE,
    BITMAP_OPTION_CLEAR,
    BITMAP_OPTION_ENABLE,
    BITMAP_OPTION_DISABLE,
    BITMAP_OPTION_MERGE,
};

/* The default granularity qemu gives a new bitmap: the cluster size kept within these bounds,
 * or the upper bound when the image has no cluster size. */
#define BITMAP_GRANULARITY_DEFAULT_MIN 4096u
#define BITMAP_GRANULARITY_DEFAULT_MAX 65536u

/* The hint qemu prints under errors about inconsistent bitmaps. */
#define BITMAP_INCONSISTENT_HINT "Try block-dirty-bitmap-remove to delete this bitmap from disk\n"

typedef enum bitmap_action_kind {
    BITMAP_ACTION_ADD,
    BITMAP_ACTION_REMOVE,
    BITMAP_ACTION_CLEAR,
    BITMAP_ACTION_ENABLE,
    BITMAP_ACTION_DISABLE,
    BITMAP_ACTION_MERGE,
} bitmap_action_kind;

/* One requested operation, in command-line order. */
typedef struct bitmap_action {
    bitmap_action_kind kind;
    const char *source; /* --merge SOURCE */
} bitmap_action;

/* What the command line of bitmap asks for. */
typedef struct bitmap_arguments {
    bitmap_action *actions;
    size_t action_count;
    const char *format;
    const char *source_file;   /* -b */
    const char *source_format; /* -F */
    int64_t granularity;       /* -g; 0: default */
    bool image_opts;
    bool add;
    bool merge;
} bitmap_arguments;

/* The outcome of one operation: an error, and the hint qemu prints below it (may be NULL). */
typedef struct bitmap_failure {
    error *err;
    const char *hint;
} bitmap_failure;

/* Appends an action of kind (with source for merges) to args. */
static void bitmap_action_append(bitmap_arguments *args, bitmap_action_kind kind, const char *source)
{
    args->actions = memory_realloc(args->actions, (args->action_count + 1) * sizeof(*args->actions));
    args->actions[args->action_count].kind = kind;
    args->actions[args->action_count].source = source;
    args->action_count++;
}

/* The options of bitmap, in qemu-img's order. */
static void bitmap_arguments_build(cli_arguments *a)
{
    cli_arguments_init(a, "bitmap", false);
    cli_arguments_add_shared(a, CLI_SHARED_HELP, "help", 'h');
    cli_arguments_add_shared(a, CLI_SHARED_FORMAT, "format", 'f');
    cli_arguments_add_shared(a, CLI_SHARED_IMAGE_OPTS, "image-opts", 0);
    cli_arguments_add_long(a, "add", no_argument, BITMAP_OPTION_ADD);
    cli_arguments_add(a, "granularity", required_argument, 'g');
    cli_arguments_add_long(a, "remove", no_argument, BITMAP_OPTION_REMOVE);
    cli_arguments_add_long(a, "clear", no_argument, BITMAP_OPTION_CLEAR);
    cli_arguments_add_long(a, "enable", no_argument, BITMAP_OPTION_ENABLE);
    cli_arguments_add_long(a, "disable", no_argument, BITMAP_OPTION_DISABLE);
    cli_arguments_add_long(a, "merge", required_argument, BITMAP_OPTION_MERGE);
    cli_arguments_add(a, "source-file", required_argument, 'b');
    cli_arguments_add(a, "source-format", required_argument, 'F');
    cli_arguments_add_shared(a, CLI_SHARED_OBJECT, "object", 0);
}

/* Takes bitmap's own option c with argument text into args: actions are kept in command-line
 * order. Returns 0, or -1 (reported). */
static int bitmap_option_apply(bitmap_arguments *args, int c, const char *text)
{
    switch (c) {
    case BITMAP_OPTION_ADD:
        bitmap_action_append(args, BITMAP_ACTION_ADD, NULL);
        args->add = true;
        return 0;
    case 'g':
        return cli_size_argument("granularity", text, 0, INT64_MAX, &args->granularity);
    case BITMAP_OPTION_REMOVE:
        bitmap_action_append(args, BITMAP_ACTION_REMOVE, NULL);
        return 0;
    case BITMAP_OPTION_CLEAR:
        bitmap_action_append(args, BITMAP_ACTION_CLEAR, NULL);
        return 0;
    case BITMAP_OPTION_ENABLE:
        bitmap_action_append(args, BITMAP_ACTION_ENABLE, NULL);
        return 0;
    case BITMAP_OPTION_DISABLE:
        bitmap_action_append(args, BITMAP_ACTION_DISABLE, NULL);
        return 0;
    case BITMAP_OPTION_MERGE:
        bitmap_action_append(args, BITMAP_ACTION_MERGE, text);
        args->merge = true;
        return 0;
    case 'b':
        args->source_file = text;
        return 0;
    default: /* 'F' */
        args->source_format = text;
        return 0;
    }
}

/* Parses argv into args. Returns -1 to go on, or the exit code when the command is finished. */
static int bitmap_arguments_parse(int argc, char **argv, bitmap_arguments *args)
{
    cli_arguments arguments;
    cli_shared_values shared = {0};
    int c, exit_code = 0;

    bitmap_arguments_build(&arguments);
    while ((c = cli_arguments_next(&arguments, argc, argv, &shared, &exit_code)) != CLI_ARGUMENTS_END) {
        if (c == CLI_ARGUMENTS_EXIT)
            return exit_code;
        if (bitmap_option_apply(args, c, optarg) < 0)
            return 1;
    }
    args->format = shared.format;
    args->image_opts = shared.image_opts;
    return -1;
}

/* Checks the combination of arguments as qemu does, in its order; prints the first problem.
 * Returns 0 or -1. */
static int bitmap_arguments_check(int argc, const bitmap_arguments *args)
{
    int ret = -1;

    if (args->action_count == 0) {
        cli_error("Need at least one of --add, --remove, --clear, --enable, --disable, or --merge");
        goto cleanup;
    }
    if (args->granularity != 0 && !args->add) {
        cli_error("granularity only supported with --add");
        goto cleanup;
    }
    if (args->source_format != NULL && args->source_file == NULL) {
        cli_error("-F only supported with -b");
        goto cleanup;
    }
    if (args->source_file != NULL && !args->merge) {
        cli_error("Merge bitmap source file only supported with --merge");
        goto cleanup;
    }
    if (optind != argc - 2) {
        cli_error("Expecting filename and bitmap name");
        goto cleanup;
    }
    ret = 0;
cleanup:
    return ret;
}

/* The name qemu uses for node in messages ("#blockNNN" for an anonymous node). */
static const char *bitmap_node_name_get(const block_node *node)
{
    return node->node_name != NULL ? node->node_name : "#block000";
}

/* Looks bitmap name up in node; copies its description into *out (the caller frees out->name).
 * Fails with "Dirty bitmap 'NAME' not found". */
static int bitmap_entry_lookup(block_node *node, const char *name, bitmap_info *out, error **errp)
{
    bitmap_info *list = NULL;
    size_t count = 0;
    error *err = NULL;
    int ret = -1;

    if (node->driver->bitmap_list != NULL && node->driver->bitmap_list(node, &list, &count, &err) < 0) {
        error_propagate(errp, err);
        goto cleanup;
    }
    for (size_t i = 0; i < count; i++) {
        if (list[i].name != NULL && strcmp(list[i].name, name) == 0) {
            *out = list[i];
            out->name = memory_strdup(list[i].name);
            ret = 0;
            goto cleanup;
        }
    }
    error_set(errp, "Dirty bitmap '%s' not found", name);
cleanup:
    bitmap_info_list_free(list, count);
    return ret;
}

/* Refuses a bitmap that qemu would not let be used (it was left in use: inconsistent). */
static int bitmap_entry_check(const bitmap_info *info, bitmap_failure *failure)
{
    int ret = 0;

    if (info->inconsistent) {
        error_set(&failure->err, "Bitmap '%s' is inconsistent and cannot be used", info->name);
        failure->hint = BITMAP_INCONSISTENT_HINT;
        ret = -1;
    }
    return ret;
}

/* The granularity qemu picks when -g is absent: the image's cluster size within [4 KiB, 64 KiB]. */
static uint32_t bitmap_granularity_default(block_node *node)
{
    image_info info = {0};
    error *err = NULL;
    uint32_t granularity = BITMAP_GRANULARITY_DEFAULT_MAX;

    if (node->driver->info_fill != NULL && node->driver->info_fill(node, &info, &err) == 0 && info.has_cluster_size &&
        info.cluster_size > 0) {
        uint64_t size = info.cluster_size;
        if (size < BITMAP_GRANULARITY_DEFAULT_MIN) {
            size = BITMAP_GRANULARITY_DEFAULT_MIN;
        }
        if (size > BITMAP_GRANULARITY_DEFAULT_MAX) {
            size = BITMAP_GRANULARITY_DEFAULT_MAX;
        }
        granularity = (uint32_t)size;
    }
    error_free(err);
    image_info_free(&info);
    return granularity;
}

/* --add: creates persistent bitmap name (enabled) with the given granularity (0: default). */
static int bitmap_entry_add(block_node *node, const char *name, int64_t granularity, bitmap_failure *failure)
{
    bitmap_info existing = {0};
    error *lookup_err = NULL;
    /* qemu passes the granularity as a 32-bit value. */
    uint32_t size = (uint32_t)granularity;
    int ret = -1;

    if (name[0] == '\0') {
        error_set(&failure->err, "Bitmap name cannot be empty");
        goto cleanup;
    }
    if (granularity != 0) {
        if (size < 512 || (size & (size - 1)) != 0) {
            error_set(&failure->err, "Granularity must be power of 2 and at least 512");
            goto cleanup;
        }
    } else {
        size = bitmap_granularity_default(node);
    }
    if (node->driver->bitmap_add == NULL) {
        error_set(&failure->err, "Can't store persistent bitmaps to %s: Operation not supported",
                  bitmap_node_name_get(node));
        goto cleanup;
    }
    if (bitmap_entry_lookup(node, name, &existing, &lookup_err) == 0) {
        error_set(&failure->err, "Bitmap already exists: %s", name);
        goto cleanup;
    }
    ret = node->driver->bitmap_add(node, name, size, false, &failure->err);
    if (ret < 0 && strncmp(error_message(failure->err), "Can't make bitmap", 17) != 0) {
        /* qemu words a format's refusal to store the new bitmap this way. */
        error_prepend(&failure->err, "Can't make bitmap '%s' persistent in '%s': ", name, bitmap_node_name_get(node));
    }
cleanup:
    error_free(lookup_err);
    free(existing.name);
    return ret;
}

/* --remove, --clear, --enable and --disable on bitmap name of node. */
static int bitmap_action_simple_run(block_node *node, bitmap_action_kind kind, const char *name, bitmap_failure *failure)
{
    bitmap_info info = {0};
    int ret = -1;

    if (bitmap_entry_lookup(node, name, &info, &failure->err) < 0) {
        goto cleanup;
    }
    if (kind != BITMAP_ACTION_REMOVE && bitmap_entry_check(&info, failure) < 0) {
        goto cleanup;
    }
    switch (kind) {
    case BITMAP_ACTION_REMOVE:
        ret = node->driver->bitmap_remove != NULL ? node->driver->bitmap_remove(node, name, &failure->err)
                                                  : error_set(&failure->err, "Operation not supported");
        break;
    case BITMAP_ACTION_CLEAR:
        ret = node->driver->bitmap_clear != NULL ? node->driver->bitmap_clear(node, name, &failure->err)
                                                 : error_set(&failure->err, "Operation not supported");
        break;
    default:
        ret = node->driver->bitmap_set_enabled != NULL
                  ? node->driver->bitmap_set_enabled(node, name, kind == BITMAP_ACTION_ENABLE, &failure->err)
                  : error_set(&failure->err, "Operation not supported");
        break;
    }
cleanup:
    free(info.name);
    return ret;
}

/* --merge SOURCE: ORs bitmap source of source_node into bitmap name of node. */
static int bitmap_entry_merge(block_node *node, const char *name, block_node *source_node, const char *source,
                              bitmap_failure *failure)
{
    bitmap_info target_info = {0};
    bitmap_info source_info = {0};
    uint8_t *bits = NULL;
    uint64_t bit_count = 0;
    uint32_t granularity = 0;
    int64_t target_size;
    int64_t source_size;
    int ret = -1;

    if (bitmap_entry_lookup(node, name, &target_info, &failure->err) < 0) {
        goto cleanup;
    }
    if (bitmap_entry_lookup(source_node, source, &source_info, &failure->err) < 0) {
        goto cleanup;
    }
    if (bitmap_entry_check(&target_info, failure) < 0) {
        goto cleanup;
    }
    if (bitmap_entry_check(&source_info, failure) < 0) {
        goto cleanup;
    }
    target_size = block_node_length(node);
    source_size = block_node_length(source_node);
    if (target_size != source_size) {
        error_set(&failure->err,
                  "Bitmaps are of different sizes (destination size is %lld, source size is %lld) and can't be merged",
                  (long long)target_size, (long long)source_size);
        goto cleanup;
    }
    if (source_node->driver->bitmap_read == NULL || node->driver->bitmap_merge_bits == NULL) {
        error_set(&failure->err, "Operation not supported");
        goto cleanup;
    }
    if (source_node->driver->bitmap_read(source_node, source, &bits, &bit_count, &granularity, &failure->err) < 0) {
        goto cleanup;
    }
    ret = node->driver->bitmap_merge_bits(node, name, bits, bit_count, granularity, &failure->err);
cleanup:
    free(bits);
    free(target_info.name);
    free(source_info.name);
    return ret;
}

/* Flushes node before it is closed; prints "Error while closing the image: REASON" on failure.
 * Returns 0 or -1. */
static int bitmap_node_finish(block_node *node)
{
    error *err = NULL;
    int ret = 0;

    if (node != NULL && block_node_flush(node, &err) < 0) {
        cli_error("Error while closing the image: %s", error_message(err));
        ret = -1;
    }
    error_free(err);
    return ret;
}

/* Runs every requested action in order on bitmap of node (merge sources come from
 * source_node), stopping at the first failure with "Operation OP on bitmap NAME failed: ...".
 * Returns 0 or -1. */
static int bitmap_actions_run(const bitmap_arguments *args, block_node *node, block_node *source_node,
                              const char *bitmap)
{
    static const char *const operation_names[] = {"add", "remove", "clear", "enable", "disable", "merge"};
    bitmap_failure failure = {0};
    int ret = 0;

    for (size_t i = 0; i < args->action_count && ret == 0; i++) {
        const bitmap_action *action = &args->actions[i];

        switch (action->kind) {
        case BITMAP_ACTION_ADD:
            ret = bitmap_entry_add(node, bitmap, args->granularity, &failure);
            break;
        case BITMAP_ACTION_MERGE:
            ret = bitmap_entry_merge(node, bitmap, source_node, action->source, &failure);
            break;
        default:
            ret = bitmap_action_simple_run(node, action->kind, bitmap, &failure);
            break;
        }
        if (ret < 0) {
            char *prefix = memory_printf("Operation %s on bitmap %s failed: ", operation_names[action->kind], bitmap);
            cli_error_report(failure.err, prefix);
            failure.err = NULL;
            free(prefix);
            if (failure.hint != NULL) {
                fputs(failure.hint, stderr);
            }
        }
    }
    error_free(failure.err);
    return ret;
}

/* `qemu-img bitmap [-f FMT|--image-opts] (--add [-g SIZE] | --remove | --clear | --enable |
 * --disable | --merge SOURCE [-b SRC_FILE [-F SRC_FMT]])... FILE BITMAP`: runs every requested
 * operation in order on BITMAP of FILE, stopping at the first failure. Returns the exit code. */
int cli_command_bitmap(int argc, char **argv)
{
    bitmap_arguments args = {0};
    block_node *node = NULL;
    block_node *source_node = NULL;
    int ret;

    ret = bitmap_arguments_parse(argc, argv, &args);
    if (ret >= 0) {
        goto cleanup;
    }
    ret = 1;
    if (bitmap_arguments_check(argc, &args) < 0) {
        goto cleanup;
    }

    /* The bitmaps live in this image alone: its backing chain is not needed. */
    node = cli_image_open(argv[optind], args.format, args.image_opts, BLOCK_OPEN_READ_WRITE | BLOCK_OPEN_NO_BACKING,
                          NULL, false);
    if (node != NULL) {
        source_node = node;
        if (args.source_file != NULL) {
            source_node =
                cli_image_open(args.source_file, args.source_format, false, BLOCK_OPEN_NO_BACKING, NULL, false);
        }
    }
    if (node != NULL && source_node != NULL && bitmap_actions_run(&args, node, source_node, argv[optind + 1]) == 0) {
        ret = 0;
    }
    /* Like qemu, the images are flushed (and close errors reported) even after a failure. */
    if (source_node != NULL && source_node != node && bitmap_node_finish(source_node) < 0) {
        ret = 1;
    }
    if (bitmap_node_finish(node) < 0) {
        ret = 1;
    }

cleanup:
    if (source_node != NULL && source_node != node) {
        block_node_close(source_node);
    }
    /* After a failure qemu-img exits with the image still open: no close-time writes. */
    if (node != NULL && ret != 0) {
        block_node_abandon(node);
    } else if (node != NULL) {
        block_node_close(node);
    }
    free(args.actions);
    return ret;
}
