/* arguments.c — the shared command-line option parser (spec/architecture.md §Command line). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arguments.h"
#include "common.h"

void cli_arguments_init(cli_arguments *a, const char *command, bool in_order)
{
    memset(a, 0, sizeof(*a));
    a->command = command;
    a->next_long_value = CLI_ARGUMENT_FIRST_LONG;
    if (in_order)
        a->short_options[0] = '-';
}

/* Appends the short form of letter to the short option string (a table too small is a
 * programming error: the program stops). */
static void cli_arguments_short_append(cli_arguments *a, int letter, int has_arg)
{
    size_t n = strlen(a->short_options);
    if (n + 3 > sizeof(a->short_options))
        abort();
    a->short_options[n++] = (char)letter;
    if (has_arg == required_argument)
        a->short_options[n++] = ':';
    a->short_options[n] = '\0';
}

/* Appends the long option long_name, for which getopt returns value; shared is its
 * cli_shared_option, -1 for the command's own (a table too small stops the program). */
static void cli_arguments_long_append(cli_arguments *a, const char *long_name, int has_arg, int value, int shared)
{
    if (a->count >= CLI_ARGUMENTS_MAX)
        abort();
    a->long_options[a->count] = (struct option){long_name, has_arg, NULL, value};
    a->shared_of[a->count] = shared;
    a->count++;
}

/* Appends one option: its long form when long_name is given, its short form when letter is;
 * returns the value getopt gives back for it. */
static int cli_arguments_entry_add(cli_arguments *a, const char *long_name, int has_arg, int letter, int shared)
{
    int value = letter ? letter : a->next_long_value++;
    if (long_name)
        cli_arguments_long_append(a, long_name, has_arg, value, shared);
    if (letter)
        cli_arguments_short_append(a, letter, has_arg);
    return value;
}

/* Whether which takes an argument. */
static int cli_shared_has_arg(cli_shared_option which)
{
    switch (which) {
    case CLI_SHARED_FORMAT:
    case CLI_SHARED_OBJECT:
    case CLI_SHARED_CACHE:
    case CLI_SHARED_OUTPUT:
        return required_argument;
    default:
        return no_argument;
    }
}

/* The shared option getopt's value stands for, or -1 for the command's own. */
static int cli_arguments_shared_value(const cli_arguments *a, int value)
{
    if (value > 0 && value < 128)
        return a->shared_by_letter[value] - 1;
    for (int i = 0; i < a->count; i++)
        if (a->long_options[i].val == value)
            return a->shared_of[i];
    return -1;
}

void cli_arguments_add_shared(cli_arguments *a, cli_shared_option which, const char *long_name, int letter)
{
    cli_arguments_entry_add(a, long_name, cli_shared_has_arg(which), letter, (int)which);
    if (letter > 0 && letter < 128)
        a->shared_by_letter[letter] = (int)which + 1;
}

int cli_arguments_add(cli_arguments *a, const char *long_name, int has_arg, int letter)
{
    return cli_arguments_entry_add(a, long_name, has_arg, letter, -1);
}

void cli_arguments_add_long(cli_arguments *a, const char *long_name, int has_arg, int value)
{
    cli_arguments_long_append(a, long_name, has_arg, value, -1);
}

void cli_arguments_add_alias(cli_arguments *a, const char *long_name, int letter)
{
    const char *found = strchr(a->short_options, letter);
    if (letter <= 0 || letter >= 128 || found == NULL)
        abort();
    int has_arg = found[1] == ':' ? required_argument : no_argument;
    cli_arguments_long_append(a, long_name, has_arg, letter, a->shared_by_letter[letter] - 1);
}

void cli_arguments_add_short(cli_arguments *a, int letter, int has_arg)
{
    cli_arguments_short_append(a, letter, has_arg);
}

/* Applies shared option which with argument text; 0, or -1 with *exit_code set. */
static int cli_shared_apply(const cli_arguments *a, cli_shared_option which, const char *argv0, const char *text,
                            cli_shared_values *values, int *exit_code)
{
    switch (which) {
    case CLI_SHARED_HELP:
        cli_help_command_print(a->command);
        *exit_code = 0;
        return -1;
    case CLI_SHARED_FORMAT:
        values->format = text;
        return 0;
    case CLI_SHARED_IMAGE_OPTS:
        values->image_opts = true;
        return 0;
    case CLI_SHARED_FORCE_SHARE:
        values->force_share = true;
        return 0;
    case CLI_SHARED_QUIET:
        values->quiet = true;
        cli_quiet = true;
        return 0;
    case CLI_SHARED_OBJECT:
        if (cli_object_add(text) < 0) {
            *exit_code = 1;
            return -1;
        }
        return 0;
    case CLI_SHARED_CACHE:
        values->cache = text;
        return 0;
    case CLI_SHARED_OUTPUT:
        if (cli_output_format_parse(argv0, text, &values->json) < 0) {
            *exit_code = 1;
            return -1;
        }
        return 0;
    case CLI_SHARED_PROGRESS:
        values->progress = true;
        return 0;
    }
    return 0;
}

int cli_arguments_next(cli_arguments *a, int argc, char **argv, cli_shared_values *values, int *exit_code)
{
    for (;;) {
        a->long_options[a->count] = (struct option){NULL, 0, NULL, 0};
        int c = getopt_long(argc, argv, a->short_options, a->long_options, NULL);
        if (c == -1)
            return CLI_ARGUMENTS_END;
        if (c == '?' || c == ':') {
            *exit_code = cli_usage_try(argv[0]);
            return CLI_ARGUMENTS_EXIT;
        }
        int shared = cli_arguments_shared_value(a, c);
        if (shared < 0)
            return c;
        if (cli_shared_apply(a, (cli_shared_option)shared, argv[0], optarg, values, exit_code) < 0)
            return CLI_ARGUMENTS_EXIT;
    }
}
