/* latent — deep belief nets.
 *
 * A DBN with L layers of hidden units h1 .. hL over data v (h0 = v) is a
 * stack of L restricted Boltzmann machines trained greedily, one layer at a
 * time: RBM 1 on the data, RBM l + 1 on p(h_l = 1 | h_{l-1}) of the data
 * under the layers below (Hinton, Osindero and Teh 2006). As a generative
 * model it is a directed sigmoid belief net from h_{L-1} down to v,
 *
 *   p(v, h1, ..., hL) = p(v | h1) p(h1 | h2) ... p(h_{L-2} | h_{L-1}) p(h_{L-1}, hL),
 *
 * with an undirected top RBM p(h_{L-1}, hL); each p(h_{l-1} | h_l) is the
 * visible conditional of RBM l. Samples come from block Gibbs sampling in
 * the top RBM followed by one down-pass.
 *
 * log p(v) has no closed form; the score is the variational lower bound of
 * Salakhutdinov and Murray (2008) with the factorial up-pass posteriors
 * Q(h_l | h_{l-1}) of each RBM:
 *
 *   log p(v) >= E_Q[ sum_{l<L-1} log p(h_l | h_{l+1}) + log p*(h_{L-1}) ]
 *               + sum_{l<L-1} E_Q[ H(Q(h_{l+1} | h_l)) ] - log Z_top,
 *
 * where p*(h_{L-1}) = exp(-F_top(h_{L-1})) (the top RBM with its hidden
 * units summed out). The expectation is a Monte Carlo average over draws
 * from Q (the entropies are exact given each draw's parents), and log Z_top
 * is exact for a small top RBM or estimated by AIS: the score is an
 * estimate of a lower bound, with a standard error. With one layer the DBN
 * is an RBM and the bound is log p(v) itself.
 *
 * Optional supervised fine-tuning turns the stack into a feed-forward
 * classifier: sigmoid layers with the RBMs' weights and hidden biases, then
 * a softmax layer, trained by back-propagation of the cross-entropy
 * (Hinton and Salakhutdinov 2006). It changes the weights of the stack, so
 * the generative bound of a fine-tuned DBN describes the fine-tuned
 * weights.
 */
#ifndef LATENT_DBN_H
#define LATENT_DBN_H

#include "latent/core.h"
#include "latent/model.h"
#include "latent/rbm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lt_dbn {
    size_t n_layers; /* L >= 1 */
    lt_rbm **rbm;    /* rbm[l] joins layer l (below) and layer l + 1 */
    /* classifier on the top hidden layer (n_classes = 0: none) */
    size_t n_classes;
    float *cls_w; /* n_top x n_classes */
    float *cls_b; /* n_classes */
    size_t finetune_epochs;
    double train_accuracy; /* after fine-tuning, on the training data */
} lt_dbn;

typedef struct lt_dbn_options {
    lt_rbm_options rbm;   /* training of every layer; rbm.n_hidden is ignored, rbm.visible is layer 1's */
    const size_t *hidden; /* n_layers hidden sizes, bottom first (borrowed) */
    size_t n_layers;
    /* fine-tuning: labels (n entries in 0 .. n_classes - 1) or NULL */
    const int32_t *labels;
    size_t n_classes;
    size_t finetune_epochs; /* default 20 */
    double finetune_lr;     /* default 0.1 */
    size_t finetune_batch;  /* default 50 */
} lt_dbn_options;

void lt_dbn_options_default(lt_dbn_options *o);

void lt_dbn_free(lt_dbn *d);

/* Greedy layer-wise training on x (n x nv floats, borrowed; as lt_rbm_fit
 * takes them), then fine-tuning when labels are given. *out is owned by the
 * caller. Progress reports "layer l/L" stages. */
lt_status lt_dbn_fit(const lt_dbn_options *o, const float *x, size_t n, size_t nv, lt_dbn **out);

/* Up-pass: p(h_{layer} = 1 | ...) of n rows, each layer on the previous
 * one's probabilities; `layer` in 1 .. L; out is n x (units of that layer). */
lt_status lt_dbn_up(const lt_dbn *d, const float *x, size_t n, size_t layer, int threads, float *out);

/* The lower bound above for n rows (nats each), `draws` draws from Q per
 * row, given log Z of the top RBM. */
lt_status lt_dbn_lower_bound(const lt_dbn *d, const float *x, size_t n, double log_z_top, size_t draws,
                             uint64_t seed, int threads, double *out);

/* n samples of v: `steps` block Gibbs steps in the top RBM, then a
 * down-pass drawing each layer; with `mean`, E[v | h1] at the bottom. */
lt_status lt_dbn_sample(const lt_dbn *d, size_t n, size_t steps, int mean, uint64_t seed, int threads, float *out);

/* Class probabilities (n x n_classes) of a fine-tuned DBN. */
lt_status lt_dbn_classify(const lt_dbn *d, const float *x, size_t n, int threads, float *out);

/* Fine-tune (again) for o->finetune_epochs with o->labels. */
lt_status lt_dbn_finetune(lt_dbn *d, const lt_dbn_options *o, const float *x, size_t n);

/* Files: safetensors, kind "dbn": tensors W_l, visible_bias_l, hidden_bias_l,
 * data_mean_l (l = 0 .. L-1; logvar_0 for Gaussian data) and, when
 * fine-tuned, classifier_W and classifier_b. */
lt_status lt_dbn_save(const lt_dbn *d, const char *path);
lt_status lt_dbn_load(const char *path, lt_dbn **out);

extern const lt_family lt_dbn_family;

#ifdef __cplusplus
}
#endif
#endif
