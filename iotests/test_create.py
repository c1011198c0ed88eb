# iotests/test_create.py — `qemu-img create` of raw images: preallocation modes, sizes and their errors (spec/architecture.md §Tests, §Sizes).
import os

import pytest

from conftest import allocated_bytes

MIB = 1 << 20
PROBE_ABSENT = "No such file or directory"


def test_default_format_is_raw(qimg):
    p = qimg.ok("create", "t.img", "1M")
    assert p.stdout == "Formatting 't.img', fmt=raw size=1048576\n"
    assert p.stderr == ""
    assert os.path.getsize(qimg.path("t.img")) == MIB


def test_quiet_prints_nothing(qimg):
    p = qimg.ok("create", "-q", "-f", "raw", "t.img", "1M")
    assert p.stdout == "" and p.stderr == ""
    assert os.path.getsize(qimg.path("t.img")) == MIB


@pytest.mark.parametrize("mode", ["off", "falloc", "full"])
def test_preallocation_modes(qimg, mode):
    p = qimg.ok("create", "-f", "raw", "-o", f"preallocation={mode}", "t.img", "16M")
    assert p.stdout == f"Formatting 't.img', fmt=raw size=16777216 preallocation={mode}\n"
    assert p.stderr == ""
    path = qimg.path("t.img")
    assert os.path.getsize(path) == 16 * MIB
    used = allocated_bytes(path)
    if mode == "off":
        assert used <= 1 * MIB, f"preallocation=off allocated {used} bytes"
    else:
        assert used >= 16 * MIB, f"preallocation={mode} allocated only {used} bytes"
    assert qimg.read("t.img") == bytes(16 * MIB)


def test_default_preallocation_is_sparse(qimg):
    qimg.ok("create", "-f", "raw", "t.img", "64M")
    assert os.path.getsize(qimg.path("t.img")) == 64 * MIB
    assert allocated_bytes(qimg.path("t.img")) <= 1 * MIB


def test_bogus_preallocation(qimg):
    p = qimg.run("create", "-f", "raw", "-o", "preallocation=bogus", "t.img", "16M", check=1)
    assert p.stdout == "Formatting 't.img', fmt=raw size=16777216 preallocation=bogus\n"
    assert p.stderr == "qemu-img: t.img: invalid parameter value: bogus\n"
    assert not os.path.exists(qimg.path("t.img"))


@pytest.mark.parametrize("text,size", [
    ("512b", 512),
    ("1024k", MIB),
    ("1M", MIB),
    ("1G", 1 << 30),
    ("1.5G", 1610612736),
    ("2T", 2 << 40),
    ("0x100000", MIB),
])
def test_sizes(qimg, text, size):
    p = qimg.ok("create", "-f", "raw", "t.img", text)
    assert p.stdout == f"Formatting 't.img', fmt=raw size={size}\n"
    assert os.path.getsize(qimg.path("t.img")) == size
    assert allocated_bytes(qimg.path("t.img")) <= MIB


def test_size_rounds_up_to_sectors(qimg):
    p = qimg.ok("create", "-f", "raw", "t.img", "65537")
    assert p.stdout == "Formatting 't.img', fmt=raw size=65537\n"
    assert os.path.getsize(qimg.path("t.img")) == 66048


def test_size_as_option(qimg):
    p = qimg.ok("create", "-f", "raw", "-o", "size=2M", "t.img")
    assert p.stdout == "Formatting 't.img', fmt=raw size=2097152\n"
    assert os.path.getsize(qimg.path("t.img")) == 2 * MIB


@pytest.mark.parametrize("text", ["1Q", "abc", "12x", "1MB"])
def test_malformed_size(qimg, text):
    p = qimg.run("create", "-f", "raw", "t.img", text, check=1)
    assert p.stdout == ""
    assert p.stderr == f"qemu-img: Invalid image size specified: '{text}'\n"
    assert not os.path.exists(qimg.path("t.img"))


@pytest.mark.parametrize("text", ["18E", "16E", "8E"])
def test_size_out_of_range(qimg, text):
    p = qimg.run("create", "-f", "raw", "t.img", text, check=1)
    assert p.stderr == "qemu-img: Invalid image size specified. Must be between 0 and 9223372036854775807.\n"
    assert not os.path.exists(qimg.path("t.img"))


def test_negative_size_is_an_option(qimg):
    p = qimg.run("create", "-f", "raw", "t.img", "-1", check=1)
    assert p.stderr == "qemu-img create: invalid option -- '1'\nTry 'qemu-img create --help' for more information\n"
    assert not os.path.exists(qimg.path("t.img"))


def test_unknown_format(qimg):
    p = qimg.run("create", "-f", "nosuch", "t.img", "1M", check=1)
    assert p.stderr == "qemu-img: t.img: Unknown file format 'nosuch'\n"
    assert not os.path.exists(qimg.path("t.img"))


def test_missing_size(qimg):
    p = qimg.run("create", "-f", "raw", "t.img", check=1)
    assert p.stderr.startswith("qemu-img: ")
    assert not os.path.exists(qimg.path("t.img"))


def test_create_truncates_existing_file(qimg):
    qimg.write("t.img", 0, b"\xff" * 4096)
    qimg.write("t.img", 3 * MIB, b"\xee" * 4096)
    qimg.ok("create", "-q", "-f", "raw", "t.img", "1M")
    assert qimg.read("t.img") == bytes(MIB)
