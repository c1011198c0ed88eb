"""cloop fuzz seeds: cloop V2.0 images built byte by byte (qemu cannot create them): a few block
sizes, a short last block, empty images, and hostile headers and offsets tables that hit each open
and read check (spec/cloop.md). The builders are also used by iotests/test_cloop.py."""
import os
import struct
import zlib

from . import generator, save

PREAMBLE = (b"#!/bin/sh\n#V2.0 Format\nmodprobe cloop file=$0 && mount -r -t iso9660 /dev/cloop $1\n"
            b"exit $?\n")


def image(block_size=65536, blocks=None, n_blocks=None, offsets=None, preamble=PREAMBLE, tail=b""):
    """A whole image: blocks (uncompressed, each block_size bytes) are zlib-compressed in order;
    n_blocks and offsets override what the blocks imply."""
    blocks = blocks if blocks is not None else []
    compressed = [zlib.compress(b, 9) for b in blocks]
    count = n_blocks if n_blocks is not None else len(compressed)
    head = bytearray(128)
    head[:len(preamble)] = preamble
    head = bytes(head) + struct.pack(">II", block_size, count)
    if offsets is None:
        offset = len(head) + 8 * (len(compressed) + 1)
        offsets = [offset]
        for c in compressed:
            offset += len(c)
            offsets.append(offset)
    return head + b"".join(struct.pack(">Q", o) for o in offsets) + b"".join(compressed) + tail


def pattern(size, seed):
    return bytes((seed + i * 13) & 0xFF for i in range(size))


SEEDS = {
    "three-blocks": lambda: image(4096, [pattern(4096, 1), b"\0" * 4096, pattern(4096, 7)]),
    "one-64k": lambda: image(65536, [b"\x5a" * 65536]),
    "block-512": lambda: image(512, [pattern(512, i) for i in range(8)]),
    "empty": lambda: image(65536, [], n_blocks=0, offsets=[144]),
    "short-block": lambda: image(4096, [pattern(4096, 2), b"x" * 100]),
    "block-size-0": lambda: image(0),
    "block-size-odd": lambda: image(513),
    "block-size-big": lambda: image(64 * 1024 * 1024 + 512),
    "n-blocks-big": lambda: image(512, n_blocks=0xFFFFFFFF, offsets=[]),
    "offsets-wrap": lambda: image(512, n_blocks=(0xFFFFFFFF - 1) // 8, offsets=[]),
    "too-many-offsets": lambda: image(512, n_blocks=64 * 1024 * 1024, offsets=[]),
    "offsets-past-eof": lambda: image(512, n_blocks=4096, offsets=[200, 300]),
    "not-monotonic": lambda: image(512, n_blocks=2, offsets=[200, 300, 250]),
    "compressed-too-big": lambda: image(512, n_blocks=1, offsets=[200, 200 + 128 * 1024 * 1024 + 1]),
    "data-past-eof": lambda: image(512, n_blocks=1, offsets=[10000, 10050]),
}


@generator("cloop")
def cloop_seeds(qemu_img, work, out):
    count = 0
    for i, (name, build) in enumerate(sorted(SEEDS.items())):
        path = os.path.join(work, f"{name}.cloop")
        with open(path, "wb") as fh:
            fh.write(build())
        count += save(out, f"cloop-{name}", path, i)
    return count
