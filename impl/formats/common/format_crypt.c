/* format_crypt.c — AES-128-CBC sector encryption with plain64 IVs through OpenSSL
 * (spec/formats-common.md §Sector encryption). */
#include <string.h>

#include <openssl/evp.h>

#include "format_crypt.h"

void format_crypt_legacy_key(uint8_t key[FORMAT_CRYPT_KEY_SIZE], const uint8_t *passphrase, size_t length)
{
    memset(key, 0, FORMAT_CRYPT_KEY_SIZE);
    for (size_t i = 0; i < length && i < FORMAT_CRYPT_KEY_SIZE && passphrase[i] != 0; i++)
        key[i] = passphrase[i];
}

/* Runs the cipher over one sector with the IV of sector number sector. */
static int format_crypt_sector(EVP_CIPHER_CTX *ctx, const uint8_t *key, bool encrypt, uint64_t sector, uint8_t *data)
{
    uint8_t iv[16];
    memset(iv, 0, sizeof(iv));
    for (int i = 0; i < 8; i++)
        iv[i] = (uint8_t)(sector >> (8 * i));
    uint8_t out[FORMAT_CRYPT_SECTOR];
    int produced = 0;
    if (EVP_CipherInit_ex(ctx, EVP_aes_128_cbc(), NULL, key, iv, encrypt ? 1 : 0) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
        EVP_CipherUpdate(ctx, out, &produced, data, FORMAT_CRYPT_SECTOR) != 1 || produced != FORMAT_CRYPT_SECTOR)
        return -1;
    memcpy(data, out, FORMAT_CRYPT_SECTOR);
    return 0;
}

int format_crypt_sectors(const uint8_t key[FORMAT_CRYPT_KEY_SIZE], bool encrypt, uint64_t first_sector, uint8_t *buf,
                         size_t length)
{
    if (length % FORMAT_CRYPT_SECTOR)
        return -1;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL)
        return -1;
    int ret = 0;
    for (size_t done = 0; ret == 0 && done < length; done += FORMAT_CRYPT_SECTOR)
        ret = format_crypt_sector(ctx, key, encrypt, first_sector + done / FORMAT_CRYPT_SECTOR, buf + done);
    EVP_CIPHER_CTX_free(ctx);
    return ret;
}
