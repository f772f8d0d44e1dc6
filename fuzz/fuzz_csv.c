/* libFuzzer target for lt_csv_read. The readers take a path, so each input
 * goes through a temporary file, made once per process (mkstemp keeps
 * parallel fuzzing jobs apart) and removed at exit. */
#include "latent/io.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char path[] = "/tmp/lt_fuzz_csv_XXXXXX";

static void remove_temp(void)
{
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        int fd = mkstemp(path);
        if (fd < 0) abort();
        close(fd);
        atexit(remove_temp);
        ready = 1;
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) abort();

    lt_array *a = NULL;
    char **header = NULL;
    if (lt_csv_read(path, &a, &header) == LT_OK) {
        if (!a || a->rows == 0 || a->cols == 0) abort();
        lt_array_free(a);
        lt_strings_free(header);
    } else if (a || header || lt_last_error()[0] == '\0') {
        abort(); /* a failure must leave no result and say why */
    }
    return 0;
}
