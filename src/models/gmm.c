/* Gaussian mixture models fitted by expectation-maximisation.
 *
 *   p(x) = sum_k pi_k N(x | mu_k, Sigma_k)
 *
 * E-step: log r_ik = log pi_k + log N(x_i | mu_k, Sigma_k) - log p(x_i), with
 * log p(x_i) by log-sum-exp (max subtracted), so nothing under- or overflows.
 * With P_k the upper-triangular Cholesky factor of the precision
 * (Sigma_k^-1 = P_k P_k^T),
 *
 *   log N(x | mu, Sigma) = -d/2 log 2pi + log det P - 1/2 ||(x - mu)^T P||^2.
 *
 * For all components at once the rows of a chunk are multiplied by the
 * stacked [P_1 ... P_K] in one GEMM (full), or expanded into
 * ||x||^2, x.mu and ||mu||^2 terms (diag, spherical, tied), so the E-step runs
 * at matrix-multiply speed. On AVX-512 machines the diagonal E-step is one
 * fused kernel instead: the log-joint of a few rows at a time is formed in
 * registers ([x^2, x] against the coefficients), its log-sum-exp taken in
 * L1 with an inline exponential, and the M-step's sums R^T [x^2, x, 1]
 * accumulated from the same rows, so the n x k matrix is never written.
 *
 * M-step (with sample weights w_i and n_k = sum_i w_i r_ik):
 *   pi_k = n_k / sum n,  mu_k = sum_i w_i r_ik x_i / n_k,
 *   Sigma_k = sum_i w_i r_ik x_i x_i^T / n_k - mu_k mu_k^T + reg_covar I,
 * and the diagonal, spherical (mean of the diagonal) and tied (pooled)
 * versions, as in scikit-learn's GaussianMixture, whose results these match.
 * Data are centred on their mean before EM so that the second-moment form
 * loses no precision.
 *
 * Determinism: rows are split into a fixed number of blocks that does not
 * depend on the thread count; each block's statistics are summed in row
 * order and the blocks are reduced in block order.
 *
 * Degenerate cases: a component whose mass falls to (almost) nothing, or
 * whose covariance is no longer positive definite, is repaired: its mean
 * moves to the sample the mixture explains worst, its covariance to the
 * data's diagonal covariance. Repairs are counted and reported.
 *
 * References: Dempster, Laird and Rubin (1977); Bishop, PRML ch. 9; Arthur
 * and Vassilvitskii, k-means++ (2007); scikit-learn's GaussianMixture.
 */
#include "latent/gmm.h"
#include "latent/rng.h"

#include "internal.h"
#include "par.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* Vector exp from glibc's libmvec: the E-step takes n k exponentials, and
 * the vector versions are several times faster than the scalar one (within
 * 4 ulp, ample for responsibilities). The declaration only adds the SIMD
 * variants to the standard function. */
#pragma omp declare simd notinbranch
extern double exp(double);
#pragma omp declare simd notinbranch
extern double log(double);

/* Hot loops are compiled twice, for AVX2 machines and for any x86-64, and
 * the loader picks one; the choice is per machine, never per thread count. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(LT_NO_CLONES)
#define LT_HOT __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LT_HOT
#endif

#define CHUNK 1024      /* rows per GEMM call, at most (see chunk_rows) */
#define FULL_COLS 256   /* full covariance: columns of X [P_j ... P_j+g] per GEMM, so the
                           product of a chunk stays in the L2 cache */
#define MAX_BLOCKS 64   /* blocks of rows reduced in a fixed order */
#define PACKED_MAX_D 32 /* full covariance: second moments by one packed GEMM up to this d
                           (measured: faster than per-component rank updates below it) */
#define FUSED_SB 32     /* diagonal E-step on AVX-512: rows per sub-block, whose [x^2, x, 1] rows
                           and log-joint stay in the L1 cache (a multiple of 4) */
#define KPP_MAX_TRIALS 16 /* k-means++ candidates per centre: 2 + log k, at most this */
#define LOG_2PI 1.8378770664093454835606594728112
#define LN_2 0.69314718055994530941723212145818
#define LOG2_E 1.4426950408889634073599246810019
/* Diagonal covariance: a row is expanded to [x^2, x, 1] (2d + 1 columns), so
 * that one GEMM gives log pi_k + log N(x | k) = [x^2, x, 1] A_k and, in the
 * M-step, one GEMM gives [sum r x^2, sum r x, sum r]. */
#define DIAG_W(d) (2 * (d) + 1)
/* exp(-50) < 2e-22: a term this far below a row's maximum changes neither
 * the row's sum (which is >= 1) nor any responsibility beyond rounding for
 * K up to 10^5, so blocks of such terms skip the exponential. */
#define EXP_NEGLIGIBLE (-50.0)

/* ---------------------------------------------------------------- basics */

const char *lt_cov_type_name(lt_cov_type c)
{
    switch (c) {
    case LT_COV_FULL: return "full";
    case LT_COV_DIAG: return "diag";
    case LT_COV_SPHERICAL: return "spherical";
    case LT_COV_TIED: return "tied";
    }
    return "unknown";
}

lt_status lt_cov_type_parse(const char *s, lt_cov_type *out)
{
    static const lt_cov_type all[] = {LT_COV_FULL, LT_COV_DIAG, LT_COV_SPHERICAL, LT_COV_TIED};
    for (size_t i = 0; i < 4; i++)
        if (s && strcmp(s, lt_cov_type_name(all[i])) == 0) {
            *out = all[i];
            return LT_OK;
        }
    return lt_fail(LT_ERR_INVALID, "covariance type '%s' is not one of full, diag, spherical, tied",
                   s ? s : "");
}

static size_t cov_len(lt_cov_type c, size_t k, size_t d)
{
    switch (c) {
    case LT_COV_FULL: return k * d * d;
    case LT_COV_DIAG: return k * d;
    case LT_COV_SPHERICAL: return k;
    case LT_COV_TIED: return d * d;
    }
    return 0;
}

void lt_gmm_options_default(lt_gmm_options *o)
{
    memset(o, 0, sizeof *o);
    o->k = 1;
    o->cov = LT_COV_FULL;
    o->init = LT_GMM_INIT_KMEANSPP;
    o->n_init = 1;
    o->tol = 1e-3;
    o->max_iter = 100;
    o->reg_covar = 1e-6;
    o->kmeans_iter = 100;
}

lt_status lt_gmm_create(size_t k, size_t d, lt_cov_type cov, lt_gmm **out)
{
    *out = NULL;
    if (k == 0 || d == 0) return lt_fail(LT_ERR_INVALID, "a mixture needs k >= 1 and d >= 1 (got k = %zu, d = %zu)", k, d);
    int ok = 1;
    size_t kd = lt_mul_size(k, d, &ok);
    size_t cl = lt_mul_size(lt_mul_size(k, d, &ok), d, &ok);
    if (!ok || cl > ((size_t)1 << 40)) return lt_fail(LT_ERR_INVALID, "a mixture of %zu components in %zu dimensions is too large", k, d);
    lt_gmm *m = lt_calloc(1, sizeof *m);
    if (!m) return LT_ERR_NOMEM;
    m->k = k;
    m->d = d;
    m->cov = cov;
    size_t cn = cov_len(cov, k, d);
    m->weights = lt_calloc(k, sizeof(double));
    m->means = lt_calloc(kd, sizeof(double));
    m->covs = lt_calloc(cn, sizeof(double));
    m->prec_chol = lt_calloc(cn, sizeof(double));
    m->log_det = lt_calloc(k, sizeof(double));
    if (!m->weights || !m->means || !m->covs || !m->prec_chol || !m->log_det) {
        lt_gmm_free(m);
        return LT_ERR_NOMEM;
    }
    m->reg_covar = 1e-6;
    *out = m;
    return LT_OK;
}

void lt_gmm_free(lt_gmm *m)
{
    if (!m) return;
    free(m->weights);
    free(m->means);
    free(m->covs);
    free(m->prec_chol);
    free(m->log_det);
    free(m);
}

lt_status lt_gmm_copy(const lt_gmm *m, lt_gmm **out)
{
    lt_gmm *c;
    LT_CHECK(lt_gmm_create(m->k, m->d, m->cov, &c));
    double *keep[5] = {c->weights, c->means, c->covs, c->prec_chol, c->log_det};
    *c = *m;
    c->weights = keep[0], c->means = keep[1], c->covs = keep[2], c->prec_chol = keep[3], c->log_det = keep[4];
    size_t cn = cov_len(m->cov, m->k, m->d);
    memcpy(c->weights, m->weights, m->k * sizeof(double));
    memcpy(c->means, m->means, m->k * m->d * sizeof(double));
    memcpy(c->covs, m->covs, cn * sizeof(double));
    memcpy(c->prec_chol, m->prec_chol, cn * sizeof(double));
    memcpy(c->log_det, m->log_det, m->k * sizeof(double));
    *out = c;
    return LT_OK;
}

/* Upper-triangular P with P P^T = S^-1, from S (d x d, SPD, row-major).
 * Returns the log determinant of P in *log_det; non-zero if S is not PD. */
static int precision_cholesky(size_t d, const double *S, double *P, double *log_det)
{
    memcpy(P, S, d * d * sizeof(double));
    for (size_t i = 0; i < d * d; i++)
        if (!isfinite(P[i])) return 1;
    /* S = L L^T (lower), then L^-1 (lower), and P = L^-T is upper. */
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)d, P, (lapack_int)d) != 0) return 1;
    if (LAPACKE_dtrtri(LAPACK_ROW_MAJOR, 'L', 'N', (lapack_int)d, P, (lapack_int)d) != 0) return 1;
    double ld = 0.0;
    for (size_t i = 0; i < d; i++) {
        ld += log(P[i * d + i]);
        for (size_t j = i + 1; j < d; j++) {
            P[i * d + j] = P[j * d + i];
            P[j * d + i] = 0.0;
        }
    }
    *log_det = ld;
    return !isfinite(ld);
}

/* Compute prec_chol and log_det for component k (or the tied matrix). Returns
 * non-zero when the covariance is not positive definite. */
static int prepare_component(lt_gmm *m, size_t k)
{
    size_t d = m->d;
    switch (m->cov) {
    case LT_COV_FULL:
        return precision_cholesky(d, m->covs + k * d * d, m->prec_chol + k * d * d, &m->log_det[k]);
    case LT_COV_TIED: {
        int bad = precision_cholesky(d, m->covs, m->prec_chol, &m->log_det[0]);
        for (size_t j = 1; j < m->k; j++) m->log_det[j] = m->log_det[0];
        return bad;
    }
    case LT_COV_DIAG: {
        double ld = 0.0;
        for (size_t j = 0; j < d; j++) {
            double v = m->covs[k * d + j];
            if (!(v > 0.0) || !isfinite(v)) return 1;
            m->prec_chol[k * d + j] = 1.0 / sqrt(v);
            ld += log(m->prec_chol[k * d + j]);
        }
        m->log_det[k] = ld;
        return 0;
    }
    case LT_COV_SPHERICAL: {
        double v = m->covs[k];
        if (!(v > 0.0) || !isfinite(v)) return 1;
        m->prec_chol[k] = 1.0 / sqrt(v);
        m->log_det[k] = (double)d * log(m->prec_chol[k]);
        return 0;
    }
    }
    return 1;
}

lt_status lt_gmm_prepare(lt_gmm *m)
{
    double sum = 0.0;
    for (size_t k = 0; k < m->k; k++) {
        if (!(m->weights[k] >= 0.0) || !isfinite(m->weights[k]))
            return lt_fail(LT_ERR_NUMERIC, "component %zu: weight %g is not a non-negative number", k, m->weights[k]);
        sum += m->weights[k];
    }
    if (fabs(sum - 1.0) > 1e-6)
        return lt_fail(LT_ERR_NUMERIC, "weights sum to %.10g, expected 1", sum);
    for (size_t k = 0; k < m->k; k++) m->weights[k] /= sum;
    for (size_t i = 0; i < m->k * m->d; i++)
        if (!isfinite(m->means[i]))
            return lt_fail(LT_ERR_NUMERIC, "component %zu: mean is not finite", i / m->d);
    size_t nk = m->cov == LT_COV_TIED ? 1 : m->k;
    for (size_t k = 0; k < nk; k++)
        if (prepare_component(m, k)) {
            if (m->cov == LT_COV_TIED) return lt_fail(LT_ERR_NUMERIC, "the tied covariance is not positive definite");
            return lt_fail(LT_ERR_NUMERIC, "component %zu: covariance is not positive definite", k);
        }
    return LT_OK;
}

/* ------------------------------------------------------------- E-step */

/* Per-model constants for the E-step, in centred coordinates. */
typedef struct estep {
    size_t k, d;
    lt_cov_type cov;
    double *logw;  /* k: log pi_k + log det P_k - d/2 log 2pi */
    double *A;     /* full: d x (k d) stacked P_k; tied: d x d P;
                      diag: k x (2d + 1) [-prec/2, mu prec, logw - c/2] */
    double *B;     /* full/tied: k x d mu_k P_k; diag: k x d mu*prec; spherical: k x d mu*prec */
    double *c;     /* k: ||mu P||^2 (diag/spherical/tied) */
    double *sph;   /* spherical: k precisions */
    size_t kp;     /* diag: k rounded up to a multiple of 8 */
    double *fa;    /* diag: 2d x kp, rows [-prec/2 (d rows), mu prec (d rows)] / ln 2, padding 0,
                      64-byte aligned: the fused kernel's coefficients, in bits (log2) */
    double *fc;    /* diag: kp, (logw - c/2) / ln 2, padding -inf, 64-byte aligned */
} estep;

static void estep_free(estep *e)
{
    free(e->logw);
    free(e->A);
    free(e->B);
    free(e->c);
    free(e->sph);
    free(e->fa);
    free(e->fc);
    memset(e, 0, sizeof *e);
}

/* Build the E-step constants of model m with means shifted by -shift. */
static lt_status estep_init(estep *e, const lt_gmm *m, const double *shift, int use_weights)
{
    size_t k = m->k, d = m->d;
    memset(e, 0, sizeof *e);
    e->k = k, e->d = d, e->cov = m->cov;
    e->logw = lt_calloc(k, sizeof(double));
    e->B = lt_calloc(k * d, sizeof(double));
    e->c = lt_calloc(k, sizeof(double));
    e->sph = lt_calloc(k, sizeof(double));
    size_t alen = m->cov == LT_COV_FULL ? k * d * d : m->cov == LT_COV_TIED ? d * d : k * DIAG_W(d);
    e->A = lt_calloc(alen, sizeof(double));
    double *mu = lt_calloc(d, sizeof(double));
    int fused_ok = 1;
    if (m->cov == LT_COV_DIAG) {
        e->kp = (k + 7) / 8 * 8;
        e->fa = aligned_alloc(64, 2 * d * e->kp * sizeof(double));
        e->fc = aligned_alloc(64, e->kp * sizeof(double));
        fused_ok = e->fa && e->fc;
        if (fused_ok) {
            memset(e->fa, 0, 2 * d * e->kp * sizeof(double));
            for (size_t j = 0; j < e->kp; j++) e->fc[j] = -INFINITY; /* padding: exp gives 0 */
        }
    }
    if (!e->logw || !e->B || !e->c || !e->sph || !e->A || !mu || !fused_ok) {
        free(mu);
        estep_free(e);
        return LT_ERR_NOMEM;
    }
    for (size_t j = 0; j < k; j++) {
        double lw = !use_weights ? 0.0 : m->weights[j] > 0.0 ? log(m->weights[j]) : -INFINITY;
        e->logw[j] = lw + m->log_det[j] - 0.5 * (double)d * LOG_2PI;
        for (size_t t = 0; t < d; t++) mu[t] = m->means[j * d + t] - (shift ? shift[t] : 0.0);
        double *b = e->B + j * d;
        switch (m->cov) {
        case LT_COV_FULL: {
            const double *P = m->prec_chol + j * d * d;
            for (size_t r = 0; r < d; r++)
                for (size_t s = 0; s < d; s++) e->A[r * (k * d) + j * d + s] = P[r * d + s];
            cblas_dgemv(CblasRowMajor, CblasTrans, (int)d, (int)d, 1.0, P, (int)d, mu, 1, 0.0, b, 1);
            break;
        }
        case LT_COV_TIED:
            cblas_dgemv(CblasRowMajor, CblasTrans, (int)d, (int)d, 1.0, m->prec_chol, (int)d, mu, 1, 0.0, b, 1);
            for (size_t t = 0; t < d; t++) e->c[j] += b[t] * b[t];
            break;
        case LT_COV_DIAG:
            for (size_t t = 0; t < d; t++) {
                double p = m->prec_chol[j * d + t] * m->prec_chol[j * d + t];
                e->A[j * DIAG_W(d) + t] = -0.5 * p;
                e->A[j * DIAG_W(d) + d + t] = mu[t] * p;
                b[t] = mu[t] * p;
                e->c[j] += mu[t] * mu[t] * p;
            }
            e->A[j * DIAG_W(d) + 2 * d] = e->logw[j] - 0.5 * e->c[j];
            for (size_t t = 0; t < 2 * d; t++) e->fa[t * e->kp + j] = e->A[j * DIAG_W(d) + t] * LOG2_E;
            e->fc[j] = e->A[j * DIAG_W(d) + 2 * d] * LOG2_E;
            break;
        case LT_COV_SPHERICAL: {
            double p = m->prec_chol[j] * m->prec_chol[j];
            e->sph[j] = p;
            for (size_t t = 0; t < d; t++) {
                b[t] = mu[t] * p;
                e->c[j] += mu[t] * mu[t] * p;
            }
            break;
        }
        }
    }
    if (m->cov == LT_COV_TIED) memcpy(e->A, m->prec_chol, d * d * sizeof(double));
    free(mu);
    return LT_OK;
}

/* Components per GEMM in the full-covariance E-step. */
static size_t full_group(size_t k, size_t d)
{
    size_t g = FULL_COLS / d;
    return g < 1 ? 1 : g > k ? k : g;
}

/* Rows per chunk: large for the cheap diagonal kernels (fewer, bigger GEMM
 * calls), smaller where each row expands into k d products. The partition
 * is fixed by the model's shape alone. */
static size_t chunk_rows(lt_cov_type cov) { return cov == LT_COV_FULL || cov == LT_COV_TIED ? 256 : CHUNK; }

/* Per-thread scratch for one chunk. */
typedef struct work {
    double *x;   /* CHUNK x d: centred rows */
    double *y;   /* CHUNK x max(k d, d): projections, or x^2 */
    double *L;   /* CHUNK x k: log-joint, then responsibilities */
    double *sq;  /* CHUNK: ||x||^2 or ||xP||^2 */
    double *mx;  /* CHUNK: row maxima of L */
    double *xs;  /* CHUNK x d: rows scaled by sqrt(r) (full M-step, large d) */
    double *xx;  /* rows x d(d+1)/2: packed x x^T (full M-step, small d) */
    double *T;   /* k x d(d+1)/2: their weighted sums for one chunk (diag: k x (2d + 1), or
                    (2d + 1) x kp in the fused kernel; 64-byte aligned) */
    double *lb;  /* diag: FUSED_SB x kp log-joint of one sub-block, 64-byte aligned */
} work;

static void work_free(work *w)
{
    free(w->x);
    free(w->y);
    free(w->L);
    free(w->sq);
    free(w->mx);
    free(w->xs);
    free(w->xx);
    free(w->T);
    free(w->lb);
    memset(w, 0, sizeof *w); /* safe to free twice */
}

static int work_init(work *w, size_t k, size_t d, lt_cov_type cov)
{
    memset(w, 0, sizeof *w);
    size_t g = full_group(k, d);
    size_t ylen = CHUNK * (g * d > DIAG_W(d) ? g * d : DIAG_W(d));
    w->x = malloc(CHUNK * d * sizeof(double));
    w->y = malloc(ylen * sizeof(double));
    w->L = malloc(CHUNK * k * sizeof(double));
    w->sq = malloc(CHUNK * sizeof(double));
    w->mx = malloc(CHUNK * sizeof(double));
    w->xs = malloc(CHUNK * d * sizeof(double));
    if (cov == LT_COV_DIAG) {
        /* k x (2d + 1) for the GEMM, or (2d + 1) x kp for the fused kernel */
        w->T = aligned_alloc(64, DIAG_W(d) * ((k + 7) / 8 * 8) * sizeof(double));
        w->lb = aligned_alloc(64, FUSED_SB * ((k + 7) / 8 * 8) * sizeof(double));
        if (!w->T || !w->lb) {
            work_free(w);
            return 1;
        }
    }
    if (cov == LT_COV_FULL && d <= PACKED_MAX_D) {
        size_t tri = d * (d + 1) / 2;
        w->xx = malloc(chunk_rows(cov) * tri * sizeof(double));
        w->T = malloc(k * tri * sizeof(double));
        if (!w->xx || !w->T) {
            work_free(w);
            return 1;
        }
    }
    if (!w->x || !w->y || !w->L || !w->sq || !w->mx || !w->xs) {
        work_free(w);
        return 1;
    }
    return 0;
}

/* Squared distances are >= 0; rounding in the expanded form can dip below. */
static inline double pos(double v) { return v > 0.0 ? v : 0.0; }

/* log pi_k + log N(x_i | k) for nb centred rows in w->x, into w->L (nb x k),
 * and the maximum of each row into w->mx. */
LT_HOT static void estep_logjoint(const estep *e, work *w, size_t nb)
{
    size_t k = e->k, d = e->d;
    double *x = w->x, *L = w->L;
    switch (e->cov) {
    case LT_COV_FULL: {
        /* Y = X [P_j .. P_j+g]: nb x g d, a group of components at a time */
        size_t g = full_group(k, d);
        for (size_t i = 0; i < nb; i++) w->mx[i] = -INFINITY;
        for (size_t j0 = 0; j0 < k; j0 += g) {
            size_t gn = k - j0 < g ? k - j0 : g;
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nb, (int)(gn * d), (int)d, 1.0, x, (int)d,
                        e->A + j0 * d, (int)(k * d), 0.0, w->y, (int)(gn * d));
            for (size_t i = 0; i < nb; i++) {
                const double *y = w->y + i * gn * d;
                for (size_t jj = 0; jj < gn; jj++) {
                    const double *b = e->B + (j0 + jj) * d, *yj = y + jj * d;
                    double s = 0.0;
#pragma omp simd reduction(+ : s)
                    for (size_t t = 0; t < d; t++) {
                        double v = yj[t] - b[t];
                        s += v * v;
                    }
                    double v = e->logw[j0 + jj] - 0.5 * s;
                    L[i * k + j0 + jj] = v;
                    if (v > w->mx[i]) w->mx[i] = v;
                }
            }
        }
        break;
    }
    case LT_COV_TIED: {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nb, (int)d, (int)d, 1.0, x, (int)d, e->A,
                    (int)d, 0.0, w->y, (int)d);
        for (size_t i = 0; i < nb; i++) {
            double s = 0.0;
            for (size_t t = 0; t < d; t++) s += w->y[i * d + t] * w->y[i * d + t];
            w->sq[i] = s;
        }
        /* L = Y B^T, then the squared distance ||y||^2 - 2 y.b + ||b||^2 */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)k, (int)d, 1.0, w->y, (int)d, e->B,
                    (int)d, 0.0, L, (int)k);
        for (size_t i = 0; i < nb; i++) {
            double mx = -INFINITY;
#pragma omp simd reduction(max : mx)
            for (size_t j = 0; j < k; j++) {
                double v = e->logw[j] - 0.5 * pos(w->sq[i] - 2.0 * L[i * k + j] + e->c[j]);
                L[i * k + j] = v;
                mx = v > mx ? v : mx;
            }
            w->mx[i] = mx;
        }
        break;
    }
    case LT_COV_DIAG:
        /* L = [X^2, X, 1] A^T in one GEMM (load_chunk made y); the row
         * maxima are left to normalise_rows, which reads L anyway. As in
         * scikit-learn the expanded square is not clamped at zero: its
         * rounding is that of the terms, far below the 1e-6 that matters. */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)k, (int)DIAG_W(d), 1.0, w->y,
                    (int)DIAG_W(d), e->A, (int)DIAG_W(d), 0.0, L, (int)k);
        break;
    case LT_COV_SPHERICAL: {
        for (size_t i = 0; i < nb; i++) {
            double s = 0.0;
            for (size_t t = 0; t < d; t++) s += x[i * d + t] * x[i * d + t];
            w->sq[i] = s;
        }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)k, (int)d, -2.0, x, (int)d, e->B,
                    (int)d, 0.0, L, (int)k);
        for (size_t i = 0; i < nb; i++) {
            double mx = -INFINITY;
#pragma omp simd reduction(max : mx)
            for (size_t j = 0; j < k; j++) {
                double v = e->logw[j] - 0.5 * pos(w->sq[i] * e->sph[j] + L[i * k + j] + e->c[j]);
                L[i * k + j] = v;
                mx = v > mx ? v : mx;
            }
            w->mx[i] = mx;
        }
        break;
    }
    }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(LT_NO_CLONES)
#include <immintrin.h>
#define LT_HAVE_AVX512 1
/* e^x on 8 doubles, for the log-sum-exp terms (x <= 0): e^x = 2^(m + j/16)
 * e^r with |r| <= ln2/32, 2^(j/16) from a 16-entry table held in two
 * registers, e^r = 1 + r q(r) with q of degree 5 fitted on that interval
 * (Chebyshev, relative error below 3e-17). Within about 1 ulp (libmvec's
 * is within 4) at half its cost, which matters: the E-step takes n k of
 * them and few can be skipped. Arguments below -746, -inf included, give 0;
 * NaN must not reach it (the callers check rows for NaN first). */
__attribute__((target("avx512f"))) static inline __m512d exp512(__m512d x)
{
    const __m512d t0 =
        _mm512_set_pd(0x1.5ab07dd485429p+0, 0x1.4bfdad5362a27p+0, 0x1.3dea64c123422p+0, 0x1.306fe0a31b715p+0,
                      0x1.2387a6e756238p+0, 0x1.172b83c7d517bp+0, 0x1.0b5586cf9890fp+0, 0x1p+0);
    const __m512d t1 =
        _mm512_set_pd(0x1.ea4afa2a490dap+0, 0x1.d5818dcfba487p+0, 0x1.c199bdd85529cp+0, 0x1.ae89f995ad3adp+0,
                      0x1.9c49182a3f09p+0, 0x1.8ace5422aa0dbp+0, 0x1.7a11473eb0187p+0, 0x1.6a09e667f3bcdp+0);
    const __m512d shift = _mm512_set1_pd(0x1.8p52); /* z's low mantissa bits hold round(16 x / ln2) */
    x = _mm512_max_pd(x, _mm512_set1_pd(-746.0));
    __m512d z = _mm512_fmadd_pd(x, _mm512_set1_pd(0x1.71547652b82fep+4), shift);
    __m512d kf = _mm512_sub_pd(z, shift);
    __m512d r = _mm512_fnmadd_pd(kf, _mm512_set1_pd(0x1.62e42fefa39efp-5), x); /* ln2/16, high part */
    r = _mm512_fnmadd_pd(kf, _mm512_set1_pd(0x1.abc9e3b39803fp-60), r);        /* and the rest */
    __m512d q = _mm512_set1_pd(0x1.6c17bb51f236dp-10);
    q = _mm512_fmadd_pd(q, r, _mm512_set1_pd(0x1.11120af701debp-7));
    q = _mm512_fmadd_pd(q, r, _mm512_set1_pd(0x1.55555555194d2p-5));
    q = _mm512_fmadd_pd(q, r, _mm512_set1_pd(0x1.55555554dd44dp-3));
    q = _mm512_fmadd_pd(q, r, _mm512_set1_pd(0.5));
    q = _mm512_fmadd_pd(q, r, _mm512_set1_pd(1.0));
    __m512d t = _mm512_permutex2var_pd(t0, _mm512_castpd_si512(z), t1); /* index: the low 4 bits */
    __m512d e = _mm512_fmadd_pd(t, _mm512_mul_pd(q, r), t);
    return _mm512_scalef_pd(e, _mm512_mul_pd(kf, _mm512_set1_pd(0.0625))); /* times 2^floor(kf/16) */
}

/* 2^x on 8 doubles, x <= 0: exp512 for a log-joint in bits, where the
 * argument reduction takes additions instead of multiplications (x + 1.5
 * 2^48 rounds x to sixteenths; the remainder r, |r| <= 1/32, is exact), so
 * that 8 of its 14 operations use the multiply units the log-joint keeps
 * busy, against 12 of exp512's 16. 2^r = 1 + r q(r), q of degree 5 fitted
 * on [-1/32, 1/32] (relative error below 3e-17). Arguments below -1076,
 * -inf included, give 0; NaN must not reach it. */
__attribute__((target("avx512f"))) static inline __m512d exp2_512(__m512d x)
{
    const __m512d t0 =
        _mm512_set_pd(0x1.5ab07dd485429p+0, 0x1.4bfdad5362a27p+0, 0x1.3dea64c123422p+0, 0x1.306fe0a31b715p+0,
                      0x1.2387a6e756238p+0, 0x1.172b83c7d517bp+0, 0x1.0b5586cf9890fp+0, 0x1p+0);
    const __m512d t1 =
        _mm512_set_pd(0x1.ea4afa2a490dap+0, 0x1.d5818dcfba487p+0, 0x1.c199bdd85529cp+0, 0x1.ae89f995ad3adp+0,
                      0x1.9c49182a3f09p+0, 0x1.8ace5422aa0dbp+0, 0x1.7a11473eb0187p+0, 0x1.6a09e667f3bcdp+0);
    const __m512d shift = _mm512_set1_pd(0x1.8p48); /* z's low 4 mantissa bits: round(16 x) mod 16 */
    x = _mm512_max_pd(x, _mm512_set1_pd(-1076.0));
    __m512d z = _mm512_add_pd(x, shift);
    __m512d kf = _mm512_sub_pd(z, shift); /* x rounded to sixteenths */
    __m512d r = _mm512_sub_pd(x, kf);
    __m512d q = _mm512_set1_pd(0x1.4309f0b0cd9d6p-13);
    q = _mm512_fmadd_pd(q, r, _mm512_set1_pd(0x1.5d893e58acc63p-10));
    q = _mm512_fmadd_pd(q, r, _mm512_set1_pd(0x1.3b2ab6fb6d795p-7));
    q = _mm512_fmadd_pd(q, r, _mm512_set1_pd(0x1.c6b08d6faa1bep-5));
    q = _mm512_fmadd_pd(q, r, _mm512_set1_pd(0x1.ebfbdff82c58fp-3));
    q = _mm512_fmadd_pd(q, r, _mm512_set1_pd(0x1.62e42fefa39efp-1));
    __m512d t = _mm512_permutex2var_pd(t0, _mm512_castpd_si512(z), t1); /* 2^(j/16) */
    __m512d e = _mm512_fmadd_pd(t, _mm512_mul_pd(q, r), t);
    return _mm512_scalef_pd(e, kf); /* times 2^floor(kf) */
}

/* log s on 8 doubles for the log-sum-exp sums (1 <= s <= k, normal):
 * s = 2^e m with m in [1, 2), m = c (1 + r) with 1/c and log c from a
 * 32-entry table by m's top five bits (|r| <= 1/64), log(1 + r) by its
 * Taylor series to degree 8 (truncation below 1e-17). Absolute error below
 * 1e-17 plus half an ulp of the result, inline: libmvec's vector log costs
 * a call that spills every live register. */
__attribute__((target("avx512f"))) static inline __m512d log512(__m512d s)
{
    const __m512d i0 =
        _mm512_set_pd(0x1.9ec8e951033d9p-1, 0x1.a98ef606a63bep-1, 0x1.b4e81b4e81b4fp-1, 0x1.c0e070381c0e0p-1,
                      0x1.cd85689039b0bp-1, 0x1.dae6076b981dbp-1, 0x1.e9131abf0b767p-1, 0x1.f81f81f81f820p-1);
    const __m512d i1 =
        _mm512_set_pd(0x1.58ed2308158edp-1, 0x1.6058160581606p-1, 0x1.6816816816817p-1, 0x1.702e05c0b8170p-1,
                      0x1.78a4c8178a4c8p-1, 0x1.8181818181818p-1, 0x1.8acb90f6bf3aap-1, 0x1.948b0fcd6e9e0p-1);
    const __m512d i2 =
        _mm512_set_pd(0x1.27350b8812735p-1, 0x1.2c9fb4d812ca0p-1, 0x1.323e34a2b10bfp-1, 0x1.3813813813814p-1,
                      0x1.3e22cbce4a902p-1, 0x1.446f86562d9fbp-1, 0x1.4afd6a052bf5bp-1, 0x1.51d07eae2f815p-1);
    const __m512d i3 =
        _mm512_set_pd(0x1.0204081020408p-1, 0x1.0624dd2f1a9fcp-1, 0x1.0a6810a6810a7p-1, 0x1.0ecf56be69c90p-1,
                      0x1.135c81135c811p-1, 0x1.1811811811812p-1, 0x1.1cf06ada2811dp-1, 0x1.21fb78121fb78p-1);
    const __m512d l0 =
        _mm512_set_pd(0x1.af3c94e80bff3p-3, 0x1.7ab890210d907p-3, 0x1.44d2b6ccb7d1cp-3, 0x1.0d77e7cd08e5bp-3,
                      0x1.a926d3a4ad562p-4, 0x1.341d7961bd1d0p-4, 0x1.77458f632dcffp-5, 0x1.fc0a8b0fc03c4p-7);
    const __m512d l1 =
        _mm512_set_pd(0x1.947941c2116fbp-2, 0x1.7eaf83b82afc2p-2, 0x1.686c81e9b14adp-2, 0x1.51aad872df82ep-2,
                      0x1.3a64c556945eap-2, 0x1.22941fbcf7966p-2, 0x1.0a324e27390e2p-2, 0x1.e27076e2af2e8p-3);
    const __m512d l2 =
        _mm512_set_pd(0x1.19ee6b467c96fp-1, 0x1.109f39e2d4c96p-1, 0x1.0723e5c1cdf41p-1, 0x1.faf588f78f31dp-2,
                      0x1.e744261d68789p-2, 0x1.d32fe7e00ebd5p-2, 0x1.beb4d9da71b7ap-2, 0x1.a9cec9a9a084ap-2);
    const __m512d l3 =
        _mm512_set_pd(0x1.5ee02a9241676p-1, 0x1.56bf9d5b3f399p-1, 0x1.4e7d811b75bb0p-1, 0x1.4618bc21c5ec2p-1,
                      0x1.3d9026a7156fbp-1, 0x1.34e289d9ce1d2p-1, 0x1.2c0e9ed448e8cp-1, 0x1.23130d7bebf43p-1);
    __m512d ex = _mm512_getexp_pd(s);
    __m512d m = _mm512_getmant_pd(s, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_zero);
    __m512i idx = _mm512_srli_epi64(_mm512_castpd_si512(m), 47);
    __mmask8 hi = _mm512_test_epi64_mask(idx, _mm512_set1_epi64(16));
    __m512d inv = _mm512_mask_blend_pd(hi, _mm512_permutex2var_pd(i0, idx, i1), _mm512_permutex2var_pd(i2, idx, i3));
    __m512d lc = _mm512_mask_blend_pd(hi, _mm512_permutex2var_pd(l0, idx, l1), _mm512_permutex2var_pd(l2, idx, l3));
    __m512d r = _mm512_fmsub_pd(m, inv, _mm512_set1_pd(1.0));
    __m512d q = _mm512_set1_pd(1.0 / 8.0);
    q = _mm512_fmadd_pd(q, r, _mm512_set1_pd(-1.0 / 7.0));
    q = _mm512_fmadd_pd(q, r, _mm512_set1_pd(1.0 / 6.0));
    q = _mm512_fmadd_pd(q, r, _mm512_set1_pd(-1.0 / 5.0));
    q = _mm512_fmadd_pd(q, r, _mm512_set1_pd(1.0 / 4.0));
    q = _mm512_fmadd_pd(q, r, _mm512_set1_pd(-1.0 / 3.0));
    q = _mm512_fmadd_pd(q, r, _mm512_set1_pd(0.5));
    __m512d p = _mm512_fnmadd_pd(_mm512_mul_pd(r, r), q, r); /* r - r^2 q = log(1 + r) */
    __m512d hi_part = _mm512_fmadd_pd(ex, _mm512_set1_pd(0x1.62e42fefa39efp-1), lc);
    return _mm512_add_pd(hi_part, _mm512_fmadd_pd(ex, _mm512_set1_pd(0x1.abc9e3b39803fp-56), p));
}

/* The row pass of the log-sum-exp for k a multiple of 8 on AVX-512: row
 * maximum, then exp(r - max) a register at a time, skipping registers whose
 * terms are all negligible, summed lane-wise and reduced in a fixed order.
 * Returns 0 (leaving the row untouched) when the row's maximum is not a
 * finite number or the row holds a NaN; the caller handles it. */
__attribute__((target("avx512f"))) static int rows512(double *r, size_t k, double *mx_out, double *sum_out)
{
    __m512d m = _mm512_loadu_pd(r);
    __mmask8 nan = _mm512_cmp_pd_mask(m, m, _CMP_UNORD_Q);
    for (size_t j = 8; j < k; j += 8) {
        __m512d v = _mm512_loadu_pd(r + j);
        nan |= _mm512_cmp_pd_mask(v, v, _CMP_UNORD_Q);
        m = _mm512_max_pd(m, v);
    }
    double mx = _mm512_reduce_max_pd(m);
    if (nan || !(mx > -INFINITY)) return 0;
    const __m512d vmx = _mm512_set1_pd(mx), neg = _mm512_set1_pd(EXP_NEGLIGIBLE);
    __m512d acc = _mm512_setzero_pd();
    for (size_t j = 0; j < k; j += 8) {
        __m512d dv = _mm512_sub_pd(_mm512_loadu_pd(r + j), vmx);
        if (!_mm512_cmp_pd_mask(dv, neg, _CMP_GE_OQ)) {
            _mm512_storeu_pd(r + j, _mm512_setzero_pd());
            continue;
        }
        __m512d e = exp512(dv);
        _mm512_storeu_pd(r + j, e);
        acc = _mm512_add_pd(acc, e);
    }
    *mx_out = mx;
    *sum_out = _mm512_reduce_add_pd(acc);
    return 1;
}
#endif

/* Normalise rows of L (nb x k) into responsibilities (when `normalise`;
 * else leave exp(L - max)); returns log p(x_i) in lse. Row maxima are taken
 * from `rowmax`, or found here when it is NULL. Blocks of 8 terms all below
 * EXP_NEGLIGIBLE skip the exponential (the usual case for well separated
 * components, where a row has a few terms that matter). */
LT_HOT static void normalise_rows(double *L, const double *rowmax, size_t nb, size_t k, double *lse, int normalise)
{
    double sum[CHUNK];
#ifdef LT_HAVE_AVX512
    int fast = k % 8 == 0 && __builtin_cpu_supports("avx512f"); /* finds the maxima itself */
#endif
    for (size_t i = 0; i < nb; i++) {
        double *r = L + i * k, mx;
#ifdef LT_HAVE_AVX512
        if (fast && rows512(r, k, &lse[i], &sum[i])) continue;
#endif
        if (rowmax)
            mx = rowmax[i];
        else {
            mx = -INFINITY;
#pragma omp simd reduction(max : mx)
            for (size_t j = 0; j < k; j++) mx = r[j] > mx ? r[j] : mx;
        }
        lse[i] = mx;
        if (!(mx > -INFINITY)) { /* no component can explain it (or NaN): spread evenly */
            for (size_t j = 0; j < k; j++) r[j] = 1.0;
            sum[i] = (double)k;
            if (mx != mx) lse[i] = -INFINITY;
            continue;
        }
        /* Eight lane sums, added in a fixed tree at the end: the order is
         * fixed by k alone. */
        double acc[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
        size_t j0 = 0;
        for (; j0 + 8 <= k; j0 += 8) {
            double *rb = r + j0;
            int any = 0;
#pragma omp simd reduction(| : any)
            for (size_t j = 0; j < 8; j++) any |= rb[j] - mx >= EXP_NEGLIGIBLE;
            if (!any) {
                memset(rb, 0, 8 * sizeof *rb);
                continue;
            }
#pragma omp simd
            for (size_t j = 0; j < 8; j++) {
                double e = exp(rb[j] - mx);
                rb[j] = e;
                acc[j] += e;
            }
        }
        for (size_t j = 0; j0 + j < k; j++) {
            double e = exp(r[j0 + j] - mx);
            r[j0 + j] = e;
            acc[j] += e;
        }
        double s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
        sum[i] = s;
    }
#pragma omp simd
    for (size_t i = 0; i < nb; i++) lse[i] += log(sum[i]); /* -inf stays -inf */
    if (normalise)
        for (size_t i = 0; i < nb; i++) {
            double *r = L + i * k, inv = 1.0 / sum[i];
#pragma omp simd
            for (size_t j = 0; j < k; j++) r[j] *= inv;
        }
}

/* ------------------------------------------------------ statistics pass */

/* Sufficient statistics of one block. */
typedef struct stats {
    double *nk;  /* k */
    double *sx;  /* k x d */
    double *sxx; /* full: k x d x d (upper triangle); diag/spherical: k x d; tied: none */
    double loglik; /* sum_i w_i log p(x_i) */
    double weight; /* sum_i w_i */
} stats;

typedef enum { RESP_ESTEP, RESP_LABELS, RESP_RANDOM, RESP_GIVEN } resp_mode;

typedef struct pass {
    const double *X;
    size_t n, d, k;
    const double *w;     /* n or NULL */
    const double *shift; /* d: subtracted from every row */
    lt_cov_type cov;
    resp_mode mode;
    const estep *e;         /* RESP_ESTEP */
    const int32_t *labels;  /* RESP_LABELS */
    const double *given;    /* RESP_GIVEN: n x k, already weighted */
    double *logjoint;       /* n x k or NULL: log pi_k + log N(x_i | k), before normalising */
    uint64_t seed;          /* RESP_RANDOM */
    int want_stats;
    double *logp;  /* n or NULL: log p(x_i) */
    double *resp;  /* n x k or NULL */
    size_t nblocks;
    stats *blocks; /* nblocks, when want_stats */
    int threads;
    int nonfinite; /* out: some row held a value that is not finite */
} pass;

static size_t sxx_len(lt_cov_type cov, size_t k, size_t d)
{
    return cov == LT_COV_FULL ? k * d * d : cov == LT_COV_TIED ? 0 : k * d;
}

static void stats_free(stats *s, size_t nb)
{
    if (!s) return;
    for (size_t b = 0; b < nb; b++) {
        free(s[b].nk);
        free(s[b].sx);
        free(s[b].sxx);
    }
    free(s);
}

static stats *stats_alloc(size_t nb, lt_cov_type cov, size_t k, size_t d)
{
    stats *s = lt_calloc(nb, sizeof *s);
    if (!s) return NULL;
    size_t ql = sxx_len(cov, k, d);
    for (size_t b = 0; b < nb; b++) {
        s[b].nk = calloc(k, sizeof(double));
        s[b].sx = calloc(k * d, sizeof(double));
        s[b].sxx = calloc(ql ? ql : 1, sizeof(double));
        if (!s[b].nk || !s[b].sx || !s[b].sxx) {
            stats_free(s, nb);
            lt_fail(LT_ERR_NOMEM, "out of memory for EM statistics");
            return NULL;
        }
    }
    return s;
}

static void stats_zero(stats *s, size_t nb, lt_cov_type cov, size_t k, size_t d)
{
    size_t ql = sxx_len(cov, k, d);
    for (size_t b = 0; b < nb; b++) {
        memset(s[b].nk, 0, k * sizeof(double));
        memset(s[b].sx, 0, k * d * sizeof(double));
        if (ql) memset(s[b].sxx, 0, ql * sizeof(double));
        s[b].loglik = 0.0;
        s[b].weight = 0.0;
    }
}

/* Add block b's rows [lo, hi) of R (nb x k responsibilities, already weighted)
 * and x to its statistics. */
static void stats_add(stats *s, const pass *p, work *w, size_t nb)
{
    size_t k = p->k, d = p->d;
    double *R = w->L;
    if (p->cov == LT_COV_DIAG) {
        /* [sxx, sx, nk] += R^T [X^2, X, 1] in one GEMM */
        size_t dw = DIAG_W(d);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)dw, (int)nb, 1.0, R, (int)k, w->y, (int)dw,
                    0.0, w->T, (int)dw);
        for (size_t j = 0; j < k; j++) {
            for (size_t t = 0; t < d; t++) {
                s->sxx[j * d + t] += w->T[j * dw + t];
                s->sx[j * d + t] += w->T[j * dw + d + t];
            }
            s->nk[j] += w->T[j * dw + 2 * d];
        }
        return;
    }
    for (size_t i = 0; i < nb; i++)
        for (size_t j = 0; j < k; j++) s->nk[j] += R[i * k + j];
    /* sx += R^T X */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)d, (int)nb, 1.0, R, (int)k, w->x, (int)d, 1.0,
                s->sx, (int)d);
    if (p->cov == LT_COV_SPHERICAL) {
        for (size_t i = 0; i < nb * d; i++) w->y[i] = w->x[i] * w->x[i];
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)d, (int)nb, 1.0, R, (int)k, w->y, (int)d,
                    1.0, s->sxx, (int)d);
    } else if (p->cov == LT_COV_FULL && d <= PACKED_MAX_D) {
        /* All k second moments in one GEMM: R^T [x_i x_i^T, upper triangle
         * packed], then added into each d x d upper triangle. */
        size_t tri = d * (d + 1) / 2;
        for (size_t i = 0; i < nb; i++) {
            const double *x = w->x + i * d;
            double *o = w->xx + i * tri;
            for (size_t a = 0; a < d; a++)
                for (size_t b = a; b < d; b++) *o++ = x[a] * x[b];
        }
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)tri, (int)nb, 1.0, R, (int)k, w->xx,
                    (int)tri, 0.0, w->T, (int)tri);
        for (size_t j = 0; j < k; j++) {
            const double *t = w->T + j * tri;
            double *S = s->sxx + j * d * d;
            for (size_t a = 0; a < d; a++)
                for (size_t b = a; b < d; b++) S[a * d + b] += *t++;
        }
    } else if (p->cov == LT_COV_FULL) {
        /* Large d: one rank-update per component is efficient enough. */
        for (size_t j = 0; j < k; j++) {
            size_t used = 0;
            for (size_t i = 0; i < nb; i++) {
                double r = R[i * k + j];
                if (r <= 0.0) continue; /* hard assignments: skip rows that do not count */
                double sr = sqrt(r);
                for (size_t t = 0; t < d; t++) w->xs[used * d + t] = sr * w->x[i * d + t];
                used++;
            }
            if (used)
                cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)used, 1.0, w->xs, (int)d, 1.0,
                            s->sxx + j * d * d, (int)d);
        }
    }
}

/* Fill w->L with responsibilities for rows [r0, r0 + nb) of block `b` per the
 * pass mode; returns log p(x_i) into lse for RESP_ESTEP. */
static void chunk_resp(const pass *p, work *w, size_t r0, size_t nb, lt_rng *rng, double *lse)
{
    size_t k = p->k;
    if (p->mode == RESP_ESTEP) {
        estep_logjoint(p->e, w, nb);
        if (p->logjoint) {
            memcpy(p->logjoint + r0 * k, w->L, nb * k * sizeof(double));
            return;
        }
        normalise_rows(w->L, p->cov == LT_COV_DIAG ? NULL : w->mx, nb, k, lse, p->resp || p->want_stats);
    } else if (p->mode == RESP_GIVEN) {
        memcpy(w->L, p->given + r0 * k, nb * k * sizeof(double));
    } else if (p->mode == RESP_LABELS) {
        memset(w->L, 0, nb * k * sizeof(double));
        for (size_t i = 0; i < nb; i++) w->L[i * k + (size_t)p->labels[r0 + i]] = 1.0;
    } else {
        for (size_t i = 0; i < nb; i++) {
            double s = 0.0;
            for (size_t j = 0; j < k; j++) s += (w->L[i * k + j] = lt_rng_uniform(rng));
            for (size_t j = 0; j < k; j++) w->L[i * k + j] /= s;
        }
    }
}

/* Centre rows [r0, r0 + nb) into w->x; for the diagonal kernels straight
 * into w->y as [x^2, x, 1] (load_diag: from row `off` of w->y on), which both
 * the E-step and the statistics use. Returns 0 when a value is not finite
 * (x - x is NaN only then: a branch-free check riding on the pass that reads
 * the data anyway). */
LT_HOT static int load_diag(const pass *p, work *w, size_t r0, size_t nb, size_t off)
{
    size_t d = p->d, dw = DIAG_W(d);
    const double *X = p->X + r0 * d, *sh = p->shift;
    double acc = 0.0;
    for (size_t i = 0; i < nb; i++) {
        double *y = w->y + (off + i) * dw;
#pragma omp simd reduction(+ : acc)
        for (size_t t = 0; t < d; t++) {
            double v = X[i * d + t] - sh[t];
            acc += v - v;
            y[t] = v * v;
            y[d + t] = v;
        }
        y[2 * d] = 1.0;
    }
    return acc == 0.0;
}

LT_HOT static int load_chunk(const pass *p, work *w, size_t r0, size_t nb)
{
    size_t d = p->d;
    const double *X = p->X + r0 * d, *sh = p->shift;
    double acc = 0.0;
    if (p->cov == LT_COV_DIAG) return load_diag(p, w, r0, nb, 0);
    for (size_t i = 0; i < nb; i++)
#pragma omp simd reduction(+ : acc)
        for (size_t t = 0; t < d; t++) {
            double v = X[i * d + t] - sh[t];
            acc += v - v;
            w->x[i * d + t] = v;
        }
    return acc == 0.0;
}

#ifdef LT_HAVE_AVX512
/* A row whose log-joint holds a NaN or only -inf, as in normalise_rows:
 * spread evenly when no term is a number above -inf, else exp(r - max). */
static void row_degenerate(double *r, size_t k, double *mx_out, double *sum_out)
{
    double mx = -INFINITY, s = 0.0;
    for (size_t j = 0; j < k; j++) mx = r[j] > mx ? r[j] : mx;
    if (!(mx > -INFINITY)) {
        for (size_t j = 0; j < k; j++) r[j] = 1.0;
        *mx_out = -INFINITY;
        *sum_out = (double)k;
        return;
    }
    for (size_t j = 0; j < k; j++) s += (r[j] = exp(r[j] - mx));
    *mx_out = mx;
    *sum_out = s;
}

/* load_diag on AVX-512: the finiteness check is kept lane-wise across the
 * rows (a horizontal sum per row costs as much as the rest). */
__attribute__((target("avx512f"))) static inline int load512(const pass *p, work *w, size_t r0, size_t nb, size_t off)
{
    size_t d = p->d, dw = DIAG_W(d);
    const double *X = p->X + r0 * d, *sh = p->shift;
    __mmask8 tail = d % 8 ? (__mmask8)((1u << (d % 8)) - 1u) : 0xff;
    __m512d acc = _mm512_setzero_pd();
    for (size_t i = 0; i < nb; i++) {
        const double *x = X + i * d;
        double *y = w->y + (off + i) * dw;
        size_t t = 0;
        for (; t + 8 <= d; t += 8) {
            __m512d v = _mm512_sub_pd(_mm512_loadu_pd(x + t), _mm512_loadu_pd(sh + t));
            acc = _mm512_add_pd(acc, _mm512_sub_pd(v, v));
            _mm512_storeu_pd(y + t, _mm512_mul_pd(v, v));
            _mm512_storeu_pd(y + d + t, v);
        }
        if (t < d) {
            __m512d v = _mm512_sub_pd(_mm512_maskz_loadu_pd(tail, x + t), _mm512_maskz_loadu_pd(tail, sh + t));
            acc = _mm512_add_pd(acc, _mm512_sub_pd(v, v));
            _mm512_mask_storeu_pd(y + t, tail, _mm512_mul_pd(v, v));
            _mm512_mask_storeu_pd(y + d + t, tail, v);
        }
        y[2 * d] = 1.0;
    }
    return !_mm512_cmp_pd_mask(acc, _mm512_setzero_pd(), _CMP_NEQ_UQ);
}

/* Lane i of the result reduces v[i] (max or add): eight horizontal
 * reductions in 21 instructions instead of 48, in a fixed order. */
#define LT_HREDUCE8(name, op)                                                                                          \
    __attribute__((target("avx512f"))) static inline __m512d name(const __m512d v[8])                                  \
    {                                                                                                                  \
        __m512d a[4], b[2];                                                                                            \
        for (int i = 0; i < 4; i++) /* [r0 p0, r1 p0, r0 p1, r1 p1, ...]: rows 2i, 2i+1, four partials */              \
            a[i] = op(_mm512_unpacklo_pd(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_pd(v[2 * i], v[2 * i + 1]));         \
        for (int i = 0; i < 2; i++) /* 128-bit lanes: rows (4i, 4i+1) x 2 partials, then (4i+2, 4i+3) */               \
            b[i] = op(_mm512_shuffle_f64x2(a[2 * i], a[2 * i + 1], 0x88),                                              \
                      _mm512_shuffle_f64x2(a[2 * i], a[2 * i + 1], 0xdd));                                             \
        return op(_mm512_shuffle_f64x2(b[0], b[1], 0x88), _mm512_shuffle_f64x2(b[0], b[1], 0xdd));                     \
    }
LT_HREDUCE8(hmax8, _mm512_max_pd)
LT_HREDUCE8(hsum8, _mm512_add_pd)
#undef LT_HREDUCE8

/* The log-sum-exp over rows of lb (nb x kp, 64-byte aligned; the first k
 * columns are the log-joint in bits, the padding -inf), eight rows at a
 * time, given each row's maxima lane-wise in mxv (from fused_tile) and in
 * chk a sum of every term (NaN if any is): exp(r - max) into lb in a loop
 * whose iterations are independent but for each row's sum (every term is
 * computed: skipping the negligible ones costs more in mispredicted
 * branches than it saves, as few registers of 8 are all negligible), then
 * log p = max ln 2 + log(sum), in nats, into lse and the sums into sum. If
 * chk is NaN, or a row is only -inf, the rows take the careful route of
 * rows512 and row_degenerate, in nats. */
__attribute__((target("avx512f"))) static inline void lse_rows512(double *lb, const __m512d *mxv, __m512d chk,
                                                                  size_t nb, size_t k, size_t kp, double *lse,
                                                                  double *sum)
{
    int nan = _mm512_cmp_pd_mask(chk, chk, _CMP_UNORD_Q) != 0;
    for (size_t i0 = 0; i0 < nb; i0 += 8) {
        size_t n8 = nb - i0 < 8 ? nb - i0 : 8;
        __mmask8 live = (__mmask8)((1u << n8) - 1u);
        double *rows = lb + i0 * kp;
        __m512d m[8];
        for (size_t ii = 0; ii < 8; ii++) m[ii] = mxv[i0 + (ii < n8 ? ii : n8 - 1)];
        __m512d mv = hmax8(m);
        if (nan || _mm512_mask_cmp_pd_mask(live, mv, _mm512_set1_pd(-INFINITY), _CMP_EQ_OQ)) {
            for (size_t ii = 0; ii < n8; ii++) {
                double *r = rows + ii * kp, mxi, s;
                for (size_t j = 0; j < kp; j++) r[j] *= LN_2;
                if (!rows512(r, kp, &mxi, &s)) {
                    row_degenerate(r, k, &mxi, &s);
                    for (size_t j = k; j < kp; j++) r[j] = 0.0;
                }
                lse[i0 + ii] = mxi + log(s); /* -inf stays -inf */
                sum[i0 + ii] = s;
            }
            continue;
        }
        double mx[8];
        _mm512_storeu_pd(mx, mv);
        __m512d acc[8];
        for (size_t ii = 0; ii < 8; ii++) {
            acc[ii] = _mm512_setzero_pd();
            if (ii >= n8) continue;
            double *r = rows + ii * kp;
            const __m512d vmx = _mm512_set1_pd(mx[ii]);
            for (size_t j = 0; j < kp; j += 8) {
                __m512d e = exp2_512(_mm512_sub_pd(_mm512_load_pd(r + j), vmx));
                _mm512_store_pd(r + j, e);
                acc[ii] = _mm512_add_pd(acc[ii], e);
            }
        }
        __m512d sv = hsum8(acc);
        _mm512_mask_storeu_pd(sum + i0, live, sv);
        sv = _mm512_mask_blend_pd(live, _mm512_set1_pd(1.0), sv);
        _mm512_mask_storeu_pd(lse + i0, live, _mm512_fmadd_pd(mv, _mm512_set1_pd(LN_2), log512(sv)));
    }
}

/* The register block of the fused diagonal E-step, for four rows u_r of
 * [x^2, x] (nw = 2d values each) and nv <= 4 registers of 8 components:
 *
 *   o_r[j] = c0[j] + sum_t u_r[t] C[t kp + j],   j < 8 nv,
 *
 * 4 nv accumulators, nv coefficient registers per t, the u_r[t] broadcast
 * from memory: 4 nv FMAs per 4 + nv loads. nv is a constant where it is
 * inlined, so the loops unroll into registers. On the way out, with the
 * adders the FMAs leave idle: each row's maxima lane-wise into mx_r (set
 * when `first`, else raised), and every term added into *chk (NaN if any
 * term is). */
__attribute__((target("avx512f"), always_inline)) static inline void
fused_tile(const double *const u[4], size_t nw, const double *C, size_t kp, const double *c0, double *const o[4],
           __m512d *const mx[4], int first, __m512d *chk, const int nv)
{
    __m512d acc[4][4];
#pragma GCC unroll 4
    for (int r = 0; r < 4; r++)
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) acc[r][v] = _mm512_load_pd(c0 + 8 * v);
    for (size_t t = 0; t < nw; t++) {
        const double *ct = C + t * kp;
        __m512d c[4];
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) c[v] = _mm512_load_pd(ct + 8 * v);
#pragma GCC unroll 4
        for (int r = 0; r < 4; r++) {
            __m512d x = _mm512_set1_pd(u[r][t]);
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++) acc[r][v] = _mm512_fmadd_pd(c[v], x, acc[r][v]);
        }
    }
    __m512d sum = *chk;
#pragma GCC unroll 4
    for (int r = 0; r < 4; r++) {
        __m512d m = first ? acc[r][0] : _mm512_max_pd(*mx[r], acc[r][0]);
        sum = _mm512_add_pd(sum, acc[r][0]);
        _mm512_store_pd(o[r], acc[r][0]);
#pragma GCC unroll 4
        for (int v = 1; v < nv; v++) {
            m = _mm512_max_pd(m, acc[r][v]);
            sum = _mm512_add_pd(sum, acc[r][v]);
            _mm512_store_pd(o[r] + 8 * v, acc[r][v]);
        }
        *mx[r] = m;
    }
    *chk = sum;
}

/* The register block of the fused statistics, over sb rows of Y ([x^2, x, 1]
 * rows, stride dw; nc <= 4 of its columns) and of R (posteriors, stride kp;
 * nv <= 4 registers of 8 components):
 *
 *   T[c kp + j] += sum_i Y[i dw + c] R[i kp + j],   c < nc, j < 8 nv,
 *
 * summed in row order: R^T [X^2, X, 1] of the diagonal M-step, the GEMM of
 * stats_add, with the rows' posteriors still in L1. */
__attribute__((target("avx512f"), always_inline)) static inline void
stats_tile(const double *Y, size_t dw, const double *R, size_t kp, size_t sb, double *T, const int nc, const int nv)
{
    __m512d acc[4][4];
#pragma GCC unroll 4
    for (int c = 0; c < nc; c++)
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) acc[c][v] = _mm512_load_pd(T + c * kp + 8 * v);
    for (size_t i = 0; i < sb; i++) {
        __m512d r[4];
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) r[v] = _mm512_load_pd(R + i * kp + 8 * v);
#pragma GCC unroll 4
        for (int c = 0; c < nc; c++) {
            __m512d y = _mm512_set1_pd(Y[i * dw + c]);
#pragma GCC unroll 4
            for (int v = 0; v < nv; v++) acc[c][v] = _mm512_fmadd_pd(r[v], y, acc[c][v]);
        }
    }
#pragma GCC unroll 4
    for (int c = 0; c < nc; c++)
#pragma GCC unroll 4
        for (int v = 0; v < nv; v++) _mm512_store_pd(T + c * kp + 8 * v, acc[c][v]);
}

/* stats_tile with nc and nv as constants. */
__attribute__((target("avx512f"))) static void stats_tile_any(const double *Y, size_t dw, const double *R, size_t kp,
                                                              size_t sb, double *T, int nc, int nv)
{
#define LT_ST(c, v)                                                                                                    \
    case 4 * (c) + (v) - 5: stats_tile(Y, dw, R, kp, sb, T, c, v); break
    switch (4 * nc + nv - 5) {
        LT_ST(1, 1); LT_ST(1, 2); LT_ST(1, 3); LT_ST(1, 4);
        LT_ST(2, 1); LT_ST(2, 2); LT_ST(2, 3); LT_ST(2, 4);
        LT_ST(3, 1); LT_ST(3, 2); LT_ST(3, 3); LT_ST(3, 4);
        LT_ST(4, 1); LT_ST(4, 2); LT_ST(4, 3); LT_ST(4, 4);
    }
#undef LT_ST
}

/* The diagonal E-step for rows [r0, r0 + nb) on AVX-512, fused: a
 * sub-block of FUSED_SB rows at a time is loaded as [x^2, x, 1] into w->y
 * (at its place in the chunk, for the statistics), its log-joint formed in
 * register blocks of 4 rows x 32 components into w->lb (L1), and each row's
 * log-sum-exp taken there; the chunk's nb x k log-joint never exists. The
 * arithmetic is that of the GEMM in estep_logjoint (sum_t over [x^2, x]
 * plus the constant), in a fixed order. Writes log p(x_i) into lse, the
 * posteriors into p->resp when asked for, and adds the chunk's statistics
 * (posteriors times the sample weights against [x^2, x, 1], as stats_add)
 * into s when s is not NULL, without the chunk's posteriors leaving L1; with
 * p->logjoint, the log-joint there instead. Returns 0 when a value is not
 * finite. */
__attribute__((target("avx512f"))) static int fused_chunk(const pass *p, work *w, size_t r0, size_t nb, double *lse,
                                                          stats *s)
{
    const estep *e = p->e;
    size_t k = e->k, kp = e->kp, d = e->d, dw = DIAG_W(d), nw = 2 * d;
    double *lb = w->lb;
    int ok = 1;
    if (s) memset(w->T, 0, dw * kp * sizeof(double));
    for (size_t s0 = 0; s0 < nb; s0 += FUSED_SB) {
        size_t sb = nb - s0 < FUSED_SB ? nb - s0 : FUSED_SB;
        ok &= load512(p, w, r0 + s0, sb, s0);
        const double *Y = w->y + s0 * dw;
        /* The rows two sub-blocks on, a part with each register block: the
         * hardware prefetcher alone leaves the loads above waiting on memory. */
        size_t pf0 = r0 + s0 + 2 * FUSED_SB, pf1 = pf0 + FUSED_SB < p->n ? pf0 + FUSED_SB : p->n;
        const char *pf = (const char *)(p->X + (pf0 < pf1 ? pf0 : pf1) * d);
        size_t pf_left = pf0 < pf1 ? (pf1 - pf0) * d * sizeof(double) : 0;
        size_t pf_step = (FUSED_SB * d * sizeof(double) + FUSED_SB / 4 - 1) / (FUSED_SB / 4);
        __m512d mxv[FUSED_SB], chk = _mm512_setzero_pd();
        for (size_t g = 0; g < kp; g += 32) {
            int nv = kp - g >= 32 ? 4 : (int)((kp - g) / 8);
            for (size_t i = 0; i < sb; i += 4) {
                if (g == 0)
                    for (size_t b = 0; b < pf_step && pf_left; b += 64) {
                        _mm_prefetch(pf, _MM_HINT_T0);
                        size_t adv = pf_left < 64 ? pf_left : 64;
                        pf += adv, pf_left -= adv;
                    }
                /* rows past the end repeat the last one into spare rows of lb */
                const double *u[4];
                double *o[4];
                __m512d *m[4];
                for (size_t r = 0; r < 4; r++) {
                    u[r] = Y + (i + r < sb ? i + r : sb - 1) * dw;
                    o[r] = lb + (i + r) * kp + g;
                    m[r] = mxv + i + r;
                }
                const double *C = e->fa + g, *c0 = e->fc + g;
                switch (nv) {
                case 4: fused_tile(u, nw, C, kp, c0, o, m, g == 0, &chk, 4); break;
                case 3: fused_tile(u, nw, C, kp, c0, o, m, g == 0, &chk, 3); break;
                case 2: fused_tile(u, nw, C, kp, c0, o, m, g == 0, &chk, 2); break;
                default: fused_tile(u, nw, C, kp, c0, o, m, g == 0, &chk, 1); break;
                }
            }
        }
        if (p->logjoint) { /* in nats */
            for (size_t i = 0; i < sb; i++) {
                const double *r = lb + i * kp;
                double *L = p->logjoint + (r0 + s0 + i) * k;
                for (size_t j = 0; j < k; j++) L[j] = r[j] * LN_2;
            }
            continue;
        }
        double sum[FUSED_SB];
        lse_rows512(lb, mxv, chk, sb, k, kp, lse + s0, sum);
        if (!p->resp && !s) continue;
        for (size_t i = 0; i < sb; i++) { /* posteriors, in place */
            double *r = lb + i * kp;
            __m512d inv = _mm512_set1_pd(1.0 / sum[i]);
            for (size_t j = 0; j < kp; j += 8) _mm512_store_pd(r + j, _mm512_mul_pd(_mm512_load_pd(r + j), inv));
        }
        if (p->resp)
            for (size_t i = 0; i < sb; i++) memcpy(p->resp + (r0 + s0 + i) * k, lb + i * kp, k * sizeof(double));
        if (!s) continue;
        if (p->w)
            for (size_t i = 0; i < sb; i++) {
                double *r = lb + i * kp;
                __m512d wi = _mm512_set1_pd(p->w[r0 + s0 + i]);
                for (size_t j = 0; j < kp; j += 8) _mm512_store_pd(r + j, _mm512_mul_pd(_mm512_load_pd(r + j), wi));
            }
        for (size_t g = 0; g < kp; g += 32) {
            int nv = kp - g >= 32 ? 4 : (int)((kp - g) / 8);
            for (size_t c0 = 0; c0 < dw; c0 += 4)
                stats_tile_any(Y + c0, dw, lb + g, kp, sb, w->T + c0 * kp + g, dw - c0 < 4 ? (int)(dw - c0) : 4, nv);
        }
    }
    if (s) {
        const double *T = w->T;
        for (size_t t = 0; t < d; t++)
            for (size_t j = 0; j < k; j++) {
                s->sxx[j * d + t] += T[t * kp + j];
                s->sx[j * d + t] += T[(d + t) * kp + j];
            }
        for (size_t j = 0; j < k; j++) s->nk[j] += T[2 * d * kp + j];
    }
    return ok;
}
#endif

/* One pass over the data: responsibilities, log p(x), statistics. */
static lt_status run_pass(pass *p)
{
    size_t n = p->n, d = p->d, k = p->k;
    if (p->want_stats) stats_zero(p->blocks, p->nblocks, p->cov, k, d);
    int failed = 0;
    size_t rows = chunk_rows(p->cov);
    /* The fused diagonal E-step (with its statistics) where AVX-512 is there:
     * the choice depends on the machine, never on the thread count. */
    int fused = 0;
#ifdef LT_HAVE_AVX512
    fused = p->mode == RESP_ESTEP && p->cov == LT_COV_DIAG && __builtin_cpu_supports("avx512f");
#endif
    int blas = lt_blas_single_begin();
#pragma omp parallel num_threads(lt_threads(p->threads))
    {
        work w;
        double lse[CHUNK];
        int bad = work_init(&w, k, d, p->cov);
        if (bad) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t b = 0; b < p->nblocks; b++) {
            if (bad) continue;
            size_t lo = lt_block_begin(n, p->nblocks, b), hi = lt_block_begin(n, p->nblocks, b + 1);
            lt_rng rng;
            if (p->mode == RESP_RANDOM) lt_rng_stream(&rng, p->seed, b);
            stats *s = p->want_stats ? &p->blocks[b] : NULL;
            for (size_t r0 = lo; r0 < hi; r0 += rows) {
                size_t nb = hi - r0 < rows ? hi - r0 : rows;
                int finite;
#ifdef LT_HAVE_AVX512
                if (fused)
                    finite = fused_chunk(p, &w, r0, nb, lse, s);
                else
#endif
                {
                    finite = load_chunk(p, &w, r0, nb);
                    chunk_resp(p, &w, r0, nb, &rng, lse);
                }
                if (!finite) {
#pragma omp atomic write
                    p->nonfinite = 1;
                }
                if (p->resp && !fused) memcpy(p->resp + r0 * k, w.L, nb * k * sizeof(double));
                if (p->logp && p->mode == RESP_ESTEP) memcpy(p->logp + r0, lse, nb * sizeof(double));
                if (s) {
                    for (size_t i = 0; i < nb; i++) {
                        double wi = p->w ? p->w[r0 + i] : 1.0;
                        if (p->mode == RESP_ESTEP) s->loglik += wi == 0.0 ? 0.0 : wi * lse[i];
                        s->weight += wi;
                        if (p->w && !fused)
                            for (size_t j = 0; j < k; j++) w.L[i * k + j] *= wi;
                    }
                    if (!fused) stats_add(s, p, &w, nb);
                }
            }
        }
        work_free(&w);
    }
    lt_blas_single_end(blas);
    if (failed) return lt_fail(LT_ERR_NOMEM, "out of memory for EM work space");
    return LT_OK;
}

/* Sum block statistics into block 0, in block order. */
static void stats_reduce(stats *s, size_t nb, lt_cov_type cov, size_t k, size_t d)
{
    size_t ql = sxx_len(cov, k, d);
    for (size_t b = 1; b < nb; b++) {
        for (size_t j = 0; j < k; j++) s[0].nk[j] += s[b].nk[j];
        for (size_t j = 0; j < k * d; j++) s[0].sx[j] += s[b].sx[j];
        for (size_t j = 0; j < ql; j++) s[0].sxx[j] += s[b].sxx[j];
        s[0].loglik += s[b].loglik;
        s[0].weight += s[b].weight;
    }
}

/* ---------------------------------------------------------------- fit */

typedef struct fitctx {
    const double *X;
    size_t n, d;
    const double *w;
    double *shift;   /* d: data mean */
    double *dvar;    /* d: data variance (repairs) */
    double *xtx;     /* d x d: sum w x x^T of centred data (tied) */
    double total_w;
    size_t nblocks;
    stats *blocks;
    double *logp;    /* n: log p(x_i) of the last E-step (repairs) */
    const lt_gmm_options *o;
} fitctx;

/* Component j takes the sample explained worst by the current mixture that
 * no other repair in this step has taken; its covariance becomes the data's
 * diagonal covariance. */
static void repair_component(lt_gmm *m, const fitctx *c, size_t j, double *taken_logp)
{
    size_t d = m->d, best = 0;
    double worst = INFINITY;
    for (size_t i = 0; i < c->n; i++) {
        double wi = c->w ? c->w[i] : 1.0;
        if (wi > 0.0 && taken_logp[i] < worst) worst = taken_logp[i], best = i;
    }
    taken_logp[best] = INFINITY;
    for (size_t t = 0; t < d; t++) m->means[j * d + t] = c->X[best * d + t] - c->shift[t];
    double avg = 0.0;
    for (size_t t = 0; t < d; t++) avg += c->dvar[t] / (double)d;
    switch (m->cov) {
    case LT_COV_FULL:
        memset(m->covs + j * d * d, 0, d * d * sizeof(double));
        for (size_t t = 0; t < d; t++) m->covs[j * d * d + t * d + t] = c->dvar[t] + m->reg_covar;
        break;
    case LT_COV_DIAG:
        for (size_t t = 0; t < d; t++) m->covs[j * d + t] = c->dvar[t] + m->reg_covar;
        break;
    case LT_COV_SPHERICAL: m->covs[j] = avg + m->reg_covar; break;
    case LT_COV_TIED: break;
    }
    m->weights[j] = 1.0 / (double)m->k;
}

/* M-step from the reduced statistics in c->blocks[0]. */
static lt_status mstep(lt_gmm *m, fitctx *c, int have_logp)
{
    size_t k = m->k, d = m->d;
    stats *s = &c->blocks[0];
    double reg = m->reg_covar, total = 0.0;
    double empty_mass = 1e-9 * c->total_w / (double)c->n; /* a billionth of an average sample */
    for (size_t j = 0; j < k; j++) total += s->nk[j] + 10.0 * DBL_EPSILON;
    int any_empty = 0;
    for (size_t j = 0; j < k; j++) {
        double nk = s->nk[j] + 10.0 * DBL_EPSILON;
        m->weights[j] = nk / total;
        for (size_t t = 0; t < d; t++) m->means[j * d + t] = s->sx[j * d + t] / nk;
        const double *mu = m->means + j * d;
        switch (m->cov) {
        case LT_COV_FULL: {
            double *S = m->covs + j * d * d;
            const double *Q = s->sxx + j * d * d;
            for (size_t a = 0; a < d; a++)
                for (size_t b = a; b < d; b++) {
                    double v = Q[a * d + b] / nk - mu[a] * mu[b];
                    S[a * d + b] = S[b * d + a] = v;
                }
            for (size_t a = 0; a < d; a++) S[a * d + a] += reg;
            break;
        }
        case LT_COV_DIAG:
            for (size_t t = 0; t < d; t++)
                m->covs[j * d + t] = s->sxx[j * d + t] / nk - mu[t] * mu[t] + reg;
            break;
        case LT_COV_SPHERICAL: {
            double v = 0.0;
            for (size_t t = 0; t < d; t++) v += s->sxx[j * d + t] / nk - mu[t] * mu[t] + reg;
            m->covs[j] = v / (double)d;
            break;
        }
        case LT_COV_TIED: break;
        }
        if (s->nk[j] < empty_mass) any_empty = 1;
    }
    if (m->cov == LT_COV_TIED) {
        double *S = m->covs;
        for (size_t a = 0; a < d; a++)
            for (size_t b = 0; b < d; b++) {
                double v = c->xtx[a * d + b];
                for (size_t j = 0; j < k; j++) v -= (s->nk[j] + 10.0 * DBL_EPSILON) * m->means[j * d + a] * m->means[j * d + b];
                S[a * d + b] = v / total;
            }
        for (size_t a = 0; a < d; a++) S[a * d + a] += reg;
    }
    /* Repairs: empty components, and covariances that are no longer PD. */
    double *taken = NULL;
    int repaired = 0;
    for (size_t j = 0; j < k; j++) {
        int bad_pd = m->cov != LT_COV_TIED && prepare_component(m, j);
        int empty = s->nk[j] < empty_mass;
        if (!(bad_pd || (empty && any_empty))) continue;
        if (!taken) {
            taken = lt_malloc(c->n, sizeof(double));
            if (!taken) return LT_ERR_NOMEM;
            for (size_t i = 0; i < c->n; i++) taken[i] = have_logp ? c->logp[i] : 0.0;
        }
        repair_component(m, c, j, taken);
        repaired = 1;
        m->n_repaired++;
        if (m->cov != LT_COV_TIED && prepare_component(m, j)) {
            free(taken);
            return lt_fail(LT_ERR_NUMERIC, "component %zu could not be repaired (data variance is zero?)", j);
        }
    }
    free(taken);
    if (repaired) {
        double sw = 0.0;
        for (size_t j = 0; j < k; j++) sw += m->weights[j];
        for (size_t j = 0; j < k; j++) m->weights[j] /= sw;
    }
    if (m->cov == LT_COV_TIED && prepare_component(m, 0)) {
        /* The pooled covariance is singular (reg_covar = 0 and flat data):
         * add the smallest ridge that makes it positive definite. */
        double ridge = 1e-10;
        for (size_t t = 0; t < d; t++) ridge = fmax(ridge, 1e-9 * c->dvar[t]);
        for (int tries = 0; tries < 20 && prepare_component(m, 0); tries++, ridge *= 10.0)
            for (size_t a = 0; a < d; a++) m->covs[a * d + a] += ridge;
        if (prepare_component(m, 0)) return lt_fail(LT_ERR_NUMERIC, "the tied covariance is not positive definite");
        m->n_repaired++;
    }
    return LT_OK;
}

/* k-means++ seeding (greedy, 2 + log k candidates per centre) and Lloyd
 * iterations on centred data; writes labels. */
static lt_status kmeans(const fitctx *c, size_t k, lt_rng *rng, int32_t *labels)
{
    size_t n = c->n, d = c->d, nb = c->nblocks;
    const double *X = c->X;
    lt_status st = LT_OK;
    double *C = lt_calloc(k * d, sizeof(double));
    double *D2 = lt_calloc(n, sizeof(double));
    double *cand = lt_calloc(n, sizeof(double));
    double *cum = lt_calloc(n, sizeof(double));
    double *acc = lt_calloc(nb * k * (d + 1), sizeof(double));
    double *bsum = lt_calloc(nb * KPP_MAX_TRIALS, sizeof(double));
    if (!C || !D2 || !cand || !cum || !acc || !bsum) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    int threads = lt_threads(c->o->threads);
#define XC(i, t) (X[(i) * d + (t)] - c->shift[t])
#define WT(i) (c->w ? c->w[i] : 1.0)
    /* First centre: a sample drawn in proportion to its weight. */
    size_t first;
    {
        double s = 0.0;
        for (size_t i = 0; i < n; i++) cum[i] = (s += WT(i));
        double u = lt_rng_uniform(rng) * s;
        first = 0;
        while (first + 1 < n && cum[first] <= u) first++;
    }
    for (size_t t = 0; t < d; t++) C[t] = XC(first, t);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        for (size_t t = 0; t < d; t++) {
            double v = XC(i, t) - C[t];
            s += v * v;
        }
        D2[i] = s;
    }
    size_t trials = 2 + (size_t)log((double)k);
    if (trials > KPP_MAX_TRIALS) trials = KPP_MAX_TRIALS;
    for (size_t j = 1; j < k; j++) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++) cum[i] = (s += WT(i) * D2[i]);
        /* Draw the candidates, then the potential of each (were it added)
         * in one pass over the data, summed per block and then in block order. */
        size_t cand_idx[KPP_MAX_TRIALS];
        for (size_t tr = 0; tr < trials; tr++) {
            if (s > 0.0) {
                double u = lt_rng_uniform(rng) * s;
                size_t lo = 0, hi = n - 1; /* first i with cum[i] > u */
                while (lo < hi) {
                    size_t mid = lo + (hi - lo) / 2;
                    if (cum[mid] > u) hi = mid;
                    else lo = mid + 1;
                }
                cand_idx[tr] = lo;
            } else {
                cand_idx[tr] = (size_t)lt_rng_below(rng, n);
            }
        }
#pragma omp parallel for num_threads(threads) schedule(static)
        for (size_t b = 0; b < nb; b++) {
            double pot[KPP_MAX_TRIALS] = {0};
            for (size_t i = lt_block_begin(n, nb, b); i < lt_block_begin(n, nb, b + 1); i++) {
                double wi = WT(i);
                for (size_t tr = 0; tr < trials; tr++) {
                    const double *xc = X + cand_idx[tr] * d;
                    double q = 0.0;
                    for (size_t t = 0; t < d; t++) {
                        double v = X[i * d + t] - xc[t];
                        q += v * v;
                    }
                    pot[tr] += wi * (q < D2[i] ? q : D2[i]);
                }
            }
            for (size_t tr = 0; tr < trials; tr++) bsum[b * KPP_MAX_TRIALS + tr] = pot[tr];
        }
        size_t best = cand_idx[0];
        double best_pot = INFINITY;
        for (size_t tr = 0; tr < trials; tr++) {
            double pot = 0.0;
            for (size_t b = 0; b < nb; b++) pot += bsum[b * KPP_MAX_TRIALS + tr];
            if (pot < best_pot) best_pot = pot, best = cand_idx[tr];
        }
        for (size_t t = 0; t < d; t++) C[j * d + t] = XC(best, t);
#pragma omp parallel for num_threads(threads) schedule(static)
        for (size_t i = 0; i < n; i++) {
            double q = 0.0;
            for (size_t t = 0; t < d; t++) {
                double v = XC(i, t) - C[j * d + t];
                q += v * v;
            }
            if (q < D2[i]) D2[i] = q;
        }
    }
    /* Lloyd iterations; distances ||x||^2 - 2 x.c + ||c||^2 by GEMM per chunk.
     * Stop when no label changes or the centres move less (in total squared
     * distance) than 1e-4 of the mean variance, as scikit-learn's KMeans. */
    double var_mean = 0.0;
    for (size_t t = 0; t < d; t++) var_mean += c->dvar[t] / (double)d;
    double shift_tol = 1e-4 * var_mean;
    for (size_t i = 0; i < n; i++) labels[i] = -1;
    int blas = lt_blas_single_begin();
    for (size_t it = 0; it < (c->o->kmeans_iter ? c->o->kmeans_iter : 1); it++) {
        size_t changed = 0;
        int oom = 0;
        memset(acc, 0, nb * k * (d + 1) * sizeof(double));
        double *cc = cand; /* ||c_j||^2, k <= n entries */
        for (size_t j = 0; j < k; j++) {
            double q = 0.0;
            for (size_t t = 0; t < d; t++) q += C[j * d + t] * C[j * d + t];
            cc[j] = q;
        }
#pragma omp parallel num_threads(threads) reduction(+ : changed)
        {
            double *xb = malloc(CHUNK * d * sizeof(double)), *G = malloc(CHUNK * k * sizeof(double));
            if (!xb || !G) {
#pragma omp atomic write
                oom = 1;
            }
#pragma omp for schedule(dynamic, 1)
            for (size_t b = 0; b < nb; b++) {
                if (!xb || !G) continue;
                double *a = acc + b * k * (d + 1);
                size_t hi = lt_block_begin(n, nb, b + 1);
                for (size_t r0 = lt_block_begin(n, nb, b); r0 < hi; r0 += CHUNK) {
                    size_t m = hi - r0 < CHUNK ? hi - r0 : CHUNK;
                    for (size_t i = 0; i < m; i++)
                        for (size_t t = 0; t < d; t++) xb[i * d + t] = XC(r0 + i, t);
                    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)k, (int)d, -2.0, xb, (int)d, C,
                                (int)d, 0.0, G, (int)k);
                    for (size_t i = 0; i < m; i++) {
                        size_t arg = 0;
                        double best = INFINITY, xx = 0.0;
                        for (size_t t = 0; t < d; t++) xx += xb[i * d + t] * xb[i * d + t];
                        for (size_t j = 0; j < k; j++) {
                            double q = G[i * k + j] + cc[j];
                            if (q < best) best = q, arg = j;
                        }
                        size_t row = r0 + i;
                        D2[row] = pos(best + xx);
                        if (labels[row] != (int32_t)arg) changed++;
                        labels[row] = (int32_t)arg;
                        double wi = WT(row);
                        a[arg * (d + 1) + d] += wi;
                        for (size_t t = 0; t < d; t++) a[arg * (d + 1) + t] += wi * xb[i * d + t];
                    }
                }
            }
            free(xb);
            free(G);
        }
        if (oom) {
            lt_blas_single_end(blas);
            st = lt_fail(LT_ERR_NOMEM, "out of memory in k-means");
            goto done;
        }
        for (size_t b = 1; b < nb; b++)
            for (size_t q = 0; q < k * (d + 1); q++) acc[q] += acc[b * k * (d + 1) + q];
        double moved = 0.0;
        for (size_t j = 0; j < k; j++) {
            double cnt = acc[j * (d + 1) + d];
            if (cnt > 0.0) {
                for (size_t t = 0; t < d; t++) {
                    double v = acc[j * (d + 1) + t] / cnt;
                    moved += (v - C[j * d + t]) * (v - C[j * d + t]);
                    C[j * d + t] = v;
                }
            } else {
                /* An empty cluster takes the sample farthest from its centre. */
                size_t far = 0;
                for (size_t i = 1; i < n; i++)
                    if (WT(i) > 0.0 && D2[i] > D2[far]) far = i;
                for (size_t t = 0; t < d; t++) C[j * d + t] = XC(far, t);
                D2[far] = 0.0;
                labels[far] = (int32_t)j;
                changed++;
                moved = INFINITY;
            }
        }
        if (changed == 0 || moved <= shift_tol) break;
    }
    lt_blas_single_end(blas);
#undef XC
#undef WT
done:
    free(C);
    free(D2);
    free(cand);
    free(cum);
    free(acc);
    free(bsum);
    return st;
}

/* One EM run from initialisation `run`; m must be created with the sizes. */
static lt_status em_run(fitctx *c, lt_gmm *m, size_t run, lt_gmm_trace *trace)
{
    const lt_gmm_options *o = c->o;
    size_t n = c->n, d = c->d, k = m->k;
    lt_status st = LT_OK;
    int32_t *labels = NULL;
    estep e;
    memset(&e, 0, sizeof e);
    pass p = {.X = c->X, .n = n, .d = d, .k = k, .w = c->w, .shift = c->shift, .cov = m->cov,
              .want_stats = 1, .nblocks = c->nblocks, .blocks = c->blocks, .threads = o->threads};
    lt_rng rng;
    lt_rng_stream(&rng, o->seed, run);
    m->reg_covar = o->reg_covar;
    m->n_repaired = 0;

    if (o->init == LT_GMM_INIT_MODEL) {
        const lt_gmm *im = o->init_model;
        memcpy(m->weights, im->weights, k * sizeof(double));
        for (size_t j = 0; j < k; j++)
            for (size_t t = 0; t < d; t++) m->means[j * d + t] = im->means[j * d + t] - c->shift[t];
        memcpy(m->covs, im->covs, cov_len(m->cov, k, d) * sizeof(double));
        if ((st = lt_gmm_prepare(m)) != LT_OK) {
            lt_fail_prefix(st, "initial model");
            goto done;
        }
    } else {
        if (o->init == LT_GMM_INIT_KMEANSPP) {
            labels = lt_malloc(n, sizeof(int32_t));
            if (!labels) {
                st = LT_ERR_NOMEM;
                goto done;
            }
            if ((st = kmeans(c, k, &rng, labels)) != LT_OK) goto done;
            p.mode = RESP_LABELS;
            p.labels = labels;
        } else {
            p.mode = RESP_RANDOM;
            p.seed = lt_rng_u64(&rng);
        }
        if ((st = run_pass(&p)) != LT_OK) goto done;
        stats_reduce(c->blocks, c->nblocks, m->cov, k, d);
        if ((st = mstep(m, c, 0)) != LT_OK) goto done;
    }

    double prev = -INFINITY;
    m->converged = 0;
    m->n_iter = 0;
    if (trace) trace->n = 0;
    for (size_t it = 1; it <= o->max_iter; it++) {
        if ((st = estep_init(&e, m, NULL, 1)) != LT_OK) goto done;
        p.mode = RESP_ESTEP;
        p.e = &e;
        p.logp = c->logp;
        if ((st = run_pass(&p)) != LT_OK) goto done;
        estep_free(&e);
        stats_reduce(c->blocks, c->nblocks, m->cov, k, d);
        double lb = c->blocks[0].loglik / c->blocks[0].weight;
        if (!isfinite(lb)) {
            st = lt_fail(LT_ERR_NUMERIC, "log-likelihood became %g at iteration %zu", lb, it);
            goto done;
        }
        if (trace) {
            if (trace->n == trace->cap) {
                size_t cap = trace->cap ? 2 * trace->cap : 64;
                double *nl = realloc(trace->loglik, cap * sizeof(double));
                if (!nl) {
                    st = lt_fail(LT_ERR_NOMEM, "out of memory for the EM trace");
                    goto done;
                }
                trace->loglik = nl;
                trace->cap = cap;
            }
            trace->loglik[trace->n++] = lb;
        }
        if ((st = mstep(m, c, 1)) != LT_OK) goto done;
        m->n_iter = it;
        m->lower_bound = lb;
        if (o->progress) {
            char stage[64];
            snprintf(stage, sizeof stage, "EM run %zu/%zu", run + 1, o->n_init);
            o->progress(o->progress_ud, stage, it, o->max_iter, lb);
        }
        if (fabs(lb - prev) < o->tol) {
            m->converged = 1;
            break;
        }
        prev = lb;
    }
done:
    estep_free(&e);
    free(labels);
    return st;
}

static lt_status check_data(const double *X, size_t n, size_t d, const double *w, double *total_w, size_t *positive)
{
    double tw = 0.0;
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t t = 0; t < d; t++)
            if (!isfinite(X[i * d + t]))
                return lt_fail(LT_ERR_NUMERIC, "row %zu, column %zu: value is not a finite number", i + 1, t + 1);
        if (w) {
            if (!(w[i] >= 0.0) || !isfinite(w[i]))
                return lt_fail(LT_ERR_INVALID, "sample weight %zu is %g (expected a finite number >= 0)", i + 1, w[i]);
            tw += w[i];
            pos += w[i] > 0.0;
        }
    }
    *total_w = w ? tw : (double)n;
    *positive = w ? pos : n;
    return LT_OK;
}

lt_status lt_gmm_fit(const lt_gmm_options *o, const double *X, size_t n, size_t d, const double *w, lt_gmm **out)
{
    *out = NULL;
    if (n == 0) return lt_fail(LT_ERR_INVALID, "no samples to fit");
    if (d == 0) return lt_fail(LT_ERR_INVALID, "samples have no features");
    if (o->k == 0) return lt_fail(LT_ERR_INVALID, "k must be at least 1");
    if (o->n_init == 0) return lt_fail(LT_ERR_INVALID, "n_init must be at least 1");
    if (!(o->tol >= 0.0)) return lt_fail(LT_ERR_INVALID, "tol must be >= 0 (got %g)", o->tol);
    if (!(o->reg_covar >= 0.0) || !isfinite(o->reg_covar))
        return lt_fail(LT_ERR_INVALID, "reg_covar must be >= 0 (got %g)", o->reg_covar);
    if (o->init == LT_GMM_INIT_MODEL) {
        const lt_gmm *im = o->init_model;
        if (!im) return lt_fail(LT_ERR_INVALID, "initialisation from a model needs the model");
        if (im->k != o->k || im->d != d || im->cov != o->cov)
            return lt_fail(LT_ERR_DIM,
                           "initial model has k = %zu, d = %zu, %s covariance; the fit asks for k = %zu, d = %zu, %s",
                           im->k, im->d, lt_cov_type_name(im->cov), o->k, d, lt_cov_type_name(o->cov));
    }
    double total_w = 0.0;
    size_t positive = 0;
    LT_CHECK(check_data(X, n, d, w, &total_w, &positive));
    if (!(total_w > 0.0)) return lt_fail(LT_ERR_INVALID, "sample weights sum to zero");
    if (o->k > positive)
        return lt_fail(LT_ERR_INVALID, "k = %zu exceeds the number of samples (%zu)", o->k, positive);

    lt_status st = LT_OK;
    lt_gmm *best = NULL, *cur = NULL;
    lt_gmm_trace tr = {0};
    fitctx c = {.X = X, .n = n, .d = d, .w = w, .total_w = total_w, .o = o};
    c.nblocks = lt_block_count(n, chunk_rows(o->cov), MAX_BLOCKS);
    /* Each block keeps its own statistics: bound their memory (256 MiB) by
     * the model's shape, never by the thread count. */
    size_t per_block = (o->k * d + sxx_len(o->cov, o->k, d) + o->k) * sizeof(double);
    size_t cap = ((size_t)256 << 20) / (per_block ? per_block : 1);
    if (c.nblocks > cap) c.nblocks = cap ? cap : 1;
    c.shift = lt_calloc(d, sizeof(double));
    c.dvar = lt_calloc(d, sizeof(double));
    c.xtx = o->cov == LT_COV_TIED ? lt_calloc(d * d, sizeof(double)) : NULL;
    c.logp = lt_calloc(n, sizeof(double));
    c.blocks = stats_alloc(c.nblocks, o->cov, o->k, d);
    if (!c.shift || !c.dvar || !c.logp || !c.blocks || (o->cov == LT_COV_TIED && !c.xtx)) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    /* Weighted mean and variance, summed in a fixed order. */
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < d; t++) c.shift[t] += (w ? w[i] : 1.0) * X[i * d + t];
    for (size_t t = 0; t < d; t++) c.shift[t] /= total_w;
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < d; t++) {
            double v = X[i * d + t] - c.shift[t];
            c.dvar[t] += (w ? w[i] : 1.0) * v * v;
        }
    for (size_t t = 0; t < d; t++) c.dvar[t] /= total_w;
    if (c.xtx) {
        double *row = lt_calloc(d, sizeof(double));
        if (!row) {
            st = LT_ERR_NOMEM;
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            double wi = w ? w[i] : 1.0;
            for (size_t t = 0; t < d; t++) row[t] = X[i * d + t] - c.shift[t];
            for (size_t a = 0; a < d; a++)
                for (size_t b = a; b < d; b++) c.xtx[a * d + b] += wi * row[a] * row[b];
        }
        for (size_t a = 0; a < d; a++)
            for (size_t b = 0; b < a; b++) c.xtx[a * d + b] = c.xtx[b * d + a];
        free(row);
    }

    size_t runs = o->init == LT_GMM_INIT_MODEL ? 1 : o->n_init;
    for (size_t run = 0; run < runs; run++) {
        if ((st = lt_gmm_create(o->k, d, o->cov, &cur)) != LT_OK) goto done;
        if ((st = em_run(&c, cur, run, o->trace ? &tr : NULL)) != LT_OK) goto done;
        cur->best_init = run;
        if (!best || cur->lower_bound > best->lower_bound) {
            lt_gmm_free(best);
            best = cur;
            if (o->trace) {
                free(o->trace->loglik);
                *o->trace = tr;
                tr = (lt_gmm_trace){0};
            }
        } else {
            lt_gmm_free(cur);
        }
        cur = NULL;
    }
    /* Back to the data's coordinates. */
    for (size_t j = 0; j < best->k; j++)
        for (size_t t = 0; t < d; t++) best->means[j * d + t] += c.shift[t];
    best->train_weight = total_w;
    best->train_n = n;
    best->tol = o->tol;
    best->max_iter = o->max_iter;
    best->n_init = runs;
    best->seed = o->seed;
    best->init = o->init;
    *out = best;
    best = NULL;
done:
    lt_gmm_free(best);
    lt_gmm_free(cur);
    free(tr.loglik);
    free(c.shift);
    free(c.dvar);
    free(c.xtx);
    free(c.logp);
    stats_free(c.blocks, c.nblocks);
    return st;
}

/* --------------------------------------------------- scoring, sampling */

static void mixture_mean(const lt_gmm *m, double *shift)
{
    for (size_t t = 0; t < m->d; t++) {
        double s = 0.0;
        for (size_t j = 0; j < m->k; j++) s += m->weights[j] * m->means[j * m->d + t];
        shift[t] = s;
    }
}

lt_status lt_gmm_infer(const lt_gmm *m, const double *X, size_t n, int threads, double *resp, size_t *labels,
                       double *logp)
{
    if (n == 0) return LT_OK;
    lt_status st;
    double *shift = lt_calloc(m->d, sizeof(double));
    double *R = resp;
    if (!shift) return LT_ERR_NOMEM;
    if (!R && labels) {
        R = lt_malloc(n * m->k, sizeof(double));
        if (!R) {
            free(shift);
            return LT_ERR_NOMEM;
        }
    }
    /* Centre on the mixture's mean: the same numerical benefit as in fit. */
    mixture_mean(m, shift);
    estep e;
    if ((st = estep_init(&e, m, shift, 1)) != LT_OK) goto done;
    pass p = {.X = X, .n = n, .d = m->d, .k = m->k, .shift = shift, .cov = m->cov, .mode = RESP_ESTEP,
              .e = &e, .logp = logp, .resp = R, .nblocks = lt_block_count(n, chunk_rows(m->cov), MAX_BLOCKS), .threads = threads};
    st = run_pass(&p);
    estep_free(&e);
    if (st == LT_OK && p.nonfinite) { /* the pass found one; say where */
        for (size_t i = 0; i < n * m->d; i++)
            if (!isfinite(X[i])) {
                st = lt_fail(LT_ERR_NUMERIC, "row %zu, column %zu: value is not a finite number", i / m->d + 1,
                             i % m->d + 1);
                goto done;
            }
        st = lt_fail(LT_ERR_NUMERIC, "values too large to score (they overflow once centred on the model)");
        goto done;
    }
    if (st == LT_OK && labels)
        for (size_t i = 0; i < n; i++) {
            size_t arg = 0;
            for (size_t j = 1; j < m->k; j++)
                if (R[i * m->k + j] > R[i * m->k + arg]) arg = j;
            labels[i] = arg;
        }
done:
    if (R != resp) free(R);
    free(shift);
    return st;
}

lt_status lt_gmm_score_samples(const lt_gmm *m, const double *X, size_t n, int threads, double *logp)
{
    return lt_gmm_infer(m, X, n, threads, NULL, NULL, logp);
}

lt_status lt_gmm_sample(const lt_gmm *m, size_t n, uint64_t seed, double *X, size_t *labels)
{
    size_t d = m->d, k = m->k;
    size_t nl = m->cov == LT_COV_FULL ? k * d * d : m->cov == LT_COV_TIED ? d * d : 0;
    double *L = nl ? lt_calloc(nl, sizeof(double)) : NULL;
    double *z = lt_calloc(d, sizeof(double));
    if ((nl && !L) || !z) {
        free(L);
        free(z);
        return LT_ERR_NOMEM;
    }
    size_t nmat = m->cov == LT_COV_FULL ? k : m->cov == LT_COV_TIED ? 1 : 0;
    for (size_t j = 0; j < nmat; j++) {
        memcpy(L + j * d * d, m->covs + j * d * d, d * d * sizeof(double));
        if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', (lapack_int)d, L + j * d * d, (lapack_int)d) != 0) {
            free(L);
            free(z);
            return lt_fail(LT_ERR_NUMERIC, "component %zu: covariance is not positive definite", j);
        }
    }
    lt_rng rng;
    lt_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++) {
        size_t j = lt_rng_categorical(&rng, m->weights, k);
        if (labels) labels[i] = j;
        for (size_t t = 0; t < d; t++) z[t] = lt_rng_normal(&rng);
        double *x = X + i * d;
        const double *mu = m->means + j * d;
        for (size_t a = 0; a < d; a++) {
            double v = mu[a];
            switch (m->cov) {
            case LT_COV_FULL:
            case LT_COV_TIED: {
                const double *Lj = L + (m->cov == LT_COV_FULL ? j * d * d : 0);
                for (size_t b = 0; b <= a; b++) v += Lj[a * d + b] * z[b];
                break;
            }
            case LT_COV_DIAG: v += sqrt(m->covs[j * d + a]) * z[a]; break;
            case LT_COV_SPHERICAL: v += sqrt(m->covs[j]) * z[a]; break;
            }
            x[a] = v;
        }
    }
    free(L);
    free(z);
    return LT_OK;
}

size_t lt_gmm_n_parameters(const lt_gmm *m)
{
    size_t k = m->k, d = m->d, cp = 0;
    switch (m->cov) {
    case LT_COV_FULL: cp = k * d * (d + 1) / 2; break;
    case LT_COV_DIAG: cp = k * d; break;
    case LT_COV_SPHERICAL: cp = k; break;
    case LT_COV_TIED: cp = d * (d + 1) / 2; break;
    }
    return cp + k * d + (k - 1);
}

lt_status lt_gmm_bic(const lt_gmm *m, const double *X, size_t n, int threads, double *bic, double *aic)
{
    if (n == 0) return lt_fail(LT_ERR_INVALID, "no samples for BIC");
    double *lp = lt_malloc(n, sizeof(double));
    if (!lp) return LT_ERR_NOMEM;
    lt_status st = lt_gmm_score_samples(m, X, n, threads, lp);
    if (st == LT_OK) {
        double ll = 0.0;
        for (size_t i = 0; i < n; i++) ll += lp[i];
        double p = (double)lt_gmm_n_parameters(m);
        if (bic) *bic = -2.0 * ll + p * log((double)n);
        if (aic) *aic = -2.0 * ll + 2.0 * p;
    }
    free(lp);
    return st;
}

/* ------------------------------------------- kernels for other families */

lt_status lt_gmm_logjoint(const lt_gmm *m, const double *X, size_t n, int threads, int with_weights, double *L)
{
    if (n == 0) return LT_OK;
    double *shift = lt_calloc(m->d, sizeof(double));
    if (!shift) return LT_ERR_NOMEM;
    mixture_mean(m, shift);
    estep e;
    lt_status st = estep_init(&e, m, shift, with_weights);
    if (st == LT_OK) {
        pass p = {.X = X, .n = n, .d = m->d, .k = m->k, .shift = shift, .cov = m->cov, .mode = RESP_ESTEP,
                  .e = &e, .logjoint = L, .nblocks = lt_block_count(n, chunk_rows(m->cov), MAX_BLOCKS),
                  .threads = threads};
        st = run_pass(&p);
        estep_free(&e);
    }
    free(shift);
    return st;
}

lt_status lt_gmm_mstep_resp(lt_gmm *m, const double *X, size_t n, const double *R, int threads, size_t *n_repaired)
{
    size_t k = m->k, d = m->d;
    if (n == 0) return lt_fail(LT_ERR_INVALID, "no samples for the M-step");
    lt_status st = LT_OK;
    lt_gmm_options o;
    lt_gmm_options_default(&o);
    o.k = k, o.cov = m->cov, o.threads = threads, o.reg_covar = m->reg_covar;
    fitctx c = {.X = X, .n = n, .d = d, .o = &o};
    c.nblocks = lt_block_count(n, chunk_rows(m->cov), MAX_BLOCKS);
    c.shift = lt_calloc(d, sizeof(double));
    c.dvar = lt_calloc(d, sizeof(double));
    c.xtx = m->cov == LT_COV_TIED ? lt_calloc(d * d, sizeof(double)) : NULL;
    double *rw = lt_calloc(n, sizeof(double)); /* each sample's total weight */
    c.blocks = stats_alloc(c.nblocks, m->cov, k, d);
    if (!c.shift || !c.dvar || !rw || !c.blocks || (m->cov == LT_COV_TIED && !c.xtx)) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    double tw = 0.0;
    for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        for (size_t j = 0; j < k; j++) s += R[i * k + j];
        rw[i] = s;
        tw += s;
    }
    if (!(tw > 0.0)) {
        st = lt_fail(LT_ERR_NUMERIC, "the M-step weights sum to zero");
        goto done;
    }
    c.w = rw;
    c.total_w = tw;
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < d; t++) c.shift[t] += rw[i] * X[i * d + t];
    for (size_t t = 0; t < d; t++) c.shift[t] /= tw;
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < d; t++) {
            double v = X[i * d + t] - c.shift[t];
            c.dvar[t] += rw[i] * v * v;
            if (c.xtx)
                for (size_t b = t; b < d; b++) c.xtx[t * d + b] += rw[i] * v * (X[i * d + b] - c.shift[b]);
        }
    for (size_t t = 0; t < d; t++) c.dvar[t] /= tw;
    if (c.xtx)
        for (size_t a = 0; a < d; a++)
            for (size_t b = 0; b < a; b++) c.xtx[a * d + b] = c.xtx[b * d + a];
    pass p = {.X = X, .n = n, .d = d, .k = k, .shift = c.shift, .cov = m->cov, .mode = RESP_GIVEN, .given = R,
              .want_stats = 1, .nblocks = c.nblocks, .blocks = c.blocks, .threads = threads};
    if ((st = run_pass(&p)) != LT_OK) goto done;
    stats_reduce(c.blocks, c.nblocks, m->cov, k, d);
    size_t before = m->n_repaired;
    if ((st = mstep(m, &c, 0)) != LT_OK) goto done;
    if (n_repaired) *n_repaired += m->n_repaired - before;
    for (size_t j = 0; j < k; j++)
        for (size_t t = 0; t < d; t++) m->means[j * d + t] += c.shift[t];
done:
    free(c.shift);
    free(c.dvar);
    free(c.xtx);
    free(rw);
    stats_free(c.blocks, c.nblocks);
    return st;
}
