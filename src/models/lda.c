/* latent — latent Dirichlet allocation: the model object.
 *
 * What every LDA route shares: creating and copying a model, its topics
 * phi_kw = (nkw + beta_w) / (nk + sum beta), top words, and the option
 * defaults. The samplers (lda_gibbs.c), variational Bayes (lda_vb.c),
 * evaluation (lda_eval.c) and files (lda_io.c) live beside it.
 */
#include "latent/lda.h"

#include "../core/internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const algo_names[] = {"gibbs", "vb", "online-vb"};

const char *lt_lda_algo_name(lt_lda_algo a)
{
    return (unsigned)a < sizeof algo_names / sizeof *algo_names ? algo_names[a] : "unknown";
}

lt_status lt_lda_algo_parse(const char *s, lt_lda_algo *out)
{
    for (size_t i = 0; i < sizeof algo_names / sizeof *algo_names; i++)
        if (s && strcmp(s, algo_names[i]) == 0) {
            *out = (lt_lda_algo)i;
            return LT_OK;
        }
    return lt_fail(LT_ERR_INVALID, "unknown LDA algorithm '%s' (expected gibbs, vb or online-vb)", s ? s : "");
}

void lt_lda_options_default(lt_lda_options *o)
{
    memset(o, 0, sizeof *o);
    o->k = 10;
    o->algo = LT_LDA_GIBBS;
    o->optimize_interval = 10;
    o->burn_in = 50;
    o->max_iter = 200;
    o->n_samples = 1;
    o->tol = 1e-4;
    o->estep_iter = 100;
    o->estep_tol = 1e-3;
    o->batch_size = 256;
    o->tau0 = 64;
    o->kappa = 0.7;
}

void lt_lda_score_options_default(lt_lda_score_options *o)
{
    memset(o, 0, sizeof *o);
    o->estimator = LT_LDA_LEFT_TO_RIGHT;
    o->particles = 20;
    o->iters = 50;
}

void lt_lda_free(lt_lda *m)
{
    if (!m) return;
    free(m->alpha);
    free(m->beta);
    free(m->nkw);
    free(m->nk);
    lt_vocab_free(m->vocab, m->v);
    free(m);
}

lt_status lt_lda_create(size_t k, size_t v, double alpha, double beta, lt_lda **out)
{
    *out = NULL;
    if (k < 1) return lt_fail(LT_ERR_INVALID, "an LDA model needs at least one topic (K >= 1)");
    if (v < 1) return lt_fail(LT_ERR_INVALID, "an LDA model needs at least one word in its vocabulary");
    if (!(alpha > 0) || !(beta > 0) || alpha == 1.0 / 0.0 || beta == 1.0 / 0.0)
        return lt_fail(LT_ERR_INVALID, "LDA priors must be positive and finite (alpha %g, beta %g)", alpha, beta);
    int ok = 1;
    size_t kv = lt_mul_size(k, v, &ok);
    if (!ok || kv > ((size_t)1 << 34))
        return lt_fail(LT_ERR_INVALID, "an LDA model of %zu topics x %zu words is too large", k, v);
    lt_lda *m = lt_calloc(1, sizeof *m);
    if (!m) return LT_ERR_NOMEM;
    m->k = k;
    m->v = v;
    m->alpha = lt_malloc(k, sizeof *m->alpha);
    m->beta = lt_malloc(v, sizeof *m->beta);
    m->nkw = lt_calloc(kv, sizeof *m->nkw);
    m->nk = lt_calloc(k, sizeof *m->nk);
    if (!m->alpha || !m->beta || !m->nkw || !m->nk) {
        lt_lda_free(m);
        return LT_ERR_NOMEM;
    }
    for (size_t i = 0; i < k; i++)
        m->alpha[i] = alpha;
    for (size_t w = 0; w < v; w++)
        m->beta[w] = beta;
    *out = m;
    return LT_OK;
}

lt_status lt_lda_copy(const lt_lda *m, lt_lda **out)
{
    lt_lda *c = NULL;
    LT_CHECK(lt_lda_create(m->k, m->v, 1, 1, &c));
    memcpy(c->alpha, m->alpha, m->k * sizeof *c->alpha);
    memcpy(c->beta, m->beta, m->v * sizeof *c->beta);
    memcpy(c->nkw, m->nkw, m->k * m->v * sizeof *c->nkw);
    memcpy(c->nk, m->nk, m->k * sizeof *c->nk);
    lt_status st = lt_vocab_copy(m->vocab, m->v, &c->vocab);
    if (st != LT_OK) {
        lt_lda_free(c);
        return st;
    }
    c->algo = m->algo;
    c->n_iter = m->n_iter;
    c->n_docs = m->n_docs;
    c->n_tokens = m->n_tokens;
    c->log_likelihood = m->log_likelihood;
    c->seed = m->seed;
    *out = c;
    return LT_OK;
}

lt_status lt_lda_set_vocab(lt_lda *m, char *const *vocab)
{
    char **v = NULL;
    LT_CHECK(lt_vocab_copy(vocab, m->v, &v));
    lt_vocab_free(m->vocab, m->v);
    m->vocab = v;
    return LT_OK;
}

void lt_lda_update_totals(lt_lda *m)
{
    for (size_t k = 0; k < m->k; k++) {
        const double *row = m->nkw + k * m->v;
        double s = 0;
        for (size_t w = 0; w < m->v; w++)
            s += row[w];
        m->nk[k] = s;
    }
}

void lt_lda_topics(const lt_lda *m, double *phi)
{
    double bsum = 0;
    for (size_t w = 0; w < m->v; w++)
        bsum += m->beta[w];
    for (size_t k = 0; k < m->k; k++) {
        const double *row = m->nkw + k * m->v;
        double *out = phi + k * m->v;
        double inv = 1.0 / (m->nk[k] + bsum);
        for (size_t w = 0; w < m->v; w++)
            out[w] = (row[w] + m->beta[w]) * inv;
    }
}

/* Top-n selection by a bounded insertion list: n is small (tens) and V
 * large, so one pass with a sorted list of n beats sorting V entries. */
void lt_lda_top_words(const lt_lda *m, size_t topic, size_t n, int32_t *ids)
{
    if (n > m->v) n = m->v;
    if (n == 0) return;
    const double *row = m->nkw + topic * m->v;
    size_t have = 0;
    for (size_t w = 0; w < m->v; w++) {
        double s = row[w] + m->beta[w];
        if (have == n) {
            double last = row[ids[n - 1]] + m->beta[ids[n - 1]];
            if (!(s > last)) continue; /* ties keep the smaller id */
            have--;
        }
        size_t i = have;
        while (i > 0) {
            double prev = row[ids[i - 1]] + m->beta[ids[i - 1]];
            if (!(s > prev)) break;
            ids[i] = ids[i - 1];
            i--;
        }
        ids[i] = (int32_t)w;
        have++;
    }
}
