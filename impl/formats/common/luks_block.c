/* luks_block.c — a LUKS1 block at an offset of a file: the creation request and its checks in qemu's
 * order and wording, the algorithms qemu 10.2 (as the oracle is built) runs, the new header's layout,
 * opening, unlocking, the payload cipher and the info block (spec/luks.md §Creation, §Supported
 * algorithms, §Opening, §Info). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "luks_block.h"
#include "format_io.h"
#include "format_uuid.h"
#include "../../block/secret.h"
#include "../../crypto/crypto_afsplit.h"
#include "../../crypto/crypto_pbkdf2.h"
#include "../../crypto/crypto_random.h"

#define LUKS_DEFAULT_ITER_TIME_MS 2000u

/* The names qemu's option types accept; the ones past what impl/crypto runs are refused later, in
 * qemu's words. */
static const char *const luks_cipher_enum[] = {"aes-128", "aes-192", "aes-256", "des", "3des", "cast5-128",
                                               "serpent-128", "serpent-192", "serpent-256", "twofish-128",
                                               "twofish-192", "twofish-256", "sm4", NULL};
static const char *const luks_mode_enum[] = {"ecb", "cbc", "xts", "ctr", NULL};
static const char *const luks_ivgen_enum[] = {"plain", "plain64", "essiv", NULL};
static const char *const luks_hash_enum[] = {"md5", "sha1", "sha224", "sha256", "sha384", "sha512", "ripemd160",
                                             "sm3", NULL};

/* The value of option prefix + name, or NULL. */
static const char *luks_option_get(const option_list *options, const char *prefix, const char *name)
{
    char key[64];
    snprintf(key, sizeof(key), "%s%s", prefix, name);
    return option_list_get(options, key);
}

/* Checks that the option prefix + key, when given, names one of the enum values (qemu's error names
 * the key without the prefix). */
static int luks_enum_check(const option_list *options, const char *prefix, const char *key,
                           const char *const *values, const char *fallback, const char **out, error **errp)
{
    const char *text = luks_option_get(options, prefix, key);
    *out = fallback;
    if (text == NULL)
        return 0;
    for (size_t index = 0; values[index] != NULL; index++) {
        if (strcmp(values[index], text) == 0) {
            *out = text;
            return 0;
        }
    }
    return error_set(errp, "Parameter '%s' does not accept value '%s'", key, text);
}

int luks_create_request_parse(const option_list *options, const char *prefix, luks_create_request *request,
                              error **errp)
{
    memset(request, 0, sizeof(*request));
    const char *detached = luks_option_get(options, prefix, "detached-header");
    const char *iter_time = luks_option_get(options, prefix, "iter-time");
    request->iter_time_ms = LUKS_DEFAULT_ITER_TIME_MS;
    if (option_list_get_size(options, "size", 0, &request->size, errp) < 0 ||
        (detached && option_value_parse_bool("detached-header", detached, &request->detached, errp) < 0) ||
        (iter_time && option_value_parse_number("iter-time", iter_time, &request->iter_time_ms, errp) < 0))
        return -1;
    if (luks_enum_check(options, prefix, "cipher-alg", luks_cipher_enum, "aes-256", &request->cipher_alg, errp) < 0 ||
        luks_enum_check(options, prefix, "cipher-mode", luks_mode_enum, "xts", &request->cipher_mode, errp) < 0 ||
        luks_enum_check(options, prefix, "ivgen-alg", luks_ivgen_enum, "plain64", &request->ivgen_alg, errp) < 0 ||
        luks_enum_check(options, prefix, "ivgen-hash-alg", luks_hash_enum, "sha256", &request->ivgen_hash_alg,
                        errp) < 0 ||
        luks_enum_check(options, prefix, "hash-alg", luks_hash_enum, "sha256", &request->hash_alg, errp) < 0)
        return -1;
    request->key_secret = luks_option_get(options, prefix, "key-secret");
    const char *prealloc = option_list_get(options, "preallocation");
    int mode = prealloc ? block_preallocation_parse(prealloc) : BLOCK_PREALLOCATION_OFF;
    request->prealloc = mode < 0 ? BLOCK_PREALLOCATION_OFF : (block_preallocation)mode;
    return 0;
}

/* Whether qemu 10.2, as the oracle is built, runs alg in mode (its cipher backend has AES alone;
 * AES-192 only outside xts). */
static bool luks_backend_supports(crypto_cipher_alg alg, crypto_cipher_mode mode)
{
    if (mode == CRYPTO_CIPHER_MODE_CTR)
        return false;
    if (alg == CRYPTO_CIPHER_AES_128 || alg == CRYPTO_CIPHER_AES_256)
        return true;
    return alg == CRYPTO_CIPHER_AES_192 && mode != CRYPTO_CIPHER_MODE_XTS;
}

int luks_create_algorithms_resolve(const luks_create_request *request, luks_algorithms *algorithms, error **errp)
{
    memset(algorithms, 0, sizeof(*algorithms));
    if (!crypto_cipher_alg_parse(request->cipher_alg, &algorithms->cipher))
        return error_set(errp, "Algorithm '%s' not supported", request->cipher_alg);
    crypto_cipher_mode_parse(request->cipher_mode, &algorithms->mode);
    crypto_ivgen_alg_parse(request->ivgen_alg, &algorithms->ivgen);
    algorithms->ivgen_cipher = algorithms->cipher;
    if (algorithms->ivgen == CRYPTO_IVGEN_ESSIV) {
        if (!crypto_hash_alg_parse(request->ivgen_hash_alg, &algorithms->ivgen_hash)) /* sm3: no digest size */
            return error_set(errp, "No %s cipher with key size 0 available", "AES");
        if (luks_essiv_cipher_find(algorithms->cipher, algorithms->ivgen_hash, &algorithms->ivgen_cipher, errp) < 0)
            return -1;
    }
    if (!luks_backend_supports(algorithms->cipher, algorithms->mode))
        return error_set(errp, "Unsupported cipher algorithm %s with %s mode", crypto_cipher_alg_name(algorithms->cipher),
                         crypto_cipher_mode_name(algorithms->mode));
    if (!crypto_hash_alg_parse(request->hash_alg, &algorithms->hash))
        return error_set_errno(errp, ENOSYS, "PBKDF does not support hash algorithm %s", request->hash_alg);
    if (algorithms->hash == CRYPTO_HASH_RIPEMD160)
        return error_set(errp, "Cannot derive password: The request is invalid.");
    size_t key_bytes = crypto_cipher_key_size(algorithms->cipher, algorithms->mode);
    if ((key_bytes * LUKS_STRIPES) % LUKS_SECTOR_SIZE != 0) /* qemu aborts on such a slot; qimg refuses it */
        return error_set(errp, "Key material of %zu bytes is not a whole number of sectors",
                         key_bytes * LUKS_STRIPES);
    return 0;
}

/* Fills the names, layout and master key digest of a new header; master_key receives a fresh key. */
static int luks_create_header_build(const luks_create_request *request, const luks_algorithms *algorithms,
                                    luks_header *header, uint8_t *master_key, error **errp)
{
    uint8_t uuid[FORMAT_UUID_SIZE];
    memset(header, 0, sizeof(*header));
    header->version = 1;
    snprintf(header->cipher_name, sizeof(header->cipher_name), "%s", luks_cipher_family_name(algorithms->cipher));
    if (algorithms->ivgen == CRYPTO_IVGEN_ESSIV)
        snprintf(header->cipher_mode, sizeof(header->cipher_mode), "%s-essiv:%s",
                 crypto_cipher_mode_name(algorithms->mode), crypto_hash_alg_name(algorithms->ivgen_hash));
    else
        snprintf(header->cipher_mode, sizeof(header->cipher_mode), "%s-%s", crypto_cipher_mode_name(algorithms->mode),
                 crypto_ivgen_alg_name(algorithms->ivgen));
    snprintf(header->hash_spec, sizeof(header->hash_spec), "%s", crypto_hash_alg_name(algorithms->hash));
    header->master_key_bytes = (uint32_t)crypto_cipher_key_size(algorithms->cipher, algorithms->mode);
    format_uuid_generate(uuid);
    snprintf(header->uuid, sizeof(header->uuid),
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", uuid[0], uuid[1], uuid[2],
             uuid[3], uuid[4], uuid[5], uuid[6], uuid[7], uuid[8], uuid[9], uuid[10], uuid[11], uuid[12], uuid[13],
             uuid[14], uuid[15]);
    uint64_t area = luks_slot_area_bytes(header->master_key_bytes, LUKS_STRIPES);
    uint64_t header_bytes = LUKS_ALIGNMENT + LUKS_SLOT_COUNT * area;
    for (unsigned index = 0; index < LUKS_SLOT_COUNT; index++) {
        header->slots[index].active = LUKS_SLOT_INACTIVE;
        header->slots[index].key_offset_sectors = (uint32_t)((LUKS_ALIGNMENT + index * area) / LUKS_SECTOR_SIZE);
        header->slots[index].stripes = LUKS_STRIPES;
    }
    header->payload_offset_sectors = request->detached ? 0 : (uint32_t)(header_bytes / LUKS_SECTOR_SIZE);
    if (crypto_random_bytes(master_key, header->master_key_bytes, errp) < 0 ||
        crypto_random_bytes(header->master_key_salt, LUKS_SALT_SIZE, errp) < 0)
        return -1;
    uint64_t iterations =
        luks_iterations_for(algorithms->hash, header->master_key_bytes, request->iter_time_ms, 8, errp);
    if (iterations == 0)
        return -1;
    header->master_key_iterations = (uint32_t)iterations;
    return crypto_pbkdf2_derive(algorithms->hash, master_key, header->master_key_bytes, header->master_key_salt,
                                LUKS_SALT_SIZE, iterations, header->master_key_digest, LUKS_DIGEST_SIZE, errp);
}

uint64_t luks_header_area_bytes(const luks_algorithms *algorithms)
{
    size_t key_bytes = crypto_cipher_key_size(algorithms->cipher, algorithms->mode);
    return LUKS_ALIGNMENT + LUKS_SLOT_COUNT * luks_slot_area_bytes((uint32_t)key_bytes, LUKS_STRIPES);
}

int luks_block_header_store(luks_block *block, error **errp)
{
    uint8_t raw[LUKS_HEADER_SIZE];
    luks_header_write_data(&block->header, raw);
    return format_file_write(block->file, block->header_offset, sizeof(raw), raw, errp);
}

int luks_block_format(luks_block *block, block_node *file, uint64_t header_offset,
                      const luks_create_request *request, const luks_algorithms *algorithms,
                      const uint8_t *passphrase, size_t passphrase_length, error **errp)
{
    memset(block, 0, sizeof(*block));
    block->file = file;
    block->header_offset = header_offset;
    block->algorithms = *algorithms;
    if (luks_create_header_build(request, algorithms, &block->header, block->master_key, errp) < 0 ||
        luks_slot_store(file, header_offset, &block->header, algorithms, 0, block->master_key, passphrase,
                        passphrase_length, request->iter_time_ms, errp) < 0 ||
        luks_block_header_store(block, errp) < 0 ||
        luks_payload_cipher_init(&block->payload, algorithms, block->master_key, block->header.master_key_bytes,
                                 errp) < 0) {
        luks_block_clear(block);
        return -1;
    }
    block->unlocked = true;
    return 0;
}

int luks_block_area_check(const luks_block *block, uint64_t offset, uint64_t length, error **errp)
{
    if (block->area_length != 0 && (offset > block->area_length || length > block->area_length - offset))
        return error_set(errp, "Request for data outside of extension header");
    return 0;
}

int luks_block_open(luks_block *block, block_node *file, uint64_t header_offset, uint64_t area_length, bool detached,
                    error **errp)
{
    uint8_t raw[LUKS_HEADER_SIZE];
    memset(block, 0, sizeof(*block));
    block->file = file;
    block->header_offset = header_offset;
    block->area_length = area_length;
    if (luks_block_area_check(block, 0, sizeof(raw), errp) < 0 ||
        format_file_read(file, header_offset, sizeof(raw), raw, errp) < 0)
        return -1;
    luks_header_read_data(raw, sizeof(raw), &block->header);
    return luks_header_validate(&block->header, format_file_length(file), detached, &block->algorithms, errp);
}

int luks_block_unlock(luks_block *block, const char *secret_id, const char *missing_key, error **errp)
{
    size_t length = 0;
    if (secret_id == NULL)
        return error_set(errp, "Parameter '%s' is required for cipher", missing_key);
    const uint8_t *passphrase = secret_lookup(secret_id, &length, errp);
    if (passphrase == NULL)
        return -1;
    if (!luks_backend_supports(block->algorithms.cipher, block->algorithms.mode))
        return error_set(errp, "Unsupported cipher algorithm %s with %s mode",
                         crypto_cipher_alg_name(block->algorithms.cipher),
                         crypto_cipher_mode_name(block->algorithms.mode));
    if (luks_master_key_unlock(block, passphrase, length, NULL, errp) < 0)
        return -1;
    block->unlocked = true;
    return luks_payload_cipher_init(&block->payload, &block->algorithms, block->master_key,
                                    block->header.master_key_bytes, errp);
}

int luks_block_payload_run(luks_block *block, bool encrypt, uint64_t first_sector, uint8_t *buf, size_t length,
                           error **errp)
{
    return luks_payload_cipher_run(&block->payload, encrypt, first_sector, buf, length, errp);
}

void luks_block_clear(luks_block *block)
{
    luks_payload_cipher_clear(&block->payload);
    crypto_memory_wipe(block, sizeof(*block));
}

/* The "slots" list of info. */
static json_value *luks_info_slots(const luks_header *header)
{
    json_value *slots = json_array_new();
    for (unsigned index = 0; index < LUKS_SLOT_COUNT; index++) {
        const luks_slot *slot = &header->slots[index];
        json_value *entry = json_object_new();
        bool active = slot->active == LUKS_SLOT_ACTIVE;
        json_object_set_bool(entry, "active", active);
        if (active) {
            json_object_set_uint(entry, "iters", slot->iterations);
            json_object_set_uint(entry, "stripes", slot->stripes);
        }
        json_object_set_uint(entry, "key-offset", (uint64_t)slot->key_offset_sectors * LUKS_SECTOR_SIZE);
        json_array_append(slots, entry);
    }
    return slots;
}

json_value *luks_block_info_data(const luks_block *block, bool detached, bool with_format)
{
    const luks_header *header = &block->header;
    const luks_algorithms *algorithms = &block->algorithms;
    json_value *data = json_object_new();
    if (with_format)
        json_object_set_string(data, "format", "luks");
    json_object_set_string(data, "cipher-alg", crypto_cipher_alg_name(algorithms->cipher));
    json_object_set_string(data, "cipher-mode", crypto_cipher_mode_name(algorithms->mode));
    json_object_set_string(data, "ivgen-alg", crypto_ivgen_alg_name(algorithms->ivgen));
    if (algorithms->ivgen == CRYPTO_IVGEN_ESSIV)
        json_object_set_string(data, "ivgen-hash-alg", crypto_hash_alg_name(algorithms->ivgen_hash));
    json_object_set_string(data, "hash-alg", crypto_hash_alg_name(algorithms->hash));
    json_object_set_bool(data, "detached-header", detached);
    json_object_set_uint(data, "payload-offset", (uint64_t)header->payload_offset_sectors * LUKS_SECTOR_SIZE);
    json_object_set_uint(data, "master-key-iters", header->master_key_iterations);
    json_object_set_string(data, "uuid", header->uuid);
    json_object_set(data, "slots", luks_info_slots(header));
    return data;
}

