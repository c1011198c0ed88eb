/* vpc_create.c — creation of a VHD image as qemu 10.2 lays it out: dynamic (footer copy, dynamic
 * header, block table, footer) or fixed (data area, footer) (spec/vpc.md §Creation). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vpc.h"
#include "../common/format_io.h"
#include "../common/format_uuid.h"
#include "../../block/open.h"
#include "../../util/memory.h"

/* qemu's vpc_create_opts, in its order (the "Formatting" line follows it). */
const option_desc vpc_create_options[] = {
    {"size", OPTION_TYPE_SIZE, "Virtual disk size", NULL},
    {"subformat", OPTION_TYPE_STRING,
     "Type of virtual hard disk format. Supported formats are {dynamic (default) | fixed} ", NULL},
    {"force_size", OPTION_TYPE_BOOL,
     "Force disk size calculation to use the actual size specified, rather than using the nearest CHS-based "
     "calculation",
     NULL},
    {NULL, 0, NULL, NULL},
};

/* Creates the empty protocol file with the protocol's own options (preallocation, nocow...) at size 0. */
static int vpc_create_file(const char *filename, const option_list *options, error **errp)
{
    option_list own = option_list_copy(options);
    option_list_remove(&own, "subformat");
    option_list_remove(&own, "force_size");
    option_list_set(&own, "size", "0");
    int ret = block_driver_find_protocol(filename)->create(filename, &own, errp);
    option_list_free(&own);
    return ret;
}

/* The footer of a new image, stamped with the time and a random UUID, encoded into sector. */
static void vpc_create_footer_encode(uint32_t disk_type, bool force_size, vpc_geometry geometry, uint64_t sectors,
                                     uint8_t *sector)
{
    vpc_footer footer;
    vpc_footer_init_new(&footer, disk_type, force_size, geometry, sectors);
    footer.timestamp = (uint32_t)((long long)time(NULL) - VPC_TIMESTAMP_EPOCH);
    format_uuid_generate(footer.uuid);
    vpc_footer_write_data(&footer, sector);
}

/* Writes a dynamic image: footer copy, dynamic header, a block table of unallocated entries padded
 * with 0xff to whole sectors, and the footer after it. */
static int vpc_create_dynamic(block_node *file, const uint8_t *footer, uint64_t sectors, error **errp)
{
    vpc_dynamic_header header;
    uint8_t raw[VPC_DYNAMIC_HEADER_SIZE];
    vpc_dynamic_header_init_new(&header, sectors);
    vpc_dynamic_header_write_data(&header, raw);
    uint64_t table_bytes = format_align_up((uint64_t)header.max_table_entries * 4, VPC_SECTOR_SIZE);
    if (format_file_write(file, 0, VPC_FOOTER_SIZE, footer, errp) < 0 ||
        format_file_write(file, VPC_FOOTER_SIZE, sizeof(raw), raw, errp) < 0)
        return -1;
    size_t chunk_bytes = 1u << 20;
    uint8_t *chunk = memory_alloc_zero(chunk_bytes);
    memset(chunk, 0xff, chunk_bytes);
    int ret = 0;
    for (uint64_t done = 0; done < table_bytes && ret == 0; done += chunk_bytes) {
        size_t n = table_bytes - done < chunk_bytes ? (size_t)(table_bytes - done) : chunk_bytes;
        ret = format_file_write(file, header.table_offset + done, n, chunk, errp);
    }
    free(chunk);
    if (ret < 0)
        return -1;
    return format_file_write(file, header.table_offset + table_bytes, VPC_FOOTER_SIZE, footer, errp);
}

/* Writes a fixed image: the data area left as a hole, the footer behind it. */
static int vpc_create_fixed(block_node *file, const uint8_t *footer, uint64_t sectors, error **errp)
{
    uint64_t data_bytes = sectors * VPC_SECTOR_SIZE;
    if (block_node_truncate(file, data_bytes, false, BLOCK_PREALLOCATION_OFF, false, errp) < 0)
        return -1;
    return format_file_write(file, data_bytes, VPC_FOOTER_SIZE, footer, errp);
}

/* Creates filename as a VHD image in qemu's order: options read, the file made empty, subformat and
 * size checked, then the layout written (spec/vpc.md §Creation). */
int vpc_create(const char *filename, const option_list *options, error **errp)
{
    uint64_t size = 0, sectors = 0;
    bool force_size = false;
    vpc_geometry geometry;
    uint8_t footer[VPC_FOOTER_SIZE];
    if (option_list_get_size(options, "size", 0, &size, errp) < 0 ||
        option_list_get_bool(options, "force_size", false, &force_size, errp) < 0)
        return -1;
    if (vpc_create_file(filename, options, errp) < 0)
        return -1;
    const char *subformat = option_list_get(options, "subformat");
    bool fixed = subformat && strcmp(subformat, "fixed") == 0;
    if (subformat && !fixed && strcmp(subformat, "dynamic") != 0)
        return error_set(errp, "Parameter 'subformat' does not accept value '%s'", subformat);
    vpc_create_size_compute(size, force_size, &geometry, &sectors);
    if (sectors > VPC_MAX_SECTORS)
        return error_set_errnum(errp, EFBIG, "Disk size is too large, max size is 2040 GiB");
    vpc_create_footer_encode(fixed ? VPC_DISK_FIXED : VPC_DISK_DYNAMIC, force_size, geometry, sectors, footer);
    block_node *file = block_protocol_open(filename, BLOCK_OPEN_READ_WRITE, errp);
    if (file == NULL)
        return -1;
    int ret = fixed ? vpc_create_fixed(file, footer, sectors, errp) : vpc_create_dynamic(file, footer, sectors, errp);
    block_node_close(file);
    return ret;
}
