/* Deep belief nets: greedy layer-wise training of a stack of RBMs, the
 * variational lower bound on log p(v), sampling by Gibbs in the top RBM and
 * a down-pass, and fine-tuning as a classifier. The math is in
 * include/latent/dbn.h. References: Hinton, Osindero and Teh (2006), "A
 * fast learning algorithm for deep belief nets"; Salakhutdinov and Murray
 * (2008), "On the quantitative analysis of deep belief networks"; Hinton
 * and Salakhutdinov (2006), "Reducing the dimensionality of data with
 * neural networks". */
#include "dbn_internal.h"
#include "rbm_internal.h"

#include "internal.h"
#include "par.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#define ROWS 128 /* rows per block in the up-pass, bound and sampling */
#define LOG_2PI 1.8378770664093453

void lt_dbn_options_default(lt_dbn_options *o)
{
    memset(o, 0, sizeof *o);
    lt_rbm_options_default(&o->rbm);
    o->finetune_epochs = 20;
    o->finetune_lr = 0.1;
    o->finetune_batch = 20;
}

void lt_dbn_free(lt_dbn *d)
{
    if (!d) return;
    if (d->rbm)
        for (size_t l = 0; l < d->n_layers; l++) lt_rbm_free(d->rbm[l]);
    free(d->rbm);
    free(d->cls_w);
    free(d->cls_b);
    free(d);
}

static size_t top_units(const lt_dbn *d) { return d->rbm[d->n_layers - 1]->nh; }

/* p(h = 1 | input) of one RBM for `rows` rows (single-threaded BLAS): the
 * input scaled by 1/s for Gaussian units (scratch `sc`, rows x nv). */
static void up_rows(const lt_rbm *m, const float *in, size_t rows, float *sc, float *out)
{
    size_t nv = m->nv, nh = m->nh;
    const float *a = in;
    if (m->visible == LT_RBM_GAUSSIAN) {
        for (size_t t = 0; t < rows * nv; t++) sc[t] = in[t] * expf(-m->logvar[t % nv]);
        a = sc;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)nh, (int)nv, 1.0f, a, (int)nv, m->w,
                (int)nh, 0.0f, out, (int)nh);
    for (size_t t = 0; t < rows * nh; t++) out[t] = lt_sigmoidf(out[t] + m->c[t % nh]);
}

static size_t widest(const lt_dbn *d, size_t nv)
{
    size_t w = nv;
    for (size_t l = 0; l < d->n_layers; l++)
        if (d->rbm[l]->nh > w) w = d->rbm[l]->nh;
    return w;
}

lt_status lt_dbn_up(const lt_dbn *d, const float *x, size_t n, size_t layer, int threads, float *out)
{
    if (layer < 1 || layer > d->n_layers)
        return lt_fail(LT_ERR_INVALID, "layer %zu: a DBN of %zu layers has layers 1 to %zu", layer, d->n_layers,
                       d->n_layers);
    size_t nv = d->rbm[0]->nv, w = widest(d, nv), nc = (n + ROWS - 1) / ROWS, nout = d->rbm[layer - 1]->nh;
    int T = lt_threads(threads);
    float *scr = lt_malloc((size_t)T * ROWS * 3 * w, sizeof(float));
    if (!scr) return LT_ERR_NOMEM;
    int blas = lt_blas_single_begin();
#pragma omp parallel num_threads(T)
    {
        float *a = scr + (size_t)omp_get_thread_num() * ROWS * 3 * w, *b = a + ROWS * w, *sc = b + ROWS * w;
#pragma omp for schedule(static)
        for (size_t ch = 0; ch < nc; ch++) {
            size_t r0 = ch * ROWS, rows = r0 + ROWS <= n ? ROWS : n - r0;
            const float *in = x + r0 * nv;
            for (size_t l = 0; l < layer; l++) {
                float *o = l + 1 == layer ? out + r0 * nout : (l % 2 ? a : b);
                up_rows(d->rbm[l], in, rows, sc, o);
                in = o;
            }
        }
    }
    lt_blas_single_end(blas);
    free(scr);
    return LT_OK;
}

static lt_status check_options(const lt_dbn_options *o, size_t n)
{
    if (o->n_layers < 1 || !o->hidden) return lt_fail(LT_ERR_INVALID, "--hidden: at least one layer of hidden units");
    for (size_t l = 0; l < o->n_layers; l++)
        if (o->hidden[l] < 1) return lt_fail(LT_ERR_INVALID, "--hidden: layer %zu has no units", l + 1);
    if (o->labels) {
        if (o->n_classes < 2) return lt_fail(LT_ERR_INVALID, "--labels: fine-tuning needs at least two classes");
        for (size_t i = 0; i < n; i++)
            if (o->labels[i] < 0 || (size_t)o->labels[i] >= o->n_classes)
                return lt_fail(LT_ERR_INVALID, "--labels: row %zu: label %d is not in 0 .. %zu", i + 1, (int)o->labels[i],
                               o->n_classes - 1);
        if (o->finetune_batch < 1 || !(o->finetune_lr > 0))
            return lt_fail(LT_ERR_INVALID, "--finetune-lr must be positive and the batch at least 1");
    }
    return LT_OK;
}

/* Progress of layer l as a stage of the whole fit. */
typedef struct layer_progress {
    const lt_rbm_options *o;
    size_t layer, layers;
} layer_progress;

static void layer_cb(void *ud, const char *stage, size_t it, size_t mx, double v)
{
    (void)stage;
    const layer_progress *lp = ud;
    char buf[64];
    snprintf(buf, sizeof buf, "layer %zu/%zu", lp->layer + 1, lp->layers);
    lp->o->progress(lp->o->progress_ud, buf, it, mx, v);
}

lt_status lt_dbn_fit(const lt_dbn_options *o, const float *x, size_t n, size_t nv, lt_dbn **out)
{
    *out = NULL;
    if (n == 0) return lt_fail(LT_ERR_INVALID, "no samples to train on");
    LT_CHECK(check_options(o, n));
    lt_dbn *d = lt_calloc(1, sizeof *d);
    if (!d) return LT_ERR_NOMEM;
    lt_status st = LT_OK;
    float *cur = NULL;
    d->rbm = lt_calloc(o->n_layers, sizeof *d->rbm);
    if (!d->rbm) {
        st = LT_ERR_NOMEM;
        goto fail;
    }
    d->n_layers = o->n_layers;
    const float *in = x;
    size_t din = nv;
    for (size_t l = 0; l < o->n_layers; l++) {
        lt_rbm_options ro = o->rbm;
        ro.n_hidden = o->hidden[l];
        if (l > 0) ro.visible = LT_RBM_BERNOULLI, ro.learn_var = 0;
        if (l > 0 && o->rbm.visible == LT_RBM_GAUSSIAN) ro.lr = 0.1; /* the upper layers are Bernoulli */
        ro.seed = o->rbm.seed + l;
        layer_progress lp = {&o->rbm, l, o->n_layers};
        if (o->rbm.progress) ro.progress = layer_cb, ro.progress_ud = &lp;
        if ((st = lt_rbm_fit(&ro, in, n, din, &d->rbm[l]))) {
            if (l > 0) {
                char pre[32];
                snprintf(pre, sizeof pre, "layer %zu", l + 1);
                lt_fail_prefix(st, pre);
            }
            goto fail;
        }
        d->n_layers = l + 1;
        if (l + 1 < o->n_layers) {
            float *next = lt_malloc(n * o->hidden[l] + 1, sizeof(float));
            if (!next) {
                st = LT_ERR_NOMEM;
                goto fail;
            }
            if ((st = lt_dbn_up(d, x, n, l + 1, o->rbm.threads, next))) {
                free(next);
                goto fail;
            }
            free(cur);
            cur = next, in = cur, din = o->hidden[l];
        }
    }
    d->n_layers = o->n_layers;
    free(cur);
    cur = NULL;
    if (o->labels && (st = lt_dbn_finetune(d, o, x, n))) goto fail;
    *out = d;
    return LT_OK;
fail:
    free(cur);
    lt_dbn_free(d);
    return st;
}

/* ------------------------------------------------------------ the bound */

/* log p(x | h) of one row under an RBM's visible conditional, a = b + W h. */
static double log_visible(const lt_rbm *m, const float *x, const float *a)
{
    double s = 0;
    for (size_t i = 0; i < m->nv; i++) {
        double ai = (double)a[i] + m->b[i];
        if (m->visible == LT_RBM_GAUSSIAN) {
            double dd = x[i] - ai, lv = m->logvar[i];
            s -= 0.5 * (LOG_2PI + lv + dd * dd * exp(-lv));
        } else {
            s -= x[i] * lt_softplus(-ai) + (1.0 - x[i]) * lt_softplus(ai);
        }
    }
    return s;
}

/* Entropy of a factorial Bernoulli with probabilities q. */
static double entropy(const float *q, size_t k)
{
    double h = 0;
    for (size_t j = 0; j < k; j++) {
        double p = q[j];
        if (p > 0 && p < 1) h -= p * log(p) + (1 - p) * log1p(-p);
    }
    return h;
}

lt_status lt_dbn_lower_bound(const lt_dbn *d, const float *x, size_t n, double log_z_top, size_t draws,
                             uint64_t seed, int threads, double *out)
{
    if (draws < 1) return lt_fail(LT_ERR_INVALID, "the bound needs at least one draw from Q");
    size_t L = d->n_layers, nv = d->rbm[0]->nv, w = widest(d, nv);
    const lt_rbm *top = d->rbm[L - 1];
    if (L == 1) return lt_rbm_log_prob(top, x, n, log_z_top, threads, out);
    int T = lt_threads(threads);
    /* per thread: q, h (one per layer), a, scratch */
    size_t per = (2 * L + 2) * w;
    float *scr = lt_malloc((size_t)T * per, sizeof(float));
    if (!scr) return LT_ERR_NOMEM;
    int blas = lt_blas_single_begin();
#pragma omp parallel num_threads(T)
    {
        float *base = scr + (size_t)omp_get_thread_num() * per;
        float *a = base + 2 * L * w, *sc = a + w;
#pragma omp for schedule(static)
        for (size_t r = 0; r < n; r++) {
            const float *v = x + r * nv;
            double acc = 0;
            for (size_t s = 0; s < draws; s++) {
                lt_rng g;
                lt_row_rng(&g, seed, s, r);
                const float *below = v;
                double sum = 0;
                /* draw h_1 .. h_{L-1} from Q, layer by layer */
                for (size_t l = 0; l + 1 < L; l++) {
                    const lt_rbm *m = d->rbm[l];
                    float *q = base + 2 * l * w, *h = q + w;
                    up_rows(m, below, 1, sc, q);
                    sum += entropy(q, m->nh);
                    for (size_t j = 0; j < m->nh; j++) h[j] = lt_uniformf(&g) < q[j] ? 1.0f : 0.0f;
                    /* log p(below | h) */
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)m->nv, (int)m->nh, 1.0f, m->w, (int)m->nh, h, 1, 0.0f,
                                a, 1);
                    sum += log_visible(m, below, a);
                    below = h;
                }
                double fe;
                lt_rbm_free_energy(top, below, 1, 1, &fe);
                sum += -fe - log_z_top;
                acc += sum;
            }
            out[r] = acc / (double)draws;
        }
    }
    lt_blas_single_end(blas);
    free(scr);
    return LT_OK;
}

/* ------------------------------------------------------------ sampling */

lt_status lt_dbn_sample(const lt_dbn *d, size_t n, size_t steps, int mean, uint64_t seed, int threads, float *out)
{
    size_t L = d->n_layers;
    const lt_rbm *top = d->rbm[L - 1];
    if (L == 1) return lt_rbm_sample(top, n, steps, mean, seed, threads, out);
    size_t w = widest(d, d->rbm[0]->nv), nc = (n + ROWS - 1) / ROWS;
    float *h = lt_malloc(n * top->nv + 1, sizeof(float));
    int T = lt_threads(threads);
    float *scr = lt_malloc((size_t)T * ROWS * 2 * w, sizeof(float));
    if (!h || !scr) {
        free(h), free(scr);
        return LT_ERR_NOMEM;
    }
    lt_status st = lt_rbm_sample(top, n, steps, 0, seed, threads, h);
    if (st) goto done;
    int blas = lt_blas_single_begin();
#pragma omp parallel num_threads(T)
    {
        float *a = scr + (size_t)omp_get_thread_num() * ROWS * 2 * w, *b = a + ROWS * w;
#pragma omp for schedule(static)
        for (size_t ch = 0; ch < nc; ch++) {
            size_t r0 = ch * ROWS, rows = r0 + ROWS <= n ? ROWS : n - r0;
            const float *cur = h + r0 * top->nv;
            for (size_t l = L - 1; l-- > 0;) {
                const lt_rbm *m = d->rbm[l];
                float *o = l == 0 ? out + r0 * m->nv : (l % 2 ? a : b);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)m->nv, (int)m->nh, 1.0f, cur,
                            (int)m->nh, m->w, (int)m->nh, 0.0f, o, (int)m->nv);
                for (size_t r = 0; r < rows; r++) {
                    lt_rng g;
                    lt_row_rng(&g, seed, 1000 + l, r0 + r);
                    for (size_t i = 0; i < m->nv; i++) {
                        float x = o[r * m->nv + i] + m->b[i];
                        if (m->visible == LT_RBM_GAUSSIAN)
                            o[r * m->nv + i] = mean ? x : x + expf(0.5f * m->logvar[i]) * (float)lt_rng_normal(&g);
                        else
                            o[r * m->nv + i] = l == 0 && mean ? lt_sigmoidf(x) : (float)(lt_uniformf(&g) < lt_sigmoidf(x));
                    }
                }
                cur = o;
            }
        }
    }
    lt_blas_single_end(blas);
done:
    free(h);
    free(scr);
    return st;
}

/* ------------------------------------------------------------ the classifier */

lt_status lt_dbn_grad_create(const lt_dbn *d, lt_dbn_grad *g)
{
    memset(g, 0, sizeof *g);
    g->w = lt_calloc(d->n_layers, sizeof(float *));
    g->c = lt_calloc(d->n_layers, sizeof(float *));
    if (!g->w || !g->c) goto fail;
    for (size_t l = 0; l < d->n_layers; l++) {
        g->w[l] = lt_calloc(d->rbm[l]->nv * d->rbm[l]->nh, sizeof(float));
        g->c[l] = lt_calloc(d->rbm[l]->nh, sizeof(float));
        if (!g->w[l] || !g->c[l]) goto fail;
    }
    g->cw = lt_calloc(top_units(d) * d->n_classes + 1, sizeof(float));
    g->cb = lt_calloc(d->n_classes + 1, sizeof(float));
    if (!g->cw || !g->cb) goto fail;
    return LT_OK;
fail:
    lt_dbn_grad_free(d, g);
    return LT_ERR_NOMEM;
}

void lt_dbn_grad_free(const lt_dbn *d, lt_dbn_grad *g)
{
    for (size_t l = 0; g->w && l < d->n_layers; l++) free(g->w[l]);
    for (size_t l = 0; g->c && l < d->n_layers; l++) free(g->c[l]);
    free(g->w), free(g->c), free(g->cw), free(g->cb);
    memset(g, 0, sizeof *g);
}

/* Forward pass of `rows` rows: act[l] (rows x units of layer l + 1) and
 * the softmax probabilities p (rows x C). act[-1] is the input. */
static void forward(const lt_dbn *d, const float *x, size_t rows, float **act, float *sc, float *p)
{
    const float *in = x;
    for (size_t l = 0; l < d->n_layers; l++) {
        up_rows(d->rbm[l], in, rows, sc, act[l]);
        in = act[l];
    }
    size_t K = top_units(d), C = d->n_classes;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)C, (int)K, 1.0f, in, (int)K, d->cls_w, (int)C,
                0.0f, p, (int)C);
    for (size_t r = 0; r < rows; r++) {
        float *o = p + r * C, mx = -INFINITY;
        for (size_t c = 0; c < C; c++) mx = fmaxf(mx, o[c] += d->cls_b[c]);
        double s = 0;
        for (size_t c = 0; c < C; c++) s += exp((double)o[c] - mx);
        for (size_t c = 0; c < C; c++) o[c] = (float)(exp((double)o[c] - mx) / s);
    }
}

/* Buffers of one forward/backward pass of up to `rows` rows. */
typedef struct ft_buf {
    float **act, *p, *sc, *da, *dz, *in_s;
} ft_buf;

static void ft_buf_free(const lt_dbn *d, ft_buf *b)
{
    for (size_t l = 0; b->act && l < d->n_layers; l++) free(b->act[l]);
    free(b->act), free(b->p), free(b->sc), free(b->da), free(b->dz), free(b->in_s);
}

static lt_status ft_buf_init(const lt_dbn *d, size_t rows, ft_buf *b)
{
    memset(b, 0, sizeof *b);
    size_t w = widest(d, d->rbm[0]->nv);
    if (d->n_classes > w) w = d->n_classes;
    b->act = lt_calloc(d->n_layers, sizeof(float *));
    b->p = lt_malloc(rows * d->n_classes, sizeof(float));
    b->sc = lt_malloc(rows * w, sizeof(float));
    b->da = lt_malloc(rows * w, sizeof(float));
    b->dz = lt_malloc(rows * w, sizeof(float));
    b->in_s = lt_malloc(rows * w, sizeof(float));
    if (!b->act || !b->p || !b->sc || !b->da || !b->dz || !b->in_s) goto fail;
    for (size_t l = 0; l < d->n_layers; l++)
        if (!(b->act[l] = lt_malloc(rows * d->rbm[l]->nh, sizeof(float)))) goto fail;
    return LT_OK;
fail:
    ft_buf_free(d, b);
    return LT_ERR_NOMEM;
}

/* Mean cross-entropy of rows x with labels y (gathered by idx when not
 * NULL) and, when g is given, its gradient (overwritten). */
static double ft_pass(const lt_dbn *d, const float *x, const int32_t *y, const size_t *idx, size_t rows, ft_buf *b,
                      lt_dbn_grad *g)
{
    size_t nv = d->rbm[0]->nv, C = d->n_classes, K = top_units(d), L = d->n_layers;
    float *xin = b->in_s; /* the gathered input rows (idx) */
    const float *X = x;
    if (idx) {
        float *gx = lt_malloc(rows * nv, sizeof(float));
        if (!gx) return NAN;
        for (size_t r = 0; r < rows; r++) memcpy(gx + r * nv, x + idx[r] * nv, nv * sizeof(float));
        X = gx;
    }
    forward(d, X, rows, b->act, b->sc, b->p);
    double loss = 0;
    for (size_t r = 0; r < rows; r++) {
        size_t yr = (size_t)y[idx ? idx[r] : r];
        loss -= log(fmax((double)b->p[r * C + yr], 1e-30));
    }
    loss /= (double)rows;
    if (g) {
        /* d loss / d logits = (p - onehot) / rows, into dz (rows x C) */
        for (size_t r = 0; r < rows; r++)
            for (size_t c = 0; c < C; c++)
                b->dz[r * C + c] = (b->p[r * C + c] - (c == (size_t)y[idx ? idx[r] : r] ? 1.0f : 0.0f)) / (float)rows;
        const float *top = b->act[L - 1];
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, (int)C, (int)rows, 1.0f, top, (int)K, b->dz, (int)C,
                    0.0f, g->cw, (int)C);
        for (size_t c = 0; c < C; c++) {
            float s = 0;
            for (size_t r = 0; r < rows; r++) s += b->dz[r * C + c];
            g->cb[c] = s;
        }
        /* back into the top layer's activations: da = dz cls_w' */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)K, (int)C, 1.0f, b->dz, (int)C, d->cls_w,
                    (int)C, 0.0f, b->da, (int)K);
        for (size_t l = L; l-- > 0;) {
            const lt_rbm *m = d->rbm[l];
            const float *a = b->act[l];
            for (size_t t = 0; t < rows * m->nh; t++) b->dz[t] = b->da[t] * a[t] * (1.0f - a[t]);
            const float *below = l ? b->act[l - 1] : X;
            if (l == 0 && m->visible == LT_RBM_GAUSSIAN) {
                for (size_t t = 0; t < rows * nv; t++) xin[t] = X[t] * expf(-m->logvar[t % nv]);
                below = xin;
            }
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)m->nv, (int)m->nh, (int)rows, 1.0f, below, (int)m->nv,
                        b->dz, (int)m->nh, 0.0f, g->w[l], (int)m->nh);
            for (size_t j = 0; j < m->nh; j++) {
                float s = 0;
                for (size_t r = 0; r < rows; r++) s += b->dz[r * m->nh + j];
                g->c[l][j] = s;
            }
            if (l > 0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)m->nv, (int)m->nh, 1.0f, b->dz,
                            (int)m->nh, m->w, (int)m->nh, 0.0f, b->da, (int)m->nv);
        }
    }
    if (idx) free((float *)X);
    return loss;
}

lt_status lt_dbn_ft_loss(const lt_dbn *d, const float *x, const int32_t *y, size_t n, double *loss, lt_dbn_grad *g)
{
    if (!d->n_classes) return lt_fail(LT_ERR_INVALID, "the DBN has no classifier");
    ft_buf b;
    LT_CHECK(ft_buf_init(d, n, &b));
    int blas = lt_blas_single_begin();
    *loss = ft_pass(d, x, y, NULL, n, &b, g);
    lt_blas_single_end(blas);
    ft_buf_free(d, &b);
    return isnan(*loss) ? LT_ERR_NOMEM : LT_OK;
}

lt_status lt_dbn_finetune(lt_dbn *d, const lt_dbn_options *o, const float *x, size_t n)
{
    if (!o->labels) return lt_fail(LT_ERR_INVALID, "fine-tuning needs labels");
    LT_CHECK(check_options(o, n));
    size_t K = top_units(d), C = o->n_classes;
    lt_status st = LT_OK;
    if (d->n_classes != C) {
        free(d->cls_w), free(d->cls_b);
        d->n_classes = C;
        d->cls_w = lt_calloc(K * C, sizeof(float));
        d->cls_b = lt_calloc(C, sizeof(float));
        if (!d->cls_w || !d->cls_b) return LT_ERR_NOMEM;
        lt_rng g;
        lt_rng_seed(&g, o->rbm.seed ^ 0xc1a55ULL);
        /* large enough that the error reaches the layers below from the start */
        double sd = 1.0 / sqrt((double)K);
        for (size_t t = 0; t < K * C; t++) d->cls_w[t] = (float)(sd * lt_rng_normal(&g));
    }
    size_t B = o->finetune_batch < n ? o->finetune_batch : n;
    ft_buf b;
    lt_dbn_grad g, vel;
    size_t *perm = lt_malloc(n, sizeof(size_t));
    int have_b = 0, have_g = 0, have_v = 0;
    if (!perm || (st = ft_buf_init(d, B, &b))) goto done;
    have_b = 1;
    if ((st = lt_dbn_grad_create(d, &g))) goto done;
    have_g = 1;
    if ((st = lt_dbn_grad_create(d, &vel))) goto done;
    have_v = 1;
    for (size_t i = 0; i < n; i++) perm[i] = i;
    int blas = lt_blas_single_begin();
    float lr = (float)o->finetune_lr, mom = 0.9f, wd = (float)o->rbm.weight_decay;
    for (size_t e = 0; e < o->finetune_epochs && st == LT_OK; e++) {
        lt_rng rg;
        lt_row_rng(&rg, o->rbm.seed, (uint64_t)-2, e);
        for (size_t i = n; i > 1; i--) {
            size_t j = (size_t)lt_rng_below(&rg, i), t = perm[i - 1];
            perm[i - 1] = perm[j], perm[j] = t;
        }
        double tot = 0;
        for (size_t r0 = 0; r0 < n; r0 += B) {
            size_t rows = r0 + B <= n ? B : n - r0;
            double loss = ft_pass(d, x, o->labels, perm + r0, rows, &b, &g);
            if (isnan(loss)) {
                st = LT_ERR_NOMEM;
                break;
            }
            tot += loss * (double)rows;
            for (size_t l = 0; l < d->n_layers; l++) {
                lt_rbm *m = d->rbm[l];
                for (size_t t = 0; t < m->nv * m->nh; t++) {
                    vel.w[l][t] = mom * vel.w[l][t] - lr * (g.w[l][t] + wd * m->w[t]);
                    m->w[t] += vel.w[l][t];
                }
                for (size_t j = 0; j < m->nh; j++) {
                    vel.c[l][j] = mom * vel.c[l][j] - lr * g.c[l][j];
                    m->c[j] += vel.c[l][j];
                }
            }
            for (size_t t = 0; t < K * C; t++) {
                vel.cw[t] = mom * vel.cw[t] - lr * (g.cw[t] + wd * d->cls_w[t]);
                d->cls_w[t] += vel.cw[t];
            }
            for (size_t c = 0; c < C; c++) {
                vel.cb[c] = mom * vel.cb[c] - lr * g.cb[c];
                d->cls_b[c] += vel.cb[c];
            }
        }
        if (st == LT_OK && !isfinite(tot)) {
            st = lt_fail(LT_ERR_NUMERIC, "fine-tuning diverged in epoch %zu; try a smaller --finetune-lr", e + 1);
            break;
        }
        d->finetune_epochs++;
        if (o->rbm.progress) o->rbm.progress(o->rbm.progress_ud, "fine-tuning", e + 1, o->finetune_epochs, tot / (double)n);
    }
    lt_blas_single_end(blas);
    if (st == LT_OK) {
        /* accuracy on the training data */
        float *p = lt_malloc(n * C, sizeof(float));
        if (!p) {
            st = LT_ERR_NOMEM;
            goto done;
        }
        if ((st = lt_dbn_classify(d, x, n, o->rbm.threads, p)) == LT_OK) {
            size_t ok = 0;
            for (size_t i = 0; i < n; i++) {
                size_t best = 0;
                for (size_t c = 1; c < C; c++)
                    if (p[i * C + c] > p[i * C + best]) best = c;
                ok += best == (size_t)o->labels[i];
            }
            d->train_accuracy = (double)ok / (double)n;
        }
        free(p);
    }
done:
    if (have_b) ft_buf_free(d, &b);
    if (have_g) lt_dbn_grad_free(d, &g);
    if (have_v) lt_dbn_grad_free(d, &vel);
    free(perm);
    return st;
}

lt_status lt_dbn_classify(const lt_dbn *d, const float *x, size_t n, int threads, float *out)
{
    if (!d->n_classes) return lt_fail(LT_ERR_INVALID, "the DBN was not fine-tuned as a classifier (fit with --labels)");
    size_t nv = d->rbm[0]->nv, nc = (n + ROWS - 1) / ROWS;
    int T = lt_threads(threads);
    ft_buf *bufs = lt_calloc((size_t)T, sizeof(ft_buf));
    if (!bufs) return LT_ERR_NOMEM;
    lt_status st = LT_OK;
    int made = 0;
    for (; made < T && st == LT_OK; made++) st = ft_buf_init(d, ROWS, &bufs[made]);
    if (st) made--;
    if (st == LT_OK) {
        int blas = lt_blas_single_begin();
#pragma omp parallel for schedule(static) num_threads(T)
        for (size_t ch = 0; ch < nc; ch++) {
            ft_buf *b = &bufs[omp_get_thread_num()];
            size_t r0 = ch * ROWS, rows = r0 + ROWS <= n ? ROWS : n - r0;
            forward(d, x + r0 * nv, rows, b->act, b->sc, b->p);
            memcpy(out + r0 * d->n_classes, b->p, rows * d->n_classes * sizeof(float));
        }
        lt_blas_single_end(blas);
    }
    for (int t = 0; t < made; t++) ft_buf_free(d, &bufs[t]);
    free(bufs);
    return st;
}
