/* HMM emission densities b_j(x): categorical, Gaussian, Gaussian mixture and
 * Poisson, behind the interface of hmm_emit.h (the engine in hmm.c runs
 * forward-backward and Baum-Welch and calls these).
 *
 * Densities, for state j and one step x (log b_j(x) in nats):
 *   categorical  log b_j(s) = log B_js                      (log 0 = -inf)
 *   gaussian     log b_j(x) = log N(x | mu_j, Sigma_j)
 *   gmm          log b_j(x) = log sum_c w_jc N(x | mu_jc, Sigma_jc)
 *                             (log-sum-exp with the maximum subtracted)
 *   poisson      log b_j(x) = sum_t x_t log r_jt - r_jt - log(x_t!)
 * The Gaussian terms come from the GMM kernel lt_gmm_logjoint (GEMM based);
 * for the Gaussian emission the k states are the k components of one
 * lt_gmm whose weights are not used.
 *
 * M-step (Baum-Welch, Rabiner 1989 eqs. 40 and 52-54; Bishop PRML 13.2.1),
 * from the state posteriors gamma_tj = p(z_t = j | x) and n_j = sum_t gamma_tj:
 *   categorical  B_js = sum_t gamma_tj [x_t = s] / n_j, then every symbol
 *                that occurs in the data is floored at 1e-12 and the row
 *                renormalised, so an unseen-in-state symbol never makes a
 *                state impossible; a symbol absent from the data keeps 0.
 *   gaussian     the posteriors are the responsibilities of the component
 *                M-step: mu_j = sum_t gamma_tj x_t / n_j, Sigma_j the
 *                weighted covariance plus reg_covar (lt_gmm_mstep_resp).
 *   gmm          gamma_tjc = gamma_tj w_jc N(x_t | jc) / b_j(x_t) (Rabiner
 *                eq. 54) are the weights of state j's own mixture M-step.
 *   poisson      r_jt = sum_t gamma_tj x_t / n_j, floored at 1e-10.
 * A state with n_j < 1e-9 (a billionth of a step) is repaired and counted:
 * categorical and poisson take the pooled frequencies or means; gmm refits
 * its mixture to all steps (posterior weight 1 each); the Gaussian emission
 * leaves it to the GMM kernel, which moves the component to a sample.
 *
 * Initialisation (deterministic for a seed; threads only speed it up):
 *   categorical  pooled frequencies (plus a pseudo-count of 1% of the data
 *                spread over the alphabet) times a Dirichlet(10, ..., 10)
 *                draw per state, renormalised.
 *   gaussian     a k-component GMM (k-means++ then 10 EM iterations) on the
 *                pooled steps; component j becomes state j.
 *   gmm          the same k-component GMM splits the data softly; state j
 *                is then an n_mix-component GMM fitted to all steps weighted
 *                by their responsibility for component j (plus 1e-10, so
 *                every step counts a little and no fit runs out of samples).
 *                Chosen over fitting k * n_mix components and grouping them,
 *                which needs a second clustering whose groups can be uneven.
 *   poisson      column means times independent uniform(0.5, 1.5) factors.
 *
 * Sampling: Gaussians as mu + P^-T z with z ~ N(0, I) and P the Cholesky
 * factor of the precision that lt_gmm_prepare keeps (Sigma = P^-T P^-1), so
 * no factorisation per draw; Poisson by inversion (sequential search) below
 * rate 10 and by Hormann's PTRS transformed rejection at 10 and above.
 *
 * References: Rabiner, "A tutorial on hidden Markov models and selected
 * applications in speech recognition", Proc. IEEE 77(2), 1989; Bishop,
 * Pattern Recognition and Machine Learning, 2006, sec. 13.2; Hormann, "The
 * transformed rejection method for generating Poisson random variables",
 * Insurance: Mathematics and Economics 12, 1993; hmmlearn (tensor layouts).
 */
#include "hmm_emit.h"
#include "gmm_internal.h"
#include "hmm_emit_cat.h"

#include "internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMPTY_OCC 1e-9        /* expected steps below which a state is empty */
#define PROB_FLOOR 1e-12      /* categorical: least probability of a symbol that occurs */
#define RATE_FLOOR 1e-10      /* poisson: least rate */
#define SPLIT_FLOOR 1e-10     /* gmm init: weight every step keeps in every state */
#define INIT_EM_ITER 10       /* EM iterations of the initial GMM fits */
#define INIT_CONC 10.0        /* categorical init: Dirichlet concentration per symbol */
#define INIT_PSEUDO 0.01      /* categorical init: pseudo-counts, as a share of the steps */
#define POISSON_PTRS_MIN 10.0 /* poisson sampling: PTRS from this rate on */
#define LOG_2PI 1.8378770664093454835606594728112

/* ------------------------------------------------------------- helpers */

/* Covariance values per mixture, as lt_gmm stores them. */
static size_t cov_len(lt_cov_type c, size_t k, size_t d)
{
    switch (c) {
    case LT_COV_FULL: return k * d * d;
    case LT_COV_DIAG: return k * d;
    case LT_COV_SPHERICAL: return k;
    case LT_COV_TIED: return d * d;
    }
    return 0;
}

/* Free covariance parameters of a k-component mixture in d dimensions. */
static size_t cov_params(lt_cov_type c, size_t k, size_t d)
{
    switch (c) {
    case LT_COV_FULL: return k * d * (d + 1) / 2;
    case LT_COV_DIAG: return k * d;
    case LT_COV_SPHERICAL: return k;
    case LT_COV_TIED: return d * (d + 1) / 2;
    }
    return 0;
}

static size_t n_states_gmm(const lt_hmm *m)
{
    return m->emission == LT_EMIT_GAUSSIAN ? 1 : m->emission == LT_EMIT_GMM ? m->k : 0;
}

/* log(x!) for a non-negative integer x: exact product up to 22! (every
 * factorial up to there is a double), Stirling's series above (error below
 * 1e-15). Thread-safe, unlike lgamma, which sets the global signgam. */
static double log_factorial(double x)
{
    if (x <= 22.0) {
        double f = 1.0;
        for (double i = 2.0; i <= x; i += 1.0)
            f *= i;
        return log(f);
    }
    double r = 1.0 / x, r2 = r * r;
    return x * log(x) - x + 0.5 * (LOG_2PI + log(x)) +
           r * (1.0 / 12.0 - r2 * (1.0 / 360.0 - r2 * (1.0 / 1260.0 - r2 / 1680.0)));
}

/* log sum_c exp(v_c), -inf when every term is. */
static double log_sum_exp(const double *v, size_t n)
{
    double mx = -INFINITY;
    for (size_t c = 0; c < n; c++)
        if (v[c] > mx) mx = v[c];
    if (mx == -INFINITY) return -INFINITY;
    double s = 0.0;
    for (size_t c = 0; c < n; c++)
        s += exp(v[c] - mx);
    return mx + log(s);
}

/* State occupancies n_j = sum_t gamma_tj (summed in step order), checking
 * that the posteriors are finite and non-negative. */
static lt_status occupancy(const double *gamma, size_t total, size_t k, double *occ)
{
    for (size_t j = 0; j < k; j++)
        occ[j] = 0.0;
    for (size_t t = 0; t < total; t++)
        for (size_t j = 0; j < k; j++) {
            double g = gamma[t * k + j];
            if (!(g >= 0.0) || !isfinite(g))
                return lt_fail(LT_ERR_NUMERIC, "step %zu: posterior of state %zu is %g (expected a finite number >= 0)",
                               t + 1, j, g);
            occ[j] += g;
        }
    return LT_OK;
}

/* Prefix the current message with "state j" (keeps the code). */
static lt_status state_prefix(lt_status st, size_t j)
{
    char pre[64];
    snprintf(pre, sizeof pre, "state %zu", j);
    return lt_fail_prefix(st, pre);
}

/* ------------------------------------------------------------- storage */

lt_status hmm_emit_alloc(lt_hmm *m)
{
    lt_status st = LT_OK;
    int ok = 1;
    m->emit = NULL;
    m->states = NULL;
    if (m->k == 0) return lt_fail(LT_ERR_INVALID, "an HMM needs k >= 1 states");
    switch (m->emission) {
    case LT_EMIT_CATEGORICAL:
        if (m->n_symbols == 0)
            return lt_fail(LT_ERR_INVALID, "categorical emissions need an alphabet of at least 1 symbol");
        {
            size_t len = lt_mul_size(m->k, m->n_symbols, &ok);
            if (!ok) return lt_fail(LT_ERR_INVALID, "%zu states x %zu symbols is too large", m->k, m->n_symbols);
            m->emit = lt_calloc(len, sizeof(double));
            if (!m->emit) return LT_ERR_NOMEM;
        }
        return LT_OK;
    case LT_EMIT_POISSON:
        if (m->d == 0) return lt_fail(LT_ERR_INVALID, "poisson emissions need d >= 1 columns");
        {
            size_t len = lt_mul_size(m->k, m->d, &ok);
            if (!ok) return lt_fail(LT_ERR_INVALID, "%zu states x %zu columns is too large", m->k, m->d);
            m->emit = lt_calloc(len, sizeof(double));
            if (!m->emit) return LT_ERR_NOMEM;
        }
        return LT_OK;
    case LT_EMIT_GAUSSIAN:
    case LT_EMIT_GMM: break;
    default: return lt_fail(LT_ERR_INVALID, "unknown emission type %d", (int)m->emission);
    }
    if (m->d == 0) return lt_fail(LT_ERR_INVALID, "gaussian emissions need d >= 1 columns");
    if (m->cov != LT_COV_FULL && m->cov != LT_COV_DIAG && m->cov != LT_COV_SPHERICAL && m->cov != LT_COV_TIED)
        return lt_fail(LT_ERR_INVALID, "unknown covariance type %d", (int)m->cov);
    if (m->emission == LT_EMIT_GMM && m->n_mix == 0)
        return lt_fail(LT_ERR_INVALID, "gmm emissions need n_mix >= 1 components per state");
    size_t ns = n_states_gmm(m);
    size_t comps = m->emission == LT_EMIT_GAUSSIAN ? m->k : m->n_mix;
    m->states = lt_calloc(ns, sizeof *m->states);
    if (!m->states) return LT_ERR_NOMEM;
    for (size_t j = 0; j < ns; j++) {
        if ((st = lt_gmm_create(comps, m->d, m->cov, &m->states[j])) != LT_OK) goto fail;
        /* Valid weights from the start: unused for gaussian, a uniform
         * default for gmm that a caller may overwrite. */
        for (size_t c = 0; c < comps; c++)
            m->states[j]->weights[c] = 1.0 / (double)comps;
    }
    return LT_OK;
fail:
    hmm_emit_release(m);
    return st;
}

void hmm_emit_release(lt_hmm *m)
{
    if (!m) return;
    free(m->emit);
    m->emit = NULL;
    if (m->states) {
        size_t ns = n_states_gmm(m);
        for (size_t j = 0; j < ns; j++)
            lt_gmm_free(m->states[j]);
        free(m->states);
        m->states = NULL;
    }
}

static int same_sizes(const lt_hmm *a, const lt_hmm *b)
{
    if (a->k != b->k || a->emission != b->emission) return 0;
    switch (a->emission) {
    case LT_EMIT_CATEGORICAL: return a->n_symbols == b->n_symbols;
    case LT_EMIT_POISSON: return a->d == b->d;
    case LT_EMIT_GAUSSIAN: return a->d == b->d && a->cov == b->cov;
    case LT_EMIT_GMM: return a->d == b->d && a->cov == b->cov && a->n_mix == b->n_mix;
    }
    return 0;
}

lt_status hmm_emit_copy(const lt_hmm *src, lt_hmm *dst)
{
    if (!same_sizes(src, dst)) return lt_fail(LT_ERR_DIM, "emission copy between models of different sizes");
    if (!dst->emit && !dst->states) LT_CHECK(hmm_emit_alloc(dst));
    if (src->emission == LT_EMIT_CATEGORICAL) {
        memcpy(dst->emit, src->emit, src->k * src->n_symbols * sizeof(double));
        return LT_OK;
    }
    if (src->emission == LT_EMIT_POISSON) {
        memcpy(dst->emit, src->emit, src->k * src->d * sizeof(double));
        return LT_OK;
    }
    for (size_t j = 0; j < n_states_gmm(src); j++) {
        lt_gmm *g;
        LT_CHECK(lt_gmm_copy(src->states[j], &g));
        lt_gmm_free(dst->states[j]);
        dst->states[j] = g;
    }
    return LT_OK;
}

/* ------------------------------------------------------------ validation */

/* State c of the Gaussian emission on its own, for a message that names
 * it when the whole mixture fails to prepare. Non-zero if it is bad. */
static int gaussian_state_bad(const lt_gmm *g, size_t c)
{
    lt_gmm *one = NULL;
    if (lt_gmm_create(1, g->d, g->cov == LT_COV_TIED ? LT_COV_FULL : g->cov, &one) != LT_OK) return 0;
    size_t d = g->d;
    one->weights[0] = 1.0;
    memcpy(one->means, g->means + c * d, d * sizeof(double));
    switch (g->cov) {
    case LT_COV_FULL: memcpy(one->covs, g->covs + c * d * d, d * d * sizeof(double)); break;
    case LT_COV_TIED: memcpy(one->covs, g->covs, d * d * sizeof(double)); break;
    case LT_COV_DIAG: memcpy(one->covs, g->covs + c * d, d * sizeof(double)); break;
    case LT_COV_SPHERICAL: one->covs[0] = g->covs[c]; break;
    }
    int bad = lt_gmm_prepare(one) != LT_OK;
    lt_gmm_free(one);
    return bad;
}

static lt_status check_gmm_sizes(const lt_hmm *m, const lt_gmm *g, size_t j, size_t comps)
{
    if (!g) return lt_fail(LT_ERR_INVALID, "state %zu: emission mixture is missing", j);
    if (g->k != comps || g->d != m->d || g->cov != m->cov)
        return lt_fail(
            LT_ERR_DIM,
            "state %zu: emission mixture has %zu components in %zu dimensions (%s), expected %zu in %zu (%s)", j, g->k,
            g->d, lt_cov_type_name(g->cov), comps, m->d, lt_cov_type_name(m->cov));
    return LT_OK;
}

lt_status hmm_emit_prepare(lt_hmm *m)
{
    size_t k = m->k;
    switch (m->emission) {
    case LT_EMIT_CATEGORICAL: {
        size_t S = m->n_symbols;
        if (!m->emit) return lt_fail(LT_ERR_INVALID, "emission probabilities are missing");
        for (size_t j = 0; j < k; j++) {
            double *p = m->emit + j * S, sum = 0.0;
            for (size_t s = 0; s < S; s++) {
                if (!(p[s] >= 0.0) || !isfinite(p[s]))
                    return lt_fail(LT_ERR_NUMERIC,
                                   "state %zu: probability of symbol %zu is %g (expected a number in [0, 1])", j, s,
                                   p[s]);
                sum += p[s];
            }
            if (fabs(sum - 1.0) > 1e-6)
                return lt_fail(LT_ERR_NUMERIC, "state %zu: emission probabilities sum to %.10g, expected 1", j, sum);
            /* Rows that sum to 1 up to rounding are left alone, so that a
             * saved and reloaded model has the very same bits. */
            if (fabs(sum - 1.0) > 4.0 * DBL_EPSILON * (double)S)
                for (size_t s = 0; s < S; s++)
                    p[s] /= sum;
        }
        return LT_OK;
    }
    case LT_EMIT_POISSON:
        if (!m->emit) return lt_fail(LT_ERR_INVALID, "poisson rates are missing");
        for (size_t j = 0; j < k; j++)
            for (size_t t = 0; t < m->d; t++) {
                double r = m->emit[j * m->d + t];
                if (!(r > 0.0) || !isfinite(r))
                    return lt_fail(LT_ERR_NUMERIC, "state %zu: rate of column %zu is %g (expected a finite number > 0)",
                                   j, t + 1, r);
            }
        return LT_OK;
    case LT_EMIT_GAUSSIAN: {
        if (!m->states) return lt_fail(LT_ERR_INVALID, "emission Gaussians are missing");
        lt_gmm *g = m->states[0];
        LT_CHECK(check_gmm_sizes(m, g, 0, k));
        for (size_t j = 0; j < k; j++) {
            g->weights[j] = 1.0 / (double)k; /* unused by the HMM */
            for (size_t t = 0; t < m->d; t++)
                if (!isfinite(g->means[j * m->d + t]))
                    return lt_fail(LT_ERR_NUMERIC, "state %zu: mean of column %zu is not finite", j, t + 1);
        }
        lt_status st = lt_gmm_prepare(g);
        if (st == LT_OK) return LT_OK;
        if (m->cov == LT_COV_TIED) return lt_fail(st, "the tied covariance of the states is not positive definite");
        for (size_t j = 0; j < k; j++)
            if (gaussian_state_bad(g, j)) return lt_fail(st, "state %zu: covariance is not positive definite", j);
        return st;
    }
    case LT_EMIT_GMM: {
        if (!m->states) return lt_fail(LT_ERR_INVALID, "emission mixtures are missing");
        for (size_t j = 0; j < k; j++) {
            LT_CHECK(check_gmm_sizes(m, m->states[j], j, m->n_mix));
            lt_status st = lt_gmm_prepare(m->states[j]);
            if (st != LT_OK) return state_prefix(st, j);
        }
        return LT_OK;
    }
    }
    return lt_fail(LT_ERR_INVALID, "unknown emission type %d", (int)m->emission);
}

lt_status hmm_emit_check_data(const lt_hmm *m, const lt_seqs *data)
{
    size_t n = data->total;
    if (m->emission == LT_EMIT_CATEGORICAL) {
        if (!data->symbols && n > 0)
            return lt_fail(LT_ERR_INVALID, "categorical emissions need symbols, not numeric columns");
        for (size_t t = 0; t < n; t++) {
            int32_t s = data->symbols[t];
            if (s < 0 || (uint64_t)s >= (uint64_t)m->n_symbols)
                return lt_fail(LT_ERR_INVALID, "step %zu: symbol %d is outside the alphabet of %zu symbols", t + 1,
                               (int)s, m->n_symbols);
        }
        return LT_OK;
    }
    if (!data->x && n > 0)
        return lt_fail(LT_ERR_INVALID, "%s emissions need numeric columns, not symbols",
                       m->emission == LT_EMIT_POISSON ? "poisson" : "gaussian");
    if (data->dim != m->d)
        return lt_fail(LT_ERR_DIM, "data has %zu columns but the model was fitted on %zu", data->dim, m->d);
    size_t d = m->d;
    for (size_t t = 0; t < n; t++)
        for (size_t c = 0; c < d; c++) {
            double v = data->x[t * d + c];
            if (!isfinite(v))
                return lt_fail(LT_ERR_NUMERIC, "step %zu, column %zu: value is not a finite number", t + 1, c + 1);
            if (m->emission == LT_EMIT_POISSON && (v < 0.0 || v != floor(v)))
                return lt_fail(LT_ERR_INVALID, "step %zu, column %zu: %g is not a count (a non-negative integer)",
                               t + 1, c + 1, v);
        }
    return LT_OK;
}

/* ------------------------------------------------------------- densities */

static lt_status loglik_categorical(const lt_hmm *m, const int32_t *sym, size_t t0, size_t n, double *out)
{
    size_t k = m->k, S = m->n_symbols;
    for (size_t i = 0; i < n; i++) {
        int32_t s = sym[t0 + i];
        if (s < 0 || (uint64_t)s >= (uint64_t)S)
            return lt_fail(LT_ERR_INVALID, "step %zu: symbol %d is outside the alphabet of %zu symbols", t0 + i + 1,
                           (int)s, S);
        for (size_t j = 0; j < k; j++)
            out[i * k + j] = log(m->emit[j * S + (size_t)s]);
    }
    return LT_OK;
}

void hmm_emit_cat_table(const lt_hmm *m, double *tab, double *lmx)
{
    size_t k = m->k, S = m->n_symbols;
    for (size_t s = 0; s < S; s++) {
        double mx = 0.0, *r = tab + s * k;
        int bad = 0;
        for (size_t j = 0; j < k; j++) {
            double v = m->emit[j * S + s];
            bad |= !(v >= 0.0 && v <= 1.0);
            if (v > mx) mx = v;
        }
        /* A model that was never prepared may hold anything: NaN makes the
         * scaled pass give up, and the log-space pass (hmm_emit_loglik)
         * names the step and state. */
        lmx[s] = bad ? NAN : mx > 0.0 ? log(mx) : -INFINITY;
        for (size_t j = 0; j < k; j++)
            r[j] = bad ? NAN : mx > 0.0 ? m->emit[j * S + s] / mx : 0.0;
    }
}

/* out[i,j] = x_i . log r_j - sum_t r_jt - sum_t log(x_it!) */
static lt_status loglik_poisson(const lt_hmm *m, const double *X, size_t n, double *out)
{
    size_t k = m->k, d = m->d;
    double *lr = lt_malloc(k * d + k, sizeof(double)); /* k x d log rates, then k rate sums */
    if (!lr) return LT_ERR_NOMEM;
    double *rs = lr + k * d;
    for (size_t j = 0; j < k; j++) {
        double s = 0.0;
        for (size_t t = 0; t < d; t++) {
            lr[j * d + t] = log(m->emit[j * d + t]);
            s += m->emit[j * d + t];
        }
        rs[j] = s;
    }
    for (size_t i = 0; i < n; i++) {
        const double *x = X + i * d;
        double lf = 0.0;
        for (size_t t = 0; t < d; t++)
            lf += log_factorial(x[t]);
        for (size_t j = 0; j < k; j++) {
            double s = 0.0;
            for (size_t t = 0; t < d; t++)
                s += x[t] * lr[j * d + t];
            out[i * k + j] = s - rs[j] - lf;
        }
    }
    free(lr);
    return LT_OK;
}

static lt_status loglik_gmm(const lt_hmm *m, const double *X, size_t n, double *out)
{
    size_t k = m->k, nm = m->n_mix;
    lt_status st = LT_OK;
    double *L = lt_malloc(n * nm, sizeof(double));
    if (!L) return LT_ERR_NOMEM;
    for (size_t j = 0; j < k; j++) {
        if ((st = lt_gmm_logjoint(m->states[j], X, n, 1, 1, L)) != LT_OK) goto done;
        for (size_t i = 0; i < n; i++)
            out[i * k + j] = log_sum_exp(L + i * nm, nm);
    }
done:
    free(L);
    return st;
}

lt_status hmm_emit_loglik(const lt_hmm *m, const lt_seqs *data, size_t t0, size_t n, double *out)
{
    if (t0 > data->total || n > data->total - t0)
        return lt_fail(LT_ERR_INVALID, "steps %zu..%zu are outside the data (%zu steps)", t0 + 1, t0 + n, data->total);
    if (n == 0) return LT_OK;
    if (m->emission == LT_EMIT_CATEGORICAL) return loglik_categorical(m, data->symbols, t0, n, out);
    const double *X = data->x + t0 * m->d;
    switch (m->emission) {
    case LT_EMIT_POISSON: return loglik_poisson(m, X, n, out);
    case LT_EMIT_GAUSSIAN: return lt_gmm_logjoint(m->states[0], X, n, 1, 0, out);
    case LT_EMIT_GMM: return loglik_gmm(m, X, n, out);
    default: break;
    }
    return lt_fail(LT_ERR_INVALID, "unknown emission type %d", (int)m->emission);
}

/* -------------------------------------------------------- initialisation */

static lt_status init_categorical(lt_hmm *m, const lt_seqs *data, uint64_t seed)
{
    size_t k = m->k, S = m->n_symbols, n = data->total;
    double *freq = lt_calloc(2 * S, sizeof(double));
    if (!freq) return LT_ERR_NOMEM;
    double *alpha = freq + S;
    for (size_t t = 0; t < n; t++)
        freq[data->symbols[t]] += 1.0;
    double pseudo = INIT_PSEUDO * (double)n / (double)S;
    for (size_t s = 0; s < S; s++) {
        freq[s] = (freq[s] + pseudo) / ((double)n * (1.0 + INIT_PSEUDO));
        alpha[s] = INIT_CONC;
    }
    lt_rng rng;
    lt_rng_seed(&rng, seed);
    for (size_t j = 0; j < k; j++) {
        double *p = m->emit + j * S, sum = 0.0;
        lt_rng_dirichlet(&rng, alpha, S, p);
        for (size_t s = 0; s < S; s++)
            sum += (p[s] *= freq[s]);
        for (size_t s = 0; s < S; s++)
            p[s] /= sum;
    }
    free(freq);
    return LT_OK;
}

static lt_status init_poisson(lt_hmm *m, const lt_seqs *data, uint64_t seed)
{
    size_t k = m->k, d = m->d, n = data->total;
    double *mean = lt_calloc(d, sizeof(double));
    if (!mean) return LT_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < d; t++)
            mean[t] += data->x[i * d + t];
    lt_rng rng;
    lt_rng_seed(&rng, seed);
    for (size_t j = 0; j < k; j++)
        for (size_t t = 0; t < d; t++) {
            double r = mean[t] / (double)n * (0.5 + lt_rng_uniform(&rng));
            m->emit[j * d + t] = r > RATE_FLOOR ? r : RATE_FLOOR;
        }
    free(mean);
    return LT_OK;
}

static void init_gmm_options(lt_gmm_options *o, size_t k, lt_cov_type cov, double reg, uint64_t seed, int threads)
{
    lt_gmm_options_default(o);
    o->k = k;
    o->cov = cov;
    o->init = LT_GMM_INIT_KMEANSPP;
    o->n_init = 1;
    o->max_iter = INIT_EM_ITER;
    o->reg_covar = reg;
    o->seed = seed;
    o->threads = threads;
}

/* Means, covariances and (when `weights`) weights of src into dst, same sizes. */
static void copy_params(lt_gmm *dst, const lt_gmm *src, int weights)
{
    if (weights) memcpy(dst->weights, src->weights, src->k * sizeof(double));
    memcpy(dst->means, src->means, src->k * src->d * sizeof(double));
    memcpy(dst->covs, src->covs, cov_len(src->cov, src->k, src->d) * sizeof(double));
}

static lt_status init_gaussian(lt_hmm *m, const lt_seqs *data, uint64_t seed, int threads)
{
    lt_gmm *g = m->states[0], *fit = NULL;
    lt_gmm_options o;
    init_gmm_options(&o, m->k, m->cov, g->reg_covar, seed, threads);
    LT_CHECK(lt_gmm_fit(&o, data->x, data->total, m->d, NULL, &fit));
    copy_params(g, fit, 0);
    for (size_t j = 0; j < m->k; j++)
        g->weights[j] = 1.0 / (double)m->k;
    lt_gmm_free(fit);
    return lt_gmm_prepare(g);
}

static lt_status init_gmm(lt_hmm *m, const lt_seqs *data, uint64_t seed, int threads)
{
    size_t k = m->k, n = data->total, d = m->d;
    lt_status st = LT_OK;
    lt_gmm *split = NULL, *fit = NULL;
    double *resp = lt_malloc(n * k + n, sizeof(double));
    if (!resp) return LT_ERR_NOMEM;
    double *w = resp + n * k;
    lt_gmm_options o;
    init_gmm_options(&o, k, m->cov, m->states[0]->reg_covar, seed, threads);
    if ((st = lt_gmm_fit(&o, data->x, n, d, NULL, &split)) != LT_OK) goto done;
    if ((st = lt_gmm_infer(split, data->x, n, threads, resp, NULL, NULL)) != LT_OK) goto done;
    lt_rng rng;
    lt_rng_stream(&rng, seed, 1);
    for (size_t j = 0; j < k; j++) {
        lt_gmm *g = m->states[j];
        for (size_t i = 0; i < n; i++)
            w[i] = resp[i * k + j] + SPLIT_FLOOR;
        init_gmm_options(&o, m->n_mix, m->cov, g->reg_covar, lt_rng_u64(&rng), threads);
        if ((st = lt_gmm_fit(&o, data->x, n, d, w, &fit)) == LT_OK) {
            copy_params(g, fit, 1);
            lt_gmm_free(fit);
            fit = NULL;
            st = lt_gmm_prepare(g);
        }
        if (st != LT_OK) {
            state_prefix(st, j);
            goto done;
        }
    }
done:
    lt_gmm_free(split);
    lt_gmm_free(fit);
    free(resp);
    return st;
}

lt_status hmm_emit_init(lt_hmm *m, const lt_seqs *data, uint64_t seed, int threads)
{
    LT_CHECK(hmm_emit_check_data(m, data));
    if (data->total == 0) return lt_fail(LT_ERR_INVALID, "no steps to initialise the emissions from");
    lt_status st = LT_ERR_INVALID;
    switch (m->emission) {
    case LT_EMIT_CATEGORICAL: st = init_categorical(m, data, seed); break;
    case LT_EMIT_POISSON: st = init_poisson(m, data, seed); break;
    case LT_EMIT_GAUSSIAN: st = init_gaussian(m, data, seed, threads); break;
    case LT_EMIT_GMM: st = init_gmm(m, data, seed, threads); break;
    }
    if (st != LT_OK) return lt_fail_prefix(st, "initialising the emissions");
    return LT_OK;
}

/* ---------------------------------------------------------------- M-step */

lt_status hmm_emit_cat_mstep(lt_hmm *m, const double *cnt, const double *freq, size_t total, const double *occ,
                             size_t *n_repaired)
{
    size_t k = m->k, S = m->n_symbols;
    double *own = NULL;
    if (!occ) {
        if (!(own = lt_calloc(k, sizeof(double)))) return LT_ERR_NOMEM;
        for (size_t s = 0; s < S; s++)
            for (size_t j = 0; j < k; j++) {
                double v = cnt[s * k + j];
                if (!(v >= 0.0) || !isfinite(v)) {
                    free(own);
                    return lt_fail(LT_ERR_NUMERIC,
                                   "expected count of symbol %zu in state %zu is %g (expected a finite number >= 0)", s,
                                   j, v);
                }
                own[j] += v;
            }
        occ = own;
    }
    for (size_t j = 0; j < k; j++) {
        double *p = m->emit + j * S, sum = 0.0;
        if (occ[j] < EMPTY_OCC) {
            for (size_t s = 0; s < S; s++)
                p[s] = freq[s] / (double)total;
            if (n_repaired) (*n_repaired)++;
            continue;
        }
        double tot = 0.0;
        for (size_t s = 0; s < S; s++)
            tot += cnt[s * k + j];
        for (size_t s = 0; s < S; s++) {
            double v = cnt[s * k + j] / tot;
            if (freq[s] > 0.0 && v < PROB_FLOOR) v = PROB_FLOOR;
            sum += (p[s] = v);
        }
        for (size_t s = 0; s < S; s++)
            p[s] /= sum;
    }
    free(own);
    return LT_OK;
}

static lt_status mstep_categorical(lt_hmm *m, const lt_seqs *data, const double *gamma, size_t *n_repaired)
{
    size_t k = m->k, S = m->n_symbols, n = data->total;
    lt_status st = LT_OK;
    double *cnt = lt_calloc(S * k + S + k, sizeof(double)); /* S x k, as hmm_emit_cat_mstep takes them */
    if (!cnt) return LT_ERR_NOMEM;
    double *global = cnt + S * k, *occ = global + S;
    if ((st = occupancy(gamma, n, k, occ)) != LT_OK) goto done;
    for (size_t t = 0; t < n; t++) {
        int32_t s = data->symbols[t];
        if (s < 0 || (uint64_t)s >= (uint64_t)S) {
            st =
                lt_fail(LT_ERR_INVALID, "step %zu: symbol %d is outside the alphabet of %zu symbols", t + 1, (int)s, S);
            goto done;
        }
        global[s] += 1.0;
        for (size_t j = 0; j < k; j++)
            cnt[(size_t)s * k + j] += gamma[t * k + j];
    }
    st = hmm_emit_cat_mstep(m, cnt, global, n, occ, n_repaired);
done:
    free(cnt);
    return st;
}

static lt_status mstep_poisson(lt_hmm *m, const lt_seqs *data, const double *gamma, size_t *n_repaired)
{
    size_t k = m->k, d = m->d, n = data->total;
    lt_status st = LT_OK;
    double *sx = lt_calloc(k * d + d + k, sizeof(double));
    if (!sx) return LT_ERR_NOMEM;
    double *mean = sx + k * d, *occ = mean + d;
    if ((st = occupancy(gamma, n, k, occ)) != LT_OK) goto done;
    for (size_t i = 0; i < n; i++) {
        const double *x = data->x + i * d;
        for (size_t t = 0; t < d; t++)
            mean[t] += x[t];
        for (size_t j = 0; j < k; j++) {
            double g = gamma[i * k + j];
            if (g == 0.0) continue;
            for (size_t t = 0; t < d; t++)
                sx[j * d + t] += g * x[t];
        }
    }
    for (size_t j = 0; j < k; j++) {
        int empty = occ[j] < EMPTY_OCC;
        for (size_t t = 0; t < d; t++) {
            double r = empty ? mean[t] / (double)n : sx[j * d + t] / occ[j];
            m->emit[j * d + t] = r > RATE_FLOOR ? r : RATE_FLOOR;
        }
        if (empty && n_repaired) (*n_repaired)++;
    }
done:
    free(sx);
    return st;
}

static lt_status mstep_gaussian(lt_hmm *m, const lt_seqs *data, const double *gamma, int threads, size_t *n_repaired)
{
    lt_gmm *g = m->states[0];
    double *occ = lt_malloc(m->k, sizeof(double));
    if (!occ) return LT_ERR_NOMEM;
    lt_status st = occupancy(gamma, data->total, m->k, occ);
    free(occ);
    if (st != LT_OK) return st;
    /* The posteriors are exactly the component responsibilities. */
    LT_CHECK(lt_gmm_mstep_resp(g, data->x, data->total, gamma, threads, n_repaired));
    for (size_t j = 0; j < m->k; j++)
        g->weights[j] = 1.0 / (double)m->k;
    return LT_OK;
}

static lt_status mstep_gmm(lt_hmm *m, const lt_seqs *data, const double *gamma, int threads, size_t *n_repaired)
{
    size_t k = m->k, nm = m->n_mix, n = data->total;
    lt_status st = LT_OK;
    double *occ = lt_malloc(k, sizeof(double));
    double *L = lt_malloc(n, nm * sizeof(double)); /* n x n_mix: log-joint, then the M-step weights */
    if (!occ || !L) {
        st = LT_ERR_NOMEM;
        goto done;
    }
    if ((st = occupancy(gamma, n, k, occ)) != LT_OK) goto done;
    for (size_t j = 0; j < k; j++) {
        lt_gmm *g = m->states[j];
        int empty = occ[j] < EMPTY_OCC;
        if ((st = lt_gmm_logjoint(g, data->x, n, threads, 1, L)) != LT_OK) {
            state_prefix(st, j);
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            double *r = L + i * nm;
            double lse = log_sum_exp(r, nm);
            /* An empty state is refitted to every step (weight 1 each). */
            double gj = empty ? 1.0 : gamma[i * k + j];
            for (size_t c = 0; c < nm; c++)
                r[c] = lse == -INFINITY ? gj / (double)nm : gj * exp(r[c] - lse);
        }
        if ((st = lt_gmm_mstep_resp(g, data->x, n, L, threads, n_repaired)) != LT_OK) {
            state_prefix(st, j);
            goto done;
        }
        if (empty && n_repaired) (*n_repaired)++;
    }
done:
    free(occ);
    free(L);
    return st;
}

lt_status hmm_emit_mstep(lt_hmm *m, const lt_seqs *data, const double *gamma, int threads, size_t *n_repaired)
{
    if (data->total == 0) return lt_fail(LT_ERR_INVALID, "no steps for the emission M-step");
    switch (m->emission) {
    case LT_EMIT_CATEGORICAL: return mstep_categorical(m, data, gamma, n_repaired);
    case LT_EMIT_POISSON: return mstep_poisson(m, data, gamma, n_repaired);
    case LT_EMIT_GAUSSIAN: return mstep_gaussian(m, data, gamma, threads, n_repaired);
    case LT_EMIT_GMM: return mstep_gmm(m, data, gamma, threads, n_repaired);
    }
    return lt_fail(LT_ERR_INVALID, "unknown emission type %d", (int)m->emission);
}

/* ------------------------------------------------------------ parameters */

size_t hmm_emit_n_parameters(const lt_hmm *m)
{
    size_t k = m->k, d = m->d;
    switch (m->emission) {
    case LT_EMIT_CATEGORICAL: return k * (m->n_symbols - 1);
    case LT_EMIT_POISSON: return k * d;
    case LT_EMIT_GAUSSIAN: return k * d + cov_params(m->cov, k, d);
    case LT_EMIT_GMM: return k * ((m->n_mix - 1) + m->n_mix * d + cov_params(m->cov, m->n_mix, d));
    }
    return 0;
}

/* ---------------------------------------------------------------- sampling */

/* x = mu_c + P_c^-T z: with Sigma^-1 = P P^T (P upper), Sigma = P^-T P^-1. */
static void gaussian_draw(const lt_gmm *g, size_t c, lt_rng *rng, double *x)
{
    size_t d = g->d;
    for (size_t t = 0; t < d; t++)
        x[t] = lt_rng_normal(rng);
    switch (g->cov) {
    case LT_COV_FULL:
    case LT_COV_TIED: {
        const double *P = g->prec_chol + (g->cov == LT_COV_FULL ? c * d * d : 0);
        for (size_t a = 0; a < d; a++) { /* forward substitution with P^T (lower) */
            double v = x[a];
            for (size_t b = 0; b < a; b++)
                v -= P[b * d + a] * x[b];
            x[a] = v / P[a * d + a];
        }
        break;
    }
    case LT_COV_DIAG:
        for (size_t t = 0; t < d; t++)
            x[t] /= g->prec_chol[c * d + t];
        break;
    case LT_COV_SPHERICAL:
        for (size_t t = 0; t < d; t++)
            x[t] /= g->prec_chol[c];
        break;
    }
    for (size_t t = 0; t < d; t++)
        x[t] += g->means[c * d + t];
}

/* Poisson(lam): inversion by sequential search below POISSON_PTRS_MIN (at
 * most exp(-10) is lost to rounding in the cumulative sum), Hormann's PTRS
 * (transformed rejection with squeeze) above, whose constants are his. */
static double poisson_draw(lt_rng *rng, double lam)
{
    if (lam < POISSON_PTRS_MIN) {
        double u = lt_rng_uniform(rng), p = exp(-lam), F = p, x = 0.0;
        while (u > F) {
            x += 1.0;
            p *= lam / x;
            if (p == 0.0) break; /* the tail underflowed: rounding left u above F */
            F += p;
        }
        return x;
    }
    double slam = sqrt(lam), loglam = log(lam);
    double b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
    double inv_alpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2.0);
    for (;;) {
        double U = lt_rng_uniform(rng) - 0.5, V = lt_rng_uniform(rng);
        double us = 0.5 - fabs(U);
        double x = floor((2.0 * a / us + b) * U + lam + 0.43);
        if (us >= 0.07 && V <= vr) return x;
        if (x < 0.0 || (us < 0.013 && V > us)) continue;
        if (log(V) + log(inv_alpha) - log(a / (us * us) + b) <= -lam + x * loglam - log_factorial(x)) return x;
    }
}

void hmm_emit_sample(const lt_hmm *m, size_t k, lt_rng *rng, double *x, int32_t *sym)
{
    switch (m->emission) {
    case LT_EMIT_CATEGORICAL: *sym = (int32_t)lt_rng_categorical(rng, m->emit + k * m->n_symbols, m->n_symbols); break;
    case LT_EMIT_POISSON:
        for (size_t t = 0; t < m->d; t++)
            x[t] = poisson_draw(rng, m->emit[k * m->d + t]);
        break;
    case LT_EMIT_GAUSSIAN: gaussian_draw(m->states[0], k, rng, x); break;
    case LT_EMIT_GMM: {
        const lt_gmm *g = m->states[k];
        gaussian_draw(g, lt_rng_categorical(rng, g->weights, g->k), rng, x);
        break;
    }
    }
}

/* ------------------------------------------------------------ model files */

/* Shape of the covariances tensor, as hmmlearn's covars_ (gaussian: per
 * state; gmm: per state and component). Returns the number of axes. */
static size_t covs_shape(const lt_hmm *m, size_t shape[4])
{
    size_t k = m->k, d = m->d, nm = m->n_mix, n = 0;
    if (m->emission == LT_EMIT_GAUSSIAN) {
        switch (m->cov) {
        case LT_COV_FULL: shape[n++] = k, shape[n++] = d, shape[n++] = d; break;
        case LT_COV_DIAG: shape[n++] = k, shape[n++] = d; break;
        case LT_COV_SPHERICAL: shape[n++] = k; break;
        case LT_COV_TIED: shape[n++] = d, shape[n++] = d; break;
        }
        return n;
    }
    shape[n++] = k;
    switch (m->cov) {
    case LT_COV_FULL: shape[n++] = nm, shape[n++] = d, shape[n++] = d; break;
    case LT_COV_DIAG: shape[n++] = nm, shape[n++] = d; break;
    case LT_COV_SPHERICAL: shape[n++] = nm; break;
    case LT_COV_TIED: shape[n++] = d, shape[n++] = d; break;
    }
    return n;
}

lt_status hmm_emit_save(const lt_hmm *m, lt_st_writer *w)
{
    size_t k = m->k, d = m->d, nm = m->n_mix;
    size_t shape[4];
    switch (m->emission) {
    case LT_EMIT_CATEGORICAL:
        shape[0] = k, shape[1] = m->n_symbols;
        return lt_st_writer_tensor(w, "emission_probs", LT_ST_F64, 2, shape, m->emit);
    case LT_EMIT_POISSON:
        shape[0] = k, shape[1] = d;
        return lt_st_writer_tensor(w, "rates", LT_ST_F64, 2, shape, m->emit);
    case LT_EMIT_GAUSSIAN: {
        const lt_gmm *g = m->states[0];
        shape[0] = k, shape[1] = d;
        LT_CHECK(lt_st_writer_tensor(w, "means", LT_ST_F64, 2, shape, g->means));
        size_t nd = covs_shape(m, shape);
        return lt_st_writer_tensor(w, "covariances", LT_ST_F64, nd, shape, g->covs);
    }
    case LT_EMIT_GMM: break;
    default: return lt_fail(LT_ERR_INVALID, "unknown emission type %d", (int)m->emission);
    }
    lt_status st = LT_OK;
    size_t cl = cov_len(m->cov, nm, d);
    double *buf = lt_malloc(k * (nm + nm * d + cl), sizeof(double));
    if (!buf) return LT_ERR_NOMEM;
    double *wt = buf, *mu = wt + k * nm, *cv = mu + k * nm * d;
    for (size_t j = 0; j < k; j++) {
        const lt_gmm *g = m->states[j];
        memcpy(wt + j * nm, g->weights, nm * sizeof(double));
        memcpy(mu + j * nm * d, g->means, nm * d * sizeof(double));
        memcpy(cv + j * cl, g->covs, cl * sizeof(double));
    }
    shape[0] = k, shape[1] = nm;
    if ((st = lt_st_writer_tensor(w, "mix_weights", LT_ST_F64, 2, shape, wt)) != LT_OK) goto done;
    shape[0] = k, shape[1] = nm, shape[2] = d;
    if ((st = lt_st_writer_tensor(w, "means", LT_ST_F64, 3, shape, mu)) != LT_OK) goto done;
    size_t nd = covs_shape(m, shape);
    st = lt_st_writer_tensor(w, "covariances", LT_ST_F64, nd, shape, cv);
done:
    free(buf);
    return st;
}

lt_status hmm_emit_load(lt_hmm *m, const lt_st_file *f, const char *path)
{
    size_t k = m->k, d = m->d, nm = m->n_mix;
    size_t shape[4];
    const void *p = NULL;
    if (!m->emit && !m->states) LT_CHECK(hmm_emit_alloc(m));
    switch (m->emission) {
    case LT_EMIT_CATEGORICAL:
        shape[0] = k, shape[1] = m->n_symbols;
        LT_CHECK(lt_st_tensor(f, "emission_probs", LT_ST_F64, 2, shape, &p));
        memcpy(m->emit, p, k * m->n_symbols * sizeof(double));
        break;
    case LT_EMIT_POISSON:
        shape[0] = k, shape[1] = d;
        LT_CHECK(lt_st_tensor(f, "rates", LT_ST_F64, 2, shape, &p));
        memcpy(m->emit, p, k * d * sizeof(double));
        break;
    case LT_EMIT_GAUSSIAN: {
        lt_gmm *g = m->states[0];
        shape[0] = k, shape[1] = d;
        LT_CHECK(lt_st_tensor(f, "means", LT_ST_F64, 2, shape, &p));
        memcpy(g->means, p, k * d * sizeof(double));
        size_t nd = covs_shape(m, shape);
        LT_CHECK(lt_st_tensor(f, "covariances", LT_ST_F64, nd, shape, &p));
        memcpy(g->covs, p, cov_len(m->cov, k, d) * sizeof(double));
        break;
    }
    case LT_EMIT_GMM: {
        size_t cl = cov_len(m->cov, nm, d);
        const void *wt = NULL, *mu = NULL;
        shape[0] = k, shape[1] = nm;
        LT_CHECK(lt_st_tensor(f, "mix_weights", LT_ST_F64, 2, shape, &wt));
        shape[0] = k, shape[1] = nm, shape[2] = d;
        LT_CHECK(lt_st_tensor(f, "means", LT_ST_F64, 3, shape, &mu));
        size_t nd = covs_shape(m, shape);
        LT_CHECK(lt_st_tensor(f, "covariances", LT_ST_F64, nd, shape, &p));
        for (size_t j = 0; j < k; j++) {
            lt_gmm *g = m->states[j];
            memcpy(g->weights, (const double *)wt + j * nm, nm * sizeof(double));
            memcpy(g->means, (const double *)mu + j * nm * d, nm * d * sizeof(double));
            memcpy(g->covs, (const double *)p + j * cl, cl * sizeof(double));
        }
        break;
    }
    default: return lt_fail(LT_ERR_INVALID, "unknown emission type %d", (int)m->emission);
    }
    lt_status st = hmm_emit_prepare(m);
    if (st != LT_OK) {
        char pre[512];
        snprintf(pre, sizeof pre, "model file %s", path ? path : "(memory)");
        return lt_fail_prefix(LT_ERR_FORMAT, pre);
    }
    return LT_OK;
}
