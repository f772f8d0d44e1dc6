// LABELS: unit
/* HMM engine, one long sequence shared by threads: the forward and the
 * backward run at the same time and the counts are summed per fixed block
 * of steps, so fits, posteriors, scores and paths must be byte-identical
 * at 1, 2 and 3 threads, and agree with a plain log-space
 * forward-backward written here (categorical, Gaussian, Poisson; small and
 * larger K; the engine's own log-space redo; a sequence of probability
 * zero; a long sequence among short ones). */
#include "latent/hmm.h"
#include "latent/rng.h"

#include "harness.h"

#include <stdint.h>

#define LOG_2PI 1.8378770664093454835606594728112

/* ------------------------------------------------------------ reference */

static double lse2(double a, double b)
{
    if (a == -INFINITY) return b;
    if (b == -INFINITY) return a;
    double m = a > b ? a : b;
    return m + log(exp(a - m) + exp(b - m));
}

static double safe_log(double x)
{
    return x > 0.0 ? log(x) : -INFINITY;
}

/* log b_j(x_t), T x k, straight from the parameters. */
static void emit_logs(const lt_hmm *m, const lt_seqs *s, double *L)
{
    size_t k = m->k, d = m->d;
    for (size_t t = 0; t < s->total; t++)
        for (size_t j = 0; j < k; j++) {
            double v = 0.0;
            if (m->emission == LT_EMIT_CATEGORICAL) {
                v = safe_log(m->emit[j * m->n_symbols + (size_t)s->symbols[t]]);
            } else if (m->emission == LT_EMIT_POISSON) {
                for (size_t c = 0; c < d; c++) {
                    double x = s->x[t * d + c], r = m->emit[j * d + c];
                    v += x * log(r) - r - lgamma(x + 1.0);
                }
            } else { /* gaussian, diagonal */
                const lt_gmm *g = m->states[0];
                for (size_t c = 0; c < d; c++) {
                    double var = g->covs[j * d + c], z = s->x[t * d + c] - g->means[j * d + c];
                    v += -0.5 * (LOG_2PI + log(var) + z * z / var);
                }
            }
            L[t * k + j] = v;
        }
}

/* log sum_i exp(v_i) */
static double lse(const double *v, size_t n)
{
    double r = -INFINITY;
    for (size_t i = 0; i < n; i++)
        r = lse2(r, v[i]);
    return r;
}

/* Forward-backward in log space over every sequence, each step's vectors
 * normalised (log p(z_t | x_1..t) forward, largest entry 0 backward) so
 * the numbers stay small however long the sequence: posteriors (total x
 * k), log p per sequence (the sum of the forward's normalisers), expected
 * start counts S (k) and transition counts N (k x k), all summed over the
 * sequences. */
static void reference(const lt_hmm *m, const lt_seqs *s, double *post, double *logp, double *S, double *N)
{
    size_t k = m->k, total = s->total;
    double *L = malloc(total * k * sizeof(double)), *la = malloc(total * k * sizeof(double));
    double *lb = malloc(total * k * sizeof(double)), *tmp = malloc(k * k * sizeof(double));
    emit_logs(m, s, L);
    memset(S, 0, k * sizeof(double));
    memset(N, 0, k * k * sizeof(double));
    size_t t0 = 0;
    for (size_t q = 0; q < s->n_seqs; q++) {
        size_t T = s->lengths[q];
        const double *Lq = L + t0 * k;
        double *a = la + t0 * k, *b = lb + t0 * k, lp = 0.0;
        for (size_t t = 0; t < T; t++) {
            for (size_t j = 0; j < k; j++) {
                if (t == 0) {
                    a[j] = safe_log(m->start[j]) + Lq[j];
                    continue;
                }
                for (size_t i = 0; i < k; i++)
                    tmp[i] = a[(t - 1) * k + i] + safe_log(m->trans[i * k + j]);
                a[t * k + j] = lse(tmp, k) + Lq[t * k + j];
            }
            double c = lse(a + t * k, k);
            lp += c;
            for (size_t j = 0; j < k; j++)
                a[t * k + j] -= c;
        }
        logp[q] = lp;
        for (size_t j = 0; j < k; j++)
            b[(T - 1) * k + j] = 0.0;
        for (size_t t = T - 1; t-- > 0;) {
            double mx = -INFINITY;
            for (size_t i = 0; i < k; i++) {
                for (size_t j = 0; j < k; j++)
                    tmp[j] = safe_log(m->trans[i * k + j]) + Lq[(t + 1) * k + j] + b[(t + 1) * k + j];
                b[t * k + i] = lse(tmp, k);
                if (b[t * k + i] > mx) mx = b[t * k + i];
            }
            for (size_t i = 0; i < k; i++)
                b[t * k + i] -= mx;
        }
        for (size_t t = 0; t < T; t++) {
            for (size_t j = 0; j < k; j++)
                tmp[j] = a[t * k + j] + b[t * k + j];
            double z = lse(tmp, k);
            for (size_t j = 0; j < k; j++)
                post[(t0 + t) * k + j] = exp(tmp[j] - z);
        }
        for (size_t j = 0; j < k; j++)
            S[j] += post[t0 * k + j];
        for (size_t t = 0; t + 1 < T; t++) {
            for (size_t i = 0; i < k; i++)
                for (size_t j = 0; j < k; j++)
                    tmp[i * k + j] =
                        a[t * k + i] + safe_log(m->trans[i * k + j]) + Lq[(t + 1) * k + j] + b[(t + 1) * k + j];
            double z = lse(tmp, k * k);
            for (size_t q2 = 0; q2 < k * k; q2++)
                N[q2] += exp(tmp[q2] - z);
        }
        t0 += T;
    }
    free(L);
    free(la);
    free(lb);
    free(tmp);
}

/* Most probable path in log space (ties to the lower state), its log p. */
static double ref_viterbi(const lt_hmm *m, const double *L, size_t T, int32_t *path)
{
    size_t k = m->k;
    double *d = malloc(T * k * sizeof(double));
    int32_t *bp = malloc(T * k * sizeof(int32_t));
    for (size_t j = 0; j < k; j++)
        d[j] = safe_log(m->start[j]) + L[j];
    for (size_t t = 1; t < T; t++)
        for (size_t j = 0; j < k; j++) {
            double best = -INFINITY;
            int32_t arg = 0;
            for (size_t i = 0; i < k; i++) {
                double v = d[(t - 1) * k + i] + safe_log(m->trans[i * k + j]);
                if (v > best) best = v, arg = (int32_t)i;
            }
            d[t * k + j] = best + L[t * k + j];
            bp[t * k + j] = arg;
        }
    size_t arg = 0;
    for (size_t j = 1; j < k; j++)
        if (d[(T - 1) * k + j] > d[(T - 1) * k + arg]) arg = j;
    double lp = d[(T - 1) * k + arg];
    path[T - 1] = (int32_t)arg;
    for (size_t t = T - 1; t > 0; t--)
        path[t - 1] = bp[t * k + (size_t)path[t]];
    free(d);
    free(bp);
    return lp;
}

/* -------------------------------------------------------------- models */

static void dirichlet_row(lt_rng *r, double *p, size_t n, double conc)
{
    double a[32] = {0};
    for (size_t i = 0; i < n && i < 32; i++)
        a[i] = conc;
    lt_rng_dirichlet(r, a, n, p);
}

/* Sticky random transitions: a state is kept for a while, as in data an
 * HMM is fitted to. */
static void random_chain(lt_hmm *m, lt_rng *r)
{
    size_t k = m->k;
    dirichlet_row(r, m->start, k, 1.0);
    for (size_t i = 0; i < k; i++) {
        double *row = m->trans + i * k;
        dirichlet_row(r, row, k, 1.0);
        for (size_t j = 0; j < k; j++)
            row[j] = 0.2 * row[j] + (i == j ? 0.8 : 0.0);
    }
}

static lt_hmm *random_model(lt_emission em, size_t k, size_t d, size_t S, uint64_t seed)
{
    lt_hmm *m = NULL;
    if (lt_hmm_create(k, em, d, S, 0, LT_COV_DIAG, &m) != LT_OK) return NULL;
    lt_rng r;
    lt_rng_seed(&r, seed);
    random_chain(m, &r);
    if (em == LT_EMIT_CATEGORICAL) {
        for (size_t i = 0; i < k; i++)
            dirichlet_row(&r, m->emit + i * S, S, 0.5);
    } else if (em == LT_EMIT_POISSON) {
        for (size_t q = 0; q < k * d; q++)
            m->emit[q] = 0.5 + 8.0 * lt_rng_uniform(&r);
    } else {
        lt_gmm *g = m->states[0];
        for (size_t q = 0; q < k * d; q++) {
            g->means[q] = 2.0 * lt_rng_normal(&r);
            g->covs[q] = 0.3 + lt_rng_uniform(&r);
        }
    }
    if (lt_hmm_prepare(m) != LT_OK) {
        lt_hmm_free(m);
        return NULL;
    }
    return m;
}

typedef struct data {
    lt_seqs s;
    size_t *lengths;
    int32_t *sym, *states;
    double *x;
} data;

/* n_seqs sequences of the given lengths sampled from m. */
static void sample(const lt_hmm *m, const size_t *lengths, size_t n_seqs, uint64_t seed, data *D)
{
    size_t total = 0, d = m->d, mx = 0;
    for (size_t q = 0; q < n_seqs; q++) {
        total += lengths[q];
        if (lengths[q] > mx) mx = lengths[q];
    }
    memset(D, 0, sizeof *D);
    D->lengths = malloc(n_seqs * sizeof(size_t));
    memcpy(D->lengths, lengths, n_seqs * sizeof(size_t));
    D->states = malloc(mx * sizeof(int32_t));
    int cat = m->emission == LT_EMIT_CATEGORICAL;
    if (cat)
        D->sym = malloc(total * sizeof(int32_t));
    else
        D->x = malloc(total * d * sizeof(double));
    int32_t *sym1 = cat ? malloc(mx * sizeof(int32_t)) : NULL;
    double *x1 = cat ? NULL : malloc(mx * d * sizeof(double));
    size_t t0 = 0;
    for (size_t q = 0; q < n_seqs; q++) {
        CHECK_OK(lt_hmm_sample(m, 1, lengths[q], seed + q, D->states, x1, sym1));
        if (cat)
            memcpy(D->sym + t0, sym1, lengths[q] * sizeof(int32_t));
        else
            memcpy(D->x + t0 * d, x1, lengths[q] * d * sizeof(double));
        t0 += lengths[q];
    }
    free(sym1);
    free(x1);
    D->s = (lt_seqs){
        .n_seqs = n_seqs, .lengths = D->lengths, .total = total, .dim = cat ? 1 : d, .x = D->x, .symbols = D->sym};
}

static void data_free(data *D)
{
    free(D->lengths);
    free(D->sym);
    free(D->states);
    free(D->x);
}

/* The model's emission parameters as one array, for byte comparisons. */
static size_t emit_params(const lt_hmm *m, const double **p)
{
    if (m->emission == LT_EMIT_GAUSSIAN) {
        p[0] = m->states[0]->means;
        p[1] = m->states[0]->covs;
        return m->k * m->d;
    }
    p[0] = p[1] = m->emit;
    return m->emission == LT_EMIT_CATEGORICAL ? m->k * m->n_symbols : m->k * m->d;
}

static int same_model(const lt_hmm *a, const lt_hmm *b)
{
    size_t k = a->k;
    const double *pa[2], *pb[2];
    size_t n = emit_params(a, pa);
    emit_params(b, pb);
    return memcmp(a->start, b->start, k * sizeof(double)) == 0 &&
           memcmp(a->trans, b->trans, k * k * sizeof(double)) == 0 && memcmp(pa[0], pb[0], n * sizeof(double)) == 0 &&
           memcmp(pa[1], pb[1], n * sizeof(double)) == 0 &&
           memcmp(&a->log_likelihood, &b->log_likelihood, sizeof(double)) == 0 && a->n_iter == b->n_iter;
}

/* ----------------------------------------------------------------- tests */

/* Posteriors, scores and paths of m on D at 1, 2 and 3 threads: the same
 * bytes, and the reference's numbers. */
static void check_passes(const lt_hmm *m, const data *D, double post_tol)
{
    size_t k = m->k, total = D->s.total, ns = D->s.n_seqs;
    double *ref = malloc(total * k * sizeof(double)), *rlp = malloc(ns * sizeof(double));
    double S[32], N[32 * 32];
    reference(m, &D->s, ref, rlp, S, N);
    double *post[3], *lp[3], *vlp[3];
    int32_t *path[3];
    for (int th = 1; th <= 3; th++) {
        post[th - 1] = malloc(total * k * sizeof(double));
        lp[th - 1] = malloc(ns * sizeof(double));
        vlp[th - 1] = malloc(ns * sizeof(double));
        path[th - 1] = malloc(total * sizeof(int32_t));
        CHECK_OK(lt_hmm_posteriors(m, &D->s, th, post[th - 1]));
        CHECK_OK(lt_hmm_score(m, &D->s, th, lp[th - 1]));
        CHECK_OK(lt_hmm_viterbi(m, &D->s, th, path[th - 1], vlp[th - 1]));
    }
    for (int i = 1; i < 3; i++) {
        CHECK_MSG(memcmp(post[0], post[i], total * k * sizeof(double)) == 0, "posteriors at %d threads", i + 1);
        CHECK_MSG(memcmp(lp[0], lp[i], ns * sizeof(double)) == 0, "scores at %d threads", i + 1);
        CHECK_MSG(memcmp(vlp[0], vlp[i], ns * sizeof(double)) == 0, "Viterbi scores at %d threads", i + 1);
        CHECK_MSG(memcmp(path[0], path[i], total * sizeof(int32_t)) == 0, "paths at %d threads", i + 1);
    }
    double worst = 0.0;
    for (size_t q = 0; q < total * k; q++)
        if (fabs(post[0][q] - ref[q]) > worst) worst = fabs(post[0][q] - ref[q]);
    CHECK_MSG(worst <= post_tol, "posteriors differ from the reference by %g", worst);
    for (size_t q = 0; q < ns; q++)
        CHECK_REL(lp[0][q], rlp[q], 1e-12);
    /* Viterbi: the reference's path and score (continuous data: no ties). */
    double *L = malloc(total * k * sizeof(double));
    int32_t *rp = malloc(total * sizeof(int32_t));
    emit_logs(m, &D->s, L);
    size_t t0 = 0, mism = 0;
    for (size_t q = 0; q < ns; q++) {
        double v = ref_viterbi(m, L + t0 * k, D->s.lengths[q], rp + t0);
        CHECK_REL(vlp[0][q], v, 1e-12);
        t0 += D->s.lengths[q];
    }
    for (size_t t = 0; t < total; t++)
        mism += rp[t] != path[0][t];
    CHECK_MSG(mism == 0, "%zu steps off the reference path", mism);
    for (int i = 0; i < 3; i++) {
        free(post[i]);
        free(lp[i]);
        free(vlp[i]);
        free(path[i]);
    }
    free(L);
    free(rp);
    free(ref);
    free(rlp);
}

static void test_passes(void)
{
    struct {
        lt_emission em;
        size_t k, d, S, T;
    } cases[] = {
        {LT_EMIT_CATEGORICAL, 3, 1, 5, 30000}, /* small k, per-symbol matrices */
        {LT_EMIT_CATEGORICAL, 6, 1, 7, 20000}, /* any k */
        {LT_EMIT_GAUSSIAN, 2, 2, 0, 25000},    {LT_EMIT_GAUSSIAN, 5, 3, 0, 20000}, {LT_EMIT_POISSON, 4, 2, 0, 20000},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        lt_hmm *m = random_model(cases[c].em, cases[c].k, cases[c].d, cases[c].S, 10 + c);
        CHECK(m != NULL);
        if (!m) continue;
        data D;
        sample(m, &cases[c].T, 1, 100 + c, &D);
        check_passes(m, &D, 1e-10);
        data_free(&D);
        lt_hmm_free(m);
    }
}

/* One Baum-Welch step of start and transitions from a fixed model is the
 * normalised expected counts; the engine's counts of a long sequence are
 * summed per block, the reference's over all steps at once. */
static void test_counts(void)
{
    lt_emission ems[] = {LT_EMIT_CATEGORICAL, LT_EMIT_GAUSSIAN};
    size_t ks[] = {3, 6};
    for (size_t c = 0; c < 4; c++) {
        lt_hmm *m = random_model(ems[c % 2], ks[c / 2], 2, 6, 40 + c);
        CHECK(m != NULL);
        if (!m) continue;
        size_t k = m->k, T = 24000;
        data D;
        sample(m, &T, 1, 50 + c, &D);
        double *ref = malloc(T * k * sizeof(double)), lp, S[32], N[32 * 32];
        reference(m, &D.s, ref, &lp, S, N);
        lt_hmm_options o;
        lt_hmm_options_default(&o);
        o.k = k;
        o.emission = m->emission;
        o.n_symbols = m->n_symbols;
        o.init_model = m;
        o.init_params = 0;
        o.params = LT_HMM_START | LT_HMM_TRANS;
        o.max_iter = 1;
        lt_hmm *f[3] = {NULL, NULL, NULL};
        for (int th = 1; th <= 3; th++) {
            o.threads = th;
            CHECK_OK(lt_hmm_fit(&o, &D.s, &f[th - 1]));
        }
        if (f[0] && f[1] && f[2]) {
            CHECK(same_model(f[0], f[1]) && same_model(f[0], f[2]));
            for (size_t j = 0; j < k; j++)
                CHECK_NEAR(f[0]->start[j], S[j], 1e-10);
            for (size_t i = 0; i < k; i++) {
                double r = 0.0;
                for (size_t j = 0; j < k; j++)
                    r += N[i * k + j];
                for (size_t j = 0; j < k; j++)
                    CHECK_REL(f[0]->trans[i * k + j], N[i * k + j] / r, 1e-10);
            }
            CHECK_REL(f[0]->log_likelihood, lp / (double)T, 1e-12);
        }
        for (int i = 0; i < 3; i++)
            lt_hmm_free(f[i]);
        free(ref);
        data_free(&D);
        lt_hmm_free(m);
    }
}

/* Whole fits from the data (initialisation included) on one long
 * sequence, and on a long sequence among short ones: the same bytes at
 * 1, 2 and 3 threads. */
static void test_fits(void)
{
    struct {
        lt_emission em;
        size_t k, d, S, n;
        size_t lengths[6];
    } cases[] = {
        {LT_EMIT_CATEGORICAL, 4, 1, 6, 1, {40000}},
        {LT_EMIT_CATEGORICAL, 8, 1, 9, 1, {20000}},
        {LT_EMIT_GAUSSIAN, 3, 2, 0, 1, {30000}},
        {LT_EMIT_GAUSSIAN, 6, 4, 0, 1, {20000}},
        {LT_EMIT_GAUSSIAN, 3, 2, 0, 6, {700, 30000, 20, 1500, 17000, 300}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        lt_hmm *truth = random_model(cases[c].em, cases[c].k, cases[c].d, cases[c].S, 60 + c);
        CHECK(truth != NULL);
        if (!truth) continue;
        data D;
        sample(truth, cases[c].lengths, cases[c].n, 70 + c, &D);
        lt_hmm_options o;
        lt_hmm_options_default(&o);
        o.k = cases[c].k;
        o.emission = cases[c].em;
        o.n_symbols = cases[c].S;
        o.max_iter = 4;
        o.tol = 0.0;
        o.seed = 11 + c;
        lt_hmm *f[3] = {NULL, NULL, NULL};
        for (int th = 1; th <= 3; th++) {
            o.threads = th;
            CHECK_OK(lt_hmm_fit(&o, &D.s, &f[th - 1]));
        }
        if (f[0] && f[1] && f[2]) {
            CHECK_MSG(same_model(f[0], f[1]), "case %zu: 1 and 2 threads", c);
            CHECK_MSG(same_model(f[0], f[2]), "case %zu: 1 and 3 threads", c);
            CHECK(f[0]->n_iter == 4 && isfinite(f[0]->log_likelihood));
        }
        if (cases[c].n > 1 && f[0]) check_passes(f[0], &D, 1e-10);
        for (int i = 0; i < 3; i++)
            lt_hmm_free(f[i]);
        data_free(&D);
        lt_hmm_free(truth);
    }
}

/* A transition of 1e-310, taken once in the middle of a long sequence:
 * the scaled pass gives up and the sequence is redone in log space, with
 * the same answers at any thread count. */
static void test_log_space_redo(void)
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
    size_t T = 20000;
    data D;
    memset(&D, 0, sizeof D);
    D.lengths = malloc(sizeof(size_t));
    D.lengths[0] = T;
    D.x = malloc(T * sizeof(double));
    lt_rng r;
    lt_rng_seed(&r, 9);
    for (size_t t = 0; t < T; t++)
        D.x[t] = (t < T / 2 ? 0.0 : 40.0) + lt_rng_normal(&r);
    D.s = (lt_seqs){.n_seqs = 1, .lengths = D.lengths, .total = T, .dim = 1, .x = D.x};
    check_passes(m, &D, 1e-10);
    data_free(&D);
    lt_hmm_free(m);
}

/* A symbol no state emits, late in a long sequence: score -inf, and the
 * decoders refuse with the step, at any thread count. */
static void test_impossible(void)
{
    lt_hmm *m = random_model(LT_EMIT_CATEGORICAL, 3, 1, 4, 80);
    if (!m) return;
    for (size_t i = 0; i < 3; i++) { /* symbol 3 is never emitted */
        double *row = m->emit + i * 4;
        row[3] = 0.0;
        double s = row[0] + row[1] + row[2];
        for (size_t j = 0; j < 3; j++)
            row[j] /= s;
    }
    CHECK_OK(lt_hmm_prepare(m));
    size_t T = 30000;
    int32_t *sym = malloc(T * sizeof(int32_t));
    lt_rng r;
    lt_rng_seed(&r, 81);
    for (size_t t = 0; t < T; t++)
        sym[t] = (int32_t)lt_rng_below(&r, 3);
    sym[25000] = 3;
    lt_seqs s = {.n_seqs = 1, .lengths = &T, .total = T, .dim = 1, .symbols = sym};
    double *post = malloc(T * 3 * sizeof(double)), lp;
    int32_t *path = malloc(T * sizeof(int32_t));
    for (int th = 1; th <= 3; th++) {
        CHECK_OK(lt_hmm_score(m, &s, th, &lp));
        CHECK(lp == -INFINITY);
        CHECK_FAILS(lt_hmm_posteriors(m, &s, th, post), LT_ERR_NUMERIC, "impossible from step 25001 of 30000");
        CHECK_FAILS(lt_hmm_viterbi(m, &s, th, path, &lp), LT_ERR_NUMERIC, "impossible from step 25001 of 30000");
    }
    free(post);
    free(path);
    free(sym);
    lt_hmm_free(m);
}

int main(void)
{
    RUN(test_passes);
    RUN(test_counts);
    RUN(test_fits);
    RUN(test_log_space_redo);
    RUN(test_impossible);
    return lt_test_done();
}
