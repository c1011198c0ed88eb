#!/usr/bin/env python3
# ci/bench.py — make bench: times build/qemu-img against Debian's /usr/bin/qemu-img (the oracle) on the same files in one run (spec/architecture.md §Tests).
"""Benchmark qimg against Debian's qemu-img on the same inputs, in one run.

The input is a sparse 1 GiB raw image holding 64 MiB of data in scattered extents.  Each
operation (convert to raw, convert to qcow2, info, map) runs several times with each tool;
the best wall-clock time counts.  Outputs are checked too: converted images must hold the
same bytes as the source (Debian's qemu-img compare checks the qcow2 ones).  Not part of
make check; Debian's qemu-img is used here only as the measuring stick.
"""
import argparse
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 1 << 20
GIB = 1 << 30


def make_source(path, seed=7):
    """A sparse 1 GiB raw image: 64 extents of 1 MiB (random, repeated pattern, or zero-filled)."""
    rng = random.Random(seed)
    with open(path, "wb") as fh:
        fh.truncate(GIB)
        slots = rng.sample(range(GIB // MIB), 64)
        for i, slot in enumerate(sorted(slots)):
            fh.seek(slot * MIB)
            if i % 4 == 0:
                fh.write(bytes([i & 0xff]) * MIB)     # a repeated byte
            elif i % 4 == 1:
                fh.write(bytes(MIB))                  # written zeroes: a converter may skip them
            else:
                fh.write(rng.randbytes(MIB))          # incompressible data


def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            block = fh.read(4 * MIB)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


def timed(cmd, cwd):
    start = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=dict(os.environ, LC_ALL="C"))
    seconds = time.perf_counter() - start
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()}")
    return seconds, p.stdout


def best_of(runs, fn):
    return min(fn(i) for i in range(runs))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--qemu-img", default=os.path.join(ROOT, "build", "qemu-img"), help="the binary measured")
    ap.add_argument("--oracle", default="/usr/bin/qemu-img", help="the reference binary (Debian's qemu-utils)")
    ap.add_argument("--runs", type=int, default=3, help="runs of each convert (the best counts)")
    ap.add_argument("--quick-runs", type=int, default=20, help="runs of info and map (the best counts)")
    a = ap.parse_args()
    tools = {"qimg": os.path.abspath(a.qemu_img), "qemu": a.oracle}
    for name, path in tools.items():
        if not os.access(path, os.X_OK):
            sys.exit(f"bench: {path} is missing ({'run make' if name == 'qimg' else 'install qemu-utils: make deps'})")

    work = tempfile.mkdtemp(prefix="qimg-bench-")
    try:
        src = os.path.join(work, "src.raw")
        make_source(src)
        want = digest(src)
        print(f"input: sparse 1 GiB raw, 64 MiB written in 1 MiB extents ({work})")
        rows = []

        def convert(tool, fmt):
            binary = tools[tool]

            def once(i):
                out = os.path.join(work, f"{tool}-{i}.{fmt}")
                if os.path.exists(out):
                    os.unlink(out)
                seconds, _ = timed([binary, "convert", "-f", "raw", "-O", fmt, src, out], work)
                if fmt == "raw":
                    if digest(out) != want:
                        raise RuntimeError(f"{tool}: convert -O raw changed the data")
                else:
                    cmp = subprocess.run([a.oracle, "compare", "-f", "raw", "-F", fmt, src, out], capture_output=True)
                    if cmp.returncode != 0:
                        raise RuntimeError(f"{tool}: convert -O {fmt} output differs from the source")
                os.unlink(out)
                return seconds

            return best_of(a.runs, once)

        def quick(tool, *args):
            binary = tools[tool]
            return best_of(a.quick_runs, lambda i: timed([binary, *args], work)[0])

        ops = [
            ("convert -O raw", lambda t: convert(t, "raw")),
            ("convert -O qcow2", lambda t: convert(t, "qcow2")),
            ("info", lambda t: quick(t, "info", "-f", "raw", "src.raw")),
            ("info --output=json", lambda t: quick(t, "info", "--output=json", "-f", "raw", "src.raw")),
            ("map --output=json", lambda t: quick(t, "map", "--output=json", "-f", "raw", "src.raw")),
        ]
        failures = 0
        for label, op in ops:
            result = {}
            for tool in ("qimg", "qemu"):
                try:
                    result[tool] = op(tool)
                except RuntimeError as e:
                    print(f"  {label}: {e}")
                    result[tool] = None
                    failures += tool == "qimg"
            rows.append((label, result["qimg"], result["qemu"]))

        print(f"\n{'operation':22s} {'qimg':>10s} {'qemu-img':>10s} {'qimg/qemu':>10s}")
        for label, mine, theirs in rows:
            def fmt(s):
                return f"{s * 1000:8.1f}ms" if s is not None else "    failed"
            ratio = f"{mine / theirs:9.2f}x" if mine is not None and theirs else "       n/a"
            print(f"{label:22s} {fmt(mine):>10s} {fmt(theirs):>10s} {ratio:>10s}")
        print("\n(ratio below 1 means qimg is faster; best of several runs, same files, same machine)")
        return 1 if failures else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
