/* map.c — `qemu-img map`: the allocation of every range of the virtual disk through the backing
 * chain, in human or JSON form (spec/architecture.md §Command line). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arguments.h"
#include "common.h"

typedef struct map_entry {
    uint64_t start;
    uint64_t length;
    bool data;
    bool zero;
    bool compressed;
    bool present;
    bool has_offset;
    uint64_t offset;
    int depth;
    const char *filename; /* the node holding the data, when has_offset */
} map_entry;

/* Fills e for the range at offset (qemu's get_block_status: walk down while unallocated). */
static int map_entry_fetch(block_node *node, uint64_t offset, uint64_t length, map_entry *e, error **errp)
{
    block_status_result st;
    int depth = 0;
    if (block_node_status_above(node, NULL, offset, length, &st, &depth, errp) < 0)
        return -1;
    if (st.length == 0)
        return error_set(errp, "Input/output error");
    memset(e, 0, sizeof(*e));
    int flags = st.flags;
    if (!(flags & (BLOCK_STATUS_ZERO | BLOCK_STATUS_DATA)))
        flags = 0;
    e->start = offset;
    e->length = st.length;
    e->data = (flags & BLOCK_STATUS_DATA) != 0;
    e->zero = (flags & BLOCK_STATUS_ZERO) != 0;
    e->compressed = (flags & BLOCK_STATUS_COMPRESSED) != 0;
    e->present = (flags & BLOCK_STATUS_ALLOCATED) != 0;
    e->has_offset = (flags & BLOCK_STATUS_OFFSET_VALID) != 0;
    e->offset = st.map_offset;
    e->depth = depth;
    e->filename = (e->has_offset && st.map_node) ? st.map_node->filename : NULL;
    return 0;
}

/* True when next continues curr with the same properties. */
static bool map_entry_mergeable(const map_entry *curr, const map_entry *next)
{
    if (curr->length == 0)
        return false;
    if (curr->zero != next->zero || curr->data != next->data || curr->compressed != next->compressed ||
        curr->depth != next->depth || curr->present != next->present || !curr->filename != !next->filename ||
        curr->has_offset != next->has_offset)
        return false;
    if (curr->filename && strcmp(curr->filename, next->filename) != 0)
        return false;
    if (curr->has_offset && curr->offset + curr->length != next->offset)
        return false;
    return true;
}

/* Prints e; in human form also relaxes next so that zero ranges coalesce. Returns -1 on the
 * human form's refusal of data without an offset. */
static int map_entry_print(bool json, const map_entry *e, map_entry *next)
{
    if (!json) {
        if (e->data && !e->has_offset) {
            cli_error("File contains external, encrypted or compressed clusters.");
            return -1;
        }
        if (e->data && !e->zero) {
            char a[32], b[32], c[32];
            snprintf(a, sizeof(a), "%#" PRIx64, e->start);
            snprintf(b, sizeof(b), "%#" PRIx64, e->length);
            snprintf(c, sizeof(c), "%#" PRIx64, e->has_offset ? e->offset : 0);
            printf("%-16s%-16s%-16s%s\n", a, b, c, e->filename ? e->filename : "");
        }
        if (next && (!next->data || next->zero)) {
            next->data = false;
            next->zero = true;
        }
        return 0;
    }
    printf("{ \"start\": %" PRIu64 ", \"length\": %" PRIu64 ", \"depth\": %d, \"present\": %s, \"zero\": %s,"
           " \"data\": %s, \"compressed\": %s",
           e->start, e->length, e->depth, e->present ? "true" : "false", e->zero ? "true" : "false",
           e->data ? "true" : "false", e->compressed ? "true" : "false");
    if (e->has_offset)
        printf(", \"offset\": %" PRIu64, e->offset);
    putchar('}');
    if (next)
        puts(",");
    return 0;
}

/* The options of map, in qemu-img's order. */
static void map_arguments_build(cli_arguments *a)
{
    cli_arguments_init(a, "map", false);
    cli_arguments_add_shared(a, CLI_SHARED_HELP, "help", 'h');
    cli_arguments_add_shared(a, CLI_SHARED_FORMAT, "format", 'f');
    cli_arguments_add_shared(a, CLI_SHARED_IMAGE_OPTS, "image-opts", 0);
    cli_arguments_add(a, "start-offset", required_argument, 's');
    cli_arguments_add(a, "max-length", required_argument, 'l');
    cli_arguments_add_shared(a, CLI_SHARED_FORCE_SHARE, "force-share", 'U');
    cli_arguments_add_shared(a, CLI_SHARED_OUTPUT, "output", 0);
    cli_arguments_add_shared(a, CLI_SHARED_OBJECT, "object", 0);
}

/* `qemu-img map [-f FMT|--image-opts] [-s START] [-l LENGTH] [-U] [--output=human|json] FILE`: prints the
 * allocation of FILE's ranges. Returns 0 or 1. */
int cli_command_map(int argc, char **argv)
{
    cli_arguments arguments;
    cli_shared_values shared = {0};
    int64_t start_offset = 0, max_length = -1;
    int c, exit_code = 0;
    map_arguments_build(&arguments);
    while ((c = cli_arguments_next(&arguments, argc, argv, &shared, &exit_code)) != CLI_ARGUMENTS_END) {
        if (c == CLI_ARGUMENTS_EXIT)
            return exit_code;
        if (c == 's' && cli_size_argument("start offset", optarg, 0, INT64_MAX, &start_offset) < 0)
            return 1;
        if (c == 'l' && cli_size_argument("max length", optarg, 0, INT64_MAX, &max_length) < 0)
            return 1;
    }
    const char *format = shared.format;
    bool image_opts = shared.image_opts, force_share = shared.force_share, json = shared.json;
    if (optind != argc - 1)
        return cli_usage_error(argv[0], "Expecting one image file name");
    const char *filename = argv[optind];
    block_node *node = cli_image_open(filename, format, image_opts, force_share ? BLOCK_OPEN_FORCE_SHARE : 0,
                                      NULL, false);
    if (node == NULL)
        return 1;
    if (json)
        putchar('[');
    else
        printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
    int64_t length = block_node_length(node);
    if (max_length != -1 && start_offset + max_length < length)
        length = start_offset + max_length;
    map_entry curr = {.start = (uint64_t)start_offset, .length = 0}, next;
    int ret = 0;
    while ((int64_t)(curr.start + curr.length) < length) {
        uint64_t offset = curr.start + curr.length;
        error *err = NULL;
        if (map_entry_fetch(node, offset, (uint64_t)length - offset, &next, &err) < 0) {
            fflush(stdout);
            fprintf(stderr, "qemu-img: Could not read file metadata: %s\n", error_message(err));
            error_free(err);
            ret = -1;
            goto out;
        }
        if (map_entry_mergeable(&curr, &next)) {
            curr.length += next.length;
            continue;
        }
        if (curr.length > 0 && map_entry_print(json, &curr, &next) < 0) {
            ret = -1;
            goto out;
        }
        curr = next;
    }
    ret = map_entry_print(json, &curr, NULL);
    if (json)
        puts("]");
out:
    block_node_close(node);
    return ret < 0 ? 1 : 0;
}
