/* luks_create.c — the luks driver's create and measure: its options, the header (formats/common/
 * luks_block) at offset 0 and the payload after it (spec/luks.md §Creation). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "luks.h"
#include "../common/format_io.h"
#include "../../block/file.h"
#include "../../block/open.h"
#include "../../block/secret.h"

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

/* qemu's luks amend options, in its order. */
const option_desc luks_amend_options[] = {
    {"state", OPTION_TYPE_STRING, "Select new state of affected keyslots (active/inactive)", NULL},
    {"keyslot", OPTION_TYPE_NUMBER, "Select a single keyslot to modify explicitly", NULL},
    {"old-secret", OPTION_TYPE_STRING, "Select all keyslots that match this password", NULL},
    {"new-secret", OPTION_TYPE_STRING, "New secret to set in the matching keyslots. Empty string to erase", NULL},
    {"iter-time", OPTION_TYPE_NUMBER, "Time to spend in PBKDF in milliseconds", NULL},
    {NULL, 0, NULL, NULL},
};

/* Writes the new image into the open (empty) file: the header with slot 0, then the payload's extent. */
static int luks_create_write(block_node *file, const luks_create_request *request, const uint8_t *passphrase,
                             size_t passphrase_length, error **errp)
{
    luks_algorithms algorithms;
    luks_block block;
    if (luks_create_algorithms_resolve(request, &algorithms, errp) < 0 ||
        luks_block_format(&block, file, 0, request, &algorithms, passphrase, passphrase_length, errp) < 0)
        return -1;
    uint64_t header_bytes = luks_header_area_bytes(&algorithms);
    uint64_t end = request->detached ? header_bytes : header_bytes + request->size;
    luks_block_clear(&block);
    return block_node_truncate(file, end, false, request->prealloc, false, errp);
}

int luks_create(const char *filename, const option_list *options, error **errp)
{
    luks_create_request request;
    if (luks_create_request_parse(options, "", &request, errp) < 0)
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

int luks_measure(const option_list *options, block_node *in, uint64_t size, measure_result *out, error **errp)
{
    luks_create_request request;
    luks_algorithms algorithms;
    size_t length = 0;

    if (luks_create_request_parse(options, "", &request, errp) < 0)
        return -1;
    if (request.key_secret == NULL)
        return error_set(errp, "Parameter 'key-secret' is required for cipher");
    if (secret_lookup(request.key_secret, &length, errp) == NULL)
        return -1;
    if (luks_create_algorithms_resolve(&request, &algorithms, errp) < 0)
        return -1;
    if (in != NULL)
        size = (uint64_t)block_node_length(in);
    uint64_t total = luks_header_area_bytes(&algorithms) + ((size + LUKS_SECTOR_SIZE - 1) / LUKS_SECTOR_SIZE) * LUKS_SECTOR_SIZE;
    out->required = total;
    out->fully_allocated = total;
    return 0;
}
