/* Deep belief nets: pieces for the tests (not installed). */
#ifndef LT_DBN_INTERNAL_H
#define LT_DBN_INTERNAL_H

#include "latent/dbn.h"

/* Gradients of the fine-tuning loss, shaped as the parameters: w[l] and c[l]
 * for the weights and hidden biases of layer l, then the classifier's. */
typedef struct lt_dbn_grad {
    float **w, **c;
    float *cw, *cb;
} lt_dbn_grad;

/* Allocate / free a gradient shaped as d's parameters. */
lt_status lt_dbn_grad_create(const lt_dbn *d, lt_dbn_grad *g);
void lt_dbn_grad_free(const lt_dbn *d, lt_dbn_grad *g);

/* The mean cross-entropy of labels y (n rows of x) under the classifier,
 * nats, and its gradient (g may be NULL). Single-threaded. */
lt_status lt_dbn_ft_loss(const lt_dbn *d, const float *x, const int32_t *y, size_t n, double *loss, lt_dbn_grad *g);

#endif
