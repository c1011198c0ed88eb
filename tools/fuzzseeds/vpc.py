"""vpc fuzz seeds: dynamic and fixed VHD images of a few sizes made by the qemu-img under test,
dynamic images rewritten with a 4 KiB block size and a few allocated blocks (2 MiB blocks would make
seeds too large), images with Hyper-V / Virtual PC creators, and a few with damaged headers
(spec/vpc.md)."""
import os
import struct

from . import generator, run, save

SEED_BYTES = 60 * 1024  # each seed stays below 64 KiB

VPC_VARIANTS = [
    ("dynamic-0", [], "0"),
    ("dynamic-1m", [], "1M"),
    ("dynamic-64m", [], "64M"),
    ("dynamic-force", ["-o", "force_size=on"], "1000"),
    ("fixed-0", ["-o", "subformat=fixed"], "0"),
    ("fixed-32k", ["-o", "subformat=fixed"], "32k"),
]


def checksum(data, skip):
    """One's complement byte sum with the 4 bytes at skip counted as zero."""
    total = sum(data) - sum(data[skip:skip + 4])
    return ~total & 0xFFFFFFFF


def footer_fix(footer):
    footer[64:68] = b"\0\0\0\0"
    footer[64:68] = struct.pack(">I", checksum(footer, 64))


def small_block_image(size_bytes, blocks, creator=b"qemu", block_size=4096):
    """A dynamic VHD of size_bytes (current size; creator decides how it is read) with block_size
    blocks; blocks lists (index, byte) blocks to allocate filled with that byte."""
    entries = (size_bytes + block_size - 1) // block_size
    table_bytes = (entries * 4 + 511) // 512 * 512
    footer = bytearray(512)
    footer[0:8] = b"conectix"
    struct.pack_into(">IIQI", footer, 8, 2, 0x10000, 512, 0)
    footer[28:32] = creator
    struct.pack_into(">I", footer, 32, 0x00050003)
    footer[36:40] = b"Wi2k"
    struct.pack_into(">QQHBBI", footer, 40, size_bytes, size_bytes, 65535, 16, 255, 3)
    footer_fix(footer)
    header = bytearray(1024)
    header[0:8] = b"cxsparse"
    struct.pack_into(">QQIII", header, 8, 0xFFFFFFFFFFFFFFFF, 1536, 0x10000, entries, block_size)
    struct.pack_into(">I", header, 36, checksum(header, 36))
    table = bytearray(b"\xff" * table_bytes)
    data = bytearray()
    free = 1536 + table_bytes
    bitmap = (block_size // 4096 + 511) // 512 * 512  # qemu's: none below 4 KiB blocks
    for index, value in blocks:
        struct.pack_into(">I", table, index * 4, free // 512)
        data += b"\xff" * bitmap + bytes([value]) * block_size
        free += bitmap + block_size
    return bytes(footer + header + table + data + footer)


def patch(path, offset, fmt, value):
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(struct.pack(">" + fmt, value))


@generator("vpc")
def vpc_seeds(qemu_img, work, out):
    count = 0
    for i, (name, opts, size) in enumerate(VPC_VARIANTS):
        path = os.path.join(work, f"{name}.vhd")
        if run(qemu_img, "create", "-q", "-f", "vpc", *opts, path, size):
            count += save(out, f"vpc-{name}", path, i)
    crafted = [
        ("blocks", small_block_image(64 * 1024, [(0, 0x11), (3, 0x22), (1, 0x33)])),
        ("blocks-hyperv", small_block_image(40 * 1024, [(2, 0x44)], creator=b"win ")),
        ("blocks-vpc", small_block_image(40 * 1024, [(0, 0x55)], creator=b"vpc ")),
        ("blocks-512", small_block_image(8 * 1024, [(5, 0x66), (0, 0x77)], block_size=512)),
    ]
    for i, (name, image) in enumerate(crafted):
        path = os.path.join(work, f"{name}.vhd")
        with open(path, "wb") as fh:
            fh.write(image)
        count += save(out, f"vpc-{name}", path, 100 + i)
    damaged = [
        ("footer-checksum", [(64, "I", 0)]),
        ("block-size-odd", [(512 + 32, "I", 3000)]),
        ("table-entries-large", [(512 + 28, "I", 0x40000001)]),
        ("table-past-eof", [(512 + 16, "Q", 0x100000)]),
        ("header-magic", [(512, "Q", 0)]),
    ]
    for i, (name, patches) in enumerate(damaged):
        path = os.path.join(work, f"{name}.vhd")
        with open(path, "wb") as fh:
            fh.write(small_block_image(64 * 1024, [(0, 0x11), (2, 0x22)]))
        for offset, fmt, value in patches:
            patch(path, offset, fmt, value)
        count += save(out, f"vpc-{name}", path, 200 + i)
    return count
