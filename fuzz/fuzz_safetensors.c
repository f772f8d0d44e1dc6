/* libFuzzer target: lt_st_parse on arbitrary bytes must fail cleanly or give
 * a file whose every tensor can be described and looked up.
 * Built like the other targets (see fuzz/CMakeLists.txt); seed it with model
 * files, e.g. those the tests leave in build/tests/tmp_safetensors/.
 */
#include "latent/safetensors.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lt_st_file *f = NULL;
    if (lt_st_parse("fuzz", data, size, &f) != LT_OK) return 0;
    /* Touch everything the parser promised, so a sanitizer sees a bad promise. */
    size_t n = lt_st_count(f);
    for (size_t i = 0; i < n; i++) {
        lt_st_dtype dt;
        size_t nd = 0, shape[LT_ST_MAX_DIMS];
        const void *p = NULL;
        if (lt_st_describe(f, i, &dt, &nd, shape) != LT_OK) __builtin_trap();
        if (lt_st_tensor(f, lt_st_name(f, i), dt, nd, shape, &p) != LT_OK || !p) __builtin_trap();
        size_t bytes = dt == LT_ST_U8 ? 1 : dt == LT_ST_F32 ? 4 : 8;
        for (size_t d = 0; d < nd; d++)
            bytes *= shape[d];
        volatile uint8_t sink = 0;
        for (size_t b = 0; b < bytes; b++)
            sink ^= ((const uint8_t *)p)[b];
        (void)sink;
    }
    for (size_t i = 0; i < lt_st_meta_count(f); i++) {
        const char *k = lt_st_meta_key(f, i);
        if (!k || !lt_st_meta(f, k)) __builtin_trap();
        double v;
        int64_t iv;
        (void)lt_st_meta_f64(f, k, &v);
        (void)lt_st_meta_i64(f, k, &iv);
    }
    lt_st_free(f);
    return 0;
}
