/* format_compress.c — cluster compression with zlib and libzstd shared by the format drivers
 * (spec/formats-common.md §Compression). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <isa-l/igzip_lib.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "format_compress.h"

void format_codec_free(format_codec *codec)
{
    ZSTD_freeCCtx(codec->zstd_compress);
    ZSTD_freeDCtx(codec->zstd_decompress);
    codec->zstd_compress = NULL;
    codec->zstd_decompress = NULL;
}

/* One zstd frame of src in at most dest_size bytes, with the library's default parameters. */
static long format_zstd_compress(format_codec *codec, uint8_t *dest, size_t dest_size, const uint8_t *src,
                                 size_t src_size)
{
    if (codec->zstd_compress == NULL && (codec->zstd_compress = ZSTD_createCCtx()) == NULL)
        return -1;
    ZSTD_CCtx *context = codec->zstd_compress;
    ZSTD_CCtx_reset(context, ZSTD_reset_session_only);
    ZSTD_outBuffer output = {dest, dest_size, 0};
    ZSTD_inBuffer input = {src, src_size, 0};
    size_t left = ZSTD_compressStream2(context, &output, &input, ZSTD_e_end);
    if (ZSTD_isError(left))
        return ZSTD_getErrorCode(left) == ZSTD_error_dstSize_tooSmall ? -2 : -1;
    return left > 0 ? -2 : (long)output.pos;
}

/* Decodes zstd frames from src until dest_size bytes are out. */
static int format_zstd_decompress(format_codec *codec, uint8_t *dest, size_t dest_size, const uint8_t *src,
                                  size_t src_size)
{
    if (codec->zstd_decompress == NULL && (codec->zstd_decompress = ZSTD_createDCtx()) == NULL)
        return -1;
    ZSTD_DCtx *context = codec->zstd_decompress;
    ZSTD_DCtx_reset(context, ZSTD_reset_session_only);
    ZSTD_outBuffer output = {dest, dest_size, 0};
    ZSTD_inBuffer input = {src, src_size, 0};
    while (output.pos < output.size) {
        size_t last_in = input.pos, last_out = output.pos;
        size_t result = ZSTD_decompressStream(context, &output, &input);
        if (ZSTD_isError(result))
            return -1;
        if (input.pos == last_in && output.pos == last_out)
            return -1;
    }
    return 0;
}

long format_compress(format_compression type, uint8_t *dest, size_t dest_size, const uint8_t *src, size_t src_size)
{
    format_codec codec = {0};
    long ret = format_codec_compress(&codec, type, dest, dest_size, src, src_size);
    format_codec_free(&codec);
    return ret;
}

int format_decompress(format_compression type, uint8_t *dest, size_t dest_size, const uint8_t *src, size_t src_size)
{
    format_codec codec = {0};
    int ret = format_codec_decompress(&codec, type, dest, dest_size, src, src_size);
    format_codec_free(&codec);
    return ret;
}

/* Compresses src into at most dest_size bytes; the length, -2 when it does not fit, -1 on failure. */
long format_codec_compress(format_codec *codec, format_compression type, uint8_t *dest, size_t dest_size,
                           const uint8_t *src, size_t src_size)
{
    if (type == FORMAT_COMPRESSION_ZSTD)
        return format_zstd_compress(codec, dest, dest_size, src, src_size);
    z_stream stream;
    memset(&stream, 0, sizeof(stream));
    if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    stream.next_in = (Bytef *)src;
    stream.avail_in = (uInt)src_size;
    stream.next_out = dest;
    stream.avail_out = (uInt)dest_size;
    int result = deflate(&stream, Z_FINISH);
    long ret;
    if (result == Z_STREAM_END)
        ret = (long)(dest_size - stream.avail_out);
    else if (result == Z_OK || result == Z_BUF_ERROR)
        ret = -2;
    else
        ret = -1;
    deflateEnd(&stream);
    return ret;
}

/* ISA-L's inflate, about twice as fast as zlib's: true when it decoded src into all dest_size bytes
 * of dest (the stream ending there or later). Anything else is left to zlib, whose verdict on odd
 * streams (truncated ones, a stream longer than the cluster) is the one qemu gives. */
static bool format_inflate_fast(uint8_t *dest, size_t dest_size, const uint8_t *src, size_t src_size)
{
    struct inflate_state state;
    if (src_size > UINT32_MAX || dest_size > UINT32_MAX)
        return false;
    isal_inflate_init(&state);
    state.crc_flag = ISAL_DEFLATE;
    state.next_in = (uint8_t *)src;
    state.avail_in = (uint32_t)src_size;
    state.next_out = dest;
    state.avail_out = (uint32_t)dest_size;
    return isal_inflate_stateless(&state) == ISAL_DECOMP_OK && state.avail_out == 0;
}

/* Decompresses src into exactly dest_size bytes; 0 or -1. */
int format_codec_decompress(format_codec *codec, format_compression type, uint8_t *dest, size_t dest_size,
                            const uint8_t *src, size_t src_size)
{
    if (type == FORMAT_COMPRESSION_ZSTD)
        return format_zstd_decompress(codec, dest, dest_size, src, src_size);
    if (format_inflate_fast(dest, dest_size, src, src_size))
        return 0;
    z_stream stream;
    memset(&stream, 0, sizeof(stream));
    if (inflateInit2(&stream, -12) != Z_OK)
        return -1;
    stream.next_in = (Bytef *)src;
    stream.avail_in = (uInt)src_size;
    stream.next_out = dest;
    stream.avail_out = (uInt)dest_size;
    int result = inflate(&stream, Z_FINISH);
    int ret = (result == Z_STREAM_END || (result == Z_BUF_ERROR && stream.avail_out == 0)) ? 0 : -1;
    inflateEnd(&stream);
    return ret;
}
