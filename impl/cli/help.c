/* help.c — the --help screens of every command, `qemu-img --help` and `qemu-img --version`, worded as qemu-img 10.2 prints them (spec/architecture.md §Command line). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* The version banner: qemu-img prints "qemu-img version <full version>" and the copyright line. */
#define CLI_HELP_VERSION_TEXT                                                                      \
    "qemu-img version 10.2.2\n"                                                                    \
    "Copyright (c) 2003-2025 Fabrice Bellard and the QEMU Project developers\n"

/* The two lines qemu-img prints at the bottom of its program help. */
#define CLI_HELP_BOTTOM_TEXT                                                                       \
    "See <https://qemu.org/contribute/report-a-bug> for how to report bugs.\n"                     \
    "More information on the QEMU project at <https://qemu.org>."

/* One command's help: its one-line description (also listed by `qemu-img --help`), its synopsis
 * (continuation lines indented by 8 spaces, ends with a newline) and its argument list (each
 * argument on a line indented by 2, its explanation indented by 5, ends with a newline). */
typedef struct cli_help_entry {
    const char *name;
    const char *description;
    const char *synopsis;
    const char *arguments;
} cli_help_entry;

/* Every command, in the order `qemu-img --help` lists them. The info entry includes the -t/--cache
 * and --limits options that qemu 10.2 added to info (its synopsis line was left unchanged). */
static const cli_help_entry cli_help_entries[] = {
    {
        "amend",
        "Update format-specific options of the image",
        "-o FMT_OPTS [-f FMT | --image-opts]\n"
        "        [-t CACHE] [--force] [-p] [-q] [--object OBJDEF] FILE\n",
        "  -o, --options FMT_OPTS\n"
        "     FMT-specfic format options (required)\n"
        "  -f, --format FMT\n"
        "     specify FILE format explicitly (default: probing is used)\n"
        "  --image-opts\n"
        "     treat FILE as an option string (key=value,..), not a file name\n"
        "     (incompatible with -f|--format)\n"
        "  -t, --cache CACHE\n"
        "     cache mode for FILE (default: writeback)\n"
        "  --force\n"
        "     allow certain unsafe operations\n"
        "  -p, --progres\n"
        "     show operation progress\n"
        "  -q, --quiet\n"
        "     quiet mode (produce only error messages if any)\n"
        "  --object OBJDEF\n"
        "     defines QEMU user-creatable object\n"
        "  FILE\n"
        "     name of the image file, or option string (key=value,..)\n"
        "     with --image-opts, to operate on\n",
    },
    {
        "bench",
        "Run a simple image benchmark",
        "[-f FMT | --image-opts] [-t CACHE]\n"
        "        [-c COUNT] [-d DEPTH] [-o OFFSET] [-s BUFFER_SIZE] [-S STEP_SIZE]\n"
        "        [-w [--pattern PATTERN] [--flush-interval INTERVAL [--no-drain]]]\n"
        "        [-i AIO] [-n] [-U] [-q] FILE\n",
        "  -f, --format FMT\n"
        "     specify FILE format explicitly\n"
        "  --image-opts\n"
        "     indicates that FILE is a complete image specification\n"
        "     instead of a file name (incompatible with --format)\n"
        "  -t, --cache CACHE\n"
        "     cache mode for FILE (default: writeback)\n"
        "  -c, --count COUNT\n"
        "     number of I/O requests to perform\n"
        "  -d, --depth DEPTH\n"
        "     number of requests to perform in parallel\n"
        "  -o, --offset OFFSET\n"
        "     start first request at this OFFSET\n"
        "  -s, --buffer-size BUFFER_SIZE[bkKMGTPE]\n"
        "     size of each I/O request, with optional multiplier suffix\n"
        "     (powers of 1024, default is 4K)\n"
        "  -S, --step-size STEP_SIZE[bkKMGTPE]\n"
        "     each next request offset increment, with optional multiplier suffix\n"
        "     (powers of 1024, default is the same as BUFFER_SIZE)\n"
        "  -w, --write\n"
        "     perform write test (default is read)\n"
        "  --pattern PATTERN\n"
        "     write this pattern byte instead of zero\n"
        "  --flush-interval FLUSH_INTERVAL\n"
        "     issue flush after this number of requests\n"
        "  --no-drain\n"
        "     do not wait when flushing pending requests\n"
        "  -i, --aio AIO\n"
        "     async-io backend (threads, native, io_uring)\n"
        "  -n, --native\n"
        "     use native AIO backend if possible\n"
        "  -U, --force-share\n"
        "     open images in shared mode for concurrent access\n"
        "  -q, --quiet\n"
        "     quiet mode (produce only error messages if any)\n"
        "  --object OBJDEF\n"
        "     defines QEMU user-creatable object\n"
        "  FILE\n"
        "     name of the image file, or option string (key=value,..)\n"
        "     with --image-opts, to operate on\n",
    },
    {
        "bitmap",
        "Perform modifications of the persistent bitmap in the image",
        "[-f FMT | --image-opts]\n"
        "        ( --add [-g SIZE] | --remove | --clear | --enable | --disable |\n"
        "          --merge SOURCE [-b SRC_FILE [-F SRC_FMT]] )..\n"
        "        [--object OBJDEF] FILE BITMAP\n",
        "  -f, --format FMT\n"
        "     specify FILE format explicitly (default: probing is used)\n"
        "  --image-opts\n"
        "     treat FILE as an option string (key=value,..), not a file name\n"
        "     (incompatible with -f|--format)\n"
        "  --add\n"
        "     creates BITMAP in FILE, enables to record future edits\n"
        "  -g, --granularity SIZE[bKMGTPE]\n"
        "     sets non-default granularity for the bitmap being added,\n"
        "     with optional multiplier suffix (in powers of 1024)\n"
        "  --remove\n"
        "     removes BITMAP from FILE\n"
        "  --clear\n"
        "     clears BITMAP in FILE\n"
        "  --enable, --disable\n"
        "     starts and stops recording future edits to BITMAP in FILE\n"
        "  --merge SOURCE\n"
        "     merges contents of the SOURCE bitmap into BITMAP in FILE\n"
        "  -b, --source-file SRC_FILE\n"
        "     select alternative source file for --merge\n"
        "  -F, --source-format SRC_FMT\n"
        "     specify format for SRC_FILE explicitly\n"
        "  --object OBJDEF\n"
        "     defines QEMU user-creatable object\n"
        "  FILE\n"
        "     name of the image file, or option string (key=value,..)\n"
        "     with --image-opts, to operate on\n"
        "  BITMAP\n"
        "     name of the bitmap to add, remove, clear, enable, disable or merge to\n",
    },
    {
        "check",
        "Check basic image integrity",
        "[-f FMT | --image-opts] [-T CACHE_MODE] [-r leaks|all]\n"
        "        [-U] [--output human|json] [-q] [--object OBJDEF] FILE\n",
        "  -f, --format FMT\n"
        "     specifies the format of the image explicitly (default: probing is used)\n"
        "  --image-opts\n"
        "     treat FILE as an option string (key=value,..), not a file name\n"
        "     (incompatible with -f|--format)\n"
        "  -T, --cache CACHE_MODE\n"
        "     cache mode (default: writeback)\n"
        "  -r, --repair leaks|all\n"
        "     repair errors of the given category in the image (image will be\n"
        "     opened in read-write mode, incompatible with -U|--force-share)\n"
        "  -U, --force-share\n"
        "     open image in shared mode for concurrent access\n"
        "  --output human|json\n"
        "     output format (default: human)\n"
        "  -q, --quiet\n"
        "     quiet mode (produce only error messages if any)\n"
        "  --object OBJDEF\n"
        "     defines QEMU user-creatable object\n"
        "  FILE\n"
        "     name of the image file, or an option string (key=value,..)\n"
        "     with --image-opts, to operate on\n",
    },
    {
        "commit",
        "Commit image to its backing file",
        "[-f FMT | --image-opts] [-t CACHE_MODE] [-b BASE_IMG]\n"
        "        [-d] [-r RATE] [-q] [--object OBJDEF] FILE\n",
        "  -f, --format FMT\n"
        "     specify FILE image format explicitly (default: probing is used)\n"
        "  --image-opts\n"
        "     treat FILE as an option string (key=value,..), not a file name\n"
        "     (incompatible with -f|--format)\n"
        "  -t, --cache CACHE_MODE image cache mode (default: writeback)\n"
        "  -d, --drop\n"
        "     skip emptying FILE on completion\n"
        "  -b, --base BASE_IMG\n"
        "     image in the backing chain to commit change to\n"
        "     (default: immediate backing file; implies --drop)\n"
        "  -r, --rate-limit RATE\n"
        "     I/O rate limit, in bytes per second\n"
        "  -p, --progress\n"
        "     display progress information\n"
        "  -q, --quiet\n"
        "     quiet mode (produce only error messages if any)\n"
        "  --object OBJDEF\n"
        "     defines QEMU user-creatable object\n"
        "  FILE\n"
        "     name of the image file, or an option string (key=value,..)\n"
        "     with --image-opts, to operate on\n",
    },
    {
        "compare",
        "Check if two images have the same contents",
        "[[-f FMT] [-F FMT] | --image-opts] [-s] [-T CACHE]\n"
        "        [-U] [-p] [-q] [--object OBJDEF] FILE1 FILE2\n",
        "  -f, --a-format FMT\n"
        "     specify FILE1 image format explicitly (default: probing is used)\n"
        "  -F, --b-format FMT\n"
        "     specify FILE2 image format explicitly (default: probing is used)\n"
        "  --image-opts\n"
        "     treat FILE1 and FILE2 as option strings (key=value,..), not file names\n"
        "     (incompatible with -f|--a-format and -F|--b-format)\n"
        "  -s, --strict\n"
        "     strict mode, also check if sizes are equal\n"
        "  -T, --cache CACHE_MODE\n"
        "     images caching mode (default: writeback)\n"
        "  -U, --force-share\n"
        "     open images in shared mode for concurrent access\n"
        "  -p, --progress\n"
        "     display progress information\n"
        "  -q, --quiet\n"
        "     quiet mode (produce only error messages if any)\n"
        "  --object OBJDEF\n"
        "     defines QEMU user-creatable object\n"
        "  FILE1, FILE2\n"
        "     names of the image files, or option strings (key=value,..)\n"
        "     with --image-opts, to compare\n",
    },
    {
        "convert",
        "Copy one or more images to another with optional format conversion",
        "[-f SRC_FMT | --image-opts] [-T SRC_CACHE]\n"
        "        [-l SNAPSHOT] [--bitmaps [--skip-broken-bitmaps]] [--salvage]\n"
        "        [-O TGT_FMT | --target-image-opts] [-o TGT_FMT_OPTS] [-t TGT_CACHE]\n"
        "        [-b BACKING_FILE [-F BACKING_FMT]] [-S SPARSE_SIZE]\n"
        "        [-n] [--target-is-zero] [-c]\n"
        "        [-U] [-r RATE] [-m NUM_PARALLEL] [-W] [-C] [-p] [-q] [--object OBJDEF]\n"
        "        SRC_FILE [SRC_FILE2...] TGT_FILE\n",
        "  -f, --source-format SRC_FMT\n"
        "     specify format of all SRC_FILEs explicitly (default: probing is used)\n"
        "  --image-opts\n"
        "     treat each SRC_FILE as an option string (key=value,...), not a file name\n"
        "     (incompatible with -f|--source-format)\n"
        "  -T, --source-cache SRC_CACHE\n"
        "     source image(s) cache mode (writeback)\n"
        "  -l, --snapshot SNAPSHOT\n"
        "     specify source snapshot\n"
        "  --bitmaps\n"
        "     also copy any persistent bitmaps present in source\n"
        "  --skip-broken-bitmaps\n"
        "     skip (do not error out) any broken bitmaps\n"
        "  --salvage\n"
        "     ignore errors on input (convert unreadable areas to zeros)\n"
        "  -O, --target-format TGT_FMT\n"
        "     specify TGT_FILE image format (default: raw)\n"
        "  --target-image-opts\n"
        "     treat TGT_FILE as an option string (key=value,...), not a file name\n"
        "     (incompatible with -O|--target-format)\n"
        "  -o, --target-format-options TGT_FMT_OPTS\n"
        "     TGT_FMT-specific options\n"
        "  -t, --target-cache TGT_CACHE\n"
        "     cache mode when opening output image (default: unsafe)\n"
        "  -b, --backing BACKING_FILE (was -B in <= 10.0)\n"
        "     create target image to be a CoW on top of BACKING_FILE\n"
        "  -F, --backing-format BACKING_FMT\n"
        "     specify BACKING_FILE image format explicitly (default: probing is used)\n"
        "  -S, --sparse-size SPARSE_SIZE[bkKMGTPE]\n"
        "     specify number of consecutive zero bytes to treat as a gap on output\n"
        "     (rounded down to nearest 512 bytes), with optional multiplier suffix\n"
        "  -n, --no-create\n"
        "     omit target volume creation (e.g. on rbd)\n"
        "  --target-is-zero\n"
        "     indicates that the target volume is pre-zeroed\n"
        "  -c, --compress\n"
        "     create compressed output image (qcow and qcow2 formats only)\n"
        "  -U, --force-share\n"
        "     open images in shared mode for concurrent access\n"
        "  -r, --rate-limit RATE\n"
        "     I/O rate limit, in bytes per second\n"
        "  -m, --parallel NUM_PARALLEL\n"
        "     specify parallelism (default: 8)\n"
        "  -C, --copy-range-offloading\n"
        "     try to use copy offloading\n"
        "  -W, --oob-writes\n"
        "     enable out-of-order writes to improve performance\n"
        "  -p, --progress\n"
        "     display progress information\n"
        "  -q, --quiet\n"
        "     quiet mode (produce only error messages if any)\n"
        "  --object OBJDEF\n"
        "     defines QEMU user-creatable object\n"
        "  SRC_FILE...\n"
        "     one or more source image file names,\n"
        "     or option strings (key=value,..) with --source-image-opts\n"
        "  TGT_FILE\n"
        "     target (output) image file name,\n"
        "     or option string (key=value,..) with --target-image-opts\n",
    },
    {
        "create",
        "Create and format a new image file",
        "[-f FMT] [-o FMT_OPTS]\n"
        "        [-b BACKING_FILE [-B BACKING_FMT]] [-u]\n"
        "        [-q] [--object OBJDEF] FILE [SIZE]\n",
        "  -f, --format FMT\n"
        "     specifies the format of the new image (default: raw)\n"
        "  -o, --options FMT_OPTS\n"
        "     format-specific options (specify '-o help' for help)\n"
        "  -b, --backing BACKING_FILE\n"
        "     create target image to be a CoW on top of BACKING_FILE\n"
        "  -B, --backing-format BACKING_FMT (was -F in <= 10.0)\n"
        "     specifies the format of BACKING_FILE (default: probing is used)\n"
        "  -u, --backing-unsafe\n"
        "     do not fail if BACKING_FILE can not be read\n"
        "  -q, --quiet\n"
        "     quiet mode (produce only error messages if any)\n"
        "  --object OBJDEF\n"
        "     defines QEMU user-creatable object\n"
        "  FILE\n"
        "     name of the image file to create (will be overritten if already exists)\n"
        "  SIZE[bKMGTPE]\n"
        "     image size with optional multiplier suffix (powers of 1024)\n"
        "     (required unless BACKING_FILE is specified)\n",
    },
    {
        "dd",
        "Copy input to output with optional format conversion",
        "[-f FMT|--image-opts] [-O OUTPUT_FMT] [-U]\n"
        "        [--object OBJDEF] [bs=BLOCK_SIZE] [count=BLOCKS] if=INPUT of=OUTPUT\n",
        "  -f, --format FMT\n"
        "     specify format for INPUT explicitly (default: probing is used)\n"
        "  --image-opts\n"
        "     treat INPUT as an option string (key=value,..), not a file name\n"
        "     (incompatible with -f|--format)\n"
        "  -O, --output-format OUTPUT_FMT\n"
        "     format of the OUTPUT (default: raw)\n"
        "  -U, --force-share\n"
        "     open images in shared mode for concurrent access\n"
        "  --object OBJDEF\n"
        "     defines QEMU user-creatable object\n"
        "  bs=BLOCK_SIZE[bKMGTP]\n"
        "     size of the I/O block, with optional multiplier suffix (powers of 1024)\n"
        "     (default: 512)\n"
        "  count=COUNT\n"
        "     number of blocks to convert (default whole INPUT)\n"
        "  if=INPUT\n"
        "     name of the file, or option string (key=value,..)\n"
        "     with --image-opts, to use for input\n"
        "  of=OUTPUT\n"
        "     output file name to create (will be overridden if alrady exists)\n",
    },
    {
        "info",
        "Display information about the image",
        "[-f FMT | --image-opts] [--backing-chain] [-U]\n"
        "        [--output human|json] [--object OBJDEF] FILE\n",
        "  -f, --format FMT\n"
        "     specify FILE image format explicitly (default: probing is used)\n"
        "  --image-opts\n"
        "     treat FILE as an option string (key=value,..), not a file name\n"
        "     (incompatible with -f|--format)\n"
        "  --backing-chain\n"
        "     display information about the backing chain for copy-on-write overlays\n"
        "  -t, --cache CACHE\n"
        "     cache mode for FILE (default: writeback)\n"
        "  -U, --force-share\n"
        "     open image in shared mode for concurrent access\n"
        "  --limits\n"
        "     show detected block limits (may depend on options, e.g. cache mode)\n"
        "  --output human|json\n"
        "     specify output format (default: human)\n"
        "  --object OBJDEF\n"
        "     defines QEMU user-creatable object\n"
        "  FILE\n"
        "     name of the image file, or option string (key=value,..)\n"
        "     with --image-opts, to operate on\n",
    },
    {
        "map",
        "Dump image metadata",
        "[-f FMT | --image-opts]\n"
        "        [--start-offset OFFSET] [--max-length LENGTH]\n"
        "        [--output human|json] [-U] [--object OBJDEF] FILE\n",
        "  -f, --format FMT\n"
        "     specify FILE image format explicitly (default: probing is used)\n"
        "  --image-opts\n"
        "     treat FILE as an option string (key=value,..), not a file name\n"
        "     (incompatible with -f|--format)\n"
        "  -s, --start-offset OFFSET\n"
        "     start at the given OFFSET in the image, not at the beginning\n"
        "  -l, --max-length LENGTH\n"
        "     process at most LENGTH bytes instead of up to the end of the image\n"
        "  --output human|json\n"
        "     specify output format name (default: human)\n"
        "  -U, --force-share\n"
        "     open image in shared mode for concurrent access\n"
        "  --object OBJDEF\n"
        "     defines QEMU user-creatable object\n"
        "  FILE\n"
        "     the image file name, or option string (key=value,..)\n"
        "     with --image-opts, to operate on\n",
    },
    {
        "measure",
        "Calculate the file size required for a new image",
        "[-f FMT|--image-opts] [-l SNAPSHOT]\n"
        "       [-O TARGET_FMT] [-o TARGET_FMT_OPTS] [--output human|json]\n"
        "       [--object OBJDEF] (--size SIZE | FILE)\n",
        "  -f, --format\n"
        "     specify format of FILE explicitly (default: probing is used)\n"
        "  --image-opts\n"
        "     indicates that FILE is a complete image specification\n"
        "     instead of a file name (incompatible with --format)\n"
        "  -l, --snapshot SNAPSHOT\n"
        "     use this snapshot in FILE as source\n"
        "  -O, --target-format TARGET_FMT\n"
        "     desired target/output image format (default: raw)\n"
        "  -o TARGET_FMT_OPTS\n"
        "     options specific to TARGET_FMT\n"
        "  --output human|json\n"
        "     output format (default: human)\n"
        "  -U, --force-share\n"
        "     open images in shared mode for concurrent access\n"
        "  --object OBJDEF\n"
        "     defines QEMU user-creatable object\n"
        "  -s, --size SIZE[bKMGTPE]\n"
        "     measure file size for given image size,\n"
        "     with optional multiplier suffix (powers of 1024)\n"
        "  FILE\n"
        "     measure file size required to convert from FILE (either a file name\n"
        "     or an option string (key=value,..) with --image-options)\n",
    },
    {
        "rebase",
        "Change the backing file of the image",
        "[-f FMT | --image-opts] [-t CACHE]\n"
        "        [-b BACKING_FILE [-B BACKING_FMT] [-T BACKING_CACHE]] [-u]\n"
        "        [-c] [-U] [-p] [-q] [--object OBJDEF] FILE\n",
        "  -f, --format FMT\n"
        "     specify FILE format explicitly (default: probing is used)\n"
        "  --image-opts\n"
        "     treat FILE as an option string (key=value,..), not a file name\n"
        "     (incompatible with -f|--format)\n"
        "  -t, --cache CACHE\n"
        "     cache mode for FILE (default: writeback)\n"
        "  -b, --backing BACKING_FILE|\"\"\n"
        "     rebase onto this file (specify empty name for no backing file)\n"
        "  -B, --backing-format BACKING_FMT (was -F in <=10.0)\n"
        "     specify format for BACKING_FILE explicitly (default: probing is used)\n"
        "  -T, --backing-cache CACHE\n"
        "     BACKING_FILE cache mode (default: writeback)\n"
        "  -u, --backing-unsafe\n"
        "     do not fail if BACKING_FILE can not be read\n"
        "  -c, --compress\n"
        "     compress image (when image supports this)\n"
        "  -U, --force-share\n"
        "     open image in shared mode for concurrent access\n"
        "  -p, --progress\n"
        "     display progress information\n"
        "  -q, --quiet\n"
        "     quiet mode (produce only error messages if any)\n"
        "  --object OBJDEF\n"
        "     defines QEMU user-creatable object\n"
        "  FILE\n"
        "     name of the image file, or option string (key=value,..)\n"
        "     with --image-opts, to operate on\n",
    },
    {
        "resize",
        "Resize the image",
        "[-f FMT | --image-opts] [--preallocation PREALLOC] [--shrink]\n"
        "        [-q] [--object OBJDEF] FILE [+-]SIZE[bkKMGTPE]\n",
        "  -f, --format FMT\n"
        "     specify FILE format explicitly (default: probing is used)\n"
        "  --image-opts\n"
        "     treat FILE as an option string (key=value,...), not a file name\n"
        "     (incompatible with -f|--format)\n"
        "  --shrink\n"
        "     allow operation when the new size is smaller than the original\n"
        "  --preallocation PREALLOC\n"
        "     specify FMT-specific preallocation type for the new areas\n"
        "  -q, --quiet\n"
        "     quiet mode (produce only error messages if any)\n"
        "  --object OBJDEF\n"
        "     defines QEMU user-creatable object\n"
        "  FILE\n"
        "     name of the image file, or option string (key=value,..)\n"
        "     with --image-opts, to operate on\n"
        "  [+-]SIZE[bkKMGTPE]\n"
        "     new image size or amount by which to shrink (-)/grow (+),\n"
        "     with optional multiplier suffix (powers of 1024, default is bytes)\n",
    },
    {
        "snapshot",
        "List or manipulate snapshots in the image",
        "[-f FMT | --image-opts] [-l | -a|-c|-d SNAPSHOT]\n"
        "        [-U] [-q] [--object OBJDEF] FILE\n",
        "  -f, --format FMT\n"
        "     specify FILE format explicitly (default: probing is used)\n"
        "  --image-opts\n"
        "     treat FILE as an option string (key=value,..), not a file name\n"
        "     (incompatible with -f|--format)\n"
        "  -l, --list\n"
        "     list snapshots in FILE (default action if no -l|-c|-a|-d is given)\n"
        "  -c, --create SNAPSHOT\n"
        "     create named snapshot\n"
        "  -a, --apply SNAPSHOT\n"
        "     apply named snapshot to the base\n"
        "  -d, --delete SNAPSHOT\n"
        "     delete named snapshot\n"
        "  (only one of -l|-c|-a|-d can be specified)\n"
        "  -U, --force-share\n"
        "     open image in shared mode for concurrent access\n"
        "  -q, --quiet\n"
        "     quiet mode (produce only error messages if any)\n"
        "  --object OBJDEF\n"
        "     defines QEMU user-creatable object\n"
        "  FILE\n"
        "     name of the image file, or option string (key=value,..)\n"
        "     with --image-opts) to operate on\n",
    },
};

#define CLI_HELP_ENTRY_COUNT (sizeof(cli_help_entries) / sizeof(cli_help_entries[0]))

/* The names `qemu-img --help` lists after "Supported image formats:".
 *
 * What was inferred: qemu-img 10.2 prints the format_name of every block driver it has
 * (formats, protocols and filters alike, e.g. "file"), deduplicated and sorted with strcmp,
 * as one or more lines that start with two spaces and wrap before a name would pass column
 * 75. qimg has exactly these drivers, so the list is theirs (the real binary also lists
 * drivers qimg does not implement, such as nbd or blkdebug; those are left out on purpose). */
static const char *const cli_help_format_names[] = {
    "bochs", "cloop", "dmg", "file", "luks", "parallels", "qcow",
    "qcow2", "qed", "raw", "vdi", "vhdx", "vmdk", "vpc",
};

#define CLI_HELP_FORMAT_COUNT (sizeof(cli_help_format_names) / sizeof(cli_help_format_names[0]))

/* qsort comparator over an array of C strings (alphabetical by strcmp). */
static int cli_help_name_compare(const void *a, const void *b)
{
    const char *const *left = a;
    const char *const *right = b;
    return strcmp(*left, *right);
}

/* Finds the help entry named command; NULL when there is none. */
static const cli_help_entry *cli_help_entry_find(const char *command)
{
    const cli_help_entry *found = NULL;

    for (size_t i = 0; command != NULL && i < CLI_HELP_ENTRY_COUNT; i++) {
        if (strcmp(cli_help_entries[i].name, command) == 0) {
            found = &cli_help_entries[i];
            break;
        }
    }
    return found;
}

/* Prints "Usage:", the synopsis, the description and the argument list of command to stdout,
 * exactly as `qemu-img COMMAND --help` does. Unknown commands print nothing. */
void cli_help_command_print(const char *command)
{
    const cli_help_entry *entry = cli_help_entry_find(command);

    if (entry == NULL) {
        goto cleanup;
    }
    printf("Usage:\n"
           "  qemu-img %s %s\n"
           "%s.\n"
           "\n"
           "Arguments:\n"
           "  -h, --help\n"
           "     print this help and exit\n"
           "%s\n",
           entry->name, entry->synopsis, entry->description, entry->arguments);
cleanup:
    fflush(stdout);
}

/* Prints the sorted format names as qemu-img does: the first name starts a new line (the
 * column counter begins past the limit), each name is preceded by a space, and a line is
 * broken (continuing with one space) whenever the next name would reach past column 75. */
static void cli_help_formats_print(void)
{
    const char *sorted[CLI_HELP_FORMAT_COUNT];
    size_t column = 99;

    memcpy(sorted, cli_help_format_names, sizeof(sorted));
    qsort(sorted, CLI_HELP_FORMAT_COUNT, sizeof(sorted[0]), cli_help_name_compare);
    for (size_t i = 0; i < CLI_HELP_FORMAT_COUNT; i++) {
        if (i > 0 && strcmp(sorted[i], sorted[i - 1]) == 0) {
            continue;
        }
        if (column + strlen(sorted[i]) > 75) {
            fputs("\n ", stdout);
            column = 1;
        }
        column += (size_t)printf(" %s", sorted[i]);
    }
    if (column != 0) {
        fputc('\n', stdout);
    }
}

/* Prints `qemu-img --help` to stdout: version banner, usage, standard options, the command
 * list with descriptions, the supported formats and the bug-report footer. */
void cli_help_program_print(void)
{
    fputs(CLI_HELP_VERSION_TEXT
          "QEMU disk image utility.  Usage:\n"
          "\n"
          "  qemu-img [standard options] COMMAND [--help | command options]\n"
          "\n"
          "Standard options:\n"
          "  -h, --help\n"
          "     display this help and exit\n"
          "  -V, --version\n"
          "     display version info and exit\n"
          "  -T,--trace TRACE\n"
          "     specify tracing options:\n"
          "        [[enable=]<pattern>][,events=<file>][,file=<file>]\n"
          "\n"
          "Recognized commands (run qemu-img COMMAND --help for command-specific help):\n"
          "\n",
          stdout);
    for (size_t i = 0; i < CLI_HELP_ENTRY_COUNT; i++) {
        printf("  %s - %s\n", cli_help_entries[i].name, cli_help_entries[i].description);
    }
    fputs("\nSupported image formats:\n", stdout);
    cli_help_formats_print();
    fputs("\n" CLI_HELP_BOTTOM_TEXT "\n", stdout);
    fflush(stdout);
}

/* Prints `qemu-img -V` / `--version` to stdout: the version line and the copyright line. */
void cli_version_print(void)
{
    fputs(CLI_HELP_VERSION_TEXT, stdout);
    fflush(stdout);
}
