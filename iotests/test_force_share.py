# iotests/test_force_share.py — -U / force-share=on refused on every read-write open, generic node options of --image-opts (spec/architecture.md §Opening images, §Tests).
# Expected texts were recorded from qemu-img 10.2.2.
import pytest

RO = "force-share=on can only be used with read-only images"


def make_images(qimg):
    qimg.ok("create", "-q", "-f", "qcow2", "a.qcow2", "1M")
    qimg.ok("create", "-q", "-f", "qcow2", "-b", "a.qcow2", "-F", "qcow2", "b.qcow2")
    qimg.ok("create", "-q", "-f", "raw", "r.raw", "1M")
    qimg.ok("snapshot", "-c", "s1", "a.qcow2")
    return {name: qimg.read(name) for name in ("a.qcow2", "b.qcow2", "r.raw")}


@pytest.mark.parametrize("args, name", [
    (["snapshot", "-U", "-c", "s2", "a.qcow2"], "a.qcow2"),
    (["snapshot", "-U", "-a", "s1", "a.qcow2"], "a.qcow2"),
    (["snapshot", "-U", "-d", "s1", "a.qcow2"], "a.qcow2"),
    (["snapshot", "-U", "-c", "s2", "r.raw"], "r.raw"),
    (["snapshot", "-U", "-f", "raw", "-c", "s", "a.qcow2"], "a.qcow2"),
    (["snapshot", "-U", "-c", "s", "nonexist"], "nonexist"),
    (["check", "-U", "-r", "all", "a.qcow2"], "a.qcow2"),
    (["check", "-U", "-r", "leaks", "-f", "qcow2", "a.qcow2"], "a.qcow2"),
    (["check", "-U", "-r", "all", "r.raw"], "r.raw"),
    (["bench", "-U", "-w", "-c", "1", "a.qcow2"], "a.qcow2"),
])
def test_force_share_flag_on_write(qimg, args, name):
    before = make_images(qimg)
    p = qimg.run(*args)
    assert (p.returncode, p.stdout, p.stderr) == (1, "", f"qemu-img: Could not open '{name}': {RO}\n")
    assert {n: qimg.read(n) for n in before} == before


A = "driver=qcow2,force-share=on,file.filename=a.qcow2"
B = "driver=qcow2,force-share=on,file.filename=b.qcow2"
J = 'json:{"driver":"qcow2","force-share":true,"file":{"driver":"file","filename":"a.qcow2"}}'


@pytest.mark.parametrize("args, name", [
    (["commit", "--image-opts", B], B),
    (["resize", "--image-opts", A, "2M"], A),
    (["bitmap", "--add", "--image-opts", A, "bm"], A),
    (["rebase", "-u", "-b", "", "--image-opts", B], B),
    (["rebase", "-b", "", "--image-opts", B], B),
    (["snapshot", "-c", "s2", J], J),
    (["resize", J, "2M"], J),
    (["convert", "-n", "-O", "qcow2", "r.raw", J], J),
    (["convert", "-n", "--target-image-opts", "r.raw", A], A),
    (["check", "-r", "all", "--image-opts", A], A),
    (["amend", "-o", "compat=0.10", "--image-opts", A], A),
    (["snapshot", "-c", "s", "--image-opts", "driver=qcow2,file.force-share=on,file.filename=a.qcow2"],
     "driver=qcow2,file.force-share=on,file.filename=a.qcow2"),
    (["snapshot", "-c", "s", "--image-opts", "driver=qcow2,force-share=on,file.force-share=off,file.filename=a.qcow2"],
     "driver=qcow2,force-share=on,file.force-share=off,file.filename=a.qcow2"),
    pytest.param(["snapshot", "-c", "s", "--image-opts", "driver=qcow2,force-share=bogus,file.force-share=on,file.filename=a.qcow2"],
                 "driver=qcow2,force-share=bogus,file.force-share=on,file.filename=a.qcow2", marks=pytest.mark.xfail(strict=True, reason="qemu option order on write opens: not merged yet")),
    (["snapshot", "-c", "s", "--image-opts", "driver=qcow2,force-share=on"], "driver=qcow2,force-share=on"),
    (["snapshot", "-c", "s", "--image-opts", "driver=qcow2,force-share=on,file.filename=a.qcow2,bogus=1"],
     "driver=qcow2,force-share=on,file.filename=a.qcow2,bogus=1"),
    (["snapshot", "-c", "s", "--image-opts", "driver=file,force-share=on,filename=r.raw"],
     "driver=file,force-share=on,filename=r.raw"),
    (["snapshot", "-c", "s", "--image-opts", "force-share=on,file.filename=r.raw"], "force-share=on,file.filename=r.raw"),
    (["snapshot", "-c", "s", "-U", "--image-opts", "driver=qcow2,file.force-share=off,file.filename=a.qcow2"],
     "driver=qcow2,file.force-share=off,file.filename=a.qcow2"),
    (["info", "--image-opts", "driver=qcow2,file.filename=a.qcow2,read-only=off,force-share=on"],
     "driver=qcow2,file.filename=a.qcow2,read-only=off,force-share=on"),
])
def test_force_share_option_on_write(qimg, args, name):
    before = make_images(qimg)
    p = qimg.run(*args)
    assert (p.returncode, p.stdout, p.stderr) == (1, "", f"qemu-img: Could not open '{name}': {RO}\n")
    assert {n: qimg.read(n) for n in before} == before


@pytest.mark.parametrize("args", [
    ["commit", "-U", "b.qcow2"],
    ["resize", "-U", "a.qcow2", "2M"],
    ["bitmap", "-U", "--add", "a.qcow2", "bm"],
    ["amend", "-U", "-o", "compat=0.10", "a.qcow2"],
])
def test_commands_without_force_share(qimg, args):
    before = make_images(qimg)
    p = qimg.run(*args)
    assert (p.returncode, p.stderr) == (
        1, f"qemu-img {args[0]}: invalid option -- 'U'\nTry 'qemu-img {args[0]} --help' for more information\n")
    assert {n: qimg.read(n) for n in before} == before


def test_force_share_read_only_commands(qimg):
    make_images(qimg)
    qimg.ok("snapshot", "-U", "-l", "a.qcow2")
    qimg.ok("check", "-U", "a.qcow2")
    qimg.ok("map", "-U", "a.qcow2")
    qimg.ok("info", "--image-opts", "driver=qcow2,file.filename=a.qcow2,force-share=on,file.force-share=off")
    # rebase -U shares only the backing images; convert -U only the sources.
    qimg.ok("rebase", "-U", "-u", "-b", "", "b.qcow2")
    p = qimg.run("convert", "-U", "-n", "-O", "raw", "r.raw", "r.raw", check=0)
    assert p.stderr == ""


@pytest.mark.parametrize("value", ["off", "bogus", "true", "yes", "1"])
def test_force_share_flag_conflicts_with_image_opts(qimg, value):
    make_images(qimg)
    p = qimg.run("info", "-U", "--image-opts", f"driver=qcow2,force-share={value},file.filename=a.qcow2")
    assert (p.returncode, p.stdout, p.stderr) == (1, "", "qemu-img: --force-share/-U conflicts with image options\n")
    qimg.ok("info", "-U", "--image-opts", "driver=qcow2,force-share=on,file.filename=a.qcow2")


@pytest.mark.parametrize("options, message", [
    ("driver=qcow2,force-share=on,read-only=on,file.filename=a.qcow2", "Block node is read-only"),
    ("driver=qcow2,file.read-only=on,file.force-share=on,file.filename=a.qcow2", "Block node is read-only"),
    ("driver=qcow2,file.filename=a.qcow2,file.read-only=on,bogus=1", "Block node is read-only"),
    pytest.param("driver=qcow2,file.filename=a.qcow2,read-only=on,bogus=1", "Block format 'qcow2' does not support the option 'bogus'", marks=pytest.mark.xfail(strict=True, reason="qemu option order on write opens: not merged yet")),
    pytest.param("driver=qcow2,file.filename=nonexist,read-only=on", "Could not open 'nonexist': No such file or directory", marks=pytest.mark.xfail(strict=True, reason="qemu option order on write opens: not merged yet")),
    ("driver=qcow2,read-only=bogus,file.filename=a.qcow2", "Parameter 'read-only' expects 'on' or 'off'"),
    pytest.param("driver=qcow2,file.filename=a.qcow2,force-share=on,file.read-only=bogus", "Parameter 'read-only' expects 'on' or 'off'", marks=pytest.mark.xfail(strict=True, reason="qemu option order on write opens: not merged yet")),
    pytest.param("driver=qcow2,file.filename=a.qcow2,force-share=on,file.force-share=bogus", "Parameter 'force-share' expects 'on' or 'off'", marks=pytest.mark.xfail(strict=True, reason="qemu option order on write opens: not merged yet")),
    ("driver=qcow2,file.filename=a.qcow2,read-only=on,force-share=bogus", "Parameter 'force-share' expects 'on' or 'off'"),
    ("driver=qcow2,force-share=bogus", "Parameter 'force-share' expects 'on' or 'off'"),
    ("driver=qcow2,force-share=on,file.filename=a.qcow2,cache.direct=bogus", "Parameter 'cache.direct' expects 'on' or 'off'"),
    pytest.param("driver=bogus,force-share=bogus,file.filename=a.qcow2", "Unknown driver 'bogus'", marks=pytest.mark.xfail(strict=True, reason="qemu option order on write opens: not merged yet")),
    pytest.param("driver=bogus,file.filename=a.qcow2,cache.direct=bogus", "Unknown driver 'bogus'", marks=pytest.mark.xfail(strict=True, reason="qemu option order on write opens: not merged yet")),
    ("driver=qcow2", 'A block device must be specified for "file"'),
    pytest.param("driver=qcow2,file.read-only=bogus", "Must specify either driver or file", marks=pytest.mark.xfail(strict=True, reason="qemu option order on write opens: not merged yet")),
])
def test_write_open_option_order(qimg, options, message):
    before = make_images(qimg)
    p = qimg.run("snapshot", "-c", "s", "--image-opts", options)
    assert (p.returncode, p.stdout, p.stderr) == (1, "", f"qemu-img: Could not open '{options}': {message}\n")
    assert {n: qimg.read(n) for n in before} == before


@pytest.mark.parametrize("options, message", [
    ("driver=qcow2,file.filename=a.qcow2,detect-zeroes=bogus", "invalid parameter value: bogus"),
    ("driver=qcow2,file.filename=a.qcow2,detect-zeroes=unmap",
     "setting detect-zeroes to unmap is not allowed without setting discard operation to unmap"),
    ("driver=qcow2,file.filename=a.qcow2,node-name=1x", "Invalid node-name: '1x'"),
    ("driver=qcow2,file.filename=a.qcow2,auto-read-only=bogus", "Parameter 'auto-read-only' expects 'on' or 'off'"),
    ("driver=qcow2,file.filename=a.qcow2,discard=bogus", "Invalid discard option"),
    ("driver=qcow2,file.filename=a.qcow2,file.aio-max-batch=x", "Parameter 'aio-max-batch' expects a number"),
    ("driver=qcow2,file.filename=a.qcow2,file.drop-cache=x", "Parameter 'drop-cache' expects 'on' or 'off'"),
    ("driver=qcow2,file.filename=a.qcow2,file.pr-manager=x", "No persistent reservation manager with id 'x'"),
    ("driver=qcow2,file.filename=a.qcow2,file.aio=io_uring", "invalid parameter value: io_uring"),
    ("driver=qcow2,file.filename=a.qcow2,file.locking=bogus", "invalid parameter value: bogus"),
    ("driver=qcow2,file.filename=a.qcow2,file.aio=native",
     "aio=native was specified, but it requires cache.direct=on, which was not specified."),
    ("driver=qcow2,file.filename=a.qcow2,file.bogus=1", "Block protocol 'file' doesn't support the option 'bogus'"),
    ("driver=file,filename=r.raw,bogus=1", "Block protocol 'file' doesn't support the option 'bogus'"),
    ("driver=qcow2,file.filename=nonexist,file.bogus=1", "Could not open 'nonexist': No such file or directory"),
    ("driver=qcow2,file.driver=file", "The 'file' block driver requires a file name"),
    ("driver=file", "The 'file' block driver requires a file name"),
    ("driver=file,filename=nonexist,read-only=on,force-share=bogus", "Parameter 'force-share' expects 'on' or 'off'"),
    pytest.param("file.filename=a.qcow2,file.read-only=on,read-only=off", "Block node is read-only", marks=pytest.mark.xfail(strict=True, reason="qemu option order on write opens: not merged yet")),
    ("driver=qcow2,file.filename=a.qcow2,file.force-share=on,file.read-only=off", RO),
])
def test_info_node_options(qimg, options, message):
    make_images(qimg)
    p = qimg.run("info", "--image-opts", options)
    assert (p.returncode, p.stdout, p.stderr) == (1, "", f"qemu-img: Could not open '{options}': {message}\n")


@pytest.mark.parametrize("option", ["node-name=x", "file.node-name=x", "file.discard=unmap", "file.locking=off",
                                    "file.aio=native,cache.direct=on", "file.read-only=off",
                                    "discard=unmap,detect-zeroes=unmap"])
def test_info_accepts_node_options(qimg, option):
    make_images(qimg)
    p = qimg.ok("info", "--image-opts", f"driver=qcow2,file.filename=a.qcow2,{option}")
    assert p.stdout.startswith("image: a.qcow2\nfile format: qcow2\n")


@pytest.mark.xfail(strict=True, reason="read-only=off on info: not merged yet")
def test_read_only_off_opens_for_writing(qimg):
    # read-only=off makes info open the probed raw image read-write, so qemu warns about probing.
    make_images(qimg)
    p = qimg.ok("info", "--image-opts", "file.filename=r.raw,read-only=off")
    assert p.stderr == (
        "WARNING: Image format was not specified for 'r.raw' and probing guessed raw.\n"
        "         Automatically detecting the format is dangerous for raw images, write operations on block 0 will be restricted.\n"
        "         Specify the 'raw' format explicitly to remove the restrictions.\n")
