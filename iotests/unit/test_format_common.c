/* test_format_common.c — cmocka tests of the format toolkit: bounded table I/O, the metadata cache,
 * check's reference map and cluster compression, over the in-memory protocol
 * (spec/formats-common.md; spec/architecture.md §Tests). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "block/memory.h"
#include "formats/common/format_cache.h"
#include "formats/common/format_compress.h"
#include "formats/common/format_io.h"
#include "formats/common/format_refmap.h"
#include "formats/common/format_table.h"

/* A writable in-memory file of size bytes holding byte i & 0xff at offset i. */
static block_node *counting_file(size_t size)
{
    uint8_t *data = malloc(size);
    for (size_t i = 0; i < size; i++)
        data[i] = (uint8_t)i;
    block_node *file = block_memory_open(data, size, 1 << 20, true);
    free(data);
    return file;
}

static void test_table_decodes_both_orders(void **state)
{
    (void)state;
    block_node *file = counting_file(64);
    format_table_layout be32 = {4, FORMAT_BIG_ENDIAN, 16, false};
    format_table_layout le16 = {2, FORMAT_LITTLE_ENDIAN, 16, false};
    uint64_t *entries = NULL;
    assert_int_equal(format_table_read(file, &be32, 4, 2, &entries, NULL), 0);
    assert_true(entries[0] == 0x04050607u && entries[1] == 0x08090a0bu);
    free(entries);
    assert_int_equal(format_table_read(file, &le16, 1, 3, &entries, NULL), 0);
    assert_true(entries[0] == 0x0201 && entries[1] == 0x0403 && entries[2] == 0x0605);
    free(entries);
    block_node_close(file);
}

static void test_table_refuses_before_allocating(void **state)
{
    (void)state;
    block_node *file = counting_file(64);
    format_table_layout layout = {8, FORMAT_BIG_ENDIAN, 4, false};
    uint64_t *entries = (uint64_t *)&layout; /* must be reset to NULL */
    error *err = NULL;
    assert_int_equal(format_table_check(file, &layout, 0, 5), FORMAT_TABLE_TOO_MANY_ENTRIES);
    assert_int_equal(format_table_read(file, &layout, 0, 5, &entries, &err), -1);
    assert_null(entries);
    assert_int_equal(err->kind, ERROR_KIND_TABLE_TOO_LARGE);
    error_free(err);
    err = NULL;
    /* 4 entries of 8 bytes at 40 end at 72 > 64. */
    assert_int_equal(format_table_check(file, &layout, 40, 4), FORMAT_TABLE_PAST_END_OF_FILE);
    assert_int_equal(format_table_read(file, &layout, 40, 4, &entries, &err), -1);
    assert_int_equal(err->kind, ERROR_KIND_PAST_END_OF_FILE);
    error_free(err);
    /* An absurd count is refused by the bound, whatever the file. */
    format_table_layout huge = {8, FORMAT_LITTLE_ENDIAN, UINT64_MAX, true};
    assert_int_equal(format_table_check(file, &huge, 0, UINT64_MAX / 4), FORMAT_TABLE_TOO_MANY_ENTRIES);
    /* Allowed past the end: the tail reads as zeroes. */
    format_table_layout tolerant = {4, FORMAT_LITTLE_ENDIAN, 16, true};
    assert_int_equal(format_table_read(file, &tolerant, 60, 2, &entries, NULL), 0);
    assert_true(entries[0] == 0x3f3e3d3cu && entries[1] == 0);
    free(entries);
    block_node_close(file);
}

static void test_table_write_places_entries(void **state)
{
    (void)state;
    block_node *file = counting_file(64);
    format_table_layout layout = {4, FORMAT_LITTLE_ENDIAN, 16, false};
    uint64_t values[4] = {1, 0xdeadbeef, 3, 4};
    uint8_t back[8];
    assert_int_equal(format_table_write(file, &layout, 16, values, 1, 2, NULL), 0);
    assert_int_equal(format_file_read(file, 20, 8, back, NULL), 0);
    assert_memory_equal(back, ((const uint8_t[]){0xef, 0xbe, 0xad, 0xde, 3, 0, 0, 0}), 8);
    /* entry 0 of the table (offset 16) is untouched */
    assert_int_equal(format_file_read(file, 16, 4, back, NULL), 0);
    assert_memory_equal(back, ((const uint8_t[]){16, 17, 18, 19}), 4);
    block_node_close(file);
}

static void test_cache_writes_back_in_dependency_order(void **state)
{
    (void)state;
    block_node *file = counting_file(4096);
    format_cache first, second;
    memset(&first, 0, sizeof(first));
    memset(&second, 0, sizeof(second));
    format_cache_init(&first, file, 512);
    format_cache_init(&second, file, 512);
    format_cache_set_dependency(&second, &first);
    uint8_t *a = format_cache_get(&first, 1024, NULL);
    assert_non_null(a);
    assert_int_equal(a[0], 0); /* 1024 & 0xff */
    assert_int_equal(a[1], 1);
    a[0] = 0xaa;
    format_cache_mark_dirty(&first, 1024);
    uint8_t *b = format_cache_get_empty(&second, 2048, NULL);
    b[0] = 0xbb;
    format_cache_mark_dirty(&second, 2048);
    uint8_t byte;
    assert_int_equal(format_file_read(file, 1024, 1, &byte, NULL), 0);
    assert_int_equal(byte, 0); /* nothing written before a flush */
    assert_int_equal(format_cache_flush(&second, NULL), 0);
    assert_int_equal(format_file_read(file, 1024, 1, &byte, NULL), 0);
    assert_int_equal(byte, 0xaa); /* the dependency went out too */
    assert_int_equal(format_file_read(file, 2049, 1, &byte, NULL), 0);
    assert_int_equal(byte, 0); /* an empty table is zeroes, not the file's bytes */
    /* a dropped table is never written */
    a = format_cache_get(&first, 0, NULL);
    a[5] = 0x55;
    format_cache_mark_dirty(&first, 0);
    format_cache_drop(&first, 0);
    assert_int_equal(format_cache_flush(&first, NULL), 0);
    assert_int_equal(format_file_read(file, 5, 1, &byte, NULL), 0);
    assert_int_equal(byte, 5);
    format_cache_clear(&first);
    format_cache_clear(&second);
    block_node_close(file);
}

static void test_cache_evicts_dirty_tables_by_writing_them(void **state)
{
    (void)state;
    block_node *file = counting_file(64 * 1024);
    format_cache cache;
    memset(&cache, 0, sizeof(cache));
    format_cache_init(&cache, file, 512);
    uint8_t *t = format_cache_get(&cache, 0, NULL);
    t[0] = 0x77;
    format_cache_mark_dirty(&cache, 0);
    for (int i = 1; i <= FORMAT_CACHE_SLOTS; i++)
        assert_non_null(format_cache_get(&cache, (uint64_t)i * 512, NULL));
    uint8_t byte;
    assert_int_equal(format_file_read(file, 0, 1, &byte, NULL), 0);
    assert_int_equal(byte, 0x77);
    format_cache_clear(&cache);
    block_node_close(file);
}

static void test_refmap_counts_duplicates_and_leaks(void **state)
{
    (void)state;
    format_refmap map;
    format_refmap_init(&map, 9, 4096); /* 8 clusters of 512 */
    assert_int_equal(format_refmap_clusters(&map), 8);
    format_refmap_tally tally = {0};
    format_refmap_reference(&map, 0, 1024, UINT64_MAX, &tally); /* clusters 0, 1 */
    format_refmap_reference(&map, 1000, 100, UINT64_MAX, &tally); /* clusters 1, 2 */
    assert_int_equal(tally.duplicates, 1);
    assert_int_equal(tally.first_duplicate, 1);
    assert_int_equal(format_refmap_get(&map, 1), 2);
    assert_int_equal(format_refmap_next_unreferenced(&map, 0, 8), 3);
    assert_int_equal(format_refmap_end_offset(&map), 3 * 512);
    /* the count saturates at max_count */
    format_refmap_tally overflow = {0};
    format_refmap_reference(&map, 512, 1, 2, &overflow);
    assert_int_equal(overflow.overflows, 1);
    assert_int_equal(format_refmap_get(&map, 1), 2);
    /* first fit: cluster 3 and 4 are free */
    uint64_t first_free = 0;
    assert_int_equal(format_refmap_allocate(&map, 2, &first_free), 3 * 512);
    assert_int_equal(first_free, 3);
    /* a run that does not fit grows the map past its end */
    assert_int_equal(format_refmap_allocate(&map, 4, &first_free), 5 * 512);
    assert_int_equal(format_refmap_clusters(&map), 9);
    format_refmap_reset(&map);
    assert_int_equal(format_refmap_get(&map, 1), 0);
    format_refmap_free(&map);
}

/* Counts past two bytes survive the map's widening, and so do the counts already there. */
static void test_refmap_widens_past_two_bytes(void **state)
{
    (void)state;
    format_refmap map;
    format_refmap_init(&map, 16, 8 << 16);
    format_refmap_set(&map, 3, 7);
    for (uint64_t i = 0; i < 70000; i++)
        assert_true(format_refmap_increment(&map, 5, UINT64_MAX, NULL));
    assert_int_equal(format_refmap_get(&map, 5), 70000);
    assert_int_equal(format_refmap_get(&map, 3), 7);
    /* a limit is still a limit once wide */
    uint64_t previous = 0;
    format_refmap_set(&map, 6, 65535);
    assert_false(format_refmap_increment(&map, 6, 65535, &previous));
    assert_int_equal(previous, 65535);
    format_refmap_set(&map, 40, UINT64_MAX - 1); /* grows past the first size, wide */
    assert_int_equal(format_refmap_get(&map, 40), UINT64_MAX - 1);
    assert_int_equal(format_refmap_end_offset(&map), 41ull << 16);
    format_refmap_reset(&map);
    assert_int_equal(format_refmap_get(&map, 5), 0);
    format_refmap_free(&map);
}

static void test_check_statistics_count_fragments(void **state)
{
    (void)state;
    check_result result;
    memset(&result, 0, sizeof(result));
    uint64_t next = 0;
    format_check_count_allocated(&result, &next, 0x10000, 0x10000);
    format_check_count_allocated(&result, &next, 0x20000, 0x10000);
    format_check_count_allocated(&result, &next, 0x50000, 0x10000);
    assert_int_equal(result.allocated_clusters, 3);
    assert_int_equal(result.fragmented_clusters, 1);
}

static void test_compression_round_trips(void **state)
{
    (void)state;
    uint8_t plain[4096], packed[4096], back[4096];
    for (size_t i = 0; i < sizeof(plain); i++)
        plain[i] = (uint8_t)(i / 64);
    for (int type = FORMAT_COMPRESSION_DEFLATE; type <= FORMAT_COMPRESSION_ZSTD; type++) {
        long n = format_compress((format_compression)type, packed, sizeof(packed) - 1, plain, sizeof(plain));
        assert_true(n > 0 && n < (long)sizeof(plain));
        assert_int_equal(format_decompress((format_compression)type, back, sizeof(back), packed, (size_t)n), 0);
        assert_memory_equal(back, plain, sizeof(plain));
        /* a truncated stream does not decompress */
        assert_int_equal(format_decompress((format_compression)type, back, sizeof(back), packed, (size_t)n / 2), -1);
    }
    /* random-looking bytes do not fit in a smaller buffer */
    uint32_t x = 1;
    for (size_t i = 0; i < sizeof(plain); i++) {
        x = x * 1103515245u + 12345u;
        plain[i] = (uint8_t)(x >> 24);
    }
    assert_int_equal(format_compress(FORMAT_COMPRESSION_DEFLATE, packed, 1024, plain, sizeof(plain)), -2);
}

/* A codec kept from one cluster to the next compresses each exactly as a fresh one does (the file
 * stays byte-identical) and decompresses each whole. */
static void test_codec_reuse_is_invisible(void **state)
{
    (void)state;
    static uint8_t plain[4][8192], fresh[8192], reused[8192], back[8192];
    for (size_t k = 0; k < 4; k++)
        for (size_t i = 0; i < sizeof(plain[k]); i++)
            plain[k][i] = (uint8_t)((i / (k + 3)) ^ (k * 31));
    for (int type = FORMAT_COMPRESSION_DEFLATE; type <= FORMAT_COMPRESSION_ZSTD; type++) {
        format_codec codec = {0};
        for (size_t round = 0; round < 3; round++)
            for (size_t k = 0; k < 4; k++) {
                long a = format_compress((format_compression)type, fresh, sizeof(fresh) - 1, plain[k], sizeof(plain[k]));
                long b = format_codec_compress(&codec, (format_compression)type, reused, sizeof(reused) - 1, plain[k],
                                               sizeof(plain[k]));
                assert_true(a > 0);
                assert_int_equal(a, b);
                assert_memory_equal(fresh, reused, (size_t)a);
                assert_int_equal(format_codec_decompress(&codec, (format_compression)type, back, sizeof(back), reused,
                                                         (size_t)b),
                                 0);
                assert_memory_equal(back, plain[k], sizeof(back));
                /* a damaged stream fails without spoiling the next cluster */
                reused[0] ^= 0xff;
                format_codec_decompress(&codec, (format_compression)type, back, sizeof(back), reused, (size_t)b);
            }
        format_codec_free(&codec);
    }
}

/* Deflate streams as qcow2 finds them: followed by the rest of their last sector, longer than the
 * cluster, or damaged; the fast decoder and zlib must agree with zlib's verdict alone. */
static void test_deflate_streams_qemu_accepts(void **state)
{
    (void)state;
    enum { CLUSTER = 65536 };
    static uint8_t plain[2 * CLUSTER], packed[2 * CLUSTER + 512], back[CLUSTER];
    uint32_t x = 7;
    for (size_t i = 0; i < sizeof(plain); i++) {
        x = x * 1103515245u + 12345u;
        plain[i] = (uint8_t)("abcdefgh"[(x >> 16) & 7]);
    }
    /* a whole cluster, with slack after the stream: exactly the cluster comes back */
    long n = format_compress(FORMAT_COMPRESSION_DEFLATE, packed, CLUSTER - 1, plain, CLUSTER);
    assert_true(n > 0);
    memset(packed + n, 0xa5, 512);
    assert_int_equal(format_decompress(FORMAT_COMPRESSION_DEFLATE, back, CLUSTER, packed, (size_t)n + 512), 0);
    assert_memory_equal(back, plain, CLUSTER);
    /* a stream of two clusters read into one: the first cluster, as zlib's Z_BUF_ERROR with a full buffer */
    n = format_compress(FORMAT_COMPRESSION_DEFLATE, packed, sizeof(packed), plain, sizeof(plain));
    assert_true(n > 0);
    memset(back, 0, sizeof(back));
    assert_int_equal(format_decompress(FORMAT_COMPRESSION_DEFLATE, back, CLUSTER, packed, (size_t)n), 0);
    assert_memory_equal(back, plain, CLUSTER);
    /* a damaged block header (reserved block type 3) does not decompress */
    n = format_compress(FORMAT_COMPRESSION_DEFLATE, packed, CLUSTER - 1, plain, CLUSTER);
    packed[0] |= 0x06;
    assert_int_equal(format_decompress(FORMAT_COMPRESSION_DEFLATE, back, CLUSTER, packed, (size_t)n), -1);
}

static void test_ranges_and_alignment(void **state)
{
    (void)state;
    assert_true(format_ranges_overlap(0, 10, 9, 1));
    assert_false(format_ranges_overlap(0, 10, 10, 1));
    assert_false(format_ranges_overlap(0, 0, 0, 10));
    assert_int_equal(format_align_up(513, 512), 1024);
    assert_true(format_align_up(UINT64_MAX - 3, 512) == UINT64_MAX);
    assert_true(format_is_power_of_two(65536));
    assert_false(format_is_power_of_two(0));
    assert_false(format_is_power_of_two(65537));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_decodes_both_orders),
        cmocka_unit_test(test_table_refuses_before_allocating),
        cmocka_unit_test(test_table_write_places_entries),
        cmocka_unit_test(test_cache_writes_back_in_dependency_order),
        cmocka_unit_test(test_cache_evicts_dirty_tables_by_writing_them),
        cmocka_unit_test(test_refmap_counts_duplicates_and_leaks),
        cmocka_unit_test(test_refmap_widens_past_two_bytes),
        cmocka_unit_test(test_check_statistics_count_fragments),
        cmocka_unit_test(test_compression_round_trips),
        cmocka_unit_test(test_codec_reuse_is_invisible),
        cmocka_unit_test(test_deflate_streams_qemu_accepts),
        cmocka_unit_test(test_ranges_and_alignment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
