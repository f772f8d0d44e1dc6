/* IDX reader (the MNIST and Fashion-MNIST format), plain or gzip.
 *
 * Layout: two zero bytes, a type byte (0x08 = unsigned byte), the number of
 * dimensions, one big-endian uint32 per dimension, then the data, row-major,
 * and nothing after it. zlib's gzread passes plain files through unchanged,
 * so one code path serves both. The size of a gzip stream is unknown until
 * it is inflated, so the data are read into a buffer that grows with what is
 * actually there: a corrupt header cannot make us allocate what it declares.
 */
#include "internal.h"
#include "latent/io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* zlib's message, without the "path: " it puts in front. */
static const char *gz_msg(gzFile gz, const char *path, int *zerr)
{
    const char *msg = gzerror(gz, zerr);
    size_t n = strlen(path);
    return strncmp(msg, path, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ' ? msg + n + 2 : msg;
}

/* Read up to n bytes; *got says how many there were. */
static lt_status gz_read(gzFile gz, const char *path, void *buf, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        size_t chunk = n - *got > (1u << 30) ? (1u << 30) : n - *got;
        int r = gzread(gz, (uint8_t *)buf + *got, (unsigned)chunk);
        if (r < 0) {
            int zerr;
            const char *msg = gz_msg(gz, path, &zerr);
            if (zerr == Z_ERRNO) return lt_fail(LT_ERR_IO, "%s: read error: %s", path, strerror(errno));
            return lt_fail(LT_ERR_FORMAT, "%s: corrupt gzip data: %s", path, msg);
        }
        if (r == 0) break;
        *got += (size_t)r;
    }
    return LT_OK;
}

lt_status lt_idx_read(const char *path, lt_array **out)
{
    lt_status st = LT_OK;
    uint8_t *buf = NULL;
    uint8_t head[4 + 4 * 255];
    size_t got, dims[255];
    if (out) *out = NULL;
    if (!path || !out) return lt_fail(LT_ERR_INVALID, "lt_idx_read: no path or output given");
    errno = 0;
    gzFile gz = gzopen(path, "rb");
    if (!gz) return lt_fail(LT_ERR_IO, "%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
    gzbuffer(gz, 1 << 17);

    if ((st = gz_read(gz, path, head, 4, &got)) != LT_OK) goto done;
    if (got < 4 || head[0] != 0 || head[1] != 0) {
        st = got < 4 ? lt_fail(LT_ERR_FORMAT, "%s: not an IDX file (only %zu bytes)", path, got)
                     : lt_fail(LT_ERR_FORMAT, "%s: not an IDX file (bad magic 0x%02X 0x%02X at offset 0)", path,
                               head[0], head[1]);
        goto done;
    }
    if (head[2] != 0x08) {
        st = lt_fail(LT_ERR_UNSUPPORTED, "%s: unsupported IDX type 0x%02X (expected 0x08, unsigned byte)", path,
                     head[2]);
        goto done;
    }
    int ndim = head[3];
    if (ndim == 0) {
        st = lt_fail(LT_ERR_FORMAT, "%s: IDX header at offset 3 declares 0 dimensions", path);
        goto done;
    }
    if ((st = gz_read(gz, path, head + 4, 4 * (size_t)ndim, &got)) != LT_OK) goto done;
    if (got < 4 * (size_t)ndim) {
        st = lt_fail(LT_ERR_FORMAT, "%s: truncated IDX header: %d dimensions need %d bytes at offset 4, file has %zu",
                     path, ndim, 4 * ndim, got);
        goto done;
    }
    size_t cols = 1, nbytes, offset = 4 + 4 * (size_t)ndim, nonzero = 1;
    int ok = 1;
    for (int i = 0; i < ndim; i++) {
        const uint8_t *b = head + 4 + 4 * i;
        dims[i] = (size_t)b[0] << 24 | (size_t)b[1] << 16 | (size_t)b[2] << 8 | b[3];
        if (i > 0) cols = lt_mul_size(cols, dims[i], &ok);
        if (dims[i]) nonzero = lt_mul_size(nonzero, dims[i], &ok);
    }
    nbytes = lt_mul_size(dims[0], cols, &ok);
    if (!ok || nbytes == SIZE_MAX) {
        st = lt_fail(LT_ERR_FORMAT, "%s: IDX dimensions at offset 4 are too large", path);
        goto done;
    }

    /* Ask for one byte more than declared, to notice trailing data. */
    size_t want = nbytes + 1, cap = want < (1u << 20) ? want : (1u << 20), len = 0;
    buf = lt_malloc(cap, 1);
    if (!buf) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    for (;;) {
        if ((st = gz_read(gz, path, buf + len, cap - len, &got)) != LT_OK) goto done;
        len += got;
        if (len < cap || cap == want) break;
        size_t ncap = cap > want / 2 ? want : cap * 2;
        uint8_t *nb = realloc(buf, ncap);
        if (!nb) {
            st = lt_fail(LT_ERR_NOMEM, "%s: out of memory reading %zu bytes of data", path, nbytes);
            goto done;
        }
        buf = nb;
        cap = ncap;
    }
    /* A damaged or cut gzip stream is reported as such (zlib only says so
     * here), rather than as a short file. */
    int zerr;
    const char *zmsg = gz_msg(gz, path, &zerr);
    if (zerr != Z_OK) {
        st = lt_fail(LT_ERR_FORMAT, "%s: corrupt gzip data: %s", path, zmsg);
        goto done;
    }
    if (len != nbytes) {
        st = len < nbytes ? lt_fail(LT_ERR_FORMAT,
                                    "%s: truncated: header declares %zu bytes of data at offset %zu, "
                                    "file has %zu",
                                    path, nbytes, offset, len)
                          : lt_fail(LT_ERR_FORMAT,
                                    "%s: trailing data at offset %zu: header declares %zu bytes of "
                                    "data, file has more",
                                    path, offset + nbytes, nbytes);
        goto done;
    }

    lt_array *a = lt_calloc(1, sizeof *a);
    if (!a) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    a->rows = dims[0];
    a->cols = cols;
    a->dtype = LT_U8;
    if (ndim == 3) {
        a->height = dims[1];
        a->width = dims[2];
    }
    a->data = buf;
    buf = NULL;
    *out = a;
done:
    free(buf);
    int zc = gzclose(gz);
    if (st == LT_OK && zc != Z_OK) {
        lt_array_free(*out);
        *out = NULL;
        st = lt_fail(LT_ERR_FORMAT, "%s: corrupt gzip data (stream ends early)", path);
    }
    return st;
}
