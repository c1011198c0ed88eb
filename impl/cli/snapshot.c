/* snapshot.c — `qemu-img snapshot`: lists, creates, applies and deletes internal snapshots through the driver's snapshot operations (spec/architecture.md §Command line). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arguments.h"
#include "common.h"
#include "print.h"
#include "../util/memory.h"

/* The action letters double as the option letters, as in qemu. */
enum {
    SNAPSHOT_ACTION_NONE = 0,
    SNAPSHOT_ACTION_LIST = 'l',
    SNAPSHOT_ACTION_CREATE = 'c',
    SNAPSHOT_ACTION_APPLY = 'a',
    SNAPSHOT_ACTION_DELETE = 'd',
};

/* qemu keeps snapshot names in a 256-byte buffer: longer names are cut to 255 bytes. */
#define SNAPSHOT_NAME_MAX 255

/* What the command line of snapshot asks for. */
typedef struct snapshot_arguments {
    const char *format;
    const char *name; /* the SNAPSHOT argument of -a/-c/-d */
    int action;
    bool image_opts;
    bool force_share;
    bool quiet;
} snapshot_arguments;

/* The options of snapshot, in qemu-img's order; the action options return their action letter. */
static void snapshot_arguments_build(cli_arguments *a)
{
    cli_arguments_init(a, "snapshot", false);
    cli_arguments_add_shared(a, CLI_SHARED_HELP, "help", 'h');
    cli_arguments_add_shared(a, CLI_SHARED_FORMAT, "format", 'f');
    cli_arguments_add_shared(a, CLI_SHARED_IMAGE_OPTS, "image-opts", 0);
    cli_arguments_add(a, "list", no_argument, SNAPSHOT_ACTION_LIST);
    cli_arguments_add(a, "apply", required_argument, SNAPSHOT_ACTION_APPLY);
    cli_arguments_add(a, "create", required_argument, SNAPSHOT_ACTION_CREATE);
    cli_arguments_add(a, "delete", required_argument, SNAPSHOT_ACTION_DELETE);
    cli_arguments_add_shared(a, CLI_SHARED_FORCE_SHARE, "force-share", 'U');
    cli_arguments_add_shared(a, CLI_SHARED_QUIET, "quiet", 'q');
    cli_arguments_add_shared(a, CLI_SHARED_OBJECT, "object", 0);
}

/* Parses argv into args. Returns -1 to go on, or the exit code when the command is finished. */
static int snapshot_arguments_parse(int argc, char **argv, snapshot_arguments *args)
{
    cli_arguments arguments;
    cli_shared_values shared = {0};
    int c, exit_code = 0;

    snapshot_arguments_build(&arguments);
    while ((c = cli_arguments_next(&arguments, argc, argv, &shared, &exit_code)) != CLI_ARGUMENTS_END) {
        if (c == CLI_ARGUMENTS_EXIT)
            return exit_code;
        /* every option of snapshot's own is one of the actions, of which only one may be given */
        if (args->action != SNAPSHOT_ACTION_NONE)
            return cli_usage_error(argv[0], "Cannot mix '-l', '-a', '-c', '-d'");
        args->action = c;
        args->name = optarg;
    }
    args->format = shared.format;
    args->image_opts = shared.image_opts;
    args->force_share = shared.force_share;
    args->quiet = shared.quiet;
    if (optind != argc - 1)
        return cli_usage_error(argv[0], "Expecting one image file name");
    return -1;
}

/* Lists the snapshots of node as "Snapshot list:", the header and one row per snapshot.
 * Nothing is printed when the image has none or its driver cannot list snapshots. */
static void snapshot_table_print(block_node *node)
{
    snapshot_info *list = NULL;
    size_t count = 0;
    error *err = NULL;

    if (node->driver->snapshot_list == NULL || node->driver->snapshot_list(node, &list, &count, &err) < 0) {
        goto cleanup;
    }
    if (count == 0) {
        goto cleanup;
    }
    printf("Snapshot list:\n");
    print_snapshot_header();
    printf("\n");
    for (size_t i = 0; i < count; i++) {
        print_snapshot_row(&list[i]);
        printf("\n");
    }
cleanup:
    error_free(err);
    snapshot_info_list_free(list, count);
}

/* Creates snapshot name in node, dated now with a zero VM state and clock. Returns 0 or 1
 * after printing "Could not create snapshot 'NAME': REASON". */
static int snapshot_entry_create(block_node *node, const char *name)
{
    snapshot_info snapshot = {0};
    struct timespec now;
    error *err = NULL;
    int ret = 1;

    snapshot.name = memory_strndup(name, SNAPSHOT_NAME_MAX);
    clock_gettime(CLOCK_REALTIME, &now);
    snapshot.date_sec = (uint32_t)now.tv_sec;
    /* qemu takes the time in microseconds: the nanoseconds keep only that precision. */
    snapshot.date_nsec = (uint32_t)(now.tv_nsec / 1000) * 1000;
    snapshot.has_icount = true;
    snapshot.icount = 0;
    if (node->driver->snapshot_create == NULL) {
        cli_error("Could not create snapshot '%s': Operation not supported", name);
        goto cleanup;
    }
    if (node->driver->snapshot_create(node, &snapshot, &err) < 0) {
        char *prefix = memory_printf("Could not create snapshot '%s': ", name);
        cli_error_report(err, prefix);
        err = NULL;
        free(prefix);
        goto cleanup;
    }
    ret = 0;
cleanup:
    error_free(err);
    free(snapshot.name);
    return ret;
}

/* Reverts node to snapshot name (an id or a name). Returns 0 or 1 after printing
 * "Could not apply snapshot 'NAME': REASON". */
static int snapshot_entry_apply(block_node *node, const char *name)
{
    error *err = NULL;
    char *prefix = NULL;
    int ret = 1;

    if (node->driver->bitmap_list != NULL) {
        bitmap_info *bitmaps = NULL;
        size_t bitmap_count = 0;
        error *list_err = NULL;
        int listed = node->driver->bitmap_list(node, &bitmaps, &bitmap_count, &list_err);
        error_free(list_err);
        bitmap_info_list_free(bitmaps, bitmap_count);
        /* qemu refuses to revert an image whose (loaded) dirty bitmaps would become stale. */
        if (listed == 0 && bitmap_count > 0) {
            cli_error("Could not apply snapshot '%s': Device has active dirty bitmaps", name);
            goto cleanup;
        }
    }
    if (node->driver->snapshot_goto == NULL) {
        if (node->driver->snapshot_fallback_reopen != NULL)
            node->driver->snapshot_fallback_reopen(node);
        cli_error("Could not apply snapshot '%s': Block driver does not support snapshots", name);
        goto cleanup;
    }
    if (node->driver->snapshot_goto(node, name, &err) < 0) {
        const char *message = error_message(err);
        const char *lead = "Failed to load snapshot";
        /* The block layer words a driver's failure as "Failed to load snapshot: REASON". */
        if (strncmp(message, lead, strlen(lead)) == 0) {
            prefix = memory_printf("Could not apply snapshot '%s': ", name);
        } else {
            prefix = memory_printf("Could not apply snapshot '%s': %s: ", name, lead);
        }
        cli_error_report(err, prefix);
        err = NULL;
        goto cleanup;
    }
    ret = 0;
cleanup:
    free(prefix);
    error_free(err);
    return ret;
}

/* Deletes the snapshot whose name is name (qemu looks it up by name only). Returns 0 or 1 after
 * printing "Could not delete snapshot 'NAME': REASON". */
static int snapshot_entry_delete(block_node *node, const char *name)
{
    snapshot_info *list = NULL;
    size_t count = 0;
    const snapshot_info *found = NULL;
    error *err = NULL;
    int ret = 1;

    if (node->driver->snapshot_list != NULL && node->driver->snapshot_list(node, &list, &count, &err) == 0) {
        for (size_t i = 0; i < count; i++) {
            if (list[i].name != NULL && strcmp(list[i].name, name) == 0) {
                found = &list[i];
                break;
            }
        }
    }
    error_free(err);
    err = NULL;
    if (found == NULL) {
        cli_error("Could not delete snapshot '%s': snapshot not found", name);
        goto cleanup;
    }
    if (node->driver->snapshot_delete == NULL) {
        cli_error("Could not delete snapshot '%s': Block format '%s' used by device '' does not support internal "
                  "snapshot deletion",
                  name, node->driver->format_name);
        goto cleanup;
    }
    if (node->driver->snapshot_delete(node, found->id, found->name, &err) < 0) {
        char *prefix = memory_printf("Could not delete snapshot '%s': ", name);
        cli_error_report(err, prefix);
        err = NULL;
        free(prefix);
        goto cleanup;
    }
    ret = 0;
cleanup:
    error_free(err);
    snapshot_info_list_free(list, count);
    return ret;
}

/* `qemu-img snapshot [-f FMT|--image-opts] [-l | -a|-c|-d SNAPSHOT] [-U] [-q] FILE`: lists the
 * snapshots (the default), or creates, applies or deletes one. Returns the exit code. */
int cli_command_snapshot(int argc, char **argv)
{
    snapshot_arguments args = {0};
    block_node *node = NULL;
    error *err = NULL;
    int flags = 0;
    int ret;

    ret = snapshot_arguments_parse(argc, argv, &args);
    if (ret >= 0) {
        goto cleanup;
    }
    ret = 1;
    cli_quiet = args.quiet;
    if (args.action == SNAPSHOT_ACTION_NONE) {
        args.action = SNAPSHOT_ACTION_LIST;
    }
    if (args.action != SNAPSHOT_ACTION_LIST) {
        flags |= BLOCK_OPEN_READ_WRITE;
    }
    if (args.force_share) {
        flags |= BLOCK_OPEN_FORCE_SHARE;
    }

    node = cli_image_open(argv[optind], args.format, args.image_opts, flags, NULL, args.quiet);
    if (node == NULL) {
        goto cleanup;
    }
    switch (args.action) {
    case SNAPSHOT_ACTION_CREATE:
        ret = snapshot_entry_create(node, args.name);
        break;
    case SNAPSHOT_ACTION_APPLY:
        ret = snapshot_entry_apply(node, args.name);
        break;
    case SNAPSHOT_ACTION_DELETE:
        ret = snapshot_entry_delete(node, args.name);
        break;
    default:
        snapshot_table_print(node);
        ret = 0;
        break;
    }
    if (args.action != SNAPSHOT_ACTION_LIST && block_node_flush(node, &err) < 0) {
        error_free(err);
        err = NULL;
    }

cleanup:
    if (node != NULL) {
        block_node_close(node);
    }
    error_free(err);
    return ret;
}
