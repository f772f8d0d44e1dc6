/* latent — Gaussian mixture models.
 *
 *   p(x) = sum_k pi_k N(x | mu_k, Sigma_k)
 *
 * Covariance types: full (one d x d matrix per component), diag (one
 * variance vector per component), spherical (one variance per component),
 * tied (one d x d matrix shared by all). Fitted by EM in log space;
 * `reg_covar` is added to every variance as in scikit-learn. Scores are the
 * exact log-likelihood in nats.
 *
 * Thread safety: a fitted lt_gmm is read-only and may be shared by threads
 * for scoring and sampling.
 */
#ifndef LATENT_GMM_H
#define LATENT_GMM_H

#include "latent/core.h"
#include "latent/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lt_cov_type { LT_COV_FULL = 0, LT_COV_DIAG, LT_COV_SPHERICAL, LT_COV_TIED } lt_cov_type;

/* "full", "diag", "spherical", "tied" <-> enum. */
const char *lt_cov_type_name(lt_cov_type c);
lt_status lt_cov_type_parse(const char *s, lt_cov_type *out);

typedef enum lt_gmm_init {
    LT_GMM_INIT_KMEANSPP = 0, /* k-means++ seeding then Lloyd's k-means (default) */
    LT_GMM_INIT_RANDOM,       /* random responsibilities, as scikit-learn's 'random' */
    LT_GMM_INIT_MODEL         /* start from the parameters of `init_model` */
} lt_gmm_init;

typedef struct lt_gmm {
    size_t k, d;
    lt_cov_type cov;
    double *weights; /* k */
    double *means;   /* k x d */
    /* full: k x d x d; diag: k x d; spherical: k; tied: d x d */
    double *covs;
    /* Cholesky factor of the precision, upper triangular, as scikit-learn's
     * precisions_cholesky_ (same layout as covs; diag/spherical hold
     * 1/sqrt(variance)). Derived from covs by lt_gmm_prepare. */
    double *prec_chol;
    double *log_det; /* k: log det of prec_chol (sum of log diagonal) */
    /* Training summary (zero for a model that was not fitted). */
    int converged;
    size_t n_iter;        /* EM iterations of the chosen run */
    size_t best_init;     /* which of the n_init runs was kept (0-based) */
    size_t n_repaired;    /* empty/collapsed components repaired in that run */
    double lower_bound;   /* mean log-likelihood per sample at the last E-step */
    double reg_covar;
    double train_weight;  /* total sample weight seen in training */
    size_t train_n;       /* samples seen in training */
    /* Options of the fit, kept for the model file's summary. */
    double tol;
    size_t max_iter, n_init;
    uint64_t seed;
    lt_gmm_init init;
} lt_gmm;

/* History of one EM run: the mean log-likelihood at each E-step. */
typedef struct lt_gmm_trace {
    double *loglik; /* n entries, owned by the trace */
    size_t n, cap;
} lt_gmm_trace;

typedef struct lt_gmm_options {
    size_t k;              /* components (>= 1) */
    lt_cov_type cov;       /* default full */
    lt_gmm_init init;      /* default k-means++ */
    const lt_gmm *init_model; /* for LT_GMM_INIT_MODEL: same k, d and covariance type */
    size_t n_init;         /* restarts, best lower bound kept (default 1) */
    double tol;            /* stop when the mean log-likelihood gains less (default 1e-3) */
    size_t max_iter;       /* default 100 */
    double reg_covar;      /* default 1e-6 */
    size_t kmeans_iter;    /* Lloyd iterations at most (default 100) */
    uint64_t seed;
    int threads;           /* 0: OpenMP default */
    lt_progress_fn progress; /* may be NULL */
    void *progress_ud;
    lt_gmm_trace *trace;   /* if not NULL, receives the chosen run's history */
} lt_gmm_options;

/* Defaults as documented above. */
void lt_gmm_options_default(lt_gmm_options *o);

/* A model with the given sizes, zeroed; fill weights, means and covs, then
 * call lt_gmm_prepare. Free with lt_gmm_free. */
lt_status lt_gmm_create(size_t k, size_t d, lt_cov_type cov, lt_gmm **out);
void lt_gmm_free(lt_gmm *m); /* NULL ok */
lt_status lt_gmm_copy(const lt_gmm *m, lt_gmm **out);

/* Validate weights (non-negative, sum 1 within 1e-6; renormalised) and
 * covariances (symmetric positive definite), then compute prec_chol and
 * log_det. LT_ERR_NUMERIC names the component that is not positive
 * definite. */
lt_status lt_gmm_prepare(lt_gmm *m);

/* Fit by EM on X (n x d, row-major, float64, finite). `w` are optional
 * non-negative per-sample weights (NULL: all 1). *out is owned by the
 * caller. Errors: K > number of samples with positive weight, n == 0, a
 * non-finite value, an init model of other sizes. */
lt_status lt_gmm_fit(const lt_gmm_options *opt, const double *X, size_t n, size_t d, const double *w,
                     lt_gmm **out);

/* log p(x_i) for each row, nats. */
lt_status lt_gmm_score_samples(const lt_gmm *m, const double *X, size_t n, int threads, double *logp);
/* Responsibilities p(k | x_i), n x k, and/or hard labels (argmax). Either
 * output may be NULL. logp (n, may be NULL) receives log p(x_i). */
lt_status lt_gmm_infer(const lt_gmm *m, const double *X, size_t n, int threads, double *resp,
                       size_t *labels, double *logp);
/* n samples (n x d) and their components (may be NULL). */
lt_status lt_gmm_sample(const lt_gmm *m, size_t n, uint64_t seed, double *X, size_t *labels);

/* Number of free parameters, and the information criteria on data X:
 * BIC = -2 log L + p log n, AIC = -2 log L + 2 p (log L summed over X). */
size_t lt_gmm_n_parameters(const lt_gmm *m);
lt_status lt_gmm_bic(const lt_gmm *m, const double *X, size_t n, int threads, double *bic, double *aic);

/* KL(N(m0, S0) || N(m1, S1)) in closed form, nats; S are d x d SPD. */
lt_status lt_kl_gaussian(size_t d, const double *m0, const double *S0, const double *m1,
                         const double *S1, double *kl);

/* KL(a || b) between two mixtures by Monte Carlo: the mean over n samples
 * of a of log a(x) - log b(x), and its standard error. */
lt_status lt_gmm_kl_mc(const lt_gmm *a, const lt_gmm *b, size_t n, uint64_t seed, int threads,
                       double *kl, double *stderr_kl);

/* Save / load (safetensors; tensors "weights", "means", "covariances",
 * metadata latent.kind = "gmm", covariance_type, reg_covar...). */
lt_status lt_gmm_save(const lt_gmm *m, const char *path);
lt_status lt_gmm_load(const char *path, lt_gmm **out);
lt_status lt_gmm_from_st(const lt_st_file *f, const char *path, lt_gmm **out);

/* The family table for the generic interface (model.h). */
extern const lt_family lt_gmm_family;

#ifdef __cplusplus
}
#endif
#endif
