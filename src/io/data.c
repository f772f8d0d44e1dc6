/* Format choice for the data readers and writers. */
#include "internal.h"
#include "latent/io.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

lt_format lt_format_from_path(const char *path)
{
    if (!path) return LT_FMT_AUTO;
    if (ends_with(path, ".csv")) return LT_FMT_CSV;
    if (ends_with(path, ".npy")) return LT_FMT_NPY;
    /* MNIST ships as "train-images-idx3-ubyte" with no extension at all;
     * a compressed CSV or NPY is something we cannot read, not IDX. */
    if (ends_with(path, ".csv.gz") || ends_with(path, ".npy.gz")) return LT_FMT_AUTO;
    if (ends_with(path, ".idx") || ends_with(path, ".gz") || ends_with(path, "-ubyte")) return LT_FMT_IDX;
    return LT_FMT_AUTO;
}

lt_status lt_format_parse(const char *name, lt_format *out)
{
    static const char *const names[] = {"auto", "csv", "npy", "idx"};
    for (int i = 0; i < 4; i++)
        if (!name || strcasecmp(name, names[i]) == 0) {
            *out = name ? (lt_format)i : LT_FMT_AUTO;
            return LT_OK;
        }
    return lt_fail(LT_ERR_INVALID, "unknown data format '%s' (expected csv, npy, idx or auto)", name);
}

/* For a name without a known extension, look at the first bytes: NPY and
 * gzip have magic numbers, IDX starts with two zero bytes, and anything else
 * may be CSV, whose reader gives the most helpful message if it is not. */
static lt_status sniff(const char *path, lt_format *fmt)
{
    unsigned char b[6] = {0};
    FILE *fp = fopen(path, "rb");
    if (!fp) return lt_fail(LT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t n = fread(b, 1, sizeof b, fp);
    fclose(fp);
    if (n == 6 && memcmp(b, "\x93NUMPY", 6) == 0)
        *fmt = LT_FMT_NPY;
    else if (n >= 3 && ((b[0] == 0x1f && b[1] == 0x8b) || (b[0] == 0 && b[1] == 0)))
        *fmt = LT_FMT_IDX;
    else
        *fmt = LT_FMT_CSV;
    return LT_OK;
}

lt_status lt_data_read(const char *path, lt_format fmt, lt_array **out)
{
    if (out) *out = NULL;
    if (!path || !out) return lt_fail(LT_ERR_INVALID, "lt_data_read: no path or output given");
    if (fmt == LT_FMT_AUTO) fmt = lt_format_from_path(path);
    if (fmt == LT_FMT_AUTO) LT_CHECK(sniff(path, &fmt));
    switch (fmt) {
    case LT_FMT_CSV: return lt_csv_read(path, out, NULL);
    case LT_FMT_NPY: return lt_npy_read(path, out);
    case LT_FMT_IDX: return lt_idx_read(path, out);
    default: return lt_fail(LT_ERR_INVALID, "%s: unknown data format %d", path, (int)fmt);
    }
}

lt_status lt_data_write(const char *path, const lt_array *a)
{
    if (!path || !a) return lt_fail(LT_ERR_INVALID, "lt_data_write: no path or array given");
    switch (lt_format_from_path(path)) {
    case LT_FMT_CSV: return lt_csv_write(path, a, NULL);
    case LT_FMT_NPY: return lt_npy_write(path, a);
    default:
        return lt_fail(LT_ERR_INVALID, "%s: cannot tell the output format from the name (expected .csv or .npy)", path);
    }
}
