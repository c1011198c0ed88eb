/* fuzz_raw.c — the raw driver's fuzz target: an input is a raw image followed by write operations
 * (spec/architecture.md §Fuzzing). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_image_run("raw", data, size, 0);
    fuzz_image_run("raw", data, size, 1);
    return 0;
}
