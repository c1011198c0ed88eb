# tools/difftest/create_options/qcow.py — the create options a random differential case draws for
# qcow (v1) images (spec/qcow.md §Creation): size, backing file and format, and the encryption
# options whose refusals qemu words in several ways.


def create_options(builder):
    rng = builder.rng
    pool = ["size=" + builder.size_value(),
            "backing_file=" + rng.choice(["base.qcow2", "a.qcow", "nosuch.img"]),
            "backing_fmt=" + rng.choice(["qcow2", "raw", "qcow", "bogus", "nbd"]),
            "encryption=" + rng.choice(["on", "off", "maybe"]),
            "encrypt.format=" + rng.choice(["aes", "luks", "xts"]),
            "encrypt.key-secret=" + rng.choice(["sec0", "nosuch"]),
            "help", "bogus=1"]
    return rng.sample(pool, rng.choice([1, 1, 1, 2, 2, 3]))
