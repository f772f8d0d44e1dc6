/* Restricted Boltzmann machines: training by CD-k / PCD, free energies,
 * exact and AIS partition functions, pseudo-likelihood, sampling.
 *
 * The math is in include/latent/rbm.h. References: Hinton (2002), "Training
 * products of experts by minimizing contrastive divergence"; Tieleman
 * (2008), "Training restricted Boltzmann machines using approximations to
 * the likelihood gradient"; Hinton (2010), "A practical guide to training
 * restricted Boltzmann machines"; Salakhutdinov and Murray (2008), "On the
 * quantitative analysis of deep belief networks"; Cho, Ilin and Raiko
 * (2011), "Improved learning of Gaussian-Bernoulli restricted Boltzmann
 * machines".
 *
 * Layout: a mini-batch is one matrix of rows; the data rows and the chain
 * rows of an update sit on top of each other in one buffer, so the weight
 * gradient <v h>_data - <v h>_model is a single GEMM over both (the chain
 * rows' hidden probabilities negated and scaled). Every GEMM is cut into
 * column (or row) blocks fixed by its shape and run as one single-threaded
 * sgemm per block, so the bits do not depend on the thread count; every row
 * of random draws has its own stream, keyed by (seed, step, row), and rows
 * of hidden draws one per block of LT_RBM_HBLOCK units. The binary draws
 * of training take a row's uniforms from eight interleaved lanes
 * (lt_draw_row), which a vector unit computes at once.
 *
 * Binary data with Bernoulli visible units train by rbm_sparse.c instead:
 * the same update and the same draws, the products with the (binary)
 * visible rows computed from their on-bits.
 */
#include "rbm_internal.h"

#include "internal.h"
#include "latent/rng.h"
#include "par.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define LOG_VAR_MIN (-9.2103404f) /* variances stay within [1e-4, 1e4] */
#define LOG_VAR_MAX (9.2103404f)
#define ROW_CHUNK 128
#define LOG_2PI 1.8378770664093453
#define LN2 0.6931471805599453             /* rows per block in scoring and inference */

const char *lt_rbm_visible_name(lt_rbm_visible v) { return v == LT_RBM_GAUSSIAN ? "gaussian" : "bernoulli"; }

lt_status lt_rbm_visible_parse(const char *s, lt_rbm_visible *out)
{
    if (s && strcmp(s, "bernoulli") == 0) *out = LT_RBM_BERNOULLI;
    else if (s && strcmp(s, "gaussian") == 0) *out = LT_RBM_GAUSSIAN;
    else return lt_fail(LT_ERR_INVALID, "expected bernoulli or gaussian visible units, found '%s'", s ? s : "");
    return LT_OK;
}

/* ------------------------------------------------------------ small pieces */

/* C (M x N) = alpha op(A) op(B) + beta C, row-major, as blocks of columns
 * (or of rows when C is narrow) fixed by the shape; each block is one
 * single-threaded sgemm. Called inside a parallel region, the blocks are
 * shared among the team (an orphaned `omp for`); outside, one thread does
 * them all. */
void lt_sgemm_blocks(int ta, int tb, size_t M, size_t N, size_t K, float alpha, const float *A, size_t lda,
                  const float *B, size_t ldb, float beta, float *C, size_t ldc)
{
    size_t nb = 1;
    int bycol = 1;
    if (N >= 192) nb = (N + 64) / 128;
    else if (M >= 256) nb = (M + 64) / 128, bycol = 0;
    CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
#pragma omp for schedule(static)
    for (size_t blk = 0; blk < nb; blk++) {
        if (bycol) {
            size_t j0 = N * blk / nb, j1 = N * (blk + 1) / nb;
            const float *Bb = tb ? B + j0 * ldb : B + j0;
            cblas_sgemm(CblasRowMajor, TA, TB, (int)M, (int)(j1 - j0), (int)K, alpha, A, (int)lda, Bb, (int)ldb,
                        beta, C + j0, (int)ldc);
        } else {
            size_t i0 = M * blk / nb, i1 = M * (blk + 1) / nb;
            const float *Ab = ta ? A + i0 : A + i0 * lda;
            cblas_sgemm(CblasRowMajor, TA, TB, (int)(i1 - i0), (int)N, (int)K, alpha, Ab, (int)lda, B, (int)ldb,
                        beta, C + i0 * ldc, (int)ldc);
        }
    }
}

/* The visible rows as the hidden units see them: v / s for Gaussian units
 * (into `scaled`), v itself for Bernoulli ones. */
static const float *vis_input(const lt_rbm *m, const float *v, size_t rows, float *scaled)
{
    if (m->visible != LT_RBM_GAUSSIAN) return v;
    size_t nv = m->nv;
    for (size_t r = 0; r < rows; r++)
        for (size_t i = 0; i < nv; i++) scaled[r * nv + i] = v[r * nv + i] * expf(-m->logvar[i]);
    return scaled;
}

/* Vector expf from glibc's libmvec for the sigmoids (within 4 ulp); the
 * declaration only adds the SIMD variants to the standard function. Hot
 * loops are compiled for AVX-512, AVX2 and any x86-64 and the loader picks
 * one: the choice is per machine, never per thread count. */
#pragma omp declare simd notinbranch
extern float expf(float);
#if defined(__x86_64__) && defined(__GNUC__) && !defined(LT_NO_CLONES)
#define LT_HOT __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LT_HOT
#endif

LT_HOT static void sigmoid_row(float *x, const float *bias, size_t n)
{
#pragma omp simd
    for (size_t j = 0; j < n; j++) x[j] = 1.0f / (1.0f + expf(-(x[j] + bias[j])));
}

/* A plain function around the clones: clang names a multiversioned
 * external function's entry point apart, so other files could not call it. */
void lt_sigmoid_row(float *x, const float *bias, size_t n) { sigmoid_row(x, bias, n); }

/* ------------------------------------------------------------ objects */

void lt_rbm_options_default(lt_rbm_options *o)
{
    memset(o, 0, sizeof *o);
    o->n_hidden = 64;
    o->visible = LT_RBM_BERNOULLI;
    o->cd_k = 1;
    o->batch = 20;
    o->epochs = 10;
    o->lr = 0.1;
    o->schedule = LT_RBM_LR_CONSTANT;
    o->momentum = 0.9;
    o->initial_momentum = 0.5;
    o->momentum_epochs = 5;
    o->weight_decay = 1e-4;
    o->sparsity_cost = 0.1;
    o->sparsity_decay = 0.95;
    o->init_std = 0.01;
}

lt_status lt_rbm_create(size_t nv, size_t nh, lt_rbm_visible visible, lt_rbm **out)
{
    *out = NULL;
    int ok = 1;
    size_t nw = lt_mul_size(nv, nh, &ok);
    if (nv == 0 || nh == 0 || !ok || nw > ((size_t)1 << 31) || nv > (1u << 24) || nh > (1u << 24))
        return lt_fail(LT_ERR_INVALID, "an RBM of %zu visible and %zu hidden units is not a valid size", nv, nh);
    lt_rbm *m = lt_calloc(1, sizeof *m);
    if (!m) return LT_ERR_NOMEM;
    m->nv = nv, m->nh = nh, m->visible = visible;
    m->w = lt_calloc(nw, sizeof(float));
    m->b = lt_calloc(nv, sizeof(float));
    m->c = lt_calloc(nh, sizeof(float));
    m->data_mean = lt_calloc(nv, sizeof(float));
    if (visible == LT_RBM_GAUSSIAN) m->logvar = lt_calloc(nv, sizeof(float));
    if (!m->w || !m->b || !m->c || !m->data_mean || (visible == LT_RBM_GAUSSIAN && !m->logvar)) {
        lt_rbm_free(m);
        return LT_ERR_NOMEM;
    }
    if (visible == LT_RBM_BERNOULLI)
        for (size_t i = 0; i < nv; i++) m->data_mean[i] = 0.5f;
    *out = m;
    return LT_OK;
}

void lt_rbm_free(lt_rbm *m)
{
    if (!m) return;
    free(m->w);
    free(m->b);
    free(m->c);
    free(m->logvar);
    free(m->data_mean);
    free(m);
}

lt_status lt_rbm_copy(const lt_rbm *m, lt_rbm **out)
{
    lt_rbm *r;
    LT_CHECK(lt_rbm_create(m->nv, m->nh, m->visible, &r));
    float *w = r->w, *b = r->b, *c = r->c, *lv = r->logvar, *dm = r->data_mean;
    *r = *m;
    r->w = w, r->b = b, r->c = c, r->logvar = lv, r->data_mean = dm;
    memcpy(w, m->w, m->nv * m->nh * sizeof(float));
    memcpy(b, m->b, m->nv * sizeof(float));
    memcpy(c, m->c, m->nh * sizeof(float));
    memcpy(dm, m->data_mean, m->nv * sizeof(float));
    if (lv) memcpy(lv, m->logvar, m->nv * sizeof(float));
    *out = r;
    return LT_OK;
}

/* Every value finite, and in [0, 1] for Bernoulli units; the message names
 * the first offending row and column (1-based, as the readers count). */
static lt_status check_data(const lt_rbm *m, const float *x, size_t n)
{
    size_t nv = m->nv, bad = (size_t)-1;
    int bern = m->visible == LT_RBM_BERNOULLI;
    for (size_t t = 0; t < n * nv; t++) {
        float v = x[t];
        if (!isfinite(v) || (bern && (v < 0.0f || v > 1.0f))) {
            bad = t;
            break;
        }
    }
    if (bad == (size_t)-1) return LT_OK;
    float v = x[bad];
    if (!isfinite(v))
        return lt_fail(LT_ERR_NUMERIC, "row %zu, column %zu: %s is not a number the model can use", bad / nv + 1,
                       bad % nv + 1, isnan(v) ? "NaN" : "infinity");
    return lt_fail(LT_ERR_INVALID,
                   "row %zu, column %zu: %g is outside [0, 1], which Bernoulli visible units need "
                   "(rescale or binarize the data, or use Gaussian visible units)",
                   bad / nv + 1, bad % nv + 1, (double)v);
}

/* ------------------------------------------------------------ training */

typedef struct trainer {
    lt_rbm *m;
    const lt_rbm_options *o;
    size_t bmax, chains; /* batch rows, chain rows (PCD: fixed; CD: the batch's) */
    float *vv;           /* (bmax + chains) x nv: data rows then chain rows, as the hidden units see them */
    float *vraw;         /* (bmax + chains) x nv: the same unscaled (Gaussian only; else == vv) */
    float *hh;           /* (bmax + chains) x nh: p(h | v) */
    float *hs;           /* chains x nh: the chains' sampled hidden states */
    float *wh;           /* (bmax + chains) x nv: W h, for the variance gradient */
    float *vel_w, *vel_b, *vel_c, *vel_lv;
    double *g_b, *g_c, *g_lv;
    float *q;            /* nh running mean activation (sparsity) */
    size_t *perm;
    int started;         /* PCD chains initialised */
} trainer;

static void trainer_free(trainer *t)
{
    free(t->vv);
    if (t->vraw != t->vv) free(t->vraw);
    free(t->hh);
    free(t->hs);
    free(t->wh);
    free(t->vel_w);
    free(t->vel_b);
    free(t->vel_c);
    free(t->vel_lv);
    free(t->g_b);
    free(t->g_c);
    free(t->g_lv);
    free(t->q);
    free(t->perm);
}

static lt_status trainer_init(trainer *t, lt_rbm *m, const lt_rbm_options *o, size_t n)
{
    memset(t, 0, sizeof *t);
    t->m = m, t->o = o;
    size_t nv = m->nv, nh = m->nh;
    t->bmax = o->batch < n ? o->batch : n;
    t->chains = t->bmax;
    size_t rows = t->bmax + t->chains;
    int gauss = m->visible == LT_RBM_GAUSSIAN;
    t->vv = lt_malloc(rows * nv, sizeof(float));
    t->vraw = gauss ? lt_malloc(rows * nv, sizeof(float)) : t->vv;
    t->hh = lt_malloc(rows * nh, sizeof(float));
    t->hs = lt_calloc(t->chains * nh, sizeof(float));
    t->wh = gauss && m->learn_var ? lt_malloc(rows * nv, sizeof(float)) : NULL;
    t->vel_w = lt_calloc(nv * nh, sizeof(float));
    t->vel_b = lt_calloc(nv, sizeof(float));
    t->vel_c = lt_calloc(nh, sizeof(float));
    t->vel_lv = lt_calloc(nv, sizeof(float));
    t->g_b = lt_calloc(nv, sizeof(double));
    t->g_c = lt_calloc(nh, sizeof(double));
    t->g_lv = lt_calloc(nv, sizeof(double));
    t->q = lt_malloc(nh, sizeof(float));
    t->perm = lt_malloc(n, sizeof(size_t));
    if (!t->vv || !t->vraw || !t->hh || !t->hs || (gauss && m->learn_var && !t->wh) || !t->vel_w || !t->vel_b ||
        !t->vel_c || !t->vel_lv || !t->g_b || !t->g_c || !t->g_lv || !t->q || !t->perm) {
        trainer_free(t);
        return LT_ERR_NOMEM;
    }
    for (size_t j = 0; j < nh; j++) t->q[j] = (float)o->sparsity_target;
    return LT_OK;
}

/* Hidden probabilities of rows [r0, r0 + rows) of the stacked buffer:
 * hh = sigmoid(vv W + c). Parallel over column blocks, then rows. */
static void hidden_step(const lt_rbm *m, const float *vv, float *hh, size_t rows)
{
    size_t nv = m->nv, nh = m->nh;
    lt_sgemm_blocks(0, 0, rows, nh, nv, 1.0f, vv, nv, m->w, nh, 0.0f, hh, nh);
#pragma omp for schedule(static)
    for (size_t r = 0; r < rows; r++) lt_sigmoid_row(hh + r * nh, m->c, nh);
}

/* Binary draws hs = [u < p] of rows of hidden units, a stream per row and
 * block of LT_RBM_HBLOCK units (the sparse trainer's split). */
static void sample_binary(const float *p, float *s, size_t rows, size_t cols, uint64_t seed, uint64_t step)
{
    size_t nb = lt_rbm_hblocks(cols);
#pragma omp for schedule(static)
    for (size_t r = 0; r < rows; r++)
        for (size_t blk = 0; blk < nb; blk++) {
            size_t j0 = blk * LT_RBM_HBLOCK, j1 = j0 + LT_RBM_HBLOCK < cols ? j0 + LT_RBM_HBLOCK : cols;
            lt_draw_row(p + r * cols + j0, s + r * cols + j0, j1 - j0, seed, step, r * nb + blk);
        }
}

/* Visible draws given hidden states hs (rows x nh): vraw ~ p(v | h), and
 * vv the same as the hidden units see it. `mean` (rows x nv scratch, may be
 * vv) receives W h first. */
static void visible_step(const lt_rbm *m, const float *hs, float *vraw, float *vv, size_t rows, uint64_t seed,
                         uint64_t step)
{
    size_t nv = m->nv, nh = m->nh;
    lt_sgemm_blocks(0, 1, rows, nv, nh, 1.0f, hs, nh, m->w, nh, 0.0f, vraw, nv);
    int gauss = m->visible == LT_RBM_GAUSSIAN;
#pragma omp for schedule(static)
    for (size_t r = 0; r < rows; r++) {
        float *v = vraw + r * nv, *vs = vv + r * nv;
        if (gauss) {
            lt_rng g;
            lt_row_rng(&g, seed, step, r);
            for (size_t i = 0; i < nv; i++) {
                float x = v[i] + m->b[i] + expf(0.5f * m->logvar[i]) * (float)lt_rng_normal(&g);
                v[i] = x;
                vs[i] = x * expf(-m->logvar[i]);
            }
        } else {
            lt_sigmoid_row(v, m->b, nv);
            lt_draw_row(v, v, nv, seed, step, r);
        }
    }
}

/* Gather the batch's rows into the top of the stacked buffer. */
static void load_batch(trainer *t, const float *x, const size_t *idx, size_t bn)
{
    const lt_rbm *m = t->m;
    size_t nv = m->nv;
#pragma omp for schedule(static)
    for (size_t r = 0; r < bn; r++) {
        const float *src = x + idx[r] * nv;
        memcpy(t->vraw + r * nv, src, nv * sizeof(float));
        if (m->visible == LT_RBM_GAUSSIAN)
            for (size_t i = 0; i < nv; i++) t->vv[r * nv + i] = src[i] * expf(-m->logvar[i]);
    }
}

/* One update from the bn data rows at the top of the buffers. Called by
 * every thread of the team. `step` keys the random streams. */
static void train_batch(trainer *t, size_t bn, double lr, double mom, double mom_next, uint64_t step)
{
    lt_rbm *m = t->m;
    const lt_rbm_options *o = t->o;
    size_t nv = m->nv, nh = m->nh, P = o->persistent ? t->chains : bn;
    float *vvc = t->vv + bn * nv, *vrc = t->vraw + bn * nv, *hhc = t->hh + bn * nh;
    int gauss = m->visible == LT_RBM_GAUSSIAN;
    uint64_t seed = o->seed;

    size_t s0 = 0;
    if (o->persistent && t->started) {
        /* the chains do not depend on this batch: their first visible step
         * comes first, and one GEMM gives the data's and the chains' hidden
         * units (the positive phase and the chains' first hidden step) */
        visible_step(m, t->hs, vrc, vvc, P, seed, step * 4096 + 1);
        hidden_step(m, t->vv, t->hh, bn + P);
        sample_binary(hhc, t->hs, P, nh, seed, step * 4096 + 2);
        s0 = 1;
    } else {
        hidden_step(m, t->vv, t->hh, bn); /* positive phase */
        if (!o->persistent) sample_binary(t->hh, t->hs, bn, nh, seed, step * 4096);
        else {
            /* PCD chains start where the first batch's data puts them */
            sample_binary(t->hh, t->hs, P < bn ? P : bn, nh, seed, step * 4096);
#pragma omp single
            t->started = 1;
        }
    }
    for (size_t s = s0; s < o->cd_k; s++) {
        visible_step(m, t->hs, vrc, vvc, P, seed, step * 4096 + 1 + 2 * (s % 2047));
        hidden_step(m, vvc, hhc, P);
        sample_binary(hhc, t->hs, P, nh, seed, step * 4096 + 2 + 2 * (s % 2047));
    }

    /* biases, in double over the rows in order (column-parallel) */
    double sd = 1.0 / (double)bn, sm = 1.0 / (double)P;
#pragma omp for schedule(static)
    for (size_t j = 0; j < nh; j++) {
        double a = 0, z = 0;
        for (size_t r = 0; r < bn; r++) a += t->hh[r * nh + j];
        for (size_t r = 0; r < P; r++) z += hhc[r * nh + j];
        a *= sd;
        double g = a - z * sm;
        if (o->sparsity_target > 0) {
            t->q[j] = (float)(o->sparsity_decay * t->q[j] + (1 - o->sparsity_decay) * a);
            g -= o->sparsity_cost * (t->q[j] - o->sparsity_target);
        }
        t->g_c[j] = g;
    }
    if (gauss && m->learn_var) {
        /* W h for data and chain rows, before the hidden rows are scaled */
        lt_sgemm_blocks(0, 1, bn + P, nv, nh, 1.0f, t->hh, nh, m->w, nh, 0.0f, t->wh, nv);
    }
#pragma omp for schedule(static)
    for (size_t i = 0; i < nv; i++) {
        double a = 0, z = 0, la = 0, lz = 0;
        float bi = m->b[i];
        double is = gauss ? exp(-(double)m->logvar[i]) : 1.0;
        for (size_t r = 0; r < bn; r++) {
            double x = t->vraw[r * nv + i];
            a += x;
            if (t->wh) la += 0.5 * (x - bi) * (x - bi) * is - x * t->wh[r * nv + i] * is;
        }
        for (size_t r = 0; r < P; r++) {
            double x = vrc[r * nv + i];
            z += x;
            if (t->wh) lz += 0.5 * (x - bi) * (x - bi) * is - x * t->wh[(bn + r) * nv + i] * is;
        }
        t->g_b[i] = (a * sd - z * sm) * is;
        t->g_lv[i] = la * sd - lz * sm;
    }
    /* W: vel = mom vel + lr (vv' D hh - decay W), D = diag(1/bn .., -1/P ..);
     * vel already holds mom vel (scaled at the end of the last update), so the
     * GEMM adds to it (beta = 1: no separate pass over vel) */
#pragma omp for schedule(static)
    for (size_t r = 0; r < bn + P; r++) {
        float f = r < bn ? (float)(lr * sd) : (float)(-lr * sm);
        float *h = t->hh + r * nh;
        for (size_t j = 0; j < nh; j++) h[j] *= f;
    }
    float dec = (float)(lr * o->weight_decay), mn = (float)mom_next;
    /* Without momentum (now and next) the velocity is not needed: the GEMM
     * updates W in place, W = (1 - lr decay) W + lr (vv' D hh), and no pass
     * over W and its velocity follows (they are larger than the caches). */
    int direct = mom == 0 && mom_next == 0;
    if (direct) lt_sgemm_blocks(1, 0, nv, nh, bn + P, 1.0f, t->vv, nv, t->hh, nh, 1.0f - dec, m->w, nh);
    else lt_sgemm_blocks(1, 0, nv, nh, bn + P, 1.0f, t->vv, nv, t->hh, nh, 1.0f, t->vel_w, nh);
#pragma omp for schedule(static)
    for (size_t i = 0; i < nv; i++) {
        float *w = m->w + i * nh, *vw = t->vel_w + i * nh;
        if (!direct) {
#pragma omp simd
            for (size_t j = 0; j < nh; j++) {
                float v = vw[j] - dec * w[j];
                w[j] += v;
                vw[j] = v * mn;
            }
        }
        t->vel_b[i] = (float)(mom * t->vel_b[i] + lr * t->g_b[i]);
        m->b[i] += t->vel_b[i];
        if (gauss && m->learn_var) {
            t->vel_lv[i] = (float)(mom * t->vel_lv[i] + lr * t->g_lv[i]);
            float lv = m->logvar[i] + t->vel_lv[i];
            m->logvar[i] = lv < LOG_VAR_MIN ? LOG_VAR_MIN : lv > LOG_VAR_MAX ? LOG_VAR_MAX : lv;
        }
    }
#pragma omp for schedule(static)
    for (size_t j = 0; j < nh; j++) {
        t->vel_c[j] = (float)(mom * t->vel_c[j] + lr * t->g_c[j]);
        m->c[j] += t->vel_c[j];
    }
}

static int params_finite(const lt_rbm *m)
{
    float acc = 0;
    for (size_t t = 0; t < m->nv * m->nh; t++) acc += m->w[t] * 0.0f;
    for (size_t i = 0; i < m->nv; i++) acc += m->b[i] * 0.0f + (m->logvar ? m->logvar[i] * 0.0f : 0.0f);
    for (size_t j = 0; j < m->nh; j++) acc += m->c[j] * 0.0f;
    return acc == 0.0f;
}

static lt_status check_options(const lt_rbm_options *o)
{
    if (o->batch < 1) return lt_fail(LT_ERR_INVALID, "--batch: must be at least 1");
    if (o->cd_k < 1) return lt_fail(LT_ERR_INVALID, "--cd: at least one Gibbs step per update");
    if (!(o->lr > 0) || !isfinite(o->lr)) return lt_fail(LT_ERR_INVALID, "--lr: must be a positive number");
    if (!(o->momentum >= 0 && o->momentum < 1) || !(o->initial_momentum >= 0 && o->initial_momentum < 1))
        return lt_fail(LT_ERR_INVALID, "--momentum: must be in [0, 1)");
    if (!(o->weight_decay >= 0)) return lt_fail(LT_ERR_INVALID, "--weight-decay: must be >= 0");
    if (!(o->sparsity_target >= 0 && o->sparsity_target < 1))
        return lt_fail(LT_ERR_INVALID, "--sparsity: the target activation must be in [0, 1)");
    if (!(o->sparsity_cost >= 0) || !(o->sparsity_decay >= 0 && o->sparsity_decay < 1))
        return lt_fail(LT_ERR_INVALID, "sparsity cost must be >= 0 and its decay in [0, 1)");
    if (!(o->init_std >= 0)) return lt_fail(LT_ERR_INVALID, "the initial weight scale must be >= 0");
    return LT_OK;
}

lt_status lt_rbm_train(lt_rbm *m, const lt_rbm_options *o, const float *x, size_t n)
{
    return lt_rbm_train_path(m, o, x, n, LT_RBM_PATH_AUTO);
}

lt_status lt_rbm_train_path(lt_rbm *m, const lt_rbm_options *o, const float *x, size_t n, int path)
{
    if (n == 0) return lt_fail(LT_ERR_INVALID, "no samples to train on");
    LT_CHECK(check_options(o));
    LT_CHECK(check_data(m, x, n));
    int threads = lt_threads(o->threads);
    lt_rbm_sparse *sp = NULL;
    if (path != LT_RBM_PATH_GEMM) LT_CHECK(lt_rbm_sparse_new(m, o, x, n, o->batch < n ? o->batch : n, threads, &sp));
    if (sp && path == LT_RBM_PATH_SPARSE_PORTABLE) lt_rbm_sparse_portable(sp);
    if (!sp && (path == LT_RBM_PATH_SPARSE || path == LT_RBM_PATH_SPARSE_PORTABLE))
        return lt_fail(LT_ERR_INVALID, "the sparse training path needs Bernoulli visible units and binary data");
    trainer t;
    lt_status st0 = trainer_init(&t, m, o, n);
    if (st0) {
        lt_rbm_sparse_free(sp);
        return st0;
    }
    int blas = lt_blas_single_begin();
    lt_status st = LT_OK;
    size_t nb = (n + t.bmax - 1) / t.bmax, total = o->epochs * nb;
    size_t e0 = m->epochs;
    for (size_t i = 0; i < n; i++) t.perm[i] = i;
    for (size_t e = 0; e < o->epochs; e++) {
        lt_rng g;
        lt_row_rng(&g, o->seed, (uint64_t)-1, e0 + e);
        for (size_t i = n; i > 1; i--) { /* a fresh order each epoch */
            size_t j = (size_t)lt_rng_below(&g, i), tmp = t.perm[i - 1];
            t.perm[i - 1] = t.perm[j], t.perm[j] = tmp;
        }
        double mom = e0 + e < o->momentum_epochs ? o->initial_momentum : o->momentum;
        /* small models are faster on one thread than across barriers */
#pragma omp parallel num_threads(threads) if (t.bmax * m->nv * m->nh >= ((size_t)1 << 18))
        for (size_t bi = 0; bi < nb; bi++) {
            size_t r0 = bi * t.bmax, bn = r0 + t.bmax <= n ? t.bmax : n - r0;
            size_t done = e * nb + bi;
            double lr = o->schedule == LT_RBM_LR_LINEAR ? o->lr * (1.0 - (double)done / (double)total) : o->lr;
            double mom_next = bi + 1 < nb ? mom : e0 + e + 1 < o->momentum_epochs ? o->initial_momentum : o->momentum;
            uint64_t step = ((uint64_t)(e0 + e) << 32) + bi;
            if (sp) {
                lt_rbm_sparse_batch(sp, m, o, t.perm + r0, bn, lr, mom, mom_next, step);
            } else {
                load_batch(&t, x, t.perm + r0, bn);
                train_batch(&t, bn, lr, mom, mom_next, step);
            }
        }
        if (sp) lt_rbm_sparse_sync(sp, m);
        if (!params_finite(m)) {
            st = lt_fail(LT_ERR_NUMERIC,
                         "training diverged in epoch %zu (the parameters are no longer finite); "
                         "try a smaller learning rate",
                         e0 + e + 1);
            break;
        }
        m->epochs = e0 + e + 1;
        if (o->progress || e + 1 == o->epochs) {
            size_t mon = n < 1000 ? n : 1000;
            double *re = lt_malloc(mon, sizeof(double));
            if (!re) {
                st = LT_ERR_NOMEM;
                break;
            }
            lt_blas_single_end(blas);
            st = lt_rbm_reconstruction_error(m, x, mon, o->seed ^ 0x5ca1ab1eULL, o->threads, re);
            blas = lt_blas_single_begin();
            double s = 0;
            for (size_t i = 0; i < mon; i++) s += re[i];
            free(re);
            if (st) break;
            m->recon_error = s / (double)mon;
            if (o->progress) o->progress(o->progress_ud, "epoch", e + 1, o->epochs, m->recon_error);
        }
    }
    lt_blas_single_end(blas);
    if (st == LT_OK) {
        m->train_n = n, m->batch = o->batch, m->cd_k = o->cd_k, m->persistent = o->persistent;
        m->lr = o->lr, m->seed = o->seed;
    }
    trainer_free(&t);
    lt_rbm_sparse_free(sp);
    return st;
}

lt_status lt_rbm_fit(const lt_rbm_options *o, const float *x, size_t n, size_t nv, lt_rbm **out)
{
    *out = NULL;
    if (n == 0) return lt_fail(LT_ERR_INVALID, "no samples to train on");
    if (o->n_hidden < 1) return lt_fail(LT_ERR_INVALID, "--hidden: at least one hidden unit");
    LT_CHECK(check_options(o));
    lt_rbm *m;
    LT_CHECK(lt_rbm_create(nv, o->n_hidden, o->visible, &m));
    m->learn_var = o->visible == LT_RBM_GAUSSIAN && o->learn_var;
    lt_status st = check_data(m, x, n);
    if (st) goto fail;
    /* data means and variances, in double, row order */
    double *mu = lt_calloc(nv, sizeof(double)), *var = lt_calloc(nv, sizeof(double));
    if (!mu || !var) {
        free(mu), free(var);
        st = LT_ERR_NOMEM;
        goto fail;
    }
    for (size_t r = 0; r < n; r++)
        for (size_t i = 0; i < nv; i++) mu[i] += x[r * nv + i];
    for (size_t i = 0; i < nv; i++) mu[i] /= (double)n;
    for (size_t r = 0; r < n; r++)
        for (size_t i = 0; i < nv; i++) var[i] += (x[r * nv + i] - mu[i]) * (x[r * nv + i] - mu[i]);
    /* A feature that is (nearly) constant would get a variance near 0, and
     * with it hidden inputs v / s large enough to blow training up (image
     * borders, a pixel on in one row of thousands): the default variances
     * are kept at or above a hundredth of the features' mean variance. */
    double var_mean = 0;
    for (size_t i = 0; i < nv; i++) var_mean += var[i] / (double)n / (double)nv;
    for (size_t i = 0; i < nv; i++) {
        m->data_mean[i] = (float)mu[i];
        if (o->visible == LT_RBM_GAUSSIAN) {
            double v = o->init_var > 0 ? o->init_var : fmax(var[i] / (double)n, 0.01 * var_mean);
            if (!(v >= 1e-4)) v = 1e-4;
            if (v > 1e4) v = 1e4;
            m->logvar[i] = (float)log(v);
            m->b[i] = (float)mu[i];
        } else {
            /* Hinton's guide: b_i = log(p_i / (1 - p_i)), p_i kept off 0 and 1 */
            double p = (mu[i] * (double)n + 0.5) / ((double)n + 1.0);
            m->b[i] = (float)log(p / (1 - p));
        }
    }
    free(mu), free(var);
    lt_rng g;
    lt_rng_seed(&g, o->seed);
    for (size_t t = 0; t < nv * o->n_hidden; t++) m->w[t] = (float)(o->init_std * lt_rng_normal(&g));
    if ((st = lt_rbm_train(m, o, x, n))) goto fail;
    *out = m;
    return LT_OK;
fail:
    lt_rbm_free(m);
    return st;
}

/* ------------------------------------------------------------ inference */

lt_status lt_rbm_hidden_probs(const lt_rbm *m, const float *v, size_t n, int threads, float *out)
{
    size_t nv = m->nv, nh = m->nh, nc = (n + ROW_CHUNK - 1) / ROW_CHUNK;
    float *scr = NULL;
    if (m->visible == LT_RBM_GAUSSIAN && !(scr = lt_malloc(n * nv + 1, sizeof(float)))) return LT_ERR_NOMEM;
    int blas = lt_blas_single_begin();
#pragma omp parallel for schedule(static) num_threads(lt_threads(threads))
    for (size_t ch = 0; ch < nc; ch++) {
        size_t r0 = ch * ROW_CHUNK, rows = r0 + ROW_CHUNK <= n ? ROW_CHUNK : n - r0;
        const float *a = vis_input(m, v + r0 * nv, rows, scr ? scr + r0 * nv : NULL);
        lt_sgemm1(0, 0, rows, nh, nv, 1.0f, a, nv, m->w, nh, 0.0f, out + r0 * nh, nh);
        for (size_t t = r0 * nh; t < (r0 + rows) * nh; t++) out[t] = lt_sigmoidf(out[t] + m->c[t % nh]);
    }
    lt_blas_single_end(blas);
    free(scr);
    return LT_OK;
}

lt_status lt_rbm_visible_mean(const lt_rbm *m, const float *h, size_t n, int threads, float *out)
{
    size_t nv = m->nv, nh = m->nh, nc = (n + ROW_CHUNK - 1) / ROW_CHUNK;
    int blas = lt_blas_single_begin();
#pragma omp parallel for schedule(static) num_threads(lt_threads(threads))
    for (size_t ch = 0; ch < nc; ch++) {
        size_t r0 = ch * ROW_CHUNK, rows = r0 + ROW_CHUNK <= n ? ROW_CHUNK : n - r0;
        lt_sgemm1(0, 1, rows, nv, nh, 1.0f, h + r0 * nh, nh, m->w, nh, 0.0f, out + r0 * nv, nv);
        for (size_t t = r0 * nv; t < (r0 + rows) * nv; t++) {
            float a = out[t] + m->b[t % nv];
            out[t] = m->visible == LT_RBM_GAUSSIAN ? a : lt_sigmoidf(a);
        }
    }
    lt_blas_single_end(blas);
    return LT_OK;
}

/* F(v) of `rows` rows, pre (rows x nh) and scaled (rows x nv) scratch. */
static void free_energy_rows(const lt_rbm *m, const float *v, size_t rows, float *pre, float *scaled, double *out)
{
    size_t nv = m->nv, nh = m->nh;
    const float *a = vis_input(m, v, rows, scaled);
    lt_sgemm1(0, 0, rows, nh, nv, 1.0f, a, nv, m->w, nh, 0.0f, pre, nh);
    for (size_t r = 0; r < rows; r++) {
        double f = 0;
        const float *x = v + r * nv;
        if (m->visible == LT_RBM_GAUSSIAN)
            for (size_t i = 0; i < nv; i++) {
                double d = (double)x[i] - m->b[i];
                f += 0.5 * d * d * exp(-(double)m->logvar[i]);
            }
        else
            for (size_t i = 0; i < nv; i++) f -= (double)m->b[i] * x[i];
        for (size_t j = 0; j < nh; j++) f -= lt_softplus((double)pre[r * nh + j] + m->c[j]);
        out[r] = f;
    }
}

lt_status lt_rbm_free_energy(const lt_rbm *m, const float *v, size_t n, int threads, double *out)
{
    size_t nv = m->nv, nh = m->nh, nc = (n + ROW_CHUNK - 1) / ROW_CHUNK;
    int T = lt_threads(threads);
    float *scr = lt_malloc((size_t)T * ROW_CHUNK * (nv + nh), sizeof(float));
    if (!scr) return LT_ERR_NOMEM;
    int blas = lt_blas_single_begin();
#pragma omp parallel num_threads(T)
    {
        float *pre = scr + (size_t)omp_get_thread_num() * ROW_CHUNK * (nv + nh), *sc = pre + ROW_CHUNK * nh;
#pragma omp for schedule(static)
        for (size_t ch = 0; ch < nc; ch++) {
            size_t r0 = ch * ROW_CHUNK, rows = r0 + ROW_CHUNK <= n ? ROW_CHUNK : n - r0;
            free_energy_rows(m, v + r0 * nv, rows, pre, sc, out + r0);
        }
    }
    lt_blas_single_end(blas);
    free(scr);
    return LT_OK;
}

lt_status lt_rbm_log_prob(const lt_rbm *m, const float *v, size_t n, double log_z, int threads, double *out)
{
    LT_CHECK(check_data(m, v, n));
    LT_CHECK(lt_rbm_free_energy(m, v, n, threads, out));
    for (size_t i = 0; i < n; i++) out[i] = -out[i] - log_z;
    return LT_OK;
}

lt_status lt_rbm_pseudo_likelihood(const lt_rbm *m, const float *v, size_t n, uint64_t seed, int threads,
                                   double *out)
{
    if (m->visible != LT_RBM_BERNOULLI)
        return lt_fail(LT_ERR_UNSUPPORTED, "the pseudo-likelihood is defined here for Bernoulli visible units only");
    LT_CHECK(check_data(m, v, n));
    size_t nv = m->nv, nh = m->nh;
    int T = lt_threads(threads);
    float *scr = lt_malloc((size_t)T * (nv + nh), sizeof(float));
    if (!scr) return LT_ERR_NOMEM;
    double *fe = lt_malloc(n + 1, sizeof(double));
    if (!fe) {
        free(scr);
        return LT_ERR_NOMEM;
    }
    lt_status st = lt_rbm_free_energy(m, v, n, threads, fe);
    int blas = lt_blas_single_begin();
    if (st == LT_OK) {
#pragma omp parallel num_threads(T)
        {
            float *flip = scr + (size_t)omp_get_thread_num() * (nv + nh), *pre = flip + nv;
#pragma omp for schedule(static)
            for (size_t r = 0; r < n; r++) {
                lt_rng g;
                lt_row_rng(&g, seed, 0, r);
                size_t i = (size_t)lt_rng_below(&g, nv);
                memcpy(flip, v + r * nv, nv * sizeof(float));
                flip[i] = 1.0f - flip[i];
                double f2;
                /* one row: a matrix-vector product is enough */
                cblas_sgemv(CblasRowMajor, CblasTrans, (int)nv, (int)nh, 1.0f, m->w, (int)nh, flip, 1, 0.0f, pre, 1);
                f2 = 0;
                for (size_t k = 0; k < nv; k++) f2 -= (double)m->b[k] * flip[k];
                for (size_t j = 0; j < nh; j++) f2 -= lt_softplus((double)pre[j] + m->c[j]);
                double d = f2 - fe[r]; /* log sigmoid(d) */
                out[r] = (double)nv * -lt_softplus(-d);
            }
        }
    }
    lt_blas_single_end(blas);
    free(fe);
    free(scr);
    return st;
}

lt_status lt_rbm_reconstruction_error(const lt_rbm *m, const float *v, size_t n, uint64_t seed, int threads,
                                      double *out)
{
    size_t nv = m->nv, nh = m->nh, nc = (n + ROW_CHUNK - 1) / ROW_CHUNK;
    int T = lt_threads(threads);
    float *scr = lt_malloc((size_t)T * ROW_CHUNK * (2 * nv + nh), sizeof(float));
    if (!scr) return LT_ERR_NOMEM;
    int blas = lt_blas_single_begin();
#pragma omp parallel num_threads(T)
    {
        float *h = scr + (size_t)omp_get_thread_num() * ROW_CHUNK * (2 * nv + nh), *rec = h + ROW_CHUNK * nh,
              *sc = rec + ROW_CHUNK * nv;
#pragma omp for schedule(static)
        for (size_t ch = 0; ch < nc; ch++) {
            size_t r0 = ch * ROW_CHUNK, rows = r0 + ROW_CHUNK <= n ? ROW_CHUNK : n - r0;
            const float *a = vis_input(m, v + r0 * nv, rows, sc);
            lt_sgemm1(0, 0, rows, nh, nv, 1.0f, a, nv, m->w, nh, 0.0f, h, nh);
            for (size_t r = 0; r < rows; r++) {
                lt_rng g;
                lt_row_rng(&g, seed, 1, r0 + r);
                for (size_t j = 0; j < nh; j++) h[r * nh + j] = lt_uniformf(&g) < lt_sigmoidf(h[r * nh + j] + m->c[j]);
            }
            lt_sgemm1(0, 1, rows, nv, nh, 1.0f, h, nh, m->w, nh, 0.0f, rec, nv);
            for (size_t r = 0; r < rows; r++) {
                double e = 0;
                for (size_t i = 0; i < nv; i++) {
                    float a2 = rec[r * nv + i] + m->b[i];
                    double d = (double)v[(r0 + r) * nv + i] - (m->visible == LT_RBM_GAUSSIAN ? a2 : lt_sigmoidf(a2));
                    e += d * d;
                }
                out[r0 + r] = e;
            }
        }
    }
    lt_blas_single_end(blas);
    free(scr);
    return LT_OK;
}

/* ------------------------------------------------------------ sampling */

/* Chains in blocks fixed by n: each block runs all its steps alone. */
#define CHAIN_BLOCK 32

lt_status lt_rbm_sample(const lt_rbm *m, size_t n, size_t steps, int mean, uint64_t seed, int threads, float *out)
{
    if (n == 0) return LT_OK;
    size_t nv = m->nv, nh = m->nh, nc = (n + CHAIN_BLOCK - 1) / CHAIN_BLOCK;
    int T = lt_threads(threads);
    float *scr = lt_malloc((size_t)T * CHAIN_BLOCK * (2 * nh + nv), sizeof(float));
    lt_rng *rng = lt_malloc(n, sizeof(lt_rng));
    if (!scr || !rng) {
        free(scr), free(rng);
        return LT_ERR_NOMEM;
    }
    int gauss = m->visible == LT_RBM_GAUSSIAN, blas = lt_blas_single_begin();
#pragma omp parallel num_threads(T)
    {
        float *h = scr + (size_t)omp_get_thread_num() * CHAIN_BLOCK * (2 * nh + nv), *pre = h + CHAIN_BLOCK * nh,
              *sc = pre + CHAIN_BLOCK * nh;
#pragma omp for schedule(static)
        for (size_t ch = 0; ch < nc; ch++) {
            size_t r0 = ch * CHAIN_BLOCK, rows = r0 + CHAIN_BLOCK <= n ? CHAIN_BLOCK : n - r0;
            float *v = out + r0 * nv;
            for (size_t r = 0; r < rows; r++) {
                lt_rng *g = rng + r0 + r;
                lt_row_rng(g, seed, 2, r0 + r);
                for (size_t i = 0; i < nv; i++) {
                    float mu = m->data_mean[i];
                    v[r * nv + i] = gauss ? mu + expf(0.5f * m->logvar[i]) * (float)lt_rng_normal(g)
                                          : (lt_uniformf(g) < mu ? 1.0f : 0.0f);
                }
            }
            for (size_t s = 0; s < steps; s++) {
                const float *a = vis_input(m, v, rows, sc);
                lt_sgemm1(0, 0, rows, nh, nv, 1.0f, a, nv, m->w, nh, 0.0f, pre, nh);
                for (size_t r = 0; r < rows; r++)
                    for (size_t j = 0; j < nh; j++)
                        h[r * nh + j] = lt_uniformf(rng + r0 + r) < lt_sigmoidf(pre[r * nh + j] + m->c[j]) ? 1.0f : 0.0f;
                lt_sgemm1(0, 1, rows, nv, nh, 1.0f, h, nh, m->w, nh, 0.0f, v, nv);
                int last = s + 1 == steps;
                for (size_t r = 0; r < rows; r++) {
                    lt_rng *g = rng + r0 + r;
                    for (size_t i = 0; i < nv; i++) {
                        float x = v[r * nv + i] + m->b[i];
                        if (gauss) v[r * nv + i] = last && mean ? x : x + expf(0.5f * m->logvar[i]) * (float)lt_rng_normal(g);
                        else v[r * nv + i] = last && mean ? lt_sigmoidf(x) : (lt_uniformf(g) < lt_sigmoidf(x) ? 1.0f : 0.0f);
                    }
                }
            }
        }
    }
    lt_blas_single_end(blas);
    free(scr);
    free(rng);
    return LT_OK;
}

/* ------------------------------------------------------------ log Z */

static double logaddexp(double a, double b)
{
    if (a == -INFINITY) return b;
    if (b == -INFINITY) return a;
    return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

/* log of the unnormalised marginal of one configuration of the enumerated
 * layer, from its running sums. Enumerating h: a = b + W h (Bernoulli) or
 * u = W h (Gaussian); enumerating v: a = c + v' W. */
static double enum_term(const lt_rbm *m, int over_h, const double *a, double lin)
{
    double t = lin;
    if (!over_h) {
        for (size_t j = 0; j < m->nh; j++) t += lt_softplus(a[j]);
    } else if (m->visible == LT_RBM_GAUSSIAN) {
        for (size_t i = 0; i < m->nv; i++) t += (2.0 * m->b[i] * a[i] + a[i] * a[i]) * 0.5 * exp(-(double)m->logvar[i]);
    } else {
        for (size_t i = 0; i < m->nv; i++) t += lt_softplus(a[i]);
    }
    return t;
}

lt_status lt_rbm_log_z_exact(const lt_rbm *m, int threads, double *log_z)
{
    size_t nv = m->nv, nh = m->nh;
    int over_h = m->visible == LT_RBM_GAUSSIAN || nh <= nv;
    size_t bits = over_h ? nh : nv, other = over_h ? nv : nh;
    if (bits > 30)
        return lt_fail(LT_ERR_INVALID,
                       "exact log Z would sum 2^%zu terms; that is only done up to 2^30 (use the AIS estimate)", bits);
    size_t blk_bits = bits < 12 ? bits : 12, nblk = (size_t)1 << (bits - blk_bits);
    double *part = lt_malloc(nblk, sizeof(double));
    int T = lt_threads(threads);
    double *scr = lt_malloc((size_t)T * other, sizeof(double));
    if (!part || !scr) {
        free(part), free(scr);
        return LT_ERR_NOMEM;
    }
    /* layer weights: the enumerated unit k adds col(k) to a and bias(k) to lin */
#pragma omp parallel num_threads(T)
    {
        double *a = scr + (size_t)omp_get_thread_num() * other;
#pragma omp for schedule(static)
        for (size_t blk = 0; blk < nblk; blk++) {
            uint64_t first = (uint64_t)blk << blk_bits;
            /* the configuration is the Gray code of the index */
            uint64_t g = first ^ (first >> 1);
            double lin = 0;
            for (size_t o = 0; o < other; o++) a[o] = over_h ? (m->visible == LT_RBM_GAUSSIAN ? 0.0 : m->b[o]) : m->c[o];
            for (size_t k = 0; k < bits; k++)
                if (g >> k & 1) {
                    lin += over_h ? m->c[k] : m->b[k];
                    for (size_t o = 0; o < other; o++) a[o] += over_h ? m->w[o * nh + k] : m->w[k * nh + o];
                }
            double acc = enum_term(m, over_h, a, lin);
            for (uint64_t x = first + 1; x < first + ((uint64_t)1 << blk_bits); x++) {
                size_t k = (size_t)__builtin_ctzll(x);
                uint64_t g2 = x ^ (x >> 1);
                double sgn = (g2 >> k & 1) ? 1.0 : -1.0;
                lin += sgn * (over_h ? m->c[k] : m->b[k]);
                for (size_t o = 0; o < other; o++) a[o] += sgn * (over_h ? m->w[o * nh + k] : m->w[k * nh + o]);
                acc = logaddexp(acc, enum_term(m, over_h, a, lin));
            }
            part[blk] = acc;
        }
    }
    double lz = -INFINITY;
    for (size_t blk = 0; blk < nblk; blk++) lz = logaddexp(lz, part[blk]);
    if (m->visible == LT_RBM_GAUSSIAN)
        for (size_t i = 0; i < nv; i++) lz += 0.5 * (LOG_2PI + m->logvar[i]);
    free(part);
    free(scr);
    *log_z = lz;
    return LT_OK;
}

/* ------------------------------------------------------------ AIS */

void lt_ais_options_default(lt_ais_options *o)
{
    o->runs = 100;
    o->betas = 10000;
    o->seed = 0;
    o->threads = 0;
}

/* The estimate from the runs' log weights (rbm_internal.h). */
lt_status lt_ais_summarize(const double *logw, size_t M, size_t K, double log_za, lt_ais_result *res)
{
    double mx = -INFINITY;
    for (size_t r = 0; r < M; r++)
        if (logw[r] > mx) mx = logw[r];
    if (!isfinite(mx))
        return lt_fail(LT_ERR_NUMERIC, "AIS: the importance weights are not finite (is the model's scale sane?)");
    double s = 0, s2 = 0;
    for (size_t r = 0; r < M; r++) {
        double w = exp(logw[r] - mx);
        s += w, s2 += w * w;
    }
    double mean = s / (double)M, var = (s2 / (double)M - mean * mean) * (double)M / (double)(M - 1);
    if (var < 0) var = 0;
    res->log_z = log_za + mx + log(mean);
    res->log_z_stderr = sqrt(var / (double)M) / mean;
    res->log_z_base = log_za;
    res->ess = s * s / s2;
    res->runs = M, res->betas = K;
    return LT_OK;
}

/* beta_0 = 0 < ... < beta_K = 1, three linear pieces as Salakhutdinov and
 * Murray (500 in [0, .5], 4,000 in [.5, .9], 10,000 in [.9, 1] of 14,500). */
void lt_ais_beta_grid(size_t K, double *beta)
{
    size_t k1 = (size_t)llround((double)K / 29.0), k2 = (size_t)llround((double)K * 8.0 / 29.0);
    if (K < 3 || k1 == 0 || k2 == 0 || k1 + k2 >= K) {
        for (size_t k = 0; k <= K; k++) beta[k] = (double)k / (double)K;
        return;
    }
    size_t k3 = K - k1 - k2;
    for (size_t k = 0; k <= k1; k++) beta[k] = 0.5 * (double)k / (double)k1;
    for (size_t k = 1; k <= k2; k++) beta[k1 + k] = 0.5 + 0.4 * (double)k / (double)k2;
    for (size_t k = 1; k <= k3; k++) beta[k1 + k2 + k] = 0.9 + 0.1 * (double)k / (double)k3;
    beta[K] = 1.0;
}

#define AIS_BLOCK 16

lt_status lt_rbm_ais(const lt_rbm *m, const lt_ais_options *o, lt_ais_result *res)
{
    memset(res, 0, sizeof *res);
    if (o->runs < 2) return lt_fail(LT_ERR_INVALID, "AIS needs at least 2 runs (for a standard error)");
    if (o->betas < 1) return lt_fail(LT_ERR_INVALID, "AIS needs at least one intermediate distribution");
    size_t nv = m->nv, nh = m->nh, M = o->runs, K = o->betas, nblk = (M + AIS_BLOCK - 1) / AIS_BLOCK;
    int gauss = m->visible == LT_RBM_GAUSSIAN, T = lt_threads(o->threads);
    double *beta = lt_malloc(K + 1, sizeof(double)), *logw = lt_calloc(M, sizeof(double));
    float *ba = lt_malloc(nv, sizeof(float)), *is = lt_malloc(nv, sizeof(float)), *sd = lt_malloc(nv, sizeof(float));
    float *scr = lt_malloc((size_t)T * AIS_BLOCK * (2 * nv + 2 * nh), sizeof(float));
    lt_rng *rng = lt_malloc(M, sizeof(lt_rng));
    lt_status st = LT_OK;
    if (!beta || !logw || !ba || !is || !sd || !scr || !rng) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    lt_ais_beta_grid(K, beta);
    /* the base model A: visible units alone, with the training data's means */
    double log_za = (double)nh * LN2;
    for (size_t i = 0; i < nv; i++) {
        is[i] = gauss ? expf(-m->logvar[i]) : 1.0f;
        sd[i] = gauss ? expf(0.5f * m->logvar[i]) : 1.0f;
        if (gauss) {
            ba[i] = m->data_mean[i];
            log_za += 0.5 * (LOG_2PI + m->logvar[i]);
        } else {
            double p = m->data_mean[i];
            p = p < 1e-3 ? 1e-3 : p > 1 - 1e-3 ? 1 - 1e-3 : p;
            ba[i] = (float)log(p / (1 - p));
            log_za += lt_softplus(ba[i]);
        }
    }
    int blas = lt_blas_single_begin();
#pragma omp parallel num_threads(T)
    {
        float *v = scr + (size_t)omp_get_thread_num() * AIS_BLOCK * (2 * nv + 2 * nh), *vs = v + AIS_BLOCK * nv,
              *x = vs + AIS_BLOCK * nv, *h = x + AIS_BLOCK * nh;
#pragma omp for schedule(static)
        for (size_t blk = 0; blk < nblk; blk++) {
            size_t r0 = blk * AIS_BLOCK, rows = r0 + AIS_BLOCK <= M ? AIS_BLOCK : M - r0;
            for (size_t r = 0; r < rows; r++) {
                lt_rng *g = rng + r0 + r;
                lt_row_rng(g, o->seed, 3, r0 + r);
                for (size_t i = 0; i < nv; i++)
                    v[r * nv + i] = gauss ? ba[i] + sd[i] * (float)lt_rng_normal(g)
                                          : (lt_uniformf(g) < lt_sigmoidf(ba[i]) ? 1.0f : 0.0f);
            }
            for (size_t k = 1; k <= K; k++) {
                double b0 = beta[k - 1], b1 = beta[k];
                const float *a = v;
                if (gauss) {
                    for (size_t t = 0; t < rows * nv; t++) vs[t] = v[t] * is[t % nv];
                    a = vs;
                }
                lt_sgemm1(0, 0, rows, nh, nv, 1.0f, a, nv, m->w, nh, 0.0f, x, nh);
                for (size_t r = 0; r < rows; r++) {
                    const float *vr = v + r * nv;
                    double lin = 0, sp = 0;
                    if (gauss)
                        for (size_t i = 0; i < nv; i++) {
                            double da = (double)vr[i] - ba[i], db = (double)vr[i] - m->b[i];
                            lin += 0.5 * (da * da - db * db) * is[i];
                        }
                    else
                        for (size_t i = 0; i < nv; i++) lin += ((double)m->b[i] - ba[i]) * vr[i];
                    for (size_t j = 0; j < nh; j++) {
                        double xj = (double)x[r * nh + j] + m->c[j];
                        x[r * nh + j] = (float)xj;
                        sp += lt_softplus(b1 * xj) - lt_softplus(b0 * xj);
                    }
                    logw[r0 + r] += (b1 - b0) * lin + sp;
                }
                if (k == K) break;
                /* a Gibbs step that leaves p_beta invariant */
                float fb = (float)b1;
                for (size_t r = 0; r < rows; r++) {
                    lt_rng *g = rng + r0 + r;
                    for (size_t j = 0; j < nh; j++) h[r * nh + j] = lt_uniformf(g) < lt_sigmoidf(fb * x[r * nh + j]);
                }
                lt_sgemm1(0, 1, rows, nv, nh, 1.0f, h, nh, m->w, nh, 0.0f, v, nv);
                for (size_t r = 0; r < rows; r++) {
                    lt_rng *g = rng + r0 + r;
                    for (size_t i = 0; i < nv; i++) {
                        float mu = (1.0f - fb) * ba[i] + fb * (m->b[i] + v[r * nv + i]);
                        v[r * nv + i] = gauss ? mu + sd[i] * (float)lt_rng_normal(g) : (lt_uniformf(g) < lt_sigmoidf(mu));
                    }
                }
            }
        }
    }
    lt_blas_single_end(blas);
    st = lt_ais_summarize(logw, M, K, log_za, res);
done:
    free(beta);
    free(logw);
    free(ba);
    free(is);
    free(sd);
    free(scr);
    free(rng);
    return st;
}

/* ------------------------------------------------------------ gradients (tests) */

static lt_status grad_zero(const lt_rbm *m, lt_rbm_grad *g)
{
    memset(g->w, 0, m->nv * m->nh * sizeof(double));
    memset(g->b, 0, m->nv * sizeof(double));
    memset(g->c, 0, m->nh * sizeof(double));
    if (g->logvar) memset(g->logvar, 0, m->nv * sizeof(double));
    return LT_OK;
}

/* Adds f * (-dE/dtheta) at (v, h) to g; wh = W h when the variance term is
 * wanted (Gaussian). */
static void grad_add(const lt_rbm *m, const double *v, const double *h, const double *wh, double f, lt_rbm_grad *g)
{
    size_t nv = m->nv, nh = m->nh;
    int gauss = m->visible == LT_RBM_GAUSSIAN;
    for (size_t i = 0; i < nv; i++) {
        double is = gauss ? exp(-(double)m->logvar[i]) : 1.0, vi = v[i] * is;
        for (size_t j = 0; j < nh; j++) g->w[i * nh + j] += f * vi * h[j];
        g->b[i] += f * (gauss ? (v[i] - m->b[i]) * is : v[i]);
        if (gauss && g->logvar && wh)
            g->logvar[i] += f * (0.5 * (v[i] - m->b[i]) * (v[i] - m->b[i]) * is - v[i] * wh[i] * is);
    }
    for (size_t j = 0; j < nh; j++) g->c[j] += f * h[j];
}

lt_status lt_rbm_grad_cd(const lt_rbm *m, const float *v, size_t n, size_t k, size_t repeats, uint64_t seed,
                         int threads, lt_rbm_grad *g)
{
    if (n == 0 || k == 0 || repeats == 0) return lt_fail(LT_ERR_INVALID, "lt_rbm_grad_cd: empty batch");
    grad_zero(m, g);
    lt_rbm *cp;
    LT_CHECK(lt_rbm_copy(m, &cp));
    lt_rbm_options o;
    lt_rbm_options_default(&o);
    o.cd_k = k, o.batch = n, o.seed = seed, o.threads = threads;
    trainer t;
    lt_status st = trainer_init(&t, cp, &o, n);
    if (st) {
        lt_rbm_free(cp);
        return st;
    }
    size_t nv = m->nv, nh = m->nh, rows = 2 * n;
    double *dv = lt_malloc(nv, sizeof(double)), *dh = lt_malloc(nh, sizeof(double)),
           *wh = lt_malloc(nv, sizeof(double));
    if (!dv || !dh || !wh) st = LT_ERR_NOMEM;
    int T = lt_threads(threads), blas = lt_blas_single_begin();
    for (size_t rep = 0; rep < repeats && !st; rep++) {
        for (size_t r = 0; r < n; r++) t.perm[r] = r;
#pragma omp parallel num_threads(T)
        {
            load_batch(&t, v, t.perm, n);
            hidden_step(cp, t.vv, t.hh, n);
            sample_binary(t.hh, t.hs, n, nh, seed, rep * 4096);
            for (size_t s = 0; s < k; s++) {
                visible_step(cp, t.hs, t.vraw + n * nv, t.vv + n * nv, n, seed, rep * 4096 + 1 + 2 * (s % 2047));
                hidden_step(cp, t.vv + n * nv, t.hh + n * nh, n);
                sample_binary(t.hh + n * nh, t.hs, n, nh, seed, rep * 4096 + 2 + 2 * (s % 2047));
            }
        }
        /* the same statistics the trainer forms, in double */
        for (size_t r = 0; r < rows; r++) {
            for (size_t i = 0; i < nv; i++) dv[i] = t.vraw[r * nv + i];
            for (size_t j = 0; j < nh; j++) dh[j] = t.hh[r * nh + j];
            for (size_t i = 0; i < nv; i++) {
                double a = 0;
                for (size_t j = 0; j < nh; j++) a += (double)m->w[i * nh + j] * dh[j];
                wh[i] = a;
            }
            grad_add(m, dv, dh, wh, (r < n ? 1.0 : -1.0) / (double)(n * repeats), g);
        }
    }
    lt_blas_single_end(blas);
    free(dv), free(dh), free(wh);
    trainer_free(&t);
    lt_rbm_free(cp);
    return st;
}

lt_status lt_rbm_grad_exact(const lt_rbm *m, const float *v, size_t n, lt_rbm_grad *g)
{
    size_t nv = m->nv, nh = m->nh;
    int gauss = m->visible == LT_RBM_GAUSSIAN;
    if (nh > 20 || (!gauss && nv + nh > 24))
        return lt_fail(LT_ERR_INVALID, "lt_rbm_grad_exact: the model is too large to enumerate");
    grad_zero(m, g);
    double *dv = lt_malloc(nv, sizeof(double)), *dh = lt_malloc(nh, sizeof(double)),
           *wh = lt_malloc(nv, sizeof(double));
    double *lt = NULL;
    lt_status st = LT_OK;
    if (!dv || !dh || !wh) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    /* data term: E_{h | v}[-dE/dtheta] is linear in h, so h = p(h | v) */
    for (size_t r = 0; r < n; r++) {
        for (size_t i = 0; i < nv; i++) dv[i] = v[r * nv + i];
        for (size_t j = 0; j < nh; j++) {
            double a = m->c[j];
            for (size_t i = 0; i < nv; i++) a += dv[i] * (gauss ? exp(-(double)m->logvar[i]) : 1.0) * m->w[i * nh + j];
            dh[j] = 1.0 / (1.0 + exp(-a));
        }
        /* the variance term holds v_i (W h)_i: linear in h too */
        for (size_t i = 0; i < nv; i++) {
            double a = 0;
            for (size_t j = 0; j < nh; j++) a += (double)m->w[i * nh + j] * dh[j];
            wh[i] = a;
        }
        grad_add(m, dv, dh, wh, 1.0 / (double)n, g);
    }
    /* model term by enumeration */
    size_t H = (size_t)1 << nh, V = gauss ? 1 : (size_t)1 << nv;
    lt = lt_malloc(H * V, sizeof(double));
    if (!lt) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    double mx = -INFINITY;
    for (size_t hi = 0; hi < H; hi++)
        for (size_t vi = 0; vi < V; vi++) {
            double e = 0;
            for (size_t j = 0; j < nh; j++) dh[j] = (double)(hi >> j & 1);
            for (size_t j = 0; j < nh; j++) e += m->c[j] * dh[j];
            if (gauss) {
                /* log of the Gaussian integral over v given h (constants cancel) */
                for (size_t i = 0; i < nv; i++) {
                    double u = 0;
                    for (size_t j = 0; j < nh; j++) u += (double)m->w[i * nh + j] * dh[j];
                    e += (2.0 * m->b[i] * u + u * u) * 0.5 * exp(-(double)m->logvar[i]);
                }
            } else {
                for (size_t i = 0; i < nv; i++) {
                    double x = (double)(vi >> i & 1);
                    e += m->b[i] * x;
                    for (size_t j = 0; j < nh; j++) e += x * m->w[i * nh + j] * dh[j];
                }
            }
            lt[hi * V + vi] = e;
            if (e > mx) mx = e;
        }
    double zs = 0;
    for (size_t t = 0; t < H * V; t++) zs += exp(lt[t] - mx);
    for (size_t hi = 0; hi < H; hi++)
        for (size_t vi = 0; vi < V; vi++) {
            double p = exp(lt[hi * V + vi] - mx) / zs;
            for (size_t j = 0; j < nh; j++) dh[j] = (double)(hi >> j & 1);
            for (size_t i = 0; i < nv; i++) {
                double u = 0;
                for (size_t j = 0; j < nh; j++) u += (double)m->w[i * nh + j] * dh[j];
                wh[i] = u;
            }
            if (gauss) {
                /* E[v_i | h] = b_i + u_i and E[v_i^2 | h] = s_i + (b_i + u_i)^2, so the
                 * expectation of -dE/dtheta, linear in v and v^2, is formed directly */
                for (size_t i = 0; i < nv; i++) {
                    double s = exp((double)m->logvar[i]), mu = m->b[i] + wh[i], is = 1.0 / s;
                    for (size_t j = 0; j < nh; j++) g->w[i * nh + j] -= p * mu * is * dh[j];
                    g->b[i] -= p * (mu - m->b[i]) * is;
                    if (g->logvar) {
                        double ev2 = s + mu * mu, ed2 = ev2 - 2 * m->b[i] * mu + m->b[i] * m->b[i];
                        g->logvar[i] -= p * (0.5 * ed2 * is - mu * wh[i] * is);
                    }
                }
                for (size_t j = 0; j < nh; j++) g->c[j] -= p * dh[j];
            } else {
                for (size_t i = 0; i < nv; i++) dv[i] = (double)(vi >> i & 1);
                grad_add(m, dv, dh, NULL, -p, g);
            }
        }
done:
    free(lt);
    free(dv), free(dh), free(wh);
    return st;
}
