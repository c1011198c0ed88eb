/* file.h — the file protocol's shared pieces (spec/architecture.md §Block layer). */
#ifndef QIMG_BLOCK_FILE_H
#define QIMG_BLOCK_FILE_H

#include "block.h"

extern const block_driver block_driver_file;

/* Resizes an open host file to size with the given preallocation, as qemu's file protocol does
 * (off: ftruncate, allocating the first block of a new file; falloc: posix_fallocate; full: zeroes). */
int file_descriptor_truncate(int fd, uint64_t size, block_preallocation prealloc, error **errp);

#endif
