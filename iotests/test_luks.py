# iotests/test_luks.py — the luks driver end to end: create (each option and qemu 10.2's refusals),
# the layout, info, amend of key slots, resize, measure; and interoperability with cryptsetup both
# ways, the payload checked by an independent decryptor (python3-cryptography) with the master key
# cryptsetup dumps (spec/luks.md). Expected values are qemu 10.2.2's, measured with the oracle.
import json
import os
import shutil
import struct
import subprocess

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

SECRET = ["--object", "secret,id=s,data=pw"]
CRYPTSETUP = shutil.which("cryptsetup") or "/usr/sbin/cryptsetup"


def image_opts(path, secret="s"):
    return ["--image-opts", f"driver=luks,key-secret={secret},file.filename={path}"]


def create(qimg, name, size="1M", options=""):
    opts = "key-secret=s,iter-time=10" + ("," + options if options else "")
    return qimg.run("create", "-q", *SECRET, "-f", "luks", "-o", opts, name, size)


def header_fields(data):
    """The header fields a test looks at, decoded independently of the product."""
    payload, key_bytes = struct.unpack(">II", data[104:112])
    slots = [struct.unpack(">II32sII", data[208 + 48 * i:256 + 48 * i]) for i in range(8)]
    return {
        "magic": data[:6], "version": struct.unpack(">H", data[6:8])[0],
        "cipher": data[8:40].rstrip(b"\0").decode(), "mode": data[40:72].rstrip(b"\0").decode(),
        "hash": data[72:104].rstrip(b"\0").decode(), "payload": payload, "key_bytes": key_bytes,
        "slots": slots,
    }


@pytest.mark.parametrize("options,cipher,mode,key_bytes,payload", [
    ("", "aes", "xts-plain64", 64, 4040),
    ("cipher-alg=aes-128", "aes", "xts-plain64", 32, 2056),
    ("cipher-alg=aes-128,cipher-mode=cbc", "aes", "cbc-plain64", 16, 1032),
    ("cipher-mode=cbc,ivgen-alg=essiv", "aes", "cbc-essiv:sha256", 32, 2056),
    ("cipher-mode=ecb,ivgen-alg=plain", "aes", "ecb-plain", 32, 2056),
])
def test_create_layout(qimg, options, cipher, mode, key_bytes, payload):
    create(qimg, "t.luks", "1M", options).check_returncode()
    data = qimg.read("t.luks")
    h = header_fields(data)
    assert h["magic"] == b"LUKS\xba\xbe" and h["version"] == 1
    assert (h["cipher"], h["mode"], h["hash"]) == (cipher, mode, "sha256")
    assert h["key_bytes"] == key_bytes and h["payload"] == payload
    area = (key_bytes * 4000 + 4095) // 4096 * 4096
    for index, (active, iterations, salt, offset, stripes) in enumerate(h["slots"]):
        assert offset * 512 == 4096 + index * area and stripes == 4000
        assert active == (0x00AC71F3 if index == 0 else 0xDEAD)
        assert (iterations >= 1000) if index == 0 else (iterations == 0 and salt == bytes(32))
    assert len(data) == payload * 512 + (1 << 20)


@pytest.mark.parametrize("options,message", [
    ("cipher-alg=bogus", "Parameter 'cipher-alg' does not accept value 'bogus'"),
    ("cipher-mode=ctr", "Unsupported cipher algorithm aes-256 with ctr mode"),
    ("cipher-alg=aes-192,cipher-mode=xts", "Unsupported cipher algorithm aes-192 with xts mode"),
    ("cipher-alg=twofish-128", "Unsupported cipher algorithm twofish-128 with xts mode"),
    ("cipher-alg=cast5-128,cipher-mode=cbc,ivgen-alg=essiv", "Cipher cast5-128 not supported with essiv"),
    ("cipher-alg=des", "Algorithm 'des' not supported"),
    ("ivgen-alg=benbi", "Parameter 'ivgen-alg' does not accept value 'benbi'"),
    ("ivgen-alg=essiv,ivgen-hash-alg=sha512", "No AES cipher with key size 64 available"),
    ("hash-alg=ripemd160", "Cannot derive password: The request is invalid."),
    ("hash-alg=sm3", "PBKDF does not support hash algorithm sm3: Function not implemented"),
    ("iter-time=abc", "Parameter 'iter-time' expects a number"),
])
def test_create_refusals(qimg, options, message):
    p = create(qimg, "t.luks", "1M", options)
    assert p.returncode == 1
    assert p.stderr == f"qemu-img: t.luks: {message}\n"
    assert not os.path.exists(qimg.path("t.luks"))  # qemu removes what a failed luks create made


def test_create_needs_secret(qimg):
    p = qimg.run("create", "-q", "-f", "luks", "t.luks", "1M")
    assert p.returncode == 1
    assert p.stderr == "qemu-img: t.luks: Parameter 'key-secret' is required for cipher\n"


def test_info_without_key_and_json(qimg):
    create(qimg, "t.luks", "1M", "hash-alg=sha512").check_returncode()
    info = json.loads(qimg.ok("info", "--output=json", "t.luks").stdout)
    assert info["format"] == "luks" and info["encrypted"] is True and info["virtual-size"] == 1 << 20
    data = info["format-specific"]["data"]
    assert (data["cipher-alg"], data["cipher-mode"], data["ivgen-alg"], data["hash-alg"]) == \
        ("aes-256", "xts", "plain64", "sha512")
    assert data["payload-offset"] == 2068480 and data["detached-header"] is False
    assert [s["key-offset"] for s in data["slots"]] == [4096 + i * 258048 for i in range(8)]
    assert [s["active"] for s in data["slots"]] == [True] + [False] * 7


def test_round_trip_and_wrong_passphrase(qimg):
    payload = os.urandom(300000)
    qimg.write("src.raw", 0, payload)
    qimg.ok("convert", *SECRET, "-O", "luks", "-o", "key-secret=s,iter-time=10", "src.raw", "t.luks")
    qimg.ok("convert", *SECRET, *image_opts("t.luks"), "-O", "raw", "back.raw")
    assert qimg.read("back.raw")[:len(payload)] == payload
    p = qimg.run("convert", "--object", "secret,id=s,data=nope", *image_opts("t.luks"), "-O", "raw", "x.raw")
    assert p.returncode == 1
    assert p.stderr.endswith("Invalid password, cannot unlock any keyslot\n")
    p = qimg.run("convert", "-f", "luks", "t.luks", "-O", "raw", "x.raw")
    assert p.stderr == "qemu-img: Could not open 't.luks': Parameter 'key-secret' is required for cipher\n"


def test_amend_slots(qimg):
    create(qimg, "t.luks").check_returncode()
    both = [*SECRET, "--object", "secret,id=n,data=new"]
    qimg.ok("amend", *both, *image_opts("t.luks"), "-o", "state=active,new-secret=n,iter-time=10")
    qimg.ok("convert", *both, *image_opts("t.luks", "n"), "-O", "raw", "a.raw")
    p = qimg.run("amend", *both, *image_opts("t.luks"), "-o", "state=inactive,keyslot=3")
    assert p.stderr == "qemu-img: Given keyslot 3 is already erased (inactive) \n"
    p = qimg.run("amend", *both, *image_opts("t.luks"), "-o", "state=active,new-secret=n,keyslot=0")
    assert p.stderr == "qemu-img: Refusing to overwrite active keyslot 0 - please erase it first\n"
    qimg.ok("amend", *both, *image_opts("t.luks"), "-o", "state=inactive,old-secret=n")
    h = header_fields(qimg.read("t.luks"))
    assert h["slots"][1][0] == 0xDEAD and h["slots"][1][1] == 0 and h["slots"][1][2] == bytes(32)
    p = qimg.run("amend", *both, *image_opts("t.luks"), "-o", "state=inactive,keyslot=0")
    assert "Attempt to erase the only active keyslot 0" in p.stderr and p.returncode == 1


def test_resize_and_measure(qimg):
    create(qimg, "t.luks", "1000001").check_returncode()
    assert os.path.getsize(qimg.path("t.luks")) == 2068480 + 1000001
    info = json.loads(qimg.ok("info", "--output=json", "t.luks").stdout)
    assert info["virtual-size"] == 1000448
    qimg.ok("resize", *SECRET, *image_opts("t.luks"), "1500001")
    assert os.path.getsize(qimg.path("t.luks")) == 2068480 + 1500001
    out = qimg.ok("measure", *SECRET, "-O", "luks", "-o", "key-secret=s,cipher-alg=aes-128,cipher-mode=cbc",
                  "--size", "1G").stdout
    assert out == "required size: 1074270208\nfully allocated size: 1074270208\n"
    p = qimg.run("measure", "-O", "luks", "--size", "1G")
    assert p.stderr == "qemu-img: Parameter 'key-secret' is required for cipher\n"


def run_tool(*args, data=None):
    return subprocess.run(list(args), input=data, capture_output=True)


def dumped_master_key(path):
    """The master key cryptsetup recovers from path with passphrase "pw"."""
    p = run_tool(CRYPTSETUP, "luksDump", "--dump-master-key", "--batch-mode", "--key-file=-", path, data=b"pw")
    assert p.returncode == 0, p.stderr
    text = p.stdout.decode()
    hexdigits = []
    capture = False
    for line in text.splitlines():
        if line.startswith("MK dump:"):
            capture = True
            line = line.split(":", 1)[1]
        elif capture and not line.startswith((" ", "\t")):
            break
        if capture:
            hexdigits.extend(line.split())
    return bytes(int(h, 16) for h in hexdigits)


def sector_cipher(mode, key, sector):
    """An independent decryptor of one payload sector (plain64 IVs, or essiv:sha256)."""
    iv = struct.pack("<Q", sector) + bytes(8)
    if mode == "xts-plain64":
        return Cipher(algorithms.AES(key), modes.XTS(iv))
    if mode == "cbc-essiv:sha256":
        from cryptography.hazmat.primitives import hashes
        digest = hashes.Hash(hashes.SHA256())
        digest.update(key)
        salt = digest.finalize()
        encryptor = Cipher(algorithms.AES(salt), modes.ECB()).encryptor()
        iv = encryptor.update(iv) + encryptor.finalize()
        return Cipher(algorithms.AES(key), modes.CBC(iv))
    return Cipher(algorithms.AES(key), modes.CBC(iv))


def payload_decrypt(data, mode, key, sectors):
    out = b""
    for sector in range(sectors):
        decryptor = sector_cipher(mode, key, sector).decryptor()
        out += decryptor.update(data[sector * 512:(sector + 1) * 512]) + decryptor.finalize()
    return out


def test_cryptsetup_reads_qimg_images(qimg):
    create(qimg, "t.luks", "4M").check_returncode()
    path = qimg.path("t.luks")
    dump = run_tool(CRYPTSETUP, "luksDump", path)
    assert dump.returncode == 0, dump.stderr
    assert b"Cipher mode:   \txts-plain64" in dump.stdout and b"Key Slot 0: ENABLED" in dump.stdout
    assert run_tool(CRYPTSETUP, "open", "--test-passphrase", "--key-file=-", path, data=b"pw").returncode == 0
    assert run_tool(CRYPTSETUP, "open", "--test-passphrase", "--key-file=-", path, data=b"no").returncode != 0
    pattern = bytes(range(256)) * 64
    qimg.write("p.raw", 0, pattern)
    qimg.ok("convert", "-n", *SECRET, "-f", "raw", "p.raw", "--target-image-opts",
            f"driver=luks,key-secret=s,file.filename={path}")
    key = dumped_master_key(path)
    assert len(key) == 64
    data = qimg.read("t.luks")[4040 * 512:]
    assert payload_decrypt(data, "xts-plain64", key, len(pattern) // 512) == pattern


@pytest.mark.parametrize("cipher,mode", [("aes-xts-plain64", "xts-plain64"), ("aes-cbc-essiv:sha256", "cbc-essiv:sha256")])
def test_qimg_reads_cryptsetup_images(qimg, cipher, mode):
    path = qimg.path("cs.img")
    with open(path, "wb") as fh:
        fh.truncate(8 << 20)
    p = run_tool(CRYPTSETUP, "luksFormat", "--type", "luks1", "--batch-mode", "--cipher", cipher,
                 "--key-size", "512" if "xts" in cipher else "256", "--pbkdf-force-iterations", "1000",
                 "--key-file=-", path, data=b"pw")
    assert p.returncode == 0, p.stderr
    key = dumped_master_key(path)
    h = header_fields(qimg.read("cs.img"))
    assert h["mode"] == mode
    offset = h["payload"] * 512
    # Encrypt a pattern into the payload independently, then read it back through qimg.
    pattern = os.urandom(8192)
    encrypted = b""
    for sector in range(len(pattern) // 512):
        encryptor = sector_cipher(mode, key, sector).encryptor()
        encrypted += encryptor.update(pattern[sector * 512:(sector + 1) * 512]) + encryptor.finalize()
    qimg.write("cs.img", offset, encrypted)
    info = json.loads(qimg.ok("info", "--output=json", "cs.img").stdout)
    assert info["format"] == "luks" and info["format-specific"]["data"]["payload-offset"] == offset
    qimg.ok("convert", *SECRET, *image_opts(path), "-O", "raw", "out.raw")
    out = qimg.read("out.raw")
    assert len(out) == (8 << 20) - offset and out[:len(pattern)] == pattern


@pytest.mark.parametrize("definition,message", [
    ("secret,id=x,foo", "Expected '=' after parameter 'foo'"),
    ('secret,id=x,"a":"b"', "Invalid parameter '\"a\":\"b\"'"),
    ("secret,id=x,_x=1", "Invalid parameter '_x'"),
    ("secret,,id=x", "Invalid parameter ''"),
    ("secret,bogus=1", "Parameter 'id' is missing"),
    ("secret,id=1x,bogus=1", "Parameter 'bogus' is unexpected"),
    ("secret,id=x,a.b=1", "Parameter 'a' is unexpected"),
    ("secret,id=1x,data=1", "Parameter 'id' expects an identifier\nIdentifiers consist of letters, digits, "
                            "'-', '.', '_', starting with a letter."),
    ("secret,id=x", "Either 'file' or 'data' must be provided"),
    ("secret,id=x,data=a,file=b", "'file' and 'data' are mutually exclusive"),
    ("secret,id=x,file=/nonexistent", "Unable to read /nonexistent: Failed to open file \u201c/nonexistent\u201d: "
                                      "No such file or directory"),
    ("secret,id=x,data=a!!,format=base64", "Base64 data contains invalid characters"),
    ("secret,id=x,data=YWJj,keyid=x", "Secret with id 'x' has no data"),
    ("secret,id=x,data=YWJj,keyid=nos", "No secret with id 'nos'"),
])
def test_secret_object_refusals(qimg, definition, message):
    p = qimg.run("info", "--object", definition, "/dev/null")
    assert p.returncode == 1 and p.stderr == f"qemu-img: {message}\n"


def test_secret_forms_unlock_the_same_image(qimg, tmp_path):
    create(qimg, "t.luks").check_returncode()
    (tmp_path / "pw.txt").write_bytes(b"pw")
    key = bytes(range(32))
    iv = bytes(range(16, 32))
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(b"pw" + bytes([14]) * 14) + encryptor.finalize()
    import base64
    forms = [
        ["--object", f"secret,id=s,file={tmp_path / 'pw.txt'}"],
        ["--object", "secret,id=s,data=cHc=,format=base64"],
        ["--object", f"secret,id=k,data={base64.b64encode(key).decode()},format=base64",
         "--object", f"secret,id=s,data={base64.b64encode(ciphertext).decode()},format=base64,keyid=k,"
                     f"iv={base64.b64encode(iv).decode()}"],
    ]
    for form in forms:
        qimg.ok("convert", *form, *image_opts("t.luks"), "-O", "raw", "out.raw")


def test_detached_header_opens_with_header_filename(qimg):
    qimg.ok("create", "-q", *SECRET, "-f", "luks", "-o", "key-secret=s,iter-time=10,detached-header=on", "h.luks", "4M")
    assert len(qimg.read("h.luks")) == 2068480  # the header and its slots, no payload
    qimg.write("p.raw", 0, bytes(4 << 20))
    pattern = bytes(range(256)) * 4096
    qimg.write("in.raw", 0, pattern)
    target = f"driver=luks,file.filename={qimg.path('p.raw')},header.filename={qimg.path('h.luks')},key-secret=s"
    qimg.ok("convert", "-n", *SECRET, "-f", "raw", "in.raw", "--target-image-opts", target)
    stored = qimg.read("p.raw")
    assert stored[:len(pattern)] != pattern
    key = dumped_master_key(qimg.path("h.luks"))
    assert payload_decrypt(stored, "xts-plain64", key, 16) == pattern[:16 * 512]  # the payload starts at 0
    test = run_tool(CRYPTSETUP, "open", "--test-passphrase", "--key-file=-", "--header", qimg.path("h.luks"),
                    qimg.path("p.raw"), data=b"pw")
    assert test.returncode == 0, test.stderr
    qimg.ok("convert", *SECRET, "--image-opts", target, "-O", "raw", "out.raw")
    assert qimg.read("out.raw")[:len(pattern)] == pattern
    doc = json.loads(qimg.ok("info", "--output=json", "--image-opts",
                             "driver=luks,file.filename=p.raw,header.filename=h.luks").stdout)
    assert doc["filename"] == "p.raw" and doc["format-specific"]["data"]["detached-header"] is True
    assert [c["name"] for c in doc["children"]] == ["header", "file"]
    p = qimg.run("info", "h.luks", check=1)
    assert p.stderr == "qemu-img: Could not open 'h.luks': LUKS payload is overlapping with the header\n"


def test_key_secret_is_asked_before_the_header_is_read(qimg):
    qimg.ok("create", "-q", "-f", "qcow2", "n.qcow2", "1M")
    p = qimg.run("convert", "-f", "luks", "n.qcow2", "-O", "raw", "o.raw", check=1)
    assert p.stderr == "qemu-img: Could not open 'n.qcow2': Parameter 'key-secret' is required for cipher\n"
    p = qimg.run("convert", "--image-opts", "driver=luks,key-secret=nos,file.filename=n.qcow2", "-O", "raw", "o.raw",
                 check=1)
    assert p.stderr.endswith(": No secret with id 'nos'\n")
    p = qimg.run("info", "-f", "luks", "n.qcow2", check=1)  # metadata only: the header is what is wrong
    assert p.stderr == "qemu-img: Could not open 'n.qcow2': Volume is not in LUKS format\n"
