/* libFuzzer target for the Boltzmann machines' model files: lt_rbm_load,
 * lt_dbn_load and lt_dbm_load (fuzz_file.h makes the temporary file). The
 * first input byte picks the reader; the rest is the file. A file that loads
 * must describe a usable model: every parameter is read, and one row of
 * zeros goes through the model (free energy, up-pass, mean field), so a
 * sanitizer sees any size the loader failed to check. Seed it with the model
 * files the tests write (test_rbm, test_dbn, test_dbm, the CLI tests). */
#include "latent/dbm.h"
#include "latent/dbn.h"
#include "latent/rbm.h"
#include "fuzz_file.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void touch(const float *p, size_t n)
{
    volatile float sink = 0;
    for (size_t i = 0; i < n; i++) sink += p[i];
    (void)sink;
}

static void use_rbm(const lt_rbm *m)
{
    touch(m->w, m->nv * m->nh), touch(m->b, m->nv), touch(m->c, m->nh), touch(m->data_mean, m->nv);
    if (m->logvar) touch(m->logvar, m->nv);
    float *v = calloc(m->nv, sizeof(float)), *h = calloc(m->nh, sizeof(float));
    double f;
    if (!v || !h) abort();
    (void)lt_rbm_free_energy(m, v, 1, 1, &f); /* what a file holds may overflow: a status, not a crash */
    (void)lt_rbm_hidden_probs(m, v, 1, 1, h);
    free(v), free(h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    int which = data[0] % 3;
    const char *path = fuzz_file(data + 1, size - 1);
    if (which == 0) {
        lt_rbm *m = NULL;
        if (lt_rbm_load(path, &m) != LT_OK) {
            if (m || lt_last_error()[0] == '\0') abort();
            return 0;
        }
        use_rbm(m);
        lt_rbm_free(m);
    } else if (which == 1) {
        lt_dbn *d = NULL;
        if (lt_dbn_load(path, &d) != LT_OK) {
            if (d || lt_last_error()[0] == '\0') abort();
            return 0;
        }
        for (size_t l = 0; l < d->n_layers; l++) use_rbm(d->rbm[l]);
        if (d->n_classes) touch(d->cls_w, d->rbm[d->n_layers - 1]->nh * d->n_classes), touch(d->cls_b, d->n_classes);
        size_t nv = d->rbm[0]->nv, ntop = d->rbm[d->n_layers - 1]->nh;
        float *v = calloc(nv, sizeof(float)), *h = calloc(ntop, sizeof(float));
        if (!v || !h) abort();
        (void)lt_dbn_up(d, v, 1, d->n_layers, 1, h);
        free(v), free(h);
        lt_dbn_free(d);
    } else {
        lt_dbm *m = NULL;
        if (lt_dbm_load(path, &m) != LT_OK) {
            if (m || lt_last_error()[0] == '\0') abort();
            return 0;
        }
        touch(m->params, m->n_params), touch(m->data_mean, m->sizes[0]);
        size_t total = 0;
        for (size_t l = 1; l < m->n_layers; l++) total += m->sizes[l];
        float *v = calloc(m->sizes[0], sizeof(float)), *q = calloc(total, sizeof(float));
        if (!v || !q) abort();
        (void)lt_dbm_mean_field(m, v, 1, 3, 0.0, 1, q);
        free(v), free(q);
        lt_dbm_free(m);
    }
    return 0;
}
