# tools/difftest/record.py — turns one difftest case into a permanent golden transcript under golden/recorded/ (spec/difftest.md §Recording).
"""Recording a case.

The case's starting files become a fixture tarball (content-addressed, as in golden/reference);
its command line is run once by the oracle through `$QEMU_IMG`, and what it printed and returned
is stored.  The post lines inspect what the command left with Debian's qemu-img (`$RIMG`) and
coreutils, exactly as the reference transcripts do: `ls`, then per image either `sha256sum`
(when the oracle writes the same bytes twice) or its info and guest-content hash.  The result is
golden/recorded/cases/NAME/case.json, which golden/run.py runs like any reference case.
"""
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

import difftest
import generate
from run import normalise, run_line, ORACLE_IMG, ORACLE_IO

RECORDED = os.path.join(difftest.ROOT, "golden", "recorded")


def make_fixture(folder):
    """Packs folder as a reproducible sparse tarball in golden/recorded/fixtures; returns its id."""
    fixtures = os.path.join(RECORDED, "fixtures")
    os.makedirs(fixtures, exist_ok=True)
    tar = subprocess.run(["tar", "--sparse", "--sort=name", "--mtime=@0", "--owner=0", "--group=0",
                          "--numeric-owner", "-cf", "-", "-C", folder, "."], check=True, capture_output=True).stdout
    digest = hashlib.sha256(tar).hexdigest()[:20]
    path = os.path.join(fixtures, digest + ".tgz")
    if not os.path.exists(path):
        gz = subprocess.run(["gzip", "-n", "-9"], input=tar, check=True, capture_output=True).stdout
        with open(path, "wb") as fh:
            fh.write(gz)
    return digest


def post_lines(first, second):
    """Inspection lines for the files the oracle's run left (first), knowing its rerun (second)."""
    lines = ["ls -1R"]
    for name in sorted(first.files):
        digest = first.files[name]
        if digest in ("<dir>", "<special>"):
            continue
        quoted = shlex.quote(name)
        if digest == second.files.get(name):
            lines.append(f"sha256sum {quoted}")
        else:
            lines.append(f"$RIMG info -U {quoted}")
            lines.append(f"$RIMG convert -U -O raw {quoted} guest.out && sha256sum guest.out; rm -f guest.out")
    return lines


def run_recorded(lines, folder, env, sandbox):
    entries = []
    for line in lines:
        out, err, rc = run_line(line, folder, env, 120)
        entries.append({"line": line, "stdout": normalise(out, sandbox, False),
                        "stderr": normalise(err, sandbox, False), "rc": rc})
    return entries


def record_case(args, tools, work):
    if not args.name:
        sys.exit("difftest: --record needs --name NAME")
    case = generate.make_case(args.seed, args.record, args.formats.split(","), args.command)
    verdict, runs = difftest.run_case(case, tools, work, keep=True)
    if runs is None:
        sys.exit("difftest: the oracle did not finish this case; not recorded")
    first, second, _ = runs
    setup_folder = os.path.join(os.path.dirname(first.folder), "setup")
    fixture = make_fixture(setup_folder)
    sandbox = tempfile.mkdtemp(prefix="rec-", dir=work)
    difftest.copy_tree(setup_folder, sandbox)
    env = dict(os.environ, LC_ALL="C", TZ="UTC", TEST_DIR=sandbox, QEMU_IMG=tools.oracle,
               RIMG=ORACLE_IMG, RIO=ORACLE_IO)
    line = "$QEMU_IMG " + shlex.join(case["argv"])
    cmds = run_recorded([line], sandbox, env, sandbox)
    nondeterministic = [a for a in verdict.nondeterministic if a in ("rc", "stdout", "stderr")]
    if nondeterministic:
        sys.exit(f"difftest: the oracle's {', '.join(nondeterministic)} vary between runs; not recorded")
    post = run_recorded(post_lines(first, second), sandbox, env, sandbox)
    doc = {"name": f"recorded/{args.name}", "fixture": fixture,
           "setup": [difftest.setup_line(s) for s in case["setup"]],
           "origin": f"difftest seed {args.seed} index {args.record} formats {args.formats}"
                     + (f" command {args.command}" if args.command else ""),
           "loose": False, "cmds": cmds, "post": post}
    folder = os.path.join(RECORDED, "cases", args.name.replace("/", "__"))
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "case.json"), "w") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")
    shutil.rmtree(os.path.dirname(first.folder), ignore_errors=True)
    print(f"recorded {folder}/case.json (fixture {fixture}): {line}")
    return 0
