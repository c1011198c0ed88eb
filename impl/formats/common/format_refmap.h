/* format_refmap.h — the per-cluster reference map a consistency check builds from an image's metadata:
 * counts per host cluster, duplicates, references past the end, leaks, the image end offset and the
 * allocation statistics qemu prints (spec/formats-common.md §Reference map). */
#ifndef QIMG_FORMATS_COMMON_FORMAT_REFMAP_H
#define QIMG_FORMATS_COMMON_FORMAT_REFMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "../../block/block.h"

/* References counted per host cluster of 2^cluster_bits bytes: two bytes a cluster (as qemu's check
 * keeps 16-bit refcounts) until a count does not fit, then eight. Memory grows only with the
 * clusters a caller asks for; callers bound every offset against the file before counting it. */
typedef struct format_refmap {
    uint32_t cluster_bits;
    uint16_t *narrow;     /* the counts while every one is below 65536 */
    uint64_t *wide;       /* the counts once one is not (narrow is then NULL) */
    uint64_t count;       /* clusters tracked */
    uint64_t highest;     /* one past the highest cluster ever referenced (0: none) */
} format_refmap;

/* What counting one range of references met. */
typedef struct format_refmap_tally {
    uint64_t duplicates;       /* clusters that were already referenced */
    uint64_t overflows;        /* clusters whose count was already max_count (left unchanged) */
    uint64_t first_duplicate;  /* the first duplicate cluster's index (valid when duplicates > 0) */
} format_refmap_tally;

/* An empty map of clusters of 2^cluster_bits bytes, sized for the first bytes of the file. */
void format_refmap_init(format_refmap *map, uint32_t cluster_bits, uint64_t bytes);
void format_refmap_free(format_refmap *map);

/* Tracks at least clusters clusters (the new ones at 0). */
void format_refmap_grow(format_refmap *map, uint64_t clusters);
/* Sets every count back to 0 (keeping the size). */
void format_refmap_reset(format_refmap *map);

/* Clusters tracked. */
uint64_t format_refmap_clusters(const format_refmap *map);
/* The count of cluster index (0 past the tracked ones). */
uint64_t format_refmap_get(const format_refmap *map, uint64_t index);
/* Sets the count of cluster index, growing the map when needed. */
void format_refmap_set(format_refmap *map, uint64_t index, uint64_t value);

/* One more reference to cluster index (growing the map): false, the count unchanged, when it is
 * already max_count. *previous (when not NULL) receives the count before. */
bool format_refmap_increment(format_refmap *map, uint64_t index, uint64_t max_count, uint64_t *previous);

/* One more reference to every cluster that [offset, offset+length) touches; *tally (zeroed by the
 * caller) accumulates what was met. The range must already be checked against the file. */
void format_refmap_reference(format_refmap *map, uint64_t offset, uint64_t length, uint64_t max_count,
                             format_refmap_tally *tally);

/* First fit of count contiguous unreferenced clusters at or after *first_free (growing the map past its
 * end when needed); they get count 1 and *first_free moves to the first free cluster seen. Returns
 * the byte offset of the run. */
uint64_t format_refmap_allocate(format_refmap *map, uint64_t count, uint64_t *first_free);

/* The first cluster in [from, end) with count 0, or end when there is none. */
uint64_t format_refmap_next_unreferenced(const format_refmap *map, uint64_t from, uint64_t end);

/* Byte offset one past the highest cluster ever referenced (what check reports as the image end
 * when the format has no better notion). */
uint64_t format_refmap_end_offset(const format_refmap *map);

/* Counts one allocated guest cluster at host_offset in the statistics of result: allocated, and
 * fragmented when it does not follow the previous one (*next_contiguous, 0 before the first). */
void format_check_count_allocated(check_result *result, uint64_t *next_contiguous, uint64_t host_offset,
                                  uint64_t cluster_size);

#endif
