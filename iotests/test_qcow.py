# test_qcow.py — the qcow (version 1) driver against qemu-img 10.2.2's observed behaviour: create layouts
# and errors, info, map, check/resize/measure refusals, convert to/from (plain and compressed), compare,
# commit, header checks on open (spec/qcow.md). Every expected value was measured with the oracle.
import hashlib
import json
import os
import struct

from conftest import incompressible


def sha256(qimg, name):
    return hashlib.sha256(qimg.read(name)).hexdigest()


def pattern_file(qimg, name, size, spans):
    with open(qimg.path(name), "wb") as fh:
        fh.truncate(size)
        for offset, length, value in spans:
            fh.seek(offset)
            fh.write(bytes([value]) * length)



def sources(qimg):
    pattern_file(qimg, "src.raw", 4 << 20, [(0, 65536, 0x11), (1 << 20, 4096, 0x22), (3 << 20, 512, 0x33),
                                            ((2 << 20) + 100, 1000, 0x44)])
    pattern_file(qimg, "odd.raw", 5000, [(0, 5000, 0x55)])
    with open(qimg.path("mixed.raw"), "wb") as fh:
        fh.truncate(1 << 20)
        fh.write(bytes([0x11]) * 4096 + incompressible(4096))


def header(size=64 << 20, cluster_bits=12, l2_bits=9, crypt=0, l1_offset=48, version=1,
           backing_offset=0, backing_size=0, pad=512):
    raw = b"QFI\xfb" + struct.pack(">IQIIQBBHIQ", version, backing_offset, backing_size, 0, size, cluster_bits,
                                   l2_bits, 0, crypt, l1_offset)
    return raw.ljust(48 + pad, b"\0")


def open_error(qimg, data, *args):
    qimg.write("h.img", 0, data)
    p = qimg.run("info", *args, "h.img")
    os.remove(qimg.path("h.img"))
    return p.returncode, p.stderr


# ---- create ----

def test_create_layouts_byte_identical(qimg):
    sources(qimg)
    cases = [
        (["a.img", "64M"], 560, "8f58e0b9b758ec448afc8c76ac8c1f463bbaef41d0265bbab6cd8fcb210f76e7"),
        (["b.img", "65537"], 560, "50c90231718a40ab7ff790bf27bec4f5f15788182e5572ee87a0b318beb188cf"),
        (["-b", "src.raw", "-F", "raw", "c.img"], 568,
         "639fdd7af1d47bf53bb03338c5568457115d9268d00699e8b22b884ecdd396c6"),
        (["-u", "-b", "nosuch.img", "-F", "qcow", "d.img", "10M"], 576,
         "f2b4ba322047870b5dacacb85075e9079774ad879ff2d9c25281abc87dd8ce32"),
    ]
    for args, length, digest in cases:
        qimg.ok("create", "-q", "-f", "qcow", *args)
        name = [a for a in args if a.endswith(".img") and a != "nosuch.img"][0]
        assert os.path.getsize(qimg.path(name)) == length, args
        assert sha256(qimg, name) == digest, args


def test_create_formatting_line_and_option_order(qimg):
    p = qimg.ok("create", "-f", "qcow", "-o", "encryption=off,backing_fmt=raw", "t.img", "1M")
    assert p.stdout == "Formatting 't.img', fmt=qcow size=1048576 backing_fmt=raw encryption=off\n"
    p = qimg.ok("create", "-f", "qcow", "-o", "help")
    assert "encrypt.key-secret=<str> - ID of the secret that provides the AES encryption key" in p.stdout
    assert "encrypt.format=<str>   - Encrypt the image, format choices: 'aes'" in p.stdout


def test_create_large_l1(qimg):
    qimg.ok("create", "-q", "-f", "qcow", "t.img", "2T")
    assert os.path.getsize(qimg.path("t.img")) == 8388656


def test_create_errors(qimg):
    # (options, size, message, file left behind: None = absent, else its length)
    cases = [
        ("encryption=on,encrypt.format=aes", "64M",
         "'encrypt.format' and its alias 'encryption' can't be used at the same time", None),
        ("backing_fmt=foo", "64M", "unrecognized backing format 'foo'", None),
        ("encrypt.format=xyz", "64M", "Parameter 'format' does not accept value 'xyz'", 0),
        ("encrypt.key-secret=x", "1M", "Parameter 'encrypt.format' is missing", 0),
        ("encryption=on", "0", "Image size is too small, cannot be zero length", 0),
        ("encrypt.format=luks", "64M", "Unsupported encryption format", 0),
        ("encryption=on", "64M", "Parameter 'encrypt.key-secret' is required for cipher", 0),
        ("encrypt.format=aes,encrypt.key-secret=sec0", "64M", "No secret with id 'sec0'", 0),
        ("encrypt.format=aes,encrypt.key-secret=sec0", "0", "Image size is too small, cannot be zero length", 0),
        ("encryption=foo", "64M", "Parameter 'encryption' expects 'on' or 'off'", None),
    ]
    for options, size, message, left in cases:
        p = qimg.run("create", "-q", "-f", "qcow", "-o", options, "t.img", size)
        assert p.returncode == 1, options
        assert p.stderr == f"qemu-img: t.img: {message}\n", options
        if left is None:
            assert not os.path.exists(qimg.path("t.img")), options
        else:
            assert os.path.getsize(qimg.path("t.img")) == left, options
            os.remove(qimg.path("t.img"))


def test_create_backing_format_names(qimg):
    for name in ["nbd", "vvfat", "throttle", "file", "qcow2", "raw"]:
        qimg.ok("create", "-q", "-f", "qcow", "-o", "backing_fmt=" + name, "t.img", "1M")
    for name in ["iscsi", "curl", "QCOW2"]:
        p = qimg.run("create", "-q", "-f", "qcow", "-o", "backing_fmt=" + name, "t.img", "1M")
        assert p.stderr == f"qemu-img: t.img: unrecognized backing format '{name}'\n"


# ---- info / map / probe ----

def test_info_and_probe(qimg):
    sources(qimg)
    qimg.ok("create", "-q", "-f", "qcow", "-b", "src.raw", "-F", "raw", "c.img")
    p = qimg.ok("info", "--output=json", "c.img")
    info = json.loads(p.stdout)
    assert info["format"] == "qcow" and info["cluster-size"] == 512
    assert info["virtual-size"] == 4194304 and info["backing-filename"] == "src.raw"
    assert info["dirty-flag"] is False and "format-specific" not in info
    human = qimg.ok("info", "c.img").stdout
    assert "cluster_size: 512\nbacking file: src.raw\n" in human
    assert "Format specific information" not in human


def test_map_compressed_and_mixed(qimg):
    sources(qimg)
    p = qimg.run("convert", "-c", "-O", "qcow", "mixed.raw", "h.img")
    assert p.returncode == 1 and p.stderr == ""
    assert sha256(qimg, "h.img") == "6ca868db0576aad88a918b35f6c8cd2e1f6f35d07fa609d74bb29b3b1949e0c4"
    assert qimg.ok("map", "--output=json", "h.img").stdout == (
        '[{ "start": 0, "length": 4096, "depth": 0, "present": true, "zero": false, "data": true, '
        '"compressed": true},\n'
        '{ "start": 4096, "length": 4096, "depth": 0, "present": true, "zero": false, "data": true, '
        '"compressed": false, "offset": 12288},\n'
        '{ "start": 8192, "length": 1040384, "depth": 0, "present": false, "zero": true, "data": false, '
        '"compressed": false}]\n')


def test_convert_byte_identical(qimg):
    sources(qimg)
    cases = [
        (["-O", "qcow", "src.raw", "e.img"], 0, 90112,
         "7074a516436f434e72918ef34b4d575ff97a2e47e9acaa2673f6480a278d046e"),
        (["-c", "-O", "qcow", "src.raw", "f.img"], 1, 25110,
         "d1f343ea1f0cdccaf81ec710556728dd035dab091600271febccc33946b4d6a0"),
        (["-c", "-O", "qcow", "odd.raw", "g.img"], 1, 8729,
         "e359865552909a98019b935f9353e62e59df68ff38b594badde2ef22b03009ce"),
        (["-O", "qcow", "-B", "src.raw", "-F", "raw", "odd.raw", "i.img"], 0, 38912,
         "7cec8842024250c4e1158088626ba48839004b479d341a780c2d1f10cd52d9b5"),
    ]
    for args, rc, length, digest in cases:
        qimg.run("convert", *args, check=rc)
        assert os.path.getsize(qimg.path(args[-1])) == length, args
        assert sha256(qimg, args[-1]) == digest, args
    assert qimg.run("compare", "src.raw", "e.img").returncode == 0
    assert qimg.run("compare", "src.raw", "f.img").returncode == 0
    assert qimg.ok("map", "i.img").stdout == (
        "Offset          Length          Mapped to       File\n"
        "0               0x1400          0x8400          i.img\n")
    qimg.ok("convert", "-O", "raw", "f.img", "back.raw")
    assert qimg.read("back.raw") == qimg.read("src.raw")


def test_rebase_compressed_writes_runs_of_clusters(qimg):
    # rebase -c writes the old backing data into the overlay cluster by cluster, compressed, before
    # qemu fails to record the new backing file (qcow cannot change it)
    sources(qimg)
    pattern_file(qimg, "old.raw", 4 << 20, [(0, 3 << 20, 0x99)])
    qimg.ok("create", "-q", "-f", "qcow", "-b", "old.raw", "-F", "raw", "ov.img")
    p = qimg.run("rebase", "-c", "-F", "raw", "-b", "src.raw", "ov.img")
    assert p.returncode == 1
    assert p.stderr == "qemu-img: Could not change the backing file to 'src.raw': Operation not supported\n"
    assert os.path.getsize(qimg.path("ov.img")) == 3212296
    assert sha256(qimg, "ov.img") == "cdda1964cc8008f1fccc31714da1e831ed1e5808da350a9626852ac7f16ecd12"


# ---- refusals ----

def test_unsupported_commands(qimg):
    qimg.ok("create", "-q", "-f", "qcow", "t.img", "64M")
    p = qimg.run("check", "t.img")
    assert p.returncode == 63 and p.stderr == "qemu-img: This image format does not support checks\n"
    p = qimg.run("resize", "t.img", "128M")
    assert p.returncode == 1 and p.stderr == "qemu-img: Image format driver does not support resize\n"
    p = qimg.run("measure", "-O", "qcow", "--size", "1G")
    assert p.stderr == "qemu-img: Block driver 'qcow' does not support size measurement\n"
    p = qimg.run("rebase", "-u", "-b", "", "t.img")
    assert p.stderr == "qemu-img: Could not change the backing file to '': Operation not supported\n"


def test_commit_empties_overlay(qimg):
    qimg.ok("create", "-q", "-f", "qcow", "base.q", "4M")
    qimg.ok("create", "-q", "-f", "qcow", "-b", "base.q", "-F", "qcow", "ov.q")
    pattern_file(qimg, "data.raw", 4 << 20, [(0, 65536, 0x11)])
    qimg.ok("convert", "-n", "-f", "raw", "-O", "qcow", "data.raw", "ov.q")
    assert os.path.getsize(qimg.path("ov.q")) == 4260864  # a target with a backing file gets zeroes too
    qimg.ok("commit", "ov.q")
    qimg.ok("convert", "-O", "raw", "base.q", "out.raw")
    assert qimg.read("out.raw") == qimg.read("data.raw")
    # header 48 + "base.q" rounded to 8 + two L1 entries: the file is cut right after the L1 table
    assert os.path.getsize(qimg.path("ov.q")) == 72


# ---- open checks ----

def test_open_header_checks(qimg):
    cases = [
        (header(size=0), "Image size is too small (must be at least 2 bytes)"),
        (header(cluster_bits=8), "Cluster size must be between 512 and 64k"),
        (header(cluster_bits=17), "Cluster size must be between 512 and 64k"),
        (header(l2_bits=14), "L2 table size must be between 512 and 64k"),
        (header(l2_bits=5), "L2 table size must be between 512 and 64k"),
        (header(crypt=2), "invalid encryption method in qcow header"),
        (header(size=1 << 60), "Image too large"),
        (header(size=1 << 49), "Image too large"),
        (header(size=268435393 << 21), "Could not open 'h.img': Input/output error"),
        (header(l1_offset=(1 << 63) - 4096), "Could not open 'h.img': Input/output error"),
        (header(backing_offset=48, backing_size=1024, l1_offset=0x500), "Backing file name too long"),
        (header(version=2), "qcow (v1) does not support qcow version 2\nTry the 'qcow2' driver instead."),
    ]
    for data, message in cases:
        rc, err = open_error(qimg, data, "-f", "qcow")
        assert (rc, err) == (1, f"qemu-img: Could not open 'h.img': {message}\n"), message


def test_open_tolerates_past_eof_tables(qimg):
    # qemu reads what lies past the end of the file as zeroes: L1 far away, a short header
    qimg.write("h.img", 0, header(l1_offset=1 << 40, pad=0))
    assert qimg.ok("map", "--output=json", "h.img").stdout == (
        '[{ "start": 0, "length": 67108864, "depth": 0, "present": false, "zero": true, "data": false, '
        '"compressed": false}]\n')
    os.remove(qimg.path("h.img"))
    qimg.write("h.img", 0, header()[:8])
    p = qimg.run("info", "h.img")
    assert p.stderr == "qemu-img: Could not open 'h.img': Image size is too small (must be at least 2 bytes)\n"
    qimg.write("h.img", 0, header(size=511))
    assert "virtual size: 0 B (0 bytes)" in qimg.ok("info", "h.img").stdout


def test_empty_backing_name_is_no_backing(qimg):
    # backing_file_offset set but the name is empty (size 0, or past the end of the file)
    for offset, size in ((48, 0), (0x2000, 4)):
        qimg.write("h.img", 0, header(backing_offset=offset, backing_size=size, l1_offset=0x100, pad=0x300))
        assert "backing file" not in qimg.ok("info", "h.img").stdout
        assert qimg.ok("map", "h.img").stdout == "Offset          Length          Mapped to       File\n"
        os.remove(qimg.path("h.img"))


def test_encrypted_image(qimg):
    qimg.write("e.img", 0, header(crypt=1))
    human = qimg.ok("info", "e.img").stdout
    assert "encrypted: yes\ncluster_size: 4096\n" in human
    p = qimg.run("map", "e.img")
    assert p.stderr == "qemu-img: Could not open 'e.img': Parameter 'encrypt.key-secret' is required for cipher\n"
    p = qimg.run("info", "--image-opts", "driver=qcow,file.filename=e.img,encrypt.format=luks")
    assert p.stderr.endswith("Header reported 'aes' encryption format but options specify 'luks'\n")


def test_encrypted_convert_byte_identical(qimg):
    # AES-128-CBC per 512-byte sector, IV = guest sector number, key = the passphrase zero padded
    sources(qimg)
    short = ["--object", "secret,id=s0,data=abc"]
    long = ["--object", "secret,id=s0,data=abcdefghijklmnopqrstuvwxyz"]
    qimg.ok("convert", *short, "-O", "qcow", "-o", "encrypt.format=aes,encrypt.key-secret=s0", "src.raw", "enc1.img")
    assert sha256(qimg, "enc1.img") == "62815a4ba0b89202e807b13e5271d724c0962471e83c9f11cd9b9cd1d9bdd4f1"
    qimg.ok("create", "-q", "-f", "qcow", *long, "-o", "encryption=on,encrypt.key-secret=s0", "-b", "src.raw",
            "-F", "raw", "enc2.img")
    qimg.ok("convert", *long, "-n", "-f", "raw", "odd.raw", "--target-image-opts",
            "driver=qcow,file.filename=enc2.img,encrypt.key-secret=s0")
    assert os.path.getsize(qimg.path("enc2.img")) == 38912
    assert sha256(qimg, "enc2.img") == "b0c5476feed36a2be44791be9d816c4d087b12264b3af3968893b02674e0e8da"
    opts = "driver=qcow,file.filename=enc1.img,encrypt.key-secret=s0"
    p = qimg.ok("map", "--output=json", *short, "--image-opts", opts)
    assert p.stdout.startswith('[{ "start": 0, "length": 65536, "depth": 0, "present": true, "zero": false, '
                               '"data": true, "compressed": false},\n')
    assert qimg.run("compare", *short, "--image-opts", "driver=raw,file.filename=src.raw", opts).returncode == 0
    p = qimg.ok("info", *short, "--image-opts", opts)
    assert p.stdout.startswith('image: json:{"encrypt.key-secret": "s0", "driver": "qcow", "file": '
                               '{"driver": "file", "filename": "enc1.img"}}\nfile format: qcow\n')
    p = qimg.run("compare", "--object", "secret,id=s0,data=abd", "--image-opts", "driver=raw,file.filename=src.raw", opts)
    assert p.returncode == 1


def test_runtime_options(qimg):
    qimg.ok("create", "-q", "-f", "qcow", "t.img", "1M")
    p = qimg.run("info", "--image-opts", "driver=qcow,file.filename=t.img,foo=bar")
    assert p.stderr.endswith("Block format 'qcow' does not support the option 'foo'\n")
    p = qimg.run("info", "--image-opts", "driver=qcow,file.filename=t.img,encrypt.format=aes")
    assert p.stderr.endswith("No encryption in image header, but options specified format 'aes'\n")


def test_info_limits(qimg):
    # qemu's qcow sets no block limits of its own: whole sectors, no discard or zero-write alignment
    # (measured with qemu-img 10.2.2).
    qimg.ok("create", "-q", "-f", "qcow", "l.qcow", "4M")
    out = qimg.ok("info", "--limits", "l.qcow").stdout
    section = out[out.index("Block limits:"):out.index("Child node")]
    assert section == ("Block limits:\n    request alignment: 512\n    min mem alignment: 1\n"
                       "    opt mem alignment: 4096\n    max iov: 1024\n")


def test_convert_without_sparse_follows_cluster_status(qimg):
    # qemu's qcow answers block status one cluster at a time inside an L2 table, and convert -S 0
    # writes request by request: a qed target (which places its L2 table after the first write)
    # comes out as qemu-img 10.2.2 makes it.
    with open(qimg.path("r.raw"), "wb") as fh:
        fh.truncate(8 << 20)
        fh.seek(1689088)
        fh.write(b"\xbf" * 66048)
    qimg.ok("convert", "-f", "raw", "-O", "qcow", "r.raw", "q.qcow")
    qimg.ok("convert", "-S", "0", "-O", "qed", "-f", "qcow", "q.qcow", "e.qed")
    digest = hashlib.sha256(qimg.read("e.qed")).hexdigest()
    assert digest == "632d1bbe3fbc4699004565c1380cb93a23ca0caaa5456518e397b22e0dd5989e"
