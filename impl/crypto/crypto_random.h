/* crypto_random.h — random bytes from OpenSSL's CSPRNG, for keys, salts and wiping key material
 * (spec/crypto.md §Random bytes). */
#ifndef QIMG_CRYPTO_RANDOM_H
#define QIMG_CRYPTO_RANDOM_H

#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"

/* Fills length bytes at out with random bytes. Returns 0, or -1 with *errp set to qemu's "Unable to
 * read random bytes". */
int crypto_random_bytes(uint8_t *out, size_t length, error **errp);

#endif
