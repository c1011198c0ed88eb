/* luks_keyslot.c — the key slots: unlocking the master key with a passphrase, and storing it in a
 * slot (PBKDF2, the anti-forensic split, the slot's encryption), and the payload cipher built on the
 * master key (spec/luks.md §Key slots, §Payload). */
#include <stdlib.h>
#include <string.h>

#include "luks_block.h"
#include "format_io.h"
#include "../../crypto/crypto_afsplit.h"
#include "../../crypto/crypto_pbkdf2.h"
#include "../../crypto/crypto_random.h"
#include "../../util/memory.h"

int luks_payload_cipher_init(luks_payload_cipher *payload, const luks_algorithms *algorithms, const uint8_t *key,
                             size_t key_length, error **errp)
{
    memset(payload, 0, sizeof(*payload));
    payload->iv_length = crypto_cipher_alg_block_size(algorithms->cipher);
    payload->cipher = crypto_cipher_new(algorithms->cipher, algorithms->mode, key, key_length, errp);
    if (payload->cipher == NULL)
        return -1;
    payload->ivgen = crypto_ivgen_new(algorithms->ivgen, algorithms->ivgen_cipher, algorithms->ivgen_hash, key,
                                      key_length, errp);
    if (payload->ivgen == NULL) {
        luks_payload_cipher_clear(payload);
        return -1;
    }
    return 0;
}

int luks_payload_cipher_run(luks_payload_cipher *payload, bool encrypt, uint64_t first_sector, uint8_t *buf,
                            size_t length, error **errp)
{
    uint8_t iv[CRYPTO_CIPHER_MAX_BLOCK_SIZE];

    for (size_t done = 0; done < length; done += LUKS_SECTOR_SIZE) {
        size_t piece = length - done < LUKS_SECTOR_SIZE ? length - done : LUKS_SECTOR_SIZE;
        uint64_t sector = first_sector + done / LUKS_SECTOR_SIZE;
        if (crypto_ivgen_calculate(payload->ivgen, sector, iv, payload->iv_length, errp) < 0)
            return -1;
        int ret = encrypt ? crypto_cipher_encrypt(payload->cipher, iv, payload->iv_length, buf + done, piece, errp)
                          : crypto_cipher_decrypt(payload->cipher, iv, payload->iv_length, buf + done, piece, errp);
        if (ret < 0)
            return -1;
    }
    return 0;
}

void luks_payload_cipher_clear(luks_payload_cipher *payload)
{
    crypto_cipher_free(payload->cipher);
    crypto_ivgen_free(payload->ivgen);
    memset(payload, 0, sizeof(*payload));
}

/* Forgets a slot operation's cipher, derived key and key material (wiped, then freed). */
static void luks_slot_work_clear(luks_payload_cipher *slot_cipher, uint8_t *slot_key, size_t slot_key_size,
                                 uint8_t *material, size_t material_bytes)
{
    luks_payload_cipher_clear(slot_cipher);
    crypto_memory_wipe(slot_key, slot_key_size);
    crypto_memory_wipe(material, material_bytes);
    free(material);
}

/* The bytes of a slot's key material rounded up to whole sectors (what is encrypted and stored). */
static size_t luks_slot_material_bytes(uint32_t key_bytes)
{
    size_t bytes = (size_t)key_bytes * LUKS_STRIPES;
    return (bytes + LUKS_SECTOR_SIZE - 1) / LUKS_SECTOR_SIZE * LUKS_SECTOR_SIZE;
}

int luks_slot_open(const luks_block *block, unsigned index, const uint8_t *passphrase, size_t passphrase_length,
                   uint8_t *candidate, bool *opened, error **errp)
{
    const luks_header *header = &block->header;
    const luks_algorithms *algorithms = &block->algorithms;
    const luks_slot *slot = &header->slots[index];
    size_t key_bytes = header->master_key_bytes;
    size_t material_bytes = luks_slot_material_bytes(header->master_key_bytes);
    uint8_t slot_key[LUKS_MAX_KEY_BYTES];
    uint8_t digest[LUKS_DIGEST_SIZE];
    luks_payload_cipher slot_cipher = {0};
    uint8_t *material = memory_alloc_zero(material_bytes);
    int ret = -1;

    *opened = false;
    if (crypto_pbkdf2_derive(algorithms->hash, passphrase, passphrase_length, slot->salt, LUKS_SALT_SIZE,
                             slot->iterations, slot_key, key_bytes, errp) < 0)
        goto cleanup;
    uint64_t offset = (uint64_t)slot->key_offset_sectors * LUKS_SECTOR_SIZE;
    if (luks_block_area_check(block, offset, material_bytes, errp) < 0 ||
        format_file_read(block->file, block->header_offset + offset, material_bytes, material, errp) < 0)
        goto cleanup; /* past the file's end reads zeroes */
    if (luks_payload_cipher_init(&slot_cipher, algorithms, slot_key, key_bytes, errp) < 0 ||
        luks_payload_cipher_run(&slot_cipher, false, 0, material, material_bytes, errp) < 0 ||
        crypto_afsplit_merge(algorithms->hash, key_bytes, LUKS_STRIPES, material, candidate, errp) < 0 ||
        crypto_pbkdf2_derive(algorithms->hash, candidate, key_bytes, header->master_key_salt, LUKS_SALT_SIZE,
                             header->master_key_iterations, digest, LUKS_DIGEST_SIZE, errp) < 0)
        goto cleanup;
    *opened = memcmp(digest, header->master_key_digest, LUKS_DIGEST_SIZE) == 0;
    ret = 0;
cleanup:
    luks_slot_work_clear(&slot_cipher, slot_key, sizeof(slot_key), material, material_bytes);
    return ret;
}

int luks_master_key_unlock(luks_block *block, const uint8_t *passphrase, size_t passphrase_length, int *slot_found,
                           error **errp)
{
    const luks_header *header = &block->header;
    uint8_t *master_key = block->master_key;
    for (unsigned index = 0; index < LUKS_SLOT_COUNT; index++) {
        bool opened = false;
        if (header->slots[index].active != LUKS_SLOT_ACTIVE)
            continue;
        if (luks_slot_open(block, index, passphrase, passphrase_length, master_key, &opened, errp) < 0)
            return -1;
        if (opened) {
            if (slot_found)
                *slot_found = (int)index;
            return 0;
        }
    }
    crypto_memory_wipe(master_key, header->master_key_bytes);
    return error_set(errp, "Invalid password, cannot unlock any keyslot");
}

/* The PBKDF2 count for iter_time_ms of this machine's time deriving key_bytes, divided by divisor,
 * at least LUKS_MIN_ITERATIONS. Returns 0 with *errp set on failure. */
uint64_t luks_iterations_for(crypto_hash_alg hash, size_t key_bytes, uint64_t iter_time_ms, uint64_t divisor,
                             error **errp)
{
    uint64_t per_second = crypto_pbkdf2_iterations_per_second(hash, key_bytes, errp);
    if (per_second == 0)
        return 0;
    if (per_second > UINT64_MAX / (iter_time_ms ? iter_time_ms : 1)) {
        error_set(errp, "PBKDF iterations %llu too large to scale", (unsigned long long)per_second);
        return 0;
    }
    uint64_t iterations = per_second * iter_time_ms / 1000 / divisor;
    if (iterations > UINT32_MAX) {
        error_set(errp, "PBKDF iterations %llu larger than %u", (unsigned long long)iterations, UINT32_MAX);
        return 0;
    }
    return iterations < LUKS_MIN_ITERATIONS ? LUKS_MIN_ITERATIONS : iterations;
}

int luks_slot_store(block_node *file, uint64_t header_offset, luks_header *header, const luks_algorithms *algorithms, unsigned index,
                    const uint8_t *master_key, const uint8_t *passphrase, size_t passphrase_length,
                    uint64_t iter_time_ms, error **errp)
{
    luks_slot *slot = &header->slots[index];
    size_t key_bytes = header->master_key_bytes;
    size_t material_bytes = luks_slot_material_bytes(header->master_key_bytes);
    uint8_t slot_key[LUKS_MAX_KEY_BYTES];
    luks_payload_cipher slot_cipher = {0};
    uint8_t *material = memory_alloc_zero(material_bytes);
    int ret = -1;

    if (crypto_random_bytes(slot->salt, LUKS_SALT_SIZE, errp) < 0)
        goto cleanup;
    uint64_t iterations = luks_iterations_for(algorithms->hash, key_bytes, iter_time_ms, 1, errp);
    if (iterations == 0)
        goto cleanup;
    slot->iterations = (uint32_t)iterations;
    if (crypto_pbkdf2_derive(algorithms->hash, passphrase, passphrase_length, slot->salt, LUKS_SALT_SIZE,
                             slot->iterations, slot_key, key_bytes, errp) < 0 ||
        crypto_afsplit_split(algorithms->hash, key_bytes, LUKS_STRIPES, master_key, material, errp) < 0 ||
        luks_payload_cipher_init(&slot_cipher, algorithms, slot_key, key_bytes, errp) < 0 ||
        luks_payload_cipher_run(&slot_cipher, true, 0, material, material_bytes, errp) < 0)
        goto cleanup;
    uint64_t offset = header_offset + (uint64_t)slot->key_offset_sectors * LUKS_SECTOR_SIZE;
    if (format_file_write(file, offset, material_bytes, material, errp) < 0)
        goto cleanup;
    slot->active = LUKS_SLOT_ACTIVE;
    slot->stripes = LUKS_STRIPES;
    ret = 0;
cleanup:
    luks_slot_work_clear(&slot_cipher, slot_key, sizeof(slot_key), material, material_bytes);
    return ret;
}

int luks_slot_erase(block_node *file, uint64_t header_offset, luks_header *header, unsigned index, error **errp)
{
    luks_slot *slot = &header->slots[index];
    size_t material_bytes = luks_slot_material_bytes(header->master_key_bytes);
    uint8_t *garbage = memory_alloc_zero(material_bytes);
    int ret = -1;

    if (crypto_random_bytes(garbage, material_bytes, errp) < 0)
        goto cleanup;
    if (format_file_write(file, header_offset + (uint64_t)slot->key_offset_sectors * LUKS_SECTOR_SIZE,
                          material_bytes, garbage, errp) < 0)
        goto cleanup;
    slot->active = LUKS_SLOT_INACTIVE;
    slot->iterations = 0;
    memset(slot->salt, 0, sizeof(slot->salt));
    ret = 0;
cleanup:
    free(garbage);
    return ret;
}
