"""qcow (v1) corruption kinds: damage to the header and the L1/L2 tables of a QCOW v1 image
(spec/qcow.md: the field tables they read). qemu 10.2 has no check for qcow: the kinds that still
open record "This image format does not support checks"; the others record qemu's open error."""
import os

from . import SPEC, CorruptError, Fields, ImageFile, image_class, kind, spec_tables


@image_class("qcow")
class Qcow(ImageFile):
    """The header and tables of a qcow image."""

    def __init__(self, path):
        super().__init__(path)
        tables = spec_tables(os.path.join(SPEC, "qcow.md"))
        self.header = Fields(tables["Header"])
        if self.data[:4] != b"QFI\xfb" or self.field("version") != 1:
            raise CorruptError("not a qcow image")
        self.cluster_bits = self.field("cluster_bits")
        self.l2_bits = self.field("l2_bits")
        span = 1 << (self.cluster_bits + self.l2_bits)
        self.l1_offset = self.field("l1_table_offset")
        self.l1_size = (self.field("size") + span - 1) // span

    def field(self, name):
        return self.header.get(self.data, name)

    def set_field(self, name, value):
        offset, size = self.header.rows[name]
        self.write(offset, value.to_bytes(size, "big"))

    def l2_tables(self):
        """(L1 entry address, L2 table offset) of every allocated L2 table."""
        out = []
        for i in range(self.l1_size):
            entry = self.u64(self.l1_offset + 8 * i, ">")
            if entry:
                out.append((self.l1_offset + 8 * i, entry))
        return out

    def data_entries(self):
        """(address of the L2 entry, entry) of every allocated data cluster, in guest order."""
        out = []
        for _, table in self.l2_tables():
            for j in range(1 << self.l2_bits):
                entry = self.u64(table + 8 * j, ">")
                if entry:
                    out.append((table + 8 * j, entry))
        return out

    def first_data(self, index=0):
        entries = self.data_entries()
        if len(entries) <= index:
            raise CorruptError("not enough data clusters")
        return entries[index]


@kind("qcow-l1-past-eof", "the L1 table offset moved 1 TiB past the end of the file")
def qcow_l1_past_eof(img):
    img.set_field("l1_table_offset", 1 << 40)


@kind("qcow-l2-past-eof", "the second data cluster's L2 entry points 1 TiB into the file")
def qcow_l2_past_eof(img):
    address, _ = img.first_data(1)
    img.write_u64(address, 1 << 40, ">")


@kind("qcow-l2-table-past-eof", "the first L1 entry points to an L2 table 1 TiB into the file")
def qcow_l2_table_past_eof(img):
    tables = img.l2_tables()
    if not tables:
        raise CorruptError("no L2 table")
    img.write_u64(tables[0][0], 1 << 40, ">")


@kind("qcow-compressed-garbage", "the first data cluster's L2 entry marked compressed over plain data")
def qcow_compressed_garbage(img):
    address, entry = img.first_data()
    img.write_u64(address, (1 << 63) | (100 << (63 - img.cluster_bits)) | entry, ">")


@kind("qcow-cluster-bits", "cluster_bits set to 8 (256-byte clusters)")
def qcow_cluster_bits(img):
    img.set_field("cluster_bits", 8)


@kind("qcow-l2-bits", "l2_bits set to 14 (128 KiB L2 tables)")
def qcow_l2_bits(img):
    img.set_field("l2_bits", 14)


@kind("qcow-huge-size", "the virtual size set to 2^60 bytes (an L1 table qemu refuses)")
def qcow_huge_size(img):
    img.set_field("size", 1 << 60)


@kind("qcow-size-zero", "the virtual size set to 0")
def qcow_size_zero(img):
    img.set_field("size", 0)


@kind("qcow-crypt-method", "crypt_method set to 2 (unknown)")
def qcow_crypt_method(img):
    img.set_field("crypt_method", 2)


@kind("qcow-version", "version set to 2 (the file then probes as qcow2)")
def qcow_version(img):
    img.set_field("version", 2)


@kind("qcow-backing-name-long", "a backing file name of 2000 bytes recorded in the header")
def qcow_backing_name_long(img):
    img.set_field("backing_file_offset", 48)
    img.set_field("backing_file_size", 2000)
