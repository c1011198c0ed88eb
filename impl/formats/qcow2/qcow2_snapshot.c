/* qcow2_snapshot.c — qcow2 internal snapshots: the snapshot table, taking references for a snapshot's L1
 * and L2 tables, and create, list, revert, delete and read-only load (spec/qcow2.md §Snapshots). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qcow2.h"
#include "../../util/endian.h"
#include "../../util/memory.h"

#define QCOW2_SNAPSHOT_EXTRA_KNOWN 24u
#define QCOW2_SNAPSHOT_EXTRA_MAX 1024u

/* Frees a snapshot array. */
void qcow2_snapshots_free(qcow2_snapshot *list, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(list[i].id);
        free(list[i].name);
        free(list[i].unknown_extra);
    }
    free(list);
}

/* Reads the snapshot table (qemu's qcow2_read_snapshots); *table_size gets its byte length. */
int qcow2_snapshots_read(block_node *node, qcow2_snapshot **out, size_t *count, uint64_t *table_size, error **errp)
{
    qcow2_state *s = node->state;
    *out = NULL;
    *count = 0;
    *table_size = 0;
    if (s->nb_snapshots > QCOW2_MAX_SNAPSHOTS)
        return error_set(errp, "Snapshot table too large");
    qcow2_snapshot *list = memory_alloc_array(s->nb_snapshots ? s->nb_snapshots : 1, sizeof(qcow2_snapshot));
    uint64_t offset = s->snapshots_offset;
    size_t n = 0;
    *out = NULL;
    *count = 0;
    *table_size = 0;
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        uint8_t head[40], extra[QCOW2_SNAPSHOT_EXTRA_KNOWN];
        offset = (offset + 7) & ~7ull;
        /* entries past the end of the file read as zeroes, as qemu reads them (so memory stays bounded by
         * the file's length: such entries have no names or extra data) */
        if (offset - s->snapshots_offset > 0x7fffffff) {
            error_set(errp, "Snapshot table too large");
            goto fail;
        }
        if (format_file_read(node->file, offset, 40, head, errp) < 0)
            goto fail;
        offset += 40;
        qcow2_snapshot *sn = &list[n++];
        sn->l1_table_offset = endian_load_be64(head);
        sn->l1_size = endian_load_be32(head + 8);
        uint16_t id_size = endian_load_be16(head + 12);
        uint16_t name_size = endian_load_be16(head + 14);
        sn->date_sec = endian_load_be32(head + 16);
        sn->date_nsec = endian_load_be32(head + 20);
        sn->vm_clock_nsec = endian_load_be64(head + 24);
        sn->vm_state_size = endian_load_be32(head + 32);
        sn->extra_data_size = endian_load_be32(head + 36);
        if (sn->extra_data_size > QCOW2_SNAPSHOT_EXTRA_MAX) {
            error_set(errp, "Too much extra metadata in snapshot table entry %u", i);
            goto fail;
        }
        memset(extra, 0, sizeof(extra));
        uint32_t known = sn->extra_data_size < sizeof(extra) ? sn->extra_data_size : (uint32_t)sizeof(extra);
        if (format_file_read(node->file, offset, known, extra, errp) < 0)
            goto fail;
        offset += known;
        if (sn->extra_data_size >= 8)
            sn->vm_state_size = endian_load_be64(extra);
        sn->disk_size = sn->extra_data_size >= 16 ? endian_load_be64(extra + 8) : node->size;
        sn->icount = sn->extra_data_size >= 24 ? endian_load_be64(extra + 16) : UINT64_MAX;
        if (sn->extra_data_size > sizeof(extra)) {
            sn->unknown_extra_size = sn->extra_data_size - (uint32_t)sizeof(extra);
            sn->unknown_extra = memory_alloc_zero(sn->unknown_extra_size);
            if (format_file_read(node->file, offset, sn->unknown_extra_size, sn->unknown_extra, errp) < 0)
                goto fail;
            offset += sn->unknown_extra_size;
        }
        sn->id = memory_alloc_zero((size_t)id_size + 1);
        if (format_file_read(node->file, offset, id_size, sn->id, errp) < 0)
            goto fail;
        offset += id_size;
        sn->name = memory_alloc_zero((size_t)name_size + 1);
        if (format_file_read(node->file, offset, name_size, sn->name, errp) < 0)
            goto fail;
        offset += name_size;
    }
    *out = list;
    *count = n;
    *table_size = offset - s->snapshots_offset;
    return 0;
fail:
    qcow2_snapshots_free(list, n);
    return -1;
}

/* Writes the snapshot table to fresh clusters, points the header at it and frees the old one
 * (qemu's qcow2_write_snapshots). */
int qcow2_snapshots_write(block_node *node, const qcow2_snapshot *list, size_t count, uint64_t old_size,
                          error **errp)
{
    qcow2_state *s = node->state;
    uint64_t size = 0;
    for (size_t i = 0; i < count; i++) {
        size = (size + 7) & ~7ull;
        uint32_t extra = list[i].extra_data_size > QCOW2_SNAPSHOT_EXTRA_KNOWN ? list[i].extra_data_size
                                                                              : QCOW2_SNAPSHOT_EXTRA_KNOWN;
        size += 40 + extra + strlen(list[i].id) + strlen(list[i].name);
    }
    int64_t table = 0;
    if (size) {
        table = qcow2_clusters_alloc(node, size, errp);
        if (table < 0 || qcow2_metadata_write_check(node, (uint64_t)table, size, errp) < 0)
            return -1;
    }
    uint8_t *buf = memory_alloc_zero(size ? size : 1);
    uint64_t pos = 0;
    for (size_t i = 0; i < count; i++) {
        const qcow2_snapshot *sn = &list[i];
        pos = (pos + 7) & ~7ull;
        uint32_t extra = sn->extra_data_size > QCOW2_SNAPSHOT_EXTRA_KNOWN ? sn->extra_data_size
                                                                          : QCOW2_SNAPSHOT_EXTRA_KNOWN;
        uint8_t *h = buf + pos;
        endian_store_be64(h, sn->l1_table_offset);
        endian_store_be32(h + 8, sn->l1_size);
        endian_store_be16(h + 12, (uint16_t)strlen(sn->id));
        endian_store_be16(h + 14, (uint16_t)strlen(sn->name));
        endian_store_be32(h + 16, sn->date_sec);
        endian_store_be32(h + 20, sn->date_nsec);
        endian_store_be64(h + 24, sn->vm_clock_nsec);
        endian_store_be32(h + 32, sn->vm_state_size <= 0xffffffffu ? (uint32_t)sn->vm_state_size : 0);
        endian_store_be32(h + 36, extra);
        pos += 40;
        endian_store_be64(buf + pos, sn->vm_state_size);
        endian_store_be64(buf + pos + 8, sn->disk_size);
        endian_store_be64(buf + pos + 16, sn->icount);
        pos += QCOW2_SNAPSHOT_EXTRA_KNOWN;
        if (sn->unknown_extra_size) {
            memcpy(buf + pos, sn->unknown_extra, sn->unknown_extra_size);
            pos += sn->unknown_extra_size;
        }
        memcpy(buf + pos, sn->id, strlen(sn->id));
        pos += strlen(sn->id);
        memcpy(buf + pos, sn->name, strlen(sn->name));
        pos += strlen(sn->name);
    }
    int ret = -1;
    if (size && format_file_write(node->file, (uint64_t)table, size, buf, errp) < 0)
        goto out;
    uint8_t pointer[12];
    endian_store_be32(pointer, (uint32_t)count);
    endian_store_be64(pointer + 4, (uint64_t)table);
    if (format_file_write(node->file, 60, sizeof(pointer), pointer, errp) < 0)
        goto out;
    uint64_t old_offset = s->snapshots_offset;
    s->nb_snapshots = (uint32_t)count;
    s->snapshots_offset = (uint64_t)table;
    s->discard_freed = true;
    qcow2_clusters_free(node, old_offset, old_size, NULL);
    s->discard_freed = false;
    ret = 0;
out:
    free(buf);
    return ret;
}

/* qemu's qcow2_update_snapshot_refcount: adds addend (-1, 0, 1) to every cluster an L1 table references
 * and refreshes the COPIED flags; the L1 table is rewritten when its flags changed (not for -1). */
static int qcow2_snapshot_refcount_update(block_node *node, uint64_t l1_offset, uint64_t l1_size, int addend,
                                          error **errp)
{
    qcow2_state *s = node->state;
    bool active = l1_offset == s->l1_table_offset;
    uint64_t *l1 = NULL;
    bool l1_modified = false;
    int ret = -1;
    if (active) {
        l1 = s->l1_table;
    } else {
        uint8_t *raw = memory_alloc_zero(l1_size * 8 + 1);
        if (format_file_read(node->file, l1_offset, l1_size * 8, raw, errp) < 0) {
            free(raw);
            return -1;
        }
        l1 = memory_alloc_array(l1_size ? l1_size : 1, 8);
        for (uint64_t i = 0; i < l1_size; i++)
            l1[i] = endian_load_be64(raw + 8 * i);
        free(raw);
    }
    s->discard_freed = true;
    qcow2_metadata_writeback_begin(node, addend >= 0);
    for (uint64_t i = 0; i < l1_size; i++) {
        uint64_t old_l1 = l1[i];
        uint64_t l2_offset = old_l1 & QCOW2_L1_OFFSET_MASK;
        if (old_l1 == 0)
            continue;
        if (qcow2_offset_into_cluster(s, l2_offset)) {
            error_set(errp, "Input/output error");
            goto out;
        }
        for (uint64_t j = 0; j < s->l2_entries; j++) {
            uint8_t *table = format_cache_get(&s->l2_cache, l2_offset, errp);
            if (table == NULL)
                goto out;
            uint64_t old_entry = qcow2_l2_entry_get(s, table, j);
            uint64_t bitmap = qcow2_l2_bitmap_get(s, table, j);
            uint64_t entry = old_entry & ~QCOW2_OFLAG_COPIED;
            uint64_t refcount = 0;
            if (entry & QCOW2_OFLAG_COMPRESSED) {
                uint64_t host, size;
                qcow2_parse_compressed_entry(s, entry, &host, &size);
                if (addend && qcow2_refcount_update(node, host, size, 1, addend < 0, errp) < 0)
                    goto out;
                refcount = 2;
            } else {
                uint64_t host = entry & QCOW2_L2_OFFSET_MASK;
                qcow2_type type = qcow2_cluster_type(s, entry);
                bool allocated = type == QCOW2_TYPE_NORMAL || type == QCOW2_TYPE_ZERO_ALLOC;
                if (allocated && !qcow2_has_data_file(s)) {
                    if (qcow2_offset_into_cluster(s, host)) {
                        error_set(errp, "Input/output error");
                        goto out;
                    }
                    if (addend && qcow2_refcount_update(node, host, 1, 1, addend < 0, errp) < 0)
                        goto out;
                    if (qcow2_refcount_get(node, host >> s->cluster_bits, &refcount, errp) < 0)
                        goto out;
                } else if (allocated) {
                    refcount = 1;
                }
            }
            if (refcount == 1)
                entry |= QCOW2_OFLAG_COPIED;
            if (entry != old_entry) {
                table = format_cache_get(&s->l2_cache, l2_offset, errp);
                if (table == NULL || qcow2_l2_entry_set(node, table, l2_offset, j, entry, bitmap, errp) < 0)
                    goto out;
            }
        }
        if (addend && qcow2_refcount_update(node, l2_offset, 1, 1, addend < 0, errp) < 0)
            goto out;
        uint64_t refcount;
        if (qcow2_refcount_get(node, l2_offset >> s->cluster_bits, &refcount, errp) < 0)
            goto out;
        uint64_t new_l1 = l2_offset | (refcount == 1 ? QCOW2_OFLAG_COPIED : 0);
        if (new_l1 != old_l1) {
            l1[i] = new_l1;
            l1_modified = true;
        }
    }
    if (qcow2_metadata_writeback_end(node, errp) < 0)
        goto out;
    if (addend >= 0 && l1_modified) {
        uint8_t *raw = memory_alloc_zero(l1_size * 8 + 1);
        for (uint64_t i = 0; i < l1_size; i++)
            endian_store_be64(raw + 8 * i, l1[i]);
        int w = format_file_write(node->file, l1_offset, l1_size * 8, raw, errp);
        free(raw);
        if (w < 0)
            goto out;
    }
    ret = 0;
out:
    if (s->metadata_writeback)
        qcow2_metadata_writeback_end(node, NULL); /* what was changed before the failure is kept, as written through */
    s->discard_freed = false;
    if (!active)
        free(l1);
    return ret;
}

/* Lists the snapshots for info and `snapshot -l`. */
int qcow2_snapshot_list(block_node *node, snapshot_info **list, size_t *count, error **errp)
{
    qcow2_snapshot *table;
    size_t n;
    uint64_t size;
    *list = NULL;
    *count = 0;
    if (qcow2_snapshots_read(node, &table, &n, &size, errp) < 0)
        return -1;
    snapshot_info *out = memory_alloc_array(n ? n : 1, sizeof(snapshot_info));
    for (size_t i = 0; i < n; i++) {
        out[i].id = memory_strdup(table[i].id);
        out[i].name = memory_strdup(table[i].name);
        out[i].vm_state_size = table[i].vm_state_size;
        out[i].date_sec = table[i].date_sec;
        out[i].date_nsec = table[i].date_nsec;
        out[i].vm_clock_nsec = table[i].vm_clock_nsec;
        out[i].has_icount = table[i].icount != UINT64_MAX;
        out[i].icount = table[i].icount;
    }
    qcow2_snapshots_free(table, n);
    *list = out;
    *count = n;
    return 0;
}

/* Creates an internal snapshot of the current state (qemu's qcow2_snapshot_create). */
int qcow2_snapshot_create(block_node *node, const snapshot_info *info, error **errp)
{
    qcow2_state *s = node->state;
    qcow2_snapshot *table;
    size_t n;
    uint64_t size;
    int ret = -1;
    if (s->nb_snapshots >= QCOW2_MAX_SNAPSHOTS)
        return error_set_errnum(errp, EFBIG, "File too large");
    if (qcow2_has_data_file(s))
        return error_set(errp, "Operation not supported");
    if (qcow2_snapshots_read(node, &table, &n, &size, errp) < 0)
        return -1;
    unsigned long max_id = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned long id = strtoul(table[i].id, NULL, 10);
        if (id > max_id)
            max_id = id;
    }
    table = memory_realloc(table, (n + 1) * sizeof(qcow2_snapshot));
    qcow2_snapshot *sn = &table[n];
    memset(sn, 0, sizeof(*sn));
    char id[32];
    snprintf(id, sizeof(id), "%lu", max_id + 1);
    sn->id = memory_strdup(id);
    sn->name = memory_strdup(info->name ? info->name : "");
    sn->disk_size = node->size;
    sn->vm_state_size = info->vm_state_size;
    sn->date_sec = info->date_sec;
    sn->date_nsec = info->date_nsec;
    sn->vm_clock_nsec = info->vm_clock_nsec;
    sn->icount = info->has_icount ? info->icount : UINT64_MAX;
    sn->extra_data_size = QCOW2_SNAPSHOT_EXTRA_KNOWN;
    int64_t l1 = qcow2_clusters_alloc(node, s->l1_size * 8, errp);
    if (l1 < 0 || qcow2_metadata_write_check(node, (uint64_t)l1, s->l1_size * 8, errp) < 0)
        goto out;
    sn->l1_table_offset = (uint64_t)l1;
    sn->l1_size = (uint32_t)s->l1_size;
    uint8_t *raw = memory_alloc_zero(s->l1_size * 8 + 1);
    for (uint64_t i = 0; i < s->l1_size; i++)
        endian_store_be64(raw + 8 * i, s->l1_table[i]);
    int w = s->l1_size ? format_file_write(node->file, (uint64_t)l1, s->l1_size * 8, raw, errp) : 0;
    free(raw);
    if (w < 0)
        goto out;
    if (qcow2_snapshot_refcount_update(node, s->l1_table_offset, s->l1_size, 1, errp) < 0)
        goto out;
    if (qcow2_snapshots_write(node, table, n + 1, size, errp) < 0)
        goto out;
    ret = 0;
out:
    qcow2_snapshots_free(table, n + 1);
    return ret;
}

/* Index of the snapshot whose id or (failing that) name is key; -1 when none. */
static long qcow2_snapshot_find(const qcow2_snapshot *table, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i].id, key) == 0)
            return (long)i;
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i].name, key) == 0)
            return (long)i;
    return -1;
}

/* Reverts the active state to a snapshot (qemu's qcow2_snapshot_goto). */
int qcow2_snapshot_goto(block_node *node, const char *id_or_name, error **errp)
{
    qcow2_state *s = node->state;
    qcow2_inflated_forget(s);
    qcow2_snapshot *table;
    size_t n;
    uint64_t size;
    uint8_t *raw = NULL;
    int ret = -1;
    if (qcow2_snapshots_read(node, &table, &n, &size, errp) < 0)
        return -1;
    long index = qcow2_snapshot_find(table, n, id_or_name);
    if (index < 0) {
        error_set(errp, "No such file or directory");
        goto out;
    }
    qcow2_snapshot *sn = &table[index];
    if (sn->l1_size > QCOW2_MAX_L1_BYTES / 8 || qcow2_offset_into_cluster(s, sn->l1_table_offset)) {
        error_set(errp, "Snapshot L1 table offset invalid");
        goto out;
    }
    if (sn->disk_size != node->size && qcow2_truncate(node, sn->disk_size, true, BLOCK_PREALLOCATION_OFF, true,
                                                      errp) < 0)
        goto out;
    if (qcow2_l1_grow(node, sn->l1_size, true, errp) < 0)
        goto out;
    raw = memory_alloc_zero(s->l1_size * 8 + 1);
    if (format_file_read(node->file, sn->l1_table_offset, (uint64_t)sn->l1_size * 8, raw, errp) < 0)
        goto out;
    if (qcow2_snapshot_refcount_update(node, sn->l1_table_offset, sn->l1_size, 1, errp) < 0)
        goto out;
    if (s->l1_size && format_file_write(node->file, s->l1_table_offset, s->l1_size * 8, raw, errp) < 0)
        goto out;
    int r = qcow2_snapshot_refcount_update(node, s->l1_table_offset, s->l1_size, -1, errp);
    for (uint64_t i = 0; i < s->l1_size; i++)
        s->l1_table[i] = endian_load_be64(raw + 8 * i);
    format_cache_clear(&s->l2_cache);
    if (r < 0)
        goto out;
    if (qcow2_snapshot_refcount_update(node, s->l1_table_offset, s->l1_size, 0, errp) < 0)
        goto out;
    ret = 0;
out:
    free(raw);
    qcow2_snapshots_free(table, n);
    return ret;
}

/* Index of the first snapshot whose id and name match (NULL matches anything, but not both
 * NULL), or -1. */
static long qcow2_snapshot_match(const qcow2_snapshot *table, size_t n, const char *id, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        bool id_ok = id == NULL || strcmp(table[i].id, id) == 0;
        bool name_ok = name == NULL || strcmp(table[i].name, name) == 0;
        if ((id || name) && id_ok && name_ok)
            return (long)i;
    }
    return -1;
}

/* Deletes the snapshot matching id and name (either may be NULL) (qemu's qcow2_snapshot_delete). */
int qcow2_snapshot_delete(block_node *node, const char *id, const char *name, error **errp)
{
    qcow2_state *s = node->state;
    qcow2_snapshot *table;
    size_t n;
    uint64_t size;
    int ret = -1;
    if (qcow2_snapshots_read(node, &table, &n, &size, errp) < 0)
        return -1;
    long index = qcow2_snapshot_match(table, n, id, name);
    if (index < 0) {
        error_set(errp, "Can't find the snapshot");
        goto out;
    }
    qcow2_snapshot removed = table[index];
    if (removed.l1_size > QCOW2_MAX_L1_BYTES / 8 || qcow2_offset_into_cluster(s, removed.l1_table_offset)) {
        error_set(errp, "Snapshot L1 table offset invalid");
        goto out;
    }
    memmove(&table[index], &table[index + 1], (n - (size_t)index - 1) * sizeof(qcow2_snapshot));
    n--;
    if (qcow2_snapshots_write(node, table, n, size, errp) < 0) {
        error_prepend(errp, "Failed to remove snapshot from snapshot list: ");
        table[n] = removed;
        n++;
        goto out;
    }
    int r = qcow2_snapshot_refcount_update(node, removed.l1_table_offset, removed.l1_size, -1, errp);
    free(removed.id);
    free(removed.name);
    free(removed.unknown_extra);
    if (r < 0) {
        error_prepend(errp, "Failed to free the cluster and L1 table: ");
        goto out;
    }
    s->discard_freed = true;
    qcow2_clusters_free(node, removed.l1_table_offset, (uint64_t)removed.l1_size * 8, NULL);
    s->discard_freed = false;
    if (qcow2_snapshot_refcount_update(node, s->l1_table_offset, s->l1_size, 0, errp) < 0) {
        error_prepend(errp, "Failed to update snapshot status in disk: ");
        goto out;
    }
    ret = 0;
out:
    qcow2_snapshots_free(table, n);
    return ret;
}

/* Presents a snapshot's contents on a read-only node (convert -l); qemu's qcow2_snapshot_load_tmp. */
int qcow2_snapshot_load(block_node *node, const char *id, const char *name, error **errp)
{
    qcow2_state *s = node->state;
    qcow2_inflated_forget(s);
    qcow2_snapshot *table;
    size_t n;
    uint64_t size;
    int ret = -1;
    if (!node->read_only)
        return error_set(errp, "Device is not readonly");
    if (qcow2_snapshots_read(node, &table, &n, &size, errp) < 0)
        return -1;
    long index = qcow2_snapshot_match(table, n, id, name);
    if (index < 0) {
        error_set(errp, "Can't find snapshot");
        goto out;
    }
    qcow2_snapshot *sn = &table[index];
    if (sn->l1_size > QCOW2_MAX_L1_BYTES / 8 || qcow2_offset_into_cluster(s, sn->l1_table_offset)) {
        error_set(errp, "Snapshot L1 table offset invalid");
        goto out;
    }
    uint8_t *raw = memory_alloc_zero((uint64_t)sn->l1_size * 8 + 1);
    if (format_file_read(node->file, sn->l1_table_offset, (uint64_t)sn->l1_size * 8, raw, errp) < 0) {
        free(raw);
        goto out;
    }
    free(s->l1_table);
    s->l1_table = memory_alloc_array(sn->l1_size ? sn->l1_size : 1, 8);
    for (uint64_t i = 0; i < sn->l1_size; i++)
        s->l1_table[i] = endian_load_be64(raw + 8 * i);
    free(raw);
    s->l1_size = sn->l1_size;
    s->l1_table_offset = sn->l1_table_offset;
    node->size = sn->disk_size;
    format_cache_clear(&s->l2_cache);
    ret = 0;
out:
    qcow2_snapshots_free(table, n);
    return ret;
}
