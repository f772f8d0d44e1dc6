/* libFuzzer target for lt_idx_read (fuzz_file.h makes the temp file). The
 * first input byte picks the route: odd means the rest is gzip-compressed
 * before writing, so the inflate path sees every header the fuzzer invents
 * (raw inputs also reach zlib whenever they start with the gzip magic). */
#include "latent/io.h"
#include "fuzz_file.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(NULL, 0);
    if (size == 0) return 0;
    int gz = data[0] & 1;
    data++, size--;
    if (gz) {
        gzFile g = gzopen(path, "wb");
        if (!g || (size && gzwrite(g, data, (unsigned)size) != (int)size) || gzclose(g) != Z_OK) abort();
    } else {
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) abort();
    }

    lt_array *a = NULL;
    if (lt_idx_read(path, &a) == LT_OK) {
        size_t n = a->rows * a->cols;
        if (a->dtype != LT_U8) abort();
        if (n) ((volatile uint8_t *)a->data)[n - 1];
        lt_array_free(a);
    } else if (a || lt_last_error()[0] == '\0') {
        abort();
    }
    return 0;
}
