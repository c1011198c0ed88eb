/* test_format_cloop.c — cmocka tests of the cloop driver's pure parts: the probe, header decoding,
 * the header and offsets checks in qemu 10.2's order and wording (spec/cloop.md §Header, §Open
 * checks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "formats/cloop/cloop.h"
#include "util/endian.h"

/* The message the header checks give ("" when they pass; the caller frees it). */
static char *header_message(uint32_t block_size, uint32_t n_blocks, uint64_t *entries)
{
    cloop_header h = {block_size, n_blocks};
    error *err = NULL;
    char *text = strdup(cloop_header_validate(&h, entries, &err) == 0 ? "" : error_message(err));
    error_free(err);
    return text;
}

static void expect_header(uint32_t block_size, uint32_t n_blocks, const char *expected)
{
    uint64_t entries = 0;
    char *text = header_message(block_size, n_blocks, &entries);
    assert_string_equal(text, expected);
    free(text);
}

static void expect_offsets(const uint64_t *offsets, uint64_t count, const char *expected)
{
    error *err = NULL;
    int ret = cloop_offsets_validate(offsets, count, &err);
    assert_string_equal(ret == 0 ? "" : error_message(err), expected);
    error_free(err);
}

static void test_probe_needs_the_whole_magic(void **state)
{
    (void)state;
    const char *magic = CLOOP_MAGIC;
    assert_int_equal(cloop_header_probe((const uint8_t *)magic, strlen(magic)), 2);
    assert_int_equal(cloop_header_probe((const uint8_t *)"#!/bin/sh\n", 10), 0); /* zero-padded: no match */
    assert_int_equal(cloop_header_probe((const uint8_t *)"#!/bin/bash", 11), 0);
}

static void test_header_decodes_big_endian(void **state)
{
    (void)state;
    uint8_t raw[8];
    cloop_header h;
    endian_store_be32(raw, 65536);
    endian_store_be32(raw + 4, 16);
    cloop_header_read_data(raw, &h);
    assert_int_equal(h.block_size, 65536);
    assert_int_equal(h.n_blocks, 16);
}

static void test_header_checks(void **state)
{
    (void)state;
    uint64_t entries = 0;
    char *text = header_message(65536, 16, &entries);
    assert_string_equal(text, "");
    assert_int_equal(entries, 17);
    free(text);
    expect_header(513, 1, "block_size 513 must be a multiple of 512");
    expect_header(0, 1, "block_size cannot be zero");
    expect_header(64 * 1024 * 1024 + 512, 1, "block_size 67109376 must be 64 MB or less");
    expect_header(512, UINT32_MAX, "n_blocks 4294967295 must be 536870911 or less");
    expect_header(512, 536870912, "n_blocks 536870912 must be 536870911 or less");
    /* (n_blocks + 1) * 8 kept in 32 bits wraps to 0 for the largest count */
    expect_header(512, 536870911, "Could not allocate offsets table");
    expect_header(512, 64 * 1024 * 1024, "image requires too many offsets, try increasing block size");
    expect_header(512, 64 * 1024 * 1024 - 1, "");
}

static void test_offsets_checks(void **state)
{
    (void)state;
    const uint64_t good[] = {144, 200, 200, 300};
    expect_offsets(good, 4, "");
    const uint64_t back[] = {200, 300, 250};
    expect_offsets(back, 3, "offsets not monotonically increasing at index 2, image file is corrupt");
    const uint64_t big[] = {200, 300, 300 + 128ull * 1024 * 1024 + 1};
    expect_offsets(big, 3, "invalid compressed block size at index 2, image file is corrupt");
    const uint64_t limit[] = {200, 200 + 128ull * 1024 * 1024};
    expect_offsets(limit, 2, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_needs_the_whole_magic),
        cmocka_unit_test(test_header_decodes_big_endian),
        cmocka_unit_test(test_header_checks),
        cmocka_unit_test(test_offsets_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
