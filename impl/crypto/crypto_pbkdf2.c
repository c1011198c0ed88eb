/* crypto_pbkdf2.c — PBKDF2 by OpenSSL's PKCS5_PBKDF2_HMAC, and its calibration against the thread's
 * CPU clock (spec/crypto.md §PBKDF2). */
#include "crypto_pbkdf2.h"

#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

int crypto_pbkdf2_derive(crypto_hash_alg hash, const uint8_t *password, size_t password_length, const uint8_t *salt,
                         size_t salt_length, uint64_t iterations, uint8_t *output, size_t output_length,
                         error **errp)
{
    const EVP_MD *md = crypto_hash_openssl_md(hash);

    if (md == NULL)
        return error_set(errp, "Hash algorithm %s not supported", crypto_hash_alg_name(hash));
    if (iterations == 0 || iterations > INT32_MAX || password_length > INT32_MAX || salt_length > INT32_MAX ||
        output_length > INT32_MAX)
        return error_set(errp, "PBKDF iterations %llu out of range", (unsigned long long)iterations);
    if (PKCS5_PBKDF2_HMAC((const char *)password, (int)password_length, salt, (int)salt_length, (int)iterations, md,
                          (int)output_length, output) != 1)
        return error_set(errp, "Cannot derive password");
    return 0;
}

/* The thread's CPU time in milliseconds. */
static uint64_t crypto_pbkdf2_thread_milliseconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

uint64_t crypto_pbkdf2_iterations_per_second(crypto_hash_alg hash, size_t output_length, error **errp)
{
    static const uint8_t password[] = "iteration calibration";
    uint8_t salt[32] = {0};
    uint8_t output[CRYPTO_HASH_MAX_SIZE * 4];
    uint64_t iterations = 1u << 15;

    if (output_length > sizeof(output))
        output_length = sizeof(output);
    for (;;) {
        uint64_t start = crypto_pbkdf2_thread_milliseconds();
        if (crypto_pbkdf2_derive(hash, password, sizeof(password) - 1, salt, sizeof(salt), iterations, output,
                                 output_length, errp) < 0)
            return 0;
        uint64_t elapsed = crypto_pbkdf2_thread_milliseconds() - start;
        if (elapsed >= 500 || iterations >= (1u << 30)) {
            OPENSSL_cleanse(output, sizeof(output));
            return elapsed == 0 ? iterations : iterations * 1000u / elapsed;
        }
        iterations <<= 1;
    }
}
