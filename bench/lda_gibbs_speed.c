/* Throughput of the LDA Gibbs sampler: tokens per second per thread after
 * burn-in, on a synthetic corpus with a Zipf vocabulary, or on a UCI docword
 * file (bench/run_lda.sh's synthetic corpus).
 *
 *   lda_gibbs_speed [--tokens 5000000] [--vocab 20000] [--doc-len 100]
 *                   [--docword FILE] [--alpha 0 (5/K)] [--beta 0 (0.01)] [--tag NAME]
 *                   [--k 100,1000] [--threads 1,2] [--mh 1,2]
 *                   [--burn 20] [--sweeps 5] [--seed 1]
 *
 * The corpus is drawn from an LDA model so that the sampler meets the
 * sparsity of real text: 100 topics, phi_k(w) ∝ g_kw / rank(w) with
 * g_kw ~ Gamma(0.2) (a Zipf marginal, topics that differ), theta_d ~
 * Dirichlet(0.1), document lengths uniform on [len/2, 3 len/2]. For each K,
 * mh (Metropolis-Hastings steps per token per phase; a sweep is a word
 * phase and a document phase) and thread count: --burn untimed sweeps,
 * then --sweeps timed ones (the median sweep counts); the log-likelihood
 * pass (log p(w, z), needed only for progress reports) is timed apart.
 *
 * Uses the sampler's step-by-step route (src/models/lda_internal.h) so that
 * neither the set-up (the word-major copy of the corpus, the random start)
 * nor burn-in nor the making of the model at the end is timed: each sweep is
 * timed alone (wall clock and the process's CPU time, all threads). With
 * --docword the corpus is read from the file (--tokens, --vocab and
 * --doc-len are ignored). Prints one "RESULT key=value ..." line per case;
 * its impl/mode/tag/sec_per_iter/train_* keys are the ones bench/
 * lda_report.py reads (sec_per_iter: the median sweep, wall clock).
 */
#include "bench_util.h"

#include <math.h>

#include "latent/corpus.h"
#include "latent/lda.h"
#include "latent/rng.h"
#include "models/lda_internal.h"

static const char *prog = "lda_gibbs_speed";

/* CPU seconds of the whole process (all threads): on a shared machine,
 * tokens per CPU-second is the steadier per-thread figure. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Walker alias draw over n weights (built once per topic). */
typedef struct {
    double *p;
    uint32_t *a;
    size_t n;
} alias_t;

static void alias_init(alias_t *t, const double *w, size_t n)
{
    t->n = n;
    t->p = malloc(n * sizeof *t->p);
    t->a = malloc(n * sizeof *t->a);
    uint32_t *st = malloc(2 * n * sizeof *st);
    double *sc = malloc(n * sizeof *sc), tot = 0;
    if (!t->p || !t->a || !st || !sc) bench_die(prog, "out of memory", NULL);
    for (size_t i = 0; i < n; i++) tot += w[i];
    size_t ns = 0, nl = 0;
    uint32_t *sm = st, *lg = st + n;
    for (size_t i = 0; i < n; i++) {
        sc[i] = w[i] * (double)n / tot;
        if (sc[i] < 1)
            sm[ns++] = (uint32_t)i;
        else
            lg[nl++] = (uint32_t)i;
    }
    while (ns && nl) {
        uint32_t s = sm[--ns], l = lg[--nl];
        t->p[s] = sc[s];
        t->a[s] = l;
        sc[l] = sc[l] + sc[s] - 1;
        if (sc[l] < 1)
            sm[ns++] = l;
        else
            lg[nl++] = l;
    }
    while (nl) {
        uint32_t l = lg[--nl];
        t->p[l] = 1;
        t->a[l] = l;
    }
    while (ns) {
        uint32_t s = sm[--ns];
        t->p[s] = 1;
        t->a[s] = s;
    }
    free(st);
    free(sc);
}

static size_t alias_draw(const alias_t *t, lt_rng *r)
{
    double x = lt_rng_uniform(r) * (double)t->n;
    size_t i = (size_t)x;
    if (i >= t->n) i = t->n - 1;
    return x - (double)i < t->p[i] ? i : t->a[i];
}

static lt_corpus *make_corpus(size_t n_tokens, size_t v, size_t len, uint64_t seed)
{
    const size_t kt = 100;
    lt_rng r;
    lt_rng_seed(&r, seed);
    alias_t *topics = malloc(kt * sizeof *topics);
    double *w = malloc(v * sizeof *w);
    for (size_t k = 0; k < kt; k++) {
        for (size_t i = 0; i < v; i++) w[i] = lt_rng_gamma(&r, 0.2) / (double)(i + 1);
        alias_init(&topics[k], w, v);
    }
    size_t cap = n_tokens + 2 * len + 1, nd = 0, n = 0, dcap = n_tokens / (len / 2 + 1) + 2;
    lt_corpus *c = calloc(1, sizeof *c);
    c->tokens = malloc(cap * sizeof *c->tokens);
    c->doc_ptr = malloc((dcap + 1) * sizeof *c->doc_ptr);
    double al[100], th[100];
    for (size_t k = 0; k < kt; k++) al[k] = 0.1;
    c->doc_ptr[0] = 0;
    while (n < n_tokens && nd < dcap) {
        size_t l = len / 2 + (size_t)lt_rng_below(&r, len + 1);
        lt_rng_dirichlet(&r, al, kt, th);
        alias_t dt;
        alias_init(&dt, th, kt);
        for (size_t i = 0; i < l && n < cap; i++)
            c->tokens[n++] = (int32_t)alias_draw(&topics[alias_draw(&dt, &r)], &r);
        free(dt.p);
        free(dt.a);
        c->doc_ptr[++nd] = n;
    }
    c->n_docs = nd;
    c->n_tokens = n;
    c->n_vocab = v;
    for (size_t k = 0; k < kt; k++) {
        free(topics[k].p);
        free(topics[k].a);
    }
    free(topics);
    free(w);
    return c;
}

static size_t parse_list(const char *s, size_t *out, size_t max)
{
    size_t n = 0;
    while (*s && n < max) {
        char *end;
        out[n++] = strtoul(s, &end, 10);
        if (end == s) bench_die(prog, "bad list", s);
        s = *end == ',' ? end + 1 : end;
    }
    return n;
}

int main(int argc, char **argv)
{
    size_t n_tokens = 5000000, v = 20000, len = 100, burn = 20, sweeps = 5;
    uint64_t seed = 1;
    const char *docword = NULL, *tag = "-";
    double alpha = 0.0, beta = 0.0;
    size_t ks[8] = {100, 1000}, nk = 2, ths[8] = {1, 2}, nth = 2, mhs[8] = {1, 2}, nmh = 2;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *b = argv[i + 1];
        if (!strcmp(a, "--tokens"))
            n_tokens = strtoul(b, NULL, 10);
        else if (!strcmp(a, "--vocab"))
            v = strtoul(b, NULL, 10);
        else if (!strcmp(a, "--doc-len"))
            len = strtoul(b, NULL, 10);
        else if (!strcmp(a, "--burn"))
            burn = strtoul(b, NULL, 10);
        else if (!strcmp(a, "--sweeps"))
            sweeps = strtoul(b, NULL, 10);
        else if (!strcmp(a, "--seed"))
            seed = strtoull(b, NULL, 10);
        else if (!strcmp(a, "--docword"))
            docword = b;
        else if (!strcmp(a, "--tag"))
            tag = b;
        else if (!strcmp(a, "--alpha"))
            alpha = strtod(b, NULL);
        else if (!strcmp(a, "--beta"))
            beta = strtod(b, NULL);
        else if (!strcmp(a, "--k"))
            nk = parse_list(b, ks, 8);
        else if (!strcmp(a, "--threads"))
            nth = parse_list(b, ths, 8);
        else if (!strcmp(a, "--mh"))
            nmh = parse_list(b, mhs, 8);
        else
            bench_die(prog, "unknown option", a);
    }
    if (sweeps < 1 || sweeps > 64 || v < 2 || len < 2) bench_die(prog, "bad sizes", NULL);
    if (!(alpha >= 0) || !(beta >= 0)) bench_die(prog, "--alpha and --beta must be >= 0", NULL);
    double t0 = bench_now();
    lt_corpus *c = NULL;
    if (docword) {
        if (lt_corpus_read_docword(docword, NULL, &c) != LT_OK) bench_die(prog, "cannot read", lt_last_error());
        v = c->n_vocab;
    } else {
        c = make_corpus(n_tokens, v, len, seed);
    }
    fprintf(stderr, "%s: corpus of %zu tokens, %zu documents, %zu words in %.1f s\n", prog, c->n_tokens, c->n_docs, v,
            bench_now() - t0);
    for (size_t ik = 0; ik < nk; ik++)
        for (size_t im = 0; im < nmh; im++)
            for (size_t it = 0; it < nth; it++) {
                lt_lda_options o;
                lt_lda_options_default(&o);
                o.k = ks[ik];
                o.alpha = alpha;
                o.beta = beta;
                o.seed = seed;
                o.threads = (int)ths[it];
                lda_gibbs_params p;
                lda_gibbs_params_default(&p);
                p.mh_steps = (int)mhs[im];
                lda_gibbs *g = NULL;
                double tc = bench_now();
                if (lda_gibbs_create(&o, c, &p, &g) != LT_OK) bench_die(prog, "create", lt_last_error());
                tc = bench_now() - tc;
                double tb = bench_now();
                for (size_t s = 0; s < burn; s++) lda_gibbs_sweep(g);
                tb = bench_now() - tb;
                double tl = bench_now();
                double ll0 = lda_gibbs_loglik(g) / (double)c->n_tokens;
                tl = bench_now() - tl;
                double times[64], cpu[64];
                for (size_t s = 0; s < sweeps; s++) {
                    double ts = bench_now(), cs = cpu_now();
                    lda_gibbs_sweep(g);
                    times[s] = bench_now() - ts;
                    cpu[s] = cpu_now() - cs;
                }
                double ll1 = lda_gibbs_loglik(g) / (double)c->n_tokens;
                double cbest = cpu[0], wmin = times[0], wmax = times[0];
                for (size_t s = 1; s < sweeps; s++) {
                    if (cpu[s] < cbest) cbest = cpu[s];
                    if (times[s] < wmin) wmin = times[s];
                    if (times[s] > wmax) wmax = times[s];
                }
                double med = bench_median(times, sweeps), cmed = bench_median(cpu, sweeps);
                double rate = (double)c->n_tokens / med;
                size_t bw, bd;
                lda_gibbs_blocks(g, &bw, &bd);
                fprintf(stderr, "%s: %s k=%zu mh=%zu threads=%zu: %.4f s per sweep (%.4f-%.4f), %.3g tokens/s, %.3g "
                        "tokens/s per thread, %.3g tokens per CPU-second; log p(w,z) %.5f nats/token after %zu sweeps\n",
                        prog, tag, ks[ik], mhs[im], ths[it], med, wmin, wmax, rate, rate / (double)ths[it],
                        (double)c->n_tokens / cmed, ll1, burn + sweeps);
                printf("RESULT impl=latent-gibbs mode=speed timer=sweep tag=%s k=%zu mh=%zu threads=%zu alpha=%g beta=%g "
                       "tokens=%zu sec_per_sweep=%.6f sec_per_iter=%.6f sec_per_iter_min=%.6f sec_per_iter_max=%.6f "
                       "cpu_sec_per_iter=%.6f tokens_per_s=%.0f tokens_per_s_per_thread=%.0f tokens_per_cpu_s=%.0f "
                       "tokens_per_cpu_s_best=%.0f burn_sweeps=%zu sweeps=%zu create_sec=%.3f burn_sec=%.2f "
                       "loglik_pass_sec=%.4f loglik_after_burn=%.4f loglik_end=%.4f train_ll=%.8f train_docs=%zu "
                       "train_tokens=%zu vocab=%zu blocks=%zu/%zu\n",
                       tag, ks[ik], mhs[im], ths[it], o.alpha, o.beta, c->n_tokens, med, med, wmin, wmax, cmed, rate,
                       rate / (double)ths[it], (double)c->n_tokens / cmed, (double)c->n_tokens / cbest, burn, sweeps,
                       tc, tb, tl, ll0, ll1, ll1, c->n_docs, c->n_tokens, v, bw, bd);
                fflush(stdout);
                lda_gibbs_free(g);
            }
    if (docword) {
        lt_corpus_free(c);
    } else {
        free(c->tokens);
        free(c->doc_ptr);
        free(c);
    }
    return 0;
}
