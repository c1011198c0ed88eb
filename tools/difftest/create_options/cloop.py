# tools/difftest/create_options/cloop.py — the create options a random differential case uses for cloop
# (spec/cloop.md): qemu cannot create cloop images, so every option, good or bad, must meet the same
# refusal ("Format driver 'cloop' does not support image creation") or option error as in qemu.
def create_options(builder):
    rng = builder.rng
    pool = ["size=" + rng.choice([builder.size_value(), "0", "bogus"]), "help", "?", "bogus=1",
            "preallocation=" + rng.choice(["off", "full", "bogus"]), "cluster_size=64k", "backing_file=base.cloop"]
    return rng.sample(pool, rng.choice([0, 1, 1, 2, 3]))
