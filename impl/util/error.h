/* error.h — the one error object that carries qemu-img's message text up to the CLI (spec/architecture.md §Errors). */
#ifndef QIMG_UTIL_ERROR_H
#define QIMG_UTIL_ERROR_H

#include <stdarg.h>

/* An error: the message exactly as qemu-img words it (without the "qemu-img: " prefix),
 * plus an optional exit code hint (0 means "use the command's default") and the errno the
 * failure came from (0 when none; callers test it, never the text). */
typedef enum error_kind {
    ERROR_KIND_GENERIC = 0,
    /* A lock conflict on permissions the user asked for, passed down through a node that
     * shares its child's permissions (raw, protocols): qemu meets it only once the whole graph
     * is attached, so it is never worded as a backing file's failure. */
    ERROR_KIND_LOCK_USER_PERMISSION,
    /* An on-disk table whose entry count passes its fixed bound (impl/formats/common/format_table.h). */
    ERROR_KIND_TABLE_TOO_LARGE,
    /* An on-disk structure that reaches past the end of its file. */
    ERROR_KIND_PAST_END_OF_FILE,
    /* The image's metadata is inconsistent (the driver's message says how). */
    ERROR_KIND_CORRUPT,
} error_kind;

typedef struct error {
    char *message;
    int exit_code;
    int errnum;
    error_kind kind;
} error;

/* Sets *errp to a new error built from fmt when errp is not NULL and *errp is NULL.
 * Always returns -1 so that callers can write `return error_set(errp, ...)`. */
int error_set(error **errp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int error_set_va(error **errp, const char *fmt, va_list ap);

/* As error_set, with ": <strerror(errnum)>" appended (qemu's error_setg_errno). */
int error_set_errno(error **errp, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* As error_set, recording errnum as the cause without adding its text (the message already
 * says it, as qemu's "File too large" for -EFBIG). */
int error_set_errnum(error **errp, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefixes the message of *errp (when set) with the formatted text. */
void error_prepend(error **errp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Moves src into *dst when *dst is empty; otherwise frees src. */
void error_propagate(error **dst, error *src);

/* Frees an error; NULL is accepted. */
void error_free(error *err);

/* The message text of err ("" for NULL). */
const char *error_message(const error *err);

#endif
