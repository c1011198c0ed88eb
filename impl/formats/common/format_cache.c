/* format_cache.c — the metadata table cache shared by the format drivers (spec/formats-common.md
 * §Metadata cache). */
#include <stdlib.h>
#include <string.h>

#include "format_cache.h"
#include "format_io.h"
#include "../../util/memory.h"

void format_cache_init(format_cache *cache, block_node *file, size_t table_size)
{
    format_cache_clear(cache);
    memset(cache, 0, sizeof(*cache));
    cache->file = file;
    cache->table_size = table_size;
}

void format_cache_set_dependency(format_cache *cache, format_cache *depends_on)
{
    cache->depends_on = depends_on;
}

/* Writes slot i when dirty, flushing the dependency first. */
static int format_cache_slot_write_back(format_cache *cache, int i, error **errp)
{
    if (!cache->tables[i] || !cache->dirty[i])
        return 0;
    if (cache->depends_on && format_cache_flush(cache->depends_on, errp) < 0)
        return -1;
    if (format_file_write(cache->file, cache->offsets[i], cache->table_size, cache->tables[i], errp) < 0)
        return -1;
    cache->dirty[i] = false;
    return 0;
}

/* The slot holding offset (*hit), or the least recently used one to reuse. */
static int format_cache_slot_find(format_cache *cache, uint64_t offset, bool *hit)
{
    int victim = 0;
    for (int i = 0; i < FORMAT_CACHE_SLOTS; i++) {
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

/* A slot for offset: the one holding it (*hit) or a freed, written-back victim; -1 on a failed write-back. */
static int format_cache_slot_claim(format_cache *cache, uint64_t offset, bool *hit, error **errp)
{
    int slot = format_cache_slot_find(cache, offset, hit);
    cache->stamps[slot] = ++cache->clock;
    if (*hit)
        return slot;
    if (format_cache_slot_write_back(cache, slot, errp) < 0)
        return -1;
    if (cache->tables[slot] == NULL)
        cache->tables[slot] = memory_alloc_zero(cache->table_size);
    cache->offsets[slot] = offset;
    cache->dirty[slot] = false;
    return slot;
}

uint8_t *format_cache_get(format_cache *cache, uint64_t offset, error **errp)
{
    bool hit;
    int slot = format_cache_slot_claim(cache, offset, &hit, errp);
    if (slot < 0)
        return NULL;
    if (hit)
        return cache->tables[slot];
    if (format_file_read(cache->file, offset, cache->table_size, cache->tables[slot], errp) < 0) {
        free(cache->tables[slot]);
        cache->tables[slot] = NULL;
        return NULL;
    }
    return cache->tables[slot];
}

uint8_t *format_cache_get_empty(format_cache *cache, uint64_t offset, error **errp)
{
    bool hit;
    int slot = format_cache_slot_claim(cache, offset, &hit, errp);
    if (slot < 0)
        return NULL;
    memset(cache->tables[slot], 0, cache->table_size);
    return cache->tables[slot];
}

void format_cache_mark_dirty(format_cache *cache, uint64_t offset)
{
    for (int i = 0; i < FORMAT_CACHE_SLOTS; i++)
        if (cache->tables[i] && cache->offsets[i] == offset)
            cache->dirty[i] = true;
}

int format_cache_flush(format_cache *cache, error **errp)
{
    for (;;) {
        int next = -1;
        for (int i = 0; i < FORMAT_CACHE_SLOTS; i++)
            if (cache->tables[i] && cache->dirty[i] && (next < 0 || cache->offsets[i] < cache->offsets[next]))
                next = i;
        if (next < 0)
            return 0;
        if (format_cache_slot_write_back(cache, next, errp) < 0)
            return -1;
    }
}

void format_cache_drop(format_cache *cache, uint64_t offset)
{
    for (int i = 0; i < FORMAT_CACHE_SLOTS; i++) {
        if (cache->tables[i] && cache->offsets[i] == offset) {
            free(cache->tables[i]);
            cache->tables[i] = NULL;
            cache->dirty[i] = false;
        }
    }
}

void format_cache_clear(format_cache *cache)
{
    for (int i = 0; i < FORMAT_CACHE_SLOTS; i++) {
        free(cache->tables[i]);
        cache->tables[i] = NULL;
        cache->dirty[i] = false;
    }
}
