/* Hidden Markov models: forward-backward, Viterbi and Baum-Welch.
 *
 * K states, start pi, transitions A (A_ij = p(z_t = j | z_t-1 = i)) and
 * emission log-densities l_t(j) = log b_j(x_t), which src/models/hmm_emit.c
 * computes for every emission type.
 *
 * Scaled forward (Rabiner 1989), with each emission row shifted by its
 * maximum m_t = max_j l_t(j), so b'_t(j) = exp(l_t(j) - m_t) lies in [0, 1]
 * and is 1 for the best state, however small the densities themselves are:
 *
 *   a_1(j) = pi_j b'_1(j) / c_1,    a_t(j) = [sum_i a_t-1(i) A_ij] b'_t(j) / c_t,
 *
 * with c_t making sum_j a_t(j) = 1, so a_t(j) = p(z_t = j | x_1..t) and
 *
 *   log p(x_1..T) = sum_t (log c_t + m_t).
 *
 * Backward, rescaled to a largest entry of 1 at each step (any positive
 * scale will do, because the posteriors are normalised explicitly):
 *
 *   u_t(i) = sum_j A_ij b'_t+1(j) beta_t+1(j),   Z_t = sum_i a_t(i) u_t(i),
 *   gamma_t(i) = a_t(i) u_t(i) / Z_t,
 *   xi_t(i, j) = a_t(i) A_ij b'_t+1(j) beta_t+1(j) / Z_t,
 *   beta_t = u_t / max_i u_t(i),   beta_T = 1.
 *
 * Every number is probability-sized: b' and beta are at most 1 and a sums
 * to 1, so nothing underflows for any length. c_t and Z_t can only become
 * tiny when the model makes a step nearly impossible (a transition of
 * 1e-300, say); should one fall below SCALE_MIN, that sequence is redone in
 * log space (normalised log-sum-exp recursions, same outputs), which cannot
 * lose precision. A sequence whose probability is exactly zero (a forbidden
 * transition, a symbol no state emits) has log p = -inf.
 *
 * Viterbi: max-product in log space (log A with -inf for zeros), the running
 * maximum subtracted at each step so the numbers stay small however long
 * the sequence; ties go to the lower state index. Posterior (MAP per step)
 * decoding is the argmax of gamma (lt_hmm_posteriors).
 *
 * Baum-Welch (Baum et al. 1970): the E-step keeps gamma for every step
 * (total x K, for the emission M-step), the expected start counts
 * S_j = sum_seq gamma_1(j) and the expected transition counts
 * N_ij = sum_seq sum_t xi_t(i, j). M-step with Dirichlet priors (MAP-EM, as
 * hmmlearn), alpha - 1 pseudo-counts:
 *
 *   pi_j ∝ max(0, S_j + alpha_s - 1),
 *   A_ij ∝ max(0, N_ij + alpha_t - 1) where the mask allows i -> j, else 0,
 *
 * so structural zeros stay exactly zero. A state that is (almost) never left
 * gets a uniform row over its allowed targets (counted as a repair); the
 * emissions are re-estimated, and repaired, by hmm_emit_mstep.
 *
 * Determinism: the sequences are grouped into a fixed number of blocks of
 * about equal steps, a function of the lengths and K only; each block sums
 * its counts in sequence and step order and the blocks are reduced in block
 * order, so results do not depend on the thread count. The recursions are
 * sequential in t, so one long sequence is one block and runs on one thread.
 *
 * References: L. R. Rabiner, "A tutorial on hidden Markov models and
 * selected applications in speech recognition" (1989); Bishop, PRML ch. 13;
 * hmmlearn (priors, params / init_params letters).
 */
#include "latent/hmm.h"
#include "latent/rng.h"
#include "latent/safetensors.h"

#include "hmm_emit.h"
#include "internal.h"
#include "par.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCALE_MIN 1e-280     /* a scale below this may have lost digits: redo in log space */
#define SCORE_CHUNK 1024     /* steps of emissions per call when only the forward pass runs */
#define BATCH_STEPS 1024     /* short sequences whose emissions are computed in one call */
#define MIN_BLOCK_STEPS 2048 /* steps per block of sequences, at least (unless fewer sequences) */
#define MAX_BLOCKS 256
#define STATS_BYTES ((size_t)64 << 20) /* per-block expected counts, at most */
#define EMPTY_ROW 1e-10                /* expected transitions out of a state below which its row is reset */
#define SUM_TOL 1e-6                   /* probabilities must sum to 1 within this */

/* ---------------------------------------------------------------- names */

const char *lt_emission_name(lt_emission e)
{
    switch (e) {
    case LT_EMIT_CATEGORICAL: return "categorical";
    case LT_EMIT_GAUSSIAN: return "gaussian";
    case LT_EMIT_GMM: return "gmm";
    case LT_EMIT_POISSON: return "poisson";
    }
    return "unknown";
}

lt_status lt_emission_parse(const char *s, lt_emission *out)
{
    static const lt_emission all[] = {LT_EMIT_CATEGORICAL, LT_EMIT_GAUSSIAN, LT_EMIT_GMM, LT_EMIT_POISSON};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (s && strcmp(s, lt_emission_name(all[i])) == 0) {
            *out = all[i];
            return LT_OK;
        }
    return lt_fail(LT_ERR_INVALID, "emission '%s' is not one of categorical, gaussian, gmm, poisson", s ? s : "");
}

lt_status lt_hmm_params_parse(const char *letters, unsigned *out)
{
    if (!letters) return lt_fail(LT_ERR_INVALID, "no parameter letters given");
    unsigned f = 0;
    for (const char *p = letters; *p; p++) {
        switch (*p) {
        case 's': f |= LT_HMM_START; break;
        case 't': f |= LT_HMM_TRANS; break;
        case 'e':
        case 'm':
        case 'c':
        case 'w': f |= LT_HMM_EMIT; break;
        default:
            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
                return lt_fail(LT_ERR_INVALID,
                               "parameter letters: byte 0x%02x is not one of s (start), t (transitions), "
                               "e (emissions; also m, c, w)",
                               (unsigned)(unsigned char)*p);
            return lt_fail(LT_ERR_INVALID,
                           "parameter letter '%c' in \"%s\" is not one of s (start), t (transitions), "
                           "e (emissions; also m, c, w)",
                           *p, letters);
        }
    }
    *out = f;
    return LT_OK;
}

void lt_hmm_options_default(lt_hmm_options *o)
{
    memset(o, 0, sizeof *o);
    o->k = 2;
    o->emission = LT_EMIT_CATEGORICAL;
    o->cov = LT_COV_DIAG;
    o->n_mix = 2;
    o->params = LT_HMM_ALL;
    o->init_params = LT_HMM_ALL;
    o->start_prior = 1.0;
    o->trans_prior = 1.0;
    o->tol = 1e-4;
    o->max_iter = 100;
    o->n_init = 1;
    o->reg_covar = 1e-6;
}

/* ------------------------------------------------------- model objects */

static int cov_valid(lt_cov_type c)
{
    return c == LT_COV_FULL || c == LT_COV_DIAG || c == LT_COV_SPHERICAL || c == LT_COV_TIED;
}

/* The lt_gmm objects behind the states: one for gaussian, k for gmm. */
static size_t n_state_gmms(const lt_hmm *m)
{
    return m->emission == LT_EMIT_GAUSSIAN ? 1 : m->emission == LT_EMIT_GMM ? m->k : 0;
}

/* The emission M-step takes its covariance floor from the state mixtures. */
static void set_reg_covar(lt_hmm *m, double reg)
{
    if (!m->states) return;
    for (size_t i = 0; i < n_state_gmms(m); i++)
        if (m->states[i]) m->states[i]->reg_covar = reg;
}

static void vocab_free(char **v, size_t n)
{
    if (!v) return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static lt_status vocab_copy(char *const *src, size_t n, char ***out)
{
    *out = NULL;
    if (!src) return LT_OK;
    char **v = lt_calloc(n, sizeof *v);
    if (!v) return LT_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        v[i] = strdup(src[i] ? src[i] : "");
        if (!v[i]) {
            vocab_free(v, n);
            return lt_fail(LT_ERR_NOMEM, "out of memory copying the vocabulary");
        }
    }
    *out = v;
    return LT_OK;
}

lt_status lt_hmm_create(size_t k, lt_emission emission, size_t d, size_t n_symbols, size_t n_mix, lt_cov_type cov,
                        lt_hmm **out)
{
    *out = NULL;
    if (k == 0) return lt_fail(LT_ERR_INVALID, "an HMM needs at least one state (k = 0)");
    switch (emission) {
    case LT_EMIT_CATEGORICAL:
        if (n_symbols == 0) return lt_fail(LT_ERR_INVALID, "categorical emissions need at least one symbol");
        if (n_symbols > (size_t)INT32_MAX)
            return lt_fail(LT_ERR_INVALID, "%zu symbols are too many (at most %d)", n_symbols, INT32_MAX);
        d = 1;
        n_mix = 0;
        break;
    case LT_EMIT_GMM:
        if (n_mix == 0) return lt_fail(LT_ERR_INVALID, "gmm emissions need at least one component per state");
        /* fall through */
    case LT_EMIT_GAUSSIAN:
    case LT_EMIT_POISSON:
        if (d == 0)
            return lt_fail(LT_ERR_INVALID, "%s emissions need at least one feature (d = 0)",
                           lt_emission_name(emission));
        if ((emission == LT_EMIT_GAUSSIAN || emission == LT_EMIT_GMM) && !cov_valid(cov))
            return lt_fail(LT_ERR_INVALID, "unknown covariance type %d", (int)cov);
        n_symbols = 0;
        if (emission != LT_EMIT_GMM) n_mix = 0;
        break;
    default: return lt_fail(LT_ERR_INVALID, "unknown emission type %d", (int)emission);
    }
    int ok = 1;
    size_t kk = lt_mul_size(k, k, &ok);
    if (!ok) return lt_fail(LT_ERR_INVALID, "an HMM of %zu states is too large", k);
    lt_status st = LT_OK;
    lt_hmm *m = lt_calloc(1, sizeof *m);
    if (!m) return LT_ERR_NOMEM;
    m->k = k;
    m->emission = emission;
    m->d = d;
    m->n_symbols = n_symbols;
    m->n_mix = n_mix;
    m->cov = cov;
    m->start = lt_calloc(k, sizeof(double));
    m->trans = lt_calloc(kk, sizeof(double));
    if (!m->start || !m->trans) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    if ((st = hmm_emit_alloc(m)) != LT_OK) goto done;
    *out = m;
    m = NULL;
done:
    lt_hmm_free(m);
    return st;
}

void lt_hmm_free(lt_hmm *m)
{
    if (!m) return;
    hmm_emit_release(m);
    free(m->start);
    free(m->trans);
    free(m->mask);
    vocab_free(m->vocab, m->n_symbols);
    free(m);
}

lt_status lt_hmm_copy(const lt_hmm *m, lt_hmm **out)
{
    *out = NULL;
    lt_hmm *c = NULL;
    lt_status st = lt_hmm_create(m->k, m->emission, m->d, m->n_symbols, m->n_mix, m->cov, &c);
    if (st != LT_OK) return st;
    size_t k = m->k;
    memcpy(c->start, m->start, k * sizeof(double));
    memcpy(c->trans, m->trans, k * k * sizeof(double));
    if (m->mask) {
        c->mask = lt_malloc(k * k, 1);
        if (!c->mask) {
            st = LT_ERR_NOMEM;
            goto done;
        }
        memcpy(c->mask, m->mask, k * k);
    }
    if ((st = vocab_copy(m->vocab, m->n_symbols, &c->vocab)) != LT_OK) goto done;
    if ((st = hmm_emit_copy(m, c)) != LT_OK) goto done;
    c->converged = m->converged;
    c->n_iter = m->n_iter;
    c->best_init = m->best_init;
    c->n_repaired = m->n_repaired;
    c->log_likelihood = m->log_likelihood;
    c->seed = m->seed;
    *out = c;
    c = NULL;
done:
    lt_hmm_free(c);
    return st;
}

lt_status lt_hmm_prepare(lt_hmm *m)
{
    size_t k = m->k;
    double s = 0.0;
    for (size_t j = 0; j < k; j++) {
        double v = m->start[j];
        if (!(v >= 0.0) || !isfinite(v))
            return lt_fail(LT_ERR_NUMERIC, "start probability of state %zu is %g (expected a number in [0, 1])", j, v);
        s += v;
    }
    if (!(fabs(s - 1.0) <= SUM_TOL)) return lt_fail(LT_ERR_NUMERIC, "start probabilities sum to %.10g, expected 1", s);
    for (size_t j = 0; j < k; j++)
        m->start[j] /= s;
    for (size_t i = 0; i < k; i++) {
        double *row = m->trans + i * k;
        s = 0.0;
        for (size_t j = 0; j < k; j++) {
            double v = row[j];
            if (!(v >= 0.0) || !isfinite(v))
                return lt_fail(LT_ERR_NUMERIC, "transition %zu -> %zu is %g (expected a number in [0, 1])", i, j, v);
            if (m->mask && !m->mask[i * k + j] && v != 0.0)
                return lt_fail(LT_ERR_INVALID, "transition %zu -> %zu is %g but the mask forbids it", i, j, v);
            s += v;
        }
        if (!(fabs(s - 1.0) <= SUM_TOL))
            return lt_fail(LT_ERR_NUMERIC, "transitions from state %zu sum to %.10g, expected 1", i, s);
        for (size_t j = 0; j < k; j++)
            row[j] /= s;
    }
    return hmm_emit_prepare(m);
}

/* ------------------------------------------------------------ the data */

static lt_status check_seqs(const lt_seqs *data)
{
    if (!data) return lt_fail(LT_ERR_INVALID, "no data");
    if (data->n_seqs == 0) return lt_fail(LT_ERR_INVALID, "no sequences (n_seqs = 0)");
    if (!data->lengths) return lt_fail(LT_ERR_INVALID, "no sequence lengths");
    size_t sum = 0;
    for (size_t s = 0; s < data->n_seqs; s++) {
        size_t n = data->lengths[s];
        if (n == 0)
            return lt_fail(LT_ERR_INVALID, "sequence %zu has length 0 (every sequence needs at least one step)", s + 1);
        if (n > SIZE_MAX - sum)
            return lt_fail(LT_ERR_INVALID, "sequence lengths add up to more than %zu steps", (size_t)SIZE_MAX);
        sum += n;
    }
    if (sum != data->total)
        return lt_fail(LT_ERR_DIM, "lengths add up to %zu steps but the data has %zu", sum, data->total);
    return LT_OK;
}

/* Sequences, data pointers and sizes against the model, then the values. */
static lt_status check_model_data(const lt_hmm *m, const lt_seqs *data)
{
    LT_CHECK(check_seqs(data));
    if (m->emission == LT_EMIT_CATEGORICAL) {
        if (!data->symbols) return lt_fail(LT_ERR_INVALID, "categorical emissions need symbols; the data has none");
    } else {
        if (!data->x)
            return lt_fail(LT_ERR_INVALID, "%s emissions need numeric data; the data has none",
                           lt_emission_name(m->emission));
        if (data->dim != m->d)
            return lt_fail(LT_ERR_DIM, "the data has %zu features per step but the model has %zu", data->dim, m->d);
    }
    return hmm_emit_check_data(m, data);
}

/* Sequence offsets and the fixed partition of sequences into blocks. */
typedef struct layout {
    size_t *off;  /* n_seqs + 1: first step of each sequence */
    size_t *bseq; /* nblocks + 1: first sequence of each block */
    size_t nblocks;
} layout;

static void layout_free(layout *L)
{
    free(L->off);
    free(L->bseq);
    memset(L, 0, sizeof *L);
}

/* Blocks of about equal steps, whole sequences each; the partition depends
 * on the lengths and k only (k bounds the memory of per-block counts). */
static lt_status layout_init(layout *L, const lt_seqs *data, size_t k)
{
    memset(L, 0, sizeof *L);
    size_t n = data->n_seqs, total = data->total;
    L->off = lt_malloc(n + 1, sizeof(size_t));
    if (!L->off) return LT_ERR_NOMEM;
    L->off[0] = 0;
    for (size_t s = 0; s < n; s++)
        L->off[s + 1] = L->off[s] + data->lengths[s];
    size_t nb = lt_block_count(total, MIN_BLOCK_STEPS, MAX_BLOCKS);
    if (nb > n) nb = n;
    size_t per = (k * k + k) * sizeof(double), cap = STATS_BYTES / (per ? per : 1);
    if (nb > cap) nb = cap ? cap : 1;
    L->bseq = lt_malloc(nb + 1, sizeof(size_t));
    if (!L->bseq) {
        layout_free(L);
        return LT_ERR_NOMEM;
    }
    size_t s = 0;
    for (size_t b = 0; b < nb; b++) {
        size_t begin = lt_block_begin(total, nb, b);
        while (s < n && L->off[s] < begin)
            s++;
        L->bseq[b] = s;
    }
    L->bseq[nb] = n;
    L->nblocks = nb;
    return LT_OK;
}

/* ---------------------------------------------------------- recursions */

static double lse(const double *x, size_t n)
{
    double mx = -INFINITY;
    for (size_t i = 0; i < n; i++)
        if (x[i] > mx) mx = x[i];
    if (mx == -INFINITY) return -INFINITY;
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += exp(x[i] - mx);
    return mx + log(s);
}

static void set_logs(const lt_hmm *m, double *logpi, double *logA)
{
    size_t k = m->k;
    for (size_t j = 0; j < k; j++)
        logpi[j] = m->start[j] > 0.0 ? log(m->start[j]) : -INFINITY;
    for (size_t q = 0; q < k * k; q++)
        logA[q] = m->trans[q] > 0.0 ? log(m->trans[q]) : -INFINITY;
}

/* Emission log-likelihoods of steps [t0, t0 + n) into B (n x k), checked
 * to be numbers below +inf (-inf is a density of zero). */
static lt_status emit_rows(const lt_hmm *m, const lt_seqs *data, size_t t0, size_t n, double *B)
{
    size_t k = m->k;
    LT_CHECK(hmm_emit_loglik(m, data, t0, n, B));
    for (size_t q = 0; q < n * k; q++)
        if (!(B[q] < INFINITY))
            return lt_fail(LT_ERR_NUMERIC, "step %zu: the emission log-likelihood of state %zu is %g", t0 + q / k + 1,
                           q % k, B[q]);
    return LT_OK;
}

/* In place: B = exp(l - max) per row, mx = the row maxima (a row no state
 * can emit becomes all zeros, its maximum -inf). */
static void shift_rows(double *B, size_t n, size_t k, double *mx)
{
    for (size_t i = 0; i < n; i++) {
        double *r = B + i * k, best = -INFINITY;
        for (size_t j = 0; j < k; j++)
            if (r[j] > best) best = r[j];
        mx[i] = best;
        if (best == -INFINITY)
            for (size_t j = 0; j < k; j++)
                r[j] = 0.0;
        else
            for (size_t j = 0; j < k; j++)
                r[j] = exp(r[j] - best);
    }
}

/* One scaled forward step: a = (prev^T A, or pi) .* b, normalised when the
 * scale c (returned) is usable. */
static double fwd_step(const lt_hmm *m, const double *restrict prev, const double *restrict b, double *restrict a)
{
    size_t k = m->k;
    const double *restrict A = m->trans;
    if (!prev) {
        for (size_t j = 0; j < k; j++)
            a[j] = m->start[j] * b[j];
    } else {
        for (size_t j = 0; j < k; j++)
            a[j] = 0.0;
        for (size_t i = 0; i < k; i++) {
            double p = prev[i];
            if (p == 0.0) continue;
            const double *restrict Ai = A + i * k;
            for (size_t j = 0; j < k; j++)
                a[j] += p * Ai[j];
        }
        for (size_t j = 0; j < k; j++)
            a[j] *= b[j];
    }
    double c = 0.0;
    for (size_t j = 0; j < k; j++)
        c += a[j];
    if (c >= SCALE_MIN && c < INFINITY) {
        double inv = 1.0 / c;
        for (size_t j = 0; j < k; j++)
            a[j] *= inv;
    }
    return c;
}

/* One forward step in log space, normalised: cur = log p(z_t | x_1..t).
 * Returns the step's log-likelihood increment, -inf when impossible. */
static double fwd_step_log(size_t k, const double *logpi, const double *logA, const double *prev, const double *L,
                           double *cur, double *tmp)
{
    if (!prev) {
        for (size_t j = 0; j < k; j++)
            cur[j] = logpi[j] + L[j];
    } else {
        for (size_t j = 0; j < k; j++) {
            for (size_t i = 0; i < k; i++)
                tmp[i] = prev[i] + logA[i * k + j];
            cur[j] = lse(tmp, k) + L[j];
        }
    }
    double s = lse(cur, k);
    if (s == -INFINITY) return s;
    for (size_t j = 0; j < k; j++)
        cur[j] -= s;
    return s;
}

/* Scaled forward over T shifted emission rows into G (T x k, each row
 * p(z_t | x_1..t)). Returns 0 with *logp, or 1 when a scale fell below
 * SCALE_MIN (redo in log space). */
static int forward_scaled(const lt_hmm *m, const double *B, const double *mx, size_t T, double *G, double *logp)
{
    size_t k = m->k;
    double lp = 0.0;
    for (size_t t = 0; t < T; t++) {
        double c = fwd_step(m, t ? G + (t - 1) * k : NULL, B + t * k, G + t * k);
        if (!(c >= SCALE_MIN && c < INFINITY)) return 1;
        lp += log(c) + mx[t];
    }
    *logp = lp;
    return 0;
}

/* Backward over the forward rows in G, turning them into posteriors; adds
 * the expected transition counts into xi (k x k, may be NULL). v: 3k
 * scratch. Returns 1 when a normaliser fell below SCALE_MIN. */
static int backward_scaled(const lt_hmm *m, const double *restrict B, size_t T, double *restrict G, double *restrict xi,
                           double *restrict v)
{
    size_t k = m->k;
    const double *restrict A = m->trans;
    double *restrict beta = v, *restrict w = v + k, *restrict u = v + 2 * k;
    for (size_t j = 0; j < k; j++)
        beta[j] = 1.0;
    for (size_t t = T - 1; t-- > 0;) {
        const double *b = B + (t + 1) * k;
        double *a = G + t * k;
        for (size_t j = 0; j < k; j++)
            w[j] = b[j] * beta[j];
        double Z = 0.0, umax = 0.0;
        for (size_t i = 0; i < k; i++) {
            const double *Ai = A + i * k;
            double s = 0.0;
            for (size_t j = 0; j < k; j++)
                s += Ai[j] * w[j];
            u[i] = s;
            Z += a[i] * s;
            if (s > umax) umax = s;
        }
        if (!(Z >= SCALE_MIN && Z < INFINITY)) return 1;
        double iz = 1.0 / Z;
        if (xi)
            for (size_t i = 0; i < k; i++) {
                double f = a[i] * iz;
                if (f == 0.0) continue;
                const double *Ai = A + i * k;
                double *xr = xi + i * k;
                for (size_t j = 0; j < k; j++)
                    xr[j] += f * Ai[j] * w[j];
            }
        double ib = 1.0 / umax;
        for (size_t i = 0; i < k; i++) {
            a[i] = a[i] * u[i] * iz;
            beta[i] = u[i] * ib;
        }
    }
    return 0;
}

/* Forward-backward in log space over raw emission log-likelihoods L (T x k):
 * posteriors into G, transition counts added to xi (may be NULL). Returns
 * log p (-inf when impossible, with the 1-based step in *bad_t; NaN when
 * the backward pass broke down). v: 4k scratch. */
static double fb_log(size_t k, const double *logpi, const double *logA, const double *L, size_t T, double *G,
                     double *xi, double *v, size_t *bad_t)
{
    double *tmp = v, *lb = v + k, *nb = v + 2 * k, *row = v + 3 * k;
    double lp = 0.0;
    for (size_t t = 0; t < T; t++) {
        double s = fwd_step_log(k, logpi, logA, t ? G + (t - 1) * k : NULL, L + t * k, G + t * k, tmp);
        if (!(s > -INFINITY)) {
            *bad_t = t + 1;
            return s;
        }
        lp += s;
    }
    for (size_t j = 0; j < k; j++) {
        lb[j] = 0.0;
        G[(T - 1) * k + j] = exp(G[(T - 1) * k + j]);
    }
    for (size_t t = T - 1; t-- > 0;) {
        const double *Lt = L + (t + 1) * k;
        double *a = G + t * k;
        for (size_t j = 0; j < k; j++)
            tmp[j] = Lt[j] + lb[j];
        for (size_t i = 0; i < k; i++) {
            for (size_t j = 0; j < k; j++)
                row[j] = logA[i * k + j] + tmp[j];
            nb[i] = lse(row, k);
        }
        for (size_t i = 0; i < k; i++)
            row[i] = a[i] + nb[i];
        double Z = lse(row, k);
        if (!(Z > -INFINITY && Z < INFINITY)) return NAN;
        if (xi)
            for (size_t i = 0; i < k; i++) {
                if (a[i] == -INFINITY) continue;
                for (size_t j = 0; j < k; j++)
                    xi[i * k + j] += exp(a[i] + logA[i * k + j] + tmp[j] - Z);
            }
        double mxb = -INFINITY;
        for (size_t i = 0; i < k; i++) {
            a[i] = exp(a[i] + nb[i] - Z);
            if (nb[i] > mxb) mxb = nb[i];
        }
        for (size_t i = 0; i < k; i++)
            lb[i] = nb[i] - mxb;
    }
    return lp;
}

/* ------------------------------------------------------- parallel passes */

typedef enum { PASS_SCORE, PASS_POST, PASS_VITERBI } pass_mode;

typedef struct pass {
    const lt_hmm *m;
    const lt_seqs *data;
    const layout *L;
    pass_mode mode;
    const double *logpi, *logA; /* k, k x k */
    double *logp;               /* n_seqs, or NULL */
    double *post;               /* PASS_POST: total x k */
    int32_t *path;              /* PASS_VITERBI: total */
    double *stats;              /* PASS_POST, or NULL: per block, k start counts then k x k transition counts */
    double *ll;                 /* per block sum of log p, or NULL */
    int zero_ok;                /* a sequence of probability zero is an answer (-inf), not an error */
    int threads;
} pass;

/* One thread's work space. */
typedef struct scratch {
    size_t k, cap, bpcap;
    double *B;    /* cap x k: emission rows */
    double *mx;   /* cap */
    int32_t *bp;  /* bpcap x k: Viterbi back-pointers */
    double *v;    /* 4k */
    double *xs;   /* k x k: one sequence's transition counts */
    size_t bad_t; /* step (1-based) where a sequence became impossible */
} scratch;

static void scratch_free(scratch *s)
{
    free(s->B);
    free(s->mx);
    free(s->bp);
    free(s->v);
    free(s->xs);
    memset(s, 0, sizeof *s);
}

static int scratch_init(scratch *s, size_t k)
{
    memset(s, 0, sizeof *s);
    s->k = k;
    s->v = lt_malloc(4 * k, sizeof(double));
    s->xs = lt_malloc(k * k, sizeof(double));
    return s->v && s->xs;
}

/* Room for T rows (and back-pointers when asked); 0 when out of memory. */
static int scratch_need(scratch *s, size_t T, int want_bp)
{
    int ok = 1;
    size_t rows = lt_mul_size(T, s->k, &ok);
    if (!ok) return 0;
    if (T > s->cap) {
        free(s->B);
        free(s->mx);
        s->cap = 0;
        s->B = lt_malloc(rows, sizeof(double));
        s->mx = lt_malloc(T, sizeof(double));
        if (!s->B || !s->mx) return 0;
        s->cap = T;
    }
    if (want_bp && T > s->bpcap) {
        free(s->bp);
        s->bpcap = 0;
        s->bp = lt_malloc(rows, sizeof(int32_t));
        if (!s->bp) return 0;
        s->bpcap = T;
    }
    return 1;
}

/* Forward only. B: the raw emission rows of this sequence when the caller
 * computed them (T <= BATCH_STEPS), else NULL: computed here in chunks. */
static lt_status seq_score(const pass *p, scratch *s, size_t t0, size_t T, double *B, double *logp)
{
    const lt_hmm *m = p->m;
    size_t k = m->k;
    double *a = s->v, *na = s->v + k, *tmp = s->v + 2 * k, *sw;
    double lp = 0.0;
    for (size_t off = 0; off < T; off += SCORE_CHUNK) {
        size_t n = T - off < SCORE_CHUNK ? T - off : SCORE_CHUNK;
        double *R = B ? B + off * k : s->B;
        if (!B) LT_CHECK(emit_rows(m, p->data, t0 + off, n, R));
        shift_rows(R, n, k, s->mx);
        for (size_t i = 0; i < n; i++) {
            double c = fwd_step(m, off + i ? a : NULL, R + i * k, na);
            if (!(c >= SCALE_MIN && c < INFINITY)) goto log_space;
            lp += log(c) + s->mx[i];
            sw = a, a = na, na = sw;
        }
    }
    *logp = lp;
    return LT_OK;
log_space: /* the rows were shifted in place: compute them again */
    lp = 0.0;
    for (size_t off = 0; off < T; off += SCORE_CHUNK) {
        size_t n = T - off < SCORE_CHUNK ? T - off : SCORE_CHUNK;
        double *R = B ? B + off * k : s->B;
        LT_CHECK(emit_rows(m, p->data, t0 + off, n, R));
        for (size_t i = 0; i < n; i++) {
            double c = fwd_step_log(k, p->logpi, p->logA, off + i ? a : NULL, R + i * k, na, tmp);
            if (!(c > -INFINITY)) {
                s->bad_t = off + i + 1;
                *logp = c;
                return LT_OK;
            }
            lp += c;
            sw = a, a = na, na = sw;
        }
    }
    *logp = lp;
    return LT_OK;
}

/* Posteriors of one sequence from its raw emission rows B (T x k, used as
 * scratch); start and transition counts added to start (k) and xi (k x k)
 * when given. */
static lt_status seq_posteriors(const pass *p, scratch *s, size_t t0, size_t T, double *B, double *start, double *xi,
                                double *logp)
{
    const lt_hmm *m = p->m;
    size_t k = m->k;
    double *G = p->post + t0 * k, *xs = xi ? s->xs : NULL, lp = 0.0;
    shift_rows(B, T, k, s->mx);
    if (xs) memset(xs, 0, k * k * sizeof(double));
    if (forward_scaled(m, B, s->mx, T, G, &lp) != 0 || backward_scaled(m, B, T, G, xs, s->v) != 0) {
        LT_CHECK(emit_rows(m, p->data, t0, T, B));
        if (xs) memset(xs, 0, k * k * sizeof(double));
        lp = fb_log(k, p->logpi, p->logA, B, T, G, xs, s->v, &s->bad_t);
        if (!(lp > -INFINITY)) {
            *logp = lp;
            return LT_OK;
        }
    }
    if (start)
        for (size_t j = 0; j < k; j++)
            start[j] += G[j];
    if (xi)
        for (size_t q = 0; q < k * k; q++)
            xi[q] += xs[q];
    *logp = lp;
    return LT_OK;
}

/* Most probable path of one sequence from its raw emission rows L. */
static lt_status seq_viterbi(const pass *p, scratch *s, size_t t0, size_t T, const double *L, double *logp)
{
    const lt_hmm *m = p->m;
    size_t k = m->k;
    const double *logpi = p->logpi, *logA = p->logA;
    double *d = s->v, *nd = s->v + k, *sw;
    int32_t *bp = s->bp, *path = p->path + t0;
    double lp = 0.0;
    for (size_t t = 0; t < T; t++) {
        if (t == 0) {
            for (size_t j = 0; j < k; j++)
                nd[j] = logpi[j] + L[j];
        } else {
            for (size_t j = 0; j < k; j++) {
                double best = -INFINITY;
                int32_t arg = 0;
                for (size_t i = 0; i < k; i++) {
                    double v = d[i] + logA[i * k + j];
                    if (v > best) best = v, arg = (int32_t)i;
                }
                nd[j] = best + L[t * k + j];
                bp[t * k + j] = arg;
            }
        }
        double mx = -INFINITY;
        for (size_t j = 0; j < k; j++)
            if (nd[j] > mx) mx = nd[j];
        if (mx == -INFINITY) {
            s->bad_t = t + 1;
            *logp = -INFINITY;
            return LT_OK;
        }
        lp += mx;
        for (size_t j = 0; j < k; j++)
            nd[j] -= mx;
        sw = d, d = nd, nd = sw;
    }
    size_t arg = 0;
    for (size_t j = 1; j < k; j++)
        if (d[j] > d[arg]) arg = j;
    path[T - 1] = (int32_t)arg;
    for (size_t t = T - 1; t > 0; t--)
        path[t - 1] = bp[t * k + (size_t)path[t]];
    *logp = lp;
    return LT_OK;
}

typedef struct blockres {
    lt_status st;
    char msg[320];
} blockres;

/* Keep a worker's failure (its message is thread-local) for the caller. */
static void keep_error(blockres *r, lt_status st)
{
    r->st = st;
    snprintf(r->msg, sizeof r->msg, "%s", lt_last_error());
}

/* The sequences of block b. Consecutive short sequences share one call for
 * their emission rows (a batch of up to BATCH_STEPS steps), so that many
 * short sequences cost no more than one long one; a longer sequence is a
 * batch of its own (scored in chunks, when only scored). */
static void run_block(const pass *p, scratch *s, size_t b, blockres *r)
{
    const layout *L = p->L;
    const size_t *off = L->off;
    size_t k = p->m->k, end = L->bseq[b + 1];
    double *sc = p->stats ? p->stats + b * (k + k * k) : NULL;
    if (sc) memset(sc, 0, (k + k * k) * sizeof(double));
    double ll = 0.0;
    if (!s->v || !s->xs) {
        keep_error(r, lt_fail(LT_ERR_NOMEM, "out of memory for the HMM work space"));
        return;
    }
    for (size_t q = L->bseq[b]; q < end;) {
        size_t q2 = q + 1, n = off[q + 1] - off[q];
        while (q2 < end && n + (off[q2 + 1] - off[q2]) <= BATCH_STEPS)
            n += off[q2 + 1] - off[q2], q2++;
        int chunked = p->mode == PASS_SCORE && n > SCORE_CHUNK;
        lt_status st = LT_OK;
        if (!scratch_need(s, chunked ? SCORE_CHUNK : n, p->mode == PASS_VITERBI)) {
            keep_error(
                r, lt_fail(LT_ERR_NOMEM, "out of memory for the HMM work space (sequence %zu, %zu steps)", q + 1, n));
            return;
        }
        size_t first = off[q]; /* the batch's first step: row 0 of s->B */
        if (!chunked && (st = emit_rows(p->m, p->data, first, n, s->B)) != LT_OK) {
            keep_error(r, st);
            return;
        }
        for (; q < q2; q++) {
            size_t t0 = off[q], T = off[q + 1] - t0;
            double *B = chunked ? NULL : s->B + (t0 - first) * k, lp = 0.0;
            s->bad_t = 0;
            switch (p->mode) {
            case PASS_SCORE: st = seq_score(p, s, t0, T, B, &lp); break;
            case PASS_POST: st = seq_posteriors(p, s, t0, T, B, sc, sc ? sc + k : NULL, &lp); break;
            case PASS_VITERBI: st = seq_viterbi(p, s, t0, T, B, &lp); break;
            }
            if (st == LT_OK && isnan(lp))
                st = lt_fail(LT_ERR_NUMERIC, "sequence %zu: the log-likelihood is not a number", q + 1);
            else if (st == LT_OK && lp == -INFINITY && !p->zero_ok)
                st = lt_fail(LT_ERR_NUMERIC,
                             "sequence %zu has probability zero under the model (impossible from step %zu of %zu)",
                             q + 1, s->bad_t, T);
            if (st != LT_OK) {
                keep_error(r, st);
                return;
            }
            if (p->logp) p->logp[q] = lp;
            ll += lp;
        }
    }
    if (p->ll) p->ll[b] = ll;
}

/* Run a pass over every sequence, blocks in parallel. The first failing
 * block, in block order, gives the status and message. */
static lt_status run_pass(const pass *p)
{
    size_t nb = p->L->nblocks, k = p->m->k;
    blockres *res = lt_calloc(nb, sizeof *res);
    if (!res) return LT_ERR_NOMEM;
    int nt = lt_threads(p->threads);
    if ((size_t)nt > nb) nt = (int)nb;
    int blas = lt_blas_single_begin();
#pragma omp parallel num_threads(nt)
    {
        scratch s;
        scratch_init(&s, k);
#pragma omp for schedule(dynamic, 1)
        for (size_t b = 0; b < nb; b++)
            run_block(p, &s, b, &res[b]);
        scratch_free(&s);
    }
    lt_blas_single_end(blas);
    lt_status st = LT_OK;
    for (size_t b = 0; b < nb; b++)
        if (res[b].st != LT_OK) {
            st = lt_fail(res[b].st, "%s", res[b].msg);
            break;
        }
    free(res);
    return st;
}

/* A pass of the given mode over data for a prepared model. */
static lt_status model_pass(const lt_hmm *m, const lt_seqs *data, int threads, pass_mode mode, double *logp,
                            double *post, int32_t *path)
{
    LT_CHECK(check_model_data(m, data));
    lt_status st;
    layout L;
    double *logs = lt_malloc(m->k + m->k * m->k, sizeof(double));
    if (!logs) return LT_ERR_NOMEM;
    if ((st = layout_init(&L, data, m->k)) != LT_OK) goto done;
    set_logs(m, logs, logs + m->k);
    pass p = {.m = m,
              .data = data,
              .L = &L,
              .mode = mode,
              .logpi = logs,
              .logA = logs + m->k,
              .logp = logp,
              .post = post,
              .path = path,
              .zero_ok = mode == PASS_SCORE,
              .threads = threads};
    st = run_pass(&p);
    layout_free(&L);
done:
    free(logs);
    return st;
}

lt_status lt_hmm_score(const lt_hmm *m, const lt_seqs *data, int threads, double *logp)
{
    return model_pass(m, data, threads, PASS_SCORE, logp, NULL, NULL);
}

lt_status lt_hmm_posteriors(const lt_hmm *m, const lt_seqs *data, int threads, double *post)
{
    if (!post) return lt_fail(LT_ERR_INVALID, "lt_hmm_posteriors: no output array");
    return model_pass(m, data, threads, PASS_POST, NULL, post, NULL);
}

lt_status lt_hmm_viterbi(const lt_hmm *m, const lt_seqs *data, int threads, int32_t *path, double *logp)
{
    if (!path) return lt_fail(LT_ERR_INVALID, "lt_hmm_viterbi: no output array");
    return model_pass(m, data, threads, PASS_VITERBI, logp, NULL, path);
}

/* ---------------------------------------------------------- Baum-Welch */

typedef struct fitctx {
    const lt_hmm_options *o;
    const lt_seqs *data;
    layout L;
    double *gamma; /* total x k */
    double *stats; /* nblocks x (k + k k) */
    double *ll;    /* nblocks */
    double *logs;  /* k + k k: log start, log transitions */
    double *tmp;   /* 2k */
} fitctx;

/* E-step: posteriors into c->gamma, counts reduced in block order into the
 * first block's slot, and the summed log-likelihood. */
static lt_status estep(fitctx *c, const lt_hmm *m, double *loglik)
{
    size_t k = m->k, w = k + k * k, nb = c->L.nblocks;
    set_logs(m, c->logs, c->logs + k);
    pass p = {.m = m,
              .data = c->data,
              .L = &c->L,
              .mode = PASS_POST,
              .logpi = c->logs,
              .logA = c->logs + k,
              .post = c->gamma,
              .stats = c->stats,
              .ll = c->ll,
              .threads = c->o->threads};
    LT_CHECK(run_pass(&p));
    double s = c->ll[0];
    for (size_t b = 1; b < nb; b++) {
        for (size_t i = 0; i < w; i++)
            c->stats[i] += c->stats[b * w + i];
        s += c->ll[b];
    }
    *loglik = s;
    return LT_OK;
}

/* log of the Dirichlet priors of the trained start and transitions (the
 * MAP objective's penalty; entries at zero are left out). */
static double log_prior(const lt_hmm_options *o, const lt_hmm *m)
{
    size_t k = m->k;
    double lp = 0.0;
    if ((o->params & LT_HMM_START) && o->start_prior != 1.0)
        for (size_t j = 0; j < k; j++)
            if (m->start[j] > 0.0) lp += (o->start_prior - 1.0) * log(m->start[j]);
    if ((o->params & LT_HMM_TRANS) && o->trans_prior != 1.0)
        for (size_t q = 0; q < k * k; q++)
            if (m->trans[q] > 0.0) lp += (o->trans_prior - 1.0) * log(m->trans[q]);
    return lp;
}

static lt_status mstep(fitctx *c, lt_hmm *m)
{
    const lt_hmm_options *o = c->o;
    size_t k = m->k;
    const double *S = c->stats, *N = c->stats + k;
    if (o->params & LT_HMM_START) {
        double tot = 0.0;
        for (size_t j = 0; j < k; j++) {
            double v = S[j] + (o->start_prior - 1.0);
            m->start[j] = v > 0.0 ? v : 0.0;
            tot += m->start[j];
        }
        if (!(tot > 0.0)) { /* the prior's negative pseudo-counts took everything: plain counts */
            tot = 0.0;
            for (size_t j = 0; j < k; j++)
                tot += (m->start[j] = S[j]);
        }
        for (size_t j = 0; j < k; j++)
            m->start[j] /= tot;
    }
    if (o->params & LT_HMM_TRANS) {
        for (size_t i = 0; i < k; i++) {
            double *row = m->trans + i * k, tot = 0.0;
            size_t allowed = 0;
            for (size_t j = 0; j < k; j++) {
                if (m->mask && !m->mask[i * k + j]) {
                    row[j] = 0.0;
                    continue;
                }
                allowed++;
                double v = N[i * k + j] + (o->trans_prior - 1.0);
                row[j] = v > 0.0 ? v : 0.0;
                tot += row[j];
            }
            if (tot >= EMPTY_ROW) {
                for (size_t j = 0; j < k; j++)
                    row[j] /= tot;
            } else { /* a state that is never left: spread evenly over where it may go */
                for (size_t j = 0; j < k; j++)
                    row[j] = m->mask && !m->mask[i * k + j] ? 0.0 : 1.0 / (double)allowed;
                m->n_repaired++;
            }
        }
    }
    if (o->params & LT_HMM_EMIT) {
        size_t rep = 0;
        LT_CHECK(hmm_emit_mstep(m, c->data, c->gamma, o->threads, &rep));
        m->n_repaired += rep;
    }
    return LT_OK;
}

/* Initial parameters of one run: the parts in init_params from the data
 * and the run's random stream, the rest from the initial model. */
static lt_status init_run(fitctx *c, lt_hmm *m, lt_rng *rng)
{
    const lt_hmm_options *o = c->o;
    const lt_hmm *im = o->init_model;
    size_t k = m->k;
    unsigned ip = o->init_params;
    double *ones = c->tmp, *draw = c->tmp + k;
    uint64_t emit_seed = lt_rng_u64(rng);
    for (size_t j = 0; j < k; j++)
        ones[j] = 1.0;
    /* Half uniform, half a Dirichlet draw: random, but no probability near
     * zero, where EM would keep it. */
    if (ip & LT_HMM_START) {
        lt_rng_dirichlet(rng, ones, k, draw);
        for (size_t j = 0; j < k; j++)
            m->start[j] = 0.5 / (double)k + 0.5 * draw[j];
    } else {
        memcpy(m->start, im->start, k * sizeof(double));
    }
    if (ip & LT_HMM_TRANS) {
        for (size_t i = 0; i < k; i++) {
            size_t na = 0;
            for (size_t j = 0; j < k; j++)
                na += !m->mask || m->mask[i * k + j];
            lt_rng_dirichlet(rng, ones, na, draw);
            for (size_t j = 0, q = 0; j < k; j++)
                m->trans[i * k + j] = m->mask && !m->mask[i * k + j] ? 0.0 : 0.5 / (double)na + 0.5 * draw[q++];
        }
    } else {
        memcpy(m->trans, im->trans, k * k * sizeof(double));
    }
    if (ip & LT_HMM_EMIT) {
        set_reg_covar(m, o->reg_covar);
        LT_CHECK(hmm_emit_init(m, c->data, emit_seed, o->threads));
    } else {
        LT_CHECK(hmm_emit_copy(im, m));
    }
    set_reg_covar(m, o->reg_covar);
    lt_status st = lt_hmm_prepare(m);
    if (st != LT_OK && (ip & LT_HMM_ALL) != LT_HMM_ALL) return lt_fail_prefix(st, "initial model");
    return st;
}

static lt_status trace_push(lt_hmm_trace *t, double v)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        double *nl = realloc(t->loglik, cap * sizeof(double));
        if (!nl) return lt_fail(LT_ERR_NOMEM, "out of memory for the Baum-Welch trace");
        t->loglik = nl;
        t->cap = cap;
    }
    t->loglik[t->n++] = v;
    return LT_OK;
}

/* One Baum-Welch run from initialisation `run`. */
static lt_status em_run(fitctx *c, lt_hmm *m, size_t run, lt_hmm_trace *trace)
{
    const lt_hmm_options *o = c->o;
    double total = (double)c->data->total;
    lt_rng rng;
    lt_rng_stream(&rng, o->seed, run);
    LT_CHECK(init_run(c, m, &rng));
    m->n_repaired = 0;
    m->converged = 0;
    m->n_iter = 0;
    if (trace) trace->n = 0;
    int map =
        ((o->params & LT_HMM_START) && o->start_prior != 1.0) || ((o->params & LT_HMM_TRANS) && o->trans_prior != 1.0);
    double prev = -INFINITY, ll = 0.0;
    char where[64];
    for (size_t it = 1; it <= o->max_iter; it++) {
        lt_status st = estep(c, m, &ll);
        if (st != LT_OK) {
            snprintf(where, sizeof where, "Baum-Welch iteration %zu", it);
            return lt_fail_prefix(st, where);
        }
        double lps = ll / total;
        if (!isfinite(lps))
            return lt_fail(LT_ERR_NUMERIC, "Baum-Welch iteration %zu: the log-likelihood is %g", it, lps);
        /* Convergence on what EM increases: the log-likelihood, plus the
         * log prior for MAP-EM. */
        double obj = map ? (ll + log_prior(o, m)) / total : lps;
        if (trace) LT_CHECK(trace_push(trace, lps));
        if ((st = mstep(c, m)) != LT_OK) {
            snprintf(where, sizeof where, "Baum-Welch iteration %zu, M-step", it);
            return lt_fail_prefix(st, where);
        }
        m->n_iter = it;
        m->log_likelihood = lps;
        if (o->progress) {
            char stage[96];
            snprintf(stage, sizeof stage, "Baum-Welch run %zu/%zu", run + 1, o->n_init);
            o->progress(o->progress_ud, stage, it, o->max_iter, lps);
        }
        if (obj - prev < o->tol) {
            m->converged = 1;
            break;
        }
        prev = obj;
    }
    if (o->max_iter == 0) { /* no iterations: the summary still gets the initial model's fit */
        lt_status st = estep(c, m, &ll);
        if (st != LT_OK) return lt_fail_prefix(st, "initial model");
        m->log_likelihood = ll / total;
        if (!isfinite(m->log_likelihood))
            return lt_fail(LT_ERR_NUMERIC, "initial model: the log-likelihood is %g", m->log_likelihood);
    }
    if (o->progress) {
        char stage[160];
        snprintf(stage, sizeof stage, "run %zu/%zu done (seed %" PRIu64 ", stream %zu)", run + 1, o->n_init, o->seed,
                 run);
        o->progress(o->progress_ud, stage, m->n_iter, o->max_iter, m->log_likelihood);
    }
    return LT_OK;
}

static lt_status check_options(const lt_hmm_options *o)
{
    if (o->k == 0) return lt_fail(LT_ERR_INVALID, "k must be at least 1");
    if (o->n_init == 0) return lt_fail(LT_ERR_INVALID, "n_init must be at least 1");
    if (!(o->tol >= 0.0)) return lt_fail(LT_ERR_INVALID, "tol must be >= 0 (got %g)", o->tol);
    if (!(o->start_prior > 0.0) || !isfinite(o->start_prior))
        return lt_fail(LT_ERR_INVALID, "start_prior must be a positive number (got %g)", o->start_prior);
    if (!(o->trans_prior > 0.0) || !isfinite(o->trans_prior))
        return lt_fail(LT_ERR_INVALID, "trans_prior must be a positive number (got %g)", o->trans_prior);
    if (!(o->reg_covar >= 0.0) || !isfinite(o->reg_covar))
        return lt_fail(LT_ERR_INVALID, "reg_covar must be >= 0 (got %g)", o->reg_covar);
    if (strcmp(lt_emission_name(o->emission), "unknown") == 0)
        return lt_fail(LT_ERR_INVALID, "unknown emission type %d", (int)o->emission);
    if ((o->emission == LT_EMIT_GAUSSIAN || o->emission == LT_EMIT_GMM) && !cov_valid(o->cov))
        return lt_fail(LT_ERR_INVALID, "unknown covariance type %d", (int)o->cov);
    if (o->emission == LT_EMIT_GMM && o->n_mix == 0) return lt_fail(LT_ERR_INVALID, "gmm emissions need n_mix >= 1");
    if (o->mask) {
        int ok = 1;
        lt_mul_size(o->k, o->k, &ok);
        if (!ok) return lt_fail(LT_ERR_INVALID, "k = %zu is too large", o->k);
        for (size_t i = 0; i < o->k; i++) {
            size_t n = 0;
            for (size_t j = 0; j < o->k; j++)
                n += o->mask[i * o->k + j] != 0;
            if (n == 0) return lt_fail(LT_ERR_INVALID, "the transition mask allows no transition from state %zu", i);
        }
    }
    return LT_OK;
}

lt_status lt_hmm_fit(const lt_hmm_options *o, const lt_seqs *data, lt_hmm **out)
{
    *out = NULL;
    LT_CHECK(check_options(o));
    LT_CHECK(check_seqs(data));
    size_t k = o->k;
    if (k > data->total)
        return lt_fail(LT_ERR_INVALID, "k = %zu states exceeds the number of steps (%zu)", k, data->total);
    unsigned need = LT_HMM_ALL & ~o->init_params; /* parts that come from the initial model */
    const lt_hmm *im = need ? o->init_model : NULL;
    if (need && !im)
        return lt_fail(
            LT_ERR_INVALID,
            "init_params leaves the %s%s%s uninitialised, so they must come from an initial model, and none was given",
            need & LT_HMM_START ? "start probabilities " : "", need & LT_HMM_TRANS ? "transitions " : "",
            need & LT_HMM_EMIT ? "emissions " : "");
    size_t d = 1, nsym = 0;
    if (o->emission == LT_EMIT_CATEGORICAL) {
        if (!data->symbols) return lt_fail(LT_ERR_INVALID, "categorical emissions need symbols; the data has none");
        nsym = o->n_symbols;
        if (nsym == 0 && im && (need & LT_HMM_EMIT) && im->emission == LT_EMIT_CATEGORICAL) nsym = im->n_symbols;
        if (nsym == 0) {
            int32_t mx = 0;
            for (size_t t = 0; t < data->total; t++)
                if (data->symbols[t] > mx) mx = data->symbols[t];
            nsym = (size_t)mx + 1;
        }
    } else {
        if (!data->x)
            return lt_fail(LT_ERR_INVALID, "%s emissions need numeric data; the data has none",
                           lt_emission_name(o->emission));
        d = data->dim;
        if (d == 0) return lt_fail(LT_ERR_INVALID, "the data has no features (dim = 0)");
    }
    if (im) {
        if (im->k != k)
            return lt_fail(LT_ERR_DIM, "the initial model has %zu states but the fit asks for %zu", im->k, k);
        if (need & LT_HMM_EMIT) {
            if (im->emission != o->emission)
                return lt_fail(LT_ERR_DIM, "the initial model has %s emissions but the fit asks for %s",
                               lt_emission_name(im->emission), lt_emission_name(o->emission));
            if (o->emission == LT_EMIT_CATEGORICAL && im->n_symbols != nsym)
                return lt_fail(LT_ERR_DIM, "the initial model has %zu symbols but the fit asks for %zu", im->n_symbols,
                               nsym);
            if (o->emission != LT_EMIT_CATEGORICAL && im->d != d)
                return lt_fail(LT_ERR_DIM, "the initial model has %zu features but the data has %zu", im->d, d);
            if (o->emission == LT_EMIT_GMM && im->n_mix != o->n_mix)
                return lt_fail(LT_ERR_DIM,
                               "the initial model has %zu mixture components per state but the fit asks for %zu",
                               im->n_mix, o->n_mix);
            if ((o->emission == LT_EMIT_GAUSSIAN || o->emission == LT_EMIT_GMM) && im->cov != o->cov)
                return lt_fail(LT_ERR_DIM, "the initial model has %s covariances but the fit asks for %s",
                               lt_cov_type_name(im->cov), lt_cov_type_name(o->cov));
        }
    }

    lt_status st = LT_OK;
    lt_hmm *best = NULL, *cur = NULL;
    lt_hmm_trace tr = {0};
    fitctx c = {.o = o, .data = data};
    if ((st = lt_hmm_create(k, o->emission, d, nsym, o->n_mix, o->cov, &cur)) != LT_OK) goto done;
    if ((st = check_model_data(cur, data)) != LT_OK) goto done;
    if ((st = layout_init(&c.L, data, k)) != LT_OK) goto done;
    c.gamma = lt_malloc(data->total, k * sizeof(double));
    c.stats = lt_malloc(c.L.nblocks, (k + k * k) * sizeof(double));
    c.ll = lt_malloc(c.L.nblocks, sizeof(double));
    c.logs = lt_malloc(k + k * k, sizeof(double));
    c.tmp = lt_malloc(2 * k, sizeof(double));
    if (!c.gamma || !c.stats || !c.ll || !c.logs || !c.tmp) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    for (size_t run = 0; run < o->n_init; run++) {
        if (!cur && (st = lt_hmm_create(k, o->emission, d, nsym, o->n_mix, o->cov, &cur)) != LT_OK) goto done;
        if (o->mask && !cur->mask) {
            if (!(cur->mask = lt_malloc(k * k, 1))) {
                st = LT_ERR_NOMEM;
                goto done;
            }
            for (size_t q = 0; q < k * k; q++)
                cur->mask[q] = o->mask[q] != 0;
        }
        if ((st = em_run(&c, cur, run, o->trace ? &tr : NULL)) != LT_OK) {
            if (o->n_init > 1) {
                char where[64];
                snprintf(where, sizeof where, "run %zu of %zu", run + 1, o->n_init);
                lt_fail_prefix(st, where);
            }
            goto done;
        }
        cur->best_init = run;
        if (!best || cur->log_likelihood > best->log_likelihood) {
            lt_hmm_free(best);
            best = cur;
            if (o->trace) {
                free(o->trace->loglik);
                *o->trace = tr;
                tr = (lt_hmm_trace){0};
            }
        } else {
            lt_hmm_free(cur);
        }
        cur = NULL;
    }
    best->seed = o->seed;
    if (im && o->emission == LT_EMIT_CATEGORICAL && im->vocab && im->n_symbols == best->n_symbols &&
        (st = vocab_copy(im->vocab, im->n_symbols, &best->vocab)) != LT_OK)
        goto done;
    *out = best;
    best = NULL;
done:
    lt_hmm_free(best);
    lt_hmm_free(cur);
    free(tr.loglik);
    layout_free(&c.L);
    free(c.gamma);
    free(c.stats);
    free(c.ll);
    free(c.logs);
    free(c.tmp);
    return st;
}

/* ------------------------------------------------ sampling, criteria */

lt_status lt_hmm_sample(const lt_hmm *m, size_t n_seqs, size_t length, uint64_t seed, int32_t *states, double *x,
                        int32_t *symbols)
{
    size_t k = m->k, d = m->d;
    int ok = 1;
    size_t n = lt_mul_size(n_seqs, length, &ok);
    lt_mul_size(n, d, &ok);
    if (!ok) return lt_fail(LT_ERR_INVALID, "%zu sequences of %zu steps are too many", n_seqs, length);
    double *xb = lt_malloc(d ? d : 1, sizeof(double));
    if (!xb) return LT_ERR_NOMEM;
    int cat = m->emission == LT_EMIT_CATEGORICAL;
    lt_rng rng;
    lt_rng_seed(&rng, seed);
    for (size_t s = 0; s < n_seqs; s++) {
        size_t z = 0;
        for (size_t t = 0; t < length; t++) {
            size_t idx = s * length + t;
            z = t == 0 ? lt_rng_categorical(&rng, m->start, k) : lt_rng_categorical(&rng, m->trans + z * k, k);
            int32_t sym = 0;
            hmm_emit_sample(m, z, &rng, xb, &sym);
            if (states) states[idx] = (int32_t)z;
            if (cat && symbols) symbols[idx] = sym;
            if (!cat && x) memcpy(x + idx * d, xb, d * sizeof(double));
        }
    }
    free(xb);
    return LT_OK;
}

size_t lt_hmm_n_parameters(const lt_hmm *m)
{
    size_t k = m->k, allowed = k * k;
    if (m->mask) {
        allowed = 0;
        for (size_t q = 0; q < k * k; q++)
            allowed += m->mask[q] != 0;
    }
    return (k - 1) + (allowed - k) + hmm_emit_n_parameters(m);
}

lt_status lt_hmm_bic(const lt_hmm *m, const lt_seqs *data, int threads, double *bic, double *aic)
{
    LT_CHECK(check_seqs(data));
    double *lp = lt_malloc(data->n_seqs, sizeof(double));
    if (!lp) return LT_ERR_NOMEM;
    lt_status st = lt_hmm_score(m, data, threads, lp);
    if (st == LT_OK) {
        double ll = 0.0;
        for (size_t s = 0; s < data->n_seqs; s++)
            ll += lp[s];
        double p = (double)lt_hmm_n_parameters(m);
        if (bic) *bic = -2.0 * ll + p * log((double)data->total);
        if (aic) *aic = -2.0 * ll + 2.0 * p;
    }
    free(lp);
    return st;
}

/* ------------------------------------------------------------ model files */

/* The vocabulary as a JSON array of strings (cJSON_free the result). */
static char *vocab_json(const lt_hmm *m)
{
    cJSON *a = cJSON_CreateArray();
    char *s = NULL;
    if (!a) goto done;
    for (size_t i = 0; i < m->n_symbols; i++) {
        cJSON *e = cJSON_CreateString(m->vocab[i] ? m->vocab[i] : "");
        if (!e || !cJSON_AddItemToArray(a, e)) {
            cJSON_Delete(e);
            goto done;
        }
    }
    s = cJSON_PrintUnformatted(a);
done:
    cJSON_Delete(a);
    return s;
}

static lt_status vocab_parse(const char *json, size_t n, const char *path, char ***out)
{
    *out = NULL;
    lt_status st = LT_OK;
    char **v = NULL;
    cJSON *a = cJSON_Parse(json);
    if (!a || !cJSON_IsArray(a)) {
        st = lt_fail(LT_ERR_FORMAT, "%s: metadata 'vocabulary' is not a JSON array of strings", path);
        goto done;
    }
    if ((size_t)cJSON_GetArraySize(a) != n) {
        st = lt_fail(LT_ERR_FORMAT, "%s: the vocabulary has %d entries but the model has %zu symbols", path,
                     cJSON_GetArraySize(a), n);
        goto done;
    }
    if (!(v = lt_calloc(n, sizeof *v))) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a)
    {
        if (!cJSON_IsString(e) || !e->valuestring) {
            st = lt_fail(LT_ERR_FORMAT, "%s: vocabulary entry %zu is not a string", path, i + 1);
            goto done;
        }
        if (!(v[i++] = strdup(e->valuestring))) {
            st = lt_fail(LT_ERR_NOMEM, "out of memory reading the vocabulary");
            goto done;
        }
    }
    *out = v;
    v = NULL;
done:
    vocab_free(v, n);
    cJSON_Delete(a);
    return st;
}

lt_status lt_hmm_save(const lt_hmm *m, const char *path)
{
    lt_st_writer *w = NULL;
    char *vj = NULL;
    lt_status st = lt_st_writer_create(&w);
    if (st != LT_OK) return st;
    size_t k = m->k, s1[1] = {k}, s2[2] = {k, k};
    int gauss = m->emission == LT_EMIT_GAUSSIAN || m->emission == LT_EMIT_GMM;
    if ((st = lt_st_writer_meta(w, LT_META_FORMAT, LT_FORMAT_VERSION)) ||
        (st = lt_st_writer_meta(w, LT_META_KIND, "hmm")) ||
        (st = lt_st_writer_meta(w, LT_META_VERSION, lt_version())) ||
        (st = lt_st_writer_meta(w, "emission", lt_emission_name(m->emission))) ||
        (st = lt_st_writer_meta_i64(w, "n_states", (int64_t)k)) ||
        (st = lt_st_writer_meta_i64(w, "n_features", (int64_t)m->d)) ||
        (st = lt_st_writer_meta_i64(w, "n_symbols", (int64_t)m->n_symbols)) ||
        (st = lt_st_writer_meta_i64(w, "n_mix", (int64_t)m->n_mix)) ||
        (gauss && (st = lt_st_writer_meta(w, "covariance_type", lt_cov_type_name(m->cov)))) ||
        (st = lt_st_writer_meta(w, "converged", m->converged ? "true" : "false")) ||
        (st = lt_st_writer_meta_i64(w, "n_iter", (int64_t)m->n_iter)) ||
        (st = lt_st_writer_meta_i64(w, "best_init", (int64_t)m->best_init)) ||
        (st = lt_st_writer_meta_i64(w, "n_repaired", (int64_t)m->n_repaired)) ||
        (st = lt_st_writer_meta_f64(w, "log_likelihood", m->log_likelihood)) ||
        (st = lt_st_writer_meta_i64(w, "seed", (int64_t)m->seed)))
        goto done;
    if (m->vocab && m->emission == LT_EMIT_CATEGORICAL) {
        if (!(vj = vocab_json(m))) {
            st = lt_fail(LT_ERR_NOMEM, "out of memory writing the vocabulary");
            goto done;
        }
        if ((st = lt_st_writer_meta(w, "vocabulary", vj)) != LT_OK) goto done;
    }
    if ((st = lt_st_writer_tensor(w, "start", LT_ST_F64, 1, s1, m->start)) ||
        (st = lt_st_writer_tensor(w, "transitions", LT_ST_F64, 2, s2, m->trans)) ||
        (m->mask && (st = lt_st_writer_tensor(w, "mask", LT_ST_U8, 2, s2, m->mask))) || (st = hmm_emit_save(m, w)))
        goto done;
    st = lt_st_writer_save(w, path);
done:
    cJSON_free(vj);
    lt_st_writer_free(w);
    return st;
}

static int st_has(const lt_st_file *f, const char *name)
{
    for (size_t i = 0; i < lt_st_count(f); i++)
        if (strcmp(lt_st_name(f, i), name) == 0) return 1;
    return 0;
}

lt_status lt_hmm_from_st(const lt_st_file *f, const char *path, lt_hmm **out)
{
    *out = NULL;
    lt_status st;
    lt_emission e;
    lt_cov_type cov = LT_COV_DIAG;
    int64_t k = 0, d = 1, ns = 0, nm = 0;
    const char *es = lt_st_meta(f, "emission");
    if (!es) return lt_fail(LT_ERR_FORMAT, "%s: no emission in the metadata", path);
    if (lt_emission_parse(es, &e) != LT_OK) return lt_fail_prefix(LT_ERR_FORMAT, path);
    LT_CHECK(lt_st_meta_i64(f, "n_states", &k));
    if (e == LT_EMIT_CATEGORICAL) {
        LT_CHECK(lt_st_meta_i64(f, "n_symbols", &ns));
    } else {
        LT_CHECK(lt_st_meta_i64(f, "n_features", &d));
    }
    if (e == LT_EMIT_GMM) LT_CHECK(lt_st_meta_i64(f, "n_mix", &nm));
    if (e == LT_EMIT_GAUSSIAN || e == LT_EMIT_GMM) {
        const char *ct = lt_st_meta(f, "covariance_type");
        if (!ct) return lt_fail(LT_ERR_FORMAT, "%s: no covariance_type in the metadata", path);
        if (lt_cov_type_parse(ct, &cov) != LT_OK) return lt_fail_prefix(LT_ERR_FORMAT, path);
    }
    if (k < 1 || k > (1 << 20) || d < 1 || d > (1 << 24) || (e == LT_EMIT_CATEGORICAL && (ns < 1 || ns > INT32_MAX)) ||
        (e == LT_EMIT_GMM && (nm < 1 || nm > (1 << 20))))
        return lt_fail(LT_ERR_FORMAT,
                       "%s: n_states = %lld, n_features = %lld, n_symbols = %lld, n_mix = %lld are not valid sizes",
                       path, (long long)k, (long long)d, (long long)ns, (long long)nm);
    /* The file must hold the tensors before anything of that size is allocated. */
    size_t s1[1] = {(size_t)k}, s2[2] = {(size_t)k, (size_t)k};
    const void *ps, *pt, *pm = NULL;
    LT_CHECK(lt_st_tensor(f, "start", LT_ST_F64, 1, s1, &ps));
    LT_CHECK(lt_st_tensor(f, "transitions", LT_ST_F64, 2, s2, &pt));
    if (st_has(f, "mask")) LT_CHECK(lt_st_tensor(f, "mask", LT_ST_U8, 2, s2, &pm));
    lt_hmm *m = NULL;
    LT_CHECK(lt_hmm_create((size_t)k, e, (size_t)d, (size_t)ns, (size_t)nm, cov, &m));
    size_t kk = m->k;
    memcpy(m->start, ps, kk * sizeof(double));
    memcpy(m->trans, pt, kk * kk * sizeof(double));
    if (pm) {
        if (!(m->mask = lt_malloc(kk * kk, 1))) {
            st = LT_ERR_NOMEM;
            goto fail;
        }
        for (size_t q = 0; q < kk * kk; q++)
            m->mask[q] = ((const uint8_t *)pm)[q] != 0;
    }
    if ((st = hmm_emit_load(m, f, path)) != LT_OK) goto fail;
    const char *vj = lt_st_meta(f, "vocabulary");
    if (vj && e == LT_EMIT_CATEGORICAL && (st = vocab_parse(vj, m->n_symbols, path, &m->vocab)) != LT_OK) goto fail;
    if ((st = lt_hmm_prepare(m)) != LT_OK) {
        lt_fail_prefix(st, path);
        goto fail;
    }
    /* The training summary is informative: absent or odd values are not fatal. */
    double v;
    int64_t iv;
    if (lt_st_meta_f64(f, "log_likelihood", &v) == LT_OK) m->log_likelihood = v;
    if (lt_st_meta_i64(f, "n_iter", &iv) == LT_OK && iv >= 0) m->n_iter = (size_t)iv;
    if (lt_st_meta_i64(f, "best_init", &iv) == LT_OK && iv >= 0) m->best_init = (size_t)iv;
    if (lt_st_meta_i64(f, "n_repaired", &iv) == LT_OK && iv >= 0) m->n_repaired = (size_t)iv;
    if (lt_st_meta_i64(f, "seed", &iv) == LT_OK) m->seed = (uint64_t)iv;
    const char *cv = lt_st_meta(f, "converged");
    m->converged = cv && strcmp(cv, "true") == 0;
    lt_clear_error();
    *out = m;
    return LT_OK;
fail:
    lt_hmm_free(m);
    return st;
}

lt_status lt_hmm_load(const char *path, lt_hmm **out)
{
    *out = NULL;
    lt_st_file *f;
    LT_CHECK(lt_st_load(path, &f));
    const char *kind = lt_st_meta(f, LT_META_KIND);
    lt_status st;
    if (!kind || strcmp(kind, "hmm") != 0)
        st = lt_fail(LT_ERR_FORMAT, "%s: not a hidden Markov model file (kind '%s')", path, kind ? kind : "none");
    else
        st = lt_hmm_from_st(f, path, out);
    lt_st_free(f);
    return st;
}
