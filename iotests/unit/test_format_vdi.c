/* test_format_vdi.c — cmocka tests of the VDI driver's pure parts: header decoding and encoding, the
 * open checks in qemu's order and wording, the layout of new images, and the UUID helpers of the
 * format toolkit (spec/vdi.md §Header, §Open checks, §Creation; spec/formats-common.md §UUIDs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "formats/common/format_uuid.h"
#include "formats/vdi/vdi.h"
#include "util/endian.h"

/* The first sector of a dynamic 64 MiB image as qemu 10.2 writes it (UUIDs nil). */
static void sector_64m(uint8_t *buf)
{
    memset(buf, 0, VDI_HEADER_BYTES);
    memcpy(buf, VDI_TEXT, strlen(VDI_TEXT));
    endian_store_le32(buf + 0x40, VDI_SIGNATURE);
    endian_store_le32(buf + 0x44, 0x00010001);
    endian_store_le32(buf + 0x48, 0x180);
    endian_store_le32(buf + 0x4c, 1);
    endian_store_le32(buf + 0x154, 0x200);
    endian_store_le32(buf + 0x158, 0x400);
    endian_store_le32(buf + 0x168, 512);
    endian_store_le64(buf + 0x170, 64u << 20);
    endian_store_le32(buf + 0x178, 1u << 20);
    endian_store_le32(buf + 0x180, 64);
}

/* The message validate gives for the sector buf ("" when it accepts it). */
static char *validate_message(const uint8_t *buf, vdi_header *h)
{
    error *err = NULL;
    vdi_header_read_data(buf, VDI_HEADER_BYTES, h);
    int ret = vdi_header_validate(h, &err);
    char *text = strdup(ret == 0 ? "" : error_message(err));
    error_free(err);
    return text;
}

static void test_header_decodes_fields(void **state)
{
    (void)state;
    uint8_t buf[VDI_HEADER_BYTES];
    vdi_header h;
    sector_64m(buf);
    endian_store_le32(buf + 0x184, 5);
    buf[0x188] = 0xd0;
    vdi_header_read_data(buf, sizeof(buf), &h);
    assert_int_equal(h.signature, VDI_SIGNATURE);
    assert_int_equal(h.header_size, 0x180);
    assert_int_equal(h.image_type, VDI_IMAGE_TYPE_DYNAMIC);
    assert_int_equal(h.offset_bmap, 0x200);
    assert_int_equal(h.offset_data, 0x400);
    assert_true(h.disk_size == (64u << 20));
    assert_int_equal(h.blocks_in_image, 64);
    assert_int_equal(h.blocks_allocated, 5);
    assert_int_equal(h.uuid_image[0], 0xd0);
}

static void test_header_short_buffer_reads_zero(void **state)
{
    (void)state;
    uint8_t buf[VDI_HEADER_BYTES];
    vdi_header h;
    sector_64m(buf);
    vdi_header_read_data(buf, 300, &h);
    assert_int_equal(h.signature, VDI_SIGNATURE);
    assert_int_equal(h.sector_size, 0);
    uint8_t copy[VDI_HEADER_BYTES];
    memcpy(copy, h.raw, sizeof(copy));
    char *msg = validate_message(copy, &h);
    assert_string_equal(msg, "unsupported VDI image (sector size 0 is not 512)");
    free(msg);
}

static void test_header_round_trips_and_keeps_other_bytes(void **state)
{
    (void)state;
    uint8_t buf[VDI_HEADER_BYTES], out[VDI_HEADER_BYTES];
    vdi_header h;
    sector_64m(buf);
    buf[0x60] = 0x42;  /* description */
    buf[0x1f0] = 0x43; /* padding */
    vdi_header_read_data(buf, sizeof(buf), &h);
    h.blocks_allocated = 7;
    vdi_header_write_data(&h, out);
    assert_int_equal(endian_load_le32(out + 0x184), 7);
    out[0x184] = 0;
    assert_memory_equal(buf, out, sizeof(buf));
}

static void test_validate_order_and_messages(void **state)
{
    (void)state;
    static const struct {
        unsigned offset, size;
        uint64_t value;
        const char *message;
    } cases[] = {
        {0x40, 4, 0xbeda107e, "Image not in VDI format (bad signature beda107e)"},
        {0x44, 4, 0x00010000, "unsupported VDI image (version 1.0)"},
        {0x154, 4, 0x201, "unsupported VDI image (unaligned block map offset 0x201)"},
        {0x158, 4, 0x300, "unsupported VDI image (unaligned data offset 0x300)"},
        {0x168, 4, 1024, "unsupported VDI image (sector size 1024 is not 512)"},
        {0x178, 4, 0x80000, "unsupported VDI image (block size 524288 is not 1048576)"},
        {0x170, 8, 0x4000001, "unsupported VDI image (disk size 67109376, image bitmap has room for 67108864)"},
        {0x180, 4, 0xffffffff, "unsupported VDI image (too many blocks 4294967295, max is 536870784)"},
        {0x1a8, 1, 1, "unsupported VDI image (non-NULL link UUID)"},
        {0x1b8, 1, 1, "unsupported VDI image (non-NULL parent UUID)"},
        {0x170, 8, UINT64_MAX, "Unsupported VDI image size (size is 0xffffffffffffffff, max supported is 0x1fffff8000000)"},
        {0x4c, 4, 7, ""},  /* image type is not checked */
        {0x48, 4, 0, ""},  /* nor the header size */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t buf[VDI_HEADER_BYTES];
        vdi_header h;
        sector_64m(buf);
        if (cases[i].size == 8)
            endian_store_le64(buf + cases[i].offset, cases[i].value);
        else if (cases[i].size == 4)
            endian_store_le32(buf + cases[i].offset, (uint32_t)cases[i].value);
        else
            buf[cases[i].offset] = (uint8_t)cases[i].value;
        char *msg = validate_message(buf, &h);
        assert_string_equal(msg, cases[i].message);
        free(msg);
    }
}

static void test_validate_size_comes_first_and_rounds(void **state)
{
    (void)state;
    uint8_t buf[VDI_HEADER_BYTES];
    vdi_header h;
    sector_64m(buf);
    endian_store_le32(buf + 0x40, 0);
    endian_store_le64(buf + 0x170, 0x7fffffffffffffffull);
    char *msg = validate_message(buf, &h);
    assert_string_equal(msg, "Unsupported VDI image size (size is 0x7fffffffffffffff, max supported is 0x1fffff8000000)");
    free(msg);
    sector_64m(buf);
    endian_store_le64(buf + 0x170, 0x3ff);
    msg = validate_message(buf, &h);
    assert_string_equal(msg, "");
    assert_true(h.disk_size == 1024);
    free(msg);
}

static void test_new_image_layout(void **state)
{
    (void)state;
    vdi_header h;
    uint8_t out[VDI_HEADER_BYTES], want[VDI_HEADER_BYTES];
    vdi_header_init_new(&h, 64u << 20, false);
    vdi_header_write_data(&h, out);
    sector_64m(want);
    assert_memory_equal(out, want, sizeof(out));
    vdi_header_init_new(&h, 1536u << 10, true);
    assert_int_equal(h.image_type, VDI_IMAGE_TYPE_STATIC);
    assert_int_equal(h.blocks_in_image, 2);
    assert_int_equal(h.blocks_allocated, 2);
    assert_int_equal(h.offset_data, 0x400);
    vdi_header_init_new(&h, 0, false);
    assert_int_equal(h.offset_data, 0x200);
    vdi_header_init_new(&h, 1536ull << 20, false);
    assert_int_equal(h.offset_data, 6656);
    assert_true(vdi_bmap_bytes(VDI_BLOCKS_MAX) == 0x7ffffe00ull);
}

static void test_size_rounding_and_limit(void **state)
{
    (void)state;
    assert_true(vdi_size_round(0) == 0);
    assert_true(vdi_size_round(1) == 512);
    assert_true(vdi_size_round(1000) == 1024);
    assert_true(vdi_size_round(0x7fffffffffffffffull) == 0x8000000000000000ull);
    assert_true(vdi_size_round(UINT64_MAX) == UINT64_MAX);
    error *err = NULL;
    assert_int_equal(vdi_size_error(&err, 0x1fffff8100000ull), -1);
    assert_string_equal(error_message(err),
                        "Unsupported VDI image size (size is 0x1fffff8100000, max supported is 0x1fffff8000000)");
    error_free(err);
}

static void test_entry_markers(void **state)
{
    (void)state;
    assert_true(vdi_entry_is_allocated(0));
    assert_true(vdi_entry_is_allocated(VDI_BLOCKS_MAX));
    assert_false(vdi_entry_is_allocated(VDI_ENTRY_ZERO));
    assert_false(vdi_entry_is_allocated(VDI_ENTRY_UNALLOCATED));
}

static void test_uuid_version_and_swap(void **state)
{
    (void)state;
    uint8_t a[FORMAT_UUID_SIZE], b[FORMAT_UUID_SIZE];
    format_uuid_generate(a);
    format_uuid_generate(b);
    assert_int_equal(a[6] >> 4, 4);
    assert_int_equal(a[8] >> 6, 2);
    assert_memory_not_equal(a, b, FORMAT_UUID_SIZE);
    uint8_t c[FORMAT_UUID_SIZE];
    memcpy(c, a, sizeof(c));
    format_uuid_swap_fields(c);
    assert_int_equal(c[0], a[3]);
    assert_int_equal(c[4], a[5]);
    assert_int_equal(c[7], a[6]);
    assert_memory_equal(c + 8, a + 8, 8);
    format_uuid_swap_fields(c);
    assert_memory_equal(c, a, sizeof(c));
    memset(c, 0, sizeof(c));
    assert_true(format_uuid_is_nil(c));
    assert_false(format_uuid_is_nil(a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_decodes_fields),
        cmocka_unit_test(test_header_short_buffer_reads_zero),
        cmocka_unit_test(test_header_round_trips_and_keeps_other_bytes),
        cmocka_unit_test(test_validate_order_and_messages),
        cmocka_unit_test(test_validate_size_comes_first_and_rounds),
        cmocka_unit_test(test_new_image_layout),
        cmocka_unit_test(test_size_rounding_and_limit),
        cmocka_unit_test(test_entry_markers),
        cmocka_unit_test(test_uuid_version_and_swap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
