/* Deep Boltzmann machines as a family of the generic model table: options,
 * data (as the RBM family prepares it), model files, the mean-field bound
 * with exact or AIS log Z, samples as arrays or PNG grids, the posteriors of
 * every hidden layer. */
#include "dbm_internal.h"
#include "rbm_internal.h"

#include "internal.h"
#include "latent/io.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCORE_MF_ITERS 50 /* mean-field sweeps in score and infer unless asked */

/* ------------------------------------------------------------ model files */

typedef struct dbm_model {
    lt_dbm *dbm;
    char binarize[32]; /* "none", "stochastic" or a threshold such as "0.5" */
} dbm_model;

static void dbm_model_free(void *p)
{
    dbm_model *M = p;
    if (!M) return;
    lt_dbm_free(M->dbm);
    free(M);
}

/* "784,500,1000": the sizes of every layer, visible first. */
static void sizes_text(const lt_dbm *m, char *buf, size_t cap)
{
    size_t k = 0;
    buf[0] = '\0';
    for (size_t l = 0; l < m->n_layers && k < cap; l++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%zu", l ? "," : "", m->sizes[l]);
}

/* A comma-separated list of 1 to `max` positive counts. */
static lt_status parse_sizes(const char *s, size_t max, size_t *out, size_t *count)
{
    size_t k = 0;
    const char *p = s;
    while (p && *p) {
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 1 || v > (1 << 24) || errno || (*end && *end != ',') || k == max) return LT_ERR_INVALID;
        out[k++] = (size_t)v;
        p = *end ? end + 1 : end;
        if (*end && !*p) return LT_ERR_INVALID; /* a trailing comma */
    }
    *count = k;
    return k ? LT_OK : LT_ERR_INVALID;
}

static lt_status write_dbm(const lt_dbm *m, const char *binarize, const char *path)
{
    lt_st_writer *w;
    LT_CHECK(lt_st_writer_create(&w));
    char sizes[256], name[32];
    sizes_text(m, sizes, sizeof sizes);
    lt_status st;
    if ((st = lt_st_writer_meta(w, LT_META_FORMAT, LT_FORMAT_VERSION)) ||
        (st = lt_st_writer_meta(w, LT_META_KIND, "dbm")) ||
        (st = lt_st_writer_meta(w, LT_META_VERSION, lt_version())) ||
        (st = lt_st_writer_meta(w, "layer_sizes", sizes)) ||
        (st = lt_st_writer_meta_i64(w, "image_height", (int64_t)m->height)) ||
        (st = lt_st_writer_meta_i64(w, "image_width", (int64_t)m->width)) ||
        (st = lt_st_writer_meta(w, "binarize", binarize ? binarize : "none")) ||
        (st = lt_st_writer_meta_i64(w, "pretrain_epochs", (int64_t)m->pretrain_epochs)) ||
        (st = lt_st_writer_meta_i64(w, "epochs", (int64_t)m->epochs)) ||
        (st = lt_st_writer_meta_i64(w, "train_samples", (int64_t)m->train_n)) ||
        (st = lt_st_writer_meta_i64(w, "batch", (int64_t)m->batch)) ||
        (st = lt_st_writer_meta_i64(w, "chains", (int64_t)m->chains)) ||
        (st = lt_st_writer_meta_i64(w, "mf_iters", (int64_t)m->mf_iters)) ||
        (st = lt_st_writer_meta_f64(w, "learning_rate", m->lr)) ||
        (st = lt_st_writer_meta_f64(w, "weight_decay", m->weight_decay)) ||
        (st = lt_st_writer_meta_f64(w, "reconstruction_error", m->recon_error)) ||
        (st = lt_st_writer_meta_i64(w, "seed", (int64_t)m->seed)))
        goto done;
    for (size_t l = 0; l + 1 < m->n_layers; l++) {
        size_t sh[2] = {m->sizes[l], m->sizes[l + 1]};
        snprintf(name, sizeof name, "W%zu", l);
        if ((st = lt_st_writer_tensor(w, name, LT_ST_F32, 2, sh, m->w[l]))) goto done;
    }
    for (size_t l = 0; l < m->n_layers; l++) {
        size_t sh[1] = {m->sizes[l]};
        snprintf(name, sizeof name, "b%zu", l);
        if ((st = lt_st_writer_tensor(w, name, LT_ST_F32, 1, sh, m->b[l]))) goto done;
    }
    size_t sv[1] = {m->sizes[0]};
    if ((st = lt_st_writer_tensor(w, "data_mean", LT_ST_F32, 1, sv, m->data_mean))) goto done;
    st = lt_st_writer_save(w, path);
done:
    lt_st_writer_free(w);
    return st;
}

lt_status lt_dbm_save(const lt_dbm *m, const char *path) { return write_dbm(m, NULL, path); }

/* One float tensor of the given shape copied into dst, every value finite. */
static lt_status read_tensor(const lt_st_file *f, const char *path, const char *name, size_t ndim, size_t d0, size_t d1,
                             float *dst)
{
    size_t shape[2] = {d0, d1};
    const void *p;
    LT_CHECK(lt_st_tensor(f, name, LT_ST_F32, ndim, shape, &p));
    size_t n = ndim == 2 ? d0 * d1 : d0;
    memcpy(dst, p, n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        if (!isfinite(dst[i]))
            return lt_fail(LT_ERR_FORMAT, "%s: tensor %s holds a value that is not finite at %zu", path, name, i);
    return LT_OK;
}

/* Every tensor of a model of these sizes is in f with its shape, checked
 * before anything is allocated (a header cannot ask for more memory than
 * the file holds). */
static lt_status check_tensors(const lt_st_file *f, size_t nl, const size_t *sizes)
{
    char name[32];
    for (size_t l = 0; l + 1 < nl; l++) {
        size_t shape[2] = {sizes[l], sizes[l + 1]};
        snprintf(name, sizeof name, "W%zu", l);
        LT_CHECK(lt_st_tensor(f, name, LT_ST_F32, 2, shape, NULL));
    }
    for (size_t l = 0; l < nl; l++) {
        size_t shape[1] = {sizes[l]};
        snprintf(name, sizeof name, "b%zu", l);
        LT_CHECK(lt_st_tensor(f, name, LT_ST_F32, 1, shape, NULL));
    }
    size_t shape[1] = {sizes[0]};
    return lt_st_tensor(f, "data_mean", LT_ST_F32, 1, shape, NULL);
}

lt_status lt_dbm_from_st(const lt_st_file *f, const char *path, lt_dbm **out)
{
    *out = NULL;
    const char *ls = lt_st_meta(f, "layer_sizes");
    size_t sizes[LT_DBM_MAX_LAYERS], nl = 0;
    if (!ls) return lt_fail(LT_ERR_FORMAT, "%s: no 'layer_sizes' in the metadata", path);
    if (parse_sizes(ls, LT_DBM_MAX_LAYERS, sizes, &nl) || nl < 3)
        return lt_fail(LT_ERR_FORMAT, "%s: layer_sizes '%s' is not a list of 3 to %d layer sizes", path, ls,
                       LT_DBM_MAX_LAYERS);
    LT_CHECK(check_tensors(f, nl, sizes));
    char name[32];
    lt_dbm *m;
    if (lt_dbm_create(nl, sizes, &m)) return lt_fail_prefix(LT_ERR_FORMAT, path);
    lt_status st = LT_OK;
    for (size_t l = 0; l + 1 < nl && !st; l++) {
        snprintf(name, sizeof name, "W%zu", l);
        st = read_tensor(f, path, name, 2, sizes[l], sizes[l + 1], m->w[l]);
    }
    for (size_t l = 0; l < nl && !st; l++) {
        snprintf(name, sizeof name, "b%zu", l);
        st = read_tensor(f, path, name, 1, sizes[l], 0, m->b[l]);
    }
    if (!st) st = read_tensor(f, path, "data_mean", 1, sizes[0], 0, m->data_mean);
    for (size_t i = 0; i < sizes[0] && !st; i++)
        if (!(m->data_mean[i] >= 0 && m->data_mean[i] <= 1))
            st = lt_fail(LT_ERR_FORMAT, "%s: tensor data_mean: [%zu] = %g is outside [0, 1]", path, i,
                         (double)m->data_mean[i]);
    if (st) {
        lt_dbm_free(m);
        return st;
    }
    int64_t iv;
    double v;
    if (lt_st_meta_i64(f, "image_height", &iv) == LT_OK && iv > 0 && iv <= (1 << 16)) m->height = (size_t)iv;
    if (lt_st_meta_i64(f, "image_width", &iv) == LT_OK && iv > 0 && iv <= (1 << 16)) m->width = (size_t)iv;
    if (m->height * m->width != m->sizes[0]) m->height = m->width = 0;
    if (lt_st_meta_i64(f, "pretrain_epochs", &iv) == LT_OK && iv >= 0) m->pretrain_epochs = (size_t)iv;
    if (lt_st_meta_i64(f, "epochs", &iv) == LT_OK && iv >= 0) m->epochs = (size_t)iv;
    if (lt_st_meta_i64(f, "train_samples", &iv) == LT_OK && iv >= 0) m->train_n = (size_t)iv;
    if (lt_st_meta_i64(f, "batch", &iv) == LT_OK && iv >= 0) m->batch = (size_t)iv;
    if (lt_st_meta_i64(f, "chains", &iv) == LT_OK && iv >= 0) m->chains = (size_t)iv;
    if (lt_st_meta_i64(f, "mf_iters", &iv) == LT_OK && iv >= 0) m->mf_iters = (size_t)iv;
    if (lt_st_meta_i64(f, "seed", &iv) == LT_OK) m->seed = (uint64_t)iv;
    if (lt_st_meta_f64(f, "learning_rate", &v) == LT_OK) m->lr = v;
    if (lt_st_meta_f64(f, "weight_decay", &v) == LT_OK) m->weight_decay = v;
    if (lt_st_meta_f64(f, "reconstruction_error", &v) == LT_OK) m->recon_error = v;
    lt_clear_error();
    *out = m;
    return LT_OK;
}

lt_status lt_dbm_load(const char *path, lt_dbm **out)
{
    *out = NULL;
    lt_st_file *f;
    LT_CHECK(lt_st_load(path, &f));
    const char *kind = lt_st_meta(f, LT_META_KIND);
    lt_status st;
    if (!kind || strcmp(kind, "dbm") != 0)
        st = lt_fail(LT_ERR_FORMAT, "%s: not a DBM model file (kind '%s')", path, kind ? kind : "none");
    else
        st = lt_dbm_from_st(f, path, out);
    lt_st_free(f);
    return st;
}

/* ------------------------------------------------------------ the family */

static const lt_option_spec dbm_options[] = {
    {"hidden", 0, LT_OPT_STRING, "64,64", "H1,H2[,..]", "units of each hidden layer, bottom first (2 to 7 layers)",
     LT_OPT_FIT},
    {"pretrain-epochs", 0, LT_OPT_INT, "10", "N", "greedy pretraining epochs per layer (0: none)", LT_OPT_FIT},
    {"pretrain-lr", 0, LT_OPT_REAL, "0.05", "R", "pretraining learning rate", LT_OPT_FIT},
    {"cd", 0, LT_OPT_INT, "1", "K", "pretraining Gibbs steps per update (CD-K)", LT_OPT_FIT},
    {"epochs", 0, LT_OPT_INT, "10", "N", "joint training passes over the data", LT_OPT_FIT},
    {"batch", 0, LT_OPT_INT, "100", "B", "mini-batch size", LT_OPT_FIT},
    {"chains", 0, LT_OPT_INT, "100", "P", "persistent Gibbs chains of joint training", LT_OPT_FIT},
    {"chain-steps", 0, LT_OPT_INT, "1", "K", "Gibbs steps of the chains per update", LT_OPT_FIT},
    {"lr", 0, LT_OPT_REAL, "0.01", "R", "joint training learning rate, decaying as lr / (1 + 9 t / T)", LT_OPT_FIT},
    {"momentum", 0, LT_OPT_REAL, "0", "M", "joint training momentum", LT_OPT_FIT},
    {"weight-decay", 0, LT_OPT_REAL, "2e-4", "L", "L2 penalty on the weights", LT_OPT_FIT},
    {"mf-iters", 0, LT_OPT_INT, NULL, "N",
     "mean-field sweeps per data vector (default 10 in fit, 50 in score and infer)",
     LT_OPT_FIT | LT_OPT_SCORE | LT_OPT_INFER},
    {"damping", 0, LT_OPT_REAL, "0", "D", "mean-field damping in [0, 1)", LT_OPT_FIT | LT_OPT_SCORE | LT_OPT_INFER},
    {"binarize", 0, LT_OPT_STRING, NULL, "HOW",
     "none, stochastic (1 with probability v) or a threshold T (v > T); default none; later commands: the model's",
     LT_OPT_DATA},
    {"method", 0, LT_OPT_STRING, "auto", "M", "score: log Z exact (enumeration), ais, or auto (exact up to 2^20 terms)",
     LT_OPT_SCORE},
    {"ais-runs", 0, LT_OPT_INT, "100", "R", "score: AIS runs", LT_OPT_SCORE},
    {"ais-betas", 0, LT_OPT_INT, "10000", "K", "score: AIS intermediate distributions", LT_OPT_SCORE},
    LT_BM_SAMPLE_OPTIONS,
};

/* Mean-field settings of score and infer. */
static lt_status mf_opts(const lt_kv *opts, size_t n, size_t *iters, double *damping)
{
    LT_CHECK(lt_kv_size(opts, n, "mf-iters", SCORE_MF_ITERS, iters));
    LT_CHECK(lt_kv_real(opts, n, "damping", 0, damping));
    if (!(*damping >= 0 && *damping < 1)) return lt_fail(LT_ERR_INVALID, "--damping: must be in [0, 1)");
    return LT_OK;
}

static lt_status dbm_fit(const lt_dataset *D, const lt_kv *opts, size_t n_opts, const lt_fit_ctl *ctl, lt_report *rep,
                         void **out)
{
    lt_dbm_options o;
    lt_dbm_options_default(&o);
    lt_status st;
    const char *hid = lt_kv_get(opts, n_opts, "hidden");
    if (hid && parse_sizes(hid, LT_DBM_MAX_LAYERS - 1, o.n_hidden, &o.n_hidden_layers))
        return lt_fail(LT_ERR_INVALID, "--hidden: expected 2 to %d layer sizes (positive counts) separated by commas, "
                       "such as 500,1000, found '%s'", LT_DBM_MAX_LAYERS - 1, hid);
    if (o.n_hidden_layers < 2)
        return lt_fail(LT_ERR_INVALID, "--hidden: a deep Boltzmann machine needs at least two hidden layers, "
                       "such as 500,1000 (found '%s'; one layer is an RBM: latent fit rbm)", hid ? hid : "");
    if ((st = lt_kv_size(opts, n_opts, "pretrain-epochs", o.pretrain_epochs, &o.pretrain_epochs)) ||
        (st = lt_kv_real(opts, n_opts, "pretrain-lr", o.pretrain_lr, &o.pretrain_lr)) ||
        (st = lt_kv_size(opts, n_opts, "cd", o.cd_k, &o.cd_k)) ||
        (st = lt_kv_size(opts, n_opts, "epochs", o.epochs, &o.epochs)) ||
        (st = lt_kv_size(opts, n_opts, "batch", o.batch, &o.batch)) ||
        (st = lt_kv_size(opts, n_opts, "chains", o.chains, &o.chains)) ||
        (st = lt_kv_size(opts, n_opts, "chain-steps", o.chain_steps, &o.chain_steps)) ||
        (st = lt_kv_real(opts, n_opts, "lr", o.lr, &o.lr)) ||
        (st = lt_kv_real(opts, n_opts, "momentum", o.momentum, &o.momentum)) ||
        (st = lt_kv_real(opts, n_opts, "weight-decay", o.weight_decay, &o.weight_decay)) ||
        (st = lt_kv_size(opts, n_opts, "mf-iters", o.mf_iters, &o.mf_iters)) ||
        (st = lt_kv_real(opts, n_opts, "damping", o.damping, &o.damping)))
        return st;
    if (ctl) {
        o.seed = ctl->seed, o.threads = ctl->threads;
        o.progress = ctl->progress, o.progress_ud = ctl->progress_ud;
    }
    const char *data = ctl && ctl->data_path ? ctl->data_path : "data";
    dbm_model *M = lt_calloc(1, sizeof *M);
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
    if ((st = lt_dbm_fit(&o, x, n, d, &M->dbm))) {
        if (st != LT_ERR_NOMEM && strncmp(lt_last_error(), "--", 2) != 0) lt_fail_prefix(st, data);
        goto fail;
    }
    lt_dbm *m = M->dbm;
    if (D->x->height && D->x->width && D->x->height * D->x->width == d)
        m->height = D->x->height, m->width = D->x->width;
    char sizes[256];
    sizes_text(m, sizes, sizeof sizes);
    if ((st = lt_report_str(rep, "family", "dbm")) || (st = lt_report_str(rep, "layer_sizes", sizes)) ||
        (st = lt_report_int(rep, "n_visible", (int64_t)m->sizes[0])) ||
        (st = lt_report_int(rep, "n_hidden_layers", (int64_t)(m->n_layers - 1))) ||
        (st = lt_report_int(rep, "n_samples", (int64_t)n)) ||
        (st = lt_report_int(rep, "pretrain_epochs", (int64_t)m->pretrain_epochs)) ||
        (st = lt_report_int(rep, "epochs", (int64_t)m->epochs)) ||
        (st = lt_report_int(rep, "batch", (int64_t)o.batch)) ||
        (st = lt_report_int(rep, "chains", (int64_t)o.chains)) || (st = lt_report_num(rep, "learning_rate", o.lr)) ||
        (st = lt_report_str(rep, "binarize", M->binarize)) ||
        (st = lt_report_num(rep, "reconstruction_error", m->recon_error)))
        goto fail;
    free(x);
    *out = M;
    return LT_OK;
fail:
    free(x);
    dbm_model_free(M);
    return st;
}

static lt_status dbm_score(const void *impl, const lt_dataset *D, const lt_kv *opts, size_t n_opts, int threads,
                           double *logp, lt_score *sum)
{
    const dbm_model *M = impl;
    const lt_dbm *m = M->dbm;
    uint64_t seed = lt_rbm_opt_seed(opts, n_opts);
    const char *method = lt_kv_get(opts, n_opts, "method");
    if (!method) method = "auto";
    size_t runs, betas, iters;
    double damping;
    LT_CHECK(lt_kv_size(opts, n_opts, "ais-runs", 100, &runs));
    LT_CHECK(lt_kv_size(opts, n_opts, "ais-betas", 10000, &betas));
    LT_CHECK(mf_opts(opts, n_opts, &iters, &damping));
    if (strcmp(method, "auto") && strcmp(method, "exact") && strcmp(method, "ais"))
        return lt_fail(LT_ERR_INVALID, "--method: expected auto, exact or ais, found '%s'", method);
    if (runs < 2) return lt_fail(LT_ERR_INVALID, "--ais-runs: at least 2");
    if (betas < 1) return lt_fail(LT_ERR_INVALID, "--ais-betas: at least 1");
    size_t bits[2] = {0, 0};
    for (size_t l = 0; l < m->n_layers; l++) bits[l % 2] += m->sizes[l];
    if (strcmp(method, "auto") == 0) method = (bits[0] < bits[1] ? bits[0] : bits[1]) <= 20 ? "exact" : "ais";
    float *x = NULL;
    size_t n;
    LT_CHECK(lt_bm_prepare_for(D, opts, n_opts, M->binarize, m->sizes[0], &x, &n));
    double *lp = logp ? logp : lt_malloc(n, sizeof(double));
    if (!lp) {
        free(x);
        return LT_ERR_NOMEM;
    }
    double log_z = 0, se_z = 0;
    lt_score s = {0};
    s.unit = "sample";
    lt_status st;
    if (strcmp(method, "exact") == 0) {
        st = lt_dbm_log_z_exact(m, threads, &log_z);
        s.kind = LT_SCORE_LOWER_BOUND;
        s.method = "mean-field variational lower bound on log p(v) (Salakhutdinov and Hinton 2009), log Z exact by "
                   "enumeration";
    } else {
        lt_ais_options ao;
        lt_ais_options_default(&ao);
        ao.runs = runs, ao.betas = betas, ao.seed = seed, ao.threads = threads;
        lt_ais_result r;
        st = lt_dbm_ais(m, &ao, &r);
        log_z = r.log_z, se_z = r.log_z_stderr;
        s.kind = LT_SCORE_ESTIMATE;
        s.method = "estimate of the mean-field lower bound on log p(v) (Salakhutdinov and Hinton 2009): log Z by "
                   "annealed importance sampling, which tends to underestimate it (so the bound may be overstated); "
                   "the standard error includes log Z's";
    }
    if (st == LT_OK) st = lt_dbm_bound(m, x, n, log_z, iters, damping, threads, lp);
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

static lt_status dbm_sample(const void *impl, size_t n, uint64_t seed, const lt_kv *opts, size_t n_opts,
                            lt_dataset **out)
{
    const dbm_model *M = impl;
    const lt_dbm *m = M->dbm;
    size_t steps;
    LT_CHECK(lt_kv_size(opts, n_opts, "gibbs-steps", 1000, &steps));
    if (steps < 1) return lt_fail(LT_ERR_INVALID, "--gibbs-steps: at least 1");
    lt_array *a;
    LT_CHECK(lt_array_create(n, m->sizes[0], LT_F32, &a));
    lt_status st = lt_dbm_sample(m, n, steps, lt_kv_flag(opts, n_opts, "mean"), seed, 0, a->data);
    if (st) {
        lt_array_free(a);
        return st;
    }
    a->height = m->height, a->width = m->width;
    return lt_dataset_from_array(a, out);
}

/* Samples as .csv/.npy rows, or a PNG grid of images: written as the RBM
 * family writes those of a Bernoulli visible layer of this shape. */
static lt_status dbm_write(const void *impl, const lt_dataset *D, const char *path)
{
    const lt_dbm *m = ((const dbm_model *)impl)->dbm;
    lt_rbm shape = {0};
    shape.nv = m->sizes[0], shape.visible = LT_RBM_BERNOULLI, shape.height = m->height, shape.width = m->width;
    return lt_rbm_write_samples(&shape, D, path);
}

static lt_status dbm_infer(const void *impl, const lt_dataset *D, const lt_kv *opts, size_t n_opts, int threads,
                           lt_array **out, char ***columns)
{
    const dbm_model *M = impl;
    const lt_dbm *m = M->dbm;
    size_t iters, H = lt_dbm_hidden_total(m);
    double damping;
    LT_CHECK(mf_opts(opts, n_opts, &iters, &damping));
    float *x = NULL;
    size_t n;
    LT_CHECK(lt_bm_prepare_for(D, opts, n_opts, M->binarize, m->sizes[0], &x, &n));
    lt_array *a = NULL;
    char **names = NULL;
    lt_status st;
    if ((st = lt_array_create(n, H, LT_F32, &a)) || (st = lt_dbm_mean_field(m, x, n, iters, damping, threads, a->data)))
        goto fail;
    if (columns) {
        if (!(names = lt_calloc(H + 1, sizeof(char *)))) {
            st = LT_ERR_NOMEM;
            goto fail;
        }
        size_t k = 0;
        for (size_t l = 1; l < m->n_layers; l++)
            for (size_t j = 0; j < m->sizes[l]; j++) {
                char buf[48];
                snprintf(buf, sizeof buf, "h%zu_%zu", l, j);
                if (!(names[k++] = strdup(buf))) {
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

static lt_status dbm_save_impl(const void *impl, const char *path)
{
    const dbm_model *M = impl;
    return write_dbm(M->dbm, M->binarize, path);
}

static lt_status dbm_load_impl(const lt_st_file *f, const char *path, void **out)
{
    dbm_model *M = lt_calloc(1, sizeof *M);
    if (!M) return LT_ERR_NOMEM;
    lt_status st = lt_dbm_from_st(f, path, &M->dbm);
    if (st) {
        free(M);
        return st;
    }
    if ((st = lt_bm_meta_binarize(f, path, M->binarize))) {
        dbm_model_free(M);
        return st;
    }
    *out = M;
    return LT_OK;
}

static lt_status dbm_describe(const void *impl, lt_report *r)
{
    const dbm_model *M = impl;
    const lt_dbm *m = M->dbm;
    char sizes[256];
    sizes_text(m, sizes, sizeof sizes);
    LT_CHECK(lt_report_str(r, "layer_sizes", sizes));
    LT_CHECK(lt_report_int(r, "n_visible", (int64_t)m->sizes[0]));
    LT_CHECK(lt_report_int(r, "n_hidden_layers", (int64_t)(m->n_layers - 1)));
    LT_CHECK(lt_report_int(r, "n_parameters", (int64_t)m->n_params));
    if (m->height) {
        char buf[64];
        snprintf(buf, sizeof buf, "%zux%zu", m->height, m->width);
        LT_CHECK(lt_report_str(r, "image_shape", buf));
    }
    LT_CHECK(lt_report_str(r, "binarize", M->binarize));
    LT_CHECK(lt_report_int(r, "pretrain_epochs", (int64_t)m->pretrain_epochs));
    LT_CHECK(lt_report_int(r, "epochs", (int64_t)m->epochs));
    LT_CHECK(lt_report_int(r, "batch", (int64_t)m->batch));
    LT_CHECK(lt_report_int(r, "chains", (int64_t)m->chains));
    LT_CHECK(lt_report_int(r, "mf_iters", (int64_t)m->mf_iters));
    LT_CHECK(lt_report_num(r, "learning_rate", m->lr));
    LT_CHECK(lt_report_num(r, "weight_decay", m->weight_decay));
    LT_CHECK(lt_report_int(r, "seed", (int64_t)m->seed));
    LT_CHECK(lt_report_int(r, "train_samples", (int64_t)m->train_n));
    LT_CHECK(lt_report_num(r, "reconstruction_error", m->recon_error));
    for (size_t l = 0; l + 1 < m->n_layers; l++) {
        double ss = 0;
        size_t nw = m->sizes[l] * m->sizes[l + 1];
        for (size_t t = 0; t < nw; t++) ss += (double)m->w[l][t] * m->w[l][t];
        char key[32];
        snprintf(key, sizeof key, "weight_rms_%zu", l);
        LT_CHECK(lt_report_num(r, key, sqrt(ss / (double)nw)));
    }
    return LT_OK;
}

const lt_family lt_dbm_family = {
    .name = "dbm",
    .summary = "deep Boltzmann machine (greedy pretraining, mean field + persistent chains; AIS-based bound)",
    .options = dbm_options,
    .n_options = sizeof dbm_options / sizeof *dbm_options,
    .fit = dbm_fit,
    .score = dbm_score,
    .sample = dbm_sample,
    .write = dbm_write,
    .infer = dbm_infer,
    .save = dbm_save_impl,
    .load = dbm_load_impl,
    .describe = dbm_describe,
    .free = dbm_model_free,
};
