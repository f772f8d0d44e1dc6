/* latent — hidden Markov models.
 *
 *   p(x_1..T) = sum over state paths z of pi_{z_1} b_{z_1}(x_1)
 *               prod_{t>1} A_{z_{t-1} z_t} b_{z_t}(x_t)
 *
 * K hidden states; start probabilities pi (K), transition matrix A (K x K,
 * rows sum to 1), and per-state emissions b_k: categorical (discrete
 * symbols), Gaussian (full, diag, spherical or tied covariance), a Gaussian
 * mixture per state, or independent Poisson counts. Fitted by Baum-Welch
 * (EM) with scaled forward-backward; scores are the exact log-likelihood by
 * the forward algorithm, in nats.
 *
 * Data are one or more sequences laid end to end (lt_seqs): `lengths` says
 * where each ends. A fitted lt_hmm is read-only and may be shared by threads.
 */
#ifndef LATENT_HMM_H
#define LATENT_HMM_H

#include "latent/core.h"
#include "latent/gmm.h"
#include "latent/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lt_emission {
    LT_EMIT_CATEGORICAL = 0, /* symbols 0..n_symbols-1 */
    LT_EMIT_GAUSSIAN,        /* one Gaussian per state, covariance type `cov` */
    LT_EMIT_GMM,             /* a mixture of n_mix Gaussians per state */
    LT_EMIT_POISSON          /* d independent Poisson counts per state */
} lt_emission;

/* "categorical", "gaussian", "gmm", "poisson" <-> enum. */
const char *lt_emission_name(lt_emission e);
lt_status lt_emission_parse(const char *s, lt_emission *out);

/* Sequences laid end to end (borrowed views; nothing is owned). */
typedef struct lt_seqs {
    size_t n_seqs;
    const size_t *lengths;  /* n_seqs entries, each >= 1 */
    size_t total;           /* sum of lengths */
    size_t dim;             /* features per step (continuous); 1 for symbols */
    const double *x;        /* total x dim, row-major (continuous emissions), or NULL */
    const int32_t *symbols; /* total entries in [0, n_symbols) (categorical), or NULL */
} lt_seqs;

typedef struct lt_hmm {
    size_t k;           /* states */
    lt_emission emission;
    size_t d;           /* features per step (1 for categorical) */
    size_t n_symbols;   /* categorical */
    size_t n_mix;       /* gmm: components per state */
    lt_cov_type cov;    /* gaussian / gmm */
    double *start;      /* k */
    double *trans;      /* k x k, row-major: trans[i*k + j] = p(z_t = j | z_t-1 = i) */
    uint8_t *mask;      /* k x k allowed transitions (1) and structural zeros (0); NULL: all allowed */
    double *emit;       /* categorical: k x n_symbols probabilities; poisson: k x d rates */
    lt_gmm **states;    /* gaussian: one lt_gmm with k components (weights unused, kept 1/k);
                           gmm: k mixtures of n_mix components each. NULL otherwise. */
    char **vocab;       /* categorical: n_symbols token strings, or NULL */
    /* Training summary (zero for a model that was not fitted). */
    int converged;
    size_t n_iter, best_init, n_repaired;
    double log_likelihood; /* per step, nats, at the last E-step */
    uint64_t seed;
} lt_hmm;

/* Which parameters are trained / initialised, as hmmlearn's letters:
 * s = start, t = transitions, e = emissions (m, c, w for means, covariances
 * and mixture weights are accepted as parts of e). */
#define LT_HMM_START 1u
#define LT_HMM_TRANS 2u
#define LT_HMM_EMIT 4u
#define LT_HMM_ALL 7u
lt_status lt_hmm_params_parse(const char *letters, unsigned *out);

typedef struct lt_hmm_trace {
    double *loglik; /* per step, after each E-step */
    size_t n, cap;
} lt_hmm_trace;

typedef struct lt_hmm_options {
    size_t k;
    lt_emission emission;
    lt_cov_type cov;       /* gaussian / gmm (default diag) */
    size_t n_mix;          /* gmm (default 2) */
    size_t n_symbols;      /* categorical: symbols 0..n_symbols-1 (0: 1 + max seen) */
    const uint8_t *mask;   /* k x k transition mask (copied), or NULL */
    unsigned params;       /* trained (default LT_HMM_ALL) */
    unsigned init_params;  /* initialised from data (default LT_HMM_ALL); the rest come from init_model */
    const lt_hmm *init_model;
    double start_prior;    /* Dirichlet concentration for start (1 = none, MAP-EM above 1) */
    double trans_prior;    /* for each row of transitions */
    double tol;            /* on the log-likelihood per step (default 1e-4) */
    size_t max_iter;       /* default 100 */
    size_t n_init;         /* default 1; best log-likelihood kept */
    double reg_covar;      /* gaussian / gmm, default 1e-6 */
    uint64_t seed;
    int threads;
    lt_progress_fn progress;
    void *progress_ud;
    lt_hmm_trace *trace;
} lt_hmm_options;

void lt_hmm_options_default(lt_hmm_options *o);

/* A model with the given sizes, zeroed (gaussian/gmm state mixtures
 * created); fill, then lt_hmm_prepare validates. */
lt_status lt_hmm_create(size_t k, lt_emission emission, size_t d, size_t n_symbols, size_t n_mix, lt_cov_type cov,
                        lt_hmm **out);
void lt_hmm_free(lt_hmm *m);
lt_status lt_hmm_copy(const lt_hmm *m, lt_hmm **out);
/* Validate probabilities (rows sum to 1, mask respected) and emissions. */
lt_status lt_hmm_prepare(lt_hmm *m);

/* Baum-Welch. Errors: empty sequences, a symbol outside the alphabet,
 * non-finite values, lengths that do not add up to total. */
lt_status lt_hmm_fit(const lt_hmm_options *o, const lt_seqs *data, lt_hmm **out);

/* log p(x) of each sequence (n_seqs entries), nats. */
lt_status lt_hmm_score(const lt_hmm *m, const lt_seqs *data, int threads, double *logp);
/* State posteriors p(z_t = k | x), total x k. */
lt_status lt_hmm_posteriors(const lt_hmm *m, const lt_seqs *data, int threads, double *post);
/* Most probable path (Viterbi), total entries, and its log probability per sequence (may be NULL). */
lt_status lt_hmm_viterbi(const lt_hmm *m, const lt_seqs *data, int threads, int32_t *path, double *logp);

/* Sample n_seqs sequences of `length` steps: states (n_seqs*length) and
 * observations (x: n_seqs*length*d for continuous, symbols for categorical);
 * outputs may be NULL. */
lt_status lt_hmm_sample(const lt_hmm *m, size_t n_seqs, size_t length, uint64_t seed, int32_t *states, double *x,
                        int32_t *symbols);

size_t lt_hmm_n_parameters(const lt_hmm *m);
/* BIC and AIC over the data (log-likelihood summed over sequences, n = steps). */
lt_status lt_hmm_bic(const lt_hmm *m, const lt_seqs *data, int threads, double *bic, double *aic);

lt_status lt_hmm_save(const lt_hmm *m, const char *path);
lt_status lt_hmm_load(const char *path, lt_hmm **out);
lt_status lt_hmm_from_st(const lt_st_file *f, const char *path, lt_hmm **out);

extern const lt_family lt_hmm_family;

#ifdef __cplusplus
}
#endif
#endif
