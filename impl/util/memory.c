/* memory.c — allocation helpers and the string buffer (spec/architecture.md §Memory). */
#include "memory.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void memory_exhausted(void)
{
    fputs("qemu-img: out of memory\n", stderr);
    abort();
}

void *memory_alloc_zero(size_t size)
{
    void *p = calloc(1, size ? size : 1);
    if (p == NULL)
        memory_exhausted();
    return p;
}

void *memory_alloc_array(size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        memory_exhausted();
    return memory_alloc_zero(count * size);
}

void *memory_realloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (p == NULL)
        memory_exhausted();
    return p;
}

char *memory_strdup(const char *s)
{
    if (s == NULL)
        return NULL;
    return memory_strndup(s, strlen(s));
}

char *memory_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = memory_alloc_zero(len + 1);
    memcpy(d, s, len);
    return d;
}

char *memory_vprintf(const char *fmt, va_list ap)
{
    va_list copy;
    char probe[1];
    va_copy(copy, ap);
    int n = vsnprintf(probe, sizeof(probe), fmt, copy);
    va_end(copy);
    if (n < 0)
        n = 0;
    char *s = memory_alloc_zero((size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

char *memory_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = memory_vprintf(fmt, ap);
    va_end(ap);
    return s;
}

void *memory_alloc_aligned(size_t size)
{
    void *p = NULL;
    if (posix_memalign(&p, 4096, size ? size : 4096) != 0)
        memory_exhausted();
    memset(p, 0, size);
    return p;
}

void *memory_alloc_aligned_unset(size_t size)
{
    void *p = NULL;
    if (posix_memalign(&p, 4096, size ? size : 4096) != 0)
        memory_exhausted();
    return p;
}

static void string_buffer_reserve(string_buffer *sb, size_t extra)
{
    size_t need = sb->length + extra + 1;
    if (need <= sb->capacity)
        return;
    size_t cap = sb->capacity ? sb->capacity : 64;
    while (cap < need)
        cap *= 2;
    sb->data = memory_realloc(sb->data, cap);
    sb->capacity = cap;
}

void string_buffer_append_length(string_buffer *sb, const char *text, size_t length)
{
    string_buffer_reserve(sb, length);
    memcpy(sb->data + sb->length, text, length);
    sb->length += length;
    sb->data[sb->length] = '\0';
}

void string_buffer_append(string_buffer *sb, const char *text)
{
    string_buffer_append_length(sb, text, strlen(text));
}

void string_buffer_printf(string_buffer *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = memory_vprintf(fmt, ap);
    va_end(ap);
    string_buffer_append(sb, s);
    free(s);
}

char *string_buffer_take(string_buffer *sb)
{
    char *s = sb->data ? sb->data : memory_strdup("");
    sb->data = NULL;
    sb->length = sb->capacity = 0;
    return s;
}

void string_buffer_free(string_buffer *sb)
{
    free(sb->data);
    sb->data = NULL;
    sb->length = sb->capacity = 0;
}
