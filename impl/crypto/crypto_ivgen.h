/* crypto_ivgen.h — the per-sector IV generators of disk encryption: plain, plain64, essiv (the
 * sector number encrypted under the hash of the key) and benbi (spec/crypto.md §IV generators). */
#ifndef QIMG_CRYPTO_IVGEN_H
#define QIMG_CRYPTO_IVGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto_cipher.h"
#include "crypto_hash.h"
#include "../util/error.h"

typedef enum crypto_ivgen_alg {
    CRYPTO_IVGEN_PLAIN,
    CRYPTO_IVGEN_PLAIN64,
    CRYPTO_IVGEN_ESSIV,
    CRYPTO_IVGEN_BENBI,
    CRYPTO_IVGEN_ALG_COUNT,
} crypto_ivgen_alg;

/* Finds the generator qemu names name ("plain64"); false when none. */
bool crypto_ivgen_alg_parse(const char *name, crypto_ivgen_alg *alg);
const char *crypto_ivgen_alg_name(crypto_ivgen_alg alg);

typedef struct crypto_ivgen crypto_ivgen;

/* Makes a generator. For essiv, cipher_alg is the cipher that encrypts the sector number (its key
 * size must be hash_alg's digest size) and key/key_length the data key whose hash keys it; benbi
 * uses cipher_alg's block size; plain and plain64 ignore every other argument. Returns NULL with
 * *errp set when essiv's cipher and hash do not fit. */
crypto_ivgen *crypto_ivgen_new(crypto_ivgen_alg alg, crypto_cipher_alg cipher_alg, crypto_hash_alg hash_alg,
                               const uint8_t *key, size_t key_length, error **errp);

/* Writes the IV of sector (iv_length bytes) to iv. Returns 0, or -1 with *errp set. */
int crypto_ivgen_calculate(crypto_ivgen *ivgen, uint64_t sector, uint8_t *iv, size_t iv_length, error **errp);

/* Wipes and frees ivgen; NULL is accepted. */
void crypto_ivgen_free(crypto_ivgen *ivgen);

#endif
