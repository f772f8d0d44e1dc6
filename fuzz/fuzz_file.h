/* The readers take a path, so each fuzz input goes through a temporary file,
 * made once per process (mkstemp keeps parallel fuzzing jobs apart) and
 * removed at exit. */
#ifndef LT_FUZZ_FILE_H
#define LT_FUZZ_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char fuzz_path[] = "/tmp/lt_fuzz_XXXXXX";

static void fuzz_remove_temp(void) { unlink(fuzz_path); }

/* Write the input to the temporary file; returns its path. */
static const char *fuzz_file(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        int fd = mkstemp(fuzz_path);
        if (fd < 0) abort();
        close(fd);
        atexit(fuzz_remove_temp);
        ready = 1;
    }
    FILE *f = fopen(fuzz_path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) abort();
    return fuzz_path;
}

#endif
