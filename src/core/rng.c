/* xoshiro256** with splitmix64 seeding and jump-based streams, plus the
 * samplers every family needs. References: Blackman and Vigna, "Scrambled
 * linear pseudorandom number generators" (2018); Marsaglia and Tsang, "A
 * simple method for generating gamma variables" (2000); Lemire, "Fast random
 * integer generation in an interval" (2019). */
#include "latent/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}


void lt_rng_seed(lt_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

uint64_t lt_rng_u64(lt_rng *r) { return lt_rng_u64_inline(r); }

void lt_rng_jump(lt_rng *r)
{
    static const uint64_t JUMP[] = {0x180ec6d33cfd0abaULL, 0xd5a61266f0c9392cULL,
                                    0xa9582618e03fc9aaULL, 0x39abdc4529b1661cULL};
    uint64_t t[4] = {0, 0, 0, 0};
    for (int i = 0; i < 4; i++)
        for (int b = 0; b < 64; b++) {
            if (JUMP[i] & (1ULL << b))
                for (int j = 0; j < 4; j++) t[j] ^= r->s[j];
            lt_rng_u64(r);
        }
    for (int j = 0; j < 4; j++) r->s[j] = t[j];
}

void lt_rng_stream(lt_rng *r, uint64_t seed, uint64_t stream)
{
    lt_rng_seed(r, seed);
    for (uint64_t i = 0; i < stream; i++) lt_rng_jump(r);
}

double lt_rng_uniform(lt_rng *r) { return (double)(lt_rng_u64(r) >> 11) * 0x1.0p-53; }

uint64_t lt_rng_below(lt_rng *r, uint64_t n)
{
    /* Lemire's multiply-and-reject: unbiased without a division per draw. */
    __uint128_t m = (__uint128_t)lt_rng_u64(r) * n;
    uint64_t lo = (uint64_t)m;
    if (lo < n) {
        uint64_t thresh = -n % n;
        while (lo < thresh) {
            m = (__uint128_t)lt_rng_u64(r) * n;
            lo = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

double lt_rng_normal(lt_rng *r)
{
    /* Polar Box-Muller; the second variate is discarded so the generator
     * carries no hidden state beyond s[4]. */
    double u, v, s;
    do {
        u = 2.0 * lt_rng_uniform(r) - 1.0;
        v = 2.0 * lt_rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    return u * sqrt(-2.0 * log(s) / s);
}

double lt_rng_gamma(lt_rng *r, double shape)
{
    if (shape < 1.0) {
        /* Gamma(a) = Gamma(a + 1) * U^(1/a); in log space to keep tiny
         * shapes from underflowing to exactly zero too often. */
        double g = lt_rng_gamma(r, shape + 1.0);
        double u;
        do u = lt_rng_uniform(r);
        while (u == 0.0);
        return exp(log(g) + log(u) / shape);
    }
    double d = shape - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x, v;
        do {
            x = lt_rng_normal(r);
            v = 1.0 + c * x;
        } while (v <= 0.0);
        v = v * v * v;
        double u = lt_rng_uniform(r);
        if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
        if (u > 0.0 && log(u) < 0.5 * x * x + d * (1.0 - v + log(v))) return d * v;
    }
}

void lt_rng_dirichlet(lt_rng *r, const double *alpha, size_t k, double *out)
{
    double sum = 0.0;
    for (size_t i = 0; i < k; i++) sum += (out[i] = lt_rng_gamma(r, alpha[i]));
    if (sum > 0.0) {
        for (size_t i = 0; i < k; i++) out[i] /= sum;
    } else {
        /* Every gamma underflowed (all alphas tiny): the mass sits on one
         * coordinate, chosen in proportion to alpha. */
        size_t j = lt_rng_categorical(r, alpha, k);
        for (size_t i = 0; i < k; i++) out[i] = (i == j);
    }
}

size_t lt_rng_categorical(lt_rng *r, const double *w, size_t k)
{
    double total = 0.0;
    for (size_t i = 0; i < k; i++) total += w[i];
    if (!(total > 0.0)) return (size_t)lt_rng_below(r, k);
    double u = lt_rng_uniform(r) * total;
    size_t last = 0;
    for (size_t i = 0; i < k; i++) {
        if (w[i] > 0.0) last = i;
        if (u < w[i]) return i;
        u -= w[i];
    }
    return last; /* rounding left u just above the final positive weight */
}
