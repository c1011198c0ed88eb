/* qcow2_bitmap.c — qcow2 persistent dirty bitmaps: the bitmap directory and tables, loading at open
 * (marking them in use when writable), the operations of `qemu-img bitmap`, dirtying on writes and storing
 * them back at close in qemu's allocation order (spec/qcow2.md §Bitmaps). */
#include <stdlib.h>
#include <string.h>

#include "qcow2.h"
#include "../../util/endian.h"
#include "../../util/memory.h"

#define QCOW2_BME_IN_USE 1u
#define QCOW2_BME_AUTO 2u
#define QCOW2_BME_ENTRY_SIZE 24u
#define QCOW2_MAX_BITMAPS 65535u
#define QCOW2_MAX_BITMAP_DIRECTORY (64u * 65536u)
#define QCOW2_BME_TABLE_OFFSET_MASK 0x00fffffffffffe00ull

/* One bitmap as qemu keeps it in memory (bs->dirty_bitmaps). */
struct qcow2_bitmap {
    char *name;
    uint32_t granularity;
    bool enabled;
    bool inconsistent;   /* marked in use on disk before we opened it: contents unknown */
    bool readonly;       /* loaded from a read-only image */
    uint8_t *bits;
    uint64_t bit_count;
};

/* One directory entry as read from or written to the image. */
typedef struct qcow2_bitmap_entry {
    char *name;
    uint64_t table_offset;
    uint32_t table_size;
    uint32_t flags;
    uint8_t granularity_bits;
    uint32_t extra_data_size;
    qcow2_bitmap *memory; /* the in-memory bitmap to store, NULL to keep the entry as is */
} qcow2_bitmap_entry;

/* Frees a directory list. */
static void qcow2_bitmap_entries_free(qcow2_bitmap_entry *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(list[i].name);
    free(list);
}

/* qemu's check_dir_entry: whether a directory entry satisfies the constraints (table placement and size,
 * granularity, flags, name length, type, and a table that covers the whole image). */
static bool qcow2_bitmap_entry_valid(block_node *node, const qcow2_bitmap_entry *e, uint8_t type, uint16_t name_size)
{
    qcow2_state *s = node->state;
    if (e->table_size == 0 || e->table_offset == 0 || qcow2_offset_into_cluster(s, e->table_offset) ||
        e->table_size > 0x8000000u || e->granularity_bits > 31 || e->granularity_bits < 9 ||
        (e->flags & ~(QCOW2_BME_IN_USE | QCOW2_BME_AUTO)) || name_size > 1023 || type != 1)
        return false;
    uint64_t phys_bytes = (uint64_t)e->table_size * s->cluster_size;
    if (phys_bytes > 0x20000000ull)
        return false;
    /* a consistent (not in-use) bitmap's table must cover the whole image: phys_bytes * 8 bits of
     * 2^granularity_bits bytes each */
    uint64_t covered_bits = phys_bytes * 8;
    if (!(e->flags & QCOW2_BME_IN_USE) && covered_bits <= (UINT64_MAX >> e->granularity_bits) &&
        node->size > (covered_bits << e->granularity_bits))
        return false;
    return true;
}

/* Reads the bitmap directory (qemu's bitmap_list_load). */
static int qcow2_bitmap_directory_read(block_node *node, qcow2_bitmap_entry **out, size_t *count, error **errp)
{
    qcow2_state *s = node->state;
    *out = NULL;
    *count = 0;
    if (!s->has_bitmaps_extension || s->bitmap_count == 0)
        return 0;
    if (s->bitmap_directory_size > QCOW2_MAX_BITMAP_DIRECTORY || s->bitmap_count > QCOW2_MAX_BITMAPS)
        return error_set(errp, "Bitmap directory is too large");
    uint8_t *dir = memory_alloc_zero(s->bitmap_directory_size + 1);
    qcow2_bitmap_entry *list = memory_alloc_array(s->bitmap_count, sizeof(qcow2_bitmap_entry));
    size_t n = 0;
    int ret = -1;
    if (format_file_read(node->file, s->bitmap_directory_offset, s->bitmap_directory_size, dir, errp) < 0)
        goto out;
    uint64_t pos = 0;
    uint64_t dir_end = s->bitmap_directory_size;
    while (pos < dir_end) {
        if (pos + QCOW2_BME_ENTRY_SIZE > dir_end) {
            error_set(errp, "Broken bitmap directory");
            goto out;
        }
        if (n >= s->bitmap_count) {
            error_set(errp, "More bitmaps found than specified in header extension");
            goto out;
        }
        qcow2_bitmap_entry *e = &list[n];
        e->table_offset = endian_load_be64(dir + pos);
        e->table_size = endian_load_be32(dir + pos + 8);
        e->flags = endian_load_be32(dir + pos + 12);
        uint8_t type = dir[pos + 16];
        e->granularity_bits = dir[pos + 17];
        uint16_t name_size = endian_load_be16(dir + pos + 18);
        e->extra_data_size = endian_load_be32(dir + pos + 20);
        uint64_t entry_size = (QCOW2_BME_ENTRY_SIZE + (uint64_t)name_size + e->extra_data_size + 7) & ~7ull;
        if (pos + entry_size > dir_end) {
            error_set(errp, "Broken bitmap directory");
            goto out;
        }
        if (e->extra_data_size != 0) {
            error_set(errp, "Bitmap extra data is not supported");
            goto out;
        }
        const char *name_field = (const char *)dir + pos + QCOW2_BME_ENTRY_SIZE;
        if (!qcow2_bitmap_entry_valid(node, e, type, name_size)) {
            error_set(errp, "Bitmap '%.*s' doesn't satisfy the constraints", (int)name_size, name_field);
            goto out;
        }
        e->name = memory_strndup(name_field, name_size);
        n++;
        pos += entry_size;
    }
    if (n != s->bitmap_count) {
        error_set(errp, "Less bitmaps found than specified in header extension");
        goto out;
    }
    *out = list;
    *count = n;
    list = NULL;
    n = 0;
    ret = 0;
out:
    qcow2_bitmap_entries_free(list, n);
    free(dir);
    return ret;
}

/* Serialises entries as a directory; returns its size. */
static uint64_t qcow2_bitmap_directory_build(const qcow2_bitmap_entry *list, size_t count, uint8_t **out)
{
    uint64_t size = 0;
    for (size_t i = 0; i < count; i++)
        size += (QCOW2_BME_ENTRY_SIZE + strlen(list[i].name) + list[i].extra_data_size + 7) & ~7ull;
    uint8_t *dir = memory_alloc_zero(size ? size : 1);
    uint64_t pos = 0;
    for (size_t i = 0; i < count; i++) {
        const qcow2_bitmap_entry *e = &list[i];
        size_t name_size = strlen(e->name);
        endian_store_be64(dir + pos, e->table_offset);
        endian_store_be32(dir + pos + 8, e->table_size);
        endian_store_be32(dir + pos + 12, e->flags);
        dir[pos + 16] = 1;
        dir[pos + 17] = e->granularity_bits;
        endian_store_be16(dir + pos + 18, (uint16_t)name_size);
        endian_store_be32(dir + pos + 20, 0);
        memcpy(dir + pos + QCOW2_BME_ENTRY_SIZE, e->name, name_size);
        pos += (QCOW2_BME_ENTRY_SIZE + name_size + e->extra_data_size + 7) & ~7ull;
    }
    *out = dir;
    return size;
}

/* Bits of a bitmap covering the image with the given granularity. */
static uint64_t qcow2_bitmap_bit_count(uint64_t size, uint32_t granularity)
{
    return (size + granularity - 1) / granularity;
}

/* Loads a bitmap's bits from its table (qemu's load_bitmap_data). */
static int qcow2_bitmap_data_load(block_node *node, const qcow2_bitmap_entry *e, qcow2_bitmap *bm, error **errp)
{
    qcow2_state *s = node->state;
    uint64_t bytes = (bm->bit_count + 7) / 8;
    uint64_t per_cluster_bits = s->cluster_size * 8;
    if ((uint64_t)e->table_size * 8 > (64u << 20))
        return error_set(errp, "Bitmap table is too large");
    uint8_t *table = memory_alloc_zero((uint64_t)e->table_size * 8 + 1);
    uint8_t *cluster = memory_alloc_zero(s->cluster_size);
    int ret = -1;
    if (format_file_read(node->file, e->table_offset, (uint64_t)e->table_size * 8, table, errp) < 0)
        goto out;
    for (uint32_t i = 0; i < e->table_size; i++) {
        uint64_t entry = endian_load_be64(table + 8 * i);
        uint64_t first_byte = (uint64_t)i * s->cluster_size;
        if (first_byte >= bytes)
            break;
        uint64_t n = bytes - first_byte < s->cluster_size ? bytes - first_byte : s->cluster_size;
        uint64_t offset = entry & QCOW2_BME_TABLE_OFFSET_MASK;
        if (offset) {
            if (format_file_read(node->file, offset, n, cluster, errp) < 0)
                goto out;
            memcpy(bm->bits + first_byte, cluster, n);
        } else if (entry & 1) {
            memset(bm->bits + first_byte, 0xff, n);
        }
        (void)per_cluster_bits;
    }
    if (bm->bit_count % 8)
        bm->bits[bytes - 1] &= (uint8_t)((1u << (bm->bit_count % 8)) - 1);
    ret = 0;
out:
    free(table);
    free(cluster);
    return ret;
}

/* Rewrites the directory at its place, dropping the autoclear bit around it
 * (qemu's update_ext_header_and_dir_in_place). */
static int qcow2_bitmap_directory_update_in_place(block_node *node, const qcow2_bitmap_entry *list, size_t count,
                                                  error **errp)
{
    qcow2_state *s = node->state;
    uint8_t *dir = NULL;
    s->autoclear_features &= ~QCOW2_AUTOCLEAR_BITMAPS;
    if (qcow2_header_update(node, errp) < 0)
        return -1;
    uint64_t size = qcow2_bitmap_directory_build(list, count, &dir);
    int ret = -1;
    if (size != s->bitmap_directory_size) {
        error_set(errp, "Invalid argument");
        goto out;
    }
    if (format_file_write(node->file, s->bitmap_directory_offset, size, dir, errp) < 0)
        goto out;
    s->autoclear_features |= QCOW2_AUTOCLEAR_BITMAPS;
    ret = qcow2_header_update(node, errp);
out:
    free(dir);
    return ret;
}

/* Writes a new directory (or none), points the header at it and frees the old one
 * (qemu's update_ext_header_and_dir). */
static int qcow2_bitmap_directory_replace(block_node *node, const qcow2_bitmap_entry *list, size_t count,
                                          error **errp)
{
    qcow2_state *s = node->state;
    uint64_t old_offset = s->bitmap_directory_offset, old_size = s->bitmap_directory_size;
    uint64_t new_offset = 0, new_size = 0;
    if (count > 0) {
        uint8_t *dir = NULL;
        new_size = qcow2_bitmap_directory_build(list, count, &dir);
        int64_t offset = qcow2_clusters_alloc(node, new_size, errp);
        if (offset < 0 || format_file_write(node->file, (uint64_t)offset, new_size, dir, errp) < 0) {
            free(dir);
            return -1;
        }
        free(dir);
        new_offset = (uint64_t)offset;
        s->autoclear_features |= QCOW2_AUTOCLEAR_BITMAPS;
    } else {
        s->autoclear_features &= ~QCOW2_AUTOCLEAR_BITMAPS;
    }
    s->bitmap_directory_offset = new_offset;
    s->bitmap_directory_size = new_size;
    s->bitmap_count = (uint32_t)count;
    s->has_bitmaps_extension = count > 0;
    if (qcow2_header_update(node, errp) < 0)
        return -1;
    if (old_size > 0)
        qcow2_clusters_free(node, old_offset, old_size, NULL);
    return 0;
}

/* Frees a stored bitmap's data clusters and table (qemu's free_bitmap_clusters). */
static void qcow2_bitmap_clusters_free(block_node *node, uint64_t table_offset, uint32_t table_size)
{
    qcow2_state *s = node->state;
    if (table_size == 0 || (uint64_t)table_size * 8 > (64u << 20))
        return;
    uint8_t *table = memory_alloc_zero((uint64_t)table_size * 8);
    if (format_file_read(node->file, table_offset, (uint64_t)table_size * 8, table, NULL) == 0) {
        for (uint32_t i = 0; i < table_size; i++) {
            uint64_t offset = endian_load_be64(table + 8 * i) & QCOW2_BME_TABLE_OFFSET_MASK;
            if (offset) {
                s->discard_freed = true;
                qcow2_clusters_free(node, offset, s->cluster_size, NULL);
                s->discard_freed = false;
            }
        }
    }
    free(table);
    qcow2_clusters_free(node, table_offset, (uint64_t)table_size * 8, NULL);
}

/* Writes a bitmap's nonzero clusters and its table (qemu's store_bitmap). */
static int qcow2_bitmap_store_one(block_node *node, qcow2_bitmap_entry *e, const qcow2_bitmap *bm, error **errp)
{
    qcow2_state *s = node->state;
    uint64_t bytes = ((bm->bit_count + 63) / 64) * 8;
    uint64_t table_size = (bytes + s->cluster_size - 1) / s->cluster_size;
    uint64_t real_bytes = (bm->bit_count + 7) / 8;
    uint8_t *table = memory_alloc_zero(table_size * 8 + 1);
    uint8_t *cluster = memory_alloc_zero(s->cluster_size);
    int ret = -1;
    for (uint64_t i = 0; i < table_size; i++) {
        uint64_t first = i * s->cluster_size;
        uint64_t n = first < real_bytes ? (real_bytes - first < s->cluster_size ? real_bytes - first : s->cluster_size)
                                        : 0;
        bool dirty = false;
        for (uint64_t j = 0; j < n && !dirty; j++)
            dirty = bm->bits[first + j] != 0;
        if (!dirty)
            continue;
        int64_t offset = qcow2_clusters_alloc(node, s->cluster_size, errp);
        if (offset < 0)
            goto out;
        memset(cluster, 0, s->cluster_size);
        memcpy(cluster, bm->bits + first, n);
        if (format_file_write(node->file, (uint64_t)offset, s->cluster_size, cluster, errp) < 0)
            goto out;
        endian_store_be64(table + 8 * i, (uint64_t)offset);
    }
    int64_t table_offset = qcow2_clusters_alloc(node, table_size * 8, errp);
    if (table_offset < 0)
        goto out;
    if (format_file_write(node->file, (uint64_t)table_offset, table_size * 8, table, errp) < 0)
        goto out;
    e->table_offset = (uint64_t)table_offset;
    e->table_size = (uint32_t)table_size;
    ret = 0;
out:
    free(table);
    free(cluster);
    return ret;
}

/* Frees the in-memory bitmaps. */
void qcow2_bitmaps_release(block_node *node)
{
    qcow2_state *s = node->state;
    for (size_t i = 0; i < s->bitmap_memory_count; i++) {
        free(s->bitmaps[i].name);
        free(s->bitmaps[i].bits);
    }
    free(s->bitmaps);
    s->bitmaps = NULL;
    s->bitmap_memory_count = 0;
}

/* Adds an in-memory bitmap at the head of the list, as qemu's bdrv_create_dirty_bitmap does. */
static qcow2_bitmap *qcow2_bitmap_new(block_node *node, const char *name, uint32_t granularity)
{
    qcow2_state *s = node->state;
    s->bitmaps = memory_realloc(s->bitmaps, (s->bitmap_memory_count + 1) * sizeof(qcow2_bitmap));
    memmove(s->bitmaps + 1, s->bitmaps, s->bitmap_memory_count * sizeof(qcow2_bitmap));
    s->bitmap_memory_count++;
    qcow2_bitmap *bm = &s->bitmaps[0];
    memset(bm, 0, sizeof(*bm));
    bm->name = memory_strdup(name);
    bm->granularity = granularity;
    bm->enabled = true;
    bm->bit_count = qcow2_bitmap_bit_count(node->size, granularity);
    bm->bits = memory_alloc_zero((bm->bit_count + 7) / 8 + 8);
    return bm;
}

/* Loads the image's bitmaps at open; when writable marks them in use (qemu's qcow2_load_dirty_bitmaps). */
int qcow2_bitmaps_load(block_node *node, bool writable, error **errp)
{
    qcow2_state *s = node->state;
    qcow2_bitmap_entry *list;
    size_t count;
    bool needs_update = false;
    if (qcow2_bitmap_directory_read(node, &list, &count, errp) < 0)
        return -1;
    for (size_t i = 0; i < count; i++) {
        qcow2_bitmap_entry *e = &list[i];
        qcow2_bitmap *bm = qcow2_bitmap_new(node, e->name, 1u << e->granularity_bits);
        bm->readonly = !writable;
        if (e->flags & QCOW2_BME_IN_USE) {
            bm->inconsistent = true;
        } else {
            if (qcow2_bitmap_data_load(node, e, bm, errp) < 0) {
                qcow2_bitmap_entries_free(list, count);
                return -1;
            }
            e->flags |= QCOW2_BME_IN_USE;
            needs_update = true;
        }
        bm->enabled = (e->flags & QCOW2_BME_AUTO) != 0;
    }
    int ret = 0;
    if (needs_update && writable) {
        ret = qcow2_bitmap_directory_update_in_place(node, list, count, errp);
        if (ret < 0)
            error_prepend(errp, "Can't update bitmap directory: ");
    }
    s->bitmaps_loaded = true;
    qcow2_bitmap_entries_free(list, count);
    return ret;
}

/* Stores every persistent bitmap at close (qemu's qcow2_store_persistent_dirty_bitmaps). */
int qcow2_bitmaps_store(block_node *node, error **errp)
{
    qcow2_state *s = node->state;
    qcow2_bitmap_entry *list = NULL;
    size_t count = 0;
    bool any = false;
    int ret = -1;
    for (size_t i = 0; i < s->bitmap_memory_count; i++)
        any = any || (!s->bitmaps[i].readonly && !s->bitmaps[i].inconsistent);
    if (!any)
        return 0;
    if (qcow2_bitmap_directory_read(node, &list, &count, errp) < 0)
        return -1;
    uint64_t *drop_offsets = memory_alloc_array(count + 1, 8);
    uint32_t *drop_sizes = memory_alloc_array(count + 1, 4);
    size_t drop_count = 0;
    for (size_t i = 0; i < s->bitmap_memory_count; i++) {
        qcow2_bitmap *bm = &s->bitmaps[i];
        if (bm->readonly || bm->inconsistent)
            continue;
        qcow2_bitmap_entry *e = NULL;
        for (size_t j = 0; j < count; j++)
            if (strcmp(list[j].name, bm->name) == 0)
                e = &list[j];
        if (e == NULL) {
            list = memory_realloc(list, (count + 1) * sizeof(qcow2_bitmap_entry));
            drop_offsets = memory_realloc(drop_offsets, (count + 2) * 8);
            drop_sizes = memory_realloc(drop_sizes, (count + 2) * 4);
            e = &list[count++];
            memset(e, 0, sizeof(*e));
            e->name = memory_strdup(bm->name);
        } else {
            if (!(e->flags & QCOW2_BME_IN_USE)) {
                error_set(errp, "Bitmap '%s' already exists in the image", bm->name);
                goto out;
            }
            drop_offsets[drop_count] = e->table_offset;
            drop_sizes[drop_count++] = e->table_size;
            e->table_offset = 0;
            e->table_size = 0;
        }
        e->flags = bm->enabled ? QCOW2_BME_AUTO : 0;
        uint8_t bits = 0;
        while ((1u << bits) < bm->granularity)
            bits++;
        e->granularity_bits = bits;
        e->extra_data_size = 0;
        e->memory = bm;
    }
    for (size_t i = 0; i < count; i++) {
        if (list[i].memory && qcow2_bitmap_store_one(node, &list[i], list[i].memory, errp) < 0)
            goto out;
    }
    if (qcow2_bitmap_directory_replace(node, list, count, errp) < 0) {
        error_prepend(errp, "Failed to update bitmap extension: ");
        goto out;
    }
    for (size_t i = 0; i < drop_count; i++)
        qcow2_bitmap_clusters_free(node, drop_offsets[i], drop_sizes[i]);
    ret = 0;
out:
    free(drop_offsets);
    free(drop_sizes);
    qcow2_bitmap_entries_free(list, count);
    return ret;
}

/* Marks [offset, offset+length) dirty in every enabled bitmap. */
void qcow2_bitmaps_mark(block_node *node, uint64_t offset, uint64_t length)
{
    qcow2_state *s = node->state;
    if (length == 0)
        return;
    for (size_t i = 0; i < s->bitmap_memory_count; i++) {
        qcow2_bitmap *bm = &s->bitmaps[i];
        if (!bm->enabled || bm->readonly || bm->inconsistent)
            continue;
        uint64_t first = offset / bm->granularity;
        uint64_t last = (offset + length - 1) / bm->granularity;
        for (uint64_t b = first; b <= last && b < bm->bit_count; b++)
            bm->bits[b / 8] |= (uint8_t)(1u << (b % 8));
    }
}

/* Finds an in-memory bitmap by name. */
static qcow2_bitmap *qcow2_bitmap_find(block_node *node, const char *name)
{
    qcow2_state *s = node->state;
    for (size_t i = 0; i < s->bitmap_memory_count; i++)
        if (strcmp(s->bitmaps[i].name, name) == 0)
            return &s->bitmaps[i];
    return NULL;
}

/* Lists the bitmaps in qemu's in-memory order. */
int qcow2_bitmap_list(block_node *node, bitmap_info **list, size_t *count, error **errp)
{
    qcow2_state *s = node->state;
    (void)errp;
    *list = memory_alloc_array(s->bitmap_memory_count ? s->bitmap_memory_count : 1, sizeof(bitmap_info));
    *count = s->bitmap_memory_count;
    for (size_t i = 0; i < s->bitmap_memory_count; i++) {
        (*list)[i].name = memory_strdup(s->bitmaps[i].name);
        (*list)[i].granularity = s->bitmaps[i].granularity;
        (*list)[i].in_use = s->bitmaps[i].inconsistent;
        (*list)[i].auto_flag = s->bitmaps[i].enabled;
        (*list)[i].inconsistent = s->bitmaps[i].inconsistent;
    }
    return 0;
}

/* Adds a persistent bitmap (qemu's block-dirty-bitmap-add with qcow2's storage checks). */
int qcow2_bitmap_add(block_node *node, const char *name, uint32_t granularity, bool disabled, error **errp)
{
    qcow2_state *s = node->state;
    if (s->version < 3)
        return error_set(errp, "Cannot store dirty bitmaps in qcow2 v2 files");
    if (s->bitmap_memory_count >= QCOW2_MAX_BITMAPS)
        return error_set(errp, "Maximum number of persistent bitmaps is already reached");
    if (strlen(name) > 1023)
        return error_set(errp, "Name length exceeds maximum (1023 characters)");
    if (granularity < 512)
        return error_set(errp, "Granularity is under minimum (512 bytes)");
    if (granularity > 0x80000000u)
        return error_set(errp, "Granularity exceeds maximum (2147483648 bytes)");
    qcow2_bitmap *bm = qcow2_bitmap_new(node, name, granularity);
    bm->enabled = !disabled;
    return 0;
}

/* Removes a bitmap from the image and from memory (qemu's qcow2_co_remove_persistent_dirty_bitmap). */
int qcow2_bitmap_remove(block_node *node, const char *name, error **errp)
{
    qcow2_state *s = node->state;
    qcow2_bitmap_entry *list = NULL;
    size_t count = 0;
    int ret = -1;
    if (s->has_bitmaps_extension && s->bitmap_count > 0) {
        if (qcow2_bitmap_directory_read(node, &list, &count, errp) < 0)
            return -1;
        size_t index = count;
        for (size_t i = 0; i < count; i++)
            if (strcmp(list[i].name, name) == 0)
                index = i;
        if (index < count) {
            qcow2_bitmap_entry removed = list[index];
            memmove(&list[index], &list[index + 1], (count - index - 1) * sizeof(qcow2_bitmap_entry));
            count--;
            if (qcow2_bitmap_directory_replace(node, list, count, errp) < 0) {
                error_prepend(errp, "Failed to update bitmap extension: ");
                free(removed.name);
                goto out;
            }
            qcow2_bitmap_clusters_free(node, removed.table_offset, removed.table_size);
            free(removed.name);
        }
    }
    for (size_t i = 0; i < s->bitmap_memory_count; i++) {
        if (strcmp(s->bitmaps[i].name, name) == 0) {
            free(s->bitmaps[i].name);
            free(s->bitmaps[i].bits);
            memmove(&s->bitmaps[i], &s->bitmaps[i + 1], (s->bitmap_memory_count - i - 1) * sizeof(qcow2_bitmap));
            s->bitmap_memory_count--;
            break;
        }
    }
    ret = 0;
out:
    qcow2_bitmap_entries_free(list, count);
    return ret;
}

/* Clears every bit of a bitmap. */
int qcow2_bitmap_clear(block_node *node, const char *name, error **errp)
{
    qcow2_bitmap *bm = qcow2_bitmap_find(node, name);
    if (bm == NULL)
        return error_set(errp, "Dirty bitmap '%s' not found", name);
    memset(bm->bits, 0, (bm->bit_count + 7) / 8);
    return 0;
}

/* Enables or disables a bitmap. */
int qcow2_bitmap_set_enabled(block_node *node, const char *name, bool enabled, error **errp)
{
    qcow2_bitmap *bm = qcow2_bitmap_find(node, name);
    if (bm == NULL)
        return error_set(errp, "Dirty bitmap '%s' not found", name);
    bm->enabled = enabled;
    return 0;
}

/* Copies out a bitmap's bits. */
int qcow2_bitmap_read(block_node *node, const char *name, uint8_t **bits, uint64_t *bit_count, uint32_t *granularity,
                      error **errp)
{
    qcow2_bitmap *bm = qcow2_bitmap_find(node, name);
    if (bm == NULL)
        return error_set(errp, "Dirty bitmap '%s' not found", name);
    *bits = memory_alloc_zero((bm->bit_count + 7) / 8 + 1);
    memcpy(*bits, bm->bits, (bm->bit_count + 7) / 8);
    *bit_count = bm->bit_count;
    *granularity = bm->granularity;
    return 0;
}

/* ORs bits (of another granularity, possibly) into a bitmap. */
int qcow2_bitmap_merge_bits(block_node *node, const char *name, const uint8_t *bits, uint64_t bit_count,
                            uint32_t granularity, error **errp)
{
    qcow2_bitmap *bm = qcow2_bitmap_find(node, name);
    if (bm == NULL)
        return error_set(errp, "Dirty bitmap '%s' not found", name);
    if (granularity == 0)
        return error_set(errp, "Invalid argument");
    for (uint64_t b = 0; b < bit_count; b++) {
        if (!(bits[b / 8] & (1u << (b % 8))))
            continue;
        uint64_t offset = b * granularity;
        uint64_t first = offset / bm->granularity;
        uint64_t last = (offset + granularity - 1) / bm->granularity;
        for (uint64_t t = first; t <= last && t < bm->bit_count; t++)
            bm->bits[t / 8] |= (uint8_t)(1u << (t % 8));
    }
    return 0;
}

/* The "bitmaps" list of info's format-specific data, from the directory on disk; NULL when none. */
json_value *qcow2_bitmaps_info(block_node *node)
{
    qcow2_bitmap_entry *list;
    size_t count;
    if (qcow2_bitmap_directory_read(node, &list, &count, NULL) < 0 || count == 0)
        return NULL;
    json_value *array = json_array_new();
    for (size_t i = 0; i < count; i++) {
        json_value *item = json_object_new();
        json_object_set_string(item, "name", list[i].name);
        json_object_set_uint(item, "granularity", 1ull << list[i].granularity_bits);
        json_value *flags = json_array_new();
        if (list[i].flags & QCOW2_BME_IN_USE)
            json_array_append(flags, json_string_new("in-use"));
        if (list[i].flags & QCOW2_BME_AUTO)
            json_array_append(flags, json_string_new("auto"));
        json_object_set(item, "flags", flags);
        json_array_append(array, item);
    }
    qcow2_bitmap_entries_free(list, count);
    return array;
}

/* Resizes every in-memory bitmap to a new image size (bits past the old end start clear). */
void qcow2_bitmaps_resize(block_node *node, uint64_t size)
{
    qcow2_state *s = node->state;
    for (size_t i = 0; i < s->bitmap_memory_count; i++) {
        qcow2_bitmap *bm = &s->bitmaps[i];
        uint64_t count = qcow2_bitmap_bit_count(size, bm->granularity);
        uint64_t old_bytes = (bm->bit_count + 7) / 8, new_bytes = (count + 7) / 8;
        bm->bits = memory_realloc(bm->bits, new_bytes + 8);
        if (new_bytes + 8 > old_bytes)
            memset(bm->bits + old_bytes, 0, new_bytes + 8 - old_bytes);
        if (count < bm->bit_count && count % 8)
            bm->bits[new_bytes - 1] &= (uint8_t)((1u << (count % 8)) - 1);
        bm->bit_count = count;
    }
}

/* qemu's qcow2_get_persistent_dirty_bitmap_size: room the bitmaps of node would take in an image with
 * cluster_size clusters (data assumed fully allocated, tables, directory). */
uint64_t qcow2_bitmaps_measure(block_node *node, uint64_t cluster_size)
{
    qcow2_state *s = node->state;
    uint64_t size = 0, dir_size = 0;
    for (size_t i = 0; i < s->bitmap_memory_count; i++) {
        const qcow2_bitmap *bm = &s->bitmaps[i];
        uint64_t bytes = (qcow2_bitmap_bit_count(node->size, bm->granularity) + 7) / 8;
        uint64_t clusters = (bytes + cluster_size - 1) / cluster_size;
        size += clusters * cluster_size;
        size += (clusters * 8 + cluster_size - 1) / cluster_size * cluster_size;
        dir_size += (QCOW2_BME_ENTRY_SIZE + strlen(bm->name) + 7) & ~7ull;
    }
    return size + (dir_size + cluster_size - 1) / cluster_size * cluster_size;
}
