/* Helpers shared by the C HMM benchmark programs (bench/hmm_latent.c,
 * bench/hmm_ghmm.c): the English text as symbols, the initial models that
 * bench/hmm_data.py writes, the flop count of one Baum-Welch iteration,
 * and the RESULT line. Benchmarks are programs: on bad input they print a
 * message and exit.
 */
#ifndef LT_BENCH_HMM_UTIL_H
#define LT_BENCH_HMM_UTIL_H

#include "bench_util.h"

#include <ctype.h>
#include <stdint.h>

#define HMM_N_SYMBOLS 27 /* a-z, and 26 for everything else (space) */

/* data/english.txt as symbols, by the rule of english_sequences in
 * bench/hmm_data.py: one sequence per non-empty line, a-z in either case ->
 * 0..25, any other byte -> 26, cut to `limit` symbols in all (0: no cut).
 * Returns the symbols (malloc'ed); *lengths (malloc'ed) has *n_seqs entries
 * adding up to *total. */
static inline int32_t *hmm_english_read(const char *prog, const char *path, size_t limit, size_t **lengths,
                                        size_t *n_seqs, size_t *total)
{
    FILE *f = fopen(path, "rb");
    if (!f) bench_die(prog, "cannot open", path);
    size_t cap = 1 << 20, n = 0, ns = 0, ncap = 64, cur = 0;
    int32_t *sym = malloc(cap * sizeof *sym);
    size_t *len = malloc(ncap * sizeof *len);
    if (!sym || !len) bench_die(prog, "out of memory", NULL);
    int c;
    while ((c = fgetc(f)) != EOF && !(limit && n >= limit)) {
        if (c == '\n') {
            if (cur) {
                if (ns == ncap && !(len = realloc(len, (ncap *= 2) * sizeof *len)))
                    bench_die(prog, "out of memory", NULL);
                len[ns++] = cur;
                cur = 0;
            }
            continue;
        }
        if (n == cap && !(sym = realloc(sym, (cap *= 2) * sizeof *sym))) bench_die(prog, "out of memory", NULL);
        int l = tolower(c);
        sym[n++] = l >= 'a' && l <= 'z' ? l - 'a' : 26;
        cur++;
    }
    fclose(f);
    if (cur) {
        if (ns == ncap && !(len = realloc(len, (ncap + 1) * sizeof *len))) bench_die(prog, "out of memory", NULL);
        len[ns++] = cur;
    }
    if (n == 0) bench_die(prog, "no text in", path);
    *lengths = len;
    *n_seqs = ns;
    *total = n;
    return sym;
}

/* n sequences of `seq_len` rows each (the last one shorter if total is not
 * a multiple), for the Gaussian data. */
static inline size_t *hmm_even_lengths(const char *prog, size_t total, size_t seq_len, size_t *n_seqs)
{
    if (seq_len == 0 || seq_len > total) seq_len = total;
    size_t ns = (total + seq_len - 1) / seq_len;
    size_t *len = malloc(ns * sizeof *len);
    if (!len) bench_die(prog, "out of memory", NULL);
    for (size_t i = 0; i < ns; i++)
        len[i] = i + 1 < ns ? seq_len : total - (ns - 1) * seq_len;
    *n_seqs = ns;
    return len;
}

/* PREFIX_<what>.npy, which must be rows x cols. */
static inline double *hmm_init_read(const char *prog, const char *prefix, const char *what, size_t rows, size_t cols)
{
    char path[4096];
    snprintf(path, sizeof path, "%s_%s.npy", prefix, what);
    size_t r, c;
    double *a = bench_npy_read(prog, path, 0, &r, &c);
    if (r != rows || c != cols) {
        char msg[128];
        snprintf(msg, sizeof msg, "is %zu x %zu, expected %zu x %zu", r, c, rows, cols);
        bench_die(prog, path, msg);
    }
    return a;
}

/* Flops of one Baum-Welch iteration's forward-backward over T steps with K
 * states, multiply and add each one flop, as the recursions need them:
 *   forward   a_t = (a_t-1 A) .* b_t          2 K^2 per step
 *   backward  u_t = A (b_t+1 .* beta_t+1)     2 K^2 per step
 *   xi        N += a_t (b_t+1 .* beta_t+1)^T  2 K^2 per step (a rank-1
 *             update; the product with A_ij is done once per iteration)
 * so 6 T K^2. The O(T K) work (scaling, posteriors, emission densities and
 * the emission M-step) is not counted: it matters only for small K. */
static inline double hmm_fb_flops(double t, double k)
{
    return 6.0 * t * k * k;
}

#endif
