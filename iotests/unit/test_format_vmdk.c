/* test_format_vmdk.c — cmocka tests of the VMDK driver's pure parts: the hosted sparse header codec,
 * grain directory sizing, the descriptor parser (qemu's extent-line rules) and the descriptor qemu
 * writes (spec/vmdk.md §Sparse header, §Descriptor, §Creation). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "formats/vmdk/vmdk.h"
#include "util/endian.h"

/* The header of a new 64 MiB monolithicSparse image as qemu 10.2 writes it. */
static const uint8_t header_64m[80] = {
    0x4b, 0x44, 0x4d, 0x56, 0x01, 0, 0, 0, 0x03, 0, 0, 0, 0x00, 0x00, 0x02, 0, 0, 0, 0, 0,
    0x80, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0x14, 0, 0, 0,
    0, 0, 0, 0, 0x00, 0x02, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 0x1e, 0, 0, 0,
    0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x0a, 0x20, 0x0d, 0x0a, 0x00, 0x00, 0x00,
};

static void test_header_decodes_fields(void **state)
{
    (void)state;
    vmdk_sparse_header h;
    vmdk_sparse_header_read_data(header_64m, sizeof(header_64m), &h);
    assert_int_equal(h.magic, VMDK4_MAGIC);
    assert_int_equal(h.version, 1);
    assert_int_equal(h.flags, VMDK4_FLAG_NEWLINE_TEST | VMDK4_FLAG_REDUNDANT_GT);
    assert_int_equal(h.capacity, 131072);
    assert_int_equal(h.grain_size, 128);
    assert_int_equal(h.desc_offset, 1);
    assert_int_equal(h.desc_size, 20);
    assert_int_equal(h.num_gtes_per_gt, 512);
    assert_int_equal(h.rgd_offset, 21);
    assert_int_equal(h.gd_offset, 30);
    assert_int_equal(h.overhead, 128);
    assert_memory_equal(h.newline_chars, "\n \r\n", 4);
    assert_int_equal(h.compress_algorithm, 0);
}

static void test_header_round_trip(void **state)
{
    (void)state;
    vmdk_sparse_header h;
    uint8_t out[VMDK4_HEADER_BYTES];
    vmdk_sparse_header_read_data(header_64m, sizeof(header_64m), &h);
    vmdk_sparse_header_write_data(&h, out);
    assert_memory_equal(out, header_64m, sizeof(header_64m));
    for (size_t i = sizeof(header_64m); i < sizeof(out); i++)
        assert_int_equal(out[i], 0);
}

static void test_header_short_buffer_reads_zero(void **state)
{
    (void)state;
    vmdk_sparse_header h;
    vmdk_sparse_header_read_data(header_64m, 8, &h);
    assert_int_equal(h.magic, VMDK4_MAGIC);
    assert_int_equal(h.version, 1);
    assert_int_equal(h.capacity, 0);
    assert_int_equal(h.gd_offset, 0);
}

static void test_gd_entries(void **state)
{
    (void)state;
    assert_int_equal(vmdk_gd_entries(131072, 128, 512), 2);
    assert_int_equal(vmdk_gd_entries(129, 128, 512), 1);
    assert_int_equal(vmdk_gd_entries(0, 128, 512), 0);
    assert_int_equal(vmdk_gd_entries(1ull << 32, 128, 512), 65536);
    assert_int_equal(vmdk_gd_entries(100, 0, 512), 0);
    assert_int_equal(vmdk_geometry_cylinders(131072, 16), 130);
    assert_int_equal(vmdk_geometry_cylinders(6442450944ull, 255), 401024);
}

static const char descriptor_text[] =
    "# Disk DescriptorFile\nversion=1\nCID=a454774a \nparentCID=ffffffff\n"
    "createType=\"twoGbMaxExtentSparse\"\nparentFileNameHint=\"base.vmdk\"\n\n# Extent description\n"
    "RW 4194304 SPARSE \"f-s001.vmdk\"\nRDONLY 100 FLAT \"ro.raw\" 0\nRW 2048 ZERO \"z\"\n"
    "RW 0 FLAT \"empty.raw\" 0\nRW 16 FLAT \"x.raw\" 7\nRW 8 VMFS \"v.raw\"\n";

static void test_descriptor_parse(void **state)
{
    (void)state;
    vmdk_descriptor d;
    error *err = NULL;
    assert_int_equal(vmdk_descriptor_parse(descriptor_text, strlen(descriptor_text), true, &d, &err), 0);
    assert_true(d.has_cid);
    assert_int_equal(d.cid, 0xa454774a);
    assert_int_equal(d.parent_cid, 0xffffffff);
    assert_string_equal(d.create_type, "twoGbMaxExtentSparse");
    assert_string_equal(d.parent_hint, "base.vmdk");
    /* RDONLY, ZERO and empty extents are skipped as qemu skips them */
    assert_int_equal(d.extent_count, 3);
    assert_int_equal(d.extents[0].kind, VMDK_EXTENT_SPARSE);
    assert_string_equal(d.extents[0].filename, "f-s001.vmdk");
    assert_int_equal(d.extents[0].sectors, 4194304);
    assert_int_equal(d.extents[1].kind, VMDK_EXTENT_FLAT);
    assert_int_equal(d.extents[1].offset, 7);
    assert_int_equal(d.extents[2].kind, VMDK_EXTENT_VMFS);
    assert_int_equal(d.extents[2].offset, 0);
    vmdk_descriptor_free(&d);
}

/* The message parse gives for text ("" when it accepts it). */
static char *parse_message(const char *text)
{
    vmdk_descriptor d;
    error *err = NULL;
    int ret = vmdk_descriptor_parse(text, strlen(text), true, &d, &err);
    char *message = strdup(ret == 0 ? "" : error_message(err));
    if (ret == 0)
        vmdk_descriptor_free(&d);
    error_free(err);
    return message;
}

static void test_descriptor_extent_errors(void **state)
{
    (void)state;
    char *m = parse_message("createType=\"vmfs\"\nRW 2048 BOGUS \"x\" 0\n");
    assert_string_equal(m, "Invalid extent line: RW 2048 BOGUS \"x\" 0");
    free(m);
    m = parse_message("createType=\"vmfs\"\nRW 2048 FLAT \"x\"\r\n");
    assert_string_equal(m, "Invalid extent line: RW 2048 FLAT \"x\"");
    free(m);
    m = parse_message("createType=\"vmfs\"\nRW x FLAT \"x\" 0\nRW 2048 FLAT x 0\n");
    assert_string_equal(m, "");
    free(m);
}

static void test_descriptor_format(void **state)
{
    (void)state;
    vmdk_descriptor_layout l = {0x288e53ae, 0xffffffff, "monolithicSparse", NULL, "RW 131072 SPARSE \"a.img\"\n",
                                "4", 130, 16, "ide", "2147483647"};
    char *text = vmdk_descriptor_format(&l);
    assert_string_equal(text, "# Disk DescriptorFile\nversion=1\nCID=288e53ae\nparentCID=ffffffff\n"
                              "createType=\"monolithicSparse\"\n\n# Extent description\nRW 131072 SPARSE \"a.img\"\n\n"
                              "# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = \"4\"\n"
                              "ddb.geometry.cylinders = \"130\"\nddb.geometry.heads = \"16\"\n"
                              "ddb.geometry.sectors = \"63\"\nddb.adapterType = \"ide\"\n"
                              "ddb.toolsVersion = \"2147483647\"\n");
    free(text);
    l.parent_hint = "base.vmdk";
    l.cid = 0xa9989fd;
    text = vmdk_descriptor_format(&l);
    assert_non_null(strstr(text, "CID=a9989fd\n"));
    assert_non_null(strstr(text, "createType=\"monolithicSparse\"\nparentFileNameHint=\"base.vmdk\"\n# Extent"));
    free(text);
}

static void test_descriptor_quoted_values(void **state)
{
    (void)state;
    vmdk_descriptor d;
    const char *text = "CID=5\nparentCID=7\ncreateType = \"vmfs\"\nparentFileNameHint=\"\"\n";
    assert_int_equal(vmdk_descriptor_parse(text, strlen(text), false, &d, NULL), 0);
    assert_string_equal(d.create_type, " "); /* qemu skips two characters after the key */
    assert_null(d.parent_hint);
    assert_false(d.parent_hint_invalid);
    vmdk_descriptor_free(&d);
    text = "parentCID=7\nparentFileNameHint=base\n";
    assert_int_equal(vmdk_descriptor_parse(text, strlen(text), false, &d, NULL), 0);
    assert_int_equal(d.cid, 7); /* the first "CID=" is parentCID's */
    assert_true(d.parent_hint_invalid);
    assert_null(d.create_type);
    vmdk_descriptor_free(&d);
}

static void test_descriptor_set_value(void **state)
{
    (void)state;
    char *text = vmdk_descriptor_set_value("version=1\nCID=12 \nparentCID=ffffffff\n", "CID", "abcdef01");
    assert_string_equal(text, "version=1\nCID=abcdef01 \nparentCID=ffffffff\n");
    free(text);
    assert_null(vmdk_descriptor_set_value("version=1\n", "CID", "1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_decodes_fields),
        cmocka_unit_test(test_header_round_trip),
        cmocka_unit_test(test_header_short_buffer_reads_zero),
        cmocka_unit_test(test_gd_entries),
        cmocka_unit_test(test_descriptor_parse),
        cmocka_unit_test(test_descriptor_extent_errors),
        cmocka_unit_test(test_descriptor_format),
        cmocka_unit_test(test_descriptor_quoted_values),
        cmocka_unit_test(test_descriptor_set_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
