/* Fit a Gaussian mixture with liblatent, score held-out data, save the model.
 *
 *   cc gmm_fit.c $(pkg-config --cflags --libs latent) -o gmm_fit && ./gmm_fit
 */
#include <latent/gmm.h>
#include <latent/rng.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    const char *out = argc > 1 ? argv[1] : "example_gmm.safetensors";
    size_t n = 2000, d = 2;
    double *X = malloc(n * d * sizeof(double)), *lp = malloc(n * sizeof(double));
    if (!X || !lp) return 1;
    /* two clusters */
    lt_rng r;
    lt_rng_seed(&r, 1);
    for (size_t i = 0; i < n; i++) {
        double c = i % 2 ? 4.0 : -4.0;
        X[i * d] = c + lt_rng_normal(&r);
        X[i * d + 1] = 0.5 * c + 0.5 * lt_rng_normal(&r);
    }
    lt_gmm_options o;
    lt_gmm_options_default(&o);
    o.k = 2;
    o.cov = LT_COV_FULL;
    o.seed = 42;
    lt_gmm *m = NULL;
    /* fit on the first half, score the second half */
    if (lt_gmm_fit(&o, X, n / 2, d, NULL, &m) != LT_OK ||
        lt_gmm_score_samples(m, X + n / 2 * d, n / 2, 0, lp) != LT_OK || lt_gmm_save(m, out) != LT_OK) {
        fprintf(stderr, "gmm_fit: %s\n", lt_last_error());
        lt_gmm_free(m);
        free(X), free(lp);
        return 1;
    }
    double mean = 0.0;
    for (size_t i = 0; i < n / 2; i++) mean += lp[i] / (double)(n / 2);
    printf("k = %zu, %zu EM iterations, held-out log-likelihood %.4f nats per sample, saved to %s\n", m->k, m->n_iter,
           mean, out);
    lt_gmm_free(m);
    free(X), free(lp);
    return 0;
}
