/* crypto_random.c — random bytes through OpenSSL's RAND_bytes, in pieces its int length can take
 * (spec/crypto.md §Random bytes). */
#include <limits.h>

#include <openssl/rand.h>

#include "crypto_random.h"

int crypto_random_bytes(uint8_t *out, size_t length, error **errp)
{
    while (length > 0) {
        size_t piece = length > INT_MAX ? INT_MAX : length;
        if (RAND_bytes(out, (int)piece) != 1)
            return error_set(errp, "Unable to read random bytes");
        out += piece;
        length -= piece;
    }
    return 0;
}
