# iotests/test_qcow2_sequences.py — random sequences of writes, zero writes, discards, snapshots
# (create/apply/delete) and bitmap operations on qcow2 from fixed seeds; after every few steps the
# image must check clean, and it must always read back as the model says (spec/qcow2.md).
import os
import random
import subprocess

import pytest

from conftest import REPO

QIMG_IO = os.environ.get("QIMG_IO", os.path.join(REPO, "build", "qimg-io"))
DISK = 4 << 20
STEPS = 300


def io(qimg, *commands):
    argv = [QIMG_IO, "-f", "qcow2"]
    for c in commands:
        argv += ["-c", c]
    p = subprocess.run(argv + [qimg.path("t.qcow2")], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, f"qimg-io {commands}: {p.stdout}{p.stderr}"


def disk_bytes(qimg):
    qimg.ok("convert", "-f", "qcow2", "-O", "raw", "t.qcow2", "out.raw")
    data = qimg.read("out.raw")
    os.unlink(qimg.path("out.raw"))
    return data


def check_clean(qimg, step, history):
    p = qimg.run("check", "t.qcow2")
    assert p.returncode == 0 and "No errors were found on the image." in p.stdout, (
        f"after step {step} ({history[-3:]}): exit {p.returncode}\n{p.stdout}{p.stderr}")


@pytest.mark.parametrize("seed,options", [
    (1, "cluster_size=65536"),
    (2, "cluster_size=4096"),
    (3, "cluster_size=16384,extended_l2=on"),
    (4, "cluster_size=65536,refcount_bits=8"),
])
def test_random_sequence(qimg, seed, options):
    assert os.access(QIMG_IO, os.X_OK), f"{QIMG_IO} is missing: run make first"
    rng = random.Random(seed)
    qimg.ok("create", "-q", "-f", "qcow2", "-o", options, "t.qcow2", str(DISK))
    model = bytearray(DISK)
    snapshots = {}
    bitmaps = {}  # name -> enabled
    history = []
    serial = 0
    for step in range(STEPS):
        op = rng.choices(["write", "zero", "discard", "snap", "apply", "delete", "bitmap"],
                         weights=[30, 8, 6, 8, 6, 6, 8])[0]
        offset = rng.randrange(0, DISK, 512)
        length = min(rng.choice([512, 4096, 65536, 65536 * 3 + 512, 1 << 20]), DISK - offset)
        if op == "write":
            byte = rng.randrange(1, 256)
            io(qimg, f"write -P {byte:#x} {offset} {length}")
            model[offset:offset + length] = bytes([byte]) * length
            history.append(f"write {byte:#x} {offset} {length}")
        elif op == "zero":
            io(qimg, f"write -z {offset} {length}")
            model[offset:offset + length] = bytes(length)
            history.append(f"zero {offset} {length}")
        elif op == "discard":
            # A discard on qcow2 without a backing file makes the range read as zeroes.
            io(qimg, f"discard {offset} {length}")
            aligned_start = offset
            history.append(f"discard {offset} {length}")
            data = disk_bytes(qimg)
            region = data[aligned_start:offset + length]
            # Whole clusters read as zero afterwards; partial ones keep their data.
            for i in range(len(region)):
                assert region[i] in (0, model[aligned_start + i])
            model[offset:offset + length] = data[offset:offset + length]
        elif op == "snap":
            serial += 1
            name = f"s{serial}"
            qimg.ok("snapshot", "-c", name, "t.qcow2")
            snapshots[name] = bytes(model)
            history.append(f"snapshot -c {name}")
        elif op == "apply" and snapshots:
            name = rng.choice(sorted(snapshots))
            p = qimg.run("snapshot", "-a", name, "t.qcow2")
            if bitmaps:
                assert p.returncode == 1, p.stderr
            else:
                assert p.returncode == 0, p.stderr
                model[:] = snapshots[name]
            history.append(f"snapshot -a {name}")
        elif op == "delete" and snapshots:
            name = rng.choice(sorted(snapshots))
            qimg.ok("snapshot", "-d", name, "t.qcow2")
            del snapshots[name]
            history.append(f"snapshot -d {name}")
        elif op == "bitmap":
            action = rng.choice(["add", "remove", "clear", "toggle"])
            if action == "add" or not bitmaps:
                name = f"b{serial}-{step}"
                granularity = rng.choice(["", "4k", "64k", "1M"])
                args = ["bitmap", "--add"] + (["-g", granularity] if granularity else []) + ["t.qcow2", name]
                qimg.ok(*args)
                bitmaps[name] = True
            else:
                name = rng.choice(sorted(bitmaps))
                if action == "remove":
                    qimg.ok("bitmap", "--remove", "t.qcow2", name)
                    del bitmaps[name]
                elif action == "clear":
                    qimg.ok("bitmap", "--clear", "t.qcow2", name)
                else:
                    flag = "--disable" if bitmaps[name] else "--enable"
                    qimg.ok("bitmap", flag, "t.qcow2", name)
                    bitmaps[name] = not bitmaps[name]
            history.append(f"bitmap {action}")
        if step % 25 == 24:
            check_clean(qimg, step, history)
            assert disk_bytes(qimg) == bytes(model), f"content differs after step {step}: {history[-3:]}"
    check_clean(qimg, STEPS, history)
    assert disk_bytes(qimg) == bytes(model)
    # Every snapshot still holds the disk as it was when it was taken.
    for name, content in snapshots.items():
        qimg.ok("convert", "-f", "qcow2", "-l", f"snapshot.name={name}", "-O", "raw", "t.qcow2", "snap.raw")
        assert qimg.read("snap.raw") == content, f"snapshot {name} changed"
    info = qimg.ok("info", "--output=json", "t.qcow2").stdout
    for name in bitmaps:
        assert f'"name": "{name}"' in info
