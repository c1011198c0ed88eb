/* fuzz_qcow2.c — the qcow2 driver's fuzz target: an input is a qcow2 image followed by write operations
 * (spec/architecture.md §Fuzzing). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_image_run("qcow2", data, size, 0);
    fuzz_image_run("qcow2", data, size, 1);
    return 0;
}
