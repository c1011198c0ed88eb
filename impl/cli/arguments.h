/* arguments.h — the one parser of command-line options: the options most commands share (-h, -f,
 * --image-opts, -U, -q, --object, -t/-T, --output, -p) are handled here, so a command lists only its
 * own (spec/architecture.md §Command line). */
#ifndef QIMG_CLI_ARGUMENTS_H
#define QIMG_CLI_ARGUMENTS_H

#include <getopt.h>
#include <stdbool.h>

/* The shared options; a command says which it takes, under which long name and letter. */
typedef enum cli_shared_option {
    CLI_SHARED_HELP,        /* prints the command's help; the command exits 0 */
    CLI_SHARED_FORMAT,      /* the image's format (-f) */
    CLI_SHARED_IMAGE_OPTS,  /* the file name is an option list */
    CLI_SHARED_FORCE_SHARE, /* -U */
    CLI_SHARED_QUIET,       /* -q: cli_quiet */
    CLI_SHARED_OBJECT,      /* --object: registers a secret */
    CLI_SHARED_CACHE,       /* the image's cache mode (-t or -T, by command) */
    CLI_SHARED_OUTPUT,      /* --output=human|json */
    CLI_SHARED_PROGRESS,    /* -p */
} cli_shared_option;

/* What the shared options set. */
typedef struct cli_shared_values {
    const char *format;
    bool image_opts;
    bool force_share;
    bool json;
    const char *cache;      /* NULL: not given */
    bool progress;
    bool quiet;             /* -q was given (cli_quiet is set too) */
} cli_shared_values;

#define CLI_ARGUMENTS_MAX 40
/* Values of long options without a letter start here (a command's own ones too). */
#define CLI_ARGUMENT_FIRST_LONG 256
/* A command's own long-only options may instead carry values it chooses (for a switch), from here
 * on: above every value handed out from CLI_ARGUMENT_FIRST_LONG. */
#define CLI_ARGUMENT_FIRST_OWN 1024

/* One command's option table, built in the order qemu-img lists them (which decides how getopt
 * words an ambiguous abbreviation). */
typedef struct cli_arguments {
    const char *command;                        /* for --help */
    struct option long_options[CLI_ARGUMENTS_MAX + 1];
    int shared_of[CLI_ARGUMENTS_MAX + 1];       /* the cli_shared_option of each entry, -1: the command's */
    int shared_by_letter[128];                  /* cli_shared_option + 1 of a shared letter, 0: none */
    int count;
    char short_options[2 * CLI_ARGUMENTS_MAX + 2];
    int next_long_value;
} cli_arguments;

/* Starts the table of command; in_order: non-option arguments come back as value 1 in place (getopt's
 * leading '-'). */
void cli_arguments_init(cli_arguments *a, const char *command, bool in_order);

/* Adds shared option which under long_name (NULL: no long form) and letter (0: long form only). */
void cli_arguments_add_shared(cli_arguments *a, cli_shared_option which, const char *long_name, int letter);

/* Adds one of the command's own options: letter > 0 is also its short form; letter 0 gets a value
 * of its own, returned. */
int cli_arguments_add(cli_arguments *a, const char *long_name, int has_arg, int letter);

/* Adds one of the command's own long options without a letter, under value (at least
 * CLI_ARGUMENT_FIRST_OWN, unique in the command), which cli_arguments_next returns for it. */
void cli_arguments_add_long(cli_arguments *a, const char *long_name, int has_arg, int value);

/* Adds long_name as a second long form of the option already added under letter (shared or the
 * command's own); getopt treats it as that option. */
void cli_arguments_add_alias(cli_arguments *a, const char *long_name, int letter);

/* Adds a short option the command takes with no long form. */
void cli_arguments_add_short(cli_arguments *a, int letter, int has_arg);

/* The outcome of cli_arguments_next when the command must stop. */
#define CLI_ARGUMENTS_END (-1)
#define CLI_ARGUMENTS_EXIT (-2)

/* The next of the command's own options (its value; optarg as getopt sets it), after handling any
 * shared ones into *values. CLI_ARGUMENTS_END when the options are over (optind at the first
 * operand); CLI_ARGUMENTS_EXIT when the command must return *exit_code now (help printed, an unknown
 * option, a bad --output or --object, already reported). */
int cli_arguments_next(cli_arguments *a, int argc, char **argv, cli_shared_values *values, int *exit_code);

#endif
