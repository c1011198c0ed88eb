"""bochs fuzz seeds: Bochs growing images built byte by byte (qemu cannot create them): empty and
with data, version 1 and current headers, extents with partly set bitmaps, and hostile headers that
hit each open check (spec/bochs.md). The builders are also used by iotests/test_bochs.py."""
import os
import struct

from . import generator, save

MAGIC = b"Bochs Virtual HD Image"
VERSION_CURRENT = 0x00020000
VERSION_V1 = 0x00010000
UNALLOCATED = 0xFFFFFFFF


def header(version=VERSION_CURRENT, header_size=512, catalog=512, bitmap=512, extent=4096, disk=1032192,
           magic=MAGIC, kind=b"Redolog", subtype=b"Growing"):
    """The 512-byte header (v1 keeps the disk size at 84, the current version at 88)."""
    h = bytearray(512)
    h[0:len(magic)] = magic
    h[32:32 + len(kind)] = kind
    h[48:48 + len(subtype)] = subtype
    struct.pack_into("<IIIII", h, 64, version, header_size, catalog, bitmap, extent)
    struct.pack_into("<Q", h, 84 if version == VERSION_V1 else 88, disk)
    return bytes(h)


def image(extents=(), catalog=None, extent=4096, disk=None, **fields):
    """A whole image: extents is a list of (catalog index, bitmap bytes, data bytes) stored in order.
    Catalog entries default to unallocated."""
    count = catalog if catalog is not None else max(4, len(extents))
    disk = disk if disk is not None else count * extent
    entries = [UNALLOCATED] * count
    body = b""
    bitmap_bytes = fields.get("bitmap", 512)
    bitmap_room = 512 * (1 + (bitmap_bytes - 1) // 512)
    for slot, (index, bitmap, data) in enumerate(extents):
        entries[index] = slot
        body += bitmap.ljust(bitmap_room, b"\0")[:bitmap_room] + data.ljust(extent, b"\0")[:extent]
    return header(catalog=count, extent=extent, disk=disk, **fields) + \
        b"".join(struct.pack("<I", e) for e in entries) + body


def pattern(extent, seed):
    return bytes((seed + i * 7) & 0xFF for i in range(extent))


SEEDS = {
    "empty": lambda: image(catalog=512, disk=1032192),
    "data": lambda: image([(1, b"\xff", pattern(4096, 1)), (0, b"\x05", pattern(4096, 9))]),
    "v1": lambda: image([(2, b"\x81", pattern(4096, 3))], version=VERSION_V1),
    "small-extent": lambda: image([(0, b"\x01", b"\x77" * 512)], extent=512, catalog=8),
    "bitmap-0": lambda: image([(0, b"\xff", pattern(4096, 5))], bitmap=0)[:8192],
    "header-past-eof": lambda: header(header_size=0xFFFFFFF0, catalog=4, disk=16384) + b"\xff" * 1024,
    "catalog-too-large": lambda: header(catalog=0x100001),
    "catalog-too-small": lambda: image(catalog=2, disk=3 * 4096),
    "extent-small": lambda: header(extent=511),
    "extent-not-power": lambda: header(extent=4097),
    "extent-too-large": lambda: header(extent=0x1000000),
    "bad-version": lambda: header(version=0x30000),
    "entry-past-eof": lambda: header(catalog=4, disk=16384) + struct.pack("<4I", 1000, 0, UNALLOCATED, 1) + b"\xff" * 512,
}


@generator("bochs")
def bochs_seeds(qemu_img, work, out):
    count = 0
    for i, (name, build) in enumerate(sorted(SEEDS.items())):
        path = os.path.join(work, f"{name}.bochs")
        with open(path, "wb") as fh:
            fh.write(build())
        count += save(out, f"bochs-{name}", path, i)
    return count
