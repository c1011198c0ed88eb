"""vpc corruption kinds: damage to the footer, the dynamic header and the block allocation table of a
dynamic VHD image (spec/vpc.md: the field tables they read). qemu has no check for vpc, so the rows
record what check answers: "does not support checks" when the image still opens, the open error
otherwise. The repair matrix's base image has guest blocks 0 and 2 allocated."""
import os

from . import SPEC, CorruptError, Fields, ImageFile, image_class, kind, spec_tables

UNALLOCATED = 0xFFFFFFFF


def checksum(raw, skip):
    """One's complement byte sum with the 4 bytes at skip counted as zero."""
    return ~(sum(raw) - sum(raw[skip:skip + 4])) & 0xFFFFFFFF


@image_class("vpc")
class Vpc(ImageFile):
    """The footer copy at offset 0, the dynamic header and the BAT of a dynamic VHD image."""

    def __init__(self, path):
        super().__init__(path)
        tables = spec_tables(os.path.join(SPEC, "vpc.md"))
        self.footer = Fields(tables["Footer"])
        self.header = Fields(tables["Dynamic header"])
        if bytes(self.data[0:8]) != b"conectix":
            raise CorruptError("not a dynamic vpc image")
        self.header_at = self.footer.get(self.data, "data_offset")
        if bytes(self.data[self.header_at:self.header_at + 8]) != b"cxsparse":
            raise CorruptError("no dynamic header")
        self.table = self.dyn("table_offset")
        self.entries = self.dyn("max_table_entries")

    def dyn(self, name):
        return self.header.get(self.data, name, self.header_at)

    def set_dyn(self, name, value, fix_checksum=True):
        offset, size = self.header.rows[name]
        self.write(self.header_at + offset, value.to_bytes(size, "big"))
        if fix_checksum:
            raw = self.data[self.header_at:self.header_at + 1024]
            self.write_u32(self.header_at + 36, checksum(raw, 36), ">")

    def set_footer(self, name, value, fix_checksum=True):
        offset, size = self.footer.rows[name]
        self.write(offset, value.to_bytes(size, "big"))
        if fix_checksum:
            self.write_u32(64, checksum(self.data[0:512], 64), ">")

    def entry(self, index):
        return self.u32(self.table + 4 * index, ">")

    def set_entry(self, index, value):
        self.write_u32(self.table + 4 * index, value, ">")

    def allocated(self):
        """(guest block, entry) of every allocated BAT entry, in guest order."""
        out = [(i, self.entry(i)) for i in range(self.entries)]
        return [(i, e) for i, e in out if e != UNALLOCATED]


def allocated_at_least(img, count):
    entries = img.allocated()
    if len(entries) < count:
        raise CorruptError(f"needs {count} allocated blocks")
    return entries


@kind("vpc-footer-checksum", "the footer copy's checksum off by one")
def vpc_footer_checksum(img):
    img.write_u32(64, img.u32(64, ">") ^ 1, ">")


@kind("vpc-footer-cookie", "the footer copy's cookie damaged (the image then probes as raw)")
def vpc_footer_cookie(img):
    img.write(0, b"xonectix")


@kind("vpc-size-too-large", "current size 2^50 with a Hyper-V creator (above 2040 GiB)")
def vpc_size_too_large(img):
    img.set_footer("creator_app", int.from_bytes(b"win ", "big"), fix_checksum=False)
    img.set_footer("current_size", 1 << 50)


@kind("vpc-dynamic-magic", "the dynamic header's cookie damaged")
def vpc_dynamic_magic(img):
    img.write(img.header_at, b"xxsparse")


@kind("vpc-dynamic-checksum", "the dynamic header's checksum wrong (qemu never checks it)")
def vpc_dynamic_checksum(img):
    img.set_dyn("checksum", img.dyn("checksum") ^ 0xFF, fix_checksum=False)


@kind("vpc-block-size-odd", "block_size 3000, not a power of two")
def vpc_block_size_odd(img):
    img.set_dyn("block_size", 3000)


@kind("vpc-block-size-zero", "block_size 0")
def vpc_block_size_zero(img):
    img.set_dyn("block_size", 0)


@kind("vpc-table-entries-large", "max_table_entries 0x40000001, above qemu's limit")
def vpc_table_entries_large(img):
    img.set_dyn("max_table_entries", 0x40000001)


@kind("vpc-table-small", "max_table_entries one less than the disk needs")
def vpc_table_small(img):
    img.set_dyn("max_table_entries", img.entries - 1)


@kind("vpc-table-past-eof", "table_offset 1 MiB past the end of the file (entries read as 0)")
def vpc_table_past_eof(img):
    img.set_dyn("table_offset", (len(img.data) + (1 << 20)) & ~511)


@kind("vpc-entry-past-eof", "the first allocated BAT entry pointing past the end of the file")
def vpc_entry_past_eof(img):
    index, _ = allocated_at_least(img, 1)[0]
    img.set_entry(index, (len(img.data) + (1 << 20)) // 512)


@kind("vpc-entry-duplicate", "the second allocated BAT entry pointing at the first one's block")
def vpc_entry_duplicate(img):
    entries = allocated_at_least(img, 2)
    img.set_entry(entries[1][0], entries[0][1])


@kind("vpc-truncated", "the file cut short inside the last block")
def vpc_truncated(img):
    allocated_at_least(img, 1)
    img.truncate(len(img.data) - (1 << 20))
