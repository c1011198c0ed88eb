#!/usr/bin/env python3
"""repair_matrix.py — the check/repair matrix: for every corruption kind of tools/corrupt, a fresh
image with known data is damaged, then `check`, `check -r leaks` and `check -r all` (human and
JSON) run on copies; their output must match the recorded expectations in golden/repair/, and
after `-r all` the data the kind did not touch must read back unchanged
(spec/architecture.md §Tests; docs/repair.md).

The expectations are Debian's qemu-img's answers on the very same damaged files (recorded with
--record, which is the only mode that runs /usr/bin/qemu-img; the product never does).

usage: repair_matrix.py --qemu-img build/qemu-img [--only REGEX] [--record] [-v]
Last line: "N passed, M failed".
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORRUPT = os.path.join(ROOT, "tools", "corrupt")
EXPECTED = os.path.join(ROOT, "golden", "repair")
ORACLE = "/usr/bin/qemu-img"

# The image every kind starts from: 64 MiB, data at the places the golden check cases use.
BASE_SPANS = [(0, 256 * 1024, 0x5A), (5 * 1024 * 1024, 64 * 1024, 0x6B)]
VARIANTS = {
    "plain": [],
    "lazy": ["-o", "lazy_refcounts=on"],
}
COMMANDS = [
    ("check", []),
    ("check-json", ["--output=json"]),
    ("leaks", ["-r", "leaks"]),
    ("leaks-json", ["-r", "leaks", "--output=json"]),
    ("all", ["-r", "all"]),
    ("all-json", ["-r", "all", "--output=json"]),
]


def run(argv, cwd):
    p = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120)
    return {"stdout": p.stdout, "stderr": p.stderr, "rc": p.returncode}


def kinds():
    out = subprocess.run([CORRUPT, "--list"], capture_output=True, text=True, check=True).stdout.split()
    return [k for k in out if k.startswith("qcow2-")]


def variant_for(kind):
    needs = subprocess.run([CORRUPT, "--describe", kind], capture_output=True, text=True).stdout
    return "lazy" if "lazy_refcounts" in needs else "plain"


def make_base(qemu_img, work, variant):
    """A qcow2 image with the base data, written by the binary under test (convert from raw)."""
    raw = os.path.join(work, "base.raw")
    with open(raw, "wb") as fh:
        fh.truncate(64 << 20)
        for offset, length, value in BASE_SPANS:
            fh.seek(offset)
            fh.write(bytes([value]) * length)
    image = os.path.join(work, f"base-{variant}.qcow2")
    r = run([qemu_img, "convert", "-f", "raw", "-O", "qcow2", *VARIANTS[variant], raw, image], work)
    if r["rc"] != 0:
        raise RuntimeError("could not make the base image: " + r["stderr"])
    return image


def sha256(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def normalise(text, work):
    return text.replace(work + "/", "").replace(work, ".")


def data_intact(qemu_img, image, work):
    """True when every base span still reads back with its pattern after -r all."""
    raw = os.path.join(work, "after.raw")
    r = run([qemu_img, "convert", "-f", "qcow2", "-O", "raw", image, raw], work)
    if r["rc"] != 0:
        return False
    with open(raw, "rb") as fh:
        for offset, length, value in BASE_SPANS:
            fh.seek(offset)
            if fh.read(length) != bytes([value]) * length:
                return False
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--qemu-img", required=True)
    ap.add_argument("--only")
    ap.add_argument("--record", action="store_true", help="record Debian's qemu-img's answers as expectations")
    ap.add_argument("-v", action="store_true")
    a = ap.parse_args()
    qemu_img = os.path.abspath(a.qemu_img)
    passed = failed = 0
    work = tempfile.mkdtemp(prefix="repair-")
    try:
        bases = {}
        for kind in kinds():
            if a.only and not re.search(a.only, kind):
                continue
            variant = variant_for(kind)
            if variant not in bases:
                bases[variant] = make_base(qemu_img, work, variant)
            damaged = os.path.join(work, "damaged.qcow2")
            shutil.copyfile(bases[variant], damaged)
            c = subprocess.run([CORRUPT, kind, damaged], capture_output=True, text=True)
            path = os.path.join(EXPECTED, kind + ".json")
            if c.returncode != 0:
                print(f"SKIP {kind}: {c.stderr.strip()}")
                continue
            results = {}
            tool = ORACLE if a.record else qemu_img
            for name, args in COMMANDS:
                copy = os.path.join(work, "t.qcow2")
                shutil.copyfile(damaged, copy)
                r = run([tool, "check", *args, "t.qcow2"], work)
                r = {k: normalise(v, work) if isinstance(v, str) else v for k, v in r.items()}
                if name == "all" and not a.record:
                    r["data-intact"] = data_intact(qemu_img, copy, work) if r["rc"] in (0, 3) else None
                results[name] = r
            if a.record:
                os.makedirs(EXPECTED, exist_ok=True)
                record = {"kind": kind, "base-sha256": sha256(bases[variant]), "results": results}
                with open(path, "w") as fh:
                    json.dump(record, fh, indent=1, sort_keys=True)
                    fh.write("\n")
                print(f"recorded {kind}")
                continue
            if not os.path.exists(path):
                print(f"FAIL {kind}: no recorded expectation (run with --record)")
                failed += 1
                continue
            with open(path) as fh:
                want = json.load(fh)
            problems = []
            if want["base-sha256"] != sha256(bases[variant]):
                problems.append("base image differs from the recorded one (re-record)")
            for name, _ in COMMANDS:
                w, h = want["results"][name], results[name]
                for key in ("rc", "stdout", "stderr"):
                    if w[key] != h[key]:
                        problems.append(f"{name}:{key}")
                if h.get("data-intact") is False:
                    problems.append(f"{name}: data lost")
            if problems:
                failed += 1
                print(f"FAIL {kind}: " + ", ".join(problems))
                if a.v:
                    for name, _ in COMMANDS:
                        w, h = want["results"][name], results[name]
                        if w != {k: h[k] for k in w}:
                            print(f"  [{name}] want rc {w['rc']}: {w['stdout']!r} {w['stderr']!r}")
                            print(f"  [{name}] got  rc {h['rc']}: {h['stdout']!r} {h['stderr']!r}")
            else:
                passed += 1
                if a.v:
                    print(f"ok   {kind}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
