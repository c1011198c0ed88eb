/* file.h — the file and host_device protocols' shared pieces (spec/architecture.md §Block layer). */
#ifndef QIMG_BLOCK_FILE_H
#define QIMG_BLOCK_FILE_H

#include "block.h"

extern const block_driver block_driver_file;
extern const block_driver block_driver_host_device;

/* The protocol a plain image name selects and the host path it names (caller frees *path):
 * "file:NAME" and "host_device:NAME" name their protocol, another "PROTO:" prefix (before any
 * '/') is "Unknown protocol 'PROTO'", and an unprefixed character or block device is host_device. */
const block_driver *file_protocol_resolve(const char *filename, char **path, error **errp);

/* Resizes an open host file to size with the given preallocation, as qemu's file protocol does
 * (off: ftruncate, allocating the first block of a new file; falloc: posix_fallocate; full: zeroes). */
int file_descriptor_truncate(int fd, uint64_t size, block_preallocation prealloc, error **errp);

/* Creates the (empty) protocol file of an image whose format writes it afterwards, honouring the
 * protocol's create options in options (nocow, extent_size_hint; size and preallocation are the
 * format's business and ignored). */
int file_protocol_create_empty(const char *filename, const option_list *options, error **errp);

/* Removes a file an unsuccessful create made; device nodes and other non-regular files stay. */
void file_protocol_remove(const char *filename);

/* Takes the lock bytes of an open file or host_device node once the node's user is known:
 * shares_child: the format above passes the user's permissions through unchanged (raw) or the
 * node is the image itself; otherwise the format keeps others from writing and resizing the file.
 * Other nodes: nothing to do. Errors are qemu's lock messages with the "Is another process" hint. */
int file_node_locks_commit(block_node *node, bool shares_child, error **errp);

/* The buffer alignment node's I/O needs (O_DIRECT probes it; 1 otherwise); 1 for non-file nodes. */
uint32_t file_node_memory_alignment(const block_node *node);

#endif
