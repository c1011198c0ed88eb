/* options.c — option strings, descriptors and their renderings (spec/architecture.md §Options). */
#include "options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory.h"
#include "size.h"

/* Reads one element up to an unescaped separator; ",," yields ','. Advances *cursor. */
static char *option_text_next_element(const char **cursor)
{
    string_buffer sb = {0};
    const char *p = *cursor;
    for (;;) {
        if (*p == '\0')
            break;
        if (*p == ',') {
            if (p[1] == ',') {
                string_buffer_append(&sb, ",");
                p += 2;
                continue;
            }
            break;
        }
        string_buffer_append_length(&sb, p, 1);
        p++;
    }
    *cursor = p;
    return string_buffer_take(&sb);
}

int option_list_parse(option_list *list, const char *text, const char *implied_key, error **errp)
{
    const char *cursor = text;
    bool first = true;
    while (*cursor) {
        char *element = option_text_next_element(&cursor);
        char *eq = strchr(element, '=');
        if (eq) {
            *eq = '\0';
            option_list_set(list, element, eq + 1);
        } else if (first && implied_key) {
            option_list_set(list, implied_key, element);
        } else if (element[0] != '\0') {
            option_list_set(list, element, "on");
        }
        free(element);
        first = false;
        if (*cursor == ',')
            cursor++;
    }
    (void)errp;
    return 0;
}

bool option_text_has_help(const char *text)
{
    const char *cursor = text;
    bool found = false;
    while (*cursor && !found) {
        char *element = option_text_next_element(&cursor);
        char *eq = strchr(element, '=');
        if (eq)
            *eq = '\0';
        if (strcmp(element, "help") == 0 || strcmp(element, "?") == 0)
            found = true;
        free(element);
        if (*cursor == ',')
            cursor++;
    }
    return found;
}

bool option_text_is_valid(const char *text)
{
    size_t length = strlen(text);
    if (length == 0 || text[0] == ',')
        return false;
    /* A trailing unescaped comma means an empty element. */
    size_t commas = 0;
    while (length > commas && text[length - 1 - commas] == ',')
        commas++;
    return commas % 2 == 0;
}

const char *option_list_get(const option_list *list, const char *key)
{
    for (size_t i = list->count; i-- > 0;)
        if (strcmp(list->entries[i].key, key) == 0)
            return list->entries[i].value;
    return NULL;
}

void option_list_set(option_list *list, const char *key, const char *value)
{
    for (size_t i = 0; i < list->count; i++) {
        if (strcmp(list->entries[i].key, key) == 0) {
            free(list->entries[i].value);
            list->entries[i].value = memory_strdup(value);
            return;
        }
    }
    list->entries = memory_realloc(list->entries, (list->count + 1) * sizeof(*list->entries));
    list->entries[list->count].key = memory_strdup(key);
    list->entries[list->count].value = memory_strdup(value);
    list->count++;
}

bool option_list_remove(option_list *list, const char *key)
{
    for (size_t i = 0; i < list->count; i++) {
        if (strcmp(list->entries[i].key, key) == 0) {
            free(list->entries[i].key);
            free(list->entries[i].value);
            memmove(&list->entries[i], &list->entries[i + 1], (list->count - i - 1) * sizeof(*list->entries));
            list->count--;
            return true;
        }
    }
    return false;
}

option_list option_list_copy(const option_list *list)
{
    option_list copy = {0};
    for (size_t i = 0; i < list->count; i++)
        option_list_set(&copy, list->entries[i].key, list->entries[i].value);
    return copy;
}

void option_list_free(option_list *list)
{
    for (size_t i = 0; i < list->count; i++) {
        free(list->entries[i].key);
        free(list->entries[i].value);
    }
    free(list->entries);
    list->entries = NULL;
    list->count = 0;
}

int option_value_parse_bool(const char *key, const char *value, bool *out, error **errp)
{
    if (!strcmp(value, "on") || !strcmp(value, "yes") || !strcmp(value, "true") || !strcmp(value, "y")) {
        *out = true;
        return 0;
    }
    if (!strcmp(value, "off") || !strcmp(value, "no") || !strcmp(value, "false") || !strcmp(value, "n")) {
        *out = false;
        return 0;
    }
    return error_set(errp, "Parameter '%s' expects 'on' or 'off'", key);
}

int option_value_parse_size(const char *key, const char *value, uint64_t *out, error **errp)
{
    int r = size_parse(value, out);
    if (r == -ERANGE)
        return error_set(errp, "Value '%s' is out of range for parameter '%s'", value, key);
    if (r < 0)
        return error_set(errp, "Parameter '%s' expects a non-negative number below 2^64\n"
                               "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
                               "and exabytes, respectively.",
                         key);
    return 0;
}

int option_value_parse_number(const char *key, const char *value, uint64_t *out, error **errp)
{
    const char *p = value;
    char *end;
    errno = 0;
    if (*p == '\0')
        return error_set(errp, "Parameter '%s' expects a number", key);
    unsigned long long v = strtoull(p, &end, 0);
    if (*end != '\0' || end == p)
        return error_set(errp, "Parameter '%s' expects a number", key);
    if (errno == ERANGE)
        return error_set(errp, "Value '%s' is too large for parameter '%s'", value, key);
    *out = v;
    return 0;
}

int option_list_get_bool(const option_list *list, const char *key, bool fallback, bool *out, error **errp)
{
    const char *v = option_list_get(list, key);
    if (v == NULL) {
        *out = fallback;
        return 0;
    }
    return option_value_parse_bool(key, v, out, errp);
}

int option_list_get_size(const option_list *list, const char *key, uint64_t fallback, uint64_t *out, error **errp)
{
    const char *v = option_list_get(list, key);
    if (v == NULL) {
        *out = fallback;
        return 0;
    }
    return option_value_parse_size(key, v, out, errp);
}

int option_list_get_number(const option_list *list, const char *key, uint64_t fallback, uint64_t *out, error **errp)
{
    const char *v = option_list_get(list, key);
    if (v == NULL) {
        *out = fallback;
        return 0;
    }
    return option_value_parse_number(key, v, out, errp);
}

void option_desc_list_append(option_desc_list *list, const option_desc *array)
{
    for (const option_desc *d = array; d && d->name; d++) {
        if (option_desc_list_find(list, d->name))
            continue;
        list->items = memory_realloc(list->items, (list->count + 1) * sizeof(*list->items));
        list->items[list->count++] = d;
    }
}

const option_desc *option_desc_list_find(const option_desc_list *list, const char *name)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->items[i]->name, name) == 0)
            return list->items[i];
    return NULL;
}

void option_desc_list_free(option_desc_list *list)
{
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

int option_list_validate(const option_list *opts, const option_desc_list *descs, error **errp)
{
    for (size_t i = 0; i < opts->count; i++) {
        const option_desc *d = option_desc_list_find(descs, opts->entries[i].key);
        if (d == NULL)
            return error_set(errp, "Invalid parameter '%s'", opts->entries[i].key);
        bool b;
        uint64_t n;
        int r = 0;
        switch (d->type) {
        case OPTION_TYPE_BOOL: r = option_value_parse_bool(d->name, opts->entries[i].value, &b, errp); break;
        case OPTION_TYPE_SIZE: r = option_value_parse_size(d->name, opts->entries[i].value, &n, errp); break;
        case OPTION_TYPE_NUMBER: r = option_value_parse_number(d->name, opts->entries[i].value, &n, errp); break;
        case OPTION_TYPE_STRING: break;
        }
        if (r < 0)
            return -1;
    }
    return 0;
}

/* Appends " name=value" with the value's commas doubled, as qemu prints an option back. */
static void option_value_format_escaped(string_buffer *sb, const char *separator, const char *name, const char *value)
{
    string_buffer_printf(sb, "%s%s=", separator, name);
    for (const char *c = value; *c; c++)
        string_buffer_printf(sb, *c == ',' ? ",," : "%c", *c);
}

char *option_list_format(const option_list *opts, const option_desc_list *descs)
{
    string_buffer sb = {0};
    const char *separator = "";
    for (size_t i = 0; i < descs->count; i++) {
        const option_desc *d = descs->items[i];
        const char *value = option_list_get(opts, d->name);
        bool set = value != NULL;
        if (!set)
            value = d->default_value;
        if (value == NULL)
            continue;
        uint64_t n;
        if (set && d->type == OPTION_TYPE_SIZE && size_parse(value, &n) == 0)
            string_buffer_printf(&sb, "%s%s=%llu", separator, d->name, (unsigned long long)n);
        else if (set && d->type == OPTION_TYPE_NUMBER && option_value_parse_number(d->name, value, &n, NULL) == 0)
            string_buffer_printf(&sb, "%s%s=%llu", separator, d->name, (unsigned long long)n);
        else
            option_value_format_escaped(&sb, separator, d->name, value);
        separator = " ";
    }
    return string_buffer_take(&sb);
}

static int option_desc_compare(const void *a, const void *b)
{
    const option_desc *x = *(const option_desc *const *)a;
    const option_desc *y = *(const option_desc *const *)b;
    return strcmp(x->name, y->name);
}

void option_desc_list_print_help(const option_desc_list *descs, const char *format_name)
{
    printf("Supported %s options:\n", format_name);
    option_desc_list_print_table(descs);
}

void option_desc_list_print_table(const option_desc_list *descs)
{
    static const char *const type_names[] = {"str", "bool (on/off)", "num", "size"};
    const option_desc **sorted = memory_alloc_array(descs->count + 1, sizeof(*sorted));
    memcpy(sorted, descs->items, descs->count * sizeof(*sorted));
    qsort(sorted, descs->count, sizeof(*sorted), option_desc_compare);
    for (size_t i = 0; i < descs->count; i++) {
        char *left = memory_printf("%s=<%s>", sorted[i]->name, type_names[sorted[i]->type]);
        if (sorted[i]->help)
            printf("  %-22s - %s\n", left, sorted[i]->help);
        else
            printf("  %s\n", left);
        free(left);
    }
    free(sorted);
}
