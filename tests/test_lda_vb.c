// LABELS: unit
/* LDA by variational Bayes: the bound never decreases over batch
 * iterations, and agrees with an independent evaluation of the ELBO (phi
 * written out, entropy and all); batch and online VB recover known topics;
 * the model does not depend on the thread count; agreement with
 * scikit-learn's LatentDirichletAllocation from the same initial lambda
 * (tests/ref/make_lda_ref.py); a docword stream fits the same model as the
 * corpus in memory; inference is the per-document fixed point; errors. */
#include "harness.h"

#include "latent/corpus.h"
#include "latent/lda.h"
#include "models/lda_internal.h"
#include "ref/lda_sklearn_ref.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A corpus built in memory (copies the arrays). */
static lt_corpus *mk_corpus(size_t D, size_t V, const size_t *ptr, const int32_t *tok)
{
    lt_corpus *c = calloc(1, sizeof *c);
    c->n_docs = D;
    c->n_vocab = V;
    c->n_tokens = ptr[D];
    c->doc_ptr = malloc((D + 1) * sizeof *c->doc_ptr);
    c->tokens = malloc((ptr[D] ? ptr[D] : 1) * sizeof *c->tokens);
    memcpy(c->doc_ptr, ptr, (D + 1) * sizeof *ptr);
    if (ptr[D]) memcpy(c->tokens, tok, ptr[D] * sizeof *tok);
    return c;
}

/* K = 5 well-separated topics over V = 50 words: topic k puts 0.9 on words
 * 10k..10k+9, 0.1 spread over the other 40. */
#define TK 5
#define TV 50
static lt_lda *truth_model(double alpha)
{
    lt_lda *m = NULL;
    lt_lda_create(TK, TV, alpha, 1e-9, &m);
    for (size_t k = 0; k < TK; k++)
        for (size_t w = 0; w < TV; w++)
            m->nkw[k * TV + w] = w / 10 == k ? 0.09 : 0.1 / 40.0;
    lt_lda_update_totals(m);
    return m;
}

/* Smallest total L1 distance between the rows of a and b (K x V) over
 * one-to-one matchings (K <= 6: all permutations); the worst row's L1 into
 * *worst. */
static void match_topics(const double *a, const double *b, size_t K, size_t V, double *worst)
{
    size_t perm[6], best_perm[6];
    for (size_t i = 0; i < K; i++)
        perm[i] = i;
    double best = INFINITY;
    for (;;) {
        double tot = 0.0;
        for (size_t k = 0; k < K; k++)
            for (size_t w = 0; w < V; w++)
                tot += fabs(a[k * V + w] - b[perm[k] * V + w]);
        if (tot < best) {
            best = tot;
            memcpy(best_perm, perm, sizeof perm);
        }
        /* next permutation */
        size_t i = K - 1;
        while (i > 0 && perm[i - 1] >= perm[i])
            i--;
        if (i == 0) break;
        size_t j = K - 1;
        while (perm[j] <= perm[i - 1])
            j--;
        size_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
        for (size_t l = i, r = K - 1; l < r; l++, r--) {
            t = perm[l];
            perm[l] = perm[r];
            perm[r] = t;
        }
    }
    *worst = 0.0;
    for (size_t k = 0; k < K; k++) {
        double l1 = 0.0;
        for (size_t w = 0; w < V; w++)
            l1 += fabs(a[k * V + w] - b[best_perm[k] * V + w]);
        if (l1 > *worst) *worst = l1;
    }
}

typedef struct trace {
    double v[512];
    size_t n;
} trace;

static void record(void *ud, const char *stage, size_t it, size_t max, double value)
{
    (void)stage, (void)it, (void)max;
    trace *t = ud;
    if (t->n < 512) t->v[t->n++] = value;
}

static lt_corpus *sampled_corpus(double alpha, size_t n_docs, size_t len, uint64_t seed)
{
    lt_lda *m = truth_model(alpha);
    lt_corpus *c = NULL;
    CHECK_OK(lt_lda_sample(m, n_docs, len, seed, &c, NULL));
    lt_lda_free(m);
    return c;
}

static void vb_options(lt_lda_options *o, lt_lda_algo algo)
{
    lt_lda_options_default(o);
    o->k = TK;
    o->algo = algo;
    o->alpha = 0.2;
    o->beta = 0.01;
    o->seed = 11;
    o->threads = 1;
}

/* ------------------------------------------------------------ special functions */

static void test_special_functions(void)
{
    /* lgamma against libm; digamma and trigamma against central
     * differences of the function below them. */
    const double xs[] = {1e-6, 0.01, 0.3, 1.0, 1.5, 2.0, 7.25, 9.999, 10.0, 33.3, 1e4, 1e8};
    for (size_t i = 0; i < sizeof xs / sizeof *xs; i++) {
        double x = xs[i];
        CHECK_NEAR(lda_lgamma(x), lgamma(x), 1e-12 * fmax(1.0, fabs(lgamma(x))));
        double h = 1e-5 * x;
        double fd = (lgamma(x + h) - lgamma(x - h)) / (2 * h);
        CHECK_NEAR(lda_digamma(x), fd, 1e-6 * fmax(1.0, fabs(fd)));
        double fd2 = (lda_digamma(x + h) - lda_digamma(x - h)) / (2 * h);
        CHECK_NEAR(lda_trigamma(x), fd2, 1e-5 * fmax(1.0, fabs(fd2)));
    }
    /* Known values: psi(1) = -Euler's gamma, psi'(1) = pi^2 / 6. */
    CHECK_NEAR(lda_digamma(1.0), -0.57721566490153286, 1e-13);
    CHECK_NEAR(lda_trigamma(1.0), 1.6449340668482264, 1e-13); /* pi^2 / 6 */
}

/* ------------------------------------------------------------ the bound */

/* The ELBO written out term by term, phi explicit (its entropy included),
 * from gamma (D x K) and the model's lambda = nkw + beta. */
static double elbo_explicit(const lt_lda *m, const lt_corpus *c, const double *gamma)
{
    size_t K = m->k, V = m->v;
    double *elb = malloc(K * V * sizeof *elb), L = 0.0, bsum = 0.0, asum = 0.0;
    for (size_t w = 0; w < V; w++)
        bsum += m->beta[w];
    for (size_t k = 0; k < K; k++)
        asum += m->alpha[k];
    for (size_t k = 0; k < K; k++) {
        double ls = 0.0;
        for (size_t w = 0; w < V; w++)
            ls += m->nkw[k * V + w] + m->beta[w];
        L += lgamma(bsum) - lgamma(ls);
        for (size_t w = 0; w < V; w++) {
            double lam = m->nkw[k * V + w] + m->beta[w];
            elb[k * V + w] = lda_digamma(lam) - lda_digamma(ls);
            L += -lgamma(m->beta[w]) + lgamma(lam) + (m->beta[w] - lam) * elb[k * V + w];
        }
    }
    double elt[16], ph[16];
    for (size_t d = 0; d < c->n_docs; d++) {
        const double *g = gamma + d * K;
        double gs = 0.0;
        for (size_t k = 0; k < K; k++)
            gs += g[k];
        for (size_t k = 0; k < K; k++)
            elt[k] = lda_digamma(g[k]) - lda_digamma(gs);
        L += lgamma(asum) - lgamma(gs);
        for (size_t k = 0; k < K; k++)
            L += -lgamma(m->alpha[k]) + lgamma(g[k]) + (m->alpha[k] - g[k]) * elt[k];
        for (size_t i = c->doc_ptr[d]; i < c->doc_ptr[d + 1]; i++) { /* token by token */
            size_t w = (size_t)c->tokens[i];
            double mx = -INFINITY, s = 0.0;
            for (size_t k = 0; k < K; k++)
                if (elt[k] + elb[k * V + w] > mx) mx = elt[k] + elb[k * V + w];
            for (size_t k = 0; k < K; k++)
                s += ph[k] = exp(elt[k] + elb[k * V + w] - mx);
            for (size_t k = 0; k < K; k++) {
                double p = ph[k] / s;
                if (p > 0) L += p * (elt[k] + elb[k * V + w] - log(p));
            }
        }
    }
    free(elb);
    return L;
}

static void test_bound_monotone(void)
{
    lt_corpus *c = sampled_corpus(0.3, 200, 40, 5);
    for (int opt = 0; opt <= 2; opt++) {
        lt_lda_options o;
        vb_options(&o, LT_LDA_VB);
        o.max_iter = 40;
        o.tol = 0;
        o.alpha = opt ? 1.5 : 0.2; /* a poor start for the optimiser to move */
        o.optimize_alpha = opt;
        trace t = {{0}, 0};
        o.progress = record;
        o.progress_ud = &t;
        lt_lda *m = NULL;
        CHECK_OK(lda_vb_fit(&o, c, &m));
        CHECK(t.n == 41); /* the start and one per iteration */
        size_t drops = 0;
        for (size_t i = 1; i < t.n; i++)
            if (t.v[i] < t.v[i - 1] - 1e-12 * fabs(t.v[i - 1])) {
                drops++;
                fprintf(stderr, "optimize_alpha %d: the bound fell at iteration %zu: %.17g -> %.17g\n", opt, i,
                        t.v[i - 1], t.v[i]);
            }
        CHECK(drops == 0);
        CHECK(t.v[t.n - 1] > t.v[0] + 0.1); /* and it rose */
        CHECK(m && m->n_iter == 40 && m->algo == LT_LDA_VB);
        if (m) {
            CHECK_NEAR(m->log_likelihood, t.v[t.n - 1], 1e-12);
            if (opt == 1)
                CHECK_MSG(m->alpha[0] < 1.0 && m->alpha[0] == m->alpha[TK - 1], "alpha %g %g", m->alpha[0],
                          m->alpha[TK - 1]);
            if (opt == 2) CHECK(m->alpha[0] != m->alpha[1]);
        }
        lt_lda_free(m);
    }
    lt_corpus_free(c);
}

/* The reported bound is the ELBO: evaluate it independently at the
 * per-document optimum (gamma from VB inference) and compare. alpha = 1,
 * where a document's own problem has one optimum (below 1 it may have
 * several, and inference need not find the one the fit kept). */
static void test_bound_is_the_elbo(void)
{
    lt_corpus *c = sampled_corpus(0.3, 150, 30, 8);
    for (int algo = LT_LDA_VB; algo <= LT_LDA_ONLINE_VB; algo++) {
        lt_lda_options o;
        vb_options(&o, (lt_lda_algo)algo);
        o.max_iter = 15;
        o.estep_tol = 1e-11;
        o.estep_iter = 5000;
        o.batch_size = 40;
        o.alpha = 1.0;
        lt_lda *m = NULL;
        CHECK_OK(lda_vb_fit(&o, c, &m));
        if (!m) continue;
        double *theta = malloc(c->n_docs * TK * sizeof *theta);
        CHECK_OK(lda_vb_infer(m, c, 100000, 1, theta));
        double asum = 0.0;
        for (size_t k = 0; k < TK; k++)
            asum += m->alpha[k];
        for (size_t d = 0; d < c->n_docs; d++) /* sum gamma_d = sum alpha + N_d */
            for (size_t k = 0; k < TK; k++)
                theta[d * TK + k] *= asum + (double)(c->doc_ptr[d + 1] - c->doc_ptr[d]);
        double L = elbo_explicit(m, c, theta);
        CHECK_REL(m->log_likelihood * (double)c->n_tokens, L, 1e-8);
        CHECK(m->n_tokens == c->n_tokens && m->n_docs == c->n_docs);
        free(theta);
        lt_lda_free(m);
    }
    lt_corpus_free(c);
}

/* ------------------------------------------------------------ recovery */

static void test_recovery(void)
{
    lt_lda *truth = truth_model(0.2);
    lt_corpus *c = NULL;
    CHECK_OK(lt_lda_sample(truth, 500, 60, 2024, &c, NULL));
    double phi_true[TK * TV], phi[TK * TV];
    lt_lda_topics(truth, phi_true);
    for (int algo = LT_LDA_VB; algo <= LT_LDA_ONLINE_VB; algo++) {
        lt_lda_options o;
        vb_options(&o, (lt_lda_algo)algo);
        o.max_iter = algo == LT_LDA_VB ? 100 : 30;
        o.tol = 1e-7;
        o.batch_size = 64;
        o.tau0 = 8;
        lt_lda *m = NULL;
        CHECK_OK(lda_vb_fit(&o, c, &m));
        if (!m) continue;
        lt_lda_topics(m, phi);
        double worst;
        match_topics(phi_true, phi, TK, TV, &worst);
        fprintf(stderr, "%s: worst per-topic L1 distance to the true topics %.4f after %zu iterations\n",
                lt_lda_algo_name((lt_lda_algo)algo), worst, m->n_iter);
        CHECK_MSG(worst < 0.15, "worst L1 %.4f", worst);
        lt_lda_free(m);
    }
    lt_corpus_free(c);
    lt_lda_free(truth);
}

static void test_alpha_recovery(void)
{
    /* Symmetric alpha: from 2.0 towards the 0.1 the corpus was drawn with. */
    lt_corpus *c = sampled_corpus(0.1, 400, 50, 77);
    lt_lda_options o;
    vb_options(&o, LT_LDA_VB);
    o.alpha = 2.0;
    o.optimize_alpha = 1;
    o.max_iter = 100;
    o.tol = 1e-8;
    lt_lda *m = NULL;
    CHECK_OK(lda_vb_fit(&o, c, &m));
    if (m) {
        fprintf(stderr, "symmetric alpha: fitted %.4f (data drawn with 0.1)\n", m->alpha[0]);
        CHECK(m->alpha[0] > 0.05 && m->alpha[0] < 0.2);
    }
    lt_lda_free(m);
    lt_corpus_free(c);
}

/* ------------------------------------------------------------ threads */

static void test_thread_invariance(void)
{
    lt_corpus *c = sampled_corpus(0.3, 150, 40, 99);
    for (int algo = LT_LDA_VB; algo <= LT_LDA_ONLINE_VB; algo++) {
        lt_lda *m[3] = {NULL, NULL, NULL};
        int threads[3] = {1, 2, 3};
        for (int i = 0; i < 3; i++) {
            lt_lda_options o;
            vb_options(&o, (lt_lda_algo)algo);
            o.max_iter = 8;
            o.batch_size = 40;
            o.optimize_alpha = 2;
            o.threads = threads[i];
            CHECK_OK(lda_vb_fit(&o, c, &m[i]));
        }
        for (int i = 1; i < 3; i++) {
            if (!m[0] || !m[i]) continue;
            CHECK(memcmp(m[0]->nkw, m[i]->nkw, TK * TV * sizeof(double)) == 0);
            CHECK(memcmp(m[0]->alpha, m[i]->alpha, TK * sizeof(double)) == 0);
            CHECK(m[0]->log_likelihood == m[i]->log_likelihood);
            CHECK(m[0]->n_iter == m[i]->n_iter);
        }
        /* Inference too. */
        double *t1 = malloc(c->n_docs * TK * sizeof(double)), *t3 = malloc(c->n_docs * TK * sizeof(double));
        if (m[0]) {
            CHECK_OK(lda_vb_infer(m[0], c, 50, 1, t1));
            CHECK_OK(lda_vb_infer(m[0], c, 50, 3, t3));
            CHECK(memcmp(t1, t3, c->n_docs * TK * sizeof(double)) == 0);
        }
        free(t1);
        free(t3);
        for (int i = 0; i < 3; i++)
            lt_lda_free(m[i]);
    }
    lt_corpus_free(c);
}

/* ------------------------------------------------------------ scikit-learn */

static void test_sklearn(void)
{
    lt_corpus *c = mk_corpus(LDA_REF_D, LDA_REF_V, lda_ref_doc_ptr, lda_ref_tokens);
    for (size_t i = 0; i < sizeof lda_ref_cases / sizeof *lda_ref_cases; i++) {
        const lda_ref_case *rc = &lda_ref_cases[i];
        lt_lda_options o;
        lt_lda_options_default(&o);
        o.k = LDA_REF_K;
        o.algo = rc->online ? LT_LDA_ONLINE_VB : LT_LDA_VB;
        o.alpha = LDA_REF_ALPHA;
        o.beta = LDA_REF_BETA;
        o.max_iter = rc->max_iter;
        o.tol = 0;
        o.estep_tol = LDA_REF_TOL;
        o.estep_iter = LDA_REF_MAX_DOC_ITER;
        o.batch_size = rc->batch_size;
        o.tau0 = rc->tau0;
        o.kappa = rc->kappa;
        o.threads = 1;
        lt_lda *m = NULL;
        CHECK_OK(lda_vb_fit_from(&o, c, lda_ref_lambda0, &m));
        if (!m) continue;
        CHECK(m->n_iter == rc->max_iter);
        double worst = 0.0, big = 0.0;
        for (size_t q = 0; q < LDA_REF_K * LDA_REF_V; q++) {
            double lam = m->nkw[q] + m->beta[q % LDA_REF_V];
            worst = fmax(worst, fabs(lam - rc->lambda[q]));
            big = fmax(big, fabs(rc->lambda[q]));
        }
        CHECK_MSG(worst <= 1e-6 * big, "%s: lambda differs from sklearn's by %.3g (largest entry %.3g)", rc->name,
                  worst, big);
        double perplexity = exp(-m->log_likelihood);
        CHECK_REL(perplexity, rc->perplexity, 1e-6);
        double theta[LDA_REF_D * LDA_REF_K];
        CHECK_OK(lda_vb_infer(m, c, 100000, 1, theta));
        double tw = 0.0;
        for (size_t q = 0; q < LDA_REF_D * LDA_REF_K; q++)
            tw = fmax(tw, fabs(theta[q] - rc->theta[q]));
        CHECK_MSG(tw < 1e-5, "%s: theta differs from sklearn's transform by %.3g", rc->name, tw);
        fprintf(stderr, "sklearn %s: lambda max diff %.2g, perplexity %.10g vs %.10g, theta max diff %.2g\n", rc->name,
                worst, perplexity, rc->perplexity, tw);
        lt_lda_free(m);
    }
    lt_corpus_free(c);
}

/* ------------------------------------------------------------ streams */

static void test_stream(void)
{
    const char *dir = lt_test_tmpdir("lda_vb");
    lt_corpus *c = sampled_corpus(0.3, 230, 25, 4);
    /* An empty document in the middle, kept by the stream. */
    size_t e0 = c->doc_ptr[100], e1 = c->doc_ptr[101];
    memmove(c->tokens + e0, c->tokens + e1, (c->n_tokens - e1) * sizeof *c->tokens);
    for (size_t d = 101; d <= c->n_docs; d++)
        c->doc_ptr[d] -= e1 - e0;
    c->n_tokens -= e1 - e0;
    char path[4200];
    snprintf(path, sizeof path, "%s/docword.txt", dir);
    CHECK_OK(lt_corpus_write_docword(c, path, NULL));
    lt_lda_options o;
    vb_options(&o, LT_LDA_ONLINE_VB);
    o.max_iter = 4;
    o.batch_size = 50; /* 230 = 4 x 50 + 30 */
    o.optimize_alpha = 1;
    o.threads = 1;
    lt_lda *a = NULL, *b = NULL;
    CHECK_OK(lda_vb_fit(&o, c, &a));
    lt_docword_stream *s = NULL;
    CHECK_OK(lt_docword_stream_open(path, &s));
    if (s) {
        CHECK_OK(lt_lda_fit_stream(&o, s, &b));
        lt_docword_stream_close(s);
    }
    if (a && b) {
        CHECK(memcmp(a->nkw, b->nkw, TK * TV * sizeof(double)) == 0);
        CHECK(memcmp(a->alpha, b->alpha, TK * sizeof(double)) == 0);
        CHECK(a->log_likelihood == b->log_likelihood);
        CHECK(b->n_docs == c->n_docs && b->n_tokens == c->n_tokens && b->n_iter == a->n_iter);
        CHECK(b->algo == LT_LDA_ONLINE_VB);
    }
    /* Batch VB cannot stream. */
    lt_lda *x = NULL;
    o.algo = LT_LDA_VB;
    CHECK_OK(lt_docword_stream_open(path, &s));
    if (s) {
        CHECK_FAILS(lt_lda_fit_stream(&o, s, &x), LT_ERR_INVALID, "online VB only");
        lt_docword_stream_close(s);
    }
    lt_lda_free(a);
    lt_lda_free(b);
    lt_corpus_free(c);
}

/* ------------------------------------------------------------ inference */

static void test_infer(void)
{
    lt_lda *truth = truth_model(0.3);
    truth->alpha[2] = 0.9; /* asymmetric */
    /* Doc 1 mixes topics 0 and 1, doc 2 is empty, doc 3 is one word. */
    size_t ptr[4] = {0, 8, 8, 9};
    int32_t tok[9] = {0, 1, 1, 3, 12, 15, 15, 18, 44};
    lt_corpus *c = mk_corpus(3, TV, ptr, tok);
    double theta[3 * TK];
    CHECK_OK(lda_vb_infer(truth, c, 10000, 1, theta));
    double asum = 0.0;
    for (size_t k = 0; k < TK; k++)
        asum += truth->alpha[k];
    for (size_t k = 0; k < TK; k++)
        CHECK_NEAR(theta[TK + k], truth->alpha[k] / asum, 1e-15);
    /* The fixed point: gamma_k = alpha_k + sum_i phi_ik with phi from
     * gamma and E[log phi] of lambda = nkw + beta. */
    for (size_t d = 0; d < 3; d++) {
        double s = 0.0, g[TK], gn[TK], gs = 0.0;
        size_t n = ptr[d + 1] - ptr[d];
        for (size_t k = 0; k < TK; k++) {
            s += theta[d * TK + k];
            g[k] = theta[d * TK + k] * (asum + (double)n);
            gs += g[k];
        }
        CHECK_NEAR(s, 1.0, 1e-12);
        for (size_t k = 0; k < TK; k++)
            gn[k] = truth->alpha[k];
        for (size_t i = ptr[d]; i < ptr[d + 1]; i++) {
            double p[TK], tot = 0.0;
            for (size_t k = 0; k < TK; k++) {
                double ls = truth->nk[k] + TV * truth->beta[0];
                double el = lda_digamma(truth->nkw[k * TV + tok[i]] + truth->beta[tok[i]]) - lda_digamma(ls);
                tot += p[k] = exp(lda_digamma(g[k]) - lda_digamma(gs) + el);
            }
            for (size_t k = 0; k < TK; k++)
                gn[k] += p[k] / tot;
        }
        for (size_t k = 0; k < TK; k++)
            CHECK_NEAR(gn[k], g[k], 1e-6);
    }
    CHECK(theta[0] + theta[1] > 0.8); /* doc 1: topics 0 and 1 */
    for (size_t k = 0; k < 4; k++)    /* doc 3: word 44 is topic 4's */
        CHECK(theta[2 * TK + 4] > theta[2 * TK + k] + 0.1);
    /* A word the model does not have. */
    c->tokens[3] = TV;
    CHECK_FAILS(lda_vb_infer(truth, c, 10, 1, theta), LT_ERR_INVALID, "document 0, token 3: word id 50");
    lt_corpus_free(c);
    lt_lda_free(truth);
}

/* ------------------------------------------------------------ errors */

static void test_errors(void)
{
    lt_corpus *c = sampled_corpus(0.3, 20, 10, 1);
    lt_lda_options o;
    lt_lda *m = NULL;
    vb_options(&o, LT_LDA_VB);
    o.k = 0;
    CHECK_FAILS(lda_vb_fit(&o, c, &m), LT_ERR_INVALID, "at least one topic");
    vb_options(&o, LT_LDA_GIBBS);
    CHECK_FAILS(lda_vb_fit(&o, c, &m), LT_ERR_INVALID, "'gibbs'");
    vb_options(&o, LT_LDA_VB);
    o.alpha = -1;
    CHECK_FAILS(lda_vb_fit(&o, c, &m), LT_ERR_INVALID, "alpha must be positive");
    vb_options(&o, LT_LDA_VB);
    o.beta = NAN;
    CHECK_FAILS(lda_vb_fit(&o, c, &m), LT_ERR_INVALID, "beta must be positive");
    vb_options(&o, LT_LDA_VB);
    o.optimize_beta = 1;
    CHECK_FAILS(lda_vb_fit(&o, c, &m), LT_ERR_UNSUPPORTED, "Gibbs sampling only");
    vb_options(&o, LT_LDA_ONLINE_VB);
    o.batch_size = 0;
    CHECK_FAILS(lda_vb_fit(&o, c, &m), LT_ERR_INVALID, "batch_size");
    vb_options(&o, LT_LDA_ONLINE_VB);
    o.kappa = 1.5;
    CHECK_FAILS(lda_vb_fit(&o, c, &m), LT_ERR_INVALID, "kappa");
    vb_options(&o, LT_LDA_VB);
    c->tokens[25] = 77;
    CHECK_FAILS(lda_vb_fit(&o, c, &m), LT_ERR_INVALID, "document 2, token 5: word id 77");
    c->tokens[25] = 1;
    c->doc_ptr[4] = c->doc_ptr[3] - 1;
    CHECK_FAILS(lda_vb_fit(&o, c, &m), LT_ERR_INVALID, "document 3 has offsets 30..29 out of order");
    CHECK(m == NULL);
    lt_corpus_free(c);
    /* No tokens at all: refused; empty documents among others: fine. */
    size_t p0[3] = {0, 0, 0};
    lt_corpus *e = mk_corpus(2, 5, p0, NULL);
    vb_options(&o, LT_LDA_VB);
    CHECK_FAILS(lda_vb_fit(&o, e, &m), LT_ERR_INVALID, "no tokens");
    lt_corpus_free(e);
    size_t p1[4] = {0, 0, 3, 3};
    int32_t t1[3] = {0, 2, 2};
    e = mk_corpus(3, 4, p1, t1);
    o.k = 2;
    CHECK_OK(lda_vb_fit(&o, e, &m));
    if (m) CHECK(isfinite(m->log_likelihood) && m->n_docs == 3 && m->n_tokens == 3);
    lt_lda_free(m);
    m = NULL;
    o.algo = LT_LDA_ONLINE_VB;
    o.batch_size = 1;
    CHECK_OK(lda_vb_fit(&o, e, &m));
    if (m) CHECK(isfinite(m->log_likelihood));
    lt_lda_free(m);
    lt_corpus_free(e);
}

int main(void)
{
    RUN(test_special_functions);
    RUN(test_bound_monotone);
    RUN(test_bound_is_the_elbo);
    RUN(test_recovery);
    RUN(test_alpha_recovery);
    RUN(test_thread_invariance);
    RUN(test_sklearn);
    RUN(test_stream);
    RUN(test_infer);
    RUN(test_errors);
    return lt_test_done();
}
