# iotests/test_check.py — `qemu-img check` on raw images, which cannot be checked: exit status 63 (spec/architecture.md §Tests).
import pytest

from conftest import sparse_file

NOT_SUPPORTED = "qemu-img: This image format does not support checks\n"


@pytest.mark.parametrize("extra", [[], ["--output=json"], ["-q"], ["-f", "raw"]])
def test_check_raw_is_not_supported(qimg, extra):
    sparse_file(qimg.path("pat.raw"), 1 << 20, [(0, b"\x11" * 4096)])
    p = qimg.run("check", *extra, "pat.raw", check=63)
    assert p.stdout == ""
    assert p.stderr == NOT_SUPPORTED


def test_check_bad_repair_mode(qimg):
    sparse_file(qimg.path("pat.raw"), 1 << 20)
    p = qimg.run("check", "-r", "some", "pat.raw", check=1)
    assert p.stderr == "qemu-img: --repair (-r) expects 'leaks' or 'all', not 'some'\nTry 'qemu-img check --help' for more information\n"
