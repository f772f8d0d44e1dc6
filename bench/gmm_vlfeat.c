/* Time VLFeat's GMM EM (vl_gmm, diagonal covariances only), the same way
 * bench/gmm_latent.c times latent.
 *
 *   gmm_vlfeat DATA.npy --k K [--m1 2 --m2 8 --threads 2 --kmeans-iter 10
 *              --seed 0 --n ROWS --estep-reps 3 --tag NAME]
 *
 * Initialisation: VLFeat's own k-means (k-means++ seeding, Lloyd, at most
 * --kmeans-iter iterations) through vl_gmm_init_with_kmeans, done once and
 * not timed. Its parameters are then copied into two fresh VlGMM objects
 * that run vl_gmm_em with at most m1 and m2 iterations; (t2 - t1)/(m2 - m1)
 * is one E+M iteration. VLFeat's EM stops early when the log-likelihood
 * changes by less than 1e-5 relative; we count the iterations it reports
 * (verbosity, through vl_set_printf_func), divide by the iterations that
 * actually ran, and say so when that happened.
 *
 * Differences from latent and scikit-learn, by VLFeat's design: variances
 * are floored at a lower bound (set here to 1e-6) instead of having 1e-6
 * added, and empty modes are restarted by splitting the largest one.
 *
 * The E-step alone is timed as vl_get_gmm_data_posteriors_d on the whole
 * data. The quality is the mean log-likelihood per sample of the m2 model,
 * computed here from its parameters; vl_loglik is VLFeat's own figure from
 * its last E-step (the same parameters), printed as a cross-check (older
 * VLFeat versions left out the -d/2 log(2 pi) term).
 */
#include "bench_util.h"

#include <math.h>
#include <stdarg.h>

#include <vl/generic.h>
#include <vl/gmm.h>
#include <vl/kmeans.h>
#include <vl/random.h>

static const char *prog = "gmm_vlfeat";

#define LOG_2PI 1.8378770664093454836

/* What VLFeat printed during the last vl_gmm_em (verbosity 1). */
static size_t em_iterations;
static int em_converged_early;

static int capture_printf(char const *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (strstr(line, "gmm: em: iteration")) em_iterations++;
    if (strstr(line, "fully converged")) em_converged_early = 1;
    return r;
}

/* Mean over the rows of log sum_k pi_k N(x | mu_k, diag(s2_k)), nats. */
static double mean_loglik(const double *X, size_t n, size_t d, size_t k, const double *pi, const double *mu,
                          const double *s2)
{
    double *c = malloc(k * sizeof *c);
    if (!c) bench_die(prog, "out of memory", NULL);
    for (size_t j = 0; j < k; j++) {
        double ld = 0.0;
        for (size_t t = 0; t < d; t++)
            ld += LOG_2PI + log(s2[j * d + t]);
        c[j] = log(pi[j]) - 0.5 * ld;
    }
    double sum = 0.0;
#pragma omp parallel for reduction(+ : sum) schedule(static)
    for (long long i = 0; i < (long long)n; i++) {
        const double *x = X + (size_t)i * d;
        double mx = -INFINITY, acc = 0.0;
        double lj[1024];
        for (size_t j = 0; j < k; j++) {
            double q = 0.0;
            for (size_t t = 0; t < d; t++) {
                double u = x[t] - mu[j * d + t];
                q += u * u / s2[j * d + t];
            }
            lj[j] = c[j] - 0.5 * q;
            if (lj[j] > mx) mx = lj[j];
        }
        for (size_t j = 0; j < k; j++)
            acc += exp(lj[j] - mx);
        sum += mx + log(acc);
    }
    free(c);
    return sum / (double)n;
}

static VlGMM *em(const double *X, size_t n, size_t d, size_t k, size_t max_iter, const double *pi, const double *mu,
                 const double *s2, double *seconds, size_t *iters, int *early, double *ll)
{
    VlGMM *g = vl_gmm_new(VL_TYPE_DOUBLE, d, k);
    if (!g) bench_die(prog, "vl_gmm_new failed", NULL);
    vl_gmm_set_covariance_lower_bound(g, 1e-6);
    vl_gmm_set_max_num_iterations(g, max_iter);
    vl_gmm_set_verbosity(g, 1);
    vl_gmm_set_priors(g, pi);
    vl_gmm_set_means(g, mu);
    vl_gmm_set_covariances(g, s2);
    em_iterations = 0;
    em_converged_early = 0;
    double t0 = bench_now();
    *ll = vl_gmm_em(g, X, n);
    *seconds = bench_now() - t0;
    /* VLFeat prints one line per E-step: max_iter + 1 of them when it ran
     * max_iter M-steps. */
    *iters = em_iterations ? em_iterations - 1 : 0;
    *early = em_converged_early;
    if (*early || *iters != max_iter)
        fprintf(stderr,
                "%s: warning: VLFeat stopped after %zu of %zu iterations (converged); time is per "
                "iteration that ran\n",
                prog, *iters, max_iter);
    return g;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr,
                "usage: %s DATA.npy --k K [--m1 M1 --m2 M2 --threads T --kmeans-iter I --seed S\n"
                "       --n ROWS --estep-reps R --tag NAME]\n",
                prog);
        return 2;
    }
    const char *path = argv[1];
    size_t k = bench_arg_size(argc, argv, "--k", 32);
    const char *cov_name = bench_arg(argc, argv, "--cov", "diag");
    size_t m1 = bench_arg_size(argc, argv, "--m1", 2), m2 = bench_arg_size(argc, argv, "--m2", 8);
    size_t threads = bench_arg_size(argc, argv, "--threads", 2);
    size_t kmeans_iter = bench_arg_size(argc, argv, "--kmeans-iter", 10);
    size_t seed = bench_arg_size(argc, argv, "--seed", 0);
    size_t limit = bench_arg_size(argc, argv, "--n", 0);
    size_t reps = bench_arg_size(argc, argv, "--estep-reps", 3);
    const char *tag = bench_arg(argc, argv, "--tag", "-");
    if (strcmp(cov_name, "diag") != 0) bench_die(prog, "VLFeat fits diagonal covariances only, not", cov_name);
    if (m2 <= m1 || m1 == 0) bench_die(prog, "need 0 < m1 < m2", NULL);
    if (k > 1024) bench_die(prog, "k > 1024 not supported here", NULL);
    if (reps == 0 || reps > 64) reps = 3;

    size_t n, d;
    double *X = bench_npy_read(prog, path, limit, &n, &d);
    vl_set_num_threads(threads);
    vl_set_printf_func(capture_printf);
    vl_rand_seed(vl_get_rand(), (vl_uint32)seed);

    /* Initialisation, once, untimed in the result. */
    VlKMeans *km = vl_kmeans_new(VL_TYPE_DOUBLE, VlDistanceL2);
    vl_kmeans_set_algorithm(km, VlKMeansLloyd);
    vl_kmeans_set_initialization(km, VlKMeansPlusPlus);
    vl_kmeans_set_max_num_iterations(km, kmeans_iter);
    vl_kmeans_set_num_repetitions(km, 1);
    VlGMM *g0 = vl_gmm_new(VL_TYPE_DOUBLE, d, k);
    vl_gmm_set_covariance_lower_bound(g0, 1e-6);
    double t0 = bench_now();
    vl_gmm_init_with_kmeans(g0, X, n, km);
    double init_sec = bench_now() - t0;
    double *pi = malloc(k * sizeof *pi), *mu = malloc(k * d * sizeof *mu), *s2 = malloc(k * d * sizeof *s2);
    if (!pi || !mu || !s2) bench_die(prog, "out of memory", NULL);
    memcpy(pi, vl_gmm_get_priors(g0), k * sizeof *pi);
    memcpy(mu, vl_gmm_get_means(g0), k * d * sizeof *mu);
    memcpy(s2, vl_gmm_get_covariances(g0), k * d * sizeof *s2);
    vl_gmm_delete(g0);
    vl_kmeans_delete(km);

    double t1, t2, vl_ll;
    size_t it1, it2;
    int early1, early2;
    /* Warm-up on a slice (thread pools, first touch), untimed. */
    vl_gmm_delete(em(X, n < 20000 ? n : 20000, d, k, 1, pi, mu, s2, &t1, &it1, &early1, &vl_ll));
    VlGMM *g1 = em(X, n, d, k, m1, pi, mu, s2, &t1, &it1, &early1, &vl_ll);
    vl_gmm_delete(g1);
    VlGMM *g2 = em(X, n, d, k, m2, pi, mu, s2, &t2, &it2, &early2, &vl_ll);
    /* By the iterations that actually ran (VLFeat may stop early). */
    if (it2 <= it1) bench_die(prog, "the m2 run did no more iterations than the m1 run", NULL);
    double per_iter = (t2 - t1) / (double)(it2 - it1);
    vl_ll /= (double)n; /* VLFeat's figure at its last E-step, i.e. for the final parameters */

    const double *fpi = vl_gmm_get_priors(g2), *fmu = vl_gmm_get_means(g2), *fs2 = vl_gmm_get_covariances(g2);
    double *post = malloc(n * k * sizeof *post);
    if (!post) bench_die(prog, "out of memory", NULL);
    double et[64];
    for (size_t r = 0; r < reps; r++) {
        double s = bench_now();
        vl_get_gmm_data_posteriors_d(post, k, n, fpi, fmu, d, fs2, X);
        et[r] = bench_now() - s;
    }
    double estep = bench_median(et, reps);
    double ll = mean_loglik(X, n, d, k, fpi, fmu, fs2);
    double flops = bench_estep_flops("diag", (double)n, (double)k, (double)d);

    fprintf(stderr,
            "%s: %s n=%zu d=%zu k=%zu threads=%zu: %.4f s/iteration, E-step %.4f s (%.2f GFLOP/s), "
            "mean log-likelihood %.6f\n",
            prog, tag, n, d, k, threads, per_iter, estep, flops / estep * 1e-9, ll);
    printf("RESULT impl=vlfeat tag=%s n=%zu d=%zu k=%zu cov=diag threads=%zu m1=%zu m2=%zu iters1=%zu iters2=%zu "
           "early_stop=%d t1=%.6f t2=%.6f sec_per_iter=%.6f init_sec=%.6f estep_sec=%.6f estep_flops=%.6e "
           "loglik=%.10f vl_loglik=%.10f\n",
           tag, n, d, k, threads, m1, m2, it1, it2, early1 || early2, t1, t2, per_iter, init_sec, estep, flops, ll,
           vl_ll);

    free(post);
    vl_gmm_delete(g2);
    free(pi);
    free(mu);
    free(s2);
    free(X);
    return 0;
}
