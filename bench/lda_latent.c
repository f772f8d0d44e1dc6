/* latent's side of the LDA benchmark (bench/run_lda.sh), through the public
 * API only (latent/lda.h, latent/corpus.h).
 *
 *   lda_latent quality TRAIN.docword TEST.docword --algo gibbs|vb|online-vb --k K
 *              --checkpoints 25,50,100 [--alpha 0.1 --beta 0.01 --threads 2 --seed 0
 *              --particles 20 --eval-seed 0 --batch-size 256 --tau0 64 --kappa 0.7
 *              --score all|last|none --save-topics PREFIX --tag NAME --impl NAME]
 *   lda_latent speed TRAIN.docword --algo gibbs --k K [--m1 3 --m2 8 --alpha A --beta B
 *              --threads 2 --seed 0 --tag NAME]
 *   lda_latent check-tokens PREFIX [--min-df 5 --max-df 0.5]
 *   lda_latent check-prefix TRAIN.docword --algo A --k K [--m1 2 --m2 4 --threads 2 --seed 0]
 *
 * quality: time to a held-out log-likelihood. The library gives no access
 * to the state in the middle of a fit (the progress callback sees a number,
 * not the model), so each checkpoint c is its own fit of exactly c
 * iterations (Gibbs sweeps, VB iterations with tol = 0, online-VB passes
 * over the corpus) from the same seed: a fit of c iterations is the first c
 * iterations of a longer one (same seed, same streams, no hyperparameter
 * optimisation), so the checkpoints are states of one run, and the time
 * reported for c is the wall time of that whole fit, initialisation
 * included (what a user pays for a model of c iterations). The held-out
 * score of each checkpoint model is lt_lda_score with the left-to-right
 * estimator (Wallach et al. 2009; --particles particles, --eval-seed), not
 * timed; the peers' topics are scored by the same code (bench/
 * lda_score_topics.c). --score all (default) scores every checkpoint,
 * --score last only the last, --score none none (the fits are
 * deterministic for a seed, so bench/run_lda.sh scores every checkpoint in
 * its first round and only the last one in later rounds, where the times
 * are what is measured). One untimed fit of one iteration first (thread
 * pool, first touch of the code). --save-topics PREFIX writes each
 * checkpoint's topics and alpha to PREFIX_ITERS_phi.npy and
 * PREFIX_ITERS_alpha.npy (1 x K), the files bench/lda_score_topics reads:
 * scoring them there must give the held-out score printed here.
 *
 * speed: Gibbs throughput. Two fits of exactly m1 and m2 sweeps from the
 * same seed; (t2 - t1) / (m2 - m1) is one sweep with initialisation and the
 * fixed costs cancelled, and tokens per second per thread = training tokens
 * / that / threads. The sweeps are not timed through the progress callback:
 * with a callback set, the sampler computes the log-likelihood after every
 * sweep (a pass over the word and the document counts), which would be
 * counted as sampling time; without one it computes it once, at the end,
 * and that cancels in t2 - t1. After an untimed warm-up fit of one sweep on
 * the first 5% of the documents. The sweeps timed (m1 + 1 .. m2) are early
 * in the chain: the cost of a Metropolis-Hastings step does not depend on
 * the state, but its memory traffic may (bench/lda_gibbs_speed times sweeps
 * after a burn-in through the sampler's internal step-by-step route).
 * bench/run_lda.sh uses lda_gibbs_speed --docword instead: on its 50M-token
 * corpus the fixed costs of a whole fit (5-20 s: the word-major copy, the
 * model made at the end) varied on a shared machine by more than the few
 * sweeps between m1 and m2, and did not cancel.
 *
 * check-tokens: reads PREFIX_train.txt with latent's tokenizer (min_df 5,
 * max_df 0.5, the built-in stop words, empty documents allowed) and
 * PREFIX_test.txt through the resulting vocabulary, and compares them with
 * PREFIX_train.docword, PREFIX_test.docword and PREFIX.vocab written by
 * bench/lda_data.py: every program must see the same documents that latent
 * would make of the text. Exit status 0 when identical, 1 otherwise.
 *
 * check-prefix: a fit of m2 iterations with a progress callback records the
 * value after every iteration; a separate fit of m1 iterations must end at
 * the value the long fit had after iteration m1 (Gibbs: log p(w, z) of the
 * state; VB: the bound; online VB, whose callback reports a running
 * estimate: the short fit's own trace, every iteration), i.e. be the first
 * m1 iterations of the long fit, as the quality mode assumes. Exit status 0
 * when equal, 1 otherwise.
 *
 * Prints "RESULT key=value ..." lines on stdout (one per checkpoint, or
 * one); bench/run_lda.sh collects them.
 */
#include "bench_util.h"

#include <math.h>

#include "latent/corpus.h"
#include "latent/lda.h"

static const char *prog = "lda_latent";

static double arg_double(int argc, char **argv, const char *name, double def)
{
    const char *s = bench_arg(argc, argv, name, NULL);
    if (!s) return def;
    char *end;
    double v = strtod(s, &end);
    if (*end || end == s || !isfinite(v)) bench_die(prog, "not a number", name);
    return v;
}

static lt_corpus *read_docword(const char *path)
{
    lt_corpus *c = NULL;
    if (lt_corpus_read_docword(path, NULL, &c) != LT_OK) bench_die(prog, "cannot read the docword file", lt_last_error());
    return c;
}

/* Checkpoints "a,b,c": increasing positive integers. */
static size_t parse_checkpoints(const char *s, size_t *out, size_t max)
{
    size_t n = 0;
    while (*s) {
        char *end;
        unsigned long long v = strtoull(s, &end, 10);
        if (end == s || v == 0 || (n && v <= out[n - 1]) || n == max)
            bench_die(prog, "--checkpoints: increasing positive integers separated by commas", s);
        out[n++] = (size_t)v;
        s = end;
        if (*s == ',') s++;
        else if (*s) bench_die(prog, "--checkpoints: increasing positive integers separated by commas", s);
    }
    if (!n) bench_die(prog, "--checkpoints is empty", NULL);
    return n;
}

static void options(int argc, char **argv, lt_lda_options *o)
{
    lt_lda_options_default(o);
    const char *algo = bench_arg(argc, argv, "--algo", "gibbs");
    if (lt_lda_algo_parse(algo, &o->algo) != LT_OK) bench_die(prog, "bad --algo", algo);
    o->k = bench_arg_size(argc, argv, "--k", 50);
    o->alpha = arg_double(argc, argv, "--alpha", 0.1);
    o->beta = arg_double(argc, argv, "--beta", 0.01);
    o->optimize_alpha = 0;
    o->optimize_beta = 0;
    o->n_samples = 1;
    o->tol = 0.0; /* VB: exactly max_iter iterations */
    o->batch_size = bench_arg_size(argc, argv, "--batch-size", o->batch_size);
    o->tau0 = arg_double(argc, argv, "--tau0", o->tau0);
    o->kappa = arg_double(argc, argv, "--kappa", o->kappa);
    o->seed = bench_arg_size(argc, argv, "--seed", 0);
    o->threads = (int)bench_arg_size(argc, argv, "--threads", 2);
    if (o->k < 1 || o->threads < 1) bench_die(prog, "need --k >= 1 and --threads >= 1", NULL);
}

/* A float64, C-order, 2-D NPY file (for --save-topics). */
static void npy_write(const char *path, const double *x, size_t rows, size_t cols)
{
    FILE *f = fopen(path, "wb");
    if (!f) bench_die(prog, "cannot write", path);
    char h[128];
    int n = snprintf(h, sizeof h, "{'descr': '<f8', 'fortran_order': False, 'shape': (%zu, %zu), }", rows, cols);
    size_t total = 10 + (size_t)n + 1, pad = (64 - total % 64) % 64;
    unsigned short hl = (unsigned short)(n + pad + 1);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hl & 0xFF), (unsigned char)(hl >> 8)};
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(h, 1, (size_t)n, f) == (size_t)n;
    for (size_t i = 0; ok && i < pad; i++) ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF && fwrite(x, sizeof *x, rows * cols, f) == rows * cols;
    if (fclose(f) != 0 || !ok) bench_die(prog, "error writing", path);
}

static lt_lda *fit(const lt_lda_options *o, const lt_corpus *c, double *seconds)
{
    lt_lda *m = NULL;
    double t0 = bench_now();
    lt_status s = lt_lda_fit(o, c, &m);
    *seconds = bench_now() - t0;
    if (s != LT_OK) bench_die(prog, "lt_lda_fit failed", lt_last_error());
    if (m->n_iter != o->max_iter)
        fprintf(stderr, "%s: warning: %zu iterations ran, %zu asked\n", prog, m->n_iter, o->max_iter);
    return m;
}

static int quality(int argc, char **argv)
{
    if (argc < 4 || argv[2][0] == '-' || argv[3][0] == '-') bench_die(prog, "quality needs TRAIN and TEST", NULL);
    lt_lda_options o;
    options(argc, argv, &o);
    size_t cps[256];
    size_t ncp = parse_checkpoints(bench_arg(argc, argv, "--checkpoints", "10,20,50"), cps, 256);
    lt_lda_score_options so;
    lt_lda_score_options_default(&so);
    so.estimator = LT_LDA_LEFT_TO_RIGHT;
    so.particles = bench_arg_size(argc, argv, "--particles", 20);
    so.seed = bench_arg_size(argc, argv, "--eval-seed", 0);
    so.threads = o.threads;
    const char *tag = bench_arg(argc, argv, "--tag", "-");
    /* the name in the RESULT lines: latent-ALGO, or another for a variant (other batch size, step sizes) */
    char impl_def[64];
    snprintf(impl_def, sizeof impl_def, "latent-%s", lt_lda_algo_name(o.algo));
    const char *impl = bench_arg(argc, argv, "--impl", impl_def);
    const char *score = bench_arg(argc, argv, "--score", "all");
    const char *save = bench_arg(argc, argv, "--save-topics", NULL);
    if (strcmp(score, "all") != 0 && strcmp(score, "last") != 0 && strcmp(score, "none") != 0)
        bench_die(prog, "--score is all, last or none", score);
    lt_corpus *train = read_docword(argv[2]), *test = read_docword(argv[3]);
    if (test->n_vocab != train->n_vocab) bench_die(prog, "TRAIN and TEST have different vocabulary sizes", NULL);

    double tw;
    o.max_iter = 1;
    lt_lda_free(fit(&o, train, &tw));

    for (size_t i = 0; i < ncp; i++) {
        double t;
        o.max_iter = cps[i];
        lt_lda *m = fit(&o, train, &t);
        printf("RESULT impl=%s mode=quality tag=%s k=%zu threads=%d alpha=%g beta=%g iters=%zu n_iter=%zu "
               "fit_sec=%.6f",
               impl, tag, o.k, o.threads, o.alpha, o.beta, cps[i], m->n_iter, t);
        if (strcmp(score, "all") == 0 || (strcmp(score, "last") == 0 && i + 1 == ncp)) {
            lt_score sc;
            double t0 = bench_now();
            if (lt_lda_score(m, test, &so, NULL, &sc) != LT_OK)
                bench_die(prog, "lt_lda_score failed", lt_last_error());
            double ts = bench_now() - t0;
            fprintf(stderr, "%s: %s %s k=%zu threads=%d: %zu iterations in %.3f s, held-out %.5f +- %.5f nats/token "
                    "(scored in %.1f s)\n", prog, tag, lt_lda_algo_name(o.algo), o.k, o.threads, m->n_iter, t,
                    sc.mean, sc.stderr_mean, ts);
            printf(" heldout=%.8f heldout_se=%.8f score_sec=%.3f particles=%zu", sc.mean, sc.stderr_mean, ts,
                   so.particles);
        }
        printf(" train_ll=%.8f train_docs=%zu train_tokens=%zu test_docs=%zu test_tokens=%zu\n", m->log_likelihood,
               train->n_docs, train->n_tokens, test->n_docs, test->n_tokens);
        if (save) { /* PREFIX_ITERS_phi.npy, PREFIX_ITERS_alpha.npy: for checking bench/lda_score_topics */
            size_t len = strlen(save) + 64;
            char *path = malloc(len);
            double *phi = malloc(m->k * m->v * sizeof *phi);
            if (!path || !phi) bench_die(prog, "out of memory", NULL);
            lt_lda_topics(m, phi);
            snprintf(path, len, "%s_%zu_phi.npy", save, cps[i]);
            npy_write(path, phi, m->k, m->v);
            snprintf(path, len, "%s_%zu_alpha.npy", save, cps[i]);
            npy_write(path, m->alpha, 1, m->k);
            free(phi);
            free(path);
        }
        fflush(stdout);
        lt_lda_free(m);
    }
    lt_corpus_free(train);
    lt_corpus_free(test);
    return 0;
}

static int speed(int argc, char **argv)
{
    if (argc < 3 || argv[2][0] == '-') bench_die(prog, "speed needs TRAIN", NULL);
    lt_lda_options o;
    options(argc, argv, &o);
    size_t m1 = bench_arg_size(argc, argv, "--m1", 3), m2 = bench_arg_size(argc, argv, "--m2", 8);
    if (m1 == 0 || m2 <= m1) bench_die(prog, "need 0 < m1 < m2", NULL);
    const char *tag = bench_arg(argc, argv, "--tag", "-");
    lt_corpus *train = read_docword(argv[2]);

    /* Warm-up on the first 5% of the documents (a view: same arrays). */
    lt_corpus head = *train;
    head.n_docs = train->n_docs / 20 ? train->n_docs / 20 : 1;
    head.n_tokens = train->doc_ptr[head.n_docs];
    head.vocab = NULL;
    double tw, t1, t2;
    o.max_iter = 1;
    lt_lda_free(fit(&o, &head, &tw));

    o.max_iter = m1;
    lt_lda *a = fit(&o, train, &t1);
    size_t it1 = a->n_iter;
    lt_lda_free(a);
    o.max_iter = m2;
    lt_lda *b = fit(&o, train, &t2);
    size_t it2 = b->n_iter;
    if (it2 <= it1) bench_die(prog, "the m2 fit ran no more iterations than the m1 fit", NULL);
    double per = (t2 - t1) / (double)(it2 - it1);
    double tps = (double)train->n_tokens / per;
    fprintf(stderr, "%s: %s %s k=%zu threads=%d: %.4f s per iteration, %.3g tokens/s, %.3g tokens/s per thread; "
            "train log p(w,z) %.5f nats/token\n", prog, tag, lt_lda_algo_name(o.algo), o.k, o.threads, per, tps,
            tps / o.threads, b->log_likelihood);
    printf("RESULT impl=latent-%s mode=speed tag=%s k=%zu threads=%d alpha=%g beta=%g m1=%zu m2=%zu iters1=%zu "
           "iters2=%zu t1=%.6f t2=%.6f sec_per_iter=%.6f init_sec=%.6f tokens_per_sec=%.6e "
           "tokens_per_sec_per_thread=%.6e train_ll=%.8f train_docs=%zu train_tokens=%zu vocab=%zu\n",
           lt_lda_algo_name(o.algo), tag, o.k, o.threads, o.alpha, o.beta, m1, m2, it1, it2, t1, t2, per,
           t1 - (double)it1 * per, tps, tps / o.threads, b->log_likelihood, train->n_docs, train->n_tokens,
           train->n_vocab);
    lt_lda_free(b);
    lt_corpus_free(train);
    return 0;
}

/* check-prefix: the progress values of a fit of m2 iterations, against the
 * final log-likelihood (Gibbs: log p(w, z); VB: the bound, per token) of a
 * separate fit of m1 < m2 iterations from the same seed. Equal values say
 * that the short fit is the first m1 iterations of the long one, which is
 * what the quality mode's checkpoints rely on. */
typedef struct trace {
    double v[4096];
    size_t n;
} trace;

static void record(void *ud, const char *stage, size_t iter, size_t max_iter, double value)
{
    (void)stage;
    (void)max_iter;
    trace *t = ud;
    if (iter >= 1 && iter <= 4096) {
        t->v[iter - 1] = value;
        if (iter > t->n) t->n = iter;
    }
}

static int check_prefix(int argc, char **argv)
{
    if (argc < 3 || argv[2][0] == '-') bench_die(prog, "check-prefix needs TRAIN", NULL);
    lt_lda_options o;
    options(argc, argv, &o);
    size_t m1 = bench_arg_size(argc, argv, "--m1", 2), m2 = bench_arg_size(argc, argv, "--m2", 4);
    if (m1 == 0 || m2 <= m1 || m2 > 4096) bench_die(prog, "need 0 < m1 < m2 <= 4096", NULL);
    const char *tag = bench_arg(argc, argv, "--tag", "-");
    lt_corpus *train = read_docword(argv[2]);
    static trace tr, tr1;
    double t;
    o.max_iter = m2;
    o.progress = record;
    o.progress_ud = &tr;
    lt_lda_free(fit(&o, train, &t));
    /* Gibbs and batch VB report the quantity they end with (log p(w, z) of
     * the state; the bound), so the short fit runs without a callback, as
     * the quality mode's fits do. Online VB reports a running estimate
     * during a pass and ends with the exact bound: there the short fit's
     * own trace is compared. */
    int online = o.algo == LT_LDA_ONLINE_VB;
    o.progress = online ? record : NULL;
    o.progress_ud = &tr1;
    o.max_iter = m1;
    lt_lda *a = fit(&o, train, &t);
    double want = tr.n >= m1 ? tr.v[m1 - 1] : NAN, got = online ? (tr1.n >= m1 ? tr1.v[m1 - 1] : NAN)
                                                                : a->log_likelihood;
    double rel = fabs(got - want) / fabs(want);
    for (size_t i = 0; online && i + 1 < m1; i++) /* the whole trace */
        if (fabs(tr1.v[i] - tr.v[i]) > rel * fabs(tr.v[i])) rel = fabs(tr1.v[i] - tr.v[i]) / fabs(tr.v[i]);
    int ok = rel < 1e-9;
    fprintf(stderr, "%s: check-prefix %s %s k=%zu threads=%d: a fit of %zu iterations %s %.10f per token, "
            "iteration %zu of a %zu-iteration fit was at %.10f: %s\n", prog, tag, lt_lda_algo_name(o.algo), o.k,
            o.threads, m1, online ? "was at" : "ends at", got, m1, m2, want, ok ? "the same state" : "DIFFERENT");
    printf("RESULT impl=check-prefix tag=%s algo=%s k=%zu threads=%d m1=%zu m2=%zu short=%.12g long=%.12g same=%d\n",
           tag, lt_lda_algo_name(o.algo), o.k, o.threads, m1, m2, got, want, ok);
    lt_lda_free(a);
    lt_corpus_free(train);
    return !ok;
}

/* 0 when a and b hold the same documents; else prints the first difference. */
static int same_corpus(const char *what, const lt_corpus *a, const lt_corpus *b)
{
    if (a->n_docs != b->n_docs || a->n_vocab != b->n_vocab || a->n_tokens != b->n_tokens) {
        fprintf(stderr, "%s: %s: latent reads %zu documents, %zu words, %zu tokens; the docword has %zu, %zu, %zu\n",
                prog, what, a->n_docs, a->n_vocab, a->n_tokens, b->n_docs, b->n_vocab, b->n_tokens);
        return 1;
    }
    for (size_t d = 0; d < a->n_docs; d++) {
        size_t i0 = a->doc_ptr[d], i1 = a->doc_ptr[d + 1];
        if (b->doc_ptr[d] != i0 || b->doc_ptr[d + 1] != i1 ||
            memcmp(a->tokens + i0, b->tokens + i0, (i1 - i0) * sizeof *a->tokens) != 0) {
            fprintf(stderr, "%s: %s: document %zu differs (latent: %zu tokens, docword: %zu)\n", prog, what, d + 1,
                    i1 - i0, b->doc_ptr[d + 1] - b->doc_ptr[d]);
            return 1;
        }
    }
    return 0;
}

static int check_tokens(int argc, char **argv)
{
    if (argc < 3 || argv[2][0] == '-') bench_die(prog, "check-tokens needs PREFIX", NULL);
    const char *p = argv[2];
    size_t n = strlen(p) + 32;
    char *tr_txt = malloc(n), *te_txt = malloc(n), *tr_dw = malloc(n), *te_dw = malloc(n), *voc = malloc(n);
    if (!tr_txt || !te_txt || !tr_dw || !te_dw || !voc) bench_die(prog, "out of memory", NULL);
    snprintf(tr_txt, n, "%s_train.txt", p);
    snprintf(te_txt, n, "%s_test.txt", p);
    snprintf(tr_dw, n, "%s_train.docword", p);
    snprintf(te_dw, n, "%s_test.docword", p);
    snprintf(voc, n, "%s.vocab", p);
    lt_corpus_options co;
    lt_corpus_options_default(&co);
    co.allow_empty = 1;
    co.min_df = arg_double(argc, argv, "--min-df", 5);
    co.max_df = arg_double(argc, argv, "--max-df", 0.5);
    lt_corpus *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    if (lt_corpus_read_text(tr_txt, &co, NULL, 0, &a) != LT_OK) bench_die(prog, "reading the text", lt_last_error());
    if (lt_corpus_read_docword(tr_dw, voc, &b) != LT_OK) bench_die(prog, "reading the docword", lt_last_error());
    int bad = same_corpus(tr_txt, a, b);
    for (size_t w = 0; !bad && w < a->n_vocab; w++)
        if (strcmp(a->vocab[w], b->vocab[w]) != 0) {
            fprintf(stderr, "%s: %s: word %zu is '%s' for latent, '%s' in %s\n", prog, tr_txt, w + 1, a->vocab[w],
                    b->vocab[w], voc);
            bad = 1;
        }
    if (!bad) {
        if (lt_corpus_read_text(te_txt, &co, b->vocab, b->n_vocab, &c) != LT_OK)
            bench_die(prog, "reading the held-out text", lt_last_error());
        if (lt_corpus_read_docword(te_dw, voc, &d) != LT_OK)
            bench_die(prog, "reading the held-out docword", lt_last_error());
        bad = same_corpus(te_txt, c, d);
    }
    if (!bad)
        fprintf(stderr, "%s: %s: identical: train %zu documents / %zu tokens, held-out %zu / %zu, V = %zu\n", prog, p,
                b->n_docs, b->n_tokens, d->n_docs, d->n_tokens, b->n_vocab);
    printf("RESULT impl=check-tokens prefix=%s identical=%d\n", p, !bad);
    lt_corpus_free(a);
    lt_corpus_free(b);
    lt_corpus_free(c);
    lt_corpus_free(d);
    free(tr_txt);
    free(te_txt);
    free(tr_dw);
    free(te_dw);
    free(voc);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "quality") == 0) return quality(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "speed") == 0) return speed(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "check-tokens") == 0) return check_tokens(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "check-prefix") == 0) return check_prefix(argc, argv);
    fprintf(stderr,
            "usage: %s quality TRAIN.docword TEST.docword --algo gibbs|vb|online-vb --k K --checkpoints 10,20,50\n"
            "          [--alpha 0.1 --beta 0.01 --threads 2 --seed 0 --particles 20 --eval-seed 0\n"
            "          --score all|last|none --save-topics PREFIX --tag NAME]\n"
            "       %s speed TRAIN.docword --algo gibbs --k K [--m1 3 --m2 8 --alpha A --beta B --threads 2 --seed 0\n"
            "          --tag NAME]\n"
            "       %s check-tokens PREFIX [--min-df 5 --max-df 0.5]\n"
            "       %s check-prefix TRAIN.docword --algo A --k K [--m1 2 --m2 4 --threads 2 --seed 0 --tag NAME]\n",
            prog, prog, prog, prog);
    return 2;
}
