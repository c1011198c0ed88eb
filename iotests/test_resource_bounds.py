# iotests/test_resource_bounds.py — every read-only command on every fuzz corpus input (damaged and
# hostile images of each driver) finishes inside 1 GiB of address space and 30 s of CPU, the limits
# OpenStack and KubeVirt CDI put around `qemu-img info`, with an exit status of its own: no signal,
# no abort, no sanitizer stop (spec/architecture.md §Fuzzing).
import os
import shutil
import signal
import subprocess

import pytest

from conftest import BINARY, REPO

CORPUS = os.path.join(REPO, "fuzz", "corpus")
LIMITS = ["--as=1073741824", "--cpu=30"]
# what a corpus folder holds, as -f names it (the luks inputs open without a secret: refused early)
FORMATS = {name: name for name in ("bochs", "cloop", "dmg", "luks", "parallels", "qcow", "qcow2", "qed", "raw",
                                   "vdi", "vhdx", "vmdk", "vpc")}
COMMANDS = [
    ["info", "--output=json"],
    ["check", "--output=json"],
    ["map", "--output=json"],
    ["measure", "-O", "qcow2"],
    ["compare", "-F", "raw", "SELF"],
]


def corpus_inputs():
    if not os.path.isdir(CORPUS):
        return []
    return sorted((fmt, os.path.join(CORPUS, fmt, name)) for fmt in os.listdir(CORPUS) if fmt in FORMATS
                  for name in os.listdir(os.path.join(CORPUS, fmt)))


def test_the_corpus_is_there():
    assert len(corpus_inputs()) >= 100, "fuzz/corpus is missing or nearly empty"


@pytest.mark.parametrize("fmt,path", corpus_inputs(), ids=lambda v: os.path.basename(str(v)))
def test_read_only_commands_stay_within_limits(tmp_path, fmt, path):
    assert shutil.which("prlimit"), "prlimit is missing (util-linux)"
    image = tmp_path / "image"
    shutil.copyfile(path, image)
    before = image.read_bytes()
    for command in COMMANDS:
        args = [a if a != "SELF" else str(image) for a in command]
        argv = ["prlimit", *LIMITS, BINARY, args[0], "-f", FORMATS[fmt], *args[1:], str(image)]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=tmp_path,
                           env=dict(os.environ, LC_ALL="C"))
        assert p.returncode >= 0, f"{' '.join(argv)} killed by {signal.Signals(-p.returncode).name}"
        # qemu-img's own statuses (check: 63 when the format has no check)
        assert p.returncode in (0, 1, 2, 3, 4, 63), f"{' '.join(argv)}: exit {p.returncode}\n{p.stderr[-2000:]}"
        assert "Sanitizer" not in p.stderr and "Assertion" not in p.stderr, p.stderr[-2000:]
    assert image.read_bytes() == before, "a read-only command changed the image"
