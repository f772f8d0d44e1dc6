// LABELS: unit
/* HMM emissions (src/models/hmm_emit.c) on their own: densities against
 * closed forms, M-steps against weighted maximum-likelihood estimates
 * computed here, repairs, initialisation, sampling moments, model files and
 * messages. Models are built by hand (fields + hmm_emit_alloc), so this
 * test needs nothing from the engine. */
#include "latent/hmm.h"
#include "latent/rng.h"
#include "latent/safetensors.h"
#include "models/hmm_emit.h"

#include "harness.h"

#include <stdint.h>

#define LOG_2PI 1.8378770664093454835606594728112

static const lt_cov_type all_covs[4] = {LT_COV_FULL, LT_COV_DIAG, LT_COV_SPHERICAL, LT_COV_TIED};

static lt_hmm *make(size_t k, lt_emission e, size_t d, size_t n_symbols, size_t n_mix, lt_cov_type cov)
{
    lt_hmm *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->k = k, m->emission = e, m->d = d, m->n_symbols = n_symbols, m->n_mix = n_mix, m->cov = cov;
    if (hmm_emit_alloc(m) != LT_OK) {
        free(m);
        return NULL;
    }
    return m;
}

static void destroy(lt_hmm *m)
{
    if (!m) return;
    hmm_emit_release(m);
    hmm_emit_release(m); /* idempotent */
    free(m);
}

static lt_seqs seqs_x(const double *x, size_t n, size_t d, const size_t *len)
{
    lt_seqs s = {.n_seqs = 1, .lengths = len, .total = n, .dim = d, .x = x, .symbols = NULL};
    return s;
}

static lt_seqs seqs_sym(const int32_t *sym, size_t n, const size_t *len)
{
    lt_seqs s = {.n_seqs = 1, .lengths = len, .total = n, .dim = 1, .x = NULL, .symbols = sym};
    return s;
}

/* Component c's covariance as a 2 x 2 matrix, whatever the storage. */
static void cov2(const lt_gmm *g, size_t c, double S[4])
{
    memset(S, 0, 4 * sizeof(double));
    switch (g->cov) {
    case LT_COV_FULL: memcpy(S, g->covs + c * 4, 4 * sizeof(double)); break;
    case LT_COV_TIED: memcpy(S, g->covs, 4 * sizeof(double)); break;
    case LT_COV_DIAG: S[0] = g->covs[c * 2], S[1] = S[2] = 0.0, S[3] = g->covs[c * 2 + 1]; break;
    case LT_COV_SPHERICAL: S[0] = S[3] = g->covs[c], S[1] = S[2] = 0.0; break;
    }
}

/* log N(x | mu, S) in two dimensions with the explicit inverse. */
static double gauss2(const double *x, const double *mu, const double *S)
{
    double det = S[0] * S[3] - S[1] * S[2];
    double i00 = S[3] / det, i01 = -S[1] / det, i11 = S[0] / det;
    double a = x[0] - mu[0], b = x[1] - mu[1];
    return -LOG_2PI - 0.5 * log(det) - 0.5 * (a * a * i00 + 2.0 * a * b * i01 + b * b * i11);
}

/* Fill a 2-D mixture of `comps` components with distinct parameters. */
static void fill_gmm(lt_gmm *g, double offset)
{
    size_t k = g->k;
    for (size_t c = 0; c < k; c++) {
        double j = (double)c + offset;
        g->weights[c] = 1.0 + j;
        g->means[c * 2] = 2.0 * j - 1.0;
        g->means[c * 2 + 1] = 0.5 - j;
        switch (g->cov) {
        case LT_COV_FULL: {
            double *S = g->covs + c * 4;
            S[0] = 1.0 + 0.5 * j, S[1] = S[2] = 0.3, S[3] = 0.8 + 0.2 * j;
            break;
        }
        case LT_COV_DIAG: g->covs[c * 2] = 1.0 + 0.5 * j, g->covs[c * 2 + 1] = 0.8 + 0.2 * j; break;
        case LT_COV_SPHERICAL: g->covs[c] = 1.0 + 0.5 * j; break;
        case LT_COV_TIED: break;
        }
    }
    if (g->cov == LT_COV_TIED) g->covs[0] = 1.2, g->covs[1] = g->covs[2] = 0.4, g->covs[3] = 0.9;
    double s = 0.0;
    for (size_t c = 0; c < k; c++)
        s += g->weights[c];
    for (size_t c = 0; c < k; c++)
        g->weights[c] /= s;
}

static void random_x(double *x, size_t n, double lo, double hi, uint64_t seed)
{
    lt_rng r;
    lt_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * lt_rng_uniform(&r);
}

/* Rows of gamma (n x k) from a Dirichlet(1, ..., 1). */
static void random_gamma(double *gamma, size_t n, size_t k, uint64_t seed)
{
    lt_rng r;
    lt_rng_seed(&r, seed);
    double alpha[16];
    for (size_t j = 0; j < k; j++)
        alpha[j] = 1.0;
    for (size_t i = 0; i < n; i++)
        lt_rng_dirichlet(&r, alpha, k, gamma + i * k);
}

/* Two well separated clusters in 2-D, labelled. */
static void two_clusters(double *x, int *label, size_t n, uint64_t seed)
{
    lt_rng r;
    lt_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        int c = i % 3 == 0;
        label[i] = c;
        x[i * 2] = (c ? 6.0 : -4.0) + lt_rng_normal(&r);
        x[i * 2 + 1] = (c ? -3.0 : 2.0) + 0.5 * lt_rng_normal(&r);
    }
}

/* ---------------------------------------------------------------- storage */

static void test_alloc_errors(void)
{
    lt_hmm m = {0};
    m.k = 0, m.emission = LT_EMIT_POISSON, m.d = 2;
    CHECK_FAILS(hmm_emit_alloc(&m), LT_ERR_INVALID, "k >= 1");
    m.k = 2, m.emission = LT_EMIT_CATEGORICAL, m.n_symbols = 0;
    CHECK_FAILS(hmm_emit_alloc(&m), LT_ERR_INVALID, "alphabet");
    m.emission = LT_EMIT_GMM, m.n_mix = 0, m.d = 2;
    CHECK_FAILS(hmm_emit_alloc(&m), LT_ERR_INVALID, "n_mix");
    m.emission = LT_EMIT_GAUSSIAN, m.d = 0;
    CHECK_FAILS(hmm_emit_alloc(&m), LT_ERR_INVALID, "d >= 1");
    CHECK(m.emit == NULL && m.states == NULL);
    hmm_emit_release(&m);
    hmm_emit_release(NULL);
}

static void test_n_parameters(void)
{
    lt_hmm *c = make(3, LT_EMIT_CATEGORICAL, 1, 5, 0, LT_COV_DIAG);
    lt_hmm *p = make(3, LT_EMIT_POISSON, 4, 0, 0, LT_COV_DIAG);
    CHECK(c && p);
    if (c) CHECK(hmm_emit_n_parameters(c) == 12);
    if (p) CHECK(hmm_emit_n_parameters(p) == 12);
    destroy(c);
    destroy(p);
    const size_t gauss[4] = {6 + 9, 6 + 6, 6 + 3, 6 + 3};
    const size_t mix[4] = {2 * (2 + 6 + 9), 2 * (2 + 6 + 6), 2 * (2 + 6 + 3), 2 * (2 + 6 + 3)};
    for (int i = 0; i < 4; i++) {
        lt_hmm *g = make(3, LT_EMIT_GAUSSIAN, 2, 0, 0, all_covs[i]);
        lt_hmm *x = make(2, LT_EMIT_GMM, 2, 0, 3, all_covs[i]);
        CHECK(g && x);
        if (g)
            CHECK_MSG(hmm_emit_n_parameters(g) == gauss[i], "%s: %zu", lt_cov_type_name(all_covs[i]),
                      hmm_emit_n_parameters(g));
        if (x)
            CHECK_MSG(hmm_emit_n_parameters(x) == mix[i], "%s: %zu", lt_cov_type_name(all_covs[i]),
                      hmm_emit_n_parameters(x));
        destroy(g);
        destroy(x);
    }
}

/* -------------------------------------------------------------- categorical */

static void test_categorical_loglik(void)
{
    lt_hmm *m = make(2, LT_EMIT_CATEGORICAL, 1, 4, 0, LT_COV_DIAG);
    if (!m) {
        CHECK(0);
        return;
    }
    const double P[8] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.25, 0.25, 0.0};
    memcpy(m->emit, P, sizeof P);
    CHECK_OK(hmm_emit_prepare(m));
    const int32_t sym[6] = {0, 3, 2, 1, 3, 0};
    size_t len = 6;
    lt_seqs s = seqs_sym(sym, 6, &len);
    CHECK_OK(hmm_emit_check_data(m, &s));
    double out[12];
    CHECK_OK(hmm_emit_loglik(m, &s, 1, 5, out));
    for (size_t i = 0; i < 5; i++)
        for (size_t j = 0; j < 2; j++) {
            double want = log(P[j * 4 + (size_t)sym[1 + i]]);
            if (isinf(want))
                CHECK(isinf(out[i * 2 + j]) && out[i * 2 + j] < 0);
            else
                CHECK_NEAR(out[i * 2 + j], want, 1e-12);
        }
    CHECK_FAILS(hmm_emit_loglik(m, &s, 4, 3, out), LT_ERR_INVALID, "outside the data");
    destroy(m);
}

static void test_categorical_mstep(void)
{
    enum { N = 24, K = 2, S = 4 };
    lt_hmm *m = make(K, LT_EMIT_CATEGORICAL, 1, S, 0, LT_COV_DIAG);
    if (!m) {
        CHECK(0);
        return;
    }
    int32_t sym[N];
    int lab[N];
    double gamma[N * K];
    /* State 0 sees 0, 1, 2; state 1 sees 1, 2 only; symbol 3 never occurs. */
    for (size_t t = 0; t < N; t++) {
        lab[t] = t % 3 == 1;
        sym[t] = lab[t] ? (int32_t)(1 + t % 2) : (int32_t)(t % 5 % 3);
        gamma[t * K] = lab[t] ? 0.0 : 1.0;
        gamma[t * K + 1] = lab[t] ? 1.0 : 0.0;
    }
    size_t len = N, rep = 0;
    lt_seqs s = seqs_sym(sym, N, &len);
    CHECK_OK(hmm_emit_mstep(m, &s, gamma, 1, &rep));
    CHECK(rep == 0);
    for (size_t j = 0; j < K; j++) {
        double cnt[S] = {0}, n = 0.0;
        for (size_t t = 0; t < N; t++)
            if ((size_t)lab[t] == j) cnt[sym[t]] += 1.0, n += 1.0;
        for (size_t k = 0; k < S; k++)
            CHECK_NEAR(m->emit[j * S + k], cnt[k] / n, 1e-10);
    }
    CHECK(m->emit[1 * S + 0] > 0.0);                               /* seen elsewhere: floored, not zero */
    CHECK(m->emit[0 * S + 3] == 0.0 && m->emit[1 * S + 3] == 0.0); /* never seen */
    CHECK_OK(hmm_emit_prepare(m));

    /* Soft posteriors: the weighted frequencies. */
    random_gamma(gamma, N, K, 5);
    CHECK_OK(hmm_emit_mstep(m, &s, gamma, 1, &rep));
    for (size_t j = 0; j < K; j++) {
        double cnt[S] = {0}, n = 0.0;
        for (size_t t = 0; t < N; t++)
            cnt[sym[t]] += gamma[t * K + j], n += gamma[t * K + j];
        for (size_t k = 0; k < S; k++)
            CHECK_NEAR(m->emit[j * S + k], cnt[k] / n, 1e-10);
    }
    destroy(m);
}

static void test_categorical_repair(void)
{
    enum { N = 30, K = 3, S = 3 };
    lt_hmm *m = make(K, LT_EMIT_CATEGORICAL, 1, S, 0, LT_COV_DIAG);
    if (!m) {
        CHECK(0);
        return;
    }
    int32_t sym[N];
    double gamma[N * K], freq[S] = {0};
    for (size_t t = 0; t < N; t++) {
        sym[t] = (int32_t)(t * t % 7 % 3);
        freq[sym[t]] += 1.0 / N;
        gamma[t * K] = 0.3, gamma[t * K + 1] = 0.7, gamma[t * K + 2] = 0.0; /* state 2 empty */
    }
    size_t len = N, rep = 0;
    lt_seqs s = seqs_sym(sym, N, &len);
    CHECK_OK(hmm_emit_mstep(m, &s, gamma, 1, &rep));
    CHECK(rep == 1);
    for (size_t k = 0; k < S; k++)
        CHECK_NEAR(m->emit[2 * S + k], freq[k], 1e-12);
    CHECK_OK(hmm_emit_prepare(m));
    gamma[4] = NAN;
    CHECK_FAILS(hmm_emit_mstep(m, &s, gamma, 1, &rep), LT_ERR_NUMERIC, "step 2: posterior of state 1");
    destroy(m);
}

static void test_categorical_init(void)
{
    enum { N = 200, K = 3, S = 6 };
    int32_t sym[N];
    for (size_t t = 0; t < N; t++)
        sym[t] = (int32_t)(t * 7 % 11 % 5); /* symbol 5 never occurs */
    size_t len = N;
    lt_seqs s = seqs_sym(sym, N, &len);
    lt_hmm *a = make(K, LT_EMIT_CATEGORICAL, 1, S, 0, LT_COV_DIAG);
    lt_hmm *b = make(K, LT_EMIT_CATEGORICAL, 1, S, 0, LT_COV_DIAG);
    lt_hmm *c = make(K, LT_EMIT_CATEGORICAL, 1, S, 0, LT_COV_DIAG);
    if (!a || !b || !c) {
        CHECK(0);
        goto done;
    }
    CHECK_OK(hmm_emit_init(a, &s, 42, 1));
    CHECK_OK(hmm_emit_init(b, &s, 42, 4));
    CHECK_OK(hmm_emit_init(c, &s, 43, 1));
    CHECK(memcmp(a->emit, b->emit, K * S * sizeof(double)) == 0);
    CHECK(memcmp(a->emit, c->emit, K * S * sizeof(double)) != 0);
    CHECK(memcmp(a->emit, a->emit + S, S * sizeof(double)) != 0); /* states differ */
    for (size_t j = 0; j < K; j++) {
        double sum = 0.0;
        for (size_t k = 0; k < S; k++) {
            CHECK(a->emit[j * S + k] > 0.0);
            sum += a->emit[j * S + k];
        }
        CHECK_NEAR(sum, 1.0, 1e-12);
        CHECK(a->emit[j * S + 5] < 0.01); /* only a pseudo-count */
    }
    CHECK_OK(hmm_emit_prepare(a));
done:
    destroy(a);
    destroy(b);
    destroy(c);
}

static void test_categorical_sample(void)
{
    enum { S = 5 };
    lt_hmm *m = make(2, LT_EMIT_CATEGORICAL, 1, S, 0, LT_COV_DIAG);
    if (!m) {
        CHECK(0);
        return;
    }
    const double P[2 * S] = {1, 0, 0, 0, 0, 0.1, 0.2, 0.3, 0.4, 0.0};
    memcpy(m->emit, P, sizeof P);
    CHECK_OK(hmm_emit_prepare(m));
    lt_rng r;
    lt_rng_seed(&r, 9);
    const size_t n = 200000;
    double cnt[S] = {0};
    for (size_t i = 0; i < n; i++) {
        int32_t s = -1;
        hmm_emit_sample(m, 1, &r, NULL, &s);
        if (s >= 0 && s < S) cnt[s] += 1.0;
    }
    for (size_t k = 0; k < S; k++) {
        double p = P[S + k], se = sqrt(p * (1 - p) / (double)n);
        CHECK_MSG(fabs(cnt[k] / (double)n - p) <= 5.0 * se + 1e-15, "symbol %zu: %g vs %g", k, cnt[k] / (double)n, p);
    }
    int32_t s = -1;
    hmm_emit_sample(m, 0, &r, NULL, &s);
    CHECK(s == 0);
    destroy(m);
}

/* ---------------------------------------------------------------- gaussian */

static void test_gaussian_loglik(void)
{
    enum { N = 50, K = 3 };
    double x[N * 2];
    random_x(x, N * 2, -4.0, 4.0, 1);
    size_t len = N;
    lt_seqs s = seqs_x(x, N, 2, &len);
    for (int ci = 0; ci < 4; ci++) {
        lt_hmm *m = make(K, LT_EMIT_GAUSSIAN, 2, 0, 0, all_covs[ci]);
        if (!m) {
            CHECK(0);
            continue;
        }
        fill_gmm(m->states[0], 0.0);
        CHECK_OK(hmm_emit_prepare(m));
        double out[N * K];
        CHECK_OK(hmm_emit_loglik(m, &s, 5, 40, out));
        double worst = 0.0;
        for (size_t i = 0; i < 40; i++)
            for (size_t j = 0; j < K; j++) {
                double S[4];
                cov2(m->states[0], j, S);
                double want = gauss2(x + (5 + i) * 2, m->states[0]->means + j * 2, S);
                worst = fmax(worst, fabs(out[i * K + j] - want));
            }
        CHECK_MSG(worst <= 1e-10, "%s: max error %g", lt_cov_type_name(all_covs[ci]), worst);
        destroy(m);
    }
}

/* Weighted ML estimates of a 2-D Gaussian per state, from gamma (n x k). */
static void gauss_mle(const double *x, const double *gamma, size_t n, size_t k, size_t j, double mu[2], double S[4])
{
    double w = 0.0;
    mu[0] = mu[1] = 0.0;
    for (size_t i = 0; i < n; i++) {
        double g = gamma[i * k + j];
        w += g, mu[0] += g * x[i * 2], mu[1] += g * x[i * 2 + 1];
    }
    mu[0] /= w, mu[1] /= w;
    memset(S, 0, 4 * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        double g = gamma[i * k + j], a = x[i * 2] - mu[0], b = x[i * 2 + 1] - mu[1];
        S[0] += g * a * a, S[1] += g * a * b, S[3] += g * b * b;
    }
    S[0] /= w, S[1] /= w, S[3] /= w;
    S[2] = S[1];
}

static void check_gaussian_mstep(const double *x, const double *gamma, size_t n, lt_cov_type cov, const char *what)
{
    enum { K = 2 };
    lt_hmm *m = make(K, LT_EMIT_GAUSSIAN, 2, 0, 0, cov);
    if (!m) {
        CHECK(0);
        return;
    }
    fill_gmm(m->states[0], 0.0);
    CHECK_OK(hmm_emit_prepare(m));
    const double reg = m->states[0]->reg_covar;
    size_t len = n, rep = 0;
    lt_seqs s = seqs_x(x, n, 2, &len);
    CHECK_OK(hmm_emit_mstep(m, &s, gamma, 2, &rep));
    CHECK(rep == 0);
    const lt_gmm *g = m->states[0];
    double tied[4] = {0}, wsum = 0.0, worst = 0.0;
    for (size_t j = 0; j < K; j++) {
        double mu[2], S[4], got[4], w = 0.0;
        gauss_mle(x, gamma, n, K, j, mu, S);
        for (size_t i = 0; i < n; i++)
            w += gamma[i * K + j];
        for (int t = 0; t < 4; t++)
            tied[t] += w * S[t];
        wsum += w;
        worst = fmax(worst, fmax(fabs(g->means[j * 2] - mu[0]), fabs(g->means[j * 2 + 1] - mu[1])));
        cov2(g, j, got);
        double want[4] = {S[0] + reg, S[1], S[2], S[3] + reg};
        if (cov == LT_COV_DIAG) want[1] = want[2] = 0.0;
        if (cov == LT_COV_SPHERICAL) want[0] = want[3] = 0.5 * (want[0] + want[3]), want[1] = want[2] = 0.0;
        if (cov != LT_COV_TIED)
            for (int t = 0; t < 4; t++)
                worst = fmax(worst, fabs(got[t] - want[t]));
    }
    if (cov == LT_COV_TIED) {
        double got[4];
        cov2(g, 0, got);
        for (int t = 0; t < 4; t++)
            worst = fmax(worst, fabs(got[t] - (tied[t] / wsum + (t == 0 || t == 3 ? reg : 0.0))));
    }
    CHECK_MSG(worst <= 1e-10, "%s, %s: max error %g", what, lt_cov_type_name(cov), worst);
    CHECK_NEAR(g->weights[0], 0.5, 0.0); /* kept 1/k */
    destroy(m);
}

static void test_gaussian_mstep(void)
{
    enum { N = 60 };
    double x[N * 2], hard[N * 2], soft[N * 2];
    int lab[N];
    two_clusters(x, lab, N, 3);
    for (size_t i = 0; i < N; i++)
        hard[i * 2] = lab[i] == 0, hard[i * 2 + 1] = lab[i] == 1;
    random_gamma(soft, N, 2, 4);
    for (int ci = 0; ci < 4; ci++) {
        check_gaussian_mstep(x, hard, N, all_covs[ci], "one-hot");
        check_gaussian_mstep(x, soft, N, all_covs[ci], "soft");
    }
}

static void test_gaussian_repair(void)
{
    enum { N = 40, K = 3 };
    double x[N * 2], gamma[N * K];
    int lab[N];
    two_clusters(x, lab, N, 6);
    for (size_t i = 0; i < N; i++)
        gamma[i * K] = lab[i] == 0, gamma[i * K + 1] = lab[i] == 1, gamma[i * K + 2] = 0.0;
    lt_hmm *m = make(K, LT_EMIT_GAUSSIAN, 2, 0, 0, LT_COV_FULL);
    if (!m) {
        CHECK(0);
        return;
    }
    fill_gmm(m->states[0], 0.0);
    CHECK_OK(hmm_emit_prepare(m));
    size_t len = N, rep = 0;
    lt_seqs s = seqs_x(x, N, 2, &len);
    CHECK_OK(hmm_emit_mstep(m, &s, gamma, 1, &rep));
    CHECK(rep == 1);
    CHECK_OK(hmm_emit_prepare(m));
    double out[N * K];
    CHECK_OK(hmm_emit_loglik(m, &s, 0, N, out));
    int finite = 1;
    for (size_t i = 0; i < N * K; i++)
        finite &= isfinite(out[i]) != 0;
    CHECK(finite);
    destroy(m);
}

static void test_gaussian_init(void)
{
    enum { N = 300, K = 2 };
    double x[N * 2];
    int lab[N];
    two_clusters(x, lab, N, 8);
    size_t len = N;
    lt_seqs s = seqs_x(x, N, 2, &len);
    for (int ci = 0; ci < 4; ci++) {
        lt_hmm *a = make(K, LT_EMIT_GAUSSIAN, 2, 0, 0, all_covs[ci]);
        lt_hmm *b = make(K, LT_EMIT_GAUSSIAN, 2, 0, 0, all_covs[ci]);
        if (!a || !b) {
            CHECK(0);
            destroy(a);
            destroy(b);
            continue;
        }
        CHECK_OK(hmm_emit_init(a, &s, 7, 1));
        CHECK_OK(hmm_emit_init(b, &s, 7, 3));
        const lt_gmm *ga = a->states[0], *gb = b->states[0];
        size_t cl = all_covs[ci] == LT_COV_FULL        ? K * 4
                    : all_covs[ci] == LT_COV_DIAG      ? K * 2
                    : all_covs[ci] == LT_COV_SPHERICAL ? K
                                                       : 4;
        CHECK(memcmp(ga->means, gb->means, K * 2 * sizeof(double)) == 0);
        CHECK(memcmp(ga->covs, gb->covs, cl * sizeof(double)) == 0);
        /* The states sit on the two clusters. */
        size_t hi = ga->means[0] > ga->means[2] ? 0 : 1;
        CHECK_NEAR(ga->means[hi * 2], 6.0, 0.5);
        CHECK_NEAR(ga->means[(1 - hi) * 2], -4.0, 0.5);
        CHECK_OK(hmm_emit_prepare(a));
        destroy(a);
        destroy(b);
    }
}

static void test_gaussian_sample(void)
{
    for (int ci = 0; ci < 4; ci++) {
        lt_hmm *m = make(2, LT_EMIT_GAUSSIAN, 2, 0, 0, all_covs[ci]);
        if (!m) {
            CHECK(0);
            continue;
        }
        fill_gmm(m->states[0], 0.0);
        CHECK_OK(hmm_emit_prepare(m));
        const size_t n = 100000;
        lt_rng r;
        lt_rng_seed(&r, 11);
        double sum[2] = {0}, sq[3] = {0}, S[4];
        const double *mu = m->states[0]->means + 2;
        cov2(m->states[0], 1, S);
        for (size_t i = 0; i < n; i++) {
            double x[2];
            hmm_emit_sample(m, 1, &r, x, NULL);
            double a = x[0] - mu[0], b = x[1] - mu[1];
            sum[0] += a, sum[1] += b;
            sq[0] += a * a, sq[1] += a * b, sq[2] += b * b;
        }
        CHECK_NEAR(sum[0] / n, 0.0, 5.0 * sqrt(S[0] / n));
        CHECK_NEAR(sum[1] / n, 0.0, 5.0 * sqrt(S[3] / n));
        CHECK_NEAR(sq[0] / n, S[0], 5.0 * sqrt(2.0 * S[0] * S[0] / n));
        CHECK_NEAR(sq[1] / n, S[1], 5.0 * sqrt((S[0] * S[3] + S[1] * S[1]) / n));
        CHECK_NEAR(sq[2] / n, S[3], 5.0 * sqrt(2.0 * S[3] * S[3] / n));
        destroy(m);
    }
}

/* --------------------------------------------------------------------- gmm */

static double state_logpdf(const lt_gmm *g, const double *x)
{
    double v[8], mx = -INFINITY, s = 0.0;
    for (size_t c = 0; c < g->k; c++) {
        double S[4];
        cov2(g, c, S);
        v[c] = log(g->weights[c]) + gauss2(x, g->means + c * 2, S);
        mx = fmax(mx, v[c]);
    }
    for (size_t c = 0; c < g->k; c++)
        s += exp(v[c] - mx);
    return mx + log(s);
}

static void test_gmm_loglik(void)
{
    enum { N = 40, K = 2, M = 3 };
    double x[N * 2];
    random_x(x, N * 2, -5.0, 5.0, 2);
    size_t len = N;
    lt_seqs s = seqs_x(x, N, 2, &len);
    for (int ci = 0; ci < 4; ci++) {
        lt_hmm *m = make(K, LT_EMIT_GMM, 2, 0, M, all_covs[ci]);
        if (!m) {
            CHECK(0);
            continue;
        }
        for (size_t j = 0; j < K; j++)
            fill_gmm(m->states[j], 0.7 * (double)j);
        CHECK_OK(hmm_emit_prepare(m));
        double out[N * K], worst = 0.0;
        CHECK_OK(hmm_emit_loglik(m, &s, 0, N, out));
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < K; j++)
                worst = fmax(worst, fabs(out[i * K + j] - state_logpdf(m->states[j], x + i * 2)));
        CHECK_MSG(worst <= 1e-10, "%s: max error %g", lt_cov_type_name(all_covs[ci]), worst);
        destroy(m);
    }
}

static void check_gmm_mstep(lt_cov_type cov)
{
    enum { N = 80, K = 2, M = 2 };
    double x[N * 2], gamma[N * K];
    int lab[N];
    two_clusters(x, lab, N, 12);
    random_gamma(gamma, N, K, 13);
    lt_hmm *m = make(K, LT_EMIT_GMM, 2, 0, M, cov);
    lt_hmm *old = make(K, LT_EMIT_GMM, 2, 0, M, cov);
    if (!m || !old) {
        CHECK(0);
        destroy(m);
        destroy(old);
        return;
    }
    for (size_t j = 0; j < K; j++)
        fill_gmm(m->states[j], 0.5 + 2.0 * (double)j);
    CHECK_OK(hmm_emit_prepare(m));
    CHECK_OK(hmm_emit_copy(m, old));
    size_t len = N, rep = 0;
    lt_seqs s = seqs_x(x, N, 2, &len);
    CHECK_OK(hmm_emit_mstep(m, &s, gamma, 2, &rep));
    CHECK(rep == 0);
    double worst = 0.0;
    for (size_t j = 0; j < K; j++) {
        /* gamma_tjc = gamma_tj w_c N_c(x_t) / b_j(x_t), with the old parameters */
        const lt_gmm *go = old->states[j], *gn = m->states[j];
        double r[N * M], occ = 0.0, tied[4] = {0};
        for (size_t i = 0; i < N; i++) {
            double lb = state_logpdf(go, x + i * 2);
            occ += gamma[i * K + j];
            for (size_t c = 0; c < M; c++) {
                double S[4];
                cov2(go, c, S);
                r[i * M + c] =
                    gamma[i * K + j] * exp(log(go->weights[c]) + gauss2(x + i * 2, go->means + c * 2, S) - lb);
            }
        }
        for (size_t c = 0; c < M; c++) {
            double mu[2], S[4], got[4], w = 0.0;
            for (size_t i = 0; i < N; i++)
                w += r[i * M + c];
            worst = fmax(worst, fabs(gn->weights[c] - w / occ));
            gauss_mle(x, r, N, M, c, mu, S);
            worst = fmax(worst, fmax(fabs(gn->means[c * 2] - mu[0]), fabs(gn->means[c * 2 + 1] - mu[1])));
            for (int t = 0; t < 4; t++)
                tied[t] += w * S[t];
            double reg = gn->reg_covar, want[4] = {S[0] + reg, S[1], S[2], S[3] + reg};
            if (cov == LT_COV_DIAG) want[1] = want[2] = 0.0;
            if (cov == LT_COV_SPHERICAL) want[0] = want[3] = 0.5 * (want[0] + want[3]), want[1] = want[2] = 0.0;
            cov2(gn, c, got);
            if (cov != LT_COV_TIED)
                for (int t = 0; t < 4; t++)
                    worst = fmax(worst, fabs(got[t] - want[t]));
        }
        if (cov == LT_COV_TIED) {
            double got[4];
            cov2(gn, 0, got);
            for (int t = 0; t < 4; t++)
                worst = fmax(worst, fabs(got[t] - (tied[t] / occ + (t == 0 || t == 3 ? gn->reg_covar : 0.0))));
        }
    }
    CHECK_MSG(worst <= 1e-10, "%s: max error %g", lt_cov_type_name(cov), worst);
    destroy(m);
    destroy(old);
}

static void test_gmm_mstep(void)
{
    for (int ci = 0; ci < 4; ci++)
        check_gmm_mstep(all_covs[ci]);
}

static void test_gmm_repair(void)
{
    enum { N = 60, K = 3, M = 2 };
    double x[N * 2], gamma[N * K];
    int lab[N];
    two_clusters(x, lab, N, 14);
    for (size_t i = 0; i < N; i++)
        gamma[i * K] = lab[i] == 0, gamma[i * K + 1] = 0.0, gamma[i * K + 2] = lab[i] == 1;
    lt_hmm *m = make(K, LT_EMIT_GMM, 2, 0, M, LT_COV_DIAG);
    if (!m) {
        CHECK(0);
        return;
    }
    for (size_t j = 0; j < K; j++)
        fill_gmm(m->states[j], (double)j);
    CHECK_OK(hmm_emit_prepare(m));
    size_t len = N, rep = 0;
    lt_seqs s = seqs_x(x, N, 2, &len);
    CHECK_OK(hmm_emit_mstep(m, &s, gamma, 1, &rep));
    CHECK(rep == 1);
    CHECK_OK(hmm_emit_prepare(m));
    /* The refitted state covers all the data: its mean is the data mean. */
    const lt_gmm *g = m->states[1];
    double mean[2] = {0}, got[2] = {0};
    for (size_t i = 0; i < N; i++)
        mean[0] += x[i * 2] / N, mean[1] += x[i * 2 + 1] / N;
    for (size_t c = 0; c < M; c++)
        got[0] += g->weights[c] * g->means[c * 2], got[1] += g->weights[c] * g->means[c * 2 + 1];
    CHECK_NEAR(got[0], mean[0], 1e-10);
    CHECK_NEAR(got[1], mean[1], 1e-10);
    destroy(m);
}

static void test_gmm_init_sample(void)
{
    enum { N = 300, K = 2, M = 2 };
    double x[N * 2];
    int lab[N];
    two_clusters(x, lab, N, 15);
    size_t len = N;
    lt_seqs s = seqs_x(x, N, 2, &len);
    for (int ci = 0; ci < 4; ci++) {
        lt_hmm *a = make(K, LT_EMIT_GMM, 2, 0, M, all_covs[ci]);
        lt_hmm *b = make(K, LT_EMIT_GMM, 2, 0, M, all_covs[ci]);
        if (!a || !b) {
            CHECK(0);
            destroy(a);
            destroy(b);
            continue;
        }
        CHECK_OK(hmm_emit_init(a, &s, 5, 1));
        CHECK_OK(hmm_emit_init(b, &s, 5, 4));
        for (size_t j = 0; j < K; j++) {
            CHECK(memcmp(a->states[j]->means, b->states[j]->means, M * 2 * sizeof(double)) == 0);
            CHECK(memcmp(a->states[j]->weights, b->states[j]->weights, M * sizeof(double)) == 0);
        }
        /* Each state's mixture mean sits on one cluster. */
        double mj[2];
        for (size_t j = 0; j < K; j++) {
            const lt_gmm *g = a->states[j];
            mj[j] = 0.0;
            for (size_t c = 0; c < M; c++)
                mj[j] += g->weights[c] * g->means[c * 2];
        }
        CHECK_NEAR(fmax(mj[0], mj[1]), 6.0, 0.5);
        CHECK_NEAR(fmin(mj[0], mj[1]), -4.0, 0.5);
        CHECK_OK(hmm_emit_prepare(a));
        if (all_covs[ci] == LT_COV_FULL) {
            /* Sampling: the mean of state 0's draws is its mixture mean. */
            const lt_gmm *g = a->states[0];
            lt_rng r;
            lt_rng_seed(&r, 3);
            const size_t n = 50000;
            double sum = 0.0, sq = 0.0, want = 0.0;
            for (size_t c = 0; c < M; c++)
                want += g->weights[c] * g->means[c * 2 + 1];
            for (size_t i = 0; i < n; i++) {
                double y[2];
                hmm_emit_sample(a, 0, &r, y, NULL);
                sum += y[1] - want, sq += (y[1] - want) * (y[1] - want);
            }
            CHECK_NEAR(sum / n, 0.0, 5.0 * sqrt(sq / n / n));
        }
        destroy(a);
        destroy(b);
    }
}

/* ----------------------------------------------------------------- poisson */

static void test_poisson_loglik(void)
{
    enum { N = 9, K = 3, D = 2 };
    const double x[N * D] = {0, 1, 5, 22, 23, 40, 150, 0, 2, 3, 7, 7, 0, 0, 24, 1000, 13, 21};
    const double R[K * D] = {0.5, 3.0, 20.0, 1e-3, 140.0, 7.5};
    lt_hmm *m = make(K, LT_EMIT_POISSON, D, 0, 0, LT_COV_DIAG);
    if (!m) {
        CHECK(0);
        return;
    }
    memcpy(m->emit, R, sizeof R);
    CHECK_OK(hmm_emit_prepare(m));
    size_t len = N;
    lt_seqs s = seqs_x(x, N, D, &len);
    CHECK_OK(hmm_emit_check_data(m, &s));
    double out[N * K];
    CHECK_OK(hmm_emit_loglik(m, &s, 0, N, out));
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < K; j++) {
            double want = 0.0;
            for (size_t t = 0; t < D; t++) {
                double v = x[i * D + t], r = R[j * D + t];
                want += v * log(r) - r - lgamma(v + 1.0);
            }
            CHECK_NEAR(out[i * K + j], want, 1e-10);
        }
    destroy(m);
}

static void test_poisson_mstep(void)
{
    enum { N = 50, K = 3, D = 2 };
    double x[N * D], gamma[N * K];
    lt_rng r;
    lt_rng_seed(&r, 21);
    for (size_t i = 0; i < N; i++) {
        x[i * D] = (double)lt_rng_below(&r, 10);
        x[i * D + 1] = i < 10 ? 0.0 : (double)lt_rng_below(&r, 4);
    }
    random_gamma(gamma, N, K, 22);
    lt_hmm *m = make(K, LT_EMIT_POISSON, D, 0, 0, LT_COV_DIAG);
    if (!m) {
        CHECK(0);
        return;
    }
    size_t len = N, rep = 0;
    lt_seqs s = seqs_x(x, N, D, &len);
    CHECK_OK(hmm_emit_mstep(m, &s, gamma, 1, &rep));
    CHECK(rep == 0);
    for (size_t j = 0; j < K; j++)
        for (size_t t = 0; t < D; t++) {
            double sx = 0.0, w = 0.0;
            for (size_t i = 0; i < N; i++)
                sx += gamma[i * K + j] * x[i * D + t], w += gamma[i * K + j];
            CHECK_NEAR(m->emit[j * D + t], sx / w, 1e-10);
        }
    CHECK_OK(hmm_emit_prepare(m));
    /* One-hot: state 0 takes the first 10 steps, whose column 2 is all 0
     * (floored rate); state 2 takes nothing (repaired to the column means). */
    for (size_t i = 0; i < N; i++)
        gamma[i * K] = i < 10, gamma[i * K + 1] = i >= 10, gamma[i * K + 2] = 0.0;
    rep = 0;
    CHECK_OK(hmm_emit_mstep(m, &s, gamma, 1, &rep));
    CHECK(rep == 1);
    CHECK(m->emit[0 * D + 1] == 1e-10);
    for (size_t t = 0; t < D; t++) {
        double mean = 0.0;
        for (size_t i = 0; i < N; i++)
            mean += x[i * D + t];
        CHECK_NEAR(m->emit[2 * D + t], mean / N, 1e-12);
    }
    CHECK_OK(hmm_emit_prepare(m));
    destroy(m);
}

static void test_poisson_init(void)
{
    enum { N = 40, K = 3, D = 3 };
    double x[N * D];
    for (size_t i = 0; i < N * D; i++)
        x[i] = (double)(i % 7) * (double)(i % D);
    size_t len = N;
    lt_seqs s = seqs_x(x, N, D, &len);
    lt_hmm *a = make(K, LT_EMIT_POISSON, D, 0, 0, LT_COV_DIAG);
    lt_hmm *b = make(K, LT_EMIT_POISSON, D, 0, 0, LT_COV_DIAG);
    if (!a || !b) {
        CHECK(0);
        destroy(a);
        destroy(b);
        return;
    }
    CHECK_OK(hmm_emit_init(a, &s, 1, 1));
    CHECK_OK(hmm_emit_init(b, &s, 1, 2));
    CHECK(memcmp(a->emit, b->emit, K * D * sizeof(double)) == 0);
    CHECK_OK(hmm_emit_init(b, &s, 2, 1));
    CHECK(memcmp(a->emit, b->emit, K * D * sizeof(double)) != 0);
    for (size_t t = 0; t < D; t++) {
        double mean = 0.0;
        for (size_t i = 0; i < N; i++)
            mean += x[i * D + t] / N;
        for (size_t j = 0; j < K; j++) {
            double r = a->emit[j * D + t];
            if (mean == 0.0)
                CHECK(r == 1e-10);
            else
                CHECK_MSG(r >= 0.5 * mean && r <= 1.5 * mean, "rate %g, mean %g", r, mean);
        }
    }
    CHECK_OK(hmm_emit_prepare(a));
    destroy(a);
    destroy(b);
}

static void test_poisson_sample(void)
{
    enum { D = 6 };
    const double rates[D] = {0.3, 3.5, 9.99, 10.0, 60.0, 2000.0}; /* inversion below 10, PTRS from 10 */
    lt_hmm *m = make(1, LT_EMIT_POISSON, D, 0, 0, LT_COV_DIAG);
    if (!m) {
        CHECK(0);
        return;
    }
    memcpy(m->emit, rates, sizeof rates);
    CHECK_OK(hmm_emit_prepare(m));
    lt_rng r;
    lt_rng_seed(&r, 31);
    const size_t n = 200000;
    double sum[D] = {0}, sq[D] = {0};
    int integral = 1;
    for (size_t i = 0; i < n; i++) {
        double y[D];
        hmm_emit_sample(m, 0, &r, y, NULL);
        for (int t = 0; t < D; t++) {
            integral &= y[t] >= 0.0 && y[t] == floor(y[t]);
            sum[t] += y[t];
            sq[t] += y[t] * y[t];
        }
    }
    CHECK(integral);
    for (int t = 0; t < D; t++) {
        double lam = rates[t], mean = sum[t] / n, var = sq[t] / n - mean * mean;
        CHECK_NEAR(mean, lam, 5.0 * sqrt(lam / n));
        CHECK_NEAR(var, lam, 5.0 * sqrt((lam + 2.0 * lam * lam) / n));
    }
    destroy(m);
}

/* Pearson's chi-square of the draws against the Poisson pmf: cells with an
 * expected count of at least 5, the two tails pooled. The bound is far
 * in the tail of the chi-square distribution (about 6 sd above its mean). */
static void test_poisson_chi2(void)
{
    const double rates[3] = {3.5, 25.0, 60.0};
    const size_t n = 400000;
    lt_hmm *m = make(1, LT_EMIT_POISSON, 1, 0, 0, LT_COV_DIAG);
    double *cnt = calloc(4096, sizeof(double));
    if (!m || !cnt) {
        CHECK(0);
        destroy(m);
        free(cnt);
        return;
    }
    for (int ri = 0; ri < 3; ri++) {
        double lam = rates[ri];
        m->emit[0] = lam;
        memset(cnt, 0, 4096 * sizeof(double));
        lt_rng r;
        lt_rng_seed(&r, 50 + (uint64_t)ri);
        for (size_t i = 0; i < n; i++) {
            double y;
            hmm_emit_sample(m, 0, &r, &y, NULL);
            cnt[y < 4095.0 ? (size_t)y : 4095] += 1.0;
        }
        size_t lo = 0, hi = 0;
        for (size_t v = 0; v < 4095; v++) {
            double e = n * exp(v * log(lam) - lam - lgamma(v + 1.0));
            if (e >= 5.0) {
                if (!lo && v) lo = v;
                hi = v;
            }
        }
        double chi2 = 0.0, below = 0.0, pbelow = 0.0, above = 0.0, pin = 0.0;
        size_t df = 0;
        for (size_t v = 0; v < 4096; v++) {
            double p = exp(v * log(lam) - lam - lgamma(v + 1.0));
            if (v < lo)
                below += cnt[v], pbelow += p;
            else if (v <= hi) {
                chi2 += (cnt[v] - n * p) * (cnt[v] - n * p) / (n * p), df++, pin += p;
            } else
                above += cnt[v];
        }
        double pabove = 1.0 - pin - pbelow;
        if (pbelow > 0.0) chi2 += (below - n * pbelow) * (below - n * pbelow) / (n * pbelow), df++;
        if (pabove * n >= 5.0) chi2 += (above - n * pabove) * (above - n * pabove) / (n * pabove), df++;
        df--;
        CHECK_MSG(chi2 < (double)df + 6.0 * sqrt(2.0 * (double)df), "rate %g: chi2 %g with %zu df", lam, chi2, df);
    }
    destroy(m);
    free(cnt);
}

/* ------------------------------------------------------- checks, messages */

static void test_check_data(void)
{
    lt_hmm *c = make(2, LT_EMIT_CATEGORICAL, 1, 4, 0, LT_COV_DIAG);
    lt_hmm *g = make(2, LT_EMIT_GAUSSIAN, 2, 0, 0, LT_COV_DIAG);
    lt_hmm *p = make(2, LT_EMIT_POISSON, 2, 0, 0, LT_COV_DIAG);
    if (!c || !g || !p) {
        CHECK(0);
        goto done;
    }
    const int32_t sym[4] = {0, 3, 7, 1}, neg[2] = {1, -1};
    size_t len = 4;
    lt_seqs s = seqs_sym(sym, 4, &len);
    CHECK_FAILS(hmm_emit_check_data(c, &s), LT_ERR_INVALID, "step 3: symbol 7 is outside the alphabet of 4 symbols");
    double out[8];
    CHECK_FAILS(hmm_emit_loglik(c, &s, 0, 4, out), LT_ERR_INVALID, "step 3: symbol 7");
    s = seqs_sym(neg, 2, &len);
    CHECK_FAILS(hmm_emit_check_data(c, &s), LT_ERR_INVALID, "step 2: symbol -1 is outside");
    const double x3[6] = {1, 2, 3, 4, 5, 6};
    s = seqs_x(x3, 2, 3, &len);
    CHECK_FAILS(hmm_emit_check_data(c, &s), LT_ERR_INVALID, "need symbols");
    CHECK_FAILS(hmm_emit_check_data(g, &s), LT_ERR_DIM, "data has 3 columns but the model was fitted on 2");
    s = seqs_sym(sym, 4, &len);
    CHECK_FAILS(hmm_emit_check_data(g, &s), LT_ERR_INVALID, "numeric columns");
    const double xn[6] = {1, 2, 3, NAN, 5, 6};
    s = seqs_x(xn, 3, 2, &len);
    CHECK_FAILS(hmm_emit_check_data(g, &s), LT_ERR_NUMERIC, "step 2, column 2: value is not a finite number");
    CHECK_FAILS(hmm_emit_check_data(p, &s), LT_ERR_NUMERIC, "step 2, column 2");
    const double xneg[4] = {1, 2, -1, 0}, xfrac[4] = {1, 2.5, 1, 0}, xok[4] = {0, 2, 1e6, 0};
    s = seqs_x(xneg, 2, 2, &len);
    CHECK_FAILS(hmm_emit_check_data(p, &s), LT_ERR_INVALID, "step 2, column 1: -1 is not a count");
    CHECK_OK(hmm_emit_check_data(g, &s));
    s = seqs_x(xfrac, 2, 2, &len);
    CHECK_FAILS(hmm_emit_check_data(p, &s), LT_ERR_INVALID, "step 1, column 2: 2.5 is not a count");
    s = seqs_x(xok, 2, 2, &len);
    CHECK_OK(hmm_emit_check_data(p, &s));
    CHECK_OK(hmm_emit_init(p, &s, 1, 1));
    CHECK_FAILS(hmm_emit_init(c, &s, 1, 1), LT_ERR_INVALID, "need symbols");
done:
    destroy(c);
    destroy(g);
    destroy(p);
}

static void test_prepare_messages(void)
{
    lt_hmm *c = make(2, LT_EMIT_CATEGORICAL, 1, 3, 0, LT_COV_DIAG);
    lt_hmm *p = make(2, LT_EMIT_POISSON, 2, 0, 0, LT_COV_DIAG);
    lt_hmm *gf = make(3, LT_EMIT_GAUSSIAN, 2, 0, 0, LT_COV_FULL);
    lt_hmm *gd = make(3, LT_EMIT_GAUSSIAN, 2, 0, 0, LT_COV_DIAG);
    lt_hmm *gt = make(3, LT_EMIT_GAUSSIAN, 2, 0, 0, LT_COV_TIED);
    lt_hmm *x = make(2, LT_EMIT_GMM, 2, 0, 2, LT_COV_FULL);
    if (!c || !p || !gf || !gd || !gt || !x) {
        CHECK(0);
        goto done;
    }
    const double P[6] = {0.2, 0.3, 0.5 + 4e-7, 0.1, 0.1, 0.3};
    memcpy(c->emit, P, sizeof P);
    CHECK_FAILS(hmm_emit_prepare(c), LT_ERR_NUMERIC, "state 1: emission probabilities sum to 0.5");
    c->emit[3] = 0.6;
    CHECK_OK(hmm_emit_prepare(c));
    CHECK_NEAR(c->emit[0] + c->emit[1] + c->emit[2], 1.0, 1e-15);
    c->emit[4] = -0.1;
    CHECK_FAILS(hmm_emit_prepare(c), LT_ERR_NUMERIC, "state 1: probability of symbol 1");

    const double R[4] = {1.0, 2.0, 3.0, 0.0};
    memcpy(p->emit, R, sizeof R);
    CHECK_FAILS(hmm_emit_prepare(p), LT_ERR_NUMERIC, "state 1: rate of column 2 is 0");
    p->emit[3] = NAN;
    CHECK_FAILS(hmm_emit_prepare(p), LT_ERR_NUMERIC, "state 1: rate of column 2");

    fill_gmm(gf->states[0], 0.0);
    gf->states[0]->covs[2 * 4 + 1] = gf->states[0]->covs[2 * 4 + 2] = 5.0; /* state 2 indefinite */
    CHECK_FAILS(hmm_emit_prepare(gf), LT_ERR_NUMERIC, "state 2: covariance is not positive definite");
    fill_gmm(gd->states[0], 0.0);
    gd->states[0]->covs[1 * 2 + 1] = -1.0;
    CHECK_FAILS(hmm_emit_prepare(gd), LT_ERR_NUMERIC, "state 1: covariance is not positive definite");
    fill_gmm(gd->states[0], 0.0);
    gd->states[0]->means[2 * 2] = INFINITY;
    CHECK_FAILS(hmm_emit_prepare(gd), LT_ERR_NUMERIC, "state 2: mean of column 1 is not finite");
    fill_gmm(gt->states[0], 0.0);
    gt->states[0]->covs[1] = gt->states[0]->covs[2] = 3.0;
    CHECK_FAILS(hmm_emit_prepare(gt), LT_ERR_NUMERIC, "tied covariance");

    for (size_t j = 0; j < 2; j++)
        fill_gmm(x->states[j], (double)j);
    CHECK_OK(hmm_emit_prepare(x));
    x->states[1]->covs[0] = -2.0;
    CHECK_FAILS(hmm_emit_prepare(x), LT_ERR_NUMERIC, "state 1: component 0: covariance is not positive definite");
    fill_gmm(x->states[1], 1.0);
    x->states[0]->weights[0] = 0.1;
    CHECK_FAILS(hmm_emit_prepare(x), LT_ERR_NUMERIC, "state 0: weights sum to");
done:
    destroy(c);
    destroy(p);
    destroy(gf);
    destroy(gd);
    destroy(gt);
    destroy(x);
}

/* ------------------------------------------------------------- model files */

/* Save m's emissions, load them into a fresh model of the same sizes and
 * compare every parameter bit for bit. */
static void round_trip(lt_hmm *m, const char *dir, const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, name);
    lt_st_writer *w = NULL;
    lt_st_file *f = NULL;
    lt_hmm *b = make(m->k, m->emission, m->d, m->n_symbols, m->n_mix, m->cov);
    CHECK_OK(lt_st_writer_create(&w));
    if (!w || !b) {
        CHECK(0);
        goto done;
    }
    CHECK_OK(hmm_emit_save(m, w));
    CHECK_OK(lt_st_writer_save(w, path));
    CHECK_OK(lt_st_load(path, &f));
    if (!f) goto done;
    CHECK_OK(hmm_emit_load(b, f, path));
    /* The file holds the very bits; loading prepares the model, and the
     * mixture weights may be renormalised by lt_gmm_prepare (an ulp). */
    if (m->emission == LT_EMIT_GMM) {
        size_t sh[2] = {m->k, m->n_mix};
        const void *wt = NULL;
        CHECK_OK(lt_st_tensor(f, "mix_weights", LT_ST_F64, 2, sh, &wt));
        int exact = wt != NULL;
        for (size_t j = 0; exact && j < m->k; j++)
            exact = memcmp((const double *)wt + j * m->n_mix, m->states[j]->weights, m->n_mix * sizeof(double)) == 0;
        CHECK_MSG(exact, "%s: mix_weights differ in the file", name);
    }
    int same = 1;
    if (m->emission == LT_EMIT_CATEGORICAL)
        same = memcmp(m->emit, b->emit, m->k * m->n_symbols * sizeof(double)) == 0;
    else if (m->emission == LT_EMIT_POISSON)
        same = memcmp(m->emit, b->emit, m->k * m->d * sizeof(double)) == 0;
    else {
        size_t ns = m->emission == LT_EMIT_GAUSSIAN ? 1 : m->k;
        for (size_t j = 0; j < ns; j++) {
            const lt_gmm *ga = m->states[j], *gb = b->states[j];
            size_t cl = ga->cov == LT_COV_FULL        ? ga->k * ga->d * ga->d
                        : ga->cov == LT_COV_DIAG      ? ga->k * ga->d
                        : ga->cov == LT_COV_SPHERICAL ? ga->k
                                                      : ga->d * ga->d;
            for (size_t c = 0; c < ga->k; c++)
                same &= fabs(ga->weights[c] - gb->weights[c]) <= 4e-16;
            same &= memcmp(ga->means, gb->means, ga->k * ga->d * sizeof(double)) == 0;
            same &= memcmp(ga->covs, gb->covs, cl * sizeof(double)) == 0;
            same &= memcmp(ga->prec_chol, gb->prec_chol, cl * sizeof(double)) == 0;
        }
    }
    CHECK_MSG(same, "%s: parameters differ after a round trip", name);
done:
    lt_st_writer_free(w);
    lt_st_free(f);
    destroy(b);
}

static void test_save_load(void)
{
    const char *dir = lt_test_tmpdir("hmm_emit");
    enum { N = 120 };
    double x[N * 2], cnt[N * 2];
    int lab[N];
    int32_t sym[N];
    two_clusters(x, lab, N, 40);
    for (size_t i = 0; i < N; i++)
        sym[i] = (int32_t)(i * 5 % 7), cnt[i * 2] = (double)(i % 9), cnt[i * 2 + 1] = (double)(i % 4);
    size_t len = N;
    lt_seqs ss = seqs_sym(sym, N, &len), sx = seqs_x(x, N, 2, &len), sc = seqs_x(cnt, N, 2, &len);

    lt_hmm *c = make(3, LT_EMIT_CATEGORICAL, 1, 7, 0, LT_COV_DIAG);
    lt_hmm *p = make(3, LT_EMIT_POISSON, 2, 0, 0, LT_COV_DIAG);
    if (c && p) {
        CHECK_OK(hmm_emit_init(c, &ss, 1, 1));
        CHECK_OK(hmm_emit_init(p, &sc, 1, 1));
        round_trip(c, dir, "categorical");
        round_trip(p, dir, "poisson");
    } else
        CHECK(0);
    for (int ci = 0; ci < 4; ci++) {
        lt_hmm *g = make(2, LT_EMIT_GAUSSIAN, 2, 0, 0, all_covs[ci]);
        lt_hmm *x2 = make(2, LT_EMIT_GMM, 2, 0, 3, all_covs[ci]);
        if (!g || !x2) {
            CHECK(0);
            destroy(g);
            destroy(x2);
            continue;
        }
        CHECK_OK(hmm_emit_init(g, &sx, 2, 1));
        CHECK_OK(hmm_emit_init(x2, &sx, 2, 1));
        char name[64];
        snprintf(name, sizeof name, "gaussian_%s", lt_cov_type_name(all_covs[ci]));
        round_trip(g, dir, name);
        snprintf(name, sizeof name, "gmm_%s", lt_cov_type_name(all_covs[ci]));
        round_trip(x2, dir, name);
        destroy(g);
        destroy(x2);
    }

    /* Tensor layout (hmmlearn's), and a file of other sizes. */
    char path[4200];
    snprintf(path, sizeof path, "%s/gmm_full.safetensors", dir);
    lt_st_file *f = NULL;
    CHECK_OK(lt_st_load(path, &f));
    if (f) {
        size_t sh[4] = {2, 3, 2, 2}, sw[2] = {2, 3}, sm[3] = {2, 3, 2};
        CHECK_OK(lt_st_tensor(f, "covariances", LT_ST_F64, 4, sh, NULL));
        CHECK_OK(lt_st_tensor(f, "mix_weights", LT_ST_F64, 2, sw, NULL));
        CHECK_OK(lt_st_tensor(f, "means", LT_ST_F64, 3, sm, NULL));
        lt_hmm *other = make(2, LT_EMIT_GMM, 3, 0, 3, LT_COV_FULL);
        if (other) CHECK_FAILS(hmm_emit_load(other, f, path), LT_ERR_FORMAT, "tensor 'means'");
        destroy(other);
        lt_st_free(f);
    }
    snprintf(path, sizeof path, "%s/gaussian_tied.safetensors", dir);
    f = NULL;
    CHECK_OK(lt_st_load(path, &f));
    if (f) {
        size_t sh[2] = {2, 2};
        CHECK_OK(lt_st_tensor(f, "covariances", LT_ST_F64, 2, sh, NULL));
        lt_st_free(f);
    }
    /* A file whose probabilities do not sum to 1 is refused, naming the file. */
    lt_hmm *bad = make(2, LT_EMIT_CATEGORICAL, 1, 2, 0, LT_COV_DIAG);
    lt_st_writer *w = NULL;
    CHECK_OK(lt_st_writer_create(&w));
    if (bad && w) {
        const double P[4] = {0.5, 0.5, 0.9, 0.9};
        memcpy(bad->emit, P, sizeof P);
        CHECK_OK(hmm_emit_save(bad, w));
        snprintf(path, sizeof path, "%s/bad.safetensors", dir);
        CHECK_OK(lt_st_writer_save(w, path));
        f = NULL;
        CHECK_OK(lt_st_load(path, &f));
        if (f)
            CHECK_FAILS(hmm_emit_load(bad, f, path), LT_ERR_FORMAT, "bad.safetensors: state 1: emission probabilities");
        lt_st_free(f);
    }
    lt_st_writer_free(w);
    destroy(bad);
    destroy(c);
    destroy(p);
}

static void test_copy(void)
{
    lt_hmm *a = make(2, LT_EMIT_GMM, 2, 0, 2, LT_COV_DIAG);
    lt_hmm *b = make(2, LT_EMIT_GMM, 2, 0, 2, LT_COV_DIAG);
    lt_hmm *c = make(2, LT_EMIT_GMM, 2, 0, 3, LT_COV_DIAG);
    lt_hmm *p = make(2, LT_EMIT_POISSON, 2, 0, 0, LT_COV_DIAG);
    lt_hmm *q = make(2, LT_EMIT_POISSON, 2, 0, 0, LT_COV_DIAG);
    if (!a || !b || !c || !p || !q) {
        CHECK(0);
        goto done;
    }
    for (size_t j = 0; j < 2; j++)
        fill_gmm(a->states[j], (double)j);
    CHECK_OK(hmm_emit_prepare(a));
    CHECK_OK(hmm_emit_copy(a, b));
    CHECK(b->states[1] != a->states[1]);
    CHECK(memcmp(a->states[1]->means, b->states[1]->means, 4 * sizeof(double)) == 0);
    CHECK(memcmp(a->states[1]->prec_chol, b->states[1]->prec_chol, 4 * sizeof(double)) == 0);
    CHECK_FAILS(hmm_emit_copy(a, c), LT_ERR_DIM, "different sizes");
    p->emit[0] = 1, p->emit[1] = 2, p->emit[2] = 3, p->emit[3] = 4;
    CHECK_OK(hmm_emit_copy(p, q));
    CHECK(q->emit[3] == 4.0 && q->emit != p->emit);
done:
    destroy(a);
    destroy(b);
    destroy(c);
    destroy(p);
    destroy(q);
}

int main(void)
{
    RUN(test_alloc_errors);
    RUN(test_n_parameters);
    RUN(test_categorical_loglik);
    RUN(test_categorical_mstep);
    RUN(test_categorical_repair);
    RUN(test_categorical_init);
    RUN(test_categorical_sample);
    RUN(test_gaussian_loglik);
    RUN(test_gaussian_mstep);
    RUN(test_gaussian_repair);
    RUN(test_gaussian_init);
    RUN(test_gaussian_sample);
    RUN(test_gmm_loglik);
    RUN(test_gmm_mstep);
    RUN(test_gmm_repair);
    RUN(test_gmm_init_sample);
    RUN(test_poisson_loglik);
    RUN(test_poisson_mstep);
    RUN(test_poisson_init);
    RUN(test_poisson_sample);
    RUN(test_poisson_chi2);
    RUN(test_check_data);
    RUN(test_prepare_messages);
    RUN(test_save_load);
    RUN(test_copy);
    return lt_test_done();
}
