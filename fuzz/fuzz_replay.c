/* fuzz_replay.c — runs a fuzz target over files and folders of inputs with no fuzzing engine, so that
 * `make check` replays every corpus under ASan+UBSan (spec/architecture.md §Fuzzing). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs the target on one file; returns 1 when it was run. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    uint8_t *buf = malloc(FUZZ_INPUT_MAX + 1);
    size_t n = buf ? fread(buf, 1, FUZZ_INPUT_MAX + 1, f) : 0;
    fclose(f);
    if (buf == NULL)
        return 0;
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 1;
}

static int replay_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return 0;
    if (!S_ISDIR(st.st_mode))
        return replay_file(path);
    DIR *dir = opendir(path);
    if (dir == NULL)
        return 0;
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        size_t len = strlen(path) + strlen(entry->d_name) + 2;
        char *child = malloc(len);
        if (child == NULL)
            break;
        snprintf(child, len, "%s/%s", path, entry->d_name);
        count += replay_path(child);
        free(child);
    }
    closedir(dir);
    return count;
}

int main(int argc, char **argv)
{
    int count = 0;
    for (int i = 1; i < argc; i++)
        count += replay_path(argv[i]);
    fprintf(stderr, "replayed %d inputs\n", count);
    /* stdout is silenced by the targets; the count goes to stderr for the runner. */
    return 0;
}
