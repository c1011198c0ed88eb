/* test_format_vhdx.c — cmocka tests of the VHDX driver's pure parsers: file identifier, headers,
 * region table, metadata table and items, BAT geometry, log entries and descriptors (spec/vhdx.md). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "formats/common/format_checksum.h"
#include "formats/vhdx/vhdx.h"
#include "util/endian.h"

static void test_file_id_round_trip(void **state)
{
    (void)state;
    uint8_t *buf = calloc(1, VHDX_FILE_ID_SIZE);
    vhdx_file_id_write_data(buf);
    assert_true(vhdx_file_id_valid(buf, VHDX_FILE_ID_SIZE));
    /* "QEMU v10.2.2" in UTF-16LE after the signature, as the oracle writes it */
    assert_memory_equal(buf + 8, "Q\0E\0M\0U\0 \0v\0001\0000\0.\0002\0.\0002\0", 24);
    buf[0] = 'w';
    assert_false(vhdx_file_id_valid(buf, VHDX_FILE_ID_SIZE));
    assert_false(vhdx_file_id_valid(buf, 4));
    free(buf);
}

static void test_header_round_trip_and_checksum(void **state)
{
    (void)state;
    vhdx_header h = {0}, back;
    uint8_t buf[VHDX_HEADER_SIZE];
    h.sequence_number = 0x4a688e18;
    h.version = 1;
    h.log_length = 1 << 20;
    h.log_offset = 1 << 20;
    h.file_write_guid.bytes[3] = 9;
    vhdx_header_write_data(&h, buf);
    assert_memory_equal(buf, "head", 4);
    assert_true(vhdx_header_read_data(buf, sizeof(buf), &back));
    assert_true(back.sequence_number == h.sequence_number && back.log_offset == h.log_offset &&
                back.log_length == h.log_length);
    assert_true(vhdx_guid_equal(&back.file_write_guid, &h.file_write_guid));
    buf[100] ^= 1; /* checksum no longer matches */
    assert_false(vhdx_header_read_data(buf, sizeof(buf), &back));
    buf[100] ^= 1;
    assert_false(vhdx_header_read_data(buf, 100, &back));
    h.version = 2; /* only version 1 is valid */
    vhdx_header_write_data(&h, buf);
    assert_false(vhdx_header_read_data(buf, sizeof(buf), &back));
}

static void test_region_table(void **state)
{
    (void)state;
    uint8_t *buf = malloc(VHDX_REGION_TABLE_SIZE);
    vhdx_region regions[2] = {{vhdx_guid_bat_region, 2 << 20, 1 << 20, 0},
                              {vhdx_guid_metadata_region, 3 << 20, 1 << 20, 0}};
    vhdx_region *back = calloc(VHDX_REGION_ENTRY_MAX, sizeof(*back));
    uint32_t count = 0;
    vhdx_region_table_write_data(regions, 2, buf);
    assert_int_equal(vhdx_region_table_read_data(buf, VHDX_REGION_TABLE_SIZE, back, &count), 0);
    assert_int_equal(count, 2);
    assert_true(back[1].file_offset == 3 << 20 && vhdx_guid_equal(&back[0].guid, &vhdx_guid_bat_region));
    endian_store_le32(buf + 8, VHDX_REGION_ENTRY_MAX + 1);
    endian_store_le32(buf + 4, 0);
    endian_store_le32(buf + 4, format_checksum_crc32c(buf, VHDX_REGION_TABLE_SIZE));
    assert_int_equal(vhdx_region_table_read_data(buf, VHDX_REGION_TABLE_SIZE, back, &count), -1);
    free(back);
    free(buf);
}

static void test_metadata_round_trip(void **state)
{
    (void)state;
    uint8_t *buf = calloc(1, 1 << 20);
    vhdx_params p = {.block_size = 8 << 20, .virtual_size = 64 << 20, .logical_sector_size = 512,
                     .physical_sector_size = 512};
    vhdx_params back = {0};
    vhdx_metadata_items items;
    vhdx_metadata_write_data(&p, buf);
    assert_int_equal(vhdx_metadata_table_read_data(buf, VHDX_METADATA_TABLE_SIZE, 1 << 20, &items), 0);
    for (int k = 0; k < VHDX_ITEM_PARENT_LOCATOR; k++)
        vhdx_metadata_item_decode(k, buf + items.offset[k], items.length[k], &back);
    assert_true(back.block_size == p.block_size && back.virtual_size == p.virtual_size);
    assert_int_equal(vhdx_params_validate(&back, false), 0);
    /* an item past the region */
    assert_int_equal(vhdx_metadata_table_read_data(buf, VHDX_METADATA_TABLE_SIZE, 0x10000, &items), -EINVAL);
    /* unknown required item (the file parameters GUID changed) */
    buf[32] ^= 1;
    assert_int_equal(vhdx_metadata_table_read_data(buf, VHDX_METADATA_TABLE_SIZE, 1 << 20, &items), -ENOTSUP);
    /* the same, not required: the file parameters are then missing, which is not supported either */
    endian_store_le32(buf + 32 + 24, 0);
    assert_int_equal(vhdx_metadata_table_read_data(buf, VHDX_METADATA_TABLE_SIZE, 1 << 20, &items), -ENOTSUP);
    free(buf);
}

static void test_params_validate(void **state)
{
    (void)state;
    vhdx_params p = {.block_size = 3 << 20, .virtual_size = 1 << 20, .logical_sector_size = 512};
    assert_int_equal(vhdx_params_validate(&p, false), -EINVAL);
    p.block_size = 1 << 20;
    p.logical_sector_size = 4096;
    assert_int_equal(vhdx_params_validate(&p, false), -ENOTSUP);
    p.logical_sector_size = 512;
    p.has_parent = true;
    assert_int_equal(vhdx_params_validate(&p, false), -EINVAL);
    assert_int_equal(vhdx_params_validate(&p, true), -ENOTSUP);
}

static void test_bat_geometry(void **state)
{
    (void)state;
    vhdx_params p = {.block_size = 8 << 20, .virtual_size = 64 << 20, .logical_sector_size = 512};
    assert_int_equal(vhdx_chunk_ratio(&p), 512);
    assert_int_equal(vhdx_bat_entry_count(&p), 8);
    p.virtual_size = 0; /* 32-bit arithmetic: (0 - 1) / 512 */
    assert_int_equal(vhdx_bat_entry_count(&p), 8388607);
    p.block_size = 1 << 20;
    p.virtual_size = 5ull << 30;
    assert_int_equal(vhdx_chunk_ratio(&p), 4096);
    assert_int_equal(vhdx_bat_entry_count(&p), 5121);
    assert_int_equal(vhdx_bat_index(&p, 4096), 4097);
}

static void test_log_entry_and_descriptors(void **state)
{
    (void)state;
    uint8_t buf[4096] = {0};
    vhdx_log_entry e;
    vhdx_log_descriptor d;
    memcpy(buf, "loge", 4);
    endian_store_le32(buf + 8, 0x2000);
    endian_store_le64(buf + 16, 1);
    endian_store_le32(buf + 24, 1);
    memcpy(buf + 64, "desc", 4);
    endian_store_le64(buf + 72, 0x800006);
    endian_store_le64(buf + 80, 0x200000);
    endian_store_le64(buf + 88, 1);
    assert_true(vhdx_log_entry_read_data(buf, sizeof(buf), 1 << 20, &e));
    assert_true(e.entry_length == 0x2000 && e.descriptor_count == 1 && e.sequence_number == 1);
    assert_false(vhdx_log_entry_read_data(buf, sizeof(buf), 0x1000, &e)); /* longer than the log */
    assert_true(vhdx_log_descriptor_read_data(buf, sizeof(buf), 0, &d));
    assert_true(!d.is_zero && d.leading_bytes == 0x800006 && d.file_offset == 0x200000);
    endian_store_le64(buf + 80, 0x200001); /* unaligned target */
    assert_false(vhdx_log_descriptor_read_data(buf, sizeof(buf), 0, &d));
    memcpy(buf + 64, "zero", 4);
    endian_store_le64(buf + 80, 0x200000);
    endian_store_le64(buf + 72, 4096);
    assert_true(vhdx_log_descriptor_read_data(buf, sizeof(buf), 0, &d) && d.is_zero && d.zero_length == 4096);
    memcpy(buf + 64, "nope", 4);
    assert_false(vhdx_log_descriptor_read_data(buf, sizeof(buf), 0, &d));
    assert_false(vhdx_log_descriptor_read_data(buf, 64, 0, &d));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_id_round_trip),
        cmocka_unit_test(test_header_round_trip_and_checksum),
        cmocka_unit_test(test_region_table),
        cmocka_unit_test(test_metadata_round_trip),
        cmocka_unit_test(test_params_validate),
        cmocka_unit_test(test_bat_geometry),
        cmocka_unit_test(test_log_entry_and_descriptors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
