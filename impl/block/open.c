/* open.c — opening images: names, json: and --image-opts, probing, backing chains, cache modes,
 * and the creation flow of qemu-img create (spec/architecture.md §Opening images). */
#include "open.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "../util/memory.h"
#include "../util/report.h"

enum { OPEN_PROBE_BYTES = 2048, OPEN_BACKING_DEPTH_MAX = 64 };

int block_cache_mode_parse(const char *mode, int *flags, error **errp)
{
    *flags = 0;
    if (mode == NULL || strcmp(mode, "writeback") == 0)
        return 0;
    if (strcmp(mode, "none") == 0 || strcmp(mode, "off") == 0)
        *flags = BLOCK_OPEN_CACHE_DIRECT;
    else if (strcmp(mode, "writethrough") == 0)
        *flags = BLOCK_OPEN_WRITE_THROUGH;
    else if (strcmp(mode, "directsync") == 0)
        *flags = BLOCK_OPEN_CACHE_DIRECT | BLOCK_OPEN_WRITE_THROUGH;
    else if (strcmp(mode, "unsafe") == 0)
        *flags = BLOCK_OPEN_NO_FLUSH;
    else
        return error_set(errp, "Invalid cache option: %s", mode);
    return 0;
}

char *block_path_combine(const char *base_filename, const char *name)
{
    if (name[0] == '/' || strncmp(name, "json:", 5) == 0 || base_filename == NULL)
        return memory_strdup(name);
    const char *slash = strrchr(base_filename, '/');
    if (slash == NULL)
        return memory_strdup(name);
    size_t prefix = (size_t)(slash - base_filename) + 1;
    char *joined = memory_alloc_zero(prefix + strlen(name) + 1);
    memcpy(joined, base_filename, prefix);
    strcpy(joined + prefix, name);
    return joined;
}

/* The canonical path of name taken relative to the folder of relative_to; NULL when unresolvable. */
static char *open_path_resolve(const char *relative_to, const char *name)
{
    char *joined = block_path_combine(relative_to, name);
    char *resolved = realpath(joined, NULL);
    free(joined);
    return resolved;
}

block_node *block_chain_find(block_node *top, const char *name, block_node **parent)
{
    block_node *found = NULL;
    for (block_node *current = top; current != NULL && current->backing != NULL && found == NULL;
         current = current->backing) {
        const char *current_name = current->file != NULL ? current->file->filename : current->filename;
        char *wanted = open_path_resolve(current_name, name);
        char *recorded = NULL;
        if (current->backing_file != NULL)
            recorded = current->full_backing_file != NULL ? realpath(current->full_backing_file, NULL)
                                                          : open_path_resolve(current_name, current->backing_file);
        if (wanted != NULL && recorded != NULL && strcmp(wanted, recorded) == 0) {
            found = current->backing;
            if (parent)
                *parent = current;
        }
        free(wanted);
        free(recorded);
    }
    return found;
}

/* Flattens a JSON object into dotted keys ("file.filename=t.img"). */
static void open_json_flatten(const json_value *object, const char *prefix, option_list *out)
{
    for (size_t i = 0; i < object->member_count; i++) {
        const json_member *m = &object->members[i];
        char *key = prefix ? memory_printf("%s.%s", prefix, m->key) : memory_strdup(m->key);
        const json_value *v = m->value;
        char *text = NULL;
        switch (v->type) {
        case JSON_OBJECT: open_json_flatten(v, key, out); break;
        case JSON_STRING: option_list_set(out, key, v->string); break;
        case JSON_BOOL: option_list_set(out, key, v->boolean ? "on" : "off"); break;
        case JSON_INTEGER:
            text = memory_printf("%lld", (long long)v->integer);
            option_list_set(out, key, text);
            break;
        case JSON_DOUBLE:
            text = memory_printf("%g", v->number);
            option_list_set(out, key, text);
            break;
        case JSON_ARRAY:
            for (size_t j = 0; j < v->item_count; j++) {
                char *item_key = memory_printf("%s.%zu", key, j);
                if (v->items[j]->type == JSON_OBJECT)
                    open_json_flatten(v->items[j], item_key, out);
                else if (v->items[j]->type == JSON_STRING)
                    option_list_set(out, item_key, v->items[j]->string);
                free(item_key);
            }
            break;
        case JSON_NULL: break;
        }
        free(text);
        free(key);
    }
}

/* Puts a plain image name into options: its protocol prefix is resolved here ("file:x" opens x),
 * and a protocol given with -f takes the name itself. */
static int open_plain_name_options(const block_open_request *request, option_list *options, error **errp)
{
    const block_driver *format = NULL;
    if (request->format && (format = block_driver_find(request->format)) == NULL)
        return error_set(errp, "Unknown driver '%s'", request->format);
    char *path = NULL;
    const block_driver *protocol = file_protocol_resolve(request->filename, &path, errp);
    if (protocol == NULL)
        return -1;
    bool prefixed = strcmp(path, request->filename) != 0;
    if (format)
        option_list_set(options, "driver", request->format);
    if (format && format->is_protocol) {
        option_list_set(options, "filename", path);
    } else {
        option_list_set(options, "file.filename", path);
        if (prefixed)
            option_list_set(options, "file.driver", protocol->protocol_name);
    }
    free(path);
    return 0;
}

/* Parses the user's image name into an option list (driver, file.filename, ...). */
static int open_request_options(const block_open_request *request, option_list *options, error **errp)
{
    if (request->image_opts) {
        /* A leading bare word names a node ("file"), as qemu's option strings read it. */
        if (option_list_parse(options, request->filename, "file", errp) < 0)
            return -1;
    } else if (strncmp(request->filename, "json:", 5) == 0) {
        json_value *root = json_parse(request->filename + 5, errp);
        if (root == NULL) {
            error_prepend(errp, "Could not parse the JSON options: ");
            return -1;
        }
        if (root->type != JSON_OBJECT) {
            json_free(root);
            return error_set(errp, "Invalid JSON object given");
        }
        open_json_flatten(root, NULL, options);
        json_free(root);
    } else {
        return open_plain_name_options(request, options, errp);
    }
    if (request->format) {
        if (option_list_get(options, "driver") && request->image_opts)
            return error_set(errp, "Cannot specify both 'driver' and 'format'");
        option_list_set(options, "driver", request->format);
    }
    return 0;
}

/* ---- the options every node takes ---- */

/* The on/off options of a node, parsed before the node (and its children) open, in qemu's order.
 * They adjust *flags, which children inherit. */
static int open_node_switches_take(option_list *options, int *flags, error **errp)
{
    static const char *const names[] = {"cache.no-flush", "auto-read-only", "read-only", "cache.direct", "force-share"};
    bool given[5] = {false}, value[5] = {false};
    for (size_t i = 0; i < 5; i++) {
        const char *text = option_list_get(options, names[i]);
        if (text == NULL)
            continue;
        if (option_value_parse_bool(names[i], text, &value[i], errp) < 0)
            return -1;
        given[i] = true;
        option_list_remove(options, names[i]);
    }
    if (given[0])
        *flags = value[0] ? (*flags | BLOCK_OPEN_NO_FLUSH) : (*flags & ~BLOCK_OPEN_NO_FLUSH);
    if (given[3])
        *flags = value[3] ? (*flags | BLOCK_OPEN_CACHE_DIRECT) : (*flags & ~BLOCK_OPEN_CACHE_DIRECT);
    if (given[2] && value[2] && (*flags & BLOCK_OPEN_READ_WRITE))
        return error_set(errp, "Block node is read-only");
    if (given[2] && !value[2])
        *flags |= BLOCK_OPEN_WRITABLE_ASKED;
    if (given[4] && value[4]) {
        if (*flags & (BLOCK_OPEN_READ_WRITE | BLOCK_OPEN_WRITABLE_ASKED))
            return error_set(errp, "force-share=on can only be used with read-only images");
        *flags |= BLOCK_OPEN_FORCE_SHARE;
    }
    return 0;
}

/* qemu's rule for node names: a letter, then letters, digits, '-', '.' or '_'; at most 31 bytes. */
static int open_node_name_check(const char *name, error **errp)
{
    bool valid = (name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z');
    for (const char *c = name; valid && *c; c++)
        valid = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' ||
                *c == '.' || *c == '_';
    if (!valid)
        return error_set(errp, "Invalid node-name: '%s'", name);
    if (strlen(name) > 31)
        return error_set(errp, "Node name too long");
    return 0;
}

/* The node settings checked when the node itself opens: discard, detect-zeroes, node-name. */
static int open_node_settings_take(option_list *options, int *flags, error **errp)
{
    const char *discard = option_list_get(options, "discard");
    if (discard) {
        if (strcmp(discard, "unmap") == 0 || strcmp(discard, "on") == 0)
            *flags |= BLOCK_OPEN_UNMAP;
        else if (strcmp(discard, "ignore") == 0 || strcmp(discard, "off") == 0)
            *flags &= ~BLOCK_OPEN_UNMAP;
        else
            return error_set(errp, "Invalid discard option");
    }
    const char *zeroes = option_list_get(options, "detect-zeroes");
    if (zeroes) {
        if (strcmp(zeroes, "off") != 0 && strcmp(zeroes, "on") != 0 && strcmp(zeroes, "unmap") != 0)
            return error_set(errp, "invalid parameter value: %s", zeroes);
        if (strcmp(zeroes, "unmap") == 0 && !(*flags & BLOCK_OPEN_UNMAP))
            return error_set(errp, "setting detect-zeroes to unmap is not allowed without setting discard "
                                   "operation to unmap");
    }
    const char *name = option_list_get(options, "node-name");
    if (name && open_node_name_check(name, errp) < 0)
        return -1;
    option_list_remove(options, "discard");
    option_list_remove(options, "detect-zeroes");
    option_list_remove(options, "node-name");
    return 0;
}

/* Moves the keys under prefix (without it) from options into a new list. */
static option_list open_options_split(option_list *options, const char *prefix)
{
    option_list child = {0};
    size_t length = strlen(prefix);
    for (size_t i = 0; i < options->count;) {
        const char *key = options->entries[i].key;
        if (strncmp(key, prefix, length) == 0 && key[length] != '\0') {
            option_list_set(&child, key + length, options->entries[i].value);
            option_list_remove(options, key);
        } else {
            i++;
        }
    }
    return child;
}

/* Opens a protocol node from its options (filename, driver, the protocol's own keys); the lock
 * bytes are left to the caller. protocol NULL: the driver option or the file name decides. */
static block_node *open_protocol_node(const block_driver *protocol, option_list *options, int flags, error **errp)
{
    /* The one sharing rule of every node: a node that may be written lets no other writer in. */
    if ((flags & BLOCK_OPEN_FORCE_SHARE) && (flags & BLOCK_OPEN_READ_WRITE)) {
        error_set(errp, "force-share=on can only be used with read-only images");
        return NULL;
    }
    if (open_node_settings_take(options, &flags, errp) < 0)
        return NULL;
    const char *name = option_list_get(options, "driver");
    if (protocol == NULL && name) {
        protocol = block_driver_find(name);
        if (protocol == NULL) {
            error_set(errp, "Unknown driver '%s'", name);
            return NULL;
        }
        if (!protocol->is_protocol) {
            error_set(errp, "A block device must be specified for \"file\"");
            return NULL;
        }
    }
    const char *filename = option_list_get(options, "filename");
    if (protocol == NULL)
        protocol = block_driver_find_protocol(filename ? filename : "");
    block_node *node = block_node_new(protocol, filename ? filename : "");
    node->flags = flags;
    option_list_remove(options, "driver");
    if (protocol->open(node, options, flags, errp) < 0) {
        block_node_close(node);
        return NULL;
    }
    return node;
}

block_node *block_protocol_open(const char *filename, int flags, error **errp)
{
    char *path = NULL;
    const block_driver *protocol = file_protocol_resolve(filename, &path, errp);
    if (protocol == NULL)
        return NULL;
    block_node *node = block_node_new(protocol, path);
    free(path);
    node->flags = flags;
    if (protocol->open(node, NULL, flags, errp) < 0 || file_node_locks_commit(node, false, errp) < 0) {
        block_node_close(node);
        return NULL;
    }
    return node;
}

block_node *block_format_open_on(const block_driver *driver, block_node *file, const char *filename,
                                 option_list *options, int flags, error **errp)
{
    block_node *node = block_node_new(driver, filename);
    node->file = file;
    node->flags = flags;
    node->read_only = !(flags & BLOCK_OPEN_READ_WRITE);
    option_list empty = {0};
    if (driver->open(node, options ? options : &empty, flags, errp) < 0) {
        node->file = NULL;
        block_node_close(node);
        return NULL;
    }
    return node;
}

/* The image is a protocol node itself (-f file, driver=file): it is the user of its locks. */
static block_node *open_protocol_image(const block_driver *protocol, option_list *options, int flags,
                                       error **errp)
{
    option_list_remove(options, "driver");
    block_node *node = open_protocol_node(protocol, options, flags, errp);
    if (node && file_node_locks_commit(node, true, errp) < 0) {
        if (errp && *errp)
            (*errp)->kind = ERROR_KIND_LOCK_USER_PERMISSION;
        block_node_close(node);
        return NULL;
    }
    return node;
}

/* Reads the first bytes of file and picks the format they show (raw when nothing else claims them). */
static const block_driver *open_format_probe(block_node *file, int *flags, error **errp)
{
    uint8_t probe[OPEN_PROBE_BYTES];
    uint64_t length = file->size;
    size_t n = length < OPEN_PROBE_BYTES ? (size_t)length : OPEN_PROBE_BYTES;
    memset(probe, 0, sizeof(probe));
    if (n > 0 && block_node_read(file, 0, n, probe, errp) < 0) {
        error_prepend(errp, "Could not read image for determining its format: ");
        return NULL;
    }
    const block_driver *driver = block_driver_probe(probe, n, file->filename);
    if (driver == NULL) {
        error_set(errp, "Could not determine image format: No compatible driver found");
        return NULL;
    }
    if (strcmp(driver->format_name, "raw") == 0)
        *flags |= BLOCK_OPEN_PROBED;
    return driver;
}

/* Opens the protocol child of a format node from the "file." options ("filename" too when a format
 * is named); a "file" string would name another node, which qemu-img cannot have. */
static block_node *open_file_child(const block_driver *driver, option_list *options, int flags, error **errp)
{
    const char *reference = option_list_get(options, "file");
    if (reference) {
        bool has_child_options = false;
        for (size_t i = 0; i < options->count; i++)
            has_child_options |= strncmp(options->entries[i].key, "file.", 5) == 0;
        if (has_child_options)
            error_set(errp, "Cannot reference an existing block device with additional options or a new filename");
        else
            error_set(errp, "Cannot find device='%s' nor node-name='%s'", reference, reference);
        return NULL;
    }
    const char *top_filename = option_list_get(options, "filename");
    if (top_filename && driver && !option_list_get(options, "file.filename")) {
        char *copy = memory_strdup(top_filename);
        option_list_remove(options, "filename");
        option_list_set(options, "file.filename", copy);
        free(copy);
    }
    option_list child = open_options_split(options, "file.");
    /* The child inherits discard=unmap; a bad value is the parent's error, reported later. */
    const char *discard = option_list_get(options, "discard");
    if (discard && (strcmp(discard, "unmap") == 0 || strcmp(discard, "on") == 0))
        flags |= BLOCK_OPEN_UNMAP;
    block_node *file = NULL;
    if (driver == NULL && child.count == 0)
        error_set(errp, "Must specify either driver or file");
    else if (child.count == 0)
        error_set(errp, "A block device must be specified for \"file\"");
    else if (open_node_switches_take(&child, &flags, errp) == 0)
        file = open_protocol_node(NULL, &child, flags, errp);
    option_list_free(&child);
    return file;
}

/* Opens an image from its options: the protocol child, then the given or probed format on it,
 * then the lock bytes of the protocol node; no backing chain. */
static block_node *open_image_node(option_list *options, int flags, error **errp)
{
    const char *format = option_list_get(options, "driver");
    const block_driver *driver = NULL;
    if (format) {
        driver = block_driver_find(format);
        if (driver == NULL) {
            error_set(errp, "Unknown driver '%s'", format);
            return NULL;
        }
    }
    if (driver && driver->is_protocol)
        return open_protocol_image(driver, options, flags, errp);
    block_node *file = open_file_child(driver, options, flags, errp);
    if (file == NULL)
        return NULL;
    bool named = driver != NULL;
    if (open_node_settings_take(options, &flags, errp) < 0 ||
        (driver == NULL && (driver = open_format_probe(file, &flags, errp)) == NULL)) {
        block_node_close(file);
        return NULL;
    }
    option_list_remove(options, "driver");
    /* A named format that keeps its file's permissions to itself takes them when the file is
     * attached, as qemu does: a lock conflict is reported before the header is read. */
    bool locked_early = named && !driver->shares_child_permissions;
    if (locked_early && file_node_locks_commit(file, false, errp) < 0) {
        block_node_close(file);
        return NULL;
    }
    block_node *node = block_format_open_on(driver, file, file->filename, options, flags, errp);
    if (node == NULL) {
        block_node_close(file);
        return NULL;
    }
    if (!locked_early && file_node_locks_commit(file, driver->shares_child_permissions, errp) < 0) {
        if (driver->shares_child_permissions && errp && *errp)
            (*errp)->kind = ERROR_KIND_LOCK_USER_PERMISSION;
        block_node_close(node);
        return NULL;
    }
    return node;
}

/* Opens the chain below node, refusing loops and absurd depths. */
static int open_backing_chain(block_node *node, int flags, int depth, error **errp)
{
    if (node->backing_file == NULL || node->backing != NULL)
        return 0;
    if (depth > OPEN_BACKING_DEPTH_MAX)
        return error_set(errp, "Backing file chain too deep (infinite loop?)");
    const char *base_name = node->file ? node->file->filename : node->filename;
    char *full = block_path_combine(base_name, node->backing_file);
    free(node->full_backing_file);
    node->full_backing_file = memory_strdup(full);
    /* Loop detection: the same file reached again. */
    char resolved_self[PATH_MAX], resolved_backing[PATH_MAX];
    if (realpath(base_name, resolved_self) && realpath(full, resolved_backing) &&
        strcmp(resolved_self, resolved_backing) == 0) {
        free(full);
        return error_set(errp, "Backing file '%s' creates an infinite loop", node->backing_file);
    }
    block_open_request request = {
        .filename = full,
        .format = node->backing_format,
        /* Read-only; a qcow2 backing still keeps others from writing its file (its metadata
         * must stay consistent) unless the user forces sharing; raw passes the user's wish on. */
        .flags = (flags & ~(BLOCK_OPEN_READ_WRITE | BLOCK_OPEN_PROBED | BLOCK_OPEN_REPAIR | BLOCK_OPEN_CHECK)) |
                 BLOCK_OPEN_NO_BACKING,
    };
    block_node *backing = block_image_open(&request, errp);
    if (backing == NULL) {
        free(full);
        return -1;
    }
    free(full);
    node->backing = backing;
    int ret = open_backing_chain(backing, flags, depth + 1, errp);
    if (ret < 0) {
        /* qemu names every level: "Could not open backing file: " once per image below the top */
        if (errp && *errp && (*errp)->kind != ERROR_KIND_LOCK_USER_PERMISSION)
            error_prepend(errp, "Could not open backing file: ");
        return -1;
    }
    return 0;
}

int block_backing_open(block_node *node, int flags, error **errp)
{
    if (open_backing_chain(node, flags, 0, errp) < 0) {
        if (errp && *errp && (*errp)->kind != ERROR_KIND_LOCK_USER_PERMISSION)
            error_prepend(errp, "Could not open backing file: ");
        return -1;
    }
    return 0;
}

block_node *block_image_open(const block_open_request *request, error **errp)
{
    int cache_flags = 0;
    if (block_cache_mode_parse(request->cache_mode, &cache_flags, errp) < 0)
        return NULL;
    option_list options = {0};
    block_node *node = NULL;
    int flags = request->flags | cache_flags;
    if (open_request_options(request, &options, errp) < 0 || open_node_switches_take(&options, &flags, errp) < 0)
        goto cleanup;
    node = open_image_node(&options, flags, errp);
    if (node == NULL)
        goto cleanup;
    if (!(flags & BLOCK_OPEN_NO_BACKING) && node->backing_file) {
        if (block_backing_open(node, flags, errp) < 0) {
            block_node_close(node);
            node = NULL;
            goto cleanup;
        }
    } else if (node->backing_file && node->full_backing_file == NULL) {
        node->full_backing_file =
            block_path_combine(node->file ? node->file->filename : node->filename, node->backing_file);
    }
cleanup:
    option_list_free(&options);
    return node;
}

/* ---- creation ---- */

int block_create_prepare(block_create_plan *plan, const char *filename, const char *format,
                         const char *backing_file, const char *backing_format, const char *options_text,
                         uint64_t size, bool unsafe_backing, error **errp)
{
    memset(plan, 0, sizeof(*plan));
    plan->filename = memory_strdup(filename);
    const block_driver *driver = block_driver_find(format);
    if (driver == NULL)
        return error_set(errp, "Unknown file format '%s'", format);
    char *path = NULL;
    const block_driver *protocol = file_protocol_resolve(filename, &path, errp);
    free(path);
    if (protocol == NULL)
        return -1;
    if (driver->create_options == NULL || driver->create == NULL)
        return error_set(errp, "Format driver '%s' does not support image creation", driver->format_name);
    plan->driver = driver;
    option_desc_list_append(&plan->descs, driver->create_options);
    option_desc_list_append(&plan->descs, protocol->create_options);

    if (options_text && options_text[0]) {
        if (option_list_parse(&plan->options, options_text, NULL, errp) < 0)
            return -1;
        if (option_list_validate(&plan->options, &plan->descs, errp) < 0)
            return -1;
    }
    if (option_list_get(&plan->options, "size") == NULL) {
        if (size != UINT64_MAX) {
            char text[32];
            snprintf(text, sizeof(text), "%llu", (unsigned long long)size);
            option_list_set(&plan->options, "size", text);
        }
    } else if (size != UINT64_MAX) {
        return error_set(errp, "The image size must be specified only once");
    }
    if (backing_file) {
        if (option_desc_list_find(&plan->descs, "backing_file") == NULL)
            return error_set(errp, "Backing file not supported for file format '%s'", format);
        option_list_set(&plan->options, "backing_file", backing_file);
    }
    if (backing_format) {
        if (option_desc_list_find(&plan->descs, "backing_fmt") == NULL)
            return error_set(errp, "Backing file format not supported for file format '%s'", format);
        option_list_set(&plan->options, "backing_fmt", backing_format);
    }
    const char *backing = option_list_get(&plan->options, "backing_file");
    const char *backing_fmt = option_list_get(&plan->options, "backing_fmt");
    if (backing) {
        if (strcmp(filename, backing) == 0)
            return error_set(errp, "Error: Trying to create an image with the same filename as the backing file");
        if (backing[0] == '\0')
            return error_set(errp, "Expected backing file name, got empty string");
    }
    uint64_t image_size = UINT64_MAX;
    const char *size_text = option_list_get(&plan->options, "size");
    if (size_text && option_value_parse_size("size", size_text, &image_size, errp) < 0)
        return -1;
    if (backing && !unsafe_backing) {
        char *full = block_path_combine(filename, backing);
        block_open_request request = {
            .filename = full,
            .format = backing_fmt,
            .flags = BLOCK_OPEN_FORCE_SHARE | BLOCK_OPEN_NO_IO,
        };
        block_node *bs = block_image_open(&request, errp);
        free(full);
        if (bs == NULL) {
            if (errp && *errp) {
                char *hinted = memory_printf("%s\nCould not open backing image.", (*errp)->message);
                free((*errp)->message);
                (*errp)->message = hinted;
            }
            return -1;
        }
        if (backing_fmt == NULL) {
            error_set(errp, "Backing file specified without backing format\nDetected format of %s.",
                      bs->driver->format_name);
            block_node_close(bs);
            return -1;
        }
        if (image_size == UINT64_MAX) {
            image_size = (uint64_t)block_node_length(bs);
            char text[32];
            snprintf(text, sizeof(text), "%llu", (unsigned long long)image_size);
            option_list_set(&plan->options, "size", text);
        }
        block_node_close(bs);
    } else if (backing && backing_fmt == NULL) {
        return error_set(errp, "Backing file specified without backing format");
    }
    if (image_size == UINT64_MAX)
        return error_set(errp, "Image creation needs a size parameter");
    char *rendered = option_list_format(&plan->options, &plan->descs);
    plan->formatting_line = memory_printf("Formatting '%s', fmt=%s %s", filename, format, rendered);
    free(rendered);
    return 0;
}

int block_create_run(block_create_plan *plan, error **errp)
{
    return plan->driver->create(plan->filename, &plan->options, errp);
}

void block_create_plan_free(block_create_plan *plan)
{
    free(plan->filename);
    option_list_free(&plan->options);
    option_desc_list_free(&plan->descs);
    free(plan->formatting_line);
    memset(plan, 0, sizeof(*plan));
}
