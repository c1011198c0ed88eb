# tools/difftest/create_options/parallels.py — the create options a differential case draws for the
# parallels format (spec/parallels.md §Creation): cluster sizes (power-of-two ones mostly, odd and
# too large ones sometimes), preallocation modes of the file protocol, size, and bad words.
def create_options(builder):
    rng = builder.rng
    cluster = rng.choice(["512", "4k", "64k", "1M", "1M", "2M", "256k", "1000", "0", "2G", "abc"])
    pool = ["cluster_size=" + cluster,
            "preallocation=" + rng.choice(["off", "falloc", "full", "metadata", "bogus"]),
            "size=" + builder.size_value(), "help", "bogus=1", "backing_file=base.parallels"]
    return rng.sample(pool, rng.choice([1, 1, 1, 2, 2, 3]))
