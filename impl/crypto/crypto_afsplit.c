/* crypto_afsplit.c — the anti-forensic splitter of LUKS1 (spec/crypto.md §Anti-forensic splitter). */
#include "crypto_afsplit.h"
#include "crypto_random.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../util/endian.h"

void crypto_memory_wipe(void *buf, size_t length)
{
    OPENSSL_cleanse(buf, length);
}

/* Replaces block by its diffusion: each digest-sized piece j (the last one possibly shorter) by the
 * hash of the 32-bit big-endian j followed by the piece, cut to the piece's length. Returns 0, or -1
 * with *errp set. */
static int crypto_afsplit_diffuse(crypto_hash_alg hash, uint8_t *block, size_t block_length, error **errp)
{
    size_t digest_size = crypto_hash_digest_size(hash);
    uint8_t input[4 + CRYPTO_HASH_MAX_SIZE];
    uint8_t digest[CRYPTO_HASH_MAX_SIZE];
    uint32_t piece = 0;

    for (size_t offset = 0; offset < block_length; offset += digest_size, piece++) {
        size_t length = block_length - offset < digest_size ? block_length - offset : digest_size;
        endian_store_be32(input, piece);
        memcpy(input + 4, block + offset, length);
        if (crypto_hash_digest(hash, input, 4 + length, digest) < 0)
            return error_set(errp, "Hash algorithm %s not supported", crypto_hash_alg_name(hash));
        memcpy(block + offset, digest, length);
    }
    crypto_memory_wipe(input, sizeof(input));
    crypto_memory_wipe(digest, sizeof(digest));
    return 0;
}

/* XORs length bytes of source into target. */
static void crypto_afsplit_xor(uint8_t *target, const uint8_t *source, size_t length)
{
    for (size_t index = 0; index < length; index++)
        target[index] ^= source[index];
}

/* The common walk: accumulates the first stripes - 1 blocks of stripes_data into a diffused sum,
 * leaving it in sum (block_length bytes). Returns 0, or -1 with *errp set. */
static int crypto_afsplit_accumulate(crypto_hash_alg hash, size_t block_length, uint32_t stripes,
                                     const uint8_t *stripes_data, uint8_t *sum, error **errp)
{
    memset(sum, 0, block_length);
    for (uint32_t stripe = 0; stripe + 1 < stripes; stripe++) {
        crypto_afsplit_xor(sum, stripes_data + (size_t)stripe * block_length, block_length);
        if (crypto_afsplit_diffuse(hash, sum, block_length, errp) < 0)
            return -1;
    }
    return 0;
}

int crypto_afsplit_split(crypto_hash_alg hash, size_t block_length, uint32_t stripes, const uint8_t *material,
                         uint8_t *output, error **errp)
{
    int result = -1;
    uint8_t *sum = NULL;

    if (stripes == 0 || block_length == 0)
        return error_set(errp, "Anti-forensic split needs at least one stripe");
    sum = malloc(block_length);
    if (sum == NULL)
        return error_set(errp, "Cannot allocate the anti-forensic stripes");
    size_t random_length = (size_t)(stripes - 1) * block_length;
    if (crypto_random_bytes(output, random_length, errp) < 0)
        goto cleanup;
    if (crypto_afsplit_accumulate(hash, block_length, stripes, output, sum, errp) < 0)
        goto cleanup;
    uint8_t *last = output + random_length;
    memcpy(last, material, block_length);
    crypto_afsplit_xor(last, sum, block_length);
    result = 0;
cleanup:
    crypto_memory_wipe(sum, block_length);
    free(sum);
    return result;
}

int crypto_afsplit_merge(crypto_hash_alg hash, size_t block_length, uint32_t stripes, const uint8_t *input,
                         uint8_t *material, error **errp)
{
    if (stripes == 0 || block_length == 0)
        return error_set(errp, "Anti-forensic merge needs at least one stripe");
    if (crypto_afsplit_accumulate(hash, block_length, stripes, input, material, errp) < 0)
        return -1;
    crypto_afsplit_xor(material, input + (size_t)(stripes - 1) * block_length, block_length);
    return 0;
}
