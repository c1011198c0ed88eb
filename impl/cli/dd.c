/* dd.c — qemu-img dd: copies blocks of an image into a newly created image (spec/architecture.md §Command line). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arguments.h"
#include "common.h"
#include "../util/memory.h"
#include "../util/pipeline.h"

/* Operands seen on the command line. */
enum {
    DD_HAS_BS = 1 << 0,
    DD_HAS_COUNT = 1 << 1,
    DD_HAS_IF = 1 << 2,
    DD_HAS_OF = 1 << 3,
    DD_HAS_SKIP = 1 << 4,
};

/* Reads are batched up to about this many bytes (whole blocks); writes go one block at a time. */
enum {
    DD_BATCH_BYTES = 1024 * 1024,
    DD_PIPELINE_DEPTH = 2,                 /* batches read ahead of the writes */
    DD_PIPELINE_BYTES_MAX = 4 * 1024 * 1024, /* larger blocks (bs=) go one at a time, as qemu's one buffer */
};

/* The parsed operands of one dd run. */
typedef struct dd_settings {
    unsigned seen;
    int64_t block_size;
    int64_t count;
    int64_t skip;
    char *input;
    char *output;
} dd_settings;

/* Applies one "key=value" operand to settings; prints qemu's message and returns -1 when it is
 * not understood or its value is invalid. */
static int dd_operand_apply(dd_settings *settings, const char *operand)
{
    const char *equals = strchr(operand, '=');
    if (equals == NULL) {
        cli_error("unrecognized operand %s", operand);
        return -1;
    }
    size_t key_length = (size_t)(equals - operand);
    const char *value = equals + 1;
    char *key = memory_strndup(operand, key_length);
    int ret = 0;
    if (strcmp(key, "bs") == 0) {
        ret = cli_size_argument("bs", value, 1, INT32_MAX, &settings->block_size);
        settings->seen |= DD_HAS_BS;
    } else if (strcmp(key, "count") == 0) {
        ret = cli_size_argument("count", value, 0, INT64_MAX, &settings->count);
        settings->seen |= DD_HAS_COUNT;
    } else if (strcmp(key, "if") == 0) {
        free(settings->input);
        settings->input = memory_strdup(value);
        settings->seen |= DD_HAS_IF;
    } else if (strcmp(key, "of") == 0) {
        free(settings->output);
        settings->output = memory_strdup(value);
        settings->seen |= DD_HAS_OF;
    } else if (strcmp(key, "skip") == 0) {
        ret = cli_size_argument("skip", value, 0, INT64_MAX, &settings->skip);
        settings->seen |= DD_HAS_SKIP;
    } else {
        cli_error("unrecognized operand %s", key);
        ret = -1;
    }
    free(key);
    return ret;
}

/* Creates the output image of size bytes in format; prints qemu's message and returns -1 on failure. */
static int dd_output_create(const char *filename, const char *format, uint64_t size)
{
    block_create_plan plan;
    error *err = NULL;
    int ret = block_create_prepare(&plan, filename, format, NULL, NULL, NULL, size, true, &err);
    if (ret == 0)
        ret = block_create_run(&plan, &err);
    if (ret < 0) {
        char *prefix = memory_printf("%s: error while creating output image: ", filename);
        cli_error_report(err, prefix);
        free(prefix);
    }
    block_create_plan_free(&plan);
    return ret < 0 ? -1 : 0;
}

/* The copy: input [position, end) to output from offset 0. */
typedef struct dd_copy {
    block_node *input;
    block_node *output;
    uint64_t position;   /* where the reading stage goes on */
    uint64_t end;
    uint64_t block_size;
    uint64_t batch;      /* bytes read at once: whole blocks */
    uint64_t input_start; /* the input offset written at output offset 0 */
} dd_copy;

/* What the reading stage read, for the writing stage. */
typedef struct dd_piece {
    uint64_t position;
    uint64_t length;
    error *err;          /* the read failed */
} dd_piece;

/* The reading stage: the next batch of whole blocks; when its read fails, the blocks are read one
 * by one so that those before the failing one are still written, as qemu-img dd reading block by
 * block writes them (pipeline_produce_fn). */
static int dd_piece_produce(void *context, void *item, uint8_t *buf)
{
    dd_copy *copy = context;
    dd_piece *piece = item;
    if (copy->position >= copy->end)
        return 0;
    piece->position = copy->position;
    uint64_t length = copy->end - copy->position < copy->batch ? copy->end - copy->position : copy->batch;
    piece->length = length;
    copy->position += length;
    if (block_node_read(copy->input, piece->position, (size_t)length, buf, &piece->err) == 0)
        return 1;
    copy->position = copy->end; /* nothing is read after a failure */
    error *batch_err = piece->err;
    piece->err = NULL;
    for (piece->length = 0; piece->length < length; piece->length += copy->block_size) {
        uint64_t block = length - piece->length < copy->block_size ? length - piece->length : copy->block_size;
        if (block_node_read(copy->input, piece->position + piece->length, (size_t)block, buf + piece->length,
                            &piece->err) < 0)
            break;
    }
    if (piece->err == NULL) /* the batch failed but no block alone does: its failure stands */
        piece->err = batch_err;
    else
        error_free(batch_err);
    return 1;
}

/* The writing stage: one write request per block, as qemu-img (formats that place metadata as
 * they allocate, qed's L2 tables, lay the file out by request), then the read failure that ended
 * the piece, if one did; prints qemu's message and returns -1 on a failure (pipeline_consume_fn). */
static int dd_piece_consume(void *context, void *item, uint8_t *buf)
{
    dd_copy *copy = context;
    dd_piece *piece = item;
    int ret = 0;
    for (uint64_t done = 0; done < piece->length && ret == 0; done += copy->block_size) {
        uint64_t length = piece->length - done < copy->block_size ? piece->length - done : copy->block_size;
        error *err = NULL;
        if (block_node_write(copy->output, piece->position - copy->input_start + done, (size_t)length, buf + done, 0,
                             &err) < 0) {
            cli_error("error while writing to output image file: %s", error_message(err));
            error_free(err);
            ret = -1;
        }
    }
    if (ret == 0 && piece->err) {
        cli_error("error while reading from input image file: %s", error_message(piece->err));
        ret = -1;
    }
    error_free(piece->err);
    return ret;
}

/* Copies input [position, end) to output from offset 0 in whole blocks (the last may be short),
 * reading ahead of the writes when the two share no file and the blocks are small; returns 0 or -1
 * after printing qemu's message. */
static int dd_data_copy(block_node *input, block_node *output, uint64_t position, uint64_t end, uint64_t block_size)
{
    dd_copy copy = {input, output, position, end, block_size, block_size, position};
    if (copy.batch < DD_BATCH_BYTES)
        copy.batch = (DD_BATCH_BYTES / block_size) * block_size;
    pipeline_config pipeline = {
        .depth = copy.batch <= DD_PIPELINE_BYTES_MAX && !block_node_files_shared(output, input) ? DD_PIPELINE_DEPTH : 1,
        .buffer_size = (size_t)copy.batch,
        .item_size = sizeof(dd_piece),
        .produce = dd_piece_produce,
        .consume = dd_piece_consume,
        .context = &copy,
    };
    if (pipeline_run(&pipeline) < 0)
        return -1;
    error *err = NULL;
    if (block_node_flush(output, &err) < 0) {
        cli_error("error while writing to output image file: %s", error_message(err));
        error_free(err);
        return -1;
    }
    return 0;
}

/* The options of dd, in qemu-img's order. */
static void dd_arguments_build(cli_arguments *a)
{
    cli_arguments_init(a, "dd", false);
    cli_arguments_add_shared(a, CLI_SHARED_HELP, "help", 'h');
    cli_arguments_add_shared(a, CLI_SHARED_FORMAT, "format", 'f');
    cli_arguments_add_shared(a, CLI_SHARED_IMAGE_OPTS, "image-opts", 0);
    cli_arguments_add(a, "output-format", required_argument, 'O');
    cli_arguments_add_shared(a, CLI_SHARED_FORCE_SHARE, "force-share", 'U');
    cli_arguments_add_shared(a, CLI_SHARED_OBJECT, "object", 0);
}

/* qemu-img dd [-f FMT|--image-opts] [-O OUTPUT_FMT] [-U] [bs=N] [count=N] [skip=N] if=INPUT of=OUTPUT.
 * Returns 0 on success, 1 on any failure. */
int cli_command_dd(int argc, char **argv)
{
    cli_arguments arguments;
    cli_shared_values shared = {0};
    const char *output_format = "raw";
    dd_settings settings = {.block_size = 512};
    block_node *input = NULL, *output = NULL;
    int ret = 1, exit_code = 0;
    int c;

    dd_arguments_build(&arguments);
    while ((c = cli_arguments_next(&arguments, argc, argv, &shared, &exit_code)) != CLI_ARGUMENTS_END) {
        if (c == CLI_ARGUMENTS_EXIT)
            return exit_code;
        output_format = optarg; /* -O is dd's only option of its own */
    }
    const char *format = shared.format;
    bool image_opts = shared.image_opts, force_share = shared.force_share;
    for (int i = optind; i < argc; i++)
        if (dd_operand_apply(&settings, argv[i]) < 0)
            goto cleanup;
    if (!(settings.seen & DD_HAS_IF) || !(settings.seen & DD_HAS_OF)) {
        cli_error("Must specify both input and output files");
        goto cleanup;
    }

    input = cli_image_open(settings.input, format, image_opts, force_share ? BLOCK_OPEN_FORCE_SHARE : 0, NULL,
                           false);
    if (input == NULL)
        goto cleanup;
    const block_driver *driver = block_driver_find(output_format);
    if (driver == NULL) {
        cli_error("Unknown file format");
        goto cleanup;
    }
    if (driver->create == NULL || driver->create_options == NULL) {
        cli_error("Format driver '%s' does not support image creation", driver->format_name);
        goto cleanup;
    }
    int64_t length = block_node_length(input);
    if (length < 0) {
        cli_error("Failed to get size for '%s'", settings.input);
        goto cleanup;
    }
    uint64_t size = (uint64_t)length;
    uint64_t block_size = (uint64_t)settings.block_size;
    if ((settings.seen & DD_HAS_COUNT) && (uint64_t)settings.count <= (uint64_t)INT64_MAX / block_size &&
        (uint64_t)settings.count * block_size < size)
        size = (uint64_t)settings.count * block_size;
    bool skip_past_end = (settings.seen & DD_HAS_SKIP) &&
                         ((uint64_t)settings.skip > (uint64_t)INT64_MAX / block_size ||
                          size < block_size * (uint64_t)settings.skip);
    uint64_t start = skip_past_end ? size : block_size * (uint64_t)settings.skip;

    if (dd_output_create(settings.output, output_format, size - start) < 0)
        goto cleanup;
    output = cli_image_open(settings.output, output_format, false, BLOCK_OPEN_READ_WRITE, NULL, false);
    if (output == NULL)
        goto cleanup;
    if (skip_past_end)
        cli_error("%s: cannot skip to specified offset", settings.input);
    if (dd_data_copy(input, output, start, size, block_size) < 0)
        goto cleanup;
    ret = 0;

cleanup:
    block_node_close(output);
    block_node_close(input);
    free(settings.input);
    free(settings.output);
    return ret;
}
