# test_vhdx.py — the vhdx format end to end: create (every option and its errors), info, map, check,
# resize, measure, convert to and from, compare, probing, the open checks and log replay
# (spec/vhdx.md). Expected values were measured with qemu-img 10.2.2; image digests mask what qemu
# fills at random (header checksums, sequence numbers and GUIDs, the page 83 data, log entry
# checksums and log GUIDs).
import hashlib
import json
import os
import struct

from conftest import sparse_file

MIB = 1 << 20
HEADERS = (0x10000, 0x20000)


def crc32c(data):
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ (0x82F63B78 if c & 1 else 0)
        table.append(c)
    crc = 0xFFFFFFFF
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_sha256(qimg, name):
    d = bytearray(qimg.read(name))
    for h in HEADERS:
        d[h + 4:h + 0x30] = bytes(0x2c)
    metadata = struct.unpack("<Q", d[0x30040:0x30048])[0]
    d[metadata + 0x10010:metadata + 0x10020] = bytes(16)
    for off in range(MIB, 2 * MIB, 4096):
        if d[off:off + 4] == b"loge":
            d[off + 4:off + 8] = bytes(4)
            d[off + 32:off + 48] = bytes(16)
    return hashlib.sha256(d).hexdigest()


def pattern_source(qimg, name="pat.raw"):
    """64 MiB: 64 KiB of 0x11 at 0, 512 KiB of 0x22 at 1 MiB, 4 KiB of 0x55 at 8 MiB + 512, 1 MiB of
    0x44 at 40 MiB."""
    sparse_file(qimg.path(name), 64 * MIB, [(0, b"\x11" * 65536), (MIB, b"\x22" * 524288),
                                            (8 * MIB + 512, b"\x55" * 4096), (40 * MIB, b"\x44" * MIB)])


def u64(qimg, name, offset):
    return struct.unpack("<Q", qimg.read(name)[offset:offset + 8])[0]


def test_create_layouts_match_qemu(qimg):
    cases = [
        ("", "64M", 8388608, "38e55e1d18e95371c8fb4bc0bdc2e147f3db094b3650145484c60262ee0f8fb2"),
        ("", "0", 74448896, "5a37bb19783982fab795447ecf6232c43f7c421562e973fd99ed1a96b8f886aa"),
        ("", "65537", 8388608, "778ab2c3d08b2776120cc77003f20b8a308eac376ad233d1fbc7129a573763db"),
        ("block_size=1M", "64M", 8388608, "469d4a4e279560f2b6755479f70fad69596e0719c49c36a383a66ae8a7740c86"),
        ("log_size=3000000", "64M", 10485760, "b59ba0f887c4fba2cb9e6b5d2091985d5b908cf3376f352b0fdaac39b7035dad"),
        ("subformat=fixed", "16M", 25165824, "63cf6d400937b30b50a4e47b56eaaf495a749c113ea3a4e2c09f774c6b6ef62a"),
        ("subformat=fixed,block_state_zero=off", "16M", 25165824,
         "1cbb812fb54c471d53b53b27bdf22da496d03ed7878cb76b081a42aa181563a4"),
        ("block_state_zero=off", "64M", 8388608, "2d9165377418e6cef521056a06010b33f22ae24b18b217944c14848aa31d3a0d"),
        ("block_size=512M", "64M", 8388608, "9c231fec0b747761fe2b0931e3fbf609e923eab211c1b8e6b970e8fd1130bfa7"),
    ]
    for i, (options, size, length, digest) in enumerate(cases):
        name = f"c{i}.vhdx"
        qimg.ok("create", "-q", "-f", "vhdx", *(["-o", options] if options else []), name, size)
        assert os.path.getsize(qimg.path(name)) == length, (options, size)
        assert masked_sha256(qimg, name) == digest, (options, size)


def test_create_file_identifier_and_headers(qimg):
    qimg.ok("create", "-q", "-f", "vhdx", "t.vhdx", "64M")
    data = qimg.read("t.vhdx")
    assert data[:8] == b"vhdxfile"
    assert data[8:32] == "QEMU v10.2.2".encode("utf-16-le")
    for h in HEADERS:
        header = bytearray(data[h:h + 4096])
        checksum = struct.unpack("<I", header[4:8])[0]
        header[4:8] = bytes(4)
        assert header[:4] == b"head" and crc32c(bytes(header)) == checksum
        assert struct.unpack("<HHIQ", data[h + 64:h + 80]) == (0, 1, MIB, MIB)
    # the second header is current: its sequence number is one more
    assert u64(qimg, "t.vhdx", 0x20008) == u64(qimg, "t.vhdx", 0x10008) + 1


def test_create_block_size_auto(qimg):
    for size, block in [("1G", 8 * MIB), ("1073741825", 16 * MIB), ("100G", 16 * MIB), ("107374182401", 32 * MIB),
                        ("32T", 32 * MIB), ("35184372088833", 64 * MIB)]:
        qimg.ok("create", "-q", "-f", "vhdx", "a.vhdx", size)
        info = json.loads(qimg.ok("info", "--output=json", "a.vhdx").stdout)
        assert info["cluster-size"] == block, size
    for option, block in [("512k", MIB), ("1000", MIB), ("300M", 256 * MIB), ("1G", 256 * MIB)]:
        qimg.ok("create", "-q", "-f", "vhdx", "-o", "block_size=" + option, "b.vhdx", "64M")
        info = json.loads(qimg.ok("info", "--output=json", "b.vhdx").stdout)
        assert info["cluster-size"] == block, option


def test_create_formatting_line(qimg):
    p = qimg.ok("create", "-f", "vhdx", "-o", "block_size=1M,log_size=2M,subformat=fixed,block_state_zero=on", "x.vhdx",
                "1M")
    assert p.stdout == ("Formatting 'x.vhdx', fmt=vhdx size=1048576 log_size=2097152 block_size=1048576 "
                        "subformat=fixed block_state_zero=on\n")


def test_create_errors(qimg):
    cases = [("block_size=3M", "Block size must be a power of two"),
             ("log_size=0", "Log size must be a multiple of 1 MB"),
             ("log_size=4294967295", "Log size must be smaller than 4 GB"),
             ("log_size=5G,block_size=3M", "Log size must be smaller than 4 GB"),
             ("subformat=bogus", "Parameter 'subformat' does not accept value 'bogus'"),
             ("log_size=5G,subformat=bogus", "Parameter 'subformat' does not accept value 'bogus'")]
    for option, message in cases:
        name = option.replace("=", "-").replace(",", "_") + ".vhdx"
        p = qimg.run("create", "-q", "-f", "vhdx", "-o", option, name, "64M", check=1)
        assert p.stderr == f"qemu-img: {name}: {message}\n", option
        assert os.path.getsize(qimg.path(name)) == 0, option
    p = qimg.run("create", "-q", "-f", "vhdx", "-o", "log_size=5G", "big.vhdx", "100T", check=1)
    assert p.stderr == "qemu-img: big.vhdx: Image size too large; max of 64TB\n"
    p = qimg.run("create", "-q", "-f", "vhdx", "-o", "block_state_zero=maybe", "z.vhdx", "1M", check=1)
    assert p.stderr == "qemu-img: z.vhdx: Parameter 'block_state_zero' expects 'on' or 'off'\n"
    assert not os.path.exists(qimg.path("z.vhdx"))


def test_create_help(qimg):
    p = qimg.ok("create", "-f", "vhdx", "-o", "help")
    assert "  log_size=<size>        - Log size; min 1MB.\n" in p.stdout
    assert "  subformat=<str>        - VHDX format type, can be either 'dynamic' or 'fixed'. Default is 'dynamic'.\n" in \
        p.stdout


def test_convert_layouts_match_qemu(qimg):
    pattern_source(qimg)
    cases = [("", 33554432, "eb7aa97ae3763e788f5dbba0cf7941b3ae2dced510d6205b432bcf7315ef0e03"),
             ("subformat=fixed", 100663296, "c705053c923b86e6207678a1b84ef3ed178042f9f786bc194d03a7ca58f5010a"),
             ("block_size=1M", 12582912, "b9cb2e81854b34c216ca70fad063dcc58a723e5524bbc4ad9d5c742016344fd0"),
             ("block_state_zero=off", 33554432, "313517091dfbb6df0e9c0c69a5b2ca658af3516a13aeb14cf54bd88a239537dd")]
    for i, (options, length, digest) in enumerate(cases):
        name = f"o{i}.vhdx"
        qimg.ok("convert", "-f", "raw", "-O", "vhdx", *(["-o", options] if options else []), "pat.raw", name)
        assert os.path.getsize(qimg.path(name)) == length, options
        assert masked_sha256(qimg, name) == digest, options
        assert qimg.ok("compare", "-f", "raw", "pat.raw", name).stdout == "Images are identical.\n"


def test_info_map_check(qimg):
    pattern_source(qimg)
    qimg.ok("convert", "-f", "raw", "-O", "vhdx", "pat.raw", "t.vhdx")
    info = json.loads(qimg.ok("info", "--output=json", "t.vhdx").stdout)
    assert (info["format"], info["cluster-size"], info["virtual-size"], info["dirty-flag"]) == \
        ("vhdx", 8 * MIB, 64 * MIB, False)
    assert "format-specific" not in info
    human = qimg.ok("info", "t.vhdx").stdout
    assert "cluster_size: 8388608\n" in human and "Format specific" not in human
    # vhdx has no block status: everything is data, without offsets
    assert qimg.ok("map", "--output=json", "t.vhdx").stdout == (
        '[{ "start": 0, "length": 67108864, "depth": 0, "present": true, "zero": false, "data": true, '
        '"compressed": false}]\n')
    assert qimg.ok("check", "t.vhdx").stdout == "No errors were found on the image.\n"
    check = json.loads(qimg.ok("check", "--output=json", "t.vhdx").stdout)
    assert check == {"check-errors": 0, "filename": "t.vhdx", "format": "vhdx"}
    limits = json.loads(qimg.ok("info", "--output=json", "--limits", "t.vhdx").stdout)["limits"]
    assert limits["request-alignment"] == 512 and "discard-alignment" not in limits


def test_convert_from_vhdx(qimg):
    pattern_source(qimg)
    qimg.ok("convert", "-f", "raw", "-O", "vhdx", "pat.raw", "t.vhdx")
    qimg.ok("convert", "-O", "raw", "t.vhdx", "back.raw")
    assert qimg.read("back.raw") == qimg.read("pat.raw")
    qimg.ok("convert", "-O", "qcow2", "t.vhdx", "t.qcow2")
    assert qimg.ok("compare", "t.vhdx", "t.qcow2").stdout == "Images are identical.\n"


def test_resize_and_measure_unsupported(qimg):
    qimg.ok("create", "-q", "-f", "vhdx", "t.vhdx", "64M")
    before = qimg.read("t.vhdx")
    for args in (["t.vhdx", "128M"], ["--shrink", "t.vhdx", "32M"], ["-f", "vhdx", "t.vhdx", "+1M"]):
        p = qimg.run("resize", *args, check=1)
        assert p.stderr == "qemu-img: Image format driver does not support resize\n"
    assert qimg.read("t.vhdx") == before
    p = qimg.run("measure", "-O", "vhdx", "--size", "1G", check=1)
    assert p.stderr == "qemu-img: Block driver 'vhdx' does not support size measurement\n"


def reseal(qimg, name, offset, length):
    d = bytearray(qimg.read(name)[offset:offset + length])
    d[4:8] = bytes(4)
    qimg.write(name, offset + 4, struct.pack("<I", crc32c(bytes(d))))


def test_open_errors(qimg):
    qimg.ok("create", "-q", "-f", "vhdx", "base.vhdx", "64M")
    base = qimg.read("base.vhdx")

    def damaged(name, changes):
        with open(qimg.path(name), "wb") as fh:
            fh.write(base)
        for offset, raw in changes:
            qimg.write(name, offset, raw)
        return qimg.run("info", name)

    assert damaged("h1.vhdx", [(0x10000, b"x")]).returncode == 0  # the second header remains
    p = damaged("h2.vhdx", [(0x10000, b"x"), (0x20000, b"x")])
    assert p.stderr == "qemu-img: Could not open 'h2.vhdx': No valid VHDX header found\n"
    p = damaged("r.vhdx", [(0x30008, b"\x03")])
    assert p.stderr == "qemu-img: Could not open 'r.vhdx': Could not open 'r.vhdx': Invalid argument\n"
    p = damaged("bs.vhdx", [(0x310000, struct.pack("<I", 3 * MIB))])
    assert p.stderr == "qemu-img: Could not open 'bs.vhdx': Could not open 'bs.vhdx': Invalid argument\n"
    p = damaged("lss.vhdx", [(0x310020, struct.pack("<I", 4096))])
    assert p.stderr == "qemu-img: Could not open 'lss.vhdx': Could not open 'lss.vhdx': Operation not supported\n"
    p = damaged("req.vhdx", [(0x300020, b"\x38")])  # file parameters renamed: an unknown required item
    assert p.stderr == "qemu-img: Could not open 'req.vhdx': Could not open 'req.vhdx': Operation not supported\n"
    p = damaged("raw.vhdx", [(0, b"notvhdx!")])
    assert p.returncode == 0 and "file format: raw" in p.stdout


def test_bat_damage_reported_by_check(qimg):
    qimg.ok("create", "-q", "-f", "vhdx", "-o", "block_size=1M", "t.vhdx", "64M")
    length = os.path.getsize(qimg.path("t.vhdx"))
    qimg.write("t.vhdx", 0x200008, struct.pack("<Q", (100 << 20) | 6))
    qimg.write("t.vhdx", 0x200018, struct.pack("<Q", (2 << 20) | 6))
    p = qimg.run("check", "t.vhdx", check=2)
    assert p.stderr == (
        f"qemu-img: VHDX BAT entry 1 start offset 104857600 points after end of file ({length}). "
        "Image has probably been truncated.\n"
        "qemu-img: VHDX region 2097152-3145728 overlaps with region 2097152-3145728\n")
    assert p.stdout == ("\n2 errors were found on the image.\n"
                        "Data may be corrupted, or further writes to the image may corrupt it.\n")
    p = qimg.run("info", "t.vhdx", check=1)
    assert p.stderr.endswith("qemu-img: Could not open 't.vhdx': Could not open 't.vhdx': Invalid argument\n")
    assert p.stderr.count("VHDX") == 1  # open stops at the first finding


def test_block_states(qimg):
    pattern_source(qimg)
    qimg.ok("convert", "-f", "raw", "-O", "vhdx", "pat.raw", "t.vhdx")
    entry = u64(qimg, "t.vhdx", 0x200000)
    # partially present blocks (and state 4) cannot be read; the other absent states read as zeroes
    for state, readable in [(7, False), (4, False), (1, True), (3, True), (5, True), (0, True)]:
        qimg.write("t.vhdx", 0x200000, struct.pack("<Q", (entry & ~7) | state))
        p = qimg.run("convert", "-O", "raw", "t.vhdx", "out.raw")
        if readable:
            assert p.returncode == 0, state
            assert qimg.read("out.raw")[:65536] == bytes(65536), state
        else:
            assert p.returncode == 1 and "error while reading at byte 0: Input/output error" in p.stderr, state


def dirty_log_image(qimg, name):
    """A converted image whose headers name the GUID of its (already applied) first log entry."""
    pattern_source(qimg)
    qimg.ok("convert", "-f", "raw", "-O", "vhdx", "pat.raw", name)
    data = qimg.read(name)
    assert data[MIB:MIB + 4] == b"loge"
    guid = data[MIB + 32:MIB + 48]
    for h in HEADERS:
        qimg.write(name, h + 48, guid)
        reseal(qimg, name, h, 4096)


def test_dirty_log_refused_read_only_and_replayed_by_repair(qimg):
    dirty_log_image(qimg, "d.vhdx")
    before = qimg.read("d.vhdx")
    message = ("qemu-img: Could not open 'd.vhdx': VHDX image file 'd.vhdx' opened read-only, but contains a log "
               "that needs to be replayed\nTo replay the log, run:\nqemu-img check -r all 'd.vhdx'\n")
    assert qimg.run("info", "d.vhdx", check=1).stderr == message
    assert qimg.run("check", "d.vhdx", check=1).stderr == message
    assert qimg.read("d.vhdx") == before
    p = qimg.ok("check", "-r", "all", "d.vhdx")
    assert p.stdout == ("The following inconsistencies were found and repaired:\n\n    0 leaked clusters\n"
                        "    1 corruptions\n\nDouble checking the fixed image now...\nNo errors were found on the image.\n")
    data = qimg.read("d.vhdx")
    assert data[0x10030:0x10040] == bytes(16) and data[0x20030:0x20040] == bytes(16)
    # the replayed entry holds the BAT sector as it was after the first allocation: the blocks
    # allocated later read as zeroes again (qemu 10.2 does the same)
    p = qimg.run("compare", "-f", "raw", "pat.raw", "d.vhdx", check=1)
    assert p.stdout == "Content mismatch at offset 8389120!\n"


def test_dirty_log_with_bad_checksum_is_ignored(qimg):
    dirty_log_image(qimg, "d.vhdx")
    qimg.write("d.vhdx", MIB + 4, b"\0\0\0\0")
    assert qimg.ok("check", "d.vhdx").stdout == "No errors were found on the image.\n"


def test_log_wraps_around(qimg):
    # 200 blocks of 1 MiB each allocate once: the 1 MiB log holds 128 entries of 8 KiB and wraps
    chunks = [(i * MIB, bytes([i % 250 + 1]) * 4096) for i in range(200)]
    sparse_file(qimg.path("big.raw"), 200 * MIB, chunks)
    qimg.ok("convert", "-f", "raw", "-O", "vhdx", "-o", "block_size=1M", "big.raw", "big.vhdx")
    data = qimg.read("big.vhdx")
    # entry 129 (sequence 0x81) starts the log again; entry 192 lies at 0x7e000, its own tail
    assert data[MIB:MIB + 4] == b"loge" and struct.unpack("<Q", data[MIB + 16:MIB + 24])[0] == 0x81
    assert struct.unpack("<IIQ", data[MIB + 0x7e000 + 8:MIB + 0x7e000 + 24]) == (0x2000, 0x7e000, 0xc0)
    assert qimg.ok("compare", "-f", "raw", "big.raw", "big.vhdx").stdout == "Images are identical.\n"


def data_ranges(path):
    """The (start, end) ranges the file system holds data for (SEEK_DATA/SEEK_HOLE)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size, offset, out = os.fstat(fd).st_size, 0, []
        while offset < size:
            try:
                start = os.lseek(fd, offset, os.SEEK_DATA)
            except OSError:
                break
            end = os.lseek(fd, start, os.SEEK_HOLE)
            out.append((start, end))
            offset = end
        return out
    finally:
        os.close(fd)


def test_create_writes_what_qemu_writes(qimg):
    head = [(0, 0x1000), (0x10000, 0x11000), (0x20000, 0x21000), (0x30000, 0x50000)]
    cases = [("", "16M", head + [(0x200000, 0x311000)]),
             ("block_state_zero=off", "16M", head + [(0x300000, 0x311000)]),
             ("", "0", head + [(0x200000, 0x4211000)])]
    for i, (options, size, ranges) in enumerate(cases):
        name = f"h{i}.vhdx"
        qimg.ok("create", "-q", "-f", "vhdx", *(["-o", options] if options else []), name, size)
        got = data_ranges(qimg.path(name))
        if len(got) > 1 and got[0][1] - got[0][0] > 0x1000 and got[0][0] == 0:
            return  # the file system does not report holes at this granularity
        assert got == ranges, (options, size)


def test_stale_log_guid_kept_and_refuses_allocation(qimg):
    # a log GUID in the headers without any valid entry: nothing to replay, the GUID stays through a
    # write in place, and a write that needs a BAT update fails (qemu 10.2 measured)
    qimg.ok("create", "-q", "-f", "vhdx", "t.vhdx", "64M")
    sparse_file(qimg.path("one.raw"), 64 * 1024, [(0, b"\x01" * 65536)])
    qimg.ok("convert", "-n", "-f", "raw", "-O", "vhdx", "one.raw", "t.vhdx")
    for h in HEADERS:
        qimg.write("t.vhdx", h + 48, b"\x01")
        reseal(qimg, "t.vhdx", h, 4096)
    assert qimg.ok("check", "t.vhdx").stdout == "No errors were found on the image.\n"
    qimg.ok("convert", "-n", "-f", "raw", "-O", "vhdx", "one.raw", "t.vhdx")
    data = qimg.read("t.vhdx")
    assert data[0x10030] == 1 and data[0x20030] == 1
    sparse_file(qimg.path("far.raw"), 64 * MIB, [(20 * MIB, b"\x02" * 4096)])
    p = qimg.run("convert", "-n", "-f", "raw", "-O", "vhdx", "far.raw", "t.vhdx", check=1)
    assert p.stderr == "qemu-img: error while writing at byte 0: Operation not supported\n"


def two_entry_log_image(path):
    """A compact image (tools/fuzzseeds/vhdx.py's layout, BAT at 0x40000) whose log at 1 MiB holds two
    entries of one log GUID: sequence 5 rewrites the BAT sector (block 0 present at 3 MiB, block 3
    at 4 MiB), sequence 6 writes 4 KiB of 0x77 at 3 MiB and zeroes 8 KiB after it."""
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
    from fuzzseeds import vhdx as seeds
    guid = bytes(range(0x40, 0x50))
    d = seeds.image([2, 2, 2, 2], total=MIB)
    seeds.header(d, 0x10000, 10, guid)
    seeds.header(d, 0x20000, 11, guid)

    def entry(seq, descriptors, tail):
        data_count = sum(1 for kind, _, _ in descriptors if kind == "desc")
        e = bytearray(4096 * (1 + data_count))
        e[0:4] = b"loge"
        struct.pack_into("<IIQI", e, 8, len(e), tail, seq, len(descriptors))
        e[32:48] = guid
        struct.pack_into("<QQ", e, 48, 2 * MIB, 2 * MIB)
        sector_index = 1
        for i, (kind, offset, payload) in enumerate(descriptors):
            p = 64 + 32 * i
            if kind == "desc":
                e[p:p + 4] = b"desc"
                e[p + 4:p + 8] = payload[4092:4096]
                e[p + 8:p + 16] = payload[0:8]
                struct.pack_into("<QQ", e, p + 16, offset, seq)
                s = 4096 * sector_index
                e[s:s + 4] = b"data"
                struct.pack_into("<I", e, s + 4, seq >> 32)
                e[s + 8:s + 4092] = payload[8:4092]
                struct.pack_into("<I", e, s + 4092, seq & 0xFFFFFFFF)
                sector_index += 1
            else:
                e[p:p + 4] = b"zero"
                struct.pack_into("<QQQ", e, p + 8, payload, offset, seq)
        seeds.seal(e, 0, len(e))
        return e

    bat = bytearray(4096)
    struct.pack_into("<QQQQ", bat, 0, (3 << 20) | 6, 2, 0, (4 << 20) | 6)
    first = entry(5, [("desc", 0x40000, bat)], 0)
    second = entry(6, [("desc", 3 * MIB, b"\x77" * 4096), ("zero", 3 * MIB + 4096, 8192)], len(first))
    d = bytearray(d) + bytearray(MIB)
    d[MIB:MIB + len(first) + len(second)] = first + second
    with open(path, "wb") as fh:
        fh.write(d)


def test_log_replay_of_two_entries(qimg):
    two_entry_log_image(qimg.path("l.vhdx"))
    p = qimg.run("check", "-r", "all", "l.vhdx", check=2)
    bat_errors = ("qemu-img: VHDX BAT entry 0 end offset 4194303 points after end of file (3158016). Image has "
                  "probably been truncated.\n"
                  "qemu-img: VHDX BAT entry 3 start offset 4194304 points after end of file (3158016). Image has "
                  "probably been truncated.\n")
    assert p.stderr == bat_errors * 2
    assert p.stdout == ("The following inconsistencies were found and repaired:\n\n    0 leaked clusters\n"
                        "    1 corruptions\n\nDouble checking the fixed image now...\n\n2 errors were found on the "
                        "image.\nData may be corrupted, or further writes to the image may corrupt it.\n")
    data = qimg.read("l.vhdx")
    assert len(data) == 3158016  # the zero range reached 3 MiB + 12 KiB
    # both entries were applied, although the second one's tail points at itself
    assert struct.unpack("<QQ", data[0x40000:0x40010]) == ((3 << 20) | 6, 2)
    assert data[3 * MIB:3 * MIB + 4096] == b"\x77" * 4096
    assert data[0x10030:0x10040] == bytes(16)


def test_log_replay_refused_when_flushed_size_exceeds_file(qimg):
    two_entry_log_image(qimg.path("l.vhdx"))
    with open(qimg.path("l.vhdx"), "r+b") as fh:
        fh.truncate(MIB + 0x4000)  # the entries say 2 MiB were flushed
    p = qimg.run("check", "-r", "all", "l.vhdx", check=1)
    assert p.stderr == "qemu-img: Could not open 'l.vhdx': Could not open 'l.vhdx': Invalid argument\n"
    data = qimg.read("l.vhdx")
    assert data[0x10030:0x10040] == bytes(range(0x40, 0x50))  # still dirty


def test_header_choice(qimg):
    qimg.ok("create", "-q", "-f", "vhdx", "base.vhdx", "64M")
    base = qimg.read("base.vhdx")
    refused = "qemu-img: Could not open '{0}': No valid VHDX header found\n"

    def variant(name, change):
        with open(qimg.path(name), "wb") as fh:
            fh.write(base)
        change(name)
        return qimg.run("info", name)

    # identical copies with one sequence number open; differing ones with one number do not
    p = variant("same.vhdx", lambda n: qimg.write(n, 0x20000, base[0x10000:0x11000]))
    assert p.returncode == 0

    def equal_numbers(n):
        # a fresh image's two headers differ only in their sequence numbers: give the second one
        # another data write GUID too
        qimg.write(n, 0x20000 + 32, b"\x99")
        for h in HEADERS:
            qimg.write(n, h + 8, struct.pack("<Q", 5))
            reseal(qimg, n, h, 4096)
    assert variant("equal.vhdx", equal_numbers).stderr == refused.format("equal.vhdx")

    def log_version(n):
        for h in HEADERS:
            qimg.write(n, h + 64, struct.pack("<H", 1))
            reseal(qimg, n, h, 4096)
    p = variant("logver.vhdx", log_version)
    assert p.stderr == "qemu-img: Could not open 'logver.vhdx': Could not open 'logver.vhdx': Invalid argument\n"
