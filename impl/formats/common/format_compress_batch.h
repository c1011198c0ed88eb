/* format_compress_batch.h — many clusters compressed or decompressed at once on the machine's cores:
 * worker threads take the jobs in turn, the caller then stores the results in guest order, so the
 * file is the same as one thread would make (spec/formats-common.md §Compression in parallel). */
#ifndef QIMG_FORMATS_COMMON_FORMAT_COMPRESS_BATCH_H
#define QIMG_FORMATS_COMMON_FORMAT_COMPRESS_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format_compress.h"
#include "../../util/error.h"

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

/* Stores one cluster of a compressed write: packed_length bytes at packed (-2: it did not shrink;
 * the plain length bytes at buf are to be written normally). Returns 0, or -1 with *errp set. */
typedef int (*format_compressed_store_fn)(void *context, uint64_t offset, size_t length, const uint8_t *buf,
                                          const uint8_t *packed, long packed_length, error **errp);

/* A compressed write of whole clusters at offset (the last may be short, compressed zero padded):
 * batches of at most batch_clusters clusters are compressed with type into at most cluster_size - 1
 * bytes each on every core, then handed to store one by one in guest order. Returns 0, or -1 with
 * *errp set (a cluster the compressor fails on is "Invalid argument"). */
int format_compressed_write(format_compression type, size_t cluster_size, size_t batch_clusters, uint64_t offset,
                            const uint8_t *buf, size_t length, format_compressed_store_fn store, void *context,
                            error **errp);

#endif
