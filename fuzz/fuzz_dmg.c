/* fuzz_dmg.c — the DMG (UDIF) driver's fuzz target: an input is a dmg image (followed by the write operations
 * the harness decodes, unused here), opened read-only only: qemu's driver cannot write
 * (spec/architecture.md §Fuzzing, spec/dmg.md). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_image_run("dmg", data, size, FUZZ_READ_ONLY);
    return 0;
}
