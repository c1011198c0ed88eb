/* qcow2_io.c — qcow2's access to its files and its write-through cache of metadata tables
 * (spec/qcow2.md §Tables). */
#include <stdlib.h>
#include <string.h>

#include "qcow2.h"
#include "../../util/memory.h"

/* Reads length bytes at offset of a protocol node; bytes past its end are zeroes. */
/* The largest byte offset qemu's block layer accepts in a request (BDRV_MAX_LENGTH). */
#define QCOW2_MAX_REQUEST_END (((uint64_t)INT64_MAX) & ~0xfffffull)

int qcow2_file_read(block_node *file, uint64_t offset, size_t length, void *buf, error **errp)
{
    if (offset > QCOW2_MAX_REQUEST_END || length > QCOW2_MAX_REQUEST_END - offset)
        return error_set(errp, "Input/output error");
    return block_node_read(file, offset, length, buf, errp);
}

/* Writes length bytes at offset of a protocol node (growing it when needed). */
int qcow2_file_write(block_node *file, uint64_t offset, size_t length, const void *buf, error **errp)
{
    if (length == 0)
        return 0;
    if (offset > QCOW2_MAX_REQUEST_END || length > QCOW2_MAX_REQUEST_END - offset)
        return error_set(errp, "Input/output error");
    return block_node_write(file, offset, length, buf, 0, errp);
}

/* Writes zeroes to [offset, offset+length) of a protocol node in bounded chunks. */
int qcow2_file_write_zeroes(block_node *file, uint64_t offset, uint64_t length, error **errp)
{
    size_t chunk = length < (1u << 20) ? (size_t)length : (1u << 20);
    uint8_t *zeroes = memory_alloc_zero(chunk ? chunk : 1);
    int ret = 0;
    while (length > 0) {
        size_t n = length < chunk ? (size_t)length : chunk;
        if (qcow2_file_write(file, offset, n, zeroes, errp) < 0) {
            ret = -1;
            goto out;
        }
        offset += n;
        length -= n;
    }
out:
    free(zeroes);
    return ret;
}

/* Picks the slot holding offset, or the least recently used one (evicting it). */
static int qcow2_cache_slot(qcow2_cache *cache, uint64_t offset, bool *hit)
{
    int victim = 0;
    for (int i = 0; i < QCOW2_CACHE_SLOTS; i++) {
        if (cache->tables[i] && cache->offsets[i] == offset) {
            *hit = true;
            return i;
        }
        if (cache->tables[victim] == NULL)
            continue;
        if (cache->tables[i] == NULL || cache->stamps[i] < cache->stamps[victim])
            victim = i;
    }
    *hit = false;
    return victim;
}

/* Returns the cached table at offset, reading a cluster from the image file on a miss. */
uint8_t *qcow2_cache_get(block_node *node, qcow2_cache *cache, uint64_t offset, error **errp)
{
    qcow2_state *s = node->state;
    bool hit;
    int slot = qcow2_cache_slot(cache, offset, &hit);
    cache->stamps[slot] = ++cache->clock;
    if (hit)
        return cache->tables[slot];
    if (cache->tables[slot] == NULL)
        cache->tables[slot] = memory_alloc_zero(s->cluster_size);
    cache->offsets[slot] = offset;
    if (qcow2_file_read(node->file, offset, s->cluster_size, cache->tables[slot], errp) < 0) {
        free(cache->tables[slot]);
        cache->tables[slot] = NULL;
        return NULL;
    }
    return cache->tables[slot];
}

/* Returns a zeroed cached table for offset without reading the file. */
uint8_t *qcow2_cache_get_empty(block_node *node, qcow2_cache *cache, uint64_t offset)
{
    qcow2_state *s = node->state;
    bool hit;
    int slot = qcow2_cache_slot(cache, offset, &hit);
    cache->stamps[slot] = ++cache->clock;
    if (cache->tables[slot] == NULL)
        cache->tables[slot] = memory_alloc_zero(s->cluster_size);
    cache->offsets[slot] = offset;
    memset(cache->tables[slot], 0, s->cluster_size);
    return cache->tables[slot];
}

/* Forgets the table cached for offset. */
void qcow2_cache_drop(qcow2_cache *cache, uint64_t offset)
{
    for (int i = 0; i < QCOW2_CACHE_SLOTS; i++) {
        if (cache->tables[i] && cache->offsets[i] == offset) {
            free(cache->tables[i]);
            cache->tables[i] = NULL;
        }
    }
}

/* Forgets every cached table. */
void qcow2_cache_clear(qcow2_cache *cache)
{
    for (int i = 0; i < QCOW2_CACHE_SLOTS; i++) {
        free(cache->tables[i]);
        cache->tables[i] = NULL;
    }
}
