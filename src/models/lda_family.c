/* Latent Dirichlet allocation as a family of the generic model table:
 * reading corpora (text, one document per line or per file of a folder, or
 * the UCI docword format, streamed for online VB), options, model files,
 * and the generic verbs.
 *
 * A dataset of this family is the corpus's token ids (`symbols`), one
 * "sequence" per document (`lengths`, possibly 0 for a document emptied by
 * pruning), and the vocabulary. The model behind the table is an
 * lda_model: the lt_lda and how its training text was read (stop words,
 * shortest word), so that new text is read the same way.
 *
 * Scores are estimates of log p(document) (left-to-right or document
 * completion, lda_eval.c), reported per token; the standard error is the
 * ratio estimator's over documents (as the HMM family's per step).
 */
#include "latent/corpus.h"
#include "latent/io.h"
#include "latent/lda.h"

#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define META_STOPWORDS "lda.stopwords"
#define META_MIN_LENGTH "lda.min_length"
#define META_INPUT "lda.input"

typedef struct lda_model {
    lt_lda *lda;
    /* how text is read: "english", "none", or a stop-word file's path */
    char *stopwords;
    size_t min_length;
    char input[16]; /* "lines", "folder" or "docword": how the training corpus came */
} lda_model;

static void model_free(lda_model *m)
{
    if (!m) return;
    lt_lda_free(m->lda);
    free(m->stopwords);
    free(m);
}

static void lda_free_impl(void *m)
{
    model_free(m);
}

/* ------------------------------------------------------------ options */

static const lt_option_spec lda_options[] = {
    {"topics", 'k', LT_OPT_INT, "10", "K", "number of topics", LT_OPT_FIT},
    {"algo", 0, LT_OPT_STRING, "gibbs", "A", "gibbs (collapsed Gibbs), vb (batch variational Bayes) or online-vb",
     LT_OPT_FIT},
    {"alpha", 0, LT_OPT_REAL, NULL, "A", "Dirichlet prior of each document's topic mixture, per topic (default 5/K)",
     LT_OPT_FIT},
    {"beta", 0, LT_OPT_REAL, "0.01", "B", "Dirichlet prior of each topic's words, per word", LT_OPT_FIT},
    {"optimize", 0, LT_OPT_STRING, "none", "HOW", "learn alpha by Minka's fixed point: none, symmetric or asymmetric",
     LT_OPT_FIT},
    {"optimize-beta", 0, LT_OPT_FLAG, NULL, "", "learn a symmetric beta too (Gibbs)", LT_OPT_FIT},
    {"optimize-interval", 0, LT_OPT_INT, "10", "N", "Gibbs: sweeps between hyperparameter updates", LT_OPT_FIT},
    {"burn-in", 0, LT_OPT_INT, "50", "N", "Gibbs: sweeps before hyperparameters are learnt", LT_OPT_FIT},
    {"max-iter", 0, LT_OPT_INT, "200", "N", "Gibbs sweeps, VB iterations, or online-VB passes over the corpus",
     LT_OPT_FIT},
    {"samples", 0, LT_OPT_INT, "1", "N", "Gibbs: final states averaged into the topics", LT_OPT_FIT},
    {"tol", 0, LT_OPT_REAL, "1e-4", "T", "VB: stop when the bound per token changes by less than T (relative)",
     LT_OPT_FIT},
    {"estep-iter", 0, LT_OPT_INT, "100", "N", "VB: iterations per document at most", LT_OPT_FIT},
    {"batch-size", 0, LT_OPT_INT, "256", "N", "online VB: documents per mini-batch", LT_OPT_FIT},
    {"tau0", 0, LT_OPT_REAL, "64", "T", "online VB: learning-rate delay, rate (tau0 + t)^-kappa", LT_OPT_FIT},
    {"kappa", 0, LT_OPT_REAL, "0.7", "K", "online VB: learning-rate decay in (0.5, 1]", LT_OPT_FIT},
    {"stream", 0, LT_OPT_FLAG, NULL, "",
     "online VB on a docword file: read it a mini-batch at a time (corpora larger than memory)", LT_OPT_FIT},
    {"min-df", 0, LT_OPT_REAL, "1", "N", "text: drop words in fewer than N documents", LT_OPT_FIT},
    {"max-df", 0, LT_OPT_REAL, "1.0", "F",
     "text: drop words in more than F of the documents (a fraction if <= 1, else a count)", LT_OPT_FIT},
    {"max-vocab", 0, LT_OPT_INT, "0", "N", "text: keep the N most frequent words (0: all)", LT_OPT_FIT},
    {"top-words", 0, LT_OPT_INT, "10", "N", "words shown per topic", LT_OPT_FIT},
    {"input", 0, LT_OPT_STRING, "auto", "HOW",
     "lines (a document per line), folder (a document per file), docword (UCI bag of words), or auto", LT_OPT_DATA},
    {"vocab", 0, LT_OPT_STRING, NULL, "FILE", "docword: the vocabulary file (default: vocab.NAME.txt beside it)",
     LT_OPT_DATA},
    {"stopwords", 0, LT_OPT_STRING, NULL, "LIST",
     "text: english (built in), none, or a file of words (default english; later commands: the model's)", LT_OPT_DATA},
    {"min-length", 0, LT_OPT_INT, NULL, "N", "text: shortest word kept, in letters (default 2)", LT_OPT_DATA},
    {"allow-empty", 0, LT_OPT_FLAG, NULL, "", "text: keep blank lines / empty files as empty documents", LT_OPT_DATA},
    {"estimator", 0, LT_OPT_STRING, "left-to-right", "E",
     "score: left-to-right (Wallach et al. 2009) or completion (second half given the first)", LT_OPT_SCORE},
    {"particles", 0, LT_OPT_INT, "20", "R", "score: particles of the left-to-right estimator", LT_OPT_SCORE},
    {"fold-in-iter", 0, LT_OPT_INT, "50", "N", "score (completion): fold-in sweeps", LT_OPT_SCORE},
    {"method", 0, LT_OPT_STRING, "gibbs", "M", "infer: gibbs (fold-in sampling) or vb", LT_OPT_INFER},
    {"infer-iter", 0, LT_OPT_INT, "100", "N", "infer: sweeps or iterations per document", LT_OPT_INFER},
    {"length", 0, LT_OPT_INT, "100", "L", "sample: tokens per document", LT_OPT_SAMPLE},
};

/* ------------------------------------------------------------ corpora */

typedef enum { IN_LINES, IN_FOLDER, IN_DOCWORD } input_kind;

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static lt_status input_of(const char *path, const char *opt, input_kind *out)
{
    if (opt && strcmp(opt, "auto") != 0) {
        if (strcmp(opt, "lines") == 0)
            *out = IN_LINES;
        else if (strcmp(opt, "folder") == 0)
            *out = IN_FOLDER;
        else if (strcmp(opt, "docword") == 0)
            *out = IN_DOCWORD;
        else
            return lt_fail(LT_ERR_INVALID, "--input: expected lines, folder, docword or auto, found '%s'", opt);
        return LT_OK;
    }
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        *out = IN_FOLDER;
    else if (strncmp(base_name(path), "docword.", 8) == 0)
        *out = IN_DOCWORD;
    else
        *out = IN_LINES;
    return LT_OK;
}

/* vocab.NAME.txt beside docword.NAME.txt[.gz], when it exists. */
static char *sibling_vocab(const char *path)
{
    const char *b = base_name(path);
    if (strncmp(b, "docword.", 8) != 0) return NULL;
    size_t dir = (size_t)(b - path), n = strlen(b + 8);
    if (n > 3 && strcmp(b + 8 + n - 3, ".gz") == 0) n -= 3;
    char *v = malloc(dir + 6 + n + 1);
    if (!v) return NULL;
    memcpy(v, path, dir);
    memcpy(v + dir, "vocab.", 6);
    memcpy(v + dir + 6, b + 8, n);
    v[dir + 6 + n] = '\0';
    struct stat sb;
    if (stat(v, &sb) != 0) {
        free(v);
        return NULL;
    }
    return v;
}

/* Move a corpus into a new dataset (the corpus is freed). */
static lt_status corpus_to_dataset(lt_corpus *c, lt_dataset **out)
{
    lt_dataset *D = lt_calloc(1, sizeof *D);
    size_t *len = lt_malloc(c->n_docs ? c->n_docs : 1, sizeof *len);
    if (!D || !len) {
        free(D);
        free(len);
        lt_corpus_free(c);
        return LT_ERR_NOMEM;
    }
    for (size_t d = 0; d < c->n_docs; d++)
        len[d] = c->doc_ptr[d + 1] - c->doc_ptr[d];
    D->symbols = c->tokens;
    D->n_steps = c->n_tokens;
    D->lengths = len;
    D->n_seqs = c->n_docs;
    D->vocab = c->vocab;
    D->vocab_size = c->n_vocab;
    D->n_dropped = c->n_dropped_tokens;
    c->tokens = NULL;
    c->vocab = NULL;
    lt_corpus_free(c);
    *out = D;
    return LT_OK;
}

/* A borrowed corpus view of a dataset (doc_ptr allocated; free it). */
static lt_status corpus_view(const lt_dataset *D, lt_corpus *c)
{
    memset(c, 0, sizeof *c);
    if (!D->lengths || (!D->symbols && D->n_steps))
        return lt_fail(LT_ERR_INVALID, "lda: the data are not a corpus (read them as text or docword)");
    c->doc_ptr = lt_malloc(D->n_seqs + 1, sizeof *c->doc_ptr);
    if (!c->doc_ptr) return LT_ERR_NOMEM;
    c->doc_ptr[0] = 0;
    for (size_t d = 0; d < D->n_seqs; d++)
        c->doc_ptr[d + 1] = c->doc_ptr[d] + D->lengths[d];
    c->n_docs = D->n_seqs;
    c->n_tokens = D->n_steps;
    c->tokens = D->symbols;
    c->n_vocab = D->vocab_size;
    c->vocab = D->vocab;
    for (size_t d = 0; d < D->n_seqs; d++)
        c->n_empty_docs += D->lengths[d] == 0;
    return LT_OK;
}

static lt_status text_options(const lt_kv *opts, size_t n, const lda_model *M, lt_corpus_options *o)
{
    lt_corpus_options_default(o);
    const char *sw = lt_kv_get(opts, n, "stopwords");
    if (!sw && M) sw = M->stopwords;
    if (sw && strcmp(sw, "english") == 0)
        o->stopwords = 1;
    else if (sw && strcmp(sw, "none") == 0)
        o->stopwords = 0;
    else if (sw)
        o->stopword_file = sw;
    size_t ml = M ? M->min_length : o->min_length;
    LT_CHECK(lt_kv_size(opts, n, "min-length", ml, &o->min_length));
    o->allow_empty = lt_kv_flag(opts, n, "allow-empty");
    if (!M) {
        LT_CHECK(lt_kv_real(opts, n, "min-df", o->min_df, &o->min_df));
        LT_CHECK(lt_kv_real(opts, n, "max-df", o->max_df, &o->max_df));
        LT_CHECK(lt_kv_size(opts, n, "max-vocab", o->max_vocab, &o->max_vocab));
        if (!(o->min_df >= 0)) return lt_fail(LT_ERR_INVALID, "--min-df: expected a number >= 0");
        if (!(o->max_df > 0)) return lt_fail(LT_ERR_INVALID, "--max-df: expected a number > 0");
    }
    return LT_OK;
}

static lt_status lda_read(const char *path, lt_format fmt, const lt_kv *opts, size_t n, const void *model,
                          lt_dataset **out)
{
    (void)fmt;
    const lda_model *M = model;
    input_kind kind;
    LT_CHECK(input_of(path, lt_kv_get(opts, n, "input"), &kind));
    lt_corpus *c = NULL;
    if (kind == IN_DOCWORD) {
        if (!M && lt_kv_flag(opts, n, "stream")) {
            /* Fitting from a stream: only the header now; the fit reads
             * the file a batch at a time. */
            lt_docword_stream *s = NULL;
            LT_CHECK(lt_docword_stream_open(path, &s));
            lt_dataset *D = lt_calloc(1, sizeof *D);
            if (!D) {
                lt_docword_stream_close(s);
                return LT_ERR_NOMEM;
            }
            D->vocab_size = lt_docword_stream_vocab(s);
            lt_docword_stream_close(s);
            *out = D;
            return LT_OK;
        }
        const char *vp = lt_kv_get(opts, n, "vocab");
        char *guess = vp ? NULL : sibling_vocab(path);
        lt_status st = lt_corpus_read_docword(path, vp ? vp : guess, &c);
        free(guess);
        LT_CHECK(st);
        if (M) {
            const lt_lda *m = M->lda;
            if (c->vocab && m->vocab) {
                lt_corpus *r = NULL;
                st = lt_corpus_remap(c, m->vocab, m->v, &r);
                lt_corpus_free(c);
                LT_CHECK(st);
                c = r;
            } else if (c->n_vocab != m->v) {
                st = lt_fail(LT_ERR_DIM, "%s: %zu words in the header but the model has %zu", path, c->n_vocab, m->v);
                lt_corpus_free(c);
                return st;
            }
        }
    } else {
        if (M && !M->lda->vocab)
            return lt_fail(LT_ERR_INVALID,
                           "%s: the model has no vocabulary (it was fitted on a docword file without one); "
                           "give it docword data",
                           path);
        lt_corpus_options o;
        LT_CHECK(text_options(opts, n, M, &o));
        o.folder = kind == IN_FOLDER;
        LT_CHECK(lt_corpus_read_text(path, &o, M ? M->lda->vocab : NULL, M ? M->lda->v : 0, &c));
    }
    return corpus_to_dataset(c, out);
}

/* ------------------------------------------------------------ fit */

static lt_status fit_options(const lt_kv *opts, size_t n, const lt_fit_ctl *ctl, lt_lda_options *o)
{
    lt_lda_options_default(o);
    LT_CHECK(lt_kv_size(opts, n, "topics", 10, &o->k));
    if (o->k < 1) return lt_fail(LT_ERR_INVALID, "--topics: expected at least 1");
    const char *a = lt_kv_get(opts, n, "algo");
    if (a && lt_lda_algo_parse(a, &o->algo) != LT_OK)
        return lt_fail(LT_ERR_INVALID, "--algo: expected gibbs, vb or online-vb, found '%s'", a);
    LT_CHECK(lt_kv_real(opts, n, "alpha", 0.0, &o->alpha));
    LT_CHECK(lt_kv_real(opts, n, "beta", 0.01, &o->beta));
    if (lt_kv_get(opts, n, "alpha") && !(o->alpha > 0 && isfinite(o->alpha)))
        return lt_fail(LT_ERR_INVALID, "--alpha: expected a positive number");
    if (!(o->beta > 0 && isfinite(o->beta))) return lt_fail(LT_ERR_INVALID, "--beta: expected a positive number");
    const char *opt = lt_kv_get(opts, n, "optimize");
    if (!opt || strcmp(opt, "none") == 0)
        o->optimize_alpha = 0;
    else if (strcmp(opt, "symmetric") == 0)
        o->optimize_alpha = 1;
    else if (strcmp(opt, "asymmetric") == 0)
        o->optimize_alpha = 2;
    else
        return lt_fail(LT_ERR_INVALID, "--optimize: expected none, symmetric or asymmetric, found '%s'", opt);
    o->optimize_beta = lt_kv_flag(opts, n, "optimize-beta");
    LT_CHECK(lt_kv_size(opts, n, "optimize-interval", o->optimize_interval, &o->optimize_interval));
    LT_CHECK(lt_kv_size(opts, n, "burn-in", o->burn_in, &o->burn_in));
    LT_CHECK(lt_kv_size(opts, n, "max-iter", o->max_iter, &o->max_iter));
    LT_CHECK(lt_kv_size(opts, n, "samples", o->n_samples, &o->n_samples));
    LT_CHECK(lt_kv_real(opts, n, "tol", o->tol, &o->tol));
    LT_CHECK(lt_kv_size(opts, n, "estep-iter", o->estep_iter, &o->estep_iter));
    LT_CHECK(lt_kv_size(opts, n, "batch-size", o->batch_size, &o->batch_size));
    LT_CHECK(lt_kv_real(opts, n, "tau0", o->tau0, &o->tau0));
    LT_CHECK(lt_kv_real(opts, n, "kappa", o->kappa, &o->kappa));
    if (o->max_iter < 1) return lt_fail(LT_ERR_INVALID, "--max-iter: expected at least 1");
    if (o->optimize_interval < 1) return lt_fail(LT_ERR_INVALID, "--optimize-interval: expected at least 1");
    if (o->n_samples < 1) return lt_fail(LT_ERR_INVALID, "--samples: expected at least 1");
    if (o->batch_size < 1) return lt_fail(LT_ERR_INVALID, "--batch-size: expected at least 1");
    if (!(o->tol >= 0)) return lt_fail(LT_ERR_INVALID, "--tol: expected a number >= 0");
    if (!(o->tau0 >= 0)) return lt_fail(LT_ERR_INVALID, "--tau0: expected a number >= 0");
    if (!(o->kappa > 0.5 && o->kappa <= 1.0)) return lt_fail(LT_ERR_INVALID, "--kappa: expected a number in (0.5, 1]");
    o->seed = ctl->seed;
    o->threads = ctl->threads;
    o->progress = ctl->progress;
    o->progress_ud = ctl->progress_ud;
    return LT_OK;
}

/* "w1 w2 w3" for the top words of topic k (or "#id" without a vocabulary). */
static lt_status top_line(const lt_lda *m, size_t k, size_t top, char **out)
{
    *out = NULL;
    if (top > m->v) top = m->v;
    int32_t *ids = lt_malloc(top ? top : 1, sizeof *ids);
    if (!ids) return LT_ERR_NOMEM;
    lt_lda_top_words(m, k, top, ids);
    size_t cap = 1;
    for (size_t i = 0; i < top; i++)
        cap += (m->vocab ? strlen(m->vocab[ids[i]]) : 12) + 1;
    char *s = malloc(cap), *p = s;
    if (!s) {
        free(ids);
        return lt_fail(LT_ERR_NOMEM, "out of memory");
    }
    *p = '\0';
    for (size_t i = 0; i < top; i++) {
        int w = m->vocab ? snprintf(p, cap - (size_t)(p - s), "%s%s", i ? " " : "", m->vocab[ids[i]])
                         : snprintf(p, cap - (size_t)(p - s), "%s#%d", i ? " " : "", ids[i]);
        p += w;
    }
    free(ids);
    *out = s;
    return LT_OK;
}

static lt_status report_topics(const lt_lda *m, size_t top, lt_report *r)
{
    double *phi = lt_malloc(m->k * m->v, sizeof *phi);
    if (!phi) return LT_ERR_NOMEM;
    lt_lda_topics(m, phi);
    lt_status st = LT_OK;
    for (size_t k = 0; k < m->k && st == LT_OK; k++) {
        char key[48], *line = NULL;
        if ((st = top_line(m, k, top, &line))) break;
        /* share of the corpus's tokens and alpha, for ordering by eye */
        double tot = 0;
        for (size_t j = 0; j < m->k; j++)
            tot += m->nk[j];
        char *full = malloc(strlen(line) + 64);
        if (!full) {
            free(line);
            st = lt_fail(LT_ERR_NOMEM, "out of memory");
            break;
        }
        sprintf(full, "%5.1f%%  %s", tot > 0 ? 100.0 * m->nk[k] / tot : 0.0, line);
        snprintf(key, sizeof key, "topic_%zu", k);
        st = lt_report_str(r, key, full);
        free(full);
        free(line);
    }
    free(phi);
    return st;
}

static lt_status lda_fit(const lt_dataset *D, const lt_kv *opts, size_t n_opts, const lt_fit_ctl *ctl, lt_report *rep,
                         void **out)
{
    *out = NULL;
    lt_lda_options o;
    LT_CHECK(fit_options(opts, n_opts, ctl, &o));
    size_t top;
    LT_CHECK(lt_kv_size(opts, n_opts, "top-words", 10, &top));
    int stream = lt_kv_flag(opts, n_opts, "stream");
    lda_model *M = lt_calloc(1, sizeof *M);
    if (!M) return LT_ERR_NOMEM;
    lt_status st = LT_OK;
    input_kind kind = IN_LINES;
    if (D->source) (void)input_of(D->source, lt_kv_get(opts, n_opts, "input"), &kind);
    snprintf(M->input, sizeof M->input, "%s", kind == IN_DOCWORD ? "docword" : kind == IN_FOLDER ? "folder" : "lines");
    const char *sw = lt_kv_get(opts, n_opts, "stopwords");
    M->stopwords = strdup(sw ? sw : "english");
    if (!M->stopwords) {
        model_free(M);
        return lt_fail(LT_ERR_NOMEM, "out of memory");
    }
    if ((st = lt_kv_size(opts, n_opts, "min-length", 2, &M->min_length))) goto fail;
    if (stream) {
        if (o.algo != LT_LDA_ONLINE_VB) {
            st = lt_fail(LT_ERR_INVALID, "--stream: only --algo online-vb trains from a stream");
            goto fail;
        }
        if (kind != IN_DOCWORD || !D->source) {
            st = lt_fail(LT_ERR_INVALID, "--stream: the data must be a docword file");
            goto fail;
        }
        lt_docword_stream *s = NULL;
        if ((st = lt_docword_stream_open(D->source, &s))) goto fail;
        st = lt_lda_fit_stream(&o, s, &M->lda);
        lt_docword_stream_close(s);
        if (st) goto fail;
        if (!M->lda->vocab) {
            const char *vp = lt_kv_get(opts, n_opts, "vocab");
            char *guess = vp ? NULL : sibling_vocab(D->source);
            if (vp || guess) {
                lt_corpus *vc = NULL;
                /* the vocabulary alone: an empty docword is not needed, read the pair */
                st = lt_corpus_read_docword(D->source, vp ? vp : guess, &vc);
                if (!st) st = lt_lda_set_vocab(M->lda, vc->vocab);
                lt_corpus_free(vc);
            }
            free(guess);
            if (st) goto fail;
        }
    } else {
        lt_corpus c;
        if ((st = corpus_view(D, &c))) goto fail;
        if (c.n_docs == 0)
            st = lt_fail(LT_ERR_INVALID, "the corpus has no documents");
        else if (c.n_tokens == 0)
            st = lt_fail(LT_ERR_INVALID, "the corpus has no words left to model");
        else
            st = lt_lda_fit(&o, &c, &M->lda);
        lt_report_int(rep, "documents", (int64_t)c.n_docs);
        lt_report_int(rep, "tokens", (int64_t)c.n_tokens);
        lt_report_int(rep, "empty_documents", (int64_t)c.n_empty_docs);
        free(c.doc_ptr);
        if (st) goto fail;
    }
    const lt_lda *m = M->lda;
    lt_report_int(rep, "vocabulary", (int64_t)m->v);
    if (D->n_dropped) lt_report_int(rep, "dropped_tokens", (int64_t)D->n_dropped);
    lt_report_int(rep, "topics", (int64_t)m->k);
    lt_report_str(rep, "algorithm", lt_lda_algo_name(m->algo));
    lt_report_int(rep, "iterations", (int64_t)m->n_iter);
    lt_report_num(rep, m->algo == LT_LDA_GIBBS ? "log_p_w_z_per_token" : "bound_per_token", m->log_likelihood);
    double asum = 0;
    for (size_t k = 0; k < m->k; k++)
        asum += m->alpha[k];
    lt_report_num(rep, "alpha_sum", asum);
    lt_report_num(rep, "beta", m->beta[0]);
    if ((st = report_topics(m, top, rep))) goto fail;
    *out = M;
    return LT_OK;
fail:
    model_free(M);
    return st;
}

/* ------------------------------------------------------------ verbs */

static lt_status lda_score(const void *impl, const lt_dataset *D, const lt_kv *opts, size_t n_opts, int threads,
                           double *logp, lt_score *sum)
{
    const lda_model *M = impl;
    lt_lda_score_options so;
    lt_lda_score_options_default(&so);
    const char *e = lt_kv_get(opts, n_opts, "estimator");
    if (!e || strcmp(e, "left-to-right") == 0)
        so.estimator = LT_LDA_LEFT_TO_RIGHT;
    else if (strcmp(e, "completion") == 0)
        so.estimator = LT_LDA_COMPLETION;
    else
        return lt_fail(LT_ERR_INVALID, "--estimator: expected left-to-right or completion, found '%s'", e);
    LT_CHECK(lt_kv_size(opts, n_opts, "particles", so.particles, &so.particles));
    LT_CHECK(lt_kv_size(opts, n_opts, "fold-in-iter", so.iters, &so.iters));
    size_t seed = 0;
    LT_CHECK(lt_kv_size(opts, n_opts, "seed", 0, &seed));
    if (so.particles < 1) return lt_fail(LT_ERR_INVALID, "--particles: expected at least 1");
    if (so.iters < 1) return lt_fail(LT_ERR_INVALID, "--fold-in-iter: expected at least 1");
    so.seed = seed;
    so.threads = threads;
    lt_corpus c;
    LT_CHECK(corpus_view(D, &c));
    lt_score s;
    lt_status st = lt_lda_score(M->lda, &c, &so, logp, &s);
    free(c.doc_ptr);
    if (st == LT_OK && sum) *sum = s;
    return st;
}

static lt_status lda_infer(const void *impl, const lt_dataset *D, const lt_kv *opts, size_t n_opts, int threads,
                           lt_array **out, char ***columns)
{
    const lda_model *M = impl;
    const lt_lda *m = M->lda;
    const char *meth = lt_kv_get(opts, n_opts, "method");
    lt_lda_infer_method method;
    if (!meth || strcmp(meth, "gibbs") == 0)
        method = LT_LDA_INFER_GIBBS;
    else if (strcmp(meth, "vb") == 0)
        method = LT_LDA_INFER_VB;
    else
        return lt_fail(LT_ERR_INVALID, "--method: expected gibbs or vb, found '%s'", meth);
    size_t iters, seed;
    LT_CHECK(lt_kv_size(opts, n_opts, "infer-iter", 100, &iters));
    LT_CHECK(lt_kv_size(opts, n_opts, "seed", 0, &seed));
    if (iters < 1) return lt_fail(LT_ERR_INVALID, "--infer-iter: expected at least 1");
    lt_corpus c;
    LT_CHECK(corpus_view(D, &c));
    lt_array *a = NULL;
    char **names = NULL;
    lt_status st;
    if ((st = lt_array_create(c.n_docs, m->k, LT_F64, &a))) goto done;
    if ((st = lt_lda_infer(m, &c, method, iters, seed, threads, a->data))) goto done;
    if (columns) {
        names = lt_calloc(m->k + 1, sizeof *names);
        if (!names) {
            st = LT_ERR_NOMEM;
            goto done;
        }
        for (size_t k = 0; k < m->k; k++) {
            char buf[32];
            snprintf(buf, sizeof buf, "topic_%zu", k);
            if (!(names[k] = strdup(buf))) {
                st = lt_fail(LT_ERR_NOMEM, "out of memory");
                goto done;
            }
        }
        *columns = names;
        names = NULL;
    }
    *out = a;
    a = NULL;
done:
    lt_strings_free(names);
    lt_array_free(a);
    free(c.doc_ptr);
    return st;
}

static lt_status lda_sample(const void *impl, size_t n, uint64_t seed, const lt_kv *opts, size_t n_opts,
                            lt_dataset **out)
{
    const lda_model *M = impl;
    size_t len;
    LT_CHECK(lt_kv_size(opts, n_opts, "length", 100, &len));
    if (n < 1) return lt_fail(LT_ERR_INVALID, "-n: expected at least one document");
    lt_corpus *c = NULL;
    LT_CHECK(lt_lda_sample(M->lda, n, len, seed, &c, NULL));
    return corpus_to_dataset(c, out);
}

/* Samples as text (a document per line, words separated by spaces, each
 * word's tokens together) or as a docword file. */
static lt_status lda_write(const void *impl, const lt_dataset *D, const char *path)
{
    const lda_model *M = impl;
    lt_corpus c;
    LT_CHECK(corpus_view(D, &c));
    if (!c.vocab) c.vocab = M->lda->vocab;
    lt_status st;
    if (strncmp(base_name(path), "docword.", 8) == 0) {
        size_t dir = (size_t)(base_name(path) - path);
        const char *rest = base_name(path) + 8;
        char *vp = malloc(dir + 6 + strlen(rest) + 1);
        if (!vp) {
            free(c.doc_ptr);
            return lt_fail(LT_ERR_NOMEM, "out of memory");
        }
        memcpy(vp, path, dir);
        sprintf(vp + dir, "vocab.%s", rest);
        st = lt_corpus_write_docword(&c, path, c.vocab ? vp : NULL);
        free(vp);
        free(c.doc_ptr);
        return st;
    }
    size_t n = strlen(path);
    if (n < 4 || strcmp(path + n - 4, ".txt") != 0) {
        free(c.doc_ptr);
        return lt_fail(LT_ERR_INVALID, "%s: LDA samples are written as .txt (a document per line) or docword.NAME.txt",
                       path);
    }
    lt_atomic_file *af = NULL;
    if ((st = lt_atomic_open(path, &af))) {
        free(c.doc_ptr);
        return st;
    }
    FILE *fp = lt_atomic_stream(af);
    for (size_t d = 0; d < c.n_docs; d++) {
        for (size_t i = c.doc_ptr[d]; i < c.doc_ptr[d + 1]; i++) {
            if (i > c.doc_ptr[d]) fputc(' ', fp);
            if (c.vocab)
                fputs(c.vocab[c.tokens[i]], fp);
            else
                fprintf(fp, "w%d", (int)c.tokens[i]);
        }
        fputc('\n', fp);
    }
    free(c.doc_ptr);
    return lt_atomic_commit(af);
}

static lt_status lda_save_impl(const void *impl, const char *path)
{
    const lda_model *M = impl;
    lt_st_writer *w = NULL;
    lt_status st;
    if ((st = lt_st_writer_create(&w)) || (st = lt_lda_write_st(M->lda, w)) ||
        (st = lt_st_writer_meta(w, META_STOPWORDS, M->stopwords ? M->stopwords : "english")) ||
        (st = lt_st_writer_meta_i64(w, META_MIN_LENGTH, (int64_t)M->min_length)) ||
        (st = lt_st_writer_meta(w, META_INPUT, M->input[0] ? M->input : "lines")))
        goto done;
    st = lt_st_writer_save(w, path);
done:
    lt_st_writer_free(w);
    return st;
}

static lt_status lda_load_impl(const lt_st_file *f, const char *path, void **out)
{
    *out = NULL;
    lda_model *M = lt_calloc(1, sizeof *M);
    if (!M) return LT_ERR_NOMEM;
    lt_status st;
    if ((st = lt_lda_from_st(f, path, &M->lda))) goto fail;
    const char *sw = lt_st_meta(f, META_STOPWORDS);
    M->stopwords = strdup(sw ? sw : "english");
    if (!M->stopwords) {
        st = lt_fail(LT_ERR_NOMEM, "out of memory");
        goto fail;
    }
    int64_t ml = 2;
    if (lt_st_meta(f, META_MIN_LENGTH) && (lt_st_meta_i64(f, META_MIN_LENGTH, &ml) || ml < 0 || ml > 1000)) {
        st = lt_fail(LT_ERR_FORMAT, "%s: metadata %s: expected an integer in 0..1000", path, META_MIN_LENGTH);
        goto fail;
    }
    M->min_length = (size_t)ml;
    const char *in = lt_st_meta(f, META_INPUT);
    snprintf(M->input, sizeof M->input, "%s", in ? in : "lines");
    *out = M;
    return LT_OK;
fail:
    model_free(M);
    return st;
}

static lt_status lda_describe(const void *impl, lt_report *r)
{
    const lda_model *M = impl;
    const lt_lda *m = M->lda;
    lt_report_int(r, "topics", (int64_t)m->k);
    lt_report_int(r, "vocabulary", (int64_t)m->v);
    lt_report_str(r, "algorithm", lt_lda_algo_name(m->algo));
    double amin = m->alpha[0], amax = m->alpha[0], asum = 0;
    for (size_t k = 0; k < m->k; k++) {
        asum += m->alpha[k];
        if (m->alpha[k] < amin) amin = m->alpha[k];
        if (m->alpha[k] > amax) amax = m->alpha[k];
    }
    lt_report_num(r, "alpha_sum", asum);
    if (amin != amax) {
        lt_report_num(r, "alpha_min", amin);
        lt_report_num(r, "alpha_max", amax);
    }
    lt_report_num(r, "beta", m->beta[0]);
    lt_report_str(r, "stopwords", M->stopwords ? M->stopwords : "english");
    if (m->n_iter) {
        lt_report_int(r, "trained_documents", (int64_t)m->n_docs);
        lt_report_int(r, "trained_tokens", (int64_t)m->n_tokens);
        lt_report_int(r, "iterations", (int64_t)m->n_iter);
        lt_report_num(r, m->algo == LT_LDA_GIBBS ? "log_p_w_z_per_token" : "bound_per_token", m->log_likelihood);
        lt_report_int(r, "seed", (int64_t)m->seed);
    }
    return report_topics(m, 10, r);
}

const lt_family lt_lda_family = {
    .name = "lda",
    .summary = "latent Dirichlet allocation (topic model; collapsed Gibbs, batch or online variational Bayes)",
    .options = lda_options,
    .n_options = sizeof lda_options / sizeof *lda_options,
    .read = lda_read,
    .fit = lda_fit,
    .score = lda_score,
    .sample = lda_sample,
    .write = lda_write,
    .infer = lda_infer,
    .save = lda_save_impl,
    .load = lda_load_impl,
    .describe = lda_describe,
    .free = lda_free_impl,
};
