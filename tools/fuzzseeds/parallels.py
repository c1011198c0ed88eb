"""parallels fuzz seeds: new-format images of several cluster sizes with data, an old-format
("WithoutFreeSpace") image, a dirty one and one carrying a dirty-bitmap format extension
(spec/parallels.md). Every seed stays below 64 KiB."""
import hashlib
import os
import struct

from . import generator, pattern_file, run, save

PARALLELS_VARIANTS = [
    ("c512", ["-o", "cluster_size=512"], 32 << 10),
    ("c4k", ["-o", "cluster_size=4k"], 48 << 10),
    ("c1536", ["-o", "cluster_size=1536"], 30 << 10),
    ("c16k", ["-o", "cluster_size=16k"], 48 << 10),
]


def header(magic, tracks, entries, sectors, inuse, data_off, ext_off=0):
    """The 64-byte header (spec/parallels.md §Header)."""
    return (magic + struct.pack("<IIIII", 2, 16, sectors // 512, tracks, entries) +
            struct.pack("<QIII", sectors, inuse, data_off, 0) + struct.pack("<Q", ext_off))


def old_format_image(path):
    """An old-format image: BAT entries in sectors, 4 KiB clusters, three clusters of data."""
    tracks, entries = 8, 8
    bat = struct.pack("<8I", 8, 0, 16, 0, 24, 0, 0, 0)
    data = header(b"WithoutFreeSpace", tracks, entries, entries * tracks, 0, 8) + bat
    data = data.ljust(4096, b"\0") + b"\x11" * 4096 + b"\x22" * 4096 + b"\x33" * 4096
    with open(path, "wb") as fh:
        fh.write(data)


def bitmap_image(path, inuse=0x312E3276):
    """A new-format image (4 KiB clusters) with a format extension holding a dirty bitmap."""
    tracks, entries, cluster = 8, 8, 4096
    sectors = entries * tracks
    bat = struct.pack("<8I", 1, 0, 0, 0, 0, 0, 0, 0)
    data = header(b"WithouFreSpacExt", tracks, entries, sectors, inuse, 8, 3 * tracks) + bat
    data = data.ljust(cluster, b"\0") + b"\x44" * cluster + b"\x80" + b"\0" * (cluster - 1)
    feature = struct.pack("<QQII", 0x20385FAE252CB34A, 0, 40, 0)
    bitmap = struct.pack("<Q", sectors) + bytes(range(16)) + struct.pack("<IIQ", 8, 1, 2 * tracks)
    body = (feature + bitmap + bytes(24)).ljust(cluster - 24, b"\0")
    ext = struct.pack("<Q", 0xAB234CEF23DCEA87) + hashlib.md5(body).digest() + body
    with open(path, "wb") as fh:
        fh.write(data + ext)


@generator("parallels")
def parallels_seeds(qemu_img, work, out):
    count = 0
    for i, (name, opts, size) in enumerate(PARALLELS_VARIANTS):
        source = os.path.join(work, f"{name}.raw")
        pattern_file(source, size, [(0, 1024, 0x11), (8 << 10, 4096, 0x22), (size - 512, 512, 0x33)])
        path = os.path.join(work, f"{name}.parallels")
        if run(qemu_img, "convert", "-f", "raw", "-O", "parallels", *opts, source, path):
            count += save(out, f"parallels-{name}", path, i)
        empty = os.path.join(work, f"{name}-empty.parallels")
        if run(qemu_img, "create", "-q", "-f", "parallels", *opts, empty, str(size)):
            count += save(out, f"parallels-{name}-empty", empty, i + 100)
    old = os.path.join(work, "old.parallels")
    old_format_image(old)
    count += save(out, "parallels-old", old, 200)
    bitmap = os.path.join(work, "bitmap.parallels")
    bitmap_image(bitmap)
    count += save(out, "parallels-bitmap", bitmap, 300)
    dirty = os.path.join(work, "dirty.parallels")
    bitmap_image(dirty, inuse=0x746F6E59)
    count += save(out, "parallels-dirty", dirty, 400)
    return count
