/* format_names.h — names qemu accepts where an option names a block driver (the BlockdevDriver
 * enumeration, e.g. a backing_fmt creation option) (spec/formats-common.md §Driver names). */
#ifndef QIMG_FORMATS_COMMON_FORMAT_NAMES_H
#define QIMG_FORMATS_COMMON_FORMAT_NAMES_H

#include <stdbool.h>

/* Whether name is one of qemu 10.2's BlockdevDriver values (what "Parameter 'backing-fmt' does not
 * accept value" refuses otherwise). */
bool format_blockdev_driver_known(const char *name);

#endif
