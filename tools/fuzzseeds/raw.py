"""raw fuzz seeds: empty, one sector and patterned files (spec/raw.md)."""
import os

from . import generator, pattern_file, save


@generator("raw")
def raw_seeds(qemu_img, work, out):
    count = 0
    for i, (size, spans) in enumerate([(0, []), (512, [(0, 512, 0xEB)]), (65536, [(0, 4096, 0x11)]),
                                       (1 << 20, [(4096, 8192, 0x22), (512 * 1024, 512, 0x33)])]):
        path = os.path.join(work, f"raw{i}.img")
        pattern_file(path, size, spans)
        count += save(out, f"raw-{i}", path, i)
    return count
