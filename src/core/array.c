/* Owned 2-D arrays. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t lt_dtype_size(lt_dtype t)
{
    switch (t) {
    case LT_F64: return 8;
    case LT_F32: return 4;
    case LT_U8: return 1;
    }
    return 0;
}

const char *lt_dtype_name(lt_dtype t)
{
    switch (t) {
    case LT_F64: return "float64";
    case LT_F32: return "float32";
    case LT_U8: return "uint8";
    }
    return "unknown";
}

lt_status lt_array_create(size_t rows, size_t cols, lt_dtype dtype, lt_array **out)
{
    *out = NULL;
    int ok = 1;
    size_t n = lt_mul_size(rows, cols, &ok);
    if (!ok || lt_dtype_size(dtype) == 0)
        return lt_fail(LT_ERR_INVALID, "array of %zu x %zu elements is too large", rows, cols);
    lt_array *a = lt_calloc(1, sizeof *a);
    if (!a) return LT_ERR_NOMEM;
    a->data = lt_calloc(n, lt_dtype_size(dtype));
    if (!a->data) {
        free(a);
        return LT_ERR_NOMEM;
    }
    a->rows = rows;
    a->cols = cols;
    a->dtype = dtype;
    *out = a;
    return LT_OK;
}

void lt_array_free(lt_array *a)
{
    if (!a) return;
    free(a->data);
    free(a);
}

double lt_array_get(const lt_array *a, size_t r, size_t c)
{
    size_t i = r * a->cols + c;
    switch (a->dtype) {
    case LT_F64: return ((const double *)a->data)[i];
    case LT_F32: return ((const float *)a->data)[i];
    case LT_U8: return ((const uint8_t *)a->data)[i];
    }
    return NAN;
}

lt_status lt_array_to_f64(const lt_array *a, int finite_check, lt_array **out)
{
    lt_array *b;
    LT_CHECK(lt_array_create(a->rows, a->cols, LT_F64, &b));
    b->height = a->height;
    b->width = a->width;
    double *x = b->data;
    size_t n = a->rows * a->cols;
    switch (a->dtype) {
    case LT_F64: memcpy(x, a->data, n * sizeof(double)); break;
    case LT_F32:
        for (size_t i = 0; i < n; i++) x[i] = ((const float *)a->data)[i];
        break;
    case LT_U8:
        for (size_t i = 0; i < n; i++) x[i] = ((const uint8_t *)a->data)[i];
        break;
    }
    if (finite_check)
        for (size_t i = 0; i < n; i++)
            if (!isfinite(x[i])) {
                lt_status st = lt_fail(LT_ERR_NUMERIC, "row %zu, column %zu: value is %s (expected a finite number)",
                                       i / a->cols + 1, i % a->cols + 1, isnan(x[i]) ? "NaN" : "infinite");
                lt_array_free(b);
                return st;
            }
    *out = b;
    return LT_OK;
}

void lt_mean_stderr(const double *x, size_t n, double *mean, double *stderr_mean)
{
    double m = 0.0, m2 = 0.0;
    for (size_t i = 0; i < n; i++) {
        double delta = x[i] - m;
        m += delta / (double)(i + 1);
        m2 += delta * (x[i] - m);
    }
    *mean = m;
    *stderr_mean = n > 1 ? sqrt(m2 / (double)(n - 1) / (double)n) : 0.0;
}
