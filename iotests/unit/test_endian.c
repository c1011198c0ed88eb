/* test_endian.c — cmocka tests of the little/big-endian load and store helpers, impl/util/endian.h (spec/architecture.md §Parsing, §Tests). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "endian.h"

static const uint8_t bytes[9] = {0xAA, 0x81, 0x92, 0xA3, 0xB4, 0xC5, 0xD6, 0xE7, 0xF8};

static void test_loads(void **state)
{
    (void)state;
    /* From offset 1 to exercise unaligned addresses; every byte has its top bit set. */
    const uint8_t *p = bytes + 1;
    assert_true(endian_load_be16(p) == 0x8192);
    assert_true(endian_load_le16(p) == 0x9281);
    assert_true(endian_load_be32(p) == 0x8192A3B4u);
    assert_true(endian_load_le32(p) == 0xB4A39281u);
    assert_true(endian_load_be64(p) == 0x8192A3B4C5D6E7F8ULL);
    assert_true(endian_load_le64(p) == 0xF8E7D6C5B4A39281ULL);
}

static void test_qcow2_magic(void **state)
{
    (void)state;
    const uint8_t header[8] = {'Q', 'F', 'I', 0xfb, 0, 0, 0, 3};
    assert_true(endian_load_be32(header) == 0x514649fbu);
    assert_true(endian_load_be32(header + 4) == 3);
}

static void test_stores(void **state)
{
    (void)state;
    uint8_t buf[10];
    memset(buf, 0, sizeof(buf));
    endian_store_be16(buf + 1, 0x8192);
    assert_memory_equal(buf + 1, ((const uint8_t[]){0x81, 0x92}), 2);
    endian_store_le16(buf + 1, 0x8192);
    assert_memory_equal(buf + 1, ((const uint8_t[]){0x92, 0x81}), 2);
    endian_store_be32(buf + 1, 0x8192A3B4u);
    assert_memory_equal(buf + 1, ((const uint8_t[]){0x81, 0x92, 0xA3, 0xB4}), 4);
    endian_store_le32(buf + 1, 0x8192A3B4u);
    assert_memory_equal(buf + 1, ((const uint8_t[]){0xB4, 0xA3, 0x92, 0x81}), 4);
    endian_store_be64(buf + 1, 0x8192A3B4C5D6E7F8ULL);
    assert_memory_equal(buf + 1, bytes + 1, 8);
    endian_store_le64(buf + 1, 0xF8E7D6C5B4A39281ULL);
    assert_memory_equal(buf + 1, bytes + 1, 8);
    /* Neighbouring bytes are untouched. */
    assert_int_equal(buf[0], 0);
    assert_int_equal(buf[9], 0);
}

static void test_round_trips(void **state)
{
    (void)state;
    static const uint64_t values[] = {0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fffffffULL, 0x80000000ULL,
                                      0xffffffffULL, 0x100000000ULL, 0x8000000000000000ULL, UINT64_MAX};
    uint8_t buf[8];
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        uint64_t v = values[i];
        endian_store_be64(buf, v);
        assert_true(endian_load_be64(buf) == v);
        endian_store_le64(buf, v);
        assert_true(endian_load_le64(buf) == v);
        endian_store_be32(buf, (uint32_t)v);
        assert_true(endian_load_be32(buf) == (uint32_t)v);
        endian_store_le32(buf, (uint32_t)v);
        assert_true(endian_load_le32(buf) == (uint32_t)v);
        endian_store_be16(buf, (uint16_t)v);
        assert_true(endian_load_be16(buf) == (uint16_t)v);
        endian_store_le16(buf, (uint16_t)v);
        assert_true(endian_load_le16(buf) == (uint16_t)v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loads),
        cmocka_unit_test(test_qcow2_magic),
        cmocka_unit_test(test_stores),
        cmocka_unit_test(test_round_trips),
    };
    return cmocka_run_group_tests_name("endian", tests, NULL, NULL);
}
