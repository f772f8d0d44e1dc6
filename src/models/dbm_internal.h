/* Deep Boltzmann machines: hooks for the tests (not installed). */
#ifndef LT_DBM_INTERNAL_H
#define LT_DBM_INTERNAL_H

#include "latent/dbm.h"

/* The model term of the joint-training update, E_model[-dE/dtheta], as the
 * trainer estimates it: `chains` persistent chains started from the rows of
 * x (n >= 1, cycled) as the trainer starts them, run `burn_in` Gibbs steps,
 * then the trainer's statistics (even layers' states, odd layers'
 * conditional probabilities) averaged over `steps` further steps. g has
 * m->n_params entries laid out as m->params (W_0 .. W_{L-1}, b_0 .. b_L). */
lt_status lt_dbm_chain_stats(const lt_dbm *m, const float *x, size_t n, size_t chains, size_t burn_in, size_t steps,
                             uint64_t seed, int threads, double *g);

/* Mean squared error of v against p(v | q_1) with q from mean field, over
 * n rows (the training monitor). */
lt_status lt_dbm_recon_error(const lt_dbm *m, const float *x, size_t n, size_t iters, double damping, int threads,
                             double *out);

#endif
