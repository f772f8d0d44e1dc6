/* Numeric CSV reader and writer.
 *
 * The reader loads the whole file into one buffer and parses it in place:
 * lines are found with memchr and fields converted by an exact fast path for
 * short decimals, else strtod; a 100 MB file reads in about a second, most of
 * it in read(2) (a getline loop spends its time copying). Positions
 * in messages are 1-based: LINE counts physical lines, blank ones included,
 * and COL counts fields, so "f.csv:3:2" is the second value on line 3.
 *
 * strtod follows LC_NUMERIC; the library never calls setlocale, so this only
 * matters to a program that sets a decimal-comma locale itself (then long
 * decimals would be refused).
 */
#include "internal.h"
#include "latent/io.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { F_NUM, F_NAN, F_INF, F_RANGE, F_BAD };

void lt_strings_free(char **s)
{
    if (!s) return;
    for (char **p = s; *p; p++)
        free(*p);
    free(s);
}

/* The whole file, NUL-terminated so strtod always stops inside the buffer. */
static lt_status slurp(const char *path, char **buf_out, size_t *len_out)
{
    lt_status st = LT_OK;
    char *buf = NULL;
    size_t len = 0, cap = 1 << 16;
    FILE *fp = fopen(path, "rb");
    if (!fp) return lt_fail(LT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(fp), &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 && (uintmax_t)sb.st_size < SIZE_MAX / 2)
        cap = (size_t)sb.st_size + 1;
    buf = lt_malloc(cap, 1);
    if (!buf) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    for (;;) {
        len += fread(buf + len, 1, cap - 1 - len, fp);
        if (len < cap - 1) break;
        /* Full: probe for more before growing, so a file whose size fstat
         * reported exactly costs no reallocation. */
        int c = fgetc(fp);
        if (c == EOF) break;
        if (cap > SIZE_MAX / 2) {
            st = lt_fail(LT_ERR_NOMEM, "%s: file too large", path);
            goto done;
        }
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            st = lt_fail(LT_ERR_NOMEM, "%s: out of memory reading the file", path);
            goto done;
        }
        buf = nb;
        cap *= 2;
        buf[len++] = (char)c;
    }
    if (ferror(fp)) {
        st = lt_fail(LT_ERR_IO, "%s: read error: %s", path, strerror(errno));
        goto done;
    }
    buf[len] = '\0';
    *buf_out = buf;
    *len_out = len;
    buf = NULL;
done:
    free(buf);
    fclose(fp);
    return st;
}

static int ieq(const char *s, size_t n, const char *word)
{
    if (strlen(word) != n) return 0;
    for (size_t i = 0; i < n; i++)
        if ((s[i] | 32) != word[i]) return 0;
    return 1;
}

/* Clinger's fast path: a decimal with a mantissa of at most 2^53 and a
 * power of ten up to 22 is one correctly rounded multiply or divide of two
 * exact doubles, so it equals strtod's result at a fraction of the cost.
 * Returns 0 to defer anything else (long mantissas, big exponents, junk) to
 * strtod. Needs double arithmetic without extended precision. */
static int fast_decimal(const char *p, const char *e, double *v)
{
    static const double p10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                   1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    uint64_t m = 0;
    int neg = 0, nd = 0, frac = 0, any = 0, ex = 0, in_frac = 0;
    if (FLT_EVAL_METHOD != 0) return 0;
    if (*p == '+' || *p == '-') neg = *p++ == '-';
    for (; p < e; p++) {
        if (*p == '.' && !in_frac) {
            in_frac = 1;
            continue;
        }
        if (*p < '0' || *p > '9') break;
        if (nd >= 19) return 0;
        m = m * 10 + (uint64_t)(*p - '0');
        nd += m != 0;
        frac += in_frac;
        any = 1;
    }
    if (!any) return 0;
    if (p < e && (*p | 32) == 'e') {
        int eneg = 0;
        if (++p < e && (*p == '+' || *p == '-')) eneg = *p++ == '-';
        if (p == e) return 0;
        for (; p < e && *p >= '0' && *p <= '9' && ex < 1000; p++)
            ex = ex * 10 + (*p - '0');
        if (eneg) ex = -ex;
    }
    ex -= frac;
    if (p != e || m > (1ull << 53) || ex < -22 || ex > 22) return 0;
    double d = ex < 0 ? (double)m / p10[-ex] : (double)m * p10[ex];
    *v = neg ? -d : d;
    return 1;
}

/* Classify and convert the trimmed field [s, e). Only decimal notation goes
 * to strtod: it would also take hex floats, "nan(...)" and "infinity", which
 * are either not decimal numbers or refused with their own message. */
static int parse_field(const char *s, const char *e, double *v)
{
    const char *p = s;
    if (p < e && (*p == '+' || *p == '-')) p++;
    if (p < e && ((*p >= '0' && *p <= '9') || *p == '.') && !(p[0] == '0' && p + 1 < e && (p[1] | 32) == 'x')) {
        if (fast_decimal(s, e, v)) return F_NUM;
        char *end;
        *v = strtod(s, &end);
        if (end != e) return F_BAD;
        return isinf(*v) ? F_RANGE : F_NUM;
    }
    size_t n = (size_t)(e - p);
    if (ieq(p, n, "nan")) return F_NAN;
    if (ieq(p, n, "inf") || ieq(p, n, "infinity")) return F_INF;
    return F_BAD;
}

static const char *trim(const char **s, const char *e)
{
    while (*s < e && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (e > *s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    return e;
}

static size_t count_fields(const char *p, const char *le)
{
    size_t n = 1;
    while ((p = memchr(p, ',', (size_t)(le - p))) != NULL)
        n++, p++;
    return n;
}

static lt_status field_error(const char *path, size_t line, size_t col, int kind, const char *s, const char *e)
{
    /* Show at most 40 bytes, with control and non-ASCII bytes as '?', so a
     * binary file gives a readable message. */
    char shown[48];
    size_t n = (size_t)(e - s) > 40 ? 40 : (size_t)(e - s);
    for (size_t i = 0; i < n; i++)
        shown[i] = (s[i] >= 32 && s[i] < 127) ? s[i] : '?';
    strcpy(shown + n, (size_t)(e - s) > 40 ? "..." : "");
    switch (kind) {
    case F_NAN: return lt_fail(LT_ERR_NUMERIC, "%s:%zu:%zu: NaN is not allowed", path, line, col);
    case F_INF: return lt_fail(LT_ERR_NUMERIC, "%s:%zu:%zu: inf is not allowed", path, line, col);
    case F_RANGE: return lt_fail(LT_ERR_NUMERIC, "%s:%zu:%zu: number out of range, found '%s'", path, line, col, shown);
    default: return lt_fail(LT_ERR_FORMAT, "%s:%zu:%zu: expected a number, found '%s'", path, line, col, shown);
    }
}

/* Header names: fields may be double-quoted with "" for a quote inside, so
 * that names holding commas survive; unquoted names are trimmed. */
static lt_status parse_header(const char *p, const char *le, char ***names_out, size_t *n_out)
{
    lt_status st = LT_OK;
    size_t n = 0, cap = count_fields(p, le) + 1; /* quoted commas only shrink it */
    char **names = lt_calloc(cap, sizeof *names);
    if (!names) return LT_ERR_NOMEM;
    for (;;) {
        const char *s = p;
        while (s < le && (*s == ' ' || *s == '\t'))
            s++;
        char *name = lt_malloc((size_t)(le - s) + 1, 1);
        if (!name) {
            st = LT_ERR_NOMEM;
            goto done;
        }
        names[n++] = name;
        size_t k = 0;
        if (s < le && *s == '"') {
            for (s++; s < le; s++) {
                if (*s == '"' && (s + 1 == le || s[1] != '"')) break;
                if (*s == '"') s++;
                name[k++] = *s;
            }
            p = memchr(s, ',', (size_t)(le - s)); /* junk after the quote is dropped */
        } else {
            p = memchr(s, ',', (size_t)(le - s));
            const char *e = trim(&s, p ? p : le);
            memcpy(name, s, (size_t)(e - s));
            k = (size_t)(e - s);
        }
        name[k] = '\0';
        if (!p) break;
        p++;
    }
    *names_out = names;
    *n_out = n;
    names = NULL;
done:
    lt_strings_free(names);
    return st;
}

/* A first line is a header when some non-empty field is not a number at all
 * (NaN and inf spellings count as numbers here, so they get their own
 * message on the data path rather than silently becoming column names). */
static int is_header(const char *p, const char *le)
{
    for (;;) {
        const char *fe = memchr(p, ',', (size_t)(le - p));
        const char *s = p, *e = trim(&s, fe ? fe : le);
        double v;
        if (s < e && parse_field(s, e, &v) == F_BAD) return 1;
        if (!fe) return 0;
        p = fe + 1;
    }
}

lt_status lt_csv_read(const char *path, lt_array **out, char ***header_out)
{
    lt_status st = LT_OK;
    char *buf = NULL, **names = NULL;
    double *vals = NULL;
    size_t len = 0, ncols = 0, nrows = 0, cap = 0, line = 0;
    if (out) *out = NULL;
    if (header_out) *header_out = NULL;
    if (!path || !out) return lt_fail(LT_ERR_INVALID, "lt_csv_read: no path or output given");
    st = slurp(path, &buf, &len);
    if (st != LT_OK) goto done;

    const char *p = buf, *end = buf + len;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3; /* UTF-8 BOM from spreadsheets */
    for (; p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end, *next = nl ? nl + 1 : end;
        if (le > p && le[-1] == '\r') le--;
        const char *s = p;
        if (trim(&s, le) == s) {
            p = next;
            continue;
        }
        if (ncols == 0) {
            if (is_header(p, le)) {
                st = parse_header(p, le, &names, &ncols);
                if (st != LT_OK) goto done;
                p = next;
                continue;
            }
            ncols = count_fields(p, le);
        }
        size_t nf = count_fields(p, le);
        if (nf != ncols) {
            st = lt_fail(LT_ERR_FORMAT, "%s:%zu: expected %zu fields, found %zu", path, line + 1, ncols, nf);
            goto done;
        }
        if ((nrows + 1) * ncols > cap) {
            /* Doubling from max(ncols, 4096): a single very wide row must
             * not reserve room for a thousand of its kind. */
            size_t ncap = cap ? cap * 2 : ncols > 4096 ? ncols : 4096;
            double *nv = ncap <= SIZE_MAX / sizeof *nv ? realloc(vals, ncap * sizeof *nv) : NULL;
            if (!nv) {
                st = lt_fail(LT_ERR_NOMEM, "%s: out of memory at line %zu", path, line + 1);
                goto done;
            }
            vals = nv;
            cap = ncap;
        }
        double *row = vals + nrows * ncols;
        for (size_t c = 0; c < ncols; c++) {
            const char *fe = memchr(p, ',', (size_t)(le - p));
            const char *fs = p, *e = trim(&fs, fe ? fe : le);
            int kind = parse_field(fs, e, &row[c]);
            if (kind != F_NUM) {
                st = field_error(path, line + 1, c + 1, kind, fs, e);
                goto done;
            }
            p = fe ? fe + 1 : le;
        }
        nrows++;
        p = next;
    }
    if (nrows == 0) {
        st = lt_fail(LT_ERR_FORMAT, "%s: empty file (no data rows)", path);
        goto done;
    }

    lt_array *a = lt_calloc(1, sizeof *a);
    if (!a) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    double *fit = realloc(vals, nrows * ncols * sizeof *vals); /* give back the slack */
    a->data = fit ? fit : vals;
    vals = NULL;
    a->rows = nrows;
    a->cols = ncols;
    a->dtype = LT_F64;
    *out = a;
    if (header_out) {
        *header_out = names;
        names = NULL;
    }
done:
    free(buf);
    free(vals);
    lt_strings_free(names);
    return st;
}

/* Quote a header name when the reader would otherwise split, trim or drop
 * it, or take the line for data because every name looks like a number. */
static int needs_quotes(const char *s)
{
    size_t n = strlen(s);
    double v;
    return n == 0 || strpbrk(s, ",\"") || s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t' ||
           parse_field(s, s + n, &v) != F_BAD;
}

static void write_name(FILE *fp, const char *s)
{
    if (!needs_quotes(s)) {
        fputs(s, fp);
        return;
    }
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"') fputc('"', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
}

lt_status lt_csv_write(const char *path, const lt_array *a, const char *const *header)
{
    lt_status st = LT_OK;
    lt_atomic_file *af = NULL;
    if (!path || !a) return lt_fail(LT_ERR_INVALID, "lt_csv_write: no path or array given");
    if (a->cols == 0) return lt_fail(LT_ERR_INVALID, "%s: cannot write an array with 0 columns as CSV", path);
    if (a->dtype != LT_F64 && a->dtype != LT_F32 && a->dtype != LT_U8)
        return lt_fail(LT_ERR_UNSUPPORTED, "%s: cannot write dtype %d as CSV", path, (int)a->dtype);
    if (header) {
        size_t n = 0;
        for (; header[n]; n++)
            if (strpbrk(header[n], "\r\n"))
                return lt_fail(LT_ERR_INVALID, "%s: header name %zu contains a line break", path, n + 1);
        if (n != a->cols) return lt_fail(LT_ERR_DIM, "%s: header has %zu names for %zu columns", path, n, a->cols);
    }
    /* Refuse non-finite values before creating anything: the reader would
     * refuse the file we wrote. */
    size_t total = a->rows * a->cols;
    for (size_t i = 0; a->dtype != LT_U8 && i < total; i++) {
        double v = lt_array_get(a, i / a->cols, i % a->cols);
        if (!isfinite(v))
            return lt_fail(LT_ERR_NUMERIC, "%s: row %zu, column %zu is %s; CSV holds finite numbers only", path,
                           i / a->cols + 1, i % a->cols + 1, isnan(v) ? "NaN" : "infinite");
    }

    st = lt_atomic_open(path, &af);
    if (st != LT_OK) goto done;
    FILE *fp = lt_atomic_stream(af);
    for (size_t c = 0; header && c < a->cols; c++) {
        if (c) fputc(',', fp);
        write_name(fp, header[c]);
    }
    if (header) fputc('\n', fp);
    /* 17 and 9 significant digits round-trip every double and float. */
    for (size_t r = 0; r < a->rows; r++) {
        for (size_t c = 0; c < a->cols; c++) {
            size_t i = r * a->cols + c;
            const char *sep = c + 1 < a->cols ? "," : "\n";
            if (a->dtype == LT_F64)
                fprintf(fp, "%.17g%s", ((const double *)a->data)[i], sep);
            else if (a->dtype == LT_F32)
                fprintf(fp, "%.9g%s", (double)((const float *)a->data)[i], sep);
            else
                fprintf(fp, "%u%s", (unsigned)((const uint8_t *)a->data)[i], sep);
        }
        if (ferror(fp)) break; /* commit reports it */
    }
    st = lt_atomic_commit(af);
    af = NULL;
done:
    lt_atomic_abort(af);
    return st;
}
