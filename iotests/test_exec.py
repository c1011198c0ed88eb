# iotests/test_exec.py — the product never executes another program (no QEMU binary, no shell): only its own exec shows under strace (spec/architecture.md §Tests).
import os
import re
import shutil
import subprocess

import pytest

from conftest import sparse_file

MIB = 1 << 20
# strace -f -o LOG prefixes each line with the pid: 1234 execve("/path", ["qemu-img", ...], ...) = 0
EXECVE = re.compile(r'^\d+\s+execve\("([^"]*)"')


def traced_execs(qimg, *args):
    """Runs qemu-img under strace -f -e trace=execve; returns the process and every exec'd path."""
    assert shutil.which("strace"), "strace is missing: run make deps"
    log = qimg.path("strace.log")
    env = dict(os.environ, LC_ALL="C", TZ="UTC")
    p = subprocess.run(["strace", "-f", "-e", "trace=execve", "-o", log, qimg.binary, *args],
                       cwd=qimg.dir, env=env, capture_output=True, text=True, timeout=120)
    with open(log) as fh:
        lines = fh.read().splitlines()
    paths = [m.group(1) for m in map(EXECVE.match, lines) if m]
    return p, paths, lines


@pytest.mark.parametrize("args,status", [
    (["create", "-q", "-f", "raw", "new.img", "4M"], 0),
    (["info", "pat.raw"], 0),
    (["info", "--output=json", "pat.raw"], 0),
    (["map", "pat.raw"], 0),
    (["convert", "-O", "raw", "pat.raw", "copy.raw"], 0),
    (["compare", "pat.raw", "pat.raw"], 0),
    (["resize", "-f", "raw", "pat.raw", "+1M"], 0),
    (["check", "pat.raw"], 63),
    (["frobnicate"], 1),
])
def test_only_own_exec(qimg, args, status):
    sparse_file(qimg.path("pat.raw"), 4 * MIB, [(0, b"\x11" * 4096)])
    p, paths, lines = traced_execs(qimg, *args)
    assert paths == [qimg.binary], f"execve calls: {paths}\n" + "\n".join(lines[:20])
    # The traced run still did its job (strace exits with the program's status).
    assert p.returncode == status, p.stderr
