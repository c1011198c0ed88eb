#!/bin/sh
# ci/demo.sh — the README's first command (make demo): a real job with build/qemu-img on the sample image the repository ships (spec/architecture.md §Tests).
# Unpacks ci/samples/grub_mbr.raw.bz2 (a 512-byte GRUB boot sector), shows its info, converts it
# to qcow2, shows that image's info and map, and compares both: the copy must be identical.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
img="$root/build/qemu-img"
[ -x "$img" ] || { echo "demo: $img is missing: run make" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/qimg-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
bzip2 -dc "$root/ci/samples/grub_mbr.raw.bz2" > "$work/grub_mbr.raw"
cd "$work"

step() { printf '\n$ qemu-img %s\n' "$*"; "$img" "$@"; }

echo "qimg demo: sample image grub_mbr.raw ($(wc -c < grub_mbr.raw) bytes, sha256 $(sha256sum grub_mbr.raw | cut -c1-16)...)"
step info -f raw grub_mbr.raw
step convert -f raw -O qcow2 grub_mbr.raw grub_mbr.qcow2
step info grub_mbr.qcow2
step map --output=json grub_mbr.qcow2
step compare -f raw -F qcow2 grub_mbr.raw grub_mbr.qcow2
step convert -f qcow2 -O raw grub_mbr.qcow2 back.raw
if cmp -s grub_mbr.raw back.raw; then
    echo "
demo: grub_mbr.raw -> qcow2 -> raw round trip is byte-identical ($(wc -c < back.raw) bytes)"
else
    echo "
demo: round trip differs" >&2
    exit 1
fi
