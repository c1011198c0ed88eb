/* luks.h — LUKS1 as qemu 10.2 writes and reads it: the 592-byte header, the eight key slots, the
 * payload after them, and the pure parsers of spec/luks.md §Header, §Key slots. */
#ifndef QIMG_FORMATS_LUKS_H
#define QIMG_FORMATS_LUKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../block/block.h"
#include "../../crypto/crypto_cipher.h"
#include "../../crypto/crypto_hash.h"
#include "../../crypto/crypto_ivgen.h"
#include "../../util/error.h"

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

/* Recovers the master key from the first active slot the passphrase opens; writes it to
 * master_key (header->master_key_bytes bytes). Returns 0, or -1 with *errp set ("Invalid password,
 * cannot unlock any keyslot" when none opens). */
int luks_master_key_unlock(block_node *file, uint64_t header_offset, const luks_header *header,
                           const luks_algorithms *algorithms, const uint8_t *passphrase, size_t passphrase_length,
                           uint8_t *master_key, int *slot_found, error **errp);

/* Tries slot index (active): derives its key from the passphrase, decrypts and merges its material
 * into candidate (master_key_bytes bytes) and compares the digest with the header's; sets *opened.
 * Returns 0, or -1 with *errp set on an error other than a wrong passphrase. */
int luks_slot_open(block_node *file, uint64_t header_offset, const luks_header *header,
                   const luks_algorithms *algorithms, unsigned index, const uint8_t *passphrase,
                   size_t passphrase_length, uint8_t *candidate, bool *opened, error **errp);

/* Erases slot index of header: random bytes over its key material in file, then the slot marked
 * inactive with no iterations and no salt (the header itself is the caller's to write). */
int luks_slot_erase(block_node *file, luks_header *header, unsigned index, error **errp);

/* Stores the master key in slot index of header under the passphrase: fresh salt, iterations for
 * iter_time_ms, the key material split, encrypted and written to file at the slot's offset. */
int luks_slot_store(block_node *file, luks_header *header, const luks_algorithms *algorithms, unsigned index,
                    const uint8_t *master_key, const uint8_t *passphrase, size_t passphrase_length,
                    uint64_t iter_time_ms, error **errp);

/* The PBKDF2 count for iter_time_ms of this machine's time deriving key_bytes with hash, divided by
 * divisor, at least LUKS_MIN_ITERATIONS. Returns 0 with *errp set on failure. */
uint64_t luks_iterations_for(crypto_hash_alg hash, size_t key_bytes, uint64_t iter_time_ms, uint64_t divisor,
                             error **errp);

/* The driver's pieces in other files. */
extern const option_desc luks_create_options[];
extern const option_desc luks_amend_options[];
int luks_create(const char *filename, const option_list *options, error **errp);
int luks_measure(const option_list *options, block_node *in, uint64_t size, measure_result *out, error **errp);
int luks_amend(block_node *node, const option_list *options, bool force, error **errp);
int luks_create_options_resolve(const option_list *options, luks_algorithms *algorithms, error **errp);

/* The open image. */
typedef struct luks_state {
    luks_header header;
    luks_algorithms algorithms;
    uint64_t payload_offset;       /* bytes */
    uint8_t master_key[LUKS_MAX_KEY_BYTES];
    bool unlocked;                 /* the master key is known (not an info-only open) */
    luks_payload_cipher payload;
    char *key_secret;              /* the secret id the image was opened with */
} luks_state;

/* Writes the header of the open image back to its file (amend). */
int luks_header_store(block_node *node, error **errp);

#endif
