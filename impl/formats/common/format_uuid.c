/* format_uuid.c — random UUIDs and their mixed-endian field order (spec/formats-common.md §UUIDs). */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "format_uuid.h"

/* Fills buf with length random bytes: the kernel's generator, /dev/urandom failing that, and a
 * time-seeded generator as the last resort (a UUID needs to be unique, not secret). */
static void format_uuid_random_fill(uint8_t *buf, size_t length)
{
    if (getrandom(buf, length, 0) == (ssize_t)length)
        return;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t got = read(fd, buf, length);
        close(fd);
        if (got == (ssize_t)length)
            return;
    }
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
    for (size_t i = 0; i < length; i++)
        buf[i] = (uint8_t)rand_r(&seed);
}

void format_uuid_generate(uint8_t uuid[FORMAT_UUID_SIZE])
{
    format_uuid_random_fill(uuid, FORMAT_UUID_SIZE);
    uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40); /* version 4 */
    uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80); /* RFC 4122 variant */
}

/* Reverses length bytes at p. */
static void format_uuid_reverse(uint8_t *p, int length)
{
    for (int i = 0; i < length / 2; i++) {
        uint8_t t = p[i];
        p[i] = p[length - 1 - i];
        p[length - 1 - i] = t;
    }
}

void format_uuid_swap_fields(uint8_t uuid[FORMAT_UUID_SIZE])
{
    format_uuid_reverse(uuid, 4);
    format_uuid_reverse(uuid + 4, 2);
    format_uuid_reverse(uuid + 6, 2);
}

bool format_uuid_is_nil(const uint8_t uuid[FORMAT_UUID_SIZE])
{
    for (int i = 0; i < FORMAT_UUID_SIZE; i++)
        if (uuid[i] != 0)
            return false;
    return true;
}
