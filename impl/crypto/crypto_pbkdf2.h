/* crypto_pbkdf2.h — PBKDF2 over HMAC with any of the hashes, and the calibration that turns a
 * wanted time into an iteration count (spec/crypto.md §PBKDF2). */
#ifndef QIMG_CRYPTO_PBKDF2_H
#define QIMG_CRYPTO_PBKDF2_H

#include <stddef.h>
#include <stdint.h>

#include "crypto_hash.h"
#include "../util/error.h"

/* Derives output_length bytes into output from the password and salt with iterations rounds of
 * HMAC-hash (iterations at least 1, at most INT32_MAX). Returns 0, or -1 with *errp set. */
int crypto_pbkdf2_derive(crypto_hash_alg hash, const uint8_t *password, size_t password_length, const uint8_t *salt,
                         size_t salt_length, uint64_t iterations, uint8_t *output, size_t output_length,
                         error **errp);

/* Measures how many iterations of PBKDF2-hash deriving output_length bytes this thread runs in one
 * second of its CPU time (doubling a trial count until one trial takes at least half a second).
 * Returns the count (>= 1), or 0 with *errp set. */
uint64_t crypto_pbkdf2_iterations_per_second(crypto_hash_alg hash, size_t output_length, error **errp);

#endif
