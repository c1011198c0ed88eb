/* luks_block.h — a LUKS1 header and its key slots at some offset of a file, as qemu 10.2 writes and
 * reads them: the pure parsers, the key slots, the payload cipher, creation, unlocking, amending and
 * the info block. Shared by the luks driver (the header at offset 0, the payload after it) and
 * qcow2's encrypt.format=luks (the header in the clusters its FDE extension names)
 * (spec/luks.md §Header, §Key slots, §Payload, §Creation, §Amend, §Info; spec/qcow2.md §Encryption). */
#ifndef QIMG_FORMATS_COMMON_LUKS_BLOCK_H
#define QIMG_FORMATS_COMMON_LUKS_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../block/block.h"
#include "../../crypto/crypto_cipher.h"
#include "../../crypto/crypto_hash.h"
#include "../../crypto/crypto_ivgen.h"
#include "../../util/error.h"
#include "../../util/json.h"
#include "../../util/options.h"

#define LUKS_MAGIC_SIZE 6u
#define LUKS_HEADER_SIZE 592u           /* bytes of the header with its eight slots */
#define LUKS_SECTOR_SIZE 512u
#define LUKS_NAME_SIZE 32u              /* cipher name, cipher mode, hash spec fields */
#define LUKS_DIGEST_SIZE 20u            /* the master key digest */
#define LUKS_SALT_SIZE 32u
#define LUKS_UUID_SIZE 40u
#define LUKS_SLOT_COUNT 8u
#define LUKS_SLOT_SIZE 48u
#define LUKS_STRIPES 4000u              /* the anti-forensic stripes qemu writes */
#define LUKS_SLOT_ACTIVE 0x00ac71f3u
#define LUKS_SLOT_INACTIVE 0x0000deadu
#define LUKS_ALIGNMENT 4096u            /* key material and payload alignment qemu uses */
#define LUKS_MIN_ITERATIONS 1000u       /* the least PBKDF2 count qemu writes for a slot or the digest */
#define LUKS_MAX_KEY_BYTES 64u          /* the largest master key (two aes-256 halves for xts) */
#define LUKS_MAX_STRIPES 65536u         /* bound on a slot's stripes before anything is allocated */

/* One key slot as stored (offsets in 512-byte sectors). */
typedef struct luks_slot {
    uint32_t active;
    uint32_t iterations;
    uint8_t salt[LUKS_SALT_SIZE];
    uint32_t key_offset_sectors;
    uint32_t stripes;
} luks_slot;

/* The header fields, decoded; strings are NUL-terminated copies of the fixed fields. */
typedef struct luks_header {
    uint8_t magic[LUKS_MAGIC_SIZE];
    uint16_t version;
    char cipher_name[LUKS_NAME_SIZE + 1];
    char cipher_mode[LUKS_NAME_SIZE + 1];
    char hash_spec[LUKS_NAME_SIZE + 1];
    uint32_t payload_offset_sectors;
    uint32_t master_key_bytes;
    uint8_t master_key_digest[LUKS_DIGEST_SIZE];
    uint8_t master_key_salt[LUKS_SALT_SIZE];
    uint32_t master_key_iterations;
    char uuid[LUKS_UUID_SIZE + 1];
    luks_slot slots[LUKS_SLOT_COUNT];
} luks_header;

/* The algorithms a header names, resolved. */
typedef struct luks_algorithms {
    crypto_cipher_alg cipher;
    crypto_cipher_mode mode;
    crypto_ivgen_alg ivgen;
    crypto_cipher_alg ivgen_cipher;  /* essiv: the cipher keyed by the hash of the key */
    crypto_hash_alg ivgen_hash;      /* essiv only */
    crypto_hash_alg hash;
} luks_algorithms;

/* Decodes the header from the first length bytes of buf (at least LUKS_HEADER_SIZE). */
void luks_header_read_data(const uint8_t *buf, size_t length, luks_header *header);

/* Encodes header into buf (LUKS_HEADER_SIZE bytes). */
void luks_header_write_data(const luks_header *header, uint8_t *buf);

/* Whether buf starts with the LUKS magic. */
bool luks_magic_matches(const uint8_t *buf, size_t length);

/* Checks the header's version, names, slots and payload as qemu's open does, in its order and
 * wording, against a file of file_length bytes; fills algorithms. Returns 0, or -1 with *errp set. */
int luks_header_validate(const luks_header *header, uint64_t file_length, bool detached, luks_algorithms *algorithms,
                         error **errp);

/* Parses the header's cipher name, mode and key size into algorithms. Returns 0, or -1 with *errp. */
int luks_algorithms_parse(const char *cipher_name, const char *cipher_mode, uint32_t key_bytes,
                          luks_algorithms *algorithms, error **errp);

/* The essiv cipher for the data cipher alg and hash: the same cipher family with the hash's digest
 * size as key. Returns 0, or -1 with *errp set in qemu's words. */
int luks_essiv_cipher_find(crypto_cipher_alg alg, crypto_hash_alg hash, crypto_cipher_alg *essiv, error **errp);

/* The family name a header stores for alg ("aes", "serpent"...). */
const char *luks_cipher_family_name(crypto_cipher_alg alg);

/* The bytes one slot's key material occupies: key bytes times stripes, aligned to 4 KiB. */
uint64_t luks_slot_area_bytes(uint32_t key_bytes, uint32_t stripes);

/* The sector-by-sector payload cipher of an open image. */
typedef struct luks_payload_cipher {
    crypto_cipher *cipher;
    crypto_ivgen *ivgen;
    size_t iv_length;
} luks_payload_cipher;

/* Builds the payload (or key material) cipher of algorithms under key. Returns 0, or -1 with *errp. */
int luks_payload_cipher_init(luks_payload_cipher *payload, const luks_algorithms *algorithms, const uint8_t *key,
                             size_t key_length, error **errp);

/* Encrypts (encrypt) or decrypts length bytes at buf, whole 512-byte sectors, the first being sector
 * number first_sector. Returns 0, or -1 with *errp set. */
int luks_payload_cipher_run(luks_payload_cipher *payload, bool encrypt, uint64_t first_sector, uint8_t *buf,
                            size_t length, error **errp);

void luks_payload_cipher_clear(luks_payload_cipher *payload);

/* Erases slot index of header (at header_offset of file): random bytes over its key material, then
 * the slot marked inactive with no iterations and no salt (the header itself is the caller's to
 * write). */
int luks_slot_erase(block_node *file, uint64_t header_offset, luks_header *header, unsigned index, error **errp);

/* Stores the master key in slot index of header (at header_offset of file) under the passphrase:
 * fresh salt, iterations for iter_time_ms, the key material split, encrypted and written at the
 * slot's offset. */
int luks_slot_store(block_node *file, uint64_t header_offset, luks_header *header, const luks_algorithms *algorithms, unsigned index,
                    const uint8_t *master_key, const uint8_t *passphrase, size_t passphrase_length,
                    uint64_t iter_time_ms, error **errp);

/* The PBKDF2 count for iter_time_ms of this machine's time deriving key_bytes with hash, divided by
 * divisor, at least LUKS_MIN_ITERATIONS. Returns 0 with *errp set on failure. */
uint64_t luks_iterations_for(crypto_hash_alg hash, size_t key_bytes, uint64_t iter_time_ms, uint64_t divisor,
                             error **errp);

/* The creation request, as the options give it (names are those of the luks driver; qcow2 gives
 * them with the "encrypt." prefix). */
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

/* Reads the options qemu checks before anything is made (types, then the enums in its order); keys
 * are looked up as prefix + name ("" for the luks driver, "encrypt." for qcow2). Returns 0, or -1
 * with *errp set in qemu's words. */
int luks_create_request_parse(const option_list *options, const char *prefix, luks_create_request *request,
                              error **errp);

/* Resolves the request's names into algorithms, refusing what qemu refuses, in its order. */
int luks_create_algorithms_resolve(const luks_create_request *request, luks_algorithms *algorithms, error **errp);

/* The bytes the header and its eight key-material areas take for algorithms (the payload offset of
 * an attached header). */
uint64_t luks_header_area_bytes(const luks_algorithms *algorithms);

/* An open (or new) LUKS block: where its header is, the header, and once unlocked the master key
 * and the payload cipher. */
typedef struct luks_block {
    block_node *file;              /* borrowed */
    uint64_t header_offset;
    uint64_t area_length;          /* bytes from header_offset the block may read (0: the whole file) */
    luks_header header;
    luks_algorithms algorithms;
    uint8_t master_key[LUKS_MAX_KEY_BYTES];
    bool unlocked;
    luks_payload_cipher payload;
} luks_block;

/* Writes a new header at header_offset of file for request (algorithms resolved from it), with the
 * passphrase in slot 0, and leaves block unlocked on it. Returns 0, or -1 with *errp set. */
int luks_block_format(luks_block *block, block_node *file, uint64_t header_offset,
                      const luks_create_request *request, const luks_algorithms *algorithms,
                      const uint8_t *passphrase, size_t passphrase_length, error **errp);

/* Reads and checks the header at header_offset of file as qemu's open does (detached: a header
 * with no payload after it); area_length (0: unbounded) bounds what the block may read, as qcow2's
 * FDE extension does. Returns 0, or -1 with *errp set. */
int luks_block_open(luks_block *block, block_node *file, uint64_t header_offset, uint64_t area_length, bool detached,
                    error **errp);

/* Fails in qemu's words when [offset, offset+length) of the block lies past its area. */
int luks_block_area_check(const luks_block *block, uint64_t offset, uint64_t length, error **errp);

/* Unlocks the opened block with the secret secret_id (missing_key names the option qemu asks for
 * when it is NULL) and keys the payload cipher. Returns 0, or -1 with *errp set. */
int luks_block_unlock(luks_block *block, const char *secret_id, const char *missing_key, error **errp);

/* Encrypts (encrypt) or decrypts length bytes (whole sectors) at buf, the first being payload
 * sector first_sector. Returns 0, or -1 with *errp set. */
int luks_block_payload_run(luks_block *block, bool encrypt, uint64_t first_sector, uint8_t *buf, size_t length,
                           error **errp);

/* Writes the block's header back to its file. */
int luks_block_header_store(luks_block *block, error **errp);

/* The info block qemu lists for a LUKS header; with_format adds "format": "luks" (qcow2's
 * "encrypt" object). */
json_value *luks_block_info_data(const luks_block *block, bool detached, bool with_format);

/* Amends the key slots of the unlocked block as qemu-img amend does, options looked up as prefix +
 * name. Returns 0, or -1 with *errp set in qemu's words. */
int luks_block_amend(luks_block *block, const option_list *options, const char *prefix, bool force, error **errp);

/* Recovers the master key into block->master_key from the first active slot the passphrase opens.
 * Returns 0, or -1 with *errp set ("Invalid password, cannot unlock any keyslot" when none opens). */
int luks_master_key_unlock(luks_block *block, const uint8_t *passphrase, size_t passphrase_length, int *slot_found,
                           error **errp);

/* Tries slot index (active) of block: derives its key from the passphrase, decrypts and merges its
 * material into candidate (master_key_bytes bytes) and compares the digest with the header's; sets
 * *opened. Returns 0, or -1 with *errp set on an error other than a wrong passphrase. */
int luks_slot_open(const luks_block *block, unsigned index, const uint8_t *passphrase, size_t passphrase_length,
                   uint8_t *candidate, bool *opened, error **errp);

/* Forgets the key (wiped) and the cipher. */
void luks_block_clear(luks_block *block);

#endif
