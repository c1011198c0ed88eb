/* format_refmap.c — check's per-cluster reference map shared by the format drivers
 * (spec/formats-common.md §Reference map). */
#include <stdlib.h>
#include <string.h>

#include "format_refmap.h"
#include "../../util/memory.h"

void format_refmap_init(format_refmap *map, uint32_t cluster_bits, uint64_t bytes)
{
    memset(map, 0, sizeof(*map));
    map->cluster_bits = cluster_bits;
    uint64_t clusters = (bytes >> cluster_bits) + ((bytes & ((1ull << cluster_bits) - 1)) != 0);
    format_refmap_grow(map, clusters);
}

void format_refmap_free(format_refmap *map)
{
    free(map->narrow);
    free(map->wide);
    memset(map, 0, sizeof(*map));
}

void format_refmap_grow(format_refmap *map, uint64_t clusters)
{
    if (clusters <= map->count)
        return;
    if (map->wide) {
        map->wide = memory_realloc(map->wide, (size_t)clusters * sizeof(*map->wide));
        memset(map->wide + map->count, 0, (size_t)(clusters - map->count) * sizeof(*map->wide));
    } else {
        map->narrow = memory_realloc(map->narrow, (size_t)clusters * sizeof(*map->narrow));
        memset(map->narrow + map->count, 0, (size_t)(clusters - map->count) * sizeof(*map->narrow));
    }
    map->count = clusters;
}

void format_refmap_reset(format_refmap *map)
{
    if (map->count && map->wide)
        memset(map->wide, 0, (size_t)map->count * sizeof(*map->wide));
    else if (map->count)
        memset(map->narrow, 0, (size_t)map->count * sizeof(*map->narrow));
    map->highest = 0;
}

/* Cluster index's count (index < map->count). */
static uint64_t format_refmap_count_load(const format_refmap *map, uint64_t index)
{
    return map->wide ? map->wide[index] : map->narrow[index];
}

/* Sets cluster index's count (index < map->count), widening the map when it does not fit. */
static void format_refmap_count_store(format_refmap *map, uint64_t index, uint64_t value)
{
    if (map->wide == NULL && value > UINT16_MAX) {
        map->wide = memory_alloc_array(map->count ? (size_t)map->count : 1, sizeof(*map->wide));
        for (uint64_t i = 0; i < map->count; i++)
            map->wide[i] = map->narrow[i];
        free(map->narrow);
        map->narrow = NULL;
    }
    if (map->wide)
        map->wide[index] = value;
    else
        map->narrow[index] = (uint16_t)value;
}

uint64_t format_refmap_clusters(const format_refmap *map)
{
    return map->count;
}

uint64_t format_refmap_get(const format_refmap *map, uint64_t index)
{
    return index < map->count ? format_refmap_count_load(map, index) : 0;
}

void format_refmap_set(format_refmap *map, uint64_t index, uint64_t value)
{
    format_refmap_grow(map, index + 1);
    format_refmap_count_store(map, index, value);
    if (value && index + 1 > map->highest)
        map->highest = index + 1;
}

bool format_refmap_increment(format_refmap *map, uint64_t index, uint64_t max_count, uint64_t *previous)
{
    format_refmap_grow(map, index + 1);
    uint64_t current = format_refmap_count_load(map, index);
    if (previous)
        *previous = current;
    if (current >= max_count)
        return false;
    format_refmap_count_store(map, index, current + 1);
    if (index + 1 > map->highest)
        map->highest = index + 1;
    return true;
}

void format_refmap_reference(format_refmap *map, uint64_t offset, uint64_t length, uint64_t max_count,
                             format_refmap_tally *tally)
{
    if (length == 0)
        return;
    uint64_t first = offset >> map->cluster_bits;
    uint64_t last = (offset + length - 1) >> map->cluster_bits;
    for (uint64_t i = first; i <= last; i++) {
        uint64_t previous;
        if (!format_refmap_increment(map, i, max_count, &previous)) {
            tally->overflows++;
            continue;
        }
        if (previous > 0 && tally->duplicates++ == 0)
            tally->first_duplicate = i;
    }
}

uint64_t format_refmap_allocate(format_refmap *map, uint64_t count, uint64_t *first_free)
{
    uint64_t cluster = *first_free, contiguous = 0;
    bool first_gap = true;
    for (; cluster < map->count && contiguous < count; cluster++) {
        if (format_refmap_count_load(map, cluster) != 0) {
            contiguous = 0;
            continue;
        }
        contiguous++;
        if (first_gap) {
            *first_free = cluster;
            first_gap = false;
        }
    }
    if (contiguous < count)
        format_refmap_grow(map, cluster + count - contiguous);
    cluster -= contiguous;
    for (uint64_t i = 0; i < count; i++)
        format_refmap_set(map, cluster + i, 1);
    return cluster << map->cluster_bits;
}

uint64_t format_refmap_next_unreferenced(const format_refmap *map, uint64_t from, uint64_t end)
{
    for (uint64_t i = from; i < end; i++)
        if (format_refmap_get(map, i) == 0)
            return i;
    return end;
}

uint64_t format_refmap_end_offset(const format_refmap *map)
{
    return map->highest << map->cluster_bits;
}

void format_check_count_allocated(check_result *result, uint64_t *next_contiguous, uint64_t host_offset,
                                  uint64_t cluster_size)
{
    result->allocated_clusters++;
    if (*next_contiguous && host_offset != *next_contiguous)
        result->fragmented_clusters++;
    *next_contiguous = host_offset + cluster_size;
}
