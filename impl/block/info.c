/* info.c — BlockGraphInfo trees for info (spec/architecture.md §Block layer). */
#include "info.h"
#include "file.h"
#include "open.h"

#include <stdlib.h>
#include <string.h>

#include "../util/memory.h"

json_value *block_snapshot_describe(const snapshot_info *sn)
{
    json_value *o = json_object_new();
    json_object_set_string(o, "id", sn->id ? sn->id : "");
    json_object_set_string(o, "name", sn->name ? sn->name : "");
    json_object_set_uint(o, "vm-state-size", sn->vm_state_size);
    json_object_set_int(o, "date-sec", sn->date_sec);
    json_object_set_int(o, "date-nsec", sn->date_nsec);
    json_object_set_int(o, "vm-clock-sec", (int64_t)(sn->vm_clock_nsec / 1000000000ULL));
    json_object_set_int(o, "vm-clock-nsec", (int64_t)(sn->vm_clock_nsec % 1000000000ULL));
    if (sn->has_icount)
        json_object_set_uint(o, "icount", sn->icount);
    return o;
}

/* The buffer alignment a node's I/O needs: a protocol's own, a format's the largest of its children's. */
static uint32_t block_node_memory_alignment(const block_node *node)
{
    if (node->driver->is_protocol)
        return file_node_memory_alignment(node);
    uint32_t alignment = node->file ? block_node_memory_alignment(node->file) : 1;
    for (size_t i = 0; i < node->child_count; i++) {
        uint32_t child = block_node_memory_alignment(node->children[i].node);
        alignment = child > alignment ? child : alignment;
    }
    return alignment;
}

/* The I/O limits qemu reports for a node: alignment of requests and memory, the iovec count, and
 * for formats with clusters the cluster as discard and zero-write alignment. */
static json_value *block_node_limits_describe(block_node *node, uint64_t cluster_size, uint64_t zero_unit,
                                              const image_info *info)
{
    json_value *o = json_object_new();
    json_object_set_uint(o, "request-alignment", node->request_alignment ? node->request_alignment : 1);
    if (!node->driver->is_protocol && cluster_size) {
        if (!info->has_no_discard)
            json_object_set_uint(o, "discard-alignment", cluster_size);
        json_object_set_uint(o, "write-zeroes-alignment", zero_unit ? zero_unit : cluster_size);
    }
    if (info->max_write_zeroes)
        json_object_set_uint(o, "max-write-zeroes", info->max_write_zeroes);
    json_object_set_int(o, "max-iov", 1024);
    json_object_set_uint(o, "min-mem-alignment", block_node_memory_alignment(node));
    json_object_set_uint(o, "opt-mem-alignment", 4096);
    return o;
}

json_value *block_node_info_describe(block_node *node, error **errp)
{
    return block_node_info_describe_limits(node, false, errp);
}

json_value *block_node_info_describe_limits(block_node *node, bool limits, error **errp)
{
    image_info info;
    memset(&info, 0, sizeof(info));
    info.actual_size = -1;
    if (node->driver->info_fill && node->driver->info_fill(node, &info, errp) < 0) {
        image_info_free(&info);
        return NULL;
    }
    if (node->driver->snapshot_list && !info.has_snapshots) {
        snapshot_info *list = NULL;
        size_t count = 0;
        if (node->driver->snapshot_list(node, &list, &count, NULL) == 0) {
            info.snapshots = list;
            info.snapshot_count = count;
            info.has_snapshots = count > 0;
        }
    }
    json_value *o = json_object_new();
    json_object_set_string(o, "filename", node->filename);
    json_object_set_string(o, "format", node->driver->format_name);
    if (!info.has_no_driver_info)
        json_object_set_bool(o, "dirty-flag", info.dirty_flag);
    int64_t actual = block_node_allocated_size(node);
    if (actual >= 0)
        json_object_set_int(o, "actual-size", actual);
    /* qemu measures lengths in whole 512-byte sectors: a protocol's length is rounded up. */
    uint64_t length = (uint64_t)block_node_length(node);
    if (node->driver->is_protocol)
        length = (length + 511) & ~(uint64_t)511;
    json_object_set_uint(o, "virtual-size", length);
    /* An int in qemu (ImageInfo's cluster-size): a driver may hand a wrapped 32-bit value (vpc). */
    if (info.has_cluster_size && info.cluster_size)
        json_object_set_int(o, "cluster-size", (int64_t)info.cluster_size);
    if (info.encrypted || node->encrypted)
        json_object_set_bool(o, "encrypted", true);
    if (node->backing_file) {
        json_object_set_string(o, "backing-filename", node->backing_file);
        char *full = node->full_backing_file ? memory_strdup(node->full_backing_file)
                                             : block_path_combine(node->file ? node->file->filename : node->filename,
                                                                  node->backing_file);
        json_object_set_string(o, "full-backing-filename", full);
        free(full);
        if (node->backing_format)
            json_object_set_string(o, "backing-filename-format", node->backing_format);
    }
    if (info.has_snapshots) {
        json_value *list = json_array_new();
        for (size_t i = 0; i < info.snapshot_count; i++)
            json_array_append(list, block_snapshot_describe(&info.snapshots[i]));
        json_object_set(o, "snapshots", list);
    }
    if (info.format_specific_data) {
        json_value *spec = json_object_new();
        json_object_set_string(spec, "type", info.format_specific_type ? info.format_specific_type
                                                                       : node->driver->format_name);
        json_object_set(spec, "data", info.format_specific_data);
        info.format_specific_data = NULL;
        json_object_set(o, "format-specific", spec);
    }
    if (limits) {
        uint64_t alignment = info.has_cluster_size && !info.has_no_alignment_limits ? info.cluster_size : 0;
        json_object_set(o, "limits", block_node_limits_describe(node, alignment, info.subcluster_size, &info));
    }
    json_value *children = json_array_new();
    /* Extra children (vmdk extents) come before "file", in the order the driver added them. */
    for (size_t i = 0; i < node->child_count; i++) {
        if (node->children[i].node == node->file)
            continue;
        json_value *child_info = block_node_info_describe_limits(node->children[i].node, limits, errp);
        if (child_info == NULL) {
            json_free(children);
            json_free(o);
            image_info_free(&info);
            return NULL;
        }
        json_value *child = json_object_new();
        json_object_set_string(child, "name", node->children[i].name);
        json_object_set(child, "info", child_info);
        json_array_append(children, child);
    }
    if (node->file) {
        json_value *child_info = block_node_info_describe_limits(node->file, limits, errp);
        if (child_info == NULL) {
            json_free(children);
            json_free(o);
            image_info_free(&info);
            return NULL;
        }
        json_value *child = json_object_new();
        json_object_set_string(child, "name", "file");
        json_object_set(child, "info", child_info);
        json_array_append(children, child);
    }
    json_object_set(o, "children", children);
    image_info_free(&info);
    return o;
}
