# test_parallels.py — the parallels format through every command: create (options and errors, exact
# layouts), info, map, check and its repairs, resize, measure, convert both ways, compare, old-format
# and format-extension images (spec/parallels.md). Expected values were measured with qemu-img 10.2.2.
import hashlib
import json
import os
import struct

from conftest import sparse_file

MIB = 1 << 20
INUSE_OPEN = 0x746F6E59


def sha256(qimg, name):
    return hashlib.sha256(qimg.read(name)).hexdigest()


def header(qimg, name):
    """The decoded 64-byte header: magic, version, heads, cylinders, tracks, bat, sectors, inuse,
    data_off, flags, ext_off."""
    return struct.unpack("<16sIIIIIQIIIQ", qimg.read(name)[:64])


def set_field(qimg, name, offset, fmt, value):
    qimg.write(name, offset, struct.pack("<" + fmt, value))


def pattern(qimg, name="src.raw"):
    """8 MiB of raw data at 0 (256 KiB), 3 MiB (4 KiB) and 5 MiB (64 KiB)."""
    sparse_file(qimg.path(name), 8 * MIB, [(0, b"\x5a" * (256 << 10)), (5 * MIB, b"\x6b" * (64 << 10)),
                                           (3 * MIB, b"\x01" * 4096)])


def converted(qimg, *options):
    pattern(qimg)
    qimg.ok("convert", "-f", "raw", "-O", "parallels", *options, "src.raw", "a.par")
    return "a.par"


# ---- create ----

def test_create_default_layout(qimg):
    p = qimg.ok("create", "-f", "parallels", "t.img", "64M")
    assert p.stdout == "Formatting 't.img', fmt=parallels size=67108864 cluster_size=1048576\n"
    assert os.path.getsize(qimg.path("t.img")) == MIB
    assert header(qimg, "t.img") == (b"WithouFreSpacExt", 2, 16, 256, 2048, 64, 131072, 0, 2048, 0, 0)
    assert qimg.read("t.img")[64:] == bytes(MIB - 64)


def test_create_cluster_sizes(qimg):
    # (option, file length, tracks, data_off): sizes round up to 512, data_off to the cluster
    cases = [("4k", 69632, 8, 0x88), ("512", 524800, 1, 0x401), ("256", 524800, 1, 0x401),
             ("1000", 263168, 2, 0x202), ("3k", 89088, 6, 0xae), ("1536", 175104, 3, 0x156)]
    for option, length, tracks, data_off in cases:
        name = f"c{option}.img"
        qimg.ok("create", "-q", "-f", "parallels", "-o", f"cluster_size={option}", name, "64M")
        assert os.path.getsize(qimg.path(name)) == length, option
        h = header(qimg, name)
        assert (h[4], h[8]) == (tracks, data_off), option


def test_create_sizes(qimg):
    # the data offset is computed in 32 bits: a huge BAT wraps and the file stays small
    cases = [("100T", [], 420478976), ("2P", [], MIB), ("1500T", [], 1997537280), ("65537", [], MIB),
             ("0", [], MIB), ("2199023255040", ["-o", "cluster_size=512"], 512)]
    for size, options, length in cases:
        name = f"s{len(os.listdir(qimg.dir))}.img"
        qimg.ok("create", "-q", "-f", "parallels", *options, name, size)
        assert os.path.getsize(qimg.path(name)) == length, size
    info = json.loads(qimg.ok("info", "--output=json", "-f", "parallels", "s3.img").stdout)
    assert info["virtual-size"] == 66048


def test_create_errors(qimg):
    cases = [("cluster_size=2G", "Cluster size is too large", True),
             ("cluster_size=2147483137", "Cluster size is too large", True),
             ("cluster_size=0", "Image size is too large for this cluster size", True),
             ("preallocation=metadata", "Unsupported preallocation mode: metadata", True),
             ("preallocation=bogus", "invalid parameter value: bogus", False)]
    for option, message, file_left in cases:
        name = option.replace("=", "-") + ".img"
        p = qimg.run("create", "-q", "-f", "parallels", "-o", option, name, "64M", check=1)
        assert p.stderr == f"qemu-img: {name}: {message}\n"
        assert os.path.exists(qimg.path(name)) == file_left, option
        if file_left:
            assert os.path.getsize(qimg.path(name)) == 0
    p = qimg.run("create", "-q", "-f", "parallels", "-o", "cluster_size=512", "big.img", "2T", check=1)
    assert p.stderr == "qemu-img: big.img: Image size is too large for this cluster size\n"
    p = qimg.run("create", "-q", "-f", "parallels", "-b", "base.img", "-F", "raw", "x.img", "1M", check=1)
    assert p.stderr == "qemu-img: x.img: Backing file not supported for file format 'parallels'\n"


def test_create_preallocation_changes_nothing(qimg):
    for mode in ("off", "falloc", "full"):
        qimg.ok("create", "-q", "-f", "parallels", "-o", f"preallocation={mode}", f"{mode}.img", "64M")
        assert os.path.getsize(qimg.path(f"{mode}.img")) == MIB
    assert "cluster_size=<size>" in qimg.ok("create", "-f", "parallels", "-o", "help").stdout


# ---- info, map, probe ----

def test_info_and_probe(qimg):
    name = converted(qimg)
    human = qimg.ok("info", name).stdout
    assert "file format: parallels\nvirtual size: 8 MiB (8388608 bytes)\n" in human
    assert "cluster_size" not in human and "Format specific" not in human
    info = json.loads(qimg.ok("info", "--output=json", name).stdout)
    assert info["format"] == "parallels" and info["virtual-size"] == 8 * MIB
    assert "cluster-size" not in info and "dirty-flag" not in info and "format-specific" not in info
    assert info["children"][0]["info"]["virtual-size"] == 4 * MIB


def test_convert_layout_and_map(qimg):
    name = converted(qimg)
    assert os.path.getsize(qimg.path(name)) == 4 * MIB
    assert sha256(qimg, name) == "6affaedb32841ba8a36f160afff1f34320e1a0a79bef165df00795888e69830d"
    entries = json.loads(qimg.ok("map", "--output=json", name).stdout)
    allocated = [(e["start"], e["length"], e["offset"]) for e in entries if e["data"]]
    assert allocated == [(0, MIB, MIB), (3 * MIB, MIB, 2 * MIB), (5 * MIB, MIB, 3 * MIB)]
    assert all(e["zero"] and not e["present"] for e in entries if not e["data"])


def test_convert_small_clusters(qimg):
    name = converted(qimg, "-o", "cluster_size=4k")
    assert os.path.getsize(qimg.path(name)) == 344064
    assert sha256(qimg, name) == "749975182879a8e261e96155279b7720cac51e8689a03c208ede66b3b7d45d76"
    check = json.loads(qimg.ok("check", "--output=json", name).stdout)
    assert check["image-end-offset"] == 344064 and check["total-clusters"] == 2048
    assert check["allocated-clusters"] == 81


def test_convert_from_parallels(qimg):
    name = converted(qimg)
    qimg.ok("convert", "-O", "raw", name, "back.raw")
    assert qimg.read("back.raw") == qimg.read("src.raw")
    qimg.ok("convert", "-O", "qcow2", name, "a.qcow2")
    assert sha256(qimg, "a.qcow2") == "98cb1fefc2c4a78ed8f4337356b537da4ad77231e122c94d050b993b77daf7bf"
    assert qimg.ok("compare", name, "src.raw").stdout == "Images are identical.\n"
    assert qimg.ok("compare", "-f", "parallels", "-F", "qcow2", name, "a.qcow2").stdout == "Images are identical.\n"
    qimg.write("src.raw", 7 * MIB, b"\x01")
    p = qimg.run("compare", name, "src.raw", check=1)
    assert p.stdout == "Content mismatch at offset 7340032!\n"


# ---- check ----

def test_check_clean(qimg):
    name = converted(qimg)
    p = qimg.ok("check", name)
    assert p.stdout == ("No errors were found on the image.\n"
                        "3/8 = 37.50% allocated, 0.00% fragmented, 0.00% compressed clusters\n"
                        "Image end offset: 4194304\n")
    assert qimg.ok("check", "-q", name).stdout == ""


def test_check_dirty(qimg):
    name = converted(qimg)
    set_field(qimg, name, 44, "I", INUSE_OPEN)
    p = qimg.run("check", name, check=2)
    assert p.stderr == "ERROR image was not closed correctly\n"
    p = qimg.run("check", "-r", "leaks", name, check=2)
    assert header(qimg, name)[7] == 0  # the close marks it closed all the same
    set_field(qimg, name, 44, "I", INUSE_OPEN)
    p = qimg.ok("check", "-r", "all", name)
    assert p.stderr == "Repairing image was not closed correctly\n"
    assert "    0 leaked clusters\n    1 corruptions\n" in p.stdout


def test_check_data_off(qimg):
    name = converted(qimg)
    set_field(qimg, name, 48, "I", 0)
    p = qimg.run("check", name, check=2)
    assert p.stderr == "ERROR data_off field has incorrect value\n"
    qimg.run("check", "-r", "leaks", name, check=2)
    assert header(qimg, name)[8] == 0
    qimg.ok("check", "-r", "all", name)
    assert header(qimg, name)[8] == 2048


def test_check_leak(qimg):
    name = converted(qimg)
    with open(qimg.path(name), "r+b") as fh:
        fh.truncate(5 * MIB + 512)
    p = qimg.run("check", name, check=3)
    assert p.stderr == "ERROR space leaked at the end of the image 1049088\n"
    assert "2 leaked clusters were found on the image." in p.stdout
    p = qimg.ok("check", "-r", "leaks", name)
    assert p.stderr == "Repairing space leaked at the end of the image 1049088\n"
    assert os.path.getsize(qimg.path(name)) == 4 * MIB


def test_check_duplicate(qimg):
    name = converted(qimg)
    # entry 3 (guest 3 MiB) points at entry 0's cluster; entry 5 follows, so the check completes
    set_field(qimg, name, 64 + 4 * 3, "I", 1)
    p = qimg.run("check", name, check=2)
    assert p.stderr == "ERROR duplicate offset in BAT entry 3\n"
    assert "3/8 = 37.50% allocated" in p.stdout
    p = qimg.ok("check", "-r", "all", name)
    assert p.stderr == "Repairing duplicate offset in BAT entry 3\n"
    # the copy of cluster 1 went to the free cluster 2: guest 3 MiB now reads guest 0's data
    assert struct.unpack("<I", qimg.read(name)[64 + 12:64 + 16])[0] == 2
    assert qimg.read(name)[2 * MIB:2 * MIB + 16] == b"\x5a" * 16


def test_check_duplicate_last_fails(qimg):
    # qemu 10.2: an unrepaired duplicate as the last allocated entry fails the check
    name = converted(qimg)
    set_field(qimg, name, 64 + 4 * 5, "I", 1)
    p = qimg.run("check", name, check=1)
    assert p.stdout == ""
    assert p.stderr.endswith("ERROR duplicate offset in BAT entry 5\nqemu-img: Check failed: Device or resource busy\n")


def test_check_outside_repaired(qimg):
    name = converted(qimg)
    set_field(qimg, name, 64, "I", 100)
    p = qimg.ok("check", "-r", "all", name)
    assert p.stderr == "Repairing cluster 0 is outside image\n"
    assert "2/8 = 25.00% allocated" in p.stdout


# ---- open ----

def test_open_errors(qimg):
    name = converted(qimg)
    cases = [(28, "I", 0, "Invalid image: Zero sectors per track"), (28, "I", 0x3fe010, "Invalid image: Too big cluster"),
             (32, "I", 0x20000000, "Catalog too large"),
             (36, "Q", 0x3fffffffe00001, "Could not refresh total sector count: File too large")]
    original = qimg.read(name)
    for offset, fmt, value, message in cases:
        qimg.write(name, 0, original)
        set_field(qimg, name, offset, fmt, value)
        p = qimg.run("info", name, check=1)
        assert p.stderr == f"qemu-img: Could not open '{name}': {message}\n"
    qimg.write(name, 0, original)
    set_field(qimg, name, 16, "I", 3)
    p = qimg.run("info", "-f", "parallels", name, check=1)
    assert p.stderr == f"qemu-img: Could not open '{name}': Image not in Parallels format\n"
    assert "file format: raw" in qimg.ok("info", name).stdout


def test_open_options(qimg):
    name = converted(qimg)
    p = qimg.run("info", "--image-opts", f"driver=parallels,file.filename={name},foo=1", check=1)
    assert "Block format 'parallels' does not support the option 'foo'" in p.stderr
    qimg.ok("info", "--image-opts", f"driver=parallels,file.filename={name},prealloc-mode=truncate")


def test_read_write_open_repairs(qimg):
    name = converted(qimg)
    set_field(qimg, name, 44, "I", INUSE_OPEN)
    with open(qimg.path(name), "r+b") as fh:
        fh.truncate(6 * MIB)
    p = qimg.run("resize", name, "16M", check=1)
    assert p.stderr == ("Repairing image was not closed correctly\n"
                        "Repairing space leaked at the end of the image 2097152\n"
                        "qemu-img: Image format driver does not support resize\n")
    assert os.path.getsize(qimg.path(name)) == 4 * MIB and header(qimg, name)[7] == 0


def test_resize_and_measure_unsupported(qimg):
    name = converted(qimg)
    before = qimg.read(name)
    p = qimg.run("resize", name, "16M", check=1)
    assert p.stderr == "qemu-img: Image format driver does not support resize\n"
    assert qimg.read(name) == before
    p = qimg.run("measure", "-O", "parallels", "--size", "1G", check=1)
    assert p.stderr == "qemu-img: Block driver 'parallels' does not support size measurement\n"


# ---- old format and format extension ----

def old_image(qimg, name):
    """An old-format image: BAT in sectors, 64 KiB clusters, data_off 0 (allowed for old images)."""
    h = struct.pack("<16sIIIIIQIIIQ", b"WithoutFreeSpace", 2, 16, 8, 128, 32, 4096, 0, 0, 0, 0)
    bat = struct.pack("<32I", 128, 256, *([0] * 30))
    qimg.write(name, 0, (h + bat).ljust(64 << 10, b"\0") + b"\x11" * (64 << 10) + b"\x22" * (64 << 10))


def test_old_format(qimg):
    old_image(qimg, "old.img")
    info = json.loads(qimg.ok("info", "--output=json", "old.img").stdout)
    assert info["format"] == "parallels" and info["virtual-size"] == 2 * MIB
    entries = json.loads(qimg.ok("map", "--output=json", "old.img").stdout)
    assert (entries[0]["length"], entries[0]["offset"]) == (128 << 10, 64 << 10)
    assert qimg.ok("check", "old.img").stdout.startswith("No errors were found on the image.\n2/32")


def bitmap_image(qimg, name, corrupt_checksum=False):
    tracks, cluster = 8, 4096
    h = struct.pack("<16sIIIIIQIIIQ", b"WithouFreSpacExt", 2, 16, 0, tracks, 8, 64, 0x312E3276, 8, 0, 3 * tracks)
    feature = struct.pack("<QQII", 0x20385FAE252CB34A, 0, 40, 0)
    bitmap = struct.pack("<Q", 64) + bytes(16) + struct.pack("<IIQ", 8, 1, 2 * tracks)
    body = (feature + bitmap + bytes(24)).ljust(cluster - 24, b"\0")
    digest = hashlib.md5(body).digest() if not corrupt_checksum else bytes(16)
    ext = struct.pack("<Q", 0xAB234CEF23DCEA87) + digest + body
    bat = struct.pack("<8I", 1, *([0] * 7))
    qimg.write(name, 0, (h + bat).ljust(cluster, b"\0") + b"\x44" * cluster + bytes(cluster) + ext)


def test_format_extension(qimg):
    bitmap_image(qimg, "bm.img")
    p = qimg.run("check", "bm.img", check=3)
    assert p.stderr == "ERROR space leaked at the end of the image 8192\n"
    p = qimg.ok("check", "-r", "leaks", "bm.img")
    assert p.stderr.startswith("qemu-img: warning: Format Extension ignored in RW mode\n")
    assert os.path.getsize(qimg.path("bm.img")) == 8192
    bitmap_image(qimg, "bad.img", corrupt_checksum=True)
    p = qimg.run("info", "bad.img", check=1)
    assert p.stderr == ("qemu-img: Could not open 'bad.img': Wrong checksum in Format Extension header. "
                        "Format extension is corrupted.\n")


# ---- commands that fail with the image open ----

def test_rebase_refused_without_driver_info(qimg):
    # qemu's parallels has no driver info: rebase stops there, even with -u, and closes the image.
    qimg.ok("create", "-q", "-f", "parallels", "r.par", "1M")
    before = qimg.read("r.par")
    for args in (["-u", "-b", ""], ["-b", "r.par", "-F", "parallels"]):
        p = qimg.run("rebase", "-f", "parallels", *args, "r.par", check=1)
        assert p.stderr == "qemu-img: could not get block driver info\n"
    assert qimg.read("r.par") == before


def test_failed_commit_and_bitmap_leave_the_image_open(qimg):
    # qemu-img exits with the image still open: the in-use mark stays and the file is not trimmed.
    for name, args, message in (
            ("c.par", ["commit", "-f", "parallels"], "qemu-img: Image does not have a backing file\n"),
            ("b.par", ["bitmap", "--remove", "-f", "parallels"],
             "qemu-img: Operation remove on bitmap nosuch failed: Dirty bitmap 'nosuch' not found\n")):
        qimg.ok("create", "-q", "-f", "parallels", name, "1M")
        extra = ["nosuch"] if args[0] == "bitmap" else []
        p = qimg.run(*args, name, *extra, check=1)
        assert p.stderr == message
        assert os.path.getsize(qimg.path(name)) == MIB
        assert header(qimg, name)[7] == INUSE_OPEN


def test_open_refuses_extension_offset_past_int64(qimg):
    # qemu-img 10.2.2: an ext_off of INT64_MAX >> 9 sectors or more is refused, read-write too, before
    # the extension (or its RW-mode warning) is looked at. Below that, an extension cluster ending past
    # qemu's largest request end (INT64_MAX rounded down to 1 GiB) cannot be read, and one inside it but
    # past the end of the file reads as zeroes.
    qimg.ok("create", "-q", "-f", "parallels", "e.par", "1M")
    set_field(qimg, "e.par", 56, "Q", (1 << 54) - 1)
    p = qimg.run("info", "e.par", check=1)
    assert p.stderr == "qemu-img: Could not open 'e.par': Invalid image: Too big offset\n"
    p = qimg.run("check", "-r", "all", "e.par", check=1)
    assert "Invalid image: Too big offset" in p.stderr and "RW mode" not in p.stderr
    for ext_off, message in ((0x3fffffffdff801, "Failed to read Format Extension cluster: Input/output error"),
                             (0x3fffffffdff800, "Wrong parallels Format Extension magic: 0x0, expected: "
                                                "0xab234cef23dcea87")):
        set_field(qimg, "e.par", 56, "Q", ext_off)
        p = qimg.run("info", "e.par", check=1)
        assert p.stderr == f"qemu-img: Could not open 'e.par': {message}\n"

