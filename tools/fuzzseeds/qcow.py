"""qcow (v1) fuzz seeds: default and backing-file layouts (4 KiB and 512-byte clusters), written,
compressed, odd-sized and large-L1 images (spec/qcow.md)."""
import os
import struct

from . import generator, pattern_file, run, save

SPANS = [(0, 16384, 0x11), (1 << 20, 4096, 0x22), (3 << 20, 512, 0x33), (2 << 20, 1000, 0x44)]


@generator("qcow")
def qcow_seeds(qemu_img, work, out):
    count = 0
    source = os.path.join(work, "source.raw")
    pattern_file(source, 4 << 20, SPANS)
    odd = os.path.join(work, "odd.raw")
    pattern_file(odd, 5000, [(0, 5000, 0x55)])
    cases = [
        ("data", ["convert", "-f", "raw", "-O", "qcow", source]),
        ("compressed", ["convert", "-c", "-f", "raw", "-O", "qcow", source]),
        ("odd", ["convert", "-f", "raw", "-O", "qcow", odd]),
        ("odd-compressed", ["convert", "-c", "-f", "raw", "-O", "qcow", odd]),
    ]
    for i, (name, args) in enumerate(cases):
        path = os.path.join(work, f"{name}.qcow")
        run(qemu_img, *args, path)  # convert -c to qcow exits 1 after writing everything (as qemu)
        if os.path.exists(path) and os.path.getsize(path) > 0:
            count += save(out, f"qcow-{name}", path, i)
    for i, size in enumerate(["16M", "65537", "512", "1G"]):
        empty = os.path.join(work, f"empty{i}.qcow")
        if run(qemu_img, "create", "-q", "-f", "qcow", empty, size):
            count += save(out, f"qcow-empty-{size}", empty, 100 + i)
    base = os.path.join(work, "base.qcow")
    top = os.path.join(work, "top.qcow")
    if run(qemu_img, "convert", "-f", "raw", "-O", "qcow", source, base) and \
            run(qemu_img, "create", "-q", "-f", "qcow", "-b", base, "-F", "qcow", top):
        count += save(out, "qcow-backing", top, 200)
    raw_top = os.path.join(work, "rawtop.qcow")
    if run(qemu_img, "create", "-q", "-f", "qcow", "-b", source, "-F", "raw", raw_top):
        count += save(out, "qcow-backing-raw", raw_top, 201)
    for i, (name, fields) in enumerate(CRAFTED):
        path = os.path.join(work, f"{name}.qcow")
        with open(path, "wb") as fh:
            fh.write(crafted_header(**fields))
        count += save(out, f"qcow-crafted-{name}", path, 300 + i)
    return count


def crafted_header(size=16 << 20, cluster_bits=12, l2_bits=9, crypt=0, l1_offset=48, pad=512, l2=None):
    """A header with the given fields, a zeroed L1 table and optionally one L2 table (one entry)."""
    header = b"QFI\xfb" + struct.pack(">IQIIQBBHIQ", 1, 0, 0, 0, size, cluster_bits, l2_bits, 0, crypt, l1_offset)
    body = bytearray(header.ljust(l1_offset + pad, b"\0") if l1_offset < 65536 else header)
    if l2 is not None:
        l2_offset = len(body)
        body[l1_offset:l1_offset + 8] = struct.pack(">Q", l2_offset)
        body += struct.pack(">Q", l2) + bytes((1 << l2_bits) * 8 - 8)
        body += bytes([0x5A]) * (1 << cluster_bits)
    return bytes(body)


CRAFTED = [
    ("c64k", {"cluster_bits": 16, "l2_bits": 13}),
    ("c512-l2min", {"cluster_bits": 9, "l2_bits": 6}),
    ("aes", {"crypt": 1}),
    ("l1-past-eof", {"l1_offset": 1 << 30, "pad": 0}),
    ("l2-entry", {"l2": 48 + 512 + 4096}),
    ("l2-entry-past-eof", {"l2": 1 << 40}),
    ("l2-compressed-bad", {"l2": (1 << 63) | (100 << 51) | (48 + 512 + 4096)}),
]
