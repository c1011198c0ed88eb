/* convert.c — qemu-img convert: sources concatenated into a sparse target (spec/architecture.md §Command line). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arguments.h"
#include "common.h"
#include "../util/memory.h"
#include "../util/pipeline.h"
#include "../util/report.h"

/* convert's own long-only options. */
enum {
    CONVERT_OPTION_TARGET_IMAGE_OPTS = CLI_ARGUMENT_FIRST_OWN,
    CONVERT_OPTION_BITMAPS,
    CONVERT_OPTION_SKIP_BROKEN,
    CONVERT_OPTION_SALVAGE,
    CONVERT_OPTION_TARGET_IS_ZERO,
};

enum {
    CONVERT_SECTOR = 512,
    CONVERT_BUFFER_SECTORS = 4096,          /* 2 MiB copy requests */
    CONVERT_BUFFER_SECTORS_MAX = 32768,     /* largest -S value, in sectors */
    CONVERT_REQUEST_SECTORS_MAX = 4194303,  /* largest block status query, in sectors */
    CONVERT_PARALLEL_MAX = 16,
    CONVERT_PIPELINE_DEPTH = 3, /* reading ahead of writing by this many requests keeps both busy */
    CONVERT_BATCH_PIECES = 64,  /* requests read ahead into one buffer (1 MiB of 64 KiB clusters, with gaps) */
    CONVERT_BATCH_SECTORS = 2048, /* 1 MiB: what a buffer holds of requests after its first */
};

/* What a run of sectors needs on the target. */
typedef enum convert_kind {
    CONVERT_KIND_DATA,    /* copy the source bytes */
    CONVERT_KIND_ZERO,    /* reads as zeroes */
    CONVERT_KIND_BACKING, /* left unallocated so the target's backing file shows through */
} convert_kind;

/* One source image and where it sits in the concatenation. */
typedef struct convert_source {
    const char *name;
    block_node *node;
    uint64_t sectors;   /* size rounded up to whole sectors */
    uint64_t alignment; /* preferred request alignment in sectors (cluster size) */
} convert_source;

/* The command line of one convert run. */
typedef struct convert_options {
    const char *source_format;
    const char *target_format;
    const char *source_cache;
    const char *target_cache;
    const char *backing_file;
    const char *backing_format;
    cli_snapshot_spec snapshot; /* -l (and -s) */
    char *create_options;
    bool image_opts;
    bool target_image_opts;
    bool skip_create;
    bool target_is_zero;
    bool compressed;
    bool force_share;
    bool progress;
    bool quiet;
    bool bitmaps;
    bool skip_broken_bitmaps;
    bool salvage;
    bool copy_range;
    bool in_order;      /* -W clears it; the copy is sequential, so writes are always in order */
    bool explicit_sparse;
    int64_t min_sparse; /* sectors */
    int64_t rate_limit;
    int64_t parallel;   /* -m: the most requests in flight */
} convert_options;

/* The state of the copy loop. */
typedef struct convert_job {
    convert_source *sources;
    size_t source_count;
    uint64_t total_sectors;
    block_node *target;
    bool target_has_backing;
    int64_t target_backing_sectors; /* negative: unknown */
    bool has_zero_init;
    bool compressed;
    bool copy_range;
    bool salvage;
    bool quiet;
    uint64_t min_sparse;
    uint64_t alignment;
    uint64_t cluster_sectors;
    uint64_t buffer_sectors;
    convert_kind kind;          /* status of the current run of sectors */
    uint64_t status_end;        /* first sector past the run whose status is known */
    uint64_t allocated_sectors; /* progress total */
    uint64_t allocated_done;
    uint64_t rate_limit;        /* bytes per second, 0: none */
    uint64_t bytes_written;
    struct timespec started;
    int64_t parallel;           /* -m: the most requests in flight */
    uint64_t next_sector;       /* where the reading stage goes on */
    size_t batch_pieces;        /* requests one buffer may hold */
    bool progress;
} convert_job;

/* ---- small helpers ---- */

/* True when the length bytes at buf are all zero. */
static bool convert_buffer_is_zero(const uint8_t *buf, size_t length)
{
    size_t i = 0;
    for (; i < length && (i & 7) != 0; i++)
        if (buf[i])
            return false;
    for (; i + 32 <= length; i += 32) {
        uint64_t w[4];
        memcpy(w, buf + i, sizeof(w));
        if (w[0] | w[1] | w[2] | w[3])
            return false;
    }
    for (; i < length; i++)
        if (buf[i])
            return false;
    return true;
}

/* The cluster size a node reports (qemu's bdrv_get_info), 0 when it reports none. */
static uint64_t convert_node_cluster_size_get(block_node *node)
{
    if (node->driver->info_fill == NULL)
        return 0;
    image_info info;
    memset(&info, 0, sizeof(info));
    error *err = NULL;
    uint64_t size = 0;
    if (node->driver->info_fill(node, &info, &err) == 0 && info.has_cluster_size)
        size = info.cluster_size;
    error_free(err);
    image_info_free(&info);
    return size;
}

/* ---- the copy loop ---- */

/* Finds the source holding sector and the first sector of that source in the concatenation. */
static void convert_job_source_find(const convert_job *job, uint64_t sector, size_t *index, uint64_t *first)
{
    size_t i = 0;
    uint64_t start = 0;
    while (i + 1 < job->source_count && sector - start >= job->sources[i].sectors) {
        start += job->sources[i].sectors;
        i++;
    }
    *index = i;
    *first = start;
}

/* Determines how many sectors from sector share one kind (left in job->kind), as qemu's convert
 * splits its requests; returns the count (> 0) or -1 after printing the block status error. */
static int64_t convert_job_chunk_plan(convert_job *job, uint64_t sector)
{
    size_t index;
    uint64_t first;
    convert_job_source_find(job, sector, &index, &first);
    convert_source *source = &job->sources[index];
    uint64_t n = job->total_sectors - sector;
    if (n > CONVERT_REQUEST_SECTORS_MAX)
        n = CONVERT_REQUEST_SECTORS_MAX;
    bool past_backing = false;
    if (job->target_backing_sectors >= 0) {
        uint64_t backing_end = (uint64_t)job->target_backing_sectors;
        if (sector >= backing_end)
            past_backing = true;
        else if (sector + n > backing_end)
            n = backing_end - sector;
    }

    if (job->status_end <= sector) {
        uint64_t offset = (sector - first) * CONVERT_SECTOR;
        block_node *base = job->target_has_backing ? source->node->backing : NULL;
        block_status_result status;
        uint64_t count;
        int flags;
        for (;;) {
            error *err = NULL;
            if (block_node_status_above(source->node, base, offset, n * CONVERT_SECTOR, &status, NULL, &err) == 0 &&
                status.length > 0) {
                count = status.length;
                flags = status.flags;
                break;
            }
            if (!job->salvage) {
                cli_error("error while reading block status at offset %" PRIu64 ": %s", offset,
                          err ? error_message(err) : strerror(EIO));
                error_free(err);
                return -1;
            }
            if (n == 1) {
                if (!job->quiet)
                    report_warning("error while reading block status at offset %" PRIu64 ": %s", offset,
                                   err ? error_message(err) : strerror(EIO));
                error_free(err);
                count = CONVERT_SECTOR;
                flags = BLOCK_STATUS_DATA;
                break;
            }
            error_free(err);
            n = (n + 3) / 4;
        }
        n = (count + CONVERT_SECTOR - 1) / CONVERT_SECTOR;
        /* Keep the status boundary aligned to the source's clusters. */
        uint64_t tail = (sector - first + n) % source->alignment;
        if (n > tail)
            n -= tail;
        if (flags & BLOCK_STATUS_ZERO)
            job->kind = past_backing ? CONVERT_KIND_BACKING : CONVERT_KIND_ZERO;
        else if (flags & BLOCK_STATUS_DATA)
            job->kind = CONVERT_KIND_DATA;
        else
            job->kind = job->target_has_backing ? CONVERT_KIND_BACKING : CONVERT_KIND_DATA;
        job->status_end = sector + n;
    }

    if (n > job->status_end - sector)
        n = job->status_end - sector;
    if (job->kind == CONVERT_KIND_DATA && n > job->buffer_sectors)
        n = job->buffer_sectors;
    /* Compressed images are written in whole clusters. */
    if (job->compressed) {
        if (n < job->cluster_sectors) {
            n = job->cluster_sectors;
            if (n > job->total_sectors - sector)
                n = job->total_sectors - sector;
            job->kind = CONVERT_KIND_DATA;
        } else {
            n -= n % job->cluster_sectors;
        }
    }
    return (int64_t)n;
}

/* Reads count sectors of the concatenated sources from sector into buf; with salvage, unreadable
 * sectors read as zeroes. Returns 0 or -1 with *errp set. */
static int convert_job_read(convert_job *job, uint64_t sector, uint64_t count, uint8_t *buf, error **errp)
{
    uint64_t single_until = 0;
    while (count > 0) {
        size_t index;
        uint64_t first;
        convert_job_source_find(job, sector, &index, &first);
        convert_source *source = &job->sources[index];
        uint64_t offset = (sector - first) * CONVERT_SECTOR;
        uint64_t n = source->sectors - (sector - first);
        if (n > count)
            n = count;
        if (single_until > offset)
            n = 1;
        error *err = NULL;
        if (block_node_read(source->node, offset, (size_t)(n * CONVERT_SECTOR), buf, &err) < 0) {
            if (!job->salvage) {
                error_propagate(errp, err);
                return -1;
            }
            if (n > 1) {
                error_free(err);
                single_until = offset + n * CONVERT_SECTOR;
                continue;
            }
            if (!job->quiet)
                report_warning("error while reading offset %" PRIu64 ": %s", offset, error_message(err));
            error_free(err);
            memset(buf, 0, CONVERT_SECTOR);
        }
        sector += n;
        count -= n;
        buf += n * CONVERT_SECTOR;
    }
    return 0;
}

/* Whether the first sector of buf holds data; *run receives how many sectors from the start share
 * that answer, with the end of the run moved to an alignment boundary where qemu moves it. */
static bool convert_sectors_classify(const uint8_t *buf, uint64_t n, uint64_t *run, uint64_t sector,
                                      uint64_t alignment)
{
    if (n == 0) {
        *run = 0;
        return false;
    }
    bool zero = convert_buffer_is_zero(buf, CONVERT_SECTOR);
    uint64_t i = 1;
    while (i < n && convert_buffer_is_zero(buf + i * CONVERT_SECTOR, CONVERT_SECTOR) == zero)
        i++;
    if (i == n) {
        *run = i;
        return !zero;
    }
    uint64_t tail = (sector + i) & (alignment - 1);
    if (tail) {
        /* A short zero run ending inside an aligned block is rewritten with the data after it. */
        if (zero && i <= tail)
            zero = false;
        if (!zero) {
            i += alignment - tail;
            if (i > n)
                i = n;
        } else {
            i -= tail;
        }
    }
    *run = i;
    return !zero;
}

/* As convert_sectors_allocated, but once data was found, zero runs shorter than min sectors are
 * swallowed into the data run so that small gaps do not split writes. */
static bool convert_sectors_classify_min(const uint8_t *buf, uint64_t n, uint64_t *run, uint64_t min,
                                          uint64_t sector, uint64_t alignment)
{
    if (n < min)
        min = n;
    if (!convert_sectors_classify(buf, n, run, sector, alignment))
        return false;
    uint64_t used = *run;
    uint64_t checked = used;
    buf += used * CONVERT_SECTOR;
    n -= used;
    sector += used;
    while (n > 0) {
        uint64_t piece;
        bool data = convert_sectors_classify(buf, n, &piece, sector, alignment);
        buf += piece * CONVERT_SECTOR;
        n -= piece;
        sector += piece;
        checked += piece;
        if (data)
            used = checked;
        else if (piece >= min)
            break;
    }
    *run = used;
    return true;
}

/* Waits as long as the -r rate limit asks before bytes more bytes are written. */
static void convert_job_throttle(convert_job *job, uint64_t bytes)
{
    if (job->rate_limit == 0)
        return;
    job->bytes_written += bytes;
    uint64_t burst = job->rate_limit / 10;
    if (job->bytes_written <= burst)
        return;
    double due = (double)(job->bytes_written - burst) / (double)job->rate_limit;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double elapsed = (double)(now.tv_sec - job->started.tv_sec) + (double)(now.tv_nsec - job->started.tv_nsec) / 1e9;
    if (due > elapsed) {
        double wait = due - elapsed;
        struct timespec pause = {.tv_sec = (time_t)wait, .tv_nsec = (long)((wait - (double)(time_t)wait) * 1e9)};
        nanosleep(&pause, NULL);
    }
}

/* For a compressed target: whether the first cluster of the n sectors at buf is all zeroes, and in
 * *run the sectors of the clusters from there that are alike (the last may be short). */
static bool convert_clusters_classify(const uint8_t *buf, uint64_t n, uint64_t cluster_sectors, uint64_t *run)
{
    uint64_t first = n < cluster_sectors ? n : cluster_sectors;
    bool zero = convert_buffer_is_zero(buf, (size_t)(first * CONVERT_SECTOR));
    uint64_t done = first;
    while (done < n) {
        uint64_t piece = n - done < cluster_sectors ? n - done : cluster_sectors;
        if (convert_buffer_is_zero(buf + done * CONVERT_SECTOR, (size_t)(piece * CONVERT_SECTOR)) != zero)
            break;
        done += piece;
    }
    *run = done;
    return zero;
}

/* Writes count sectors at sector according to kind: data (skipping or zeroing zero runs), zeroes
 * (nothing when the target already reads as zeroes) or nothing for backing runs. */
static int convert_job_write(convert_job *job, uint64_t sector, uint64_t count, const uint8_t *buf,
                             convert_kind kind, error **errp)
{
    while (count > 0) {
        uint64_t n = count;
        bool write_data = false;
        if (kind == CONVERT_KIND_DATA) {
            if (job->min_sparse == 0)
                write_data = true;
            else if (job->compressed)
                write_data = !convert_clusters_classify(buf, n, job->cluster_sectors, &n);
            else
                write_data = convert_sectors_classify_min(buf, n, &n, job->min_sparse, sector, job->alignment);
        }
        uint64_t offset = sector * CONVERT_SECTOR;
        uint64_t bytes = n * CONVERT_SECTOR;
        if (kind == CONVERT_KIND_BACKING) {
            /* Unallocated in the source above the backing file: leave it to the target's backing. */
        } else if (write_data) {
            convert_job_throttle(job, bytes);
            int r = job->compressed ? block_node_write_compressed(job->target, offset, (size_t)bytes, buf, errp)
                                    : block_node_write(job->target, offset, (size_t)bytes, buf, 0, errp);
            if (r < 0)
                return -1;
        } else if (!job->has_zero_init) {
            convert_job_throttle(job, bytes);
            if (block_node_write_zeroes(job->target, offset, bytes, BLOCK_WRITE_MAY_UNMAP, errp) < 0)
                return -1;
        }
        sector += n;
        count -= n;
        buf += bytes;
    }
    return 0;
}

/* Whether every source and the target can offload copies (qemu's copy_range); when one cannot,
 * qemu's first copy fails and it copies the ordinary way, looking for zeroes, from then on. */
static bool convert_job_offload_possible(const convert_job *job)
{
    if (!job->target->driver->supports_copy_offload)
        return false;
    for (size_t i = 0; i < job->source_count; i++)
        if (!job->sources[i].node->driver->supports_copy_offload)
            return false;
    return true;
}

/* Copies count sectors from sector as they are, without looking for zeroes (copy offloading, -C);
 * returns 0 or -1 with *errp set. */
static int convert_job_copy(convert_job *job, uint64_t sector, uint64_t count, error **errp)
{
    while (count > 0) {
        size_t index;
        uint64_t first;
        convert_job_source_find(job, sector, &index, &first);
        convert_source *source = &job->sources[index];
        uint64_t n = source->sectors - (sector - first);
        if (n > count)
            n = count;
        convert_job_throttle(job, n * CONVERT_SECTOR);
        if (block_node_copy_range(source->node, (sector - first) * CONVERT_SECTOR, job->target,
                                  sector * CONVERT_SECTOR, n * CONVERT_SECTOR, errp) < 0)
            return -1;
        sector += n;
        count -= n;
    }
    return 0;
}

/* One request of the copy, as the reading stage hands it to the writing stage. */
typedef enum convert_piece_status {
    CONVERT_PIECE_READY,
    CONVERT_PIECE_PLAN_FAILED, /* block status failed (the message is printed) */
    CONVERT_PIECE_READ_FAILED, /* the read failed (err says why) */
} convert_piece_status;

typedef struct convert_piece {
    uint64_t sector;
    uint64_t count;
    uint64_t buffer_at;  /* where its data starts in the batch's buffer, in sectors */
    convert_kind kind;
    bool whole_copy; /* copied by offloading, nothing read */
    bool counted;    /* part of the progress total */
    bool needs_read; /* its data comes from the sources */
    convert_piece_status status;
    error *err;
} convert_piece;

/* The requests that share one buffer: small ones (a compressed cluster each) are read ahead
 * together, and still written one by one as qemu writes them. A failed piece is the last. */
typedef struct convert_batch {
    size_t count;
    convert_piece pieces[CONVERT_BATCH_PIECES];
} convert_batch;

/* Plans the request at job->next_sector, its data to go to buf from *used sectors on (zeroes are
 * put there at once; reads wait for convert_batch_read). Returns false, changing nothing, when its
 * data does not fit the rest of the batch (it opens the next one); true when the piece is made (a
 * failed plan ends the stream). */
static bool convert_piece_plan(convert_job *job, convert_piece *piece, uint8_t *buf, uint64_t *used)
{
    uint64_t sector = job->next_sector;
    int64_t chunk = convert_job_chunk_plan(job, sector);
    if (chunk < 0) {
        piece->status = CONVERT_PIECE_PLAN_FAILED;
        job->next_sector = job->total_sectors;
        return true;
    }
    uint64_t n = (uint64_t)chunk;
    convert_kind kind = job->kind;
    if (job->min_sparse == 0 && kind == CONVERT_KIND_ZERO && n > job->buffer_sectors)
        n = job->buffer_sectors;
    bool whole_copy = job->copy_range && kind == CONVERT_KIND_DATA;
    bool buffered = (kind == CONVERT_KIND_DATA && !whole_copy) || (job->min_sparse == 0 && kind == CONVERT_KIND_ZERO);
    if (buffered && *used > 0 && *used + n > CONVERT_BATCH_SECTORS)
        return false; /* the plan is kept in the job: the next batch makes the same piece */
    *piece = (convert_piece){.sector = sector, .count = n, .buffer_at = *used, .whole_copy = whole_copy};
    piece->counted = kind == CONVERT_KIND_DATA || (job->min_sparse == 0 && kind == CONVERT_KIND_ZERO);
    piece->needs_read = kind == CONVERT_KIND_DATA && !whole_copy;
    if (job->min_sparse == 0 && kind == CONVERT_KIND_ZERO) {
        kind = CONVERT_KIND_DATA;
        memset(buf + *used * CONVERT_SECTOR, 0, (size_t)(n * CONVERT_SECTOR));
    }
    if (buffered)
        *used += n;
    piece->kind = kind;
    job->next_sector = sector + n;
    return true;
}

/* Reads pieces [first, last] of the batch, which follow one another in the image and in buf, with
 * one request (the source then sees one large read: compressed clusters are decompressed in place);
 * when it fails, piece by piece, so that the failure is the piece's as a sequential copy reports it.
 * Returns the index of the failed piece, or SIZE_MAX. */
static size_t convert_batch_read_run(convert_job *job, convert_batch *batch, size_t first, size_t last, uint8_t *buf)
{
    convert_piece *start = &batch->pieces[first];
    convert_piece *end = &batch->pieces[last];
    uint64_t count = end->sector + end->count - start->sector;
    error *err = NULL;
    if (convert_job_read(job, start->sector, count, buf + start->buffer_at * CONVERT_SECTOR, &err) == 0)
        return SIZE_MAX;
    error_free(err);
    for (size_t i = first; i <= last; i++) {
        convert_piece *piece = &batch->pieces[i];
        if (convert_job_read(job, piece->sector, piece->count, buf + piece->buffer_at * CONVERT_SECTOR, &piece->err) < 0) {
            piece->status = CONVERT_PIECE_READ_FAILED;
            return i;
        }
    }
    return SIZE_MAX;
}

/* Reads the data of the batch's pieces, runs of neighbours together; a failed read ends the batch
 * and the stream at its piece. */
static void convert_batch_read(convert_job *job, convert_batch *batch, uint8_t *buf)
{
    for (size_t i = 0; i < batch->count; i++) {
        if (!batch->pieces[i].needs_read || batch->pieces[i].status != CONVERT_PIECE_READY)
            continue;
        size_t last = i;
        while (last + 1 < batch->count && batch->pieces[last + 1].needs_read &&
               batch->pieces[last + 1].status == CONVERT_PIECE_READY &&
               batch->pieces[last + 1].buffer_at == batch->pieces[last].buffer_at + batch->pieces[last].count)
            last++;
        size_t failed = convert_batch_read_run(job, batch, i, last, buf);
        if (failed != SIZE_MAX) {
            batch->count = failed + 1;
            job->next_sector = job->total_sectors;
            return;
        }
        i = last;
    }
}

/* The reading stage: plans requests from the block status while their data fits the buffer, then
 * reads it (pipeline_produce_fn). */
static int convert_batch_produce(void *context, void *item, uint8_t *buf)
{
    convert_job *job = context;
    convert_batch *batch = item;
    uint64_t used = 0;
    while (batch->count < job->batch_pieces && job->next_sector < job->total_sectors) {
        convert_piece *piece = &batch->pieces[batch->count];
        if (!convert_piece_plan(job, piece, buf, &used))
            break;
        batch->count++;
        if (piece->status != CONVERT_PIECE_READY)
            break;
    }
    convert_batch_read(job, batch, buf);
    return batch->count > 0;
}

/* Advances the progress bar and writes one request; prints qemu's message and returns -1 when the
 * request or its read failed. */
static int convert_piece_consume(convert_job *job, convert_piece *piece, const uint8_t *buf)
{
    if (piece->status == CONVERT_PIECE_PLAN_FAILED)
        return -1;
    if (piece->counted) {
        job->allocated_done += piece->count;
        if (job->progress && job->allocated_sectors)
            cli_progress_update(job->allocated_done, job->allocated_sectors);
    }
    if (piece->status == CONVERT_PIECE_READ_FAILED) {
        cli_error("error while reading at byte %" PRIu64 ": %s", piece->sector * CONVERT_SECTOR,
                  error_message(piece->err));
        return -1;
    }
    error *err = NULL;
    const uint8_t *data = buf + piece->buffer_at * CONVERT_SECTOR;
    int r = piece->whole_copy ? convert_job_copy(job, piece->sector, piece->count, &err)
                              : convert_job_write(job, piece->sector, piece->count, data, piece->kind, &err);
    if (r < 0) {
        cli_error("error while writing at byte %" PRIu64 ": %s", piece->sector * CONVERT_SECTOR, error_message(err));
        error_free(err);
        return -1;
    }
    return 0;
}

/* The writing stage: writes a batch's requests in order (pipeline_consume_fn). */
static int convert_batch_consume(void *context, void *item, uint8_t *buf)
{
    convert_job *job = context;
    convert_batch *batch = item;
    int ret = 0;
    for (size_t i = 0; i < batch->count; i++) {
        if (ret == 0 && convert_piece_consume(job, &batch->pieces[i], buf) < 0)
            ret = -1;
        error_free(batch->pieces[i].err);
    }
    return ret;
}

/* Whether a source reads a host file the target writes: then reads and writes must not overlap. */
static bool convert_job_files_shared(const convert_job *job)
{
    for (size_t i = 0; i < job->source_count; i++)
        if (block_node_files_shared(job->target, job->sources[i].node))
            return true;
    return false;
}

/* The requests in flight: reading runs ahead of writing by up to -m requests (at most
 * CONVERT_PIPELINE_DEPTH) when nothing is shared; compressed targets (already spread over the
 * cores), offloaded copies and -m 1 go one request at a time. */
static size_t convert_job_depth(const convert_job *job)
{
    if (job->compressed || job->copy_range || job->parallel <= 1 || convert_job_files_shared(job))
        return 1;
    return job->parallel < CONVERT_PIPELINE_DEPTH ? (size_t)job->parallel : CONVERT_PIPELINE_DEPTH;
}

/* Runs the copy over every sector of the concatenated sources; returns 0 or -1 (messages printed,
 * or none for the final end-of-stream compressed write, as qemu). */
static int convert_job_run(convert_job *job, bool progress)
{
    if (job->compressed) {
        if (job->cluster_sectors == 0 || job->cluster_sectors > job->buffer_sectors) {
            cli_error("invalid cluster size");
            return -1;
        }
        /* whole clusters, as many as fit the usual request (their compression runs on every core);
         * each cluster is still judged zero or not on its own, as qemu's cluster-sized requests are */
        job->buffer_sectors = job->buffer_sectors / job->cluster_sectors * job->cluster_sectors;
    }
    /* A first pass over the block status sizes the progress bar (and, as in qemu, reports status
     * errors before anything is written). */
    for (uint64_t sector = 0; sector < job->total_sectors;) {
        int64_t n = convert_job_chunk_plan(job, sector);
        if (n < 0)
            return -1;
        if (job->kind == CONVERT_KIND_DATA || (job->min_sparse == 0 && job->kind == CONVERT_KIND_ZERO))
            job->allocated_sectors += (uint64_t)n;
        sector += (uint64_t)n;
    }
    job->status_end = 0;
    job->next_sector = 0;
    job->progress = progress;
    clock_gettime(CLOCK_MONOTONIC, &job->started);
    block_node_streaming_set(job->target);
    size_t depth = convert_job_depth(job);
    job->batch_pieces = depth > 1 ? CONVERT_BATCH_PIECES : 1; /* one at a time: read as qemu reads */
    pipeline_config pipeline = {
        .depth = depth,
        .buffer_size = (size_t)(job->buffer_sectors * CONVERT_SECTOR),
        .item_size = sizeof(convert_batch),
        .produce = convert_batch_produce,
        .consume = convert_batch_consume,
        .context = job,
    };
    block_node_writeback_begin(job->target);
    if (pipeline_run(&pipeline) < 0)
        return -1; /* closing the target writes back what its caches hold */
    error *flush_err = NULL;
    if (block_node_writeback_end(job->target, &flush_err) < 0) {
        cli_error("error while writing metadata: %s", error_message(flush_err));
        error_free(flush_err);
        return -1;
    }
    if (job->compressed) {
        /* The empty compressed write tells the driver the stream has ended. */
        error *err = NULL;
        int r = block_node_write_compressed(job->target, 0, 0, NULL, &err);
        error_free(err);
        if (r < 0)
            return -1;
    }
    return 0;
}

/* ---- bitmaps ---- */

/* Checks that the source's persistent bitmaps can be copied; prints qemu's message and returns -1. */
static int convert_bitmaps_check(block_node *source, bool skip_broken)
{
    if (!block_node_supports_persistent_bitmaps(source)) {
        cli_error("Source lacks bitmap support");
        return -1;
    }
    bitmap_info *list = NULL;
    size_t count = 0;
    error *err = NULL;
    int ret = 0;
    if (source->driver->bitmap_list(source, &list, &count, &err) < 0) {
        cli_error_report(err, NULL);
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        if (!skip_broken && list[i].inconsistent) {
            cli_error("Cannot copy inconsistent bitmap '%s'", list[i].name);
            fprintf(stderr, "Try --skip-broken-bitmaps, or use 'qemu-img bitmap --remove' to delete it\n");
            ret = -1;
            break;
        }
    }
    bitmap_info_list_free(list, count);
    return ret;
}

/* Copies every persistent bitmap of source into target (same granularity and enabled state, same
 * bits); prints qemu's message and returns -1 on failure. */
static int convert_bitmaps_copy(block_node *source, block_node *target, bool skip_broken)
{
    bitmap_info *list = NULL;
    size_t count = 0;
    error *err = NULL;
    int ret = -1;
    if (source->driver->bitmap_list(source, &list, &count, &err) < 0) {
        cli_error_report(err, NULL);
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        const char *name = list[i].name;
        if (skip_broken && list[i].inconsistent) {
            report_warning("Skipping inconsistent bitmap '%s'", name);
            continue;
        }
        if (target->driver->bitmap_add(target, name, list[i].granularity, !list[i].auto_flag, &err) < 0) {
            char *prefix = memory_printf("Failed to create bitmap %s: ", name);
            cli_error_report(err, prefix);
            free(prefix);
            err = NULL;
            goto cleanup;
        }
        uint8_t *bits = NULL;
        uint64_t bit_count = 0;
        uint32_t granularity = 0;
        int r = -1;
        if (source->driver->bitmap_read == NULL || target->driver->bitmap_merge_bits == NULL)
            error_set(&err, "Bitmap merging is not supported");
        else if (source->driver->bitmap_read(source, name, &bits, &bit_count, &granularity, &err) == 0)
            r = target->driver->bitmap_merge_bits(target, name, bits, bit_count, granularity, &err);
        free(bits);
        if (r < 0) {
            char *prefix = memory_printf("Failed to populate bitmap %s: ", name);
            cli_error_report(err, prefix);
            free(prefix);
            err = NULL;
            if (target->driver->bitmap_remove)
                target->driver->bitmap_remove(target, name, NULL);
            goto cleanup;
        }
    }
    ret = 0;
cleanup:
    bitmap_info_list_free(list, count);
    return ret;
}

/* ---- setup ---- */

/* The options of convert, in qemu-img's order: -f, -T, -O, -t, -F and the others that name the
 * source's or the target's settings are convert's own. */
static void convert_arguments_build(cli_arguments *a)
{
    cli_arguments_init(a, "convert", false);
    cli_arguments_add_shared(a, CLI_SHARED_HELP, "help", 'h');
    cli_arguments_add(a, "source-format", required_argument, 'f');
    cli_arguments_add_shared(a, CLI_SHARED_IMAGE_OPTS, "image-opts", 0);
    cli_arguments_add(a, "source-cache", required_argument, 'T');
    cli_arguments_add(a, "snapshot", required_argument, 'l');
    cli_arguments_add_long(a, "bitmaps", no_argument, CONVERT_OPTION_BITMAPS);
    cli_arguments_add_long(a, "skip-broken-bitmaps", no_argument, CONVERT_OPTION_SKIP_BROKEN);
    cli_arguments_add_long(a, "salvage", no_argument, CONVERT_OPTION_SALVAGE);
    cli_arguments_add(a, "target-format", required_argument, 'O');
    cli_arguments_add_long(a, "target-image-opts", no_argument, CONVERT_OPTION_TARGET_IMAGE_OPTS);
    cli_arguments_add(a, "target-format-options", required_argument, 'o');
    cli_arguments_add(a, "target-cache", required_argument, 't');
    cli_arguments_add(a, "backing", required_argument, 'b');
    cli_arguments_add_short(a, 'B', required_argument);
    cli_arguments_add(a, "backing-format", required_argument, 'F');
    cli_arguments_add(a, "sparse-size", required_argument, 'S');
    cli_arguments_add(a, "no-create", no_argument, 'n');
    cli_arguments_add_long(a, "target-is-zero", no_argument, CONVERT_OPTION_TARGET_IS_ZERO);
    cli_arguments_add_short(a, 'c', no_argument);
    cli_arguments_add_shared(a, CLI_SHARED_FORCE_SHARE, "force-share", 'U');
    cli_arguments_add(a, "rate-limit", required_argument, 'r');
    cli_arguments_add(a, "parallel", required_argument, 'm');
    cli_arguments_add(a, "oob-writes", no_argument, 'W');
    cli_arguments_add(a, "copy-range-offloading", no_argument, 'C');
    cli_arguments_add_shared(a, CLI_SHARED_PROGRESS, "progress", 'p');
    cli_arguments_add_shared(a, CLI_SHARED_QUIET, "quiet", 'q');
    cli_arguments_add_shared(a, CLI_SHARED_OBJECT, "object", 0);
}

/* Takes -S SIZE (a multiple of the sector up to the largest buffer, 0 disables detection); 0, or -1
 * (reported). */
static int convert_sparse_size_apply(convert_options *options, const char *text)
{
    int64_t value;
    if (cli_size_argument("buffer size for sparse output", text, 0, INT64_MAX, &value) < 0)
        return -1;
    if (value % CONVERT_SECTOR != 0 || value / CONVERT_SECTOR > CONVERT_BUFFER_SECTORS_MAX) {
        cli_error("Invalid buffer size for sparse output specified. Valid sizes are multiples of %d up to "
                  "%d. Select 0 to disable sparse detection (fully allocates output).",
                  CONVERT_SECTOR, CONVERT_BUFFER_SECTORS_MAX * CONVERT_SECTOR);
        return -1;
    }
    options->min_sparse = value / CONVERT_SECTOR;
    options->explicit_sparse = true;
    return 0;
}

/* Takes one of convert's own options without an argument; false when c is not one of them. */
static bool convert_flag_apply(convert_options *options, int c)
{
    switch (c) {
    case CONVERT_OPTION_BITMAPS:
        options->bitmaps = true;
        return true;
    case CONVERT_OPTION_SKIP_BROKEN:
        options->skip_broken_bitmaps = true;
        return true;
    case CONVERT_OPTION_SALVAGE:
        options->salvage = true;
        return true;
    case CONVERT_OPTION_TARGET_IMAGE_OPTS:
        options->target_image_opts = true;
        return true;
    case 'n':
        options->skip_create = true;
        return true;
    case CONVERT_OPTION_TARGET_IS_ZERO:
        options->target_is_zero = true;
        return true;
    case 'c':
        options->compressed = true;
        return true;
    case 'W':
        options->in_order = false;
        return true;
    case 'C':
        options->copy_range = true;
        return true;
    default:
        return false;
    }
}

/* Takes one of convert's own options with argument text; 0, or -1 (reported). */
static int convert_value_apply(convert_options *options, int c, const char *text)
{
    switch (c) {
    case 'f':
        options->source_format = text;
        return 0;
    case 'T':
        options->source_cache = text;
        return 0;
    case 'l':
        return cli_snapshot_spec_parse(&options->snapshot, text);
    case 'O':
        options->target_format = text;
        return 0;
    case 'o':
        return cli_options_accumulate(&options->create_options, text);
    case 't':
        options->target_cache = text;
        return 0;
    case 'b':
    case 'B':
        options->backing_file = text;
        return 0;
    case 'F':
        options->backing_format = text;
        return 0;
    case 'S':
        return convert_sparse_size_apply(options, text);
    case 'r':
        return cli_size_argument("rate limit", text, 0, INT64_MAX, &options->rate_limit);
    default: /* 'm' */
        return cli_number_argument("number of coroutines", text, 1, CONVERT_PARALLEL_MAX, &options->parallel);
    }
}

/* Parses the command line into options; returns 0, 1 when the command should exit with status 1
 * (message printed), or 2 after --help. */
static int convert_options_parse(convert_options *options, int argc, char **argv)
{
    cli_arguments arguments;
    cli_shared_values shared = {0};
    int c, exit_code = 0;
    convert_arguments_build(&arguments);
    while ((c = cli_arguments_next(&arguments, argc, argv, &shared, &exit_code)) != CLI_ARGUMENTS_END) {
        if (c == CLI_ARGUMENTS_EXIT)
            return exit_code == 0 ? 2 : 1;
        if (!convert_flag_apply(options, c) && convert_value_apply(options, c, optarg) < 0)
            return 1;
    }
    options->image_opts = shared.image_opts;
    options->force_share = shared.force_share;
    options->progress = shared.progress;
    options->quiet = shared.quiet;
    return 0;
}

/* Checks the combinations qemu refuses before opening anything; prints the message and returns -1. */
static int convert_options_check(const convert_options *options)
{
    const char *message = NULL;
    if (options->skip_broken_bitmaps && !options->bitmaps)
        message = "Use of --skip-broken-bitmaps requires --bitmaps";
    else if (options->compressed && options->copy_range)
        message = "Cannot enable copy offloading when -c is used";
    else if (options->explicit_sparse && options->copy_range)
        message = "Cannot enable copy offloading when -S is used";
    else if (options->copy_range && options->salvage)
        message = "Cannot use copy offloading in salvaging mode";
    else if (options->target_image_opts && !options->skip_create)
        message = "--target-image-opts requires use of -n flag";
    else if (options->skip_create && options->create_options)
        message = "-o has no effect when skipping image creation";
    else if (options->target_is_zero && !options->skip_create)
        message = "--target-is-zero requires use of -n flag";
    if (message) {
        cli_error("%s", message);
        return -1;
    }
    return 0;
}

/* Opens every source; fills job->sources and job->total_sectors. Returns 0 or -1 (message printed). */
static int convert_sources_open(convert_job *job, const convert_options *options, char **names, size_t count)
{
    job->sources = memory_alloc_array(count, sizeof(*job->sources));
    job->source_count = count;
    int flags = options->force_share ? BLOCK_OPEN_FORCE_SHARE : BLOCK_OPEN_NO_WRITE_SHARE;
    for (size_t i = 0; i < count; i++) {
        convert_source *source = &job->sources[i];
        source->name = names[i];
        source->node = cli_image_open(names[i], options->source_format, options->image_opts, flags,
                                      options->source_cache, options->quiet);
        if (source->node == NULL)
            return -1;
        int64_t length = block_node_length(source->node);
        if (length < 0) {
            cli_error("Could not get size of %s: %s", names[i], strerror(EIO));
            return -1;
        }
        source->sectors = ((uint64_t)length + CONVERT_SECTOR - 1) / CONVERT_SECTOR;
        uint64_t alignment = source->node->request_alignment;
        alignment = alignment ? (alignment + CONVERT_SECTOR - 1) / CONVERT_SECTOR : 1;
        uint64_t cluster = convert_node_cluster_size_get(source->node) / CONVERT_SECTOR;
        source->alignment = cluster > alignment ? cluster : alignment;
        job->total_sectors += source->sectors;
    }
    return 0;
}

/* Switches the first source to the internal snapshot -l names; returns 0 or -1 (message printed). */
static int convert_snapshot_load(convert_job *job, const convert_options *options)
{
    if (!cli_snapshot_spec_given(&options->snapshot))
        return 0;
    if (!options->snapshot.has_options && job->source_count > 1) {
        cli_error("No support for concatenating multiple snapshot");
        return -1;
    }
    return cli_snapshot_spec_load(&options->snapshot, job->sources[0].node);
}

/* True when the -o text names key (at the top level of the option list). */
static bool convert_option_text_has(const char *text, const char *key)
{
    if (text == NULL)
        return false;
    option_list list = {0};
    error *err = NULL;
    bool found = option_list_parse(&list, text, NULL, &err) == 0 && option_list_get(&list, key) != NULL;
    error_free(err);
    option_list_free(&list);
    return found;
}

/* True when format's creation options include name. */
static bool convert_format_has_option(const char *format, const char *name)
{
    const block_driver *driver = block_driver_find(format);
    if (driver == NULL || driver->create_options == NULL)
        return false;
    for (const option_desc *desc = driver->create_options; desc->name; desc++)
        if (strcmp(desc->name, name) == 0)
            return true;
    return false;
}

/* Appends "key=value" to an --image-opts string, doubling commas in the value. */
static void convert_image_opts_append(string_buffer *sb, const char *key, const char *value)
{
    if (sb->length)
        string_buffer_append(sb, ",");
    string_buffer_append(sb, key);
    string_buffer_append(sb, "=");
    for (const char *p = value; *p; p++)
        string_buffer_append_length(sb, *p == ',' ? ",," : p, *p == ',' ? 2 : 1);
}

/* Opens the freshly created target, handing it the key secrets of the creation options as qemu
 * does; returns the node or NULL (message printed). */
static block_node *convert_target_open(const char *filename, const char *format, const option_list *created,
                                           int flags, const char *cache, bool quiet)
{
    bool has_secret = false;
    for (size_t i = 0; i < created->count; i++) {
        size_t length = strlen(created->entries[i].key);
        if (length >= 10 && strcmp(created->entries[i].key + length - 10, "key-secret") == 0)
            has_secret = true;
    }
    if (!has_secret)
        return cli_image_open(filename, format, false, flags, cache, quiet);
    string_buffer sb = {0};
    convert_image_opts_append(&sb, "driver", format);
    convert_image_opts_append(&sb, "file.filename", filename);
    for (size_t i = 0; i < created->count; i++) {
        size_t length = strlen(created->entries[i].key);
        if (length >= 10 && strcmp(created->entries[i].key + length - 10, "key-secret") == 0)
            convert_image_opts_append(&sb, created->entries[i].key, created->entries[i].value);
    }
    char *text = string_buffer_take(&sb);
    block_node *node = cli_image_open(text, NULL, true, flags, cache, quiet);
    free(text);
    return node;
}

/* The checks made before anything is opened: refused combinations, "-o help", a missing file name and
 * the source cache mode (after filling in the default target format). Returns -1 to go on, or the exit
 * code when the command is finished (message printed). */
static int convert_request_check(convert_options *options, int argc, char **argv)
{
    if (options->target_format == NULL && !options->target_image_opts)
        options->target_format = "raw";
    if (convert_options_check(options) < 0)
        return 1;
    int source_count = argc - optind - 1;
    const char *target_name = source_count >= 1 ? argv[argc - 1] : NULL;
    if (options->create_options && option_text_has_help(options->create_options)) {
        if (options->target_format)
            return cli_options_help_print(target_name, options->target_format);
        cli_error("Option help requires a format be specified");
        return 1;
    }
    if (source_count < 1) {
        cli_error("Must specify image file name");
        return 1;
    }
    int source_cache_flags;
    if (block_cache_mode_parse(options->source_cache, &source_cache_flags, NULL) < 0) {
        cli_error("Invalid source cache option: %s", options->source_cache);
        return 1;
    }
    return -1;
}

/* Prepares the creation of the target (sized to the sources' total) into *plan; *backing_from_options
 * is the backing_file the -o options set, or NULL. Returns 0, or -1 (reported). */
static int convert_target_prepare(block_create_plan *plan, const convert_job *job, const convert_options *options,
                                  const char *target_name, const char **backing_from_options)
{
    /* A size given with -o is overridden by the sources' total, as qemu does. */
    bool user_size = convert_option_text_has(options->create_options, "size");
    uint64_t size = job->total_sectors * CONVERT_SECTOR;
    /* qemu reports a backing file without format only after its other checks: stand in a format
     * for the preparation and take it out again. */
    const char *backing_format = options->backing_format;
    bool stand_in_format = false;
    error *err = NULL;
    if (backing_format == NULL && !convert_option_text_has(options->create_options, "backing_fmt") &&
        (options->backing_file || convert_option_text_has(options->create_options, "backing_file")) &&
        convert_format_has_option(options->target_format, "backing_fmt")) {
        backing_format = "raw";
        stand_in_format = true;
    }
    if (block_create_prepare(plan, target_name, options->target_format, options->backing_file, backing_format,
                             options->create_options, user_size ? UINT64_MAX : size, true, &err) < 0) {
        cli_error_report(err, NULL);
        return -1;
    }
    if (stand_in_format)
        option_list_remove(&plan->options, "backing_fmt");
    if (user_size) {
        char text[32];
        snprintf(text, sizeof(text), "%" PRIu64, size);
        option_list_set(&plan->options, "size", text);
    }
    *backing_from_options = option_list_get(&plan->options, "backing_file");
    return 0;
}

/* Checks that compression fits the target's creation options. Returns 0, or -1 (reported). */
static int convert_compression_check(const block_create_plan *plan)
{
    bool encryption = false;
    const char *encryption_text = option_list_get(&plan->options, "encryption");
    if (encryption_text)
        option_value_parse_bool("encryption", encryption_text, &encryption, NULL);
    const char *preallocation = option_list_get(&plan->options, "preallocation");
    if (plan->driver->write_compressed == NULL) {
        cli_error("Compression not supported for this file format");
        return -1;
    }
    if (encryption || option_list_get(&plan->options, "encrypt.format")) {
        cli_error("Compression and encryption not supported at the same time");
        return -1;
    }
    if (preallocation && strcmp(preallocation, "off") != 0) {
        cli_error("Compression and preallocation not supported at the same time");
        return -1;
    }
    return 0;
}

/* The checks qemu makes once the sources are open and the target planned (backing file, compression,
 * bitmaps). Returns -1 to go on, or the exit code (message printed; --target-is-zero with a backing
 * file exits 0). */
static int convert_target_check(const convert_job *job, const convert_options *options,
                                const block_create_plan *plan, const char *backing_from_options)
{
    if (options->target_is_zero && job->target_has_backing) {
        /* qemu reports this and still exits with status 0. */
        cli_error("Cannot use --target-is-zero when the destination image has a backing file");
        return 0;
    }
    if (job->source_count > 1 && job->target_has_backing) {
        cli_error("Having a backing file for the target makes no sense when concatenating multiple input images");
        return 1;
    }
    if (backing_from_options && option_list_get(&plan->options, "backing_fmt") == NULL) {
        cli_error("Use of backing file requires explicit backing format");
        return 1;
    }
    if (options->compressed && !options->skip_create && convert_compression_check(plan) < 0)
        return 1;
    if (options->bitmaps) {
        if (job->source_count > 1) {
            cli_error("Copying bitmaps only possible with single source");
            return 1;
        }
        if (convert_bitmaps_check(job->sources[0].node, options->skip_broken_bitmaps) < 0)
            return 1;
    }
    return -1;
}

/* Creates the target (unless -n) and opens it into job->target, checking that it takes what the
 * options ask for. Returns 0, or -1 (reported). */
static int convert_target_create_open(convert_job *job, const convert_options *options, block_create_plan *plan,
                                      const char *target_name)
{
    error *err = NULL;
    if (!options->skip_create && block_create_run(plan, &err) < 0) {
        char *prefix = memory_printf("%s: error while converting %s: ", target_name, options->target_format);
        cli_error_report(err, prefix);
        free(prefix);
        return -1;
    }
    int target_cache_flags;
    if (block_cache_mode_parse(options->target_cache, &target_cache_flags, NULL) < 0) {
        cli_error("Invalid cache option: %s", options->target_cache);
        return -1;
    }
    /* qemu opens a sparse-writing target with discard=unmap. */
    int target_flags = BLOCK_OPEN_READ_WRITE | BLOCK_OPEN_MAY_GROW | (options->min_sparse ? BLOCK_OPEN_UNMAP : 0);
    if (options->skip_create)
        job->target = cli_image_open(target_name, options->target_format, options->target_image_opts, target_flags,
                                     options->target_cache, options->quiet);
    else
        job->target = convert_target_open(target_name, options->target_format, &plan->options, target_flags,
                                          options->target_cache, options->quiet);
    if (job->target == NULL)
        return -1;
    if (options->bitmaps && (job->target->driver->bitmap_add == NULL ||
                             !block_node_supports_persistent_bitmaps(job->target))) {
        cli_error("Format driver '%s' does not support bitmaps", job->target->driver->format_name);
        return -1;
    }
    if (options->compressed && job->target->driver->write_compressed == NULL) {
        cli_error("Compression not supported for this file format");
        return -1;
    }
    return 0;
}

/* Fills in how the copy runs (alignment, sparseness, compression, zero initialisation), checking that
 * an existing target (-n) is large enough. Returns 0, or -1 (reported). */
static int convert_job_configure(convert_job *job, const convert_options *options)
{
    job->buffer_sectors = CONVERT_BUFFER_SECTORS;
    uint64_t sparse_alignment = 1;
    while (sparse_alignment * 2 <= (uint64_t)options->min_sparse)
        sparse_alignment *= 2;
    if (options->min_sparse == 0)
        sparse_alignment = 0;
    uint64_t target_alignment = job->target->request_alignment ? job->target->request_alignment : 1;
    target_alignment = (target_alignment + CONVERT_SECTOR - 1) / CONVERT_SECTOR;
    job->alignment = sparse_alignment > target_alignment ? sparse_alignment : target_alignment;
    if (options->skip_create) {
        int64_t length = block_node_length(job->target);
        if (length < 0) {
            cli_error("unable to get output image length: %s", strerror(EIO));
            return -1;
        }
        if (((uint64_t)length + CONVERT_SECTOR - 1) / CONVERT_SECTOR < job->total_sectors) {
            cli_error("output file is smaller than input file");
            return -1;
        }
    }
    job->target_backing_sectors = -1;
    if (job->target_has_backing && !options->skip_create && job->target->backing) {
        int64_t length = block_node_length(job->target->backing);
        if (length >= 0)
            job->target_backing_sectors = (length + CONVERT_SECTOR - 1) / CONVERT_SECTOR;
    }
    job->compressed = options->compressed || block_node_needs_compressed_writes(job->target);
    job->cluster_sectors = convert_node_cluster_size_get(job->target) / CONVERT_SECTOR;
    job->copy_range = options->copy_range && convert_job_offload_possible(job);
    job->salvage = options->salvage;
    job->quiet = options->quiet;
    job->min_sparse = (uint64_t)options->min_sparse;
    job->rate_limit = (uint64_t)options->rate_limit;
    job->parallel = options->parallel;
    job->has_zero_init = options->target_is_zero;
    if (!job->has_zero_init && !options->skip_create && job->min_sparse && !job->target_has_backing)
        job->has_zero_init = block_node_has_zero_init(job->target);
    return 0;
}

/* qemu-img convert [options] SRC_FILE [SRC_FILE2...] TGT_FILE. Returns 0 on success, 1 on failure. */
int cli_command_convert(int argc, char **argv)
{
    convert_options options = {
        .source_cache = "writeback",
        .target_cache = "unsafe",
        .in_order = true,
        .min_sparse = 8,
        .parallel = 8,
    };
    convert_job job = {0};
    block_create_plan plan;
    bool plan_ready = false;
    bool progress_started = false;
    int ret = 1;

    memset(&plan, 0, sizeof(plan));
    int parsed = convert_options_parse(&options, argc, argv);
    if (parsed) {
        ret = parsed == 2 ? 0 : 1;
        goto cleanup;
    }
    if ((ret = convert_request_check(&options, argc, argv)) >= 0)
        goto cleanup;
    ret = 1;
    const char *target_name = argv[argc - 1];
    if (options.quiet)
        options.progress = false;
    cli_progress_begin(options.progress);
    progress_started = true;

    if (convert_sources_open(&job, &options, argv + optind, (size_t)(argc - optind - 1)) < 0)
        goto cleanup;
    if (convert_snapshot_load(&job, &options) < 0)
        goto cleanup;
    const char *backing_from_options = NULL;
    if (!options.skip_create) {
        plan_ready = true;
        if (convert_target_prepare(&plan, &job, &options, target_name, &backing_from_options) < 0)
            goto cleanup;
    }
    job.target_has_backing = (backing_from_options ? backing_from_options : options.backing_file) != NULL;
    if ((ret = convert_target_check(&job, &options, &plan, backing_from_options)) >= 0)
        goto cleanup;
    ret = 1;
    if (convert_target_create_open(&job, &options, &plan, target_name) < 0)
        goto cleanup;
    if (convert_job_configure(&job, &options) < 0)
        goto cleanup;
    if (convert_job_run(&job, options.progress) < 0)
        goto cleanup;
    if (options.bitmaps && convert_bitmaps_copy(job.sources[0].node, job.target, options.skip_broken_bitmaps) < 0)
        goto cleanup;
    ret = 0;

cleanup:
    if (progress_started) {
        if (ret == 0)
            cli_progress_update(1, 1);
        cli_progress_end();
    }
    block_node_close(job.target);
    for (size_t i = 0; i < job.source_count; i++)
        block_node_close(job.sources[i].node);
    free(job.sources);
    if (plan_ready)
        block_create_plan_free(&plan);
    free(options.create_options);
    cli_snapshot_spec_free(&options.snapshot);
    return ret;
}
