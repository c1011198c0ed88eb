# iotests/test_difftest.py — the differential tester's own rules, with stand-in binaries: reproducible cases, what counts as a divergence, nondeterminism, crashes (spec/difftest.md).
import json
import os
import stat
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIFFTEST = os.path.join(REPO, "tools", "difftest", "difftest.py")
sys.path.insert(0, os.path.join(REPO, "tools", "difftest"))
sys.path.insert(0, os.path.join(REPO, "golden"))
import generate  # noqa: E402

# A stand-in "oracle": create makes the file (its last argument but one, or the last), every
# other command prints its words and, for "resize", appends a byte to the named image.
ORACLE = r"""#!/bin/bash
cmd=$1
if [ "$cmd" = create ]; then
  for a in "$@"; do last2=$last; last=$a; done
  case "$last" in *[0-9]) : > "$last2" 2>/dev/null ;; *) : > "$last" 2>/dev/null ;; esac
  exit 0
fi
echo "ran $*"
__EXTRA__
exit 0
"""


def write_script(path, text):
    with open(path, "w") as fh:
        fh.write(text)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def make_tools(tmp_path, oracle_extra="", candidate_extra=""):
    folder = tmp_path / "oracle"
    folder.mkdir()
    write_script(folder / "qemu-img", ORACLE.replace("__EXTRA__", oracle_extra))
    write_script(folder / "qemu-io", "#!/bin/bash\nexit 0\n")
    candidate = tmp_path / "candidate"
    write_script(candidate, ORACLE.replace("__EXTRA__", candidate_extra))
    return str(folder / "qemu-img"), str(candidate)


def sweep(tmp_path, oracle, candidate, *extra):
    out = tmp_path / "verdicts.json"
    p = subprocess.run([sys.executable, DIFFTEST, "--oracle", oracle, "--qemu-img", candidate, "--seed", "7",
                        "--count", "40", "-j", "2", "--json", str(out), *extra],
                       capture_output=True, text=True, timeout=300)
    with open(out) as fh:
        return p, json.load(fh)


def test_cases_are_reproducible():
    one = generate.make_case(11, 5, ["raw", "qcow2"])
    two = generate.make_case(11, 5, ["raw", "qcow2"])
    other = generate.make_case(11, 6, ["raw", "qcow2"])
    assert one == two
    assert one != other
    assert all(step[0] in ("IMG", "IO") for step in one["setup"])


def test_every_command_is_drawn_and_formats_respected():
    cases = [generate.make_case(3, i, ["raw"]) for i in range(400)]
    assert {c["command"] for c in cases} == set(generate.COMMANDS)
    assert all(info["format"] == "raw" for c in cases for info in c["files"].values())


def test_identical_binaries_agree(tmp_path):
    oracle, candidate = make_tools(tmp_path)
    p, verdicts = sweep(tmp_path, oracle, candidate)
    assert p.returncode == 0, p.stdout + p.stderr
    assert {v["kind"] for v in verdicts} == {"agree"}
    assert "agreement: 40/40 (100.00%), crashes: 0" in p.stdout


def test_output_and_file_differences_are_found(tmp_path):
    # The candidate prints more for info and changes the image that resize names.
    extra = 'case "$1" in info) echo extra ;; resize) for a in "$@"; do :; done; ' \
            'for a in "$@"; do [ -f "$a" ] && echo x >> "$a" && break; done ;; esac'
    oracle, candidate = make_tools(tmp_path, candidate_extra=extra)
    p, verdicts = sweep(tmp_path, oracle, candidate)
    for v in verdicts:
        aspects = {a for a, _ in v["aspects"]}
        if v["command"] == "info":
            assert v["kind"] == "differ" and "stdout" in aspects
        elif v["command"] == "resize" and any(os.path.splitext(a)[1] in (".raw", ".qcow2") for a in v["argv"]):
            assert "bytes" in aspects or v["kind"] == "agree"
        else:
            assert v["kind"] == "agree", v
    assert any(v["command"] == "info" for v in verdicts)
    assert "failing case(s)" in p.stdout


def test_oracle_nondeterminism_is_not_counted(tmp_path):
    oracle, candidate = make_tools(tmp_path, oracle_extra='echo "noise $RANDOM$RANDOM"')
    p, verdicts = sweep(tmp_path, oracle, candidate)
    assert {v["kind"] for v in verdicts} == {"agree"}
    assert all("stdout" in v["nondeterministic"] for v in verdicts if v["command"] != "create")


def test_signal_and_timeout_are_crashes(tmp_path):
    oracle, candidate = make_tools(tmp_path, candidate_extra='[ "$1" = map ] && kill -SEGV $$')
    p, verdicts = sweep(tmp_path, oracle, candidate)
    assert p.returncode == 1
    for v in verdicts:
        assert (v["kind"] == "crash") == (v["command"] == "map"), v


def test_missing_oracle_skips(tmp_path):
    p = subprocess.run([sys.executable, DIFFTEST, "--oracle", str(tmp_path / "none"), "--count", "1"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0
    assert "no oracle" in p.stdout


def test_files_the_oracle_cannot_open_compare_by_reason_and_size(tmp_path):
    # A stand-in oracle whose info fails with the file's first line as the reason.
    import difftest
    oracle = tmp_path / "qemu-img"
    write_script(oracle, '#!/bin/bash\nfor a in "$@"; do f=$a; done\necho "cannot open: $(head -n1 "$f")" >&2\nexit 1\n')
    tools = type("Tools", (), {"oracle": str(oracle)})()
    ref, have = tmp_path / "ref", tmp_path / "have"
    ref.mkdir()
    have.mkdir()

    def place(folder, text):
        (folder / "x.img").write_text(text)

    place(ref, "bad header\nAAAA")
    place(have, "bad header\nBBBB")
    assert difftest.guest_equal(tools, str(ref), str(have), "x.img")[0]
    place(have, "bad header\nBBBBBB")
    assert not difftest.guest_equal(tools, str(ref), str(have), "x.img")[0]
    place(have, "other reas\nAAAA")  # same size, another reason
    assert not difftest.guest_equal(tools, str(ref), str(have), "x.img")[0]
