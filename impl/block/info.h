/* info.h — an open image described as qemu's BlockGraphInfo, as a JSON tree that both the human
 * and the JSON printers read (spec/architecture.md §Block layer). */
#ifndef QIMG_BLOCK_INFO_H
#define QIMG_BLOCK_INFO_H

#include "block.h"

/* Describes node (and its "file" child) with qemu's keys, inserted in qemu's declaration order:
 * filename, format, dirty-flag, actual-size, virtual-size, cluster-size, encrypted,
 * backing-filename, full-backing-filename, backing-filename-format, snapshots, format-specific,
 * children. Returns NULL with *errp on failure. */
json_value *block_node_info_describe(block_node *node, error **errp);
/* As block_node_info_describe, adding each node's BlockLimitsInfo ("limits") when limits is set. */
json_value *block_node_info_describe_limits(block_node *node, bool limits, error **errp);

/* A snapshot as qemu's SnapshotInfo object. */
json_value *block_snapshot_describe(const snapshot_info *snapshot);

#endif
