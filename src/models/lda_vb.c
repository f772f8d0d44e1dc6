/* latent — LDA by variational Bayes: batch (Blei, Ng and Jordan 2003) and
 * online (Hoffman, Blei and Bach 2010), in the lambda parameterisation that
 * Hoffman's code, gensim and scikit-learn use.
 *
 * The variational family q(theta_d) = Dir(gamma_d), q(phi_k) = Dir(lambda_k),
 * q(z_di) = Cat(phi_dwk). With
 *     Elog theta_dk = psi(gamma_dk) - psi(sum_j gamma_dj)
 *     Elog phi_kw   = psi(lambda_kw) - psi(sum_v lambda_kv)
 * the E-step of document d iterates, over its distinct words w with counts
 * n_dw,
 *     phi_dwk  ∝ exp(Elog theta_dk) exp(Elog phi_kw)
 *     gamma_dk = alpha_k + sum_w n_dw phi_dwk
 * until the mean change of gamma_d is below estep_tol. The topic update is
 *     batch:  lambda_kw = beta_w + sum_d n_dw phi_dwk
 *     online: lambda   <- (1 - rho_t) lambda + rho_t (beta + D / |B| sum_{d in B} n_dw phi_dwk),
 *             rho_t = (tau0 + t)^-kappa, t = 1, 2, ... per mini-batch
 * (scikit-learn's learning_offset and learning_decay; mini-batches are
 * consecutive documents, as sklearn's gen_batches cuts them).
 *
 * The evidence lower bound, with phi at its optimum given gamma and lambda:
 *     L = sum_d [ sum_w n_dw log sum_k exp(Elog theta_dk + Elog phi_kw)
 *                 + sum_k ((alpha_k - gamma_dk) Elog theta_dk + lgamma(gamma_dk) - lgamma(alpha_k))
 *                 + lgamma(sum alpha) - lgamma(sum_k gamma_dk) ]
 *       + sum_k [ sum_w ((beta_w - lambda_kw) Elog phi_kw + lgamma(lambda_kw) - lgamma(beta_w))
 *                 + lgamma(sum beta) - lgamma(sum_w lambda_kw) ]
 * Each E-step starts every document afresh (gamma_dk = alpha_k + N_d / K,
 * as lda-c does) and, in batch VB, also from the document's gamma of the
 * last iteration, keeping the result with the higher bound: continuing from
 * the last gamma is a coordinate ascent step, so with every other step
 * (phi, lambda, alpha) one too the bound never decreases; the fresh start
 * keeps documents from staying with the topics they took while the topics
 * were noise. L is evaluated after each E-step, before the M-step.
 *
 * Numbers: exp(Elog phi_kw) is kept per word scaled by its largest value
 * over topics, and exp(Elog theta_dk) per document scaled likewise, so small
 * priors (Elog of order -1/beta) never underflow a word's normaliser; the
 * scales cancel in every update and are added back in the bound.
 *
 * Threads: documents are independent in the E-step (each writes its own
 * gamma, scaled exp(Elog theta) and per-word ratios n_dw / norm_dw); the
 * sufficient statistics are then reduced topic by topic, each summed over
 * the documents in corpus order, so the model does not depend on the thread
 * count.
 */
#include "lda_internal.h"

#include "latent/rng.h"

#include "../core/internal.h"
#include "../core/par.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ documents */

/* Documents as (word, count) runs: the corpus keeps a word's occurrences
 * together, so each run of equal ids is one distinct word of the document. */
typedef struct vb_runs {
    size_t n;    /* documents */
    size_t *ptr; /* n + 1 offsets into w, c */
    int32_t *w;
    double *c;
    double *len; /* tokens per document */
    size_t n_tokens;
} vb_runs;

static void runs_free(vb_runs *r)
{
    free(r->ptr);
    free(r->w);
    free(r->c);
    free(r->len);
    memset(r, 0, sizeof *r);
}

/* Documents [d0, d1) of a checked corpus. */
static lt_status runs_build(const lt_corpus *c, size_t d0, size_t d1, vb_runs *r)
{
    memset(r, 0, sizeof *r);
    size_t n = d1 - d0, nnz = 0;
    for (size_t d = d0; d < d1; d++)
        for (size_t i = c->doc_ptr[d]; i < c->doc_ptr[d + 1]; i++)
            nnz += i == c->doc_ptr[d] || c->tokens[i] != c->tokens[i - 1];
    r->n = n;
    r->ptr = lt_malloc(n + 1, sizeof *r->ptr);
    r->w = lt_malloc(nnz ? nnz : 1, sizeof *r->w);
    r->c = lt_malloc(nnz ? nnz : 1, sizeof *r->c);
    r->len = lt_malloc(n ? n : 1, sizeof *r->len);
    if (!r->ptr || !r->w || !r->c || !r->len) {
        runs_free(r);
        return LT_ERR_NOMEM;
    }
    size_t j = 0;
    r->ptr[0] = 0;
    for (size_t d = d0; d < d1; d++) {
        for (size_t i = c->doc_ptr[d]; i < c->doc_ptr[d + 1]; i++) {
            if (i == c->doc_ptr[d] || c->tokens[i] != c->tokens[i - 1]) {
                r->w[j] = c->tokens[i];
                r->c[j++] = 0.0;
            }
            r->c[j - 1] += 1.0;
        }
        r->ptr[d - d0 + 1] = j;
        r->len[d - d0] = (double)(c->doc_ptr[d + 1] - c->doc_ptr[d]);
        r->n_tokens += c->doc_ptr[d + 1] - c->doc_ptr[d];
    }
    return LT_OK;
}

/* A view of documents [b, b + n) of a runs set. */
typedef struct vb_docs {
    size_t n;
    const size_t *ptr; /* n + 1 entries; ptr[0] need not be 0 */
    const int32_t *w;
    const double *c;
    const double *len;
} vb_docs;

static vb_docs runs_view(const vb_runs *r, size_t b, size_t n)
{
    vb_docs v = {n, r->ptr + b, r->w, r->c, r->len + b};
    return v;
}

/* ------------------------------------------------------------ topics */

typedef struct vb_model {
    size_t k, v;
    double *alpha, asum, lg_alpha; /* lg_alpha = sum_k lgamma(alpha_k) */
    double *beta, bsum, lg_beta;   /* lg_beta = sum_w lgamma(beta_w) */
    double *lambda;                /* k x v */
    double *elog;                  /* k x v: Elog phi; scratch for statistics */
    double *eb;                    /* v x k: exp(Elog phi_kw - shift_w) */
    double *shift;                 /* v: max_k Elog phi_kw */
    double *lb_k;                  /* k: topic terms of the bound */
    double lbound;                 /* their sum */
    size_t estep_iter;
    double estep_tol;
    int threads;
    double *tmp; /* threads x 3k: per-thread scratch of the E-step */
} vb_model;

static void model_free(vb_model *M)
{
    free(M->alpha);
    free(M->beta);
    free(M->lambda);
    free(M->elog);
    free(M->eb);
    free(M->shift);
    free(M->lb_k);
    free(M->tmp);
    memset(M, 0, sizeof *M);
}

static lt_status model_alloc(vb_model *M, size_t k, size_t v, int threads)
{
    memset(M, 0, sizeof *M);
    int ok = 1;
    size_t kv = lt_mul_size(k, v, &ok);
    if (!ok) return lt_fail(LT_ERR_INVALID, "an LDA model of %zu topics x %zu words is too large", k, v);
    M->k = k;
    M->v = v;
    M->threads = lt_threads(threads);
    M->alpha = lt_malloc(k, sizeof(double));
    M->beta = lt_malloc(v, sizeof(double));
    M->lambda = lt_malloc(kv, sizeof(double));
    M->elog = lt_malloc(kv, sizeof(double));
    M->eb = lt_malloc(kv, sizeof(double));
    M->shift = lt_malloc(v, sizeof(double));
    M->lb_k = lt_malloc(k, sizeof(double));
    M->tmp = lt_malloc((size_t)M->threads * 4, k * sizeof(double));
    if (!M->alpha || !M->beta || !M->lambda || !M->elog || !M->eb || !M->shift || !M->lb_k || !M->tmp) {
        model_free(M);
        return LT_ERR_NOMEM;
    }
    return LT_OK;
}

static void set_alpha_sums(vb_model *M)
{
    M->asum = 0.0;
    M->lg_alpha = 0.0;
    for (size_t k = 0; k < M->k; k++) {
        M->asum += M->alpha[k];
        M->lg_alpha += lda_lgamma(M->alpha[k]);
    }
}

static void set_beta_sums(vb_model *M)
{
    M->bsum = 0.0;
    M->lg_beta = 0.0;
    for (size_t w = 0; w < M->v; w++) {
        M->bsum += M->beta[w];
        M->lg_beta += lda_lgamma(M->beta[w]);
    }
}

/* From lambda: Elog phi, the scaled exp(Elog phi) (word-major) and the
 * topic terms of the bound. */
static void prepare_topics(vb_model *M)
{
    size_t K = M->k, V = M->v;
#pragma omp parallel for num_threads(M->threads) schedule(dynamic, 1)
    for (size_t k = 0; k < K; k++) {
        const double *lam = M->lambda + k * V;
        double *el = M->elog + k * V;
        double s = 0.0;
        for (size_t w = 0; w < V; w++)
            s += lam[w];
        double ps = lda_digamma(s), b = 0.0;
        for (size_t w = 0; w < V; w++) {
            el[w] = lda_digamma(lam[w]) - ps;
            b += (M->beta[w] - lam[w]) * el[w] + lda_lgamma(lam[w]);
        }
        M->lb_k[k] = b - M->lg_beta + lda_lgamma(M->bsum) - lda_lgamma(s);
    }
    M->lbound = 0.0;
    for (size_t k = 0; k < K; k++)
        M->lbound += M->lb_k[k];
    size_t nb = lt_block_count(V, 1024, 256);
#pragma omp parallel for num_threads(M->threads) schedule(dynamic, 1)
    for (size_t b = 0; b < nb; b++) {
        size_t w1 = lt_block_begin(V, nb, b + 1);
        for (size_t w = lt_block_begin(V, nb, b); w < w1; w++) {
            double mx = -INFINITY;
            for (size_t k = 0; k < K; k++)
                if (M->elog[k * V + w] > mx) mx = M->elog[k * V + w];
            M->shift[w] = mx;
            for (size_t k = 0; k < K; k++)
                M->eb[w * K + k] = exp(M->elog[k * V + w] - mx);
        }
    }
}

/* Elog theta of Dir(g) into el, exp(el - max) into et; returns the max. */
static double dir_expect(const double *g, size_t K, double *el, double *et)
{
    double s = 0.0;
    for (size_t k = 0; k < K; k++)
        s += g[k];
    double ps = lda_digamma(s), mx = -INFINITY;
    for (size_t k = 0; k < K; k++) {
        el[k] = lda_digamma(g[k]) - ps;
        if (el[k] > mx) mx = el[k];
    }
    for (size_t k = 0; k < K; k++)
        et[k] = exp(el[k] - mx);
    return mx;
}

static inline double word_norm(const double *et, const double *ebw, size_t K)
{
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (size_t k = 0; k < K; k++)
        s += et[k] * ebw[k];
    return s > DBL_MIN ? s : DBL_MIN;
}

/* The E-step of one document: gamma (k, in: the start, out: the result),
 * and when r is not NULL, its scaled exp(Elog theta) into et_out (k) and
 * n_dw / norm_dw into r (one per distinct word); returns the document's
 * terms of the bound. tmp: 3k doubles. */
static double estep_doc(const vb_model *M, const int32_t *w, const double *c, size_t nu, double len, double *g,
                        double *et_out, double *r, double *tmp, size_t max_iter)
{
    size_t K = M->k;
    double *acc = tmp, *el = tmp + K, *et = tmp + 2 * K;
    if (nu == 0) { /* no evidence: q(theta) is the prior, and its terms of L vanish */
        memcpy(g, M->alpha, K * sizeof *g);
        if (et_out) dir_expect(g, K, el, et_out);
        return 0.0;
    }
    double sh = dir_expect(g, K, el, et);
    for (size_t it = 0; it < max_iter; it++) {
        memset(acc, 0, K * sizeof *acc);
        for (size_t j = 0; j < nu; j++) {
            const double *ebw = M->eb + (size_t)w[j] * K;
            double q = c[j] / word_norm(et, ebw, K);
#pragma omp simd
            for (size_t k = 0; k < K; k++)
                acc[k] += q * ebw[k];
        }
        double change = 0.0;
        for (size_t k = 0; k < K; k++) {
            double ng = M->alpha[k] + et[k] * acc[k];
            change += fabs(ng - g[k]);
            g[k] = ng;
        }
        sh = dir_expect(g, K, el, et);
        if (change / (double)K < M->estep_tol) break;
    }
    double ll = len * sh, gs = 0.0;
    for (size_t j = 0; j < nu; j++) {
        double nrm = word_norm(et, M->eb + (size_t)w[j] * K, K);
        if (r) r[j] = c[j] / nrm;
        ll += c[j] * (log(nrm) + M->shift[w[j]]);
    }
    for (size_t k = 0; k < K; k++) {
        ll += (M->alpha[k] - g[k]) * el[k] + lda_lgamma(g[k]);
        gs += g[k];
    }
    ll += lda_lgamma(M->asum) - M->lg_alpha - lda_lgamma(gs);
    if (et_out) memcpy(et_out, et, K * sizeof *et);
    return ll;
}

/* Initial gamma of a document: alpha_k + N_d / K (as lda-c starts). */
static void gamma_init(const vb_model *M, double len, double *g)
{
    for (size_t k = 0; k < M->k; k++)
        g[k] = M->alpha[k] + len / (double)M->k;
}

/* The E-step over documents: gamma (n x k), et (n x k) and r (one per run
 * of the view, indexed from ptr[0]) when statistics are wanted (both NULL
 * otherwise), and each document's bound terms into docb. Each document
 * starts from gamma_init; with `warm` it also runs from its gamma of the
 * last E-step and keeps whichever result has the higher bound, so the bound
 * cannot decrease from one batch iteration to the next, while a document is
 * never held to the topics it took when the topics were still noise (warm
 * starts alone end far lower on corpora with alpha < 1, where a document's
 * own problem has several optima; lda-c, gensim and scikit-learn restart
 * every E-step). */
static void estep(const vb_model *M, const vb_docs *D, int warm, double *gamma, double *et, double *r, double *docb)
{
    size_t K = M->k, nb = lt_block_count(D->n, 16, 4096), base = D->ptr[0];
#pragma omp parallel for num_threads(M->threads) schedule(dynamic, 1)
    for (size_t b = 0; b < nb; b++) {
        double *tmp = M->tmp + (size_t)omp_get_thread_num() * 4 * K, *gw = tmp + 3 * K;
        size_t d1 = lt_block_begin(D->n, nb, b + 1);
        for (size_t d = lt_block_begin(D->n, nb, b); d < d1; d++) {
            size_t j0 = D->ptr[d], j1 = D->ptr[d + 1];
            const int32_t *w = D->w + j0;
            const double *c = D->c + j0;
            double *g = gamma + d * K, lw = -INFINITY;
            if (warm) {
                memcpy(gw, g, K * sizeof *gw);
                lw = estep_doc(M, w, c, j1 - j0, D->len[d], gw, NULL, NULL, tmp, M->estep_iter);
            }
            gamma_init(M, D->len[d], g);
            double lf = estep_doc(M, w, c, j1 - j0, D->len[d], g, NULL, NULL, tmp, M->estep_iter);
            if (lw > lf) memcpy(g, gw, K * sizeof *gw);
            /* The statistics of the one kept (no further iterations). */
            docb[d] = et || r ? estep_doc(M, w, c, j1 - j0, D->len[d], g, et ? et + d * K : NULL,
                                          r ? r + (j0 - base) : NULL, tmp, 0)
                              : (lw > lf ? lw : lf);
        }
    }
}

/* Sufficient statistics S_kw = sum_d et_dk r_dw (k x v into M->elog), each
 * entry summed over the documents in order. */
static void reduce_stats(vb_model *M, const vb_docs *D, const double *et, const double *r)
{
    size_t K = M->k, V = M->v, base = D->ptr[0];
#pragma omp parallel for num_threads(M->threads) schedule(dynamic, 1)
    for (size_t k = 0; k < K; k++) {
        double *row = M->elog + k * V;
        memset(row, 0, V * sizeof *row);
        for (size_t d = 0; d < D->n; d++) {
            double e = et[d * K + k];
            for (size_t j = D->ptr[d]; j < D->ptr[d + 1]; j++)
                row[D->w[j]] += e * r[j - base];
        }
    }
}

/* lambda = (1 - rho) lambda + rho (beta + scale S .* exp(Elog phi)); rho = 1
 * is the batch update. */
static void update_lambda(vb_model *M, double rho, double scale)
{
    size_t K = M->k, V = M->v;
#pragma omp parallel for num_threads(M->threads) schedule(static)
    for (size_t k = 0; k < K; k++) {
        double *lam = M->lambda + k * V;
        const double *S = M->elog + k * V;
        for (size_t w = 0; w < V; w++) {
            double target = M->beta[w] + scale * S[w] * M->eb[w * K + k];
            lam[w] = rho == 1.0 ? target : (1.0 - rho) * lam[w] + rho * target;
        }
    }
}

/* ------------------------------------------------------------ alpha */

/* The terms of L that depend on alpha, for n documents whose Elog theta
 * sum to s: n (lgamma(sum alpha) - sum_k lgamma(alpha_k)) + sum_k (alpha_k - 1) s_k. */
static double alpha_objective(const double *a, size_t K, double n, const double *s)
{
    double as = 0.0, f = 0.0;
    for (size_t k = 0; k < K; k++) {
        as += a[k];
        f += -n * lda_lgamma(a[k]) + (a[k] - 1.0) * s[k];
    }
    return f + n * lda_lgamma(as);
}

/* Newton steps for alpha (Minka 2000, "Estimating a Dirichlet
 * distribution": the Hessian is diagonal plus a constant, inverted in
 * linear time; symmetric: one shared value), each scaled by rho and halved
 * while it would leave alpha non-positive or, with `ascent`, lower the
 * objective (so the bound cannot decrease). One step per iteration, as
 * Hoffman's code and gensim take: the full maximum given the first,
 * still-noisy gammas is far off (alpha in the hundreds for a corpus drawn
 * with 0.3), and a step at a time lets the topics form first. */
static void alpha_newton(double *alpha, size_t K, double n, const double *s, int symmetric, size_t steps, double rho,
                         int ascent, double *work /* 2k */)
{
    if (!(n > 0)) return;
    double *step = work, *cand = work + K;
    double ssum = 0.0;
    for (size_t k = 0; k < K; k++)
        ssum += s[k];
    for (size_t it = 0; it < steps; it++) {
        double as = 0.0;
        for (size_t k = 0; k < K; k++)
            as += alpha[k];
        if (symmetric) {
            double x = alpha[0], dk = (double)K;
            double g = n * dk * (lda_digamma(dk * x) - lda_digamma(x)) + ssum;
            double h = n * (dk * dk * lda_trigamma(dk * x) - dk * lda_trigamma(x));
            if (!(h < 0) || !isfinite(g)) return;
            for (size_t k = 0; k < K; k++)
                step[k] = -g / h;
        } else {
            /* H = diag(q) + c 1 1^T: the Newton step -H^-1 g in linear time. */
            double c = n * lda_trigamma(as), psum = lda_digamma(as), sq = 0.0, sgq = 0.0;
            for (size_t k = 0; k < K; k++) {
                double q = -n * lda_trigamma(alpha[k]), g = n * (psum - lda_digamma(alpha[k])) + s[k];
                step[k] = g;
                sq += 1.0 / q;
                sgq += g / q;
            }
            double b = sgq / (1.0 / c + sq);
            for (size_t k = 0; k < K; k++) {
                step[k] = (step[k] - b) / (n * lda_trigamma(alpha[k]));
                if (!isfinite(step[k])) return;
            }
        }
        double f0 = ascent ? alpha_objective(alpha, K, n, s) : 0.0, t = rho;
        int accepted = 0;
        for (int halve = 0; halve < 60 && !accepted; halve++, t *= 0.5) {
            int pos = 1;
            for (size_t k = 0; k < K; k++) {
                cand[k] = alpha[k] + t * step[k];
                if (!(cand[k] > 0) || !isfinite(cand[k])) pos = 0;
            }
            accepted = pos && (!ascent || alpha_objective(cand, K, n, s) >= f0);
        }
        if (!accepted) return;
        double rel = 0.0;
        for (size_t k = 0; k < K; k++) {
            rel = fmax(rel, fabs(cand[k] - alpha[k]) / alpha[k]);
            alpha[k] = cand[k];
        }
        if (rel < 1e-12) return;
    }
}

/* sum over documents of Elog theta_d, in document order. */
static void elog_theta_sum(const vb_model *M, const double *gamma, size_t n, double *s)
{
    size_t K = M->k;
    memset(s, 0, K * sizeof *s);
    for (size_t d = 0; d < n; d++) {
        const double *g = gamma + d * K;
        double gs = 0.0;
        for (size_t k = 0; k < K; k++)
            gs += g[k];
        double pg = lda_digamma(gs);
        for (size_t k = 0; k < K; k++)
            s[k] += lda_digamma(g[k]) - pg;
    }
}

/* One Newton step of alpha from the documents' gammas: rho = 1 (batch) an
 * ascent step on the bound, rho < 1 (online) scaled as gensim does. */
static void optimize_alpha(vb_model *M, int mode, const double *gamma, size_t n, double rho)
{
    double *s = M->tmp, *work = M->tmp + M->k; /* 3k: s, then 2k of work */
    elog_theta_sum(M, gamma, n, s);
    alpha_newton(M->alpha, M->k, (double)n, s, mode == 1, 1, rho, rho == 1.0, work);
    if (mode == 1)
        for (size_t k = 1; k < M->k; k++)
            M->alpha[k] = M->alpha[0];
    set_alpha_sums(M);
}

/* ------------------------------------------------------------ fitting */

static lt_status check_options(const lt_lda_options *o, double *alpha, double *beta)
{
    if (o->k < 1) return lt_fail(LT_ERR_INVALID, "LDA needs at least one topic (k = 0)");
    if (o->algo != LT_LDA_VB && o->algo != LT_LDA_ONLINE_VB)
        return lt_fail(LT_ERR_INVALID, "variational Bayes fits algo 'vb' or 'online-vb', not '%s'",
                       lt_lda_algo_name(o->algo));
    *alpha = o->alpha == 0 ? 5.0 / (double)o->k : o->alpha;
    *beta = o->beta == 0 ? 0.01 : o->beta;
    if (!(*alpha > 0) || !isfinite(*alpha)) return lt_fail(LT_ERR_INVALID, "alpha must be positive (got %g)", o->alpha);
    if (!(*beta > 0) || !isfinite(*beta)) return lt_fail(LT_ERR_INVALID, "beta must be positive (got %g)", o->beta);
    if (o->optimize_alpha < 0 || o->optimize_alpha > 2)
        return lt_fail(LT_ERR_INVALID, "optimize_alpha must be 0 (no), 1 (symmetric) or 2 (asymmetric), not %d",
                       o->optimize_alpha);
    if (o->optimize_beta)
        return lt_fail(LT_ERR_UNSUPPORTED, "optimizing beta is supported by Gibbs sampling only, not by '%s'",
                       lt_lda_algo_name(o->algo));
    if (!(o->tol >= 0)) return lt_fail(LT_ERR_INVALID, "tol must be >= 0 (got %g)", o->tol);
    if (!(o->estep_tol >= 0)) return lt_fail(LT_ERR_INVALID, "estep_tol must be >= 0 (got %g)", o->estep_tol);
    if (o->algo == LT_LDA_ONLINE_VB) {
        if (o->batch_size < 1) return lt_fail(LT_ERR_INVALID, "online VB needs batch_size >= 1");
        if (!(o->tau0 >= 0) || !isfinite(o->tau0))
            return lt_fail(LT_ERR_INVALID, "tau0 must be >= 0 (got %g)", o->tau0);
        if (!(o->kappa >= 0.0 && o->kappa <= 1.0))
            return lt_fail(LT_ERR_INVALID, "kappa must be in [0, 1] (got %g; (0.5, 1] guarantees convergence)",
                           o->kappa);
    }
    return LT_OK;
}

static lt_status model_setup(vb_model *M, const lt_lda_options *o, size_t v, const double *lambda0)
{
    double alpha = 0.0, beta = 0.0;
    LT_CHECK(check_options(o, &alpha, &beta));
    if (v < 1) return lt_fail(LT_ERR_INVALID, "the corpus has an empty vocabulary");
    LT_CHECK(model_alloc(M, o->k, v, o->threads));
    for (size_t k = 0; k < M->k; k++)
        M->alpha[k] = alpha;
    for (size_t w = 0; w < v; w++)
        M->beta[w] = beta;
    set_alpha_sums(M);
    set_beta_sums(M);
    M->estep_iter = o->estep_iter;
    M->estep_tol = o->estep_tol;
    size_t kv = M->k * v;
    if (lambda0) {
        for (size_t i = 0; i < kv; i++)
            if (!(lambda0[i] > 0) || !isfinite(lambda0[i])) {
                model_free(M);
                return lt_fail(LT_ERR_INVALID, "initial lambda[%zu][%zu] = %g is not a positive number", i / v, i % v,
                               lambda0[i]);
            }
        memcpy(M->lambda, lambda0, kv * sizeof *M->lambda);
    } else {
        /* As scikit-learn starts: gamma(100, 1/100) draws, topic by topic. */
        lt_rng rng;
        lt_rng_seed(&rng, o->seed);
        for (size_t i = 0; i < kv; i++)
            M->lambda[i] = lt_rng_gamma(&rng, 100.0) / 100.0;
    }
    prepare_topics(M);
    return LT_OK;
}

static lt_status model_out(const vb_model *M, const lt_lda_options *o, size_t n_iter, size_t n_docs, size_t n_tokens,
                           double bound, char *const *vocab, lt_lda **out)
{
    lt_lda *m = NULL;
    LT_CHECK(lt_lda_create(M->k, M->v, M->alpha[0], M->beta[0], &m));
    memcpy(m->alpha, M->alpha, M->k * sizeof *m->alpha);
    memcpy(m->beta, M->beta, M->v * sizeof *m->beta);
    for (size_t k = 0; k < M->k; k++)
        for (size_t w = 0; w < M->v; w++) {
            double x = M->lambda[k * M->v + w] - M->beta[w];
            m->nkw[k * M->v + w] = x > 0 ? x : 0.0;
        }
    lt_lda_update_totals(m);
    if (vocab) {
        lt_status st = lt_lda_set_vocab(m, vocab);
        if (st != LT_OK) {
            lt_lda_free(m);
            return st;
        }
    }
    m->algo = o->algo;
    m->n_iter = n_iter;
    m->n_docs = n_docs;
    m->n_tokens = n_tokens;
    m->log_likelihood = n_tokens ? bound / (double)n_tokens : 0.0;
    m->seed = o->seed;
    *out = m;
    return LT_OK;
}

static double sum_in_order(const double *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += x[i];
    return s;
}

/* Per-run buffers of an E-step: gamma, et (n x k), r (nnz), docb (n). */
typedef struct vb_buf {
    double *gamma, *et, *r, *docb;
    size_t n_cap, nnz_cap;
} vb_buf;

static void buf_free(vb_buf *b)
{
    free(b->gamma);
    free(b->et);
    free(b->r);
    free(b->docb);
    memset(b, 0, sizeof *b);
}

static lt_status buf_reserve(vb_buf *b, size_t k, size_t n, size_t nnz)
{
    if (n > b->n_cap) {
        free(b->gamma);
        free(b->et);
        free(b->docb);
        b->gamma = lt_malloc(n, k * sizeof(double));
        b->et = lt_malloc(n, k * sizeof(double));
        b->docb = lt_malloc(n, sizeof(double));
        b->n_cap = n;
        if (!b->gamma || !b->et || !b->docb) {
            buf_free(b);
            return LT_ERR_NOMEM;
        }
    }
    if (nnz > b->nnz_cap || !b->r) {
        free(b->r);
        b->r = lt_malloc(nnz ? nnz : 1, sizeof(double));
        b->nnz_cap = nnz;
        if (!b->r) {
            buf_free(b);
            return LT_ERR_NOMEM;
        }
    }
    return LT_OK;
}

static int small_change(double prev, double cur, double tol)
{
    return fabs(cur - prev) < tol * fabs(cur);
}

/* Batch VB. Iteration t: E-step (gamma warm from t - 1), bound L_t, stop if
 * it changed by less than tol relative to the last; else M-step and alpha.
 * After max_iter M-steps a last E-step gives the bound of the final topics. */
static lt_status fit_batch(vb_model *M, const lt_lda_options *o, const vb_runs *R, size_t *n_iter, double *bound)
{
    vb_buf B = {0};
    LT_CHECK(buf_reserve(&B, M->k, R->n, R->ptr[R->n]));
    vb_docs D = runs_view(R, 0, R->n);
    double prev = 0.0, L = 0.0;
    size_t it = 0;
    int done = 0;
    for (;;) {
        estep(M, &D, it > 0, B.gamma, B.et, B.r, B.docb);
        L = sum_in_order(B.docb, R->n) + M->lbound;
        if (o->progress) o->progress(o->progress_ud, "vb", it, o->max_iter, L / (double)R->n_tokens);
        if (!isfinite(L)) {
            buf_free(&B);
            return lt_fail(LT_ERR_NUMERIC, "variational Bayes broke down at iteration %zu (the bound is %g)", it, L);
        }
        if ((it > 0 && small_change(prev, L, o->tol)) || it == o->max_iter) done = 1;
        if (done) break;
        prev = L;
        reduce_stats(M, &D, B.et, B.r);
        update_lambda(M, 1.0, 1.0);
        if (o->optimize_alpha) optimize_alpha(M, o->optimize_alpha, B.gamma, R->n, 1.0);
        prepare_topics(M);
        it++;
    }
    buf_free(&B);
    *n_iter = it;
    *bound = L;
    return LT_OK;
}

/* One online step on a mini-batch of a corpus of d_total documents. */
static lt_status online_step(vb_model *M, const lt_lda_options *o, const vb_docs *D, size_t d_total, size_t t,
                             vb_buf *B, double *docsum)
{
    LT_CHECK(buf_reserve(B, M->k, D->n, D->ptr[D->n] - D->ptr[0]));
    estep(M, D, 0, B->gamma, B->et, B->r, B->docb);
    for (size_t d = 0; d < D->n; d++)
        *docsum += B->docb[d];
    reduce_stats(M, D, B->et, B->r);
    double rho = pow(o->tau0 + (double)t, -o->kappa);
    update_lambda(M, rho, (double)d_total / (double)D->n);
    if (o->optimize_alpha) optimize_alpha(M, o->optimize_alpha, B->gamma, D->n, rho);
    prepare_topics(M);
    return LT_OK;
}

/* The bound of the current topics over documents (an E-step from the
 * initial gamma, no statistics). */
static lt_status final_bound_docs(vb_model *M, const vb_docs *D, vb_buf *B, double *sum)
{
    LT_CHECK(buf_reserve(B, M->k, D->n, 0));
    estep(M, D, 0, B->gamma, NULL, NULL, B->docb);
    for (size_t d = 0; d < D->n; d++) /* one at a time: a stream adds them in the same order */
        *sum += B->docb[d];
    return LT_OK;
}

/* Online VB over an in-memory corpus: max_iter passes of consecutive
 * mini-batches; a pass whose running bound estimate (each batch's document
 * terms under the topics of the moment, plus the topic terms at the end of
 * the pass) changes by less than tol stops; then the exact bound of the
 * final topics. */
static lt_status fit_online(vb_model *M, const lt_lda_options *o, const vb_runs *R, size_t *n_iter, double *bound)
{
    vb_buf B = {0};
    lt_status st = LT_OK;
    size_t t = 1, pass = 0, bs = o->batch_size;
    double prev = 0.0;
    for (pass = 0; pass < o->max_iter; pass++) {
        double docsum = 0.0;
        for (size_t b0 = 0; b0 < R->n; b0 += bs) {
            size_t n = R->n - b0 < bs ? R->n - b0 : bs;
            vb_docs D = runs_view(R, b0, n);
            if ((st = online_step(M, o, &D, R->n, t++, &B, &docsum)) != LT_OK) goto done;
        }
        double est = (docsum + M->lbound) / (double)R->n_tokens;
        if (o->progress) o->progress(o->progress_ud, "online-vb", pass + 1, o->max_iter, est);
        if (!isfinite(est)) {
            st = lt_fail(LT_ERR_NUMERIC, "online variational Bayes broke down in pass %zu (the bound is %g)", pass + 1,
                         est);
            goto done;
        }
        if (pass > 0 && small_change(prev, est, o->tol)) {
            pass++;
            break;
        }
        prev = est;
    }
    double docsum = 0.0;
    vb_docs D = runs_view(R, 0, R->n);
    if ((st = final_bound_docs(M, &D, &B, &docsum)) != LT_OK) goto done;
    *bound = docsum + M->lbound;
    *n_iter = pass;
done:
    buf_free(&B);
    return st;
}

lt_status lda_vb_fit_from(const lt_lda_options *o, const lt_corpus *c, const double *lambda0, lt_lda **out)
{
    *out = NULL;
    LT_CHECK(lda_check_corpus(c, c ? c->n_vocab : 0, "the training corpus"));
    if (c->n_tokens == 0) return lt_fail(LT_ERR_INVALID, "the training corpus has no tokens");
    vb_model M;
    LT_CHECK(model_setup(&M, o, c->n_vocab, lambda0));
    vb_runs R;
    lt_status st = runs_build(c, 0, c->n_docs, &R);
    if (st != LT_OK) {
        model_free(&M);
        return st;
    }
    int blas = lt_blas_single_begin();
    size_t n_iter = 0;
    double bound = 0.0;
    st = o->algo == LT_LDA_VB ? fit_batch(&M, o, &R, &n_iter, &bound) : fit_online(&M, o, &R, &n_iter, &bound);
    lt_blas_single_end(blas);
    if (st == LT_OK) st = model_out(&M, o, n_iter, c->n_docs, c->n_tokens, bound, c->vocab, out);
    runs_free(&R);
    model_free(&M);
    return st;
}

lt_status lda_vb_fit(const lt_lda_options *o, const lt_corpus *c, lt_lda **out)
{
    return lda_vb_fit_from(o, c, NULL, out);
}

/* ------------------------------------------------------------ streams */

/* The next batch of the stream as runs (*got = 0 at the end). */
static lt_status stream_batch(lt_docword_stream *s, size_t bs, size_t v, vb_runs *R, int *got)
{
    lt_corpus *c = NULL;
    *got = 0;
    LT_CHECK(lt_docword_stream_next(s, bs, &c));
    if (!c) return LT_OK;
    lt_status st = lda_check_corpus(c, v, "docword stream");
    if (st == LT_OK && c->n_docs > 0 && (st = runs_build(c, 0, c->n_docs, R)) == LT_OK) *got = 1;
    lt_corpus_free(c);
    return st;
}

lt_status lt_lda_fit_stream(const lt_lda_options *o, lt_docword_stream *s, lt_lda **out)
{
    *out = NULL;
    if (!s) return lt_fail(LT_ERR_INVALID, "no docword stream");
    if (o->algo != LT_LDA_ONLINE_VB)
        return lt_fail(LT_ERR_INVALID, "a docword stream is fitted by online VB only (algo 'online-vb', not '%s')",
                       lt_lda_algo_name(o->algo));
    size_t d_total = lt_docword_stream_docs(s), v = lt_docword_stream_vocab(s);
    if (d_total == 0) return lt_fail(LT_ERR_INVALID, "the docword stream has no documents");
    vb_model M;
    LT_CHECK(model_setup(&M, o, v, NULL));
    vb_buf B = {0};
    vb_runs R = {0};
    lt_status st = LT_OK;
    int blas = lt_blas_single_begin(), got = 0;
    size_t t = 1, pass, n_tokens = 0, n_docs = 0;
    double prev = 0.0, bound = 0.0;
    for (pass = 0; pass < o->max_iter; pass++) {
        double docsum = 0.0;
        size_t toks = 0, docs = 0;
        if ((st = lt_docword_stream_rewind(s)) != LT_OK) goto done;
        for (;;) {
            if ((st = stream_batch(s, o->batch_size, v, &R, &got)) != LT_OK) goto done;
            if (!got) break;
            vb_docs D = runs_view(&R, 0, R.n);
            toks += R.n_tokens;
            docs += R.n;
            st = online_step(&M, o, &D, d_total, t++, &B, &docsum);
            runs_free(&R);
            if (st != LT_OK) goto done;
        }
        n_tokens = toks;
        n_docs = docs;
        if (n_tokens == 0) {
            st = lt_fail(LT_ERR_INVALID, "the docword stream has no tokens");
            goto done;
        }
        double est = (docsum + M.lbound) / (double)n_tokens;
        if (o->progress) o->progress(o->progress_ud, "online-vb", pass + 1, o->max_iter, est);
        if (!isfinite(est)) {
            st = lt_fail(LT_ERR_NUMERIC, "online variational Bayes broke down in pass %zu (the bound is %g)", pass + 1,
                         est);
            goto done;
        }
        if (pass > 0 && small_change(prev, est, o->tol)) {
            pass++;
            break;
        }
        prev = est;
    }
    /* The exact bound of the final topics: one more pass, no updates. */
    double docsum = 0.0;
    size_t toks = 0, docs = 0;
    if ((st = lt_docword_stream_rewind(s)) != LT_OK) goto done;
    for (;;) {
        if ((st = stream_batch(s, o->batch_size, v, &R, &got)) != LT_OK) goto done;
        if (!got) break;
        vb_docs D = runs_view(&R, 0, R.n);
        toks += R.n_tokens;
        docs += R.n;
        st = final_bound_docs(&M, &D, &B, &docsum);
        runs_free(&R);
        if (st != LT_OK) goto done;
    }
    n_tokens = toks;
    n_docs = docs;
    if (n_tokens == 0) {
        st = lt_fail(LT_ERR_INVALID, "the docword stream has no tokens");
        goto done;
    }
    bound = docsum + M.lbound;
    st = model_out(&M, o, pass, n_docs, n_tokens, bound, NULL, out);
done:
    lt_blas_single_end(blas);
    runs_free(&R);
    buf_free(&B);
    model_free(&M);
    return st;
}

/* ------------------------------------------------------------ inference */

lt_status lda_vb_infer(const lt_lda *m, const lt_corpus *c, size_t iters, int threads, double *theta)
{
    LT_CHECK(lda_check_corpus(c, m->v, "the corpus"));
    vb_model M;
    LT_CHECK(model_alloc(&M, m->k, m->v, threads));
    memcpy(M.alpha, m->alpha, m->k * sizeof *M.alpha);
    memcpy(M.beta, m->beta, m->v * sizeof *M.beta);
    set_alpha_sums(&M);
    set_beta_sums(&M);
    for (size_t i = 0; i < m->k * m->v; i++)
        M.lambda[i] = m->nkw[i] + m->beta[i % m->v];
    M.estep_iter = iters ? iters : 100;
    M.estep_tol = 1e-9;
    prepare_topics(&M);
    vb_runs R;
    lt_status st = runs_build(c, 0, c->n_docs, &R);
    double *docb = st == LT_OK ? lt_malloc(c->n_docs ? c->n_docs : 1, sizeof(double)) : NULL;
    if (st == LT_OK && !docb) st = LT_ERR_NOMEM;
    if (st == LT_OK) {
        vb_docs D = runs_view(&R, 0, R.n);
        estep(&M, &D, 0, theta, NULL, NULL, docb);
        for (size_t d = 0; d < c->n_docs; d++) {
            double *g = theta + d * m->k, s = sum_in_order(g, m->k);
            for (size_t k = 0; k < m->k; k++)
                g[k] /= s;
        }
    }
    free(docb);
    runs_free(&R);
    model_free(&M);
    return st;
}
