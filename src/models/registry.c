/* The family registry and the generic verbs over the model table. */
#include "latent/dbm.h"
#include "latent/dbn.h"
#include "latent/gmm.h"
#include "latent/hmm.h"
#include "latent/lda.h"
#include "latent/model.h"
#include "latent/rbm.h"

#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const lt_family *const families[] = {&lt_gmm_family, &lt_hmm_family, &lt_lda_family, &lt_rbm_family, &lt_dbn_family,
                                             &lt_dbm_family};

size_t lt_family_count(void) { return sizeof families / sizeof *families; }

const lt_family *lt_family_at(size_t i) { return i < lt_family_count() ? families[i] : NULL; }

const lt_family *lt_family_find(const char *name)
{
    for (size_t i = 0; i < lt_family_count(); i++)
        if (name && strcmp(families[i]->name, name) == 0) return families[i];
    return NULL;
}

const char *lt_score_kind_name(lt_score_kind k)
{
    switch (k) {
    case LT_SCORE_EXACT: return "exact";
    case LT_SCORE_LOWER_BOUND: return "lower bound";
    case LT_SCORE_ESTIMATE: return "estimate";
    }
    return "unknown";
}

static lt_status unsupported(const lt_family *f, const char *verb)
{
    return lt_fail(LT_ERR_UNSUPPORTED, "%s: %s is not supported", f->name, verb);
}

/* ------------------------------------------------------------ datasets */

lt_status lt_dataset_from_array(lt_array *x, lt_dataset **out)
{
    *out = NULL;
    lt_dataset *d = lt_calloc(1, sizeof *d);
    if (!d) {
        lt_array_free(x);
        return LT_ERR_NOMEM;
    }
    d->x = x;
    d->n_steps = x->rows;
    *out = d;
    return LT_OK;
}

void lt_dataset_free(lt_dataset *d)
{
    if (!d) return;
    lt_array_free(d->x);
    free(d->symbols);
    free(d->lengths);
    if (d->vocab)
        for (size_t i = 0; i < d->vocab_size; i++) free(d->vocab[i]);
    free(d->vocab);
    free(d->source);
    free(d);
}

size_t lt_dataset_samples(const lt_dataset *d) { return d->lengths ? d->n_seqs : d->n_steps; }

/* ------------------------------------------------------------ verbs */

lt_status lt_model_read(const lt_family *fam, const char *path, lt_format fmt, const lt_kv *opts, size_t n_opts,
                        const lt_model *model, lt_dataset **out)
{
    *out = NULL;
    if (fam->read) {
        LT_CHECK(fam->read(path, fmt, opts, n_opts, model ? model->impl : NULL, out));
    } else {
        lt_array *x;
        LT_CHECK(lt_data_read(path, fmt, &x));
        LT_CHECK(lt_dataset_from_array(x, out));
    }
    if (!(*out)->source && !((*out)->source = strdup(path))) {
        lt_dataset_free(*out);
        *out = NULL;
        return lt_fail(LT_ERR_NOMEM, "out of memory");
    }
    return LT_OK;
}

lt_status lt_model_fit(const lt_family *fam, const lt_dataset *data, const lt_kv *opts, size_t n_opts,
                       const lt_fit_ctl *ctl, lt_report *report, lt_model **out)
{
    *out = NULL;
    if (!fam->fit) return unsupported(fam, "fit");
    LT_CHECK(lt_kv_check(fam, opts, n_opts, LT_OPT_FIT | LT_OPT_DATA));
    lt_model *m = lt_calloc(1, sizeof *m);
    if (!m) return LT_ERR_NOMEM;
    m->family = fam;
    lt_status st = fam->fit(data, opts, n_opts, ctl, report, &m->impl);
    if (st != LT_OK) {
        free(m);
        return st;
    }
    *out = m;
    return LT_OK;
}

lt_status lt_model_score_opts(const lt_model *m, const lt_dataset *data, const lt_kv *opts, size_t n_opts,
                              int threads, double *logp, lt_score *summary)
{
    if (!m->family->score) return unsupported(m->family, "score");
    return m->family->score(m->impl, data, opts, n_opts, threads, logp, summary);
}

lt_status lt_model_score(const lt_model *m, const lt_dataset *data, int threads, double *logp, lt_score *summary)
{
    return lt_model_score_opts(m, data, NULL, 0, threads, logp, summary);
}

lt_status lt_model_sample(const lt_model *m, size_t n, uint64_t seed, const lt_kv *opts, size_t n_opts,
                          lt_dataset **out)
{
    *out = NULL;
    if (!m->family->sample) return unsupported(m->family, "sample");
    LT_CHECK(lt_kv_check(m->family, opts, n_opts, LT_OPT_SAMPLE));
    return m->family->sample(m->impl, n, seed, opts, n_opts, out);
}

lt_status lt_model_write(const lt_model *m, const lt_dataset *data, const char *path)
{
    if (m->family->write) return m->family->write(m->impl, data, path);
    if (!data->x) return lt_fail(LT_ERR_UNSUPPORTED, "%s: these samples cannot be written as an array", m->family->name);
    return lt_data_write(path, data->x);
}

lt_status lt_model_infer(const lt_model *m, const lt_dataset *data, int threads, lt_array **out, char ***columns)
{
    return lt_model_infer_opts(m, data, NULL, 0, threads, out, columns);
}

lt_status lt_model_infer_opts(const lt_model *m, const lt_dataset *data, const lt_kv *opts, size_t n_opts,
                              int threads, lt_array **out, char ***columns)
{
    *out = NULL;
    if (columns) *columns = NULL;
    if (!m->family->infer) return unsupported(m->family, "infer");
    return m->family->infer(m->impl, data, opts, n_opts, threads, out, columns);
}

lt_status lt_model_save(const lt_model *m, const char *path)
{
    if (!m->family->save) return unsupported(m->family, "save");
    return m->family->save(m->impl, path);
}

lt_status lt_model_describe(const lt_model *m, lt_report *report)
{
    LT_CHECK(lt_report_str(report, "kind", m->family->name));
    if (!m->family->describe) return LT_OK;
    return m->family->describe(m->impl, report);
}

lt_status lt_model_load(const char *path, lt_model **out)
{
    *out = NULL;
    lt_st_file *f = NULL;
    LT_CHECK(lt_st_load(path, &f));
    lt_status st = LT_OK;
    const char *fmt = lt_st_meta(f, LT_META_FORMAT), *kind = lt_st_meta(f, LT_META_KIND);
    const lt_family *fam = kind ? lt_family_find(kind) : NULL;
    lt_model *m = NULL;
    if (!fmt || !kind) {
        st = lt_fail(LT_ERR_FORMAT, "%s: not a latent model file (no %s metadata)", path, !fmt ? LT_META_FORMAT : LT_META_KIND);
        goto done;
    }
    if (strcmp(fmt, LT_FORMAT_VERSION) != 0) {
        st = lt_fail(LT_ERR_FORMAT, "%s: model format version %s is not supported (this build reads version %s)", path,
                     fmt, LT_FORMAT_VERSION);
        goto done;
    }
    if (!fam) {
        st = lt_fail(LT_ERR_FORMAT, "%s: unknown model kind '%s'", path, kind);
        goto done;
    }
    if (!fam->load) {
        st = unsupported(fam, "load");
        goto done;
    }
    if (!(m = lt_calloc(1, sizeof *m))) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    m->family = fam;
    if ((st = fam->load(f, path, &m->impl)) != LT_OK) {
        free(m);
        m = NULL;
        goto done;
    }
    *out = m;
done:
    lt_st_free(f);
    return st;
}

void lt_model_free(lt_model *m)
{
    if (!m) return;
    if (m->family->free) m->family->free(m->impl);
    free(m);
}

/* ------------------------------------------------------------ options */

const char *lt_kv_get(const lt_kv *opts, size_t n, const char *name)
{
    const char *v = NULL;
    for (size_t i = 0; i < n; i++) /* the last one given wins, as in most CLIs */
        if (strcmp(opts[i].name, name) == 0) v = opts[i].value;
    return v;
}

lt_status lt_kv_size(const lt_kv *opts, size_t n, const char *name, size_t def, size_t *out)
{
    const char *v = lt_kv_get(opts, n, name);
    if (!v) {
        *out = def;
        return LT_OK;
    }
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (end == v || *end || errno || x < 0)
        return lt_fail(LT_ERR_INVALID, "--%s: expected a non-negative integer, found '%s'", name, v);
    *out = (size_t)x;
    return LT_OK;
}

lt_status lt_kv_real(const lt_kv *opts, size_t n, const char *name, double def, double *out)
{
    const char *v = lt_kv_get(opts, n, name);
    if (!v) {
        *out = def;
        return LT_OK;
    }
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || *end || errno || !isfinite(x))
        return lt_fail(LT_ERR_INVALID, "--%s: expected a number, found '%s'", name, v);
    *out = x;
    return LT_OK;
}

lt_status lt_kv_check(const lt_family *fam, const lt_kv *opts, size_t n, unsigned where)
{
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;
        while (j < fam->n_options && strcmp(fam->options[j].name, opts[i].name) != 0) j++;
        if (j == fam->n_options) return lt_fail(LT_ERR_INVALID, "%s: unknown option --%s", fam->name, opts[i].name);
        unsigned w = fam->options[j].where ? fam->options[j].where : LT_OPT_FIT;
        if (!(w & where)) return lt_fail(LT_ERR_INVALID, "%s: --%s does not apply here", fam->name, opts[i].name);
    }
    return LT_OK;
}

lt_status lt_parse_range(const char *opt, const char *what, const char *s, size_t *lo, size_t *hi)
{
    char *end;
    errno = 0;
    long a = strtol(s, &end, 10), b = a;
    if (end != s && strncmp(end, "..", 2) == 0) {
        const char *t = end + 2;
        b = strtol(t, &end, 10);
        if (end == t) end = (char *)t - 1; /* force the error below */
    }
    if (end == s || *end || errno || a < 1 || b < a || b > 100000)
        return lt_fail(LT_ERR_INVALID, "--%s: expected a number of %s K >= 1 or a range K1..K2, found '%s'", opt, what,
                       s);
    *lo = (size_t)a, *hi = (size_t)b;
    return LT_OK;
}

int lt_kv_flag(const lt_kv *opts, size_t n, const char *name)
{
    const char *v = lt_kv_get(opts, n, name);
    return v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0);
}
