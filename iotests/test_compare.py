# iotests/test_compare.py — `qemu-img compare` of raw images: identical, differing, size mismatch, quiet, errors (spec/architecture.md §Tests).
import shutil

from conftest import sparse_file

MIB = 1 << 20
CHUNKS = [(0, b"\x11" * 65536), (MIB, b"\x22" * 524288), (40 * MIB, b"\x44" * MIB)]


def make_pair(qimg):
    sparse_file(qimg.path("a.raw"), 64 * MIB, CHUNKS)
    shutil.copyfile(qimg.path("a.raw"), qimg.path("b.raw"))


def test_identical(qimg):
    make_pair(qimg)
    p = qimg.run("compare", "a.raw", "b.raw", check=0)
    assert p.stdout == "Images are identical.\n"
    assert p.stderr == ""
    p = qimg.run("compare", "-f", "raw", "-F", "raw", "a.raw", "b.raw", check=0)
    assert p.stdout == "Images are identical.\n"


def test_sparse_and_written_zeroes_are_identical(qimg):
    sparse_file(qimg.path("a.raw"), 8 * MIB, [(0, b"\x11" * 4096)])
    sparse_file(qimg.path("b.raw"), 8 * MIB, [(0, b"\x11" * 4096), (4096, bytes(8 * MIB - 4096))])
    p = qimg.run("compare", "a.raw", "b.raw", check=0)
    assert p.stdout == "Images are identical.\n"


def test_content_mismatch(qimg):
    make_pair(qimg)
    qimg.write("b.raw", 12288, b"\x99")
    p = qimg.run("compare", "a.raw", "b.raw", check=1)
    assert p.stdout == "Content mismatch at offset 12288!\n"
    assert p.stderr == ""


def test_mismatch_quiet(qimg):
    make_pair(qimg)
    qimg.write("b.raw", 40 * MIB + 4096, b"\x01")
    p = qimg.run("compare", "-q", "a.raw", "b.raw", check=1)
    assert p.stdout == "" and p.stderr == ""


def test_size_mismatch_zero_tail(qimg):
    make_pair(qimg)
    with open(qimg.path("b.raw"), "r+b") as fh:
        fh.truncate(80 * MIB)
    p = qimg.run("compare", "a.raw", "b.raw", check=0)
    assert p.stdout == "Warning: Image size mismatch!\nImages are identical.\n"


def test_size_mismatch_data_in_tail(qimg):
    make_pair(qimg)
    with open(qimg.path("b.raw"), "r+b") as fh:
        fh.truncate(80 * MIB)
    qimg.write("b.raw", 70 * MIB, b"\x01")
    p = qimg.run("compare", "a.raw", "b.raw", check=1)
    assert p.stdout == f"Warning: Image size mismatch!\nContent mismatch at offset {70 * MIB}!\n"


def test_missing_image(qimg):
    make_pair(qimg)
    p = qimg.run("compare", "a.raw", "nope.raw", check=2)
    assert p.stdout == ""
    assert p.stderr == "qemu-img: Could not open 'nope.raw': Could not open 'nope.raw': No such file or directory\n"


def test_one_argument(qimg):
    make_pair(qimg)
    p = qimg.run("compare", "a.raw", check=1)
    assert p.stderr == "qemu-img: Expecting two image file names\nTry 'qemu-img compare --help' for more information\n"
