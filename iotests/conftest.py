# iotests/conftest.py — pytest fixtures for the iotests: a scratch folder and the build/qemu-img under test (spec/architecture.md §Tests).
import hashlib
import os
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# QIMG_BINARY picks another build (e.g. build-asan/qemu-img); the default is the product itself.
BINARY = os.environ.get("QIMG_BINARY", os.path.join(REPO, "build", "qemu-img"))


class QemuImg:
    """Runs the binary under test inside a per-test scratch folder."""

    def __init__(self, workdir):
        self.binary = BINARY
        self.dir = str(workdir)

    def path(self, name):
        return os.path.join(self.dir, name)

    def run(self, *args, check=None, env=None, timeout=120):
        """Runs qemu-img with args in the scratch folder; returns CompletedProcess with text output.
        check=N asserts the exit status is N and shows stdout/stderr when it is not."""
        full_env = dict(os.environ, LC_ALL="C", TZ="UTC")
        if env:
            full_env.update(env)
        p = subprocess.run([self.binary, *[str(a) for a in args]], cwd=self.dir, env=full_env,
                           capture_output=True, text=True, timeout=timeout)
        # Messages that name the program by its path read as they would for a plain "qemu-img".
        p.stdout = p.stdout.replace(self.binary, "qemu-img")
        p.stderr = p.stderr.replace(self.binary, "qemu-img")
        if check is not None:
            assert p.returncode == check, (
                f"qemu-img {' '.join(map(str, args))}: exit {p.returncode}, want {check}\n"
                f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}")
        return p

    def ok(self, *args, **kw):
        """Runs qemu-img and asserts it exits 0."""
        return self.run(*args, check=0, **kw)

    def write(self, name, offset, data):
        """Writes bytes into a scratch file (created when missing) without truncating it."""
        path = self.path(name)
        mode = "r+b" if os.path.exists(path) else "wb"
        with open(path, mode) as fh:
            fh.seek(offset)
            fh.write(data)

    def read(self, name):
        with open(self.path(name), "rb") as fh:
            return fh.read()


@pytest.fixture
def qimg(tmp_path):
    assert os.access(BINARY, os.X_OK), f"{BINARY} is missing: run make first"
    return QemuImg(tmp_path)


def incompressible(n):
    """n bytes that deflate cannot shrink (a sha256 chain)."""
    out = bytearray()
    i = 0
    while len(out) < n:
        out += hashlib.sha256(b"%d" % i).digest()
        i += 1
    return bytes(out[:n])


def sparse_file(path, size, chunks=()):
    """Makes a sparse file of size bytes holding the given (offset, bytes) chunks."""
    with open(path, "wb") as fh:
        fh.truncate(size)
        for offset, data in chunks:
            fh.seek(offset)
            fh.write(data)


def allocated_bytes(path):
    """Bytes the file system has allocated to path (st_blocks is in 512-byte units)."""
    return os.stat(path).st_blocks * 512
