/* qed_header.c — the QED header: decoding, encoding and the validity rules opening applies, as pure
 * functions of byte buffers and numbers (spec/qed.md §Header, §Opening). */
#include <string.h>

#include "qed.h"
#include "../common/format_io.h"
#include "../../util/endian.h"

void qed_header_read_data(const uint8_t *buf, size_t length, qed_header *header)
{
    uint8_t raw[QED_HEADER_LENGTH];
    memset(raw, 0, sizeof(raw));
    memcpy(raw, buf, length < sizeof(raw) ? length : sizeof(raw));
    header->magic = endian_load_le32(raw);
    header->cluster_size = endian_load_le32(raw + 4);
    header->table_size = endian_load_le32(raw + 8);
    header->header_size = endian_load_le32(raw + 12);
    header->features = endian_load_le64(raw + 16);
    header->compat_features = endian_load_le64(raw + 24);
    header->autoclear_features = endian_load_le64(raw + 32);
    header->l1_table_offset = endian_load_le64(raw + 40);
    header->image_size = endian_load_le64(raw + 48);
    header->backing_filename_offset = endian_load_le32(raw + 56);
    header->backing_filename_size = endian_load_le32(raw + 60);
}

void qed_header_write_data(const qed_header *header, uint8_t *buf)
{
    endian_store_le32(buf, header->magic);
    endian_store_le32(buf + 4, header->cluster_size);
    endian_store_le32(buf + 8, header->table_size);
    endian_store_le32(buf + 12, header->header_size);
    endian_store_le64(buf + 16, header->features);
    endian_store_le64(buf + 24, header->compat_features);
    endian_store_le64(buf + 32, header->autoclear_features);
    endian_store_le64(buf + 40, header->l1_table_offset);
    endian_store_le64(buf + 48, header->image_size);
    endian_store_le32(buf + 56, header->backing_filename_offset);
    endian_store_le32(buf + 60, header->backing_filename_size);
}

bool qed_cluster_size_valid(uint64_t cluster_size)
{
    return format_is_power_of_two(cluster_size) && cluster_size >= QED_MIN_CLUSTER_SIZE &&
           cluster_size <= QED_MAX_CLUSTER_SIZE;
}

bool qed_table_size_valid(uint64_t table_size)
{
    return format_is_power_of_two(table_size) && table_size >= QED_MIN_TABLE_SIZE && table_size <= QED_MAX_TABLE_SIZE;
}

uint64_t qed_max_image_size(uint64_t cluster_size, uint64_t table_size)
{
    uint64_t entries = table_size * cluster_size / sizeof(uint64_t);
    return entries * entries * cluster_size;
}

bool qed_image_size_valid(uint64_t image_size, uint64_t cluster_size, uint64_t table_size)
{
    return image_size % 512 == 0 && image_size <= qed_max_image_size(cluster_size, table_size);
}

/* Byte offset where regular clusters begin. */
static uint64_t qed_header_bytes(const qed_header *header)
{
    return (uint64_t)header->header_size * header->cluster_size;
}

bool qed_cluster_offset_valid(const qed_header *header, uint64_t offset, uint64_t file_size)
{
    return (offset & ((uint64_t)header->cluster_size - 1)) == 0 && offset >= qed_header_bytes(header) &&
           offset < file_size && file_size - offset >= header->cluster_size;
}

bool qed_table_offset_valid(const qed_header *header, uint64_t offset, uint64_t file_size)
{
    uint64_t last_cluster = offset + ((uint64_t)header->table_size - 1) * header->cluster_size;
    if (last_cluster <= offset)
        return false;
    if (!qed_cluster_offset_valid(header, offset, file_size))
        return false;
    return last_cluster <= UINT64_MAX - header->cluster_size && last_cluster + header->cluster_size <= file_size;
}

qed_header_fault qed_header_validate(const qed_header *header, uint64_t file_size)
{
    if (header->magic != QED_MAGIC)
        return QED_HEADER_BAD_MAGIC;
    if (header->features & ~QED_FEATURE_MASK)
        return QED_HEADER_UNKNOWN_FEATURES;
    if (!qed_cluster_size_valid(header->cluster_size))
        return QED_HEADER_BAD_CLUSTER_SIZE;
    if (!qed_table_size_valid(header->table_size))
        return QED_HEADER_BAD_TABLE_SIZE;
    if (!qed_image_size_valid(header->image_size, header->cluster_size, header->table_size))
        return QED_HEADER_BAD_IMAGE_SIZE;
    if (!qed_table_offset_valid(header, header->l1_table_offset, file_size))
        return QED_HEADER_BAD_TABLE_OFFSET;
    if ((header->features & QED_F_BACKING_FILE) &&
        (uint64_t)header->backing_filename_offset + header->backing_filename_size > qed_header_bytes(header))
        return QED_HEADER_BAD_BACKING_NAME;
    return QED_HEADER_VALID;
}

int qed_header_fault_error(qed_header_fault fault, const qed_header *header, error **errp)
{
    switch (fault) {
    case QED_HEADER_VALID:
        return 0;
    case QED_HEADER_BAD_MAGIC:
        return error_set(errp, "Image not in QED format");
    case QED_HEADER_UNKNOWN_FEATURES:
        return error_set(errp, "Unsupported QED features: %llx",
                         (unsigned long long)(header->features & ~QED_FEATURE_MASK));
    case QED_HEADER_BAD_CLUSTER_SIZE:
        return error_set(errp, "QED cluster size is invalid");
    case QED_HEADER_BAD_TABLE_SIZE:
        return error_set(errp, "QED table size is invalid");
    case QED_HEADER_BAD_IMAGE_SIZE:
        return error_set(errp, "QED image size is invalid");
    case QED_HEADER_BAD_TABLE_OFFSET:
        return error_set(errp, "QED table offset is invalid");
    case QED_HEADER_BAD_BACKING_NAME:
        return error_set(errp, "QED backing filename offset is invalid");
    }
    return error_set(errp, "Image not in QED format");
}
