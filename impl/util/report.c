/* report.c — the warning sink (spec/architecture.md §Errors). */
#include "report.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "memory.h"

static void report_default_sink(const char *text)
{
    fputs(text, stderr);
}

static void (*report_sink)(const char *text) = report_default_sink;
static bool report_discarding;

void report_set_sink(void (*sink)(const char *text))
{
    report_sink = sink ? sink : report_default_sink;
    report_discarding = false;
}

void report_discard(void)
{
    report_discarding = true;
}

void report_warning(const char *fmt, ...)
{
    if (report_discarding)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *body = memory_vprintf(fmt, ap);
    va_end(ap);
    char *line = memory_printf("qemu-img: warning: %s\n", body);
    report_sink(line);
    free(line);
    free(body);
}

void report_text(const char *fmt, ...)
{
    if (report_discarding)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *body = memory_vprintf(fmt, ap);
    va_end(ap);
    report_sink(body);
    free(body);
}
