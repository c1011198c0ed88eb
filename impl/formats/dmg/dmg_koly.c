/* dmg_koly.c — the UDIF trailer: finding "koly" near the end of the file, decoding the fields qemu
 * reads and its checks of them (spec/dmg.md §Trailer). */
#include <string.h>

#include "dmg.h"
#include "../../util/endian.h"

int64_t dmg_koly_find(const uint8_t *buf, size_t window, uint64_t window_start)
{
    for (size_t i = 0; i + 4 <= window; i++)
        if (memcmp(buf + i, "koly", 4) == 0)
            return (int64_t)(window_start + i);
    return -1;
}

void dmg_koly_read_data(const uint8_t *buf, dmg_koly *koly)
{
    koly->data_fork_offset = endian_load_be64(buf + 0x18);
    koly->rsrc_fork_offset = endian_load_be64(buf + 0x28);
    koly->rsrc_fork_length = endian_load_be64(buf + 0x30);
    koly->plist_offset = endian_load_be64(buf + 0xd8);
    koly->plist_length = endian_load_be64(buf + 0xe0);
    koly->sector_count = endian_load_be64(buf + 0x1ec);
}

int dmg_koly_validate(const dmg_koly *koly, uint64_t koly_offset)
{
    if (koly->rsrc_fork_offset >= koly_offset || koly->rsrc_fork_length > koly_offset - koly->rsrc_fork_offset)
        return -1;
    if (koly->plist_offset >= koly_offset || koly->plist_length > koly_offset - koly->plist_offset)
        return -1;
    if (koly->sector_count > (uint64_t)INT64_MAX)
        return -1;
    return 0;
}
