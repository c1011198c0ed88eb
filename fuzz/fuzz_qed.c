/* fuzz_qed.c — the QED driver's fuzz target: an input is a QED image followed by write operations,
 * opened read-only and read-write (spec/architecture.md §Fuzzing, spec/qed.md). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_image_run("qed", data, size, 0);
    fuzz_image_run("qed", data, size, 1);
    return 0;
}
