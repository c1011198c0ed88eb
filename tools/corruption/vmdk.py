"""vmdk corruption kinds: damage to the sparse header, the grain directory and the grain tables of
a monolithic sparse VMDK image (spec/vmdk.md: the field table they read). The repair matrix's base
image (64 MiB) has guest grains 0-3 and 80 allocated, all in the first grain table."""
import os

from . import SPEC, CorruptError, Fields, ImageFile, image_class, kind, spec_tables

SECTOR = 512


@image_class("vmdk")
class Vmdk(ImageFile):
    """The sparse header, grain directories and first grain tables of a VMDK image."""

    def __init__(self, path):
        super().__init__(path)
        self.header = Fields(spec_tables(os.path.join(SPEC, "vmdk.md"))["Sparse header"], order="little")
        if self.field("magic") != 0x564D444B:
            raise CorruptError("not a monolithic sparse vmdk image")
        self.gd = self.field("gd_offset") * SECTOR
        self.rgd = self.field("rgd_offset") * SECTOR

    def field(self, name):
        return self.header.get(self.data, name)

    def set_field(self, name, value):
        offset, size = self.header.rows[name]
        self.write(offset, value.to_bytes(size, "little"))

    def table(self, directory, index=0):
        """File offset of grain table index of the directory at byte offset directory."""
        return self.u32(directory + 4 * index) * SECTOR

    def allocated(self):
        """(index, entry) of the allocated entries of the first grain table."""
        gt = self.table(self.gd)
        entries = [(i, self.u32(gt + 4 * i)) for i in range(self.field("num_gtes_per_gt"))]
        out = [(i, e) for i, e in entries if e > 1]
        if not out:
            raise CorruptError("needs an allocated grain")
        return out

    def set_entry(self, index, value):
        """Sets grain table entry index in both copies of the first table."""
        self.write_u32(self.table(self.gd) + 4 * index, value)
        self.write_u32(self.table(self.rgd) + 4 * index, value)


@kind("vmdk-gt-entry-past-eof", "the first allocated grain table entry (both copies) points past the end of the file")
def vmdk_gt_entry_past_eof(img):
    index, _ = img.allocated()[0]
    img.set_entry(index, len(img.data) // SECTOR + 16)


@kind("vmdk-gd-entry-past-eof", "the first grain directory entry points past the end of the file")
def vmdk_gd_entry_past_eof(img):
    img.write_u32(img.gd, len(img.data) // SECTOR + 1024)


@kind("vmdk-gt-entry-into-metadata", "the first allocated grain table entry points at the redundant grain directory")
def vmdk_gt_entry_into_metadata(img):
    index, _ = img.allocated()[0]
    img.set_entry(index, img.field("rgd_offset"))


@kind("vmdk-gt-entry-duplicate", "the second allocated grain table entry points at the first one's grain")
def vmdk_gt_entry_duplicate(img):
    entries = img.allocated()
    if len(entries) < 2:
        raise CorruptError("needs two allocated grains")
    img.set_entry(entries[1][0], entries[0][1])


@kind("vmdk-bad-version", "the header's version set to 4")
def vmdk_bad_version(img):
    img.set_field("version", 4)


@kind("vmdk-gtes-too-many", "num_gtes_per_gt set to 1024")
def vmdk_gtes_too_many(img):
    img.set_field("num_gtes_per_gt", 1024)


@kind("vmdk-gd-at-end-no-footer", "gd_offset set to all ones (in the footer) with no footer")
def vmdk_gd_at_end_no_footer(img):
    img.set_field("gd_offset", 0xFFFFFFFFFFFFFFFF)


@kind("vmdk-capacity-zero", "capacity set to 0: qemu opens the embedded descriptor as a descriptor file")
def vmdk_capacity_zero(img):
    img.set_field("capacity", 0)


@kind("vmdk-overhead-past-eof", "overhead set past the end of the file")
def vmdk_overhead_past_eof(img):
    img.set_field("overhead", len(img.data) // SECTOR + 128)


@kind("vmdk-descriptor-no-cid", "every \"CID=\" of the embedded descriptor (CID and parentCID) spelt \"CXD=\"")
def vmdk_descriptor_no_cid(img):
    area = bytes(img.data[SECTOR:21 * SECTOR])
    at = area.find(b"CID=")
    if at < 0:
        raise CorruptError("needs a descriptor with a CID")
    while at >= 0:
        img.write(SECTOR + at, b"CXD=")
        area = bytes(img.data[SECTOR:21 * SECTOR])
        at = area.find(b"CID=")
