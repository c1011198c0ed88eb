/* test_format_bochs.c — cmocka tests of the Bochs driver's pure parts: header decoding (v1 and
 * current layouts), the probe and the open checks in qemu 10.2's order and wording
 * (spec/bochs.md §Header, §Open checks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "formats/bochs/bochs.h"
#include "util/endian.h"

/* A header with the given fields (disk size where its version keeps it). */
static void header_make(uint8_t *buf, uint32_t version, uint32_t catalog, uint32_t bitmap, uint32_t extent,
                        uint64_t disk)
{
    memset(buf, 0, BOCHS_HEADER_BYTES);
    memcpy(buf, BOCHS_MAGIC, strlen(BOCHS_MAGIC));
    memcpy(buf + 32, BOCHS_TYPE_REDOLOG, strlen(BOCHS_TYPE_REDOLOG));
    memcpy(buf + 48, BOCHS_SUBTYPE_GROWING, strlen(BOCHS_SUBTYPE_GROWING));
    endian_store_le32(buf + 64, version);
    endian_store_le32(buf + 68, 512);
    endian_store_le32(buf + 72, catalog);
    endian_store_le32(buf + 76, bitmap);
    endian_store_le32(buf + 80, extent);
    endian_store_le64(buf + (version == BOCHS_VERSION_V1 ? 84 : 88), disk);
}

/* The message validate gives for buf ("" when it accepts it; the caller frees it). */
static char *validate_message(const uint8_t *buf)
{
    bochs_header h;
    error *err = NULL;
    bochs_header_read_data(buf, BOCHS_HEADER_BYTES, &h);
    char *text = strdup(bochs_header_validate(&h, &err) == 0 ? "" : error_message(err));
    error_free(err);
    return text;
}

static void expect_message(const uint8_t *buf, const char *expected)
{
    char *text = validate_message(buf);
    assert_string_equal(text, expected);
    free(text);
}

static void test_header_decodes_both_versions(void **state)
{
    (void)state;
    uint8_t buf[BOCHS_HEADER_BYTES];
    bochs_header h;
    header_make(buf, BOCHS_VERSION_CURRENT, 512, 512, 4096, 1032192);
    bochs_header_read_data(buf, sizeof(buf), &h);
    assert_true(h.signature_ok);
    assert_int_equal(h.catalog_size, 512);
    assert_int_equal(h.extent_size, 4096);
    assert_int_equal(h.disk_size, 1032192);
    assert_int_equal(bochs_bitmap_sectors(&h), 1);
    assert_int_equal(bochs_extent_sectors(&h), 8);
    header_make(buf, BOCHS_VERSION_V1, 4, 512, 4096, 16384);
    bochs_header_read_data(buf, sizeof(buf), &h);
    assert_true(h.signature_ok);
    assert_int_equal(h.disk_size, 16384);
}

static void test_probe_and_signature(void **state)
{
    (void)state;
    uint8_t buf[BOCHS_HEADER_BYTES];
    header_make(buf, BOCHS_VERSION_CURRENT, 512, 512, 4096, 1032192);
    assert_int_equal(bochs_header_probe(buf, sizeof(buf)), 100);
    assert_int_equal(bochs_header_probe(buf, 100), 100); /* missing bytes read as zero */
    assert_int_equal(bochs_header_probe(buf, 0), 0);
    buf[39] = 'x'; /* "Redologx": qemu compares whole strings */
    assert_int_equal(bochs_header_probe(buf, sizeof(buf)), 0);
    header_make(buf, 0x30000, 512, 512, 4096, 1032192);
    assert_int_equal(bochs_header_probe(buf, sizeof(buf)), 0);
    expect_message(buf, "Image not in Bochs format");
}

static void test_validate_order_and_messages(void **state)
{
    (void)state;
    uint8_t buf[BOCHS_HEADER_BYTES];
    header_make(buf, BOCHS_VERSION_CURRENT, 0x100001, 512, 3, 1 << 20);
    expect_message(buf, "Catalog size is too large"); /* before the extent checks */
    header_make(buf, BOCHS_VERSION_CURRENT, 1, 512, 511, 1 << 30);
    expect_message(buf, "Extent size must be at least 512");
    header_make(buf, BOCHS_VERSION_CURRENT, 512, 512, 513, 1 << 20);
    expect_message(buf, "Extent size 513 is not a power of two");
    header_make(buf, BOCHS_VERSION_CURRENT, 512, 512, 0x800001, 1 << 20);
    expect_message(buf, "Extent size 8388609 is not a power of two");
    header_make(buf, BOCHS_VERSION_CURRENT, 512, 512, 0x1000000, 1 << 20);
    expect_message(buf, "Extent size 16777216 is too large");
    header_make(buf, BOCHS_VERSION_CURRENT, 2, 512, 4096, 3 * 4096);
    expect_message(buf, "Catalog size is too small for this disk size");
    header_make(buf, BOCHS_VERSION_CURRENT, 0x100000, 512, 0x800000, UINT64_MAX);
    expect_message(buf, "Catalog size is too small for this disk size");
    header_make(buf, BOCHS_VERSION_CURRENT, 0x100000, 512, 0x800000, 512ull * 0x800000);
    expect_message(buf, "");
    header_make(buf, BOCHS_VERSION_CURRENT, 1, 512, 4096, 4096 + 511); /* partial sectors are dropped */
    expect_message(buf, "");
}

static void test_bitmap_size_zero_wraps(void **state)
{
    (void)state;
    uint8_t buf[BOCHS_HEADER_BYTES];
    bochs_header h;
    header_make(buf, BOCHS_VERSION_CURRENT, 512, 0, 4096, 1032192);
    bochs_header_read_data(buf, sizeof(buf), &h);
    assert_int_equal(bochs_bitmap_sectors(&h), 0x800000); /* qemu's 32-bit (0 - 1) / 512 + 1 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_decodes_both_versions),
        cmocka_unit_test(test_probe_and_signature),
        cmocka_unit_test(test_validate_order_and_messages),
        cmocka_unit_test(test_bitmap_size_zero_wraps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
