# tools/difftest/create_options/qed.py — the create options a random differential case draws for qed
# (spec/qed.md §Creation; spec/difftest.md §Cases): valid and invalid cluster and table sizes, backing
# file and format, the image size, help and an unknown option.
MIB = 1024 * 1024


def create_options(builder):
    rng = builder.rng
    pool = ["cluster_size=" + str(rng.choice([4096, 8192, 65536, 1 * MIB, 2048, 3000, 128 * MIB, 64 * MIB])),
            "table_size=" + str(rng.choice([1, 2, 4, 8, 16, 3, 32, 0])),
            "size=" + builder.size_value(),
            "backing_file=base.qcow2", "backing_fmt=" + rng.choice(["qcow2", "raw", "qed", "bogus"]),
            "help", "bogus=1", "preallocation=" + rng.choice(["off", "full"])]
    return rng.sample(pool, rng.choice([1, 1, 1, 2, 2, 3]))
