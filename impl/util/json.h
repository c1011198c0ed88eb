/* json.h — JSON values, qemu-img's pretty printer (its dictionary key order) and a parser for json: filenames (spec/architecture.md §JSON). */
#ifndef QIMG_UTIL_JSON_H
#define QIMG_UTIL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef enum json_type {
    JSON_NULL,
    JSON_BOOL,
    JSON_INTEGER,
    JSON_DOUBLE,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT,
} json_type;

typedef struct json_value json_value;

typedef struct json_member {
    char *key;
    json_value *value;
    size_t insertion; /* order of insertion: qemu's dictionaries print newest first within a hash bucket */
} json_member;

struct json_value {
    json_type type;
    bool boolean;
    bool is_unsigned;     /* integer printed as unsigned 64-bit */
    int64_t integer;
    double number;
    char *string;
    json_value **items;   /* array items */
    size_t item_count;
    json_member *members; /* object members */
    size_t member_count;
    size_t next_insertion;
};

json_value *json_null_new(void);
json_value *json_bool_new(bool value);
json_value *json_int_new(int64_t value);
json_value *json_uint_new(uint64_t value);
json_value *json_double_new(double value);
json_value *json_string_new(const char *value);
json_value *json_array_new(void);
json_value *json_object_new(void);

/* Appends item to array (takes ownership). */
void json_array_append(json_value *array, json_value *item);
/* Sets key in object to value (takes ownership); an existing key is replaced in place. */
void json_object_set(json_value *object, const char *key, json_value *value);
void json_object_set_string(json_value *object, const char *key, const char *value);
void json_object_set_int(json_value *object, const char *key, int64_t value);
void json_object_set_uint(json_value *object, const char *key, uint64_t value);
void json_object_set_bool(json_value *object, const char *key, bool value);
/* Member lookup (NULL when absent). */
json_value *json_object_get(const json_value *object, const char *key);
/* Removes and returns a member's value (NULL when absent); the caller owns it. */
json_value *json_object_take(json_value *object, const char *key);

void json_free(json_value *value);

/* The bucket qemu's dictionary puts key in; printing orders members by bucket, then newest first. */
unsigned json_key_bucket(const char *key);

/* Members of object in qemu's print order (bucket, newest first); caller frees the array. */
const json_member **json_members_ordered(const json_value *object);

/* Pretty text exactly as qemu-img prints a JSON document (4-space indent); caller frees. */
char *json_print_pretty(const json_value *value);
/* One-line text with qemu's spacing ("{"a": 1, "b": 2}"); caller frees. */
char *json_print_compact(const json_value *value);
/* Appends value's JSON string escape of text (with quotes) to a string buffer given as char** growth. */
char *json_quote_string(const char *text);

/* Parses JSON text (also accepting qemu's single-quoted strings); NULL with *errp on failure. */
json_value *json_parse(const char *text, error **errp);

#endif
