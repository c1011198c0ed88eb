/* fuzz_common.h — what every fuzz target does with an input: open it as an image held in memory and
 * use it as a user would (spec/architecture.md §Fuzzing). */
#ifndef QIMG_FUZZ_COMMON_H
#define QIMG_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Largest input a target looks at (bytes); larger inputs are ignored. */
#define FUZZ_INPUT_MAX (4u << 20)

/* How fuzz_image_run opens the image. */
enum {
    FUZZ_READ_ONLY = 0,
    FUZZ_WRITABLE = 1,            /* writes verified against the model when the image checks clean */
    FUZZ_WRITABLE_UNVERIFIED = 2, /* writes for robustness only: the format has no check to tell a
                                   * damaged image (qcow), where qemu-img itself loses data */
};

/* Runs the whole user sequence on data as an image of format (NULL: probe): probe, open, info in
 * both forms, map, bounded reads, check; when writable (FUZZ_WRITABLE*), a sequence of writes,
 * zero writes, discards and resizes decoded from the input, verified against an in-memory model
 * (FUZZ_WRITABLE only). Aborts (a finding) only when the driver returns data that contradicts
 * the model. */
int fuzz_image_run(const char *format, const uint8_t *data, size_t size, int writable);

/* As fuzz_image_run, opening the image with the driver options in options_text ("key-secret=ID",
 * as --image-opts gives them; NULL: none). */
int fuzz_image_run_with_options(const char *format, const char *options_text, const uint8_t *data, size_t size,
                                int writable);

#endif
