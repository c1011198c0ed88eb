/* check.c — `qemu-img check`: consistency check and repair, with qemu-img's summary and exit codes
 * (0 clean, 1 check failed, 2 corruptions, 3 leaks only, 63 unsupported) (spec/architecture.md §Command line). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arguments.h"
#include "common.h"
#include "../util/json.h"

/* Runs the driver's check; -ENOTSUP when the format has none or the driver answers -ENOTSUP (no repair),
 * -1 with *errp on failure. */
static int check_collect(block_node *node, check_result *result, int fix, error **errp)
{
    memset(result, 0, sizeof(*result));
    if (node->driver->check == NULL)
        return -ENOTSUP;
    int ret = node->driver->check(node, result, fix, errp);
    if (ret == -ENOTSUP) /* the driver cannot repair (vdi): "does not support checks" as qemu says */
        return -ENOTSUP;
    return ret < 0 ? -1 : 0;
}

/* The ImageCheck object in qemu's field order; optional fields only when non-zero. */
static json_value *check_describe(const check_result *r, const char *filename, const char *format)
{
    json_value *o = json_object_new();
    json_object_set_string(o, "filename", filename);
    json_object_set_string(o, "format", format);
    json_object_set_int(o, "check-errors", r->check_errors);
    if (r->image_end_offset)
        json_object_set_int(o, "image-end-offset", r->image_end_offset);
    if (r->corruptions)
        json_object_set_int(o, "corruptions", r->corruptions);
    if (r->leaks)
        json_object_set_int(o, "leaks", r->leaks);
    if (r->corruptions_fixed)
        json_object_set_int(o, "corruptions-fixed", r->corruptions_fixed);
    if (r->leaks_fixed)
        json_object_set_int(o, "leaks-fixed", r->leaks_fixed);
    if (r->total_clusters)
        json_object_set_int(o, "total-clusters", r->total_clusters);
    if (r->allocated_clusters)
        json_object_set_int(o, "allocated-clusters", r->allocated_clusters);
    if (r->fragmented_clusters)
        json_object_set_int(o, "fragmented-clusters", r->fragmented_clusters);
    if (r->compressed_clusters)
        json_object_set_int(o, "compressed-clusters", r->compressed_clusters);
    return o;
}

/* Prints the outcome of a check as qemu-img's human summary. */
static void check_print_human(const check_result *r)
{
    if (!(r->corruptions || r->leaks || r->check_errors)) {
        cli_printf("No errors were found on the image.\n");
    } else {
        if (r->corruptions)
            cli_printf("\n%lld errors were found on the image.\n"
                       "Data may be corrupted, or further writes to the image may corrupt it.\n",
                       (long long)r->corruptions);
        if (r->leaks)
            cli_printf("\n%lld leaked clusters were found on the image.\n"
                       "This means waste of disk space, but no harm to data.\n",
                       (long long)r->leaks);
        if (r->check_errors)
            cli_printf("\n%lld internal errors have occurred during the check.\n", (long long)r->check_errors);
    }
    if (r->total_clusters != 0 && r->allocated_clusters != 0)
        cli_printf("%lld/%lld = %0.2f%% allocated, %0.2f%% fragmented, %0.2f%% compressed clusters\n",
                   (long long)r->allocated_clusters, (long long)r->total_clusters,
                   r->allocated_clusters * 100.0 / r->total_clusters,
                   r->fragmented_clusters * 100.0 / r->allocated_clusters,
                   r->compressed_clusters * 100.0 / r->allocated_clusters);
    if (r->image_end_offset)
        cli_printf("Image end offset: %lld\n", (long long)r->image_end_offset);
}

/* Checks node (repairing what fix asks for); after a repair, says what was repaired (unless json) and
 * checks again, keeping the counts of what was fixed. Returns 0, -ENOTSUP, or -1 with *errp. */
static int check_run(block_node *node, check_result *result, int fix, bool json, error **errp)
{
    int ret = check_collect(node, result, fix, errp);
    if (ret != 0 || !(result->corruptions_fixed || result->leaks_fixed))
        return ret;
    int64_t leaks_fixed = result->leaks_fixed, corruptions_fixed = result->corruptions_fixed;
    if (!json)
        cli_printf("The following inconsistencies were found and repaired:\n\n"
                   "    %lld leaked clusters\n"
                   "    %lld corruptions\n\n"
                   "Double checking the fixed image now...\n",
                   (long long)leaks_fixed, (long long)corruptions_fixed);
    ret = check_collect(node, result, 0, errp);
    result->leaks_fixed = leaks_fixed;
    result->corruptions_fixed = corruptions_fixed;
    return ret;
}

/* Prints the outcome of a check that ran, in human or JSON form. */
static void check_result_print(const check_result *result, bool json, const char *filename, const char *format)
{
    if (!json) {
        check_print_human(result);
        return;
    }
    json_value *o = check_describe(result, filename, format);
    char *text = json_print_pretty(o);
    cli_printf("%s\n", text);
    free(text);
    json_free(o);
}

/* The exit status of check after ret (the check's outcome, err its error): 1 when it failed (with
 * "Check failed"), 2 for corruptions, 3 for leaks only, else 0. */
static int check_exit_code(int ret, const check_result *result, const error *err)
{
    if (ret != 0 || result->check_errors) {
        fflush(stdout);
        if (ret != 0)
            fprintf(stderr, "qemu-img: Check failed: %s\n", err ? error_message(err) : "Input/output error");
        else
            fprintf(stderr, "qemu-img: Check failed\n");
        return 1;
    }
    if (result->corruptions)
        return 2;
    return result->leaks ? 3 : 0;
}

/* The options of check, in qemu-img's order. */
static void check_arguments_build(cli_arguments *a)
{
    cli_arguments_init(a, "check", false);
    cli_arguments_add_shared(a, CLI_SHARED_HELP, "help", 'h');
    cli_arguments_add_shared(a, CLI_SHARED_FORMAT, "format", 'f');
    cli_arguments_add_shared(a, CLI_SHARED_IMAGE_OPTS, "image-opts", 0);
    cli_arguments_add_shared(a, CLI_SHARED_CACHE, "cache", 'T');
    cli_arguments_add(a, "repair", required_argument, 'r');
    cli_arguments_add_shared(a, CLI_SHARED_FORCE_SHARE, "force-share", 'U');
    cli_arguments_add_shared(a, CLI_SHARED_OUTPUT, "output", 0);
    cli_arguments_add_shared(a, CLI_SHARED_QUIET, "quiet", 'q');
    cli_arguments_add_shared(a, CLI_SHARED_OBJECT, "object", 0);
}

/* Parses -r's argument into CHECK_FIX_* flags; -1 (reported) when it is neither leaks nor all. */
static int check_repair_parse(const char *argv0, const char *text, int *fix)
{
    if (strcmp(text, "leaks") == 0)
        *fix = CHECK_FIX_LEAKS;
    else if (strcmp(text, "all") == 0)
        *fix = CHECK_FIX_LEAKS | CHECK_FIX_ERRORS;
    else
        return -cli_usage_error(argv0, "--repair (-r) expects 'leaks' or 'all', not '%s'", text);
    return 0;
}

/* `qemu-img check [-f FMT|--image-opts] [-T CACHE] [-r leaks|all] [-U] [--output=human|json] [-q] FILE`:
 * checks (and repairs) FILE; returns 0, 1, 2, 3 or 63 as qemu-img does. */
int cli_command_check(int argc, char **argv)
{
    cli_arguments arguments;
    cli_shared_values shared = {0};
    int fix = 0, flags = BLOCK_OPEN_CHECK, exit_code = 0, c;
    check_arguments_build(&arguments);
    while ((c = cli_arguments_next(&arguments, argc, argv, &shared, &exit_code)) != CLI_ARGUMENTS_END) {
        if (c == CLI_ARGUMENTS_EXIT)
            return exit_code;
        /* 'r' is check's only option of its own */
        flags |= BLOCK_OPEN_READ_WRITE | BLOCK_OPEN_REPAIR;
        if (check_repair_parse(argv[0], optarg, &fix) < 0)
            return 1;
    }
    const char *format = shared.format, *cache = shared.cache ? shared.cache : "writeback";
    bool image_opts = shared.image_opts, force_share = shared.force_share, json = shared.json;
    if (optind != argc - 1)
        return cli_usage_error(argv[0], "Expecting one image file name");
    const char *filename = argv[optind];
    int cache_flags;
    if (block_cache_mode_parse(cache, &cache_flags, NULL) < 0) {
        cli_error("Invalid source cache option: %s", cache);
        return 1;
    }
    if (force_share)
        flags |= BLOCK_OPEN_FORCE_SHARE;
    block_node *node = cli_image_open(filename, format, image_opts, flags, cache, cli_quiet);
    if (node == NULL)
        return 1;
    check_result result;
    error *err = NULL;
    int ret = check_run(node, &result, fix, json, &err);
    if (ret == -ENOTSUP) {
        cli_error("This image format does not support checks");
        block_node_close(node);
        return 63;
    }
    if (ret == 0)
        check_result_print(&result, json, filename, node->driver->format_name);
    exit_code = check_exit_code(ret, &result, err);
    error_free(err);
    block_node_close(node);
    return exit_code;
}
