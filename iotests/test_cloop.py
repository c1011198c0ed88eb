# test_cloop.py — the read-only cloop format end to end: create and writes refused, probing, info,
# map, check, resize, measure, convert to raw and qcow2, compare, and every open and read bound with
# qemu's message (spec/cloop.md). Images are built byte by byte by tools/fuzzseeds/cloop.py;
# expected values were measured with qemu-img 10.2.2.
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
from fuzzseeds import cloop  # noqa: E402

BLOCKS = [cloop.pattern(4096, 1), bytes(4096), cloop.pattern(4096, 7)]


@pytest.fixture
def image(qimg):
    qimg.write("c.img", 0, cloop.image(4096, BLOCKS))
    return "c.img"


def test_create_is_refused(qimg):
    p = qimg.run("create", "-f", "cloop", "x.cloop", "1M", check=1)
    assert p.stderr == "qemu-img: x.cloop: Format driver 'cloop' does not support image creation\n"


def test_probe_info_and_json(qimg, image):
    p = qimg.ok("info", image)
    assert "file format: cloop\nvirtual size: 12 KiB (12288 bytes)\n" in p.stdout
    info = json.loads(qimg.ok("info", "--output=json", image).stdout)
    assert info["format"] == "cloop" and info["virtual-size"] == 12288
    assert "format-specific" not in info and "dirty-flag" not in info


def test_map_check_and_writes_refused(qimg, image):
    assert json.loads(qimg.ok("map", "--output=json", image).stdout) == [
        {"start": 0, "length": 12288, "depth": 0, "present": True, "zero": False, "data": True, "compressed": False}]
    assert qimg.run("check", image, check=63).stderr == "qemu-img: This image format does not support checks\n"
    before = qimg.read(image)
    assert qimg.run("resize", image, "1M", check=1).stderr == "qemu-img: Could not open 'c.img': Image is read-only\n"
    assert qimg.read(image) == before


def test_convert_compare_measure(qimg, image):
    qimg.ok("convert", "-O", "raw", image, "o.raw")
    assert qimg.read("o.raw") == b"".join(BLOCKS)
    qimg.ok("convert", "-O", "qcow2", image, "o.qcow2")
    assert qimg.ok("compare", image, "o.qcow2").stdout == "Images are identical.\n"
    p = qimg.ok("measure", "-O", "qcow2", image)
    assert p.stdout == "required size: 393216\nfully allocated size: 393216\n"


def test_empty_image(qimg):
    qimg.write("e.img", 0, cloop.SEEDS["empty"]())
    assert "virtual size: 0 B (0 bytes)" in qimg.ok("info", "e.img").stdout


@pytest.mark.parametrize("name,message", [
    ("block-size-0", "block_size cannot be zero"),
    ("block-size-odd", "block_size 513 must be a multiple of 512"),
    ("block-size-big", "block_size 67109376 must be 64 MB or less"),
    ("n-blocks-big", "n_blocks 4294967295 must be 536870911 or less"),
    ("offsets-wrap", "Could not allocate offsets table"),
    ("too-many-offsets", "image requires too many offsets, try increasing block size"),
    ("not-monotonic", "offsets not monotonically increasing at index 2, image file is corrupt"),
    ("compressed-too-big", "invalid compressed block size at index 1, image file is corrupt"),
    ("offsets-past-eof", "offsets not monotonically increasing at index 2, image file is corrupt"),
])
def test_hostile_headers(qimg, name, message):
    qimg.write("h.img", 0, cloop.SEEDS[name]())
    p = qimg.run("info", "h.img", check=1)
    assert p.stderr == f"qemu-img: Could not open 'h.img': {message}\n"


@pytest.mark.parametrize("name", ["short-block", "data-past-eof"])
def test_bad_blocks_fail_reads(qimg, name):
    qimg.write("b.img", 0, cloop.SEEDS[name]())
    p = qimg.run("convert", "-O", "raw", "b.img", "b.raw", check=1)
    assert p.stderr == "qemu-img: error while reading at byte 0: Input/output error\n"
