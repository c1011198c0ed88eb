"""qed corruption kinds: damage to the header, the L1 table, L2 tables and data cluster entries of a
QED image (spec/qed.md: the Header table they read, the check rules they exercise; docs/repair.md)."""
import os

from . import SPEC, CorruptError, Fields, ImageFile, image_class, kind, spec_tables


@image_class("qed")
class Qed(ImageFile):
    """The parts of a QED image the kinds touch."""

    def __init__(self, path):
        super().__init__(path)
        self.header = Fields(spec_tables(os.path.join(SPEC, "qed.md"))["Header"], order="little")
        if self.data[:4] != b"QED\0":
            raise CorruptError("not a QED image")
        h = lambda n: self.header.get(self.data, n)
        self.cluster_size = h("cluster_size")
        self.table_size = h("table_size")
        self.l1_offset = h("l1_table_offset")
        if self.cluster_size < 4096 or self.table_size < 1 or self.table_size > 16:
            raise CorruptError("unsupported geometry")
        self.entries = self.table_size * self.cluster_size // 8

    def set_header(self, name, value):
        offset, size = self.header.rows[name]
        self.write(offset, value.to_bytes(size, "little"))

    def get_header(self, name):
        return self.header.get(self.data, name)

    def l2_tables(self):
        """(address of the L1 entry, L2 table offset) of every allocated L2 table."""
        out = []
        for i in range(self.entries):
            entry = self.u64(self.l1_offset + 8 * i)
            if entry:
                out.append((self.l1_offset + 8 * i, entry))
        return out

    def data_entries(self):
        """(address of the L2 entry, entry) of every data cluster, in guest order."""
        out = []
        for _, l2 in self.l2_tables():
            for j in range(self.entries):
                entry = self.u64(l2 + 8 * j)
                if entry > 1:
                    out.append((l2 + 8 * j, entry))
        return out

    def first_data(self, n=0):
        entries = self.data_entries()
        if len(entries) <= n:
            raise CorruptError("not enough data clusters")
        return entries[n]

    def first_l2(self):
        tables = self.l2_tables()
        if not tables:
            raise CorruptError("no L2 table")
        return tables[0]


@kind("qed-need-check", "the need-check feature bit set on a consistent image")
def qed_need_check(img):
    img.set_header("features", img.get_header("features") | 2)


@kind("qed-need-check-data-past-eof", "need-check set and the second data entry pointing 1 TiB into the file")
def qed_need_check_data_past_eof(img):
    address, _ = img.first_data(1)
    img.write_u64(address, 1 << 40)
    img.set_header("features", img.get_header("features") | 2)


@kind("qed-unknown-feature", "an unknown incompatible feature bit (0x10) set")
def qed_unknown_feature(img):
    img.set_header("features", img.get_header("features") | 0x10)


@kind("qed-autoclear-bits", "unknown autoclear feature bits set")
def qed_autoclear_bits(img):
    img.set_header("autoclear_features", 0xF0)


@kind("qed-bad-magic", "the magic overwritten")
def qed_bad_magic(img):
    img.set_header("magic", 0x12345678)


@kind("qed-cluster-size", "cluster_size 3000 (not a power of two)")
def qed_cluster_size(img):
    img.set_header("cluster_size", 3000)


@kind("qed-table-size", "table_size 3 (not a power of two)")
def qed_table_size(img):
    img.set_header("table_size", 3)


@kind("qed-image-size-unaligned", "image_size not a multiple of 512")
def qed_image_size_unaligned(img):
    img.set_header("image_size", img.get_header("image_size") + 100)


@kind("qed-l1-unaligned", "l1_table_offset moved 512 bytes past the cluster boundary")
def qed_l1_unaligned(img):
    img.set_header("l1_table_offset", img.l1_offset + 512)


@kind("qed-backing-name-past-header", "the backing name range reaching past the header cluster")
def qed_backing_name_past_header(img):
    img.set_header("features", img.get_header("features") | 1)
    img.set_header("backing_filename_offset", 64)
    img.set_header("backing_filename_size", img.cluster_size)


@kind("qed-l2-past-eof", "the first L1 entry pointing 1 TiB into the file")
def qed_l2_past_eof(img):
    address, _ = img.first_l2()
    img.write_u64(address, 1 << 40)


@kind("qed-l2-unaligned", "the first L1 entry moved 512 bytes into its L2 table")
def qed_l2_unaligned(img):
    address, l2 = img.first_l2()
    img.write_u64(address, l2 + 512)


@kind("qed-l2-duplicate", "the second L1 entry pointing at the first L2 table")
def qed_l2_duplicate(img):
    _, l2 = img.first_l2()
    img.write_u64(img.l1_offset + 8, l2)


@kind("qed-l2-points-to-l1", "the first L1 entry pointing at the L1 table itself")
def qed_l2_points_to_l1(img):
    address, _ = img.first_l2()
    img.write_u64(address, img.l1_offset)


@kind("qed-data-past-eof", "the second data entry pointing 1 TiB into the file")
def qed_data_past_eof(img):
    address, _ = img.first_data(1)
    img.write_u64(address, 1 << 40)


@kind("qed-data-unaligned", "the second data entry pointing 512 bytes into the first data cluster")
def qed_data_unaligned(img):
    address, _ = img.first_data(1)
    img.write_u64(address, img.first_data(0)[1] + 512)


@kind("qed-data-duplicate", "the second data entry pointing at the first data cluster")
def qed_data_duplicate(img):
    address, _ = img.first_data(1)
    img.write_u64(address, img.first_data(0)[1])


@kind("qed-data-points-to-l1", "the first data entry pointing at the L1 table")
def qed_data_points_to_l1(img):
    address, _ = img.first_data(0)
    img.write_u64(address, img.l1_offset)


@kind("qed-data-points-to-l2", "the first data entry pointing at its own L2 table")
def qed_data_points_to_l2(img):
    address, _ = img.first_data(0)
    img.write_u64(address, img.first_l2()[1])


@kind("qed-leak", "a cluster appended to the end of the file that nothing references")
def qed_leak(img):
    end = (len(img.data) + img.cluster_size - 1) // img.cluster_size * img.cluster_size
    img.write(end, b"\x55" * img.cluster_size)


@kind("qed-truncated", "the file cut in the middle of its last data cluster")
def qed_truncated(img):
    img.truncate(len(img.data) - img.cluster_size // 2)
