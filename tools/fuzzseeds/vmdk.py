"""vmdk fuzz seeds: monolithic sparse images (plain, zeroed-grain, compat6), stream-optimized images
with compressed grains, a VMDK3 (COWD) image, a zero-extent descriptor, and images with damaged grain directories and
tables (spec/vmdk.md)."""
import os
import struct

from . import generator, pattern_file, run, save

SEED_BYTES = 60 * 1024  # each seed stays below 64 KiB

VMDK_VARIANTS = [
    ("empty-0", [], "0"),
    ("empty-1m", [], "1M"),
    ("empty-64m", [], "64M"),
    ("zeroed-grain", ["-o", "zeroed_grain=on"], "2M"),
    ("compat6", ["-o", "compat6=on"], "1M"),
    ("stream-empty", ["-o", "subformat=streamOptimized"], "1M"),
]


def truncated(path, length=SEED_BYTES):
    """Cuts path down to at most length bytes, its header's overhead moved to sector 40 (qemu refuses
    a file shorter than the overhead)."""
    with open(path, "r+b") as fh:
        fh.seek(64)
        fh.write(struct.pack("<Q", 40))
        fh.seek(0, os.SEEK_END)
        if fh.tell() > length:
            fh.truncate(length)


def relocated(path, new_sector=40):
    """Moves the grains of a small image (grain tables below new_sector, data from its overhead on)
    down to new_sector and cuts the file to SEED_BYTES: the seed stays below 64 KiB."""
    with open(path, "rb") as fh:
        data = bytearray(fh.read())
    gd, rgd, overhead = struct.unpack_from("<Q", data, 56)[0], struct.unpack_from("<Q", data, 48)[0], \
        struct.unpack_from("<Q", data, 64)[0]
    delta = overhead - new_sector
    for directory in (gd, rgd):
        gt = struct.unpack_from("<I", data, directory * 512)[0]
        for i in range(512):
            entry = struct.unpack_from("<I", data, gt * 512 + 4 * i)[0]
            if entry >= overhead:
                struct.pack_into("<I", data, gt * 512 + 4 * i, entry - delta)
    struct.pack_into("<Q", data, 64, new_sector)
    tail = data[overhead * 512:]
    data = data[:new_sector * 512] + tail
    with open(path, "wb") as fh:
        fh.write(bytes(data[:SEED_BYTES]))


def patch(path, offset, fmt, value):
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(struct.pack("<" + fmt, value))


def small_grain_image():
    """A hand-made monolithic sparse image with 4 KiB grains (1 MiB, grains 0 and 5 allocated) that
    checks clean in 24 KiB: writes to it are verified by the fuzz model."""
    data = bytearray(48 * 512)
    struct.pack_into("<4sIIQQQQIQQQB4sH", data, 0, b"KDMV", 1, 3, 2048, 8, 1, 20, 512, 21, 26, 32, 0,
                     b"\n \r\n", 0)
    desc = ('# Disk DescriptorFile\nversion=1\nCID=1234abcd\nparentCID=ffffffff\n'
            'createType="monolithicSparse"\n\n# Extent description\nRW 2048 SPARSE "small.vmdk"\n')
    data[512:512 + len(desc)] = desc.encode()
    for directory, table in ((21, 22), (26, 27)):
        struct.pack_into("<I", data, directory * 512, table)
        struct.pack_into("<I", data, table * 512, 32)
        struct.pack_into("<I", data, table * 512 + 20, 40)
    data[32 * 512:36 * 512] = b"\x11" * 2048
    data[40 * 512:48 * 512] = b"\x22" * 4096
    return bytes(data)


@generator("vmdk")
def vmdk_seeds(qemu_img, work, out):
    count = 0
    for i, (name, opts, size) in enumerate(VMDK_VARIANTS):
        path = os.path.join(work, f"{name}.vmdk")
        if run(qemu_img, "create", "-q", "-f", "vmdk", *opts, path, size):
            truncated(path)
            count += save(out, f"vmdk-{name}", path, i)
    source = os.path.join(work, "source.raw")
    pattern_file(source, 2 << 20, [(0, 4096, 0x11), (1 << 20, 512, 0x22)])
    stream = os.path.join(work, "stream.vmdk")
    if run(qemu_img, "convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", source, stream):
        relocated(stream)
        count += save(out, "vmdk-stream-data", stream, 100)
    data = os.path.join(work, "data.vmdk")
    small = os.path.join(work, "small.raw")
    pattern_file(small, 1 << 20, [(0, 4096, 0x11)])
    if run(qemu_img, "convert", "-f", "raw", "-O", "vmdk", small, data):
        relocated(data)
        count += save(out, "vmdk-data", data, 101)
    damaged = [
        ("gd-past-eof", [(0x3400, "I", 0x100000)]),
        ("gt-past-eof", [(0x3600, "I", 0x100000)]),
        ("gt-into-metadata", [(0x3600, "I", 1)]),
        ("bad-version", [(4, "I", 4)]),
        ("gtes-too-many", [(44, "I", 1024)]),
        ("gd-at-end", [(56, "Q", 0xffffffffffffffff)]),
    ]
    for i, (name, patches) in enumerate(damaged):
        path = os.path.join(work, f"{name}.vmdk")
        if run(qemu_img, "convert", "-f", "raw", "-O", "vmdk", small, path):
            relocated(path)
            for offset, fmt, value in patches:
                patch(path, offset, fmt, value)
            count += save(out, f"vmdk-{name}", path, 200 + i)
    small = os.path.join(work, "small-grain.vmdk")
    with open(small, "wb") as fh:
        fh.write(small_grain_image())
    count += save(out, "vmdk-small-grain", small, 302)
    cowd = os.path.join(work, "cowd.vmdk")
    data = bytearray(100 * 512)  # a VMDK3 image: 1 MiB, 8 KiB grains, grain 1 allocated
    struct.pack_into("<4sIIIIII", data, 0, b"COWD", 1, 3, 2048, 16, 21, 1)
    data[512:512 + 29] = b"CID=1234\nparentCID=ffffffff\n"
    struct.pack_into("<I", data, 21 * 512, 22)
    struct.pack_into("<I", data, 22 * 512 + 4, 60)
    data[60 * 512:76 * 512] = b"\x5a" * (16 * 512)
    with open(cowd, "wb") as fh:
        fh.write(bytes(data))
    count += save(out, "vmdk-cowd", cowd, 301)
    zero = os.path.join(work, "zero.vmdk")
    with open(zero, "w") as fh:
        fh.write('# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=ffffffff\ncreateType="vmfs"\n'
                 '\n# Extent description\nRW 2048 ZERO "x"\n')
    count += save(out, "vmdk-zero-extent", zero, 300)
    return count
