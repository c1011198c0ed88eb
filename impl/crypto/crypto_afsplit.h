/* crypto_afsplit.h — the LUKS anti-forensic information splitter: key material spread over many
 * stripes joined by a hash diffusion, so that losing any stripe loses the key (spec/crypto.md
 * §Anti-forensic splitter). */
#ifndef QIMG_CRYPTO_AFSPLIT_H
#define QIMG_CRYPTO_AFSPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto_hash.h"
#include "../util/error.h"

/* Splits block_length bytes of material into stripes blocks of block_length bytes at output
 * (stripes * block_length bytes), stripes - 1 of them random. Returns 0, or -1 with *errp set. */
int crypto_afsplit_split(crypto_hash_alg hash, size_t block_length, uint32_t stripes, const uint8_t *material,
                         uint8_t *output, error **errp);

/* Joins stripes blocks at input back into block_length bytes of material. Returns 0, or -1 with
 * *errp set. */
int crypto_afsplit_merge(crypto_hash_alg hash, size_t block_length, uint32_t stripes, const uint8_t *input,
                         uint8_t *material, error **errp);

/* Overwrites length bytes of key material at buf so that the compiler cannot drop the writes. */
void crypto_memory_wipe(void *buf, size_t length);

#endif
