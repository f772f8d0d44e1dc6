/* latent — LDA by collapsed Gibbs sampling, O(1) per token.
 *
 * The chain (Griffiths and Steyvers 2004) moves the topic z_i of one token
 * i (word w, document d) at a time, with theta and phi integrated out:
 *
 *   p(z_i = k | rest) ∝ (n_dk + alpha_k) (n_wk + beta) / (n_k + V beta)   (*)
 *
 * counts taken without token i. Computing (*) for every k costs O(K) a token.
 * Instead each token takes Metropolis-Hastings steps with two proposals whose
 * draws cost O(1) and whose acceptance needs only one side of the counts
 * (Yuan et al. 2015, LightLDA; Chen et al. 2016, WarpLDA):
 *
 *   document proposal  q(k) ∝ n_dk + alpha_k   (n_dk counting token i):
 *       with probability n_d / (n_d + sum alpha) the topic of a token of d
 *       drawn uniformly, else a draw from alpha. Acceptance
 *       min(1, (n_wt + beta)(n_s + V beta) / ((n_ws + beta)(n_t + V beta))),
 *       counts without token i: the document counts cancel.
 *   word proposal      q(k) ∝ n_wk + beta: the topic of a uniform token of
 *       word w, else a uniform topic. Acceptance
 *       min(1, (n_dt + alpha_t)(n_s + V beta) / ((n_ds + alpha_s)(n_t + V beta))):
 *       the word counts cancel.
 *
 * Because the proposals read the current topics of other tokens, q(t | s)
 * and q(s | t) differ exactly by the current token's own contribution, which
 * is what makes the ratios above exact: each step leaves (*) invariant, and a
 * sweep leaves the collapsed posterior p(z | w) invariant (a test checks the
 * visited states against it by enumeration).
 *
 * Memory layout (WarpLDA's idea): a sweep has two phases. The word phase
 * visits tokens word by word in a word-major copy of the corpus; the word's
 * topic counts n_w are rebuilt from its tokens in a K-array that stays in L1,
 * so the acceptance of document proposals touches nothing but that array and
 * the K topic totals. The document phase visits tokens document by document;
 * n_d is rebuilt the same way and the word proposals are accepted against it.
 * No V x K or D x K table exists while sampling. Cost per token does not
 * depend on K.
 *
 * Proposals are drawn one phase early, where they are local (WarpLDA's
 * other idea, kept exact): when a document's topics are final for the
 * document phase, each of its tokens draws the uniform tokens of its
 * document that its word-phase steps will propose, and keeps in its own
 * record what the step will need of each: the proposed token's topic, which
 * stays final until the word phase reaches it. Unless the word phase will
 * have visited the proposed token before this one, in the same block (its
 * topic may have moved by then): then the record keeps the proposed token's
 * word-major index, and the step reads its topic where it lives. Which of
 * the two applies depends on positions alone, known at the draw. A word's
 * tokens likewise draw, at the end of the word phase, the tokens of their
 * word for the document phase. The mixture's other half (a topic from
 * alpha, or a uniform topic) is drawn there too, with the hyperparameters of
 * the moment: the document phase's draws are made anew whenever alpha
 * changes before the word phase uses them. Which token or topic is proposed
 * does not depend on the state: the proposals are exactly those above, and
 * a step is a read of its proposal, a uniform and the counts. So per token
 * and phase the only access outside L1/L2 is one gather of its record
 * (topic and proposals, 8 to 20 bytes) from the other order, whatever mh
 * is; a frequent word draws from its topics packed into a scratch array
 * as the word phase samples them (4 bytes a token, not its records).
 *
 * A token's MH steps change no counts but its own, so the counts without
 * it are read once, for all its proposals, and the steps are a chain of
 * products and compares; the token is placed in the counts after the next
 * token has read them (which adds it itself where it matters), so that no
 * read waits on a write whose address the chain has yet to decide.
 *
 * Threads (AD-LDA, Newman et al. 2009, made deterministic): each phase cuts
 * its order into fixed blocks of whole words (documents) of about
 * block_tokens tokens, each with its own random stream; how many blocks there
 * are depends on the corpus alone. A block sees the state at the start of the
 * phase plus its own changes: its own tokens' current topics and topic
 * totals, other blocks' as they were (they are read from the other order's
 * copy, which nobody writes during the phase). The totals' changes are
 * merged after the phase; integer sums do not depend on the order. So the
 * result depends on the seed and the corpus, not on the thread count. With
 * one block (corpora of at most block_tokens tokens, 32768 by default) the
 * chain is exact; with more it is AD-LDA's approximation, whose staleness
 * lasts one phase.
 *
 * Hyperparameters: Minka's fixed point from histograms of the document-topic
 * counts (alpha, symmetric or asymmetric) and of the word-topic counts
 * (symmetric beta), every optimize_interval sweeps after burn_in, as Mallet
 * does (Wallach 2008).
 *
 * Fold-in (lt_lda_infer): topics fixed to phi; per document the same two
 * proposals, the word proposal drawn from a Walker alias table of phi's
 * column for the word (O(1)), accepted on the document counts, and the
 * document proposal accepted on phi_tw / phi_sw. Small K (<= 8), or alias
 * tables that would not fit in 1 GiB, use the exact O(K) conditional instead.
 * Each document has its own stream (seed, document index), so the mixtures
 * do not depend on the thread count.
 */
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE /* madvise(MADV_HUGEPAGE) */
#endif
#include "lda_internal.h"

#include "../core/internal.h"
#include "../core/par.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

/* The phases are latency-bound on one random read per token, the gather of
 * its record from the other order, whose address is known ahead (sequential
 * data): the lines are prefetched 2 PF tokens early. A frequent word's
 * proposals are drawn PF tokens early and prefetched likewise (the same
 * draws, in the same order, as without the pipeline). */
#define PF 16
#define MH_MAX 4 /* Metropolis-Hastings steps per token per phase, at most */

/* The phases' loops are compiled once for each number of MH steps, so that
 * their per-step arrays are unrolled into registers. */
#define LDA_INLINE static inline __attribute__((always_inline))

static inline void prefetch(const void *p)
{
    __builtin_prefetch(p, 0, 3);
}

/* The token arrays are read at random: on 2 MiB pages (where the kernel
 * gives them on request) a random read costs a cache miss but rarely a TLB
 * miss as well. Freed with free(). */
static void *big_alloc(size_t n, size_t size)
{
    int ok = 1;
    size_t bytes = lt_mul_size(n ? n : 1, size, &ok);
    if (!ok) return lt_malloc(n, size); /* records the overflow */
    const size_t huge = (size_t)2 << 20;
    if (bytes < 2 * huge) return lt_malloc(n ? n : 1, size);
    void *p = aligned_alloc(huge, (bytes + huge - 1) / huge * huge);
    if (!p) return lt_malloc(n, size); /* records the failure, or succeeds on ordinary pages */
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    madvise(p, (bytes + huge - 1) / huge * huge, MADV_HUGEPAGE); /* advice: failure changes nothing */
#endif
    return p;
}

/* ---- random numbers ------------------------------------------------------- */

/* xoshiro256**, inlined for the inner loops: the same stream as lt_rng_u64. */
static inline uint64_t rng_next(lt_rng *r)
{
    return lt_rng_u64_inline(r);
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void lda_rng_doc(lt_rng *r, uint64_t seed, uint64_t doc)
{
    uint64_t h = mix64(seed + 0x9e3779b97f4a7c15ULL);
    h = mix64(h ^ (doc * 0xd1b54a32d192ed03ULL + 0x8cb92ba72f3d8dd7ULL));
    lt_rng_seed(r, h);
}

/* ---- special functions ---------------------------------------------------- */

double lda_lgamma(double x)
{
    double p = 1.0;
    while (x < 10.0) {
        p *= x;
        x += 1.0;
    }
    double r = 1.0 / x, r2 = r * r;
    /* Stirling: B_2n / (2n (2n - 1) x^(2n-1)) for n = 1..5 */
    double series = r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 * (1.0 / 1680 - r2 * (1.0 / 1188)))));
    return (x - 0.5) * log(x) - x + 0.918938533204672741780329736 + series - log(p);
}

double lda_digamma(double x)
{
    double acc = 0.0;
    while (x < 10.0) {
        acc -= 1.0 / x;
        x += 1.0;
    }
    double r2 = 1.0 / (x * x);
    double series = r2 * (1.0 / 12 - r2 * (1.0 / 120 - r2 * (1.0 / 252 - r2 * (1.0 / 240 - r2 * (1.0 / 132)))));
    return acc + log(x) - 0.5 / x - series;
}

double lda_trigamma(double x)
{
    double acc = 0.0;
    while (x < 10.0) {
        acc += 1.0 / (x * x);
        x += 1.0;
    }
    double r = 1.0 / x, r2 = r * r;
    double series = r * r2 * (1.0 / 6 - r2 * (1.0 / 30 - r2 * (1.0 / 42 - r2 * (1.0 / 30 - r2 * (5.0 / 66)))));
    return acc + r + 0.5 * r2 + series;
}

double lda_digamma_inv(double y)
{
    /* Minka (2000), appendix C: start, then Newton on psi(x) = y. */
    double x = y >= -2.22 ? exp(y) + 0.5 : -1.0 / (y + 0.5772156649015329);
    for (int it = 0; it < 50; it++) {
        double step = (lda_digamma(x) - y) / lda_trigamma(x);
        double nx = x - step;
        if (!(nx > 0)) nx = 0.5 * x; /* Newton overshot below zero: halve instead */
        if (fabs(nx - x) <= 1e-15 * nx) {
            x = nx;
            break;
        }
        x = nx;
    }
    return x;
}

/* ---- corpus --------------------------------------------------------------- */

lt_status lda_check_corpus(const lt_corpus *c, size_t v, const char *what)
{
    if (!c) return lt_fail(LT_ERR_INVALID, "%s: no corpus given", what);
    if (c->n_docs > 0 && !c->doc_ptr)
        return lt_fail(LT_ERR_INVALID, "%s: %zu documents but no document offsets", what, c->n_docs);
    if (c->n_docs == 0) {
        if (c->n_tokens != 0) return lt_fail(LT_ERR_INVALID, "%s: %zu tokens but no documents", what, c->n_tokens);
        return LT_OK;
    }
    if (c->doc_ptr[0] != 0)
        return lt_fail(LT_ERR_INVALID, "%s: document 0 starts at token %zu instead of 0", what, c->doc_ptr[0]);
    if (c->doc_ptr[c->n_docs] != c->n_tokens)
        return lt_fail(LT_ERR_INVALID, "%s: the documents end at token %zu but the corpus has %zu tokens", what,
                       c->doc_ptr[c->n_docs], c->n_tokens);
    if (c->n_tokens > 0 && !c->tokens)
        return lt_fail(LT_ERR_INVALID, "%s: %zu tokens but no token array", what, c->n_tokens);
    for (size_t d = 0; d < c->n_docs; d++) {
        size_t b = c->doc_ptr[d], e = c->doc_ptr[d + 1];
        if (e < b || e > c->n_tokens)
            return lt_fail(LT_ERR_INVALID, "%s: document %zu has offsets %zu..%zu out of order (corpus of %zu tokens)",
                           what, d, b, e, c->n_tokens);
        for (size_t i = b; i < e; i++) {
            int32_t w = c->tokens[i];
            if (w < 0 || (size_t)w >= v)
                return lt_fail(LT_ERR_INVALID,
                               "%s: document %zu, token %zu: word id %d is outside the vocabulary of %zu words "
                               "(ids 0..%zu)",
                               what, d, i - b, (int)w, v, v - 1);
        }
    }
    return LT_OK;
}

/* ---- Minka's fixed points ------------------------------------------------- */

/* sum_c h[c] (psi(c + a) - psi(a)), c = 1..top: running sums of 1/(a + i)
 * for the common small counts, digamma differences beyond. */
static double digamma_diff_sum(const uint64_t *h, size_t top, double a)
{
    const size_t cut = top < 4096 ? top : 4096;
    double s = 0.0, run = 0.0;
    for (size_t c = 1; c <= cut; c++) {
        run += 1.0 / (a + (double)(c - 1));
        if (h[c]) s += (double)h[c] * run;
    }
    if (top > cut) {
        double pa = lda_digamma(a);
        for (size_t c = cut + 1; c <= top; c++)
            if (h[c]) s += (double)h[c] * (lda_digamma(a + (double)c) - pa);
    }
    return s;
}

static size_t hist_top(const uint64_t *h, size_t max)
{
    while (max > 0 && h[max] == 0)
        max--;
    return max;
}

#define LDA_HYPER_FLOOR 1e-10

/* sum over a list of counts c of psi(c + a) - psi(a) */
static double digamma_diff_list(const uint64_t *c, size_t n, double a)
{
    if (n == 0) return 0.0;
    double s = 0.0, pa = lda_digamma(a);
    for (size_t i = 0; i < n; i++)
        s += lda_digamma(a + (double)c[i]) - pa;
    return s;
}

lt_status lda_minka_alpha(size_t k, const uint64_t *hist, const size_t *offset, const uint64_t *len_hist,
                          size_t max_len, int mode, size_t max_iter, double *alpha)
{
    if (k < 1 || !hist || !offset || !len_hist || !alpha || (mode != 1 && mode != 2))
        return lt_fail(LT_ERR_INVALID, "Minka's alpha update: bad arguments (k %zu, mode %d)", k, mode);
    for (size_t j = 0; j < k; j++) {
        if (!(alpha[j] > 0) || !isfinite(alpha[j]))
            return lt_fail(LT_ERR_INVALID, "Minka's alpha update: alpha[%zu] = %g is not positive and finite", j,
                           alpha[j]);
        if (offset[j + 1] <= offset[j])
            return lt_fail(LT_ERR_INVALID, "Minka's alpha update: topic %zu has an empty histogram (offsets %zu, %zu)",
                           j, offset[j], offset[j + 1]);
    }
    size_t ltop = hist_top(len_hist, max_len);
    if (ltop == 0) return LT_OK; /* no evidence: keep the prior */
    size_t *tops = lt_malloc(k, sizeof *tops);
    double *next = lt_malloc(k, sizeof *next);
    uint64_t *h = NULL;
    if (!tops || !next) goto nomem;
    size_t widest = 0;
    for (size_t j = 0; j < k; j++) {
        tops[j] = hist_top(hist + offset[j], offset[j + 1] - offset[j] - 1);
        if (tops[j] > widest) widest = tops[j];
    }
    if (mode == 1) {
        /* symmetric: one histogram over all topics */
        h = lt_calloc(widest + 1, sizeof *h);
        if (!h) goto nomem;
        for (size_t j = 0; j < k; j++)
            for (size_t c = 1; c <= tops[j]; c++)
                h[c] += hist[offset[j] + c];
        double a = 0.0;
        for (size_t j = 0; j < k; j++)
            a += alpha[j];
        a /= (double)k;
        for (size_t it = 0; it < max_iter; it++) {
            double num = digamma_diff_sum(h, widest, a);
            double den = (double)k * digamma_diff_sum(len_hist, ltop, (double)k * a);
            double na = den > 0 ? a * num / den : a;
            if (!(na >= LDA_HYPER_FLOOR)) na = LDA_HYPER_FLOOR;
            int done = fabs(na - a) <= 1e-10 * a;
            a = na;
            if (done) break;
        }
        for (size_t j = 0; j < k; j++)
            alpha[j] = a;
    } else {
        for (size_t it = 0; it < max_iter; it++) {
            double a0 = 0.0;
            for (size_t j = 0; j < k; j++)
                a0 += alpha[j];
            double den = digamma_diff_sum(len_hist, ltop, a0);
            if (!(den > 0)) break;
            double change = 0.0;
            for (size_t j = 0; j < k; j++) {
                double num = digamma_diff_sum(hist + offset[j], tops[j], alpha[j]);
                double na = alpha[j] * num / den;
                if (!(na >= LDA_HYPER_FLOOR)) na = LDA_HYPER_FLOOR;
                double rel = fabs(na - alpha[j]) / alpha[j];
                if (rel > change) change = rel;
                next[j] = na;
            }
            memcpy(alpha, next, k * sizeof *alpha);
            if (change <= 1e-10) break;
        }
    }
    free(tops);
    free(next);
    free(h);
    return LT_OK;
nomem:
    free(tops);
    free(next);
    free(h);
    return LT_ERR_NOMEM;
}

lt_status lda_minka_beta(size_t v, const uint64_t *count_hist, size_t max_count, const uint64_t *big, size_t n_big,
                         const double *sizes, size_t n_groups, size_t max_iter, double *beta)
{
    if (v < 1 || !count_hist || (n_big && !big) || (n_groups && !sizes) || !beta || !(*beta > 0) || !isfinite(*beta))
        return lt_fail(LT_ERR_INVALID, "Minka's beta update: bad arguments (v %zu, beta %g)", v, beta ? *beta : 0.0);
    size_t top = hist_top(count_hist, max_count);
    if (top == 0 && n_big == 0) return LT_OK;
    double b = *beta;
    for (size_t it = 0; it < max_iter; it++) {
        double num = digamma_diff_sum(count_hist, top, b) + digamma_diff_list(big, n_big, b);
        double vb = (double)v * b, pv = lda_digamma(vb), den = 0.0;
        for (size_t g = 0; g < n_groups; g++)
            if (sizes[g] > 0) den += lda_digamma(sizes[g] + vb) - pv;
        den *= (double)v;
        if (!(den > 0)) break;
        double nb = b * num / den;
        if (!(nb >= LDA_HYPER_FLOOR)) nb = LDA_HYPER_FLOOR;
        int done = fabs(nb - b) <= 1e-10 * b;
        b = nb;
        if (done) break;
    }
    *beta = b;
    return LT_OK;
}

lt_status lda_dirichlet_mle(size_t k, const double *mean_log_p, int mode, size_t max_iter, double *alpha)
{
    if (k < 1 || !mean_log_p || !alpha || (mode != 1 && mode != 2))
        return lt_fail(LT_ERR_INVALID, "Dirichlet estimate: bad arguments (k %zu, mode %d)", k, mode);
    double mean = 0.0;
    for (size_t j = 0; j < k; j++) {
        if (!(mean_log_p[j] <= 0) || !isfinite(mean_log_p[j]))
            return lt_fail(LT_ERR_INVALID, "Dirichlet estimate: mean log proportion %zu is %g (must be finite, <= 0)",
                           j, mean_log_p[j]);
        if (!(alpha[j] > 0) || !isfinite(alpha[j]))
            return lt_fail(LT_ERR_INVALID, "Dirichlet estimate: alpha[%zu] = %g is not positive and finite", j,
                           alpha[j]);
        mean += mean_log_p[j];
    }
    mean /= (double)k;
    if (k == 1) return LT_OK; /* a one-dimensional Dirichlet has no likelihood to maximise */
    if (mode == 1) {
        double a = 0.0;
        for (size_t j = 0; j < k; j++)
            a += alpha[j];
        a /= (double)k;
        for (size_t it = 0; it < max_iter; it++) {
            double na = lda_digamma_inv(lda_digamma((double)k * a) + mean);
            if (!(na >= LDA_HYPER_FLOOR)) na = LDA_HYPER_FLOOR;
            int done = fabs(na - a) <= 1e-12 * a;
            a = na;
            if (done) break;
        }
        for (size_t j = 0; j < k; j++)
            alpha[j] = a;
        return LT_OK;
    }
    for (size_t it = 0; it < max_iter; it++) {
        double a0 = 0.0;
        for (size_t j = 0; j < k; j++)
            a0 += alpha[j];
        double p0 = lda_digamma(a0), change = 0.0;
        for (size_t j = 0; j < k; j++) {
            double na = lda_digamma_inv(p0 + mean_log_p[j]);
            if (!(na >= LDA_HYPER_FLOOR)) na = LDA_HYPER_FLOOR;
            double rel = fabs(na - alpha[j]) / alpha[j];
            if (rel > change) change = rel;
            alpha[j] = na; /* Gauss-Seidel: converges as Minka's Jacobi form does */
        }
        if (change <= 1e-12) break;
    }
    return LT_OK;
}

/* ---- alias tables (Walker 1977; Vose 1991) -------------------------------- */

/* prob/alias of n >= 1 weights w >= 0 (all zero: uniform). Scratch: `work`
 * 2n uint32, `scaled` n doubles. */
static void alias_build(const double *w, size_t n, double *prob, uint32_t *alias, uint32_t *work, double *scaled)
{
    double total = 0.0;
    for (size_t i = 0; i < n; i++)
        total += w[i];
    uint32_t *small = work, *large = work + n;
    size_t ns = 0, nl = 0;
    for (size_t i = 0; i < n; i++) {
        scaled[i] = total > 0 ? w[i] * (double)n / total : 1.0;
        if (scaled[i] < 1.0)
            small[ns++] = (uint32_t)i;
        else
            large[nl++] = (uint32_t)i;
    }
    while (ns && nl) {
        uint32_t sm = small[--ns], lg = large[--nl];
        prob[sm] = scaled[sm];
        alias[sm] = lg;
        scaled[lg] = (scaled[lg] + scaled[sm]) - 1.0;
        if (scaled[lg] < 1.0)
            small[ns++] = lg;
        else
            large[nl++] = lg;
    }
    while (nl) {
        uint32_t lg = large[--nl];
        prob[lg] = 1.0;
        alias[lg] = lg;
    }
    while (ns) { /* rounding left these a hair under 1 */
        uint32_t sm = small[--ns];
        prob[sm] = 1.0;
        alias[sm] = sm;
    }
}

/* A draw from the alpha part of a document proposal: uniform when alpha is
 * symmetric, else an alias table over alpha (double precision: the
 * acceptance ratios assume q ∝ n_dk + alpha_k exactly). */
typedef struct alpha_table {
    size_t k;
    int sym;
    double *prob;
    uint32_t *alias;
} alpha_table;

static lt_status alpha_table_build(alpha_table *t, const double *alpha, size_t k)
{
    t->k = k;
    t->sym = 1;
    for (size_t i = 1; i < k; i++)
        if (alpha[i] != alpha[0]) t->sym = 0;
    if (t->sym) return LT_OK;
    if (!t->prob || !t->alias) {
        free(t->prob);
        free(t->alias);
        t->prob = lt_malloc(k, sizeof *t->prob);
        t->alias = lt_malloc(k, sizeof *t->alias);
        if (!t->prob || !t->alias) return LT_ERR_NOMEM;
    }
    uint32_t *work = lt_malloc(2 * k, sizeof *work);
    double *scaled = lt_malloc(k, sizeof *scaled);
    int ok = work && scaled;
    if (ok) alias_build(alpha, k, t->prob, t->alias, work, scaled);
    free(work);
    free(scaled);
    return ok ? LT_OK : LT_ERR_NOMEM;
}

static void alpha_table_free(alpha_table *t)
{
    free(t->prob);
    free(t->alias);
    t->prob = NULL;
    t->alias = NULL;
}

/* u in [0, 1) */
static inline uint32_t alpha_draw(const alpha_table *t, double u)
{
    double x = u * (double)t->k;
    uint32_t i = (uint32_t)x;
    if (i >= t->k) i = (uint32_t)t->k - 1;
    if (t->sym) return i;
    return x - (double)i < t->prob[i] ? i : t->alias[i];
}

/* ---- the sampler's state -------------------------------------------------- */

/* A token's record in one order, `stride` uint32 words: its index in the
 * other order, its topic, then its mh proposals for the coming phase of
 * this order. A proposal is the proposed token's topic at the start of that
 * phase, or, when the phase will have visited the proposed token before
 * this one in the same block (its topic may have moved by then), LIVE and
 * the proposed token's index in this order, to read its topic where it
 * lives. Which of the two it is depends only on positions, known when the
 * proposal is drawn. Records of 8 words (MH 3 and 4) also keep, in a word
 * that would be padding, R_LO: the first index of the block that holds the
 * token's index in the other order (the other order's blk table at the
 * token's item there), so that drawing proposals needs no random read of
 * that table (measured: 12% faster at K = 1000, MH = 4 on 50M tokens). */
enum { R_POS = 0, R_Z = 1, R_PROP = 2, R_LO = 6 };
#define LIVE 0x80000000u

/* uint32 words per record: 2 + mh, padded to 16 or 32 bytes (a record that
 * straddles two lines costs the gather a second miss: measured 15% at
 * mh = 2) */
static inline size_t rec_stride(int mh)
{
    return mh <= 2 ? 4 : 8;
}

/* Whether the records at mh steps keep R_LO. */
static inline int rec_has_lo(int mh)
{
    return rec_stride(mh) > R_LO;
}

/* The first index, in the other order, of the block that holds record o's
 * token there: o's R_LO, or the other order's blk table at the token's item
 * there (key: the items of this order's tokens in the other order). */
static inline uint32_t rec_lo(const uint32_t *o, int mh, const uint32_t *blk, const uint32_t *key, uint32_t i)
{
    return rec_has_lo(mh) ? o[R_LO] : blk[key[i]];
}

struct lda_gibbs {
    size_t k, v, d, n;
    const int32_t *words; /* the corpus's tokens, document-major */
    uint32_t *dptr;       /* d + 1: document offsets */
    uint32_t *wptr;       /* v + 1: word offsets in the word-major order */
    uint32_t *dblk;       /* d: the first document-major index of the document's block */
    uint32_t *wblk;       /* v: the first word-major index of the word's block */
    uint32_t *dtok;       /* n records, document-major */
    uint32_t *wtok;       /* n records, word-major (by word, then corpus order) */
    size_t stride;        /* uint32 words per record: 2 + mh, padded to 16 or 32 bytes */
    uint32_t *wdoc;       /* n, word-major: document of the token */
    int32_t *ck;          /* k: tokens per topic */
    double *alpha;        /* k */
    double alpha_sum;
    alpha_table at;
    alpha_table ut; /* K uniform topics: the other half of a word's proposals */
    double beta;
    int mh;
    int threads;
    size_t nbw, nbd;
    uint32_t *bw, *bd; /* block bounds: word ids (nbw + 1), document ids (nbd + 1) */
    uint32_t *ow, *od; /* blocks by decreasing size: the order they are handed to threads */
    lt_rng *rw, *rd;   /* one stream per block */
    int32_t *scratch;  /* threads x k, zero between uses */
    double *icnt;      /* threads x (k + 1): an item's topic counts in a phase, zero between uses */
    double *local;     /* threads x (k + 1): a block's topic totals in a phase */
    uint32_t *zc;      /* threads x max_wlen: a word's topics, packed */
    int32_t *delta;    /* threads x k: change of the totals in a phase */
    size_t max_dlen, max_wlen;
    size_t draw_near; /* items of more tokens draw from afar: see lda_gibbs_params */
    size_t sweeps;
};

void lda_gibbs_params_default(lda_gibbs_params *p)
{
    memset(p, 0, sizeof *p);
    p->block_tokens = 32768;
    p->max_blocks = 256;
    p->mh_steps = 2;
    p->draw_near = 512;
}

void lda_gibbs_free(lda_gibbs *g)
{
    if (!g) return;
    free(g->dptr);
    free(g->wptr);
    free(g->dblk);
    free(g->wblk);
    free(g->dtok);
    free(g->wtok);
    free(g->wdoc);
    free(g->ck);
    free(g->alpha);
    alpha_table_free(&g->at);
    free(g->bw);
    free(g->bd);
    free(g->ow);
    free(g->od);
    free(g->rw);
    free(g->rd);
    free(g->scratch);
    free(g->icnt);
    free(g->local);
    free(g->zc);
    free(g->delta);
    free(g);
}

static lt_status check_options(const lt_lda_options *o, double *alpha, double *beta)
{
    if (!o) return lt_fail(LT_ERR_INVALID, "LDA: no options given");
    if (o->k < 1) return lt_fail(LT_ERR_INVALID, "LDA options: k must be at least 1 topic");
    if (o->k > ((size_t)1 << 30)) return lt_fail(LT_ERR_INVALID, "LDA options: k = %zu topics is too many", o->k);
    if (!(o->alpha >= 0) || !isfinite(o->alpha))
        return lt_fail(LT_ERR_INVALID, "LDA options: alpha must be positive and finite (0: 5/K), got %g", o->alpha);
    if (!(o->beta >= 0) || !isfinite(o->beta))
        return lt_fail(LT_ERR_INVALID, "LDA options: beta must be positive and finite (0: 0.01), got %g", o->beta);
    if (o->optimize_alpha < 0 || o->optimize_alpha > 2)
        return lt_fail(LT_ERR_INVALID, "LDA options: optimize_alpha must be 0, 1 (symmetric) or 2 (asymmetric), got %d",
                       o->optimize_alpha);
    if (o->optimize_beta < 0 || o->optimize_beta > 1)
        return lt_fail(LT_ERR_INVALID, "LDA options: optimize_beta must be 0 or 1 (symmetric), got %d",
                       o->optimize_beta);
    if ((o->optimize_alpha || o->optimize_beta) && o->optimize_interval == 0)
        return lt_fail(LT_ERR_INVALID, "LDA options: optimize_interval must be at least 1 sweep when optimising");
    *alpha = o->alpha > 0 ? o->alpha : 5.0 / (double)o->k;
    *beta = o->beta > 0 ? o->beta : 0.01;
    return LT_OK;
}

/* Cut [0, n_items) into about n_tok / target blocks of whole items
 * balanced on the offsets ptr (ptr[n_items] = n_tok); empty blocks dropped. */
static lt_status make_blocks(const uint32_t *ptr, size_t n_items, size_t n_tok, size_t target, size_t max_blocks,
                             uint32_t **bounds, uint32_t **order, size_t *nb_out)
{
    size_t nb = lt_block_count(n_tok, target ? target : 1, max_blocks ? max_blocks : 1);
    uint32_t *b = lt_malloc(nb + 1, sizeof *b);
    uint32_t *ord = lt_malloc(nb, sizeof *ord);
    if (!b || !ord) {
        free(b);
        free(ord);
        return LT_ERR_NOMEM;
    }
    size_t m = 0;
    b[m++] = 0;
    for (size_t i = 1; i < nb; i++) {
        size_t goal = lt_block_begin(n_tok, nb, i);
        /* first item starting at or after the goal */
        size_t lo = 0, hi = n_items;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (ptr[mid] < goal)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo > b[m - 1] && lo < n_items && ptr[lo] > ptr[b[m - 1]]) b[m++] = (uint32_t)lo;
    }
    b[m] = (uint32_t)n_items;
    nb = m;
    /* hand out the largest blocks first (a schedule; results do not depend on it) */
    for (size_t i = 0; i < nb; i++)
        ord[i] = (uint32_t)i;
    for (size_t i = 1; i < nb; i++) { /* insertion sort, stable: nb <= max_blocks */
        uint32_t x = ord[i];
        size_t sx = ptr[b[x + 1]] - ptr[b[x]], j = i;
        while (j > 0 && (size_t)(ptr[b[ord[j - 1] + 1]] - ptr[b[ord[j - 1]]]) < sx) {
            ord[j] = ord[j - 1];
            j--;
        }
        ord[j] = x;
    }
    *bounds = b;
    *order = ord;
    *nb_out = nb;
    return LT_OK;
}

/* A proposal of token rec (this order) for the proposed token src, both of
 * one item: LIVE and src's index when the coming phase visits src before
 * rec or at it, in the same block (src's index in [lo, rec's index], lo the
 * first index of rec's block in the coming phase's order), else src's topic
 * now, final until that phase. */
static inline uint32_t proposal(const uint32_t *src, uint32_t lo, uint32_t hi)
{
    const uint32_t p = src[R_POS];
    return p - lo <= hi - lo ? LIVE | p : src[R_Z];
}

/* The MH steps of one token: slots 0..mh-1 hold the proposals, slot mh
 * the token's topic, each as a and b, its target weight's two factors
 * (the second in the denominator), and ub[m] = u_m b[m] with u_m the
 * step's uniform. Step m moves the state (a slot) to m when
 * u_m a[state] b[m] < a[m] b[state]; the topic of the slot reached is
 * returned (tm: the slots' topics). The
 * state's a and b ride in lane 0 of vector registers, moved by masks, not
 * branches (accepted or not is a coin flip to the predictor): the chain is
 * a product, a compare and a blend per step. */
typedef double lda_v2d __attribute__((vector_size(16)));
typedef long long lda_v2l __attribute__((vector_size(16)));
LDA_INLINE uint32_t mh_chain(const double *am, const double *bm, const double *ub, const uint32_t *tm, const int mh)
{
    lda_v2d a = {am[mh], 0.0}, b = {bm[mh], 0.0};
    lda_v2l top = {tm[mh], 0};
    for (int m = 0; m < mh; m++) {
        const lda_v2d u = {ub[m], 0.0}, pa = {am[m], 0.0}, pb = {bm[m], 0.0};
        const lda_v2l acc = (lda_v2l)(a * u < pa * b);
        a = (lda_v2d)(((lda_v2l)a & ~acc) | ((lda_v2l)pa & acc));
        b = (lda_v2d)(((lda_v2l)b & ~acc) | ((lda_v2l)pb & acc));
        top = (top & ~acc) | ((lda_v2l){tm[m], 0} & acc);
    }
    return (uint32_t)top[0];
}

/* The proposal mixture of an item (a document, or a word): its tokens, of
 * weight len, and the other half, of weight `extra` (sum alpha, topics from
 * alpha's table; or K beta, topics uniform). */
typedef struct lda_mix {
    double extra;
    const alpha_table *at;
} lda_mix;

/* mh uniform 32-bit draws, two from each 64-bit output. */
LDA_INLINE void draw_u32(lt_rng *rng, int mh, uint32_t *u)
{
    for (int m = 0; m < mh; m += 2) {
        const uint64_t r = rng_next(rng);
        u[m] = (uint32_t)(r >> 32);
        if (m + 1 < mh) u[m + 1] = (uint32_t)r;
    }
}

/* A topic of the other half from 32 random bits: the bucket by
 * multiply-shift, alpha's alias coin (asymmetric alpha) from the fraction
 * left, without a branch. */
LDA_INLINE uint32_t other_topic(const alpha_table *at, uint64_t bits32)
{
    const uint64_t xk = bits32 * at->k;
    uint32_t t = (uint32_t)(xk >> 32);
    if (!at->sym) {
        const uint32_t keep = 0u - (uint32_t)((double)(uint32_t)xk * 0x1p-32 < at->prob[t]);
        t = (t & keep) | (at->alias[t] & ~keep);
    }
    return t;
}

/* mh draws from an item's mixture, a 64-bit output each: y[m] < len a
 * token of the item, else len + a topic from the other half. The item's
 * half when the high 32 bits fall below len / (len + extra) of their
 * range; the low 32 bits then give the token (multiply-shift) or the other
 * half's topic. Where the other half weighs more than a tenth, which half
 * is drawn is a coin flip to the predictor: integer compares and a select,
 * no branch (the same draws either way). */
LDA_INLINE void draw_mix(lt_rng *rng, uint32_t len, const lda_mix *mx, int mh, uint32_t *y)
{
    const uint64_t cut = (uint64_t)((double)len / ((double)len + mx->extra) * 0x1p32);
    const alpha_table *at = mx->at;
    if (cut > (uint64_t)(0.9 * 0x1p32)) { /* the other half is rare: a branch the predictor gets right */
        for (int m = 0; m < mh; m++) {
            const uint64_t r = rng_next(rng), lo32 = r & 0xffffffffu;
            y[m] = (r >> 32) < cut ? (uint32_t)((lo32 * len) >> 32) : len + other_topic(at, lo32);
        }
        return;
    }
    for (int m = 0; m < mh; m++) {
        const uint64_t r = rng_next(rng), lo32 = r & 0xffffffffu;
        const uint32_t near = 0u - (uint32_t)((r >> 32) < cut);
        y[m] = ((uint32_t)((lo32 * len) >> 32) & near) | ((len + other_topic(at, lo32)) & ~near);
    }
}

/* A draw y of draw_mix made a proposal: a token of the item (at a[i0 + y],
 * by proposal()) or a topic of the other half. Without a branch: the record
 * read (of a token of the item, in L1 or L2) is made either way. */
LDA_INLINE uint32_t mix_proposal(const uint32_t *a, size_t S, uint32_t i0, uint32_t len, uint32_t y, uint32_t lo,
                                 uint32_t hi)
{
    const uint32_t near = 0u - (uint32_t)(y < len);
    const uint32_t p = proposal(a + (size_t)(i0 + (y & near)) * S, lo, hi);
    return (p & near) | ((y - len) & ~near);
}

/* One slot of a ring of draws made ahead (long items): mh draws of the
 * item's mixture, with a prefetch of what each token drawn will be read
 * from, base + y * size (its record, or its packed topic). */
LDA_INLINE void draw_ahead(lt_rng *rng, uint32_t len, const lda_mix *mx, int mh, uint32_t *slot, const void *base,
                           size_t size)
{
    draw_mix(rng, len, mx, mh, slot);
    for (int m = 0; m < mh; m++)
        if (slot[m] < len) prefetch((const char *)base + (size_t)slot[m] * size);
}

/* The proposals of one item's tokens for the coming phase of the other
 * order: for each token of the item whose records are a[i0..i1), mh draws
 * from the item's mixture, each written into the token's record as above
 * (a token of the item by proposal(); a topic of the other half as it is).
 * key[i] is token i's item in the other order (its word, or its document)
 * and blk that order's table of the first index of each item's block.
 * Called when the item's topics are final for the phase. Items of more
 * than `near` tokens are drawn PF tokens ahead, with prefetches. */
LDA_INLINE void draw_proposals(uint32_t *restrict a, size_t S, int mh, uint32_t i0, uint32_t i1, const lda_mix *mx,
                               const uint32_t *key, const uint32_t *blk, size_t near, lt_rng *rng)
{
    const uint32_t len = i1 - i0;
    if (len <= near || len <= PF) { /* the item's records are in L1 or L2, where the phase just left them */
        for (uint32_t i = i0; i < i1; i++) {
            uint32_t *o = a + (size_t)i * S, ys[MH_MAX];
            const uint32_t lo = rec_lo(o, mh, blk, key, i), hi = o[R_POS];
            draw_mix(rng, len, mx, mh, ys);
            for (int m = 0; m < mh; m++)
                o[R_PROP + m] = mix_proposal(a, S, i0, len, ys[m], lo, hi);
        }
        return;
    }
    /* a long item's records span megabytes: draw PF tokens ahead and
     * prefetch (the same draws in the same order) */
    uint32_t ring[PF][MH_MAX];
    const uint32_t *rec0 = a + (size_t)i0 * S;
    for (uint32_t i = i0; i < i0 + PF; i++) {
        if (!rec_has_lo(mh)) prefetch(blk + key[i]);
        draw_ahead(rng, len, mx, mh, ring[i % PF], rec0, S * sizeof *a);
    }
    for (uint32_t i = i0; i < i1; i++) {
        uint32_t ys[MH_MAX];
        memcpy(ys, ring[i % PF], sizeof ys);
        if (i + PF < i1) {
            if (!rec_has_lo(mh)) prefetch(blk + key[i + PF]);
            draw_ahead(rng, len, mx, mh, ring[i % PF], rec0, S * sizeof *a);
        }
        uint32_t *o = a + (size_t)i * S;
        const uint32_t lo = rec_lo(o, mh, blk, key, i), hi = o[R_POS];
        for (int m = 0; m < mh; m++)
            o[R_PROP + m] = mix_proposal(a, S, i0, len, ys[m], lo, hi);
    }
}

/* A frequent word's proposals for the document phase: its tokens' topics
 * drawn from zc, the word's topics packed (written by the word phase as it
 * samples them), not from its records, which span megabytes: a miss per
 * proposal becomes an L2 or L3 hit. The tokens of the word that the
 * document phase visits before token i, in i's block, are those from jb,
 * the word's first token in that block, to i itself (word-major order
 * within a word is document order): they alone are LIVE, and only they
 * read their records. Proposals the same as draw_proposals's. */
LDA_INLINE void draw_word_far(uint32_t *restrict a, size_t S, int mh, uint32_t i0, uint32_t i1, const lda_mix *mx,
                              const uint32_t *wdoc, const uint32_t *dblk, const uint32_t *restrict zc, lt_rng *rng)
{
    const uint32_t len = i1 - i0;
    uint32_t blo = UINT32_MAX, jb = 0;
    /* the draws PF tokens ahead, their reads of zc prefetched (the same
     * draws in the same order) */
    uint32_t ring[PF][MH_MAX];
    for (uint32_t r = 0; r < PF && r < len; r++)
        draw_ahead(rng, len, mx, mh, ring[r], zc, sizeof *zc);
    for (uint32_t i = i0; i < i1; i++) {
        if (!rec_has_lo(mh) && i + PF < i1) prefetch(dblk + wdoc[i + PF]);
        const uint32_t lo = rec_lo(a + (size_t)i * S, mh, dblk, wdoc, i), r = i - i0;
        if (lo != blo) { /* the first of the word's tokens in a document block */
            blo = lo;
            jb = r;
        }
        uint32_t ys[MH_MAX];
        memcpy(ys, ring[r % PF], sizeof ys);
        if (i + PF < i1) draw_ahead(rng, len, mx, mh, ring[r % PF], zc, sizeof *zc);
        uint32_t *o = a + (size_t)i * S;
        for (int m = 0; m < mh; m++) {
            const uint32_t y = ys[m], near = 0u - (uint32_t)(y < len), yn = y & near;
            uint32_t p = zc[yn];
            if (yn - jb <= r - jb) p = LIVE | a[(size_t)(i0 + yn) * S + R_POS]; /* rare: a branch */
            o[R_PROP + m] = (p & near) | ((y - len) & ~near);
        }
    }
}

/* The mixtures of the moment: documents' (for the word phase), words' (for
 * the document phase). */
static lda_mix doc_mix(const lda_gibbs *g)
{
    lda_mix mx = {g->alpha_sum, &g->at};
    return mx;
}
static lda_mix word_mix(const lda_gibbs *g)
{
    const double kb = g->beta * (double)g->k;
    lda_mix mx = {kb, &g->ut};
    return mx;
}

/* Every document's proposals for the coming word phase, drawn anew: at the
 * start, and when alpha has changed since they were drawn (the mixture
 * weighs sum alpha). Each block from its own stream. */
static void draw_doc_side(lda_gibbs *g)
{
    const lda_mix mx = doc_mix(g);
#pragma omp parallel for schedule(dynamic, 1) num_threads(g->threads)
    for (size_t ob = 0; ob < g->nbd; ob++) {
        uint32_t b = g->od[ob];
        for (uint32_t d = g->bd[b]; d < g->bd[b + 1]; d++)
            draw_proposals(g->dtok, g->stride, g->mh, g->dptr[d], g->dptr[d + 1], &mx, (const uint32_t *)g->words,
                           g->wblk, g->draw_near, &g->rd[b]);
    }
}

lt_status lda_gibbs_create(const lt_lda_options *o, const lt_corpus *c, const lda_gibbs_params *p, lda_gibbs **out)
{
    *out = NULL;
    lda_gibbs_params defaults;
    if (!p) {
        lda_gibbs_params_default(&defaults);
        p = &defaults;
    }
    double alpha = 0.0, beta = 0.0;
    LT_CHECK(check_options(o, &alpha, &beta));
    if (!c) return lt_fail(LT_ERR_INVALID, "LDA: no training corpus given");
    if (c->n_vocab < 1) return lt_fail(LT_ERR_INVALID, "training corpus: the vocabulary is empty");
    LT_CHECK(lda_check_corpus(c, c->n_vocab, "training corpus"));
    if (c->n_tokens > (size_t)INT32_MAX || c->n_docs >= (size_t)UINT32_MAX || c->n_vocab >= (size_t)UINT32_MAX)
        return lt_fail(LT_ERR_INVALID,
                       "training corpus: %zu tokens in %zu documents over %zu words is beyond the Gibbs sampler "
                       "(at most 2^31 - 1 tokens); use online variational Bayes",
                       c->n_tokens, c->n_docs, c->n_vocab);
    if (p->mh_steps < 1 || p->mh_steps > MH_MAX)
        return lt_fail(LT_ERR_INVALID, "LDA Gibbs: mh_steps must be 1 to %d, got %d", MH_MAX, p->mh_steps);

    lda_gibbs *g = lt_calloc(1, sizeof *g);
    if (!g) return LT_ERR_NOMEM;
    lt_status st = LT_OK;
    const size_t k = o->k, v = c->n_vocab, nd = c->n_docs, n = c->n_tokens;
    g->k = k;
    g->v = v;
    g->d = nd;
    g->n = n;
    g->words = c->tokens;
    g->beta = beta;
    g->mh = p->mh_steps;
    g->draw_near = p->draw_near;
    g->dptr = lt_malloc(nd + 1, sizeof *g->dptr);
    g->wptr = lt_calloc(v + 1, sizeof *g->wptr);
    g->stride = rec_stride(p->mh_steps);
    g->dtok = big_alloc(n * g->stride, sizeof *g->dtok);
    g->wtok = big_alloc(n * g->stride, sizeof *g->wtok);
    g->wdoc = big_alloc(n, sizeof *g->wdoc);
    g->dblk = lt_malloc(nd + 1, sizeof *g->dblk);
    g->wblk = lt_malloc(v, sizeof *g->wblk);
    g->ck = lt_calloc(k, sizeof *g->ck);
    g->alpha = lt_malloc(k, sizeof *g->alpha);
    if (!g->dptr || !g->wptr || !g->dtok || !g->wtok || !g->wdoc || !g->dblk || !g->wblk || !g->ck || !g->alpha) {
        st = LT_ERR_NOMEM;
        goto fail;
    }
    for (size_t i = 0; i < k; i++)
        g->alpha[i] = alpha;
    g->alpha_sum = alpha * (double)k;
    if ((st = alpha_table_build(&g->at, g->alpha, k)) != LT_OK) goto fail;
    g->ut.k = k;
    g->ut.sym = 1;

    /* the word-major order: by word, then corpus order */
    g->dptr[0] = 0;
    for (size_t d = 0; d < nd; d++) {
        g->dptr[d + 1] = (uint32_t)c->doc_ptr[d + 1];
        size_t len = c->doc_ptr[d + 1] - c->doc_ptr[d];
        if (len > g->max_dlen) g->max_dlen = len;
    }
    for (size_t i = 0; i < n; i++)
        g->wptr[c->tokens[i] + 1]++;
    for (size_t w = 0; w < v; w++) {
        if (g->wptr[w + 1] > g->max_wlen) g->max_wlen = g->wptr[w + 1];
        g->wptr[w + 1] += g->wptr[w];
    }
    {
        uint32_t *cur = lt_malloc(v, sizeof *cur);
        if (!cur) {
            st = LT_ERR_NOMEM;
            goto fail;
        }
        memcpy(cur, g->wptr, v * sizeof *cur);
        for (size_t d = 0; d < nd; d++)
            for (size_t i = c->doc_ptr[d]; i < c->doc_ptr[d + 1]; i++) {
                uint32_t j = cur[c->tokens[i]]++;
                g->wtok[j * g->stride + R_POS] = (uint32_t)i;
                g->wdoc[j] = (uint32_t)d;
                g->dtok[i * g->stride + R_POS] = j;
            }
        free(cur);
    }

    if ((st = make_blocks(g->wptr, v, n, p->block_tokens, p->max_blocks, &g->bw, &g->ow, &g->nbw)) != LT_OK) goto fail;
    if ((st = make_blocks(g->dptr, nd, n, p->block_tokens, p->max_blocks, &g->bd, &g->od, &g->nbd)) != LT_OK) goto fail;
    for (size_t b = 0; b < g->nbw; b++)
        for (uint32_t w = g->bw[b]; w < g->bw[b + 1]; w++)
            g->wblk[w] = g->wptr[g->bw[b]];
    for (size_t b = 0; b < g->nbd; b++)
        for (uint32_t d = g->bd[b]; d < g->bd[b + 1]; d++)
            g->dblk[d] = g->dptr[g->bd[b]];
    if (rec_has_lo(g->mh))
        for (size_t j = 0; j < n; j++) {
            uint32_t *e = g->wtok + j * g->stride, i = e[R_POS];
            e[R_LO] = g->dblk[g->wdoc[j]];
            g->dtok[(size_t)i * g->stride + R_LO] = g->wblk[c->tokens[i]];
        }
    g->rw = lt_malloc(g->nbw, sizeof *g->rw);
    g->rd = lt_malloc(g->nbd, sizeof *g->rd);
    if (!g->rw || !g->rd) {
        st = LT_ERR_NOMEM;
        goto fail;
    }
    {
        /* stream b of the seed for word block b, nbw + b for document block b */
        lt_rng r;
        lt_rng_seed(&r, o->seed);
        for (size_t b = 0; b < g->nbw; b++) {
            g->rw[b] = r;
            lt_rng_jump(&r);
        }
        for (size_t b = 0; b < g->nbd; b++) {
            g->rd[b] = r;
            lt_rng_jump(&r);
        }
    }
    size_t maxb = g->nbw > g->nbd ? g->nbw : g->nbd;
    int t = lt_threads(o->threads);
    if ((size_t)t > maxb) t = (int)maxb;
    if (t < 1) t = 1;
    g->threads = t;
    g->scratch = lt_calloc((size_t)t * k, sizeof *g->scratch);
    g->icnt = lt_calloc((size_t)t * (k + 1), sizeof *g->icnt);
    g->local = lt_calloc((size_t)t * (k + 1), sizeof *g->local);
    g->delta = lt_calloc((size_t)t * k, sizeof *g->delta);
    g->zc = lt_malloc((size_t)t * (g->max_wlen ? g->max_wlen : 1), sizeof *g->zc);
    if (!g->scratch || !g->icnt || !g->local || !g->delta || !g->zc) {
        st = LT_ERR_NOMEM;
        goto fail;
    }

    /* uniform initial topics, drawn per document block from its stream */
    memset(g->delta, 0, (size_t)t * k * sizeof *g->delta);
#pragma omp parallel num_threads(g->threads)
    {
        int32_t *cnt = g->delta + (size_t)omp_get_thread_num() * k;
#pragma omp for schedule(dynamic, 1)
        for (size_t ob = 0; ob < g->nbd; ob++) {
            uint32_t b = g->od[ob];
            lt_rng *r = &g->rd[b];
            for (uint32_t d = g->bd[b]; d < g->bd[b + 1]; d++) {
                for (size_t i = g->dptr[d]; i < g->dptr[d + 1]; i++) {
                    uint32_t z = (uint32_t)lt_rng_below(r, k);
                    g->dtok[i * g->stride + R_Z] = z;
                    cnt[z]++;
                }
            }
        }
    }
    for (int th = 0; th < t; th++)
        for (size_t i = 0; i < k; i++)
            g->ck[i] += g->delta[(size_t)th * k + i];
    draw_doc_side(g); /* for the first word phase */
    /* the word-major copy is gathered by the word phase; keep it defined */
    for (size_t j = 0; j < n; j++)
        g->wtok[j * g->stride + R_Z] = g->dtok[(size_t)g->wtok[j * g->stride + R_POS] * g->stride + R_Z];
    *out = g;
    return LT_OK;
fail:
    lda_gibbs_free(g);
    return st;
}

/* ---- the two phases of a sweep -------------------------------------------- */

/* Records o[qb..qe) of this order take their topics and proposals from
 * the other order's records: a streaming gather whose misses overlap. */
LDA_INLINE void gather(uint32_t *restrict o, const uint32_t *restrict other, size_t S, int mh, uint32_t qb, uint32_t qe)
{
    for (uint32_t j = qb; j < qe; j++) {
        uint32_t *r = o + (size_t)j * S;
        if (j + 2 * PF < qe) prefetch(other + (size_t)r[2 * PF * S + R_POS] * S);
        const uint32_t *src = other + (size_t)r[R_POS] * S;
        for (int m = R_Z; m < R_PROP + mh; m++)
            r[m] = src[m];
    }
}

/* Records up to `need` at least gathered, given those before gq are: the
 * gather runs GATHER_CHUNK records ahead of the sampling (or to the end of
 * the item that needs more), not the whole block at once, so that the
 * sampling finds the records in L2 rather than in L3 or memory (blocks of
 * a big corpus hold megabytes of records; measured: 8-10% faster at
 * K = 1000, MH = 4 on 50M tokens than one gather per block). Returns the
 * new end of the gathered records. */
#define GATHER_CHUNK 16384
LDA_INLINE uint32_t gather_to(uint32_t *restrict o, const uint32_t *restrict other, size_t S, int mh, uint32_t gq,
                              uint32_t need, uint32_t qend)
{
    if (gq >= need) return gq;
    uint32_t to = qend - gq > GATHER_CHUNK ? gq + GATHER_CHUNK : qend;
    if (to < need) to = need;
    gather(o, other, S, mh, gq, to);
    return to;
}

/* One item's tokens (records a[i0..i1) of this order, a word's or a
 * document's) sampled in turn. `cnt` is a zeroed (K + 1)-array, the item's
 * topic counts while it is sampled (left zeroed), `ck` the block's topic
 * totals. Each token's target weight is (cnt_t + prior_t)(ck_t + V beta)^-1:
 * prior_t = alpha[t] (documents), or a0 when alpha is NULL (words: beta).
 * us: the step uniforms. A proposal marked LIVE names a token of this block
 * already visited in this phase, whose topic is read where it lives; every
 * other proposal carries its token's topic. zc (or NULL): the item's final
 * topics, packed. */
LDA_INLINE void sample_item(uint32_t *restrict a, size_t S, int mh, uint32_t i0, uint32_t i1, double *restrict cnt,
                            double *restrict ck, const double *alpha, double a0, double vbeta, uint32_t kdum,
                            lt_rng *rng, uint32_t *restrict zc)
{
    for (uint32_t i = i0; i < i1; i++)
        cnt[a[(size_t)i * S + R_Z]] += 1.0;
    /* A token is placed in the counts only after the next one has read
     * them (which add it themselves where they name its topic): so no read
     * waits on the address of a write that the chain of MH steps has not
     * yet decided. The first token's "token before" is slot k of the count
     * arrays, a dummy. */
    uint32_t pend = kdum;
    for (uint32_t i = i0; i < i1; i++) {
        uint32_t *o = a + (size_t)i * S;
        const uint32_t s0 = o[R_Z];
        /* the counts without this token (which do not change while it
         * moves: no other token does) */
        cnt[s0] -= 1.0;
        ck[s0] -= 1.0;
        /* the proposals and the counts they need, all read before any step,
         * so that the steps are a chain of products and compares */
        uint32_t tm[MH_MAX + 1], us[MH_MAX];
        double am[MH_MAX + 1], bm[MH_MAX + 1], ub[MH_MAX];
        draw_u32(rng, mh, us);
        for (int m = 0; m < mh; m++) {
            const uint32_t e = o[R_PROP + m];
            const uint32_t t = e & LIVE ? a[(size_t)(e & ~LIVE) * S + R_Z] : e;
            /* proposed itself: its current topic, a step that moves nowhere */
            const double u = e == (LIVE | i) ? INFINITY : (double)us[m] * 0x1p-32;
            tm[m] = t;
            const double one = t == pend;
            am[m] = (cnt[t] + one) + (alpha ? alpha[t] : a0);
            bm[m] = (ck[t] + one) + vbeta;
            ub[m] = u * bm[m];
        }
        tm[mh] = s0;
        const double one = s0 == pend;
        am[mh] = (cnt[s0] + one) + (alpha ? alpha[s0] : a0);
        bm[mh] = (ck[s0] + one) + vbeta;
        cnt[pend] += 1.0; /* the token before, placed now that this one has read its counts */
        ck[pend] += 1.0;
        /* proposal m accepted with min(1, a_t b_s / (a_s b_t)): the word
         * phase's (n_wt + beta)(n_s + V beta) / ((n_ws + beta)(n_t + V beta)),
         * the document phase's with n_d and alpha in place of n_w and beta */
        pend = mh_chain(am, bm, ub, tm, mh);
        o[R_Z] = pend;
        if (zc) zc[i - i0] = pend;
    }
    cnt[pend] += 1.0;
    ck[pend] += 1.0;
    for (uint32_t i = i0; i < i1; i++)
        cnt[a[(size_t)i * S + R_Z]] = 0.0;
    cnt[kdum] = 0.0;
}

/* Word block b: the words bw[b] .. bw[b+1]-1, tokens by word, each drawing
 * at its end its proposals for the document phase. */
LDA_INLINE void word_block_mh(lda_gibbs *g, uint32_t b, double *restrict cw, double *restrict ck, uint32_t *restrict zc,
                              const int mh)
{
    lt_rng rng = g->rw[b];
    const uint32_t w0 = g->bw[b], w1 = g->bw[b + 1];
    uint32_t *restrict wt = g->wtok;
    const size_t S = g->stride;
    const lda_mix mx = word_mix(g);
    uint32_t gq = g->wptr[w0];
    const uint32_t qend = g->wptr[w1];
    for (uint32_t w = w0; w < w1; w++) {
        const uint32_t j0 = g->wptr[w], j1 = g->wptr[w + 1];
        gq = gather_to(wt, g->dtok, S, mh, gq, j1, qend);
        sample_item(wt, S, mh, j0, j1, cw, ck, NULL, g->beta, g->beta * (double)g->v, (uint32_t)g->k, &rng, zc);
        /* for the document phase */
        if (j1 - j0 > g->draw_near)
            draw_word_far(wt, S, mh, j0, j1, &mx, g->wdoc, g->dblk, zc, &rng);
        else
            draw_proposals(wt, S, mh, j0, j1, &mx, g->wdoc, g->dblk, SIZE_MAX, &rng);
    }
    g->rw[b] = rng;
}

/* Document block b: documents bd[b] .. bd[b+1]-1, the mirror of the word
 * block, each document drawing its proposals for the word phase. */
LDA_INLINE void doc_block_mh(lda_gibbs *g, uint32_t b, double *restrict cd, double *restrict ck, const int mh)
{
    lt_rng rng = g->rd[b];
    const uint32_t d0 = g->bd[b], d1 = g->bd[b + 1];
    uint32_t *restrict dt = g->dtok;
    const size_t S = g->stride;
    const lda_mix mx = doc_mix(g);
    uint32_t gq = g->dptr[d0];
    const uint32_t qend = g->dptr[d1];
    for (uint32_t d = d0; d < d1; d++) {
        const uint32_t i0 = g->dptr[d], i1 = g->dptr[d + 1];
        gq = gather_to(dt, g->wtok, S, mh, gq, i1, qend);
        sample_item(dt, S, mh, i0, i1, cd, ck, g->alpha, 0.0, g->beta * (double)g->v, (uint32_t)g->k, &rng, NULL);
        draw_proposals(dt, S, mh, i0, i1, &mx, (const uint32_t *)g->words, g->wblk, g->draw_near, &rng);
    }
    g->rd[b] = rng;
}

static void word_block(lda_gibbs *g, uint32_t b, double *restrict cw, double *restrict ck, uint32_t *restrict zc)
{
    switch (g->mh) {
    case 1: word_block_mh(g, b, cw, ck, zc, 1); break;
    case 2: word_block_mh(g, b, cw, ck, zc, 2); break;
    case 3: word_block_mh(g, b, cw, ck, zc, 3); break;
    default: word_block_mh(g, b, cw, ck, zc, 4); break;
    }
}

static void doc_block(lda_gibbs *g, uint32_t b, double *restrict cd, double *restrict ck)
{
    switch (g->mh) {
    case 1: doc_block_mh(g, b, cd, ck, 1); break;
    case 2: doc_block_mh(g, b, cd, ck, 2); break;
    case 3: doc_block_mh(g, b, cd, ck, 3); break;
    default: doc_block_mh(g, b, cd, ck, 4); break;
    }
}

/* One phase over all blocks: each block starts from the topic totals at the
 * start of the phase; the changes are summed afterwards (integers: the
 * order of the sum does not matter). */
static void run_phase(lda_gibbs *g, int words)
{
    const size_t k = g->k, nb = words ? g->nbw : g->nbd;
    const uint32_t *order = words ? g->ow : g->od;
    const int t = nb == 1 ? 1 : g->threads;
    memset(g->delta, 0, (size_t)t * k * sizeof *g->delta);
#pragma omp parallel num_threads(t) if (t > 1)
    {
        const size_t th = (size_t)omp_get_thread_num();
        double *cnt = g->icnt + th * (k + 1), *lk = g->local + th * (k + 1);
        int32_t *dl = g->delta + th * k;
#pragma omp for schedule(dynamic, 1)
        for (size_t ob = 0; ob < nb; ob++) {
            uint32_t b = order[ob];
            for (size_t i = 0; i < k; i++)
                lk[i] = (double)g->ck[i];
            if (words)
                word_block(g, b, cnt, lk, g->zc + th * g->max_wlen);
            else
                doc_block(g, b, cnt, lk);
            for (size_t i = 0; i < k; i++)
                dl[i] += (int32_t)lk[i] - g->ck[i];
        }
    }
    for (int th = 0; th < t; th++)
        for (size_t i = 0; i < k; i++)
            g->ck[i] += g->delta[(size_t)th * k + i];
}

void lda_gibbs_sweep(lda_gibbs *g)
{
    if (g->n == 0) return;
    run_phase(g, 1);
    run_phase(g, 0);
    g->sweeps++;
}

/* ---- passes over the state ------------------------------------------------ */

/* lgamma(c + a) - lgamma(a) for c = 0..n-1, by sums of logs. */
static void lgamma_table(double a, double *tab, size_t n)
{
    tab[0] = 0.0;
    for (size_t c = 1; c < n; c++)
        tab[c] = tab[c - 1] + log(a + (double)(c - 1));
}

#define LG_TAB 256

/* Counts above the histogram's last bin, one by one (per thread). */
typedef struct count_list {
    uint64_t *v;
    size_t n, cap;
    int failed;
} count_list;

static void count_list_add(count_list *l, uint64_t c)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        uint64_t *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv) {
            l->failed = 1;
            return;
        }
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = c;
}

#define BETA_HIST_CAP 65535

/* Per word block: copy the current topics into the word-major order, and
 * optionally add sum_{k,w: n_kw > 0} lgamma(n_kw + beta) - lgamma(beta) to
 * part[b], count the (topic, word) pairs by their count into hist (threads x
 * (BETA_HIST_CAP + 1); larger counts into big[thread]), and add the counts
 * into nkw (K x V, double). */
static void word_pass(lda_gibbs *g, double *part, uint32_t *hist, count_list *big, double *nkw)
{
    const size_t k = g->k, v = g->v, hstride = BETA_HIST_CAP + 1;
    double tab[LG_TAB];
    lgamma_table(g->beta, tab, LG_TAB);
    const double lgb = lda_lgamma(g->beta);
#pragma omp parallel num_threads(g->threads)
    {
        const size_t th = (size_t)omp_get_thread_num();
        int32_t *cw = g->scratch + th * k;
        uint32_t *h = hist ? hist + th * hstride : NULL;
        count_list *bl = big ? big + th : NULL;
#pragma omp for schedule(dynamic, 1)
        for (size_t ob = 0; ob < g->nbw; ob++) {
            uint32_t b = g->ow[ob];
            double acc = 0.0;
            for (uint32_t w = g->bw[b]; w < g->bw[b + 1]; w++) {
                const uint32_t j0 = g->wptr[w], j1 = g->wptr[w + 1];
                for (uint32_t j = j0; j < j1; j++) {
                    uint32_t s = g->dtok[(size_t)g->wtok[(size_t)j * g->stride + R_POS] * g->stride + R_Z];
                    g->wtok[(size_t)j * g->stride + R_Z] = s;
                    cw[s]++;
                    if (nkw) nkw[(size_t)s * v + w] += 1.0;
                }
                for (uint32_t j = j0; j < j1; j++) {
                    uint32_t s = g->wtok[(size_t)j * g->stride + R_Z];
                    int32_t c = cw[s];
                    if (!c) continue; /* this topic already counted */
                    if (part) acc += c < LG_TAB ? tab[c] : lda_lgamma((double)c + g->beta) - lgb;
                    if (h) {
                        if (c <= BETA_HIST_CAP)
                            h[c]++;
                        else
                            count_list_add(bl, (uint64_t)c);
                    }
                    cw[s] = 0;
                }
            }
            if (part) part[b] = acc;
        }
    }
}

/* Per document block: sum_d [lgamma(alpha_0) - lgamma(n_d + alpha_0)
 * + sum_{k: n_dk > 0} lgamma(n_dk + alpha_k) - lgamma(alpha_k)] into part[b]. */
static void doc_pass(lda_gibbs *g, double *part)
{
    const size_t k = g->k;
    double tab[LG_TAB];
    lgamma_table(g->alpha[0], tab, LG_TAB);
    const double lga0 = lda_lgamma(g->alpha_sum);
    const int sym = g->at.sym;
#pragma omp parallel num_threads(g->threads)
    {
        const size_t th = (size_t)omp_get_thread_num();
        int32_t *cd = g->scratch + th * k;
#pragma omp for schedule(dynamic, 1)
        for (size_t ob = 0; ob < g->nbd; ob++) {
            uint32_t b = g->od[ob];
            double acc = 0.0;
            for (uint32_t d = g->bd[b]; d < g->bd[b + 1]; d++) {
                const uint32_t i0 = g->dptr[d], i1 = g->dptr[d + 1];
                if (i0 == i1) continue;
                for (uint32_t i = i0; i < i1; i++)
                    cd[g->dtok[(size_t)i * g->stride + R_Z]]++;
                for (uint32_t i = i0; i < i1; i++) {
                    uint32_t s = g->dtok[(size_t)i * g->stride + R_Z];
                    int32_t c = cd[s];
                    if (!c) continue;
                    if (sym && c < LG_TAB)
                        acc += tab[c];
                    else
                        acc += lda_lgamma((double)c + g->alpha[s]) - lda_lgamma(g->alpha[s]);
                    cd[s] = 0;
                }
                acc += lga0 - lda_lgamma((double)(i1 - i0) + g->alpha_sum);
            }
            part[b] = acc;
        }
    }
}

double lda_gibbs_loglik(lda_gibbs *g)
{
    if (g->n == 0) return 0.0;
    size_t nb = g->nbw > g->nbd ? g->nbw : g->nbd;
    double *part = lt_malloc(nb, sizeof *part);
    if (!part) return NAN;
    double ll = 0.0;
    word_pass(g, part, NULL, NULL, NULL);
    for (size_t b = 0; b < g->nbw; b++)
        ll += part[b];
    doc_pass(g, part);
    for (size_t b = 0; b < g->nbd; b++)
        ll += part[b];
    const double vb = (double)g->v * g->beta, lgvb = lda_lgamma(vb);
    for (size_t i = 0; i < g->k; i++)
        ll += lgvb - lda_lgamma((double)g->ck[i] + vb);
    free(part);
    return ll;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Histograms of the document-topic counts, ragged by topic (topic j's bins
 * 0 .. its largest count), so that their size stays below K + n_tokens. One
 * pass in corpus order to size them, one to fill them; integer counts. */
static lt_status optimize_alpha_step(lda_gibbs *g, int mode)
{
    const size_t k = g->k;
    lt_status st = LT_OK;
    size_t *off = lt_calloc(k + 1, sizeof *off);
    uint64_t *lens = lt_calloc(g->max_dlen + 1, sizeof *lens);
    uint64_t *hist = NULL;
    if (!off || !lens) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    int32_t *cd = g->scratch;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t d = 0; d < g->d; d++) {
            const uint32_t i0 = g->dptr[d], i1 = g->dptr[d + 1];
            for (uint32_t i = i0; i < i1; i++)
                cd[g->dtok[(size_t)i * g->stride + R_Z]]++;
            for (uint32_t i = i0; i < i1; i++) {
                uint32_t s = g->dtok[(size_t)i * g->stride + R_Z];
                size_t c = (size_t)cd[s];
                if (!c) continue;
                if (pass == 0) {
                    if (c > off[s + 1]) off[s + 1] = c; /* the largest count, for now */
                } else {
                    hist[off[s] + c]++;
                }
                cd[s] = 0;
            }
            if (pass == 1) lens[i1 - i0]++;
        }
        if (pass == 0) {
            for (size_t j = 0; j < k; j++)
                off[j + 1] += off[j] + 1;
            if (!(hist = lt_calloc(off[k], sizeof *hist))) {
                st = LT_ERR_NOMEM;
                goto done;
            }
        }
    }
    st = lda_minka_alpha(k, hist, off, lens, g->max_dlen, mode, 200, g->alpha);
    if (st == LT_OK) {
        g->alpha_sum = 0.0;
        for (size_t i = 0; i < k; i++)
            g->alpha_sum += g->alpha[i];
        st = alpha_table_build(&g->at, g->alpha, k);
        if (st == LT_OK) draw_doc_side(g); /* the word phase's proposals weigh sum alpha */
    }
done:
    free(off);
    free(lens);
    free(hist);
    return st;
}

/* Histogram of the word-topic counts: per thread, counts up to
 * BETA_HIST_CAP in bins and larger ones listed (sorted after the merge, so
 * that the sum does not depend on which thread found them). */
static lt_status optimize_beta_step(lda_gibbs *g)
{
    const size_t k = g->k, hstride = BETA_HIST_CAP + 1, t = (size_t)g->threads;
    lt_status st = LT_OK;
    uint32_t *hist = lt_calloc(t * hstride, sizeof *hist);
    uint64_t *sum = lt_calloc(hstride, sizeof *sum);
    double *sizes = lt_malloc(k, sizeof *sizes);
    count_list *big = lt_calloc(t, sizeof *big);
    uint64_t *all = NULL;
    if (!hist || !sum || !sizes || !big) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    word_pass(g, NULL, hist, big, NULL);
    size_t nbig = 0;
    for (size_t th = 0; th < t; th++) {
        if (big[th].failed) {
            st = lt_fail(LT_ERR_NOMEM, "LDA Gibbs: out of memory for the word-topic count histogram");
            goto done;
        }
        nbig += big[th].n;
        for (size_t c = 0; c < hstride; c++)
            sum[c] += hist[th * hstride + c];
    }
    if (nbig) {
        if (!(all = lt_malloc(nbig, sizeof *all))) {
            st = LT_ERR_NOMEM;
            goto done;
        }
        size_t at = 0;
        for (size_t th = 0; th < t; th++) {
            memcpy(all + at, big[th].v, big[th].n * sizeof *all);
            at += big[th].n;
        }
        qsort(all, nbig, sizeof *all, cmp_u64);
    }
    for (size_t i = 0; i < k; i++)
        sizes[i] = (double)g->ck[i];
    st = lda_minka_beta(g->v, sum, BETA_HIST_CAP, all, nbig, sizes, k, 200, &g->beta);
done:
    if (big)
        for (size_t th = 0; th < t; th++)
            free(big[th].v);
    free(big);
    free(all);
    free(hist);
    free(sum);
    free(sizes);
    return st;
}

lt_status lda_gibbs_optimize(lda_gibbs *g, int optimize_alpha, int optimize_beta)
{
    if (g->n == 0) return LT_OK;
    if (optimize_alpha) LT_CHECK(optimize_alpha_step(g, optimize_alpha));
    if (optimize_beta) LT_CHECK(optimize_beta_step(g));
    return LT_OK;
}

void lda_gibbs_assignments(const lda_gibbs *g, int32_t *z)
{
    for (size_t i = 0; i < g->n; i++)
        z[i] = (int32_t)g->dtok[i * g->stride + R_Z];
}

lt_status lda_gibbs_set_hyper(lda_gibbs *g, const double *alpha, double beta)
{
    if (!(beta > 0) || !isfinite(beta)) return lt_fail(LT_ERR_INVALID, "LDA Gibbs: beta = %g is not positive", beta);
    double sum = 0.0;
    for (size_t i = 0; i < g->k; i++) {
        if (!(alpha[i] > 0) || !isfinite(alpha[i]))
            return lt_fail(LT_ERR_INVALID, "LDA Gibbs: alpha[%zu] = %g is not positive", i, alpha[i]);
        sum += alpha[i];
    }
    memcpy(g->alpha, alpha, g->k * sizeof *g->alpha);
    g->alpha_sum = sum;
    g->beta = beta;
    LT_CHECK(alpha_table_build(&g->at, g->alpha, g->k));
    if (g->n) draw_doc_side(g); /* the word phase's proposals weigh sum alpha */
    return LT_OK;
}

const int32_t *lda_gibbs_topic_counts(const lda_gibbs *g)
{
    return g->ck;
}
const double *lda_gibbs_alpha(const lda_gibbs *g)
{
    return g->alpha;
}
double lda_gibbs_beta(const lda_gibbs *g)
{
    return g->beta;
}

void lda_gibbs_blocks(const lda_gibbs *g, size_t *word_blocks, size_t *doc_blocks)
{
    if (word_blocks) *word_blocks = g->nbw;
    if (doc_blocks) *doc_blocks = g->nbd;
}

lt_status lda_gibbs_check(const lda_gibbs *g)
{
    const size_t n = g->n, k = g->k;
    for (size_t d = 0; d < g->d; d++)
        for (uint32_t i = g->dptr[d]; i < g->dptr[d + 1]; i++) {
            const uint32_t *e = g->dtok + (size_t)i * g->stride;
            if (e[R_Z] >= k)
                return lt_fail(LT_ERR_NUMERIC, "Gibbs state: token %u has topic %u of %zu", (unsigned)i,
                               (unsigned)e[R_Z], k);
            if (e[R_POS] >= n || g->wtok[(size_t)e[R_POS] * g->stride + R_POS] != i)
                return lt_fail(LT_ERR_NUMERIC,
                               "Gibbs state: token %u and its word-major copy do not point at each other", (unsigned)i);
            if (g->wdoc[e[R_POS]] != d)
                return lt_fail(LT_ERR_NUMERIC,
                               "Gibbs state: the word-major copy of token %u names document %u, not %zu", (unsigned)i,
                               (unsigned)g->wdoc[e[R_POS]], d);
            if (rec_has_lo(g->mh) &&
                (e[R_LO] != g->wblk[g->words[i]] || g->wtok[(size_t)e[R_POS] * g->stride + R_LO] != g->dblk[d]))
                return lt_fail(LT_ERR_NUMERIC, "Gibbs state: token %u's records name the wrong blocks", (unsigned)i);
        }
    for (size_t w = 0; w < g->v; w++)
        for (uint32_t j = g->wptr[w]; j < g->wptr[w + 1]; j++)
            if ((size_t)g->words[g->wtok[(size_t)j * g->stride + R_POS]] != w)
                return lt_fail(LT_ERR_NUMERIC,
                               "Gibbs state: word-major token %u is filed under word %zu but is word %d", (unsigned)j,
                               w, (int)g->words[g->wtok[(size_t)j * g->stride + R_POS]]);
    int64_t *cnt = lt_calloc(k, sizeof *cnt);
    if (!cnt) return LT_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        cnt[g->dtok[i * g->stride + R_Z]]++;
    lt_status st = LT_OK;
    for (size_t i = 0; i < k; i++)
        if (cnt[i] != g->ck[i]) {
            st = lt_fail(LT_ERR_NUMERIC, "Gibbs state: topic %zu holds %lld tokens but its count says %d", i,
                         (long long)cnt[i], (int)g->ck[i]);
            break;
        }
    free(cnt);
    return st;
}

/* ---- fitting ---------------------------------------------------------------- */

lt_status lda_gibbs_fit(const lt_lda_options *o, const lt_corpus *c, const lda_gibbs_params *p, lt_lda **out)
{
    if (!out) return lt_fail(LT_ERR_INVALID, "LDA: no place for the model (out is NULL)");
    *out = NULL;
    lda_gibbs_params defaults;
    if (!p) {
        lda_gibbs_params_default(&defaults);
        p = &defaults;
    }
    lda_gibbs *g = NULL;
    LT_CHECK(lda_gibbs_create(o, c, p, &g));
    lt_lda *m = NULL;
    lt_status st = lt_lda_create(g->k, g->v, g->alpha[0], g->beta, &m);
    if (st != LT_OK) {
        lda_gibbs_free(g);
        return st;
    }
    const size_t iters = o->max_iter;
    /* the kept states: the last one and n_samples - 1 before it, `lag`
     * sweeps apart (10, or closer when there are few sweeps) */
    size_t ns = o->n_samples ? o->n_samples : 1;
    if (ns > iters) ns = iters ? iters : 1;
    size_t lag = 10;
    if (ns > 1 && (ns - 1) * lag >= iters) lag = (iters - 1) / (ns - 1);
    if (lag < 1) lag = 1;
    size_t kept = 0;
    double ll = NAN;
    for (size_t it = 1; it <= iters; it++) {
        lda_gibbs_sweep(g);
        ll = NAN;
        if (p->check && (st = lda_gibbs_check(g)) != LT_OK) {
            char msg[512];
            snprintf(msg, sizeof msg, "after sweep %zu", it);
            st = lt_fail_prefix(st, msg);
            goto done;
        }
        if ((o->optimize_alpha || o->optimize_beta) && it > o->burn_in && it % o->optimize_interval == 0 &&
            (st = lda_gibbs_optimize(g, o->optimize_alpha, o->optimize_beta)) != LT_OK)
            goto done;
        if (iters - it < ns * lag && (iters - it) % lag == 0) {
            word_pass(g, NULL, NULL, NULL, m->nkw);
            kept++;
        }
        if (o->progress) {
            ll = lda_gibbs_loglik(g);
            o->progress(o->progress_ud, "gibbs", it, iters, g->n ? ll / (double)g->n : 0.0);
        }
    }
    if (kept == 0) { /* no sweeps: the initial state */
        word_pass(g, NULL, NULL, NULL, m->nkw);
        kept = 1;
    }
    if (kept > 1) {
        const double inv = 1.0 / (double)kept;
        for (size_t i = 0; i < g->k * g->v; i++)
            m->nkw[i] *= inv;
    }
    lt_lda_update_totals(m);
    memcpy(m->alpha, g->alpha, g->k * sizeof *m->alpha);
    for (size_t w = 0; w < g->v; w++)
        m->beta[w] = g->beta;
    if (isnan(ll)) ll = lda_gibbs_loglik(g);
    if (!isfinite(ll)) {
        st = lt_fail(LT_ERR_NUMERIC, "LDA Gibbs: the log-likelihood of the final state is %g", ll);
        goto done;
    }
    m->algo = LT_LDA_GIBBS;
    m->n_iter = iters;
    m->n_docs = g->d;
    m->n_tokens = g->n;
    m->log_likelihood = g->n ? ll / (double)g->n : 0.0;
    m->seed = o->seed;
    if (c->vocab) st = lt_lda_set_vocab(m, c->vocab);
done:
    lda_gibbs_free(g);
    if (st != LT_OK) {
        lt_lda_free(m);
        return st;
    }
    *out = m;
    return LT_OK;
}

/* ---- fold-in ---------------------------------------------------------------- */

/* Per-thread scratch of the fold-in. */
typedef struct infer_scratch {
    int32_t *cd;   /* k, zero between documents */
    uint32_t *acc; /* k */
    uint32_t *z;   /* max document length */
    double *cum;   /* k (exact sampler) */
} infer_scratch;

lt_status lda_gibbs_infer(const lt_lda *m, const lt_corpus *c, size_t iters, uint64_t seed, int threads,
                          const lda_gibbs_params *p, double *theta)
{
    if (!m) return lt_fail(LT_ERR_INVALID, "LDA fold-in: no model given");
    if (!theta) return lt_fail(LT_ERR_INVALID, "LDA fold-in: no output buffer (theta is NULL)");
    if (iters < 1) return lt_fail(LT_ERR_INVALID, "LDA fold-in: iters must be at least 1 sweep");
    LT_CHECK(lda_check_corpus(c, m->v, "corpus to infer"));
    lda_gibbs_params defaults;
    if (!p) {
        lda_gibbs_params_default(&defaults);
        p = &defaults;
    }
    const size_t k = m->k, v = m->v, nd = c->n_docs;
    double a0 = 0.0;
    for (size_t i = 0; i < k; i++) {
        if (!(m->alpha[i] > 0) || !isfinite(m->alpha[i]))
            return lt_fail(LT_ERR_INVALID, "LDA model: alpha[%zu] = %g is not positive and finite", i, m->alpha[i]);
        a0 += m->alpha[i];
    }
    double bsum = 0.0;
    for (size_t w = 0; w < v; w++) {
        if (!(m->beta[w] > 0) || !isfinite(m->beta[w]))
            return lt_fail(LT_ERR_INVALID, "LDA model: beta[%zu] = %g is not positive and finite", w, m->beta[w]);
        bsum += m->beta[w];
    }
    for (size_t i = 0; i < k; i++)
        if (!(m->nk[i] >= 0) || !isfinite(m->nk[i]))
            return lt_fail(LT_ERR_INVALID, "LDA model: topic %zu has total %g", i, m->nk[i]);
    /* empty documents first: they need nothing else */
    for (size_t d = 0; d < nd; d++)
        if (c->doc_ptr[d] == c->doc_ptr[d + 1])
            for (size_t i = 0; i < k; i++)
                theta[d * k + i] = m->alpha[i] / a0;
    if (c->n_tokens == 0) return LT_OK;

    /* phi's columns for the words the corpus uses, as rows (float) */
    lt_status st = LT_OK;
    uint32_t *row = lt_malloc(v, sizeof *row);
    uint32_t *wlist = lt_malloc(v, sizeof *wlist);
    double *inv = lt_malloc(k, sizeof *inv);
    float *phit = NULL, *aprob = NULL;
    uint32_t *aalias = NULL;
    infer_scratch *scr = NULL;
    alpha_table at = {0};
    if (!row || !wlist || !inv) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    for (size_t w = 0; w < v; w++)
        row[w] = UINT32_MAX;
    size_t nr = 0, max_dlen = 0;
    for (size_t d = 0; d < nd; d++) {
        size_t len = c->doc_ptr[d + 1] - c->doc_ptr[d];
        if (len > max_dlen) max_dlen = len;
        for (size_t i = c->doc_ptr[d]; i < c->doc_ptr[d + 1]; i++)
            row[c->tokens[i]] = 0;
    }
    for (size_t w = 0; w < v; w++)
        if (row[w] == 0) {
            row[w] = (uint32_t)nr;
            wlist[nr++] = (uint32_t)w;
        }
    int ok = 1;
    size_t cells = lt_mul_size(nr, k, &ok);
    if (!ok || cells > ((size_t)1 << 30)) {
        st = lt_fail(LT_ERR_INVALID,
                     "LDA fold-in: the corpus uses %zu words; their %zu topics' probabilities would not fit in "
                     "4 GiB (use variational inference)",
                     nr, k);
        goto done;
    }
    int exact = p->infer_exact > 0 || (p->infer_exact == 0 && (k <= 8 || cells * 8 > ((size_t)1 << 30)));
    phit = lt_malloc(cells, sizeof *phit);
    if (!exact) {
        aprob = lt_malloc(cells, sizeof *aprob);
        aalias = lt_malloc(cells, sizeof *aalias);
    }
    if (!phit || (!exact && (!aprob || !aalias))) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < k; i++)
        inv[i] = 1.0 / (m->nk[i] + bsum);
    if ((st = alpha_table_build(&at, m->alpha, k)) != LT_OK) goto done;
    const int nt = lt_threads(threads);
    scr = lt_calloc((size_t)nt, sizeof *scr);
    if (!scr) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    int failed = 0;
#pragma omp parallel num_threads(nt)
    {
        const int th = omp_get_thread_num();
        double *col = lt_malloc(k, sizeof *col);
        double *prob = lt_malloc(k, sizeof *prob);
        double *scaled = lt_malloc(k, sizeof *scaled);
        uint32_t *work = lt_malloc(2 * k, sizeof *work);
        uint32_t *al = lt_malloc(k, sizeof *al);
        infer_scratch *s = &scr[th];
        s->cd = lt_calloc(k, sizeof *s->cd);
        s->acc = lt_calloc(k, sizeof *s->acc);
        s->z = lt_malloc(max_dlen ? max_dlen : 1, sizeof *s->z);
        s->cum = lt_malloc(k, sizeof *s->cum);
        if (!col || !prob || !scaled || !work || !al || !s->cd || !s->acc || !s->z || !s->cum) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp barrier
        int bad;
#pragma omp atomic read
        bad = failed;
        /* columns of phi, transposed in tiles of words so that the reads of
         * each topic's row of nkw stay close together */
        if (!bad) {
#pragma omp for schedule(dynamic, 1)
            for (size_t r0 = 0; r0 < nr; r0 += 64) {
                size_t r1 = r0 + 64 < nr ? r0 + 64 : nr;
                for (size_t i = 0; i < k; i++) {
                    const double *nrow = m->nkw + i * v;
                    for (size_t r = r0; r < r1; r++) {
                        uint32_t w = wlist[r];
                        double ph = (nrow[w] + m->beta[w]) * inv[i];
                        phit[r * k + i] = (float)(ph > 0 ? ph : 0.0);
                    }
                }
                if (!exact)
                    for (size_t r = r0; r < r1; r++) {
                        for (size_t i = 0; i < k; i++)
                            col[i] = phit[r * k + i];
                        alias_build(col, k, prob, al, work, scaled);
                        for (size_t i = 0; i < k; i++) {
                            aprob[r * k + i] = (float)prob[i];
                            aalias[r * k + i] = al[i];
                        }
                    }
            }
        }
        free(col);
        free(prob);
        free(scaled);
        free(work);
        free(al);
        const size_t burn = iters / 2, keep = iters - burn;
        const uint32_t kmax = (uint32_t)k - 1;
#pragma omp for schedule(dynamic, 16)
        for (size_t d = 0; d < nd; d++) {
            if (bad) continue;
            const size_t i0 = c->doc_ptr[d], n = c->doc_ptr[d + 1] - i0;
            if (n == 0) continue;
            const int32_t *tok = c->tokens + i0;
            int32_t *cd = s->cd;
            uint32_t *z = s->z;
            lt_rng rng;
            lda_rng_doc(&rng, seed, d);
            /* start from each word's topic distribution phi_.w */
            for (size_t i = 0; i < n; i++) {
                const size_t rw = (size_t)row[tok[i]] * k;
                uint32_t t;
                if (exact) {
                    double tot = 0.0;
                    for (size_t q = 0; q < k; q++)
                        s->cum[q] = (tot += phit[rw + q]);
                    double u = lt_rng_uniform(&rng) * tot;
                    t = 0;
                    while (t < kmax && s->cum[t] <= u)
                        t++;
                } else {
                    double x = (double)(rng_next(&rng) >> 11) * 0x1p-53 * (double)k;
                    t = (uint32_t)x;
                    if (t > kmax) t = kmax;
                    if (!(x - (double)t < aprob[rw + t])) t = aalias[rw + t];
                }
                z[i] = t;
                cd[t]++;
            }
            const double mass = (double)n + a0;
            for (size_t it = 0; it < iters; it++) {
                for (size_t i = 0; i < n; i++) {
                    const size_t rw = (size_t)row[tok[i]] * k;
                    const float *ph = phit + rw;
                    uint32_t s0 = z[i];
                    if (exact) {
                        cd[s0]--;
                        double tot = 0.0;
                        for (size_t q = 0; q < k; q++)
                            s->cum[q] = (tot += ((double)cd[q] + m->alpha[q]) * ph[q]);
                        double u = lt_rng_uniform(&rng) * tot;
                        uint32_t lo = 0, hi = kmax; /* first q with cum[q] > u */
                        while (lo < hi) {
                            uint32_t mid = (lo + hi) / 2;
                            if (s->cum[mid] > u)
                                hi = mid;
                            else
                                lo = mid + 1;
                        }
                        z[i] = lo;
                        cd[lo]++;
                        continue;
                    }
                    /* word proposal from phi_.w: accept on the document counts */
                    uint64_t r = rng_next(&rng);
                    double x = (double)(r >> 32) * 0x1p-32 * (double)k;
                    uint32_t t = (uint32_t)x;
                    if (t > kmax) t = kmax;
                    if (!(x - (double)t < aprob[rw + t])) t = aalias[rw + t];
                    double num = (double)cd[t] + m->alpha[t], den = (double)cd[s0] - 1.0 + m->alpha[s0];
                    if (t != s0 && (double)(uint32_t)r * 0x1p-32 * den < num) {
                        cd[s0]--;
                        cd[t]++;
                        s0 = t;
                    }
                    /* document proposal: accept on phi */
                    r = rng_next(&rng);
                    x = (double)(r >> 32) * 0x1p-32 * mass;
                    if (x < (double)n) {
                        size_t y = (size_t)x;
                        t = y == i ? s0 : z[y];
                    } else {
                        t = alpha_draw(&at, (x - (double)n) / a0);
                    }
                    if (t != s0 && (double)(uint32_t)r * 0x1p-32 * ph[s0] < ph[t]) {
                        cd[s0]--;
                        cd[t]++;
                        s0 = t;
                    }
                    z[i] = s0;
                }
                if (it >= burn)
                    for (size_t i = 0; i < n; i++)
                        s->acc[z[i]]++;
            }
            double *out = theta + d * k, norm = 1.0 / (mass);
            for (size_t q = 0; q < k; q++) {
                out[q] = ((double)s->acc[q] / (double)keep + m->alpha[q]) * norm;
                s->acc[q] = 0;
            }
            for (size_t i = 0; i < n; i++)
                cd[z[i]] = 0;
        }
    }
    if (failed) st = lt_fail(LT_ERR_NOMEM, "LDA fold-in: out of memory for the per-thread tables");
done:
    if (scr)
        for (int th = 0; th < lt_threads(threads); th++) {
            free(scr[th].cd);
            free(scr[th].acc);
            free(scr[th].z);
            free(scr[th].cum);
        }
    free(scr);
    alpha_table_free(&at);
    free(row);
    free(wlist);
    free(inv);
    free(phit);
    free(aprob);
    free(aalias);
    return st;
}

/* ---- the public entry points ------------------------------------------------ */

lt_status lt_lda_fit(const lt_lda_options *o, const lt_corpus *c, lt_lda **out)
{
    if (!out) return lt_fail(LT_ERR_INVALID, "LDA: no place for the model (out is NULL)");
    *out = NULL;
    if (!o) return lt_fail(LT_ERR_INVALID, "LDA: no options given");
    switch (o->algo) {
    case LT_LDA_GIBBS: return lda_gibbs_fit(o, c, NULL, out);
    case LT_LDA_VB:
    case LT_LDA_ONLINE_VB: return lda_vb_fit(o, c, out);
    }
    return lt_fail(LT_ERR_INVALID, "LDA options: unknown algorithm %d", (int)o->algo);
}

lt_status lt_lda_infer(const lt_lda *m, const lt_corpus *c, lt_lda_infer_method method, size_t iters, uint64_t seed,
                       int threads, double *theta)
{
    switch (method) {
    case LT_LDA_INFER_GIBBS: return lda_gibbs_infer(m, c, iters, seed, threads, NULL, theta);
    case LT_LDA_INFER_VB:
        if (!m) return lt_fail(LT_ERR_INVALID, "LDA inference: no model given");
        if (!theta) return lt_fail(LT_ERR_INVALID, "LDA inference: no output buffer (theta is NULL)");
        return lda_vb_infer(m, c, iters, threads, theta);
    }
    return lt_fail(LT_ERR_INVALID, "LDA inference: unknown method %d", (int)method);
}
