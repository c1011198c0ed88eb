/* crypto_cipher.h — the block ciphers and modes qemu-img's encrypted images use: aes-128/192/256,
 * cast5-128, serpent-128/192/256, twofish-128/192/256 in ecb, cbc, xts and ctr; OpenSSL's libcrypto
 * where it has the combination, nettle for the rest (spec/crypto.md §Ciphers). No format is named here. */
#ifndef QIMG_CRYPTO_CIPHER_H
#define QIMG_CRYPTO_CIPHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"

typedef enum crypto_cipher_alg {
    CRYPTO_CIPHER_AES_128,
    CRYPTO_CIPHER_AES_192,
    CRYPTO_CIPHER_AES_256,
    CRYPTO_CIPHER_CAST5_128,
    CRYPTO_CIPHER_SERPENT_128,
    CRYPTO_CIPHER_SERPENT_192,
    CRYPTO_CIPHER_SERPENT_256,
    CRYPTO_CIPHER_TWOFISH_128,
    CRYPTO_CIPHER_TWOFISH_192,
    CRYPTO_CIPHER_TWOFISH_256,
    CRYPTO_CIPHER_ALG_COUNT,
} crypto_cipher_alg;

typedef enum crypto_cipher_mode {
    CRYPTO_CIPHER_MODE_ECB,
    CRYPTO_CIPHER_MODE_CBC,
    CRYPTO_CIPHER_MODE_XTS,
    CRYPTO_CIPHER_MODE_CTR,
    CRYPTO_CIPHER_MODE_COUNT,
} crypto_cipher_mode;

/* The largest block (16) and key (two 32-byte XTS halves) of any combination. */
#define CRYPTO_CIPHER_MAX_BLOCK_SIZE 16u
#define CRYPTO_CIPHER_MAX_KEY_SIZE 64u

/* Finds the algorithm qemu names name ("aes-256", "twofish-128"); false when none. */
bool crypto_cipher_alg_parse(const char *name, crypto_cipher_alg *alg);
const char *crypto_cipher_alg_name(crypto_cipher_alg alg);

/* Finds the mode qemu names name ("xts"); false when none. */
bool crypto_cipher_mode_parse(const char *name, crypto_cipher_mode *mode);
const char *crypto_cipher_mode_name(crypto_cipher_mode mode);

/* The key size of alg alone, in bytes (16, 24 or 32). */
size_t crypto_cipher_alg_key_size(crypto_cipher_alg alg);

/* The block size of alg in bytes (16; 8 for cast5). */
size_t crypto_cipher_alg_block_size(crypto_cipher_alg alg);

/* The key size a cipher of alg in mode takes: twice the algorithm's for xts. */
size_t crypto_cipher_key_size(crypto_cipher_alg alg, crypto_cipher_mode mode);

/* Whether the combination exists: xts needs a 16-byte block. */
bool crypto_cipher_supports(crypto_cipher_alg alg, crypto_cipher_mode mode);

typedef struct crypto_cipher crypto_cipher;

/* Makes a cipher of alg in mode keyed by key_length bytes at key (crypto_cipher_key_size of the
 * combination). Returns NULL with *errp set on an unsupported combination or a wrong key size. */
crypto_cipher *crypto_cipher_new(crypto_cipher_alg alg, crypto_cipher_mode mode, const uint8_t *key,
                                 size_t key_length, error **errp);

/* Encrypts length bytes of buf in place as one message starting from the IV iv (iv_length is the
 * block size; ignored for ecb): the CBC chain, the XTS tweak or the CTR counter begin anew with each
 * call. length is a multiple of the block size except in ctr mode. Returns 0, or -1 with *errp set. */
int crypto_cipher_encrypt(crypto_cipher *cipher, const uint8_t *iv, size_t iv_length, uint8_t *buf, size_t length,
                          error **errp);

/* The inverse of crypto_cipher_encrypt, with the same contract. */
int crypto_cipher_decrypt(crypto_cipher *cipher, const uint8_t *iv, size_t iv_length, uint8_t *buf, size_t length,
                          error **errp);

/* Wipes the key schedule and frees cipher; NULL is accepted. */
void crypto_cipher_free(crypto_cipher *cipher);

#endif
