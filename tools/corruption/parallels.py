"""parallels corruption kinds: damage to the header, the BAT and the file tail of a Parallels image
(spec/parallels.md: the field tables they read; docs/repair.md). Kinds where qemu-img 10.2 itself
aborts (a BAT entry left past the end of the file in a read-only check) are not planted."""
import os
import struct

from . import SPEC, CorruptError, Fields, image_class, kind, spec_tables


@image_class("parallels")
class Parallels:
    """The parts of a Parallels image the kinds touch."""

    def __init__(self, path):
        tables = spec_tables(os.path.join(SPEC, "parallels.md"))
        self.header = Fields(tables["Header"], order="little")
        self.path = path
        with open(path, "rb") as fh:
            self.data = bytearray(fh.read())
        if self.data[:16] not in (b"WithoutFreeSpace", b"WithouFreSpacExt"):
            raise CorruptError("not a parallels image")
        self.tracks = self.get("tracks")
        self.cluster_size = self.tracks * 512
        self.bat_entries = self.get("bat_entries")
        if self.cluster_size == 0:
            raise CorruptError("no cluster size")

    def get(self, name):
        return self.header.get(self.data, name)

    def set(self, name, value):
        with open(self.path, "r+b") as fh:
            self.header.put(fh, name, value)

    def bat(self, index):
        return struct.unpack_from("<I", self.data, 64 + 4 * index)[0]

    def set_bat(self, index, value):
        with open(self.path, "r+b") as fh:
            fh.seek(64 + 4 * index)
            fh.write(struct.pack("<I", value))

    def allocated(self):
        """Indexes of the allocated BAT entries, in guest order."""
        return [i for i in range(self.bat_entries) if 64 + 4 * i + 4 <= len(self.data) and self.bat(i)]

    def append(self, raw):
        with open(self.path, "ab") as fh:
            fh.write(raw)


@kind("parallels-dirty", "inuse set to 0x746F6E59: the image was not closed")
def parallels_dirty(img):
    img.set("inuse", 0x746F6E59)


@kind("parallels-data-off-zero", "data_off of a new-format image set to 0")
def parallels_data_off_zero(img):
    img.set("data_off", 0)


@kind("parallels-data-off-past-eof", "data_off two clusters past the end of the file")
def parallels_data_off_past_eof(img):
    img.set("data_off", len(img.data) // 512 + 2 * img.tracks)


@kind("parallels-duplicate", "the second allocated BAT entry points at the first one's cluster")
def parallels_duplicate(img):
    entries = img.allocated()
    if len(entries) < 2:
        raise CorruptError("fewer than two allocated clusters")
    img.set_bat(entries[1], img.bat(entries[0]))


@kind("parallels-leak-tail", "a cluster of junk appended after the last cluster in use")
def parallels_leak_tail(img):
    img.append(b"\xa5" * img.cluster_size)


@kind("parallels-leak-partial", "512 bytes appended after the last cluster in use")
def parallels_leak_partial(img):
    img.append(b"\x5a" * 512)


@kind("parallels-dirty-leak", "not closed and a cluster appended")
def parallels_dirty_leak(img):
    img.set("inuse", 0x746F6E59)
    img.append(b"\0" * img.cluster_size)


@kind("parallels-bad-version", "version 3: the image no longer probes as Parallels")
def parallels_bad_version(img):
    img.set("version", 3)


@kind("parallels-huge-bat", "bat_entries above qemu's limit of 0x1fffffff")
def parallels_huge_bat(img):
    img.set("bat_entries", 0x20000000)


@kind("parallels-zero-tracks", "tracks (sectors per cluster) set to 0")
def parallels_zero_tracks(img):
    img.set("tracks", 0)


@kind("parallels-big-cluster", "tracks set above qemu's limit of 0x3fe00f")
def parallels_big_cluster(img):
    img.set("tracks", 0x3fe010)


@kind("parallels-ext-bad-magic", "ext_off pointing at a data cluster (no format extension magic)")
def parallels_ext_bad_magic(img):
    entries = img.allocated()
    if not entries:
        raise CorruptError("no allocated cluster")
    unit = img.tracks if img.data[:16] == b"WithouFreSpacExt" else 1
    img.set("ext_off", img.bat(entries[-1]) * unit)
