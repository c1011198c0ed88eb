/* base64.c — base64 decoding with glib's leniency (spec/architecture.md §Objects). */
#include "base64.h"

#include "memory.h"

/* The value of base64 digit c ('=' counts as 0), or -1 outside the alphabet. */
static int base64_digit(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return c == '=' ? 0 : -1;
}

bool base64_is_valid(const char *text, size_t length)
{
    for (size_t i = 0; i < length; i++)
        if (base64_digit((uint8_t)text[i]) < 0)
            return false;
    return true;
}

size_t base64_decode(const char *text, size_t length, uint8_t **out)
{
    uint8_t *bytes = memory_alloc_zero(length / 4 * 3 + 3);
    size_t n = 0;
    uint32_t value = 0;
    int digits = 0;
    uint8_t last = 0, before_last = 0;
    for (size_t i = 0; i < length; i++) {
        int d = base64_digit((uint8_t)text[i]);
        if (d < 0)
            continue;
        before_last = last;
        last = (uint8_t)text[i];
        value = value << 6 | (uint32_t)d;
        if (++digits < 4)
            continue;
        bytes[n++] = (uint8_t)(value >> 16);
        if (before_last != '=')
            bytes[n++] = (uint8_t)(value >> 8);
        if (last != '=')
            bytes[n++] = (uint8_t)value;
        digits = 0;
    }
    *out = bytes;
    return n;
}
