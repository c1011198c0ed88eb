/* crypto_hash.c — the message digests, by name and by value, through OpenSSL's EVP interface
 * (spec/crypto.md §Hashes). */
#include "crypto_hash.h"

#include <string.h>

#include <openssl/evp.h>

/* One algorithm: qemu's name for it, OpenSSL's, and its digest size. */
typedef struct crypto_hash_entry {
    const char *name;
    const char *openssl_name;
    size_t digest_size;
} crypto_hash_entry;

static const crypto_hash_entry crypto_hash_table[CRYPTO_HASH_COUNT] = {
    [CRYPTO_HASH_MD5] = {"md5", "MD5", 16},
    [CRYPTO_HASH_SHA1] = {"sha1", "SHA1", 20},
    [CRYPTO_HASH_SHA224] = {"sha224", "SHA224", 28},
    [CRYPTO_HASH_SHA256] = {"sha256", "SHA256", 32},
    [CRYPTO_HASH_SHA384] = {"sha384", "SHA384", 48},
    [CRYPTO_HASH_SHA512] = {"sha512", "SHA512", 64},
    [CRYPTO_HASH_RIPEMD160] = {"ripemd160", "RIPEMD160", 20},
};

bool crypto_hash_alg_parse(const char *name, crypto_hash_alg *alg)
{
    for (int index = 0; index < CRYPTO_HASH_COUNT; index++) {
        if (strcmp(crypto_hash_table[index].name, name) == 0) {
            *alg = (crypto_hash_alg)index;
            return true;
        }
    }
    return false;
}

const char *crypto_hash_alg_name(crypto_hash_alg alg)
{
    return crypto_hash_table[alg].name;
}

size_t crypto_hash_digest_size(crypto_hash_alg alg)
{
    return crypto_hash_table[alg].digest_size;
}

const void *crypto_hash_openssl_md(crypto_hash_alg alg)
{
    return EVP_get_digestbyname(crypto_hash_table[alg].openssl_name);
}

int crypto_hash_digest(crypto_hash_alg alg, const uint8_t *data, size_t length, uint8_t *digest)
{
    const EVP_MD *md = crypto_hash_openssl_md(alg);
    unsigned int written = 0;

    if (md == NULL || EVP_Digest(data, length, digest, &written, md, NULL) != 1)
        return -1;
    return written == crypto_hash_table[alg].digest_size ? 0 : -1;
}
