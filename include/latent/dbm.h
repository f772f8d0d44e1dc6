/* latent — deep Boltzmann machines.
 *
 * A DBM is an undirected model over binary layers h_0 = v (nv visible
 * units) and L >= 2 hidden layers h_1 .. h_L, with weights only between
 * neighbouring layers:
 *
 *   E(h_0, .., h_L) = - sum_{l=0..L} b_l . h_l - sum_{l=0..L-1} h_l' W_l h_{l+1},
 *   p(h_0, .., h_L) = exp(-E) / Z,
 *
 * so that p(h_l,j = 1 | rest) = sigmoid(b_l,j + (W_{l-1}' h_{l-1})_j + (W_l h_{l+1})_j):
 * given the even layers the odd ones are independent and sum out in closed
 * form, and the other way round (Salakhutdinov and Hinton 2009, "Deep
 * Boltzmann machines", AISTATS).
 *
 * Training (Salakhutdinov and Hinton 2009; 2012, "An efficient learning
 * procedure for deep Boltzmann machines", Neural Computation 24):
 *
 *   1. Greedy pretraining of one RBM per pair of layers by CD-k. The bottom
 *      RBM sees its visible input twice on the way up (p(h_1 | v) =
 *      sigmoid(2 W_0' v + c)), the top RBM its hidden input twice on the way
 *      down (p(h_{L-1} | h_L) = sigmoid(2 W_{L-1} h_L + b)), the middle ones
 *      both; each RBM is trained on the doubled-input posteriors of the one
 *      below. Composed into the DBM, every unit then receives input from both
 *      neighbours at half the doubled strength: the weights are kept as
 *      learnt (the doubling is halved back) and the bias of a hidden layer
 *      is the mean of the two RBMs' biases for it.
 *   2. Joint training by stochastic approximation: the data term from a
 *      mean-field posterior Q(h | v) = prod_l,j q_l,j (started by a bottom-up
 *      pass with doubled weights below the top, then fixed-point sweeps
 *      q_l = sigmoid(b_l + W_{l-1}' q_{l-1} + W_l q_{l+1}), optionally damped),
 *      the model term from persistent Gibbs chains (odd layers given even,
 *      then even given odd; the statistics use the even layers' states and
 *      the odd layers' conditional probabilities). The learning rate decays
 *      as lr / (1 + 9 t / T) over the T updates; L2 weight decay.
 *
 * log Z is computed exactly by enumerating whichever parity of layers has
 * fewer units (at most 2^30 terms), summing the other out, or estimated by
 * annealed importance sampling over the even layers with the odd ones
 * summed out (Salakhutdinov and Hinton 2009, Sec. 4; Neal 2001): from a base
 * model of independent units (the visible ones with the training data's
 * marginals, the hidden ones uniform) along p_beta ∝ exp(-(1 - beta) E_A -
 * beta E). As for the RBM, AIS's Z is unbiased, so its log tends to be low.
 *
 * The score of a data vector is the variational lower bound
 *
 *   log p(v) >= sum_h Q(h | v) (-E(v, h)) + H(Q) - log Z,
 *
 * exact given Q and log Z (a true lower bound with exact log Z, an estimate
 * of one with AIS's log Z), in nats.
 *
 * Parameters are float32 in one allocation, the matrix work is BLAS sgemm in
 * blocks fixed by the sizes, sums of log-probabilities are double, and every
 * chain row draws from its own random stream keyed by (seed, step, row), so a
 * seed gives the same model and the same estimates at any thread count. A
 * fitted lt_dbm is read-only in the scoring, sampling and inference calls
 * and may be shared by threads.
 */
#ifndef LATENT_DBM_H
#define LATENT_DBM_H

#include "latent/core.h"
#include "latent/model.h"
#include "latent/rbm.h" /* lt_ais_options, lt_ais_result */

#ifdef __cplusplus
extern "C" {
#endif

#define LT_DBM_MAX_LAYERS 8 /* the visible layer and up to 7 hidden layers */

typedef struct lt_dbm {
    size_t n_layers;                  /* L + 1: the visible layer and L >= 2 hidden layers */
    size_t sizes[LT_DBM_MAX_LAYERS];  /* units per layer; sizes[0] = nv */
    float *w[LT_DBM_MAX_LAYERS - 1];  /* w[l]: sizes[l] x sizes[l+1], row-major (points into params) */
    float *b[LT_DBM_MAX_LAYERS];      /* b[l]: sizes[l] biases (points into params) */
    float *params;                    /* every parameter: W_0 .. W_{L-1}, then b_0 .. b_L */
    size_t n_params;
    float *data_mean;                 /* nv means of the training data (AIS base, sampling start) */
    size_t height, width;             /* image geometry of the visible units (0 if none) */
    /* Training summary (zero for a model that was not fitted). */
    size_t pretrain_epochs, epochs, train_n, batch, chains, mf_iters;
    double lr, weight_decay, recon_error; /* recon_error: mean squared error of v from its mean-field h_1 */
    uint64_t seed;
} lt_dbm;

typedef struct lt_dbm_options {
    size_t n_hidden[LT_DBM_MAX_LAYERS - 1]; /* units of hidden layers 1..L (default 64, 64) */
    size_t n_hidden_layers;                 /* L >= 2 (default 2) */
    size_t pretrain_epochs;  /* epochs of each pretraining RBM (default 10; 0: none) */
    double pretrain_lr;      /* default 0.05 */
    size_t cd_k;             /* pretraining Gibbs steps per update (default 1) */
    size_t epochs;           /* joint training passes (default 10) */
    size_t batch;            /* mini-batch size, both stages (default 100) */
    size_t chains;           /* persistent chains (default 100) */
    size_t chain_steps;      /* Gibbs steps of the chains per update (default 1) */
    size_t mf_iters;         /* mean-field sweeps per data vector in training (default 10) */
    double damping;          /* mean-field damping in [0, 1): q <- d q + (1 - d) q_new (default 0) */
    double lr;               /* joint training learning rate at the start (default 0.01) */
    double momentum;         /* joint training momentum (default 0) */
    double pretrain_momentum; /* final pretraining momentum (0.5 for the first 5 epochs; default 0.9) */
    double weight_decay;     /* L2 on the weights, both stages (default 2e-4) */
    double init_std;         /* standard deviation of the initial weights (default 0.01) */
    uint64_t seed;
    int threads;             /* 0: OpenMP's default */
    lt_progress_fn
        progress; /* per epoch: "pretrain l/L" or "epoch", epoch, epochs, reconstruction error; may be NULL */
    void *progress_ud;
} lt_dbm_options;

void lt_dbm_options_default(lt_dbm_options *o);

/* A model with zero parameters over n_layers layers of the given sizes
 * (n_layers in [3, LT_DBM_MAX_LAYERS]); data means 0.5. Free with
 * lt_dbm_free. LT_ERR_INVALID for a bad layer count or absurd sizes. */
lt_status lt_dbm_create(size_t n_layers, const size_t *sizes, lt_dbm **out);
lt_status lt_dbm_copy(const lt_dbm *m, lt_dbm **out);
void lt_dbm_free(lt_dbm *m);

/* Initialise (weights N(0, init_std^2) from the seed, visible biases from
 * the data's log-odds), pretrain greedily, then train jointly, on x (n x nv
 * floats in [0, 1], row-major, borrowed; values between 0 and 1 are taken as
 * probabilities). NaN, infinity or values outside [0, 1] are refused, naming
 * the row and column. *out is owned by the caller. */
lt_status lt_dbm_fit(const lt_dbm_options *o, const float *x, size_t n, size_t nv, lt_dbm **out);

/* The two stages alone (the step-by-step route behind lt_dbm_fit; the
 * layer sizes in o are ignored). Pretraining overwrites every parameter but
 * the data means; joint training continues from the model as it is. */
lt_status lt_dbm_pretrain(lt_dbm *m, const lt_dbm_options *o, const float *x, size_t n);
lt_status lt_dbm_train(lt_dbm *m, const lt_dbm_options *o, const float *x, size_t n);

/* Hidden units in all: sizes[1] + .. + sizes[L]. */
size_t lt_dbm_hidden_total(const lt_dbm *m);

/* The mean-field posterior of n rows v (n x nv): out is n x
 * lt_dbm_hidden_total(m), each row q_1 then q_2 .. q_L. At most `iters`
 * sweeps, stopping early when no q moves by more than 1e-6 (per block of
 * rows fixed by n); damping in [0, 1). */
lt_status lt_dbm_mean_field(const lt_dbm *m, const float *v, size_t n, size_t iters, double damping, int threads,
                            float *out);

/* The mean-field lower bound on log p(v) for n rows, given log Z (nats):
 * E_Q[-E(v, h)] + H(Q) - log_z with Q from lt_dbm_mean_field(iters, damping). */
lt_status lt_dbm_bound(const lt_dbm *m, const float *v, size_t n, double log_z, size_t iters, double damping,
                       int threads, double *out);

/* log Z by enumerating the layers of one parity (the smaller in units, at
 * most 30 of them) and summing the others out; LT_ERR_INVALID beyond, saying
 * to use AIS. */
lt_status lt_dbm_log_z_exact(const lt_dbm *m, int threads, double *log_z);

/* log Z by annealed importance sampling (options and result as for the
 * RBM; o->runs >= 2). */
lt_status lt_dbm_ais(const lt_dbm *m, const lt_ais_options *o, lt_ais_result *out);

/* n samples of v from n independent Gibbs chains of `steps` steps (odd
 * layers given even, then even given odd), started with v from the training
 * data's marginals and the hidden layers from a doubled bottom-up pass. With
 * `mean`, the last step writes p(v = 1 | h_1) instead of a draw. out is
 * n x nv. */
lt_status lt_dbm_sample(const lt_dbm *m, size_t n, size_t steps, int mean, uint64_t seed, int threads, float *out);

/* Files: safetensors with tensors W0 .. W{L-1} (sizes[l] x sizes[l+1]),
 * b0 .. bL and data_mean, float32; kind "dbm". Loading checks every size,
 * dtype and value and names the file and the tensor when one is wrong. */
lt_status lt_dbm_save(const lt_dbm *m, const char *path);
lt_status lt_dbm_load(const char *path, lt_dbm **out);
lt_status lt_dbm_from_st(const lt_st_file *f, const char *path, lt_dbm **out);

/* The family for the generic model table. */
extern const lt_family lt_dbm_family;

#ifdef __cplusplus
}
#endif
#endif
