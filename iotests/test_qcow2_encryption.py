# iotests/test_qcow2_encryption.py — qcow2 encryption end to end: encrypt.format=luks (the FDE
# header extension, the LUKS header checked by cryptsetup, data decrypted independently with the
# host sector as IV) and the legacy encrypt.format=aes (AES-128-CBC, the guest sector as IV);
# partial-sector writes against a model, the create and open refusals, info, amend and check
# (spec/qcow2.md §Encryption). Expected messages are qemu 10.2.2's, measured with the oracle.
import json
import os
import shutil
import struct
import subprocess

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from conftest import REPO

QIMG_IO = os.environ.get("QIMG_IO", os.path.join(REPO, "build", "qimg-io"))
CRYPTSETUP = shutil.which("cryptsetup") or "/usr/sbin/cryptsetup"
SECRET = ["--object", "secret,id=s,data=pw"]
CLUSTER = 65536


def opts(path, secret="s"):
    return f"driver=qcow2,file.filename={path},encrypt.key-secret={secret}"


def create(qimg, name, fmt="luks", size="4M", extra=""):
    options = f"encrypt.format={fmt},encrypt.key-secret=s" + (",encrypt.iter-time=10" if fmt == "luks" else "")
    return qimg.ok("create", "-q", *SECRET, "-f", "qcow2", "-o", options + extra, name, size)


def write(qimg, name, *commands):
    argv = [QIMG_IO, *SECRET, "--image-opts"]
    for c in commands:
        argv += ["-c", c]
    p = subprocess.run(argv + [opts(qimg.path(name))], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def guest(qimg, name):
    qimg.ok("convert", *SECRET, "--image-opts", opts(qimg.path(name)), "-O", "raw", qimg.path("guest.raw"))
    return qimg.read("guest.raw")


def header(data):
    """crypt_method, L1 offset and the FDE extension (offset, length), decoded here."""
    method, _, l1_offset = struct.unpack(">IIQ", data[32:48])
    header_length = struct.unpack(">I", data[100:104])[0]
    pos, fde = header_length, None
    while pos + 8 <= len(data):
        magic, length = struct.unpack(">II", data[pos:pos + 8])
        if magic == 0:
            break
        if magic == 0x0537BE77:
            fde = struct.unpack(">QQ", data[pos + 8:pos + 24])
        pos += 8 + (length + 7) // 8 * 8
    return method, l1_offset, fde


def host_offset(data, guest_offset):
    """The host offset of a guest offset through L1 and L2 (64 KiB clusters, normal entries)."""
    _, l1_offset, _ = header(data)
    l2_table = struct.unpack(">Q", data[l1_offset:l1_offset + 8])[0] & 0x00FFFFFFFFFFFE00
    index = guest_offset // CLUSTER
    entry = struct.unpack(">Q", data[l2_table + 8 * index:l2_table + 8 * index + 8])[0]
    return (entry & 0x00FFFFFFFFFFFE00) + guest_offset % CLUSTER


def decrypt(mode, key, data, first_sector):
    out = b""
    for i in range(len(data) // 512):
        iv = struct.pack("<Q", first_sector + i) + bytes(8)
        cipher = Cipher(algorithms.AES(key), modes.XTS(iv) if mode == "xts" else modes.CBC(iv))
        d = cipher.decryptor()
        out += d.update(data[512 * i:512 * (i + 1)]) + d.finalize()
    return out


def test_luks_header_in_clusters_cryptsetup_reads_and_host_sector_ivs(qimg):
    create(qimg, "l.qcow2")
    pattern = bytes(range(256)) * 256
    qimg.write("p.raw", 0, b"\0" * CLUSTER + pattern)
    qimg.ok("convert", "-n", *SECRET, "-f", "raw", "p.raw", "--target-image-opts", opts(qimg.path("l.qcow2")))
    data = qimg.read("l.qcow2")
    method, _, fde = header(data)
    assert method == 2 and fde is not None
    offset, length = fde
    assert offset % CLUSTER == 0 and length == 2068480  # eight 4000-stripe slots of a 64-byte key
    qimg.write("hdr.luks", 0, data[offset:offset + length])
    dump = subprocess.run([CRYPTSETUP, "luksDump", qimg.path("hdr.luks")], capture_output=True)
    assert dump.returncode == 0 and b"Key Slot 0: ENABLED" in dump.stdout, dump.stderr
    test = subprocess.run([CRYPTSETUP, "open", "--test-passphrase", "--key-file=-", qimg.path("hdr.luks")],
                          input=b"pw", capture_output=True)
    assert test.returncode == 0, test.stderr
    mk = subprocess.run([CRYPTSETUP, "luksDump", "--dump-master-key", "--batch-mode", "--key-file=-",
                         qimg.path("hdr.luks")], input=b"pw", capture_output=True, text=False)
    assert mk.returncode == 0, mk.stderr
    text = mk.stdout.decode()
    digits, capture = [], False
    for line in text.splitlines():
        if line.startswith("MK dump:"):
            capture, line = True, line.split(":", 1)[1]
        elif capture and not line.startswith((" ", "\t")):
            break
        if capture:
            digits += line.split()
    key = bytes(int(h, 16) for h in digits)
    host = host_offset(data, CLUSTER)
    stored = data[host:host + len(pattern)]
    assert stored != pattern
    assert decrypt("xts", key, stored, host // 512) == pattern


def test_aes_uses_guest_sector_ivs_and_the_passphrase_as_key(qimg):
    create(qimg, "a.qcow2", fmt="aes")
    pattern = bytes(range(256)) * 8
    qimg.write("p.raw", 0, b"\0" * (3 * CLUSTER) + pattern)
    qimg.ok("convert", "-n", *SECRET, "-f", "raw", "p.raw", "--target-image-opts", opts(qimg.path("a.qcow2")))
    data = qimg.read("a.qcow2")
    assert header(data)[0] == 1 and header(data)[2] is None
    host = host_offset(data, 3 * CLUSTER)
    assert decrypt("cbc", b"pw" + bytes(14), data[host:host + len(pattern)], 3 * CLUSTER // 512) == pattern


@pytest.mark.parametrize("fmt", ["luks", "aes"])
def test_partial_sector_writes_read_back(qimg, fmt):
    create(qimg, "w.qcow2", fmt=fmt)
    model = bytearray(4 << 20)
    writes = [(1000, 3000, 0x11), (3500000, 70000, 0x22), (65000, 1, 0x33), (250001, 777, 0x44), (1001, 10, 0x55)]
    write(qimg, "w.qcow2", *[f"write -P {b} {o} {n}" for o, n, b in writes])
    for o, n, b in writes:
        model[o:o + n] = bytes([b]) * n
    write(qimg, "w.qcow2", "write -z 3500100 1000")
    model[3500100:3501100] = bytes(1000)
    assert guest(qimg, "w.qcow2") == bytes(model)
    qimg.ok("check", *SECRET, "--image-opts", opts(qimg.path("w.qcow2")))


def test_info_lists_the_luks_block_and_the_aes_format(qimg):
    create(qimg, "l.qcow2")
    create(qimg, "a.qcow2", fmt="aes")
    doc = json.loads(qimg.ok("info", "--output=json", "l.qcow2").stdout)
    enc = doc["format-specific"]["data"]["encrypt"]
    assert doc["encrypted"] is True
    assert (enc["format"], enc["cipher-alg"], enc["cipher-mode"], enc["payload-offset"]) == ("luks", "aes-256", "xts",
                                                                                             2068480)
    assert [s["active"] for s in enc["slots"]] == [True] + [False] * 7
    doc = json.loads(qimg.ok("info", "--output=json", "a.qcow2").stdout)
    assert doc["format-specific"]["data"]["encrypt"] == {"format": "aes"}
    name = json.loads(qimg.ok("info", "--output=json", *SECRET, "--image-opts", opts("l.qcow2")).stdout)["filename"]
    assert name == 'json:{"encrypt.key-secret": "s", "driver": "qcow2", "file": {"driver": "file", "filename": "l.qcow2"}}'


@pytest.mark.parametrize("options,message", [
    ("encrypt.format=luks,encrypt.key-secret=s,encrypt.cipher-alg=bogus", "Parameter 'cipher-alg' does not accept value 'bogus'"),
    ("encrypt.format=luks", "Parameter 'encrypt.key-secret' is required for cipher"),
    ("encrypt.format=luks,encrypt.key-secret=nosec", "No secret with id 'nosec'"),
    ("encrypt.format=bogus,encrypt.key-secret=s", "Parameter 'format' does not accept value 'bogus'"),
    ("encryption=on,encrypt.format=luks,encrypt.key-secret=s", "'encrypt.format' and its alias 'encryption' can't be used at the same time"),
    ("encryption=yes,encrypt.key-secret=s", "Parameter 'format' does not accept value 'yes'"),
    ("encrypt.format=aes,encrypt.key-secret=s,encrypt.cipher-alg=aes-128", "Parameter 'encrypt.cipher-alg' is unexpected"),
    ("encrypt.key-secret=s", "Parameter 'encrypt.format' is missing"),
    ("encrypt.format=luks,encrypt.key-secret=s,encrypt.hash-alg=ripemd160", "Cannot derive password: The request is invalid."),
    ("encrypt.format=luks,encrypt.key-secret=s,encrypt.cipher-alg=twofish-128", "Unsupported cipher algorithm twofish-128 with xts mode"),
])
def test_create_refusals_leave_no_file(qimg, options, message):
    p = qimg.run("create", "-q", *SECRET, "-f", "qcow2", "-o", options, "x.qcow2", "1M", check=1)
    assert p.stderr == f"qemu-img: x.qcow2: {message}\n"
    assert not os.path.exists(qimg.path("x.qcow2"))


def patched(qimg, source, offset, raw):
    data = bytearray(qimg.read(source))
    data[offset:offset + len(raw)] = raw
    qimg.write("t.qcow2", 0, bytes(data))


@pytest.mark.parametrize("offset,raw,message", [
    (0x78, struct.pack(">Q", 0x40200), "Encryption header offset '262656' is not a multiple of cluster size '65536'"),
    (0x80, struct.pack(">Q", 256), "Request for data outside of extension header"),
    (0x70, struct.pack(">I", 0x0537BE78), "Missing CRYPTO header for crypt method 2"),
    (0x78, struct.pack(">Q", 0), "Volume is not in LUKS format"),
    (0x20, struct.pack(">I", 1), "CRYPTO header extension only expected with LUKS encryption method"),
    (0x20, struct.pack(">I", 3), "Unsupported encryption method 3"),
])
def test_open_refusals(qimg, offset, raw, message):
    create(qimg, "l.qcow2")
    assert header(qimg.read("l.qcow2"))[2][0] == 0x40000  # the layout the offsets above patch
    patched(qimg, "l.qcow2", offset, raw)
    p = qimg.run("convert", *SECRET, "--image-opts", opts("t.qcow2"), "-O", "raw", "o.raw", check=1)
    assert p.stderr == f"qemu-img: Could not open '{opts('t.qcow2')}': {message}\n"


def test_key_and_format_options(qimg):
    create(qimg, "l.qcow2")
    qimg.ok("create", "-q", "-f", "qcow2", "n.qcow2", "1M")
    p = qimg.run("info", "l.qcow2", check=0)
    assert "encrypted: yes" in p.stdout
    p = qimg.run("map", "l.qcow2", check=1)
    assert p.stderr == "qemu-img: Could not open 'l.qcow2': Parameter 'encrypt.key-secret' is required for cipher\n"
    bad = opts("l.qcow2") + ",encrypt.format=aes"
    p = qimg.run("info", *SECRET, "--image-opts", bad, check=1)
    assert p.stderr.endswith("Header reported 'luks' encryption format but options specify 'aes'\n")
    p = qimg.run("info", *SECRET, "--image-opts", opts("l.qcow2") + ",encrypt.foo=1", check=1)
    assert p.stderr.endswith("Parameter 'foo' is unexpected\n")
    p = qimg.run("info", "--image-opts", "driver=qcow2,file.filename=n.qcow2,encrypt.format=luks", check=1)
    assert p.stderr.endswith("No encryption in image header, but options specified format 'luks'\n")
    wrong = ["--object", "secret,id=w,data=nope"]
    p = qimg.run("convert", *wrong, "--image-opts", opts("l.qcow2", "w"), "-O", "raw", "o.raw", check=1)
    assert p.stderr.endswith("Invalid password, cannot unlock any keyslot\n")


def test_amend_adds_and_erases_key_slots(qimg):
    create(qimg, "l.qcow2")
    write(qimg, "l.qcow2", "write -P 0x5a 0 70000")
    before = guest(qimg, "l.qcow2")
    two = SECRET + ["--object", "secret,id=t,data=other"]
    qimg.ok("amend", *two, "-o", "encrypt.state=active,encrypt.new-secret=t,encrypt.iter-time=10",
            "--image-opts", opts("l.qcow2"))
    qimg.ok("convert", *two, "--image-opts", opts(qimg.path("l.qcow2"), "t"), "-O", "raw", qimg.path("t.raw"))
    assert qimg.read("t.raw") == before
    p = qimg.run("amend", *SECRET, "-o", "encrypt.state=inactive,encrypt.old-secret=s,encrypt.keyslot=1",
                 "--image-opts", opts("l.qcow2"), check=1)
    assert p.stderr == "qemu-img: Given keyslot 1 doesn't contain the given old password for erase operation\n"
    qimg.ok("amend", *two, "-o", "encrypt.state=inactive,encrypt.keyslot=0", "--image-opts", opts("l.qcow2", "t"))
    p = qimg.run("convert", *SECRET, "--image-opts", opts("l.qcow2"), "-O", "raw", "o.raw", check=1)
    assert p.stderr.endswith("Invalid password, cannot unlock any keyslot\n")
    create(qimg, "a.qcow2", fmt="aes")
    p = qimg.run("amend", *two, "-o", "encrypt.state=active,encrypt.new-secret=t", "--image-opts", opts("a.qcow2"),
                 check=1)
    assert p.stderr == "qemu-img: Only LUKS encryption options can be amended\n"


def test_check_counts_the_header_clusters_and_measure_adds_them(qimg):
    create(qimg, "l.qcow2")
    p = qimg.ok("check", *SECRET, "--image-opts", opts("l.qcow2"))
    assert "No errors were found on the image." in p.stdout
    patched(qimg, "l.qcow2", 0x80, struct.pack(">Q", 0xFFFFFFFFFFFFFFFF))  # a "negative" length counts nothing
    p = qimg.run("check", "--output=json", *SECRET, "--image-opts", opts("t.qcow2"), check=3)
    assert json.loads(p.stdout)["leaks"] == 32
    plain = json.loads(qimg.ok("measure", "--output=json", "-O", "qcow2", "--size", "1G").stdout)
    enc = json.loads(qimg.ok("measure", "--output=json", *SECRET, "-O", "qcow2", "-o",
                             "encrypt.format=luks,encrypt.key-secret=s", "--size", "1G").stdout)
    assert enc["required"] - plain["required"] == 32 * CLUSTER
    assert enc["fully-allocated"] - plain["fully-allocated"] == 32 * CLUSTER
