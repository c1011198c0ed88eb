/* common.h — what every command shares: the command table, qemu-img's error and usage messages,
 * opening images with qemu-img's wording, number arguments, quiet mode and progress
 * (spec/architecture.md §Command line). */
#ifndef QIMG_CLI_COMMON_H
#define QIMG_CLI_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "../block/block.h"
#include "../block/open.h"
#include "../util/error.h"

/* Every command: argv[0] is "qemu-img NAME" (so getopt's own messages read as qemu-img's). */
typedef int (*cli_command_handler)(int argc, char **argv);

int cli_command_amend(int argc, char **argv);
int cli_command_bench(int argc, char **argv);
int cli_command_bitmap(int argc, char **argv);
int cli_command_check(int argc, char **argv);
int cli_command_commit(int argc, char **argv);
int cli_command_compare(int argc, char **argv);
int cli_command_convert(int argc, char **argv);
int cli_command_create(int argc, char **argv);
int cli_command_dd(int argc, char **argv);
int cli_command_info(int argc, char **argv);
int cli_command_map(int argc, char **argv);
int cli_command_measure(int argc, char **argv);
int cli_command_rebase(int argc, char **argv);
int cli_command_resize(int argc, char **argv);
int cli_command_snapshot(int argc, char **argv);

/* ---- help (help.c) ---- */
/* Prints the --help text of command (e.g. "info") to stdout. */
void cli_help_command_print(const char *command);
/* Prints `qemu-img --help` to stdout. */
void cli_help_program_print(void);
/* Prints `qemu-img -V` to stdout. */
void cli_version_print(void);

/* ---- messages ---- */
/* "qemu-img: MESSAGE" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints err as "qemu-img: MESSAGE" (with an optional prefix before the message) and frees it. */
void cli_error_report(error *err, const char *prefix);
/* "qemu-img: MESSAGE\nTry 'qemu-img COMMAND --help' for more information"; returns 1.
 * argv0 is the command's argv[0] ("qemu-img NAME"). */
int cli_usage_error(const char *argv0, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* After getopt returned '?' (getopt already printed its line): prints the Try line; returns 1. */
int cli_usage_try(const char *argv0);

/* Quiet mode (-q): qprintf prints to stdout unless quiet. */
extern bool cli_quiet;
void cli_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- arguments ---- */
/* qemu-img's cvtnum: a size argument named name ("image size", "buffer size for sparse output"...)
 * within [min, max]. Prints "Invalid NAME specified. Must be between MIN and MAX." or
 * "Invalid NAME specified: 'TEXT'" and returns -1 on failure. */
int cli_size_argument(const char *name, const char *text, int64_t min, int64_t max, int64_t *out);
/* Plain integers (qemu_strtol-style, whole text) in [min, max]; same messages. */
int cli_number_argument(const char *name, const char *text, int64_t min, int64_t max, int64_t *out);
/* --output=human|json; prints "--output expects 'human' or 'json', not 'X'" usage error. */
int cli_output_format_parse(const char *argv0, const char *text, bool *json);

/* ---- -o option lists (create.c) ---- */
/* Appends one -o argument ("Invalid option list: X" when malformed); returns 0/-1. */
int cli_options_accumulate(char **options, const char *text);
/* Prints `-o help` for format (with the protocol's options when filename is given); returns the exit code. */
int cli_options_help_print(const char *filename, const char *format);

/* ---- objects ---- */
/* --object: registers the object or prints the error; returns 0/-1. */
int cli_object_add(const char *definition);

/* qemu's deprecation warning for each "key" without "=value" in an option string (the first one
 * is exempt when it is the implied key's value). */
void cli_short_form_warn(const char *text, bool first_is_implied);

/* ---- -l SNAPSHOT of convert and measure ---- */
/* "-l NAME" (an id, else a name) or "-l snapshot.id=ID,snapshot.name=NAME"; the option form wins
 * over a plain one whatever their order. */
typedef struct cli_snapshot_spec {
    const char *plain; /* the last plain -l, or NULL */
    char *id;          /* snapshot.id of the last option form */
    char *name;        /* snapshot.name of the last option form */
    bool has_options;  /* an option form was given */
} cli_snapshot_spec;

/* Takes one -l argument; prints qemu's messages and returns -1 when the option form is malformed. */
int cli_snapshot_spec_parse(cli_snapshot_spec *spec, const char *text);
/* Whether any -l was given. */
bool cli_snapshot_spec_given(const cli_snapshot_spec *spec);
/* Switches node to present the snapshot; prints "Failed to load snapshot: REASON" and returns -1. */
int cli_snapshot_spec_load(const cli_snapshot_spec *spec, block_node *node);
void cli_snapshot_spec_free(cli_snapshot_spec *spec);

/* ---- opening images ---- */
/* Opens an image as qemu-img's img_open does; on failure prints
 * "qemu-img: Could not open 'NAME': REASON" and returns NULL. */
block_node *cli_image_open(const char *filename, const char *format, bool image_opts, int flags,
                           const char *cache_mode, bool quiet);

/* ---- progress (-p) ---- */
/* Starts progress output when enabled: prints "    (0.00/100%)\r" and arms SIGUSR1 reporting. */
void cli_progress_begin(bool enabled);
/* Enables progress output without printing the first line yet (cli_progress_end still ends the
 * line): for commands whose first line comes only once their images are open. */
void cli_progress_arm(bool enabled);
/* Reports done/total; prints when the percentage moved by at least 1% (or on SIGUSR1). */
void cli_progress_update(uint64_t done, uint64_t total);
/* Sets the step (percent, 1 by default) the progress must pass before it is printed again. */
void cli_progress_min_skip_set(float min_skip);
/* Adds delta percent to the progress (qemu's per-chunk progress of rebase), with the same printing. */
void cli_progress_advance(float delta);
/* Prints the final state ("    (100.00/100%)\n") when enabled. */
/* Adds a step of part units out of total to the progress, summing shares in float as qemu's
 * compare does (so the last line may stay below 100%). */
void cli_progress_add(uint64_t part, uint64_t total);
void cli_progress_end(void);

#endif
