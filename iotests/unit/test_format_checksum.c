/* test_format_checksum.c — cmocka tests of the format toolkit's checksums: CRC-32C's check value and
 * the checksum of a structure holding its own checksum field (spec/formats-common.md §Checksums). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "formats/common/format_checksum.h"

static void test_crc32c_check_value(void **state)
{
    (void)state;
    assert_true(format_checksum_crc32c("123456789", 9) == 0xe3069283u);
    assert_true(format_checksum_crc32c("", 0) == 0);
}

static void test_crc32c_without_field(void **state)
{
    (void)state;
    uint8_t buf[16];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 7 + 1);
    uint8_t zeroed[16];
    memcpy(zeroed, buf, sizeof(buf));
    memset(zeroed + 4, 0, 4);
    assert_true(format_checksum_crc32c_without(buf, sizeof(buf), 4) == format_checksum_crc32c(zeroed, sizeof(zeroed)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_check_value),
        cmocka_unit_test(test_crc32c_without_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
