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
#include "formats/common/format_crypt.h"
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
    memset(&back, 0, sizeof(back));
    qcow_header_read_data(buf, sizeof(buf), &back);
    assert_true(back.magic == h.magic && back.version == h.version && back.size == h.size);
    assert_true(back.backing_file_offset == 48 && back.backing_file_size == 8 && back.mtime == 0);
    assert_true(back.cluster_bits == 12 && back.l2_bits == 9 && back.crypt_method == 1);
    assert_true(back.l1_table_offset == 48 && back.padding == 0);
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

/* AES-128-CBC with plain64 IVs: sector 8 of "abc"'s key, as qemu 10.2 wrote 512 bytes of 0x11 at
 * guest offset 4096 (first 16 ciphertext bytes taken from the oracle's image). */
static void test_crypt_legacy_sectors(void **state)
{
    (void)state;
    uint8_t key[FORMAT_CRYPT_KEY_SIZE];
    format_crypt_legacy_key(key, (const uint8_t *)"abc", 3);
    static const uint8_t want_key[16] = {'a', 'b', 'c'};
    assert_memory_equal(key, want_key, sizeof(key));
    format_crypt_legacy_key(key, (const uint8_t *)"abcdefghijklmnopqrstuvwxyz", 26);
    assert_memory_equal(key, "abcdefghijklmnop", 16);
    format_crypt_legacy_key(key, (const uint8_t *)"abc", 3);
    uint8_t sector[2 * FORMAT_CRYPT_SECTOR];
    memset(sector, 0x11, sizeof(sector));
    assert_int_equal(format_crypt_sectors(key, true, 8, sector, sizeof(sector)), 0);
    static const uint8_t oracle[16] = {0x06, 0xcd, 0x13, 0x0b, 0xe3, 0x7b, 0x50, 0x9c,
                                       0xef, 0x7a, 0xbd, 0xe3, 0x4e, 0x6a, 0xe2, 0x2e};
    assert_memory_equal(sector, oracle, sizeof(oracle));
    uint8_t copy[sizeof(sector)];
    memcpy(copy, sector, sizeof(sector));
    /* the second sector used IV 9: it differs from the first */
    assert_memory_not_equal(sector, sector + FORMAT_CRYPT_SECTOR, 16);
    assert_int_equal(format_crypt_sectors(key, false, 8, sector, sizeof(sector)), 0);
    for (size_t i = 0; i < sizeof(sector); i++)
        assert_int_equal(sector[i], 0x11);
    /* decrypting with the wrong sector number does not give the plaintext back */
    assert_int_equal(format_crypt_sectors(key, false, 9, copy, FORMAT_CRYPT_SECTOR), 0);
    assert_true(copy[0] != 0x11 || copy[1] != 0x11);
    assert_int_equal(format_crypt_sectors(key, true, 0, sector, 100), -1);
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
        cmocka_unit_test(test_crypt_legacy_sectors),
        cmocka_unit_test(test_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
