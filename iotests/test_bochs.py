# test_bochs.py — the read-only bochs format end to end: create and writes refused, probing, info,
# map, check, resize, measure, convert to raw and qcow2, compare, and every open check with qemu's
# message (spec/bochs.md). Images are built byte by byte by tools/fuzzseeds/bochs.py; expected
# values were measured with qemu-img 10.2.2.
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
from fuzzseeds import bochs  # noqa: E402


def data_image():
    """Extent 0 in slot 1 (sectors 0 and 2 set), extent 1 in slot 0 (all set), 4 extents of 4 KiB."""
    return bochs.image([(1, b"\xff", bochs.pattern(4096, 1)), (0, b"\x05", bochs.pattern(4096, 9))])


def expected_data():
    """What qemu reads from data_image(): clear bitmap bits and unallocated extents read as zeroes."""
    extent0 = bytearray(4096)
    source = bochs.pattern(4096, 9)
    for sector in (0, 2):
        extent0[sector * 512:(sector + 1) * 512] = source[sector * 512:(sector + 1) * 512]
    return bytes(extent0) + bochs.pattern(4096, 1) + bytes(8192)


@pytest.fixture
def image(qimg):
    qimg.write("d.img", 0, data_image())
    return "d.img"


def test_create_is_refused(qimg):
    p = qimg.run("create", "-f", "bochs", "x.bochs", "1M", check=1)
    assert p.stderr == "qemu-img: x.bochs: Format driver 'bochs' does not support image creation\n"
    assert not os.path.exists(qimg.path("x.bochs"))


def test_probe_info_and_json(qimg, image):
    p = qimg.ok("info", image)
    assert "file format: bochs\nvirtual size: 16 KiB (16384 bytes)\n" in p.stdout
    assert "Format specific information" not in p.stdout
    info = json.loads(qimg.ok("info", "--output=json", image).stdout)
    assert info["format"] == "bochs" and info["virtual-size"] == 16384
    assert "format-specific" not in info and "dirty-flag" not in info and "cluster-size" not in info


def test_map_reports_everything_as_data(qimg, image):
    p = qimg.ok("map", "--output=json", image)
    assert json.loads(p.stdout) == [{"start": 0, "length": 16384, "depth": 0, "present": True, "zero": False,
                                     "data": True, "compressed": False}]


def test_check_and_writes_refused(qimg, image):
    p = qimg.run("check", image, check=63)
    assert p.stderr == "qemu-img: This image format does not support checks\n"
    before = qimg.read(image)
    p = qimg.run("resize", image, "1M", check=1)
    assert p.stderr == "qemu-img: Could not open 'd.img': Image is read-only\n"
    assert qimg.read(image) == before


def test_convert_compare_measure(qimg, image):
    qimg.ok("convert", "-O", "raw", image, "o.raw")
    assert qimg.read("o.raw") == expected_data()
    qimg.ok("convert", "-O", "qcow2", image, "o.qcow2")
    assert qimg.ok("compare", image, "o.qcow2").stdout == "Images are identical.\n"
    assert qimg.ok("compare", "-F", "raw", image, "o.raw").stdout == "Images are identical.\n"
    p = qimg.ok("measure", "-O", "qcow2", image)
    assert p.stdout == "required size: 393216\nfully allocated size: 393216\n"


def test_version1_and_wrapped_data_offset(qimg):
    qimg.write("v1.img", 0, bochs.image([(2, b"\x81", bochs.pattern(4096, 3))], version=bochs.VERSION_V1))
    qimg.ok("convert", "-O", "raw", "v1.img", "v1.raw")
    data = qimg.read("v1.raw")
    assert len(data) == 16384 and data[8192:8704] == bochs.pattern(4096, 3)[:512]
    assert data[8192 + 3584:12288] == bochs.pattern(4096, 3)[3584:] and data[8704:8704 + 512] == bytes(512)
    # a header size near 4 GiB: the catalog reads as zeroes past the end of the file and the data
    # offset wraps at 32 bits to 0, as qemu's does: extent 0's bitmap is the header's first byte
    # ('B' = 0x42: sector 1 set, sector 0 clear) and its sector 1 lies at 1024
    qimg.write("wrap.img", 0, bochs.SEEDS["header-past-eof"]())
    qimg.ok("convert", "-O", "raw", "wrap.img", "wrap.raw")
    assert qimg.read("wrap.raw")[:1024] == bytes(512) + b"\xff" * 512


@pytest.mark.parametrize("name,message", [
    ("catalog-too-large", "Catalog size is too large"),
    ("catalog-too-small", "Catalog size is too small for this disk size"),
    ("extent-small", "Extent size must be at least 512"),
    ("extent-not-power", "Extent size 4097 is not a power of two"),
    ("extent-too-large", "Extent size 16777216 is too large"),
    ("bad-version", "Image not in Bochs format"),
])
def test_hostile_headers(qimg, name, message):
    qimg.write("h.img", 0, bochs.SEEDS[name]())
    p = qimg.run("info", "-f", "bochs", "h.img", check=1)
    assert p.stderr == f"qemu-img: Could not open 'h.img': {message}\n"


def test_bad_signature_probes_as_raw(qimg):
    qimg.write("r.img", 0, bochs.SEEDS["bad-version"]())
    assert "file format: raw" in qimg.ok("info", "r.img").stdout
