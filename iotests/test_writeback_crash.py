# iotests/test_writeback_crash.py — a bulk copy keeps qcow2 metadata in its caches
# (block_node_writeback_begin, spec/qcow2.md): killed at any write, the image must still be
# consistent — refcounts reach the disk before the L2 entries that use them, both before L1 and
# refcount table entries — so check finds leaks at most, never corruption.
import shutil
import subprocess

import pytest

from conftest import incompressible


def killed_at(qimg, n, *args):
    """Runs qemu-img under strace, killed by SIGKILL at its n-th pwrite; returns its exit status."""
    assert shutil.which("strace"), "strace is missing: run make deps"
    p = subprocess.run(["strace", "-f", "-o", "/dev/null", "-e", "trace=pwrite64",
                        "-e", f"inject=pwrite64:signal=KILL:when={n}", qimg.binary, *args],
                       cwd=qimg.dir, capture_output=True, text=True)
    return p.returncode


def consistent(qimg, image):
    """check exits 0 (clean) or 3 (leaked clusters only)."""
    p = qimg.run("check", image)
    assert p.returncode in (0, 3), p.stdout + p.stderr
    assert "ERROR" not in p.stdout, p.stdout


@pytest.mark.parametrize("n", [1, 2, 3, 9, 20, 41, 77, 130, 200])
def test_convert_killed_leaves_a_consistent_image(qimg, n):
    """Into an image created beforehand (creating one is not crash-safe in qemu either)."""
    qimg.write("in.raw", 0, incompressible(12 << 20))
    qimg.ok("create", "-q", "-f", "qcow2", "-o", "cluster_size=4096", "out.qcow2", "12M")
    killed_at(qimg, n, "convert", "-n", "-f", "raw", "-O", "qcow2", "in.raw", "out.qcow2")
    consistent(qimg, "out.qcow2")


@pytest.mark.parametrize("n", [2, 5, 11, 23, 40])
def test_commit_killed_leaves_a_consistent_base(qimg, n):
    qimg.ok("create", "-q", "-f", "qcow2", "-o", "cluster_size=4096", "base.qcow2", "24M")
    qimg.ok("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "top.qcow2")
    # data in the overlay only, in 512 KiB pieces: the base allocates clusters, L2 tables and refcount blocks
    qimg.write("data.raw", 0, incompressible(24 << 20))
    qimg.ok("convert", "-n", "-f", "raw", "-O", "qcow2", "-B", "base.qcow2", "data.raw", "top.qcow2")
    killed_at(qimg, n, "commit", "-q", "top.qcow2")
    consistent(qimg, "base.qcow2")


@pytest.mark.parametrize("n", [1, 5, 60, 120, 135, 136, 137, 138, 139, 140])
def test_convert_over_data_killed_leaves_a_consistent_image(qimg, n):
    """convert -n over an image that has data where the source has none: the zeroed clusters are
    freed, and their lower refcounts must not reach the disk before the L2 entries that drop them
    (found by tools/crash/crash_sweep.py)."""
    old = bytearray(8 << 20)
    for offset, length in ((0, 1 << 20), (3 << 20, 512 << 10), ((6 << 20) + 4096, 700 << 10)):
        old[offset:offset + length] = incompressible(length)
    qimg.write("old.raw", 0, bytes(old))
    qimg.ok("convert", "-f", "raw", "-O", "qcow2", "-o", "cluster_size=4096", "old.raw", "out.qcow2")
    new = bytearray(8 << 20)
    for offset, length in ((512 << 10, 2 << 20), (5 << 20, 1 << 20)):
        new[offset:offset + length] = incompressible(length)[::-1]
    qimg.write("new.raw", 0, bytes(new))
    killed_at(qimg, n, "convert", "-n", "-f", "raw", "-O", "qcow2", "new.raw", "out.qcow2")
    consistent(qimg, "out.qcow2")
