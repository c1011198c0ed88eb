"""vdi fuzz seeds: dynamic and static images of a few sizes, images with data whose last block is cut
short (the data reads as zeroes past the end of the file, which keeps seeds small), and a few with
damaged block maps (spec/vdi.md)."""
import os
import struct

from . import generator, pattern_file, run, save

SEED_BYTES = 60 * 1024  # each seed stays below 64 KiB

VDI_VARIANTS = [
    ("empty-0", [], "0"),
    ("empty-1m", [], "1M"),
    ("empty-3m", [], "3M"),
    ("empty-1000", [], "1000"),
    ("static-2m", ["-o", "static=on"], "2M"),
    ("static-0", ["-o", "static=on"], "0"),
]


def truncated(path, length=SEED_BYTES):
    """Cuts path down to at most length bytes."""
    with open(path, "r+b") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell() > length:
            fh.truncate(length)


def patch(path, offset, fmt, value):
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(struct.pack("<" + fmt, value))


@generator("vdi")
def vdi_seeds(qemu_img, work, out):
    count = 0
    for i, (name, opts, size) in enumerate(VDI_VARIANTS):
        path = os.path.join(work, f"{name}.vdi")
        if run(qemu_img, "create", "-q", "-f", "vdi", *opts, path, size):
            truncated(path)
            count += save(out, f"vdi-{name}", path, i)
    source = os.path.join(work, "source.raw")
    pattern_file(source, 4 << 20, [(0, 8192, 0x11), (3 << 20, 512, 0x33), (2 << 20, 4096, 0x22)])
    for i, (name, opts) in enumerate([("data", []), ("data-static", ["-o", "static=on"])]):
        path = os.path.join(work, f"{name}.vdi")
        if run(qemu_img, "convert", "-f", "raw", "-O", "vdi", *opts, source, path):
            truncated(path)
            count += save(out, f"vdi-{name}", path, 100 + i)
    damaged = [
        ("dup-entry", [(0x204, "I", 0)]),
        ("entry-too-large", [(0x200, "I", 0x40)]),
        ("allocated-wrong", [(0x184, "I", 7)]),
        ("bmap-past-eof", [(0x154, "I", 0x100000)]),
        ("entry-zero-marker", [(0x200, "I", 0xfffffffe)]),
    ]
    for i, (name, patches) in enumerate(damaged):
        path = os.path.join(work, f"{name}.vdi")
        if run(qemu_img, "convert", "-f", "raw", "-O", "vdi", source, path):
            truncated(path)
            for offset, fmt, value in patches:
                patch(path, offset, fmt, value)
            count += save(out, f"vdi-{name}", path, 200 + i)
    return count
