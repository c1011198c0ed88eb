#!/usr/bin/env python3
"""fuzz_corpus.py — writes the seed corpora of the fuzz targets: small valid images covering each
format's options, made with the project's own qemu-img (spec/architecture.md §Fuzzing).

Every seed is an image followed by a few write operations and the 16-bit little-endian length of
those operations (the layout fuzz/fuzz_common.c decodes).

usage: fuzz_corpus.py --qemu-img build/qemu-img --out fuzz/corpus [--format NAME]
"""
import argparse
import hashlib
import os
import struct
import subprocess
import sys
import tempfile

SEED_MAX = 1 << 20  # seeds stay small so that replay in make check is quick


def operations(seed):
    """A short deterministic sequence of 8-byte operations: kind, offset, length, pattern."""
    ops = b""
    for i in range(4):
        kind = (seed + i) % 4
        ops += struct.pack("<BIHB", kind, (seed * 7919 + i * 65536) & 0xFFFFFFFF, 511 + i * 4096, 0x41 + i)
    return ops + struct.pack("<H", len(ops))


def pattern_file(path, size, spans):
    """A raw file of size bytes with byte patterns at the given (offset, length, value) spans."""
    with open(path, "wb") as fh:
        fh.truncate(size)
        for offset, length, value in spans:
            fh.seek(offset)
            fh.write(bytes([value]) * length)


def run(qemu_img, *args):
    proc = subprocess.run([qemu_img, *args], capture_output=True, text=True)
    return proc.returncode == 0


def save(out_dir, name, path, seed):
    with open(path, "rb") as fh:
        data = fh.read()
    if len(data) > SEED_MAX:
        return False
    data += operations(seed)
    os.makedirs(out_dir, exist_ok=True)
    digest = hashlib.sha1(data).hexdigest()[:12]
    with open(os.path.join(out_dir, f"{name}-{digest}"), "wb") as fh:
        fh.write(data)
    return True


def raw_seeds(qemu_img, work, out):
    count = 0
    for i, (size, spans) in enumerate([(0, []), (512, [(0, 512, 0xEB)]), (65536, [(0, 4096, 0x11)]),
                                       (1 << 20, [(4096, 8192, 0x22), (512 * 1024, 512, 0x33)])]):
        path = os.path.join(work, f"raw{i}.img")
        pattern_file(path, size, spans)
        count += save(out, f"raw-{i}", path, i)
    return count


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


GENERATORS = {"raw": raw_seeds, "qcow2": qcow2_seeds}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--qemu-img", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--format", action="append", help="only these formats (default: all)")
    a = ap.parse_args()
    total = 0
    with tempfile.TemporaryDirectory() as work:
        for fmt, generate in GENERATORS.items():
            if a.format and fmt not in a.format:
                continue
            n = generate(os.path.abspath(a.qemu_img), work, os.path.join(a.out, fmt))
            print(f"{fmt}: {n} seeds")
            total += n
    return 0 if total else 1


if __name__ == "__main__":
    sys.exit(main())
