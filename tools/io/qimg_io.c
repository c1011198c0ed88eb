/* qimg_io.c — a small qemu-io-like tool over the qimg block layer for tests: reads, writes, zero
 * writes and discards at byte offsets, with pattern checks (spec/architecture.md §Tests).
 *
 * usage: qimg-io [-f FMT] [--object secret,...] [--image-opts] [-c 'COMMAND'] ... FILE
 *   write -P BYTE OFFSET LENGTH   write LENGTH bytes of BYTE
 *   write -z OFFSET LENGTH        zero write (may unmap)
 *   read -P BYTE OFFSET LENGTH    read and verify every byte is BYTE (exit 1 otherwise)
 *   discard OFFSET LENGTH
 * Images open with discard=unmap, as qemu-io opens them. OFFSET and LENGTH take qemu's size suffixes. Exit 0 when every command succeeded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../impl/block/open.h"
#include "../../impl/block/secret.h"
#include "../../impl/util/memory.h"
#include "../../impl/util/size.h"

enum { IO_COMMANDS_MAX = 256, IO_CHUNK = 1 << 20 };

/* Parses "0xNN"/"NN" as a byte. */
static int io_byte_parse(const char *text, uint8_t *out)
{
    char *end;
    unsigned long v = strtoul(text, &end, 0);
    if (*end || v > 255)
        return -1;
    *out = (uint8_t)v;
    return 0;
}

/* Runs one command on node; prints qemu-io-like lines; returns 0 or -1. */
static int io_command_run(block_node *node, const char *command)
{
    char *copy = memory_strdup(command);
    char *words[8];
    int count = 0;
    for (char *save = NULL, *w = strtok_r(copy, " ", &save); w && count < 8; w = strtok_r(NULL, " ", &save))
        words[count++] = w;
    int ret = -1;
    uint8_t pattern = 0;
    bool zero = false, has_pattern = false;
    int argi = 1;
    if (count == 0)
        goto cleanup;
    while (argi < count && words[argi][0] == '-') {
        if (strcmp(words[argi], "-z") == 0) {
            zero = true;
            argi++;
        } else if (strcmp(words[argi], "-P") == 0 && argi + 1 < count && io_byte_parse(words[argi + 1], &pattern) == 0) {
            has_pattern = true;
            argi += 2;
        } else {
            fprintf(stderr, "qimg-io: bad option in '%s'\n", command);
            goto cleanup;
        }
    }
    uint64_t offset, length;
    if (argi + 2 != count || size_parse(words[argi], &offset) < 0 || size_parse(words[argi + 1], &length) < 0) {
        fprintf(stderr, "qimg-io: bad arguments in '%s'\n", command);
        goto cleanup;
    }
    error *err = NULL;
    if (strcmp(words[0], "write") == 0 && zero) {
        ret = block_node_write_zeroes(node, offset, length, BLOCK_WRITE_MAY_UNMAP, &err);
    } else if (strcmp(words[0], "write") == 0 || strcmp(words[0], "read") == 0) {
        bool is_write = words[0][0] == 'w';
        uint8_t *buf = memory_alloc_zero(IO_CHUNK);
        ret = 0;
        for (uint64_t done = 0; done < length && ret == 0; done += IO_CHUNK) {
            size_t n = length - done < IO_CHUNK ? (size_t)(length - done) : IO_CHUNK;
            if (is_write) {
                memset(buf, pattern, n);
                ret = block_node_write(node, offset + done, n, buf, 0, &err);
            } else {
                ret = block_node_read(node, offset + done, n, buf, &err);
                for (size_t i = 0; ret == 0 && has_pattern && i < n; i++) {
                    if (buf[i] != pattern) {
                        printf("Pattern verification failed at offset %llu, %llu bytes\n",
                               (unsigned long long)(offset + done + i), (unsigned long long)length);
                        ret = -1;
                        free(buf);
                        goto cleanup;
                    }
                }
            }
        }
        free(buf);
    } else if (strcmp(words[0], "discard") == 0) {
        ret = block_node_discard(node, offset, length, &err);
    } else {
        fprintf(stderr, "qimg-io: unknown command '%s'\n", words[0]);
        goto cleanup;
    }
    if (ret < 0) {
        printf("%s failed: %s\n", words[0], error_message(err));
        error_free(err);
    } else {
        printf("%s %llu/%llu bytes at offset %llu\n", strcmp(words[0], "read") == 0 ? "read" : "wrote",
               (unsigned long long)length, (unsigned long long)length, (unsigned long long)offset);
    }
cleanup:
    free(copy);
    return ret;
}

int main(int argc, char **argv)
{
    const char *format = NULL, *commands[IO_COMMANDS_MAX];
    int command_count = 0, i;
    bool image_opts = false;
    error *err = NULL;
    for (i = 1; i < argc - 1; i++) {
        if (strcmp(argv[i], "-f") == 0 && i + 1 < argc - 1)
            format = argv[++i];
        else if (strcmp(argv[i], "--image-opts") == 0)
            image_opts = true;
        else if (strcmp(argv[i], "--object") == 0 && i + 1 < argc - 1) {
            if (secret_object_add(argv[++i], &err) < 0) {
                fprintf(stderr, "qimg-io: %s\n", error_message(err));
                error_free(err);
                return 1;
            }
        }
        else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc - 1 && command_count < IO_COMMANDS_MAX)
            commands[command_count++] = argv[++i];
        else
            break;
    }
    if (i != argc - 1) {
        fprintf(stderr, "usage: qimg-io [-f FMT] [--object secret,...] [--image-opts] [-c 'COMMAND'] ... FILE\n");
        return 2;
    }
    block_open_request request = {.filename = argv[argc - 1], .format = format, .image_opts = image_opts,
                                  .flags = BLOCK_OPEN_READ_WRITE | BLOCK_OPEN_UNMAP};
    block_node *node = block_image_open(&request, &err);
    if (node == NULL) {
        fprintf(stderr, "qimg-io: can't open %s: %s\n", argv[argc - 1], error_message(err));
        error_free(err);
        return 1;
    }
    int status = 0;
    for (int c = 0; c < command_count; c++)
        if (io_command_run(node, commands[c]) < 0)
            status = 1;
    if (block_node_flush(node, &err) < 0) {
        fprintf(stderr, "qimg-io: flush: %s\n", error_message(err));
        error_free(err);
        status = 1;
    }
    block_node_close(node);
    return status;
}
