# iotests/test_cli.py — the command line: every command's --help, unknown commands and options (spec/architecture.md §Command line, §Tests).
import pytest

COMMANDS = ["amend", "bench", "bitmap", "check", "commit", "compare", "convert", "create", "dd", "info", "map",
            "measure", "rebase", "resize", "snapshot"]


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help(qimg, command):
    for flag in ("--help", "-h"):
        p = qimg.run(command, flag, check=0)
        assert p.stdout.startswith(f"Usage:\n  qemu-img {command} "), p.stdout[:200]
        assert "\nArguments:\n" in p.stdout
        assert p.stderr == ""


def test_global_help(qimg):
    p = qimg.run("--help", check=0)
    assert "Usage:" in p.stdout or "usage:" in p.stdout
    for command in COMMANDS:
        assert command in p.stdout


def test_resize_alone_needs_arguments(qimg):
    # 10.2 reads resize's options as every other command does (7.2 said "Not enough arguments").
    p = qimg.run("resize", check=1)
    assert p.stderr == "qemu-img: Expecting image file name and size\nTry 'qemu-img resize --help' for more information\n"


def test_unknown_command(qimg):
    p = qimg.run("frobnicate", check=1)
    assert p.stdout == ""
    assert p.stderr == "qemu-img: Command not found: frobnicate\nTry 'qemu-img --help' for more information\n"


def test_no_command(qimg):
    p = qimg.run()
    assert p.returncode == 1
    assert p.stderr.startswith("qemu-img: ")


def test_unknown_long_option(qimg):
    p = qimg.run("info", "--bogus", "x", check=1)
    assert p.stderr == "qemu-img info: unrecognized option '--bogus'\nTry 'qemu-img info --help' for more information\n"


def test_unknown_short_option(qimg):
    p = qimg.run("create", "-Z", "x", "1M", check=1)
    assert p.stderr == "qemu-img create: invalid option -- 'Z'\nTry 'qemu-img create --help' for more information\n"


def test_bad_object(qimg):
    qimg.write("t.img", 0, bytes(4096))
    p = qimg.run("info", "--object", "bogus,id=x", "t.img", check=1)
    assert p.stderr == "qemu-img: Parameter 'qom-type' does not accept value 'bogus'\n"


def test_measure_raw(qimg):
    p = qimg.ok("measure", "-O", "raw", "--size", "1G")
    assert p.stdout == "required size: 1073741824\nfully allocated size: 1073741824\n"
    p = qimg.ok("measure", "--output=json", "-O", "raw", "--size", "16T")
    assert p.stdout == '{\n    "required": 17592186044416,\n    "fully-allocated": 17592186044416\n}\n'
