/* file.c — the "file" protocol: a host file accessed with pread/pwrite, SEEK_DATA/SEEK_HOLE for
 * allocation, fallocate for zeroes and preallocation, OFD locks (spec/architecture.md §Block layer). */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block.h"
#include "file.h"
#include "lock.h"
#include "open.h"
#include "../util/memory.h"

/* Appends qemu's hint to a lock failure. */
static void file_lock_hint_append(error **errp, const char *filename)
{
    if (errp && *errp) {
        char *hinted = memory_printf("%s\nIs another process using the image [%s]?", (*errp)->message, filename);
        free((*errp)->message);
        (*errp)->message = hinted;
    }
}

enum { FILE_DIRECT_ALIGNMENT = 4096 };

/* True when an O_DIRECT request must go through an aligned bounce buffer. */
static bool file_needs_bounce(const block_node *node, uint64_t offset, size_t length, const void *buf)
{
    uint64_t a = node->request_alignment;
    return a > 1 && ((offset | length | (uintptr_t)buf) & (a - 1)) != 0;
}

static int file_read_plain(block_node *node, uint64_t offset, size_t length, uint8_t *buf, error **errp);
static int file_write_plain(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, error **errp);

/* O_DIRECT read of an unaligned request through an aligned buffer. */
static int file_read_bounced(block_node *node, uint64_t offset, size_t length, uint8_t *buf, error **errp)
{
    uint64_t a = node->request_alignment;
    uint64_t start = offset & ~(a - 1);
    uint64_t end = (offset + length + a - 1) & ~(a - 1);
    uint8_t *bounce = memory_alloc_aligned((size_t)(end - start));
    int ret = file_read_plain(node, start, (size_t)(end - start), bounce, errp);
    if (ret == 0)
        memcpy(buf, bounce + (offset - start), length);
    free(bounce);
    return ret;
}

/* O_DIRECT write of an unaligned request: read-modify-write of the aligned range, then the file
 * is cut back to the size the unaligned write would have left. */
static int file_write_bounced(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, error **errp)
{
    uint64_t a = node->request_alignment;
    uint64_t start = offset & ~(a - 1);
    uint64_t end = (offset + length + a - 1) & ~(a - 1);
    struct stat st;
    if (fstat(node->fd, &st) < 0)
        return error_set_errno(errp, errno, "Could not stat '%s'", node->filename);
    uint8_t *bounce = memory_alloc_aligned((size_t)(end - start));
    int ret = file_read_plain(node, start, (size_t)(end - start), bounce, errp);
    if (ret == 0) {
        memcpy(bounce + (offset - start), buf, length);
        ret = file_write_plain(node, start, (size_t)(end - start), bounce, errp);
    }
    free(bounce);
    uint64_t wanted = (uint64_t)st.st_size > offset + length ? (uint64_t)st.st_size : offset + length;
    if (ret == 0 && end > wanted && ftruncate(node->fd, (off_t)wanted) < 0)
        return error_set_errno(errp, errno, "Could not resize '%s'", node->filename);
    node->size = wanted > node->size ? wanted : node->size;
    return ret;
}

/* Reads exactly length bytes at offset; bytes past the end of the file read as zeroes. */
static int file_read(block_node *node, uint64_t offset, size_t length, uint8_t *buf, error **errp)
{
    if (file_needs_bounce(node, offset, length, buf))
        return file_read_bounced(node, offset, length, buf, errp);
    return file_read_plain(node, offset, length, buf, errp);
}

static int file_read_plain(block_node *node, uint64_t offset, size_t length, uint8_t *buf, error **errp)
{
    size_t done = 0;
    while (done < length) {
        ssize_t n = pread(node->fd, buf + done, length - done, (off_t)(offset + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return error_set(errp, "%s", strerror(errno)); /* qemu reports I/O errors by errno alone */
        }
        if (n == 0) {
            memset(buf + done, 0, length - done);
            break;
        }
        done += (size_t)n;
    }
    return 0;
}

/* Writes exactly length bytes at offset. */
static int file_write(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, int flags,
                      error **errp)
{
    int ret = file_needs_bounce(node, offset, length, buf) ? file_write_bounced(node, offset, length, buf, errp)
                                                            : file_write_plain(node, offset, length, buf, errp);
    if (ret < 0)
        return -1;
    if (((flags & BLOCK_WRITE_FUA) || (node->flags & BLOCK_OPEN_WRITE_THROUGH)) && !(node->flags & BLOCK_OPEN_NO_FLUSH))
        fdatasync(node->fd);
    return 0;
}

static int file_write_plain(block_node *node, uint64_t offset, size_t length, const uint8_t *buf, error **errp)
{
    size_t done = 0;
    while (done < length) {
        ssize_t n = pwrite(node->fd, buf + done, length - done, (off_t)(offset + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return error_set(errp, "%s", strerror(errno)); /* qemu reports I/O errors by errno alone */
        }
        done += (size_t)n;
    }
    if (offset + length > node->size)
        node->size = offset + length;
    return 0;
}

/* Zeroes a range: punches a hole when unmapping is allowed, else asks for a zeroed range;
 * -1 (silently) when the file system cannot, so the caller falls back to writing zeroes. */
static int file_write_zeroes(block_node *node, uint64_t offset, uint64_t length, int flags, error **errp)
{
    off_t end = lseek(node->fd, 0, SEEK_END);
    if (end >= 0 && offset >= (uint64_t)end) {
        if (ftruncate(node->fd, (off_t)(offset + length)) == 0) {
            node->size = offset + length;
            return 0;
        }
        return -1;
    }
    if (end >= 0 && offset + length > (uint64_t)end) {
        /* Zero the part inside the file, then extend. */
        if (file_write_zeroes(node, offset, (uint64_t)end - offset, flags, errp) < 0)
            return -1;
        if (ftruncate(node->fd, (off_t)(offset + length)) == 0) {
            node->size = offset + length;
            return 0;
        }
        return -1;
    }
    if ((flags & BLOCK_WRITE_MAY_UNMAP) &&
        fallocate(node->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)length) == 0)
        return 0;
    if (fallocate(node->fd, FALLOC_FL_ZERO_RANGE, (off_t)offset, (off_t)length) == 0)
        return 0;
    if (!(flags & BLOCK_WRITE_MAY_UNMAP) &&
        fallocate(node->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)length) == 0 &&
        fallocate(node->fd, 0, (off_t)offset, (off_t)length) == 0)
        return 0;
    return -1;
}

/* Deallocates a range; failures are ignored as qemu ignores them. */
static int file_discard(block_node *node, uint64_t offset, uint64_t length, error **errp)
{
    fallocate(node->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)length);
    return 0;
}

/* Data or hole at offset by SEEK_DATA/SEEK_HOLE, as qemu's file protocol reports it. */
static int file_block_status(block_node *node, uint64_t offset, uint64_t length, block_status_result *out,
                             error **errp)
{
    out->map_offset = offset;
    out->map_node = node;
    off_t data = lseek(node->fd, (off_t)offset, SEEK_DATA);
    if (data < 0) {
        if (errno == ENXIO) {
            /* Trailing hole. */
            out->length = length;
            out->flags = BLOCK_STATUS_ZERO | BLOCK_STATUS_OFFSET_VALID;
        } else {
            out->length = length;
            out->flags = BLOCK_STATUS_DATA | BLOCK_STATUS_OFFSET_VALID;
        }
        return 0;
    }
    if ((uint64_t)data > offset) {
        uint64_t n = (uint64_t)data - offset;
        out->length = n < length ? n : length;
        out->flags = BLOCK_STATUS_ZERO | BLOCK_STATUS_OFFSET_VALID;
        return 0;
    }
    off_t hole = lseek(node->fd, (off_t)offset, SEEK_HOLE);
    if (hole < 0 || (uint64_t)hole <= offset) {
        out->length = length;
    } else {
        uint64_t n = (uint64_t)hole - offset;
        out->length = n < length ? n : length;
    }
    out->flags = BLOCK_STATUS_DATA | BLOCK_STATUS_OFFSET_VALID;
    return 0;
}

static int file_flush(block_node *node, error **errp)
{
    if (node->read_only || (node->flags & BLOCK_OPEN_NO_FLUSH))
        return 0;
    if (fdatasync(node->fd) < 0 && errno != EINVAL)
        return error_set_errno(errp, errno, "Could not flush '%s'", node->filename);
    return 0;
}

/* Writes zeroes to make the first block of a new file allocated (qemu does this so that the
 * alignment of the file system can be probed later). Failures are ignored. */
static void file_allocate_first_block(int fd, uint64_t size)
{
    size_t n = size < 4096 ? 512 : 4096;
    if (n > size)
        n = (size_t)size;
    uint8_t *zeroes = memory_alloc_zero(n);
    ssize_t ignored = pwrite(fd, zeroes, n, 0);
    (void)ignored;
    free(zeroes);
}

int file_descriptor_truncate(int fd, uint64_t size, block_preallocation prealloc, error **errp)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return error_set_errno(errp, errno, "Could not stat file");
    uint64_t current = (uint64_t)st.st_size;
    switch (prealloc) {
    case BLOCK_PREALLOCATION_OFF:
        if (ftruncate(fd, (off_t)size) != 0)
            return error_set_errno(errp, errno, "Could not resize file");
        if (current == 0 && size > 0)
            file_allocate_first_block(fd, size);
        return 0;
    case BLOCK_PREALLOCATION_FALLOC:
        if (size > current) {
            int r = posix_fallocate(fd, (off_t)current, (off_t)(size - current));
            if (r != 0) {
                if (ftruncate(fd, (off_t)current) != 0) {
                    /* nothing more to do */
                }
                return error_set_errno(errp, r, "Could not preallocate new data");
            }
            if (current == 0)
                file_allocate_first_block(fd, size);
        } else if (size < current && ftruncate(fd, (off_t)size) != 0) {
            return error_set_errno(errp, errno, "Could not resize file");
        }
        return 0;
    case BLOCK_PREALLOCATION_FULL: {
        if (ftruncate(fd, (off_t)size) != 0)
            return error_set_errno(errp, errno, "Could not resize file");
        if (size <= current)
            return 0;
        enum { CHUNK = 65536 };
        uint8_t *zeroes = memory_alloc_zero(CHUNK);
        uint64_t offset = current;
        int ret = 0;
        while (offset < size) {
            size_t n = size - offset < CHUNK ? (size_t)(size - offset) : CHUNK;
            ssize_t w = pwrite(fd, zeroes, n, (off_t)offset);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                ret = error_set_errno(errp, errno, "Could not write zeros for preallocation");
                break;
            }
            offset += (uint64_t)w;
        }
        free(zeroes);
        if (ret == 0 && fsync(fd) != 0)
            ret = error_set_errno(errp, errno, "Could not flush file to disk");
        if (ret < 0) {
            if (ftruncate(fd, (off_t)current) != 0) {
                /* nothing more to do */
            }
        }
        return ret;
    }
    default:
        return error_set(errp, "Unsupported preallocation mode: %s", block_preallocation_name(prealloc));
    }
}

static int file_truncate(block_node *node, uint64_t size, bool exact, block_preallocation prealloc,
                         bool shrink_allowed, error **errp)
{
    struct stat st;
    if (fstat(node->fd, &st) < 0)
        return error_set_errno(errp, errno, "Could not stat file");
    if (S_ISREG(st.st_mode)) {
        /* Regular files are always resized to exactly the requested size. */
        if (file_descriptor_truncate(node->fd, size, prealloc, errp) < 0)
            return -1;
        node->size = size;
        return 0;
    }
    if ((uint64_t)st.st_size < size || exact)
        return error_set(errp, "Cannot grow device files");
    return 0;
}

static int64_t file_allocated_size(block_node *node)
{
    struct stat st;
    if (fstat(node->fd, &st) < 0)
        return -1;
    return (int64_t)st.st_blocks * 512;
}

static int file_info_fill(block_node *node, image_info *info, error **errp)
{
    info->format_specific_data = json_object_new();
    return 0;
}

static const option_desc file_create_options[] = {
    {"size", OPTION_TYPE_SIZE, "Virtual disk size", NULL},
    {"preallocation", OPTION_TYPE_STRING, "Preallocation mode (allowed values: off, falloc, full)", NULL},
    {"nocow", OPTION_TYPE_BOOL, "Turn off copy-on-write (valid only on btrfs)", NULL},
    {"extent_size_hint", OPTION_TYPE_SIZE, "Extent size hint for the image file, 0 to disable", NULL},
    {NULL, 0, NULL, NULL},
};

/* Creates the host file for the file protocol alone (qemu-img create -f file). */
static int file_create(const char *filename, const option_list *options, error **errp)
{
    uint64_t size = 0;
    if (option_list_get_size(options, "size", 0, &size, errp) < 0)
        return -1;
    block_preallocation prealloc = BLOCK_PREALLOCATION_OFF;
    const char *text = option_list_get(options, "preallocation");
    if (text) {
        int mode = block_preallocation_parse(text);
        if (mode < 0)
            return error_set(errp, "invalid parameter value: %s", text);
        if (mode == BLOCK_PREALLOCATION_METADATA)
            return error_set(errp, "Unsupported preallocation mode: %s", text);
        prealloc = (block_preallocation)mode;
    }
    return block_file_create(filename, size, prealloc, errp);
}

/* Opens the host file with the permissions and lock bytes flags imply. */
static int file_open(block_node *node, option_list *options, int flags, error **errp)
{
    bool writable = (flags & BLOCK_OPEN_READ_WRITE) != 0;
    int open_flags = (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC;
    if (flags & BLOCK_OPEN_CACHE_DIRECT)
        open_flags |= O_DIRECT;
    int fd = open(node->filename, open_flags);
    if (fd < 0 && writable && (errno == EACCES || errno == EROFS))
        return error_set_errno(errp, errno, "Could not open '%s'", node->filename);
    if (fd < 0)
        return error_set_errno(errp, errno, "Could not open '%s'", node->filename);
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        return error_set(errp, "'%s' is not a file", node->filename);
    }
    node->fd = fd;
    node->read_only = !writable;
    node->request_alignment = (flags & BLOCK_OPEN_CACHE_DIRECT) ? FILE_DIRECT_ALIGNMENT : 1;
    int perm = LOCK_PERM_CONSISTENT_READ;
    int unshared = LOCK_PERM_WRITE | LOCK_PERM_RESIZE;
    if (writable)
        perm |= LOCK_PERM_WRITE | LOCK_PERM_RESIZE;
    if (flags & BLOCK_OPEN_FORCE_SHARE)
        unshared = 0;
    if (lock_bytes_acquire(fd, perm, unshared, errp) < 0) {
        file_lock_hint_append(errp, node->filename);
        close(fd);
        node->fd = -1;
        return -1;
    }
    off_t end = lseek(fd, 0, SEEK_END);
    node->size = end < 0 ? 0 : (uint64_t)end;
    return 0;
}

static void file_close(block_node *node)
{
    if (node->fd >= 0) {
        close(node->fd);
        node->fd = -1;
    }
}

const block_driver block_driver_file = {
    .format_name = "file",
    .protocol_name = "file",
    .is_protocol = true,
    .open = file_open,
    .close = file_close,
    .read = file_read,
    .write = file_write,
    .write_zeroes = file_write_zeroes,
    .discard = file_discard,
    .block_status = file_block_status,
    .flush = file_flush,
    .truncate = file_truncate,
    .allocated_size = file_allocated_size,
    .info_fill = file_info_fill,
    .create_options = file_create_options,
    .create = file_create,
};

int block_file_create(const char *filename, uint64_t size, block_preallocation prealloc, error **errp)
{
    size = (size + 511) & ~(uint64_t)511;
    int fd = open(filename, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return error_set_errno(errp, errno, "Could not create '%s'", filename);
    int ret = -1;
    if (lock_bytes_acquire(fd, LOCK_PERM_WRITE | LOCK_PERM_RESIZE, LOCK_PERM_RESIZE, errp) < 0) {
        file_lock_hint_append(errp, filename);
        goto cleanup;
    }
    if (file_descriptor_truncate(fd, 0, BLOCK_PREALLOCATION_OFF, errp) < 0)
        goto cleanup;
    if (file_descriptor_truncate(fd, size, prealloc, errp) < 0)
        goto cleanup;
    ret = 0;
cleanup:
    close(fd);
    return ret;
}
