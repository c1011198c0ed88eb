# iotests/test_resize.py — `qemu-img resize` of raw images: grow, relative grow, preallocation, shrink (spec/architecture.md §Tests).
import hashlib
import os

import pytest

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
    # 10.2 reads a "-<digit>..." right after the file name as the size, not as options.
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


# ---- argument parsing as 10.2 does it (texts recorded from qemu-img 10.2.2) ----
EXPECTING = "qemu-img: Expecting image file name and size\nTry 'qemu-img resize --help' for more information\n"
EXTRA = "qemu-img: Extra argument(s) in command line\nTry 'qemu-img resize --help' for more information\n"
SIZE_EXPECTS = ("qemu-img: Parameter 'size' expects a non-negative number below 2^64\n"
                "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
                "and exabytes, respectively.\n")


def invalid(option):
    return f"qemu-img resize: invalid option -- '{option}'\nTry 'qemu-img resize --help' for more information\n"


def make_small(qimg):
    qimg.ok("create", "-q", "-f", "raw", "f.img", "4M")


@pytest.mark.parametrize("args, size", [
    (["--shrink", "f.img", "--", "-1M"], 3 * MIB),
    (["--shrink", "f.img", "-1M"], 3 * MIB),
    (["--shrink", "f.img", "--", "-1M"], 3 * MIB),
    (["--shrink", "f.img", "-1M", "-f", "raw"], 3 * MIB),
    (["--shrink", "--", "f.img", "-1M"], 3 * MIB),
    (["--shrink", "f.img", "-1M", "-q"], 3 * MIB),
    (["f.img", "-1M", "--shrink"], 3 * MIB),
    (["--shrink", "f.img", "-1", "-f", "raw"], 4 * MIB - 1),
    (["-qf", "raw", "f.img", "-1M", "--shrink"], 3 * MIB),
    (["f.img", "8M", "-f", "raw"], 8 * MIB),
    (["f.img", "-f", "raw", "8M"], 8 * MIB),
    (["f.img", "8M", "-q"], 8 * MIB),
])
def test_resize_arguments_anywhere(qimg, args, size):
    make_small(qimg)
    qimg.ok("resize", *args)
    assert os.path.getsize(qimg.path("f.img")) == size


@pytest.mark.parametrize("args, stderr", [
    ([], EXPECTING),
    (["f.img", "--", "-1M"], PROBE_WARNING.replace("pat.raw", "f.img") + SHRINK_REFUSED),
    (["--", "f.img", "-1M"], PROBE_WARNING.replace("pat.raw", "f.img") + SHRINK_REFUSED),
    (["f.img"], EXPECTING),
    (["f.img", "1M", "2M"], EXTRA),
    (["f.img", "1M", "2M", "-Z"], EXTRA),
    (["f.img", "1M", "2M", "--help"], EXTRA),
    (["--shrink", "f.img", "-1M", "2M"], EXTRA),
    (["f.img", "-1M", "--", "-2M"], EXPECTING),
    (["-1M", "f.img"], invalid("1")),
    (["--shrink", "f.img", "2M", "-1M"], invalid("1")),
    (["--shrink", "f.img", "-1M", "-1M"], invalid("1")),
    (["--shrink", "f.img", "-q1M"], invalid("1")),
    (["f.img", "-qf", "raw", "-1M"], invalid("1")),
    (["--shrink", "f.img", "-.5M"], invalid(".")),
    (["f.img", "-x"], invalid("x")),
    (["f.img", "8M", "-Z"], invalid("Z")),
    (["f.img", "--1M"], "qemu-img resize: unrecognized option '--1M'\nTry 'qemu-img resize --help' for more information\n"),
    (["-f"], "qemu-img resize: option requires an argument -- 'f'\nTry 'qemu-img resize --help' for more information\n"),
    (["f.img", "--preallocation"],
     "qemu-img resize: option '--preallocation' requires an argument\nTry 'qemu-img resize --help' for more information\n"),
    (["f.img", "+-1M"], SIZE_EXPECTS),
    (["f.img", "--", "--1M"], SIZE_EXPECTS),
    (["--shrink", "f.img", "-1Mq"], SIZE_EXPECTS),
])
def test_resize_argument_errors(qimg, args, stderr):
    make_small(qimg)
    before = qimg.read("f.img")
    p = qimg.run("resize", *args)
    assert (p.returncode, p.stdout, p.stderr) == (1, "", stderr)
    assert qimg.read("f.img") == before


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["f.img", "-h"], ["f.img", "1M", "--help"]])
def test_resize_help_anywhere(qimg, args):
    p = qimg.run("resize", *args, check=0)
    assert p.stdout.startswith("Usage:\n  qemu-img resize [-f FMT | --image-opts] [--preallocation PREALLOC] [--shrink]\n"
                               "        [-q] [--object OBJDEF] FILE [+-]SIZE[bkKMGTPE]\n\nResize the image.\n")
    assert p.stderr == ""
