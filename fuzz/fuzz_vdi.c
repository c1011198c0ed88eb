/* fuzz_vdi.c — the vdi driver's fuzz target: an input is a VDI image followed by write operations
 * (spec/architecture.md §Fuzzing; spec/vdi.md). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_image_run("vdi", data, size, 0);
    fuzz_image_run("vdi", data, size, 1);
    return 0;
}
