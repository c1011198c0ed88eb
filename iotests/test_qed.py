# test_qed.py — every qemu-img command on the QED format, checked against what qemu-img 10.2.2 does
# (spec/qed.md; spec/architecture.md §Tests). Expected values (sizes, sha256 of whole files, messages,
# check counts) were taken from the 10.2.2 oracle on the same command lines and are written here as
# literals.
import hashlib
import json
import os
import struct

import pytest

SOURCE_SPANS = [(0, 4096, 0x11), (8192, 512, 0x22), (600 * 1024, 4096, 0x33)]


def sha256(qimg, name):
    return hashlib.sha256(qimg.read(name)).hexdigest()


def make_source(qimg, name="s.raw"):
    """1 MiB raw file with three patterned spans."""
    with open(qimg.path(name), "wb") as fh:
        fh.truncate(1 << 20)
        for offset, length, value in SOURCE_SPANS:
            fh.seek(offset)
            fh.write(bytes([value]) * length)


def make_image(qimg, name="c.qed"):
    """The source converted to QED with 4 KiB clusters: header 0, L1 0x1000, data 0x5000, L2 0x6000,
    data 0xa000 and 0xb000."""
    make_source(qimg)
    qimg.ok("convert", "-O", "qed", "-o", "cluster_size=4k", "s.raw", name)


def poke64(qimg, name, offset, value):
    qimg.write(name, offset, struct.pack("<Q", value))


# ---- create ----

@pytest.mark.parametrize("options,length,digest", [
    ([], 327680, "488e61714b142587ce113a6c745fd91c6927738a2d28f56d91171897aa9a8281"),
    (["-o", "cluster_size=4k"], 20480, "af1fd9e0f020f8c1f3da6458cb57b854f4df45d76fbeb3b12fffd7ea3ab50ca8"),
    (["-o", "table_size=16"], 1114112, "472f1cf5a641ca673acc8762f10c84e23822ecc38b6d11e46a25d106763b1009"),
    (["-o", "cluster_size=1M,table_size=2"], 3145728,
     "4a1fff9e467e2f809a4428c3c91143702b8405cb932dd8a7592273fa06557097"),
])
def test_create_layout_byte_identical(qimg, options, length, digest):
    qimg.ok("create", "-q", "-f", "qed", *options, "t.qed", "64M")
    assert os.path.getsize(qimg.path("t.qed")) == length
    assert sha256(qimg, "t.qed") == digest


def test_create_formatting_line_and_raw_backing(qimg):
    qimg.ok("create", "-q", "-f", "raw", "base.raw", "1M")
    p = qimg.ok("create", "-f", "qed", "-o", "cluster_size=4k", "-b", "base.raw", "-F", "raw", "t.qed")
    assert p.stdout == ("Formatting 't.qed', fmt=qed size=1048576 backing_file=base.raw backing_fmt=raw "
                        "cluster_size=4096\n")
    assert sha256(qimg, "t.qed") == "f3a50b71ecca7193403596ed8434fdf12e5c994d666d9fbef9529c8c25671871"
    info = json.loads(qimg.ok("info", "--output=json", "t.qed").stdout)
    assert info["backing-filename-format"] == "raw" and info["backing-filename"] == "base.raw"


@pytest.mark.parametrize("option,message,leaves_file", [
    ("cluster_size=2k", "QED cluster size must be within range [4096, 67108864] and power of 2", True),
    ("cluster_size=64M", "QED image size must be a non-zero multiple of cluster size and less than 0 bytes", True),
    ("table_size=3", "QED table size must be within range [1, 16] and power of 2", True),
    ("table_size=1k", "Parameter 'table-size' expects integer", True),
    ("backing_fmt=foo", "Parameter 'backing-fmt' does not accept value 'foo'", True),
    ("cluster_size=abc", "Parameter 'cluster_size' expects a non-negative number below 2^64\nOptional suffix k, "
     "M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.", False),
])
def test_create_errors(qimg, option, message, leaves_file):
    p = qimg.run("create", "-q", "-f", "qed", "-o", option, "t.qed", "64M")
    assert p.returncode == 1 and p.stderr == f"qemu-img: t.qed: {message}\n"
    assert os.path.exists(qimg.path("t.qed")) == leaves_file
    if leaves_file:
        assert os.path.getsize(qimg.path("t.qed")) == 0


def test_create_size_limit_and_rounding(qimg):
    p = qimg.run("create", "-q", "-f", "qed", "t.qed", "100T")
    assert p.stderr == ("qemu-img: t.qed: QED image size must be a non-zero multiple of cluster size and less "
                        "than 70368744177664 bytes\n")
    qimg.ok("create", "-q", "-f", "qed", "t.qed", "64T")
    qimg.ok("create", "-q", "-f", "qed", "u.qed", "65537")
    assert json.loads(qimg.ok("info", "--output=json", "u.qed").stdout)["virtual-size"] == 66048
    qimg.ok("create", "-q", "-f", "qed", "-o", "table_size=4294967300", "w.qed", "1M")
    assert qimg.read("w.qed")[8:12] == b"\x04\x00\x00\x00"


def test_create_table_size_1_cannot_be_opened(qimg):
    qimg.ok("create", "-q", "-f", "qed", "-o", "table_size=1", "t.qed", "64M")
    assert os.path.getsize(qimg.path("t.qed")) == 131072
    p = qimg.run("info", "t.qed")
    assert p.returncode == 1 and p.stderr == "qemu-img: Could not open 't.qed': QED table offset is invalid\n"


# ---- info, map, check, convert, compare ----

def test_convert_layout_and_map(qimg):
    make_image(qimg)
    assert os.path.getsize(qimg.path("c.qed")) == 49152
    assert sha256(qimg, "c.qed") == "f121d0b8502dcc6b4deeb0f8f52719b046c6ba821e167e84ef832fd0035ca108"
    rows = [json.loads(line.rstrip(",")) for line in
            qimg.ok("map", "--output=json", "c.qed").stdout.strip().strip("[]").split("\n")]
    data = [(r["start"], r["length"], r["offset"]) for r in rows if r["data"]]
    assert data == [(0, 4096, 20480), (8192, 4096, 40960), (614400, 4096, 45056)]


def test_info_probes_qed(qimg):
    make_image(qimg)
    p = qimg.ok("info", "c.qed")
    assert "file format: qed\n" in p.stdout and "cluster_size: 4096\n" in p.stdout
    info = json.loads(qimg.ok("info", "--output=json", "c.qed").stdout)
    assert info["dirty-flag"] is False and "format-specific" not in info


def test_check_statistics(qimg):
    make_image(qimg)
    p = qimg.run("check", "c.qed")
    assert (p.returncode, p.stdout) == (0, "No errors were found on the image.\n3/256 = 1.17% allocated, "
                                           "33.33% fragmented, 0.00% compressed clusters\n")


def test_compare_and_round_trip(qimg):
    make_image(qimg)
    assert qimg.run("compare", "s.raw", "c.qed").stdout == "Images are identical.\n"
    qimg.ok("convert", "-O", "raw", "c.qed", "back.raw")
    assert qimg.read("back.raw") == qimg.read("s.raw")


def test_backing_chain_reads_and_cow(qimg):
    make_source(qimg, "base.raw")
    qimg.ok("create", "-q", "-f", "qed", "-o", "cluster_size=4k", "-b", "base.raw", "-F", "raw", "t.qed")
    qimg.ok("convert", "-O", "raw", "t.qed", "flat.raw")
    assert qimg.read("flat.raw") == qimg.read("base.raw")
    p = qimg.ok("map", "--output=json", "t.qed")
    assert '"depth": 1' in p.stdout


# ---- resize, measure, amend ----

def test_resize(qimg):
    make_image(qimg)
    assert qimg.ok("resize", "c.qed", "3M").stdout == "Image resized.\n"
    assert sha256(qimg, "c.qed") == "aaed868e704df40c7711f56299e1656207d596974d8824b89d83a64001341f61"
    p = qimg.run("resize", "--shrink", "c.qed", "1M")
    assert p.stderr == "qemu-img: Shrinking images is currently not supported\n"
    p = qimg.run("resize", "--preallocation=full", "c.qed", "4M")
    assert p.stderr == "qemu-img: Unsupported preallocation mode 'full'\n"
    p = qimg.run("resize", "c.qed", "20G")
    assert p.stderr == "qemu-img: Invalid image size specified\n"


def test_measure_and_amend_unsupported(qimg):
    make_image(qimg)
    p = qimg.run("measure", "-O", "qed", "--size", "1G")
    assert p.stderr == "qemu-img: Block driver 'qed' does not support size measurement\n"
    p = qimg.run("amend", "-f", "qed", "-o", "size=2M", "c.qed")
    assert p.stderr == "qemu-img: Format driver 'qed' does not support option amendment\n"


# ---- damaged images ----

@pytest.mark.parametrize("field,value,message", [
    (0, 0x1234, None),
    (16, 0x13, "Unsupported QED features: 10"),
    (4, 2048, "QED cluster size is invalid"),
    (8, 3, "QED table size is invalid"),
    (0x30, 100, "QED image size is invalid"),
    (0x28, 4097, "QED table offset is invalid"),
])
def test_open_refuses_bad_headers(qimg, field, value, message):
    make_image(qimg)
    size = 4 if field in (0, 4, 8) else 8
    qimg.write("c.qed", field, value.to_bytes(size, "little"))
    p = qimg.run("info", "-f", "qed", "c.qed")
    assert p.returncode == 1
    assert p.stderr == f"qemu-img: Could not open 'c.qed': {message or 'Image not in QED format'}\n"


def test_check_repairs_data_past_eof(qimg):
    make_image(qimg)
    poke64(qimg, "c.qed", 0x6000, 1 << 40)
    p = qimg.run("check", "c.qed")
    assert p.returncode == 2 and "1 errors were found" in p.stdout and "1 leaked clusters" in p.stdout
    p = qimg.run("map", "c.qed")
    assert p.stderr == "qemu-img: Could not read file metadata: Invalid argument\n"
    p = qimg.run("convert", "-O", "raw", "c.qed", "x.raw")
    assert p.stderr == "qemu-img: error while reading block status at offset 0: Invalid argument\n"
    p = qimg.run("compare", "s.raw", "c.qed")
    assert p.stderr == "qemu-img: Sector allocation test failed for c.qed\n"
    p = qimg.run("check", "-r", "leaks", "c.qed")
    assert p.returncode == 3
    assert p.stdout.startswith("The following inconsistencies were found and repaired:\n\n    0 leaked clusters\n"
                               "    1 corruptions\n")
    assert struct.unpack_from("<Q", qimg.read("c.qed"), 0x6000)[0] == 0


def test_check_reports_duplicates_without_repair(qimg):
    make_image(qimg)
    poke64(qimg, "c.qed", 0x6010, 0x5000)
    before = qimg.read("c.qed")
    p = qimg.run("check", "-r", "all", "c.qed")
    assert p.returncode == 2 and p.stdout.startswith("\n1 errors were found")
    assert qimg.read("c.qed") == before


def test_need_check_cleared_by_read_write_open_only(qimg):
    make_image(qimg)
    qimg.write("c.qed", 16, struct.pack("<Q", 2))
    qimg.ok("info", "c.qed")
    qimg.ok("check", "c.qed")
    assert qimg.read("c.qed")[16] == 2
    qimg.ok("resize", "c.qed", "2M")
    assert qimg.read("c.qed")[16] == 0


def test_rebase_unsafe_rewrites_header(qimg):
    qimg.ok("create", "-q", "-f", "raw", "base.raw", "1M")
    qimg.ok("create", "-q", "-f", "qed", "-o", "cluster_size=4k", "t.qed", "1M")
    qimg.ok("rebase", "-u", "-b", "base.raw", "-F", "raw", "t.qed")
    data = qimg.read("t.qed")
    assert struct.unpack_from("<Q", data, 16)[0] == 5
    assert struct.unpack_from("<II", data, 56) == (64, 8) and data[64:72] == b"base.raw"
    p = qimg.run("rebase", "-u", "-F", "raw", "-b", "x" * 4033, "t.qed")
    assert p.returncode == 1 and p.stderr.endswith("': No space left in the file header\n")


def test_info_limits(qimg):
    qimg.ok("create", "-q", "-f", "qed", "-o", "cluster_size=64k", "l.qed", "1M")
    limits = json.loads(qimg.ok("info", "--limits", "--output=json", "l.qed").stdout)["limits"]
    assert limits["request-alignment"] == 512 and limits["write-zeroes-alignment"] == 65536
    assert limits["max-write-zeroes"] == 2147418112 and "discard-alignment" not in limits


def test_allocation_after_partial_cluster_tail(qimg):
    # 10.2 allocates at the file length rounded down to a cluster: the extra bytes are overwritten
    make_image(qimg)
    with open(qimg.path("c.qed"), "r+b") as fh:
        fh.truncate(49152 + 100)
    with open(qimg.path("p.raw"), "wb") as fh:
        fh.truncate(1 << 20)
        fh.seek(128 * 1024)
        fh.write(b"\x44" * 4096)
    qimg.ok("convert", "-n", "-f", "raw", "-O", "qed", "p.raw", "c.qed")
    assert os.path.getsize(qimg.path("c.qed")) == 53248
    rows = [line.split()[:3] for line in qimg.ok("map", "c.qed").stdout.splitlines()]
    assert ["0x20000", "0x1000", "0xc000"] in rows


def test_create_long_backing_name_overwritten_by_l1(qimg):
    name = "x" * 5000
    qimg.ok("create", "-q", "-f", "qed", "-o", "cluster_size=4k", "-u", "-b", name, "-F", "raw", "l.qed", "1M")
    data = qimg.read("l.qed")
    assert len(data) == 20480 and struct.unpack_from("<I", data, 60)[0] == 5000
    assert data[64:4096] == b"x" * 4032 and data[4096:] == b"\0" * 16384
    p = qimg.run("info", "l.qed")
    assert p.stderr == "qemu-img: Could not open 'l.qed': QED backing filename offset is invalid\n"


def test_dd_writes_one_block_per_request(qimg):
    # qed lays out L2 tables as writes allocate, so the file depends on the request size: qemu-img dd
    # writes one bs-sized request at a time (file measured with 10.2.2).
    with open(qimg.path("d.raw"), "wb") as fh:
        fh.truncate(1 << 20)
        fh.write(b"\x11" * 8192)
        fh.seek(600 << 10)
        fh.write(b"\x22" * 4096)
    qimg.ok("dd", "-f", "raw", "-O", "qed", "of=o.qed", "bs=4K", "if=d.raw")
    assert os.path.getsize(qimg.path("o.qed")) == 1638400
    assert sha256(qimg, "o.qed") == "3c5ae89a05a79656307a8cba30b9449a3405698b80d06f4ec4a06b723200e4e3"
