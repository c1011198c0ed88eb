# iotests/test_info.py — `qemu-img info` on raw images, human and JSON output (spec/architecture.md §Tests, §JSON).
import json
import os
import re

from conftest import sparse_file

MIB = 1 << 20


def make_pattern(qimg, name="pat.raw", size=64 * MIB):
    sparse_file(qimg.path(name), size, [(0, b"\x11" * 65536), (MIB, b"\x22" * 524288), (40 * MIB, b"\x44" * MIB)])


def mask_disk_size(text):
    return re.sub(r"disk size: .*", "disk size: X", text)


def test_info_human(qimg):
    make_pattern(qimg)
    want = ("image: pat.raw\n"
            "file format: raw\n"
            "virtual size: 64 MiB (67108864 bytes)\n"
            "disk size: X\n"
            "Child node '/file':\n"
            "    filename: pat.raw\n"
            "    protocol type: file\n"
            "    file length: 64 MiB (67108864 bytes)\n"
            "    disk size: X\n")
    for args in (["info", "pat.raw"], ["info", "-f", "raw", "pat.raw"], ["info", "-U", "pat.raw"],
                 ["info", "--image-opts", "driver=raw,file.filename=pat.raw"]):
        p = qimg.ok(*args)
        assert mask_disk_size(p.stdout) == want, args
        assert p.stderr == "", args


def test_info_disk_size_is_human(qimg):
    make_pattern(qimg)
    p = qimg.ok("info", "pat.raw")
    sizes = re.findall(r"disk size: (.*)", p.stdout)
    assert len(sizes) == 2
    for s in sizes:
        assert re.fullmatch(r"[0-9.]+ (B|KiB|MiB|GiB)", s), s


def test_info_odd_size_human(qimg):
    sparse_file(qimg.path("odd.raw"), 1441792)
    p = qimg.ok("info", "-f", "raw", "odd.raw")
    assert "virtual size: 1.38 MiB (1441792 bytes)\n" in p.stdout


def test_info_empty_file(qimg):
    sparse_file(qimg.path("e.img"), 0)
    p = qimg.ok("info", "e.img")
    assert "virtual size: 0 B (0 bytes)\n" in p.stdout
    assert "    file length: 0 B (0 bytes)\n" in p.stdout


def test_info_json(qimg):
    make_pattern(qimg)
    p = qimg.ok("info", "--output=json", "pat.raw")
    assert p.stderr == ""
    text = re.sub(r'"actual-size": \d+', '"actual-size": X', p.stdout)
    assert text == ('{\n'
                    '    "children": [\n'
                    '        {\n'
                    '            "name": "file",\n'
                    '            "info": {\n'
                    '                "children": [\n'
                    '                ],\n'
                    '                "virtual-size": 67108864,\n'
                    '                "filename": "pat.raw",\n'
                    '                "format": "file",\n'
                    '                "actual-size": X,\n'
                    '                "format-specific": {\n'
                    '                    "type": "file",\n'
                    '                    "data": {\n'
                    '                    }\n'
                    '                },\n'
                    '                "dirty-flag": false\n'
                    '            }\n'
                    '        }\n'
                    '    ],\n'
                    '    "virtual-size": 67108864,\n'
                    '    "filename": "pat.raw",\n'
                    '    "format": "raw",\n'
                    '    "actual-size": X,\n'
                    '    "dirty-flag": false\n'
                    '}\n')
    doc = json.loads(p.stdout)
    # A sparse 64 MiB file with 1.5625 MiB of data: what is allocated is far below the virtual size.
    assert 0 < doc["actual-size"] < 8 * MIB


def test_info_json_filename(qimg):
    sparse_file(qimg.path("t.img"), MIB)
    p = qimg.ok("info", 'json:{"driver":"raw","file":{"driver":"file","filename":"t.img"}}')
    assert p.stdout.startswith("image: t.img\nfile format: raw\nvirtual size: 1 MiB (1048576 bytes)\n")


def test_info_errors(qimg):
    p = qimg.run("info", check=1)
    assert p.stderr == "qemu-img: Expecting one image file name\nTry 'qemu-img info --help' for more information\n"
    p = qimg.run("info", "missing.img", check=1)
    assert p.stderr.startswith("qemu-img: Could not open 'missing.img': ")
    assert "No such file or directory" in p.stderr
    sparse_file(qimg.path("t.img"), MIB)
    p = qimg.run("info", "--output=xml", "t.img", check=1)
    assert p.stderr == "qemu-img: --output expects 'human' or 'json', not 'xml'\nTry 'qemu-img info --help' for more information\n"
    p = qimg.run("info", "-f", "raw", "--image-opts", "driver=raw,file.filename=t.img", check=1)
    assert p.stderr == "qemu-img: --image-opts and --format are mutually exclusive\n"


def test_each_backing_level_names_itself_in_the_error(qimg):
    qimg.ok("create", "-q", "-f", "qcow2", "base.qcow2", "1M")
    qimg.ok("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "mid.qcow2")
    qimg.ok("create", "-q", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", "top.qcow2")
    os.unlink(qimg.path("base.qcow2"))
    p = qimg.run("map", "top.qcow2", check=1)
    assert p.stderr == ("qemu-img: Could not open 'top.qcow2': Could not open backing file: Could not open backing "
                        "file: Could not open 'base.qcow2': No such file or directory\n")
