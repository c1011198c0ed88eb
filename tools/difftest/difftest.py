#!/usr/bin/env python3
# tools/difftest/difftest.py — the differential tester: random qemu-img command lines run by the oracle and by qimg, compared (spec/difftest.md).
"""Differential tester: qimg against upstream qemu-img 10.2.

For each case (seed, index) the starting images are made with the oracle's qemu-img and
qemu-io in a setup folder, copied into three twin sandboxes, and the case's command line is run
there by the oracle twice and by the candidate once.  Compared: the exit status, stdout and
stderr (normalised as the golden runner normalises them) and every file afterwards, by bytes
and, where the bytes differ, by guest content and the oracle's `info` of both.  What differs
between the oracle's two runs is not deterministic and is not counted.  A candidate killed by
a signal or running past its time limit is a crash.

  difftest.py [--oracle PATH] [--qemu-img PATH] [--seed N] [--count K] [--formats raw,qcow2]
              [-j N] [--command NAME] [--replay INDEX] [--record INDEX --name NAME] [--json FILE]
"""
import argparse
import collections
import concurrent.futures
import difflib
import hashlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "golden"))
sys.path.insert(0, HERE)
import generate  # noqa: E402
from run import normalise  # noqa: E402  (golden/run.py: the transcripts' normalisation)

DEFAULT_ORACLE = os.path.join(os.path.dirname(ROOT), "shared", "oracle", "qemu-img")
SETUP_TIMEOUT = 60
ORACLE_TIMEOUT = 60
MIN_CANDIDATE_TIMEOUT = 30


class Tools:
    """The two binaries under the name qemu-img (messages name the program by argv[0])."""

    def __init__(self, work, oracle, candidate):
        self.oracle = self.place(work, "bin-oracle", oracle, "qemu-img")
        self.oracle_io = self.place(work, "bin-oracle", os.path.join(os.path.dirname(oracle), "qemu-io"), "qemu-io")
        # The candidate is copied at the start, so that a rebuild during a sweep does not change
        # what is measured halfway through.
        self.candidate = self.place(work, "bin-candidate", candidate, "qemu-img", copy=True)

    @staticmethod
    def place(work, folder, target, name, copy=False):
        """work/folder/name: a symlink to target, or with copy a copy of it."""
        path = os.path.join(work, folder)
        os.makedirs(path, exist_ok=True)
        placed = os.path.join(path, name)
        if not os.path.lexists(placed):
            if copy:
                shutil.copy2(os.path.abspath(target), placed)
            else:
                os.symlink(os.path.abspath(target), placed)
        return placed


def run_argv(argv, cwd, timeout):
    """Runs argv in cwd; returns (rc, stdout, stderr, seconds).  Past timeout the process group is
    killed and rc is "timeout"; a death by signal N gives rc -N."""
    env = dict(os.environ, LC_ALL="C", TZ="UTC")
    start = time.monotonic()
    p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = p.communicate()
        rc = "timeout"
    return rc, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), time.monotonic() - start


def setup_argv(step, tools):
    tool = tools.oracle if step[0] == "IMG" else tools.oracle_io
    return [tool] + step[1:]


def build_setup(case, tools, folder):
    """Makes the starting files in folder; returns the steps that failed (for the verbose view)."""
    failed = []
    for step in case["setup"]:
        rc, out, err, _ = run_argv(setup_argv(step, tools), folder, SETUP_TIMEOUT)
        if rc != 0:
            failed.append((step, rc, err))
    return failed


def copy_tree(source, target):
    subprocess.run(["cp", "-a", "--sparse=always", source + "/.", target], check=True)


def file_digests(folder):
    """Relative path -> sha256 of every regular file (and "<dir>" for every folder) under folder."""
    digests = {}
    for base, dirs, files in os.walk(folder):
        for d in dirs:
            digests[os.path.relpath(os.path.join(base, d), folder)] = "<dir>"
        for f in files:
            path = os.path.join(base, f)
            rel = os.path.relpath(path, folder)
            if os.path.islink(path) or not os.path.isfile(path):
                digests[rel] = "<special>"
                continue
            h = hashlib.sha256()
            with open(path, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            digests[rel] = h.hexdigest() + f":{os.path.getsize(path)}"
    return digests


class Run:
    def __init__(self, folder, rc, out, err, seconds):
        self.folder = folder
        self.rc = rc
        self.stdout = normalise(out, folder, False)
        self.stderr = normalise(err, folder, False)
        self.seconds = seconds
        self.files = file_digests(folder)


def oracle_format(tools, folder, name):
    """The format and normalised json info the oracle reads in folder/name; (None, its error
    message) when it cannot open the file."""
    rc, out, err, _ = run_argv([tools.oracle, "info", "-U", "--output=json", name], folder, ORACLE_TIMEOUT)
    if rc != 0:
        return None, normalise(err, folder, False)
    try:
        doc = json.loads(out)
    except ValueError:
        return None, None
    return doc.get("format"), normalise(out, folder, False)


def guest_equal(tools, ref_folder, folder, name):
    """Whether the candidate's file holds what the oracle's does: same format and info (the
    oracle reads both), and `compare` finds the same guest content."""
    fmt_ref, info_ref = oracle_format(tools, ref_folder, name)
    fmt_have, info_have = oracle_format(tools, folder, name)
    if fmt_ref is None and fmt_have is None and info_ref == info_have:
        # neither file opens, for the same reason: the oracle cannot tell them apart beyond
        # their sizes
        want, have = (os.path.getsize(os.path.join(f, name)) for f in (ref_folder, folder))
        return want == have, f"unreadable by the oracle alike, {want} vs {have} bytes"
    if fmt_ref is None or fmt_ref != fmt_have:
        return False, f"format {fmt_ref} vs {fmt_have}"
    if info_ref != info_have:
        return False, "info differs:\n" + unified(info_ref, info_have)
    if '"encrypted": true' in info_ref:
        # an encrypted image is read with the case's secret (generate.LUKS_SECRET)
        key = "key-secret" if fmt_ref == "luks" else "encrypt.key-secret"
        argv = [tools.oracle, "compare", "-U", "--object", generate.LUKS_SECRET, "--image-opts"] + [
            f"driver={fmt_ref},{key}={generate.LUKS_SECRET_ID},file.filename={os.path.join(f, name)}"
            for f in (ref_folder, folder)]
    else:
        argv = [tools.oracle, "compare", "-U", "-f", fmt_ref, "-F", fmt_ref, os.path.join(ref_folder, name),
                os.path.join(folder, name)]
    rc, out, err, _ = run_argv(argv, folder, ORACLE_TIMEOUT)
    if rc != 0:
        return False, f"guest content differs ({out.strip() or err.strip()})"
    return True, ""


def unified(want, have, limit=40):
    lines = list(difflib.unified_diff(want.splitlines(), have.splitlines(), "oracle", "qimg", lineterm=""))
    text = "\n".join(lines[:limit])
    if len(lines) > limit:
        text += f"\n... ({len(lines) - limit} more lines)"
    return text


class Verdict:
    """The outcome of one case: "agree", "differ", "crash" or "skip" (the oracle failed to run)."""

    def __init__(self, case):
        self.case = case
        self.kind = "agree"
        self.aspects = []        # (aspect, detail)
        self.nondeterministic = []

    def differ(self, aspect, detail):
        if self.kind == "agree":
            self.kind = "differ"
        self.aspects.append((aspect, detail))


def compare_runs(verdict, tools, first, second, candidate):
    """Fills verdict from the oracle's two runs and the candidate's."""
    if candidate.rc == "timeout" or (isinstance(candidate.rc, int) and (candidate.rc < 0 or candidate.rc > 128)):
        verdict.kind = "crash"
        verdict.aspects.append(("crash", f"candidate {'timed out' if candidate.rc == 'timeout' else 'status ' + str(candidate.rc)}"))
        return
    for aspect in ("rc", "stdout", "stderr"):
        want, again, have = getattr(first, aspect), getattr(second, aspect), getattr(candidate, aspect)
        if want != again:
            verdict.nondeterministic.append(aspect)
            continue
        if want != have:
            detail = f"oracle {want}, qimg {have}" if aspect == "rc" else unified(want, have)
            verdict.differ(aspect, detail)
    names = sorted(set(first.files) | set(candidate.files))
    for name in names:
        want, again, have = first.files.get(name), second.files.get(name), candidate.files.get(name)
        if want == have:
            continue
        if want is None or have is None:
            verdict.differ("files", f"{name}: {'created only by qimg' if want is None else 'missing after qimg'}")
            continue
        if want == again and want not in ("<dir>", "<special>"):
            verdict.differ("bytes", f"{name}: bytes differ ({want} vs {have})")
            continue
        verdict.nondeterministic.append("bytes:" + name)
        if not guest_equal(tools, first.folder, second.folder, name)[0]:
            # the oracle's own two results differ as guests (a new encrypted image's unwritten
            # payload decrypts to random bytes): only the oracle's info of the file is held
            verdict.nondeterministic.append("content:" + name)
            want_info, have_info = (oracle_format(tools, run.folder, name) for run in (first, candidate))
            if want_info != have_info:
                verdict.differ("content", f"{name}: info differs:\n" + unified(str(want_info[1]), str(have_info[1])))
            continue
        same, detail = guest_equal(tools, first.folder, candidate.folder, name)
        if not same:
            verdict.differ("content", f"{name}: {detail}")


def run_case(case, tools, work, keep=False):
    """Runs one case in a fresh folder under work; returns (verdict, runs)."""
    base = tempfile.mkdtemp(prefix=f"c{case['index']}-", dir=work)
    folders = {k: os.path.join(base, k) for k in ("setup", "o1", "o2", "q")}
    for f in folders.values():
        os.mkdir(f)
    verdict = Verdict(case)
    try:
        verdict.setup_failures = build_setup(case, tools, folders["setup"])
        for k in ("o1", "o2", "q"):
            copy_tree(folders["setup"], folders[k])
        argv = case["argv"]
        first = Run(folders["o1"], *run_argv([tools.oracle] + argv, folders["o1"], ORACLE_TIMEOUT))
        if first.rc == "timeout" or (isinstance(first.rc, int) and first.rc < 0):
            verdict.kind = "skip"
            verdict.aspects.append(("oracle", f"oracle status {first.rc}"))
            return verdict, None
        second = Run(folders["o2"], *run_argv([tools.oracle] + argv, folders["o2"], ORACLE_TIMEOUT))
        limit = max(MIN_CANDIDATE_TIMEOUT, 10 * max(first.seconds, second.seconds))
        candidate = Run(folders["q"], *run_argv([tools.candidate] + argv, folders["q"], limit))
        compare_runs(verdict, tools, first, second, candidate)
        return verdict, (first, second, candidate)
    finally:
        if not keep:
            shutil.rmtree(base, ignore_errors=True)


def command_line(argv):
    return "qemu-img " + shlex.join(argv)


def setup_line(step):
    return ("qemu-img " if step[0] == "IMG" else "qemu-io ") + shlex.join(step[1:])


def print_table(title, rows):
    print(f"{title:10s} {'cases':>6s} {'agree':>6s} {'differ':>6s} {'crash':>6s} {'skip':>5s} {'agree%':>7s}")
    totals = collections.Counter()
    for key in sorted(rows):
        c = rows[key]
        totals.update(c)
        print(f"{key:10s} {c['cases']:6d} {c['agree']:6d} {c['differ']:6d} {c['crash']:6d} {c['skip']:5d} "
              f"{percent(c):7s}")
    print(f"{'total':10s} {totals['cases']:6d} {totals['agree']:6d} {totals['differ']:6d} {totals['crash']:6d} "
          f"{totals['skip']:5d} {percent(totals):7s}")


def percent(counter):
    counted = counter["cases"] - counter["skip"]
    return f"{100.0 * counter['agree'] / counted:.2f}" if counted else "-"


def sweep(args, tools, work):
    formats = args.formats.split(",")
    indexes = range(args.start, args.start + args.count)
    cases = [generate.make_case(args.seed, i, formats, args.command) for i in indexes]
    by_command = collections.defaultdict(collections.Counter)
    by_format = collections.defaultdict(collections.Counter)
    verdicts = []
    with concurrent.futures.ThreadPoolExecutor(max(1, args.j)) as pool:
        for verdict, _ in pool.map(lambda c: run_case(c, tools, work), cases):
            verdicts.append(verdict)
            case = verdict.case
            for table, key in ((by_command, case["command"]), (by_format, case["format"])):
                table[key]["cases"] += 1
                table[key][verdict.kind] += 1
            if args.progress and len(verdicts) % 100 == 0:
                print(f"... {len(verdicts)} cases", file=sys.stderr, flush=True)
    print_table("command", by_command)
    print()
    print_table("format", by_format)
    failing = [v for v in verdicts if v.kind in ("differ", "crash")]
    if failing:
        print(f"\n{len(failing)} failing case(s) (replay: difftest.py --seed {args.seed} --replay INDEX):")
        for v in failing:
            aspects = ",".join(sorted({a for a, _ in v.aspects}))
            print(f"  seed {args.seed} index {v.case['index']} [{v.kind}: {aspects}] {command_line(v.case['argv'])}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump([{"index": v.case["index"], "command": v.case["command"], "argv": v.case["argv"],
                        "kind": v.kind, "aspects": v.aspects, "nondeterministic": v.nondeterministic}
                       for v in verdicts], fh, indent=1)
    counted = len(verdicts) - sum(v.kind == "skip" for v in verdicts)
    agree = sum(v.kind == "agree" for v in verdicts)
    crashes = sum(v.kind == "crash" for v in verdicts)
    print(f"\nagreement: {agree}/{counted} ({100.0 * agree / max(1, counted):.2f}%), crashes: {crashes}")
    return 1 if crashes or (args.min_agreement and 100.0 * agree / max(1, counted) < args.min_agreement) else 0


def replay(args, tools, work):
    case = generate.make_case(args.seed, args.replay, args.formats.split(","), args.command)
    print(f"# seed {args.seed} index {args.replay} ({case['command']}, world format {case['format']})")
    print("# setup (oracle):")
    for step in case["setup"]:
        print("  " + setup_line(step))
    print("# command:\n  " + command_line(case["argv"]))
    verdict, runs = run_case(case, tools, work)
    for step, rc, err in getattr(verdict, "setup_failures", []):
        print(f"# setup step failed ({rc}): {setup_line(step)}\n  {err.strip()}")
    if runs:
        first, _, candidate = runs
        for label, run in (("oracle", first), ("qimg", candidate)):
            print(f"# {label}: rc {run.rc}, {run.seconds:.2f}s")
            print("  stdout: " + (run.stdout.replace("\n", "\n          ") if run.stdout else "(empty)"))
            print("  stderr: " + (run.stderr.replace("\n", "\n          ") if run.stderr else "(empty)"))
    print(f"# verdict: {verdict.kind}")
    for aspect, detail in verdict.aspects:
        print(f"## {aspect}\n{detail}")
    if verdict.nondeterministic:
        print("# not deterministic in the oracle: " + ", ".join(verdict.nondeterministic))
    return 0 if verdict.kind in ("agree", "skip") else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--oracle", default=DEFAULT_ORACLE, help="upstream qemu-img 10.2 (qemu-io beside it)")
    ap.add_argument("--qemu-img", default=os.path.join(ROOT, "build", "qemu-img"), help="the candidate")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--start", type=int, default=0, help="first case index")
    ap.add_argument("--formats", default="raw,qcow2")
    ap.add_argument("--command", choices=generate.COMMANDS, help="draw only this command")
    ap.add_argument("-j", type=int, default=2)
    ap.add_argument("--replay", type=int, metavar="INDEX", help="run one case verbosely")
    ap.add_argument("--record", type=int, metavar="INDEX", help="record one case as a golden transcript")
    ap.add_argument("--name", help="with --record: the case name (golden/recorded/cases/NAME)")
    ap.add_argument("--json", help="write every verdict to this file")
    ap.add_argument("--min-agreement", type=float, default=0.0, help="exit 1 below this agreement (percent)")
    ap.add_argument("--progress", action="store_true")
    args = ap.parse_args()

    if not os.access(args.oracle, os.X_OK):
        print(f"difftest: no oracle at {args.oracle}: nothing to compare against (skipped)")
        return 0
    if not os.access(args.qemu_img, os.X_OK):
        sys.exit(f"difftest: {args.qemu_img} is not an executable: run make first")
    work = tempfile.mkdtemp(prefix="difftest-")
    try:
        tools = Tools(work, args.oracle, args.qemu_img)
        if args.record is not None:
            import record
            return record.record_case(args, tools, work)
        if args.replay is not None:
            return replay(args, tools, work)
        return sweep(args, tools, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
