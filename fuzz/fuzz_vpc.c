/* fuzz_vpc.c — the vpc (VHD) driver's fuzz target: an input is a VHD image followed by write
 * operations, opened read-only and read-write (spec/architecture.md §Fuzzing, spec/vpc.md). qemu has
 * no check for vpc, so writes are verified against the model only when the image's blocks and block
 * table share no bytes (vpc_layout_blocks_disjoint). */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"
#include "../impl/formats/vpc/vpc.h"
#include "../impl/util/endian.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The image part of an input (the operations and their 16-bit length follow it). */
static size_t fuzz_vpc_image_size(const uint8_t *data, size_t size)
{
    if (size < 2)
        return size;
    size_t declared = endian_load_le16(data + size - 2);
    return declared <= size - 2 ? size - 2 - declared : size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_INPUT_MAX)
        return 0;
    bool disjoint = vpc_layout_blocks_disjoint(data, fuzz_vpc_image_size(data, size));
    fuzz_image_run("vpc", data, size, FUZZ_READ_ONLY);
    fuzz_image_run("vpc", data, size, disjoint ? FUZZ_WRITABLE : FUZZ_WRITABLE_UNVERIFIED);
    return 0;
}
