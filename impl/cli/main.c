/* main.c — qemu-img's entry point: global options and the command table (spec/architecture.md §Command line). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "../util/memory.h"

/* Commands are referenced weakly so that one still being written leaves the others usable: an
 * absent command is reported as not found. */
#define COMMAND_DECLARE(name) extern int cli_command_##name(int argc, char **argv) __attribute__((weak));
COMMAND_DECLARE(amend)
COMMAND_DECLARE(bench)
COMMAND_DECLARE(bitmap)
COMMAND_DECLARE(check)
COMMAND_DECLARE(commit)
COMMAND_DECLARE(compare)
COMMAND_DECLARE(convert)
COMMAND_DECLARE(create)
COMMAND_DECLARE(dd)
COMMAND_DECLARE(info)
COMMAND_DECLARE(map)
COMMAND_DECLARE(measure)
COMMAND_DECLARE(rebase)
COMMAND_DECLARE(resize)
COMMAND_DECLARE(snapshot)

extern void cli_help_program_print(void) __attribute__((weak));
extern void cli_version_print(void) __attribute__((weak));

typedef struct cli_command {
    const char *name;
    cli_command_handler handler;
} cli_command;

/* "qemu-img: MESSAGE\nTry 'qemu-img --help' for more information" and exit status 1. */
static int main_usage_error(const char *fmt, const char *argument)
{
    fputs("qemu-img: ", stderr);
    fprintf(stderr, fmt, argument);
    fputs("\nTry 'qemu-img --help' for more information\n", stderr);
    return 1;
}

int main(int argc, char **argv)
{
    const cli_command commands[] = {
        {"amend", cli_command_amend},       {"bench", cli_command_bench},     {"bitmap", cli_command_bitmap},
        {"check", cli_command_check},       {"commit", cli_command_commit},   {"compare", cli_command_compare},
        {"convert", cli_command_convert},   {"create", cli_command_create},   {"dd", cli_command_dd},
        {"info", cli_command_info},         {"map", cli_command_map},         {"measure", cli_command_measure},
        {"rebase", cli_command_rebase},     {"resize", cli_command_resize},   {"snapshot", cli_command_snapshot},
    };
    static const struct option long_options[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"trace", required_argument, NULL, 'T'},
        {NULL, 0, NULL, 0},
    };
    /* as qemu-img: a write past the file size limit fails with "File too large" instead of killing us */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2)
        return main_usage_error("%s", "Not enough arguments");
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+:hVT:", long_options, NULL)) != -1) {
        switch (c) {
        case ':':
            return main_usage_error("missing argument for option '%s'", argv[optind - 1]);
        case '?':
            return main_usage_error("unrecognized option '%s'", argv[optind - 1]);
        case 'h':
            if (cli_help_program_print)
                cli_help_program_print();
            return 0;
        case 'V':
            if (cli_version_print)
                cli_version_print();
            return 0;
        case 'T':
            break;
        }
    }
    if (optind >= argc)
        return 0;
    const char *name = argv[optind];
    argc -= optind;
    argv += optind;
    optind = 0;
    opterr = 1;
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(name, commands[i].name) == 0 && commands[i].handler) {
            char *argv0 = memory_printf("qemu-img %s", name);
            argv[0] = argv0;
            int ret = commands[i].handler(argc, argv);
            fflush(stdout);
            free(argv0);
            return ret;
        }
    }
    return main_usage_error("Command not found: %s", name);
}
