/* fuzz_common.c — the shared body of the fuzz targets (spec/architecture.md §Fuzzing). */
#include "fuzz_common.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../impl/block/block.h"
#include "../impl/block/info.h"
#include "../impl/block/memory.h"
#include "../impl/cli/print.h"
#include "../impl/util/endian.h"
#include "../impl/util/memory.h"
#include "../impl/util/report.h"

enum {
    FUZZ_READ_LIMIT = 4u << 20,     /* bytes of the virtual disk read per input */
    FUZZ_READ_CHUNK = 64u << 10,
    FUZZ_MAP_STEPS = 4096,           /* block-status calls per input */
    FUZZ_MODEL_LIMIT = 1u << 20,     /* bytes of the disk modelled for the write phase */
    FUZZ_GROWTH_LIMIT = 16u << 20,   /* how far writes may grow the in-memory file */
    FUZZ_OPERATION_SIZE = 8,
    FUZZ_OPERATIONS_MAX = 64,
};

/* Output of the printers goes nowhere: the targets exercise them, not the terminal. */
static void fuzz_output_silence(void)
{
    static bool done;
    if (!done) {
        if (freopen("/dev/null", "w", stdout) == NULL) {
            /* keep stdout as it is */
        }
        report_discard();
        done = true;
    }
}

/* info in both forms, as `qemu-img info` and `qemu-img info --output=json` would show it. */
static void fuzz_info(block_node *node)
{
    error *err = NULL;
    json_value *info = block_node_info_describe(node, &err);
    error_free(err);
    if (info == NULL)
        return;
    char *text = json_print_pretty(info);
    fputs(text, stdout);
    free(text);
    print_image_info_human(info, 0, "/");
    json_free(info);
}

/* Walks the allocation map, as `qemu-img map` does, for a bounded number of steps. */
static void fuzz_map(block_node *node)
{
    uint64_t length = (uint64_t)block_node_length(node);
    uint64_t offset = 0;
    for (int step = 0; step < FUZZ_MAP_STEPS && offset < length; step++) {
        block_status_result st;
        int depth;
        error *err = NULL;
        if (block_node_status_above(node, NULL, offset, length - offset, &st, &depth, &err) < 0) {
            error_free(err);
            return;
        }
        if (st.length == 0)
            return;
        offset += st.length;
    }
}

/* Reads the start and the end of the disk in chunks; returns the first model_size bytes in model. */
static int fuzz_read(block_node *node, uint8_t *model, size_t model_size)
{
    uint64_t length = (uint64_t)block_node_length(node);
    uint8_t *chunk = memory_alloc_zero(FUZZ_READ_CHUNK);
    uint64_t budget = FUZZ_READ_LIMIT;
    int ret = 0;
    for (uint64_t offset = 0; offset < length && budget > 0; offset += FUZZ_READ_CHUNK) {
        size_t n = length - offset < FUZZ_READ_CHUNK ? (size_t)(length - offset) : FUZZ_READ_CHUNK;
        error *err = NULL;
        if (block_node_read(node, offset, n, chunk, &err) < 0) {
            error_free(err);
            ret = -1;
            break;
        }
        if (model && offset < model_size) {
            size_t keep = model_size - offset < n ? (size_t)(model_size - offset) : n;
            memcpy(model + offset, chunk, keep);
        }
        budget -= n < budget ? n : budget;
    }
    if (length > FUZZ_READ_CHUNK) {
        error *err = NULL;
        if (block_node_read(node, length - FUZZ_READ_CHUNK, FUZZ_READ_CHUNK, chunk, &err) < 0)
            error_free(err);
    }
    free(chunk);
    return ret;
}

/* Runs the driver's check; returns true when the image is consistent (no corruption, no check
 * error, no data sharing bytes with metadata; leaks are harmless), or when the format has no check. */
static bool fuzz_check(block_node *node, int fix)
{
    if (node->driver->check == NULL)
        return true;
    check_result result;
    memset(&result, 0, sizeof(result));
    error *err = NULL;
    int ret = node->driver->check(node, &result, fix, &err);
    error_free(err);
    return ret == 0 && result.corruptions == 0 && result.check_errors == 0 && !result.data_aliases_metadata;
}

/* Applies the operations in ops to node and to the model, then verifies that the disk reads back
 * as the model says. known marks model bytes whose content is defined. */
static void fuzz_write_sequence(block_node *node, const uint8_t *ops, size_t ops_size, bool verify)
{
    uint64_t disk = (uint64_t)block_node_length(node);
    size_t model_size = disk < FUZZ_MODEL_LIMIT ? (size_t)disk : FUZZ_MODEL_LIMIT;
    uint8_t *model = memory_alloc_zero(model_size + 1);
    uint8_t *known = memory_alloc_zero(model_size + 1);
    if (fuzz_read(node, model, model_size) < 0)
        goto cleanup;
    memset(known, 1, model_size);
    size_t count = ops_size / FUZZ_OPERATION_SIZE;
    if (count > FUZZ_OPERATIONS_MAX)
        count = FUZZ_OPERATIONS_MAX;
    for (size_t i = 0; i < count; i++) {
        const uint8_t *op = ops + i * FUZZ_OPERATION_SIZE;
        uint64_t offset = (uint64_t)endian_load_le32(op + 1) % (model_size ? model_size : 1);
        uint64_t length = (uint64_t)endian_load_le16(op + 5) + 1;
        uint8_t pattern = op[7];
        if (model_size == 0)
            break;
        if (offset + length > model_size)
            length = model_size - offset;
        error *err = NULL;
        if (getenv("FUZZ_TRACE"))
            fprintf(stderr, "op %zu: kind %d offset %llu length %llu pattern 0x%02x\n", i, op[0] % 4,
                    (unsigned long long)offset, (unsigned long long)length, pattern);
        switch (op[0] % 4) {
        case 0: {
            uint8_t *buf = memory_alloc_zero((size_t)length);
            memset(buf, pattern, (size_t)length);
            if (block_node_write(node, offset, (size_t)length, buf, 0, &err) == 0) {
                memcpy(model + offset, buf, (size_t)length);
                memset(known + offset, 1, (size_t)length);
            } else {
                memset(known + offset, 0, (size_t)length);
            }
            free(buf);
            break;
        }
        case 1:
            if (block_node_write_zeroes(node, offset, length, (pattern & 1) ? BLOCK_WRITE_MAY_UNMAP : 0, &err) == 0) {
                memset(model + offset, 0, (size_t)length);
                memset(known + offset, 1, (size_t)length);
            } else {
                memset(known + offset, 0, (size_t)length);
            }
            break;
        case 2:
            /* A discard leaves the content up to the driver. */
            block_node_discard(node, offset, length, &err);
            memset(known + offset, 0, (size_t)length);
            break;
        case 3: {
            uint64_t new_size = ((uint64_t)endian_load_le32(op + 1) % (FUZZ_MODEL_LIMIT * 2)) & ~(uint64_t)511;
            if (new_size == 0)
                new_size = 512;
            if (block_node_truncate(node, new_size, true, BLOCK_PREALLOCATION_OFF, true, &err) == 0) {
                if (new_size < model_size) {
                    model_size = (size_t)new_size;
                } else {
                    /* Grown space reads as zero, but a backing file could show through: unknown. */
                }
            }
            break;
        }
        }
        if (getenv("FUZZ_TRACE")) {
            uint8_t first = 0;
            error *read_err = NULL;
            block_node_read(node, 0, 1, &first, &read_err);
            fprintf(stderr, "  -> %s; byte 0 now 0x%02x, size %llu\n", err ? error_message(err) : "ok", first,
                    (unsigned long long)block_node_length(node));
            error_free(read_err);
        }
        error_free(err);
    }
    /* Verify. */
    bool verify_model = verify;
    uint64_t now = (uint64_t)block_node_length(node);
    size_t verify_size = now < model_size ? (size_t)now : model_size;
    uint8_t *readback = memory_alloc_zero(verify_size + 1);
    error *err = NULL;
    if (verify_model && block_node_read(node, 0, verify_size, readback, &err) == 0) {
        for (size_t i = 0; i < verify_size; i++) {
            if (known[i] && readback[i] != model[i]) {
                fprintf(stderr, "fuzz: byte %zu reads 0x%02x, the model says 0x%02x\n", i, readback[i], model[i]);
                abort();
            }
        }
    }
    error_free(err);
    free(readback);
    fuzz_check(node, CHECK_FIX_LEAKS | CHECK_FIX_ERRORS);
cleanup:
    free(model);
    free(known);
}

int fuzz_image_run(const char *format, const uint8_t *data, size_t size, int writable)
{
    return fuzz_image_run_with_options(format, NULL, data, size, writable);
}

int fuzz_image_run_with_options(const char *format, const char *options_text, const uint8_t *data, size_t size,
                                int writable)
{
    if (size > FUZZ_INPUT_MAX)
        return 0;
    fuzz_output_silence();
    /* Layout: image bytes, operation bytes, then a 16-bit little-endian operation length. */
    size_t image_size = size, ops_size = 0;
    if (size >= 2) {
        size_t declared = endian_load_le16(data + size - 2);
        if (declared <= size - 2) {
            ops_size = declared;
            image_size = size - 2 - declared;
        }
    }
    block_driver_probe(data, image_size < 2048 ? image_size : 2048, "fuzz");
    block_node *protocol = block_memory_open(data, image_size, image_size + FUZZ_GROWTH_LIMIT, writable != 0);
    error *err = NULL;
    option_list options = {0};
    if (options_text != NULL)
        option_list_parse(&options, options_text, NULL, NULL);
    block_node *node = block_image_open_on_with_options(protocol, format, options_text ? &options : NULL,
                                                        writable ? BLOCK_OPEN_READ_WRITE | BLOCK_OPEN_UNMAP : 0, &err);
    option_list_free(&options);
    error_free(err);
    if (node == NULL)
        return 0;
    fuzz_info(node);
    fuzz_map(node);
    fuzz_read(node, NULL, 0);
    bool consistent = fuzz_check(node, 0) && writable != FUZZ_WRITABLE_UNVERIFIED;
    /* The model is an oracle only for consistent images: on damaged metadata qemu-img itself
     * loses data (it refuses or marks the image corrupt), so a damaged image gets the writes
     * for robustness without the comparison. */
    if (writable)
        fuzz_write_sequence(node, data + image_size, ops_size, consistent);
    block_node_close(node);
    return 0;
}
