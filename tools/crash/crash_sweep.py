#!/usr/bin/env python3
# tools/crash/crash_sweep.py — make crash-check: each in-place command killed at its Nth file write,
# flush or truncate (strace's syscall fault injection), then the image must open, check must find no
# corruption (leaks allowed) and the guest data must be what it was before the command or what the
# command makes (spec/architecture.md §Tests, issue 16).
"""Crash-consistency sweep.

For every scenario (a format, an in-place command and the images it starts from) the command is
first run whole under strace to count its pwrite64, ftruncate, fallocate and fdatasync calls; then,
for each kind of call and each N (every one with --all, else a sample of --sample), the command is
run again on fresh copies and killed by SIGKILL at the Nth call of that kind. After each kill:
`info` must open the image, `check` must exit 0 or 3 (leaks only) — or 63 where the format has no
check — and the guest data must equal the data before the command or after it.

  crash_sweep.py [--qemu-img build/qemu-img] [--all | --sample N] [--only REGEX] [-v]
Prints one line per scenario (points survived / points tried) and exits 1 when a point fails.
"""
import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KINDS = ("pwrite64", "ftruncate", "fallocate", "fdatasync")
RESIZABLE = ("qcow2", "qed", "raw")  # the others refuse resize, as in qemu-img 10.2
MIB = 1 << 20


def pattern(size, seed):
    out = bytearray()
    i = 0
    while len(out) < size:
        out += hashlib.sha256(b"%d-%d" % (seed, i)).digest()
        i += 1
    return bytes(out[:size])


class Scenario:
    """name; fmt (of the image checked); setup(tool, dir) making the starting files; argv (the
    command, run in dir); image (the file checked); copies: the command copies guest data, which no
    format makes atomic, so each block may be old or new (else the whole disk is one or the other)."""

    def __init__(self, name, fmt, setup, argv, image="img", copies=False):
        self.name, self.fmt, self.setup, self.argv, self.image = name, fmt, setup, argv, image
        self.copies = copies


def raw_with_data(d, name, size, pieces):
    with open(os.path.join(d, name), "wb") as fh:
        fh.truncate(size)
        for i, (offset, length) in enumerate(pieces):
            fh.seek(offset)
            fh.write(pattern(length, i))


def image_from_raw(tool, d, fmt, options=()):
    raw_with_data(d, "src.raw", 8 * MIB, [(0, MIB), (3 * MIB, 512 << 10), (6 * MIB + 4096, 700 << 10)])
    subprocess.run([tool, "convert", "-f", "raw", "-O", fmt, *options, "src.raw", "img"], cwd=d, check=True)


def scenarios():
    out = []
    for fmt, options in (("qcow2", ["-o", "cluster_size=4096"]), ("qcow", []), ("qed", ["-o", "cluster_size=4096"]),
                         ("vdi", []), ("vmdk", []), ("vpc", []), ("vhdx", []), ("parallels", []), ("raw", [])):
        setup = (lambda f, o: lambda tool, d: image_from_raw(tool, d, f, o))(fmt, options)
        if fmt in RESIZABLE:
            out.append(Scenario(f"{fmt} resize +8M", fmt, setup, ["resize", "-f", fmt, "img", "+8M"]))

        def overwrite(tool, d, f=fmt, o=options):
            image_from_raw(tool, d, f, o)
            raw_with_data(d, "new.raw", 8 * MIB, [(512 << 10, 2 * MIB), (5 * MIB, MIB)])
        out.append(Scenario(f"{fmt} convert -n", fmt, overwrite, ["convert", "-n", "-f", "raw", "-O", fmt, "new.raw",
                                                                   "img"], copies=True))
    qcow2 = lambda tool, d: image_from_raw(tool, d, "qcow2", ["-o", "cluster_size=4096"])
    out.append(Scenario("qcow2 snapshot -c", "qcow2", qcow2, ["snapshot", "-c", "s1", "img"]))

    def with_snapshot(tool, d):
        qcow2(tool, d)
        subprocess.run([tool, "snapshot", "-c", "s1", "img"], cwd=d, check=True)
        raw_with_data(d, "new.raw", 8 * MIB, [(0, 3 * MIB)])
        subprocess.run([tool, "convert", "-n", "-f", "raw", "-O", "qcow2", "new.raw", "img"], cwd=d, check=True)
    out.append(Scenario("qcow2 snapshot -d", "qcow2", with_snapshot, ["snapshot", "-d", "s1", "img"]))
    out.append(Scenario("qcow2 snapshot -a", "qcow2", with_snapshot, ["snapshot", "-a", "s1", "img"]))
    out.append(Scenario("qcow2 bitmap --add", "qcow2", qcow2, ["bitmap", "--add", "img", "b0"]))
    out.append(Scenario("qcow2 amend refcount_bits=64", "qcow2", qcow2, ["amend", "-o", "refcount_bits=64", "img"]))
    out.append(Scenario("qcow2 resize shrink", "qcow2", qcow2, ["resize", "--shrink", "-f", "qcow2", "img", "4M"],
                        copies=True))

    def chain(tool, d):
        qcow2(tool, d)
        subprocess.run([tool, "create", "-q", "-f", "qcow2", "-o", "cluster_size=4096", "-b", "img", "-F", "qcow2",
                        "top"], cwd=d, check=True)
        raw_with_data(d, "new.raw", 8 * MIB, [(2 * MIB, 2 * MIB), (7 * MIB, 512 << 10)])
        subprocess.run([tool, "convert", "-n", "-f", "raw", "-O", "qcow2", "-B", "img", "new.raw", "top"], cwd=d,
                       check=True)
    out.append(Scenario("qcow2 commit", "qcow2", chain, ["commit", "-q", "top"], image="img", copies=True))
    out.append(Scenario("qcow2 rebase -b ''", "qcow2", chain, ["rebase", "-b", "", "top"], image="top", copies=True))
    return out


def strace_counts(tool, d, argv):
    log = os.path.join(d, ".strace")
    p = subprocess.run(["strace", "-f", "-o", log, "-e", "trace=" + ",".join(KINDS), tool, *argv], cwd=d,
                       capture_output=True)
    counts = {kind: 0 for kind in KINDS}
    with open(log) as fh:
        for line in fh:
            m = re.search(r"\b(" + "|".join(KINDS) + r")\(", line)
            if m and "resumed>" not in line:
                counts[m.group(1)] += 1
    os.unlink(log)
    return counts, p.returncode


BLOCK = 4096


def guest_data(tool, d, fmt, image):
    """The guest data (None when it cannot be read)."""
    out = os.path.join(d, ".guest.raw")
    p = subprocess.run([tool, "convert", "-U", "-f", fmt, "-O", "raw", image, out], cwd=d, capture_output=True)
    if p.returncode != 0:
        return None
    with open(out, "rb") as fh:
        data = fh.read()
    os.unlink(out)
    return data


def guest_matches(data, before, after, per_block):
    """Whether data is the data before or after the command (past a disk's end it reads as zeroes); for
    commands that copy data (per_block), each 4 KiB block on its own may be either."""
    if data is None or before is None or after is None:
        return False
    size = max(len(data), len(before), len(after))
    data, before, after = (x.ljust(size, b"\0") for x in (data, before, after))
    if not per_block:
        return data in (before, after)
    return all(data[i:i + BLOCK] in (before[i:i + BLOCK], after[i:i + BLOCK]) for i in range(0, size, BLOCK))


def point_ok(tool, d, scenario, before, after):
    """Checks the image after a kill; returns None or what is wrong."""
    p = subprocess.run([tool, "info", "-U", "-f", scenario.fmt, scenario.image], cwd=d, capture_output=True, text=True)
    if p.returncode != 0:
        return "info: " + p.stderr.strip()
    p = subprocess.run([tool, "check", "-f", scenario.fmt, scenario.image], cwd=d, capture_output=True, text=True)
    errors = [line for line in p.stdout.splitlines() if line.startswith("ERROR")]
    # a parallels image killed while open keeps its in-use mark: the format's own crash flag
    by_design = p.returncode == 2 and errors == ["ERROR image was not closed correctly"]
    if p.returncode not in (0, 3, 63) and not by_design:
        shown = errors[:3] or [line for line in (p.stdout + p.stderr).splitlines() if line.strip()][:3]
        return f"check exit {p.returncode}: " + " | ".join(shown)[:300]
    if not guest_matches(guest_data(tool, d, scenario.fmt, scenario.image), before, after, scenario.copies):
        return "the guest data is neither the data before nor after the command" + \
            (" (block by block)" if scenario.copies else "")
    return None


def run_scenario(tool, scenario, sample, verbose):
    base = tempfile.mkdtemp(prefix="crash-")
    try:
        start = os.path.join(base, "start")
        os.mkdir(start)
        scenario.setup(tool, start)
        whole = os.path.join(base, "whole")
        shutil.copytree(start, whole)
        before = guest_data(tool, whole, scenario.fmt, scenario.image)
        counts, status = strace_counts(tool, whole, scenario.argv)
        if status != 0:
            return 0, 0, [f"the command itself fails (exit {status}): nothing to sweep"]
        after = guest_data(tool, whole, scenario.fmt, scenario.image)
        tried = survived = 0
        failures = []
        for kind in KINDS:
            points = list(range(1, counts[kind] + 1))
            if sample and len(points) > sample:
                step = len(points) / sample
                points = sorted({points[int(i * step)] for i in range(sample)} | {points[-1]})
            for n in points:
                d = os.path.join(base, f"{kind}-{n}")
                shutil.copytree(start, d)
                subprocess.run(["strace", "-f", "-o", "/dev/null", "-e", "trace=" + kind,
                                "-e", f"inject={kind}:signal=KILL:when={n}", tool, *scenario.argv], cwd=d,
                               capture_output=True)
                tried += 1
                problem = point_ok(tool, d, scenario, before, after)
                if problem:
                    failures.append(f"{kind} #{n}: {problem}")
                else:
                    survived += 1
                shutil.rmtree(d)
        return tried, survived, failures
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qemu-img", default=os.path.join(ROOT, "build", "qemu-img"))
    parser.add_argument("--all", action="store_true", help="every point, not a sample")
    parser.add_argument("--sample", type=int, default=6, help="points per kind of call (default 6)")
    parser.add_argument("--only", default="", help="scenarios whose name matches")
    parser.add_argument("-v", action="store_true")
    args = parser.parse_args()
    if not shutil.which("strace"):
        sys.exit("crash_sweep: strace is missing (make deps)")
    tool = os.path.abspath(args.qemu_img)
    bad = 0
    total_tried = total_survived = 0
    for scenario in scenarios():
        if not re.search(args.only, scenario.name):
            continue
        tried, survived, failures = run_scenario(tool, scenario, 0 if args.all else args.sample, args.v)
        total_tried += tried
        total_survived += survived
        print(f"{scenario.name:32s} {survived}/{tried} points survived", flush=True)
        for f in failures[:5 if not args.v else None]:
            print(f"    {f}")
        bad += len(failures)
    print(f"{total_survived} passed, {total_tried - total_survived} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
