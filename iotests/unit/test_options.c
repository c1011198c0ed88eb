/* test_options.c — cmocka tests of option strings, typed values and the "Formatting" text, impl/util/options.h (spec/architecture.md §Options, §Tests). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "options.h"

static void parse_ok(option_list *list, const char *text, const char *implied_key)
{
    error *err = NULL;
    int rc = option_list_parse(list, text, implied_key, &err);
    if (rc != 0)
        print_error("option_list_parse(\"%s\") failed: %s\n", text, error_message(err));
    assert_int_equal(rc, 0);
    assert_null(err);
}

static void test_parse_simple(void **state)
{
    (void)state;
    option_list list = {0};
    parse_ok(&list, "size=1M,preallocation=full", NULL);
    assert_int_equal(list.count, 2);
    assert_string_equal(list.entries[0].key, "size");
    assert_string_equal(list.entries[0].value, "1M");
    assert_string_equal(list.entries[1].key, "preallocation");
    assert_string_equal(list.entries[1].value, "full");
    assert_string_equal(option_list_get(&list, "size"), "1M");
    assert_null(option_list_get(&list, "cluster_size"));
    option_list_free(&list);
    assert_int_equal(list.count, 0);
}

static void test_parse_comma_escape(void **state)
{
    (void)state;
    option_list list = {0};
    parse_ok(&list, "file.filename=a,,b.img,driver=raw", NULL);
    assert_int_equal(list.count, 2);
    assert_string_equal(option_list_get(&list, "file.filename"), "a,b.img");
    assert_string_equal(option_list_get(&list, "driver"), "raw");
    option_list_free(&list);

    parse_ok(&list, "x=,,,,", NULL);
    assert_string_equal(option_list_get(&list, "x"), ",,");
    option_list_free(&list);

    parse_ok(&list, "x=a=b", NULL);
    assert_string_equal(option_list_get(&list, "x"), "a=b");
    option_list_free(&list);
}

static void test_parse_implied_key(void **state)
{
    (void)state;
    option_list list = {0};
    parse_ok(&list, "t.img,driver=raw", "file");
    assert_int_equal(list.count, 2);
    assert_string_equal(option_list_get(&list, "file"), "t.img");
    assert_string_equal(option_list_get(&list, "driver"), "raw");
    option_list_free(&list);

    /* Without an implied key, a bare word is a flag set to "on". */
    parse_ok(&list, "size=1M,lazy_refcounts", NULL);
    assert_string_equal(option_list_get(&list, "lazy_refcounts"), "on");
    option_list_free(&list);

    /* The implied key applies to the first element only. */
    parse_ok(&list, "driver=raw,flag", "file");
    assert_null(option_list_get(&list, "file"));
    assert_string_equal(option_list_get(&list, "flag"), "on");
    option_list_free(&list);
}

static void test_set_replaces_in_place(void **state)
{
    (void)state;
    option_list list = {0};
    parse_ok(&list, "a=1,b=2,a=3", NULL);
    assert_int_equal(list.count, 2);
    assert_string_equal(list.entries[0].key, "a");
    assert_string_equal(list.entries[0].value, "3");
    assert_string_equal(list.entries[1].key, "b");

    option_list_set(&list, "c", "4");
    option_list_set(&list, "b", "5");
    assert_int_equal(list.count, 3);
    assert_string_equal(list.entries[1].value, "5");
    assert_string_equal(list.entries[2].key, "c");

    option_list copy = option_list_copy(&list);
    assert_true(option_list_remove(&list, "a"));
    assert_false(option_list_remove(&list, "a"));
    assert_int_equal(list.count, 2);
    assert_string_equal(list.entries[0].key, "b");
    assert_int_equal(copy.count, 3);
    assert_string_equal(option_list_get(&copy, "a"), "3");
    option_list_free(&copy);
    option_list_free(&list);
}

static void test_help_detection(void **state)
{
    (void)state;
    assert_true(option_text_has_help("help"));
    assert_true(option_text_has_help("?"));
    assert_true(option_text_has_help("size=1M,help"));
    assert_true(option_text_has_help("help,size=1M"));
    assert_true(option_text_has_help("cluster_size=64k,?"));
    assert_false(option_text_has_help("size=1M"));
    assert_false(option_text_has_help("helpful"));
    assert_false(option_text_has_help("a=help"));
    assert_false(option_text_has_help("a=x,,help"));
    assert_false(option_text_has_help(""));
}

static void test_valid_option_list(void **state)
{
    (void)state;
    assert_true(option_text_is_valid("size=1M"));
    assert_true(option_text_is_valid("a=1,b=2"));
    assert_true(option_text_is_valid("a=x,,"));
    assert_false(option_text_is_valid(""));
    assert_false(option_text_is_valid("a=1,"));
    assert_false(option_text_is_valid("a=1,,,"));
    assert_false(option_text_is_valid(",a=1"));
}

static void test_bool_values(void **state)
{
    (void)state;
    static const char *const yes[] = {"on", "yes", "true", "y"};
    static const char *const no[] = {"off", "no", "false", "n"};
    for (size_t i = 0; i < 4; i++) {
        bool b = false;
        assert_int_equal(option_value_parse_bool("lazy_refcounts", yes[i], &b, NULL), 0);
        assert_true(b);
        assert_int_equal(option_value_parse_bool("lazy_refcounts", no[i], &b, NULL), 0);
        assert_false(b);
    }
    error *err = NULL;
    bool b;
    assert_int_equal(option_value_parse_bool("lazy_refcounts", "maybe", &b, &err), -1);
    assert_non_null(err);
    assert_string_equal(error_message(err), "Parameter 'lazy_refcounts' expects 'on' or 'off'");
    error_free(err);
}

static void test_size_values(void **state)
{
    (void)state;
    uint64_t n = 0;
    error *err = NULL;
    assert_int_equal(option_value_parse_size("cluster_size", "64k", &n, &err), 0);
    assert_true(n == 65536);
    assert_null(err);

    assert_int_equal(option_value_parse_size("size", "18E", &n, &err), -1);
    assert_string_equal(error_message(err), "Value '18E' is out of range for parameter 'size'");
    error_free(err);
    err = NULL;

    assert_int_equal(option_value_parse_size("cluster_size", "lots", &n, &err), -1);
    const char *want = "Parameter 'cluster_size' expects a non-negative number below 2^64";
    assert_true(strncmp(error_message(err), want, strlen(want)) == 0);
    error_free(err);
}

static void test_number_values(void **state)
{
    (void)state;
    uint64_t n = 0;
    error *err = NULL;
    assert_int_equal(option_value_parse_number("refcount_bits", "16", &n, &err), 0);
    assert_true(n == 16);
    assert_int_equal(option_value_parse_number("refcount_bits", "0x20", &n, &err), 0);
    assert_true(n == 32);
    assert_null(err);

    assert_int_equal(option_value_parse_number("refcount_bits", "sixteen", &n, &err), -1);
    assert_string_equal(error_message(err), "Parameter 'refcount_bits' expects a number");
    error_free(err);
    err = NULL;
    assert_int_equal(option_value_parse_number("refcount_bits", "", &n, &err), -1);
    assert_string_equal(error_message(err), "Parameter 'refcount_bits' expects a number");
    error_free(err);
}

static void test_typed_getters(void **state)
{
    (void)state;
    option_list list = {0};
    parse_ok(&list, "lazy_refcounts=on,cluster_size=2M,refcount_bits=8", NULL);
    bool b = false;
    uint64_t n = 0;
    assert_int_equal(option_list_get_bool(&list, "lazy_refcounts", false, &b, NULL), 0);
    assert_true(b);
    assert_int_equal(option_list_get_bool(&list, "extended_l2", true, &b, NULL), 0);
    assert_true(b);
    assert_int_equal(option_list_get_size(&list, "cluster_size", 65536, &n, NULL), 0);
    assert_true(n == 2097152);
    assert_int_equal(option_list_get_size(&list, "size", 123, &n, NULL), 0);
    assert_true(n == 123);
    assert_int_equal(option_list_get_number(&list, "refcount_bits", 16, &n, NULL), 0);
    assert_true(n == 8);
    option_list_free(&list);
}

/* A qcow2-like descriptor set, in the order qemu prints its "Formatting" line. */
static const option_desc qcow2_like[] = {
    {"cluster_size", OPTION_TYPE_SIZE, "qcow2 cluster size", "65536"},
    {"extended_l2", OPTION_TYPE_BOOL, "Extended L2 tables", "off"},
    {"compression_type", OPTION_TYPE_STRING, "Compression method used for image cluster compression", "zlib"},
    {"size", OPTION_TYPE_SIZE, "Virtual disk size", NULL},
    {"compat", OPTION_TYPE_STRING, "Compatibility level (v2 [0.10] or v3 [1.1])", NULL},
    {"backing_file", OPTION_TYPE_STRING, "File name of a base image", NULL},
    {"lazy_refcounts", OPTION_TYPE_BOOL, "Postpone refcount updates", "off"},
    {"refcount_bits", OPTION_TYPE_NUMBER, "Width of a reference count entry in bits", "16"},
    {NULL, 0, NULL, NULL},
};
static const option_desc raw_like[] = {
    {"size", OPTION_TYPE_SIZE, "Virtual disk size", NULL},
    {"preallocation", OPTION_TYPE_STRING, "Preallocation mode (allowed values: off, falloc, full)", NULL},
    {NULL, 0, NULL, NULL},
};

static void expect_format(const option_desc *descs, const char *text, const char *want)
{
    option_desc_list list = {0};
    option_desc_list_append(&list, descs);
    option_list opts = {0};
    parse_ok(&opts, text, NULL);
    char *got = option_list_format(&opts, &list);
    if (strcmp(got, want) != 0) {
        print_error("option_list_format(\"%s\") = \"%s\"; want \"%s\"\n", text, got, want);
        fail();
    }
    free(got);
    option_list_free(&opts);
    option_desc_list_free(&list);
}

static void test_format_line(void **state)
{
    (void)state;
    expect_format(raw_like, "size=1048576", "size=1048576");
    expect_format(raw_like, "size=16M,preallocation=full", "size=16777216 preallocation=full");
    expect_format(raw_like, "preallocation=bogus,size=16M", "size=16777216 preallocation=bogus");
    expect_format(qcow2_like, "size=64M,compat=1.1",
                  "cluster_size=65536 extended_l2=off compression_type=zlib size=67108864 compat=1.1 "
                  "lazy_refcounts=off refcount_bits=16");
    expect_format(qcow2_like, "size=1G,cluster_size=2M,lazy_refcounts=on,backing_file=b.img",
                  "cluster_size=2097152 extended_l2=off compression_type=zlib size=1073741824 "
                  "backing_file=b.img lazy_refcounts=on refcount_bits=16");
}

static void test_desc_list_union(void **state)
{
    (void)state;
    option_desc_list list = {0};
    option_desc_list_append(&list, raw_like);
    option_desc_list_append(&list, qcow2_like);
    /* "size" is not repeated; raw's two come first, then qcow2's other seven. */
    assert_int_equal(list.count, 9);
    assert_string_equal(list.items[0]->name, "size");
    assert_string_equal(list.items[1]->name, "preallocation");
    assert_string_equal(list.items[2]->name, "cluster_size");
    assert_ptr_equal(option_desc_list_find(&list, "size"), &raw_like[0]);
    assert_null(option_desc_list_find(&list, "bogus"));
    option_desc_list_free(&list);
}

static void test_validate(void **state)
{
    (void)state;
    option_desc_list descs = {0};
    option_desc_list_append(&descs, qcow2_like);
    option_list opts = {0};
    error *err = NULL;

    parse_ok(&opts, "size=1M,lazy_refcounts=on,refcount_bits=8", NULL);
    assert_int_equal(option_list_validate(&opts, &descs, &err), 0);
    assert_null(err);
    option_list_free(&opts);

    parse_ok(&opts, "size=1M,bogus=1", NULL);
    assert_int_equal(option_list_validate(&opts, &descs, &err), -1);
    assert_string_equal(error_message(err), "Invalid parameter 'bogus'");
    error_free(err);
    err = NULL;
    option_list_free(&opts);

    parse_ok(&opts, "lazy_refcounts=maybe", NULL);
    assert_int_equal(option_list_validate(&opts, &descs, &err), -1);
    assert_string_equal(error_message(err), "Parameter 'lazy_refcounts' expects 'on' or 'off'");
    error_free(err);
    option_list_free(&opts);
    option_desc_list_free(&descs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_simple),
        cmocka_unit_test(test_parse_comma_escape),
        cmocka_unit_test(test_parse_implied_key),
        cmocka_unit_test(test_set_replaces_in_place),
        cmocka_unit_test(test_help_detection),
        cmocka_unit_test(test_valid_option_list),
        cmocka_unit_test(test_bool_values),
        cmocka_unit_test(test_size_values),
        cmocka_unit_test(test_number_values),
        cmocka_unit_test(test_typed_getters),
        cmocka_unit_test(test_format_line),
        cmocka_unit_test(test_desc_list_union),
        cmocka_unit_test(test_validate),
    };
    return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
