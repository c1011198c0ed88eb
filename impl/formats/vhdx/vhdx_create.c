/* vhdx_create.c — VHDX image creation: option checks in qemu 10.2's order and wording and the layout
 * qemu writes (identifier, headers, region tables, empty log, BAT, metadata, payload start)
 * (spec/vhdx.md §Creation). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vhdx.h"
#include "../common/format_io.h"
#include "../../block/file.h"
#include "../../block/open.h"
#include "../../util/endian.h"
#include "../../util/memory.h"

/* qemu's vhdx_create_opts, in the order the "Formatting" line lists them. */
const option_desc vhdx_create_options[] = {
    {"size", OPTION_TYPE_SIZE, "Virtual disk size; max of 64TB.", NULL},
    {"log_size", OPTION_TYPE_SIZE, "Log size; min 1MB.", "1048576"},
    {"block_size", OPTION_TYPE_SIZE, "Block Size; min 1MB, max 256MB. 0 means auto-calculate based on image size.",
     "0"},
    {"subformat", OPTION_TYPE_STRING, "VHDX format type, can be either 'dynamic' or 'fixed'. Default is 'dynamic'.",
     NULL},
    {"block_state_zero", OPTION_TYPE_BOOL,
     "Force use of payload blocks of type 'ZERO'. Non-standard, but default.  Do not set to 'off' when using "
     "'qemu-img convert' with subformat=dynamic.",
     NULL},
    {NULL, 0, NULL, NULL},
};

/* Where the payload of a new image starts, after the metadata region (oracle-measured: 4 MiB past it). */
#define VHDX_CREATE_PAYLOAD_GAP (4 * VHDX_MIB)
/* qemu writes the first 4 KiB of the identifier block (the rest stays a hole). */
#define VHDX_CREATE_FILE_ID_BYTES 4096u

/* Validated creation parameters and the layout they give. */
typedef struct vhdx_create_params {
    vhdx_params params;
    uint64_t log_size;
    bool fixed;
    bool block_state_zero;
    uint64_t bat_offset;
    uint64_t bat_length;
    uint64_t metadata_offset;
    uint64_t payload_offset;
} vhdx_create_params;

/* The block size qemu picks for size bytes when none is given. */
static uint64_t vhdx_create_block_size_auto(uint64_t size)
{
    if (size > 32 * VHDX_TIB)
        return 64 * VHDX_MIB;
    if (size > 100 * VHDX_GIB)
        return 32 * VHDX_MIB;
    if (size > VHDX_GIB)
        return 16 * VHDX_MIB;
    return 8 * VHDX_MIB;
}

/* Checks the option values in qemu's order: subformat, size, log size, block size. */
static int vhdx_create_params_parse(const option_list *options, vhdx_create_params *c, error **errp)
{
    uint64_t size = 0, block_size = 0;
    const char *subformat = option_list_get(options, "subformat");
    memset(c, 0, sizeof(*c));
    if (option_list_get_size(options, "size", 0, &size, errp) < 0 ||
        option_list_get_size(options, "log_size", VHDX_MIB, &c->log_size, errp) < 0 ||
        option_list_get_size(options, "block_size", 0, &block_size, errp) < 0 ||
        option_list_get_bool(options, "block_state_zero", true, &c->block_state_zero, errp) < 0)
        return -1;
    if (subformat && strcmp(subformat, "dynamic") != 0 && strcmp(subformat, "fixed") != 0)
        return error_set(errp, "Parameter 'subformat' does not accept value '%s'", subformat);
    c->fixed = subformat && strcmp(subformat, "fixed") == 0;
    if (size > VHDX_MAX_IMAGE_SIZE)
        return error_set(errp, "Image size too large; max of 64TB");
    if (c->log_size >= 4 * VHDX_GIB || format_align_up(c->log_size, VHDX_MIB) >= 4 * VHDX_GIB)
        return error_set(errp, "Log size must be smaller than 4 GB");
    c->log_size = format_align_up(c->log_size, VHDX_MIB);
    if (c->log_size == 0)
        return error_set(errp, "Log size must be a multiple of 1 MB");
    if (block_size == 0)
        block_size = vhdx_create_block_size_auto(size);
    if (block_size < VHDX_BLOCK_SIZE_MIN)
        block_size = VHDX_BLOCK_SIZE_MIN;
    if (block_size > VHDX_BLOCK_SIZE_MAX)
        block_size = VHDX_BLOCK_SIZE_MAX;
    if (!format_is_power_of_two(block_size))
        return error_set(errp, "Block size must be a power of two");
    c->params.block_size = (uint32_t)block_size;
    c->params.virtual_size = format_align_up(size, 512);
    c->params.leave_blocks_allocated = c->fixed;
    c->params.logical_sector_size = 512;
    c->params.physical_sector_size = 512;
    vhdx_guid page83;
    vhdx_guid_generate(&page83);
    memcpy(c->params.page83, page83.bytes, 16);
    c->bat_offset = VHDX_MIB + c->log_size;
    c->bat_length = format_align_up((uint64_t)vhdx_bat_entry_count(&c->params) * 8, VHDX_MIB);
    c->metadata_offset = c->bat_offset + c->bat_length;
    c->payload_offset = c->metadata_offset + VHDX_MIB + VHDX_CREATE_PAYLOAD_GAP;
    return 0;
}

/* Writes the identifier, both headers and both region tables. */
static int vhdx_create_headers_write(block_node *file, const vhdx_create_params *c, error **errp)
{
    uint8_t *buf = memory_alloc_zero(VHDX_REGION_TABLE_SIZE);
    vhdx_header h = {0};
    int ret;
    vhdx_guid random_bits;
    vhdx_guid_generate(&random_bits);
    h.sequence_number = endian_load_le32(random_bits.bytes); /* qemu starts from a random 32-bit number */
    vhdx_guid_generate(&h.file_write_guid);
    vhdx_guid_generate(&h.data_write_guid);
    h.version = 1;
    h.log_length = (uint32_t)c->log_size;
    h.log_offset = VHDX_MIB;
    vhdx_file_id_write_data(buf);
    ret = format_file_write(file, 0, VHDX_CREATE_FILE_ID_BYTES, buf, errp);
    for (int i = 0; i < 2 && ret == 0; i++) {
        vhdx_header_write_data(&h, buf);
        ret = format_file_write(file, i == 0 ? VHDX_HEADER_OFFSET_1 : VHDX_HEADER_OFFSET_2, VHDX_HEADER_SIZE, buf, errp);
        h.sequence_number++;
    }
    vhdx_region regions[2] = {
        {vhdx_guid_bat_region, c->bat_offset, (uint32_t)c->bat_length, 0},
        {vhdx_guid_metadata_region, c->metadata_offset, (uint32_t)VHDX_MIB, 0},
    };
    vhdx_region_table_write_data(regions, 2, buf);
    if (ret == 0)
        ret = format_file_write(file, VHDX_REGION_TABLE_OFFSET, VHDX_REGION_TABLE_SIZE, buf, errp);
    if (ret == 0)
        ret = format_file_write(file, VHDX_REGION_TABLE_OFFSET_2, VHDX_REGION_TABLE_SIZE, buf, errp);
    free(buf);
    return ret;
}

/* The BAT entry of BAT index i of a new image. */
static uint64_t vhdx_create_bat_entry(const vhdx_create_params *c, uint64_t i, uint32_t ratio)
{
    if ((i + 1) % ((uint64_t)ratio + 1) == 0)
        return 0; /* a sector bitmap entry */
    uint64_t block = i - i / ((uint64_t)ratio + 1);
    if (c->block_state_zero)
        return VHDX_BLOCK_ZERO;
    if (c->fixed)
        return (c->payload_offset + block * c->params.block_size) | VHDX_BLOCK_FULLY_PRESENT;
    return VHDX_BLOCK_NOT_PRESENT;
}

/* Writes the BAT when it holds anything but zeroes (ZERO states or a fixed image): the whole region,
 * entries past the last one included, in 1 MiB pieces, as qemu does (its file then has no hole there). */
static int vhdx_create_bat_write(block_node *file, const vhdx_create_params *c, error **errp)
{
    uint32_t ratio = vhdx_chunk_ratio(&c->params);
    uint64_t blocks = vhdx_data_block_count(&c->params);
    uint64_t entries = blocks == 0 ? 0 : blocks + (blocks - 1) / ratio;
    if (!c->block_state_zero && !c->fixed)
        return 0;
    uint8_t *chunk = memory_alloc_zero(VHDX_MIB);
    int ret = 0;
    for (uint64_t done = 0; done < c->bat_length / 8 && ret == 0; done += VHDX_MIB / 8) {
        for (uint64_t j = 0; j < VHDX_MIB / 8; j++)
            endian_store_le64(chunk + 8 * j, done + j < entries ? vhdx_create_bat_entry(c, done + j, ratio) : 0);
        ret = format_file_write(file, c->bat_offset + done * 8, VHDX_MIB, chunk, errp);
    }
    free(chunk);
    return ret;
}

/* Lays out the new image in the (empty) file. */
static int vhdx_create_layout(block_node *file, const vhdx_create_params *c, error **errp)
{
    if (vhdx_create_headers_write(file, c, errp) < 0 || vhdx_create_bat_write(file, c, errp) < 0)
        return -1;
    uint8_t *metadata = memory_alloc_zero(VHDX_MIB);
    vhdx_metadata_write_data(&c->params, metadata);
    int ret = format_file_write(file, c->metadata_offset, VHDX_METADATA_TABLE_SIZE + 40, metadata, errp);
    free(metadata);
    if (ret < 0)
        return -1;
    uint64_t end = c->payload_offset + (c->fixed ? c->params.virtual_size : 0);
    return block_node_truncate(file, end, true, BLOCK_PREALLOCATION_OFF, false, errp);
}

int vhdx_create(const char *filename, const option_list *options, error **errp)
{
    vhdx_create_params c;
    int ret = file_protocol_create_empty(filename, options, errp);
    if (ret < 0 || vhdx_create_params_parse(options, &c, errp) < 0)
        return -1;
    block_node *file = block_protocol_open(filename, BLOCK_OPEN_READ_WRITE, errp);
    if (file == NULL)
        return -1;
    ret = vhdx_create_layout(file, &c, errp);
    block_node_close(file);
    return ret;
}
