/* luks_driver.c — the LUKS1 driver table: probing, opening (the header checks, the key secret, the
 * unlock), sector-wise encrypted reads and writes of the payload, resize and the info data
 * (spec/luks.md §Opening, §Payload, §Info). */
#include <stdlib.h>
#include <string.h>

#include "luks.h"
#include "../common/format_io.h"
#include "../../block/open.h"
#include "../../block/secret.h"
#include "../../crypto/crypto_afsplit.h"
#include "../../util/memory.h"

/* Reads and writes go through a bounce buffer of at most this many bytes. */
#define LUKS_BOUNCE_BYTES (1u << 20)

/* Scores a buffer: 100 for the LUKS magic with version 1 (qemu probes LUKS2 as something else). */
static int luks_probe(const uint8_t *buf, size_t buf_size, const char *filename)
{
    (void)filename;
    if (buf_size >= 8 && luks_magic_matches(buf, buf_size) && buf[6] == 0 && buf[7] == 1)
        return 100;
    return 0;
}

/* Frees the state, wiping the key. */
static void luks_state_free(block_node *node)
{
    luks_state *s = node->state;
    if (s == NULL)
        return;
    luks_block_clear(&s->block);
    if (s->header_node && !s->header_adopted)
        block_node_close(s->header_node);
    free(s->key_secret);
    free(s);
    node->state = NULL;
}

/* Refuses runtime options qemu's luks driver does not know. */
static int luks_runtime_options_check(option_list *options, error **errp)
{
    static const char *const known[] = {"key-secret", "node-name", "read-only", "auto-read-only", "force-share",
                                        "discard", "detect-zeroes", "cache.direct", "cache.no-flush",
                                        "header.filename", "header.driver", NULL};
    for (size_t i = 0; options && i < options->count; i++) {
        const char *key = options->entries[i].key;
        bool found = false;
        for (size_t k = 0; !found && known[k]; k++)
            found = strcmp(known[k], key) == 0;
        if (!found)
            return error_set(errp, "Block format 'luks' does not support the option '%s'", key);
    }
    return 0;
}

/* Unlocks the master key with the secret named by options and keys the payload cipher. */
static int luks_open_unlock(block_node *node, option_list *options, error **errp)
{
    luks_state *s = node->state;
    const char *secret = options ? option_list_get(options, "key-secret") : NULL;
    if (luks_block_unlock(&s->block, secret, "key-secret", errp) < 0)
        return -1;
    s->key_secret = memory_strdup(secret);
    return 0;
}

/* qemu asks for the key secret (and looks it up) before it reads the header, unless only metadata is
 * wanted. Returns 0, or -1 with *errp set. */
static int luks_open_secret_check(option_list *options, int flags, error **errp)
{
    const char *secret = options ? option_list_get(options, "key-secret") : NULL;
    size_t length = 0;
    if (flags & BLOCK_OPEN_NO_IO)
        return 0;
    if (secret == NULL)
        return error_set(errp, "Parameter 'key-secret' is required for cipher");
    return secret_lookup(secret, &length, errp) ? 0 : -1;
}

/* Opens the file of a detached header that header.filename names (header.driver, when given, must
 * be "file"). Returns 0 (s->header_node NULL without the option), or -1 with *errp set. */
static int luks_header_node_open(block_node *node, option_list *options, int flags, error **errp)
{
    luks_state *s = node->state;
    const char *name = options ? option_list_get(options, "header.filename") : NULL;
    const char *driver = options ? option_list_get(options, "header.driver") : NULL;
    if (name == NULL)
        return 0;
    if (driver && strcmp(driver, "file") != 0) /* a format driver over nothing: qemu asks for its file */
        return error_set(errp, "A block device must be specified for \"file\"");
    int protocol_flags = flags & (BLOCK_OPEN_READ_WRITE | BLOCK_OPEN_FORCE_SHARE | BLOCK_OPEN_CACHE_DIRECT |
                                  BLOCK_OPEN_NO_FLUSH | BLOCK_OPEN_WRITE_THROUGH);
    s->header_node = block_protocol_open(name, protocol_flags, errp);
    return s->header_node ? 0 : -1;
}

/* The json: name of an image with a detached header opened with its key, in qemu's key order. */
static void luks_json_name_set_detached(block_node *node, const char *secret)
{
    luks_state *s = node->state;
    json_value *root = json_object_new();
    json_object_set(root, "header", block_node_protocol_object(s->header_node));
    json_object_set_string(root, "driver", "luks");
    json_object_set(root, "file", block_node_protocol_object(node->file));
    json_object_set_string(root, "key-secret", secret);
    block_node_json_name_take(node, root);
}

/* Opens node (node->file is open): validates the header, unlocks the key unless only metadata is
 * wanted, and sizes the payload. */
static int luks_open(block_node *node, option_list *options, int flags, error **errp)
{
    luks_state *s = memory_alloc_zero(sizeof(*s));
    node->state = s;
    if (luks_runtime_options_check(options, errp) < 0 || luks_open_secret_check(options, flags, errp) < 0 ||
        luks_header_node_open(node, options, flags, errp) < 0 ||
        luks_block_open(&s->block, s->header_node ? s->header_node : node->file, 0, 0, s->header_node != NULL,
                        errp) < 0)
        goto fail;
    uint64_t file_length = format_file_length(node->file);
    node->encrypted = true;
    if (!(flags & BLOCK_OPEN_NO_IO) && luks_open_unlock(node, options, errp) < 0)
        goto fail;
    s->payload_offset = (uint64_t)s->block.header.payload_offset_sectors * LUKS_SECTOR_SIZE;
    if (s->payload_offset > file_length) {
        error_set(errp, "Could not refresh total sector count: Input/output error");
        goto fail;
    }
    node->size = format_align_up(file_length - s->payload_offset, LUKS_SECTOR_SIZE);
    node->request_alignment = LUKS_SECTOR_SIZE;
    node->read_only = !(flags & BLOCK_OPEN_READ_WRITE);
    const char *secret = options ? option_list_get(options, "key-secret") : NULL;
    if (s->header_node && secret)
        luks_json_name_set_detached(node, secret);
    else if (secret)
        block_node_json_name_set_option(node, "key-secret", secret);
    if (s->header_node) {
        block_node_add_child(node, "header", s->header_node);
        s->header_adopted = true;
    }
    return 0;
fail:
    luks_state_free(node);
    return -1;
}

static void luks_close(block_node *node)
{
    luks_state_free(node);
}

/* The error of I/O on an image opened without its key (info's metadata-only open never does any). */
static int luks_locked_error(error **errp)
{
    return error_set(errp, "Parameter 'key-secret' is required for cipher");
}

/* Reads the whole sectors [start, start+length) of the payload into buf, decrypted. */
static int luks_sectors_read(block_node *node, uint64_t start, size_t length, uint8_t *buf, error **errp)
{
    luks_state *s = node->state;
    if (format_file_read(node->file, s->payload_offset + start, length, buf, errp) < 0)
        return -1;
    return luks_block_payload_run(&s->block, false, start / LUKS_SECTOR_SIZE, buf, length, errp);
}

/* Reads length bytes at offset, a bounce buffer of aligned sectors at a time. */
static int luks_read(block_node *node, uint64_t offset, size_t length, uint8_t *buf, error **errp)
{
    luks_state *s = node->state;
    uint8_t *bounce = NULL;
    int ret = -1;
    if (!s->block.unlocked)
        return luks_locked_error(errp);
    bounce = memory_alloc_zero(LUKS_BOUNCE_BYTES);
    while (length > 0) {
        uint64_t start = offset / LUKS_SECTOR_SIZE * LUKS_SECTOR_SIZE;
        size_t skip = (size_t)(offset - start);
        size_t span = format_align_up(skip + length, LUKS_SECTOR_SIZE);
        if (span > LUKS_BOUNCE_BYTES)
            span = LUKS_BOUNCE_BYTES;
        size_t piece = span - skip < length ? span - skip : length;
        if (luks_sectors_read(node, start, span, bounce, errp) < 0)
            goto cleanup;
        memcpy(buf, bounce + skip, piece);
        buf += piece;
        offset += piece;
        length -= piece;
    }
    ret = 0;
cleanup:
    crypto_memory_wipe(bounce, LUKS_BOUNCE_BYTES);
    free(bounce);
    return ret;
}

/* Writes length bytes at offset: partial sectors are read, patched and re-encrypted. */
static int luks_write(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, int flags, error **errp)
{
    luks_state *s = node->state;
    uint8_t *bounce = NULL;
    int ret = -1;
    (void)flags;
    if (!s->block.unlocked)
        return luks_locked_error(errp);
    bounce = memory_alloc_zero(LUKS_BOUNCE_BYTES);
    while (length > 0) {
        uint64_t start = offset / LUKS_SECTOR_SIZE * LUKS_SECTOR_SIZE;
        size_t skip = (size_t)(offset - start);
        size_t span = format_align_up(skip + length, LUKS_SECTOR_SIZE);
        if (span > LUKS_BOUNCE_BYTES)
            span = LUKS_BOUNCE_BYTES;
        size_t piece = span - skip < length ? span - skip : length;
        bool partial = skip != 0 || piece != span;
        if (partial && luks_sectors_read(node, start, span, bounce, errp) < 0)
            goto cleanup;
        memcpy(bounce + skip, buf, piece);
        if (luks_block_payload_run(&s->block, true, start / LUKS_SECTOR_SIZE, bounce, span, errp) < 0 ||
            format_file_write(node->file, s->payload_offset + start, span, bounce, errp) < 0)
            goto cleanup;
        buf += piece;
        offset += piece;
        length -= piece;
    }
    ret = 0;
cleanup:
    crypto_memory_wipe(bounce, LUKS_BOUNCE_BYTES);
    free(bounce);
    return ret;
}

/* Every byte is data of this layer, stored encrypted (no offset a reader could use). */
static int luks_block_status(block_node *node, uint64_t offset, uint64_t length, block_status_result *out,
                             error **errp)
{
    (void)node;
    (void)offset;
    (void)errp;
    out->length = length;
    out->flags = BLOCK_STATUS_DATA;
    return 0;
}

static int luks_flush(block_node *node, error **errp)
{
    return block_node_flush(node->file, errp);
}

/* Resizes the payload: the file becomes payload offset plus size. */
static int luks_truncate(block_node *node, uint64_t size, bool exact, block_preallocation prealloc,
                         bool shrink_allowed, error **errp)
{
    luks_state *s = node->state;
    if (block_node_truncate(node->file, s->payload_offset + size, exact, prealloc, shrink_allowed, errp) < 0)
        return -1;
    node->size = format_align_up(size, LUKS_SECTOR_SIZE);
    return 0;
}

/* Decrypted zeroes are not zeroes: a new image never reads as zero. */
static bool luks_has_zero_init(block_node *node)
{
    (void)node;
    return false;
}

/* Amends the key slots of the open image. */
int luks_amend(block_node *node, const option_list *options, bool force, error **errp)
{
    luks_state *s = node->state;
    return luks_block_amend(&s->block, options, "", force, errp);
}

static int luks_info_fill(block_node *node, image_info *info, error **errp)
{
    luks_state *s = node->state;
    (void)errp;
    info->encrypted = true;
    info->format_specific_data = luks_block_info_data(&s->block, s->header_node != NULL, false);
    return 0;
}

/* The file's allocation plus a detached header's, as qemu sums a node's storage children. */
static int64_t luks_allocated_size(block_node *node)
{
    luks_state *s = node->state;
    int64_t total = block_node_allocated_size(node->file);
    if (s->header_node && total >= 0) {
        int64_t header = block_node_allocated_size(s->header_node);
        total = header >= 0 ? total + header : total;
    }
    return total;
}

const block_driver block_driver_luks = {
    .format_name = "luks",
    .shares_child_permissions = true, /* qemu's crypto layer passes its user's permissions to the file */
    .probe = luks_probe,
    .open = luks_open,
    .close = luks_close,
    .read = luks_read,
    .write = luks_write,
    .block_status = luks_block_status,
    .flush = luks_flush,
    .truncate = luks_truncate,
    .has_zero_init = luks_has_zero_init,
    .allocated_size = luks_allocated_size,
    .create_options = luks_create_options,
    .create = luks_create,
    .info_fill = luks_info_fill,
    .measure = luks_measure,
    .amend_options = luks_amend_options,
    .amend = luks_amend,
};
