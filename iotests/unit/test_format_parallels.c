/* test_format_parallels.c — cmocka tests of the Parallels driver's pure parsers: header decoding and
 * validation in qemu's order, the minimum data offset, the creation layout and the format extension
 * (spec/parallels.md; spec/architecture.md §Tests). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "formats/parallels/parallels.h"
#include "util/endian.h"

/* A valid new-format header: 64 MiB, 1 MiB clusters, as qemu-img create writes it. */
static void header_default(parallels_header *h)
{
    assert_true(parallels_create_header_build(64ull << 20, 1u << 20, h));
}

static void test_header_round_trip(void **state)
{
    (void)state;
    parallels_header h, back;
    uint8_t raw[PARALLELS_HEADER_SIZE];
    header_default(&h);
    h.inuse = PARALLELS_INUSE_OPEN;
    h.ext_off = 0x1122334455667788ull;
    parallels_header_write_data(&h, raw);
    assert_memory_equal(raw, PARALLELS_MAGIC_NEW, 16);
    assert_int_equal(endian_load_le32(raw + 28), 2048);
    assert_int_equal(endian_load_le32(raw + 48), 2048);
    parallels_header_read_data(raw, sizeof(raw), &back);
    assert_memory_equal(&back.magic, &h.magic, 16);
    assert_true(back.nb_sectors == 131072 && back.inuse == PARALLELS_INUSE_OPEN && back.ext_off == h.ext_off);
    /* a short buffer reads as zeroes past its end */
    parallels_header_read_data(raw, 20, &back);
    assert_int_equal(back.version, 2);
    assert_int_equal(back.tracks, 0);
}

static void test_header_validation_order(void **state)
{
    (void)state;
    parallels_header h;
    header_default(&h);
    assert_int_equal(parallels_header_validate(&h), PARALLELS_HEADER_OK);
    h.tracks = 0;
    h.bat_entries = 0x20000000;
    assert_int_equal(parallels_header_validate(&h), PARALLELS_HEADER_ZERO_TRACKS);
    h.tracks = 0x3fe010;
    assert_int_equal(parallels_header_validate(&h), PARALLELS_HEADER_BIG_CLUSTER);
    h.tracks = 0x3fe00f;
    assert_int_equal(parallels_header_validate(&h), PARALLELS_HEADER_BIG_CATALOG);
    h.bat_entries = 0x1fffffff;
    h.nb_sectors = 0x3fffffffe00001ull;
    assert_int_equal(parallels_header_validate(&h), PARALLELS_HEADER_BIG_SIZE);
    h.nb_sectors = 0x3fffffffe00000ull;
    assert_int_equal(parallels_header_validate(&h), PARALLELS_HEADER_OK);
    h.version = 3;
    assert_int_equal(parallels_header_validate(&h), PARALLELS_HEADER_NOT_PARALLELS);
    h.version = 2;
    memcpy(h.magic, PARALLELS_MAGIC_OLD, 16);
    /* old images use only the low 32 bits of nb_sectors */
    assert_int_equal(parallels_header_validate(&h), PARALLELS_HEADER_OK);
    h.nb_sectors = 0x100000004ull;
    assert_true(parallels_header_virtual_size(&h) == 4 * 512);
    h.magic[0] = 'X';
    assert_int_equal(parallels_header_validate(&h), PARALLELS_HEADER_NOT_PARALLELS);
}

static void test_min_data_off(void **state)
{
    (void)state;
    parallels_header h;
    header_default(&h);
    assert_int_equal(parallels_header_min_data_off(&h), 2048);
    /* three-sector clusters: creation truly rounds up, opening uses qemu's power-of-two mask */
    assert_true(parallels_create_header_build(64ull << 20, 1536, &h));
    assert_int_equal(h.data_off, 342);
    assert_int_equal(parallels_header_min_data_off(&h), 344);
    /* old images are not rounded to the cluster */
    memcpy(h.magic, PARALLELS_MAGIC_OLD, 16);
    assert_int_equal(parallels_header_min_data_off(&h), 342);
    /* the byte count wraps at 32 bits */
    assert_true(parallels_create_header_build(2199023255040ull, 512, &h));
    assert_int_equal(h.bat_entries, 0xffffffffu);
    assert_int_equal(h.data_off, 1);
}

static void test_create_layout_limits(void **state)
{
    (void)state;
    parallels_header h;
    assert_false(parallels_create_header_build(2ull << 40, 512, &h));
    assert_false(parallels_create_header_build(0, 0, &h));
    assert_true(parallels_create_header_build(1500ull << 40, 1u << 20, &h));
    assert_int_equal(h.cylinders, 0x77000000u);
    assert_int_equal(h.data_off, 0x3b8800u);
    assert_true(parallels_create_header_build(0, 1u << 20, &h));
    assert_int_equal(h.bat_entries, 0);
    assert_int_equal(h.data_off, 2048);
}

/* A 4 KiB extension cluster with one dirty bitmap feature for a disk of sectors sectors. */
static void extension_build(uint8_t *buf, size_t size, uint64_t sectors, uint32_t granularity, uint32_t l1_size)
{
    memset(buf, 0, size);
    endian_store_le64(buf, PARALLELS_EXT_MAGIC);
    endian_store_le64(buf + 24, PARALLELS_EXT_DIRTY_BITMAP);
    endian_store_le32(buf + 40, 40);
    endian_store_le64(buf + 48, sectors);
    endian_store_le32(buf + 72, granularity);
    endian_store_le32(buf + 76, l1_size);
    endian_store_le64(buf + 80, 1);
    unsigned int length = 0;
    assert_true(EVP_Digest(buf + 24, size - 24, buf + 8, &length, EVP_md5(), NULL));
}

static void test_extension_parse(void **state)
{
    (void)state;
    uint8_t buf[4096];
    char message[256];
    parallels_extension ext;
    extension_build(buf, sizeof(buf), 64, 8, 1);
    assert_int_equal(parallels_extension_parse(buf, sizeof(buf), 64, &ext, message, sizeof(message)), 0);
    assert_true(ext.has_bitmap && ext.granularity == 8 && ext.l1_size == 1);
    assert_int_equal(parallels_extension_parse(buf, sizeof(buf), 65, &ext, message, sizeof(message)), -1);
    assert_string_equal(message, "Bitmap size (in sectors) 64 differs from disk size in sectors 65");
    buf[100] ^= 1;
    assert_int_equal(parallels_extension_parse(buf, sizeof(buf), 64, &ext, message, sizeof(message)), -1);
    assert_string_equal(message, "Wrong checksum in Format Extension header. Format extension is corrupted.");
    extension_build(buf, sizeof(buf), 64, 8, 2);
    assert_int_equal(parallels_extension_parse(buf, sizeof(buf), 64, &ext, message, sizeof(message)), -1);
    assert_string_equal(message, "Bitmap table size 2 does not correspond to bitmap size and cluster size. Expected 1");
    extension_build(buf, sizeof(buf), 64, 3, 1);
    assert_int_equal(parallels_extension_parse(buf, sizeof(buf), 64, &ext, message, sizeof(message)), -1);
    memset(buf, 0, sizeof(buf));
    assert_int_equal(parallels_extension_parse(buf, sizeof(buf), 64, &ext, message, sizeof(message)), -1);
    assert_string_equal(message, "Wrong parallels Format Extension magic: 0x0, expected: 0xab234cef23dcea87");
}

/* An extension cluster given only in part parses as the whole cluster with zeroes after the part. */
static void test_extension_parse_partial(void **state)
{
    (void)state;
    uint8_t buf[4096];
    char message[256];
    parallels_extension ext;
    extension_build(buf, sizeof(buf), 64, 8, 1);
    assert_int_equal(parallels_extension_parse_partial(buf, 96, sizeof(buf), 64, &ext, message, sizeof(message)), 0);
    assert_true(ext.has_bitmap && ext.granularity == 8 && ext.l1_size == 1);
    /* cut inside the bitmap header: the bytes taken as zeroes no longer match the checksum */
    assert_int_equal(parallels_extension_parse_partial(buf, 60, sizeof(buf), 64, &ext, message, sizeof(message)), -1);
    assert_string_equal(message, "Wrong checksum in Format Extension header. Format extension is corrupted.");
    buf[200] = 1; /* past the given part: the checksum covers zeroes there */
    assert_int_equal(parallels_extension_parse_partial(buf, 96, sizeof(buf), 64, &ext, message, sizeof(message)), 0);
    assert_int_equal(parallels_extension_parse(buf, sizeof(buf), 64, &ext, message, sizeof(message)), -1);
    assert_string_equal(message, "Wrong checksum in Format Extension header. Format extension is corrupted.");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_round_trip),
        cmocka_unit_test(test_header_validation_order),
        cmocka_unit_test(test_min_data_off),
        cmocka_unit_test(test_create_layout_limits),
        cmocka_unit_test(test_extension_parse),
        cmocka_unit_test(test_extension_parse_partial),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
