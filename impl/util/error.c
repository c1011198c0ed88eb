/* error.c — the error object (spec/architecture.md §Errors). */
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory.h"

int error_set_va(error **errp, const char *fmt, va_list ap)
{
    if (errp == NULL || *errp != NULL)
        return -1;
    error *err = memory_alloc_zero(sizeof(*err));
    err->message = memory_vprintf(fmt, ap);
    *errp = err;
    return -1;
}

int error_set(error **errp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    error_set_va(errp, fmt, ap);
    va_end(ap);
    return -1;
}

int error_set_errno(error **errp, int errnum, const char *fmt, ...)
{
    if (errp == NULL || *errp != NULL)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    char *text = memory_vprintf(fmt, ap);
    va_end(ap);
    error_set(errp, "%s: %s", text, strerror(errnum));
    (*errp)->errnum = errnum;
    free(text);
    return -1;
}

int error_set_errnum(error **errp, int errnum, const char *fmt, ...)
{
    if (errp == NULL || *errp != NULL)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    error_set_va(errp, fmt, ap);
    va_end(ap);
    (*errp)->errnum = errnum;
    return -1;
}

void error_prepend(error **errp, const char *fmt, ...)
{
    if (errp == NULL || *errp == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *prefix = memory_vprintf(fmt, ap);
    va_end(ap);
    char *joined = memory_printf("%s%s", prefix, (*errp)->message);
    free(prefix);
    free((*errp)->message);
    (*errp)->message = joined;
}

void error_propagate(error **dst, error *src)
{
    if (src == NULL)
        return;
    if (dst == NULL || *dst != NULL) {
        error_free(src);
        return;
    }
    *dst = src;
}

void error_free(error *err)
{
    if (err == NULL)
        return;
    free(err->message);
    free(err);
}

const char *error_message(const error *err)
{
    return err && err->message ? err->message : "";
}
