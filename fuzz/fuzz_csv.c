/* libFuzzer target for lt_csv_read (fuzz_file.h makes the temp file). */
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
