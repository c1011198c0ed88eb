# test_qcow2_layout.py — byte-exact qcow2 layouts and progress lines checked against qemu-img 10.2.2: allocation
# across refcount-block boundaries, metadata preallocation of unaligned sizes, rebase -p, failed converts
# (spec/qcow2.md §Refcounts, §Preallocation; spec/architecture.md §Tests). Expected values come from the oracle.
import hashlib
import os
import subprocess

from conftest import incompressible


def sha256(qimg, name):
    return hashlib.sha256(qimg.read(name)).hexdigest()


def test_compressed_convert_across_refblock_boundary(qimg):
    # 512-byte clusters: the second refcount block is needed at 0x20000; qemu puts the data cluster
    # there and the block right after it (no leaked cluster).
    qimg.write("src.raw", 0, incompressible(200000))
    qimg.ok("convert", "-c", "-O", "qcow2", "-o", "cluster_size=512", "src.raw", "c.qcow2")
    assert os.path.getsize(qimg.path("c.qcow2")) == 206336
    assert sha256(qimg, "c.qcow2") == "f4ddd43c758fd770c30f9a7879ec6cadf4af1434153e24b4c12784a9983d14dc"
    check = qimg.run("check", "c.qcow2")
    assert check.returncode == 0 and "No errors were found" in check.stdout


def test_metadata_preallocation_unaligned_sizes(qimg):
    # the file ends at the end of the last (sub)cluster, not at the end of the guest data
    cases = [
        ("1000000", "", 1376256, "de7be3d25862b5fef645d5f65160446649d6bb7e3f318d1641ec99af2671e121"),
        ("1000000", "extended_l2=on", 1329152, "aff189e0ea23319192e626bcfd9ea56cf600e7d869fdb739da770b4f869d39a3"),
        ("1000000", "cluster_size=4096,refcount_bits=8", 1024000,
         "84ccae55b3533f0314b0f9cfb05b7689506b24c5c4e279e9c520610113d941c6"),
        ("512", "extended_l2=on,cluster_size=16k", 82432,
         "f72d20205ea7639e889f41ca401062365e6816dbc75db21a578a0223eb96ab47"),
    ]
    for size, options, length, digest in cases:
        name = f"p{len(os.listdir(qimg.dir))}.qcow2"
        opts = "preallocation=metadata" + ("," + options if options else "")
        qimg.ok("create", "-q", "-f", "qcow2", "-o", opts, name, size)
        assert os.path.getsize(qimg.path(name)) == length, (size, options)
        assert sha256(qimg, name) == digest, (size, options)


def test_resize_small_clusters_to_1g(qimg):
    # the new L1 table spans refcount blocks whose own ranges have none yet
    qimg.ok("create", "-q", "-f", "qcow2", "-o", "cluster_size=512", "r.qcow2", "1M")
    p = qimg.run("resize", "r.qcow2", "1G")
    assert (p.returncode, p.stdout, p.stderr) == (0, "Image resized.\n", "")
    assert os.path.getsize(qimg.path("r.qcow2")) == 265216
    assert sha256(qimg, "r.qcow2") == "7089e292abf75a6de583451e0747fb6fb8cd11050a13ce36f98739f982bb8235"


def run_bytes(qimg, *args):
    """Runs the binary and returns (exit status, stdout bytes): progress lines keep their \r."""
    p = subprocess.run([qimg.binary, *args], cwd=qimg.dir, capture_output=True, env=dict(os.environ, LC_ALL="C"))
    return p.returncode, p.stdout.decode()


def rebase_progress(qimg, size, *extra):
    qimg.ok("create", "-q", "-f", "qcow2", "base.qcow2", size)
    qimg.ok("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "top.qcow2", size)
    status, out = run_bytes(qimg, "rebase", "-p", *extra, "top.qcow2")
    assert status == 0
    return out


def test_rebase_progress_per_chunk(qimg):
    # each 2 MiB chunk adds 100 / (size / 2 MiB) percent (integer chunk count), capped at 100
    assert rebase_progress(qimg, "11M", "-b", "") == (
        "    (0.00/100%)\r    (20.00/100%)\r    (40.00/100%)\r    (60.00/100%)\r    (80.00/100%)\r"
        "    (100.00/100%)\r    (100.00/100%)\r    (100.00/100%)\r\n")


def test_rebase_progress_small_steps(qimg):
    # 100M: 2% a chunk, printed only once it moved by more than 2%
    out = rebase_progress(qimg, "100M", "-b", "")
    steps = ["    (0.00/100%)\r"] + [f"    ({v:.2f}/100%)\r" for v in range(4, 101, 4)] + ["    (100.00/100%)\r", "\n"]
    assert out == "".join(steps)


def test_rebase_onto_current_backing_copies_nothing(qimg):
    qimg.ok("create", "-q", "-f", "qcow2", "base.qcow2", "8M")
    qimg.ok("create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", "mid.qcow2", "3M")
    qimg.ok("create", "-q", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", "top.qcow2", "8M")
    assert run_bytes(qimg, "rebase", "-p", "-b", "mid.qcow2", "-F", "qcow2", "top.qcow2") == (
        0, "    (0.00/100%)\r    (100.00/100%)\r\n")
    assert os.path.getsize(qimg.path("top.qcow2")) == 196616


def test_convert_past_file_size_limit(qimg):
    # qemu-img is not killed by SIGXFSZ: the write fails, the clusters taken for it are given back
    qimg.write("src.raw", 0, incompressible(4 << 20))
    p = subprocess.run(["bash", "-c", f"ulimit -f 2000; exec '{qimg.binary}' convert -m 1 -O qcow2 src.raw out.qcow2"],
                       cwd=qimg.dir, capture_output=True, text=True, env=dict(os.environ, LC_ALL="C"))
    assert p.returncode == 1
    assert p.stderr.replace(qimg.binary, "qemu-img") == "qemu-img: error while writing at byte 0: File too large\n"
    assert os.path.getsize(qimg.path("out.qcow2")) == 2048000
    assert sha256(qimg, "out.qcow2") == "29c9387bd33c449a64a4b15ebe11ac258bf436a77ead4a726a7c25c8aba2ff0d"
    check = qimg.run("check", "out.qcow2")
    assert check.returncode == 0 and "No errors were found" in check.stdout
