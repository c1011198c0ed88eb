# iotests/test_direct_alignment.py — O_DIRECT writers and the request alignment (spec/architecture.md §Block layer, locks and permissions).
#
# qemu (10.2 oracle) refuses write permission without resize on a node whose size, rounded up to
# whole sectors, is not a multiple of its request alignment.  Whether a file's O_DIRECT alignment
# exceeds 512 depends on the file system (here: a file whose first block is a hole probes 4096 on
# ext4), so each case first asks the product what alignment it probed and expects the outcome that
# alignment implies.  Messages and exit codes are the oracle's.
import re

from conftest import sparse_file

SIZE = 1000000  # 1954 sectors: 1000448 bytes, a multiple of 512 but not of 4096
REFUSAL = "Cannot get 'write' permission without 'resize': Image size is not a multiple of request alignment"


def probed_alignment(qimg, name):
    """The request alignment of the protocol node under -t none, as info --limits reports it."""
    out = qimg.ok("info", "--limits", "-t", "none", "-f", "raw", name).stdout
    child = out[out.index("Child node '/file'"):]
    return int(re.search(r"request alignment: (\d+)", child).group(1))


def refused(alignment):
    rounded = (SIZE + 511) // 512 * 512
    return alignment > 1 and rounded % alignment != 0


def test_check_repair_refuses_unaligned_direct_writer(qimg):
    sparse_file(qimg.path("hole.raw"), SIZE)
    alignment = probed_alignment(qimg, "hole.raw")
    p = qimg.run("check", "-r", "leaks", "-T", "none", "-f", "raw", "hole.raw")
    if refused(alignment):
        assert (p.returncode, p.stderr) == (1, f"qemu-img: Could not open 'hole.raw': {REFUSAL}\n")
    else:
        assert (p.returncode, p.stderr) == (63, "qemu-img: This image format does not support checks\n")


def test_commit_into_unaligned_direct_raw_base(qimg):
    sparse_file(qimg.path("base.raw"), SIZE)
    alignment = probed_alignment(qimg, "base.raw")
    qimg.ok("create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", "top.qcow2")
    p = qimg.run("commit", "-t", "none", "top.qcow2")
    if refused(alignment):
        assert (p.returncode, p.stdout, p.stderr) == (1, "", f"qemu-img: {REFUSAL}\n")
    else:
        assert (p.returncode, p.stdout) == (0, "Image committed.\n")


def test_convert_target_may_grow(qimg):
    """convert's target is exempt: it may be widened past its end (the oracle converts)."""
    sparse_file(qimg.path("hole.raw"), SIZE)
    sparse_file(qimg.path("src.raw"), SIZE, [(0, b"\x01" * 4096)])
    p = qimg.run("convert", "-n", "-t", "none", "-O", "raw", "src.raw", "hole.raw")
    assert (p.returncode, p.stderr) == (0, "")
    assert qimg.read("hole.raw")[:4096] == b"\x01" * 4096
