# iotests/test_map.py — `qemu-img map` of a sparse raw file, human and JSON output (spec/architecture.md §Tests).
import json

from conftest import sparse_file

MIB = 1 << 20


def make_pattern(qimg):
    sparse_file(qimg.path("pat.raw"), 64 * MIB, [(0, b"\x11" * 65536), (MIB, b"\x22" * 524288), (40 * MIB, b"\x44" * MIB)])


def test_map_human(qimg):
    make_pattern(qimg)
    p = qimg.ok("map", "pat.raw")
    assert p.stderr == ""
    assert p.stdout == ("Offset          Length          Mapped to       File\n"
                        "0               0x10000         0               pat.raw\n"
                        "0x100000        0x80000         0x100000        pat.raw\n"
                        "0x2800000       0x100000        0x2800000       pat.raw\n")


def test_map_json(qimg):
    make_pattern(qimg)
    p = qimg.ok("map", "--output=json", "-f", "raw", "pat.raw")
    assert p.stderr == ""
    entries = json.loads(p.stdout)
    got = [(e["start"], e["length"], e["data"], e["zero"], e["present"], e["depth"], e.get("offset")) for e in entries]
    assert got == [
        (0, 65536, True, False, True, 0, 0),
        (65536, MIB - 65536, False, True, True, 0, 65536),
        (MIB, 524288, True, False, True, 0, MIB),
        (MIB + 524288, 40 * MIB - MIB - 524288, False, True, True, 0, MIB + 524288),
        (40 * MIB, MIB, True, False, True, 0, 40 * MIB),
        (41 * MIB, 23 * MIB, False, True, True, 0, 41 * MIB),
    ]
    assert all(e["compressed"] is False for e in entries)
    # One entry a line, in qemu's spacing.
    lines = p.stdout.rstrip("\n").split("\n")
    assert len(lines) == 6
    assert lines[0] == ('[{ "start": 0, "length": 65536, "depth": 0, "present": true, "zero": false, '
                        '"data": true, "compressed": false, "offset": 0},')
    assert lines[-1].endswith("}]")


def test_map_fully_sparse(qimg):
    sparse_file(qimg.path("hole.raw"), 8 * MIB)
    p = qimg.ok("map", "-f", "raw", "hole.raw")
    assert p.stdout == "Offset          Length          Mapped to       File\n"
    p = qimg.ok("map", "--output=json", "-f", "raw", "hole.raw")
    entries = json.loads(p.stdout)
    assert sum(e["length"] for e in entries) == 8 * MIB
    assert all(e["zero"] and not e["data"] for e in entries)


def test_map_bad_output(qimg):
    make_pattern(qimg)
    p = qimg.run("map", "--output=yaml", "pat.raw", check=1)
    assert p.stderr == "qemu-img: --output expects 'human' or 'json', not 'yaml'\nTry 'qemu-img map --help' for more information\n"
