/* format_compress_batch.h — many clusters compressed or decompressed at once on the machine's cores:
 * worker threads take the jobs in turn, the caller then stores the results in guest order, so the
 * file is the same as one thread would make (spec/formats-common.md §Compression in parallel). */
#ifndef QIMG_FORMATS_COMMON_FORMAT_COMPRESS_BATCH_H
#define QIMG_FORMATS_COMMON_FORMAT_COMPRESS_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format_compress.h"

/* One cluster's work: compress src into at most dest_size bytes of dest (result: the length, -2
 * when it does not fit, -1 on failure), or decompress src into exactly dest_size bytes (result 0 or
 * -1). */
typedef struct format_compress_job {
    const uint8_t *src;
    size_t src_size;
    uint8_t *dest;
    size_t dest_size;
    long result;
} format_compress_job;

/* Runs count jobs of one kind (decompress false: compress) with type, on as many threads as the
 * machine has cores (at most count, at most FORMAT_COMPRESS_MAX_THREADS); each job's result is set.
 * Falls back to this thread alone when a thread cannot be started. */
void format_compress_batch_run(format_compression type, bool decompress, format_compress_job *jobs, size_t count);

#define FORMAT_COMPRESS_MAX_THREADS 64u

#endif
