// LABELS: unit
/* HMM engine: forward, posteriors and Viterbi against brute-force
 * enumeration of every state path; Baum-Welch monotonicity (plain and MAP);
 * parameter recovery; thread-count independence; masks; very long
 * sequences; model files; input validation. */
#include "latent/hmm.h"
#include "latent/rng.h"

#include "harness.h"

#include <stdint.h>

#define LOG_2PI 1.8378770664093454835606594728112

/* ------------------------------------------------------------ helpers */

static void dirichlet_row(lt_rng *r, double *p, size_t n, double conc)
{
    double a[16];
    for (size_t i = 0; i < n; i++)
        a[i] = conc;
    lt_rng_dirichlet(r, a, n, p);
}

/* A random categorical HMM (start, rows and emissions drawn from Dirichlet). */
static lt_hmm *random_cat(size_t k, size_t S, uint64_t seed)
{
    lt_hmm *m = NULL;
    if (lt_hmm_create(k, LT_EMIT_CATEGORICAL, 1, S, 0, LT_COV_DIAG, &m) != LT_OK) return NULL;
    lt_rng r;
    lt_rng_seed(&r, seed);
    dirichlet_row(&r, m->start, k, 1.0);
    for (size_t i = 0; i < k; i++)
        dirichlet_row(&r, m->trans + i * k, k, 1.0);
    for (size_t i = 0; i < k; i++)
        dirichlet_row(&r, m->emit + i * S, S, 1.0);
    if (lt_hmm_prepare(m) != LT_OK) {
        lt_hmm_free(m);
        return NULL;
    }
    return m;
}

/* A random Gaussian HMM with diagonal covariances in d dimensions. */
static lt_hmm *random_gauss(size_t k, size_t d, uint64_t seed)
{
    lt_hmm *m = NULL;
    if (lt_hmm_create(k, LT_EMIT_GAUSSIAN, d, 0, 0, LT_COV_DIAG, &m) != LT_OK) return NULL;
    lt_rng r;
    lt_rng_seed(&r, seed);
    dirichlet_row(&r, m->start, k, 1.0);
    for (size_t i = 0; i < k; i++)
        dirichlet_row(&r, m->trans + i * k, k, 1.0);
    lt_gmm *g = m->states[0];
    for (size_t q = 0; q < k * d; q++) {
        g->means[q] = 2.0 * lt_rng_normal(&r);
        g->covs[q] = 0.3 + lt_rng_uniform(&r);
    }
    if (lt_hmm_prepare(m) != LT_OK) {
        lt_hmm_free(m);
        return NULL;
    }
    return m;
}

/* log b_j(x_t) by the formulas, T x k. */
static void emit_logs(const lt_hmm *m, const lt_seqs *s, size_t t0, size_t T, double *L)
{
    size_t k = m->k;
    for (size_t t = 0; t < T; t++)
        for (size_t j = 0; j < k; j++) {
            double v;
            if (m->emission == LT_EMIT_CATEGORICAL) {
                v = log(m->emit[j * m->n_symbols + (size_t)s->symbols[t0 + t]]);
            } else {
                const lt_gmm *g = m->states[0];
                size_t d = m->d;
                v = 0.0;
                for (size_t c = 0; c < d; c++) {
                    double var = g->covs[j * d + c], z = s->x[(t0 + t) * d + c] - g->means[j * d + c];
                    v += -0.5 * (LOG_2PI + log(var)) - 0.5 * z * z / var;
                }
            }
            L[t * k + j] = v;
        }
}

static double lse2(double a, double b)
{
    if (a == -INFINITY) return b;
    if (b == -INFINITY) return a;
    double mx = a > b ? a : b;
    return mx + log(exp(a - mx) + exp(b - mx));
}

static double safe_log(double p)
{
    return p > 0.0 ? log(p) : -INFINITY;
}

/* Every one of the k^T paths: log p(x), marginals p(z_t = j | x) (T x k),
 * the best path and its log probability. */
static void brute(const lt_hmm *m, const double *L, size_t T, double *logp, double *gamma, int32_t *best,
                  double *best_lp)
{
    size_t k = m->k, npath = 1;
    for (size_t t = 0; t < T; t++)
        npath *= k;
    int32_t z[16];
    double *lj = malloc(npath * sizeof(double));
    double tot = -INFINITY;
    *best_lp = -INFINITY;
    for (size_t p = 0; p < npath; p++) {
        size_t c = p;
        for (size_t t = 0; t < T; t++)
            z[t] = (int32_t)(c % k), c /= k;
        double v = safe_log(m->start[z[0]]) + L[z[0]];
        for (size_t t = 1; t < T; t++)
            v += safe_log(m->trans[z[t - 1] * k + z[t]]) + L[t * k + z[t]];
        lj[p] = v;
        tot = lse2(tot, v);
        if (v > *best_lp) {
            *best_lp = v;
            memcpy(best, z, T * sizeof(int32_t));
        }
    }
    *logp = tot;
    for (size_t q = 0; q < T * k; q++)
        gamma[q] = 0.0;
    for (size_t p = 0; p < npath; p++) {
        size_t c = p;
        double w = exp(lj[p] - tot);
        for (size_t t = 0; t < T; t++)
            gamma[t * k + c % k] += w, c /= k;
    }
    free(lj);
}

/* Compare the engine with enumeration on every sequence of s. */
static void check_brute(const lt_hmm *m, const lt_seqs *s, double tol)
{
    size_t k = m->k, n = s->n_seqs;
    double *logp = malloc(n * sizeof(double)), *vlp = malloc(n * sizeof(double));
    double *post = malloc(s->total * k * sizeof(double));
    int32_t *path = malloc(s->total * sizeof(int32_t));
    CHECK_OK(lt_hmm_score(m, s, 2, logp));
    CHECK_OK(lt_hmm_posteriors(m, s, 2, post));
    CHECK_OK(lt_hmm_viterbi(m, s, 2, path, vlp));
    size_t t0 = 0;
    for (size_t q = 0; q < n; q++) {
        size_t T = s->lengths[q];
        double L[8 * 3], g[8 * 3], blp, bestlp;
        int32_t bp[8];
        emit_logs(m, s, t0, T, L);
        brute(m, L, T, &blp, g, bp, &bestlp);
        CHECK_NEAR(logp[q], blp, tol);
        for (size_t i = 0; i < T * k; i++)
            CHECK_NEAR(post[t0 * k + i], g[i], tol);
        CHECK(memcmp(path + t0, bp, T * sizeof(int32_t)) == 0);
        CHECK_NEAR(vlp[q], bestlp, tol);
        t0 += T;
    }
    free(logp);
    free(vlp);
    free(post);
    free(path);
}

/* ---------------------------------------------------- brute-force tests */

static void test_brute_categorical(void)
{
    size_t lengths[] = {1, 2, 5, 8, 7, 3};
    size_t total = 26;
    int32_t sym[26];
    lt_rng r;
    lt_rng_seed(&r, 7);
    for (size_t k = 1; k <= 3; k++)
        for (uint64_t seed = 1; seed <= 3; seed++) {
            lt_hmm *m = random_cat(k, 4, seed * 10 + k);
            CHECK(m != NULL);
            if (!m) continue;
            for (size_t t = 0; t < total; t++)
                sym[t] = (int32_t)lt_rng_below(&r, 4);
            lt_seqs s = {.n_seqs = 6, .lengths = lengths, .total = total, .dim = 1, .symbols = sym};
            check_brute(m, &s, 1e-10);
            lt_hmm_free(m);
        }
}

static void test_brute_gaussian(void)
{
    size_t lengths[] = {8, 1, 4, 6};
    size_t total = 19, d = 2;
    double x[19 * 2];
    lt_rng r;
    lt_rng_seed(&r, 11);
    for (size_t k = 1; k <= 3; k++)
        for (uint64_t seed = 1; seed <= 3; seed++) {
            lt_hmm *m = random_gauss(k, d, seed * 100 + k);
            CHECK(m != NULL);
            if (!m) continue;
            for (size_t t = 0; t < total * d; t++)
                x[t] = 2.5 * lt_rng_normal(&r);
            lt_seqs s = {.n_seqs = 4, .lengths = lengths, .total = total, .dim = d, .x = x};
            check_brute(m, &s, 1e-10);
            lt_hmm_free(m);
        }
}

/* A transition of 1e-310 makes a scale factor subnormal: the engine must
 * switch that sequence to log space and still agree with enumeration. */
static void test_log_space_fallback(void)
{
    lt_hmm *m = NULL;
    CHECK_OK(lt_hmm_create(2, LT_EMIT_GAUSSIAN, 1, 0, 0, LT_COV_DIAG, &m));
    if (!m) return;
    m->start[0] = 1.0, m->start[1] = 0.0;
    m->trans[0] = 1.0, m->trans[1] = 1e-310;
    m->trans[2] = 0.5, m->trans[3] = 0.5;
    m->states[0]->means[0] = 0.0, m->states[0]->means[1] = 40.0;
    m->states[0]->covs[0] = 1.0, m->states[0]->covs[1] = 1.0;
    CHECK_OK(lt_hmm_prepare(m));
    double x[] = {0.1, -0.3, 39.0, 40.5, 41.0, 0.2, 0.0};
    size_t lengths[] = {7};
    lt_seqs s = {.n_seqs = 1, .lengths = lengths, .total = 7, .dim = 1, .x = x};
    check_brute(m, &s, 1e-9);
    lt_hmm_free(m);
}

/* Expected start and transition counts by enumeration, added to S (k) and N (k x k). */
static void brute_counts(const lt_hmm *m, const double *L, size_t T, double *S, double *N)
{
    size_t k = m->k, npath = 1;
    for (size_t t = 0; t < T; t++)
        npath *= k;
    double *lj = malloc(npath * sizeof(double)), tot = -INFINITY;
    int32_t z[16];
    for (size_t p = 0; p < npath; p++) {
        size_t c = p;
        for (size_t t = 0; t < T; t++)
            z[t] = (int32_t)(c % k), c /= k;
        double v = safe_log(m->start[z[0]]) + L[z[0]];
        for (size_t t = 1; t < T; t++)
            v += safe_log(m->trans[z[t - 1] * k + z[t]]) + L[t * k + z[t]];
        lj[p] = v;
        tot = lse2(tot, v);
    }
    for (size_t p = 0; p < npath; p++) {
        size_t c = p;
        for (size_t t = 0; t < T; t++)
            z[t] = (int32_t)(c % k), c /= k;
        double w = exp(lj[p] - tot);
        S[z[0]] += w;
        for (size_t t = 1; t < T; t++)
            N[z[t - 1] * k + z[t]] += w;
    }
    free(lj);
}

/* One Baum-Welch step on start and transitions only equals the normalised
 * expected counts by enumeration (so xi is right, scaled and in log space). */
static void check_counts(const lt_hmm *m, const lt_seqs *s)
{
    size_t k = m->k;
    double S[3] = {0}, N[9] = {0}, L[8 * 3];
    size_t t0 = 0;
    for (size_t q = 0; q < s->n_seqs; q++) {
        emit_logs(m, s, t0, s->lengths[q], L);
        brute_counts(m, L, s->lengths[q], S, N);
        t0 += s->lengths[q];
    }
    lt_hmm_options o;
    lt_hmm_options_default(&o);
    o.k = k;
    o.emission = m->emission;
    o.cov = m->cov;
    o.init_model = m;
    o.init_params = 0;
    o.params = LT_HMM_START | LT_HMM_TRANS;
    o.max_iter = 1;
    lt_hmm *f = NULL;
    CHECK_OK(lt_hmm_fit(&o, s, &f));
    if (!f) return;
    for (size_t j = 0; j < k; j++)
        CHECK_NEAR(f->start[j], S[j] / (double)s->n_seqs, 1e-10);
    for (size_t i = 0; i < k; i++) {
        double r = 0.0;
        for (size_t j = 0; j < k; j++)
            r += N[i * k + j];
        for (size_t j = 0; j < k; j++)
            CHECK_NEAR(f->trans[i * k + j], N[i * k + j] / r, 1e-10);
    }
    lt_hmm_free(f);
}

static void test_counts_brute(void)
{
    size_t lengths[] = {8, 2, 6, 7};
    int32_t sym[23];
    lt_rng r;
    lt_rng_seed(&r, 3);
    for (size_t t = 0; t < 23; t++)
        sym[t] = (int32_t)lt_rng_below(&r, 3);
    lt_hmm *m = random_cat(3, 3, 17);
    lt_seqs s = {.n_seqs = 4, .lengths = lengths, .total = 23, .dim = 1, .symbols = sym};
    if (m) check_counts(m, &s);
    lt_hmm_free(m);
    m = random_gauss(2, 1, 18);
    double x[23];
    for (size_t t = 0; t < 23; t++)
        x[t] = 3.0 * lt_rng_normal(&r);
    s = (lt_seqs){.n_seqs = 4, .lengths = lengths, .total = 23, .dim = 1, .x = x};
    if (m) check_counts(m, &s);
    lt_hmm_free(m);
    /* The log-space path (a subnormal transition). */
    m = NULL;
    CHECK_OK(lt_hmm_create(2, LT_EMIT_GAUSSIAN, 1, 0, 0, LT_COV_DIAG, &m));
    if (!m) return;
    m->start[0] = 0.7, m->start[1] = 0.3;
    m->trans[0] = 1.0, m->trans[1] = 1e-310;
    m->trans[2] = 0.5, m->trans[3] = 0.5;
    m->states[0]->means[1] = 40.0;
    m->states[0]->covs[0] = m->states[0]->covs[1] = 1.0;
    CHECK_OK(lt_hmm_prepare(m));
    double y[] = {0.1, -0.3, 39.0, 40.5, 41.0, 0.2, 0.0, 1.0, 0.5, 39.5};
    size_t l2[] = {7, 3};
    s = (lt_seqs){.n_seqs = 2, .lengths = l2, .total = 10, .dim = 1, .x = y};
    check_counts(m, &s);
    lt_hmm_free(m);
}

/* A sequence the model cannot produce: score -inf, decoders refuse. */
static void test_zero_probability(void)
{
    lt_hmm *m = NULL;
    CHECK_OK(lt_hmm_create(2, LT_EMIT_CATEGORICAL, 1, 2, 0, LT_COV_DIAG, &m));
    if (!m) return;
    m->start[0] = 1.0;
    m->trans[0] = 1.0, m->trans[3] = 1.0; /* state 1 is never reached */
    m->emit[0] = 1.0;                     /* state 0 emits only symbol 0 */
    m->emit[3] = 1.0;
    CHECK_OK(lt_hmm_prepare(m));
    int32_t sym[] = {0, 0, 0, 1, 0};
    size_t lengths[] = {2, 3};
    lt_seqs s = {.n_seqs = 2, .lengths = lengths, .total = 5, .dim = 1, .symbols = sym};
    double lp[2], post[10];
    int32_t path[5];
    CHECK_OK(lt_hmm_score(m, &s, 1, lp));
    CHECK(lp[0] == 0.0);
    CHECK(lp[1] == -INFINITY);
    CHECK_FAILS(lt_hmm_posteriors(m, &s, 1, post), LT_ERR_NUMERIC, "sequence 2 has probability zero");
    CHECK_FAILS(lt_hmm_viterbi(m, &s, 1, path, NULL), LT_ERR_NUMERIC, "impossible from step 2 of 3");
    lt_hmm_free(m);
}

/* --------------------------------------------------------- Baum-Welch */

typedef struct sampled {
    size_t n_seqs, len, total;
    size_t *lengths;
    int32_t *states, *sym;
    double *x;
    lt_seqs s;
} sampled;

static void sample_data(const lt_hmm *m, size_t n_seqs, size_t len, uint64_t seed, sampled *o)
{
    o->n_seqs = n_seqs, o->len = len, o->total = n_seqs * len;
    o->lengths = malloc(n_seqs * sizeof(size_t));
    for (size_t i = 0; i < n_seqs; i++)
        o->lengths[i] = len;
    o->states = malloc(o->total * sizeof(int32_t));
    int cat = m->emission == LT_EMIT_CATEGORICAL;
    o->sym = cat ? malloc(o->total * sizeof(int32_t)) : NULL;
    o->x = cat ? NULL : malloc(o->total * m->d * sizeof(double));
    CHECK_OK(lt_hmm_sample(m, n_seqs, len, seed, o->states, o->x, o->sym));
    o->s = (lt_seqs){
        .n_seqs = n_seqs, .lengths = o->lengths, .total = o->total, .dim = m->d, .x = o->x, .symbols = o->sym};
}

static void sampled_free(sampled *o)
{
    free(o->lengths);
    free(o->states);
    free(o->sym);
    free(o->x);
}

static double total_score(const lt_hmm *m, const lt_seqs *s)
{
    double *lp = malloc(s->n_seqs * sizeof(double)), tot = 0.0;
    CHECK_OK(lt_hmm_score(m, s, 2, lp));
    for (size_t i = 0; i < s->n_seqs; i++)
        tot += lp[i];
    free(lp);
    return tot;
}

static void check_trace_monotone(const lt_hmm_trace *tr)
{
    CHECK(tr->n >= 2);
    for (size_t i = 1; i < tr->n; i++)
        CHECK_MSG(tr->loglik[i] >= tr->loglik[i - 1] - 1e-10 * (1.0 + fabs(tr->loglik[i - 1])),
                  "iteration %zu: %.17g after %.17g", i + 1, tr->loglik[i], tr->loglik[i - 1]);
}

static void test_monotone(void)
{
    lt_hmm *truth = random_cat(3, 5, 42);
    sampled d;
    sample_data(truth, 20, 150, 5, &d);
    lt_hmm_options o;
    lt_hmm_options_default(&o);
    o.k = 3;
    o.tol = 0.0;
    o.max_iter = 60;
    o.seed = 9;
    lt_hmm_trace tr = {0};
    o.trace = &tr;
    lt_hmm *fit = NULL;
    CHECK_OK(lt_hmm_fit(&o, &d.s, &fit));
    check_trace_monotone(&tr);
    if (fit) {
        CHECK(fit->n_iter == 60 && tr.n == 60);
        CHECK_NEAR(fit->log_likelihood, tr.loglik[tr.n - 1], 0.0);
        /* The trace entry is the E-step before the last M-step, so the
         * returned model scores at least as well. */
        CHECK(total_score(fit, &d.s) / (double)d.total >= fit->log_likelihood - 1e-12);
    }
    lt_hmm_free(fit);
    sampled_free(&d);
    lt_hmm_free(truth);

    /* Gaussian emissions, two features. */
    truth = random_gauss(3, 2, 43);
    sample_data(truth, 10, 200, 6, &d);
    o.emission = LT_EMIT_GAUSSIAN;
    o.max_iter = 40;
    fit = NULL;
    CHECK_OK(lt_hmm_fit(&o, &d.s, &fit));
    check_trace_monotone(&tr);
    lt_hmm_free(fit);
    sampled_free(&d);
    lt_hmm_free(truth);
    free(tr.loglik);
}

/* MAP-EM, one iteration at a time (each fit starts from the previous model):
 * log p(x) + log prior never decreases. */
static double penalised(const lt_hmm *m, const lt_seqs *s, double as, double at)
{
    double v = total_score(m, s);
    for (size_t j = 0; j < m->k; j++)
        v += (as - 1.0) * log(m->start[j]);
    for (size_t q = 0; q < m->k * m->k; q++)
        v += (at - 1.0) * log(m->trans[q]);
    return v;
}

static void test_map_monotone(void)
{
    lt_hmm *truth = random_cat(3, 4, 77);
    sampled d;
    sample_data(truth, 8, 100, 3, &d);
    lt_hmm_options o;
    lt_hmm_options_default(&o);
    o.k = 3;
    o.start_prior = 2.0;
    o.trans_prior = 3.0;
    o.seed = 4;
    o.max_iter = 0; /* initialisation only */
    lt_hmm *cur = NULL;
    CHECK_OK(lt_hmm_fit(&o, &d.s, &cur));
    if (!cur) goto out;
    CHECK(cur->n_iter == 0 && isfinite(cur->log_likelihood));
    double prev = penalised(cur, &d.s, 2.0, 3.0);
    lt_hmm_trace tr = {0};
    o.init_params = 0;
    o.max_iter = 1;
    o.trace = &tr;
    for (int it = 0; it < 25; it++) {
        o.init_model = cur;
        lt_hmm *next = NULL;
        CHECK_OK(lt_hmm_fit(&o, &d.s, &next));
        if (!next) break;
        /* The one trace entry is the E-step of the model we started from. */
        CHECK(tr.n == 1);
        if (tr.n == 1) CHECK_NEAR(tr.loglik[0] * (double)d.total, total_score(cur, &d.s), 1e-8);
        double v = penalised(next, &d.s, 2.0, 3.0);
        CHECK_MSG(v >= prev - 1e-9 * fabs(prev), "iteration %d: %.17g after %.17g", it + 1, v, prev);
        prev = v;
        lt_hmm_free(cur);
        cur = next;
    }
    free(tr.loglik);
out:
    lt_hmm_free(cur);
    sampled_free(&d);
    lt_hmm_free(truth);
}

/* Smallest sum of |a - b| over state permutations (k <= 3); perm[i] is the
 * fitted state matching true state i. */
static void best_perm(size_t k, const double *a, const double *b, size_t w, size_t *perm)
{
    static const size_t P3[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    static const size_t P2[2][3] = {{0, 1, 0}, {1, 0, 0}};
    size_t np = k == 3 ? 6 : k == 2 ? 2 : 1;
    double best = INFINITY;
    for (size_t p = 0; p < np; p++) {
        const size_t *q = k == 3 ? P3[p] : k == 2 ? P2[p] : P3[0];
        double s = 0.0;
        for (size_t i = 0; i < k; i++)
            for (size_t c = 0; c < w; c++)
                s += fabs(a[i * w + c] - b[q[i] * w + c]);
        if (s < best) {
            best = s;
            memcpy(perm, q, k * sizeof(size_t));
        }
    }
}

static void check_trans(const lt_hmm *truth, const lt_hmm *fit, const size_t *perm, double tol)
{
    size_t k = truth->k;
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++)
            CHECK_NEAR(fit->trans[perm[i] * k + perm[j]], truth->trans[i * k + j], tol);
}

static void test_recover_categorical(void)
{
    lt_hmm *truth = NULL;
    CHECK_OK(lt_hmm_create(2, LT_EMIT_CATEGORICAL, 1, 3, 0, LT_COV_DIAG, &truth));
    if (!truth) return;
    double start[] = {0.6, 0.4}, trans[] = {0.9, 0.1, 0.2, 0.8}, emit[] = {0.8, 0.15, 0.05, 0.05, 0.15, 0.8};
    memcpy(truth->start, start, sizeof start);
    memcpy(truth->trans, trans, sizeof trans);
    memcpy(truth->emit, emit, sizeof emit);
    CHECK_OK(lt_hmm_prepare(truth));
    sampled d;
    sample_data(truth, 100, 200, 21, &d);
    lt_hmm_options o;
    lt_hmm_options_default(&o);
    o.k = 2;
    o.n_init = 3;
    o.tol = 1e-7;
    o.max_iter = 500;
    o.seed = 3;
    lt_hmm *fit = NULL;
    CHECK_OK(lt_hmm_fit(&o, &d.s, &fit));
    if (fit) {
        size_t perm[3];
        best_perm(2, truth->emit, fit->emit, 3, perm);
        for (size_t i = 0; i < 2; i++)
            for (size_t c = 0; c < 3; c++)
                CHECK_NEAR(fit->emit[perm[i] * 3 + c], truth->emit[i * 3 + c], 0.03);
        check_trans(truth, fit, perm, 0.03);
        for (size_t i = 0; i < 2; i++)
            CHECK_NEAR(fit->start[perm[i]], truth->start[i], 0.15);
        CHECK(fit->converged);
        /* The fit explains the data at least as well as the truth. */
        CHECK(total_score(fit, &d.s) >= total_score(truth, &d.s));
    }
    lt_hmm_free(fit);
    sampled_free(&d);
    lt_hmm_free(truth);
}

static void test_recover_gaussian(void)
{
    lt_hmm *truth = NULL;
    CHECK_OK(lt_hmm_create(3, LT_EMIT_GAUSSIAN, 1, 0, 0, LT_COV_DIAG, &truth));
    if (!truth) return;
    double start[] = {0.5, 0.3, 0.2}, trans[] = {0.90, 0.05, 0.05, 0.10, 0.85, 0.05, 0.05, 0.15, 0.80};
    double mu[] = {-3.0, 0.0, 4.0}, var[] = {0.5, 1.0, 0.3};
    memcpy(truth->start, start, sizeof start);
    memcpy(truth->trans, trans, sizeof trans);
    memcpy(truth->states[0]->means, mu, sizeof mu);
    memcpy(truth->states[0]->covs, var, sizeof var);
    CHECK_OK(lt_hmm_prepare(truth));
    sampled d;
    sample_data(truth, 20, 1000, 8, &d);
    lt_hmm_options o;
    lt_hmm_options_default(&o);
    o.k = 3;
    o.emission = LT_EMIT_GAUSSIAN;
    o.n_init = 2;
    o.tol = 1e-7;
    o.max_iter = 300;
    o.seed = 1;
    lt_hmm *fit = NULL;
    CHECK_OK(lt_hmm_fit(&o, &d.s, &fit));
    if (fit) {
        size_t perm[3];
        best_perm(3, mu, fit->states[0]->means, 1, perm);
        for (size_t i = 0; i < 3; i++) {
            CHECK_NEAR(fit->states[0]->means[perm[i]], mu[i], 0.05);
            CHECK_REL(fit->states[0]->covs[perm[i]], var[i], 0.08);
        }
        check_trans(truth, fit, perm, 0.02);
        /* Viterbi recovers almost every state of the sample. */
        int32_t *path = malloc(d.total * sizeof(int32_t));
        CHECK_OK(lt_hmm_viterbi(fit, &d.s, 0, path, NULL));
        size_t agree = 0;
        for (size_t t = 0; t < d.total; t++)
            agree += (size_t)path[t] == perm[d.states[t]];
        CHECK_MSG(agree > 0.97 * (double)d.total, "%zu of %zu", agree, d.total);
        free(path);
    }
    lt_hmm_free(fit);
    sampled_free(&d);
    lt_hmm_free(truth);
}

typedef struct prog {
    size_t calls, runs_done;
    double last;
} prog;

static void on_progress(void *ud, const char *stage, size_t iter, size_t max_iter, double value)
{
    prog *p = ud;
    (void)iter, (void)max_iter;
    p->calls++;
    if (strstr(stage, "done") && strstr(stage, "seed 5")) p->runs_done++;
    p->last = value;
}

/* Same model whatever the thread count (bit for bit). */
static void test_threads(void)
{
    lt_hmm *truth = random_cat(3, 6, 5);
    sampled d;
    sample_data(truth, 37, 300, 2, &d); /* 11,100 steps: several blocks */
    lt_hmm_options o;
    lt_hmm_options_default(&o);
    o.k = 3;
    o.max_iter = 25;
    o.n_init = 2;
    o.seed = 5;
    prog pr = {0};
    o.progress = on_progress;
    o.progress_ud = &pr;
    lt_hmm *a = NULL, *b = NULL, *c = NULL;
    o.threads = 1;
    CHECK_OK(lt_hmm_fit(&o, &d.s, &a));
    CHECK(pr.runs_done == 2 && pr.calls > 2);
    o.progress = NULL;
    o.threads = 2;
    CHECK_OK(lt_hmm_fit(&o, &d.s, &b));
    o.threads = 3;
    CHECK_OK(lt_hmm_fit(&o, &d.s, &c));
    if (a && b && c) {
        CHECK(memcmp(a->start, b->start, 3 * sizeof(double)) == 0);
        CHECK(memcmp(a->trans, b->trans, 9 * sizeof(double)) == 0);
        CHECK(memcmp(a->emit, b->emit, 18 * sizeof(double)) == 0);
        CHECK(memcmp(a->trans, c->trans, 9 * sizeof(double)) == 0);
        CHECK(memcmp(a->emit, c->emit, 18 * sizeof(double)) == 0);
        CHECK(a->log_likelihood == b->log_likelihood && a->best_init == b->best_init);
        double *pa = malloc(d.total * 3 * sizeof(double)), *pb = malloc(d.total * 3 * sizeof(double));
        CHECK_OK(lt_hmm_posteriors(a, &d.s, 1, pa));
        CHECK_OK(lt_hmm_posteriors(a, &d.s, 4, pb));
        CHECK(memcmp(pa, pb, d.total * 3 * sizeof(double)) == 0);
        free(pa);
        free(pb);
    }
    lt_hmm_free(a);
    lt_hmm_free(b);
    lt_hmm_free(c);
    sampled_free(&d);
    lt_hmm_free(truth);

    /* Gaussian emissions. */
    truth = random_gauss(2, 2, 6);
    sample_data(truth, 9, 700, 3, &d);
    o.emission = LT_EMIT_GAUSSIAN;
    o.k = 2;
    o.n_init = 1;
    o.threads = 1;
    a = b = NULL;
    CHECK_OK(lt_hmm_fit(&o, &d.s, &a));
    o.threads = 2;
    CHECK_OK(lt_hmm_fit(&o, &d.s, &b));
    if (a && b) {
        CHECK(memcmp(a->trans, b->trans, 4 * sizeof(double)) == 0);
        CHECK(memcmp(a->states[0]->means, b->states[0]->means, 4 * sizeof(double)) == 0);
        CHECK(memcmp(a->states[0]->covs, b->states[0]->covs, 4 * sizeof(double)) == 0);
    }
    lt_hmm_free(a);
    lt_hmm_free(b);
    sampled_free(&d);
    lt_hmm_free(truth);
}

/* A left-to-right model: structural zeros stay exactly zero. */
static void test_mask(void)
{
    size_t k = 3;
    uint8_t mask[9] = {1, 1, 0, 0, 1, 1, 0, 0, 1};
    lt_hmm *truth = NULL;
    CHECK_OK(lt_hmm_create(k, LT_EMIT_GAUSSIAN, 1, 0, 0, LT_COV_DIAG, &truth));
    if (!truth) return;
    double start[] = {1, 0, 0}, trans[] = {0.9, 0.1, 0, 0, 0.9, 0.1, 0, 0, 1}, mu[] = {0, 3, 6}, var[] = {1, 1, 1};
    memcpy(truth->start, start, sizeof start);
    memcpy(truth->trans, trans, sizeof trans);
    memcpy(truth->states[0]->means, mu, sizeof mu);
    memcpy(truth->states[0]->covs, var, sizeof var);
    truth->mask = malloc(9);
    memcpy(truth->mask, mask, 9);
    CHECK_OK(lt_hmm_prepare(truth));
    sampled d;
    sample_data(truth, 30, 60, 4, &d);
    lt_hmm_options o;
    lt_hmm_options_default(&o);
    o.k = k;
    o.emission = LT_EMIT_GAUSSIAN;
    o.mask = mask;
    o.max_iter = 100;
    o.seed = 2;
    lt_hmm *fit = NULL;
    CHECK_OK(lt_hmm_fit(&o, &d.s, &fit));
    if (fit) {
        CHECK(fit->mask != NULL && memcmp(fit->mask, mask, 9) == 0);
        for (size_t q = 0; q < 9; q++)
            if (!mask[q]) CHECK_MSG(fit->trans[q] == 0.0, "entry %zu is %g", q, fit->trans[q]);
        for (size_t i = 0; i < k; i++) {
            double s = 0.0;
            for (size_t j = 0; j < k; j++)
                s += fit->trans[i * k + j];
            CHECK_NEAR(s, 1.0, 1e-12);
        }
        CHECK_NEAR(fit->trans[8], 1.0, 0.0);
        /* start: k - 1, transitions: 5 allowed - 3 rows, means and variances: 6 */
        CHECK(lt_hmm_n_parameters(fit) == 2 + 2 + 6);
    }
    /* An initial model that breaks the mask is refused. */
    lt_hmm *bad = random_gauss(3, 1, 8);
    o.init_params = LT_HMM_START | LT_HMM_EMIT;
    o.init_model = bad;
    lt_hmm *f2 = NULL;
    CHECK_FAILS(lt_hmm_fit(&o, &d.s, &f2), LT_ERR_INVALID, "initial model: transition 0 -> 2");
    CHECK(f2 == NULL);
    lt_hmm_free(bad);
    lt_hmm_free(fit);
    sampled_free(&d);
    lt_hmm_free(truth);
}

/* A million steps, every density tiny: no underflow, exact totals. */
static void test_long_sequence(void)
{
    size_t T = 1000000;
    lt_hmm *m = NULL;
    CHECK_OK(lt_hmm_create(2, LT_EMIT_GAUSSIAN, 1, 0, 0, LT_COV_DIAG, &m));
    if (!m) return;
    m->start[0] = 0.3, m->start[1] = 0.7;
    m->trans[0] = 0.6, m->trans[1] = 0.4, m->trans[2] = 0.3, m->trans[3] = 0.7;
    lt_gmm *g = m->states[0];
    g->means[0] = g->means[1] = 0.0;
    g->covs[0] = g->covs[1] = 1.0;
    CHECK_OK(lt_hmm_prepare(m));
    double *x = malloc(T * sizeof(double));
    for (size_t t = 0; t < T; t++)
        x[t] = t % 2 ? 40.0 : -40.0; /* density e^-800 each */
    size_t lengths[] = {T};
    lt_seqs s = {.n_seqs = 1, .lengths = lengths, .total = T, .dim = 1, .x = x};
    double lp;
    /* Equal emissions: log p is the sum of the Gaussian log-densities. */
    CHECK_OK(lt_hmm_score(m, &s, 0, &lp));
    CHECK_REL(lp, (double)T * (-0.5 * LOG_2PI - 800.0), 1e-10);

    /* Different emissions, far in both tails. */
    g->means[1] = 1.0;
    g->covs[1] = 0.5;
    CHECK_OK(lt_hmm_prepare(m));
    CHECK_OK(lt_hmm_score(m, &s, 0, &lp));
    CHECK(isfinite(lp) && lp < (double)T * -800.0);
    double *post = malloc(T * 2 * sizeof(double));
    int32_t *path = malloc(T * sizeof(int32_t));
    double vlp;
    CHECK_OK(lt_hmm_posteriors(m, &s, 0, post));
    CHECK_OK(lt_hmm_viterbi(m, &s, 0, path, &vlp));
    int ok = 1;
    for (size_t t = 0; t < T && ok; t++) {
        double a = post[2 * t], b = post[2 * t + 1];
        ok = isfinite(a) && isfinite(b) && a >= 0.0 && b >= 0.0 && fabs(a + b - 1.0) < 1e-12;
    }
    CHECK(ok);
    CHECK(isfinite(vlp) && vlp <= lp);
    free(post);
    free(path);
    free(x);
    lt_hmm_free(m);

    /* Categorical: every step's symbol has probability 1e-300 in both states. */
    CHECK_OK(lt_hmm_create(2, LT_EMIT_CATEGORICAL, 1, 2, 0, LT_COV_DIAG, &m));
    if (!m) return;
    m->start[0] = m->start[1] = 0.5;
    m->trans[0] = 0.99, m->trans[1] = 0.01, m->trans[2] = 0.5, m->trans[3] = 0.5;
    m->emit[0] = m->emit[2] = 1e-300;
    m->emit[1] = m->emit[3] = 1.0 - 1e-300;
    CHECK_OK(lt_hmm_prepare(m));
    int32_t *sym = calloc(T, sizeof(int32_t));
    lt_seqs c = {.n_seqs = 1, .lengths = lengths, .total = T, .dim = 1, .symbols = sym};
    CHECK_OK(lt_hmm_score(m, &c, 0, &lp));
    CHECK_REL(lp, (double)T * log(1e-300), 1e-10);
    free(sym);
    lt_hmm_free(m);
}

/* ----------------------------------------------------------- model files */

static void test_save_load(void)
{
    const char *dir = lt_test_tmpdir("hmm");
    char path[4200];
    lt_hmm *truth = random_cat(3, 4, 99);
    sampled d;
    sample_data(truth, 5, 80, 1, &d);
    lt_hmm_options o;
    lt_hmm_options_default(&o);
    o.k = 3;
    o.max_iter = 20;
    uint8_t mask[9] = {1, 1, 1, 0, 1, 1, 1, 0, 1};
    o.mask = mask;
    lt_hmm *m = NULL, *l = NULL;
    CHECK_OK(lt_hmm_fit(&o, &d.s, &m));
    if (!m) goto out;
    const char *words[] = {"the", "cat", "\"sat\"", "h\xc3\xa9"};
    m->vocab = calloc(4, sizeof(char *));
    for (size_t i = 0; i < 4; i++)
        m->vocab[i] = strdup(words[i]);
    snprintf(path, sizeof path, "%s/cat.safetensors", dir);
    CHECK_OK(lt_hmm_save(m, path));
    CHECK_OK(lt_hmm_load(path, &l));
    if (l) {
        double a[5], b[5];
        CHECK_OK(lt_hmm_score(m, &d.s, 1, a));
        CHECK_OK(lt_hmm_score(l, &d.s, 1, b));
        CHECK(memcmp(a, b, sizeof a) == 0);
        CHECK(l->vocab != NULL);
        for (size_t i = 0; l->vocab && i < 4; i++)
            CHECK(strcmp(l->vocab[i], words[i]) == 0);
        CHECK(l->mask && memcmp(l->mask, mask, 9) == 0);
        CHECK(l->n_iter == m->n_iter && l->converged == m->converged && l->log_likelihood == m->log_likelihood);
        lt_hmm *c = NULL;
        CHECK_OK(lt_hmm_copy(l, &c));
        if (c) {
            CHECK_OK(lt_hmm_score(c, &d.s, 1, b));
            CHECK(memcmp(a, b, sizeof a) == 0);
            CHECK(c->vocab && strcmp(c->vocab[3], words[3]) == 0);
        }
        lt_hmm_free(c);
    }
    lt_hmm_free(l);
    l = NULL;
    /* Not an HMM file. */
    snprintf(path, sizeof path, "%s/junk.safetensors", dir);
    FILE *jf = fopen(path, "wb");
    if (jf) {
        fputs("not a model", jf);
        fclose(jf);
    }
    CHECK_FAILS(lt_hmm_load(path, &l), LT_ERR_FORMAT, "junk.safetensors");

    /* Gaussian, full covariances. */
    lt_hmm_free(m);
    m = NULL;
    sampled_free(&d);
    lt_hmm_free(truth);
    truth = random_gauss(2, 3, 4);
    sample_data(truth, 4, 100, 2, &d);
    o.k = 2;
    o.mask = NULL;
    o.emission = LT_EMIT_GAUSSIAN;
    o.cov = LT_COV_FULL;
    CHECK_OK(lt_hmm_fit(&o, &d.s, &m));
    if (!m) goto out;
    snprintf(path, sizeof path, "%s/gauss.safetensors", dir);
    CHECK_OK(lt_hmm_save(m, path));
    CHECK_OK(lt_hmm_load(path, &l));
    if (l) {
        double a[4], b[4];
        CHECK_OK(lt_hmm_score(m, &d.s, 1, a));
        CHECK_OK(lt_hmm_score(l, &d.s, 1, b));
        CHECK(memcmp(a, b, sizeof a) == 0);
        CHECK(l->cov == LT_COV_FULL && l->d == 3 && l->vocab == NULL && l->mask == NULL);
    }
    lt_hmm_free(l);
out:
    lt_hmm_free(m);
    sampled_free(&d);
    lt_hmm_free(truth);
}

/* ---------------------------------------------------- options and input */

static void test_names_and_options(void)
{
    lt_hmm_options o;
    lt_hmm_options_default(&o);
    CHECK(o.k == 2 && o.emission == LT_EMIT_CATEGORICAL && o.cov == LT_COV_DIAG && o.n_mix == 2);
    CHECK(o.params == LT_HMM_ALL && o.init_params == LT_HMM_ALL && o.start_prior == 1.0 && o.trans_prior == 1.0);
    CHECK(o.tol == 1e-4 && o.max_iter == 100 && o.n_init == 1 && o.reg_covar == 1e-6);
    lt_emission e;
    CHECK_OK(lt_emission_parse("gmm", &e));
    CHECK(e == LT_EMIT_GMM && strcmp(lt_emission_name(LT_EMIT_POISSON), "poisson") == 0);
    CHECK_FAILS(lt_emission_parse("bernoulli", &e), LT_ERR_INVALID, "'bernoulli' is not one of");
    unsigned f = 0;
    CHECK_OK(lt_hmm_params_parse("st", &f));
    CHECK(f == (LT_HMM_START | LT_HMM_TRANS));
    CHECK_OK(lt_hmm_params_parse("mcw", &f));
    CHECK(f == LT_HMM_EMIT);
    CHECK_OK(lt_hmm_params_parse("", &f));
    CHECK(f == 0);
    CHECK_FAILS(lt_hmm_params_parse("stx", &f), LT_ERR_INVALID, "'x'");
}

static void test_bad_input(void)
{
    lt_hmm *m = random_cat(2, 3, 1);
    if (!m) return;
    int32_t sym[7] = {0, 1, 2, 1, 0, 0, 2};
    double lp[3];
    size_t l0[] = {3, 0, 4};
    lt_seqs s = {.n_seqs = 3, .lengths = l0, .total = 7, .dim = 1, .symbols = sym};
    CHECK_FAILS(lt_hmm_score(m, &s, 1, lp), LT_ERR_INVALID, "sequence 2 has length 0");
    size_t l1[] = {3, 3};
    s = (lt_seqs){.n_seqs = 2, .lengths = l1, .total = 7, .dim = 1, .symbols = sym};
    CHECK_FAILS(lt_hmm_score(m, &s, 1, lp), LT_ERR_DIM, "lengths add up to 6 steps but the data has 7");
    s.n_seqs = 0;
    CHECK_FAILS(lt_hmm_score(m, &s, 1, lp), LT_ERR_INVALID, "no sequences");
    size_t l2[] = {7};
    sym[3] = 5;
    s = (lt_seqs){.n_seqs = 1, .lengths = l2, .total = 7, .dim = 1, .symbols = sym};
    CHECK_FAILS(lt_hmm_score(m, &s, 1, lp), LT_ERR_INVALID, "step 4: symbol 5 is outside the alphabet of 3 symbols");
    sym[3] = -1;
    CHECK_FAILS(lt_hmm_viterbi(m, &s, 1, (int32_t[7]){0}, NULL), LT_ERR_INVALID, "step 4: symbol -1");
    sym[3] = 1;

    /* fit: k larger than the data, priors, a missing initial model */
    lt_hmm_options o;
    lt_hmm_options_default(&o);
    lt_hmm *f = NULL;
    size_t l3[] = {2, 1};
    lt_seqs small = {.n_seqs = 2, .lengths = l3, .total = 3, .dim = 1, .symbols = sym};
    o.k = 5;
    CHECK_FAILS(lt_hmm_fit(&o, &small, &f), LT_ERR_INVALID, "k = 5 states exceeds the number of steps (3)");
    o.k = 2;
    o.trans_prior = 0.0;
    CHECK_FAILS(lt_hmm_fit(&o, &small, &f), LT_ERR_INVALID, "trans_prior must be a positive number");
    o.trans_prior = 1.0;
    o.init_params = LT_HMM_START | LT_HMM_TRANS;
    CHECK_FAILS(lt_hmm_fit(&o, &small, &f), LT_ERR_INVALID, "must come from an initial model");
    o.init_model = random_cat(3, 3, 2);
    CHECK_FAILS(lt_hmm_fit(&o, &small, &f), LT_ERR_DIM, "the initial model has 3 states but the fit asks for 2");
    lt_hmm_free((lt_hmm *)o.init_model);
    o.init_params = LT_HMM_ALL;
    o.init_model = NULL;
    uint8_t nomove[4] = {1, 1, 0, 0};
    o.mask = nomove;
    CHECK_FAILS(lt_hmm_fit(&o, &small, &f), LT_ERR_INVALID, "allows no transition from state 1");
    o.mask = NULL;
    o.n_symbols = 3;
    sym[1] = 9;
    CHECK_FAILS(lt_hmm_fit(&o, &(lt_seqs){.n_seqs = 1, .lengths = l2, .total = 7, .dim = 1, .symbols = sym}, &f),
                LT_ERR_INVALID, "step 2: symbol 9");
    sym[1] = -2;
    CHECK_FAILS(lt_hmm_fit(&o, &(lt_seqs){.n_seqs = 1, .lengths = l2, .total = 7, .dim = 1, .symbols = sym}, &f),
                LT_ERR_INVALID, "step 2: symbol -2");
    sym[1] = 1;
    CHECK(f == NULL);

    /* prepare: rows that do not sum to 1, a mask that is broken */
    m->trans[0] += 0.01;
    CHECK_FAILS(lt_hmm_prepare(m), LT_ERR_NUMERIC, "transitions from state 0 sum to 1.01");
    m->trans[0] -= 0.01;
    m->start[1] = -0.1;
    CHECK_FAILS(lt_hmm_prepare(m), LT_ERR_NUMERIC, "start probability of state 1 is -0.1");
    m->start[1] = 1.0 - m->start[0];
    m->mask = calloc(4, 1);
    m->mask[0] = m->mask[3] = 1;
    CHECK_FAILS(lt_hmm_prepare(m), LT_ERR_INVALID, "transition 0 -> 1 is");
    lt_hmm_free(m);

    /* Gaussian: wrong dimension, values that are not numbers */
    m = random_gauss(2, 2, 3);
    if (!m) return;
    double x[6] = {0, 1, 2, 3, 4, 5};
    size_t l4[] = {2};
    lt_seqs g = {.n_seqs = 1, .lengths = l4, .total = 2, .dim = 3, .x = x};
    CHECK_FAILS(lt_hmm_score(m, &g, 1, lp), LT_ERR_DIM, "the data has 3 features per step but the model has 2");
    g.dim = 2;
    x[3] = NAN;
    CHECK_FAILS(lt_hmm_score(m, &g, 1, lp), LT_ERR_NUMERIC, "step 2, column 2");
    g.symbols = sym;
    g.x = NULL;
    CHECK_FAILS(lt_hmm_score(m, &g, 1, lp), LT_ERR_INVALID, "need numeric data");
    lt_hmm_free(m);
}

/* Sampling is deterministic for a seed; BIC and AIC follow their formulas. */
static void test_sample_bic(void)
{
    lt_hmm *m = random_gauss(3, 2, 12);
    if (!m) return;
    int32_t z1[200], z2[200];
    double x1[400], x2[400];
    CHECK_OK(lt_hmm_sample(m, 4, 50, 77, z1, x1, NULL));
    CHECK_OK(lt_hmm_sample(m, 4, 50, 77, z2, x2, NULL));
    CHECK(memcmp(z1, z2, sizeof z1) == 0 && memcmp(x1, x2, sizeof x1) == 0);
    CHECK_OK(lt_hmm_sample(m, 4, 50, 77, NULL, x2, NULL)); /* same draws without the states */
    CHECK(memcmp(x1, x2, sizeof x1) == 0);
    CHECK_OK(lt_hmm_sample(m, 4, 50, 78, z2, x2, NULL));
    CHECK(memcmp(x1, x2, sizeof x1) != 0);
    size_t lengths[] = {50, 50, 50, 50};
    lt_seqs s = {.n_seqs = 4, .lengths = lengths, .total = 200, .dim = 2, .x = x1};
    double bic, aic, ll = total_score(m, &s);
    CHECK_OK(lt_hmm_bic(m, &s, 1, &bic, &aic));
    size_t p = 2 + 6 + 3 * 2 + 3 * 2;
    CHECK(lt_hmm_n_parameters(m) == p);
    CHECK_NEAR(bic, -2.0 * ll + (double)p * log(200.0), 1e-9);
    CHECK_NEAR(aic, -2.0 * ll + 2.0 * (double)p, 1e-9);
    lt_hmm_free(m);
}

int main(void)
{
    RUN(test_names_and_options);
    RUN(test_brute_categorical);
    RUN(test_brute_gaussian);
    RUN(test_log_space_fallback);
    RUN(test_zero_probability);
    RUN(test_counts_brute);
    RUN(test_monotone);
    RUN(test_map_monotone);
    RUN(test_recover_categorical);
    RUN(test_recover_gaussian);
    RUN(test_threads);
    RUN(test_mask);
    RUN(test_long_sequence);
    RUN(test_save_load);
    RUN(test_bad_input);
    RUN(test_sample_bic);
    return lt_test_done();
}
