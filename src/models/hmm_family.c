/* The hidden Markov model as a family of the generic model table: reading
 * sequences (text as tokens or characters, rows cut by lengths or an id
 * column), options, the number of states chosen by BIC or AIC over a
 * range, model files, and the generic verbs.
 *
 * The model behind the table is an hmm_model: the lt_hmm and how its
 * training data were read (tokens, characters with their alphabet, or
 * rows), so that scoring reads new data the same way and samples are
 * written the way the data came. lt_hmm_save does not take extra metadata,
 * so the save hook writes the lt_hmm to a temporary file beside the target,
 * adds its own keys ("input", "text.*" and the fit's hyper-parameters) and
 * writes the final file from that, atomically.
 *
 * Scores are exact (forward algorithm) and reported per step: the mean is
 * sum_i log p(x_i) / sum_i T_i over the sequences i, and its standard
 * error is the ratio estimator's over sequences (delta method),
 *     se = sqrt(n / (n - 1) * sum_i (L_i - mean * T_i)^2) / sum_i T_i,
 * which is the usual standard error of the per-step mean when all
 * sequences have the same length. It needs two sequences or more; with one
 * it is not available (NaN, printed as such), since the steps of one
 * sequence are not independent.
 */
#include "latent/hmm.h"
#include "latent/io.h"
#include "latent/seqio.h"

#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ------------------------------------------------------------ the model */

typedef enum input_kind { INPUT_ROWS = 0, INPUT_TOKENS, INPUT_CHARS } input_kind;

typedef struct hmm_model {
    lt_hmm *hmm;
    input_kind input;
    /* text: how it was read (strings owned) */
    int lowercase, whole_file, squeeze;
    char *alphabet, *replace;
    /* the fit's options, for the record (model file and `latent info`) */
    int have_fit;
    double tol, start_prior, trans_prior, reg_covar;
    size_t max_iter, n_init;
    char params[8], init_params[8];
    int warm_start;
} hmm_model;

static void model_free(hmm_model *m)
{
    if (!m) return;
    lt_hmm_free(m->hmm);
    free(m->alphabet);
    free(m->replace);
    free(m);
}

static void hmm_free_impl(void *m)
{
    model_free(m);
}

static const char *input_name(input_kind k)
{
    return k == INPUT_TOKENS ? "tokens" : k == INPUT_CHARS ? "characters" : "rows";
}

static void letters_of(unsigned f, char out[8])
{
    size_t n = 0;
    if (f & LT_HMM_START) out[n++] = 's';
    if (f & LT_HMM_TRANS) out[n++] = 't';
    if (f & LT_HMM_EMIT) out[n++] = 'e';
    out[n] = '\0';
}

static char *dup_or_null(const char *s, lt_status *st)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *st = lt_fail(LT_ERR_NOMEM, "out of memory");
    return d;
}

/* ------------------------------------------------------------ options */

static const lt_option_spec hmm_options[] = {
    {"states", 'k', LT_OPT_STRING, "2", "K|K1..K2",
     "hidden states; a range fits each K and keeps the best by --criterion", LT_OPT_FIT},
    {"emission", 0, LT_OPT_STRING, NULL, "E",
     "categorical, gaussian, gmm or poisson (default: categorical for text, gaussian for rows)", LT_OPT_FIT},
    {"cov", 0, LT_OPT_STRING, "diag", "TYPE", "gaussian/gmm covariance: full, diag, spherical or tied", LT_OPT_FIT},
    {"n-mix", 0, LT_OPT_INT, "2", "M", "gmm: Gaussians per state", LT_OPT_FIT},
    {"params", 0, LT_OPT_STRING, "ste", "LETTERS",
     "what EM trains: s start, t transitions, e emissions (m, c, w also mean e)", LT_OPT_FIT},
    {"init-params", 0, LT_OPT_STRING, NULL, "LETTERS",
     "what is initialised from the data, the rest coming from --init (default ste; with --init none)", LT_OPT_FIT},
    {"init", 0, LT_OPT_STRING, NULL, "MODEL", "an HMM file to start EM from (a warm start)", LT_OPT_FIT},
    {"start-prior", 0, LT_OPT_REAL, "1", "A", "Dirichlet concentration on the start probabilities (1: none)",
     LT_OPT_FIT},
    {"trans-prior", 0, LT_OPT_REAL, "1", "A", "Dirichlet concentration on each row of transitions (1: none)",
     LT_OPT_FIT},
    {"tol", 0, LT_OPT_REAL, "1e-4", "T", "stop when the log-likelihood per step gains less than T", LT_OPT_FIT},
    {"max-iter", 0, LT_OPT_INT, "100", "M", "EM iterations at most", LT_OPT_FIT},
    {"n-init", 0, LT_OPT_INT, "1", "N", "EM runs from different initialisations; the best is kept", LT_OPT_FIT},
    {"reg-covar", 0, LT_OPT_REAL, "1e-6", "R", "gaussian/gmm: added to every variance", LT_OPT_FIT},
    {"criterion", 0, LT_OPT_STRING, "bic", "C", "bic or aic: how a range of states is decided", LT_OPT_FIT},
    {"mask", 0, LT_OPT_STRING, NULL, "FILE", "allowed transitions: a K x K CSV of 0 and 1 (0: never), kept through EM",
     LT_OPT_FIT},
    {"left-to-right", 0, LT_OPT_FLAG, NULL, "", "transitions only from a state to itself or the next one", LT_OPT_FIT},
    {"sort-vocab", 0, LT_OPT_FLAG, NULL, "", "text: number the symbols in byte order, not first-seen", LT_OPT_FIT},
    {"lengths", 0, LT_OPT_STRING, NULL, "FILE",
     "rows (CSV/NPY): sequence lengths, one positive integer per line (default: one sequence)", LT_OPT_DATA},
    {"seq-column", 0, LT_OPT_STRING, NULL, "N|NAME",
     "rows: the column (from 1, or a header name) of sequence ids; equal neighbours form a sequence", LT_OPT_DATA},
    {"tokens", 0, LT_OPT_FLAG, NULL, "", "read text: whitespace-separated tokens, a sequence per line (.txt default)",
     LT_OPT_DATA},
    {"chars", 0, LT_OPT_FLAG, NULL, "",
     "read text as characters (UTF-8), a sequence per line; score and infer read text as the model was fitted",
     LT_OPT_DATA},
    {"whole-file", 0, LT_OPT_FLAG, NULL, "", "characters: the whole file is one sequence, line breaks included",
     LT_OPT_DATA},
    {"lowercase", 0, LT_OPT_FLAG, NULL, "", "text: fold A-Z to a-z", LT_OPT_DATA},
    {"alphabet", 0, LT_OPT_STRING, NULL, "CHARS", "characters: the characters kept; others are replaced or dropped",
     LT_OPT_DATA},
    {"replace", 0, LT_OPT_STRING, NULL, "C",
     "characters: what stands for a character outside --alphabet (default: drop)", LT_OPT_DATA},
    {"squeeze", 0, LT_OPT_FLAG, NULL, "", "characters: a run of --replace characters becomes one", LT_OPT_DATA},
    {"length", 0, LT_OPT_INT, "100", "L", "sample: steps per sequence", LT_OPT_SAMPLE},
};

/* ------------------------------------------------------------ reading */

static int ends_with_txt(const char *s)
{
    size_t n = strlen(s);
    return n >= 4 && strcasecmp(s + n - 4, ".txt") == 0;
}

static lt_status hmm_read(const char *path, lt_format fmt, const lt_kv *opts, size_t n_opts, const void *model,
                          lt_dataset **out)
{
    const hmm_model *M = model;
    int tokens = lt_kv_flag(opts, n_opts, "tokens"), chars = lt_kv_flag(opts, n_opts, "chars");
    int lower = lt_kv_flag(opts, n_opts, "lowercase"), squeeze = lt_kv_flag(opts, n_opts, "squeeze");
    int whole = lt_kv_flag(opts, n_opts, "whole-file");
    const char *alphabet = lt_kv_get(opts, n_opts, "alphabet"), *replace = lt_kv_get(opts, n_opts, "replace");
    if (tokens && chars) return lt_fail(LT_ERR_INVALID, "--tokens and --chars: give one of them");
    lt_seq_read_options o;
    lt_seq_read_options_default(&o);
    o.format = fmt;
    o.lengths = lt_kv_get(opts, n_opts, "lengths");
    o.seq_column = lt_kv_get(opts, n_opts, "seq-column");
    o.text.sort_vocab = lt_kv_flag(opts, n_opts, "sort-vocab");
    if (!M) {
        if (!chars && (alphabet || replace || squeeze || whole))
            return lt_fail(LT_ERR_INVALID, "--%s applies to characters: add --chars",
                           alphabet  ? "alphabet"
                           : replace ? "replace"
                           : squeeze ? "squeeze"
                                     : "whole-file");
        if (replace && !alphabet) return lt_fail(LT_ERR_INVALID, "--replace needs --alphabet (what to keep)");
        o.input = tokens || chars ? LT_SEQ_TEXT : fmt != LT_FMT_AUTO ? LT_SEQ_ROWS : LT_SEQ_AUTO;
        o.text.chars = chars, o.text.lowercase = lower, o.text.whole_file = whole;
        o.text.alphabet = alphabet, o.text.replace = replace, o.text.squeeze = squeeze;
        return lt_seq_read(path, &o, out);
    }
    /* Scoring: the data are read as the training data were; options given
     * must agree with the model (the segmentation, --whole-file, is free). */
    const lt_hmm *m = M->hmm;
    int categorical = m->emission == LT_EMIT_CATEGORICAL;
    if ((tokens || chars) && !categorical)
        return lt_fail(LT_ERR_INVALID, "the model has %s emissions over rows of numbers; --%s does not apply",
                       lt_emission_name(m->emission), tokens ? "tokens" : "chars");
    if (chars && M->input == INPUT_TOKENS)
        return lt_fail(LT_ERR_INVALID, "the model was fitted on tokens; --chars does not apply");
    if (tokens && M->input == INPUT_CHARS)
        return lt_fail(LT_ERR_INVALID, "the model was fitted on characters; --tokens does not apply");
    if (M->input == INPUT_TOKENS || M->input == INPUT_CHARS) {
        if (lower && !M->lowercase)
            return lt_fail(LT_ERR_INVALID, "the model was fitted without --lowercase; it cannot read text that way");
        if (squeeze && !M->squeeze)
            return lt_fail(LT_ERR_INVALID, "the model was fitted without --squeeze; it cannot read text that way");
        if (alphabet && (!M->alphabet || strcmp(alphabet, M->alphabet) != 0))
            return lt_fail(LT_ERR_INVALID, "--alphabet differs from the model's ('%s')",
                           M->alphabet ? M->alphabet : "");
        if (replace && (!M->replace || strcmp(replace, M->replace) != 0))
            return lt_fail(LT_ERR_INVALID, "--replace differs from the model's ('%s')", M->replace ? M->replace : "");
    } else if (lower || squeeze || alphabet || replace) {
        return lt_fail(LT_ERR_INVALID, "the model was fitted on rows, not text; --%s does not apply",
                       lower      ? "lowercase"
                       : squeeze  ? "squeeze"
                       : alphabet ? "alphabet"
                                  : "replace");
    }
    if (!categorical)
        o.input = LT_SEQ_ROWS;
    else if (tokens || chars)
        o.input = LT_SEQ_TEXT;
    else
        o.input = fmt != LT_FMT_AUTO ? LT_SEQ_ROWS : ends_with_txt(path) ? LT_SEQ_TEXT : LT_SEQ_ROWS;
    if (o.input == LT_SEQ_TEXT) {
        o.text.chars = M->input == INPUT_CHARS || chars;
        o.text.lowercase = M->lowercase, o.text.squeeze = M->squeeze;
        o.text.alphabet = M->alphabet, o.text.replace = M->replace;
        o.text.whole_file = whole || (M->whole_file && o.text.chars);
        o.text.sort_vocab = 0;
        if (m->vocab) o.vocab = (const char *const *)m->vocab, o.vocab_size = m->n_symbols;
    }
    return lt_seq_read(path, &o, out);
}

/* ------------------------------------------------------------ data views */

/* A dataset seen as lt_seqs (borrowed from the dataset, or converted into
 * the owned buffers). */
typedef struct seqview {
    lt_seqs s;
    lt_array *xd;
    int32_t *sym;
    size_t one;
} seqview;

static void view_free(seqview *v)
{
    lt_array_free(v->xd);
    free(v->sym);
}

typedef struct sym_index {
    const char *w;
    int32_t id;
} sym_index;

static int cmp_sym(const void *a, const void *b)
{
    return strcmp(((const sym_index *)a)->w, ((const sym_index *)b)->w);
}

/* Symbol ids of the dataset in terms of `to` (the model's vocabulary, or
 * NULL when the model's symbols are bare integers). */
static lt_status remap(const lt_dataset *D, char *const *to, size_t nto, int32_t **out)
{
    *out = NULL;
    size_t V = D->vocab_size;
    int32_t *map = lt_malloc(V ? V : 1, sizeof *map), *sym = NULL;
    sym_index *idx = to ? lt_malloc(nto ? nto : 1, sizeof *idx) : NULL;
    lt_status st = LT_OK;
    if (!map || (to && !idx)) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    if (to) {
        for (size_t i = 0; i < nto; i++)
            idx[i].w = to[i], idx[i].id = (int32_t)i;
        qsort(idx, nto, sizeof *idx, cmp_sym);
    }
    for (size_t v = 0; v < V; v++) {
        if (to) {
            sym_index key = {D->vocab[v], 0};
            const sym_index *hit = bsearch(&key, idx, nto, sizeof *idx, cmp_sym);
            map[v] = hit ? hit->id : -1;
        } else { /* tokens that are symbol ids */
            char *end;
            errno = 0;
            long long x = strtoll(D->vocab[v], &end, 10);
            map[v] = end != D->vocab[v] && !*end && !errno && x >= 0 && x < INT32_MAX ? (int32_t)x : -1;
        }
    }
    if (!(sym = lt_malloc(D->n_steps ? D->n_steps : 1, sizeof *sym))) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    for (size_t t = 0; t < D->n_steps; t++) {
        int32_t s = D->symbols[t];
        if (s < 0 || (size_t)s >= V) {
            st = lt_fail(LT_ERR_INVALID, "symbol id %d at step %zu is outside the data's vocabulary", (int)s, t + 1);
            goto done;
        }
        if (map[s] < 0) {
            st = to ? lt_fail(LT_ERR_FORMAT, "symbol '%s' is not in the model's vocabulary", D->vocab[s])
                    : lt_fail(LT_ERR_FORMAT,
                              "symbol '%s' is not a symbol id (the model was fitted on integer symbols, not text)",
                              D->vocab[s]);
            goto done;
        }
        sym[t] = map[s];
    }
    *out = sym;
    sym = NULL;
done:
    free(map);
    free(idx);
    free(sym);
    return st;
}

static int same_vocab(const lt_dataset *D, char *const *to, size_t nto)
{
    if (D->vocab_size != nto) return 0;
    for (size_t i = 0; i < nto; i++)
        if (strcmp(D->vocab[i], to[i]) != 0) return 0;
    return 1;
}

/* View D for emissions `e`. For categorical emissions, `to`/`nto` is the
 * vocabulary the ids must refer to (has_vocab: the model has one; to NULL
 * with has_vocab 0 means integer ids; both unset when fitting afresh). */
static lt_status view_of(const lt_dataset *D, lt_emission e, int map_symbols, char *const *to, size_t nto, seqview *v)
{
    memset(v, 0, sizeof *v);
    if (!D || D->n_steps == 0) return lt_fail(LT_ERR_INVALID, "no data (0 steps)");
    v->one = D->n_steps;
    v->s.n_seqs = D->lengths ? D->n_seqs : 1;
    v->s.lengths = D->lengths ? D->lengths : &v->one;
    v->s.total = D->n_steps;
    if (e == LT_EMIT_CATEGORICAL) {
        v->s.dim = 1;
        if (D->symbols) {
            if (map_symbols && D->vocab && !(to && same_vocab(D, to, nto))) {
                LT_CHECK(remap(D, to, nto, &v->sym));
                v->s.symbols = v->sym;
            } else {
                v->s.symbols = D->symbols;
            }
            return LT_OK;
        }
        if (!D->x) return lt_fail(LT_ERR_INVALID, "the dataset holds neither symbols nor rows");
        if (D->x->cols != 1)
            return lt_fail(
                LT_ERR_DIM,
                "categorical emissions need text (a .txt file) or one column of symbol ids; the data has %zu "
                "columns",
                D->x->cols);
        if (!(v->sym = lt_malloc(D->n_steps, sizeof *v->sym))) return LT_ERR_NOMEM;
        for (size_t t = 0; t < D->n_steps; t++) {
            double x = lt_array_get(D->x, t, 0);
            if (!(x >= 0 && x < (double)INT32_MAX) || x != floor(x)) {
                view_free(v);
                return lt_fail(LT_ERR_FORMAT, "row %zu: %g is not a symbol id (a non-negative integer)", t + 1, x);
            }
            v->sym[t] = (int32_t)x;
        }
        v->s.symbols = v->sym;
        return LT_OK;
    }
    if (!D->x)
        return lt_fail(LT_ERR_INVALID, "%s emissions need rows of numbers (CSV or NPY), not text", lt_emission_name(e));
    lt_status st = lt_array_to_f64(D->x, 1, &v->xd);
    if (st) return st;
    v->s.x = v->xd->data;
    v->s.dim = v->xd->cols;
    return LT_OK;
}

/* The model's view of D: its vocabulary and its dimension. */
static lt_status model_view(const hmm_model *M, const lt_dataset *D, seqview *v)
{
    const lt_hmm *m = M->hmm;
    if (m->emission != LT_EMIT_CATEGORICAL && D && D->x && D->x->cols != m->d)
        return lt_fail(LT_ERR_DIM, "data has %zu columns but the model was fitted on %zu", D->x->cols, m->d);
    return view_of(D, m->emission, 1, m->vocab, m->n_symbols, v);
}

/* ------------------------------------------------------------ fit */

static lt_status read_mask(const char *path, size_t k, uint8_t **out)
{
    *out = NULL;
    lt_array *a = NULL;
    LT_CHECK(lt_csv_read(path, &a, NULL));
    lt_status st = LT_OK;
    if (a->rows != k || a->cols != k) {
        st = lt_fail(LT_ERR_DIM, "%s: the mask is %zu x %zu but there are %zu states", path, a->rows, a->cols, k);
        goto done;
    }
    uint8_t *mk = lt_malloc(k * k, 1);
    if (!mk) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < k; i++) {
        size_t allowed = 0;
        for (size_t j = 0; j < k; j++) {
            double v = lt_array_get(a, i, j);
            if (v != 0 && v != 1) {
                free(mk);
                st = lt_fail(LT_ERR_FORMAT, "%s: row %zu, column %zu is %g; a mask holds 0 (forbidden) or 1 (allowed)",
                             path, i + 1, j + 1, v);
                goto done;
            }
            mk[i * k + j] = v == 1;
            allowed += v == 1;
        }
        if (!allowed) {
            free(mk);
            st = lt_fail(LT_ERR_FORMAT, "%s: row %zu allows no transition out of state %zu", path, i + 1, i);
            goto done;
        }
    }
    *out = mk;
done:
    lt_array_free(a);
    return st;
}

static uint8_t *left_to_right_mask(size_t k)
{
    uint8_t *mk = lt_calloc(k * k, 1);
    if (!mk) return NULL;
    for (size_t i = 0; i < k; i++) {
        mk[i * k + i] = 1;
        if (i + 1 < k) mk[i * k + i + 1] = 1;
    }
    return mk;
}

static lt_status copy_vocab(char *const *v, size_t n, char ***out)
{
    *out = NULL;
    char **c = lt_calloc(n ? n : 1, sizeof *c);
    if (!c) return LT_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        if (!(c[i] = strdup(v[i]))) {
            for (size_t j = 0; j < i; j++)
                free(c[j]);
            free(c);
            return lt_fail(LT_ERR_NOMEM, "out of memory copying the vocabulary");
        }
    *out = c;
    return LT_OK;
}

static lt_status hmm_fit(const lt_dataset *D, const lt_kv *opts, size_t n_opts, const lt_fit_ctl *ctl, lt_report *rep,
                         void **out)
{
    lt_hmm_options o;
    lt_hmm_options_default(&o);
    lt_status st = LT_OK;
    const char *data = ctl && ctl->data_path ? ctl->data_path : "data";
    const char *v;
    size_t klo = 2, khi = 2;
    lt_hmm *init_model = NULL, *best = NULL, *cur = NULL;
    uint8_t *mask = NULL;
    hmm_model *M = NULL;
    seqview sv;
    memset(&sv, 0, sizeof sv);
    if (!D || (!D->x && !D->symbols)) return lt_fail(LT_ERR_INVALID, "%s: no data", data);

    if ((v = lt_kv_get(opts, n_opts, "states")) && (st = lt_parse_range("states", "states", v, &klo, &khi))) return st;
    int have_emission = (v = lt_kv_get(opts, n_opts, "emission")) != NULL;
    o.emission = D->symbols ? LT_EMIT_CATEGORICAL : LT_EMIT_GAUSSIAN;
    if (have_emission && (st = lt_emission_parse(v, &o.emission))) return lt_fail_prefix(st, "--emission");
    if ((v = lt_kv_get(opts, n_opts, "cov")) && (st = lt_cov_type_parse(v, &o.cov))) return lt_fail_prefix(st, "--cov");
    if ((st = lt_kv_size(opts, n_opts, "n-mix", 2, &o.n_mix)) ||
        (st = lt_kv_size(opts, n_opts, "n-init", 1, &o.n_init)) ||
        (st = lt_kv_size(opts, n_opts, "max-iter", 100, &o.max_iter)) ||
        (st = lt_kv_real(opts, n_opts, "tol", 1e-4, &o.tol)) ||
        (st = lt_kv_real(opts, n_opts, "start-prior", 1.0, &o.start_prior)) ||
        (st = lt_kv_real(opts, n_opts, "trans-prior", 1.0, &o.trans_prior)) ||
        (st = lt_kv_real(opts, n_opts, "reg-covar", 1e-6, &o.reg_covar)))
        return st;
    if (o.n_mix < 1) return lt_fail(LT_ERR_INVALID, "--n-mix: must be at least 1");
    if (o.n_init < 1) return lt_fail(LT_ERR_INVALID, "--n-init: must be at least 1");
    if (o.tol < 0) return lt_fail(LT_ERR_INVALID, "--tol: must be >= 0");
    if (o.start_prior <= 0) return lt_fail(LT_ERR_INVALID, "--start-prior: must be positive");
    if (o.trans_prior <= 0) return lt_fail(LT_ERR_INVALID, "--trans-prior: must be positive");
    if (o.reg_covar < 0) return lt_fail(LT_ERR_INVALID, "--reg-covar: must be >= 0");
    if ((v = lt_kv_get(opts, n_opts, "params")) && (st = lt_hmm_params_parse(v, &o.params)))
        return lt_fail_prefix(st, "--params");
    int have_init_params = (v = lt_kv_get(opts, n_opts, "init-params")) != NULL;
    if (have_init_params && (st = lt_hmm_params_parse(v, &o.init_params))) return lt_fail_prefix(st, "--init-params");
    const char *crit = lt_kv_get(opts, n_opts, "criterion");
    int use_aic = 0;
    if (crit && strcmp(crit, "aic") == 0)
        use_aic = 1;
    else if (crit && strcmp(crit, "bic") != 0)
        return lt_fail(LT_ERR_INVALID, "--criterion: expected bic or aic, found '%s'", crit);
    const char *mask_path = lt_kv_get(opts, n_opts, "mask");
    int ltr = lt_kv_flag(opts, n_opts, "left-to-right");
    if (mask_path && ltr) return lt_fail(LT_ERR_INVALID, "--mask and --left-to-right: give one of them");
    if (mask_path && klo != khi)
        return lt_fail(LT_ERR_INVALID, "--mask fixes the number of states; give one K, not a range");
    if (ctl) {
        o.seed = ctl->seed;
        o.threads = ctl->threads;
        o.progress = ctl->progress;
        o.progress_ud = ctl->progress_ud;
    }
    const char *init_path = lt_kv_get(opts, n_opts, "init");
    if (init_path) {
        if ((st = lt_hmm_load(init_path, &init_model))) return lt_fail_prefix(st, "--init");
        if (klo != khi || (lt_kv_get(opts, n_opts, "states") && klo != init_model->k)) {
            st = lt_fail(LT_ERR_INVALID, "--init %s: the model has %zu states; give no --states or that one", init_path,
                         init_model->k);
            goto done;
        }
        klo = khi = init_model->k;
        if (have_emission && o.emission != init_model->emission) {
            st = lt_fail(LT_ERR_INVALID, "--init %s: the model has %s emissions, not %s", init_path,
                         lt_emission_name(init_model->emission), lt_emission_name(o.emission));
            goto done;
        }
        o.emission = init_model->emission;
        if ((o.emission == LT_EMIT_CATEGORICAL) != (D->symbols != NULL) &&
            !(o.emission == LT_EMIT_CATEGORICAL && D->x && D->x->cols == 1)) {
            st = lt_fail(LT_ERR_DIM, "--init %s: the model has %s emissions, but %s holds %s", init_path,
                         lt_emission_name(o.emission), data, D->symbols ? "text" : "rows of numbers");
            goto done;
        }
        if (o.emission == LT_EMIT_GAUSSIAN || o.emission == LT_EMIT_GMM) {
            if (lt_kv_get(opts, n_opts, "cov") && o.cov != init_model->cov) {
                st = lt_fail(LT_ERR_INVALID, "--init %s: the model has %s covariance, not %s", init_path,
                             lt_cov_type_name(init_model->cov), lt_cov_type_name(o.cov));
                goto done;
            }
            o.cov = init_model->cov;
        }
        if (o.emission == LT_EMIT_GMM) o.n_mix = init_model->n_mix;
        if (!have_init_params) o.init_params = 0;
        o.init_model = init_model;
    } else if (have_init_params && o.init_params != LT_HMM_ALL) {
        return lt_fail(LT_ERR_INVALID,
                       "--init-params %s leaves parameters uninitialised; they can only come from a model (--init)",
                       lt_kv_get(opts, n_opts, "init-params"));
    }
    if (o.emission == LT_EMIT_CATEGORICAL && init_model && init_model->vocab && D->symbols && D->vocab) {
        /* the data's symbols renumbered as the initial model's */
        st = view_of(D, o.emission, 1, init_model->vocab, init_model->n_symbols, &sv);
        if (st) {
            lt_fail_prefix(st, init_path);
            lt_fail_prefix(st, "--init");
            goto done;
        }
    } else {
        st = view_of(D, o.emission, 0, NULL, 0, &sv);
        if (st) {
            lt_fail_prefix(st, data);
            goto done;
        }
    }
    if (o.emission == LT_EMIT_CATEGORICAL) {
        if (init_model && init_model->emission == LT_EMIT_CATEGORICAL)
            o.n_symbols = init_model->n_symbols;
        else if (D->symbols && D->vocab)
            o.n_symbols = D->vocab_size;
    }
    size_t n = sv.s.total;
    static const char *cols[] = {"states", "loglik", "n_params", "bic", "aic", "n_iter", "converged"};
    if (klo != khi &&
        (st = lt_report_table(rep, "selection", "model selection (log-likelihood in nats per step)", 7, cols)))
        goto done;
    double best_crit = INFINITY, best_bic = NAN, best_aic = NAN;
    for (size_t k = klo; k <= khi; k++) {
        o.k = k;
        free(mask);
        mask = NULL;
        if (mask_path && (st = read_mask(mask_path, k, &mask))) goto done;
        if (ltr && !(mask = left_to_right_mask(k))) {
            st = LT_ERR_NOMEM;
            goto done;
        }
        o.mask = mask;
        if ((st = lt_hmm_fit(&o, &sv.s, &cur))) {
            if (klo != khi) {
                char pre[64];
                snprintf(pre, sizeof pre, "states = %zu", k);
                lt_fail_prefix(st, pre);
            }
            lt_fail_prefix(st, data);
            goto done;
        }
        double bic, aic;
        if ((st = lt_hmm_bic(cur, &sv.s, o.threads, &bic, &aic))) goto done;
        if (klo != khi) {
            double ll = -(bic - (double)lt_hmm_n_parameters(cur) * log((double)n)) / 2.0 / (double)n;
            double row[7] = {(double)k,     ll, (double)lt_hmm_n_parameters(cur), bic, aic, (double)cur->n_iter,
                             cur->converged};
            if ((st = lt_report_table_row(rep, "selection", row))) goto done;
        }
        double c = use_aic ? aic : bic;
        if (c < best_crit || !best) {
            best_crit = c;
            lt_hmm_free(best);
            best = cur;
            best_bic = bic, best_aic = aic;
        } else {
            lt_hmm_free(cur);
        }
        cur = NULL;
    }
    if (best->emission == LT_EMIT_CATEGORICAL && !best->vocab && D->symbols && D->vocab &&
        D->vocab_size == best->n_symbols && (st = copy_vocab(D->vocab, D->vocab_size, &best->vocab)))
        goto done;
    if (!(M = lt_calloc(1, sizeof *M))) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    M->hmm = best;
    best = NULL;
    if (D->symbols && M->hmm->emission == LT_EMIT_CATEGORICAL && D->vocab) {
        M->input = D->chars ? INPUT_CHARS : INPUT_TOKENS;
        M->lowercase = lt_kv_flag(opts, n_opts, "lowercase");
        if (D->chars) {
            M->whole_file = lt_kv_flag(opts, n_opts, "whole-file");
            M->squeeze = lt_kv_flag(opts, n_opts, "squeeze");
            M->alphabet = dup_or_null(lt_kv_get(opts, n_opts, "alphabet"), &st);
            M->replace = dup_or_null(lt_kv_get(opts, n_opts, "replace"), &st);
            if (st) goto done;
        }
    }
    M->have_fit = 1;
    M->tol = o.tol, M->start_prior = o.start_prior, M->trans_prior = o.trans_prior, M->reg_covar = o.reg_covar;
    M->max_iter = o.max_iter, M->n_init = o.n_init;
    letters_of(o.params, M->params);
    letters_of(o.init_params, M->init_params);
    M->warm_start = init_model != NULL;
    const lt_hmm *h = M->hmm;
    if ((st = lt_report_str(rep, "family", "hmm")) || (st = lt_report_int(rep, "states", (int64_t)h->k)) ||
        (st = lt_report_str(rep, "emission", lt_emission_name(h->emission))))
        goto done;
    if ((h->emission == LT_EMIT_GAUSSIAN || h->emission == LT_EMIT_GMM) &&
        (st = lt_report_str(rep, "covariance_type", lt_cov_type_name(h->cov))))
        goto done;
    if (h->emission == LT_EMIT_GMM && (st = lt_report_int(rep, "n_mix", (int64_t)h->n_mix))) goto done;
    if (h->emission == LT_EMIT_CATEGORICAL ? (st = lt_report_int(rep, "n_symbols", (int64_t)h->n_symbols))
                                           : (st = lt_report_int(rep, "n_features", (int64_t)h->d)))
        goto done;
    if ((st = lt_report_str(rep, "input", input_name(M->input))) ||
        (st = lt_report_int(rep, "n_sequences", (int64_t)sv.s.n_seqs)) ||
        (st = lt_report_int(rep, "n_steps", (int64_t)n)) ||
        (st = lt_report_num(rep, "log_likelihood", h->log_likelihood)) ||
        (st = lt_report_int(rep, "n_parameters", (int64_t)lt_hmm_n_parameters(h))) ||
        (st = lt_report_int(rep, "n_iter", (int64_t)h->n_iter)) ||
        (st = lt_report_bool(rep, "converged", h->converged)) ||
        (st = lt_report_int(rep, "best_init", (int64_t)h->best_init)) ||
        (st = lt_report_int(rep, "n_repaired", (int64_t)h->n_repaired)) || (st = lt_report_num(rep, "bic", best_bic)) ||
        (st = lt_report_num(rep, "aic", best_aic)))
        goto done;
    if (klo != khi && (st = lt_report_str(rep, "selected_by", use_aic ? "aic" : "bic"))) goto done;
    *out = M;
    M = NULL;
done:
    model_free(M);
    lt_hmm_free(best);
    lt_hmm_free(cur);
    lt_hmm_free(init_model);
    free(mask);
    view_free(&sv);
    return st;
}

/* ------------------------------------------------------------ score, infer */

static lt_status hmm_score(const void *impl, const lt_dataset *D, const lt_kv *opts, size_t n_opts, int threads,
                           double *logp, lt_score *sum)
{
    (void)opts, (void)n_opts;
    const hmm_model *M = impl;
    seqview sv;
    LT_CHECK(model_view(M, D, &sv));
    size_t ns = sv.s.n_seqs;
    double *lp = logp ? logp : lt_malloc(ns, sizeof(double));
    lt_status st = lp ? LT_OK : LT_ERR_NOMEM;
    if (st == LT_OK) st = lt_hmm_score(M->hmm, &sv.s, threads, lp);
    if (st == LT_OK && sum) {
        double total = 0.0, steps = (double)sv.s.total;
        for (size_t i = 0; i < ns; i++)
            total += lp[i];
        double mean = total / steps, ss = 0.0;
        for (size_t i = 0; i < ns; i++) {
            double e = lp[i] - mean * (double)sv.s.lengths[i];
            ss += e * e;
        }
        sum->mean = mean;
        sum->total = total;
        sum->count = sv.s.total;
        sum->stderr_mean = ns > 1 && isfinite(mean) ? sqrt((double)ns / (double)(ns - 1) * ss) / steps : NAN;
        sum->kind = LT_SCORE_EXACT;
        sum->unit = "step";
        sum->method = "exact log p(x) by the forward algorithm";
    }
    if (lp != logp) free(lp);
    view_free(&sv);
    return st;
}

static lt_status hmm_infer(const void *impl, const lt_dataset *D, const lt_kv *opts, size_t n_opts, int threads,
                           lt_array **out, char ***columns)
{
    (void)opts, (void)n_opts;
    const hmm_model *M = impl;
    const lt_hmm *m = M->hmm;
    seqview sv;
    LT_CHECK(model_view(M, D, &sv));
    size_t n = sv.s.total, k = m->k, nc = k + 4;
    lt_array *a = NULL;
    double *post = lt_malloc(n, k * sizeof(double));
    int32_t *path = lt_malloc(n, sizeof(int32_t));
    char **names = NULL;
    lt_status st = post && path ? LT_OK : LT_ERR_NOMEM;
    if (st == LT_OK) st = lt_hmm_viterbi(m, &sv.s, threads, path, NULL);
    if (st == LT_OK) st = lt_hmm_posteriors(m, &sv.s, threads, post);
    if (st == LT_OK) st = lt_array_create(n, nc, LT_F64, &a);
    if (st) goto done;
    double *o = a->data;
    for (size_t s = 0, t = 0; s < sv.s.n_seqs; s++)
        for (size_t i = 0; i < sv.s.lengths[s]; i++, t++) {
            double *row = o + t * nc;
            const double *p = post + t * k;
            size_t arg = 0;
            for (size_t j = 1; j < k; j++)
                if (p[j] > p[arg]) arg = j;
            row[0] = (double)s, row[1] = (double)i, row[2] = (double)path[t], row[3] = (double)arg;
            memcpy(row + 4, p, k * sizeof(double));
        }
    if (columns) {
        if (!(names = lt_calloc(nc + 1, sizeof *names))) {
            st = LT_ERR_NOMEM;
            goto done;
        }
        static const char *fixed[] = {"sequence", "step", "viterbi", "posterior_state"};
        for (size_t j = 0; j < 4; j++)
            names[j] = strdup(fixed[j]);
        for (size_t j = 0; j < k; j++) {
            char b[32];
            snprintf(b, sizeof b, "p_%zu", j);
            names[4 + j] = strdup(b);
        }
        for (size_t j = 0; j < nc; j++)
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
    free(post);
    free(path);
    view_free(&sv);
    return st;
}

/* ------------------------------------------------------------ sample, write */

static lt_status hmm_sample(const void *impl, size_t n, uint64_t seed, const lt_kv *opts, size_t n_opts,
                            lt_dataset **out)
{
    const hmm_model *M = impl;
    const lt_hmm *m = M->hmm;
    size_t len;
    LT_CHECK(lt_kv_size(opts, n_opts, "length", 100, &len));
    if (len < 1) return lt_fail(LT_ERR_INVALID, "--length: must be at least 1");
    if (n < 1) return lt_fail(LT_ERR_INVALID, "sample: n must be at least 1");
    int ok = 1;
    size_t total = lt_mul_size(n, len, &ok);
    if (!ok || total > ((size_t)1 << 34))
        return lt_fail(LT_ERR_INVALID, "%zu sequences of %zu steps are too many", n, len);
    lt_dataset *d = lt_calloc(1, sizeof *d);
    if (!d) return LT_ERR_NOMEM;
    lt_status st = LT_OK;
    d->n_steps = total, d->n_seqs = n;
    if (!(d->lengths = lt_malloc(n, sizeof *d->lengths))) {
        st = LT_ERR_NOMEM;
        goto fail;
    }
    for (size_t i = 0; i < n; i++)
        d->lengths[i] = len;
    if (m->emission == LT_EMIT_CATEGORICAL) {
        if (!(d->symbols = lt_malloc(total, sizeof *d->symbols))) {
            st = LT_ERR_NOMEM;
            goto fail;
        }
        if ((st = lt_hmm_sample(m, n, len, seed, NULL, NULL, d->symbols))) goto fail;
        if (m->vocab) {
            if ((st = copy_vocab(m->vocab, m->n_symbols, &d->vocab))) goto fail;
            d->vocab_size = m->n_symbols;
        }
        d->chars = M->input == INPUT_CHARS;
    } else {
        if ((st = lt_array_create(total, m->d, LT_F64, &d->x))) goto fail;
        if ((st = lt_hmm_sample(m, n, len, seed, NULL, d->x->data, NULL))) goto fail;
    }
    *out = d;
    return LT_OK;
fail:
    lt_dataset_free(d);
    return st;
}

static lt_status hmm_write(const void *impl, const lt_dataset *D, const char *path)
{
    (void)impl;
    return lt_seq_write(path, D);
}

/* ------------------------------------------------------------ files */

/* Copy every metadata entry and tensor of f into w (header order). */
static lt_status copy_file(const lt_st_file *f, lt_st_writer *w)
{
    for (size_t i = 0; i < lt_st_meta_count(f); i++) {
        const char *key = lt_st_meta_key(f, i);
        LT_CHECK(lt_st_writer_meta(w, key, lt_st_meta(f, key)));
    }
    for (size_t i = 0; i < lt_st_count(f); i++) {
        const char *name = lt_st_name(f, i);
        lt_st_dtype dt;
        size_t nd, shape[LT_ST_MAX_DIMS];
        const void *p;
        LT_CHECK(lt_st_describe(f, i, &dt, &nd, shape));
        LT_CHECK(lt_st_tensor(f, name, dt, nd, shape, &p));
        LT_CHECK(lt_st_writer_tensor(w, name, dt, nd, shape, p));
    }
    return LT_OK;
}

static lt_status add_meta(const hmm_model *M, lt_st_writer *w)
{
    LT_CHECK(lt_st_writer_meta(w, "input", input_name(M->input)));
    if (M->input != INPUT_ROWS) {
        LT_CHECK(lt_st_writer_meta(w, "text.lowercase", M->lowercase ? "true" : "false"));
        if (M->input == INPUT_CHARS) {
            LT_CHECK(lt_st_writer_meta(w, "text.whole_file", M->whole_file ? "true" : "false"));
            LT_CHECK(lt_st_writer_meta(w, "text.squeeze", M->squeeze ? "true" : "false"));
            if (M->alphabet) LT_CHECK(lt_st_writer_meta(w, "text.alphabet", M->alphabet));
            if (M->replace) LT_CHECK(lt_st_writer_meta(w, "text.replace", M->replace));
        }
    }
    if (M->have_fit) {
        LT_CHECK(lt_st_writer_meta_f64(w, "tol", M->tol));
        LT_CHECK(lt_st_writer_meta_i64(w, "max_iter", (int64_t)M->max_iter));
        LT_CHECK(lt_st_writer_meta_i64(w, "n_init", (int64_t)M->n_init));
        LT_CHECK(lt_st_writer_meta_f64(w, "start_prior", M->start_prior));
        LT_CHECK(lt_st_writer_meta_f64(w, "trans_prior", M->trans_prior));
        LT_CHECK(lt_st_writer_meta_f64(w, "reg_covar", M->reg_covar));
        LT_CHECK(lt_st_writer_meta(w, "params", M->params));
        LT_CHECK(lt_st_writer_meta(w, "init_params", M->init_params));
        LT_CHECK(lt_st_writer_meta(w, "init", M->warm_start ? "model" : "data"));
    }
    return LT_OK;
}

static lt_status hmm_save_impl(const void *impl, const char *path)
{
    const hmm_model *M = impl;
    size_t n = strlen(path);
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    if (n == dirlen) return lt_fail(LT_ERR_INVALID, "'%s': not a file name", path);
    /* ".<name>.hmmtmpXXXXXX" beside the target, reserved by mkstemp */
    char *tmp = lt_malloc(n + 16, 1);
    if (!tmp) return LT_ERR_NOMEM;
    memcpy(tmp, path, dirlen);
    snprintf(tmp + dirlen, n + 16 - dirlen, ".%s.hmmtmpXXXXXX", path + dirlen);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        lt_status st = lt_fail(LT_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
        free(tmp);
        return st;
    }
    close(fd);
    lt_st_file *f = NULL;
    lt_st_writer *w = NULL;
    lt_status st;
    if ((st = lt_hmm_save(M->hmm, tmp)) || (st = lt_st_load(tmp, &f)) || (st = lt_st_writer_create(&w)) ||
        (st = copy_file(f, w)) || (st = add_meta(M, w)))
        goto done;
    st = lt_st_writer_save(w, path);
done:
    if (st && strstr(lt_last_error(), tmp)) /* name the file asked for, not the temporary */
        lt_fail(st, "%s: cannot write the model", path);
    unlink(tmp);
    free(tmp);
    lt_st_free(f);
    lt_st_writer_free(w);
    return st;
}

static int meta_true(const lt_st_file *f, const char *key)
{
    const char *v = lt_st_meta(f, key);
    return v && strcmp(v, "true") == 0;
}

static lt_status hmm_load_impl(const lt_st_file *f, const char *path, void **out)
{
    *out = NULL;
    hmm_model *M = lt_calloc(1, sizeof *M);
    if (!M) return LT_ERR_NOMEM;
    lt_status st = lt_hmm_from_st(f, path, &M->hmm);
    if (st) goto fail;
    const char *in = lt_st_meta(f, "input");
    M->input = in && strcmp(in, "tokens") == 0       ? INPUT_TOKENS
               : in && strcmp(in, "characters") == 0 ? INPUT_CHARS
                                                     : INPUT_ROWS;
    /* A file written by lt_hmm_save alone: text if it has a vocabulary. */
    if (!in && M->hmm->emission == LT_EMIT_CATEGORICAL && M->hmm->vocab) M->input = INPUT_TOKENS;
    if (M->input != INPUT_ROWS && (M->hmm->emission != LT_EMIT_CATEGORICAL || !M->hmm->vocab)) {
        st = lt_fail(LT_ERR_FORMAT, "%s: input '%s' needs categorical emissions with a vocabulary", path, in);
        goto fail;
    }
    M->lowercase = meta_true(f, "text.lowercase");
    M->whole_file = meta_true(f, "text.whole_file");
    M->squeeze = meta_true(f, "text.squeeze");
    M->alphabet = dup_or_null(lt_st_meta(f, "text.alphabet"), &st);
    M->replace = dup_or_null(lt_st_meta(f, "text.replace"), &st);
    if (st) goto fail;
    if (M->input == INPUT_CHARS) {
        lt_text_options t;
        lt_text_options_default(&t);
        t.chars = 1, t.alphabet = M->alphabet, t.replace = M->replace;
        if ((st = lt_text_options_check(&t))) {
            lt_fail_prefix(st, path);
            goto fail;
        }
    }
    /* the fit's options: informative, so absent or odd values are not fatal */
    double v;
    int64_t iv;
    if (lt_st_meta_f64(f, "tol", &v) == LT_OK) M->tol = v, M->have_fit = 1;
    if (lt_st_meta_f64(f, "start_prior", &v) == LT_OK) M->start_prior = v;
    if (lt_st_meta_f64(f, "trans_prior", &v) == LT_OK) M->trans_prior = v;
    if (lt_st_meta_f64(f, "reg_covar", &v) == LT_OK) M->reg_covar = v;
    if (lt_st_meta_i64(f, "max_iter", &iv) == LT_OK && iv >= 0) M->max_iter = (size_t)iv;
    if (lt_st_meta_i64(f, "n_init", &iv) == LT_OK && iv >= 0) M->n_init = (size_t)iv;
    const char *p = lt_st_meta(f, "params"), *ip = lt_st_meta(f, "init_params"), *ini = lt_st_meta(f, "init");
    unsigned flags;
    if (p && lt_hmm_params_parse(p, &flags) == LT_OK) letters_of(flags, M->params);
    if (ip && lt_hmm_params_parse(ip, &flags) == LT_OK) letters_of(flags, M->init_params);
    M->warm_start = ini && strcmp(ini, "model") == 0;
    lt_clear_error();
    *out = M;
    return LT_OK;
fail:
    model_free(M);
    return st;
}

/* ------------------------------------------------------------ describe */

/* A symbol as shown in a table: quoted, control characters escaped. */
static void shown(const char *s, char *buf, size_t cap)
{
    size_t o = 0;
    buf[o++] = '\'';
    for (; *s && o + 6 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n')
            o += (size_t)snprintf(buf + o, cap - o, "\\n");
        else if (c == '\t')
            o += (size_t)snprintf(buf + o, cap - o, "\\t");
        else if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    buf[o++] = '\'';
    buf[o] = '\0';
}

/* The `top` most probable symbols of state j, "'e' 0.1270, 't' 0.0901, ...". */
static lt_status top_symbols(const lt_hmm *m, size_t j, size_t top, char **out)
{
    size_t S = m->n_symbols;
    const double *p = m->emit + j * S;
    size_t *ord = lt_malloc(S, sizeof *ord);
    size_t cap = 64 * (top + 1);
    char *s = lt_malloc(cap, 1);
    if (!ord || !s) {
        free(ord), free(s);
        return LT_ERR_NOMEM;
    }
    for (size_t i = 0; i < S; i++)
        ord[i] = i;
    /* a partial selection sort: top is small, ties go to the lower id */
    size_t show = top < S ? top : S, o = 0;
    for (size_t a = 0; a < show; a++) {
        size_t b = a;
        for (size_t c = a + 1; c < S; c++)
            if (p[ord[c]] > p[ord[b]] || (p[ord[c]] == p[ord[b]] && ord[c] < ord[b])) b = c;
        size_t t = ord[a];
        ord[a] = ord[b], ord[b] = t;
        char sym[48], num[32];
        if (m->vocab)
            shown(m->vocab[ord[a]], sym, 40);
        else
            snprintf(sym, sizeof sym, "%zu", ord[a]);
        snprintf(num, sizeof num, " %.4f", p[ord[a]]);
        o += (size_t)snprintf(s + o, cap - o, "%s%s%s", a ? ", " : "", sym, num);
    }
    free(ord);
    *out = s;
    return LT_OK;
}

static lt_status hmm_describe(const void *impl, lt_report *r)
{
    const hmm_model *M = impl;
    const lt_hmm *m = M->hmm;
    size_t k = m->k;
    LT_CHECK(lt_report_int(r, "states", (int64_t)k));
    LT_CHECK(lt_report_str(r, "emission", lt_emission_name(m->emission)));
    if (m->emission == LT_EMIT_CATEGORICAL)
        LT_CHECK(lt_report_int(r, "n_symbols", (int64_t)m->n_symbols));
    else
        LT_CHECK(lt_report_int(r, "n_features", (int64_t)m->d));
    if (m->emission == LT_EMIT_GAUSSIAN || m->emission == LT_EMIT_GMM)
        LT_CHECK(lt_report_str(r, "covariance_type", lt_cov_type_name(m->cov)));
    if (m->emission == LT_EMIT_GMM) LT_CHECK(lt_report_int(r, "n_mix", (int64_t)m->n_mix));
    LT_CHECK(lt_report_int(r, "n_parameters", (int64_t)lt_hmm_n_parameters(m)));
    LT_CHECK(lt_report_str(r, "input", input_name(M->input)));
    if (M->input != INPUT_ROWS) LT_CHECK(lt_report_bool(r, "lowercase", M->lowercase));
    if (M->input == INPUT_CHARS) {
        LT_CHECK(lt_report_bool(r, "whole_file", M->whole_file));
        if (M->alphabet) LT_CHECK(lt_report_str(r, "alphabet", M->alphabet));
        if (M->replace) LT_CHECK(lt_report_str(r, "replace", M->replace));
        LT_CHECK(lt_report_bool(r, "squeeze", M->squeeze));
    }
    if (M->have_fit) {
        LT_CHECK(lt_report_str(r, "params", M->params));
        LT_CHECK(lt_report_str(r, "init_params", M->init_params));
        LT_CHECK(lt_report_str(r, "init", M->warm_start ? "model" : "data"));
        LT_CHECK(lt_report_int(r, "n_init", (int64_t)M->n_init));
        LT_CHECK(lt_report_num(r, "tol", M->tol));
        LT_CHECK(lt_report_int(r, "max_iter", (int64_t)M->max_iter));
        LT_CHECK(lt_report_num(r, "start_prior", M->start_prior));
        LT_CHECK(lt_report_num(r, "trans_prior", M->trans_prior));
        if (m->emission == LT_EMIT_GAUSSIAN || m->emission == LT_EMIT_GMM)
            LT_CHECK(lt_report_num(r, "reg_covar", M->reg_covar));
    }
    LT_CHECK(lt_report_int(r, "seed", (int64_t)m->seed));
    LT_CHECK(lt_report_num(r, "train_log_likelihood", m->log_likelihood));
    LT_CHECK(lt_report_int(r, "n_iter", (int64_t)m->n_iter));
    LT_CHECK(lt_report_bool(r, "converged", m->converged));
    LT_CHECK(lt_report_int(r, "best_init", (int64_t)m->best_init));
    LT_CHECK(lt_report_int(r, "n_repaired", (int64_t)m->n_repaired));
    LT_CHECK(lt_report_nums(r, "start", m->start, k));

    /* transitions: a row per state, "from" then to_0..to_K-1 */
    char **names = lt_calloc(k + 2, sizeof *names);
    double *row = lt_malloc(k + 1, sizeof *row);
    lt_status st = names && row ? LT_OK : LT_ERR_NOMEM;
    if (st == LT_OK && !(names[0] = strdup("from"))) st = lt_fail(LT_ERR_NOMEM, "out of memory");
    for (size_t j = 0; st == LT_OK && j < k; j++) {
        char b[32];
        snprintf(b, sizeof b, "to_%zu", j);
        if (!(names[j + 1] = strdup(b))) st = lt_fail(LT_ERR_NOMEM, "out of memory");
    }
    if (st == LT_OK)
        st = lt_report_table(r, "transitions", "transition probabilities p(to | from)", k + 1,
                             (const char *const *)names);
    for (size_t i = 0; st == LT_OK && i < k; i++) {
        row[0] = (double)i;
        memcpy(row + 1, m->trans + i * k, k * sizeof(double));
        st = lt_report_table_row(r, "transitions", row);
    }
    lt_strings_free(names);
    free(row);
    if (st) return st;

    if (m->emission == LT_EMIT_CATEGORICAL) {
        for (size_t j = 0; j < k; j++) {
            char key[48], *s = NULL;
            snprintf(key, sizeof key, "state_%zu_top_symbols", j);
            LT_CHECK(top_symbols(m, j, 10, &s));
            st = lt_report_str(r, key, s);
            free(s);
            LT_CHECK(st);
        }
        return LT_OK;
    }
    /* continuous emissions: the first four coordinates of each state's mean
     * (gaussian), each component's (gmm) or the rates (poisson) */
    size_t d = m->d, show = d < 4 ? d : 4;
    static const char *cols_g[] = {"state", "mean_0", "mean_1", "mean_2", "mean_3"};
    static const char *cols_m[] = {"state", "component", "weight", "mean_0", "mean_1", "mean_2", "mean_3"};
    static const char *cols_p[] = {"state", "rate_0", "rate_1", "rate_2", "rate_3"};
    double vals[7];
    if (m->emission == LT_EMIT_POISSON) {
        LT_CHECK(lt_report_table(r, "rates", "Poisson rates per state (first four features)", 1 + show, cols_p));
        for (size_t j = 0; j < k; j++) {
            vals[0] = (double)j;
            for (size_t c = 0; c < show; c++)
                vals[1 + c] = m->emit[j * d + c];
            LT_CHECK(lt_report_table_row(r, "rates", vals));
        }
    } else if (m->emission == LT_EMIT_GAUSSIAN && m->states && m->states[0]) {
        LT_CHECK(lt_report_table(r, "means", "state means (first four features)", 1 + show, cols_g));
        for (size_t j = 0; j < k; j++) {
            vals[0] = (double)j;
            for (size_t c = 0; c < show; c++)
                vals[1 + c] = m->states[0]->means[j * d + c];
            LT_CHECK(lt_report_table_row(r, "means", vals));
        }
    } else if (m->emission == LT_EMIT_GMM && m->states) {
        LT_CHECK(
            lt_report_table(r, "components", "mixture components per state (first four features)", 3 + show, cols_m));
        for (size_t j = 0; j < k; j++)
            for (size_t c = 0; m->states[j] && c < m->states[j]->k; c++) {
                vals[0] = (double)j, vals[1] = (double)c, vals[2] = m->states[j]->weights[c];
                for (size_t q = 0; q < show; q++)
                    vals[3 + q] = m->states[j]->means[c * d + q];
                LT_CHECK(lt_report_table_row(r, "components", vals));
            }
    }
    return LT_OK;
}

const lt_family lt_hmm_family = {
    .name = "hmm",
    .summary = "hidden Markov model (Baum-Welch; categorical, gaussian, gmm or poisson emissions)",
    .options = hmm_options,
    .n_options = sizeof hmm_options / sizeof *hmm_options,
    .read = hmm_read,
    .fit = hmm_fit,
    .score = hmm_score,
    .sample = hmm_sample,
    .write = hmm_write,
    .infer = hmm_infer,
    .save = hmm_save_impl,
    .load = hmm_load_impl,
    .describe = hmm_describe,
    .free = hmm_free_impl,
};
