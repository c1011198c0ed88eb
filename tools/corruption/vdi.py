"""vdi corruption kinds: damage to the header and the block map of a VDI image (spec/vdi.md: the
field table they read). The repair matrix's base image has guest blocks 0 and 5 allocated, as data
blocks 0 and 1."""
import os

from . import SPEC, CorruptError, Fields, ImageFile, image_class, kind, spec_tables

UNALLOCATED = 0xFFFFFFFF
ZERO = 0xFFFFFFFE


@image_class("vdi")
class Vdi(ImageFile):
    """The header fields and block map of a VDI image."""

    def __init__(self, path):
        super().__init__(path)
        self.header = Fields(spec_tables(os.path.join(SPEC, "vdi.md"))["Header"], order="little")
        if self.field("signature") != 0xBEDA107F:
            raise CorruptError("not a vdi image")
        self.bmap = self.field("offset_bmap")
        self.blocks = self.field("blocks_in_image")

    def field(self, name):
        return self.header.get(self.data, name)

    def set_field(self, name, value):
        offset, size = self.header.rows[name]
        self.write(offset, value.to_bytes(size, "little"))

    def entry(self, index):
        return self.u32(self.bmap + 4 * index)

    def set_entry(self, index, value):
        self.write_u32(self.bmap + 4 * index, value)

    def allocated(self):
        """(guest block, data block) of every allocated entry, in guest order."""
        out = [(i, self.entry(i)) for i in range(self.blocks)]
        return [(i, e) for i, e in out if e < ZERO]


def allocated_at_least(img, count):
    entries = img.allocated()
    if len(entries) < count:
        raise CorruptError(f"needs {count} allocated blocks")
    return entries


@kind("vdi-entry-too-large", "the first allocated block map entry set to blocks_in_image")
def vdi_entry_too_large(img):
    index, _ = allocated_at_least(img, 1)[0]
    img.set_entry(index, img.blocks)


@kind("vdi-entry-duplicate", "the second allocated entry points at the first one's data block")
def vdi_entry_duplicate(img):
    entries = allocated_at_least(img, 2)
    img.set_entry(entries[1][0], entries[0][1])


@kind("vdi-entry-zero-marker", "the first allocated entry replaced by the zero marker 0xfffffffe")
def vdi_entry_zero_marker(img):
    index, _ = allocated_at_least(img, 1)[0]
    img.set_entry(index, ZERO)


@kind("vdi-entry-past-eof", "an unallocated entry pointing at a data block past the end of the file")
def vdi_entry_past_eof(img):
    for i in range(img.blocks):
        if img.entry(i) == UNALLOCATED:
            img.set_entry(i, img.blocks - 1)
            img.set_field("blocks_allocated", img.field("blocks_allocated") + 1)
            return
    raise CorruptError("no unallocated entry")


@kind("vdi-allocated-high", "blocks_allocated three more than the entries in use")
def vdi_allocated_high(img):
    img.set_field("blocks_allocated", img.field("blocks_allocated") + 3)


@kind("vdi-allocated-zero", "blocks_allocated set to 0 with blocks in use")
def vdi_allocated_zero(img):
    allocated_at_least(img, 1)
    img.set_field("blocks_allocated", 0)


@kind("vdi-bad-signature", "the signature changed (the image then probes as raw)")
def vdi_bad_signature(img):
    img.set_field("signature", 0xBEDA107E)


@kind("vdi-bad-version", "version 1.0 instead of 1.1")
def vdi_bad_version(img):
    img.set_field("version", 0x00010000)


@kind("vdi-bmap-unaligned", "offset_bmap moved off its sector")
def vdi_bmap_unaligned(img):
    img.set_field("offset_bmap", img.field("offset_bmap") + 1)


@kind("vdi-data-unaligned", "offset_data moved off its sector")
def vdi_data_unaligned(img):
    img.set_field("offset_data", img.field("offset_data") + 8)


@kind("vdi-bmap-past-eof", "offset_bmap beyond the end of the file (every entry reads as 0)")
def vdi_bmap_past_eof(img):
    img.set_field("offset_bmap", (len(img.data) + (1 << 20)) & ~511)


@kind("vdi-block-size", "block_size 2 MiB instead of 1 MiB")
def vdi_block_size(img):
    img.set_field("block_size", 2 << 20)


@kind("vdi-sector-size", "sector_size 4096 instead of 512")
def vdi_sector_size(img):
    img.set_field("sector_size", 4096)


@kind("vdi-disk-size-huge", "disk_size 2^63 - 1, above qemu's limit")
def vdi_disk_size_huge(img):
    img.set_field("disk_size", (1 << 63) - 1)


@kind("vdi-disk-size-no-room", "disk_size one sector more than the block map covers")
def vdi_disk_size_no_room(img):
    img.set_field("disk_size", img.blocks * (1 << 20) + 512)


@kind("vdi-too-many-blocks", "blocks_in_image above qemu's limit of 0x1fffff80")
def vdi_too_many_blocks(img):
    img.set_field("blocks_in_image", 0x1FFFFF81)


@kind("vdi-parent-uuid", "a parent UUID set (a differencing image)")
def vdi_parent_uuid(img):
    img.set_field("uuid_parent", 1)


@kind("vdi-truncated", "the file cut in the middle of the second data block")
def vdi_truncated(img):
    allocated_at_least(img, 2)
    img.truncate(img.field("offset_data") + (1 << 20) + 4096)
