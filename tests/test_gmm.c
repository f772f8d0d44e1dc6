// LABELS: unit
/* Gaussian mixtures: brute-force log-likelihood, EM monotonicity, recovery of
 * known parameters, thread-count independence, save/load, degenerate data,
 * KL divergences against closed forms. */
#include "harness.h"
#include "latent/gmm.h"
#include "latent/rng.h"
#include "models/gmm_internal.h"

#include <stdint.h>

static const lt_cov_type ALL[] = {LT_COV_FULL, LT_COV_DIAG, LT_COV_SPHERICAL, LT_COV_TIED};

/* n samples from a 3-component 2-D mixture with known parameters. */
static double *make_data(size_t n, uint64_t seed, size_t *labels)
{
    static const double mu[3][2] = {{0, 0}, {6, 1}, {-3, 7}};
    static const double L[3][4] = {{1.0, 0, 0.5, 0.8}, {0.6, 0, -0.3, 0.4}, {1.5, 0, 0, 0.3}}; /* lower */
    static const double w[3] = {0.5, 0.3, 0.2};
    double *X = malloc(n * 2 * sizeof(double));
    lt_rng r;
    lt_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        size_t k = lt_rng_categorical(&r, w, 3);
        double z0 = lt_rng_normal(&r), z1 = lt_rng_normal(&r);
        X[2 * i] = mu[k][0] + L[k][0] * z0;
        X[2 * i + 1] = mu[k][1] + L[k][2] * z0 + L[k][3] * z1;
        if (labels) labels[i] = k;
    }
    return X;
}

/* log p(x) by direct evaluation of each Gaussian with an explicit inverse
 * (2-D), independent of the library's Cholesky path. */
static double brute_logp(const lt_gmm *m, const double *x)
{
    double s = 0.0;
    for (size_t k = 0; k < m->k; k++) {
        double S[4] = {0, 0, 0, 0};
        const double *mu = m->means + 2 * k;
        switch (m->cov) {
        case LT_COV_FULL: memcpy(S, m->covs + 4 * k, sizeof S); break;
        case LT_COV_TIED: memcpy(S, m->covs, sizeof S); break;
        case LT_COV_DIAG: S[0] = m->covs[2 * k], S[3] = m->covs[2 * k + 1], S[1] = S[2] = 0; break;
        case LT_COV_SPHERICAL: S[0] = S[3] = m->covs[k], S[1] = S[2] = 0; break;
        }
        double det = S[0] * S[3] - S[1] * S[2];
        double a = x[0] - mu[0], b = x[1] - mu[1];
        double q = (S[3] * a * a - (S[1] + S[2]) * a * b + S[0] * b * b) / det;
        s += m->weights[k] * exp(-0.5 * q) / (2 * 3.14159265358979323846 * sqrt(det));
    }
    return log(s);
}

static lt_gmm *fit(lt_cov_type cov, size_t k, const double *X, size_t n, int threads, uint64_t seed)
{
    lt_gmm_options o;
    lt_gmm_options_default(&o);
    o.k = k, o.cov = cov, o.threads = threads, o.seed = seed, o.tol = 1e-8, o.max_iter = 300;
    lt_gmm *m = NULL;
    CHECK_OK(lt_gmm_fit(&o, X, n, 2, NULL, &m));
    return m;
}

static void test_score_matches_brute_force(void)
{
    size_t n = 500;
    double *X = make_data(n, 1, NULL);
    for (size_t c = 0; c < 4; c++) {
        lt_gmm *m = fit(ALL[c], 3, X, n, 1, 5);
        if (!m) continue;
        double lp[500];
        CHECK_OK(lt_gmm_score_samples(m, X, n, 2, lp));
        double worst = 0;
        for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(lp[i] - brute_logp(m, X + 2 * i)));
        CHECK_MSG(worst < 1e-10, "%s: max |diff| %g", lt_cov_type_name(ALL[c]), worst);
        /* responsibilities sum to 1, labels are their argmax */
        double resp[1500];
        size_t lab[500];
        CHECK_OK(lt_gmm_infer(m, X, n, 1, resp, lab, NULL));
        int ok = 1;
        for (size_t i = 0; i < n; i++) {
            double s = resp[3 * i] + resp[3 * i + 1] + resp[3 * i + 2];
            ok &= fabs(s - 1) < 1e-12 && resp[3 * i + lab[i]] >= resp[3 * i] && resp[3 * i + lab[i]] >= resp[3 * i + 2];
        }
        CHECK(ok);
        lt_gmm_free(m);
    }
    free(X);
}

static void test_em_monotone(void)
{
    size_t n = 2000;
    double *X = make_data(n, 2, NULL);
    for (size_t c = 0; c < 4; c++) {
        for (int init = 0; init < 2; init++) {
            lt_gmm_options o;
            lt_gmm_options_default(&o);
            lt_gmm_trace tr = {0};
            o.k = 4, o.cov = ALL[c], o.tol = 0, o.max_iter = 60, o.trace = &tr, o.reg_covar = 1e-9;
            o.init = init ? LT_GMM_INIT_RANDOM : LT_GMM_INIT_KMEANSPP;
            lt_gmm *m = NULL;
            CHECK_OK(lt_gmm_fit(&o, X, n, 2, NULL, &m));
            CHECK(tr.n == 60);
            double worst = 0;
            for (size_t i = 1; i < tr.n; i++) worst = fmin(worst, tr.loglik[i] - tr.loglik[i - 1]);
            CHECK_MSG(worst > -1e-10, "%s init %d: log-likelihood fell by %g", lt_cov_type_name(ALL[c]), init, -worst);
            free(tr.loglik);
            lt_gmm_free(m);
        }
    }
    free(X);
}

static void test_recovers_parameters(void)
{
    size_t n = 20000;
    double *X = make_data(n, 3, NULL);
    lt_gmm_options o;
    lt_gmm_options_default(&o);
    o.k = 3, o.n_init = 3, o.seed = 1, o.tol = 1e-6;
    lt_gmm *m = NULL;
    CHECK_OK(lt_gmm_fit(&o, X, n, 2, NULL, &m));
    if (m) {
        static const double mu[3][2] = {{0, 0}, {6, 1}, {-3, 7}};
        static const double w[3] = {0.5, 0.3, 0.2};
        static const double S[3][4] = {{1, 0.5, 0.5, 0.89}, {0.36, -0.18, -0.18, 0.25}, {2.25, 0, 0, 0.09}};
        for (size_t t = 0; t < 3; t++) {
            size_t j = 0; /* match by nearest mean */
            for (size_t q = 1; q < 3; q++)
                if (hypot(m->means[2 * q] - mu[t][0], m->means[2 * q + 1] - mu[t][1]) <
                    hypot(m->means[2 * j] - mu[t][0], m->means[2 * j + 1] - mu[t][1]))
                    j = q;
            CHECK_NEAR(m->weights[j], w[t], 0.02);
            /* five standard errors of a mean of w n samples */
            double nk = w[t] * (double)n;
            CHECK_NEAR(m->means[2 * j], mu[t][0], 5 * sqrt(S[t][0] / nk));
            CHECK_NEAR(m->means[2 * j + 1], mu[t][1], 5 * sqrt(S[t][3] / nk));
            for (int e = 0; e < 4; e++) CHECK_NEAR(m->covs[4 * j + e], S[t][e], 0.08);
        }
        CHECK(m->converged);
    }
    lt_gmm_free(m);
    free(X);
}

static void test_threads_same_model(void)
{
    size_t n = 17011; /* many blocks, a ragged last one */
    double *X = make_data(n, 4, NULL);
    for (size_t c = 0; c < 4; c++) {
        lt_gmm *a = fit(ALL[c], 5, X, n, 1, 9), *b = fit(ALL[c], 5, X, n, 2, 9), *d = fit(ALL[c], 5, X, n, 3, 9);
        if (a && b && d) {
            CHECK(memcmp(a->means, b->means, 10 * sizeof(double)) == 0);
            CHECK(memcmp(a->means, d->means, 10 * sizeof(double)) == 0);
            CHECK(memcmp(a->weights, b->weights, 5 * sizeof(double)) == 0);
            CHECK(a->lower_bound == b->lower_bound && a->n_iter == b->n_iter);
        }
        lt_gmm_free(a), lt_gmm_free(b), lt_gmm_free(d);
    }
    free(X);
}

static void test_save_load(void)
{
    const char *dir = lt_test_tmpdir("gmm");
    size_t n = 300;
    double *X = make_data(n, 5, NULL);
    for (size_t c = 0; c < 4; c++) {
        lt_gmm *m = fit(ALL[c], 3, X, n, 1, 1), *l = NULL;
        char path[4200];
        snprintf(path, sizeof path, "%s/m_%zu.safetensors", dir, c);
        CHECK_OK(lt_gmm_save(m, path));
        CHECK_OK(lt_gmm_load(path, &l));
        if (m && l) {
            double a[300], b[300];
            CHECK_OK(lt_gmm_score_samples(m, X, n, 1, a));
            CHECK_OK(lt_gmm_score_samples(l, X, n, 1, b));
            CHECK(memcmp(a, b, sizeof a) == 0);
            CHECK(l->cov == m->cov && l->n_iter == m->n_iter && l->lower_bound == m->lower_bound);
        }
        lt_gmm_free(m), lt_gmm_free(l);
    }
    free(X);
}

static void test_bad_input(void)
{
    double X[6] = {0, 1, 2, 3, 4, 5};
    lt_gmm_options o;
    lt_gmm_options_default(&o);
    lt_gmm *m = NULL;
    o.k = 4;
    CHECK_FAILS(lt_gmm_fit(&o, X, 3, 2, NULL, &m), LT_ERR_INVALID, "exceeds the number of samples");
    o.k = 1;
    CHECK_FAILS(lt_gmm_fit(&o, X, 0, 2, NULL, &m), LT_ERR_INVALID, "no samples");
    X[3] = NAN;
    CHECK_FAILS(lt_gmm_fit(&o, X, 3, 2, NULL, &m), LT_ERR_NUMERIC, "row 2, column 2");
    X[3] = 3;
    double w[3] = {1, -1, 1};
    CHECK_FAILS(lt_gmm_fit(&o, X, 3, 2, w, &m), LT_ERR_INVALID, "sample weight 2");
    double wz[3] = {0, 0, 1};
    o.k = 2;
    CHECK_FAILS(lt_gmm_fit(&o, X, 3, 2, wz, &m), LT_ERR_INVALID, "exceeds the number of samples (1)");
    CHECK(m == NULL);
    lt_gmm *bad;
    CHECK_OK(lt_gmm_create(2, 2, LT_COV_FULL, &bad));
    bad->weights[0] = bad->weights[1] = 0.5;
    double S[4] = {1, 2, 2, 1}; /* indefinite */
    memcpy(bad->covs, S, sizeof S);
    memcpy(bad->covs + 4, S, sizeof S);
    CHECK_FAILS(lt_gmm_prepare(bad), LT_ERR_NUMERIC, "component 0: covariance is not positive definite");
    lt_gmm_free(bad);
}

/* Duplicated points and more components than distinct points: every
 * component that collapses or empties is repaired, the result stays finite. */
static void test_degenerate(void)
{
    size_t n = 200;
    double *X = malloc(n * 2 * sizeof(double));
    for (size_t i = 0; i < n; i++) X[2 * i] = (double)(i % 3), X[2 * i + 1] = (double)(i % 3) * 2.0;
    for (size_t c = 0; c < 4; c++) {
        for (int reg = 0; reg < 2; reg++) {
            lt_gmm_options o;
            lt_gmm_options_default(&o);
            o.k = 6, o.cov = ALL[c], o.reg_covar = reg ? 1e-6 : 0.0, o.max_iter = 50, o.init = LT_GMM_INIT_RANDOM;
            lt_gmm *m = NULL;
            lt_status st = lt_gmm_fit(&o, X, n, 2, NULL, &m);
            CHECK_MSG(st == LT_OK, "%s reg %d: %s", lt_cov_type_name(ALL[c]), reg, lt_last_error());
            if (m) {
                int finite = isfinite(m->lower_bound);
                for (size_t j = 0; j < m->k * 2; j++) finite &= isfinite(m->means[j]);
                CHECK(finite);
                double lp[200];
                CHECK_OK(lt_gmm_score_samples(m, X, n, 1, lp));
                CHECK(isfinite(lp[0]));
            }
            lt_gmm_free(m);
        }
    }
    /* An empty component: a component far away from all data with kmeans-free
     * init from a model; it must be repaired and counted. */
    double *Y = make_data(400, 6, NULL);
    lt_gmm *init;
    CHECK_OK(lt_gmm_create(2, 2, LT_COV_DIAG, &init));
    init->weights[0] = 1 - 1e-300, init->weights[1] = 1e-300;
    init->means[2] = 1e6, init->means[3] = 1e6;
    for (int j = 0; j < 4; j++) init->covs[j] = 1.0;
    CHECK_OK(lt_gmm_prepare(init));
    lt_gmm_options o;
    lt_gmm_options_default(&o);
    o.k = 2, o.cov = LT_COV_DIAG, o.init = LT_GMM_INIT_MODEL, o.init_model = init, o.max_iter = 30;
    lt_gmm *m = NULL;
    CHECK_OK(lt_gmm_fit(&o, Y, 400, 2, NULL, &m));
    if (m) {
        CHECK(m->n_repaired >= 1);
        CHECK(m->weights[1] > 0.05);
        CHECK(fabs(m->means[2]) < 100);
    }
    lt_gmm_free(m);
    lt_gmm_free(init);
    free(Y);
    free(X);
}

static void test_weights_equal_repetition(void)
{
    /* Weight 2 on a sample is the same as the sample twice. */
    size_t n = 300;
    double *X = make_data(n, 7, NULL);
    double *X2 = malloc((n + 100) * 2 * sizeof(double));
    double *w = malloc(n * sizeof(double));
    memcpy(X2, X, n * 2 * sizeof(double));
    for (size_t i = 0; i < n; i++) w[i] = i < 100 ? 2.0 : 1.0;
    memcpy(X2 + 2 * n, X, 100 * 2 * sizeof(double));
    lt_gmm *init;
    CHECK_OK(lt_gmm_create(3, 2, LT_COV_FULL, &init));
    double mu[6] = {0, 0, 6, 1, -3, 7};
    memcpy(init->means, mu, sizeof mu);
    for (int j = 0; j < 3; j++) init->weights[j] = 1.0 / 3, init->covs[4 * j] = init->covs[4 * j + 3] = 1.0;
    CHECK_OK(lt_gmm_prepare(init));
    lt_gmm_options o;
    lt_gmm_options_default(&o);
    o.k = 3, o.init = LT_GMM_INIT_MODEL, o.init_model = init, o.max_iter = 20, o.tol = 0;
    lt_gmm *a = NULL, *b = NULL;
    CHECK_OK(lt_gmm_fit(&o, X, n, 2, w, &a));
    CHECK_OK(lt_gmm_fit(&o, X2, n + 100, 2, NULL, &b));
    if (a && b) {
        for (int j = 0; j < 6; j++) CHECK_REL(a->means[j], b->means[j], 1e-9);
        for (int j = 0; j < 12; j++) CHECK_NEAR(a->covs[j], b->covs[j], 1e-9);
        CHECK_REL(a->lower_bound, b->lower_bound, 1e-9);
    }
    lt_gmm_free(a), lt_gmm_free(b), lt_gmm_free(init);
    free(X), free(X2), free(w);
}

static void test_sampling_moments(void)
{
    lt_gmm *m;
    CHECK_OK(lt_gmm_create(2, 2, LT_COV_FULL, &m));
    double mu[4] = {-2, 0, 3, 1}, S[8] = {1, 0.6, 0.6, 2, 0.5, -0.2, -0.2, 0.3};
    memcpy(m->means, mu, sizeof mu);
    memcpy(m->covs, S, sizeof S);
    m->weights[0] = 0.3, m->weights[1] = 0.7;
    CHECK_OK(lt_gmm_prepare(m));
    size_t n = 100000;
    double *X = malloc(n * 2 * sizeof(double));
    size_t *lab = malloc(n * sizeof(size_t));
    CHECK_OK(lt_gmm_sample(m, n, 3, X, lab));
    double cnt = 0, mx = 0, sxy = 0;
    for (size_t i = 0; i < n; i++)
        if (lab[i] == 0) cnt++, mx += X[2 * i], sxy += (X[2 * i] + 2) * X[2 * i + 1];
    CHECK_NEAR(cnt / n, 0.3, 0.006);
    CHECK_NEAR(mx / cnt, -2, 0.02);
    CHECK_NEAR(sxy / cnt, 0.6, 0.04);
    /* a fit on the samples gives back the mixture: KL small */
    lt_gmm_options o;
    lt_gmm_options_default(&o);
    o.k = 2, o.tol = 1e-8;
    lt_gmm *f = NULL;
    CHECK_OK(lt_gmm_fit(&o, X, n, 2, NULL, &f));
    double kl = 1, se = 1;
    if (f) CHECK_OK(lt_gmm_kl_mc(m, f, 20000, 1, 2, &kl, &se));
    CHECK_MSG(kl < 0.002 && se < 0.002, "kl %g +- %g", kl, se);
    lt_gmm_free(f), lt_gmm_free(m);
    free(X), free(lab);
}

static void test_kl(void)
{
    /* 1-D closed form: log(s1/s0) + (s0^2 + (m0-m1)^2)/(2 s1^2) - 1/2 */
    double m0 = 0.3, s0 = 1.2, m1 = -0.5, s1 = 0.7, S0 = s0 * s0, S1 = s1 * s1, kl;
    CHECK_OK(lt_kl_gaussian(1, &m0, &S0, &m1, &S1, &kl));
    CHECK_REL(kl, log(s1 / s0) + (S0 + (m0 - m1) * (m0 - m1)) / (2 * S1) - 0.5, 1e-12);
    /* KL(p || p) = 0; a d-dim case against the trace formula with explicit 2x2 inverse */
    double a[2] = {1, 2}, A[4] = {2, 0.3, 0.3, 1}, b[2] = {0, 1}, B[4] = {1, -0.2, -0.2, 0.5};
    CHECK_OK(lt_kl_gaussian(2, a, A, a, A, &kl));
    CHECK_NEAR(kl, 0, 1e-14);
    CHECK_OK(lt_kl_gaussian(2, a, A, b, B, &kl));
    double det = B[0] * B[3] - B[1] * B[2], Bi[4] = {B[3] / det, -B[1] / det, -B[2] / det, B[0] / det};
    double tr = Bi[0] * A[0] + Bi[1] * A[2] + Bi[2] * A[1] + Bi[3] * A[3];
    double dx = b[0] - a[0], dy = b[1] - a[1];
    double q = Bi[0] * dx * dx + (Bi[1] + Bi[2]) * dx * dy + Bi[3] * dy * dy;
    double ref = 0.5 * (tr + q - 2 + log(det) - log(A[0] * A[3] - A[1] * A[2]));
    CHECK_REL(kl, ref, 1e-12);
    /* Monte Carlo between one-component mixtures agrees with the closed form. */
    lt_gmm *ga, *gb;
    CHECK_OK(lt_gmm_create(1, 2, LT_COV_FULL, &ga));
    CHECK_OK(lt_gmm_create(1, 2, LT_COV_FULL, &gb));
    ga->weights[0] = gb->weights[0] = 1;
    memcpy(ga->means, a, sizeof a), memcpy(ga->covs, A, sizeof A);
    memcpy(gb->means, b, sizeof b), memcpy(gb->covs, B, sizeof B);
    CHECK_OK(lt_gmm_prepare(ga));
    CHECK_OK(lt_gmm_prepare(gb));
    double mc, se;
    CHECK_OK(lt_gmm_kl_mc(ga, gb, 200000, 7, 2, &mc, &se));
    CHECK_MSG(fabs(mc - ref) < 4 * se && se < 0.02, "mc %g +- %g vs %g", mc, se, ref);
    lt_gmm *gc;
    CHECK_OK(lt_gmm_create(1, 3, LT_COV_DIAG, &gc));
    CHECK_FAILS(lt_gmm_kl_mc(ga, gc, 100, 1, 1, &mc, &se), LT_ERR_DIM, "different dimensions");
    lt_gmm_free(ga), lt_gmm_free(gb), lt_gmm_free(gc);
}

static void test_bic_prefers_truth(void)
{
    size_t n = 3000;
    double *X = make_data(n, 8, NULL);
    double best = INFINITY;
    size_t arg = 0;
    for (size_t k = 1; k <= 6; k++) {
        lt_gmm_options o;
        lt_gmm_options_default(&o);
        o.k = k, o.n_init = 2, o.seed = 3;
        lt_gmm *m = NULL;
        CHECK_OK(lt_gmm_fit(&o, X, n, 2, NULL, &m));
        double bic, aic;
        if (m) CHECK_OK(lt_gmm_bic(m, X, n, 1, &bic, &aic));
        if (m && bic < best) best = bic, arg = k;
        if (m && k == 3) CHECK(lt_gmm_n_parameters(m) == 3 * 3 + 3 * 2 + 2);
        lt_gmm_free(m);
    }
    CHECK_MSG(arg == 3, "BIC chose k = %zu", arg);
    free(X);
}

/* The diagonal E-step kernel (fused and register-blocked on AVX-512, a GEMM
 * elsewhere) against a straightforward long-double evaluation, for shapes
 * that exercise its edges: k not a multiple of 8 (masked tails), k above one
 * register block of 32, d of 1, rows that are not a multiple of the
 * sub-block, a component of zero weight, rows far from every component; and
 * the same bits at 1 and 2 threads. */
static void test_diag_kernel_reference(void)
{
    static const size_t shapes[][2] = {{1, 1}, {3, 2}, {7, 5}, {8, 16}, {13, 3}, {32, 16}, {33, 7}, {40, 50}, {67, 9}};
    size_t n = 2113; /* three chunks, a ragged last one */
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        size_t k = shapes[s][0], d = shapes[s][1];
        lt_rng r;
        lt_rng_seed(&r, 100 + s);
        lt_gmm *m = NULL;
        CHECK_OK(lt_gmm_create(k, d, LT_COV_DIAG, &m));
        if (!m) continue;
        double tw = 0.0;
        for (size_t j = 0; j < k; j++) tw += (m->weights[j] = j == 1 ? 0.0 : 0.1 + lt_rng_uniform(&r));
        for (size_t j = 0; j < k; j++) m->weights[j] /= tw;
        for (size_t i = 0; i < k * d; i++) {
            m->means[i] = 3.0 * lt_rng_normal(&r);
            m->covs[i] = 0.2 + 2.0 * lt_rng_uniform(&r);
        }
        CHECK_OK(lt_gmm_prepare(m));
        double *X = malloc(n * d * sizeof(double));
        for (size_t i = 0; i < n; i++) {
            size_t j = (size_t)(lt_rng_uniform(&r) * (double)k) % k;
            double far = i % 97 == 0 ? 40.0 : 0.0; /* every term negligible but the nearest */
            for (size_t t = 0; t < d; t++)
                X[i * d + t] = m->means[j * d + t] + sqrt(m->covs[j * d + t]) * lt_rng_normal(&r) + far;
        }
        double *lp1 = malloc(n * sizeof(double)), *lp2 = malloc(n * sizeof(double));
        double *R1 = malloc(n * k * sizeof(double)), *R2 = malloc(n * k * sizeof(double));
        double *L = malloc(n * k * sizeof(double)), *L2 = malloc(n * k * sizeof(double));
        CHECK_OK(lt_gmm_score_samples(m, X, n, 1, lp1));
        CHECK_OK(lt_gmm_infer(m, X, n, 2, R2, NULL, lp2));
        CHECK_OK(lt_gmm_infer(m, X, n, 1, R1, NULL, NULL));
        CHECK_OK(lt_gmm_logjoint(m, X, n, 1, 1, L));
        CHECK_OK(lt_gmm_logjoint(m, X, n, 2, 1, L2));
        CHECK_MSG(memcmp(lp1, lp2, n * sizeof(double)) == 0, "k %zu d %zu: log p differs between 1 and 2 threads", k,
                  d);
        CHECK_MSG(memcmp(R1, R2, n * k * sizeof(double)) == 0, "k %zu d %zu: posteriors differ between 1 and 2 threads",
                  k, d);
        CHECK_MSG(memcmp(L, L2, n * k * sizeof(double)) == 0, "k %zu d %zu: log-joint differs between 1 and 2 threads",
                  k, d);
        double worst_lp = 0.0, worst_r = 0.0, worst_l = 0.0;
        long double *ref = malloc(k * sizeof(long double));
        for (size_t i = 0; i < n; i++) {
            long double mx = -INFINITY, sum = 0.0L;
            for (size_t j = 0; j < k; j++) {
                long double q = 0.0L;
                for (size_t t = 0; t < d; t++) {
                    long double v = (long double)X[i * d + t] - m->means[j * d + t];
                    q += v * v / m->covs[j * d + t] + logl(2.0L * 3.14159265358979323846264338L * m->covs[j * d + t]);
                }
                ref[j] = logl((long double)m->weights[j]) - 0.5L * q;
                if (ref[j] > mx) mx = ref[j];
                if (isfinite((double)ref[j]))
                    worst_l = fmax(worst_l, fabs((double)(L[i * k + j] - ref[j])) / (1.0 + fabs((double)ref[j])));
                else
                    worst_l = fmax(worst_l, L[i * k + j] == -INFINITY ? 0.0 : INFINITY);
            }
            for (size_t j = 0; j < k; j++) sum += expl(ref[j] - mx);
            long double lse = mx + logl(sum);
            worst_lp = fmax(worst_lp, fabs((double)(lp1[i] - lse)) / (1.0 + fabs((double)lse)));
            for (size_t j = 0; j < k; j++) worst_r = fmax(worst_r, fabs((double)(R1[i * k + j] - expl(ref[j] - lse))));
        }
        /* The expanded square [x^2, x, 1] A loses a few digits to cancellation
         * against the direct form; far rows are several hundred nats out. */
        CHECK_MSG(worst_lp < 1e-12, "k %zu d %zu: log p off by %g (relative)", k, d, worst_lp);
        CHECK_MSG(worst_l < 1e-12, "k %zu d %zu: log-joint off by %g (relative)", k, d, worst_l);
        CHECK_MSG(worst_r < 1e-12, "k %zu d %zu: posteriors off by %g", k, d, worst_r);
        int zero = 1; /* the component of zero weight explains nothing */
        for (size_t i = 0; k > 1 && i < n; i++) zero &= R1[i * k + 1] == 0.0 && L[i * k + 1] == -INFINITY;
        CHECK_MSG(zero, "k %zu d %zu: a component of zero weight has a posterior", k, d);
        free(ref), free(X), free(lp1), free(lp2), free(R1), free(R2), free(L), free(L2);
        lt_gmm_free(m);
    }
}

/* The kernels HMMs use: the log-joint against brute force, and an M-step
 * from given responsibilities against one EM iteration of lt_gmm_fit. */
static void test_internal_kernels(void)
{
    size_t n = 700;
    double *X = make_data(n, 9, NULL);
    for (size_t c = 0; c < 4; c++) {
        lt_gmm *m = fit(ALL[c], 3, X, n, 1, 2);
        if (!m) continue;
        double *L = malloc(n * 3 * sizeof(double)), *R = malloc(n * 3 * sizeof(double));
        CHECK_OK(lt_gmm_logjoint(m, X, n, 2, 1, L));
        double worst = 0;
        for (size_t i = 0; i < n; i++) {
            double mx = fmax(fmax(L[3 * i], L[3 * i + 1]), L[3 * i + 2]);
            double lse = mx + log(exp(L[3 * i] - mx) + exp(L[3 * i + 1] - mx) + exp(L[3 * i + 2] - mx));
            worst = fmax(worst, fabs(lse - brute_logp(m, X + 2 * i)));
        }
        CHECK_MSG(worst < 1e-10, "%s: %g", lt_cov_type_name(ALL[c]), worst);
        double *L0 = malloc(n * 3 * sizeof(double));
        CHECK_OK(lt_gmm_logjoint(m, X, n, 1, 0, L0));
        CHECK_NEAR(L[0] - L0[0], log(m->weights[0]), 1e-12);
        /* M-step from the posteriors == one EM iteration from m */
        CHECK_OK(lt_gmm_infer(m, X, n, 1, R, NULL, NULL));
        lt_gmm *a = NULL, *b = NULL;
        CHECK_OK(lt_gmm_copy(m, &a));
        size_t rep = 0;
        CHECK_OK(lt_gmm_mstep_resp(a, X, n, R, 2, &rep));
        lt_gmm_options o;
        lt_gmm_options_default(&o);
        o.k = 3, o.cov = ALL[c], o.init = LT_GMM_INIT_MODEL, o.init_model = m, o.max_iter = 1, o.tol = 0;
        CHECK_OK(lt_gmm_fit(&o, X, n, 2, NULL, &b));
        if (a && b) {
            CHECK(rep == 0);
            for (int j = 0; j < 6; j++) CHECK_REL(a->means[j], b->means[j], 1e-10);
            for (int j = 0; j < 3; j++) CHECK_REL(a->weights[j], b->weights[j], 1e-10);
            size_t cl = ALL[c] == LT_COV_FULL ? 12 : ALL[c] == LT_COV_DIAG ? 6 : ALL[c] == LT_COV_SPHERICAL ? 3 : 4;
            for (size_t j = 0; j < cl; j++) CHECK_NEAR(a->covs[j], b->covs[j], 1e-10);
        }
        lt_gmm_free(a), lt_gmm_free(b), lt_gmm_free(m);
        free(L), free(L0), free(R);
    }
    free(X);
}

int main(void)
{
    RUN(test_score_matches_brute_force);
    RUN(test_em_monotone);
    RUN(test_recovers_parameters);
    RUN(test_threads_same_model);
    RUN(test_save_load);
    RUN(test_bad_input);
    RUN(test_degenerate);
    RUN(test_weights_equal_repetition);
    RUN(test_sampling_moments);
    RUN(test_kl);
    RUN(test_bic_prefers_truth);
    RUN(test_internal_kernels);
    RUN(test_diag_kernel_reference);
    return lt_test_done();
}
