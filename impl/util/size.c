/* size.c — size argument parsing and human size printing (spec/architecture.md §Sizes). */
#include "size.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Multiplier for a suffix character, or 0 when c is not a suffix. */
static uint64_t size_suffix_multiplier(char c)
{
    switch (tolower((unsigned char)c)) {
    case 'b': return 1;
    case 'k': return 1ULL << 10;
    case 'm': return 1ULL << 20;
    case 'g': return 1ULL << 30;
    case 't': return 1ULL << 40;
    case 'p': return 1ULL << 50;
    case 'e': return 1ULL << 60;
    default: return 0;
    }
}

/* qemu's answer to a negative size: a plain decimal integer ("-1") is out of range, anything
 * else ("-1k", "-1.5", "-0x10") is not a size at all. */
static int size_negative_error(const char *digits)
{
    const char *p = digits;
    while (isdigit((unsigned char)*p))
        p++;
    return p != digits && *p == '\0' ? -ERANGE : -EINVAL;
}

int size_parse_default(const char *text, char default_suffix, uint64_t *out)
{
    const char *p = text;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '-')
        return size_negative_error(p + 1);
    if (*p == '+')
        p++;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        if (!isxdigit((unsigned char)p[2]))
            return -EINVAL;
        errno = 0;
        char *end;
        unsigned long long v = strtoull(p + 2, &end, 16);
        if (errno == ERANGE)
            return -ERANGE;
        if (*end != '\0')
            return -EINVAL;
        *out = v;
        return 0;
    }
    if (!isdigit((unsigned char)*p) && !(*p == '.' && isdigit((unsigned char)p[1])))
        return -EINVAL;
    errno = 0;
    char *end;
    unsigned long long whole = 0;
    if (isdigit((unsigned char)*p)) {
        whole = strtoull(p, &end, 10);
        if (errno == ERANGE)
            return -ERANGE;
    } else {
        end = (char *)p;
    }
    long double fraction = 0;
    int has_fraction = 0;
    if (*end == '.') {
        const char *f = end + 1;
        long double scale = 0.1L;
        while (isdigit((unsigned char)*f)) {
            fraction += (long double)(*f - '0') * scale;
            scale /= 10;
            has_fraction = 1;
            f++;
        }
        end = (char *)f;
    }
    uint64_t multiplier = size_suffix_multiplier(*end);
    if (multiplier) {
        end++;
    } else {
        multiplier = size_suffix_multiplier(default_suffix);
        if (!multiplier)
            multiplier = 1;
    }
    if (*end != '\0')
        return -EINVAL;
    if (multiplier == 1) {
        if (has_fraction && fraction != 0)
            return -EINVAL;
        *out = whole;
        return 0;
    }
    if (whole > UINT64_MAX / multiplier)
        return -ERANGE;
    uint64_t value = whole * multiplier;
    uint64_t extra = (uint64_t)(fraction * (long double)multiplier + 0.5L);
    if (value + extra < value)
        return -ERANGE;
    *out = value + extra;
    return 0;
}

int size_parse(const char *text, uint64_t *out)
{
    return size_parse_default(text, 'b', out);
}

char *size_format_human(uint64_t value, char *buf, unsigned long buf_size)
{
    static const char *const units[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    int exponent;
    frexp((double)value / (1000.0 / 1024.0), &exponent);
    int index = (exponent - 1) / 10;
    if (index < 0)
        index = 0;
    if (index > 6)
        index = 6;
    uint64_t divisor = 1ULL << (index * 10);
    snprintf(buf, buf_size, "%0.3g %sB", (double)value / (double)divisor, units[index]);
    return buf;
}
