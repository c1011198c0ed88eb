/* parallels_header.c — pure parsers and builders of the Parallels header, the creation layout and the
 * format extension cluster (spec/parallels.md §Header, §Creation, §Format extension). */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "parallels.h"
#include "../../util/endian.h"

void parallels_header_read_data(const uint8_t *buf, size_t size, parallels_header *header)
{
    uint8_t raw[PARALLELS_HEADER_SIZE];
    memset(raw, 0, sizeof(raw));
    memcpy(raw, buf, size < sizeof(raw) ? size : sizeof(raw));
    memcpy(header->magic, raw, 16);
    header->version = endian_load_le32(raw + 16);
    header->heads = endian_load_le32(raw + 20);
    header->cylinders = endian_load_le32(raw + 24);
    header->tracks = endian_load_le32(raw + 28);
    header->bat_entries = endian_load_le32(raw + 32);
    header->nb_sectors = endian_load_le64(raw + 36);
    header->inuse = endian_load_le32(raw + 44);
    header->data_off = endian_load_le32(raw + 48);
    header->flags = endian_load_le32(raw + 52);
    header->ext_off = endian_load_le64(raw + 56);
}

void parallels_header_write_data(const parallels_header *header, uint8_t *buf)
{
    memcpy(buf, header->magic, 16);
    endian_store_le32(buf + 16, header->version);
    endian_store_le32(buf + 20, header->heads);
    endian_store_le32(buf + 24, header->cylinders);
    endian_store_le32(buf + 28, header->tracks);
    endian_store_le32(buf + 32, header->bat_entries);
    endian_store_le64(buf + 36, header->nb_sectors);
    endian_store_le32(buf + 44, header->inuse);
    endian_store_le32(buf + 48, header->data_off);
    endian_store_le32(buf + 52, header->flags);
    endian_store_le64(buf + 56, header->ext_off);
}

bool parallels_header_is_new(const parallels_header *header)
{
    return memcmp(header->magic, PARALLELS_MAGIC_NEW, 16) == 0;
}

parallels_header_fault parallels_header_validate(const parallels_header *header)
{
    bool known = parallels_header_is_new(header) || memcmp(header->magic, PARALLELS_MAGIC_OLD, 16) == 0;
    if (!known || header->version != PARALLELS_VERSION)
        return PARALLELS_HEADER_NOT_PARALLELS;
    if (header->tracks == 0)
        return PARALLELS_HEADER_ZERO_TRACKS;
    if (header->tracks > PARALLELS_MAX_TRACKS)
        return PARALLELS_HEADER_BIG_CLUSTER;
    if (header->bat_entries > PARALLELS_MAX_BAT_ENTRIES)
        return PARALLELS_HEADER_BIG_CATALOG;
    uint64_t sectors = parallels_header_is_new(header) ? header->nb_sectors : (uint32_t)header->nb_sectors;
    if (sectors > PARALLELS_MAX_SIZE / PARALLELS_SECTOR_SIZE)
        return PARALLELS_HEADER_BIG_SIZE;
    return PARALLELS_HEADER_OK;
}

uint64_t parallels_header_virtual_size(const parallels_header *header)
{
    uint64_t sectors = parallels_header_is_new(header) ? header->nb_sectors : (uint32_t)header->nb_sectors;
    return sectors * PARALLELS_SECTOR_SIZE;
}

/* Header and BAT in whole sectors, computed in 32 bits (a huge BAT wraps, as qemu's does). */
static uint32_t parallels_header_table_sectors(const parallels_header *header)
{
    uint32_t bytes = PARALLELS_HEADER_SIZE + 4u * header->bat_entries;
    return bytes / PARALLELS_SECTOR_SIZE + (bytes % PARALLELS_SECTOR_SIZE != 0);
}

uint32_t parallels_header_min_data_off(const parallels_header *header)
{
    uint32_t sectors = parallels_header_table_sectors(header);
    /* Open rounds with a mask, as if tracks were a power of two (measured with 3-sector clusters). */
    if (parallels_header_is_new(header) && header->tracks != 0)
        sectors = (sectors + header->tracks - 1) & ~(header->tracks - 1);
    return sectors;
}

uint32_t parallels_header_create_data_off(const parallels_header *header)
{
    uint32_t sectors = parallels_header_table_sectors(header);
    return (uint32_t)((sectors + (uint64_t)header->tracks - 1) / header->tracks * header->tracks);
}

bool parallels_create_header_build(uint64_t size, uint64_t cluster_size, parallels_header *header)
{
    memset(header, 0, sizeof(*header));
    if (cluster_size == 0)
        return false;
    uint64_t entries = (size + cluster_size - 1) / cluster_size;
    if (entries > UINT32_MAX)
        return false;
    uint64_t sectors = size / PARALLELS_SECTOR_SIZE;
    memcpy(header->magic, PARALLELS_MAGIC_NEW, 16);
    header->version = PARALLELS_VERSION;
    header->heads = 16;
    header->cylinders = (uint32_t)(sectors / 512);
    header->tracks = (uint32_t)(cluster_size / PARALLELS_SECTOR_SIZE);
    header->bat_entries = (uint32_t)entries;
    header->nb_sectors = sectors;
    header->data_off = parallels_header_create_data_off(header);
    return true;
}

/* The MD5 of the extension cluster after its first 24 bytes equals the stored checksum. */
static bool parallels_extension_checksum_ok(const uint8_t *buf, size_t length, size_t cluster_size)
{
    static const uint8_t zeros[4096];
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_length = 0;
    bool ok = false;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL || !EVP_DigestInit_ex(ctx, EVP_md5(), NULL) ||
        !EVP_DigestUpdate(ctx, buf + PARALLELS_EXT_HEADER_SIZE, length - PARALLELS_EXT_HEADER_SIZE))
        goto cleanup;
    for (size_t done = length; done < cluster_size;) {
        size_t n = cluster_size - done < sizeof(zeros) ? cluster_size - done : sizeof(zeros);
        if (!EVP_DigestUpdate(ctx, zeros, n))
            goto cleanup;
        done += n;
    }
    ok = EVP_DigestFinal_ex(ctx, digest, &digest_length) && digest_length == 16 && memcmp(digest, buf + 8, 16) == 0;
cleanup:
    EVP_MD_CTX_free(ctx);
    return ok;
}

/* Copies n bytes at pos of a cluster whose first length bytes are at buf (the rest reads as zeroes). */
static void parallels_extension_bytes(const uint8_t *buf, size_t length, size_t pos, uint8_t *out, size_t n)
{
    memset(out, 0, n);
    if (pos < length)
        memcpy(out, buf + pos, length - pos < n ? length - pos : n);
}

/* Checks the dirty bitmap feature's data (size bytes at data) as qemu does. */
static int parallels_extension_bitmap_parse(const uint8_t *data, uint64_t size, size_t cluster_size,
                                            uint64_t disk_sectors, parallels_extension *ext, char *message,
                                            size_t message_size)
{
    if (size < PARALLELS_EXT_BITMAP_SIZE) {
        snprintf(message, message_size,
                 "Too small Bitmap Feature area in Parallels Format Extension: %llu bytes, expected at least %u bytes",
                 (unsigned long long)size, PARALLELS_EXT_BITMAP_SIZE);
        return -1;
    }
    ext->bitmap_sectors = endian_load_le64(data);
    ext->granularity = endian_load_le32(data + 24);
    ext->l1_size = endian_load_le32(data + 28);
    if (ext->bitmap_sectors != disk_sectors) {
        snprintf(message, message_size, "Bitmap size (in sectors) %llu differs from disk size in sectors %llu",
                 (unsigned long long)ext->bitmap_sectors, (unsigned long long)disk_sectors);
        return -1;
    }
    if (ext->granularity == 0 || (ext->granularity & (ext->granularity - 1)) != 0) {
        snprintf(message, message_size, "Bitmap granularity %u is not a power of two", ext->granularity);
        return -1;
    }
    uint64_t bits = (disk_sectors + ext->granularity - 1) / ext->granularity;
    uint64_t bytes = (bits + 7) / 8;
    uint64_t expected = (bytes + cluster_size - 1) / cluster_size;
    if (ext->l1_size != expected) {
        snprintf(message, message_size,
                 "Bitmap table size %u does not correspond to bitmap size and cluster size. Expected %llu",
                 ext->l1_size, (unsigned long long)expected);
        return -1;
    }
    if ((uint64_t)ext->l1_size * 8 > size - PARALLELS_EXT_BITMAP_SIZE) {
        snprintf(message, message_size, "Bitmaps feature corrupted: l1 table exceeds extension data_size");
        return -1;
    }
    ext->has_bitmap = true;
    return 0;
}

int parallels_extension_parse(const uint8_t *buf, size_t cluster_size, uint64_t disk_sectors,
                              parallels_extension *ext, char *message, size_t message_size)
{
    return parallels_extension_parse_partial(buf, cluster_size, cluster_size, disk_sectors, ext, message,
                                             message_size);
}

int parallels_extension_parse_partial(const uint8_t *buf, size_t length, size_t cluster_size, uint64_t disk_sectors,
                                      parallels_extension *ext, char *message, size_t message_size)
{
    memset(ext, 0, sizeof(*ext));
    uint64_t magic = endian_load_le64(buf);
    if (magic != PARALLELS_EXT_MAGIC) {
        snprintf(message, message_size, "Wrong parallels Format Extension magic: 0x%llx, expected: 0x%llx",
                 (unsigned long long)magic, (unsigned long long)PARALLELS_EXT_MAGIC);
        return -1;
    }
    if (!parallels_extension_checksum_ok(buf, length, cluster_size)) {
        snprintf(message, message_size, "Wrong checksum in Format Extension header. Format extension is corrupted.");
        return -1;
    }
    size_t pos = PARALLELS_EXT_HEADER_SIZE;
    for (;;) {
        if (pos + PARALLELS_EXT_FEATURE_SIZE > cluster_size) {
            snprintf(message, message_size, "Not enough space for the next feature");
            return -1;
        }
        uint8_t header[PARALLELS_EXT_FEATURE_SIZE];
        parallels_extension_bytes(buf, length, pos, header, sizeof(header));
        uint64_t feature = endian_load_le64(header);
        uint64_t flags = endian_load_le64(header + 8);
        uint32_t data_size = endian_load_le32(header + 16);
        pos += PARALLELS_EXT_FEATURE_SIZE;
        if (feature == 0)
            return 0;
        if (flags != 0) {
            snprintf(message, message_size, "Flags for extension feature are unsupported");
            return -1;
        }
        if (data_size > cluster_size - pos) {
            snprintf(message, message_size, "Feature data_size exceedes Format Extension cluster");
            return -1;
        }
        if (feature != PARALLELS_EXT_DIRTY_BITMAP) {
            snprintf(message, message_size, "Unknown feature: 0x%llx", (unsigned long long)feature);
            return -1;
        }
        if (ext->has_bitmap) {
            snprintf(message, message_size, "Multiple bitmaps in Format Extension");
            return -1;
        }
        uint8_t bitmap[PARALLELS_EXT_BITMAP_SIZE];
        parallels_extension_bytes(buf, length, pos, bitmap, sizeof(bitmap));
        if (parallels_extension_bitmap_parse(bitmap, data_size, cluster_size, disk_sectors, ext, message,
                                             message_size) < 0)
            return -1;
        pos += ((uint64_t)data_size + 7) / 8 * 8;
    }
}
