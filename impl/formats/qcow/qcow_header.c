/* qcow_header.c — pure parsing of the QCOW v1 header and L2 entries from byte buffers, and the header
 * checks in qemu's order and wording (spec/qcow.md §Header, §L2 entries). */
#include <string.h>

#include "qcow.h"
#include "../../util/endian.h"
#include "../../util/memory.h"

void qcow_header_read_data(const uint8_t *buf, size_t size, qcow_header *header)
{
    uint8_t raw[QCOW_HEADER_SIZE];
    memset(raw, 0, sizeof(raw));
    memcpy(raw, buf, size < sizeof(raw) ? size : sizeof(raw));
    header->magic = endian_load_be32(raw);
    header->version = endian_load_be32(raw + 4);
    header->backing_file_offset = endian_load_be64(raw + 8);
    header->backing_file_size = endian_load_be32(raw + 16);
    header->mtime = endian_load_be32(raw + 20);
    header->size = endian_load_be64(raw + 24);
    header->cluster_bits = raw[32];
    header->l2_bits = raw[33];
    header->padding = endian_load_be16(raw + 34);
    header->crypt_method = endian_load_be32(raw + 36);
    header->l1_table_offset = endian_load_be64(raw + 40);
}

void qcow_header_write_data(const qcow_header *header, uint8_t *buf)
{
    endian_store_be32(buf, header->magic);
    endian_store_be32(buf + 4, header->version);
    endian_store_be64(buf + 8, header->backing_file_offset);
    endian_store_be32(buf + 16, header->backing_file_size);
    endian_store_be32(buf + 20, header->mtime);
    endian_store_be64(buf + 24, header->size);
    buf[32] = header->cluster_bits;
    buf[33] = header->l2_bits;
    endian_store_be16(buf + 34, header->padding);
    endian_store_be32(buf + 36, header->crypt_method);
    endian_store_be64(buf + 40, header->l1_table_offset);
}

uint64_t qcow_l1_entries(uint64_t size, unsigned cluster_bits, unsigned l2_bits)
{
    unsigned shift = cluster_bits + l2_bits;
    return (size >> shift) + ((size & ((1ull << shift) - 1)) != 0);
}

qcow_header_fault qcow_header_validate(const qcow_header *header, uint64_t *l1_size)
{
    if (header->magic != QCOW_MAGIC)
        return QCOW_HEADER_BAD_MAGIC;
    if (header->version != QCOW_VERSION)
        return QCOW_HEADER_BAD_VERSION;
    if (header->size <= 1)
        return QCOW_HEADER_SIZE_TOO_SMALL;
    if (header->cluster_bits < QCOW_MIN_CLUSTER_BITS || header->cluster_bits > QCOW_MAX_CLUSTER_BITS)
        return QCOW_HEADER_BAD_CLUSTER_BITS;
    if (header->l2_bits < QCOW_MIN_L2_BITS || header->l2_bits > QCOW_MAX_L2_BITS)
        return QCOW_HEADER_BAD_L2_BITS;
    if (header->crypt_method > QCOW_CRYPT_AES)
        return QCOW_HEADER_BAD_CRYPT_METHOD;
    uint64_t span = 1ull << (header->cluster_bits + header->l2_bits);
    if (header->size > UINT64_MAX - span)
        return QCOW_HEADER_TOO_LARGE;
    uint64_t entries = qcow_l1_entries(header->size, header->cluster_bits, header->l2_bits);
    if (entries > QCOW_MAX_L1_ENTRIES)
        return QCOW_HEADER_TOO_LARGE;
    *l1_size = entries;
    return QCOW_HEADER_OK;
}

char *qcow_header_fault_message(qcow_header_fault fault, const qcow_header *header)
{
    switch (fault) {
    case QCOW_HEADER_BAD_MAGIC:
        return memory_strdup("Image not in qcow format");
    case QCOW_HEADER_BAD_VERSION:
        return memory_printf("qcow (v1) does not support qcow version %u\nTry the 'qcow2' driver instead.",
                             header->version);
    case QCOW_HEADER_SIZE_TOO_SMALL:
        return memory_strdup("Image size is too small (must be at least 2 bytes)");
    case QCOW_HEADER_BAD_CLUSTER_BITS:
        return memory_strdup("Cluster size must be between 512 and 64k");
    case QCOW_HEADER_BAD_L2_BITS:
        return memory_strdup("L2 table size must be between 512 and 64k");
    case QCOW_HEADER_BAD_CRYPT_METHOD:
        return memory_strdup("invalid encryption method in qcow header");
    case QCOW_HEADER_TOO_LARGE:
        return memory_strdup("Image too large");
    case QCOW_HEADER_OK:
        break;
    }
    return memory_strdup("");
}

qcow_entry qcow_entry_decode(uint64_t raw, unsigned cluster_bits)
{
    qcow_entry entry = {QCOW_ENTRY_UNALLOCATED, 0, 0};
    if (raw == 0)
        return entry;
    if (raw & QCOW_COMPRESSED_FLAG) {
        unsigned shift = 63 - cluster_bits;
        entry.kind = QCOW_ENTRY_COMPRESSED;
        entry.offset = raw & ((1ull << shift) - 1);
        entry.compressed_size = (raw >> shift) & ((1ull << cluster_bits) - 1);
        return entry;
    }
    entry.kind = QCOW_ENTRY_NORMAL;
    entry.offset = raw;
    return entry;
}

uint64_t qcow_entry_encode_compressed(uint64_t offset, uint64_t size, unsigned cluster_bits)
{
    return QCOW_COMPRESSED_FLAG | (size << (63 - cluster_bits)) | offset;
}
