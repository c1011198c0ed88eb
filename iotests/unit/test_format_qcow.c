/* test_format_qcow.c — cmocka tests of the qcow (v1) driver's pure parsers: the header codec, the
 * header checks in qemu's order, L1 sizing and L2 entry decoding, plus an open over the in-memory
 * protocol (spec/qcow.md §Header, §L2 entries, §Opening). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "block/block.h"
#include "block/memory.h"
#include "block/open.h"
#include "formats/qcow/qcow.h"

/* The header qemu 10.2 writes for a 64 MiB image without backing file. */
static void default_header(qcow_header *h)
{
    memset(h, 0, sizeof(*h));
    h->magic = QCOW_MAGIC;
    h->version = 1;
    h->size = 64ull << 20;
    h->cluster_bits = 12;
    h->l2_bits = 9;
    h->l1_table_offset = 48;
}

static void test_header_round_trip(void **state)
{
    (void)state;
    qcow_header h, back;
    uint8_t buf[QCOW_HEADER_SIZE];
    default_header(&h);
    h.backing_file_offset = 48;
    h.backing_file_size = 8;
    h.crypt_method = 1;
    qcow_header_write_data(&h, buf);
    static const uint8_t expected[16] = {0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x30};
    assert_memory_equal(buf, expected, sizeof(expected));
    assert_int_equal(buf[32], 12);
    assert_int_equal(buf[33], 9);
    assert_int_equal(buf[39], 1);
    qcow_header_read_data(buf, sizeof(buf), &back);
    assert_memory_equal(&h, &back, sizeof(h));
}

static void test_header_short_buffer_reads_zero(void **state)
{
    (void)state;
    uint8_t buf[8] = {0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 1};
    qcow_header h;
    uint64_t l1 = 0;
    qcow_header_read_data(buf, sizeof(buf), &h);
    assert_int_equal(h.version, 1);
    assert_true(h.size == 0 && h.l1_table_offset == 0);
    assert_int_equal(qcow_header_validate(&h, &l1), QCOW_HEADER_SIZE_TOO_SMALL);
}

static void test_header_checks_in_order(void **state)
{
    (void)state;
    qcow_header h;
    uint64_t l1 = 0;
    default_header(&h);
    assert_int_equal(qcow_header_validate(&h, &l1), QCOW_HEADER_OK);
    assert_int_equal(l1, 32);
    h.version = 2;
    h.size = 0;
    assert_int_equal(qcow_header_validate(&h, &l1), QCOW_HEADER_BAD_VERSION);
    char *text = qcow_header_fault_message(QCOW_HEADER_BAD_VERSION, &h);
    assert_string_equal(text, "qcow (v1) does not support qcow version 2\nTry the 'qcow2' driver instead.");
    free(text);
    default_header(&h);
    h.cluster_bits = 8;
    h.l2_bits = 1;
    assert_int_equal(qcow_header_validate(&h, &l1), QCOW_HEADER_BAD_CLUSTER_BITS);
    h.cluster_bits = 16;
    assert_int_equal(qcow_header_validate(&h, &l1), QCOW_HEADER_BAD_L2_BITS);
    h.l2_bits = 13;
    h.crypt_method = 2;
    h.size = 1ull << 62;
    assert_int_equal(qcow_header_validate(&h, &l1), QCOW_HEADER_BAD_CRYPT_METHOD);
    h.crypt_method = 1;
    assert_int_equal(qcow_header_validate(&h, &l1), QCOW_HEADER_TOO_LARGE);
    h.size = UINT64_MAX;
    assert_int_equal(qcow_header_validate(&h, &l1), QCOW_HEADER_TOO_LARGE);
}

static void test_l1_bound(void **state)
{
    (void)state;
    qcow_header h;
    uint64_t l1 = 0;
    default_header(&h);
    h.size = 268435455ull << 21; /* the largest count qemu accepts */
    assert_int_equal(qcow_header_validate(&h, &l1), QCOW_HEADER_OK);
    assert_true(l1 == 268435455ull);
    h.size += 1;
    assert_int_equal(qcow_header_validate(&h, &l1), QCOW_HEADER_TOO_LARGE);
    assert_true(qcow_l1_entries(2, 12, 9) == 1);
    assert_true(qcow_l1_entries(2ull << 20, 12, 9) == 1);
    assert_true(qcow_l1_entries((2ull << 20) + 1, 12, 9) == 2);
}

static void test_entry_decoding(void **state)
{
    (void)state;
    qcow_entry e = qcow_entry_decode(0, 12);
    assert_int_equal(e.kind, QCOW_ENTRY_UNALLOCATED);
    e = qcow_entry_decode(0x3000, 12);
    assert_int_equal(e.kind, QCOW_ENTRY_NORMAL);
    assert_true(e.offset == 0x3000);
    /* what qemu wrote for a 4 KiB cluster of 0x11 deflated to 22 bytes at 0x2000 */
    e = qcow_entry_decode(0x80b0000000002000ull, 12);
    assert_int_equal(e.kind, QCOW_ENTRY_COMPRESSED);
    assert_true(e.offset == 0x2000 && e.compressed_size == 22);
    assert_true(qcow_entry_encode_compressed(0x2000, 22, 12) == 0x80b0000000002000ull);
    e = qcow_entry_decode(qcow_entry_encode_compressed(0x8400, 300, 9), 9);
    assert_true(e.offset == 0x8400 && e.compressed_size == 300);
}

static void test_open_in_memory(void **state)
{
    (void)state;
    uint8_t image[560];
    qcow_header h;
    default_header(&h);
    memset(image, 0, sizeof(image));
    qcow_header_write_data(&h, image);
    block_node *file = block_memory_open(image, sizeof(image), 1 << 20, false);
    error *err = NULL;
    block_node *node = block_format_open_on(&block_driver_qcow, file, "mem", NULL, 0, &err);
    assert_non_null(node);
    assert_true(node->size == (64ull << 20));
    uint8_t buf[512];
    memset(buf, 0xff, sizeof(buf));
    assert_int_equal(block_node_read(node, 4096, sizeof(buf), buf, &err), 0);
    for (size_t i = 0; i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0);
    block_node_close(node);
}

static void test_probe(void **state)
{
    (void)state;
    uint8_t v1[8] = {0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 1};
    uint8_t v2[8] = {0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 2};
    assert_int_equal(block_driver_qcow.probe(v1, sizeof(v1), "x"), 100);
    assert_int_equal(block_driver_qcow.probe(v2, sizeof(v2), "x"), 0);
    assert_int_equal(block_driver_qcow.probe(v1, 7, "x"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_round_trip),
        cmocka_unit_test(test_header_short_buffer_reads_zero),
        cmocka_unit_test(test_header_checks_in_order),
        cmocka_unit_test(test_l1_bound),
        cmocka_unit_test(test_entry_decoding),
        cmocka_unit_test(test_open_in_memory),
        cmocka_unit_test(test_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
