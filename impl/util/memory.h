/* memory.h — allocation helpers that abort on exhaustion and bounded string builders (spec/architecture.md §Memory). */
#ifndef QIMG_UTIL_MEMORY_H
#define QIMG_UTIL_MEMORY_H

#include <stdarg.h>
#include <stddef.h>

/* Allocate size bytes (zeroed); aborts the program on out-of-memory. size 0 yields a valid pointer. */
void *memory_alloc_zero(size_t size);
/* Allocate count*size bytes zeroed, refusing overflow. */
void *memory_alloc_array(size_t count, size_t size);
/* Resize; aborts on out-of-memory. */
void *memory_realloc(void *ptr, size_t size);
/* Duplicate a string (NULL gives NULL). */
char *memory_strdup(const char *s);
/* Duplicate at most n bytes of s and terminate. */
char *memory_strndup(const char *s, size_t n);
/* printf into a newly allocated string. */
char *memory_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *memory_vprintf(const char *fmt, va_list ap);
/* Page-aligned buffer (for O_DIRECT), zeroed; free with free(). */
void *memory_alloc_aligned(size_t size);
/* Page-aligned buffer left as the system gives it: pages the caller never writes cost no memory.
 * Only for buffers that are always written before they are read. */
void *memory_alloc_aligned_unset(size_t size);

/* A growable byte/character buffer. */
typedef struct string_buffer {
    char *data;
    size_t length;
    size_t capacity;
} string_buffer;

void string_buffer_append(string_buffer *sb, const char *text);
void string_buffer_append_length(string_buffer *sb, const char *text, size_t length);
void string_buffer_printf(string_buffer *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the text (never NULL) and leaves the buffer empty; the caller frees the text. */
char *string_buffer_take(string_buffer *sb);
void string_buffer_free(string_buffer *sb);

#endif
