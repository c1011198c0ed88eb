/* parallels_create.c — creation of a Parallels image exactly as qemu 10.2 lays it out: a
 * "WithouFreSpacExt" header, a zeroed BAT and zeroes up to the data offset (spec/parallels.md §Creation). */
#include <string.h>

#include "parallels.h"
#include "../common/format_io.h"
#include "../../block/file.h"
#include "../../block/open.h"

/* qemu's parallels_create_opts, in its order (the "Formatting" line follows it). */
const option_desc parallels_create_options[] = {
    {"size", OPTION_TYPE_SIZE, "Virtual disk size", NULL},
    {"cluster_size", OPTION_TYPE_SIZE, "Parallels image cluster size", "1048576"},
    {NULL, 0, NULL, NULL},
};

/* Validated creation parameters. */
typedef struct parallels_create_params {
    uint64_t size;
    uint64_t cluster_size;
    block_preallocation prealloc;
} parallels_create_params;

/* Reads the options; only an unknown preallocation mode fails before the file exists. */
static int parallels_create_params_parse(const option_list *options, parallels_create_params *p, error **errp)
{
    memset(p, 0, sizeof(*p));
    if (option_list_get_size(options, "size", 0, &p->size, errp) < 0 ||
        option_list_get_size(options, "cluster_size", PARALLELS_DEFAULT_CLUSTER_SIZE, &p->cluster_size, errp) < 0)
        return -1;
    const char *text = option_list_get(options, "preallocation");
    if (text) {
        int mode = block_preallocation_parse(text);
        if (mode < 0)
            return error_set(errp, "invalid parameter value: %s", text);
        p->prealloc = (block_preallocation)mode;
    }
    return 0;
}

/* The checks qemu makes once the (empty) file exists, in its order; builds the header. */
static int parallels_create_params_check(parallels_create_params *p, parallels_header *header, error **errp)
{
    if (p->prealloc == BLOCK_PREALLOCATION_METADATA)
        return error_set(errp, "Unsupported preallocation mode: metadata");
    if (p->cluster_size > PARALLELS_MAX_CREATE_CLUSTER)
        return error_set(errp, "Cluster size is too large");
    p->cluster_size = (p->cluster_size + PARALLELS_SECTOR_SIZE - 1) / PARALLELS_SECTOR_SIZE * PARALLELS_SECTOR_SIZE;
    p->size = (p->size + PARALLELS_SECTOR_SIZE - 1) / PARALLELS_SECTOR_SIZE * PARALLELS_SECTOR_SIZE;
    if (!parallels_create_header_build(p->size, p->cluster_size, header))
        return error_set(errp, "Image size is too large for this cluster size");
    return 0;
}

int parallels_create(const char *filename, const option_list *options, error **errp)
{
    parallels_create_params p;
    parallels_header header;
    uint8_t raw[PARALLELS_HEADER_SIZE];
    if (parallels_create_params_parse(options, &p, errp) < 0)
        return -1;
    if (file_protocol_create_empty(filename, options, errp) < 0)
        return -1;
    if (parallels_create_params_check(&p, &header, errp) < 0)
        return -1;
    block_node *file = block_protocol_open(filename, BLOCK_OPEN_READ_WRITE, errp);
    if (file == NULL)
        return -1;
    parallels_header_write_data(&header, raw);
    int ret = format_file_write(file, 0, sizeof(raw), raw, errp);
    if (ret == 0)
        ret = block_node_truncate(file, (uint64_t)header.data_off * PARALLELS_SECTOR_SIZE, false,
                                  BLOCK_PREALLOCATION_OFF, true, errp);
    block_node_close(file);
    return ret;
}
