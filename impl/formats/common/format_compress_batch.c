/* format_compress_batch.c — compression jobs shared out to worker threads through an atomic job
 * index (spec/formats-common.md §Compression in parallel). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <unistd.h>

#include "format_compress_batch.h"
#include "../../util/memory.h"

/* What the workers share: the jobs and the index of the next one to take. */
typedef struct format_compress_batch {
    format_compression type;
    bool decompress;
    format_compress_job *jobs;
    size_t count;
    atomic_size_t next;
} format_compress_batch;

/* Runs one job with the worker's codec. */
static void format_compress_job_run(const format_compress_batch *batch, format_codec *codec,
                                    format_compress_job *job)
{
    if (batch->decompress)
        job->result = format_codec_decompress(codec, batch->type, job->dest, job->dest_size, job->src, job->src_size);
    else
        job->result = format_codec_compress(codec, batch->type, job->dest, job->dest_size, job->src, job->src_size);
}

/* A worker: takes jobs until none is left. */
static void *format_compress_worker(void *opaque)
{
    format_compress_batch *batch = opaque;
    format_codec codec = {0};
    for (;;) {
        size_t index = atomic_fetch_add(&batch->next, 1);
        if (index >= batch->count)
            break;
        format_compress_job_run(batch, &codec, &batch->jobs[index]);
    }
    format_codec_free(&codec);
    return NULL;
}

/* The threads to use for count jobs: the online cores, at most count and the cap. */
static size_t format_compress_thread_count(size_t count)
{
    static atomic_long cores; /* sysconf reads /sys each time: asked once */
    if (atomic_load(&cores) == 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        atomic_store(&cores, online > 0 ? online : 1);
    }
    size_t threads = (size_t)atomic_load(&cores);
    if (threads > FORMAT_COMPRESS_MAX_THREADS)
        threads = FORMAT_COMPRESS_MAX_THREADS;
    return threads < count ? threads : count;
}

void format_compress_batch_run(format_compression type, bool decompress, format_compress_job *jobs, size_t count)
{
    format_compress_batch batch = {.type = type, .decompress = decompress, .jobs = jobs, .count = count};
    pthread_t threads[FORMAT_COMPRESS_MAX_THREADS];
    size_t started = 0;
    atomic_init(&batch.next, 0);
    size_t wanted = format_compress_thread_count(count);
    /* the calling thread is one of the workers */
    while (started + 1 < wanted && pthread_create(&threads[started], NULL, format_compress_worker, &batch) == 0)
        started++;
    format_compress_worker(&batch);
    for (size_t i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
}

/* One batch of format_compressed_write: at most batch_clusters clusters from offset. Returns the bytes
 * handled, or -1 with *errp set. */
static int64_t format_compressed_write_batch(format_compression type, size_t cluster_size, size_t batch_clusters,
                                             uint64_t offset, const uint8_t *buf, size_t length,
                                             format_compressed_store_fn store, void *context, error **errp)
{
    size_t count = (length + cluster_size - 1) / cluster_size;
    if (count > batch_clusters)
        count = batch_clusters;
    size_t bytes = count * cluster_size < length ? count * cluster_size : length;
    size_t tail = bytes % cluster_size;
    uint8_t *padded = NULL; /* a short last cluster is compressed padded with zeroes */
    uint8_t *packed = memory_alloc_array(count, cluster_size);
    format_compress_job *jobs = memory_alloc_array(count, sizeof(*jobs));
    for (size_t i = 0; i < count; i++)
        jobs[i] = (format_compress_job){buf + i * cluster_size, cluster_size, packed + i * cluster_size,
                                        cluster_size - 1, 0};
    if (tail) {
        padded = memory_alloc_zero(cluster_size);
        memcpy(padded, buf + (count - 1) * cluster_size, tail);
        jobs[count - 1].src = padded;
    }
    format_compress_batch_run(type, false, jobs, count);
    int64_t ret = (int64_t)bytes;
    for (size_t i = 0; i < count && ret >= 0; i++) {
        size_t n = bytes - i * cluster_size < cluster_size ? bytes - i * cluster_size : cluster_size;
        if (jobs[i].result == -1)
            ret = error_set(errp, "Invalid argument");
        else if (store(context, offset + i * cluster_size, n, jobs[i].src, packed + i * cluster_size,
                       jobs[i].result, errp) < 0)
            ret = -1;
    }
    free(jobs);
    free(packed);
    free(padded);
    return ret;
}

int format_compressed_write(format_compression type, size_t cluster_size, size_t batch_clusters, uint64_t offset,
                            const uint8_t *buf, size_t length, format_compressed_store_fn store, void *context,
                            error **errp)
{
    while (length > 0) {
        int64_t done = format_compressed_write_batch(type, cluster_size, batch_clusters ? batch_clusters : 1, offset,
                                                     buf, length, store, context, errp);
        if (done < 0)
            return -1;
        offset += (uint64_t)done;
        buf += done;
        length -= (size_t)done;
    }
    return 0;
}
