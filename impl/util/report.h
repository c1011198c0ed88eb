/* report.h — warnings and progress that lower layers hand to the CLI's sink (spec/architecture.md §Errors). */
#ifndef QIMG_UTIL_REPORT_H
#define QIMG_UTIL_REPORT_H

/* Hands a warning line (without trailing newline) to the installed sink; default: stderr. */
void report_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Hands free-form text (already formatted, newlines included) to the sink's stderr stream. */
void report_text(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Installs the CLI's sink; NULL restores the default. */
void report_set_sink(void (*sink)(const char *text));
/* Drops every later report without formatting it (fuzzing: a check of a damaged image may report
 * millions of lines); report_set_sink ends it. */
void report_discard(void);

#endif
