"""luks fuzz seeds: LUKS1 images under the fuzz target's passphrase ("fuzz", secret id fuzzkey) with
the smallest key material qemu allows (aes-128 outside xts: 64 KiB a slot, payload at 516 KiB), in
cbc with plain, plain64 and essiv, ecb, and xts; one with a second slot, one with data written. The
PBKDF2 counts are qemu's minimum (iter-time=0: 1000 rounds), which the target runs unchanged
(spec/luks.md)."""
import os

from . import generator, pattern_file, run, save

SECRET = "secret,id=fuzzkey,data=fuzz"
VARIANTS = [
    ("cbc-plain64", "cipher-alg=aes-128,cipher-mode=cbc"),
    ("cbc-plain", "cipher-alg=aes-128,cipher-mode=cbc,ivgen-alg=plain,hash-alg=sha1"),
    ("cbc-essiv", "cipher-alg=aes-128,cipher-mode=cbc,ivgen-alg=essiv,ivgen-hash-alg=md5,hash-alg=sha512"),
    ("ecb", "cipher-alg=aes-128,cipher-mode=ecb"),
]


@generator("luks")
def luks_seeds(qemu_img, work, out):
    count = 0
    source = os.path.join(work, "source.raw")
    pattern_file(source, 64 * 1024, [(0, 4096, 0x11), (8192, 512, 0x22), (40 * 1024, 1000, 0x33)])
    for i, (name, opts) in enumerate(VARIANTS):
        options = f"key-secret=fuzzkey,iter-time=0,{opts}"
        empty = os.path.join(work, f"{name}-empty.luks")
        if run(qemu_img, "create", "-q", "--object", SECRET, "-f", "luks", "-o", options, empty, "64K"):
            count += save(out, f"luks-{name}-empty", empty, i)
        data = os.path.join(work, f"{name}.luks")
        if run(qemu_img, "convert", "--object", SECRET, "-f", "raw", "-O", "luks", "-o", options, source, data):
            count += save(out, f"luks-{name}-data", data, i + 10)
    two = os.path.join(work, "two-slots.luks")
    if run(qemu_img, "create", "-q", "--object", SECRET, "-f", "luks", "-o",
           "key-secret=fuzzkey,iter-time=0,cipher-alg=aes-128,cipher-mode=cbc", two, "16K") and \
            run(qemu_img, "amend", "--object", SECRET, "--object", "secret,id=other,data=other", "--image-opts",
                f"driver=luks,key-secret=fuzzkey,file.filename={two}", "-o",
                "state=active,new-secret=other,iter-time=0,keyslot=3"):
        count += save(out, "luks-two-slots", two, 30)
    return count
