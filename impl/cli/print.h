/* print.h — qemu-img's human renderings of info trees, snapshot tables and check results
 * (spec/architecture.md §Command line). */
#ifndef QIMG_CLI_PRINT_H
#define QIMG_CLI_PRINT_H

#include "../block/block.h"
#include "../util/json.h"

/* Prints a BlockGraphInfo tree as `qemu-img info` does (indentation in units of 4 spaces;
 * path is the child path prefix, "/" at the top). */
void print_image_info_human(const json_value *info, int indentation, const char *path);

/* The snapshot table header line (without newline) as qemu prints it. */
void print_snapshot_header(void);
/* One snapshot row (without newline). */
void print_snapshot_row(const snapshot_info *snapshot);

/* Prints a json object's members as "key: value" lines (dashes in keys shown as spaces). */
void print_json_members_human(const json_value *object, int indentation);

#endif
