/* format_crypt.c — the legacy sector encryption (AES-128-CBC, plain64 IVs) on impl/crypto's cipher
 * and IV generator (spec/formats-common.md §Sector encryption). */
#include <string.h>

#include "format_crypt.h"
#include "../../crypto/crypto_cipher.h"
#include "../../crypto/crypto_ivgen.h"
#include "../../util/error.h"

int format_crypt_create_format(const option_list *options, const char **format, error **errp)
{
    const char *legacy = option_list_get(options, "encryption");
    *format = option_list_get(options, "encrypt.format");
    if (legacy && *format)
        return error_set(errp, "'encrypt.format' and its alias 'encryption' can't be used at the same time");
    if (legacy)
        *format = strcmp(legacy, "on") == 0 ? "aes" : strcmp(legacy, "off") == 0 ? NULL : legacy;
    return 0;
}

void format_crypt_legacy_key(uint8_t key[FORMAT_CRYPT_KEY_SIZE], const uint8_t *passphrase, size_t length)
{
    memset(key, 0, FORMAT_CRYPT_KEY_SIZE);
    for (size_t i = 0; i < length && i < FORMAT_CRYPT_KEY_SIZE && passphrase[i] != 0; i++)
        key[i] = passphrase[i];
}

int format_crypt_sectors(const uint8_t key[FORMAT_CRYPT_KEY_SIZE], bool encrypt, uint64_t first_sector, uint8_t *buf,
                         size_t length)
{
    uint8_t iv[16];
    error *err = NULL;
    if (length % FORMAT_CRYPT_SECTOR)
        return -1;
    crypto_cipher *cipher = crypto_cipher_new(CRYPTO_CIPHER_AES_128, CRYPTO_CIPHER_MODE_CBC, key,
                                              FORMAT_CRYPT_KEY_SIZE, &err);
    crypto_ivgen *ivgen = crypto_ivgen_new(CRYPTO_IVGEN_PLAIN64, CRYPTO_CIPHER_AES_128, CRYPTO_HASH_SHA256, NULL, 0,
                                           &err); /* plain64 uses neither cipher nor hash */
    int ret = cipher && ivgen ? 0 : -1;
    for (size_t done = 0; ret == 0 && done < length; done += FORMAT_CRYPT_SECTOR) {
        uint8_t *sector = buf + done;
        ret = crypto_ivgen_calculate(ivgen, first_sector + done / FORMAT_CRYPT_SECTOR, iv, sizeof(iv), &err);
        if (ret == 0)
            ret = encrypt ? crypto_cipher_encrypt(cipher, iv, sizeof(iv), sector, FORMAT_CRYPT_SECTOR, &err)
                          : crypto_cipher_decrypt(cipher, iv, sizeof(iv), sector, FORMAT_CRYPT_SECTOR, &err);
    }
    crypto_cipher_free(cipher);
    crypto_ivgen_free(ivgen);
    error_free(err);
    return ret;
}
