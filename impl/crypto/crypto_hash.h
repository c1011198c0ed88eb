/* crypto_hash.h — the message digests qemu-img's encryption names (md5, sha1, sha224, sha256,
 * sha384, sha512, ripemd160), computed by OpenSSL's libcrypto (spec/crypto.md §Hashes). */
#ifndef QIMG_CRYPTO_HASH_H
#define QIMG_CRYPTO_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum crypto_hash_alg {
    CRYPTO_HASH_MD5,
    CRYPTO_HASH_SHA1,
    CRYPTO_HASH_SHA224,
    CRYPTO_HASH_SHA256,
    CRYPTO_HASH_SHA384,
    CRYPTO_HASH_SHA512,
    CRYPTO_HASH_RIPEMD160,
    CRYPTO_HASH_COUNT,
} crypto_hash_alg;

/* The longest digest any algorithm produces (sha512). */
#define CRYPTO_HASH_MAX_SIZE 64u

/* Finds the algorithm qemu names name ("sha256"); returns false when there is none. */
bool crypto_hash_alg_parse(const char *name, crypto_hash_alg *alg);

/* The name qemu prints for alg ("sha256"). */
const char *crypto_hash_alg_name(crypto_hash_alg alg);

/* The digest size of alg in bytes. */
size_t crypto_hash_digest_size(crypto_hash_alg alg);

/* Writes the digest of length bytes at data to digest (crypto_hash_digest_size(alg) bytes).
 * Returns 0, or -1 when the library refuses the algorithm. */
int crypto_hash_digest(crypto_hash_alg alg, const uint8_t *data, size_t length, uint8_t *digest);

/* The OpenSSL digest object for alg (an `const EVP_MD *`, typed void here so that callers need no
 * OpenSSL header); NULL when the library has none. */
const void *crypto_hash_openssl_md(crypto_hash_alg alg);

#endif
