/* test_format_luks.c — cmocka tests of the LUKS driver's pure parts: header decoding and encoding,
 * the open checks in qemu's order and wording, and the cipher specification strings
 * (spec/luks.md §Header, §Open checks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "formats/common/luks_block.h"
#include "util/endian.h"

/* A valid header as qemu 10.2 lays out aes-256-xts-plain64 (offsets in sectors). */
static void header_default(luks_header *h)
{
    memset(h, 0, sizeof(*h));
    memcpy(h->magic, "LUKS\xba\xbe", 6);
    h->version = 1;
    strcpy(h->cipher_name, "aes");
    strcpy(h->cipher_mode, "xts-plain64");
    strcpy(h->hash_spec, "sha256");
    h->payload_offset_sectors = 4040;
    h->master_key_bytes = 64;
    h->master_key_iterations = 1000;
    for (unsigned i = 0; i < LUKS_SLOT_COUNT; i++) {
        h->slots[i].active = i == 0 ? LUKS_SLOT_ACTIVE : LUKS_SLOT_INACTIVE;
        h->slots[i].iterations = i == 0 ? 1000 : 0;
        h->slots[i].key_offset_sectors = 8 + i * 504;
        h->slots[i].stripes = 4000;
    }
}

/* The message validate gives for h ("" when it accepts it). */
static char *validate_message(const luks_header *h)
{
    error *err = NULL;
    luks_algorithms algorithms;
    int ret = luks_header_validate(h, 1u << 30, false, &algorithms, &err);
    char *text = strdup(ret == 0 ? "" : error_message(err));
    error_free(err);
    return text;
}

static void assert_message(const luks_header *h, const char *expected)
{
    char *text = validate_message(h);
    assert_string_equal(text, expected);
    free(text);
}

static void test_header_round_trip(void **state)
{
    luks_header h, back;
    uint8_t raw[LUKS_HEADER_SIZE];
    (void)state;
    header_default(&h);
    strcpy(h.uuid, "bbc38f6d-31da-4451-81bf-ed45fb6fa87d");
    luks_header_write_data(&h, raw);
    assert_memory_equal(raw, "LUKS\xba\xbe\x00\x01" "aes", 11);
    assert_int_equal(endian_load_be32(raw + 104), 4040);
    assert_int_equal(endian_load_be32(raw + 108), 64);
    assert_int_equal(endian_load_be32(raw + 208), LUKS_SLOT_ACTIVE);
    assert_int_equal(endian_load_be32(raw + 208 + 48 + 40), 512);
    assert_memory_equal(raw + 168, "bbc38f6d-31da", 13);
    luks_header_read_data(raw, sizeof(raw), &back);
    assert_memory_equal(&h, &back, sizeof(h));
    assert_true(luks_magic_matches(raw, sizeof(raw)));
}

static void test_validate_order(void **state)
{
    luks_header h;
    (void)state;
    header_default(&h);
    assert_message(&h, "");
    h.version = 2;
    assert_message(&h, "LUKS version 2 is not supported");
    header_default(&h);
    h.payload_offset_sectors = 7;
    h.master_key_iterations = 0;
    assert_message(&h, "LUKS payload is overlapping with the header");
    header_default(&h);
    h.master_key_iterations = 0;
    h.slots[0].active = 0x1234;
    assert_message(&h, "LUKS key iteration count is zero");
    header_default(&h);
    h.slots[0].iterations = 0;
    h.slots[0].stripes = 0xffffffffu;
    assert_message(&h, "Keyslot 0 is corrupted (stripes -1 != 4000)");
    header_default(&h);
    h.slots[0].iterations = 0;
    h.slots[0].key_offset_sectors = 0;
    assert_message(&h, "Keyslot 0 iteration count is zero");
    header_default(&h);
    h.slots[1].key_offset_sectors = 1016;
    h.slots[2].stripes = 1;
    assert_message(&h, "Keyslots 1 and 2 are overlapping in the header");
    header_default(&h);
    h.payload_offset_sectors = 8;
    assert_message(&h, "Keyslot 0 is overlapping with the encrypted payload");
    header_default(&h);
    h.slots[0].key_offset_sectors = 0xfffffff0u; /* wraps in 32 bits, as in qemu */
    assert_message(&h, "");
}

static void test_validate_names(void **state)
{
    luks_header h;
    (void)state;
    header_default(&h);
    strcpy(h.cipher_mode, "xts");
    assert_message(&h, "Unexpected cipher mode string format 'xts'");
    strcpy(h.cipher_mode, "bogus-plain64");
    assert_message(&h, "Cipher mode 'bogus' not supported");
    strcpy(h.cipher_mode, "xts-benbi");
    assert_message(&h, "IV generator 'benbi' not supported");
    strcpy(h.cipher_mode, "xts-essiv");
    assert_message(&h, "Missing IV generator hash specification");
    strcpy(h.cipher_mode, "cbc-plain");
    assert_message(&h, "Algorithm 'aes' with key size 64 bytes not supported");
    strcpy(h.cipher_mode, "xts-plain64:sha1");
    assert_message(&h, "");
    strcpy(h.cipher_name, "bogus");
    strcpy(h.hash_spec, "bogus");
    assert_message(&h, "Algorithm 'bogus' with key size 32 bytes not supported");
    strcpy(h.cipher_name, "aes");
    assert_message(&h, "Hash algorithm 'bogus' not supported");
    strcpy(h.hash_spec, "sha256");
    h.master_key_bytes = 16;
    strcpy(h.cipher_mode, "cbc-essiv:sha1");
    assert_message(&h, "No AES cipher with key size 20 available");
    strcpy(h.cipher_name, "cast5");
    strcpy(h.cipher_mode, "cbc-essiv:sha256");
    assert_message(&h, "Cipher cast5-128 not supported with essiv");
}

static void test_slot_area(void **state)
{
    (void)state;
    assert_int_equal(luks_slot_area_bytes(64, 4000), 258048);
    assert_int_equal(luks_slot_area_bytes(32, 4000), 131072);
    assert_int_equal(luks_slot_area_bytes(16, 4000), 65536);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_round_trip),
        cmocka_unit_test(test_validate_order),
        cmocka_unit_test(test_validate_names),
        cmocka_unit_test(test_slot_area),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
