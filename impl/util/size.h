/* size.h — qemu's size arguments ("1.5G", "0x1000", "512b") and human-readable sizes ("1.38 MiB") (spec/architecture.md §Sizes). */
#ifndef QIMG_UTIL_SIZE_H
#define QIMG_UTIL_SIZE_H

#include <stdint.h>

/* Parses text as a byte count with an optional suffix (b, k, M, G, T, P, E; powers of 1024;
 * case-insensitive), a decimal fraction when a suffix other than b follows, or hex with 0x.
 * Returns 0, -EINVAL (malformed) or -ERANGE (negative or above 2^64-1). */
int size_parse(const char *text, uint64_t *out);

/* As size_parse, with default_suffix applied when none is given (e.g. 'M'). */
int size_parse_default(const char *text, char default_suffix, uint64_t *out);

/* Formats value as qemu does for humans: "%0.3g" of the value in the largest fitting
 * binary unit, then " B", " KiB", ... Writes into buf (at least 32 bytes) and returns it. */
char *size_format_human(uint64_t value, char *buf, unsigned long buf_size);

#endif
