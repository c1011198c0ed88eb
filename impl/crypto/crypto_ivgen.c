/* crypto_ivgen.c — the per-sector IV generators (spec/crypto.md §IV generators). */
#include "crypto_ivgen.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../util/endian.h"

static const char *const crypto_ivgen_names[CRYPTO_IVGEN_ALG_COUNT] = {
    [CRYPTO_IVGEN_PLAIN] = "plain",
    [CRYPTO_IVGEN_PLAIN64] = "plain64",
    [CRYPTO_IVGEN_ESSIV] = "essiv",
    [CRYPTO_IVGEN_BENBI] = "benbi",
};

struct crypto_ivgen {
    crypto_ivgen_alg alg;
    size_t block_size;      /* benbi: the data cipher's block */
    crypto_cipher *essiv;   /* essiv: ECB under hash(key) */
};

bool crypto_ivgen_alg_parse(const char *name, crypto_ivgen_alg *alg)
{
    for (int index = 0; index < CRYPTO_IVGEN_ALG_COUNT; index++) {
        if (strcmp(crypto_ivgen_names[index], name) == 0) {
            *alg = (crypto_ivgen_alg)index;
            return true;
        }
    }
    return false;
}

const char *crypto_ivgen_alg_name(crypto_ivgen_alg alg)
{
    return crypto_ivgen_names[alg];
}

/* Keys the essiv cipher of ivgen with the hash of key. Returns 0, or -1 with *errp set. */
static int crypto_ivgen_essiv_setup(crypto_ivgen *ivgen, crypto_cipher_alg cipher_alg, crypto_hash_alg hash_alg,
                                    const uint8_t *key, size_t key_length, error **errp)
{
    uint8_t salt[CRYPTO_HASH_MAX_SIZE];
    size_t salt_length = crypto_hash_digest_size(hash_alg);

    if (crypto_cipher_alg_key_size(cipher_alg) != salt_length)
        return error_set(errp, "Cipher %s not supported with essiv", crypto_cipher_alg_name(cipher_alg));
    if (crypto_hash_digest(hash_alg, key, key_length, salt) < 0)
        return error_set(errp, "Hash algorithm %s not supported", crypto_hash_alg_name(hash_alg));
    ivgen->essiv = crypto_cipher_new(cipher_alg, CRYPTO_CIPHER_MODE_ECB, salt, salt_length, errp);
    OPENSSL_cleanse(salt, sizeof(salt));
    return ivgen->essiv == NULL ? -1 : 0;
}

crypto_ivgen *crypto_ivgen_new(crypto_ivgen_alg alg, crypto_cipher_alg cipher_alg, crypto_hash_alg hash_alg,
                               const uint8_t *key, size_t key_length, error **errp)
{
    crypto_ivgen *ivgen = calloc(1, sizeof(*ivgen));
    if (ivgen == NULL) {
        error_set(errp, "Cannot allocate an IV generator");
        return NULL;
    }
    ivgen->alg = alg;
    ivgen->block_size = crypto_cipher_alg_block_size(cipher_alg);
    if (alg == CRYPTO_IVGEN_ESSIV && crypto_ivgen_essiv_setup(ivgen, cipher_alg, hash_alg, key, key_length, errp) < 0) {
        crypto_ivgen_free(ivgen);
        return NULL;
    }
    return ivgen;
}

/* log2 of a power of two. */
static unsigned crypto_ivgen_log2(size_t value)
{
    unsigned shift = 0;
    while ((value >> shift) > 1)
        shift++;
    return shift;
}

int crypto_ivgen_calculate(crypto_ivgen *ivgen, uint64_t sector, uint8_t *iv, size_t iv_length, error **errp)
{
    uint8_t number[8];

    memset(iv, 0, iv_length);
    switch (ivgen->alg) {
    case CRYPTO_IVGEN_PLAIN:
        endian_store_le32(number, (uint32_t)sector);
        memcpy(iv, number, iv_length < 4 ? iv_length : 4);
        return 0;
    case CRYPTO_IVGEN_PLAIN64:
        endian_store_le64(number, sector);
        memcpy(iv, number, iv_length < 8 ? iv_length : 8);
        return 0;
    case CRYPTO_IVGEN_BENBI:
        if (iv_length < 8)
            return error_set(errp, "IV length %zu too short for benbi", iv_length);
        /* The count of narrow (cipher) blocks before the sector, counted from 1, big endian. */
        endian_store_be64(iv + iv_length - 8, (sector << (9 - crypto_ivgen_log2(ivgen->block_size))) + 1);
        return 0;
    default:
        endian_store_le64(number, sector);
        memcpy(iv, number, iv_length < 8 ? iv_length : 8);
        return crypto_cipher_encrypt(ivgen->essiv, NULL, 0, iv, iv_length, errp);
    }
}

void crypto_ivgen_free(crypto_ivgen *ivgen)
{
    if (ivgen == NULL)
        return;
    crypto_cipher_free(ivgen->essiv);
    OPENSSL_cleanse(ivgen, sizeof(*ivgen));
    free(ivgen);
}
