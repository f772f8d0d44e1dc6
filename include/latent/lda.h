/* latent — latent Dirichlet allocation (topic models).
 *
 *   theta_d ~ Dirichlet(alpha)            topic mixture of document d (K)
 *   phi_k   ~ Dirichlet(beta)             word distribution of topic k (V)
 *   z_di    ~ Categorical(theta_d)        topic of token i of document d
 *   w_di    ~ Categorical(phi_{z_di})     the word
 *
 * (Blei, Ng and Jordan 2003.) Fitted by collapsed Gibbs sampling (Griffiths
 * and Steyvers 2004) with a sampler whose cost per token does not grow with
 * K, by batch variational Bayes (Blei et al. 2003), or by online variational
 * Bayes (Hoffman, Blei and Bach 2010). Hyperparameters may be symmetric or
 * asymmetric and optimised by Minka's fixed point (as Mallet does).
 *
 * Memory: the Gibbs sampler holds the corpus in two orders (by document and
 * by word), each token with its topic and its Metropolis-Hastings proposals
 * for the next phase (WarpLDA's layout): 36 bytes per token at the default
 * two steps per phase (and at one; 68 at three or four), independent of K.
 * Variational Bayes holds the corpus once; online VB can stream it.
 *
 * A fitted model keeps the topic-word statistics `nkw` (K x V): for Gibbs
 * the word-topic counts of the final state (averaged over the kept samples
 * when `n_samples` > 1), for variational Bayes lambda - beta. The topics are
 *     phi_kw = (nkw[k][w] + beta_w) / (nk[k] + sum_w beta_w).
 *
 * Held-out scores are estimates of log p(w_d) per token in nats, by the
 * left-to-right particle estimator of Wallach et al. (2009), or by document
 * completion (the second half of each document given a mixture inferred
 * from the first). Both say which they are. A fitted lt_lda is read-only
 * and may be shared by threads.
 */
#ifndef LATENT_LDA_H
#define LATENT_LDA_H

#include "latent/core.h"
#include "latent/corpus.h"
#include "latent/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lt_lda_algo { LT_LDA_GIBBS = 0, LT_LDA_VB, LT_LDA_ONLINE_VB } lt_lda_algo;

/* "gibbs", "vb", "online-vb" <-> enum. */
const char *lt_lda_algo_name(lt_lda_algo a);
lt_status lt_lda_algo_parse(const char *s, lt_lda_algo *out);

typedef struct lt_lda {
    size_t k, v;
    double *alpha;   /* k */
    double *beta;    /* v (all equal when symmetric) */
    double *nkw;     /* k x v topic-word statistics (see above) */
    double *nk;      /* k: row sums of nkw */
    char **vocab;    /* v strings, or NULL */
    lt_lda_algo algo;
    /* Training summary (zero for a model that was not fitted). */
    size_t n_iter;
    size_t n_docs, n_tokens; /* training corpus */
    double log_likelihood;   /* Gibbs: log p(w, z) per token; VB: the bound per token, at the end */
    uint64_t seed;
} lt_lda;

/* A model with K topics over V words, alpha_k = alpha, beta_w = beta, and
 * zero statistics. Free with lt_lda_free. */
lt_status lt_lda_create(size_t k, size_t v, double alpha, double beta, lt_lda **out);
lt_status lt_lda_copy(const lt_lda *m, lt_lda **out);
void lt_lda_free(lt_lda *m);
/* Recompute nk from nkw. */
void lt_lda_update_totals(lt_lda *m);
/* phi (K x V, caller's buffer), rows sum to 1. */
void lt_lda_topics(const lt_lda *m, double *phi);
/* The n most probable words of topic k, ids in descending probability
 * (ties by id). n is at most V. */
void lt_lda_top_words(const lt_lda *m, size_t topic, size_t n, int32_t *ids);
/* Give the model a copy of this vocabulary (v strings). */
lt_status lt_lda_set_vocab(lt_lda *m, char *const *vocab);

typedef struct lt_lda_options {
    size_t k;              /* topics, >= 1 */
    lt_lda_algo algo;
    double alpha;          /* symmetric prior per topic; 0: 5 / K (Mallet's alpha sum of 5) */
    double beta;           /* symmetric prior per word; 0: 0.01 */
    int optimize_alpha;    /* 0 no, 1 symmetric, 2 asymmetric (Minka's fixed point) */
    int optimize_beta;     /* 0 no, 1 symmetric */
    size_t optimize_interval; /* Gibbs: optimise every this many sweeps after burn_in (default 10) */
    size_t burn_in;        /* Gibbs: sweeps before optimising or averaging (default 50) */
    size_t max_iter;       /* Gibbs sweeps / VB iterations / online passes over the corpus */
    size_t n_samples;      /* Gibbs: final states averaged into nkw (default 1) */
    double tol;            /* VB: relative change of the bound that stops (default 1e-4) */
    size_t estep_iter;     /* VB: per-document iterations at most (default 100) */
    double estep_tol;      /* VB: mean change of gamma that stops a document (default 1e-3) */
    size_t batch_size;     /* online VB: documents per mini-batch (default 256) */
    double tau0, kappa;    /* online VB: learning rate (tau0 + t)^-kappa (defaults 64, 0.7) */
    uint64_t seed;
    int threads;           /* 0: OpenMP's default */
    lt_progress_fn progress; /* may be NULL; value: log-likelihood or bound per token */
    void *progress_ud;
} lt_lda_options;

void lt_lda_options_default(lt_lda_options *o);

/* Fit to a corpus (its vocabulary, when present, is copied into the model).
 * The same seed and thread count give the same model. */
lt_status lt_lda_fit(const lt_lda_options *o, const lt_corpus *c, lt_lda **out);

/* Online VB on a docword stream (corpora larger than memory): o->max_iter
 * passes over the stream. */
lt_status lt_lda_fit_stream(const lt_lda_options *o, lt_docword_stream *s, lt_lda **out);

/* Topic mixtures of documents (n_docs x K, rows sum to 1) by Gibbs fold-in
 * (topics fixed; `iters` sweeps, the mixture averaged over the second half)
 * or by variational Bayes (the posterior mean of theta). An empty document
 * gets alpha / sum(alpha). */
typedef enum lt_lda_infer_method { LT_LDA_INFER_GIBBS = 0, LT_LDA_INFER_VB } lt_lda_infer_method;
lt_status lt_lda_infer(const lt_lda *m, const lt_corpus *c, lt_lda_infer_method method, size_t iters, uint64_t seed,
                       int threads, double *theta);

/* Held-out log-likelihood. */
typedef enum lt_lda_estimator {
    LT_LDA_LEFT_TO_RIGHT = 0, /* Wallach et al. 2009, `particles` particles */
    LT_LDA_COMPLETION         /* document completion: odd tokens inform, even tokens scored */
} lt_lda_estimator;

typedef struct lt_lda_score_options {
    lt_lda_estimator estimator;
    size_t particles; /* left-to-right (default 20) */
    size_t iters;     /* completion: fold-in sweeps (default 50) */
    uint64_t seed;
    int threads;
} lt_lda_score_options;

void lt_lda_score_options_default(lt_lda_score_options *o);

/* log p of each document (n_docs entries, may be NULL; an empty document
 * scores 0) and the summary: nats per token with its standard error over
 * documents, kind LT_SCORE_ESTIMATE, method naming the estimator. */
lt_status lt_lda_score(const lt_lda *m, const lt_corpus *c, const lt_lda_score_options *o, double *logp,
                       lt_score *summary);

/* Exact log p(w) of one document by enumerating all K^N topic assignments
 * with theta and phi integrated/fixed as LDA defines (phi fixed to
 * lt_lda_topics, theta integrated out). For tests; refuses K^N > 1e7. */
lt_status lt_lda_exact_logp(const lt_lda *m, const int32_t *tokens, size_t n, double *logp);

/* Topic coherence on a reference corpus, of each topic's top n words:
 * UMass (Mimno et al. 2011, document co-occurrence, log((D(wi,wj)+1)/D(wj)))
 * and NPMI (Bouma 2009; Röder et al. 2015, document co-occurrence), averaged
 * over word pairs. umass and npmi: K entries each (either may be NULL). */
lt_status lt_lda_coherence(const lt_lda *m, const lt_corpus *ref, size_t top_n, double *umass, double *npmi);

/* Sample n_docs synthetic documents of doc_len tokens (ancestral: theta from
 * Dirichlet(alpha), words from phi). theta (n_docs x K) may be NULL. */
lt_status lt_lda_sample(const lt_lda *m, size_t n_docs, size_t doc_len, uint64_t seed, lt_corpus **out,
                        double *theta);

/* The family of the generic model table (latent/model.h). */
extern const lt_family lt_lda_family;

/* Model files (safetensors; vocabulary and hyper-parameters in the
 * metadata). */
lt_status lt_lda_save(const lt_lda *m, const char *path);
/* Add the model's tensors and metadata to a writer, for callers that add
 * keys of their own before saving (lt_lda_save is this plus the save). */
lt_status lt_lda_write_st(const lt_lda *m, lt_st_writer *w);
lt_status lt_lda_load(const char *path, lt_lda **out);
lt_status lt_lda_from_st(const lt_st_file *f, const char *path, lt_lda **out);

#ifdef __cplusplus
}
#endif

#endif
