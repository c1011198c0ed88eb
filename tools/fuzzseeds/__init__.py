"""fuzzseeds — the seed generators of the fuzz corpora, one module per format
(tools/fuzzseeds/FORMAT.py registers its generator with @generator("FORMAT")); tools/fuzz_corpus.py
runs them (spec/architecture.md §Fuzzing).

Every seed is an image followed by a few write operations and the 16-bit little-endian length of
those operations (the layout fuzz/fuzz_common.c decodes).
"""
import hashlib
import importlib
import os
import pkgutil
import struct
import subprocess

SEED_MAX = 1 << 20  # seeds stay small so that replay in make check is quick

GENERATORS = {}


def generator(fmt):
    """Registers generate(qemu_img, work, out) -> number of seeds written, for format fmt."""
    def register(function):
        GENERATORS[fmt] = function
        return function
    return register


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


def load_all():
    """Imports every format module of this package (each registers its generator)."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(__name__ + "." + module.name)
