# tools/difftest/create_options/vmdk.py — the create options a random differential case draws for vmdk
# (spec/vmdk.md §Creation; spec/difftest.md §Cases): every subformat and adapter type (and bogus
# ones), hwversion/compat6 and their conflict, toolsversion, zeroed grains, backing file and format,
# the image size, help and an unknown option.


def create_options(builder):
    rng = builder.rng
    pool = ["subformat=" + rng.choice(["monolithicSparse", "monolithicFlat", "twoGbMaxExtentSparse",
                                       "twoGbMaxExtentFlat", "streamOptimized", "vmfs", "bogus"]),
            "adapter_type=" + rng.choice(["ide", "lsilogic", "buslogic", "legacyESX", "IDE", "scsi"]),
            "hwversion=" + rng.choice(["4", "6", "7", "undefined", "x"]),
            "compat6=" + rng.choice(["on", "off"]),
            "toolsversion=" + rng.choice(["10240", "0", "abc"]),
            "zeroed_grain=" + rng.choice(["on", "off"]),
            "size=" + builder.size_value(),
            "backing_file=base.qcow2", "backing_fmt=" + rng.choice(["vmdk", "qcow2", "bogus"]),
            "help", "bogus=1"]
    return rng.sample(pool, rng.choice([1, 1, 1, 2, 2, 3]))
