/* lock.c — OFD lock bytes as qemu's file protocol takes them (spec/architecture.md §Opening images). */
#include "lock.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>

enum { LOCK_PERM_BASE = 100, LOCK_SHARED_BASE = 200, LOCK_PERM_COUNT = 4 };

static const char *const lock_perm_names[LOCK_PERM_COUNT] = {"consistent read", "write", "write unchanged", "resize"};

/* Sets (type F_RDLCK) or clears (F_UNLCK) one byte lock; returns 0 or -errno. */
static int lock_byte_set(int fd, off_t byte, short type)
{
    struct flock fl;
    memset(&fl, 0, sizeof(fl));
    fl.l_whence = SEEK_SET;
    fl.l_start = byte;
    fl.l_len = 1;
    fl.l_type = type;
    if (fcntl(fd, F_OFD_SETLK, &fl) == -1)
        return -errno;
    return 0;
}

/* True when another open file description holds a lock on byte that conflicts with a write lock. */
static int lock_byte_is_taken(int fd, off_t byte)
{
    struct flock fl;
    memset(&fl, 0, sizeof(fl));
    fl.l_whence = SEEK_SET;
    fl.l_start = byte;
    fl.l_len = 1;
    fl.l_type = F_WRLCK;
    if (fcntl(fd, F_OFD_GETLK, &fl) == -1)
        return 0; /* no locking support: behave as unlocked */
    return fl.l_type != F_UNLCK;
}

int lock_bytes_acquire(int fd, int perm, int unshared, error **errp)
{
    for (int i = 0; i < LOCK_PERM_COUNT; i++) {
        int bit = 1 << i;
        int r = lock_byte_set(fd, LOCK_PERM_BASE + i, (perm & bit) ? F_RDLCK : F_UNLCK);
        if (r == -EAGAIN || r == -EACCES)
            return error_set_errnum(errp, EAGAIN, "Failed to lock byte %d", LOCK_PERM_BASE + i);
        r = lock_byte_set(fd, LOCK_SHARED_BASE + i, (unshared & bit) ? F_RDLCK : F_UNLCK);
        if (r == -EAGAIN || r == -EACCES)
            return error_set_errnum(errp, EAGAIN, "Failed to lock byte %d", LOCK_SHARED_BASE + i);
    }
    for (int i = 0; i < LOCK_PERM_COUNT; i++) {
        int bit = 1 << i;
        if ((perm & bit) && lock_byte_is_taken(fd, LOCK_SHARED_BASE + i))
            return error_set_errnum(errp, EAGAIN, "Failed to get \"%s\" lock", lock_perm_names[i]);
        if ((unshared & bit) && lock_byte_is_taken(fd, LOCK_PERM_BASE + i))
            return error_set_errnum(errp, EAGAIN, "Failed to get shared \"%s\" lock", lock_perm_names[i]);
    }
    return 0;
}
