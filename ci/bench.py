#!/usr/bin/env python3
# ci/bench.py — make bench: build/qemu-img against a reference qemu-img on the same files in one run,
# each run ending with its own sync, medians and ratios, outputs checked, the physical limit (cp
# --sparse=always + sync) beside each disk-bound job, and peak memory (docs/performance.md).
"""Benchmark qimg against a reference qemu-img in one run.

Inputs are built once (BENCH_DIR, default build/bench-work); each job then runs BENCH_RUNS times
with each tool, alternately (reference, qimg, reference, ...), every run followed by its own
`sync` inside the timed span so that no run pays for another's writeback. Printed per job: the
median wall time of each tool, qimg/reference, the median of `cp --sparse=always` + sync of the
same guest data for disk-bound jobs, and the peak resident memory of each tool. Outputs are
checked: converted images must hold the source's guest data (the reference's compare), and where
the reference's output is deterministic the bytes must be equal.

  BENCH_REF=/path/to/qemu-img   the reference (default: ../shared/oracle/qemu-img when present,
                                else Debian's /usr/bin/qemu-img)
  BENCH_RUNS=N                  runs per tool and job (default 3)
  BENCH_SCALE=F                 input sizes times F (default 1; 0.125 for a quick look)
  BENCH_ONLY=REGEX              only the jobs whose name matches
  BENCH_VERBOSE=1               print every run's time
  BENCH_SHM=DIR                 where the page-cache convert job keeps its target (default /dev/shm)
"""
import hashlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 1 << 20
GIB = 1 << 30


def reference_default():
    oracle = os.path.join(ROOT, "..", "shared", "oracle", "qemu-img")
    return os.path.abspath(oracle) if os.access(oracle, os.X_OK) else "/usr/bin/qemu-img"


QIMG = os.path.join(ROOT, "build", "qemu-img")
REF = os.environ.get("BENCH_REF") or reference_default()
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SCALE = float(os.environ.get("BENCH_SCALE", "1"))
ONLY = re.compile(os.environ.get("BENCH_ONLY", ""))
VERBOSE = os.environ.get("BENCH_VERBOSE", "") not in ("", "0")
WORK = os.path.abspath(os.environ.get("BENCH_DIR", os.path.join(ROOT, "build", "bench-work")))
# where the CPU-bound convert writes: memory, so that the disk does not decide its time
SHM = os.environ.get("BENCH_SHM") or ("/dev/shm" if os.path.isdir("/dev/shm") else WORK)


def scaled(n, unit=MIB):
    return max(unit, int(n * SCALE) // unit * unit)


def run(argv, cwd=WORK, check=True):
    """Runs argv then sync; returns (seconds, peak RSS in KiB of argv, stdout)."""
    rss_file = os.path.join(WORK, ".rss")
    start = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-q", "-f", "%M", "-o", rss_file, *argv], cwd=cwd, capture_output=True,
                       env=dict(os.environ, LC_ALL="C"))
    subprocess.run(["sync"], check=True)
    seconds = time.perf_counter() - start
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {p.returncode}: {p.stderr.decode().strip()}")
    try:
        with open(rss_file) as fh:
            rss = int(fh.read().split()[-1])
    except (OSError, ValueError, IndexError):
        rss = None
    return seconds, rss, p.stdout.decode()


def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(4 * MIB), b""):
            h.update(block)
    return h.hexdigest()


# ---- inputs ----

def write_pattern_file(path, size, chunks):
    """A sparse file of size bytes holding (offset, bytes) chunks."""
    with open(path, "wb") as fh:
        fh.truncate(size)
        for offset, data in chunks:
            fh.seek(offset)
            fh.write(data)


def text_block(size):
    """size bytes of text-like data that deflate packs about 3:1."""
    import random
    rng = random.Random(11)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 10)))
             for _ in range(20000)]
    out = []
    total = 0
    while total < size:
        line = " ".join(rng.choice(words) for _ in range(rng.randint(5, 14))) + "\n"
        out.append(line)
        total += len(line)
    return "".join(out).encode()[:size]


def build_inputs():
    os.makedirs(WORK, exist_ok=True)
    stamp = os.path.join(WORK, f"inputs-{SCALE}")
    if os.path.exists(stamp):
        if not os.path.exists(os.path.join(WORK, "text-zstd.qcow2")):  # added after the first inputs
            run([REF, "convert", "-c", "-f", "raw", "-O", "qcow2", "-o", "compression_type=zstd", "text.raw",
                 "text-zstd.qcow2"])
        return
    for name in os.listdir(WORK):
        os.unlink(os.path.join(WORK, name))
    print(f"bench: building inputs in {WORK} (scale {SCALE})", flush=True)
    half = scaled(2 * GIB)
    # 2 GiB of incompressible data in a 4 GiB image, 1 MiB extents every other MiB
    with open(os.path.join(WORK, "data.raw"), "wb") as fh:
        fh.truncate(2 * half)
        for i in range(half // MIB):
            fh.seek(2 * i * MIB)
            fh.write(os.urandom(MIB))
    block = text_block(16 * MIB)
    text_size = scaled(GIB)
    with open(os.path.join(WORK, "text.raw"), "wb") as fh:
        for _ in range(text_size // len(block)):
            fh.write(block)
        fh.truncate(text_size)
    with open(os.path.join(WORK, "random.raw"), "wb") as fh:
        for _ in range(scaled(GIB) // MIB):
            fh.write(os.urandom(MIB))
    write_pattern_file(os.path.join(WORK, "sparse.raw"), 1 << 40,
                       [(i * (1 << 34), os.urandom(MIB)) for i in range(64)])
    # 512 k clusters of 4 KiB, every one allocated
    with open(os.path.join(WORK, "small.raw"), "wb") as fh:
        for _ in range(scaled(2 * GIB) // MIB):
            fh.write(os.urandom(MIB))
    ref = lambda *a: run([REF, *a])
    ref("convert", "-f", "raw", "-O", "qcow2", "data.raw", "data.qcow2")
    ref("convert", "-c", "-f", "raw", "-O", "qcow2", "text.raw", "text-zlib.qcow2")
    ref("convert", "-c", "-f", "raw", "-O", "qcow2", "-o", "compression_type=zstd", "text.raw", "text-zstd.qcow2")
    ref("convert", "-f", "raw", "-O", "qcow2", "-o", "cluster_size=4096", "small.raw", "small.qcow2")
    # the commit/rebase chain: a 2 GiB base with 1 GiB of data, a 512 MiB overlay on it
    base_size = scaled(2 * GIB)
    write_pattern_file(os.path.join(WORK, "base.raw"), base_size,
                       [(i * 2 * MIB, os.urandom(MIB)) for i in range(base_size // (2 * MIB))])
    ref("convert", "-f", "raw", "-O", "qcow2", "base.raw", "chain-base.qcow2")
    ref("create", "-q", "-f", "qcow2", "-b", "chain-base.qcow2", "-F", "qcow2", "chain-top.qcow2")
    # 512 MiB in the base's gaps, written into the overlay alone (with the reference's qemu-io)
    io = os.path.join(os.path.dirname(REF), "qemu-io")
    io = io if os.access(io, os.X_OK) else "/usr/bin/qemu-io"
    overlay = [(i * 4 * MIB + MIB, 1 + i % 250) for i in range(scaled(512 * MIB) // MIB)]
    for first in range(0, len(overlay), 64):
        commands = []
        for offset, pattern in overlay[first:first + 64]:
            commands += ["-c", f"write -q -P {pattern} {offset} {MIB}"]
        run([io, "-f", "qcow2", *commands, "chain-top.qcow2"])
    write_pattern_file(os.path.join(WORK, "overlay.raw"), base_size,
                       [(offset, bytes([pattern]) * MIB) for offset, pattern in overlay])
    shutil.copyfile(os.path.join(WORK, "base.raw"), os.path.join(WORK, "chain.raw"))
    with open(os.path.join(WORK, "chain.raw"), "r+b") as fh:
        for offset, pattern in overlay:
            fh.seek(offset)
            fh.write(bytes([pattern]) * MIB)
    open(stamp, "w").close()


# ---- jobs ----

class Job:
    """name; argv(tool, out); the raw file whose copy is the physical limit (disk-bound jobs);
    prepare(tag) before each run (fresh copies of what the job changes); verify(tag, out) after the
    first; output: the format of the file the job writes (None: its stdout is the output)."""

    def __init__(self, name, argv, limit=None, prepare=None, verify=None, output=None, deterministic=False):
        self.name, self.argv, self.limit = name, argv, limit
        self.prepare, self.verify, self.output, self.deterministic = prepare, verify, output, deterministic


def fresh_chain(tool):
    for name in ("chain-base.qcow2", "chain-top.qcow2"):
        shutil.copyfile(os.path.join(WORK, name), os.path.join(WORK, f"{tool}-{name}"))
    subprocess.run([REF, "rebase", "-u", "-F", "qcow2", "-b", f"{tool}-chain-base.qcow2",
                    f"{tool}-chain-top.qcow2"], cwd=WORK, check=True)
    subprocess.run(["sync"], check=True)


def same_guest(raw_source):
    def verify(tag, out):
        return subprocess.run([REF, "compare", "-q", raw_source, out], cwd=WORK).returncode == 0
    return verify


def chain_holds(name, raw_source):
    """After commit (the base) or rebase (the top), that image of the tool's chain holds the guest data."""
    def verify(tag, out):
        return subprocess.run([REF, "compare", "-q", "-U", raw_source, f"{tag}-{name}"], cwd=WORK).returncode == 0
    return verify


def memory_target():
    return os.path.join(SHM, "qimg-bench-target.raw")


def memory_target_prepare(tag):
    """The page-cache job overwrites a file that is already in memory (convert -n): no page is
    allocated and nothing goes to disk, so what is timed is the work of the tool alone."""
    if not os.path.exists(memory_target()):
        shutil.copyfile(os.path.join(WORK, "small.raw"), memory_target())


def memory_target_holds(raw_source):
    def verify(tag, out):
        ok = subprocess.run([REF, "compare", "-q", "-f", "raw", "-F", "raw", raw_source, memory_target()],
                            cwd=WORK).returncode == 0
        with open(memory_target(), "r+b") as fh:  # the next run must write every byte again
            fh.write(bytes(4096))
        return ok
    return verify


def jobs():
    def convert(name, source, fmt, *options, limit=None, verify_source=None, deterministic=True):
        return Job(name, lambda tool, out: [tool, "convert", *options, "-O", fmt, source, out], limit=limit,
                   verify=same_guest(verify_source or source), output=fmt, deterministic=deterministic)

    def chain(command):
        def argv(tool, out):
            top = f"{'q' if tool == QIMG else 'r'}-chain-top.qcow2"
            return [tool, *command, top]
        return argv

    return [
        convert("convert qcow2->raw", "data.qcow2", "raw", limit="data.raw", verify_source="data.raw"),
        convert("convert raw->qcow2", "data.raw", "qcow2", limit="data.raw"),
        convert("convert raw->qcow2 -W -m 8", "data.raw", "qcow2", "-W", "-m", "8", limit="data.raw",
                deterministic=False),
        convert("convert -c zlib (text)", "text.raw", "qcow2", "-c"),
        convert("convert -c zstd (text)", "text.raw", "qcow2", "-c", "-o", "compression_type=zstd"),
        convert("convert -c zlib (random)", "random.raw", "qcow2", "-c"),
        convert("convert -c zstd (random)", "random.raw", "qcow2", "-c", "-o", "compression_type=zstd"),
        convert("convert zlib compressed->raw", "text-zlib.qcow2", "raw", limit="text.raw", verify_source="text.raw"),
        convert("convert zstd compressed->raw", "text-zstd.qcow2", "raw", limit="text.raw", verify_source="text.raw"),
        convert("convert sparse 1 TiB raw->qcow2", "sparse.raw", "qcow2", limit="sparse.raw"),
        convert("convert 4k-cluster qcow2->raw", "small.qcow2", "raw", limit="small.raw", verify_source="small.raw"),
        Job("convert 4k-cluster in page cache",
            lambda tool, out: [tool, "convert", "-n", "-O", "raw", "small.qcow2", memory_target()],
            prepare=memory_target_prepare, verify=memory_target_holds("small.raw")),
        Job("compare 4k-cluster qcow2 raw", lambda tool, out: [tool, "compare", "small.qcow2", "small.raw"]),
        Job("check 4k-cluster", lambda tool, out: [tool, "check", "small.qcow2"]),
        Job("map 4k-cluster", lambda tool, out: [tool, "map", "--output=json", "small.qcow2"]),
        Job("measure 4k-cluster", lambda tool, out: [tool, "measure", "-O", "qcow2", "small.qcow2"]),
        Job("commit 512 MiB into 2 GiB", chain(["commit", "-q"]), limit="overlay.raw", prepare=fresh_chain,
            verify=chain_holds("chain-base.qcow2", "chain.raw")),
        Job("rebase -b '' of the chain", chain(["rebase", "-b", ""]), limit="base.raw", prepare=fresh_chain,
            verify=chain_holds("chain-top.qcow2", "chain.raw")),
    ]


def cp_limit(source):
    target = os.path.join(WORK, "cp.out")
    if os.path.exists(target):
        os.unlink(target)
    seconds, _, _ = run(["cp", "--sparse=always", source, target])
    os.unlink(target)
    return seconds


def run_job(job):
    """Runs the job RUNS times with each tool, alternately; returns (times, peak memory, cp+sync
    times, whether the outputs are the same: None when not compared)."""
    times = {QIMG: [], REF: []}
    memory = {QIMG: 0, REF: 0}
    outputs = {}
    limits = []
    for i in range(RUNS):
        for tool in (REF, QIMG):
            tag = "q" if tool == QIMG else "r"
            out = os.path.join(WORK, f"{tag}.out.{job.output or 'x'}")
            if os.path.exists(out):
                os.unlink(out)
            if job.prepare:
                job.prepare(tag)
            subprocess.run(["sync"], check=True)
            seconds, rss, stdout = run(job.argv(tool, out))
            times[tool].append(seconds)
            if VERBOSE:
                print(f"  {job.name}: {'qimg' if tool == QIMG else 'reference'} {seconds:.2f} s", flush=True)
            memory[tool] = max(memory[tool], rss or 0)
            if i == 0:
                if job.verify and not job.verify(tag, out):
                    raise RuntimeError(f"{'qimg' if tool == QIMG else 'reference'}'s result differs from the source")
                if job.output is None:
                    outputs[tool] = stdout
                elif job.deterministic:
                    outputs[tool] = digest(out)
            if os.path.exists(out):
                os.unlink(out)
        if job.limit:
            limits.append(cp_limit(os.path.join(WORK, job.limit)))
    same = outputs[QIMG] == outputs[REF] if QIMG in outputs and REF in outputs else None
    if os.path.exists(memory_target()):
        os.unlink(memory_target())
    return times, memory, limits, same


def main():
    for path in (QIMG, REF):
        if not os.access(path, os.X_OK):
            sys.exit(f"bench: {path} is missing ({'run make' if path == QIMG else 'set BENCH_REF or make deps'})")
    build_inputs()
    print(f"bench: {QIMG} against {REF}, {RUNS} runs each, medians, every run ending with sync")
    header = f"{'job':34s} {'qimg':>8s} {'ref':>8s} {'ratio':>6s} {'cp+sync':>8s} {'vs cp':>6s} " \
             f"{'qimg MiB':>8s} {'ref MiB':>8s}  same"
    print(header)
    failures = 0
    for job in jobs():
        if not ONLY.search(job.name):
            continue
        try:
            times, memory, limits, same = run_job(job)
        except RuntimeError as e:
            print(f"{job.name:34s} FAILED: {e}")
            failures += 1
            continue
        mine, theirs = statistics.median(times[QIMG]), statistics.median(times[REF])
        limit = statistics.median(limits) if limits else None
        cells = [f"{mine:8.2f}", f"{theirs:8.2f}", f"{mine / theirs:6.2f}",
                 f"{limit:8.2f}" if limit else f"{'-':>8s}", f"{mine / limit:6.2f}" if limit else f"{'-':>6s}",
                 f"{memory[QIMG] / 1024:8.1f}", f"{memory[REF] / 1024:8.1f}",
                 {True: "  yes", False: "  NO", None: "  -"}[same]]
        print(f"{job.name:34s} " + " ".join(cells), flush=True)
        failures += same is False
    print("(seconds; ratio = qimg / reference; below 1 is faster; 'same': outputs byte-equal where the "
          "reference's are deterministic)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
