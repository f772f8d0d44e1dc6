/* latent — random numbers.
 *
 * Algorithm: xoshiro256** (Blackman and Vigna, 2018), 256-bit state, seeded
 * by expanding a 64-bit seed with splitmix64. Independent streams are made
 * with the generator's jump function, which advances the state by 2^128
 * draws: stream i of seed s is the seeded state jumped i times, so streams
 * never overlap in any practical run. Give each thread or work chunk its own
 * stream, indexed by chunk (not by thread id), and results do not depend on
 * the number of threads.
 *
 * All functions are thread-compatible: one lt_rng per thread.
 */
#ifndef LATENT_RNG_H
#define LATENT_RNG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lt_rng {
    uint64_t s[4];
} lt_rng;

/* Seed a generator (stream 0). */
void lt_rng_seed(lt_rng *r, uint64_t seed);
/* Seed a generator on stream `stream` of `seed` (jumped `stream` times). */
void lt_rng_stream(lt_rng *r, uint64_t seed, uint64_t stream);
/* Advance by 2^128 draws. */
void lt_rng_jump(lt_rng *r);

uint64_t lt_rng_u64(lt_rng *r);
/* The same draw inlined, for inner loops (the same sequence as lt_rng_u64). */
static inline uint64_t lt_rng_u64_inline(lt_rng *r)
{
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5, result = ((x << 7) | (x >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}
/* Uniform on [0, 1), 53 random bits. */
double lt_rng_uniform(lt_rng *r);
/* Uniform integer on [0, n), unbiased (Lemire's method); n > 0. */
uint64_t lt_rng_below(lt_rng *r, uint64_t n);
/* Standard normal N(0, 1) (polar Box-Muller, no cached state). */
double lt_rng_normal(lt_rng *r);
/* Gamma(shape, 1), shape > 0 (Marsaglia and Tsang 2000; boosted for shape < 1). */
double lt_rng_gamma(lt_rng *r, double shape);
/* Dirichlet(alpha[0..k-1]) into out[0..k-1], alpha > 0. */
void lt_rng_dirichlet(lt_rng *r, const double *alpha, size_t k, double *out);
/* Index drawn with probability proportional to w[i] >= 0 (need not sum to 1).
 * Returns k - 1 ... only if all weights are zero it returns a uniform index. */
size_t lt_rng_categorical(lt_rng *r, const double *w, size_t k);

#ifdef __cplusplus
}
#endif
#endif
