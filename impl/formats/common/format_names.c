/* format_names.c — the BlockdevDriver names of qemu 10.2 (spec/formats-common.md §Driver names). */
#include <string.h>

#include "format_names.h"

/* Block drivers qemu's QAPI accepts as a driver name, as the 10.2 build lists them. */
static const char *const format_blockdev_drivers[] = {
    "blkdebug", "blklogwrites", "blkreplay", "blkverify", "bochs", "cloop", "compress", "copy-before-write",
    "copy-on-read", "dmg", "file", "snapshot-access", "ftp", "ftps", "gluster", "host_cdrom", "host_device", "http",
    "https", "io_uring", "iscsi", "luks", "nbd", "nfs", "null-aio", "null-co", "nvme", "nvme-io_uring", "parallels",
    "preallocate", "qcow", "qcow2", "qed", "quorum", "raw", "rbd", "replication", "ssh", "throttle", "vdi", "vhdx",
    "virtio-blk-vfio-pci", "virtio-blk-vhost-user", "virtio-blk-vhost-vdpa", "vmdk", "vpc", "vvfat", NULL,
};

bool format_blockdev_driver_known(const char *name)
{
    for (size_t i = 0; format_blockdev_drivers[i]; i++)
        if (strcmp(format_blockdev_drivers[i], name) == 0)
            return true;
    return false;
}
