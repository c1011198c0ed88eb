# tools/difftest/create_options/vpc.py — the create options a random differential case uses for vpc
# (spec/vpc.md §Creation): subformat (and bad values), force_size (and bad values), the file
# protocol's preallocation, sizes around the CHS limits and qemu's 2040 GiB limit, and options vpc
# does not have.
def create_options(builder):
    rng = builder.rng
    pool = ["subformat=" + rng.choice(["dynamic", "fixed", "dynamic", "Fixed", "bogus"]),
            "force_size=" + rng.choice(["on", "off", "on", "maybe"]),
            "preallocation=" + rng.choice(["off", "falloc", "full", "metadata", "bogus"]),
            "size=" + rng.choice([builder.size_value(), "127G", "128G", "2040G", "2041G", "1000", "0"]),
            "help", "nocow=on", "bogus=1", "cluster_size=1M", "backing_file=base.vpc"]
    return rng.sample(pool, rng.choice([1, 1, 2, 2, 3]))
