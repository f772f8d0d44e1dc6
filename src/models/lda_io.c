/* latent — LDA model files (safetensors).
 *
 * Tensors (float64): "alpha" [K], "beta" [V], "nkw" [K, V] (the topic-word
 * statistics; topics are (nkw + beta) / row sums). Metadata: the format
 * version and kind "lda", the library version, n_topics, n_vocab, algo, the
 * training summary (n_iter, n_docs, n_tokens, log_likelihood per token,
 * seed), and the vocabulary as a JSON array of strings when the model has
 * one. Python reads it as it is:
 *     safetensors.numpy.load_file(path)["nkw"]
 * Loading checks the shapes against n_topics and n_vocab, that every value
 * is finite, the priors positive and nkw non-negative, and that the
 * vocabulary has n_vocab entries.
 */
#include "latent/lda.h"
#include "latent/model.h"
#include "latent/safetensors.h"

#include "../core/internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

lt_status lt_lda_write_st(const lt_lda *m, lt_st_writer *w)
{
    char *vj = NULL;
    lt_status st;
    size_t sk[1] = {m->k}, sv[1] = {m->v}, skv[2] = {m->k, m->v};
    if ((st = lt_st_writer_meta(w, LT_META_FORMAT, LT_FORMAT_VERSION)) ||
        (st = lt_st_writer_meta(w, LT_META_KIND, "lda")) ||
        (st = lt_st_writer_meta(w, LT_META_VERSION, lt_version())) ||
        (st = lt_st_writer_meta_i64(w, "n_topics", (int64_t)m->k)) ||
        (st = lt_st_writer_meta_i64(w, "n_vocab", (int64_t)m->v)) ||
        (st = lt_st_writer_meta(w, "algo", lt_lda_algo_name(m->algo))) ||
        (st = lt_st_writer_meta_i64(w, "n_iter", (int64_t)m->n_iter)) ||
        (st = lt_st_writer_meta_i64(w, "n_docs", (int64_t)m->n_docs)) ||
        (st = lt_st_writer_meta_i64(w, "n_tokens", (int64_t)m->n_tokens)) ||
        (st = lt_st_writer_meta_f64(w, "log_likelihood", m->log_likelihood)) ||
        (st = lt_st_writer_meta_i64(w, "seed", (int64_t)m->seed)))
        goto done;
    if (m->vocab) {
        if (!(vj = lt_vocab_json(m->vocab, m->v))) {
            st = lt_fail(LT_ERR_NOMEM, "out of memory writing the vocabulary");
            goto done;
        }
        if ((st = lt_st_writer_meta(w, "vocabulary", vj)) != LT_OK) goto done;
    }
    if ((st = lt_st_writer_tensor(w, "alpha", LT_ST_F64, 1, sk, m->alpha)) ||
        (st = lt_st_writer_tensor(w, "beta", LT_ST_F64, 1, sv, m->beta)) ||
        (st = lt_st_writer_tensor(w, "nkw", LT_ST_F64, 2, skv, m->nkw)))
        goto done;
done:
    cJSON_free(vj);
    return st;
}

lt_status lt_lda_save(const lt_lda *m, const char *path)
{
    lt_st_writer *w = NULL;
    LT_CHECK(lt_st_writer_create(&w));
    lt_status st = lt_lda_write_st(m, w);
    if (st == LT_OK) st = lt_st_writer_save(w, path);
    lt_st_writer_free(w);
    return st;
}

/* A tensor's values: finite, and > 0 (positive) or >= 0. */
static lt_status check_values(const double *x, size_t n, int positive, const char *name, size_t cols, const char *path)
{
    for (size_t i = 0; i < n; i++) {
        int good = isfinite(x[i]) && (positive ? x[i] > 0 : x[i] >= 0);
        if (good) continue;
        const char *want = positive ? "a positive finite number" : "a finite number >= 0";
        if (cols)
            return lt_fail(LT_ERR_FORMAT, "%s: tensor '%s' [%zu, %zu] is %g (expected %s)", path, name, i / cols,
                           i % cols, x[i], want);
        return lt_fail(LT_ERR_FORMAT, "%s: tensor '%s' [%zu] is %g (expected %s)", path, name, i, x[i], want);
    }
    return LT_OK;
}

lt_status lt_lda_from_st(const lt_st_file *f, const char *path, lt_lda **out)
{
    *out = NULL;
    int64_t k = 0, v = 0;
    LT_CHECK(lt_st_meta_i64(f, "n_topics", &k));
    LT_CHECK(lt_st_meta_i64(f, "n_vocab", &v));
    if (k < 1 || v < 1 || k > (1 << 24) || v > INT32_MAX || (double)k * (double)v > (double)((size_t)1 << 34))
        return lt_fail(LT_ERR_FORMAT, "%s: n_topics = %lld and n_vocab = %lld are not valid sizes", path, (long long)k,
                       (long long)v);
    lt_lda_algo algo = LT_LDA_GIBBS;
    const char *an = lt_st_meta(f, "algo");
    if (an && lt_lda_algo_parse(an, &algo) != LT_OK) return lt_fail_prefix(LT_ERR_FORMAT, path);
    /* The file must hold the tensors before anything of that size is allocated. */
    size_t sk[1] = {(size_t)k}, sv[1] = {(size_t)v}, skv[2] = {(size_t)k, (size_t)v};
    const void *pa, *pb, *pn;
    LT_CHECK(lt_st_tensor(f, "alpha", LT_ST_F64, 1, sk, &pa));
    LT_CHECK(lt_st_tensor(f, "beta", LT_ST_F64, 1, sv, &pb));
    LT_CHECK(lt_st_tensor(f, "nkw", LT_ST_F64, 2, skv, &pn));
    LT_CHECK(check_values(pa, (size_t)k, 1, "alpha", 0, path));
    LT_CHECK(check_values(pb, (size_t)v, 1, "beta", 0, path));
    LT_CHECK(check_values(pn, (size_t)k * (size_t)v, 0, "nkw", (size_t)v, path));
    lt_lda *m = NULL;
    LT_CHECK(lt_lda_create((size_t)k, (size_t)v, 1.0, 1.0, &m));
    memcpy(m->alpha, pa, m->k * sizeof(double));
    memcpy(m->beta, pb, m->v * sizeof(double));
    memcpy(m->nkw, pn, m->k * m->v * sizeof(double));
    lt_lda_update_totals(m);
    lt_status st;
    for (size_t i = 0; i < m->k; i++)
        if (!isfinite(m->nk[i])) {
            st = lt_fail(LT_ERR_FORMAT, "%s: topic %zu of tensor 'nkw' sums to %g", path, i, m->nk[i]);
            goto fail;
        }
    const char *vj = lt_st_meta(f, "vocabulary");
    if (vj && (st = lt_vocab_parse(vj, m->v, path, "n_vocab", &m->vocab)) != LT_OK) goto fail;
    m->algo = algo;
    /* The training summary is informative: absent or odd values are not fatal. */
    double x;
    int64_t iv;
    if (lt_st_meta_f64(f, "log_likelihood", &x) == LT_OK) m->log_likelihood = x;
    if (lt_st_meta_i64(f, "n_iter", &iv) == LT_OK && iv >= 0) m->n_iter = (size_t)iv;
    if (lt_st_meta_i64(f, "n_docs", &iv) == LT_OK && iv >= 0) m->n_docs = (size_t)iv;
    if (lt_st_meta_i64(f, "n_tokens", &iv) == LT_OK && iv >= 0) m->n_tokens = (size_t)iv;
    if (lt_st_meta_i64(f, "seed", &iv) == LT_OK) m->seed = (uint64_t)iv;
    lt_clear_error();
    *out = m;
    return LT_OK;
fail:
    lt_lda_free(m);
    return st;
}

lt_status lt_lda_load(const char *path, lt_lda **out)
{
    *out = NULL;
    lt_st_file *f;
    LT_CHECK(lt_st_load(path, &f));
    const char *kind = lt_st_meta(f, LT_META_KIND), *fmt = lt_st_meta(f, LT_META_FORMAT);
    lt_status st;
    if (!kind || strcmp(kind, "lda") != 0)
        st = lt_fail(LT_ERR_FORMAT, "%s: not an LDA model file (kind '%s')", path, kind ? kind : "none");
    else if (!fmt || strcmp(fmt, LT_FORMAT_VERSION) != 0)
        st = lt_fail(LT_ERR_FORMAT, "%s: model format version %s is not supported (this build reads version %s)", path,
                     fmt ? fmt : "none", LT_FORMAT_VERSION);
    else
        st = lt_lda_from_st(f, path, out);
    lt_st_free(f);
    return st;
}
