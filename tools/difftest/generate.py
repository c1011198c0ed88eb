# tools/difftest/generate.py — seeded random cases for the differential tester: starting images, then one qemu-img command line (spec/difftest.md §Cases).
"""Case generation.

A case is fully determined by (seed, index): `make_case(seed, index, formats)` draws, from a
random.Random seeded with both, a *world* of starting images and one command line.  The world
is built with the oracle (qemu-img create/snapshot/bitmap and qemu-io writes); the command is
run by both binaries.  Command lines are argv lists without the program name.

Every command of qemu-img 10.2 and every one of its options can be drawn, with good values
most of the time and, with a small probability each, bad values, missing arguments, unknown
options, repeated options and --help.
"""
import random

import create_options

KIB = 1024
MIB = 1024 * KIB

COMMANDS = ["amend", "bench", "bitmap", "check", "commit", "compare", "convert", "create", "dd", "info",
            "map", "measure", "rebase", "resize", "snapshot"]
# How often each command is drawn (the ones with most options and most state weigh more).
COMMAND_WEIGHTS = {"amend": 5, "bench": 3, "bitmap": 6, "check": 7, "commit": 6, "compare": 6, "convert": 14,
                   "create": 10, "dd": 5, "info": 8, "map": 6, "measure": 6, "rebase": 7, "resize": 6,
                   "snapshot": 6}

EXTENSIONS = {"raw": "raw", "qcow2": "qcow2", "qcow": "qcow", "qed": "qed", "vdi": "vdi", "parallels": "parallels",
              "vmdk": "vmdk", "vpc": "vpc", "vhdx": "vhdx", "luks": "luks"}
SIZES = [64 * KIB, 1 * MIB, 1 * MIB + 512, 2 * MIB, 3 * MIB + 4096, 4 * MIB, 1000000, 8 * MIB, 16 * MIB]
CLUSTER_SIZES = [512, 4 * KIB, 16 * KIB, 64 * KIB, 64 * KIB, 64 * KIB, 256 * KIB, 2 * MIB]
CACHE_MODES = ["none", "writeback", "writethrough", "unsafe", "directsync"]
BAD_CACHE_MODES = ["bogus", "", "NONE"]
BAD_SIZES = ["-5M", "1Q", "abc", "", "0x", "18E", "99999999999999999999", "1.5.5M", "-1"]
UNKNOWN_LONG = ["--bogus", "--formats", "--no-such-option"]
UNKNOWN_SHORT = ["-Z", "-y", "-j"]
BAD_FORMATS = ["bogus", "", "qcow3", "file"]


# The secret every luks case uses (tools/difftest/create_options/luks.py names it too).
LUKS_SECRET_ID = "sec0"
LUKS_SECRET = "secret,id=sec0,data=abc"


def size_text(rng, size):
    """size as qemu-img reads it: plain bytes, or a suffixed form when it divides evenly."""
    forms = [str(size)]
    for suffix, unit in (("K", KIB), ("M", MIB), ("k", KIB)):
        if size % unit == 0:
            forms.append(f"{size // unit}{suffix}")
    return rng.choice(forms)


class World:
    """The starting images of one case: setup steps (argv lists whose first word is "IMG" or
    "IO", the oracle's qemu-img or qemu-io) and what the case knows about each file."""

    def __init__(self, rng):
        self.rng = rng
        self.setup = []
        self.files = {}      # name -> dict(format, size, backing, snapshots, bitmaps, cluster_size)

    def add_image(self, name, fmt, size=None, backing=None, options=None):
        rng = self.rng
        size = size if size is not None else rng.choice(SIZES)
        info = {"format": fmt, "size": size, "backing": backing, "snapshots": [], "bitmaps": [],
                "cluster_size": 64 * KIB}
        argv = ["IMG", "create", "-q", "-f", fmt]
        opts = list(options or [])
        if fmt == "qcow2" and options is None:
            opts = self.qcow2_options(info)
        if fmt == "luks":
            # Encrypted images are made and opened with the one secret every case defines.
            argv[2:2] = ["--object", LUKS_SECRET]
            opts = ["key-secret=" + LUKS_SECRET_ID, "iter-time=10"] + opts
        if opts:
            argv += ["-o", ",".join(opts)]
        if backing:
            argv += ["-b", backing, "-F", self.files[backing]["format"]]
        argv += [name, str(size)]
        self.setup.append(argv)
        self.files[name] = info
        return info

    def qcow2_options(self, info):
        rng = self.rng
        opts = []
        if rng.random() < 0.4:
            info["cluster_size"] = rng.choice(CLUSTER_SIZES)
            opts.append(f"cluster_size={info['cluster_size']}")
        compat = "1.1"
        if rng.random() < 0.15:
            compat = "0.10"
            opts.append("compat=0.10")
        if compat == "1.1":
            if rng.random() < 0.15:
                opts.append("lazy_refcounts=on")
            if rng.random() < 0.15 and info["cluster_size"] >= 16 * KIB:
                opts.append("extended_l2=on")
            if rng.random() < 0.15:
                opts.append("compression_type=" + rng.choice(["zlib", "zstd"]))
        if rng.random() < 0.2:
            opts.append(f"refcount_bits={rng.choice([1, 2, 4, 8, 16, 32, 64]) if compat == '1.1' else 16}")
        if rng.random() < 0.1:
            opts.append("preallocation=" + rng.choice(["metadata", "falloc", "full"]))
        return opts

    def add_data(self, name, count):
        """count qemu-io writes, zero writes and discards spread over the image."""
        rng = self.rng
        info = self.files[name]
        size = info["size"]
        cmds = []
        for _ in range(count):
            length = rng.choice([512, 4096, 65536, 65536 + 512, 200000 // 512 * 512, 1 * MIB])
            length = min(length, size)
            offset = rng.randrange(0, max(1, size - length + 1))
            offset -= offset % rng.choice([512, 4096, 65536])
            kind = rng.random()
            if kind < 0.65:
                cmds.append(f"write -P 0x{rng.randrange(1, 256):02x} {offset} {length}")
            elif kind < 0.8:
                cmds.append(f"write -z {offset} {length}")
            elif kind < 0.9 or info["format"] != "qcow2":
                cmds.append(f"discard {offset} {length}")
            else:
                cluster = info["cluster_size"]
                start = offset - offset % cluster
                if start + cluster <= size:
                    cmds.append(f"write -c -P 0x{rng.randrange(1, 256):02x} {start} {cluster}")
        if cmds:
            argv = ["IO", "-f", info["format"]]
            target = [name]
            if info["format"] == "luks":
                argv = ["IO", "--object", LUKS_SECRET]
                target = ["--image-opts", f"driver=luks,key-secret={LUKS_SECRET_ID},file.filename={name}"]
            for c in cmds:
                argv += ["-c", c]
            self.setup.append(argv + target)

    def add_snapshot(self, name):
        info = self.files[name]
        tag = self.rng.choice(["snap1", "snap2", "s 3", "base"]) if info["snapshots"] else "snap1"
        if tag in info["snapshots"]:
            return
        self.setup.append(["IMG", "snapshot", "-f", "qcow2", "-c", tag, name])
        info["snapshots"].append(tag)

    def add_bitmap(self, name):
        rng = self.rng
        info = self.files[name]
        tag = f"bm{len(info['bitmaps'])}"
        argv = ["IMG", "bitmap", "-f", "qcow2", "--add"]
        if rng.random() < 0.3:
            argv += ["-g", rng.choice(["512", "64K", "1M", "4096"])]
        if rng.random() < 0.2:
            argv += ["--disable"]
        self.setup.append(argv + [name, tag])
        info["bitmaps"].append(tag)

    def images(self, fmt=None):
        return [n for n, i in self.files.items() if fmt is None or i["format"] == fmt]


def build_world(rng, formats):
    """A few images in the given formats: a primary image a.*, maybe a second b.*, maybe a
    backing chain base.* <- mid.qcow2 <- top.qcow2, with data, snapshots and bitmaps."""
    world = World(rng)
    primary_fmt = rng.choice(formats)
    world.add_image(f"a.{EXTENSIONS[primary_fmt]}", primary_fmt)
    if rng.random() < 0.5:
        fmt = rng.choice(formats)
        world.add_image(f"b.{EXTENSIONS[fmt]}", fmt)
    if "qcow2" in formats and rng.random() < 0.45:
        base_fmt = rng.choice(formats)
        base = f"base.{EXTENSIONS[base_fmt]}"
        base_info = world.add_image(base, base_fmt)
        world.add_data(base, rng.randrange(0, 5))
        lower = base
        if rng.random() < 0.3:
            world.add_image("mid.qcow2", "qcow2", size=base_info["size"], backing=lower)
            world.add_data("mid.qcow2", rng.randrange(0, 4))
            lower = "mid.qcow2"
        size = base_info["size"] if rng.random() < 0.8 else rng.choice(SIZES)
        world.add_image("top.qcow2", "qcow2", size=size, backing=lower)
    for name in list(world.files):
        if not name.startswith("base") and name != "mid.qcow2":
            world.add_data(name, rng.randrange(0, 6))
        info = world.files[name]
        if info["format"] == "qcow2":
            for _ in range(rng.choice([0, 0, 0, 1, 2])):
                world.add_snapshot(name)
                world.add_data(name, rng.randrange(0, 3))
            for _ in range(rng.choice([0, 0, 0, 1, 2])):
                world.add_bitmap(name)
            if info["bitmaps"]:
                world.add_data(name, rng.randrange(0, 3))
    return world


class CommandBuilder:
    """Draws one command line for a world.  Options are collected as (words) groups and shuffled
    (qemu-img 10.2 permutes options and arguments), then perturbed."""

    def __init__(self, rng, world, formats):
        self.rng = rng
        self.world = world
        self.formats = formats
        self.opts = []      # option groups, each a list of words
        self.args = []      # positional arguments
        self.read_write = False
        self.image_opts = False
        self.secret = False  # a luks image is named: the command defines the secret

    def image_arg(self, name):
        """name as the command's image argument: mostly as it is, sometimes as an option string
        (which turns --image-opts on for the whole command) or a json: filename."""
        r = self.rng.random()
        if self.fmt_of(name) == "luks" and name in self.world.files and r < 0.9:
            self.secret = True
            return (f'json:{{"driver":"luks","key-secret":"{LUKS_SECRET_ID}",'
                    f'"file":{{"driver":"file","filename":"{name}"}}}}')
        if r < 0.05:
            self.image_opts = True
            fmt = self.fmt_of(name)
            return self.rng.choice([f"driver={fmt},file.filename={name}", f"file.filename={name}",
                                    f"driver={fmt},file.driver=file,file.filename={name}", name,
                                    f"driver={fmt},file.filename={name},bogus=1"])
        if r < 0.08:
            fmt = self.fmt_of(name)
            return self.rng.choice([f'json:{{"driver":"{fmt}","file":{{"driver":"file","filename":"{name}"}}}}',
                                    f'json:{{"file.filename":"{name}"}}', 'json:{"driver":', 'json:[]'])
        return name

    def chance(self, p):
        return self.rng.random() < p

    def pick_image(self, fmt=None):
        names = self.world.images(fmt)
        if not names or self.chance(0.03):
            return self.rng.choice(["missing.img", "nonexistent.qcow2", ".", "a.raw,x"])
        return self.rng.choice(names)

    def fmt_of(self, name):
        info = self.world.files.get(name)
        return info["format"] if info else self.rng.choice(self.formats)

    def add(self, *words):
        self.opts.append(list(words))

    def format_option(self, flag, name, p=0.6):
        """-f FMT for name: right most of the time, wrong or bogus sometimes."""
        if not self.chance(p):
            return
        r = self.rng.random()
        if r < 0.85:
            self.add(flag, self.fmt_of(name))
        elif r < 0.93:
            self.add(flag, self.rng.choice(self.formats))
        else:
            self.add(flag, self.rng.choice(BAD_FORMATS))

    def cache_option(self, flag, p=0.15):
        if self.chance(p):
            self.add(flag, self.rng.choice(CACHE_MODES if self.chance(0.9) else BAD_CACHE_MODES))

    def size_value(self, good=None):
        if self.chance(0.08):
            return self.rng.choice(BAD_SIZES)
        return size_text(self.rng, good if good is not None else self.rng.choice(SIZES))

    def maybe(self, p, *words):
        if self.chance(p):
            self.add(*words)

    def object_option(self, p=0.03):
        if self.chance(p):
            self.add("--object", self.rng.choice(["secret,id=sec0,data=abc", "bogus,id=x", "secret", "secret,id=s,data="]))

    def qcow2_create_options(self, for_amend=False):
        rng = self.rng
        pool = ["cluster_size=" + str(rng.choice(CLUSTER_SIZES + [1000, 4 * MIB])),
                "compat=" + rng.choice(["0.10", "1.1", "v3", "2"]),
                "lazy_refcounts=" + rng.choice(["on", "off", "maybe"]),
                "refcount_bits=" + str(rng.choice([1, 2, 4, 8, 16, 32, 64, 3, 128])),
                "extended_l2=" + rng.choice(["on", "off"]),
                "compression_type=" + rng.choice(["zlib", "zstd", "lz4"]),
                "preallocation=" + rng.choice(["off", "metadata", "falloc", "full", "bogus"]),
                "size=" + self.size_value(),
                "data_file_raw=on", "help", "?", "bogus=1",
                "backing_file=base.qcow2", "backing_fmt=" + rng.choice(["qcow2", "raw"])]
        if "luks" in self.formats:
            # qcow2 encryption (spec/qcow2.md §Encryption): the case defines the secret
            pool += [rng.choice(["encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10",
                                 "encrypt.format=aes,encrypt.key-secret=sec0", "encryption=on",
                                 "encrypt.format=luks,encrypt.iter-time=10",
                                 "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10,"
                                 "encrypt.cipher-alg=aes-128,encrypt.cipher-mode=cbc,encrypt.ivgen-alg=essiv",
                                 "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.cipher-alg=bogus",
                                 "encrypt.key-secret=sec0"])]
        if for_amend:
            pool = [o for o in pool if not o.startswith(("cluster_size", "preallocation", "extended_l2"))] + \
                   ["cluster_size=65536", "preallocation=metadata", "extended_l2=on", "encrypt.format=luks"]
        drawn = rng.sample(pool, rng.choice([1, 1, 1, 2, 2, 3]))
        if any("encrypt" in option for option in drawn):
            self.secret = True
        return drawn

    def raw_create_options(self):
        rng = self.rng
        pool = ["preallocation=" + rng.choice(["off", "falloc", "full", "metadata", "bogus"]),
                "size=" + self.size_value(), "help", "extent_size_hint=1M", "nocow=on", "bogus=1"]
        return rng.sample(pool, rng.choice([1, 1, 2]))

    def create_options_for(self, fmt):
        if fmt == "qcow2":
            return self.qcow2_create_options()
        if fmt == "raw":
            return self.raw_create_options()
        drawn = create_options.for_format(self, fmt)
        return drawn if drawn is not None else ["help"]

    def snapshot_name(self, name):
        snaps = self.world.files.get(name, {}).get("snapshots", [])
        if snaps and self.chance(0.75):
            return self.rng.choice(snaps)
        return self.rng.choice(["snap1", "nosuch", "1", "s 3", "x" * 130, ""])

    def bitmap_name(self, name):
        bitmaps = self.world.files.get(name, {}).get("bitmaps", [])
        if bitmaps and self.chance(0.7):
            return self.rng.choice(bitmaps)
        return self.rng.choice(["bm0", "bm1", "newbm", "b" * 1100, ""])

    def finish(self, command):
        """Shuffles option groups among themselves (positional order kept) and perturbs."""
        rng = self.rng
        opts = self.opts
        if self.image_opts:
            opts.append(["--image-opts"])
        if self.secret:
            opts.append(["--object", LUKS_SECRET])
        rng.shuffle(opts)
        words = [w for group in opts for w in group]
        args = list(self.args)
        r = rng.random()
        if r < 0.025:
            words.insert(rng.randrange(len(words) + 1), rng.choice(UNKNOWN_LONG))
        elif r < 0.05:
            words.insert(rng.randrange(len(words) + 1), rng.choice(UNKNOWN_SHORT))
        elif r < 0.065:
            words.insert(rng.randrange(len(words) + 1), rng.choice(["--help", "-h"]))
        elif r < 0.09 and args:
            args.pop(rng.randrange(len(args)))
        elif r < 0.105:
            args.append(rng.choice(["extra", "a.raw", "1M"]))
        elif r < 0.12 and words:
            words = words[:-1]           # an option loses its argument (or a flag goes)
        elif r < 0.14:
            words.append("-U")
        elif r < 0.15:
            words.append("-q")
        if rng.random() < 0.25 and args:
            # qemu-img 10.2 accepts options after the positional arguments too.
            split = rng.randrange(len(args) + 1)
            return [command] + args[:split] + words + args[split:]
        return [command] + words + args


def command_amend(b):
    img = b.pick_image()
    b.format_option("-f", img, 0.7)
    fmt = b.fmt_of(img)
    if b.chance(0.95):
        opts = b.qcow2_create_options(for_amend=True) if fmt == "qcow2" else b.create_options_for(fmt)
        b.add("-o", ",".join(opts))
    b.cache_option("-t")
    b.maybe(0.1, "--force")
    b.maybe(0.1, "-p")
    b.maybe(0.2, "-q")
    b.object_option()
    b.args = [b.image_arg(img)]
    b.read_write = True


def command_bench(b):
    img = b.pick_image()
    b.format_option("-f", img)
    b.maybe(0.9, "-c", str(b.rng.choice([1, 10, 100, 0, -1])))
    b.maybe(0.3, "-d", str(b.rng.choice([1, 4, 64, 0])))
    b.maybe(0.3, "-o", b.size_value(b.rng.choice([0, 512, 4096, 65536])))
    b.maybe(0.3, "-s", b.size_value(b.rng.choice([512, 4096, 65536, 1 * MIB])))
    b.maybe(0.2, "-S", b.size_value(b.rng.choice([512, 4096, 65536])))
    if b.chance(0.3):
        b.add("-w")
        b.read_write = True
        b.maybe(0.3, "--pattern", str(b.rng.choice([0, 255, 256, 7])))
        b.maybe(0.2, "--flush-interval", str(b.rng.choice([1, 10, 0])))
        b.maybe(0.1, "--no-drain")
    b.maybe(0.1, "-i", b.rng.choice(["threads", "native", "io_uring", "bogus"]))
    b.maybe(0.05, "-n")
    b.cache_option("-t")
    b.maybe(0.1, "-U")
    b.maybe(0.3, "-q")
    b.args = [b.image_arg(img)]


def command_bitmap(b):
    img = b.pick_image("qcow2" if b.chance(0.9) else None)
    b.format_option("-f", img)
    actions = ["--add", "--remove", "--clear", "--enable", "--disable", "--merge"]
    for _ in range(b.rng.choice([1, 1, 1, 2])):
        action = b.rng.choice(actions)
        if action == "--merge":
            src = b.pick_image()
            b.add("--merge", b.bitmap_name(src))
            if b.chance(0.4):
                b.add("-b", src)
                b.format_option("-F", src, 0.5)
        else:
            b.add(action)
        if action == "--add" and b.chance(0.3):
            b.add("-g", b.size_value(b.rng.choice([512, 4096, 65536, 1 * MIB, 2 ** 31, 100])))
    b.object_option()
    b.args = [b.image_arg(img), b.bitmap_name(img)]
    b.read_write = True


def command_check(b):
    img = b.pick_image()
    b.format_option("-f", img)
    if b.chance(0.35):
        b.add("-r", b.rng.choice(["leaks", "all", "all", "bogus"]))
        b.read_write = True
    b.maybe(0.4, "--output", b.rng.choice(["human", "json", "json", "xml"]))
    b.cache_option("-T")
    b.maybe(0.1, "-U")
    b.maybe(0.15, "-q")
    b.object_option()
    b.args = [b.image_arg(img)]


def command_commit(b):
    tops = [n for n in b.world.images() if b.world.files[n]["backing"]]
    img = b.rng.choice(tops) if tops and b.chance(0.9) else b.pick_image()
    b.format_option("-f", img)
    b.cache_option("-t")
    if b.chance(0.25):
        chain = []
        cur = b.world.files.get(img, {}).get("backing")
        while cur:
            chain.append(cur)
            cur = b.world.files[cur]["backing"]
        b.add("-b", b.rng.choice(chain) if chain and b.chance(0.8) else b.rng.choice(["a.raw", "nosuch"]))
    b.maybe(0.3, "-d")
    b.maybe(0.1, "-r", b.rng.choice(["1000000000", "0", "-1", "abc"]))
    b.maybe(0.15, "-p")
    b.maybe(0.2, "-q")
    b.object_option()
    b.args = [b.image_arg(img)]
    b.read_write = True


def command_compare(b):
    one = b.pick_image()
    two = b.pick_image() if b.chance(0.8) else one
    b.format_option("-f", one, 0.5)
    b.format_option("-F", two, 0.5)
    b.maybe(0.3, "-s")
    b.cache_option("-T")
    b.maybe(0.1, "-U")
    b.maybe(0.1, "-p")
    b.maybe(0.2, "-q")
    b.object_option()
    b.args = [b.image_arg(one), b.image_arg(two)]


def command_convert(b):
    rng = b.rng
    src = b.pick_image()
    sources = [src]
    if b.chance(0.1):
        sources.append(b.pick_image())
    b.format_option("-f", src, 0.5)
    target_fmt = rng.choice(b.formats) if b.chance(0.97) else rng.choice(BAD_FORMATS)
    if b.chance(0.85) or target_fmt != "raw":
        b.add("-O", target_fmt)
    existing = b.chance(0.12)
    target = rng.choice(b.world.images()) if existing else rng.choice(["out.img", "t.qcow2", "o.raw"])
    if existing or b.chance(0.03):
        b.maybe(0.8, "-n")
        b.read_write = True
    if b.chance(0.25):
        b.add("-o", ",".join(b.create_options_for(target_fmt)))
    if b.chance(0.12):
        b.add("-c")
    src_info = b.world.files.get(src, {})
    if src_info.get("snapshots") and b.chance(0.25):
        snap = b.snapshot_name(src)
        b.add("-l", rng.choice([snap, f"snapshot.name={snap}", "snapshot.id=1"]))
    if src_info.get("bitmaps") and b.chance(0.3):
        b.add("--bitmaps")
        b.maybe(0.3, "--skip-broken-bitmaps")
    if b.chance(0.1):
        back = rng.choice(b.world.images())
        b.add("-b", back)
        b.format_option("-F", back, 0.7)
    b.maybe(0.15, "-S", b.size_value(rng.choice([0, 512, 4096, 65536, 1000])))
    b.maybe(0.05, "--target-is-zero")
    b.maybe(0.05, "--salvage")
    b.cache_option("-t", 0.1)
    b.cache_option("-T", 0.1)
    b.maybe(0.05, "-r", rng.choice(["100M", "0", "abc"]))
    b.maybe(0.1, "-m", str(rng.choice([1, 2, 8, 16, 0, 33])))
    b.maybe(0.05, "-W")
    b.maybe(0.05, "-C")
    b.maybe(0.1, "-p")
    b.maybe(0.2, "-q")
    b.maybe(0.05, "-U")
    b.object_option()
    b.args = [b.image_arg(s) for s in sources] + [target]


def command_create(b):
    rng = b.rng
    fmt = rng.choice(b.formats) if b.chance(0.95) else rng.choice(BAD_FORMATS)
    if b.chance(0.9) or fmt != "raw":
        b.add("-f", fmt)
    if b.chance(0.35):
        b.add("-o", ",".join(b.create_options_for(fmt)))
    size = b.size_value()
    backing = None
    if fmt == "qcow2" and b.chance(0.25):
        backing = rng.choice(b.world.images() + ["nosuch.img"])
        b.add("-b", backing)
        if b.chance(0.7):
            b.add("-B", b.fmt_of(backing) if b.chance(0.85) else rng.choice(b.formats))
        b.maybe(0.3, "-u")
    b.maybe(0.3, "-q")
    b.object_option()
    target = rng.choice(["new.img", "new.qcow2", "a." + fmt, "sub/new.img"]) if b.chance(0.95) else \
        rng.choice(b.world.images())
    b.args = [target] if backing and b.chance(0.5) else [target, size]


def command_dd(b):
    rng = b.rng
    src = b.pick_image()
    b.format_option("-f", src, 0.6)
    if b.chance(0.7):
        b.add("-O", rng.choice(b.formats) if b.chance(0.95) else "bogus")
    b.maybe(0.05, "-U")
    b.object_option()
    args = [f"if={b.image_arg(src)}", f"of={rng.choice(['out.img', 'dd.qcow2'])}"]
    if b.chance(0.6):
        args.append("bs=" + b.size_value(rng.choice([512, 4096, 65536, 1 * MIB])))
    if b.chance(0.4):
        args.append("count=" + str(rng.choice([0, 1, 3, 100, -1])))
    if b.chance(0.1):
        args.append("skip=" + str(rng.choice([0, 1, 7])))
    if b.chance(0.03):
        args.append(rng.choice(["bogus=1", "if=", "conv=notrunc"]))
    rng.shuffle(args)
    b.args = args


def command_info(b):
    img = b.pick_image()
    b.format_option("-f", img)
    b.maybe(0.25, "--backing-chain")
    b.maybe(0.5, "--output", b.rng.choice(["human", "json", "json", "xml"]))
    b.maybe(0.05, "--limits")
    b.cache_option("-t", 0.05)
    b.maybe(0.1, "-U")
    b.object_option()
    b.args = [b.image_arg(img)]


def command_map(b):
    img = b.pick_image()
    b.format_option("-f", img)
    b.maybe(0.5, "--output", b.rng.choice(["human", "json", "json", "bogus"]))
    b.maybe(0.15, "-s", b.size_value(b.rng.choice([0, 512, 65536, 1 * MIB])))
    b.maybe(0.15, "-l", b.size_value(b.rng.choice([0, 512, 65536, 1 * MIB])))
    b.maybe(0.1, "-U")
    b.object_option()
    b.args = [b.image_arg(img)]


def command_measure(b):
    rng = b.rng
    target_fmt = rng.choice(b.formats)
    if b.chance(0.9):
        b.add("-O", target_fmt if b.chance(0.95) else rng.choice(BAD_FORMATS))
    if b.chance(0.3):
        b.add(rng.choice(["--size", "-s"]), b.size_value())
        if b.chance(0.1):
            b.args = [b.pick_image()]
    else:
        img = b.pick_image()
        b.format_option("-f", img, 0.5)
        info = b.world.files.get(img, {})
        if info.get("snapshots") and b.chance(0.4):
            snap = b.snapshot_name(img)
            b.add("-l", rng.choice([snap, f"snapshot.name={snap}", "snapshot.id=1", "snapshot.id=9"]))
        b.args = [b.image_arg(img)]
    if b.chance(0.3):
        b.add("-o", ",".join(b.create_options_for(target_fmt)))
    b.maybe(0.5, "--output", rng.choice(["human", "json", "bogus"]))
    b.maybe(0.05, "-U")
    b.object_option()


def command_rebase(b):
    rng = b.rng
    tops = [n for n in b.world.images("qcow2")]
    img = rng.choice(tops) if tops and b.chance(0.9) else b.pick_image()
    b.format_option("-f", img)
    if b.chance(0.92):
        new = rng.choice(b.world.images() + [""]) if b.chance(0.9) else "nosuch.img"
        b.add("-b", new)
        if new and b.chance(0.6):
            b.add("-B", b.fmt_of(new) if b.chance(0.9) else "raw")
    b.maybe(0.3, "-u")
    b.cache_option("-t")
    b.cache_option("-T")
    b.maybe(0.1, "-c")
    b.maybe(0.15, "-p")
    b.maybe(0.2, "-q")
    b.object_option()
    b.args = [b.image_arg(img)]
    b.read_write = True


def command_resize(b):
    rng = b.rng
    img = b.pick_image()
    b.format_option("-f", img)
    size = b.world.files.get(img, {}).get("size", 1 * MIB)
    r = rng.random()
    if r < 0.4:
        new = size_text(rng, size + rng.choice([512, 4096, 65536, 1 * MIB, 3 * MIB]))
    elif r < 0.6:
        new = "+" + size_text(rng, rng.choice([512, 65536, 1 * MIB]))
    elif r < 0.8:
        new = "-" + size_text(rng, rng.choice([512, 65536, 524288]))
        b.maybe(0.6, "--shrink")
    else:
        new = b.size_value(max(512, size // 2))
        b.maybe(0.5, "--shrink")
    if b.chance(0.2):
        b.add("--preallocation=" + rng.choice(["off", "metadata", "falloc", "full", "bogus"]))
    b.maybe(0.2, "-q")
    b.object_option()
    if new.startswith("-") and b.chance(0.5):
        b.args = [b.image_arg(img), "--", new]
    else:
        b.args = [b.image_arg(img), new]
    b.read_write = True


def command_snapshot(b):
    rng = b.rng
    img = b.pick_image("qcow2" if b.chance(0.85) else None)
    b.format_option("-f", img)
    action = rng.choice(["-l", "-c", "-a", "-d", "-l", "-c"])
    if action == "-l":
        b.add("-l")
    elif action == "-c":
        b.add("-c", rng.choice(["new", "snap1", "n 2", "x" * 200]) if b.chance(0.9) else b.snapshot_name(img))
        b.read_write = True
    else:
        b.add(action, b.snapshot_name(img))
        b.read_write = True
    if b.chance(0.05):
        b.add(rng.choice(["-l", "-c", "-d"]), "x")
    b.maybe(0.05, "-U")
    b.maybe(0.2, "-q")
    b.object_option()
    b.args = [b.image_arg(img)]


COMMAND_BUILDERS = {name: globals()["command_" + name] for name in COMMANDS}


def pick_command(rng):
    names = list(COMMAND_WEIGHTS)
    return rng.choices(names, weights=[COMMAND_WEIGHTS[n] for n in names])[0]


def make_case(seed, index, formats, command=None):
    """The case (seed, index): {"seed", "index", "setup": [argv...], "files": {...}, "argv": [...],
    "command": name}.  command forces which command is drawn (the world is the same either way)."""
    rng = random.Random(f"difftest:{seed}:{index}")
    world = build_world(rng, formats)
    name = command or pick_command(rng)
    builder = CommandBuilder(rng, world, formats)
    if rng.random() < 0.012:
        argv = [name, "--help"]
    else:
        COMMAND_BUILDERS[name](builder)
        argv = builder.finish(name)
    return {"seed": seed, "index": index, "setup": world.setup, "files": world.files, "argv": argv,
            "command": name, "format": world.files[next(iter(world.files))]["format"]}
