"""qcow2 corruption kinds: damage to the header, L1/L2 tables, refcounts, snapshots and bitmaps of a
qcow2 image (spec/qcow2-fields.md: the field tables they read; docs/repair.md)."""
import os
import struct

from . import SPEC, CorruptError, Fields, image_class, kind, spec_tables


@image_class("qcow2")
class Qcow2:
    """The parts of a qcow2 image the kinds touch."""

    def __init__(self, path):
        tables = spec_tables(os.path.join(SPEC, "qcow2-fields.md"))
        self.header = Fields(tables["Header"])
        self.snapshot_entry = Fields(tables["Snapshot table entry"])
        self.bitmaps_ext = Fields(tables["Bitmaps extension"])
        self.bitmap_entry = Fields(tables["Bitmap directory entry"])
        self.masks = {r["field"]: int(r["mask"], 16) for r in tables["Entry bits"]}
        self.path = path
        with open(path, "rb") as fh:
            self.data = bytearray(fh.read())
        if self.data[:4] != b"QFI\xfb":
            raise CorruptError("not a qcow2 image")
        h = lambda n: self.header.get(self.data, n)
        self.version = h("version")
        self.cluster_bits = h("cluster_bits")
        if not 9 <= self.cluster_bits <= 21:
            raise CorruptError("unsupported cluster size")
        self.cluster_size = 1 << self.cluster_bits
        self.refcount_order = h("refcount_order") if self.version >= 3 else 4
        self.l1_offset = h("l1_table_offset")
        self.l1_size = h("l1_size")
        self.refcount_table_offset = h("refcount_table_offset")
        self.refcount_table_clusters = h("refcount_table_clusters")
        self.header_length = h("header_length") if self.version >= 3 else 72

    # -- raw access --
    def u64(self, offset):
        return struct.unpack_from(">Q", self.data, offset)[0]

    def write(self, offset, raw):
        with open(self.path, "r+b") as fh:
            fh.seek(offset)
            fh.write(raw)
        self.data[offset:offset + len(raw)] = raw
        if len(self.data) < offset + len(raw):
            self.data.extend(b"\0" * (offset + len(raw) - len(self.data)))

    def write_u64(self, offset, value):
        self.write(offset, struct.pack(">Q", value & 0xFFFFFFFFFFFFFFFF))

    def set_header(self, name, value):
        offset, size = self.header.rows[name]
        self.write(offset, value.to_bytes(size, "big"))

    # -- tables --
    def l1_entries(self):
        return [(i, self.u64(self.l1_offset + 8 * i)) for i in range(self.l1_size)]

    def l2_tables(self):
        """(L1 index, L1 entry address, L2 table offset) of every allocated L2 table."""
        out = []
        for i, entry in self.l1_entries():
            offset = entry & self.masks["l1_offset"]
            if offset:
                out.append((i, self.l1_offset + 8 * i, offset))
        return out

    def l2_entry_size(self):
        incompatible = self.header.get(self.data, "incompatible_features") if self.version >= 3 else 0
        return 16 if incompatible & self.masks["incompatible_extended_l2"] else 8

    def data_entries(self, compressed=False):
        """(address of the L2 entry, entry) of every allocated data cluster, in guest order."""
        out = []
        step = self.l2_entry_size()
        for _, _, l2 in self.l2_tables():
            for j in range(self.cluster_size // step):
                address = l2 + j * step
                entry = self.u64(address)
                is_compressed = bool(entry & self.masks["l2_compressed"])
                if compressed != is_compressed:
                    continue
                if compressed or entry & self.masks["l2_offset"]:
                    out.append((address, entry))
        return out

    def refcount_width(self):
        return 1 << self.refcount_order

    def refcount_location(self, cluster):
        """(byte offset of the refcount block entry, bit shift, width) for cluster."""
        width = self.refcount_width()
        entries_per_block = self.cluster_size * 8 // width
        table_index = cluster // entries_per_block
        block = self.u64(self.refcount_table_offset + 8 * table_index) & self.masks["refcount_block_offset"]
        if not block:
            raise CorruptError(f"cluster {cluster} has no refcount block")
        bit = (cluster % entries_per_block) * width
        return block + bit // 8, bit % 8, width

    def refcount(self, cluster):
        byte, shift, width = self.refcount_location(cluster)
        if width >= 8:
            return int.from_bytes(self.data[byte:byte + width // 8], "big")
        return (self.data[byte] >> (8 - shift - width)) & ((1 << width) - 1)

    def set_refcount(self, cluster, value):
        byte, shift, width = self.refcount_location(cluster)
        if width >= 8:
            self.write(byte, value.to_bytes(width // 8, "big"))
        else:
            mask = ((1 << width) - 1) << (8 - shift - width)
            old = self.data[byte]
            self.write(byte, bytes([(old & ~mask) | ((value << (8 - shift - width)) & mask)]))

    def append_cluster(self, fill=b"\0"):
        """Adds one cluster at the (cluster-aligned) end of the file; returns its index."""
        end = (len(self.data) + self.cluster_size - 1) // self.cluster_size * self.cluster_size
        self.write(end, fill * self.cluster_size)
        return end // self.cluster_size

    def extensions(self):
        """(type, offset of the extension data, length) of every header extension."""
        out, offset = [], self.header_length
        end = self.cluster_size
        while offset + 8 <= end:
            ext_type, length = struct.unpack_from(">II", self.data, offset)
            if ext_type == 0:
                break
            out.append((ext_type, offset + 8, length))
            offset += 8 + (length + 7) // 8 * 8
        return out

    def first_data(self, index=0):
        entries = self.data_entries()
        if len(entries) <= index:
            raise CorruptError("the image needs more allocated data clusters")
        return entries[index]


BITMAPS_EXT = 0x23852875


# ---------------------------------------------------------------- qcow2 kinds
@kind("qcow2-leak", "an unreferenced cluster at the end of the file with refcount 1")
def qcow2_leak(img):
    cluster = img.append_cluster()
    img.set_refcount(cluster, 1)


@kind("qcow2-refcount-high", "the first data cluster's refcount one too high")
def qcow2_refcount_high(img):
    _, entry = img.first_data()
    cluster = (entry & img.masks["l2_offset"]) // img.cluster_size
    img.set_refcount(cluster, img.refcount(cluster) + 1)


@kind("qcow2-refcount-zero", "the first data cluster's refcount set to 0 while it is in use")
def qcow2_refcount_zero(img):
    _, entry = img.first_data()
    img.set_refcount((entry & img.masks["l2_offset"]) // img.cluster_size, 0)


@kind("qcow2-refcount-l2-zero", "the refcount of an L2 table set to 0")
def qcow2_refcount_l2_zero(img):
    tables = img.l2_tables()
    if not tables:
        raise CorruptError("no L2 table")
    img.set_refcount(tables[0][2] // img.cluster_size, 0)


@kind("qcow2-refcount-header-zero", "the refcount of the header cluster set to 0")
def qcow2_refcount_header_zero(img):
    img.set_refcount(0, 0)


@kind("qcow2-l2-past-eof", "the second data cluster's L2 entry points 1 TiB into the file (COPIED kept)")
def qcow2_l2_past_eof(img):
    address, entry = img.first_data(1)
    img.write_u64(address, img.masks["l2_copied"] | (1 << 40))


@kind("qcow2-l2-unaligned", "the second data cluster's L2 entry points 512 bytes into the first data cluster")
def qcow2_l2_unaligned(img):
    address, entry = img.first_data(1)
    first = img.first_data(0)[1] & img.masks["l2_offset"]
    img.write_u64(address, img.masks["l2_copied"] | (first + 512))


@kind("qcow2-l2-duplicate", "the second data cluster's L2 entry points at the first data cluster")
def qcow2_l2_duplicate(img):
    address, entry = img.first_data(1)
    img.write_u64(address, img.first_data(0)[1])


@kind("qcow2-l2-copied-missing", "the first data cluster's L2 entry loses its COPIED flag")
def qcow2_l2_copied_missing(img):
    address, entry = img.first_data()
    img.write_u64(address, entry & ~img.masks["l2_copied"])


@kind("qcow2-l2-points-to-header", "the first data cluster's L2 entry points at the header cluster")
def qcow2_l2_points_to_header(img):
    address, entry = img.first_data()
    # Offset 0 with COPIED: a data cluster that is the header (offset 0 alone would mean unallocated,
    # so the zero flag stays clear and the entry keeps its COPIED bit).
    img.write_u64(address, img.masks["l2_copied"] | img.cluster_size * 0x0)


@kind("qcow2-l2-points-to-refcount-block", "the first data cluster's L2 entry points at a refcount block")
def qcow2_l2_points_to_refcount_block(img):
    address, entry = img.first_data()
    block = img.u64(img.refcount_table_offset) & img.masks["refcount_block_offset"]
    img.write_u64(address, img.masks["l2_copied"] | block)


@kind("qcow2-l2-zero-unaligned", "the first data cluster becomes a zero cluster with an unaligned offset")
def qcow2_l2_zero_unaligned(img):
    address, entry = img.first_data()
    img.write_u64(address, (entry & img.masks["l2_offset"]) + 512 | img.masks["l2_zero"] | img.masks["l2_copied"])


@kind("qcow2-l1-unaligned", "the first L1 entry points 512 bytes past its L2 table")
def qcow2_l1_unaligned(img):
    tables = img.l2_tables()
    if not tables:
        raise CorruptError("no L2 table")
    _, address, l2 = tables[0]
    img.write_u64(address, img.masks["l1_copied"] | (l2 + 512))


@kind("qcow2-l1-past-eof", "the first L1 entry points 1 TiB into the file")
def qcow2_l1_past_eof(img):
    tables = img.l2_tables()
    if not tables:
        raise CorruptError("no L2 table")
    img.write_u64(tables[0][1], img.masks["l1_copied"] | (1 << 40))


@kind("qcow2-l1-copied-missing", "the first L1 entry loses its COPIED flag")
def qcow2_l1_copied_missing(img):
    tables = img.l2_tables()
    if not tables:
        raise CorruptError("no L2 table")
    _, address, _ = tables[0]
    img.write_u64(address, img.u64(address) & ~img.masks["l1_copied"])


@kind("qcow2-l1-points-to-l1", "the first L1 entry points at the L1 table itself")
def qcow2_l1_points_to_l1(img):
    tables = img.l2_tables()
    if not tables:
        raise CorruptError("no L2 table")
    img.write_u64(tables[0][1], img.masks["l1_copied"] | (img.l1_offset // img.cluster_size * img.cluster_size))


@kind("qcow2-refcount-table-unaligned", "the first refcount table entry points 512 bytes into its block")
def qcow2_refcount_table_unaligned(img):
    block = img.u64(img.refcount_table_offset)
    img.write_u64(img.refcount_table_offset, block + 512)


@kind("qcow2-refcount-table-past-eof", "the first refcount table entry points 1 TiB into the file")
def qcow2_refcount_table_past_eof(img):
    img.write_u64(img.refcount_table_offset, 1 << 40)


@kind("qcow2-refcount-table-empty", "the first refcount table entry is cleared (its block leaks)")
def qcow2_refcount_table_empty(img):
    img.write_u64(img.refcount_table_offset, 0)


@kind("qcow2-refcount-block-garbage", "the first refcount block is filled with 0xff")
def qcow2_refcount_block_garbage(img):
    block = img.u64(img.refcount_table_offset) & img.masks["refcount_block_offset"]
    img.write(block, b"\xff" * img.cluster_size)


@kind("qcow2-corrupt-bit", "the corrupt incompatible feature bit set")
def qcow2_corrupt_bit(img):
    if img.version < 3:
        raise CorruptError("compat=0.10 has no feature bits")
    value = img.header.get(img.data, "incompatible_features") | img.masks["incompatible_corrupt"]
    img.set_header("incompatible_features", value)


@kind("qcow2-dirty", "the dirty incompatible feature bit set (lazy refcounts)", needs="lazy_refcounts=on")
def qcow2_dirty(img):
    if img.version < 3:
        raise CorruptError("compat=0.10 has no feature bits")
    value = img.header.get(img.data, "incompatible_features") | img.masks["incompatible_dirty"]
    img.set_header("incompatible_features", value)


@kind("qcow2-header-unknown-incompatible", "an unknown incompatible feature bit (bit 40) set")
def qcow2_header_unknown_incompatible(img):
    if img.version < 3:
        raise CorruptError("compat=0.10 has no feature bits")
    img.set_header("incompatible_features", img.header.get(img.data, "incompatible_features") | (1 << 40))


@kind("qcow2-header-version", "the version field set to 4")
def qcow2_header_version(img):
    img.set_header("version", 4)


@kind("qcow2-header-cluster-bits", "cluster_bits set to 8 (256-byte clusters)")
def qcow2_header_cluster_bits(img):
    img.set_header("cluster_bits", 8)


@kind("qcow2-header-refcount-order", "refcount_order set to 7 (128-bit refcounts)")
def qcow2_header_refcount_order(img):
    if img.version < 3:
        raise CorruptError("compat=0.10 has no refcount order")
    img.set_header("refcount_order", 7)


@kind("qcow2-header-l1-unaligned", "l1_table_offset not aligned to a cluster")
def qcow2_header_l1_unaligned(img):
    img.set_header("l1_table_offset", img.l1_offset + 8)


@kind("qcow2-header-l1-size-huge", "l1_size far larger than the file")
def qcow2_header_l1_size_huge(img):
    img.set_header("l1_size", 0x0FFFFFFF)


@kind("qcow2-header-l1-size-small", "l1_size too small for the virtual size")
def qcow2_header_l1_size_small(img):
    img.set_header("size", img.header.get(img.data, "size") * 1024)


@kind("qcow2-header-refcount-table-unaligned", "refcount_table_offset not aligned to a cluster")
def qcow2_header_refcount_table_unaligned(img):
    img.set_header("refcount_table_offset", img.refcount_table_offset + 8)


@kind("qcow2-header-refcount-table-huge", "refcount_table_clusters larger than the file")
def qcow2_header_refcount_table_huge(img):
    img.set_header("refcount_table_clusters", 0x00FFFFFF)


@kind("qcow2-header-backing-past-eof", "a backing file name said to lie past the end of the header cluster")
def qcow2_header_backing_past_eof(img):
    img.set_header("backing_file_offset", img.cluster_size * 4096)
    img.set_header("backing_file_size", 16)


@kind("qcow2-header-snapshots-past-eof", "nb_snapshots 1 with the snapshot table 1 TiB into the file")
def qcow2_header_snapshots_past_eof(img):
    img.set_header("nb_snapshots", 1)
    img.set_header("snapshots_offset", 1 << 40)


@kind("qcow2-header-crypt-method", "crypt_method set to an unknown value (7)")
def qcow2_header_crypt_method(img):
    img.set_header("crypt_method", 7)


@kind("qcow2-compressed-past-eof", "the first compressed cluster's descriptor points past the end of the file",
      needs="compressed clusters (convert -c)")
def qcow2_compressed_past_eof(img):
    entries = img.data_entries(compressed=True)
    if not entries:
        raise CorruptError("no compressed cluster")
    address, entry = entries[0]
    offset_bits = 62 - (img.cluster_bits - 8)
    sectors = entry >> offset_bits & ((1 << (img.cluster_bits - 8)) - 1)
    img.write_u64(address, img.masks["l2_compressed"] | (sectors << offset_bits) | (1 << 40))


@kind("qcow2-snapshot-l1-unaligned", "the first snapshot's L1 table offset is not cluster aligned",
      needs="an internal snapshot")
def qcow2_snapshot_l1_unaligned(img):
    if img.header.get(img.data, "nb_snapshots") == 0:
        raise CorruptError("no snapshot")
    base = img.header.get(img.data, "snapshots_offset")
    offset = img.snapshot_entry.get(img.data, "l1_table_offset", base)
    with open(img.path, "r+b") as fh:
        img.snapshot_entry.put(fh, "l1_table_offset", offset + 8, base)


@kind("qcow2-snapshot-l1-size-huge", "the first snapshot's L1 table claims 2^28 entries",
      needs="an internal snapshot")
def qcow2_snapshot_l1_size_huge(img):
    if img.header.get(img.data, "nb_snapshots") == 0:
        raise CorruptError("no snapshot")
    base = img.header.get(img.data, "snapshots_offset")
    with open(img.path, "r+b") as fh:
        img.snapshot_entry.put(fh, "l1_size", 1 << 28, base)


@kind("qcow2-bitmap-directory-past-eof", "the bitmap directory said to lie 1 TiB into the file",
      needs="a persistent bitmap")
def qcow2_bitmap_directory_past_eof(img):
    for ext_type, offset, length in img.extensions():
        if ext_type == BITMAPS_EXT:
            with open(img.path, "r+b") as fh:
                img.bitmaps_ext.put(fh, "bitmap_directory_offset", 1 << 40, offset)
            return
    raise CorruptError("no bitmaps extension")


def bitmap_directory(img):
    """Offset of the bitmap directory (raises when the image has no bitmaps)."""
    for ext_type, offset, length in img.extensions():
        if ext_type == BITMAPS_EXT:
            return img.bitmaps_ext.get(img.data, "bitmap_directory_offset", offset)
    raise CorruptError("no bitmaps extension")


def put_field(img, fields, name, value, base):
    with open(img.path, "r+b") as fh:
        fields.put(fh, name, value, base)
    img.data[:] = open(img.path, "rb").read()


@kind("qcow2-bitmap-in-use", "the first bitmap's in_use flag set (an inconsistent bitmap)", needs="a persistent bitmap")
def qcow2_bitmap_in_use(img):
    base = bitmap_directory(img)
    put_field(img, img.bitmap_entry, "flags", img.bitmap_entry.get(img.data, "flags", base) | 1, base)


@kind("qcow2-bitmap-table-past-eof", "the first bitmap's table said to lie 1 TiB into the file",
      needs="a persistent bitmap")
def qcow2_bitmap_table_past_eof(img):
    put_field(img, img.bitmap_entry, "bitmap_table_offset", 1 << 40, bitmap_directory(img))


@kind("qcow2-bitmap-granularity", "the first bitmap's granularity_bits set to 63", needs="a persistent bitmap")
def qcow2_bitmap_granularity(img):
    put_field(img, img.bitmap_entry, "granularity_bits", 63, bitmap_directory(img))


@kind("qcow2-snapshot-table-unaligned", "the snapshot table offset moved off its cluster boundary",
      needs="an internal snapshot")
def qcow2_snapshot_table_unaligned(img):
    if img.header.get(img.data, "nb_snapshots") == 0:
        raise CorruptError("no snapshot")
    img.set_header("snapshots_offset", img.header.get(img.data, "snapshots_offset") + 8)


@kind("qcow2-snapshot-l1-past-eof", "the first snapshot's L1 table said to lie 1 TiB into the file",
      needs="an internal snapshot")
def qcow2_snapshot_l1_past_eof(img):
    if img.header.get(img.data, "nb_snapshots") == 0:
        raise CorruptError("no snapshot")
    put_field(img, img.snapshot_entry, "l1_table_offset", 1 << 40, img.header.get(img.data, "snapshots_offset"))


