/* Restricted Boltzmann machines as a family of the generic model table:
 * options, data preparation (scaling, binarisation), model files, scores
 * (exact, AIS, pseudo-likelihood), samples as arrays or PNG grids. */
#include "rbm_internal.h"

#include "internal.h"
#include "latent/io.h"
#include "latent/plot.h"
#include "latent/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ model files */

/* The family's model: the RBM and how its data were prepared. */
typedef struct rbm_model {
    lt_rbm *rbm;
    char binarize[32]; /* "none", "stochastic" or a threshold such as "0.5" */
} rbm_model;

static void rbm_model_free(void *p)
{
    rbm_model *M = p;
    if (!M) return;
    lt_rbm_free(M->rbm);
    free(M);
}

static lt_status write_rbm(const lt_rbm *m, const char *binarize, const char *path)
{
    lt_st_writer *w;
    LT_CHECK(lt_st_writer_create(&w));
    lt_status st;
    size_t sw[2] = {m->nv, m->nh}, sv[1] = {m->nv}, sh[1] = {m->nh};
    if ((st = lt_st_writer_meta(w, LT_META_FORMAT, LT_FORMAT_VERSION)) ||
        (st = lt_st_writer_meta(w, LT_META_KIND, "rbm")) || (st = lt_st_writer_meta(w, LT_META_VERSION, lt_version())) ||
        (st = lt_st_writer_meta(w, "visible", lt_rbm_visible_name(m->visible))) ||
        (st = lt_st_writer_meta(w, "learn_variance", m->learn_var ? "true" : "false")) ||
        (st = lt_st_writer_meta_i64(w, "n_visible", (int64_t)m->nv)) ||
        (st = lt_st_writer_meta_i64(w, "n_hidden", (int64_t)m->nh)) ||
        (st = lt_st_writer_meta_i64(w, "image_height", (int64_t)m->height)) ||
        (st = lt_st_writer_meta_i64(w, "image_width", (int64_t)m->width)) ||
        (st = lt_st_writer_meta(w, "binarize", binarize ? binarize : "none")) ||
        (st = lt_st_writer_meta_i64(w, "epochs", (int64_t)m->epochs)) ||
        (st = lt_st_writer_meta_i64(w, "train_samples", (int64_t)m->train_n)) ||
        (st = lt_st_writer_meta_i64(w, "batch", (int64_t)m->batch)) ||
        (st = lt_st_writer_meta_i64(w, "cd_k", (int64_t)m->cd_k)) ||
        (st = lt_st_writer_meta(w, "persistent", m->persistent ? "true" : "false")) ||
        (st = lt_st_writer_meta_f64(w, "learning_rate", m->lr)) ||
        (st = lt_st_writer_meta_f64(w, "reconstruction_error", m->recon_error)) ||
        (st = lt_st_writer_meta_i64(w, "seed", (int64_t)m->seed)) ||
        (st = lt_st_writer_tensor(w, "W", LT_ST_F32, 2, sw, m->w)) ||
        (st = lt_st_writer_tensor(w, "visible_bias", LT_ST_F32, 1, sv, m->b)) ||
        (st = lt_st_writer_tensor(w, "hidden_bias", LT_ST_F32, 1, sh, m->c)) ||
        (st = lt_st_writer_tensor(w, "data_mean", LT_ST_F32, 1, sv, m->data_mean)) ||
        (m->logvar && (st = lt_st_writer_tensor(w, "logvar", LT_ST_F32, 1, sv, m->logvar))))
        goto done;
    st = lt_st_writer_save(w, path);
done:
    lt_st_writer_free(w);
    return st;
}

lt_status lt_rbm_save(const lt_rbm *m, const char *path) { return write_rbm(m, NULL, path); }

/* Every value of a float tensor finite, else a message naming it. */
static lt_status finite_tensor(const float *x, size_t n, const char *path, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return lt_fail(LT_ERR_FORMAT, "%s: tensor %s holds a value that is not finite at %zu", path, name, i);
    return LT_OK;
}

lt_status lt_rbm_from_st(const lt_st_file *f, const char *path, lt_rbm **out)
{
    *out = NULL;
    int64_t nv, nh;
    lt_rbm_visible vis;
    lt_status st;
    const char *vn = lt_st_meta(f, "visible");
    if (!vn) return lt_fail(LT_ERR_FORMAT, "%s: no 'visible' in the metadata", path);
    if (lt_rbm_visible_parse(vn, &vis)) return lt_fail_prefix(LT_ERR_FORMAT, path);
    if ((st = lt_st_meta_i64(f, "n_visible", &nv)) || (st = lt_st_meta_i64(f, "n_hidden", &nh))) return st;
    if (nv < 1 || nh < 1 || nv > (1 << 24) || nh > (1 << 24) || nv * nh > ((int64_t)1 << 31))
        return lt_fail(LT_ERR_FORMAT, "%s: n_visible = %lld and n_hidden = %lld are not valid sizes", path,
                       (long long)nv, (long long)nh);
    lt_rbm *m;
    LT_CHECK(lt_rbm_create((size_t)nv, (size_t)nh, vis, &m));
    size_t sw[2] = {m->nv, m->nh}, sv[1] = {m->nv}, sh[1] = {m->nh};
    const void *pw, *pb, *pc, *pm, *pl = NULL;
    if ((st = lt_st_tensor(f, "W", LT_ST_F32, 2, sw, &pw)) || (st = lt_st_tensor(f, "visible_bias", LT_ST_F32, 1, sv, &pb)) ||
        (st = lt_st_tensor(f, "hidden_bias", LT_ST_F32, 1, sh, &pc)) ||
        (st = lt_st_tensor(f, "data_mean", LT_ST_F32, 1, sv, &pm)) ||
        (vis == LT_RBM_GAUSSIAN && (st = lt_st_tensor(f, "logvar", LT_ST_F32, 1, sv, &pl))))
        goto fail;
    memcpy(m->w, pw, m->nv * m->nh * sizeof(float));
    memcpy(m->b, pb, m->nv * sizeof(float));
    memcpy(m->c, pc, m->nh * sizeof(float));
    memcpy(m->data_mean, pm, m->nv * sizeof(float));
    if (pl) memcpy(m->logvar, pl, m->nv * sizeof(float));
    if ((st = finite_tensor(m->w, m->nv * m->nh, path, "W")) || (st = finite_tensor(m->b, m->nv, path, "visible_bias")) ||
        (st = finite_tensor(m->c, m->nh, path, "hidden_bias")) || (st = finite_tensor(m->data_mean, m->nv, path, "data_mean")) ||
        (pl && (st = finite_tensor(m->logvar, m->nv, path, "logvar"))))
        goto fail;
    if (vis == LT_RBM_BERNOULLI)
        for (size_t i = 0; i < m->nv; i++)
            if (!(m->data_mean[i] >= 0 && m->data_mean[i] <= 1)) {
                st = lt_fail(LT_ERR_FORMAT, "%s: data_mean[%zu] = %g is outside [0, 1]", path, i, (double)m->data_mean[i]);
                goto fail;
            }
    if (pl)
        for (size_t i = 0; i < m->nv; i++)
            if (m->logvar[i] < -30 || m->logvar[i] > 30) {
                st = lt_fail(LT_ERR_FORMAT, "%s: logvar[%zu] = %g is not a sane log variance", path, i, (double)m->logvar[i]);
                goto fail;
            }
    int64_t iv;
    double v;
    if (lt_st_meta_i64(f, "image_height", &iv) == LT_OK && iv > 0 && iv <= (1 << 16)) m->height = (size_t)iv;
    if (lt_st_meta_i64(f, "image_width", &iv) == LT_OK && iv > 0 && iv <= (1 << 16)) m->width = (size_t)iv;
    if (m->height * m->width != m->nv) m->height = m->width = 0;
    if (lt_st_meta_i64(f, "epochs", &iv) == LT_OK && iv >= 0) m->epochs = (size_t)iv;
    if (lt_st_meta_i64(f, "train_samples", &iv) == LT_OK && iv >= 0) m->train_n = (size_t)iv;
    if (lt_st_meta_i64(f, "batch", &iv) == LT_OK && iv >= 0) m->batch = (size_t)iv;
    if (lt_st_meta_i64(f, "cd_k", &iv) == LT_OK && iv >= 0) m->cd_k = (size_t)iv;
    if (lt_st_meta_i64(f, "seed", &iv) == LT_OK) m->seed = (uint64_t)iv;
    if (lt_st_meta_f64(f, "learning_rate", &v) == LT_OK) m->lr = v;
    if (lt_st_meta_f64(f, "reconstruction_error", &v) == LT_OK) m->recon_error = v;
    const char *p = lt_st_meta(f, "persistent"), *lv = lt_st_meta(f, "learn_variance");
    m->persistent = p && strcmp(p, "true") == 0;
    m->learn_var = vis == LT_RBM_GAUSSIAN && lv && strcmp(lv, "true") == 0;
    lt_clear_error();
    *out = m;
    return LT_OK;
fail:
    lt_rbm_free(m);
    return st;
}

lt_status lt_rbm_load(const char *path, lt_rbm **out)
{
    *out = NULL;
    lt_st_file *f;
    LT_CHECK(lt_st_load(path, &f));
    const char *kind = lt_st_meta(f, LT_META_KIND);
    lt_status st;
    if (!kind || strcmp(kind, "rbm") != 0)
        st = lt_fail(LT_ERR_FORMAT, "%s: not an RBM model file (kind '%s')", path, kind ? kind : "none");
    else
        st = lt_rbm_from_st(f, path, out);
    lt_st_free(f);
    return st;
}

/* ------------------------------------------------------------ data */

/* The binarisation named by --binarize: "none", "stochastic", "threshold"
 * (0.5) or a threshold in (0, 1); written back canonically into `canon`. */
lt_status lt_bm_parse_binarize(const char *s, double *thr, int *stoch, char canon[32])
{
    *thr = -1, *stoch = 0;
    if (!s || strcmp(s, "none") == 0) {
        snprintf(canon, 32, "none");
        return LT_OK;
    }
    if (strcmp(s, "stochastic") == 0) {
        *stoch = 1;
        snprintf(canon, 32, "stochastic");
        return LT_OK;
    }
    char *end;
    double t = strcmp(s, "threshold") == 0 ? 0.5 : strtod(s, &end);
    if (strcmp(s, "threshold") != 0 && (*end || end == s)) t = NAN;
    if (!(t > 0 && t < 1))
        return lt_fail(LT_ERR_INVALID, "--binarize: expected none, stochastic, threshold or a threshold in (0, 1), found '%s'", s);
    *thr = t;
    snprintf(canon, 32, "%.17g", t);
    return LT_OK;
}

/* The rows of a dataset as float32 for the model: uint8 pixels become
 * value / 255, then the binarisation applies (a threshold: v > t; stochastic:
 * v = 1 with probability v, a stream per row from `seed`). */
lt_status lt_bm_prepare(const lt_dataset *D, const char *binarize, uint64_t seed, size_t expect_cols, float **out,
                       size_t *n_out, size_t *d_out)
{
    *out = NULL;
    if (!D->x) return lt_fail(LT_ERR_INVALID, "a Boltzmann machine needs numeric rows (CSV, NPY or IDX), not symbols");
    const lt_array *X = D->x;
    size_t n = X->rows, d = X->cols;
    if (n == 0) return lt_fail(LT_ERR_INVALID, "no samples");
    if (expect_cols && d != expect_cols) {
        if (X->height && X->width)
            return lt_fail(LT_ERR_DIM, "the images are %zux%zu (%zu pixels) but the model has %zu visible units", X->height,
                           X->width, d, expect_cols);
        return lt_fail(LT_ERR_DIM, "data has %zu columns but the model has %zu visible units", d, expect_cols);
    }
    double thr;
    int stoch;
    char canon[32];
    LT_CHECK(lt_bm_parse_binarize(binarize, &thr, &stoch, canon));
    int ok = 1;
    float *x = lt_malloc(lt_mul_size(n, d, &ok) + 1, sizeof(float));
    if (!x || !ok) {
        free(x);
        return lt_fail(LT_ERR_NOMEM, "%zu x %zu values do not fit in memory", n, d);
    }
    for (size_t r = 0; r < n; r++) {
        lt_rng g;
        if (stoch) lt_rng_seed(&g, seed * 0x9e3779b97f4a7c15ULL + r + 1);
        for (size_t j = 0; j < d; j++) {
            size_t t = r * d + j;
            double v = X->dtype == LT_U8 ? ((const uint8_t *)X->data)[t] / 255.0
                       : X->dtype == LT_F32 ? (double)((const float *)X->data)[t]
                                            : ((const double *)X->data)[t];
            if (!isfinite(v)) {
                free(x);
                return lt_fail(LT_ERR_NUMERIC, "row %zu, column %zu: %s is not a number the model can use", r + 1, j + 1,
                               isnan(v) ? "NaN" : "infinity");
            }
            if (thr > 0) v = v > thr ? 1.0 : 0.0;
            else if (stoch) {
                if (v < 0 || v > 1) {
                    free(x);
                    return lt_fail(LT_ERR_INVALID, "row %zu, column %zu: %g is not a probability in [0, 1], which "
                                   "--binarize stochastic needs", r + 1, j + 1, v);
                }
                v = lt_rng_uniform(&g) < v ? 1.0 : 0.0;
            }
            x[t] = (float)v;
        }
    }
    *out = x, *n_out = n, *d_out = d;
    return LT_OK;
}

lt_status lt_bm_prepare_for(const lt_dataset *D, const lt_kv *opts, size_t n_opts, const char *model_binarize,
                            size_t expect_cols, float **out, size_t *n_out)
{
    const char *v = lt_kv_get(opts, n_opts, "binarize");
    size_t d;
    return lt_bm_prepare(D, v ? v : model_binarize, lt_rbm_opt_seed(opts, n_opts), expect_cols, out, n_out, &d);
}

lt_status lt_bm_meta_binarize(const lt_st_file *f, const char *path, char canon[32])
{
    const char *b = lt_st_meta(f, "binarize");
    double thr;
    int stoch;
    if (lt_bm_parse_binarize(b ? b : "none", &thr, &stoch, canon)) return lt_fail_prefix(LT_ERR_FORMAT, path);
    return LT_OK;
}

/* ------------------------------------------------------------ the family */

static const lt_option_spec rbm_options[] = {
    {"hidden", 0, LT_OPT_INT, "64", "H", "hidden units", LT_OPT_FIT},
    LT_BM_TRAIN_OPTIONS,
    {"method", 0, LT_OPT_STRING, "auto", "M",
     "score: exact (enumerate log Z), ais, pseudo (scikit-learn's pseudo-likelihood) or auto (exact when small)",
     LT_OPT_SCORE},
    {"ais-runs", 0, LT_OPT_INT, "100", "R", "score: AIS runs", LT_OPT_SCORE},
    {"ais-betas", 0, LT_OPT_INT, "10000", "K", "score: AIS intermediate distributions", LT_OPT_SCORE},
    LT_BM_SAMPLE_OPTIONS,
};

uint64_t lt_rbm_opt_seed(const lt_kv *opts, size_t n)
{
    size_t s = 0;
    if (lt_kv_size(opts, n, "seed", 0, &s) != LT_OK) lt_clear_error();
    return (uint64_t)s;
}

lt_status lt_rbm_options_from_kv(const lt_kv *opts, size_t n_opts, const lt_fit_ctl *ctl, lt_rbm_options *out)
{
    lt_rbm_options o;
    lt_rbm_options_default(&o);
    const char *v;
    lt_status st;
    if ((v = lt_kv_get(opts, n_opts, "visible")) && (st = lt_rbm_visible_parse(v, &o.visible)))
        return lt_fail_prefix(st, "--visible");
    if (o.visible == LT_RBM_GAUSSIAN) o.lr = 0.01;
    double mom = o.momentum;
    if ((st = lt_kv_size(opts, n_opts, "cd", 1, &o.cd_k)) ||
        (st = lt_kv_size(opts, n_opts, "epochs", 10, &o.epochs)) || (st = lt_kv_size(opts, n_opts, "batch", 20, &o.batch)) ||
        (st = lt_kv_real(opts, n_opts, "lr", o.lr, &o.lr)) || (st = lt_kv_real(opts, n_opts, "momentum", mom, &o.momentum)) ||
        (st = lt_kv_real(opts, n_opts, "weight-decay", o.weight_decay, &o.weight_decay)) ||
        (st = lt_kv_real(opts, n_opts, "sparsity", 0, &o.sparsity_target)) ||
        (st = lt_kv_real(opts, n_opts, "sparsity-cost", o.sparsity_cost, &o.sparsity_cost)) ||
        (st = lt_kv_real(opts, n_opts, "variance", 0, &o.init_var)))
        return st;
    if (lt_kv_get(opts, n_opts, "variance") && !(o.init_var > 0))
        return lt_fail(LT_ERR_INVALID, "--variance: must be a positive number");
    if (o.momentum < o.initial_momentum) o.initial_momentum = o.momentum;
    o.persistent = lt_kv_flag(opts, n_opts, "pcd");
    /* persistent chains cannot follow a model pushed by momentum (they fall
     * behind and the fit oscillates), so PCD runs without it unless asked,
     * as scikit-learn's BernoulliRBM does */
    if (o.persistent && !lt_kv_get(opts, n_opts, "momentum")) o.momentum = o.initial_momentum = 0;
    o.learn_var = lt_kv_flag(opts, n_opts, "learn-variance");
    if ((o.learn_var || lt_kv_get(opts, n_opts, "variance")) && o.visible != LT_RBM_GAUSSIAN)
        return lt_fail(LT_ERR_INVALID, "--learn-variance and --variance are for Gaussian visible units (--visible gaussian)");
    if ((v = lt_kv_get(opts, n_opts, "schedule"))) {
        if (strcmp(v, "constant") == 0) o.schedule = LT_RBM_LR_CONSTANT;
        else if (strcmp(v, "linear") == 0) o.schedule = LT_RBM_LR_LINEAR;
        else return lt_fail(LT_ERR_INVALID, "--schedule: expected constant or linear, found '%s'", v);
    }
    if (ctl) {
        o.seed = ctl->seed, o.threads = ctl->threads;
        o.progress = ctl->progress, o.progress_ud = ctl->progress_ud;
    }
    *out = o;
    return LT_OK;
}

static lt_status rbm_fit(const lt_dataset *D, const lt_kv *opts, size_t n_opts, const lt_fit_ctl *ctl, lt_report *rep,
                         void **out)
{
    lt_rbm_options o;
    lt_status st;
    LT_CHECK(lt_rbm_options_from_kv(opts, n_opts, ctl, &o));
    LT_CHECK(lt_kv_size(opts, n_opts, "hidden", 64, &o.n_hidden));
    if (o.n_hidden < 1) return lt_fail(LT_ERR_INVALID, "--hidden: at least one hidden unit");
    const char *data = ctl && ctl->data_path ? ctl->data_path : "data";
    rbm_model *M = lt_calloc(1, sizeof *M);
    if (!M) return LT_ERR_NOMEM;
    float *x = NULL;
    size_t n, d;
    double thr;
    int stoch;
    if ((st = lt_bm_parse_binarize(lt_kv_get(opts, n_opts, "binarize"), &thr, &stoch, M->binarize))) goto fail;
    if ((st = lt_bm_prepare(D, M->binarize, o.seed, 0, &x, &n, &d))) {
        lt_fail_prefix(st, data);
        goto fail;
    }
    if ((st = lt_rbm_fit(&o, x, n, d, &M->rbm))) {
        if (st != LT_ERR_NOMEM && strncmp(lt_last_error(), "--", 2) != 0) lt_fail_prefix(st, data);
        goto fail;
    }
    if (D->x->height && D->x->width && D->x->height * D->x->width == d)
        M->rbm->height = D->x->height, M->rbm->width = D->x->width;
    lt_rbm *m = M->rbm;
    if ((st = lt_report_str(rep, "family", "rbm")) || (st = lt_report_str(rep, "visible", lt_rbm_visible_name(m->visible))) ||
        (st = lt_report_int(rep, "n_visible", (int64_t)m->nv)) || (st = lt_report_int(rep, "n_hidden", (int64_t)m->nh)) ||
        (st = lt_report_int(rep, "n_samples", (int64_t)n)) || (st = lt_report_int(rep, "epochs", (int64_t)m->epochs)) ||
        (st = lt_report_str(rep, "training", o.persistent ? "pcd" : "cd")) ||
        (st = lt_report_int(rep, "cd_k", (int64_t)o.cd_k)) || (st = lt_report_int(rep, "batch", (int64_t)o.batch)) ||
        (st = lt_report_num(rep, "learning_rate", o.lr)) || (st = lt_report_str(rep, "binarize", M->binarize)) ||
        (st = lt_report_num(rep, "reconstruction_error", m->recon_error)))
        goto fail;
    if (m->visible == LT_RBM_BERNOULLI) {
        size_t mon = n < 10000 ? n : 10000;
        double *pl = lt_malloc(mon, sizeof(double)), mean, se;
        if (!pl) {
            st = LT_ERR_NOMEM;
            goto fail;
        }
        st = lt_rbm_pseudo_likelihood(m, x, mon, o.seed, o.threads, pl);
        if (st == LT_OK) {
            lt_mean_stderr(pl, mon, &mean, &se);
            st = lt_report_num(rep, "pseudo_log_likelihood", mean);
        }
        free(pl);
        if (st) goto fail;
    }
    free(x);
    *out = M;
    return LT_OK;
fail:
    free(x);
    rbm_model_free(M);
    return st;
}

static lt_status rbm_score(const void *impl, const lt_dataset *D, const lt_kv *opts, size_t n_opts, int threads,
                           double *logp, lt_score *sum)
{
    const rbm_model *M = impl;
    const lt_rbm *m = M->rbm;
    uint64_t seed = lt_rbm_opt_seed(opts, n_opts);
    const char *method = lt_kv_get(opts, n_opts, "method");
    if (!method) method = "auto";
    size_t runs, betas;
    LT_CHECK(lt_kv_size(opts, n_opts, "ais-runs", 100, &runs));
    LT_CHECK(lt_kv_size(opts, n_opts, "ais-betas", 10000, &betas));
    if (strcmp(method, "auto") && strcmp(method, "exact") && strcmp(method, "ais") && strcmp(method, "pseudo"))
        return lt_fail(LT_ERR_INVALID, "--method: expected auto, exact, ais or pseudo, found '%s'", method);
    if (runs < 2) return lt_fail(LT_ERR_INVALID, "--ais-runs: at least 2");
    if (betas < 1) return lt_fail(LT_ERR_INVALID, "--ais-betas: at least 1");
    size_t bits = m->visible == LT_RBM_GAUSSIAN || m->nh <= m->nv ? m->nh : m->nv;
    if (strcmp(method, "auto") == 0) method = bits <= 20 ? "exact" : "ais";
    float *x = NULL;
    size_t n;
    LT_CHECK(lt_bm_prepare_for(D, opts, n_opts, M->binarize, m->nv, &x, &n));
    double *lp = logp ? logp : lt_malloc(n, sizeof(double));
    lt_status st = LT_OK;
    if (!lp) {
        free(x);
        return LT_ERR_NOMEM;
    }
    double log_z = 0, se_z = 0;
    lt_score s = {0};
    s.unit = "sample";
    if (strcmp(method, "pseudo") == 0) {
        st = lt_rbm_pseudo_likelihood(m, x, n, seed, threads, lp);
        s.kind = LT_SCORE_ESTIMATE;
        s.method = "pseudo-likelihood as scikit-learn's BernoulliRBM.score_samples (one random unit per sample): "
                   "not a log-likelihood";
    } else {
        if (strcmp(method, "exact") == 0) {
            st = lt_rbm_log_z_exact(m, threads, &log_z);
            s.kind = LT_SCORE_EXACT;
            s.method = "exact: free energy and log Z by enumeration";
        } else {
            lt_ais_options ao;
            lt_ais_options_default(&ao);
            ao.runs = runs, ao.betas = betas, ao.seed = seed, ao.threads = threads;
            lt_ais_result r;
            st = lt_rbm_ais(m, &ao, &r);
            log_z = r.log_z, se_z = r.log_z_stderr;
            s.kind = LT_SCORE_ESTIMATE;
            s.method = "free energy and log Z by annealed importance sampling (Salakhutdinov and Murray 2008); "
                       "the standard error includes log Z's";
        }
        if (st == LT_OK) st = lt_rbm_log_prob(m, x, n, log_z, threads, lp);
    }
    if (st == LT_OK && sum) {
        lt_mean_stderr(lp, n, &s.mean, &s.stderr_mean);
        s.stderr_mean = sqrt(s.stderr_mean * s.stderr_mean + se_z * se_z);
        s.total = s.mean * (double)n;
        s.count = n;
        *sum = s;
    }
    if (lp != logp) free(lp);
    free(x);
    return st;
}

static lt_status rbm_sample(const void *impl, size_t n, uint64_t seed, const lt_kv *opts, size_t n_opts,
                            lt_dataset **out)
{
    const rbm_model *M = impl;
    const lt_rbm *m = M->rbm;
    size_t steps;
    LT_CHECK(lt_kv_size(opts, n_opts, "gibbs-steps", 1000, &steps));
    if (steps < 1) return lt_fail(LT_ERR_INVALID, "--gibbs-steps: at least 1");
    int mean = lt_kv_flag(opts, n_opts, "mean");
    lt_array *a;
    LT_CHECK(lt_array_create(n, m->nv, LT_F32, &a));
    lt_status st = lt_rbm_sample(m, n, steps, mean, seed, 0, a->data);
    if (st) {
        lt_array_free(a);
        return st;
    }
    a->height = m->height, a->width = m->width;
    return lt_dataset_from_array(a, out);
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

lt_status lt_rbm_write_samples(const lt_rbm *m, const lt_dataset *D, const char *path)
{
    if (!ends_with(path, ".png") && !ends_with(path, ".PNG")) {
        if (lt_format_from_path(path) != LT_FMT_CSV && lt_format_from_path(path) != LT_FMT_NPY)
            return lt_fail(LT_ERR_INVALID, "%s: samples are written as .csv, .npy or .png", path);
        return lt_data_write(path, D->x);
    }
    size_t h = m->height, w = m->width;
    if (!h) {
        size_t s = (size_t)llround(sqrt((double)m->nv));
        if (s * s == m->nv) h = w = s;
    }
    if (!h)
        return lt_fail(LT_ERR_INVALID, "%s: the model's %zu visible units have no image shape; write .csv or .npy",
                       path, m->nv);
    const lt_array *X = D->x;
    float *img = lt_malloc(X->rows * X->cols + 1, sizeof(float));
    if (!img) return LT_ERR_NOMEM;
    const float *src = X->data;
    for (size_t t = 0; t < X->rows * X->cols; t++) {
        float v = src[t];
        if (m->visible == LT_RBM_GAUSSIAN) { /* shown on the data's scale, a feature at a time */
            size_t i = t % X->cols;
            float sd = expf(0.5f * m->logvar[i]);
            v = 0.5f + (v - m->data_mean[i]) / (6.0f * (sd > 0 ? sd : 1.0f));
        }
        img[t] = v;
    }
    lt_status st = lt_png_write_gray_grid(path, img, X->rows, h, w, 0);
    free(img);
    return st;
}

/* Samples as .csv/.npy rows, or a PNG grid of images. */
static lt_status rbm_write(const void *impl, const lt_dataset *D, const char *path)
{
    const rbm_model *M = impl;
    return lt_rbm_write_samples(M->rbm, D, path);
}

static lt_status rbm_infer(const void *impl, const lt_dataset *D, const lt_kv *opts, size_t n_opts, int threads,
                           lt_array **out, char ***columns)
{
    const rbm_model *M = impl;
    const lt_rbm *m = M->rbm;
    float *x = NULL;
    size_t n;
    LT_CHECK(lt_bm_prepare_for(D, opts, n_opts, M->binarize, m->nv, &x, &n));
    lt_array *a = NULL;
    char **names = NULL;
    lt_status st;
    if ((st = lt_array_create(n, m->nh, LT_F32, &a)) || (st = lt_rbm_hidden_probs(m, x, n, threads, a->data))) goto fail;
    if (columns) {
        names = lt_calloc(m->nh + 1, sizeof(char *));
        if (!names) {
            st = LT_ERR_NOMEM;
            goto fail;
        }
        for (size_t j = 0; j < m->nh; j++) {
            char buf[32];
            snprintf(buf, sizeof buf, "h_%zu", j);
            if (!(names[j] = strdup(buf))) {
                st = lt_fail(LT_ERR_NOMEM, "out of memory");
                goto fail;
            }
        }
        *columns = names;
    }
    free(x);
    *out = a;
    return LT_OK;
fail:
    lt_strings_free(names);
    lt_array_free(a);
    free(x);
    return st;
}

static lt_status rbm_save_impl(const void *impl, const char *path)
{
    const rbm_model *M = impl;
    return write_rbm(M->rbm, M->binarize, path);
}

static lt_status rbm_load_impl(const lt_st_file *f, const char *path, void **out)
{
    rbm_model *M = lt_calloc(1, sizeof *M);
    if (!M) return LT_ERR_NOMEM;
    lt_status st = lt_rbm_from_st(f, path, &M->rbm);
    if (st) {
        free(M);
        return st;
    }
    if ((st = lt_bm_meta_binarize(f, path, M->binarize))) {
        rbm_model_free(M);
        return st;
    }
    *out = M;
    return LT_OK;
}

static lt_status rbm_describe(const void *impl, lt_report *r)
{
    const rbm_model *M = impl;
    const lt_rbm *m = M->rbm;
    LT_CHECK(lt_report_str(r, "visible", lt_rbm_visible_name(m->visible)));
    LT_CHECK(lt_report_int(r, "n_visible", (int64_t)m->nv));
    LT_CHECK(lt_report_int(r, "n_hidden", (int64_t)m->nh));
    LT_CHECK(lt_report_int(r, "n_parameters", (int64_t)(m->nv * m->nh + m->nv + m->nh + (m->learn_var ? m->nv : 0))));
    if (m->height) {
        char buf[64];
        snprintf(buf, sizeof buf, "%zux%zu", m->height, m->width);
        LT_CHECK(lt_report_str(r, "image_shape", buf));
    }
    LT_CHECK(lt_report_str(r, "binarize", M->binarize));
    if (m->visible == LT_RBM_GAUSSIAN) LT_CHECK(lt_report_bool(r, "learn_variance", m->learn_var));
    LT_CHECK(lt_report_str(r, "training", m->persistent ? "pcd" : "cd"));
    LT_CHECK(lt_report_int(r, "cd_k", (int64_t)m->cd_k));
    LT_CHECK(lt_report_int(r, "epochs", (int64_t)m->epochs));
    LT_CHECK(lt_report_int(r, "batch", (int64_t)m->batch));
    LT_CHECK(lt_report_num(r, "learning_rate", m->lr));
    LT_CHECK(lt_report_int(r, "seed", (int64_t)m->seed));
    LT_CHECK(lt_report_int(r, "train_samples", (int64_t)m->train_n));
    LT_CHECK(lt_report_num(r, "reconstruction_error", m->recon_error));
    double ss = 0;
    for (size_t t = 0; t < m->nv * m->nh; t++) ss += (double)m->w[t] * m->w[t];
    LT_CHECK(lt_report_num(r, "weight_rms", sqrt(ss / (double)(m->nv * m->nh))));
    return LT_OK;
}

const lt_family lt_rbm_family = {
    .name = "rbm",
    .summary = "restricted Boltzmann machine (CD-k or PCD; Bernoulli or Gaussian visible units; AIS scores)",
    .options = rbm_options,
    .n_options = sizeof rbm_options / sizeof *rbm_options,
    .fit = rbm_fit,
    .score = rbm_score,
    .sample = rbm_sample,
    .write = rbm_write,
    .infer = rbm_infer,
    .save = rbm_save_impl,
    .load = rbm_load_impl,
    .describe = rbm_describe,
    .free = rbm_model_free,
};
