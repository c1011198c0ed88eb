/* test_format_qed.c — cmocka tests of the QED driver's pure parts: header decoding and encoding, the
 * validity rules of opening (cluster and table sizes, image size, table and cluster offsets, backing
 * name) and the BlockdevDriver name list of the toolkit (spec/qed.md §Header, §Opening;
 * spec/formats-common.md §Driver names). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "formats/common/format_names.h"
#include "formats/qed/qed.h"
#include "util/error.h"

/* The header qemu-img 10.2 writes for `create -f qed -o cluster_size=4k t.qed 64M`. */
static const uint8_t created_4k[64] = {
    0x51, 0x45, 0x44, 0x00, 0x00, 0x10, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x10, 0, 0, 0, 0, 0, 0,
    0x00, 0x00, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static void test_header_decodes_created_image(void **state)
{
    (void)state;
    qed_header h;
    qed_header_read_data(created_4k, sizeof(created_4k), &h);
    assert_int_equal(h.magic, QED_MAGIC);
    assert_int_equal(h.cluster_size, 4096);
    assert_int_equal(h.table_size, 4);
    assert_int_equal(h.header_size, 1);
    assert_true(h.l1_table_offset == 4096);
    assert_true(h.image_size == 64ull << 20);
    assert_int_equal(qed_header_validate(&h, 20480), QED_HEADER_VALID);
}

static void test_header_round_trips(void **state)
{
    (void)state;
    qed_header h, back;
    uint8_t raw[64];
    qed_header_read_data(created_4k, sizeof(created_4k), &h);
    h.features = QED_F_BACKING_FILE | QED_F_BACKING_FORMAT_NO_PROBE;
    h.backing_filename_offset = 64;
    h.backing_filename_size = 5;
    qed_header_write_data(&h, raw);
    qed_header_read_data(raw, sizeof(raw), &back);
    assert_memory_equal(&h, &back, sizeof(h));
    assert_int_equal(raw[16], 5);
    assert_int_equal(raw[56], 64);
}

static void test_header_short_buffer_reads_zero(void **state)
{
    (void)state;
    qed_header h;
    qed_header_read_data(created_4k, 8, &h);
    assert_int_equal(h.cluster_size, 4096);
    assert_int_equal(h.table_size, 0);
    assert_int_equal(qed_header_validate(&h, 1 << 20), QED_HEADER_BAD_TABLE_SIZE);
}

static void test_sizes(void **state)
{
    (void)state;
    assert_true(qed_cluster_size_valid(4096) && qed_cluster_size_valid(64u << 20));
    assert_false(qed_cluster_size_valid(2048) || qed_cluster_size_valid(128u << 20) || qed_cluster_size_valid(3000));
    assert_true(qed_table_size_valid(1) && qed_table_size_valid(16));
    assert_false(qed_table_size_valid(0) || qed_table_size_valid(3) || qed_table_size_valid(32));
    /* 64 KiB clusters, 4-cluster tables: 2^46 bytes, as the create error words it */
    assert_true(qed_max_image_size(65536, 4) == 70368744177664ull);
    /* 64 MiB clusters overflow to 0, as 10.2 computes it */
    assert_true(qed_max_image_size(64u << 20, 4) == 0);
    assert_true(qed_image_size_valid(0, 64u << 20, 4));
    assert_false(qed_image_size_valid(512, 64u << 20, 4));
    assert_false(qed_image_size_valid(100, 4096, 4));
    assert_true(qed_image_size_valid(1ull << 30, 4096, 1));
    assert_false(qed_image_size_valid((1ull << 30) + 512, 4096, 1));
}

static void test_validation_order_and_faults(void **state)
{
    (void)state;
    qed_header h;
    qed_header_read_data(created_4k, sizeof(created_4k), &h);
    qed_header bad = h;
    bad.magic = 0;
    bad.features = 8;
    assert_int_equal(qed_header_validate(&bad, 20480), QED_HEADER_BAD_MAGIC);
    bad = h;
    bad.features = 8;
    bad.cluster_size = 2048;
    assert_int_equal(qed_header_validate(&bad, 20480), QED_HEADER_UNKNOWN_FEATURES);
    bad = h;
    bad.cluster_size = 2048;
    bad.table_size = 3;
    assert_int_equal(qed_header_validate(&bad, 20480), QED_HEADER_BAD_CLUSTER_SIZE);
    bad = h;
    bad.table_size = 3;
    bad.image_size = 100;
    assert_int_equal(qed_header_validate(&bad, 20480), QED_HEADER_BAD_TABLE_SIZE);
    bad = h;
    bad.image_size = 100;
    bad.l1_table_offset = 3;
    assert_int_equal(qed_header_validate(&bad, 20480), QED_HEADER_BAD_IMAGE_SIZE);
    bad = h;
    bad.l1_table_offset = 3;
    assert_int_equal(qed_header_validate(&bad, 20480), QED_HEADER_BAD_TABLE_OFFSET);
    bad = h;
    bad.features = QED_F_BACKING_FILE;
    bad.backing_filename_offset = 4090;
    bad.backing_filename_size = 6;
    assert_int_equal(qed_header_validate(&bad, 20480), QED_HEADER_VALID);
    bad.backing_filename_size = 7;
    assert_int_equal(qed_header_validate(&bad, 20480), QED_HEADER_BAD_BACKING_NAME);
    bad.backing_filename_offset = 0xffffffffu;
    bad.backing_filename_size = 0xffffffffu;
    assert_int_equal(qed_header_validate(&bad, 20480), QED_HEADER_BAD_BACKING_NAME);
}

static void test_table_offsets(void **state)
{
    (void)state;
    qed_header h;
    qed_header_read_data(created_4k, sizeof(created_4k), &h);
    /* 4 clusters at 4096 end at 20480: the file (rounded up to 512) must reach that far */
    assert_true(qed_table_offset_valid(&h, 4096, 20480));
    assert_false(qed_table_offset_valid(&h, 4096, 19968));
    assert_false(qed_table_offset_valid(&h, 0, 1 << 20));
    assert_false(qed_table_offset_valid(&h, 4096 + 512, 1 << 20));
    assert_false(qed_table_offset_valid(&h, UINT64_MAX & ~4095ull, UINT64_MAX));
    h.table_size = 1;
    assert_false(qed_table_offset_valid(&h, 4096, 1 << 20));
    h.table_size = 2;
    h.header_size = 2;
    assert_false(qed_table_offset_valid(&h, 4096, 1 << 20));
    assert_true(qed_table_offset_valid(&h, 8192, 1 << 20));
}

static void test_cluster_offsets(void **state)
{
    (void)state;
    qed_header h;
    qed_header_read_data(created_4k, sizeof(created_4k), &h);
    assert_true(qed_cluster_offset_valid(&h, 45056, 49152));
    assert_false(qed_cluster_offset_valid(&h, 49152, 49152));
    assert_false(qed_cluster_offset_valid(&h, 45056, 49000));
    assert_false(qed_cluster_offset_valid(&h, 45056 + 16, 1 << 20));
    assert_false(qed_cluster_offset_valid(&h, 0, 1 << 20));
}

static void test_fault_messages(void **state)
{
    (void)state;
    qed_header h;
    error *err = NULL;
    qed_header_read_data(created_4k, sizeof(created_4k), &h);
    h.features = 0x13;
    assert_int_equal(qed_header_fault_error(QED_HEADER_UNKNOWN_FEATURES, &h, &err), -1);
    assert_string_equal(error_message(err), "Unsupported QED features: 10");
    error_free(err);
    err = NULL;
    qed_header_fault_error(QED_HEADER_BAD_TABLE_OFFSET, &h, &err);
    assert_string_equal(error_message(err), "QED table offset is invalid");
    error_free(err);
    assert_int_equal(qed_header_fault_error(QED_HEADER_VALID, &h, NULL), 0);
}

static void test_blockdev_driver_names(void **state)
{
    (void)state;
    assert_true(format_blockdev_driver_known("qcow2"));
    assert_true(format_blockdev_driver_known("raw"));
    assert_true(format_blockdev_driver_known("qed"));
    assert_false(format_blockdev_driver_known("foo"));
    assert_false(format_blockdev_driver_known(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_decodes_created_image),
        cmocka_unit_test(test_header_round_trips),
        cmocka_unit_test(test_header_short_buffer_reads_zero),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_validation_order_and_faults),
        cmocka_unit_test(test_table_offsets),
        cmocka_unit_test(test_cluster_offsets),
        cmocka_unit_test(test_fault_messages),
        cmocka_unit_test(test_blockdev_driver_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
