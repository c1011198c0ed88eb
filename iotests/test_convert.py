# iotests/test_convert.py — `qemu-img convert` raw to raw: data preserved byte for byte, holes kept, concatenation (spec/architecture.md §Tests).
import os
import random

from conftest import allocated_bytes, sparse_file

MIB = 1 << 20


def random_chunks(seed, size, count):
    rng = random.Random(seed)
    chunks = []
    for _ in range(count):
        length = rng.choice([512, 4096, 65536, 300000])
        offset = rng.randrange(0, size - length) & ~511
        chunks.append((offset, rng.randbytes(length)))
    return chunks


def test_convert_raw_to_raw(qimg):
    sparse_file(qimg.path("src.raw"), 64 * MIB, random_chunks(1, 64 * MIB, 40))
    p = qimg.ok("convert", "-O", "raw", "src.raw", "dst.raw")
    assert p.stdout == "" and p.stderr == ""
    src, dst = qimg.read("src.raw"), qimg.read("dst.raw")
    assert len(dst) == len(src)
    assert dst == src
    # Zeroes are not written out: the copy stays sparse.
    assert allocated_bytes(qimg.path("dst.raw")) < 32 * MIB


def test_convert_explicit_formats_and_progress(qimg):
    sparse_file(qimg.path("src.raw"), 4 * MIB, random_chunks(2, 4 * MIB, 8))
    p = qimg.ok("convert", "-p", "-f", "raw", "-O", "raw", "src.raw", "dst.raw")
    assert p.stderr == ""
    assert "(100.00/100%)" in p.stdout
    assert qimg.read("dst.raw") == qimg.read("src.raw")


def test_convert_unaligned_size(qimg):
    data = bytes(range(256)) * 2 + b"tail"
    qimg.write("small.raw", 0, data)
    qimg.ok("convert", "-O", "raw", "small.raw", "out.raw")
    out = qimg.read("out.raw")
    # qemu rounds a raw image up to whole sectors.
    assert out[:len(data)] == data
    assert len(out) in (len(data), 1024)
    assert out[len(data):] == bytes(len(out) - len(data))


def test_convert_overwrites_target(qimg):
    sparse_file(qimg.path("src.raw"), MIB, [(0, b"\x5a" * 4096)])
    qimg.write("dst.raw", 0, b"\xff" * (3 * MIB))
    qimg.ok("convert", "-O", "raw", "src.raw", "dst.raw")
    assert qimg.read("dst.raw") == qimg.read("src.raw")


def test_convert_concatenates(qimg):
    sparse_file(qimg.path("a.raw"), MIB, [(0, b"\x01" * MIB)])
    sparse_file(qimg.path("b.raw"), 2 * MIB, [(512 * 1024, b"\x02" * 65536)])
    p = qimg.ok("convert", "-O", "raw", "a.raw", "b.raw", "out.raw")
    assert p.stdout == "" and p.stderr == ""
    assert qimg.read("out.raw") == qimg.read("a.raw") + qimg.read("b.raw")
    assert os.path.getsize(qimg.path("out.raw")) == 3 * MIB


def test_convert_missing_source(qimg):
    p = qimg.run("convert", "-O", "raw", "nothere.raw", "out.raw", check=1)
    assert p.stderr.startswith("qemu-img: Could not open 'nothere.raw': ")
    assert not os.path.exists(qimg.path("out.raw"))
