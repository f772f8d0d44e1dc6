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
 * As computed, the scales are lazier, with the same results: the forward
 * rows are a_t times 2^-e_t, multiplied by an exact power of two only when
 * their sum falls below 2^-32 (log p = log sum_j of the last row + e_T log 2
 * + sum_t m_t), and beta likewise by powers of two when its largest entry
 * does. So no step divides or takes a logarithm on the recursion's critical
 * path, which at small K is the whole cost; the tests below compare
 * c_t = s_t / s_t-1 and Z_t / (sum a_t)(max beta_t+1) without dividing.
 * Categorical emissions depend on the step only through its symbol: b' and
 * m come from a table of n_symbols rows made once per pass (for K <= 4 also
 * the matrices A_ij b'_s(j), one multiply fewer per step), so a step reads
 * a row instead of taking K logarithms and exponentials. The transition
 * counts are summed as sum_t a_t(i) w_t+1(j) / Z_t (w = b' beta) and
 * multiplied by A_ij once per sequence, and the categorical E-step sums the
 * expected emission counts per block as well, so the M-step does not read
 * gamma again.
 *
 * Every number is probability-sized: b' and beta are at most 1 and a sums
 * to at most 2, so nothing underflows for any length. c_t and Z_t can only
 * become tiny when the model makes a step nearly impossible (a transition
 * of 1e-300, say); should one fall below SCALE_MIN, that sequence is redone
 * in log space (normalised log-sum-exp recursions, same outputs), which
 * cannot lose precision. A sequence whose probability is exactly zero (a
 * forbidden transition, a symbol no state emits) has log p = -inf.
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
 * emissions are re-estimated, and repaired, by hmm_emit_mstep (categorical:
 * hmm_emit_cat_mstep, from the counts the E-step summed).
 *
 * Threads and determinism: the sequences are grouped into a fixed number
 * of blocks of about equal steps, a function of the lengths and K only;
 * each block sums its counts in sequence and step order and the blocks are
 * reduced in block order, so results do not depend on the thread count.
 * The blocks run in parallel, one thread each.
 *
 * One long sequence (LONG_T steps or more) is cut into fixed blocks of
 * steps, a function of its length only, and each block sums its transition
 * (and categorical emission) counts in decreasing t into its own slot; the
 * slots are added in block order. When the sequence holds more than a
 * thread's share of the work it gets all the threads after the other
 * blocks are done (run_pass; no nested parallel regions): its emission
 * rows are computed per block in parallel, and the forward runs up the
 * blocks on one thread while the backward runs down them on another. The
 * backward needs only the emissions, beta_t = A (b'_t+1 .* beta_t+1), so
 * it runs alone (bwdu_*), keeping its rows u_t and their power-of-two
 * scales; a block's posteriors and counts are formed (comb_*) by whichever
 * thread is through it second, and once the backward reaches blocks the
 * forward is through, it reads the forward rows as for a short sequence
 * (bwd_*, resumed). The per-step scales cancel, gamma and xi being
 * normalised per step, and every number is computed by the same operations
 * in the same order whichever way a block is done; on one thread the
 * backward reads the forward rows throughout. So the model is the same
 * bytes at any thread count, and (given the emission rows) the posteriors
 * are those of the serial recursions bit for bit. Scoring is a forward
 * only, which cannot be split: one thread makes the next chunk of emission
 * rows while the other runs the forward over this one, then helps. Viterbi's
 * rows are made in parallel; its max-product recursion and backtrace stay
 * on one thread.
 *
 * References: L. R. Rabiner, "A tutorial on hidden Markov models and
 * selected applications in speech recognition" (1989); Bishop, PRML ch. 13;
 * hmmlearn (priors, params / init_params letters).
 */
#include "latent/hmm.h"
#include "latent/rng.h"
#include "latent/safetensors.h"

#include "hmm_emit.h"
#include "hmm_emit_cat.h"
#include "internal.h"
#include "par.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <omp.h>
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

/* One sequence of at least LONG_T steps is shared by threads (see the top
 * of the file), its steps in lt_block_count(T, LONG_BLOCK, LONG_MAX_BLOCKS)
 * blocks; scored, in chunks of LONG_CHUNK made LONG_PIECE at a time. */
#define LONG_T 8192
#define LONG_BLOCK 4096
#define LONG_MAX_BLOCKS 64
#define LONG_CHUNK 8192
#define LONG_PIECE 1024                 /* rows made at a time when scoring one long sequence */
#define LONG_ECNT_MAX ((size_t)1 << 21) /* per-block emission counts of a long sequence, at most (numbers) */
_Static_assert(LONG_T > BATCH_STEPS, "a long sequence is a batch of its own (run_block)");

/* Scaled recursions: a row whose sum (forward) or largest entry (backward)
 * falls below this is multiplied by a power of two. */
#define RESCALE_BELOW 0x1p-32
#define SMALL_K 4                /* up to this many states the recursions are unrolled for each k */
#define PM_MAX ((size_t)1 << 15) /* small k: per-symbol matrices A_ij b'_s(j), at most this many numbers */
#define LN2 0.69314718055994530941723212145817657

/* The recursions for any k are compiled for AVX-512, AVX2 and plain
 * x86-64, and the loader picks one; the choice is per machine, never per
 * thread count (and, with no fused multiply-adds in ISO C mode and no sums
 * reordered, all three give the same bits). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(LT_NO_CLONES)
#define LT_HOT __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LT_HOT
#endif
/* The kernels are written once for any k and instantiated for k = 2..4
 * (constant k: loops unrolled, vectors in registers). */
#if defined(__GNUC__)
#define LT_INLINE static inline __attribute__((always_inline))
#else
#define LT_INLINE static inline
#endif

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
    lt_vocab_free(m->vocab, m->n_symbols);
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
    if ((st = lt_vocab_copy(m->vocab, m->n_symbols, &c->vocab)) != LT_OK) goto done;
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

/* Emission rows for the scaled recursions: row t is rows + sym[t] k (the
 * categorical table, one row per symbol) or rows + t k (rows computed for
 * each step), with the log shift taken out of it, shift[sym[t]] or
 * shift[t]. */
typedef struct erows {
    const double *rows;
    const int32_t *sym; /* NULL: one row per step */
    const double *shift;
    const double *pm; /* with sym, small k, or NULL: per symbol s the k x k matrix A_ij b'_s(j) */
} erows;

#define EROW(e, k, t) ((e).sym ? (e).rows + (size_t)(e).sym[t] * (k) : (e).rows + (size_t)(t) * (k))
#define ESHIFT(e, t) ((e).sym ? (e).shift[(e).sym[t]] : (e).shift[t])

/* A scaled forward pass in progress: the rows are alpha_t / p(x_1..t)
 * times 2^-e2 (plus the emission shifts), so log p(x_1..t) =
 * log s + e2 log 2 + lsh. */
typedef struct fwd {
    double *a;  /* k: the last row, for a pass continued over chunks (G == NULL) */
    double s;   /* sum of the last row */
    int64_t e2; /* powers of two taken out */
    double lsh; /* sum of the emission shifts */
    size_t t;   /* steps done */
} fwd;

static double fwd_logp(const fwd *f)
{
    return log(f->s) + (double)f->e2 * LN2 + f->lsh;
}

/* 2^-e for x = m 2^e, 1 <= m < 2 (x positive and normal): scaling by it is
 * exact, so rescaled rows carry no rounding of their own. */
static inline double pow2_scale(double x, int64_t *e)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    int64_t ex = (int64_t)((b >> 52) & 0x7ff) - 1023;
    uint64_t r = (uint64_t)(1023 - ex) << 52;
    double y;
    memcpy(&y, &r, sizeof y);
    *e = ex;
    return y;
}

/* ---- small k: the vectors live in registers, every loop unrolled */

/* Scaled forward over steps [0, n) of one sequence (or of the next chunk
 * of it, continuing f), rows into G (n x k) when G is given. Returns 1 when
 * a scale c_t fell below SCALE_MIN (redo in log space). */
LT_INLINE int fwd_small(size_t k, const double *restrict pi, const double *restrict A, erows e, size_t n,
                        double *restrict G, fwd *restrict f)
{
    double As[SMALL_K * SMALL_K], a[SMALL_K], c[SMALL_K];
    for (size_t q = 0; q < k * k; q++)
        As[q] = A[q];
    double s = f->s, lsh = f->lsh;
    int64_t e2 = f->e2;
    size_t i = 0;
    if (n == 0) return 0;
    if (f->t == 0) {
        const double *b = EROW(e, k, 0);
        s = 0.0;
        for (size_t j = 0; j < k; j++) {
            a[j] = pi[j] * b[j];
            s += a[j];
        }
        lsh += ESHIFT(e, 0);
        if (!(s >= SCALE_MIN && s < INFINITY)) return 1;
        if (s < RESCALE_BELOW) {
            int64_t ex;
            double sc = pow2_scale(s, &ex);
            for (size_t j = 0; j < k; j++)
                a[j] *= sc;
            s *= sc;
            e2 += ex;
        }
        if (G)
            for (size_t j = 0; j < k; j++)
                G[j] = a[j];
        i = 1;
    } else {
        for (size_t j = 0; j < k; j++)
            a[j] = f->a[j];
    }
    for (; i < n; i++) {
        if (e.pm) { /* one multiply fewer on the recursion's critical path */
            const double *P = e.pm + (size_t)e.sym[i] * k * k;
            for (size_t j = 0; j < k; j++) {
                double v = a[0] * P[j]; /* not 0 + ...: an add the compiler must keep */
                for (size_t r = 1; r < k; r++)
                    v += a[r] * P[r * k + j];
                c[j] = v;
            }
        } else {
            const double *b = EROW(e, k, i);
            for (size_t j = 0; j < k; j++) {
                double v = a[0] * As[j];
                for (size_t r = 1; r < k; r++)
                    v += a[r] * As[r * k + j];
                c[j] = v * b[j];
            }
        }
        double ns = c[0];
        for (size_t j = 1; j < k; j++)
            ns += c[j];
        lsh += ESHIFT(e, i);
        /* c_t = ns / s: compared without dividing */
        if (!(ns >= SCALE_MIN * s && ns < INFINITY)) return 1;
        if (ns < RESCALE_BELOW) {
            int64_t ex;
            double sc = pow2_scale(ns, &ex);
            for (size_t j = 0; j < k; j++)
                c[j] *= sc;
            ns *= sc;
            e2 += ex;
        }
        s = ns;
        for (size_t j = 0; j < k; j++)
            a[j] = c[j];
        if (G)
            for (size_t j = 0; j < k; j++)
                G[i * k + j] = a[j];
    }
    for (size_t j = 0; j < k; j++)
        f->a[j] = a[j];
    f->s = s;
    f->e2 = e2;
    f->lsh = lsh;
    f->t += n;
    return 0;
}

/* Where a backward pass starts: at the sequence's end (the last posterior
 * row normalised, beta = 1) or resumed at step `top` from the saved row
 * bst (k values and its scale bst[k]). Returns the step to continue from. */
static inline size_t bwd_start(double *G, size_t T, size_t k, size_t top, const double *bst, double *beta,
                               double *bmax)
{
    *bmax = 1.0;
    if (top != T) {
        for (size_t j = 0; j < k; j++)
            beta[j] = bst[j];
        *bmax = bst[k];
        return top;
    }
    double *last = G + (T - 1) * k, sa = 0.0;
    for (size_t j = 0; j < k; j++)
        sa += last[j];
    double isa = 1.0 / sa;
    for (size_t j = 0; j < k; j++) {
        last[j] *= isa;
        beta[j] = 1.0;
    }
    return T - 1;
}

/* Backward over the forward rows in G (T x k), turning them into
 * posteriors; xs (may be NULL) is set to this sequence's
 * sum_t a_t(i) b'_t+1(j) beta_t+1(j) / Z_t, the expected transition
 * counts before the product with A_ij: summed apart over the steps of each
 * of nb blocks (lt_block_begin(T, nb, b), the last step in the last one),
 * each in decreasing t, block b's k x k sum at xs + b xw. From the end
 * (top == T), or resumed below step `top` (a block's first step) from
 * beta_top and its largest entry in bst (k + 1, from bwdu_*); the steps
 * below top only. Returns 1 when a normaliser fell below SCALE_MIN. */
LT_INLINE int bwd_small(size_t k, const double *restrict A, erows e, size_t T, size_t top, double *restrict G,
                        double *restrict xs, size_t nb, size_t xw, const double *restrict bst)
{
    double As[SMALL_K * SMALL_K], X[SMALL_K * SMALL_K], beta[SMALL_K], w[SMALL_K], u[SMALL_K];
    size_t xb = nb - 1, cb = lt_block_begin(T, nb, xb); /* the block being summed, its first step */
    while (cb >= top && xb > 0)
        cb = lt_block_begin(T, nb, --xb);
    for (size_t q = 0; q < k * k; q++) {
        As[q] = A[q];
        X[q] = 0.0;
    }
    double bmax;
    size_t t = bwd_start(G, T, k, top, bst, beta, &bmax);
    while (t-- > 0) {
        const double *b = EROW(e, k, t + 1);
        double *a = G + t * k;
        if (xs)
            while (t < cb) { /* block xb is done */
                for (size_t q = 0; q < k * k; q++) {
                    xs[xb * xw + q] = X[q];
                    X[q] = 0.0;
                }
                cb = lt_block_begin(T, nb, --xb);
            }
        for (size_t j = 0; j < k; j++)
            w[j] = b[j] * beta[j];
        const double *P = e.pm ? e.pm + (size_t)e.sym[t + 1] * k * k : NULL;
        double Z = 0.0, umax = 0.0;
        double sa = 0.0;
        for (size_t i = 0; i < k; i++) {
            double v;
            if (P) { /* u from beta directly: w is off the critical path */
                v = P[i * k] * beta[0];
                for (size_t j = 1; j < k; j++)
                    v += P[i * k + j] * beta[j];
            } else {
                v = As[i * k] * w[0];
                for (size_t j = 1; j < k; j++)
                    v += As[i * k + j] * w[j];
            }
            u[i] = v;
            Z += a[i] * v;
            sa += a[i];
            if (v > umax) umax = v;
        }
        /* Z over (sum a)(max beta) is the normaliser of a normalised a and
         * a beta scaled to a largest entry of 1 */
        if (!(Z >= SCALE_MIN * sa * bmax && Z < INFINITY)) return 1;
        double iz = 1.0 / Z;
        if (xs)
            for (size_t i = 0; i < k; i++) {
                double fi = a[i] * iz;
                for (size_t j = 0; j < k; j++)
                    X[i * k + j] += fi * w[j];
            }
        for (size_t i = 0; i < k; i++) {
            a[i] = a[i] * u[i] * iz;
            beta[i] = u[i];
        }
        bmax = umax;
        if (bmax < RESCALE_BELOW) {
            int64_t ex;
            double sc = pow2_scale(bmax, &ex);
            for (size_t i = 0; i < k; i++)
                beta[i] *= sc;
            bmax *= sc;
        }
    }
    if (xs)
        for (;;) {
            for (size_t q = 0; q < k * k; q++) {
                xs[xb * xw + q] = X[q];
                X[q] = 0.0;
            }
            if (xb-- == 0) break;
        }
    return 0;
}

/* ---- any k: the same recursions over vectors in memory */

/* y = x^T M (M k x k row-major), each y_j summed over the rows in order;
 * four rows per sweep over y, so y is loaded and stored a quarter as often
 * (the sums, and so the bits, are those of one row at a time). */
LT_INLINE void vec_mat(size_t k, const double *restrict x, const double *restrict M, double *restrict y)
{
    size_t i = 0;
    for (; i + 4 <= k; i += 4) {
        double x0 = x[i], x1 = x[i + 1], x2 = x[i + 2], x3 = x[i + 3];
        const double *restrict M0 = M + i * k, *restrict M1 = M0 + k, *restrict M2 = M1 + k, *restrict M3 = M2 + k;
        if (i == 0) /* the first rows start y (not 0 + ...: an add the compiler must keep) */
            for (size_t j = 0; j < k; j++) {
                double v = x0 * M0[j];
                v += x1 * M1[j];
                v += x2 * M2[j];
                v += x3 * M3[j];
                y[j] = v;
            }
        else
            for (size_t j = 0; j < k; j++) {
                double v = y[j];
                v += x0 * M0[j];
                v += x1 * M1[j];
                v += x2 * M2[j];
                v += x3 * M3[j];
                y[j] = v;
            }
    }
    for (; i < k; i++) {
        double xi = x[i];
        const double *restrict Mi = M + i * k;
        if (i == 0)
            for (size_t j = 0; j < k; j++)
                y[j] = xi * Mi[j];
        else
            for (size_t j = 0; j < k; j++)
                y[j] += xi * Mi[j];
    }
}

/* As fwd_small. tmp: k scratch. */
LT_INLINE int fwd_any(size_t k, const double *restrict pi, const double *restrict A, erows e, size_t n,
                      double *restrict G, fwd *restrict f, double *restrict tmp)
{
    double s = f->s, lsh = f->lsh;
    int64_t e2 = f->e2;
    double *prev = f->t ? f->a : NULL;
    for (size_t i = 0; i < n; i++) {
        double *cur = G ? G + i * k : prev == tmp ? f->a : tmp;
        const double *b = EROW(e, k, i);
        double ns = 0.0;
        if (!prev) {
            for (size_t j = 0; j < k; j++)
                cur[j] = pi[j] * b[j];
        } else {
            vec_mat(k, prev, A, cur);
            for (size_t j = 0; j < k; j++)
                cur[j] *= b[j];
        }
        for (size_t j = 0; j < k; j++)
            ns += cur[j];
        lsh += ESHIFT(e, i);
        if (!(ns >= (prev ? SCALE_MIN * s : SCALE_MIN) && ns < INFINITY)) return 1;
        if (ns < RESCALE_BELOW) {
            int64_t ex;
            double sc = pow2_scale(ns, &ex);
            for (size_t j = 0; j < k; j++)
                cur[j] *= sc;
            ns *= sc;
            e2 += ex;
        }
        s = ns;
        prev = cur;
    }
    if (!G && prev && prev != f->a) memcpy(f->a, prev, k * sizeof(double));
    f->s = s;
    f->e2 = e2;
    f->lsh = lsh;
    f->t += n;
    return 0;
}

/* xs += f1 w1^T + f0 w0^T, the two rank-1 terms added in that order to
 * each entry (the order of two separate updates), in one sweep over xs. */
LT_INLINE void rank2_add(size_t k, const double *restrict f1, const double *restrict w1, const double *restrict f0,
                         const double *restrict w0, double *restrict xs)
{
    for (size_t i = 0; i < k; i++) {
        double p = f1[i], q = f0[i];
        double *restrict x = xs + i * k;
        for (size_t j = 0; j < k; j++) {
            double v = x[j];
            v += p * w1[j];
            v += q * w0[j];
            x[j] = v;
        }
    }
}

/* As bwd_small. At: A transposed; v: 6k scratch. */
LT_INLINE int bwd_any(size_t k, const double *restrict At, erows e, size_t T, size_t top, double *restrict G,
                      double *restrict xs, size_t nb, size_t xw, const double *restrict bst, double *restrict v)
{
    double *beta = v, *w = v + k, *u = v + 2 * k, *fa = v + 3 * k, *w1 = v + 4 * k, *f1 = v + 5 * k;
    int pending = 0; /* f1, w1 hold the last step's rank-1 term, not yet in xs */
    size_t xb = nb - 1, cb = lt_block_begin(T, nb, xb);
    while (cb >= top && xb > 0)
        cb = lt_block_begin(T, nb, --xb);
    double *restrict X = xs ? xs + xb * xw : NULL; /* block xb's sum */
    if (X) memset(X, 0, k * k * sizeof(double));
    double bmax;
    size_t t = bwd_start(G, T, k, top, bst, beta, &bmax);
    while (t-- > 0) {
        const double *b = EROW(e, k, t + 1);
        double *a = G + t * k;
        if (X && t < cb) { /* block xb is done */
            if (pending)
                for (size_t i = 0; i < k; i++)
                    for (size_t j = 0; j < k; j++)
                        X[i * k + j] += f1[i] * w1[j];
            pending = 0;
            while (t < cb) {
                cb = lt_block_begin(T, nb, --xb);
                X = xs + xb * xw;
                memset(X, 0, k * k * sizeof(double));
            }
        }
        for (size_t j = 0; j < k; j++)
            w[j] = b[j] * beta[j];
        vec_mat(k, w, At, u); /* u = A w */
        double Z = 0.0, umax = 0.0;
        double sa = 0.0;
        for (size_t i = 0; i < k; i++) {
            Z += a[i] * u[i];
            sa += a[i];
            if (u[i] > umax) umax = u[i];
        }
        if (!(Z >= SCALE_MIN * sa * bmax && Z < INFINITY)) return 1;
        double iz = 1.0 / Z;
        if (X) {
            for (size_t i = 0; i < k; i++)
                fa[i] = a[i] * iz;
            if (pending) {
                rank2_add(k, f1, w1, fa, w, X);
                pending = 0;
            } else {
                double *sw = f1;
                f1 = fa, fa = sw;
                sw = w1, w1 = w, w = sw;
                pending = 1;
            }
        }
        for (size_t i = 0; i < k; i++) {
            a[i] = a[i] * u[i] * iz;
            beta[i] = u[i];
        }
        bmax = umax;
        if (bmax < RESCALE_BELOW) {
            int64_t ex;
            double sc = pow2_scale(bmax, &ex);
            for (size_t i = 0; i < k; i++)
                beta[i] *= sc;
            bmax *= sc;
        }
    }
    if (pending)
        for (size_t i = 0; i < k; i++)
            for (size_t j = 0; j < k; j++)
                X[i * k + j] += f1[i] * w1[j];
    while (X && xb-- > 0) /* blocks without a step (none when blocks have two or more) */
        memset(xs + xb * xw, 0, k * k * sizeof(double));
    return 0;
}

/* The kernels for any k, compiled per instruction set; the table (sym)
 * and the computed-rows (no sym) variants separately, so that neither
 * tests which it is at every step. */
LT_HOT static int fwd_any_tab(size_t k, const double *pi, const double *A, erows e, size_t n, double *G, fwd *f,
                              double *tmp)
{
    return fwd_any(k, pi, A, e, n, G, f, tmp);
}

LT_HOT static int fwd_any_rows(size_t k, const double *pi, const double *A, erows e, size_t n, double *G, fwd *f,
                               double *tmp)
{
    e.sym = NULL;
    return fwd_any(k, pi, A, e, n, G, f, tmp);
}

LT_HOT static int bwd_any_tab(size_t k, const double *At, erows e, size_t T, size_t top, double *G, double *xs,
                              size_t nb, size_t xw, const double *bst, double *v)
{
    return bwd_any(k, At, e, T, top, G, xs, nb, xw, bst, v);
}

LT_HOT static int bwd_any_rows(size_t k, const double *At, erows e, size_t T, size_t top, double *G, double *xs,
                               size_t nb, size_t xw, const double *bst, double *v)
{
    e.sym = NULL;
    return bwd_any(k, At, e, T, top, G, xs, nb, xw, bst, v);
}

/* Dispatch on k (2 to SMALL_K unrolled) and on the kind of rows. */
static int fwd_run(size_t k, const double *pi, const double *A, erows e, size_t n, double *G, fwd *f, double *tmp)
{
#define FWD_SMALL(K)                                                                                                   \
    case K:                                                                                                            \
        if (e.sym && e.pm) return fwd_small(K, pi, A, e, n, G, f);                                                     \
        e.pm = NULL;                                                                                                   \
        if (e.sym) return fwd_small(K, pi, A, e, n, G, f);                                                             \
        e.sym = NULL;                                                                                                  \
        return fwd_small(K, pi, A, e, n, G, f);
    switch (k) {
        FWD_SMALL(2)
        FWD_SMALL(3)
        FWD_SMALL(4)
    default: break;
    }
#undef FWD_SMALL
    return e.sym ? fwd_any_tab(k, pi, A, e, n, G, f, tmp) : fwd_any_rows(k, pi, A, e, n, G, f, tmp);
}

static int bwd_run(size_t k, const double *A, const double *At, erows e, size_t T, size_t top, double *G, double *xs,
                   size_t nb, size_t xw, const double *bst, double *v)
{
#define BWD_SMALL(K)                                                                                                   \
    case K:                                                                                                            \
        if (e.sym && e.pm) return bwd_small(K, A, e, T, top, G, xs, nb, xw, bst);                                      \
        e.pm = NULL;                                                                                                   \
        if (e.sym) return bwd_small(K, A, e, T, top, G, xs, nb, xw, bst);                                              \
        e.sym = NULL;                                                                                                  \
        return bwd_small(K, A, e, T, top, G, xs, nb, xw, bst);
    switch (k) {
        BWD_SMALL(2)
        BWD_SMALL(3)
        BWD_SMALL(4)
    default: break;
    }
#undef BWD_SMALL
    return e.sym ? bwd_any_tab(k, At, e, T, top, G, xs, nb, xw, bst, v)
                 : bwd_any_rows(k, At, e, T, top, G, xs, nb, xw, bst, v);
}

/* Expected emission counts of one sequence: cnt[s k + j] += gamma_t(j)
 * for the steps t with symbol s. */
LT_INLINE void counts_add(size_t k, const int32_t *restrict sym, const double *restrict G, size_t T,
                          double *restrict cnt)
{
    for (size_t t = 0; t < T; t++) {
        double *restrict c = cnt + (size_t)sym[t] * k;
        const double *restrict g = G + t * k;
        for (size_t j = 0; j < k; j++)
            c[j] += g[j];
    }
}

static void counts_run(size_t k, const int32_t *sym, const double *G, size_t T, double *cnt)
{
    switch (k) {
    case 2: counts_add(2, sym, G, T, cnt); return;
    case 3: counts_add(3, sym, G, T, cnt); return;
    case 4: counts_add(4, sym, G, T, cnt); return;
    default: counts_add(k, sym, G, T, cnt); return;
    }
}

/* ---- one long sequence: the backward apart from the forward
 *
 * bwd_small and bwd_any read the forward rows as they go, so the backward
 * waits for the whole forward. Its recursion does not need them, though:
 * beta_t = A (b'_t+1 .* beta_t+1), rescaled, reads only the emissions.
 * For a long sequence the backward therefore runs alone (bwdu_*), at the
 * same time as the forward on another thread, keeping each raw u_t and
 * the power of two that rescaled it; the posteriors and counts of a block
 * of steps are formed afterwards (comb_*). Each number is computed by the
 * same operations in the same order as in bwd_small / bwd_any, so the
 * posteriors are bit for bit the same, and so are the counts of each block
 * (seq_post_long). */

/* Backward alone over steps [lo, top) of T: U row t (T x k) gets u_t as
 * computed, usc[t] the power of two with beta_t = usc[t] u_t (1 unless the
 * largest u_t fell below RESCALE_BELOW); from the end when top == T (row
 * T - 1 is beta_T = 1), else resumed from bst (k + 1: beta_top and its
 * largest entry), which is left holding beta_lo and its largest entry.
 * Returns 1 when u_t's largest entry fell below SCALE_MIN times
 * beta_t+1's (the combine would then fail too: redo in log space). */
LT_INLINE int bwdu_small(size_t k, const double *restrict A, erows e, size_t T, size_t lo, size_t top,
                         double *restrict U, double *restrict usc, double *restrict bst)
{
    double As[SMALL_K * SMALL_K], beta[SMALL_K], w[SMALL_K];
    for (size_t q = 0; q < k * k; q++)
        As[q] = A[q];
    double bmax = 1.0;
    size_t t = top;
    if (top == T) {
        for (size_t j = 0; j < k; j++)
            beta[j] = U[(T - 1) * k + j] = 1.0;
        usc[T - 1] = 1.0;
        t = T - 1;
    } else {
        for (size_t j = 0; j < k; j++)
            beta[j] = bst[j];
        bmax = bst[k];
    }
    while (t-- > lo) {
        const double *P = e.pm ? e.pm + (size_t)e.sym[t + 1] * k * k : NULL;
        double *restrict u = U + t * k, umax = 0.0;
        if (!P) {
            const double *b = EROW(e, k, t + 1);
            for (size_t j = 0; j < k; j++)
                w[j] = b[j] * beta[j];
        }
        for (size_t i = 0; i < k; i++) {
            double v;
            if (P) {
                v = P[i * k] * beta[0];
                for (size_t j = 1; j < k; j++)
                    v += P[i * k + j] * beta[j];
            } else {
                v = As[i * k] * w[0];
                for (size_t j = 1; j < k; j++)
                    v += As[i * k + j] * w[j];
            }
            u[i] = v;
            if (v > umax) umax = v;
        }
        if (!(umax >= SCALE_MIN * bmax && umax < INFINITY)) return 1;
        double sc = 1.0;
        if (umax < RESCALE_BELOW) {
            int64_t ex;
            sc = pow2_scale(umax, &ex);
        }
        for (size_t i = 0; i < k; i++)
            beta[i] = u[i] * sc;
        bmax = umax * sc;
        usc[t] = sc;
    }
    for (size_t j = 0; j < k; j++)
        bst[j] = beta[j];
    bst[k] = bmax;
    return 0;
}

/* As bwdu_small for any k. At: A transposed; v: k scratch. */
LT_INLINE int bwdu_any(size_t k, const double *restrict At, erows e, size_t T, size_t lo, size_t top,
                       double *restrict U, double *restrict usc, double *restrict bst, double *restrict v)
{
    double *beta = bst, *w = v; /* beta kept in bst itself */
    double bmax = 1.0;
    size_t t = top;
    if (top == T) {
        for (size_t j = 0; j < k; j++)
            beta[j] = U[(T - 1) * k + j] = 1.0;
        usc[T - 1] = 1.0;
        t = T - 1;
    } else {
        bmax = bst[k];
    }
    while (t-- > lo) {
        const double *b = EROW(e, k, t + 1);
        double *restrict u = U + t * k, umax = 0.0;
        for (size_t j = 0; j < k; j++)
            w[j] = b[j] * beta[j];
        vec_mat(k, w, At, u); /* u = A w */
        for (size_t i = 0; i < k; i++)
            if (u[i] > umax) umax = u[i];
        if (!(umax >= SCALE_MIN * bmax && umax < INFINITY)) return 1;
        double sc = 1.0;
        if (umax < RESCALE_BELOW) {
            int64_t ex;
            sc = pow2_scale(umax, &ex);
        }
        for (size_t i = 0; i < k; i++)
            beta[i] = u[i] * sc;
        bmax = umax * sc;
        usc[t] = sc;
    }
    bst[k] = bmax;
    return 0;
}

/* Steps [c0, c1) of a sequence of T steps from its forward rows (G, turned
 * into posteriors) and the backward's U and usc, as bwd_small / bwd_any do
 * at each step:
 *
 *   Z_t = sum_i a_t(i) u_t(i),   gamma_t = a_t .* u_t / Z_t,
 *   X += (a_t / Z_t) (b'_t+1 .* beta_t+1)^T,   beta_t+1 = usc[t+1] u_t+1,
 *
 * row T - 1 normalised to sum 1. X (k x k, may be NULL): this block's own
 * sum, zeroed here and summed in decreasing t, as bwd_small sums a block;
 * COMB_GROUP steps at a time, their terms added to each entry in that
 * order in one sweep over X (the bits of one step at a time), while the
 * steps' own sums, independent of each other, overlap. v: 2 COMB_GROUP k
 * scratch. Returns 1 as bwd_small. */
#define COMB_GROUP 4
LT_INLINE int comb(size_t k, erows e, size_t c0, size_t c1, size_t T, double *restrict G, const double *restrict U,
                   const double *restrict usc, double *restrict X, double *restrict v)
{
    double *restrict W = v, *restrict F = v + COMB_GROUP * k; /* per step of a group: w, then a / Z */
    size_t t = c1;
    if (X) memset(X, 0, k * k * sizeof(double));
    if (c1 == T && T > c0) { /* the last row: no transition out of it */
        double *restrict a = G + (T - 1) * k, sa = 0.0;
        for (size_t j = 0; j < k; j++)
            sa += a[j];
        double isa = 1.0 / sa;
        for (size_t j = 0; j < k; j++)
            a[j] *= isa;
        t = T - 1;
    }
    while (t > c0) {
        size_t ng = 0;
        for (; ng < COMB_GROUP && t > c0; ng++) {
            t--;
            double *restrict a = G + t * k, sa = 0.0;
            const double *restrict u = U + t * k, *restrict u1 = u + k, *b = EROW(e, k, t + 1);
            double *restrict w = W + ng * k, *restrict fa = F + ng * k;
            double sc = usc[t + 1], Z = 0.0, bmax = 0.0;
            for (size_t i = 0; i < k; i++) {
                Z += a[i] * u[i];
                sa += a[i];
            }
            for (size_t j = 0; j < k; j++) {
                double bj = u1[j] * sc;
                bmax = bj > bmax ? bj : bmax;
                w[j] = b[j] * bj;
            }
            if (!(Z >= SCALE_MIN * sa * bmax && Z < INFINITY)) return 1;
            double iz = 1.0 / Z;
            for (size_t i = 0; i < k; i++) {
                fa[i] = a[i] * iz;
                a[i] = a[i] * u[i] * iz;
            }
        }
        if (!X || ng == 0) continue;
        for (size_t i = 0; i < k; i++) {
            double *restrict x = X + i * k;
            if (ng == COMB_GROUP) {
                double p0 = F[i], p1 = F[k + i], p2 = F[2 * k + i], p3 = F[3 * k + i];
                const double *restrict w0 = W, *restrict w1 = W + k, *restrict w2 = W + 2 * k, *restrict w3 = W + 3 * k;
                for (size_t j = 0; j < k; j++) {
                    double y = x[j];
                    y += p0 * w0[j];
                    y += p1 * w1[j];
                    y += p2 * w2[j];
                    y += p3 * w3[j];
                    x[j] = y;
                }
            } else {
                for (size_t g = 0; g < ng; g++) {
                    double p = F[g * k + i];
                    const double *restrict w = W + g * k;
                    for (size_t j = 0; j < k; j++)
                        x[j] += p * w[j];
                }
            }
        }
    }
    return 0;
}

LT_HOT static int bwdu_any_tab(size_t k, const double *At, erows e, size_t T, size_t lo, size_t top, double *U,
                               double *usc, double *bst, double *v)
{
    return bwdu_any(k, At, e, T, lo, top, U, usc, bst, v);
}

LT_HOT static int bwdu_any_rows(size_t k, const double *At, erows e, size_t T, size_t lo, size_t top, double *U,
                                double *usc, double *bst, double *v)
{
    e.sym = NULL;
    return bwdu_any(k, At, e, T, lo, top, U, usc, bst, v);
}

LT_HOT static int comb_any_tab(size_t k, erows e, size_t c0, size_t c1, size_t T, double *G, const double *U,
                               const double *usc, double *X, double *v)
{
    return comb(k, e, c0, c1, T, G, U, usc, X, v);
}

LT_HOT static int comb_any_rows(size_t k, erows e, size_t c0, size_t c1, size_t T, double *G, const double *U,
                                const double *usc, double *X, double *v)
{
    e.sym = NULL;
    return comb(k, e, c0, c1, T, G, U, usc, X, v);
}

static int bwdu_run(size_t k, const double *A, const double *At, erows e, size_t T, size_t lo, size_t top, double *U,
                    double *usc, double *bst, double *v)
{
#define BWDU_SMALL(K)                                                                                                  \
    case K:                                                                                                            \
        if (e.sym && e.pm) return bwdu_small(K, A, e, T, lo, top, U, usc, bst);                                        \
        e.pm = NULL;                                                                                                   \
        if (e.sym) return bwdu_small(K, A, e, T, lo, top, U, usc, bst);                                                \
        e.sym = NULL;                                                                                                  \
        return bwdu_small(K, A, e, T, lo, top, U, usc, bst);
    switch (k) {
        BWDU_SMALL(2)
        BWDU_SMALL(3)
        BWDU_SMALL(4)
    default: break;
    }
#undef BWDU_SMALL
    return e.sym ? bwdu_any_tab(k, At, e, T, lo, top, U, usc, bst, v)
                 : bwdu_any_rows(k, At, e, T, lo, top, U, usc, bst, v);
}

static int comb_run(size_t k, erows e, size_t c0, size_t c1, size_t T, double *G, const double *U, const double *usc,
                    double *X, double *v)
{
#define COMB_SMALL(K)                                                                                                  \
    case K:                                                                                                            \
        if (e.sym) return comb(K, e, c0, c1, T, G, U, usc, X, v);                                                      \
        e.sym = NULL;                                                                                                  \
        return comb(K, e, c0, c1, T, G, U, usc, X, v);
    switch (k) {
        COMB_SMALL(2)
        COMB_SMALL(3)
        COMB_SMALL(4)
    default: break;
    }
#undef COMB_SMALL
    return e.sym ? comb_any_tab(k, e, c0, c1, T, G, U, usc, X, v) : comb_any_rows(k, e, c0, c1, T, G, U, usc, X, v);
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

/* What a pass reads besides the model, made once per pass (see
 * tables_fill). */
typedef struct tables {
    double *buf;
    double *logpi, *logA; /* k, k x k: log start and transitions (log space, Viterbi) */
    double *At;           /* k x k: transitions transposed (backward for any k) */
    double *etab, *elmx;  /* categorical: n_symbols x k shifted probabilities, n_symbols log shifts; else NULL */
    double *pm;           /* categorical, k <= SMALL_K, n_symbols k k <= PM_MAX: A_ij etab[s][j]; else NULL */
} tables;

static void tables_free(tables *t)
{
    free(t->buf);
    memset(t, 0, sizeof *t);
}

/* Room for the tables of a model of this size; with_emit: the categorical
 * table too. */
static lt_status tables_alloc(tables *t, size_t k, size_t n_symbols, int with_emit)
{
    memset(t, 0, sizeof *t);
    int ok = 1;
    size_t kk = lt_mul_size(k, k, &ok), ns = with_emit ? n_symbols : 0;
    size_t te = lt_mul_size(ns, k + 1, &ok);
    if (!ok) return lt_fail(LT_ERR_INVALID, "an HMM of %zu states and %zu symbols is too large", k, n_symbols);
    size_t tp = k <= SMALL_K && ns <= PM_MAX / kk ? ns * kk : 0;
    if (kk > SIZE_MAX / 8 || te > SIZE_MAX / 8)
        return lt_fail(LT_ERR_INVALID, "an HMM of %zu states and %zu symbols is too large", k, n_symbols);
    t->buf = lt_malloc(k + 2 * kk + te + tp, sizeof(double));
    if (!t->buf) return LT_ERR_NOMEM;
    t->logpi = t->buf;
    t->logA = t->logpi + k;
    t->At = t->logA + kk;
    if (ns) {
        t->etab = t->At + kk;
        t->elmx = t->etab + ns * k;
        if (tp) t->pm = t->elmx + ns;
    }
    return LT_OK;
}

static void tables_fill(tables *t, const lt_hmm *m)
{
    size_t k = m->k;
    set_logs(m, t->logpi, t->logA);
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++)
            t->At[j * k + i] = m->trans[i * k + j];
    if (t->etab) hmm_emit_cat_table(m, t->etab, t->elmx);
    if (t->pm)
        for (size_t s = 0; s < m->n_symbols; s++)
            for (size_t i = 0; i < k; i++)
                for (size_t j = 0; j < k; j++)
                    t->pm[(s * k + i) * k + j] = m->trans[i * k + j] * t->etab[s * k + j];
}

typedef struct pass {
    const lt_hmm *m;
    const lt_seqs *data;
    const layout *L;
    pass_mode mode;
    const tables *tab;
    double *logp;  /* n_seqs, or NULL */
    double *post;  /* PASS_POST: total x k, or NULL: each sequence's in the thread's work space (for the counts) */
    int32_t *path; /* PASS_VITERBI: total */
    double *stats; /* PASS_POST, or NULL: per block, k start counts then k x k transition counts */
    double *ecnt;  /* PASS_POST with the table, or NULL: per block, n_symbols x k expected emission counts */
    double *ll;    /* per block sum of log p, or NULL */
    int zero_ok;   /* a sequence of probability zero is an answer (-inf), not an error */
    int threads;
    struct scratch *pool; /* lt_threads(threads) work spaces kept from pass to pass, or NULL: made for the pass */
} pass;

/* One thread's work space. */
typedef struct scratch {
    size_t k, cap, bpcap, gcap;
    double *B;    /* cap x k: emission rows */
    double *G;    /* gcap x k: one sequence's posteriors, when the pass keeps none */
    double *mx;   /* cap */
    int32_t *bp;  /* bpcap x k: Viterbi back-pointers */
    double *v;    /* 11k */
    double *xs;   /* k x k: one sequence's transition counts */
    size_t bad_t; /* step (1-based) where a sequence became impossible */
    /* A long sequence (LONG_T steps or more): */
    size_t ucap, partcap;
    double *U;    /* ucap x k: the backward's rows u_t */
    double *usc;  /* ucap: their scales */
    double *part; /* partcap: per block of steps, counts and scratch */
} scratch;

static void scratch_free(scratch *s)
{
    free(s->B);
    free(s->mx);
    free(s->bp);
    free(s->G);
    free(s->v);
    free(s->xs);
    free(s->U);
    free(s->usc);
    free(s->part);
    memset(s, 0, sizeof *s);
}

static int scratch_init(scratch *s, size_t k)
{
    memset(s, 0, sizeof *s);
    s->k = k;
    s->v = lt_malloc(11 * k, sizeof(double)); /* 6k; a long sequence on two threads, 10k + 1 */
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

/* Room for the posteriors of T steps; 0 when out of memory. */
static int scratch_need_g(scratch *s, size_t T)
{
    if (T <= s->gcap) return 1;
    int ok = 1;
    size_t rows = lt_mul_size(T, s->k, &ok);
    if (!ok) return 0;
    free(s->G);
    s->gcap = 0;
    if (!(s->G = lt_malloc(rows, sizeof(double)))) return 0;
    s->gcap = T;
    return 1;
}

/* Room for the backward rows of a long sequence of T steps and for npart
 * numbers of per-block counts; 0 when out of memory. */
static int scratch_need_long(scratch *s, size_t T, size_t npart)
{
    int ok = 1;
    size_t rows = lt_mul_size(T, s->k, &ok);
    if (!ok) return 0;
    if (T > s->ucap) {
        free(s->U);
        free(s->usc);
        s->ucap = 0;
        s->U = lt_malloc(rows, sizeof(double));
        s->usc = lt_malloc(T, sizeof(double));
        if (!s->U || !s->usc) return 0;
        s->ucap = T;
    }
    if (npart > s->partcap) {
        free(s->part);
        s->partcap = 0;
        if (!(s->part = lt_malloc(npart, sizeof(double)))) return 0;
        s->partcap = npart;
    }
    return 1;
}

static lt_status scratch_nomem(size_t T)
{
    return lt_fail(LT_ERR_NOMEM, "out of memory for the HMM work space (%zu steps)", T);
}

/* The categorical table's rows for steps [t0, ...). */
static erows table_rows(const pass *p, size_t t0)
{
    return (erows){.rows = p->tab->etab, .sym = p->data->symbols + t0, .shift = p->tab->elmx, .pm = p->tab->pm};
}

/* The forward in log space (a scale fell below SCALE_MIN). B: the
 * sequence's rows, used as scratch, or NULL: computed in chunks. */
static lt_status score_log(const pass *p, scratch *s, size_t t0, size_t T, double *B, double *logp)
{
    const lt_hmm *m = p->m;
    size_t k = m->k;
    double *a = s->v, *na = s->v + k, *tmp = s->v + 2 * k, *sw;
    /* The rows were shifted in place (or never computed): compute them
     * again. */
    if (!B && !scratch_need(s, T < SCORE_CHUNK ? T : SCORE_CHUNK, 0)) return scratch_nomem(T);
    double lp = 0.0;
    for (size_t off = 0; off < T; off += SCORE_CHUNK) {
        size_t n = T - off < SCORE_CHUNK ? T - off : SCORE_CHUNK;
        double *R = B ? B + off * k : s->B;
        LT_CHECK(emit_rows(m, p->data, t0 + off, n, R));
        for (size_t i = 0; i < n; i++) {
            double c = fwd_step_log(k, p->tab->logpi, p->tab->logA, off + i ? a : NULL, R + i * k, na, tmp);
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

/* Forward only. B: the raw emission rows of this sequence when the caller
 * computed them (T <= BATCH_STEPS), else NULL: read from the table, or
 * computed here in chunks. */
static lt_status seq_score(const pass *p, scratch *s, size_t t0, size_t T, double *B, double *logp)
{
    const lt_hmm *m = p->m;
    size_t k = m->k;
    const double *pi = m->start, *A = m->trans;
    fwd f = {.a = s->v};
    int bad = 0;
    if (p->tab->etab) {
        bad = fwd_run(k, pi, A, table_rows(p, t0), T, NULL, &f, s->v + k);
    } else {
        for (size_t off = 0; off < T && !bad; off += SCORE_CHUNK) {
            size_t n = T - off < SCORE_CHUNK ? T - off : SCORE_CHUNK;
            double *R = B ? B + off * k : s->B;
            if (!B) LT_CHECK(emit_rows(m, p->data, t0 + off, n, R));
            shift_rows(R, n, k, s->mx);
            bad = fwd_run(k, pi, A, (erows){.rows = R, .shift = s->mx}, n, NULL, &f, s->v + k);
        }
    }
    if (!bad) {
        *logp = fwd_logp(&f);
        return LT_OK;
    }
    return score_log(p, s, t0, T, B, logp);
}

/* Forward-backward in log space (a scale fell below SCALE_MIN): the
 * emission rows again into B (the sequence's, used as scratch) or the work
 * space, posteriors into G, the transition counts themselves into xs (may
 * be NULL). */
static lt_status post_log(const pass *p, scratch *s, size_t t0, size_t T, double *B, double *G, double *xs, double *lp)
{
    size_t k = p->m->k;
    double *L = B;
    if (!L) {
        if (!scratch_need(s, T, 0)) return scratch_nomem(T);
        L = s->B;
    }
    LT_CHECK(emit_rows(p->m, p->data, t0, T, L));
    if (xs) memset(xs, 0, k * k * sizeof(double));
    *lp = fb_log(k, p->tab->logpi, p->tab->logA, L, T, G, xs, s->v, &s->bad_t);
    return LT_OK;
}

/* A sequence's posteriors G into the counts: start (k), xi (k x k) from
 * xs (the counts themselves when direct, else their factors beside A_ij),
 * emission counts ecnt (n_symbols x k, the table only); each may be NULL. */
static void post_add(const pass *p, size_t t0, size_t T, const double *G, const double *xs, int direct, double *start,
                     double *xi, double *ecnt)
{
    const lt_hmm *m = p->m;
    size_t k = m->k;
    if (start)
        for (size_t j = 0; j < k; j++)
            start[j] += G[j];
    if (xi) {
        const double *A = m->trans;
        if (direct)
            for (size_t q = 0; q < k * k; q++)
                xi[q] += xs[q];
        else
            for (size_t q = 0; q < k * k; q++)
                xi[q] += A[q] * xs[q];
    }
    if (ecnt) counts_run(k, p->data->symbols + t0, G, T, ecnt);
}

/* Posteriors of one sequence, from its raw emission rows B (T x k, used as
 * scratch), or from the table when B is NULL; start and transition counts
 * added to start (k) and xi (k x k), and emission counts to ecnt
 * (n_symbols x k, the table only), when given. */
static lt_status seq_posteriors(const pass *p, scratch *s, size_t t0, size_t T, double *B, double *start, double *xi,
                                double *ecnt, double *logp)
{
    const lt_hmm *m = p->m;
    size_t k = m->k;
    double *xs = xi ? s->xs : NULL, lp = 0.0;
    if (!p->post && !scratch_need_g(s, T)) return scratch_nomem(T);
    double *G = p->post ? p->post + t0 * k : s->G;
    erows e;
    if (B) {
        shift_rows(B, T, k, s->mx);
        e = (erows){.rows = B, .shift = s->mx};
    } else {
        e = table_rows(p, t0);
    }
    fwd f = {.a = s->v};
    int bad = fwd_run(k, m->start, m->trans, e, T, G, &f, s->v + k);
    if (!bad) lp = fwd_logp(&f);
    int direct = 0; /* xs holds the counts themselves, not their factors beside A_ij */
    if (bad || bwd_run(k, m->trans, p->tab->At, e, T, T, G, xs, 1, k * k, NULL, s->v) != 0) {
        LT_CHECK(post_log(p, s, t0, T, B, G, xs, &lp));
        if (!(lp > -INFINITY)) {
            *logp = lp;
            return LT_OK;
        }
        direct = 1;
    }
    post_add(p, t0, T, G, xs, direct, start, xi, ecnt);
    *logp = lp;
    return LT_OK;
}

/* Most probable path of one sequence from its raw emission rows L. */
static lt_status seq_viterbi(const pass *p, scratch *s, size_t t0, size_t T, const double *L, double *logp)
{
    const lt_hmm *m = p->m;
    size_t k = m->k;
    const double *logpi = p->tab->logpi, *logA = p->tab->logA;
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

/* ---------------------------------------------------- one long sequence
 *
 * A sequence of LONG_T steps or more is cut into a fixed number of blocks
 * of steps, a function of its length only (lt_block_count), and `inner`
 * threads share its work when the sequences do not keep them busy
 * (run_pass): emission rows per block; for posteriors the forward and the
 * backward at the same time, then the posteriors and counts per block,
 * reduced in block order; for scores the rows of the next chunk while the
 * forward runs over this one. Nothing in the arithmetic depends on
 * `inner`, so neither does the result. */

/* The emission rows of steps [t0, t0 + T) into s->B, block by block on
 * `inner` threads, each shifted (s->mx) when `shift`. The first failing
 * block, in step order, gives the status. */
static lt_status long_rows(const pass *p, scratch *s, size_t t0, size_t T, size_t nb, int shift, int inner)
{
    size_t k = p->m->k;
    blockres *res = lt_calloc(nb, sizeof *res);
    if (!res) return LT_ERR_NOMEM;
#pragma omp parallel for schedule(dynamic, 1) num_threads(inner) if (inner > 1)
    for (size_t b = 0; b < nb; b++) {
        size_t c0 = lt_block_begin(T, nb, b), n = lt_block_begin(T, nb, b + 1) - c0;
        double *R = s->B + c0 * k;
        lt_status st = emit_rows(p->m, p->data, t0 + c0, n, R);
        if (st != LT_OK)
            keep_error(&res[b], st);
        else if (shift)
            shift_rows(R, n, k, s->mx + c0);
    }
    lt_status st = LT_OK;
    for (size_t b = 0; b < nb && st == LT_OK; b++)
        if (res[b].st != LT_OK) st = lt_fail(res[b].st, "%s", res[b].msg);
    free(res);
    return st;
}

/* The steps of table rows or computed rows e from step c0 on. */
static erows erows_from(erows e, size_t k, size_t c0)
{
    if (e.sym) {
        e.sym += c0;
    } else {
        e.rows += c0 * k;
        e.shift += c0;
    }
    return e;
}

/* Block b (steps [c0, c1)) of a long sequence, once the forward and the
 * backward (bwdu_run) are both through it: its posteriors, transition
 * counts (when xi) and emission counts (ew per block, when sym) into its
 * slot X of the per-block counts. Returns 1 as comb. */
static int long_comb(size_t k, erows e, size_t T, size_t c0, size_t c1, double *G, const scratch *s, double *X, int xi,
                     size_t cw, const int32_t *sym, size_t ew)
{
    if (comb_run(k, e, c0, c1, T, G, s->U, s->usc, xi ? X : NULL, X + k * k)) return 1;
    if (sym) {
        memset(X + k * k + cw, 0, ew * sizeof(double));
        counts_run(k, sym + c0, G + c0 * k, c1 - c0, X + k * k + cw);
    }
    return 0;
}

/* As seq_posteriors, for a long sequence (its rows computed here), whose
 * steps are cut into nb fixed blocks; each block's counts are summed in
 * decreasing t into its own slot, and the slots added in block order.
 *
 * With one thread the backward reads the forward rows as it goes
 * (bwd_run), as for a short sequence. With two, the forward runs up the
 * blocks on one thread and the backward down them on the other, alone
 * (bwdu_run, keeping its rows u_t), and a block's posteriors and counts
 * are formed (comb_run) by whichever thread is through it second, while
 * its rows are fresh; once the backward reaches blocks the forward is
 * through, it reads the forward rows again (bwd_run, resumed), with no
 * rows u_t. Each block's numbers are the same either way, so neither the
 * schedule nor the thread count changes a bit. No thread waits for the
 * other: two counters say who came second. */
static lt_status seq_post_long(const pass *p, scratch *s, size_t t0, size_t T, double *start, double *xi, double *ecnt,
                               double *logp, int inner)
{
    const lt_hmm *m = p->m;
    size_t k = m->k, nb = lt_block_count(T, LONG_BLOCK, LONG_MAX_BLOCKS);
    int rows = !p->tab->etab;
    /* Per block: k x k transition counts, comb's scratch, and its emission
     * counts when they are few (else one sum over the sequence). */
    size_t ew = ecnt ? m->n_symbols * k : 0, ewb = nb * ew <= LONG_ECNT_MAX ? ew : 0, cw = 2 * COMB_GROUP * k;
    size_t pw = k * k + cw + ewb;
    if (!p->post && !scratch_need_g(s, T)) return scratch_nomem(T);
    if ((rows && !scratch_need(s, T, 0)) || !scratch_need_long(s, inner > 1 ? T : 0, nb * pw)) return scratch_nomem(T);
    double *G = p->post ? p->post + t0 * k : s->G, lp = 0.0;
    erows e = table_rows(p, t0);
    if (rows) {
        LT_CHECK(long_rows(p, s, t0, T, nb, 1, inner));
        e = (erows){.rows = s->B, .shift = s->mx};
    }
    const double *A = m->trans, *At = p->tab->At;
    const int32_t *sym = ewb ? p->data->symbols + t0 : NULL;
    fwd f = {.a = s->v};
    int fbad = 0, bbad = 0, cbad = 0;
    if (inner < 2) {
        fbad = fwd_run(k, m->start, A, e, T, G, &f, s->v + k);
        if (!fbad) bbad = bwd_run(k, A, At, e, T, T, G, xi ? s->part : NULL, nb, pw, NULL, s->v);
        for (size_t b = 0; sym && !fbad && !bbad && b < nb; b++) {
            size_t c0 = lt_block_begin(T, nb, b), c1 = lt_block_begin(T, nb, b + 1);
            double *ec = s->part + b * pw + k * k + cw;
            memset(ec, 0, ew * sizeof(double));
            counts_run(k, sym + c0, G + c0 * k, c1 - c0, ec);
        }
    } else {
        /* s->v: f.a, the forward's scratch, then the backward's state
         * (beta and its largest entry), bwdu_run's and bwd_run's scratch. */
        double *bst = s->v + 2 * k, *bu = s->v + 3 * k + 1, *bf = s->v + 4 * k + 1;
        int done[LONG_MAX_BLOCKS] = {0}; /* recursions through block b */
        int fdone = 0;                   /* blocks the forward is through */
#pragma omp parallel sections num_threads(2) reduction(| : cbad)
        {
#pragma omp section
            for (size_t b = 0; b < nb; b++) { /* the forward */
                size_t c0 = lt_block_begin(T, nb, b), c1 = lt_block_begin(T, nb, b + 1);
                int c;
                if (fwd_run(k, m->start, A, erows_from(e, k, c0), c1 - c0, G + c0 * k, &f, s->v + k)) {
                    fbad = 1;
                    break;
                }
                memcpy(f.a, G + (c1 - 1) * k, k * sizeof(double)); /* the next block starts from it */
#pragma omp atomic write seq_cst
                fdone = (int)b + 1;
#pragma omp atomic capture seq_cst
                c = ++done[b];
                if (c == 2) cbad |= long_comb(k, e, T, c0, c1, G, s, s->part + b * pw, xi != NULL, cw, sym, ew);
            }
#pragma omp section
            for (size_t b = nb; b-- > 0;) { /* the backward */
                size_t c0 = lt_block_begin(T, nb, b), c1 = lt_block_begin(T, nb, b + 1);
                int c, fd;
#pragma omp atomic read seq_cst
                fd = fdone;
                if ((size_t)fd > b) { /* the forward is through blocks 0..b: read its rows */
                    if (bwd_run(k, A, At, e, T, c1, G, xi ? s->part : NULL, nb, pw, bst, bf)) {
                        bbad = 1;
                        break;
                    }
                    for (size_t b2 = 0; sym && b2 <= b; b2++) {
                        size_t d0 = lt_block_begin(T, nb, b2), d1 = lt_block_begin(T, nb, b2 + 1);
                        double *ec = s->part + b2 * pw + k * k + cw;
                        memset(ec, 0, ew * sizeof(double));
                        counts_run(k, sym + d0, G + d0 * k, d1 - d0, ec);
                    }
                    break;
                }
                if (bwdu_run(k, A, At, e, T, c0, c1, s->U, s->usc, bst, bu)) {
                    bbad = 1;
                    break;
                }
#pragma omp atomic capture seq_cst
                c = ++done[b];
                if (c == 2) cbad |= long_comb(k, e, T, c0, c1, G, s, s->part + b * pw, xi != NULL, cw, sym, ew);
            }
        }
    }
    if (fbad || bbad || cbad) { /* log space, one thread: as seq_posteriors */
        double *xs = xi ? s->xs : NULL;
        LT_CHECK(post_log(p, s, t0, T, rows ? s->B : NULL, G, xs, &lp));
        if (lp > -INFINITY) post_add(p, t0, T, G, xs, 1, start, xi, ecnt);
        *logp = lp;
        return LT_OK;
    }
    lp = fwd_logp(&f);
    /* The blocks' counts, in block order. */
    double *X = s->part;
    for (size_t b = 1; b < nb; b++) {
        const double *Xb = s->part + b * pw;
        if (xi)
            for (size_t q = 0; q < k * k; q++)
                X[q] += Xb[q];
        if (ewb)
            for (size_t q = 0; q < ew; q++)
                X[k * k + cw + q] += Xb[k * k + cw + q];
    }
    post_add(p, t0, T, G, X, 0, start, xi, ewb ? NULL : ecnt);
    if (ewb)
        for (size_t q = 0; q < ew; q++)
            ecnt[q] += X[k * k + cw + q];
    *logp = lp;
    return LT_OK;
}

/* As seq_score, for a long sequence whose rows are computed (not the
 * table): in chunks of LONG_CHUNK steps, two buffers. While thread 0 runs
 * the forward over chunk c - 1, thread 1 makes the rows of chunk c, in
 * pieces of LONG_PIECE steps that thread 0 helps with once its forward is
 * done; one thread does it all in turn when inner == 1. The pieces are
 * fixed, so the rows do not depend on who made them. */
static lt_status seq_score_long(const pass *p, scratch *s, size_t t0, size_t T, double *logp, int inner)
{
    const lt_hmm *m = p->m;
    size_t k = m->k, nch = (T + LONG_CHUNK - 1) / LONG_CHUNK;
    if (!scratch_need(s, 2 * LONG_CHUNK, 0)) return scratch_nomem(T);
    int *next = lt_calloc(2 * nch, sizeof(int)), *bad_rows = next ? next + nch : NULL; /* per chunk */
    if (!next) return LT_ERR_NOMEM;
    fwd f = {.a = s->v};
    int bad = 0;           /* the forward's, from the chunk where a scale fell too low */
    size_t done = 0;       /* chunks the forward went through */
    blockres err[2] = {0}; /* each thread's first failure making rows */
    size_t err_at[2] = {SIZE_MAX, SIZE_MAX};
#pragma omp parallel num_threads(2) if (inner > 1)
    {
        int me = omp_get_thread_num() ? 1 : 0;
        for (size_t c = 0; c <= nch; c++) {
            if (me == 0 && c > 0 && !bad && done == c - 1 && !bad_rows[c - 1]) {
                size_t c0 = (c - 1) * LONG_CHUNK, n = T - c0 < LONG_CHUNK ? T - c0 : LONG_CHUNK, h = (c - 1) % 2;
                erows e = {.rows = s->B + h * LONG_CHUNK * k, .shift = s->mx + h * LONG_CHUNK};
                bad = fwd_run(k, m->start, m->trans, e, n, NULL, &f, s->v + k);
                if (!bad) done = c;
            }
            if (c < nch && (c == 0 || !bad_rows[c - 1])) {
                size_t c0 = c * LONG_CHUNK, n = T - c0 < LONG_CHUNK ? T - c0 : LONG_CHUNK;
                size_t np = (n + LONG_PIECE - 1) / LONG_PIECE;
                for (;;) {
                    int q;
#pragma omp atomic capture
                    q = next[c]++;
                    if ((size_t)q >= np) break;
                    size_t i0 = (size_t)q * LONG_PIECE, ni = n - i0 < LONG_PIECE ? n - i0 : LONG_PIECE;
                    double *R = s->B + ((c % 2) * LONG_CHUNK + i0) * k;
                    lt_status st = emit_rows(m, p->data, t0 + c0 + i0, ni, R);
                    if (st == LT_OK) {
                        shift_rows(R, ni, k, s->mx + (c % 2) * LONG_CHUNK + i0);
                    } else {
#pragma omp atomic write
                        bad_rows[c] = 1;
                        if (c0 + i0 < err_at[me]) {
                            err_at[me] = c0 + i0;
                            keep_error(&err[me], st);
                        }
                    }
                }
            }
#pragma omp barrier
        }
    }
    free(next);
    if (bad) return score_log(p, s, t0, T, NULL, logp); /* as seq_score: any failure of the rows shows there */
    if (done < nch) {
        int w = err_at[1] < err_at[0];
        return lt_fail(err[w].st, "%s", err[w].msg);
    }
    *logp = fwd_logp(&f);
    return LT_OK;
}

/* As seq_viterbi, for a long sequence: its rows on `inner` threads. */
static lt_status seq_viterbi_long(const pass *p, scratch *s, size_t t0, size_t T, double *logp, int inner)
{
    if (!scratch_need(s, T, 1)) return scratch_nomem(T);
    LT_CHECK(long_rows(p, s, t0, T, lt_block_count(T, LONG_BLOCK, LONG_MAX_BLOCKS), 0, inner));
    return seq_viterbi(p, s, t0, T, s->B, logp);
}

/* The sequences of block b. Consecutive short sequences share one call for
 * their emission rows (a batch of up to BATCH_STEPS steps), so that many
 * short sequences cost no more than one long one; a longer sequence is a
 * batch of its own (scored in chunks, when only scored), and one of
 * LONG_T steps or more is shared by `inner` threads. */
static void run_block(const pass *p, scratch *s, size_t b, blockres *r, int inner)
{
    const layout *L = p->L;
    const size_t *off = L->off;
    size_t k = p->m->k, end = L->bseq[b + 1];
    double *sc = p->stats ? p->stats + b * (k + k * k) : NULL;
    if (sc) memset(sc, 0, (k + k * k) * sizeof(double));
    size_t ew = p->ecnt ? p->m->n_symbols * k : 0;
    double *ec = p->ecnt ? p->ecnt + b * ew : NULL;
    if (ec) memset(ec, 0, ew * sizeof(double));
    /* Emission rows computed here, in batches, or read from the table. */
    int rows = !(p->tab->etab && p->mode != PASS_VITERBI);
    double ll = 0.0;
    if (!s->v || !s->xs) {
        keep_error(r, lt_fail(LT_ERR_NOMEM, "out of memory for the HMM work space"));
        return;
    }
    for (size_t q = L->bseq[b]; q < end;) {
        size_t q2 = q + 1, n = off[q + 1] - off[q];
        while (rows && q2 < end && n + (off[q2 + 1] - off[q2]) <= BATCH_STEPS)
            n += off[q2 + 1] - off[q2], q2++;
        int chunked = !rows || (p->mode == PASS_SCORE && n > SCORE_CHUNK);
        int lng = n >= LONG_T; /* one sequence (LONG_T > BATCH_STEPS): it makes its own rows */
        lt_status st = LT_OK;
        if (rows && !lng && !scratch_need(s, chunked ? SCORE_CHUNK : n, p->mode == PASS_VITERBI)) {
            keep_error(
                r, lt_fail(LT_ERR_NOMEM, "out of memory for the HMM work space (sequence %zu, %zu steps)", q + 1, n));
            return;
        }
        size_t first = off[q]; /* the batch's first step: row 0 of s->B */
        if (!chunked && !lng && (st = emit_rows(p->m, p->data, first, n, s->B)) != LT_OK) {
            keep_error(r, st);
            return;
        }
        for (; q < q2; q++) {
            size_t t0 = off[q], T = off[q + 1] - t0;
            double *B = chunked ? NULL : s->B + (t0 - first) * k, lp = 0.0;
            s->bad_t = 0;
            switch (p->mode) {
            case PASS_SCORE:
                st = lng && rows ? seq_score_long(p, s, t0, T, &lp, inner) : seq_score(p, s, t0, T, B, &lp);
                break;
            case PASS_POST:
                st = lng ? seq_post_long(p, s, t0, T, sc, sc ? sc + k : NULL, ec, &lp, inner)
                         : seq_posteriors(p, s, t0, T, B, sc, sc ? sc + k : NULL, ec, &lp);
                break;
            case PASS_VITERBI:
                st = lng ? seq_viterbi_long(p, s, t0, T, &lp, inner) : seq_viterbi(p, s, t0, T, B, &lp);
                break;
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

/* Does block b get all `want` threads to itself, after the others ran
 * across threads? When it holds a long sequence with work for more than
 * one thread (not a forward over the table alone) and more than a
 * thread's share of the steps. Only the schedule depends on this. */
static int block_solo(const pass *p, size_t b, int want)
{
    const size_t *off = p->L->off;
    size_t q0 = p->L->bseq[b], q1 = p->L->bseq[b + 1], longest = 0;
    if (want < 2 || (p->mode == PASS_SCORE && p->tab->etab)) return 0;
    for (size_t q = q0; q < q1; q++)
        if (off[q + 1] - off[q] > longest) longest = off[q + 1] - off[q];
    return longest >= LONG_T && (off[q1] - off[q0]) * (size_t)want > off[p->data->n_seqs];
}

/* A work space ready for use (pooled ones are kept from pass to pass). */
static void scratch_ready(const pass *p, scratch *s)
{
    if (!p->pool || !s->v || !s->xs) { /* new, or a pooled one whose allocation failed before */
        if (p->pool) scratch_free(s);
        scratch_init(s, p->m->k);
    }
}

/* Run a pass over every sequence: the blocks in parallel, one thread
 * each; then the blocks that hold most of the work in one long sequence
 * (block_solo), one after the other, each with all the threads (nested
 * OpenMP is never needed). Each block writes only its own slots, so the
 * order does not matter. The first failing block, in block order, gives
 * the status and message. */
static lt_status run_pass(const pass *p)
{
    size_t nb = p->L->nblocks;
    int want = lt_threads(p->threads);
    blockres *res = lt_calloc(nb, sizeof *res);
    size_t *rest = lt_malloc(nb, sizeof *rest), nrest = 0;
    uint8_t *solo = lt_calloc(nb, 1);
    if (!res || !rest || !solo) {
        free(res);
        free(rest);
        free(solo);
        return LT_ERR_NOMEM;
    }
    for (size_t b = 0; b < nb; b++)
        if (!(solo[b] = (uint8_t)block_solo(p, b, want))) rest[nrest++] = b;
    int nt = (size_t)want > nrest ? (int)nrest : want;
    int blas = lt_blas_single_begin();
    if (nrest > 0) {
#pragma omp parallel num_threads(nt)
        {
            scratch own, *s = p->pool ? &p->pool[omp_get_thread_num()] : &own;
            scratch_ready(p, s);
#pragma omp for schedule(dynamic, 1)
            for (size_t i = 0; i < nrest; i++)
                run_block(p, s, rest[i], &res[rest[i]], 1);
            if (!p->pool) scratch_free(s);
        }
    }
    if (nrest < nb) {
        scratch own, *s = p->pool ? &p->pool[0] : &own;
        scratch_ready(p, s);
        for (size_t b = 0; b < nb; b++)
            if (solo[b]) run_block(p, s, b, &res[b], want);
        if (!p->pool) scratch_free(s);
    }
    lt_blas_single_end(blas);
    lt_status st = LT_OK;
    for (size_t b = 0; b < nb; b++)
        if (res[b].st != LT_OK) {
            st = lt_fail(res[b].st, "%s", res[b].msg);
            break;
        }
    free(res);
    free(rest);
    free(solo);
    return st;
}

/* A pass of the given mode over data for a prepared model. */
static lt_status model_pass(const lt_hmm *m, const lt_seqs *data, int threads, pass_mode mode, double *logp,
                            double *post, int32_t *path)
{
    LT_CHECK(check_model_data(m, data));
    lt_status st;
    layout L;
    tables tb;
    LT_CHECK(tables_alloc(&tb, m->k, m->n_symbols, m->emission == LT_EMIT_CATEGORICAL && mode != PASS_VITERBI));
    if ((st = layout_init(&L, data, m->k)) != LT_OK) goto done;
    tables_fill(&tb, m);
    pass p = {.m = m,
              .data = data,
              .L = &L,
              .mode = mode,
              .tab = &tb,
              .logp = logp,
              .post = post,
              .path = path,
              .zero_ok = mode == PASS_SCORE,
              .threads = threads};
    st = run_pass(&p);
    layout_free(&L);
done:
    tables_free(&tb);
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
    double *gamma; /* total x k, or NULL with ecnt (the M-step needs only the counts) */
    double *stats; /* nblocks x (k + k k) */
    double *ll;    /* nblocks */
    tables tb;     /* refilled at every E-step */
    double *ecnt;  /* categorical: nblocks x n_symbols x k expected emission counts, or NULL (from gamma) */
    double *freq;  /* with ecnt: n_symbols, how often each symbol occurs in the data */
    scratch *pool; /* npool work spaces, one per thread, kept across E-steps */
    size_t npool;
    double *tmp; /* 2k */
} fitctx;

/* E-step: posteriors into c->gamma (when kept), counts reduced in block
 * order into the first block's slot, and the summed log-likelihood. */
static lt_status estep(fitctx *c, const lt_hmm *m, double *loglik)
{
    size_t k = m->k, w = k + k * k, nb = c->L.nblocks, ew = c->ecnt ? m->n_symbols * k : 0;
    tables_fill(&c->tb, m);
    pass p = {.m = m,
              .data = c->data,
              .L = &c->L,
              .mode = PASS_POST,
              .tab = &c->tb,
              .post = c->gamma,
              .stats = c->stats,
              .ecnt = c->ecnt,
              .ll = c->ll,
              .threads = c->o->threads,
              .pool = c->pool};
    LT_CHECK(run_pass(&p));
    double s = c->ll[0];
    for (size_t b = 1; b < nb; b++) {
        for (size_t i = 0; i < w; i++)
            c->stats[i] += c->stats[b * w + i];
        for (size_t i = 0; i < ew; i++)
            c->ecnt[i] += c->ecnt[b * ew + i];
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
        if (c->ecnt)
            LT_CHECK(hmm_emit_cat_mstep(m, c->ecnt, c->freq, c->data->total, NULL, &rep));
        else
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
    c.stats = lt_malloc(c.L.nblocks, (k + k * k) * sizeof(double));
    c.ll = lt_malloc(c.L.nblocks, sizeof(double));
    c.tmp = lt_malloc(2 * k, sizeof(double));
    c.npool = (size_t)lt_threads(o->threads);
    c.pool = lt_calloc(c.npool, sizeof *c.pool);
    if (!c.stats || !c.ll || !c.tmp || !c.pool) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    int cat = o->emission == LT_EMIT_CATEGORICAL;
    if ((st = tables_alloc(&c.tb, k, nsym, cat)) != LT_OK) goto done;
    /* Emission counts summed in the E-step, per block (a few bytes per
     * block and symbol), so the M-step need not read gamma again. */
    if (cat && (o->params & LT_HMM_EMIT) && c.L.nblocks * nsym <= STATS_BYTES / sizeof(double) / k) {
        c.ecnt = lt_malloc(c.L.nblocks * nsym, k * sizeof(double));
        c.freq = lt_calloc(nsym, sizeof(double));
        if (!c.ecnt || !c.freq) {
            st = LT_ERR_NOMEM;
            goto done;
        }
        for (size_t t = 0; t < data->total; t++)
            c.freq[data->symbols[t]] += 1.0;
    }
    /* Without the counts, the emission M-step reads the posteriors of
     * every step; with them, each thread keeps one sequence's at a time. */
    if (!c.ecnt && !(c.gamma = lt_malloc(data->total, k * sizeof(double)))) {
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
        (st = lt_vocab_copy(im->vocab, im->n_symbols, &best->vocab)) != LT_OK)
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
    tables_free(&c.tb);
    for (size_t i = 0; c.pool && i < c.npool; i++)
        scratch_free(&c.pool[i]);
    free(c.pool);
    free(c.ecnt);
    free(c.freq);
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
        if (!(vj = lt_vocab_json(m->vocab, m->n_symbols))) {
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
    if (vj && e == LT_EMIT_CATEGORICAL &&
        (st = lt_vocab_parse(vj, m->n_symbols, path, "n_symbols", &m->vocab)) != LT_OK)
        goto fail;
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
