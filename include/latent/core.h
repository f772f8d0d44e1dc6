/* latent — core: status codes, errors, arrays, version.
 *
 * Every fallible function in liblatent returns an lt_status. On failure a
 * thread-local message (lt_last_error) says what went wrong, naming the
 * file, line, field or argument concerned. The library never prints,
 * exits or aborts.
 */
#ifndef LATENT_CORE_H
#define LATENT_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LT_VERSION_MAJOR 0
#define LT_VERSION_MINOR 1
#define LT_VERSION_PATCH 0
#define LT_VERSION_STRING "0.1.0"

typedef enum lt_status {
    LT_OK = 0,
    LT_ERR_NOMEM,       /* an allocation failed                          */
    LT_ERR_IO,          /* a file could not be opened, read or written    */
    LT_ERR_FORMAT,      /* input is malformed (bad CSV field, bad header) */
    LT_ERR_INVALID,     /* an argument or option is out of range          */
    LT_ERR_DIM,         /* sizes do not agree (data vs model dimension)   */
    LT_ERR_UNSUPPORTED, /* the operation or dtype is not supported        */
    LT_ERR_NUMERIC      /* NaN/Inf met, or a computation broke down       */
} lt_status;

/* The message describing the last failure on this thread ("" if none).
 * The pointer stays valid until the next failing call on this thread. */
const char *lt_last_error(void);

/* A short constant name for a status ("out of memory", "format error"...). */
const char *lt_status_name(lt_status s);

/* Library version string, e.g. "0.1.0". */
const char *lt_version(void);

/* Element types of arrays and views. */
typedef enum lt_dtype { LT_F64 = 0, LT_F32 = 1, LT_U8 = 2 } lt_dtype;

/* Bytes per element of a dtype, and its numpy/safetensors-style name
 * ("float64"/"F64" etc. are handled by the readers). */
size_t lt_dtype_size(lt_dtype t);
const char *lt_dtype_name(lt_dtype t); /* "float64", "float32", "uint8" */

/* An owned, contiguous, row-major 2-D array (a vector is cols = 1 or rows = 1).
 * Images are stored one per row (rows = n, cols = height*width); for image
 * sources `height`/`width` keep the geometry (0 when not images). */
typedef struct lt_array {
    size_t rows, cols;
    lt_dtype dtype;
    size_t height, width;
    void *data;
} lt_array;

/* Allocate a zeroed rows x cols array of the given dtype. *out is owned by
 * the caller and released with lt_array_free. rows or cols may be 0. */
lt_status lt_array_create(size_t rows, size_t cols, lt_dtype dtype, lt_array **out);

/* Free an array; NULL does nothing. */
void lt_array_free(lt_array *a);

/* A new float64 copy of any array (values of uint8 are copied as 0..255).
 * Fails with LT_ERR_NUMERIC naming the row and column of the first NaN or
 * infinity when `finite_check` is non-zero. */
lt_status lt_array_to_f64(const lt_array *a, int finite_check, lt_array **out);

/* Mean of x[0..n-1] and the standard error of that mean (sample standard
 * deviation over sqrt(n); 0 when n < 2), by Welford's running update. */
void lt_mean_stderr(const double *x, size_t n, double *mean, double *stderr_mean);

/* Element accessors, for tests and glue code (not hot loops). */
double lt_array_get(const lt_array *a, size_t r, size_t c);

#ifdef __cplusplus
}
#endif
#endif
