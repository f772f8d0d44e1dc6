/* libFuzzer target for lt_npy_read (fuzz_file.h makes the temp file). */
#include "latent/io.h"
#include "fuzz_file.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size);

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
