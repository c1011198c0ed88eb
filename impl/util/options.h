/* options.h — "key=value,key2=value" option strings (",," escapes a comma), typed option descriptors,
 * and qemu-img's help and "Formatting" renderings of them (spec/architecture.md §Options). */
#ifndef QIMG_UTIL_OPTIONS_H
#define QIMG_UTIL_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef struct option_entry {
    char *key;
    char *value;
} option_entry;

/* An ordered list of key/value strings; setting an existing key replaces its value in place. */
typedef struct option_list {
    option_entry *entries;
    size_t count;
} option_list;

/* Parses text into list. An element without '=' is the value of implied_key when it comes first
 * and implied_key is not NULL; otherwise it means key=on. Returns 0 or -1 with *errp set. */
int option_list_parse(option_list *list, const char *text, const char *implied_key, error **errp);
/* True when text names "help" or "?" as one of its keys. */
bool option_text_has_help(const char *text);
/* True when text is a syntactically valid option list (no empty trailing element). */
bool option_text_is_valid(const char *text);

const char *option_list_get(const option_list *list, const char *key);
void option_list_set(option_list *list, const char *key, const char *value);
/* Removes key; returns true when it was present. */
bool option_list_remove(option_list *list, const char *key);
/* Copy of list. */
option_list option_list_copy(const option_list *list);
void option_list_free(option_list *list);

/* Typed getters with qemu's error texts. Absent keys give the default and return 0. */
int option_list_get_bool(const option_list *list, const char *key, bool fallback, bool *out, error **errp);
int option_list_get_size(const option_list *list, const char *key, uint64_t fallback, uint64_t *out, error **errp);
int option_list_get_number(const option_list *list, const char *key, uint64_t fallback, uint64_t *out, error **errp);

/* Parsers used by the getters. */
int option_value_parse_bool(const char *key, const char *value, bool *out, error **errp);
int option_value_parse_size(const char *key, const char *value, uint64_t *out, error **errp);
int option_value_parse_number(const char *key, const char *value, uint64_t *out, error **errp);

typedef enum option_type {
    OPTION_TYPE_STRING,
    OPTION_TYPE_BOOL,
    OPTION_TYPE_NUMBER,
    OPTION_TYPE_SIZE,
} option_type;

/* One option a driver accepts (create or amend); arrays end with a zeroed entry. */
typedef struct option_desc {
    const char *name;
    option_type type;
    const char *help;
    const char *default_value; /* printed by "Formatting" when the option is not set; may be NULL */
} option_desc;

/* An ordered union of descriptor arrays (later duplicates by name are skipped). */
typedef struct option_desc_list {
    const option_desc **items;
    size_t count;
} option_desc_list;

void option_desc_list_append(option_desc_list *list, const option_desc *array);
const option_desc *option_desc_list_find(const option_desc_list *list, const char *name);
void option_desc_list_free(option_desc_list *list);

/* Checks every key of opts against descs and the typed values; "Invalid parameter 'x'" etc. */
int option_list_validate(const option_list *opts, const option_desc_list *descs, error **errp);
/* The "key=value key=value" text qemu-img prints after "Formatting 'f', fmt=F ": descriptor order,
 * set values (numbers and sizes as parsed decimals) or defaults. Caller frees. */
char *option_list_format(const option_list *opts, const option_desc_list *descs);
/* Prints the sorted option table to stdout, one "  name=<type>   - help" line each. */
void option_desc_list_print_table(const option_desc_list *descs);
/* Prints "Supported <format_name> options:" and the sorted option table to stdout. */
void option_desc_list_print_help(const option_desc_list *descs, const char *format_name);

#endif
