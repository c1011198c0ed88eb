# test_dmg.py — the read-only dmg (UDIF) format end to end: create and writes refused, probing (by
# file name only), info, map, check, resize, measure, convert to raw and qcow2, compare, the chunk
# types, qemu's once-per-process warnings and every bound with its message (spec/dmg.md). Images are
# built byte by byte by tools/fuzzseeds/dmg.py; expected values were measured with qemu-img 10.2.2.
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
from fuzzseeds import dmg  # noqa: E402

P = dmg.pattern


def put(qimg, name, data):
    qimg.write(name, 0, data)
    return name


def test_create_is_refused(qimg):
    p = qimg.run("create", "-f", "dmg", "x.dmg", "1M", check=1)
    assert p.stderr == "qemu-img: x.dmg: Format driver 'dmg' does not support image creation\n"


def test_probe_by_name_info_map_check(qimg):
    data = dmg.SEEDS["zlib"]()
    put(qimg, "z.dmg", data)
    put(qimg, "z.img", data)
    assert "file format: dmg\nvirtual size: 9 KiB (9216 bytes)\n" in qimg.ok("info", "z.dmg").stdout
    assert "file format: raw" in qimg.ok("info", "z.img").stdout
    info = json.loads(qimg.ok("info", "--output=json", "-f", "dmg", "z.img").stdout)
    assert info["format"] == "dmg" and info["virtual-size"] == 9216 and "format-specific" not in info
    assert json.loads(qimg.ok("map", "--output=json", "z.dmg").stdout) == [
        {"start": 0, "length": 9216, "depth": 0, "present": True, "zero": False, "data": True, "compressed": False}]
    assert qimg.run("check", "z.dmg", check=63).stderr == "qemu-img: This image format does not support checks\n"
    assert qimg.run("resize", "z.dmg", "1M", check=1).stderr == "qemu-img: Could not open 'z.dmg': Image is read-only\n"


@pytest.mark.parametrize("name,expected", [
    ("zlib", P(4096, 1) + bytes(4096) + P(1024, 2)),
    ("bzip2", P(2048, 3) + bytes(2048) + bytes(512)),
    ("rsrc", P(2048, 6) + P(512, 7)),
    ("split-tables", b"".join(P(512, i) for i in range(6))),
    ("comment-terminator", P(512, 8)),
])
def test_chunk_types_convert(qimg, name, expected):
    put(qimg, "s.dmg", dmg.SEEDS[name]())
    qimg.ok("convert", "-O", "raw", "s.dmg", "s.raw")
    assert qimg.read("s.raw") == expected
    qimg.ok("convert", "-O", "qcow2", "s.dmg", "s.qcow2")
    assert qimg.ok("compare", "s.dmg", "s.qcow2").stdout == "Images are identical.\n"


def test_measure(qimg):
    put(qimg, "z.dmg", dmg.SEEDS["zlib"]())
    assert qimg.ok("measure", "-O", "qcow2", "z.dmg").stdout == "required size: 393216\nfully allocated size: 393216\n"


def test_unknown_and_lzfse_chunks_warn_once_and_fail_reads(qimg):
    put(qimg, "a.dmg", dmg.SEEDS["adc"]())
    put(qimg, "l.dmg", dmg.SEEDS["lzfse"]())
    unknown = ("qemu-img: warning: Image contains chunks of unknown type 80000004, accessing them will result "
               "in I/O errors\n")
    lzfse = ("qemu-img: warning: dmg-lzfse module is missing, accessing lzfse compressed blocks will result in "
             "I/O errors\n")
    p = qimg.run("convert", "-O", "raw", "a.dmg", "a.raw", check=1)
    assert p.stderr == unknown + "qemu-img: error while reading at byte 0: Input/output error\n"
    p = qimg.run("compare", "a.dmg", "a.dmg", check=4)  # one warning for both opens
    assert p.stderr.count("unknown type") == 1
    p = qimg.ok("info", "l.dmg")
    assert p.stderr == lzfse


@pytest.mark.parametrize("name,printed", [
    ("sector-count-big", "sector count 131073 for chunk 1 is larger than max (131072)\n"),
    ("length-big", "length 67108865 for chunk 1 is larger than max (67108864)\n"),
])
def test_chunk_bounds(qimg, name, printed):
    put(qimg, "b.dmg", dmg.SEEDS[name]())
    p = qimg.run("info", "b.dmg", check=1)
    assert p.stderr == f"qemu-img: {printed}qemu-img: Could not open 'b.dmg': Could not open 'b.dmg': Invalid argument\n"


def test_trailer_bounds(qimg):
    put(qimg, "n.dmg", dmg.SEEDS["no-koly"]())
    assert qimg.run("info", "n.dmg", check=1).stderr == \
        "qemu-img: Could not open 'n.dmg': Could not locate UDIF trailer in dmg file\n"
    put(qimg, "t.dmg", dmg.SEEDS["tiny"]())
    assert qimg.run("info", "t.dmg", check=1).stderr == \
        "qemu-img: Could not open 't.dmg': Could not open 't.dmg': Invalid argument\n"
    put(qimg, "e.dmg", b"")
    assert qimg.run("info", "-f", "dmg", "e.dmg", check=1).stderr == \
        "qemu-img: Could not open 'e.dmg': dmg file must be at least 512 bytes long\n"
    put(qimg, "big.dmg", dmg.image([(dmg.RAW, P(512, 1))], sectors=(1 << 63) // 512))
    assert qimg.run("info", "big.dmg", check=1).stderr == \
        "qemu-img: Could not open 'big.dmg': Could not refresh total sector count: File too large\n"


def test_hole_reads_fail_and_huge_zero_chunks(qimg):
    put(qimg, "h.dmg", dmg.SEEDS["hole"]())
    assert "virtual size: 8 KiB (8192 bytes)" in qimg.ok("info", "h.dmg").stdout
    assert qimg.run("convert", "-O", "raw", "h.dmg", "h.raw", check=1).stderr == \
        "qemu-img: error while reading at byte 0: Input/output error\n"
    put(qimg, "z.dmg", dmg.SEEDS["zero-huge"]())
    assert "virtual size: 512 TiB (562949953421312 bytes)" in qimg.ok("info", "z.dmg").stdout


def test_raw_chunk_keeps_the_previous_chunks_bytes(qimg):
    # a raw chunk of 4 sectors storing only 100 bytes: qemu copies those 100 bytes into its chunk
    # buffer, whose other bytes still hold the zlib chunk decompressed before it
    data = dmg.image([(dmg.ZLIB, P(2048, 7))], extra_chunks=[(dmg.RAW, 4, 4, 0, 100)], sectors=8)
    put(qimg, "r.dmg", data)
    qimg.ok("convert", "-O", "raw", "r.dmg", "r.raw")
    assert qimg.read("r.raw") == P(2048, 7) + data[:100] + P(2048, 7)[100:]
