/* crypto_cipher.c — block ciphers in ecb, cbc, xts and ctr: AES through OpenSSL's EVP interface where
 * OpenSSL has the combination, every other one (aes-192-xts, cast5, serpent, twofish) through
 * nettle's ciphers and its generic modes (spec/crypto.md §Ciphers). */
#include "crypto_cipher.h"

#include <stdlib.h>
#include <string.h>

#include <nettle/aes.h>
#include <nettle/cast128.h>
#include <nettle/cbc.h>
#include <nettle/ctr.h>
#include <nettle/serpent.h>
#include <nettle/twofish.h>
#include <nettle/xts.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

/* One algorithm: qemu's name, its key and block sizes. */
typedef struct crypto_cipher_alg_entry {
    const char *name;
    size_t key_size;
    size_t block_size;
} crypto_cipher_alg_entry;

static const crypto_cipher_alg_entry crypto_cipher_alg_table[CRYPTO_CIPHER_ALG_COUNT] = {
    [CRYPTO_CIPHER_AES_128] = {"aes-128", 16, 16},         [CRYPTO_CIPHER_AES_192] = {"aes-192", 24, 16},
    [CRYPTO_CIPHER_AES_256] = {"aes-256", 32, 16},         [CRYPTO_CIPHER_CAST5_128] = {"cast5-128", 16, 8},
    [CRYPTO_CIPHER_SERPENT_128] = {"serpent-128", 16, 16}, [CRYPTO_CIPHER_SERPENT_192] = {"serpent-192", 24, 16},
    [CRYPTO_CIPHER_SERPENT_256] = {"serpent-256", 32, 16}, [CRYPTO_CIPHER_TWOFISH_128] = {"twofish-128", 16, 16},
    [CRYPTO_CIPHER_TWOFISH_192] = {"twofish-192", 24, 16}, [CRYPTO_CIPHER_TWOFISH_256] = {"twofish-256", 32, 16},
};

static const char *const crypto_cipher_mode_names[CRYPTO_CIPHER_MODE_COUNT] = {
    [CRYPTO_CIPHER_MODE_ECB] = "ecb",
    [CRYPTO_CIPHER_MODE_CBC] = "cbc",
    [CRYPTO_CIPHER_MODE_XTS] = "xts",
    [CRYPTO_CIPHER_MODE_CTR] = "ctr",
};

/* A nettle key schedule of any of the algorithms nettle serves here. */
typedef union crypto_cipher_nettle_key {
    struct aes128_ctx aes128;
    struct aes192_ctx aes192;
    struct aes256_ctx aes256;
    struct cast128_ctx cast128;
    struct serpent_ctx serpent;
    struct twofish_ctx twofish;
} crypto_cipher_nettle_key;

struct crypto_cipher {
    crypto_cipher_alg alg;
    crypto_cipher_mode mode;
    size_t block_size;
    /* OpenSSL: one context a direction, keyed once; each call only resets the IV. */
    EVP_CIPHER_CTX *openssl_encrypt;
    EVP_CIPHER_CTX *openssl_decrypt;
    /* nettle: the data key both ways (AES has separate schedules) and the XTS tweak key. */
    nettle_cipher_func *nettle_encrypt_function;
    nettle_cipher_func *nettle_decrypt_function;
    crypto_cipher_nettle_key nettle_encrypt_key;
    crypto_cipher_nettle_key nettle_decrypt_key;
    crypto_cipher_nettle_key nettle_tweak_key;
};

bool crypto_cipher_alg_parse(const char *name, crypto_cipher_alg *alg)
{
    for (int index = 0; index < CRYPTO_CIPHER_ALG_COUNT; index++) {
        if (strcmp(crypto_cipher_alg_table[index].name, name) == 0) {
            *alg = (crypto_cipher_alg)index;
            return true;
        }
    }
    return false;
}

const char *crypto_cipher_alg_name(crypto_cipher_alg alg)
{
    return crypto_cipher_alg_table[alg].name;
}

bool crypto_cipher_mode_parse(const char *name, crypto_cipher_mode *mode)
{
    for (int index = 0; index < CRYPTO_CIPHER_MODE_COUNT; index++) {
        if (strcmp(crypto_cipher_mode_names[index], name) == 0) {
            *mode = (crypto_cipher_mode)index;
            return true;
        }
    }
    return false;
}

const char *crypto_cipher_mode_name(crypto_cipher_mode mode)
{
    return crypto_cipher_mode_names[mode];
}

size_t crypto_cipher_alg_key_size(crypto_cipher_alg alg)
{
    return crypto_cipher_alg_table[alg].key_size;
}

size_t crypto_cipher_alg_block_size(crypto_cipher_alg alg)
{
    return crypto_cipher_alg_table[alg].block_size;
}

size_t crypto_cipher_key_size(crypto_cipher_alg alg, crypto_cipher_mode mode)
{
    size_t size = crypto_cipher_alg_key_size(alg);
    return mode == CRYPTO_CIPHER_MODE_XTS ? 2 * size : size;
}

bool crypto_cipher_supports(crypto_cipher_alg alg, crypto_cipher_mode mode)
{
    return mode != CRYPTO_CIPHER_MODE_XTS || crypto_cipher_alg_block_size(alg) == 16;
}

/* The OpenSSL cipher for the combination, or NULL when OpenSSL's default provider lacks it
 * (everything but AES, and AES-192 in xts). */
static const EVP_CIPHER *crypto_cipher_openssl_find(crypto_cipher_alg alg, crypto_cipher_mode mode)
{
    static const char *const names[3][CRYPTO_CIPHER_MODE_COUNT] = {
        {"AES-128-ECB", "AES-128-CBC", "AES-128-XTS", "AES-128-CTR"},
        {"AES-192-ECB", "AES-192-CBC", NULL, "AES-192-CTR"},
        {"AES-256-ECB", "AES-256-CBC", "AES-256-XTS", "AES-256-CTR"},
    };
    if (alg > CRYPTO_CIPHER_AES_256 || names[alg][mode] == NULL)
        return NULL;
    return EVP_get_cipherbyname(names[alg][mode]);
}

/* Keys one OpenSSL context for a direction; returns it, or NULL. */
static EVP_CIPHER_CTX *crypto_cipher_openssl_context_new(const EVP_CIPHER *evp, const uint8_t *key, int encrypt)
{
    EVP_CIPHER_CTX *context = EVP_CIPHER_CTX_new();
    if (context == NULL)
        return NULL;
    if (EVP_CipherInit_ex(context, evp, NULL, key, NULL, encrypt) != 1 || EVP_CIPHER_CTX_set_padding(context, 0) != 1) {
        EVP_CIPHER_CTX_free(context);
        return NULL;
    }
    return context;
}

/* The nettle block functions, each with nettle_cipher_func's exact type. */
static void crypto_cipher_aes128_encrypt(const void *key, size_t length, uint8_t *dst, const uint8_t *src)
{
    aes128_encrypt(key, length, dst, src);
}
static void crypto_cipher_aes128_decrypt(const void *key, size_t length, uint8_t *dst, const uint8_t *src)
{
    aes128_decrypt(key, length, dst, src);
}
static void crypto_cipher_aes192_encrypt(const void *key, size_t length, uint8_t *dst, const uint8_t *src)
{
    aes192_encrypt(key, length, dst, src);
}
static void crypto_cipher_aes192_decrypt(const void *key, size_t length, uint8_t *dst, const uint8_t *src)
{
    aes192_decrypt(key, length, dst, src);
}
static void crypto_cipher_aes256_encrypt(const void *key, size_t length, uint8_t *dst, const uint8_t *src)
{
    aes256_encrypt(key, length, dst, src);
}
static void crypto_cipher_aes256_decrypt(const void *key, size_t length, uint8_t *dst, const uint8_t *src)
{
    aes256_decrypt(key, length, dst, src);
}
static void crypto_cipher_cast128_encrypt(const void *key, size_t length, uint8_t *dst, const uint8_t *src)
{
    cast128_encrypt(key, length, dst, src);
}
static void crypto_cipher_cast128_decrypt(const void *key, size_t length, uint8_t *dst, const uint8_t *src)
{
    cast128_decrypt(key, length, dst, src);
}
static void crypto_cipher_serpent_encrypt(const void *key, size_t length, uint8_t *dst, const uint8_t *src)
{
    serpent_encrypt(key, length, dst, src);
}
static void crypto_cipher_serpent_decrypt(const void *key, size_t length, uint8_t *dst, const uint8_t *src)
{
    serpent_decrypt(key, length, dst, src);
}
static void crypto_cipher_twofish_encrypt(const void *key, size_t length, uint8_t *dst, const uint8_t *src)
{
    twofish_encrypt(key, length, dst, src);
}
static void crypto_cipher_twofish_decrypt(const void *key, size_t length, uint8_t *dst, const uint8_t *src)
{
    twofish_decrypt(key, length, dst, src);
}

/* Builds the nettle key schedules of alg from key (the algorithm's key size) into the encrypting
 * and decrypting schedules, and sets the block functions. */
static void crypto_cipher_nettle_schedule(crypto_cipher *cipher, const uint8_t *key, crypto_cipher_nettle_key *encrypt,
                                          crypto_cipher_nettle_key *decrypt)
{
    size_t size = crypto_cipher_alg_key_size(cipher->alg);

    switch (cipher->alg) {
    case CRYPTO_CIPHER_AES_128:
        aes128_set_encrypt_key(&encrypt->aes128, key);
        aes128_set_decrypt_key(&decrypt->aes128, key);
        cipher->nettle_encrypt_function = crypto_cipher_aes128_encrypt;
        cipher->nettle_decrypt_function = crypto_cipher_aes128_decrypt;
        break;
    case CRYPTO_CIPHER_AES_192:
        aes192_set_encrypt_key(&encrypt->aes192, key);
        aes192_set_decrypt_key(&decrypt->aes192, key);
        cipher->nettle_encrypt_function = crypto_cipher_aes192_encrypt;
        cipher->nettle_decrypt_function = crypto_cipher_aes192_decrypt;
        break;
    case CRYPTO_CIPHER_AES_256:
        aes256_set_encrypt_key(&encrypt->aes256, key);
        aes256_set_decrypt_key(&decrypt->aes256, key);
        cipher->nettle_encrypt_function = crypto_cipher_aes256_encrypt;
        cipher->nettle_decrypt_function = crypto_cipher_aes256_decrypt;
        break;
    case CRYPTO_CIPHER_CAST5_128:
        cast5_set_key(&encrypt->cast128, size, key);
        decrypt->cast128 = encrypt->cast128;
        cipher->nettle_encrypt_function = crypto_cipher_cast128_encrypt;
        cipher->nettle_decrypt_function = crypto_cipher_cast128_decrypt;
        break;
    case CRYPTO_CIPHER_SERPENT_128:
    case CRYPTO_CIPHER_SERPENT_192:
    case CRYPTO_CIPHER_SERPENT_256:
        serpent_set_key(&encrypt->serpent, size, key);
        decrypt->serpent = encrypt->serpent;
        cipher->nettle_encrypt_function = crypto_cipher_serpent_encrypt;
        cipher->nettle_decrypt_function = crypto_cipher_serpent_decrypt;
        break;
    default:
        twofish_set_key(&encrypt->twofish, size, key);
        decrypt->twofish = encrypt->twofish;
        cipher->nettle_encrypt_function = crypto_cipher_twofish_encrypt;
        cipher->nettle_decrypt_function = crypto_cipher_twofish_decrypt;
        break;
    }
}

crypto_cipher *crypto_cipher_new(crypto_cipher_alg alg, crypto_cipher_mode mode, const uint8_t *key,
                                 size_t key_length, error **errp)
{
    if (!crypto_cipher_supports(alg, mode)) {
        error_set(errp, "Unsupported cipher algorithm %s with %s mode", crypto_cipher_alg_name(alg),
                  crypto_cipher_mode_name(mode));
        return NULL;
    }
    if (key_length != crypto_cipher_key_size(alg, mode)) {
        error_set(errp, "Cipher key length %zu should be %zu", key_length, crypto_cipher_key_size(alg, mode));
        return NULL;
    }
    crypto_cipher *cipher = calloc(1, sizeof(*cipher));
    if (cipher == NULL) {
        error_set(errp, "Cannot allocate a cipher");
        return NULL;
    }
    cipher->alg = alg;
    cipher->mode = mode;
    cipher->block_size = crypto_cipher_alg_block_size(alg);
    const EVP_CIPHER *evp = crypto_cipher_openssl_find(alg, mode);
    if (evp != NULL) {
        cipher->openssl_encrypt = crypto_cipher_openssl_context_new(evp, key, 1);
        cipher->openssl_decrypt = crypto_cipher_openssl_context_new(evp, key, 0);
        if (cipher->openssl_encrypt == NULL || cipher->openssl_decrypt == NULL) {
            crypto_cipher_free(cipher);
            error_set(errp, "Cannot initialize cipher %s-%s", crypto_cipher_alg_name(alg), crypto_cipher_mode_name(mode));
            return NULL;
        }
        return cipher;
    }
    crypto_cipher_nettle_schedule(cipher, key, &cipher->nettle_encrypt_key, &cipher->nettle_decrypt_key);
    if (mode == CRYPTO_CIPHER_MODE_XTS) {
        crypto_cipher_nettle_key unused;
        crypto_cipher_nettle_schedule(cipher, key + key_length / 2, &cipher->nettle_tweak_key, &unused);
        OPENSSL_cleanse(&unused, sizeof(unused));
    }
    return cipher;
}

/* Checks a request's length against the mode: whole blocks except for ctr, at least one block for
 * xts. Returns 0, or -1 with *errp set. */
static int crypto_cipher_length_check(const crypto_cipher *cipher, size_t length, error **errp)
{
    if (cipher->mode == CRYPTO_CIPHER_MODE_CTR)
        return 0;
    if (length % cipher->block_size != 0)
        return error_set(errp, "Length %zu must be a multiple of block size %zu", length, cipher->block_size);
    return 0;
}

/* Runs one OpenSSL context over buf in place from iv. Returns 0, or -1 with *errp set. */
static int crypto_cipher_openssl_run(EVP_CIPHER_CTX *context, const uint8_t *iv, uint8_t *buf, size_t length,
                                     error **errp)
{
    int written = 0;
    int final_written = 0;

    if (length > (size_t)INT32_MAX)
        return error_set(errp, "Cipher request of %zu bytes is too large", length);
    if (EVP_CipherInit_ex(context, NULL, NULL, NULL, iv, -1) != 1 ||
        EVP_CipherUpdate(context, buf, &written, buf, (int)length) != 1 ||
        EVP_CipherFinal_ex(context, buf + written, &final_written) != 1 ||
        (size_t)(written + final_written) != length)
        return error_set(errp, "Cipher operation failed");
    return 0;
}

/* Runs the nettle mode over buf in place; encrypt selects the direction. */
static void crypto_cipher_nettle_run(crypto_cipher *cipher, bool encrypt, const uint8_t *iv, uint8_t *buf,
                                     size_t length)
{
    uint8_t chain[CRYPTO_CIPHER_MAX_BLOCK_SIZE];
    const void *key = encrypt ? (const void *)&cipher->nettle_encrypt_key : (const void *)&cipher->nettle_decrypt_key;
    nettle_cipher_func *function = encrypt ? cipher->nettle_encrypt_function : cipher->nettle_decrypt_function;

    if (iv != NULL)
        memcpy(chain, iv, cipher->block_size);
    switch (cipher->mode) {
    case CRYPTO_CIPHER_MODE_ECB:
        function(key, length, buf, buf);
        break;
    case CRYPTO_CIPHER_MODE_CBC:
        if (encrypt)
            cbc_encrypt(key, function, cipher->block_size, chain, length, buf, buf);
        else
            cbc_decrypt(key, function, cipher->block_size, chain, length, buf, buf);
        break;
    case CRYPTO_CIPHER_MODE_XTS:
        if (encrypt)
            xts_encrypt_message(key, &cipher->nettle_tweak_key, function, chain, length, buf, buf);
        else
            xts_decrypt_message(key, &cipher->nettle_tweak_key, function, cipher->nettle_encrypt_function, chain,
                                length, buf, buf);
        break;
    default:
        ctr_crypt(&cipher->nettle_encrypt_key, cipher->nettle_encrypt_function, cipher->block_size, chain, length, buf,
                  buf);
        break;
    }
    OPENSSL_cleanse(chain, sizeof(chain));
}

/* Both directions of the public entry points. */
static int crypto_cipher_run(crypto_cipher *cipher, bool encrypt, const uint8_t *iv, size_t iv_length, uint8_t *buf,
                             size_t length, error **errp)
{
    if (crypto_cipher_length_check(cipher, length, errp) < 0)
        return -1;
    if (cipher->mode != CRYPTO_CIPHER_MODE_ECB && (iv == NULL || iv_length != cipher->block_size))
        return error_set(errp, "Expected IV size %zu not %zu", cipher->block_size, iv_length);
    if (length == 0)
        return 0;
    if (cipher->mode == CRYPTO_CIPHER_MODE_XTS && length < 16)
        return error_set(errp, "Length %zu must be at least one block", length);
    if (cipher->openssl_encrypt != NULL)
        return crypto_cipher_openssl_run(encrypt ? cipher->openssl_encrypt : cipher->openssl_decrypt,
                                         cipher->mode == CRYPTO_CIPHER_MODE_ECB ? NULL : iv, buf, length, errp);
    crypto_cipher_nettle_run(cipher, encrypt, cipher->mode == CRYPTO_CIPHER_MODE_ECB ? NULL : iv, buf, length);
    return 0;
}

int crypto_cipher_encrypt(crypto_cipher *cipher, const uint8_t *iv, size_t iv_length, uint8_t *buf, size_t length,
                          error **errp)
{
    return crypto_cipher_run(cipher, true, iv, iv_length, buf, length, errp);
}

int crypto_cipher_decrypt(crypto_cipher *cipher, const uint8_t *iv, size_t iv_length, uint8_t *buf, size_t length,
                          error **errp)
{
    return crypto_cipher_run(cipher, false, iv, iv_length, buf, length, errp);
}

void crypto_cipher_free(crypto_cipher *cipher)
{
    if (cipher == NULL)
        return;
    EVP_CIPHER_CTX_free(cipher->openssl_encrypt);
    EVP_CIPHER_CTX_free(cipher->openssl_decrypt);
    OPENSSL_cleanse(cipher, sizeof(*cipher));
    free(cipher);
}
