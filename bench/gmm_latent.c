/* Time latent's GMM EM: seconds per iteration, excluding initialisation.
 *
 *   gmm_latent DATA.npy --k K --cov diag|full|spherical|tied [--m1 2 --m2 8]
 *              [--threads 2] [--kmeans-iter 10] [--seed 0] [--n ROWS]
 *              [--estep-reps 3] [--tag NAME]
 *
 * After an untimed warm-up fit on a slice, two fits from the same seed (so
 * the same k-means++ and Lloyd initialisation), with tol = 0 so that exactly
 * m1 and m2 EM iterations run; (t2 - t1) / (m2 - m1) is the cost of one E+M
 * iteration with the initialisation and the fixed costs cancelled. The
 * E-step alone is timed
 * as lt_gmm_score_samples on the whole data (median of --estep-reps runs);
 * the quality is the mean log-likelihood per sample of the m2 model on the
 * training data, nats.
 *
 * Prints one machine-readable line starting "RESULT " (key=value pairs) on
 * stdout; bench/run_gmm.sh collects them.
 */
#include "bench_util.h"

#include "latent/gmm.h"

static const char *prog = "gmm_latent";

static lt_gmm *fit(const double *X, size_t n, size_t d, const lt_gmm_options *o, double *seconds)
{
    lt_gmm *m = NULL;
    double t0 = bench_now();
    lt_status s = lt_gmm_fit(o, X, n, d, NULL, &m);
    *seconds = bench_now() - t0;
    if (s != LT_OK) bench_die(prog, "lt_gmm_fit failed", lt_last_error());
    if (m->n_iter != o->max_iter)
        fprintf(stderr, "%s: warning: %zu EM iterations ran, %zu asked\n", prog, m->n_iter, o->max_iter);
    return m;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr,
                "usage: %s DATA.npy --k K --cov TYPE [--m1 M1 --m2 M2 --threads T --kmeans-iter I\n"
                "       --seed S --n ROWS --estep-reps R --tag NAME]\n",
                prog);
        return 2;
    }
    const char *path = argv[1];
    size_t k = bench_arg_size(argc, argv, "--k", 32);
    const char *cov_name = bench_arg(argc, argv, "--cov", "diag");
    size_t m1 = bench_arg_size(argc, argv, "--m1", 2), m2 = bench_arg_size(argc, argv, "--m2", 8);
    int threads = (int)bench_arg_size(argc, argv, "--threads", 2);
    size_t kmeans_iter = bench_arg_size(argc, argv, "--kmeans-iter", 10);
    uint64_t seed = bench_arg_size(argc, argv, "--seed", 0);
    size_t limit = bench_arg_size(argc, argv, "--n", 0);
    size_t reps = bench_arg_size(argc, argv, "--estep-reps", 3);
    const char *tag = bench_arg(argc, argv, "--tag", "-");
    if (m2 <= m1 || m1 == 0) bench_die(prog, "need 0 < m1 < m2", NULL);
    if (reps == 0 || reps > 64) reps = 3;

    lt_cov_type cov;
    if (lt_cov_type_parse(cov_name, &cov) != LT_OK) bench_die(prog, "bad --cov", cov_name);
    size_t n, d;
    double *X = bench_npy_read(prog, path, limit, &n, &d);

    lt_gmm_options o;
    lt_gmm_options_default(&o);
    o.k = k;
    o.cov = cov;
    o.init = LT_GMM_INIT_KMEANSPP;
    o.n_init = 1;
    o.tol = 0.0;
    o.reg_covar = 1e-6;
    o.kmeans_iter = kmeans_iter;
    o.seed = seed;
    o.threads = threads;

    /* Warm-up on a slice (thread pools, first-touch of the code paths), so
     * that the first timed fit does not carry one-off costs. */
    double tw;
    o.max_iter = 1;
    lt_gmm_free(fit(X, n < 20000 ? n : 20000, d, &o, &tw));

    double t1, t2;
    o.max_iter = m1;
    lt_gmm *g1 = fit(X, n, d, &o, &t1);
    size_t iters1 = g1->n_iter;
    lt_gmm_free(g1);
    o.max_iter = m2;
    lt_gmm *g2 = fit(X, n, d, &o, &t2);
    /* By the iterations that actually ran (they differ only if EM stopped). */
    size_t iters2 = g2->n_iter;
    if (iters2 <= iters1) bench_die(prog, "the m2 fit ran no more iterations than the m1 fit", NULL);
    double per_iter = (t2 - t1) / (double)(iters2 - iters1);

    /* E-step alone, and the quality of the m2 model. */
    double *logp = malloc(n * sizeof *logp);
    if (!logp) bench_die(prog, "out of memory", NULL);
    double et[64];
    for (size_t r = 0; r < reps; r++) {
        double t0 = bench_now();
        if (lt_gmm_score_samples(g2, X, n, threads, logp) != LT_OK)
            bench_die(prog, "lt_gmm_score_samples failed", lt_last_error());
        et[r] = bench_now() - t0;
    }
    double estep = bench_median(et, reps);
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += logp[i];
    double flops = bench_estep_flops(cov_name, (double)n, (double)k, (double)d);

    fprintf(stderr,
            "%s: %s n=%zu d=%zu k=%zu cov=%s threads=%d: %.4f s/iteration, E-step %.4f s "
            "(%.2f GFLOP/s), mean log-likelihood %.6f\n",
            prog, tag, n, d, k, cov_name, threads, per_iter, estep, flops / estep * 1e-9, sum / (double)n);
    printf("RESULT impl=latent tag=%s n=%zu d=%zu k=%zu cov=%s threads=%d m1=%zu m2=%zu iters1=%zu iters2=%zu "
           "t1=%.6f t2=%.6f sec_per_iter=%.6f init_sec=%.6f estep_sec=%.6f estep_flops=%.6e loglik=%.10f\n",
           tag, n, d, k, cov_name, threads, m1, m2, iters1, iters2, t1, t2, per_iter, t1 - (double)iters1 * per_iter,
           estep, flops, sum / (double)n);

    free(logp);
    lt_gmm_free(g2);
    free(X);
    return 0;
}
