// LABELS: unit
/* lt_hmm_fit (Baum-Welch) against pomegranate's HiddenMarkovModel, number
 * for number.
 *
 * Two models with K = 3 states: categorical over 4 symbols, and a 2-D
 * diagonal Gaussian per state. For each, Baum-Welch starts from the same
 * explicit start, transition and emission parameters as pomegranate did
 * (init_params = 0: nothing initialised from the data, everything from
 * options.init_model), with tol = 0, no priors (start_prior = trans_prior
 * = 1), reg_covar = 0 (pomegranate adds nothing to variances and has no
 * floor here), and runs exactly n_em = 1, 10 and 25 EM iterations. It must
 * end with pomegranate's start probabilities, transitions, emissions, the
 * log-likelihood at every E-step (the trace; the model's log_likelihood is
 * its last entry, per step) and the log-likelihood of the fitted model
 * (lt_hmm_score). The states are compared in their initial order: both
 * start from the same parameters, so no permutation is involved.
 *
 * The reference and the data are in ref/hmm_pomegranate_ref.h, generated
 * by tests/ref/make_hmm_ref.py, which also checked pomegranate against a
 * plain numpy Baum-Welch and forward algorithm (the header names the
 * pomegranate version).
 *
 * Tolerance: 1e-6 relative. The generator measured how much a relative
 * perturbation of the initial parameters grows over these iterations
 * ("amplification", below 1 for every case), so rounding differences
 * between two correct implementations stay near 1e-13, while a real
 * difference (a pseudocount, an extra or missing iteration, a biased
 * variance, a wrong start update) is far larger.
 */
#include "harness.h"

#include "latent/hmm.h"
#include "ref/hmm_pomegranate_ref.h"

#define RTOL 1e-6
#define MAX_SEQS 8 /* log-likelihood buffers below */

_Static_assert(HMM_REF_CAT_N_SEQS <= MAX_SEQS && HMM_REF_GAU_N_SEQS <= MAX_SEQS, "raise MAX_SEQS");

/* Every entry within rtol of the reference, measured against
 * max(|want_i|, largest |want_j| of the array): entries near zero (a
 * transition EM is driving to zero, a mean coordinate) carry rounding
 * errors of the array's own magnitude. Reports the worst entry; NaN fails. */
static void check_array(const char *tag, const char *what, const double *got, const double *want, size_t n, double rtol)
{
    double scale = 0.0;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(want[i]));
    size_t worst = 0;
    double worst_err = 0.0;
    for (size_t i = 0; i < n; i++) {
        double den = fmax(fabs(want[i]), scale);
        double err = fabs(got[i] - want[i]) / (den > 0.0 ? den : 1.0);
        if (isnan(err)) err = INFINITY;
        if (err > worst_err) {
            worst_err = err;
            worst = i;
        }
    }
    CHECK_MSG(worst_err <= rtol, "%s %s[%zu]: %.17g vs pomegranate %.17g (error %.3g, rtol %g)", tag, what, worst,
              n ? got[worst] : 0.0, n ? want[worst] : 0.0, worst_err, rtol);
}

static int is_categorical(const hmm_ref_case *rc)
{
    return strcmp(rc->emission, "categorical") == 0;
}

static lt_seqs ref_data(int categorical)
{
    lt_seqs s;
    memset(&s, 0, sizeof s);
    if (categorical) {
        s.n_seqs = HMM_REF_CAT_N_SEQS;
        s.lengths = hmm_ref_cat_lengths;
        s.total = HMM_REF_CAT_TOTAL;
        s.dim = 1;
        s.symbols = hmm_ref_cat_symbols;
    } else {
        s.n_seqs = HMM_REF_GAU_N_SEQS;
        s.lengths = hmm_ref_gau_lengths;
        s.total = HMM_REF_GAU_TOTAL;
        s.dim = HMM_REF_D;
        s.x = hmm_ref_gau_x;
    }
    return s;
}

/* The initial model, as pomegranate was given it. */
static lt_status make_init(int categorical, lt_hmm **out)
{
    const size_t k = HMM_REF_K, d = HMM_REF_D, ns = HMM_REF_N_SYMBOLS;
    lt_hmm *m = NULL;
    lt_status s = categorical ? lt_hmm_create(k, LT_EMIT_CATEGORICAL, 1, ns, 0, LT_COV_DIAG, &m)
                              : lt_hmm_create(k, LT_EMIT_GAUSSIAN, d, 0, 0, LT_COV_DIAG, &m);
    if (s != LT_OK) return s;
    memcpy(m->start, hmm_ref_init_start, k * sizeof(double));
    memcpy(m->trans, hmm_ref_init_trans, k * k * sizeof(double));
    if (categorical) {
        memcpy(m->emit, hmm_ref_init_cat_emit, k * ns * sizeof(double));
    } else {
        lt_gmm *g = m->states[0];
        for (size_t j = 0; j < k; j++)
            g->weights[j] = 1.0 / (double)k;
        memcpy(g->means, hmm_ref_init_means, k * d * sizeof(double));
        memcpy(g->covs, hmm_ref_init_vars, k * d * sizeof(double));
    }
    s = lt_hmm_prepare(m);
    if (s != LT_OK) {
        lt_hmm_free(m);
        return s;
    }
    *out = m;
    return LT_OK;
}

static double sum(const double *v, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    return s;
}

/* The header is what the generator says it is. */
static void test_reference_consistent(void)
{
    const size_t k = HMM_REF_K;
    size_t tot = 0;
    for (size_t i = 0; i < HMM_REF_CAT_N_SEQS; i++)
        tot += hmm_ref_cat_lengths[i];
    CHECK(tot == HMM_REF_CAT_TOTAL);
    tot = 0;
    for (size_t i = 0; i < HMM_REF_GAU_N_SEQS; i++)
        tot += hmm_ref_gau_lengths[i];
    CHECK(tot == HMM_REF_GAU_TOTAL);
    CHECK_NEAR(sum(hmm_ref_init_start, k), 1.0, 1e-15);
    for (size_t i = 0; i < k; i++) {
        CHECK_NEAR(sum(hmm_ref_init_trans + i * k, k), 1.0, 1e-15);
        CHECK_NEAR(sum(hmm_ref_init_cat_emit + i * HMM_REF_N_SYMBOLS, HMM_REF_N_SYMBOLS), 1.0, 1e-15);
    }
    for (size_t c = 0; c < HMM_REF_N_CASES; c++) {
        const hmm_ref_case *rc = &hmm_ref_cases[c];
        CHECK(rc->n_em >= 1);
        CHECK(rc->check < 1e-9);
        CHECK(rc->amplification < 10.0);
        CHECK((rc->emit != NULL) == is_categorical(rc));
        CHECK(is_categorical(rc) || (rc->means && rc->vars));
        for (size_t i = 1; i < rc->n_em; i++)
            CHECK_MSG(rc->trace[i] > rc->trace[i - 1], "%s n_em=%zu: trace not increasing at %zu", rc->emission,
                      rc->n_em, i);
    }
}

/* The initial models' log-likelihood (no fitting) is every trace's first entry. */
static void test_initial_score(void)
{
    for (int cat = 0; cat <= 1; cat++) {
        lt_hmm *m = NULL;
        lt_seqs data = ref_data(cat);
        double logp[MAX_SEQS];
        lt_status s = make_init(cat, &m);
        CHECK_MSG(s == LT_OK, "%s: initial model: %s", cat ? "categorical" : "gaussian", lt_last_error());
        if (s != LT_OK) continue;
        s = lt_hmm_score(m, &data, 1, logp);
        CHECK_MSG(s == LT_OK, "score: %s", lt_last_error());
        for (size_t c = 0; s == LT_OK && c < HMM_REF_N_CASES; c++)
            if (is_categorical(&hmm_ref_cases[c]) == cat)
                CHECK_REL(sum(logp, data.n_seqs), hmm_ref_cases[c].trace[0], RTOL);
        lt_hmm_free(m);
    }
}

/* Fit one case with `threads` threads and compare everything. */
static void run_case(const hmm_ref_case *rc, int threads)
{
    const size_t k = HMM_REF_K, d = HMM_REF_D, ns = HMM_REF_N_SYMBOLS;
    const int cat = is_categorical(rc);
    char tag[64];
    snprintf(tag, sizeof tag, "%s n_em=%zu threads=%d", rc->emission, rc->n_em, threads);
    lt_seqs data = ref_data(cat);
    lt_hmm *init = NULL, *m = NULL;
    lt_hmm_trace trace = {NULL, 0, 0};
    double logp[MAX_SEQS];

    lt_status s = make_init(cat, &init);
    CHECK_MSG(s == LT_OK, "%s: initial model: %s", tag, lt_last_error());
    if (s != LT_OK) goto done;

    lt_hmm_options o;
    lt_hmm_options_default(&o);
    o.k = k;
    o.emission = cat ? LT_EMIT_CATEGORICAL : LT_EMIT_GAUSSIAN;
    o.cov = LT_COV_DIAG;
    o.n_symbols = cat ? ns : 0;
    o.params = LT_HMM_ALL;
    o.init_params = 0;
    o.init_model = init;
    o.start_prior = 1.0;
    o.trans_prior = 1.0;
    o.tol = 0.0;
    o.max_iter = rc->n_em;
    o.n_init = 1;
    o.reg_covar = 0.0;
    o.seed = 1;
    o.threads = threads;
    o.trace = &trace;
    s = lt_hmm_fit(&o, &data, &m);
    CHECK_MSG(s == LT_OK, "%s: fit: %s", tag, lt_last_error());
    if (s != LT_OK) goto done;

    int shape_ok = m->k == k && m->emission == o.emission &&
                   (cat ? m->n_symbols == ns && m->emit != NULL : m->d == d && m->states && m->states[0]);
    CHECK_MSG(shape_ok, "%s: fitted model has k=%zu emission=%d d=%zu n_symbols=%zu", tag, m->k, (int)m->emission, m->d,
              m->n_symbols);
    if (!shape_ok) goto done;
    CHECK_MSG(m->n_iter == rc->n_em, "%s: n_iter %zu, pomegranate %zu", tag, m->n_iter, rc->n_em);
    check_array(tag, "start", m->start, rc->start, k, RTOL);
    check_array(tag, "trans", m->trans, rc->trans, k * k, RTOL);
    if (cat) {
        check_array(tag, "emit", m->emit, rc->emit, k * ns, RTOL);
    } else {
        check_array(tag, "means", m->states[0]->means, rc->means, k * d, RTOL);
        check_array(tag, "variances", m->states[0]->covs, rc->vars, k * d, RTOL);
    }

    /* The trace and log_likelihood are per step; the reference is totals. */
    CHECK_MSG(trace.n == rc->n_em, "%s: trace has %zu entries, want %zu", tag, trace.n, rc->n_em);
    for (size_t i = 0; i < trace.n && i < rc->n_em; i++)
        CHECK_REL(trace.loglik[i] * (double)data.total, rc->trace[i], RTOL);
    CHECK_REL(m->log_likelihood * (double)data.total, rc->trace[rc->n_em - 1], RTOL);

    s = lt_hmm_score(m, &data, threads, logp);
    CHECK_MSG(s == LT_OK, "%s: score: %s", tag, lt_last_error());
    if (s == LT_OK) CHECK_REL(sum(logp, data.n_seqs), rc->ll_final, RTOL);

done:
    free(trace.loglik);
    lt_hmm_free(m);
    lt_hmm_free(init);
}

static void test_against_pomegranate_1_thread(void)
{
    for (size_t c = 0; c < HMM_REF_N_CASES; c++)
        run_case(&hmm_ref_cases[c], 1);
}

static void test_against_pomegranate_2_threads(void)
{
    for (size_t c = 0; c < HMM_REF_N_CASES; c++)
        run_case(&hmm_ref_cases[c], 2);
}

int main(void)
{
    fprintf(stderr, "reference: pomegranate %s, numpy %s\n", HMM_REF_POMEGRANATE_VERSION, HMM_REF_NUMPY_VERSION);
    RUN(test_reference_consistent);
    RUN(test_initial_score);
    RUN(test_against_pomegranate_1_thread);
    RUN(test_against_pomegranate_2_threads);
    return lt_test_done();
}
