/* fuzz_qcow.c — the qcow (v1) driver's fuzz target: an input is a QCOW v1 image (followed by the
 * operation bytes the common layout carries), opened read-only and used as info, map and read do,
 * then writable with the operations applied (spec/architecture.md §Fuzzing, spec/qcow.md). qcow has
 * no consistency check, so the write model of fuzz_common, which trusts images a check passes,
 * does not verify the data: the writes run for robustness. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_image_run("qcow", data, size, FUZZ_READ_ONLY);
    fuzz_image_run("qcow", data, size, FUZZ_WRITABLE_UNVERIFIED);
    return 0;
}
