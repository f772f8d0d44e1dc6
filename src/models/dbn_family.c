/* Deep belief nets as a family of the generic model table: options, model
 * files, the lower-bound score, samples, and the up-pass (and class
 * probabilities of a fine-tuned net) as latents. */
#include "dbn_internal.h"
#include "rbm_internal.h"

#include "internal.h"
#include "latent/io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LAYERS 16

/* ------------------------------------------------------------ files */

static lt_status write_dbn(const lt_dbn *d, const char *binarize, const char *path)
{
    lt_st_writer *w;
    LT_CHECK(lt_st_writer_create(&w));
    lt_status st;
    const lt_rbm *b = d->rbm[0];
    char sizes[16 * 24] = "", key[64];
    size_t off = (size_t)snprintf(sizes, sizeof sizes, "%zu", b->nv);
    for (size_t l = 0; l < d->n_layers; l++) off += (size_t)snprintf(sizes + off, sizeof sizes - off, ",%zu", d->rbm[l]->nh);
    if ((st = lt_st_writer_meta(w, LT_META_FORMAT, LT_FORMAT_VERSION)) ||
        (st = lt_st_writer_meta(w, LT_META_KIND, "dbn")) || (st = lt_st_writer_meta(w, LT_META_VERSION, lt_version())) ||
        (st = lt_st_writer_meta(w, "visible", lt_rbm_visible_name(b->visible))) ||
        (st = lt_st_writer_meta(w, "layer_sizes", sizes)) ||
        (st = lt_st_writer_meta_i64(w, "n_layers", (int64_t)d->n_layers)) ||
        (st = lt_st_writer_meta_i64(w, "image_height", (int64_t)b->height)) ||
        (st = lt_st_writer_meta_i64(w, "image_width", (int64_t)b->width)) ||
        (st = lt_st_writer_meta(w, "binarize", binarize ? binarize : "none")) ||
        (st = lt_st_writer_meta_i64(w, "epochs", (int64_t)b->epochs)) ||
        (st = lt_st_writer_meta_i64(w, "train_samples", (int64_t)b->train_n)) ||
        (st = lt_st_writer_meta_i64(w, "batch", (int64_t)b->batch)) ||
        (st = lt_st_writer_meta_i64(w, "cd_k", (int64_t)b->cd_k)) ||
        (st = lt_st_writer_meta(w, "persistent", b->persistent ? "true" : "false")) ||
        (st = lt_st_writer_meta_f64(w, "learning_rate", b->lr)) ||
        (st = lt_st_writer_meta_i64(w, "seed", (int64_t)b->seed)) ||
        (st = lt_st_writer_meta_i64(w, "n_classes", (int64_t)d->n_classes)) ||
        (st = lt_st_writer_meta_i64(w, "finetune_epochs", (int64_t)d->finetune_epochs)) ||
        (st = lt_st_writer_meta_f64(w, "train_accuracy", d->train_accuracy)))
        goto done;
    for (size_t l = 0; l < d->n_layers; l++) {
        const lt_rbm *m = d->rbm[l];
        size_t sw[2] = {m->nv, m->nh}, sv[1] = {m->nv}, sh[1] = {m->nh};
        snprintf(key, sizeof key, "W_%zu", l);
        if ((st = lt_st_writer_tensor(w, key, LT_ST_F32, 2, sw, m->w))) goto done;
        snprintf(key, sizeof key, "visible_bias_%zu", l);
        if ((st = lt_st_writer_tensor(w, key, LT_ST_F32, 1, sv, m->b))) goto done;
        snprintf(key, sizeof key, "hidden_bias_%zu", l);
        if ((st = lt_st_writer_tensor(w, key, LT_ST_F32, 1, sh, m->c))) goto done;
        snprintf(key, sizeof key, "data_mean_%zu", l);
        if ((st = lt_st_writer_tensor(w, key, LT_ST_F32, 1, sv, m->data_mean))) goto done;
        if (m->logvar && (st = lt_st_writer_tensor(w, "logvar_0", LT_ST_F32, 1, sv, m->logvar))) goto done;
    }
    if (d->n_classes) {
        size_t sc[2] = {d->rbm[d->n_layers - 1]->nh, d->n_classes}, sb[1] = {d->n_classes};
        if ((st = lt_st_writer_tensor(w, "classifier_W", LT_ST_F32, 2, sc, d->cls_w)) ||
            (st = lt_st_writer_tensor(w, "classifier_b", LT_ST_F32, 1, sb, d->cls_b)))
            goto done;
    }
    st = lt_st_writer_save(w, path);
done:
    lt_st_writer_free(w);
    return st;
}

lt_status lt_dbn_save(const lt_dbn *d, const char *path) { return write_dbn(d, NULL, path); }

/* A float tensor of the given shape copied into dst, every value finite. */
static lt_status get_tensor(const lt_st_file *f, const char *path, const char *name, size_t nd, size_t *shape,
                            float *dst)
{
    const void *p;
    LT_CHECK(lt_st_tensor(f, name, LT_ST_F32, nd, shape, &p));
    size_t cnt = 1;
    for (size_t i = 0; i < nd; i++) cnt *= shape[i];
    memcpy(dst, p, cnt * sizeof(float));
    for (size_t i = 0; i < cnt; i++)
        if (!isfinite(dst[i])) return lt_fail(LT_ERR_FORMAT, "%s: tensor %s holds a value that is not finite at %zu", path, name, i);
    return LT_OK;
}

static lt_status dbn_from_st(const lt_st_file *f, const char *path, lt_dbn **out)
{
    *out = NULL;
    lt_rbm_visible vis;
    const char *vn = lt_st_meta(f, "visible"), *sz = lt_st_meta(f, "layer_sizes");
    if (!vn || !sz) return lt_fail(LT_ERR_FORMAT, "%s: no 'visible' or 'layer_sizes' in the metadata", path);
    if (lt_rbm_visible_parse(vn, &vis)) return lt_fail_prefix(LT_ERR_FORMAT, path);
    size_t sizes[MAX_LAYERS + 1], ns = 0;
    for (const char *p = sz; *p && ns <= MAX_LAYERS;) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 1 || v > (1 << 24) || (*end && *end != ','))
            return lt_fail(LT_ERR_FORMAT, "%s: layer_sizes '%s' is not a list of sizes", path, sz);
        sizes[ns++] = (size_t)v;
        p = *end ? end + 1 : end;
    }
    if (ns < 2 || ns > MAX_LAYERS + 1) return lt_fail(LT_ERR_FORMAT, "%s: layer_sizes '%s' has no layers or too many", path, sz);
    lt_dbn *d = lt_calloc(1, sizeof *d);
    if (!d) return LT_ERR_NOMEM;
    lt_status st = LT_OK;
    if (!(d->rbm = lt_calloc(ns - 1, sizeof *d->rbm))) {
        st = LT_ERR_NOMEM;
        goto fail;
    }
    char key[64];
    for (size_t l = 0; l + 1 < ns; l++) {
        if ((size_t)sizes[l] * sizes[l + 1] > ((size_t)1 << 31)) {
            st = lt_fail(LT_ERR_FORMAT, "%s: layer %zu is too large", path, l + 1);
            goto fail;
        }
        if ((st = lt_rbm_create(sizes[l], sizes[l + 1], l == 0 ? vis : LT_RBM_BERNOULLI, &d->rbm[l]))) goto fail;
        d->n_layers = l + 1;
        lt_rbm *m = d->rbm[l];
        size_t sw[2] = {m->nv, m->nh}, sv[1] = {m->nv}, sh[1] = {m->nh};
        snprintf(key, sizeof key, "W_%zu", l);
        if ((st = get_tensor(f, path, key, 2, sw, m->w))) goto fail;
        snprintf(key, sizeof key, "visible_bias_%zu", l);
        if ((st = get_tensor(f, path, key, 1, sv, m->b))) goto fail;
        snprintf(key, sizeof key, "hidden_bias_%zu", l);
        if ((st = get_tensor(f, path, key, 1, sh, m->c))) goto fail;
        snprintf(key, sizeof key, "data_mean_%zu", l);
        if ((st = get_tensor(f, path, key, 1, sv, m->data_mean))) goto fail;
        if (m->logvar && (st = get_tensor(f, path, "logvar_0", 1, sv, m->logvar))) goto fail;
        for (size_t i = 0; m->logvar && i < m->nv; i++)
            if (m->logvar[i] < -30 || m->logvar[i] > 30) {
                st = lt_fail(LT_ERR_FORMAT, "%s: logvar_0[%zu] is not a sane log variance", path, i);
                goto fail;
            }
    }
    int64_t iv;
    double v;
    lt_rbm *b = d->rbm[0];
    if (lt_st_meta_i64(f, "image_height", &iv) == LT_OK && iv > 0 && iv <= (1 << 16)) b->height = (size_t)iv;
    if (lt_st_meta_i64(f, "image_width", &iv) == LT_OK && iv > 0 && iv <= (1 << 16)) b->width = (size_t)iv;
    if (b->height * b->width != b->nv) b->height = b->width = 0;
    if (lt_st_meta_i64(f, "epochs", &iv) == LT_OK && iv >= 0) b->epochs = (size_t)iv;
    if (lt_st_meta_i64(f, "train_samples", &iv) == LT_OK && iv >= 0) b->train_n = (size_t)iv;
    if (lt_st_meta_i64(f, "batch", &iv) == LT_OK && iv >= 0) b->batch = (size_t)iv;
    if (lt_st_meta_i64(f, "cd_k", &iv) == LT_OK && iv >= 0) b->cd_k = (size_t)iv;
    if (lt_st_meta_i64(f, "seed", &iv) == LT_OK) b->seed = (uint64_t)iv;
    if (lt_st_meta_f64(f, "learning_rate", &v) == LT_OK) b->lr = v;
    if (lt_st_meta_i64(f, "finetune_epochs", &iv) == LT_OK && iv >= 0) d->finetune_epochs = (size_t)iv;
    if (lt_st_meta_f64(f, "train_accuracy", &v) == LT_OK) d->train_accuracy = v;
    const char *p = lt_st_meta(f, "persistent");
    b->persistent = p && strcmp(p, "true") == 0;
    if (lt_st_meta_i64(f, "n_classes", &iv) == LT_OK && iv > 0) {
        if (iv < 2 || iv > 100000) {
            st = lt_fail(LT_ERR_FORMAT, "%s: n_classes = %lld is not a valid count", path, (long long)iv);
            goto fail;
        }
        d->n_classes = (size_t)iv;
        size_t K = d->rbm[d->n_layers - 1]->nh, sc[2] = {K, d->n_classes}, sb[1] = {d->n_classes};
        d->cls_w = lt_malloc(K * d->n_classes, sizeof(float));
        d->cls_b = lt_malloc(d->n_classes, sizeof(float));
        if (!d->cls_w || !d->cls_b) {
            st = LT_ERR_NOMEM;
            goto fail;
        }
        if ((st = get_tensor(f, path, "classifier_W", 2, sc, d->cls_w)) ||
            (st = get_tensor(f, path, "classifier_b", 1, sb, d->cls_b)))
            goto fail;
    }
    lt_clear_error();
    *out = d;
    return LT_OK;
fail:
    lt_dbn_free(d);
    return st;
}

lt_status lt_dbn_load(const char *path, lt_dbn **out)
{
    *out = NULL;
    lt_st_file *f;
    LT_CHECK(lt_st_load(path, &f));
    const char *kind = lt_st_meta(f, LT_META_KIND);
    lt_status st;
    if (!kind || strcmp(kind, "dbn") != 0)
        st = lt_fail(LT_ERR_FORMAT, "%s: not a deep belief net model file (kind '%s')", path, kind ? kind : "none");
    else
        st = dbn_from_st(f, path, out);
    lt_st_free(f);
    return st;
}

/* ------------------------------------------------------------ the family */

typedef struct dbn_model {
    lt_dbn *dbn;
    char binarize[32];
} dbn_model;

static void dbn_model_free(void *p)
{
    dbn_model *M = p;
    if (!M) return;
    lt_dbn_free(M->dbn);
    free(M);
}

static const lt_option_spec dbn_options[] = {
    {"hidden", 0, LT_OPT_STRING, "64", "H1,H2,...", "hidden units of each layer, bottom first", LT_OPT_FIT},
    LT_BM_TRAIN_OPTIONS,
    {"labels", 0, LT_OPT_STRING, NULL, "FILE",
     "one class (0, 1, ...) per sample (CSV or NPY column): fine-tune the stack as a classifier "
     "(mini-batches of --batch)", LT_OPT_FIT},
    {"finetune-epochs", 0, LT_OPT_INT, "20", "N", "fine-tuning passes over the data", LT_OPT_FIT},
    {"finetune-lr", 0, LT_OPT_REAL, "0.1", "R", "fine-tuning learning rate", LT_OPT_FIT},
    {"method", 0, LT_OPT_STRING, "auto", "M", "score: log Z of the top RBM exact, ais, or auto (exact when small)",
     LT_OPT_SCORE},
    {"ais-runs", 0, LT_OPT_INT, "100", "R", "score: AIS runs", LT_OPT_SCORE},
    {"ais-betas", 0, LT_OPT_INT, "10000", "K", "score: AIS intermediate distributions", LT_OPT_SCORE},
    {"bound-draws", 0, LT_OPT_INT, "10", "S", "score: draws from the up-pass posterior per sample", LT_OPT_SCORE},
    LT_BM_SAMPLE_OPTIONS,
};

/* "500,1000" into sizes. */
static lt_status parse_hidden(const char *s, size_t *sizes, size_t *n)
{
    *n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 1 || v > (1 << 24) || (*end && *end != ',') || *n == MAX_LAYERS)
            return lt_fail(LT_ERR_INVALID, "--hidden: expected up to %d positive sizes separated by commas, found '%s'",
                           MAX_LAYERS, s);
        sizes[(*n)++] = (size_t)v;
        p = *end ? end + 1 : end;
        if (*end && !*p) return lt_fail(LT_ERR_INVALID, "--hidden: '%s' ends with a comma", s);
    }
    if (*n == 0) return lt_fail(LT_ERR_INVALID, "--hidden: no sizes given");
    return LT_OK;
}

/* Labels from a file: one non-negative integer per sample. */
static lt_status read_labels(const char *path, size_t n, int32_t **out, size_t *n_classes)
{
    lt_array *a = NULL, *ad = NULL;
    lt_status st;
    *out = NULL;
    if ((st = lt_data_read(path, LT_FMT_AUTO, &a)) || (st = lt_array_to_f64(a, 1, &ad))) {
        lt_array_free(a);
        return st == LT_ERR_NUMERIC ? lt_fail_prefix(st, path) : st;
    }
    lt_array_free(a);
    if (ad->cols != 1 || ad->rows != n) {
        st = lt_fail(LT_ERR_DIM, "%s: expected one column of %zu labels (one per sample), found %zu x %zu", path, n,
                     ad->rows, ad->cols);
        goto done;
    }
    int32_t *y = lt_malloc(n + 1, sizeof(int32_t));
    if (!y) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    size_t k = 0, first = 0, mixed = 0;
    const double *v = ad->data;
    for (size_t i = 0; i < n; i++) {
        if (!(v[i] >= 0 && v[i] < 100000 && v[i] == floor(v[i]))) {
            free(y);
            st = lt_fail(LT_ERR_FORMAT, "%s: row %zu: %g is not a class number (0, 1, 2, ...)", path, i + 1, v[i]);
            goto done;
        }
        y[i] = (int32_t)v[i];
        if ((size_t)y[i] + 1 > k) k = (size_t)y[i] + 1;
        if (i == 0) first = (size_t)y[0];
        mixed |= (size_t)y[i] != first;
    }
    if (!mixed || k < 2) {
        free(y);
        st = lt_fail(LT_ERR_INVALID, "%s: all labels are the same class; a classifier needs two or more", path);
        goto done;
    }
    *out = y, *n_classes = k;
done:
    lt_array_free(ad);
    return st;
}

static lt_status dbn_fit(const lt_dataset *D, const lt_kv *opts, size_t n_opts, const lt_fit_ctl *ctl, lt_report *rep,
                         void **out)
{
    lt_dbn_options o;
    lt_dbn_options_default(&o);
    lt_status st;
    size_t sizes[MAX_LAYERS], nl;
    const char *hs = lt_kv_get(opts, n_opts, "hidden");
    LT_CHECK(parse_hidden(hs ? hs : "64", sizes, &nl));
    LT_CHECK(lt_rbm_options_from_kv(opts, n_opts, ctl, &o.rbm));
    o.hidden = sizes, o.n_layers = nl;
    LT_CHECK(lt_kv_size(opts, n_opts, "finetune-epochs", 20, &o.finetune_epochs));
    LT_CHECK(lt_kv_real(opts, n_opts, "finetune-lr", 0.1, &o.finetune_lr));
    if (!(o.finetune_lr > 0)) return lt_fail(LT_ERR_INVALID, "--finetune-lr: must be positive");
    o.finetune_batch = o.rbm.batch;
    const char *data = ctl && ctl->data_path ? ctl->data_path : "data";
    dbn_model *M = lt_calloc(1, sizeof *M);
    if (!M) return LT_ERR_NOMEM;
    float *x = NULL;
    int32_t *y = NULL;
    size_t n, d;
    double thr;
    int stoch;
    const char *lab = lt_kv_get(opts, n_opts, "labels");
    if ((st = lt_bm_parse_binarize(lt_kv_get(opts, n_opts, "binarize"), &thr, &stoch, M->binarize))) goto fail;
    if ((st = lt_bm_prepare(D, M->binarize, o.rbm.seed, 0, &x, &n, &d))) {
        lt_fail_prefix(st, data);
        goto fail;
    }
    if (lab) {
        if ((st = read_labels(lab, n, &y, &o.n_classes))) goto fail;
        o.labels = y;
    }
    if ((st = lt_dbn_fit(&o, x, n, d, &M->dbn))) {
        if (st != LT_ERR_NOMEM && strncmp(lt_last_error(), "--", 2) != 0) lt_fail_prefix(st, data);
        goto fail;
    }
    lt_dbn *m = M->dbn;
    if (D->x->height && D->x->width && D->x->height * D->x->width == d)
        m->rbm[0]->height = D->x->height, m->rbm[0]->width = D->x->width;
    char sz[16 * 24];
    size_t off = (size_t)snprintf(sz, sizeof sz, "%zu", d);
    for (size_t l = 0; l < m->n_layers; l++) off += (size_t)snprintf(sz + off, sizeof sz - off, ",%zu", m->rbm[l]->nh);
    if ((st = lt_report_str(rep, "family", "dbn")) ||
        (st = lt_report_str(rep, "visible", lt_rbm_visible_name(m->rbm[0]->visible))) ||
        (st = lt_report_str(rep, "layer_sizes", sz)) || (st = lt_report_int(rep, "n_samples", (int64_t)n)) ||
        (st = lt_report_int(rep, "epochs", (int64_t)o.rbm.epochs)) ||
        (st = lt_report_str(rep, "training", o.rbm.persistent ? "pcd" : "cd")) ||
        (st = lt_report_int(rep, "cd_k", (int64_t)o.rbm.cd_k)) || (st = lt_report_str(rep, "binarize", M->binarize)))
        goto fail;
    double *re = lt_malloc(m->n_layers, sizeof(double));
    if (!re) {
        st = LT_ERR_NOMEM;
        goto fail;
    }
    for (size_t l = 0; l < m->n_layers; l++) re[l] = m->rbm[l]->recon_error;
    st = lt_report_nums(rep, "reconstruction_error", re, m->n_layers);
    free(re);
    if (st) goto fail;
    if (m->n_classes && ((st = lt_report_int(rep, "n_classes", (int64_t)m->n_classes)) ||
                         (st = lt_report_int(rep, "finetune_epochs", (int64_t)m->finetune_epochs)) ||
                         (st = lt_report_num(rep, "train_accuracy", m->train_accuracy))))
        goto fail;
    free(x);
    free(y);
    *out = M;
    return LT_OK;
fail:
    free(x);
    free(y);
    dbn_model_free(M);
    return st;
}

static lt_status dbn_score(const void *impl, const lt_dataset *D, const lt_kv *opts, size_t n_opts, int threads,
                           double *logp, lt_score *sum)
{
    const dbn_model *M = impl;
    const lt_dbn *m = M->dbn;
    const lt_rbm *top = m->rbm[m->n_layers - 1];
    uint64_t seed = lt_rbm_opt_seed(opts, n_opts);
    const char *method = lt_kv_get(opts, n_opts, "method");
    if (!method) method = "auto";
    size_t runs, betas, draws;
    LT_CHECK(lt_kv_size(opts, n_opts, "ais-runs", 100, &runs));
    LT_CHECK(lt_kv_size(opts, n_opts, "ais-betas", 10000, &betas));
    LT_CHECK(lt_kv_size(opts, n_opts, "bound-draws", 10, &draws));
    if (strcmp(method, "auto") && strcmp(method, "exact") && strcmp(method, "ais"))
        return lt_fail(LT_ERR_INVALID, "--method: expected auto, exact or ais, found '%s'", method);
    if (runs < 2) return lt_fail(LT_ERR_INVALID, "--ais-runs: at least 2");
    if (betas < 1) return lt_fail(LT_ERR_INVALID, "--ais-betas: at least 1");
    if (draws < 1) return lt_fail(LT_ERR_INVALID, "--bound-draws: at least 1");
    size_t bits = top->visible == LT_RBM_GAUSSIAN || top->nh <= top->nv ? top->nh : top->nv;
    if (strcmp(method, "auto") == 0) method = bits <= 20 ? "exact" : "ais";
    float *x = NULL;
    size_t n;
    LT_CHECK(lt_bm_prepare_for(D, opts, n_opts, M->binarize, m->rbm[0]->nv, &x, &n));
    double *lp = logp ? logp : lt_malloc(n, sizeof(double));
    if (!lp) {
        free(x);
        return LT_ERR_NOMEM;
    }
    double log_z = 0, se_z = 0;
    lt_status st;
    int exact = strcmp(method, "exact") == 0;
    if (exact) {
        st = lt_rbm_log_z_exact(top, threads, &log_z);
    } else {
        lt_ais_options ao;
        lt_ais_options_default(&ao);
        ao.runs = runs, ao.betas = betas, ao.seed = seed, ao.threads = threads;
        lt_ais_result r;
        st = lt_rbm_ais(top, &ao, &r);
        log_z = r.log_z, se_z = r.log_z_stderr;
    }
    if (st == LT_OK) st = lt_dbn_lower_bound(m, x, n, log_z, draws, seed, threads, lp);
    if (st == LT_OK && sum) {
        lt_score s = {0};
        lt_mean_stderr(lp, n, &s.mean, &s.stderr_mean);
        s.stderr_mean = sqrt(s.stderr_mean * s.stderr_mean + se_z * se_z);
        s.total = s.mean * (double)n, s.count = n, s.unit = "sample";
        if (m->n_layers == 1) {
            s.kind = exact ? LT_SCORE_EXACT : LT_SCORE_ESTIMATE;
            s.method = exact ? "one layer: an RBM, exact log p(v)" : "one layer: an RBM, log p(v) with log Z by AIS";
        } else {
            s.kind = LT_SCORE_LOWER_BOUND;
            s.method = exact ? "variational lower bound (Salakhutdinov and Murray 2008), Monte Carlo over the up-pass "
                               "posterior, log Z of the top RBM exact"
                             : "variational lower bound (Salakhutdinov and Murray 2008), Monte Carlo over the up-pass "
                               "posterior, log Z of the top RBM by AIS: an estimate of the bound";
        }
        *sum = s;
    }
    if (lp != logp) free(lp);
    free(x);
    return st;
}

static lt_status dbn_sample(const void *impl, size_t n, uint64_t seed, const lt_kv *opts, size_t n_opts,
                            lt_dataset **out)
{
    const dbn_model *M = impl;
    size_t steps;
    LT_CHECK(lt_kv_size(opts, n_opts, "gibbs-steps", 1000, &steps));
    if (steps < 1) return lt_fail(LT_ERR_INVALID, "--gibbs-steps: at least 1");
    const lt_rbm *b = M->dbn->rbm[0];
    lt_array *a;
    LT_CHECK(lt_array_create(n, b->nv, LT_F32, &a));
    lt_status st = lt_dbn_sample(M->dbn, n, steps, lt_kv_flag(opts, n_opts, "mean"), seed, 0, a->data);
    if (st) {
        lt_array_free(a);
        return st;
    }
    a->height = b->height, a->width = b->width;
    return lt_dataset_from_array(a, out);
}

static lt_status dbn_write(const void *impl, const lt_dataset *D, const char *path)
{
    const dbn_model *M = impl;
    return lt_rbm_write_samples(M->dbn->rbm[0], D, path);
}

static lt_status dbn_infer(const void *impl, const lt_dataset *D, const lt_kv *opts, size_t n_opts, int threads,
                           lt_array **out, char ***columns)
{
    const dbn_model *M = impl;
    const lt_dbn *m = M->dbn;
    float *x = NULL, *h = NULL;
    size_t n;
    LT_CHECK(lt_bm_prepare_for(D, opts, n_opts, M->binarize, m->rbm[0]->nv, &x, &n));
    size_t C = m->n_classes, cols = C ? C + 1 : 0, maxh = 0;
    for (size_t l = 0; l < m->n_layers; l++) {
        cols += m->rbm[l]->nh;
        if (m->rbm[l]->nh > maxh) maxh = m->rbm[l]->nh;
    }
    if (C > maxh) maxh = C;
    lt_array *a = NULL;
    char **names = NULL;
    lt_status st;
    if ((st = lt_array_create(n, cols, LT_F32, &a))) goto fail;
    if (!(h = lt_malloc(n * maxh + 1, sizeof(float)))) {
        st = LT_ERR_NOMEM;
        goto fail;
    }
    float *o = a->data;
    size_t c0 = 0;
    if (C) {
        if ((st = lt_dbn_classify(m, x, n, threads, h))) goto fail;
        for (size_t i = 0; i < n; i++) {
            size_t best = 0;
            for (size_t c = 0; c < C; c++) {
                o[i * cols + 1 + c] = h[i * C + c];
                if (h[i * C + c] > h[i * C + best]) best = c;
            }
            o[i * cols] = (float)best;
        }
        c0 = C + 1;
    }
    for (size_t l = 0; l < m->n_layers; l++) {
        size_t k = m->rbm[l]->nh;
        if ((st = lt_dbn_up(m, x, n, l + 1, threads, h))) goto fail;
        for (size_t i = 0; i < n; i++) memcpy(o + i * cols + c0, h + i * k, k * sizeof(float));
        c0 += k;
    }
    if (columns) {
        if (!(names = lt_calloc(cols + 1, sizeof(char *)))) {
            st = LT_ERR_NOMEM;
            goto fail;
        }
        size_t c = 0;
        char buf[48];
        if (C) {
            names[c++] = strdup("label");
            for (size_t k = 0; k < C; k++) snprintf(buf, sizeof buf, "p_%zu", k), names[c++] = strdup(buf);
        }
        for (size_t l = 0; l < m->n_layers; l++)
            for (size_t j = 0; j < m->rbm[l]->nh; j++) snprintf(buf, sizeof buf, "h%zu_%zu", l + 1, j), names[c++] = strdup(buf);
        for (size_t k = 0; k < cols; k++)
            if (!names[k]) {
                st = lt_fail(LT_ERR_NOMEM, "out of memory");
                goto fail;
            }
        *columns = names;
    }
    free(x), free(h);
    *out = a;
    return LT_OK;
fail:
    lt_strings_free(names);
    lt_array_free(a);
    free(x), free(h);
    return st;
}

static lt_status dbn_save_impl(const void *impl, const char *path)
{
    const dbn_model *M = impl;
    return write_dbn(M->dbn, M->binarize, path);
}

static lt_status dbn_load_impl(const lt_st_file *f, const char *path, void **out)
{
    dbn_model *M = lt_calloc(1, sizeof *M);
    if (!M) return LT_ERR_NOMEM;
    lt_status st = dbn_from_st(f, path, &M->dbn);
    if (st) {
        free(M);
        return st;
    }
    if ((st = lt_bm_meta_binarize(f, path, M->binarize))) {
        dbn_model_free(M);
        return st;
    }
    *out = M;
    return LT_OK;
}

static lt_status dbn_describe(const void *impl, lt_report *r)
{
    const dbn_model *M = impl;
    const lt_dbn *m = M->dbn;
    const lt_rbm *b = m->rbm[0];
    char sz[16 * 24];
    size_t off = (size_t)snprintf(sz, sizeof sz, "%zu", b->nv), np = 0;
    for (size_t l = 0; l < m->n_layers; l++) {
        off += (size_t)snprintf(sz + off, sizeof sz - off, ",%zu", m->rbm[l]->nh);
        np += m->rbm[l]->nv * m->rbm[l]->nh + m->rbm[l]->nh + (l == 0 ? b->nv : 0);
    }
    LT_CHECK(lt_report_str(r, "visible", lt_rbm_visible_name(b->visible)));
    LT_CHECK(lt_report_str(r, "layer_sizes", sz));
    LT_CHECK(lt_report_int(r, "n_layers", (int64_t)m->n_layers));
    LT_CHECK(lt_report_int(r, "n_parameters", (int64_t)np));
    if (b->height) {
        char buf[64];
        snprintf(buf, sizeof buf, "%zux%zu", b->height, b->width);
        LT_CHECK(lt_report_str(r, "image_shape", buf));
    }
    LT_CHECK(lt_report_str(r, "binarize", M->binarize));
    LT_CHECK(lt_report_str(r, "training", b->persistent ? "pcd" : "cd"));
    LT_CHECK(lt_report_int(r, "cd_k", (int64_t)b->cd_k));
    LT_CHECK(lt_report_int(r, "epochs", (int64_t)b->epochs));
    LT_CHECK(lt_report_int(r, "seed", (int64_t)b->seed));
    LT_CHECK(lt_report_int(r, "train_samples", (int64_t)b->train_n));
    if (m->n_classes) {
        LT_CHECK(lt_report_int(r, "n_classes", (int64_t)m->n_classes));
        LT_CHECK(lt_report_int(r, "finetune_epochs", (int64_t)m->finetune_epochs));
        LT_CHECK(lt_report_num(r, "train_accuracy", m->train_accuracy));
    }
    return LT_OK;
}

const lt_family lt_dbn_family = {
    .name = "dbn",
    .summary = "deep belief net (greedy stack of RBMs; lower-bound scores; optional fine-tuning as a classifier)",
    .options = dbn_options,
    .n_options = sizeof dbn_options / sizeof *dbn_options,
    .fit = dbn_fit,
    .score = dbn_score,
    .sample = dbn_sample,
    .write = dbn_write,
    .infer = dbn_infer,
    .save = dbn_save_impl,
    .load = dbn_load_impl,
    .describe = dbn_describe,
    .free = dbn_model_free,
};
