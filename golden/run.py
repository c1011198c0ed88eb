#!/usr/bin/env python3
# golden/run.py — qimg's runner for the recorded qemu-img transcripts in golden/reference (spec/architecture.md §Tests).
"""Run build/qemu-img through the recorded qemu-img 10.2 transcripts in golden/reference/.

Each case (golden/reference/cases/*/case.json) names a fixture tarball, the command lines
to run with the binary under test ($QEMU_IMG) and what upstream qemu-img printed for each,
plus "post" lines that inspect the resulting files with Debian's qemu-img/qemu-io ($RIMG,
$RIO).  Outputs are normalised (timestamps, sizes on disk, random ids, progress steps, the
sandbox path) before they are compared.

Which cases count:
  * cases of the groups listed in golden/groups-built (GROUPS files each case under a group);
  * every case listed in golden/passing.txt (a case that once passed must keep passing);
  * any case in which the binary under test dies of a signal (exit status above 128).
Other cases are run and reported as "not yet built: X passed of Y" without failing the run.
The last line printed is "N passed, M failed" over the counted cases.
"""
import argparse
import concurrent.futures
import difflib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, "reference")
CASES_DIR = os.path.join(REFERENCE, "cases")
FIXTURES_DIR = os.path.join(REFERENCE, "fixtures")
GROUPS_FILE = os.path.join(REFERENCE, "GROUPS")
# Transcripts the project recorded itself with the oracle (tools/difftest --record): same format,
# own fixtures, always counted (group "recorded").
RECORDED = os.path.join(HERE, "recorded")
RECORDED_GROUP = "recorded"
BUILT_FILE = os.path.join(HERE, "groups-built")
PASSING_FILE = os.path.join(HERE, "passing.txt")
PASSING_HEADER = ("# golden/passing.txt — every golden case that has ever passed, sorted; golden/run.py fails when one of "
                  "them fails (spec/architecture.md §Tests).\n")
ORACLE_IMG = "/usr/bin/qemu-img"
ORACLE_IO = "/usr/bin/qemu-io"
LINE_TIMEOUT = 120

# Normalisation, applied to every stdout/stderr (the same rules the reference was recorded with).
ALWAYS = [
    (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", "yyyy-mm-dd hh:mm:ss"),
    (r'"(date-sec|date-nsec|vm-clock-sec|vm-clock-nsec)": \d+', r'"\1": X'),
    (r"\b(cid|parent cid|create type|uuid|salt|master key digest salt)(: ?)[0-9a-fA-Fx:-]+", r"\1\2X"),
    (r'"(cid|parent-cid|uuid|salt|master-key-digest|master-key-digest-salt)": ("[^"]*"|\d+)', r'"\1": X'),
    (r"(digest|salt): ([0-9a-f]{2}:)+[0-9a-f]{2}", r"\1: X"),
    (r'"(digest|salt|key-salt|master-key-salt)": "[0-9a-f:]*"', r'"\1": X'),
    (r"\b\d+ ops; [0-9:.]+ sec \([^)]*\)", "X ops; XX:XX:XX.X (XXX YYY/sec and XXX ops/sec)"),
    (r"Run completed in [0-9.]+ seconds\.", "Run completed in X seconds."),
    (r"iters: \d+", "iters: X"),
    (r'"master-key-iters": \d+', '"master-key-iters": X'),
    (r'"iters": \d+', '"iters": X'),
    (r"#block\d+", "NODE_NAME"),
    (r'"actual-size": \d+', '"actual-size": X'),
    (r"disk size: .*", "disk size: X"),
]
# Extra rules for the "post" lines of cases marked loose: layout a writer may choose freely.
LOOSE_ONLY = [
    (r', "offset": \d+', ""),
    (r"[0-9.]+% fragmented", "X% fragmented"),
    (r"Image end offset: \d+", "Image end offset: X"),
    (r"(?m)^[0-9a-f]{64}  ", "SHA256  "),
]
ALWAYS_RX = [(re.compile(p), r) for p, r in ALWAYS]
LOOSE_RX = [(re.compile(p), r) for p, r in LOOSE_ONLY]
PROGRESS_LINE = re.compile(r"^\s+\(\d+\.\d+/100%\)$")
PROGRESS_ENDS = ("(0.00/100%)", "(100.00/100%)")
# The path of the qemu-img link the binary runs through (it shows in usage and error texts).
LINK_PATH = re.compile(r"/[^\s'\"]*/bin-[A-Za-z0-9_]+/qemu-img")


def normalise(text, sandbox, loose):
    """Text as the reference stores it: sandbox -> TEST_DIR, link -> qemu-img, filters, progress."""
    text = text.replace(sandbox + "/", "TEST_DIR/").replace(sandbox, "TEST_DIR")
    text = LINK_PATH.sub("qemu-img", text)
    for rx, replacement in ALWAYS_RX + (LOOSE_RX if loose else []):
        text = rx.sub(replacement, text)
    kept = []
    previous = None
    for line in text.replace("\r", "\n").split("\n"):
        # Intermediate progress steps depend on timing: keep only a first 0% and a 100%, once each.
        if PROGRESS_LINE.match(line) and (line == previous or line.strip() not in PROGRESS_ENDS):
            continue
        kept.append(line)
        previous = line
    return "\n".join(kept)


def load_groups():
    """Case name -> group: GROUPS of the reference, and "recorded" for golden/recorded."""
    groups = {}
    recorded_cases = os.path.join(RECORDED, "cases")
    if os.path.isdir(recorded_cases):
        for entry in os.listdir(recorded_cases):
            groups["recorded/" + entry.replace("__", "/")] = RECORDED_GROUP
    with open(GROUPS_FILE) as fh:
        for line in fh:
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split()
            groups[fields[1]] = fields[0]
    return groups


def read_list(path):
    if not os.path.exists(path):
        return []
    with open(path) as fh:
        return [ln.strip() for ln in fh if ln.strip() and not ln.startswith("#")]


def load_cases():
    """Every case of golden/reference and golden/recorded; each remembers its fixtures folder."""
    cases = []
    for root in (REFERENCE, RECORDED):
        cases_dir = os.path.join(root, "cases")
        if not os.path.isdir(cases_dir):
            continue
        for entry in sorted(os.listdir(cases_dir)):
            path = os.path.join(cases_dir, entry, "case.json")
            if os.path.isfile(path):
                with open(path) as fh:
                    case = json.load(fh)
                case["fixtures_dir"] = os.path.join(root, "fixtures")
                cases.append(case)
    return cases


def run_line(line, cwd, env, timeout):
    """Runs one recorded line with bash -c; a line still running after timeout seconds is killed
    with everything it started, and reads as status 124 with "TIMEOUT" on stderr."""
    p = subprocess.Popen(["bash", "-c", line], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.communicate()
        return "", "TIMEOUT", 124
    return out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), p.returncode


class Result:
    def __init__(self, case):
        self.case = case
        self.name = case["name"]
        self.diffs = []      # (part, line, key, want, have)
        self.crash = None    # (line, status) of the first command of the binary under test that died
        self.error = None    # the runner could not set the case up

    @property
    def passed(self):
        return not self.diffs and self.crash is None and self.error is None


def run_case(case, link, work, timeout=LINE_TIMEOUT):
    result = Result(case)
    sandbox = tempfile.mkdtemp(prefix="s-", dir=work)
    try:
        if case.get("fixture"):
            tarball = os.path.join(case.get("fixtures_dir", FIXTURES_DIR), case["fixture"] + ".tgz")
            p = subprocess.run(["tar", "--sparse", "-xzf", tarball, "-C", sandbox], capture_output=True)
            if p.returncode != 0:
                result.error = f"cannot unpack fixture {case['fixture']}: {p.stderr.decode(errors='replace').strip()}"
                return result
        env = dict(os.environ)
        env.update(LC_ALL="C", TZ="UTC", TEST_DIR=sandbox, QEMU_IMG=link, RIMG=ORACLE_IMG, RIO=ORACLE_IO)
        for part in ("cmds", "post"):
            loose = part == "post" and bool(case.get("loose", False))
            for want in case[part]:
                out, err, rc = run_line(want["line"], sandbox, env, timeout)
                # Killed by a signal: bash reports 128+N, or (when it exec'd the binary directly) the
                # process itself dies and Python reports -N.
                if part == "cmds" and (rc > 128 or rc < 0) and want["rc"] <= 128 and result.crash is None:
                    result.crash = (want["line"], rc)
                have = {"rc": rc, "stdout": normalise(out, sandbox, loose), "stderr": normalise(err, sandbox, loose)}
                for key in ("rc", "stdout", "stderr"):
                    if want[key] != have[key]:
                        result.diffs.append((part, want["line"], key, want[key], have[key]))
    finally:
        shutil.rmtree(sandbox, ignore_errors=True)
    return result


def crash_text(rc):
    return f"killed by signal {-rc}" if rc < 0 else f"exit status {rc}"


def describe(result):
    parts = sorted({f"{part}:{key}" for part, _, key, _, _ in result.diffs})
    if result.crash:
        parts.insert(0, f"CRASH ({crash_text(result.crash[1])})")
    if result.error:
        parts.insert(0, result.error)
    return ", ".join(parts)


def print_diff(result):
    if result.crash:
        print(f"  crashed: {result.crash[0]}  ({crash_text(result.crash[1])})")
    for part, line, key, want, have in result.diffs:
        print(f"  [{part}] {line}  ({key})")
        if key == "rc":
            print(f"    want {want}, got {have}")
            continue
        diff = list(difflib.unified_diff(want.splitlines(), have.splitlines(), "reference", "qimg", lineterm=""))
        for ln in diff[:40]:
            print("    " + ln)
        if len(diff) > 40:
            print(f"    ... ({len(diff) - 40} more diff lines)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--qemu-img", default=os.path.join(os.path.dirname(HERE), "build", "qemu-img"),
                    help="the binary under test (default: build/qemu-img)")
    ap.add_argument("--only", help="regular expression on case names (re.search)")
    ap.add_argument("--group", help="keep the cases GROUPS files under this group")
    ap.add_argument("-j", type=int, default=2, help="cases run at once (default 2)")
    ap.add_argument("--diff", action="store_true", help="show what differs in failing cases")
    ap.add_argument("-v", action="store_true", help="name every failing case, counted or not")
    ap.add_argument("--json", help="write per-case verdicts (name -> true/false) to this file")
    ap.add_argument("--update-passing", action="store_true", help="add newly passing cases to golden/passing.txt")
    ap.add_argument("--timeout", type=int, default=LINE_TIMEOUT, help="seconds one line may run (default 120)")
    ap.add_argument("--all", action="store_true", help="count every selected case, built group or not")
    ap.add_argument("--groups-built", default=BUILT_FILE, metavar="FILE", help="the built groups (default golden/groups-built)")
    ap.add_argument("--passing", default=PASSING_FILE, metavar="FILE", help="the passing list (default golden/passing.txt)")
    a = ap.parse_args()

    binary = os.path.abspath(a.qemu_img)
    if not os.access(binary, os.X_OK):
        sys.exit(f"golden/run.py: {a.qemu_img} is not an executable: run make first")
    for tool in (ORACLE_IMG, ORACLE_IO):
        if not os.access(tool, os.X_OK):
            sys.exit(f"golden/run.py: {tool} is missing (post lines need Debian's qemu-utils): run make deps")

    groups = load_groups()
    built = set(read_list(a.groups_built)) | {RECORDED_GROUP}
    passing = set(read_list(a.passing))
    cases = load_cases()
    if a.group:
        if a.group not in set(groups.values()):
            sys.exit(f"golden/run.py: no case is in group {a.group}")
        cases = [c for c in cases if groups.get(c["name"]) == a.group]
    if a.only:
        rx = re.compile(a.only)
        cases = [c for c in cases if rx.search(c["name"])]
    if not cases:
        sys.exit("golden/run.py: no case selected")

    work = tempfile.mkdtemp(prefix="golden-")
    link_dir = tempfile.mkdtemp(prefix="bin-", dir=work)
    link = os.path.join(link_dir, "qemu-img")
    os.symlink(binary, link)
    results = []
    try:
        with concurrent.futures.ThreadPoolExecutor(max(1, a.j)) as pool:
            for r in pool.map(lambda c: run_case(c, link, work, a.timeout), cases):
                results.append(r)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    # Tallies per group: counted ones first, then the ones not yet built.
    tally = {}
    counted_pass = counted_fail = 0
    nb_pass = nb_total = 0
    failures = []  # (reason, result) for every counted failure
    for r in results:
        group = groups.get(r.name, "(no group)")
        t = tally.setdefault(group, [0, 0])
        t[0] += r.passed
        t[1] += 1
        is_built = a.all or group in built
        if is_built or r.name in passing or r.crash is not None:
            if r.passed:
                counted_pass += 1
            else:
                counted_fail += 1
                reason = "crash" if r.crash else ("regression" if r.name in passing and not is_built else "fail")
                failures.append((reason, r))
        else:
            nb_pass += r.passed
            nb_total += 1
        if not r.passed and (a.v or a.diff):
            print(f"FAIL {r.name} [{group}]: {describe(r)}")
            if a.diff:
                print_diff(r)

    if a.json:
        with open(a.json, "w") as fh:
            json.dump({r.name: r.passed for r in results}, fh, indent=1, sort_keys=True)

    print("groups (passed/run):")
    for group in sorted(tally, key=lambda g: (not (a.all or g in built), g)):
        mark = "" if (a.all or group in built) else "  (not yet built)"
        print(f"  {group:18s} {tally[group][0]:4d}/{tally[group][1]}{mark}")
    if nb_total:
        print(f"not yet built: {nb_pass} passed of {nb_total}")
    if failures and not (a.v or a.diff):
        shown = failures[:50]
        for reason, r in shown:
            print(f"FAIL ({reason}) {r.name}: {describe(r)}")
        if len(failures) > len(shown):
            print(f"... and {len(failures) - len(shown)} more failing cases (use -v)")
        # The first few counted failures in full, so that a CI log shows what broke.
        for reason, r in failures[:3]:
            print(f"--- {r.name} ({reason}):")
            print_diff(r)
        if len(failures) > 3:
            print("(python3 golden/run.py --diff --only REGEX shows the others)")

    if a.update_passing:
        newly = sorted({r.name for r in results if r.passed and groups.get(r.name) != RECORDED_GROUP} - passing)
        if newly:
            with open(a.passing, "w") as fh:
                fh.write(PASSING_HEADER)
                fh.write("".join(n + "\n" for n in sorted(passing | set(newly))))
        print(f"passing.txt: {len(newly)} case(s) added, {len(passing) + len(newly)} listed")
    else:
        newly = [r.name for r in results
                 if r.passed and r.name not in passing and groups.get(r.name) != RECORDED_GROUP]
        if newly:
            print(f"{len(newly)} case(s) pass that golden/passing.txt does not list yet: run with --update-passing")

    print(f"{counted_pass} passed, {counted_fail} failed")
    return 1 if counted_fail else 0


if __name__ == "__main__":
    sys.exit(main())
