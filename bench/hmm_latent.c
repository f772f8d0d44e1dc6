/* Time latent's Baum-Welch: seconds per iteration, excluding fixed costs.
 *
 *   hmm_latent english DATA.txt --k K --init PREFIX [--n 200000 (symbols; gauss: rows, 0 = all)]
 *   hmm_latent gauss DATA.npy --k K --init PREFIX [--seq-len 10000 (0: one sequence)]
 *              [--m1 1 --m2 3 --threads 2 --tag NAME] [--one-seq 1] [--per-iter 1]
 *
 * english: data/english.txt as 27 symbols (bench/hmm_util.h), one sequence
 * per address, the first --n symbols. gauss: the rows of DATA.npy cut into
 * sequences of --seq-len, one diagonal Gaussian per state. The initial
 * model is read from PREFIX_{start,trans,emit}.npy (english) or
 * PREFIX_{start,trans,means,vars}.npy (gauss), written by
 * bench/hmm_data.py, so every implementation starts from the same
 * parameters and does the same arithmetic. --one-seq 1 joins the data into
 * one sequence (english: the addresses end to end; gauss: as --seq-len 0),
 * to time the split of one long sequence across threads. --per-iter 1 also
 * times each iteration of the m2 fits from one progress report to the next
 * (so the first iteration and the fixed costs are left out) and prints the
 * fastest, which a busy machine disturbs less than a difference of fits.
 *
 * After an untimed warm-up (full-size fits for at least 0.3 s), two fits with
 * init_params = 0 (everything from the initial model), tol = 0, no priors
 * and reg_covar = 0 (pomegranate adds nothing either), with max_iter = m1
 * and m2; (t2 - t1) / (m2 - m1) is one E+M iteration with the fixed costs
 * (validation, copies, allocation) cancelled. The quality is the
 * log-likelihood per step of the m2 model on the training data (lt_hmm_score,
 * not timed), nats.
 *
 * Prints one "RESULT key=value ..." line on stdout; bench/run_hmm.sh
 * collects them.
 */
#include "hmm_util.h"

#include <math.h>

#include "latent/hmm.h"

static const char *prog = "hmm_latent";

/* --per-iter: when each Baum-Welch iteration ended, and the fastest one
 * (from one end to the next) seen so far. */
typedef struct iter_clock {
    double last, best;
    size_t n;
} iter_clock;

static void on_iter(void *ud, const char *stage, size_t iter, size_t max_iter, double loglik)
{
    (void)max_iter, (void)loglik;
    iter_clock *c = ud;
    if (strncmp(stage, "Baum-Welch run", 14) != 0) return; /* the end-of-run report */
    double now = bench_now();
    if (iter > 1 && c->n > 0 && now - c->last < c->best) c->best = now - c->last;
    c->last = now;
    c->n++;
}

static lt_hmm *fit(const lt_hmm_options *o, const lt_seqs *data, double *seconds)
{
    lt_hmm *m = NULL;
    double t0 = bench_now();
    lt_status s = lt_hmm_fit(o, data, &m);
    *seconds = bench_now() - t0;
    if (s != LT_OK) bench_die(prog, "lt_hmm_fit failed", lt_last_error());
    if (m->n_iter != o->max_iter)
        fprintf(stderr, "%s: warning: %zu Baum-Welch iterations ran, %zu asked\n", prog, m->n_iter, o->max_iter);
    return m;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argv[1][0] == '-') {
        fprintf(stderr,
                "usage: %s english|gauss DATA --k K --init PREFIX [--n SYMBOLS --seq-len L --m1 M1 --m2 M2\n"
                "       --threads T --repeat R --tag NAME --one-seq 1 --per-iter 1]\n",
                prog);
        return 2;
    }
    const char *kind = argv[1], *path = argv[2];
    int english = strcmp(kind, "english") == 0;
    if (!english && strcmp(kind, "gauss") != 0) bench_die(prog, "the case is english or gauss", kind);
    size_t k = bench_arg_size(argc, argv, "--k", 16);
    const char *prefix = bench_arg(argc, argv, "--init", NULL);
    size_t limit = bench_arg_size(argc, argv, "--n", english ? 200000 : 0); /* symbols, or rows */
    size_t seq_len = bench_arg_size(argc, argv, "--seq-len", 10000);
    size_t m1 = bench_arg_size(argc, argv, "--m1", 1), m2 = bench_arg_size(argc, argv, "--m2", 3);
    size_t repeat = bench_arg_size(argc, argv, "--repeat", 1);
    int one_seq = bench_arg_size(argc, argv, "--one-seq", 0) != 0;
    int each_iter = bench_arg_size(argc, argv, "--per-iter", 0) != 0;
    iter_clock ticks = {.best = INFINITY};
    if (one_seq) seq_len = 0;
    if (repeat < 1) repeat = 1;
    int threads = (int)bench_arg_size(argc, argv, "--threads", 2);
    const char *tag = bench_arg(argc, argv, "--tag", "-");
    if (!prefix) bench_die(prog, "--init PREFIX is required", NULL);
    if (m2 <= m1 || m1 == 0) bench_die(prog, "need 0 < m1 < m2", NULL);

    lt_seqs data;
    memset(&data, 0, sizeof data);
    int32_t *symbols = NULL;
    double *X = NULL;
    size_t *lengths = NULL, d = 1;
    if (english) {
        symbols = hmm_english_read(prog, path, limit, &lengths, &data.n_seqs, &data.total);
        data.symbols = symbols;
        data.dim = 1;
        if (one_seq) {
            lengths[0] = data.total;
            data.n_seqs = 1;
        }
    } else {
        size_t rows;
        X = bench_npy_read(prog, path, limit, &rows, &d);
        lengths = hmm_even_lengths(prog, rows, seq_len, &data.n_seqs);
        data.total = rows;
        data.dim = d;
        data.x = X;
    }
    data.lengths = lengths;

    lt_hmm *init = NULL;
    lt_status s = english ? lt_hmm_create(k, LT_EMIT_CATEGORICAL, 1, HMM_N_SYMBOLS, 0, LT_COV_DIAG, &init)
                          : lt_hmm_create(k, LT_EMIT_GAUSSIAN, d, 0, 0, LT_COV_DIAG, &init);
    if (s != LT_OK) bench_die(prog, "lt_hmm_create failed", lt_last_error());
    double *a = hmm_init_read(prog, prefix, "start", 1, k);
    memcpy(init->start, a, k * sizeof(double));
    free(a);
    a = hmm_init_read(prog, prefix, "trans", k, k);
    memcpy(init->trans, a, k * k * sizeof(double));
    free(a);
    if (english) {
        a = hmm_init_read(prog, prefix, "emit", k, HMM_N_SYMBOLS);
        memcpy(init->emit, a, k * HMM_N_SYMBOLS * sizeof(double));
        free(a);
    } else {
        lt_gmm *g = init->states[0];
        for (size_t j = 0; j < k; j++)
            g->weights[j] = 1.0 / (double)k;
        a = hmm_init_read(prog, prefix, "means", k, d);
        memcpy(g->means, a, k * d * sizeof(double));
        free(a);
        a = hmm_init_read(prog, prefix, "vars", k, d);
        memcpy(g->covs, a, k * d * sizeof(double));
        free(a);
    }
    if ((s = lt_hmm_prepare(init)) != LT_OK) bench_die(prog, "initial model", lt_last_error());

    lt_hmm_options o;
    lt_hmm_options_default(&o);
    o.k = k;
    o.emission = init->emission;
    o.cov = LT_COV_DIAG;
    o.n_symbols = english ? HMM_N_SYMBOLS : 0;
    o.params = LT_HMM_ALL;
    o.init_params = 0;
    o.init_model = init;
    o.start_prior = 1.0;
    o.trans_prior = 1.0;
    o.tol = 0.0;
    o.n_init = 1;
    o.reg_covar = 0.0;
    o.seed = 0;
    o.threads = threads;

    /* Warm-up on the whole data, repeated for at least 0.3 s: the first
     * touch of fresh memory is expensive on these machines and would land
     * in the first timed fit only (biasing t2 - t1 low), and OpenBLAS's
     * idle server thread spins for about 0.1 s after start-up, fighting our
     * second thread for a core. */
    {
        double tw, spent = 0.0;
        o.max_iter = m1;
        do {
            lt_hmm_free(fit(&o, &data, &tw));
            spent += tw;
        } while (spent < 0.3);
    }

    /* The two fits alternate `repeat` times and the fastest of each counts:
     * when M2 - M1 is small (the peers are slow) one pair is too noisy. */
    double t1 = INFINITY, t2 = INFINITY, t;
    lt_hmm *h2 = NULL;
    size_t iters1 = 0, iters2 = 0;
    for (size_t r = 0; r < repeat; r++) {
        o.max_iter = m1;
        lt_hmm *h1 = fit(&o, &data, &t);
        if (t < t1) t1 = t;
        iters1 = h1->n_iter;
        lt_hmm_free(h1);
        o.max_iter = m2;
        lt_hmm_free(h2);
        if (each_iter) {
            o.progress = on_iter;
            o.progress_ud = &ticks;
            ticks.n = 0;
        }
        h2 = fit(&o, &data, &t);
        o.progress = NULL;
        if (t < t2) t2 = t;
        iters2 = h2->n_iter;
    }
    if (iters2 <= iters1) bench_die(prog, "the m2 fit ran no more iterations than the m1 fit", NULL);
    double per_iter = (t2 - t1) / (double)(iters2 - iters1);

    double *logp = malloc(data.n_seqs * sizeof *logp);
    if (!logp) bench_die(prog, "out of memory", NULL);
    if (lt_hmm_score(h2, &data, threads, logp) != LT_OK) bench_die(prog, "lt_hmm_score failed", lt_last_error());
    double ll = 0.0;
    for (size_t i = 0; i < data.n_seqs; i++)
        ll += logp[i];
    ll /= (double)data.total;
    double flops = hmm_fb_flops((double)data.total, (double)k);

    fprintf(stderr,
            "%s: %s %s T=%zu in %zu sequences, k=%zu d=%zu threads=%d: %.4f s/iteration (%.1f ns/step, "
            "%.2f GFLOP/s), log-likelihood per step %.6f\n",
            prog, tag, kind, data.total, data.n_seqs, k, d, threads, per_iter, per_iter / (double)data.total * 1e9,
            flops / per_iter * 1e-9, ll);
    if (each_iter)
        fprintf(stderr, "%s: %s fastest single iteration (of %zu fits x %zu): %.6f s\n", prog, tag, repeat, m2 - 1,
                ticks.best);
    printf("RESULT impl=latent tag=%s case=%s t=%zu n_seqs=%zu k=%zu d=%zu threads=%d m1=%zu m2=%zu iters1=%zu "
           "iters2=%zu t1=%.6f t2=%.6f sec_per_iter=%.6f fb_flops=%.6e loglik=%.10f\n",
           tag, kind, data.total, data.n_seqs, k, d, threads, m1, m2, iters1, iters2, t1, t2, per_iter, flops, ll);

    free(logp);
    lt_hmm_free(h2);
    lt_hmm_free(init);
    free(lengths);
    free(symbols);
    free(X);
    return 0;
}
