/* format_crypt.h — sector encryption as the legacy image formats store it: AES-128-CBC over each
 * 512-byte sector with the "plain64" IV (the sector number, 64-bit little endian, zero padded), the
 * key being the passphrase's first 16 bytes, zero padded (qcow v1, qcow2 crypt_method 1)
 * (spec/formats-common.md §Sector encryption). */
#ifndef QIMG_FORMATS_COMMON_FORMAT_CRYPT_H
#define QIMG_FORMATS_COMMON_FORMAT_CRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../util/error.h"
#include "../../util/options.h"

#define FORMAT_CRYPT_SECTOR 512u
#define FORMAT_CRYPT_KEY_SIZE 16u

/* Fills key with the legacy AES key of a passphrase of length bytes (at most 16 kept, zero padded;
 * the passphrase ends at its first NUL, as a C string does). */
void format_crypt_legacy_key(uint8_t key[FORMAT_CRYPT_KEY_SIZE], const uint8_t *passphrase, size_t length);

/* Encrypts (encrypt) or decrypts length bytes of buf in place, a whole number of sectors, the first
 * being sector number first_sector. Returns 0, or -1 when length is not a multiple of the sector or
 * the cipher fails. */
int format_crypt_sectors(const uint8_t key[FORMAT_CRYPT_KEY_SIZE], bool encrypt, uint64_t first_sector, uint8_t *buf,
                         size_t length);

/* The encryption format a create's options name (qcow and qcow2): encrypt.format, or its legacy
 * alias encryption ("on" meaning aes, "off" none, anything else taken as a format name, as qemu
 * renames the key). *format is NULL for none. Returns 0, or -1 with *errp set when both are given. */
int format_crypt_create_format(const option_list *options, const char **format, error **errp);

#endif
