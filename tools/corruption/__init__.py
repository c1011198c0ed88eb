"""corruption — the registry of corruption kinds tools/corrupt plants, one module per format
(tools/corruption/FORMAT.py; spec/FORMAT.md holds the field tables the kinds read; docs/repair.md).

A module registers the class that opens its images with @image_class("fmt") and each kind with
@kind("fmt-name", description, needs=...). Kinds raise CorruptError when the image lacks what they need.
"""

import os
import importlib
import pkgutil
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = os.path.join(HERE, "..", "..", "spec")

KINDS = {}


class CorruptError(Exception):
    """The image does not have what the kind needs."""


IMAGES = {}


def image_class(fmt):
    """Registers the class that opens an image of format fmt for the kinds named fmt-*."""
    def register(cls):
        IMAGES[fmt] = cls
        return cls
    return register


def kind(name, description, needs=""):
    """Registers a corruption kind under FORMAT-KIND."""
    def register(function):
        KINDS[name] = (description, needs, function)
        return function
    return register


def spec_tables(path):
    """Reads every markdown table of a spec file: {section title: [row dicts]}."""
    tables, title, header = {}, None, None
    with open(path) as fh:
        for line in fh:
            line = line.rstrip("\n")
            if line.startswith("## "):
                title, header = line[3:].strip(), None
                continue
            if not line.startswith("|") or title is None:
                header = None if not line.startswith("|") else header
                continue
            cells = [c.strip() for c in line.strip("|").split("|")]
            if header is None:
                header = cells
                tables[title] = []
            elif not all(re.fullmatch(r"-+", c) for c in cells):
                tables[title].append(dict(zip(header, cells)))
    return tables


class Fields:
    """Fields at fixed offsets (big or little endian), as a spec table lists them."""

    def __init__(self, rows, order="big"):
        self.rows = {r["field"]: (int(r["offset"]), int(r["size"])) for r in rows}
        self.order = order

    def get(self, buf, name, base=0):
        offset, size = self.rows[name]
        return int.from_bytes(buf[base + offset:base + offset + size], self.order)

    def put(self, fh, name, value, base=0):
        offset, size = self.rows[name]
        fh.seek(base + offset)
        fh.write(value.to_bytes(size, self.order))


class ImageFile:
    """An image file held in memory, written back byte range by byte range as a kind changes it."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as fh:
            self.data = bytearray(fh.read())

    def write(self, offset, raw):
        with open(self.path, "r+b") as fh:
            fh.seek(offset)
            fh.write(raw)
        if len(self.data) < offset + len(raw):
            self.data.extend(b"\0" * (offset + len(raw) - len(self.data)))
        self.data[offset:offset + len(raw)] = raw

    def truncate(self, length):
        with open(self.path, "r+b") as fh:
            fh.truncate(length)
        del self.data[length:]
        self.data.extend(b"\0" * (length - len(self.data)))

    def u16(self, offset, order="<"):
        return struct.unpack_from(order + "H", self.data, offset)[0]

    def u32(self, offset, order="<"):
        return struct.unpack_from(order + "I", self.data, offset)[0]

    def u64(self, offset, order="<"):
        return struct.unpack_from(order + "Q", self.data, offset)[0]

    def write_u32(self, offset, value, order="<"):
        self.write(offset, struct.pack(order + "I", value & 0xFFFFFFFF))

    def write_u64(self, offset, value, order="<"):
        self.write(offset, struct.pack(order + "Q", value & 0xFFFFFFFFFFFFFFFF))


def load_all():
    """Imports every format module of this package (each registers its kinds)."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(__name__ + "." + module.name)
