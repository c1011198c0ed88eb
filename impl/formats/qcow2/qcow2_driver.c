/* qcow2_driver.c — the qcow2 driver table: probing, opening (header checks in qemu's order and wording),
 * closing, flushing and the info data (spec/qcow2.md §Header, §Opening). */
#include <stdlib.h>
#include <string.h>

#include "qcow2.h"
#include "../../block/open.h"
#include "../../util/endian.h"
#include "../../util/memory.h"

/* Scores a buffer: 100 for a qcow2 header of version 2 or more. */
static int qcow2_probe(const uint8_t *buf, size_t buf_size, const char *filename)
{
    (void)filename;
    if (buf_size >= QCOW2_HEADER_V3_LENGTH && endian_load_be32(buf) == QCOW2_MAGIC && endian_load_be32(buf + 4) >= 2)
        return 100;
    return 0;
}

/* Frees the state's allocations (not the state itself). */
static void qcow2_state_release(qcow2_state *s)
{
    free(s->l1_table);
    free(s->refcount_table);
    free(s->backing_file);
    free(s->backing_format);
    free(s->data_file_name);
    free(s->unknown_header_fields);
    for (size_t i = 0; i < s->unknown_extension_count; i++)
        free(s->unknown_extensions[i].data);
    free(s->unknown_extensions);
    format_cache_clear(&s->l2_cache);
    format_cache_clear(&s->refblock_cache);
    free(s->inflated);
    free(s->inflated_entries);
    qcow2_crypt_close(s);
    if (s->data_node_owned)
        block_node_close(s->data_node);
}

/* Checks a table's entry count and offset as qemu's qcow2_validate_table does. */
static int qcow2_table_validate(const qcow2_state *s, uint64_t offset, uint64_t entries, uint64_t entry_size,
                                uint64_t max_bytes, const char *name, error **errp)
{
    if (entries > max_bytes / entry_size)
        return error_set(errp, "%s too large", name);
    if ((uint64_t)INT64_MAX - entries * entry_size < offset || qcow2_offset_into_cluster(s, offset))
        return error_set(errp, "%s offset invalid", name);
    return 0;
}

/* The runtime options qemu's qcow2 driver (and the generic block layer) accept on open. */
static bool qcow2_runtime_option_known(const char *key)
{
    static const char *const names[] = {
        "lazy-refcounts", "pass-discard-request", "pass-discard-snapshot", "pass-discard-other",
        "discard-no-unref", "overlap-check", "overlap-check.template", "overlap-check.main-header",
        "overlap-check.active-l1", "overlap-check.active-l2", "overlap-check.refcount-table",
        "overlap-check.refcount-block", "overlap-check.snapshot-table", "overlap-check.inactive-l1",
        "overlap-check.inactive-l2", "overlap-check.bitmap-directory", "cache-size", "l2-cache-size",
        "l2-cache-entry-size", "refcount-cache-size", "cache-clean-interval", "encrypt.key-secret",
        "encrypt.format", "data-file", "backing", "node-name", "read-only", "auto-read-only", "force-share",
        "discard", "detect-zeroes", "cache.direct", "cache.no-flush", NULL,
    };
    for (size_t i = 0; names[i]; i++)
        if (strcmp(names[i], key) == 0)
            return true;
    return strncmp(key, "backing.", 8) == 0 || strncmp(key, "data-file.", 10) == 0 || strncmp(key, "encrypt.", 8) == 0;
}

/* Checks the runtime options as qemu's qcow2_update_options_prepare does; sizes the L2 slices from the
 * cache options (qemu's read_cache_sizes). */
static int qcow2_runtime_options_apply(block_node *node, option_list *options, error **errp)
{
    qcow2_state *s = node->state;
    uint64_t combined = 0, l2_setting = 32ull * 1024 * 1024, refcount = 0, entry = s->cluster_size;
    if (options == NULL)
        return 0;
    for (size_t i = 0; i < options->count; i++)
        if (!qcow2_runtime_option_known(options->entries[i].key))
            return error_set(errp, "Block format 'qcow2' does not support the option '%s'", options->entries[i].key);
    bool combined_set = option_list_get(options, "cache-size") != NULL;
    bool l2_set = option_list_get(options, "l2-cache-size") != NULL;
    bool refcount_set = option_list_get(options, "refcount-cache-size") != NULL;
    bool entry_set = option_list_get(options, "l2-cache-entry-size") != NULL;
    if (option_list_get_size(options, "cache-size", 0, &combined, errp) < 0 ||
        option_list_get_size(options, "l2-cache-size", l2_setting, &l2_setting, errp) < 0 ||
        option_list_get_size(options, "refcount-cache-size", 0, &refcount, errp) < 0 ||
        option_list_get_size(options, "l2-cache-entry-size", s->cluster_size, &entry, errp) < 0)
        return -1;
    uint64_t max_entries = (node->size + s->cluster_size - 1) / s->cluster_size;
    uint64_t max_cache = (max_entries * s->l2_entry_size + s->cluster_size - 1) / s->cluster_size * s->cluster_size;
    uint64_t l2 = max_cache < l2_setting ? max_cache : l2_setting;
    uint64_t min_refcount = 4 * s->cluster_size;
    if (combined_set) {
        if (l2_set && refcount_set)
            return error_set(errp, "cache-size, l2-cache-size and refcount-cache-size may not be set at the same time");
        if (l2_set && l2_setting > combined)
            return error_set(errp, "l2-cache-size may not exceed cache-size");
        if (refcount > combined)
            return error_set(errp, "refcount-cache-size may not exceed cache-size");
        if (refcount_set)
            l2 = combined - refcount;
        else if (!l2_set)
            l2 = combined >= max_cache + min_refcount ? max_cache
                                                      : combined - (combined < min_refcount ? combined : min_refcount);
    }
    if (l2 < max_cache && !entry_set)
        entry = s->cluster_size < 4096 ? s->cluster_size : 4096;
    if (entry < 512 || entry > s->cluster_size || (entry & (entry - 1)))
        return error_set(errp, "L2 cache entry size must be a power of two between 512 and the cluster size (%llu)",
                         (unsigned long long)s->cluster_size);
    bool lazy = false;
    if (option_list_get_bool(options, "lazy-refcounts", false, &lazy, errp) < 0)
        return -1;
    if (lazy && s->version < 3)
        return error_set(errp, "Lazy refcounts require a qcow2 image with at least qemu 1.1 compatibility level");
    const char *overlap = option_list_get(options, "overlap-check");
    const char *overlap_template = option_list_get(options, "overlap-check.template");
    if (overlap && overlap_template && strcmp(overlap, overlap_template) != 0)
        return error_set(errp, "Conflicting values for qcow2 options 'overlap-check' ('%s') and "
                               "'overlap-check.template' ('%s')",
                         overlap, overlap_template);
    if (!overlap)
        overlap = overlap_template;
    if (overlap && strcmp(overlap, "none") != 0 && strcmp(overlap, "constant") != 0 &&
        strcmp(overlap, "cached") != 0 && strcmp(overlap, "all") != 0)
        return error_set(errp, "Unsupported value '%s' for qcow2 option 'overlap-check'. Allowed are any of the "
                               "following: none, constant, cached, all",
                         overlap);
    if (qcow2_crypt_options_check(s, options, errp) < 0)
        return -1;
    if (l2_set || combined_set || entry_set)
        s->l2_slice_entries = entry / s->l2_entry_size;
    return 0;
}

/* Chooses the L2 slice size the way qemu sizes its L2 cache (whole tables unless the cache is capped). */
static void qcow2_slice_size_update(block_node *node)
{
    qcow2_state *s = node->state;
    uint64_t max_entries = (node->size + s->cluster_size - 1) / s->cluster_size;
    uint64_t max_cache = (max_entries * s->l2_entry_size + s->cluster_size - 1) / s->cluster_size * s->cluster_size;
    uint64_t cache = max_cache < 32ull * 1024 * 1024 ? max_cache : 32ull * 1024 * 1024;
    uint64_t entry_size = s->cluster_size;
    if (cache < max_cache)
        entry_size = s->cluster_size < 4096 ? s->cluster_size : 4096;
    s->l2_slice_entries = entry_size / s->l2_entry_size;
}

/* Opens the external data file named in the image (or by the data-file option). */
static int qcow2_data_file_open(block_node *node, option_list *options, int flags, error **errp)
{
    qcow2_state *s = node->state;
    const char *override = options ? option_list_get(options, "data-file") : NULL;
    if (!qcow2_has_data_file(s)) {
        if (override)
            return error_set(errp, "'data-file' can only be set for images with an external data file");
        s->data_node = node->file;
        if (qcow2_data_file_is_raw(s))
            return error_set(errp, "data-file-raw requires a data file");
        return 0;
    }
    const char *name = override ? override : s->data_file_name;
    if (name == NULL)
        return error_set(errp, "'data-file' is required for this image");
    char *path = block_path_combine(node->filename, name);
    int protocol_flags = flags & (BLOCK_OPEN_READ_WRITE | BLOCK_OPEN_FORCE_SHARE | BLOCK_OPEN_CACHE_DIRECT |
                                  BLOCK_OPEN_NO_FLUSH | BLOCK_OPEN_WRITE_THROUGH);
    s->data_node = block_protocol_open(path, protocol_flags, errp);
    free(path);
    if (s->data_node == NULL)
        return -1;
    s->data_node->read_only = !(flags & BLOCK_OPEN_READ_WRITE);
    s->data_node_owned = true;
    return 0;
}

/* Opens node (node->file is open): validates the header as qemu does and loads L1 and refcount tables. */
static int qcow2_open_with(block_node *node, option_list *options, int flags, block_node *data_node, error **errp)
{
    qcow2_state *s = memory_alloc_zero(sizeof(*s));
    uint8_t raw[QCOW2_HEADER_V3_LENGTH];
    qcow2_header header;
    uint8_t *l1_raw = NULL;
    int ret = -1;
    node->state = s;

    memset(raw, 0, sizeof(raw));
    if (format_file_read(node->file, 0, sizeof(raw), raw, errp) < 0)
        goto fail;
    qcow2_header_read_data(raw, sizeof(raw), &header, NULL);
    if (header.magic != QCOW2_MAGIC) {
        error_set(errp, "Image is not in qcow2 format");
        goto fail;
    }
    if (header.version < 2 || header.version > 3) {
        error_set(errp, "Unsupported qcow2 version %u", header.version);
        goto fail;
    }
    s->version = (int)header.version;
    if (header.cluster_bits < QCOW2_MIN_CLUSTER_BITS || header.cluster_bits > QCOW2_MAX_CLUSTER_BITS) {
        error_set(errp, "Unsupported cluster size: 2^%u", header.cluster_bits);
        goto fail;
    }
    s->cluster_bits = header.cluster_bits;
    s->cluster_size = 1ull << s->cluster_bits;
    format_cache_init(&s->l2_cache, node->file, s->cluster_size);
    format_cache_init(&s->refblock_cache, node->file, s->cluster_size);
    if (header.version >= 3 && header.header_length < QCOW2_HEADER_V3_MIN_LENGTH) {
        error_set(errp, "qcow2 header too short");
        goto fail;
    }
    if (header.header_length > s->cluster_size) {
        error_set(errp, "qcow2 header exceeds cluster size");
        goto fail;
    }
    if (header.version >= 3 && header.header_length > QCOW2_HEADER_V3_LENGTH) {
        s->unknown_header_fields_size = header.header_length - QCOW2_HEADER_V3_LENGTH;
        s->unknown_header_fields = memory_alloc_zero(s->unknown_header_fields_size);
        if (format_file_read(node->file, QCOW2_HEADER_V3_LENGTH, s->unknown_header_fields_size,
                            s->unknown_header_fields, errp) < 0)
            goto fail;
    }
    if (header.backing_file_offset > s->cluster_size) {
        error_set(errp, "Invalid backing file offset");
        goto fail;
    }
    uint64_t ext_end = header.backing_file_offset ? header.backing_file_offset : s->cluster_size;
    s->incompatible_features = header.incompatible_features;
    s->compatible_features = header.compatible_features;
    s->autoclear_features = header.autoclear_features;
    s->compression_type = header.header_length > 104 ? header.compression_type : QCOW2_COMPRESSION_ZLIB;
    if (s->compression_type > QCOW2_COMPRESSION_ZSTD) {
        error_set(errp, "qcow2: unknown compression type: %u", s->compression_type);
        goto fail;
    }
    if (s->compression_type == QCOW2_COMPRESSION_ZLIB && (s->incompatible_features & QCOW2_INCOMPAT_COMPRESSION)) {
        error_set(errp, "qcow2: Compression type incompatible feature bit must not be set");
        goto fail;
    }
    if (s->compression_type != QCOW2_COMPRESSION_ZLIB && !(s->incompatible_features & QCOW2_INCOMPAT_COMPRESSION)) {
        error_set(errp, "qcow2: Compression type incompatible feature bit must be set");
        goto fail;
    }
    if (s->incompatible_features & ~QCOW2_INCOMPAT_MASK) {
        char *text = qcow2_unsupported_features_text(node, header.header_length, ext_end,
                                                     s->incompatible_features & ~QCOW2_INCOMPAT_MASK);
        error_set(errp, "Unsupported qcow2 feature(s): %s", text);
        free(text);
        goto fail;
    }
    if ((s->incompatible_features & QCOW2_INCOMPAT_CORRUPT) && (flags & BLOCK_OPEN_READ_WRITE) &&
        !(flags & BLOCK_OPEN_CHECK)) {
        error_set(errp, "qcow2: Image is corrupt; cannot be opened read/write");
        goto fail;
    }
    s->extended_l2 = (s->incompatible_features & QCOW2_INCOMPAT_EXTL2) != 0;
    s->subcluster_size = s->extended_l2 ? s->cluster_size / QCOW2_SUBCLUSTERS : s->cluster_size;
    s->subcluster_bits = s->extended_l2 ? s->cluster_bits - 5 : s->cluster_bits;
    if (s->subcluster_size < 512) {
        error_set(errp, "Unsupported subcluster size: %llu", (unsigned long long)s->subcluster_size);
        goto fail;
    }
    if (header.refcount_order > 6) {
        error_set(errp, "Reference count entry width too large; may not exceed 64 bits");
        goto fail;
    }
    s->refcount_order = (int)header.refcount_order;
    s->refcount_bits = 1ull << s->refcount_order;
    s->refcount_max = s->refcount_bits == 64 ? UINT64_MAX : (1ull << s->refcount_bits) - 1;
    s->crypt_method = header.crypt_method;
    s->l2_entry_size = s->extended_l2 ? 16 : 8;
    s->l2_bits = s->cluster_bits - (s->extended_l2 ? 4 : 3);
    s->l2_entries = 1ull << s->l2_bits;
    s->refcount_block_bits = s->cluster_bits - ((uint32_t)s->refcount_order - 3);
    if (s->refcount_order < 3)
        s->refcount_block_bits = s->cluster_bits + (3 - (uint32_t)s->refcount_order);
    s->refcount_block_entries = 1ull << s->refcount_block_bits;
    node->size = header.size & ~511ull;
    s->csize_shift = 62 - (s->cluster_bits - 8);
    s->csize_mask = (1ull << (s->cluster_bits - 8)) - 1;
    s->cluster_offset_mask = (1ull << s->csize_shift) - 1;
    s->refcount_table_offset = header.refcount_table_offset;
    s->refcount_table_entries = (uint64_t)header.refcount_table_clusters << (s->cluster_bits - 3);
    if (header.refcount_table_clusters == 0 && !(flags & BLOCK_OPEN_CHECK)) {
        error_set(errp, "Image does not contain a reference count table");
        goto fail;
    }
    if (qcow2_table_validate(s, s->refcount_table_offset, header.refcount_table_clusters, s->cluster_size,
                             QCOW2_MAX_REFTABLE_BYTES, "Reference count table", errp) < 0)
        goto fail;
    if (!(flags & BLOCK_OPEN_CHECK) &&
        qcow2_table_validate(s, header.snapshots_offset, header.nb_snapshots, QCOW2_SNAPSHOT_HEADER_SIZE,
                             QCOW2_SNAPSHOT_HEADER_SIZE * QCOW2_MAX_SNAPSHOTS, "Snapshot table", errp) < 0)
        goto fail;
    if (qcow2_table_validate(s, header.l1_table_offset, header.l1_size, 8, QCOW2_MAX_L1_BYTES, "Active L1 table",
                             errp) < 0)
        goto fail;
    s->l1_size = header.l1_size;
    s->l1_table_offset = header.l1_table_offset;
    s->l1_vm_state_index = qcow2_size_to_l1(s, header.size);
    if (s->l1_vm_state_index > 0x7fffffff) {
        error_set(errp, "Image is too big");
        goto fail;
    }
    if (s->l1_size < s->l1_vm_state_index) {
        error_set(errp, "L1 table is too small");
        goto fail;
    }
    s->l1_table = memory_alloc_array(s->l1_size ? s->l1_size : 1, 8);
    if (s->l1_size > 0) {
        l1_raw = memory_alloc_zero(s->l1_size * 8);
        if (format_file_read(node->file, s->l1_table_offset, s->l1_size * 8, l1_raw, errp) < 0) {
            error_prepend(errp, "Could not read L1 table: ");
            goto fail;
        }
        for (uint64_t i = 0; i < s->l1_size; i++)
            s->l1_table[i] = endian_load_be64(l1_raw + 8 * i);
    }
    if (s->crypt_method > 2) {
        error_set(errp, "Unsupported encryption method %u", s->crypt_method);
        goto fail;
    }
    if (qcow2_refcount_load(node, errp) < 0) {
        error_prepend(errp, "Could not initialize refcount handling: ");
        goto fail;
    }
    if (qcow2_extensions_read(node, header.header_length, ext_end, errp) < 0)
        goto fail;
    if (data_node) {
        s->data_node = data_node;
    } else if (qcow2_data_file_open(node, options, flags, errp) < 0) {
        goto fail;
    }
    if (header.backing_file_offset != 0) {
        uint64_t length = header.backing_file_size;
        uint64_t limit = s->cluster_size - header.backing_file_offset;
        if (length > (limit < QCOW2_MAX_BACKING_NAME ? limit : QCOW2_MAX_BACKING_NAME)) {
            error_set(errp, "Backing file name too long");
            goto fail;
        }
        s->backing_file = memory_alloc_zero(length + 1);
        if (format_file_read(node->file, header.backing_file_offset, length, s->backing_file, errp) < 0) {
            error_prepend(errp, "Could not read backing file name: ");
            goto fail;
        }
        free(node->backing_file);
        node->backing_file = memory_strdup(s->backing_file);
    }
    if (s->backing_format) {
        free(node->backing_format);
        node->backing_format = memory_strdup(s->backing_format);
    }
    s->nb_snapshots = header.nb_snapshots;
    s->snapshots_offset = header.snapshots_offset;
    s->writable = (flags & BLOCK_OPEN_READ_WRITE) != 0;
    s->discard_unmap = (flags & BLOCK_OPEN_UNMAP) != 0;
    node->read_only = !s->writable;
    qcow2_slice_size_update(node);
    if (qcow2_runtime_options_apply(node, options, errp) < 0 || qcow2_crypt_open(node, options, flags, errp) < 0)
        goto fail;
    bool header_updated = false;
    /* What 10.2 does (oracle-checked): a repairing check of an image that holds both persistent
     * bitmaps and snapshots runs without the snapshot table, whose clusters and the references
     * only snapshots hold then read as leaks, and the header loses the table. */
    if (s->writable && (flags & BLOCK_OPEN_CHECK) && s->bitmap_count > 0 && s->nb_snapshots > 0) {
        s->nb_snapshots = 0;
        s->snapshots_offset = 0;
    }
    if (qcow2_bitmaps_load(node, s->writable, errp) < 0)
        goto fail;
    if (s->writable && s->bitmap_memory_count > 0)
        header_updated = true;
    if (s->writable && !header_updated &&
        ((s->autoclear_features & ~QCOW2_AUTOCLEAR_MASK) || s->bitmaps_extension_dropped)) {
        s->autoclear_features &= QCOW2_AUTOCLEAR_MASK;
        if (qcow2_header_update(node, errp) < 0) {
            error_prepend(errp, "Could not update qcow2 header: ");
            goto fail;
        }
    }
    if (s->writable && !(flags & BLOCK_OPEN_CHECK) && (s->incompatible_features & QCOW2_INCOMPAT_DIRTY)) {
        check_result result;
        memset(&result, 0, sizeof(result));
        if (qcow2_check(node, &result, CHECK_FIX_LEAKS | CHECK_FIX_ERRORS, errp) < 0 || result.check_errors) {
            error_set(errp, "Could not repair dirty image: Input/output error");
            goto fail;
        }
    }
    const char *secret = options ? option_list_get(options, "encrypt.key-secret") : NULL;
    if (secret) /* even on an image without encryption, as qemu names it */
        block_node_json_name_set_option(node, "encrypt.key-secret", secret);
    free(l1_raw);
    return 0;
fail:
    if (data_node && s->data_node == data_node)
        s->data_node = NULL;
    qcow2_bitmaps_release(node);
    qcow2_state_release(s);
    free(s);
    node->state = NULL;
    free(l1_raw);
    return ret;
}

/* Driver open: node->file is open; options may name a data-file. */
int qcow2_open(block_node *node, option_list *options, int flags, error **errp)
{
    return qcow2_open_with(node, options, flags, NULL, errp);
}

/* Opens a qcow2 node over file during creation, with an already open data file (or NULL). */
block_node *qcow2_open_for_create(block_node *file, const char *filename, block_node *data_node, error **errp);
block_node *qcow2_open_for_create(block_node *file, const char *filename, block_node *data_node, error **errp)
{
    block_node *node = block_node_new(&block_driver_qcow2, filename);
    node->file = file;
    node->flags = BLOCK_OPEN_READ_WRITE | BLOCK_OPEN_NO_FLUSH;
    if (qcow2_open_with(node, NULL, node->flags, data_node ? data_node : NULL, errp) < 0) {
        node->file = NULL;
        block_node_close(node);
        return NULL;
    }
    if (data_node == NULL) {
        qcow2_state *s = node->state;
        s->data_node = file;
    }
    return node;
}

/* Releases the state (the block layer closes node->file). */
void qcow2_close(block_node *node)
{
    qcow2_state *s = node->state;
    if (s == NULL)
        return;
    if (s->metadata_writeback)
        qcow2_metadata_writeback_end(node, NULL); /* what a bulk copy left in the caches, as qemu's close */
    if (s->writable && s->bitmaps_loaded)
        qcow2_bitmaps_store(node, NULL);
    if (s->writable && !s->unusable && (s->incompatible_features & QCOW2_INCOMPAT_DIRTY) &&
        !(node->flags & BLOCK_OPEN_CHECK))
        qcow2_mark_dirty(node, false, NULL);
    qcow2_bitmaps_release(node);
    qcow2_state_release(s);
    free(s);
    node->state = NULL;
}

/* Persistent bitmaps need the bitmaps extension of version 3. */
static bool qcow2_bitmaps_supported(block_node *node)
{
    const qcow2_state *s = node->state;
    return s->version >= 3;
}

/* Fills cluster size, dirty flag and the "format-specific" data in qemu's field order. */
static int qcow2_info_fill(block_node *node, image_info *info, error **errp)
{
    qcow2_state *s = node->state;
    (void)errp;
    info->has_cluster_size = true;
    info->cluster_size = s->cluster_size;
    info->subcluster_size = s->subcluster_size;
    info->dirty_flag = (s->incompatible_features & QCOW2_INCOMPAT_DIRTY) != 0;
    info->encrypted = node->encrypted;
    if (s->nb_snapshots > 0 && !(node->flags & BLOCK_OPEN_CHECK)) {
        snapshot_info *list = NULL;
        size_t count = 0;
        if (qcow2_snapshot_list(node, &list, &count, NULL) == 0) {
            info->snapshots = list;
            info->snapshot_count = count;
            info->has_snapshots = count > 0;
        }
    }
    json_value *data = json_object_new();
    json_value *encrypt = s->crypt_method ? qcow2_crypt_info(s) : NULL;
    if (s->version == 2) {
        json_object_set_string(data, "compat", "0.10");
        json_object_set_int(data, "refcount-bits", (int64_t)s->refcount_bits);
        if (encrypt)
            json_object_set(data, "encrypt", encrypt);
    } else {
        json_object_set_string(data, "compat", "1.1");
        if (s->data_file_name)
            json_object_set_string(data, "data-file", s->data_file_name);
        if (qcow2_has_data_file(s))
            json_object_set_bool(data, "data-file-raw", qcow2_data_file_is_raw(s));
        json_object_set_bool(data, "extended-l2", s->extended_l2);
        json_object_set_bool(data, "lazy-refcounts", (s->compatible_features & QCOW2_COMPAT_LAZY_REFCOUNTS) != 0);
        json_object_set_bool(data, "corrupt", (s->incompatible_features & QCOW2_INCOMPAT_CORRUPT) != 0);
        json_object_set_int(data, "refcount-bits", (int64_t)s->refcount_bits);
        if (encrypt)
            json_object_set(data, "encrypt", encrypt);
        json_value *bitmaps = qcow2_bitmaps_info(node);
        if (bitmaps)
            json_object_set(data, "bitmaps", bitmaps);
    }
    json_object_set_string(data, "compression-type", s->compression_type == QCOW2_COMPRESSION_ZSTD ? "zstd" : "zlib");
    info->format_specific_data = data;
    info->format_specific_type = "qcow2";
    return 0;
}

/* qemu's qcow2_has_zero_init: an image without L2 tables reads as zeroes; a preallocated one only
 * when it is not encrypted (decrypted zeroes are not zeroes) and its data file is. */
static bool qcow2_has_zero_init(block_node *node)
{
    qcow2_state *s = node->state;
    bool preallocated = s->l1_size > 0 && s->l1_table[0] != 0;
    if (!preallocated)
        return true;
    if (node->encrypted)
        return false;
    return block_node_has_zero_init(s->data_node);
}

const block_driver block_driver_qcow2 = {
    .format_name = "qcow2",
    .supports_backing = true,
    .supports_copy_offload = true,
    .probe = qcow2_probe,
    .open = qcow2_open,
    .close = qcow2_close,
    .flush = qcow2_flush,
    .writeback_begin = qcow2_writeback_begin,
    .writeback_end = qcow2_writeback_end,
    .read = qcow2_read,
    .write = qcow2_write,
    .write_compressed = qcow2_write_compressed,
    .write_zeroes = qcow2_write_zeroes,
    .discard = qcow2_discard,
    .block_status = qcow2_block_status,
    .truncate = qcow2_truncate,
    .has_zero_init = qcow2_has_zero_init,
    .create_options = qcow2_create_options,
    .create = qcow2_create,
    .info_fill = qcow2_info_fill,
    .check = qcow2_check,
    .measure = qcow2_measure,
    .amend_options = qcow2_amend_options,
    .amend = qcow2_amend,
    .change_backing_file = qcow2_change_backing_file,
    .make_empty = qcow2_make_empty,
    .snapshot_list = qcow2_snapshot_list,
    .snapshot_create = qcow2_snapshot_create,
    .snapshot_goto = qcow2_snapshot_goto,
    .snapshot_delete = qcow2_snapshot_delete,
    .snapshot_load = qcow2_snapshot_load,
    .bitmaps_supported = qcow2_bitmaps_supported,
    .bitmap_list = qcow2_bitmap_list,
    .bitmap_add = qcow2_bitmap_add,
    .bitmap_remove = qcow2_bitmap_remove,
    .bitmap_clear = qcow2_bitmap_clear,
    .bitmap_set_enabled = qcow2_bitmap_set_enabled,
    .bitmap_read = qcow2_bitmap_read,
    .bitmap_merge_bits = qcow2_bitmap_merge_bits,
};
