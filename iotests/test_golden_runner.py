# iotests/test_golden_runner.py — the golden runner's own rules: normalisation, which cases count, the passing list, crashes (spec/architecture.md §Tests).
import importlib.util
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.path.join(REPO, "golden", "run.py")
_spec = importlib.util.spec_from_file_location("golden_run", RUNNER)
golden_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden_run)


def test_sandbox_and_link_paths():
    sandbox = "/tmp/golden-abc/s-xyz"
    text = ("qemu-img: Could not open '/tmp/golden-abc/s-xyz/t.img'\n"
            "/tmp/golden-abc/bin-k2_x9/qemu-img create: invalid option -- 'Z'\n"
            "in /tmp/golden-abc/s-xyz")
    assert golden_run.normalise(text, sandbox, False) == (
        "qemu-img: Could not open 'TEST_DIR/t.img'\n"
        "qemu-img create: invalid option -- 'Z'\n"
        "in TEST_DIR")


def test_filters():
    text = ('    "actual-size": 200704,\n'
            "disk size: 196 KiB\n"
            "1 2026-11-22 06:31:25 more\n"
            '"uuid": "0b0f6f4d-1c1d-4f67-9f0e-0f8f1c4a7e11",\n'
            "#block123\n"
            "iters: 1000")
    assert golden_run.normalise(text, "/nowhere", False) == (
        '    "actual-size": X,\n'
        "disk size: X\n"
        "1 yyyy-mm-dd hh:mm:ss more\n"
        '"uuid": X,\n'
        "NODE_NAME\n"
        "iters: X")


def test_progress_lines():
    text = "    (0.00/100%)\r    (12.50/100%)\r    (50.00/100%)\r    (100.00/100%)\r    (100.00/100%)\n"
    assert golden_run.normalise(text, "/nowhere", False) == "    (0.00/100%)\n    (100.00/100%)\n"


def test_loose_rules_only_when_asked():
    text = ('{ "start": 0, "length": 65536, "data": true, "offset": 327680}\n'
            "1.56% fragmented\nImage end offset: 393216\n"
            + "a" * 64 + "  out.raw")
    assert golden_run.normalise(text, "/nowhere", False) == text
    assert golden_run.normalise(text, "/nowhere", True) == (
        '{ "start": 0, "length": 65536, "data": true}\n'
        "X% fragmented\nImage end offset: X\nSHA256  out.raw")


def run_runner(tmp_path, binary, only, built="", passing="", *extra):
    built_file = tmp_path / "built"
    built_file.write_text(built)
    passing_file = tmp_path / "passing"
    passing_file.write_text(passing)
    verdicts = tmp_path / "verdicts.json"
    p = subprocess.run([sys.executable, RUNNER, "--qemu-img", str(binary), "--only", only, "-j", "1",
                        "--groups-built", str(built_file), "--passing", str(passing_file), "--json", str(verdicts),
                        *extra], capture_output=True, text=True, timeout=300)
    return p, json.loads(verdicts.read_text()) if verdicts.exists() else None, passing_file


@pytest.fixture
def fake(tmp_path):
    """A stand-in qemu-img that prints "Command not found" like qemu-img, or dies of SIGSEGV when asked."""
    path = tmp_path / "fake-qemu-img"
    path.write_text("#!/bin/sh\n"
                    "if [ \"$1\" = frobnicate ] && [ -n \"$FAKE_CRASH\" ]; then kill -SEGV $$; fi\n"
                    "echo \"qemu-img: Command not found: $1\" >&2\n"
                    "echo \"Try 'qemu-img --help' for more information\" >&2\n"
                    "exit 1\n")
    path.chmod(0o755)
    return path


def test_counted_groups(tmp_path, fake):
    # cli/unknown (group foundation) passes with the fake; cli/bad-opt does not.
    p, verdicts, _ = run_runner(tmp_path, fake, "^cli/(unknown|bad-opt)$", built="foundation\n")
    assert verdicts == {"cli/unknown": True, "cli/bad-opt": False}
    assert p.stdout.splitlines()[-1] == "1 passed, 1 failed"
    assert p.returncode == 1


def test_unbuilt_groups_do_not_count(tmp_path, fake):
    p, verdicts, _ = run_runner(tmp_path, fake, "^cli/(unknown|bad-opt)$", built="qcow2\n")
    assert p.stdout.splitlines()[-1] == "0 passed, 0 failed"
    assert "not yet built: 1 passed of 2" in p.stdout
    assert p.returncode == 0


def test_passing_list_guards_unbuilt_groups(tmp_path, fake):
    p, _, _ = run_runner(tmp_path, fake, "^cli/(unknown|bad-opt)$", "", "cli/bad-opt\ncli/unknown\n")
    assert p.stdout.splitlines()[-1] == "1 passed, 1 failed"
    assert "FAIL (regression) cli/bad-opt" in p.stdout


def test_update_passing_adds_and_sorts(tmp_path, fake):
    p, _, passing = run_runner(tmp_path, fake, "^cli/(unknown|bad-opt)$", "", "a/earlier\n", "--update-passing")
    lines = passing.read_text().splitlines()
    assert lines[0].startswith("# golden/passing.txt")
    assert lines[1:] == ["a/earlier", "cli/unknown"]


def test_crash_counts_everywhere(tmp_path, fake, monkeypatch):
    monkeypatch.setenv("FAKE_CRASH", "1")
    p, verdicts, _ = run_runner(tmp_path, fake, "^cli/unknown$", built="")
    assert verdicts == {"cli/unknown": False}
    assert p.stdout.splitlines()[-1] == "0 passed, 1 failed"
    assert "CRASH" in p.stdout
