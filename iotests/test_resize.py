# iotests/test_resize.py — `qemu-img resize` of raw images: grow, relative grow, preallocation, shrink (spec/architecture.md §Tests).
import hashlib
import os

from conftest import allocated_bytes, sparse_file

MIB = 1 << 20
PROBE_WARNING = ("WARNING: Image format was not specified for 'pat.raw' and probing guessed raw.\n"
                 "         Automatically detecting the format is dangerous for raw images, write operations on block 0 will be restricted.\n"
                 "         Specify the 'raw' format explicitly to remove the restrictions.\n")
SHRINK_REFUSED = ("qemu-img: Use the --shrink option to perform a shrink operation.\n"
                  "qemu-img: warning: Shrinking an image will delete all data beyond the shrunken image's end. "
                  "Before performing such an operation, make sure there is no important data there.\n")
CHUNKS = [(0, b"\x11" * 65536), (MIB, b"\x22" * 524288), (8 * MIB + 512, b"\x33" * 4096), (40 * MIB, b"\x44" * MIB)]


def make_pattern(qimg):
    sparse_file(qimg.path("pat.raw"), 64 * MIB, CHUNKS)
    return qimg.read("pat.raw")


def digest(data):
    return hashlib.sha256(data).hexdigest()


def test_grow(qimg):
    before = make_pattern(qimg)
    p = qimg.ok("resize", "-f", "raw", "pat.raw", "128M")
    assert p.stdout == "Image resized.\n"
    assert p.stderr == ""
    after = qimg.read("pat.raw")
    assert len(after) == 128 * MIB
    assert digest(after[:64 * MIB]) == digest(before)
    assert after[64 * MIB:] == bytes(64 * MIB)
    assert allocated_bytes(qimg.path("pat.raw")) < 8 * MIB


def test_grow_probed_warns(qimg):
    make_pattern(qimg)
    p = qimg.ok("resize", "pat.raw", "128M")
    assert p.stdout == "Image resized.\n"
    assert p.stderr == PROBE_WARNING
    assert os.path.getsize(qimg.path("pat.raw")) == 128 * MIB


def test_grow_relative(qimg):
    make_pattern(qimg)
    p = qimg.ok("resize", "-f", "raw", "pat.raw", "+1M")
    assert p.stdout == "Image resized.\n"
    assert os.path.getsize(qimg.path("pat.raw")) == 65 * MIB


def test_shrink_relative(qimg):
    make_pattern(qimg)
    # qemu-img takes the size off the end of the line first, so "-1M" is not read as an option.
    p = qimg.ok("resize", "-f", "raw", "--shrink", "pat.raw", "-1M")
    assert p.stdout == "Image resized.\n"
    assert os.path.getsize(qimg.path("pat.raw")) == 63 * MIB


def test_grow_preallocated(qimg):
    make_pattern(qimg)
    used_before = allocated_bytes(qimg.path("pat.raw"))
    p = qimg.ok("resize", "-f", "raw", "--preallocation=falloc", "pat.raw", "72M")
    assert p.stdout == "Image resized.\n"
    assert os.path.getsize(qimg.path("pat.raw")) == 72 * MIB
    assert allocated_bytes(qimg.path("pat.raw")) >= used_before + 8 * MIB


def test_shrink(qimg):
    before = make_pattern(qimg)
    p = qimg.ok("resize", "-f", "raw", "--shrink", "pat.raw", "32M")
    assert p.stdout == "Image resized.\n"
    after = qimg.read("pat.raw")
    assert after == before[:32 * MIB]


def test_shrink_needs_flag(qimg):
    before = make_pattern(qimg)
    p = qimg.run("resize", "-f", "raw", "pat.raw", "32M", check=1)
    assert p.stdout == ""
    assert p.stderr == SHRINK_REFUSED
    assert qimg.read("pat.raw") == before


def test_shrink_needs_flag_probed(qimg):
    make_pattern(qimg)
    p = qimg.run("resize", "pat.raw", "32M", check=1)
    assert p.stderr == PROBE_WARNING + SHRINK_REFUSED
    assert os.path.getsize(qimg.path("pat.raw")) == 64 * MIB


def test_resize_bad_size(qimg):
    make_pattern(qimg)
    p = qimg.run("resize", "-f", "raw", "pat.raw", "1Q", check=1)
    assert p.stderr.startswith("qemu-img: ")
    assert os.path.getsize(qimg.path("pat.raw")) == 64 * MIB
