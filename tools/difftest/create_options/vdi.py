# tools/difftest/create_options/vdi.py — the create options a random differential case uses for vdi
# (spec/vdi.md §Creation): static on/off (and bad values), preallocation (the file protocol's),
# sizes around qemu's limit, and options vdi does not have.
def create_options(builder):
    rng = builder.rng
    pool = ["static=" + rng.choice(["on", "off", "on", "maybe"]),
            "preallocation=" + rng.choice(["off", "falloc", "full", "metadata", "bogus"]),
            "size=" + rng.choice([builder.size_value(), "536870784M", "536870785M"]),
            "help", "nocow=on", "extent_size_hint=1M", "bogus=1", "cluster_size=1M",
            "backing_file=base.vdi"]
    return rng.sample(pool, rng.choice([1, 1, 2, 2, 3]))
