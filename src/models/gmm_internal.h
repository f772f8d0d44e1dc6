/* Gaussian-mixture kernels shared with other families (HMM emissions). */
#ifndef LT_GMM_INTERNAL_H
#define LT_GMM_INTERNAL_H

#include "latent/gmm.h"

/* L (n x k) = log N(x_i | mu_k, Sigma_k), plus log pi_k when with_weights,
 * for a prepared model. X is n x m->d, finite. */
lt_status lt_gmm_logjoint(const lt_gmm *m, const double *X, size_t n, int threads, int with_weights, double *L);

/* One M-step from given non-negative weights R (n x k: R[i,k] is how much
 * sample i counts for component k, e.g. a posterior times a sample weight):
 * weights (normalised column sums), means and covariances (with
 * m->reg_covar), then prepared. A component with (almost) no weight or a
 * covariance that is not positive definite is repaired as in lt_gmm_fit and
 * counted in *n_repaired (may be NULL). */
lt_status lt_gmm_mstep_resp(lt_gmm *m, const double *X, size_t n, const double *R, int threads, size_t *n_repaired);

#endif
