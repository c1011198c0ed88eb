# test_vmdk.py — every qemu-img command on vmdk images, checked against what qemu-img 10.2.2 does:
# create (each subformat and option, their errors), info, map, check, resize, measure, convert to and
# from, compare, rebase (spec/vmdk.md; spec/architecture.md §Tests). Expected values were measured
# with the oracle and are written down here as literals; CIDs are random and checked by shape only.
import hashlib
import json
import os
import re
import struct

import pytest

from conftest import sparse_file

MIB = 1 << 20


def header(qimg, name):
    """The decoded hosted sparse header of a file (spec/vmdk.md §Sparse header)."""
    d = qimg.read(name)[:512]
    fields = struct.unpack_from("<4sIIQQQQIQQQB4sH", d, 0)
    keys = ["magic", "version", "flags", "capacity", "grain", "desc_offset", "desc_size", "gtes", "rgd", "gd",
            "overhead", "unclean", "newline", "compress"]
    return dict(zip(keys, fields))


def descriptor(qimg, name, embedded=True):
    data = qimg.read(name)
    if embedded:
        data = data[512:512 * 21]
    return data.rstrip(b"\0").decode()


def pattern_source(qimg):
    sparse_file(qimg.path("src.raw"), 4 * MIB,
                [(0, b"\x11" * 65536), (MIB, b"\x22" * 4096), (3 * MIB, bytes(range(256)) * 2)])


def expected_descriptor(create_type, extents, cylinders, heads=16, adapter="ide", hw="4", tools="2147483647",
                        parent_cid="ffffffff", hint=""):
    return ("# Disk DescriptorFile\nversion=1\nCID=X\nparentCID=%s\ncreateType=\"%s\"\n%s\n# Extent description\n"
            "%s\n# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = \"%s\"\nddb.geometry.cylinders = \"%d\"\n"
            "ddb.geometry.heads = \"%d\"\nddb.geometry.sectors = \"63\"\nddb.adapterType = \"%s\"\n"
            "ddb.toolsVersion = \"%s\"\n" % (parent_cid, create_type, hint, extents, hw, cylinders, heads, adapter,
                                            tools))


def masked(text):
    assert re.search(r"^CID=[0-9a-f]{1,8}$", text, re.M), text
    return re.sub(r"^CID=[0-9a-f]+$", "CID=X", text, flags=re.M)


# ---- create ----

def test_create_default_layout(qimg):
    p = qimg.ok("create", "-f", "vmdk", "t.vmdk", "64M")
    assert p.stdout == "Formatting 't.vmdk', fmt=vmdk size=67108864 compat6=off hwversion=undefined\n"
    assert os.path.getsize(qimg.path("t.vmdk")) == 65536
    h = header(qimg, "t.vmdk")
    assert (h["magic"], h["version"], h["flags"], h["capacity"], h["grain"]) == (b"KDMV", 1, 3, 131072, 128)
    assert (h["desc_offset"], h["desc_size"], h["gtes"], h["rgd"], h["gd"], h["overhead"]) == (1, 20, 512, 21, 30, 128)
    assert (h["newline"], h["compress"]) == (b"\n \r\n", 0)
    d = qimg.read("t.vmdk")
    # both grain directories point at their tables (4 sectors each)
    assert struct.unpack_from("<II", d, 21 * 512) == (22, 26)
    assert struct.unpack_from("<II", d, 30 * 512) == (31, 35)
    assert masked(descriptor(qimg, "t.vmdk")) == expected_descriptor(
        "monolithicSparse", 'RW 131072 SPARSE "t.vmdk"\n', 130)


@pytest.mark.parametrize("size,length,gd,overhead", [
    ("0", 65536, 21, 128), ("65537", 65536, 26, 128), ("1G", 196608, 150, 384), ("2T", 269025280, 262677, 525440)])
def test_create_sizes(qimg, size, length, gd, overhead):
    qimg.ok("create", "-q", "-f", "vmdk", "t.vmdk", size)
    assert os.path.getsize(qimg.path("t.vmdk")) == length
    h = header(qimg, "t.vmdk")
    assert (h["gd"], h["overhead"]) == (gd, overhead)


def test_create_options_and_descriptor(qimg):
    p = qimg.ok("create", "-f", "vmdk", "-o", "adapter_type=lsilogic,hwversion=6,toolsversion=10240", "t.vmdk", "3T")
    assert p.stdout == ("Formatting 't.vmdk', fmt=vmdk size=3298534883328 adapter_type=lsilogic compat6=off "
                        "hwversion=6 toolsversion=10240\n")
    assert masked(descriptor(qimg, "t.vmdk")) == expected_descriptor(
        "monolithicSparse", 'RW 6442450944 SPARSE "t.vmdk"\n', 401024, heads=255, adapter="lsilogic", hw="6",
        tools="10240")


def test_create_compat6_zeroed_grain(qimg):
    qimg.ok("create", "-q", "-f", "vmdk", "-o", "compat6=on,zeroed_grain=on", "t.vmdk", "100M")
    h = header(qimg, "t.vmdk")
    assert (h["version"], h["flags"], h["gd"]) == (2, 7, 38)
    assert 'ddb.virtualHWVersion = "6"' in descriptor(qimg, "t.vmdk")


@pytest.mark.parametrize("options,message", [
    ("subformat=bogus", "invalid parameter value: bogus"),
    ("adapter_type=IDE", "invalid parameter value: IDE"),
    ("compat6=on,hwversion=6", "compat6 cannot be enabled with hwversion set"),
    ("backing_fmt=qcow2", "backing_file must be a vmdk image"),
    ("subformat=monolithicFlat,zeroed_grain=on", "Flat image can't enable zeroed grain"),
])
def test_create_option_errors(qimg, options, message):
    p = qimg.run("create", "-q", "-f", "vmdk", "-o", options, "t.vmdk", "1M", check=1)
    assert p.stderr == f"qemu-img: t.vmdk: {message}\n"
    assert not os.path.exists(qimg.path("t.vmdk"))


def test_create_help(qimg):
    p = qimg.ok("create", "-f", "vmdk", "-o", "help")
    assert "  subformat=<str>        - VMDK flat extent format, can be one of {monolithicSparse (default) | " \
           "monolithicFlat | twoGbMaxExtentSparse | twoGbMaxExtentFlat | streamOptimized} \n" in p.stdout
    assert "  zeroed_grain=<bool (on/off)> - Enable efficient zero writes using the zeroed-grain GTE feature\n" \
        in p.stdout


def test_create_monolithic_flat(qimg):
    qimg.ok("create", "-q", "-f", "vmdk", "-o", "subformat=monolithicFlat", "f.vmdk", "16M")
    assert os.path.getsize(qimg.path("f-flat.vmdk")) == 16 * MIB
    assert masked(descriptor(qimg, "f.vmdk", embedded=False)) == expected_descriptor(
        "monolithicFlat", 'RW 32768 FLAT "f-flat.vmdk" 0\n', 32)
    info = json.loads(qimg.ok("info", "--output=json", "f.vmdk").stdout)
    assert "cluster-size" not in info
    assert info["format-specific"]["data"]["extents"] == [
        {"virtual-size": 16 * MIB, "filename": "f-flat.vmdk", "format": "FLAT"}]
    assert [c["name"] for c in info["children"]] == ["extents.0", "file"]
    m = qimg.ok("map", "--output=json", "f.vmdk").stdout
    assert m == ('[{ "start": 0, "length": 4096, "depth": 0, "present": true, "zero": false, "data": true, '
                 '"compressed": false, "offset": 0},\n{ "start": 4096, "length": 16773120, "depth": 0, "present": '
                 'true, "zero": true, "data": true, "compressed": false, "offset": 4096}]\n')


def test_create_split_sparse(qimg):
    qimg.ok("create", "-q", "-f", "vmdk", "-o", "subformat=twoGbMaxExtentSparse", "f.vmdk", "5G")
    sizes = {n: os.path.getsize(qimg.path(n)) for n in ("f-s001.vmdk", "f-s002.vmdk", "f-s003.vmdk")}
    assert sizes == {"f-s001.vmdk": 327680, "f-s002.vmdk": 327680, "f-s003.vmdk": 196608}
    assert masked(descriptor(qimg, "f.vmdk", embedded=False)) == expected_descriptor(
        "twoGbMaxExtentSparse", 'RW 4194304 SPARSE "f-s001.vmdk"\nRW 4194304 SPARSE "f-s002.vmdk"\n'
        'RW 2097152 SPARSE "f-s003.vmdk"\n', 10402)
    info = json.loads(qimg.ok("info", "--output=json", "f.vmdk").stdout)
    assert [c["name"] for c in info["children"]] == ["extents.2", "extents.1", "extents.0", "file"]
    assert info["format-specific"]["data"]["extents"][2] == {
        "virtual-size": 1 << 30, "filename": "f-s003.vmdk", "cluster-size": 65536, "format": "SPARSE"}


def test_create_split_flat_names(qimg):
    qimg.ok("create", "-q", "-f", "vmdk", "-o", "subformat=twoGbMaxExtentFlat", "d.x.y", "1M")
    assert os.path.getsize(qimg.path("d.x-f001.y")) == MIB


def test_create_backing(qimg):
    qimg.ok("create", "-q", "-f", "vmdk", "base.vmdk", "32M")
    base_cid = re.search(r"^CID=([0-9a-f]+)$", descriptor(qimg, "base.vmdk"), re.M).group(1)
    p = qimg.ok("create", "-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", "t.vmdk")
    assert p.stdout == ("Formatting 't.vmdk', fmt=vmdk size=33554432 backing_file=base.vmdk backing_fmt=vmdk "
                        "compat6=off hwversion=undefined\n")
    assert masked(descriptor(qimg, "t.vmdk")) == expected_descriptor(
        "monolithicSparse", 'RW 65536 SPARSE "t.vmdk"\n', 65, parent_cid=base_cid,
        hint='parentFileNameHint="base.vmdk"')
    info = json.loads(qimg.ok("info", "--output=json", "t.vmdk").stdout)
    assert info["backing-filename"] == "base.vmdk" and info["backing-filename-format"] == "vmdk"
    p = qimg.run("create", "-q", "-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", "-o", "subformat=monolithicFlat",
                 "f.vmdk", check=1)
    assert p.stderr == "qemu-img: f.vmdk: Flat image can't have backing file\n"


def test_create_backing_not_vmdk(qimg):
    qimg.ok("create", "-q", "-f", "qcow2", "q.qcow2", "1M")
    p = qimg.run("create", "-q", "-f", "vmdk", "-u", "-b", "q.qcow2", "-F", "vmdk", "t.vmdk", "1M", check=1)
    assert p.stderr == "qemu-img: t.vmdk: Invalid backing file format: qcow2. Must be vmdk\n"


# ---- open, info, map ----

def test_size_zero_image_does_not_open(qimg):
    qimg.ok("create", "-q", "-f", "vmdk", "t.vmdk", "0")
    p = qimg.run("info", "t.vmdk", check=1)
    assert p.stderr == "qemu-img: Could not open 't.vmdk': Unsupported image type 'monolithicSparse'\n"


@pytest.mark.parametrize("offset,data,message", [
    (4, b"\x04", "Unsupported VMDK version 4"),
    (20, b"\x00", "L1 entry size is invalid"),
    (44, b"\x00\x04", "L2 table size too big"),
    (12, b"\x01\x00\x00\x00\x00\x02\x00\x00", "L1 size too big"),
    (64, b"\x00\x00\x00\x00\x01", "File truncated, expecting at least 2199023255552 bytes"),
    (56, b"\xff" * 8, "Invalid footer"),
])
def test_header_errors(qimg, offset, data, message):
    qimg.ok("create", "-q", "-f", "vmdk", "t.vmdk", "64M")
    qimg.write("t.vmdk", offset, data)
    p = qimg.run("info", "t.vmdk", check=1)
    assert p.stderr == f"qemu-img: Could not open 't.vmdk': {message}\n"


def test_descriptor_files(qimg):
    sparse_file(qimg.path("ext.raw"), MIB)
    base = '# Disk DescriptorFile\nversion=1\nCID=12ab\nparentCID=ffffffff\ncreateType="%s"\n\n%s\n'
    cases = [("monolithicFlat", 'RW 2048 FLAT "ext.raw" 0', None),
             ("streamOptimized", 'RW 2048 FLAT "ext.raw" 0', "Unsupported image type 'streamOptimized'"),
             ("vmfs", 'RW 2048 VMFS "ext.raw"', None),
             ("monolithicFlat", 'RW 2048 FLAT "ext.raw"', 'Invalid extent line: RW 2048 FLAT "ext.raw"'),
             ("monolithicFlat", '  RW 2048 FLAT "ext.raw" 0', None),
             ("monolithicFlat", 'RW 2048 SPARSE "ext.raw"', "Image not in VMDK format"),
             ("monolithicFlat", 'RW 2048 FLAT "nope.raw" 0', "Could not open 'nope.raw': No such file or directory")]
    for create_type, line, message in cases:
        qimg.write("d.vmdk", 0, (base % (create_type, line)).encode())
        p = qimg.run("info", "d.vmdk")
        if message is None:
            assert p.returncode == 0 and "virtual size: 1 MiB (1048576 bytes)" in p.stdout, p.stderr
        else:
            assert (p.returncode, p.stderr) == (1, f"qemu-img: Could not open 'd.vmdk': {message}\n"), line
        os.unlink(qimg.path("d.vmdk"))
    qimg.write("v.txt", 0, b"version=1\n")
    p = qimg.run("info", "v.txt", check=1)
    assert p.stderr == "qemu-img: Could not open 'v.txt': invalid VMDK image descriptor\n"


def test_convert_sparse_layout_and_map(qimg):
    pattern_source(qimg)
    qimg.ok("convert", "-f", "raw", "-O", "vmdk", "src.raw", "m.vmdk")
    d = qimg.read("m.vmdk")
    assert len(d) == 262144
    # everything but the descriptor (random CID) is byte-identical to qemu's
    assert hashlib.sha256(d[:512] + d[21 * 512:]).hexdigest() == \
        "8648cd5b237922f566673c7d5ffda7638b45d83e05e8bd7e6ea9fa8e89df0694"
    m = qimg.ok("map", "--output=json", "m.vmdk").stdout.splitlines()
    assert m[0] == ('[{ "start": 0, "length": 65536, "depth": 0, "present": true, "zero": false, "data": true, '
                    '"compressed": false, "offset": 65536},')
    assert m[4] == ('{ "start": 3145728, "length": 65536, "depth": 0, "present": true, "zero": false, "data": true, '
                    '"compressed": false, "offset": 196608},')
    info = qimg.ok("info", "m.vmdk").stdout
    assert "create type: monolithicSparse\n    extents:\n        [0]:\n            virtual size: 4194304\n" \
           "            filename: m.vmdk\n            cluster size: 65536\n            format: \n" in info
    assert qimg.ok("compare", "src.raw", "m.vmdk").stdout == "Images are identical.\n"
    qimg.ok("convert", "-O", "raw", "m.vmdk", "back.raw")
    assert qimg.read("back.raw") == qimg.read("src.raw")


def test_convert_stream_optimized(qimg):
    pattern_source(qimg)
    qimg.ok("convert", "-f", "raw", "-O", "vmdk", "-o", "subformat=streamOptimized", "src.raw", "s.vmdk")
    assert os.path.getsize(qimg.path("s.vmdk")) == 132096
    assert qimg.read("s.vmdk")[:80].hex() == (
        "4b444d56030000000300030000200000000000008000000000000000010000000000000014000000000000000002000015000000"
        "000000001a000000000000008000000000000000000a200d0a010000")
    m = qimg.ok("map", "--output=json", "s.vmdk").stdout.splitlines()
    assert m[0] == ('[{ "start": 0, "length": 65536, "depth": 0, "present": true, "zero": false, "data": true, '
                    '"compressed": true},')
    info = json.loads(qimg.ok("info", "--output=json", "s.vmdk").stdout)
    assert info["format-specific"]["data"]["extents"] == [
        {"compressed": True, "virtual-size": 4 * MIB, "filename": "s.vmdk", "cluster-size": 65536, "format": ""}]
    assert qimg.ok("compare", "src.raw", "s.vmdk").stdout == "Images are identical.\n"
    assert qimg.ok("check", "s.vmdk").stdout == "No errors were found on the image.\n"


# ---- check, resize, measure, rebase ----

def test_check_grain_past_eof(qimg):
    qimg.ok("create", "-q", "-f", "vmdk", "t.vmdk", "1M")
    assert qimg.ok("check", "t.vmdk").stdout == "No errors were found on the image.\n"
    qimg.write("t.vmdk", 27 * 512 + 4, struct.pack("<I", 128))  # grain 1 at the end of the file
    p = qimg.run("check", "t.vmdk", check=1)
    assert p.stderr == "ERROR: cluster offset for sector 128 points after EOF\nqemu-img: Check failed: Invalid argument\n"
    p = qimg.run("check", "-r", "all", "t.vmdk", check=63)
    assert p.stderr == "qemu-img: This image format does not support checks\n"


def test_resize_measure_rebase_refused(qimg):
    qimg.ok("create", "-q", "-f", "vmdk", "t.vmdk", "1M")
    p = qimg.run("resize", "t.vmdk", "2M", check=1)
    assert p.stderr == "qemu-img: Image format driver does not support resize\n"
    p = qimg.run("measure", "-O", "vmdk", "--size", "1G", check=1)
    assert p.stderr == "qemu-img: Block driver 'vmdk' does not support size measurement\n"
    qimg.ok("create", "-q", "-f", "vmdk", "a.vmdk", "1M")
    p = qimg.run("rebase", "-u", "-b", "a.vmdk", "-F", "vmdk", "t.vmdk", check=1)
    assert p.stderr == "qemu-img: Could not change the backing file to 'a.vmdk': Operation not supported\n"
    p = qimg.run("info", "--image-opts", "driver=vmdk,file.filename=t.vmdk,bogus=1", check=1)
    assert p.stderr == ("qemu-img: Could not open 'driver=vmdk,file.filename=t.vmdk,bogus=1': Block format 'vmdk' "
                        "does not support the option 'bogus'\n")


def test_write_renews_cid_and_reads_backing(qimg):
    qimg.ok("create", "-q", "-f", "vmdk", "base.vmdk", "4M")
    sparse_file(qimg.path("data.raw"), 4 * MIB, [(0, b"\x55" * 4 * MIB)])
    qimg.ok("convert", "-n", "-f", "raw", "-O", "vmdk", "data.raw", "base.vmdk")
    qimg.ok("create", "-q", "-f", "vmdk", "-b", "base.vmdk", "-F", "vmdk", "top.vmdk")
    before = descriptor(qimg, "top.vmdk")
    qimg.ok("bench", "-w", "-c", "1", "-s", "4096", "-o", "12288", "--pattern", "0x66", "-f", "vmdk", "top.vmdk")
    after = descriptor(qimg, "top.vmdk")
    assert before != after and masked(before) == masked(after)
    qimg.ok("convert", "-O", "raw", "top.vmdk", "out.raw")
    out = qimg.read("out.raw")
    assert out[:12288] == b"\x55" * 12288 and out[12288:16384] == b"\x66" * 4096 and out[16384:65536] == b"\x55" * 49152


def test_cowd_extent_read_and_written(qimg):
    # A VMDK3 (COWD) image made by hand: 1 MiB, 8 KiB grains, directory at sector 21, one table at
    # 22, guest grain 1 at sector 60; the CID text qemu needs at sector 1.
    d = bytearray(100 * 512)
    struct.pack_into("<4sIIIIII", d, 0, b"COWD", 1, 3, 2048, 16, 21, 1)
    d[512:512 + 29] = b"CID=1234\nparentCID=ffffffff\n"
    struct.pack_into("<I", d, 21 * 512, 22)
    struct.pack_into("<I", d, 22 * 512 + 4, 60)
    d[60 * 512:76 * 512] = b"\x5a" * (16 * 512)
    qimg.write("c.vmdk", 0, bytes(d))
    info = json.loads(qimg.ok("info", "--output=json", "c.vmdk").stdout)
    assert info["cluster-size"] == 8192 and info["format-specific"]["data"]["create-type"] == ""
    assert info["format-specific"]["data"]["cid"] == 0x1234
    assert qimg.ok("map", "--output=json", "c.vmdk").stdout.splitlines()[1] == (
        '{ "start": 8192, "length": 8192, "depth": 0, "present": true, "zero": false, "data": true, '
        '"compressed": false, "offset": 30720},')
    # a new grain goes at the end of the file rounded up to a grain (sector 112)
    qimg.ok("bench", "-w", "-c", "1", "-s", "4096", "-o", "0", "--pattern", "0x33", "-f", "vmdk", "c.vmdk")
    m = qimg.ok("map", "--output=json", "c.vmdk").stdout.splitlines()
    assert m[0] == ('[{ "start": 0, "length": 8192, "depth": 0, "present": true, "zero": false, "data": true, '
                    '"compressed": false, "offset": 57344},')


def test_granularity_over_one_gib_refused(qimg):
    """qemu bounds a grain at 0x200000 sectors (1 GiB) before sizing anything by it."""
    qimg.ok("create", "-q", "-f", "vmdk", "g.vmdk", "64M")
    qimg.write("g.vmdk", 20, struct.pack("<Q", 0x200000))
    assert "cluster_size: 1073741824" in qimg.ok("info", "g.vmdk").stdout
    qimg.write("g.vmdk", 20, struct.pack("<Q", 0x200001))
    p = qimg.run("info", "g.vmdk")
    assert p.returncode == 1
    assert p.stderr == "qemu-img: Could not open 'g.vmdk': Invalid granularity, image may be corrupt\n"
