/* latent — the one shape every model has.
 *
 * A family (GMM, HMM, LDA, ...) is a table of function pointers: fit, score,
 * sample, infer, save, load, free. A NULL entry means the family does not
 * support that verb; the generic calls below then fail with
 * LT_ERR_UNSUPPORTED and say so. The command line, the report, the
 * classifier and the KL tools drive every family through this table, so a
 * new family plugs in by adding one table to the registry.
 */
#ifndef LATENT_MODEL_H
#define LATENT_MODEL_H

#include "latent/core.h"
#include "latent/io.h"
#include "latent/report.h"
#include "latent/safetensors.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a score is: exact log-likelihood, a lower bound on it, or a
 * stochastic estimate with a standard error. */
typedef enum lt_score_kind { LT_SCORE_EXACT, LT_SCORE_LOWER_BOUND, LT_SCORE_ESTIMATE } lt_score_kind;

const char *lt_score_kind_name(lt_score_kind k); /* "exact", "lower bound", "estimate" */

/* A held-out score. `mean` is in nats per `unit` ("sample", "token"...);
 * `stderr_mean` is the standard error of that mean over the data (and, for
 * estimates, of the estimator). `method` says how it was computed. */
typedef struct lt_score {
    double mean;
    double stderr_mean;
    double total; /* sum of log p over the data, nats */
    size_t count; /* samples (or tokens) scored */
    lt_score_kind kind;
    const char *unit;   /* static string */
    const char *method; /* static string */
} lt_score;

/* Option value types of a family's options. */
typedef enum lt_opt_type { LT_OPT_INT, LT_OPT_REAL, LT_OPT_STRING, LT_OPT_FLAG } lt_opt_type;

/* Where an option is accepted (bits): by `fit`; by every command that reads
 * data (fit, score, infer: how to read it, e.g. --lengths); by `sample`; by
 * `score` alone (how a score is estimated); by `infer` alone. */
#define LT_OPT_FIT 1u
#define LT_OPT_DATA 2u
#define LT_OPT_SAMPLE 4u
#define LT_OPT_SCORE 8u
#define LT_OPT_INFER 16u

/* One option a family accepts: `--name VALUE` on the command line
 * (`--name` alone for LT_OPT_FLAG). */
typedef struct lt_option_spec {
    const char *name;  /* without dashes, e.g. "cov" */
    char short_name;   /* e.g. 'k', or 0 */
    lt_opt_type type;
    const char *def;   /* default as text, NULL if none */
    const char *metavar;
    const char *help;
    unsigned where;    /* LT_OPT_* bits; 0 means LT_OPT_FIT */
} lt_option_spec;

/* An option given by the user: name (as in the spec) and its text value
 * ("1" for flags). */
typedef struct lt_kv {
    const char *name;
    const char *value;
} lt_kv;

/* Data as a family sees it: rows of features, or symbol ids, optionally cut
 * into sequences. Everything is owned by the dataset (lt_dataset_free). */
typedef struct lt_dataset {
    lt_array *x;       /* n_steps x d features, or NULL */
    int32_t *symbols;  /* n_steps symbol ids, or NULL */
    size_t n_steps;    /* rows of x, or entries of symbols */
    size_t *lengths;   /* n_seqs sequence lengths summing to n_steps; NULL: every row is one sample */
    size_t n_seqs;
    char **vocab;      /* vocab_size token strings for the symbols, or NULL */
    size_t vocab_size;
    int chars;         /* symbols are characters (written without separators) */
    size_t n_dropped;  /* input items left out while reading (e.g. words unknown to a model) */
    char *source;      /* the path it was read from (set by lt_model_read), or NULL */
} lt_dataset;

/* A dataset holding the array (ownership moves to it; on failure the array
 * is freed). */
lt_status lt_dataset_from_array(lt_array *x, lt_dataset **out);
void lt_dataset_free(lt_dataset *d);
/* Samples in the dataset: sequences when cut into sequences, else rows. */
size_t lt_dataset_samples(const lt_dataset *d);

/* Progress callback: stage (e.g. "init 2/4"), iteration, maximum, and the
 * current objective (nats per sample). Called from the fitting thread. */
typedef void (*lt_progress_fn)(void *ud, const char *stage, size_t iter, size_t max_iter, double value);

/* Common controls for fitting. */
typedef struct lt_fit_ctl {
    uint64_t seed;
    int threads;           /* 0: OpenMP's default */
    lt_progress_fn progress; /* may be NULL */
    void *progress_ud;
    const char *data_path; /* for messages and the training summary; may be NULL */
} lt_fit_ctl;

typedef struct lt_family {
    const char *name;    /* "gmm" */
    const char *summary; /* one line */
    const lt_option_spec *options;
    size_t n_options;
    /* Read DATA for this family (NULL: numeric arrays by lt_data_read).
     * `model` is NULL when fitting (a family may then build, e.g., a
     * vocabulary), else the fitted model whose vocabulary and sizes apply.
     * `opts` are the user's options (only LT_OPT_DATA ones matter here). */
    lt_status (*read)(const char *path, lt_format fmt, const lt_kv *opts, size_t n_opts, const void *model,
                      lt_dataset **out);
    /* Fit. Writes what it did (chosen sizes, iterations, tables) into `report`. */
    lt_status (*fit)(const lt_dataset *data, const lt_kv *opts, size_t n_opts, const lt_fit_ctl *ctl,
                     lt_report *report, void **model);
    /* log p of each sample (lt_dataset_samples entries, may be NULL) and the
     * summary, whose mean may be per sample or per step (its unit says).
     * `opts` are LT_OPT_SCORE options (and "seed", always accepted, for
     * stochastic estimators); NULL/0 means defaults. */
    lt_status (*score)(const void *model, const lt_dataset *data, const lt_kv *opts, size_t n_opts, int threads,
                       double *logp, lt_score *summary);
    /* n samples (sequences for sequence models; LT_OPT_SAMPLE options such
     * as a length apply). */
    lt_status (*sample)(const void *model, size_t n, uint64_t seed, const lt_kv *opts, size_t n_opts,
                        lt_dataset **out);
    /* Write a dataset this family sampled (NULL: arrays as .csv/.npy). */
    lt_status (*write)(const void *model, const lt_dataset *data, const char *path);
    /* The family's latents (responsibilities, state paths, hidden
     * probabilities...), one row per sample or step; `columns` receives a
     * NULL-terminated list of column names (may be NULL). */
    lt_status (*infer)(const void *model, const lt_dataset *data, const lt_kv *opts, size_t n_opts, int threads,
                       lt_array **out, char ***columns);
    lt_status (*save)(const void *model, const char *path);
    lt_status (*load)(const lt_st_file *file, const char *path, void **model);
    /* A text description for `latent info` (sizes, parameters); may be NULL. */
    lt_status (*describe)(const void *model, lt_report *report);
    void (*free)(void *model);
} lt_family;

/* A fitted model of some family. */
typedef struct lt_model {
    const lt_family *family;
    void *impl;
} lt_model;

/* The registry of families. */
size_t lt_family_count(void);
const lt_family *lt_family_at(size_t i);
/* NULL when unknown. */
const lt_family *lt_family_find(const char *name);

/* Generic verbs. Each fails with LT_ERR_UNSUPPORTED ("gmm: infer is not
 * supported") when the family's entry is NULL. The model is owned by the
 * caller; free with lt_model_free. */
lt_status lt_model_read(const lt_family *fam, const char *path, lt_format fmt, const lt_kv *opts, size_t n_opts,
                        const lt_model *model, lt_dataset **out);
lt_status lt_model_fit(const lt_family *fam, const lt_dataset *data, const lt_kv *opts, size_t n_opts,
                       const lt_fit_ctl *ctl, lt_report *report, lt_model **out);
lt_status lt_model_score(const lt_model *m, const lt_dataset *data, int threads, double *logp, lt_score *summary);
/* The same with the family's LT_OPT_SCORE options (and "seed"). */
lt_status lt_model_score_opts(const lt_model *m, const lt_dataset *data, const lt_kv *opts, size_t n_opts,
                              int threads, double *logp, lt_score *summary);
lt_status lt_model_sample(const lt_model *m, size_t n, uint64_t seed, const lt_kv *opts, size_t n_opts,
                          lt_dataset **out);
lt_status lt_model_write(const lt_model *m, const lt_dataset *data, const char *path);
lt_status lt_model_infer(const lt_model *m, const lt_dataset *data, int threads, lt_array **out, char ***columns);
/* The same with the family's LT_OPT_INFER options (and "seed"). */
lt_status lt_model_infer_opts(const lt_model *m, const lt_dataset *data, const lt_kv *opts, size_t n_opts,
                              int threads, lt_array **out, char ***columns);
lt_status lt_model_save(const lt_model *m, const char *path);
/* Reads the file's "latent.kind" metadata to find the family. */
lt_status lt_model_load(const char *path, lt_model **out);
lt_status lt_model_describe(const lt_model *m, lt_report *report);
void lt_model_free(lt_model *m);

/* Metadata keys every model file carries. */
#define LT_META_FORMAT "latent.format"   /* "1" */
#define LT_META_KIND "latent.kind"       /* family name */
#define LT_META_VERSION "latent.version" /* library version that wrote it */
#define LT_FORMAT_VERSION "1"

/* Option parsing helpers for families: find an option by name (NULL when
 * absent) and parse numbers with a message naming the option. */
const char *lt_kv_get(const lt_kv *opts, size_t n, const char *name);
lt_status lt_kv_size(const lt_kv *opts, size_t n, const char *name, size_t def, size_t *out);
lt_status lt_kv_real(const lt_kv *opts, size_t n, const char *name, double def, double *out);
/* Fails with LT_ERR_INVALID naming the first option in opts that is not in
 * the family's spec with one of the `where` bits (LT_OPT_*). */
lt_status lt_kv_check(const lt_family *fam, const lt_kv *opts, size_t n, unsigned where);
/* A count or a range of counts, "K" or "K1..K2" (1 <= K1 <= K2 <= 100000),
 * as --k and --states take; LT_ERR_INVALID names the option `opt` and says
 * what is counted (`what`, e.g. "components"). */
lt_status lt_parse_range(const char *opt, const char *what, const char *s, size_t *lo, size_t *hi);
/* Flags: 1 when given (as "1", "true" or "yes"), else 0. */
int lt_kv_flag(const lt_kv *opts, size_t n, const char *name);

#ifdef __cplusplus
}
#endif
#endif
