# tools/difftest/create_options/luks.py — the create options a random differential case draws for luks
# (spec/luks.md §Creation, §Supported algorithms; spec/difftest.md §Cases): the case's secret (mostly
# given, sometimes missing or unknown), a short PBKDF time, and cipher, mode, IV generator and hash
# values qemu accepts and refuses.
def create_options(builder):
    rng = builder.rng
    builder.secret = True
    options = []
    r = rng.random()
    if r < 0.85:
        options.append("key-secret=sec0")
    elif r < 0.93:
        options.append("key-secret=nosuch")
    options.append("iter-time=" + rng.choice(["10", "10", "10", "0", "abc"]))
    pool = ["cipher-alg=" + rng.choice(["aes-128", "aes-256", "aes-192", "twofish-128", "serpent-256", "cast5-128",
                                        "des", "bogus"]),
            "cipher-mode=" + rng.choice(["xts", "cbc", "ecb", "ctr", "bogus"]),
            "ivgen-alg=" + rng.choice(["plain", "plain64", "essiv", "benbi"]),
            "ivgen-hash-alg=" + rng.choice(["sha256", "md5", "sha1", "sha512"]),
            "hash-alg=" + rng.choice(["sha256", "sha1", "sha512", "md5", "ripemd160", "sm3"]),
            "size=" + builder.size_value(), "detached-header=" + rng.choice(["off", "on", "x"]),
            "help", "bogus=1", "preallocation=" + rng.choice(["off", "full", "falloc"])]
    return options + rng.sample(pool, rng.choice([0, 1, 1, 2, 3]))
