"""dmg fuzz seeds: UDIF images built byte by byte (qemu cannot create them): a koly trailer with an
XML property list or a resource fork holding mish block tables whose chunks are zlib, bzip2, ADC,
raw, zero, ignore, comment and terminator entries, plus hostile trailers and tables that hit each
bound (spec/dmg.md). The builders are also used by iotests/test_dmg.py."""
import base64
import bz2
import os
import struct
import zlib

from . import generator, save

ZERO, RAW, IGNORE = 0, 1, 2
ADC, ZLIB, BZIP2, LZFSE = 0x80000004, 0x80000005, 0x80000006, 0x80000007
COMMENT, TERMINATOR = 0x7FFFFFFE, 0xFFFFFFFF


def koly(data_fork_offset=0, rsrc=(0, 0), plist=(0, 0), sectors=0):
    """The 512-byte big-endian UDIF trailer."""
    t = bytearray(512)
    t[0:4] = b"koly"
    struct.pack_into(">III", t, 4, 4, 512, 1)
    struct.pack_into(">Q", t, 0x18, data_fork_offset)
    struct.pack_into(">QQ", t, 0x28, *rsrc)
    struct.pack_into(">QQ", t, 0xD8, *plist)
    struct.pack_into(">I", t, 0x1E8, 1)
    struct.pack_into(">Q", t, 0x1EC, sectors)
    return bytes(t)


def mish(chunks, first_sector=0, data_offset=0, declared=None):
    """A mish block: chunks are (type, sector, sector count, offset, length) tuples."""
    m = bytearray(204)
    m[0:4] = b"mish"
    struct.pack_into(">IQQQ", m, 4, 1, first_sector, sum(c[2] for c in chunks), data_offset)
    struct.pack_into(">I", m, 200, len(chunks) if declared is None else declared)
    for c in chunks:
        m += struct.pack(">IIQQQQ", c[0], 0, c[1], c[2], c[3], c[4])
    return bytes(m)


def plist(blocks, wrap=True):
    """An XML property list holding each block base64-encoded in a <data> element."""
    items = ""
    for b in blocks:
        text = base64.b64encode(b).decode()
        if wrap:
            text = "\n\t\t\t\t".join(text[i:i + 52] for i in range(0, len(text), 52))
        items += f"\t\t\t<dict>\n\t\t\t\t<key>Data</key>\n\t\t\t\t<data>\n\t\t\t\t{text}\n\t\t\t\t</data>\n\t\t\t</dict>\n"
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">\n<dict>\n\t<key>resource-fork</key>\n'
            f'\t<dict>\n\t\t<key>blkx</key>\n\t\t<array>\n{items}\t\t</array>\n\t</dict>\n</dict>\n</plist>\n').encode()


def resource_fork(blocks):
    """A resource fork: a 16-byte header, then each block prefixed by its 32-bit length."""
    data = b"".join(struct.pack(">I", len(b)) + b for b in blocks)
    return struct.pack(">IIII", 16, 16 + len(data), len(data), 0) + data


def encode(kind, data):
    if kind == ZLIB:
        return zlib.compress(data, 9)
    if kind == BZIP2:
        return bz2.compress(data, 9)
    if kind == ADC:
        return adc_literal(data)
    return data


def adc_literal(data):
    """ADC as plain literal runs (at most 128 bytes each), plus one back reference when the data
    repeats its first byte (exercises the copy codes)."""
    out = b""
    for i in range(0, len(data), 128):
        piece = data[i:i + 128]
        out += bytes([0x80 | (len(piece) - 1)]) + piece
    return out


def image(pieces, use_plist=True, sectors=None, data_fork_offset=0, extra_chunks=(), blocks_split=1):
    """An image whose data fork holds pieces, a list of (type, uncompressed bytes or sector count);
    the table is one mish block (or blocks_split of them)."""
    data = b""
    chunks = []
    sector = 0
    for kind, content in pieces:
        if isinstance(content, int):
            chunks.append((kind, sector, content, len(data), 0))
            sector += content
            continue
        stored = encode(kind, content)
        chunks.append((kind, sector, len(content) // 512, len(data), len(stored)))
        data += stored
        sector += len(content) // 512
    chunks += list(extra_chunks)
    per = max(1, (len(chunks) + blocks_split - 1) // blocks_split)
    tables = [mish(chunks[i:i + per]) for i in range(0, len(chunks), per)]
    table = plist(tables) if use_plist else resource_fork(tables)
    where = (0, 0), (len(data), len(table))
    if not use_plist:
        where = (len(data), len(table)), (0, 0)
    return data + table + koly(data_fork_offset, rsrc=where[0], plist=where[1],
                               sectors=sector if sectors is None else sectors)


def pattern(size, seed):
    return bytes((seed + i * 11) & 0xFF for i in range(size))


SEEDS = {
    "zlib": lambda: image([(ZLIB, pattern(4096, 1)), (ZERO, 8), (RAW, pattern(1024, 2))]),
    "bzip2": lambda: image([(BZIP2, pattern(2048, 3)), (IGNORE, 4), (ZLIB, b"\0" * 512)]),
    "adc": lambda: image([(ADC, pattern(1024, 4)), (RAW, pattern(512, 5))]),
    "lzfse": lambda: image([(LZFSE, pattern(1024, 4)), (RAW, pattern(512, 5))]),
    "rsrc": lambda: image([(ZLIB, pattern(2048, 6)), (RAW, pattern(512, 7))], use_plist=False),
    "split-tables": lambda: image([(RAW, pattern(512, i)) for i in range(6)], blocks_split=3),
    "comment-terminator": lambda: image([(RAW, pattern(512, 8))],
                                        extra_chunks=[(COMMENT, 0, 0, 0, 0), (TERMINATOR, 1, 0, 0, 0)]),
    "hole": lambda: image([(RAW, pattern(512, 9))], sectors=16),
    "sector-count-big": lambda: image([(RAW, pattern(512, 9))],
                                      extra_chunks=[(ZLIB, 1, 0x20001, 0, 16)]),
    "length-big": lambda: image([(RAW, pattern(512, 9))], extra_chunks=[(RAW, 1, 1, 0, 0x4000001)]),
    "no-koly": lambda: pattern(4096, 1),
    "tiny": lambda: b"koly" + b"\0" * 100,
    "zero-huge": lambda: image([(ZERO, 1 << 40)]),
    "bad-zlib": lambda: image([(ZLIB, pattern(1024, 1))])[:40] + b"\0" * 40 + image([(ZLIB, pattern(1024, 1))])[80:],
}


@generator("dmg")
def dmg_seeds(qemu_img, work, out):
    count = 0
    for i, (name, build) in enumerate(sorted(SEEDS.items())):
        path = os.path.join(work, f"{name}.dmg")
        with open(path, "wb") as fh:
            fh.write(build())
        count += save(out, f"dmg-{name}", path, i)
    return count
