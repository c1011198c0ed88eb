# iotests/test_convert_pipeline.py — convert reading ahead of its writes (spec/architecture.md
# §Concurrency): the requests in flight (-m, -W) never change what is written, reads of compressed
# runs (whole, partial, decompressed in place or ahead) return the data, and a read that fails stops
# the copy with qemu's message after everything before it was written.
import shutil
import struct
import subprocess

import pytest

from conftest import incompressible

CLUSTER = 65536


def text(n, seed):
    words = [b"alpha", b"beta", b"gamma", b"delta", b"epsilon", b"zeta", b"eta", b"theta"]
    out = bytearray()
    x = seed
    while len(out) < n:
        x = (x * 1103515245 + 12345) & 0xffffffff
        out += words[(x >> 16) & 7] + b" "
    return bytes(out[:n])


def layout():
    """(offset, bytes): data, zeroes and holes in turn, pieces not aligned to clusters."""
    pieces = []
    offset = 0
    for i in range(40):
        size = (3 << 16) + 4096 * (i % 5) + 512 * (i % 3)
        kind = i % 4
        if kind == 0:
            pieces.append((offset, incompressible(size)))
        elif kind == 1:
            pieces.append((offset, text(size, i)))
        elif kind == 2:
            pieces.append((offset, bytes(size)))
        offset += size
    return pieces, offset


def guest(pieces, size):
    data = bytearray(size)
    for offset, piece in pieces:
        data[offset:offset + len(piece)] = piece
    return bytes(data)


@pytest.fixture
def source(qimg):
    pieces, size = layout()
    for offset, piece in pieces:
        qimg.write("in.raw", offset, piece)
    with open(qimg.path("in.raw"), "r+b") as fh:
        fh.truncate(size)
    qimg.ok("convert", "-f", "raw", "-O", "qcow2", "in.raw", "in.qcow2")
    qimg.ok("convert", "-c", "-f", "raw", "-O", "qcow2", "in.raw", "in-c.qcow2")
    return guest(pieces, size)


@pytest.mark.parametrize("name", ["in.raw", "in.qcow2", "in-c.qcow2"])
@pytest.mark.parametrize("fmt", ["raw", "qcow2"])
def test_requests_in_flight_do_not_change_the_result(qimg, source, name, fmt):
    results = []
    for options in (["-m", "1"], ["-m", "2"], []):
        out = f"out{len(results)}.{fmt}"
        qimg.ok("convert", *options, "-O", fmt, name, out)
        results.append(qimg.read(out))
    assert all(r == results[0] for r in results[1:])
    # out of order (-W) the allocation may differ (it does in qemu), the guest data may not
    qimg.ok("convert", "-W", "-m", "16", "-O", fmt, name, "out-w." + fmt)
    for out in ("out0." + fmt, "out-w." + fmt):
        qimg.ok("convert", "-O", "raw", out, "back.raw")
        assert qimg.read("back.raw") == source


@pytest.mark.parametrize("bs", ["512", "1536", "64k", "192k", "2M"])
def test_compressed_reads_of_any_size(qimg, source, bs):
    qimg.ok("dd", "-f", "qcow2", "-O", "raw", f"bs={bs}", "if=in-c.qcow2", "of=dd.raw")
    assert qimg.read("dd.raw") == source
    assert qimg.ok("compare", "in-c.qcow2", "in.raw").stdout == "Images are identical.\n"


def l2_entry_offset(image, guest_offset):
    """Where in the file the L2 entry of the guest offset lies (an image of 64 KiB clusters)."""
    with open(image, "rb") as fh:
        header = fh.read(104)
        l1_offset = struct.unpack(">Q", header[40:48])[0]
        fh.seek(l1_offset + 8 * (guest_offset // (CLUSTER * 8192)))
        l2 = struct.unpack(">Q", fh.read(8))[0] & 0x00fffffffffffe00
        return l2 + 8 * ((guest_offset // CLUSTER) % 8192)


def test_failed_read_stops_the_copy(qimg):
    data = b"".join(text(CLUSTER, i) for i in range(64))
    qimg.write("t.raw", 0, data)
    qimg.ok("convert", "-c", "-f", "raw", "-O", "qcow2", "t.raw", "t.qcow2")
    bad = 37 * CLUSTER
    with open(qimg.path("t.qcow2"), "r+b") as fh:
        fh.seek(l2_entry_offset(qimg.path("t.qcow2"), bad))
        entry = struct.unpack(">Q", fh.read(8))[0]
        assert entry & (1 << 62), "the cluster is compressed"
        fh.seek(entry & ((1 << 54) - 1))
        fh.write(b"\xff" * 64)  # a final block of the reserved type
    p = qimg.run("convert", "-O", "raw", "t.qcow2", "out.raw")
    assert p.returncode == 1
    assert p.stderr == f"qemu-img: error while reading at byte {bad}: Input/output error\n"
    # what was written is the source's (qimg writes in order up to the failure; qemu's workers
    # may stop earlier)
    out = qimg.read("out.raw")
    for i in range(0, bad, CLUSTER):
        assert out[i:i + CLUSTER] in (data[i:i + CLUSTER], bytes(CLUSTER))


def writeback_requests(qimg, *args):
    """Runs qemu-img under strace; returns how many times it asked the host to start writing back."""
    assert shutil.which("strace"), "strace is missing: run make deps"
    log = qimg.path("strace.log")
    p = subprocess.run(["strace", "-f", "-o", log, "-e", "trace=sync_file_range", qimg.binary, *args],
                       cwd=qimg.dir, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    with open(log) as fh:
        return sum(1 for line in fh if "sync_file_range(" in line)


@pytest.mark.parametrize("fmt", ["raw", "qcow2"])
def test_target_is_written_back_while_the_copy_goes_on(qimg, fmt):
    """qimg's own behaviour (qemu-img does not ask for writeback): run against qemu-img it fails."""
    qimg.write("big.raw", 0, incompressible(40 << 20))
    qimg.write("small.raw", 0, incompressible(1 << 20))
    # 40 MiB: the host is asked to start writing back every 8 MiB; 1 MiB: never; nothing else asks
    assert writeback_requests(qimg, "convert", "-f", "raw", "-O", fmt, "big.raw", "out-big." + fmt) >= 4
    assert writeback_requests(qimg, "convert", "-f", "raw", "-O", fmt, "small.raw", "out-small." + fmt) == 0
    assert writeback_requests(qimg, "dd", "-f", "raw", "-O", fmt, "if=big.raw", "of=out-dd." + fmt) == 0
    qimg.ok("convert", "-O", "raw", "out-big." + fmt, "back.raw")
    assert qimg.read("back.raw") == qimg.read("big.raw")


def damaged_copy(qimg, name, data, bad):
    """A compressed qcow2 of data whose cluster at bad does not decompress."""
    qimg.write(name + ".raw", 0, data)
    qimg.ok("convert", "-c", "-f", "raw", "-O", "qcow2", name + ".raw", name)
    with open(qimg.path(name), "r+b") as fh:
        fh.seek(l2_entry_offset(qimg.path(name), bad))
        entry = struct.unpack(">Q", fh.read(8))[0]
        fh.seek(entry & ((1 << 54) - 1))
        fh.write(b"\xff" * 64)


@pytest.mark.parametrize("damaged", ["first", "second", "both"])
def test_compare_reads_both_images_at_once(qimg, damaged):
    """compare reads the second image on a helper thread; a failure is still reported as a sequential
    compare reports it: the first image's before the second's."""
    data = b"".join(text(CLUSTER, i) for i in range(48))
    bad = 40 * CLUSTER
    for name in ("a.qcow2", "b.qcow2"):
        if damaged in ("both", name[0] == "a" and "first" or "second"):
            damaged_copy(qimg, name, data, bad)
        else:
            qimg.write(name + ".raw", 0, data)
            qimg.ok("convert", "-c", "-f", "raw", "-O", "qcow2", name + ".raw", name)
    p = qimg.run("compare", "a.qcow2", "b.qcow2")
    assert p.returncode == 4
    culprit = "b.qcow2" if damaged == "second" else "a.qcow2"
    assert p.stderr == f"qemu-img: Error while reading offset {bad} of {culprit}: Input/output error\n"


@pytest.mark.parametrize("bs", ["64k", "1M", "8M"])
def test_dd_stops_at_a_failed_read(qimg, bs):
    """dd reads ahead of its writes (small blocks) or not (bs over 4 MiB); a failed read is reported
    after the blocks before it, as qemu-img dd reports it."""
    data = b"".join(text(CLUSTER, i) for i in range(160))
    bad = 150 * CLUSTER
    damaged_copy(qimg, "d.qcow2", data, bad)
    p = qimg.run("dd", "-f", "qcow2", "-O", "raw", f"bs={bs}", "if=d.qcow2", "of=out.raw")
    assert p.returncode == 1
    assert p.stderr == "qemu-img: error while reading from input image file: Input/output error\n"
    out = qimg.read("out.raw")
    block = {"64k": CLUSTER, "1M": 1 << 20, "8M": 8 << 20}[bs]
    before = bad // block * block  # what the blocks before the failing one hold
    assert out[:before] == data[:before]
