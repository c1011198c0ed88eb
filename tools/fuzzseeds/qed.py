"""qed fuzz seeds: 4 KiB clusters with table sizes 2 and 4, a zero cluster, unknown autoclear bits, data, zero clusters, a raw and a
probed backing file, an image marked as needing a check (spec/qed.md). Seeds stay below 64 KiB."""
import os
import struct

from . import generator, pattern_file, run, save

QED_VARIANTS = [
    ("t2", "cluster_size=4k,table_size=2"),
    ("t4", "cluster_size=4k"),
]


def header_or(path, offset, bits):
    """ORs bits into the 64-bit little-endian header field at offset."""
    with open(path, "r+b") as fh:
        fh.seek(offset)
        value = struct.unpack("<Q", fh.read(8))[0]
        fh.seek(offset)
        fh.write(struct.pack("<Q", value | bits))


def copy(src_path, dst_path):
    with open(src_path, "rb") as src, open(dst_path, "wb") as dst:
        dst.write(src.read())


def first_l2_zero_entry(path):
    """Turns the second entry of the first L2 table into a zero cluster (entry 1)."""
    with open(path, "r+b") as fh:
        fh.seek(40)
        l1_offset = struct.unpack("<Q", fh.read(8))[0]
        fh.seek(l1_offset)
        l2_offset = struct.unpack("<Q", fh.read(8))[0]
        fh.seek(l2_offset + 8)
        fh.write(struct.pack("<Q", 1))


@generator("qed")
def qed_seeds(qemu_img, work, out):
    count = 0
    source = os.path.join(work, "source.raw")
    pattern_file(source, 1 << 20, [(0, 4096, 0x11), (8192, 512, 0x22), (600 * 1024, 4096, 0x33)])
    for i, (name, opts) in enumerate(QED_VARIANTS):
        empty = os.path.join(work, f"{name}-empty.qed")
        if run(qemu_img, "create", "-q", "-f", "qed", "-o", opts, empty, "1M"):
            count += save(out, f"qed-{name}-empty", empty, i)
        data = os.path.join(work, f"{name}.qed")
        if run(qemu_img, "convert", "-f", "raw", "-O", "qed", "-o", opts, source, data):
            count += save(out, f"qed-{name}-data", data, i + 10)
            dirty = os.path.join(work, f"{name}-dirty.qed")
            copy(data, dirty)
            header_or(dirty, 16, 2)
            count += save(out, f"qed-{name}-need-check", dirty, i + 20)
            zero = os.path.join(work, f"{name}-zero.qed")
            copy(data, zero)
            first_l2_zero_entry(zero)
            header_or(zero, 32, 0xF0)
            count += save(out, f"qed-{name}-zero-autoclear", zero, i + 40)
    base = os.path.join(work, "base.raw")
    pattern_file(base, 1 << 20, [(0, 512, 0x44)])
    for i, fmt in enumerate(["raw", "qed"]):
        backing = base if fmt == "raw" else os.path.join(work, "base.qed")
        if fmt == "qed" and not run(qemu_img, "create", "-q", "-f", "qed", "-o", "cluster_size=4k", backing, "1M"):
            continue
        top = os.path.join(work, f"top-{fmt}.qed")
        if run(qemu_img, "create", "-q", "-f", "qed", "-o", "cluster_size=4k", "-b", backing, "-F", fmt, top):
            count += save(out, f"qed-backing-{fmt}", top, 30 + i)
    return count
