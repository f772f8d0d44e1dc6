/* KL divergence: closed form between Gaussians, Monte Carlo between mixtures.
 *
 *   KL(N0 || N1) = 1/2 [ tr(S1^-1 S0) + (m1 - m0)^T S1^-1 (m1 - m0) - d
 *                        + log det S1 - log det S0 ]
 *
 * computed with Cholesky factors (S = L L^T): tr(S1^-1 S0) = ||L1^-1 L0||_F^2
 * and the quadratic form is ||L1^-1 (m1 - m0)||^2.
 *
 * Between mixtures there is no closed form (Hershey and Olsen 2007): the
 * estimate is the mean of log a(x) - log b(x) over x ~ a, with the standard
 * error of that mean.
 */
#include "latent/gmm.h"

#include "internal.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

lt_status lt_kl_gaussian(size_t d, const double *m0, const double *S0, const double *m1, const double *S1, double *kl)
{
    lt_status st = LT_OK;
    double *L0 = lt_malloc(d * d, sizeof(double)), *L1 = lt_malloc(d * d, sizeof(double));
    double *dm = lt_malloc(d, sizeof(double));
    if (!L0 || !L1 || !dm) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    memcpy(L0, S0, d * d * sizeof(double));
    memcpy(L1, S1, d * d * sizeof(double));
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)d, L0, (lapack_int)d) != 0) {
        st = lt_fail(LT_ERR_NUMERIC, "the first covariance is not positive definite");
        goto done;
    }
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)d, L1, (lapack_int)d) != 0) {
        st = lt_fail(LT_ERR_NUMERIC, "the second covariance is not positive definite");
        goto done;
    }
    double logdet0 = 0.0, logdet1 = 0.0;
    for (size_t i = 0; i < d; i++) {
        logdet0 += 2.0 * log(L0[i * d + i]);
        logdet1 += 2.0 * log(L1[i * d + i]);
        for (size_t j = i + 1; j < d; j++) L0[i * d + j] = 0.0; /* dpotrf leaves the upper part */
    }
    /* L0 <- L1^-1 L0, dm <- L1^-1 (m1 - m0) */
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, (int)d, (int)d, 1.0, L1, (int)d, L0,
                (int)d);
    for (size_t i = 0; i < d; i++) dm[i] = m1[i] - m0[i];
    cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, (int)d, L1, (int)d, dm, 1);
    double tr = 0.0, q = 0.0;
    for (size_t i = 0; i < d * d; i++) tr += L0[i] * L0[i];
    for (size_t i = 0; i < d; i++) q += dm[i] * dm[i];
    *kl = 0.5 * (tr + q - (double)d + logdet1 - logdet0);
    if (*kl < 0.0) *kl = 0.0; /* rounding when the two are equal */
done:
    free(L0);
    free(L1);
    free(dm);
    return st;
}

lt_status lt_gmm_kl_mc(const lt_gmm *a, const lt_gmm *b, size_t n, uint64_t seed, int threads, double *kl,
                       double *stderr_kl)
{
    if (a->d != b->d)
        return lt_fail(LT_ERR_DIM, "the two mixtures live in different dimensions (%zu and %zu)", a->d, b->d);
    if (n < 2) return lt_fail(LT_ERR_INVALID, "Monte Carlo KL needs at least 2 samples (got %zu)", n);
    lt_status st;
    double *X = lt_malloc(n * a->d, sizeof(double));
    double *la = lt_malloc(n, sizeof(double)), *lb = lt_malloc(n, sizeof(double));
    if (!X || !la || !lb) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    if ((st = lt_gmm_sample(a, n, seed, X, NULL)) != LT_OK) goto done;
    if ((st = lt_gmm_score_samples(a, X, n, threads, la)) != LT_OK) goto done;
    if ((st = lt_gmm_score_samples(b, X, n, threads, lb)) != LT_OK) goto done;
    for (size_t i = 0; i < n; i++) {
        la[i] -= lb[i]; /* the log ratio */
        if (!isfinite(la[i])) {
            st = lt_fail(LT_ERR_NUMERIC, "KL is infinite: the second model gives a sample of the first zero density");
            goto done;
        }
    }
    lt_mean_stderr(la, n, kl, stderr_kl);
done:
    free(X);
    free(la);
    free(lb);
    return st;
}
