/* test_format_vpc.c — cmocka tests of the VHD driver's pure parts: footer and dynamic header
 * decoding and encoding with their checksums, CHS geometry and the create-time size rule, the
 * open-time virtual size rule per creator, the dynamic header checks in qemu's order and wording,
 * and the fuzz layout predicate (spec/vpc.md §Footer, §Dynamic header, §Geometry, §Virtual size,
 * §Open checks). Expected values are the oracle's (qemu-img 10.2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "formats/vpc/vpc.h"
#include "util/endian.h"

/* The footer qemu 10.2 writes for "create -f vpc 64M", timestamp 0x32a4f487 and a fixed UUID. */
static const uint8_t footer_64m[96] = {
    0x63, 0x6f, 0x6e, 0x65, 0x63, 0x74, 0x69, 0x78, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x32, 0xa4, 0xf4, 0x87, 0x71, 0x65, 0x6d, 0x75,
    0x00, 0x05, 0x00, 0x03, 0x57, 0x69, 0x32, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x40, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x40, 0x00, 0x03, 0xc4, 0x08, 0x11, 0x00, 0x00, 0x00, 0x03,
    0xff, 0xff, 0xee, 0x40, 0x64, 0x81, 0x80, 0x54, 0x8f, 0x6d, 0x40, 0x99, 0xbe, 0x47, 0x6b, 0x73,
    0x8f, 0xcd, 0x8b, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static void sector_64m(uint8_t *buf)
{
    memset(buf, 0, VPC_FOOTER_SIZE);
    memcpy(buf, footer_64m, sizeof(footer_64m));
}

static void test_footer_decodes_fields(void **state)
{
    (void)state;
    uint8_t buf[VPC_FOOTER_SIZE];
    vpc_footer f;
    sector_64m(buf);
    vpc_footer_read_data(buf, sizeof(buf), &f);
    assert_true(vpc_footer_has_cookie(&f));
    assert_int_equal(f.features, 2);
    assert_int_equal(f.version, 0x10000);
    assert_int_equal(f.data_offset, 512);
    assert_int_equal(f.timestamp, 0x32a4f487);
    assert_memory_equal(f.creator_app, "qemu", 4);
    assert_int_equal(f.creator_version, 0x00050003);
    assert_memory_equal(f.creator_os, "Wi2k", 4);
    assert_int_equal(f.current_size, 67125248);
    assert_int_equal(f.cylinders, 964);
    assert_int_equal(f.heads, 8);
    assert_int_equal(f.sectors_per_track, 17);
    assert_int_equal(f.disk_type, VPC_DISK_DYNAMIC);
    assert_int_equal(f.checksum, 0xffffee40);
    assert_int_equal(vpc_footer_checksum(buf), 0xffffee40);
}

static void test_footer_short_buffer_reads_zero(void **state)
{
    (void)state;
    vpc_footer f;
    vpc_footer_read_data((const uint8_t *)"conec", 5, &f);
    assert_false(vpc_footer_has_cookie(&f));
    assert_int_equal(f.disk_type, 0);
}

static void test_footer_round_trips_with_checksum(void **state)
{
    (void)state;
    uint8_t buf[VPC_FOOTER_SIZE], out[VPC_FOOTER_SIZE];
    vpc_footer f;
    sector_64m(buf);
    buf[200] = 0x5a; /* reserved bytes are kept */
    endian_store_be32(buf + 64, vpc_footer_checksum(buf));
    vpc_footer_read_data(buf, sizeof(buf), &f);
    vpc_footer_write_data(&f, out);
    assert_memory_equal(out, buf, sizeof(buf));
    f.current_size = 1 << 20;
    vpc_footer_write_data(&f, out);
    assert_int_equal(endian_load_be32(out + 64), vpc_footer_checksum(out));
    assert_int_not_equal(endian_load_be32(out + 64), 0xffffee40);
}

static void test_geometry_matches_oracle(void **state)
{
    (void)state;
    /* size in bytes -> geometry and virtual size, as qemu-img 10.2 creates them */
    struct { uint64_t size; bool force; unsigned c, h, s; uint64_t virtual_size; } cases[] = {
        {0, false, 0, 0, 0, 0},
        {1, false, 1, 4, 17, 34816},
        {512, false, 1, 4, 17, 34816},
        {1000, false, 1, 4, 17, 34816},
        {1 << 20, false, 31, 4, 17, 1079296},
        {2 << 20, false, 61, 4, 17, 2123776},
        {16 << 20, false, 482, 4, 17, 16781312},
        {64 << 20, false, 964, 8, 17, 67125248},
        {1ull << 30, false, 2081, 16, 63, 1073995776},
        {1610612736ull, false, 3121, 16, 63, 1610735616},
        {136365211648ull, false, 65279, 16, 255, 136365219840ull},
        {137438953472ull, false, 65535, 16, 255, 137438953472ull},
        {214748365800ull, false, 65535, 16, 255, 214748365824ull},
        {1000, true, 65535, 16, 255, 1024},
        {64 << 20, true, 65535, 16, 255, 64 << 20},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vpc_geometry g;
        uint64_t sectors;
        vpc_create_size_compute(cases[i].size, cases[i].force, &g, &sectors);
        assert_int_equal(g.cylinders, cases[i].c);
        assert_int_equal(g.heads, cases[i].h);
        assert_int_equal(g.sectors_per_track, cases[i].s);
        assert_int_equal(sectors * 512, cases[i].virtual_size);
    }
}

static void test_total_sectors_by_creator(void **state)
{
    (void)state;
    uint8_t buf[VPC_FOOTER_SIZE];
    vpc_footer f;
    sector_64m(buf);
    vpc_footer_read_data(buf, sizeof(buf), &f);
    f.current_size = 64 << 20;
    assert_int_equal(vpc_footer_total_sectors(&f) * 512, 67125248); /* "qemu": CHS */
    memcpy(f.creator_app, "vpc ", 4);
    assert_int_equal(vpc_footer_total_sectors(&f) * 512, 67125248);
    const char *others[] = {"qem2", "win ", "d2v ", "CTXS", "vs  ", "xxxx", "QEMU", "vpc\0"};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        memcpy(f.creator_app, others[i], 4);
        assert_int_equal(vpc_footer_total_sectors(&f) * 512, 64 << 20);
    }
    memcpy(f.creator_app, "qemu", 4);
    f.cylinders = 65535;
    f.heads = 16;
    f.sectors_per_track = 255;
    f.current_size = 1000; /* the largest geometry: current size, whole sectors */
    assert_int_equal(vpc_footer_total_sectors(&f), 1);
    f.sectors_per_track = 254;
    assert_int_equal(vpc_footer_total_sectors(&f), 65535ull * 16 * 254);
    f.heads = 255; /* 65535/255/16: the largest product, so the current size */
    f.sectors_per_track = 16;
    assert_int_equal(vpc_footer_total_sectors(&f), 1);
    f.sectors_per_track = 255; /* a larger product is CHS again */
    assert_int_equal(vpc_footer_total_sectors(&f), 65535ull * 255 * 255);
}

/* The message validate gives ("" when it accepts). */
static char *validate_message(uint32_t block_size, uint32_t entries, uint64_t total_sectors, const char *cookie)
{
    vpc_dynamic_header h;
    uint8_t buf[VPC_DYNAMIC_HEADER_SIZE] = {0};
    memcpy(buf, cookie, 8);
    endian_store_be32(buf + 28, entries);
    endian_store_be32(buf + 32, block_size);
    vpc_dynamic_header_read_data(buf, sizeof(buf), &h);
    error *err = NULL;
    int ret = vpc_dynamic_header_validate(&h, total_sectors, &err);
    char *text = strdup(ret == 0 ? "" : error_message(err));
    error_free(err);
    return text;
}

static void test_dynamic_header_checks(void **state)
{
    (void)state;
    struct { uint32_t block_size, entries; const char *cookie; const char *message; } cases[] = {
        {2 << 20, 33, "cxsparse", ""},
        {2 << 20, 33, "xxsparse", "Invalid header magic"},
        {0, 33, "cxsparse", "Invalid block size 0"},
        {511, 33, "cxsparse", "Invalid block size 511"},
        {3000, 0x20000000, "cxsparse", "Invalid block size 3000"},
        {0x90000000u, 33, "cxsparse", "Invalid block size 2415919104"},
        {0x80000000u, 2, "cxsparse", ""},
        {2 << 20, 0x20000000, "cxsparse", "Max Table Entries too large (536870912)"},
        {2 << 20, 0xffffffffu, "cxsparse", "Max Table Entries too large (-1)"},
        {2 << 20, 32, "cxsparse", "Page table too small"},
        {1 << 20, 33, "cxsparse", "Page table too small"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *text = validate_message(cases[i].block_size, cases[i].entries, 131104, cases[i].cookie);
        assert_string_equal(text, cases[i].message);
        free(text);
    }
}

static void test_bitmap_bytes(void **state)
{
    (void)state;
    assert_int_equal(vpc_bitmap_bytes(512), 0);
    assert_int_equal(vpc_bitmap_bytes(2048), 0);
    assert_int_equal(vpc_bitmap_bytes(4096), 512);
    assert_int_equal(vpc_bitmap_bytes(2 << 20), 512);
    assert_int_equal(vpc_bitmap_bytes(4 << 20), 1024);
}

static void test_new_headers(void **state)
{
    (void)state;
    vpc_footer f;
    vpc_dynamic_header h;
    uint8_t buf[VPC_DYNAMIC_HEADER_SIZE];
    vpc_geometry g = {964, 8, 17};
    vpc_footer_init_new(&f, VPC_DISK_DYNAMIC, false, g, 131104);
    assert_int_equal(f.data_offset, 512);
    assert_memory_equal(f.creator_app, "qemu", 4);
    vpc_footer_init_new(&f, VPC_DISK_FIXED, true, g, 131104);
    assert_int_equal(f.data_offset, UINT64_MAX);
    assert_memory_equal(f.creator_app, "qem2", 4);
    vpc_dynamic_header_init_new(&h, 131104);
    vpc_dynamic_header_write_data(&h, buf);
    /* qemu's bytes for 64 MiB: table at 0x600, 33 entries, 2 MiB blocks, checksum 0xfffff456 */
    assert_int_equal(endian_load_be64(buf + 16), 0x600);
    assert_int_equal(endian_load_be32(buf + 28), 33);
    assert_int_equal(endian_load_be32(buf + 32), 2 << 20);
    assert_int_equal(endian_load_be32(buf + 36), 0xfffff456);
    assert_int_equal(endian_load_be64(buf + 8), UINT64_MAX);
}

/* A dynamic image of 4 KiB blocks: footer, header, one table sector, blocks at the given entries. */
static size_t small_image(uint8_t *buf, size_t room, const uint32_t *entries, size_t count)
{
    memset(buf, 0, room);
    sector_64m(buf);
    memcpy(buf + 512, "cxsparse", 8);
    endian_store_be64(buf + 512 + 16, 1536);
    endian_store_be32(buf + 512 + 28, 16);
    endian_store_be32(buf + 512 + 32, 4096);
    memset(buf + 1536, 0xff, 512);
    uint64_t end = 2048;
    for (size_t i = 0; i < count; i++) {
        endian_store_be32(buf + 1536 + 4 * i, entries[i]);
        if (entries[i] != VPC_BAT_UNALLOCATED && (uint64_t)entries[i] * 512 + 4608 > end)
            end = (uint64_t)entries[i] * 512 + 4608;
    }
    return end + 512;
}

static void test_layout_predicate(void **state)
{
    (void)state;
    static uint8_t buf[64 * 1024];
    uint32_t good[] = {4, 13};
    size_t size = small_image(buf, sizeof(buf), good, 2);
    assert_true(vpc_layout_blocks_disjoint(buf, size));
    uint32_t overlapping[] = {4, 8};
    size = small_image(buf, sizeof(buf), overlapping, 2);
    assert_false(vpc_layout_blocks_disjoint(buf, size));
    uint32_t over_table[] = {3};
    size = small_image(buf, sizeof(buf), over_table, 1);
    assert_false(vpc_layout_blocks_disjoint(buf, size));
    size = small_image(buf, sizeof(buf), good, 2);
    buf[size + 10] = 1; /* stale bytes after the footer */
    assert_false(vpc_layout_blocks_disjoint(buf, size + 512));
    assert_true(vpc_layout_blocks_disjoint((const uint8_t *)"raw", 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_footer_decodes_fields),
        cmocka_unit_test(test_footer_short_buffer_reads_zero),
        cmocka_unit_test(test_footer_round_trips_with_checksum),
        cmocka_unit_test(test_geometry_matches_oracle),
        cmocka_unit_test(test_total_sectors_by_creator),
        cmocka_unit_test(test_dynamic_header_checks),
        cmocka_unit_test(test_bitmap_bytes),
        cmocka_unit_test(test_new_headers),
        cmocka_unit_test(test_layout_predicate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
