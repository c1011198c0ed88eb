/* test_crypto_primitives.c — cmocka tests of impl/crypto against published test vectors: FIPS 180
 * digests, FIPS 197 AES, NIST SP 800-38A CBC and CTR, IEEE 1619 XTS, RFC 2144 CAST5, the NESSIE
 * Serpent and the Twofish paper's vectors, RFC 6070 PBKDF2; the IV generators and the anti-forensic
 * splitter by their defining properties (spec/crypto.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/crypto_afsplit.h"
#include "crypto/crypto_cipher.h"
#include "crypto/crypto_hash.h"
#include "crypto/crypto_ivgen.h"
#include "crypto/crypto_pbkdf2.h"

/* Decodes the hex text (spaces allowed) into out; returns the byte count. */
static size_t hex_decode(const char *text, uint8_t *out)
{
    size_t count = 0;
    for (const char *p = text; *p != '\0';) {
        if (*p == ' ') {
            p++;
            continue;
        }
        unsigned value = 0;
        sscanf(p, "%2x", &value);
        out[count++] = (uint8_t)value;
        p += 2;
    }
    return count;
}

static void test_hash_vectors(void **state)
{
    static const struct {
        const char *name;
        const char *digest;
    } vectors[] = {
        {"md5", "900150983cd24fb0d6963f7d28e17f72"},
        {"sha1", "a9993e364706816aba3e25717850c26c9cd0d89d"},
        {"sha224", "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"},
        {"sha256", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"sha384", "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"},
        {"sha512", "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                   "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
        {"ripemd160", "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc"},
    };
    (void)state;
    for (size_t index = 0; index < sizeof(vectors) / sizeof(vectors[0]); index++) {
        crypto_hash_alg alg;
        uint8_t expected[64], digest[64];
        assert_true(crypto_hash_alg_parse(vectors[index].name, &alg));
        assert_string_equal(crypto_hash_alg_name(alg), vectors[index].name);
        size_t size = hex_decode(vectors[index].digest, expected);
        assert_int_equal(crypto_hash_digest_size(alg), size);
        assert_int_equal(crypto_hash_digest(alg, (const uint8_t *)"abc", 3, digest), 0);
        assert_memory_equal(digest, expected, size);
    }
    crypto_hash_alg alg;
    assert_false(crypto_hash_alg_parse("sha3", &alg));
}

/* Encrypts the plaintext under alg/mode/key/iv, compares with the ciphertext, decrypts back. */
static void cipher_vector_check(const char *alg_name, const char *mode_name, const char *key_hex, const char *iv_hex,
                                const char *plain_hex, const char *cipher_hex)
{
    crypto_cipher_alg alg;
    crypto_cipher_mode mode;
    uint8_t key[64], iv[16], plain[64], expected[64], buf[64];
    error *err = NULL;

    assert_true(crypto_cipher_alg_parse(alg_name, &alg));
    assert_true(crypto_cipher_mode_parse(mode_name, &mode));
    size_t key_length = hex_decode(key_hex, key);
    size_t iv_length = iv_hex != NULL ? hex_decode(iv_hex, iv) : 0;
    size_t length = hex_decode(plain_hex, plain);
    assert_int_equal(hex_decode(cipher_hex, expected), length);
    crypto_cipher *cipher = crypto_cipher_new(alg, mode, key, key_length, &err);
    assert_non_null(cipher);
    memcpy(buf, plain, length);
    assert_int_equal(crypto_cipher_encrypt(cipher, iv_hex != NULL ? iv : NULL, iv_length, buf, length, &err), 0);
    assert_memory_equal(buf, expected, length);
    assert_int_equal(crypto_cipher_decrypt(cipher, iv_hex != NULL ? iv : NULL, iv_length, buf, length, &err), 0);
    assert_memory_equal(buf, plain, length);
    crypto_cipher_free(cipher);
}

static void test_cipher_block_vectors(void **state)
{
    (void)state;
    /* FIPS 197 appendix C. */
    cipher_vector_check("aes-128", "ecb", "000102030405060708090a0b0c0d0e0f", NULL, "00112233445566778899aabbccddeeff",
                        "69c4e0d86a7b0430d8cdb78070b4c55a");
    cipher_vector_check("aes-192", "ecb", "000102030405060708090a0b0c0d0e0f1011121314151617", NULL,
                        "00112233445566778899aabbccddeeff", "dda97ca4864cdfe06eaf70a0ec0d7191");
    cipher_vector_check("aes-256", "ecb", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", NULL,
                        "00112233445566778899aabbccddeeff", "8ea2b7ca516745bfeafc49904b496089");
    /* RFC 2144 appendix B.1, 128-bit key. */
    cipher_vector_check("cast5-128", "ecb", "0123456712345678234567893456789a", NULL, "0123456789abcdef",
                        "238b4fe5847e44b2");
    /* NESSIE set 1, vector 0. */
    cipher_vector_check("serpent-128", "ecb", "80000000000000000000000000000000", NULL,
                        "00000000000000000000000000000000", "264e5481eff42a4606abda06c0bfda3d");
    /* The Twofish paper, zero key and block. */
    cipher_vector_check("twofish-128", "ecb", "00000000000000000000000000000000", NULL,
                        "00000000000000000000000000000000", "9f589f5cf6122c32b6bfec2f2ae8c35a");
    cipher_vector_check("twofish-256", "ecb", "0000000000000000000000000000000000000000000000000000000000000000", NULL,
                        "00000000000000000000000000000000", "57ff739d4dc92c1bd7fc01700cc8216f");
}

static void test_cipher_mode_vectors(void **state)
{
    (void)state;
    /* SP 800-38A F.2.1 and F.5.1 (first block). */
    cipher_vector_check("aes-128", "cbc", "2b7e151628aed2a6abf7158809cf4f3c", "000102030405060708090a0b0c0d0e0f",
                        "6bc1bee22e409f96e93d7e117393172a", "7649abac8119b246cee98e9b12e9197d");
    cipher_vector_check("aes-128", "ctr", "2b7e151628aed2a6abf7158809cf4f3c", "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
                        "6bc1bee22e409f96e93d7e117393172a", "874d6191b620e3261bef6864990db6ce");
    /* IEEE 1619-2007 XTS-AES-128 vector 2. */
    cipher_vector_check("aes-128", "xts", "11111111111111111111111111111111 22222222222222222222222222222222",
                        "33333333330000000000000000000000",
                        "4444444444444444444444444444444444444444444444444444444444444444",
                        "c454185e6a16936e39334038acef838bfb186fff7480adc4289382ecd6d394f0");
}

/* The nettle path of a mode agrees with the OpenSSL path: aes-192 xts (nettle) against a sum of
 * its parts is not available, so check serpent and aes-192 xts by round trip and by the property
 * that equal sectors with different tweaks differ. */
static void test_cipher_nettle_xts_round_trip(void **state)
{
    const char *names[] = {"aes-192", "serpent-256", "twofish-192"};
    (void)state;
    for (size_t index = 0; index < 3; index++) {
        crypto_cipher_alg alg;
        error *err = NULL;
        uint8_t key[64], a[512], b[512], iv_a[16] = {1}, iv_b[16] = {2};
        assert_true(crypto_cipher_alg_parse(names[index], &alg));
        size_t key_length = crypto_cipher_key_size(alg, CRYPTO_CIPHER_MODE_XTS);
        for (size_t byte = 0; byte < key_length; byte++)
            key[byte] = (uint8_t)(byte * 7 + 3);
        crypto_cipher *cipher = crypto_cipher_new(alg, CRYPTO_CIPHER_MODE_XTS, key, key_length, &err);
        assert_non_null(cipher);
        memset(a, 0x5a, sizeof(a));
        memset(b, 0x5a, sizeof(b));
        assert_int_equal(crypto_cipher_encrypt(cipher, iv_a, 16, a, sizeof(a), &err), 0);
        assert_int_equal(crypto_cipher_encrypt(cipher, iv_b, 16, b, sizeof(b), &err), 0);
        assert_memory_not_equal(a, b, sizeof(a));
        assert_int_equal(crypto_cipher_decrypt(cipher, iv_a, 16, a, sizeof(a), &err), 0);
        for (size_t byte = 0; byte < sizeof(a); byte++)
            assert_int_equal(a[byte], 0x5a);
        crypto_cipher_free(cipher);
    }
}

static void test_cipher_refusals(void **state)
{
    error *err = NULL;
    uint8_t key[64] = {0};
    (void)state;
    assert_false(crypto_cipher_supports(CRYPTO_CIPHER_CAST5_128, CRYPTO_CIPHER_MODE_XTS));
    assert_null(crypto_cipher_new(CRYPTO_CIPHER_CAST5_128, CRYPTO_CIPHER_MODE_XTS, key, 32, &err));
    assert_string_equal(error_message(err), "Unsupported cipher algorithm cast5-128 with xts mode");
    error_free(err);
    err = NULL;
    assert_null(crypto_cipher_new(CRYPTO_CIPHER_AES_256, CRYPTO_CIPHER_MODE_CBC, key, 16, &err));
    assert_non_null(err);
    error_free(err);
    err = NULL;
    crypto_cipher *cipher = crypto_cipher_new(CRYPTO_CIPHER_AES_128, CRYPTO_CIPHER_MODE_CBC, key, 16, &err);
    uint8_t buf[20] = {0}, iv[16] = {0};
    assert_int_equal(crypto_cipher_encrypt(cipher, iv, 16, buf, 20, &err), -1);
    error_free(err);
    crypto_cipher_free(cipher);
}

static void test_pbkdf2_vectors(void **state)
{
    error *err = NULL;
    uint8_t out[32], expected[32];
    (void)state;
    /* RFC 6070. */
    static const struct {
        uint64_t iterations;
        const char *output;
    } sha1[] = {{1, "0c60c80f961f0e71f3a9b524af6012062fe037a6"},
                {2, "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957"},
                {4096, "4b007901b765489abead49d926f721d065a429c1"}};
    for (size_t index = 0; index < 3; index++) {
        hex_decode(sha1[index].output, expected);
        assert_int_equal(crypto_pbkdf2_derive(CRYPTO_HASH_SHA1, (const uint8_t *)"password", 8,
                                              (const uint8_t *)"salt", 4, sha1[index].iterations, out, 20, &err),
                         0);
        assert_memory_equal(out, expected, 20);
    }
    hex_decode("120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b", expected);
    assert_int_equal(crypto_pbkdf2_derive(CRYPTO_HASH_SHA256, (const uint8_t *)"password", 8, (const uint8_t *)"salt",
                                          4, 1, out, 32, &err),
                     0);
    assert_memory_equal(out, expected, 32);
    assert_int_equal(crypto_pbkdf2_derive(CRYPTO_HASH_SHA256, (const uint8_t *)"p", 1, (const uint8_t *)"s", 1, 0, out,
                                          32, &err),
                     -1);
    error_free(err);
}

static void test_ivgen_plain_and_benbi(void **state)
{
    error *err = NULL;
    uint8_t iv[16], expected[16];
    (void)state;
    crypto_ivgen *plain = crypto_ivgen_new(CRYPTO_IVGEN_PLAIN, CRYPTO_CIPHER_AES_128, CRYPTO_HASH_SHA256, NULL, 0, &err);
    assert_int_equal(crypto_ivgen_calculate(plain, 0x1122334455667788ull, iv, 16, &err), 0);
    hex_decode("88776655000000000000000000000000", expected);
    assert_memory_equal(iv, expected, 16);
    crypto_ivgen_free(plain);
    crypto_ivgen *plain64 =
        crypto_ivgen_new(CRYPTO_IVGEN_PLAIN64, CRYPTO_CIPHER_AES_128, CRYPTO_HASH_SHA256, NULL, 0, &err);
    assert_int_equal(crypto_ivgen_calculate(plain64, 0x1122334455667788ull, iv, 16, &err), 0);
    hex_decode("88776655443322110000000000000000", expected);
    assert_memory_equal(iv, expected, 16);
    crypto_ivgen_free(plain64);
    /* benbi: 16-byte blocks, 32 of them a sector, counted from 1. */
    crypto_ivgen *benbi = crypto_ivgen_new(CRYPTO_IVGEN_BENBI, CRYPTO_CIPHER_AES_128, CRYPTO_HASH_SHA256, NULL, 0, &err);
    assert_int_equal(crypto_ivgen_calculate(benbi, 3, iv, 16, &err), 0);
    hex_decode("00000000000000000000000000000061", expected);
    assert_memory_equal(iv, expected, 16);
    crypto_ivgen_free(benbi);
}

/* essiv: the IV is the plain64 IV encrypted (ECB) under the hash of the key. */
static void test_ivgen_essiv(void **state)
{
    error *err = NULL;
    uint8_t key[16], salt[32], iv[16], expected[16] = {0};
    (void)state;
    memset(key, 0xab, sizeof(key));
    crypto_ivgen *essiv = crypto_ivgen_new(CRYPTO_IVGEN_ESSIV, CRYPTO_CIPHER_AES_256, CRYPTO_HASH_SHA256, key,
                                           sizeof(key), &err);
    assert_non_null(essiv);
    assert_int_equal(crypto_ivgen_calculate(essiv, 5, iv, 16, &err), 0);
    assert_int_equal(crypto_hash_digest(CRYPTO_HASH_SHA256, key, sizeof(key), salt), 0);
    crypto_cipher *ecb = crypto_cipher_new(CRYPTO_CIPHER_AES_256, CRYPTO_CIPHER_MODE_ECB, salt, 32, &err);
    expected[0] = 5;
    assert_int_equal(crypto_cipher_encrypt(ecb, NULL, 0, expected, 16, &err), 0);
    assert_memory_equal(iv, expected, 16);
    crypto_cipher_free(ecb);
    crypto_ivgen_free(essiv);
    assert_null(crypto_ivgen_new(CRYPTO_IVGEN_ESSIV, CRYPTO_CIPHER_AES_128, CRYPTO_HASH_SHA256, key, 16, &err));
    assert_string_equal(error_message(err), "Cipher aes-128 not supported with essiv");
    error_free(err);
}

/* Split then merge gives the material back; every stripe matters; two splits differ. */
static void test_afsplit_round_trip(void **state)
{
    enum { BLOCK = 32, STRIPES = 4000 };
    error *err = NULL;
    uint8_t material[BLOCK], merged[BLOCK];
    uint8_t *first = malloc((size_t)BLOCK * STRIPES);
    uint8_t *second = malloc((size_t)BLOCK * STRIPES);
    (void)state;
    for (int index = 0; index < BLOCK; index++)
        material[index] = (uint8_t)(index * 13);
    assert_int_equal(crypto_afsplit_split(CRYPTO_HASH_SHA1, BLOCK, STRIPES, material, first, &err), 0);
    assert_int_equal(crypto_afsplit_split(CRYPTO_HASH_SHA1, BLOCK, STRIPES, material, second, &err), 0);
    assert_memory_not_equal(first, second, (size_t)BLOCK * STRIPES);
    assert_int_equal(crypto_afsplit_merge(CRYPTO_HASH_SHA1, BLOCK, STRIPES, first, merged, &err), 0);
    assert_memory_equal(merged, material, BLOCK);
    assert_int_equal(crypto_afsplit_merge(CRYPTO_HASH_SHA1, BLOCK, STRIPES, second, merged, &err), 0);
    assert_memory_equal(merged, material, BLOCK);
    first[BLOCK * 17] ^= 1;
    assert_int_equal(crypto_afsplit_merge(CRYPTO_HASH_SHA1, BLOCK, STRIPES, first, merged, &err), 0);
    assert_memory_not_equal(merged, material, BLOCK);
    free(first);
    free(second);
}

/* The diffusion on a single stripe pair by hand: with 2 stripes and sha256 over a 32-byte block,
 * material = stripe1 XOR H(be32(0) || stripe0). */
static void test_afsplit_diffusion_by_hand(void **state)
{
    error *err = NULL;
    uint8_t stripes[64], material[32], input[36], digest[32];
    (void)state;
    for (int index = 0; index < 64; index++)
        stripes[index] = (uint8_t)(index + 1);
    assert_int_equal(crypto_afsplit_merge(CRYPTO_HASH_SHA256, 32, 2, stripes, material, &err), 0);
    memset(input, 0, 4);
    memcpy(input + 4, stripes, 32);
    assert_int_equal(crypto_hash_digest(CRYPTO_HASH_SHA256, input, 36, digest), 0);
    for (int index = 0; index < 32; index++)
        assert_int_equal(material[index], (uint8_t)(digest[index] ^ stripes[32 + index]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_vectors),          cmocka_unit_test(test_cipher_block_vectors),
        cmocka_unit_test(test_cipher_mode_vectors),   cmocka_unit_test(test_cipher_nettle_xts_round_trip),
        cmocka_unit_test(test_cipher_refusals),       cmocka_unit_test(test_pbkdf2_vectors),
        cmocka_unit_test(test_ivgen_plain_and_benbi), cmocka_unit_test(test_ivgen_essiv),
        cmocka_unit_test(test_afsplit_round_trip),    cmocka_unit_test(test_afsplit_diffusion_by_hand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
