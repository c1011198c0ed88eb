/* test_json.c — cmocka tests of JSON values, qemu-img's printer (key order, layout, escapes) and the parser, impl/util/json.h (spec/architecture.md §JSON, §Tests). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "json.h"

/* Compares printed text with the expected text, showing both on a mismatch; frees got. */
static void expect_text(char *got, const char *want)
{
    if (strcmp(got, want) != 0) {
        print_error("got:\n%s\nwant:\n%s\n", got, want);
        free(got);
        fail();
    }
    free(got);
}

static void expect_pretty(const json_value *v, const char *want) { expect_text(json_print_pretty(v), want); }
static void expect_compact(const json_value *v, const char *want) { expect_text(json_print_compact(v), want); }

static void test_scalars(void **state)
{
    (void)state;
    json_value *v = json_int_new(-1);
    expect_pretty(v, "-1");
    json_free(v);
    v = json_uint_new(UINT64_MAX);
    expect_pretty(v, "18446744073709551615");
    json_free(v);
    v = json_int_new(INT64_MIN);
    expect_pretty(v, "-9223372036854775808");
    json_free(v);
    v = json_bool_new(true);
    expect_pretty(v, "true");
    json_free(v);
    v = json_bool_new(false);
    expect_compact(v, "false");
    json_free(v);
    v = json_null_new();
    expect_pretty(v, "null");
    json_free(v);
    v = json_string_new("pat.raw");
    expect_pretty(v, "\"pat.raw\"");
    json_free(v);
}

/* The raw image's "info --output=json" document as Debian's and upstream's qemu-img print it. */
static void test_raw_info_order(void **state)
{
    (void)state;
    static const char *const want = "{\n"
                                    "    \"virtual-size\": 67108864,\n"
                                    "    \"filename\": \"pat.raw\",\n"
                                    "    \"format\": \"raw\",\n"
                                    "    \"actual-size\": 1200128,\n"
                                    "    \"dirty-flag\": false\n"
                                    "}";
    /* Inserted in two different orders: the key order comes from the keys, not the insertion. */
    json_value *a = json_object_new();
    json_object_set_uint(a, "virtual-size", 67108864);
    json_object_set_string(a, "filename", "pat.raw");
    json_object_set_string(a, "format", "raw");
    json_object_set_int(a, "actual-size", 1200128);
    json_object_set_bool(a, "dirty-flag", false);
    expect_pretty(a, want);
    json_value *b = json_object_new();
    json_object_set_bool(b, "dirty-flag", false);
    json_object_set_int(b, "actual-size", 1200128);
    json_object_set_string(b, "format", "raw");
    json_object_set_string(b, "filename", "pat.raw");
    json_object_set_uint(b, "virtual-size", 67108864);
    expect_pretty(b, want);
    json_free(a);
    json_free(b);
}

static void test_key_order_with_children(void **state)
{
    (void)state;
    static const char *const keys[] = {"virtual-size", "filename",        "cluster-size", "format",
                                       "actual-size",  "format-specific", "dirty-flag",   "children"};
    static const char *const order[] = {"children",    "virtual-size",    "filename",  "cluster-size", "format",
                                        "actual-size", "format-specific", "dirty-flag"};
    json_value *o = json_object_new();
    for (size_t i = 0; i < 8; i++)
        json_object_set_int(o, keys[i], (int64_t)i);
    char *text = json_print_compact(o);
    const char *cursor = text;
    for (size_t i = 0; i < 8; i++) {
        char quoted[64];
        snprintf(quoted, sizeof(quoted), "\"%s\"", order[i]);
        const char *at = strstr(cursor, quoted);
        if (at == NULL) {
            print_error("key %s not in order in %s\n", order[i], text);
            free(text);
            json_free(o);
            fail();
        }
        cursor = at + strlen(quoted);
    }
    free(text);
    json_free(o);
}

static void test_measure_order(void **state)
{
    (void)state;
    json_value *o = json_object_new();
    json_object_set_uint(o, "fully-allocated", 17592186044416ULL);
    json_object_set_uint(o, "required", 17592186044416ULL);
    expect_pretty(o, "{\n    \"required\": 17592186044416,\n    \"fully-allocated\": 17592186044416\n}");
    json_free(o);
}

/* A qcow2 image's full "info --output=json" tree: nesting, empty object and empty array layout. */
static void test_qcow2_info_document(void **state)
{
    (void)state;
    static const char *const want = "{\n"
                                    "    \"children\": [\n"
                                    "        {\n"
                                    "            \"name\": \"file\",\n"
                                    "            \"info\": {\n"
                                    "                \"children\": [\n"
                                    "                ],\n"
                                    "                \"virtual-size\": 2031616,\n"
                                    "                \"filename\": \"pat.qcow2\",\n"
                                    "                \"format\": \"file\",\n"
                                    "                \"actual-size\": 2031616,\n"
                                    "                \"format-specific\": {\n"
                                    "                    \"type\": \"file\",\n"
                                    "                    \"data\": {\n"
                                    "                    }\n"
                                    "                },\n"
                                    "                \"dirty-flag\": false\n"
                                    "            }\n"
                                    "        }\n"
                                    "    ],\n"
                                    "    \"virtual-size\": 67108864,\n"
                                    "    \"filename\": \"pat.qcow2\",\n"
                                    "    \"cluster-size\": 65536,\n"
                                    "    \"format\": \"qcow2\",\n"
                                    "    \"actual-size\": 2031616,\n"
                                    "    \"format-specific\": {\n"
                                    "        \"type\": \"qcow2\",\n"
                                    "        \"data\": {\n"
                                    "            \"compat\": \"1.1\",\n"
                                    "            \"compression-type\": \"zlib\",\n"
                                    "            \"lazy-refcounts\": false,\n"
                                    "            \"refcount-bits\": 16,\n"
                                    "            \"corrupt\": false,\n"
                                    "            \"extended-l2\": false\n"
                                    "        }\n"
                                    "    },\n"
                                    "    \"dirty-flag\": false\n"
                                    "}";
    json_value *file_info = json_object_new();
    json_object_set_uint(file_info, "virtual-size", 2031616);
    json_object_set_string(file_info, "filename", "pat.qcow2");
    json_object_set_string(file_info, "format", "file");
    json_object_set_int(file_info, "actual-size", 2031616);
    json_value *file_specific = json_object_new();
    json_object_set_string(file_specific, "type", "file");
    json_object_set(file_specific, "data", json_object_new());
    json_object_set(file_info, "format-specific", file_specific);
    json_object_set_bool(file_info, "dirty-flag", false);
    json_object_set(file_info, "children", json_array_new());

    json_value *child = json_object_new();
    json_object_set_string(child, "name", "file");
    json_object_set(child, "info", file_info);
    json_value *children = json_array_new();
    json_array_append(children, child);

    json_value *data = json_object_new();
    json_object_set_string(data, "compat", "1.1");
    json_object_set_bool(data, "lazy-refcounts", false);
    json_object_set_int(data, "refcount-bits", 16);
    json_object_set_bool(data, "corrupt", false);
    json_object_set_bool(data, "extended-l2", false);
    json_object_set_string(data, "compression-type", "zlib");
    json_value *specific = json_object_new();
    json_object_set_string(specific, "type", "qcow2");
    json_object_set(specific, "data", data);

    json_value *top = json_object_new();
    json_object_set_uint(top, "virtual-size", 67108864);
    json_object_set_string(top, "filename", "pat.qcow2");
    json_object_set_int(top, "cluster-size", 65536);
    json_object_set_string(top, "format", "qcow2");
    json_object_set_int(top, "actual-size", 2031616);
    json_object_set(top, "format-specific", specific);
    json_object_set_bool(top, "dirty-flag", false);
    json_object_set(top, "children", children);
    expect_pretty(top, want);
    json_free(top);
}

static void test_empty_containers(void **state)
{
    (void)state;
    json_value *o = json_object_new();
    expect_pretty(o, "{\n}");
    expect_compact(o, "{}");
    json_free(o);
    json_value *a = json_array_new();
    expect_pretty(a, "[\n]");
    expect_compact(a, "[]");
    json_free(a);
    o = json_object_new();
    json_object_set(o, "data", json_object_new());
    expect_pretty(o, "{\n    \"data\": {\n    }\n}");
    json_free(o);
}

static void test_arrays(void **state)
{
    (void)state;
    json_value *a = json_array_new();
    json_array_append(a, json_int_new(1));
    json_array_append(a, json_string_new("two"));
    json_array_append(a, json_bool_new(true));
    expect_compact(a, "[1, \"two\", true]");
    expect_pretty(a, "[\n    1,\n    \"two\",\n    true\n]");
    json_free(a);
}

static void test_set_replaces(void **state)
{
    (void)state;
    json_value *o = json_object_new();
    json_object_set_int(o, "format", 1);
    json_object_set_string(o, "format", "raw");
    assert_int_equal(o->member_count, 1);
    expect_compact(o, "{\"format\": \"raw\"}");
    assert_non_null(json_object_get(o, "format"));
    assert_null(json_object_get(o, "nothing"));
    json_value *taken = json_object_take(o, "format");
    assert_non_null(taken);
    assert_string_equal(taken->string, "raw");
    assert_int_equal(o->member_count, 0);
    assert_null(json_object_take(o, "format"));
    json_free(taken);
    json_free(o);
}

static void expect_quoted(const char *text, const char *want) { expect_text(json_quote_string(text), want); }

static void test_string_escapes(void **state)
{
    (void)state;
    expect_quoted("plain", "\"plain\"");
    expect_quoted("a\"b\\c", "\"a\\\"b\\\\c\"");
    expect_quoted("\b\f\n\r\t", "\"\\b\\f\\n\\r\\t\"");
    expect_quoted("\x01\x1f", "\"\\u0001\\u001F\"");
    expect_quoted("\x7f", "\"\\u007F\"");
    expect_quoted("a/b", "\"a/b\"");
    expect_quoted("\xc3\xa9", "\"\\u00E9\"");              /* é */
    expect_quoted("\xe2\x82\xac", "\"\\u20AC\"");          /* € */
    expect_quoted("\xf0\x9f\x98\x80", "\"\\uD83D\\uDE00\""); /* U+1F600 as a surrogate pair */
    expect_quoted("\xff", "\"\\uFFFD\"");                  /* not UTF-8 */
    json_value *o = json_object_new();
    json_object_set_string(o, "filename", "dir with \"quotes\"/x.img");
    expect_pretty(o, "{\n    \"filename\": \"dir with \\\"quotes\\\"/x.img\"\n}");
    json_free(o);
}

static json_value *parse_ok(const char *text)
{
    error *err = NULL;
    json_value *v = json_parse(text, &err);
    if (v == NULL)
        print_error("json_parse(%s): %s\n", text, error_message(err));
    assert_non_null(v);
    assert_null(err);
    return v;
}

static void parse_fails(const char *text)
{
    error *err = NULL;
    json_value *v = json_parse(text, &err);
    if (v != NULL)
        print_error("json_parse(%s) unexpectedly succeeded\n", text);
    assert_null(v);
    assert_non_null(err);
    assert_true(strlen(error_message(err)) > 0);
    error_free(err);
}

static void test_parse_filename_document(void **state)
{
    (void)state;
    json_value *v = parse_ok("{\"driver\":\"raw\",\"file\":{\"driver\":\"file\",\"filename\":\"t.img\"}}");
    assert_int_equal(v->type, JSON_OBJECT);
    assert_int_equal(v->member_count, 2);
    json_value *driver = json_object_get(v, "driver");
    assert_non_null(driver);
    assert_int_equal(driver->type, JSON_STRING);
    assert_string_equal(driver->string, "raw");
    json_value *file = json_object_get(v, "file");
    assert_non_null(file);
    assert_int_equal(file->type, JSON_OBJECT);
    assert_string_equal(json_object_get(file, "filename")->string, "t.img");
    json_free(v);
}

static void test_parse_values(void **state)
{
    (void)state;
    json_value *v = parse_ok(" [ 1 , -2, 3.5, true, false, null, \"s\", {}, [] ] ");
    assert_int_equal(v->type, JSON_ARRAY);
    assert_int_equal(v->item_count, 9);
    assert_int_equal(v->items[0]->type, JSON_INTEGER);
    assert_true(v->items[0]->integer == 1);
    assert_true(v->items[1]->integer == -2);
    assert_int_equal(v->items[2]->type, JSON_DOUBLE);
    assert_true(v->items[2]->number == 3.5);
    assert_int_equal(v->items[3]->type, JSON_BOOL);
    assert_true(v->items[3]->boolean);
    assert_false(v->items[4]->boolean);
    assert_int_equal(v->items[5]->type, JSON_NULL);
    assert_string_equal(v->items[6]->string, "s");
    assert_int_equal(v->items[7]->type, JSON_OBJECT);
    assert_int_equal(v->items[7]->member_count, 0);
    assert_int_equal(v->items[8]->type, JSON_ARRAY);
    assert_int_equal(v->items[8]->item_count, 0);
    json_free(v);

    v = parse_ok("{'driver': 'qcow2', 'file': {'filename': 'a b.img'}}");
    assert_string_equal(json_object_get(v, "driver")->string, "qcow2");
    assert_string_equal(json_object_get(json_object_get(v, "file"), "filename")->string, "a b.img");
    json_free(v);

    v = parse_ok("\"a\\\"b\\\\c\\/d\\n\\u00e9\"");
    assert_string_equal(v->string, "a\"b\\c/d\n\xc3\xa9");
    json_free(v);

    v = parse_ok("{\"n\": 9223372036854775807}");
    assert_true(json_object_get(v, "n")->integer == INT64_MAX);
    json_free(v);
}

static void test_parse_round_trip(void **state)
{
    (void)state;
    json_value *v = parse_ok("{\"format\": \"raw\", \"virtual-size\": 1048576, \"dirty-flag\": false}");
    expect_pretty(v, "{\n    \"virtual-size\": 1048576,\n    \"format\": \"raw\",\n    \"dirty-flag\": false\n}");
    json_free(v);
}

static void test_parse_errors(void **state)
{
    (void)state;
    parse_fails("");
    parse_fails("{");
    parse_fails("[1, 2");
    parse_fails("{\"a\" 1}");
    parse_fails("{\"a\": 1,}");
    parse_fails("[1,]");
    parse_fails("{1: 2}");
    parse_fails("\"unterminated");
    parse_fails("\"bad escape \\q\"");
    parse_fails("\"bad unicode \\u12G4\"");
    parse_fails("nope");
    parse_fails("{} trailing");
    parse_fails("{\"a\": tru}");
}

static void test_parse_deep_nesting_is_refused(void **state)
{
    (void)state;
    enum { DEPTH = 100000 };
    char *text = malloc(2 * DEPTH + 1);
    assert_non_null(text);
    memset(text, '[', DEPTH);
    memset(text + DEPTH, ']', DEPTH);
    text[2 * DEPTH] = '\0';
    parse_fails(text);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_raw_info_order),
        cmocka_unit_test(test_key_order_with_children),
        cmocka_unit_test(test_measure_order),
        cmocka_unit_test(test_qcow2_info_document),
        cmocka_unit_test(test_empty_containers),
        cmocka_unit_test(test_arrays),
        cmocka_unit_test(test_set_replaces),
        cmocka_unit_test(test_string_escapes),
        cmocka_unit_test(test_parse_filename_document),
        cmocka_unit_test(test_parse_values),
        cmocka_unit_test(test_parse_round_trip),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_deep_nesting_is_refused),
    };
    return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
