/* vhdx_log.c — the VHDX log: entry parsing, replay of a dirty log on open, metadata writes through the
 * log, and the header updates that go with them (spec/vhdx.md §Log, §Header updates). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vhdx.h"
#include "../common/format_checksum.h"
#include "../common/format_io.h"
#include "../../util/endian.h"
#include "../../util/memory.h"

#define VHDX_LOG_ENTRY_HEADER_BYTES 64u
#define VHDX_LOG_DESCRIPTOR_BYTES 32u
#define VHDX_LOG_REPLAY_GROWTH_MAX (16 * VHDX_GIB)

bool vhdx_log_entry_read_data(const uint8_t *buf, size_t size, uint32_t log_length, vhdx_log_entry *e)
{
    memset(e, 0, sizeof(*e));
    if (size < VHDX_LOG_ENTRY_HEADER_BYTES || memcmp(buf, "loge", 4) != 0)
        return false;
    e->checksum = endian_load_le32(buf + 4);
    e->entry_length = endian_load_le32(buf + 8);
    e->tail = endian_load_le32(buf + 12);
    e->sequence_number = endian_load_le64(buf + 16);
    e->descriptor_count = endian_load_le32(buf + 24);
    memcpy(e->log_guid.bytes, buf + 32, 16);
    e->flushed_file_offset = endian_load_le64(buf + 48);
    e->last_file_offset = endian_load_le64(buf + 56);
    if (e->entry_length < VHDX_SECTOR_SIZE || e->entry_length % VHDX_SECTOR_SIZE != 0 || e->entry_length > log_length)
        return false;
    if (e->tail % VHDX_SECTOR_SIZE != 0 || e->tail >= log_length || e->sequence_number == 0)
        return false;
    uint64_t header_bytes = VHDX_LOG_ENTRY_HEADER_BYTES + (uint64_t)e->descriptor_count * VHDX_LOG_DESCRIPTOR_BYTES;
    return header_bytes <= e->entry_length;
}

bool vhdx_log_descriptor_read_data(const uint8_t *buf, size_t size, uint32_t index, vhdx_log_descriptor *d)
{
    uint64_t at = VHDX_LOG_ENTRY_HEADER_BYTES + (uint64_t)index * VHDX_LOG_DESCRIPTOR_BYTES;
    memset(d, 0, sizeof(*d));
    if (at + VHDX_LOG_DESCRIPTOR_BYTES > size)
        return false;
    const uint8_t *p = buf + at;
    if (memcmp(p, "zero", 4) == 0) {
        d->is_zero = true;
        d->zero_length = endian_load_le64(p + 8);
    } else if (memcmp(p, "desc", 4) == 0) {
        d->trailing_bytes = endian_load_le32(p + 4);
        d->leading_bytes = endian_load_le64(p + 8);
    } else {
        return false;
    }
    d->file_offset = endian_load_le64(p + 16);
    d->sequence_number = endian_load_le64(p + 24);
    if (d->file_offset % VHDX_SECTOR_SIZE != 0)
        return false;
    return !d->is_zero || d->zero_length % VHDX_SECTOR_SIZE == 0;
}

/* The sectors of an entry before its data sectors. */
static uint64_t vhdx_log_header_sectors(uint32_t descriptor_count)
{
    uint64_t bytes = VHDX_LOG_ENTRY_HEADER_BYTES + (uint64_t)descriptor_count * VHDX_LOG_DESCRIPTOR_BYTES;
    return (bytes + VHDX_SECTOR_SIZE - 1) / VHDX_SECTOR_SIZE;
}

/* The log region of the current header. */
typedef struct vhdx_log_area {
    uint64_t offset;
    uint32_t length;
    vhdx_guid guid;
} vhdx_log_area;

/* Reads length bytes of the circular log starting at position at (wrapping at its end). */
static int vhdx_log_read_wrapped(block_node *node, const vhdx_log_area *log, uint32_t at, uint32_t length,
                                 uint8_t *buf, error **errp)
{
    uint32_t first = log->length - at < length ? log->length - at : length;
    if (format_file_read(node->file, log->offset + at, first, buf, errp) < 0)
        return -1;
    return format_file_read(node->file, log->offset, length - first, buf + first, errp);
}

/* Whether every descriptor of the entry in buf has a valid form, a matching sequence number and
 * (data descriptors) a matching data sector. */
static bool vhdx_log_entry_descriptors_valid(const uint8_t *buf, const vhdx_log_entry *e, uint64_t file_limit)
{
    uint64_t data_sector = vhdx_log_header_sectors(e->descriptor_count);
    uint64_t header_bytes = data_sector * VHDX_SECTOR_SIZE;
    for (uint32_t i = 0; i < e->descriptor_count; i++) {
        vhdx_log_descriptor d;
        if (!vhdx_log_descriptor_read_data(buf, header_bytes, i, &d) || d.sequence_number != e->sequence_number)
            return false;
        if (d.is_zero) {
            if (d.file_offset > file_limit || d.zero_length > file_limit - d.file_offset)
                return false;
            continue;
        }
        if ((data_sector + 1) * VHDX_SECTOR_SIZE > e->entry_length || d.file_offset > file_limit)
            return false;
        const uint8_t *s = buf + data_sector * VHDX_SECTOR_SIZE;
        if (memcmp(s, "data", 4) != 0 || endian_load_le32(s + 4) != (uint32_t)(e->sequence_number >> 32) ||
            endian_load_le32(s + 4092) != (uint32_t)e->sequence_number)
            return false;
        data_sector++;
    }
    return true;
}

/* Reads the entry at position at and checks it whole; *buf receives it (caller frees). */
static bool vhdx_log_entry_load(block_node *node, const vhdx_log_area *log, uint32_t at, uint64_t file_limit,
                                vhdx_log_entry *e, uint8_t **buf)
{
    uint8_t first[VHDX_SECTOR_SIZE];
    *buf = NULL;
    if (vhdx_log_read_wrapped(node, log, at, VHDX_SECTOR_SIZE, first, NULL) < 0 ||
        !vhdx_log_entry_read_data(first, sizeof(first), log->length, e) || !vhdx_guid_equal(&e->log_guid, &log->guid))
        return false;
    uint8_t *whole = memory_alloc_zero(e->entry_length);
    if (vhdx_log_read_wrapped(node, log, at, e->entry_length, whole, NULL) < 0 ||
        format_checksum_crc32c_without(whole, e->entry_length, 4) != e->checksum ||
        !vhdx_log_entry_descriptors_valid(whole, e, file_limit)) {
        free(whole);
        return false;
    }
    *buf = whole;
    return true;
}

/* The longest run of valid entries with consecutive sequence numbers (ending with the highest one). */
typedef struct vhdx_log_run {
    uint32_t start;
    uint32_t count;
    uint64_t last_sequence;
    uint64_t last_flushed_file_offset; /* the file size the last entry says was flushed */
} vhdx_log_run;

/* Follows the entries from position start while they are valid and consecutive. */
static vhdx_log_run vhdx_log_run_follow(block_node *node, const vhdx_log_area *log, uint32_t start, uint64_t limit)
{
    vhdx_log_run run = {start, 0, 0, 0};
    uint32_t at = start;
    uint64_t walked = 0;
    vhdx_log_entry e;
    uint8_t *buf;
    while (walked < log->length && vhdx_log_entry_load(node, log, at, limit, &e, &buf)) {
        free(buf);
        if (run.count > 0 && e.sequence_number != run.last_sequence + 1)
            break;
        run.count++;
        run.last_sequence = e.sequence_number;
        run.last_flushed_file_offset = e.flushed_file_offset;
        walked += e.entry_length;
        at = (uint32_t)(((uint64_t)at + e.entry_length) % log->length);
    }
    return run;
}

/* Finds the run to replay: the one that ends with the highest sequence number. */
static vhdx_log_run vhdx_log_search(block_node *node, const vhdx_log_area *log, uint64_t limit)
{
    vhdx_log_run best = {0, 0, 0, 0};
    for (uint64_t at = 0; at < log->length; at += VHDX_SECTOR_SIZE) {
        vhdx_log_entry e;
        uint8_t *buf;
        if (!vhdx_log_entry_load(node, log, (uint32_t)at, limit, &e, &buf))
            continue;
        free(buf);
        if (best.count > 0 && e.sequence_number <= best.last_sequence)
            continue;
        vhdx_log_run run = vhdx_log_run_follow(node, log, (uint32_t)at, limit);
        if (run.count > 0 && (best.count == 0 || run.last_sequence > best.last_sequence))
            best = run;
    }
    return best;
}

/* Applies the descriptors of one loaded entry to the file. */
static int vhdx_log_entry_apply(block_node *node, const vhdx_log_entry *e, const uint8_t *buf, error **errp)
{
    uint64_t data_sector = vhdx_log_header_sectors(e->descriptor_count);
    for (uint32_t i = 0; i < e->descriptor_count; i++) {
        vhdx_log_descriptor d;
        vhdx_log_descriptor_read_data(buf, data_sector * VHDX_SECTOR_SIZE, i, &d);
        if (d.is_zero) {
            if (format_file_write_zeroes(node->file, d.file_offset, d.zero_length, errp) < 0)
                return -1;
            continue;
        }
        uint8_t sector[VHDX_SECTOR_SIZE];
        memcpy(sector, buf + (data_sector++) * VHDX_SECTOR_SIZE, VHDX_SECTOR_SIZE);
        endian_store_le64(sector, d.leading_bytes);
        endian_store_le32(sector + 4092, d.trailing_bytes);
        if (format_file_write(node->file, d.file_offset, VHDX_SECTOR_SIZE, sector, errp) < 0)
            return -1;
    }
    return 0;
}

/* Replays run entry by entry from its start. */
static int vhdx_log_run_replay(block_node *node, const vhdx_log_area *log, const vhdx_log_run *run, uint64_t limit,
                               error **errp)
{
    uint32_t at = run->start;
    for (uint32_t n = 0; n < run->count; n++) {
        vhdx_log_entry e;
        uint8_t *buf;
        if (!vhdx_log_entry_load(node, log, at, limit, &e, &buf))
            return error_set_errno(errp, EINVAL, "VHDX log entry changed during replay");
        int ret = vhdx_log_entry_apply(node, &e, buf, errp);
        free(buf);
        if (ret < 0)
            return -1;
        at = (uint32_t)(((uint64_t)at + e.entry_length) % log->length);
    }
    return block_node_flush(node->file, errp);
}

int vhdx_log_replay_if_needed(block_node *node, vhdx_state *s, bool *replayed, error **errp)
{
    const vhdx_header *h = &s->headers[s->current];
    vhdx_log_area log = {h->log_offset, h->log_length, h->log_guid};
    *replayed = false;
    /* The log may reach past the end of the file: those bytes read as zeroes, as in qemu. */
    if (vhdx_guid_is_zero(&log.guid) || log.length == 0)
        return 0;
    /* Replayed writes stay within 16 GiB past the file's end (a bound of ours: an entry asking for
     * more is treated as invalid rather than zeroing exabytes). */
    uint64_t limit = format_file_length(node->file) + VHDX_LOG_REPLAY_GROWTH_MAX;
    vhdx_log_run run = vhdx_log_search(node, &log, limit);
    if (run.count == 0)
        return 0;
    if (node->read_only)
        return error_set(errp,
                         "VHDX image file '%s' opened read-only, but contains a log that needs to be replayed\n"
                         "To replay the log, run:\nqemu-img check -r all '%s'",
                         node->filename, node->filename);
    /* qemu rewrites the headers (log GUID kept) before it looks at the file size the log needs. */
    vhdx_guid kept = log.guid;
    if (vhdx_headers_update(node, s, &kept, errp) < 0)
        return -1;
    if (run.last_flushed_file_offset > format_file_length(node->file))
        return error_set_errnum(errp, EINVAL, "Could not open '%s': Invalid argument", node->file->filename);
    if (vhdx_log_run_replay(node, &log, &run, limit, errp) < 0 || vhdx_headers_update(node, s, NULL, errp) < 0)
        return -1;
    *replayed = true;
    return 0;
}

int vhdx_headers_update(block_node *node, vhdx_state *s, const vhdx_guid *log_guid, error **errp)
{
    for (int round = 0; round < 2; round++) {
        vhdx_header h = s->headers[s->current];
        uint8_t buf[VHDX_HEADER_SIZE];
        h.sequence_number++;
        vhdx_guid_generate(&h.file_write_guid);
        vhdx_guid_generate(&h.data_write_guid);
        memset(&h.log_guid, 0, sizeof(h.log_guid));
        if (log_guid)
            h.log_guid = *log_guid;
        vhdx_header_write_data(&h, buf);
        int slot = 1 - s->current;
        if (format_file_write(node->file, slot == 0 ? VHDX_HEADER_OFFSET_1 : VHDX_HEADER_OFFSET_2, sizeof(buf), buf,
                              errp) < 0)
            return -1;
        s->headers[slot] = h;
        s->current = slot;
    }
    return block_node_flush(node->file, errp);
}

/* Builds the entry logging count sectors of data at file_offset (entry_length bytes at *out). */
static uint8_t *vhdx_log_entry_build(vhdx_state *s, const vhdx_guid *guid, uint64_t file_offset, const uint8_t *data,
                                     uint32_t count, uint64_t file_length, uint32_t *entry_length)
{
    uint64_t header_sectors = vhdx_log_header_sectors(count);
    *entry_length = (uint32_t)((header_sectors + count) * VHDX_SECTOR_SIZE);
    uint8_t *e = memory_alloc_zero(*entry_length);
    uint64_t seq = s->log_sequence;
    memcpy(e, "loge", 4);
    endian_store_le32(e + 8, *entry_length);
    endian_store_le32(e + 12, s->log_write_head);
    endian_store_le64(e + 16, seq);
    endian_store_le32(e + 24, count);
    memcpy(e + 32, guid->bytes, 16);
    endian_store_le64(e + 48, file_length);
    endian_store_le64(e + 56, file_length);
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *src = data + (uint64_t)i * VHDX_SECTOR_SIZE;
        uint8_t *d = e + VHDX_LOG_ENTRY_HEADER_BYTES + i * VHDX_LOG_DESCRIPTOR_BYTES;
        uint8_t *sector = e + (header_sectors + i) * VHDX_SECTOR_SIZE;
        memcpy(d, "desc", 4);
        memcpy(d + 4, src + 4092, 4);
        memcpy(d + 8, src, 8);
        endian_store_le64(d + 16, file_offset + (uint64_t)i * VHDX_SECTOR_SIZE);
        endian_store_le64(d + 24, seq);
        memcpy(sector, "data", 4);
        endian_store_le32(sector + 4, (uint32_t)(seq >> 32));
        memcpy(sector + 8, src + 8, 4084);
        endian_store_le32(sector + 4092, (uint32_t)seq);
    }
    endian_store_le32(e + 4, format_checksum_crc32c(e, *entry_length));
    return e;
}

/* qemu's failure of a log write that finds no room: EINVAL. */
static int vhdx_log_full_error(error **errp)
{
    return error_set_errnum(errp, EINVAL, "Invalid argument");
}

int vhdx_log_write_sectors(block_node *node, vhdx_state *s, uint64_t file_offset, const uint8_t *data, uint32_t count,
                           error **errp)
{
    vhdx_header *h = &s->headers[s->current];
    uint32_t entry_length;
    vhdx_guid guid;
    uint64_t needed = (vhdx_log_header_sectors(count) + count) * VHDX_SECTOR_SIZE;
    /* A header still naming a log (a stale GUID: nothing was replayed) refuses new entries
     * (oracle-measured: the write fails, the headers already rewritten, the block's data in place). */
    if (!vhdx_guid_is_zero(&h->log_guid))
        return error_set_errnum(errp, ENOTSUP, "Operation not supported");
    /* A log with no room (oracle-measured on tiny logs): none at all fails at once; one shorter than
     * the entry fails once the headers name the new log; one exactly as long fails after the entry is
     * written (the head would meet the tail). A log past the file's end is written all the same. */
    if (h->log_length == 0)
        return vhdx_log_full_error(errp);
    vhdx_guid_generate(&guid);
    if (vhdx_headers_update(node, s, &guid, errp) < 0)
        return -1;
    h = &s->headers[s->current];
    if (needed > h->log_length)
        return vhdx_log_full_error(errp);
    if (s->log_write_head + needed > h->log_length)
        s->log_write_head = 0;
    uint8_t *entry = vhdx_log_entry_build(s, &guid, file_offset, data, count, format_file_length(node->file),
                                          &entry_length);
    int ret = format_file_write(node->file, h->log_offset + s->log_write_head, entry_length, entry, errp);
    free(entry);
    if (ret == 0 && needed == h->log_length)
        return vhdx_log_full_error(errp);
    if (ret == 0)
        ret = block_node_flush(node->file, errp);
    if (ret == 0)
        ret = format_file_write(node->file, file_offset, (size_t)count * VHDX_SECTOR_SIZE, data, errp);
    if (ret == 0)
        ret = block_node_flush(node->file, errp);
    if (ret < 0)
        return -1;
    s->log_write_head += entry_length;
    s->log_sequence++;
    return vhdx_headers_update(node, s, NULL, errp);
}
