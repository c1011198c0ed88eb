"""vhdx corruption kinds: damage to the headers, the region table, the metadata, the BAT and the log
of a VHDX image (spec/vhdx.md: the offsets they use). The repair matrix's base image (64 MiB, 8 MiB
blocks) has payload block 0 allocated and one flushed log entry at the start of the log."""
import struct

from . import CorruptError, ImageFile, image_class, kind

MIB = 1 << 20
HEADERS = (0x10000, 0x20000)
REGION_TABLE = 0x30000
BAT_GUID = bytes.fromhex("6677c22d23f600429d64115e9bfd4a08")
METADATA_GUID = bytes.fromhex("06a27c8b90479a4bb8fe575f050f886e")
VIRTUAL_DISK_SIZE_GUID = bytes.fromhex("2442a52f1bcd7648b2115dbed83bf4b8")
FULLY_PRESENT = 6
PARTIALLY_PRESENT = 7


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


@image_class("vhdx")
class Vhdx(ImageFile):
    """The headers, regions and BAT of a VHDX image."""

    def __init__(self, path):
        super().__init__(path)
        if bytes(self.data[0:8]) != b"vhdxfile":
            raise CorruptError("not a vhdx image")
        self.regions = {}
        for i in range(self.u32(REGION_TABLE + 8)):
            e = REGION_TABLE + 16 + 32 * i
            self.regions[bytes(self.data[e:e + 16])] = (self.u64(e + 16), self.u32(e + 24))
        self.bat = self.regions[BAT_GUID][0]
        self.metadata = self.regions[METADATA_GUID][0]
        self.log_offset = self.u64(HEADERS[0] + 72)

    def reseal(self, offset, length):
        """Recomputes the CRC-32C at offset + 4 of the structure of length bytes at offset."""
        body = bytearray(self.data[offset:offset + length])
        body[4:8] = b"\0" * 4
        self.write_u32(offset + 4, crc32c(bytes(body)))

    def entry(self, index):
        return self.u64(self.bat + 8 * index)

    def set_entry(self, index, value):
        self.write_u64(self.bat + 8 * index, value)

    def present_block(self):
        """BAT index of the first fully present block."""
        for i in range(8):
            if self.entry(i) & 7 == FULLY_PRESENT:
                return i
        raise CorruptError("no present block")


@kind("vhdx-header1-checksum", "the first header's checksum wrong (the second one stays valid)")
def vhdx_header1_checksum(img):
    img.write_u32(HEADERS[0] + 4, img.u32(HEADERS[0] + 4) ^ 1)


@kind("vhdx-headers-checksum", "both headers' checksums wrong (no valid header)")
def vhdx_headers_checksum(img):
    for h in HEADERS:
        img.write_u32(h + 4, img.u32(h + 4) ^ 1)


@kind("vhdx-region-checksum", "the region table's checksum wrong")
def vhdx_region_checksum(img):
    img.write_u32(REGION_TABLE + 4, img.u32(REGION_TABLE + 4) ^ 1)


@kind("vhdx-bat-past-eof", "the present block's BAT entry moved 1 GiB past the end of the file")
def vhdx_bat_past_eof(img):
    index = img.present_block()
    img.set_entry(index, ((len(img.data) + 1024 * MIB) & ~(MIB - 1)) | FULLY_PRESENT)


@kind("vhdx-bat-overlaps-metadata", "a second BAT entry pointing at the metadata region")
def vhdx_bat_overlaps_metadata(img):
    img.present_block()
    img.set_entry(1, img.metadata | FULLY_PRESENT)


@kind("vhdx-bat-partially-present", "the present block marked partially present (reads fail)")
def vhdx_bat_partially_present(img):
    index = img.present_block()
    img.set_entry(index, (img.entry(index) & ~7) | PARTIALLY_PRESENT)


@kind("vhdx-metadata-missing-size", "the virtual disk size item renamed to an unknown optional item")
def vhdx_metadata_missing_size(img):
    for i in range(img.u16(img.metadata + 10)):
        e = img.metadata + 32 + 32 * i
        if bytes(img.data[e:e + 16]) == VIRTUAL_DISK_SIZE_GUID:
            img.write(e, bytes(16 - j for j in range(16)))
            img.write_u32(e + 24, 0)
            return
    raise CorruptError("no virtual disk size item")


def log_entry_guid(img):
    at = img.log_offset
    if bytes(img.data[at:at + 4]) != b"loge":
        raise CorruptError("no log entry")
    return bytes(img.data[at + 32:at + 48])


def headers_log_guid(img, guid):
    for h in HEADERS:
        img.write(h + 48, guid)
        img.reseal(h, 4096)


@kind("vhdx-log-dirty", "both headers name the log entry's GUID again: the log needs replay")
def vhdx_log_dirty(img):
    headers_log_guid(img, log_entry_guid(img))


@kind("vhdx-log-dirty-bad-checksum", "a dirty log whose only entry has a wrong checksum (nothing to replay)")
def vhdx_log_dirty_bad_checksum(img):
    headers_log_guid(img, log_entry_guid(img))
    img.write_u32(img.log_offset + 4, img.u32(img.log_offset + 4) ^ 1)


@kind("vhdx-truncated", "the file cut in the middle of the present block")
def vhdx_truncated(img):
    index = img.present_block()
    img.truncate((img.entry(index) & ~(MIB - 1)) + 4 * MIB)
