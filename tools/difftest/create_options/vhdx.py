# tools/difftest/create_options/vhdx.py — the create options a random differential case uses for vhdx
# (spec/vhdx.md §Creation): subformat, block size (clamped, auto, not a power of two), log size
# (rounded, too small, too large), block_state_zero, sizes around the 64 TiB limit, and options vhdx
# does not have.
def create_options(builder):
    rng = builder.rng
    pool = ["subformat=" + rng.choice(["dynamic", "fixed", "dynamic", "bogus"]),
            "block_size=" + rng.choice(["0", "1M", "2M", "3M", "512k", "32M", "256M", "512M"]),
            "log_size=" + rng.choice(["1M", "2M", "1000", "0", "4G", "3000000"]),
            "block_state_zero=" + rng.choice(["on", "off", "maybe"]),
            "size=" + rng.choice([builder.size_value(), "64T", "70368744177665"]),
            "help", "preallocation=full", "cluster_size=1M", "bogus=1", "backing_file=base.vhdx"]
    return rng.sample(pool, rng.choice([1, 1, 2, 2, 3]))
