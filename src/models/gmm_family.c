/* The Gaussian mixture as a family of the generic model table: options,
 * K selection by BIC/AIC, model files, and the generic verbs. */
#include "latent/gmm.h"
#include "latent/io.h"

#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ model files */

static const char *init_name(lt_gmm_init i)
{
    return i == LT_GMM_INIT_RANDOM ? "random" : i == LT_GMM_INIT_MODEL ? "model" : "kmeans++";
}

/* The covariances tensor's shape, as scikit-learn's covariances_; returns
 * the number of dimensions. */
static size_t cov_shape(lt_cov_type cov, size_t k, size_t d, size_t shape[3])
{
    switch (cov) {
    case LT_COV_FULL: shape[0] = k, shape[1] = d, shape[2] = d; return 3;
    case LT_COV_DIAG: shape[0] = k, shape[1] = d; return 2;
    case LT_COV_SPHERICAL: shape[0] = k; return 1;
    case LT_COV_TIED: shape[0] = d, shape[1] = d; return 2;
    }
    return 0;
}

lt_status lt_gmm_save(const lt_gmm *m, const char *path)
{
    lt_st_writer *w;
    LT_CHECK(lt_st_writer_create(&w));
    lt_status st;
    size_t k = m->k, d = m->d;
    size_t sw[1] = {k}, sm[2] = {k, d}, sc[3];
    size_t nc = cov_shape(m->cov, k, d, sc);
    if ((st = lt_st_writer_meta(w, LT_META_FORMAT, LT_FORMAT_VERSION)) ||
        (st = lt_st_writer_meta(w, LT_META_KIND, "gmm")) ||
        (st = lt_st_writer_meta(w, LT_META_VERSION, lt_version())) ||
        (st = lt_st_writer_meta(w, "covariance_type", lt_cov_type_name(m->cov))) ||
        (st = lt_st_writer_meta_i64(w, "n_components", (int64_t)k)) ||
        (st = lt_st_writer_meta_i64(w, "n_features", (int64_t)d)) ||
        (st = lt_st_writer_meta_f64(w, "reg_covar", m->reg_covar)) ||
        (st = lt_st_writer_meta_f64(w, "tol", m->tol)) ||
        (st = lt_st_writer_meta_i64(w, "max_iter", (int64_t)m->max_iter)) ||
        (st = lt_st_writer_meta_i64(w, "n_init", (int64_t)m->n_init)) ||
        (st = lt_st_writer_meta(w, "init", init_name(m->init))) ||
        (st = lt_st_writer_meta_i64(w, "seed", (int64_t)m->seed)) ||
        (st = lt_st_writer_meta(w, "converged", m->converged ? "true" : "false")) ||
        (st = lt_st_writer_meta_i64(w, "n_iter", (int64_t)m->n_iter)) ||
        (st = lt_st_writer_meta_i64(w, "best_init", (int64_t)m->best_init)) ||
        (st = lt_st_writer_meta_i64(w, "n_repaired", (int64_t)m->n_repaired)) ||
        (st = lt_st_writer_meta_f64(w, "lower_bound", m->lower_bound)) ||
        (st = lt_st_writer_meta_i64(w, "train_samples", (int64_t)m->train_n)) ||
        (st = lt_st_writer_meta_f64(w, "train_weight", m->train_weight)) ||
        (st = lt_st_writer_tensor(w, "weights", LT_ST_F64, 1, sw, m->weights)) ||
        (st = lt_st_writer_tensor(w, "means", LT_ST_F64, 2, sm, m->means)) ||
        (st = lt_st_writer_tensor(w, "covariances", LT_ST_F64, nc, sc, m->covs)))
        goto done;
    st = lt_st_writer_save(w, path);
done:
    lt_st_writer_free(w);
    return st;
}

lt_status lt_gmm_from_st(const lt_st_file *f, const char *path, lt_gmm **out)
{
    *out = NULL;
    lt_status st;
    int64_t k, d;
    lt_cov_type cov;
    const char *ct = lt_st_meta(f, "covariance_type");
    if (!ct) return lt_fail(LT_ERR_FORMAT, "%s: no covariance_type in the metadata", path);
    if (lt_cov_type_parse(ct, &cov) != LT_OK) return lt_fail_prefix(LT_ERR_FORMAT, path);
    if ((st = lt_st_meta_i64(f, "n_components", &k)) || (st = lt_st_meta_i64(f, "n_features", &d))) return st;
    if (k < 1 || d < 1 || k > (1 << 24) || d > (1 << 24))
        return lt_fail(LT_ERR_FORMAT, "%s: n_components = %lld and n_features = %lld are not valid sizes", path,
                       (long long)k, (long long)d);
    lt_gmm *m;
    LT_CHECK(lt_gmm_create((size_t)k, (size_t)d, cov, &m));
    size_t sw[1] = {m->k}, sm[2] = {m->k, m->d}, sc[3];
    size_t nc = cov_shape(cov, m->k, m->d, sc);
    const void *pw, *pm, *pc;
    if ((st = lt_st_tensor(f, "weights", LT_ST_F64, 1, sw, &pw)) ||
        (st = lt_st_tensor(f, "means", LT_ST_F64, 2, sm, &pm)) ||
        (st = lt_st_tensor(f, "covariances", LT_ST_F64, nc, sc, &pc)))
        goto fail;
    memcpy(m->weights, pw, m->k * sizeof(double));
    memcpy(m->means, pm, m->k * m->d * sizeof(double));
    size_t cn = 1;
    for (size_t i = 0; i < nc; i++) cn *= sc[i];
    memcpy(m->covs, pc, cn * sizeof(double));
    if ((st = lt_gmm_prepare(m)) != LT_OK) {
        lt_fail_prefix(st, path);
        goto fail;
    }
    /* The training summary is informative: absent or odd values are not fatal. */
    double v;
    int64_t iv;
    if (lt_st_meta_f64(f, "reg_covar", &v) == LT_OK) m->reg_covar = v;
    if (lt_st_meta_f64(f, "tol", &v) == LT_OK) m->tol = v;
    if (lt_st_meta_f64(f, "lower_bound", &v) == LT_OK) m->lower_bound = v;
    if (lt_st_meta_f64(f, "train_weight", &v) == LT_OK) m->train_weight = v;
    if (lt_st_meta_i64(f, "max_iter", &iv) == LT_OK && iv >= 0) m->max_iter = (size_t)iv;
    if (lt_st_meta_i64(f, "n_init", &iv) == LT_OK && iv >= 0) m->n_init = (size_t)iv;
    if (lt_st_meta_i64(f, "n_iter", &iv) == LT_OK && iv >= 0) m->n_iter = (size_t)iv;
    if (lt_st_meta_i64(f, "best_init", &iv) == LT_OK && iv >= 0) m->best_init = (size_t)iv;
    if (lt_st_meta_i64(f, "n_repaired", &iv) == LT_OK && iv >= 0) m->n_repaired = (size_t)iv;
    if (lt_st_meta_i64(f, "train_samples", &iv) == LT_OK && iv >= 0) m->train_n = (size_t)iv;
    if (lt_st_meta_i64(f, "seed", &iv) == LT_OK) m->seed = (uint64_t)iv;
    const char *cv = lt_st_meta(f, "converged"), *in = lt_st_meta(f, "init");
    m->converged = cv && strcmp(cv, "true") == 0;
    m->init = in && strcmp(in, "random") == 0 ? LT_GMM_INIT_RANDOM : in && strcmp(in, "model") == 0 ? LT_GMM_INIT_MODEL : LT_GMM_INIT_KMEANSPP;
    lt_clear_error();
    *out = m;
    return LT_OK;
fail:
    lt_gmm_free(m);
    return st;
}

lt_status lt_gmm_load(const char *path, lt_gmm **out)
{
    *out = NULL;
    lt_st_file *f;
    LT_CHECK(lt_st_load(path, &f));
    const char *kind = lt_st_meta(f, LT_META_KIND);
    lt_status st;
    if (!kind || strcmp(kind, "gmm") != 0)
        st = lt_fail(LT_ERR_FORMAT, "%s: not a Gaussian mixture model file (kind '%s')", path, kind ? kind : "none");
    else
        st = lt_gmm_from_st(f, path, out);
    lt_st_free(f);
    return st;
}

/* ------------------------------------------------------------ the family */

static const lt_option_spec gmm_options[] = {
    {"k", 'k', LT_OPT_STRING, "1", "K|K1..K2", "components; a range fits each and keeps the best by --criterion", LT_OPT_FIT},
    {"cov", 0, LT_OPT_STRING, "full", "TYPE", "covariance: full, diag, spherical or tied", LT_OPT_FIT},
    {"init", 0, LT_OPT_STRING, "kmeans++", "HOW", "kmeans++, random, or a model file to start from", LT_OPT_FIT},
    {"n-init", 0, LT_OPT_INT, "1", "N", "EM runs from different initialisations; the best is kept", LT_OPT_FIT},
    {"tol", 0, LT_OPT_REAL, "1e-3", "T", "stop when the log-likelihood per sample gains less than T", LT_OPT_FIT},
    {"max-iter", 0, LT_OPT_INT, "100", "M", "EM iterations at most", LT_OPT_FIT},
    {"reg-covar", 0, LT_OPT_REAL, "1e-6", "R", "added to every variance, keeping covariances positive definite", LT_OPT_FIT},
    {"kmeans-iter", 0, LT_OPT_INT, "100", "M", "k-means iterations at most in the k-means++ initialisation", LT_OPT_FIT},
    {"criterion", 0, LT_OPT_STRING, "bic", "C", "bic or aic: how a range of K is decided", LT_OPT_FIT},
    {"sample-weights", 0, LT_OPT_STRING, NULL, "FILE", "one non-negative weight per sample (CSV or NPY column)", LT_OPT_FIT},
};

static void gmm_free_impl(void *m) { lt_gmm_free(m); }

/* The numeric rows of a dataset, or a clear error. */
static lt_status rows_of(const lt_dataset *D, const lt_array **X)
{
    if (!D->x) return lt_fail(LT_ERR_INVALID, "a Gaussian mixture needs numeric rows (CSV, NPY or IDX), not symbols");
    *X = D->x;
    return LT_OK;
}

static lt_status gmm_fit(const lt_dataset *D, const lt_kv *opts, size_t n_opts, const lt_fit_ctl *ctl, lt_report *rep,
                         void **out)
{
    const lt_array *X = NULL;
    LT_CHECK(rows_of(D, &X));
    lt_gmm_options o;
    lt_gmm_options_default(&o);
    lt_status st = LT_OK;
    lt_array *Xd = NULL, *W = NULL, *Wd = NULL;
    lt_gmm *init_model = NULL, *best = NULL, *cur = NULL;
    const char *data = ctl && ctl->data_path ? ctl->data_path : "data";
    size_t klo = 1, khi = 1;
    const char *v;
    const char *kv_k = lt_kv_get(opts, n_opts, "k");
    if ((st = lt_parse_range("k", "components", kv_k ? kv_k : "1", &klo, &khi))) return st;
    if ((v = lt_kv_get(opts, n_opts, "cov")) && (st = lt_cov_type_parse(v, &o.cov))) return lt_fail_prefix(st, "--cov");
    if ((st = lt_kv_size(opts, n_opts, "n-init", 1, &o.n_init)) || (st = lt_kv_real(opts, n_opts, "tol", 1e-3, &o.tol)) ||
        (st = lt_kv_size(opts, n_opts, "max-iter", 100, &o.max_iter)) ||
        (st = lt_kv_real(opts, n_opts, "reg-covar", 1e-6, &o.reg_covar)) ||
        (st = lt_kv_size(opts, n_opts, "kmeans-iter", 100, &o.kmeans_iter)))
        return st;
    if (o.n_init < 1) return lt_fail(LT_ERR_INVALID, "--n-init: must be at least 1");
    if (o.tol < 0) return lt_fail(LT_ERR_INVALID, "--tol: must be >= 0");
    if (o.reg_covar < 0) return lt_fail(LT_ERR_INVALID, "--reg-covar: must be >= 0");
    const char *crit = lt_kv_get(opts, n_opts, "criterion");
    int use_aic = 0;
    if (crit && strcmp(crit, "aic") == 0) use_aic = 1;
    else if (crit && strcmp(crit, "bic") != 0) return lt_fail(LT_ERR_INVALID, "--criterion: expected bic or aic, found '%s'", crit);
    if (ctl) {
        o.seed = ctl->seed;
        o.threads = ctl->threads;
        o.progress = ctl->progress;
        o.progress_ud = ctl->progress_ud;
    }
    if ((v = lt_kv_get(opts, n_opts, "init"))) {
        if (strcmp(v, "kmeans++") == 0) o.init = LT_GMM_INIT_KMEANSPP;
        else if (strcmp(v, "random") == 0) o.init = LT_GMM_INIT_RANDOM;
        else {
            if ((st = lt_gmm_load(v, &init_model))) return lt_fail_prefix(st, "--init");
            o.init = LT_GMM_INIT_MODEL;
            o.init_model = init_model;
            if (klo != khi || (lt_kv_get(opts, n_opts, "k") && klo != init_model->k)) {
                st = lt_fail(LT_ERR_INVALID, "--init %s: the model has k = %zu; give no --k or that one", v, init_model->k);
                goto done;
            }
            klo = khi = init_model->k;
            if (lt_kv_get(opts, n_opts, "cov") && o.cov != init_model->cov) {
                st = lt_fail(LT_ERR_INVALID, "--init %s: the model has %s covariance, not %s", v,
                             lt_cov_type_name(init_model->cov), lt_cov_type_name(o.cov));
                goto done;
            }
            o.cov = init_model->cov;
        }
    }
    if ((st = lt_array_to_f64(X, 1, &Xd))) {
        lt_fail_prefix(st, data);
        goto done;
    }
    if (Xd->rows == 0) {
        st = lt_fail(LT_ERR_INVALID, "%s: no samples", data);
        goto done;
    }
    if ((v = lt_kv_get(opts, n_opts, "sample-weights"))) {
        if ((st = lt_data_read(v, LT_FMT_AUTO, &W)) || (st = lt_array_to_f64(W, 1, &Wd))) {
            if (st == LT_ERR_NUMERIC) lt_fail_prefix(st, v);
            goto done;
        }
        if (Wd->cols != 1 || Wd->rows != Xd->rows) {
            st = lt_fail(LT_ERR_DIM, "%s: expected one column of %zu weights (one per sample), found %zu x %zu", v,
                         Xd->rows, Wd->rows, Wd->cols);
            goto done;
        }
    }
    const double *w = Wd ? Wd->data : NULL;
    size_t n = Xd->rows, d = Xd->cols;
    static const char *cols[] = {"k", "loglik", "n_params", "bic", "aic", "n_iter", "converged"};
    if (klo != khi && (st = lt_report_table(rep, "selection", "model selection (log-likelihood in nats per sample)", 7, cols)))
        goto done;
    double best_crit = INFINITY, best_bic = NAN, best_aic = NAN;
    for (size_t k = klo; k <= khi; k++) {
        o.k = k;
        if ((st = lt_gmm_fit(&o, Xd->data, n, d, w, &cur))) {
            if (klo != khi) {
                char pre[64];
                snprintf(pre, sizeof pre, "k = %zu", k);
                lt_fail_prefix(st, pre);
            }
            goto done;
        }
        double bic, aic;
        if ((st = lt_gmm_bic(cur, Xd->data, n, o.threads, &bic, &aic))) goto done;
        double crit_v = use_aic ? aic : bic;
        if (klo != khi) {
            double ll = -(bic - (double)lt_gmm_n_parameters(cur) * log((double)n)) / 2.0 / (double)n;
            double row[7] = {(double)k, ll, (double)lt_gmm_n_parameters(cur), bic, aic, (double)cur->n_iter, cur->converged};
            if ((st = lt_report_table_row(rep, "selection", row))) goto done;
        }
        if (crit_v < best_crit) {
            best_crit = crit_v;
            lt_gmm_free(best);
            best = cur;
            best_bic = bic, best_aic = aic;
        } else {
            lt_gmm_free(cur);
        }
        cur = NULL;
    }
    if ((st = lt_report_str(rep, "family", "gmm")) || (st = lt_report_int(rep, "k", (int64_t)best->k)) ||
        (st = lt_report_str(rep, "covariance_type", lt_cov_type_name(best->cov))) ||
        (st = lt_report_int(rep, "n_samples", (int64_t)n)) || (st = lt_report_int(rep, "n_features", (int64_t)d)) ||
        (st = lt_report_num(rep, "log_likelihood", best->lower_bound)) ||
        (st = lt_report_int(rep, "n_parameters", (int64_t)lt_gmm_n_parameters(best))) ||
        (st = lt_report_int(rep, "n_iter", (int64_t)best->n_iter)) ||
        (st = lt_report_bool(rep, "converged", best->converged)) ||
        (st = lt_report_int(rep, "best_init", (int64_t)best->best_init)) ||
        (st = lt_report_int(rep, "n_repaired", (int64_t)best->n_repaired)) ||
        (st = lt_report_num(rep, "bic", best_bic)) || (st = lt_report_num(rep, "aic", best_aic)))
        goto done;
    if (klo != khi && (st = lt_report_str(rep, "selected_by", use_aic ? "aic" : "bic"))) goto done;
    *out = best;
    best = NULL;
done:
    lt_gmm_free(best);
    lt_gmm_free(cur);
    lt_gmm_free(init_model);
    lt_array_free(Xd);
    lt_array_free(W);
    lt_array_free(Wd);
    return st;
}

/* The data as float64 with the model's dimension, or a clear error. */
static lt_status model_data(const lt_gmm *m, const lt_array *X, lt_array **out)
{
    if (X->cols != m->d)
        return lt_fail(LT_ERR_DIM, "data has %zu columns but the model was fitted on %zu", X->cols, m->d);
    return lt_array_to_f64(X, 1, out);
}

static lt_status gmm_score(const void *impl, const lt_dataset *D, const lt_kv *opts, size_t n_opts, int threads,
                           double *logp, lt_score *sum)
{
    (void)opts, (void)n_opts;
    const lt_gmm *m = impl;
    const lt_array *X = NULL;
    LT_CHECK(rows_of(D, &X));
    lt_array *Xd;
    LT_CHECK(model_data(m, X, &Xd));
    size_t n = Xd->rows;
    lt_status st = LT_OK;
    double *lp = logp ? logp : lt_malloc(n ? n : 1, sizeof(double));
    if (!lp) {
        lt_array_free(Xd);
        return LT_ERR_NOMEM;
    }
    if (n == 0) st = lt_fail(LT_ERR_INVALID, "no samples to score");
    if (st == LT_OK) st = lt_gmm_score_samples(m, Xd->data, n, threads, lp);
    if (st == LT_OK && sum) {
        lt_mean_stderr(lp, n, &sum->mean, &sum->stderr_mean);
        sum->total = sum->mean * (double)n;
        sum->count = n;
        sum->kind = LT_SCORE_EXACT;
        sum->unit = "sample";
        sum->method = "exact log p(x) by log-sum-exp over the components";
    }
    if (lp != logp) free(lp);
    lt_array_free(Xd);
    return st;
}

static lt_status gmm_sample(const void *impl, size_t n, uint64_t seed, const lt_kv *opts, size_t n_opts,
                            lt_dataset **out)
{
    (void)opts, (void)n_opts;
    const lt_gmm *m = impl;
    lt_array *a;
    LT_CHECK(lt_array_create(n, m->d, LT_F64, &a));
    lt_status st = lt_gmm_sample(m, n, seed, a->data, NULL);
    if (st != LT_OK) {
        lt_array_free(a);
        return st;
    }
    return lt_dataset_from_array(a, out);
}

static lt_status gmm_infer(const void *impl, const lt_dataset *D, const lt_kv *opts, size_t n_opts, int threads,
                           lt_array **out, char ***columns)
{
    (void)opts, (void)n_opts;
    const lt_gmm *m = impl;
    const lt_array *X = NULL;
    LT_CHECK(rows_of(D, &X));
    lt_array *Xd = NULL, *a = NULL;
    double *resp = NULL, *lp = NULL;
    size_t *lab = NULL;
    char **names = NULL;
    lt_status st;
    if ((st = model_data(m, X, &Xd))) return st;
    size_t n = Xd->rows, k = m->k;
    resp = lt_malloc(n * k + 1, sizeof(double));
    lp = lt_malloc(n + 1, sizeof(double));
    lab = lt_malloc(n + 1, sizeof(size_t));
    if (!resp || !lp || !lab) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    if ((st = lt_gmm_infer(m, Xd->data, n, threads, resp, lab, lp))) goto done;
    if ((st = lt_array_create(n, k + 2, LT_F64, &a))) goto done;
    double *o = a->data;
    for (size_t i = 0; i < n; i++) {
        o[i * (k + 2)] = (double)lab[i];
        o[i * (k + 2) + 1] = lp[i];
        memcpy(o + i * (k + 2) + 2, resp + i * k, k * sizeof(double));
    }
    if (columns) {
        names = lt_calloc(k + 3, sizeof(char *));
        if (!names) {
            st = LT_ERR_NOMEM;
            goto done;
        }
        names[0] = strdup("label");
        names[1] = strdup("log_likelihood");
        for (size_t j = 0; j < k; j++) {
            char buf[32];
            snprintf(buf, sizeof buf, "p_%zu", j);
            names[j + 2] = strdup(buf);
        }
        for (size_t j = 0; j < k + 2; j++)
            if (!names[j]) {
                st = lt_fail(LT_ERR_NOMEM, "out of memory");
                goto done;
            }
        *columns = names;
        names = NULL;
    }
    *out = a;
    a = NULL;
done:
    lt_strings_free(names);
    lt_array_free(a);
    lt_array_free(Xd);
    free(resp);
    free(lp);
    free(lab);
    return st;
}

static lt_status gmm_save_impl(const void *impl, const char *path) { return lt_gmm_save(impl, path); }

static lt_status gmm_load_impl(const lt_st_file *f, const char *path, void **out)
{
    lt_gmm *m;
    LT_CHECK(lt_gmm_from_st(f, path, &m));
    *out = m;
    return LT_OK;
}

static lt_status gmm_describe(const void *impl, lt_report *r)
{
    const lt_gmm *m = impl;
    LT_CHECK(lt_report_int(r, "k", (int64_t)m->k));
    LT_CHECK(lt_report_int(r, "n_features", (int64_t)m->d));
    LT_CHECK(lt_report_str(r, "covariance_type", lt_cov_type_name(m->cov)));
    LT_CHECK(lt_report_int(r, "n_parameters", (int64_t)lt_gmm_n_parameters(m)));
    LT_CHECK(lt_report_num(r, "reg_covar", m->reg_covar));
    LT_CHECK(lt_report_str(r, "init", init_name(m->init)));
    LT_CHECK(lt_report_int(r, "n_init", (int64_t)m->n_init));
    LT_CHECK(lt_report_int(r, "seed", (int64_t)m->seed));
    LT_CHECK(lt_report_int(r, "train_samples", (int64_t)m->train_n));
    LT_CHECK(lt_report_num(r, "train_log_likelihood", m->lower_bound));
    LT_CHECK(lt_report_int(r, "n_iter", (int64_t)m->n_iter));
    LT_CHECK(lt_report_bool(r, "converged", m->converged));
    LT_CHECK(lt_report_int(r, "n_repaired", (int64_t)m->n_repaired));
    LT_CHECK(lt_report_nums(r, "weights", m->weights, m->k));
    size_t d = m->d;
    static const char *cols_small[] = {"component", "weight", "mean_1", "mean_2", "mean_3", "mean_4"};
    size_t show = d < 4 ? d : 4;
    LT_CHECK(lt_report_table(r, "components", "components (first four mean coordinates)", 2 + show, cols_small));
    for (size_t j = 0; j < m->k; j++) {
        double row[6] = {(double)j, m->weights[j], 0, 0, 0, 0};
        for (size_t t = 0; t < show; t++) row[2 + t] = m->means[j * d + t];
        LT_CHECK(lt_report_table_row(r, "components", row));
    }
    return LT_OK;
}

const lt_family lt_gmm_family = {
    .name = "gmm",
    .summary = "Gaussian mixture model (EM; full, diag, spherical or tied covariance)",
    .options = gmm_options,
    .n_options = sizeof gmm_options / sizeof *gmm_options,
    .fit = gmm_fit,
    .score = gmm_score,
    .sample = gmm_sample,
    .infer = gmm_infer,
    .save = gmm_save_impl,
    .load = gmm_load_impl,
    .describe = gmm_describe,
    .free = gmm_free_impl,
};
