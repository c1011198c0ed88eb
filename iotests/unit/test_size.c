/* test_size.c — cmocka tests of size arguments and human sizes, impl/util/size.h (spec/architecture.md §Sizes, §Tests). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "size.h"

/* Parses text and checks the result code and, on success, the value. */
static void expect_parse(const char *text, int want_rc, uint64_t want_value)
{
    uint64_t value = 0xdeadbeef;
    int rc = size_parse(text, &value);
    if (rc != want_rc || (want_rc == 0 && value != want_value)) {
        print_error("size_parse(\"%s\") = %d, %llu; want %d, %llu\n", text, rc, (unsigned long long)value, want_rc,
                    (unsigned long long)want_value);
        fail();
    }
}

static void test_plain_numbers(void **state)
{
    (void)state;
    expect_parse("0", 0, 0);
    expect_parse("1", 0, 1);
    expect_parse("65537", 0, 65537);
    expect_parse("1099511627776", 0, 1099511627776ULL);
}

static void test_suffixes(void **state)
{
    (void)state;
    expect_parse("512b", 0, 512);
    expect_parse("512B", 0, 512);
    expect_parse("1024k", 0, 1048576);
    expect_parse("1K", 0, 1024);
    expect_parse("1M", 0, 1048576);
    expect_parse("1m", 0, 1048576);
    expect_parse("1G", 0, 1073741824ULL);
    expect_parse("1g", 0, 1073741824ULL);
    expect_parse("2T", 0, 2199023255552ULL);
    expect_parse("16T", 0, 17592186044416ULL);
    expect_parse("1P", 0, 1ULL << 50);
    expect_parse("1E", 0, 1ULL << 60);
    expect_parse("15E", 0, 15ULL << 60);
}

static void test_fractions(void **state)
{
    (void)state;
    expect_parse("1.5G", 0, 1610612736ULL);
    expect_parse("1.5k", 0, 1536);
    expect_parse("0.5M", 0, 524288);
    expect_parse("2.25M", 0, 2359296);
}

static void test_hex(void **state)
{
    (void)state;
    expect_parse("0x1000", 0, 4096);
    expect_parse("0X10", 0, 16);
    expect_parse("0xffffffff", 0, 0xffffffffULL);
    expect_parse("0x", -EINVAL, 0);
}

static void test_range_errors(void **state)
{
    (void)state;
    expect_parse("18E", -ERANGE, 0);
    expect_parse("16E", -ERANGE, 0);
    expect_parse("-5", -ERANGE, 0);
    expect_parse("-1", -ERANGE, 0);
    expect_parse("99999999999999999999", -ERANGE, 0);
    expect_parse("0x10000000000000000", -ERANGE, 0);
    expect_parse("-0", -ERANGE, 0);
    expect_parse("-18446744073709551616", -ERANGE, 0);
}

/* qemu 10.2: a negative size with a suffix, a fraction or in hex is malformed, not out of range. */
static void test_negative_malformed(void **state)
{
    (void)state;
    expect_parse("-5M", -EINVAL, 0);
    expect_parse("-1k", -EINVAL, 0);
    expect_parse("-1.5", -EINVAL, 0);
    expect_parse("-0x10", -EINVAL, 0);
    expect_parse("-", -EINVAL, 0);
}

static void test_malformed(void **state)
{
    (void)state;
    expect_parse("1Q", -EINVAL, 0);
    expect_parse("abc", -EINVAL, 0);
    expect_parse("", -EINVAL, 0);
    expect_parse("M", -EINVAL, 0);
    expect_parse("1MB", -EINVAL, 0);
    expect_parse("12x", -EINVAL, 0);
    expect_parse("1.5", -EINVAL, 0);
}

static void test_default_suffix(void **state)
{
    (void)state;
    uint64_t value = 0;
    assert_int_equal(size_parse_default("64", 'M', &value), 0);
    assert_true(value == 67108864ULL);
    assert_int_equal(size_parse_default("64k", 'M', &value), 0);
    assert_true(value == 65536ULL);
    assert_int_equal(size_parse_default("2", 'G', &value), 0);
    assert_true(value == 2147483648ULL);
    assert_int_equal(size_parse_default("512", 'b', &value), 0);
    assert_true(value == 512);
}

static void expect_human(uint64_t value, const char *want)
{
    char buf[64];
    memset(buf, 'x', sizeof(buf));
    const char *got = size_format_human(value, buf, sizeof(buf));
    assert_ptr_equal(got, buf);
    if (strcmp(got, want) != 0) {
        print_error("size_format_human(%llu) = \"%s\"; want \"%s\"\n", (unsigned long long)value, got, want);
        fail();
    }
}

static void test_human(void **state)
{
    (void)state;
    expect_human(0, "0 B");
    expect_human(1, "1 B");
    expect_human(512, "512 B");
    expect_human(999, "999 B");
    expect_human(1000, "0.977 KiB");
    expect_human(1023, "0.999 KiB");
    expect_human(1024, "1 KiB");
    expect_human(66048, "64.5 KiB");
    expect_human(1048576, "1 MiB");
    expect_human(1441792, "1.38 MiB");
    expect_human(67108864, "64 MiB");
    expect_human(1610612736ULL, "1.5 GiB");
    expect_human(2199023255552ULL, "2 TiB");
    expect_human(17592186044416ULL, "16 TiB");
    expect_human(1ULL << 60, "1 EiB");
    expect_human(UINT64_MAX, "16 EiB");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_numbers),
        cmocka_unit_test(test_suffixes),
        cmocka_unit_test(test_fractions),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_range_errors),
        cmocka_unit_test(test_negative_malformed),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_default_suffix),
        cmocka_unit_test(test_human),
    };
    return cmocka_run_group_tests_name("size", tests, NULL, NULL);
}
