/* Deep belief nets: the lower bound against exact enumeration on a tiny
 * net (and against the RBM's exact log-likelihood for one layer), the
 * fine-tuning gradient against finite differences, what training, sampling
 * and fine-tuning must do, the same model at any thread count, files, and
 * bad input. */
#include "harness.h"

#include "latent/dbn.h"
#include "latent/rng.h"
#include "models/dbn_internal.h"
#include "models/rbm_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* All 30 bars-and-stripes patterns of 4x4 pixels, `reps` times each, and a
 * label: 0 for rows, 1 for columns (the two blank patterns count as rows). */
static float *bars_and_stripes(size_t reps, size_t *n_out, int32_t **labels)
{
    float pats[32][16];
    int32_t lab[32];
    size_t np = 0;
    for (int o = 0; o < 2; o++)
        for (int bits = 0; bits < 16; bits++) {
            if (o == 1 && (bits == 0 || bits == 15)) continue;
            for (int r = 0; r < 4; r++)
                for (int c = 0; c < 4; c++) pats[np][r * 4 + c] = (float)((bits >> (o ? c : r)) & 1);
            lab[np++] = o;
        }
    float *x = malloc(np * reps * 16 * sizeof(float));
    int32_t *y = malloc(np * reps * sizeof(int32_t));
    for (size_t k = 0; k < reps; k++) {
        memcpy(x + k * np * 16, pats, np * 16 * sizeof(float));
        memcpy(y + k * np, lab, np * sizeof(int32_t));
    }
    *n_out = np * reps;
    if (labels) *labels = y;
    else free(y);
    return x;
}

static void test_one_layer_is_an_rbm(void)
{
    size_t n;
    float *x = bars_and_stripes(10, &n, NULL);
    lt_dbn_options o;
    lt_dbn_options_default(&o);
    size_t hidden[1] = {8};
    o.hidden = hidden, o.n_layers = 1, o.rbm.epochs = 5, o.rbm.seed = 3;
    lt_dbn *d;
    CHECK_OK(lt_dbn_fit(&o, x, n, 16, &d));
    lt_rbm_options ro = o.rbm;
    ro.n_hidden = 8;
    lt_rbm *r;
    CHECK_OK(lt_rbm_fit(&ro, x, n, 16, &r));
    CHECK(memcmp(r->w, d->rbm[0]->w, 16 * 8 * sizeof(float)) == 0);
    double lz, a[8], b[8];
    CHECK_OK(lt_rbm_log_z_exact(r, 1, &lz));
    CHECK_OK(lt_rbm_log_prob(r, x, 8, lz, 1, a));
    CHECK_OK(lt_dbn_lower_bound(d, x, 8, lz, 3, 1, 1, b));
    CHECK(memcmp(a, b, sizeof a) == 0);
    lt_rbm_free(r);
    lt_dbn_free(d);
    free(x);
}

/* log p(x | h) under an RBM's visible conditional (Bernoulli), double. */
static double log_vis(const lt_rbm *m, const float *x, const double *h)
{
    double s = 0;
    for (size_t i = 0; i < m->nv; i++) {
        double a = m->b[i];
        for (size_t j = 0; j < m->nh; j++) a += (double)m->w[i * m->nh + j] * h[j];
        s -= x[i] ? lt_softplus(-a) : lt_softplus(a);
    }
    return s;
}

static void test_bound_against_enumeration(void)
{
    /* a tiny two-layer net with random weights large enough to matter */
    lt_dbn_options o;
    lt_dbn_options_default(&o);
    size_t hidden[2] = {5, 3}, nv = 7, n = 40;
    o.hidden = hidden, o.n_layers = 2, o.rbm.epochs = 1;
    float *x = malloc(n * nv * sizeof(float));
    lt_rng g;
    lt_rng_seed(&g, 4);
    for (size_t t = 0; t < n * nv; t++) x[t] = (float)(lt_rng_uniform(&g) < 0.4);
    lt_dbn *d;
    CHECK_OK(lt_dbn_fit(&o, x, n, nv, &d));
    if (!d) return;
    for (size_t l = 0; l < 2; l++) {
        lt_rbm *m = d->rbm[l];
        for (size_t t = 0; t < m->nv * m->nh; t++) m->w[t] = (float)(1.2 * lt_rng_normal(&g));
        for (size_t i = 0; i < m->nv; i++) m->b[i] = (float)(0.5 * lt_rng_normal(&g));
        for (size_t j = 0; j < m->nh; j++) m->c[j] = (float)(0.5 * lt_rng_normal(&g));
    }
    const lt_rbm *r0 = d->rbm[0], *top = d->rbm[1];
    double lz;
    CHECK_OK(lt_rbm_log_z_exact(top, 1, &lz));
    size_t draws = 20000;
    double *mc = malloc(n * sizeof(double));
    CHECK_OK(lt_dbn_lower_bound(d, x, n, lz, draws, 7, 2, mc));
    double worst_mc = 0, worst_gap = -INFINITY, mean_gap = 0;
    for (size_t r = 0; r < n; r++) {
        const float *v = x + r * nv;
        float q[5];
        CHECK_OK(lt_rbm_hidden_probs(r0, v, 1, 1, q));
        double lp = -INFINITY, bound = 0;
        for (size_t hi = 0; hi < 32; hi++) {
            double h[5];
            float hf[5];
            double lq = 0;
            for (size_t j = 0; j < 5; j++) {
                h[j] = (double)(hi >> j & 1), hf[j] = (float)h[j];
                lq += h[j] ? log(q[j]) : log1p(-q[j]);
            }
            double fe;
            lt_rbm_free_energy(top, hf, 1, 1, &fe);
            double joint = log_vis(r0, v, h) - fe - lz; /* log p(v, h1) */
            lp = lp > joint ? lp + log1p(exp(joint - lp)) : joint + log1p(exp(lp - joint));
            bound += exp(lq) * (joint - lq);
        }
        worst_gap = fmax(worst_gap, bound - lp);
        mean_gap += (lp - bound) / (double)n;
        worst_mc = fmax(worst_mc, fabs(mc[r] - bound));
    }
    CHECK_MSG(worst_gap <= 1e-9, "the bound exceeds log p(v) by %g", worst_gap);
    CHECK_MSG(mean_gap > 1e-3, "the bound equals log p(v) (gap %g): the test says nothing", mean_gap);
    /* 20,000 draws a row: the largest of 40 Monte Carlo errors is about 0.05 nats */
    CHECK_MSG(worst_mc < 0.1, "Monte Carlo bound off by %g", worst_mc);
    free(mc);
    free(x);
    lt_dbn_free(d);
}

static void test_finetune_gradient(void)
{
    lt_dbn_options o;
    lt_dbn_options_default(&o);
    size_t hidden[2] = {4, 3}, nv = 5, n = 12;
    o.hidden = hidden, o.n_layers = 2, o.rbm.epochs = 1;
    float *x = malloc(n * nv * sizeof(float));
    int32_t y[12];
    lt_rng g;
    lt_rng_seed(&g, 8);
    for (size_t t = 0; t < n * nv; t++) x[t] = (float)lt_rng_uniform(&g);
    for (size_t i = 0; i < n; i++) y[i] = (int32_t)(i % 3);
    o.labels = y, o.n_classes = 3, o.finetune_epochs = 1;
    lt_dbn *d;
    CHECK_OK(lt_dbn_fit(&o, x, n, nv, &d));
    if (!d) return;
    for (size_t l = 0; l < 2; l++)
        for (size_t t = 0; t < d->rbm[l]->nv * d->rbm[l]->nh; t++) d->rbm[l]->w[t] = (float)lt_rng_normal(&g);
    for (size_t t = 0; t < 3 * 3; t++) d->cls_w[t] = (float)lt_rng_normal(&g);
    lt_dbn_grad gr;
    CHECK_OK(lt_dbn_grad_create(d, &gr));
    double loss;
    CHECK_OK(lt_dbn_ft_loss(d, x, y, n, &loss, &gr));
    double worst = 0;
    float *params[6] = {d->rbm[0]->w, d->rbm[0]->c, d->rbm[1]->w, d->rbm[1]->c, d->cls_w, d->cls_b};
    float *grads[6] = {gr.w[0], gr.c[0], gr.w[1], gr.c[1], gr.cw, gr.cb};
    size_t counts[6] = {20, 4, 12, 3, 9, 3};
    for (int k = 0; k < 6; k++)
        for (size_t t = 0; t < counts[k]; t++) {
            float p0 = params[k][t], h = 1e-2f;
            double up, dn;
            params[k][t] = p0 + h;
            lt_dbn_ft_loss(d, x, y, n, &up, NULL);
            params[k][t] = p0 - h;
            lt_dbn_ft_loss(d, x, y, n, &dn, NULL);
            params[k][t] = p0;
            worst = fmax(worst, fabs((up - dn) / (2.0 * (double)h) - grads[k][t]));
        }
    CHECK_MSG(worst < 2e-3, "fine-tuning gradient off finite differences by %g", worst);
    lt_dbn_grad_free(d, &gr);
    lt_dbn_free(d);
    free(x);
}

static int is_bas(const float *v)
{
    int rows = 1, cols = 1;
    for (int r = 0; r < 4; r++)
        for (int c = 1; c < 4; c++) rows &= v[r * 4 + c] == v[r * 4];
    for (int c = 0; c < 4; c++)
        for (int r = 1; r < 4; r++) cols &= v[r * 4 + c] == v[c];
    return rows || cols;
}

static void test_train_sample_classify(void)
{
    size_t n;
    int32_t *y;
    float *x = bars_and_stripes(40, &n, &y);
    lt_dbn_options o;
    lt_dbn_options_default(&o);
    size_t hidden[2] = {32, 16};
    o.hidden = hidden, o.n_layers = 2, o.rbm.epochs = 60, o.rbm.cd_k = 10, o.rbm.seed = 2, o.rbm.threads = 2;
    lt_dbn *d;
    CHECK_OK(lt_dbn_fit(&o, x, n, 16, &d));
    if (!d) return;
    /* the bound beats independent pixels (16 log 1/2) by a wide margin */
    double lz, *lb = malloc(n * sizeof(double)), mean = 0;
    CHECK_OK(lt_rbm_log_z_exact(d->rbm[1], 2, &lz));
    CHECK_OK(lt_dbn_lower_bound(d, x, n, lz, 20, 1, 2, lb));
    for (size_t i = 0; i < n; i++) mean += lb[i] / (double)n;
    CHECK_MSG(mean > 16 * log(0.5) + 3, "lower bound %.3f", mean);
    CHECK_MSG(mean < -log(30.0) + 1e-9, "lower bound %.3f above the entropy bound", mean);
    /* samples: mostly bars or stripes, pixels on half the time */
    size_t ns = 1000, good = 0;
    float *s = malloc(ns * 16 * sizeof(float));
    CHECK_OK(lt_dbn_sample(d, ns, 300, 0, 5, 2, s));
    double on = 0;
    for (size_t k = 0; k < ns; k++) {
        good += (size_t)is_bas(s + k * 16);
        for (int i = 0; i < 16; i++) on += s[k * 16 + i] / (16.0 * (double)ns);
    }
    CHECK_MSG((double)good / (double)ns > 0.5, "%zu of %zu samples are bars or stripes", good, ns);
    CHECK_NEAR(on, 0.5, 0.1);
    /* fine-tuning tells rows from columns */
    o.labels = y, o.n_classes = 2, o.finetune_epochs = 30;
    CHECK_OK(lt_dbn_finetune(d, &o, x, n));
    CHECK_MSG(d->train_accuracy > 0.9, "accuracy %.3f", d->train_accuracy);
    float *p = malloc(n * 2 * sizeof(float));
    CHECK_OK(lt_dbn_classify(d, x, n, 1, p));
    double s1 = 0;
    for (size_t i = 0; i < n; i++) s1 += p[2 * i] + p[2 * i + 1];
    CHECK_NEAR(s1 / (double)n, 1.0, 1e-5);
    free(p);
    free(s);
    free(lb);
    free(x);
    free(y);
    lt_dbn_free(d);
}

static int same_dbn(const lt_dbn *a, const lt_dbn *b)
{
    if (a->n_layers != b->n_layers || a->n_classes != b->n_classes) return 0;
    for (size_t l = 0; l < a->n_layers; l++) {
        const lt_rbm *x = a->rbm[l], *y = b->rbm[l];
        if (x->nv != y->nv || x->nh != y->nh || memcmp(x->w, y->w, x->nv * x->nh * sizeof(float)) ||
            memcmp(x->b, y->b, x->nv * sizeof(float)) || memcmp(x->c, y->c, x->nh * sizeof(float)))
            return 0;
    }
    size_t K = a->rbm[a->n_layers - 1]->nh;
    return !a->n_classes || (memcmp(a->cls_w, b->cls_w, K * a->n_classes * sizeof(float)) == 0 &&
                             memcmp(a->cls_b, b->cls_b, a->n_classes * sizeof(float)) == 0);
}

static void test_threads_and_files(void)
{
    size_t n = 400, nv = 90;
    float *x = malloc(n * nv * sizeof(float));
    int32_t *y = malloc(n * sizeof(int32_t));
    lt_rng g;
    lt_rng_seed(&g, 1);
    for (size_t i = 0; i < n; i++) {
        y[i] = (int32_t)(i % 3);
        for (size_t j = 0; j < nv; j++) x[i * nv + j] = (float)(lt_rng_uniform(&g) < (j % 3 == (size_t)y[i] ? 0.8 : 0.2));
    }
    lt_dbn_options o;
    lt_dbn_options_default(&o);
    size_t hidden[3] = {64, 48, 10};
    o.hidden = hidden, o.n_layers = 3, o.rbm.epochs = 2, o.rbm.batch = 40, o.rbm.seed = 6;
    o.labels = y, o.n_classes = 3, o.finetune_epochs = 2;
    lt_dbn *d[2];
    for (int t = 0; t < 2; t++) {
        o.rbm.threads = t + 1;
        CHECK_OK(lt_dbn_fit(&o, x, n, nv, &d[t]));
    }
    CHECK(d[0] && d[1] && same_dbn(d[0], d[1]));
    const char *path = "dbn_roundtrip.safetensors";
    CHECK_OK(lt_dbn_save(d[0], path));
    lt_dbn *l = NULL;
    CHECK_OK(lt_dbn_load(path, &l));
    if (l) {
        CHECK(same_dbn(d[0], l));
        double a[4], b[4];
        CHECK_OK(lt_dbn_lower_bound(d[0], x, 4, 1.0, 5, 3, 1, a));
        CHECK_OK(lt_dbn_lower_bound(l, x, 4, 1.0, 5, 3, 2, b));
        CHECK(memcmp(a, b, sizeof a) == 0);
        lt_dbn_free(l);
    }
    /* the bound and samples at one and two threads */
    double b1[50], b2[50];
    CHECK_OK(lt_dbn_lower_bound(d[0], x, 50, 0.0, 3, 9, 1, b1));
    CHECK_OK(lt_dbn_lower_bound(d[0], x, 50, 0.0, 3, 9, 2, b2));
    CHECK(memcmp(b1, b2, sizeof b1) == 0);
    float *s1 = malloc(300 * nv * sizeof(float)), *s2 = malloc(300 * nv * sizeof(float));
    CHECK_OK(lt_dbn_sample(d[0], 300, 20, 1, 4, 1, s1));
    CHECK_OK(lt_dbn_sample(d[0], 300, 20, 1, 4, 2, s2));
    CHECK(memcmp(s1, s2, 300 * nv * sizeof(float)) == 0);
    free(s1), free(s2);
    remove(path);
    lt_dbn_free(d[0]);
    lt_dbn_free(d[1]);
    free(x);
    free(y);
}

static void test_bad_input(void)
{
    float x[6] = {0, 1, 0, 1, 0, 1};
    int32_t y[2] = {0, 5};
    lt_dbn_options o;
    lt_dbn_options_default(&o);
    size_t hidden[2] = {2, 0};
    lt_dbn *d = NULL;
    o.hidden = hidden, o.n_layers = 2;
    CHECK(lt_dbn_fit(&o, x, 2, 3, &d) == LT_ERR_INVALID && !d);
    CHECK(strstr(lt_last_error(), "layer 2 has no units") != NULL);
    o.n_layers = 0;
    CHECK(lt_dbn_fit(&o, x, 2, 3, &d) == LT_ERR_INVALID);
    hidden[1] = 2, o.n_layers = 2, o.labels = y, o.n_classes = 3;
    CHECK(lt_dbn_fit(&o, x, 2, 3, &d) == LT_ERR_INVALID);
    CHECK(strstr(lt_last_error(), "row 2: label 5") != NULL);
    o.labels = NULL;
    x[4] = NAN;
    CHECK(lt_dbn_fit(&o, x, 2, 3, &d) == LT_ERR_NUMERIC && !d);
    x[4] = 0;
    CHECK_OK(lt_dbn_fit(&o, x, 2, 3, &d));
    float p[4];
    CHECK(lt_dbn_classify(d, x, 2, 1, p) == LT_ERR_INVALID);
    CHECK(lt_dbn_up(d, x, 2, 3, 1, p) == LT_ERR_INVALID);
    lt_dbn_free(d);
}

int main(void)
{
    RUN(test_one_layer_is_an_rbm);
    RUN(test_bound_against_enumeration);
    RUN(test_finetune_gradient);
    RUN(test_train_sample_classify);
    RUN(test_threads_and_files);
    RUN(test_bad_input);
    return lt_test_done();
}
