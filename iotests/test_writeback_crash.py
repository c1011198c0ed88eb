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
