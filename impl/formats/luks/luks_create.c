/* luks_create.c — LUKS1 creation and measure: the options and their checks in qemu's order and
 * wording, the algorithms qemu 10.2 (as the oracle is built) can run, the key-slot layout and the
 * payload after it (spec/luks.md §Creation, §Supported algorithms). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "luks.h"
#include "../common/format_io.h"
#include "../common/format_uuid.h"
#include "../../block/file.h"
#include "../../block/open.h"
#include "../../block/secret.h"
#include "../../crypto/crypto_afsplit.h"
#include "../../crypto/crypto_pbkdf2.h"

/* qemu's luks create options, in its order (the "Formatting" line follows it). */
const option_desc luks_create_options[] = {
    {"size", OPTION_TYPE_SIZE, "Virtual disk size", NULL},
    {"key-secret", OPTION_TYPE_STRING, "ID of the secret that provides the keyslot passphrase", NULL},
    {"cipher-alg", OPTION_TYPE_STRING, "Name of encryption cipher algorithm", NULL},
    {"cipher-mode", OPTION_TYPE_STRING, "Name of encryption cipher mode", NULL},
    {"ivgen-alg", OPTION_TYPE_STRING, "Name of IV generator algorithm", NULL},
    {"ivgen-hash-alg", OPTION_TYPE_STRING, "Name of IV generator hash algorithm", NULL},
    {"hash-alg", OPTION_TYPE_STRING, "Name of encryption hash algorithm", NULL},
    {"iter-time", OPTION_TYPE_NUMBER, "Time to spend in PBKDF in milliseconds", NULL},
    {"detached-header", OPTION_TYPE_BOOL, "Create a detached LUKS header", NULL},
    {NULL, 0, NULL, NULL},
};

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

/* The creation request, as the options give it. */
typedef struct luks_create_request {
    uint64_t size;
    const char *key_secret;
    const char *cipher_alg;
    const char *cipher_mode;
    const char *ivgen_alg;
    const char *ivgen_hash_alg;
    const char *hash_alg;
    uint64_t iter_time_ms;
    bool detached;
    block_preallocation prealloc;
} luks_create_request;

/* Checks that the option key, when given, names one of the enum values. */
static int luks_enum_check(const option_list *options, const char *key, const char *const *values,
                           const char *fallback, const char **out, error **errp)
{
    const char *text = option_list_get(options, key);
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

/* Reads the options qemu checks before the file is made (types, then the enums in its order). */
static int luks_create_request_parse(const option_list *options, luks_create_request *request, error **errp)
{
    memset(request, 0, sizeof(*request));
    if (option_list_get_size(options, "size", 0, &request->size, errp) < 0 ||
        option_list_get_bool(options, "detached-header", false, &request->detached, errp) < 0 ||
        option_list_get_number(options, "iter-time", LUKS_DEFAULT_ITER_TIME_MS, &request->iter_time_ms, errp) < 0)
        return -1;
    if (luks_enum_check(options, "cipher-alg", luks_cipher_enum, "aes-256", &request->cipher_alg, errp) < 0 ||
        luks_enum_check(options, "cipher-mode", luks_mode_enum, "xts", &request->cipher_mode, errp) < 0 ||
        luks_enum_check(options, "ivgen-alg", luks_ivgen_enum, "plain64", &request->ivgen_alg, errp) < 0 ||
        luks_enum_check(options, "ivgen-hash-alg", luks_hash_enum, "sha256", &request->ivgen_hash_alg, errp) < 0 ||
        luks_enum_check(options, "hash-alg", luks_hash_enum, "sha256", &request->hash_alg, errp) < 0)
        return -1;
    request->key_secret = option_list_get(options, "key-secret");
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

/* Resolves the request's names into algorithms, refusing what qemu refuses, in its order. */
static int luks_create_algorithms_resolve(const luks_create_request *request, luks_algorithms *algorithms,
                                          error **errp)
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
    for (unsigned index = 0; index < LUKS_SLOT_COUNT; index++) {
        header->slots[index].active = LUKS_SLOT_INACTIVE;
        header->slots[index].key_offset_sectors = (uint32_t)((LUKS_ALIGNMENT + index * area) / LUKS_SECTOR_SIZE);
        header->slots[index].stripes = LUKS_STRIPES;
    }
    header->payload_offset_sectors =
        request->detached ? 0 : (uint32_t)((LUKS_ALIGNMENT + LUKS_SLOT_COUNT * area) / LUKS_SECTOR_SIZE);
    if (RAND_bytes(master_key, (int)header->master_key_bytes) != 1 ||
        RAND_bytes(header->master_key_salt, LUKS_SALT_SIZE) != 1)
        return error_set(errp, "Unable to read random bytes");
    uint64_t iterations =
        luks_iterations_for(algorithms->hash, header->master_key_bytes, request->iter_time_ms, 8, errp);
    if (iterations == 0)
        return -1;
    header->master_key_iterations = (uint32_t)iterations;
    return crypto_pbkdf2_derive(algorithms->hash, master_key, header->master_key_bytes, header->master_key_salt,
                                LUKS_SALT_SIZE, iterations, header->master_key_digest, LUKS_DIGEST_SIZE, errp);
}

/* Writes the new image into the open (empty) file: slot 0, the header, then the payload's extent. */
static int luks_create_write(block_node *file, const luks_create_request *request, const uint8_t *passphrase,
                             size_t passphrase_length, error **errp)
{
    luks_algorithms algorithms;
    luks_header header;
    uint8_t master_key[LUKS_MAX_KEY_BYTES];
    uint8_t raw[LUKS_HEADER_SIZE];
    int ret = -1;

    if (luks_create_algorithms_resolve(request, &algorithms, errp) < 0 ||
        luks_create_header_build(request, &algorithms, &header, master_key, errp) < 0)
        goto cleanup;
    if (luks_slot_store(file, &header, &algorithms, 0, master_key, passphrase, passphrase_length,
                        request->iter_time_ms, errp) < 0)
        goto cleanup;
    luks_header_write_data(&header, raw);
    if (format_file_write(file, 0, sizeof(raw), raw, errp) < 0)
        goto cleanup;
    uint64_t end = (uint64_t)header.payload_offset_sectors * LUKS_SECTOR_SIZE + (request->detached ? 0 : request->size);
    if (request->detached)
        end = LUKS_ALIGNMENT + LUKS_SLOT_COUNT * luks_slot_area_bytes(header.master_key_bytes, LUKS_STRIPES);
    ret = block_node_truncate(file, end, false, request->prealloc, false, errp);
cleanup:
    crypto_memory_wipe(master_key, sizeof(master_key));
    return ret;
}

int luks_create(const char *filename, const option_list *options, error **errp)
{
    luks_create_request request;
    if (luks_create_request_parse(options, &request, errp) < 0)
        return -1;
    if (file_protocol_create_empty(filename, options, errp) < 0)
        return -1;
    int ret = -1;
    block_node *file = NULL;
    size_t length = 0;
    const uint8_t *passphrase = NULL;
    if (request.key_secret == NULL) {
        error_set(errp, "Parameter 'key-secret' is required for cipher");
        goto cleanup;
    }
    passphrase = secret_lookup(request.key_secret, &length, errp);
    if (passphrase == NULL)
        goto cleanup;
    file = block_protocol_open(filename, BLOCK_OPEN_READ_WRITE, errp);
    if (file == NULL)
        goto cleanup;
    ret = luks_create_write(file, &request, passphrase, length, errp);
cleanup:
    block_node_close(file);
    if (ret < 0)
        file_protocol_remove(filename); /* qemu deletes the file a failed luks create made */
    return ret;
}

int luks_create_options_resolve(const option_list *options, luks_algorithms *algorithms, error **errp)
{
    luks_create_request request;
    if (luks_create_request_parse(options, &request, errp) < 0)
        return -1;
    return luks_create_algorithms_resolve(&request, algorithms, errp);
}

int luks_measure(const option_list *options, block_node *in, uint64_t size, measure_result *out, error **errp)
{
    luks_create_request request;
    luks_algorithms algorithms;
    size_t length = 0;

    if (luks_create_request_parse(options, &request, errp) < 0)
        return -1;
    if (request.key_secret == NULL)
        return error_set(errp, "Parameter 'key-secret' is required for cipher");
    if (secret_lookup(request.key_secret, &length, errp) == NULL)
        return -1;
    if (luks_create_algorithms_resolve(&request, &algorithms, errp) < 0)
        return -1;
    if (in != NULL)
        size = (uint64_t)block_node_length(in);
    size_t key_bytes = crypto_cipher_key_size(algorithms.cipher, algorithms.mode);
    uint64_t header_bytes = LUKS_ALIGNMENT + LUKS_SLOT_COUNT * luks_slot_area_bytes((uint32_t)key_bytes, LUKS_STRIPES);
    uint64_t total = header_bytes + ((size + LUKS_SECTOR_SIZE - 1) / LUKS_SECTOR_SIZE) * LUKS_SECTOR_SIZE;
    out->required = total;
    out->fully_allocated = total;
    return 0;
}
