/* lock.h — qemu's image locking protocol: OFD read locks on byte 100+perm (held permissions) and
 * 200+perm (permissions not shared with others) (spec/architecture.md §Opening images). */
#ifndef QIMG_BLOCK_LOCK_H
#define QIMG_BLOCK_LOCK_H

#include "../util/error.h"

enum {
    LOCK_PERM_CONSISTENT_READ = 1 << 0,
    LOCK_PERM_WRITE = 1 << 1,
    LOCK_PERM_WRITE_UNCHANGED = 1 << 2,
    LOCK_PERM_RESIZE = 1 << 3,
    LOCK_PERM_ALL = 0xf,
};

/* Takes the lock bytes for perm (held) and unshared (refused to others) on fd, then checks that
 * no other open file description holds a conflicting lock. Errors are qemu's:
 * 'Failed to get "write" lock' / 'Failed to get shared "write" lock', with errnum EAGAIN (qemu takes
 * locks once a whole image graph is open, so callers do not word them as a step's failure). */
int lock_bytes_acquire(int fd, int perm, int unshared, error **errp);

#endif
