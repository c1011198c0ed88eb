/* format_compress_batch.c — compression jobs shared out to worker threads through an atomic job
 * index (spec/formats-common.md §Compression in parallel). */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "format_compress_batch.h"

/* What the workers share: the jobs and the index of the next one to take. */
typedef struct format_compress_batch {
    format_compression type;
    bool decompress;
    format_compress_job *jobs;
    size_t count;
    atomic_size_t next;
} format_compress_batch;

/* Runs one job. */
static void format_compress_job_run(const format_compress_batch *batch, format_compress_job *job)
{
    if (batch->decompress)
        job->result = format_decompress(batch->type, job->dest, job->dest_size, job->src, job->src_size);
    else
        job->result = format_compress(batch->type, job->dest, job->dest_size, job->src, job->src_size);
}

/* A worker: takes jobs until none is left. */
static void *format_compress_worker(void *opaque)
{
    format_compress_batch *batch = opaque;
    for (;;) {
        size_t index = atomic_fetch_add(&batch->next, 1);
        if (index >= batch->count)
            return NULL;
        format_compress_job_run(batch, &batch->jobs[index]);
    }
}

/* The threads to use for count jobs: the online cores, at most count and the cap. */
static size_t format_compress_thread_count(size_t count)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t threads = cores > 0 ? (size_t)cores : 1;
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
