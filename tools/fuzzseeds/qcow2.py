"""qcow2 fuzz seeds: every create option family, compressed clusters, a backing file, a snapshot and
a bitmap (spec/qcow2.md)."""
import os

from . import generator, pattern_file, run, save

QCOW2_VARIANTS = [
    ("default", []),
    ("v2", ["-o", "compat=0.10"]),
    ("c512", ["-o", "cluster_size=512"]),
    ("c4k", ["-o", "cluster_size=4k"]),
    ("c2m", ["-o", "cluster_size=2M"]),
    ("l2ext", ["-o", "extended_l2=on"]),
    ("l2ext4k", ["-o", "extended_l2=on,cluster_size=4k"]),
    ("zstd", ["-o", "compression_type=zstd"]),
    ("rc1", ["-o", "refcount_bits=1"]),
    ("rc64", ["-o", "refcount_bits=64"]),
    ("lazy", ["-o", "lazy_refcounts=on"]),
    ("meta", ["-o", "preallocation=metadata"]),
]


@generator("qcow2")
def qcow2_seeds(qemu_img, work, out):
    count = 0
    source = os.path.join(work, "source.raw")
    pattern_file(source, 4 << 20, [(0, 65536, 0x11), (1 << 20, 4096, 0x22), (3 << 20, 512, 0x33)])
    for i, (name, opts) in enumerate(QCOW2_VARIANTS):
        path = os.path.join(work, f"{name}.qcow2")
        if run(qemu_img, "convert", "-f", "raw", "-O", "qcow2", *opts, source, path):
            count += save(out, f"qcow2-{name}", path, i)
        empty = os.path.join(work, f"{name}-empty.qcow2")
        if run(qemu_img, "create", "-q", "-f", "qcow2", *opts, empty, "16M"):
            count += save(out, f"qcow2-{name}-empty", empty, i + 100)
    compressed = os.path.join(work, "compressed.qcow2")
    if run(qemu_img, "convert", "-c", "-f", "raw", "-O", "qcow2", source, compressed):
        count += save(out, "qcow2-compressed", compressed, 200)
    base = os.path.join(work, "base.qcow2")
    top = os.path.join(work, "top.qcow2")
    if run(qemu_img, "create", "-q", "-f", "qcow2", base, "4M") and \
            run(qemu_img, "create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", top):
        count += save(out, "qcow2-backing", top, 300)
    snap = os.path.join(work, "snap.qcow2")
    if run(qemu_img, "convert", "-f", "raw", "-O", "qcow2", source, snap) and \
            run(qemu_img, "snapshot", "-c", "s1", snap):
        count += save(out, "qcow2-snapshot", snap, 400)
    bitmap = os.path.join(work, "bitmap.qcow2")
    if run(qemu_img, "convert", "-f", "raw", "-O", "qcow2", source, bitmap) and \
            run(qemu_img, "bitmap", "--add", bitmap, "b0"):
        count += save(out, "qcow2-bitmap", bitmap, 500)
    return count
