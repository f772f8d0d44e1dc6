/* The machine's matrix-multiply rate, the yardstick for the GMM E-step:
 * dgemm and sgemm GFLOP/s (2 n^3 flops) at n = 2048 with 1 and 2 OpenBLAS
 * threads. One warm-up call, then the median of --reps timed calls.
 *
 *   blas_rate [--n 2048] [--reps 5] [--threads-max 2]
 *
 * Prints one "RESULT impl=blas op=dgemm threads=T n=N gflops=G" line per
 * measurement on stdout.
 */
#include "bench_util.h"

#include <cblas.h>

static const char *prog = "blas_rate";

static void fill_d(double *a, size_t len, uint64_t *s)
{
    for (size_t i = 0; i < len; i++) {
        *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
        a[i] = (double)(*s >> 11) * 0x1.0p-53 - 0.5;
    }
}

static void fill_s(float *a, size_t len, uint64_t *s)
{
    for (size_t i = 0; i < len; i++) {
        *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
        a[i] = (float)((double)(*s >> 11) * 0x1.0p-53 - 0.5);
    }
}

int main(int argc, char **argv)
{
    size_t n = bench_arg_size(argc, argv, "--n", 2048);
    size_t reps = bench_arg_size(argc, argv, "--reps", 5);
    size_t tmax = bench_arg_size(argc, argv, "--threads-max", 2);
    if (n == 0 || reps == 0 || reps > 64 || tmax == 0) bench_die(prog, "bad arguments", NULL);
    size_t len = n * n;
    double *A = malloc(len * sizeof *A), *B = malloc(len * sizeof *B), *C = malloc(len * sizeof *C);
    float *As = malloc(len * sizeof *As), *Bs = malloc(len * sizeof *Bs), *Cs = malloc(len * sizeof *Cs);
    if (!A || !B || !C || !As || !Bs || !Cs) bench_die(prog, "out of memory", NULL);
    uint64_t seed = 42;
    fill_d(A, len, &seed);
    fill_d(B, len, &seed);
    fill_s(As, len, &seed);
    fill_s(Bs, len, &seed);
    const int in = (int)n;
    const double flops = 2.0 * (double)n * (double)n * (double)n;

    for (size_t t = 1; t <= tmax; t++) {
        openblas_set_num_threads((int)t);
        for (int op = 0; op < 2; op++) {
            double times[64];
            for (size_t r = 0; r <= reps; r++) {
                double t0 = bench_now();
                if (op == 0)
                    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, in, in, in, 1.0, A, in, B, in, 0.0, C, in);
                else
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, in, in, in, 1.0f, As, in, Bs, in, 0.0f, Cs,
                                in);
                if (r > 0) times[r - 1] = bench_now() - t0; /* r = 0 warms up */
            }
            double med = bench_median(times, reps);
            const char *name = op == 0 ? "dgemm" : "sgemm";
            fprintf(stderr, "%s: %s n=%zu threads=%zu: %.1f GFLOP/s (median of %zu, %.4f s)\n", prog, name, n, t,
                    flops / med * 1e-9, reps, med);
            printf("RESULT impl=blas op=%s threads=%zu n=%zu gflops=%.3f sec=%.6f\n", name, t, n, flops / med * 1e-9,
                   med);
        }
    }
    /* Keep the results observable so nothing is optimised away. */
    if (C[0] == 12345.0 && Cs[0] == 12345.0f) fprintf(stderr, "\n");
    free(A);
    free(B);
    free(C);
    free(As);
    free(Bs);
    free(Cs);
    return 0;
}
