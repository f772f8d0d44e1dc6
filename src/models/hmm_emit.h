/* HMM emissions behind one internal interface (src/models/hmm.c is the
 * engine; src/models/hmm_emit.c implements the four emission types).
 *
 * Threading: the engine calls hmm_emit_loglik from inside its own OpenMP
 * parallel region (one call per block of steps); it must not start threads
 * of its own there (pass threads = 1 to the GMM kernels). The other
 * functions are called outside parallel regions and may use `threads`.
 */
#ifndef LT_HMM_EMIT_H
#define LT_HMM_EMIT_H

#include "latent/hmm.h"
#include "latent/rng.h"
#include "latent/safetensors.h"

/* Storage for the emission parameters of m (m->k, emission, d, n_symbols,
 * n_mix, cov already set): m->emit or m->states. Released by
 * hmm_emit_release (NULL-safe, idempotent). */
lt_status hmm_emit_alloc(lt_hmm *m);
void hmm_emit_release(lt_hmm *m);
lt_status hmm_emit_copy(const lt_hmm *src, lt_hmm *dst); /* dst allocated with the same sizes */

/* Validate the emission parameters (probabilities sum to 1, rates > 0,
 * covariances positive definite: prepares the lt_gmm states). Messages
 * name the state. */
lt_status hmm_emit_prepare(lt_hmm *m);

/* Does the data fit the model: continuous data with m->d columns and
 * finite values; symbols in [0, n_symbols); Poisson counts non-negative
 * integers. Messages name the step (1-based) and column. */
lt_status hmm_emit_check_data(const lt_hmm *m, const lt_seqs *data);

/* out[i*k + j] = log b_j(x_{t0+i}) for i in [0, n). Single-threaded. */
lt_status hmm_emit_loglik(const lt_hmm *m, const lt_seqs *data, size_t t0, size_t n, double *out);

/* Initialise the emissions from the data (deterministic for a seed):
 * categorical: empirical frequencies perturbed by a Dirichlet draw;
 * gaussian: a k-component GMM fit on the pooled steps; gmm: likewise with
 * k * n_mix components grouped into states; poisson: the data mean scaled
 * by random factors. */
lt_status hmm_emit_init(lt_hmm *m, const lt_seqs *data, uint64_t seed, int threads);

/* M-step from the state posteriors gamma (data->total x m->k). Empty or
 * collapsed states are repaired and counted in *n_repaired. */
lt_status hmm_emit_mstep(lt_hmm *m, const lt_seqs *data, const double *gamma, int threads, size_t *n_repaired);

/* Free emission parameters (for BIC/AIC). */
size_t hmm_emit_n_parameters(const lt_hmm *m);

/* One observation from state k: x (m->d values) for continuous emissions,
 * *sym for categorical. */
void hmm_emit_sample(const lt_hmm *m, size_t k, lt_rng *rng, double *x, int32_t *sym);

/* Emission tensors and metadata into a model file, and back (sizes are
 * already in m; messages name the file and tensor). */
lt_status hmm_emit_save(const lt_hmm *m, lt_st_writer *w);
lt_status hmm_emit_load(lt_hmm *m, const lt_st_file *f, const char *path);

#endif
