/* registry.c — the table of every driver, lookup by name and format probing (spec/architecture.md §Block layer). */
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "file.h"

/* Drivers are referenced weakly so that a driver still being written does not break the build:
 * an absent one is simply not registered. */
#define DRIVER_DECLARE(name) extern const block_driver block_driver_##name __attribute__((weak));
DRIVER_DECLARE(raw)
DRIVER_DECLARE(qcow2)
DRIVER_DECLARE(qcow)
DRIVER_DECLARE(qed)
DRIVER_DECLARE(vdi)
DRIVER_DECLARE(vmdk)
DRIVER_DECLARE(vpc)
DRIVER_DECLARE(vhdx)
DRIVER_DECLARE(parallels)
DRIVER_DECLARE(luks)
DRIVER_DECLARE(bochs)
DRIVER_DECLARE(cloop)
DRIVER_DECLARE(dmg)

enum { REGISTRY_MAX = 16 };

static const block_driver *registry_drivers[REGISTRY_MAX + 1];
static int registry_ready;

/* Fills the table once, in a fixed order (probing ties go to the earlier driver). */
static void registry_fill(void)
{
    if (registry_ready)
        return;
    const block_driver *candidates[] = {
        &block_driver_qcow2, &block_driver_qed, &block_driver_qcow, &block_driver_vdi, &block_driver_vmdk,
        &block_driver_vpc, &block_driver_vhdx, &block_driver_parallels, &block_driver_luks, &block_driver_bochs,
        &block_driver_cloop, &block_driver_dmg, &block_driver_raw, &block_driver_file, &block_driver_host_device,
    };
    int n = 0;
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]) && n < REGISTRY_MAX; i++)
        if (candidates[i] != NULL)
            registry_drivers[n++] = candidates[i];
    registry_drivers[n] = NULL;
    registry_ready = 1;
}

const block_driver *const *block_driver_all(void)
{
    registry_fill();
    return registry_drivers;
}

const block_driver *block_driver_find(const char *format_name)
{
    registry_fill();
    for (int i = 0; registry_drivers[i]; i++)
        if (strcmp(registry_drivers[i]->format_name, format_name) == 0)
            return registry_drivers[i];
    return NULL;
}

const block_driver *block_driver_find_protocol(const char *filename)
{
    char *path = NULL;
    const block_driver *protocol = file_protocol_resolve(filename, &path, NULL);
    free(path);
    return protocol ? protocol : &block_driver_file;
}

const block_driver *block_driver_probe(const uint8_t *buf, size_t buf_size, const char *filename)
{
    registry_fill();
    const block_driver *best = NULL;
    int best_score = 0;
    for (int i = 0; registry_drivers[i]; i++) {
        const block_driver *drv = registry_drivers[i];
        if (drv->probe == NULL || drv->is_protocol)
            continue;
        int score = drv->probe(buf, buf_size, filename);
        if (score > best_score) {
            best_score = score;
            best = drv;
        }
    }
    return best;
}
