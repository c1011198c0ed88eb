# iotests/test_compress_parallel.py — compressed writes and reads done on every core
# (spec/formats-common.md §Compression in parallel): requests of many batches, clusters that do and
# do not shrink, a short last cluster; the data must read back whole and check must find nothing.
import json

import pytest

from conftest import incompressible


def mixed(size):
    """Text-like, incompressible and zero stretches in turn, 96 KiB each (not cluster aligned)."""
    words = b"lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
    out = bytearray()
    i = 0
    while len(out) < size:
        kind = i % 3
        piece = (words * 1300)[:96 << 10] if kind == 0 else incompressible(96 << 10) if kind == 1 else bytes(96 << 10)
        out += piece
        i += 1
    return bytes(out[:size])


@pytest.mark.parametrize("options", ["compression_type=zlib", "compression_type=zstd", "cluster_size=4096",
                                     "cluster_size=2M"])
def test_compressed_round_trip(qimg, options):
    data = mixed((9 << 20) + 12345)  # several 4 MiB batches and a short last cluster
    qimg.write("in.raw", 0, data)
    qimg.ok("convert", "-c", "-f", "raw", "-O", "qcow2", "-o", options, "in.raw", "c.qcow2")
    extents = json.loads(qimg.ok("map", "--output=json", "c.qcow2").stdout)
    assert any(e["compressed"] for e in extents)
    qimg.ok("convert", "-f", "qcow2", "-O", "raw", "c.qcow2", "out.raw")
    assert qimg.read("out.raw")[:len(data)] == data
    assert "No errors were found" in qimg.ok("check", "c.qcow2").stdout
