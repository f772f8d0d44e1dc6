/* latent — LDA evaluation: held-out log-likelihood estimates, the exact
 * log-likelihood of tiny documents, topic coherence, and sampling.
 *
 * Throughout, the topics are fixed at phi = lt_lda_topics(m) and theta is
 * integrated out, as LDA defines p(w_d):
 *     p(w_d) = sum_z [ Gamma(A) / Gamma(A + N) prod_k Gamma(alpha_k + n_k) / Gamma(alpha_k) ] prod_i phi_{z_i, w_i}
 * with A = sum_k alpha_k and n_k the tokens of topic k under z (the
 * Dirichlet-multinomial, or Polya, prior over z).
 *
 * Left-to-right (Wallach, Murray, Salakhutdinov and Mimno 2009, "Evaluation
 * methods for topic models", Algorithm 3): p(w) = prod_n p(w_n | w_<n); each
 * of R particles walks the tokens in order, and at position n first
 * resamples every earlier assignment z_n' from
 *     P(z_n' = t | ...) ∝ phi_{t, w_n'} (n_t^{<n, \n'} + alpha_t),
 * then computes g_n = sum_t phi_{t, w_n} (n_t^{<n} + alpha_t) / (n - 1 + A)
 * and samples z_n from the same terms. Algorithm 3 as printed estimates
 * p(w_n | w_<n) by the plain mean of g_n over particles; that is biased
 * (Buntine 2009: the particles are not draws from p(z_<n | w_<n), the
 * resampling sweep only moves them towards it), by 0.05 nats on a
 * four-token document of one repeated word whatever R. Here each particle
 * carries the weight prod_{m<n} g_m, the estimate is the weighted mean
 * sum_r W_r g_n^r, and the particles are resampled (systematically) when
 * their effective number falls below R / 2: sequential Monte Carlo with the
 * Gibbs sweep as its move, whose estimate of p(w) is unbiased, and equal to
 * Algorithm 3's whenever the weights are equal. log p(w) = sum_n log of
 * those means. A document's tokens are taken in an order drawn from its
 * random stream (the corpus keeps them grouped by word; p(w) does not
 * depend on the order).
 *
 * Document completion: a document's odd-numbered tokens (1st, 3rd, ...,
 * which split each word's occurrences evenly because the corpus groups them)
 * inform a Gibbs fold-in with the topics fixed; the mixture estimate
 *     theta_k = mean over the second half of the sweeps of (n_k + alpha_k) / (N_obs + A)
 * (the posterior mean of theta, Rao-Blackwellised) scores the even-numbered
 * tokens: sum_i log sum_k theta_k phi_{k, w_i}. For one scored token that is
 * exactly log p(w_i | observed half); for more it treats them as
 * independent given the estimated mixture.
 *
 * Every document draws from its own stream of the seed (lda_rng_doc), so
 * the estimates do not depend on the thread count.
 */
#include "lda_internal.h"

#include "latent/rng.h"

#include "../core/internal.h"
#include "../core/par.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* phi transposed: V x K, a word's K probabilities side by side. */
static double *topics_by_word(const lt_lda *m)
{
    size_t K = m->k, V = m->v;
    double *phi = lt_malloc(K * V, sizeof *phi), *t = lt_malloc(K * V, sizeof *t);
    if (!phi || !t) {
        free(phi);
        free(t);
        return NULL;
    }
    lt_lda_topics(m, phi);
    for (size_t k = 0; k < K; k++)
        for (size_t w = 0; w < V; w++)
            t[w * K + k] = phi[k * V + w];
    free(phi);
    return t;
}

/* Index drawn with probability q[i] / total (q[i] >= 0, total their sum). */
static inline size_t draw(lt_rng *r, const double *q, size_t k, double total)
{
    double u = lt_rng_uniform(r) * total;
    for (size_t i = 0; i + 1 < k; i++) {
        u -= q[i];
        if (u < 0) return i;
    }
    /* Rounding may leave u >= 0 past the end: the last topic with weight. */
    for (size_t i = k; i-- > 0;)
        if (q[i] > 0) return i;
    return k - 1;
}

/* ------------------------------------------------------------ left-to-right */

typedef struct ltr_work {
    int32_t *tok; /* n: the document in walking order */
    int32_t *z;   /* R x n */
    int32_t *z2;  /* R x n: resampling scratch */
    double *nk;   /* R x K */
    double *nk2;  /* R x K: resampling scratch */
    double *pn;   /* max(n, K): completion's mixture */
    double *q;    /* K */
    double *lw;   /* R: log weights */
    double *g;    /* R: this position's predictive probabilities */
} ltr_work;

/* Systematic resampling of the R particles (positions 0..i) by their
 * weights w (normalised); one uniform draw. */
static void resample(ltr_work *w, size_t R, size_t n, size_t K, size_t i, const double *wt, lt_rng *rng)
{
    double u = lt_rng_uniform(rng) / (double)R, c = wt[0];
    size_t src = 0;
    for (size_t r = 0; r < R; r++) {
        double target = u + (double)r / (double)R;
        while (c < target && src + 1 < R)
            c += wt[++src];
        memcpy(w->z2 + r * n, w->z + src * n, (i + 1) * sizeof *w->z);
        memcpy(w->nk2 + r * K, w->nk + src * K, K * sizeof *w->nk);
    }
    int32_t *tz = w->z;
    w->z = w->z2;
    w->z2 = tz;
    double *tn = w->nk;
    w->nk = w->nk2;
    w->nk2 = tn;
}

static double left_to_right(const lt_lda *m, const double *phit, const int32_t *tokens, size_t n, size_t R, lt_rng *rng,
                            ltr_work *w)
{
    size_t K = m->k;
    const double *alpha = m->alpha;
    double asum = 0.0;
    for (size_t k = 0; k < K; k++)
        asum += alpha[k];
    memcpy(w->tok, tokens, n * sizeof *w->tok);
    for (size_t i = n; i > 1; i--) { /* Fisher-Yates */
        size_t j = (size_t)lt_rng_below(rng, i);
        int32_t t = w->tok[i - 1];
        w->tok[i - 1] = w->tok[j];
        w->tok[j] = t;
    }
    memset(w->nk, 0, R * K * sizeof *w->nk);
    memset(w->lw, 0, R * sizeof *w->lw);
    double lp = 0.0, *q = w->q, *g = w->g;
    for (size_t i = 0; i < n; i++) {
        const double *phw = phit + (size_t)w->tok[i] * K;
        for (size_t r = 0; r < R; r++) {
            int32_t *z = w->z + r * n;
            double *nk = w->nk + r * K;
            /* Rejuvenate: a Gibbs sweep over the earlier tokens (it leaves
             * p(z_<i | w_<i) invariant, so the weights stand). */
            for (size_t j = 0; j < i; j++) {
                const double *ph = phit + (size_t)w->tok[j] * K;
                nk[z[j]] -= 1.0;
                double tot = 0.0;
                for (size_t k = 0; k < K; k++)
                    tot += q[k] = ph[k] * (nk[k] + alpha[k]);
                z[j] = (int32_t)draw(rng, q, K, tot);
                nk[z[j]] += 1.0;
            }
            double tot = 0.0;
            for (size_t k = 0; k < K; k++)
                tot += q[k] = phw[k] * (nk[k] + alpha[k]);
            g[r] = tot / ((double)i + asum); /* p(w_i | z_<i) */
            z[i] = (int32_t)draw(rng, q, K, tot);
            nk[z[i]] += 1.0;
        }
        /* p(w_i | w_<i) ~ sum_r W_r g_r with the normalised weights W. */
        double mx = -INFINITY;
        for (size_t r = 0; r < R; r++)
            if (w->lw[r] > mx) mx = w->lw[r];
        double sw = 0.0, swg = 0.0;
        for (size_t r = 0; r < R; r++) {
            double e = exp(w->lw[r] - mx);
            sw += e;
            swg += e * g[r];
        }
        lp += log(swg / sw);
        /* New weights W_r g_r; resample when their effective number falls
         * below half the particles (the estimate stays unbiased). */
        mx = -INFINITY;
        for (size_t r = 0; r < R; r++) {
            w->lw[r] += log(g[r]);
            if (w->lw[r] > mx) mx = w->lw[r];
        }
        if (i + 1 < n && R > 1) {
            double s1 = 0.0, s2 = 0.0;
            for (size_t r = 0; r < R; r++) {
                g[r] = exp(w->lw[r] - mx);
                s1 += g[r];
                s2 += g[r] * g[r];
            }
            if (s1 * s1 < 0.5 * (double)R * s2) {
                for (size_t r = 0; r < R; r++)
                    g[r] /= s1;
                resample(w, R, n, K, i, g, rng);
                memset(w->lw, 0, R * sizeof *w->lw);
            }
        }
    }
    return lp;
}

/* ------------------------------------------------------------ completion */

/* Returns log p of the even-numbered tokens; *scored receives their count. */
static double completion(const lt_lda *m, const double *phit, const int32_t *tokens, size_t n, size_t iters,
                         lt_rng *rng, ltr_work *w, size_t *scored)
{
    size_t K = m->k, no = (n + 1) / 2;
    const double *alpha = m->alpha;
    *scored = n / 2;
    if (n < 2) return 0.0;
    double asum = 0.0;
    for (size_t k = 0; k < K; k++)
        asum += alpha[k];
    int32_t *z = w->z;
    double *nk = w->nk, *q = w->q, *theta = w->pn; /* pn holds K here */
    memset(nk, 0, K * sizeof *nk);
    memset(theta, 0, K * sizeof *theta);
    /* Start: each observed token drawn given those before it. */
    for (size_t i = 0; i < no; i++) {
        const double *ph = phit + (size_t)tokens[2 * i] * K;
        double tot = 0.0;
        for (size_t k = 0; k < K; k++)
            tot += q[k] = ph[k] * (nk[k] + alpha[k]);
        z[i] = (int32_t)draw(rng, q, K, tot);
        nk[z[i]] += 1.0;
    }
    size_t kept = 0;
    for (size_t s = 0; s < iters; s++) {
        for (size_t i = 0; i < no; i++) {
            const double *ph = phit + (size_t)tokens[2 * i] * K;
            nk[z[i]] -= 1.0;
            double tot = 0.0;
            for (size_t k = 0; k < K; k++)
                tot += q[k] = ph[k] * (nk[k] + alpha[k]);
            z[i] = (int32_t)draw(rng, q, K, tot);
            nk[z[i]] += 1.0;
        }
        if (s >= iters / 2) {
            for (size_t k = 0; k < K; k++)
                theta[k] += (nk[k] + alpha[k]) / ((double)no + asum);
            kept++;
        }
    }
    if (kept == 0) { /* no sweeps: the starting state */
        for (size_t k = 0; k < K; k++)
            theta[k] = (nk[k] + alpha[k]) / ((double)no + asum);
        kept = 1;
    }
    double lp = 0.0;
    for (size_t i = 1; i < n; i += 2) {
        const double *ph = phit + (size_t)tokens[i] * K;
        double p = 0.0;
        for (size_t k = 0; k < K; k++)
            p += theta[k] * ph[k];
        lp += log(p / (double)kept);
    }
    return lp;
}

/* ------------------------------------------------------------ score */

/* Method strings are static: each distinct text is kept once, for the life
 * of the process (a handful of particle counts at most). */
static const char *method_text(lt_lda_estimator e, size_t n)
{
    enum { SLOTS = 64 };
    static struct {
        int e;
        size_t n;
        char text[160];
    } slots[SLOTS];
    static int used;
    const char *out = NULL;
#pragma omp critical(lt_lda_method_text)
    {
        for (int i = 0; i < used && !out; i++)
            if (slots[i].e == (int)e && slots[i].n == n) out = slots[i].text;
        if (!out && used < SLOTS) {
            slots[used].e = (int)e;
            slots[used].n = n;
            if (e == LT_LDA_LEFT_TO_RIGHT)
                snprintf(slots[used].text, sizeof slots[used].text,
                         "left-to-right estimator (Wallach et al. 2009, weighted particles), %zu particles", n);
            else
                snprintf(slots[used].text, sizeof slots[used].text,
                         "document completion: odd-numbered tokens inform a Gibbs fold-in of %zu sweeps, "
                         "even-numbered tokens scored",
                         n);
            out = slots[used++].text;
        }
    }
    if (!out)
        out = e == LT_LDA_LEFT_TO_RIGHT ? "left-to-right estimator (Wallach et al. 2009, weighted particles)"
                                        : "document completion: odd-numbered tokens inform a Gibbs fold-in, "
                                          "even-numbered tokens scored";
    return out;
}

lt_status lt_lda_score(const lt_lda *m, const lt_corpus *c, const lt_lda_score_options *o_in, double *logp,
                       lt_score *summary)
{
    lt_lda_score_options o;
    if (o_in)
        o = *o_in;
    else
        lt_lda_score_options_default(&o);
    if (o.estimator != LT_LDA_LEFT_TO_RIGHT && o.estimator != LT_LDA_COMPLETION)
        return lt_fail(LT_ERR_INVALID, "unknown LDA estimator %d", (int)o.estimator);
    if (o.estimator == LT_LDA_LEFT_TO_RIGHT && o.particles < 1)
        return lt_fail(LT_ERR_INVALID, "the left-to-right estimator needs at least one particle");
    LT_CHECK(lda_check_corpus(c, m->v, "the corpus to score"));
    size_t D = c->n_docs, K = m->k, nmax = 0;
    for (size_t d = 0; d < D; d++) {
        size_t n = c->doc_ptr[d + 1] - c->doc_ptr[d];
        if (n > nmax) nmax = n;
    }
    size_t R = o.estimator == LT_LDA_LEFT_TO_RIGHT ? o.particles : 1;
    int ok = 1;
    size_t zlen = lt_mul_size(R, nmax ? nmax : 1, &ok);
    if (!ok || zlen > ((size_t)1 << 32))
        return lt_fail(LT_ERR_INVALID, "%zu particles x %zu tokens (the longest document) is too much to score", R,
                       nmax);
    int nt = lt_threads(o.threads);
    double *phit = topics_by_word(m);
    double *lp = lt_malloc(D ? D : 1, sizeof *lp), *len = lt_malloc(D ? D : 1, sizeof *len);
    ltr_work *ws = lt_calloc((size_t)nt, sizeof *ws);
    lt_status st = phit && lp && len && ws ? LT_OK : LT_ERR_NOMEM;
    for (int t = 0; st == LT_OK && t < nt; t++) {
        size_t nb = nmax > K ? nmax : K;
        int ltr = o.estimator == LT_LDA_LEFT_TO_RIGHT;
        ws[t].tok = lt_malloc(nmax ? nmax : 1, sizeof(int32_t));
        ws[t].z = lt_malloc(zlen, sizeof(int32_t));
        ws[t].z2 = ltr ? lt_malloc(zlen, sizeof(int32_t)) : NULL;
        ws[t].nk = lt_malloc(R, K * sizeof(double));
        ws[t].nk2 = ltr ? lt_malloc(R, K * sizeof(double)) : NULL;
        ws[t].pn = lt_malloc(nb, sizeof(double));
        ws[t].q = lt_malloc(K, sizeof(double));
        ws[t].lw = lt_malloc(R, sizeof(double));
        ws[t].g = lt_malloc(R, sizeof(double));
        if (!ws[t].tok || !ws[t].z || !ws[t].nk || !ws[t].pn || !ws[t].q || !ws[t].lw || !ws[t].g ||
            (ltr && (!ws[t].z2 || !ws[t].nk2)))
            st = LT_ERR_NOMEM;
    }
    if (st != LT_OK) goto done;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (size_t d = 0; d < D; d++) {
        ltr_work *w = ws + omp_get_thread_num();
        const int32_t *tk = c->tokens + c->doc_ptr[d];
        size_t n = c->doc_ptr[d + 1] - c->doc_ptr[d];
        lt_rng rng;
        lda_rng_doc(&rng, o.seed, d);
        if (o.estimator == LT_LDA_LEFT_TO_RIGHT) {
            lp[d] = n ? left_to_right(m, phit, tk, n, R, &rng, w) : 0.0;
            len[d] = (double)n;
        } else {
            size_t scored = 0;
            lp[d] = completion(m, phit, tk, n, o.iters, &rng, w, &scored);
            len[d] = (double)scored;
        }
    }
    double total = 0.0, count = 0.0;
    size_t nd = 0;
    for (size_t d = 0; d < D; d++) {
        total += lp[d];
        count += len[d];
        nd += len[d] > 0;
    }
    if (!(count > 0)) {
        st = lt_fail(LT_ERR_INVALID, o.estimator == LT_LDA_LEFT_TO_RIGHT
                                         ? "nothing to score: the corpus has no tokens"
                                         : "nothing to score: document completion scores the even-numbered tokens, "
                                           "and no document has two tokens");
        goto done;
    }
    for (size_t d = 0; d < D; d++)
        if (!isfinite(lp[d])) {
            st = lt_fail(LT_ERR_NUMERIC,
                         "document %zu: its log-likelihood is %g (the model gives a word of it zero "
                         "probability)",
                         d + 1, lp[d]);
            goto done;
        }
    if (logp) memcpy(logp, lp, D * sizeof *lp);
    if (summary) {
        /* The mean per token is a ratio over documents: its standard error by
         * the ratio (delta-method) formula, as the HMM scores per step. */
        double mean = total / count, ss = 0.0;
        for (size_t d = 0; d < D; d++) {
            double e = lp[d] - mean * len[d];
            ss += e * e;
        }
        summary->mean = mean;
        summary->total = total;
        summary->count = (size_t)count;
        summary->stderr_mean = nd > 1 ? sqrt((double)nd / (double)(nd - 1) * ss) / count : NAN;
        summary->kind = LT_SCORE_ESTIMATE;
        summary->unit = "token";
        summary->method = method_text(o.estimator, o.estimator == LT_LDA_LEFT_TO_RIGHT ? o.particles : o.iters);
    }
done:
    if (ws)
        for (int t = 0; t < nt; t++) {
            free(ws[t].tok);
            free(ws[t].z);
            free(ws[t].z2);
            free(ws[t].nk);
            free(ws[t].nk2);
            free(ws[t].pn);
            free(ws[t].q);
            free(ws[t].lw);
            free(ws[t].g);
        }
    free(ws);
    free(len);
    free(lp);
    free(phit);
    return st;
}

/* ------------------------------------------------------------ exact */

lt_status lt_lda_exact_logp(const lt_lda *m, const int32_t *tokens, size_t n, double *logp)
{
    size_t K = m->k;
    if (n == 0) {
        *logp = 0.0;
        return LT_OK;
    }
    if (!tokens) return lt_fail(LT_ERR_INVALID, "no tokens");
    double states = pow((double)K, (double)n);
    if (states > 1e7)
        return lt_fail(LT_ERR_INVALID, "exact log p enumerates K^N = %zu^%zu = %.3g assignments (at most 1e7)", K, n,
                       states);
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || (size_t)tokens[i] >= m->v)
            return lt_fail(LT_ERR_INVALID, "token %zu is word %ld, outside the model's %zu words", i + 1,
                           (long)tokens[i], m->v);
    double *lphi = lt_malloc(n, K * sizeof *lphi);   /* n x K: log phi_{k, w_i} */
    double *lg = lt_malloc(K, (n + 1) * sizeof *lg); /* K x (n+1): lgamma(alpha_k + c) */
    size_t *z = lt_calloc(n, sizeof *z), *cnt = lt_calloc(K, sizeof *cnt);
    double *phi = lt_malloc(K, m->v * sizeof *phi);
    lt_status st = lphi && lg && z && cnt && phi ? LT_OK : LT_ERR_NOMEM;
    if (st == LT_OK) {
        lt_lda_topics(m, phi);
        double asum = 0.0, lga = 0.0;
        for (size_t k = 0; k < K; k++) {
            asum += m->alpha[k];
            lga += lda_lgamma(m->alpha[k]);
            for (size_t c = 0; c <= n; c++)
                lg[k * (n + 1) + c] = lda_lgamma(m->alpha[k] + (double)c);
        }
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < K; k++)
                lphi[i * K + k] = log(phi[k * m->v + (size_t)tokens[i]]);
        double base = lda_lgamma(asum) - lda_lgamma(asum + (double)n) - lga;
        /* Odometer over z, all in topic 0 first. */
        cnt[0] = n;
        double sphi = 0.0;
        for (size_t i = 0; i < n; i++)
            sphi += lphi[i * K];
        double mx = -INFINITY, acc = 0.0;
        for (;;) {
            double v = base + sphi;
            for (size_t k = 0; k < K; k++)
                v += lg[k * (n + 1) + cnt[k]];
            if (v > mx) {
                acc = acc * exp(mx - v) + 1.0;
                mx = v;
            } else if (v > -INFINITY) {
                acc += exp(v - mx);
            }
            size_t i = 0;
            while (i < n) {
                size_t old = z[i], nw = old + 1 == K ? 0 : old + 1;
                cnt[old]--;
                cnt[nw]++;
                sphi += lphi[i * K + nw] - lphi[i * K + old];
                z[i] = nw;
                if (nw != 0) break;
                i++;
            }
            if (i == n) break;
        }
        *logp = mx + log(acc);
    }
    free(phi);
    free(cnt);
    free(z);
    free(lg);
    free(lphi);
    return st;
}

/* ------------------------------------------------------------ coherence */

lt_status lt_lda_coherence(const lt_lda *m, const lt_corpus *ref, size_t top_n, double *umass, double *npmi)
{
    size_t K = m->k, V = m->v;
    if (top_n < 2 || top_n > V)
        return lt_fail(LT_ERR_INVALID, "coherence needs between 2 and %zu top words per topic (got %zu)", V, top_n);
    LT_CHECK(lda_check_corpus(ref, V, "the reference corpus"));
    if (ref->n_docs == 0) return lt_fail(LT_ERR_INVALID, "the reference corpus has no documents");
    size_t D = ref->n_docs, tn = top_n;
    int32_t *top = lt_malloc(K, tn * sizeof *top);
    size_t *seen = lt_malloc(V, sizeof *seen); /* last document (+1) a word was seen in */
    double *df = lt_calloc(K, tn * sizeof *df);
    double *co = lt_calloc(K, tn * tn * sizeof *co);
    lt_status st = top && seen && df && co ? LT_OK : LT_ERR_NOMEM;
    if (st != LT_OK) goto done;
    for (size_t k = 0; k < K; k++)
        lt_lda_top_words(m, k, tn, top + k * tn);
    memset(seen, 0, V * sizeof *seen);
    for (size_t d = 0; d < D; d++) {
        for (size_t i = ref->doc_ptr[d]; i < ref->doc_ptr[d + 1]; i++)
            seen[ref->tokens[i]] = d + 1;
        for (size_t k = 0; k < K; k++) {
            const int32_t *t = top + k * tn;
            for (size_t i = 0; i < tn; i++) {
                if (seen[t[i]] != d + 1) continue;
                df[k * tn + i] += 1.0;
                for (size_t j = i + 1; j < tn; j++)
                    if (seen[t[j]] == d + 1) co[(k * tn + i) * tn + j] += 1.0;
            }
        }
    }
    double nd = (double)D;
    for (size_t k = 0; k < K; k++) {
        const double *f = df + k * tn, *cc = co + k * tn * tn;
        double su = 0.0, sn = 0.0;
        size_t nu = 0, npairs = 0;
        for (size_t i = 0; i < tn; i++)
            for (size_t j = i + 1; j < tn; j++) {
                double dij = cc[i * tn + j];
                /* UMass: the more probable word i conditions the less probable j. */
                if (f[i] > 0) {
                    su += log((dij + 1.0) / f[i]);
                    nu++;
                }
                double v;
                if (dij == 0)
                    v = -1.0; /* never together: the limit of NPMI */
                else if (dij == nd)
                    v = 1.0; /* together in every document */
                else {
                    double pij = dij / nd;
                    v = log(pij / ((f[i] / nd) * (f[j] / nd))) / -log(pij);
                }
                sn += v;
                npairs++;
            }
        if (umass) umass[k] = nu ? su / (double)nu : NAN;
        if (npmi) npmi[k] = sn / (double)npairs;
    }
done:
    free(co);
    free(df);
    free(seen);
    free(top);
    return st;
}

/* ------------------------------------------------------------ sampling */

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

lt_status lt_lda_sample(const lt_lda *m, size_t n_docs, size_t doc_len, uint64_t seed, lt_corpus **out, double *theta)
{
    *out = NULL;
    size_t K = m->k, V = m->v;
    if (n_docs < 1) return lt_fail(LT_ERR_INVALID, "sampling needs at least one document");
    if (V > (size_t)INT32_MAX) return lt_fail(LT_ERR_INVALID, "the model's %zu words do not fit 32-bit ids", V);
    int ok = 1;
    size_t ntok = lt_mul_size(n_docs, doc_len, &ok);
    if (!ok || ntok > ((size_t)1 << 34))
        return lt_fail(LT_ERR_INVALID, "%zu documents of %zu tokens is too large a sample", n_docs, doc_len);
    lt_corpus *c = lt_calloc(1, sizeof *c);
    double *cdf = lt_malloc(K, V * sizeof *cdf), *th = lt_malloc(K, sizeof *th);
    if (!c || !cdf || !th) {
        free(c);
        free(cdf);
        free(th);
        return LT_ERR_NOMEM;
    }
    c->n_docs = n_docs;
    c->n_vocab = V;
    c->n_tokens = ntok;
    c->doc_ptr = lt_malloc(n_docs + 1, sizeof *c->doc_ptr);
    c->tokens = lt_malloc(ntok ? ntok : 1, sizeof *c->tokens);
    lt_status st = c->doc_ptr && c->tokens ? LT_OK : LT_ERR_NOMEM;
    if (st == LT_OK) st = lt_vocab_copy(m->vocab, V, &c->vocab);
    if (st != LT_OK) {
        free(cdf);
        free(th);
        lt_corpus_free(c);
        return st;
    }
    lt_lda_topics(m, cdf);
    for (size_t k = 0; k < K; k++) {
        double *row = cdf + k * V, s = 0.0;
        for (size_t w = 0; w < V; w++)
            row[w] = s += row[w];
    }
    lt_rng rng;
    lt_rng_seed(&rng, seed);
    for (size_t d = 0; d < n_docs; d++) {
        c->doc_ptr[d] = d * doc_len;
        lt_rng_dirichlet(&rng, m->alpha, K, th);
        if (theta) memcpy(theta + d * K, th, K * sizeof *th);
        int32_t *tk = c->tokens + d * doc_len;
        for (size_t i = 0; i < doc_len; i++) {
            size_t z = lt_rng_categorical(&rng, th, K);
            const double *row = cdf + z * V;
            double u = lt_rng_uniform(&rng) * row[V - 1];
            size_t lo = 0, hi = V - 1; /* the first w with row[w] > u */
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (row[mid] > u)
                    hi = mid;
                else
                    lo = mid + 1;
            }
            tk[i] = (int32_t)lo;
        }
        qsort(tk, doc_len, sizeof *tk, cmp_i32);
    }
    c->doc_ptr[n_docs] = ntok;
    c->n_empty_docs = doc_len == 0 ? n_docs : 0;
    free(cdf);
    free(th);
    *out = c;
    return LT_OK;
}
