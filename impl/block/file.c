/* file.c — the "file" and "host_device" protocols: a host file or device accessed with pread/pwrite,
 * SEEK_DATA/SEEK_HOLE for allocation, fallocate for zeroes and preallocation, OFD locks, O_DIRECT
 * alignment probing, and the protocol prefixes of image names (spec/architecture.md §Block layer). */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block.h"
#include "file.h"
#include "lock.h"
#include "open.h"
#include "../util/memory.h"
#include "../util/report.h"

/* Appends qemu's hint to a lock failure. */
static void file_lock_hint_append(error **errp, const char *filename)
{
    if (errp && *errp) {
        char *hinted = memory_printf("%s\nIs another process using the image [%s]?", (*errp)->message, filename);
        free((*errp)->message);
        (*errp)->message = hinted;
    }
}

/* True when an O_DIRECT request must go through an aligned bounce buffer. */
static bool file_needs_bounce(const block_node *node, uint64_t offset, size_t length, const void *buf)
{
    uint64_t a = node->request_alignment;
    uint64_t m = file_node_memory_alignment(node);
    return (a > 1 && ((offset | length) & (a - 1)) != 0) || (m > 1 && ((uintptr_t)buf & (m - 1)) != 0);
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

/* O_DIRECT write of an unaligned request: read-modify-write of the aligned range; as with qemu,
 * the file keeps the aligned length the bounce write gave it. */
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
    uint64_t wanted = (uint64_t)st.st_size > end ? (uint64_t)st.st_size : end;
    if (ret == 0)
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

enum { FILE_STREAM_WINDOW = 8 << 20 }; /* bytes between two writeback requests of a streamed file */

/* For a file written once start to end: every FILE_STREAM_WINDOW bytes, asks the host to start
 * writing back what is dirty (asynchronous; a file system that cannot is simply not asked again). */
static void file_stream_writeback(block_node *node, uint64_t offset, size_t length)
{
    if (!node->streaming)
        return;
    if (node->streamed == 0 || offset < node->streamed_low)
        node->streamed_low = offset;
    if (node->streamed == 0 || offset + length > node->streamed_high)
        node->streamed_high = offset + length;
    node->streamed += length;
    if (node->streamed < FILE_STREAM_WINDOW)
        return;
    node->streamed = 0;
    if (sync_file_range(node->fd, (off_t)node->streamed_low, (off_t)(node->streamed_high - node->streamed_low),
                        SYNC_FILE_RANGE_WRITE) < 0)
        node->streaming = false;
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
    file_stream_writeback(node, offset, length);
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

/* ---- resizing ---- */

/* Resizes a regular file to exactly size; a device keeps its size, refusing what it cannot do. */
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
    if (prealloc != BLOCK_PREALLOCATION_OFF)
        return error_set(errp, "Preallocation mode '%s' unsupported for this non-regular file",
                         block_preallocation_name(prealloc));
    uint64_t current = (uint64_t)block_node_length(node);
    if (exact && size != current)
        return error_set(errp, "Cannot resize device files");
    if (size > current)
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

/* ---- protocol names ---- */

/* The protocol prefix length of name ("proto:" before any '/'), 0 when it has none. */
static size_t file_protocol_prefix_length(const char *name)
{
    const char *stop = strpbrk(name, ":/");
    return stop && *stop == ':' ? (size_t)(stop - name) : 0;
}

/* The host path after a protocol prefix; a rest that itself looks prefixed gets "./". */
static char *file_path_after_prefix(const char *rest)
{
    if (file_protocol_prefix_length(rest) > 0)
        return memory_printf("./%s", rest);
    return memory_strdup(rest);
}

const block_driver *file_protocol_resolve(const char *filename, char **path, error **errp)
{
    *path = NULL;
    size_t prefix = file_protocol_prefix_length(filename);
    if (prefix > 0) {
        const block_driver *protocols[] = {&block_driver_file, &block_driver_host_device};
        for (size_t i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++) {
            const char *name = protocols[i]->protocol_name;
            if (strlen(name) == prefix && strncmp(filename, name, prefix) == 0) {
                *path = file_path_after_prefix(filename + prefix + 1);
                return protocols[i];
            }
        }
        error_set(errp, "Unknown protocol '%.*s'", (int)prefix, filename);
        return NULL;
    }
    *path = memory_strdup(filename);
    struct stat st;
    if (stat(filename, &st) == 0 && (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
        return &block_driver_host_device;
    return &block_driver_file;
}

/* ---- creating ---- */

enum { FILE_EXTENT_SIZE_HINT_DEFAULT = 1 << 20 };

/* What the file protocol's create options ask for. */
typedef struct file_create_request {
    uint64_t size;
    block_preallocation prealloc;
    bool nocow;
    uint64_t extent_size_hint;
    bool extent_size_hint_given;
} file_create_request;

/* Parses the preallocation option (off when absent); "invalid parameter value" when unknown. */
static int file_preallocation_parse(const option_list *options, block_preallocation *out, error **errp)
{
    *out = BLOCK_PREALLOCATION_OFF;
    const char *text = option_list_get(options, "preallocation");
    if (text == NULL)
        return 0;
    int mode = block_preallocation_parse(text);
    if (mode < 0)
        return error_set(errp, "invalid parameter value: %s", text);
    *out = (block_preallocation)mode;
    return 0;
}

/* Reads the file protocol's create options, checking them in qemu's order. */
static int file_create_request_parse(const option_list *options, file_create_request *request, error **errp)
{
    memset(request, 0, sizeof(*request));
    if (option_list_get_size(options, "size", 0, &request->size, errp) < 0 ||
        file_preallocation_parse(options, &request->prealloc, errp) < 0 ||
        option_list_get_bool(options, "nocow", false, &request->nocow, errp) < 0 ||
        option_list_get_size(options, "extent_size_hint", FILE_EXTENT_SIZE_HINT_DEFAULT,
                             &request->extent_size_hint, errp) < 0)
        return -1;
    request->extent_size_hint_given = option_list_get(options, "extent_size_hint") != NULL;
    if (request->extent_size_hint > UINT32_MAX)
        return error_set(errp, "Extent size hint is too large");
    /* preallocation=metadata is refused only once the file exists and is emptied, as qemu
     * refuses it (file_descriptor_truncate). */
    return 0;
}

/* Asks the file system for an extent size hint (XFS); a hint the user gave warns when refused. */
static void file_extent_size_hint_set(int fd, const file_create_request *request)
{
    if (request->extent_size_hint == 0)
        return;
    struct fsxattr attributes;
    int failure = 0;
    if (ioctl(fd, FS_IOC_FSGETXATTR, &attributes) < 0) {
        failure = errno;
    } else {
        attributes.fsx_xflags |= FS_XFLAG_EXTSIZE;
        attributes.fsx_extsize = (uint32_t)request->extent_size_hint;
        if (ioctl(fd, FS_IOC_FSSETXATTR, &attributes) < 0)
            failure = errno;
    }
    if (failure && request->extent_size_hint_given)
        report_warning("Failed to set extent size hint: %s", strerror(failure));
}

/* Turns off copy-on-write (btrfs); other file systems ignore the request. */
static void file_nocow_set(int fd)
{
    int attributes = 0;
    if (ioctl(fd, FS_IOC_GETFLAGS, &attributes) == 0) {
        attributes |= FS_NOCOW_FL;
        if (ioctl(fd, FS_IOC_SETFLAGS, &attributes) < 0) {
            /* ignored, as qemu ignores it */
        }
    }
}

/* Creates (or empties) path and gives it the requested size and preallocation. */
static int file_create_at(const char *path, const file_create_request *request, error **errp)
{
    uint64_t size = (request->size + 511) & ~(uint64_t)511;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return error_set_errno(errp, errno, "Could not create '%s'", path);
    int ret = -1;
    if (request->nocow)
        file_nocow_set(fd);
    file_extent_size_hint_set(fd, request);
    if (lock_bytes_acquire(fd, LOCK_PERM_WRITE | LOCK_PERM_RESIZE, LOCK_PERM_RESIZE, errp) < 0) {
        file_lock_hint_append(errp, path);
        goto cleanup;
    }
    if (file_descriptor_truncate(fd, 0, BLOCK_PREALLOCATION_OFF, errp) < 0)
        goto cleanup;
    if (file_descriptor_truncate(fd, size, request->prealloc, errp) < 0)
        goto cleanup;
    ret = 0;
cleanup:
    close(fd);
    return ret;
}

/* Creates the host file for the file protocol (qemu-img create -f file, and raw images). */
static int file_create(const char *filename, const option_list *options, error **errp)
{
    file_create_request request;
    if (file_create_request_parse(options, &request, errp) < 0)
        return -1;
    char *path = NULL;
    const block_driver *protocol = file_protocol_resolve(filename, &path, NULL);
    const char *target = protocol == &block_driver_file && path ? path : filename;
    int ret = file_create_at(target, &request, errp);
    free(path);
    return ret;
}

static int file_open(block_node *node, option_list *options, int flags, error **errp);

/* A device cannot be created, only reused: it is opened and must be large enough (qemu's
 * simple create for protocols without their own). */
static int host_device_create(const char *filename, const option_list *options, error **errp)
{
    uint64_t size = 0;
    block_preallocation prealloc;
    if (option_list_get_size(options, "size", 0, &size, errp) < 0 ||
        file_preallocation_parse(options, &prealloc, errp) < 0)
        return -1;
    if (prealloc != BLOCK_PREALLOCATION_OFF)
        return error_set(errp, "Unsupported preallocation mode '%s'", block_preallocation_name(prealloc));
    char *path = NULL;
    const block_driver *protocol = file_protocol_resolve(filename, &path, NULL);
    block_node *node = block_node_new(&block_driver_host_device,
                                      protocol == &block_driver_host_device && path ? path : filename);
    free(path);
    error *open_error = NULL;
    int ret = file_open(node, NULL, BLOCK_OPEN_READ_WRITE, &open_error);
    if (ret < 0) {
        error_set(errp, "Protocol driver 'host_device' does not support creating new images, so an existing image "
                        "must be selected as the target; however, opening the given target as an existing image "
                        "failed: %s", error_message(open_error));
        error_free(open_error);
    } else {
        ret = file_truncate(node, size, false, BLOCK_PREALLOCATION_OFF, false, errp);
    }
    block_node_close(node);
    return ret;
}

int block_file_create(const char *filename, uint64_t size, block_preallocation prealloc, error **errp)
{
    char *path = NULL;
    const block_driver *protocol = file_protocol_resolve(filename, &path, errp);
    if (protocol == NULL)
        return -1;
    int ret;
    if (protocol == &block_driver_host_device) {
        option_list options = {0};
        char text[32];
        snprintf(text, sizeof(text), "%llu", (unsigned long long)size);
        option_list_set(&options, "size", text);
        option_list_set(&options, "preallocation", block_preallocation_name(prealloc));
        ret = host_device_create(filename, &options, errp);
        option_list_free(&options);
    } else {
        file_create_request request = {.size = size, .prealloc = prealloc};
        ret = file_create_at(path, &request, errp);
    }
    free(path);
    return ret;
}

int file_protocol_create_empty(const char *filename, const option_list *options, error **errp)
{
    char *path = NULL;
    const block_driver *protocol = file_protocol_resolve(filename, &path, errp);
    if (protocol == NULL)
        return -1;
    int ret;
    if (protocol == &block_driver_host_device) {
        ret = block_file_create(filename, 0, BLOCK_PREALLOCATION_OFF, errp);
    } else {
        /* Size and preallocation belong to the format; only the file's own options count here. */
        option_list own = {0};
        for (size_t i = 0; i < options->count; i++)
            if (strcmp(options->entries[i].key, "nocow") == 0 || strcmp(options->entries[i].key, "extent_size_hint") == 0)
                option_list_set(&own, options->entries[i].key, options->entries[i].value);
        file_create_request request;
        ret = file_create_request_parse(&own, &request, errp);
        option_list_free(&own);
        if (ret == 0)
            ret = file_create_at(path, &request, errp);
    }
    free(path);
    return ret;
}

void file_protocol_remove(const char *filename)
{
    char *path = NULL;
    const block_driver *protocol = file_protocol_resolve(filename, &path, NULL);
    struct stat st;
    if (protocol == &block_driver_file && path && lstat(path, &st) == 0 && S_ISREG(st.st_mode))
        unlink(path);
    free(path);
}

/* ---- opening ---- */

/* What the protocol's runtime options ask for. */
typedef struct file_open_settings {
    bool native_aio;
    bool locking;
} file_open_settings;

/* The options the file protocols accept besides "filename", in the order qemu checks their types. */
static const char *const file_option_names[] = {
    "aio-max-batch", "x-check-cache-dropped", "drop-cache", "aio", "locking", "pr-manager",
};

/* Parses an int64 option value as qemu's number options do. */
static int file_option_integer_check(const char *key, const char *value, error **errp)
{
    char *end = NULL;
    errno = 0;
    (void)strtoll(value, &end, 0);
    if (end == value || *end != '\0')
        return error_set(errp, "Parameter '%s' expects a number", key);
    if (errno == ERANGE)
        return error_set(errp, "Value '%s' is too large for parameter '%s'", value, key);
    return 0;
}

/* Checks the typed options, then the enumerations and the persistent reservation manager. */
static int file_open_settings_parse(const option_list *options, file_open_settings *settings, error **errp)
{
    settings->native_aio = false;
    settings->locking = true;
    if (options == NULL)
        return 0;
    const char *batch = option_list_get(options, "aio-max-batch");
    bool ignored;
    if ((batch && file_option_integer_check("aio-max-batch", batch, errp) < 0) ||
        option_list_get_bool(options, "x-check-cache-dropped", false, &ignored, errp) < 0 ||
        option_list_get_bool(options, "drop-cache", true, &ignored, errp) < 0)
        return -1;
    const char *aio = option_list_get(options, "aio");
    if (aio && strcmp(aio, "threads") != 0 && strcmp(aio, "native") != 0)
        return error_set(errp, "invalid parameter value: %s", aio);
    settings->native_aio = aio && strcmp(aio, "native") == 0;
    const char *locking = option_list_get(options, "locking");
    if (locking && strcmp(locking, "on") != 0 && strcmp(locking, "off") != 0 && strcmp(locking, "auto") != 0)
        return error_set(errp, "invalid parameter value: %s", locking);
    settings->locking = !(locking && strcmp(locking, "off") == 0);
    const char *manager = option_list_get(options, "pr-manager");
    if (manager)
        return error_set(errp, "No persistent reservation manager with id '%s'", manager);
    return 0;
}

/* The first option the protocol does not know, or NULL. */
static const char *file_option_unknown(const option_list *options)
{
    for (size_t i = 0; options && i < options->count; i++) {
        const char *key = options->entries[i].key;
        bool known = strcmp(key, "filename") == 0;
        for (size_t j = 0; !known && j < sizeof(file_option_names) / sizeof(file_option_names[0]); j++)
            known = strcmp(key, file_option_names[j]) == 0;
        if (!known)
            return key;
    }
    return NULL;
}

/* Finds the smallest alignment an O_DIRECT read accepts for the length, then (reading 4 KiB) for
 * the buffer; when even an unaligned read succeeds (an empty file, tmpfs) nothing can be learnt and
 * both are the 4 KiB qemu assumes. */
static void file_alignment_probe(int fd, uint32_t *request, uint32_t *memory)
{
    enum { PROBE_MAX = 4096 };
    uint8_t *buffer = memory_alloc_aligned(2 * PROBE_MAX);
    *request = PROBE_MAX;
    *memory = PROBE_MAX;
    if (pread(fd, buffer, 1, 0) < 0) {
        for (uint32_t a = 512; a <= PROBE_MAX; a *= 2) {
            if (pread(fd, buffer, a, 0) >= 0) {
                *request = a;
                break;
            }
        }
    }
    if (pread(fd, buffer + 1, PROBE_MAX, 0) < 0) {
        for (uint32_t a = 512; a <= PROBE_MAX; a *= 2) {
            if (pread(fd, buffer + a, PROBE_MAX, 0) >= 0) {
                *memory = a;
                break;
            }
        }
    }
    free(buffer);
}

/* Per-node state of the file protocols. */
typedef struct file_state {
    uint32_t memory_alignment;
    bool locking;
} file_state;

/* Checks that the opened descriptor is the kind of file the driver serves. */
static int file_kind_check(const block_node *node, int fd, error **errp)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return error_set_errno(errp, errno, "Could not stat '%s'", node->filename);
    if (node->driver == &block_driver_host_device) {
        if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode))
            return error_set(errp, "'host_device' driver requires '%s' to be either a character or block device",
                             node->filename);
    } else if (!S_ISREG(st.st_mode)) {
        return error_set(errp, "'file' driver requires '%s' to be a regular file", node->filename);
    }
    return 0;
}

/* Opens the host file; the lock bytes come later (file_node_locks_commit), once the node's user is
 * known. Checks run in qemu's order: option types and values, the open itself, aio=native, the
 * kind of file, then options the protocol does not know. */
static int file_open(block_node *node, option_list *options, int flags, error **errp)
{
    if (node->filename[0] == '\0')
        return error_set(errp, "The '%s' block driver requires a file name", node->driver->protocol_name);
    file_open_settings settings;
    if (file_open_settings_parse(options, &settings, errp) < 0)
        return -1;
    bool writable = (flags & BLOCK_OPEN_READ_WRITE) != 0;
    bool direct = (flags & BLOCK_OPEN_CACHE_DIRECT) != 0;
    int fd = open(node->filename, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | (direct ? O_DIRECT : 0));
    if (fd < 0 && direct && errno == EINVAL)
        return error_set(errp, "Could not open '%s': filesystem does not support O_DIRECT", node->filename);
    if (fd < 0)
        return error_set_errno(errp, errno, "Could not open '%s'", node->filename);
    const char *unknown = NULL;
    if ((settings.native_aio || (flags & BLOCK_OPEN_NATIVE_AIO)) && !direct)
        error_set(errp, "aio=native was specified, but it requires cache.direct=on, which was not specified.");
    else if (file_kind_check(node, fd, errp) < 0)
        ;
    else if ((unknown = file_option_unknown(options)) != NULL)
        error_set(errp, "Block protocol '%s' doesn't support the option '%s'", node->driver->protocol_name, unknown);
    if (errp && *errp) {
        close(fd);
        return -1;
    }
    file_state *state = memory_alloc_zero(sizeof(*state));
    state->locking = settings.locking;
    state->memory_alignment = 1;
    node->request_alignment = 1;
    if (direct)
        file_alignment_probe(fd, &node->request_alignment, &state->memory_alignment);
    node->state = state;
    node->fd = fd;
    node->read_only = !writable;
    off_t end = lseek(fd, 0, SEEK_END);
    node->size = end < 0 ? 0 : (uint64_t)end;
    return 0;
}

static bool file_node_is_host_file(const block_node *node)
{
    return node && (node->driver == &block_driver_file || node->driver == &block_driver_host_device) &&
           node->state != NULL;
}

int file_node_locks_commit(block_node *node, bool shares_child, error **errp)
{
    if (!file_node_is_host_file(node))
        return 0;
    int flags = node->flags;
    int perm = 0, unshared = 0;
    if (!(flags & BLOCK_OPEN_NO_IO))
        perm |= LOCK_PERM_CONSISTENT_READ;
    if (flags & BLOCK_OPEN_READ_WRITE)
        perm |= LOCK_PERM_WRITE;
    if ((flags & BLOCK_OPEN_NO_RESIZE_SHARE) || ((flags & BLOCK_OPEN_READ_WRITE) && !shares_child))
        perm |= LOCK_PERM_RESIZE;
    if (!shares_child)
        unshared = LOCK_PERM_WRITE | LOCK_PERM_RESIZE;
    if (flags & BLOCK_OPEN_FORCE_SHARE)
        unshared = 0;
    /* Backing files open force-shared, but a user that shares no writes passes that down the chain. */
    if (flags & BLOCK_OPEN_NO_WRITE_SHARE)
        unshared = LOCK_PERM_WRITE | LOCK_PERM_RESIZE;
    /* Unaligned writes are widened to the request alignment; without the resize permission
     * they could not reach past the end, so qemu wants the size (in sectors) aligned. */
    uint64_t sectors_size = (node->size + 511) & ~(uint64_t)511;
    if ((perm & LOCK_PERM_WRITE) && !(perm & LOCK_PERM_RESIZE) && !(flags & BLOCK_OPEN_MAY_GROW) &&
        node->request_alignment > 1 &&
        sectors_size % node->request_alignment != 0)
        return error_set(errp, "Cannot get 'write' permission without 'resize': Image size is not a multiple of "
                               "request alignment");
    if (!((file_state *)node->state)->locking)
        return 0;
    if (lock_bytes_acquire(node->fd, perm, unshared, errp) < 0) {
        file_lock_hint_append(errp, node->filename);
        return -1;
    }
    return 0;
}

uint32_t file_node_memory_alignment(const block_node *node)
{
    return file_node_is_host_file(node) ? ((const file_state *)node->state)->memory_alignment : 1;
}

static void file_close(block_node *node)
{
    if (node->fd >= 0) {
        close(node->fd);
        node->fd = -1;
    }
    if (node->driver == &block_driver_file || node->driver == &block_driver_host_device) {
        free(node->state);
        node->state = NULL;
    }
}

static const option_desc file_create_options[] = {
    {"size", OPTION_TYPE_SIZE, "Virtual disk size", NULL},
    {"nocow", OPTION_TYPE_BOOL, "Turn off copy-on-write (valid only on btrfs)", NULL},
    {"preallocation", OPTION_TYPE_STRING, "Preallocation mode (allowed values: off, falloc, full)", NULL},
    {"extent_size_hint", OPTION_TYPE_SIZE, "Extent size hint for the image file, 0 to disable", NULL},
    {NULL, 0, NULL, NULL},
};

static const option_desc host_device_create_options[] = {
    {"size", OPTION_TYPE_SIZE, "Virtual disk size", NULL},
    {"preallocation", OPTION_TYPE_STRING, "Preallocation mode (allowed values: off)", NULL},
    {NULL, 0, NULL, NULL},
};

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

/* Character and block devices: the same I/O, but the size is the device's. */
const block_driver block_driver_host_device = {
    .format_name = "host_device",
    .protocol_name = "host_device",
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
    .create_options = host_device_create_options,
    .create = host_device_create,
};
