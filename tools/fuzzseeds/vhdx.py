"""vhdx fuzz seeds: compact VHDX images built byte by byte (the oracle's own images start at 8 MiB,
past the 1 MiB seed limit): headers, one region table (the second copy is never read), a small BAT and the metadata in 328 KiB, the log at 1 MiB
(past the end of the seed), every BAT block state, a block past the end of the file, one damaged
header, a stale log GUID, an unknown optional region, a differencing flag (spec/vhdx.md)."""
import os
import struct
import uuid

from . import generator, save

MIB = 1 << 20
BAT_OFFSET = 0x40000
METADATA_OFFSET = 0x41000
BAT_GUID = bytes.fromhex("6677c22d23f600429d64115e9bfd4a08")
METADATA_GUID = bytes.fromhex("06a27c8b90479a4bb8fe575f050f886e")
ITEMS = [("3767a1ca36fa434db3b633f0aa44e76b", 8, 4), ("2442a52f1bcd7648b2115dbed83bf4b8", 8, 6),
         ("ab12cabee6b2234593efc309e000c746", 16, 6), ("1dbf41816fa90947ba47f233a8faab5f", 4, 6),
         ("c748a3cd5d4471449cc9e9885251c556", 4, 6)]


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


def seal(d, offset, length):
    """Stores the CRC-32C of d[offset:offset+length] (checksum field zeroed) at offset + 4."""
    d[offset + 4:offset + 8] = b"\0" * 4
    d[offset + 4:offset + 8] = struct.pack("<I", crc32c(bytes(d[offset:offset + length])))


def header(d, offset, sequence, log_guid=b"\0" * 16):
    d[offset:offset + 4] = b"head"
    d[offset + 8:offset + 16] = struct.pack("<Q", sequence)
    d[offset + 16:offset + 48] = uuid.UUID(int=sequence).bytes * 2
    d[offset + 48:offset + 64] = log_guid
    d[offset + 64:offset + 80] = struct.pack("<HHIQ", 0, 1, MIB, MIB)
    seal(d, offset, 4096)


def region_table(d, offset, extra=None):
    entries = [(BAT_GUID, BAT_OFFSET, 0x1000, 0), (METADATA_GUID, METADATA_OFFSET, 0x11000, 0)]
    if extra:
        entries.append(extra)
    d[offset:offset + 4] = b"regi"
    d[offset + 8:offset + 12] = struct.pack("<I", len(entries))
    for i, (guid, where, length, required) in enumerate(entries):
        e = offset + 16 + 32 * i
        d[e:e + 16] = guid
        d[e + 16:e + 32] = struct.pack("<QII", where, length, required)
    seal(d, offset, 0x10000)


def metadata(d, size, block_size, flags):
    m = METADATA_OFFSET
    d[m:m + 8] = b"metadata"
    d[m + 10:m + 12] = struct.pack("<H", len(ITEMS))
    at = 0x10000
    for i, (guid, length, item_flags) in enumerate(ITEMS):
        e = m + 32 + 32 * i
        d[e:e + 16] = bytes.fromhex(guid)
        d[e + 16:e + 28] = struct.pack("<III", at, length, item_flags)
        at += length
    data = m + 0x10000
    d[data:data + 16] = struct.pack("<IIQ", block_size, flags, size)
    d[data + 16:data + 32] = uuid.UUID(int=size).bytes
    d[data + 32:data + 40] = struct.pack("<II", 512, 512)


def image(states, size=4 * MIB, block_size=MIB, flags=0, total=0x52000, extra_region=None, log_guid=b"\0" * 16):
    """A compact image whose BAT holds states (entries as 64-bit values)."""
    d = bytearray(total)
    d[0:8] = b"vhdxfile"
    header(d, 0x10000, 10, log_guid)
    header(d, 0x20000, 11, log_guid)
    region_table(d, 0x30000, extra_region)
    metadata(d, size, block_size, flags)
    for i, entry in enumerate(states):
        d[BAT_OFFSET + 8 * i:BAT_OFFSET + 8 * i + 8] = struct.pack("<Q", entry)
    return d


def variants():
    yield "zero", image([2, 2, 2, 2])
    yield "not-present", image([0, 0, 0, 0])
    yield "states", image([1, 3, 5, 7, 4])
    yield "past-eof", image([(100 << 20) | 6, 2, 2, 2])
    yield "overlap", image([(0 << 20) | 6, 2, 2, 2])
    damaged = image([2, 2, 2, 2])
    damaged[0x10100] ^= 1
    yield "header1-bad", damaged
    newer = image([2, 2, 2, 2])
    header(newer, 0x10000, 12)
    yield "header1-newer", newer
    yield "stale-log-guid", image([2, 2, 2, 2], log_guid=bytes(range(1, 17)))
    yield "optional-region", image([2, 2, 2, 2], extra_region=(bytes(range(16)), 0x90000, 0x10000, 0))
    yield "required-region", image([2, 2, 2, 2], extra_region=(bytes(range(16)), 0x90000, 0x10000, 1))
    yield "parent", image([2, 2, 2, 2], flags=2)
    yield "big-blocks", image([2], size=200 * MIB, block_size=256 * MIB)
    yield "size-zero", image([], size=0)


@generator("vhdx")
def vhdx_seeds(qemu_img, work, out):
    count = 0
    for i, (name, data) in enumerate(variants()):
        path = os.path.join(work, f"{name}.vhdx")
        with open(path, "wb") as fh:
            fh.write(data)
        count += save(out, f"vhdx-{name}", path, i)
    return count
