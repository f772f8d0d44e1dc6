/* Deep Boltzmann machines against independent references: brute-force sums
 * over every (v, h_1, .., h_L) for log Z, log p(v), the variational bound and
 * the model's expectations; AIS against exact log Z; what training must do;
 * the same bits at one and two threads; files and bad input. */
#include "harness.h"

#include "latent/dbm.h"
#include "latent/rng.h"
#include "latent/safetensors.h"
#include "models/dbm_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A model with N(0, ws^2) weights and N(0, bs^2) biases. */
static lt_dbm *random_dbm(size_t n_layers, const size_t *sizes, double ws, double bs, uint64_t seed)
{
    lt_dbm *m = NULL;
    if (lt_dbm_create(n_layers, sizes, &m) != LT_OK) return NULL;
    lt_rng g;
    lt_rng_seed(&g, seed);
    for (size_t l = 0; l + 1 < n_layers; l++)
        for (size_t t = 0; t < sizes[l] * sizes[l + 1]; t++) m->w[l][t] = (float)(ws * lt_rng_normal(&g));
    for (size_t l = 0; l < n_layers; l++)
        for (size_t j = 0; j < sizes[l]; j++) m->b[l][j] = (float)(bs * lt_rng_normal(&g));
    return m;
}

static double logadd(double a, double b)
{
    if (a == -INFINITY) return b;
    return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

static size_t total_units(const lt_dbm *m)
{
    size_t t = 0;
    for (size_t l = 0; l < m->n_layers; l++) t += m->sizes[l];
    return t;
}

/* The states of every unit, layer after layer, from the bits of `code`. */
static void unpack(const lt_dbm *m, size_t code, double *x)
{
    for (size_t k = 0; k < total_units(m); k++) x[k] = (double)(code >> k & 1);
}

/* -E(x) in double, from the definition; x holds every layer in turn. */
static double neg_energy(const lt_dbm *m, const double *x)
{
    double e = 0;
    size_t off = 0;
    for (size_t l = 0; l < m->n_layers; l++) {
        size_t n = m->sizes[l];
        for (size_t j = 0; j < n; j++) e += m->b[l][j] * x[off + j];
        if (l + 1 < m->n_layers) {
            size_t n1 = m->sizes[l + 1];
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < n1; j++) e += x[off + i] * m->w[l][i * n1 + j] * x[off + n + j];
        }
        off += n;
    }
    return e;
}

static double brute_log_z(const lt_dbm *m)
{
    double x[64], acc = -INFINITY;
    for (size_t c = 0; c < ((size_t)1 << total_units(m)); c++) {
        unpack(m, c, x);
        acc = logadd(acc, neg_energy(m, x));
    }
    return acc;
}

/* log sum_h exp(-E(v, h)) for the visible vector whose bits are `vc`. */
static double brute_log_marginal(const lt_dbm *m, size_t vc)
{
    double x[64], acc = -INFINITY;
    size_t nv = m->sizes[0], H = total_units(m) - nv;
    for (size_t hc = 0; hc < ((size_t)1 << H); hc++) {
        unpack(m, vc | (hc << nv), x);
        acc = logadd(acc, neg_energy(m, x));
    }
    return acc;
}

static void test_log_z_exact_against_brute_force(void)
{
    /* two hidden layers (odd parity enumerated; even parity enumerated) and three */
    size_t s1[] = {4, 3, 3}, s2[] = {2, 5, 2}, s3[] = {3, 4, 2, 3}, s4[] = {2, 3, 2, 2, 3};
    const size_t *shapes[] = {s1, s2, s3, s4};
    size_t layers[] = {3, 3, 4, 5};
    for (size_t k = 0; k < 4; k++) {
        lt_dbm *m = random_dbm(layers[k], shapes[k], 1.0, 0.5, 10 + k);
        CHECK(m != NULL);
        if (!m) return;
        double lz, ref = brute_log_z(m);
        CHECK_OK(lt_dbm_log_z_exact(m, 2, &lz));
        CHECK_REL(lz, ref, 1e-10);
        lt_dbm_free(m);
    }
    /* beyond 2^30 terms: refused, pointing to AIS */
    size_t big[] = {40, 40, 40};
    lt_dbm *m = random_dbm(3, big, 0.1, 0.1, 1);
    double lz;
    CHECK(lt_dbm_log_z_exact(m, 1, &lz) == LT_ERR_INVALID && strstr(lt_last_error(), "AIS") != NULL);
    lt_dbm_free(m);
}

/* The bound is E_Q[-E] + H(Q) - log Z for the Q that mean field returns
 * (checked by summing over h with Q's weights), never above the exact
 * log-likelihood, and close to it. */
static void check_bound(double ws, int cut_top, double max_gap)
{
    size_t sizes[] = {5, 3, 3};
    lt_dbm *m = random_dbm(3, sizes, ws, 0.5, 3);
    if (cut_top) memset(m->w[1], 0, 9 * sizeof(float)); /* then Q can be the exact posterior */
    double lz;
    CHECK_OK(lt_dbm_log_z_exact(m, 1, &lz));
    size_t nv = 5, H = 6, NV = (size_t)1 << nv;
    float *v = malloc(NV * nv * sizeof(float)), *q = malloc(NV * H * sizeof(float));
    double *bound = malloc(NV * sizeof(double)), *b0 = malloc(NV * sizeof(double));
    for (size_t c = 0; c < NV; c++)
        for (size_t i = 0; i < nv; i++) v[c * nv + i] = (float)(c >> i & 1);
    CHECK_OK(lt_dbm_mean_field(m, v, NV, 100, 0.0, 2, q));
    CHECK_OK(lt_dbm_bound(m, v, NV, lz, 100, 0.0, 2, bound));
    CHECK_OK(lt_dbm_bound(m, v, NV, lz, 0, 0.0, 1, b0));
    double worst_elbo = 0, gap = 0, max_over = -INFINITY, gain = 0, tot = 0;
    for (size_t c = 0; c < NV; c++) {
        /* sum over h of Q(h) (-E(v, h)) + H(Q), from the definitions */
        double x[16], e = 0, ent = 0;
        for (size_t hc = 0; hc < ((size_t)1 << H); hc++) {
            unpack(m, c | (hc << nv), x);
            double w = 1;
            for (size_t k = 0; k < H; k++) w *= x[nv + k] ? q[c * H + k] : 1 - q[c * H + k];
            e += w * neg_energy(m, x);
        }
        for (size_t k = 0; k < H; k++) {
            double p = q[c * H + k];
            ent -= (p > 0 ? p * log(p) : 0) + (p < 1 ? (1 - p) * log(1 - p) : 0);
        }
        worst_elbo = fmax(worst_elbo, fabs(e + ent - lz - bound[c]));
        double exact = brute_log_marginal(m, c) - lz;
        max_over = fmax(max_over, bound[c] - exact);
        gap += exact - bound[c];
        gain += bound[c] - b0[c];
        tot += exp(exact);
    }
    CHECK_NEAR(tot, 1.0, 1e-9);
    CHECK_MSG(worst_elbo < 1e-5, "bound differs from E_Q[-E] + H(Q) - log Z by %g", worst_elbo);
    CHECK_MSG(max_over <= 1e-5, "the bound exceeds the exact log-likelihood by %g", max_over);
    CHECK_MSG(gap / (double)NV < max_gap, "mean gap to the exact log-likelihood %g nats", gap / (double)NV);
    CHECK_MSG(gain >= 0, "mean-field sweeps lowered the bound from the bottom-up start (%g)", gain);
    fprintf(stderr, "  bound vs exact (weights N(0, %g^2)%s): mean gap %.2e nats, max bound - exact %.2e\n", ws,
            cut_top ? ", W1 = 0" : "", gap / (double)NV, max_over);
    free(v), free(q), free(bound), free(b0);
    lt_dbm_free(m);
}

static void test_bound_against_exact(void)
{
    /* strong random weights make the posterior far from factorial; weak ones nearly so */
    check_bound(0.8, 0, 0.3);
    check_bound(0.3, 0, 0.06);
    check_bound(0.8, 1, 1e-5);
}

static void test_ais_agrees_with_exact(void)
{
    size_t sizes[] = {24, 8, 6};
    lt_dbm *m = random_dbm(3, sizes, 0.3, 0.5, 4);
    lt_rng g;
    lt_rng_seed(&g, 2);
    for (size_t i = 0; i < sizes[0]; i++) m->data_mean[i] = (float)(0.1 + 0.8 * lt_rng_uniform(&g));
    double lz;
    CHECK_OK(lt_dbm_log_z_exact(m, 2, &lz));
    lt_ais_options o;
    lt_ais_options_default(&o);
    o.runs = 100, o.betas = 2000, o.seed = 3, o.threads = 2;
    lt_ais_result r, r1;
    clock_t t0 = clock();
    CHECK_OK(lt_dbm_ais(m, &o, &r));
    fprintf(stderr, "  AIS %.5f +- %.5f vs exact %.5f (24-8-6, 100 runs x 2000 betas, %.2f s cpu)\n", r.log_z,
            r.log_z_stderr, lz, (double)(clock() - t0) / CLOCKS_PER_SEC);
    CHECK_MSG(fabs(r.log_z - lz) <= 3 * r.log_z_stderr + 1e-3, "AIS %.5f +- %.5f, exact %.5f", r.log_z, r.log_z_stderr,
              lz);
    CHECK(r.log_z_stderr > 0 && r.log_z_stderr < 0.5);
    o.threads = 1;
    CHECK_OK(lt_dbm_ais(m, &o, &r1));
    CHECK(r1.log_z == r.log_z && r1.log_z_stderr == r.log_z_stderr);
    lt_dbm_free(m);

    /* three hidden layers */
    size_t s3[] = {12, 6, 5, 4};
    m = random_dbm(4, s3, 0.4, 0.4, 7);
    CHECK_OK(lt_dbm_log_z_exact(m, 2, &lz));
    o.threads = 2;
    CHECK_OK(lt_dbm_ais(m, &o, &r));
    fprintf(stderr, "  AIS %.5f +- %.5f vs exact %.5f (12-6-5-4)\n", r.log_z, r.log_z_stderr, lz);
    CHECK_MSG(fabs(r.log_z - lz) <= 3 * r.log_z_stderr + 1e-3, "3 layers: AIS %.5f +- %.5f, exact %.5f", r.log_z,
              r.log_z_stderr, lz);
    lt_dbm_free(m);
}

/* The model term of the joint update: the persistent chains' statistics
 * after many steps against the model's exact expectations. */
static void test_chain_model_term_matches_exact(void)
{
    size_t sizes[] = {4, 3, 2};
    lt_dbm *m = random_dbm(3, sizes, 0.9, 0.4, 8);
    size_t P = m->n_params, nbits = total_units(m);
    double *ex = calloc(P, sizeof(double)), *gc = calloc(P, sizeof(double)), lz = brute_log_z(m), x[16];
    for (size_t c = 0; c < ((size_t)1 << nbits); c++) {
        unpack(m, c, x);
        double p = exp(neg_energy(m, x) - lz), *g = ex;
        size_t off = 0;
        for (size_t l = 0; l + 1 < 3; l++) {
            for (size_t i = 0; i < sizes[l]; i++)
                for (size_t j = 0; j < sizes[l + 1]; j++)
                    g[i * sizes[l + 1] + j] += p * x[off + i] * x[off + sizes[l] + j];
            g += sizes[l] * sizes[l + 1];
            off += sizes[l];
        }
        off = 0;
        for (size_t l = 0; l < 3; l++) {
            for (size_t j = 0; j < sizes[l]; j++) g[j] += p * x[off + j];
            g += sizes[l], off += sizes[l];
        }
    }
    float v[8] = {1, 0, 1, 0, 0, 1, 1, 0};
    CHECK_OK(lt_dbm_chain_stats(m, v, 2, 200, 100, 400, 5, 1, gc));
    double worst = 0, scale = 0;
    for (size_t k = 0; k < P; k++) worst = fmax(worst, fabs(gc[k] - ex[k])), scale = fmax(scale, fabs(ex[k]));
    /* 80,000 chain states, Rao-Blackwellised: Monte Carlo error well under 0.01 */
    CHECK_MSG(worst < 0.02, "chain statistics are %g from the exact expectations (largest %g)", worst, scale);
    fprintf(stderr, "  chain model term vs exact: largest difference %.4f\n", worst);
    /* the same bits at one and two threads */
    double *g1 = calloc(P, sizeof(double));
    CHECK_OK(lt_dbm_chain_stats(m, v, 2, 200, 10, 40, 6, 1, g1));
    CHECK_OK(lt_dbm_chain_stats(m, v, 2, 200, 10, 40, 6, 2, gc));
    CHECK(memcmp(g1, gc, P * sizeof(double)) == 0);
    free(ex), free(gc), free(g1);
    lt_dbm_free(m);
}

/* 4x4 bars and stripes with 3% pixel noise. */
static float *bars(size_t n, uint64_t seed)
{
    float *x = malloc(n * 16 * sizeof(float));
    lt_rng g;
    lt_rng_seed(&g, seed);
    for (size_t r = 0; r < n; r++) {
        int o = lt_rng_uniform(&g) < 0.5, bits = (int)lt_rng_below(&g, 16);
        for (int i = 0; i < 16; i++) {
            int on = (bits >> (o ? i % 4 : i / 4)) & 1;
            x[r * 16 + i] = (float)((lt_rng_uniform(&g) < 0.03) != on);
        }
    }
    return x;
}

static double mean_bound(const lt_dbm *m, const float *x, size_t n)
{
    double lz, *b = malloc(n * sizeof(double)), s = 0;
    lt_dbm_log_z_exact(m, 2, &lz);
    lt_dbm_bound(m, x, n, lz, 50, 0.0, 2, b);
    for (size_t i = 0; i < n; i++) s += b[i];
    free(b);
    return s / (double)n;
}

static void test_training_raises_heldout_bound(void)
{
    size_t ntr = 1000, nte = 300;
    float *tr = bars(ntr, 1), *te = bars(nte, 2);
    lt_dbm_options o;
    lt_dbm_options_default(&o);
    o.n_hidden[0] = 16, o.n_hidden[1] = 8, o.batch = 20, o.chains = 20, o.seed = 3, o.threads = 2;
    o.pretrain_epochs = 0, o.epochs = 0;
    lt_dbm *m0, *m1, *m2;
    CHECK_OK(lt_dbm_fit(&o, tr, ntr, 16, &m0));
    o.pretrain_epochs = 20;
    CHECK_OK(lt_dbm_fit(&o, tr, ntr, 16, &m1));
    o.epochs = 30;
    clock_t t0 = clock();
    CHECK_OK(lt_dbm_fit(&o, tr, ntr, 16, &m2));
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    if (!m0 || !m1 || !m2) return;
    double b0 = mean_bound(m0, te, nte), b1 = mean_bound(m1, te, nte), b2 = mean_bound(m2, te, nte);
    fprintf(stderr, "  held-out bound: untrained %.3f, pretrained %.3f, + joint %.3f nats (16 log 1/2 = %.3f; "
            "%.2f s cpu)\n", b0, b1, b2, 16 * log(0.5), secs);
    CHECK_MSG(b1 > b0 + 1.0, "pretraining: %.3f -> %.3f", b0, b1);
    CHECK_MSG(b2 > b1, "joint training: %.3f -> %.3f", b1, b2);
    CHECK_MSG(b2 > -9.0, "trained bound %.3f", b2);
    /* samples look like the data: most are bars or stripes up to a pixel */
    size_t ns = 500, good = 0;
    float *s = malloc(ns * 16 * sizeof(float));
    CHECK_OK(lt_dbm_sample(m2, ns, 200, 0, 4, 2, s));
    for (size_t k = 0; k < ns; k++) {
        int best = 16;
        for (int o2 = 0; o2 < 2; o2++)
            for (int bits = 0; bits < 16; bits++) {
                int d = 0;
                for (int i = 0; i < 16; i++) d += (s[k * 16 + i] != 0) != ((bits >> (o2 ? i % 4 : i / 4)) & 1);
                if (d < best) best = d;
            }
        good += best <= 1;
    }
    fprintf(stderr, "  %zu of %zu samples within a pixel of a bar/stripe pattern\n", good, ns);
    CHECK_MSG(good > ns / 2, "%zu of %zu samples are near bars or stripes", good, ns);
    free(s);
    lt_dbm_free(m0), lt_dbm_free(m1), lt_dbm_free(m2);
    free(tr), free(te);
}

static int same_model(const lt_dbm *a, const lt_dbm *b)
{
    return a->n_params == b->n_params && memcmp(a->params, b->params, a->n_params * sizeof(float)) == 0 &&
           memcmp(a->data_mean, b->data_mean, a->sizes[0] * sizeof(float)) == 0;
}

static void test_threads_and_files(void)
{
    /* big enough for pretraining and joint training to split across threads */
    /* 200 units: the weight updates are split into column blocks */
    size_t n = 400, nv = 200;
    size_t rs[] = {200, 12, 10};
    lt_dbm *ref = random_dbm(3, rs, 1.0, 0.3, 3);
    float *x = malloc(n * nv * sizeof(float));
    CHECK_OK(lt_dbm_sample(ref, n, 20, 0, 4, 2, x));
    lt_dbm_options o;
    lt_dbm_options_default(&o);
    o.n_hidden[0] = 200, o.n_hidden[1] = 20, o.pretrain_epochs = 2, o.epochs = 2, o.seed = 9, o.damping = 0.2;
    lt_dbm *m[3];
    for (int t = 0; t < 3; t++) {
        o.threads = t + 1;
        CHECK_OK(lt_dbm_fit(&o, x, n, nv, &m[t]));
    }
    if (!m[0] || !m[1] || !m[2]) return;
    CHECK(same_model(m[0], m[1]) && same_model(m[0], m[2]));
    /* inference, bounds and samples at one and two threads */
    double b1[64], b2[64];
    float s1[10 * 200], s2[10 * 200];
    CHECK_OK(lt_dbm_bound(m[0], x, 64, 0.0, 30, 0.0, 1, b1));
    CHECK_OK(lt_dbm_bound(m[0], x, 64, 0.0, 30, 0.0, 2, b2));
    CHECK(memcmp(b1, b2, sizeof b1) == 0);
    CHECK_OK(lt_dbm_sample(m[0], 10, 30, 1, 5, 1, s1));
    CHECK_OK(lt_dbm_sample(m[0], 10, 30, 1, 5, 2, s2));
    CHECK(memcmp(s1, s2, sizeof s1) == 0);
    /* save -> load: the same parameters and scores */
    const char *path = "dbm_roundtrip.safetensors";
    CHECK_OK(lt_dbm_save(m[0], path));
    lt_dbm *l;
    CHECK_OK(lt_dbm_load(path, &l));
    if (l) {
        CHECK(same_model(m[0], l) && l->n_layers == 3 && l->sizes[1] == 200 && l->sizes[2] == 20);
        CHECK(l->epochs == 2 && l->pretrain_epochs == 2 && l->train_n == n);
        CHECK_OK(lt_dbm_bound(l, x, 64, 0.0, 30, 0.0, 2, b2));
        CHECK(memcmp(b1, b2, sizeof b1) == 0);
        lt_dbm_free(l);
    }
    /* damaged copies of the file (bytes changed in the header and the data)
     * load or fail with a message, never anything worse */
    {
        FILE *f = fopen(path, "rb");
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fseek(f, 0, SEEK_SET);
        unsigned char *buf = malloc((size_t)len), *cp = malloc((size_t)len);
        CHECK(fread(buf, 1, (size_t)len, f) == (size_t)len);
        fclose(f);
        lt_rng g;
        lt_rng_seed(&g, 11);
        size_t hl = 0, failed = 0, silent = 0;
        for (int b = 0; b < 8; b++) hl |= (size_t)buf[b] << (8 * b);
        for (int k = 0; k < 200; k++) {
            memcpy(cp, buf, (size_t)len);
            for (int e = 0; e < 3; e++) {
                size_t at = k % 2 ? (size_t)lt_rng_below(&g, hl + 8) : (size_t)lt_rng_below(&g, (uint64_t)len);
                cp[at] = (unsigned char)lt_rng_below(&g, 256);
            }
            FILE *o = fopen("dbm_mut.safetensors", "wb");
            fwrite(cp, 1, (size_t)len, o);
            fclose(o);
            lt_dbm *mm = NULL;
            lt_status st = lt_dbm_load("dbm_mut.safetensors", &mm);
            if (st) {
                failed++;
                silent += mm != NULL || strlen(lt_last_error()) == 0;
            }
            lt_dbm_free(mm);
        }
        CHECK_MSG(failed > 0 && silent == 0, "%zu of 200 damaged files refused, %zu without a message", failed, silent);
        fprintf(stderr, "  %zu of 200 damaged files refused with a message, the others loaded\n", failed);
        remove("dbm_mut.safetensors");
        free(buf), free(cp);
    }
    /* files that are wrong: a missing tensor, a wrong shape, a NaN */
    for (int bad = 0; bad < 3; bad++) {
        lt_st_writer *w;
        CHECK_OK(lt_st_writer_create(&w));
        lt_st_writer_meta(w, "latent.format", "1");
        lt_st_writer_meta(w, "latent.kind", "dbm");
        lt_st_writer_meta(w, "layer_sizes", "100,40,20");
        size_t s0[2] = {100, 40}, s1w[2] = {bad == 1 ? 41 : 40, 20}, sb[3][1] = {{100}, {40}, {20}};
        float *z = calloc(100 * 41, sizeof(float));
        if (bad == 2) z[7] = NAN;
        lt_st_writer_tensor(w, "W0", LT_ST_F32, 2, s0, z);
        lt_st_writer_tensor(w, "W1", LT_ST_F32, 2, s1w, z);
        for (int k = 0; k < 3; k++) {
            char nm[4] = {'b', (char)('0' + k), 0};
            if (!(bad == 0 && k == 2)) lt_st_writer_tensor(w, nm, LT_ST_F32, 1, sb[k], z + 200);
        }
        lt_st_writer_tensor(w, "data_mean", LT_ST_F32, 1, sb[0], z + 200);
        CHECK_OK(lt_st_writer_save(w, "dbm_bad.safetensors"));
        lt_st_writer_free(w);
        free(z);
        const char *want[] = {"'b2' is missing", "'W1' has shape", "tensor W0"};
        CHECK_FAILS(lt_dbm_load("dbm_bad.safetensors", &l), LT_ERR_FORMAT, want[bad]);
        CHECK(strstr(lt_last_error(), "dbm_bad.safetensors") != NULL);
    }
    remove("dbm_bad.safetensors");
    remove(path);
    for (int t = 0; t < 3; t++) lt_dbm_free(m[t]);
    lt_dbm_free(ref);
    free(x);
}

static void test_bad_input(void)
{
    lt_dbm_options o;
    lt_dbm_options_default(&o);
    o.n_hidden[0] = 3, o.n_hidden[1] = 2, o.epochs = 1, o.pretrain_epochs = 1;
    float x[6] = {0, 1, 0.5f, 1, 0, NAN};
    lt_dbm *m = NULL;
    CHECK_FAILS(lt_dbm_fit(&o, x, 2, 3, &m), LT_ERR_NUMERIC, "row 2, column 3");
    CHECK(m == NULL);
    x[5] = 1.5f;
    CHECK_FAILS(lt_dbm_fit(&o, x, 2, 3, &m), LT_ERR_INVALID, "outside [0, 1]");
    x[5] = 1.0f;
    CHECK_FAILS(lt_dbm_fit(&o, x, 0, 3, &m), LT_ERR_INVALID, "no samples");
    o.n_hidden_layers = 1;
    CHECK_FAILS(lt_dbm_fit(&o, x, 2, 3, &m), LT_ERR_INVALID, "--hidden");
    o.n_hidden_layers = 2, o.n_hidden[1] = 0;
    CHECK_FAILS(lt_dbm_fit(&o, x, 2, 3, &m), LT_ERR_INVALID, "--hidden");
    o.n_hidden[1] = 2, o.lr = -1;
    CHECK_FAILS(lt_dbm_fit(&o, x, 2, 3, &m), LT_ERR_INVALID, "--lr");
    o.lr = 0.01, o.damping = 1;
    CHECK_FAILS(lt_dbm_fit(&o, x, 2, 3, &m), LT_ERR_INVALID, "--damping");
    o.damping = 0;
    CHECK_OK(lt_dbm_fit(&o, x, 2, 3, &m));
    lt_ais_options ao;
    lt_ais_options_default(&ao);
    ao.runs = 1;
    lt_ais_result r;
    if (m) CHECK_FAILS(lt_dbm_ais(m, &ao, &r), LT_ERR_INVALID, "2 runs");
    double b;
    float bad[3] = {0, 2, 0};
    if (m) CHECK_FAILS(lt_dbm_bound(m, bad, 1, 0.0, 10, 0.0, 1, &b), LT_ERR_INVALID, "outside [0, 1]");
    lt_dbm_free(m);
    size_t one[] = {3, 2};
    CHECK_FAILS(lt_dbm_create(2, one, &m), LT_ERR_INVALID, "hidden layers");
}

int main(void)
{
    RUN(test_log_z_exact_against_brute_force);
    RUN(test_bound_against_exact);
    RUN(test_ais_agrees_with_exact);
    RUN(test_chain_model_term_matches_exact);
    RUN(test_training_raises_heldout_bound);
    RUN(test_threads_and_files);
    RUN(test_bad_input);
    return lt_test_done();
}
