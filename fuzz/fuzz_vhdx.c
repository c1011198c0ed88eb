/* fuzz_vhdx.c — the VHDX driver's fuzz target: an input is a VHDX image followed by write operations,
 * opened read-only and read-write (spec/architecture.md §Fuzzing, spec/vhdx.md). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_image_run("vhdx", data, size, FUZZ_READ_ONLY);
    fuzz_image_run("vhdx", data, size, FUZZ_WRITABLE);
    return 0;
}
