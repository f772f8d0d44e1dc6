/* Deep Boltzmann machines: greedy pretraining with doubled inputs, joint
 * training by mean field and persistent chains, exact and AIS partition
 * functions, the mean-field lower bound, Gibbs sampling.
 *
 * The math is in include/latent/dbm.h. References: Salakhutdinov and Hinton
 * (2009), "Deep Boltzmann machines", AISTATS; Salakhutdinov and Hinton
 * (2012), "An efficient learning procedure for deep Boltzmann machines",
 * Neural Computation 24(8); Salakhutdinov and Larochelle (2010), "Efficient
 * learning of deep Boltzmann machines" (the doubled bottom-up start of mean
 * field); Neal (2001), "Annealed importance sampling"; Tieleman (2008)
 * (persistent chains).
 *
 * Layout: a layer of `rows` rows is a matrix (pointer, leading dimension),
 * and a set of layers a `view`, so that the same kernels run on data rows,
 * chain rows and scratch. The kernels on a block of rows are single
 * threaded; callers split rows into blocks fixed by the sizes, or share the
 * column blocks of lt_sgemm_blocks within a parallel region, and every row
 * of random draws has its own stream keyed by (seed, step, row), so no
 * result depends on the thread count.
 */
#include "dbm_internal.h"
#include "rbm_internal.h"

#include "internal.h"
#include "latent/rng.h"
#include "par.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define ROW_CHUNK 64   /* rows per block in scoring, inference and mean field */
#define CHAIN_BLOCK 32 /* chains per block in sampling */
#define AIS_BLOCK 16   /* AIS runs per block */
#define MF_TOL 1e-6f   /* mean field stops when no q moves more than this */
#define LN2 0.6931471805599453

/* ------------------------------------------------------------ layers */

typedef struct view {
    float *x[LT_DBM_MAX_LAYERS];
    size_t ld[LT_DBM_MAX_LAYERS];
} view;

static size_t top(const lt_dbm *m) { return m->n_layers - 1; }

static size_t max_layer(const lt_dbm *m)
{
    size_t mx = 0;
    for (size_t l = 0; l < m->n_layers; l++)
        if (m->sizes[l] > mx) mx = m->sizes[l];
    return mx;
}

size_t lt_dbm_hidden_total(const lt_dbm *m)
{
    size_t t = 0;
    for (size_t l = 1; l < m->n_layers; l++) t += m->sizes[l];
    return t;
}

/* pre (rows x n_l) = sb X_{l-1} W_{l-1} + sa X_{l+1} W_l' (a term with a
 * zero factor, or past the ends, left out). */
static void layer_input(const lt_dbm *m, const view *X, size_t l, size_t rows, float sb, float sa, float *pre)
{
    size_t n = m->sizes[l];
    float beta = 0.0f;
    if (l > 0 && sb != 0.0f) {
        lt_sgemm1(0, 0, rows, n, m->sizes[l - 1], sb, X->x[l - 1], X->ld[l - 1], m->w[l - 1], n, 0.0f, pre, n);
        beta = 1.0f;
    }
    if (l < top(m) && sa != 0.0f)
        lt_sgemm1(0, 1, rows, n, m->sizes[l + 1], sa, X->x[l + 1], X->ld[l + 1], m->w[l], m->sizes[l + 1], beta, pre,
                  n);
    else if (beta == 0.0f)
        memset(pre, 0, rows * n * sizeof(float));
}

/* Bernoulli draws of layer l from p = sigmoid(pre + bias) (or p itself when
 * pre is NULL), into X->x[l], one stream per row. */
static void draw_layer(const lt_dbm *m, const view *X, size_t l, size_t rows, const float *pre, const float *bias,
                       float scale, lt_rng *rng)
{
    size_t n = m->sizes[l];
    for (size_t r = 0; r < rows; r++) {
        float *x = X->x[l] + r * X->ld[l];
        for (size_t j = 0; j < n; j++) {
            float p = pre ? lt_sigmoidf(scale * pre[r * n + j] + bias[j]) : x[j];
            x[j] = lt_uniformf(rng + r) < p ? 1.0f : 0.0f;
        }
    }
}

/* Mean field on a block of rows: X->x[0] holds v, X->x[1..L] receive q.
 * Started by the doubled bottom-up pass, then up to `iters` sweeps. */
static void mf_rows(const lt_dbm *m, const view *X, size_t rows, size_t iters, float damp, float *pre)
{
    size_t L = top(m);
    for (size_t l = 1; l <= L; l++) {
        size_t n = m->sizes[l];
        layer_input(m, X, l, rows, l < L ? 2.0f : 1.0f, 0.0f, pre);
        for (size_t r = 0; r < rows; r++)
            for (size_t j = 0; j < n; j++) X->x[l][r * X->ld[l] + j] = lt_sigmoidf(pre[r * n + j] + m->b[l][j]);
    }
    for (size_t it = 0; it < iters; it++) {
        float moved = 0.0f;
        for (size_t l = 1; l <= L; l++) {
            size_t n = m->sizes[l];
            layer_input(m, X, l, rows, 1.0f, 1.0f, pre);
            for (size_t r = 0; r < rows; r++) {
                float *q = X->x[l] + r * X->ld[l];
                for (size_t j = 0; j < n; j++) {
                    float qn = (1.0f - damp) * lt_sigmoidf(pre[r * n + j] + m->b[l][j]) + damp * q[j];
                    float d = fabsf(qn - q[j]);
                    if (d > moved) moved = d;
                    q[j] = qn;
                }
            }
        }
        if (moved < MF_TOL) break;
    }
}

/* One Gibbs step on a block of chains: S holds the even layers' states and
 * the odd layers' probabilities given them; T is scratch for the odd
 * layers' draws. The odd layers are drawn, the even ones drawn given them,
 * and the odd probabilities recomputed given the new even states. */
static void gibbs_rows(const lt_dbm *m, const view *S, const view *T, size_t rows, lt_rng *rng, float *pre)
{
    size_t L = top(m);
    view U = *S; /* even layers from S, odd ones from T */
    for (size_t l = 1; l <= L; l += 2) {
        size_t n = m->sizes[l];
        for (size_t r = 0; r < rows; r++) memcpy(T->x[l] + r * T->ld[l], S->x[l] + r * S->ld[l], n * sizeof(float));
        draw_layer(m, T, l, rows, NULL, NULL, 1.0f, rng);
        U.x[l] = T->x[l], U.ld[l] = T->ld[l];
    }
    for (size_t l = 0; l <= L; l += 2) {
        layer_input(m, &U, l, rows, 1.0f, 1.0f, pre);
        draw_layer(m, S, l, rows, pre, m->b[l], 1.0f, rng);
    }
    for (size_t l = 1; l <= L; l += 2) {
        size_t n = m->sizes[l];
        layer_input(m, S, l, rows, 1.0f, 1.0f, pre);
        for (size_t r = 0; r < rows; r++)
            for (size_t j = 0; j < n; j++) S->x[l][r * S->ld[l] + j] = lt_sigmoidf(pre[r * n + j] + m->b[l][j]);
    }
}

/* Chains started from mean-field posteriors already in S (v in x[0], q in
 * the hidden layers): the even layers are drawn from them, the odd layers'
 * probabilities computed given the draws. */
static void start_chains(const lt_dbm *m, const view *S, size_t rows, lt_rng *rng, float *pre)
{
    size_t L = top(m);
    for (size_t l = 0; l <= L; l += 2) draw_layer(m, S, l, rows, NULL, NULL, 1.0f, rng);
    for (size_t l = 1; l <= L; l += 2) {
        size_t n = m->sizes[l];
        layer_input(m, S, l, rows, 1.0f, 1.0f, pre);
        for (size_t r = 0; r < rows; r++)
            for (size_t j = 0; j < n; j++) S->x[l][r * S->ld[l] + j] = lt_sigmoidf(pre[r * n + j] + m->b[l][j]);
    }
}

/* ------------------------------------------------------------ objects */

void lt_dbm_options_default(lt_dbm_options *o)
{
    memset(o, 0, sizeof *o);
    o->n_hidden[0] = o->n_hidden[1] = 64;
    o->n_hidden_layers = 2;
    o->pretrain_epochs = 10;
    o->pretrain_lr = 0.05;
    o->cd_k = 1;
    o->epochs = 10;
    o->batch = 100;
    o->chains = 100;
    o->chain_steps = 1;
    o->mf_iters = 10;
    o->damping = 0;
    o->lr = 0.01;
    o->momentum = 0;
    o->pretrain_momentum = 0.9;
    o->weight_decay = 2e-4;
    o->init_std = 0.01;
}

lt_status lt_dbm_create(size_t n_layers, const size_t *sizes, lt_dbm **out)
{
    *out = NULL;
    if (n_layers < 3 || n_layers > LT_DBM_MAX_LAYERS)
        return lt_fail(LT_ERR_INVALID, "a deep Boltzmann machine has 2 to %d hidden layers, not %zu",
                       LT_DBM_MAX_LAYERS - 1, n_layers > 0 ? n_layers - 1 : 0);
    size_t total = 0;
    for (size_t l = 0; l < n_layers; l++) {
        if (sizes[l] == 0 || sizes[l] > ((size_t)1 << 24))
            return lt_fail(LT_ERR_INVALID, "layer %zu of %zu units is not a valid size", l, sizes[l]);
        total += sizes[l];
        if (l + 1 < n_layers) total += sizes[l] * (sizes[l + 1] <= ((size_t)1 << 24) ? sizes[l + 1] : 0);
    }
    if (total > ((size_t)1 << 31)) return lt_fail(LT_ERR_INVALID, "%zu parameters are too many for one model", total);
    lt_dbm *m = lt_calloc(1, sizeof *m);
    if (!m) return LT_ERR_NOMEM;
    m->n_layers = n_layers;
    memcpy(m->sizes, sizes, n_layers * sizeof(size_t));
    m->n_params = total;
    m->params = lt_calloc(total, sizeof(float));
    m->data_mean = lt_malloc(sizes[0], sizeof(float));
    if (!m->params || !m->data_mean) {
        lt_dbm_free(m);
        return LT_ERR_NOMEM;
    }
    float *p = m->params;
    for (size_t l = 0; l + 1 < n_layers; l++) m->w[l] = p, p += sizes[l] * sizes[l + 1];
    for (size_t l = 0; l < n_layers; l++) m->b[l] = p, p += sizes[l];
    for (size_t i = 0; i < sizes[0]; i++) m->data_mean[i] = 0.5f;
    *out = m;
    return LT_OK;
}

void lt_dbm_free(lt_dbm *m)
{
    if (!m) return;
    free(m->params);
    free(m->data_mean);
    free(m);
}

lt_status lt_dbm_copy(const lt_dbm *m, lt_dbm **out)
{
    lt_dbm *r;
    LT_CHECK(lt_dbm_create(m->n_layers, m->sizes, &r));
    float *params = r->params, *dm = r->data_mean, *w[LT_DBM_MAX_LAYERS - 1], *b[LT_DBM_MAX_LAYERS];
    memcpy(w, r->w, sizeof w);
    memcpy(b, r->b, sizeof b);
    *r = *m;
    r->params = params, r->data_mean = dm;
    memcpy(r->w, w, sizeof w);
    memcpy(r->b, b, sizeof b);
    memcpy(params, m->params, m->n_params * sizeof(float));
    memcpy(dm, m->data_mean, m->sizes[0] * sizeof(float));
    *out = r;
    return LT_OK;
}

/* Every value finite and in [0, 1]; the message names the first offending
 * row and column (1-based, as the readers count). */
static lt_status check_data(const float *x, size_t n, size_t nv)
{
    for (size_t t = 0; t < n * nv; t++) {
        float v = x[t];
        if (!isfinite(v))
            return lt_fail(LT_ERR_NUMERIC, "row %zu, column %zu: %s is not a number the model can use", t / nv + 1,
                           t % nv + 1, isnan(v) ? "NaN" : "infinity");
        if (v < 0.0f || v > 1.0f)
            return lt_fail(LT_ERR_INVALID,
                           "row %zu, column %zu: %g is outside [0, 1], which the binary visible units need "
                           "(rescale or binarize the data)",
                           t / nv + 1, t % nv + 1, (double)v);
    }
    return LT_OK;
}

static lt_status check_options(const lt_dbm_options *o)
{
    if (o->batch < 1) return lt_fail(LT_ERR_INVALID, "--batch: must be at least 1");
    if (o->chains < 1) return lt_fail(LT_ERR_INVALID, "--chains: at least one persistent chain");
    if (o->cd_k < 1) return lt_fail(LT_ERR_INVALID, "--cd: at least one Gibbs step per pretraining update");
    if (o->chain_steps < 1) return lt_fail(LT_ERR_INVALID, "--chain-steps: at least one Gibbs step per update");
    if (!(o->lr > 0) || !isfinite(o->lr)) return lt_fail(LT_ERR_INVALID, "--lr: must be a positive number");
    if (!(o->pretrain_lr > 0) || !isfinite(o->pretrain_lr))
        return lt_fail(LT_ERR_INVALID, "--pretrain-lr: must be a positive number");
    if (!(o->momentum >= 0 && o->momentum < 1)) return lt_fail(LT_ERR_INVALID, "--momentum: must be in [0, 1)");
    if (!(o->pretrain_momentum >= 0 && o->pretrain_momentum < 1))
        return lt_fail(LT_ERR_INVALID, "--pretrain-momentum: must be in [0, 1)");
    if (!(o->damping >= 0 && o->damping < 1)) return lt_fail(LT_ERR_INVALID, "--damping: must be in [0, 1)");
    if (!(o->weight_decay >= 0) || !isfinite(o->weight_decay))
        return lt_fail(LT_ERR_INVALID, "--weight-decay: must be >= 0");
    if (!(o->init_std >= 0) || !isfinite(o->init_std))
        return lt_fail(LT_ERR_INVALID, "the initial weight scale must be >= 0");
    return LT_OK;
}

static int params_finite(const lt_dbm *m)
{
    float acc = 0;
    for (size_t t = 0; t < m->n_params; t++) acc += m->params[t] * 0.0f;
    return acc == 0.0f;
}

static float logit_clamped(double p)
{
    p = p < 1e-3 ? 1e-3 : p > 1 - 1e-3 ? 1 - 1e-3 : p;
    return (float)log(p / (1 - p));
}

/* ------------------------------------------------------------ pretraining */

/* One RBM of the stack, between layers l and l + 1 of the DBM: weights
 * m->w[l], its own visible and hidden biases, the input doubled upwards by
 * `up` and downwards by `down` (1 or 2). Trained by CD-k on d (n x nv). */
static lt_status pretrain_rbm(lt_dbm *m, size_t l, const lt_dbm_options *o, const float *d, size_t n, float up,
                              float down, float *bv, float *bh)
{
    size_t nv = m->sizes[l], nh = m->sizes[l + 1], B = o->batch < n ? o->batch : n, nb = (n + B - 1) / B;
    float *W = m->w[l];
    float *V = lt_malloc(2 * B * nv, sizeof(float)), *H = lt_malloc(2 * B * nh, sizeof(float));
    float *Hs = lt_malloc(B * nh, sizeof(float)), *Y = lt_malloc(2 * B * nh, sizeof(float));
    float *vw = lt_calloc(nv * nh, sizeof(float)), *vbv = lt_calloc(nv, sizeof(float)),
          *vbh = lt_calloc(nh, sizeof(float));
    double *err = lt_malloc(B, sizeof(double));
    size_t *perm = lt_malloc(n, sizeof(size_t));
    lt_rng *rng = lt_malloc(B, sizeof(lt_rng));
    lt_status st = LT_OK;
    if (!V || !H || !Hs || !Y || !vw || !vbv || !vbh || !err || !perm || !rng) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    /* visible biases from the data's log-odds (Hinton's guide), hidden 0 */
    for (size_t i = 0; i < nv; i++) {
        double s = 0;
        for (size_t r = 0; r < n; r++) s += d[r * nv + i];
        bv[i] = logit_clamped((s + 0.5) / ((double)n + 1.0));
    }
    memset(bh, 0, nh * sizeof(float));
    for (size_t i = 0; i < n; i++) perm[i] = i;
    int T = lt_threads(o->threads), blas = lt_blas_single_begin();
    for (size_t e = 0; e < o->pretrain_epochs; e++) {
        lt_rng g;
        lt_row_rng(&g, o->seed, ((uint64_t)0xdb0 << 40) + l, e);
        for (size_t i = n; i > 1; i--) {
            size_t j = (size_t)lt_rng_below(&g, i), tmp = perm[i - 1];
            perm[i - 1] = perm[j], perm[j] = tmp;
        }
        float mom = (float)(e < 5 ? (o->pretrain_momentum < 0.5 ? o->pretrain_momentum : 0.5) : o->pretrain_momentum);
        float lr = (float)o->pretrain_lr, dec = (float)(o->pretrain_lr * o->weight_decay);
        double sse = 0;
#pragma omp parallel num_threads(T) if (B * nv * nh >= ((size_t)1 << 18))
        for (size_t bi = 0; bi < nb; bi++) {
            size_t r0 = bi * B, bn = r0 + B <= n ? B : n - r0;
            uint64_t key = ((uint64_t)(l + 1) << 56) + ((uint64_t)e << 28) + bi;
            float *Vr = V + bn * nv, *Hr = H + bn * nh;
#pragma omp for schedule(static)
            for (size_t r = 0; r < bn; r++) {
                memcpy(V + r * nv, d + perm[r0 + r] * nv, nv * sizeof(float));
                lt_row_rng(rng + r, o->seed, key, r);
            }
            lt_sgemm_blocks(0, 0, bn, nh, nv, up, V, nv, W, nh, 0.0f, H, nh);
#pragma omp for schedule(static)
            for (size_t r = 0; r < bn; r++)
                for (size_t j = 0; j < nh; j++) {
                    float p = lt_sigmoidf(H[r * nh + j] + bh[j]);
                    H[r * nh + j] = p;
                    Hs[r * nh + j] = lt_uniformf(rng + r) < p ? 1.0f : 0.0f;
                }
            for (size_t s = 0; s < o->cd_k; s++) {
                lt_sgemm_blocks(0, 1, bn, nv, nh, down, Hs, nh, W, nh, 0.0f, Vr, nv);
#pragma omp for schedule(static)
                for (size_t r = 0; r < bn; r++) {
                    double e2 = 0;
                    for (size_t i = 0; i < nv; i++) {
                        float p = lt_sigmoidf(Vr[r * nv + i] + bv[i]);
                        double dd = (double)V[r * nv + i] - p;
                        e2 += dd * dd;
                        Vr[r * nv + i] = lt_uniformf(rng + r) < p ? 1.0f : 0.0f;
                    }
                    if (s == 0) err[r] = e2;
                }
                lt_sgemm_blocks(0, 0, bn, nh, nv, up, Vr, nv, W, nh, 0.0f, Hr, nh);
                int last = s + 1 == o->cd_k;
#pragma omp for schedule(static)
                for (size_t r = 0; r < bn; r++)
                    for (size_t j = 0; j < nh; j++) {
                        float p = lt_sigmoidf(Hr[r * nh + j] + bh[j]);
                        Hr[r * nh + j] = p;
                        if (!last) Hs[r * nh + j] = lt_uniformf(rng + r) < p ? 1.0f : 0.0f;
                    }
            }
            /* W: vel = mom vel + lr (V' D H), D = diag(1/bn .., -1/bn ..) */
#pragma omp for schedule(static)
            for (size_t r = 0; r < 2 * bn; r++) {
                float f = (r < bn ? lr : -lr) / (float)bn;
                for (size_t j = 0; j < nh; j++) Y[r * nh + j] = f * H[r * nh + j];
            }
            lt_sgemm_blocks(1, 0, nv, nh, 2 * bn, 1.0f, V, nv, Y, nh, mom, vw, nh);
#pragma omp for schedule(static)
            for (size_t i = 0; i < nv; i++) {
                double a = 0;
                for (size_t r = 0; r < bn; r++) a += (double)V[r * nv + i] - Vr[r * nv + i];
                for (size_t j = 0; j < nh; j++) {
                    vw[i * nh + j] -= dec * W[i * nh + j];
                    W[i * nh + j] += vw[i * nh + j];
                }
                vbv[i] = mom * vbv[i] + lr * (float)(a / (double)bn);
                bv[i] += vbv[i];
            }
#pragma omp for schedule(static)
            for (size_t j = 0; j < nh; j++) {
                double a = 0;
                for (size_t r = 0; r < bn; r++) a += (double)H[r * nh + j] - Hr[r * nh + j];
                vbh[j] = mom * vbh[j] + lr * (float)(a / (double)bn);
                bh[j] += vbh[j];
            }
#pragma omp single
            for (size_t r = 0; r < bn; r++) sse += err[r];
        }
        int ok = 1;
        float acc = 0;
        for (size_t t = 0; t < nv * nh; t++) acc += W[t] * 0.0f;
        for (size_t i = 0; i < nv; i++) acc += bv[i] * 0.0f;
        for (size_t j = 0; j < nh; j++) acc += bh[j] * 0.0f;
        ok = acc == 0.0f;
        if (!ok) {
            st = lt_fail(LT_ERR_NUMERIC,
                         "pretraining layer %zu diverged in epoch %zu (the parameters are no longer finite); "
                         "try a smaller --pretrain-lr",
                         l + 1, e + 1);
            break;
        }
        if (o->progress) {
            char stage[32];
            snprintf(stage, sizeof stage, "pretrain %zu/%zu", l + 1, top(m));
            o->progress(o->progress_ud, stage, e + 1, o->pretrain_epochs, sse / (double)n);
        }
    }
    lt_blas_single_end(blas);
done:
    free(V), free(H), free(Hs), free(Y), free(vw), free(vbv), free(vbh), free(err), free(perm), free(rng);
    return st;
}

lt_status lt_dbm_pretrain(lt_dbm *m, const lt_dbm_options *o, const float *x, size_t n)
{
    if (n == 0) return lt_fail(LT_ERR_INVALID, "no samples to train on");
    LT_CHECK(check_options(o));
    LT_CHECK(check_data(x, n, m->sizes[0]));
    size_t L = top(m), mx = max_layer(m);
    float *bv = lt_malloc(L * mx, sizeof(float)), *bh = lt_malloc(L * mx, sizeof(float));
    float *cur = NULL;
    lt_status st = LT_OK;
    if (!bv || !bh) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    lt_rng g;
    lt_rng_seed(&g, o->seed);
    for (size_t l = 0; l < L; l++)
        for (size_t t = 0; t < m->sizes[l] * m->sizes[l + 1]; t++)
            m->w[l][t] = (float)(o->init_std * lt_rng_normal(&g));
    const float *d = x;
    int T = lt_threads(o->threads);
    for (size_t l = 0; l < L; l++) {
        float up = l + 1 < L ? 2.0f : 1.0f, down = l > 0 ? 2.0f : 1.0f;
        if ((st = pretrain_rbm(m, l, o, d, n, up, down, bv + l * mx, bh + l * mx))) goto done;
        if (l + 1 == L) break;
        /* the next RBM's data: this one's doubled-input posteriors */
        size_t nv = m->sizes[l], nh = m->sizes[l + 1], nc = (n + ROW_CHUNK - 1) / ROW_CHUNK;
        int ok = 1;
        float *nx = lt_malloc(lt_mul_size(n, nh, &ok), sizeof(float));
        if (!nx || !ok) {
            free(nx);
            st = lt_fail(LT_ERR_NOMEM, "%zu rows of %zu units do not fit in memory", n, nh);
            goto done;
        }
        const float *c = bh + l * mx, *W = m->w[l];
        int blas = lt_blas_single_begin();
#pragma omp parallel for schedule(static) num_threads(T)
        for (size_t ch = 0; ch < nc; ch++) {
            size_t r0 = ch * ROW_CHUNK, rows = r0 + ROW_CHUNK <= n ? ROW_CHUNK : n - r0;
            lt_sgemm1(0, 0, rows, nh, nv, up, d + r0 * nv, nv, W, nh, 0.0f, nx + r0 * nh, nh);
            for (size_t t = r0 * nh; t < (r0 + rows) * nh; t++) nx[t] = lt_sigmoidf(nx[t] + c[t % nh]);
        }
        lt_blas_single_end(blas);
        free(cur);
        d = cur = nx;
    }
    /* composed: each hidden layer's bias is the mean of the two RBMs' */
    memcpy(m->b[0], bv, m->sizes[0] * sizeof(float));
    memcpy(m->b[L], bh + (L - 1) * mx, m->sizes[L] * sizeof(float));
    for (size_t l = 1; l < L; l++)
        for (size_t j = 0; j < m->sizes[l]; j++) m->b[l][j] = 0.5f * (bh[(l - 1) * mx + j] + bv[l * mx + j]);
    m->pretrain_epochs = o->pretrain_epochs;
done:
    free(bv), free(bh), free(cur);
    return st;
}

/* ------------------------------------------------------------ joint training */

typedef struct trainer {
    lt_dbm *m;
    size_t bmax, P, rows;           /* data rows, chains, both */
    float *X[LT_DBM_MAX_LAYERS];    /* rows x n_l: data rows [0, bmax) (v, q), chains [bmax, rows) */
    float *Tq[LT_DBM_MAX_LAYERS];   /* P x n_l: the chains' odd-layer draws */
    float *Y;                       /* rows x nmax: scaled copy for the weight update */
    float *pre;                     /* threads x ROW_CHUNK x nmax */
    float *vel;                     /* n_params: momentum */
    lt_rng *rng;                    /* max(bmax, P) streams */
    size_t *perm;
    int started, threads;
} trainer;

static void trainer_free(trainer *t)
{
    for (size_t l = 0; l < LT_DBM_MAX_LAYERS; l++) free(t->X[l]), free(t->Tq[l]);
    free(t->Y), free(t->pre), free(t->vel), free(t->rng), free(t->perm);
}

static lt_status trainer_init(trainer *t, lt_dbm *m, size_t bmax, size_t P, size_t n, int threads)
{
    memset(t, 0, sizeof *t);
    t->m = m, t->bmax = bmax, t->P = P, t->rows = bmax + P, t->threads = lt_threads(threads);
    size_t mx = max_layer(m), L = top(m);
    int ok = 1;
    for (size_t l = 0; l <= L; l++) {
        ok &= (t->X[l] = lt_calloc(t->rows * m->sizes[l], sizeof(float))) != NULL;
        if (l % 2) ok &= (t->Tq[l] = lt_calloc(P * m->sizes[l], sizeof(float))) != NULL;
    }
    t->Y = lt_malloc(t->rows * mx, sizeof(float));
    t->pre = lt_malloc((size_t)t->threads * ROW_CHUNK * mx, sizeof(float));
    t->vel = lt_calloc(m->n_params, sizeof(float));
    t->rng = lt_malloc(bmax > P ? bmax : P, sizeof(lt_rng));
    t->perm = lt_malloc(n ? n : 1, sizeof(size_t));
    if (!ok || !t->Y || !t->pre || !t->vel || !t->rng || !t->perm) {
        trainer_free(t);
        return LT_ERR_NOMEM;
    }
    return LT_OK;
}

static view rows_view(const trainer *t, size_t r0, float *const *X)
{
    view V = {{0}, {0}};
    for (size_t l = 0; l < t->m->n_layers; l++)
        V.x[l] = X[l] ? X[l] + r0 * t->m->sizes[l] : NULL, V.ld[l] = t->m->sizes[l];
    return V;
}

/* Mean field over data rows [0, bn) (v already in X[0]). Every thread of the
 * team calls it. */
static void tr_mean_field(trainer *t, size_t bn, size_t iters, float damp)
{
    size_t nc = (bn + ROW_CHUNK - 1) / ROW_CHUNK, mx = max_layer(t->m);
    float *pre = t->pre + (size_t)omp_get_thread_num() * ROW_CHUNK * mx;
#pragma omp for schedule(static)
    for (size_t ch = 0; ch < nc; ch++) {
        size_t r0 = ch * ROW_CHUNK, rows = r0 + ROW_CHUNK <= bn ? ROW_CHUNK : bn - r0;
        view V = rows_view(t, r0, t->X);
        mf_rows(t->m, &V, rows, iters, damp, pre);
    }
}

/* Chains started from the mean-field posteriors of data rows [0, bn)
 * (chain r from row r mod bn). */
static void tr_start_chains(trainer *t, size_t bn, uint64_t seed, uint64_t key)
{
    const lt_dbm *m = t->m;
    size_t P = t->P, nc = (P + ROW_CHUNK - 1) / ROW_CHUNK, mx = max_layer(m);
    float *pre = t->pre + (size_t)omp_get_thread_num() * ROW_CHUNK * mx;
#pragma omp for schedule(static)
    for (size_t ch = 0; ch < nc; ch++) {
        size_t r0 = ch * ROW_CHUNK, rows = r0 + ROW_CHUNK <= P ? ROW_CHUNK : P - r0;
        for (size_t r = r0; r < r0 + rows; r++) {
            lt_row_rng(t->rng + r, seed, key, r);
            for (size_t l = 0; l < m->n_layers; l++)
                memcpy(t->X[l] + (t->bmax + r) * m->sizes[l], t->X[l] + (r % bn) * m->sizes[l],
                       m->sizes[l] * sizeof(float));
        }
        view S = rows_view(t, t->bmax + r0, t->X);
        start_chains(m, &S, rows, t->rng + r0, pre);
    }
}

static void tr_gibbs(trainer *t, uint64_t seed, uint64_t key)
{
    const lt_dbm *m = t->m;
    size_t P = t->P, nc = (P + ROW_CHUNK - 1) / ROW_CHUNK, mx = max_layer(m);
    float *pre = t->pre + (size_t)omp_get_thread_num() * ROW_CHUNK * mx;
#pragma omp for schedule(static)
    for (size_t ch = 0; ch < nc; ch++) {
        size_t r0 = ch * ROW_CHUNK, rows = r0 + ROW_CHUNK <= P ? ROW_CHUNK : P - r0;
        for (size_t r = r0; r < r0 + rows; r++) lt_row_rng(t->rng + r, seed, key, r);
        view S = rows_view(t, t->bmax + r0, t->X), Tv = rows_view(t, r0, t->Tq);
        gibbs_rows(m, &S, &Tv, rows, t->rng + r0, pre);
    }
}

/* The update from data rows [0, bn) and the chains: for each W_l,
 * vel = mom vel + lr (X_l' D X_{l+1}) with D = diag(1/bn on the data rows,
 * 0 on unused ones, -1/P on the chains), then decay; biases alike. */
static void tr_update(trainer *t, size_t bn, float lr, float mom, float decay)
{
    lt_dbm *m = t->m;
    size_t L = top(m), P = t->P, rows = t->rows, bmax = t->bmax;
    float *vw = t->vel;
    for (size_t l = 0; l < L; l++) {
        size_t n0 = m->sizes[l], n1 = m->sizes[l + 1];
#pragma omp for schedule(static)
        for (size_t r = 0; r < rows; r++) {
            float f = r < bn ? lr / (float)bn : r < bmax ? 0.0f : -lr / (float)P;
            for (size_t j = 0; j < n1; j++) t->Y[r * n1 + j] = f * t->X[l + 1][r * n1 + j];
        }
        lt_sgemm_blocks(1, 0, n0, n1, rows, 1.0f, t->X[l], n0, t->Y, n1, mom, vw, n1);
        float *W = m->w[l];
#pragma omp for schedule(static)
        for (size_t i = 0; i < n0; i++)
            for (size_t j = 0; j < n1; j++) {
                vw[i * n1 + j] -= lr * decay * W[i * n1 + j];
                W[i * n1 + j] += vw[i * n1 + j];
            }
        vw += n0 * n1;
    }
    for (size_t l = 0; l <= L; l++) {
        size_t n = m->sizes[l];
        float *b = m->b[l];
#pragma omp for schedule(static)
        for (size_t j = 0; j < n; j++) {
            double a = 0, z = 0;
            for (size_t r = 0; r < bn; r++) a += t->X[l][r * n + j];
            for (size_t r = bmax; r < rows; r++) z += t->X[l][r * n + j];
            vw[j] = mom * vw[j] + lr * (float)(a / (double)bn - z / (double)P);
            b[j] += vw[j];
        }
        vw += n;
    }
}

lt_status lt_dbm_recon_error(const lt_dbm *m, const float *x, size_t n, size_t iters, double damping, int threads,
                             double *out)
{
    size_t H = lt_dbm_hidden_total(m), nv = m->sizes[0], n1 = m->sizes[1];
    float *q = lt_malloc(n * H + 1, sizeof(float)), *rec = lt_malloc(n * nv + 1, sizeof(float));
    lt_status st = LT_OK;
    if (!q || !rec) st = LT_ERR_NOMEM;
    if (!st) st = lt_dbm_mean_field(m, x, n, iters, damping, threads, q);
    if (!st) {
        int blas = lt_blas_single_begin();
        lt_sgemm1(0, 1, n, nv, n1, 1.0f, q, H, m->w[0], n1, 0.0f, rec, nv);
        lt_blas_single_end(blas);
        double s = 0;
        for (size_t t = 0; t < n * nv; t++) {
            double d = (double)x[t] - lt_sigmoidf(rec[t] + m->b[0][t % nv]);
            s += d * d;
        }
        *out = s / (double)n;
    }
    free(q), free(rec);
    return st;
}

lt_status lt_dbm_train(lt_dbm *m, const lt_dbm_options *o, const float *x, size_t n)
{
    if (n == 0) return lt_fail(LT_ERR_INVALID, "no samples to train on");
    LT_CHECK(check_options(o));
    LT_CHECK(check_data(x, n, m->sizes[0]));
    size_t bmax = o->batch < n ? o->batch : n, nb = (n + bmax - 1) / bmax, total = o->epochs * nb, L = top(m);
    trainer t;
    LT_CHECK(trainer_init(&t, m, bmax, o->chains, n, o->threads));
    size_t nw = 0;
    for (size_t l = 0; l < L; l++) nw += m->sizes[l] * m->sizes[l + 1];
    int blas = lt_blas_single_begin();
    lt_status st = LT_OK;
    size_t e0 = m->epochs;
    for (size_t i = 0; i < n; i++) t.perm[i] = i;
    for (size_t e = 0; e < o->epochs; e++) {
        lt_rng g;
        lt_row_rng(&g, o->seed, (uint64_t)-1, e0 + e);
        for (size_t i = n; i > 1; i--) {
            size_t j = (size_t)lt_rng_below(&g, i), tmp = t.perm[i - 1];
            t.perm[i - 1] = t.perm[j], t.perm[j] = tmp;
        }
#pragma omp parallel num_threads(t.threads) if ((bmax + o->chains) * nw >= ((size_t)1 << 18))
        for (size_t bi = 0; bi < nb; bi++) {
            size_t r0 = bi * bmax, bn = r0 + bmax <= n ? bmax : n - r0, done = e * nb + bi;
            float lr = (float)(o->lr / (1.0 + 9.0 * (double)done / (double)total));
            uint64_t key = ((uint64_t)(e0 + e) << 32) + ((uint64_t)bi << 8);
#pragma omp for schedule(static)
            for (size_t r = 0; r < bn; r++)
                memcpy(t.X[0] + r * m->sizes[0], x + t.perm[r0 + r] * m->sizes[0], m->sizes[0] * sizeof(float));
            tr_mean_field(&t, bn, o->mf_iters, (float)o->damping);
            if (!t.started) {
                tr_start_chains(&t, bn, o->seed, key);
#pragma omp single
                t.started = 1;
            }
            for (size_t s = 0; s < o->chain_steps; s++) tr_gibbs(&t, o->seed, key + 1 + (s % 255));
            tr_update(&t, bn, lr, (float)o->momentum, (float)o->weight_decay);
        }
        if (!params_finite(m)) {
            st = lt_fail(LT_ERR_NUMERIC,
                         "joint training diverged in epoch %zu (the parameters are no longer finite); "
                         "try a smaller --lr",
                         e0 + e + 1);
            break;
        }
        m->epochs = e0 + e + 1;
        if (o->progress || e + 1 == o->epochs) {
            lt_blas_single_end(blas);
            st = lt_dbm_recon_error(m, x, n < 1000 ? n : 1000, o->mf_iters, o->damping, o->threads, &m->recon_error);
            blas = lt_blas_single_begin();
            if (st) break;
            if (o->progress) o->progress(o->progress_ud, "epoch", e + 1, o->epochs, m->recon_error);
        }
    }
    lt_blas_single_end(blas);
    if (st == LT_OK && o->epochs == 0) /* the summary describes the model as it is */
        st = lt_dbm_recon_error(m, x, n < 1000 ? n : 1000, o->mf_iters, o->damping, o->threads, &m->recon_error);
    if (st == LT_OK) {
        m->train_n = n, m->batch = o->batch, m->chains = o->chains, m->mf_iters = o->mf_iters;
        m->lr = o->lr, m->weight_decay = o->weight_decay, m->seed = o->seed;
    }
    trainer_free(&t);
    return st;
}

lt_status lt_dbm_fit(const lt_dbm_options *o, const float *x, size_t n, size_t nv, lt_dbm **out)
{
    *out = NULL;
    if (n == 0) return lt_fail(LT_ERR_INVALID, "no samples to train on");
    if (o->n_hidden_layers < 2 || o->n_hidden_layers > LT_DBM_MAX_LAYERS - 1)
        return lt_fail(LT_ERR_INVALID, "--hidden: a deep Boltzmann machine needs 2 to %d hidden layers, not %zu",
                       LT_DBM_MAX_LAYERS - 1, o->n_hidden_layers);
    size_t sizes[LT_DBM_MAX_LAYERS];
    sizes[0] = nv;
    for (size_t l = 0; l < o->n_hidden_layers; l++) {
        if (o->n_hidden[l] < 1) return lt_fail(LT_ERR_INVALID, "--hidden: every layer needs at least one unit");
        sizes[l + 1] = o->n_hidden[l];
    }
    LT_CHECK(check_options(o));
    LT_CHECK(check_data(x, n, nv));
    lt_dbm *m;
    LT_CHECK(lt_dbm_create(o->n_hidden_layers + 1, sizes, &m));
    for (size_t i = 0; i < nv; i++) {
        double s = 0;
        for (size_t r = 0; r < n; r++) s += x[r * nv + i];
        m->data_mean[i] = (float)(s / (double)n);
        m->b[0][i] = logit_clamped((s + 0.5) / ((double)n + 1.0));
    }
    lt_status st = LT_OK;
    if (o->pretrain_epochs > 0) st = lt_dbm_pretrain(m, o, x, n);
    else {
        lt_rng g;
        lt_rng_seed(&g, o->seed);
        for (size_t l = 0; l + 1 < m->n_layers; l++)
            for (size_t t = 0; t < sizes[l] * sizes[l + 1]; t++) m->w[l][t] = (float)(o->init_std * lt_rng_normal(&g));
    }
    if (st == LT_OK) st = lt_dbm_train(m, o, x, n);
    if (st) {
        lt_dbm_free(m);
        return st;
    }
    *out = m;
    return LT_OK;
}

lt_status lt_dbm_chain_stats(const lt_dbm *m, const float *x, size_t n, size_t chains, size_t burn_in, size_t steps,
                             uint64_t seed, int threads, double *g)
{
    if (n == 0 || chains == 0 || steps == 0) return lt_fail(LT_ERR_INVALID, "lt_dbm_chain_stats: nothing to run");
    LT_CHECK(check_data(x, n, m->sizes[0]));
    size_t bmax = n < chains ? n : chains, L = top(m);
    trainer t;
    LT_CHECK(trainer_init(&t, (lt_dbm *)m, bmax, chains, n, threads));
    memset(g, 0, m->n_params * sizeof(double));
    int blas = lt_blas_single_begin();
    for (size_t r = 0; r < bmax; r++)
        memcpy(t.X[0] + r * m->sizes[0], x + r * m->sizes[0], m->sizes[0] * sizeof(float));
#pragma omp parallel num_threads(t.threads)
    {
        tr_mean_field(&t, bmax, 10, 0.0f);
        tr_start_chains(&t, bmax, seed, 0);
        for (size_t s = 0; s < burn_in + steps; s++) {
            tr_gibbs(&t, seed, s + 1);
            if (s < burn_in) continue;
            /* each weight's and bias's sum over the chains in order, split by rows of W */
            double *gw = g;
            for (size_t l = 0; l < L; l++) {
                size_t n0 = m->sizes[l], n1 = m->sizes[l + 1];
#pragma omp for schedule(static)
                for (size_t i = 0; i < n0; i++)
                    for (size_t r = bmax; r < t.rows; r++) {
                        double a = t.X[l][r * n0 + i];
                        if (a != 0)
                            for (size_t j = 0; j < n1; j++) gw[i * n1 + j] += a * t.X[l + 1][r * n1 + j];
                    }
                gw += n0 * n1;
            }
            for (size_t l = 0; l <= L; l++) {
                size_t nl = m->sizes[l];
#pragma omp for schedule(static)
                for (size_t j = 0; j < nl; j++)
                    for (size_t r = bmax; r < t.rows; r++) gw[j] += t.X[l][r * nl + j];
                gw += nl;
            }
        }
    }
    lt_blas_single_end(blas);
    for (size_t k = 0; k < m->n_params; k++) g[k] /= (double)(chains * steps);
    trainer_free(&t);
    return LT_OK;
}

/* ------------------------------------------------------------ inference */

lt_status lt_dbm_mean_field(const lt_dbm *m, const float *v, size_t n, size_t iters, double damping, int threads,
                            float *out)
{
    if (!(damping >= 0 && damping < 1)) return lt_fail(LT_ERR_INVALID, "--damping: must be in [0, 1)");
    LT_CHECK(check_data(v, n, m->sizes[0]));
    size_t H = lt_dbm_hidden_total(m), mx = max_layer(m), nc = (n + ROW_CHUNK - 1) / ROW_CHUNK;
    int T = lt_threads(threads);
    float *scr = lt_malloc((size_t)T * ROW_CHUNK * mx, sizeof(float));
    if (!scr) return LT_ERR_NOMEM;
    int blas = lt_blas_single_begin();
#pragma omp parallel num_threads(T)
    {
        float *pre = scr + (size_t)omp_get_thread_num() * ROW_CHUNK * mx;
#pragma omp for schedule(static)
        for (size_t ch = 0; ch < nc; ch++) {
            size_t r0 = ch * ROW_CHUNK, rows = r0 + ROW_CHUNK <= n ? ROW_CHUNK : n - r0;
            view V = {{0}, {0}};
            V.x[0] = (float *)v + r0 * m->sizes[0], V.ld[0] = m->sizes[0];
            size_t off = 0;
            for (size_t l = 1; l < m->n_layers; l++) {
                V.x[l] = out + r0 * H + off, V.ld[l] = H;
                off += m->sizes[l];
            }
            mf_rows(m, &V, rows, iters, (float)damping, pre);
        }
    }
    lt_blas_single_end(blas);
    free(scr);
    return LT_OK;
}

/* q log q + (1 - q) log(1 - q), 0 at the ends. */
static double neg_entropy(double q)
{
    double a = q > 0 ? q * log(q) : 0, b = q < 1 ? (1 - q) * log1p(-q) : 0;
    return a + b;
}

lt_status lt_dbm_bound(const lt_dbm *m, const float *v, size_t n, double log_z, size_t iters, double damping,
                       int threads, double *out)
{
    size_t H = lt_dbm_hidden_total(m), nv = m->sizes[0], mx = max_layer(m), L = top(m);
    size_t nc = (n + ROW_CHUNK - 1) / ROW_CHUNK;
    LT_CHECK(check_data(v, n, nv));
    float *q = lt_malloc(n * H + 1, sizeof(float));
    int T = lt_threads(threads);
    float *scr = lt_malloc((size_t)T * ROW_CHUNK * mx, sizeof(float));
    lt_status st = LT_OK;
    if (!q || !scr) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    if ((st = lt_dbm_mean_field(m, v, n, iters, damping, threads, q))) goto done;
    int blas = lt_blas_single_begin();
#pragma omp parallel num_threads(T)
    {
        float *pre = scr + (size_t)omp_get_thread_num() * ROW_CHUNK * mx;
#pragma omp for schedule(static)
        for (size_t ch = 0; ch < nc; ch++) {
            size_t r0 = ch * ROW_CHUNK, rows = r0 + ROW_CHUNK <= n ? ROW_CHUNK : n - r0;
            view V = {{0}, {0}};
            V.x[0] = (float *)v + r0 * nv, V.ld[0] = nv;
            size_t off = 0;
            for (size_t l = 1; l <= L; l++) {
                V.x[l] = q + r0 * H + off, V.ld[l] = H;
                off += m->sizes[l];
            }
            for (size_t r = 0; r < rows; r++) out[r0 + r] = -log_z;
            /* E_Q[-E] = sum_l b_l . q_l + sum_l q_l' W_l q_{l+1}; H(Q) */
            for (size_t l = 0; l <= L; l++) {
                size_t nl = m->sizes[l];
                for (size_t r = 0; r < rows; r++) {
                    const float *x = V.x[l] + r * V.ld[l];
                    double s = 0;
                    for (size_t j = 0; j < nl; j++) {
                        s += (double)m->b[l][j] * x[j];
                        if (l > 0) s -= neg_entropy(x[j]);
                    }
                    out[r0 + r] += s;
                }
                if (l == L) break;
                size_t n1 = m->sizes[l + 1];
                lt_sgemm1(0, 0, rows, n1, nl, 1.0f, V.x[l], V.ld[l], m->w[l], n1, 0.0f, pre, n1);
                for (size_t r = 0; r < rows; r++) {
                    const float *x = V.x[l + 1] + r * V.ld[l + 1];
                    double s = 0;
                    for (size_t j = 0; j < n1; j++) s += (double)pre[r * n1 + j] * x[j];
                    out[r0 + r] += s;
                }
            }
        }
    }
    lt_blas_single_end(blas);
done:
    free(q), free(scr);
    return st;
}

/* ------------------------------------------------------------ sampling */

lt_status lt_dbm_sample(const lt_dbm *m, size_t n, size_t steps, int mean, uint64_t seed, int threads, float *out)
{
    if (n == 0) return LT_OK;
    size_t L = top(m), nv = m->sizes[0], mx = max_layer(m), nc = (n + CHAIN_BLOCK - 1) / CHAIN_BLOCK;
    size_t per = CHAIN_BLOCK * (mx + 2 * lt_dbm_hidden_total(m));
    int T = lt_threads(threads);
    float *scr = lt_malloc((size_t)T * per, sizeof(float));
    lt_rng *rng = lt_malloc(n, sizeof(lt_rng));
    if (!scr || !rng) {
        free(scr), free(rng);
        return LT_ERR_NOMEM;
    }
    int blas = lt_blas_single_begin();
#pragma omp parallel num_threads(T)
    {
        float *pre = scr + (size_t)omp_get_thread_num() * per, *p = pre + CHAIN_BLOCK * mx;
        view S = {{0}, {0}}, Tv = {{0}, {0}};
        for (size_t l = 1; l <= L; l++) {
            S.x[l] = p, S.ld[l] = m->sizes[l], p += CHAIN_BLOCK * m->sizes[l];
            Tv.x[l] = p, Tv.ld[l] = m->sizes[l], p += CHAIN_BLOCK * m->sizes[l];
        }
        S.ld[0] = Tv.ld[0] = nv;
#pragma omp for schedule(static)
        for (size_t ch = 0; ch < nc; ch++) {
            size_t r0 = ch * CHAIN_BLOCK, rows = r0 + CHAIN_BLOCK <= n ? CHAIN_BLOCK : n - r0;
            lt_rng *g = rng + r0;
            S.x[0] = Tv.x[0] = out + r0 * nv;
            /* v from the data's marginals, the hidden layers by a doubled
             * bottom-up pass of draws, the odd layers then as the chains keep them */
            for (size_t r = 0; r < rows; r++) {
                lt_row_rng(g + r, seed, 2, r0 + r);
                for (size_t i = 0; i < nv; i++) S.x[0][r * nv + i] = lt_uniformf(g + r) < m->data_mean[i] ? 1.0f : 0.0f;
            }
            for (size_t l = 1; l <= L; l++) {
                layer_input(m, &S, l, rows, l < L ? 2.0f : 1.0f, 0.0f, pre);
                draw_layer(m, &S, l, rows, pre, m->b[l], 1.0f, g);
            }
            start_chains(m, &S, rows, g, pre);
            for (size_t s = 0; s < steps; s++) {
                gibbs_rows(m, &S, &Tv, rows, g, pre);
                if (s + 1 == steps && mean) {
                    /* p(v = 1 | h_1) from the last draws of h_1 */
                    view U = S;
                    U.x[1] = Tv.x[1];
                    layer_input(m, &U, 0, rows, 1.0f, 1.0f, pre);
                    for (size_t t = 0; t < rows * nv; t++) S.x[0][t] = lt_sigmoidf(pre[t] + m->b[0][t % nv]);
                }
            }
        }
    }
    lt_blas_single_end(blas);
    free(scr), free(rng);
    return LT_OK;
}

/* ------------------------------------------------------------ log Z */

static double logaddexp(double a, double b)
{
    if (a == -INFINITY) return b;
    if (b == -INFINITY) return a;
    return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

lt_status lt_dbm_log_z_exact(const lt_dbm *m, int threads, double *log_z)
{
    size_t L = top(m), bits_p[2] = {0, 0};
    for (size_t l = 0; l <= L; l++) bits_p[l % 2] += m->sizes[l];
    size_t par = bits_p[1] <= bits_p[0] ? 1 : 0, bits = bits_p[par];
    if (bits > 30)
        return lt_fail(LT_ERR_INVALID,
                       "exact log Z would sum 2^%zu terms; that is only done up to 2^30 (use the AIS estimate)", bits);
    /* the enumerated units, and where each summed-out layer starts in `a` */
    size_t lay[30], unit[30], k = 0, coff[LT_DBM_MAX_LAYERS], other = 0;
    for (size_t l = 0; l <= L; l++) {
        if (l % 2 == par)
            for (size_t u = 0; u < m->sizes[l]; u++) lay[k] = l, unit[k++] = u;
        else
            coff[l] = other, other += m->sizes[l];
    }
    size_t blk_bits = bits < 12 ? bits : 12, nblk = (size_t)1 << (bits - blk_bits);
    int T = lt_threads(threads);
    double *part = lt_malloc(nblk, sizeof(double)), *scr = lt_malloc((size_t)T * other, sizeof(double));
    if (!part || !scr) {
        free(part), free(scr);
        return LT_ERR_NOMEM;
    }
#pragma omp parallel num_threads(T)
    {
        double *a = scr + (size_t)omp_get_thread_num() * other;
#pragma omp for schedule(static)
        for (size_t blk = 0; blk < nblk; blk++) {
            uint64_t first = (uint64_t)blk << blk_bits, g = first ^ (first >> 1);
            double lin = 0;
            /* flipping enumerated unit k by sgn moves lin and its neighbours' inputs */
#define FLIP(k, sgn)                                                                                                   \
    do {                                                                                                               \
        size_t l_ = lay[k], u_ = unit[k];                                                                              \
        lin += (sgn) * m->b[l_][u_];                                                                                   \
        if (l_ > 0) {                                                                                                  \
            size_t nb_ = m->sizes[l_ - 1], nl_ = m->sizes[l_];                                                         \
            double *a_ = a + coff[l_ - 1];                                                                             \
            for (size_t j = 0; j < nb_; j++) a_[j] += (sgn) * m->w[l_ - 1][j * nl_ + u_];                              \
        }                                                                                                              \
        if (l_ < L) {                                                                                                  \
            size_t na_ = m->sizes[l_ + 1];                                                                             \
            double *a_ = a + coff[l_ + 1];                                                                             \
            const float *w_ = m->w[l_] + u_ * na_;                                                                     \
            for (size_t j = 0; j < na_; j++) a_[j] += (sgn) * w_[j];                                                   \
        }                                                                                                              \
    } while (0)
            for (size_t l = 0; l <= L; l++)
                if (l % 2 != par)
                    for (size_t j = 0; j < m->sizes[l]; j++) a[coff[l] + j] = m->b[l][j];
            for (size_t kk = 0; kk < bits; kk++)
                if (g >> kk & 1) FLIP(kk, 1.0);
            double t = lin;
            for (size_t j = 0; j < other; j++) t += lt_softplus(a[j]);
            double acc = t;
            for (uint64_t xi = first + 1; xi < first + ((uint64_t)1 << blk_bits); xi++) {
                size_t kk = (size_t)__builtin_ctzll(xi);
                uint64_t g2 = xi ^ (xi >> 1);
                double sgn = (g2 >> kk & 1) ? 1.0 : -1.0;
                FLIP(kk, sgn);
                t = lin;
                for (size_t j = 0; j < other; j++) t += lt_softplus(a[j]);
                acc = logaddexp(acc, t);
            }
#undef FLIP
            part[blk] = acc;
        }
    }
    double lz = -INFINITY;
    for (size_t blk = 0; blk < nblk; blk++) lz = logaddexp(lz, part[blk]);
    free(part), free(scr);
    *log_z = lz;
    return LT_OK;
}

lt_status lt_dbm_ais(const lt_dbm *m, const lt_ais_options *o, lt_ais_result *res)
{
    memset(res, 0, sizeof *res);
    if (o->runs < 2) return lt_fail(LT_ERR_INVALID, "AIS needs at least 2 runs (for a standard error)");
    if (o->betas < 1) return lt_fail(LT_ERR_INVALID, "AIS needs at least one intermediate distribution");
    size_t L = top(m), nv = m->sizes[0], M = o->runs, K = o->betas, nblk = (M + AIS_BLOCK - 1) / AIS_BLOCK;
    size_t mx = max_layer(m), H = lt_dbm_hidden_total(m), per = AIS_BLOCK * (mx + nv + 2 * H);
    int T = lt_threads(o->threads);
    double *beta = lt_malloc(K + 1, sizeof(double)), *logw = lt_calloc(M, sizeof(double));
    float *ba = lt_malloc(nv, sizeof(float)), *scr = lt_malloc((size_t)T * per, sizeof(float));
    lt_rng *rng = lt_malloc(M, sizeof(lt_rng));
    lt_status st = LT_OK;
    if (!beta || !logw || !ba || !scr || !rng) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    lt_ais_beta_grid(K, beta);
    /* the base model A: independent units, v with the data's marginals,
     * the hidden ones uniform */
    double log_za = (double)H * LN2;
    for (size_t i = 0; i < nv; i++) {
        ba[i] = logit_clamped(m->data_mean[i]);
        log_za += lt_softplus(ba[i]);
    }
    int blas = lt_blas_single_begin();
#pragma omp parallel num_threads(T)
    {
        /* S: every layer's current draw; A: the odd layers' full inputs */
        float *pre = scr + (size_t)omp_get_thread_num() * per, *p = pre + AIS_BLOCK * mx;
        view S = {{0}, {0}}, A = {{0}, {0}};
        S.x[0] = p, S.ld[0] = nv, p += AIS_BLOCK * nv;
        for (size_t l = 1; l <= L; l++) {
            S.x[l] = p, S.ld[l] = m->sizes[l], p += AIS_BLOCK * m->sizes[l];
            A.x[l] = p, A.ld[l] = m->sizes[l], p += AIS_BLOCK * m->sizes[l];
        }
#pragma omp for schedule(static)
        for (size_t blk = 0; blk < nblk; blk++) {
            size_t r0 = blk * AIS_BLOCK, rows = r0 + AIS_BLOCK <= M ? AIS_BLOCK : M - r0;
            lt_rng *g = rng + r0;
            for (size_t r = 0; r < rows; r++) {
                lt_row_rng(g + r, o->seed, 3, r0 + r);
                for (size_t l = 0; l <= L; l += 2)
                    for (size_t j = 0; j < m->sizes[l]; j++)
                        S.x[l][r * S.ld[l] + j] =
                            lt_uniformf(g + r) < (l == 0 ? lt_sigmoidf(ba[j]) : 0.5f) ? 1.0f : 0.0f;
            }
            for (size_t k = 1; k <= K; k++) {
                double b0 = beta[k - 1], b1 = beta[k];
                for (size_t l = 1; l <= L; l += 2) {
                    size_t nl = m->sizes[l];
                    layer_input(m, &S, l, rows, 1.0f, 1.0f, A.x[l]);
                    for (size_t t = 0; t < rows * nl; t++) A.x[l][t] += m->b[l][t % nl];
                }
                for (size_t r = 0; r < rows; r++) {
                    double lin = 0, sp = 0;
                    for (size_t i = 0; i < nv; i++) lin += ((double)m->b[0][i] - ba[i]) * S.x[0][r * nv + i];
                    for (size_t l = 2; l <= L; l += 2)
                        for (size_t j = 0; j < m->sizes[l]; j++) lin += (double)m->b[l][j] * S.x[l][r * S.ld[l] + j];
                    for (size_t l = 1; l <= L; l += 2)
                        for (size_t j = 0; j < m->sizes[l]; j++) {
                            double xj = A.x[l][r * A.ld[l] + j];
                            sp += lt_softplus(b1 * xj) - lt_softplus(b0 * xj);
                        }
                    logw[r0 + r] += (b1 - b0) * lin + sp;
                }
                if (k == K) break;
                /* a Gibbs step that leaves p_beta invariant: odd layers, then even */
                float fb = (float)b1;
                for (size_t l = 1; l <= L; l += 2) {
                    size_t nl = m->sizes[l];
                    for (size_t r = 0; r < rows; r++)
                        for (size_t j = 0; j < nl; j++)
                            S.x[l][r * nl + j] =
                                lt_uniformf(g + r) < lt_sigmoidf(fb * A.x[l][r * nl + j]) ? 1.0f : 0.0f;
                }
                for (size_t l = 0; l <= L; l += 2) {
                    size_t nl = m->sizes[l];
                    layer_input(m, &S, l, rows, fb, fb, pre);
                    for (size_t r = 0; r < rows; r++)
                        for (size_t j = 0; j < nl; j++) {
                            float bias = l == 0 ? (1.0f - fb) * ba[j] + fb * m->b[0][j] : fb * m->b[l][j];
                            S.x[l][r * nl + j] = lt_uniformf(g + r) < lt_sigmoidf(pre[r * nl + j] + bias) ? 1.0f : 0.0f;
                        }
                }
            }
        }
    }
    lt_blas_single_end(blas);
    st = lt_ais_summarize(logw, M, K, log_za, res);
done:
    free(beta), free(logw), free(ba), free(scr), free(rng);
    return st;
}
