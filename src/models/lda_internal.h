/* Internal to the LDA family (not installed): what lda_gibbs.c, lda_vb.c,
 * lda_eval.c and lda_io.c share.
 *
 *   - special functions for positive arguments (thread-safe, unlike the C
 *     library's lgamma, which writes the global signgam);
 *   - the corpus check every entry point runs;
 *   - Minka's fixed points for Dirichlet hyperparameters (Gibbs: from
 *     histograms of integer counts, as Mallet does; VB: from mean log
 *     proportions);
 *   - per-document random streams that do not depend on the thread count;
 *   - the variational entry points lt_lda_fit / lt_lda_infer dispatch to;
 *   - the Gibbs sampler's step-by-step route, for tests and benchmarks.
 */
#ifndef LT_LDA_INTERNAL_H
#define LT_LDA_INTERNAL_H

#include "latent/lda.h"
#include "latent/rng.h"

#include <stdint.h>

/* ---- special functions (x > 0) ------------------------------------------ */

/* log Gamma(x): recurrence up to x >= 10, then Stirling's series (absolute
 * error below 1e-13). */
double lda_lgamma(double x);
/* psi(x) = d/dx log Gamma(x) (error below 1e-13). */
double lda_digamma(double x);
/* psi'(x). */
double lda_trigamma(double x);
/* The y > 0 with psi(y) = x (Newton from Minka's starting point; relative
 * error below 1e-12). */
double lda_digamma_inv(double x);

/* ---- corpus --------------------------------------------------------------- */

/* A corpus a model of v words can read: offsets that start at 0, never go
 * back and end at n_tokens; word ids in [0, v). Fails with LT_ERR_INVALID
 * naming the document and token; `what` names the corpus ("training
 * corpus"). */
lt_status lda_check_corpus(const lt_corpus *c, size_t v, const char *what);

/* ---- Minka's fixed points ------------------------------------------------- */

/* The parameter of a Dirichlet-multinomial (document-topic prior alpha) by
 * maximum likelihood from integer counts summarised as histograms (Minka
 * 2000, "Estimating a Dirichlet distribution", eq. 55; the digamma
 * differences psi(c + a) - psi(a) = sum_{i<c} 1/(a + i) accumulated bin by
 * bin, as in Mallet, Wallach 2008):
 *
 *   alpha_k <- alpha_k * sum_d [psi(n_dk + alpha_k) - psi(alpha_k)]
 *                      / sum_d [psi(n_d + alpha_0) - psi(alpha_0)]
 *
 *   hist, offset  category (topic) j's histogram is hist[offset[j] + c],
 *                 c = 0 .. offset[j+1] - offset[j] - 1: the number of
 *                 groups (documents) in which j has count c (bin 0 is
 *                 ignored). offset has k + 1 entries; a dense k x (m + 1)
 *                 table is offset[j] = j (m + 1).
 *   len_hist      max_len + 1: number of groups of each total size (bin 0
 *                 ignored)
 *   mode          1: symmetric (alpha[] all equal on return), 2: asymmetric
 *   alpha         k entries: the starting point, replaced by the estimate
 *                 (iterations stop at a relative change below 1e-10 or after
 *                 max_iter; alpha is kept at 1e-10 or above)
 * With no non-empty group alpha is left as it is. Thread-safe. */
lt_status lda_minka_alpha(size_t k, const uint64_t *hist, const size_t *offset, const uint64_t *len_hist,
                          size_t max_len, int mode, size_t max_iter, double *alpha);

/* A symmetric Dirichlet of dimension v (the topic-word prior beta) from
 * integer counts: count_hist[c] (c <= max_count) is the number of (group,
 * category) pairs (topic, word) with count c (bin 0 ignored), big[0..n_big)
 * the counts above max_count, one entry each (summed in the order given:
 * pass them sorted for a result that does not depend on how they were
 * collected; may be NULL when n_big is 0), sizes[g] the total count of group
 * g (topic sizes n_k, n_groups of them):
 *
 *   beta <- beta * sum_{k,w} [psi(n_kw + beta) - psi(beta)]
 *                / (v * sum_k [psi(n_k + v beta) - psi(v beta)]) */
lt_status lda_minka_beta(size_t v, const uint64_t *count_hist, size_t max_count, const uint64_t *big, size_t n_big,
                         const double *sizes, size_t n_groups, size_t max_iter, double *beta);

/* Dirichlet maximum likelihood from mean log proportions (Minka 2000, the
 * fixed point alpha_k <- psi^-1(psi(alpha_0) + mean_log_p[k]), eq. 9):
 * mean_log_p[k] = average over groups of E[log p_k] (for variational Bayes
 * psi(gamma_dk) - psi(sum_j gamma_dj)). mode 1: symmetric, 2: asymmetric. */
lt_status lda_dirichlet_mle(size_t k, const double *mean_log_p, int mode, size_t max_iter, double *alpha);

/* ---- randomness ----------------------------------------------------------- */

/* The stream of document `doc` under `seed`: a generator seeded by a hash of
 * both, O(1) to make (lt_rng_stream's jumps cost O(doc)), so per-document
 * work gives the same result whatever the thread count. */
void lda_rng_doc(lt_rng *r, uint64_t seed, uint64_t doc);

/* ---- variational Bayes (lda_vb.c) ----------------------------------------- */

lt_status lda_vb_fit(const lt_lda_options *o, const lt_corpus *c, lt_lda **out);
lt_status lda_vb_infer(const lt_lda *m, const lt_corpus *c, size_t iters, int threads, double *theta);
/* lda_vb_fit from a given initial lambda (K x V, the variational Dirichlet
 * parameters of the topics) instead of the seeded gamma(100, 1/100) draws
 * (NULL: those draws). For tests that start where scikit-learn starts. */
lt_status lda_vb_fit_from(const lt_lda_options *o, const lt_corpus *c, const double *lambda0, lt_lda **out);

/* ---- collapsed Gibbs (lda_gibbs.c) ---------------------------------------- */

/* Knobs of the sampler that the public options do not carry. */
typedef struct lda_gibbs_params {
    size_t block_tokens; /* tokens per work block, about (default 32768): fewer blocks, fewer stale counts */
    size_t max_blocks;   /* default 256 */
    int mh_steps;        /* Metropolis-Hastings steps per token per phase, 1..4 (default 2) */
    /* Documents of more tokens draw their proposals ahead with prefetches,
     * words of more tokens from their packed topics (default 512: items
     * that fit in L1 or L2 draw directly from their records). The chain is
     * the same whatever it is. */
    size_t draw_near;
    int check;       /* 1: lda_gibbs_check after every sweep (fit fails on an inconsistency) */
    int infer_exact; /* fold-in: -1 always the O(1) MH sampler, 1 always the exact O(K) sampler, 0 by size */
} lda_gibbs_params;

void lda_gibbs_params_default(lda_gibbs_params *p);

/* lt_lda_fit for algo LT_LDA_GIBBS with these knobs (p may be NULL). */
lt_status lda_gibbs_fit(const lt_lda_options *o, const lt_corpus *c, const lda_gibbs_params *p, lt_lda **out);

/* lt_lda_infer's Gibbs fold-in with these knobs (p may be NULL). */
lt_status lda_gibbs_infer(const lt_lda *m, const lt_corpus *c, size_t iters, uint64_t seed, int threads,
                          const lda_gibbs_params *p, double *theta);

/* The sampler step by step. The corpus is borrowed and must outlive the
 * state. Options are checked as lt_lda_fit checks them (alpha 0 means 5/K,
 * beta 0 means 0.01); the assignments start uniformly at random. */
typedef struct lda_gibbs lda_gibbs;
lt_status lda_gibbs_create(const lt_lda_options *o, const lt_corpus *c, const lda_gibbs_params *p, lda_gibbs **out);
void lda_gibbs_free(lda_gibbs *g);
/* One sweep: every token visited word by word (a proposal from its
 * document), then document by document (a proposal from its word). */
void lda_gibbs_sweep(lda_gibbs *g);
/* Minka's updates of alpha (mode 1 or 2, 0: none) and of the symmetric beta
 * (optimize_beta 1) from the current assignments. */
lt_status lda_gibbs_optimize(lda_gibbs *g, int optimize_alpha, int optimize_beta);
/* log p(w, z | alpha, beta) of the current assignments, nats (total). */
double lda_gibbs_loglik(lda_gibbs *g);
/* Current assignments in corpus order (n_tokens entries). */
void lda_gibbs_assignments(const lda_gibbs *g, int32_t *z);
/* Topic counts the sampler keeps (K entries). */
const int32_t *lda_gibbs_topic_counts(const lda_gibbs *g);
/* Replace the hyperparameters (alpha: K positive entries, beta > 0). */
lt_status lda_gibbs_set_hyper(lda_gibbs *g, const double *alpha, double beta);
/* Current hyperparameters: alpha (K entries) and beta. */
const double *lda_gibbs_alpha(const lda_gibbs *g);
double lda_gibbs_beta(const lda_gibbs *g);
/* Number of work blocks of the word phase and the document phase. */
void lda_gibbs_blocks(const lda_gibbs *g, size_t *word_blocks, size_t *doc_blocks);
/* Consistency of the sampler's tables with its assignments: topics in
 * range, the two token orders inverse permutations of each other with the
 * right words and documents, and the topic counts equal to the histogram of
 * the assignments. LT_ERR_NUMERIC with a message naming the first
 * inconsistency. */
lt_status lda_gibbs_check(const lda_gibbs *g);

#endif
