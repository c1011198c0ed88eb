/* test_format_dmg.c — cmocka tests of the dmg driver's pure parts: finding and checking the koly
 * trailer, mish block parsing (skipped types, bounds and qemu's messages), glib-style base64, the
 * property list and resource fork walkers (spec/dmg.md §Trailer, §Block tables). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "formats/dmg/dmg.h"
#include "util/base64.h"
#include "util/endian.h"

static uint32_t skipped_types[8];
static int skipped_count;

static void record_skipped(uint32_t type)
{
    if (skipped_count < 8)
        skipped_types[skipped_count] = type;
    skipped_count++;
}

/* A mish block with count chunk entries (types as given, one sector each, 512 stored bytes). */
static size_t mish_make(uint8_t *buf, const uint32_t *types, int count, uint64_t first_sector)
{
    memset(buf, 0, DMG_MISH_CHUNKS_OFFSET + (size_t)count * DMG_CHUNK_BYTES);
    memcpy(buf, "mish", 4);
    endian_store_be64(buf + 8, first_sector);
    endian_store_be64(buf + 0x18, 1000);
    for (int i = 0; i < count; i++) {
        uint8_t *p = buf + DMG_MISH_CHUNKS_OFFSET + i * DMG_CHUNK_BYTES;
        endian_store_be32(p, types[i]);
        endian_store_be64(p + 8, (uint64_t)i);
        endian_store_be64(p + 0x10, 1);
        endian_store_be64(p + 0x18, (uint64_t)i * 512);
        endian_store_be64(p + 0x20, 512);
    }
    return DMG_MISH_CHUNKS_OFFSET + (size_t)count * DMG_CHUNK_BYTES;
}

static void table_init(dmg_table *t)
{
    memset(t, 0, sizeof(*t));
    t->data_fork_offset = 24;
    t->max_compressed_size = 1;
    t->max_sectors_per_chunk = 1;
    t->skipped = record_skipped;
    skipped_count = 0;
}

static void test_koly_find_and_validate(void **state)
{
    (void)state;
    uint8_t window[DMG_KOLY_WINDOW] = {0};
    assert_int_equal(dmg_koly_find(window, sizeof(window), 1000), -1);
    memcpy(window + 511, "koly", 4);
    memcpy(window + 600 - 515 + 100, "koly", 4); /* the first one wins */
    assert_int_equal(dmg_koly_find(window, sizeof(window), 1000), 1000 + 185);
    uint8_t trailer[DMG_KOLY_BYTES] = {0};
    dmg_koly koly;
    endian_store_be64(trailer + 0xd8, 100);
    endian_store_be64(trailer + 0xe0, 900);
    endian_store_be64(trailer + 0x1ec, 7);
    dmg_koly_read_data(trailer, &koly);
    assert_int_equal(koly.plist_offset, 100);
    assert_int_equal(koly.sector_count, 7);
    assert_int_equal(dmg_koly_validate(&koly, 1000), 0);
    assert_int_equal(dmg_koly_validate(&koly, 999), -1); /* the list would reach into the trailer */
    koly.rsrc_fork_offset = 1000;                         /* an offset at the trailer even when empty */
    assert_int_equal(dmg_koly_validate(&koly, 1000), -1);
    koly.rsrc_fork_offset = 0;
    koly.sector_count = 1ull << 63;
    assert_int_equal(dmg_koly_validate(&koly, 1000), -1);
}

static void test_mish_skips_and_offsets(void **state)
{
    (void)state;
    uint8_t buf[512];
    dmg_table t;
    table_init(&t);
    const uint32_t types[] = {DMG_CHUNK_RAW, DMG_CHUNK_ADC, DMG_CHUNK_COMMENT, DMG_CHUNK_LZFSE, DMG_CHUNK_ZLIB,
                              DMG_CHUNK_TERMINATOR};
    size_t n = mish_make(buf, types, 6, 10);
    assert_int_equal(dmg_mish_parse(&t, buf, n, NULL), 0);
    assert_int_equal(t.count, 2);
    assert_int_equal(t.chunks[0].sector, 10);
    assert_int_equal(t.chunks[0].offset, 24 + 1000);
    assert_int_equal(t.chunks[1].type, DMG_CHUNK_ZLIB);
    assert_int_equal(t.chunks[1].sector, 14);
    assert_int_equal(t.max_compressed_size, 512);
    assert_int_equal(skipped_count, 2); /* comments and terminators are silent */
    assert_int_equal(skipped_types[0], DMG_CHUNK_ADC);
    assert_int_equal(skipped_types[1], DMG_CHUNK_LZFSE);
    memcpy(buf, "mosh", 4); /* not a mish block: ignored */
    assert_int_equal(dmg_mish_parse(&t, buf, n, NULL), 0);
    assert_int_equal(dmg_mish_parse(&t, buf, DMG_MISH_MIN_BYTES - 1, NULL), 0);
    assert_int_equal(t.count, 2);
    dmg_table_free(&t);
}

static void test_mish_bounds_messages(void **state)
{
    (void)state;
    uint8_t buf[512];
    dmg_table t;
    error *err = NULL;
    table_init(&t);
    const uint32_t types[] = {DMG_CHUNK_RAW, DMG_CHUNK_ZLIB};
    size_t n = mish_make(buf, types, 2, 0);
    endian_store_be64(buf + DMG_MISH_CHUNKS_OFFSET + DMG_CHUNK_BYTES + 0x10, DMG_SECTORCOUNTS_MAX + 1);
    assert_int_equal(dmg_mish_parse(&t, buf, n, &err), -1);
    assert_int_equal(err->kind, ERROR_KIND_CORRUPT);
    assert_string_equal(error_message(err), "sector count 131073 for chunk 1 is larger than max (131072)");
    error_free(err);
    err = NULL;
    dmg_table_free(&t);
    table_init(&t);
    n = mish_make(buf, types, 2, 0);
    endian_store_be64(buf + DMG_MISH_CHUNKS_OFFSET + 0x20, DMG_LENGTHS_MAX + 1);
    assert_int_equal(dmg_mish_parse(&t, buf, n, &err), -1);
    assert_string_equal(error_message(err), "length 67108865 for chunk 0 is larger than max (67108864)");
    error_free(err);
    dmg_table_free(&t);
    table_init(&t);
    const uint32_t zero[] = {DMG_CHUNK_ZERO};
    n = mish_make(buf, zero, 1, 0);
    endian_store_be64(buf + DMG_MISH_CHUNKS_OFFSET + 0x10, 1ull << 40); /* zero chunks are unbounded */
    assert_int_equal(dmg_mish_parse(&t, buf, n, NULL), 0);
    assert_int_equal(t.count, 1);
    dmg_table_free(&t);
}

static void test_base64_like_glib(void **state)
{
    (void)state;
    uint8_t *out = NULL;
    size_t n = base64_decode("bW lz\naA==", 10, &out);
    assert_int_equal(n, 4);
    assert_memory_equal(out, "mish", 4);
    free(out);
    n = base64_decode("bWlzaA", 6, &out); /* a partial group is dropped */
    assert_int_equal(n, 3);
    free(out);
    n = base64_decode("==bWlz", 6, &out); /* '=' counts as a digit */
    assert_int_equal(n, 3);
    free(out);
}

static void test_plist_and_rsrc_walkers(void **state)
{
    (void)state;
    dmg_table t;
    table_init(&t);
    const char *broken = "<plist><data>AAAA</dat></plist>";
    assert_int_equal(dmg_plist_parse(&t, (const uint8_t *)broken, strlen(broken), NULL), -1);
    const char *cut = "<plist>\0<data>AAAA</plist>"; /* the search stops at a NUL */
    assert_int_equal(dmg_plist_parse(&t, (const uint8_t *)cut, 26, NULL), 0);
    uint8_t fork[16 + 4 + 300];
    memset(fork, 0, sizeof(fork));
    const uint32_t types[] = {DMG_CHUNK_RAW, DMG_CHUNK_ZERO};
    size_t n = mish_make(fork + 20, types, 2, 0);
    endian_store_be32(fork, 16);
    endian_store_be32(fork + 8, (uint32_t)(4 + n));
    endian_store_be32(fork + 16, (uint32_t)n);
    assert_int_equal(dmg_rsrc_parse(&t, fork, sizeof(fork), sizeof(fork), NULL), 0);
    assert_int_equal(t.count, 2);
    endian_store_be32(fork + 8, 0);
    assert_int_equal(dmg_rsrc_parse(&t, fork, sizeof(fork), sizeof(fork), NULL), -1);
    endian_store_be32(fork + 8, (uint32_t)(4 + n));
    endian_store_be32(fork, sizeof(fork) + 1);
    assert_int_equal(dmg_rsrc_parse(&t, fork, sizeof(fork), sizeof(fork), NULL), -1);
    dmg_table_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_koly_find_and_validate),
        cmocka_unit_test(test_mish_skips_and_offsets),
        cmocka_unit_test(test_mish_bounds_messages),
        cmocka_unit_test(test_base64_like_glib),
        cmocka_unit_test(test_plist_and_rsrc_walkers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
