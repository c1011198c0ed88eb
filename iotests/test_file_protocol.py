# iotests/test_file_protocol.py — the file and host_device protocols, the raw format and `info --limits` against
# qemu-img 10.2.2: opening directories, devices, empty and protocol-prefixed names, json: syntax errors, the
# protocol's runtime options and every node's generic options (in qemu's order of checks), creation errors
# (EFBIG wording, extent size hints, preallocation), raw windows, block limits and lock bytes (spec/architecture.md §Tests,
# §Opening images). Every expected stdout, stderr and exit code below was produced by the 10.2.2 binary.
import fcntl
import os
import stat
import struct

import pytest

F_OFD_SETLK = 37  # Linux: an open-file-description lock, the kind qemu takes


def setup_files(qimg, steps):
    """Builds the files a case starts from: r.img (raw 1M), q.img (qcow2 1M), ov.img (qcow2 over raw r.img),
    d (a folder), e.img (empty), one.raw (one byte); "data" puts 8 bytes at 4096 of r.img."""
    for step in steps:
        if step == "d":
            os.mkdir(qimg.path("d"))
        elif step == "e":
            open(qimg.path("e.img"), "wb").close()
        elif step == "one":
            qimg.write("one.raw", 0, b"x")
        elif step == "data":
            qimg.write("r.img", 4096, b"abcdefgh")
        elif step == "r":
            qimg.ok("create", "-q", "-f", "raw", "r.img", "1M")
        elif step == "q":
            qimg.ok("create", "-q", "-f", "qcow2", "q.img", "1M")
        elif step == "ov":
            qimg.ok("create", "-q", "-f", "raw", "r.img", "1M")
            qimg.ok("create", "-q", "-f", "qcow2", "-b", "r.img", "-F", "raw", "ov.img")
        elif step == "oq":
            qimg.ok("create", "-q", "-f", "qcow2", "mid.qcow2", "1M")
            qimg.ok("create", "-q", "-f", "qcow2", "-b", "mid.qcow2", "-F", "qcow2", "top.qcow2")


def hold_lock_bytes(path, byte_numbers):
    """Read-locks the given bytes of path as another qemu process would; returns the descriptor."""
    fd = os.open(path, os.O_RDWR)
    for byte in byte_numbers:
        fcntl.fcntl(fd, F_OFD_SETLK, struct.pack("hhxxxxqqixxxx", fcntl.F_RDLCK, 0, byte, 1, 0))
    return fd


def run_case(qimg, setup, args, lock, rc, stdout, stderr):
    setup_files(qimg, setup)
    fd = hold_lock_bytes(qimg.path(lock[0]), lock[1]) if lock else None
    try:
        p = qimg.run(*args)
    finally:
        if fd is not None:
            os.close(fd)
    assert (p.returncode, p.stdout, p.stderr) == (rc, stdout, stderr), f"qemu-img {args}"
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode), "/dev/null must survive every case"


def case_id(case):
    return " ".join(case[1])[:80]


# Opening: folders, missing and empty names, protocol prefixes, json: syntax errors.
OPEN_CASES = [
    (['d'], ['info', 'd'], None, 1, '', "qemu-img: Could not open 'd': 'file' driver requires 'd' to be a regular file\n"),
    (['d'], ['info', '-f', 'raw', 'd'], None, 1, '', "qemu-img: Could not open 'd': 'file' driver requires 'd' to be a regular file\n"),
    (['d'], ['check', 'd'], None, 1, '', "qemu-img: Could not open 'd': 'file' driver requires 'd' to be a regular file\n"),
    (['d'], ['check', '-f', 'raw', 'd'], None, 1, '', "qemu-img: Could not open 'd': 'file' driver requires 'd' to be a regular file\n"),
    (['d', 'r'], ['convert', 'd', 'out.img'], None, 1, '', "qemu-img: Could not open 'd': 'file' driver requires 'd' to be a regular file\n"),
    (['d', 'r'], ['convert', '-O', 'raw', 'r.img', 'd'], None, 1, '', "qemu-img: d: error while converting raw: Could not create 'd': Is a directory\n"),
    (['d'], ['create', '-f', 'qcow2', 'd', '1M'], None, 1, "Formatting 'd', fmt=qcow2 cluster_size=65536 extended_l2=off compression_type=zlib size=1048576 lazy_refcounts=off refcount_bits=16\n", "qemu-img: d: Could not create 'd': Is a directory\n"),
    (['d'], ['info', 'd/'], None, 1, '', "qemu-img: Could not open 'd/': 'file' driver requires 'd/' to be a regular file\n"),
    (['r'], ['info', 'r.img/'], None, 1, '', "qemu-img: Could not open 'r.img/': Could not open 'r.img/': Not a directory\n"),
    ([], ['info', 'nonexist'], None, 1, '', "qemu-img: Could not open 'nonexist': Could not open 'nonexist': No such file or directory\n"),
    (['d'], ['info', '--image-opts', 'driver=file,filename=d'], None, 1, '', "qemu-img: Could not open 'driver=file,filename=d': 'file' driver requires 'd' to be a regular file\n"),
    ([], ['info', ''], None, 1, '', "qemu-img: Could not open '': The 'file' block driver requires a file name\n"),
    ([], ['info', '-f', 'raw', ''], None, 1, '', "qemu-img: Could not open '': The 'file' block driver requires a file name\n"),
    ([], ['info', '--image-opts', 'driver=file'], None, 1, '', "qemu-img: Could not open 'driver=file': The 'file' block driver requires a file name\n"),
    ([], ['info', '--image-opts', 'driver=file,filename='], None, 1, '', "qemu-img: Could not open 'driver=file,filename=': The 'file' block driver requires a file name\n"),
    ([], ['info', '--image-opts', 'driver=raw'], None, 1, '', 'qemu-img: Could not open \'driver=raw\': A block device must be specified for "file"\n'),
    ([], ['create', '', '1M'], None, 1, "Formatting '', fmt=raw size=1048576\n", "qemu-img: : Could not create '': No such file or directory\n"),
    (['r'], ['info', 'file:r.img'], None, 0, "image: r.img\nfile format: raw\nvirtual size: 1 MiB (1048576 bytes)\ndisk size: 4 KiB\nChild node '/file':\n    filename: r.img\n    protocol type: file\n    file length: 1 MiB (1048576 bytes)\n    disk size: 4 KiB\n", ''),
    (['r'], ['info', '-f', 'file', 'file:r.img'], None, 0, 'image: r.img\nfile format: file\nvirtual size: 1 MiB (1048576 bytes)\ndisk size: 4 KiB\n', ''),
    (['d'], ['info', 'file:d'], None, 1, '', "qemu-img: Could not open 'file:d': 'file' driver requires 'd' to be a regular file\n"),
    ([], ['info', 'file:'], None, 1, '', "qemu-img: Could not open 'file:': The 'file' block driver requires a file name\n"),
    (['r'], ['info', 'file:file:r.img'], None, 1, '', "qemu-img: Could not open 'file:file:r.img': Could not open './file:r.img': No such file or directory\n"),
    ([], ['info', 'foo:bar'], None, 1, '', "qemu-img: Could not open 'foo:bar': Unknown protocol 'foo'\n"),
    ([], ['info', './foo:bar'], None, 1, '', "qemu-img: Could not open './foo:bar': Could not open './foo:bar': No such file or directory\n"),
    ([], ['info', 'ftp://x'], None, 1, '', "qemu-img: Could not open 'ftp://x': Unknown protocol 'ftp'\n"),
    (['r'], ['info', 'FILE:r.img'], None, 1, '', "qemu-img: Could not open 'FILE:r.img': Unknown protocol 'FILE'\n"),
    ([], ['info', '-f', 'bogus', 'foo:bar'], None, 1, '', "qemu-img: Could not open 'foo:bar': Unknown driver 'bogus'\n"),
    ([], ['create', 'foo:bar', '1M'], None, 1, '', "qemu-img: foo:bar: Unknown protocol 'foo'\n"),
    ([], ['create', 'file:nonexistdir/x', '1M'], None, 1, "Formatting 'file:nonexistdir/x', fmt=raw size=1048576\n", "qemu-img: file:nonexistdir/x: Could not create 'nonexistdir/x': No such file or directory\n"),
    (['r'], ['info', '--image-opts', 'driver=raw,file.filename=file:r.img'], None, 1, '', "qemu-img: Could not open 'driver=raw,file.filename=file:r.img': Could not open 'file:r.img': No such file or directory\n"),
    (['r'], ['info', '-f', 'file', 'r.img'], None, 0, 'image: r.img\nfile format: file\nvirtual size: 1 MiB (1048576 bytes)\ndisk size: 4 KiB\n', ''),
    (['r'], ['info', '--output=json', '-f', 'file', 'r.img'], None, 0, '{\n    "children": [\n    ],\n    "virtual-size": 1048576,\n    "filename": "r.img",\n    "format": "file",\n    "actual-size": 4096,\n    "format-specific": {\n        "type": "file",\n        "data": {\n        }\n    },\n    "dirty-flag": false\n}\n', ''),
    (['q'], ['info', '--image-opts', 'driver=file,filename=q.img'], None, 0, 'image: q.img\nfile format: file\nvirtual size: 192 KiB (197120 bytes)\ndisk size: 196 KiB\n', ''),
    ([], ['info', 'json:{'], None, 1, '', "qemu-img: Could not open 'json:{': Could not parse the JSON options: JSON parse error, premature EOI\n"),
    ([], ['info', 'json:{}'], None, 1, '', "qemu-img: Could not open 'json:{}': Must specify either driver or file\n"),
    ([], ['info', 'json:[]'], None, 1, '', "qemu-img: Could not open 'json:[]': Invalid JSON object given\n"),
    ([], ['info', 'json:'], None, 1, '', "qemu-img: Could not open 'json:': Could not parse the JSON options: Expecting a JSON value\n"),
    ([], ['info', 'json:{"a":1}}'], None, 1, '', 'qemu-img: Could not open \'json:{"a":1}}\': Could not parse the JSON options: Expecting at most one JSON value\n'),
    ([], ['info', 'json:{a:1}'], None, 1, '', "qemu-img: Could not open 'json:{a:1}': Could not parse the JSON options: JSON parse error, invalid keyword 'a'\n"),
    ([], ['info', 'json:{"a":1,}'], None, 1, '', 'qemu-img: Could not open \'json:{"a":1,}\': Could not parse the JSON options: JSON parse error, expecting value\n'),
    ([], ['info', 'json:{"a":[1,2}'], None, 1, '', 'qemu-img: Could not open \'json:{"a":[1,2}\': Could not parse the JSON options: JSON parse error, expected separator in list\n'),
    ([], ['info', 'json:{"a":1]'], None, 1, '', 'qemu-img: Could not open \'json:{"a":1]\': Could not parse the JSON options: JSON parse error, expected separator in dict\n'),
    ([], ['info', 'json:{"a":"x}'], None, 1, '', 'qemu-img: Could not open \'json:{"a":"x}\': Could not parse the JSON options: JSON parse error, stray \'"x}\'\n'),
    ([], ['info', 'json:{"a":1.5.3}'], None, 1, '', 'qemu-img: Could not open \'json:{"a":1.5.3}\': Could not parse the JSON options: JSON parse error, stray \'.\'\n'),
    ([], ['info', 'json:{"a":01}'], None, 1, '', 'qemu-img: Could not open \'json:{"a":01}\': Could not parse the JSON options: JSON parse error, stray \'01\'\n'),
    ([], ['info', 'json:{"a":"\\u00zz"}'], None, 1, '', 'qemu-img: Could not open \'json:{"a":"\\u00zz"}\': Could not parse the JSON options: JSON parse error, \\u00zz is not a valid Unicode character\n'),
    ([], ['info', 'json:{"a":1,"a":2}'], None, 1, '', 'qemu-img: Could not open \'json:{"a":1,"a":2}\': Could not parse the JSON options: JSON parse error, duplicate key\n'),
    ([], ['info', 'json:{"a":@}'], None, 1, '', 'qemu-img: Could not open \'json:{"a":@}\': Could not parse the JSON options: JSON parse error, stray \'@\'\n'),
    ([], ['info', 'json:{"a":tru}'], None, 1, '', 'qemu-img: Could not open \'json:{"a":tru}\': Could not parse the JSON options: JSON parse error, invalid keyword \'tru\'\n'),
    (['r'], ['info', 'json:{"filename":"r.img"}'], None, 1, '', 'qemu-img: Could not open \'json:{"filename":"r.img"}\': Must specify either driver or file\n'),
    (['r'], ['info', 'json:{"file":"r.img"}'], None, 1, '', 'qemu-img: Could not open \'json:{"file":"r.img"}\': Cannot find device=\'r.img\' nor node-name=\'r.img\'\n'),
    (['r'], ['info', '--image-opts', 'filename=r.img'], None, 1, '', "qemu-img: Could not open 'filename=r.img': Must specify either driver or file\n"),
]

# Character devices open with host_device: its create, resize and O_DIRECT errors.
DEVICE_CASES = [
    ([], ['info', '/dev/null'], None, 0, "image: /dev/null\nfile format: raw\nvirtual size: 0 B (0 bytes)\ndisk size: 0 B\nChild node '/file':\n    filename: /dev/null\n    protocol type: host_device\n    file length: 0 B (0 bytes)\n    disk size: 0 B\n", ''),
    ([], ['info', '-f', 'raw', '/dev/zero'], None, 0, "image: /dev/zero\nfile format: raw\nvirtual size: 0 B (0 bytes)\ndisk size: 0 B\nChild node '/file':\n    filename: /dev/zero\n    protocol type: host_device\n    file length: 0 B (0 bytes)\n    disk size: 0 B\n", ''),
    ([], ['info', '--image-opts', 'driver=file,filename=/dev/null'], None, 1, '', "qemu-img: Could not open 'driver=file,filename=/dev/null': 'file' driver requires '/dev/null' to be a regular file\n"),
    ([], ['info', '--image-opts', 'driver=host_device,filename=/dev/null'], None, 0, 'image: /dev/null\nfile format: host_device\nvirtual size: 0 B (0 bytes)\ndisk size: 0 B\n', ''),
    ([], ['info', 'file:/dev/null'], None, 1, '', "qemu-img: Could not open 'file:/dev/null': 'file' driver requires '/dev/null' to be a regular file\n"),
    (['r'], ['info', '-f', 'raw', 'host_device:r.img'], None, 1, '', "qemu-img: Could not open 'host_device:r.img': 'host_device' driver requires 'r.img' to be either a character or block device\n"),
    ([], ['info', '-t', 'none', '/dev/null'], None, 1, '', "qemu-img: Could not open '/dev/null': Could not open '/dev/null': filesystem does not support O_DIRECT\n"),
    ([], ['check', '/dev/null'], None, 63, '', 'qemu-img: This image format does not support checks\n'),
    (['e'], ['convert', '-O', 'raw', 'e.img', '/dev/null'], None, 0, '', ''),
    (['r'], ['convert', '-O', 'raw', 'r.img', '/dev/null'], None, 1, '', 'qemu-img: /dev/null: error while converting raw: Cannot grow device files\n'),
    (['r'], ['convert', '-O', 'raw', '-o', 'preallocation=full', 'r.img', '/dev/null'], None, 1, '', "qemu-img: /dev/null: error while converting raw: Unsupported preallocation mode 'full'\n"),
    (['e'], ['convert', '-O', 'qcow2', 'e.img', '/dev/null'], None, 1, '', 'qemu-img: /dev/null: error while converting qcow2: Image is not in qcow2 format\n'),
    ([], ['create', '/dev/null', '1M'], None, 1, "Formatting '/dev/null', fmt=raw size=1048576\n", 'qemu-img: /dev/null: Cannot grow device files\n'),
    ([], ['create', '-f', 'qcow2', '/dev/null', '1M'], None, 1, "Formatting '/dev/null', fmt=qcow2 cluster_size=65536 extended_l2=off compression_type=zlib size=1048576 lazy_refcounts=off refcount_bits=16\n", 'qemu-img: /dev/null: Image is not in qcow2 format\n'),
    ([], ['create', '-f', 'raw', '/dev/null', '0'], None, 0, "Formatting '/dev/null', fmt=raw size=0\n", ''),
    ([], ['create', '-f', 'raw', '-o', 'preallocation=falloc', '/dev/null', '0'], None, 1, "Formatting '/dev/null', fmt=raw size=0 preallocation=falloc\n", "qemu-img: /dev/null: Unsupported preallocation mode 'falloc'\n"),
    ([], ['create', '-f', 'raw', '-o', 'preallocation=metadata', '/dev/null', '0'], None, 1, "Formatting '/dev/null', fmt=raw size=0 preallocation=metadata\n", "qemu-img: /dev/null: Unsupported preallocation mode 'metadata'\n"),
    ([], ['create', '-f', 'raw', '-o', 'nocow=on', '/dev/null', '0'], None, 1, '', "qemu-img: /dev/null: Invalid parameter 'nocow'\n"),
    ([], ['create', '-f', 'qcow2', '-o', 'extent_size_hint=1M', '/dev/null', '1M'], None, 1, '', "qemu-img: /dev/null: Invalid parameter 'extent_size_hint'\n"),
    ([], ['resize', '-f', 'raw', '/dev/null', '1M'], None, 1, '', 'qemu-img: Cannot resize device files\n'),
    ([], ['resize', '-f', 'raw', '--shrink', '/dev/null', '1M'], None, 1, '', 'qemu-img: Cannot resize device files\n'),
    ([], ['resize', '-f', 'raw', '--preallocation=full', '/dev/null', '1M'], None, 1, '', "qemu-img: Preallocation mode 'full' unsupported for this non-regular file\n"),
    ([], ['create', '-f', 'raw', '-o', 'help', '/dev/null'], None, 0, 'Supported options:\n  preallocation=<str>    - Preallocation mode (allowed values: off)\n  size=<size>            - Virtual disk size\n', ''),
    ([], ['create', '-f', 'host_device', '-o', 'help', 'x'], None, 0, 'Supported options:\n  extent_size_hint=<size> - Extent size hint for the image file, 0 to disable\n  nocow=<bool (on/off)>  - Turn off copy-on-write (valid only on btrfs)\n  preallocation=<str>    - Preallocation mode (allowed values: off)\n  size=<size>            - Virtual disk size\n', ''),
    ([], ['create', '-f', 'host_device', 'x', '0'], None, 1, "Formatting 'x', fmt=host_device size=0\n", "qemu-img: x: Protocol driver 'host_device' does not support creating new images, so an existing image must be selected as the target; however, opening the given target as an existing image failed: Could not open 'x': No such file or directory\n"),
    ([], ['create', '-f', 'host_device', '/dev/null', '0'], None, 0, "Formatting '/dev/null', fmt=host_device size=0\n", ''),
    ([], ['create', '-f', 'file', '/dev/null', '0'], None, 1, "Formatting '/dev/null', fmt=file size=0\n", 'qemu-img: /dev/null: Could not resize file: Invalid argument\n'),
]

# Creation: sizes the file system refuses (EFBIG), extent size hints, preallocation values.
CREATE_CASES = [
    ([], ['create', '-f', 'raw', 'x.img', '1E'], None, 1, "Formatting 'x.img', fmt=raw size=1152921504606846976\n", "qemu-img: x.img: The image size is too large for file format 'raw'\n"),
    ([], ['create', '-f', 'raw', 'x.img', '17T'], None, 1, "Formatting 'x.img', fmt=raw size=18691697672192\n", "qemu-img: x.img: The image size is too large for file format 'raw'\n"),
    ([], ['create', '-f', 'raw', 'x.img', '9223372036854775296'], None, 1, "Formatting 'x.img', fmt=raw size=9223372036854775296\n", "qemu-img: x.img: The image size is too large for file format 'raw'\n"),
    ([], ['create', '-f', 'raw', 'x.img', '9223372036854775807'], None, 1, "Formatting 'x.img', fmt=raw size=9223372036854775807\n", 'qemu-img: x.img: Could not resize file: Invalid argument\n'),
    ([], ['create', '-f', 'raw', 'x.img', '16E'], None, 1, '', 'qemu-img: Invalid image size specified. Must be between 0 and 9223372036854775807.\n'),
    ([], ['create', '-f', 'file', 'x.img', '1E'], None, 1, "Formatting 'x.img', fmt=file size=1152921504606846976\n", "qemu-img: x.img: The image size is too large for file format 'file'\n"),
    ([], ['create', '-f', 'raw', '-o', 'preallocation=falloc', 'x.img', '1E'], None, 1, "Formatting 'x.img', fmt=raw size=1152921504606846976 preallocation=falloc\n", "qemu-img: x.img: The image size is too large for file format 'raw'\n"),
    ([], ['create', '-f', 'raw', '-o', 'preallocation=full', 'x.img', '1E'], None, 1, "Formatting 'x.img', fmt=raw size=1152921504606846976 preallocation=full\n", "qemu-img: x.img: The image size is too large for file format 'raw'\n"),
    ([], ['create', '-f', 'qcow2', 'q.img', '1E'], None, 1, "Formatting 'q.img', fmt=qcow2 cluster_size=65536 extended_l2=off compression_type=zlib size=1152921504606846976 lazy_refcounts=off refcount_bits=16\n", "qemu-img: q.img: The image size is too large for file format 'qcow2' (try using a larger cluster size)\n"),
    ([], ['create', '-f', 'qcow2', '-o', 'cluster_size=2M', 'q.img', '4E'], None, 1, "Formatting 'q.img', fmt=qcow2 cluster_size=2097152 extended_l2=off compression_type=zlib size=4611686018427387904 lazy_refcounts=off refcount_bits=16\n", "qemu-img: q.img: The image size is too large for file format 'qcow2' (try using a larger cluster size)\n"),
    ([], ['create', '-f', 'qcow2', '-o', 'cluster_size=2M,preallocation=falloc', 'q.img', '1P'], None, 1, "Formatting 'q.img', fmt=qcow2 cluster_size=2097152 extended_l2=off preallocation=falloc compression_type=zlib size=1125899906842624 lazy_refcounts=off refcount_bits=16\n", "qemu-img: q.img: The image size is too large for file format 'qcow2' (try using a larger cluster size)\n"),
    ([], ['create', '-f', 'raw', '-o', 'extent_size_hint=4294967296', 'x.img', '1M'], None, 1, "Formatting 'x.img', fmt=raw size=1048576 extent_size_hint=4294967296\n", 'qemu-img: x.img: Extent size hint is too large\n'),
    ([], ['create', '-f', 'raw', '-o', 'extent_size_hint=4294967295', 'x.img', '1M'], None, 0, "Formatting 'x.img', fmt=raw size=1048576 extent_size_hint=4294967295\n", ''),
    ([], ['create', '-f', 'qcow2', '-o', 'extent_size_hint=5G', 'q.img', '1M'], None, 1, "Formatting 'q.img', fmt=qcow2 cluster_size=65536 extended_l2=off compression_type=zlib size=1048576 lazy_refcounts=off refcount_bits=16 extent_size_hint=5368709120\n", 'qemu-img: q.img: Extent size hint is too large\n'),
    ([], ['create', '-f', 'raw', '-o', 'extent_size_hint=5G,preallocation=bogus', 'x.img', '1M'], None, 1, "Formatting 'x.img', fmt=raw size=1048576 preallocation=bogus extent_size_hint=5368709120\n", 'qemu-img: x.img: invalid parameter value: bogus\n'),
    ([], ['create', '-f', 'raw', '-o', 'extent_size_hint=5G,preallocation=metadata', 'x.img', '1M'], None, 1, "Formatting 'x.img', fmt=raw size=1048576 preallocation=metadata extent_size_hint=5368709120\n", 'qemu-img: x.img: Extent size hint is too large\n'),
    (['r'], ['convert', '-O', 'raw', '-o', 'extent_size_hint=5G', 'r.img', 'x.img'], None, 1, '', 'qemu-img: x.img: error while converting raw: Extent size hint is too large\n'),
    ([], ['create', '-f', 'qcow2', '-o', 'preallocation=bogus', 'q.img', '1M'], None, 1, "Formatting 'q.img', fmt=qcow2 cluster_size=65536 extended_l2=off preallocation=bogus compression_type=zlib size=1048576 lazy_refcounts=off refcount_bits=16\n", "qemu-img: q.img: Parameter 'preallocation' does not accept value 'bogus'\n"),
    ([], ['create', '-f', 'raw', '-o', 'nocow=bogus', 'x.img', '1M'], None, 1, '', "qemu-img: x.img: Parameter 'nocow' expects 'on' or 'off'\n"),
    ([], ['create', '-f', 'qcow2', '-o', 'nocow=on,extent_size_hint=2M', 'q.img', '1M'], None, 0, "Formatting 'q.img', fmt=qcow2 cluster_size=65536 extended_l2=off compression_type=zlib size=1048576 lazy_refcounts=off refcount_bits=16 nocow=on extent_size_hint=2097152\n", ''),
]

# The file protocol's runtime options and the generic node options, and bogus cache modes.
OPTIONS_CASES = [
    (['r'], ['info', '--image-opts', 'driver=raw,file.filename=r.img,file.locking=bogus'], None, 1, '', "qemu-img: Could not open 'driver=raw,file.filename=r.img,file.locking=bogus': invalid parameter value: bogus\n"),
    (['r'], ['info', '--image-opts', 'driver=raw,file.filename=r.img,file.locking=off'], None, 0, "image: r.img\nfile format: raw\nvirtual size: 1 MiB (1048576 bytes)\ndisk size: 4 KiB\nChild node '/file':\n    filename: r.img\n    protocol type: file\n    file length: 1 MiB (1048576 bytes)\n    disk size: 4 KiB\n", ''),
    (['r'], ['info', '--image-opts', 'driver=raw,file.filename=r.img,file.aio=native'], None, 1, '', "qemu-img: Could not open 'driver=raw,file.filename=r.img,file.aio=native': aio=native was specified, but it requires cache.direct=on, which was not specified.\n"),
    (['r'], ['info', '--image-opts', 'driver=raw,file.filename=r.img,file.aio=io_uring'], None, 1, '', "qemu-img: Could not open 'driver=raw,file.filename=r.img,file.aio=io_uring': invalid parameter value: io_uring\n"),
    (['r'], ['info', '--image-opts', 'driver=raw,file.filename=r.img,file.aio=native,cache.direct=on'], None, 0, "image: r.img\nfile format: raw\nvirtual size: 1 MiB (1048576 bytes)\ndisk size: 4 KiB\nChild node '/file':\n    filename: r.img\n    protocol type: file\n    file length: 1 MiB (1048576 bytes)\n    disk size: 4 KiB\n", ''),
    (['r'], ['info', '--image-opts', 'driver=raw,file.filename=r.img,file.bogus=1'], None, 1, '', "qemu-img: Could not open 'driver=raw,file.filename=r.img,file.bogus=1': Block protocol 'file' doesn't support the option 'bogus'\n"),
    (['r'], ['info', '--image-opts', 'driver=file,filename=r.img,bogus=1'], None, 1, '', "qemu-img: Could not open 'driver=file,filename=r.img,bogus=1': Block protocol 'file' doesn't support the option 'bogus'\n"),
    (['r'], ['info', '--image-opts', 'driver=file,filename=r.img,aio-max-batch=bogus'], None, 1, '', "qemu-img: Could not open 'driver=file,filename=r.img,aio-max-batch=bogus': Parameter 'aio-max-batch' expects a number\n"),
    (['r'], ['info', '--image-opts', 'driver=file,filename=r.img,aio-max-batch=99999999999999999999'], None, 1, '', "qemu-img: Could not open 'driver=file,filename=r.img,aio-max-batch=99999999999999999999': Value '99999999999999999999' is too large for parameter 'aio-max-batch'\n"),
    (['r'], ['info', '--image-opts', 'driver=file,filename=r.img,pr-manager=x'], None, 1, '', "qemu-img: Could not open 'driver=file,filename=r.img,pr-manager=x': No persistent reservation manager with id 'x'\n"),
    (['r'], ['info', '--image-opts', 'driver=file,filename=r.img,drop-cache=bogus'], None, 1, '', "qemu-img: Could not open 'driver=file,filename=r.img,drop-cache=bogus': Parameter 'drop-cache' expects 'on' or 'off'\n"),
    (['r'], ['info', '--image-opts', 'driver=file,filename=r.img,x-check-cache-dropped=bogus'], None, 1, '', "qemu-img: Could not open 'driver=file,filename=r.img,x-check-cache-dropped=bogus': Parameter 'x-check-cache-dropped' expects 'on' or 'off'\n"),
    (['r'], ['info', '--image-opts', 'driver=file,filename=r.img,discard-no-unref=on'], None, 1, '', "qemu-img: Could not open 'driver=file,filename=r.img,discard-no-unref=on': Block protocol 'file' doesn't support the option 'discard-no-unref'\n"),
    (['d'], ['info', '--image-opts', 'driver=file,filename=d,locking=bogus'], None, 1, '', "qemu-img: Could not open 'driver=file,filename=d,locking=bogus': invalid parameter value: bogus\n"),
    (['d'], ['info', '--image-opts', 'driver=file,filename=d,bogus=1'], None, 1, '', "qemu-img: Could not open 'driver=file,filename=d,bogus=1': 'file' driver requires 'd' to be a regular file\n"),
    (['d'], ['info', '--image-opts', 'driver=file,filename=d,aio=native'], None, 1, '', "qemu-img: Could not open 'driver=file,filename=d,aio=native': aio=native was specified, but it requires cache.direct=on, which was not specified.\n"),
    ([], ['info', '--image-opts', 'driver=file,filename=nonexist,aio=native'], None, 1, '', "qemu-img: Could not open 'driver=file,filename=nonexist,aio=native': Could not open 'nonexist': No such file or directory\n"),
    ([], ['info', '--image-opts', 'driver=file,filename=nonexist,locking=bogus'], None, 1, '', "qemu-img: Could not open 'driver=file,filename=nonexist,locking=bogus': invalid parameter value: bogus\n"),
    (['d'], ['info', '--image-opts', 'driver=file,filename=d,cache.direct=on'], None, 1, '', "qemu-img: Could not open 'driver=file,filename=d,cache.direct=on': Could not open 'd': filesystem does not support O_DIRECT\n"),
    (['r'], ['info', '--image-opts', 'driver=raw,file.filename=r.img,file.cache.direct=bogus'], None, 1, '', "qemu-img: Could not open 'driver=raw,file.filename=r.img,file.cache.direct=bogus': Parameter 'cache.direct' expects 'on' or 'off'\n"),
    ([], ['info', '--image-opts', 'driver=raw,file.filename=nonexist,file.discard=bogus'], None, 1, '', "qemu-img: Could not open 'driver=raw,file.filename=nonexist,file.discard=bogus': Invalid discard option\n"),
    ([], ['info', '--image-opts', 'driver=raw,file.filename=nonexist,discard=bogus'], None, 1, '', "qemu-img: Could not open 'driver=raw,file.filename=nonexist,discard=bogus': Could not open 'nonexist': No such file or directory\n"),
    (['r'], ['info', '--image-opts', 'driver=raw,file.filename=r.img,discard=bogus'], None, 1, '', "qemu-img: Could not open 'driver=raw,file.filename=r.img,discard=bogus': Invalid discard option\n"),
    (['r'], ['info', '--image-opts', 'driver=raw,file.filename=r.img,detect-zeroes=bogus'], None, 1, '', "qemu-img: Could not open 'driver=raw,file.filename=r.img,detect-zeroes=bogus': invalid parameter value: bogus\n"),
    (['r'], ['info', '--image-opts', 'driver=raw,file.filename=r.img,detect-zeroes=unmap'], None, 1, '', "qemu-img: Could not open 'driver=raw,file.filename=r.img,detect-zeroes=unmap': setting detect-zeroes to unmap is not allowed without setting discard operation to unmap\n"),
    (['r'], ['info', '--image-opts', 'driver=raw,file.filename=r.img,discard=unmap,file.detect-zeroes=unmap'], None, 0, "image: r.img\nfile format: raw\nvirtual size: 1 MiB (1048576 bytes)\ndisk size: 4 KiB\nChild node '/file':\n    filename: r.img\n    protocol type: file\n    file length: 1 MiB (1048576 bytes)\n    disk size: 4 KiB\n", ''),
    (['r'], ['info', '--image-opts', 'driver=raw,file.filename=r.img,node-name=1a'], None, 1, '', "qemu-img: Could not open 'driver=raw,file.filename=r.img,node-name=1a': Invalid node-name: '1a'\n"),
    (['r'], ['info', '--image-opts', 'driver=file,filename=r.img,node-name=abcdefghijabcdefghijabcdefghijab'], None, 1, '', "qemu-img: Could not open 'driver=file,filename=r.img,node-name=abcdefghijabcdefghijabcdefghijab': Node name too long\n"),
    ([], ['info', '--image-opts', 'driver=raw,file.filename=nonexist,read-only=bogus'], None, 1, '', "qemu-img: Could not open 'driver=raw,file.filename=nonexist,read-only=bogus': Parameter 'read-only' expects 'on' or 'off'\n"),
    (['r'], ['info', '--image-opts', 'driver=file,filename=r.img,cache.no-flush=bogus,cache.direct=bogus'], None, 1, '', "qemu-img: Could not open 'driver=file,filename=r.img,cache.no-flush=bogus,cache.direct=bogus': Parameter 'cache.no-flush' expects 'on' or 'off'\n"),
    (['r'], ['info', '--image-opts', 'driver=file,filename=r.img,auto-read-only=bogus,read-only=bogus'], None, 1, '', "qemu-img: Could not open 'driver=file,filename=r.img,auto-read-only=bogus,read-only=bogus': Parameter 'auto-read-only' expects 'on' or 'off'\n"),
    (['r'], ['info', '--image-opts', 'driver=raw,file.filename=r.img,force-share=on,read-only=off'], None, 1, '', "qemu-img: Could not open 'driver=raw,file.filename=r.img,force-share=on,read-only=off': force-share=on can only be used with read-only images\n"),
    (['r'], ['resize', '--image-opts', 'driver=raw,file.filename=r.img,force-share=on', '2M'], None, 1, '', "qemu-img: Could not open 'driver=raw,file.filename=r.img,force-share=on': force-share=on can only be used with read-only images\n"),
    (['r'], ['resize', '--image-opts', 'driver=raw,file.filename=r.img,read-only=on', '2M'], None, 1, '', "qemu-img: Could not open 'driver=raw,file.filename=r.img,read-only=on': Block node is read-only\n"),
    (['r'], ['info', '--image-opts', 'driver=raw,file.filename=r.img,file.driver=bogus'], None, 1, '', "qemu-img: Could not open 'driver=raw,file.filename=r.img,file.driver=bogus': Unknown driver 'bogus'\n"),
    (['r'], ['info', '--image-opts', 'driver=raw,file.filename=r.img,file.driver=raw'], None, 1, '', 'qemu-img: Could not open \'driver=raw,file.filename=r.img,file.driver=raw\': A block device must be specified for "file"\n'),
    (['r'], ['info', '--image-opts', 'driver=raw,file.filename=r.img,file.driver=host_device'], None, 1, '', "qemu-img: Could not open 'driver=raw,file.filename=r.img,file.driver=host_device': 'host_device' driver requires 'r.img' to be either a character or block device\n"),
    ([], ['info', '--image-opts', 'driver=raw,file.driver=file,file.locking=bogus'], None, 1, '', "qemu-img: Could not open 'driver=raw,file.driver=file,file.locking=bogus': The 'file' block driver requires a file name\n"),
    (['q'], ['check', '--image-opts', 'driver=qcow2,file.filename=q.img,file.locking=bogus'], None, 1, '', "qemu-img: Could not open 'driver=qcow2,file.filename=q.img,file.locking=bogus': invalid parameter value: bogus\n"),
    (['r'], ['info', '-t', 'bogus', 'r.img'], None, 1, '', 'qemu-img: Invalid cache option: bogus\n'),
    (['q'], ['check', '-T', 'bogus', 'q.img'], None, 1, '', 'qemu-img: Invalid source cache option: bogus\n'),
    (['r'], ['convert', '-t', 'bogus', 'r.img', 'o'], None, 1, '', 'qemu-img: Invalid cache option: bogus\n'),
    (['r'], ['compare', '-T', 'bogus', 'r.img', 'r.img'], None, 2, '', 'qemu-img: Invalid source cache option: bogus\n'),
]

# info --limits: a probed raw image works in sectors; O_DIRECT on an empty file learns nothing (4 KiB).
LIMITS_CASES = [
    (['r'], ['info', '--limits', 'r.img'], None, 0, "image: r.img\nfile format: raw\nvirtual size: 1 MiB (1048576 bytes)\ndisk size: 4 KiB\nBlock limits:\n    request alignment: 512\n    min mem alignment: 1\n    opt mem alignment: 4096\n    max iov: 1024\nChild node '/file':\n    filename: r.img\n    protocol type: file\n    file length: 1 MiB (1048576 bytes)\n    disk size: 4 KiB\n    Block limits:\n        request alignment: 1\n        min mem alignment: 1\n        opt mem alignment: 4096\n        max iov: 1024\n", ''),
    (['r'], ['info', '--limits', '-f', 'raw', '--output=json', 'r.img'], None, 0, '{\n    "limits": {\n        "request-alignment": 1,\n        "min-mem-alignment": 1,\n        "opt-mem-alignment": 4096,\n        "max-iov": 1024\n    },\n    "children": [\n        {\n            "name": "file",\n            "info": {\n                "limits": {\n                    "request-alignment": 1,\n                    "min-mem-alignment": 1,\n                    "opt-mem-alignment": 4096,\n                    "max-iov": 1024\n                },\n                "children": [\n                ],\n                "virtual-size": 1048576,\n                "filename": "r.img",\n                "format": "file",\n                "actual-size": 4096,\n                "format-specific": {\n                    "type": "file",\n                    "data": {\n                    }\n                },\n                "dirty-flag": false\n            }\n        }\n    ],\n    "virtual-size": 1048576,\n    "filename": "r.img",\n    "format": "raw",\n    "actual-size": 4096,\n    "dirty-flag": false\n}\n', ''),
    (['q'], ['info', '--limits', 'q.img'], None, 0, "image: q.img\nfile format: qcow2\nvirtual size: 1 MiB (1048576 bytes)\ndisk size: 196 KiB\ncluster_size: 65536\nBlock limits:\n    write zeroes alignment: 65536\n    request alignment: 1\n    min mem alignment: 1\n    discard alignment: 65536\n    opt mem alignment: 4096\n    max iov: 1024\nFormat specific information:\n    compat: 1.1\n    compression type: zlib\n    lazy refcounts: false\n    refcount bits: 16\n    corrupt: false\n    extended l2: false\nChild node '/file':\n    filename: q.img\n    protocol type: file\n    file length: 192 KiB (197120 bytes)\n    disk size: 196 KiB\n    Block limits:\n        request alignment: 1\n        min mem alignment: 1\n        opt mem alignment: 4096\n        max iov: 1024\n", ''),
    (['q'], ['info', '--limits', '--output=json', 'q.img'], None, 0, '{\n    "limits": {\n        "write-zeroes-alignment": 65536,\n        "request-alignment": 1,\n        "min-mem-alignment": 1,\n        "discard-alignment": 65536,\n        "opt-mem-alignment": 4096,\n        "max-iov": 1024\n    },\n    "children": [\n        {\n            "name": "file",\n            "info": {\n                "limits": {\n                    "request-alignment": 1,\n                    "min-mem-alignment": 1,\n                    "opt-mem-alignment": 4096,\n                    "max-iov": 1024\n                },\n                "children": [\n                ],\n                "virtual-size": 197120,\n                "filename": "q.img",\n                "format": "file",\n                "actual-size": 200704,\n                "format-specific": {\n                    "type": "file",\n                    "data": {\n                    }\n                },\n                "dirty-flag": false\n            }\n        }\n    ],\n    "virtual-size": 1048576,\n    "filename": "q.img",\n    "cluster-size": 65536,\n    "format": "qcow2",\n    "actual-size": 200704,\n    "format-specific": {\n        "type": "qcow2",\n        "data": {\n            "compat": "1.1",\n            "compression-type": "zlib",\n            "lazy-refcounts": false,\n            "refcount-bits": 16,\n            "corrupt": false,\n            "extended-l2": false\n        }\n    },\n    "dirty-flag": false\n}\n', ''),
    (['r'], ['info', '--limits', '-f', 'file', 'r.img'], None, 0, 'image: r.img\nfile format: file\nvirtual size: 1 MiB (1048576 bytes)\ndisk size: 4 KiB\nBlock limits:\n    request alignment: 1\n    min mem alignment: 1\n    opt mem alignment: 4096\n    max iov: 1024\n', ''),
    (['e'], ['info', '--limits', '-t', 'none', 'e.img'], None, 0, "image: e.img\nfile format: raw\nvirtual size: 0 B (0 bytes)\ndisk size: 0 B\nBlock limits:\n    request alignment: 512\n    min mem alignment: 4096\n    opt mem alignment: 4096\n    max iov: 1024\nChild node '/file':\n    filename: e.img\n    protocol type: file\n    file length: 0 B (0 bytes)\n    disk size: 0 B\n    Block limits:\n        request alignment: 4096\n        min mem alignment: 4096\n        opt mem alignment: 4096\n        max iov: 1024\n", ''),
    (['e'], ['info', '--limits', '-t', 'none', '--output=json', '--image-opts', 'driver=raw,file.filename=e.img'], None, 0, '{\n    "limits": {\n        "request-alignment": 1,\n        "min-mem-alignment": 4096,\n        "opt-mem-alignment": 4096,\n        "max-iov": 1024\n    },\n    "children": [\n        {\n            "name": "file",\n            "info": {\n                "limits": {\n                    "request-alignment": 4096,\n                    "min-mem-alignment": 4096,\n                    "opt-mem-alignment": 4096,\n                    "max-iov": 1024\n                },\n                "children": [\n                ],\n                "virtual-size": 0,\n                "filename": "e.img",\n                "format": "file",\n                "actual-size": 0,\n                "format-specific": {\n                    "type": "file",\n                    "data": {\n                    }\n                },\n                "dirty-flag": false\n            }\n        }\n    ],\n    "virtual-size": 0,\n    "filename": "e.img",\n    "format": "raw",\n    "actual-size": 0,\n    "dirty-flag": false\n}\n', ''),
    ([], ['info', '--limits', '/dev/null'], None, 0, "image: /dev/null\nfile format: raw\nvirtual size: 0 B (0 bytes)\ndisk size: 0 B\nBlock limits:\n    request alignment: 512\n    min mem alignment: 1\n    opt mem alignment: 4096\n    max iov: 1024\nChild node '/file':\n    filename: /dev/null\n    protocol type: host_device\n    file length: 0 B (0 bytes)\n    disk size: 0 B\n    Block limits:\n        request alignment: 1\n        min mem alignment: 1\n        opt mem alignment: 4096\n        max iov: 1024\n", ''),
    (['r'], ['info', '--limits', '-t', 'unsafe', '-f', 'raw', 'r.img'], None, 0, "image: r.img\nfile format: raw\nvirtual size: 1 MiB (1048576 bytes)\ndisk size: 4 KiB\nBlock limits:\n    request alignment: 1\n    min mem alignment: 1\n    opt mem alignment: 4096\n    max iov: 1024\nChild node '/file':\n    filename: r.img\n    protocol type: file\n    file length: 1 MiB (1048576 bytes)\n    disk size: 4 KiB\n    Block limits:\n        request alignment: 1\n        min mem alignment: 1\n        opt mem alignment: 4096\n        max iov: 1024\n", ''),
]

# Lock bytes 100+perm (held) and 200+perm (not shared): raw passes its user's permissions through,
# qcow2 keeps others from writing; locks come after the whole graph is open.
LOCKS_CASES = [
    (['r'], ['info', 'r.img'], ('r.img', [101, 103]), 0, "image: r.img\nfile format: raw\nvirtual size: 1 MiB (1048576 bytes)\ndisk size: 4 KiB\nChild node '/file':\n    filename: r.img\n    protocol type: file\n    file length: 1 MiB (1048576 bytes)\n    disk size: 4 KiB\n", ''),
    (['q'], ['info', 'q.img'], ('q.img', [101]), 1, '', 'qemu-img: Could not open \'q.img\': Failed to get shared "write" lock\nIs another process using the image [q.img]?\n'),
    (['q'], ['info', 'q.img'], ('q.img', [200]), 0, "image: q.img\nfile format: qcow2\nvirtual size: 1 MiB (1048576 bytes)\ndisk size: 196 KiB\ncluster_size: 65536\nFormat specific information:\n    compat: 1.1\n    compression type: zlib\n    lazy refcounts: false\n    refcount bits: 16\n    corrupt: false\n    extended l2: false\nChild node '/file':\n    filename: q.img\n    protocol type: file\n    file length: 192 KiB (197120 bytes)\n    disk size: 196 KiB\n", ''),
    (['r'], ['check', '-f', 'raw', 'r.img'], ('r.img', [200]), 1, '', 'qemu-img: Could not open \'r.img\': Failed to get "consistent read" lock\nIs another process using the image [r.img]?\n'),
    (['r'], ['map', '-f', 'raw', 'r.img'], ('r.img', [101, 103]), 0, 'Offset          Length          Mapped to       File\n0               0x1000          0               r.img\n', ''),
    (['r'], ['convert', '-O', 'raw', 'r.img', 'o.img'], ('r.img', [101]), 1, '', 'qemu-img: Could not open \'r.img\': Failed to get shared "write" lock\nIs another process using the image [r.img]?\n'),
    (['r'], ['convert', '-U', '-O', 'raw', 'r.img', 'o.img'], ('r.img', [101]), 0, '', ''),
    (['r'], ['resize', '--image-opts', 'driver=file,filename=r.img,bogus=1', '2M'], ('r.img', [201]), 1, '', "qemu-img: Could not open 'driver=file,filename=r.img,bogus=1': Block protocol 'file' doesn't support the option 'bogus'\n"),
    (['r'], ['info', '--image-opts', 'driver=qcow2,file.filename=r.img'], ('r.img', [200]), 1, '', "qemu-img: Could not open 'driver=qcow2,file.filename=r.img': Image is not in qcow2 format\n"),
    (['q'], ['info', '--image-opts', 'driver=qcow2,file.filename=q.img,file.locking=off'], ('q.img', [101]), 0, "image: q.img\nfile format: qcow2\nvirtual size: 1 MiB (1048576 bytes)\ndisk size: 196 KiB\ncluster_size: 65536\nFormat specific information:\n    compat: 1.1\n    compression type: zlib\n    lazy refcounts: false\n    refcount bits: 16\n    corrupt: false\n    extended l2: false\nChild node '/file':\n    filename: q.img\n    protocol type: file\n    file length: 192 KiB (197120 bytes)\n    disk size: 196 KiB\n", ''),
    (['ov'], ['map', 'ov.img'], ('r.img', [200]), 1, '', 'qemu-img: Could not open \'ov.img\': Failed to get "consistent read" lock\nIs another process using the image [r.img]?\n'),
    (['ov'], ['convert', '-O', 'raw', 'ov.img', 'o.img'], ('r.img', [103]), 1, '', 'qemu-img: Could not open \'ov.img\': Failed to get shared "resize" lock\nIs another process using the image [r.img]?\n'),
    (['ov'], ['create', '-f', 'qcow2', '-b', 'r.img', '-F', 'raw', 'n.img'], ('r.img', [200]), 0, "Formatting 'n.img', fmt=qcow2 cluster_size=65536 extended_l2=off compression_type=zlib size=1048576 backing_file=r.img backing_fmt=raw lazy_refcounts=off refcount_bits=16\n", ''),
    (['r'], ['create', '-f', 'raw', 'r.img', '2M'], ('r.img', [101]), 0, "Formatting 'r.img', fmt=raw size=2097152\n", ''),
    (['q'], ['create', '-f', 'qcow2', 'q.img', '2M'], ('q.img', [101]), 1, "Formatting 'q.img', fmt=qcow2 cluster_size=65536 extended_l2=off compression_type=zlib size=2097152 lazy_refcounts=off refcount_bits=16\n", 'qemu-img: q.img: Failed to get shared "write" lock\nIs another process using the image [q.img]?\n'),
    (['r'], ['convert', '-n', '-O', 'raw', 'r.img', 'r.img'], None, 1, '', 'qemu-img: Could not open \'r.img\': Failed to get "write" lock\nIs another process using the image [r.img]?\n'),
    # A qcow2 backing takes its own locks while the chain opens (10.2 oracle): the conflict is the
    # backing file's; through raw (above) it surfaces only once the graph is attached.
    (['oq'], ['map', 'top.qcow2'], ('mid.qcow2', [200]), 1, '', 'qemu-img: Could not open \'top.qcow2\': Could not open backing file: Failed to get "consistent read" lock\nIs another process using the image [mid.qcow2]?\n'),
    (['oq'], ['convert', '-O', 'raw', 'top.qcow2', 'o.img'], ('mid.qcow2', [101]), 1, '', 'qemu-img: Could not open \'top.qcow2\': Could not open backing file: Failed to get shared "write" lock\nIs another process using the image [mid.qcow2]?\n'),
    # A named format that keeps its file's permissions locks before reading the header.
    (['r'], ['convert', '-n', '-O', 'qcow2', 'r.img', 'r.img'], None, 1, '', 'qemu-img: Could not open \'r.img\': Failed to get "write" lock\nIs another process using the image [r.img]?\n'),
]


# The raw format's offset and size options: a window of the file, named by the json: of its options.
RAW_CASES = [
    (['r', 'data'], ['info', '--image-opts', 'driver=raw,file.filename=r.img,offset=512'], None, 0, 'image: json:{"offset": "512", "driver": "raw", "file": {"driver": "file", "filename": "r.img"}}\nfile format: raw\nvirtual size: 1 MiB (1048064 bytes)\ndisk size: 8 KiB\nChild node \'/file\':\n    filename: r.img\n    protocol type: file\n    file length: 1 MiB (1048576 bytes)\n    disk size: 8 KiB\n', ''),
    (['r', 'data'], ['info', '--image-opts', 'driver=raw,file.filename=r.img,offset=512,size=4096'], None, 0, 'image: json:{"offset": "512", "driver": "raw", "size": "4096", "file": {"driver": "file", "filename": "r.img"}}\nfile format: raw\nvirtual size: 4 KiB (4096 bytes)\ndisk size: 8 KiB\nChild node \'/file\':\n    filename: r.img\n    protocol type: file\n    file length: 1 MiB (1048576 bytes)\n    disk size: 8 KiB\n', ''),
    (['r'], ['info', '--image-opts', 'driver=raw,file.filename=r.img,offset=100'], None, 0, 'image: json:{"offset": "100", "driver": "raw", "file": {"driver": "file", "filename": "r.img"}}\nfile format: raw\nvirtual size: 1 MiB (1048576 bytes)\ndisk size: 4 KiB\nChild node \'/file\':\n    filename: r.img\n    protocol type: file\n    file length: 1 MiB (1048576 bytes)\n    disk size: 4 KiB\n', ''),
    (['r'], ['info', '--image-opts', 'driver=raw,file.filename=r.img,size=bogus,offset=bogus'], None, 1, '', "qemu-img: Could not open 'driver=raw,file.filename=r.img,size=bogus,offset=bogus': Parameter 'offset' expects a non-negative number below 2^64\nOptional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\nand exabytes, respectively.\n"),
    (['r'], ['info', '--image-opts', 'driver=raw,file.filename=r.img,size=-1'], None, 1, '', "qemu-img: Could not open 'driver=raw,file.filename=r.img,size=-1': Value '-1' is out of range for parameter 'size'\n"),
    (['r'], ['info', '--image-opts', 'driver=raw,file.filename=r.img,offset=2M,size=1000'], None, 1, '', "qemu-img: Could not open 'driver=raw,file.filename=r.img,offset=2M,size=1000': Offset (2097152) cannot be greater than size of the containing file (1048576)\n"),
    (['r'], ['info', '--image-opts', 'driver=raw,file.filename=r.img,size=2000000'], None, 1, '', "qemu-img: Could not open 'driver=raw,file.filename=r.img,size=2000000': The sum of offset (0) and size (2000000) has to be smaller or equal to the  actual size of the containing file (1048576)\n"),
    (['r'], ['info', '--image-opts', 'driver=raw,file.filename=r.img,size=1000'], None, 1, '', "qemu-img: Could not open 'driver=raw,file.filename=r.img,size=1000': Specified size is not multiple of 512\n"),
    (['r'], ['info', '--image-opts', 'driver=raw,file.filename=r.img,bogus=1,offset=2M'], None, 1, '', "qemu-img: Could not open 'driver=raw,file.filename=r.img,bogus=1,offset=2M': Offset (2097152) cannot be greater than size of the containing file (1048576)\n"),
    (['r'], ['info', '--image-opts', 'driver=raw,file.filename=r.img,offset=1M,size=0'], None, 0, 'image: json:{"offset": "1M", "driver": "raw", "size": "0", "file": {"driver": "file", "filename": "r.img"}}\nfile format: raw\nvirtual size: 0 B (0 bytes)\ndisk size: 4 KiB\nChild node \'/file\':\n    filename: r.img\n    protocol type: file\n    file length: 1 MiB (1048576 bytes)\n    disk size: 4 KiB\n', ''),
    (['r', 'data'], ['map', '--output=json', '--image-opts', 'driver=raw,file.filename=r.img,offset=1024,size=8192'], None, 0, '[{ "start": 0, "length": 7168, "depth": 0, "present": true, "zero": false, "data": true, "compressed": false, "offset": 1024},\n{ "start": 7168, "length": 1024, "depth": 0, "present": true, "zero": true, "data": false, "compressed": false, "offset": 8192}]\n', ''),
    (['r'], ['resize', '--image-opts', 'driver=raw,file.filename=r.img,size=4096', '8192'], None, 1, '', 'qemu-img: Cannot resize fixed-size raw disks\n'),
    (['r', 'data'], ['compare', '--image-opts', 'driver=raw,file.filename=r.img,offset=4096,size=512', 'driver=raw,file.filename=r.img,offset=4096,size=512'], None, 0, 'Images are identical.\n', ''),
    (['one'], ['info', '-f', 'raw', 'one.raw'], None, 0, "image: one.raw\nfile format: raw\nvirtual size: 512 B (512 bytes)\ndisk size: 4 KiB\nChild node '/file':\n    filename: one.raw\n    protocol type: file\n    file length: 512 B (512 bytes)\n    disk size: 4 KiB\n", ''),
    (['one'], ['map', '-f', 'raw', 'one.raw'], None, 0, 'Offset          Length          Mapped to       File\n0               0x1             0               one.raw\n', ''),
]

@pytest.mark.parametrize("setup,args,lock,rc,stdout,stderr", OPEN_CASES, ids=[case_id(c) for c in OPEN_CASES])
def test_open(qimg, setup, args, lock, rc, stdout, stderr):
    run_case(qimg, setup, args, lock, rc, stdout, stderr)


@pytest.mark.parametrize("setup,args,lock,rc,stdout,stderr", DEVICE_CASES, ids=[case_id(c) for c in DEVICE_CASES])
def test_device(qimg, setup, args, lock, rc, stdout, stderr):
    run_case(qimg, setup, args, lock, rc, stdout, stderr)


@pytest.mark.parametrize("setup,args,lock,rc,stdout,stderr", CREATE_CASES, ids=[case_id(c) for c in CREATE_CASES])
def test_create(qimg, setup, args, lock, rc, stdout, stderr):
    run_case(qimg, setup, args, lock, rc, stdout, stderr)


@pytest.mark.parametrize("setup,args,lock,rc,stdout,stderr", OPTIONS_CASES, ids=[case_id(c) for c in OPTIONS_CASES])
def test_options(qimg, setup, args, lock, rc, stdout, stderr):
    run_case(qimg, setup, args, lock, rc, stdout, stderr)


@pytest.mark.parametrize("setup,args,lock,rc,stdout,stderr", LIMITS_CASES, ids=[case_id(c) for c in LIMITS_CASES])
def test_limits(qimg, setup, args, lock, rc, stdout, stderr):
    run_case(qimg, setup, args, lock, rc, stdout, stderr)


@pytest.mark.parametrize("setup,args,lock,rc,stdout,stderr", LOCKS_CASES, ids=[case_id(c) for c in LOCKS_CASES])
def test_locks(qimg, setup, args, lock, rc, stdout, stderr):
    run_case(qimg, setup, args, lock, rc, stdout, stderr)


@pytest.mark.parametrize("setup,args,lock,rc,stdout,stderr", RAW_CASES, ids=[case_id(c) for c in RAW_CASES])
def test_raw(qimg, setup, args, lock, rc, stdout, stderr):
    run_case(qimg, setup, args, lock, rc, stdout, stderr)
