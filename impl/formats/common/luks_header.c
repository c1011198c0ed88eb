/* luks_header.c — the LUKS1 header: decoding and encoding the 592 bytes, the checks qemu's open makes
 * in its order and wording, and the cipher specification strings (spec/luks.md §Header, §Open checks). */
#include <stdio.h>
#include <string.h>

#include "luks_block.h"
#include "../../util/endian.h"

static const uint8_t luks_magic[LUKS_MAGIC_SIZE] = {'L', 'U', 'K', 'S', 0xba, 0xbe};

/* Header field offsets (spec/luks.md §Header). */
enum {
    LUKS_OFFSET_VERSION = 6,
    LUKS_OFFSET_CIPHER_NAME = 8,
    LUKS_OFFSET_CIPHER_MODE = 40,
    LUKS_OFFSET_HASH_SPEC = 72,
    LUKS_OFFSET_PAYLOAD = 104,
    LUKS_OFFSET_KEY_BYTES = 108,
    LUKS_OFFSET_DIGEST = 112,
    LUKS_OFFSET_DIGEST_SALT = 132,
    LUKS_OFFSET_DIGEST_ITERATIONS = 164,
    LUKS_OFFSET_UUID = 168,
    LUKS_OFFSET_SLOTS = 208,
};

/* Copies a fixed-size text field into a NUL-terminated string. */
static void luks_text_read(char *out, const uint8_t *field, size_t size)
{
    memcpy(out, field, size);
    out[size] = '\0';
}

/* Writes a string into a fixed-size field, NUL padded (longer text is cut). */
static void luks_text_write(uint8_t *field, const char *text, size_t size)
{
    size_t length = strlen(text);
    memset(field, 0, size);
    memcpy(field, text, length < size ? length : size);
}

bool luks_magic_matches(const uint8_t *buf, size_t length)
{
    return length >= LUKS_MAGIC_SIZE && memcmp(buf, luks_magic, LUKS_MAGIC_SIZE) == 0;
}

void luks_header_read_data(const uint8_t *buf, size_t length, luks_header *header)
{
    (void)length;
    memset(header, 0, sizeof(*header));
    memcpy(header->magic, buf, LUKS_MAGIC_SIZE);
    header->version = endian_load_be16(buf + LUKS_OFFSET_VERSION);
    luks_text_read(header->cipher_name, buf + LUKS_OFFSET_CIPHER_NAME, LUKS_NAME_SIZE);
    luks_text_read(header->cipher_mode, buf + LUKS_OFFSET_CIPHER_MODE, LUKS_NAME_SIZE);
    luks_text_read(header->hash_spec, buf + LUKS_OFFSET_HASH_SPEC, LUKS_NAME_SIZE);
    header->payload_offset_sectors = endian_load_be32(buf + LUKS_OFFSET_PAYLOAD);
    header->master_key_bytes = endian_load_be32(buf + LUKS_OFFSET_KEY_BYTES);
    memcpy(header->master_key_digest, buf + LUKS_OFFSET_DIGEST, LUKS_DIGEST_SIZE);
    memcpy(header->master_key_salt, buf + LUKS_OFFSET_DIGEST_SALT, LUKS_SALT_SIZE);
    header->master_key_iterations = endian_load_be32(buf + LUKS_OFFSET_DIGEST_ITERATIONS);
    luks_text_read(header->uuid, buf + LUKS_OFFSET_UUID, LUKS_UUID_SIZE);
    for (unsigned index = 0; index < LUKS_SLOT_COUNT; index++) {
        const uint8_t *slot = buf + LUKS_OFFSET_SLOTS + index * LUKS_SLOT_SIZE;
        header->slots[index].active = endian_load_be32(slot);
        header->slots[index].iterations = endian_load_be32(slot + 4);
        memcpy(header->slots[index].salt, slot + 8, LUKS_SALT_SIZE);
        header->slots[index].key_offset_sectors = endian_load_be32(slot + 40);
        header->slots[index].stripes = endian_load_be32(slot + 44);
    }
}

void luks_header_write_data(const luks_header *header, uint8_t *buf)
{
    memset(buf, 0, LUKS_HEADER_SIZE);
    memcpy(buf, luks_magic, LUKS_MAGIC_SIZE);
    endian_store_be16(buf + LUKS_OFFSET_VERSION, header->version);
    luks_text_write(buf + LUKS_OFFSET_CIPHER_NAME, header->cipher_name, LUKS_NAME_SIZE);
    luks_text_write(buf + LUKS_OFFSET_CIPHER_MODE, header->cipher_mode, LUKS_NAME_SIZE);
    luks_text_write(buf + LUKS_OFFSET_HASH_SPEC, header->hash_spec, LUKS_NAME_SIZE);
    endian_store_be32(buf + LUKS_OFFSET_PAYLOAD, header->payload_offset_sectors);
    endian_store_be32(buf + LUKS_OFFSET_KEY_BYTES, header->master_key_bytes);
    memcpy(buf + LUKS_OFFSET_DIGEST, header->master_key_digest, LUKS_DIGEST_SIZE);
    memcpy(buf + LUKS_OFFSET_DIGEST_SALT, header->master_key_salt, LUKS_SALT_SIZE);
    endian_store_be32(buf + LUKS_OFFSET_DIGEST_ITERATIONS, header->master_key_iterations);
    luks_text_write(buf + LUKS_OFFSET_UUID, header->uuid, LUKS_UUID_SIZE);
    for (unsigned index = 0; index < LUKS_SLOT_COUNT; index++) {
        uint8_t *slot = buf + LUKS_OFFSET_SLOTS + index * LUKS_SLOT_SIZE;
        endian_store_be32(slot, header->slots[index].active);
        endian_store_be32(slot + 4, header->slots[index].iterations);
        memcpy(slot + 8, header->slots[index].salt, LUKS_SALT_SIZE);
        endian_store_be32(slot + 40, header->slots[index].key_offset_sectors);
        endian_store_be32(slot + 44, header->slots[index].stripes);
    }
}

uint64_t luks_slot_area_bytes(uint32_t key_bytes, uint32_t stripes)
{
    return ((uint64_t)key_bytes * stripes + LUKS_ALIGNMENT - 1) / LUKS_ALIGNMENT * LUKS_ALIGNMENT;
}

/* The sectors qemu counts a slot's key material as covering: its bytes rounded up to sectors, in
 * the 32-bit arithmetic of the header fields (so a slot placed near 2^32 sectors wraps, as in qemu). */
static uint32_t luks_slot_sector_count(uint32_t key_bytes)
{
    uint64_t bytes = (uint64_t)key_bytes * LUKS_STRIPES;
    return (uint32_t)((bytes + LUKS_SECTOR_SIZE - 1) / LUKS_SECTOR_SIZE);
}

/* The checks of one slot, in qemu's order: state, stripes, iterations, header and payload overlap,
 * then overlap with every later slot. */
static int luks_slot_validate(const luks_header *header, unsigned index, bool detached, error **errp)
{
    const luks_slot *slot = &header->slots[index];
    uint32_t sectors = luks_slot_sector_count(header->master_key_bytes);
    uint32_t start = slot->key_offset_sectors;

    if (slot->active != LUKS_SLOT_ACTIVE && slot->active != LUKS_SLOT_INACTIVE)
        return error_set(errp, "Keyslot %u state (active/disable) is corrupted", index);
    if (slot->stripes != LUKS_STRIPES)
        return error_set(errp, "Keyslot %u is corrupted (stripes %d != %u)", index, (int32_t)slot->stripes,
                         LUKS_STRIPES);
    if (slot->active == LUKS_SLOT_ACTIVE && slot->iterations == 0)
        return error_set(errp, "Keyslot %u iteration count is zero", index);
    if (start < LUKS_ALIGNMENT / LUKS_SECTOR_SIZE)
        return error_set(errp, "Keyslot %u is overlapping with the LUKS header", index);
    if (!detached && (uint32_t)(start + sectors) > header->payload_offset_sectors)
        return error_set(errp, "Keyslot %u is overlapping with the encrypted payload", index);
    for (unsigned other = index + 1; other < LUKS_SLOT_COUNT; other++) {
        uint32_t other_start = header->slots[other].key_offset_sectors;
        if ((uint32_t)(start + sectors) > other_start && (uint32_t)(other_start + sectors) > start)
            return error_set(errp, "Keyslots %u and %u are overlapping in the header", index, other);
    }
    return 0;
}

/* The cipher families a header may name, with their key sizes. */
static const struct {
    const char *family;
    crypto_cipher_alg algs[3];
    size_t count;
    const char *essiv_name; /* how qemu names the family when no essiv key size fits */
} luks_cipher_families[] = {
    {"aes", {CRYPTO_CIPHER_AES_128, CRYPTO_CIPHER_AES_192, CRYPTO_CIPHER_AES_256}, 3, "AES"},
    {"cast5", {CRYPTO_CIPHER_CAST5_128}, 1, NULL},
    {"serpent", {CRYPTO_CIPHER_SERPENT_128, CRYPTO_CIPHER_SERPENT_192, CRYPTO_CIPHER_SERPENT_256}, 3, "Serpent"},
    {"twofish", {CRYPTO_CIPHER_TWOFISH_128, CRYPTO_CIPHER_TWOFISH_192, CRYPTO_CIPHER_TWOFISH_256}, 3, "Twofish"},
};
#define LUKS_CIPHER_FAMILY_COUNT (sizeof(luks_cipher_families) / sizeof(luks_cipher_families[0]))

/* The family index of alg. */
static size_t luks_cipher_family_of(crypto_cipher_alg alg)
{
    for (size_t family = 0; family < LUKS_CIPHER_FAMILY_COUNT; family++)
        for (size_t k = 0; k < luks_cipher_families[family].count; k++)
            if (luks_cipher_families[family].algs[k] == alg)
                return family;
    return 0;
}

const char *luks_cipher_family_name(crypto_cipher_alg alg)
{
    return luks_cipher_families[luks_cipher_family_of(alg)].family;
}

/* Finds the algorithm of family name with key_size bytes. Returns 0, or -1 with *errp set. */
static int luks_cipher_lookup(const char *name, size_t key_size, crypto_cipher_alg *alg, error **errp)
{
    for (size_t family = 0; family < LUKS_CIPHER_FAMILY_COUNT; family++) {
        if (strcmp(luks_cipher_families[family].family, name) != 0)
            continue;
        for (size_t k = 0; k < luks_cipher_families[family].count; k++) {
            if (crypto_cipher_alg_key_size(luks_cipher_families[family].algs[k]) == key_size) {
                *alg = luks_cipher_families[family].algs[k];
                return 0;
            }
        }
    }
    return error_set(errp, "Algorithm '%s' with key size %zu bytes not supported", name, key_size);
}

int luks_essiv_cipher_find(crypto_cipher_alg alg, crypto_hash_alg hash, crypto_cipher_alg *essiv, error **errp)
{
    size_t family = luks_cipher_family_of(alg);
    size_t digest = crypto_hash_digest_size(hash);
    if (luks_cipher_families[family].essiv_name == NULL)
        return error_set(errp, "Cipher %s not supported with essiv", crypto_cipher_alg_name(alg));
    for (size_t k = 0; k < luks_cipher_families[family].count; k++) {
        if (crypto_cipher_alg_key_size(luks_cipher_families[family].algs[k]) == digest) {
            *essiv = luks_cipher_families[family].algs[k];
            return 0;
        }
    }
    return error_set(errp, "No %s cipher with key size %zu available", luks_cipher_families[family].essiv_name,
                     digest);
}

/* Splits "MODE-IVGEN[:HASH]" and resolves the mode and the generator. */
static int luks_mode_parse(const char *text, luks_algorithms *algorithms, bool *has_ivgen_hash, error **errp)
{
    char mode[LUKS_NAME_SIZE + 1];
    const char *dash = strchr(text, '-');
    if (dash == NULL)
        return error_set(errp, "Unexpected cipher mode string format '%s'", text);
    size_t mode_length = (size_t)(dash - text);
    memcpy(mode, text, mode_length);
    mode[mode_length] = '\0';
    if (!crypto_cipher_mode_parse(mode, &algorithms->mode))
        return error_set(errp, "Cipher mode '%s' not supported", mode);
    char ivgen[LUKS_NAME_SIZE + 1];
    snprintf(ivgen, sizeof(ivgen), "%s", dash + 1);
    char *colon = strchr(ivgen, ':');
    *has_ivgen_hash = colon != NULL;
    if (colon != NULL)
        *colon = '\0';
    if (!crypto_ivgen_alg_parse(ivgen, &algorithms->ivgen) || algorithms->ivgen == CRYPTO_IVGEN_BENBI)
        return error_set(errp, "IV generator '%s' not supported", ivgen);
    if (algorithms->ivgen != CRYPTO_IVGEN_ESSIV)
        return 0;
    if (colon == NULL)
        return error_set(errp, "Missing IV generator hash specification");
    if (!crypto_hash_alg_parse(colon + 1, &algorithms->ivgen_hash))
        return error_set(errp, "Hash algorithm '%s' not supported", colon + 1);
    return 0;
}

int luks_algorithms_parse(const char *cipher_name, const char *cipher_mode, uint32_t key_bytes,
                          luks_algorithms *algorithms, error **errp)
{
    bool has_ivgen_hash = false;
    memset(algorithms, 0, sizeof(*algorithms));
    if (luks_mode_parse(cipher_mode, algorithms, &has_ivgen_hash, errp) < 0)
        return -1;
    size_t key_size = algorithms->mode == CRYPTO_CIPHER_MODE_XTS ? key_bytes / 2 : key_bytes;
    if (luks_cipher_lookup(cipher_name, key_size, &algorithms->cipher, errp) < 0)
        return -1;
    if (algorithms->ivgen == CRYPTO_IVGEN_ESSIV)
        return luks_essiv_cipher_find(algorithms->cipher, algorithms->ivgen_hash, &algorithms->ivgen_cipher, errp);
    algorithms->ivgen_cipher = algorithms->cipher;
    return 0;
}

int luks_header_validate(const luks_header *header, uint64_t file_length, bool detached, luks_algorithms *algorithms,
                         error **errp)
{
    (void)file_length;
    if (!luks_magic_matches(header->magic, LUKS_MAGIC_SIZE))
        return error_set(errp, "Volume is not in LUKS format");
    if (header->version != 1)
        return error_set(errp, "LUKS version %u is not supported", header->version);
    if (!detached && header->payload_offset_sectors < LUKS_ALIGNMENT / LUKS_SECTOR_SIZE)
        return error_set(errp, "LUKS payload is overlapping with the header");
    if (header->master_key_iterations == 0)
        return error_set(errp, "LUKS key iteration count is zero");
    for (unsigned index = 0; index < LUKS_SLOT_COUNT; index++)
        if (luks_slot_validate(header, index, detached, errp) < 0)
            return -1;
    if (luks_algorithms_parse(header->cipher_name, header->cipher_mode, header->master_key_bytes, algorithms, errp) <
        0)
        return -1;
    if (!crypto_hash_alg_parse(header->hash_spec, &algorithms->hash))
        return error_set(errp, "Hash algorithm '%s' not supported", header->hash_spec);
    return 0;
}
