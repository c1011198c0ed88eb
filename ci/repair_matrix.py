#!/usr/bin/env python3
"""repair_matrix.py — the check/repair matrix: for every corruption kind of tools/corrupt, a fresh
image with known data is damaged, then `check`, `check -r leaks` and `check -r all` (human and
JSON) run on copies; their output must match the recorded expectations in golden/repair/, and
after `-r all` the guest data must read back as it does after qemu-img's own repair
(spec/architecture.md §Tests; docs/repair.md).

Kinds are named FORMAT-KIND (tools/corruption/FORMAT.py); a kind's base image is made in its format.
The expectations are upstream qemu-img 10.2's answers on the very same damaged files (recorded with
--record, which is the only mode that runs the oracle, ../shared/oracle/qemu-img; the product never does).

A kind that has matched once is listed in golden/repair/passing.txt and may never fail again;
kinds not listed yet (where our repair still decides differently) are reported, not counted.

usage: repair_matrix.py --qemu-img build/qemu-img [--only REGEX] [--record] [--update-passing] [-v]
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
ORACLE = os.path.join(ROOT, "..", "shared", "oracle", "qemu-img")

# The image every kind starts from: 64 MiB, data at the places the golden check cases use.
BASE_SPANS = [(0, 256 * 1024, 0x5A), (5 * 1024 * 1024, 64 * 1024, 0x6B)]
VARIANTS = {  # convert options, then commands run on the result ("{}" is the image)
    "plain": ([], []),
    "lazy": (["-o", "lazy_refcounts=on"], []),
    "compressed": (["-c"], []),
    "snapshot": ([], [["snapshot", "-c", "s1", "{}"]]),
    "bitmap": ([], [["bitmap", "--add", "{}", "b0"]]),
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
    return out


def format_of(kind):
    return kind.split("-", 1)[0]


def variant_for(kind):
    needs = subprocess.run([CORRUPT, "--describe", kind], capture_output=True, text=True).stdout
    for word, variant in (("lazy_refcounts", "lazy"), ("compressed", "compressed"), ("snapshot", "snapshot"),
                          ("bitmap", "bitmap")):
        if "needs:" in needs and word in needs.split("needs:", 1)[1]:
            return variant
    return "plain"


def make_base(qemu_img, work, fmt, variant):
    """An image of format fmt with the base data, written by the binary under test (convert from raw)."""
    raw = os.path.join(work, "base.raw")
    with open(raw, "wb") as fh:
        fh.truncate(64 << 20)
        for offset, length, value in BASE_SPANS:
            fh.seek(offset)
            fh.write(bytes([value]) * length)
    image = os.path.join(work, f"base-{variant}.{fmt}")
    options, commands = VARIANTS[variant]
    r = run([qemu_img, "convert", "-f", "raw", "-O", fmt, *options, raw, image], work)
    for command in commands:
        if r["rc"] == 0:
            r = run([qemu_img, *[image if a == "{}" else a for a in command]], work)
    if r["rc"] != 0:
        raise RuntimeError("could not make the base image: " + r["stderr"])
    return image


def sha256(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


# Byte ranges a format fills at random on creation (UUIDs): masked before a base image is hashed.
RANDOM_BYTES = {"vdi": [(0x188, 0x1a8)],
                "vmdk": [(0x200, 0x2a00)],  # vmdk: the descriptor (CID)
                # vpc: timestamp, checksum and UUID of the footer copy and of the footer (the base is
                # 4197888 bytes: blocks 0 and 2 allocated)
                "vpc": [(24, 28), (64, 84), (4197376 + 24, 4197376 + 28), (4197376 + 64, 4197376 + 84)],
                # vhdx: both headers (checksum, sequence number, write GUIDs), the first log entry's
                # checksum and log GUID, the page 83 data of the 64 MiB base's metadata
                "vhdx": [(0x10004, 0x10030), (0x20004, 0x20030), (0x100004, 0x100008), (0x100020, 0x100030),
                         (0x310010, 0x310020)]}


def base_digest(path, fmt):
    """sha256 of a base image with the format's random bytes zeroed."""
    with open(path, "rb") as fh:
        data = bytearray(fh.read())
    for start, end in RANDOM_BYTES.get(fmt, []):
        data[start:end] = bytes(len(data[start:end]))
    return hashlib.sha256(data).hexdigest()


def normalise(text, work):
    return text.replace(work + "/", "").replace(work, ".")


def content_digest(tool, image, fmt, work):
    """sha256 of the guest data of image as tool reads it (None when it cannot be read)."""
    raw = os.path.join(work, "after.raw")
    r = run([tool, "convert", "-f", fmt, "-O", "raw", image, raw], work)
    if r["rc"] != 0:
        return None
    digest = sha256(raw)
    os.unlink(raw)
    return digest


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--qemu-img", required=True)
    ap.add_argument("--only")
    ap.add_argument("--record", action="store_true", help="record Debian's qemu-img's answers as expectations")
    ap.add_argument("--update-passing", action="store_true", help="add newly matching kinds to the passing list")
    ap.add_argument("-v", action="store_true")
    a = ap.parse_args()
    qemu_img = os.path.abspath(a.qemu_img)
    passing_path = os.path.join(EXPECTED, "passing.txt")
    guarded = set()
    if os.path.exists(passing_path):
        with open(passing_path) as fh:
            guarded = {ln.strip() for ln in fh if ln.strip() and not ln.startswith("#")}
    newly, pending = [], []
    passed = failed = 0
    oracle_version = None
    if a.record:
        if not os.path.exists(ORACLE):
            print(f"repair_matrix: --record needs the oracle at {ORACLE}", file=sys.stderr)
            return 2
        oracle_version = run([ORACLE, "--version"], ROOT)["stdout"].splitlines()[0]
    work = tempfile.mkdtemp(prefix="repair-")
    try:
        bases = {}
        for kind in kinds():
            if a.only and not re.search(a.only, kind):
                continue
            variant = variant_for(kind)
            fmt = format_of(kind)
            if (fmt, variant) not in bases:
                bases[fmt, variant] = make_base(qemu_img, work, fmt, variant)
            base = bases[fmt, variant]
            damaged = os.path.join(work, "damaged." + fmt)
            shutil.copyfile(base, damaged)
            c = subprocess.run([CORRUPT, kind, damaged], capture_output=True, text=True)
            path = os.path.join(EXPECTED, kind + ".json")
            if c.returncode != 0:
                print(f"SKIP {kind}: {c.stderr.strip()}")
                continue
            results = {}
            tool = ORACLE if a.record else qemu_img
            for name, args in COMMANDS:
                copy = os.path.join(work, "t." + fmt)
                shutil.copyfile(damaged, copy)
                r = run([tool, "check", *args, "t." + fmt], work)
                r = {k: normalise(v, work) if isinstance(v, str) else v for k, v in r.items()}
                if name == "all":
                    # The guest data after repair: what qemu-img preserves must be preserved.
                    r["content-sha256"] = content_digest(tool, copy, fmt, work)
                results[name] = r
            if a.record:
                os.makedirs(EXPECTED, exist_ok=True)
                record = {"kind": kind, "base-sha256": base_digest(base, fmt), "results": results,
                          "recorded-with": oracle_version}
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
            # Snapshot tables carry creation dates, so such bases differ from run to run.
            if variant != "snapshot" and want["base-sha256"] != base_digest(base, fmt):
                problems.append("base image differs from the recorded one (re-record)")
            for name, _ in COMMANDS:
                w, h = want["results"][name], results[name]
                for key in ("rc", "stdout", "stderr"):
                    if w[key] != h[key]:
                        problems.append(f"{name}:{key}")
                if "content-sha256" in w and w["content-sha256"] != h.get("content-sha256"):
                    problems.append(f"{name}: guest data after repair differs")
            if problems and kind not in guarded:
                pending.append(kind)
                if a.v:
                    print(f"not yet {kind}: " + ", ".join(problems))
            elif problems:
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
                if kind not in guarded:
                    newly.append(kind)
                if a.v:
                    print(f"ok   {kind}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if pending:
        print(f"not yet matching qemu-img ({len(pending)}): " + " ".join(pending))
    if newly and a.update_passing:
        with open(passing_path, "w") as fh:
            fh.write("# repair kinds that have matched qemu-img once; they may never regress\n")
            for k in sorted(guarded | set(newly)):
                fh.write(k + "\n")
        print(f"passing.txt: {len(newly)} kind(s) added")
    elif newly:
        print(f"{len(newly)} kind(s) match but are not in golden/repair/passing.txt: run with --update-passing")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
