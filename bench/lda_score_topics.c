/* Score another program's topics with latent's held-out estimator, so that
 * every implementation in the LDA benchmark is judged by one estimator.
 *
 *   lda_score_topics PHI.npy ALPHA.npy TEST.docword [--particles 20 --seed 0 --threads 2]
 *
 * PHI.npy: K x V float64, the topics (rows are renormalised to sum to 1);
 * ALPHA.npy: 1 x K (or K x 1) float64, the document-topic Dirichlet
 * parameter. Written by bench/lda_gensim.py and bench/lda_sklearn.py (the
 * normalised lambda / components_ and their alpha).
 *
 * An lt_lda holds topics as statistics: phi_kw = (nkw[k][w] + beta_w) /
 * (nk[k] + sum_w beta_w). The model built here has nkw = phi (so nk = 1) and
 * beta_w = 1e-300, which gives back phi to rounding (the largest relative
 * difference is printed as phi_roundtrip_maxrel; entries of phi below about
 * 1e-280 would be the only ones changed), then lt_lda_score with the
 * left-to-right estimator (Wallach et al. 2009) runs exactly as it does for
 * latent's own models in bench/lda_latent.c (same particles, same seed).
 *
 * Prints one "RESULT heldout=... heldout_se=... test_tokens=..." line.
 */
#include "bench_util.h"

#include <math.h>

#include "latent/corpus.h"
#include "latent/lda.h"

static const char *prog = "lda_score_topics";

int main(int argc, char **argv)
{
    if (argc < 4 || argv[1][0] == '-' || argv[2][0] == '-' || argv[3][0] == '-') {
        fprintf(stderr, "usage: %s PHI.npy ALPHA.npy TEST.docword [--particles 20 --seed 0 --threads 2]\n", prog);
        return 2;
    }
    size_t K, V, ar, ac;
    double *phi = bench_npy_read(prog, argv[1], 0, &K, &V);
    double *alpha = bench_npy_read(prog, argv[2], 0, &ar, &ac);
    if (ar * ac != K || (ar != 1 && ac != 1)) bench_die(prog, "ALPHA must hold K values (1 x K)", argv[2]);
    lt_lda_score_options so;
    lt_lda_score_options_default(&so);
    so.estimator = LT_LDA_LEFT_TO_RIGHT;
    so.particles = bench_arg_size(argc, argv, "--particles", 20);
    so.seed = bench_arg_size(argc, argv, "--seed", 0);
    so.threads = (int)bench_arg_size(argc, argv, "--threads", 2);

    lt_corpus *test = NULL;
    if (lt_corpus_read_docword(argv[3], NULL, &test) != LT_OK) bench_die(prog, "cannot read TEST", lt_last_error());
    if (test->n_vocab != V) bench_die(prog, "TEST's vocabulary size is not PHI's number of columns", NULL);

    lt_lda *m = NULL;
    if (lt_lda_create(K, V, 1.0, 1e-300, &m) != LT_OK) bench_die(prog, "lt_lda_create failed", lt_last_error());
    for (size_t k = 0; k < K; k++) {
        if (!(alpha[k] > 0) || !isfinite(alpha[k])) bench_die(prog, "alpha must be positive and finite", argv[2]);
        m->alpha[k] = alpha[k];
        double s = 0.0;
        for (size_t w = 0; w < V; w++) {
            double p = phi[k * V + w];
            if (!(p >= 0) || !isfinite(p)) bench_die(prog, "phi must be non-negative and finite", argv[1]);
            s += p;
        }
        if (!(s > 0)) bench_die(prog, "a topic of phi sums to zero", argv[1]);
        for (size_t w = 0; w < V; w++)
            m->nkw[k * V + w] = phi[k * V + w] / s;
    }
    lt_lda_update_totals(m);
    /* The topics the scorer will use, against the normalised input. */
    double *back = malloc(K * V * sizeof *back);
    if (!back) bench_die(prog, "out of memory", NULL);
    lt_lda_topics(m, back);
    double maxrel = 0.0;
    for (size_t i = 0; i < K * V; i++) {
        double ref = m->nkw[i];
        if (ref > 0) {
            double r = fabs(back[i] - ref) / ref;
            if (r > maxrel) maxrel = r;
        }
    }
    free(back);

    lt_score sc;
    double t0 = bench_now();
    if (lt_lda_score(m, test, &so, NULL, &sc) != LT_OK) bench_die(prog, "lt_lda_score failed", lt_last_error());
    double ts = bench_now() - t0;
    printf("RESULT heldout=%.8f heldout_se=%.8f test_tokens=%zu particles=%zu score_sec=%.3f "
           "phi_roundtrip_maxrel=%.3e\n",
           sc.mean, sc.stderr_mean, sc.count, so.particles, ts, maxrel);
    lt_lda_free(m);
    lt_corpus_free(test);
    free(phi);
    free(alpha);
    return 0;
}
