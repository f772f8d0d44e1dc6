/* libFuzzer target for lt_npy_read (see fuzz_csv.c for the temp file). */
#include "latent/io.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char path[] = "/tmp/lt_fuzz_npy_XXXXXX";

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
    if (lt_npy_read(path, &a) == LT_OK) {
        /* The data must be as long as the shape says: touch the last byte. */
        size_t n = a->rows * a->cols * lt_dtype_size(a->dtype);
        if (n) ((volatile uint8_t *)a->data)[n - 1];
        lt_array_free(a);
    } else if (a || lt_last_error()[0] == '\0') {
        abort();
    }
    return 0;
}
