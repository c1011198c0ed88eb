/* parallels_driver.c — the Parallels driver table: probing, opening (header checks in qemu's order and
 * wording, the read-write auto-repair), BAT lookups, cluster allocation, I/O and closing
 * (spec/parallels.md §Opening, §Allocation, §Closing). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parallels.h"
#include "../common/format_io.h"
#include "../../util/endian.h"
#include "../../util/memory.h"
#include "../../util/report.h"

/* Scores a buffer: 100 for either magic with version 2. */
static int parallels_probe(const uint8_t *buf, size_t buf_size, const char *filename)
{
    (void)filename;
    if (buf_size < 20)
        return 0;
    bool magic = memcmp(buf, PARALLELS_MAGIC_OLD, 16) == 0 || memcmp(buf, PARALLELS_MAGIC_NEW, 16) == 0;
    return magic && endian_load_le32(buf + 16) == PARALLELS_VERSION ? 100 : 0;
}

uint64_t parallels_file_length(block_node *node)
{
    uint64_t length = format_file_length(node->file);
    return (length + PARALLELS_SECTOR_SIZE - 1) / PARALLELS_SECTOR_SIZE * PARALLELS_SECTOR_SIZE;
}

uint64_t parallels_bat_offset(const parallels_state *s, uint64_t index)
{
    if (index >= s->bat_loaded)
        return 0;
    uint64_t unit = s->new_format ? s->cluster_size : PARALLELS_SECTOR_SIZE;
    return (uint64_t)s->bat[index] * unit;
}

uint32_t parallels_bat_value(const parallels_state *s, uint64_t host_offset)
{
    uint64_t unit = s->new_format ? s->cluster_size : PARALLELS_SECTOR_SIZE;
    return (uint32_t)(host_offset / unit);
}

int parallels_bat_store(block_node *node, uint64_t index, uint32_t value, error **errp)
{
    parallels_state *s = node->state;
    if (index >= s->bat_loaded) {
        if (value == 0)
            return 0;
        if (index >= s->header.bat_entries)
            return error_set(errp, "Input/output error");
        uint64_t grown = s->bat_loaded * 2 > index + 1 ? s->bat_loaded * 2 : index + 1;
        if (grown > s->header.bat_entries)
            grown = s->header.bat_entries;
        s->bat = memory_realloc(s->bat, (size_t)grown * sizeof(uint32_t));
        memset(s->bat + s->bat_loaded, 0, (size_t)(grown - s->bat_loaded) * sizeof(uint32_t));
        s->bat_loaded = grown;
    }
    s->bat[index] = value;
    uint8_t raw[4];
    endian_store_le32(raw, value);
    return format_file_write(node->file, PARALLELS_HEADER_SIZE + 4 * index, sizeof(raw), raw, errp);
}

int parallels_header_store(block_node *node, uint32_t inuse, error **errp)
{
    parallels_state *s = node->state;
    uint8_t raw[PARALLELS_HEADER_SIZE];
    parallels_header header = s->header;
    header.inuse = inuse;
    parallels_header_write_data(&header, raw);
    return format_file_write(node->file, 0, sizeof(raw), raw, errp);
}

bool parallels_used_range(const parallels_state *s, uint64_t off, uint64_t *first, uint64_t *last)
{
    uint64_t start = s->data_start * PARALLELS_SECTOR_SIZE;
    uint64_t table_end = PARALLELS_HEADER_SIZE + 4ull * s->header.bat_entries;
    if (off < table_end || (off < start && start - off >= s->cluster_size))
        return false;
    if (off <= start) {
        *first = *last = 0;
        return true;
    }
    *first = *last = (off - start) / s->cluster_size;
    return true;
}

/* Grows the used map geometrically so that it tracks index. */
static void parallels_used_grow(parallels_state *s, uint64_t index)
{
    uint64_t have = format_refmap_clusters(&s->used);
    if (index < have)
        return;
    format_refmap_grow(&s->used, index + 1 > have * 2 ? index + 1 : have * 2);
}

bool parallels_used_map_fill(block_node *node)
{
    parallels_state *s = node->state;
    uint64_t file_length = parallels_file_length(node);
    uint64_t start = s->data_start * PARALLELS_SECTOR_SIZE;
    bool ok = true;
    format_refmap_free(&s->used);
    s->used_size = file_length > start ? (file_length - start + s->cluster_size - 1) / s->cluster_size : 0;
    format_refmap_init(&s->used, 0, s->used_size);
    /* qemu's data end: the end of the highest entry's cluster, even below the data area start, an
     * unallocated entry counting as a cluster at offset 0; the data area start without any entry. */
    s->data_end = s->bat_loaded < s->header.bat_entries ? s->header.tracks : 0;
    s->low_entries = 0;
    for (uint64_t i = 0; i < s->bat_loaded; i++) {
        uint64_t off = parallels_bat_offset(s, i), first, last;
        if (off == 0) {
            if (s->data_end < s->header.tracks)
                s->data_end = s->header.tracks;
            continue;
        }
        uint64_t end = off / PARALLELS_SECTOR_SIZE + s->header.tracks;
        if (end > s->data_end)
            s->data_end = end;
        if (off < start)
            s->low_entries++;
        if (!parallels_used_range(s, off, &first, &last) || last >= s->used_size) {
            ok = false;
            continue;
        }
        for (uint64_t k = first; k <= last; k++) {
            if (format_refmap_get(&s->used, k))
                ok = false;
            format_refmap_set(&s->used, k, off + 1); /* the slot remembers where its cluster is */
        }
    }
    if (s->data_end == 0)
        s->data_end = s->data_start;
    return ok;
}

/* Whether a cluster at host byte offset would overlap the header and BAT or a cluster in use. In images
 * whose clusters are not aligned to the data area a free slot may still overlap its neighbour (qemu
 * 10.2 then hands out the same bytes twice); aligned images never meet this. */
static bool parallels_cluster_collides(const parallels_state *s, uint64_t host)
{
    uint64_t start = s->data_start * PARALLELS_SECTOR_SIZE;
    if (host < PARALLELS_HEADER_SIZE + 4ull * s->header.bat_entries)
        return true;
    uint64_t slot = host > start ? (host - start) / s->cluster_size : 0;
    for (uint64_t k = slot > 2 ? slot - 2 : 0; k <= slot + 2; k++) {
        uint64_t value = format_refmap_get(&s->used, k);
        if (value != 0 && format_ranges_overlap(value - 1, s->cluster_size, host, s->cluster_size))
            return true;
    }
    /* Entries below the data area are not in the map; a damaged image may still reach into it. */
    for (uint64_t i = 0; s->low_entries > 0 && i < s->bat_loaded; i++) {
        uint64_t off = parallels_bat_offset(s, i);
        if (off != 0 && off < start && format_ranges_overlap(off, s->cluster_size, host, s->cluster_size))
            return true;
    }
    return false;
}

int parallels_cluster_allocate(block_node *node, uint64_t *host_offset, error **errp)
{
    parallels_state *s = node->state;
    uint64_t start = s->data_start * PARALLELS_SECTOR_SIZE;
    /* The BAT can only say where the cluster is in its own unit: the data goes where the entry points
     * (qemu 10.2 writes it at the intended place instead when the data area is not cluster aligned, and
     * then reads other bytes back; qimg keeps the data readable, the file length as qemu's). */
    uint64_t unit = s->new_format ? s->cluster_size : PARALLELS_SECTOR_SIZE;
    uint64_t index = format_refmap_next_unreferenced(&s->used, 0, s->used_size);
    while (index < s->used_size && parallels_cluster_collides(s, (start + index * s->cluster_size) / unit * unit))
        index = format_refmap_next_unreferenced(&s->used, index + 1, s->used_size);
    uint64_t intended = start + index * s->cluster_size;
    if (index >= s->used_size) {
        /* No free cluster in the map: append after the highest cluster in use. */
        uint64_t end = s->data_end * PARALLELS_SECTOR_SIZE;
        intended = end > intended ? end : intended;
        if (parallels_cluster_collides(s, intended / unit * unit))
            intended = (intended + unit - 1) / unit * unit;
        index = (intended - start) / s->cluster_size;
    }
    uint64_t host = intended / unit * unit;
    if (host + s->cluster_size > FORMAT_MAX_REQUEST_END || host / unit > UINT32_MAX)
        return error_set(errp, "Input/output error");
    uint64_t file_length = format_file_length(node->file);
    uint64_t grow_to = (intended > host ? intended : host) + s->cluster_size;
    if (grow_to > file_length) {
        if (host < file_length && format_file_write_zeroes(node->file, host, file_length - host, errp) < 0)
            return -1;
        if (block_node_truncate(node->file, grow_to, false, BLOCK_PREALLOCATION_OFF, false, errp) < 0)
            return -1;
    } else if (format_file_write_zeroes(node->file, host, s->cluster_size, errp) < 0) {
        return -1;
    }
    parallels_used_grow(s, index);
    format_refmap_set(&s->used, index, host + 1);
    if (index + 1 > s->used_size)
        s->used_size = index + 1;
    uint64_t end = (intended + s->cluster_size) / PARALLELS_SECTOR_SIZE;
    if (end > s->data_end)
        s->data_end = end;
    *host_offset = host;
    return 0;
}

/* Applies the open options prealloc-size and prealloc-mode. */
static int parallels_options_apply(parallels_state *s, option_list *options, error **errp)
{
    uint64_t size = PARALLELS_DEFAULT_PREALLOC_SIZE;
    if (options == NULL)
        goto done;
    for (size_t i = 0; i < options->count; i++) {
        const char *key = options->entries[i].key;
        if (strcmp(key, "prealloc-size") != 0 && strcmp(key, "prealloc-mode") != 0)
            return error_set(errp, "Block format 'parallels' does not support the option '%s'", key);
    }
    if (option_list_get_size(options, "prealloc-size", size, &size, errp) < 0)
        return -1;
    const char *mode = option_list_get(options, "prealloc-mode");
    if (mode && strcmp(mode, "falloc") != 0 && strcmp(mode, "truncate") != 0)
        return error_set(errp, "invalid parameter value: %s", mode);
    s->prealloc_truncate = mode && strcmp(mode, "truncate") == 0;
done:
    s->prealloc_size = size / PARALLELS_SECTOR_SIZE;
    return 0;
}

/* The error qemu words for each header fault. */
static int parallels_header_fault_report(parallels_header_fault fault, error **errp)
{
    switch (fault) {
    case PARALLELS_HEADER_NOT_PARALLELS:
        return error_set(errp, "Image not in Parallels format");
    case PARALLELS_HEADER_ZERO_TRACKS:
        return error_set(errp, "Invalid image: Zero sectors per track");
    case PARALLELS_HEADER_BIG_CLUSTER:
        return error_set(errp, "Invalid image: Too big cluster");
    case PARALLELS_HEADER_BIG_CATALOG:
        return error_set(errp, "Catalog too large");
    case PARALLELS_HEADER_BIG_SIZE:
        return error_set(errp, "Could not refresh total sector count: File too large");
    default:
        return 0;
    }
}

/* Reads the BAT entries that lie in the file (the rest read as zero and are not held in memory). */
static int parallels_bat_load(block_node *node, error **errp)
{
    parallels_state *s = node->state;
    uint64_t count = s->header.bat_entries;
    uint64_t table_end = PARALLELS_HEADER_SIZE + 4 * count;
    if ((table_end + PARALLELS_SECTOR_SIZE - 1) / PARALLELS_SECTOR_SIZE * PARALLELS_SECTOR_SIZE >
        PARALLELS_MAX_BAT_READ)
        return error_set(errp, "Could not open '%s': Input/output error", node->filename);
    uint64_t file_length = format_file_length(node->file);
    uint64_t in_file = file_length > PARALLELS_HEADER_SIZE ? (file_length - PARALLELS_HEADER_SIZE + 3) / 4 : 0;
    s->bat_loaded = count < in_file ? count : in_file;
    s->bat = memory_alloc_array(s->bat_loaded ? (size_t)s->bat_loaded : 1, sizeof(uint32_t));
    uint8_t *raw = memory_alloc_zero(s->bat_loaded ? (size_t)s->bat_loaded * 4 : 1);
    int ret = format_file_read(node->file, PARALLELS_HEADER_SIZE, (size_t)s->bat_loaded * 4, raw, errp);
    for (uint64_t i = 0; ret == 0 && i < s->bat_loaded; i++)
        s->bat[i] = endian_load_le32(raw + 4 * i);
    free(raw);
    return ret;
}

/* Decides the data area start as qemu does: a data_off below the header and BAT or past the file is
 * wrong (the computed minimum is used instead); old images may leave it 0. */
static void parallels_data_start_choose(block_node *node)
{
    parallels_state *s = node->state;
    uint64_t file_sectors = (format_file_length(node->file) + PARALLELS_SECTOR_SIZE - 1) / PARALLELS_SECTOR_SIZE;
    uint32_t min_off = parallels_header_min_data_off(&s->header);
    uint32_t data_off = s->header.data_off;
    s->data_start = min_off;
    if (data_off == 0 && !s->new_format)
        return;
    if (data_off >= min_off && data_off <= file_sectors) {
        s->data_start = data_off;
        return;
    }
    s->data_off_bad = true;
}

/* Loads and checks the format extension cluster of a read-only open. */
static int parallels_extension_load(block_node *node, error **errp)
{
    parallels_state *s = node->state;
    uint64_t offset = s->header.ext_off * PARALLELS_SECTOR_SIZE;
    char message[256];
    parallels_extension ext;
    if (offset + s->cluster_size > PARALLELS_MAX_LENGTH)
        return error_set(errp, "Failed to read Format Extension cluster: Input/output error");
    if (offset >= format_file_length(node->file)) {
        uint8_t zero[PARALLELS_EXT_HEADER_SIZE] = {0};
        parallels_extension_parse(zero, sizeof(zero), 0, &ext, message, sizeof(message));
        return error_set(errp, "%s", message);
    }
    /* Only the part of the cluster inside the file is read (the rest reads as zeroes): the
     * cluster size comes from the header and may reach 2 GiB. */
    uint64_t available = format_file_length(node->file) - offset;
    size_t length = (size_t)(s->cluster_size < available ? s->cluster_size : available);
    size_t buffer_length = length < PARALLELS_EXT_HEADER_SIZE ? PARALLELS_EXT_HEADER_SIZE : length;
    uint8_t *buf = memory_alloc_zero(buffer_length);
    int ret = format_file_read(node->file, offset, length, buf, errp);
    if (ret == 0 && parallels_extension_parse_partial(buf, buffer_length, (size_t)s->cluster_size,
                                                      node->size / PARALLELS_SECTOR_SIZE, &ext, message,
                                                      sizeof(message)) < 0)
        ret = error_set(errp, "%s", message);
    free(buf);
    return ret;
}

static void parallels_state_free(parallels_state *s)
{
    if (s == NULL)
        return;
    free(s->bat);
    format_refmap_free(&s->used);
    free(s);
}

/* Repairs an image a read-write open finds damaged (qemu runs its check with every fix). */
static int parallels_open_repair(block_node *node, error **errp)
{
    check_result result;
    memset(&result, 0, sizeof(result));
    if (parallels_check(node, &result, CHECK_FIX_LEAKS | CHECK_FIX_ERRORS, errp) < 0)
        return -1;
    if (result.check_errors)
        return error_set(errp, "Could not repair corrupted image");
    return 0;
}

static int parallels_open(block_node *node, option_list *options, int flags, error **errp)
{
    parallels_state *s = memory_alloc_zero(sizeof(*s));
    uint8_t raw[PARALLELS_HEADER_SIZE];
    node->state = s;
    memset(raw, 0, sizeof(raw));
    if (format_file_read(node->file, 0, sizeof(raw), raw, errp) < 0)
        goto fail;
    parallels_header_read_data(raw, sizeof(raw), &s->header);
    if (parallels_header_fault_report(parallels_header_validate(&s->header), errp) < 0)
        goto fail;
    s->new_format = parallels_header_is_new(&s->header);
    s->cluster_size = (uint64_t)s->header.tracks * PARALLELS_SECTOR_SIZE;
    node->size = parallels_header_virtual_size(&s->header);
    if (parallels_options_apply(s, options, errp) < 0)
        goto fail;
    /* qemu refuses an extension offset whose byte offset would not fit a signed 64-bit value,
     * read-only or not, before it reads the BAT. */
    if (s->header.ext_off >= PARALLELS_EXT_OFF_LIMIT) {
        error_set(errp, "Invalid image: Too big offset");
        goto fail;
    }
    if (parallels_bat_load(node, errp) < 0)
        goto fail;
    parallels_data_start_choose(node);
    s->header_unclean = s->header.inuse == PARALLELS_INUSE_OPEN;
    s->writable = (flags & BLOCK_OPEN_READ_WRITE) != 0;
    node->read_only = !s->writable;
    node->request_alignment = PARALLELS_SECTOR_SIZE; /* qemu's driver works in whole sectors */
    if (s->header.ext_off != 0) {
        if (s->writable)
            report_warning("Format Extension ignored in RW mode");
        else if (parallels_extension_load(node, errp) < 0)
            goto fail;
    }
    bool consistent = parallels_used_map_fill(node);
    uint64_t file_sectors = (format_file_length(node->file) + PARALLELS_SECTOR_SIZE - 1) / PARALLELS_SECTOR_SIZE;
    bool need_check = s->header_unclean || s->data_off_bad || !consistent || s->data_end > file_sectors;
    if (s->writable && need_check && !(flags & BLOCK_OPEN_CHECK) && parallels_open_repair(node, errp) < 0)
        goto fail;
    if (s->writable && parallels_header_store(node, PARALLELS_INUSE_OPEN, errp) < 0)
        goto fail;
    return 0;
fail:
    parallels_state_free(s);
    node->state = NULL;
    return -1;
}

/* Marks the image closed and cuts the file after the last cluster in use (neither when the node
 * is abandoned: block_node_abandon). */
static void parallels_close(block_node *node)
{
    parallels_state *s = node->state;
    if (s == NULL)
        return;
    if (s->writable && !node->abandoned) {
        uint64_t end = s->data_end * PARALLELS_SECTOR_SIZE;
        if (end != format_file_length(node->file))
            block_node_truncate(node->file, end, false, BLOCK_PREALLOCATION_OFF, true, NULL);
        parallels_header_store(node, 0, NULL);
    }
    parallels_state_free(s);
    node->state = NULL;
}

static int parallels_read(block_node *node, uint64_t offset, size_t length, uint8_t *buf, error **errp)
{
    parallels_state *s = node->state;
    while (length > 0) {
        uint64_t index = offset / s->cluster_size, within = offset % s->cluster_size;
        size_t n = s->cluster_size - within < length ? (size_t)(s->cluster_size - within) : length;
        uint64_t host = parallels_bat_offset(s, index);
        if (host == 0) {
            if (block_node_read_backing(node, offset, n, buf, errp) < 0)
                return -1;
        } else if (format_file_read(node->file, host + within, n, buf, errp) < 0)
            return -1;
        offset += n;
        buf += n;
        length -= n;
    }
    return 0;
}

/* The host offset of the cluster holding guest offset, allocating (zero filled) when it has none. */
static int parallels_cluster_prepare(block_node *node, uint64_t offset, uint64_t *host, error **errp)
{
    parallels_state *s = node->state;
    uint64_t index = offset / s->cluster_size;
    *host = parallels_bat_offset(s, index);
    if (*host != 0)
        return 0;
    /* The virtual size may pass what the BAT covers; qemu 10.2 aborts on such a write. */
    if (index >= s->header.bat_entries)
        return error_set_errnum(errp, EIO, "Input/output error");
    if (parallels_cluster_allocate(node, host, errp) < 0)
        return -1;
    return parallels_bat_store(node, index, parallels_bat_value(s, *host), errp);
}

static int parallels_write(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, int flags,
                           error **errp)
{
    parallels_state *s = node->state;
    (void)flags;
    while (length > 0) {
        uint64_t within = offset % s->cluster_size, host;
        size_t n = s->cluster_size - within < length ? (size_t)(s->cluster_size - within) : length;
        if (parallels_cluster_prepare(node, offset, &host, errp) < 0 ||
            format_file_write(node->file, host + within, n, buf, errp) < 0)
            return -1;
        offset += n;
        buf += n;
        length -= n;
    }
    return 0;
}

/* Frees the cluster of BAT entry index (its host range is punched and reads as zeroes). */
static int parallels_cluster_free(block_node *node, uint64_t index, error **errp)
{
    parallels_state *s = node->state;
    uint64_t host = parallels_bat_offset(s, index), first, last;
    if (host == 0)
        return 0;
    if (parallels_bat_store(node, index, 0, errp) < 0)
        return -1;
    /* release the slot that records this very cluster (in unaligned images it may sit one slot off) */
    if (parallels_used_range(s, host, &first, &last))
        for (uint64_t k = first > 2 ? first - 2 : 0; k <= last + 2; k++)
            if (format_refmap_get(&s->used, k) == host + 1) {
                format_refmap_set(&s->used, k, 0);
                break;
            }
    if (host < format_file_length(node->file))
        block_node_discard(node->file, host, s->cluster_size, NULL);
    return 0;
}

/* Zeroes part of one cluster by writing zero bytes (allocating it as a data write would). */
static int parallels_cluster_zero_part(block_node *node, uint64_t offset, uint64_t length, error **errp)
{
    uint64_t host;
    parallels_state *s = node->state;
    if (parallels_cluster_prepare(node, offset, &host, errp) < 0)
        return -1;
    return format_file_write_zeroes(node->file, host + offset % s->cluster_size, length, errp);
}

static int parallels_write_zeroes(block_node *node, uint64_t offset, uint64_t length, int flags, error **errp)
{
    parallels_state *s = node->state;
    (void)flags;
    while (length > 0) {
        uint64_t within = offset % s->cluster_size;
        uint64_t n = s->cluster_size - within < length ? s->cluster_size - within : length;
        /* qemu frees an allocated cluster the request covers whole; anything else is written as zeroes
         * (an unallocated cluster gets allocated, as measured with qemu-io write -z) */
        bool whole = n == s->cluster_size && parallels_bat_offset(s, offset / s->cluster_size) != 0;
        int ret = whole ? parallels_cluster_free(node, offset / s->cluster_size, errp)
                        : parallels_cluster_zero_part(node, offset, n, errp);
        if (ret < 0)
            return -1;
        offset += n;
        length -= n;
    }
    return 0;
}

static int parallels_discard(block_node *node, uint64_t offset, uint64_t length, error **errp)
{
    parallels_state *s = node->state;
    uint64_t first = (offset + s->cluster_size - 1) / s->cluster_size;
    uint64_t end = (offset + length) / s->cluster_size;
    for (uint64_t index = first; index < end; index++)
        if (parallels_cluster_free(node, index, errp) < 0)
            return -1;
    return 0;
}

static int parallels_block_status(block_node *node, uint64_t offset, uint64_t length, block_status_result *out,
                                  error **errp)
{
    parallels_state *s = node->state;
    (void)errp;
    uint64_t index = offset / s->cluster_size;
    uint64_t host = parallels_bat_offset(s, index);
    uint64_t run = s->cluster_size - offset % s->cluster_size, first_index = index;
    while (run < length) {
        if (host == 0 && index + 1 >= s->bat_loaded) {
            run = length; /* every entry past the loaded part reads as unallocated */
            break;
        }
        uint64_t next = parallels_bat_offset(s, index + 1);
        bool same = host == 0 ? next == 0 : next == host + (index + 1 - first_index) * s->cluster_size;
        if (!same)
            break;
        index++;
        run += s->cluster_size;
    }
    out->length = run < length ? run : length;
    out->flags = 0;
    if (host != 0) {
        out->flags = BLOCK_STATUS_DATA | BLOCK_STATUS_OFFSET_VALID;
        out->map_offset = host + offset % s->cluster_size;
        out->map_node = node->file;
    }
    return 0;
}

static int parallels_flush(block_node *node, error **errp)
{
    return block_node_flush(node->file, errp);
}

/* qemu's parallels driver has no image info of its own. */
static int parallels_info_fill(block_node *node, image_info *info, error **errp)
{
    (void)node;
    (void)errp;
    info->has_no_driver_info = true;
    return 0;
}

/* qemu counts Parallels among the formats with persistent dirty bitmaps (measure prints a bitmaps size,
 * convert --bitmaps accepts it as a source), though none can be stored or listed. */
static bool parallels_bitmaps_supported(block_node *node)
{
    (void)node;
    return true;
}

/* The format extension's bitmap is not a persistent named bitmap: the list is empty. */
static int parallels_bitmap_list(block_node *node, bitmap_info **list, size_t *count, error **errp)
{
    (void)node;
    (void)errp;
    *list = NULL;
    *count = 0;
    return 0;
}

const block_driver block_driver_parallels = {
    .format_name = "parallels",
    .supports_backing = true,
    .probe = parallels_probe,
    .open = parallels_open,
    .close = parallels_close,
    .read = parallels_read,
    .write = parallels_write,
    .write_zeroes = parallels_write_zeroes,
    .discard = parallels_discard,
    .block_status = parallels_block_status,
    .flush = parallels_flush,
    .create_options = parallels_create_options,
    .create = parallels_create,
    .info_fill = parallels_info_fill,
    .check = parallels_check,
    .bitmaps_supported = parallels_bitmaps_supported,
    .bitmap_list = parallels_bitmap_list,
};
