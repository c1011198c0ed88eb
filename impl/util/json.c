/* json.c — JSON values, qemu-img's printer and a bounded parser (spec/architecture.md §JSON). */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory.h"

enum { JSON_BUCKET_COUNT = 512, JSON_PARSE_DEPTH_MAX = 64 };

static json_value *json_value_new(json_type type)
{
    json_value *v = memory_alloc_zero(sizeof(*v));
    v->type = type;
    return v;
}

json_value *json_null_new(void) { return json_value_new(JSON_NULL); }

json_value *json_bool_new(bool value)
{
    json_value *v = json_value_new(JSON_BOOL);
    v->boolean = value;
    return v;
}

json_value *json_int_new(int64_t value)
{
    json_value *v = json_value_new(JSON_INTEGER);
    v->integer = value;
    return v;
}

json_value *json_uint_new(uint64_t value)
{
    json_value *v = json_value_new(JSON_INTEGER);
    v->integer = (int64_t)value;
    v->is_unsigned = true;
    return v;
}

json_value *json_double_new(double value)
{
    json_value *v = json_value_new(JSON_DOUBLE);
    v->number = value;
    return v;
}

json_value *json_string_new(const char *value)
{
    json_value *v = json_value_new(JSON_STRING);
    v->string = memory_strdup(value ? value : "");
    return v;
}

json_value *json_array_new(void) { return json_value_new(JSON_ARRAY); }
json_value *json_object_new(void) { return json_value_new(JSON_OBJECT); }

void json_array_append(json_value *array, json_value *item)
{
    array->items = memory_realloc(array->items, (array->item_count + 1) * sizeof(*array->items));
    array->items[array->item_count++] = item;
}

void json_object_set(json_value *object, const char *key, json_value *value)
{
    for (size_t i = 0; i < object->member_count; i++) {
        if (strcmp(object->members[i].key, key) == 0) {
            json_free(object->members[i].value);
            object->members[i].value = value;
            return;
        }
    }
    object->members = memory_realloc(object->members, (object->member_count + 1) * sizeof(*object->members));
    json_member *m = &object->members[object->member_count++];
    m->key = memory_strdup(key);
    m->value = value;
    m->insertion = object->next_insertion++;
}

void json_object_set_string(json_value *o, const char *k, const char *v) { json_object_set(o, k, json_string_new(v)); }
void json_object_set_int(json_value *o, const char *k, int64_t v) { json_object_set(o, k, json_int_new(v)); }
void json_object_set_uint(json_value *o, const char *k, uint64_t v) { json_object_set(o, k, json_uint_new(v)); }
void json_object_set_bool(json_value *o, const char *k, bool v) { json_object_set(o, k, json_bool_new(v)); }

json_value *json_object_get(const json_value *object, const char *key)
{
    if (object == NULL || object->type != JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < object->member_count; i++)
        if (strcmp(object->members[i].key, key) == 0)
            return object->members[i].value;
    return NULL;
}

json_value *json_object_take(json_value *object, const char *key)
{
    for (size_t i = 0; i < object->member_count; i++) {
        if (strcmp(object->members[i].key, key) == 0) {
            json_value *v = object->members[i].value;
            free(object->members[i].key);
            memmove(&object->members[i], &object->members[i + 1],
                    (object->member_count - i - 1) * sizeof(*object->members));
            object->member_count--;
            return v;
        }
    }
    return NULL;
}

void json_free(json_value *value)
{
    if (value == NULL)
        return;
    free(value->string);
    for (size_t i = 0; i < value->item_count; i++)
        json_free(value->items[i]);
    free(value->items);
    for (size_t i = 0; i < value->member_count; i++) {
        free(value->members[i].key);
        json_free(value->members[i].value);
    }
    free(value->members);
    free(value);
}

unsigned json_key_bucket(const char *key)
{
    size_t length = strlen(key);
    uint32_t hash = (uint32_t)(0x238F13AFu * (uint32_t)length);
    for (size_t i = 0; key[i]; i++)
        hash = hash + ((uint32_t)(unsigned char)key[i] << (i * 5 % 24));
    hash = 1103515243u * hash + 12345u;
    return hash % JSON_BUCKET_COUNT;
}

/* Decodes one UTF-8 sequence; returns its length (1 with *cp = 0xFFFD when invalid). */
static size_t json_utf8_decode(const unsigned char *s, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t n;
    uint32_t c;
    if ((s[0] & 0xE0) == 0xC0) { n = 2; c = s[0] & 0x1F; }
    else if ((s[0] & 0xF0) == 0xE0) { n = 3; c = s[0] & 0x0F; }
    else if ((s[0] & 0xF8) == 0xF0) { n = 4; c = s[0] & 0x07; }
    else { *cp = 0xFFFD; return 1; }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        c = (c << 6) | (s[i] & 0x3F);
    }
    *cp = c;
    return n;
}

static void json_append_quoted(string_buffer *sb, const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    string_buffer_append(sb, "\"");
    while (*s) {
        uint32_t cp;
        size_t n = json_utf8_decode(s, &cp);
        s += n;
        switch (cp) {
        case '"': string_buffer_append(sb, "\\\""); break;
        case '\\': string_buffer_append(sb, "\\\\"); break;
        case '\b': string_buffer_append(sb, "\\b"); break;
        case '\f': string_buffer_append(sb, "\\f"); break;
        case '\n': string_buffer_append(sb, "\\n"); break;
        case '\r': string_buffer_append(sb, "\\r"); break;
        case '\t': string_buffer_append(sb, "\\t"); break;
        default:
            if (cp >= 0x20 && cp <= 0x7E) {
                char c = (char)cp;
                string_buffer_append_length(sb, &c, 1);
            } else if (cp >= 0x10000) {
                cp -= 0x10000;
                string_buffer_printf(sb, "\\u%04X\\u%04X", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
            } else {
                string_buffer_printf(sb, "\\u%04X", cp);
            }
        }
    }
    string_buffer_append(sb, "\"");
}

char *json_quote_string(const char *text)
{
    string_buffer sb = {0};
    json_append_quoted(&sb, text);
    return string_buffer_take(&sb);
}

static int json_member_compare(const void *a, const void *b)
{
    const json_member *x = *(const json_member *const *)a;
    const json_member *y = *(const json_member *const *)b;
    unsigned bx = json_key_bucket(x->key), by = json_key_bucket(y->key);
    if (bx != by)
        return bx < by ? -1 : 1;
    return x->insertion > y->insertion ? -1 : (x->insertion < y->insertion ? 1 : 0);
}

/* Members in qemu's print order; caller frees the returned array. */
const json_member **json_members_ordered(const json_value *object)
{
    const json_member **order = memory_alloc_array(object->member_count + 1, sizeof(*order));
    for (size_t i = 0; i < object->member_count; i++)
        order[i] = &object->members[i];
    qsort(order, object->member_count, sizeof(*order), json_member_compare);
    return order;
}

static void json_indent(string_buffer *sb, int level)
{
    for (int i = 0; i < level; i++)
        string_buffer_append(sb, "    ");
}

static void json_append_scalar(string_buffer *sb, const json_value *v)
{
    switch (v->type) {
    case JSON_NULL: string_buffer_append(sb, "null"); break;
    case JSON_BOOL: string_buffer_append(sb, v->boolean ? "true" : "false"); break;
    case JSON_INTEGER:
        if (v->is_unsigned)
            string_buffer_printf(sb, "%llu", (unsigned long long)(uint64_t)v->integer);
        else
            string_buffer_printf(sb, "%lld", (long long)v->integer);
        break;
    case JSON_DOUBLE: string_buffer_printf(sb, "%.17g", v->number); break;
    case JSON_STRING: json_append_quoted(sb, v->string); break;
    default: break;
    }
}

static void json_append_value(string_buffer *sb, const json_value *v, int level, bool pretty)
{
    if (v->type == JSON_ARRAY) {
        string_buffer_append(sb, "[");
        for (size_t i = 0; i < v->item_count; i++) {
            string_buffer_append(sb, i ? "," : "");
            if (pretty) {
                string_buffer_append(sb, "\n");
                json_indent(sb, level + 1);
            } else if (i) {
                string_buffer_append(sb, " ");
            }
            json_append_value(sb, v->items[i], level + 1, pretty);
        }
        if (pretty) {
            string_buffer_append(sb, "\n");
            json_indent(sb, level);
        }
        string_buffer_append(sb, "]");
    } else if (v->type == JSON_OBJECT) {
        const json_member **order = json_members_ordered(v);
        string_buffer_append(sb, "{");
        for (size_t i = 0; i < v->member_count; i++) {
            string_buffer_append(sb, i ? "," : "");
            if (pretty) {
                string_buffer_append(sb, "\n");
                json_indent(sb, level + 1);
            } else if (i) {
                string_buffer_append(sb, " ");
            }
            json_append_quoted(sb, order[i]->key);
            string_buffer_append(sb, ": ");
            json_append_value(sb, order[i]->value, level + 1, pretty);
        }
        free(order);
        if (pretty) {
            string_buffer_append(sb, "\n");
            json_indent(sb, level);
        }
        string_buffer_append(sb, "}");
    } else {
        json_append_scalar(sb, v);
    }
}

char *json_print_pretty(const json_value *value)
{
    string_buffer sb = {0};
    json_append_value(&sb, value, 0, true);
    return string_buffer_take(&sb);
}

char *json_print_compact(const json_value *value)
{
    string_buffer sb = {0};
    json_append_value(&sb, value, 0, false);
    return string_buffer_take(&sb);
}

/* ---- parser ---- */

typedef struct json_parser {
    const char *text;
    size_t position;
    error **errp;
    bool failed;
} json_parser;

static void json_parser_fail(json_parser *p, const char *what)
{
    if (!p->failed)
        error_set(p->errp, "JSON parse error, %s", what);
    p->failed = true;
}

static void json_skip_space(json_parser *p)
{
    while (p->text[p->position] == ' ' || p->text[p->position] == '\t' || p->text[p->position] == '\n' ||
           p->text[p->position] == '\r')
        p->position++;
}

static void json_append_utf8(string_buffer *sb, uint32_t cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) { b[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { b[0] = (char)(0xC0 | (cp >> 6)); b[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
    else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12)); b[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); b[2] = (char)(0x80 | (cp & 0x3F)); n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18)); b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); b[3] = (char)(0x80 | (cp & 0x3F)); n = 4;
    }
    string_buffer_append_length(sb, b, n);
}

static char *json_parse_string_text(json_parser *p)
{
    char quote = p->text[p->position++];
    string_buffer sb = {0};
    for (;;) {
        char c = p->text[p->position];
        if (c == '\0') {
            json_parser_fail(p, "missing closing quote");
            string_buffer_free(&sb);
            return NULL;
        }
        p->position++;
        if (c == quote)
            break;
        if (c != '\\') {
            string_buffer_append_length(&sb, &c, 1);
            continue;
        }
        c = p->text[p->position++];
        switch (c) {
        case '"': case '\'': case '\\': case '/': string_buffer_append_length(&sb, &c, 1); break;
        case 'b': string_buffer_append(&sb, "\b"); break;
        case 'f': string_buffer_append(&sb, "\f"); break;
        case 'n': string_buffer_append(&sb, "\n"); break;
        case 'r': string_buffer_append(&sb, "\r"); break;
        case 't': string_buffer_append(&sb, "\t"); break;
        case 'u': {
            uint32_t cp = 0;
            for (int i = 0; i < 4; i++) {
                char h = p->text[p->position++];
                cp <<= 4;
                if (h >= '0' && h <= '9') cp |= (uint32_t)(h - '0');
                else if (h >= 'a' && h <= 'f') cp |= (uint32_t)(h - 'a' + 10);
                else if (h >= 'A' && h <= 'F') cp |= (uint32_t)(h - 'A' + 10);
                else {
                    json_parser_fail(p, "invalid escape sequence in string");
                    string_buffer_free(&sb);
                    return NULL;
                }
            }
            json_append_utf8(&sb, cp);
            break;
        }
        default:
            json_parser_fail(p, "invalid escape sequence in string");
            string_buffer_free(&sb);
            return NULL;
        }
    }
    return string_buffer_take(&sb);
}

static json_value *json_parse_value(json_parser *p, int depth);

static json_value *json_parse_container(json_parser *p, int depth, bool object)
{
    json_value *v = object ? json_object_new() : json_array_new();
    char close = object ? '}' : ']';
    p->position++;
    json_skip_space(p);
    if (p->text[p->position] == close) {
        p->position++;
        return v;
    }
    for (;;) {
        json_skip_space(p);
        char *key = NULL;
        if (object) {
            char q = p->text[p->position];
            if (q != '"' && q != '\'') {
                json_parser_fail(p, "key is not a string in object");
                goto fail;
            }
            key = json_parse_string_text(p);
            if (key == NULL)
                goto fail;
            json_skip_space(p);
            if (p->text[p->position] != ':') {
                free(key);
                json_parser_fail(p, "missing : in object pair");
                goto fail;
            }
            p->position++;
        }
        json_value *item = json_parse_value(p, depth + 1);
        if (item == NULL) {
            free(key);
            goto fail;
        }
        if (object) {
            json_object_set(v, key, item);
            free(key);
        } else {
            json_array_append(v, item);
        }
        json_skip_space(p);
        char c = p->text[p->position];
        if (c == ',') {
            p->position++;
            continue;
        }
        if (c == close) {
            p->position++;
            return v;
        }
        json_parser_fail(p, object ? "expecting ',' or '}'" : "expecting ',' or ']'");
        goto fail;
    }
fail:
    json_free(v);
    return NULL;
}

static json_value *json_parse_value(json_parser *p, int depth)
{
    if (depth > JSON_PARSE_DEPTH_MAX) {
        json_parser_fail(p, "nesting too deep");
        return NULL;
    }
    json_skip_space(p);
    const char *s = p->text + p->position;
    if (*s == '{' || *s == '[')
        return json_parse_container(p, depth, *s == '{');
    if (*s == '"' || *s == '\'') {
        char *text = json_parse_string_text(p);
        if (text == NULL)
            return NULL;
        json_value *v = json_string_new(text);
        free(text);
        return v;
    }
    if (strncmp(s, "true", 4) == 0) { p->position += 4; return json_bool_new(true); }
    if (strncmp(s, "false", 5) == 0) { p->position += 5; return json_bool_new(false); }
    if (strncmp(s, "null", 4) == 0) { p->position += 4; return json_null_new(); }
    if (*s == '-' || (*s >= '0' && *s <= '9')) {
        char *end;
        bool is_double = false;
        for (const char *q = s + 1; (*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' || *q == 'E' || *q == '+' || *q == '-'; q++)
            if (*q == '.' || *q == 'e' || *q == 'E')
                is_double = true;
        if (!is_double) {
            long long ll = strtoll(s, &end, 10);
            p->position += (size_t)(end - s);
            return json_int_new(ll);
        }
        double d = strtod(s, &end);
        p->position += (size_t)(end - s);
        return json_double_new(d);
    }
    json_parser_fail(p, *s ? "invalid keyword" : "unexpected end of input");
    return NULL;
}

json_value *json_parse(const char *text, error **errp)
{
    json_parser p = {.text = text, .position = 0, .errp = errp, .failed = false};
    json_value *v = json_parse_value(&p, 0);
    if (v == NULL)
        return NULL;
    json_skip_space(&p);
    if (text[p.position] != '\0') {
        json_free(v);
        json_parser_fail(&p, "trailing characters");
        return NULL;
    }
    return v;
}
