/* test_error.c — cmocka tests of the error object and the string builders, impl/util/error.h and memory.h (spec/architecture.md §Errors, §Memory, §Tests). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "error.h"
#include "memory.h"

static void test_error_set_first_wins(void **state)
{
    (void)state;
    error *err = NULL;
    assert_int_equal(error_set(&err, "Could not open '%s'", "t.img"), -1);
    assert_non_null(err);
    assert_string_equal(error_message(err), "Could not open 't.img'");
    /* A second error does not replace the first. */
    assert_int_equal(error_set(&err, "something else"), -1);
    assert_string_equal(error_message(err), "Could not open 't.img'");
    error_free(err);
    /* A NULL errp is accepted and ignored. */
    assert_int_equal(error_set(NULL, "ignored"), -1);
    assert_string_equal(error_message(NULL), "");
    error_free(NULL);
}

static void test_error_errno(void **state)
{
    (void)state;
    error *err = NULL;
    error_set_errno(&err, ENOENT, "Could not open '%s'", "t.img");
    assert_string_equal(error_message(err), "Could not open 't.img': No such file or directory");
    error_free(err);
}

static void test_error_prepend(void **state)
{
    (void)state;
    error *err = NULL;
    error_prepend(&err, "ignored: ");
    assert_null(err);
    error_set(&err, "No such file or directory");
    error_prepend(&err, "Could not open '%s': ", "t.img");
    assert_string_equal(error_message(err), "Could not open 't.img': No such file or directory");
    error_free(err);
}

static void test_error_propagate(void **state)
{
    (void)state;
    error *dst = NULL;
    error *src = NULL;
    error_set(&src, "first");
    error_propagate(&dst, src);
    assert_ptr_equal(dst, src);
    error *later = NULL;
    error_set(&later, "second");
    error_propagate(&dst, later); /* freed, dst keeps the first */
    assert_string_equal(error_message(dst), "first");
    error_propagate(&dst, NULL);
    assert_string_equal(error_message(dst), "first");
    error_free(dst);
}

static void test_string_buffer(void **state)
{
    (void)state;
    string_buffer sb = {0};
    string_buffer_append(&sb, "Formatting ");
    string_buffer_printf(&sb, "'%s', fmt=%s", "t.img", "raw");
    string_buffer_append_length(&sb, " size=1048576 and more", 13);
    char *text = string_buffer_take(&sb);
    assert_string_equal(text, "Formatting 't.img', fmt=raw size=1048576");
    free(text);
    text = string_buffer_take(&sb);
    assert_string_equal(text, "");
    free(text);
    for (int i = 0; i < 10000; i++)
        string_buffer_append(&sb, "0123456789");
    assert_int_equal(sb.length, 100000);
    string_buffer_free(&sb);
}

static void test_memory_helpers(void **state)
{
    (void)state;
    char *s = memory_printf("%s-%d", "block", 7);
    assert_string_equal(s, "block-7");
    free(s);
    s = memory_strndup("qcow2-extra", 5);
    assert_string_equal(s, "qcow2");
    free(s);
    assert_null(memory_strdup(NULL));
    unsigned char *zero = memory_alloc_zero(64);
    for (int i = 0; i < 64; i++)
        assert_int_equal(zero[i], 0);
    free(zero);
    void *aligned = memory_alloc_aligned(8192);
    assert_non_null(aligned);
    assert_int_equal((uintptr_t)aligned % 4096, 0);
    free(aligned);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_set_first_wins),
        cmocka_unit_test(test_error_errno),
        cmocka_unit_test(test_error_prepend),
        cmocka_unit_test(test_error_propagate),
        cmocka_unit_test(test_string_buffer),
        cmocka_unit_test(test_memory_helpers),
    };
    return cmocka_run_group_tests_name("error", tests, NULL, NULL);
}
