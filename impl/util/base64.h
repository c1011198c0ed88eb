/* base64.h — base64 decoding as glib's g_base64_decode does it (what qemu uses for secrets and
 * what dmg's plists hold): characters outside the alphabet are skipped, '=' pads, a partial group
 * at the end is dropped (spec/architecture.md §Objects, spec/dmg.md §Plist). */
#ifndef QIMG_UTIL_BASE64_H
#define QIMG_UTIL_BASE64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes length characters of text into a new buffer *out (the caller frees it); returns the
 * number of bytes decoded. */
size_t base64_decode(const char *text, size_t length, uint8_t **out);

/* Whether every one of the length characters of text is in the base64 alphabet or '='. */
bool base64_is_valid(const char *text, size_t length);

#endif
