#!/usr/bin/env python3
"""fuzz_corpus.py — writes the seed corpora of the fuzz targets: small valid images covering each
format's options, made with the project's own qemu-img; the generators live one per format in
tools/fuzzseeds/ (spec/architecture.md §Fuzzing).

usage: fuzz_corpus.py --qemu-img build/qemu-img --out fuzz/corpus [--format NAME]
"""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fuzzseeds  # noqa: E402

fuzzseeds.load_all()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--qemu-img", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--format", action="append", help="only these formats (default: all)")
    a = ap.parse_args()
    total = 0
    with tempfile.TemporaryDirectory() as work:
        for fmt, generate in sorted(fuzzseeds.GENERATORS.items()):
            if a.format and fmt not in a.format:
                continue
            n = generate(os.path.abspath(a.qemu_img), work, os.path.join(a.out, fmt))
            print(f"{fmt}: {n} seeds")
            total += n
    return 0 if total else 1


if __name__ == "__main__":
    sys.exit(main())
