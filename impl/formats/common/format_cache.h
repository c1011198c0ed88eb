/* format_cache.h — a small cache of fixed-size metadata tables (L2 tables, refcount blocks, grain
 * tables) read from an image file, written through or back, with flush ordering between caches
 * (spec/formats-common.md §Metadata cache). */
#ifndef QIMG_FORMATS_COMMON_FORMAT_CACHE_H
#define QIMG_FORMATS_COMMON_FORMAT_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../block/block.h"

#define FORMAT_CACHE_SLOTS 16

typedef struct format_cache format_cache;

struct format_cache {
    block_node *file;           /* where the tables live */
    size_t table_size;          /* bytes of every table */
    uint64_t offsets[FORMAT_CACHE_SLOTS];
    uint8_t *tables[FORMAT_CACHE_SLOTS];
    uint64_t stamps[FORMAT_CACHE_SLOTS];
    bool dirty[FORMAT_CACHE_SLOTS];
    uint64_t clock;
    format_cache *depends_on;   /* flushed before any dirty table of this cache is written (NULL: none) */
};

/* Prepares an empty cache of table_size-byte tables of file. */
void format_cache_init(format_cache *cache, block_node *file, size_t table_size);

/* Makes cache write its dirty tables only after every dirty table of depends_on is written (qemu's
 * cache dependency: an L2 table before the refcount block that counts its clusters, or the reverse). */
void format_cache_set_dependency(format_cache *cache, format_cache *depends_on);

/* The cached copy of the table at offset, read from the file on a miss (evicting the least recently
 * used slot, written back first when dirty). NULL with *errp set when a read or write-back fails. */
uint8_t *format_cache_get(format_cache *cache, uint64_t offset, error **errp);

/* A zeroed cached table for offset, not read from the file (a table just allocated). */
uint8_t *format_cache_get_empty(format_cache *cache, uint64_t offset, error **errp);

/* Marks the cached table at offset as changed: it is written on flush or eviction. */
void format_cache_mark_dirty(format_cache *cache, uint64_t offset);

/* Writes every dirty table (after those of the dependency) in ascending offset order. */
int format_cache_flush(format_cache *cache, error **errp);

/* Forgets the table at offset without writing it (its clusters were freed or rewritten directly). */
void format_cache_drop(format_cache *cache, uint64_t offset);

/* Forgets every table without writing any. */
void format_cache_clear(format_cache *cache);

#endif
