/* fuzz_luks.c — the LUKS driver's fuzz target: an input is a LUKS1 image (followed by write
 * operations) opened with a fixed passphrase, read-only and read-write (spec/architecture.md
 * §Fuzzing, spec/luks.md). PBKDF2 counts in the header above 2000 are folded below it before the run:
 * a hostile count is a legitimate, slow image, and the time it costs is not what the target explores. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "../impl/block/secret.h"
#include "../impl/util/endian.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The passphrase every seed is made with. */
#define FUZZ_LUKS_SECRET "secret,id=fuzzkey,data=fuzz"
#define FUZZ_LUKS_MAX_ITERATIONS 2000u

/* Lowers the master-key and slot iteration counts of a header in image to at most the bound. */
static void fuzz_luks_iterations_clamp(uint8_t *image, size_t size)
{
    static const size_t fields[] = {164, 212, 260, 308, 356, 404, 452, 500, 548};
    for (size_t index = 0; index < sizeof(fields) / sizeof(fields[0]); index++) {
        if (fields[index] + 4 > size)
            return;
        uint32_t value = endian_load_be32(image + fields[index]);
        if (value > FUZZ_LUKS_MAX_ITERATIONS)
            endian_store_be32(image + fields[index], 1 + value % FUZZ_LUKS_MAX_ITERATIONS);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int registered;
    if (!registered) {
        secret_object_add(FUZZ_LUKS_SECRET, NULL);
        registered = 1;
    }
    if (size > FUZZ_INPUT_MAX)
        return 0;
    uint8_t *copy = malloc(size ? size : 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    fuzz_luks_iterations_clamp(copy, size);
    fuzz_image_run_with_options("luks", "key-secret=fuzzkey", copy, size, FUZZ_READ_ONLY);
    fuzz_image_run_with_options("luks", "key-secret=fuzzkey", copy, size, FUZZ_WRITABLE);
    free(copy);
    return 0;
}
