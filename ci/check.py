#!/usr/bin/env python3
# ci/check.py — what `make check` runs: cmocka units, pytest iotests, golden transcripts, the check/repair matrix, fuzz corpus replay (spec/architecture.md §Tests, §Build).
"""Runs every test layer of qimg in order and sums their results.

Stages: the cmocka unit tests (make -s unit), the iotests (pytest -q iotests), the golden
transcripts (golden/run.py: built groups, the passing list, crashes anywhere) and the fuzz
corpus replay (make -s fuzz-replay; a replay that does not build or replays nothing fails).  Each stage's output is
shown as it runs; the last line is "N passed, M failed" over all of them, and the exit
status is non-zero when anything failed.
"""
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, "build", "qemu-img")


def run(cmd, env=None):
    """Runs cmd in the repository root, echoing its output as it comes; returns (status, text)."""
    print(f"$ {' '.join(cmd)}", flush=True)
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    p = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, text=True, errors="replace")
    lines = []
    for line in p.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        lines.append(line)
    return p.wait(), "".join(lines)


def python_with_pytest():
    """An interpreter that can import pytest: this one, else Debian's (python3-pytest)."""
    for candidate in (sys.executable, "/usr/bin/python3", shutil.which("python3")):
        if candidate and subprocess.run([candidate, "-c", "import pytest"], capture_output=True).returncode == 0:
            return candidate
    return None


def stage_unit():
    status, text = run(["make", "-s", "unit"])
    passed = sum(int(n) for n in re.findall(r"^\[  PASSED  \] (\d+) test", text, re.M))
    failed = sum(int(n) for n in re.findall(r"^\[  FAILED  \] (\d+) test", text, re.M))
    if status != 0 and failed == 0:
        failed = 1  # did not build, or a test binary died before its summary
    return passed, failed


def stage_iotests():
    python = python_with_pytest()
    if python is None:
        print("iotests: no python3 with pytest (install python3-pytest: make deps)")
        return 0, 1
    status, text = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "iotests"],
                       env={"PYTHONDONTWRITEBYTECODE": "1"})
    summary = text.strip().splitlines()[-1] if text.strip() else ""
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (passed|failed|errors?)", summary)}
    passed = counts.get("passed", 0)
    failed = counts.get("failed", 0) + counts.get("error", 0) + counts.get("errors", 0)
    if status != 0 and failed == 0:
        failed = 1  # pytest itself failed (exit 5 means no test was collected)
    return passed, failed


def stage_golden():
    status, text = run([sys.executable, "golden/run.py", "--qemu-img", BINARY, "-j", "2", "--timeout", "60"])
    m = re.findall(r"^(\d+) passed, (\d+) failed$", text, re.M)
    if not m:
        return 0, 1
    passed, failed = map(int, m[-1])
    if status != 0 and failed == 0:
        failed = 1
    return passed, failed


def stage_repair():
    status, text = run([sys.executable, "ci/repair_matrix.py", "--qemu-img", BINARY])
    m = re.findall(r"^(\d+) passed, (\d+) failed$", text, re.M)
    if not m:
        return 0, 1
    passed, failed = map(int, m[-1])
    if status != 0 and failed == 0:
        failed = 1
    return passed, failed


def stage_fuzz():
    """The corpus replay; a replay that does not build, or replays nothing, fails the stage."""
    status, text = run(["make", "-s", "fuzz-replay"])
    totals = re.findall(r"^(?:.*: )?(\d+) passed, (\d+) failed$", text, re.M)
    if totals:
        passed = sum(int(p) for p, _ in totals)
        failed = sum(int(f) for _, f in totals)
    else:
        passed = sum(int(n) for n in re.findall(r"replayed (\d+) inputs?", text))
        failed = 0
    if status != 0 and failed == 0:
        failed = 1  # the replay did not build, or an input crashed it (ASan/UBSan stop at the first one)
    if passed == 0 and failed == 0:
        failed = 1  # nothing was replayed: the stage proves nothing
    return passed, failed


def main():
    stages = [("unit", stage_unit), ("iotests", stage_iotests), ("golden", stage_golden), ("repair", stage_repair),
              ("fuzz-replay", stage_fuzz)]
    results = []
    for name, stage in stages:
        print(f"\n===== {name} =====", flush=True)
        start = time.monotonic()
        outcome = stage()
        seconds = time.monotonic() - start
        if outcome is None:  # a stage that cannot run is a failure, never a skip
            outcome = (0, 1)
        results.append((name, outcome, seconds))
        print(f"===== {name}: {outcome[0]} passed, {outcome[1]} failed ({seconds:.0f} s)", flush=True)
    print("\nsummary:")
    for name, (passed, failed), seconds in results:
        verdict = "ok" if failed == 0 else "FAILED"
        print(f"  {name:12s} {passed:5d} passed {failed:4d} failed  {seconds:6.0f} s  {verdict}")
    total_passed = sum(r[1][0] for r in results)
    total_failed = sum(r[1][1] for r in results)
    print(f"{total_passed} passed, {total_failed} failed")
    return 1 if total_failed else 0


if __name__ == "__main__":
    sys.exit(main())
