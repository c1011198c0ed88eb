/* qcow2_crypt.c — qcow2's encryption: crypt method 1 (legacy AES-128-CBC, IVs from the guest
 * sector, the key from the passphrase: formats/common/format_crypt) and 2 (a LUKS block in the
 * clusters the FDE header extension names, IVs from the host sector: formats/common/luks_block):
 * the runtime options, opening, the data path's sector cipher, creation, measure, amend and the
 * info block (spec/qcow2.md §Encryption). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qcow2.h"
#include "../common/format_crypt.h"
#include "../common/format_io.h"
#include "../../block/secret.h"
#include "../../crypto/crypto_afsplit.h"
#include "../../util/memory.h"

/* The encrypt.* runtime options qemu's crypto layer knows for opening, either method (without the
 * prefix). */
static const char *const qcow2_crypt_open_keys[] = {"format", "key-secret", NULL};

/* The format name of a crypt method as qemu names it in its errors and info. */
static const char *qcow2_crypt_format_name(uint32_t method)
{
    return method == QCOW2_CRYPT_AES ? "aes" : "luks";
}

int qcow2_crypt_options_check(const qcow2_state *s, const option_list *options, error **errp)
{
    const char *format = options ? option_list_get(options, "encrypt.format") : NULL;
    if (s->crypt_method == QCOW2_CRYPT_NONE) {
        if (format)
            return error_set(errp, "No encryption in image header, but options specified format '%s'", format);
        return 0;
    }
    const char *name = qcow2_crypt_format_name(s->crypt_method);
    if (format && strcmp(format, name) != 0)
        return error_set(errp, "Header reported '%s' encryption format but options specify '%s'", name, format);
    const char *const *known = qcow2_crypt_open_keys;
    for (size_t i = 0; options && i < options->count; i++) {
        const char *key = options->entries[i].key;
        if (strncmp(key, "encrypt.", 8) != 0)
            continue;
        bool found = false;
        for (size_t k = 0; !found && known[k]; k++)
            found = strcmp(known[k], key + 8) == 0;
        if (!found)
            return error_set(errp, "Parameter '%s' is unexpected", key + 8);
    }
    return 0;
}

int qcow2_crypt_extension_check(const qcow2_state *s, error **errp)
{
    if (s->crypto_header_offset % s->cluster_size != 0)
        return error_set(errp, "Encryption header offset '%llu' is not a multiple of cluster size '%llu'",
                         (unsigned long long)s->crypto_header_offset, (unsigned long long)s->cluster_size);
    return 0;
}

/* Opens crypt method 1: only the key is needed, derived from the secret's first 16 bytes. */
static int qcow2_crypt_open_aes(block_node *node, const char *secret, int flags, error **errp)
{
    qcow2_state *s = node->state;
    size_t length = 0;
    if (flags & BLOCK_OPEN_NO_IO)
        return 0;
    if (secret == NULL)
        return error_set(errp, "Parameter 'encrypt.key-secret' is required for cipher");
    const uint8_t *passphrase = secret_lookup(secret, &length, errp);
    if (passphrase == NULL)
        return -1;
    s->crypt = memory_alloc_zero(sizeof(*s->crypt));
    format_crypt_legacy_key(s->crypt->aes_key, passphrase, length);
    s->crypt->unlocked = true;
    return 0;
}

/* Opens crypt method 2: the LUKS block in the extension's area, unlocked unless only metadata is
 * wanted (qemu asks for the secret before it reads the header). */
static int qcow2_crypt_open_luks(block_node *node, const char *secret, int flags, error **errp)
{
    qcow2_state *s = node->state;
    size_t length = 0;
    if (s->crypto_header_offset == 0 && s->crypto_header_length == 0)
        return error_set(errp, "Missing CRYPTO header for crypt method %u", s->crypt_method);
    bool io = !(flags & BLOCK_OPEN_NO_IO);
    if (io && secret == NULL)
        return error_set(errp, "Parameter 'encrypt.key-secret' is required for cipher");
    if (io && secret_lookup(secret, &length, errp) == NULL)
        return -1;
    s->crypt = memory_alloc_zero(sizeof(*s->crypt));
    if (luks_block_open(&s->crypt->luks, node->file, s->crypto_header_offset, s->crypto_header_length, false,
                        errp) < 0)
        return -1;
    s->crypt->has_luks = true;
    if (!io)
        return 0;
    if (luks_block_unlock(&s->crypt->luks, secret, "encrypt.key-secret", errp) < 0)
        return -1;
    s->crypt->unlocked = true;
    return 0;
}

int qcow2_crypt_open(block_node *node, const option_list *options, int flags, error **errp)
{
    qcow2_state *s = node->state;
    const char *secret = options ? option_list_get(options, "encrypt.key-secret") : NULL;
    if (s->crypt_method == QCOW2_CRYPT_NONE)
        return 0;
    node->encrypted = true;
    if (s->crypt_method == QCOW2_CRYPT_AES)
        return qcow2_crypt_open_aes(node, secret, flags, errp);
    return qcow2_crypt_open_luks(node, secret, flags, errp);
}

void qcow2_crypt_close(qcow2_state *s)
{
    if (s->crypt == NULL)
        return;
    if (s->crypt->has_luks)
        luks_block_clear(&s->crypt->luks);
    crypto_memory_wipe(s->crypt, sizeof(*s->crypt));
    free(s->crypt);
    s->crypt = NULL;
}

int qcow2_crypt_run(block_node *node, bool encrypt, uint64_t host_offset, uint64_t guest_offset, uint8_t *buf,
                    size_t length, error **errp)
{
    qcow2_state *s = node->state;
    if (s->crypt == NULL || !s->crypt->unlocked)
        return error_set(errp, "Parameter 'encrypt.key-secret' is required for cipher");
    if (s->crypt_method == QCOW2_CRYPT_AES) {
        if (format_crypt_sectors(s->crypt->aes_key, encrypt, guest_offset / QCOW2_CRYPT_SECTOR, buf, length) < 0)
            return error_set(errp, "Input/output error");
        return 0;
    }
    return luks_block_payload_run(&s->crypt->luks, encrypt, host_offset / QCOW2_CRYPT_SECTOR, buf, length, errp);
}

int qcow2_crypt_read(block_node *node, uint64_t host_offset, uint64_t guest_offset, size_t length, uint8_t *buf,
                     error **errp)
{
    qcow2_state *s = node->state;
    uint64_t head = host_offset % QCOW2_CRYPT_SECTOR;
    size_t span = format_align_up(head + length, QCOW2_CRYPT_SECTOR);
    uint8_t *bounce = memory_alloc_zero(span);
    int ret = format_file_read(s->data_node, host_offset - head, span, bounce, errp);
    if (ret == 0)
        ret = qcow2_crypt_run(node, false, host_offset - head, guest_offset - head, bounce, span, errp);
    if (ret == 0)
        memcpy(buf, bounce + head, length);
    crypto_memory_wipe(bounce, span);
    free(bounce);
    return ret;
}

json_value *qcow2_crypt_info(const qcow2_state *s)
{
    if (s->crypt_method == QCOW2_CRYPT_LUKS && s->crypt && s->crypt->has_luks)
        return luks_block_info_data(&s->crypt->luks, false, true);
    json_value *encrypt = json_object_new();
    json_object_set_string(encrypt, "format", qcow2_crypt_format_name(s->crypt_method));
    return encrypt;
}

/* ---- creation ---- */

int qcow2_crypt_create_params_parse(const option_list *options, qcow2_crypt_create_params *out, error **errp)
{
    memset(out, 0, sizeof(*out));
    const char *format = NULL;
    if (format_crypt_create_format(options, &format, errp) < 0)
        return -1;
    bool other = false;
    for (size_t i = 0; i < options->count; i++)
        other |= strncmp(options->entries[i].key, "encrypt.", 8) == 0 &&
                 strcmp(options->entries[i].key, "encrypt.format") != 0;
    if (format == NULL) {
        if (other)
            return error_set(errp, "Parameter 'encrypt.format' is missing");
        return 0;
    }
    if (strcmp(format, "aes") == 0) {
        out->method = QCOW2_CRYPT_AES;
        for (size_t i = 0; i < options->count; i++) {
            const char *key = options->entries[i].key;
            if (strncmp(key, "encrypt.", 8) == 0 && strcmp(key, "encrypt.format") != 0 &&
                strcmp(key, "encrypt.key-secret") != 0)
                return error_set(errp, "Parameter '%s' is unexpected", key);
        }
        out->key_secret = option_list_get(options, "encrypt.key-secret");
        return 0;
    }
    if (strcmp(format, "luks") != 0)
        return error_set(errp, "Parameter 'format' does not accept value '%s'", format);
    out->method = QCOW2_CRYPT_LUKS;
    if (luks_create_request_parse(options, "encrypt.", &out->luks, errp) < 0)
        return -1;
    out->key_secret = out->luks.key_secret;
    return 0;
}

/* Lays a new LUKS block into fresh zeroed clusters of the image (qemu's qcow2_crypto_hdr_init_func
 * and write func) and records it in the header fields. */
static int qcow2_crypt_create_luks(block_node *node, const qcow2_crypt_create_params *params,
                                   const uint8_t *passphrase, size_t passphrase_length, error **errp)
{
    qcow2_state *s = node->state;
    luks_algorithms algorithms;
    luks_block block;
    if (luks_create_algorithms_resolve(&params->luks, &algorithms, errp) < 0)
        return -1;
    uint64_t header_bytes = luks_header_area_bytes(&algorithms);
    int64_t offset = qcow2_clusters_alloc(node, header_bytes, errp);
    if (offset < 0)
        return -1;
    uint64_t clusters_bytes = qcow2_size_to_clusters(s, header_bytes) * s->cluster_size;
    /* written as zero bytes (allocated on disk, as qemu's zero write of them is) */
    uint8_t *zeroes = memory_alloc_zero((size_t)clusters_bytes);
    int written = format_file_write(node->file, (uint64_t)offset, (size_t)clusters_bytes, zeroes, errp);
    free(zeroes);
    if (written < 0)
        return -1;
    s->crypto_header_offset = (uint64_t)offset;
    s->crypto_header_length = header_bytes;
    int ret = luks_block_format(&block, node->file, (uint64_t)offset, &params->luks, &algorithms, passphrase,
                                passphrase_length, errp);
    if (ret == 0)
        luks_block_clear(&block);
    return ret;
}

int qcow2_crypt_create(block_node *node, const qcow2_crypt_create_params *params, error **errp)
{
    qcow2_state *s = node->state;
    size_t length = 0;
    if (params->method == QCOW2_CRYPT_NONE)
        return 0;
    if (params->key_secret == NULL)
        return error_set(errp, "Parameter 'encrypt.key-secret' is required for cipher");
    const uint8_t *passphrase = secret_lookup(params->key_secret, &length, errp);
    if (passphrase == NULL)
        return -1;
    s->crypt_method = params->method;
    if (params->method == QCOW2_CRYPT_LUKS &&
        qcow2_crypt_create_luks(node, params, passphrase, length, errp) < 0)
        return -1;
    if (qcow2_header_update(node, errp) < 0) {
        error_prepend(errp, "Could not write encryption header: ");
        return -1;
    }
    return 0;
}

int qcow2_crypt_measure(const option_list *options, uint64_t cluster_size, uint64_t *header_bytes, error **errp)
{
    qcow2_crypt_create_params params;
    luks_algorithms algorithms;
    size_t length = 0;
    *header_bytes = 0;
    if (qcow2_crypt_create_params_parse(options, &params, errp) < 0)
        return -1;
    if (params.method != QCOW2_CRYPT_LUKS)
        return 0;
    if (params.key_secret == NULL)
        return error_set(errp, "Parameter 'encrypt.key-secret' is required for cipher");
    if (secret_lookup(params.key_secret, &length, errp) == NULL ||
        luks_create_algorithms_resolve(&params.luks, &algorithms, errp) < 0)
        return -1;
    uint64_t bytes = luks_header_area_bytes(&algorithms);
    *header_bytes = (bytes + cluster_size - 1) / cluster_size * cluster_size;
    return 0;
}

int qcow2_crypt_amend(block_node *node, const option_list *options, bool force, error **errp)
{
    qcow2_state *s = node->state;
    return luks_block_amend(&s->crypt->luks, options, "encrypt.", force, errp);
}
