// LABELS: unit
/* Data readers and writers: round trips, header detection, hand-built NPY
 * and IDX fixtures, every documented error message, atomic output. */
#include "harness.h"
#include "internal.h"
#include "latent/io.h"

#include <dirent.h>
#include <float.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static const char *dir;

/* dir/name in a rotating buffer (a test needs a few alive at once). */
static const char *P(const char *name)
{
    static char bufs[16][4200];
    static int slot;
    char *p = bufs[slot++ % 16];
    snprintf(p, 4200, "%s/%s", dir, name);
    return p;
}

/* printf into a rotating buffer, for expected messages. */
static const char *M(const char *fmt, ...) LT_PRINTF(1, 2);
static const char *M(const char *fmt, ...)
{
    static char bufs[8][4400];
    static int slot;
    char *p = bufs[slot++ % 8];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p, 4400, fmt, ap);
    va_end(ap);
    return p;
}

static const char *put(const char *name, const void *data, size_t n)
{
    const char *p = P(name);
    FILE *f = fopen(p, "wb");
    if (f) {
        fwrite(data, 1, n, f);
        fclose(f);
    }
    return p;
}

static const char *puts_(const char *name, const char *text)
{
    return put(name, text, strlen(text));
}

/* Whole file into a static buffer; returns its length, or -1. */
static long slurp(const char *path, unsigned char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return (long)n;
}

/* Entries of `dir` whose name holds ".tmp": temporaries left behind. */
static int count_temps(void)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        n += strstr(e->d_name, ".tmp") != NULL;
    if (d) closedir(d);
    return n;
}

/* ---------------------------------------------------------------- CSV */

static void test_csv_roundtrip_f64(void)
{
    const double v[12] = {0.1, -0.0, 1e-300, 5e-324, DBL_MAX, -DBL_MIN, 1.0 / 3.0, -123456789.123456789,
                          2.5, 1e22, 4.35,   0};
    lt_array *a, *b = NULL;
    char **names = NULL;
    CHECK_OK(lt_array_create(4, 3, LT_F64, &a));
    memcpy(a->data, v, sizeof v);
    const char *hdr[] = {"x", "y", "z", NULL};
    const char *p = P("f64.csv");
    CHECK_OK(lt_csv_write(p, a, hdr));
    CHECK_OK(lt_csv_read(p, &b, &names));
    CHECK(b && b->rows == 4 && b->cols == 3 && b->dtype == LT_F64);
    CHECK(b && memcmp(b->data, v, sizeof v) == 0); /* bit-exact, -0 included */
    CHECK(names && !strcmp(names[0], "x") && !strcmp(names[1], "y") && !strcmp(names[2], "z") && !names[3]);
    lt_array_free(b);
    lt_strings_free(names);
    CHECK_OK(lt_csv_write(p, a, NULL));
    names = (char **)1;
    CHECK_OK(lt_csv_read(p, &b, &names));
    CHECK(names == NULL && b && b->rows == 4 && memcmp(b->data, v, sizeof v) == 0);
    lt_array_free(b);
    lt_array_free(a);
}

static void test_csv_roundtrip_f32_u8(void)
{
    const float fv[6] = {0.1f, FLT_MAX, FLT_MIN, 3.14159274f, 16777216.0f, -1e-45f};
    lt_array *a, *b = NULL;
    CHECK_OK(lt_array_create(2, 3, LT_F32, &a));
    memcpy(a->data, fv, sizeof fv);
    CHECK_OK(lt_csv_write(P("f32.csv"), a, NULL));
    CHECK_OK(lt_csv_read(P("f32.csv"), &b, NULL));
    int same = b && b->rows == 2 && b->cols == 3;
    for (int i = 0; same && i < 6; i++)
        same = (float)((double *)b->data)[i] == fv[i];
    CHECK(same);
    lt_array_free(a);
    lt_array_free(b);

    CHECK_OK(lt_array_create(3, 2, LT_U8, &a));
    const uint8_t uv[6] = {0, 255, 17, 1, 128, 9};
    memcpy(a->data, uv, 6);
    CHECK_OK(lt_csv_write(P("u8.csv"), a, NULL));
    unsigned char text[64];
    long n = slurp(P("u8.csv"), text, sizeof text);
    CHECK(n == 17 && memcmp(text, "0,255\n17,1\n128,9\n", 17) == 0);
    CHECK_OK(lt_csv_read(P("u8.csv"), &b, NULL));
    same = b && b->rows == 3 && b->cols == 2;
    for (int i = 0; same && i < 6; i++)
        same = ((double *)b->data)[i] == uv[i];
    CHECK(same);
    lt_array_free(a);
    lt_array_free(b);
}

static void test_csv_header_names(void)
{
    /* Names the writer must quote: a comma, a quote, padding, number-like,
     * empty, and a NaN spelling. */
    const char *hdr[] = {"a,b", "say \"hi\"", "  pad ", "1.5", "", "nan", "plain", NULL};
    lt_array *a, *b = NULL;
    char **names = NULL;
    CHECK_OK(lt_array_create(1, 7, LT_F64, &a));
    CHECK_OK(lt_csv_write(P("names.csv"), a, hdr));
    CHECK_OK(lt_csv_read(P("names.csv"), &b, &names));
    int same = names != NULL && b && b->rows == 1 && b->cols == 7;
    for (int i = 0; same && i < 7; i++)
        same = names[i] && !strcmp(names[i], hdr[i]);
    CHECK_MSG(same, "names did not round-trip");
    CHECK(same && names[7] == NULL);
    lt_strings_free(names);
    lt_array_free(b);
    /* All-numeric names alone would make the line data: the writer quotes. */
    const char *numeric[] = {"1", "2", "3", "4", "5", "6", "7", NULL};
    CHECK_OK(lt_csv_write(P("names2.csv"), a, numeric));
    CHECK_OK(lt_csv_read(P("names2.csv"), &b, &names));
    CHECK(b && b->rows == 1 && names && !strcmp(names[6], "7"));
    lt_strings_free(names);
    lt_array_free(b);
    lt_array_free(a);
}

static void test_csv_header_detection(void)
{
    lt_array *a = NULL;
    char **h = NULL;
    CHECK_OK(lt_csv_read(puts_("h1.csv", "x,y\n1,2\n3,4\n"), &a, &h));
    CHECK(a && a->rows == 2 && a->cols == 2 && h && !strcmp(h[0], "x") && !strcmp(h[1], "y") && !h[2]);
    CHECK(a && lt_array_get(a, 1, 0) == 3 && lt_array_get(a, 1, 1) == 4);
    lt_array_free(a);
    lt_strings_free(h);

    CHECK_OK(lt_csv_read(puts_("h2.csv", "1,2\n3,4\n"), &a, &h));
    CHECK(a && a->rows == 2 && h == NULL && lt_array_get(a, 0, 0) == 1);
    lt_array_free(a);

    CHECK_OK(lt_csv_read(puts_("h3.csv", "\"a\",\"b\"\n1,2\n"), &a, &h));
    CHECK(a && a->rows == 1 && h && !strcmp(h[0], "a") && !strcmp(h[1], "b"));
    lt_array_free(a);
    lt_strings_free(h);

    /* CRLF, padding, blank lines inside and at the end, no header. */
    CHECK_OK(lt_csv_read(puts_("h4.csv", " a , b \r\n 1 ,\t2 \r\n\r\n3,4\r\n\r\n  \r\n"), &a, &h));
    CHECK(a && a->rows == 2 && a->cols == 2 && h && !strcmp(h[0], "a") && !strcmp(h[1], "b"));
    CHECK(a && lt_array_get(a, 0, 1) == 2 && lt_array_get(a, 1, 0) == 3);
    lt_array_free(a);
    lt_strings_free(h);

    /* Blank lines before the header; a UTF-8 BOM; no final newline. */
    CHECK_OK(lt_csv_read(puts_("h5.csv", "\xEF\xBB\xBF\n \nx\n5"), &a, &h));
    CHECK(a && a->rows == 1 && a->cols == 1 && lt_array_get(a, 0, 0) == 5 && h && !strcmp(h[0], "x"));
    lt_array_free(a);
    lt_strings_free(h);
    CHECK_OK(lt_csv_read(puts_("h6.csv", "\xEF\xBB\xBF"
                                         "a,b\n1,2"),
                         &a, &h));
    CHECK(h && !strcmp(h[0], "a"));
    lt_array_free(a);
    lt_strings_free(h);

    CHECK_OK(lt_csv_read(puts_("h7.csv", "1e3,-2.5E-2,+7,.5,5.\n"), &a, NULL));
    CHECK(a && a->cols == 5 && lt_array_get(a, 0, 0) == 1000 && lt_array_get(a, 0, 1) == -0.025 &&
          lt_array_get(a, 0, 2) == 7 && lt_array_get(a, 0, 3) == 0.5 && lt_array_get(a, 0, 4) == 5);
    lt_array_free(a);

    CHECK_OK(lt_csv_read(puts_("h8.csv", "1\n2\n3\n"), &a, NULL));
    CHECK(a && a->rows == 3 && a->cols == 1 && lt_array_get(a, 2, 0) == 3);
    lt_array_free(a);
    /* A quoted name holding a comma is one column. */
    CHECK_OK(lt_csv_read(puts_("h9.csv", "\"a,b\",c\n1,2\n"), &a, &h));
    CHECK(a && a->cols == 2 && h && !strcmp(h[0], "a,b") && !strcmp(h[1], "c"));
    lt_array_free(a);
    lt_strings_free(h);
}

static void test_csv_errors(void)
{
    lt_array *a = (lt_array *)1;
    const char *p;
    p = puts_("e1.csv", "a,b\n1,2\n3,abc\n");
    CHECK_FAILS(lt_csv_read(p, &a, NULL), LT_ERR_FORMAT, M("%s:3:2: expected a number, found 'abc'", p));
    CHECK(a == NULL);
    p = puts_("e2.csv", "1,2,3,4\n5,6,7\n");
    CHECK_FAILS(lt_csv_read(p, &a, NULL), LT_ERR_FORMAT, M("%s:2: expected 4 fields, found 3", p));
    p = puts_("e3.csv", "1,2\n3,4,5\n");
    CHECK_FAILS(lt_csv_read(p, &a, NULL), LT_ERR_FORMAT, M("%s:2: expected 2 fields, found 3", p));
    p = puts_("e4.csv", "a,b,c\n\n1,2\n");
    CHECK_FAILS(lt_csv_read(p, &a, NULL), LT_ERR_FORMAT, M("%s:3: expected 3 fields, found 2", p));
    p = puts_("e5.csv", "");
    CHECK_FAILS(lt_csv_read(p, &a, NULL), LT_ERR_FORMAT, M("%s: empty file (no data rows)", p));
    char **h = (char **)1;
    p = puts_("e6.csv", "a,b\n\n");
    CHECK_FAILS(lt_csv_read(p, &a, &h), LT_ERR_FORMAT, M("%s: empty file (no data rows)", p));
    CHECK(h == NULL && a == NULL);
    p = puts_("e7.csv", "\n \r\n\t\n");
    CHECK_FAILS(lt_csv_read(p, &a, NULL), LT_ERR_FORMAT, M("%s: empty file (no data rows)", p));
    p = puts_("e8.csv", "1,2\nnan,3\n");
    CHECK_FAILS(lt_csv_read(p, &a, NULL), LT_ERR_NUMERIC, M("%s:2:1: NaN is not allowed", p));
    p = puts_("e9.csv", "NaN,1\n");
    CHECK_FAILS(lt_csv_read(p, &a, NULL), LT_ERR_NUMERIC, M("%s:1:1: NaN is not allowed", p));
    p = puts_("e10.csv", "1,-inf\n");
    CHECK_FAILS(lt_csv_read(p, &a, NULL), LT_ERR_NUMERIC, M("%s:1:2: inf is not allowed", p));
    p = puts_("e11.csv", "x,y\n1, Infinity\n");
    CHECK_FAILS(lt_csv_read(p, &a, NULL), LT_ERR_NUMERIC, M("%s:2:2: inf is not allowed", p));
    p = puts_("e12.csv", "1,,3\n");
    CHECK_FAILS(lt_csv_read(p, &a, NULL), LT_ERR_FORMAT, M("%s:1:2: expected a number, found ''", p));
    p = puts_("e13.csv", "1,2,\n");
    CHECK_FAILS(lt_csv_read(p, &a, NULL), LT_ERR_FORMAT, M("%s:1:3: expected a number, found ''", p));
    p = puts_("e14.csv", "1,2\n3,0x10\n");
    CHECK_FAILS(lt_csv_read(p, &a, NULL), LT_ERR_FORMAT, M("%s:2:2: expected a number, found '0x10'", p));
    p = puts_("e15.csv", "1,2\n1e999,3\n");
    CHECK_FAILS(lt_csv_read(p, &a, NULL), LT_ERR_NUMERIC, M("%s:2:1: number out of range, found '1e999'", p));
    p = puts_("e16.csv", "1\n2\n1.5.5\n");
    CHECK_FAILS(lt_csv_read(p, &a, NULL), LT_ERR_FORMAT, M("%s:3:1: expected a number, found '1.5.5'", p));
    p = puts_("e17.csv", "a\n\n1\n\n foo \n");
    CHECK_FAILS(lt_csv_read(p, &a, NULL), LT_ERR_FORMAT, M("%s:5:1: expected a number, found 'foo'", p));
    p = put("e18.csv", "1,2\n3,\x01\0\n", 9);
    CHECK_FAILS(lt_csv_read(p, &a, NULL), LT_ERR_FORMAT,
                M("%s:2:2: expected a number, found '?"
                  "?'",
                  p));
    char longline[128] = "1\n";
    memset(longline + 2, 'x', 100);
    p = puts_("e19.csv", longline);
    CHECK_FAILS(lt_csv_read(p, &a, NULL), LT_ERR_FORMAT,
                M("%s:2:1: expected a number, found 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'", p));
    p = P("missing.csv");
    CHECK_FAILS(lt_csv_read(p, &a, NULL), LT_ERR_IO, M("%s: cannot open: No such file or directory", p));
    CHECK_FAILS(lt_csv_read(dir, &a, NULL), LT_ERR_IO, dir);
    CHECK(a == NULL);
}

/* Many rows: the value buffer grows, the values stay exact. */
static void test_csv_large(void)
{
    lt_array *a, *b = NULL;
    CHECK_OK(lt_array_create(20000, 7, LT_F64, &a));
    double *x = a->data;
    uint64_t s = 88172645463325252ull;
    for (size_t i = 0; i < 20000 * 7; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        x[i] = ((double)(s >> 11) * 0x1p-53 - 0.5) * 1e6;
    }
    CHECK_OK(lt_csv_write(P("big.csv"), a, NULL));
    CHECK_OK(lt_csv_read(P("big.csv"), &b, NULL));
    CHECK(b && b->rows == 20000 && b->cols == 7 && memcmp(a->data, b->data, 20000 * 7 * 8) == 0);
    lt_array_free(a);
    lt_array_free(b);
}

/* The reader's fast decimal path must give strtod's bits exactly. */
static void test_csv_matches_strtod(void)
{
    static const char *edge[] = {"0.1",
                                 "-0",
                                 "+.5",
                                 "5.",
                                 "9007199254740992",
                                 "9007199254740993",
                                 "1e22",
                                 "1e23",
                                 "1e-22",
                                 "1e-23",
                                 "123456789012345678",
                                 "1234567890123456789012",
                                 "0.000001",
                                 "4.35",
                                 "2.2250738585072014e-308",
                                 "4.9e-324",
                                 "1E+2",
                                 "00012.50",
                                 "1e-400"};
    const int nedge = (int)(sizeof edge / sizeof *edge), n = 4000;
    char *text = malloc((size_t)n * 40), *t = text;
    char(*fields)[40] = malloc((size_t)n * sizeof *fields);
    uint64_t s = 0x2545F4914F6CDD1Dull;
    for (int i = 0; text && fields && i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        double v = ((double)(s >> 11) * 0x1p-53 - 0.5) * pow(10.0, (double)(s % 13) - 4);
        if (i < nedge)
            snprintf(fields[i], 40, "%s", edge[i]);
        else
            snprintf(fields[i], 40, i % 3 == 0 ? "%.*f" : i % 3 == 1 ? "%.*e" : "%.*g", (int)(s >> 60), v);
        t += sprintf(t, "%s\n", fields[i]);
    }
    lt_array *a = NULL;
    CHECK(text && fields);
    if (text && fields) CHECK_OK(lt_csv_read(put("fast.csv", text, (size_t)(t - text)), &a, NULL));
    int same = a && a->rows == (size_t)n;
    for (int i = 0; same && i < n; i++) {
        double want = strtod(fields[i], NULL), got = ((double *)a->data)[i];
        same = memcmp(&want, &got, sizeof got) == 0;
        if (!same) fprintf(stderr, "'%s': strtod %.17g, read %.17g\n", fields[i], want, got);
    }
    CHECK(same);
    lt_array_free(a);
    free(text);
    free(fields);
}

static void test_csv_write_errors(void)
{
    lt_array *a;
    CHECK_OK(lt_array_create(2, 2, LT_F64, &a));
    const char *p = P("w.csv");
    const char *hdr[] = {"a", NULL};
    CHECK_FAILS(lt_csv_write(p, a, hdr), LT_ERR_DIM, M("%s: header has 1 names for 2 columns", p));
    const char *bad[] = {"a", "b\nc", NULL};
    CHECK_FAILS(lt_csv_write(p, a, bad), LT_ERR_INVALID, "line break");
    CHECK(!lt_test_exists(p));
    CHECK_OK(lt_csv_write(p, a, NULL));
    ((double *)a->data)[2] = NAN;
    CHECK_FAILS(lt_csv_write(p, a, NULL), LT_ERR_NUMERIC, M("%s: row 2, column 1 is NaN", p));
    ((double *)a->data)[2] = -INFINITY;
    CHECK_FAILS(lt_csv_write(p, a, NULL), LT_ERR_NUMERIC, "row 2, column 1 is infinite");
    unsigned char text[64];
    CHECK(slurp(p, text, sizeof text) == 8 && memcmp(text, "0,0\n0,0\n", 8) == 0); /* untouched */
    CHECK(count_temps() == 0);
    lt_array_free(a);
    CHECK_OK(lt_array_create(3, 0, LT_F64, &a));
    CHECK_FAILS(lt_csv_write(P("w0.csv"), a, NULL), LT_ERR_INVALID, "0 columns");
    lt_array_free(a);
}

/* ---------------------------------------------------------------- NPY */

/* An NPY file as numpy writes it: the dict padded with spaces so that the
 * data starts at a multiple of 64, ending in '\n'. */
static size_t npy_bytes(unsigned char *out, int major, const char *dict, const void *data, size_t n)
{
    size_t lb = major == 1 ? 2 : 4, pre = 8 + lb, hl = strlen(dict) + 1;
    hl += (64 - (pre + hl) % 64) % 64;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (unsigned char)major;
    out[7] = 0;
    for (size_t i = 0; i < lb; i++)
        out[8 + i] = (unsigned char)(hl >> (8 * i));
    memset(out + pre, ' ', hl);
    memcpy(out + pre, dict, strlen(dict));
    out[pre + hl - 1] = '\n';
    memcpy(out + pre + hl, data, n);
    return pre + hl + n;
}

static const char *npy_file(const char *name, int major, const char *dict, const void *data, size_t n)
{
    static unsigned char buf[8192];
    return put(name, buf, npy_bytes(buf, major, dict, data, n));
}

static void test_npy_fixtures(void)
{
    const double d[6] = {0, 1, 2, 3, 4.5, -5};
    unsigned char ref[512], got[512];
    size_t n = npy_bytes(ref, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", d, sizeof d);
    CHECK(n == 128 + 48);
    lt_array *a = NULL;
    for (int major = 1; major <= 3; major++) {
        const char *p =
            npy_file("fx.npy", major, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", d, sizeof d);
        CHECK_OK(lt_npy_read(p, &a));
        CHECK(a && a->rows == 2 && a->cols == 3 && a->dtype == LT_F64 && a->height == 0 &&
              memcmp(a->data, d, sizeof d) == 0);
        /* Our writer produces numpy's bytes exactly. */
        if (major == 1 && a) {
            CHECK_OK(lt_npy_write(P("fx_out.npy"), a));
            CHECK(slurp(P("fx_out.npy"), got, sizeof got) == (long)n && memcmp(got, ref, n) == 0);
        }
        lt_array_free(a);
    }
    const float f[4] = {1.5f, -2, 0.25f, 8};
    CHECK_OK(
        lt_npy_read(npy_file("f4.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", f, 16), &a));
    CHECK(a && a->rows == 4 && a->cols == 1 && a->dtype == LT_F32 && memcmp(a->data, f, 16) == 0);
    lt_array_free(a);

    unsigned char u[24];
    for (int i = 0; i < 24; i++)
        u[i] = (unsigned char)(i * 10);
    CHECK_OK(lt_npy_read(npy_file("u3.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3, 4), }", u, 24),
                         &a));
    CHECK(a && a->rows == 2 && a->cols == 12 && a->height == 3 && a->width == 4 && a->dtype == LT_U8 &&
          memcmp(a->data, u, 24) == 0);
    lt_array_free(a);
    CHECK_OK(lt_npy_read(
        npy_file("u4.npy", 2, "{'descr': '<u1', 'fortran_order': False, 'shape': (2, 3, 2, 2), }", u, 24), &a));
    CHECK(a && a->rows == 2 && a->cols == 12 && a->height == 0 && a->width == 0 && lt_array_get(a, 1, 11) == 230);
    lt_array_free(a);
    const unsigned char bools[3] = {0, 1, 2};
    CHECK_OK(
        lt_npy_read(npy_file("b1.npy", 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", bools, 3), &a));
    CHECK(a && a->dtype == LT_U8 && a->rows == 3 && lt_array_get(a, 1, 0) == 1 && lt_array_get(a, 2, 0) == 1);
    lt_array_free(a);
    /* Other writers: key order, double quotes, Python 2 longs, no padding
     * rules, no trailing comma. */
    CHECK_OK(lt_npy_read(
        npy_file("odd.npy", 1, " { \"shape\" : ( 2L ,2L ) ,\"fortran_order\":False,'descr':\"<f4\"}", f, 16), &a));
    CHECK(a && a->rows == 2 && a->cols == 2 && a->dtype == LT_F32 && lt_array_get(a, 1, 1) == 8);
    lt_array_free(a);
    CHECK_OK(
        lt_npy_read(npy_file("empty.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 3), }", d, 0), &a));
    CHECK(a && a->rows == 0 && a->cols == 3);
    lt_array_free(a);
}

static void test_npy_roundtrip(void)
{
    const lt_dtype types[3] = {LT_F64, LT_F32, LT_U8};
    for (int t = 0; t < 3; t++) {
        lt_array *a, *b = NULL;
        CHECK_OK(lt_array_create(5, 7, types[t], &a));
        unsigned char *raw = a->data;
        size_t nb = 35 * lt_dtype_size(types[t]);
        for (size_t i = 0; i < nb; i++)
            raw[i] = (unsigned char)(i * 37 + 11);
        if (types[t] == LT_F64) ((double *)a->data)[3] = NAN; /* NPY, unlike CSV, keeps NaN */
        CHECK_OK(lt_npy_write(P("rt.npy"), a));
        CHECK_OK(lt_npy_read(P("rt.npy"), &b));
        CHECK(b && b->rows == 5 && b->cols == 7 && b->dtype == types[t] && memcmp(a->data, b->data, nb) == 0);
        unsigned char head[16];
        CHECK(slurp(P("rt.npy"), head, sizeof head) == 16);
        size_t hl = head[8] | (size_t)head[9] << 8;
        CHECK(head[6] == 1 && (10 + hl) % 64 == 0);
        lt_array_free(a);
        lt_array_free(b);
    }
    lt_array *b = NULL;
    CHECK_OK(lt_data_read(P("rt.npy"), LT_FMT_AUTO, &b));
    CHECK(b && b->dtype == LT_U8);
    lt_array_free(b);
}

static void test_npy_errors(void)
{
    const double d[8] = {0};
    lt_array *a = (lt_array *)1;
    const char *p;
#define NPY_FAILS(dict, nbytes, code, ...)                                                                             \
    do {                                                                                                               \
        p = npy_file("bad.npy", 1, dict, d, nbytes);                                                                   \
        CHECK_FAILS(lt_npy_read(p, &a), code, M(__VA_ARGS__));                                                         \
        CHECK(a == NULL);                                                                                              \
    } while (0)
    NPY_FAILS("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", 16, LT_ERR_UNSUPPORTED,
              "%s: unsupported NPY dtype '<i8' (expected <f8, <f4 or |u1)", p);
    NPY_FAILS("{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }", 16, LT_ERR_UNSUPPORTED,
              "%s: unsupported NPY dtype '>f8' (big-endian; expected <f8, <f4 or |u1)", p);
    NPY_FAILS("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 16, LT_ERR_UNSUPPORTED,
              "%s: unsupported NPY dtype '|O'", p);
    NPY_FAILS("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,), }", 16, LT_ERR_UNSUPPORTED,
              "%s: unsupported NPY dtype (structured", p);
    NPY_FAILS("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }", 32, LT_ERR_UNSUPPORTED,
              "%s: NPY arrays with fortran_order True are not supported", p);
    NPY_FAILS("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", 8, LT_ERR_UNSUPPORTED,
              "%s: 0-d NPY arrays (scalars) are not supported", p);
    NPY_FAILS("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 40, LT_ERR_FORMAT,
              "%s: truncated: header declares 48 bytes of data, file has 40", p);
    NPY_FAILS("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 56, LT_ERR_FORMAT,
              "%s: trailing data: header declares 48 bytes of data, file has 56", p);
    NPY_FAILS("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 0), }", 0, LT_ERR_FORMAT,
              "%s: NPY shape is too large", p);
    NPY_FAILS("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999,), }", 0, LT_ERR_FORMAT,
              "%s: NPY header: 'shape' is too large", p);
    NPY_FAILS("{'descr': '<f8', 'shape': (2,), }", 16, LT_ERR_FORMAT, "%s: NPY header has no 'fortran_order'", p);
    NPY_FAILS("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'foo': 1}", 16, LT_ERR_FORMAT,
              "%s: NPY header: unknown key 'foo'", p);
    NPY_FAILS("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (2,)}", 16, LT_ERR_FORMAT,
              "%s: NPY header: repeated key 'descr'", p);
    NPY_FAILS("{'descr': '<f8', 'fortran_order': False, 'shape': [2, 3], }", 48, LT_ERR_FORMAT,
              "%s: NPY header: 'shape' is not a tuple of integers", p);
    NPY_FAILS("{'descr': '<f8', 'fortran_order': False, 'shape': (-2,), }", 16, LT_ERR_FORMAT,
              "%s: NPY header: 'shape' is not a tuple of integers", p);
    NPY_FAILS("{'descr': '<f8', 'fortran_order': 0, 'shape': (2,), }", 16, LT_ERR_FORMAT,
              "%s: NPY header: 'fortran_order' is not True or False", p);
    NPY_FAILS("{'descr': '<f8', 'fortran_order': False, 'shape': (2,) }}", 16, LT_ERR_FORMAT,
              "%s: NPY header: junk after the dict", p);
    NPY_FAILS("{'descr': '<f8' 'fortran_order': False, 'shape': (2,) }", 16, LT_ERR_FORMAT,
              "%s: NPY header: expected ',' or '}'", p);
    NPY_FAILS("['descr']", 16, LT_ERR_FORMAT, "%s: NPY header is not a dict", p);
#undef NPY_FAILS
    unsigned char buf[256];
    size_t n = npy_bytes(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", d, 16);
    buf[6] = 4;
    p = put("v4.npy", buf, n);
    CHECK_FAILS(lt_npy_read(p, &a), LT_ERR_UNSUPPORTED, M("%s: unsupported NPY version 4.0", p));
    buf[6] = 1;
    p = put("short_header.npy", buf, 40);
    CHECK_FAILS(lt_npy_read(p, &a), LT_ERR_FORMAT, M("%s: truncated NPY header (declares 118 bytes, file has 30)", p));
    p = put("magic.npy", "\x93NUMPZ\x01\x00", 8);
    CHECK_FAILS(lt_npy_read(p, &a), LT_ERR_FORMAT, M("%s: not an NPY file", p));
    p = put("tiny.npy", "\x93NU", 3);
    CHECK_FAILS(lt_npy_read(p, &a), LT_ERR_FORMAT, M("%s: not an NPY file", p));
    p = P("missing.npy");
    CHECK_FAILS(lt_npy_read(p, &a), LT_ERR_IO, M("%s: cannot open: No such file or directory", p));
    CHECK(a == NULL);
}

/* ---------------------------------------------------------------- IDX */

static const char *idx_file(const char *name, int gz, int type, int ndim, const uint32_t *dims, const void *data,
                            size_t n)
{
    unsigned char buf[4096] = {0, 0, (unsigned char)type, (unsigned char)ndim};
    size_t len = 4;
    for (int i = 0; i < ndim; i++)
        for (int k = 3; k >= 0; k--)
            buf[len++] = (unsigned char)(dims[i] >> (8 * k));
    memcpy(buf + len, data, n);
    len += n;
    if (!gz) return put(name, buf, len);
    const char *p = P(name);
    gzFile g = gzopen(p, "wb");
    if (g) {
        gzwrite(g, buf, (unsigned)len);
        gzclose(g);
    }
    return p;
}

static void test_idx(void)
{
    unsigned char px[64];
    for (int i = 0; i < 64; i++)
        px[i] = (unsigned char)(200 - i);
    lt_array *a = NULL;
    for (int gz = 0; gz < 2; gz++) {
        const uint32_t d1[1] = {5}, d2[2] = {3, 5}, d3[3] = {2, 3, 4};
        CHECK_OK(lt_idx_read(idx_file(gz ? "l.idx.gz" : "l.idx", gz, 8, 1, d1, px, 5), &a));
        CHECK(a && a->rows == 5 && a->cols == 1 && a->dtype == LT_U8 && memcmp(a->data, px, 5) == 0);
        lt_array_free(a);
        CHECK_OK(lt_idx_read(idx_file(gz ? "m.gz" : "m.idx", gz, 8, 2, d2, px, 15), &a));
        CHECK(a && a->rows == 3 && a->cols == 5 && a->height == 0 && memcmp(a->data, px, 15) == 0);
        lt_array_free(a);
        const char *p = idx_file(gz ? "i.gz" : "i.idx", gz, 8, 3, d3, px, 24);
        CHECK_OK(lt_idx_read(p, &a));
        CHECK(a && a->rows == 2 && a->cols == 12 && a->height == 3 && a->width == 4 && memcmp(a->data, px, 24) == 0);
        lt_array_free(a);
        CHECK_OK(lt_data_read(p, LT_FMT_AUTO, &a));
        CHECK(a && a->rows == 2 && a->height == 3);
        lt_array_free(a);

        p = idx_file("bad.gz", gz, 0x0D, 3, d3, px, 24);
        CHECK_FAILS(lt_idx_read(p, &a), LT_ERR_UNSUPPORTED,
                    M("%s: unsupported IDX type 0x0D (expected 0x08, unsigned byte)", p));
        p = idx_file("bad.gz", gz, 8, 3, d3, px, 20);
        CHECK_FAILS(lt_idx_read(p, &a), LT_ERR_FORMAT,
                    M("%s: truncated: header declares 24 bytes of data at offset 16, file has 20", p));
        p = idx_file("bad.gz", gz, 8, 3, d3, px, 25);
        CHECK_FAILS(lt_idx_read(p, &a), LT_ERR_FORMAT,
                    M("%s: trailing data at offset 40: header declares 24 bytes of data, file has more", p));
        p = idx_file("bad.gz", gz, 8, 0, d3, px, 4);
        CHECK_FAILS(lt_idx_read(p, &a), LT_ERR_FORMAT, M("%s: IDX header at offset 3 declares 0 dimensions", p));
        p = idx_file("bad.gz", gz, 8, 3, d3, px, 0);
        CHECK_FAILS(lt_idx_read(p, &a), LT_ERR_FORMAT, M("%s: truncated: header declares 24", p));
        const uint32_t huge[3] = {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF};
        p = idx_file("bad.gz", gz, 8, 3, huge, px, 10);
        CHECK_FAILS(lt_idx_read(p, &a), LT_ERR_FORMAT, M("%s: IDX dimensions at offset 4 are too large", p));
        const uint32_t big[2] = {0x7FFFFFFF, 0x7FFFFFFF}; /* 4.6e18 bytes declared, 10 present */
        p = idx_file("bad.gz", gz, 8, 2, big, px, 10);
        CHECK_FAILS(lt_idx_read(p, &a), LT_ERR_FORMAT, M("%s: truncated: header declares", p));
    }
    const char *p = put("magic.idx", "\x01\x00\x08\x01\x00\x00\x00\x01\x05", 9);
    CHECK_FAILS(lt_idx_read(p, &a), LT_ERR_FORMAT, M("%s: not an IDX file (bad magic 0x01 0x00 at offset 0)", p));
    p = put("short.idx", "\x00\x00\x08\x03\x00\x00", 6);
    CHECK_FAILS(lt_idx_read(p, &a), LT_ERR_FORMAT,
                M("%s: truncated IDX header: 3 dimensions need 12 bytes at offset 4, file has 2", p));
    p = put("tiny.idx", "\x00", 1);
    CHECK_FAILS(lt_idx_read(p, &a), LT_ERR_FORMAT, M("%s: not an IDX file (only 1 bytes)", p));
    p = P("missing.idx");
    CHECK_FAILS(lt_idx_read(p, &a), LT_ERR_IO, M("%s: cannot open: No such file or directory", p));
    CHECK(a == NULL);
}

/* A damaged gzip stream is an error, not silently short or wrong data. */
static void test_idx_gzip_damage(void)
{
    unsigned char px[600], gzb[2048];
    for (int i = 0; i < 600; i++)
        px[i] = (unsigned char)(i * i);
    const uint32_t d[3] = {6, 10, 10};
    const char *p = idx_file("good.gz", 1, 8, 3, d, px, 600);
    long n = slurp(p, gzb, sizeof gzb);
    CHECK(n > 20);
    lt_array *a = NULL;
    const char *q = put("cut.gz", gzb, (size_t)n - 4); /* trailer cut: the data are all there */
    CHECK_FAILS(lt_idx_read(q, &a), LT_ERR_FORMAT, M("%s: corrupt gzip data: unexpected end of file", q));
    q = put("cut2.gz", gzb, (size_t)n / 2);
    CHECK_FAILS(lt_idx_read(q, &a), LT_ERR_FORMAT, M("%s: corrupt gzip data: unexpected end of file", q));
    gzb[n - 6] ^= 0x55; /* in the CRC */
    q = put("crc.gz", gzb, (size_t)n);
    CHECK_FAILS(lt_idx_read(q, &a), LT_ERR_FORMAT, M("%s: corrupt gzip data: incorrect data check", q));
    gzb[n - 6] ^= 0x55;
    gzb[n / 2] ^= 0xFF; /* in the deflate stream */
    q = put("mid.gz", gzb, (size_t)n);
    CHECK_FAILS(lt_idx_read(q, &a), LT_ERR_FORMAT, M("%s: corrupt gzip data: ", q));
    CHECK(a == NULL);
}

static void test_fashion_mnist(void)
{
    const char *labels = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
    const char *images = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";
    if (!lt_test_exists(labels)) {
        fprintf(stderr, "skip: %s not present\n", labels);
        return;
    }
    lt_array *a = NULL;
    CHECK_OK(lt_data_read(labels, LT_FMT_AUTO, &a));
    CHECK(a && a->rows == 10000 && a->cols == 1 && a->dtype == LT_U8);
    int ok = a != NULL, counts[10] = {0};
    for (size_t i = 0; ok && i < a->rows; i++) {
        uint8_t v = ((uint8_t *)a->data)[i];
        ok = v < 10;
        if (ok) counts[v]++;
    }
    CHECK(ok && counts[0] == 1000 && counts[9] == 1000);
    lt_array_free(a);
    if (!lt_test_exists(images)) return;
    CHECK_OK(lt_idx_read(images, &a));
    CHECK(a && a->rows == 10000 && a->cols == 784 && a->height == 28 && a->width == 28);
    lt_array_free(a);
}

/* ---------------------------------------------------------- atomic, data */

static void test_atomic(void)
{
    lt_atomic_file *f = NULL;
    const char *p = P("atomic.txt");
    CHECK_OK(lt_atomic_open(p, &f));
    CHECK(f && count_temps() == 1 && !lt_test_exists(p)); /* nothing visible before commit */
    if (f) fputs("hello\n", lt_atomic_stream(f));
    CHECK_OK(lt_atomic_commit(f));
    unsigned char buf[64];
    CHECK(slurp(p, buf, sizeof buf) == 6 && memcmp(buf, "hello\n", 6) == 0);
    CHECK(count_temps() == 0);

    /* Replacing keeps the old file's permissions. */
    chmod(p, 0600);
    CHECK_OK(lt_atomic_open(p, &f));
    if (f) fputs("bye\n", lt_atomic_stream(f));
    CHECK_OK(lt_atomic_commit(f));
    struct stat sb;
    CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0600);
    CHECK(slurp(p, buf, sizeof buf) == 4);

    CHECK_OK(lt_atomic_open(p, &f));
    if (f) fputs("lost", lt_atomic_stream(f));
    lt_atomic_abort(f);
    CHECK(slurp(p, buf, sizeof buf) == 4 && memcmp(buf, "bye\n", 4) == 0 && count_temps() == 0);
    CHECK_OK(lt_atomic_open(P("never.txt"), &f));
    lt_atomic_abort(f);
    CHECK(!lt_test_exists(P("never.txt")) && count_temps() == 0);
    lt_atomic_abort(NULL);

    p = P("no/such/dir/out.csv");
    CHECK_FAILS(lt_atomic_open(p, &f), LT_ERR_IO,
                M("%s: cannot create a temporary file: No such file or directory", p));
    CHECK(f == NULL);
    CHECK_FAILS(lt_atomic_open(P("trailing/"), &f), LT_ERR_INVALID, "not a file name");
    /* Commit fails when the rename does (target is a directory): the
     * temporary goes, the directory stays. */
    p = P("adir");
    mkdir(p, 0755);
    CHECK_OK(lt_atomic_open(p, &f));
    if (f) fputs("x", lt_atomic_stream(f));
    CHECK_FAILS(lt_atomic_commit(f), LT_ERR_IO, M("%s: cannot write: Is a directory", p));
    CHECK(count_temps() == 0 && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode));
    /* A bare name goes to the current directory. */
    CHECK_OK(lt_atomic_open("lt_io_bare.tmp.txt", &f));
    CHECK_OK(lt_atomic_commit(f));
    CHECK(lt_test_exists("lt_io_bare.tmp.txt"));
    remove("lt_io_bare.tmp.txt");
    /* Writers that fail write nothing. */
    lt_array *a;
    CHECK_OK(lt_array_create(1, 1, LT_F64, &a));
    ((double *)a->data)[0] = NAN;
    CHECK(lt_csv_write(P("nan.csv"), a, NULL) == LT_ERR_NUMERIC && !lt_test_exists(P("nan.csv")));
    CHECK(lt_npy_write(P("no/dir.npy"), a) == LT_ERR_IO);
    CHECK(count_temps() == 0);
    lt_array_free(a);
}

static void test_data_dispatch(void)
{
    CHECK(lt_format_from_path("a.csv") == LT_FMT_CSV && lt_format_from_path("A.CSV") == LT_FMT_CSV);
    CHECK(lt_format_from_path("dir.npy/x.npy") == LT_FMT_NPY);
    CHECK(lt_format_from_path("x.idx") == LT_FMT_IDX && lt_format_from_path("x.gz") == LT_FMT_IDX);
    CHECK(lt_format_from_path("/d/t10k-labels-idx1-ubyte") == LT_FMT_IDX);
    CHECK(lt_format_from_path("x.csv.gz") == LT_FMT_AUTO && lt_format_from_path("x.txt") == LT_FMT_AUTO);
    CHECK(lt_format_from_path("csv") == LT_FMT_AUTO && lt_format_from_path(NULL) == LT_FMT_AUTO);
    lt_format f = LT_FMT_CSV;
    CHECK_OK(lt_format_parse(NULL, &f));
    CHECK(f == LT_FMT_AUTO);
    CHECK_OK(lt_format_parse("npy", &f));
    CHECK(f == LT_FMT_NPY);
    CHECK_OK(lt_format_parse("IDX", &f));
    CHECK(f == LT_FMT_IDX);
    CHECK_OK(lt_format_parse("csv", &f));
    CHECK(f == LT_FMT_CSV);
    CHECK_OK(lt_format_parse("auto", &f));
    CHECK(f == LT_FMT_AUTO);
    CHECK_FAILS(lt_format_parse("xls", &f), LT_ERR_INVALID,
                "unknown data format 'xls' (expected csv, npy, idx or auto)");

    lt_array *a, *b = NULL;
    CHECK_OK(lt_array_create(2, 2, LT_F32, &a));
    ((float *)a->data)[3] = 0.5f;
    CHECK_OK(lt_data_write(P("d.npy"), a));
    CHECK_OK(lt_data_write(P("d.csv"), a));
    CHECK_FAILS(lt_data_write(P("d.txt"), a), LT_ERR_INVALID, "expected .csv or .npy");
    CHECK(!lt_test_exists(P("d.txt")));
    CHECK_OK(lt_data_read(P("d.npy"), LT_FMT_AUTO, &b));
    CHECK(b && b->dtype == LT_F32 && lt_array_get(b, 1, 1) == 0.5);
    lt_array_free(b);
    CHECK_OK(lt_data_read(P("d.csv"), LT_FMT_AUTO, &b));
    CHECK(b && b->dtype == LT_F64 && lt_array_get(b, 1, 1) == 0.5);
    lt_array_free(b);
    /* An explicit format wins over the name; unknown names are sniffed. */
    CHECK(rename(P("d.npy"), P("d_npy.dat")) == 0 && rename(P("d.csv"), P("d_csv.dat")) == 0);
    CHECK_OK(lt_data_read(P("d_npy.dat"), LT_FMT_NPY, &b));
    lt_array_free(b);
    CHECK_OK(lt_data_read(P("d_npy.dat"), LT_FMT_AUTO, &b));
    CHECK(b && b->dtype == LT_F32);
    lt_array_free(b);
    CHECK_OK(lt_data_read(P("d_csv.dat"), LT_FMT_AUTO, &b));
    CHECK(b && b->dtype == LT_F64 && b->rows == 2);
    lt_array_free(b);
    CHECK_FAILS(lt_data_read(P("d_csv.dat"), LT_FMT_NPY, &b), LT_ERR_FORMAT, "not an NPY file");
    CHECK_FAILS(lt_data_read(P("nothing.dat"), LT_FMT_AUTO, &b), LT_ERR_IO, "cannot open");
    lt_array_free(a);
}

int main(void)
{
    dir = lt_test_tmpdir("io");
    RUN(test_csv_roundtrip_f64);
    RUN(test_csv_roundtrip_f32_u8);
    RUN(test_csv_header_names);
    RUN(test_csv_header_detection);
    RUN(test_csv_errors);
    RUN(test_csv_large);
    RUN(test_csv_matches_strtod);
    RUN(test_csv_write_errors);
    RUN(test_npy_fixtures);
    RUN(test_npy_roundtrip);
    RUN(test_npy_errors);
    RUN(test_idx);
    RUN(test_idx_gzip_damage);
    RUN(test_fashion_mnist);
    RUN(test_atomic);
    RUN(test_data_dispatch);
    return lt_test_done();
}
