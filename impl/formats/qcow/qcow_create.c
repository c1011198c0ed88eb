/* qcow_create.c — QCOW v1 image creation: the options, their checks in qemu's order and wording, and
 * the layout qemu 10.2 writes (spec/qcow.md §Creation). */
#include <stdlib.h>
#include <string.h>

#include "qcow.h"
#include "../../block/file.h"
#include "../../block/open.h"
#include "../../block/secret.h"
#include "../../util/memory.h"

/* qemu's qcow_create_opts, in its order (the "Formatting" line follows it). */
const option_desc qcow_create_options[] = {
    {"size", OPTION_TYPE_SIZE, "Virtual disk size", NULL},
    {"backing_file", OPTION_TYPE_STRING, "File name of a base image", NULL},
    {"backing_fmt", OPTION_TYPE_STRING, "Format of the backing image", NULL},
    {"encryption", OPTION_TYPE_BOOL, "Encrypt the image with format 'aes'. (Deprecated in favor of encrypt.format=aes)",
     NULL},
    {"encrypt.format", OPTION_TYPE_STRING, "Encrypt the image, format choices: 'aes'", NULL},
    {"encrypt.key-secret", OPTION_TYPE_STRING, "ID of the secret that provides the AES encryption key", NULL},
    {NULL, 0, NULL, NULL},
};

/* The format names qemu's driver lookup knows (what backing_fmt may name). */
static const char *const qcow_known_formats[] = {
    "blkdebug", "blklogwrites", "blkverify", "bochs", "cloop", "compress", "copy-before-write", "copy-on-read",
    "dmg", "file", "host_cdrom", "host_device", "luks", "nbd", "null-aio", "null-co", "nvme", "parallels",
    "preallocate", "qcow", "qcow2", "qed", "quorum", "raw", "replication", "snapshot-access", "throttle", "vdi",
    "vhdx", "vmdk", "vpc", "vvfat", NULL,
};

/* Validated creation parameters. */
typedef struct qcow_create_params {
    uint64_t size;
    const char *backing_file;
    const char *encrypt_format; /* NULL: no encryption */
    const char *key_secret;
} qcow_create_params;

/* The checks qemu makes before it creates the file (option aliases, the backing format). */
static int qcow_create_precheck(const option_list *options, qcow_create_params *p, error **errp)
{
    memset(p, 0, sizeof(*p));
    if (format_crypt_create_format(options, &p->encrypt_format, errp) < 0)
        return -1;
    const char *backing_format = option_list_get(options, "backing_fmt");
    if (backing_format) {
        bool known = false;
        for (size_t i = 0; qcow_known_formats[i] && !known; i++)
            known = strcmp(qcow_known_formats[i], backing_format) == 0;
        if (!known)
            return error_set(errp, "unrecognized backing format '%s'", backing_format);
    }
    p->backing_file = option_list_get(options, "backing_file");
    p->key_secret = option_list_get(options, "encrypt.key-secret");
    return option_list_get_size(options, "size", 0, &p->size, errp);
}

/* The checks qemu makes once the file exists (the typed options, the size, the encryption). */
static int qcow_create_postcheck(const qcow_create_params *p, error **errp)
{
    if (p->encrypt_format && strcmp(p->encrypt_format, "aes") != 0 && strcmp(p->encrypt_format, "luks") != 0)
        return error_set(errp, "Parameter 'format' does not accept value '%s'", p->encrypt_format);
    if (p->key_secret && !p->encrypt_format)
        return error_set(errp, "Parameter 'encrypt.format' is missing");
    if (p->size == 0)
        return error_set(errp, "Image size is too small, cannot be zero length");
    if (p->encrypt_format == NULL)
        return 0;
    if (strcmp(p->encrypt_format, "aes") != 0)
        return error_set(errp, "Unsupported encryption format");
    if (p->key_secret == NULL)
        return error_set(errp, "Parameter 'encrypt.key-secret' is required for cipher");
    size_t length = 0;
    return secret_lookup(p->key_secret, &length, errp) == NULL ? -1 : 0;
}

/* Grows file with zeroes up to end (a hole where the file allows one). */
static int qcow_create_zero_extend(block_node *file, uint64_t start, uint64_t end, error **errp)
{
    if (end - start > (1u << 20) && block_node_truncate(file, end, false, BLOCK_PREALLOCATION_OFF, false, NULL) == 0)
        return 0;
    return format_file_write_zeroes(file, start, end - start, errp);
}

/* Writes header, backing file name and a zeroed L1 table (padded to 512 bytes), as qemu lays them out:
 * 512-byte clusters and 4096-entry L2 tables with a backing file, 4 KiB and 512 entries without. */
static int qcow_create_layout(block_node *file, const qcow_create_params *p, error **errp)
{
    size_t name_length = p->backing_file ? strlen(p->backing_file) : 0;
    qcow_header header = {
        .magic = QCOW_MAGIC,
        .version = QCOW_VERSION,
        .size = (p->size + QCOW_SECTOR_SIZE - 1) & ~(uint64_t)(QCOW_SECTOR_SIZE - 1),
        .cluster_bits = p->backing_file ? 9 : 12,
        .l2_bits = p->backing_file ? 12 : 9,
        .l1_table_offset = format_align_up(QCOW_HEADER_SIZE + name_length, 8),
        .crypt_method = p->encrypt_format ? QCOW_CRYPT_AES : QCOW_CRYPT_NONE,
    };
    if (p->backing_file) {
        header.backing_file_offset = QCOW_HEADER_SIZE;
        header.backing_file_size = (uint32_t)name_length;
    }
    uint64_t l1_bytes = qcow_l1_entries(header.size, header.cluster_bits, header.l2_bits) * 8;
    l1_bytes = format_align_up(l1_bytes, QCOW_SECTOR_SIZE);
    uint8_t *buf = memory_alloc_zero(QCOW_HEADER_SIZE + name_length);
    qcow_header_write_data(&header, buf);
    if (name_length)
        memcpy(buf + QCOW_HEADER_SIZE, p->backing_file, name_length);
    int ret = format_file_write(file, 0, QCOW_HEADER_SIZE + name_length, buf, errp);
    free(buf);
    if (ret < 0)
        return -1;
    return qcow_create_zero_extend(file, header.l1_table_offset, header.l1_table_offset + l1_bytes, errp);
}

int qcow_create(const char *filename, const option_list *options, error **errp)
{
    qcow_create_params p;
    if (qcow_create_precheck(options, &p, errp) < 0)
        return -1;
    /* As in qemu, the file stays (empty) when a later check fails. */
    if (file_protocol_create_empty(filename, options, errp) < 0)
        return -1;
    if (qcow_create_postcheck(&p, errp) < 0)
        return -1;
    block_node *file = block_protocol_open(filename, BLOCK_OPEN_READ_WRITE, errp);
    if (file == NULL)
        return -1;
    int ret = qcow_create_layout(file, &p, errp);
    block_node_close(file);
    return ret;
}
