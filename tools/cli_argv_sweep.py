#!/usr/bin/env python3
# tools/cli_argv_sweep.py — differential sweep of command lines: runs two qemu-img binaries on many argvs
# per command (valid and invalid) and reports any difference in stdout, stderr, exit code or resulting
# files (spec/architecture.md §Command line, §Tests).
#
# Usage: tools/cli_argv_sweep.py BEFORE AFTER [--only info,map] [--random N] [--seed S] [--show N] [--json FILE]
# (AFTER may be the qemu-img 10.2 oracle, to list where the product differs from it.)
# Each argv runs in the same scratch directory for both binaries, laid anew from one template of small
# images made by BEFORE, with the wall clock frozen (an LD_PRELOAD shim) so that snapshot dates and
# bench timings do not differ between runs.
import argparse
import hashlib
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

FORMATS = ["raw", "qcow2", "bogus"]
CACHES = ["writeback", "none", "junk"]
OUTPUTS = ["json", "human", "xml"]
OBJECTS = ["secret,id=sec0,data=abc", "bogus", "secret,id=sec0"]
SIZES = ["64k", "0", "-1", "junk"]

# Per command: its options as (short letter or None, long name or None, sample values or None for a flag),
# and operand lists, the first one the usual.
COMMON_FORMAT = [("h", "help", None), ("f", "format", FORMATS), (None, "image-opts", None)]
OBJECT = [(None, "object", OBJECTS)]

COMMANDS = {
    "check": dict(
        options=COMMON_FORMAT + [("T", "cache", CACHES), ("r", "repair", ["leaks", "all", "junk"]),
                                 ("U", "force-share", None), (None, "output", OUTPUTS), ("q", "quiet", None)] + OBJECT,
        operands=[["q.qcow2"], ["f.img"], [], ["q.qcow2", "extra"], ["nofile"]]),
    "info": dict(
        options=COMMON_FORMAT + [(None, "backing-chain", None), ("t", "cache", CACHES), ("U", "force-share", None),
                                 (None, "limits", None), (None, "output", OUTPUTS)] + OBJECT,
        operands=[["top.qcow2"], ["f.img"], [], ["f.img", "q.qcow2"], ["nofile"],
                  ["driver=qcow2,file.filename=q.qcow2"]]),
    "map": dict(
        options=COMMON_FORMAT + [("s", "start-offset", SIZES), ("l", "max-length", SIZES), ("U", "force-share", None),
                                 (None, "output", OUTPUTS)] + OBJECT,
        operands=[["top.qcow2"], ["f.img"], [], ["f.img", "q.qcow2"], ["driver=raw,file.filename=f.img"]]),
    "dd": dict(
        options=COMMON_FORMAT + [("O", "output-format", FORMATS), ("U", "force-share", None)] + OBJECT,
        operands=[["if=f.img", "of=o.img"], ["if=q.qcow2", "of=o.img", "bs=4k", "count=2"], ["if=f.img"], [],
                  ["if=f.img", "of=o.img", "extra"], ["bs=x", "if=f.img", "of=o.img"]]),
    "measure": dict(
        options=[("h", "help", None), ("O", "target-format", FORMATS), ("f", "format", FORMATS),
                 (None, "source-format", FORMATS), (None, "image-opts", None), (None, "source-image-opts", None),
                 ("o", "options", ["cluster_size=64k", "help", "bogus=1"]),
                 (None, "target-format-options", ["cluster_size=64k", "help"]),
                 ("l", "snapshot", ["snap1", "snapshot.id=1", "snapshot.bogus=1"])] + OBJECT +
                [(None, "output", OUTPUTS), ("s", "size", ["1M", "-1", "junk"]), ("U", "force-share", None)],
        operands=[["f.img"], ["s.qcow2"], [], ["f.img", "q.qcow2"]]),
    "resize": dict(
        options=COMMON_FORMAT + [(None, "preallocation", ["off", "full", "junk"]), (None, "shrink", None),
                                 ("q", "quiet", None)] + OBJECT,
        operands=[["f.img", "2M"], ["q.qcow2", "+1M"], ["f.img", "-512k"], ["f.img"], [], ["f.img", "2M", "extra"],
                  ["q.qcow2", "--", "-64k"], ["f.img", "junk"]]),
    "create": dict(
        options=[("h", "help", None), ("f", "format", FORMATS),
                 ("o", "options", ["cluster_size=64k", "help", "size=1M", "bogus=1"]),
                 ("b", "backing", ["f.img", "nofile"]), ("F", None, ["raw", "qcow2"]),
                 ("B", "backing-format", ["raw", "qcow2"]), ("u", "backing-unsafe", None), ("q", "quiet", None)] + OBJECT,
        operands=[["new.qcow2", "1M"], ["new.img", "1M"], ["new.img"], [], ["new.img", "1M", "extra"],
                  ["new.img", "junk"]]),
    "amend": dict(
        options=[("h", "help", None), ("o", "options", ["compat=0.10", "help", "bogus=1", "size=2M"]),
                 ("f", "format", FORMATS), (None, "image-opts", None), ("t", "cache", CACHES), (None, "force", None),
                 ("p", "progress", None), ("q", "quiet", None)] + OBJECT,
        operands=[["q.qcow2"], ["f.img"], [], ["q.qcow2", "extra"]]),
    "bench": dict(
        options=COMMON_FORMAT + [("t", "cache", CACHES), ("c", "count", ["10", "0", "junk"]),
                                 ("d", "depth", ["4", "0", "junk"]), ("o", "offset", SIZES),
                                 ("s", "buffer-size", ["4k", "0", "junk"]), ("S", "step-size", SIZES),
                                 ("w", "write", None), (None, "pattern", ["7", "256", "junk"]),
                                 (None, "flush-interval", ["2", "junk"]), (None, "no-drain", None),
                                 ("i", "aio", ["threads", "native", "junk"]), ("n", "native", None),
                                 ("U", "force-share", None), ("q", "quiet", None)] + OBJECT,
        operands=[["f.img"], ["q.qcow2"], [], ["f.img", "extra"]]),
    "bitmap": dict(
        options=COMMON_FORMAT + [(None, "add", None), ("g", "granularity", ["64k", "0", "junk"]),
                                 (None, "remove", None), (None, "clear", None), (None, "enable", None),
                                 (None, "disable", None), (None, "merge", ["b1", "nosuch"]),
                                 ("b", "source-file", ["q.qcow2", "nofile"]), ("F", "source-format", FORMATS)] + OBJECT,
        operands=[["q.qcow2", "b0"], ["q.qcow2", "bnew"], ["q.qcow2"], [], ["q.qcow2", "b0", "extra"],
                  ["f.img", "b0"]]),
    "commit": dict(
        options=COMMON_FORMAT + [("t", "cache", CACHES), ("d", "drop", None),
                                 ("b", "base", ["base.qcow2", "nofile"]), ("r", "rate-limit", ["1M", "junk"]),
                                 ("p", "progress", None), ("q", "quiet", None)] + OBJECT,
        operands=[["top.qcow2"], ["q.qcow2"], [], ["top.qcow2", "extra"]]),
    "compare": dict(
        options=[("h", "help", None), ("f", "a-format", FORMATS), ("F", "b-format", FORMATS),
                 (None, "image-opts", None), ("s", "strict", None), ("T", "cache", CACHES),
                 ("U", "force-share", None), ("p", "progress", None), ("q", "quiet", None)] + OBJECT,
        operands=[["f.img", "q.qcow2"], ["f.img", "d.img"], ["f.img"], [], ["f.img", "q.qcow2", "extra"]]),
    "convert": dict(
        options=[("h", "help", None), ("f", "source-format", FORMATS), (None, "image-opts", None),
                 ("T", "source-cache", CACHES), ("l", "snapshot", ["snap1", "snapshot.name=snap1", "snapshot.x=1"]),
                 (None, "bitmaps", None), (None, "skip-broken-bitmaps", None), (None, "salvage", None),
                 ("O", "target-format", FORMATS), (None, "target-image-opts", None),
                 ("o", "target-format-options", ["cluster_size=64k", "help", "bogus=1"]),
                 ("t", "target-cache", CACHES), ("b", "backing", ["f.img", "nofile"]),
                 ("F", "backing-format", ["raw", "qcow2"]), ("B", None, ["f.img"]),
                 ("S", "sparse-size", ["4k", "-1", "junk"]), ("n", "no-create", None),
                 (None, "target-is-zero", None), ("U", "force-share", None), ("r", "rate-limit", ["1M", "junk"]),
                 ("m", "parallel", ["2", "0", "junk"]), ("W", "oob-writes", None),
                 ("C", "copy-range-offloading", None), ("c", None, None), ("p", "progress", None),
                 ("q", "quiet", None)] + OBJECT,
        operands=[["f.img", "out.img"], ["q.qcow2", "out.qcow2"], ["f.img"], [], ["f.img", "q.qcow2", "out.img"],
                  ["s.qcow2", "out.img"]]),
    "rebase": dict(
        options=COMMON_FORMAT + [("t", "cache", CACHES), ("c", "compress", None),
                                 ("b", "backing", ["base.qcow2", "", "nofile"]), ("F", None, ["raw", "qcow2"]),
                                 ("B", "backing-format", ["raw", "qcow2"]), ("T", "backing-cache", CACHES),
                                 ("u", "backing-unsafe", None), ("U", "force-share", None), ("p", "progress", None),
                                 ("q", "quiet", None)] + OBJECT,
        operands=[["top.qcow2"], ["q.qcow2"], [], ["top.qcow2", "extra"]]),
    "snapshot": dict(
        options=COMMON_FORMAT + [("l", "list", None), ("a", "apply", ["snap1", "nosuch"]),
                                 ("c", "create", ["snapnew", "snap1"]), ("d", "delete", ["snap1", "nosuch"]),
                                 ("U", "force-share", None), ("q", "quiet", None)] + OBJECT,
        operands=[["s.qcow2"], ["f.img"], [], ["s.qcow2", "extra"]]),
}

FAKETIME_C = r"""
#include <sys/time.h>
#include <time.h>
int clock_gettime(clockid_t id, struct timespec *ts) { (void)id; ts->tv_sec = 1700000000; ts->tv_nsec = 0; return 0; }
int gettimeofday(struct timeval *tv, void *tz) { (void)tz; if (tv) { tv->tv_sec = 1700000000; tv->tv_usec = 0; } return 0; }
time_t time(time_t *t) { if (t) *t = 1700000000; return 1700000000; }
"""


def faketime_build(work):
    """Compiles the frozen-clock shim; returns its path."""
    source = os.path.join(work, "faketime.c")
    library = os.path.join(work, "faketime.so")
    with open(source, "w") as f:
        f.write(FAKETIME_C)
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", library, source], check=True)
    return library


def template_build(binary, directory, env):
    """Lays the small images every argv starts from, made by binary itself."""
    os.makedirs(directory)

    def run(*args):
        subprocess.run([binary, *args], cwd=directory, env=env, check=True, stdout=subprocess.DEVNULL)

    data = bytearray(1 << 20)
    data[0:4096] = b"\x11" * 4096
    data[300000:310000] = b"\x22" * 10000
    with open(os.path.join(directory, "f.img"), "wb") as f:
        f.write(data)
    data[0:10] = b"\x33" * 10
    with open(os.path.join(directory, "d.img"), "wb") as f:
        f.write(data)
    run("convert", "-f", "raw", "-O", "qcow2", "f.img", "q.qcow2")
    run("bitmap", "--add", "q.qcow2", "b0")
    run("bitmap", "--add", "q.qcow2", "b1")
    run("convert", "-f", "raw", "-O", "qcow2", "f.img", "base.qcow2")
    run("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "top.qcow2")
    run("convert", "-f", "raw", "-O", "qcow2", "f.img", "s.qcow2")
    run("snapshot", "-c", "snap1", "s.qcow2")


def argvs_of_option(option, operands, other_operands):
    """Every spelling of one option: alone, with each value, missing its value, after the operands,
    repeated, attached, abbreviated, and with the other operand lists."""
    short, long, values = option
    forms = ([("-" + short, "short")] if short else []) + ([("--" + long, "long")] if long else [])
    out = []
    for form, kind in forms:
        if values is None:
            out += [[form] + operands, operands + [form], [form, form] + operands, [form]]
            out += [[form + "=x"] + operands] if kind == "long" else [[form + "x"] + operands]
            out += [[form] + o for o in other_operands]
        else:
            out += [[form, v] + operands for v in values]
            out += [[form], operands + [form], operands + [form, values[0]], [form, values[0], form, values[-1]] + operands]
            out += [[form + "=" + values[0]] + operands, [form + "="] + operands] if kind == "long" \
                else [[form + values[0]] + operands]
            out += [[form, values[0]] + o for o in other_operands]
    if long:
        for k in range(1, len(long)):
            out.append(["--" + long[:k]] + ([values[0]] if values else []) + operands)
    return out


def option_words(option, rng):
    """One use of option with a random value and spelling."""
    short, long, values = option
    forms = ([("-" + short)] if short else []) + ([("--" + long)] if long else [])
    form = rng.choice(forms)
    if values is None:
        return [form]
    value = rng.choice(values)
    if form.startswith("--") and rng.random() < 0.3:
        return [form + "=" + value]
    return [form, value]


def argvs_of_command(spec, random_count, rng):
    """The argv list for one command (without the command name)."""
    options, operand_sets = spec["options"], spec["operands"]
    main = operand_sets[0]
    out = [[], ["-h"], ["--help"]] + [list(o) for o in operand_sets]
    for option in options:
        out += argvs_of_option(option, main, operand_sets[1:])
    out += [["-Z"] + main, ["--bogus"] + main, main + ["-Z"], ["-"] + main, ["--"] + main, ["--", "-h"],
            main + ["--"], ["--"] + main + ["-h"], ["-h", "-Z"], ["-Z", "-h"], ["-hZ"], ["--help=x"],
            ["--help", "--bogus"], ["--bogus", "--help"], ["--", "--"] + main, ["-q", "--output=json"] + main,
            ["--output=json", "-q"] + main, ["-U"] + main, ["-U", "-f", "raw"] + main, ["--output", "xml", "-h"],
            ["-h", "--output", "xml"], ["--object", "bogus", "-h"], ["-h", "--object", "bogus"],
            ["--image-opts", "-f", "raw"] + main, ["--", "-f", "raw"] + main, ["-f"], ["--format"], ["-"],
            main + ["-h"], main + ["--help"], ["-f", "raw", "--"] + main + ["-q"]]
    for a, b in itertools.permutations(options, 2):
        out.append(option_words(a, rng) + option_words(b, rng) + main)
    for _ in range(random_count):
        words = []
        for option in rng.sample(options, rng.randint(1, min(5, len(options)))):
            words += option_words(option, rng)
        operands = list(rng.choice(operand_sets))
        position = rng.randint(0, len(words))
        if rng.random() < 0.2:
            operands = ["--"] + operands
        words[position:position] = operands
        out.append(words)
    unique, seen = [], set()
    for argv in out:
        key = tuple(argv)
        if key not in seen:
            seen.add(key)
            unique.append(argv)
    return unique


def directory_digest(directory):
    """{name: sha256} of every file left in directory."""
    digest = {}
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                digest[name] = hashlib.sha256(f.read()).hexdigest()[:16]
    return digest


def outcome(binary, argv, template, scratch, env):
    """Runs binary argv in a fresh copy of template; (rc, stdout, stderr, files)."""
    if os.path.exists(scratch):
        shutil.rmtree(scratch)
    shutil.copytree(template, scratch)
    try:
        p = subprocess.run(["qemu-img", *argv], executable=binary, cwd=scratch, env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=30)
        result = (p.returncode, p.stdout, p.stderr)
    except subprocess.TimeoutExpired:
        result = ("timeout", b"", b"")
    return result + (directory_digest(scratch),)


def outcome_describe(result):
    """An outcome as JSON can hold it."""
    rc, stdout, stderr, files = result
    return {"rc": rc, "stdout": stdout.decode(errors="replace"), "stderr": stderr.decode(errors="replace"),
            "files": files}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--only", default="")
    parser.add_argument("--random", type=int, default=150)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--show", type=int, default=5, help="differences printed per command")
    parser.add_argument("--json", help="write every difference (argv, both outcomes) to this file")
    args = parser.parse_args()
    before, after = os.path.abspath(args.before), os.path.abspath(args.after)
    work = tempfile.mkdtemp(prefix="cli_sweep_")
    env = dict(os.environ, LD_PRELOAD=faketime_build(work), LC_ALL="C")
    template = os.path.join(work, "template")
    template_build(before, template, env)
    scratch = os.path.join(work, "run")
    commands = [c for c in COMMANDS if not args.only or c in args.only.split(",")]
    total = differences = 0
    recorded = []
    for command in commands:
        spec = COMMANDS[command]
        rng = random.Random(f"{args.seed}:{command}")
        argvs = argvs_of_command(spec, args.random, rng)
        count = 0
        for argv in argvs:
            full = [command] + argv
            a = outcome(before, full, template, scratch, env)
            b = outcome(after, full, template, scratch, env)
            count += 1
            if a != b:
                differences += 1
                recorded.append({"argv": full, "before": outcome_describe(a), "after": outcome_describe(b)})
                if count and differences <= args.show * len(commands):
                    files = sorted(n for n in set(a[3]) | set(b[3]) if a[3].get(n) != b[3].get(n))
                    print(f"DIFF {full!r}\n  before: {a[:3]} files {files}\n  after:  {b[:3]}")
        total += count
        print(f"{command}: {count} argvs")
    shutil.rmtree(work)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(recorded, f, indent=1)
    print(f"total {total} argvs, {differences} differences")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
