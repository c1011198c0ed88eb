/* format_compress.h — whole-cluster compression as the image formats store it: raw deflate with a
 * 4 KiB window (qcow, qcow2, vmdk) and zstd streams (qcow2) (spec/formats-common.md §Compression). */
#ifndef QIMG_FORMATS_COMMON_FORMAT_COMPRESS_H
#define QIMG_FORMATS_COMMON_FORMAT_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

typedef enum format_compression {
    FORMAT_COMPRESSION_DEFLATE = 0, /* raw deflate, window 2^12, memory level 9 */
    FORMAT_COMPRESSION_ZSTD = 1,
} format_compression;

/* The library state one thread keeps from one cluster to the next (zstd's contexts are costly to
 * make: a batch worker makes them once). Zero-initialise; free with format_codec_free. */
typedef struct format_codec {
    void *zstd_compress;   /* ZSTD_CCtx, made on first use */
    void *zstd_decompress; /* ZSTD_DCtx, made on first use */
} format_codec;

void format_codec_free(format_codec *codec);

/* As format_compress and format_decompress, reusing codec's state. */
long format_codec_compress(format_codec *codec, format_compression type, uint8_t *dest, size_t dest_size,
                           const uint8_t *src, size_t src_size);
int format_codec_decompress(format_codec *codec, format_compression type, uint8_t *dest, size_t dest_size,
                            const uint8_t *src, size_t src_size);

/* Compresses src into at most dest_size bytes: the compressed length, -2 when it does not fit, -1 on
 * failure. */
long format_compress(format_compression type, uint8_t *dest, size_t dest_size, const uint8_t *src, size_t src_size);

/* Decompresses src (src_size bytes, possibly followed by slack) into exactly dest_size bytes; 0 or -1. */
int format_decompress(format_compression type, uint8_t *dest, size_t dest_size, const uint8_t *src, size_t src_size);

#endif
