/* Restricted Boltzmann machines: pieces shared by the RBM file, its family
 * glue, the deep models built from RBMs, and the tests (not installed). */
#ifndef LT_RBM_INTERNAL_H
#define LT_RBM_INTERNAL_H

#include "latent/rbm.h"

#include "latent/rng.h"

#include <cblas.h>
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

static inline float lt_sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

static inline uint64_t lt_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* The stream of draws for `row` at step `step` of a computation seeded by
 * `seed`: a function of the three alone, never of the thread. */
static inline void lt_row_rng(lt_rng *r, uint64_t seed, uint64_t step, uint64_t row)
{
    lt_rng_seed(r, lt_mix64(lt_mix64(lt_mix64(seed + 0x9e3779b97f4a7c15ULL) ^ step) + row));
}

static inline float lt_uniformf(lt_rng *r) { return (float)(lt_rng_u64_inline(r) >> 40) * 0x1p-24f; }

/* The trainer's binary draws out[j] = [u_j < p[j]] of a row of n units
 * (out may be p). The uniforms come from eight lanes, lane q the stream
 * (step, 8 row + q) drawing for j = q, q + 8, q + 16, ... in turn, so that
 * a vector unit computes eight at once (rbm_sparse.c does, with the same
 * numbers). */
#define LT_RBM_LANES 8
static inline void lt_row_lanes(lt_rng g[LT_RBM_LANES], uint64_t seed, uint64_t step, uint64_t row)
{
    for (uint64_t q = 0; q < LT_RBM_LANES; q++) lt_row_rng(&g[q], seed, step, LT_RBM_LANES * row + q);
}
static inline void lt_draw_row(const float *p, float *out, size_t n, uint64_t seed, uint64_t step, uint64_t row)
{
    lt_rng g[LT_RBM_LANES];
    lt_row_lanes(g, seed, step, row);
    for (size_t j = 0; j < n; j++) out[j] = lt_uniformf(&g[j % LT_RBM_LANES]) < p[j] ? 1.0f : 0.0f;
}

/* Draws of hidden units come in blocks of LT_RBM_HBLOCK units, each block of
 * each row with its own stream keyed by (step, row * blocks + block): the
 * sparse trainer splits the hidden units among threads by these blocks. */
#define LT_RBM_HBLOCK 256
static inline size_t lt_rbm_hblocks(size_t nh) { return (nh + LT_RBM_HBLOCK - 1) / LT_RBM_HBLOCK; }

/* x[j] = sigmoid(x[j] + bias[j]) for j < n, vectorised (libmvec's expf). */
void lt_sigmoid_row(float *x, const float *bias, size_t n);

/* C (M x N) = alpha op(A) op(B) + beta C, row-major (ta, tb: transpose A,
 * B), as blocks of columns (or of rows when C is narrow) fixed by the shape,
 * each one single-threaded sgemm. Inside a parallel region the blocks are
 * shared among the team (an orphaned `omp for`, so every thread must call
 * it); outside, one thread does them all. The bits do not depend on the
 * thread count. OpenBLAS must be single-threaded (lt_blas_single_begin). */
void lt_sgemm_blocks(int ta, int tb, size_t M, size_t N, size_t K, float alpha, const float *A, size_t lda,
                     const float *B, size_t ldb, float beta, float *C, size_t ldc);

/* Single-threaded sgemm (row-major), for work already split by rows. */
static inline void lt_sgemm1(int ta, int tb, size_t M, size_t N, size_t K, float alpha, const float *A, size_t lda,
                             const float *B, size_t ldb, float beta, float *C, size_t ldc)
{
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)M, (int)N,
                (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

/* Training on binary data (rbm_sparse.c): with Bernoulli visible units and
 * every value of x 0 or 1, the trainer computes the products with visible
 * rows from their on-bits (the same update as the GEMM path, the same
 * random draws). lt_rbm_sparse_batch is called by every thread of the team
 * (`threads` of them at most; thread 0 always), like the GEMM path's batch. */
typedef struct lt_rbm_sparse lt_rbm_sparse;
/* *out NULL (and LT_OK) when the path does not apply: visible units not
 * Bernoulli, or a value of x neither 0 nor 1. x: the n training rows, kept
 * as lists of on-bits. */
lt_status lt_rbm_sparse_new(const lt_rbm *m, const lt_rbm_options *o, const float *x, size_t n, size_t bmax,
                            int threads, lt_rbm_sparse **out);
void lt_rbm_sparse_batch(lt_rbm_sparse *s, lt_rbm *m, const lt_rbm_options *o, const size_t *idx,
                         size_t bn, double lr, double mom, double mom_next, uint64_t step);
/* After a parallel region of batches: the visible biases back into m (the
 * threads keep their own copies while training). */
void lt_rbm_sparse_sync(lt_rbm_sparse *s, lt_rbm *m);
void lt_rbm_sparse_free(lt_rbm_sparse *s);
/* The portable kernels from now on, even where the AVX-512 ones would run
 * (for tests: they are the only ones on machines without AVX-512). */
void lt_rbm_sparse_portable(lt_rbm_sparse *s);

/* lt_rbm_train with the path chosen: LT_RBM_PATH_AUTO (the sparse path when
 * it applies), or one of them forced (the sparse one refused with
 * LT_ERR_INVALID when the data are not binary); LT_RBM_PATH_SPARSE_PORTABLE
 * is the sparse path with its portable kernels even where the AVX-512 ones
 * would run. For tests. */
enum { LT_RBM_PATH_AUTO = 0, LT_RBM_PATH_GEMM, LT_RBM_PATH_SPARSE, LT_RBM_PATH_SPARSE_PORTABLE };
lt_status lt_rbm_train_path(lt_rbm *m, const lt_rbm_options *o, const float *x, size_t n, int path);

/* AIS pieces shared by the RBM and the deep models (rbm.c): the inverse
 * temperatures beta_0 = 0 < .. < beta_K = 1 (K + 1 values, spaced as
 * Salakhutdinov and Murray), and the estimate from M runs' log weights with
 * log Z_A of the base model: log Z, its standard error (delta method), the
 * effective sample size. LT_ERR_NUMERIC when no weight is finite. */
void lt_ais_beta_grid(size_t K, double *beta);
lt_status lt_ais_summarize(const double *logw, size_t M, size_t K, double log_za, lt_ais_result *res);

/* Data for a Boltzmann machine (rbm_family.c, shared by the deep families).
 * The binarisation named by --binarize: "none", "stochastic", "threshold"
 * (0.5) or a threshold in (0, 1), written back canonically into `canon`. */
lt_status lt_bm_parse_binarize(const char *s, double *thr, int *stoch, char canon[32]);
/* The rows of a dataset as float32 (n x d, owned by the caller): uint8
 * pixels become value / 255, then the binarisation applies (a threshold:
 * v > t; stochastic: 1 with probability v, a stream per row from `seed`).
 * With expect_cols > 0 the width must match (the message names image sizes). */
lt_status lt_bm_prepare(const lt_dataset *D, const char *binarize, uint64_t seed, size_t expect_cols, float **out,
                        size_t *n_out, size_t *d_out);

/* ---- shared by the Boltzmann families' command-line glue (rbm_family.c) */

/* The rows for score or infer: binarised as the command's --binarize says,
 * else as the model was (`model_binarize`), stochastic draws from the
 * command's seed. */
lt_status lt_bm_prepare_for(const lt_dataset *D, const lt_kv *opts, size_t n_opts, const char *model_binarize,
                            size_t expect_cols, float **out, size_t *n_out);
/* The model file's "binarize" metadata (absent: none) into canon; a bad
 * value is LT_ERR_FORMAT naming the file. */
lt_status lt_bm_meta_binarize(const lt_st_file *f, const char *path, char canon[32]);
/* The training options common to every Boltzmann family (--visible, --cd,
 * --pcd, --epochs, --batch, --lr, --schedule, --momentum, --weight-decay,
 * --sparsity, --sparsity-cost, --learn-variance, --variance) with the fit
 * controls; --hidden is the family's. */
lt_status lt_rbm_options_from_kv(const lt_kv *opts, size_t n_opts, const lt_fit_ctl *ctl, lt_rbm_options *out);
/* "seed" of a score/infer call (0 when absent). */
uint64_t lt_rbm_opt_seed(const lt_kv *opts, size_t n);
/* Samples drawn with visible layer m written as .csv/.npy rows or a PNG grid
 * (m's image shape, else a square one; Gaussian units shown around the
 * data means). */
lt_status lt_rbm_write_samples(const lt_rbm *m, const lt_dataset *D, const char *path);

/* The option specs every Boltzmann family shares (see lt_rbm_options_from_kv). */
#define LT_BM_TRAIN_OPTIONS \
    {"visible", 0, LT_OPT_STRING, "bernoulli", "TYPE", "visible units: bernoulli (values in [0, 1]) or gaussian (real)", LT_OPT_FIT}, \
    {"cd", 0, LT_OPT_INT, "1", "K", "Gibbs steps per update (CD-K, or PCD-K with --pcd)", LT_OPT_FIT}, \
    {"pcd", 0, LT_OPT_FLAG, NULL, "", "persistent chains (PCD / stochastic maximum likelihood) instead of CD", LT_OPT_FIT}, \
    {"epochs", 0, LT_OPT_INT, "10", "N", "passes over the data", LT_OPT_FIT}, \
    {"batch", 0, LT_OPT_INT, "20", "B", "mini-batch size", LT_OPT_FIT}, \
    {"lr", 0, LT_OPT_REAL, NULL, "R", "learning rate (default 0.1; Gaussian visible units 0.01)", LT_OPT_FIT}, \
    {"schedule", 0, LT_OPT_STRING, "constant", "S", "learning rate schedule: constant, or linear (decays to 0)", LT_OPT_FIT}, \
    {"momentum", 0, LT_OPT_REAL, NULL, "M", "momentum (0.5 for the first 5 epochs, then M); default 0.9 with CD, 0 with --pcd", LT_OPT_FIT}, \
    {"weight-decay", 0, LT_OPT_REAL, "1e-4", "L", "L2 penalty on the weights", LT_OPT_FIT}, \
    {"sparsity", 0, LT_OPT_REAL, "0", "P", "target mean activation of the hidden units (0: no sparsity penalty)", LT_OPT_FIT}, \
    {"sparsity-cost", 0, LT_OPT_REAL, "0.1", "C", "weight of the sparsity penalty", LT_OPT_FIT}, \
    {"learn-variance", 0, LT_OPT_FLAG, NULL, "", "Gaussian units: learn each visible variance", LT_OPT_FIT}, \
    {"variance", 0, LT_OPT_REAL, NULL, "S", "Gaussian units: the (initial) variance (default: each feature's data variance, at least 1/100 of their mean)", LT_OPT_FIT}, \
    {"binarize", 0, LT_OPT_STRING, NULL, "HOW", \
     "none, stochastic (1 with probability v) or a threshold T (v > T); default none; later commands: the model's", \
     LT_OPT_DATA}
#define LT_BM_SAMPLE_OPTIONS \
    {"gibbs-steps", 0, LT_OPT_INT, "1000", "N", "sample: block Gibbs steps per chain", LT_OPT_SAMPLE}, \
    {"mean", 0, LT_OPT_FLAG, NULL, "", "sample: write E[v | h] of the last step instead of a draw (smoother pictures)", \
     LT_OPT_SAMPLE}

#endif
