// LABELS: unit
/* LDA evaluation and files: the exact log p by enumeration against closed
 * forms and normalisation; the left-to-right estimator against it within
 * standard errors over seeds; document completion against the exact
 * predictive probability and an enumerated posterior mean; scores do not
 * depend on the thread count; coherence against brute-force counts;
 * sampling reproduces the model's word and topic frequencies; model files
 * round-trip exactly, numpy reads them, and corrupted files are refused
 * with a message. */
#include "harness.h"

#include "latent/corpus.h"
#include "latent/lda.h"
#include "latent/model.h"
#include "latent/safetensors.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* K = 3 topics over V = 6 words, asymmetric alpha, distinct topics. */
static lt_lda *tiny_model(void)
{
    static const double nkw[18] = {5, 3, 0.2, 0.1, 1, 0.3, 0.1, 0.2, 4, 6, 0.5, 0.1, 1, 1, 1, 0.2, 3, 5};
    lt_lda *m = NULL;
    lt_lda_create(3, 6, 0.5, 0.1, &m);
    m->alpha[1] = 0.3;
    m->alpha[2] = 1.0;
    memcpy(m->nkw, nkw, sizeof nkw);
    lt_lda_update_totals(m);
    return m;
}

/* ------------------------------------------------------------ exact */

static void test_exact(void)
{
    lt_lda *m = tiny_model();
    double phi[18], A = 1.8, lp;
    lt_lda_topics(m, phi);
    /* One token: sum_k (alpha_k / A) phi_kw. */
    for (int32_t w = 0; w < 6; w++) {
        double p = 0.0;
        for (size_t k = 0; k < 3; k++)
            p += m->alpha[k] / A * phi[k * 6 + w];
        CHECK_OK(lt_lda_exact_logp(m, &w, 1, &lp));
        CHECK_NEAR(lp, log(p), 1e-13);
    }
    /* Two tokens: the Polya urn, sum_k,j (alpha_k / A) ((alpha_j + [j = k]) / (A + 1)) phi_k,w1 phi_j,w2. */
    int32_t t2[2] = {1, 4};
    double p2 = 0.0;
    for (size_t k = 0; k < 3; k++)
        for (size_t j = 0; j < 3; j++)
            p2 += m->alpha[k] / A * (m->alpha[j] + (j == k)) / (A + 1) * phi[k * 6 + 1] * phi[j * 6 + 4];
    CHECK_OK(lt_lda_exact_logp(m, t2, 2, &lp));
    CHECK_NEAR(lp, log(p2), 1e-13);
    /* p(w) sums to one over all 6^4 documents of four tokens. */
    double total = 0.0;
    for (int32_t a = 0; a < 6; a++)
        for (int32_t b = 0; b < 6; b++)
            for (int32_t c = 0; c < 6; c++)
                for (int32_t d = 0; d < 6; d++) {
                    int32_t t[4] = {a, b, c, d};
                    lt_lda_exact_logp(m, t, 4, &lp);
                    total += exp(lp);
                }
    CHECK_NEAR(total, 1.0, 1e-12);
    /* Exchangeable: the order of the tokens does not matter. */
    int32_t x[5] = {0, 3, 3, 5, 1}, y[5] = {3, 1, 5, 0, 3};
    double lx, ly;
    CHECK_OK(lt_lda_exact_logp(m, x, 5, &lx));
    CHECK_OK(lt_lda_exact_logp(m, y, 5, &ly));
    CHECK_NEAR(lx, ly, 1e-12);
    CHECK_OK(lt_lda_exact_logp(m, NULL, 0, &lp));
    CHECK(lp == 0.0);
    int32_t big[15] = {0};
    CHECK_FAILS(lt_lda_exact_logp(m, big, 15, &lp), LT_ERR_INVALID, "K^N = 3^15");
    int32_t bad[2] = {1, 6};
    CHECK_FAILS(lt_lda_exact_logp(m, bad, 2, &lp), LT_ERR_INVALID, "token 2 is word 6");
    lt_lda_free(m);
}

/* ------------------------------------------------------------ left-to-right */

static const size_t tiny_ptr[7] = {0, 3, 7, 12, 18, 22, 22};
static const int32_t tiny_tok[22] = {0, 2, 5, 0, 0, 3, 4, 1, 2, 3, 3, 5, 0, 1, 2, 3, 4, 5, 2, 2, 2, 2};

static void test_left_to_right(void)
{
    lt_lda *m = tiny_model();
    lt_corpus *c = mk_corpus(6, 6, tiny_ptr, tiny_tok); /* the last document is empty */
    double exact[6];
    for (size_t d = 0; d < 6; d++)
        CHECK_OK(lt_lda_exact_logp(m, tiny_tok + tiny_ptr[d], tiny_ptr[d + 1] - tiny_ptr[d], &exact[d]));
    /* Per document: mean and standard error of the estimate over seeds. */
    enum { S = 10 };
    double est[S][6];
    lt_score sum;
    for (int s = 0; s < S; s++) {
        lt_lda_score_options o;
        lt_lda_score_options_default(&o);
        o.particles = 2000;
        o.seed = 100 + (uint64_t)s;
        o.threads = 1;
        CHECK_OK(lt_lda_score(m, c, &o, est[s], &sum));
    }
    for (size_t d = 0; d < 5; d++) {
        double mean = 0.0, m2 = 0.0;
        for (int s = 0; s < S; s++)
            mean += est[s][d] / S;
        for (int s = 0; s < S; s++)
            m2 += (est[s][d] - mean) * (est[s][d] - mean);
        double se = sqrt(m2 / (S - 1) / S);
        CHECK_MSG(fabs(mean - exact[d]) < 4 * se + 1e-3, "document %zu: estimate %.6f +- %.2g, exact %.6f", d, mean, se,
                  exact[d]);
        CHECK(se < 0.01);
    }
    CHECK(est[0][5] == 0.0); /* empty */
    /* The summary of the last run. */
    double total = 0.0;
    for (size_t d = 0; d < 6; d++)
        total += est[S - 1][d];
    CHECK_NEAR(sum.total, total, 1e-9);
    CHECK(sum.count == 22);
    CHECK_NEAR(sum.mean, total / 22, 1e-12);
    double ss = 0.0;
    for (size_t d = 0; d < 5; d++) {
        double e = est[S - 1][d] - sum.mean * (double)(tiny_ptr[d + 1] - tiny_ptr[d]);
        ss += e * e;
    }
    CHECK_NEAR(sum.stderr_mean, sqrt(5.0 / 4.0 * ss) / 22.0, 1e-12);
    CHECK(sum.kind == LT_SCORE_ESTIMATE);
    CHECK(strcmp(sum.unit, "token") == 0);
    CHECK_MSG(strstr(sum.method, "left-to-right") && strstr(sum.method, "2000 particles"), "%s", sum.method);

    /* The same seed gives the same numbers at any thread count; another
     * seed other numbers. */
    double a[6], b[6], e[6];
    lt_lda_score_options o;
    lt_lda_score_options_default(&o);
    o.seed = 5;
    o.threads = 1;
    CHECK_OK(lt_lda_score(m, c, &o, a, NULL));
    o.threads = 3;
    CHECK_OK(lt_lda_score(m, c, &o, b, NULL));
    CHECK(memcmp(a, b, sizeof a) == 0);
    o.seed = 6;
    CHECK_OK(lt_lda_score(m, c, &o, e, NULL));
    CHECK(memcmp(a, e, sizeof a) != 0);
    /* Errors. */
    o.particles = 0;
    CHECK_FAILS(lt_lda_score(m, c, &o, a, NULL), LT_ERR_INVALID, "at least one particle");
    lt_lda_score_options_default(&o);
    c->tokens[4] = 9;
    CHECK_FAILS(lt_lda_score(m, c, &o, a, NULL), LT_ERR_INVALID, "word id 9");
    c->tokens[4] = 0;
    lt_corpus_free(c);
    size_t p0[3] = {0, 0, 0};
    c = mk_corpus(2, 6, p0, NULL);
    CHECK_FAILS(lt_lda_score(m, c, &o, a, &sum), LT_ERR_INVALID, "no tokens");
    lt_corpus_free(c);
    lt_lda_free(m);
}

/* ------------------------------------------------------------ completion */

/* E[theta | observed tokens] by enumerating their topic assignments. */
static void posterior_mean_theta(const lt_lda *m, const int32_t *t, size_t n, double *theta)
{
    double phi[18], A = 0.0, norm = 0.0;
    lt_lda_topics(m, phi);
    for (size_t k = 0; k < 3; k++) {
        A += m->alpha[k];
        theta[k] = 0.0;
    }
    size_t states = 1, z[8];
    for (size_t i = 0; i < n; i++)
        states *= 3;
    for (size_t s = 0; s < states; s++) {
        size_t x = s, cnt[3] = {0, 0, 0};
        for (size_t i = 0; i < n; i++) {
            z[i] = x % 3;
            x /= 3;
            cnt[z[i]]++;
        }
        /* p(z) by the urn, token by token, times the words. */
        double p = 1.0;
        size_t seen[3] = {0, 0, 0};
        for (size_t i = 0; i < n; i++) {
            p *= (m->alpha[z[i]] + (double)seen[z[i]]) / (A + (double)i) * phi[z[i] * 6 + (size_t)t[i]];
            seen[z[i]]++;
        }
        norm += p;
        for (size_t k = 0; k < 3; k++)
            theta[k] += p * (m->alpha[k] + (double)cnt[k]) / (A + (double)n);
    }
    for (size_t k = 0; k < 3; k++)
        theta[k] /= norm;
}

static void test_completion(void)
{
    lt_lda *m = tiny_model();
    lt_corpus *c = mk_corpus(6, 6, tiny_ptr, tiny_tok);
    lt_lda_score_options o;
    lt_lda_score_options_default(&o);
    o.estimator = LT_LDA_COMPLETION;
    o.iters = 40000;
    o.seed = 9;
    double lp[6];
    lt_score sum;
    CHECK_OK(lt_lda_score(m, c, &o, lp, &sum));
    double phi[18];
    lt_lda_topics(m, phi);
    size_t scored = 0;
    for (size_t d = 0; d < 5; d++) {
        const int32_t *t = tiny_tok + tiny_ptr[d];
        size_t n = tiny_ptr[d + 1] - tiny_ptr[d];
        int32_t obs[8], held[8];
        size_t no = 0, nh = 0;
        for (size_t i = 0; i < n; i++) {
            if (i % 2 == 0)
                obs[no++] = t[i];
            else
                held[nh++] = t[i];
        }
        scored += nh;
        double theta[3], ref = 0.0;
        posterior_mean_theta(m, obs, no, theta);
        for (size_t i = 0; i < nh; i++) {
            double p = 0.0;
            for (size_t k = 0; k < 3; k++)
                p += theta[k] * phi[k * 6 + (size_t)held[i]];
            ref += log(p);
        }
        CHECK_MSG(fabs(lp[d] - ref) < 0.01 * (double)nh, "document %zu: completion %.6f, exact %.6f", d, lp[d], ref);
        if (nh == 1) { /* one scored token: exactly log p(w_held | w_obs) */
            double lall, lobs;
            lt_lda_exact_logp(m, t, n, &lall);
            lt_lda_exact_logp(m, obs, no, &lobs);
            CHECK_NEAR(ref, lall - lobs, 1e-12);
        }
    }
    CHECK(lp[5] == 0.0);
    CHECK(sum.count == scored);
    CHECK(sum.kind == LT_SCORE_ESTIMATE);
    CHECK_MSG(strstr(sum.method, "completion") && strstr(sum.method, "40000 sweeps"), "%s", sum.method);
    /* Threads. */
    double a[6], b[6];
    o.iters = 50;
    o.threads = 1;
    CHECK_OK(lt_lda_score(m, c, &o, a, NULL));
    o.threads = 3;
    CHECK_OK(lt_lda_score(m, c, &o, b, NULL));
    CHECK(memcmp(a, b, sizeof a) == 0);
    lt_corpus_free(c);
    /* Nothing to score: documents of one token. */
    size_t p1[3] = {0, 1, 2};
    int32_t t1[2] = {3, 4};
    c = mk_corpus(2, 6, p1, t1);
    CHECK_FAILS(lt_lda_score(m, c, &o, a, &sum), LT_ERR_INVALID, "no document has two tokens");
    lt_corpus_free(c);
    lt_lda_free(m);
}

/* ------------------------------------------------------------ coherence */

static void test_coherence(void)
{
    /* Topic 0 ranks words 2, 0, 5, 1; topic 1 ranks 3, 4, 1, 0 (then the
     * rest); word 5 never occurs in the reference corpus; words 3 and 4
     * occur in every document. */
    lt_lda *m = NULL;
    lt_lda_create(2, 6, 0.1, 0.01, &m);
    const double nkw[12] = {8, 2, 9, 0.5, 0.2, 7, 1, 3, 0, 9, 6, 0};
    memcpy(m->nkw, nkw, sizeof nkw);
    lt_lda_update_totals(m);
    static const size_t ptr[7] = {0, 4, 7, 10, 13, 15, 19};
    static const int32_t tok[19] = {0, 2, 3, 4, 1, 3, 4, 0, 3, 4, 2, 3, 4, 3, 4, 0, 1, 3, 4};
    lt_corpus *c = mk_corpus(6, 6, ptr, tok);
    const size_t N = 4;
    double um[2], np[2];
    CHECK_OK(lt_lda_coherence(m, c, N, um, np));
    for (size_t k = 0; k < 2; k++) {
        /* Top words by sorting (weight descending, ties by id). */
        size_t ids[6] = {0, 1, 2, 3, 4, 5};
        for (size_t i = 0; i < 6; i++)
            for (size_t j = i + 1; j < 6; j++) {
                double wi = nkw[k * 6 + ids[i]], wj = nkw[k * 6 + ids[j]];
                if (wj > wi || (wj == wi && ids[j] < ids[i])) {
                    size_t t = ids[i];
                    ids[i] = ids[j];
                    ids[j] = t;
                }
            }
        double su = 0.0, sn = 0.0;
        size_t nu = 0, npairs = 0;
        for (size_t i = 0; i < N; i++)
            for (size_t j = i + 1; j < N; j++) {
                double di = 0, dj = 0, dij = 0;
                for (size_t d = 0; d < 6; d++) {
                    int hi = 0, hj = 0;
                    for (size_t q = ptr[d]; q < ptr[d + 1]; q++) {
                        hi |= (size_t)tok[q] == ids[i];
                        hj |= (size_t)tok[q] == ids[j];
                    }
                    di += hi;
                    dj += hj;
                    dij += hi && hj;
                }
                if (di > 0) {
                    su += log((dij + 1) / di);
                    nu++;
                }
                sn += dij == 0 ? -1.0 : dij == 6 ? 1.0 : log(dij / 6 / (di / 6 * dj / 6)) / -log(dij / 6);
                npairs++;
            }
        CHECK_NEAR(um[k], su / (double)nu, 1e-12);
        CHECK_NEAR(np[k], sn / (double)npairs, 1e-12);
    }
    /* Topic 1's first pair (3, 4) is in every document: NPMI 1 there. */
    CHECK(np[1] > np[0]);
    CHECK_OK(lt_lda_coherence(m, c, 2, NULL, np));
    CHECK_NEAR(np[1], 1.0, 1e-15);
    CHECK_FAILS(lt_lda_coherence(m, c, 1, um, np), LT_ERR_INVALID, "between 2 and 6");
    CHECK_FAILS(lt_lda_coherence(m, c, 7, um, np), LT_ERR_INVALID, "between 2 and 6");
    lt_corpus_free(c);
    lt_lda_free(m);
}

/* ------------------------------------------------------------ sampling */

static void test_sample(void)
{
    lt_lda *m = tiny_model();
    char *vocab[6] = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta"};
    CHECK_OK(lt_lda_set_vocab(m, vocab));
    const size_t D = 3000, L = 40;
    lt_corpus *c = NULL;
    double *theta = malloc(D * 3 * sizeof *theta);
    CHECK_OK(lt_lda_sample(m, D, L, 77, &c, theta));
    if (!c) {
        free(theta);
        lt_lda_free(m);
        return;
    }
    CHECK(c->n_docs == D && c->n_vocab == 6 && c->n_tokens == D * L && c->doc_ptr[D] == D * L);
    CHECK_OK(lt_corpus_check(c, "sample"));
    CHECK(c->vocab && strcmp(c->vocab[4], "epsilon") == 0 && c->vocab[4] != m->vocab[4]);
    int sorted = 1;
    for (size_t d = 0; d < D; d++)
        for (size_t i = c->doc_ptr[d] + 1; i < c->doc_ptr[d + 1]; i++)
            sorted &= c->tokens[i - 1] <= c->tokens[i];
    CHECK(sorted);
    /* Word frequencies: per document f_dw, their mean against
     * p(w) = sum_k (alpha_k / A) phi_kw, within 5 standard errors over
     * documents; mixtures: mean theta against alpha / A. */
    double phi[18], A = 1.8;
    lt_lda_topics(m, phi);
    for (size_t w = 0; w < 6; w++) {
        double pw = 0.0, mean = 0.0, m2 = 0.0;
        for (size_t k = 0; k < 3; k++)
            pw += m->alpha[k] / A * phi[k * 6 + w];
        for (size_t d = 0; d < D; d++) {
            double f = 0.0;
            for (size_t i = c->doc_ptr[d]; i < c->doc_ptr[d + 1]; i++)
                f += c->tokens[i] == (int32_t)w;
            f /= (double)L;
            double delta = f - mean;
            mean += delta / (double)(d + 1);
            m2 += delta * (f - mean);
        }
        double se = sqrt(m2 / (double)(D - 1) / (double)D);
        CHECK_MSG(fabs(mean - pw) < 5 * se, "word %zu: frequency %.5f, model %.5f (se %.2g)", w, mean, pw, se);
    }
    for (size_t k = 0; k < 3; k++) {
        double mean = 0.0, m2 = 0.0;
        for (size_t d = 0; d < D; d++) {
            double delta = theta[d * 3 + k] - mean;
            mean += delta / (double)(d + 1);
            m2 += delta * (theta[d * 3 + k] - mean);
        }
        double se = sqrt(m2 / (double)(D - 1) / (double)D);
        CHECK_MSG(fabs(mean - m->alpha[k] / A) < 5 * se, "topic %zu: mean theta %.4f, alpha / A %.4f", k, mean,
                  m->alpha[k] / A);
    }
    double rs = 0.0;
    for (size_t k = 0; k < 3; k++)
        rs += theta[k];
    CHECK_NEAR(rs, 1.0, 1e-12);
    /* The same seed, the same corpus; another seed, another. */
    lt_corpus *c2 = NULL, *c3 = NULL;
    CHECK_OK(lt_lda_sample(m, D, L, 77, &c2, NULL));
    CHECK_OK(lt_lda_sample(m, D, L, 78, &c3, NULL));
    if (c2 && c3) {
        CHECK(memcmp(c->tokens, c2->tokens, D * L * sizeof(int32_t)) == 0);
        CHECK(memcmp(c->tokens, c3->tokens, D * L * sizeof(int32_t)) != 0);
    }
    lt_corpus_free(c2);
    lt_corpus_free(c3);
    lt_corpus_free(c);
    /* Empty documents; no documents. */
    CHECK_OK(lt_lda_sample(m, 4, 0, 1, &c, NULL));
    if (c) CHECK(c->n_tokens == 0 && c->n_empty_docs == 4 && c->doc_ptr[4] == 0);
    lt_corpus_free(c);
    CHECK_FAILS(lt_lda_sample(m, 0, 5, 1, &c, NULL), LT_ERR_INVALID, "at least one document");
    CHECK(c == NULL);
    free(theta);
    lt_lda_free(m);
}

/* ------------------------------------------------------------ files */

static lt_lda *file_model(int with_vocab)
{
    lt_lda *m = tiny_model();
    m->beta[3] = 0.25; /* not all equal */
    m->nkw[7] = 0.0;
    lt_lda_update_totals(m);
    if (with_vocab) {
        char *vocab[6] = {"alpha", "b\xc3\xa9ta", "gamma \"quoted\"", "delta\\", "epsilon", ""};
        lt_lda_set_vocab(m, vocab);
    }
    m->algo = LT_LDA_ONLINE_VB;
    m->n_iter = 17;
    m->n_docs = 123;
    m->n_tokens = 4567;
    m->log_likelihood = -7.123456789012345;
    m->seed = 0xdeadbeefcafeULL;
    return m;
}

static void check_same(const lt_lda *a, const lt_lda *b)
{
    CHECK(a->k == b->k && a->v == b->v);
    if (a->k != b->k || a->v != b->v) return;
    CHECK(memcmp(a->alpha, b->alpha, a->k * sizeof(double)) == 0);
    CHECK(memcmp(a->beta, b->beta, a->v * sizeof(double)) == 0);
    CHECK(memcmp(a->nkw, b->nkw, a->k * a->v * sizeof(double)) == 0);
    CHECK(memcmp(a->nk, b->nk, a->k * sizeof(double)) == 0);
    CHECK((a->vocab == NULL) == (b->vocab == NULL));
    if (a->vocab && b->vocab)
        for (size_t w = 0; w < a->v; w++)
            CHECK_MSG(strcmp(a->vocab[w], b->vocab[w]) == 0, "word %zu: '%s' vs '%s'", w, a->vocab[w], b->vocab[w]);
    CHECK(a->algo == b->algo && a->n_iter == b->n_iter && a->n_docs == b->n_docs && a->n_tokens == b->n_tokens);
    CHECK(a->log_likelihood == b->log_likelihood && a->seed == b->seed);
}

/* A file shaped like a model file, with one thing changed. */
typedef struct spec {
    const char *kind, *format, *n_topics, *n_vocab, *vocab, *algo;
    size_t ak, bv, nk, nv; /* tensor shapes */
    const char *skip;      /* a tensor left out */
} spec;

static const char *write_spec(const char *dir, const char *name, spec s)
{
    static char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    lt_st_writer *w = NULL;
    lt_st_writer_create(&w);
    if (s.format) lt_st_writer_meta(w, LT_META_FORMAT, s.format);
    if (s.kind) lt_st_writer_meta(w, LT_META_KIND, s.kind);
    if (s.n_topics) lt_st_writer_meta(w, "n_topics", s.n_topics);
    if (s.n_vocab) lt_st_writer_meta(w, "n_vocab", s.n_vocab);
    if (s.vocab) lt_st_writer_meta(w, "vocabulary", s.vocab);
    if (s.algo) lt_st_writer_meta(w, "algo", s.algo);
    double buf[64];
    for (size_t i = 0; i < 64; i++)
        buf[i] = 0.5 + (double)i;
    size_t sa[1] = {s.ak}, sb[1] = {s.bv}, sn[2] = {s.nk, s.nv};
    if (!s.skip || strcmp(s.skip, "alpha")) lt_st_writer_tensor(w, "alpha", LT_ST_F64, 1, sa, buf);
    if (!s.skip || strcmp(s.skip, "beta")) lt_st_writer_tensor(w, "beta", LT_ST_F64, 1, sb, buf);
    if (!s.skip || strcmp(s.skip, "nkw")) lt_st_writer_tensor(w, "nkw", LT_ST_F64, 2, sn, buf);
    lt_st_writer_save(w, path);
    lt_st_writer_free(w);
    return path;
}

static spec good_spec(void)
{
    spec s = {"lda", "1", "3", "6", NULL, "vb", 3, 6, 3, 6, NULL};
    return s;
}

static void test_files(void)
{
    const char *dir = lt_test_tmpdir("lda_eval");
    char path[4200];
    for (int v = 0; v <= 1; v++) {
        lt_lda *m = file_model(v), *back = NULL;
        snprintf(path, sizeof path, "%s/model%d.safetensors", dir, v);
        CHECK_OK(lt_lda_save(m, path));
        CHECK_OK(lt_lda_load(path, &back));
        if (back) check_same(m, back);
        /* Through the generic reader too. */
        lt_st_file *f = NULL;
        lt_lda *again = NULL;
        CHECK_OK(lt_st_load(path, &f));
        if (f) {
            CHECK(strcmp(lt_st_meta(f, LT_META_KIND), "lda") == 0);
            CHECK_OK(lt_lda_from_st(f, path, &again));
            if (again) check_same(m, again);
        }
        lt_st_free(f);
        lt_lda_free(again);
        lt_lda_free(back);
        lt_lda_free(m);
    }

    /* numpy reads it as it is. */
    if (system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
        fprintf(stderr, "note: /usr/bin/python3 with numpy not found; numpy cross-check skipped\n");
    } else {
        lt_lda *m = file_model(1);
        double sa = 0, sb = 0, sn = 0;
        for (size_t i = 0; i < 3; i++)
            sa += m->alpha[i];
        for (size_t i = 0; i < 6; i++)
            sb += m->beta[i];
        for (size_t i = 0; i < 18; i++)
            sn += m->nkw[i];
        char cmd[8192];
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 '%s/tests/safetensors_numpy_check.py' '%s/model1.safetensors' "
                 "alpha=F64:3:%.17g beta=F64:6:%.17g nkw=F64:3x6:%.17g --meta latent.kind=lda --meta n_topics=3 "
                 "--meta n_vocab=6 --meta algo=online-vb --meta n_iter=17 1>&2",
                 LT_SOURCE_DIR, dir, sa, sb, sn);
        int rc = system(cmd);
        CHECK_MSG(rc == 0, "the numpy check exited with %d: %s", rc, cmd);
        lt_lda_free(m);
    }

    /* Bad values are refused, naming the tensor and entry. */
    lt_lda *m = file_model(0), *x = NULL;
    snprintf(path, sizeof path, "%s/bad.safetensors", dir);
    m->nkw[1 * 6 + 2] = -1.0;
    CHECK_OK(lt_lda_save(m, path));
    CHECK_FAILS(lt_lda_load(path, &x), LT_ERR_FORMAT, "tensor 'nkw' [1, 2] is -1");
    m->nkw[1 * 6 + 2] = NAN;
    CHECK_OK(lt_lda_save(m, path));
    CHECK_FAILS(lt_lda_load(path, &x), LT_ERR_FORMAT, "tensor 'nkw' [1, 2] is nan");
    m->nkw[1 * 6 + 2] = 1.0;
    m->alpha[2] = 0.0;
    CHECK_OK(lt_lda_save(m, path));
    CHECK_FAILS(lt_lda_load(path, &x), LT_ERR_FORMAT, "tensor 'alpha' [2] is 0 (expected a positive");
    m->alpha[2] = 1.0;
    m->beta[5] = INFINITY;
    CHECK_OK(lt_lda_save(m, path));
    CHECK_FAILS(lt_lda_load(path, &x), LT_ERR_FORMAT, "tensor 'beta' [5] is inf");
    CHECK(x == NULL);
    lt_lda_free(m);

    /* Bad structure. */
    spec s = good_spec();
    CHECK_OK(lt_lda_load(write_spec(dir, "ok.safetensors", s), &x));
    lt_lda_free(x);
    x = NULL;
    s = good_spec();
    s.kind = "gmm";
    CHECK_FAILS(lt_lda_load(write_spec(dir, "kind.safetensors", s), &x), LT_ERR_FORMAT, "not an LDA model file");
    s = good_spec();
    s.format = "2";
    CHECK_FAILS(lt_lda_load(write_spec(dir, "fmt.safetensors", s), &x), LT_ERR_FORMAT, "format version 2");
    s = good_spec();
    s.n_topics = NULL;
    CHECK_FAILS(lt_lda_load(write_spec(dir, "nt.safetensors", s), &x), LT_ERR_FORMAT, "'n_topics' is missing");
    s = good_spec();
    s.n_vocab = "0";
    CHECK_FAILS(lt_lda_load(write_spec(dir, "nv.safetensors", s), &x), LT_ERR_FORMAT, "not valid sizes");
    s = good_spec();
    s.nv = 7;
    CHECK_FAILS(lt_lda_load(write_spec(dir, "shape.safetensors", s), &x), LT_ERR_FORMAT, "'nkw' has shape [3,7]");
    s = good_spec();
    s.ak = 2;
    CHECK_FAILS(lt_lda_load(write_spec(dir, "ashape.safetensors", s), &x), LT_ERR_FORMAT, "'alpha' has shape [2]");
    s = good_spec();
    s.skip = "beta";
    CHECK_FAILS(lt_lda_load(write_spec(dir, "skip.safetensors", s), &x), LT_ERR_FORMAT, "'beta' is missing");
    s = good_spec();
    s.vocab = "[\"a\",\"b\"]";
    CHECK_FAILS(lt_lda_load(write_spec(dir, "voc.safetensors", s), &x), LT_ERR_FORMAT,
                "the vocabulary has 2 words but the model has n_vocab = 6");
    s = good_spec();
    s.vocab = "[\"a\",\"b\",\"c\",\"d\",\"e\",7]";
    CHECK_FAILS(lt_lda_load(write_spec(dir, "voc2.safetensors", s), &x), LT_ERR_FORMAT, "vocabulary entry 6");
    s = good_spec();
    s.vocab = "not json";
    CHECK_FAILS(lt_lda_load(write_spec(dir, "voc3.safetensors", s), &x), LT_ERR_FORMAT, "not a JSON array");
    s = good_spec();
    s.algo = "magic";
    CHECK_FAILS(lt_lda_load(write_spec(dir, "algo.safetensors", s), &x), LT_ERR_FORMAT, "unknown LDA algorithm");
    CHECK(x == NULL);
    /* A truncated file. */
    lt_lda *good = file_model(1);
    snprintf(path, sizeof path, "%s/trunc.safetensors", dir);
    CHECK_OK(lt_lda_save(good, path));
    FILE *f = fopen(path, "rb");
    char buf[65536];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    f = fopen(path, "wb");
    if (f) {
        fwrite(buf, 1, n - 9, f);
        fclose(f);
    }
    CHECK_FAILS(lt_lda_load(path, &x), LT_ERR_FORMAT, "trunc.safetensors");
    CHECK_FAILS(lt_lda_load("/nonexistent/dir/m.safetensors", &x), LT_ERR_IO, "m.safetensors");
    lt_lda_free(good);
}

int main(void)
{
    RUN(test_exact);
    RUN(test_left_to_right);
    RUN(test_completion);
    RUN(test_coherence);
    RUN(test_sample);
    RUN(test_files);
    return lt_test_done();
}
