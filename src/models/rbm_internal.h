/* Restricted Boltzmann machines: pieces shared by the RBM file, its family
 * glue, the deep models built from RBMs, and the tests (not installed). */
#ifndef LT_RBM_INTERNAL_H
#define LT_RBM_INTERNAL_H

#include "latent/rbm.h"

#include <math.h>

/* The parameter gradient of the mean log-likelihood of n rows, one array per
 * parameter (w: nv x nh; b: nv; c: nh; logvar: nv, Gaussian only). */
typedef struct lt_rbm_grad {
    double *w, *b, *c, *logvar;
} lt_rbm_grad;

/* The stochastic gradient the trainer follows, for n rows of v (n >= 1):
 * the data term exactly given v, the model term from n chains started at
 * the rows (CD) and run k block Gibbs steps, draws from `seed`. Averaged
 * over `repeats` independent sets of chains. Arrays of g must be allocated
 * by the caller (logvar may be NULL). For tests and diagnostics. */
lt_status lt_rbm_grad_cd(const lt_rbm *m, const float *v, size_t n, size_t k, size_t repeats, uint64_t seed,
                         int threads, lt_rbm_grad *g);

/* The exact gradient of the mean log-likelihood of n rows, the model term by
 * enumerating every hidden configuration (nh <= 20; Bernoulli visible units
 * also enumerate v, so nv + nh <= 24). */
lt_status lt_rbm_grad_exact(const lt_rbm *m, const float *v, size_t n, lt_rbm_grad *g);

/* Numerically safe log(1 + e^x). */
static inline double lt_softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }

#endif
