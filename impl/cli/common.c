/* common.c — messages, number arguments, image opening and progress shared by every command
 * (spec/architecture.md §Command line). */
#include "common.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../block/secret.h"
#include "../util/memory.h"
#include "../util/size.h"

bool cli_quiet;

void cli_error(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("qemu-img: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cli_error_report(error *err, const char *prefix)
{
    fflush(stdout);
    fprintf(stderr, "qemu-img: %s%s\n", prefix ? prefix : "", error_message(err));
    error_free(err);
}

int cli_usage_error(const char *argv0, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("qemu-img: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help' for more information\n", argv0);
    return 1;
}

int cli_usage_try(const char *argv0)
{
    fprintf(stderr, "Try '%s --help' for more information\n", argv0);
    return 1;
}

void cli_printf(const char *fmt, ...)
{
    if (cli_quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
}

int cli_size_argument(const char *name, const char *text, int64_t min, int64_t max, int64_t *out)
{
    uint64_t value;
    int r = size_parse(text, &value);
    if (r == -ERANGE || (r == 0 && (value > (uint64_t)max || (int64_t)value < min))) {
        cli_error("Invalid %s specified. Must be between %lld and %lld.", name, (long long)min, (long long)max);
        return -1;
    }
    if (r < 0) {
        cli_error("Invalid %s specified: '%s'", name, text);
        return -1;
    }
    *out = (int64_t)value;
    return 0;
}

int cli_number_argument(const char *name, const char *text, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    errno = 0;
    const char *p = text;
    while (*p == ' ' || *p == '\t')
        p++;
    unsigned long long value = strtoull(p, &end, 0);
    if (end == p || *end != '\0') {
        cli_error("Invalid %s specified: '%s'", name, text);
        return -1;
    }
    /* strtoull lets negative numbers wrap around, as qemu's strtou64 does: they fail the range check. */
    if (errno == ERANGE || value > (unsigned long long)max || (long long)value < min) {
        cli_error("Invalid %s specified. Must be between %lld and %lld.", name, (long long)min, (long long)max);
        return -1;
    }
    *out = (int64_t)value;
    return 0;
}

int cli_output_format_parse(const char *argv0, const char *text, bool *json)
{
    if (strcmp(text, "json") == 0) {
        *json = true;
        return 0;
    }
    if (strcmp(text, "human") == 0) {
        *json = false;
        return 0;
    }
    cli_usage_error(argv0, "--output expects 'human' or 'json', not '%s'", text);
    return -1;
}

int cli_object_add(const char *definition)
{
    error *err = NULL;
    if (secret_object_add(definition, &err) < 0) {
        cli_error_report(err, NULL);
        return -1;
    }
    return 0;
}

void cli_short_form_warn(const char *text, bool first_is_implied)
{
    const char *cursor = text;
    bool first = true;
    while (*cursor) {
        size_t name_length = strcspn(cursor, "=,");
        if (cursor[name_length] == '=') {
            cursor += name_length + 1;
            /* The value runs to the first single comma (",," is a comma in it). */
            while (*cursor && !(cursor[0] == ',' && cursor[1] != ','))
                cursor += cursor[0] == ',' ? 2 : 1;
        } else {
            if (!(first && first_is_implied)) {
                fflush(stdout);
                fprintf(stderr, "qemu-img: warning: short-form boolean option '%.*s' deprecated\n"
                                "Please use %.*s=on instead\n",
                        (int)name_length, cursor, (int)name_length, cursor);
            }
            cursor += name_length;
        }
        first = false;
        if (*cursor == ',')
            cursor++;
    }
}

int cli_snapshot_spec_parse(cli_snapshot_spec *spec, const char *text)
{
    if (strncmp(text, "snapshot.", 9) != 0) {
        spec->plain = text;
        return 0;
    }
    option_list list = {0};
    error *err = NULL;
    int ret = -1;
    cli_short_form_warn(text, false);
    if (option_list_parse(&list, text, NULL, &err) < 0) {
        cli_error_report(err, NULL);
        goto cleanup;
    }
    free(spec->id);
    free(spec->name);
    spec->id = spec->name = NULL;
    for (size_t i = 0; i < list.count; i++) {
        const char *key = list.entries[i].key;
        char **slot = strcmp(key, "snapshot.id") == 0 ? &spec->id : strcmp(key, "snapshot.name") == 0 ? &spec->name : NULL;
        if (slot == NULL) {
            cli_error("Invalid parameter '%s'", key);
            goto cleanup;
        }
        free(*slot);
        *slot = memory_strdup(list.entries[i].value);
    }
    spec->has_options = true;
    ret = 0;
cleanup:
    if (ret < 0)
        cli_error("Failed in parsing snapshot param '%s'", text);
    option_list_free(&list);
    return ret;
}

bool cli_snapshot_spec_given(const cli_snapshot_spec *spec)
{
    return spec->has_options || spec->plain != NULL;
}

int cli_snapshot_spec_load(const cli_snapshot_spec *spec, block_node *node)
{
    error *err = NULL;
    const char *id = spec->has_options ? spec->id : spec->plain;
    const char *name = spec->has_options ? spec->name : NULL;
    int ret;
    if (id == NULL && name == NULL) {
        ret = error_set(&err, "snapshot_id and name are both NULL");
    } else if (node->driver->snapshot_load == NULL) {
        ret = error_set(&err, "Block format '%s' used by device '' does not support temporarily loading internal "
                              "snapshots",
                        node->driver->format_name);
    } else {
        ret = node->driver->snapshot_load(node, id, name, &err);
        if (ret < 0 && !spec->has_options) {
            /* A plain -l argument is tried as an id first, then as a name. */
            error_free(err);
            err = NULL;
            ret = node->driver->snapshot_load(node, NULL, spec->plain, &err);
        }
    }
    if (ret < 0) {
        cli_error_report(err, "Failed to load snapshot: ");
        return -1;
    }
    return 0;
}

void cli_snapshot_spec_free(cli_snapshot_spec *spec)
{
    free(spec->id);
    free(spec->name);
    memset(spec, 0, sizeof(*spec));
}

/* Whether the --image-opts string sets force-share to anything but "on" (which -U forbids). */
static bool cli_force_share_conflicts(const char *options_text)
{
    option_list options = {0};
    bool conflicts = false;
    error *err = NULL;
    if (option_list_parse(&options, options_text, NULL, &err) == 0) {
        const char *value = option_list_get(&options, "force-share");
        conflicts = value != NULL && strcmp(value, "on") != 0;
    }
    error_free(err);
    option_list_free(&options);
    return conflicts;
}

block_node *cli_image_open(const char *filename, const char *format, bool image_opts, int flags,
                           const char *cache_mode, bool quiet)
{
    if (image_opts && format) {
        cli_error("--image-opts and --format are mutually exclusive");
        return NULL;
    }
    if (image_opts)
        cli_short_form_warn(filename, true);
    if (image_opts && (flags & BLOCK_OPEN_FORCE_SHARE) && cli_force_share_conflicts(filename)) {
        cli_error("--force-share/-U conflicts with image options");
        return NULL;
    }
    block_open_request request = {
        .filename = filename,
        .format = format,
        .image_opts = image_opts,
        .flags = flags,
        .cache_mode = cache_mode,
    };
    error *err = NULL;
    block_node *node = block_image_open(&request, &err);
    if (node == NULL) {
        char *prefix = memory_printf("Could not open '%s': ", filename);
        cli_error_report(err, prefix);
        free(prefix);
    }
    return node;
}

/* ---- progress ---- */

static struct {
    bool enabled;
    float current;
    float last_printed;
    float min_skip;
    volatile sig_atomic_t print_pending;
} cli_progress_state;

/* SIGUSR1: report the progress on the next update even without -p. */
static void cli_progress_signal(int signal_number)
{
    (void)signal_number;
    cli_progress_state.print_pending = 1;
}

static void cli_progress_show(void)
{
    if (cli_progress_state.enabled) {
        printf("    (%3.2f/100%%)\r", cli_progress_state.current);
        fflush(stdout);
    } else if (cli_progress_state.print_pending) {
        fprintf(stderr, "    (%3.2f/100%%)\n", cli_progress_state.current);
        cli_progress_state.print_pending = 0;
    }
}

void cli_progress_arm(bool enabled)
{
    cli_progress_state.enabled = enabled;
    cli_progress_state.current = 0;
    cli_progress_state.last_printed = 0;
    cli_progress_state.min_skip = 1;
    signal(SIGUSR1, cli_progress_signal);
}

void cli_progress_begin(bool enabled)
{
    cli_progress_arm(enabled);
    cli_progress_show();
}

/* Moves the progress to current percent (at most 100); prints when it moved by more than the minimum
 * step, reached 0 or 100, or a SIGUSR1 asked for it. */
static void cli_progress_set(float current)
{
    if (current > 100)
        current = 100;
    cli_progress_state.current = current;
    float skip = cli_progress_state.min_skip;
    if (current > cli_progress_state.last_printed + skip || current < cli_progress_state.last_printed - skip ||
        current == 0 || current == 100 || cli_progress_state.print_pending) {
        cli_progress_state.last_printed = current;
        cli_progress_show();
    }
}

void cli_progress_update(uint64_t done, uint64_t total)
{
    cli_progress_set(total ? (float)((double)done * 100.0 / (double)total) : 100.0f);
}

void cli_progress_min_skip_set(float min_skip)
{
    cli_progress_state.min_skip = min_skip;
}

void cli_progress_advance(float delta)
{
    cli_progress_set(cli_progress_state.current + delta);
}

void cli_progress_add(uint64_t part, uint64_t total)
{
    /* qemu's arithmetic, in single precision: the step's share in percent, then added as
     * share / 100 * 100.  The sum of the shares may end just short of 100. */
    float share = total ? ((float)part / (float)total) * 100 : 100.0f;
    cli_progress_advance(share / 100 * 100);
}

void cli_progress_end(void)
{
    if (cli_progress_state.enabled) {
        printf("\n");
        fflush(stdout);
    }
}
