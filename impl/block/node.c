/* node.c — block nodes and the bounds-checked I/O entry points over the driver table, including
 * qemu's block-status rules through backing chains (spec/architecture.md §Block layer). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "block.h"
#include "../util/memory.h"

static const char *const block_preallocation_names[] = {"off", "metadata", "falloc", "full"};

int block_preallocation_parse(const char *text)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(text, block_preallocation_names[i]) == 0)
            return i;
    return -1;
}

const char *block_preallocation_name(block_preallocation mode)
{
    return block_preallocation_names[mode];
}

void snapshot_info_list_free(snapshot_info *list, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(list[i].id);
        free(list[i].name);
    }
    free(list);
}

void bitmap_info_list_free(bitmap_info *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(list[i].name);
    free(list);
}

void image_info_free(image_info *info)
{
    if (info == NULL)
        return;
    free(info->filename);
    free(info->format);
    free(info->backing_filename);
    free(info->full_backing_filename);
    free(info->backing_filename_format);
    snapshot_info_list_free(info->snapshots, info->snapshot_count);
    json_free(info->format_specific_data);
    memset(info, 0, sizeof(*info));
}

block_node *block_node_new(const block_driver *driver, const char *filename)
{
    static unsigned node_counter;
    block_node *node = memory_alloc_zero(sizeof(*node));
    node->driver = driver;
    node->filename = memory_strdup(filename ? filename : "");
    node->node_name = memory_printf("#block%03u", node_counter++);
    node->fd = -1;
    node->request_alignment = 1;
    return node;
}

json_value *block_node_protocol_object(const block_node *protocol)
{
    json_value *object = json_object_new();
    json_object_set_string(object, "driver", protocol->driver->protocol_name);
    json_object_set_string(object, "filename", protocol->filename);
    return object;
}

void block_node_json_name_take(block_node *node, json_value *options)
{
    char *text = json_print_compact(options);
    free(node->filename);
    node->filename = memory_printf("json:%s", text);
    free(text);
    json_free(options);
}

void block_node_json_name_set(block_node *node, json_value *options)
{
    json_object_set(options, "file", block_node_protocol_object(node->file));
    block_node_json_name_take(node, options);
}

void block_node_json_name_set_option(block_node *node, const char *key, const char *value)
{
    json_value *root = json_object_new();
    json_object_set_string(root, key, value);
    json_object_set_string(root, "driver", node->driver->format_name);
    block_node_json_name_set(node, root);
}

void block_node_add_child(block_node *node, const char *name, block_node *child)
{
    if (node->child_count < BLOCK_NODE_CHILDREN_MAX) {
        node->children[node->child_count].name = name;
        node->children[node->child_count].node = child;
        node->child_count++;
    }
}

void block_node_streaming_set(block_node *node)
{
    if (node == NULL)
        return;
    node->streaming = true;
    block_node_streaming_set(node->file);
    for (size_t i = 0; i < node->child_count; i++)
        block_node_streaming_set(node->children[i].node);
}

bool block_node_file_identities(const block_node *node, bool backing, block_file_identity *ids, size_t max,
                                size_t *count)
{
    if (node == NULL)
        return true;
    if (node->fd >= 0) {
        struct stat st;
        if (*count >= max || fstat(node->fd, &st) != 0)
            return false;
        ids[(*count)++] = (block_file_identity){(uint64_t)st.st_dev, (uint64_t)st.st_ino};
    }
    if (!block_node_file_identities(node->file, backing, ids, max, count))
        return false;
    for (size_t i = 0; i < node->child_count; i++)
        if (!block_node_file_identities(node->children[i].node, backing, ids, max, count))
            return false;
    return !backing || block_node_file_identities(node->backing, backing, ids, max, count);
}

enum { BLOCK_FILES_COMPARED_MAX = 256 };

bool block_node_files_shared(const block_node *target, const block_node *source)
{
    block_file_identity written[BLOCK_FILES_COMPARED_MAX], read[BLOCK_FILES_COMPARED_MAX];
    size_t written_count = 0, read_count = 0;
    if (!block_node_file_identities(target, false, written, BLOCK_FILES_COMPARED_MAX, &written_count) ||
        !block_node_file_identities(source, true, read, BLOCK_FILES_COMPARED_MAX, &read_count))
        return true;
    for (size_t i = 0; i < written_count; i++)
        for (size_t j = 0; j < read_count; j++)
            if (written[i].device == read[j].device && written[i].inode == read[j].inode)
                return true;
    return false;
}

void block_node_close(block_node *node)
{
    if (node == NULL)
        return;
    if (node->driver && node->driver->close)
        node->driver->close(node);
    block_node_close(node->backing);
    for (size_t i = 0; i < node->child_count; i++)
        if (node->children[i].node != node->file)
            block_node_close(node->children[i].node);
    block_node_close(node->file);
    if (node->fd >= 0)
        close(node->fd);
    free(node->filename);
    free(node->node_name);
    free(node->backing_file);
    free(node->backing_format);
    free(node->full_backing_file);
    free(node);
}

void block_node_abandon(block_node *node)
{
    if (node == NULL)
        return;
    node->abandoned = true;
    block_node_close(node);
}

int64_t block_node_length(block_node *node)
{
    if (node->driver->is_protocol) {
        if (node->fd >= 0) {
            off_t end = lseek(node->fd, 0, SEEK_END);
            if (end >= 0)
                node->size = (uint64_t)end;
        }
    }
    return (int64_t)node->size;
}

int64_t block_node_allocated_size(block_node *node)
{
    if (node->driver->allocated_size)
        return node->driver->allocated_size(node);
    if (node->file)
        return block_node_allocated_size(node->file);
    return -1;
}

int block_node_read(block_node *node, uint64_t offset, size_t length, uint8_t *buf, error **errp)
{
    uint64_t size = node->driver->is_protocol ? (uint64_t)block_node_length(node) : node->size;
    if (length == 0)
        return 0;
    if (offset >= size) {
        memset(buf, 0, length);
        return 0;
    }
    size_t inside = length;
    if (offset + length > size || offset + length < offset)
        inside = (size_t)(size - offset);
    if (inside < length)
        memset(buf + inside, 0, length - inside);
    if (node->driver->read == NULL)
        return error_set(errp, "Driver '%s' does not support reading", node->driver->format_name);
    return node->driver->read(node, offset, inside, buf, errp);
}

/* Refuses writes to read-only nodes and past the virtual end of format nodes. */
static int block_node_write_check(block_node *node, uint64_t offset, uint64_t length, error **errp)
{
    if (node->read_only)
        return error_set_errno(errp, EACCES, "Could not write to '%s'", node->filename);
    if (!node->driver->is_protocol && (offset > node->size || length > node->size - offset))
        return error_set_errno(errp, EIO, "Write beyond the end of the image");
    return 0;
}

int block_node_write(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, int flags, error **errp)
{
    if (block_node_write_check(node, offset, length, errp) < 0)
        return -1;
    if (length == 0)
        return 0;
    if (node->driver->write == NULL)
        return error_set(errp, "Driver '%s' does not support writing", node->driver->format_name);
    if (node->driver->write(node, offset, length, buf, flags, errp) < 0)
        return -1;
    if (node->driver->is_protocol && offset + length > node->size)
        node->size = offset + length;
    return 0;
}

int block_node_write_compressed(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, error **errp)
{
    if (block_node_write_check(node, offset, length, errp) < 0)
        return -1;
    if (node->driver->write_compressed == NULL)
        return error_set(errp, "Compression is not supported for this drive %s", node->filename);
    return node->driver->write_compressed(node, offset, length, buf, errp);
}

int block_node_write_zeroes(block_node *node, uint64_t offset, uint64_t length, int flags, error **errp)
{
    if (block_node_write_check(node, offset, length, errp) < 0)
        return -1;
    /* As in qemu, a format node unmaps only when opened with discard=unmap; protocols always may. */
    if (!node->driver->is_protocol && !(node->flags & BLOCK_OPEN_UNMAP))
        flags &= ~BLOCK_WRITE_MAY_UNMAP;
    if (length == 0)
        return 0;
    if (node->driver->write_zeroes && node->driver->write_zeroes(node, offset, length, flags, NULL) == 0)
        return 0;
    if (flags & BLOCK_WRITE_NO_FALLBACK)
        return error_set_errno(errp, ENOTSUP, "Zero writes are not supported");
    /* Fallback: write zero buffers. */
    size_t chunk = length < (1u << 20) ? (size_t)length : (1u << 20);
    uint8_t *zeroes = memory_alloc_zero(chunk);
    int ret = 0;
    while (length > 0) {
        size_t n = length < chunk ? (size_t)length : chunk;
        if (block_node_write(node, offset, n, zeroes, flags & BLOCK_WRITE_FUA, errp) < 0) {
            ret = -1;
            break;
        }
        offset += n;
        length -= n;
    }
    free(zeroes);
    return ret;
}

int block_node_discard(block_node *node, uint64_t offset, uint64_t length, error **errp)
{
    if (block_node_write_check(node, offset, length, errp) < 0)
        return -1;
    if (node->driver->discard == NULL)
        return 0;
    /* Discards on a format node do nothing unless it was opened with discard=unmap. */
    if (!node->driver->is_protocol && !(node->flags & BLOCK_OPEN_UNMAP))
        return 0;
    return node->driver->discard(node, offset, length, errp);
}

int block_node_flush(block_node *node, error **errp)
{
    if (node == NULL)
        return 0;
    if (node->driver->flush && node->driver->flush(node, errp) < 0)
        return -1;
    if (node->file)
        return block_node_flush(node->file, errp);
    return 0;
}

void block_node_writeback_begin(block_node *node)
{
    if (node != NULL && !node->read_only && node->driver->writeback_begin)
        node->driver->writeback_begin(node);
}

int block_node_writeback_end(block_node *node, error **errp)
{
    if (node != NULL && !node->read_only && node->driver->writeback_end)
        return node->driver->writeback_end(node, errp);
    return 0;
}

int block_node_truncate(block_node *node, uint64_t size, bool exact, block_preallocation prealloc, bool shrink_allowed,
                        error **errp)
{
    if (node->read_only)
        return error_set(errp, "Image is read-only");
    if (node->driver->truncate == NULL)
        return error_set_errnum(errp, ENOTSUP, "Image format driver does not support resize");
    return node->driver->truncate(node, size, exact, prealloc, shrink_allowed, errp);
}

int block_node_read_backing(block_node *node, uint64_t offset, size_t length, uint8_t *buf, error **errp)
{
    if (node->backing == NULL) {
        memset(buf, 0, length);
        return 0;
    }
    return block_node_read(node->backing, offset, length, buf, errp);
}

int block_node_status(block_node *node, uint64_t offset, uint64_t length, block_status_result *out, error **errp)
{
    memset(out, 0, sizeof(*out));
    uint64_t total = (uint64_t)block_node_length(node);
    if (offset >= total) {
        out->flags = BLOCK_STATUS_EOF;
        out->length = 0;
        return 0;
    }
    if (length == 0)
        return 0;
    if (length > total - offset)
        length = total - offset;

    const block_driver *drv = node->driver;
    if (drv->block_status == NULL) {
        out->length = length;
        out->flags = BLOCK_STATUS_DATA | BLOCK_STATUS_ALLOCATED;
        if (drv->is_protocol) {
            out->flags |= BLOCK_STATUS_OFFSET_VALID;
            out->map_offset = offset;
            out->map_node = node;
        }
    } else {
        if (drv->block_status(node, offset, length, out, errp) < 0)
            return -1;
        if (out->length == 0 || out->length > length)
            out->length = length;
        if (out->flags & BLOCK_STATUS_RAW) {
            block_node *inner = out->map_node;
            uint64_t inner_offset = out->map_offset;
            if (inner == NULL)
                return error_set(errp, "Pass-through block status without a child");
            uint64_t inner_total = (uint64_t)block_node_length(inner);
            if (inner_offset >= inner_total) {
                /* Past the end of the child: reads as zeroes. */
                out->flags = BLOCK_STATUS_ZERO | BLOCK_STATUS_ALLOCATED | BLOCK_STATUS_OFFSET_VALID;
                out->map_offset = inner_offset;
                out->map_node = inner;
            } else {
                uint64_t keep = out->length;
                if (block_node_status(inner, inner_offset, keep, out, errp) < 0)
                    return -1;
            }
            if (offset + out->length == total)
                out->flags |= BLOCK_STATUS_EOF;
            return 0;
        }
        if (out->flags & (BLOCK_STATUS_DATA | BLOCK_STATUS_ZERO)) {
            out->flags |= BLOCK_STATUS_ALLOCATED;
        } else if (drv->supports_backing) {
            if (node->backing == NULL)
                out->flags |= BLOCK_STATUS_ZERO;
            else if (offset >= (uint64_t)block_node_length(node->backing))
                out->flags |= BLOCK_STATUS_ZERO;
        }
        if ((out->flags & BLOCK_STATUS_RECURSE) && out->map_node && out->map_node != node &&
            (out->flags & BLOCK_STATUS_DATA) && !(out->flags & BLOCK_STATUS_ZERO) &&
            (out->flags & BLOCK_STATUS_OFFSET_VALID)) {
            block_status_result inner;
            if (block_node_status(out->map_node, out->map_offset, out->length, &inner, NULL) == 0) {
                if ((inner.flags & BLOCK_STATUS_EOF) && (inner.length == 0 || (inner.flags & BLOCK_STATUS_ZERO))) {
                    out->flags |= BLOCK_STATUS_ZERO;
                } else {
                    out->length = inner.length;
                    out->flags |= inner.flags & BLOCK_STATUS_ZERO;
                }
            }
        }
    }
    if (offset + out->length == total)
        out->flags |= BLOCK_STATUS_EOF;
    return 0;
}

int block_node_status_above(block_node *node, block_node *base, uint64_t offset, uint64_t length,
                            block_status_result *out, int *depth, error **errp)
{
    int levels = 0;
    block_node *current = node;
    for (;;) {
        if (block_node_status(current, offset, length, out, errp) < 0)
            return -1;
        if (out->length == 0)
            break;
        length = out->length;
        if (out->flags & (BLOCK_STATUS_ZERO | BLOCK_STATUS_DATA))
            break;
        if (current->backing == NULL || current->backing == base)
            break;
        current = current->backing;
        levels++;
    }
    if (depth)
        *depth = levels;
    return 0;
}

int block_node_is_allocated_above(block_node *node, block_node *base, uint64_t offset, uint64_t length,
                                  uint64_t *pnum, bool *allocated, error **errp)
{
    uint64_t best = length;
    for (block_node *current = node; current && current != base; current = current->backing) {
        block_status_result st;
        uint64_t current_size = (uint64_t)block_node_length(current);
        if (offset >= current_size) {
            /* Past this layer's end: unallocated here, reads as zero; keep looking below only
             * if the layer below is longer (qemu treats this as allocated-as-zero when the
             * upper layer is shorter). */
            if (current != node) {
                *allocated = true;
                *pnum = best;
                return 0;
            }
            continue;
        }
        if (block_node_status(current, offset, best, &st, errp) < 0)
            return -1;
        if (st.flags & BLOCK_STATUS_ALLOCATED) {
            *allocated = true;
            *pnum = st.length < best ? st.length : best;
            return 0;
        }
        if (st.length < best)
            best = st.length;
    }
    *allocated = false;
    *pnum = best;
    return 0;
}

/* Follows pass-through and data mappings from a format node down to a protocol node; returns the
 * protocol node and sets *offset, or NULL when the range does not map 1:1 onto one host file. */
static block_node *block_node_resolve_host(block_node *node, uint64_t *offset, uint64_t *length, bool for_write)
{
    for (int depth = 0; depth < 8 && node; depth++) {
        if (node->driver->is_protocol)
            return node->fd >= 0 ? node : NULL;
        if (node->driver->block_status == NULL)
            return NULL;
        block_status_result st;
        if (node->driver->block_status(node, *offset, *length, &st, NULL) < 0)
            return NULL;
        if (!(st.flags & BLOCK_STATUS_OFFSET_VALID) || st.map_node == NULL || (st.flags & BLOCK_STATUS_COMPRESSED))
            return NULL;
        if (for_write && !(st.flags & BLOCK_STATUS_RAW))
            return NULL;
        if (!(st.flags & BLOCK_STATUS_RAW) && !(st.flags & BLOCK_STATUS_DATA))
            return NULL;
        if (st.length < *length)
            *length = st.length;
        *offset = st.map_offset;
        node = st.map_node;
    }
    return NULL;
}

int block_node_copy_range(block_node *src, uint64_t src_offset, block_node *dst, uint64_t dst_offset,
                          uint64_t length, error **errp)
{
    while (length > 0) {
        uint64_t n = length, host_src_offset = src_offset, host_dst_offset = dst_offset, dst_n = length;
        block_node *host_src = block_node_resolve_host(src, &host_src_offset, &n, false);
        block_node *host_dst = host_src ? block_node_resolve_host(dst, &host_dst_offset, &dst_n, true) : NULL;
        if (dst_n < n)
            n = dst_n;
        bool done = false;
        if (host_src && host_dst && n > 0) {
            loff_t in = (loff_t)host_src_offset, out = (loff_t)host_dst_offset;
            uint64_t left = n;
            while (left > 0) {
                ssize_t r = copy_file_range(host_src->fd, &in, host_dst->fd, &out, (size_t)left, 0);
                if (r <= 0)
                    break;
                left -= (uint64_t)r;
            }
            if (left == 0) {
                done = true;
                if (host_dst_offset + n > host_dst->size)
                    host_dst->size = host_dst_offset + n;
            } else {
                n -= left;
                done = n > 0;
            }
        }
        if (!done) {
            n = length < (1u << 20) ? length : (1u << 20);
            uint8_t *buf = memory_alloc_aligned((size_t)n);
            int r = block_node_read(src, src_offset, (size_t)n, buf, errp);
            if (r == 0)
                r = block_node_write(dst, dst_offset, (size_t)n, buf, 0, errp);
            free(buf);
            if (r < 0)
                return -1;
        }
        src_offset += n;
        dst_offset += n;
        length -= n;
    }
    return 0;
}

bool block_node_has_zero_init(block_node *node)
{
    if (node->driver->has_zero_init)
        return node->driver->has_zero_init(node);
    return !(node->encrypted && !node->driver->supports_backing);
}

bool block_node_needs_compressed_writes(block_node *node)
{
    image_info info;
    memset(&info, 0, sizeof(info));
    bool needs = false;
    if (node->driver->info_fill && node->driver->info_fill(node, &info, NULL) == 0)
        needs = info.needs_compressed_writes;
    image_info_free(&info);
    return needs;
}

bool block_node_supports_persistent_bitmaps(block_node *node)
{
    if (node->driver->bitmaps_supported != NULL)
        return node->driver->bitmaps_supported(node);
    return node->driver->bitmap_list != NULL;
}
