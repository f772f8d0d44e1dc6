// LABELS: unit
/* Samplers checked on their moments against closed forms, with tolerances of
 * several standard errors; streams checked for independence and determinism. */
#include "harness.h"
#include "latent/rng.h"

#include <stdint.h>

#define N 200000

static void test_determinism_and_streams(void)
{
    lt_rng a, b, c;
    lt_rng_seed(&a, 42);
    lt_rng_seed(&b, 42);
    int same = 1;
    for (int i = 0; i < 1000; i++) same &= lt_rng_u64(&a) == lt_rng_u64(&b);
    CHECK(same);
    lt_rng_stream(&a, 42, 0);
    lt_rng_seed(&b, 42);
    CHECK(lt_rng_u64(&a) == lt_rng_u64(&b));
    lt_rng_stream(&a, 42, 1);
    lt_rng_stream(&c, 42, 2);
    lt_rng_seed(&b, 42);
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = lt_rng_u64(&a), y = lt_rng_u64(&b), z = lt_rng_u64(&c);
        differ += x != y && y != z && x != z;
    }
    CHECK(differ == 100);
    /* Correlation between two streams' uniforms is ~0 (|r| < 5/sqrt(N)). */
    lt_rng_stream(&a, 7, 1);
    lt_rng_stream(&b, 7, 2);
    double sxy = 0, sx = 0, sy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < N; i++) {
        double x = lt_rng_uniform(&a), y = lt_rng_uniform(&b);
        sx += x, sy += y, sxy += x * y, sxx += x * x, syy += y * y;
    }
    double cov = sxy / N - sx / N * sy / N;
    double corr = cov / sqrt((sxx / N - sx * sx / N / N) * (syy / N - sy * sy / N / N));
    CHECK_NEAR(corr, 0.0, 5.0 / sqrt(N));
}

static void test_uniform_and_below(void)
{
    lt_rng r;
    lt_rng_seed(&r, 1);
    double s = 0, s2 = 0, lo = 1, hi = 0;
    for (int i = 0; i < N; i++) {
        double u = lt_rng_uniform(&r);
        s += u, s2 += u * u;
        lo = fmin(lo, u), hi = fmax(hi, u);
    }
    CHECK(lo >= 0.0 && hi < 1.0);
    CHECK_NEAR(s / N, 0.5, 5 * sqrt(1.0 / 12 / N));
    CHECK_NEAR(s2 / N - (s / N) * (s / N), 1.0 / 12, 0.002);
    int counts[7] = {0};
    for (int i = 0; i < 7 * 20000; i++) counts[lt_rng_below(&r, 7)]++;
    double chi2 = 0;
    for (int k = 0; k < 7; k++) chi2 += (counts[k] - 20000.0) * (counts[k] - 20000.0) / 20000.0;
    CHECK_MSG(chi2 < 22.5, "chi2 = %g with 6 dof", chi2); /* p ~ 0.001 */
    uint64_t big = (1ULL << 63) + 12345, mx = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t v = lt_rng_below(&r, big);
        if (v > mx) mx = v;
    }
    CHECK(mx < big && mx > big / 2);
}

static void test_normal(void)
{
    lt_rng r;
    lt_rng_seed(&r, 2);
    double m1 = 0, m2 = 0, m3 = 0, m4 = 0;
    for (int i = 0; i < N; i++) {
        double x = lt_rng_normal(&r);
        m1 += x, m2 += x * x, m3 += x * x * x, m4 += x * x * x * x;
    }
    m1 /= N, m2 /= N, m3 /= N, m4 /= N;
    CHECK_NEAR(m1, 0.0, 5 / sqrt(N));
    CHECK_NEAR(m2, 1.0, 5 * sqrt(2.0 / N));
    CHECK_NEAR(m3, 0.0, 5 * sqrt(15.0 / N));
    CHECK_NEAR(m4, 3.0, 5 * sqrt(96.0 / N));
}

static void test_gamma(void)
{
    const double shapes[] = {0.05, 0.5, 1.0, 2.5, 30.0};
    for (size_t j = 0; j < sizeof shapes / sizeof *shapes; j++) {
        double a = shapes[j];
        lt_rng r;
        lt_rng_seed(&r, 3 + j);
        double s = 0, s2 = 0;
        int nonneg = 1;
        for (int i = 0; i < N; i++) {
            double g = lt_rng_gamma(&r, a);
            nonneg &= g >= 0.0;
            s += g, s2 += g * g;
        }
        double mean = s / N, var = s2 / N - mean * mean;
        CHECK(nonneg);
        /* mean a, variance a; se of the mean sqrt(a/N), of the variance
         * sqrt((m4 - a^2)/N) with m4 = 3a^2 + 6a for the gamma. */
        CHECK_NEAR(mean, a, 5 * sqrt(a / N));
        CHECK_NEAR(var, a, 6 * sqrt((2 * a * a + 6 * a) / N));
    }
}

static void test_dirichlet(void)
{
    const double alpha[3] = {0.3, 1.0, 4.0};
    double a0 = 5.3, mean[3] = {0}, var0 = 0, x[3];
    lt_rng r;
    lt_rng_seed(&r, 9);
    int simplex = 1;
    for (int i = 0; i < N; i++) {
        lt_rng_dirichlet(&r, alpha, 3, x);
        simplex &= fabs(x[0] + x[1] + x[2] - 1.0) < 1e-12 && x[0] >= 0 && x[1] >= 0 && x[2] >= 0;
        for (int k = 0; k < 3; k++) mean[k] += x[k] / N;
        var0 += (x[0] - alpha[0] / a0) * (x[0] - alpha[0] / a0) / N;
    }
    CHECK(simplex);
    for (int k = 0; k < 3; k++) CHECK_NEAR(mean[k], alpha[k] / a0, 0.003);
    double v0 = alpha[0] * (a0 - alpha[0]) / (a0 * a0 * (a0 + 1));
    CHECK_REL(var0, v0, 0.03);
    /* Degenerate: tiny alphas still land on the simplex. */
    const double tiny[2] = {1e-300, 1e-300};
    lt_rng_dirichlet(&r, tiny, 2, x);
    CHECK(fabs(x[0] + x[1] - 1.0) < 1e-12);
}

static void test_categorical(void)
{
    const double w[4] = {1.0, 0.0, 3.0, 6.0}; /* unnormalised */
    int counts[4] = {0};
    lt_rng r;
    lt_rng_seed(&r, 11);
    for (int i = 0; i < N; i++) counts[lt_rng_categorical(&r, w, 4)]++;
    CHECK(counts[1] == 0);
    CHECK_NEAR(counts[0] / (double)N, 0.1, 5 * sqrt(0.09 / N));
    CHECK_NEAR(counts[2] / (double)N, 0.3, 5 * sqrt(0.21 / N));
    CHECK_NEAR(counts[3] / (double)N, 0.6, 5 * sqrt(0.24 / N));
    const double zero[3] = {0, 0, 0};
    size_t k = lt_rng_categorical(&r, zero, 3);
    CHECK(k < 3);
}

int main(void)
{
    RUN(test_determinism_and_streams);
    RUN(test_uniform_and_below);
    RUN(test_normal);
    RUN(test_gamma);
    RUN(test_dirichlet);
    RUN(test_categorical);
    return lt_test_done();
}
