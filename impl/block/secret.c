/* secret.c — --object secret definitions and lookup by id: the keyval syntax of --object, the
 * secret's properties (data, file, format, keyid, iv) and their checks in qemu's order and wording
 * (spec/architecture.md §Objects). */
#include "secret.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../crypto/crypto_afsplit.h"
#include "../crypto/crypto_cipher.h"
#include "../util/base64.h"
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

/* The properties a secret object has (anything else "is unexpected"). */
static const char *const secret_properties[] = {"qom-type", "id", "data", "file", "format", "keyid", "iv", NULL};

/* Whether c may appear in a keyval key fragment after its first letter. */
static bool secret_key_character(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-';
}

/* Checks the keyval syntax of an --object definition as qemu does before it looks at any value:
 * an implied qom-type first (text up to the first comma when no '=' comes before it), then
 * KEY=VALUE pairs whose key fragments start with a letter. */
static int secret_keyval_check(const char *text, error **errp)
{
    const char *p = text;
    size_t head = strcspn(p, "=,");
    if (p[head] != '=') {
        if (head == 0 && *p != '\0')
            return error_set(errp, "Invalid parameter ''");
        p += head;
        if (*p == ',')
            p++;
        else
            return 0;
    }
    while (*p != '\0') {
        size_t key_length = strcspn(p, "=,");
        bool valid = key_length > 0;
        for (size_t i = 0; i < key_length && valid; i++) {
            bool fragment_start = i == 0 || p[i - 1] == '.';
            valid = fragment_start ? isalpha((unsigned char)p[i]) != 0 : (secret_key_character(p[i]) || p[i] == '.');
        }
        if (!valid)
            return error_set(errp, "Invalid parameter '%.*s'", (int)key_length, p);
        if (p[key_length] != '=')
            return error_set(errp, "Expected '=' after parameter '%.*s'", (int)key_length, p);
        p += key_length + 1;
        while (*p != '\0' && !(*p == ',' && p[1] != ','))
            p += (*p == ',') ? 2 : 1; /* ",," is an escaped comma */
        if (*p == ',')
            p++;
    }
    return 0;
}

/* Refuses properties a secret does not have (a dotted key names its first part). */
static int secret_properties_check(const option_list *opts, error **errp)
{
    for (size_t i = 0; i < opts->count; i++) {
        const char *key = opts->entries[i].key;
        size_t length = strcspn(key, ".");
        bool known = key[length] == '\0';
        for (size_t k = 0; known && secret_properties[k]; k++)
            if (strcmp(secret_properties[k], key) == 0)
                break;
            else if (secret_properties[k + 1] == NULL)
                known = false;
        if (!known)
            return error_set(errp, "Parameter '%.*s' is unexpected", (int)length, key);
    }
    return 0;
}

/* Whether id is a QEMU identifier: a letter, then letters, digits, '-', '.', '_'. */
static bool secret_identifier_valid(const char *id)
{
    if (!isalpha((unsigned char)id[0]))
        return false;
    for (const char *p = id + 1; *p; p++)
        if (!secret_key_character(*p) && *p != '.')
            return false;
    return true;
}

/* Reads a whole (bounded) file into a new buffer, failing in glib's words as qemu does. */
static int secret_file_read(const char *path, uint8_t **data, size_t *length, error **errp)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return error_set(errp, "Unable to read %s: Failed to open file \u201c%s\u201d: %s", path, path,
                         strerror(errno));
    uint8_t *buf = memory_alloc_zero(SECRET_FILE_MAX + 1);
    size_t n = fread(buf, 1, SECRET_FILE_MAX + 1, f);
    int read_errno = ferror(f) ? errno : 0;
    fclose(f);
    if (read_errno != 0) {
        free(buf);
        return error_set(errp, "Unable to read %s: Error reading file \u201c%s\u201d: %s", path, path,
                         strerror(read_errno));
    }
    if (n > SECRET_FILE_MAX) {
        free(buf);
        return error_set(errp, "Secret file %s is too large", path);
    }
    *data = buf;
    *length = n;
    return 0;
}

/* Decodes base64 text into a new buffer as qemu does: any character outside the alphabet and '='
 * is refused, then glib's decoding. */
static int secret_base64_decode(const uint8_t *text, size_t length, uint8_t **data, size_t *out_length, error **errp)
{
    if (!base64_is_valid((const char *)text, length))
        return error_set(errp, "Base64 data contains invalid characters");
    *out_length = base64_decode((const char *)text, length, data);
    return 0;
}

/* Decrypts the secret's bytes with the AES-256-CBC key of secret keyid and the base64 IV, dropping
 * the PKCS#7 padding, as qemu's keyid property does. */
static int secret_decrypt(const char *keyid, const char *iv_text, uint8_t **raw, size_t *raw_length, error **errp)
{
    size_t key_length = 0;
    const uint8_t *key = secret_lookup(keyid, &key_length, errp);
    if (key == NULL)
        return -1;
    if (iv_text == NULL)
        return error_set(errp, "IV is required to decrypt secret");
    if (key_length != 32)
        return error_set(errp, "Key should be 32 bytes in length");
    uint8_t *iv = NULL;
    size_t iv_length = 0;
    if (secret_base64_decode((const uint8_t *)iv_text, strlen(iv_text), &iv, &iv_length, errp) < 0)
        return -1;
    int ret = -1;
    crypto_cipher *cipher = NULL;
    if (iv_length != 16) {
        error_set(errp, "IV should be 16 bytes in length not %zu", iv_length);
        goto cleanup;
    }
    cipher = crypto_cipher_new(CRYPTO_CIPHER_AES_256, CRYPTO_CIPHER_MODE_CBC, key, 32, errp);
    if (cipher == NULL || crypto_cipher_decrypt(cipher, iv, 16, *raw, *raw_length, errp) < 0)
        goto cleanup;
    if (*raw_length > 0) {
        size_t pad = (*raw)[*raw_length - 1];
        *raw_length = pad <= *raw_length ? *raw_length - pad : 0;
    }
    ret = 0;
cleanup:
    crypto_cipher_free(cipher);
    free(iv);
    return ret;
}

/* Loads the secret's bytes from data or file, then decodes and decrypts them as asked. */
static int secret_value_load(const option_list *opts, uint8_t **raw, size_t *raw_length, error **errp)
{
    const char *data = option_list_get(opts, "data");
    const char *file = option_list_get(opts, "file");
    const char *format = option_list_get(opts, "format");
    const char *keyid = option_list_get(opts, "keyid");
    if (format && strcmp(format, "base64") != 0 && strcmp(format, "raw") != 0)
        return error_set(errp, "Parameter 'format' does not accept value '%s'", format);
    if (data && file)
        return error_set(errp, "'file' and 'data' are mutually exclusive");
    if (data) {
        *raw = (uint8_t *)memory_strdup(data);
        *raw_length = strlen(data);
    } else if (file) {
        if (secret_file_read(file, raw, raw_length, errp) < 0)
            return -1;
    } else {
        return error_set(errp, "Either 'file' or 'data' must be provided");
    }
    if (format && strcmp(format, "base64") == 0) {
        uint8_t *decoded = NULL;
        size_t decoded_length = 0;
        if (secret_base64_decode(*raw, *raw_length, &decoded, &decoded_length, errp) < 0)
            return -1;
        free(*raw);
        *raw = decoded;
        *raw_length = decoded_length;
    }
    if (keyid && secret_decrypt(keyid, option_list_get(opts, "iv"), raw, raw_length, errp) < 0)
        return -1;
    return 0;
}

/* Checks the object's type, properties and id in qemu's order. */
static int secret_object_check(const option_list *opts, error **errp)
{
    const char *type = option_list_get(opts, "qom-type");
    if (type == NULL)
        return error_set(errp, "Parameter 'qom-type' is missing");
    if (strcmp(type, "secret") != 0)
        return error_set(errp, "Parameter 'qom-type' does not accept value '%s'", type);
    const char *id = option_list_get(opts, "id");
    if (id == NULL)
        return error_set(errp, "Parameter 'id' is missing");
    if (secret_properties_check(opts, errp) < 0)
        return -1;
    if (!secret_identifier_valid(id))
        return error_set(errp, "Parameter 'id' expects an identifier\nIdentifiers consist of letters, digits, "
                               "'-', '.', '_', starting with a letter.");
    for (size_t i = 0; i < secret_count; i++)
        if (strcmp(secret_table[i].id, id) == 0)
            return error_set(errp, "attempt to add duplicate property '%s' to object (type 'container')", id);
    if (secret_count >= SECRET_MAX)
        return error_set(errp, "Too many secrets");
    return 0;
}

int secret_object_add(const char *definition, error **errp)
{
    option_list opts = {0};
    int ret = -1;
    uint8_t *raw = NULL;
    size_t raw_length = 0;
    if (secret_keyval_check(definition, errp) < 0 || option_list_parse(&opts, definition, "qom-type", errp) < 0 ||
        secret_object_check(&opts, errp) < 0)
        goto cleanup;
    const char *id = option_list_get(&opts, "id");
    const char *keyid = option_list_get(&opts, "keyid");
    if (keyid && strcmp(keyid, id) == 0) {
        error_set(errp, "Secret with id '%s' has no data", id);
        goto cleanup;
    }
    if (secret_value_load(&opts, &raw, &raw_length, errp) < 0)
        goto cleanup;
    secret_table[secret_count].id = memory_strdup(id);
    secret_table[secret_count].data = raw;
    secret_table[secret_count].length = raw_length;
    secret_count++;
    raw = NULL;
    ret = 0;
cleanup:
    if (raw != NULL)
        crypto_memory_wipe(raw, raw_length);
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
        crypto_memory_wipe(secret_table[i].data, secret_table[i].length);
        free(secret_table[i].data);
    }
    secret_count = 0;
}
