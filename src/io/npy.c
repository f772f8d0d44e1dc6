/* NPY reader and writer (numpy's .npy, format versions 1.0, 2.0 and 3.0).
 *
 * Layout: "\x93NUMPY", major, minor, the header length (uint16 LE in v1,
 * uint32 LE in v2/v3), then a Python dict literal (ASCII; UTF-8 in v3)
 *     {'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces to a 64-byte boundary and ended by '\n', then the raw
 * elements. The dict is tokenized rather than pattern-matched, so key order,
 * either quote style, spacing and Python 2's "3L" from other writers all
 * parse; anything that is not exactly the three known keys is refused.
 */
#include "internal.h"
#include "latent/io.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NPY_MAXDIM 32 /* numpy's own limit is 64; real files use 1-4 */
#define NPY_MAXHEADER (1u << 20)

typedef struct {
    const char *descr;
    size_t descr_len;
    int fortran;
    int ndim;
    size_t dims[NPY_MAXDIM];
} npy_header;

typedef struct {
    const char *p, *e;
} cursor;

static const struct {
    const char *name;
    lt_dtype dtype;
    int is_bool;
} npy_dtypes[] = {
    {"<f8", LT_F64, 0}, {"<f4", LT_F32, 0}, {"|u1", LT_U8, 0}, {"<u1", LT_U8, 0}, {">u1", LT_U8, 0},
    {"u1", LT_U8, 0},   {"|b1", LT_U8, 1},  {"<b1", LT_U8, 1}, {">b1", LT_U8, 1}, {"b1", LT_U8, 1},
};

static int host_is_le(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

static void swap_bytes(void *data, size_t n, size_t size)
{
    uint8_t *b = data;
    for (size_t i = 0; i < n; i++, b += size)
        for (size_t j = 0; j < size / 2; j++) {
            uint8_t t = b[j];
            b[j] = b[size - 1 - j];
            b[size - 1 - j] = t;
        }
}

static void skip_ws(cursor *c)
{
    while (c->p < c->e && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int eat(cursor *c, char ch)
{
    skip_ws(c);
    if (c->p < c->e && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A quoted Python string; the span excludes the quotes and keeps escapes,
 * which no valid key or dtype contains. */
static int parse_str(cursor *c, const char **s, size_t *n)
{
    skip_ws(c);
    if (c->p >= c->e || (*c->p != '\'' && *c->p != '"')) return 0;
    char q = *c->p++;
    *s = c->p;
    while (c->p < c->e && *c->p != q)
        c->p += (*c->p == '\\' && c->p + 1 < c->e) ? 2 : 1;
    if (c->p >= c->e) return 0;
    *n = (size_t)(c->p - *s);
    c->p++;
    return 1;
}

static int parse_word(cursor *c, const char *w)
{
    skip_ws(c);
    size_t n = strlen(w);
    if ((size_t)(c->e - c->p) < n || memcmp(c->p, w, n) != 0) return 0;
    c->p += n;
    return 1;
}

/* "(2, 3)", "(4,)", "()", "(2L, 3L)". Returns 0 on syntax errors, -1 when
 * a dimension does not fit in size_t or there are too many. */
static int parse_shape(cursor *c, size_t *dims, int *ndim)
{
    *ndim = 0;
    if (!eat(c, '(')) return 0;
    for (;;) {
        if (eat(c, ')')) return 1;
        skip_ws(c);
        if (c->p >= c->e || *c->p < '0' || *c->p > '9') return 0;
        size_t d = 0;
        for (; c->p < c->e && *c->p >= '0' && *c->p <= '9'; c->p++) {
            if (d > (SIZE_MAX - 9) / 10) return -1;
            d = d * 10 + (size_t)(*c->p - '0');
        }
        if (c->p < c->e && *c->p == 'L') c->p++;
        if (*ndim == NPY_MAXDIM) return -1;
        dims[(*ndim)++] = d;
        if (!eat(c, ',')) return eat(c, ')');
    }
}

static lt_status parse_header(const char *path, const char *text, size_t len, npy_header *h)
{
    cursor c = {text, text + len};
    int seen = 0;
    if (!eat(&c, '{')) return lt_fail(LT_ERR_FORMAT, "%s: NPY header is not a dict", path);
    while (!eat(&c, '}')) {
        const char *k;
        size_t kn;
        if (!parse_str(&c, &k, &kn) || !eat(&c, ':'))
            return lt_fail(LT_ERR_FORMAT, "%s: NPY header: expected 'key': at byte %zu", path, (size_t)(c.p - text));
        int bit = (kn == 5 && !memcmp(k, "descr", 5))             ? 1
                  : (kn == 13 && !memcmp(k, "fortran_order", 13)) ? 2
                  : (kn == 5 && !memcmp(k, "shape", 5))           ? 4
                                                                  : 0;
        if (!bit || (seen & bit))
            return lt_fail(LT_ERR_FORMAT, "%s: NPY header: %s key '%.*s'", path, bit ? "repeated" : "unknown",
                           (int)(kn > 40 ? 40 : kn), k);
        seen |= bit;
        if (bit == 1) {
            skip_ws(&c);
            if (c.p < c.e && *c.p == '[')
                return lt_fail(LT_ERR_UNSUPPORTED,
                               "%s: unsupported NPY dtype (structured record array; expected <f8, <f4 or |u1)", path);
            if (!parse_str(&c, &h->descr, &h->descr_len))
                return lt_fail(LT_ERR_FORMAT, "%s: NPY header: 'descr' is not a string", path);
        } else if (bit == 2) {
            if (parse_word(&c, "True"))
                h->fortran = 1;
            else if (parse_word(&c, "False"))
                h->fortran = 0;
            else
                return lt_fail(LT_ERR_FORMAT, "%s: NPY header: 'fortran_order' is not True or False", path);
        } else {
            int r = parse_shape(&c, h->dims, &h->ndim);
            if (r < 0) return lt_fail(LT_ERR_FORMAT, "%s: NPY header: 'shape' is too large", path);
            if (r == 0) return lt_fail(LT_ERR_FORMAT, "%s: NPY header: 'shape' is not a tuple of integers", path);
        }
        if (!eat(&c, ',')) {
            if (eat(&c, '}')) break;
            return lt_fail(LT_ERR_FORMAT, "%s: NPY header: expected ',' or '}' at byte %zu", path,
                           (size_t)(c.p - text));
        }
    }
    skip_ws(&c);
    if (c.p != c.e) return lt_fail(LT_ERR_FORMAT, "%s: NPY header: junk after the dict", path);
    for (int i = 0; i < 3; i++)
        if (!(seen & (1 << i)))
            return lt_fail(LT_ERR_FORMAT, "%s: NPY header has no '%s'", path,
                           (const char *[]){"descr", "fortran_order", "shape"}[i]);
    return LT_OK;
}

static uint32_t le_u32(const uint8_t *b, int nbytes)
{
    uint32_t v = 0;
    for (int i = nbytes - 1; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

lt_status lt_npy_read(const char *path, lt_array **out)
{
    lt_status st = LT_OK;
    lt_array *a = NULL;
    char *text = NULL;
    uint8_t pre[12];
    npy_header h = {0};
    if (out) *out = NULL;
    if (!path || !out) return lt_fail(LT_ERR_INVALID, "lt_npy_read: no path or output given");
    FILE *fp = fopen(path, "rb");
    if (!fp) return lt_fail(LT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));

    size_t got = fread(pre, 1, 8, fp);
    if (got < 8 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        st = ferror(fp) ? lt_fail(LT_ERR_IO, "%s: read error: %s", path, strerror(errno))
                        : lt_fail(LT_ERR_FORMAT, "%s: not an NPY file (no \\x93NUMPY magic)", path);
        goto done;
    }
    int lenbytes = pre[6] == 1 ? 2 : (pre[6] == 2 || pre[6] == 3) ? 4 : 0;
    if (!lenbytes || pre[7] != 0) {
        st = lt_fail(LT_ERR_UNSUPPORTED, "%s: unsupported NPY version %u.%u (expected 1.0, 2.0 or 3.0)", path, pre[6],
                     pre[7]);
        goto done;
    }
    if (fread(pre + 8, 1, (size_t)lenbytes, fp) != (size_t)lenbytes) {
        st = lt_fail(LT_ERR_FORMAT, "%s: truncated NPY header", path);
        goto done;
    }
    size_t hlen = le_u32(pre + 8, lenbytes), offset = 8 + (size_t)lenbytes + hlen;
    if (hlen > NPY_MAXHEADER) {
        st = lt_fail(LT_ERR_FORMAT, "%s: NPY header of %zu bytes is too large", path, hlen);
        goto done;
    }
    text = lt_malloc(hlen + 1, 1);
    if (!text) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    if ((got = fread(text, 1, hlen, fp)) != hlen) {
        st = lt_fail(LT_ERR_FORMAT, "%s: truncated NPY header (declares %zu bytes, file has %zu)", path, hlen, got);
        goto done;
    }
    st = parse_header(path, text, hlen, &h);
    if (st != LT_OK) goto done;

    int k = -1;
    for (int i = 0; i < (int)(sizeof npy_dtypes / sizeof *npy_dtypes); i++)
        if (strlen(npy_dtypes[i].name) == h.descr_len && !memcmp(npy_dtypes[i].name, h.descr, h.descr_len)) k = i;
    if (k < 0) {
        int n = h.descr_len > 40 ? 40 : (int)h.descr_len;
        int big = h.descr_len == 3 && h.descr[0] == '>' && (h.descr[1] == 'f' || h.descr[1] == 'i');
        st = lt_fail(LT_ERR_UNSUPPORTED, "%s: unsupported NPY dtype '%.*s' (%sexpected <f8, <f4 or |u1)", path, n,
                     h.descr, big ? "big-endian; " : "");
        goto done;
    }
    if (h.fortran) {
        st = lt_fail(LT_ERR_UNSUPPORTED,
                     "%s: NPY arrays with fortran_order True are not supported (save a C-ordered copy)", path);
        goto done;
    }
    if (h.ndim == 0) {
        st = lt_fail(LT_ERR_UNSUPPORTED, "%s: 0-d NPY arrays (scalars) are not supported", path);
        goto done;
    }

    /* Overflow is judged on the nonzero dimensions, so (2^40, 2^40, 0) is
     * refused rather than read as 2^40 empty rows. */
    lt_dtype dt = npy_dtypes[k].dtype;
    size_t esize = lt_dtype_size(dt), cols = 1, nonzero = esize, nbytes;
    int ok = 1;
    for (int i = 0; i < h.ndim; i++) {
        if (i > 0) cols = lt_mul_size(cols, h.dims[i], &ok);
        if (h.dims[i]) nonzero = lt_mul_size(nonzero, h.dims[i], &ok);
    }
    nbytes = lt_mul_size(lt_mul_size(h.dims[0], cols, &ok), esize, &ok);
    if (!ok) {
        st = lt_fail(LT_ERR_FORMAT, "%s: NPY shape is too large", path);
        goto done;
    }
    /* Check the length before allocating, so a corrupt shape cannot ask for
     * terabytes; streams that cannot be sized are checked after reading. */
    struct stat sb;
    if (fstat(fileno(fp), &sb) == 0 && S_ISREG(sb.st_mode)) {
        size_t have = (uintmax_t)sb.st_size > offset ? (size_t)((uintmax_t)sb.st_size - offset) : 0;
        if (have != nbytes) {
            st = lt_fail(LT_ERR_FORMAT, "%s: %s: header declares %zu bytes of data, file has %zu", path,
                         have < nbytes ? "truncated" : "trailing data", nbytes, have);
            goto done;
        }
    }
    st = lt_array_create(h.dims[0], cols, dt, &a);
    if (st != LT_OK) goto done;
    if (h.ndim == 3) {
        a->height = h.dims[1];
        a->width = h.dims[2];
    }
    if ((got = fread(a->data, 1, nbytes, fp)) != nbytes || fgetc(fp) != EOF) {
        st = ferror(fp)
                 ? lt_fail(LT_ERR_IO, "%s: read error: %s", path, strerror(errno))
                 : lt_fail(LT_ERR_FORMAT, "%s: %s: header declares %zu bytes of data, file has %s%zu", path,
                           got < nbytes ? "truncated" : "trailing data", nbytes, got < nbytes ? "" : "more than ", got);
        goto done;
    }
    if (npy_dtypes[k].is_bool) {
        uint8_t *b = a->data;
        for (size_t i = 0; i < nbytes; i++)
            b[i] = b[i] != 0;
    }
    if (esize > 1 && !host_is_le()) swap_bytes(a->data, nbytes / esize, esize);
    *out = a;
    a = NULL;
done:
    lt_array_free(a);
    free(text);
    fclose(fp);
    return st;
}

lt_status lt_npy_write(const char *path, const lt_array *a)
{
    lt_status st = LT_OK;
    lt_atomic_file *af = NULL;
    if (!path || !a) return lt_fail(LT_ERR_INVALID, "lt_npy_write: no path or array given");
    const char *descr = a->dtype == LT_F64 ? "<f8" : a->dtype == LT_F32 ? "<f4" : a->dtype == LT_U8 ? "|u1" : NULL;
    if (!descr) return lt_fail(LT_ERR_UNSUPPORTED, "%s: cannot write dtype %d as NPY", path, (int)a->dtype);

    /* numpy pads so that the data starts on a 64-byte boundary (for mmap). */
    char hdr[192];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (%zu, %zu), }", descr, a->rows,
                     a->cols);
    size_t hlen = (size_t)n + 1;
    hlen += (64 - (10 + hlen) % 64) % 64;
    memset(hdr + n, ' ', hlen - 1 - (size_t)n);
    hdr[hlen - 1] = '\n';
    uint8_t pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (uint8_t)(hlen & 0xff), (uint8_t)(hlen >> 8)};

    st = lt_atomic_open(path, &af);
    if (st != LT_OK) goto done;
    FILE *fp = lt_atomic_stream(af);
    fwrite(pre, 1, sizeof pre, fp);
    fwrite(hdr, 1, hlen, fp);
    size_t esize = lt_dtype_size(a->dtype), count = a->rows * a->cols;
    if (esize == 1 || host_is_le()) {
        fwrite(a->data, esize, count, fp);
    } else {
        for (size_t i = 0; i < count; i++) {
            uint8_t b[8];
            memcpy(b, (const uint8_t *)a->data + i * esize, esize);
            swap_bytes(b, 1, esize);
            fwrite(b, 1, esize, fp);
        }
    }
    st = lt_atomic_commit(af); /* reports any earlier fwrite failure */
    af = NULL;
done:
    lt_atomic_abort(af);
    return st;
}
