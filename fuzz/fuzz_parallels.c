/* fuzz_parallels.c — the Parallels driver's fuzz target: an input is a Parallels image followed by write
 * operations (spec/architecture.md §Fuzzing, spec/parallels.md). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_image_run("parallels", data, size, 0);
    fuzz_image_run("parallels", data, size, 1);
    return 0;
}
