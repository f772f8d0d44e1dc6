/* latent — restricted Boltzmann machines.
 *
 * An RBM is a joint distribution over visible units v (nv) and binary hidden
 * units h (nh), p(v, h) = exp(-E(v, h)) / Z, with
 *
 *   Bernoulli visible (v in {0,1}):
 *       E(v, h) = - b.v - c.h - v' W h
 *   Gaussian visible (v real; Cho, Ilin and Raiko 2011):
 *       E(v, h) = sum_i (v_i - b_i)^2 / (2 s_i) - c.h - sum_ij v_i W_ij h_j / s_i
 *       where s_i = sigma_i^2 = exp(logvar_i), fixed or learnt,
 *
 * so that p(h_j = 1 | v) = sigmoid(c_j + sum_i v_i W_ij [/ s_i]) and
 * p(v_i | h) = Bernoulli(sigmoid(b_i + W_i. h)), or N(b_i + W_i. h, s_i).
 * The hidden units sum out in closed form into the free energy
 *
 *   F(v) = -b.v - sum_j softplus(c_j + v' W_.j)                  (Bernoulli)
 *   F(v) = sum_i (v_i - b_i)^2 / (2 s_i) - sum_j softplus(c_j + (v / s)' W_.j)
 *
 * and log p(v) = -F(v) - log Z, in nats (a density for Gaussian units).
 *
 * Training follows the log-likelihood gradient E_data[-dE/dtheta] -
 * E_model[-dE/dtheta], the model term estimated by k steps of block Gibbs
 * sampling from the data (contrastive divergence, CD-k; Hinton 2002) or from
 * persistent chains (PCD / stochastic maximum likelihood; Tieleman 2008), on
 * mini-batches with momentum, weight decay, an optional sparsity target for
 * the hidden units and a learning-rate schedule (Hinton 2010, "A practical
 * guide to training RBMs"). The data term uses p(h | v), the model term the
 * chains' sampled v and p(h | v).
 *
 * log Z is computed exactly by enumerating the smaller layer (2^min(nv, nh)
 * terms for Bernoulli units, 2^nh for Gaussian ones), or estimated by
 * annealed importance sampling (Neal 2001; Salakhutdinov and Murray 2008)
 * from a base model with the data's visible marginals and no weights, along
 * p_beta(v) ∝ sum_h exp(-(1 - beta) E_A(v) - beta E(v, h)). AIS's Z is
 * unbiased, so its log tends to be low and log p(v) high: the estimate comes
 * with its standard error.
 *
 * Parameters are float32 and the matrix work goes through BLAS (sgemm);
 * sums of log-probabilities are double. When the visible units are
 * Bernoulli and every training value is 0 or 1, training computes the
 * products with visible rows from their on-bits instead (the same update,
 * several times less work on sparse images such as binarised digits).
 * Every computation is split into blocks fixed by the sizes alone and
 * each chain row draws from its own random stream, so a seed gives the
 * same model and the same estimates at any thread count. A fitted lt_rbm
 * is read-only in the scoring, sampling and inference calls and may be
 * shared by threads.
 */
#ifndef LATENT_RBM_H
#define LATENT_RBM_H

#include "latent/core.h"
#include "latent/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lt_rbm_visible { LT_RBM_BERNOULLI = 0, LT_RBM_GAUSSIAN } lt_rbm_visible;
typedef enum lt_rbm_schedule { LT_RBM_LR_CONSTANT = 0, LT_RBM_LR_LINEAR } lt_rbm_schedule;

/* "bernoulli", "gaussian" <-> enum (LT_ERR_INVALID names the text). */
const char *lt_rbm_visible_name(lt_rbm_visible v);
lt_status lt_rbm_visible_parse(const char *s, lt_rbm_visible *out);

typedef struct lt_rbm {
    size_t nv, nh;
    lt_rbm_visible visible;
    int learn_var;       /* Gaussian: the variances are learnt */
    float *w;            /* nv x nh, row-major */
    float *b;            /* nv visible biases */
    float *c;            /* nh hidden biases */
    float *logvar;       /* nv log variances (Gaussian visible), else NULL */
    float *data_mean;    /* nv means of the training data (the AIS base model) */
    size_t height, width; /* image geometry of the visible units (0 if none) */
    /* Training summary (zero for a model that was not fitted). */
    size_t epochs, train_n, batch, cd_k;
    int persistent;
    double lr, recon_error; /* final mean squared reconstruction error per sample */
    uint64_t seed;
} lt_rbm;

typedef struct lt_rbm_options {
    size_t n_hidden;        /* default 64 */
    lt_rbm_visible visible; /* default Bernoulli */
    int learn_var;          /* Gaussian: learn log-variances (default 0: fixed) */
    double init_var;        /* Gaussian: initial/fixed variance; <= 0 (default): each feature's data
                               variance, at least 1/100 of the features' mean variance */
    size_t cd_k;            /* Gibbs steps per update (default 1) */
    int persistent;         /* 1: PCD (chains = batch), 0: CD-k (default) */
    size_t batch;           /* mini-batch size (default 20) */
    size_t epochs;          /* passes over the data (default 10) */
    double lr;              /* learning rate (default 0.1; Gaussian: 0.01) */
    lt_rbm_schedule schedule; /* default constant; linear decays to 0 at the end */
    double momentum;        /* final momentum (default 0.9) */
    double initial_momentum; /* momentum of the first `momentum_epochs` epochs (default 0.5) */
    size_t momentum_epochs; /* default 5 */
    double weight_decay;    /* L2 on W (default 1e-4) */
    double sparsity_target; /* target mean activation of hidden units; 0: none (default) */
    double sparsity_cost;   /* default 0.1 */
    double sparsity_decay;  /* decay of the running activation estimate (default 0.95) */
    double init_std;        /* standard deviation of the initial weights (default 0.01) */
    uint64_t seed;
    int threads;            /* 0: OpenMP's default */
    lt_progress_fn progress; /* per epoch: "epoch", epoch, epochs, reconstruction error; may be NULL */
    void *progress_ud;
} lt_rbm_options;

void lt_rbm_options_default(lt_rbm_options *o);

/* A model with zero parameters (variances 1, data means 0 or 0.5). Free with
 * lt_rbm_free. LT_ERR_INVALID for zero or absurd sizes. */
lt_status lt_rbm_create(size_t nv, size_t nh, lt_rbm_visible visible, lt_rbm **out);
lt_status lt_rbm_copy(const lt_rbm *m, lt_rbm **out);
void lt_rbm_free(lt_rbm *m);

/* Initialise (weights N(0, init_std^2) from the seed, visible biases from
 * the data means, hidden biases 0) and train for o->epochs on x (n x nv
 * floats, row-major, borrowed). Bernoulli units need x in [0, 1] (values in
 * between are taken as probabilities); any NaN or infinity is refused,
 * naming its row and column. *out is owned by the caller. */
lt_status lt_rbm_fit(const lt_rbm_options *o, const float *x, size_t n, size_t nv, lt_rbm **out);

/* Continue training an existing model for o->epochs (o->n_hidden and
 * o->visible are ignored). The step-by-step route behind lt_rbm_fit. */
lt_status lt_rbm_train(lt_rbm *m, const lt_rbm_options *o, const float *x, size_t n);

/* p(h = 1 | v) for n rows: out is n x nh. */
lt_status lt_rbm_hidden_probs(const lt_rbm *m, const float *v, size_t n, int threads, float *out);
/* E[v | h] for n rows of hidden states h (n x nh): out is n x nv. */
lt_status lt_rbm_visible_mean(const lt_rbm *m, const float *h, size_t n, int threads, float *out);

/* Free energy F(v) of n rows (nats). */
lt_status lt_rbm_free_energy(const lt_rbm *m, const float *v, size_t n, int threads, double *out);

/* log Z by enumeration: 2^min(nv, nh) terms (Bernoulli) or 2^nh (Gaussian),
 * at most 2^30; LT_ERR_INVALID beyond, saying to use AIS. */
lt_status lt_rbm_log_z_exact(const lt_rbm *m, int threads, double *log_z);

typedef struct lt_ais_options {
    size_t runs;   /* independent AIS runs (default 100) */
    size_t betas;  /* intermediate distributions (default 10000), spaced as
                      Salakhutdinov and Murray: 1/29 of them in [0, 0.5],
                      8/29 in [0.5, 0.9], 20/29 in [0.9, 1] */
    uint64_t seed;
    int threads;
} lt_ais_options;

void lt_ais_options_default(lt_ais_options *o);

typedef struct lt_ais_result {
    double log_z;       /* the estimate log mean(w) + log Z_A */
    double log_z_stderr; /* standard error of log_z (delta method over the runs) */
    double log_z_base;  /* log Z_A of the base model */
    double ess;         /* effective sample size of the importance weights */
    size_t runs, betas;
} lt_ais_result;

/* Estimate log Z by annealed importance sampling. */
lt_status lt_rbm_ais(const lt_rbm *m, const lt_ais_options *o, lt_ais_result *out);

/* log p(v) = -F(v) - log_z for n rows. */
lt_status lt_rbm_log_prob(const lt_rbm *m, const float *v, size_t n, double log_z, int threads, double *out);

/* scikit-learn's pseudo-likelihood (BernoulliRBM.score_samples): for each
 * row one visible unit i drawn at random, nv * log sigmoid(F(v with v_i
 * flipped to 1 - v_i) - F(v)). Bernoulli visible units only. */
lt_status lt_rbm_pseudo_likelihood(const lt_rbm *m, const float *v, size_t n, uint64_t seed, int threads,
                                   double *out);

/* Mean squared reconstruction error per row: || v - E[v | h] ||^2 with h
 * drawn from p(h | v) (a stream per row from `seed`). */
lt_status lt_rbm_reconstruction_error(const lt_rbm *m, const float *v, size_t n, uint64_t seed, int threads,
                                      double *out);

/* n samples of v from n independent block Gibbs chains of `steps` steps,
 * started from the visible marginals of the training data. With `mean`, the
 * last step's E[v | h] is written instead of a draw (smoother pictures).
 * out is n x nv. */
lt_status lt_rbm_sample(const lt_rbm *m, size_t n, size_t steps, int mean, uint64_t seed, int threads, float *out);

/* Files: safetensors with tensors W (nv x nh), visible_bias, hidden_bias,
 * data_mean, logvar (Gaussian), float32; kind "rbm". */
lt_status lt_rbm_save(const lt_rbm *m, const char *path);
lt_status lt_rbm_load(const char *path, lt_rbm **out);
lt_status lt_rbm_from_st(const lt_st_file *f, const char *path, lt_rbm **out);

/* The family for the generic model table. */
extern const lt_family lt_rbm_family;

#ifdef __cplusplus
}
#endif
#endif
