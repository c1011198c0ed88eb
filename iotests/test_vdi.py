# test_vdi.py — the vdi format end to end: create (every option and its errors), info, map, check,
# resize, measure, convert to and from, compare, probing and the open checks (spec/vdi.md). Expected
# values were measured with qemu-img 10.2.2; image digests mask the two random UUIDs (0x188..0x1a8),
# the only bytes in which qemu's own images differ from run to run.
import hashlib
import json
import os
import struct

from conftest import sparse_file

MIB = 1 << 20


def masked_sha256(qimg, name):
    data = bytearray(qimg.read(name))
    data[0x188:0x1a8] = bytes(32)
    return hashlib.sha256(data).hexdigest()


def pattern_source(qimg, name="src.raw"):
    """8 MiB: 64 KiB of 0x11 at 0, 512 bytes of 0x22 at 1 MiB, 3 MiB of 0x33 at 5 MiB."""
    sparse_file(qimg.path(name), 8 * MIB, [(0, b"\x11" * 65536), (MIB, b"\x22" * 512), (5 * MIB, b"\x33" * (3 * MIB))])


def patch(qimg, name, offset, fmt, value):
    qimg.write(name, offset, struct.pack("<" + fmt, value))


def test_create_layouts_match_qemu(qimg):
    cases = [
        ([], "64M", 1024, "cbacd9b26c782234786017734a8def62f0346ff0ea6e0f23d0817b03c6ed9a7b"),
        ([], "0", 512, "c92276ce3e2fafab6d5708f4ac0dd7441e99c91c9542da6aa1513baa43325606"),
        ([], "1000", 1024, "98f97d562c85ba365389ec65fb8e58c26bdbe217f2f43e952471cac932757e74"),
        ([], "1.5G", 6656, "d140d046118c5d917db45b351f5e4eb952280774c0275a575c209436ac899d3f"),
        (["-o", "static=on"], "3M", 3146752, "ca50acbe6d6c0fca9d9c6dc42506e37048d1f06cf1b144868406452ad23cebee"),
        (["-o", "static=on"], "1000", 1049600, "3a2c8c39f908cadc910310aec46abcc5d7c4bf2d1609dd54aa038dbfd7687ff2"),
    ]
    for i, (opts, size, length, digest) in enumerate(cases):
        name = f"c{i}.vdi"
        qimg.ok("create", "-q", "-f", "vdi", *opts, name, size)
        assert os.path.getsize(qimg.path(name)) == length, (opts, size)
        assert masked_sha256(qimg, name) == digest, (opts, size)


def test_create_formatting_line_and_options(qimg):
    p = qimg.ok("create", "-f", "vdi", "-o", "static=on,preallocation=full", "t.vdi", "3M")
    assert p.stdout == "Formatting 't.vdi', fmt=vdi size=3145728 static=on preallocation=full\n"
    # preallocation belongs to the file, which vdi creates empty: the static image stays sparse
    assert os.path.getsize(qimg.path("t.vdi")) == 3146752
    p = qimg.ok("create", "-f", "vdi", "-o", "size=2M", "u.vdi")
    assert p.stdout == "Formatting 'u.vdi', fmt=vdi size=2097152 static=off\n"
    help_text = qimg.ok("create", "-f", "vdi", "-o", "help", "h.vdi").stdout
    assert "static=<bool (on/off)> - VDI static (pre-allocated) image" in help_text
    assert "preallocation=<str>    - Preallocation mode (allowed values: off, falloc, full)" in help_text


def test_create_uuids_are_random_version_4(qimg):
    qimg.ok("create", "-q", "-f", "vdi", "a.vdi", "1M")
    qimg.ok("create", "-q", "-f", "vdi", "b.vdi", "1M")
    a, b = qimg.read("a.vdi"), qimg.read("b.vdi")
    assert a[0x188:0x198] != b[0x188:0x198] and a[0x198:0x1a8] != b[0x198:0x1a8]
    for data in (a, b):
        for uuid in (data[0x188:0x198], data[0x198:0x1a8]):
            assert uuid[7] >> 4 == 4 and uuid[8] >> 6 == 2  # stored with the first three fields little-endian
        assert data[0x1a8:0x1c8] == bytes(32)  # link and parent UUIDs stay nil


def test_create_errors(qimg):
    p = qimg.run("create", "-f", "vdi", "big.vdi", "2000T")
    assert p.returncode == 1
    assert p.stderr == ("qemu-img: big.vdi: Unsupported VDI image size (size is 0x7d00000000000, "
                        "max supported is 0x1fffff8000000)\n")
    assert os.path.getsize(qimg.path("big.vdi")) == 0  # qemu leaves the emptied file behind
    p = qimg.run("create", "-f", "vdi", "max.vdi", "9223372036854775807")
    assert p.stderr.endswith("(size is 0x8000000000000000, max supported is 0x1fffff8000000)\n")
    p = qimg.run("create", "-f", "vdi", "-o", "static=on", "s.vdi", "536870785M")
    assert p.returncode == 1 and "size is 0x1fffff8100000" in p.stderr
    p = qimg.run("create", "-f", "vdi", "-o", "static=foo", "f.vdi", "1M")
    assert (p.returncode, p.stderr) == (1, "qemu-img: f.vdi: Parameter 'static' expects 'on' or 'off'\n")
    assert not os.path.exists(qimg.path("f.vdi"))
    p = qimg.run("create", "-f", "vdi", "-o", "preallocation=metadata", "m.vdi", "1M")
    assert (p.returncode, p.stderr) == (1, "qemu-img: m.vdi: Unsupported preallocation mode: metadata\n")
    assert os.path.getsize(qimg.path("m.vdi")) == 0
    p = qimg.run("create", "-f", "vdi", "n.vdi")
    assert (p.returncode, p.stderr) == (1, "qemu-img: n.vdi: Image creation needs a size parameter\n")
    p = qimg.run("create", "-f", "vdi", "-o", "cluster_size=1M", "o.vdi", "1M")
    assert p.returncode == 1 and "Invalid parameter 'cluster_size'" in p.stderr


def test_convert_round_trip_and_layout(qimg):
    pattern_source(qimg)
    qimg.ok("convert", "-O", "vdi", "src.raw", "c.vdi")
    assert os.path.getsize(qimg.path("c.vdi")) == 5243904
    assert masked_sha256(qimg, "c.vdi") == "a12658f6fb8e3399e626ffcf3ee8e47c8e3077d97993b4b9fbf3178ca1556210"
    assert qimg.ok("map", "--output=json", "c.vdi").stdout == (
        '[{ "start": 0, "length": 2097152, "depth": 0, "present": true, "zero": false, "data": true, '
        '"compressed": false, "offset": 1024},\n'
        '{ "start": 2097152, "length": 3145728, "depth": 0, "present": true, "zero": true, "data": false, '
        '"compressed": false},\n'
        '{ "start": 5242880, "length": 3145728, "depth": 0, "present": true, "zero": false, "data": true, '
        '"compressed": false, "offset": 2098176}]\n')
    assert qimg.ok("map", "c.vdi").stdout == (
        "Offset          Length          Mapped to       File\n"
        "0               0x200000        0x400           c.vdi\n"
        "0x500000        0x300000        0x200400        c.vdi\n")
    qimg.ok("convert", "-O", "raw", "c.vdi", "back.raw")
    assert qimg.read("back.raw") == qimg.read("src.raw")
    assert qimg.ok("compare", "c.vdi", "src.raw").stdout == "Images are identical.\n"
    qimg.write("other.raw", 0, qimg.read("src.raw"))
    qimg.write("other.raw", 3 * MIB, b"\x01")
    p = qimg.run("compare", "c.vdi", "other.raw")
    assert (p.returncode, p.stdout) == (1, "Content mismatch at offset 3145728!\n")


def test_convert_static(qimg):
    pattern_source(qimg)
    qimg.ok("convert", "-O", "vdi", "-o", "static=on", "src.raw", "s.vdi")
    assert os.path.getsize(qimg.path("s.vdi")) == 8389632
    assert masked_sha256(qimg, "s.vdi") == "2a1c53fdd51a32ef5d8b3cbdaeb01dcff17a37c2059696e1a37a80e739f44738"
    extents = json.loads(qimg.ok("map", "--output=json", "s.vdi").stdout)
    # every block is allocated in place (offset = guest offset + 1024); holes of the file read as zeroes
    assert all(e["data"] and e["present"] and e["offset"] == e["start"] + 1024 for e in extents)
    assert extents[0]["zero"] is False and any(e["zero"] for e in extents)
    qimg.ok("convert", "-O", "raw", "s.vdi", "back.raw")
    assert qimg.read("back.raw") == qimg.read("src.raw")


def test_dynamic_blocks_over_file_holes_are_data(qimg):
    # qemu shows the file's holes as zeroes only in static images
    pattern_source(qimg)
    qimg.ok("convert", "-O", "vdi", "src.raw", "c.vdi")
    data = qimg.read("c.vdi")
    sparse_file(qimg.path("holes.vdi"), len(data), [(0, data[:0x1000]), (1024, data[1024:1024 + 65536])])
    first = json.loads(qimg.ok("map", "--output=json", "holes.vdi").stdout)[0]
    assert (first["length"], first["zero"], first["data"]) == (2097152, False, True)
    header = bytearray(data[:0x1000])
    header[0x4c:0x50] = struct.pack("<I", 2)
    sparse_file(qimg.path("static.vdi"), len(data), [(0, bytes(header)), (1024, data[1024:1024 + 65536])])
    first = json.loads(qimg.ok("map", "--output=json", "static.vdi").stdout)[0]
    assert first["length"] < 2097152 and first["zero"] is False


def test_info(qimg):
    pattern_source(qimg)
    qimg.ok("convert", "-O", "vdi", "src.raw", "c.vdi")
    human = qimg.ok("info", "c.vdi").stdout
    assert human.startswith("image: c.vdi\nfile format: vdi\nvirtual size: 8 MiB (8388608 bytes)\n")
    assert "cluster_size: 1048576\nChild node '/file':\n" in human
    info = json.loads(qimg.ok("info", "--output=json", "-f", "vdi", "c.vdi").stdout)
    assert (info["format"], info["virtual-size"], info["cluster-size"], info["dirty-flag"]) == (
        "vdi", 8388608, 1048576, False)
    assert "format-specific" not in info
    opts = qimg.ok("info", "--image-opts", "driver=vdi,file.filename=c.vdi").stdout
    assert opts == human
    p = qimg.run("info", "--image-opts", "driver=vdi,file.filename=c.vdi,foo=bar")
    assert (p.returncode, p.stderr) == (1, "qemu-img: Could not open 'driver=vdi,file.filename=c.vdi,foo=bar': "
                                           "Block format 'vdi' does not support the option 'foo'\n")


def test_disk_size_rounds_up_to_sectors(qimg):
    qimg.ok("create", "-q", "-f", "vdi", "r.vdi", "64M")
    patch(qimg, "r.vdi", 0x170, "Q", 0x3FF)
    info = json.loads(qimg.ok("info", "--output=json", "r.vdi").stdout)
    assert info["virtual-size"] == 1024


def test_open_checks(qimg):
    qimg.ok("create", "-q", "-f", "vdi", "base.vdi", "64M")
    base = qimg.read("base.vdi")
    cases = [
        (0x44, "I", 0x00010000, "unsupported VDI image (version 1.0)"),
        (0x154, "I", 0x201, "unsupported VDI image (unaligned block map offset 0x201)"),
        (0x158, "I", 0x401, "unsupported VDI image (unaligned data offset 0x401)"),
        (0x168, "I", 1024, "unsupported VDI image (sector size 1024 is not 512)"),
        (0x178, "I", 0x200000, "unsupported VDI image (block size 2097152 is not 1048576)"),
        (0x170, "Q", 0x8000000, "unsupported VDI image (disk size 134217728, image bitmap has room for 67108864)"),
        (0x180, "I", 0xFFFFFFFF, "unsupported VDI image (too many blocks 4294967295, max is 536870784)"),
        (0x1A8, "B", 1, "unsupported VDI image (non-NULL link UUID)"),
        (0x1B8, "B", 1, "unsupported VDI image (non-NULL parent UUID)"),
        (0x170, "Q", 0xFFFFFFFFFFFFFFFF,
         "Unsupported VDI image size (size is 0xffffffffffffffff, max supported is 0x1fffff8000000)"),
    ]
    for i, (offset, fmt, value, message) in enumerate(cases):
        name = f"bad{i}.vdi"
        qimg.write(name, 0, base)
        patch(qimg, name, offset, fmt, value)
        p = qimg.run("info", name)  # still probed as vdi: only the signature decides
        assert (p.returncode, p.stderr) == (1, f"qemu-img: Could not open '{name}': {message}\n"), name
    qimg.write("sig.vdi", 0, base)
    patch(qimg, "sig.vdi", 0x40, "I", 0xBEDA107E)
    assert "file format: raw" in qimg.ok("info", "sig.vdi").stdout
    p = qimg.run("info", "-f", "vdi", "sig.vdi")
    assert p.stderr == "qemu-img: Could not open 'sig.vdi': Image not in VDI format (bad signature beda107e)\n"


def damaged(qimg, patches, name="d.vdi"):
    pattern_source(qimg)
    qimg.ok("convert", "-O", "vdi", "src.raw", name)  # blocks 0, 1, 5, 6, 7 -> 0..4
    for offset, fmt, value in patches:
        patch(qimg, name, offset, fmt, value)
    return name


def test_check_clean_and_repair_refused(qimg):
    name = damaged(qimg, [])
    p = qimg.run("check", name)
    assert (p.returncode, p.stdout, p.stderr) == (0, "No errors were found on the image.\n", "")
    assert json.loads(qimg.ok("check", "--output=json", name).stdout) == {
        "filename": name, "format": "vdi", "check-errors": 0}
    before = qimg.read(name)
    for mode in ("leaks", "all"):
        p = qimg.run("check", "-r", mode, name)
        assert (p.returncode, p.stdout, p.stderr) == (63, "", "qemu-img: This image format does not support checks\n")
    assert qimg.read(name) == before


def test_check_findings(qimg):
    cases = [
        ([(0x204, "I", 0)], ["ERROR: block index 0 also used by 0"], 1),
        ([(0x214, "I", 1)], ["ERROR: block index 1 also used by 1"], 1),
        ([(0x184, "I", 4)], ["ERROR: allocated blocks mismatch, is 5, should be 4"], 1),
        ([(0x200, "I", 8)], ["ERROR: block index 0 too large, is 8", "ERROR: allocated blocks mismatch, is 4, should be 5"], 2),
        ([(0x200, "I", 0xFFFFFFFE)], ["ERROR: allocated blocks mismatch, is 4, should be 5"], 1),
        ([(0x200, "I", 7)], [], 0),  # an entry below blocks_in_image is fine even past the end of the file
    ]
    for i, (patches, lines, errors) in enumerate(cases):
        name = damaged(qimg, patches, f"d{i}.vdi")
        p = qimg.run("check", name)
        assert p.stderr == "".join(line + "\n" for line in lines), patches
        if errors:
            assert p.returncode == 2
            assert p.stdout == (f"\n{errors} errors were found on the image.\n"
                                "Data may be corrupted, or further writes to the image may corrupt it.\n")
            report = json.loads(qimg.run("check", "--output=json", name).stdout)
            assert report["corruptions"] == errors
        else:
            assert p.returncode == 0


def test_check_block_map_past_end_of_file(qimg):
    # entries past the end of the file read as 0: every one after the first uses block 0 again
    qimg.ok("create", "-q", "-f", "vdi", "t.vdi", "64M")
    with open(qimg.path("t.vdi"), "r+b") as fh:
        fh.truncate(512)
    p = qimg.run("check", "t.vdi")
    assert p.returncode == 2
    assert p.stderr == "ERROR: block index 0 also used by 0\n" * 63 + \
        "ERROR: allocated blocks mismatch, is 64, should be 0\n"


def test_write_allocates_blocks_in_order(qimg):
    # new blocks are appended in the order they are first written, each written whole; convert -n
    # writes every block of an existing target (zeroes included)
    qimg.ok("create", "-q", "-f", "vdi", "t.vdi", "4M")
    sparse_file(qimg.path("src.raw"), 4 * MIB, [(3 * MIB, b"\x33" * 4096), (MIB + 512, b"\x22" * 512)])
    qimg.ok("convert", "-f", "raw", "-O", "vdi", "src.raw", "c.vdi")
    data = qimg.read("c.vdi")
    assert struct.unpack_from("<4I", data, 0x200) == (0xFFFFFFFF, 0, 0xFFFFFFFF, 1)
    assert struct.unpack_from("<I", data, 0x184)[0] == 2
    assert len(data) == 1024 + 2 * MIB
    assert data[1024 + 512:1024 + 1024] == b"\x22" * 512 and data[1024:1024 + 512] == bytes(512)
    qimg.ok("convert", "-n", "-f", "raw", "-O", "vdi", "src.raw", "t.vdi")
    data = qimg.read("t.vdi")
    assert struct.unpack_from("<I", data, 0x184)[0] == 4
    assert struct.unpack_from("<4I", data, 0x200) == (0, 1, 2, 3)
    assert len(data) == 1024 + 4 * MIB


def test_block_map_rewritten_by_sector(qimg):
    # qemu writes the block map a sector at a time from memory: data that a damaged header places
    # over the block map is overwritten again by the map
    qimg.ok("create", "-q", "-f", "vdi", "t.vdi", "4M")
    patch(qimg, "t.vdi", 0x158, "I", 0x200)
    sparse_file(qimg.path("src.raw"), 4 * MIB, [(0, b"\x11" * 4096)])
    qimg.ok("convert", "-n", "-f", "raw", "-O", "vdi", "src.raw", "t.vdi")
    data = qimg.read("t.vdi")
    assert data[0x200:0x210] == struct.pack("<4I", 0, 1, 2, 3)
    assert data[0x210:0x400] == bytes(0x1f0)
    assert data[0x400:0x1200] == b"\x11" * 0xe00


def test_resize_and_measure_unsupported(qimg):
    qimg.ok("create", "-q", "-f", "vdi", "t.vdi", "64M")
    before = qimg.read("t.vdi")
    for args in (["t.vdi", "128M"], ["--shrink", "t.vdi", "32M"], ["-f", "vdi", "t.vdi", "+1M"]):
        p = qimg.run("resize", *args)
        assert (p.returncode, p.stderr) == (1, "qemu-img: Image format driver does not support resize\n")
    assert qimg.read("t.vdi") == before
    p = qimg.run("measure", "-O", "vdi", "--size", "1G")
    assert (p.returncode, p.stderr) == (1, "qemu-img: Block driver 'vdi' does not support size measurement\n")
    p = qimg.run("measure", "-O", "qcow2", "t.vdi")
    assert p.returncode == 0 and "required size: 327680\n" in p.stdout


def test_convert_copy_offload_falls_back_for_vdi(qimg):
    # qemu's vdi cannot offload copies (no copy_range): convert -C copies as plain convert does,
    # looking for zeroes, so the qed target matches the one made without -C (qemu-img 10.2.2).
    with open(qimg.path("s.raw"), "wb") as fh:
        fh.write(b"\xb7" * (1 << 20))
        fh.seek(241664)
        fh.write(bytes(4096))
    qimg.ok("convert", "-f", "raw", "-O", "vdi", "s.raw", "a.vdi")
    qimg.ok("convert", "-O", "qed", "a.vdi", "plain.qed")
    qimg.ok("convert", "-O", "qed", "-C", "a.vdi", "offload.qed")
    assert qimg.read("plain.qed") == qimg.read("offload.qed")
