/* json.c — JSON values, qemu-img's printer and a bounded parser that words errors as qemu's (spec/architecture.md §JSON). */
#include "json.h"

#include <errno.h>
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

/* ---- parser ----
 * As qemu reads JSON: a lexer splits the text into tokens (a character no token can hold is
 * "stray"), the tokens of the first value are gathered until its brackets balance (or one closes
 * too many), and only then are they parsed; text after that value is refused. */

typedef enum json_token_kind {
    JSON_TOKEN_PUNCT,   /* one of { } [ ] , : */
    JSON_TOKEN_STRING,  /* text: the raw token, quotes included */
    JSON_TOKEN_NUMBER,
    JSON_TOKEN_KEYWORD, /* a run of letters */
} json_token_kind;

typedef struct json_token {
    json_token_kind kind;
    const char *text;
    size_t length;
} json_token;

typedef struct json_parser {
    const char *text;
    size_t position;
    json_token *tokens;
    size_t token_count;
    size_t next;        /* parser: the next token */
    error **errp;
    bool failed;
} json_parser;

static void json_parser_fail(json_parser *p, const char *fmt, const char *detail, size_t detail_length)
{
    if (p->failed)
        return;
    char *what = detail ? memory_printf(fmt, (int)detail_length, detail) : memory_strdup(fmt);
    error_set(p->errp, "JSON parse error, %s", what);
    free(what);
    p->failed = true;
}

static bool json_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool json_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool json_is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Length of the quoted string token at s; 0 when it never closes. */
static size_t json_lex_string(const char *s)
{
    char quote = s[0];
    for (size_t i = 1; s[i]; i++) {
        if (s[i] == '\\' && s[i + 1])
            i++;
        else if (s[i] == quote)
            return i + 1;
    }
    return 0;
}

/* Length of the number token at s (JSON's grammar); *bad receives the length of the refused
 * text (through the offending character) when the number is malformed. */
static size_t json_lex_number(const char *s, size_t *bad)
{
    size_t i = 0;
    *bad = 0;
    if (s[i] == '-')
        i++;
    if (s[i] == '0') {
        i++;
        if (json_is_digit(s[i])) {
            *bad = i + 1;
            return 0;
        }
    } else if (json_is_digit(s[i])) {
        while (json_is_digit(s[i]))
            i++;
    } else {
        *bad = s[i] ? i + 1 : i;
        return 0;
    }
    if (s[i] == '.') {
        i++;
        if (!json_is_digit(s[i])) {
            *bad = s[i] ? i + 1 : i;
            return 0;
        }
        while (json_is_digit(s[i]))
            i++;
    }
    if (s[i] == 'e' || s[i] == 'E') {
        i++;
        if (s[i] == '+' || s[i] == '-')
            i++;
        if (!json_is_digit(s[i])) {
            *bad = s[i] ? i + 1 : i;
            return 0;
        }
        while (json_is_digit(s[i]))
            i++;
    }
    return i;
}

/* Reads the next token; false at the end of the text or (with the error set) at a stray character. */
static bool json_lex_next(json_parser *p, json_token *token)
{
    while (json_is_space(p->text[p->position]))
        p->position++;
    const char *s = p->text + p->position;
    if (*s == '\0')
        return false;
    size_t length = 0, bad = 0;
    token->text = s;
    if (strchr("{}[],:", *s)) {
        token->kind = JSON_TOKEN_PUNCT;
        length = 1;
    } else if (*s == '"' || *s == '\'') {
        token->kind = JSON_TOKEN_STRING;
        length = json_lex_string(s);
        bad = length ? 0 : strlen(s);
    } else if (*s == '-' || json_is_digit(*s)) {
        token->kind = JSON_TOKEN_NUMBER;
        length = json_lex_number(s, &bad);
    } else if (json_is_letter(*s)) {
        token->kind = JSON_TOKEN_KEYWORD;
        while (json_is_letter(s[length]))
            length++;
    } else {
        bad = 1;
    }
    if (bad) {
        json_parser_fail(p, "stray '%.*s'", s, bad);
        return false;
    }
    token->length = length;
    p->position += length;
    return true;
}

/* Gathers the tokens of the first value; -1 (error set) on a stray character, an empty text or
 * text after the value. */
static int json_tokens_gather(json_parser *p)
{
    size_t capacity = 0;
    int braces = 0, brackets = 0;
    bool complete = false;
    json_token token;
    while (json_lex_next(p, &token)) {
        if (complete) {
            error_set(p->errp, "Expecting at most one JSON value");
            p->failed = true;
            return -1;
        }
        if (p->token_count == capacity) {
            capacity = capacity ? capacity * 2 : 64;
            p->tokens = memory_realloc(p->tokens, capacity * sizeof(*p->tokens));
        }
        p->tokens[p->token_count++] = token;
        if (token.kind == JSON_TOKEN_PUNCT) {
            braces += token.text[0] == '{' ? 1 : token.text[0] == '}' ? -1 : 0;
            brackets += token.text[0] == '[' ? 1 : token.text[0] == ']' ? -1 : 0;
        }
        complete = braces < 0 || brackets < 0 || (braces == 0 && brackets == 0);
    }
    if (p->failed)
        return -1;
    if (p->token_count == 0) {
        error_set(p->errp, "Expecting a JSON value");
        p->failed = true;
        return -1;
    }
    /* An unfinished value is parsed all the same: it fails where its tokens run out. */
    return 0;
}

/* The next token, or NULL (with "premature EOI") when the value's tokens ran out. */
static const json_token *json_token_take(json_parser *p)
{
    if (p->next >= p->token_count) {
        json_parser_fail(p, "premature EOI", NULL, 0);
        return NULL;
    }
    return &p->tokens[p->next++];
}

static bool json_token_is(const json_token *token, char punct)
{
    return token->kind == JSON_TOKEN_PUNCT && token->text[0] == punct;
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

/* Decodes a string token (escapes included); NULL with the error set on a bad escape. */
static char *json_string_decode(json_parser *p, const json_token *token)
{
    string_buffer sb = {0};
    const char *s = token->text + 1;
    const char *end = token->text + token->length - 1;
    while (s < end) {
        char c = *s++;
        if (c != '\\') {
            string_buffer_append_length(&sb, &c, 1);
            continue;
        }
        c = *s++;
        switch (c) {
        case '"': case '\'': case '\\': case '/': string_buffer_append_length(&sb, &c, 1); break;
        case 'b': string_buffer_append(&sb, "\b"); break;
        case 'f': string_buffer_append(&sb, "\f"); break;
        case 'n': string_buffer_append(&sb, "\n"); break;
        case 'r': string_buffer_append(&sb, "\r"); break;
        case 't': string_buffer_append(&sb, "\t"); break;
        case 'u': {
            uint32_t cp = 0;
            const char *escape = s - 2;
            for (int i = 0; i < 4; i++) {
                char h = s < end ? *s++ : '\0';
                cp <<= 4;
                if (h >= '0' && h <= '9') cp |= (uint32_t)(h - '0');
                else if (h >= 'a' && h <= 'f') cp |= (uint32_t)(h - 'a' + 10);
                else if (h >= 'A' && h <= 'F') cp |= (uint32_t)(h - 'A' + 10);
                else {
                    size_t rest = (size_t)(token->text + token->length - escape);
                    size_t length = rest < 6 ? rest : 6;
                    json_parser_fail(p, "%.*s is not a valid Unicode character", escape, length);
                    string_buffer_free(&sb);
                    return NULL;
                }
            }
            json_append_utf8(&sb, cp);
            break;
        }
        default:
            json_parser_fail(p, "invalid escape sequence in string", NULL, 0);
            string_buffer_free(&sb);
            return NULL;
        }
    }
    return string_buffer_take(&sb);
}

static json_value *json_parse_value(json_parser *p, int depth);

/* The members of an object after its '{'. */
static json_value *json_parse_object(json_parser *p, int depth)
{
    json_value *v = json_object_new();
    if (p->next < p->token_count && json_token_is(&p->tokens[p->next], '}')) {
        p->next++;
        return v;
    }
    for (;;) {
        const json_token *token = json_token_take(p);
        if (token == NULL)
            goto fail;
        if (token->kind == JSON_TOKEN_PUNCT) {
            json_parser_fail(p, "expecting value", NULL, 0);
            goto fail;
        }
        if (token->kind != JSON_TOKEN_STRING) {
            p->next--;
            json_value *key_value = json_parse_value(p, depth + 1);
            if (key_value != NULL)
                json_parser_fail(p, "key is not a string in object", NULL, 0);
            json_free(key_value);
            goto fail;
        }
        char *key = json_string_decode(p, token);
        if (key == NULL)
            goto fail;
        token = json_token_take(p);
        if (token == NULL || !json_token_is(token, ':')) {
            free(key);
            if (token)
                json_parser_fail(p, "missing : in object pair", NULL, 0);
            goto fail;
        }
        json_value *item = json_parse_value(p, depth + 1);
        if (item == NULL || json_object_get(v, key) != NULL) {
            if (item)
                json_parser_fail(p, "duplicate key", NULL, 0);
            json_free(item);
            free(key);
            goto fail;
        }
        json_object_set(v, key, item);
        free(key);
        token = json_token_take(p);
        if (token == NULL)
            goto fail;
        if (json_token_is(token, '}'))
            return v;
        if (!json_token_is(token, ',')) {
            json_parser_fail(p, "expected separator in dict", NULL, 0);
            goto fail;
        }
    }
fail:
    json_free(v);
    return NULL;
}

/* The items of an array after its '['. */
static json_value *json_parse_array(json_parser *p, int depth)
{
    json_value *v = json_array_new();
    if (p->next < p->token_count && json_token_is(&p->tokens[p->next], ']')) {
        p->next++;
        return v;
    }
    for (;;) {
        json_value *item = json_parse_value(p, depth + 1);
        if (item == NULL)
            goto fail;
        json_array_append(v, item);
        const json_token *token = json_token_take(p);
        if (token == NULL)
            goto fail;
        if (json_token_is(token, ']'))
            return v;
        if (!json_token_is(token, ',')) {
            json_parser_fail(p, "expected separator in list", NULL, 0);
            goto fail;
        }
    }
fail:
    json_free(v);
    return NULL;
}

/* A number token: an integer when it fits int64 and has no fraction or exponent, else a double. */
static json_value *json_number_decode(const json_token *token)
{
    char *text = memory_printf("%.*s", (int)token->length, token->text);
    json_value *v = NULL;
    if (strpbrk(text, ".eE") == NULL) {
        errno = 0;
        long long integer = strtoll(text, NULL, 10);
        if (errno != ERANGE)
            v = json_int_new(integer);
    }
    if (v == NULL)
        v = json_double_new(strtod(text, NULL));
    free(text);
    return v;
}

static json_value *json_parse_value(json_parser *p, int depth)
{
    if (depth > JSON_PARSE_DEPTH_MAX) {
        json_parser_fail(p, "nesting too deep", NULL, 0);
        return NULL;
    }
    const json_token *token = json_token_take(p);
    if (token == NULL)
        return NULL;
    switch (token->kind) {
    case JSON_TOKEN_PUNCT:
        if (json_token_is(token, '{'))
            return json_parse_object(p, depth);
        if (json_token_is(token, '['))
            return json_parse_array(p, depth);
        json_parser_fail(p, "expecting value", NULL, 0);
        return NULL;
    case JSON_TOKEN_STRING: {
        char *text = json_string_decode(p, token);
        if (text == NULL)
            return NULL;
        json_value *v = json_string_new(text);
        free(text);
        return v;
    }
    case JSON_TOKEN_NUMBER:
        return json_number_decode(token);
    case JSON_TOKEN_KEYWORD:
        if (token->length == 4 && strncmp(token->text, "true", 4) == 0)
            return json_bool_new(true);
        if (token->length == 5 && strncmp(token->text, "false", 5) == 0)
            return json_bool_new(false);
        if (token->length == 4 && strncmp(token->text, "null", 4) == 0)
            return json_null_new();
        json_parser_fail(p, "invalid keyword '%.*s'", token->text, token->length);
        return NULL;
    }
    return NULL;
}

json_value *json_parse(const char *text, error **errp)
{
    json_parser p = {.text = text, .errp = errp};
    json_value *v = NULL;
    if (json_tokens_gather(&p) == 0)
        v = json_parse_value(&p, 0);
    if (v && p.next < p.token_count) {
        /* A bracket closed too many: the value ended before its last token. */
        json_free(v);
        v = NULL;
        json_parser_fail(&p, "expecting value", NULL, 0);
    }
    free(p.tokens);
    return v;
}
