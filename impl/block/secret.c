/* secret.c — --object secret definitions and lookup by id (spec/architecture.md §Objects). */
#include "secret.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../util/memory.h"
#include "../util/options.h"

enum { SECRET_MAX = 64, SECRET_FILE_MAX = 1 << 20 };

typedef struct secret_entry {
    char *id;
    uint8_t *data;
    size_t length;
} secret_entry;

static secret_entry secret_table[SECRET_MAX];
static size_t secret_count;

/* Reads a whole (bounded) file into a new buffer. */
static int secret_file_read(const char *path, uint8_t **data, size_t *length, error **errp)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return error_set_errno(errp, errno, "Unable to read %s", path);
    uint8_t *buf = memory_alloc_zero(SECRET_FILE_MAX + 1);
    size_t n = fread(buf, 1, SECRET_FILE_MAX + 1, f);
    fclose(f);
    if (n > SECRET_FILE_MAX) {
        free(buf);
        return error_set(errp, "Secret file %s is too large", path);
    }
    *data = buf;
    *length = n;
    return 0;
}

/* Decodes base64 text into a new buffer. */
static int secret_base64_decode(const uint8_t *text, size_t length, uint8_t **data, size_t *out_length, error **errp)
{
    uint8_t *buf = memory_alloc_zero(length / 4 * 3 + 4);
    EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
    int n = 0, tail = 0;
    EVP_DecodeInit(ctx);
    int ok = EVP_DecodeUpdate(ctx, buf, &n, text, (int)length) >= 0 && EVP_DecodeFinal(ctx, buf + n, &tail) >= 0;
    EVP_ENCODE_CTX_free(ctx);
    if (!ok) {
        free(buf);
        return error_set(errp, "Unable to decode base64 data");
    }
    *data = buf;
    *out_length = (size_t)(n + tail);
    return 0;
}

int secret_object_add(const char *definition, error **errp)
{
    option_list opts = {0};
    int ret = -1;
    uint8_t *raw = NULL;
    size_t raw_length = 0;
    if (option_list_parse(&opts, definition, "qom-type", errp) < 0)
        goto cleanup;
    const char *type = option_list_get(&opts, "qom-type");
    if (type == NULL) {
        error_set(errp, "Parameter 'qom-type' is missing");
        goto cleanup;
    }
    if (strcmp(type, "secret") != 0) {
        error_set(errp, "Parameter 'qom-type' does not accept value '%s'", type);
        goto cleanup;
    }
    const char *id = option_list_get(&opts, "id");
    if (id == NULL) {
        error_set(errp, "Parameter 'id' is missing");
        goto cleanup;
    }
    const char *data = option_list_get(&opts, "data");
    const char *file = option_list_get(&opts, "file");
    const char *format = option_list_get(&opts, "format");
    if (data && file) {
        error_set(errp, "'data' and 'file' are mutually exclusive");
        goto cleanup;
    }
    if (data) {
        raw = (uint8_t *)memory_strdup(data);
        raw_length = strlen(data);
    } else if (file) {
        if (secret_file_read(file, &raw, &raw_length, errp) < 0)
            goto cleanup;
    } else {
        error_set(errp, "Either 'data' or 'file' must be provided");
        goto cleanup;
    }
    if (format && strcmp(format, "base64") == 0) {
        uint8_t *decoded = NULL;
        size_t decoded_length = 0;
        if (secret_base64_decode(raw, raw_length, &decoded, &decoded_length, errp) < 0)
            goto cleanup;
        free(raw);
        raw = decoded;
        raw_length = decoded_length;
    } else if (format && strcmp(format, "raw") != 0) {
        error_set(errp, "Parameter 'format' does not accept value '%s'", format);
        goto cleanup;
    }
    for (size_t i = 0; i < secret_count; i++) {
        if (strcmp(secret_table[i].id, id) == 0) {
            error_set(errp, "attempt to add duplicate property '%s' to object (type 'container')", id);
            goto cleanup;
        }
    }
    if (secret_count >= SECRET_MAX) {
        error_set(errp, "Too many secrets");
        goto cleanup;
    }
    secret_table[secret_count].id = memory_strdup(id);
    secret_table[secret_count].data = raw;
    secret_table[secret_count].length = raw_length;
    secret_count++;
    raw = NULL;
    ret = 0;
cleanup:
    free(raw);
    option_list_free(&opts);
    return ret;
}

const uint8_t *secret_lookup(const char *id, size_t *length, error **errp)
{
    for (size_t i = 0; i < secret_count; i++) {
        if (strcmp(secret_table[i].id, id) == 0) {
            *length = secret_table[i].length;
            return secret_table[i].data;
        }
    }
    error_set(errp, "No secret with id '%s'", id);
    return NULL;
}

void secret_registry_clear(void)
{
    for (size_t i = 0; i < secret_count; i++) {
        free(secret_table[i].id);
        free(secret_table[i].data);
    }
    secret_count = 0;
}
