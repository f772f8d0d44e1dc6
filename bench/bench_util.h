/* Small helpers shared by the C benchmark programs: a wall clock, a median,
 * a minimal NPY reader (float64, C order, 2-D, which is all bench/gmm_data.py
 * writes), a flop count for the GMM E-step, and argument parsing.
 *
 * Benchmarks are programs, not library code: on bad input they print a
 * message and exit.
 */
#ifndef LT_BENCH_UTIL_H
#define LT_BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) (sorts v). */
static inline double bench_median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static inline void bench_die(const char *prog, const char *msg, const char *detail)
{
    fprintf(stderr, "%s: %s%s%s\n", prog, msg, detail ? ": " : "", detail ? detail : "");
    exit(2);
}

/* Read a float64, C-order, 2-D NPY file. Only the first `limit` rows are
 * kept when limit > 0 and the file has more. The result is malloc'ed. */
static inline double *bench_npy_read(const char *prog, const char *path, size_t limit, size_t *rows, size_t *cols)
{
    FILE *f = fopen(path, "rb");
    if (!f) bench_die(prog, "cannot open", path);
    unsigned char pre[12];
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) bench_die(prog, "not an NPY file", path);
    size_t hlen;
    if (pre[6] == 1) {
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
    } else if (pre[6] == 2 || pre[6] == 3) {
        if (fread(pre + 10, 1, 2, f) != 2) bench_die(prog, "truncated NPY header", path);
        hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    } else {
        bench_die(prog, "unsupported NPY version", path);
    }
    if (hlen > 65536) bench_die(prog, "NPY header too long", path);
    char *h = calloc(hlen + 1, 1);
    if (!h || fread(h, 1, hlen, f) != hlen) bench_die(prog, "truncated NPY header", path);
    if (!strstr(h, "'descr': '<f8'")) bench_die(prog, "NPY dtype is not little-endian float64 ('<f8')", path);
    if (!strstr(h, "'fortran_order': False")) bench_die(prog, "NPY array is not in C order", path);
    const char *sh = strstr(h, "'shape': (");
    unsigned long long r = 0, c = 0;
    if (!sh || sscanf(sh + 10, "%llu, %llu)", &r, &c) != 2 || r == 0 || c == 0)
        bench_die(prog, "NPY array is not 2-D with a non-zero shape", path);
    free(h);
    size_t keep = limit > 0 && limit < r ? limit : (size_t)r;
    if ((size_t)c > SIZE_MAX / sizeof(double) / keep) bench_die(prog, "NPY array too large", path);
    double *X = malloc(keep * (size_t)c * sizeof(double));
    if (!X) bench_die(prog, "out of memory reading", path);
    if (fread(X, sizeof(double), keep * (size_t)c, f) != keep * (size_t)c) bench_die(prog, "truncated NPY data", path);
    fclose(f);
    *rows = keep;
    *cols = (size_t)c;
    return X;
}

/* Flops of one E-step (the log-densities of n points under k components),
 * counted as the matrix formulation needs them, multiply and add each one
 * flop; the n*k exp/log of the normalisation are not counted.
 *   full:      y = (x - mu_k) U_k for every k: 2 n k d^2, squares 2 n k d
 *   tied:      x U once (2 n d^2), minus mu_k U and squares: 3 n k d
 *   diag:      x^2 . p_k and x . (mu_k p_k), two GEMMs: 4 n k d
 *   spherical: x . mu_k (2 n k d) and |x|^2 once (2 n d)
 * `cov` is "full", "tied", "diag" or "spherical". */
static inline double bench_estep_flops(const char *cov, double n, double k, double d)
{
    if (strcmp(cov, "full") == 0) return 2.0 * n * k * d * d + 2.0 * n * k * d;
    if (strcmp(cov, "tied") == 0) return 2.0 * n * d * d + 3.0 * n * k * d;
    if (strcmp(cov, "diag") == 0) return 4.0 * n * k * d;
    return 2.0 * n * k * d + 2.0 * n * d;
}

/* "--name value" argument parsing: returns the value after `name`, or def. */
static inline const char *bench_arg(int argc, char **argv, const char *name, const char *def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0) return argv[i + 1];
    return def;
}

static inline size_t bench_arg_size(int argc, char **argv, const char *name, size_t def)
{
    const char *s = bench_arg(argc, argv, name, NULL);
    if (!s) return def;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || end == s) bench_die(argv[0], "not a non-negative integer", name);
    return (size_t)v;
}

#endif
