// LABELS: unit
/* LDA by collapsed Gibbs sampling: special functions against libm and
 * finite differences; Minka's fixed points against known Dirichlet
 * parameters and a zero likelihood gradient; the sampler's visited states
 * against the collapsed posterior by enumeration; topics recovered from a
 * corpus drawn from known topics; tables consistent with the assignments;
 * results independent of the thread count; fold-in against the exact
 * posterior mean by enumeration; edge cases and refused input. */
#include "harness.h"
#include "latent/lda.h"
#include "latent/rng.h"
#include "models/lda_internal.h"

#include <stdint.h>

/* ---- corpora ---------------------------------------------------------------- */

static lt_corpus *corpus_new(size_t nd, size_t v, size_t n)
{
    lt_corpus *c = calloc(1, sizeof *c);
    c->n_docs = nd;
    c->n_vocab = v;
    c->n_tokens = n;
    c->doc_ptr = calloc(nd + 1, sizeof *c->doc_ptr);
    c->tokens = calloc(n ? n : 1, sizeof *c->tokens);
    return c;
}

static void corpus_del(lt_corpus *c)
{
    if (!c) return;
    free(c->doc_ptr);
    free(c->tokens);
    free(c);
}

/* Block topics: topic k puts almost all its mass on words [k V/K, (k+1) V/K),
 * unevenly; theta_d ~ Dirichlet(a). phi (K x V) and theta (D x K) out. */
static lt_corpus *synth(size_t k, size_t v, size_t nd, size_t len, double a, uint64_t seed, double *phi, double *theta)
{
    lt_rng r;
    lt_rng_seed(&r, seed);
    for (size_t t = 0; t < k; t++) {
        double s = 0;
        for (size_t w = 0; w < v; w++) {
            int own = w * k / v == t;
            phi[t * v + w] = own ? 1.0 + (double)(w % 4) : 0.002;
            s += phi[t * v + w];
        }
        for (size_t w = 0; w < v; w++) phi[t * v + w] /= s;
    }
    lt_corpus *c = corpus_new(nd, v, nd * len);
    double *al = malloc(k * sizeof *al);
    for (size_t t = 0; t < k; t++) al[t] = a;
    for (size_t d = 0; d < nd; d++) {
        double *th = theta + d * k;
        lt_rng_dirichlet(&r, al, k, th);
        c->doc_ptr[d + 1] = (d + 1) * len;
        for (size_t i = 0; i < len; i++) {
            size_t z = lt_rng_categorical(&r, th, k);
            c->tokens[d * len + i] = (int32_t)lt_rng_categorical(&r, phi + z * v, v);
        }
    }
    free(al);
    return c;
}

/* log p(w, z | alpha, beta) by its definition, with libm's lgamma. */
static double joint_logp(const lt_corpus *c, const int32_t *z, size_t k, const double *alpha, double beta)
{
    size_t v = c->n_vocab;
    double *nkw = calloc(k * v, sizeof *nkw), *nk = calloc(k, sizeof *nk), *ndk = calloc(k, sizeof *ndk);
    double a0 = 0, ll = 0;
    for (size_t t = 0; t < k; t++) a0 += alpha[t];
    for (size_t d = 0; d < c->n_docs; d++) {
        memset(ndk, 0, k * sizeof *ndk);
        for (size_t i = c->doc_ptr[d]; i < c->doc_ptr[d + 1]; i++) {
            ndk[z[i]]++;
            nkw[z[i] * v + c->tokens[i]]++;
            nk[z[i]]++;
        }
        double n = (double)(c->doc_ptr[d + 1] - c->doc_ptr[d]);
        ll += lgamma(a0) - lgamma(n + a0);
        for (size_t t = 0; t < k; t++) ll += lgamma(ndk[t] + alpha[t]) - lgamma(alpha[t]);
    }
    for (size_t t = 0; t < k; t++) {
        ll += lgamma(v * beta) - lgamma(nk[t] + v * beta);
        for (size_t w = 0; w < v; w++) ll += lgamma(nkw[t * v + w] + beta) - lgamma(beta);
    }
    free(nkw);
    free(nk);
    free(ndk);
    return ll;
}

/* Sum over matched pairs of L1 distances, best permutation by brute force
 * (k <= 6); per-topic distances into dist[true topic]. */
static void match_topics(const double *truth, const double *est, size_t k, size_t v, double *dist)
{
    double *l1 = malloc(k * k * sizeof *l1);
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; b < k; b++) {
            double s = 0;
            for (size_t w = 0; w < v; w++) s += fabs(truth[a * v + w] - est[b * v + w]);
            l1[a * k + b] = s;
        }
    size_t perm[8], best[8];
    for (size_t i = 0; i < k; i++) perm[i] = i;
    double best_cost = INFINITY;
    for (;;) {
        double cost = 0;
        for (size_t i = 0; i < k; i++) cost += l1[i * k + perm[i]];
        if (cost < best_cost) {
            best_cost = cost;
            memcpy(best, perm, k * sizeof *perm);
        }
        /* next permutation (lexicographic) */
        size_t i = k - 1;
        while (i > 0 && perm[i - 1] >= perm[i]) i--;
        if (i == 0) break;
        size_t j = k - 1;
        while (perm[j] <= perm[i - 1]) j--;
        size_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
        for (size_t a = i, b = k - 1; a < b; a++, b--) {
            t = perm[a];
            perm[a] = perm[b];
            perm[b] = t;
        }
    }
    for (size_t i = 0; i < k; i++) dist[i] = l1[i * k + best[i]];
    free(l1);
}

/* ---- special functions -------------------------------------------------------- */

static void test_special_functions(void)
{
    const double xs[] = {1e-8, 0.003, 0.1, 0.5, 1.0, 1.5, 2.7, 9.99, 10.0, 33.3, 1234.5, 1e7};
    for (size_t i = 0; i < sizeof xs / sizeof *xs; i++) {
        double x = xs[i];
        CHECK_NEAR(lda_lgamma(x), lgamma(x), 1e-12 * fmax(1.0, fabs(lgamma(x))));
        /* digamma: the recurrence and a central difference of libm's lgamma */
        CHECK_NEAR(lda_digamma(x + 1), lda_digamma(x) + 1 / x, 1e-12 * fmax(1.0, 1 / x));
        if (x >= 0.1) {
            double h = 1e-5 * x;
            CHECK_NEAR(lda_digamma(x), (lgamma(x + h) - lgamma(x - h)) / (2 * h),
                       1e-6 * fmax(1.0, fabs(lda_digamma(x))));
            CHECK_NEAR(lda_trigamma(x), (lda_digamma(x + h) - lda_digamma(x - h)) / (2 * h),
                       1e-5 * fmax(1.0, lda_trigamma(x)));
        }
        CHECK_REL(lda_digamma_inv(lda_digamma(x)), x, 1e-9);
    }
    CHECK_NEAR(lda_digamma(1.0), -0.57721566490153286, 1e-13);
}

/* ---- Minka's fixed points ----------------------------------------------------- */

/* d/d alpha_k of the Dirichlet-multinomial log-likelihood, from the raw
 * counts (no histograms): zero at the maximum. */
static double dm_gradient(const uint32_t *cnt, const uint32_t *len, size_t nd, size_t k, const double *alpha, size_t j)
{
    double a0 = 0, g = 0;
    for (size_t t = 0; t < k; t++) a0 += alpha[t];
    for (size_t d = 0; d < nd; d++)
        g +=
            lda_digamma(a0) - lda_digamma(len[d] + a0) + lda_digamma(cnt[d * k + j] + alpha[j]) - lda_digamma(alpha[j]);
    return g;
}

static void test_minka_alpha(void)
{
    const size_t k = 4, nd = 4000, maxlen = 150;
    const double truth[4] = {0.2, 0.5, 1.0, 2.0};
    lt_rng r;
    lt_rng_seed(&r, 11);
    uint32_t *cnt = calloc(nd * k, sizeof *cnt), *len = calloc(nd, sizeof *len);
    uint64_t *hist = calloc(k * (maxlen + 1), sizeof *hist), *lh = calloc(maxlen + 1, sizeof *lh);
    double th[4];
    for (size_t d = 0; d < nd; d++) {
        len[d] = 20 + (uint32_t)lt_rng_below(&r, maxlen - 19);
        lt_rng_dirichlet(&r, truth, k, th);
        for (uint32_t i = 0; i < len[d]; i++) cnt[d * k + lt_rng_categorical(&r, th, k)]++;
        lh[len[d]]++;
        for (size_t j = 0; j < k; j++)
            if (cnt[d * k + j]) hist[j * (maxlen + 1) + cnt[d * k + j]]++;
    }
    size_t off[5];
    for (size_t j = 0; j <= k; j++) off[j] = j * (maxlen + 1);
    double alpha[4] = {1, 1, 1, 1};
    CHECK_OK(lda_minka_alpha(k, hist, off, lh, maxlen, 2, 1000, alpha));
    for (size_t j = 0; j < k; j++) {
        CHECK_REL(alpha[j], truth[j], 0.12);
        CHECK_NEAR(dm_gradient(cnt, len, nd, k, alpha, j), 0.0, 1e-6 * nd);
    }
    /* symmetric: the gradient along the diagonal vanishes */
    double sym[4] = {1, 1, 1, 1};
    CHECK_OK(lda_minka_alpha(k, hist, off, lh, maxlen, 1, 1000, sym));
    double gsum = 0;
    for (size_t j = 0; j < k; j++) gsum += dm_gradient(cnt, len, nd, k, sym, j);
    CHECK(sym[0] == sym[3]);
    CHECK_NEAR(gsum, 0.0, 1e-6 * nd);
    /* no evidence: unchanged */
    uint64_t zero[4] = {0};
    size_t zoff[2] = {0, 4};
    double keep[1] = {0.7};
    CHECK_OK(lda_minka_alpha(1, zero, zoff, zero, 3, 2, 100, keep));
    CHECK(keep[0] == 0.7);
    CHECK_FAILS(lda_minka_alpha(k, hist, off, lh, maxlen, 3, 10, alpha), LT_ERR_INVALID, "bad arguments");
    /* ragged histograms (each topic's bins up to its largest count) give
     * the same estimate as the dense table */
    size_t roff[5] = {0};
    for (size_t j = 0; j < k; j++) {
        size_t top = maxlen;
        while (top > 0 && hist[j * (maxlen + 1) + top] == 0) top--;
        roff[j + 1] = roff[j] + top + 1;
    }
    uint64_t *rh = calloc(roff[k], sizeof *rh);
    for (size_t j = 0; j < k; j++)
        for (size_t c = 0; c < roff[j + 1] - roff[j]; c++) rh[roff[j] + c] = hist[j * (maxlen + 1) + c];
    double ragged[4] = {1, 1, 1, 1};
    CHECK_OK(lda_minka_alpha(k, rh, roff, lh, maxlen, 2, 1000, ragged));
    for (size_t j = 0; j < k; j++) CHECK_REL(ragged[j], alpha[j], 1e-12);
    free(rh);
    free(cnt);
    free(len);
    free(hist);
    free(lh);
}

static void test_minka_beta(void)
{
    /* 300 topics of known sizes over v = 40 words, phi_k ~ Dirichlet(0.3) */
    const size_t v = 40, ng = 300;
    const double truth = 0.3;
    lt_rng r;
    lt_rng_seed(&r, 5);
    double *b = malloc(v * sizeof *b), *phi = malloc(v * sizeof *phi), *sizes = malloc(ng * sizeof *sizes);
    for (size_t w = 0; w < v; w++) b[w] = truth;
    uint32_t *cnt = calloc(ng * v, sizeof *cnt);
    size_t maxc = 0;
    for (size_t g = 0; g < ng; g++) {
        size_t n = 50 + lt_rng_below(&r, 400);
        sizes[g] = (double)n;
        lt_rng_dirichlet(&r, b, v, phi);
        for (size_t i = 0; i < n; i++) cnt[g * v + lt_rng_categorical(&r, phi, v)]++;
        for (size_t w = 0; w < v; w++)
            if (cnt[g * v + w] > maxc) maxc = cnt[g * v + w];
    }
    uint64_t *hist = calloc(maxc + 1, sizeof *hist);
    for (size_t i = 0; i < ng * v; i++) hist[cnt[i]]++;
    double beta = 1.0;
    CHECK_OK(lda_minka_beta(v, hist, maxc, NULL, 0, sizes, ng, 1000, &beta));
    CHECK_REL(beta, truth, 0.08);
    /* counts above a small histogram cap passed one by one: the same */
    const size_t cap = 6;
    uint64_t *big = malloc(ng * v * sizeof *big);
    size_t nbig = 0;
    for (size_t c = cap + 1; c <= maxc; c++)
        for (uint64_t r = 0; r < hist[c]; r++) big[nbig++] = c;
    double beta2 = 1.0;
    CHECK_OK(lda_minka_beta(v, hist, cap, big, nbig, sizes, ng, 1000, &beta2));
    CHECK(nbig > 100);
    CHECK_REL(beta2, beta, 1e-12);
    free(big);
    /* gradient of the symmetric Dirichlet-multinomial likelihood in beta */
    double grad = 0;
    for (size_t g = 0; g < ng; g++) {
        grad += v * (lda_digamma(v * beta) - lda_digamma(sizes[g] + v * beta));
        for (size_t w = 0; w < v; w++) grad += lda_digamma(cnt[g * v + w] + beta) - lda_digamma(beta);
    }
    CHECK_NEAR(grad, 0.0, 1e-6 * ng);
    free(b);
    free(phi);
    free(sizes);
    free(cnt);
    free(hist);
}

static void test_dirichlet_mle(void)
{
    const size_t k = 3, n = 20000;
    const double truth[3] = {0.4, 1.5, 3.0};
    lt_rng r;
    lt_rng_seed(&r, 9);
    double mlp[3] = {0}, p[3];
    for (size_t i = 0; i < n; i++) {
        lt_rng_dirichlet(&r, truth, k, p);
        for (size_t j = 0; j < k; j++) mlp[j] += log(p[j]) / n;
    }
    double a[3] = {1, 1, 1};
    CHECK_OK(lda_dirichlet_mle(k, mlp, 2, 1000, a));
    for (size_t j = 0; j < k; j++) CHECK_REL(a[j], truth[j], 0.05);
    /* the stationarity condition psi(a_j) - psi(a_0) = mean log p_j */
    double a0 = a[0] + a[1] + a[2];
    for (size_t j = 0; j < k; j++) CHECK_NEAR(lda_digamma(a[j]) - lda_digamma(a0), mlp[j], 1e-9);
}

/* ---- the sampler ---------------------------------------------------------------- */

static void default_opts(lt_lda_options *o, size_t k)
{
    lt_lda_options_default(o);
    o->k = k;
    o->seed = 7;
    o->threads = 1;
}

/* The visited joint states of a 4-token corpus against p(z | w) by
 * enumeration of all K^4 assignments. Tolerance: 5 Monte Carlo standard
 * errors by batch means (the chain is autocorrelated) plus 2e-3. */
static void stationary_case(const double *alpha, double beta, int mh, uint64_t seed)
{
    const size_t k = 2, n = 4, ns = 1 << n;
    lt_corpus *c = corpus_new(2, 3, n);
    const int32_t toks[4] = {0, 1, 1, 2};
    memcpy(c->tokens, toks, sizeof toks);
    c->doc_ptr[1] = 2;
    c->doc_ptr[2] = 4;
    double exact[16], tot = 0;
    int32_t z[4];
    for (size_t s = 0; s < ns; s++) {
        for (size_t i = 0; i < n; i++) z[i] = (int32_t)((s >> i) & 1);
        exact[s] = exp(joint_logp(c, z, k, alpha, beta));
        tot += exact[s];
    }
    for (size_t s = 0; s < ns; s++) exact[s] /= tot;
    lt_lda_options o;
    default_opts(&o, k);
    o.seed = seed;
    lda_gibbs_params p;
    lda_gibbs_params_default(&p);
    p.mh_steps = mh;
    lda_gibbs *g = NULL;
    CHECK_OK(lda_gibbs_create(&o, c, &p, &g));
    if (!g) {
        corpus_del(c);
        return;
    }
    CHECK_OK(lda_gibbs_set_hyper(g, alpha, beta));
    const size_t batches = 50, per = 4000;
    double *bf = calloc(batches * ns, sizeof *bf);
    for (size_t it = 0; it < 100; it++) lda_gibbs_sweep(g);
    for (size_t b = 0; b < batches; b++)
        for (size_t it = 0; it < per; it++) {
            lda_gibbs_sweep(g);
            lda_gibbs_assignments(g, z);
            size_t s = 0;
            for (size_t i = 0; i < n; i++) s |= (size_t)z[i] << i;
            bf[b * ns + s] += 1.0 / per;
        }
    double worst = 0;
    for (size_t s = 0; s < ns; s++) {
        double mean = 0, var = 0;
        for (size_t b = 0; b < batches; b++) mean += bf[b * ns + s] / batches;
        for (size_t b = 0; b < batches; b++) var += (bf[b * ns + s] - mean) * (bf[b * ns + s] - mean) / (batches - 1);
        double se = sqrt(var / batches);
        double dev = fabs(mean - exact[s]) / (5 * se + 2e-3);
        if (dev > worst) worst = dev;
        CHECK_MSG(fabs(mean - exact[s]) <= 5 * se + 2e-3, "state %zu: visited %.4f, exact %.4f (se %.4f), mh %d",
                  s, mean, exact[s], se, mh);
    }
    free(bf);
    lda_gibbs_free(g);
    corpus_del(c);
}

static void test_stationary_distribution(void)
{
    const double sym[2] = {0.5, 0.5}, asym[2] = {0.15, 1.3};
    stationary_case(sym, 0.3, 1, 1);
    stationary_case(sym, 0.3, 2, 2);
    stationary_case(asym, 0.1, 1, 3);
    stationary_case(asym, 2.0, 2, 4);
    stationary_case(asym, 0.5, 3, 5); /* mh 3 and 4: the records' padded layout */
    stationary_case(sym, 0.05, 4, 6);
}

static void test_consistency_and_loglik(void)
{
    const size_t k = 6, v = 60, nd = 120, len = 40;
    double *phi = malloc(k * v * sizeof *phi), *theta = malloc(nd * k * sizeof *theta);
    lt_corpus *c = synth(k, v, nd, len, 0.3, 3, phi, theta);
    int32_t *z = malloc(c->n_tokens * sizeof *z);
    for (int threads = 1; threads <= 2; threads++) {
        lt_lda_options o;
        default_opts(&o, k);
        o.threads = threads;
        lda_gibbs_params p;
        lda_gibbs_params_default(&p);
        p.block_tokens = 700; /* several blocks of each kind */
        lda_gibbs *g = NULL;
        CHECK_OK(lda_gibbs_create(&o, c, &p, &g));
        if (!g) break;
        size_t bw, bd;
        lda_gibbs_blocks(g, &bw, &bd);
        CHECK(bw >= 4 && bd >= 4);
        CHECK_OK(lda_gibbs_check(g));
        int bad = 0;
        for (int it = 0; it < 30; it++) {
            lda_gibbs_sweep(g);
            bad |= lda_gibbs_check(g) != LT_OK;
            if (it % 10 == 9) {
                CHECK_OK(lda_gibbs_optimize(g, 2, 1));
                bad |= lda_gibbs_check(g) != LT_OK;
            }
        }
        CHECK_MSG(!bad, "%s", lt_last_error());
        lda_gibbs_assignments(g, z);
        double ll = lda_gibbs_loglik(g);
        CHECK_REL(ll, joint_logp(c, z, k, lda_gibbs_alpha(g), lda_gibbs_beta(g)), 1e-11);
        lda_gibbs_free(g);
    }
    free(z);
    free(phi);
    free(theta);
    corpus_del(c);
}

typedef struct trace {
    double v[512];
    size_t n;
} trace;

static void record(void *ud, const char *stage, size_t iter, size_t max_iter, double value)
{
    trace *t = ud;
    (void)stage;
    (void)max_iter;
    if (iter == t->n + 1 && t->n < 512) t->v[t->n++] = value;
}

static void test_recovery(void)
{
    const size_t k = 5, v = 50, nd = 500, len = 60;
    double *phi = malloc(k * v * sizeof *phi), *theta = malloc(nd * k * sizeof *theta);
    double *est = malloc(k * v * sizeof *est);
    lt_corpus *c = synth(k, v, nd, len, 0.2, 21, phi, theta);
    lt_lda_options o;
    default_opts(&o, k);
    o.alpha = 0.2;
    o.max_iter = 150;
    o.burn_in = 50;
    trace tr = {{0}, 0};
    o.progress = record;
    o.progress_ud = &tr;
    lt_lda *m = NULL;
    CHECK_OK(lt_lda_fit(&o, c, &m));
    if (m) {
        lt_lda_topics(m, est);
        double dist[5];
        match_topics(phi, est, k, v, dist);
        for (size_t t = 0; t < k; t++) CHECK_MSG(dist[t] < 0.15, "topic %zu: L1 distance %.3f", t, dist[t]);
        CHECK(m->algo == LT_LDA_GIBBS && m->n_iter == 150 && m->n_docs == nd && m->n_tokens == nd * len);
        CHECK(m->seed == 7);
        /* the trace: one value per sweep; the model's value is the last */
        CHECK(tr.n == 150);
        CHECK_NEAR(m->log_likelihood, tr.v[tr.n - 1], 1e-12);
        /* log p(w, z) per token rises over burn-in: early sweeps well below
         * the average of the end of burn-in */
        double late = 0;
        for (size_t i = 40; i < 50; i++) late += tr.v[i] / 10;
        CHECK_MSG(tr.v[0] < late - 0.3, "first %.3f, end of burn-in %.3f", tr.v[0], late);
        CHECK(tr.v[4] < late);
        /* counts: one per token */
        double tot = 0;
        for (size_t i = 0; i < k * v; i++) tot += m->nkw[i];
        CHECK_NEAR(tot, (double)(nd * len), 1e-9);
        /* the fold-in on the training documents finds their mixtures */
        double *th = malloc(nd * k * sizeof *th);
        CHECK_OK(lt_lda_infer(m, c, LT_LDA_INFER_GIBBS, 40, 3, 2, th));
        size_t perm[5];
        for (size_t t = 0; t < k; t++) { /* the estimated topic closest to true topic t */
            double bestd = INFINITY;
            for (size_t q = 0; q < k; q++) {
                double s = 0;
                for (size_t w = 0; w < v; w++) s += fabs(phi[t * v + w] - est[q * v + w]);
                if (s < bestd) {
                    bestd = s;
                    perm[t] = q;
                }
            }
        }
        double mean_l1 = 0;
        for (size_t d = 0; d < nd; d++)
            for (size_t t = 0; t < k; t++) mean_l1 += fabs(theta[d * k + t] - th[d * k + perm[t]]) / nd;
        CHECK_MSG(mean_l1 < 0.25, "mean L1 between inferred and true mixtures %.3f", mean_l1);
        free(th);
    }
    lt_lda_free(m);
    /* many blocks (AD-LDA's approximation, 2 threads): the same topics */
    lda_gibbs_params p;
    lda_gibbs_params_default(&p);
    p.block_tokens = 2500;
    o.threads = 2;
    o.progress = NULL;
    m = NULL;
    CHECK_OK(lda_gibbs_fit(&o, c, &p, &m));
    if (m) {
        lt_lda_topics(m, est);
        double dist[5];
        match_topics(phi, est, k, v, dist);
        for (size_t t = 0; t < k; t++) CHECK_MSG(dist[t] < 0.15, "blocks: topic %zu: L1 distance %.3f", t, dist[t]);
    }
    lt_lda_free(m);
    free(est);
    free(phi);
    free(theta);
    corpus_del(c);
}

static void test_determinism_and_threads(void)
{
    const size_t k = 8, v = 80, nd = 300, len = 50;
    double *phi = malloc(k * v * sizeof *phi), *theta = malloc(nd * k * sizeof *theta);
    lt_corpus *c = synth(k, v, nd, len, 0.3, 8, phi, theta);
    lda_gibbs_params p;
    lda_gibbs_params_default(&p);
    p.block_tokens = 1500; /* 10 blocks: the thread count could matter if anything were racy */
    p.check = 1;           /* and the tables are checked after every sweep */
    lt_lda *ref = NULL, *m = NULL;
    lt_lda_options o;
    default_opts(&o, k);
    o.max_iter = 20;
    o.burn_in = 5;
    o.optimize_interval = 5;
    o.optimize_alpha = 2;
    o.optimize_beta = 1;
    o.n_samples = 3;
    CHECK_OK(lda_gibbs_fit(&o, c, &p, &ref));
    for (int threads = 1; threads <= 3 && ref; threads++) {
        o.threads = threads;
        CHECK_OK(lda_gibbs_fit(&o, c, &p, &m));
        if (!m) break;
        CHECK_MSG(memcmp(m->nkw, ref->nkw, k * v * sizeof *m->nkw) == 0, "threads %d", threads);
        CHECK(memcmp(m->alpha, ref->alpha, k * sizeof *m->alpha) == 0);
        CHECK(m->beta[0] == ref->beta[0] && m->log_likelihood == ref->log_likelihood);
        lt_lda_free(m);
        m = NULL;
    }
    if (ref) {
        /* the hyperparameters moved and stayed sane */
        double a0 = 0;
        for (size_t t = 0; t < k; t++) a0 += ref->alpha[t];
        CHECK(ref->alpha[0] != ref->alpha[1]);
        CHECK_MSG(a0 > 0.5 && a0 < 10, "alpha sum %g (data drawn with 2.4)", a0);
        CHECK(ref->beta[0] > 0 && ref->beta[0] != 0.01 && ref->beta[0] == ref->beta[v - 1]);
        /* 3 samples averaged: every entry a multiple of 1/3, totals one per token */
        double tot = 0;
        int thirds = 1;
        for (size_t i = 0; i < k * v; i++) {
            tot += ref->nkw[i];
            double x = ref->nkw[i] * 3;
            thirds &= fabs(x - nearbyint(x)) < 1e-9;
        }
        CHECK(thirds);
        CHECK_NEAR(tot, (double)(nd * len), 1e-6);
    }
    /* another seed: another chain */
    o.seed = 8;
    o.threads = 2;
    CHECK_OK(lda_gibbs_fit(&o, c, &p, &m));
    if (m && ref) CHECK(memcmp(m->nkw, ref->nkw, k * v * sizeof *m->nkw) != 0);
    lt_lda_free(m);
    lt_lda_free(ref);
    free(phi);
    free(theta);
    corpus_del(c);
}

/* The model's counts are those of the final state, step by step. */
/* The ways proposals are drawn (from the records directly; ahead with
 * prefetches; a word's from its packed topics) are one chain: with every
 * item drawn one way or every item the other, the assignments are the same,
 * for each number of MH steps, over 10 blocks (where which proposals are
 * read live depends on the blocks). */
static void test_draw_paths_same_chain(void)
{
    const size_t k = 6, v = 40, nd = 120, len = 60;
    double *phi = malloc(k * v * sizeof *phi), *theta = malloc(nd * k * sizeof *theta);
    lt_corpus *c = synth(k, v, nd, len, 0.3, 21, phi, theta);
    const size_t n = c->n_tokens;
    int32_t *za = malloc(n * sizeof *za), *zb = malloc(n * sizeof *zb);
    lt_lda_options o;
    default_opts(&o, k);
    for (int mh = 1; mh <= 4; mh++) {
        lda_gibbs *ga = NULL, *gb = NULL;
        lda_gibbs_params p;
        lda_gibbs_params_default(&p);
        p.block_tokens = 720; /* 10 blocks */
        p.mh_steps = mh;
        p.draw_near = 0; /* every document ahead, every word from its packed topics */
        CHECK_OK(lda_gibbs_create(&o, c, &p, &ga));
        p.draw_near = SIZE_MAX; /* every item from its records */
        CHECK_OK(lda_gibbs_create(&o, c, &p, &gb));
        if (ga && gb) {
            size_t nbw = 0, nbd = 0;
            lda_gibbs_blocks(ga, &nbw, &nbd);
            CHECK_MSG(nbw >= 5 && nbd >= 5, "%zu word blocks, %zu document blocks", nbw, nbd);
            int same = 1, moved = 0;
            lda_gibbs_assignments(ga, za);
            for (int it = 0; it < 15; it++) {
                lda_gibbs_sweep(ga);
                lda_gibbs_sweep(gb);
            }
            lda_gibbs_assignments(gb, zb);
            for (size_t i = 0; i < n; i++)
                moved += za[i] != zb[i];
            lda_gibbs_assignments(ga, za);
            for (size_t i = 0; i < n; i++)
                same &= za[i] == zb[i];
            CHECK_MSG(same, "mh %d: the two ways of drawing gave different chains", mh);
            CHECK_MSG(moved > (int)n / 4, "mh %d: only %d of %zu topics moved", mh, moved, n);
            CHECK_OK(lda_gibbs_check(ga));
        }
        lda_gibbs_free(ga);
        lda_gibbs_free(gb);
    }
    free(za);
    free(zb);
    free(phi);
    free(theta);
    corpus_del(c);
}

static void test_model_counts_match_state(void)
{
    const size_t k = 4, v = 30, nd = 40, len = 25;
    double *phi = malloc(k * v * sizeof *phi), *theta = malloc(nd * k * sizeof *theta);
    lt_corpus *c = synth(k, v, nd, len, 0.5, 4, phi, theta);
    lt_lda_options o;
    default_opts(&o, k);
    o.max_iter = 12;
    lt_lda *m = NULL;
    lda_gibbs *g = NULL;
    CHECK_OK(lt_lda_fit(&o, c, &m));
    CHECK_OK(lda_gibbs_create(&o, c, NULL, &g));
    if (m && g) {
        for (int it = 0; it < 12; it++) lda_gibbs_sweep(g);
        int32_t *z = malloc(c->n_tokens * sizeof *z);
        double *cnt = calloc(k * v, sizeof *cnt);
        lda_gibbs_assignments(g, z);
        for (size_t i = 0; i < c->n_tokens; i++) cnt[z[i] * v + c->tokens[i]]++;
        CHECK(memcmp(cnt, m->nkw, k * v * sizeof *cnt) == 0);
        const int32_t *ck = lda_gibbs_topic_counts(g);
        for (size_t t = 0; t < k; t++) CHECK(m->nk[t] == ck[t]);
        CHECK_REL(m->log_likelihood * (double)c->n_tokens, joint_logp(c, z, k, m->alpha, m->beta[0]), 1e-11);
        free(z);
        free(cnt);
    }
    lda_gibbs_free(g);
    lt_lda_free(m);
    free(phi);
    free(theta);
    corpus_del(c);
}

static void test_one_topic(void)
{
    const size_t v = 7;
    lt_corpus *c = corpus_new(3, v, 9);
    const int32_t toks[9] = {0, 0, 3, 6, 1, 1, 1, 2, 5};
    memcpy(c->tokens, toks, sizeof toks);
    c->doc_ptr[1] = 4;
    c->doc_ptr[2] = 4; /* an empty document in the middle */
    c->doc_ptr[3] = 9;
    lt_lda_options o;
    default_opts(&o, 1);
    o.max_iter = 5;
    o.optimize_alpha = 2;
    o.optimize_beta = 1;
    o.optimize_interval = 1;
    o.burn_in = 0;
    lt_lda *m = NULL;
    CHECK_OK(lt_lda_fit(&o, c, &m));
    if (m) {
        double wc[7] = {2, 3, 1, 1, 0, 1, 1};
        for (size_t w = 0; w < v; w++) CHECK(m->nkw[w] == wc[w]);
        CHECK(m->nk[0] == 9);
        /* log p(w, z) with z all 0: only the topic-word term is left */
        double b = m->beta[0], ll = lgamma(v * b) - lgamma(9 + v * b);
        for (size_t w = 0; w < v; w++) ll += lgamma(wc[w] + b) - lgamma(b);
        CHECK_REL(m->log_likelihood * 9, ll, 1e-11);
        double th[3];
        CHECK_OK(lt_lda_infer(m, c, LT_LDA_INFER_GIBBS, 5, 1, 1, th));
        CHECK_NEAR(th[0], 1.0, 1e-15);
        CHECK_NEAR(th[1], 1.0, 1e-15);
        CHECK_NEAR(th[2], 1.0, 1e-15);
    }
    lt_lda_free(m);
    corpus_del(c);
}

static void test_empty_documents(void)
{
    const size_t k = 3, v = 5;
    lt_corpus *c = corpus_new(5, v, 6);
    const int32_t toks[6] = {0, 1, 2, 4, 4, 3};
    memcpy(c->tokens, toks, sizeof toks);
    const size_t ptr[6] = {0, 0, 3, 3, 6, 6}; /* documents 0, 2 and 4 empty */
    memcpy(c->doc_ptr, ptr, sizeof ptr);
    lt_lda_options o;
    default_opts(&o, k);
    o.max_iter = 20;
    o.optimize_alpha = 2;
    o.optimize_interval = 5;
    o.burn_in = 5;
    lt_lda *m = NULL;
    CHECK_OK(lt_lda_fit(&o, c, &m));
    if (m) {
        CHECK(m->n_docs == 5 && m->n_tokens == 6);
        double *th = malloc(5 * k * sizeof *th), a0 = 0;
        for (size_t t = 0; t < k; t++) a0 += m->alpha[t];
        CHECK_OK(lt_lda_infer(m, c, LT_LDA_INFER_GIBBS, 10, 1, 2, th));
        for (size_t t = 0; t < k; t++) {
            CHECK_NEAR(th[0 * k + t], m->alpha[t] / a0, 1e-15);
            CHECK_NEAR(th[4 * k + t], m->alpha[t] / a0, 1e-15);
        }
        double s = 0;
        for (size_t t = 0; t < k; t++) s += th[1 * k + t];
        CHECK_NEAR(s, 1.0, 1e-12);
        free(th);
    }
    lt_lda_free(m);
    /* a corpus with documents but no tokens: the prior, nothing else */
    lt_corpus *e = corpus_new(2, v, 0);
    m = NULL;
    CHECK_OK(lt_lda_fit(&o, e, &m));
    if (m) {
        CHECK(m->n_tokens == 0 && m->log_likelihood == 0);
        double s = 0;
        for (size_t i = 0; i < k * v; i++) s += m->nkw[i];
        CHECK(s == 0);
    }
    lt_lda_free(m);
    corpus_del(e);
    corpus_del(c);
}

static void test_refused_input(void)
{
    lt_corpus *c = corpus_new(2, 4, 5);
    const int32_t toks[5] = {0, 1, 2, 3, 4};
    memcpy(c->tokens, toks, sizeof toks);
    c->doc_ptr[1] = 2;
    c->doc_ptr[2] = 5;
    lt_lda_options o;
    default_opts(&o, 2);
    lt_lda *m = NULL;
    CHECK_FAILS(lt_lda_fit(&o, c, &m), LT_ERR_INVALID, "document 1, token 2: word id 4 is outside the vocabulary");
    CHECK(m == NULL);
    c->tokens[4] = -1;
    CHECK_FAILS(lt_lda_fit(&o, c, &m), LT_ERR_INVALID, "word id -1");
    c->tokens[4] = 3;
    c->doc_ptr[2] = 4;
    CHECK_FAILS(lt_lda_fit(&o, c, &m), LT_ERR_INVALID, "the documents end at token 4");
    c->doc_ptr[2] = 5;
    o.k = 0;
    CHECK_FAILS(lt_lda_fit(&o, c, &m), LT_ERR_INVALID, "at least 1 topic");
    o.k = 2;
    o.alpha = NAN;
    CHECK_FAILS(lt_lda_fit(&o, c, &m), LT_ERR_INVALID, "alpha");
    o.alpha = 0;
    o.optimize_alpha = 3;
    CHECK_FAILS(lt_lda_fit(&o, c, &m), LT_ERR_INVALID, "optimize_alpha");
    o.optimize_alpha = 0;
    CHECK_OK(lt_lda_fit(&o, c, &m));
    if (m) {
        /* fold-in refuses a word the model does not have */
        lt_corpus *h = corpus_new(1, 9, 2);
        h->tokens[0] = 1;
        h->tokens[1] = 8;
        h->doc_ptr[1] = 2;
        double th[2];
        CHECK_FAILS(lt_lda_infer(m, h, LT_LDA_INFER_GIBBS, 10, 1, 1, th), LT_ERR_INVALID,
                    "outside the vocabulary of 4");
        CHECK_FAILS(lt_lda_infer(m, c, LT_LDA_INFER_GIBBS, 0, 1, 1, th), LT_ERR_INVALID, "at least 1 sweep");
        corpus_del(h);
    }
    lt_lda_free(m);
    corpus_del(c);
}

/* Fold-in: theta's posterior mean for one short document by enumeration
 * of its K^n assignments, phi fixed. */
static void test_fold_in_exact(void)
{
    const size_t k = 3, v = 4, n = 5;
    lt_lda *m = NULL;
    CHECK_OK(lt_lda_create(k, v, 0.5, 0.1, &m));
    if (!m) return;
    const double counts[12] = {30, 5, 1, 0, 2, 20, 10, 1, 0, 3, 8, 25};
    memcpy(m->nkw, counts, sizeof counts);
    m->alpha[0] = 0.2;
    m->alpha[1] = 0.6;
    m->alpha[2] = 1.1;
    lt_lda_update_totals(m);
    double phi[12];
    lt_lda_topics(m, phi);
    const int32_t doc[5] = {0, 1, 1, 3, 2};
    double mean[3] = {0}, tot = 0, a0 = 0;
    for (size_t t = 0; t < k; t++) a0 += m->alpha[t];
    for (size_t s = 0; s < 243; s++) {
        size_t x = s, cnt[3] = {0, 0, 0};
        double lp = 0;
        for (size_t i = 0; i < n; i++, x /= 3) {
            cnt[x % 3]++;
            lp += log(phi[(x % 3) * v + doc[i]]);
        }
        lp += lgamma(a0) - lgamma(n + a0);
        for (size_t t = 0; t < k; t++) lp += lgamma(cnt[t] + m->alpha[t]) - lgamma(m->alpha[t]);
        double p = exp(lp);
        tot += p;
        for (size_t t = 0; t < k; t++) mean[t] += p * (cnt[t] + m->alpha[t]) / (n + a0);
    }
    for (size_t t = 0; t < k; t++) mean[t] /= tot;
    /* 40 copies of the document, each its own chain; the average of their
     * estimates has a small Monte Carlo error */
    const size_t nd = 40;
    lt_corpus *c = corpus_new(nd, v, nd * n);
    for (size_t d = 0; d < nd; d++) {
        memcpy(c->tokens + d * n, doc, sizeof doc);
        c->doc_ptr[d + 1] = (d + 1) * n;
    }
    double *th = malloc(nd * k * sizeof *th), *th2 = malloc(nd * k * sizeof *th2);
    for (int exact = -1; exact <= 1; exact += 2) {
        lda_gibbs_params p;
        lda_gibbs_params_default(&p);
        p.infer_exact = exact;
        CHECK_OK(lda_gibbs_infer(m, c, 2000, 5, 1, &p, th));
        double est[3] = {0};
        for (size_t d = 0; d < nd; d++)
            for (size_t t = 0; t < k; t++) est[t] += th[d * k + t] / nd;
        for (size_t t = 0; t < k; t++)
            CHECK_MSG(fabs(est[t] - mean[t]) < 0.006, "%s sampler, topic %zu: %.4f vs exact %.4f",
                      exact > 0 ? "exact" : "MH", t, est[t], mean[t]);
        /* the thread count does not matter */
        CHECK_OK(lda_gibbs_infer(m, c, 2000, 5, 3, &p, th2));
        CHECK(memcmp(th, th2, nd * k * sizeof *th) == 0);
    }
    free(th);
    free(th2);
    corpus_del(c);
    lt_lda_free(m);
}

int main(void)
{
    RUN(test_special_functions);
    RUN(test_minka_alpha);
    RUN(test_minka_beta);
    RUN(test_dirichlet_mle);
    RUN(test_stationary_distribution);
    RUN(test_consistency_and_loglik);
    RUN(test_recovery);
    RUN(test_determinism_and_threads);
    RUN(test_draw_paths_same_chain);
    RUN(test_model_counts_match_state);
    RUN(test_one_topic);
    RUN(test_empty_documents);
    RUN(test_refused_input);
    RUN(test_fold_in_exact);
    return lt_test_done();
}
