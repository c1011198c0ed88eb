# test_vpc.py — the vpc (VHD) format end to end: create (every option and its errors), info, map,
# check, resize, measure, convert to and from, compare, probing, writes and the open checks
# (spec/vpc.md). Expected values were measured with qemu-img 10.2.2; image digests mask the footer
# timestamp, checksum and UUID (bytes 24..28 and 64..84 of both footer copies), the only bytes in
# which qemu's own images differ from run to run.
import hashlib
import json
import os
import struct
import subprocess

from conftest import REPO, sparse_file

MIB = 1 << 20
QIMG_IO = os.environ.get("QIMG_IO", os.path.join(REPO, "build", "qimg-io"))


def masked_sha256(qimg, name):
    data = bytearray(qimg.read(name))
    for offset in (0, len(data) - 512):
        if offset >= 0 and data[offset:offset + 8] == b"conectix":
            data[offset + 24:offset + 28] = bytes(4)
            data[offset + 64:offset + 84] = bytes(20)
    return hashlib.sha256(data).hexdigest()


def pattern_source(qimg, name="src.raw"):
    """8 MiB: 64 KiB of 0x11 at 0, 512 bytes of 0x22 at 1 MiB, 3 MiB of 0x33 at 5 MiB."""
    sparse_file(qimg.path(name), 8 * MIB, [(0, b"\x11" * 65536), (MIB, b"\x22" * 512), (5 * MIB, b"\x33" * (3 * MIB))])


def checksum(raw, skip):
    return ~(sum(raw) - sum(raw[skip:skip + 4])) & 0xFFFFFFFF


def patch_footer(qimg, name, offset, fmt, value, fix=True, at=0):
    """Changes a footer field (at: the footer's file offset) and recomputes its checksum."""
    qimg.write(name, at + offset, struct.pack(">" + fmt, value))
    if fix:
        raw = qimg.read(name)[at:at + 512]
        qimg.write(name, at + 64, struct.pack(">I", checksum(raw, 64)))


def patch_header(qimg, name, offset, fmt, value):
    qimg.write(name, 512 + offset, struct.pack(">" + fmt, value))


def info_json(qimg, *args):
    return json.loads(qimg.ok("info", "--output=json", *args).stdout)


def open_error(qimg, name, *args):
    p = qimg.run("info", *args, name, check=1)
    return p.stderr


def test_create_layouts_match_qemu(qimg):
    cases = [
        ([], "64M", 2560, "3317300b65a9ad47c2134d6de3cd6eb5f9662ec7341b031c5c818611cc48fb57"),
        ([], "0", 2048, "0e96192986e2afc26158a811970fdd5b98fea0ebf4d578b442d6488f5b1e8276"),
        ([], "1000", 2560, "cba1d940ea4b4ef3aa894f4e1e43eff2f265f2e3e3e6415dcfb5e4645231b33e"),
        ([], "1.5G", 5632, "3ad6adb2445d1f1fde197eae81f2150864d15d7d9c70b64ca1a5387e8129e84d"),
        (["-o", "subformat=fixed"], "16M", 16781824, "b3681879cf89b08e8d9ee0adbd92f8e5767e053deb4156635793a3e89e2ccc7c"),
        (["-o", "force_size=on"], "1000", 2560, "ab3d6732238fed973c3223848c5a7aa38282d3eadb4bf8ab4abf5e6b54c15141"),
        (["-o", "subformat=fixed,force_size=on"], "1000", 1536,
         "08cadd81dd5daf3d5f5f3ab3f59c588d8febef4410538341f8bb25e34c614d78"),
        ([], "200G", 411648, "6c481181dc001a782850d6483beb0c733e9d7cd1e8b9e4b1a7d311f33164bbc0"),
    ]
    for i, (opts, size, length, digest) in enumerate(cases):
        name = f"c{i}.vpc"
        qimg.ok("create", "-q", "-f", "vpc", *opts, name, size)
        assert os.path.getsize(qimg.path(name)) == length, (opts, size)
        assert masked_sha256(qimg, name) == digest, (opts, size)


def test_create_footers_agree_and_stamp(qimg):
    qimg.ok("create", "-q", "-f", "vpc", "t.vpc", "64M")
    data = qimg.read("t.vpc")
    assert data[:512] == data[-512:]
    assert data[28:32] == b"qemu" and data[36:40] == b"Wi2k"
    assert struct.unpack(">I", data[64:68])[0] == checksum(data[:512], 64)
    assert data[68 + 6] >> 4 == 4  # version 4 UUID


def test_create_virtual_sizes(qimg):
    # size -> virtual size (CHS rounding), as qemu-img 10.2 creates them
    cases = [("512b", 34816), ("1M", 1079296), ("2M", 2123776), ("64M", 67125248), ("1G", 1073995776),
             ("127G", 136365219840), ("128G", 137438953472), ("2040G", 2190433320960)]
    for size, virtual in cases:
        qimg.ok("create", "-q", "-f", "vpc", "t.vpc", size)
        assert info_json(qimg, "t.vpc")["virtual-size"] == virtual, size
    qimg.ok("create", "-q", "-f", "vpc", "-o", "force_size=on", "t.vpc", "64M")
    assert info_json(qimg, "t.vpc")["virtual-size"] == 64 * MIB


def test_create_formatting_line_and_options(qimg):
    p = qimg.ok("create", "-f", "vpc", "-o", "force_size=on,subformat=fixed", "t.vpc", "1M")
    assert p.stdout == "Formatting 't.vpc', fmt=vpc size=1048576 subformat=fixed force_size=on\n"
    p = qimg.ok("create", "-f", "vpc", "-o", "subformat=fixed,preallocation=full", "t.vpc", "1M")
    assert p.stdout == "Formatting 't.vpc', fmt=vpc size=1048576 subformat=fixed preallocation=full\n"
    assert os.path.getsize(qimg.path("t.vpc")) == 1079808


def test_create_errors(qimg):
    p = qimg.run("create", "-f", "vpc", "-o", "subformat=bogus", "t.vpc", "1M", check=1)
    assert p.stderr == "qemu-img: t.vpc: Parameter 'subformat' does not accept value 'bogus'\n"
    assert os.path.getsize(qimg.path("t.vpc")) == 0  # the file was made empty first
    os.unlink(qimg.path("t.vpc"))
    p = qimg.run("create", "-f", "vpc", "-o", "force_size=maybe", "t.vpc", "1M", check=1)
    assert p.stderr == "qemu-img: t.vpc: Parameter 'force_size' expects 'on' or 'off'\n"
    assert not os.path.exists(qimg.path("t.vpc"))
    p = qimg.run("create", "-f", "vpc", "-o", "cluster_size=4k", "t.vpc", "1M", check=1)
    assert p.stderr == "qemu-img: t.vpc: Invalid parameter 'cluster_size'\n"
    p = qimg.run("create", "-f", "vpc", "t.vpc", "2041G", check=1)
    assert p.stderr == "qemu-img: t.vpc: The image size is too large for file format 'vpc'\n"
    assert os.path.getsize(qimg.path("t.vpc")) == 0
    p = qimg.run("create", "-f", "vpc", "-o", "preallocation=metadata,subformat=fixed", "t.vpc", "1M", check=1)
    assert p.stderr == "qemu-img: t.vpc: Unsupported preallocation mode: metadata\n"
    p = qimg.run("create", "-f", "vpc", "t.vpc", check=1)
    assert p.stderr == "qemu-img: t.vpc: Image creation needs a size parameter\n"


def test_create_help(qimg):
    p = qimg.ok("create", "-f", "vpc", "-o", "help")
    assert p.stdout.splitlines()[:4] == [
        "Supported vpc options:",
        "  force_size=<bool (on/off)> - Force disk size calculation to use the actual size specified, rather "
        "than using the nearest CHS-based calculation",
        "  size=<size>            - Virtual disk size",
        "  subformat=<str>        - Type of virtual hard disk format. Supported formats are {dynamic (default) | "
        "fixed} ",
    ]


def test_convert_to_vpc_matches_qemu(qimg):
    pattern_source(qimg)
    qimg.ok("convert", "-f", "raw", "-O", "vpc", "src.raw", "d.vpc")
    assert os.path.getsize(qimg.path("d.vpc")) == 6295552
    assert masked_sha256(qimg, "d.vpc") == "1d95c90fcc08130a79f7f10802b9b15dd255eac0bcef3cffe4df6dcaac658446"
    qimg.ok("convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed", "src.raw", "f.vpc")
    assert masked_sha256(qimg, "f.vpc") == "5ec0fe563b8f68f274c7d1009374dd77f4d8171546a83effa3f81e207241a0ac"
    qimg.ok("convert", "-O", "raw", "d.vpc", "back.raw")
    assert os.path.getsize(qimg.path("back.raw")) == 8390656
    assert qimg.read("back.raw")[:8 * MIB] == qimg.read("src.raw")


def test_writes_match_qemu(qimg):
    qimg.ok("create", "-q", "-f", "vpc", "w.vpc", "64M")
    argv = [QIMG_IO, "-f", "vpc", "-c", "write -P 0x44 20M 3M", "-c", "write -P 0x55 0 100", "-c", "write -z 30M 1M",
            qimg.path("w.vpc")]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert os.path.getsize(qimg.path("w.vpc")) == 8393216
    assert masked_sha256(qimg, "w.vpc") == "1fc11c54d288fac90ba5bd73257e506bc036c0a45f132bbeabeb38ee8e578480"


def test_info_and_map(qimg):
    pattern_source(qimg)
    qimg.ok("convert", "-f", "raw", "-O", "vpc", "src.raw", "d.vpc")
    info = info_json(qimg, "d.vpc")
    assert (info["format"], info["virtual-size"], info["cluster-size"], info["dirty-flag"]) == ("vpc", 8390656,
                                                                                             2 * MIB, False)
    assert "format-specific" not in info
    human = qimg.ok("info", "d.vpc").stdout
    assert "virtual size: 8 MiB (8390656 bytes)\n" in human and "cluster_size: 2097152\n" in human
    m = json.loads(qimg.ok("map", "--output=json", "d.vpc").stdout)
    assert [(e["start"], e["length"], e["data"], e.get("offset")) for e in m] == [
        (0, 2 * MIB, True, 2560), (2 * MIB, 2 * MIB, False, None), (4 * MIB, 2 * MIB, True, 2100224),
        (6 * MIB, 2 * MIB, True, 4197888), (8 * MIB, 2048, False, None)]
    qimg.ok("convert", "-f", "raw", "-O", "vpc", "-o", "subformat=fixed", "src.raw", "f.vpc")
    info = info_json(qimg, "-f", "vpc", "f.vpc")
    assert "cluster-size" not in info and info["virtual-size"] == 8390656
    m = json.loads(qimg.ok("map", "--output=json", "-f", "vpc", "f.vpc").stdout)
    assert [(e["start"], e["zero"], e["data"], e["offset"]) for e in m][:2] == [(0, False, True, 0),
                                                                             (65536, True, True, 65536)]


def test_probe(qimg):
    qimg.ok("create", "-q", "-f", "vpc", "d.vpc", "1M")
    assert info_json(qimg, "d.vpc")["format"] == "vpc"
    qimg.ok("create", "-q", "-f", "vpc", "-o", "subformat=fixed", "f.vpc", "1M")
    assert info_json(qimg, "f.vpc")["format"] == "raw"  # no footer copy at 0: qemu probes raw too


def test_unsupported_commands(qimg):
    qimg.ok("create", "-q", "-f", "vpc", "d.vpc", "64M")
    p = qimg.run("check", "d.vpc", check=63)
    assert p.stderr == "qemu-img: This image format does not support checks\n"
    p = qimg.run("resize", "d.vpc", "128M", check=1)
    assert p.stderr == "qemu-img: Image format driver does not support resize\n"
    p = qimg.run("measure", "-O", "vpc", "--size", "1G", check=1)
    assert p.stderr == "qemu-img: Block driver 'vpc' does not support size measurement\n"
    p = qimg.run("info", "--image-opts", "driver=vpc,force_size=on,file.filename=d.vpc", check=1)
    assert "Block format 'vpc' does not support the option 'force_size'" in p.stderr


def test_compare(qimg):
    pattern_source(qimg)
    qimg.ok("convert", "-f", "raw", "-O", "vpc", "src.raw", "d.vpc")
    p = qimg.ok("compare", "src.raw", "d.vpc")
    assert p.stdout == "Warning: Image size mismatch!\nImages are identical.\n"
    p = qimg.run("compare", "-s", "src.raw", "d.vpc", check=1)
    assert p.stdout == "Strict mode: Image size mismatch!\n"


def test_creator_decides_size(qimg):
    qimg.ok("create", "-q", "-f", "vpc", "d.vpc", "64M")
    size = os.path.getsize(qimg.path("d.vpc"))
    for creator, virtual in ((b"qemu", 67125248), (b"vpc ", 67125248), (b"win ", 64 * MIB), (b"d2v ", 64 * MIB),
                             (b"qem2", 64 * MIB), (b"xxxx", 64 * MIB)):
        for at in (0, size - 512):
            qimg.write("d.vpc", at + 28, creator)
            patch_footer(qimg, "d.vpc", 48, "Q", 64 * MIB, at=at)
        assert info_json(qimg, "d.vpc")["virtual-size"] == virtual, creator


def test_open_errors(qimg):
    def fresh():
        qimg.ok("create", "-q", "-f", "vpc", "d.vpc", "64M")

    fresh()
    patch_footer(qimg, "d.vpc", 64, "I", 5, fix=False)
    assert open_error(qimg, "d.vpc") == "qemu-img: Could not open 'd.vpc': Incorrect header checksum\n"
    fresh()
    qimg.write("d.vpc", 0, b"xonectix")
    assert open_error(qimg, "d.vpc", "-f", "vpc") == "qemu-img: Could not open 'd.vpc': invalid VPC image\n"
    fresh()
    patch_header(qimg, "d.vpc", 0, "Q", 0)
    assert open_error(qimg, "d.vpc") == "qemu-img: Could not open 'd.vpc': Invalid header magic\n"
    fresh()
    patch_header(qimg, "d.vpc", 32, "I", 3000)
    assert open_error(qimg, "d.vpc") == "qemu-img: Could not open 'd.vpc': Invalid block size 3000\n"
    fresh()
    patch_header(qimg, "d.vpc", 28, "I", 0x40000001)
    assert open_error(qimg, "d.vpc") == "qemu-img: Could not open 'd.vpc': Max Table Entries too large (1073741825)\n"
    fresh()
    patch_header(qimg, "d.vpc", 28, "I", 32)
    assert open_error(qimg, "d.vpc") == "qemu-img: Could not open 'd.vpc': Page table too small\n"
    fresh()
    patch_header(qimg, "d.vpc", 28, "I", 0x1FFFFF81)
    assert open_error(qimg, "d.vpc") == "qemu-img: Could not open 'd.vpc': Error reading pagetable\n"
    fresh()
    patch_header(qimg, "d.vpc", 16, "Q", 1 << 20)
    assert open_error(qimg, "d.vpc") == ("qemu-img: Could not open 'd.vpc': block-vpc: free_data_block_offset points "
                                         "after the end of file. The image has been truncated.\n")
    fresh()
    qimg.write("d.vpc", 28, b"win ")
    patch_footer(qimg, "d.vpc", 48, "Q", 1 << 50)
    assert open_error(qimg, "d.vpc") == "qemu-img: Could not open 'd.vpc': Could not open 'd.vpc': File too large\n"
    qimg.write("e.vpc", 0, b"")
    assert open_error(qimg, "e.vpc", "-f", "vpc") == "qemu-img: Could not open 'e.vpc': File too small for a VHD header\n"


def test_write_sets_bitmap(qimg):
    # oracle-measured: a write into an allocated block rewrites its sector bitmap as all ones
    qimg.ok("create", "-q", "-f", "vpc", "w.vpc", "64M")
    io = [QIMG_IO, "-f", "vpc", "-c", "write -P 1 0 512", qimg.path("w.vpc")]
    assert subprocess.run(io, capture_output=True, timeout=60).returncode == 0
    qimg.write("w.vpc", 0x800, bytes(512))
    io[4] = "write -P 3 4096 512"
    assert subprocess.run(io, capture_output=True, timeout=60).returncode == 0
    assert qimg.read("w.vpc")[0x800:0xa00] == b"\xff" * 512


def test_convert_too_large(qimg):
    sparse_file(qimg.path("big.raw"), 3 << 40)
    p = qimg.run("convert", "-O", "vpc", "big.raw", "o.vpc", check=1)
    assert p.stderr == "qemu-img: o.vpc: error while converting vpc: Disk size is too large, max size is 2040 GiB\n"
